//! The annotate export's label (contract §7): a white box (95% opaque) across 10%–90% of the
//! width near the top, a 4 px border in the rating's colour, the title `"<notation>  <name>"`
//! centred and the notes (cut to 100 characters) under it. Rendered once per clip on the CPU
//! with a TrueType font, converted to the frame's YUV and laid out like the band of frame rows
//! it covers, so burning it in is an elementwise blend (label.wgsl on the GPU,
//! [`crate::reference::label`] on the CPU).

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};

use crate::frame::FrameFormat;
use crate::job::AnnotateClip;

/// Where the font comes from: `REELGPU_FONT`, else DejaVu Sans (Debian/Ubuntu
/// `fonts-dejavu-core`).
pub fn font_path() -> PathBuf {
    std::env::var_os("REELGPU_FONT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
}

/// Loads a TrueType/OpenType font.
pub fn load_font(path: &Path) -> Result<FontVec, String> {
    let data = std::fs::read(path).map_err(|e| {
        format!(
            "font {}: {e} (install fonts-dejavu-core or set REELGPU_FONT)",
            path.display()
        )
    })?;
    FontVec::try_from_vec(data).map_err(|e| format!("font {}: {e}", path.display()))
}

/// The rating's notation and border colour.
pub fn rating_style(rating: i64) -> (&'static str, [u8; 3]) {
    match rating {
        1 => ("??", [0xC6, 0x28, 0x28]),
        2 => ("?", [0xF9, 0xA8, 0x25]),
        3 => ("!?", [0x15, 0x65, 0xC0]),
        4 => ("!", [0x2E, 0x7D, 0x32]),
        _ => ("!!", [0x66, 0xBB, 0x6A]),
    }
}

pub const BORDER_PX: u32 = 4;
pub const BOX_OPACITY: f32 = 0.95;
const TEXT_RGB: [f32; 3] = [17.0, 17.0, 17.0];
pub const MAX_NOTES_CHARS: usize = 100;

/// A label laid out like frame rows `y0..y1` (even): the luma rows, then the U rows, then the
/// V rows of that band, one after another, each row as wide as its plane. `value` is the label's sample, `alpha`
/// its opacity (0..=255) per byte.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelBand {
    pub y0: u32,
    pub y1: u32,
    pub value: Vec<u8>,
    pub alpha: Vec<u8>,
}

/// Byte ranges of rows `y0..y1` (even) of each plane of a tightly packed frame.
pub fn band_ranges(format: &FrameFormat, y0: u32, y1: u32) -> [std::ops::Range<usize>; 3] {
    let planes = format.host_planes();
    std::array::from_fn(|p| {
        let (r0, r1) = if p == 0 {
            (y0, y1)
        } else {
            (y0 / 2, y1.div_ceil(2))
        };
        let g = planes[p];
        let start = (g.offset + r0 * g.stride) as usize;
        start..start + ((r1 - r0) * g.stride) as usize
    })
}

/// Renders `clip`'s label for frames of `format`.
pub fn render(font: &FontVec, format: &FrameFormat, clip: &AnnotateClip) -> LabelBand {
    let (w, h) = (format.width, format.height);
    let rgba = render_rgba(font, w, h, clip);
    let (_, by, _, bh) = label_box(w, h, font, clip);
    to_band(format, |x, y| rgba[(y * w + x) as usize], by, by + bh)
}

/// A full-frame straight (non-premultiplied) RGBA8 image as a band over the rows where it
/// is not fully transparent (even-aligned, so chroma rows are whole); an empty band (`y0 ==
/// y1`) when it is transparent everywhere. `rgba` is `format.width x format.height`.
pub fn band_from_rgba8(format: &FrameFormat, rgba: &[u8]) -> LabelBand {
    let w = format.width as usize;
    let opaque_row = |y: usize| {
        rgba[y * w * 4..(y + 1) * w * 4]
            .chunks_exact(4)
            .any(|p| p[3] > 0)
    };
    let h = format.height as usize;
    let Some(first) = (0..h).find(|&y| opaque_row(y)) else {
        return LabelBand {
            y0: 0,
            y1: 0,
            value: Vec::new(),
            alpha: Vec::new(),
        };
    };
    let last = (0..h).rev().find(|&y| opaque_row(y)).unwrap_or(first);
    let y0 = (first as u32) & !1;
    let y1 = ((last as u32 + 2) & !1).min(format.height);
    to_band(
        format,
        |x, y| {
            let i = (y as usize * w + x as usize) * 4;
            let p = &rgba[i..i + 4];
            [p[0] as f32, p[1] as f32, p[2] as f32, p[3] as f32 / 255.0]
        },
        y0,
        y1,
    )
}

fn title(clip: &AnnotateClip) -> String {
    format!("{}  {}", rating_style(clip.rating).0, clip.name)
}

fn notes(clip: &AnnotateClip) -> Option<String> {
    clip.notes
        .as_deref()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(MAX_NOTES_CHARS).collect())
}

fn text_sizes(h: u32) -> (f32, f32) {
    let title = (h as f32 * 0.045).max(10.0);
    (title, title * 0.7)
}

/// The box: x, y, width, height in pixels (even-aligned so chroma rows are whole).
fn label_box(w: u32, h: u32, font: &FontVec, clip: &AnnotateClip) -> (u32, u32, u32, u32) {
    let (ts, ns) = text_sizes(h);
    let x0 = (w as f32 * 0.1).round() as u32;
    let x1 = (w as f32 * 0.9).round() as u32;
    let pad = (ts * 0.3).ceil() as u32;
    let mut height = 2 * BORDER_PX + 2 * pad + line_height(font, ts);
    if notes(clip).is_some() {
        height += line_height(font, ns);
    }
    let y0 = ((h as f32 * 0.04) as u32) & !1;
    let height = height.min(h - y0) & !1;
    (x0, y0, x1 - x0, height)
}

fn line_height(font: &FontVec, size: f32) -> u32 {
    let s = font.as_scaled(PxScale::from(size));
    (s.ascent() - s.descent() + s.line_gap()).ceil() as u32
}

/// The label as straight (non-premultiplied) RGBA over the whole frame.
pub fn render_rgba(font: &FontVec, w: u32, h: u32, clip: &AnnotateClip) -> Vec<[f32; 4]> {
    let mut px = vec![[0.0f32; 4]; (w * h) as usize];
    let (bx, by, bw, bh) = label_box(w, h, font, clip);
    let (_, colour) = rating_style(clip.rating);
    for y in by..by + bh {
        for x in bx..bx + bw {
            let border = x < bx + BORDER_PX
                || x >= bx + bw - BORDER_PX
                || y < by + BORDER_PX
                || y >= by + bh - BORDER_PX;
            px[(y * w + x) as usize] = if border {
                [colour[0] as f32, colour[1] as f32, colour[2] as f32, 1.0]
            } else {
                [255.0, 255.0, 255.0, BOX_OPACITY]
            };
        }
    }
    let (ts, ns) = text_sizes(h);
    let inner = (
        bx + BORDER_PX,
        by + BORDER_PX,
        bw - 2 * BORDER_PX,
        bh.saturating_sub(2 * BORDER_PX),
    );
    let pad = (ts * 0.3).ceil();
    let mut baseline = inner.1 as f32 + pad + font.as_scaled(PxScale::from(ts)).ascent();
    draw_line(font, &mut px, w, inner, &title(clip), ts, baseline);
    if let Some(n) = notes(clip) {
        let s = font.as_scaled(PxScale::from(ts));
        baseline += s.descent().abs() + s.line_gap() + font.as_scaled(PxScale::from(ns)).ascent();
        draw_line(font, &mut px, w, inner, &n, ns, baseline);
    }
    px
}

/// Draws `text` centred in the box `inner`, shrunk to fit its width, clipped to it.
fn draw_line(
    font: &FontVec,
    px: &mut [[f32; 4]],
    w: u32,
    inner: (u32, u32, u32, u32),
    text: &str,
    size: f32,
    baseline: f32,
) {
    let width_at = |size: f32| {
        let s = font.as_scaled(PxScale::from(size));
        let mut x = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = s.glyph_id(c);
            if let Some(p) = prev {
                x += s.kern(p, id);
            }
            x += s.h_advance(id);
            prev = Some(id);
        }
        x
    };
    let avail = inner.2 as f32 - 8.0;
    let mut size = size;
    let mut width = width_at(size);
    if width > avail && width > 0.0 {
        size *= avail / width;
        width = width_at(size);
    }
    let s = font.as_scaled(PxScale::from(size));
    let mut x = inner.0 as f32 + (inner.2 as f32 - width) / 2.0;
    let mut prev = None;
    let (cx0, cy0, cx1, cy1) = (inner.0, inner.1, inner.0 + inner.2, inner.1 + inner.3);
    for c in text.chars() {
        let id = s.glyph_id(c);
        if let Some(p) = prev {
            x += s.kern(p, id);
        }
        let glyph = id.with_scale_and_position(PxScale::from(size), point(x, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let (px_x, px_y) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                if px_x < cx0 as i64
                    || px_y < cy0 as i64
                    || px_x >= cx1 as i64
                    || px_y >= cy1 as i64
                {
                    return;
                }
                let p = &mut px[(px_y as u32 * w + px_x as u32) as usize];
                let cov = cov.clamp(0.0, 1.0);
                for k in 0..3 {
                    p[k] = TEXT_RGB[k] * cov + p[k] * (1.0 - cov);
                }
                p[3] = cov + p[3] * (1.0 - cov);
            });
        }
        x += s.h_advance(id);
        prev = Some(id);
    }
}

/// Converts RGBA pixels (`pixel(x, y)`: RGB 0–255, alpha 0–1, straight) over rows `y0..y1`
/// to the frame's YUV, laid out as a band.
fn to_band(
    format: &FrameFormat,
    pixel: impl Fn(u32, u32) -> [f32; 4],
    y0: u32,
    y1: u32,
) -> LabelBand {
    let ranges = band_ranges(format, y0, y1);
    let len: usize = ranges.iter().map(|r| r.len()).sum();
    let mut value = vec![0u8; len];
    let mut alpha = vec![0u8; len];
    let t = format.color.rgb_to_yuv();
    let w = format.width;
    // where each plane's rows start in the band
    let starts = [0, ranges[0].len(), ranges[0].len() + ranges[1].len()];
    let yuv = |p: [f32; 4]| t.apply([p[0] as f64, p[1] as f64, p[2] as f64]);
    let planes = format.host_planes();
    for y in y0..y1 {
        for x in 0..w {
            let p = pixel(x, y);
            let i = ((y - y0) * planes[0].stride + x) as usize;
            value[i] = to_u8(yuv(p)[0]);
            alpha[i] = to_u8(p[3] as f64 * 255.0);
        }
    }
    let (cw, _) = format.chroma_size();
    for cy in y0 / 2..y1.div_ceil(2) {
        for cx in 0..cw {
            // alpha-weighted mean of the 2x2 luma pixels the chroma sample covers
            let (mut a_sum, mut u_sum, mut v_sum, mut n) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (x, y) = (2 * cx + dx, 2 * cy + dy);
                if x >= w || y >= y1 {
                    continue;
                }
                let p = pixel(x, y);
                let c = yuv(p);
                a_sum += p[3] as f64;
                u_sum += p[3] as f64 * c[1];
                v_sum += p[3] as f64 * c[2];
                n += 1.0;
            }
            let a = a_sum / n.max(1.0);
            for (plane, sum) in [(1, u_sum), (2, v_sum)] {
                let g = planes[plane];
                let i = starts[plane] + ((cy - y0 / 2) * g.stride + cx) as usize;
                alpha[i] = to_u8(a * 255.0);
                value[i] = if a_sum > 0.0 { to_u8(sum / a_sum) } else { 128 };
            }
        }
    }
    LabelBand {
        y0,
        y1,
        value,
        alpha,
    }
}

fn to_u8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}
