//! What turns a frame into player boxes around the network (contract §16), as ultralytics
//! does it for a `.pt` model: the letterbox's geometry (640 on the long side, padded to
//! multiples of 32), candidate selection (argmax over all classes, score `> conf`),
//! class-aware non-maximum suppression (IoU 0.7, at most 300), and the boxes mapped back to
//! the frame and clipped. The network itself runs on the GPU ([`crate::nn::yolo`]).

/// The network's input side (ultralytics' `imgsz`).
pub const IMGSZ: u32 = 640;
/// Padding multiple (the model's largest stride).
pub const STRIDE: u32 = 32;
/// NMS's IoU threshold.
pub const IOU: f32 = 0.7;
/// Most boxes kept.
pub const MAX_DET: usize = 300;
/// ultralytics' `max_nms`: candidates considered, best first.
pub const MAX_NMS: usize = 30_000;

/// Where a `w × h` frame sits in the network's input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// The frame's size.
    pub src_w: u32,
    pub src_h: u32,
    /// The resized frame inside the input.
    pub inner_w: u32,
    pub inner_h: u32,
    /// The input's size (multiples of 32).
    pub width: u32,
    pub height: u32,
    pub left: u32,
    pub top: u32,
}

fn py_round(v: f64) -> f64 {
    v.round_ties_even()
}

impl Letterbox {
    /// ultralytics' `LetterBox(640, auto=True, stride=32)` for a `w × h` frame.
    pub fn new(w: u32, h: u32) -> Self {
        let r = (IMGSZ as f64 / h as f64).min(IMGSZ as f64 / w as f64);
        let inner_w = (py_round(w as f64 * r) as u32).max(1);
        let inner_h = (py_round(h as f64 * r) as u32).max(1);
        let dw = IMGSZ.saturating_sub(inner_w) % STRIDE;
        let dh = IMGSZ.saturating_sub(inner_h) % STRIDE;
        let left = py_round(dw as f64 / 2.0 - 0.1) as u32;
        let top = py_round(dh as f64 / 2.0 - 0.1) as u32;
        Self {
            src_w: w,
            src_h: h,
            inner_w,
            inner_h,
            width: inner_w + dw,
            height: inner_h + dh,
            left,
            top,
        }
    }

    /// ultralytics' `scale_boxes`: the gain and padding from the two sizes.
    fn gain_pad(&self) -> (f64, f64, f64) {
        let gain =
            (self.height as f64 / self.src_h as f64).min(self.width as f64 / self.src_w as f64);
        let px = py_round((self.width as f64 - self.src_w as f64 * gain) / 2.0 - 0.1);
        let py = py_round((self.height as f64 - self.src_h as f64 * gain) / 2.0 - 0.1);
        (gain, px, py)
    }
}

/// One box in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub confidence: f32,
    pub class_id: usize,
}

/// A candidate as the network gives it: centre and size in input pixels, best score, class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
    pub score: f32,
    pub class_id: usize,
}

/// The best class of each anchor of a raw anchor-major output (`[cx, cy, w, h, scores]`).
pub fn candidates_from_raw(raw: &[f32], nc: usize) -> Vec<Candidate> {
    raw.chunks_exact(4 + nc)
        .map(|r| {
            let (mut best, mut class_id) = (f32::NEG_INFINITY, 0);
            for (c, s) in r[4..].iter().enumerate() {
                // the first of equal scores, as torch's max
                if *s > best {
                    best = *s;
                    class_id = c;
                }
            }
            Candidate {
                cx: r[0],
                cy: r[1],
                w: r[2],
                h: r[3],
                score: best,
                class_id,
            }
        })
        .collect()
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: &[f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    inter / (area(a) + area(b) - inter)
}

/// ultralytics' `non_max_suppression` (single label): candidates scoring `> conf`, best
/// first (ties in anchor order), a box dropped when its IoU with a kept box of its class is
/// above [`IOU`], at most [`MAX_DET`]. Boxes stay in input pixels (x1, y1, x2, y2).
pub fn nms(cands: &[Candidate], conf: f32) -> Vec<Detection> {
    let mut order: Vec<usize> = (0..cands.len())
        .filter(|i| cands[*i].score > conf)
        .collect();
    order.sort_by(|a, b| cands[*b].score.total_cmp(&cands[*a].score).then(a.cmp(b)));
    order.truncate(MAX_NMS);
    let rect = |c: &Candidate| {
        [
            c.cx - c.w / 2.0,
            c.cy - c.h / 2.0,
            c.cx + c.w / 2.0,
            c.cy + c.h / 2.0,
        ]
    };
    let mut kept: Vec<(usize, [f32; 4])> = Vec::new();
    for i in order {
        let c = &cands[i];
        let r = rect(c);
        if kept
            .iter()
            .any(|(k, kr)| cands[*k].class_id == c.class_id && iou(kr, &r) > IOU)
        {
            continue;
        }
        kept.push((i, r));
        if kept.len() == MAX_DET {
            break;
        }
    }
    kept.into_iter()
        .map(|(i, r)| Detection {
            x1: r[0],
            y1: r[1],
            x2: r[2],
            y2: r[3],
            confidence: cands[i].score,
            class_id: cands[i].class_id,
        })
        .collect()
}

/// Boxes from input pixels to the frame's (minus the padding, divided by the gain), clipped.
pub fn to_frame(dets: &mut [Detection], g: &Letterbox) {
    let (gain, px, py) = g.gain_pad();
    let (w, h) = (g.src_w as f32, g.src_h as f32);
    for d in dets {
        d.x1 = ((d.x1 as f64 - px) / gain).clamp(0.0, w as f64) as f32;
        d.x2 = ((d.x2 as f64 - px) / gain).clamp(0.0, w as f64) as f32;
        d.y1 = ((d.y1 as f64 - py) / gain).clamp(0.0, h as f64) as f32;
        d.y2 = ((d.y2 as f64 - py) / gain).clamp(0.0, h as f64) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(x: f32, y: f32, s: f32, class_id: usize) -> Candidate {
        Candidate {
            cx: x,
            cy: y,
            w: 10.0,
            h: 10.0,
            score: s,
            class_id,
        }
    }

    #[test]
    fn the_letterbox_is_ultralytics_for_every_shape() {
        let g = Letterbox::new(1920, 1080);
        assert_eq!(
            (g.inner_w, g.inner_h, g.width, g.height, g.left, g.top),
            (640, 360, 640, 384, 0, 12)
        );
        let g = Letterbox::new(1080, 1920);
        assert_eq!(
            (g.inner_w, g.inner_h, g.width, g.height, g.left, g.top),
            (360, 640, 384, 640, 12, 0)
        );
        let g = Letterbox::new(500, 500);
        assert_eq!((g.width, g.height, g.left, g.top), (640, 640, 0, 0));
        // odd padding: 7 before, 8 after (round(d/2 - 0.1), round(d/2 + 0.1))
        let g = Letterbox::new(640, 402);
        assert_eq!((g.inner_h, g.height, g.top), (402, 416, 7));
        // halves round to even, as Python's round: 5 * 0.5 = 2.5 -> 2
        let g = Letterbox::new(1280, 5);
        assert_eq!((g.inner_w, g.inner_h), (640, 2));
    }

    #[test]
    fn nms_is_class_aware_orders_ties_and_caps() {
        // two overlapping boxes of one class: the better stays
        let c = [cand(50.0, 50.0, 0.8, 0), cand(51.0, 50.0, 0.9, 0)];
        let d = nms(&c, 0.5);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].confidence, 0.9);
        // the same boxes in two classes both stay
        let c = [cand(50.0, 50.0, 0.8, 0), cand(51.0, 50.0, 0.9, 1)];
        assert_eq!(nms(&c, 0.5).len(), 2);
        // the threshold is strict, and ties keep anchor order
        let c = [
            cand(0.0, 0.0, 0.5, 0),
            cand(100.0, 0.0, 0.7, 0),
            cand(200.0, 0.0, 0.7, 0),
        ];
        let d = nms(&c, 0.5);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].x1, d[1].x1), (95.0, 195.0));
        // IoU 0.54 (offset 3) is kept, 0.82 (offset 1) is not
        let c = [
            cand(0.0, 0.0, 0.9, 0),
            cand(3.0, 0.0, 0.8, 0),
            cand(1.0, 0.0, 0.7, 0),
        ];
        assert_eq!(nms(&c, 0.1).len(), 2);
        // at most 300
        let many: Vec<Candidate> = (0..400)
            .map(|i| cand(20.0 * i as f32, 0.0, 0.6 + i as f32 * 1e-4, 0))
            .collect();
        let d = nms(&many, 0.5);
        assert_eq!(d.len(), MAX_DET);
        assert!(d.windows(2).all(|w| w[0].confidence >= w[1].confidence));
    }

    #[test]
    fn argmax_takes_the_first_of_equal_scores() {
        let c = candidates_from_raw(&[1.0, 2.0, 3.0, 4.0, 0.2, 0.7, 0.7], 3);
        assert_eq!((c[0].class_id, c[0].score), (1, 0.7));
    }

    #[test]
    fn boxes_map_back_to_the_frame_and_clip() {
        let g = Letterbox::new(1920, 1080);
        let mut d = [Detection {
            x1: -5.0,
            y1: 12.0,
            x2: 320.0,
            y2: 400.0,
            confidence: 0.9,
            class_id: 0,
        }];
        to_frame(&mut d, &g);
        assert_eq!(
            (d[0].x1, d[0].y1, d[0].x2, d[0].y2),
            (0.0, 0.0, 960.0, 1080.0)
        );
    }
}
