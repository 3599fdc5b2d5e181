//! R2 (or any S3-compatible server) through `aws-sdk-s3`: path-style addressing, region
//! `auto`, checksums only when an operation requires them (R2 rejects some of the SDK's newer
//! defaults), retries with backoff and timeouts on every request. Large files move in parallel:
//! ranged GETs into place on download, multipart upload with parallel parts (aborted on any
//! failure, so no unfinished upload or partial object is left) on upload. Credentials are only
//! handed to the SDK, never logged.

use backon::{ExponentialBuilder, Retryable};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{ObjectInfo, Storage, StorageError};

const MIB: u64 = 1024 * 1024;

/// Connection and transfer settings.
#[derive(Clone)]
pub struct S3Settings {
    pub endpoint: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Files at least this big are uploaded in parts (and downloaded in ranges).
    pub multipart_threshold: u64,
    /// Size of each part or range (S3's minimum part size is 5 MiB).
    pub part_size: u64,
    /// Parts or ranges in flight at once.
    pub concurrency: usize,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("access_key_id", &"<redacted>")
            .field("secret_access_key", &"<redacted>")
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl S3Settings {
    /// Contract §2's environment, plus optional `REELGPU_S3_PART_MB` (default 8, at least 5)
    /// and `REELGPU_S3_MULTIPART_THRESHOLD_MB` (default 16).
    pub fn from_env(endpoint: &str) -> Result<Self, StorageError> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| StorageError::Config(format!("{name} is not set")))
        };
        let mb = |name: &str, default: u64, min: u64| -> Result<u64, StorageError> {
            match std::env::var(name) {
                Ok(v) => match v.parse::<u64>() {
                    Ok(n) if n >= min => Ok(n * MIB),
                    _ => Err(StorageError::Config(format!(
                        "{name}={v:?} must be a whole number of MiB >= {min}"
                    ))),
                },
                Err(_) => Ok(default * MIB),
            }
        };
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(StorageError::Config(format!(
                "R2_ENDPOINT={endpoint:?} must be an http(s) URL or file:///dir"
            )));
        }
        Ok(Self {
            endpoint: endpoint.to_string(),
            bucket: std::env::var("R2_BUCKET_NAME")
                .ok()
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| "reel-ballers-videos".into()),
            access_key_id: var("R2_ACCESS_KEY_ID")?,
            secret_access_key: var("R2_SECRET_ACCESS_KEY")?,
            multipart_threshold: mb("REELGPU_S3_MULTIPART_THRESHOLD_MB", 16, 1)?,
            part_size: mb("REELGPU_S3_PART_MB", 8, 5)?,
            concurrency: 4,
        })
    }
}

pub struct S3Storage {
    client: Client,
    settings: S3Settings,
}

impl S3Storage {
    pub fn new(settings: S3Settings) -> Result<Self, StorageError> {
        let credentials = Credentials::new(
            &settings.access_key_id,
            &settings.secret_access_key,
            None,
            None,
            "reelgpu-env",
        );
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("auto"))
            .endpoint_url(&settings.endpoint)
            .force_path_style(true)
            .credentials_provider(credentials)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(4)
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(Duration::from_secs(30))
                    .operation_attempt_timeout(Duration::from_secs(120))
                    .build(),
            )
            .build();
        Ok(Self {
            client: Client::from_conf(config),
            settings,
        })
    }

    /// The SDK client (tests use it to look at the bucket).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.settings.bucket
    }

    async fn upload_multipart(
        &self,
        src: &Path,
        key: &str,
        size: u64,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let bucket = &self.settings.bucket;
        let created = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| failed("create multipart upload", key, e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| {
                StorageError::failed(
                    "create multipart upload",
                    key,
                    "no upload id in the response",
                )
            })?
            .to_string();
        // dropped before it completes (the job was cancelled mid-upload), the upload is
        // aborted so no parts are left behind
        let mut pending = PendingUpload {
            client: self.client.clone(),
            bucket: bucket.clone(),
            key: key.to_string(),
            upload_id: Some(upload_id.clone()),
        };
        let parts = self.upload_parts(src, key, size, &upload_id).await;
        let completed = match parts {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed("complete multipart upload", key, e)),
            Err(e) => Err(e),
        };
        pending.upload_id = None;
        if let Err(e) = completed {
            tracing::warn!(key, error = %e, "multipart upload failed; aborting it");
            if let Err(abort) = self
                .client
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await
            {
                tracing::error!(key, error = %DisplayErrorContext(&abort), "aborting the multipart upload failed");
            }
            return Err(e);
        }
        Ok(())
    }

    async fn upload_parts(
        &self,
        src: &Path,
        key: &str,
        size: u64,
        upload_id: &str,
    ) -> Result<Vec<CompletedPart>, StorageError> {
        let part_size = self.settings.part_size;
        let count = size.div_ceil(part_size);
        let permits = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut tasks = JoinSet::new();
        for n in 0..count {
            let (client, permits) = (self.client.clone(), permits.clone());
            let (bucket, key, id) = (self.settings.bucket.clone(), key.to_string(), upload_id);
            let id = id.to_string();
            let src = src.to_path_buf();
            let offset = n * part_size;
            let len = part_size.min(size - offset);
            tasks.spawn(async move {
                let _permit = permits.acquire().await.expect("semaphore open");
                let body = ByteStream::read_from()
                    .path(&src)
                    .offset(offset)
                    .length(Length::Exact(len))
                    .build()
                    .await
                    .map_err(|e| StorageError::failed("read part", &key, e))?;
                let part_number = (n + 1) as i32;
                let out = client
                    .upload_part()
                    .bucket(bucket)
                    .key(&key)
                    .upload_id(id)
                    .part_number(part_number)
                    .content_length(len as i64)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| failed("upload part", &key, e))?;
                Ok::<_, StorageError>(
                    CompletedPart::builder()
                        .part_number(part_number)
                        .set_e_tag(out.e_tag().map(String::from))
                        .build(),
                )
            });
        }
        let mut parts = Vec::with_capacity(count as usize);
        while let Some(joined) = tasks.join_next().await {
            // The first failure stops the rest (dropping the set aborts them).
            let part = joined.map_err(|e| StorageError::failed("upload part", key, e))??;
            parts.push(part);
        }
        parts.sort_by_key(|p| p.part_number());
        Ok(parts)
    }

    /// Downloads `size` bytes of `key` as parallel ranged GETs, each sent with
    /// `If-Match: <etag>`: an object replaced mid-download fails the download instead of
    /// mixing two versions.
    async fn download_ranges(
        &self,
        key: &str,
        dest: &Path,
        size: u64,
        etag: Option<String>,
    ) -> Result<(), StorageError> {
        let file = tokio::fs::File::create(dest)
            .await
            .map_err(StorageError::io(dest))?;
        file.set_len(size).await.map_err(StorageError::io(dest))?;
        drop(file);
        let part_size = self.settings.part_size;
        let permits = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut tasks = JoinSet::new();
        for n in 0..size.div_ceil(part_size) {
            let (client, permits) = (self.client.clone(), permits.clone());
            let (bucket, key) = (self.settings.bucket.clone(), key.to_string());
            let dest = dest.to_path_buf();
            let etag = etag.clone();
            let start = n * part_size;
            let end = (start + part_size).min(size) - 1;
            tasks.spawn(async move {
                let _permit = permits.acquire().await.expect("semaphore open");
                let bytes = with_retries(|| {
                    get_object(&client, &bucket, &key, Some((start, end)), etag.as_deref())
                })
                .await?;
                if bytes.len() as u64 != end - start + 1 {
                    let got = bytes.len();
                    let why = format!("range {start}-{end} returned {got} bytes (object changed?)");
                    return Err(StorageError::failed("download", &key, why));
                }
                let mut f = tokio::fs::OpenOptions::new()
                    .write(true)
                    .open(&dest)
                    .await
                    .map_err(StorageError::io(&dest))?;
                f.seek(std::io::SeekFrom::Start(start))
                    .await
                    .map_err(StorageError::io(&dest))?;
                f.write_all(&bytes).await.map_err(StorageError::io(&dest))?;
                f.flush().await.map_err(StorageError::io(&dest))
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.map_err(|e| StorageError::failed("download", key, e))??;
        }
        Ok(())
    }
}

/// A multipart upload under way: aborted in the background if dropped before it is disarmed
/// (`upload_id` taken).
struct PendingUpload {
    client: Client,
    bucket: String,
    key: String,
    upload_id: Option<String>,
}

impl Drop for PendingUpload {
    fn drop(&mut self) {
        let Some(id) = self.upload_id.take() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (client, bucket, key) = (self.client.clone(), self.bucket.clone(), self.key.clone());
        tracing::warn!(key, "multipart upload dropped mid-way; aborting it");
        rt.spawn(async move {
            let aborted = client
                .abort_multipart_upload()
                .bucket(bucket)
                .key(&key)
                .upload_id(id)
                .send()
                .await;
            if let Err(e) = aborted {
                tracing::error!(key, error = %DisplayErrorContext(&e), "aborting the multipart upload failed");
            }
        });
    }
}

/// GETs `key` whole, or the inclusive byte `range`, into memory; with `etag`, only if the
/// object still has it (`If-Match`).
pub(crate) async fn get_object(
    client: &Client,
    bucket: &str,
    key: &str,
    range: Option<(u64, u64)>,
    etag: Option<&str>,
) -> Result<bytes::Bytes, StorageError> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_range(range.map(|(start, end)| format!("bytes={start}-{end}")))
        .set_if_match(etag.map(String::from))
        .send()
        .await
        .map_err(|e| {
            if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) {
                StorageError::failed(
                    "download",
                    key,
                    "the object was replaced during the download (If-Match failed)",
                )
            } else {
                failed("download", key, e)
            }
        })?;
    let data = out
        .body
        .collect()
        .await
        .map_err(|e| StorageError::failed("download", key, e))?;
    Ok(data.into_bytes())
}

/// Our own retries around a whole ranged GET: the SDK retries requests, not a body that breaks
/// off half-way.
async fn with_retries<T, F, Fut>(attempt: F) -> Result<T, StorageError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StorageError>>,
{
    // two more tries, 250 ms then 500 ms apart, for transient failures only
    attempt
        .retry(
            ExponentialBuilder::new()
                .with_min_delay(Duration::from_millis(250))
                .with_max_times(2),
        )
        .sleep(tokio::time::sleep)
        .when(StorageError::is_transient)
        .notify(|e, delay| tracing::warn!(error = %e, "retrying in {delay:?}"))
        .await
}

fn failed<E>(op: &'static str, key: &str, e: aws_sdk_s3::error::SdkError<E>) -> StorageError
where
    E: std::error::Error + 'static,
{
    StorageError::failed(op, key, DisplayErrorContext(&e))
}

#[async_trait::async_trait]
impl Storage for S3Storage {
    async fn stat(&self, key: &str) -> Result<ObjectInfo, StorageError> {
        let head = self
            .client
            .head_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .send()
            .await;
        match head {
            Ok(h) => Ok(ObjectInfo {
                size: h.content_length().unwrap_or(0).max(0) as u64,
                etag: h.e_tag().map(String::from),
            }),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                Err(StorageError::NotFound {
                    key: key.into(),
                    location: self.describe(),
                })
            }
            Err(e) => Err(failed("stat", key, e)),
        }
    }

    async fn read_range(
        &self,
        key: &str,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<bytes::Bytes, StorageError> {
        let bytes = with_retries(|| {
            get_object(
                &self.client,
                &self.settings.bucket,
                key,
                Some((start, end)),
                etag,
            )
        })
        .await?;
        if bytes.len() as u64 != end - start + 1 {
            let got = bytes.len();
            let why = format!("range {start}-{end} returned {got} bytes (object changed?)");
            return Err(StorageError::failed("download", key, why));
        }
        Ok(bytes)
    }

    async fn download(&self, key: &str, dest: &Path) -> Result<u64, StorageError> {
        let ObjectInfo { size, etag } = self.stat(key).await?;
        if size < self.settings.multipart_threshold {
            let bytes = with_retries(|| {
                get_object(
                    &self.client,
                    &self.settings.bucket,
                    key,
                    None,
                    etag.as_deref(),
                )
            })
            .await?;
            tokio::fs::write(dest, &bytes)
                .await
                .map_err(StorageError::io(dest))?;
            return Ok(bytes.len() as u64);
        }
        self.download_ranges(key, dest, size, etag).await?;
        Ok(size)
    }

    async fn upload(&self, src: &Path, key: &str, content_type: &str) -> Result<(), StorageError> {
        let size = tokio::fs::metadata(src)
            .await
            .map_err(StorageError::io(src))?
            .len();
        if size >= self.settings.multipart_threshold {
            return self.upload_multipart(src, key, size, content_type).await;
        }
        let body = ByteStream::from_path(src)
            .await
            .map_err(|e| StorageError::failed("upload", key, e))?;
        self.client
            .put_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size as i64)
            .body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed("upload", key, e))
    }

    fn describe(&self) -> String {
        format!(
            "s3 bucket {} at {}",
            self.settings.bucket, self.settings.endpoint
        )
    }
}
