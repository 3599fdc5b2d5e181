//! The intro card pass (card.wgsl, contract §15): a card's layer images uploaded once, then each
//! frame drawn from its layers' states (the plan's timeline, [`crate::job::card`]) straight into
//! the reel's packed YUV 4:2:0. CPU reference: [`crate::reference::card`].

use std::sync::Arc;

use super::params::GpuPlane;
use crate::frame::{FrameFormat, YuvFrame};
use crate::gpu::buffers::{Readback, bind, storage, uniform};
use crate::gpu::{GpuContext, GpuError};
use crate::job::card::{CardFrame, CardLayer, CardPlan, LayerState};

/// Most layers a card may have.
pub const MAX_LAYERS: usize = 64;

/// card.wgsl `CardFrame`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CardUniform {
    pub size: [u32; 4],
    pub flash: [f32; 4],
    pub planes: [GpuPlane; 3],
    pub rows: [[f32; 4]; 3],
}

/// card.wgsl `CardLayer`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GpuCardLayer {
    pub kind: u32,
    pub offset: u32,
    pub iw: u32,
    pub ih: u32,
    pub rect: [f32; 4],
    pub p: [f32; 4],
}

/// card.wgsl's layer kinds.
pub const BG: u32 = 0;
pub const IMAGE: u32 = 1;
pub const OVER: u32 = 2;
pub const TEXT: u32 = 3;

/// A layer's image: RGBA8, straight alpha (an RGB image has alpha 255).
#[derive(Debug, Clone, PartialEq)]
pub struct CardImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// Why a card cannot be drawn from its plan and images.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("layer {index} ({file}): {message}")]
    Layer {
        index: usize,
        file: String,
        message: String,
    },
    #[error("{0}")]
    Plan(String),
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// Largest layer image side the decoder accepts.
pub const MAX_IMAGE_SIDE: u32 = 8192;

/// Decodes a PNG layer of any colour type (RGB, RGBA, grey, grey + alpha, palette, 8 or 16
/// bits) to RGBA8, refusing images over [`MAX_IMAGE_SIDE`] a side before their pixels are
/// allocated.
pub fn decode_png(bytes: &[u8]) -> Result<CardImage, String> {
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Png);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(1 << 30);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| format!("is not a decodable PNG: {e}"))?;
    let rgba = img.to_rgba8();
    Ok(CardImage {
        width: rgba.width(),
        height: rgba.height(),
        rgba: rgba.into_raw(),
    })
}

/// Word offsets of each image in the pixel buffer (images packed one after another).
pub fn offsets(images: &[CardImage]) -> Vec<u32> {
    let mut at = 0u32;
    images
        .iter()
        .map(|i| {
            let o = at;
            at += i.width * i.height;
            o
        })
        .collect()
}

/// Checks the images against the plan (one per layer, in order): the bg and static layers are
/// the frame's size, a photo is the plan's `rw × rh`.
pub fn check_images(
    plan: &CardPlan,
    images: &[CardImage],
    width: u32,
    height: u32,
) -> Result<(), CardError> {
    if images.len() != plan.layers.len() || plan.layers.len() > MAX_LAYERS {
        return Err(CardError::Plan(format!(
            "{} layers and {} images (at most {MAX_LAYERS})",
            plan.layers.len(),
            images.len()
        )));
    }
    for (index, (l, img)) in plan.layers.iter().zip(images).enumerate() {
        let want = match l {
            CardLayer::Bg { .. } | CardLayer::Static { .. } => Some((width, height)),
            CardLayer::Photo { rw, rh, .. } => Some((*rw, *rh)),
            CardLayer::Text { .. } => None,
        };
        if let Some((w, h)) = want
            && (img.width, img.height) != (w, h)
        {
            return Err(CardError::Layer {
                index,
                file: l.file().to_string(),
                message: format!("is {}x{}, the plan wants {w}x{h}", img.width, img.height),
            });
        }
        if img.width == 0
            || img.height == 0
            || img.rgba.len() != (img.width * img.height * 4) as usize
        {
            return Err(CardError::Layer {
                index,
                file: l.file().to_string(),
                message: "has no pixels".into(),
            });
        }
    }
    Ok(())
}

/// The layers' descriptors for one frame of the card.
pub fn layers_for(
    plan: &CardPlan,
    frame: &CardFrame,
    images: &[CardImage],
    offsets: &[u32],
) -> Vec<GpuCardLayer> {
    plan.layers
        .iter()
        .zip(&frame.layers)
        .enumerate()
        .map(|(i, (l, s))| {
            let img = &images[i];
            // every kind is an image in a rect: the frame-size ones at (0, 0), opaque alpha 1
            let base = GpuCardLayer {
                offset: offsets[i],
                iw: img.width,
                ih: img.height,
                rect: [0.0, 0.0, img.width as f32, img.height as f32],
                p: [1.0, 1.0, 0.0, 0.0],
                ..Default::default()
            };
            match (l, s) {
                (CardLayer::Bg { .. }, _) => GpuCardLayer { kind: BG, ..base },
                (CardLayer::Static { .. }, _) => GpuCardLayer { kind: OVER, ..base },
                (CardLayer::Photo { px, py, rw, rh, .. }, LayerState::Zoom(z)) => GpuCardLayer {
                    kind: IMAGE,
                    rect: [*px as f32, *py as f32, *rw as f32, *rh as f32],
                    p: [*z as f32, 1.0, 0.0, 0.0],
                    ..base
                },
                (CardLayer::Text { lx, .. }, LayerState::Text { alpha, y }) => GpuCardLayer {
                    kind: TEXT,
                    rect: [*lx as f32, *y as f32, img.width as f32, img.height as f32],
                    p: [1.0, *alpha as f32, 0.0, 0.0],
                    ..base
                },
                (l, s) => unreachable!("the timeline gives each layer its state: {l:?} {s:?}"),
            }
        })
        .collect()
}

/// Draws frames of one card (or of any layer stack: the outro's frames fitted into the reel
/// are one [`IMAGE`] layer over a [`BG`]) into frames of `format`.
pub struct CardRenderer {
    ctx: Arc<GpuContext>,
    format: FrameFormat,
    uniform: wgpu::Buffer,
    layers: wgpu::Buffer,
    pixels: wgpu::Buffer,
    yuv: wgpu::Buffer,
    group: wgpu::BindGroup,
    readback: Readback,
    base: CardUniform,
}

impl CardRenderer {
    /// A renderer for frames of `format` whose images take `pixel_words` RGBA words in all.
    pub fn new(
        ctx: Arc<GpuContext>,
        format: FrameFormat,
        pixel_words: u64,
    ) -> Result<Self, GpuError> {
        let d = &ctx.device;
        let limit = ctx.max_buffer_bytes();
        for bytes in [pixel_words * 4] {
            if bytes > limit {
                return Err(GpuError::TooLarge {
                    width: format.width,
                    height: format.height,
                    needed: bytes,
                    limit,
                });
            }
        }
        let yuv_bytes = format.gpu_packed_words() as u64 * 4;
        let u = uniform::<CardUniform>(d, "card");
        let layers = storage(
            d,
            "card layers",
            (MAX_LAYERS * size_of::<GpuCardLayer>()) as u64,
        );
        let pixels = storage(d, "card pixels", pixel_words.max(1) * 4);
        let yuv = storage(d, "card yuv", yuv_bytes);
        let group = bind(
            d,
            "card",
            &ctx.kernels.card_render,
            &[(0, &u), (1, &layers), (2, &pixels), (3, &yuv)],
        );
        let base = CardUniform {
            size: [format.width, format.height, 0, 0],
            flash: [0.0; 4],
            planes: format.gpu_packed_planes().map(GpuPlane::from),
            rows: format.color.rgb_to_yuv().to_gpu_rows(),
        };
        Ok(Self {
            readback: Readback::new(d, yuv_bytes),
            ctx,
            format,
            uniform: u,
            layers,
            pixels,
            yuv,
            group,
            base,
        })
    }

    /// Uploads `image` at word `offset` of the pixel buffer.
    pub fn upload(&self, offset: u32, image: &CardImage) {
        self.ctx
            .queue
            .write_buffer(&self.pixels, offset as u64 * 4, &image.rgba);
    }

    pub fn format(&self) -> FrameFormat {
        self.format
    }

    /// Draws one frame of `layers` (bottom to top) with the flash at `flash`, into `out` (a
    /// host frame of the renderer's format).
    pub fn render(
        &self,
        layers: &[GpuCardLayer],
        flash: f32,
        out: &mut YuvFrame,
    ) -> Result<(), GpuError> {
        assert!(layers.len() <= MAX_LAYERS, "at most {MAX_LAYERS} layers");
        let f = self.format;
        let mut u = self.base;
        u.size[2] = layers.len() as u32;
        u.flash[0] = flash;
        let q = &self.ctx.queue;
        q.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&u));
        if !layers.is_empty() {
            q.write_buffer(&self.layers, 0, bytemuck::cast_slice(layers));
        }
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.ctx.kernels.card_render);
            pass.set_bind_group(0, &self.group, &[]);
            // one invocation per 8 x 2 block, workgroups of 8 x 8 blocks
            pass.dispatch_workgroups(
                f.width.div_ceil(8).div_ceil(8),
                f.height.div_ceil(2).div_ceil(8),
                1,
            );
        }
        let bytes = f.gpu_packed_words() as u64 * 4;
        self.readback.copy_from(&mut enc, &self.yuv, bytes);
        q.submit([enc.finish()]);
        self.readback
            .read(&self.ctx.device, bytes, |d| f.gpu_to_host(d, &mut out.data))?;
        self.ctx.check()
    }
}

/// A card ready to draw: its plan, its images on the device.
pub struct Card {
    pub plan: CardPlan,
    images: Vec<CardImage>,
    offsets: Vec<u32>,
    renderer: CardRenderer,
}

impl Card {
    /// Checks `images` against `plan` and uploads them.
    pub fn new(
        ctx: Arc<GpuContext>,
        format: FrameFormat,
        plan: CardPlan,
        images: Vec<CardImage>,
    ) -> Result<Self, CardError> {
        check_images(&plan, &images, format.width, format.height)?;
        let offsets = offsets(&images);
        let words: u64 = images.iter().map(|i| (i.width * i.height) as u64).sum();
        let renderer = CardRenderer::new(ctx, format, words)?;
        for (img, o) in images.iter().zip(&offsets) {
            renderer.upload(*o, img);
        }
        Ok(Self {
            plan,
            images,
            offsets,
            renderer,
        })
    }

    /// The descriptors of frame `n` at `fps`, and its flash.
    pub fn frame_layers(&self, n: u64, fps: f64) -> (Vec<GpuCardLayer>, f32) {
        let f = self.plan.frame(n, fps);
        (
            layers_for(&self.plan, &f, &self.images, &self.offsets),
            f.flash as f32,
        )
    }

    /// Draws frame `n` at `fps` into `out`.
    pub fn render(&self, n: u64, fps: f64, out: &mut YuvFrame) -> Result<(), GpuError> {
        let (layers, flash) = self.frame_layers(n, fps);
        self.renderer.render(&layers, flash, out)
    }

    pub fn images(&self) -> &[CardImage] {
        &self.images
    }
}
