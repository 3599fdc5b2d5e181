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
use super::segments::{Origin, SEEK_MARGIN_S, Segment, needs_source_origin};
use crate::cancel::{CancelReason, CancelToken};
use crate::engine::FrameEngine;
use crate::frame::FrameFormat;
use crate::job::FramePlan;
use crate::job::timeline::FrameAt;
use crate::video::decode::{DecodeOptions, Decoder, DecoderKind, first_frame_pts};
use crate::video::encode::{AudioSource, EncodeSettings, Encoder};
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
    /// Decode errors ffmpeg reported and the export tolerated.
    pub decode_errors: u64,
}

/// Inputs of one run.
pub struct PipelineInput<'a> {
    pub source: &'a str,
    pub info: &'a VideoInfo,
    pub segments: &'a [Segment],
    pub decoder: DecoderKind,
    /// Keep going past decode errors (counted) instead of failing.
    pub tolerate_decode_errors: bool,
    /// The job's cancellation signal, handed to every ffmpeg child.
    pub cancel: &'a CancelToken,
    /// Encoder settings; the time base and the audio cuts are filled in from the decoded
    /// stream when its first kept frame is known.
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

/// What the encoder learns from the decoder before the first frame.
struct StreamStart {
    /// The decoder's time base: every output timestamp is in it.
    time_base: Rational,
    /// The source's audio to carry: `[start, end)` in source seconds, `None`: to the end of
    /// the video.
    audio_cuts: Vec<(f64, Option<f64>)>,
}

enum Decoded {
    Start(StreamStart),
    Frame {
        segment: usize,
        /// Index and time in the source, from the decoded stream.
        at: FrameAt,
        out_pts: i64,
        payload: Payload,
    },
    /// Every frame was sent; the output ends at `end_pts`.
    End {
        end_pts: i64,
    },
}

enum ToEncode {
    Start(StreamStart),
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
        let (decode_s, frames, decode_errors) = decoded?;
        gpu?;
        let (path, encode_s, end_s) = encoded?;
        stats.decode_errors = decode_errors;
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
        let (segment, at, out_pts, payload) = match msg {
            Decoded::Frame {
                segment,
                at,
                out_pts,
                payload,
            } => (segment, at, out_pts, payload),
            Decoded::End { end_pts } => {
                let _ = to_encoder.send(ToEncode::End { end_pts });
                break;
            }
            Decoded::Start(start) => {
                if to_encoder.send(ToEncode::Start(start)).is_err() {
                    break;
                }
                continue;
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
                seg.timeline.plan_into(at, w, h, &mut plan);
                let t = Instant::now();
                let (mut out, mut on_gpu) = if plan.is_identity() && plan.crop.is_none() {
                    // nothing for the engine: the frame stays in the decoder's buffer
                    (buf, false)
                } else {
                    let mut out = Buf {
                        data: out_pool
                            .recv()
                            .map_err(|_| ExportError::Cancelled(CancelReason::Requested))?,
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
            return Err(ExportError::Cancelled(CancelReason::Requested));
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
    // `REELGPU_SPLICE=0`: frames with nothing to do go through memory too (for kernels whose
    // splice(2) misbehaves, such as sandboxes)
    if std::env::var("REELGPU_SPLICE").as_deref() == Ok("0") {
        return None;
    }
    let (home, pool) = channel();
    for _ in 0..POOL {
        home.send(HeldFrame::with_room(frame_bytes)?).expect("pool");
    }
    Some((pool, home))
}

/// The source's clock: its first frame's timestamp and the time base of the decoded stream.
#[derive(Debug, Clone, Copy)]
struct SourceClock {
    first_pts: i64,
    tb: Rational,
}

impl SourceClock {
    /// Seconds from the source's first frame.
    fn since_start(&self, pts: i64) -> f64 {
        (pts - self.first_pts) as f64 * self.tb.as_f64()
    }

    /// Source seconds as ffmpeg stamps them (`-copyts`), for the audio cuts.
    fn absolute(&self, pts: i64) -> f64 {
        pts as f64 * self.tb.as_f64()
    }

    /// The timestamp `s` seconds after the source's first frame.
    fn pts_at(&self, s: f64) -> i64 {
        self.first_pts + seconds_to_tb(s, self.tb)
    }
}

/// Decodes every segment, keeps its frames and stamps their output timestamps. A kept frame
/// the engine has nothing to do for stays in kernel pipes where it can; the others are read
/// into buffers. Frame indices and times come from the decoded stream only; a segment the
/// source cannot satisfy (a trim past the last frame, a clip outside the video) fails when
/// the stream shows it. Returns the seconds spent reading frames, how many were sent and the
/// decode errors tolerated.
fn decode_all(
    input: &PipelineInput<'_>,
    (w, h): (u32, u32),
    pools: Pools,
    to_gpu: SyncSender<Decoded>,
) -> Result<(f64, u64, u64), ExportError> {
    let (source, info) = (input.source, input.info);
    let mut busy = Duration::ZERO;
    let mut sent = 0u64;
    let mut decode_errors = 0u64;
    let opts = DecodeOptions {
        seek_s: None,
        tolerate_errors: input.tolerate_decode_errors,
        cancel: Some(input.cancel.clone()),
    };
    // Clips are placed in seconds from the source's first frame, which a seek never shows:
    // one frame decoded from the start tells where that is.
    let mut clock = if needs_source_origin(input.segments) {
        let t = Instant::now();
        let (first_pts, tb) = first_frame_pts(source, info, input.decoder, Some(input.cancel))?;
        busy += t.elapsed();
        Some(SourceClock { first_pts, tb })
    } else {
        None
    };
    let mut started = false;
    // output time of the next segment's start, in the decoded stream's time base
    let mut offset = 0i64;
    let mut plan = FramePlan::default();
    let fallback_frame_s = info
        .frame_rate
        .map(|r| 1.0 / r.as_f64())
        .unwrap_or(1.0 / 30.0);
    for (si, seg) in input.segments.iter().enumerate() {
        let seek_s = match (seg.seek_s, clock) {
            (Some(s), Some(c)) => {
                // ffmpeg's -ss counts from the container's start
                let container_start = info.start_time_s.unwrap_or(0.0);
                Some((c.absolute(c.first_pts) - container_start + s - SEEK_MARGIN_S).max(0.0))
            }
            _ => None,
        };
        let mut decoder = Decoder::spawn(
            source,
            info,
            input.decoder,
            DecodeOptions {
                seek_s,
                ..opts.clone()
            },
        )?;
        if let Some(c) = clock {
            decoder.set_origin(c.first_pts);
        }
        let mut index = 0u64;
        let mut kept = 0u64;
        let mut origin_pts = 0i64;
        // the last two frames' timestamps (the last one's duration is the interval before it)
        let (mut last_pts, mut prev_pts) = (None::<i64>, None::<i64>);
        let mut last_kept: Option<i64> = None;
        let mut stopped_early = false;
        loop {
            let t = Instant::now();
            let next = decoder.next_frame();
            busy += t.elapsed();
            let Some(pts) = next? else {
                break;
            };
            let tb = decoder.time_base().expect("known after a frame");
            let c = *clock.get_or_insert(SourceClock { first_pts: pts, tb });
            if c.tb != tb {
                return Err(ExportError::Unsupported(format!(
                    "{source}: the decoder's time base changed ({}/{} then {}/{})",
                    c.tb.num, c.tb.den, tb.num, tb.den
                )));
            }
            prev_pts = last_pts;
            last_pts = Some(pts);
            let i = index;
            index += 1;
            let (keep, past) = seg.keeps(i, c.since_start(pts));
            if keep && kept == 0 {
                origin_pts = match seg.origin {
                    Origin::SourceStart => c.first_pts,
                    Origin::FirstKept => pts,
                    Origin::At(s) => c.pts_at(s),
                };
                if !started {
                    let start = StreamStart {
                        time_base: tb,
                        audio_cuts: audio_cuts(input.segments, c, pts),
                    };
                    if to_gpu.send(Decoded::Start(start)).is_err() {
                        decoder.stop();
                        return Ok((busy.as_secs_f64(), sent, decode_errors));
                    }
                    started = true;
                }
            }
            let idle = keep && seg.clip.is_none() && {
                seg.timeline
                    .plan_into(FrameAt::new(i, c.since_start(pts)), w, h, &mut plan);
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
                return Ok((busy.as_secs_f64(), sent, decode_errors));
            };
            let t = Instant::now();
            let read = match &mut payload {
                Payload::Held(held) => decoder.hold(held.frame.as_mut().expect("holder")),
                Payload::Memory(buf) => decoder.read_into(&mut buf.data),
            };
            busy += t.elapsed();
            read?;
            if keep {
                kept += 1;
                last_kept = Some(pts);
                let frame = Decoded::Frame {
                    segment: si,
                    at: FrameAt::new(i, c.since_start(pts)),
                    out_pts: pts - origin_pts + offset,
                    payload,
                };
                if to_gpu.send(frame).is_err() {
                    decoder.stop();
                    return Ok((busy.as_secs_f64(), sent, decode_errors));
                }
                sent += 1;
            } else {
                drop(payload);
            }
            if past {
                stopped_early = true;
                break;
            }
        }
        if stopped_early {
            // the rest of the source is not needed; errors so far still count
            let t = Instant::now();
            decode_errors += decoder.decode_errors();
            decoder.stop();
            busy += t.elapsed();
        } else {
            decode_errors += decoder.finish()?;
        }
        let c = clock.ok_or_else(|| ExportError::NoFrames {
            input: source.to_string(),
        })?;
        // the last frame lasts as long as the interval before it (or one frame at the
        // probed rate when it is alone)
        let last_duration = match (last_pts, prev_pts) {
            (Some(l), Some(p)) => l - p,
            _ => seconds_to_tb(fallback_frame_s, c.tb).max(1),
        };
        if !stopped_early {
            let end_s = last_pts
                .map(|l| c.since_start(l + last_duration))
                .unwrap_or(0.0);
            seg.check_end(kept, index, end_s)?;
        }
        offset += match (seg.span_s, last_kept) {
            (Some(span), _) => seconds_to_tb(span, c.tb),
            (None, Some(last)) => last + last_duration - origin_pts,
            (None, None) => 0,
        };
    }
    let _ = to_gpu.send(Decoded::End { end_pts: offset });
    Ok((busy.as_secs_f64(), sent, decode_errors))
}

/// The audio to carry, in source seconds (`-copyts` timestamps): the job's clips when they are
/// fixed in time, else from the first kept frame (`first_kept`) to the end of the video.
fn audio_cuts(segments: &[Segment], c: SourceClock, first_kept: i64) -> Vec<(f64, Option<f64>)> {
    if needs_source_origin(segments) {
        segments
            .iter()
            .map(|s| {
                let (start, span) = match s.origin {
                    Origin::At(t) => (t, s.span_s.unwrap_or(0.0)),
                    _ => (0.0, 0.0),
                };
                let start = c.absolute(c.pts_at(start));
                (start, Some(start + span))
            })
            .collect()
    } else {
        vec![(c.absolute(first_kept), None)]
    }
}

/// Writes frames as they come, one behind: a frame's duration is known when the next one
/// (or the end) arrives. ffmpeg starts when the decoder has found the first kept frame (its
/// time base and the audio's cuts come from there); a run that ends without frames never
/// starts it, which leaves no output behind.
fn encode_all(
    output: &Path,
    mut settings: EncodeSettings,
    from_gpu: Receiver<ToEncode>,
) -> Result<(PathBuf, f64, f64), ExportError> {
    let mut encoder: Option<Encoder> = None;
    let mut pending: Option<(i64, Payload)> = None;
    let mut busy = Duration::ZERO;
    let write = |busy: &mut Duration, encoder: &mut Encoder, pts: i64, next: i64, payload| {
        let t = Instant::now();
        let r = match payload {
            Payload::Memory(buf) => encoder.write_frame(pts, next - pts, &buf.data),
            Payload::Held(mut held) => {
                encoder.write_held(pts, next - pts, held.frame.as_mut().expect("holder"))
            }
        };
        *busy += t.elapsed();
        r
    };
    while let Ok(msg) = from_gpu.recv() {
        match msg {
            ToEncode::Start(start) => {
                settings.time_base = start.time_base;
                settings.audio = settings.audio.take().map(|a| AudioSource {
                    cuts: start.audio_cuts,
                    ..a
                });
                let t = Instant::now();
                encoder = Some(Encoder::spawn(output, &settings)?);
                busy += t.elapsed();
            }
            ToEncode::Frame { out_pts, payload } => {
                let enc = encoder.as_mut().ok_or_else(|| {
                    ExportError::Unsupported("a frame reached the encoder before its start".into())
                })?;
                if let Some((pts, prev)) = pending.take() {
                    write(&mut busy, enc, pts, out_pts, prev)?;
                }
                pending = Some((out_pts, payload));
            }
            ToEncode::End { end_pts } => {
                let (Some(mut enc), Some((pts, prev))) = (encoder.take(), pending.take()) else {
                    // no frames: an encoder that started is dropped, which removes its file
                    return Ok((output.to_path_buf(), 0.0, 0.0));
                };
                let end = end_pts.max(pts + 1);
                write(&mut busy, &mut enc, pts, end, prev)?;
                let t = Instant::now();
                let path = enc.finish()?;
                busy += t.elapsed();
                return Ok((
                    path,
                    busy.as_secs_f64(),
                    end as f64 * settings.time_base.as_f64(),
                ));
            }
        }
    }
    // the GPU stage stopped without an end: dropping the encoder removes the partial file
    Err(ExportError::Cancelled(CancelReason::Requested))
}

fn seconds_to_tb(s: f64, tb: Rational) -> i64 {
    (s * f64::from(tb.den) / f64::from(tb.num)).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_clock_counts_from_the_first_frame() {
        let c = SourceClock {
            first_pts: 54_126_000,
            tb: Rational { num: 1, den: 90000 },
        };
        assert_eq!(c.since_start(54_126_000 + 45_000), 0.5);
        assert!((c.absolute(54_126_000) - 601.4).abs() < 1e-9);
        assert_eq!(c.pts_at(1.5), 54_126_000 + 135_000);
        assert_eq!(
            seconds_to_tb(1.0 / 3.0, Rational { num: 1, den: 90000 }),
            30000
        );
    }
}
