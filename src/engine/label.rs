//! Burning the annotate export's labels into frames on the GPU (label.wgsl): only the band of
//! rows a label covers is uploaded, blended and read back. Each clip's label is rendered once
//! ([`crate::effects::label`]) and uploaded when its clip starts; the per-frame path reuses
//! the same buffers and staging memory.

use std::sync::Arc;

use crate::effects::label::{LabelBand, band_ranges, font_path, load_font, render};
use crate::frame::FrameFormat;
use crate::gpu::buffers::{Readback, WORKGROUP_X, bind, storage, uniform};
use crate::gpu::{GpuContext, GpuError};
use crate::job::AnnotateClip;

#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LabelParams {
    words: [u32; 4],
}

/// Burns one label per clip into frames of one format.
pub struct LabelCompositor {
    ctx: Arc<GpuContext>,
    format: FrameFormat,
    labels: Vec<LabelBand>,
    current: Option<usize>,
    band: wgpu::Buffer,
    value: wgpu::Buffer,
    alpha: wgpu::Buffer,
    params: wgpu::Buffer,
    group: wgpu::BindGroup,
    readback: Readback,
    staging: Vec<u8>,
}

impl LabelCompositor {
    /// Renders every clip's label for frames of `format` (font: [`font_path`]).
    pub fn new(
        ctx: &Arc<GpuContext>,
        format: FrameFormat,
        clips: &[AnnotateClip],
    ) -> Result<Self, String> {
        let font = load_font(&font_path())?;
        let labels: Vec<LabelBand> = clips.iter().map(|c| render(&font, &format, c)).collect();
        Ok(Self::with_labels(ctx, format, labels))
    }

    /// A compositor for labels rendered elsewhere (tests).
    pub fn with_labels(ctx: &Arc<GpuContext>, format: FrameFormat, labels: Vec<LabelBand>) -> Self {
        let max = labels.iter().map(|l| l.value.len()).max().unwrap_or(4) as u64;
        let d = &ctx.device;
        let band = storage(d, "label band", max);
        let value = storage(d, "label value", max);
        let alpha = storage(d, "label alpha", max);
        let params = uniform::<LabelParams>(d, "label params");
        let group = bind(
            d,
            "label",
            &ctx.kernels.label_blend,
            &[(0, &params), (1, &band), (2, &value), (3, &alpha)],
        );
        Self {
            ctx: ctx.clone(),
            format,
            labels,
            current: None,
            band,
            value,
            alpha,
            params,
            group,
            readback: Readback::new(d, max),
            staging: vec![0; max.next_multiple_of(4) as usize],
        }
    }

    /// Burns label `clip` into `frame` (tightly packed, of the compositor's format).
    pub fn apply(&mut self, clip: usize, frame: &mut [u8]) -> Result<(), GpuError> {
        let ctx = self.ctx.clone();
        self.apply_label(clip, frame).map_err(|e| ctx.explain(e))
    }

    fn apply_label(&mut self, clip: usize, frame: &mut [u8]) -> Result<(), GpuError> {
        let q = &self.ctx.queue;
        let label = &self.labels[clip];
        let len = label.value.len();
        if len == 0 {
            return Ok(());
        }
        let padded = len.next_multiple_of(4);
        if self.current != Some(clip) {
            let mut pad = |b: &wgpu::Buffer, data: &[u8]| {
                self.staging[..len].copy_from_slice(data);
                self.staging[len..padded].fill(0);
                q.write_buffer(b, 0, &self.staging[..padded]);
            };
            pad(&self.value, &label.value);
            pad(&self.alpha, &label.alpha);
            let words = (padded / 4) as u32;
            q.write_buffer(
                &self.params,
                0,
                bytemuck::bytes_of(&LabelParams {
                    words: [words, 0, 0, 0],
                }),
            );
            self.current = Some(clip);
        }
        let ranges = band_ranges(&self.format, label.y0, label.y1);
        let mut at = 0;
        for r in &ranges {
            self.staging[at..at + r.len()].copy_from_slice(&frame[r.clone()]);
            at += r.len();
        }
        q.write_buffer(&self.band, 0, &self.staging[..padded]);
        let words = (padded / 4) as u32;
        let groups = words.div_ceil(WORKGROUP_X);
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.ctx.kernels.label_blend);
            pass.set_bind_group(0, &self.group, &[]);
            // the shader reads its index as y * 65535 * 64 + x
            pass.dispatch_workgroups(groups.min(65535), groups.div_ceil(65535), 1);
        }
        self.readback
            .copy_from(&mut encoder, &self.band, padded as u64);
        q.submit([encoder.finish()]);
        self.readback.read(&self.ctx.device, padded as u64, |d| {
            let mut at = 0;
            for r in &ranges {
                frame[r.clone()].copy_from_slice(&d[at..at + r.len()]);
                at += r.len();
            }
        })
    }

    pub fn labels(&self) -> &[LabelBand] {
        &self.labels
    }
}
