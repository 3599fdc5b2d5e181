//! Golden images: PNGs under `golden/` compared with a tolerance that survives different GPUs.
//! On failure the actual image and an amplified difference image are written under
//! `target/golden-failures/` and their paths are reported. `REELGPU_UPDATE_GOLDEN=1` rewrites
//! the goldens instead.

use std::path::{Path, PathBuf};

use super::metrics::{Diff, diff_u8};

/// How close an image must be to its golden.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    pub min_psnr: f64,
    pub max_abs: f64,
}

/// Default: what different GPUs' float rounding can produce, far below any visible change.
pub const GOLDEN_TOLERANCE: Tolerance = Tolerance {
    min_psnr: 45.0,
    max_abs: 12.0,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn golden_path(name: &str) -> PathBuf {
    root().join("golden").join(format!("{name}.png"))
}

/// Writes an RGB image as PNG.
pub fn write_png(path: &Path, rgb: &[u8], w: u32, h: u32) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    image::save_buffer(path, rgb, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a PNG as RGB.
pub fn read_png(path: &Path) -> Result<(Vec<u8>, u32, u32), String> {
    let img = image::open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .to_rgb8();
    let (w, h) = img.dimensions();
    Ok((img.into_raw(), w, h))
}

/// Compares `rgb` with golden `name`, or rewrites it when `REELGPU_UPDATE_GOLDEN=1`.
pub fn check(name: &str, rgb: &[u8], w: u32, h: u32, tol: Tolerance) -> Result<Diff, String> {
    let path = golden_path(name);
    if std::env::var("REELGPU_UPDATE_GOLDEN").as_deref() == Ok("1") {
        write_png(&path, rgb, w, h)?;
        return Ok(diff_u8(rgb, rgb));
    }
    let (golden, gw, gh) = read_png(&path)
        .map_err(|e| format!("{e} (run with REELGPU_UPDATE_GOLDEN=1 to create the golden)"))?;
    if (gw, gh) != (w, h) {
        return Err(format!("{name}: golden is {gw}x{gh}, actual is {w}x{h}"));
    }
    let d = diff_u8(rgb, &golden);
    if d.psnr >= tol.min_psnr && d.max_abs <= tol.max_abs {
        return Ok(d);
    }
    let dir = root().join("target").join("golden-failures");
    let actual = dir.join(format!("{name}-actual.png"));
    let diff_path = dir.join(format!("{name}-diff.png"));
    write_png(&actual, rgb, w, h)?;
    let amplified: Vec<u8> = rgb
        .iter()
        .zip(&golden)
        .map(|(&a, &b)| ((a as i32 - b as i32).unsigned_abs() * 8).min(255) as u8)
        .collect();
    write_png(&diff_path, &amplified, w, h)?;
    Err(format!(
        "{name}: {d} (needs PSNR >= {} dB and max <= {}); actual: {}, difference x8: {}, golden: {}",
        tol.min_psnr,
        tol.max_abs,
        actual.display(),
        diff_path.display(),
        path.display()
    ))
}
