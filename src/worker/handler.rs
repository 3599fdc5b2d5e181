//! One job, start to finish (contract §1–3, §8): validate → callbacks 0 and 5 → download →
//! export (progress 10–90) → 95 → upload to `output/<job_id>/video.mp4` → `complete`. On any
//! failure: an `error` callback with `should_retry`, a failed result, no output object, and the
//! input untouched. The job's files live in a temporary folder removed on every path.
//!
//! Every job ends: one [`CancelToken`] reaches the storage transfers, the probe and every
//! ffmpeg child, and is cancelled by the job's deadline (`REELGPU_JOB_TIMEOUT_S`) or by the
//! worker's shutdown. A stage that still does not let go within [`LET_GO`] of a cancel is left
//! behind and the job is reported failed all the same.
//!
//! Failure kinds and `should_retry` ([`JobFailure::kind`]):
//!
//! | kind | when | should_retry |
//! |---|---|---|
//! | `InvalidInput` | the job breaks the contract (names the field) | false |
//! | `InputNotFound` | `input_video_key` is not in the bucket | false |
//! | `VideoError` | not a readable video, damaged, unsupported container or codec, too large | false |
//! | `VideoError` | ffmpeg itself failed or was killed (not the input's fault) | true |
//! | `StorageError` | storage unreachable, failing or the object changed mid-download | true |
//! | `StorageError` | storage misconfigured | false |
//! | `GpuError` | GPU errors, a lost device (then also `stopPod`) | true |
//! | `JobTimeout` | past `REELGPU_JOB_TIMEOUT_S` | false |
//! | `Cancelled` | the worker shut down mid-job (SIGTERM past its grace) | true |
//! | `InternalError` | a bug (a panicking job) | true |

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::callbacks::{CallbackPolicy, Callbacks, ProgressHandle, Terminal};
use super::input::JobInput;
use crate::calls::{self, CallContext, Sink, Stream};
use crate::cancel::{CancelReason, CancelToken};
use crate::export::{self, DecoderChoice, ExportRequest, ExportSummary};
use crate::gpu::{GpuContext, GpuStartup};
use crate::job::Limits;
use crate::storage::{Storage, VIDEO_CONTENT_TYPE};
pub use crate::task::{JobFailure, LET_GO};
use crate::task::{cancelled_for, open_sources, until_cancelled};
use crate::video::encode::EncoderKind;

/// What a job produced.
#[derive(Debug)]
pub struct JobOutcome {
    /// The contract's result object (`{"status": "success", ...}` or
    /// `{"status": "error", "error": "<Kind>: <message>"}`).
    pub output: Value,
    pub failure: Option<JobFailure>,
    /// The terminal callback still being delivered in the background, if any.
    pub callbacks: Option<JoinHandle<()>>,
}

/// Everything a job needs, shared by all jobs of one worker process.
pub struct Worker {
    pub storage: Arc<dyn Storage>,
    pub gpu: Arc<GpuContext>,
    pub encoder: EncoderKind,
    pub decoder: DecoderChoice,
    pub limits: Limits,
    pub callback_policy: Arc<CallbackPolicy>,
    pub http: reqwest::Client,
    /// Parent of each job's temporary folder.
    pub work_dir: PathBuf,
    /// How long one job may run before it is stopped (`REELGPU_JOB_TIMEOUT_S`).
    pub job_timeout: Duration,
    /// The player detector the calls share (loaded by the self-check, else on first use).
    pub detector: Arc<crate::calls::detect::Detector>,
    /// The branded outro in each reel format the calls have needed.
    pub outros: Arc<crate::calls::compose::OutroCache>,
}

impl Worker {
    /// Runs one job's `input`. Cancelling `cancel` stops it wherever it is (the job then
    /// fails, `Cancelled`); so does its deadline (`JobTimeout`).
    pub async fn run_job(&self, input: &Value, cancel: CancelToken) -> JobOutcome {
        if calls::is_call(input) {
            // a call's stream has nowhere to go here: its items are logged
            let log: Sink = Arc::new(|item| tracing::info!(%item, "call progress"));
            return self.run_call(input, cancel, log).await;
        }
        // The callback URL is checked first so that even a bad job is reported to it.
        let callbacks = match input.get("callback_url") {
            None | Some(Value::Null) => Ok(Callbacks::disabled()),
            Some(Value::String(url)) => self
                .callback_policy
                .check(url)
                .map(|u| Callbacks::start(self.http.clone(), u, self.callback_policy.clone()))
                .map_err(|m| JobFailure::invalid(format!("callback_url {m}"))),
            Some(_) => Err(JobFailure::invalid("callback_url must be a string")),
        };
        let callbacks = match callbacks {
            Ok(c) => c,
            Err(failure) => return failed(failure, None),
        };
        let progress = callbacks.progress();
        let deadline = self.deadline(&cancel);
        let result = self.run_checked(input, &progress, &cancel).await;
        deadline.abort();
        match result {
            Ok((key, summary)) => {
                let task = callbacks.finish(Terminal::Complete {
                    output_video_key: key.clone(),
                });
                JobOutcome {
                    output: success(&key, &summary),
                    failure: None,
                    callbacks: task,
                }
            }
            Err(failure) => {
                tracing::warn!(error = %failure, retry = failure.should_retry, "job failed");
                let task = callbacks.finish(Terminal::Error {
                    error: failure.to_string(),
                    should_retry: failure.should_retry,
                });
                failed(failure, task)
            }
        }
    }

    async fn run_checked(
        &self,
        input: &Value,
        progress: &ProgressHandle,
        cancel: &CancelToken,
    ) -> Result<(String, ExportSummary), JobFailure> {
        let mut job =
            JobInput::parse(input, &self.limits).map_err(|e| JobFailure::invalid(e.to_string()))?;
        progress.set(0, "Starting export...");
        let dir = tempfile::Builder::new()
            .prefix(&format!("job-{}-", job.job_id))
            .tempdir_in(&self.work_dir)
            .map_err(|e| JobFailure::new("InternalError", format!("job folder: {e}"), true))?;
        let source = dir.path().join("input");
        let output = dir.path().join("video.mp4");

        // Clips (annotate, §10 reels) need only their ranges of their sources: ffmpeg reads
        // them through the range bridge. The other exports read the whole source: it is
        // downloaded once.
        let ranged = matches!(
            job.spec.params,
            crate::job::JobParams::Annotate(_) | crate::job::JobParams::Reel(_)
        );
        let mut bridge = None;
        let (source, other_sources) = if ranged {
            progress.set(5, "Opening video...");
            let named = self.source_keys(&job);
            let keys: Vec<String> = named.iter().map(|(k, _)| k.clone()).collect();
            let b = open_sources(&self.storage, &named, cancel).await?;
            let url = |k: &str| b.url(k).expect("served");
            let others = keys[1..]
                .iter()
                .map(|k| (k.clone(), url(k)))
                .collect::<Vec<_>>();
            let source = PathBuf::from(url(&job.input_video_key));
            bridge = Some(b);
            self.fetch_text_layers(&mut job, dir.path(), cancel).await?;
            (source, others)
        } else {
            progress.set(5, "Downloading video...");
            let t = Instant::now();
            let bytes =
                until_cancelled(cancel, self.storage.download(&job.input_video_key, &source))
                    .await?
                    .map_err(|e| JobFailure::storage(e, "input_video_key"))?;
            tracing::info!(key = %job.input_video_key, bytes, secs = t.elapsed().as_secs_f64(), "downloaded");
            self.fetch_text_layers(&mut job, dir.path(), cancel).await?;
            (source, Vec::new())
        };

        progress.set(10, "Processing video...");
        let req = ExportRequest {
            input: source,
            default_key: job.input_video_key.clone(),
            sources: other_sources,
            job: job.spec.clone(),
            output: output.clone(),
            limits: self.limits,
            decoder: self.decoder,
            quality: Default::default(),
            cancel: cancel.clone(),
        };
        let (gpu, encoder, p) = (self.gpu.clone(), self.encoder, progress.clone());
        let span = tracing::Span::current();
        let export = tokio::task::spawn_blocking(move || {
            let _span = span.enter();
            let prepared = export::prepare(&req)?;
            let mut last = 10;
            let gpu = GpuStartup::ready(gpu);
            export::run(&gpu, &req, &prepared, encoder, &mut |done, total| {
                let percent = 10 + (80 * done / total.max(1)).min(80) as u8;
                if percent != last {
                    last = percent;
                    p.set(percent, "Processing video...");
                }
                true
            })
        });
        // a cancelled export kills its children and ends at once; one that does not let go
        // is left behind rather than keeping the job from ending
        let summary = tokio::select! {
            done = export => done
                .map_err(|e| JobFailure::new("InternalError", format!("export task: {e}"), true))?
                .map_err(|e| {
                    let mut f = JobFailure::export(e);
                    // name sources by their keys, not by the bridge's URLs
                    if let Some(b) = &bridge {
                        f.message = b.unmask(&f.message);
                    }
                    f
                })?,
            reason = cancelled_for(cancel, LET_GO) => {
                tracing::error!("the export did not stop within {LET_GO:?} of being cancelled");
                return Err(JobFailure::cancelled(reason));
            }
        };

        if let Some(b) = &bridge {
            tracing::info!(
                fetched = b.bytes_fetched(),
                total = b.bytes_total(),
                "read only the sources' ranges the clips need"
            );
        }
        drop(bridge);
        progress.set(95, "Uploading result...");
        let key = job.output_key();
        let t = Instant::now();
        until_cancelled(
            cancel,
            self.storage.upload(&output, &key, VIDEO_CONTENT_TYPE),
        )
        .await?
        .map_err(|e| JobFailure::storage(e, "output"))?;
        tracing::info!(%key, secs = t.elapsed().as_secs_f64(), "uploaded");
        drop(dir);
        Ok((key, summary))
    }
}

impl Worker {
    /// Cancels `cancel` once the job has run for `REELGPU_JOB_TIMEOUT_S` (abort the handle when
    /// it ends first).
    fn deadline(&self, cancel: &CancelToken) -> JoinHandle<()> {
        let (token, limit) = (cancel.clone(), self.job_timeout);
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            tracing::warn!("the job ran past its deadline ({limit:?}): stopping it");
            token.cancel(CancelReason::Deadline(limit));
        })
    }

    /// What the app's calls run with.
    pub fn call_context(&self) -> CallContext {
        CallContext {
            storage: self.storage.clone(),
            gpu: self.gpu.clone(),
            encoder: self.encoder,
            decoder: self.decoder,
            limits: self.limits,
            work_dir: self.work_dir.clone(),
            detector: self.detector.clone(),
            outros: self.outros.clone(),
        }
    }

    /// Runs one of the web app's calls (contract Part 3, `{"function", "kwargs"}`): every item
    /// of its progress stream goes to `sink`, the last one (with `status`) is also the
    /// outcome's output. Cancelling `cancel`, or the deadline, stops it with an error item.
    pub async fn run_call(&self, input: &Value, cancel: CancelToken, sink: Sink) -> JobOutcome {
        let stream = Stream::new(sink);
        let call = match calls::parse(input, &self.limits) {
            Ok(c) => c,
            Err(e) => {
                let failure = JobFailure::invalid(e.to_string());
                tracing::warn!(error = %failure, "call refused");
                let output = calls::run::error_item_for(
                    &stream,
                    input.get("function").and_then(Value::as_str),
                    &failure,
                );
                return JobOutcome {
                    output,
                    failure: Some(failure),
                    callbacks: None,
                };
            }
        };
        tracing::info!(function = call.function(), "call");
        let deadline = self.deadline(&cancel);
        let (output, failure) = calls::run(&self.call_context(), call, &stream, &cancel).await;
        deadline.abort();
        if let Some(f) = &failure {
            tracing::warn!(error = %f, retry = f.should_retry, "call failed");
        }
        JobOutcome {
            output,
            failure,
            callbacks: None,
        }
    }

    /// Every source key the job reads, the job's input first, with the field that names it.
    fn source_keys(&self, job: &JobInput) -> Vec<(String, String)> {
        let mut keys = vec![(job.input_video_key.clone(), "input_video_key".to_string())];
        if let crate::job::JobParams::Reel(p) = &job.spec.params {
            for i in 0..p.clips_data.len() {
                let k = p.source_key(i, &job.input_video_key);
                if !keys.iter().any(|(have, _)| have == k) {
                    keys.push((k.to_string(), p.source_field(i)));
                }
            }
        }
        keys
    }

    /// Fetches the §9 text layers given by `image_key` from the job's bucket (small PNGs,
    /// read into memory once) so the export sees only inline images.
    async fn fetch_text_layers(
        &self,
        job: &mut JobInput,
        dir: &std::path::Path,
        cancel: &CancelToken,
    ) -> Result<(), JobFailure> {
        let crate::job::JobParams::OverlayV2(p) = &mut job.spec.params else {
            return Ok(());
        };
        let keys: Vec<(usize, String)> = p
            .text_layers
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match &l.image {
                crate::job::overlay_v2::TextImage::Key(k) => Some((i, k.clone())),
                crate::job::overlay_v2::TextImage::Png(_) => None,
            })
            .collect();
        let mut fetched = std::collections::HashMap::new();
        for (i, key) in keys {
            if fetched.contains_key(&key) {
                continue;
            }
            let field = format!("params.text_layers[{i}].image_key");
            crate::storage::check_key(&key)
                .map_err(|e| JobFailure::invalid(format!("{field} {e}")))?;
            let path = dir.join(format!("text-layer-{i}.png"));
            until_cancelled(cancel, self.storage.download(&key, &path))
                .await?
                .map_err(|e| JobFailure::storage(e, &field))?;
            let bytes = std::fs::read(&path)
                .map_err(|e| JobFailure::new("InternalError", format!("{field}: {e}"), true))?;
            let _ = std::fs::remove_file(&path);
            fetched.insert(key, bytes);
        }
        p.resolve_image_keys(|key| {
            fetched
                .get(key)
                .cloned()
                .ok_or_else(|| format!("{key:?} was not fetched"))
        })
        .map_err(|e| JobFailure::invalid(e.to_string()))
    }
}

/// The job's deadline: `REELGPU_JOB_TIMEOUT_S` (default one hour).
pub fn job_timeout_from_env() -> Duration {
    let secs = std::env::var("REELGPU_JOB_TIMEOUT_S")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(3600);
    Duration::from_secs(secs)
}

fn success(key: &str, s: &ExportSummary) -> Value {
    let mut v = json!({
        "status": "success",
        "output_video_key": key,
        "type": s.kind,
        "frames": s.frames,
        "decode_errors": s.decode_errors,
        "ignored_fields": s.ignored_fields,
        "width": s.width,
        "height": s.height,
        "duration_s": s.duration_s,
        "decoder": s.decoder,
        "encoder": s.encoder,
        "adapter": s.adapter,
        "timings": {
            "export_s": s.wall_s,
            "fps": s.fps,
            "decode_busy_s": s.decode_s,
            "gpu_busy_s": s.gpu_s,
            "encode_busy_s": s.encode_s,
        },
    });
    if let Some(u) = &s.upscaler {
        v["upscaler"] = json!(u);
    }
    v
}

fn failed(failure: JobFailure, callbacks: Option<JoinHandle<()>>) -> JobOutcome {
    JobOutcome {
        output: json!({"status": "error", "error": failure.to_string()}),
        failure: Some(failure),
        callbacks,
    }
}
