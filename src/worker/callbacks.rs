//! Progress callbacks to the web app (contract §3), sent from a background task so the export
//! never waits on them.
//!
//! - `progress` is throttled: sent only when the percentage rises, at most once per
//!   [`CallbackPolicy::min_interval`], each POST with a short timeout; a newer value of the
//!   same stage replaces one not sent yet, and every stage (0, 5, 10–90, 95) is sent.
//! - `complete` / `error` are terminal: retried with backoff, and nothing is sent after them
//!   (a progress POST still in flight is finished first, so it cannot overtake the terminal one).
//! - With `CALLBACK_SECRET` set, every POST carries `X-Reelgpu-Timestamp` (Unix seconds) and
//!   `X-Reelgpu-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
//! - With `CALLBACK_ALLOWED_HOSTS` set (comma-separated; `*.example.com` matches subdomains),
//!   other hosts are refused; plain `http` is only allowed to loopback, and redirects are never
//!   followed (no way into the worker's own network).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use reqwest::Url;
use serde_json::json;
use sha2::Sha256;
use std::sync::atomic::{AtomicI16, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Header with the Unix time (seconds) the signature covers.
pub const TIMESTAMP_HEADER: &str = "X-Reelgpu-Timestamp";
/// Header with `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-Reelgpu-Signature";

/// How callbacks are sent, and where they may go.
#[derive(Debug, Clone)]
pub struct CallbackPolicy {
    pub secret: Option<Vec<u8>>,
    /// Lower-case host names or `*.suffix` patterns; `None` allows any host.
    pub allowed_hosts: Option<Vec<String>>,
    pub progress_timeout: Duration,
    pub terminal_timeout: Duration,
    /// Attempts of a terminal callback (the first plus retries).
    pub terminal_attempts: u32,
    pub min_interval: Duration,
}

impl Default for CallbackPolicy {
    fn default() -> Self {
        Self {
            secret: None,
            allowed_hosts: None,
            progress_timeout: Duration::from_secs(3),
            terminal_timeout: Duration::from_secs(10),
            terminal_attempts: 5,
            min_interval: Duration::from_millis(500),
        }
    }
}

impl CallbackPolicy {
    /// `CALLBACK_SECRET` and `CALLBACK_ALLOWED_HOSTS` from the environment.
    pub fn from_env() -> Self {
        let secret = std::env::var("CALLBACK_SECRET")
            .ok()
            .filter(|s| !s.is_empty())
            .map(String::into_bytes);
        let allowed_hosts = std::env::var("CALLBACK_ALLOWED_HOSTS")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect()
            });
        Self {
            secret,
            allowed_hosts,
            ..Self::default()
        }
    }

    /// Checks a job's `callback_url`: absolute http(s), http only to loopback, and an allowed
    /// host. The message is for the field `callback_url`.
    pub fn check(&self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|e| format!("is not an absolute URL ({e})"))?;
        let host = parsed
            .host_str()
            .ok_or("has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err("must use https (plain http only to loopback)".into()),
            other => return Err(format!("must be an http(s) URL, not {other}:")),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("must not carry credentials".into());
        }
        if let Some(allowed) = &self.allowed_hosts {
            let ok = allowed
                .iter()
                .any(|pattern| match pattern.strip_prefix("*.") {
                    Some(suffix) => host.ends_with(&format!(".{suffix}")),
                    None => *pattern == host,
                });
            if !ok {
                return Err(format!("host {host:?} is not in CALLBACK_ALLOWED_HOSTS"));
            }
        }
        Ok(parsed)
    }

    /// The signature headers for `body` at time `ts` (Unix seconds), when a secret is set.
    pub fn sign(&self, ts: u64, body: &[u8]) -> Option<String> {
        let secret = self.secret.as_ref()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(ts.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        Some(format!("v1={}", hex::encode(mac.finalize().into_bytes())))
    }
}

/// A client for callbacks: no redirects, so a callback cannot be bounced elsewhere.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .build()
        .expect("HTTP client")
}

/// The final callback of a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Terminal {
    Complete { output_video_key: String },
    Error { error: String, should_retry: bool },
}

#[derive(Debug, Clone, PartialEq)]
struct Progress {
    percent: u8,
    message: String,
}

/// Sets the job's progress from any thread (cheap; never blocks).
#[derive(Clone)]
pub struct ProgressHandle(Option<(mpsc::UnboundedSender<Progress>, Arc<AtomicI16>)>);

impl ProgressHandle {
    /// Reports `percent` (0–100) unless it is not above the last value reported.
    pub fn set(&self, percent: u8, message: &str) {
        let Some((tx, last)) = &self.0 else { return };
        let percent = percent.min(100);
        let rose = last
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| {
                (i16::from(percent) > l).then_some(i16::from(percent))
            })
            .is_ok();
        if rose {
            let _ = tx.send(Progress {
                percent,
                message: message.to_string(),
            });
        }
    }
}

/// One job's callbacks: a background task fed by [`Self::progress`] and ended by
/// [`Self::finish`]. Without a callback URL everything is a no-op.
pub struct Callbacks {
    progress: ProgressHandle,
    terminal: Option<oneshot::Sender<Terminal>>,
    task: Option<JoinHandle<()>>,
}

impl Callbacks {
    pub fn disabled() -> Self {
        Self {
            progress: ProgressHandle(None),
            terminal: None,
            task: None,
        }
    }

    /// Starts the sender task for callbacks under `base` (on the current tokio runtime).
    pub fn start(client: reqwest::Client, base: Url, policy: Arc<CallbackPolicy>) -> Self {
        let (progress_tx, progress_rx) = mpsc::unbounded_channel();
        let (terminal_tx, terminal_rx) = oneshot::channel();
        let task = tokio::spawn(send_loop(client, base, policy, progress_rx, terminal_rx));
        Self {
            progress: ProgressHandle(Some((progress_tx, Arc::new(AtomicI16::new(-1))))),
            terminal: Some(terminal_tx),
            task: Some(task),
        }
    }

    pub fn progress(&self) -> ProgressHandle {
        self.progress.clone()
    }

    /// Sends the terminal callback (in the background, with retries) and returns the task,
    /// which ends once it is delivered or given up.
    pub fn finish(mut self, terminal: Terminal) -> Option<JoinHandle<()>> {
        if let Some(tx) = self.terminal.take() {
            let _ = tx.send(terminal);
        }
        self.task.take()
    }
}

/// The sender task. Updates of one stage (same message) are coalesced to the newest, a new
/// stage is always sent, and after each POST it pauses `min_interval`. When the terminal
/// callback arrives, stages not sent yet go first, then the terminal one, then nothing.
async fn send_loop(
    client: reqwest::Client,
    base: Url,
    policy: Arc<CallbackPolicy>,
    mut progress: mpsc::UnboundedReceiver<Progress>,
    mut terminal: oneshot::Receiver<Terminal>,
) {
    let url = |path: &str| {
        let mut u = base.clone();
        let joined = format!("{}/{path}", u.path().trim_end_matches('/'));
        u.set_path(&joined);
        u
    };
    let mut next: Option<Progress> = None;
    let end = loop {
        let mut p = match next.take() {
            Some(p) => p,
            None => tokio::select! {
                biased;
                t = &mut terminal => break t.ok(),
                p = progress.recv() => match p {
                    Some(p) => p,
                    None => break (&mut terminal).await.ok(),
                },
            },
        };
        while let Ok(q) = progress.try_recv() {
            if q.message == p.message {
                p = q;
            } else {
                next = Some(q);
                break;
            }
        }
        send_progress(&client, &policy, url("progress"), &p).await;
        tokio::select! {
            biased;
            t = &mut terminal => break t.ok(),
            _ = tokio::time::sleep(policy.min_interval) => {}
        }
    };
    let Some(end) = end else { return };
    // Stages not sent yet go first (the newest update of each), without pauses.
    let mut stages: Vec<Progress> = next.take().into_iter().collect();
    while let Ok(q) = progress.try_recv() {
        match stages.last_mut() {
            Some(last) if last.message == q.message => *last = q,
            _ => stages.push(q),
        }
    }
    for p in stages {
        send_progress(&client, &policy, url("progress"), &p).await;
    }
    let (path, body) = match end {
        Terminal::Complete { output_video_key } => {
            ("complete", json!({"output_video_key": output_video_key}))
        }
        Terminal::Error {
            error,
            should_retry,
        } => (
            "error",
            json!({"error": error, "should_retry": should_retry}),
        ),
    };
    send_terminal(&client, &policy, url(path), body).await;
}

/// One progress POST with the short timeout; a failure is only logged (progress is advisory).
async fn send_progress(client: &reqwest::Client, policy: &CallbackPolicy, url: Url, p: &Progress) {
    let body = json!({"progress": p.percent, "message": p.message});
    if let Err(e) = post(client, policy, url, &body, policy.progress_timeout).await {
        tracing::debug!(error = %e, "progress callback failed (ignored)");
    }
}

async fn send_terminal(
    client: &reqwest::Client,
    policy: &CallbackPolicy,
    url: Url,
    body: serde_json::Value,
) {
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=policy.terminal_attempts {
        match post(client, policy, url.clone(), &body, policy.terminal_timeout).await {
            Ok(()) => return,
            Err(e) if attempt < policy.terminal_attempts => {
                tracing::warn!(%url, attempt, error = %e, "callback failed; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            Err(e) => {
                tracing::error!(%url, attempts = attempt, error = %e, "callback given up");
            }
        }
    }
}

async fn post(
    client: &reqwest::Client,
    policy: &CallbackPolicy,
    url: Url,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<(), String> {
    let bytes = serde_json::to_vec(body).expect("JSON");
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut req = client
        .post(url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if let Some(sig) = policy.sign(ts, &bytes) {
        req = req
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, sig);
    }
    let resp = req.body(bytes).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: Option<&str>) -> CallbackPolicy {
        CallbackPolicy {
            allowed_hosts: hosts.map(|h| h.split(',').map(String::from).collect()),
            ..CallbackPolicy::default()
        }
    }

    #[test]
    fn urls_are_checked() {
        let any = policy(None);
        assert!(any.check("https://app.example.com/api/jobs/1/do").is_ok());
        assert!(any.check("http://127.0.0.1:8080/cb").is_ok());
        assert!(any.check("http://[::1]:8080/cb").is_ok());
        assert!(any.check("http://localhost/cb").is_ok());
        assert!(
            any.check("http://10.0.0.5/cb")
                .unwrap_err()
                .contains("https")
        );
        assert!(any.check("ftp://x/y").unwrap_err().contains("http(s)"));
        assert!(any.check("/relative").unwrap_err().contains("absolute"));
        assert!(
            any.check("https://u:p@x.com/")
                .unwrap_err()
                .contains("credentials")
        );
        let some = policy(Some("app.example.com,*.workers.dev"));
        assert!(some.check("https://app.example.com/x").is_ok());
        assert!(some.check("https://reel.me.workers.dev/x").is_ok());
        assert!(some.check("https://workers.dev/x").is_err());
        assert!(
            some.check("https://169.254.169.254/x")
                .unwrap_err()
                .contains("ALLOWED")
        );
        assert!(
            some.check("http://127.0.0.1/x")
                .unwrap_err()
                .contains("ALLOWED")
        );
    }

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_and_body() {
        let p = CallbackPolicy {
            secret: Some(b"key".to_vec()),
            ..CallbackPolicy::default()
        };
        // Expected value from Python: hmac.new(b"key", b'1700000000.{"progress":5}',
        // hashlib.sha256).hexdigest()
        assert_eq!(
            p.sign(1_700_000_000, br#"{"progress":5}"#).unwrap(),
            "v1=96f94202203529c48bf44660cdb98f09466c3398d7796ea28a95ebb212aabd45"
        );
        assert!(CallbackPolicy::default().sign(1, b"x").is_none());
    }
}
