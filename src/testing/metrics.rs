//! Image comparison metrics over 8-bit samples.

/// Error statistics between two equally long sample buffers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Diff {
    pub max_abs: f64,
    pub mean_abs: f64,
    /// Peak signal-to-noise ratio in dB for a 255 peak (infinite when identical).
    pub psnr: f64,
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "max |err| {:.3}, mean |err| {:.4}, PSNR {:.2} dB",
            self.max_abs, self.mean_abs, self.psnr
        )
    }
}

/// Compares two sample sequences as `f64`.
pub fn diff_f64(a: impl IntoIterator<Item = f64>, b: impl IntoIterator<Item = f64>) -> Diff {
    let (mut max_abs, mut sum_abs, mut sum_sq, mut n) = (0.0f64, 0.0, 0.0, 0usize);
    for (x, y) in a.into_iter().zip(b) {
        let d = (x - y).abs();
        max_abs = max_abs.max(d);
        sum_abs += d;
        sum_sq += d * d;
        n += 1;
    }
    assert!(n > 0, "comparing empty images");
    let mse = sum_sq / n as f64;
    let psnr = if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    };
    Diff {
        max_abs,
        mean_abs: sum_abs / n as f64,
        psnr,
    }
}

/// Compares two byte buffers.
pub fn diff_u8(a: &[u8], b: &[u8]) -> Diff {
    assert_eq!(a.len(), b.len(), "compared buffers differ in length");
    diff_f64(a.iter().map(|&v| v as f64), b.iter().map(|&v| v as f64))
}

/// Compares two float buffers.
pub fn diff_f32(a: &[f32], b: &[f32]) -> Diff {
    assert_eq!(a.len(), b.len(), "compared buffers differ in length");
    diff_f64(a.iter().map(|&v| v as f64), b.iter().map(|&v| v as f64))
}
