//! A loopback HTTP server that serves objects of a [`Storage`] in byte ranges, so ffmpeg can
//! read a source by URL and move only the bytes it needs (the container's index and the
//! clip's range) instead of the whole object. Each object is served at
//! `http://127.0.0.1:<port>/<random token>/<n>`: no credentials ever reach ffmpeg's
//! arguments or the logs, and other local processes cannot guess the path. Every read is
//! pinned to the object's version at the start (`If-Match`), and the body of a response is
//! fetched from storage in chunks as ffmpeg reads it, so a connection ffmpeg drops after a
//! seek stops costing bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ObjectInfo, Storage, StorageError};
use crate::cancel::CancelToken;

/// Bytes fetched from storage per read (aligned to multiples of it): about what a dropped
/// connection can cost.
pub const CHUNK: u64 = 64 * 1024;
/// Chunks kept after they are served: every ffmpeg that opens a source reads its header and
/// index again, and the decoder and the audio input read the same range; those come from
/// here instead of storage. At most `CACHE_CHUNKS * CHUNK` bytes of memory.
pub const CACHE_CHUNKS: usize = 128;

struct Served {
    key: String,
    info: ObjectInfo,
}

struct Shared {
    storage: Arc<dyn Storage>,
    token: String,
    objects: Vec<Served>,
    fetched: AtomicU64,
    /// (object, chunk index) → bytes, oldest first.
    cache: std::sync::Mutex<std::collections::VecDeque<((usize, u64), bytes::Bytes)>>,
}

impl Shared {
    /// Chunk `k` of object `n`, from the cache or storage.
    async fn chunk(&self, n: usize, k: u64) -> Result<bytes::Bytes, StorageError> {
        let cached = {
            let cache = self.cache.lock().expect("cache lock");
            cache
                .iter()
                .find(|(id, _)| *id == (n, k))
                .map(|(_, b)| b.clone())
        };
        if let Some(b) = cached {
            return Ok(b);
        }
        let o = &self.objects[n];
        let start = k * CHUNK;
        let end = (start + CHUNK).min(o.info.size) - 1;
        let bytes = self
            .storage
            .read_range(&o.key, start, end, o.info.etag.as_deref())
            .await?;
        self.fetched
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() == CACHE_CHUNKS {
            cache.pop_front();
        }
        cache.push_back(((n, k), bytes.clone()));
        Ok(bytes)
    }
}

/// A running bridge; stops when dropped.
pub struct RangeBridge {
    shared: Arc<Shared>,
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl RangeBridge {
    /// Serves `keys` of `storage` (each checked to exist) until dropped or `cancel` fires.
    pub async fn start(
        storage: Arc<dyn Storage>,
        keys: &[String],
        cancel: &CancelToken,
    ) -> Result<Self, StorageError> {
        let mut objects = Vec::new();
        for key in keys {
            if objects.iter().any(|o: &Served| &o.key == key) {
                continue;
            }
            let info = storage.stat(key).await?;
            objects.push(Served {
                key: key.clone(),
                info,
            });
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| StorageError::Config(format!("range bridge: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StorageError::Config(format!("range bridge: {e}")))?;
        let shared = Arc::new(Shared {
            storage,
            token: uuid::Uuid::new_v4().simple().to_string(),
            objects,
            fetched: AtomicU64::new(0),
            cache: Default::default(),
        });
        let app = axum::Router::new()
            .route("/{token}/{n}", axum::routing::get(serve))
            .with_state(shared.clone());
        let cancel = cancel.clone();
        // a small send buffer: what ffmpeg has not read yet stays in storage, so a
        // connection it drops after a seek has cost little
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            small_send_buffer(tcp);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { cancel.cancelled().await })
                .await;
        });
        Ok(Self {
            base: format!("http://{addr}/{}", shared.token),
            shared,
            task,
        })
    }

    /// The URL ffmpeg reads `key` at.
    pub fn url(&self, key: &str) -> Option<String> {
        self.shared
            .objects
            .iter()
            .position(|o| o.key == key)
            .map(|n| format!("{}/{n}", self.base))
    }

    /// The size of `key`, when served.
    pub fn size(&self, key: &str) -> Option<u64> {
        self.shared
            .objects
            .iter()
            .find(|o| o.key == key)
            .map(|o| o.info.size)
    }

    /// `text` with every URL of this bridge replaced by its object's key.
    pub fn unmask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (n, o) in self.shared.objects.iter().enumerate() {
            out = out.replace(&format!("{}/{n}", self.base), &o.key);
        }
        out
    }

    /// Bytes fetched from storage so far.
    pub fn bytes_fetched(&self) -> u64 {
        self.shared.fetched.load(Ordering::Relaxed)
    }

    /// Total size of the objects served.
    pub fn bytes_total(&self) -> u64 {
        self.shared.objects.iter().map(|o| o.info.size).sum()
    }
}

/// Bytes the kernel may hold for one connection before ffmpeg reads them.
pub const SEND_BUFFER: usize = 64 * 1024;

#[cfg(unix)]
fn small_send_buffer(tcp: &tokio::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let size = SEND_BUFFER as libc::c_int;
    // SAFETY: a valid socket fd and a c_int option value of the size given.
    unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(unix))]
fn small_send_buffer(_tcp: &tokio::net::TcpStream) {}

impl Drop for RangeBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `Range: bytes=a-b` / `bytes=a-` / `bytes=-n` as an inclusive range of a `size`-byte object.
pub fn parse_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (size.saturating_sub(n), size - 1)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            size - 1
        } else {
            b.parse::<u64>().ok()?.min(size - 1)
        };
        (start, end)
    };
    (start <= end && start < size).then_some((start, end))
}

async fn serve(
    State(shared): State<Arc<Shared>>,
    UrlPath((token, n)): UrlPath<(String, usize)>,
    headers: HeaderMap,
) -> Response {
    if token != shared.token {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(object) = shared.objects.get(n) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let size = object.info.size;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, size));
    let (status, start, end) = match range {
        None if size == 0 => return (StatusCode::OK, Body::empty()).into_response(),
        None => (StatusCode::OK, 0, size - 1),
        Some(Some((a, b))) => (StatusCode::PARTIAL_CONTENT, a, b),
        Some(None) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response();
        }
    };
    let state = (shared.clone(), n, start);
    let body = futures_util::stream::unfold(state, move |(shared, n, at)| async move {
        if at > end {
            return None;
        }
        let k = at / CHUNK;
        match shared.chunk(n, k).await {
            Ok(chunk) => {
                let from = (at - k * CHUNK) as usize;
                let to = ((end + 1).min((k + 1) * CHUNK) - k * CHUNK) as usize;
                let next = k * CHUNK + to as u64;
                Some((
                    Ok::<_, std::io::Error>(chunk.slice(from..to)),
                    (shared, n, next),
                ))
            }
            Err(e) => {
                let key = &shared.objects[n].key;
                tracing::warn!(key, error = %e, "range bridge read failed");
                Some((
                    Err(std::io::Error::other(e.to_string())),
                    (shared, n, end + 1),
                ))
            }
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::ACCEPT_RANGES, "bytes".parse().expect("static"));
    h.insert(
        header::CONTENT_LENGTH,
        (end - start + 1).to_string().parse().expect("digits"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            format!("bytes {start}-{end}/{size}")
                .parse()
                .expect("ascii"),
        );
    }
    h.insert(
        header::CONTENT_TYPE,
        "application/octet-stream".parse().expect("static"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_like_http_says() {
        assert_eq!(parse_range("bytes=0-", 100), Some((0, 99)));
        assert_eq!(parse_range("bytes=10-19", 100), Some((10, 19)));
        assert_eq!(parse_range("bytes=90-200", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-2", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
