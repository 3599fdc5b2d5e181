//! A small NUT demuxer for the decoder's output: ffmpeg writes the decoded frames as raw
//! video in NUT (`-f nut`), a container whose frame headers carry each frame's timestamp in
//! the stream's own time base, exactly. This reader takes the headers and leaves each frame's
//! bytes in the source for the caller to read or splice, so the reader never buffers ahead:
//! it reads headers a byte at a time and never past the frame's first byte.
//!
//! What it understands is what ffmpeg's NUT muxer writes (versions 3 and 4): the main header
//! (time bases, frame-code table), stream headers, syncpoints (which reset the timestamp
//! predictor), frame headers (coded flags, stream id, full or least-significant-bits
//! timestamps, size) and packets it skips whole (info, index). Frames with elision headers or
//! side data are refused: ffmpeg never writes them for raw video.

use std::io::{self, Read};

use super::probe::Rational;

const FILE_ID: &[u8] = b"nut/multimedia container\0";
const MAIN_STARTCODE: u64 = 0x4E4D_7A56_1F5F_04AD;
const STREAM_STARTCODE: u64 = 0x4E53_1140_5BF2_F9DB;
const SYNCPOINT_STARTCODE: u64 = 0x4E4B_E4AD_EECA_4569;
const INDEX_STARTCODE: u64 = 0x4E58_DD67_2F23_E64E;
const INFO_STARTCODE: u64 = 0x4E49_AB68_B596_BA78;

const FLAG_CODED_PTS: u64 = 8;
const FLAG_STREAM_ID: u64 = 16;
const FLAG_SIZE_MSB: u64 = 32;
const FLAG_CHECKSUM: u64 = 64;
const FLAG_RESERVED: u64 = 128;
const FLAG_SM_DATA: u64 = 256;
const FLAG_HEADER_IDX: u64 = 1024;
const FLAG_MATCH_TIME: u64 = 2048;
const FLAG_CODED: u64 = 4096;
const FLAG_INVALID: u64 = 8192;

/// Largest header packet read into memory (ffmpeg's are a few hundred bytes).
const MAX_HEADER_PACKET: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum NutError {
    #[error("decoder stream: {0}")]
    Io(io::Error),
    #[error("decoder stream is not valid NUT: {0}")]
    Invalid(String),
}

impl From<io::Error> for NutError {
    fn from(e: io::Error) -> Self {
        NutError::Io(e)
    }
}

fn invalid<T>(what: impl Into<String>) -> Result<T, NutError> {
    Err(NutError::Invalid(what.into()))
}

#[derive(Debug, Clone, Copy, Default)]
struct FrameCode {
    flags: u64,
    stream: u64,
    size_mul: u64,
    size_lsb: u64,
    pts_delta: i64,
    reserved: u64,
    header_idx: u64,
}

#[derive(Debug, Clone, Copy)]
struct Stream {
    time_base: Rational,
    msb_pts_shift: u32,
    last_pts: i64,
    width: u64,
    height: u64,
}

/// One frame's header: its stream, timestamp (in that stream's time base) and size. The
/// frame's `size` bytes follow in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub stream: usize,
    pub pts: i64,
    pub size: usize,
}

/// Reads NUT headers from `R`, leaving frame bytes to the caller.
pub struct NutReader<R> {
    src: R,
    started: bool,
    time_bases: Vec<Rational>,
    codes: Vec<FrameCode>,
    streams: Vec<Option<Stream>>,
    /// Reused buffer for header packets.
    packet: Vec<u8>,
}

impl<R: Read> NutReader<R> {
    pub fn new(src: R) -> Self {
        Self {
            src,
            started: false,
            time_bases: Vec::new(),
            codes: Vec::new(),
            streams: Vec::new(),
            packet: Vec::new(),
        }
    }

    /// The source, to read (or splice) a frame's bytes after [`Self::next_frame`].
    pub fn source(&mut self) -> &mut R {
        &mut self.src
    }

    pub fn source_ref(&self) -> &R {
        &self.src
    }

    /// Stream `i`'s time base, once its header has been read (after the first frame).
    pub fn time_base(&self, stream: usize) -> Option<Rational> {
        self.streams
            .get(stream)
            .copied()
            .flatten()
            .map(|s| s.time_base)
    }

    /// Stream `i`'s picture size from its header.
    pub fn picture_size(&self, stream: usize) -> Option<(u64, u64)> {
        self.streams
            .get(stream)
            .copied()
            .flatten()
            .map(|s| (s.width, s.height))
    }

    /// The next frame's header, or `None` at the end of the stream. The previous frame's
    /// bytes must have been consumed from [`Self::source`] first.
    pub fn next_frame(&mut self) -> Result<Option<FrameHeader>, NutError> {
        if !self.started {
            self.read_file_id()?;
            self.started = true;
        }
        loop {
            let Some(first) = self.byte_or_eof()? else {
                return Ok(None);
            };
            if first == b'N' {
                let mut code = u64::from(first);
                for _ in 0..7 {
                    code = (code << 8) | u64::from(self.byte()?);
                }
                if ![
                    MAIN_STARTCODE,
                    STREAM_STARTCODE,
                    SYNCPOINT_STARTCODE,
                    INFO_STARTCODE,
                    INDEX_STARTCODE,
                ]
                .contains(&code)
                {
                    return invalid(format!("unknown startcode {code:#018x}"));
                }
                let body = self.packet_body()?;
                let parsed = match code {
                    MAIN_STARTCODE => self.main_header(&body),
                    STREAM_STARTCODE => self.stream_header(&body),
                    SYNCPOINT_STARTCODE => self.syncpoint(&body),
                    _ => Ok(()), // info and index packets: nothing reelgpu needs
                };
                // the buffer goes back for the next packet: a syncpoint comes with most
                // frames, and reading it allocates nothing
                self.packet = body;
                parsed?;
                continue;
            }
            return self.frame(first).map(Some);
        }
    }

    fn read_file_id(&mut self) -> Result<(), NutError> {
        let mut id = [0u8; FILE_ID.len()];
        match self.src.read_exact(&mut id) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return invalid("the stream ended before its file id");
            }
            Err(e) => return Err(e.into()),
        }
        if id != FILE_ID {
            return invalid("missing file id");
        }
        Ok(())
    }

    fn frame(&mut self, code: u8) -> Result<FrameHeader, NutError> {
        let fc = self
            .codes
            .get(usize::from(code))
            .copied()
            .ok_or_else(|| NutError::Invalid("frame before the main header".into()))?;
        let mut flags = fc.flags;
        if flags & FLAG_INVALID != 0 {
            return invalid(format!("invalid frame code {code}"));
        }
        if flags & FLAG_CODED != 0 {
            flags ^= self.v()?;
        }
        let stream_id = if flags & FLAG_STREAM_ID != 0 {
            self.v()?
        } else {
            fc.stream
        } as usize;
        let mut stream = self
            .streams
            .get(stream_id)
            .copied()
            .flatten()
            .ok_or_else(|| NutError::Invalid(format!("frame of unknown stream {stream_id}")))?;
        let pts = if flags & FLAG_CODED_PTS != 0 {
            let coded = self.v()?;
            let shift = stream.msb_pts_shift;
            if coded < (1u64 << shift) {
                lsb_to_full(stream.last_pts, coded, shift)
            } else {
                i64::try_from(coded - (1u64 << shift))
                    .map_err(|_| NutError::Invalid(format!("frame pts {coded} out of range")))?
            }
        } else {
            stream
                .last_pts
                .checked_add(fc.pts_delta)
                .ok_or_else(|| NutError::Invalid("frame pts out of range".into()))?
        };
        let mut size = fc.size_lsb;
        if flags & FLAG_SIZE_MSB != 0 {
            let msb = self.v()?;
            size = msb
                .checked_mul(fc.size_mul)
                .and_then(|m| m.checked_add(size))
                .ok_or_else(|| {
                    NutError::Invalid(format!("frame size {msb} x {} too large", fc.size_mul))
                })?;
        }
        if flags & FLAG_MATCH_TIME != 0 {
            self.v()?;
        }
        let mut header_idx = fc.header_idx;
        if flags & FLAG_HEADER_IDX != 0 {
            header_idx = self.v()?;
        }
        let mut reserved = fc.reserved;
        if flags & FLAG_RESERVED != 0 {
            reserved = self.v()?;
        }
        for _ in 0..reserved {
            self.v()?;
        }
        if flags & FLAG_CHECKSUM != 0 {
            let mut crc = [0u8; 4];
            self.exact(&mut crc)?;
        }
        if header_idx != 0 && size <= 4096 {
            return invalid("frames with elided headers are not supported");
        }
        if flags & FLAG_SM_DATA != 0 {
            return invalid("frames with side data are not supported");
        }
        stream.last_pts = pts;
        self.streams[stream_id] = Some(stream);
        Ok(FrameHeader {
            stream: stream_id,
            pts,
            size: usize::try_from(size)
                .map_err(|_| NutError::Invalid(format!("frame size {size}")))?,
        })
    }

    fn main_header(&mut self, body: &[u8]) -> Result<(), NutError> {
        let mut p = Cursor::new(body);
        let version = p.v()?;
        if !(2..=4).contains(&version) {
            return invalid(format!("version {version}"));
        }
        if version > 3 {
            p.v()?; // minor version
        }
        let stream_count = p.v()?;
        if stream_count == 0 || stream_count > 256 {
            return invalid(format!("{stream_count} streams"));
        }
        p.v()?; // max_distance
        let tb_count = p.v()?;
        if tb_count == 0 || tb_count > 1024 {
            return invalid(format!("{tb_count} time bases"));
        }
        let mut time_bases = Vec::with_capacity(tb_count as usize);
        for _ in 0..tb_count {
            let (num, den) = (p.v()?, p.v()?);
            let tb = u32::try_from(num)
                .ok()
                .zip(u32::try_from(den).ok())
                .filter(|(n, d)| *n > 0 && *d > 0)
                .map(|(num, den)| Rational { num, den })
                .ok_or_else(|| NutError::Invalid(format!("time base {num}/{den}")))?;
            time_bases.push(tb);
        }
        let mut codes = vec![FrameCode::default(); 256];
        let (mut pts, mut mul, mut stream, mut header_idx) = (0i64, 1u64, 0u64, 0u64);
        let mut i = 0usize;
        while i < 256 {
            let flags = p.v()?;
            let fields = p.v()?;
            if fields > 0 {
                pts = p.s()?;
            }
            if fields > 1 {
                mul = p.v()?;
            }
            if fields > 2 {
                stream = p.v()?;
            }
            let size = if fields > 3 { p.v()? } else { 0 };
            let reserved = if fields > 4 { p.v()? } else { 0 };
            let count = if fields > 5 {
                p.v()?
            } else {
                mul.checked_sub(size)
                    .ok_or_else(|| NutError::Invalid("frame code count".into()))?
            };
            if fields > 6 {
                p.s()?; // match time delta
            }
            if fields > 7 {
                header_idx = p.v()?;
            }
            for _ in 8..fields {
                p.v()?;
            }
            let room = 256 - i - usize::from(i <= usize::from(b'N'));
            if count == 0 || count as usize > room || stream >= stream_count {
                return invalid(format!("frame code table entry {i}"));
            }
            let mut j = 0u64;
            while j < count {
                if i == usize::from(b'N') {
                    codes[i].flags = FLAG_INVALID;
                    i += 1;
                    continue;
                }
                let Some(size_lsb) = size.checked_add(j) else {
                    return invalid(format!("frame code table entry {i}: size {size}"));
                };
                codes[i] = FrameCode {
                    flags,
                    stream,
                    size_mul: mul,
                    size_lsb,
                    pts_delta: pts,
                    reserved,
                    header_idx,
                };
                i += 1;
                j += 1;
            }
        }
        codes[usize::from(b'N')].flags = FLAG_INVALID;
        self.time_bases = time_bases;
        self.codes = codes;
        self.streams = vec![None; stream_count as usize];
        Ok(())
    }

    fn stream_header(&mut self, body: &[u8]) -> Result<(), NutError> {
        let mut p = Cursor::new(body);
        let id = p.v()? as usize;
        if id >= self.streams.len() {
            return invalid(format!("stream header for stream {id}"));
        }
        let class = p.v()?;
        let fourcc_len = p.v()?;
        p.skip(fourcc_len)?;
        let tb_id = p.v()? as usize;
        let time_base = *self
            .time_bases
            .get(tb_id)
            .ok_or_else(|| NutError::Invalid(format!("time base id {tb_id}")))?;
        let msb_pts_shift = p.v()?;
        if msb_pts_shift >= 32 {
            return invalid(format!("msb_pts_shift {msb_pts_shift}"));
        }
        p.v()?; // max_pts_distance
        p.v()?; // decode_delay
        p.v()?; // stream flags
        let extradata = p.v()?;
        p.skip(extradata)?;
        let (width, height) = if class == 0 { (p.v()?, p.v()?) } else { (0, 0) };
        self.streams[id] = Some(Stream {
            time_base,
            msb_pts_shift: msb_pts_shift as u32,
            last_pts: 0,
            width,
            height,
        });
        Ok(())
    }

    fn syncpoint(&mut self, body: &[u8]) -> Result<(), NutError> {
        let mut p = Cursor::new(body);
        let coded = p.v()?;
        let count = self.time_bases.len() as u64;
        if count == 0 {
            return invalid("syncpoint before the main header");
        }
        let tb = self.time_bases[(coded % count) as usize];
        let value = coded / count;
        for s in self.streams.iter_mut().flatten() {
            // the syncpoint's time in each stream's base, rounded down
            let num = i128::from(value)
                .checked_mul(i128::from(tb.num))
                .and_then(|n| n.checked_mul(i128::from(s.time_base.den)));
            let den = i128::from(tb.den) * i128::from(s.time_base.num);
            s.last_pts = match num {
                Some(num) if den != 0 => i64::try_from(num.div_euclid(den)).map_err(|_| {
                    NutError::Invalid(format!("syncpoint time {value} out of range"))
                })?,
                _ => {
                    return invalid(format!(
                        "syncpoint time {value} in a zero or huge time base"
                    ));
                }
            };
        }
        Ok(())
    }

    /// After a startcode: the packet's forward pointer (and header checksum when it is
    /// large), then its body (which ends with the body's checksum), read into the reused
    /// packet buffer, which the caller hands back.
    fn packet_body(&mut self) -> Result<Vec<u8>, NutError> {
        let size = self.v()?;
        if size > 4096 {
            let mut crc = [0u8; 4];
            self.exact(&mut crc)?;
        }
        if size > MAX_HEADER_PACKET {
            return invalid(format!("header packet of {size} bytes"));
        }
        let mut body = std::mem::take(&mut self.packet);
        body.resize(size as usize, 0);
        self.exact(&mut body)?;
        Ok(body)
    }

    fn exact(&mut self, buf: &mut [u8]) -> Result<(), NutError> {
        self.src.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                NutError::Invalid("the stream ended inside a header".into())
            } else {
                e.into()
            }
        })
    }

    fn byte_or_eof(&mut self) -> Result<Option<u8>, NutError> {
        let mut b = [0u8; 1];
        loop {
            return match self.src.read(&mut b) {
                Ok(0) => Ok(None),
                Ok(_) => Ok(Some(b[0])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e.into()),
            };
        }
    }
}

impl<R: Read> Bytes for NutReader<R> {
    fn byte(&mut self) -> Result<u8, NutError> {
        let mut b = [0u8; 1];
        self.exact(&mut b)?;
        Ok(b[0])
    }
}

/// A source of header bytes: the pipe, or a header packet held in memory.
trait Bytes {
    fn byte(&mut self) -> Result<u8, NutError>;

    /// A variable-length unsigned number: 7 bits a byte, high bit set on all but the last.
    fn v(&mut self) -> Result<u64, NutError> {
        let mut value = 0u64;
        for _ in 0..10 {
            let b = self.byte()?;
            value = (value << 7) | u64::from(b & 0x7F);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        invalid("variable-length number too long")
    }
}

/// The full timestamp whose low `shift` bits are `lsb`, nearest to `last`.
fn lsb_to_full(last: i64, lsb: u64, shift: u32) -> i64 {
    // timestamps near the ends of i64 wrap, as the format's arithmetic does
    let mask = (1i64 << shift) - 1;
    let delta = last.wrapping_sub(mask / 2);
    ((lsb as i64).wrapping_sub(delta) & mask).wrapping_add(delta)
}

/// Reads numbers out of a header packet held in memory.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes for Cursor<'_> {
    fn byte(&mut self) -> Result<u8, NutError> {
        let b = *self
            .data
            .get(self.at)
            .ok_or_else(|| NutError::Invalid("header packet too short".into()))?;
        self.at += 1;
        Ok(b)
    }
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, at: 0 }
    }

    /// A signed number: `v + 1`, odd for negative.
    fn s(&mut self) -> Result<i64, NutError> {
        let v = self.v()?.wrapping_add(1);
        let half = (v >> 1) as i64;
        Ok(if v & 1 == 1 { -half } else { half })
    }

    fn skip(&mut self, n: u64) -> Result<(), NutError> {
        let end = self
            .at
            .checked_add(n as usize)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| NutError::Invalid("header packet too short".into()))?;
        self.at = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NUT writer for the tests: the subset the reader understands.
    struct Writer {
        out: Vec<u8>,
    }

    fn put_v(out: &mut Vec<u8>, mut v: u64) {
        let mut groups = vec![(v & 0x7F) as u8];
        v >>= 7;
        while v > 0 {
            groups.push((v & 0x7F) as u8 | 0x80);
            v >>= 7;
        }
        groups.reverse();
        out.extend(groups);
    }

    fn put_s(out: &mut Vec<u8>, s: i64) {
        let v = if s > 0 {
            2 * s as u64 - 1
        } else {
            (-2 * s) as u64
        };
        put_v(out, v);
    }

    impl Writer {
        fn packet(&mut self, code: u64, body: &[u8]) {
            self.out.extend(code.to_be_bytes());
            let size = body.len() as u64 + 4;
            put_v(&mut self.out, size);
            if size > 4096 {
                self.out.extend([0; 4]);
            }
            self.out.extend(body);
            self.out.extend([0; 4]); // checksum (not checked)
        }

        /// Main header with one time base and a table: code 0 = coded pts and size msb
        /// (mul 1), the rest pts_delta +1 with size lsb 0.. (mul 256).
        fn new(tb: (u64, u64), width: u64, height: u64, shift: u64) -> Self {
            let mut w = Writer {
                out: FILE_ID.to_vec(),
            };
            let mut b = Vec::new();
            put_v(&mut b, 3); // version
            put_v(&mut b, 1); // streams
            put_v(&mut b, 65536);
            put_v(&mut b, 1);
            put_v(&mut b, tb.0);
            put_v(&mut b, tb.1);
            // entry 1: one code with FLAG_CODED_PTS | FLAG_SIZE_MSB | FLAG_CHECKSUM
            put_v(&mut b, FLAG_CODED_PTS | FLAG_SIZE_MSB | FLAG_CHECKSUM);
            put_v(&mut b, 6);
            put_s(&mut b, 0);
            put_v(&mut b, 1);
            put_v(&mut b, 0);
            put_v(&mut b, 0);
            put_v(&mut b, 0);
            put_v(&mut b, 1); // count
            // entry 2: the other 254 codes (one is 'N'): delta +1, size lsb 0..
            put_v(&mut b, FLAG_SIZE_MSB);
            put_v(&mut b, 6);
            put_s(&mut b, 1);
            put_v(&mut b, 256);
            put_v(&mut b, 0);
            put_v(&mut b, 0);
            put_v(&mut b, 0);
            put_v(&mut b, 254);
            w.packet(MAIN_STARTCODE, &b);
            let mut s = Vec::new();
            put_v(&mut s, 0); // id
            put_v(&mut s, 0); // video
            put_v(&mut s, 4);
            s.extend(b"I420");
            put_v(&mut s, 0); // time base id
            put_v(&mut s, shift);
            put_v(&mut s, 1000);
            put_v(&mut s, 0);
            put_v(&mut s, 0);
            put_v(&mut s, 0); // no extradata
            put_v(&mut s, width);
            put_v(&mut s, height);
            put_v(&mut s, 0);
            put_v(&mut s, 0);
            put_v(&mut s, 0);
            w.packet(STREAM_STARTCODE, &s);
            w
        }

        fn syncpoint(&mut self, pts: u64) {
            let mut b = Vec::new();
            put_v(&mut b, pts); // one time base: pts * 1 + 0
            put_v(&mut b, 0);
            self.packet(SYNCPOINT_STARTCODE, &b);
        }

        /// A frame with a full coded pts (code 0).
        fn frame_full(&mut self, pts: u64, shift: u64, data: &[u8]) {
            self.out.push(0);
            put_v(&mut self.out, pts + (1 << shift));
            put_v(&mut self.out, data.len() as u64);
            self.out.extend([0; 4]);
            self.out.extend(data);
        }

        /// A frame with its pts coded as the low bits.
        fn frame_lsb(&mut self, pts: u64, shift: u64, data: &[u8]) {
            self.out.push(0);
            put_v(&mut self.out, pts & ((1 << shift) - 1));
            put_v(&mut self.out, data.len() as u64);
            self.out.extend([0; 4]);
            self.out.extend(data);
        }

        /// A frame `pts_delta` +1 after the last, `data.len() = 256 * msb + lsb`.
        fn frame_next(&mut self, data: &[u8]) {
            let lsb = data.len() % 256;
            let mut code = 1 + lsb as u8;
            if code >= b'N' {
                code += 1;
            }
            self.out.push(code);
            put_v(&mut self.out, data.len() as u64 / 256);
            self.out.extend(data);
        }
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(FrameHeader, Vec<u8>)>, NutError> {
        let mut r = NutReader::new(bytes);
        let mut frames = Vec::new();
        while let Some(h) = r.next_frame()? {
            let mut data = vec![0u8; h.size];
            r.source().read_exact(&mut data)?;
            frames.push((h, data));
        }
        Ok(frames)
    }

    #[test]
    fn numbers_round_trip() {
        for v in [0u64, 1, 127, 128, 300, 1 << 40, u64::MAX >> 1] {
            let mut b = Vec::new();
            put_v(&mut b, v);
            assert_eq!(Cursor::new(&b).v().unwrap(), v);
        }
        for s in [0i64, 1, -1, 63, -64, 1 << 33, -(1 << 33)] {
            let mut b = Vec::new();
            put_s(&mut b, s);
            assert_eq!(Cursor::new(&b).s().unwrap(), s);
        }
    }

    #[test]
    fn lsb_timestamps_pick_the_nearest_full_value() {
        // shift 7: within 63 of the last pts either way
        assert_eq!(lsb_to_full(1000, 1010 & 127, 7), 1010);
        assert_eq!(lsb_to_full(1000, 950 & 127, 7), 950);
        assert_eq!(lsb_to_full(130, 2, 7), 130);
        assert_eq!(lsb_to_full(0, 5, 7), 5);
    }

    #[test]
    fn frames_keep_their_timestamps_and_bytes() {
        let shift = 7;
        let mut w = Writer::new((1, 90000), 4, 2, shift);
        let big: Vec<u8> = (0..1usize << 16).map(|i| (i * 7 % 251) as u8).collect();
        w.syncpoint(54_000_000);
        w.frame_full(54_000_000, shift, &big);
        w.frame_lsb(54_000_030, shift, &[1, 2, 3]);
        w.frame_next(&[9; 300]);
        w.frame_next(&[]);
        // a syncpoint resets the predictor: delta +1 from its time
        w.syncpoint(60_000_000);
        w.frame_next(&[5; 77]);
        w.packet(INDEX_STARTCODE, &[1, 2, 3]);
        let frames = read_all(&w.out).unwrap();
        let pts: Vec<i64> = frames.iter().map(|(h, _)| h.pts).collect();
        assert_eq!(
            pts,
            [54_000_000, 54_000_030, 54_000_031, 54_000_032, 60_000_001]
        );
        assert_eq!(frames[0].1, big);
        assert_eq!(frames[1].1, [1, 2, 3]);
        assert_eq!(frames[2].1, [9; 300]);
        assert_eq!(frames[3].1.len(), 0);
        assert_eq!(frames[4].1, [5; 77]);
        let mut r = NutReader::new(&w.out[..]);
        r.next_frame().unwrap();
        assert_eq!(r.time_base(0), Some(Rational { num: 1, den: 90000 }));
        assert_eq!(r.picture_size(0), Some((4, 2)));
    }

    #[test]
    fn truncated_and_foreign_streams_are_errors() {
        let mut w = Writer::new((1, 30), 4, 2, 7);
        w.syncpoint(0);
        w.frame_lsb(0, 7, &[1, 2, 3]);
        let whole = w.out.clone();
        assert_eq!(read_all(&whole).unwrap().len(), 1);
        // cut inside the frame header
        let cut = &whole[..whole.len() - 5];
        assert!(read_all(cut).is_err());
        // cut inside a header packet
        assert!(read_all(&whole[..40]).is_err());
        assert!(read_all(b"RIFF....AVI LIST").is_err());
        assert!(read_all(b"").is_err());
    }
}
