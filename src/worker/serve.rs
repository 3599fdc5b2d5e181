//! `reelgpu serve`: a local HTTP API like RunPod's endpoint API, for driving the worker from
//! the web app in development. `POST /run` queues a job or a call, `POST /runsync` runs one and
//! answers with its result, `GET /status/{id}` reports it, `GET /stream/{id}` returns a call's
//! stream items not yet returned (waiting up to [`STREAM_WAIT`] for the next one), as RunPod's
//! `/stream` does, and `POST /cancel/{id}` stops it. Jobs run one at a time. When a request
//! carries `webhook`, the final status is also POSTed there.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::cancel::CancelToken;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

use super::handler::Worker;

#[derive(Deserialize)]
struct RunRequest {
    input: Value,
    #[serde(default)]
    webhook: Option<String>,
}

struct Queued {
    id: String,
    input: Value,
    webhook: Option<String>,
    done: Option<oneshot::Sender<Value>>,
}

#[derive(Clone)]
struct Api {
    jobs: Jobs,
    queue: mpsc::UnboundedSender<Queued>,
}

/// How long `GET /stream/{id}` waits for an item before answering with none.
pub const STREAM_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// One job's state: its status object, its stream and how much of it was returned, its
/// cancel signal.
struct Entry {
    status: Value,
    items: Vec<Value>,
    returned: usize,
    cancel: CancelToken,
}

#[derive(Clone, Default)]
struct Jobs {
    table: Arc<Mutex<HashMap<String, Entry>>>,
    changed: Arc<tokio::sync::Notify>,
}

impl Jobs {
    /// Reads (or changes, see [`Self::update`]) job `id`'s entry.
    fn with<T>(&self, id: &str, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(id)
            .map(f)
    }

    /// Changes job `id`'s entry and wakes the streams waiting for news.
    fn update<T>(&self, id: &str, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        let out = self.with(id, f);
        self.changed.notify_waiters();
        out
    }
}

fn set(jobs: &Jobs, id: &str, status: Value) {
    jobs.update(id, |e| e.status = status);
}

fn terminal(status: &Value) -> bool {
    matches!(
        status["status"].as_str(),
        Some("COMPLETED" | "FAILED" | "CANCELLED")
    )
}

impl Api {
    fn enqueue(
        &self,
        req: RunRequest,
        done: Option<oneshot::Sender<Value>>,
    ) -> Result<String, (StatusCode, Json<Value>)> {
        let id = uuid::Uuid::new_v4().to_string();
        self.jobs
            .table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                id.clone(),
                Entry {
                    status: json!({"id": id, "status": "IN_QUEUE"}),
                    items: Vec::new(),
                    returned: 0,
                    cancel: CancelToken::new(),
                },
            );
        self.queue
            .send(Queued {
                id: id.clone(),
                input: req.input,
                webhook: req.webhook,
                done,
            })
            .map_err(|_| {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({"error": "worker is stopping"})),
                )
            })?;
        Ok(id)
    }
}

/// Serves on `listener` until `stop` turns true; the running job is finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    worker: Arc<Worker>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Queued>();
    let api = Api {
        jobs: Jobs::default(),
        queue: tx,
    };
    // The runner holds the job table but not the queue's sender, so it ends once the
    // router (and with it every sender) is gone.
    let jobs = api.jobs.clone();
    let runner = tokio::spawn(async move {
        // the local API: webhooks may go to loopback
        let http = super::callbacks::http_client(Default::default());
        while let Some(job) = rx.recv().await {
            let Some(cancel) = jobs.with(&job.id, |e| e.cancel.clone()) else {
                continue;
            };
            let status = if cancel.is_cancelled() {
                json!({"id": job.id, "status": "CANCELLED"})
            } else {
                set(
                    &jobs,
                    &job.id,
                    json!({"id": job.id, "status": "IN_PROGRESS"}),
                );
                let outcome = if crate::calls::is_call(&job.input) {
                    let (j, id) = (jobs.clone(), job.id.clone());
                    let sink: crate::calls::Sink = Arc::new(move |item| {
                        j.update(&id, |e| e.items.push(item));
                    });
                    worker.run_call(&job.input, cancel.clone(), sink).await
                } else {
                    worker.run_job(&job.input, cancel.clone()).await
                };
                match &outcome.failure {
                    None => json!({"id": job.id, "status": "COMPLETED", "output": outcome.output}),
                    Some(_) if cancel.is_cancelled() => {
                        json!({"id": job.id, "status": "CANCELLED", "output": outcome.output})
                    }
                    Some(f) => {
                        json!({"id": job.id, "status": "FAILED", "error": f.to_string(), "output": outcome.output})
                    }
                }
            };
            set(&jobs, &job.id, status.clone());
            if let Some(url) = &job.webhook {
                match worker.callback_policy.check(url) {
                    Ok(u) => {
                        if let Err(e) = http
                            .post(u)
                            .json(&status)
                            .timeout(std::time::Duration::from_secs(10))
                            .send()
                            .await
                        {
                            tracing::warn!(error = %e, "webhook failed");
                        }
                    }
                    Err(m) => tracing::warn!("webhook {m}; not sent"),
                }
            }
            if let Some(done) = job.done {
                let _ = done.send(status);
            }
        }
    });
    let app = Router::new()
        .route("/run", post(run))
        .route("/runsync", post(runsync))
        .route("/status/{id}", get(status).post(status))
        .route("/stream/{id}", get(stream).post(stream))
        .route("/cancel/{id}", post(cancel))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .with_state(api);
    tracing::info!(addr = %listener.local_addr()?, "local API listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await?;
    // Dropping the router closed the queue: the runner ends after the current job.
    let _ = runner.await;
    Ok(())
}

async fn run(
    State(api): State<Api>,
    Json(req): Json<RunRequest>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let id = api.enqueue(req, None)?;
    Ok(Json(json!({"id": id, "status": "IN_QUEUE"})))
}

async fn runsync(
    State(api): State<Api>,
    Json(req): Json<RunRequest>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let (tx, rx) = oneshot::channel();
    api.enqueue(req, Some(tx))?;
    rx.await.map(Json).map_err(|_| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "worker stopped"})),
        )
    })
}

fn no_job(id: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": format!("no job {id}")})),
    )
}

async fn status(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    api.jobs
        .with(&id, |e| e.status.clone())
        .map(Json)
        .ok_or_else(|| no_job(&id))
}

/// RunPod's `/stream/{id}`: `{"id", "status", "stream": [{"output": item}, ...]}` with the
/// items not returned before; waits up to [`STREAM_WAIT`] while there are none and the job
/// has not ended.
async fn stream(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let deadline = tokio::time::Instant::now() + STREAM_WAIT;
    loop {
        let changed = api.jobs.changed.notified();
        let ready = api
            .jobs
            .table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&id)
            .map(|e| {
                let fresh = e.items.len() > e.returned;
                if !fresh && !terminal(&e.status) && tokio::time::Instant::now() < deadline {
                    return None;
                }
                let items: Vec<Value> = e.items[e.returned..]
                    .iter()
                    .map(|i| json!({"output": i}))
                    .collect();
                e.returned = e.items.len();
                Some(json!({"id": id, "status": e.status["status"], "stream": items}))
            })
            .ok_or_else(|| no_job(&id))?;
        if let Some(answer) = ready {
            return Ok(Json(answer));
        }
        let _ = tokio::time::timeout_at(deadline, changed).await;
    }
}

/// RunPod's `/cancel/{id}`: a queued job never starts, a running one is stopped (its children
/// killed, nothing written) and ends `CANCELLED`.
async fn cancel(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let status = api
        .jobs
        .update(&id, |e| {
            if !terminal(&e.status) {
                e.cancel.cancel(crate::cancel::CancelReason::Requested);
                if e.status["status"] == "IN_QUEUE" {
                    e.status = json!({"id": id, "status": "CANCELLED"});
                }
            }
            e.status["status"].clone()
        })
        .ok_or_else(|| no_job(&id))?;
    Ok(Json(json!({"id": id, "status": status})))
}
