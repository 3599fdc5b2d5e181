//! The Docker image recipe, kept honest without Docker (which cannot run in CI): the runtime
//! stage's packages, ICD file, capabilities and user are checked, and its `CMD` is run here with
//! its `ENV` against a RunPod-protocol server handing out the jobs of `.runpod/tests.json`.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::servers::{Proc, Runpod};
use reelgpu::testing::clips::{generate, testsrc_args};
use serde_json::{Value, json};

struct Recipe {
    runtime_from: String,
    env: Vec<(String, String)>,
    cmd: Vec<String>,
    user: Option<String>,
    text: String,
}

fn recipe() -> Recipe {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")).unwrap();
    // Only the last stage is the image that runs.
    let runtime = text
        .rsplit_once("\nFROM ")
        .expect("a multi-stage Dockerfile")
        .1;
    let mut r = Recipe {
        runtime_from: runtime.lines().next().unwrap().trim().to_string(),
        env: Vec::new(),
        cmd: Vec::new(),
        user: None,
        text: runtime.to_string(),
    };
    for line in runtime.lines() {
        if let Some(kv) = line.strip_prefix("ENV ") {
            let (k, v) = kv.split_once('=').expect("ENV KEY=value");
            r.env.push((k.trim().into(), v.trim().into()));
        } else if let Some(cmd) = line.strip_prefix("CMD ") {
            r.cmd = serde_json::from_str(cmd).expect("CMD in exec (JSON) form");
        } else if let Some(user) = line.strip_prefix("USER ") {
            r.user = Some(user.trim().into());
        }
    }
    r
}

#[test]
fn the_runtime_stage_has_what_the_worker_needs() {
    let r = recipe();
    assert!(
        r.runtime_from.starts_with("nvidia/cuda:") && r.runtime_from.contains("runtime-ubuntu"),
        "{}",
        r.runtime_from
    );
    for pkg in ["ffmpeg", "libvulkan1", "fonts-dejavu-core"] {
        assert!(r.text.contains(pkg), "runtime stage does not install {pkg}");
    }
    let env: HashMap<_, _> = r.env.iter().cloned().collect();
    let caps: Vec<&str> = env["NVIDIA_DRIVER_CAPABILITIES"].split(',').collect();
    for cap in ["compute", "video", "utility", "graphics"] {
        assert!(
            caps.contains(&cap),
            "NVIDIA_DRIVER_CAPABILITIES lacks {cap}"
        );
    }
    assert_eq!(env["WGPU_BACKEND"], "vulkan");
    assert!(
        Path::new(&env["REELGPU_FONT"]).is_file(),
        "the font path {} does not exist here either",
        env["REELGPU_FONT"]
    );
    let user = r.user.expect("a USER line");
    assert!(user != "root" && user != "0", "runs as root");
    assert_eq!(r.cmd, ["reelgpu", "worker"]);
    // The Vulkan ICD file the image installs names NVIDIA's Vulkan driver library.
    assert!(
        r.text
            .contains("COPY docker/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json")
    );
    let icd: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/nvidia_icd.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(icd["ICD"]["library_path"], "libGLX_nvidia.so.0");
    // The hub files parse and agree with the image's bundled sample.
    let hub: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".runpod/hub.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(hub["type"], "serverless");
    let tests = runpod_tests();
    assert!(!tests["tests"].as_array().unwrap().is_empty());
    assert!(
        r.text
            .contains("/opt/reelgpu/sample/input/sample/video.mp4")
    );
    // the AI x4 model: fetched and checked in its own stage, copied where the ENV points
    assert!(text_of_dockerfile().contains("RUN bash scripts/fetch_models.sh"));
    assert!(
        r.text
            .contains("COPY --from=models /src/models /opt/reelgpu/models")
    );
    assert_eq!(
        env["REELGPU_SR_MODEL"],
        "/opt/reelgpu/models/realesr-animevideov3-x4.param"
    );
}

fn text_of_dockerfile() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")).unwrap()
}

fn runpod_tests() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".runpod/tests.json"))
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_images_start_command_runs_the_hub_tests() {
    let r = recipe();
    let tests = runpod_tests();
    // The image's sample folder, recreated here: a 1280x720 30 fps 3 s clip with audio.
    let sample = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docker-sample");
    let _ = std::fs::remove_dir_all(sample.join("output"));
    let args = testsrc_args(1280, 720, 30, 3.0, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    generate(&sample.join("input/sample/video.mp4"), &args);
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docker-work");
    std::fs::create_dir_all(&work).unwrap();

    let rp = Runpod::default();
    let cases = tests["tests"].as_array().unwrap();
    for (i, t) in cases.iter().enumerate() {
        rp.jobs
            .lock()
            .unwrap()
            .push_back(json!({"id": format!("hub-{i}"), "input": t["input"]}));
    }
    let (rp, base) = rp.start().await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reelgpu"));
    cmd.args(&r.cmd[1..])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap());
    for (k, v) in &r.env {
        cmd.env(k, v);
    }
    // What differs here: no /work folder, the sample's and the model's locations, and no
    // NVIDIA GPU (lavapipe).
    cmd.env("REELGPU_WORK_DIR", &work)
        .env(
            "REELGPU_SR_MODEL",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/realesr-animevideov3-x4.param"),
        )
        .env("R2_ENDPOINT", format!("file://{}", sample.display()))
        .env("REELGPU_ALLOW_CPU", "1")
        .env(
            "XDG_RUNTIME_DIR",
            std::env::var("XDG_RUNTIME_DIR").unwrap_or_default(),
        );
    for (k, v) in tests["config"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["key"].as_str().unwrap(), e["value"].as_str().unwrap()))
    {
        if k != "R2_ENDPOINT" {
            cmd.env(k, v);
        }
    }
    for (k, v) in Runpod::env(&base) {
        cmd.env(k, v);
    }
    let mut worker = Proc(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t = Instant::now();
    while rp.results.lock().unwrap().len() < cases.len() {
        assert!(
            t.elapsed() < Duration::from_secs(240),
            "hub tests did not finish"
        );
        if let Ok(Some(s)) = worker.0.try_wait() {
            panic!("the worker exited early: {s}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.signal(libc::SIGTERM);
    assert!(worker.wait_exit(Duration::from_secs(20)).success());
    for result in rp.results.lock().unwrap().iter() {
        let out = &result.body["output"];
        assert_eq!(out["status"], "success", "{}: {}", result.path, result.body);
        let key = out["output_video_key"].as_str().unwrap();
        assert!(sample.join(key).is_file(), "{key} missing");
    }
}
