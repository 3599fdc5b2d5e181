//! `detect_players_modal` and `detect_players_batch_modal` (contract §16): the app's kwargs
//! for finding the players on frames of a video, and the results it reads back. The frames
//! are read through the range bridge (only the bytes up to the last wanted frame), run
//! through the operator's YOLOv8 checkpoint on the GPU ([`crate::nn::yolo`]), and the boxes
//! of class 0 come back as the app reports them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::keys::UserPrefix;
use super::kwargs::Obj;
use crate::detect::{Detection, Letterbox, nms, to_frame};
use crate::gpu::GpuContext;
use crate::job::ParamError;
use crate::models::yolo::{self, DETECT_MODEL_ENV, YoloModel};
use crate::nn::yolo::{YoloGpu, YoloInput, YoloPlan};

pub const SINGLE_KWARGS: &[&str] = &[
    "user_id",
    "input_key",
    "frame_number",
    "confidence_threshold",
];
pub const BATCH_KWARGS: &[&str] = &["user_id", "input_key", "timestamps", "confidence_threshold"];
/// The app's default threshold.
pub const DEFAULT_CONFIDENCE: f64 = 0.5;
/// Most timestamps one batch call takes (the app sends 4 per clip).
pub const MAX_TIMESTAMPS: usize = 1000;
/// The class the app keeps, and the name it reports.
pub const PERSON: usize = 0;

/// Which frames a call wants.
#[derive(Debug, Clone, PartialEq)]
pub enum Wanted {
    /// `frame_number`.
    Frame(i64),
    /// `timestamps`, each echoed exactly as given.
    Times(Vec<Value>),
}

/// A checked detection call.
#[derive(Debug, Clone)]
pub struct DetectCall {
    pub user: UserPrefix,
    /// The full object key.
    pub input: String,
    pub wanted: Wanted,
    pub confidence: f32,
    pub ignored: Vec<String>,
}

impl DetectCall {
    pub fn batch(&self) -> bool {
        matches!(self.wanted, Wanted::Times(_))
    }
}

pub fn parse(kwargs: &Value, batch: bool) -> Result<DetectCall, ParamError> {
    let kw = Obj::new(kwargs, "kwargs")?;
    let mut ignored = Vec::new();
    let known = if batch { BATCH_KWARGS } else { SINGLE_KWARGS };
    kw.check_keys(known, &[], &mut ignored)?;
    let user = UserPrefix::new(kw.str("user_id")?, "kwargs.user_id")?;
    let input = user.object(kw.str("input_key")?, "kwargs.input_key")?;
    let confidence = kw
        .opt_num("confidence_threshold")?
        .unwrap_or(DEFAULT_CONFIDENCE);
    if !(0.0..=1.0).contains(&confidence) {
        return Err(ParamError::new(
            "kwargs.confidence_threshold",
            format!("must be between 0 and 1 (got {confidence})"),
        ));
    }
    let wanted = if batch {
        if !kw.has("timestamps") {
            return Err(ParamError::new("kwargs.timestamps", "is required"));
        }
        let list = kw.list("timestamps")?;
        if list.len() > MAX_TIMESTAMPS {
            return Err(ParamError::new(
                "kwargs.timestamps",
                format!("holds {} timestamps (at most {MAX_TIMESTAMPS})", list.len()),
            ));
        }
        for (i, t) in list.iter().enumerate() {
            match t.as_f64() {
                Some(v) if v.is_finite() => {}
                _ => {
                    return Err(ParamError::new(
                        format!("kwargs.timestamps[{i}]"),
                        "must be a finite number of seconds",
                    ));
                }
            }
        }
        Wanted::Times(list.to_vec())
    } else {
        match kw.opt_int("frame_number")? {
            Some(n) => Wanted::Frame(n),
            None => return Err(ParamError::new("kwargs.frame_number", "is required")),
        }
    };
    Ok(DetectCall {
        user,
        input,
        wanted,
        confidence: confidence as f32,
        ignored,
    })
}

/// What the probe says about the video, as the calls count it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoFacts {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// The container's frame count, else round(duration × fps).
    pub total: u64,
}

/// The frame each wanted item reads (`None`: out of range for the single call's error).
pub fn frame_numbers(wanted: &Wanted, v: &VideoFacts) -> Result<Vec<u64>, String> {
    let last = v.total.saturating_sub(1);
    match wanted {
        Wanted::Frame(n) => {
            if v.total == 0 || *n < 0 || *n as u64 > last {
                Err(format!("Frame {n} out of range (0-{})", v.total as i64 - 1))
            } else {
                Ok(vec![*n as u64])
            }
        }
        Wanted::Times(ts) => Ok(ts
            .iter()
            .map(|t| {
                // Python's int(t * fps): truncated toward zero, then clamped
                let f = (t.as_f64().unwrap_or(0.0) * v.fps).trunc();
                if f <= 0.0 { 0 } else { (f as u64).min(last) }
            })
            .collect()),
    }
}

/// One box as the app reports it: centre and size in frame pixels.
pub fn box_json(d: &Detection) -> Value {
    json!({
        "bbox": {
            "x": (d.x1 + d.x2) as f64 / 2.0,
            "y": (d.y1 + d.y2) as f64 / 2.0,
            "width": (d.x2 - d.x1) as f64,
            "height": (d.y2 - d.y1) as f64,
        },
        "confidence": d.confidence as f64,
        "class_name": "person",
        "class_id": d.class_id,
    })
}

/// The players' boxes from a plan's candidates: NMS over every class, then class 0, mapped to
/// the frame, best first.
pub fn players(cands: &[crate::detect::Candidate], conf: f32, g: &Letterbox) -> Vec<Detection> {
    let mut kept: Vec<Detection> = nms(cands, conf)
        .into_iter()
        .filter(|d| d.class_id == PERSON)
        .collect();
    to_frame(&mut kept, g);
    kept
}

/// The operator's detector, loaded on first use and kept for the worker's life (one per
/// process: the model named by `REELGPU_DETECT_MODEL`, on the worker's device).
#[derive(Default)]
pub struct Detector {
    loaded: Mutex<Option<(PathBuf, Arc<YoloGpu>)>>,
}

impl Detector {
    /// The model `REELGPU_DETECT_MODEL` names, uploaded to `gpu` (loaded once).
    pub fn get(&self, gpu: &GpuContext) -> Result<Arc<YoloGpu>, String> {
        let Some(path) = yolo::model_path() else {
            return Err(format!(
                "no player detection model: set {DETECT_MODEL_ENV} to an ultralytics YOLOv8 \
                 detection checkpoint (e.g. yolov8x.pt)"
            ));
        };
        let mut slot = self.loaded.lock().expect("detector lock");
        if let Some((p, g)) = slot.as_ref()
            && *p == path
        {
            return Ok(g.clone());
        }
        let t = std::time::Instant::now();
        let model: YoloModel = yolo::load(&path).map_err(|e| format!("{DETECT_MODEL_ENV}: {e}"))?;
        let g = Arc::new(YoloGpu::new(gpu, Arc::new(model)));
        tracing::info!(
            model = %path.display(),
            scale = %g.model.scale,
            classes = g.model.nc,
            secs = t.elapsed().as_secs_f64(),
            "player detection model loaded"
        );
        *slot = Some((path, g.clone()));
        Ok(g)
    }
}

/// The detector over frames of `format`.
pub fn plan(
    gpu: &GpuContext,
    det: Arc<YoloGpu>,
    format: crate::frame::FrameFormat,
) -> Result<YoloPlan, String> {
    YoloPlan::new(gpu, det, YoloInput::Frame(format)).map_err(|e| e.to_string())
}

/// The final item's fields for the single call.
pub fn single_result(frame_number: u64, boxes: &[Detection], v: &VideoFacts) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("frame_number".into(), json!(frame_number));
    m.insert(
        "detections".into(),
        Value::Array(boxes.iter().map(box_json).collect()),
    );
    m.insert("video_width".into(), json!(v.width));
    m.insert("video_height".into(), json!(v.height));
    m
}

/// The final item's fields for the batch call.
pub fn batch_result(
    times: &[Value],
    frames: &[u64],
    boxes: &[Vec<Detection>],
    v: &VideoFacts,
) -> Map<String, Value> {
    let mut m = Map::new();
    let items: Vec<Value> = times
        .iter()
        .zip(frames)
        .zip(boxes)
        .map(|((t, f), b)| {
            json!({"timestamp": t, "frame_number": f,
                "boxes": b.iter().map(box_json).collect::<Vec<_>>()})
        })
        .collect();
    m.insert("detections".into(), Value::Array(items));
    m.insert("video_width".into(), json!(v.width));
    m.insert("video_height".into(), json!(v.height));
    m.insert("fps".into(), json!(v.fps));
    m.insert(
        "duration".into(),
        json!(if v.fps > 0.0 {
            v.total as f64 / v.fps
        } else {
            0.0
        }),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> VideoFacts {
        VideoFacts {
            width: 1920,
            height: 1080,
            fps: 29.97,
            total: 300,
        }
    }

    #[test]
    fn kwargs_are_the_apps_and_errors_name_them() {
        let c = parse(
            &json!({"user_id": "u/p", "input_key": "working_videos/a.mp4", "frame_number": 12}),
            false,
        )
        .unwrap();
        assert_eq!(c.input, "u/p/working_videos/a.mp4");
        assert_eq!((c.wanted.clone(), c.confidence), (Wanted::Frame(12), 0.5));
        let c = parse(
            &json!({"user_id": "u", "input_key": "games/g.mp4", "timestamps": [0, 1.5],
                "confidence_threshold": 0.25}),
            true,
        )
        .unwrap();
        assert_eq!(c.input, "games/g.mp4");
        assert_eq!(c.wanted, Wanted::Times(vec![json!(0), json!(1.5)]));
        let err = |v: Value, batch| parse(&v, batch).unwrap_err().to_string();
        assert_eq!(
            err(json!({"user_id": "u", "input_key": "a.mp4"}), false),
            "kwargs.frame_number is required"
        );
        assert_eq!(
            err(json!({"user_id": "u", "input_key": "a.mp4"}), true),
            "kwargs.timestamps is required"
        );
        assert_eq!(
            err(json!({"user_id": "u", "frame_number": 1}), false),
            "kwargs.input_key is required"
        );
        assert_eq!(
            err(
                json!({"user_id": "u", "input_key": "a", "timestamps": [1, "x"]}),
                true
            ),
            "kwargs.timestamps[1] must be a finite number of seconds"
        );
        assert_eq!(
            err(
                json!({"user_id": "u", "input_key": "a", "frame_number": 1.5}),
                false
            ),
            "kwargs.frame_number must be a whole number (got 1.5)"
        );
        assert_eq!(
            err(
                json!({"user_id": "u", "input_key": "a", "frame_number": 1,
                "confidence_threshold": 2}),
                false
            ),
            "kwargs.confidence_threshold must be between 0 and 1 (got 2)"
        );
        assert_eq!(
            err(
                json!({"user_id": "u", "input_key": "a", "frame_numbr": 1}),
                false
            ),
            "kwargs.frame_numbr is not a known argument; did you mean frame_number?"
        );
    }

    #[test]
    fn frames_follow_the_apps_rules() {
        let v = facts();
        assert_eq!(frame_numbers(&Wanted::Frame(299), &v), Ok(vec![299]));
        assert_eq!(
            frame_numbers(&Wanted::Frame(300), &v),
            Err("Frame 300 out of range (0-299)".into())
        );
        assert_eq!(
            frame_numbers(&Wanted::Frame(-1), &v),
            Err("Frame -1 out of range (0-299)".into())
        );
        // int(t * fps), truncated, clamped: 1.0 s at 29.97 is frame 29; 100 s is the last
        let ts = vec![json!(0), json!(1.0), json!(-3), json!(100)];
        assert_eq!(
            frame_numbers(&Wanted::Times(ts), &v),
            Ok(vec![0, 29, 0, 299])
        );
    }

    #[test]
    fn results_have_the_apps_fields() {
        let d = Detection {
            x1: 10.0,
            y1: 20.0,
            x2: 30.0,
            y2: 60.0,
            confidence: 0.75,
            class_id: 0,
        };
        let v = facts();
        let r = Value::Object(single_result(7, &[d], &v));
        assert_eq!(
            r,
            json!({"frame_number": 7, "video_width": 1920, "video_height": 1080,
                "detections": [{"bbox": {"x": 20.0, "y": 40.0, "width": 20.0, "height": 40.0},
                "confidence": 0.75, "class_name": "person", "class_id": 0}]})
        );
        let r = Value::Object(batch_result(&[json!(1.25)], &[37], &[vec![]], &v));
        assert_eq!(
            r["detections"],
            json!([{"timestamp": 1.25, "frame_number": 37, "boxes": []}])
        );
        assert_eq!(r["duration"], json!(300.0 / 29.97));
    }
}
