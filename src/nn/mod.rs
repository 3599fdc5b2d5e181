//! GPU tensor operations for neural networks (nn.wgsl): convolutions with bias, SiLU or
//! PReLU and a residual, in f32 or f16 storage ([`Precision`]) and on cooperative matrices
//! ([`coop`]), 5×5 max-pooling, nearest ×2 upsampling. A model is a small file that wires
//! these together, with its own few kernels where it needs them (yolo.wgsl, sr.wgsl): the
//! player detector ([`yolo`]) and the AI ×4 upscaler ([`srvgg`]). Nothing here knows a model.
//!
//! Tensors are channels-last views `{buffer, width, height, stride, offset}`: a split is
//! a view at a channel offset and a concatenation is several operations writing one buffer
//! at their own offsets, so neither copies. An [`OpList`] is a network's every dispatch for one
//! input size, with its uniforms and bind groups made once: recording a frame allocates
//! nothing.

pub mod coop;
pub mod srvgg;
pub mod yolo;

pub use crate::gpu::pipelines::Precision;

use crate::gpu::GpuContext;
use crate::gpu::buffers::{bind, dispatch, storage};
use crate::gpu::plane::GpuPlane;
use wgpu::util::DeviceExt;

/// Pixels of a row each `nn_conv` invocation computes (nn.wgsl `NN_PX`).
pub const NN_PX: u32 = 4;
/// Output channels each invocation computes (weights are padded to it).
pub const OUT_GROUP: usize = 8;

/// A channels-last tensor inside one of a plan's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub buf: usize,
    pub w: u32,
    pub h: u32,
    /// Channels per pixel of the buffer.
    pub stride: u32,
    /// The view's first channel.
    pub off: u32,
    /// The view's channels.
    pub c: u32,
}

impl View {
    /// Channels `from .. from + c` of this view.
    pub fn channels(self, from: u32, c: u32) -> View {
        View {
            off: self.off + from,
            c,
            ..self
        }
    }

    fn geometry(self) -> [u32; 4] {
        [self.w, self.h, self.stride, self.off]
    }
}

/// nn.wgsl `NnConv`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ConvUniform {
    /// Width, height, channel stride, channel offset.
    pub src: [u32; 4],
    pub dst: [u32; 4],
    /// cin, cout, k, stride.
    pub shape: [u32; 4],
    /// Weights' and bias's offsets (vec4s), flags ([`SILU`], [`RESIDUAL`], [`PRELU`]), the
    /// residual's channel offset in the destination buffer.
    pub params: [u32; 4],
    /// The PReLU slopes' offset (vec4s), the source's border (0 or 1), the destination's, 0.
    pub more: [u32; 4],
}

/// [`ConvUniform`] flag: SiLU after the bias.
pub const SILU: u32 = 1;
/// [`ConvUniform`] flag: plus a residual read from the destination buffer.
pub const RESIDUAL: u32 = 2;
/// [`ConvUniform`] flag: PReLU after the bias.
pub const PRELU: u32 = 4;

/// `nn_conv1`/`nn_conv3`'s workgroups for a `w × h` output of `cout` channels.
pub fn conv_groups(w: u32, h: u32, cout: u32) -> (u32, u32, u32) {
    (
        w.div_ceil(NN_PX).div_ceil(CONV_WORKGROUP.0),
        h.div_ceil(CONV_WORKGROUP.1),
        cout.div_ceil(OUT_GROUP as u32),
    )
}

/// nn.wgsl `NnMove`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MoveUniform {
    pub src: [u32; 4],
    pub dst: [u32; 4],
    pub channels: [u32; 4],
}

/// nn.wgsl `NnLetterbox`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LetterboxUniform {
    pub planes: [GpuPlane; 3],
    pub rows: [[f32; 4]; 3],
    pub canvas: [u32; 4],
    pub inner: [u32; 4],
}

/// nn.wgsl `NnDetect`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DetectUniform {
    pub levels: [[u32; 4]; 3],
    pub sizes: [u32; 4],
}

/// A convolution's weights as a model holds them: `[out][in][k][k]` and a bias.
#[derive(Debug, Clone, Copy)]
pub struct ConvWeights<'a> {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    pub weight: &'a [f32],
    pub bias: &'a [f32],
    pub silu: bool,
}

/// Where a packed convolution's parameters sit (vec4 offsets) and its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedConv {
    pub cin: u32,
    pub cout: u32,
    pub k: u32,
    pub stride: u32,
    pub w_off: u32,
    pub b_off: u32,
    pub silu: bool,
}

/// Appends `c` as nn.wgsl reads it: weights `[ky][kx][in][out padded to 8]`, then the bias
/// padded to 8, each on a vec4.
pub fn pack_conv(c: &ConvWeights, into: &mut Vec<f32>) -> PackedConv {
    let op = c.cout.next_multiple_of(OUT_GROUP);
    let w_off = (into.len() / 4) as u32;
    for ky in 0..c.k {
        for kx in 0..c.k {
            for i in 0..c.cin {
                for o in 0..op {
                    into.push(if o < c.cout {
                        c.weight[((o * c.cin + i) * c.k + ky) * c.k + kx]
                    } else {
                        0.0
                    });
                }
            }
        }
    }
    let b_off = (into.len() / 4) as u32;
    into.extend((0..op).map(|o| c.bias.get(o).copied().unwrap_or(0.0)));
    PackedConv {
        cin: c.cin as u32,
        cout: c.cout as u32,
        k: c.k as u32,
        stride: c.stride as u32,
        w_off,
        b_off,
        silu: c.silu,
    }
}

/// One recorded dispatch: `size` invocations, or workgroups when `groups`.
struct Op {
    pipeline: wgpu::ComputePipeline,
    group: wgpu::BindGroup,
    size: (u32, u32, u32),
    groups: bool,
}

/// `nn_conv`'s workgroup: 8 pixel groups by 8 rows.
pub const CONV_WORKGROUP: (u32, u32) = (8, 8);

/// A network's buffers and dispatches for one input size, made once.
pub struct OpList {
    /// nn.wgsl's kernels on the plan's device, of the plan's storage type.
    pub kernels: crate::gpu::pipelines::NnKernels,
    /// The plan's buffers (activations, the input, outputs), by [`View::buf`].
    pub buffers: Vec<wgpu::Buffer>,
    /// The cooperative-matrix convolution (its matrices' side and pipeline) every
    /// convolution runs on, where the device has one that passed its start-up comparison
    /// ([`coop::any_for_device`]).
    pub coop: Option<(u32, wgpu::ComputePipeline)>,
    ops: Vec<Op>,
    /// Multiply-adds ×2 of one run.
    pub flops: f64,
}

impl OpList {
    /// An empty list on `ctx`'s device, tensors stored as `precision` (its nn kernels
    /// compiled if they were not yet).
    pub fn new(ctx: &GpuContext, precision: Precision) -> Result<Self, crate::gpu::GpuError> {
        Ok(Self {
            kernels: ctx.nn_kernels(precision)?.clone(),
            buffers: Vec::new(),
            coop: coop::any_for_device(ctx, precision),
            ops: Vec::new(),
            flops: 0.0,
        })
    }

    /// The same list on the portable kernel only (benches compare the two).
    pub fn portable(mut self) -> Self {
        assert!(
            self.ops.is_empty(),
            "chosen before any operation is recorded"
        );
        self.coop = None;
        self
    }

    /// The convolutions' kernel as summaries report it: the storage, and the cooperative
    /// matrices' side when they are used (`"f16+coop16"`).
    pub fn kernel_name(&self) -> String {
        match &self.coop {
            Some((side, _)) => format!("{}+coop{side}", self.precision().name()),
            None => self.precision().name().to_string(),
        }
    }

    /// The storage type of the list's tensors.
    pub fn precision(&self) -> Precision {
        self.kernels.precision
    }

    /// A new buffer of `bytes`.
    pub fn buffer_bytes(&mut self, ctx: &GpuContext, label: &str, bytes: u64) -> usize {
        self.buffers.push(storage(&ctx.device, label, bytes));
        self.buffers.len() - 1
    }

    /// A new buffer of `values` of the list's storage type.
    pub fn buffer(&mut self, ctx: &GpuContext, label: &str, values: u64) -> usize {
        let bytes = values * self.precision().bytes();
        self.buffer_bytes(ctx, label, bytes)
    }

    /// A new `w × h × c` tensor in a buffer of its own.
    pub fn tensor(&mut self, ctx: &GpuContext, label: &str, w: u32, h: u32, c: u32) -> View {
        let buf = self.buffer(ctx, label, (w * h * c) as u64);
        View {
            buf,
            w,
            h,
            stride: c,
            off: 0,
            c,
        }
    }

    fn uniform<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, v: &T) -> wgpu::Buffer {
        ctx.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::bytes_of(v),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// `dst = conv(src)` (+ SiLU), plus channels `residual..` of `dst`'s buffer when given.
    /// `dst` must be the convolution's output size.
    pub fn conv(
        &mut self,
        ctx: &GpuContext,
        params: &wgpu::Buffer,
        c: &PackedConv,
        src: View,
        dst: View,
        residual: Option<u32>,
    ) {
        assert_eq!(src.c, c.cin, "a convolution's input channels");
        assert_eq!(dst.c, c.cout, "a convolution's output channels");
        let pad = c.k / 2;
        let ow = (src.w + 2 * pad - c.k) / c.stride + 1;
        let oh = (src.h + 2 * pad - c.k) / c.stride + 1;
        assert_eq!((dst.w, dst.h), (ow, oh), "a convolution's output size");
        let flags = if c.silu { SILU } else { 0 } | if residual.is_some() { RESIDUAL } else { 0 };
        let u = Self::uniform(
            ctx,
            "nn conv",
            &ConvUniform {
                src: src.geometry(),
                dst: dst.geometry(),
                shape: [c.cin, c.cout, c.k, c.stride],
                params: [c.w_off, c.b_off, flags, residual.unwrap_or(0)],
                more: [0; 4],
            },
        );
        let (pipeline, size) = match (&self.coop, c.k) {
            (_, k) if k != 1 && k != 3 => panic!("{k}x{k} convolutions are not in nn.wgsl"),
            (Some((side, p)), _) => (p, coop::any_groups(ow, oh, c.cout, *side)),
            (None, k) => (self.kernels.conv(k), conv_groups(ow, oh, c.cout)),
        };
        let group = bind(
            &ctx.device,
            "nn conv",
            pipeline,
            &[
                (0, &u),
                (1, &self.buffers[src.buf]),
                (2, &self.buffers[dst.buf]),
                (3, params),
            ],
        );
        self.flops += 2.0 * (c.cin * c.cout * c.k * c.k * ow * oh) as f64;
        self.ops.push(Op {
            pipeline: pipeline.clone(),
            group,
            size,
            groups: true,
        });
    }

    /// `dst = maxpool5(src)`, both views of one buffer.
    pub fn maxpool5(&mut self, ctx: &GpuContext, src: View, dst: View) {
        assert_eq!(
            (src.buf, src.w, src.h, src.stride),
            (dst.buf, dst.w, dst.h, dst.stride)
        );
        let u = Self::uniform(
            ctx,
            "nn pool",
            &MoveUniform {
                src: src.geometry(),
                dst: dst.geometry(),
                channels: [src.c, 0, 0, 0],
            },
        );
        let k = self.kernels.clone();
        let group = bind(
            &ctx.device,
            "nn pool",
            &k.maxpool5,
            &[(0, &u), (1, &self.buffers[src.buf])],
        );
        self.ops.push(Op {
            pipeline: k.maxpool5.clone(),
            group,
            size: (src.w, src.h, src.c),
            groups: false,
        });
    }

    /// `dst = nearest ×2 of src`.
    pub fn upsample2(&mut self, ctx: &GpuContext, src: View, dst: View) {
        assert_eq!((dst.w, dst.h, dst.c), (src.w * 2, src.h * 2, src.c));
        let u = Self::uniform(
            ctx,
            "nn upsample",
            &MoveUniform {
                src: src.geometry(),
                dst: dst.geometry(),
                channels: [src.c, 0, 0, 0],
            },
        );
        let k = self.kernels.clone();
        let group = bind(
            &ctx.device,
            "nn upsample",
            &k.upsample2,
            &[
                (0, &u),
                (1, &self.buffers[src.buf]),
                (2, &self.buffers[dst.buf]),
            ],
        );
        self.ops.push(Op {
            pipeline: k.upsample2.clone(),
            group,
            size: (dst.w, dst.h, dst.c),
            groups: false,
        });
    }

    /// Any other dispatch of nn.wgsl (the letterbox, the detector's head).
    pub fn raw(
        &mut self,
        ctx: &GpuContext,
        pipeline: &wgpu::ComputePipeline,
        uniform: &[u8],
        buffers: &[(u32, &wgpu::Buffer)],
        size: (u32, u32, u32),
    ) {
        let u = ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("nn op"),
                contents: uniform,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut all = vec![(0u32, &u)];
        all.extend_from_slice(buffers);
        let group = bind(&ctx.device, "nn op", pipeline, &all);
        self.ops.push(Op {
            pipeline: pipeline.clone(),
            group,
            size,
            groups: false,
        });
    }

    /// Records every dispatch, in order.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        for op in &self.ops {
            if op.groups {
                pass.set_pipeline(&op.pipeline);
                pass.set_bind_group(0, &op.group, &[]);
                pass.dispatch_workgroups(op.size.0, op.size.1, op.size.2);
            } else {
                dispatch(pass, &op.pipeline, &op.group, op.size);
            }
        }
    }
}

/// A buffer holding `values` (a network's parameters) as `precision`, read-only storage.
pub fn params_buffer(
    ctx: &GpuContext,
    label: &str,
    values: &[f32],
    precision: Precision,
) -> wgpu::Buffer {
    let mut contents = precision.encode(values);
    // a binding is at least 16 bytes (one vec4 of either type)
    contents.resize(contents.len().max(16), 0);
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &contents,
            usage: wgpu::BufferUsages::STORAGE,
        })
}
