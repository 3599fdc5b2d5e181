//! What a worker job (contract §1) and an app call (Part 3) share: how a failure is classified
//! ([`JobFailure`]: its kind and whether retrying can help), and running a stage until the
//! job's cancellation signal fires.

use std::time::Duration;

use crate::cancel::{CancelReason, CancelToken};
use crate::export::ExportError;
use crate::gpu::GpuError;
use crate::storage::StorageError;

/// Why a job failed, as the web app and RunPod see it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFailure {
    /// `InvalidInput`, `InputNotFound`, `VideoError`, `StorageError`, `GpuError`,
    /// `JobTimeout`, `Cancelled` or `InternalError` (see the module's table).
    pub kind: &'static str,
    pub message: String,
    pub should_retry: bool,
    /// The GPU device was lost: this worker should be recycled (`stopPod`).
    pub device_lost: bool,
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl JobFailure {
    pub fn new(kind: &'static str, message: impl Into<String>, should_retry: bool) -> Self {
        Self {
            kind,
            message: message.into(),
            should_retry,
            device_lost: false,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("InvalidInput", message, false)
    }

    pub fn storage(e: StorageError, field: &str) -> Self {
        match e {
            StorageError::NotFound { .. } => {
                Self::new("InputNotFound", format!("{field}: {e}"), false)
            }
            StorageError::Config(_) => Self::new("StorageError", e.to_string(), false),
            _ => Self::new("StorageError", e.to_string(), true),
        }
    }

    /// The failure for a job stopped by its token.
    pub fn cancelled(reason: CancelReason) -> Self {
        Self::export(ExportError::Cancelled(reason))
    }

    /// The failure for an export error (kind, retry, device loss).
    pub fn export(e: ExportError) -> Self {
        let retry = e.should_retry();
        let kind = match &e {
            ExportError::Job(_) | ExportError::JobFile { .. } => "InvalidInput",
            ExportError::Gpu(_) => "GpuError",
            ExportError::Cancelled(CancelReason::Deadline(_)) => "JobTimeout",
            ExportError::Cancelled(_) => "Cancelled",
            _ => "VideoError",
        };
        let mut f = Self::new(kind, e.to_string(), retry);
        f.device_lost = matches!(e, ExportError::Gpu(GpuError::DeviceLost(_)));
        f
    }
}

/// How long a cancelled export may take to stop before the job is reported without it.
pub const LET_GO: Duration = Duration::from_secs(10);

/// Runs `work` unless `cancel` fires first (the transfer is then dropped mid-way: its
/// requests end, and a multipart upload is aborted).
pub async fn until_cancelled<T>(
    cancel: &CancelToken,
    work: impl std::future::Future<Output = T>,
) -> Result<T, JobFailure> {
    tokio::select! {
        done = work => Ok(done),
        _ = cancel.cancelled() => Err(JobFailure::cancelled(
            cancel.reason().unwrap_or(CancelReason::Requested),
        )),
    }
}

/// Resolves `grace` after `cancel` fires, with its reason.
pub async fn cancelled_for(cancel: &CancelToken, grace: Duration) -> CancelReason {
    cancel.cancelled().await;
    tokio::time::sleep(grace).await;
    cancel.reason().unwrap_or(CancelReason::Requested)
}

/// Serves `named` sources (key, the field that names it) to ffmpeg through a range bridge:
/// a missing object is named by its field, and an object whose first bytes show it is not a
/// video (a playlist, a concat script) is refused before ffmpeg opens it.
pub async fn open_sources(
    storage: &std::sync::Arc<dyn crate::storage::Storage>,
    named: &[(String, String)],
    cancel: &CancelToken,
) -> Result<crate::storage::bridge::RangeBridge, JobFailure> {
    let keys: Vec<String> = named.iter().map(|(k, _)| k.clone()).collect();
    let field_of = |e: &StorageError| match e {
        StorageError::NotFound { key, .. } => named
            .iter()
            .find(|(k, _)| k == key)
            .map_or("input_video_key", |(_, f)| f.as_str()),
        _ => "input_video_key",
    };
    let started = crate::storage::bridge::RangeBridge::start(storage.clone(), &keys, cancel);
    let b = until_cancelled(cancel, started).await?.map_err(|e| {
        let field = field_of(&e).to_string();
        JobFailure::storage(e, &field)
    })?;
    for (k, field) in named {
        let size = b.size(k).unwrap_or(0);
        if size == 0 {
            continue;
        }
        let head = until_cancelled(cancel, storage.read_range(k, 0, size.min(64) - 1, None))
            .await?
            .map_err(|e| JobFailure::storage(e, field))?;
        if let Some(kind) = crate::video::probe::sniff_bytes(&head) {
            return Err(JobFailure::export(ExportError::Video(
                crate::video::VideoError::Unsupported {
                    input: format!("{field} {k:?}"),
                    message: format!("is {kind}, not a video file"),
                },
            )));
        }
    }
    Ok(b)
}
