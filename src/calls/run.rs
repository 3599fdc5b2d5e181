//! Running a call against storage: its objects fetched (or served by range), the engine run on
//! a blocking thread, the output uploaded under the user's prefix, every step reported on the
//! call's [`Stream`] with the milestones of contract §12–§14. A call that fails ends with one
//! error item; its output is never written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::clips::{ClipsCall, SourceFacts};
use super::compose::ComposeCall;
use super::detect::{self as det, DetectCall, Detector, VideoFacts, Wanted};
use super::overlay::OverlayCall;
use super::stitch::StitchCall;
use super::stream::Stream;
use super::{Call, SR_OFF_ENV};
use crate::cancel::CancelToken;
use crate::export::reel::{self, PreparedReel};
use crate::export::{self, DecoderChoice, ExportRequest, ExportSummary, Prepared};
use crate::gpu::{GpuContext, GpuStartup};
use crate::job::framing_v2::Upscale;
use crate::job::{JobParams, JobSpec, Limits};
use crate::storage::{Storage, VIDEO_CONTENT_TYPE};
use crate::task::{JobFailure, LET_GO, cancelled_for, open_sources, until_cancelled};
use crate::video::encode::{EncodeQuality, EncoderKind};
use crate::video::probe::probe_with;

/// What every call runs with (one per worker process).
pub struct CallContext {
    pub storage: Arc<dyn Storage>,
    pub gpu: Arc<GpuContext>,
    pub encoder: EncoderKind,
    pub decoder: DecoderChoice,
    pub limits: Limits,
    /// Parent of each call's temporary folder.
    pub work_dir: PathBuf,
    /// The player detector, loaded on first use and kept for the process's life.
    pub detector: Arc<Detector>,
    /// The branded outro in each reel format, made on first use and kept.
    pub outros: Arc<super::compose::OutroCache>,
}

/// Runs a parsed call; its items go to `stream`, the last one is returned too.
pub async fn run(
    ctx: &CallContext,
    call: Call,
    stream: &Stream,
    cancel: &CancelToken,
) -> (Value, Option<JobFailure>) {
    let function = call.function();
    let result = match call {
        Call::RenderOverlay(c) => overlay(ctx, c, stream, cancel).await,
        Call::ClipsAi(c) => clips(ctx, c, stream, cancel).await,
        Call::Stitch(c) => stitch(ctx, c, stream, cancel).await,
        Call::Compose(c) => compose(ctx, c, cancel).await,
        Call::Detect(c) => {
            return match detect(ctx, c, cancel).await {
                Ok((message, extra)) => (stream.success(message, extra), None),
                Err(f) => (error_item_for(stream, Some(function), &f), Some(f)),
            };
        }
    };
    match result {
        Ok((message, extra)) => (stream.success(message, extra), None),
        Err(f) => (error_item(stream, &f), Some(f)),
    }
}

/// The final error item for `f` (`"<Kind>: <message>"`).
pub fn error_item(stream: &Stream, f: &JobFailure) -> Value {
    stream.error(&f.to_string(), failure_fields(f))
}

/// The final error item for `f` in a call of `function` (named in the input, when it has
/// one): the detection functions return the message alone, as the app's do (§16).
pub fn error_item_for(stream: &Stream, function: Option<&str>, f: &JobFailure) -> Value {
    match function {
        Some("detect_players_modal" | "detect_players_batch_modal") => {
            stream.error(&f.message, failure_fields(f))
        }
        _ => error_item(stream, f),
    }
}

fn failure_fields(f: &JobFailure) -> Map<String, Value> {
    let mut extra = Map::new();
    extra.insert("error_type".into(), json!(f.kind));
    extra.insert("should_retry".into(), json!(f.should_retry));
    extra
}

fn work_folder(ctx: &CallContext, job_id: Option<&str>) -> Result<tempfile::TempDir, JobFailure> {
    let id: String = job_id
        .unwrap_or("call")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    tempfile::Builder::new()
        .prefix(&format!("call-{id}-"))
        .tempdir_in(&ctx.work_dir)
        .map_err(|e| JobFailure::new("InternalError", format!("call folder: {e}"), true))
}

/// Runs `work` (an export) on a blocking thread; a cancelled one that does not let go within
/// [`LET_GO`] is left behind.
async fn blocking<T: Send + 'static>(
    cancel: &CancelToken,
    work: impl FnOnce() -> Result<T, export::ExportError> + Send + 'static,
) -> Result<T, JobFailure> {
    let span = tracing::Span::current();
    let task = tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        work()
    });
    tokio::select! {
        done = task => done
            .map_err(|e| JobFailure::new("InternalError", format!("export task: {e}"), true))?
            .map_err(JobFailure::export),
        reason = cancelled_for(cancel, LET_GO) => Err(JobFailure::cancelled(reason)),
    }
}

async fn upload(
    ctx: &CallContext,
    cancel: &CancelToken,
    file: &Path,
    key: &str,
) -> Result<(), JobFailure> {
    let t = Instant::now();
    until_cancelled(cancel, ctx.storage.upload(file, key, VIDEO_CONTENT_TYPE))
        .await?
        .map_err(|e| JobFailure::storage(e, "kwargs.output_key"))?;
    tracing::info!(%key, secs = t.elapsed().as_secs_f64(), "uploaded");
    Ok(())
}

fn summary_fields(s: &ExportSummary, extra: &mut Map<String, Value>) {
    for (k, v) in [
        ("frames", json!(s.frames)),
        ("width", json!(s.width)),
        ("height", json!(s.height)),
        ("duration", json!(s.duration_s)),
        ("decoder", json!(s.decoder)),
        ("encoder", json!(s.encoder)),
        ("adapter", json!(s.adapter)),
        (
            "timings",
            json!({"export_s": s.wall_s, "fps": s.fps, "decode_busy_s": s.decode_s,
                "gpu_busy_s": s.gpu_s, "encode_busy_s": s.encode_s}),
        ),
    ] {
        extra.insert(k.into(), v);
    }
    if let Some(u) = &s.upscaler {
        extra.insert("upscaler".into(), json!(u));
    }
}

#[allow(clippy::too_many_arguments)]
fn request(
    ctx: &CallContext,
    input: PathBuf,
    default_key: String,
    sources: Vec<(String, String)>,
    params: JobParams,
    ignored: Vec<String>,
    output: PathBuf,
    cancel: &CancelToken,
) -> ExportRequest {
    ExportRequest {
        input,
        default_key,
        sources,
        job: JobSpec {
            params,
            tolerate_decode_errors: false,
            ignored_fields: ignored,
            input_key: None,
        },
        output,
        limits: ctx.limits,
        decoder: ctx.decoder,
        // as the app encodes: libx264 fast crf 23, AAC 192 kb/s
        quality: EncodeQuality::APP,
        cancel: cancel.clone(),
    }
}

/// `render_overlay` (§12).
async fn overlay(
    ctx: &CallContext,
    call: OverlayCall,
    stream: &Stream,
    cancel: &CancelToken,
) -> Result<(&'static str, Map<String, Value>), JobFailure> {
    stream.item(5, "initializing", "Initializing...");
    let dir = work_folder(ctx, call.job_id.as_deref())?;
    let source = dir.path().join("input.mp4");
    stream.item(10, "downloading", "Downloading video...");
    until_cancelled(cancel, ctx.storage.download(&call.input, &source))
        .await?
        .map_err(|e| JobFailure::storage(e, "kwargs.input_key"))?;
    stream.item(20, "downloading", "Download complete");
    let mut extra = Map::new();
    extra.insert("output_key".into(), json!(call.output_key));
    if !call.ignored.is_empty() {
        extra.insert("ignored_fields".into(), json!(call.ignored));
    }
    if call.copies() {
        // nothing is drawn on any frame: the reel is uploaded as it is (still a video)
        let info = {
            let (s, c) = (source.clone(), cancel.clone());
            blocking(cancel, move || Ok(probe_with(&s, Some(&c))?)).await?
        };
        stream.item(85, "uploading", "Uploading result...");
        upload(ctx, cancel, &source, &call.output).await?;
        extra.insert("copied".into(), json!(true));
        extra.insert("duration".into(), json!(info.duration_s));
        return Ok(("Overlay complete", extra));
    }
    stream.item(25, "processing", "Applying highlights...");
    let output = dir.path().join("output.mp4");
    let req = request(
        ctx,
        source,
        call.input.clone(),
        Vec::new(),
        JobParams::OverlayV2(call.params.clone()),
        call.ignored.clone(),
        output.clone(),
        cancel,
    );
    let (gpu, encoder, s) = (ctx.gpu.clone(), ctx.encoder, stream.clone());
    let summary = blocking(cancel, move || {
        let prepared = export::prepare(&req)?;
        let gpu = GpuStartup::ready(gpu);
        let mut last = 25;
        export::run(&gpu, &req, &prepared, encoder, &mut |done, total| {
            // one item per percent, not per frame (each is a POST through RunPod)
            let p = 25 + (55 * done / total.max(1)).min(55) as u8;
            if p != last {
                last = p;
                s.item(p, "processing", "Applying highlights...");
            }
            true
        })
    })
    .await?;
    stream.item(85, "uploading", "Uploading result...");
    upload(ctx, cancel, &output, &call.output).await?;
    summary_fields(&summary, &mut extra);
    Ok(("Overlay complete", extra))
}

/// Which upscaler a reel uses: the AI x4 network, unless `REELGPU_SR=off` (then Lanczos,
/// with the warning that says so).
fn upscaler() -> (Upscale, Option<String>) {
    let off = std::env::var(SR_OFF_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("off"));
    match off {
        true => (
            Upscale::Lanczos,
            Some(format!(
                "{SR_OFF_ENV}=off: crops are resized with Lanczos (a = 4), not the AI x4 network"
            )),
        ),
        false => (Upscale::Ai, None),
    }
}

/// `process_clips_ai` (§13).
async fn clips(
    ctx: &CallContext,
    call: ClipsCall,
    stream: &Stream,
    cancel: &CancelToken,
) -> Result<(&'static str, Map<String, Value>), JobFailure> {
    let n = call.clips.len();
    stream.set_extra("clip", json!(0));
    stream.set_extra("total_clips", json!(n));
    stream.item(2, "initializing", "Initializing...");
    let dir = work_folder(ctx, call.job_id.as_deref())?;
    // only the bytes each clip needs are read, through the range bridge
    let mut named: Vec<(String, String)> = Vec::new();
    for (i, k) in call.sources.iter().enumerate() {
        if call.clips.iter().any(|c| c.source == i) && !named.iter().any(|(have, _)| have == k) {
            named.push((k.clone(), format!("kwargs.source_keys[{i}]")));
        }
    }
    let bridge = open_sources(&ctx.storage, &named, cancel).await?;
    let urls: Vec<(String, String)> = named
        .iter()
        .map(|(k, _)| (k.clone(), bridge.url(k).expect("served")))
        .collect();
    let unmask = |mut f: JobFailure| {
        f.message = bridge.unmask(&f.message);
        f
    };
    let output = dir.path().join("output.mp4");
    let first = urls[0].clone();
    let limits = ctx.limits;
    let probe_req = request(
        ctx,
        PathBuf::from(&first.1),
        first.0.clone(),
        urls.clone(),
        JobParams::Reel(
            call.to_reel(
                &vec![
                    SourceFacts {
                        fps: 30.0,
                        length_s: f64::INFINITY
                    };
                    call.sources.len()
                ],
                &limits,
            )
            .map_err(|e| JobFailure::invalid(e.to_string()))?,
        ),
        Vec::new(),
        output.clone(),
        cancel,
    );
    // probe every source once: the facts the kwargs need (frame rates, lengths), then place
    let (prepared, req) = {
        let call = call.clone();
        let req0 = probe_req;
        blocking(cancel, move || {
            let JobParams::Reel(p0) = &req0.job.params else {
                unreachable!("built above")
            };
            let (sources, clip_source) = reel::probe_sources(&req0, p0)?;
            let facts: Vec<SourceFacts> = call
                .sources
                .iter()
                .map(|k| {
                    sources
                        .iter()
                        .find(|s| &s.key == k)
                        .map(|s| SourceFacts {
                            fps: s.info.frame_rate.map(|r| r.as_f64()).unwrap_or(30.0),
                            length_s: s.length_s,
                        })
                        .unwrap_or(SourceFacts {
                            fps: 30.0,
                            length_s: f64::INFINITY,
                        })
                })
                .collect();
            let mut p = call.to_reel(&facts, &limits).map_err(|e| call.kwarg(e))?;
            p.upscale = upscaler().0;
            let placed: PreparedReel =
                reel::place(&p, sources, clip_source).map_err(|e| match e {
                    export::ExportError::Job(pe) => export::ExportError::Job(call.kwarg(pe)),
                    other => other,
                })?;
            let mut req = req0;
            req.job.params = JobParams::Reel(p);
            Ok((Prepared::reel(placed), req))
        })
        .await
        .map_err(unmask)?
    };
    stream.item(10, "initializing", "Sources resolved");
    let (upscale, why) = upscaler();
    if let Some(why) = &why {
        tracing::warn!("{why}");
    }
    // (the model was loaded and checked with the sources, before anything was decoded)
    stream.item(12, "loading_model", "Loading AI model...");
    stream.item(15, "loading_model", "AI model loaded");
    let timeline = prepared.reel.as_ref().expect("a reel").timeline.clone();
    let (gpu, encoder, s) = (ctx.gpu.clone(), ctx.encoder, stream.clone());
    let summary = blocking(cancel, move || {
        let gpu = GpuStartup::ready(gpu);
        let mut current = usize::MAX;
        let mut last_frame = 0u64;
        export::run(&gpu, &req, &prepared, encoder, &mut |done, _total| {
            let m = done
                .saturating_sub(1)
                .min(timeline.total_frames.saturating_sub(1));
            let (i, k) = timeline.locate(m);
            let clip = &timeline.clips[i];
            let (lo, span) = (15.0 + 60.0 * i as f64 / n as f64, 60.0 / n as f64);
            if i != current {
                current = i;
                last_frame = 0;
                s.set_extra("clip", json!(i + 1));
                s.item(
                    lo as u8,
                    "upscaling",
                    &format!("Processing clip {}/{n}...", i + 1),
                );
            }
            let k = k + 1;
            if k - last_frame >= 15 || k == clip.frames {
                last_frame = k;
                let mut own = Map::new();
                own.insert("current_frame".into(), json!(k));
                own.insert("total_frames".into(), json!(clip.frames));
                let p = lo + span * k as f64 / clip.frames.max(1) as f64;
                s.item_with(
                    p as u8,
                    "upscaling",
                    &format!("Clip {}: frame {k}/{}", i + 1, clip.frames),
                    own,
                );
            }
            true
        })
    })
    .await
    .map_err(unmask)?;
    drop(bridge);
    stream.set_extra("clip", json!(0));
    stream.item(78, "concatenating", "Finalizing video...");
    stream.item(90, "uploading", "Uploading result...");
    upload(ctx, cancel, &output, &call.output).await?;
    let mut extra = Map::new();
    extra.insert("output_key".into(), json!(call.output_key));
    extra.insert("clips_processed".into(), json!(n));
    extra.insert(
        "upscale".into(),
        json!(match upscale {
            Upscale::Ai => "ai",
            Upscale::Lanczos => "lanczos",
        }),
    );
    if let Some(why) = why {
        extra.insert("warnings".into(), json!([why]));
    }
    if !call.ignored.is_empty() {
        extra.insert("ignored_fields".into(), json!(call.ignored));
    }
    summary_fields(&summary, &mut extra);
    Ok(("Processing complete", extra))
}

/// `stitch_members` (§14).
async fn stitch(
    ctx: &CallContext,
    call: StitchCall,
    _stream: &Stream,
    cancel: &CancelToken,
) -> Result<(&'static str, Map<String, Value>), JobFailure> {
    let dir = work_folder(ctx, None)?;
    let mut files = Vec::new();
    for (i, key) in call.inputs.iter().enumerate() {
        let path = dir.path().join(format!("member-{i}.mp4"));
        until_cancelled(cancel, ctx.storage.download(key, &path))
            .await?
            .map_err(|e| JobFailure::storage(e, &format!("kwargs.input_keys[{i}]")))?;
        files.push(path);
    }
    let output = dir.path().join("stitched.mp4");
    let (out, encoder, c) = (output.clone(), ctx.encoder, cancel.clone());
    let summary = blocking(cancel, move || {
        export::stitch::stitch(&files, &out, encoder, &c)
    })
    .await?;
    upload(ctx, cancel, &output, &call.output).await?;
    let mut extra = Map::new();
    extra.insert("output_key".into(), json!(call.output_key));
    extra.insert("duration".into(), json!(summary.duration_s));
    extra.insert("mode".into(), json!(summary.mode));
    Ok(("Stitch complete", extra))
}

/// `compose_serve_time_modal` (§15): the reel, the intro card's layers and the outro fetched,
/// the card drawn and everything joined on a blocking thread, the result uploaded. Only an
/// unreadable reel or an unwritable result fails the call; every other failure leaves its
/// part out and says so.
async fn compose(
    ctx: &CallContext,
    call: ComposeCall,
    cancel: &CancelToken,
) -> Result<(&'static str, Map<String, Value>), JobFailure> {
    use crate::export::compose::{ComposeParts, ReelFormat};
    let started = Instant::now();
    let dir = work_folder(ctx, None)?;
    let reel = dir.path().join("reel.mp4");
    until_cancelled(cancel, ctx.storage.download(&call.reel, &reel))
        .await?
        .map_err(|e| JobFailure::storage(e, "kwargs.reel_key"))?;
    let reel_info = {
        let (p, c) = (reel.clone(), cancel.clone());
        tokio::task::spawn_blocking(move || probe_with(&p, Some(&c)))
            .await
            .map_err(|e| JobFailure::new("InternalError", format!("probe task: {e}"), true))?
            .map_err(|e| {
                JobFailure::new(
                    "InvalidInput",
                    format!("kwargs.reel_key: the reel cannot be read: {e}"),
                    false,
                )
            })?
    };
    // the intro: every layer fetched and decoded, each of the plan's files found among them
    let card = match call.intro {
        None => None,
        Some((plan, keys)) => Some(match plan {
            Err(e) => Err(e),
            Ok(plan) => {
                let layers = dir.path().join("layers");
                let mut fetched = std::collections::HashMap::new();
                let mut failed = None;
                for (i, key) in keys.iter().enumerate() {
                    let name = key.rsplit('/').next().unwrap_or(key).to_string();
                    let path = layers.join(format!("{i}.png"));
                    let _ = std::fs::create_dir_all(&layers);
                    match until_cancelled(cancel, ctx.storage.download(key, &path)).await? {
                        Ok(_) => {
                            fetched.insert(name, path);
                        }
                        Err(e) => {
                            failed = Some(format!("kwargs.intro_layer_keys[{i}]: {e}"));
                            break;
                        }
                    }
                }
                match failed {
                    Some(e) => Err(e),
                    None => load_card_layers(plan, &fetched),
                }
            }
        }),
    };
    let format = ReelFormat::of(&reel_info);
    let outro = match (call.outro, crate::export::compose::outro_location()) {
        (true, Some(location)) => Some(match &format {
            Err(e) => Err(e.clone()),
            Ok(f) => ctx.outros.get(ctx, &location, f, cancel).await,
        }),
        _ => None,
    };
    let output = dir.path().join("composed.mp4");
    let parts = ComposeParts {
        reel,
        reel_info,
        card,
        outro,
    };
    let (gpu, encoder, out, c) = (ctx.gpu.clone(), ctx.encoder, output.clone(), cancel.clone());
    let summary = blocking(cancel, move || {
        crate::export::compose::compose(&gpu, parts, &out, encoder, &c)
    })
    .await?;
    until_cancelled(
        cancel,
        ctx.storage
            .upload(&output, &call.output, VIDEO_CONTENT_TYPE),
    )
    .await?
    .map_err(|e| JobFailure::storage(e, "kwargs.out_key"))?;
    let mut extra = Map::new();
    extra.insert("out_key".into(), json!(call.out_key));
    extra.insert("duration".into(), json!(summary.duration_s));
    extra.insert("full_fidelity".into(), json!(summary.full_fidelity));
    extra.insert("degraded_reason".into(), json!(summary.degraded_reason));
    extra.insert("intro".into(), json!(summary.intro));
    extra.insert("outro".into(), json!(summary.outro));
    extra.insert("join".into(), json!(summary.join));
    extra.insert(
        "timings".into(),
        json!({"call_s": started.elapsed().as_secs_f64()}),
    );
    Ok(("Compose complete", extra))
}

/// The plan's layer images, each the fetched file of its `file` name, decoded.
fn load_card_layers(
    plan: crate::job::card::CardPlan,
    fetched: &std::collections::HashMap<String, PathBuf>,
) -> Result<
    (
        crate::job::card::CardPlan,
        Vec<crate::effects::card::CardImage>,
    ),
    String,
> {
    let mut images = Vec::with_capacity(plan.layers.len());
    for (i, l) in plan.layers.iter().enumerate() {
        let path = fetched.get(l.file()).ok_or_else(|| {
            format!(
                "kwargs.card_plan.layers[{i}].file {:?} is not among intro_layer_keys",
                l.file()
            )
        })?;
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", l.file()))?;
        let img = crate::effects::card::decode_png(&bytes)
            .map_err(|e| format!("kwargs.card_plan.layers[{i}] ({}) {e}", l.file()))?;
        images.push(img);
    }
    Ok((plan, images))
}

/// `detect_players_modal` / `detect_players_batch_modal` (§16).
async fn detect(
    ctx: &CallContext,
    call: DetectCall,
    cancel: &CancelToken,
) -> Result<(&'static str, Map<String, Value>), JobFailure> {
    let started = Instant::now();
    // the model first: a call without one, or with a broken one, reads nothing
    let model = {
        let (gpu, d) = (ctx.gpu.clone(), ctx.detector.clone());
        tokio::task::spawn_blocking(move || d.get(&gpu))
            .await
            .map_err(|e| JobFailure::new("InternalError", format!("model task: {e}"), true))?
            .map_err(|m| JobFailure::new("ModelError", m, false))?
    };
    let named = vec![(call.input.clone(), "kwargs.input_key".to_string())];
    let bridge = open_sources(&ctx.storage, &named, cancel).await?;
    let url = bridge.url(&call.input).expect("served");
    let (gpu, c) = (ctx.gpu.clone(), cancel.clone());
    let task = tokio::task::spawn_blocking(move || detect_frames(&gpu, model, &url, &call, &c));
    let result = tokio::select! {
        done = task => done
            .map_err(|e| JobFailure::new("InternalError", format!("detection task: {e}"), true))?,
        reason = cancelled_for(cancel, LET_GO) => Err(JobFailure::cancelled(reason)),
    };
    let (fetched, total) = (bridge.bytes_fetched(), bridge.bytes_total());
    let mut extra = result.map_err(|mut f| {
        f.message = bridge.unmask(&f.message);
        f
    })?;
    extra.insert(
        "timings".into(),
        json!({"call_s": started.elapsed().as_secs_f64(), "bytes_read": fetched,
            "object_bytes": total}),
    );
    Ok(("Detection complete", extra))
}

/// Frames a detection call runs through the network in one submission.
const DETECT_BATCH: usize = 16;

/// Probes the video, decodes the wanted frames (once each, in time order) and runs them
/// through the detector.
fn detect_frames(
    gpu: &GpuContext,
    model: Arc<crate::nn::yolo::YoloGpu>,
    url: &str,
    call: &DetectCall,
    cancel: &CancelToken,
) -> Result<Map<String, Value>, JobFailure> {
    let video = |e: crate::video::VideoError| JobFailure::export(export::ExportError::Video(e));
    let info = probe_with(Path::new(url), Some(cancel)).map_err(video)?;
    let fps = info
        .frame_rate
        .map(|r| r.as_f64())
        .filter(|f| *f > 0.0)
        .unwrap_or(0.0);
    let total = info
        .frame_count
        .filter(|n| *n > 0)
        .unwrap_or_else(|| (info.duration_s.unwrap_or(0.0) * fps).round().max(0.0) as u64);
    let facts = VideoFacts {
        width: info.width,
        height: info.height,
        fps,
        total,
    };
    let frames = det::frame_numbers(&call.wanted, &facts).map_err(JobFailure::invalid)?;
    let mut unique = frames.clone();
    unique.sort_unstable();
    unique.dedup();
    let decoded = crate::video::extract::extract_available(url, &info, &unique, Some(cancel))
        .map_err(video)?;
    let format = crate::frame::FrameFormat::new(info.width, info.height, info.color);
    let plan = det::plan(gpu, model, format).map_err(|m| JobFailure::new("GpuError", m, true))?;
    let g = plan.letterbox.expect("a frame plan letterboxes");
    let gpu_err = |e: crate::gpu::GpuError| JobFailure::export(export::ExportError::Gpu(e));
    if cancel.is_cancelled() {
        return Err(JobFailure::cancelled(
            cancel
                .reason()
                .unwrap_or(crate::cancel::CancelReason::Requested),
        ));
    }
    // the frames through the network together, in batches that keep the uploads bounded
    let mut by_frame = std::collections::HashMap::new();
    for chunk in decoded.chunks(DETECT_BATCH) {
        let frames: Vec<&crate::frame::YuvFrame> = chunk.iter().map(|f| &f.frame).collect();
        let cands = plan.candidates_batch(gpu, &frames).map_err(gpu_err)?;
        for (f, c) in chunk.iter().zip(cands) {
            by_frame.insert(f.index, det::players(&c, call.confidence, &g));
        }
    }
    match &call.wanted {
        Wanted::Frame(_) => {
            let n = frames[0];
            let boxes = by_frame.get(&n).ok_or_else(|| {
                JobFailure::new("VideoError", format!("Failed to read frame {n}"), false)
            })?;
            Ok(det::single_result(n, boxes, &facts))
        }
        Wanted::Times(ts) => {
            let boxes: Vec<Vec<_>> = frames
                .iter()
                .map(|n| by_frame.get(n).cloned().unwrap_or_default())
                .collect();
            Ok(det::batch_result(ts, &frames, &boxes, &facts))
        }
    }
}
