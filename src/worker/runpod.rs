//! RunPod's serverless worker protocol (`shared/runpod-protocol.md`), spoken directly: take a
//! job (long poll), run it, post the result; a heartbeat on its own task throughout; a graceful
//! stop on SIGTERM/SIGINT.
//!
//! Where the Python SDK falls short this does better: results are retried on 5xx, connection
//! errors and timeouts with backoff for minutes (and a lost result is logged as an error), a
//! failed take backs off instead of hammering the API, the heartbeat cannot be starved by the
//! export (which runs on a blocking thread), and no progress is posted after a result.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};

use super::handler::LET_GO;
use crate::cancel::{CancelReason, CancelToken};
use serde_json::{Value, json};
use tokio::sync::watch;
use tracing::Instrument;

use super::handler::Worker;

/// The version reported in pings.
pub const VERSION: &str = concat!("reelgpu-", env!("CARGO_PKG_VERSION"));

/// The protocol's environment.
#[derive(Debug, Clone)]
pub struct RunpodEnv {
    pub take_url: String,
    pub done_url: String,
    /// Where a call's stream items go (`RUNPOD_WEBHOOK_POST_STREAM`).
    pub stream_url: Option<String>,
    pub ping_url: Option<String>,
    pub ping_interval: Duration,
    pub pod_id: String,
    api_key: Option<String>,
    /// How long results are retried before they are given up (and logged as lost).
    pub result_deadline: Duration,
    /// How long a running job may go on after SIGTERM before it is cancelled.
    pub stop_grace: Duration,
    /// Jobs run at once on the one device (`REELGPU_CONCURRENCY`, 1 to 16, default 1).
    pub concurrency: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RunpodError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name}={value:?} is not valid: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
    },
}

impl RunpodEnv {
    /// `None` when `RUNPOD_WEBHOOK_GET_JOB` is unset (not running under RunPod).
    pub fn from_env() -> Option<Result<Self, RunpodError>> {
        Self::from_lookup(|n| std::env::var(n).ok())
    }

    /// Like [`Self::from_env`], from these variables only (tests run the loop in-process).
    pub fn from_vars(vars: &[(&str, String)]) -> Option<Result<Self, RunpodError>> {
        Self::from_lookup(|n| {
            vars.iter()
                .rev()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.clone())
        })
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Option<Result<Self, RunpodError>> {
        let var = |n: &str| lookup(n).filter(|v| !v.is_empty());
        let take = var("RUNPOD_WEBHOOK_GET_JOB")?;
        Some(Self::build(take, var))
    }

    fn build(take: String, var: impl Fn(&str) -> Option<String>) -> Result<Self, RunpodError> {
        let pod_id = var("RUNPOD_POD_ID").unwrap_or_else(|| "local".into());
        let done = var("RUNPOD_WEBHOOK_POST_OUTPUT")
            .ok_or(RunpodError::Missing("RUNPOD_WEBHOOK_POST_OUTPUT"))?;
        let millis = |name: &'static str, default: u64| -> Result<Duration, RunpodError> {
            match var(name) {
                None => Ok(Duration::from_millis(default)),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Duration::from_millis)
                    .ok_or(RunpodError::Invalid {
                        name,
                        value: v,
                        why: "must be a positive number of milliseconds".into(),
                    }),
            }
        };
        Ok(Self {
            take_url: take
                .replace("$RUNPOD_POD_ID", &pod_id)
                .replace("$ID", &pod_id),
            done_url: done.replace("$RUNPOD_POD_ID", &pod_id),
            stream_url: var("RUNPOD_WEBHOOK_POST_STREAM")
                .map(|u| u.replace("$RUNPOD_POD_ID", &pod_id)),
            ping_url: var("RUNPOD_WEBHOOK_PING")
                .map(|p| p.replace("$RUNPOD_POD_ID", &pod_id).replace("$ID", &pod_id)),
            ping_interval: millis("RUNPOD_PING_INTERVAL", 10_000)?,
            api_key: var("RUNPOD_AI_API_KEY"),
            result_deadline: millis("REELGPU_RESULT_DEADLINE_MS", 600_000)?,
            stop_grace: millis("REELGPU_STOP_GRACE_MS", 20_000)?,
            concurrency: match var("REELGPU_CONCURRENCY") {
                None => 1,
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=16).contains(n))
                    .ok_or(RunpodError::Invalid {
                        name: "REELGPU_CONCURRENCY",
                        value: v,
                        why: "must be a whole number of jobs from 1 to 16".into(),
                    })?,
            },
            pod_id,
        })
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => req.header(reqwest::header::AUTHORIZATION, key),
            None => req,
        }
    }
}

/// Appends `query` to a URL template that may already carry one.
fn with_query(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// Reports a failed start-up self-check to RunPod (one ping with `status=unhealthy`).
pub async fn report_unhealthy(env: &RunpodEnv, check: &str, reason: &str) {
    let Some(ping) = &env.ping_url else { return };
    let reason: String = reason.chars().take(256).collect();
    let url = match reqwest::Url::parse_with_params(
        ping,
        &[
            ("status", "unhealthy"),
            ("check", check),
            ("reason", &reason),
            ("runpod_version", VERSION),
        ],
    ) {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "RUNPOD_WEBHOOK_PING is not a URL");
            return;
        }
    };
    let client = reqwest::Client::new();
    if let Err(e) = env
        .auth(client.get(url))
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        tracing::error!(error = %e, "reporting unhealthy failed");
    }
}

/// Sleeps for `d`, or less when a stop is requested meanwhile.
async fn pause(d: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}

/// Jobs in progress, as the heartbeat reports them (in the order they were taken).
type Running = Arc<Mutex<Vec<String>>>;

/// The heartbeat: `GET ping_url?job_id=..&runpod_version=..` every interval until `stop`.
async fn heartbeat(
    client: reqwest::Client,
    env: Arc<RunpodEnv>,
    running: Running,
    mut stop: watch::Receiver<bool>,
) {
    let Some(ping) = env.ping_url.clone() else {
        return;
    };
    let mut ticker = tokio::time::interval(env.ping_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        let jobs = running.lock().unwrap_or_else(|p| p.into_inner()).join(",");
        let mut query = format!("runpod_version={VERSION}");
        if !jobs.is_empty() {
            query = format!("job_id={jobs}&{query}");
        }
        let url = with_query(&ping, &query);
        for attempt in 1..=3 {
            let sent = env
                .auth(client.get(&url))
                .timeout(env.ping_interval * 2)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => {
                    tracing::warn!(status = %r.status(), attempt, "heartbeat refused");
                    tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "heartbeat failed");
                    break;
                }
            }
        }
    }
}

/// A job take under way, kept across the loop's turns.
type TakeInFlight<'a> = Pin<Box<dyn Future<Output = Result<Take, String>> + Send + 'a>>;

/// What a take returned.
enum Take {
    Job(Value),
    None,
    Wait(Duration),
}

async fn take(client: &reqwest::Client, env: &RunpodEnv, busy: bool) -> Result<Take, String> {
    let url = with_query(&env.take_url, &format!("job_in_progress={}", busy as u8));
    let resp = env
        .auth(client.get(url))
        .timeout(Duration::from_secs(100))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    match status {
        204 | 400 => return Ok(Take::None),
        429 => return Ok(Take::Wait(Duration::from_secs(5))),
        200 => {}
        _ => return Err(format!("HTTP {status}")),
    }
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    Ok(parse_take(&body).map_or(Take::None, Take::Job))
}

/// The job in a job-take response body: a JSON object with a string `id` and an `input`
/// (anything else is no job).
pub fn parse_take(body: &[u8]) -> Option<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.get("id").is_some_and(Value::is_string) && v.get("input").is_some() => Some(v),
        _ => None,
    }
}

/// Posts a job's result, retrying 5xx, connection errors and timeouts with backoff until
/// `env.result_deadline`; returns whether it was delivered.
pub async fn post_result(
    client: &reqwest::Client,
    env: &RunpodEnv,
    job_id: &str,
    body: &Value,
    streamed: bool,
) -> bool {
    // a streaming job's result says so, as the Python SDK's does for a generator handler
    let url = with_query(
        &env.done_url.replace("$ID", job_id),
        if streamed {
            "isStream=true"
        } else {
            "isStream=false"
        },
    );
    let bytes = serde_json::to_vec(body).expect("JSON");
    let started = tokio::time::Instant::now();
    let attempts = std::sync::atomic::AtomicU32::new(0);
    // 5xx, 429, connection errors and timeouts are retried (0.5 s doubling to 30 s) while the
    // next attempt still starts before the deadline; any other status loses the result
    let sent = (|| async {
        attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sent = env
            .auth(client.post(&url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Request-ID", job_id)
            .timeout(Duration::from_secs(30))
            .body(bytes.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
                Err((true, format!("HTTP {}", r.status())))
            }
            Ok(r) => Err((false, format!("HTTP {}", r.status()))),
            Err(e) => Err((true, e.to_string())),
        }
    })
    .retry(
        ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(30))
            .without_max_times(),
    )
    .sleep(tokio::time::sleep)
    .when(|(retryable, _)| *retryable)
    .adjust(|_, next| next.filter(|d| started.elapsed() + *d <= env.result_deadline))
    .notify(|(_, why), delay| {
        tracing::warn!(job_id, error = %why, "posting the result failed; retrying in {delay:?}");
    })
    .await;
    match sent {
        Ok(()) => true,
        Err((false, why)) => {
            tracing::error!(job_id, status = %why, "RunPod refused the result; it is lost");
            false
        }
        Err((true, why)) => {
            let attempts = attempts.load(std::sync::atomic::Ordering::Relaxed);
            tracing::error!(job_id, attempts, error = %why, "RESULT LOST: RunPod could not be reached in time");
            false
        }
    }
}

/// The production loop: take, run and report jobs until `stop` turns true (SIGTERM/SIGINT),
/// up to [`RunpodEnv::concurrency`] at once, then finish the running jobs (each cancelled
/// after [`RunpodEnv::stop_grace`]) and return. After a GPU device loss it takes no more
/// jobs, lets the running ones end (they fail retryably on the lost device), and returns,
/// having asked for the pod to be stopped.
pub async fn run(env: RunpodEnv, worker: Arc<Worker>, mut stop: watch::Receiver<bool>) {
    let env = Arc::new(env);
    let client = reqwest::Client::new();
    let running: Running = Arc::default();
    let (beat_stop_tx, beat_stop) = watch::channel(false);
    let beat = tokio::spawn(heartbeat(
        client.clone(),
        env.clone(),
        running.clone(),
        beat_stop,
    ));
    let mut pending_callbacks = Vec::new();
    let mut jobs: tokio::task::JoinSet<(Option<tokio::task::JoinHandle<()>>, bool)> =
        tokio::task::JoinSet::new();
    let mut device_lost = false;
    // failed takes back off 1 s doubling to 30 s; a take that answers starts it again
    let take_backoff = ExponentialBuilder::new()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(30))
        .without_max_times();
    let mut backoff = take_backoff.build();
    let mut take_in_flight: Option<TakeInFlight<'_>> = None;
    tracing::info!(pod = %env.pod_id, concurrency = env.concurrency, "worker started; waiting for jobs");
    while !*stop.borrow() && !device_lost {
        // a full worker waits for a job to end (or the stop) before it takes another
        if jobs.len() >= env.concurrency {
            tokio::select! {
                Some(done) = jobs.join_next() => {
                    device_lost |= finished(done, &mut pending_callbacks);
                }
                _ = stop.changed() => {}
            }
            continue;
        }
        while let Some(done) = jobs.try_join_next() {
            device_lost |= finished(done, &mut pending_callbacks);
        }
        if device_lost {
            break;
        }
        let busy = !jobs.is_empty();
        // A take in flight is kept when a running job ends meanwhile: the platform may
        // already have handed its job out, and dropping the request would lose that job.
        // Only a stop (or a device loss) abandons it.
        let in_flight = take_in_flight.get_or_insert_with(|| Box::pin(take(&client, &env, busy)));
        let taken = tokio::select! {
            t = in_flight => t,
            Some(done) = jobs.join_next(), if busy => {
                device_lost |= finished(done, &mut pending_callbacks);
                continue;
            }
            _ = stop.changed() => break,
        };
        take_in_flight = None;
        let job = match taken {
            Ok(Take::Job(job)) => {
                backoff = take_backoff.build();
                job
            }
            Ok(Take::None) => {
                // A server that answers at once instead of holding the poll is not hammered.
                pause(Duration::from_millis(200), &mut stop).await;
                continue;
            }
            Ok(Take::Wait(d)) => {
                pause(d, &mut stop).await;
                continue;
            }
            Err(e) => {
                let delay = backoff.next().unwrap_or(Duration::from_secs(30));
                tracing::warn!(error = %e, "taking a job failed; retrying in {delay:?}");
                pause(delay, &mut stop).await;
                continue;
            }
        };
        let id = job["id"].as_str().unwrap_or_default().to_string();
        let span = tracing::info_span!("job", requestId = %id);
        let (env, worker, client, running, stop) = (
            env.clone(),
            worker.clone(),
            client.clone(),
            running.clone(),
            stop.clone(),
        );
        jobs.spawn(
            async move { run_one(&id, job, &env, &worker, &client, &running, stop).await }
                .instrument(span),
        );
    }
    if device_lost {
        tracing::error!("GPU device lost: asked RunPod to stop this pod; taking no more jobs");
    }
    // drain: every running job ends (on a stop, each after its grace) and posts its result
    while let Some(done) = jobs.join_next().await {
        device_lost |= finished(done, &mut pending_callbacks);
    }
    let _ = beat_stop_tx.send(true);
    let _ = beat.await;
    // the callbacks still being delivered get 30 s in all (not each: a hanging callback
    // server would hold the pod 30 s per job); what is left after that is dropped
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for t in pending_callbacks {
        let abort = t.abort_handle();
        if tokio::time::timeout_at(deadline, t).await.is_err() {
            abort.abort();
        }
    }
    tracing::info!(device_lost, "worker stopped");
}

/// Keeps a finished job's callback task; returns whether it lost the GPU device.
fn finished(
    done: Result<(Option<tokio::task::JoinHandle<()>>, bool), tokio::task::JoinError>,
    pending: &mut Vec<tokio::task::JoinHandle<()>>,
) -> bool {
    pending.retain(|t| !t.is_finished());
    match done {
        Ok((callbacks, device_lost)) => {
            pending.extend(callbacks);
            device_lost
        }
        Err(e) => {
            // run_one posts its own result whatever the job did; it failing itself is a bug
            tracing::error!(error = %e, "a job's runner failed");
            false
        }
    }
}

/// Runs one taken job and posts its result; returns its callback task and whether the GPU
/// device was lost.
async fn run_one(
    id: &str,
    job: Value,
    env: &Arc<RunpodEnv>,
    worker: &Arc<Worker>,
    client: &reqwest::Client,
    running: &Running,
    mut stop: watch::Receiver<bool>,
) -> (Option<tokio::task::JoinHandle<()>>, bool) {
    tracing::info!("job taken");
    running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(id.to_string());
    let cancel = CancelToken::new();
    let input = job["input"].clone();
    let (w, c) = (worker.clone(), cancel.clone());
    // a call (contract Part 3) streams its items as the job's partial outputs, in order, from
    // one task; the result is posted only after the last of them
    let streamed = crate::calls::is_call(&input);
    let (items_tx, items_rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let poster = streamed.then(|| {
        tokio::spawn(
            post_stream(client.clone(), env.clone(), id.to_string(), items_rx)
                .instrument(tracing::Span::current()),
        )
    });
    let mut task = tokio::spawn(
        async move {
            if streamed {
                let sink: crate::calls::Sink = Arc::new(move |item| {
                    let _ = items_tx.send(item);
                });
                w.run_call(&input, c, sink).await
            } else {
                drop(items_tx);
                w.run_job(&input, c).await
            }
        }
        .instrument(tracing::Span::current()),
    );
    let outcome = tokio::select! {
        o = &mut task => o,
        _ = async { stop.wait_for(|s| *s).await.map(|_| ()) } => {
            tracing::warn!("stop requested: finishing the running job (grace {:?})", env.stop_grace);
            match tokio::time::timeout(env.stop_grace, &mut task).await {
                Ok(o) => o,
                Err(_) => {
                    tracing::warn!("grace period over: cancelling the job");
                    cancel.cancel(CancelReason::Shutdown);
                    // the job lets go at once (its children are killed, its transfers
                    // dropped); should it not, its result is posted without it
                    match tokio::time::timeout(LET_GO + Duration::from_secs(2), &mut task).await {
                        Ok(o) => o,
                        Err(_) => {
                            tracing::error!("the cancelled job did not end; reporting it failed");
                            task.abort();
                            Ok(abandoned(CancelReason::Shutdown))
                        }
                    }
                }
            }
        }
    };
    let (body, callbacks, device_lost) = match outcome {
        Ok(mut outcome) => {
            // a GPU error of a job that ran while the device was lost is the loss, even when
            // its own call failed before the loss was known (two jobs on one device race to
            // see it)
            if let Some(f) = outcome.failure.as_mut()
                && f.kind == "GpuError"
                && !f.device_lost
                && let Some(why) = {
                    let gpu = worker.gpu.clone();
                    tokio::task::spawn_blocking(move || gpu.lost_within(Duration::from_secs(1)))
                        .await
                        .ok()
                        .flatten()
                }
            {
                f.device_lost = true;
                f.should_retry = true;
                f.message = format!("GPU device lost: {why} ({})", f.message);
                outcome.output["error"] = json!(f.to_string());
            }
            let (gpu_buffers, gpu_buffer_bytes) = worker.gpu.live_buffers();
            tracing::info!(
                ok = outcome.failure.is_none(),
                gpu_buffers,
                gpu_buffer_bytes,
                "job done"
            );
            let (body, device_lost) = result_body(&outcome, &env.pod_id);
            (body, outcome.callbacks, device_lost)
        }
        Err(e) => {
            // A panic in the handler still gets a failed result, never silence.
            tracing::error!(error = %e, "job task failed");
            let message = format!("InternalError: job task failed: {e}");
            (
                json!({"output": {"status": "error", "error": message}, "error": message}),
                None,
                false,
            )
        }
    };
    if let Some(poster) = poster {
        // the task (and with it the sink) has ended: the poster drains what is left and ends
        if tokio::time::timeout(Duration::from_secs(60), poster)
            .await
            .is_err()
        {
            tracing::warn!("stream items still unsent after 60 s; posting the result");
        }
    }
    post_result(client, env, id, &body, streamed).await;
    running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|r| r != id);
    (callbacks, device_lost)
}

/// Posts a call's stream items in order as the job's partial outputs (`{"output": item}` to
/// `RUNPOD_WEBHOOK_POST_STREAM`, as the Python SDK posts a generator's yields), until the
/// sender is gone. An item that cannot be delivered after a few tries is dropped (progress is
/// advisory; the final item is also the job's result).
async fn post_stream(
    client: reqwest::Client,
    env: Arc<RunpodEnv>,
    job_id: String,
    mut items: tokio::sync::mpsc::UnboundedReceiver<Value>,
) {
    let Some(template) = env.stream_url.clone() else {
        while items.recv().await.is_some() {}
        tracing::warn!("RUNPOD_WEBHOOK_POST_STREAM is not set: the call's stream was not sent");
        return;
    };
    let url = with_query(&template.replace("$ID", &job_id), "isStream=false");
    while let Some(item) = items.recv().await {
        let body = serde_json::to_vec(&json!({"output": item})).expect("JSON");
        for attempt in 1..=3u32 {
            let sent = env
                .auth(client.post(&url))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-Request-ID", &job_id)
                .timeout(Duration::from_secs(10))
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => break,
                Ok(r) if !(r.status().is_server_error() || r.status().as_u16() == 429) => {
                    tracing::warn!(status = %r.status(), "a stream item was refused");
                    break;
                }
                other => {
                    let why = other
                        .map(|r| r.status().to_string())
                        .unwrap_or_else(|e| e.to_string());
                    tracing::warn!(attempt, error = %why, "posting a stream item failed");
                    tokio::time::sleep(Duration::from_millis(300 * attempt as u64)).await;
                }
            }
        }
    }
}

/// The outcome of a job that was given up on.
fn abandoned(reason: CancelReason) -> super::JobOutcome {
    let failure = super::JobFailure::cancelled(reason);
    super::JobOutcome {
        output: json!({"status": "error", "error": failure.to_string()}),
        failure: Some(failure),
        callbacks: None,
    }
}

/// The body of a job's result POST, and whether the pod should be recycled: `{"output"}` on
/// success; `{"output", "error"}` on failure; `"stopPod": true` after a GPU device loss.
pub fn result_body(outcome: &super::JobOutcome, worker_id: &str) -> (Value, bool) {
    let mut body = json!({"output": outcome.output});
    let device_lost = outcome.failure.as_ref().is_some_and(|f| f.device_lost);
    if let Some(f) = &outcome.failure {
        body["error"] = json!(error_string(f, worker_id));
    }
    if device_lost {
        body["stopPod"] = json!(true);
    }
    (body, device_lost)
}

/// The failed result's `error` string, shaped like the Python SDK's (a JSON object in a
/// string) so RunPod's console shows it the same way.
pub fn error_string(f: &super::handler::JobFailure, worker_id: &str) -> String {
    json!({
        "error_type": f.kind,
        "error_message": f.message,
        "should_retry": f.should_retry,
        "hostname": std::env::var("HOSTNAME").unwrap_or_default(),
        "worker_id": worker_id,
        "runpod_version": VERSION,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_gpu_device_asks_for_the_pod_to_be_stopped() {
        use crate::export::ExportError;
        use crate::gpu::GpuError;
        use crate::worker::{JobFailure, JobOutcome};
        let lost = JobFailure::export(ExportError::Gpu(GpuError::DeviceLost("gone".into())));
        assert!(lost.device_lost && lost.should_retry && lost.kind == "GpuError");
        let outcome = |failure: Option<JobFailure>| JobOutcome {
            output: json!({"status": "error"}),
            failure,
            callbacks: None,
        };
        let (body, stop) = result_body(&outcome(Some(lost)), "pod-9");
        assert!(stop);
        assert_eq!(body["stopPod"], true);
        let error: Value = serde_json::from_str(body["error"].as_str().unwrap()).unwrap();
        assert_eq!(error["error_type"], "GpuError");
        assert_eq!(error["worker_id"], "pod-9");
        assert_eq!(error["should_retry"], true);
        let other = JobFailure::export(ExportError::Gpu(GpuError::Validation("x".into())));
        let (body, stop) = result_body(&outcome(Some(other)), "pod-9");
        assert!(!stop && body.get("stopPod").is_none());
        let (body, stop) = result_body(&outcome(None), "pod-9");
        assert!(!stop && body.get("error").is_none());
    }

    #[test]
    fn queries_are_appended() {
        assert_eq!(
            with_query("http://h/take/p1", "a=1"),
            "http://h/take/p1?a=1"
        );
        assert_eq!(
            with_query("http://h/take/p1?x=y", "a=1"),
            "http://h/take/p1?x=y&a=1"
        );
    }
}
