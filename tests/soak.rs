//! The soak: `REELGPU_SOAK_JOBS` mixed jobs (default 24, the short variant the suite runs;
//! `bash scripts/soak.sh N` runs N) through the real `reelgpu worker` binary against the
//! RunPod-protocol server and the S3 server, behind a proxy that fails one kind of upload.
//! The mix, in turn: an overlay, a 9:16 framing, an invalid job, a missing source, an upload
//! that the storage refuses, and an overlay whose callback server never answers. Two jobs run
//! at once (`REELGPU_CONCURRENCY=2`; `REELGPU_SOAK_CONCURRENCY` sets it); a SIGTERM ends it. Asserts: every job's result posted
//! exactly once with the status its kind expects; the worker's peak RSS, open descriptors,
//! threads and live GPU buffers in the last third of the jobs within bounds of the first
//! third's; no child process while idle; nothing left in the work folder. The figures are the
//! last line it prints.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cli::{reelgpu_command, tmp_in};
use common::servers::{self, Moto, Proc, Runpod};
use reelgpu::storage::Storage;
use reelgpu::storage::s3::{S3Settings, S3Storage};
use reelgpu::testing::clips::{generate, testsrc_args};
use serde_json::{Value, json};

/// What one kind of job must end as.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Success,
    /// Failed, not to be retried.
    Invalid,
    /// Failed, to be retried.
    Retry,
}

fn job(k: usize, cb_hang: &str) -> (Value, Expect) {
    let id = format!("soak-{k}");
    let base = |params: Value, ty: &str| json!({"job_id": id, "type": ty, "input_video_key": "input/clip.mp4", "params": params});
    let blur = json!({"effect_type": "blur", "highlight_regions": [
        {"start_frame": 0, "end_frame": 100, "x": 32, "y": 18, "radius_x": 10, "radius_y": 14}]});
    match k % 6 {
        0 => (base(blur, "overlay"), Expect::Success),
        1 => (
            base(
                json!({"crop_keyframes": [{"frame": 0, "x": 10, "y": 0, "width": 20, "height": 36}],
                    "output_width": 20, "output_height": 36}),
                "framing",
            ),
            Expect::Success,
        ),
        2 => (
            base(json!({"effect_type": "glow"}), "overlay"),
            Expect::Invalid,
        ),
        3 => {
            let mut j = base(blur, "overlay");
            j["input_video_key"] = json!("input/missing.mp4");
            (j, Expect::Invalid)
        }
        // the proxy refuses uploads under output/soak-fault-
        4 => {
            let mut j = base(blur, "overlay");
            j["job_id"] = json!(format!("soak-fault-{k}"));
            (j, Expect::Retry)
        }
        _ => {
            let mut j = base(blur, "overlay");
            j["callback_url"] = json!(cb_hang);
            (j, Expect::Success)
        }
    }
}

/// One reading of the worker process.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    results: usize,
    rss_kib: u64,
    threads: u64,
    fds: u64,
}

/// Inodes of the TCP sockets (v4 and v6) connected to loopback port `port`.
fn sockets_to(port: u16) -> std::collections::HashSet<u64> {
    let mut out = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let remote_port = f
                .get(2)
                .and_then(|r| r.rsplit_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if remote_port == Some(port)
                && let Some(inode) = f.get(9).and_then(|i| i.parse().ok())
            {
                out.insert(inode);
            }
        }
    }
    out
}

/// Open descriptors of `pid` that are not sockets in `skip`.
fn fds_except(pid: u32, skip: &std::collections::HashSet<u64>) -> Option<u64> {
    let mut n = 0;
    for e in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        let target = std::fs::read_link(e.path()).unwrap_or_default();
        let inode = target
            .to_str()
            .and_then(|t| t.strip_prefix("socket:["))
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.parse::<u64>().ok());
        if !inode.is_some_and(|i| skip.contains(&i)) {
            n += 1;
        }
    }
    Some(n)
}

fn read_proc(pid: u32) -> Option<(u64, u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((field("VmRSS:")?, field("Threads:")?, fds))
}

/// Processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let after = s.rsplit_once(')')?.1.split_whitespace().nth(1)?.to_string();
                    after.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

fn peak(samples: &[Sample], f: impl Fn(&Sample) -> u64) -> u64 {
    samples.iter().map(f).max().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_the_worker_with_mixed_jobs() {
    let n: usize = std::env::var("REELGPU_SOAK_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= 12)
        .unwrap_or(24);
    // jobs at once (`REELGPU_SOAK_CONCURRENCY`, default 2): the throughput figure per N
    let at_once: usize = std::env::var("REELGPU_SOAK_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&c| (1..=16).contains(&c))
        .unwrap_or(2);
    let moto = Moto::start();
    let bucket = "soak";
    reqwest::Client::new()
        .put(format!("{}/{bucket}", moto.endpoint))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let s3 = S3Storage::new(S3Settings {
        endpoint: moto.endpoint.clone(),
        bucket: bucket.into(),
        access_key_id: "test-access".into(),
        secret_access_key: "test-secret".into(),
        multipart_threshold: 16 << 20,
        part_size: 8 << 20,
        concurrency: 4,
    })
    .unwrap();
    let clip = tmp_in("soak", "clip.mp4");
    let args = testsrc_args(64, 36, 30, 0.5, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    generate(&clip, &args);
    s3.upload(&clip, "input/clip.mp4", "video/mp4")
        .await
        .unwrap();
    let proxy = servers::faulty_proxy(&moto.endpoint, vec!["/output/soak-fault-".into()]).await;
    let cb_hang = servers::hanging_server().await;
    let hang_port: u16 = cb_hang
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/cb")
        .parse()
        .unwrap();

    let rp = Runpod::default();
    let mut expected = HashMap::new();
    for k in 0..n {
        let (input, expect) = job(k, &cb_hang);
        let id = format!("rp-{k}");
        expected.insert(id.clone(), expect);
        rp.jobs
            .lock()
            .unwrap()
            .push_back(json!({"id": id, "input": input}));
    }
    let (rp, base) = rp.start().await;
    // this run's own folder and log (a worker left over from an interrupted run keeps its own)
    let work = tmp_in("soak", &format!("work-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let log_path = tmp_in("soak", &format!("worker-{}.log", std::process::id()));
    let mut env = Runpod::env(&base);
    env.extend([
        ("R2_ENDPOINT", proxy.clone()),
        ("R2_BUCKET_NAME", bucket.into()),
        ("R2_ACCESS_KEY_ID", "test-access".into()),
        ("R2_SECRET_ACCESS_KEY", "test-secret".into()),
        ("REELGPU_WORK_DIR", work.display().to_string()),
        ("REELGPU_CONCURRENCY", at_once.to_string()),
    ]);
    let mut cmd = reelgpu_command(&["worker"], &env);
    cmd.stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()));
    let started = Instant::now();
    let mut worker = Proc(cmd.spawn().unwrap());
    let pid = worker.0.id();

    // sample the worker every 100 ms until every result is in
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let limit = Duration::from_secs(60 + 10 * n as u64);
    loop {
        let results = rp.results.lock().unwrap().len();
        if let Some((rss_kib, threads, _)) = read_proc(pid) {
            // a callback to the server that never answers holds its connection until its
            // attempts time out (by design, bounded): those sockets are not counted
            let fds = fds_except(pid, &sockets_to(hang_port)).unwrap_or(0);
            samples.lock().unwrap().push(Sample {
                results,
                rss_kib,
                threads,
                fds,
            });
        }
        if results >= n {
            break;
        }
        if let Ok(Some(s)) = worker.0.try_wait() {
            panic!("the worker exited early: {s}");
        }
        assert!(
            started.elapsed() < limit,
            "{results} of {n} results after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    // idle: no ffmpeg (or anything else) left running under the worker
    tokio::time::sleep(Duration::from_millis(500)).await;
    let kids = children(pid);
    assert!(kids.is_empty(), "children while idle: {kids:?}");
    worker.signal(libc::SIGTERM);
    let status = worker.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status}");

    // every result exactly once, as its kind expects
    let results = rp.results.lock().unwrap().clone();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in &results {
        *seen.entry(r.path.clone()).or_default() += 1;
        let expect = expected[&r.path];
        let out = &r.body["output"];
        match expect {
            Expect::Success => assert_eq!(out["status"], "success", "{}: {}", r.path, r.body),
            Expect::Invalid | Expect::Retry => {
                assert_eq!(out["status"], "error", "{}: {}", r.path, r.body);
                let e: Value = serde_json::from_str(r.body["error"].as_str().unwrap()).unwrap();
                assert_eq!(
                    e["should_retry"],
                    expect == Expect::Retry,
                    "{}: {}",
                    r.path,
                    r.body
                );
            }
        }
    }
    assert_eq!(seen.len(), n, "results for {} of {n} jobs", seen.len());
    assert!(seen.values().all(|&c| c == 1), "a result posted twice");
    let leftovers: Vec<PathBuf> = walk(&work);
    assert!(
        leftovers.is_empty(),
        "left in the work folder: {leftovers:?}"
    );

    // flat: the last third against the first third
    let samples = samples.lock().unwrap().clone();
    let first: Vec<Sample> = samples
        .iter()
        .filter(|s| s.results < n / 3)
        .copied()
        .collect();
    let last: Vec<Sample> = samples
        .iter()
        .filter(|s| s.results >= n - n / 3)
        .copied()
        .collect();
    assert!(!first.is_empty() && !last.is_empty(), "too few samples");
    let (rss0, rss1) = (peak(&first, |s| s.rss_kib), peak(&last, |s| s.rss_kib));
    let (fd0, fd1) = (peak(&first, |s| s.fds), peak(&last, |s| s.fds));
    let (th0, th1) = (peak(&first, |s| s.threads), peak(&last, |s| s.threads));
    let buffers = gpu_buffers(&log_path);
    assert_eq!(buffers.len(), n, "a \"job done\" log line per job");
    // the floor of each third: with two jobs at once a job may end while the other's engine
    // is alive, so the peaks move with the overlap; a leak raises the floor
    let third = n / 3;
    let (buf0, buf1) = (
        *buffers[..third].iter().min().unwrap(),
        *buffers[n - third..].iter().min().unwrap(),
    );
    let growth = rss1 as f64 / rss0 as f64 - 1.0;
    println!(
        "soak: {n} jobs in {:.1} s ({:.1} jobs/min, {at_once} at once); every result once; peak RSS \
         first/last third {:.0}/{:.0} MiB ({:+.1}%); peak fds (less hanging callbacks) {fd0}/{fd1}; peak threads \
         {th0}/{th1}; live GPU buffers (floor) {buf0}/{buf1}; no child while idle; work folder \
         empty",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64() * 60.0,
        rss0 as f64 / 1024.0,
        rss1 as f64 / 1024.0,
        growth * 100.0
    );
    assert!(growth <= 0.10, "RSS grew {:.1}%", growth * 100.0);
    assert!(fd1 <= fd0 + 4, "open descriptors grew: {fd0} -> {fd1}");
    assert!(th1 <= th0 + 2, "threads grew: {th0} -> {th1}");
    assert!(buf1 <= buf0, "live GPU buffers grew: {buf0} -> {buf1}");
}

/// Files under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
            out.push(p);
        } else {
            out.push(p);
        }
    }
    out
}

/// `gpu_buffers` of every "job done" line of the worker's log, in order.
fn gpu_buffers(log: &Path) -> Vec<i64> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("job done"))
        .filter_map(|l| {
            let at = l.find("gpu_buffers=")? + "gpu_buffers=".len();
            l[at..]
                .split(|c: char| !c.is_ascii_digit() && c != '-')
                .next()?
                .parse()
                .ok()
        })
        .collect()
}
