//! Where job videos live: one [`Storage`] trait with two backends — R2/S3 through
//! `aws-sdk-s3` ([`s3::S3Storage`]) and a local directory ([`local::LocalStorage`], for running
//! the whole worker on a laptop with no cloud). Chosen from the environment by [`from_env`].

pub mod bridge;
pub mod local;
pub mod s3;

use std::path::Path;

/// Content type of every uploaded export.
pub const VIDEO_CONTENT_TYPE: &str = "video/mp4";

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object {key:?} not found in {location}")]
    NotFound { key: String, location: String },
    #[error("storage configuration: {0}")]
    Config(String),
    #[error("{op} {key:?}: {message}")]
    Failed {
        op: &'static str,
        key: String,
        message: String,
    },
    #[error("local file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl StorageError {
    /// A failed operation on `key`, with the reason.
    pub fn failed(op: &'static str, key: &str, message: impl std::fmt::Display) -> Self {
        StorageError::Failed {
            op,
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    /// Maps an I/O error on the local file `path`.
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| StorageError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Whether trying the job again could help: missing objects and bad configuration stay
    /// missing and bad; network and server faults pass.
    pub fn is_transient(&self) -> bool {
        matches!(self, StorageError::Failed { .. } | StorageError::Io { .. })
    }
}

/// An object's size and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    /// The version reads are pinned to (`If-Match`), when the backend has one.
    pub etag: Option<String>,
}

/// Object storage for job inputs and outputs.
#[async_trait::async_trait]
pub trait Storage: Send + Sync {
    /// Size and version of `key`.
    async fn stat(&self, key: &str) -> Result<ObjectInfo, StorageError>;

    /// Bytes `start..=end` of `key`, of the version `etag` when given (a replaced object
    /// fails the read rather than mixing versions).
    async fn read_range(
        &self,
        key: &str,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<bytes::Bytes, StorageError>;

    /// Downloads `key` into the file `dest` (created or truncated); returns its size in bytes.
    async fn download(&self, key: &str, dest: &Path) -> Result<u64, StorageError>;

    /// Uploads the file `src` as `key`. The object only becomes visible once complete: a
    /// failed upload leaves no object (and no unfinished multipart upload) behind.
    async fn upload(&self, src: &Path, key: &str, content_type: &str) -> Result<(), StorageError>;

    /// Where objects go, for logs and errors (never a secret).
    fn describe(&self) -> String;
}

/// The storage named by the environment: `R2_ENDPOINT=file:///some/dir` is a local directory
/// (keys are paths under it); an http(s) `R2_ENDPOINT` is R2 or any S3-compatible server, with
/// `R2_ACCESS_KEY_ID`, `R2_SECRET_ACCESS_KEY` and `R2_BUCKET_NAME` (default
/// `reel-ballers-videos`).
pub fn from_env() -> Result<Box<dyn Storage>, StorageError> {
    let endpoint = std::env::var("R2_ENDPOINT")
        .map_err(|_| StorageError::Config("R2_ENDPOINT is not set".into()))?;
    if let Some(dir) = endpoint.strip_prefix("file://") {
        return Ok(Box::new(local::LocalStorage::new(dir)?));
    }
    Ok(Box::new(s3::S3Storage::new(s3::S3Settings::from_env(
        &endpoint,
    )?)?))
}

/// Checks an object key from a job (contract §1): 1–1024 bytes, no leading `/`, no `..`
/// segment.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 1024 {
        return Err("must be 1-1024 bytes".into());
    }
    if key.starts_with('/') {
        return Err("must not start with '/'".into());
    }
    if key.split('/').any(|s| s == "..") {
        return Err("must not contain a '..' segment".into());
    }
    if key.chars().any(|c| c.is_control()) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(check_key("input/abc/video.mp4").is_ok());
        assert!(check_key("a..b/c").is_ok());
        for bad in ["", "/input/x.mp4", "input/../x", "..", "a/\n"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        assert!(check_key(&"k".repeat(1025)).is_err());
        assert!(check_key(&"k".repeat(1024)).is_ok());
    }
}
