//! §9's text layers (text.wgsl): each layer's RGBA image converted once to the frame's YUV
//! ([`LabelBand`]: value and alpha per sample over the rows it covers), uploaded once in the
//! packed frame's row layout, and alpha-blended on top in order at its fade, touching only
//! the rows the active layers cover. CPU reference: [`crate::reference::text`].

use super::label::LabelBand;
use super::params::GpuPlane;
use super::pass::{FrameBuffers, Pass, Slot, sized_storage};
use crate::frame::FrameFormat;
use crate::gpu::buffers::{bind, dispatch, sheet_size, uniform};
use crate::gpu::{GpuContext, GpuError};
use crate::job::overlay_v2::MAX_ACTIVE_TEXT_LAYERS;
use crate::job::timeline::FramePlan;

/// text.wgsl `TextLayer`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GpuTextLayer {
    pub rows: [u32; 4],
    pub offset: [u32; 4],
    pub fade: [f32; 4],
}

/// text.wgsl `TextParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TextParams {
    pub planes: [GpuPlane; 3],
    pub rows: [u32; 4],
    pub count: [u32; 4],
    pub layers: [GpuTextLayer; MAX_ACTIVE_TEXT_LAYERS],
}

/// Where one uploaded layer lives: its rows and the word offset of each plane's rows.
#[derive(Debug, Clone, Copy, Default)]
struct Placed {
    rows: [u32; 4],
    offset: [u32; 4],
}

/// Rows of plane `p` that frame rows `y0..y1` cover.
fn plane_rows(p: usize, y0: u32, y1: u32) -> (u32, u32) {
    if p == 0 {
        (y0, y1)
    } else {
        (y0 / 2, y1.div_ceil(2))
    }
}

/// A band's value and alpha in the packed frame's row layout (rows padded to whole words),
/// appended to `value` / `alpha`; returns where it went.
fn place(
    format: &FrameFormat,
    band: &LabelBand,
    value: &mut Vec<u32>,
    alpha: &mut Vec<u32>,
) -> Placed {
    let host = format.host_planes();
    let gpu = format.gpu_packed_planes();
    let mut placed = Placed::default();
    let (c0, c1) = plane_rows(1, band.y0, band.y1);
    placed.rows = [band.y0, band.y1, c0, c1];
    // the band holds each plane's rows one after another, tightly
    let mut at = 0usize;
    for p in 0..3 {
        let (r0, r1) = plane_rows(p, band.y0, band.y1);
        placed.offset[p] = value.len() as u32;
        let width = host[p].width as usize;
        let stride = host[p].stride as usize;
        for _ in r0..r1 {
            let words = gpu[p].stride as usize;
            let row = |src: &[u8], out: &mut Vec<u32>| {
                let mut bytes = vec![0u8; words * 4];
                bytes[..width].copy_from_slice(&src[at..at + width]);
                out.extend(
                    bytes
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
            };
            row(&band.value, value);
            row(&band.alpha, alpha);
            at += stride;
        }
    }
    placed
}

/// The text pass of one frame format, with the job's layers uploaded.
pub struct TextPass {
    format: FrameFormat,
    pipeline: wgpu::ComputePipeline,
    params: wgpu::Buffer,
    layers: Vec<Placed>,
    on_input: wgpu::BindGroup,
    on_mid: wgpu::BindGroup,
    /// Rows the current frame's layers cover (luma y0, y1; chroma c0, c1).
    rows: [u32; 4],
}

impl TextPass {
    /// A pass holding `layers` (rendered for `frames`' input format), uploaded once.
    pub fn new(
        ctx: &GpuContext,
        frames: &FrameBuffers,
        layers: &[LabelBand],
    ) -> Result<Self, GpuError> {
        let format = frames.input_format;
        let (mut value, mut alpha) = (Vec::new(), Vec::new());
        let placed: Vec<Placed> = layers
            .iter()
            .map(|b| place(&format, b, &mut value, &mut alpha))
            .collect();
        let bytes = value.len() as u64 * 4;
        let d = &ctx.device;
        let k = &ctx.kernels;
        let value_buf = sized_storage(ctx, "text values", bytes, &format)?;
        let alpha_buf = sized_storage(ctx, "text alphas", bytes, &format)?;
        if !value.is_empty() {
            ctx.queue
                .write_buffer(&value_buf, 0, bytemuck::cast_slice(&value));
            ctx.queue
                .write_buffer(&alpha_buf, 0, bytemuck::cast_slice(&alpha));
        }
        let params = uniform::<TextParams>(d, "text params");
        let group = |label, frame: &wgpu::Buffer| {
            bind(
                d,
                label,
                &k.text_blend,
                &[(0, &params), (1, &value_buf), (2, &alpha_buf), (3, frame)],
            )
        };
        Ok(Self {
            format,
            pipeline: k.text_blend.clone(),
            on_input: group("text (input)", &frames.input),
            on_mid: group("text (mid)", &frames.mid),
            params,
            layers: placed,
            rows: [0; 4],
        })
    }

    /// Layers held.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Pass for TextPass {
    fn name(&self) -> &'static str {
        "text layers"
    }

    fn prepare(&mut self, q: &wgpu::Queue, plan: &FramePlan) {
        let mut params = TextParams {
            planes: self.format.gpu_packed_planes().map(GpuPlane::from),
            ..Default::default()
        };
        let mut rows = [u32::MAX, 0, u32::MAX, 0];
        let mut n = 0;
        for draw in &plan.texts {
            let Some(l) = self.layers.get(draw.layer as usize) else {
                continue; // the engine checks layer indices before a frame runs
            };
            if n == MAX_ACTIVE_TEXT_LAYERS || l.rows[0] >= l.rows[1] {
                continue;
            }
            params.layers[n] = GpuTextLayer {
                rows: l.rows,
                offset: l.offset,
                fade: [draw.alpha, 0.0, 0.0, 0.0],
            };
            rows = [
                rows[0].min(l.rows[0]),
                rows[1].max(l.rows[1]),
                rows[2].min(l.rows[2]),
                rows[3].max(l.rows[3]),
            ];
            n += 1;
        }
        if n == 0 {
            rows = [0; 4];
        }
        params.rows = rows;
        params.count = [n as u32, 0, 0, 0];
        self.rows = rows;
        q.write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
    }

    fn record(&self, pass: &mut wgpu::ComputePass<'_>, _plan: &FramePlan, at: Slot) -> Slot {
        let planes = self.format.gpu_packed_planes();
        let r = self.rows;
        let size = sheet_size(
            (planes[0].stride, r[1] - r[0]),
            (planes[1].stride, r[3] - r[2]),
        );
        let group = match at {
            Slot::Input => &self.on_input,
            Slot::Mid => &self.on_mid,
            Slot::Output => unreachable!("text layers run before the crop"),
        };
        if size.1 > 0 {
            dispatch(pass, &self.pipeline, group, size);
        }
        at
    }
}

/// Decodes the job's text layers and converts each for frames of `format`, once. Every PNG
/// must be exactly the frame's size; errors name the layer's field.
pub fn load_layers(
    layers: &[crate::job::overlay_v2::TextLayer],
    format: &FrameFormat,
) -> Result<Vec<LabelBand>, crate::job::ParamError> {
    use crate::job::ParamError;
    use crate::job::overlay_v2::TextImage;
    layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let (field, bytes) = match &layer.image {
                TextImage::Png(bytes) => (format!("params.text_layers[{i}].png_base64"), bytes),
                TextImage::Key(key) => {
                    return Err(ParamError::new(
                        format!("params.text_layers[{i}].image_key"),
                        format!(
                            "{key:?} was not fetched (only the worker reads keys from the bucket; \
                                 the CLI reads them as paths next to the job file)"
                        ),
                    ));
                }
            };
            let image = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
                .map_err(|e| ParamError::new(&field, format!("is not a decodable PNG: {e}")))?;
            if (image.width(), image.height()) != (format.width, format.height) {
                return Err(ParamError::new(
                    &field,
                    format!(
                        "must be exactly the video frame's size ({}x{}), got {}x{}",
                        format.width,
                        format.height,
                        image.width(),
                        image.height()
                    ),
                ));
            }
            Ok(super::label::band_from_rgba8(
                format,
                image.to_rgba8().as_raw(),
            ))
        })
        .collect()
}
