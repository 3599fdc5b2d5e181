//! YOLOv8 detectors of any official scale with random weights, made in place (the benches and
//! the GPU kit time yolov8x without carrying its 130 MB): a state dict named as ultralytics
//! names it, with convolution weights scaled by their fan-in and plausible batch-norm
//! statistics, built by [`crate::models::yolo::build`] like any file.

use crate::models::Storage;
use crate::models::torch_pt::{StateDict, Tensor};
use crate::models::yolo::{self, YoloModel};

/// (depth, width, max channels) of ultralytics' yolov8 scales.
pub fn scale_factors(scale: char) -> Option<(f64, f64, usize)> {
    Some(match scale {
        'n' => (0.33, 0.25, 1024),
        's' => (0.33, 0.50, 1024),
        'm' => (0.67, 0.75, 768),
        'l' => (1.0, 1.0, 512),
        'x' => (1.0, 1.25, 512),
        _ => return None,
    })
}

struct Gen {
    state: u64,
    sd: StateDict,
}

impl Gen {
    /// Uniform in [0, 1) (xorshift64*).
    fn next(&mut self) -> f32 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let v = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (v >> 40) as f32 / (1u64 << 24) as f32
    }

    fn tensor(&mut self, name: String, shape: Vec<usize>, f: impl Fn(f32) -> f32) {
        let n = shape.iter().product();
        let data = (0..n).map(|_| f(self.next())).collect();
        self.sd.tensors.insert(
            name,
            Tensor {
                shape,
                data,
                storage: Storage::F32,
            },
        );
    }

    fn conv(&mut self, path: &str, cin: usize, cout: usize, k: usize) -> usize {
        let s = (3.0 / (cin * k * k) as f32).sqrt();
        self.tensor(format!("{path}.conv.weight"), vec![cout, cin, k, k], |u| {
            (2.0 * u - 1.0) * s
        });
        self.tensor(format!("{path}.bn.weight"), vec![cout], |u| 0.5 + u);
        self.tensor(format!("{path}.bn.bias"), vec![cout], |u| 0.4 * u - 0.2);
        self.tensor(format!("{path}.bn.running_mean"), vec![cout], |u| {
            0.4 * u - 0.2
        });
        self.tensor(format!("{path}.bn.running_var"), vec![cout], |u| {
            0.5 + 1.5 * u
        });
        cout
    }

    fn plain(&mut self, path: &str, cin: usize, cout: usize) {
        let s = (3.0 / cin as f32).sqrt();
        self.tensor(format!("{path}.weight"), vec![cout, cin, 1, 1], |u| {
            (2.0 * u - 1.0) * s
        });
        self.tensor(format!("{path}.bias"), vec![cout], |u| u - 0.5);
    }

    fn c2f(&mut self, path: &str, cin: usize, cout: usize, n: usize) -> usize {
        let c = cout / 2;
        self.conv(&format!("{path}.cv1"), cin, 2 * c, 1);
        for k in 0..n {
            self.conv(&format!("{path}.m.{k}.cv1"), c, c, 3);
            self.conv(&format!("{path}.m.{k}.cv2"), c, c, 3);
        }
        self.conv(&format!("{path}.cv2"), (2 + n) * c, cout, 1)
    }
}

/// A random yolov8`scale` (n, s, m, l or x) with `nc` classes.
pub fn random_model(scale: char, nc: usize, seed: u64) -> YoloModel {
    yolo::build(
        &format!("yolov8{scale}-random"),
        &random_state_dict(scale, nc, seed),
    )
    .expect("a random model builds")
}

/// Writes [`random_state_dict`] as a `.safetensors` file (f32), a checkpoint any door takes
/// (the GPU kit times a whole detection call with it).
pub fn write_random_checkpoint(
    path: &std::path::Path,
    scale: char,
    nc: usize,
    seed: u64,
) -> Result<(), String> {
    let sd = random_state_dict(scale, nc, seed);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = sd
        .tensors
        .iter()
        .map(|(k, t)| {
            (
                k.clone(),
                t.shape.clone(),
                t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(k, shape, b)| {
            ::safetensors::tensor::TensorView::new(::safetensors::Dtype::F32, shape.clone(), b)
                .map(|v| (k.clone(), v))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    ::safetensors::tensor::serialize_to_file(views, None, path).map_err(|e| e.to_string())
}

/// The state dict of a random yolov8`scale` with `nc` classes, named as ultralytics names it.
pub fn random_state_dict(scale: char, nc: usize, seed: u64) -> StateDict {
    let (depth, width, max_ch) = scale_factors(scale).expect("a yolov8 scale: n, s, m, l or x");
    let ch = |c: usize| ((c.min(max_ch) as f64 * width / 8.0).ceil() * 8.0) as usize;
    let reps = |n: usize| ((n as f64 * depth).round() as usize).max(1);
    let mut g = Gen {
        state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        sd: StateDict::default(),
    };
    let mut out: Vec<usize> = Vec::new();
    let mut cin = 3;
    for (i, l) in [
        ("conv", 64, 0),
        ("conv", 128, 0),
        ("c2f", 128, 3),
        ("conv", 256, 0),
        ("c2f", 256, 6),
        ("conv", 512, 0),
        ("c2f", 512, 6),
        ("conv", 1024, 0),
        ("c2f", 1024, 3),
        ("sppf", 1024, 0),
        ("up", 0, 0),
        ("cat", 6, 0),
        ("c2f", 512, 3),
        ("up", 0, 0),
        ("cat", 4, 0),
        ("c2f", 256, 3),
        ("conv", 256, 0),
        ("cat", 12, 0),
        ("c2f", 512, 3),
        ("conv", 512, 0),
        ("cat", 9, 0),
        ("c2f", 1024, 3),
    ]
    .into_iter()
    .enumerate()
    {
        let p = format!("model.{i}");
        let c = match l {
            ("conv", c, _) => g.conv(&p, cin, ch(c), 3),
            ("c2f", c, n) => g.c2f(&p, cin, ch(c), reps(n)),
            ("sppf", c, _) => {
                let half = cin / 2;
                g.conv(&format!("{p}.cv1"), cin, half, 1);
                g.conv(&format!("{p}.cv2"), 4 * half, ch(c), 1)
            }
            ("up", _, _) => cin,
            (_, other, _) => cin + out[other],
        };
        out.push(c);
        cin = c;
    }
    let chs = [out[15], out[18], out[21]];
    let c2 = 16.max(chs[0] / 4).max(4 * yolo::REG_MAX);
    let c3 = chs[0].max(nc.min(100));
    for (l, x) in chs.iter().enumerate() {
        for (branch, mid, last) in [("cv2", c2, 4 * yolo::REG_MAX), ("cv3", c3, nc)] {
            let p = format!("model.22.{branch}.{l}");
            g.conv(&format!("{p}.0"), *x, mid, 3);
            g.conv(&format!("{p}.1"), mid, mid, 3);
            g.plain(&format!("{p}.2"), mid, last);
        }
    }
    g.sd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_models_have_ultralytics_sizes() {
        // ultralytics' own figures: yolov8n 8.7 and yolov8x 257.8 GFLOP at 640x640
        for (s, gflop) in [('n', 8.7), ('x', 257.8)] {
            let m = random_model(s, 80, 1);
            assert_eq!(m.scale, format!("yolov8{s}"));
            let g = m.flops(640, 640) / 1e9;
            assert!((g - gflop).abs() / gflop < 0.02, "yolov8{s}: {g} GFLOP");
        }
    }

    #[test]
    fn a_written_checkpoint_loads_as_the_same_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("yolov8n-random.safetensors");
        write_random_checkpoint(&path, 'n', 3, 9).unwrap();
        let loaded = yolo::load(&path).unwrap();
        let made = random_model('n', 3, 9);
        assert!(loaded.layers == made.layers && loaded.head == made.head);
    }
}
