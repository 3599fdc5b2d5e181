//! Contract §10: a reel of clips from one or several sources, streamed through one encode.
//!
//! A decoder thread decodes each clip's range of its source in turn and hands every decoded
//! frame to the GPU stage with the output frames it is shown on (none when fast motion skips
//! it, several when slow motion repeats it: "the frame at or before" each output frame's
//! source time, read from the decoded stream). The GPU stage renders each output frame
//! (crop, or rotation + crop, and the transition's blend) and the encoder thread writes it at
//! exactly `n / fps`. A dissolve holds the outgoing clip's last frames (output size, as many
//! as the transition spans) until the incoming clip's first frames blend with them; nothing
//! else is kept, so memory does not grow with the reel. The audio is one ffmpeg filter graph:
//! each clip's ranges cut from its source, time-stretched with pitch kept, joined with the
//! same transitions, padded or cut to the video's exact length.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::time::{Duration, Instant};

use super::segments::SEEK_MARGIN_S;
use super::{ExportError, ExportRequest, ExportSummary, UpscaleReport, cancelled_or, color_tags};
use crate::cancel::CancelReason;
use crate::engine::{BlurQuality, FrameEngine, UpscaleSpec};
use crate::frame::FrameFormat;
use crate::gpu::GpuStartup;
use crate::job::framing_v2::{ReelParams, TransitionKind};
use crate::job::reel::{Blend, ReelTimeline};
use crate::job::timeline::FramePlan;
use crate::job::{JobParams, ParamError};
use crate::models::SrModel;
use crate::nn::srvgg::SrNetwork;
use crate::video::decode::{DecodeOptions, Decoder, DecoderKind, first_frame_pts};
use crate::video::encode::{AudioGraph, AudioInput, EncodeSettings, Encoder, EncoderKind};
use crate::video::probe::{Rational, VideoInfo, probe_with};

/// Frames queued between stages.
const QUEUE: usize = 2;

/// One source of the reel, probed.
#[derive(Debug, Clone)]
pub struct ReelSource {
    pub key: String,
    /// A path, or a range-bridge URL.
    pub location: String,
    pub info: VideoInfo,
    /// The first frame's timestamp in seconds as ffmpeg stamps it (`-copyts`): the source's
    /// time 0, for seeks and audio cuts.
    pub first_s: f64,
    /// Seconds from the first frame to the end of the video.
    pub length_s: f64,
}

/// A reel checked against its sources before any output.
#[derive(Debug, Clone)]
pub struct PreparedReel {
    pub sources: Vec<ReelSource>,
    /// Clip `i`'s source (index into `sources`).
    pub clip_source: Vec<usize>,
    pub timeline: ReelTimeline,
    /// `"upscale": "ai"`: the network, loaded and checked, and the size each clip's crops are
    /// resampled to for it.
    pub upscaler: Option<ReelUpscaler>,
}

/// The AI ×4 upscaler of a reel.
#[derive(Debug, Clone)]
pub struct ReelUpscaler {
    pub model: Arc<SrModel>,
    /// Clip `i`'s network input size ([`ReelTimeline::network_input`]).
    pub inputs: Vec<(u32, u32)>,
}

/// The reel's params.
pub fn reel_params(req: &ExportRequest) -> Option<&ReelParams> {
    match &req.job.params {
        JobParams::Reel(p) => Some(p),
        _ => None,
    }
}

/// Probes every source the clips use and places the clips on them.
pub fn prepare(req: &ExportRequest, p: &ReelParams) -> Result<PreparedReel, ExportError> {
    let (sources, clip_source) = probe_sources(req, p)?;
    place(p, sources, clip_source)
}

/// Probes every source the clips use: the sources, and clip `i`'s source (an index into them).
pub fn probe_sources(
    req: &ExportRequest,
    p: &ReelParams,
) -> Result<(Vec<ReelSource>, Vec<usize>), ExportError> {
    let default = req.input.to_string_lossy().into_owned();
    let mut sources: Vec<ReelSource> = Vec::new();
    let mut clip_source = Vec::with_capacity(p.clips_data.len());
    for i in 0..p.clips_data.len() {
        let key = p.source_key(i, &req.default_key);
        if let Some(at) = sources.iter().position(|s| s.key == key) {
            clip_source.push(at);
            continue;
        }
        let location = if key == req.default_key {
            default.clone()
        } else {
            req.sources
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, l)| l.clone())
                .ok_or_else(|| {
                    ParamError::new(
                        p.source_field(i),
                        format!(
                            "names source {key:?}, which was not given (the CLI takes \
                             --source {key}=PATH)"
                        ),
                    )
                })?
        };
        let info = probe_with(std::path::Path::new(&location), Some(&req.cancel))
            .map_err(|e| cancelled_or(req, e.into()))?;
        let limit = req.limits.max_dimension;
        if info.width > limit || info.height > limit {
            return Err(ExportError::TooLarge {
                input: location,
                width: info.width,
                height: info.height,
                limit,
            });
        }
        let (pts, tb) = first_frame_pts(&location, &info, DecoderKind::Software, Some(&req.cancel))
            .map_err(|e| cancelled_or(req, e.into()))?;
        let first_s = pts as f64 * tb.as_f64();
        let start = info.start_time_s.unwrap_or(0.0);
        let length_s = info
            .duration_s
            .map(|d| (d - (first_s - start)).max(0.0))
            .unwrap_or(f64::INFINITY);
        clip_source.push(sources.len());
        sources.push(ReelSource {
            key: key.to_string(),
            location,
            info,
            first_s,
            length_s,
        });
    }
    Ok((sources, clip_source))
}

/// Places the clips of `p` on their probed sources (see [`probe_sources`]).
pub fn place(
    p: &ReelParams,
    sources: Vec<ReelSource>,
    clip_source: Vec<usize>,
) -> Result<PreparedReel, ExportError> {
    let lens: Vec<f64> = clip_source.iter().map(|&s| sources[s].length_s).collect();
    let timeline = ReelTimeline::new(p, &lens)?;
    let upscaler = match timeline.upscale_ai {
        false => None,
        true => {
            let model = crate::models::load(&crate::models::model_path())?;
            let inputs = (0..timeline.clips.len())
                .map(|i| {
                    let info = &sources[clip_source[i]].info;
                    timeline.network_input(i, (info.width, info.height))
                })
                .collect();
            Some(ReelUpscaler {
                model: Arc::new(model),
                inputs,
            })
        }
    };
    Ok(PreparedReel {
        sources,
        clip_source,
        timeline,
        upscaler,
    })
}

/// The output's time base and nominal rate for `fps`: whole rates exactly (`1/30`), NTSC
/// rates as `1001/30000`, others to the millisecond.
pub fn reel_time_base(fps: f64) -> Rational {
    if (fps - fps.round()).abs() < 1e-9 {
        return Rational {
            num: 1,
            den: fps.round() as u32,
        };
    }
    let ntsc = fps * 1.001;
    if (ntsc - ntsc.round()).abs() < 1e-6 {
        return Rational {
            num: 1001,
            den: (ntsc.round() as u32) * 1000,
        };
    }
    Rational {
        num: 1000,
        den: (fps * 1000.0).round() as u32,
    }
}

/// `atempo` filters for `speed` (each between 0.5 and 2, pitch kept).
pub fn atempo_chain(speed: f64) -> Vec<String> {
    let mut out = Vec::new();
    let mut s = speed;
    while s < 0.5 - 1e-9 {
        out.push("atempo=0.5".to_string());
        s /= 0.5;
    }
    while s > 2.0 + 1e-9 {
        out.push("atempo=2".to_string());
        s /= 2.0;
    }
    if (s - 1.0).abs() > 1e-9 {
        out.push(format!("atempo={s:.6}"));
    }
    out
}

/// The reel's audio: each clip's segments cut from its source (seconds as ffmpeg stamps
/// them), stretched by their speed, joined as the transition says; silence for clips whose
/// source has none. `None` when no source has audio.
pub fn audio_graph(prepared: &PreparedReel) -> Option<AudioGraph> {
    let t = &prepared.timeline;
    let fps = t.fps;
    // one input per clip, opened around the clip's range of its source
    let mut inputs: Vec<AudioInput> = Vec::new();
    let mut input_of: HashMap<usize, usize> = HashMap::new();
    for (i, clip) in t.clips.iter().enumerate() {
        let src = &prepared.sources[prepared.clip_source[i]];
        if src.info.audio.is_none() {
            continue;
        }
        let (Some(first), Some(last)) = (clip.segments.first(), clip.segments.last()) else {
            continue;
        };
        let base = src.first_s + clip.source_start;
        input_of.insert(i, inputs.len() + 1);
        inputs.push(AudioInput::around(
            &src.location,
            src.info.start_time_s.unwrap_or(0.0),
            base + first.start,
            Some(base + last.end),
        ));
    }
    if inputs.is_empty() {
        return None;
    }
    let norm = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo";
    let mut g = String::new();
    let d = t.transition_frames as f64 / fps;
    for (i, clip) in t.clips.iter().enumerate() {
        let src = &prepared.sources[prepared.clip_source[i]];
        let len = clip.frames as f64 / fps;
        match (input_of.get(&i), &src.info.audio) {
            (Some(input), Some(a)) => {
                for (j, s) in clip.segments.iter().enumerate() {
                    let from = src.first_s + clip.source_start + s.start;
                    let to = src.first_s + clip.source_start + s.end;
                    let mut chain = vec![
                        format!("atrim=start={from:.6}:end={to:.6}"),
                        "asetpts=PTS-STARTPTS".to_string(),
                    ];
                    chain.extend(atempo_chain(s.speed));
                    chain.push(norm.to_string());
                    chain.push(format!("apad=whole_dur={:.6}", s.out_len()));
                    chain.push(format!("atrim=end={:.6}", s.out_len()));
                    g += &format!("[{input}:{}]{}[c{i}s{j}];", a.stream_index, chain.join(","));
                }
                for j in 0..clip.segments.len() {
                    g += &format!("[c{i}s{j}]");
                }
                g += &format!(
                    "concat=n={}:v=0:a=1,apad=whole_dur={len:.6},atrim=end={len:.6}[r{i}];",
                    clip.segments.len()
                );
            }
            _ => {
                g += &format!("anullsrc=r=48000:cl=stereo,{norm},atrim=end={len:.6}[r{i}];");
            }
        }
        if t.transition == TransitionKind::Fade {
            let mut fades = Vec::new();
            if i > 0 {
                fades.push(format!("afade=t=in:st=0:d={d:.6}"));
            }
            if i + 1 < t.clips.len() {
                fades.push(format!("afade=t=out:st={:.6}:d={d:.6}", len - d));
            }
            if !fades.is_empty() {
                g += &format!("[r{i}]{}[f{i}];", fades.join(","));
            } else {
                g += &format!("[r{i}]anull[f{i}];");
            }
        } else {
            g += &format!("[r{i}]anull[f{i}];");
        }
    }
    let n = t.clips.len();
    let total = t.total_frames as f64 / fps;
    let joined = match t.transition {
        TransitionKind::Dissolve if n > 1 => {
            let mut last = "f0".to_string();
            for i in 1..n {
                let next = format!("x{i}");
                g += &format!("[{last}][f{i}]acrossfade=d={d:.6}:c1=tri:c2=tri[{next}];");
                last = next;
            }
            last
        }
        _ => {
            for i in 0..n {
                g += &format!("[f{i}]");
            }
            g += &format!("concat=n={n}:v=0:a=1[j];");
            "j".to_string()
        }
    };
    g += &format!("[{joined}]apad=whole_dur={total:.6},atrim=end={total:.6}[aout]");
    Some(AudioGraph { inputs, graph: g })
}

/// A decoded frame and the clip's output frames it is shown on.
struct Shown {
    clip: usize,
    frame: Vec<u8>,
    format: FrameFormat,
    outputs: std::ops::Range<u64>,
}

/// Runs the reel; `progress(done, total)` after every output frame.
pub fn run(
    gpu: &GpuStartup,
    req: &ExportRequest,
    prepared: &PreparedReel,
    encoder: EncoderKind,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<ExportSummary, ExportError> {
    let started = Instant::now();
    let t = &prepared.timeline;
    let (ow, oh) = t.out_size;
    let first = &prepared.sources[prepared.clip_source[0]].info;
    let out_format = FrameFormat::new(ow, oh, first.color);
    let time_base = reel_time_base(t.fps);
    let include_audio = reel_params(req).is_some_and(|p| p.include_audio);
    let settings = EncodeSettings {
        width: ow,
        height: oh,
        time_base,
        frame_rate: Some(Rational {
            num: time_base.den,
            den: time_base.num,
        }),
        color: color_tags(first),
        audio: None,
        audio_graph: include_audio.then(|| audio_graph(prepared)).flatten(),
        kind: encoder,
        quality: req.quality,
        cancel: Some(req.cancel.clone()),
        sar: None,
        pix_fmt: None,
    };
    let (to_gpu, from_decoder) = sync_channel::<Shown>(QUEUE);
    let (to_encoder, from_gpu) = sync_channel::<Vec<u8>>(QUEUE);
    let (out_home, out_pool) = channel::<Vec<u8>>();
    for _ in 0..2 * QUEUE + 2 {
        out_home
            .send(vec![0u8; out_format.frame_bytes()])
            .expect("pool");
    }
    let (in_home, in_pool) = channel::<Vec<u8>>();
    let output = req.output.clone();
    let tolerate = req.job.tolerate_decode_errors;
    let total = t.total_frames;
    let decoder_home = in_home.clone();
    std::thread::scope(|scope| {
        let decoder = scope
            .spawn(move || decode_clips(req, prepared, tolerate, to_gpu, (in_pool, decoder_home)));
        let out_home_enc = out_home.clone();
        let encode_thread = scope.spawn(move || -> Result<(PathBuf, f64), ExportError> {
            let mut enc: Option<Encoder> = None;
            let mut busy = Duration::ZERO;
            let mut n = 0i64;
            while let Ok(frame) = from_gpu.recv() {
                let t0 = Instant::now();
                if enc.is_none() {
                    enc = Some(Encoder::spawn(&output, &settings)?);
                }
                enc.as_mut().expect("spawned").write_frame(n, 1, &frame)?;
                busy += t0.elapsed();
                n += 1;
                let _ = out_home_enc.send(frame);
            }
            let Some(enc) = enc else {
                return Err(ExportError::NoFrames {
                    input: output.display().to_string(),
                });
            };
            if n as u64 != total {
                // the GPU stage stopped early: its error is the one to report
                drop(enc);
                return Err(ExportError::Cancelled(CancelReason::Requested));
            }
            let t0 = Instant::now();
            let path = enc.finish()?;
            busy += t0.elapsed();
            Ok((path, busy.as_secs_f64()))
        });
        let mut engines = Engines::default();
        let gpu_result = gpu_stage(
            gpu,
            prepared,
            &mut engines,
            out_format,
            from_decoder,
            to_encoder,
            out_pool,
            in_home,
            progress,
        );
        let decoded = decoder.join().expect("decoder thread");
        let encoded = encode_thread.join().expect("encoder thread");
        let (decode_s, decode_errors) = decoded.map_err(|e| cancelled_or(req, e))?;
        // every frame of a reel is rendered on the GPU
        let (frames, gpu_s, adapter) = gpu_result.map_err(|e| cancelled_or(req, e))?;
        let (path, encode_s) = encoded.map_err(|e| cancelled_or(req, e))?;
        let wall_s = started.elapsed().as_secs_f64();
        let decoder_name = DecoderKind::Software.name();
        let upscaler = prepared.upscaler.as_ref().map(|u| {
            let (n, d) = engines.network_time();
            UpscaleReport {
                model: u.model.name.clone(),
                kernel: engines.kernel.unwrap_or("none"),
                input_sizes: u.inputs.clone(),
                frames: n,
                network_s: d.as_secs_f64(),
                network_ms_per_frame: d.as_secs_f64() * 1e3 / n.max(1) as f64,
            }
        });
        Ok(ExportSummary {
            output: path,
            kind: "framing",
            frames,
            gpu_frames: frames,
            spliced_frames: 0,
            decode_errors,
            ignored_fields: req.job.ignored_fields.clone(),
            width: ow,
            height: oh,
            duration_s: t.duration(),
            decoder: decoder_name,
            encoder: encoder.name(),
            adapter,
            decode_s,
            gpu_s,
            encode_s,
            wall_s,
            fps: frames as f64 / wall_s.max(1e-9),
            upscaler,
        })
    })
}

/// Decodes each clip's range and sends every frame shown with the outputs it covers.
fn decode_clips(
    req: &ExportRequest,
    prepared: &PreparedReel,
    tolerate: bool,
    to_gpu: SyncSender<Shown>,
    (pool, home): (Receiver<Vec<u8>>, Sender<Vec<u8>>),
) -> Result<(f64, u64), ExportError> {
    let t = &prepared.timeline;
    let mut busy = Duration::ZERO;
    let mut errors = 0u64;
    let mut pooled_for: Option<FrameFormat> = None;
    for (i, clip) in t.clips.iter().enumerate() {
        let src = &prepared.sources[prepared.clip_source[i]];
        let format = FrameFormat::new(src.info.width, src.info.height, src.info.color);
        if pooled_for != Some(format) {
            // a source of another size: a new set of buffers (the old ones are dropped as
            // they come back)
            while pool.try_recv().is_ok() {}
            for _ in 0..2 * QUEUE + 3 {
                home.send(vec![0u8; format.frame_bytes()]).expect("pool");
            }
            pooled_for = Some(format);
        }
        let first_time = clip.source_time(0, t.fps);
        let container_start = src.info.start_time_s.unwrap_or(0.0);
        let seek = (src.first_s - container_start + first_time - SEEK_MARGIN_S).max(0.0);
        let t0 = Instant::now();
        let mut decoder = Decoder::spawn(
            &src.location,
            &src.info,
            DecoderKind::Software,
            DecodeOptions {
                seek_s: Some(seek),
                tolerate_errors: tolerate,
                cancel: Some(req.cancel.clone()),
            },
        )?;
        busy += t0.elapsed();
        let first_pts_tb = |tb: Rational| (src.first_s / tb.as_f64()).round() as i64;
        let mut held: Option<Vec<u8>> = None;
        let mut next = 0u64;
        let mut done = false;
        loop {
            let t0 = Instant::now();
            let pts = decoder.next_frame()?;
            busy += t0.elapsed();
            let Some(pts) = pts else { break };
            let tb = decoder.time_base().expect("known after a frame");
            let time = (pts - first_pts_tb(tb)) as f64 * tb.as_f64();
            // outputs before this frame's time show the frame held before it
            let end = (next..clip.frames)
                .find(|&n| clip.source_time(n, t.fps) >= time - 1e-9)
                .unwrap_or(clip.frames);
            if let Some(frame) = held.take() {
                if end > next {
                    let msg = Shown {
                        clip: i,
                        frame,
                        format,
                        outputs: next..end,
                    };
                    if to_gpu.send(msg).is_err() {
                        decoder.stop();
                        return Ok((busy.as_secs_f64(), errors));
                    }
                    next = end;
                } else {
                    let _ = home.send(frame);
                }
            }
            if next >= clip.frames {
                done = true;
                break;
            }
            let Ok(mut buf) = pool.recv() else {
                decoder.stop();
                return Ok((busy.as_secs_f64(), errors));
            };
            if buf.len() != format.frame_bytes() {
                buf = vec![0u8; format.frame_bytes()];
            }
            let t0 = Instant::now();
            decoder.read_into(&mut buf)?;
            busy += t0.elapsed();
            held = Some(buf);
        }
        if done {
            errors += decoder.decode_errors();
            decoder.stop();
        } else {
            errors += decoder.finish()?;
        }
        // the source ended: the last frame shows until the clip's end
        match held {
            Some(frame) if next < clip.frames => {
                let msg = Shown {
                    clip: i,
                    frame,
                    format,
                    outputs: next..clip.frames,
                };
                if to_gpu.send(msg).is_err() {
                    return Ok((busy.as_secs_f64(), errors));
                }
            }
            Some(frame) => {
                let _ = home.send(frame);
            }
            None if next < clip.frames => {
                return Err(ParamError::new(
                    format!("params.clips_data[{i}].source_start_time"),
                    format!(
                        "the clip shows no frame of its source ({}: nothing decoded after {:.3} s)",
                        src.key, first_time
                    ),
                )
                .into());
            }
            None => {}
        }
    }
    Ok((busy.as_secs_f64(), errors))
}

type EngineFor = (FrameFormat, Option<(u32, u32)>, FrameEngine);

/// The GPU stage's engines: one per source format (and network input size); with the
/// upscaler only the current clip's, the network time of those dropped kept in `retired`.
#[derive(Default)]
struct Engines {
    /// Each engine with the source format and network input size it was made for.
    live: Vec<EngineFor>,
    retired: (u64, Duration),
    /// The upscaler's kernel, once its network is on the device.
    kernel: Option<&'static str>,
}

impl Engines {
    /// Frames through the network and its time, over every engine.
    fn network_time(&self) -> (u64, Duration) {
        self.live
            .iter()
            .map(|(_, _, e)| e.network_time())
            .fold(self.retired, |(n, d), (m, e)| (n + m, d + e))
    }
}

/// Renders every output frame in reel order; returns frames written, GPU seconds and the
/// adapter.
#[allow(clippy::too_many_arguments)]
fn gpu_stage(
    gpu: &GpuStartup,
    prepared: &PreparedReel,
    all: &mut Engines,
    out_format: FrameFormat,
    from_decoder: Receiver<Shown>,
    to_encoder: SyncSender<Vec<u8>>,
    out_pool: Receiver<Vec<u8>>,
    in_home: Sender<Vec<u8>>,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<(u64, f64, String), ExportError> {
    let t = &prepared.timeline;
    let mut plan = FramePlan::default();
    // a dissolve's held frames: the outgoing clip's last `transition_frames` outputs
    let mut tail: Vec<Vec<u8>> = if t.transition == TransitionKind::Dissolve {
        (0..t.transition_frames)
            .map(|_| vec![0u8; out_format.frame_bytes()])
            .collect()
    } else {
        Vec::new()
    };
    let mut written = 0u64;
    let mut gpu_time = Duration::ZERO;
    let mut adapter = String::from("none");
    let out_size = t.out_size;
    let mut net: Option<Arc<SrNetwork>> = None;
    let Engines {
        live: engines,
        retired,
        kernel,
    } = all;
    while let Ok(shown) = from_decoder.recv() {
        let i = shown.clip;
        let clip = &t.clips[i];
        let sr_input = prepared.upscaler.as_ref().map(|u| u.inputs[i]);
        let engine = match engines
            .iter()
            .position(|(f, k, _)| *f == shown.format && *k == sr_input)
        {
            Some(k) => &mut engines[k].2,
            None => {
                let ctx = gpu.wait()?;
                adapter = ctx.adapter.to_string();
                let e = match (&prepared.upscaler, sr_input) {
                    (Some(up), Some(input)) => {
                        // one network-input size at a time: the previous clip's buffers go
                        for (_, _, old) in engines.drain(..) {
                            let (n, d) = old.network_time();
                            retired.0 += n;
                            retired.1 += d;
                        }
                        let net = net
                            .get_or_insert_with(|| Arc::new(SrNetwork::new(&ctx, &up.model)))
                            .clone();
                        *kernel = Some(net.kernel_name());
                        let spec = UpscaleSpec {
                            net,
                            input,
                            tile: None,
                        };
                        FrameEngine::with_upscaler(
                            ctx,
                            shown.format,
                            out_size,
                            BlurQuality::Fast,
                            spec,
                        )?
                    }
                    _ => FrameEngine::new(ctx, shown.format, Some(out_size), BlurQuality::Fast)?,
                };
                engines.push((shown.format, sr_input, e));
                &mut engines.last_mut().expect("pushed").2
            }
        };
        for n in shown.outputs.clone() {
            let t0 = Instant::now();
            t.plan_into(i, n, (shown.format.width, shown.format.height), &mut plan);
            let blend = t.blend(i, n);
            if t.held_for_next(i, n) {
                let k = (n - (clip.frames - t.transition_frames)) as usize;
                let mut out = std::mem::take(&mut tail[k]);
                engine.process(&shown.frame, &plan, &mut out)?;
                tail[k] = out;
                gpu_time += t0.elapsed();
                continue;
            }
            let mut out = out_pool
                .recv()
                .map_err(|_| ExportError::Cancelled(CancelReason::Requested))?;
            match blend {
                Some(Blend::Dissolve { .. }) => {
                    engine.process_with(&shown.frame, &tail[n as usize], &plan, &mut out)?
                }
                _ => engine.process(&shown.frame, &plan, &mut out)?,
            }
            gpu_time += t0.elapsed();
            if to_encoder.send(out).is_err() {
                // the encoder stopped: its error is the one to report
                let _ = in_home.send(shown.frame);
                return Ok((written, gpu_time.as_secs_f64(), adapter));
            }
            written += 1;
            if !progress(written, t.total_frames) {
                return Err(ExportError::Cancelled(CancelReason::Requested));
            }
        }
        let _ = in_home.send(shown.frame);
    }
    Ok((written, gpu_time.as_secs_f64(), adapter))
}
