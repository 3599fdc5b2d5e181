//! The RunPod worker with real parts on loopback: moto's S3 server, a callback receiver, a
//! RunPod-protocol server and a fault-injecting proxy (all started here), real ffmpeg on
//! generated clips and wgpu on lavapipe. In-process tests drive `Worker::run_job`; the protocol
//! tests run the `reelgpu` binary itself.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cli::reelgpu_command;
use common::servers::{self, Log, Moto, Proc, Runpod};
use hmac::{Hmac, Mac};
use reelgpu::cancel::CancelToken;
use reelgpu::export::DecoderChoice;
use reelgpu::job::Limits;
use reelgpu::storage::s3::{S3Settings, S3Storage};
use reelgpu::storage::{Storage, StorageError};
use reelgpu::testing::clips::{generate, testsrc_args};
use reelgpu::video::EncoderKind;
use reelgpu::worker::Worker;
use reelgpu::worker::callbacks::{CallbackPolicy, http_client};
use serde_json::{Value, json};
use sha2::Sha256;

const BUCKET: &str = "reels";
const MIB: u64 = 1024 * 1024;

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("worker");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// 320x180, 30 fps, 1 s, with audio.
fn small_clip() -> PathBuf {
    let args = testsrc_args(320, 180, 30, 1.0, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    generate(&tmp("small.mp4"), &args)
}

fn settings(endpoint: &str) -> S3Settings {
    S3Settings {
        endpoint: endpoint.into(),
        bucket: BUCKET.into(),
        access_key_id: "test-access".into(),
        secret_access_key: "test-secret".into(),
        multipart_threshold: 16 * MIB,
        part_size: 8 * MIB,
        concurrency: 4,
    }
}

/// Creates the bucket with a plain PUT (moto's default region; the worker's region is R2's
/// `auto`, which S3's CreateBucket would want as a location constraint). A connection error is
/// retried (a loaded machine can reset moto's first connections); a retry may find the bucket
/// already made by the attempt whose answer was lost.
async fn create_bucket(endpoint: &str) {
    let client = reqwest::Client::new();
    for attempt in 1..=5 {
        match client.put(format!("{endpoint}/{BUCKET}")).send().await {
            Ok(r) => {
                let made = r.status().is_success() || (attempt > 1 && r.status() == 409);
                assert!(made, "create bucket: {}", r.status());
                return;
            }
            Err(e) if attempt < 5 && (e.is_connect() || e.is_request()) => {
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            Err(e) => panic!("create bucket: {e}"),
        }
    }
}

/// moto with the bucket created and the small clip uploaded as `input/clip.mp4`.
async fn bucket_with_input() -> (Moto, S3Storage) {
    let moto = Moto::start();
    create_bucket(&moto.endpoint).await;
    let s3 = S3Storage::new(settings(&moto.endpoint)).unwrap();
    s3.upload(&small_clip(), "input/clip.mp4", "video/mp4")
        .await
        .unwrap();
    (moto, s3)
}

async fn keys(s3: &S3Storage, prefix: &str) -> Vec<String> {
    let out = s3
        .client()
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(String::from))
        .collect()
}

/// The result body RunPod received for job `id`.
fn results_of(rp: &Runpod, id: &str) -> Value {
    rp.results
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.path == id)
        .map(|r| r.body.clone())
        .unwrap_or_else(|| panic!("no result for {id}"))
}

async fn open_multipart_uploads(s3: &S3Storage) -> usize {
    let out = s3
        .client()
        .list_multipart_uploads()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    out.uploads().len()
}

fn worker(storage: Arc<dyn Storage>, policy: CallbackPolicy) -> Worker {
    Worker {
        storage,
        gpu: common::gpu(),
        encoder: EncoderKind::X264,
        decoder: DecoderChoice::Software,
        limits: Limits::default(),
        http: http_client(Arc::new(policy.clone())),
        callback_policy: Arc::new(policy),
        work_dir: std::env::temp_dir(),
        job_timeout: Duration::from_secs(600),
        detector: Default::default(),
        outros: Default::default(),
    }
}

fn overlay_input(job_id: &str, callback: Option<&str>) -> Value {
    let mut v = json!({
        "job_id": job_id,
        "type": "overlay",
        "input_video_key": "input/clip.mp4",
        "params": {"effect_type": "blur", "highlight_regions": [
            {"start_frame": 5, "end_frame": 20, "x": 160, "y": 90, "radius_x": 40, "radius_y": 60}
        ]}
    });
    if let Some(cb) = callback {
        v["callback_url"] = json!(cb);
    }
    v
}

/// An overlay job `job_id` on a generated 320x180 30 fps clip of `seconds` uploaded as
/// `input/<name>.mp4`, drawing on every frame, with callbacks to `cb`: a job that keeps the GPU
/// busy for a while.
async fn long_overlay_job(
    s3: &S3Storage,
    job_id: &str,
    name: &str,
    seconds: u32,
    cb: &str,
) -> Value {
    let clip = tmp(&format!("{name}.mp4"));
    let args = testsrc_args(320, 180, 30, f64::from(seconds), true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    generate(&clip, &args);
    let key = format!("input/{name}.mp4");
    s3.upload(&clip, &key, "video/mp4").await.unwrap();
    let mut input = overlay_input(job_id, Some(cb));
    input["input_video_key"] = json!(key);
    input["params"]["highlight_regions"][0]["start_frame"] = json!(0);
    input["params"]["highlight_regions"][0]["end_frame"] = json!(seconds * 30 - 1);
    input
}

fn no_cancel() -> CancelToken {
    CancelToken::new()
}

fn seen(log: &Log) -> Vec<(String, Value)> {
    log.lock()
        .unwrap()
        .iter()
        .map(|s| (s.path.clone(), s.body.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_jobs_fail_without_retry_or_output_and_leave_the_input() {
    let (_moto, s3) = bucket_with_input().await;
    s3.upload(
        Path::new("Cargo.toml"),
        "input/not-a-video.mp4",
        "video/mp4",
    )
    .await
    .unwrap();
    let clip = std::fs::read(small_clip()).unwrap();
    let truncated = tmp("truncated.mp4");
    std::fs::write(&truncated, &clip[..clip.len() / 2]).unwrap();
    s3.upload(&truncated, "input/truncated.mp4", "video/mp4")
        .await
        .unwrap();
    let (cb, log) = servers::callback_receiver().await;
    let s3 = Arc::new(s3);
    let w = worker(s3.clone(), CallbackPolicy::default());
    let base = overlay_input("bad", None);
    let with = |path: &[&str], v: Value| {
        let mut job = base.clone();
        let mut slot = &mut job;
        for p in &path[..path.len() - 1] {
            slot = if let Ok(i) = p.parse::<usize>() {
                &mut slot[i]
            } else {
                &mut slot[*p]
            };
        }
        slot[path[path.len() - 1]] = v;
        job
    };
    let mut no_job_id = base.clone();
    no_job_id.as_object_mut().unwrap().remove("job_id");
    let framing = json!({"job_id": "bad", "type": "framing", "input_video_key": "input/clip.mp4",
        "params": {"crop_keyframes": [{"frame": 0, "x": 0, "y": 0, "width": 100, "height": 180}],
                   "output_width": 1081, "output_height": 1920}});
    let annotate = json!({"job_id": "bad", "type": "annotate", "input_video_key": "input/clip.mp4",
        "params": {"clips": [{"start_time": 0.2, "end_time": 5.0, "name": "late", "rating": 3}]}});
    let cases: Vec<(Value, &str)> = vec![
        (no_job_id, "job_id is required"),
        (with(&["job_id"], json!("a/b")), "job_id may only"),
        (with(&["type"], json!("sepia")), "type must be one of"),
        (
            with(&["params", "effect_type"], json!("glow")),
            "params.effect_type",
        ),
        (
            with(&["params", "highlight_regions", "0", "radius_x"], json!(0)),
            "params.highlight_regions[0].radius_x",
        ),
        (
            with(&["params", "highlight_regions", "0", "opacity"], json!(1.5)),
            "params.highlight_regions[0].opacity",
        ),
        (
            with(
                &["params", "highlight_regions", "0", "start_frame"],
                json!(-1),
            ),
            "params.highlight_regions[0].start_frame",
        ),
        (
            with(&["input_video_key"], json!("input/../x.mp4")),
            "input_video_key",
        ),
        (
            with(&["input_video_key"], json!("input/missing.mp4")),
            "input_video_key",
        ),
        (
            with(&["input_video_key"], json!("input/not-a-video.mp4")),
            "VideoError",
        ),
        (
            with(&["input_video_key"], json!("input/truncated.mp4")),
            "VideoError",
        ),
        (framing, "params.output_width"),
        (annotate, "params.clips[0].end_time"),
    ];
    for (i, (mut input, expect)) in cases.into_iter().enumerate() {
        input["callback_url"] = json!(format!("{cb}/case{i}"));
        let outcome = w.run_job(&input, no_cancel()).await;
        let failure = outcome
            .failure
            .clone()
            .unwrap_or_else(|| panic!("case {i} succeeded"));
        assert!(!failure.should_retry, "case {i}: {failure}");
        let error = outcome.output["error"].as_str().unwrap();
        assert_eq!(outcome.output["status"], "error");
        assert!(
            error.contains(expect),
            "case {i}: {error:?} should name {expect:?}"
        );
        if let Some(task) = outcome.callbacks {
            task.await.unwrap();
        }
        let calls: Vec<_> = seen(&log)
            .into_iter()
            .filter(|(p, _)| p.starts_with(&format!("case{i}/")))
            .collect();
        let last = calls
            .last()
            .unwrap_or_else(|| panic!("case {i}: no callback"));
        assert_eq!(last.0, format!("case{i}/error"), "case {i}: {calls:?}");
        assert_eq!(last.1, json!({"error": error, "should_retry": false}));
        assert!(!calls.iter().any(|(p, _)| p.ends_with("/complete")));
    }
    assert!(keys(&s3, "output/").await.is_empty());
    assert_eq!(keys(&s3, "input/clip.mp4").await, ["input/clip.mp4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_down_or_failing_on_upload_is_retryable_and_leaves_no_object() {
    let (moto, s3) = bucket_with_input().await;
    let (cb, log) = servers::callback_receiver().await;

    // Nothing listening at all.
    let down = S3Storage::new(settings(&format!(
        "http://127.0.0.1:{}",
        servers::free_port()
    )))
    .unwrap();
    let w = worker(Arc::new(down), CallbackPolicy::default());
    let outcome = w
        .run_job(
            &overlay_input("down", Some(&format!("{cb}/down"))),
            no_cancel(),
        )
        .await;
    let f = outcome.failure.expect("storage down must fail");
    assert!(f.should_retry && f.kind == "StorageError", "{f}");
    outcome.callbacks.unwrap().await.unwrap();
    assert_eq!(seen(&log).last().unwrap().1["should_retry"], true);

    // The download works, the upload of the output fails every time.
    let proxy = servers::faulty_proxy(&moto.endpoint, vec!["PUT /reels/output/".into()]).await;
    let flaky = S3Storage::new(settings(&proxy)).unwrap();
    let w = worker(Arc::new(flaky), CallbackPolicy::default());
    let outcome = w
        .run_job(
            &overlay_input("upfail", Some(&format!("{cb}/upfail"))),
            no_cancel(),
        )
        .await;
    let f = outcome.failure.expect("failing upload must fail");
    assert!(f.should_retry && f.message.contains("upload"), "{f}");
    outcome.callbacks.unwrap().await.unwrap();
    let calls = seen(&log);
    let up: Vec<_> = calls
        .iter()
        .filter(|(p, _)| p.starts_with("upfail/"))
        .collect();
    assert!(
        up.iter()
            .any(|(p, b)| p == "upfail/progress" && b["progress"] == 95),
        "{up:?}"
    );
    assert_eq!(up.last().unwrap().0, "upfail/error");
    assert_eq!(up.last().unwrap().1["should_retry"], true);
    assert!(keys(&s3, "output/").await.is_empty());
    assert_eq!(keys(&s3, "input/").await, ["input/clip.mp4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_files_go_through_parallel_multipart_and_ranged_download() {
    let moto = Moto::start();
    create_bucket(&moto.endpoint).await;
    let s3 = S3Storage::new(settings(&moto.endpoint)).unwrap();
    // 50 MiB + a bit of non-repeating data: 7 parts of 8 MiB.
    let big = tmp("big.bin");
    let mut data = vec![0u8; (50 * MIB + 12345) as usize];
    let mut x: u32 = 12345;
    for b in data.iter_mut() {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *b = (x >> 24) as u8;
    }
    std::fs::write(&big, &data).unwrap();
    s3.upload(&big, "output/big/video.mp4", "video/mp4")
        .await
        .unwrap();
    let head = s3
        .client()
        .head_object()
        .bucket(BUCKET)
        .key("output/big/video.mp4")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert_eq!(head.content_type(), Some("video/mp4"));
    assert!(
        head.e_tag().unwrap().trim_matches('"').ends_with("-7"),
        "ETag {:?} is not a 7-part upload",
        head.e_tag()
    );
    let back = tmp("big.back");
    assert_eq!(
        s3.download("output/big/video.mp4", &back).await.unwrap(),
        data.len() as u64
    );
    assert!(
        std::fs::read(&back).unwrap() == data,
        "ranged download differs"
    );
    assert_eq!(open_multipart_uploads(&s3).await, 0);

    // A part that keeps failing: the upload is aborted, nothing is left.
    let proxy = servers::faulty_proxy(&moto.endpoint, vec!["partNumber=3".into()]).await;
    let flaky = S3Storage::new(settings(&proxy)).unwrap();
    let err = flaky
        .upload(&big, "output/broken/video.mp4", "video/mp4")
        .await
        .unwrap_err();
    assert!(
        err.is_transient() && matches!(err, StorageError::Failed { .. }),
        "{err}"
    );
    assert!(keys(&s3, "output/broken").await.is_empty());
    assert_eq!(
        open_multipart_uploads(&s3).await,
        0,
        "the failed multipart upload was not aborted"
    );
    let _ = std::fs::remove_file(&big);
    let _ = std::fs::remove_file(&back);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_or_hanging_callback_server_does_not_slow_the_export() {
    let (_moto, s3) = bucket_with_input().await;
    let s3 = Arc::new(s3);
    let w = worker(s3.clone(), CallbackPolicy::default());
    let t = Instant::now();
    let base = w.run_job(&overlay_input("plain", None), no_cancel()).await;
    assert!(base.failure.is_none(), "{:?}", base.output);
    let baseline = t.elapsed();
    let down = format!("http://127.0.0.1:{}/cb", servers::free_port());
    let hanging = servers::hanging_server().await;
    for (name, url) in [("down", down), ("hanging", hanging)] {
        let t = Instant::now();
        let outcome = w
            .run_job(&overlay_input(name, Some(&url)), no_cancel())
            .await;
        let took = t.elapsed();
        assert!(outcome.failure.is_none(), "{name}: {:?}", outcome.output);
        assert!(
            took < baseline * 2 + Duration::from_secs(2),
            "{name}: {took:?} vs {baseline:?} without callbacks"
        );
        assert_eq!(
            keys(&s3, &format!("output/{name}/")).await,
            [format!("output/{name}/video.mp4")]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disallowed_callback_host_is_refused() {
    let (_moto, s3) = bucket_with_input().await;
    let s3 = Arc::new(s3);
    let (cb, log) = servers::callback_receiver().await;
    let policy = CallbackPolicy {
        allowed_hosts: Some(vec!["app.example.com".into()]),
        ..CallbackPolicy::default()
    };
    let w = worker(s3.clone(), policy);
    let outcome = w
        .run_job(&overlay_input("ssrf", Some(&cb)), no_cancel())
        .await;
    let f = outcome.failure.expect("must be refused");
    assert!(
        !f.should_retry
            && f.message.contains("callback_url")
            && f.message.contains("CALLBACK_ALLOWED_HOSTS"),
        "{f}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(seen(&log).is_empty(), "the refused host was called");
    assert!(keys(&s3, "output/").await.is_empty());
}

// ---- the binary: RunPod protocol, signals, local modes ----

fn s3_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("R2_ENDPOINT", endpoint.into()),
        ("R2_ACCESS_KEY_ID", "test-access".into()),
        ("R2_SECRET_ACCESS_KEY", "test-secret".into()),
        ("R2_BUCKET_NAME", BUCKET.into()),
    ]
}

async fn post_json(http: &reqwest::Client, url: &str, body: Value) -> Value {
    let resp = http.post(url).json(&body).send().await.unwrap();
    resp.json().await.unwrap()
}

async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The signature covers the timestamp, the exact URL posted to (`<base>/<path>`) and the body.
fn verify_signature(secret: &[u8], base: &str, s: &servers::Seen) {
    let ts = s.headers["x-reelgpu-timestamp"].to_str().unwrap();
    let sig = s.headers["x-reelgpu-signature"].to_str().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    let url = format!("{base}/{}", s.path);
    mac.update(format!("{ts}.{url}.{}", serde_json::to_string(&s.body).unwrap()).as_bytes());
    assert_eq!(
        sig,
        format!("v2={}", hex::encode(mac.finalize().into_bytes()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_loop_runs_a_job_end_to_end() {
    let (moto, s3) = bucket_with_input().await;
    let (cb, callbacks) = servers::callback_receiver().await;
    let rp = Runpod::default();
    *rp.fail_results.lock().unwrap() = 1; // the first result POST gets a 503
    // The first takes: "too many requests", then a server error; the worker waits and backs
    // off, then takes the job.
    rp.take_errors.lock().unwrap().extend([429, 500]);
    rp.jobs
        .lock()
        .unwrap()
        .push_back(json!({"id": "rp-1", "input": overlay_input("e2e", Some(&cb))}));
    let via_name = cb.replace("127.0.0.1", "localhost") + "/internal";
    rp.jobs
        .lock()
        .unwrap()
        .push_back(json!({"id": "rp-2", "input": overlay_input("e2e-2", Some(&via_name))}));
    let (rp, base) = rp.start().await;
    let mut env = s3_env(&moto.endpoint);
    env.extend(Runpod::env(&base));
    env.push(("CALLBACK_SECRET", "s3cret".into()));
    env.push(("RUNPOD_ENDPOINT_ID", "ep-1".into()));
    let log_path = tmp("e2e.log");
    let mut worker = Proc(
        reelgpu_command(&["worker"], &env)
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for("both results", Duration::from_secs(120), || {
        rp.results.lock().unwrap().len() >= 2
    })
    .await;
    worker.signal(libc::SIGTERM);
    let status = worker.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "{status}");

    // The output object, complete and playable.
    assert_eq!(keys(&s3, "output/").await, ["output/e2e/video.mp4"]);
    let out = tmp("e2e.mp4");
    s3.download("output/e2e/video.mp4", &out).await.unwrap();
    let frames = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&frames.stdout).trim(), "30");

    // The result: posted again after the 503, with RunPod's headers and the contract's shape.
    let results = rp.results.lock().unwrap().clone();
    assert_eq!(results.len(), 2);
    let r = results.iter().find(|r| r.path == "rp-1").unwrap();
    assert_eq!(r.path, "rp-1");
    assert_eq!(r.query.get("isStream").map(String::as_str), Some("false"));
    assert_eq!(r.headers["authorization"], "test-key");
    assert_eq!(r.headers["x-request-id"], "rp-1");
    let output = &r.body["output"];
    assert_eq!(output["status"], "success");
    assert_eq!(output["output_video_key"], "output/e2e/video.mp4");
    assert_eq!(output["frames"], 30);
    assert!(r.body.get("error").is_none());

    // Callbacks: 0, 5, 10..90, 95 never decreasing, then complete; all signed.
    let calls = callbacks.lock().unwrap().clone();
    let progress: Vec<i64> = calls
        .iter()
        .filter(|s| s.path == "progress")
        .map(|s| s.body["progress"].as_i64().unwrap())
        .collect();
    assert_eq!(progress.first(), Some(&0), "{progress:?}");
    assert!(
        progress.contains(&5) && progress.contains(&95),
        "{progress:?}"
    );
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert!(
        progress.iter().any(|p| (11..=90).contains(p)),
        "{progress:?}"
    );
    let last = calls.last().unwrap();
    assert_eq!(last.path, "complete");
    assert_eq!(
        last.body,
        json!({"output_video_key": "output/e2e/video.mp4"})
    );
    assert_eq!(calls.iter().filter(|s| s.path == "complete").count(), 1);
    for s in &calls {
        verify_signature(b"s3cret", &cb, s);
    }
    // In production a callback host on an internal address is refused unless named in
    // CALLBACK_ALLOWED_HOSTS (127.0.0.1 is, `localhost` is not): the job fails, naming it.
    let refused = results_of(&rp, "rp-2");
    assert_eq!(refused["output"]["status"], "error");
    let error = refused["output"]["error"].as_str().unwrap();
    assert!(
        error.contains("callback_url") && error.contains("CALLBACK_ALLOWED_HOSTS"),
        "{error}"
    );
    assert!(
        calls.iter().all(|s| !s.path.starts_with("internal")),
        "nothing was posted to the refused host"
    );

    // RunPod's log format: one JSON object per line, the job's lines with its request id.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["message"].is_string())
    );
    for message in [
        "job taken",
        "downloaded",
        "export codecs",
        "uploaded",
        "job done",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l["message"] == message && l["requestId"] == "rp-1"),
            "no {message:?} line with the request id in:\n{log}"
        );
    }
    assert!(
        !log.contains("test-secret") && !log.contains("s3cret"),
        "a secret was logged"
    );

    // Heartbeats while the job ran, with its id; takes report whether a job is running.
    let pings = rp.pings.lock().unwrap().clone();
    assert!(
        pings
            .iter()
            .any(|p| p.query.get("job_id").map(String::as_str) == Some("rp-1")),
        "{} pings",
        pings.len()
    );
    assert!(
        pings
            .iter()
            .all(|p| p.query.contains_key("runpod_version") && p.path == "pod-1")
    );
    let takes = rp.takes.lock().unwrap().clone();
    assert!(takes.len() >= 3, "{} takes", takes.len());
    let after_429 = takes[1].at - takes[0].at;
    let after_500 = takes[2].at - takes[1].at;
    assert!(
        after_429 >= Duration::from_secs(5),
        "re-polled {after_429:?} after a 429"
    );
    assert!(
        after_500 >= Duration::from_millis(900),
        "re-polled {after_500:?} after a 500"
    );
    assert!(takes.iter().all(
        |t| t.query.get("job_in_progress").map(String::as_str) == Some("0") && t.path == "pod-1"
    ));
}

/// Runs the worker on an 8 s clip, sends SIGTERM once processing has started, and returns
/// the results it posted, the callbacks, the jobs it did not take and the output keys.
async fn sigterm_mid_job(
    grace_ms: &str,
) -> (Vec<servers::Seen>, Vec<servers::Seen>, usize, Vec<String>) {
    let (moto, s3) = bucket_with_input().await;
    let (cb, callbacks) = servers::callback_receiver().await;
    let input = long_overlay_job(&s3, "term", "long", 8, &cb).await;
    let rp = Runpod::default();
    rp.jobs
        .lock()
        .unwrap()
        .push_back(json!({"id": "rp-2", "input": input}));
    rp.jobs
        .lock()
        .unwrap()
        .push_back(json!({"id": "rp-never", "input": overlay_input("never", None)}));
    let (rp, base) = rp.start().await;
    let mut env = s3_env(&moto.endpoint);
    env.extend(Runpod::env(&base));
    env.push(("REELGPU_STOP_GRACE_MS", grace_ms.into()));
    let mut worker = Proc(reelgpu_command(&["worker"], &env).spawn().unwrap());
    wait_for("processing progress", Duration::from_secs(120), || {
        callbacks
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.path == "progress" && s.body["progress"].as_i64() > Some(10))
    })
    .await;
    worker.signal(libc::SIGTERM);
    let status = worker.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status}");
    let results = rp.results.lock().unwrap().clone();
    let calls = callbacks.lock().unwrap().clone();
    let left = rp.jobs.lock().unwrap().len();
    (results, calls, left, keys(&s3, "output/").await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_past_the_grace_period_fails_the_job_retryably_and_reports_it() {
    let (results, calls, left, outputs) = sigterm_mid_job("200").await;
    assert_eq!(results.len(), 1, "one result, for the running job only");
    let body = &results[0].body;
    assert_eq!(body["output"]["status"], "error");
    let error: Value = serde_json::from_str(body["error"].as_str().unwrap()).unwrap();
    assert_eq!(error["error_type"], "Cancelled");
    assert_eq!(error["should_retry"], true);
    assert_eq!(calls.last().unwrap().path, "error");
    assert_eq!(calls.last().unwrap().body["should_retry"], true);
    assert_eq!(left, 1, "a job was taken after SIGTERM");
    assert!(outputs.is_empty(), "{outputs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_within_the_grace_period_finishes_the_running_job() {
    let (results, calls, left, outputs) = sigterm_mid_job("60000").await;
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].body["output"]["status"], "success",
        "{}",
        results[0].body
    );
    assert_eq!(results[0].body["output"]["frames"], 240);
    assert_eq!(calls.last().unwrap().path, "complete");
    assert_eq!(left, 1, "a job was taken after SIGTERM");
    assert_eq!(outputs, ["output/term/video.mp4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_self_check_is_reported_unhealthy() {
    let (rp, base) = Runpod::default().start().await;
    let mut env = Runpod::env(&base);
    env.push(("REELGPU_FFMPEG", "/nonexistent/ffmpeg".into()));
    env.extend(s3_env("file:///tmp"));
    let mut worker = Proc(reelgpu_command(&["worker"], &env).spawn().unwrap());
    let status = worker.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(1));
    let pings = rp.pings.lock().unwrap().clone();
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].query["status"], "unhealthy");
    assert_eq!(pings[0].query["check"], "ffmpeg");
    assert!(pings[0].query["reason"].contains("nonexistent"));
    assert!(rp.takes.lock().unwrap().is_empty());

    // An ffprobe that is there but does not work fails the check; a missing one does not
    // (sources are then probed from ffmpeg's stream dump, as on the GPU kit's bare machine):
    // that worker starts and takes jobs.
    let (rp, base) = Runpod::default().start().await;
    let mut env = Runpod::env(&base);
    env.push(("REELGPU_FFPROBE", "/bin/false".into()));
    env.extend(s3_env("file:///tmp"));
    let mut worker = Proc(reelgpu_command(&["worker"], &env).spawn().unwrap());
    assert_eq!(worker.wait_exit(Duration::from_secs(60)).code(), Some(1));
    assert_eq!(rp.pings.lock().unwrap()[0].query["check"], "ffprobe");
    let (rp, base) = Runpod::default().start().await;
    let mut env = Runpod::env(&base);
    env.push(("REELGPU_FFPROBE", "/nonexistent/ffprobe".into()));
    env.extend(s3_env("file:///tmp"));
    let mut worker = Proc(reelgpu_command(&["worker"], &env).spawn().unwrap());
    wait_for("a take without ffprobe", Duration::from_secs(60), || {
        !rp.takes.lock().unwrap().is_empty()
    })
    .await;
    worker.signal(libc::SIGTERM);
    assert!(worker.wait_exit(Duration::from_secs(60)).success());

    // A software adapter (lavapipe, chosen by name so this holds on GPU machines too) is
    // refused under RunPod unless REELGPU_ALLOW_CPU=1.
    let (rp, base) = Runpod::default().start().await;
    let mut env = Runpod::env(&base);
    env.extend(s3_env("file:///tmp"));
    env.push(("WGPU_ADAPTER_NAME", "llvmpipe".into()));
    let mut cmd = reelgpu_command(&["worker"], &env);
    cmd.env_remove("REELGPU_ALLOW_CPU");
    let mut worker = Proc(cmd.spawn().unwrap());
    assert_eq!(worker.wait_exit(Duration::from_secs(60)).code(), Some(1));
    let pings = rp.pings.lock().unwrap().clone();
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].query["check"], "gpu");
    assert!(
        pings[0].query["reason"].contains("REELGPU_ALLOW_CPU"),
        "{:?}",
        pings[0].query
    );

    // The AI x4 model is loaded at start-up: a broken one fails the check naming the file.
    let broken = tmp("broken-model.param");
    std::fs::write(&broken, "7767517\n1 1\nInput data 0 1 data\n").unwrap();
    let (rp, base) = Runpod::default().start().await;
    let mut env = Runpod::env(&base);
    env.extend(s3_env("file:///tmp"));
    env.push(("REELGPU_SR_MODEL", broken.display().to_string()));
    let mut worker = Proc(reelgpu_command(&["worker"], &env).spawn().unwrap());
    assert_eq!(worker.wait_exit(Duration::from_secs(60)).code(), Some(1));
    let pings = rp.pings.lock().unwrap().clone();
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].query["check"], "upscaler");
    assert!(
        pings[0].query["reason"].contains("broken-model."),
        "{:?}",
        pings[0].query
    );
    assert!(rp.takes.lock().unwrap().is_empty());

    // So is the player detector when REELGPU_DETECT_MODEL is set: a file that is not a
    // YOLOv8 checkpoint fails the check naming it.
    let broken = tmp("broken-detector.pt");
    std::fs::write(&broken, b"PK\x03\x04 a zip it is not").unwrap();
    let (rp, base) = Runpod::default().start().await;
    let mut env = Runpod::env(&base);
    env.extend(s3_env("file:///tmp"));
    env.push(("REELGPU_DETECT_MODEL", broken.display().to_string()));
    let mut worker = Proc(reelgpu_command(&["worker"], &env).spawn().unwrap());
    assert_eq!(worker.wait_exit(Duration::from_secs(60)).code(), Some(1));
    let pings = rp.pings.lock().unwrap().clone();
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].query["check"], "detector");
    assert!(
        pings[0].query["reason"].contains("broken-detector.pt")
            && pings[0].query["reason"].contains("REELGPU_DETECT_MODEL"),
        "{:?}",
        pings[0].query
    );
    assert!(rp.takes.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_modes_test_input_and_http_api_with_folder_storage() {
    let root = tmp("local-store");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("input")).unwrap();
    std::fs::copy(small_clip(), root.join("input/clip.mp4")).unwrap();
    let env = vec![("R2_ENDPOINT", format!("file://{}", root.display()))];

    // worker --test-input: one job, exit 0 / 1.
    let job = json!({"input": overlay_input("local-1", None)}).to_string();
    let out = reelgpu_command(&["worker", "--test-input", &job], &env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["output"]["output_video_key"],
        "output/local-1/video.mp4"
    );
    assert!(root.join("output/local-1/video.mp4").is_file());
    let bad = json!({"input": {"job_id": "x", "type": "overlay"}}).to_string();
    let out = reelgpu_command(&["worker", "--test-input", &bad], &env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["output"]["error"],
        "InvalidInput: input_video_key is required"
    );

    // serve: /runsync, /run + /status.
    let port = servers::free_port();
    let mut server = Proc(
        reelgpu_command(&["serve", "--port", &port.to_string()], &env)
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let api = format!("http://127.0.0.1:{port}");
    let (hook, hooks) = servers::callback_receiver().await;
    wait_for("the API", Duration::from_secs(60), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    let sync: Value = post_json(
        &http,
        &format!("{api}/runsync"),
        json!({"input": overlay_input("local-2", None)}),
    )
    .await;
    assert_eq!(sync["status"], "COMPLETED", "{sync}");
    assert_eq!(
        sync["output"]["output_video_key"],
        "output/local-2/video.mp4"
    );
    let queued: Value = post_json(
        &http,
        &format!("{api}/run"),
        json!({"input": overlay_input("local-3", None), "webhook": format!("{hook}/done")}),
    )
    .await;
    assert_eq!(queued["status"], "IN_QUEUE");
    let id = queued["id"].as_str().unwrap().to_string();
    let t = Instant::now();
    let done = loop {
        let s: Value = http
            .get(format!("{api}/status/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["status"] == "COMPLETED" || s["status"] == "FAILED" {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "job stuck: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(root.join("output/local-3/video.mp4").is_file());
    // The webhook got the same final status.
    wait_for("the webhook", Duration::from_secs(10), || {
        !hooks.lock().unwrap().is_empty()
    })
    .await;
    let hook_calls = hooks.lock().unwrap().clone();
    assert_eq!(hook_calls.len(), 1);
    assert_eq!(hook_calls[0].path, "done");
    assert_eq!(hook_calls[0].body, done);
    let missing = http.get(format!("{api}/status/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(20)).success());
}

/// An ffmpeg whose decoder runs hang forever (they never write a byte): a stand-in for a
/// child stuck on a bad file or a dead device. The marker number finds leftovers.
fn hanging_ffmpeg(marker: u32) -> PathBuf {
    common::cli::ffmpeg_stand_in(
        &tmp(&format!("hanging-ffmpeg-{marker}.sh")),
        &format!("case \"$*\" in *\"-f nut\"*) exec sleep {marker};; esac\nexec ffmpeg \"$@\""),
    )
}

/// Processes running `sleep <marker>` (left-over hung children).
fn still_running(marker: u32) -> Vec<u32> {
    let wanted = format!("sleep\0{marker}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted.as_bytes())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_hung_ffmpeg_still_posts_the_result() {
    let marker = 6173;
    let (moto, _s3) = bucket_with_input().await;
    let (cb, callbacks) = servers::callback_receiver().await;
    let rp = Runpod::default();
    rp.jobs
        .lock()
        .unwrap()
        .push_back(json!({"id": "rp-hung", "input": overlay_input("hung", Some(&cb))}));
    let (rp, base) = rp.start().await;
    let mut env = s3_env(&moto.endpoint);
    env.extend(Runpod::env(&base));
    env.push(("REELGPU_STOP_GRACE_MS", "300".into()));
    env.push((
        "REELGPU_FFMPEG",
        hanging_ffmpeg(marker).display().to_string(),
    ));
    env.push(("REELGPU_FFPROBE", "ffprobe".into()));
    let mut worker = Proc(reelgpu_command(&["worker"], &env).spawn().unwrap());
    // the export has started (progress 10) and its decoder is stuck
    wait_for("the export to start", Duration::from_secs(120), || {
        !still_running(marker).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.signal(libc::SIGTERM);
    let t = Instant::now();
    let status = worker.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?} to stop",
        t.elapsed()
    );
    let body = results_of(&rp, "rp-hung");
    assert_eq!(body["output"]["status"], "error");
    let error: Value = serde_json::from_str(body["error"].as_str().unwrap()).unwrap();
    assert_eq!(error["error_type"], "Cancelled", "{error}");
    assert_eq!(error["should_retry"], true);
    let calls = callbacks.lock().unwrap().clone();
    assert_eq!(calls.last().unwrap().path, "error");
    assert_eq!(
        still_running(marker),
        Vec::<u32>::new(),
        "hung ffmpeg left running"
    );
}

#[test]
fn a_job_past_its_deadline_ends_with_a_timeout_even_when_ffmpeg_hangs() {
    let marker = 6174;
    let root = tmp("deadline-store");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("input")).unwrap();
    std::fs::copy(small_clip(), root.join("input/clip.mp4")).unwrap();
    let env = vec![
        ("R2_ENDPOINT", format!("file://{}", root.display())),
        ("REELGPU_JOB_TIMEOUT_S", "2".into()),
        (
            "REELGPU_FFMPEG",
            hanging_ffmpeg(marker).display().to_string(),
        ),
        ("REELGPU_FFPROBE", "ffprobe".into()),
    ];
    let job = json!({"input": overlay_input("late", None)}).to_string();
    let t = Instant::now();
    let out = reelgpu_command(&["worker", "--test-input", &job], &env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = result["output"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("JobTimeout:") && error.contains("REELGPU_JOB_TIMEOUT_S"),
        "{error}"
    );
    // start-up (self-check, GPU) plus the 2 s deadline, not the hung child's 100 minutes
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    assert_eq!(
        still_running(marker),
        Vec::<u32>::new(),
        "hung ffmpeg left running"
    );
    assert!(!root.join("output").exists(), "no output");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_storage_transfer_ends_at_the_deadline() {
    let hanging = servers::hanging_server().await;
    let endpoint = hanging.trim_end_matches("/cb").to_string();
    let storage: Arc<dyn Storage> = Arc::new(S3Storage::new(settings(&endpoint)).unwrap());
    let mut w = worker(storage, CallbackPolicy::default());
    w.job_timeout = Duration::from_secs(2);
    let t = Instant::now();
    let outcome = w
        .run_job(&overlay_input("stalled", None), no_cancel())
        .await;
    let failure = outcome.failure.expect("the job fails");
    assert_eq!(failure.kind, "JobTimeout", "{failure}");
    assert!(!failure.should_retry);
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
}

/// The GPU goes away mid-export (the device is destroyed): the worker fails the job
/// retryably, asks RunPod to stop the pod, and stops taking jobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_gpu_mid_export_asks_runpod_to_stop_the_pod() {
    let (moto, s3) = bucket_with_input().await;
    let (cb, callbacks) = servers::callback_receiver().await;
    let input = long_overlay_job(&s3, "lossy", "lossy", 6, &cb).await;
    let rp = Runpod::default();
    rp.jobs
        .lock()
        .unwrap()
        .push_back(json!({"id": "rp-lossy", "input": input}));
    rp.jobs
        .lock()
        .unwrap()
        .push_back(json!({"id": "rp-after", "input": overlay_input("after", None)}));
    let (rp, base) = rp.start().await;
    let env = reelgpu::worker::runpod::RunpodEnv::from_vars(&Runpod::env(&base))
        .unwrap()
        .unwrap();
    // a device of its own, so the other tests' GPU is untouched
    let ctx = reelgpu::gpu::GpuContext::new().unwrap();
    let storage: Arc<dyn Storage> = Arc::new(S3Storage::new(settings(&moto.endpoint)).unwrap());
    let mut w = worker(storage, CallbackPolicy::default());
    w.gpu = ctx.clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(reelgpu::worker::runpod::run(env, Arc::new(w), stop));
    wait_for("frames on the GPU", Duration::from_secs(120), || {
        callbacks
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.path == "progress" && s.body["progress"].as_i64() > Some(12))
    })
    .await;
    ctx.device.destroy();
    // the loop ends by itself
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the worker stops after a device loss")
        .unwrap();
    let body = results_of(&rp, "rp-lossy");
    assert_eq!(body["stopPod"], true, "{body}");
    let error: Value = serde_json::from_str(body["error"].as_str().unwrap()).unwrap();
    assert_eq!(error["error_type"], "GpuError", "{error}");
    assert_eq!(error["should_retry"], true);
    assert!(
        error["error_message"]
            .as_str()
            .unwrap()
            .contains("device lost"),
        "{error}"
    );
    assert_eq!(
        rp.jobs.lock().unwrap().len(),
        1,
        "no job taken after the loss"
    );
    let calls = callbacks.lock().unwrap().clone();
    assert_eq!(calls.last().unwrap().path, "error");
    assert_eq!(calls.last().unwrap().body["should_retry"], true);
    assert!(keys(&s3, "output/").await.is_empty());
}

/// An object replaced while its ranges are being downloaded fails the download (every ranged
/// GET carries `If-Match` with the ETag the download started from) instead of mixing two
/// versions into one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_replaced_mid_download_fails_instead_of_mixing() {
    let moto = Moto::start();
    create_bucket(&moto.endpoint).await;
    let s3 = S3Storage::new(settings(&moto.endpoint)).unwrap();
    let size = (20 * MIB) as usize;
    let first = tmp("v1.bin");
    std::fs::write(&first, vec![1u8; size]).unwrap();
    s3.upload(&first, "input/changing.mp4", "video/mp4")
        .await
        .unwrap();
    let proxy =
        servers::replacing_proxy(&moto.endpoint, "/reels/input/changing.mp4", vec![2u8; size])
            .await;
    let through = S3Storage::new(settings(&proxy)).unwrap();
    let dest = tmp("changing.bin");
    let err = through
        .download("input/changing.mp4", &dest)
        .await
        .expect_err("the object changed mid-download");
    assert!(err.to_string().contains("replaced"), "{err}");
    // the new version downloads whole
    through.download("input/changing.mp4", &dest).await.unwrap();
    assert!(std::fs::read(&dest).unwrap().iter().all(|&b| b == 2));
}

/// A §9 job through the worker: its text layer's `image_key` is read from the job's bucket;
/// a missing key, a wrong-sized PNG and a mixed v1/v2 region fail without retry, naming the
/// field, and write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v2_overlay_job_reads_its_text_layer_from_the_bucket() {
    use reelgpu::testing::pattern::{caption_rgba, png_bytes};
    let (_moto, s3) = bucket_with_input().await;
    let caption = tmp("caption-320.png");
    std::fs::write(
        &caption,
        png_bytes(&caption_rgba(320, 180, "GOAL"), 320, 180),
    )
    .unwrap();
    s3.upload(&caption, "assets/caption.png", "image/png")
        .await
        .unwrap();
    let small = tmp("caption-64.png");
    std::fs::write(&small, png_bytes(&caption_rgba(64, 36, "G"), 64, 36)).unwrap();
    s3.upload(&small, "assets/small.png", "image/png")
        .await
        .unwrap();
    let s3 = Arc::new(s3);
    let w = worker(s3.clone(), CallbackPolicy::default());
    let job = |id: &str, key: &str| {
        json!({"job_id": id, "type": "overlay", "input_video_key": "input/clip.mp4", "params": {
            "highlight_regions": [{"start_time": 0.1, "end_time": 0.6, "keyframes": [
                {"time": 0.1, "x": 80, "y": 90, "radiusX": 30, "radiusY": 50, "color": "#FF3030"},
                {"time": 0.6, "x": 240, "y": 90, "radiusX": 30, "radiusY": 50}]}],
            "text_layers": [{"startTime": 0.5, "endTime": 1.0, "image_key": key}]}})
    };
    let outcome = w
        .run_job(&job("v2ok", "assets/caption.png"), no_cancel())
        .await;
    assert!(outcome.failure.is_none(), "{:?}", outcome.output);
    assert_eq!(outcome.output["output_video_key"], "output/v2ok/video.mp4");
    assert_eq!(outcome.output["frames"], 30);
    assert_eq!(keys(&s3, "output/v2ok/").await, ["output/v2ok/video.mp4"]);

    let mut mixed = job("v2mixed", "assets/caption.png");
    mixed["params"]["highlight_regions"][0]["start_frame"] = json!(3);
    let cases = [
        (
            job("v2missing", "assets/none.png"),
            "params.text_layers[0].image_key",
        ),
        (
            job("v2small", "assets/small.png"),
            "params.text_layers[0].png_base64 must be exactly the video frame's size (320x180), got 64x36",
        ),
        (
            mixed,
            "params.highlight_regions[0].start_frame is a §5 (v1) region field",
        ),
    ];
    for (input, expect) in cases {
        let outcome = w.run_job(&input, no_cancel()).await;
        let failure = outcome.failure.clone().expect("fails");
        assert!(!failure.should_retry, "{failure}");
        let error = outcome.output["error"].as_str().unwrap();
        assert!(error.contains(expect), "{error:?} should say {expect:?}");
    }
    assert_eq!(keys(&s3, "output/").await, ["output/v2ok/video.mp4"]);
}

/// Clips read only their ranges of the source: a 3 s clip (annotate, and a §10 reel) of a
/// 5-minute source in the test S3 server moves at most 15% of the object's bytes, counted at
/// the server by a proxy; and the outputs are the clips, with their sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clips_read_only_their_range_of_a_long_source() {
    use std::sync::atomic::Ordering;
    let moto = Moto::start();
    create_bucket(&moto.endpoint).await;
    let long = tmp("long-300s.mp4");
    // a keyframe every 2 s, as cameras write them (x264's default is every 10 s)
    let mut args = testsrc_args(320, 180, 25, 300.0, true);
    args.extend(["-g".to_string(), "50".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    generate(&long, &args);
    let size = std::fs::metadata(&long).unwrap().len();
    let direct = S3Storage::new(settings(&moto.endpoint)).unwrap();
    direct
        .upload(&long, "input/long.mp4", "video/mp4")
        .await
        .unwrap();
    let (proxy, moved) = servers::counting_proxy(&moto.endpoint).await;
    let s3 = Arc::new(S3Storage::new(settings(&proxy)).unwrap());
    let w = worker(s3.clone(), CallbackPolicy::default());
    let jobs = [
        json!({"job_id": "clip-annotate", "type": "annotate", "input_video_key": "input/long.mp4",
            "params": {"clips": [{"start_time": 150.0, "end_time": 153.0, "name": "Steal", "rating": 4}]}}),
        json!({"job_id": "clip-reel", "type": "framing", "input_video_key": "input/long.mp4",
            "params": {"target_width": 180, "target_height": 320, "fps": 25,
                "clips_data": [{"source_start_time": 150.0, "source_end_time": 153.0}]}}),
    ];
    for job in jobs {
        moved.store(0, Ordering::Relaxed);
        let outcome = w.run_job(&job, no_cancel()).await;
        assert!(
            outcome.failure.is_none(),
            "{}: {:?}",
            job["job_id"],
            outcome.output
        );
        // the upload of the result goes through the proxy too: count only what came down
        // before it (the output is small, but it is not the source)
        let output_key = format!("output/{}/video.mp4", job["job_id"].as_str().unwrap());
        let out = tmp(&format!("{}.mp4", job["job_id"].as_str().unwrap()));
        let down = moved.load(Ordering::Relaxed);
        direct.download(&output_key, &out).await.unwrap();
        let share = down as f64 / size as f64;
        eprintln!(
            "{}: {down} of {size} bytes through the S3 server ({:.1}%)",
            job["job_id"],
            share * 100.0
        );
        assert!(
            share <= 0.15,
            "{}: read {:.1}% of the source",
            job["job_id"],
            share * 100.0
        );
        let d = common::cli::stream_duration(&out, "v:0").unwrap();
        assert!((d - 3.0).abs() < 0.05, "{}: {d} s of video", job["job_id"]);
        let a = common::cli::stream_duration(&out, "a:0").unwrap();
        assert!((a - 3.0).abs() < 0.1, "{}: {a} s of audio", job["job_id"]);
    }
}

/// A §10 reel through the worker: clips from two objects of the bucket (`source_keys` and a
/// clip's own `input_video_key`), each read through the range bridge; a key missing from
/// the bucket fails without retry and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reel_of_two_sources_runs_through_the_worker() {
    let (_moto, s3) = bucket_with_input().await;
    let other = tmp("other-180p.mp4");
    let args = testsrc_args(320, 180, 25, 2.0, false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    generate(&other, &args);
    s3.upload(&other, "input/other.mp4", "video/mp4")
        .await
        .unwrap();
    let s3 = Arc::new(s3);
    let w = worker(s3.clone(), CallbackPolicy::default());
    let reel = |id: &str, second: &str| {
        json!({"job_id": id, "type": "framing", "input_video_key": "input/clip.mp4", "params": {
            "target_width": 90, "target_height": 160, "fps": 30,
            "transition": {"type": "dissolve", "duration": 0.2},
            "clips_data": [
                {"source_start_time": 0.0, "source_end_time": 0.8},
                {"input_video_key": second, "source_start_time": 0.5, "source_end_time": 1.5,
                 "rotation": -4, "segment_data": {"segments": [{"start": 0.0, "end": 0.5, "speed": 2}]}}]}})
    };
    let outcome = w
        .run_job(&reel("reel2", "input/other.mp4"), no_cancel())
        .await;
    assert!(outcome.failure.is_none(), "{:?}", outcome.output);
    // 0.8 s + (0.25 s + 0.5 s) − 0.2 s = 1.35 s at 30 fps
    assert_eq!(outcome.output["frames"], 41);
    assert_eq!(keys(&s3, "output/reel2/").await, ["output/reel2/video.mp4"]);
    let outcome = w
        .run_job(&reel("reel-missing", "input/nope.mp4"), no_cancel())
        .await;
    let failure = outcome.failure.expect("fails");
    assert!(!failure.should_retry, "{failure}");
    assert!(
        failure
            .message
            .contains("params.clips_data[1].input_video_key: object \"input/nope.mp4\" not found"),
        "{failure}"
    );
    assert!(keys(&s3, "output/reel-missing/").await.is_empty());
}

/// A §10 reel with `"upscale": "ai"` through the worker: the result reports the model, the
/// kernel and the network's time, and the output is in the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ai_upscaled_reel_runs_through_the_worker() {
    let (_moto, s3) = bucket_with_input().await;
    let s3 = Arc::new(s3);
    let w = worker(s3.clone(), CallbackPolicy::default());
    let job = json!({"job_id": "ai-reel", "type": "framing", "input_video_key": "input/clip.mp4",
        "params": {"target_width": 48, "target_height": 84, "fps": 30, "upscale": "ai",
            "clips_data": [{"source_start_time": 0.0, "source_end_time": 0.5,
                "keyframes": [{"time": 0.0, "x": 150, "y": 60, "width": 24, "height": 42}]}]}});
    let outcome = w.run_job(&job, no_cancel()).await;
    assert!(outcome.failure.is_none(), "{:?}", outcome.output);
    let out = &outcome.output;
    assert_eq!(out["frames"], 15);
    assert_eq!(out["upscaler"]["model"], "realesr-animevideov3-x4", "{out}");
    let best = reelgpu::nn::srvgg::best_precision(&common::gpu());
    assert_eq!(out["upscaler"]["kernel"], best.name());
    assert_eq!(out["upscaler"]["frames"], 15);
    assert!(out["upscaler"]["network_s"].as_f64().unwrap() > 0.0);
    assert_eq!(
        keys(&s3, "output/ai-reel/").await,
        ["output/ai-reel/video.mp4"]
    );
}

/// `REELGPU_CONCURRENCY=2`: two long jobs run at once on the one device (the heartbeat names
/// both, and takes say `job_in_progress=1` while one runs); a bad job taken between them
/// fails alone, without retry; a SIGTERM while two run drains them both; every result is
/// posted exactly once and no job is taken after the signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_jobs_at_once_stay_apart_and_drain_on_sigterm() {
    let (moto, s3) = bucket_with_input().await;
    let (cb, _callbacks) = servers::callback_receiver().await;
    let a = long_overlay_job(&s3, "c-a", "long-a", 6, &cb).await;
    let b = long_overlay_job(&s3, "c-b", "long-b", 6, &cb).await;
    let bad = json!({"job_id": "c-bad", "type": "overlay", "input_video_key": "input/clip.mp4",
        "params": {"effect_type": "glow"}});
    let rp = Runpod::default();
    rp.jobs.lock().unwrap().extend([
        json!({"id": "rp-a", "input": a}),
        json!({"id": "rp-bad", "input": bad}),
        json!({"id": "rp-b", "input": b}),
        json!({"id": "rp-never", "input": overlay_input("never", None)}),
    ]);
    let (rp, base) = rp.start().await;
    let mut env = s3_env(&moto.endpoint);
    env.extend(Runpod::env(&base));
    env.push(("REELGPU_CONCURRENCY", "2".into()));
    env.push(("REELGPU_STOP_GRACE_MS", "120000".into()));
    env.push(("RUNPOD_PING_INTERVAL", "200".into()));
    let mut worker = Proc(reelgpu_command(&["worker"], &env).spawn().unwrap());
    wait_for(
        "a heartbeat naming two jobs",
        Duration::from_secs(120),
        || {
            rp.pings
                .lock()
                .unwrap()
                .iter()
                .any(|p| p.query.get("job_id").is_some_and(|j| j == "rp-a,rp-b"))
        },
    )
    .await;
    worker.signal(libc::SIGTERM);
    let status = worker.wait_exit(Duration::from_secs(120));
    assert!(status.success(), "{status}");
    let results = rp.results.lock().unwrap().clone();
    let mut ids: Vec<&str> = results.iter().map(|r| r.path.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["rp-a", "rp-b", "rp-bad"], "each result exactly once");
    for r in &results {
        let out = &r.body["output"];
        if r.path == "rp-bad" {
            assert_eq!(out["status"], "error", "{out}");
            let error: Value = serde_json::from_str(r.body["error"].as_str().unwrap()).unwrap();
            assert_eq!(error["should_retry"], false);
        } else {
            assert_eq!(out["status"], "success", "{}: {out}", r.path);
            assert_eq!(out["frames"], 180);
        }
    }
    assert_eq!(
        rp.jobs.lock().unwrap().len(),
        1,
        "a job was taken after SIGTERM"
    );
    assert!(
        rp.takes
            .lock()
            .unwrap()
            .iter()
            .any(|t| t.query.get("job_in_progress").map(String::as_str) == Some("1")),
        "no take said a job was in progress"
    );
    assert_eq!(
        keys(&s3, "output/").await,
        ["output/c-a/video.mp4", "output/c-b/video.mp4"]
    );
}

/// A job that ends while a take is in flight does not cancel the take: the platform has
/// already handed that job out, so dropping the request would lose it (found by the
/// throughput bench: with `REELGPU_CONCURRENCY=2`, one job in three was never run or
/// reported). Here every take that hands out a job answers 300 ms late and each job fails
/// at once, so each job ends during the next take.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_ending_during_a_take_loses_no_taken_job() {
    let rp = Runpod::default();
    *rp.take_hold.lock().unwrap() = Duration::from_millis(300);
    let ids: Vec<String> = (0..6).map(|i| format!("rp-{i}")).collect();
    rp.jobs.lock().unwrap().extend(ids.iter().map(|id| {
        json!({"id": id, "input": {"job_id": id, "type": "overlay",
            "input_video_key": "input/clip.mp4", "params": {"effect_type": "glow"}}})
    }));
    let (rp, base) = rp.start().await;
    let storage = tempfile::tempdir().unwrap();
    let mut env = Runpod::env(&base);
    env.push((
        "R2_ENDPOINT",
        format!("file://{}", storage.path().display()),
    ));
    env.push(("REELGPU_CONCURRENCY", "2".into()));
    let mut worker = Proc(reelgpu_command(&["worker"], &env).spawn().unwrap());
    wait_for("six results", Duration::from_secs(60), || {
        rp.results.lock().unwrap().len() >= 6
    })
    .await;
    worker.signal(libc::SIGTERM);
    let status = worker.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status}");
    let mut got: Vec<String> = rp
        .results
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    got.sort();
    assert_eq!(got, ids, "each taken job's result exactly once");
}

#[test]
fn concurrency_is_checked() {
    use reelgpu::worker::runpod::RunpodEnv;
    let base = |c: &str| {
        RunpodEnv::from_vars(&[
            ("RUNPOD_WEBHOOK_GET_JOB", "http://x/take".into()),
            ("RUNPOD_WEBHOOK_POST_OUTPUT", "http://x/done".into()),
            ("REELGPU_CONCURRENCY", c.into()),
        ])
        .unwrap()
    };
    assert_eq!(base("4").unwrap().concurrency, 4);
    for bad in ["0", "17", "two", "-1"] {
        let e = base(bad).unwrap_err().to_string();
        assert!(e.contains("REELGPU_CONCURRENCY"), "{bad}: {e}");
    }
    assert_eq!(
        RunpodEnv::from_vars(&[
            ("RUNPOD_WEBHOOK_GET_JOB", "http://x/take".into()),
            ("RUNPOD_WEBHOOK_POST_OUTPUT", "http://x/done".into()),
        ])
        .unwrap()
        .unwrap()
        .concurrency,
        1
    );
}

/// A device lost while two jobs run at once (`REELGPU_CONCURRENCY=2`) fails both retryably,
/// each asking RunPod to stop the pod; no job is taken after, and the loop ends by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_gpu_fails_every_running_job_retryably() {
    let (moto, s3) = bucket_with_input().await;
    // a callback receiver per job, to see each one on the GPU
    let (cb_a, calls_a) = servers::callback_receiver().await;
    let (cb_b, calls_b) = servers::callback_receiver().await;
    let a = long_overlay_job(&s3, "lossy-a", "lossy-a", 6, &cb_a).await;
    let b = long_overlay_job(&s3, "lossy-b", "lossy-b", 6, &cb_b).await;
    let rp = Runpod::default();
    rp.jobs.lock().unwrap().extend([
        json!({"id": "rp-lossy-a", "input": a}),
        json!({"id": "rp-lossy-b", "input": b}),
        json!({"id": "rp-after", "input": overlay_input("after", None)}),
    ]);
    let (rp, base) = rp.start().await;
    let mut vars = Runpod::env(&base);
    vars.push(("REELGPU_CONCURRENCY", "2".into()));
    let env = reelgpu::worker::runpod::RunpodEnv::from_vars(&vars)
        .unwrap()
        .unwrap();
    assert_eq!(env.concurrency, 2);
    // a device of its own, so the other tests' GPU is untouched
    let ctx = reelgpu::gpu::GpuContext::new().unwrap();
    let storage: Arc<dyn Storage> = Arc::new(S3Storage::new(settings(&moto.endpoint)).unwrap());
    let mut w = worker(storage, CallbackPolicy::default());
    w.gpu = ctx.clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(reelgpu::worker::runpod::run(env, Arc::new(w), stop));
    wait_for("both jobs on the GPU", Duration::from_secs(120), || {
        [&calls_a, &calls_b].iter().all(|calls| {
            calls
                .lock()
                .unwrap()
                .iter()
                .any(|s| s.path == "progress" && s.body["progress"].as_i64() > Some(12))
        })
    })
    .await;
    ctx.device.destroy();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the worker stops after a device loss")
        .unwrap();
    for id in ["rp-lossy-a", "rp-lossy-b"] {
        let body = results_of(&rp, id);
        assert_eq!(body["stopPod"], true, "{id}: {body}");
        let error: Value = serde_json::from_str(body["error"].as_str().unwrap()).unwrap();
        assert_eq!(error["should_retry"], true, "{id}: {error}");
    }
    assert_eq!(
        rp.jobs.lock().unwrap().len(),
        1,
        "no job taken after the loss"
    );
    assert!(keys(&s3, "output/").await.is_empty());
}
