//! An ultralytics YOLOv8 detection model (contract §16) from the operator's checkpoint: the
//! `.pt` itself ([`super::torch_pt`]) or a `.safetensors` state dict with the same names. The
//! layers are YOLOv8's fixed graph (backbone 0–9, neck 10–21, `Detect` 22); the scale (n, s,
//! m, l, x, or any other width and depth) and the number of classes come from the tensors'
//! shapes, every one checked against the layer that reads it. Batch norms are folded into
//! their convolutions with their own eps (1e-3 in YOLOv8; a state dict has none, so 1e-3).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::torch_pt::{Attr, StateDict, Tensor};
use super::{ModelError, Storage};

/// `REELGPU_DETECT_MODEL` names the detection checkpoint (`yolov8x.pt`, or a `.safetensors`).
pub const DETECT_MODEL_ENV: &str = "REELGPU_DETECT_MODEL";

/// The DFL bins per box side.
pub const REG_MAX: usize = 16;
/// Pixels per cell of the three detection levels (P3, P4, P5).
pub const STRIDES: [usize; 3] = [8, 16, 32];
/// Batch-norm eps where the file does not say (YOLOv8's).
pub const DEFAULT_EPS: f64 = 1e-3;

/// A convolution with its batch norm folded in: weights `[out][in][k][k]`, a bias, SiLU after
/// it unless it is one of the head's last (plain) convolutions. Padding `k / 2`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvUnit {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub silu: bool,
}

impl ConvUnit {
    pub fn w(&self, o: usize, i: usize, ky: usize, kx: usize) -> f32 {
        self.weight[((o * self.cin + i) * self.k + ky) * self.k + kx]
    }

    /// Multiply-adds ×2 for an output of `w × h`.
    pub fn flops(&self, w: usize, h: usize) -> f64 {
        2.0 * (self.cin * self.cout * self.k * self.k * w * h) as f64
    }
}

/// C2f: a 1×1 to `2c`, split in halves, `n` bottlenecks on the last half (two 3×3, plus
/// their input when `shortcut`), all halves concatenated, a 1×1 out.
#[derive(Debug, Clone, PartialEq)]
pub struct C2f {
    pub c: usize,
    pub cv1: ConvUnit,
    pub m: Vec<[ConvUnit; 2]>,
    pub shortcut: bool,
    pub cv2: ConvUnit,
}

/// SPPF: a 1×1 to half, three 5×5 max-pools (stride 1, −inf padding), the four concatenated,
/// a 1×1 out.
#[derive(Debug, Clone, PartialEq)]
pub struct Sppf {
    pub cv1: ConvUnit,
    pub cv2: ConvUnit,
}

/// One layer of the graph.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    Conv(ConvUnit),
    C2f(C2f),
    Sppf(Sppf),
    /// Nearest ×2.
    Upsample,
    /// The previous layer's output, then layer `.0`'s (channel order).
    Concat(usize),
    Detect,
}

/// One level of the head: the box branch (3×3, 3×3, plain 1×1 to `4·16`) and the class
/// branch (3×3, 3×3, plain 1×1 to `nc`).
#[derive(Debug, Clone, PartialEq)]
pub struct HeadLevel {
    pub boxes: [ConvUnit; 3],
    pub classes: [ConvUnit; 3],
}

/// The whole detector.
#[derive(Debug, Clone, PartialEq)]
pub struct YoloModel {
    /// The file's name without its extension.
    pub name: String,
    /// `yolov8x`-style, from the first layer's width and the first C2f's depth (`yolov8?`
    /// for a width no official scale has).
    pub scale: String,
    pub nc: usize,
    /// Class names when the checkpoint has them (else `class<i>`).
    pub class_names: Vec<String>,
    /// Layers 0–21; layer 22 is [`Layer::Detect`] with [`Self::head`].
    pub layers: Vec<Layer>,
    pub head: Vec<HeadLevel>,
    pub storage: Storage,
}

/// The layers whose outputs feed the head (P3, P4, P5).
pub const HEAD_FROM: [usize; 3] = [15, 18, 21];

/// What each layer of YOLOv8's graph is: (kind, stride of a Conv, other input of a Concat).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Conv(usize),
    C2f(bool),
    Sppf,
    Upsample,
    Concat(usize),
}

const GRAPH: [Kind; 22] = [
    Kind::Conv(2),
    Kind::Conv(2),
    Kind::C2f(true),
    Kind::Conv(2),
    Kind::C2f(true),
    Kind::Conv(2),
    Kind::C2f(true),
    Kind::Conv(2),
    Kind::C2f(true),
    Kind::Sppf,
    Kind::Upsample,
    Kind::Concat(6),
    Kind::C2f(false),
    Kind::Upsample,
    Kind::Concat(4),
    Kind::C2f(false),
    Kind::Conv(2),
    Kind::Concat(12),
    Kind::C2f(false),
    Kind::Conv(2),
    Kind::Concat(9),
    Kind::C2f(false),
];

/// The model `REELGPU_DETECT_MODEL` names, if set.
pub fn model_path() -> Option<PathBuf> {
    std::env::var_os(DETECT_MODEL_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Loads a YOLOv8 detection model from a `.pt` checkpoint or a `.safetensors` state dict.
pub fn load(path: &Path) -> Result<YoloModel, ModelError> {
    let sd = match path.extension().and_then(|e| e.to_str()) {
        Some("pt") | Some("pth") => super::torch_pt::load(path)?,
        Some("safetensors") => super::safetensors::state_dict(path)?,
        _ => {
            return Err(ModelError::new(
                path,
                "must be an ultralytics YOLOv8 detection checkpoint (.pt) or its state dict \
                 as .safetensors",
            ));
        }
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    build(&name, &sd).map_err(|m| {
        ModelError::new(
            path,
            format!("{m} (an ultralytics YOLOv8 detection model was expected)"),
        )
    })
}

struct Source<'a> {
    sd: &'a StateDict,
    storage: Option<Storage>,
}

impl Source<'_> {
    fn tensor(&mut self, name: &str, shape: &[Option<usize>]) -> Result<&Tensor, String> {
        let t = self
            .sd
            .tensors
            .get(name)
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        let fits = t.shape.len() == shape.len()
            && t.shape
                .iter()
                .zip(shape)
                .all(|(a, b)| b.is_none_or(|b| *a == b));
        if !fits || t.data.len() != t.shape.iter().product::<usize>() {
            let want: Vec<String> = shape
                .iter()
                .map(|d| d.map_or("_".to_string(), |d| d.to_string()))
                .collect();
            return Err(format!(
                "tensor {name}: shape {:?}, expected [{}]",
                t.shape,
                want.join(", ")
            ));
        }
        if t.data.iter().any(|v| !v.is_finite()) {
            return Err(format!("tensor {name} holds NaN or infinite values"));
        }
        if !name.ends_with("running_mean") && !name.ends_with("running_var") {
            self.storage = Some(match (self.storage, t.storage) {
                (Some(Storage::F32), _) | (_, Storage::F32) => Storage::F32,
                _ => Storage::F16,
            });
        }
        Ok(t)
    }

    fn eps(&self, bn: &str) -> Result<f64, String> {
        match self.sd.attrs.get(&format!("{bn}.eps")) {
            None => Ok(DEFAULT_EPS),
            Some(Attr::Float(e)) if *e > 0.0 && e.is_finite() => Ok(*e),
            Some(other) => Err(format!("{bn}.eps is {other:?}, not a positive number")),
        }
    }

    /// ultralytics `Conv` at `path` (conv + BN + SiLU), or an already fused one (conv with a
    /// bias, no BN). `cin` is what the previous layer gives.
    fn conv(&mut self, path: &str, cin: usize, stride: usize) -> Result<ConvUnit, String> {
        let wname = format!("{path}.conv.weight");
        let (cout, k, weight) = {
            let w = self.tensor(&wname, &[None, Some(cin), None, None])?;
            let (cout, k) = (w.shape[0], w.shape[2]);
            if w.shape[3] != k || (k != 1 && k != 3) || cout == 0 {
                return Err(format!(
                    "tensor {wname}: shape {:?}, a 1x1 or 3x3 convolution expected",
                    w.shape
                ));
            }
            (cout, k, w.data.clone())
        };
        if let Some(Attr::Ints(s)) = self.sd.attrs.get(&format!("{path}.conv.stride"))
            && s.iter().any(|x| *x != stride as i64)
        {
            return Err(format!(
                "{path}.conv has stride {s:?}, YOLOv8 has {stride} here"
            ));
        }
        let bn = format!("{path}.bn");
        let mut unit = ConvUnit {
            cin,
            cout,
            k,
            stride,
            weight,
            bias: vec![0.0; cout],
            silu: true,
        };
        if self.sd.tensors.contains_key(&format!("{bn}.weight")) {
            let eps = self.eps(&bn)?;
            let one = [Some(cout)];
            let g = self.tensor(&format!("{bn}.weight"), &one)?.data.clone();
            let b = self.tensor(&format!("{bn}.bias"), &one)?.data.clone();
            let mean = self
                .tensor(&format!("{bn}.running_mean"), &one)?
                .data
                .clone();
            let var = self
                .tensor(&format!("{bn}.running_var"), &one)?
                .data
                .clone();
            fold(&mut unit, &g, &b, &mean, &var, eps);
        } else {
            let bias = self
                .tensor(&format!("{path}.conv.bias"), &[Some(cout)])
                .map_err(|_| format!("tensor {bn}.weight is missing (nor is {path}.conv a fused convolution with a bias)"))?;
            unit.bias = bias.data.clone();
        }
        Ok(unit)
    }

    /// A plain `nn.Conv2d` with a bias (the head's last convolutions).
    fn plain(&mut self, path: &str, cin: usize, cout: Option<usize>) -> Result<ConvUnit, String> {
        let w = self.tensor(
            &format!("{path}.weight"),
            &[cout, Some(cin), Some(1), Some(1)],
        )?;
        let (cout, weight) = (w.shape[0], w.data.clone());
        let bias = self
            .tensor(&format!("{path}.bias"), &[Some(cout)])?
            .data
            .clone();
        Ok(ConvUnit {
            cin,
            cout,
            k: 1,
            stride: 1,
            weight,
            bias,
            silu: false,
        })
    }

    fn c2f(&mut self, path: &str, cin: usize, shortcut: bool) -> Result<C2f, String> {
        let cv1 = self.conv(&format!("{path}.cv1"), cin, 1)?;
        if cv1.k != 1 || cv1.cout % 2 != 0 {
            return Err(format!(
                "{path}.cv1: a 1x1 convolution to an even number of channels expected"
            ));
        }
        let c = cv1.cout / 2;
        let mut m = Vec::new();
        while self
            .sd
            .tensors
            .contains_key(&format!("{path}.m.{}.cv1.conv.weight", m.len()))
        {
            let b = format!("{path}.m.{}", m.len());
            let a = self.conv(&format!("{b}.cv1"), c, 1)?;
            let z = self.conv(&format!("{b}.cv2"), a.cout, 1)?;
            if a.k != 3 || z.k != 3 || z.cout != c {
                return Err(format!(
                    "{b}: a bottleneck of two 3x3 convolutions {c} -> {c} expected"
                ));
            }
            if let Some(Attr::Bool(add)) = self.sd.attrs.get(&format!("{b}.add"))
                && *add != shortcut
            {
                return Err(format!(
                    "{b}: shortcut {add}, YOLOv8 has {shortcut} in layer {path}"
                ));
            }
            m.push([a, z]);
        }
        if m.is_empty() {
            return Err(format!("tensor {path}.m.0.cv1.conv.weight is missing"));
        }
        let cv2 = self.conv(&format!("{path}.cv2"), (2 + m.len()) * c, 1)?;
        if cv2.k != 1 {
            return Err(format!("{path}.cv2: a 1x1 convolution expected"));
        }
        Ok(C2f {
            c,
            cv1,
            m,
            shortcut,
            cv2,
        })
    }
}

/// Folds a batch norm into `unit` (in f64, then rounded to f32).
fn fold(unit: &mut ConvUnit, g: &[f32], b: &[f32], mean: &[f32], var: &[f32], eps: f64) {
    let per_out = unit.cin * unit.k * unit.k;
    for o in 0..unit.cout {
        let s = g[o] as f64 / (var[o] as f64 + eps).sqrt();
        for w in &mut unit.weight[o * per_out..(o + 1) * per_out] {
            *w = (*w as f64 * s) as f32;
        }
        unit.bias[o] = (b[o] as f64 - mean[o] as f64 * s) as f32;
    }
}

fn class_of<'a>(sd: &'a StateDict, path: &str) -> Option<&'a str> {
    sd.classes.get(path).map(|(_, c)| c.as_str())
}

/// Builds the model from a state dict (names as ultralytics' `state_dict()`).
pub fn build(name: &str, sd: &StateDict) -> Result<YoloModel, String> {
    // what the checkpoint says it is, when it says
    if let Some(c) = class_of(sd, "")
        && c != "DetectionModel"
    {
        return Err(format!("the checkpoint holds a {c}"));
    }
    if let Some(c) = class_of(sd, "model.22")
        && c != "Detect"
    {
        return Err(format!(
            "layer 22 is {c} (a model of another task: segmentation, pose or oriented boxes)"
        ));
    }
    for other in ["proto", "cv4"] {
        if sd
            .tensors
            .keys()
            .any(|k| k.starts_with(&format!("model.22.{other}.")))
        {
            return Err(format!(
                "tensors model.22.{other}.* belong to a segmentation or pose head"
            ));
        }
    }
    if !sd.tensors.contains_key("model.0.conv.weight") {
        return Err("tensor model.0.conv.weight is missing".into());
    }
    if let Some(extra) = sd.tensors.keys().find(|k| {
        k.strip_prefix("model.")
            .and_then(|r| r.split('.').next())
            .and_then(|i| i.parse::<usize>().ok())
            .is_none_or(|i| i > 22)
    }) {
        return Err(format!(
            "tensor {extra} is not part of YOLOv8's layers 0-22"
        ));
    }
    let mut src = Source { sd, storage: None };
    let mut layers = Vec::with_capacity(22);
    let mut channels = Vec::with_capacity(22);
    let mut cin = 3usize;
    for (i, kind) in GRAPH.iter().enumerate() {
        let path = format!("model.{i}");
        let (layer, cout) = match *kind {
            Kind::Conv(s) => {
                let c = src.conv(&path, cin, s)?;
                if c.k != 3 {
                    return Err(format!("{path}: a 3x3 stride-{s} convolution expected"));
                }
                let co = c.cout;
                (Layer::Conv(c), co)
            }
            Kind::C2f(shortcut) => {
                let c = src.c2f(&path, cin, shortcut)?;
                let co = c.cv2.cout;
                (Layer::C2f(c), co)
            }
            Kind::Sppf => {
                let cv1 = src.conv(&format!("{path}.cv1"), cin, 1)?;
                let cv2 = src.conv(&format!("{path}.cv2"), 4 * cv1.cout, 1)?;
                if cv1.k != 1 || cv2.k != 1 {
                    return Err(format!("{path}: SPPF's 1x1 convolutions expected"));
                }
                if let Some(Attr::Int(k)) = sd.attrs.get(&format!("{path}.m.kernel_size"))
                    && *k != 5
                {
                    return Err(format!("{path}: max-pool {k}, YOLOv8's SPPF pools 5x5"));
                }
                let co = cv2.cout;
                (Layer::Sppf(Sppf { cv1, cv2 }), co)
            }
            Kind::Upsample => (Layer::Upsample, cin),
            Kind::Concat(other) => (Layer::Concat(other), cin + channels[other]),
        };
        layers.push(layer);
        channels.push(cout);
        cin = cout;
    }
    // the head
    if let Some(Attr::Int(r)) = sd.attrs.get("model.22.reg_max")
        && *r as usize != REG_MAX
    {
        return Err(format!("model.22.reg_max is {r}, YOLOv8 has {REG_MAX}"));
    }
    if let Some(Attr::Tensor(t)) = sd.attrs.get("model.22.stride")
        && !t.data.is_empty()
        && t.data != [8.0, 16.0, 32.0]
    {
        return Err(format!(
            "model.22.stride is {:?}, YOLOv8's P3-P5 head has [8, 16, 32]",
            t.data
        ));
    }
    let mut head = Vec::with_capacity(3);
    let mut nc = None;
    for (l, from) in HEAD_FROM.iter().enumerate() {
        let x = channels[*from];
        let b = format!("model.22.cv2.{l}");
        let c = format!("model.22.cv3.{l}");
        let b0 = src.conv(&format!("{b}.0"), x, 1)?;
        let b1 = src.conv(&format!("{b}.1"), b0.cout, 1)?;
        let b2 = src.plain(&format!("{b}.2"), b1.cout, Some(4 * REG_MAX))?;
        let c0 = src.conv(&format!("{c}.0"), x, 1)?;
        let c1 = src.conv(&format!("{c}.1"), c0.cout, 1)?;
        let c2 = src.plain(&format!("{c}.2"), c1.cout, nc)?;
        if [&b0, &b1, &c0, &c1].iter().any(|u| u.k != 3) {
            return Err(format!("model.22 level {l}: 3x3 convolutions expected"));
        }
        nc = Some(c2.cout);
        head.push(HeadLevel {
            boxes: [b0, b1, b2],
            classes: [c0, c1, c2],
        });
    }
    let nc = nc.expect("three levels");
    if let Some(Attr::Int(n)) = sd.attrs.get("model.22.nc")
        && *n as usize != nc
    {
        return Err(format!(
            "model.22.nc is {n} but its class convolutions have {nc} outputs"
        ));
    }
    if let Some(dfl) = sd.tensors.get("model.22.dfl.conv.weight") {
        let arange: Vec<f32> = (0..REG_MAX).map(|i| i as f32).collect();
        if dfl.data != arange {
            return Err("tensor model.22.dfl.conv.weight is not DFL's 0..15".into());
        }
    }
    let scale = scale_name(&layers);
    Ok(YoloModel {
        name: name.to_string(),
        scale,
        nc,
        class_names: class_names(sd, nc),
        layers,
        head,
        storage: src.storage.unwrap_or(Storage::F32),
    })
}

fn scale_name(layers: &[Layer]) -> String {
    let (Layer::Conv(c0), Layer::C2f(c2)) = (&layers[0], &layers[2]) else {
        return "yolov8?".into();
    };
    let s = match (c0.cout, c2.m.len()) {
        (16, 1) => "n",
        (32, 1) => "s",
        (48, 2) => "m",
        (64, 3) => "l",
        (80, 3) => "x",
        _ => "?",
    };
    format!("yolov8{s}")
}

/// `names` of the checkpoint's model (`{0: 'person', ...}` is pickled as a dict, which the
/// reader does not keep as an attribute), else `class<i>`.
fn class_names(sd: &StateDict, nc: usize) -> Vec<String> {
    let known: BTreeMap<usize, String> = sd
        .attrs
        .iter()
        .filter_map(|(k, v)| {
            let i = k.strip_prefix("names.")?.parse().ok()?;
            match v {
                Attr::Str(s) => Some((i, s.clone())),
                _ => None,
            }
        })
        .collect();
    (0..nc)
        .map(|i| {
            known
                .get(&i)
                .cloned()
                .unwrap_or_else(|| format!("class{i}"))
        })
        .collect()
}

impl YoloModel {
    /// The output channels of every layer 0–21.
    pub fn channels(&self) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let prev = out.last().copied().unwrap_or(3);
            out.push(match l {
                Layer::Conv(c) => c.cout,
                Layer::C2f(c) => c.cv2.cout,
                Layer::Sppf(s) => s.cv2.cout,
                Layer::Upsample | Layer::Detect => prev,
                Layer::Concat(o) => prev + out[*o],
            });
        }
        out
    }

    /// Multiply-adds ×2 of one `w × h` input (a multiple of 32 each way).
    pub fn flops(&self, w: usize, h: usize) -> f64 {
        let mut total = 0.0;
        let mut size = (w, h);
        let mut sizes = Vec::new();
        for l in &self.layers {
            match l {
                Layer::Conv(c) => {
                    size = (size.0.div_ceil(c.stride), size.1.div_ceil(c.stride));
                    total += c.flops(size.0, size.1);
                }
                Layer::C2f(c) => {
                    total += c.cv1.flops(size.0, size.1) + c.cv2.flops(size.0, size.1);
                    for [a, b] in &c.m {
                        total += a.flops(size.0, size.1) + b.flops(size.0, size.1);
                    }
                }
                Layer::Sppf(s) => {
                    total += s.cv1.flops(size.0, size.1) + s.cv2.flops(size.0, size.1)
                }
                Layer::Upsample => size = (size.0 * 2, size.1 * 2),
                Layer::Concat(_) | Layer::Detect => {}
            }
            sizes.push(size);
        }
        for (l, from) in self.head.iter().zip(HEAD_FROM) {
            let (w, h) = sizes[from];
            for u in l.boxes.iter().chain(&l.classes) {
                total += u.flops(w, h);
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_matches_the_batch_norm_it_replaces() {
        let mut u = ConvUnit {
            cin: 1,
            cout: 2,
            k: 1,
            stride: 1,
            weight: vec![2.0, -1.0],
            bias: vec![0.0; 2],
            silu: true,
        };
        fold(
            &mut u,
            &[1.5, 0.5],
            &[0.25, -1.0],
            &[0.1, 0.3],
            &[4.0, 0.25],
            1e-3,
        );
        for (o, x) in [(0usize, 3.0f64), (1, -2.0)] {
            let (g, b, m, v) = [(1.5, 0.25, 0.1, 4.0), (0.5, -1.0, 0.3, 0.25)][o];
            let conv = [2.0, -1.0][o] * x;
            let want = g * (conv - m) / (v + 1e-3f64).sqrt() + b;
            let got = u.weight[o] as f64 * x + u.bias[o] as f64;
            assert!((want - got).abs() < 1e-5, "{want} {got}");
        }
    }
}
