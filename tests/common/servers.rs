//! Real servers on loopback for the worker tests: moto's S3 server (a subprocess from the test
//! venv), a callback receiver, a RunPod-protocol server, and a fault-injecting HTTP proxy.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// moto's S3-compatible server, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts `moto_server` (REELGPU_MOTO_SERVER, else `.venv-test/bin/moto_server`, which
    /// `scripts/test.sh` installs) and waits until it answers an S3 request. A free port can be
    /// taken by another process between choosing and binding it, so a server that exits or
    /// never answers like moto is replaced on a fresh port (three tries).
    pub fn start() -> Self {
        let bin = std::env::var_os("REELGPU_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/moto_server")
            });
        assert!(
            bin.exists(),
            "{} is missing: run `bash scripts/test.sh` (it installs moto in .venv-test) or set REELGPU_MOTO_SERVER",
            bin.display()
        );
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
            match wait_for_s3(&mut child, port) {
                Ok(()) => {
                    return Self {
                        child,
                        endpoint: format!("http://127.0.0.1:{port}"),
                    };
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    failures.push(format!("port {port}: {why}"));
                }
            }
        }
        panic!("moto did not start: {}", failures.join("; "));
    }
}

/// Waits until the server on `port` answers S3's ListBuckets with moto's XML, or fails when the
/// child exits or 30 s pass.
fn wait_for_s3(child: &mut Child, port: u16) -> Result<(), String> {
    use std::io::{Read, Write};
    let started = Instant::now();
    let mut last = String::from("no answer");
    while started.elapsed() < Duration::from_secs(30) {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("moto exited ({status})"));
        }
        let answer = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        });
        match answer {
            Ok(body) if body.starts_with("HTTP/1.1 200") && body.contains("ListAllMyBuckets") => {
                return Ok(());
            }
            Ok(body) => last = format!("unexpected answer: {:.80}", body),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("not ready after 30 s ({last})"))
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP request a test server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: std::collections::HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Value,
    pub at: Instant,
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

fn record(
    log: &Log,
    path: String,
    query: std::collections::HashMap<String, String>,
    headers: HeaderMap,
    body: &[u8],
) {
    log.lock().unwrap().push(Seen {
        path,
        query,
        headers,
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
        at: Instant::now(),
    });
}

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Records every POST to `/cb/{path}` and answers 200.
pub async fn callback_receiver() -> (String, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route(
            "/cb/{*rest}",
            post(
                |State(log): State<Log>,
                 Path(rest): Path<String>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    record(&log, rest, Default::default(), headers, &body);
                    StatusCode::OK
                },
            ),
        )
        .with_state(log.clone());
    let addr = serve(app).await;
    (format!("http://{addr}/cb"), log)
}

/// A server that accepts connections and never answers.
pub async fn hanging_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    format!("http://{addr}/cb")
}

/// A RunPod-protocol server: hands out queued jobs on `/job-take/{pod}` (after answering
/// `take_errors` first), records results on
/// `/job-done/{pod}/{job}` (failing the first `fail_results` with 503), a call's stream items on
/// `/job-stream/{pod}/{job}` and pings on
/// `/ping/{pod}`.
#[derive(Clone, Default)]
pub struct Runpod {
    pub jobs: Arc<Mutex<VecDeque<Value>>>,
    /// Statuses answered to the first takes, before any job (e.g. 429, 500).
    pub take_errors: Arc<Mutex<VecDeque<u16>>>,
    pub takes: Log,
    pub results: Log,
    /// Stream items posted to `/job-stream/{pod}/{job}` (a call's partial outputs).
    pub streams: Log,
    pub pings: Log,
    pub fail_results: Arc<Mutex<u32>>,
    /// How long a take that hands out a job waits, after taking the job off the queue,
    /// before it answers (a slow platform, or a long poll that a job just reached).
    pub take_hold: Arc<Mutex<Duration>>,
}

impl Runpod {
    pub async fn start(self) -> (Self, String) {
        let app = Router::new()
            .route(
                "/job-take/{pod}",
                get(
                    |State(rp): State<Runpod>,
                     Path(pod): Path<String>,
                     Query(q): Query<std::collections::HashMap<String, String>>,
                     headers: HeaderMap| async move {
                        record(&rp.takes, pod, q, headers, b"");
                        let error = rp.take_errors.lock().unwrap().pop_front();
                        if let Some(code) = error {
                            return (StatusCode::from_u16(code).unwrap(), String::new());
                        }
                        let job = rp.jobs.lock().unwrap().pop_front();
                        match job {
                            Some(job) => {
                                let hold = *rp.take_hold.lock().unwrap();
                                tokio::time::sleep(hold).await;
                                (StatusCode::OK, job.to_string())
                            }
                            None => {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                (StatusCode::NO_CONTENT, String::new())
                            }
                        }
                    },
                ),
            )
            .route(
                "/job-done/{pod}/{job}",
                post(
                    |State(rp): State<Runpod>,
                     Path((_pod, job)): Path<(String, String)>,
                     Query(q): Query<std::collections::HashMap<String, String>>,
                     headers: HeaderMap,
                     body: Bytes| async move {
                        {
                            let mut fail = rp.fail_results.lock().unwrap();
                            if *fail > 0 {
                                *fail -= 1;
                                return StatusCode::SERVICE_UNAVAILABLE;
                            }
                        }
                        record(&rp.results, job, q, headers, &body);
                        StatusCode::OK
                    },
                ),
            )
            .route(
                "/job-stream/{pod}/{job}",
                post(
                    |State(rp): State<Runpod>,
                     Path((_pod, job)): Path<(String, String)>,
                     Query(q): Query<std::collections::HashMap<String, String>>,
                     headers: HeaderMap,
                     body: Bytes| async move {
                        record(&rp.streams, job, q, headers, &body);
                        StatusCode::OK
                    },
                ),
            )
            .route(
                "/ping/{pod}",
                get(
                    |State(rp): State<Runpod>,
                     Path(pod): Path<String>,
                     Query(q): Query<std::collections::HashMap<String, String>>,
                     headers: HeaderMap| async move {
                        record(&rp.pings, pod, q, headers, b"");
                        StatusCode::OK
                    },
                ),
            )
            .with_state(self.clone());
        let addr = serve(app).await;
        (self, format!("http://{addr}"))
    }

    /// The environment a worker needs to talk to this server.
    pub fn env(base: &str) -> Vec<(&'static str, String)> {
        vec![
            ("RUNPOD_WEBHOOK_GET_JOB", format!("{base}/job-take/$ID")),
            (
                "RUNPOD_WEBHOOK_POST_OUTPUT",
                format!("{base}/job-done/$RUNPOD_POD_ID/$ID"),
            ),
            (
                "RUNPOD_WEBHOOK_POST_STREAM",
                format!("{base}/job-stream/$RUNPOD_POD_ID/$ID"),
            ),
            ("RUNPOD_WEBHOOK_PING", format!("{base}/ping/$RUNPOD_POD_ID")),
            ("RUNPOD_POD_ID", "pod-1".into()),
            ("RUNPOD_AI_API_KEY", "test-key".into()),
            ("RUNPOD_PING_INTERVAL", "200".into()),
            // production refuses internal callback hosts: the tests' receivers are on loopback
            ("CALLBACK_ALLOWED_HOSTS", "127.0.0.1".into()),
        ]
    }
}

/// A loopback HTTP proxy in front of `upstream` that answers 500 (and drops the connection)
/// for requests whose request line contains any of `fail`, and forwards the rest, one request
/// per connection.
pub async fn faulty_proxy(upstream: &str, fail: Vec<String>) -> String {
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fail = Arc::new(fail);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (upstream, fail) = (upstream.clone(), fail.clone());
            tokio::spawn(async move {
                let Some(text) = read_head(&mut client).await else {
                    return;
                };
                let line = text.lines().next().unwrap_or_default().to_string();
                if fail.iter().any(|f| line.contains(f.as_str())) {
                    let _ = client
                        .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                    return;
                }
                forward(client, &upstream, &text).await;
            });
        }
    });
    format!("http://{addr}")
}

/// A loopback HTTP proxy in front of the S3 server `upstream` that, just before forwarding the
/// first ranged GET of `path` (`/<bucket>/<key>`), replaces that object with `replacement`
/// (a plain PUT, as another uploader would): a download then sees the object change under it.
pub async fn replacing_proxy(upstream: &str, path: &str, replacement: Vec<u8>) -> String {
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let done = Arc::new(tokio::sync::Mutex::new(Some(replacement)));
    let path = path.to_string();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (upstream, done, path) = (upstream.clone(), done.clone(), path.clone());
            tokio::spawn(async move {
                let Some(text) = read_head(&mut client).await else {
                    return;
                };
                let line = text.lines().next().unwrap_or_default().to_string();
                let ranged = text.to_ascii_lowercase().contains("\r\nrange: bytes=");
                if line.starts_with("GET ") && line.contains(&path) && ranged {
                    // hold the lock while replacing, so every ranged GET waits for it
                    let mut pending = done.lock().await;
                    if let Some(data) = pending.take() {
                        let put = reqwest::Client::new()
                            .put(format!("http://{upstream}{path}"))
                            .body(data)
                            .send()
                            .await
                            .unwrap();
                        assert!(put.status().is_success(), "replace: {}", put.status());
                    }
                }
                forward(client, &upstream, &text).await;
            });
        }
    });
    format!("http://{addr}")
}

/// A proxy in front of `upstream` that counts the bytes the upstream sends back (response
/// heads and bodies): what a client really moved from the server.
pub async fn counting_proxy(upstream: &str) -> (String, Arc<std::sync::atomic::AtomicU64>) {
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = count.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (upstream, count) = (upstream.clone(), count.clone());
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                if let Ok((_, down)) = tokio::io::copy_bidirectional(&mut client, &mut server).await
                {
                    count.fetch_add(down, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    (format!("http://{addr}"), total)
}

/// Reads a request's head (up to the blank line) off `client`, a byte at a time so the body
/// stays in the socket.
async fn read_head(client: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await.unwrap_or(0) == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Sends the request whose head is `head` on to `upstream` (one request per connection) and
/// relays both ways until either side closes.
async fn forward(mut client: TcpStream, upstream: &str, head: &str) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let mut rewritten: Vec<String> = head
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(String::from)
        .collect();
    rewritten.push("Connection: close".into());
    let head = format!("{}\r\n\r\n", rewritten.join("\r\n"));
    if server.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// A child process killed and reaped on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(self.0.id() as i32, sig) };
    }

    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s;
            }
            assert!(t.elapsed() < limit, "worker did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
