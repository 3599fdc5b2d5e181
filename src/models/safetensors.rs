//! SRVGGNetCompact from a `.safetensors` file (the `safetensors` crate): the state dict of
//! Real-ESRGAN's PyTorch model as its training code names it — `body.0` the first convolution,
//! `body.1` its PReLU, then convolution/PReLU pairs, the last `body.N` the convolution with
//! `3·s²` outputs — in f32 or f16. The app converts its `realesr-general-x4v3.pth` with the
//! one command in the README.

use std::path::Path;

use ::safetensors::{Dtype, SafeTensors};

use super::{Conv, ModelError, SrModel, Storage};

fn values(
    t: &::safetensors::tensor::TensorView,
    name: &str,
) -> Result<(Vec<f32>, Storage), String> {
    let d = t.data();
    match t.dtype() {
        Dtype::F32 => Ok((
            d.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Storage::F32,
        )),
        Dtype::F16 => Ok((
            d.chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Storage::F16,
        )),
        other => Err(format!(
            "tensor {name}: dtype {other:?} (F32 or F16 expected)"
        )),
    }
}

/// Loads a `.safetensors` SRVGGNetCompact.
pub fn load(path: &Path) -> Result<SrModel, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::new(path, e.to_string()))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| ModelError::new(path, format!("not a safetensors file: {e}")))?;
    build(path, &st).map_err(|m| ModelError::new(path, m))
}

fn build(path: &Path, st: &SafeTensors) -> Result<SrModel, String> {
    let get = |name: &str| st.tensor(name).ok();
    let mut convs = Vec::new();
    let mut storage = None;
    let mut in_ch = 3usize;
    let mut k = 0;
    while let Some(w) = get(&format!("body.{k}.weight")) {
        let name = format!("body.{k}.weight");
        let shape = w.shape().to_vec();
        if shape.len() != 4 || shape[1] != in_ch || shape[2] != 3 || shape[3] != 3 {
            return Err(format!(
                "tensor {name}: shape {shape:?}, expected [outputs, {in_ch}, 3, 3] (a 3x3 \
                 convolution reading the previous layer)"
            ));
        }
        let out = shape[0];
        let (weights, s) = values(&w, &name)?;
        if storage.is_some_and(|have| have != s) {
            return Err(format!("tensor {name}: mixes f16 and f32"));
        }
        storage = Some(s);
        let bname = format!("body.{k}.bias");
        let b = get(&bname).ok_or_else(|| format!("tensor {bname} is missing"))?;
        if b.shape() != [out] {
            return Err(format!(
                "tensor {bname}: shape {:?}, expected [{out}]",
                b.shape()
            ));
        }
        let (bias, _) = values(&b, &bname)?;
        let pname = format!("body.{}.weight", k + 1);
        let prelu = match get(&pname) {
            Some(p) if p.shape().len() == 1 => {
                let n = p.shape()[0];
                if n != 1 && n != out {
                    return Err(format!(
                        "tensor {pname}: {n} PReLU slopes, expected 1 or {out}"
                    ));
                }
                let (sl, _) = values(&p, &pname)?;
                k += 2;
                Some(if n == 1 { vec![sl[0]; out] } else { sl })
            }
            _ => {
                k += 1;
                None
            }
        };
        let last = prelu.is_none();
        convs.push(Conv {
            in_ch,
            out_ch: out,
            weights,
            bias,
            prelu,
        });
        in_ch = out;
        if last {
            break;
        }
    }
    if let Some(extra) = st.names().into_iter().find(|n| {
        n.strip_prefix("body.")
            .and_then(|r| r.split('.').next())
            .and_then(|i| i.parse::<usize>().ok())
            .is_none_or(|i| i >= k)
    }) {
        return Err(format!(
            "tensor {extra} is not part of an SRVGGNetCompact network (body.0 .. body.{})",
            k.saturating_sub(1)
        ));
    }
    let Some(last) = convs.last() else {
        return Err("no tensor body.0.weight: not an SRVGGNetCompact state dict".into());
    };
    let s = (1..=8).find(|s| 3 * s * s == last.out_ch).ok_or_else(|| {
        format!(
            "the last convolution has {} outputs: 3·s² for a scale s expected",
            last.out_ch
        )
    })?;
    if convs.len() < 2 {
        return Err("at least two convolutions are needed".into());
    }
    Ok(SrModel {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        scale: s,
        convs,
        storage: storage.unwrap_or(Storage::F32),
    })
}

/// Writes `model` as a `.safetensors` state dict in f32 (tests and conversions).
pub fn write(model: &SrModel, path: &Path) -> Result<(), String> {
    use ::safetensors::tensor::TensorView;
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let mut k = 0;
    for c in &model.convs {
        owned.push((
            format!("body.{k}.weight"),
            vec![c.out_ch, c.in_ch, 3, 3],
            bytes(&c.weights),
        ));
        owned.push((format!("body.{k}.bias"), vec![c.out_ch], bytes(&c.bias)));
        k += 1;
        if let Some(p) = &c.prelu {
            owned.push((format!("body.{k}.weight"), vec![p.len()], bytes(p)));
            k += 1;
        }
    }
    let views = owned
        .iter()
        .map(|(n, s, d)| Ok((n.clone(), TensorView::new(Dtype::F32, s.clone(), d)?)))
        .collect::<Result<Vec<_>, ::safetensors::SafeTensorError>>()
        .map_err(|e| e.to_string())?;
    let data = ::safetensors::serialize(views, None).map_err(|e| e.to_string())?;
    std::fs::write(path, data).map_err(|e| e.to_string())
}

/// Every tensor of a `.safetensors` file by name, in f32 (with the type each was stored in):
/// the state dict the YOLOv8 detector is built from ([`super::yolo`]).
pub fn state_dict(path: &Path) -> Result<super::torch_pt::StateDict, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::new(path, e.to_string()))?;
    state_dict_from_bytes(&bytes).map_err(|m| ModelError::new(path, m))
}

/// [`state_dict`] of bytes in memory.
pub fn state_dict_from_bytes(bytes: &[u8]) -> Result<super::torch_pt::StateDict, String> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| format!("not a safetensors file: {e}"))?;
    let mut out = super::torch_pt::StateDict::default();
    for (name, t) in st.tensors() {
        // integer buffers (num_batches_tracked) are not weights
        if matches!(t.dtype(), Dtype::I64 | Dtype::I32) {
            continue;
        }
        let (data, storage) = values(&t, &name)?;
        out.tensors.insert(
            name,
            super::torch_pt::Tensor {
                shape: t.shape().to_vec(),
                data,
                storage,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> SrModel {
        let conv = |i: usize, o: usize, prelu: bool| Conv {
            in_ch: i,
            out_ch: o,
            weights: (0..i * o * 9).map(|n| n as f32 / 1000.0).collect(),
            bias: (0..o).map(|n| n as f32).collect(),
            prelu: prelu.then(|| vec![0.25; o]),
        };
        SrModel {
            name: "m".into(),
            scale: 2,
            convs: vec![conv(3, 8, true), conv(8, 8, true), conv(8, 12, false)],
            storage: Storage::F32,
        }
    }

    #[test]
    fn a_state_dict_round_trips_and_bad_ones_name_the_tensor() {
        let dir = std::env::temp_dir().join(format!("reelgpu-st-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.safetensors");
        write(&model(), &p).unwrap();
        assert_eq!(load(&p).unwrap(), model());
        // a last convolution that is not 3·s² wide
        let mut m = model();
        m.convs[2].out_ch = 10;
        m.convs[2].weights.truncate(10 * 8 * 9);
        m.convs[2].bias.truncate(10);
        write(&m, &p).unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("m.safetensors") && e.contains("10 outputs"),
            "{e}"
        );
        // a convolution that does not read the previous layer
        let mut m = model();
        m.convs[1].in_ch = 4;
        m.convs[1].weights.truncate(8 * 4 * 9);
        write(&m, &p).unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("tensor body.2.weight: shape [8, 4, 3, 3], expected [outputs, 8, 3, 3]"),
            "{e}"
        );
        std::fs::write(&p, b"not one").unwrap();
        assert!(
            load(&p)
                .unwrap_err()
                .to_string()
                .contains("not a safetensors file")
        );
    }
}
