//! Filter definitions shared by the GPU passes and their CPU references: Gaussian kernels with
//! OpenCV semantics, the Lanczos window, and the contract's blur sizes.

/// A Gaussian blur as OpenCV's `GaussianBlur(ksize x ksize, sigma)` defines it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlurSpec {
    pub ksize: u32,
    pub sigma: f64,
}

/// Contract §5.3: the background blur, 51x51, sigma 8.0.
pub const BACKGROUND_BLUR: BlurSpec = BlurSpec {
    ksize: 51,
    sigma: 8.0,
};
/// The background blur of plane `plane` of a 4:2:0 frame: [`BACKGROUND_BLUR`] for luma, its
/// half-resolution version for the chroma planes.
pub fn background_blur(plane: usize) -> BlurSpec {
    if plane == 0 {
        BACKGROUND_BLUR
    } else {
        BACKGROUND_BLUR.half_resolution()
    }
}

/// Contract §5.2: the mask feather, 21x21, sigma 3.5.
pub const FEATHER_BLUR: BlurSpec = BlurSpec {
    ksize: 21,
    sigma: 3.5,
};
/// Contract §5.3: the spotlight's brightness factor outside the mask.
pub const SPOTLIGHT_FACTOR: f32 = 0.3;
/// Contract §5.5: Lanczos window size.
pub const LANCZOS_A: f64 = 4.0;
/// Downscaling widens the Lanczos kernel by the scale factor (anti-aliasing) up to this factor;
/// beyond it the kernel stays this wide (64 taps) and some aliasing remains.
pub const MAX_FILTER_SCALE: f64 = 7.5;

impl BlurSpec {
    pub fn radius(&self) -> u32 {
        self.ksize / 2
    }

    /// The same blur on a plane with half the resolution (4:2:0 chroma): half the sigma and the
    /// nearest odd kernel size to half the width.
    pub fn half_resolution(&self) -> BlurSpec {
        BlurSpec {
            ksize: (self.ksize / 2) | 1,
            sigma: self.sigma / 2.0,
        }
    }

    /// Normalised 1-D weights, `ksize` long, like `cv::getGaussianKernel(ksize, sigma, CV_32F)`
    /// for `sigma > 0`.
    pub fn weights(&self) -> Vec<f32> {
        gaussian_weights(self.radius(), self.sigma)
    }
}

/// Normalised Gaussian weights for offsets `-radius..=radius`.
pub fn gaussian_weights(radius: u32, sigma: f64) -> Vec<f32> {
    let r = radius as i64;
    let raw: Vec<f64> = (-r..=r)
        .map(|i| (-((i * i) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.iter().map(|v| (v / sum) as f32).collect()
}

/// The reduced-resolution approximation of a Gaussian blur used by the fast background path:
/// `levels` rounds of a `[1 3 3 1]/8` prefilter with 2x decimation (each adds 0.75 of its own
/// pixels², so `0.75 * (4^levels - 1) / 3` full-size px²), a Gaussian at `1 / 2^levels` size,
/// and bilinear upsampling by `s = 2^levels` (variance `s² / 6` px²). Returns the reduced
/// Gaussian's radius and sigma, chosen so the variances add up to the exact blur's.
pub fn reduced_blur(spec: BlurSpec, levels: u32) -> (u32, f64) {
    let s = f64::from(1u32 << levels);
    let prefilter: f64 = (0..levels).map(|l| 0.75 * 4f64.powi(l as i32)).sum();
    let var = spec.sigma * spec.sigma - prefilter - s * s / 6.0;
    let sigma = var.max(0.25 * s * s).sqrt() / s;
    (spec.radius().div_ceil(1 << levels), sigma)
}

/// Lanczos window `sinc(x) sinc(x / a)` for `|x| < a`, else 0.
pub fn lanczos(x: f64, a: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    if x.abs() >= a {
        return 0.0;
    }
    let px = std::f64::consts::PI * x;
    a * px.sin() * (px / a).sin() / (px * px)
}

/// Resampling geometry along one axis: maps output sample `o` to source coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResampleAxis {
    /// Source coordinate of the crop's left (top) edge, in plane pixels.
    pub src_start: f64,
    /// Source pixels per output pixel.
    pub scale: f64,
    /// Number of output samples.
    pub out_len: u32,
    /// Source plane length (taps are clamped to `0..src_len`).
    pub src_len: u32,
}

impl ResampleAxis {
    /// Kernel stretch: >1 when downscaling.
    pub fn filter_scale(&self) -> f64 {
        self.scale.clamp(1.0, MAX_FILTER_SCALE)
    }

    /// Taps per output sample.
    pub fn taps(&self) -> u32 {
        2 * (LANCZOS_A * self.filter_scale()).ceil() as u32 + 1
    }
}

/// The two axes of a plane's resample: plane `shift` is 0 for luma, 1 for chroma.
pub fn plane_axes(
    crop: &crate::job::timeline::CropRect,
    src: &crate::frame::FrameFormat,
    out_w: u32,
    out_h: u32,
    shift: u32,
) -> (ResampleAxis, ResampleAxis) {
    let d = (1 << shift) as f64;
    let (pw, ph) = if shift == 0 {
        (src.width, src.height)
    } else {
        src.chroma_size()
    };
    let ax = ResampleAxis {
        src_start: crop.x as f64 / d,
        scale: crop.width as f64 / out_w as f64,
        out_len: out_w >> shift,
        src_len: pw,
    };
    let ay = ResampleAxis {
        src_start: crop.y as f64 / d,
        scale: crop.height as f64 / out_h as f64,
        out_len: out_h >> shift,
        src_len: ph,
    };
    (ax, ay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_matches_opencv_values() {
        // cv2.getGaussianKernel(5, 1.0).ravel()
        let w = gaussian_weights(2, 1.0);
        let expect = [0.05448868, 0.24420135, 0.40261995, 0.24420135, 0.05448868];
        for (a, b) in w.iter().zip(expect) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert_eq!(BACKGROUND_BLUR.weights().len(), 51);
        assert_eq!(BACKGROUND_BLUR.half_resolution().ksize, 25);
    }

    #[test]
    fn reduced_blur_preserves_variance() {
        let (r, s) = reduced_blur(BACKGROUND_BLUR, 1);
        assert_eq!(r, 13);
        let total = 0.75 + 4.0 * s * s + 4.0 / 6.0;
        assert!((total - 64.0).abs() < 1e-9);
        let (r, s) = reduced_blur(BACKGROUND_BLUR, 2);
        assert_eq!(r, 7);
        let total = 0.75 + 3.0 + 16.0 * s * s + 16.0 / 6.0;
        assert!((total - 64.0).abs() < 1e-9);
        // the kernel still spans more than 3.5 sigma
        assert!(f64::from(r) > 3.5 * s);
    }

    #[test]
    fn lanczos_is_interpolating() {
        assert_eq!(lanczos(0.0, 4.0), 1.0);
        for i in 1..4 {
            assert!(lanczos(i as f64, 4.0).abs() < 1e-12);
        }
        assert_eq!(lanczos(4.5, 4.0), 0.0);
    }
}
