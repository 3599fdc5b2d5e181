//! Frame geometry: YUV 4:2:0 planes as ffmpeg writes them (`-pix_fmt yuv420p -f rawvideo`) and
//! the word-aligned layout the GPU passes use.
//!
//! Host frames are tightly packed (Y, then U, then V; chroma planes are `ceil(w/2) x ceil(h/2)`).
//! On the GPU every row is padded to a multiple of 4 bytes so that one shader invocation owns one
//! `u32` word (4 samples) of exactly one row of one plane.

use crate::color::ColorSpec;

/// Size and colour interpretation of a YUV 4:2:0 frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameFormat {
    pub width: u32,
    pub height: u32,
    pub color: ColorSpec,
}

/// One plane's geometry in a host or GPU buffer. Units are bytes for packed `u8` planes and
/// elements for `f32` planes (see the constructors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlaneGeom {
    pub offset: u32,
    pub stride: u32,
    pub width: u32,
    pub height: u32,
}

impl FrameFormat {
    pub fn new(width: u32, height: u32, color: ColorSpec) -> Self {
        Self {
            width,
            height,
            color,
        }
    }

    /// Chroma plane size: `ceil(w/2) x ceil(h/2)`.
    pub fn chroma_size(&self) -> (u32, u32) {
        (self.width.div_ceil(2), self.height.div_ceil(2))
    }

    /// `(width, height)` of plane 0 (Y), 1 (U) or 2 (V).
    pub fn plane_size(&self, plane: usize) -> (u32, u32) {
        if plane == 0 {
            (self.width, self.height)
        } else {
            self.chroma_size()
        }
    }

    /// Bytes of one tightly packed frame: about 1.5 bytes per pixel.
    pub fn frame_bytes(&self) -> usize {
        let (cw, ch) = self.chroma_size();
        (self.width * self.height + 2 * cw * ch) as usize
    }

    /// Tightly packed host planes (byte offsets and strides).
    pub fn host_planes(&self) -> [PlaneGeom; 3] {
        let mut planes = [PlaneGeom::default(); 3];
        let mut offset = 0;
        for (i, p) in planes.iter_mut().enumerate() {
            let (w, h) = self.plane_size(i);
            *p = PlaneGeom {
                offset,
                stride: w,
                width: w,
                height: h,
            };
            offset += w * h;
        }
        planes
    }

    /// GPU planes of packed samples: offsets and strides in `u32` words, rows padded to 4 bytes.
    pub fn gpu_packed_planes(&self) -> [PlaneGeom; 3] {
        let mut planes = [PlaneGeom::default(); 3];
        let mut offset = 0;
        for (i, p) in planes.iter_mut().enumerate() {
            let (w, h) = self.plane_size(i);
            let stride = w.div_ceil(4);
            *p = PlaneGeom {
                offset,
                stride,
                width: w,
                height: h,
            };
            offset += stride * h;
        }
        planes
    }

    /// Words of a GPU packed frame.
    pub fn gpu_packed_words(&self) -> u32 {
        let p = self.gpu_packed_planes();
        p[2].offset + p[2].stride * p[2].height
    }

    /// GPU planes of `f32` samples at `1 / 2^shift` resolution (shift 0: full size).
    pub fn gpu_float_planes(&self, shift: u32) -> [PlaneGeom; 3] {
        let mut planes = [PlaneGeom::default(); 3];
        let mut offset = 0;
        for (i, p) in planes.iter_mut().enumerate() {
            let (mut w, mut h) = self.plane_size(i);
            for _ in 0..shift {
                w = w.div_ceil(2);
                h = h.div_ceil(2);
            }
            *p = PlaneGeom {
                offset,
                stride: w,
                width: w,
                height: h,
            };
            offset += w * h;
        }
        planes
    }

    /// Elements of `gpu_float_planes(shift)`.
    pub fn gpu_float_len(&self, shift: u32) -> u32 {
        let p = self.gpu_float_planes(shift);
        p[2].offset + p[2].stride * p[2].height
    }

    /// Copies a tight host frame into the padded GPU layout (`dst` is `gpu_packed_words * 4`).
    pub fn host_to_gpu_rows(&self, src: &[u8], mut write_row: impl FnMut(usize, &[u8])) {
        let host = self.host_planes();
        let gpu = self.gpu_packed_planes();
        for (h, g) in host.iter().zip(gpu.iter()) {
            for y in 0..h.height {
                let s = (h.offset + y * h.stride) as usize;
                let d = ((g.offset + y * g.stride) * 4) as usize;
                write_row(d, &src[s..s + h.width as usize]);
            }
        }
    }

    /// Copies the padded GPU layout back into a tight host frame.
    pub fn gpu_to_host(&self, src: &[u8], dst: &mut [u8]) {
        let host = self.host_planes();
        let gpu = self.gpu_packed_planes();
        for (h, g) in host.iter().zip(gpu.iter()) {
            for y in 0..h.height {
                let d = (h.offset + y * h.stride) as usize;
                let s = ((g.offset + y * g.stride) * 4) as usize;
                dst[d..d + h.width as usize].copy_from_slice(&src[s..s + h.width as usize]);
            }
        }
    }
}

/// An owned, tightly packed YUV 4:2:0 frame.
#[derive(Debug, Clone, PartialEq)]
pub struct YuvFrame {
    pub format: FrameFormat,
    pub data: Vec<u8>,
}

impl YuvFrame {
    pub fn new(format: FrameFormat, data: Vec<u8>) -> Self {
        assert_eq!(data.len(), format.frame_bytes(), "frame buffer size");
        Self { format, data }
    }

    pub fn blank(format: FrameFormat) -> Self {
        Self::new(format, vec![0; format.frame_bytes()])
    }

    /// One plane's samples (tight rows).
    pub fn plane(&self, i: usize) -> &[u8] {
        let p = self.format.host_planes()[i];
        &self.data[p.offset as usize..(p.offset + p.stride * p.height) as usize]
    }

    pub fn plane_mut(&mut self, i: usize) -> &mut [u8] {
        let p = self.format.host_planes()[i];
        &mut self.data[p.offset as usize..(p.offset + p.stride * p.height) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_sizes_round_chroma_up_and_pad_rows() {
        let f = FrameFormat::new(333, 187, ColorSpec::default());
        assert_eq!(f.chroma_size(), (167, 94));
        assert_eq!(f.frame_bytes(), 333 * 187 + 2 * 167 * 94);
        let g = f.gpu_packed_planes();
        assert_eq!(g[0].stride, 84);
        assert_eq!(g[1].offset, 84 * 187);
        let mut padded = vec![0u8; f.gpu_packed_words() as usize * 4];
        let src: Vec<u8> = (0..f.frame_bytes()).map(|i| (i * 7 % 251) as u8).collect();
        f.host_to_gpu_rows(&src, |o, row| padded[o..o + row.len()].copy_from_slice(row));
        let mut back = vec![0u8; f.frame_bytes()];
        f.gpu_to_host(&padded, &mut back);
        assert_eq!(back, src);
    }
}
