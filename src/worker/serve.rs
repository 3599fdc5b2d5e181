//! `reelgpu serve`: a local HTTP API like the Python SDK's `--rp_serve_api`, for driving the
//! worker from the web app in development. `POST /run` queues a job, `POST /runsync` runs one
//! and answers with its result, `GET /status/{id}` reports a job; jobs run one at a time.
//! When a request carries `webhook`, the final status is also POSTed there.

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

type Jobs = Arc<Mutex<HashMap<String, Value>>>;

fn set(jobs: &Jobs, id: &str, status: Value) {
    jobs.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.to_string(), status);
}

impl Api {
    fn enqueue(
        &self,
        req: RunRequest,
        done: Option<oneshot::Sender<Value>>,
    ) -> Result<String, (StatusCode, Json<Value>)> {
        let id = uuid::Uuid::new_v4().to_string();
        set(&self.jobs, &id, json!({"id": id, "status": "IN_QUEUE"}));
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
        jobs: Arc::default(),
        queue: tx,
    };
    // The runner holds the job table but not the queue's sender, so it ends once the
    // router (and with it every sender) is gone.
    let jobs = api.jobs.clone();
    let runner = tokio::spawn(async move {
        // the local API: webhooks may go to loopback
        let http = super::callbacks::http_client(Default::default());
        while let Some(job) = rx.recv().await {
            set(
                &jobs,
                &job.id,
                json!({"id": job.id, "status": "IN_PROGRESS"}),
            );
            let outcome = worker.run_job(&job.input, CancelToken::new()).await;
            let status = match &outcome.failure {
                None => json!({"id": job.id, "status": "COMPLETED", "output": outcome.output}),
                Some(f) => {
                    json!({"id": job.id, "status": "FAILED", "error": f.to_string(), "output": outcome.output})
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

async fn status(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    api.jobs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or((
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no job {id}")})),
        ))
}
