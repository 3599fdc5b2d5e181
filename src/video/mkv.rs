//! A minimal Matroska writer for the encoder's input pipe: raw I420 frames, each with its own
//! timestamp and duration, so a variable frame rate survives the trip into ffmpeg (a bare
//! `rawvideo` pipe would impose a constant rate).
//!
//! Layout: EBML header, a Segment of unknown size, Info (timestamps in nanoseconds), one
//! video track (`V_UNCOMPRESSED`, colour space `I420`), then one Cluster per frame holding a
//! BlockGroup (Block + BlockDuration). Frame data goes straight from the caller's buffer to
//! the writer: nothing is copied or allocated per frame.

use std::io::{self, Write};

/// Nanoseconds per Matroska timestamp tick (`TimestampScale`).
pub const TIMESTAMP_SCALE_NS: u64 = 1;

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER: u32 = 0x1F43_B675;

/// Writes a Matroska stream of raw YUV 4:2:0 frames.
pub struct MkvWriter<W: Write> {
    out: W,
    frame_bytes: usize,
}

impl<W: Write> MkvWriter<W> {
    /// Writes the headers for `width x height` I420 frames. `frame_ns`, the nominal frame
    /// duration, is written as the track's `DefaultDuration`: ffmpeg takes its frame rate from
    /// there (without it, it guesses from the first frames, and when only one or two fit in its
    /// probe — 1080p raw frames are 3 MB — it guesses none and the last frame's duration is
    /// lost in the MP4). Every block still carries its own timestamp and duration.
    pub fn new(mut out: W, width: u32, height: u32, frame_ns: Option<u64>) -> io::Result<Self> {
        let mut head = Vec::new();
        element(
            &mut head,
            EBML,
            &[
                uint(0x4286, 1),            // EBMLVersion
                uint(0x42F7, 1),            // EBMLReadVersion
                uint(0x42F2, 4),            // EBMLMaxIDLength
                uint(0x42F3, 8),            // EBMLMaxSizeLength
                bytes(0x4282, b"matroska"), // DocType
                uint(0x4287, 4),            // DocTypeVersion
                uint(0x4285, 2),            // DocTypeReadVersion
            ]
            .concat(),
        );
        write_id(&mut head, SEGMENT);
        head.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]); // unknown size
        element(
            &mut head,
            INFO,
            &[
                uint(0x2AD7B1, TIMESTAMP_SCALE_NS),
                bytes(0x4D80, b"reelgpu"), // MuxingApp
                bytes(0x5741, b"reelgpu"), // WritingApp
            ]
            .concat(),
        );
        let video = [
            uint(0xB0, width as u64),  // PixelWidth
            uint(0xBA, height as u64), // PixelHeight
            bytes(0x2EB524, b"I420"),  // ColourSpace
        ]
        .concat();
        let mut entry = [
            uint(0xD7, 1),                  // TrackNumber
            uint(0x73C5, 1),                // TrackUID
            uint(0x83, 1),                  // TrackType: video
            uint(0x9C, 0),                  // FlagLacing
            bytes(0x86, b"V_UNCOMPRESSED"), // CodecID
        ]
        .concat();
        if let Some(ns) = frame_ns.filter(|&n| n > 0) {
            entry.extend(uint(0x23E383, ns)); // DefaultDuration
        }
        entry.extend(bytes(0xE0, &video)); // Video
        element(&mut head, TRACKS, &bytes(0xAE, &entry));
        out.write_all(&head)?;
        let (cw, ch) = (width.div_ceil(2) as usize, height.div_ceil(2) as usize);
        Ok(Self {
            out,
            frame_bytes: width as usize * height as usize + 2 * cw * ch,
        })
    }

    /// Appends one frame shown at `timestamp_ns` for `duration_ns`.
    pub fn write_frame(
        &mut self,
        timestamp_ns: u64,
        duration_ns: u64,
        frame: &[u8],
    ) -> io::Result<()> {
        assert_eq!(frame.len(), self.frame_bytes, "frame size");
        self.write_frame_with(timestamp_ns, duration_ns, |out| out.write_all(frame))
    }

    /// Like [`Self::write_frame`], with the frame's bytes written by `body`, which must write
    /// exactly one frame to the writer it is given (e.g. flush it and splice the frame in
    /// behind it).
    pub fn write_frame_with(
        &mut self,
        timestamp_ns: u64,
        duration_ns: u64,
        body: impl FnOnce(&mut W) -> io::Result<()>,
    ) -> io::Result<()> {
        // Block: track number 1, relative timestamp 0, no flags, then the frame.
        let block_len = 4 + self.frame_bytes as u64;
        let mut head = [0u8; 64];
        let mut n = 0;
        let mut put = |b: &[u8]| {
            head[n..n + b.len()].copy_from_slice(b);
            n += b.len();
        };
        let ts = uint_bytes(timestamp_ns);
        let dur = uint_bytes(duration_ns);
        let ts_el = 1 + 1 + ts.1; // id 0xE7, size, payload
        let dur_el = 1 + 1 + dur.1; // id 0x9B, size, payload
        let block_el = 1 + 8 + block_len; // id 0xA1, 8-byte size, payload
        let group_el = 1 + 8 + block_el + dur_el as u64; // id 0xA0
        let cluster_len = ts_el as u64 + group_el;
        put(&CLUSTER.to_be_bytes());
        put(&size8(cluster_len));
        put(&[0xE7, 0x80 | ts.1 as u8]);
        put(&ts.0[8 - ts.1..]);
        put(&[0xA0]);
        put(&size8(block_el + dur_el as u64));
        put(&[0xA1]);
        put(&size8(block_len));
        put(&[0x81, 0, 0, 0]);
        self.out.write_all(&head[..n])?;
        body(&mut self.out)?;
        let mut tail = [0u8; 10];
        tail[0] = 0x9B;
        tail[1] = 0x80 | dur.1 as u8;
        tail[2..2 + dur.1].copy_from_slice(&dur.0[8 - dur.1..]);
        self.out.write_all(&tail[..2 + dur.1])
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Big-endian bytes of `v` and how many of the trailing ones it needs (at least 1).
fn uint_bytes(v: u64) -> ([u8; 8], usize) {
    let len = (8 - v.leading_zeros() as usize / 8).max(1);
    (v.to_be_bytes(), len)
}

/// An 8-byte EBML size field.
fn size8(v: u64) -> [u8; 8] {
    let mut b = v.to_be_bytes();
    b[0] = 0x01;
    b
}

fn write_id(out: &mut Vec<u8>, id: u32) {
    let b = id.to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count();
    out.extend_from_slice(&b[skip..]);
}

fn element(out: &mut Vec<u8>, id: u32, payload: &[u8]) {
    write_id(out, id);
    out.extend_from_slice(&size8(payload.len() as u64));
    out.extend_from_slice(payload);
}

fn bytes(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    element(&mut out, id, payload);
    out
}

fn uint(id: u32, v: u64) -> Vec<u8> {
    let (b, len) = uint_bytes(v);
    bytes(id, &b[8 - len..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uint_bytes_are_minimal() {
        assert_eq!(uint_bytes(0).1, 1);
        assert_eq!(uint_bytes(255).1, 1);
        assert_eq!(uint_bytes(256).1, 2);
        assert_eq!(uint_bytes(u64::MAX).1, 8);
    }

    #[test]
    fn cluster_sizes_add_up() {
        let mut w = MkvWriter::new(Vec::new(), 4, 2, Some(33_366_667)).unwrap();
        let start = w.out.len();
        w.write_frame(1_000_000_000, 33_366_667, &[7u8; 12])
            .unwrap();
        let out = w.into_inner();
        let cluster = &out[start..];
        assert_eq!(&cluster[..4], &CLUSTER.to_be_bytes());
        let size = u64::from_be_bytes(cluster[4..12].try_into().unwrap()) & 0x00FF_FFFF_FFFF_FFFF;
        assert_eq!(size as usize, cluster.len() - 12);
        // the frame sits intact inside the block
        assert!(cluster.windows(12).any(|w| w == [7u8; 12]));
    }
}
