//! Progress callbacks to the web app (contract §3), sent from a background task so the export
//! never waits on them.
//!
//! - `progress` is throttled: sent only when the percentage rises, at most once per
//!   [`CallbackPolicy::min_interval`], each POST with a short timeout; a newer value of the
//!   same stage replaces one not sent yet, and every stage (0, 5, 10–90, 95) is sent.
//! - `complete` / `error` are terminal: retried with backoff, and nothing is sent after them
//!   (a progress POST still in flight is finished first, so it cannot overtake the terminal one).
//! - With `CALLBACK_SECRET` set, every POST carries `X-Reelgpu-Timestamp` (Unix seconds) and
//!   `X-Reelgpu-Signature: v2=<hex HMAC-SHA256(secret, "<timestamp>.<url>.<body>")>`: the
//!   signature binds the exact URL posted to, so a captured body cannot be replayed to
//!   another job's callback.
//! - With `CALLBACK_ALLOWED_HOSTS` set (comma-separated; `*.example.com` matches subdomains),
//!   other hosts are refused; plain `http` is only allowed to loopback, and redirects are never
//!   followed (no way into the worker's own network).
//! - In production (RunPod) the worker also refuses callback hosts that are, or resolve to,
//!   loopback, private, link-local (cloud metadata), shared or otherwise internal addresses,
//!   checked on the addresses actually connected to (after DNS), unless
//!   `CALLBACK_ALLOWED_HOSTS` names the host exactly. The local modes may call loopback.

use backon::{ExponentialBuilder, Retryable};
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
/// Header with `v2=<hex HMAC-SHA256(secret, "<timestamp>.<url>.<body>")>`.
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
    /// Refuse internal addresses (production): see the module doc.
    pub block_internal: bool,
}

impl Default for CallbackPolicy {
    fn default() -> Self {
        Self {
            secret: None,
            allowed_hosts: None,
            block_internal: false,
            progress_timeout: Duration::from_secs(3),
            terminal_timeout: Duration::from_secs(10),
            terminal_attempts: 5,
            min_interval: Duration::from_millis(500),
        }
    }
}

impl CallbackPolicy {
    /// `CALLBACK_SECRET` and `CALLBACK_ALLOWED_HOSTS` from the environment; `production`
    /// refuses internal addresses.
    pub fn from_env(production: bool) -> Self {
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
            block_internal: production,
            ..Self::default()
        }
    }

    /// Whether `CALLBACK_ALLOWED_HOSTS` names `host` itself (not through a wildcard): the one
    /// way to allow an internal address in production.
    fn names_exactly(&self, host: &str) -> bool {
        self.allowed_hosts
            .as_ref()
            .is_some_and(|hosts| hosts.iter().any(|h| h == host))
    }

    /// Whether a connection to `ip` for `host` is refused.
    fn refuses(&self, host: &str, ip: std::net::IpAddr) -> bool {
        self.block_internal && is_internal(ip) && !self.names_exactly(host)
    }

    /// Checks a job's `callback_url`: absolute http(s), http only to loopback, and an allowed
    /// host. The message is for the field `callback_url`.
    pub fn check(&self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|e| format!("is not an absolute URL ({e})"))?;
        // a fully qualified name's trailing dot (`localhost.`) names the same host
        let host = parsed
            .host_str()
            .ok_or("has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        // an empty label (`a..b`, or more than one trailing dot) names no host; it would
        // only fail later, in the resolver
        if host.is_empty()
            || host.contains("..")
            || parsed.host_str().is_some_and(|h| h.ends_with(".."))
        {
            return Err("has an empty label in its host name".into());
        }
        // RFC 6761: every name under .localhost is loopback too
        let localhost = host == "localhost" || host.ends_with(".localhost");
        let loopback = localhost
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
        // an IP written as the host (in any form the URL parser accepts: decimal, octal, hex
        // IPv4 are normalised to dotted form) is checked here; names when they resolve
        if let Ok(ip) = host.parse::<std::net::IpAddr>()
            && self.refuses(&host, ip)
        {
            return Err(format!(
                "points at an internal address ({ip}); name the host in CALLBACK_ALLOWED_HOSTS \
                 to allow it"
            ));
        }
        if self.block_internal && localhost && !self.names_exactly(&host) {
            return Err(
                "points at localhost; name it in CALLBACK_ALLOWED_HOSTS to allow it".into(),
            );
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

    /// The signature header for `body` POSTed to `url` at time `ts` (Unix seconds), when a
    /// secret is set.
    pub fn sign(&self, ts: u64, url: &str, body: &[u8]) -> Option<String> {
        let secret = self.secret.as_ref()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(ts.to_string().as_bytes());
        mac.update(b".");
        mac.update(url.as_bytes());
        mac.update(b".");
        mac.update(body);
        Some(format!("v2={}", hex::encode(mac.finalize().into_bytes())))
    }
}

/// Whether `ip` is internal: loopback, private, link-local (cloud metadata at 169.254.169.254
/// and fd00:ec2::254 included), shared (CGNAT), unspecified, broadcast, multicast, reserved
/// or documentation ranges, and IPv6 forms of any of those (mapped, compatible, NAT64).
pub fn is_internal(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space
                || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
                || (a == 198 && (18..20).contains(&b)) // benchmarking
                || a >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) embed an IPv4 address
            if seg[..6] == [0; 6] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let o = v6.octets();
                return is_internal(IpAddr::V4(std::net::Ipv4Addr::new(
                    o[12], o[13], o[14], o[15],
                )));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 among them)
                || (seg[0] & 0xffc0) == 0xfe80 // link-local
                || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || seg[0] == 0x2001 && seg[1] == 0xdb8 // documentation
        }
    }
}

/// Resolves callback hosts and drops the addresses the policy refuses, so a name that points
/// inside (or is re-pointed there between the check and the connection) is never connected to.
struct GuardedResolver {
    policy: Arc<CallbackPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_ascii_lowercase();
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<std::net::SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| !policy.refuses(&host, a.ip()))
                .collect();
            if allowed.is_empty() {
                let refused: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
                return Err(format!(
                    "callback host {host} resolves only to internal addresses ({}); name it in \
                     CALLBACK_ALLOWED_HOSTS to allow it",
                    refused.join(", ")
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A client for callbacks: no redirects, so a callback cannot be bounced elsewhere; names are
/// resolved through the policy's address check.
pub fn http_client(policy: Arc<CallbackPolicy>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .dns_resolver(Arc::new(GuardedResolver { policy }))
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
    // up to `terminal_attempts` tries, 0.5 s doubling to 8 s between them
    let sent = (|| post(client, policy, url.clone(), &body, policy.terminal_timeout))
        .retry(
            ExponentialBuilder::new()
                .with_min_delay(Duration::from_millis(500))
                .with_max_delay(Duration::from_secs(8))
                .with_max_times(policy.terminal_attempts.saturating_sub(1) as usize),
        )
        .sleep(tokio::time::sleep)
        .notify(|e, delay| {
            tracing::warn!(%url, error = %e, "callback failed; retrying in {delay:?}");
        })
        .await;
    if let Err(e) = sent {
        tracing::error!(%url, attempts = policy.terminal_attempts, error = %e, "callback given up");
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
    let signature = policy.sign(ts, url.as_str(), &bytes);
    let mut req = client
        .post(url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if let Some(sig) = signature {
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
    fn signature_is_hmac_sha256_of_timestamp_url_and_body() {
        let p = CallbackPolicy {
            secret: Some(b"key".to_vec()),
            ..CallbackPolicy::default()
        };
        let url = "https://app.example.com/api/jobs/1/do/progress";
        // Expected value from Python: hmac.new(b"key",
        // b'1700000000.https://app.example.com/api/jobs/1/do/progress.{"progress":5}',
        // hashlib.sha256).hexdigest()
        assert_eq!(
            p.sign(1_700_000_000, url, br#"{"progress":5}"#).unwrap(),
            "v2=e35eb077c67140dba454c7ab14af3c3bcf476ec2c8d2b1632a57611cd198284e"
        );
        // the same body for another job's URL signs differently: no replay across jobs
        assert_ne!(
            p.sign(1_700_000_000, url, br#"{"progress":5}"#),
            p.sign(
                1_700_000_000,
                "https://app.example.com/api/jobs/2/do/progress",
                br#"{"progress":5}"#
            )
        );
        assert!(CallbackPolicy::default().sign(1, url, b"x").is_none());
    }

    #[test]
    fn production_refuses_internal_callback_addresses_unless_named() {
        let prod = CallbackPolicy {
            block_internal: true,
            ..CallbackPolicy::default()
        };
        for url in [
            "https://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb",
            "https://2130706433/cb", // decimal 127.0.0.1
            "https://0177.0.0.1/cb", // octal
            "https://0x7f.1/cb",     // hex, short form
            "https://10.1.2.3/cb",
            "https://172.16.0.1/cb",
            "https://192.168.1.1/cb",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/cb",
            "https://0.0.0.0/cb",
            "https://[::1]/cb",
            "https://[::ffff:127.0.0.1]/cb",
            "https://[::ffff:a9fe:a9fe]/cb", // mapped 169.254.169.254
            "https://[fd00:ec2::254]/cb",
            "https://[fe80::1]/cb",
            "https://localhost/cb",
            // found by the callback_url fuzz seeds: a trailing dot and .localhost names
            "https://localhost./cb",
            "https://LOCALHOST./cb",
            "https://app.localhost/cb",
            // more spellings of internal addresses
            "https://127.1/cb",                      // shortened
            "https://0x7f000001/cb",                 // hex, one number
            "https://017700000001/cb",               // octal, one number
            "https://127.0.0.1./cb",                 // trailing dot
            "https://169.254.169.254./latest",       // metadata, trailing dot
            "https://[::ffff:7f00:1]/cb",            // mapped, hex
            "https://[0:0:0:0:0:ffff:127.0.0.1]/cb", // mapped, long form
            "https://[::127.0.0.1]/cb",              // IPv4-compatible
            "https://[64:ff9b::a9fe:a9fe]/cb",       // NAT64 of 169.254.169.254
            "https://[::]/cb",
            "https://0/cb", // 0.0.0.0
        ] {
            let err = prod.check(url).expect_err(url);
            assert!(err.contains("CALLBACK_ALLOWED_HOSTS"), "{url}: {err}");
        }
        // found by the callback_url fuzzer (60 s run): a host of empty labels, which the URL
        // parser keeps as a name rather than an address
        for url in [
            "https://169.250.169.254../latest",
            "https://169.254.169.254../latest",
            "https://localhost../cb",
            "https://app..example.com/cb",
        ] {
            let err = prod.check(url).expect_err(url);
            assert!(err.contains("empty label"), "{url}: {err}");
        }
        assert!(prod.check("https://app.example.com/api/jobs/1/do").is_ok());
        assert!(prod.check("https://8.8.8.8/cb").is_ok());
        // named exactly, an internal host is allowed; a wildcard does not do it
        let named = CallbackPolicy {
            block_internal: true,
            allowed_hosts: Some(vec!["127.0.0.1".into(), "*.internal".into()]),
            ..CallbackPolicy::default()
        };
        assert!(named.check("http://127.0.0.1:9000/cb").is_ok());
        assert!(named.refuses("db.internal", "10.0.0.7".parse().unwrap()));
        assert!(!named.refuses("127.0.0.1", "127.0.0.1".parse().unwrap()));
        // the local modes still call loopback
        assert!(
            CallbackPolicy::default()
                .check("http://127.0.0.1:8080/cb")
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_name_resolving_inside_is_never_connected_to() {
        let prod = Arc::new(CallbackPolicy {
            block_internal: true,
            ..CallbackPolicy::default()
        });
        // a listener that would answer, on loopback, reached through a name
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = tokio::spawn(async move {
            tokio::time::timeout(Duration::from_secs(2), listener.accept())
                .await
                .is_ok()
        });
        let client = http_client(prod.clone());
        let err = client
            .post(format!("http://localhost:{port}/cb"))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .expect_err("refused");
        let chain = format!("{err:?}");
        assert!(chain.contains("internal addresses"), "{chain}");
        assert!(
            !accepted.await.unwrap(),
            "a connection reached the listener"
        );
    }
}
