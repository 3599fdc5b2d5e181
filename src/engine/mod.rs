//! The frame engine: runs a [`FramePlan`] — an ordered list of passes
//! ([`FramePlan::passes`]) — on one YUV 4:2:0 frame. Each pass ([`crate::effects`]) owns its
//! WGSL, its uniform layout and its buffers, created once per format; the engine owns the
//! frame buffers, uploads the packed planes, lets every pass write its uniforms, records the
//! passes one after another into one compute pass, and reads the result back through a
//! reused mapped buffer. The per-frame path allocates nothing on the host, and a frame whose
//! plan is empty never touches the GPU.

pub mod label;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::effects::crop::CropPass;
use crate::effects::feather::FeatherPass;
use crate::effects::label::LabelBand;
use crate::effects::mix::MixPass;
use crate::effects::paint::PaintPass;
use crate::effects::pass::{FrameBuffers, Pass, Slot, sized_storage};
use crate::effects::reduce::planes_len;
use crate::effects::rotate::RotatePass;
use crate::effects::text::TextPass;
use crate::effects::upscale::UpscalePass;
use crate::frame::{FrameFormat, PlaneGeom};
use crate::gpu::buffers::Readback;
use crate::gpu::{GpuContext, GpuError};
use crate::job::timeline::{FramePlan, PassKind};
use crate::nn::srvgg::SrNetwork;

pub use crate::effects::feather::{BlurQuality, MAX_ELLIPSES};

/// Wall-clock time per stage of one frame (measured with a GPU sync after each stage).
#[derive(Debug, Clone, Default)]
pub struct StageTimes {
    pub stages: Vec<(&'static str, Duration)>,
}

/// The AI ×4 upscaler an engine runs after its crop: the network, the size the crop is
/// resampled to for it (in source pixels: the clip's largest crop), and the tile side
/// (`None`: as large as the device allows).
#[derive(Clone)]
pub struct UpscaleSpec {
    pub net: Arc<SrNetwork>,
    pub input: (u32, u32),
    pub tile: Option<usize>,
}

/// Runs frame plans on frames of one format.
pub struct FrameEngine {
    ctx: Arc<GpuContext>,
    frames: FrameBuffers,
    readback: Readback,
    feather: FeatherPass,
    paint: PaintPass,
    text: TextPass,
    crop: CropPass,
    rotate: RotatePass,
    upscale: Option<UpscalePass>,
    mix: MixPass,
    /// Frames through the network and the time their network submissions took.
    network: (u64, Duration),
}

impl FrameEngine {
    /// An engine for `input` frames; `output_size` is the crop's output size (even), used only
    /// by plans with a crop.
    pub fn new(
        ctx: Arc<GpuContext>,
        input: FrameFormat,
        output_size: Option<(u32, u32)>,
        quality: BlurQuality,
    ) -> Result<Self, GpuError> {
        Self::build(ctx, input, output_size, quality, None)
    }

    /// An engine whose crops go through the AI ×4 upscaler before Lanczos to `output_size`:
    /// every resizing plan it runs must say `upscale`. With it the crop or rotate pass writes
    /// the network's input frame (`spec.input`, at the source's resolution) and the upscale
    /// pass takes that to the output.
    pub fn with_upscaler(
        ctx: Arc<GpuContext>,
        input: FrameFormat,
        output_size: (u32, u32),
        quality: BlurQuality,
        spec: UpscaleSpec,
    ) -> Result<Self, GpuError> {
        Self::build(ctx, input, Some(output_size), quality, Some(spec))
    }

    fn build(
        ctx: Arc<GpuContext>,
        input: FrameFormat,
        output_size: Option<(u32, u32)>,
        quality: BlurQuality,
        upscale: Option<UpscaleSpec>,
    ) -> Result<Self, GpuError> {
        let (ow, oh) = output_size.unwrap_or((input.width, input.height));
        let output = FrameFormat::new(ow, oh, input.color);
        let limit = ctx.max_buffer_bytes();
        for fmt in [input, output] {
            let needed = fmt.gpu_packed_words() as u64 * 4;
            if needed > limit {
                return Err(GpuError::TooLarge {
                    width: fmt.width,
                    height: fmt.height,
                    needed,
                    limit,
                });
            }
        }
        let frames = FrameBuffers::new(&ctx, input, output);
        let readback = Readback::new(
            &ctx.device,
            (input.gpu_packed_words().max(output.gpu_packed_words()) as u64) * 4,
        );
        let (crop, rotate, upscale) = match upscale {
            None => (
                CropPass::new(&ctx, &frames)?,
                RotatePass::new(&ctx, &frames),
                None,
            ),
            Some(spec) => {
                let (sw, sh) = spec.input;
                if sw == 0 || sh == 0 || sw % 2 == 1 || sh % 2 == 1 {
                    return Err(GpuError::Validation(format!(
                        "the network's input frame must have an even, non-zero size, not \
                         {sw}x{sh}"
                    )));
                }
                // the crop and rotate passes write the network's input frame instead
                let sr_in = FrameFormat::new(spec.input.0, spec.input.1, input.color);
                let sr_frame = sized_storage(
                    &ctx,
                    "network input frame",
                    sr_in.gpu_packed_words() as u64 * 4,
                    &sr_in,
                )?;
                let view = FrameBuffers {
                    input_format: input,
                    output_format: sr_in,
                    input: frames.input.clone(),
                    mid: frames.mid.clone(),
                    output: sr_frame.clone(),
                    other: frames.other.clone(),
                };
                let up = UpscalePass::new(&ctx, spec.net, &sr_frame, sr_in, &frames, spec.tile)?;
                (
                    CropPass::new(&ctx, &view)?,
                    RotatePass::new(&ctx, &view),
                    Some(up),
                )
            }
        };
        Ok(Self {
            feather: FeatherPass::new(&ctx, &frames, quality)?,
            paint: PaintPass::new(&ctx, &frames),
            text: TextPass::new(&ctx, &frames, &[])?,
            crop,
            rotate,
            upscale,
            mix: MixPass::new(&ctx, &frames),
            network: (0, Duration::ZERO),
            ctx,
            frames,
            readback,
        })
    }

    /// The upscale pass, when the engine has one.
    pub fn upscaler(&self) -> Option<&UpscalePass> {
        self.upscale.as_ref()
    }

    /// Frames that went through the network, and the time the network took on them (its own
    /// submission, waited for).
    pub fn network_time(&self) -> (u64, Duration) {
        self.network
    }

    /// Uploads the job's text layers (rendered for the input format), once; plans refer to
    /// them by index.
    pub fn set_text_layers(&mut self, layers: &[LabelBand]) -> Result<(), GpuError> {
        self.text = TextPass::new(&self.ctx, &self.frames, layers)?;
        Ok(())
    }

    pub fn input_format(&self) -> FrameFormat {
        self.frames.input_format
    }

    /// Format of frames that went through a crop.
    pub fn output_format(&self) -> FrameFormat {
        self.frames.output_format
    }

    /// The blur actually used (see [`BlurQuality::Fast`]).
    pub fn quality(&self) -> BlurQuality {
        self.feather.quality()
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The format `plan` produces.
    pub fn plan_output(&self, plan: &FramePlan) -> FrameFormat {
        if plan.resizes() {
            self.frames.output_format
        } else {
            self.frames.input_format
        }
    }

    /// Processes one tightly packed frame into `out` (sized for [`Self::plan_output`]).
    pub fn process(
        &mut self,
        frame: &[u8],
        plan: &FramePlan,
        out: &mut [u8],
    ) -> Result<(), GpuError> {
        self.run(frame, plan, out, None)
    }

    /// Like [`Self::process`] for a plan that dissolves with `other` (an output-format
    /// frame, tightly packed).
    pub fn process_with(
        &mut self,
        frame: &[u8],
        other: &[u8],
        plan: &FramePlan,
        out: &mut [u8],
    ) -> Result<(), GpuError> {
        let fmt = self.frames.output_format;
        if other.len() != fmt.frame_bytes() {
            return Err(GpuError::FrameSize {
                expected: fmt.frame_bytes(),
                got: other.len(),
            });
        }
        let size = wgpu::BufferSize::new(fmt.gpu_packed_words() as u64 * 4)
            .expect("frames are never empty");
        {
            let mut view = self
                .ctx
                .queue
                .write_buffer_with(&self.frames.other, 0, size)
                .ok_or_else(|| GpuError::Validation("frame upload rejected".into()))?;
            fmt.host_to_gpu_rows(other, |offset, row| {
                view.slice(offset..offset + row.len()).copy_from_slice(row);
            });
        }
        self.run(frame, plan, out, None)
    }

    /// Like [`Self::process`], but syncs after every pass and reports the time of each.
    pub fn process_timed(
        &mut self,
        frame: &[u8],
        plan: &FramePlan,
        out: &mut [u8],
    ) -> Result<StageTimes, GpuError> {
        let mut times = StageTimes::default();
        self.run(frame, plan, out, Some(&mut times))?;
        Ok(times)
    }

    fn run(
        &mut self,
        frame: &[u8],
        plan: &FramePlan,
        out: &mut [u8],
        times: Option<&mut StageTimes>,
    ) -> Result<(), GpuError> {
        self.run_frame(frame, plan, out, times)
            .map_err(|e| self.ctx.explain(e))
    }

    fn pass_mut(&mut self, kind: PassKind) -> &mut dyn Pass {
        match kind {
            PassKind::Feather => &mut self.feather,
            PassKind::Paint => &mut self.paint,
            PassKind::Text => &mut self.text,
            PassKind::Crop => &mut self.crop,
            PassKind::Rotate => &mut self.rotate,
            PassKind::Upscale => self
                .upscale
                .as_mut()
                .expect("checked before the frame: an upscaling plan has an upscaler"),
            PassKind::Mix => &mut self.mix,
        }
    }

    fn wait(&self) -> Result<(), GpuError> {
        self.ctx
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map(|_| ())
            .map_err(|e| GpuError::Map(e.to_string()))
    }

    fn run_frame(
        &mut self,
        frame: &[u8],
        plan: &FramePlan,
        out: &mut [u8],
        mut times: Option<&mut StageTimes>,
    ) -> Result<(), GpuError> {
        let input = self.frames.input_format;
        let out_format = self.plan_output(plan);
        if frame.len() != input.frame_bytes() {
            return Err(GpuError::FrameSize {
                expected: input.frame_bytes(),
                got: frame.len(),
            });
        }
        if out.len() != out_format.frame_bytes() {
            return Err(GpuError::FrameSize {
                expected: out_format.frame_bytes(),
                got: out.len(),
            });
        }
        if let Some(t) = plan
            .texts
            .iter()
            .find(|t| t.layer as usize >= self.text.len())
        {
            return Err(GpuError::Validation(format!(
                "text layer {} was not loaded ({} are)",
                t.layer,
                self.text.len()
            )));
        }
        if plan.mix.is_some() && !plan.resizes() {
            return Err(GpuError::Validation(
                "a transition's mix needs a crop to the output size".into(),
            ));
        }
        match (plan.upscale && plan.resizes(), self.upscale.is_some()) {
            (true, false) => {
                return Err(GpuError::Validation(
                    "the plan upscales, but the engine was made without the network".into(),
                ));
            }
            (false, true) if plan.resizes() => {
                return Err(GpuError::Validation(
                    "the engine upscales every crop, but the plan does not say upscale".into(),
                ));
            }
            _ => {}
        }
        if plan.crop.is_some() && plan.rotated.is_some() {
            return Err(GpuError::Validation(
                "a frame is cropped or rotated-and-cropped, not both".into(),
            ));
        }
        if plan.is_identity() {
            out.copy_from_slice(frame);
            return Ok(());
        }
        let t0 = Instant::now();
        self.upload(frame)?;
        if let Some(t) = times.as_deref_mut() {
            self.ctx.queue.submit([]);
            self.wait()?;
            t.stages.push(("upload", t0.elapsed()));
        }
        // one handle for the frame (the passes borrow the engine mutably)
        let ctx = self.ctx.clone();
        for kind in plan.passes() {
            self.pass_mut(kind).prepare(&ctx.queue, plan);
        }
        let device = &ctx.device;
        let mut encoder = device.create_command_encoder(&Default::default());
        let mut at = Slot::Input;
        for kind in plan.passes() {
            let network = kind == PassKind::Upscale;
            if network && times.is_none() {
                // the network in its own submission, so that its time is its own
                let done = std::mem::replace(
                    &mut encoder,
                    device.create_command_encoder(&Default::default()),
                );
                self.ctx.queue.submit([done.finish()]);
                self.wait()?;
            }
            let started = Instant::now();
            {
                let mut cpass = encoder.begin_compute_pass(&Default::default());
                at = self.pass_mut(kind).record(&mut cpass, plan, at);
            }
            if times.is_some() || network {
                let done = std::mem::replace(
                    &mut encoder,
                    device.create_command_encoder(&Default::default()),
                );
                self.ctx.queue.submit([done.finish()]);
                self.wait()?;
                let took = started.elapsed();
                if let Some(t) = times.as_deref_mut() {
                    t.stages.push((self.pass_mut(kind).name(), took));
                }
                if network {
                    self.network.0 += 1;
                    self.network.1 += took;
                }
            }
        }
        let bytes = out_format.gpu_packed_words() as u64 * 4;
        self.readback
            .copy_from(&mut encoder, self.frames.get(at), bytes);
        let started = Instant::now();
        self.ctx.queue.submit([encoder.finish()]);
        self.readback.read(&self.ctx.device, bytes, |data| {
            out_format.gpu_to_host(data, out)
        })?;
        if let Some(t) = times {
            t.stages.push(("readback", started.elapsed()));
        }
        self.ctx.check()
    }

    fn upload(&self, frame: &[u8]) -> Result<(), GpuError> {
        let input = self.frames.input_format;
        let words = input.gpu_packed_words() as u64;
        let size = wgpu::BufferSize::new(words * 4).expect("frames are never empty");
        let mut view = self
            .ctx
            .queue
            .write_buffer_with(&self.frames.input, 0, size)
            .ok_or_else(|| GpuError::Validation("frame upload rejected".into()))?;
        input.host_to_gpu_rows(frame, |offset, row| {
            view.slice(offset..offset + row.len()).copy_from_slice(row);
        });
        Ok(())
    }

    /// Debug/test access: the feathered luma mask of the last processed frame (`w * h`).
    pub fn read_mask(&self) -> Result<Vec<f32>, GpuError> {
        let f = self.frames.input_format;
        self.read_f32(
            self.feather.debug_buffers().0,
            (f.width * f.height) as usize,
        )
    }

    /// Where the blurred background planes sit: full size (exact) or reduced with margins
    /// (fast, see [`crate::effects::reduce`]).
    pub fn background_planes(&self) -> [PlaneGeom; 3] {
        self.feather.background_planes()
    }

    /// Debug/test access: the blurred background planes of the last processed blur frame, in
    /// [`Self::background_planes`] layout.
    pub fn read_background(&self) -> Result<Vec<f32>, GpuError> {
        let len = planes_len(&self.feather.background_planes());
        self.read_f32(self.feather.debug_buffers().1, len as usize)
    }

    fn read_f32(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<f32>, GpuError> {
        let rb = Readback::new(&self.ctx.device, len as u64 * 4);
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        rb.copy_from(&mut encoder, buffer, len as u64 * 4);
        self.ctx.queue.submit([encoder.finish()]);
        rb.read(&self.ctx.device, len as u64 * 4, |d| {
            bytemuck::cast_slice::<u8, f32>(d)[..len].to_vec()
        })
    }
}
