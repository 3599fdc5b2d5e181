//! The YOLOv8 detector on the GPU, wired from [`super`]'s operations: the model's weights
//! uploaded once ([`YoloGpu`]), and a plan for one frame size ([`YoloPlan`]) that letterboxes
//! a packed YUV frame (or takes planar RGB), runs layers 0–21 and the head, and decodes every
//! anchor. Concatenations cost nothing: each layer feeding one writes straight into the
//! concatenation's buffer. CPU reference: [`crate::reference::yolo`].

use std::sync::Arc;

use super::{
    ConvWeights, DetectUniform, LetterboxUniform, OpList, PackedConv, Precision, View, pack_conv,
};
use crate::detect::{Candidate, Letterbox};
use crate::frame::{FrameFormat, YuvFrame};
use crate::gpu::buffers::Readback;
use crate::gpu::plane::GpuPlane;
use crate::gpu::{GpuContext, GpuError};
use crate::models::yolo::{ConvUnit, HEAD_FROM, Layer, REG_MAX, STRIDES, YoloModel};

fn weights(u: &ConvUnit) -> ConvWeights<'_> {
    ConvWeights {
        cin: u.cin,
        cout: u.cout,
        k: u.k,
        stride: u.stride,
        weight: &u.weight,
        bias: &u.bias,
        silu: u.silu,
    }
}

/// Every convolution of the model, in the order the plan uses them.
fn convs(m: &YoloModel) -> Vec<&ConvUnit> {
    let mut out = Vec::new();
    for l in &m.layers {
        match l {
            Layer::Conv(u) => out.push(u),
            Layer::C2f(c) => {
                out.push(&c.cv1);
                for [a, b] in &c.m {
                    out.extend([a, b]);
                }
                out.push(&c.cv2);
            }
            Layer::Sppf(s) => out.extend([&s.cv1, &s.cv2]),
            Layer::Upsample | Layer::Concat(_) | Layer::Detect => {}
        }
    }
    for level in &m.head {
        out.extend(level.boxes.iter().chain(&level.classes));
    }
    out
}

/// `REELGPU_DETECT_KERNEL=f32|f16` picks the detector's storage over [`Precision::best`]'s
/// choice (f16 on a GPU that has it, f32 on a CPU adapter).
pub const KERNEL_ENV: &str = "REELGPU_DETECT_KERNEL";

/// A model's weights on the device, uploaded once and shared by every plan: in as many
/// buffers as the device's largest binding needs (a yolov8x is 272 MB in f32), each
/// convolution whole in one.
pub struct YoloGpu {
    pub model: Arc<YoloModel>,
    /// The storage type of its weights and of its plans' activations.
    pub precision: Precision,
    params: Vec<wgpu::Buffer>,
    /// Each convolution's buffer and place in it.
    packed: Vec<(usize, PackedConv)>,
}

impl YoloGpu {
    /// The model on the device's best storage type ([`KERNEL_ENV`]).
    pub fn new(ctx: &GpuContext, model: Arc<YoloModel>) -> Self {
        Self::with_precision(ctx, model, ctx.best_precision(KERNEL_ENV))
    }

    /// The model stored as `precision` (f16 needs shader-f16: the plans fail without it).
    pub fn with_precision(ctx: &GpuContext, model: Arc<YoloModel>, precision: Precision) -> Self {
        let limit = (ctx.max_buffer_bytes() / precision.bytes()) as usize;
        let mut chunks: Vec<Vec<f32>> = vec![Vec::new()];
        let mut packed = Vec::new();
        for u in convs(&model) {
            let need = (u.k * u.k * u.cin + 1) * u.cout.next_multiple_of(super::OUT_GROUP);
            if chunks
                .last()
                .is_some_and(|c| !c.is_empty() && c.len() + need > limit)
            {
                chunks.push(Vec::new());
            }
            let at = chunks.len() - 1;
            packed.push((at, pack_conv(&weights(u), &mut chunks[at])));
        }
        let params = chunks
            .iter()
            .map(|c| super::params_buffer(ctx, "yolo params", c, precision))
            .collect();
        Self {
            model,
            precision,
            params,
            packed,
        }
    }
}

/// Where the plan reads its input from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum YoloInput {
    /// Packed YUV 4:2:0 frames of this format, letterboxed on the GPU.
    Frame(FrameFormat),
    /// Planar RGB (0–1) of this size, multiples of 32 (tests and benches).
    Rgb(u32, u32),
}

/// The detector over inputs of one size.
pub struct YoloPlan {
    gpu: Arc<YoloGpu>,
    pub input: YoloInput,
    /// The network's input size.
    pub width: u32,
    pub height: u32,
    pub letterbox: Option<Letterbox>,
    ops: OpList,
    frame: Option<usize>,
    rgb: usize,
    raw: usize,
    best: usize,
    pub anchors: u32,
    readback: Readback,
}

impl YoloPlan {
    /// The plan on the device's best convolution (cooperative matrices where they passed
    /// their start-up comparison).
    pub fn new(ctx: &GpuContext, gpu: Arc<YoloGpu>, input: YoloInput) -> Result<Self, GpuError> {
        Self::build(ctx, gpu, input, true)
    }

    /// The plan on the portable convolution only (benches compare the two).
    pub fn portable(
        ctx: &GpuContext,
        gpu: Arc<YoloGpu>,
        input: YoloInput,
    ) -> Result<Self, GpuError> {
        Self::build(ctx, gpu, input, false)
    }

    fn build(
        ctx: &GpuContext,
        gpu: Arc<YoloGpu>,
        input: YoloInput,
        coop: bool,
    ) -> Result<Self, GpuError> {
        let m = gpu.model.clone();
        let (width, height, letterbox) = match input {
            YoloInput::Frame(f) => {
                let g = Letterbox::new(f.width, f.height);
                (g.width, g.height, Some(g))
            }
            YoloInput::Rgb(w, h) => (w, h, None),
        };
        assert!(
            width % 32 == 0 && height % 32 == 0 && width > 0 && height > 0,
            "the network's input is a multiple of 32 each way"
        );
        let mut ops = OpList::new(ctx, gpu.precision)?;
        if !coop {
            ops = ops.portable();
        }
        let rgb_view = ops.tensor(ctx, "yolo input", width, height, 3);
        let rgb = rgb_view.buf;
        let mut frame = None;
        if let (YoloInput::Frame(f), Some(g)) = (input, letterbox) {
            let fb = ops.buffer_bytes(ctx, "yolo frame", f.gpu_packed_words() as u64 * 4);
            frame = Some(fb);
            let mut taps: Vec<[i32; 2]> = Vec::new();
            for (s, w) in crate::reference::yolo::linear_taps(f.width as usize, g.inner_w as usize)
                .into_iter()
                .chain(crate::reference::yolo::linear_taps(
                    f.height as usize,
                    g.inner_h as usize,
                ))
            {
                taps.push([s as i32, w]);
            }
            let tb = ops.buffer_bytes(ctx, "yolo taps", 8 * taps.len() as u64);
            ctx.queue
                .write_buffer(&ops.buffers[tb], 0, bytemuck::cast_slice(&taps));
            let u = LetterboxUniform {
                planes: f.gpu_packed_planes().map(GpuPlane::from),
                rows: f.color.yuv_to_rgb().to_gpu_rows(),
                canvas: [width, height, 0, 0],
                inner: [g.left, g.top, g.inner_w, g.inner_h],
            };
            let (fbuf, tbuf, rbuf) = (
                ops.buffers[fb].clone(),
                ops.buffers[tb].clone(),
                ops.buffers[rgb].clone(),
            );
            ops.raw(
                ctx,
                &ops.kernels.letterbox.clone(),
                bytemuck::bytes_of(&u),
                &[(1, &fbuf), (2, &tbuf), (3, &rbuf)],
                (width, height, 1),
            );
        }
        let mut packed = gpu.packed.iter();
        let mut next = || {
            let (chunk, c) = packed.next().expect("a packed convolution for every use");
            (gpu.params[*chunk].clone(), *c)
        };
        let conv =
            |ops: &mut OpList,
             (params, c): (wgpu::Buffer, PackedConv),
             src: View,
             dst: View,
             residual: Option<u32>| { ops.conv(ctx, &params, &c, src, dst, residual) };
        let channels = m.channels();
        // where each layer writes: its own tensor, or its part of the concatenation it feeds
        let mut sizes = Vec::with_capacity(m.layers.len());
        let mut size = (width, height);
        for l in &m.layers {
            match l {
                Layer::Conv(u) => {
                    size = (
                        size.0.div_ceil(u.stride as u32),
                        size.1.div_ceil(u.stride as u32),
                    )
                }
                Layer::Upsample => size = (size.0 * 2, size.1 * 2),
                _ => {}
            }
            sizes.push(size);
        }
        let mut place: Vec<Option<View>> = vec![None; m.layers.len()];
        for (j, l) in m.layers.iter().enumerate() {
            if let Layer::Concat(other) = l {
                let (w, h) = sizes[j];
                let total = channels[j] as u32;
                let cat = ops.tensor(ctx, "yolo concat", w, h, total);
                let first = channels[j - 1] as u32;
                place[j - 1] = Some(cat.channels(0, first));
                place[*other] = Some(cat.channels(first, total - first));
                place[j] = Some(cat);
            }
        }
        let mut outs: Vec<View> = Vec::with_capacity(m.layers.len());
        for (i, l) in m.layers.iter().enumerate() {
            let x = outs.last().copied().unwrap_or(rgb_view);
            let (w, h) = sizes[i];
            let c = channels[i] as u32;
            let out = match place[i] {
                Some(v) => v,
                None => ops.tensor(ctx, "yolo layer", w, h, c),
            };
            match l {
                Layer::Conv(_) => conv(&mut ops, next(), x, out, None),
                Layer::C2f(c2f) => {
                    let cc = c2f.c as u32;
                    let n = c2f.m.len() as u32;
                    let cat = ops.tensor(ctx, "yolo c2f", w, h, (2 + n) * cc);
                    conv(&mut ops, next(), x, cat.channels(0, 2 * cc), None);
                    let t = ops.tensor(ctx, "yolo bottleneck", w, h, cc);
                    for k in 0..n {
                        let input = cat.channels((1 + k) * cc, cc);
                        conv(&mut ops, next(), input, t, None);
                        let residual = c2f.shortcut.then_some((1 + k) * cc + cat.off);
                        conv(
                            &mut ops,
                            next(),
                            t,
                            cat.channels((2 + k) * cc, cc),
                            residual,
                        );
                    }
                    conv(&mut ops, next(), cat, out, None);
                }
                Layer::Sppf(s) => {
                    let c_ = s.cv1.cout as u32;
                    let cat = ops.tensor(ctx, "yolo sppf", w, h, 4 * c_);
                    conv(&mut ops, next(), x, cat.channels(0, c_), None);
                    for k in 0..3 {
                        ops.maxpool5(
                            ctx,
                            cat.channels(k * c_, c_),
                            cat.channels((k + 1) * c_, c_),
                        );
                    }
                    conv(&mut ops, next(), cat, out, None);
                }
                Layer::Upsample => ops.upsample2(ctx, x, out),
                // its inputs wrote their parts already
                Layer::Concat(_) => {}
                Layer::Detect => unreachable!("the head is not among layers 0-21"),
            }
            outs.push(out);
        }
        // the head: every level's box and class outputs side by side, one row per anchor
        let per = (4 * REG_MAX + m.nc) as u32;
        let mut levels = [[0u32; 4]; 3];
        let mut anchors = 0u32;
        for (l, from) in HEAD_FROM.iter().enumerate() {
            let v = outs[*from];
            levels[l] = [v.w, v.h, anchors, STRIDES[l] as u32];
            anchors += v.w * v.h;
        }
        let head = ops.buffer(ctx, "yolo head", (anchors * per) as u64);
        for (l, from) in HEAD_FROM.iter().enumerate() {
            let x = outs[*from];
            let base = levels[l][2] * per;
            for (branch, off, c) in [
                (0, 0, 4 * REG_MAX as u32),
                (1, 4 * REG_MAX as u32, m.nc as u32),
            ] {
                let units = if branch == 0 {
                    &m.head[l].boxes
                } else {
                    &m.head[l].classes
                };
                let t1 = ops.tensor(ctx, "yolo head t", x.w, x.h, units[0].cout as u32);
                let t2 = ops.tensor(ctx, "yolo head t", x.w, x.h, units[1].cout as u32);
                conv(&mut ops, next(), x, t1, None);
                conv(&mut ops, next(), t1, t2, None);
                let dst = View {
                    buf: head,
                    w: x.w,
                    h: x.h,
                    stride: per,
                    off: base + off,
                    c,
                };
                conv(&mut ops, next(), t2, dst, None);
            }
        }
        let raw = ops.buffer_bytes(ctx, "yolo raw", 4 * (anchors * (4 + m.nc as u32)) as u64);
        let best = ops.buffer_bytes(ctx, "yolo best", 4 * (anchors * 6) as u64);
        let u = DetectUniform {
            levels,
            sizes: [m.nc as u32, per, anchors, 0],
        };
        let (hb, rb, bb) = (
            ops.buffers[head].clone(),
            ops.buffers[raw].clone(),
            ops.buffers[best].clone(),
        );
        ops.raw(
            ctx,
            &ops.kernels.detect.clone(),
            bytemuck::bytes_of(&u),
            &[(1, &hb), (2, &rb), (3, &bb)],
            (anchors, 1, 1),
        );
        // the largest of what is read back: the raw output, the best classes, the input
        let readback_bytes = (anchors as u64 * (4 + m.nc as u64))
            .max(anchors as u64 * 6)
            .max(width as u64 * height as u64 * 3)
            * 4;
        Ok(Self {
            readback: Readback::new(&ctx.device, readback_bytes),
            gpu,
            input,
            width,
            height,
            letterbox,
            ops,
            frame,
            rgb,
            raw,
            best,
            anchors,
        })
    }

    pub fn model(&self) -> &YoloModel {
        &self.gpu.model
    }

    /// The convolutions' kernel, as summaries report it (`"f16+coop16"`).
    pub fn kernel_name(&self) -> String {
        self.ops.kernel_name()
    }

    /// Multiply-adds ×2 of one frame.
    pub fn flops(&self) -> f64 {
        self.ops.flops
    }

    fn submit(&self, ctx: &GpuContext, read: usize, bytes: u64) -> Result<(), GpuError> {
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            self.ops.record(&mut pass);
        }
        self.readback
            .copy_from(&mut enc, &self.ops.buffers[read], bytes.next_multiple_of(4));
        ctx.queue.submit([enc.finish()]);
        Ok(())
    }

    /// The raw output (anchor-major `[cx, cy, w, h, scores...]`) for planar RGB (0–1).
    pub fn run_rgb(&self, ctx: &GpuContext, rgb: &[f32]) -> Result<Vec<f32>, GpuError> {
        assert_eq!(self.input, YoloInput::Rgb(self.width, self.height));
        let (w, h) = (self.width as usize, self.height as usize);
        assert_eq!(rgb.len(), 3 * w * h);
        let mut cl = vec![0.0f32; 3 * w * h];
        for c in 0..3 {
            for i in 0..w * h {
                cl[i * 3 + c] = rgb[c * w * h + i];
            }
        }
        ctx.queue.write_buffer(
            &self.ops.buffers[self.rgb],
            0,
            &self.gpu.precision.encode(&cl),
        );
        self.read(
            ctx,
            self.raw,
            (self.anchors as u64) * (4 + self.model().nc as u64),
            Precision::F32,
        )
    }

    /// `n` values of buffer `buf`, stored as `stored`, after a run.
    fn read(
        &self,
        ctx: &GpuContext,
        buf: usize,
        n: u64,
        stored: Precision,
    ) -> Result<Vec<f32>, GpuError> {
        let bytes = n * stored.bytes();
        self.submit(ctx, buf, bytes)?;
        let out = self
            .readback
            .read(&ctx.device, bytes.next_multiple_of(4), |b| {
                stored.decode(b, n as usize)
            })?;
        ctx.check()?;
        Ok(out)
    }

    fn upload(&self, ctx: &GpuContext, frame: &YuvFrame) -> Result<(), GpuError> {
        let YoloInput::Frame(f) = self.input else {
            panic!("a plan for RGB input takes no frame")
        };
        assert_eq!(frame.format, f, "the plan's frame format");
        let size =
            wgpu::BufferSize::new(f.gpu_packed_words() as u64 * 4).expect("frames are never empty");
        let fb = self.frame.expect("a frame buffer");
        let mut view = ctx
            .queue
            .write_buffer_with(&self.ops.buffers[fb], 0, size)
            .ok_or_else(|| GpuError::Validation("frame upload rejected".into()))?;
        f.host_to_gpu_rows(&frame.data, |offset, row| {
            view.slice(offset..offset + row.len()).copy_from_slice(row);
        });
        Ok(())
    }

    /// The letterboxed input the network saw for a frame (channels-last RGB, 0–1).
    pub fn letterboxed(&self, ctx: &GpuContext, frame: &YuvFrame) -> Result<Vec<f32>, GpuError> {
        self.upload(ctx, frame)?;
        self.read(
            ctx,
            self.rgb,
            (self.width * self.height * 3) as u64,
            self.gpu.precision,
        )
    }

    /// Each anchor's box (input pixels) and best class, for a frame.
    pub fn candidates(
        &self,
        ctx: &GpuContext,
        frame: &YuvFrame,
    ) -> Result<Vec<Candidate>, GpuError> {
        Ok(self.candidates_batch(ctx, &[frame])?.remove(0))
    }

    /// [`Self::candidates`] for several frames run together: every frame uploaded at once,
    /// the network recorded once per frame into one submission (each frame copied into the
    /// plan's input, its candidates copied out), one wait and one readback.
    pub fn candidates_batch(
        &self,
        ctx: &GpuContext,
        frames: &[&YuvFrame],
    ) -> Result<Vec<Vec<Candidate>>, GpuError> {
        let YoloInput::Frame(f) = self.input else {
            panic!("a plan for RGB input takes no frame")
        };
        if frames.is_empty() {
            return Ok(Vec::new());
        }
        let words = f.gpu_packed_words() as u64 * 4;
        let per = self.anchors as u64 * 6 * 4;
        let n = frames.len() as u64;
        let d = &ctx.device;
        let staged = crate::gpu::buffers::storage(d, "yolo frames", words * n);
        let results = crate::gpu::buffers::storage(d, "yolo results", per * n);
        let readback = Readback::new(d, per * n);
        for (k, frame) in frames.iter().enumerate() {
            assert_eq!(frame.format, f, "the plan's frame format");
            let size = wgpu::BufferSize::new(words).expect("frames are never empty");
            let mut view = ctx
                .queue
                .write_buffer_with(&staged, k as u64 * words, size)
                .ok_or_else(|| GpuError::Validation("frame upload rejected".into()))?;
            f.host_to_gpu_rows(&frame.data, |offset, row| {
                view.slice(offset..offset + row.len()).copy_from_slice(row);
            });
        }
        let input = &self.ops.buffers[self.frame.expect("a frame buffer")];
        let mut enc = d.create_command_encoder(&Default::default());
        for k in 0..n {
            enc.copy_buffer_to_buffer(&staged, k * words, input, 0, words);
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                self.ops.record(&mut pass);
            }
            enc.copy_buffer_to_buffer(&self.ops.buffers[self.best], 0, &results, k * per, per);
        }
        readback.copy_from(&mut enc, &results, per * n);
        ctx.queue.submit([enc.finish()]);
        let all = readback.read(d, per * n, |b| bytemuck::cast_slice::<u8, f32>(b).to_vec())?;
        ctx.check()?;
        Ok(all
            .chunks_exact(self.anchors as usize * 6)
            .map(|frame| {
                frame
                    .chunks_exact(6)
                    .map(|b| Candidate {
                        cx: b[0],
                        cy: b[1],
                        w: b[2],
                        h: b[3],
                        score: b[4],
                        class_id: b[5] as usize,
                    })
                    .collect()
            })
            .collect())
    }
}
