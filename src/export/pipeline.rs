//! The streaming loop: a decoder thread, the GPU stage on the calling thread, and an encoder
//! thread, joined by bounded channels so decode, GPU and encode overlap with at most a few
//! frames in flight. Frame buffers come from two fixed pools (source-sized and output-sized)
//! and go back to them when the encoder has written them: nothing is allocated per frame, and
//! memory does not grow with the video's length. Frames with nothing to do skip the GPU: on
//! Linux they go from the decoder's pipe to the encoder's in kernel pipes (see
//! [`crate::video::held`]), never copied through this process; elsewhere in the decoder's own
//! buffer.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::time::{Duration, Instant};

use super::ExportError;
use super::segments::{Keep, Segment};
use crate::engine::FrameEngine;
use crate::frame::FrameFormat;
use crate::job::FramePlan;
use crate::video::decode::{Decoder, DecoderKind};
use crate::video::encode::{EncodeSettings, Encoder};
use crate::video::held::HeldFrame;
use crate::video::probe::{Rational, VideoInfo};

/// Frames queued between two stages (each direction), besides the one each stage works on.
const QUEUE: usize = 2;
/// Buffers per pool: one per stage plus the queues.
const POOL: usize = 2 * QUEUE + 2;

/// What one run did and where its time went.
#[derive(Debug, Clone, Default)]
pub struct PipelineStats {
    pub frames: u64,
    pub gpu_frames: u64,
    /// Frames moved from the decoder to the encoder in kernel pipes, never copied here.
    pub spliced_frames: u64,
    /// Seconds each stage spent working (waiting on ffmpeg included for decode and encode).
    pub decode_s: f64,
    pub gpu_s: f64,
    pub encode_s: f64,
    pub wall_s: f64,
    /// End of the last frame, output seconds.
    pub duration_s: f64,
}

/// Inputs of one run.
pub struct PipelineInput<'a> {
    pub source: &'a str,
    pub info: &'a VideoInfo,
    pub segments: &'a [Segment],
    pub decoder: DecoderKind,
    /// Encoder settings; frame timestamps are given in their `time_base` (the probed
    /// source's: a decoder reporting another has its timestamps rescaled).
    pub encode: EncodeSettings,
    pub output: &'a Path,
}

/// A pooled frame buffer and the pool it returns to.
struct Buf {
    data: Vec<u8>,
    home: Sender<Vec<u8>>,
}

impl Drop for Buf {
    fn drop(&mut self) {
        // back to its pool on every path, including a queue dropped by a failed stage (a
        // stage waiting for a buffer then wakes up and sees the closed channel); the pool is
        // gone only when the run is over
        let _ = self.home.send(std::mem::take(&mut self.data));
    }
}

/// A pooled frame holder and the pool it returns to.
struct Held {
    frame: Option<HeldFrame>,
    home: Sender<HeldFrame>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(mut frame) = self.frame.take() {
            // a frame left in it (a failed run) is thrown away; a holder that cannot be
            // emptied is not reused
            if frame.is_empty() || frame.clear().is_ok() {
                let _ = self.home.send(frame);
            }
        }
    }
}

/// Where a frame's bytes are.
enum Payload {
    /// In memory, for the engine (or everywhere frames cannot be held in pipes).
    Memory(Buf),
    /// Still in kernel pipes: the frame needs no processing.
    Held(Held),
}

enum Decoded {
    Frame {
        segment: usize,
        index: u64,
        out_pts: i64,
        payload: Payload,
    },
    /// Every frame was sent; the output ends at `end_pts`.
    End { end_pts: i64 },
}

enum ToEncode {
    Frame { out_pts: i64, payload: Payload },
    End { end_pts: i64 },
}

/// The frame engine, made when the first frame needs it: until then the GPU may still be
/// starting (see [`crate::gpu::GpuStartup`]) while frames with nothing to do flow through.
pub struct LazyEngine<'a> {
    input: FrameFormat,
    output: FrameFormat,
    make: Option<Box<dyn FnOnce() -> Result<FrameEngine, ExportError> + 'a>>,
    engine: Option<FrameEngine>,
}

impl<'a> LazyEngine<'a> {
    /// `make` must build an engine for `input` frames that writes `output` frames.
    pub fn new(
        input: FrameFormat,
        output: FrameFormat,
        make: impl FnOnce() -> Result<FrameEngine, ExportError> + 'a,
    ) -> Self {
        Self {
            input,
            output,
            make: Some(Box::new(make)),
            engine: None,
        }
    }

    pub fn input_format(&self) -> FrameFormat {
        self.input
    }

    pub fn output_format(&self) -> FrameFormat {
        self.output
    }

    fn get(&mut self) -> Result<&mut FrameEngine, ExportError> {
        if self.engine.is_none() {
            let make = self.make.take().ok_or_else(|| {
                ExportError::Unsupported("the frame engine failed to start earlier".into())
            })?;
            let engine = make()?;
            debug_assert!(
                engine.input_format() == self.input && engine.output_format() == self.output
            );
            self.engine = Some(engine);
        }
        Ok(self.engine.as_mut().expect("made above"))
    }
}

/// Burns clip `n`'s label into an output frame.
pub type LabelFn<'a> = dyn FnMut(usize, &mut [u8]) -> Result<(), ExportError> + 'a;

/// Runs the export; `progress(done)` is called after every frame and stops the export
/// ([`ExportError::Cancelled`]) by returning `false`.
pub fn run(
    engine: &mut LazyEngine<'_>,
    labels: &mut LabelFn<'_>,
    input: PipelineInput<'_>,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<(PathBuf, PipelineStats), ExportError> {
    let started = Instant::now();
    let in_bytes = engine.input_format().frame_bytes();
    let out_bytes = engine.output_format().frame_bytes();
    let (in_home, in_pool) = channel::<Vec<u8>>();
    let (out_home, out_pool) = channel::<Vec<u8>>();
    for _ in 0..POOL {
        in_home.send(vec![0u8; in_bytes]).expect("pool");
        out_home.send(vec![0u8; out_bytes]).expect("pool");
    }
    let held_pool = held_pool(in_bytes);
    let (dec_tx, dec_rx) = sync_channel::<Decoded>(QUEUE);
    let (enc_tx, enc_rx) = sync_channel::<ToEncode>(QUEUE);
    let mut stats = PipelineStats::default();
    let engine_size = (engine.input_format().width, engine.input_format().height);
    let input = &input;

    std::thread::scope(|scope| {
        let decoder = scope.spawn(|| {
            decode_all(
                input,
                engine_size,
                Pools {
                    buffers: (in_pool, in_home),
                    held: held_pool,
                },
                dec_tx,
            )
        });
        let encode = input.encode.clone();
        let output = input.output;
        let encoder = scope.spawn(move || encode_all(output, encode, enc_rx));

        let gpu = gpu_stage(
            engine,
            labels,
            input.segments,
            dec_rx,
            enc_tx,
            (out_pool, out_home),
            &mut stats,
            progress,
        );
        let decoded = decoder.join().expect("decoder thread");
        let encoded = encoder.join().expect("encoder thread");
        // The first failure in pipeline order is the cause; later stages only saw a closed
        // channel.
        let (decode_s, frames) = decoded?;
        gpu?;
        let (path, encode_s, end_s) = encoded?;
        stats.decode_s = decode_s;
        stats.encode_s = encode_s;
        stats.duration_s = end_s;
        if frames == 0 {
            return Err(ExportError::NoFrames {
                input: input.source.to_string(),
            });
        }
        stats.wall_s = started.elapsed().as_secs_f64();
        Ok((path, stats))
    })
}

#[allow(clippy::too_many_arguments)]
fn gpu_stage(
    engine: &mut LazyEngine<'_>,
    labels: &mut LabelFn<'_>,
    segments: &[Segment],
    from_decoder: Receiver<Decoded>,
    to_encoder: SyncSender<ToEncode>,
    (out_pool, out_home): (Receiver<Vec<u8>>, Sender<Vec<u8>>),
    stats: &mut PipelineStats,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<(), ExportError> {
    let (w, h) = (engine.input_format().width, engine.input_format().height);
    let mut plan = FramePlan::default();
    let mut gpu_time = Duration::ZERO;
    while let Ok(msg) = from_decoder.recv() {
        let (segment, index, out_pts, payload) = match msg {
            Decoded::Frame {
                segment,
                index,
                out_pts,
                payload,
            } => (segment, index, out_pts, payload),
            Decoded::End { end_pts } => {
                let _ = to_encoder.send(ToEncode::End { end_pts });
                break;
            }
        };
        let payload = match payload {
            Payload::Held(held) => {
                // the decoder found nothing to do for it
                stats.spliced_frames += 1;
                Payload::Held(held)
            }
            Payload::Memory(buf) => {
                let seg = &segments[segment];
                seg.timeline.plan_into(index, w, h, &mut plan);
                let t = Instant::now();
                let (mut out, mut on_gpu) = if plan.is_identity() && plan.crop.is_none() {
                    // nothing for the engine: the frame stays in the decoder's buffer
                    (buf, false)
                } else {
                    let mut out = Buf {
                        data: out_pool.recv().map_err(|_| ExportError::Cancelled)?,
                        home: out_home.clone(),
                    };
                    engine.get()?.process(&buf.data, &plan, &mut out.data)?;
                    (out, true)
                };
                if let Some(clip) = seg.clip {
                    // a label band, burned in place (its own small upload and readback)
                    labels(clip, &mut out.data)?;
                    on_gpu = true;
                }
                stats.gpu_frames += on_gpu as u64;
                gpu_time += t.elapsed();
                Payload::Memory(out)
            }
        };
        stats.frames += 1;
        if !progress(stats.frames) {
            return Err(ExportError::Cancelled);
        }
        if to_encoder
            .send(ToEncode::Frame { out_pts, payload })
            .is_err()
        {
            // the encoder stopped: its error is the one to report
            break;
        }
    }
    stats.gpu_s = gpu_time.as_secs_f64();
    Ok(())
}

/// The decoder's frame buffers, and its pipe holders where frames can be held.
struct Pools {
    buffers: (Receiver<Vec<u8>>, Sender<Vec<u8>>),
    held: Option<(Receiver<HeldFrame>, Sender<HeldFrame>)>,
}

/// `POOL` holders for frames of `frame_bytes`, or `None` where frames cannot be held in
/// pipes (then every frame goes through a buffer).
fn held_pool(frame_bytes: usize) -> Option<(Receiver<HeldFrame>, Sender<HeldFrame>)> {
    let (home, pool) = channel();
    for _ in 0..POOL {
        home.send(HeldFrame::with_room(frame_bytes)?).expect("pool");
    }
    Some((pool, home))
}

/// Decodes every segment, keeps its frames and stamps their output timestamps. A kept frame
/// the engine has nothing to do for stays in kernel pipes where it can; the others are read
/// into buffers. Returns the seconds spent reading frames and how many were sent.
fn decode_all(
    input: &PipelineInput<'_>,
    (w, h): (u32, u32),
    pools: Pools,
    to_gpu: SyncSender<Decoded>,
) -> Result<(f64, u64), ExportError> {
    let (source, info) = (input.source, input.info);
    let mut busy = Duration::ZERO;
    let mut sent = 0u64;
    // the encoder's time base: every output timestamp is in it
    let tb = input.encode.time_base;
    let mut offset_s = 0.0;
    let mut end_pts = 0i64;
    let mut plan = FramePlan::default();
    for (si, seg) in input.segments.iter().enumerate() {
        let mut decoder = Decoder::spawn(source, info, input.decoder, seg.window)?;
        let mut index = 0u64;
        let mut origin_tb = 0i64;
        let mut offset_tb = 0i64;
        loop {
            let t = Instant::now();
            let next = decoder.next_frame();
            busy += t.elapsed();
            let Some(pts) = next? else {
                decoder.finish()?;
                break;
            };
            let decoded_tb = decoder
                .time_base()
                .or(info.time_base)
                .ok_or_else(|| ExportError::Unsupported(format!("{source}: no video time base")))?;
            let pts = rescale(pts, decoded_tb, tb);
            if index == 0 {
                origin_tb = seg.origin_s.map(|s| seconds_to_tb(s, tb)).unwrap_or(0);
                offset_tb = seconds_to_tb(offset_s, tb);
            }
            let i = index;
            index += 1;
            let t_s = pts as f64 * tb.as_f64();
            let (keep, past) = match seg.keep {
                Keep::Frames { first, last } => (first <= i && i <= last, i >= last),
                Keep::Times { start, end } => (start <= t_s && t_s < end, t_s >= end),
            };
            let idle = keep && seg.clip.is_none() && {
                seg.timeline.plan_into(i, w, h, &mut plan);
                plan.is_identity() && plan.crop.is_none()
            };
            let payload = match &pools.held {
                Some((pool, home)) if idle => pool.recv().map(|frame| {
                    Payload::Held(Held {
                        frame: Some(frame),
                        home: home.clone(),
                    })
                }),
                _ => {
                    let (pool, home) = &pools.buffers;
                    pool.recv().map(|data| {
                        Payload::Memory(Buf {
                            data,
                            home: home.clone(),
                        })
                    })
                }
            };
            let Ok(mut payload) = payload else {
                return Ok((busy.as_secs_f64(), sent));
            };
            let t = Instant::now();
            let read = match &mut payload {
                Payload::Held(held) => decoder.hold(held.frame.as_mut().expect("holder")),
                Payload::Memory(buf) => decoder.read_into(&mut buf.data),
            };
            busy += t.elapsed();
            read?;
            if keep {
                let out_pts = pts - origin_tb + offset_tb;
                let frame = Decoded::Frame {
                    segment: si,
                    index: i,
                    out_pts,
                    payload,
                };
                if to_gpu.send(frame).is_err() {
                    decoder.stop();
                    return Ok((busy.as_secs_f64(), sent));
                }
                sent += 1;
            } else {
                drop(payload);
            }
            if past {
                decoder.stop();
                break;
            }
        }
        // overlay keeps source timestamps in one segment starting at 0, so its end is its
        // span too
        offset_s += seg.span_s;
        end_pts = seconds_to_tb(offset_s, tb);
    }
    let _ = to_gpu.send(Decoded::End { end_pts });
    Ok((busy.as_secs_f64(), sent))
}

/// Writes frames as they come, one behind: a frame's duration is known when the next one
/// (or the end) arrives. ffmpeg starts at once, so its start-up overlaps the decoder's; a run
/// that ends without frames drops it, which leaves no output behind.
fn encode_all(
    output: &Path,
    settings: EncodeSettings,
    from_gpu: Receiver<ToEncode>,
) -> Result<(PathBuf, f64, f64), ExportError> {
    let mut encoder = Some(Encoder::spawn(output, &settings)?);
    let mut pending: Option<(i64, Payload)> = None;
    let mut busy = Duration::ZERO;
    let mut write = |encoder: &mut Encoder, pts: i64, next: i64, payload: Payload| {
        let t = Instant::now();
        let r = match payload {
            Payload::Memory(buf) => encoder.write_frame(pts, next - pts, &buf.data),
            Payload::Held(mut held) => {
                encoder.write_held(pts, next - pts, held.frame.as_mut().expect("holder"))
            }
        };
        busy += t.elapsed();
        r
    };
    while let Ok(msg) = from_gpu.recv() {
        match msg {
            ToEncode::Frame { out_pts, payload } => {
                let enc = encoder.as_mut().expect("open until the end");
                if let Some((pts, prev)) = pending.take() {
                    write(enc, pts, out_pts, prev)?;
                }
                pending = Some((out_pts, payload));
            }
            ToEncode::End { end_pts } => {
                let mut enc = encoder.take().expect("open until the end");
                if pending.is_none() {
                    // no frames: dropping the encoder stops it and removes its file
                    return Ok((output.to_path_buf(), 0.0, 0.0));
                }
                let tb = settings.time_base;
                let mut end = end_pts;
                if let Some((pts, prev)) = pending.take() {
                    end = end.max(pts + 1);
                    write(&mut enc, pts, end, prev)?;
                }
                let t = Instant::now();
                let path = enc.finish()?;
                busy += t.elapsed();
                return Ok((path, busy.as_secs_f64(), end as f64 * tb.as_f64()));
            }
        }
    }
    // the GPU stage stopped without an end: dropping the encoder removes the partial file
    Err(ExportError::Cancelled)
}

/// `pts` in `from` units expressed in `to` units (rounded; exact when they are equal).
fn rescale(pts: i64, from: Rational, to: Rational) -> i64 {
    if from == to {
        return pts;
    }
    let num = i128::from(pts) * i128::from(from.num) * i128::from(to.den);
    let den = i128::from(from.den) * i128::from(to.num);
    // half away from zero (`/` truncates toward zero)
    ((num + num.signum() * den / 2) / den) as i64
}

fn seconds_to_tb(s: f64, tb: Rational) -> i64 {
    (s * f64::from(tb.den) / f64::from(tb.num)).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_rounds_half_away_from_zero_and_keeps_equal_bases_exact() {
        let ms = Rational { num: 1, den: 1000 };
        let mp4 = Rational { num: 1, den: 15360 };
        assert_eq!(rescale(123_456_789, mp4, mp4), 123_456_789);
        // 1001 ms = 15375.36 ticks
        assert_eq!(rescale(1001, ms, mp4), 15375);
        assert_eq!(rescale(-1001, ms, mp4), -15375);
        // 0.5 tick either way
        let half = Rational { num: 1, den: 2 };
        let one = Rational { num: 1, den: 1 };
        assert_eq!(rescale(3, half, one), 2);
        assert_eq!(rescale(-3, half, one), -2);
        assert_eq!(rescale(-1, Rational { num: 1, den: 4 }, one), 0);
        assert_eq!(rescale(15360, mp4, ms), 1000);
    }
}
