//! A PyTorch checkpoint (`torch.save`'s zip: `<name>/data.pkl` and one `<name>/data/<key>`
//! per storage) read without Python and without running any of its pickle: the pickle is
//! replayed into values ([`super::pickle`]), and the module tree under the checkpoint's
//! model (ultralytics keeps the whole `nn.Module` object, `ema` before `model`) is walked
//! through each module's `_modules`, `_parameters` and `_buffers`, as `state_dict()` would
//! name them (`model.0.conv.weight`), with each module's class and its plain attributes
//! (a batch norm's `eps`, a convolution's `stride`, a bottleneck's `add`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::pickle::{self, Node, Pickle, Value};
use super::{ModelError, Storage};

/// A tensor in f32, with the type it was stored in.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
    pub storage: Storage,
}

/// A plain attribute of a module.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Float(f64),
    Int(i64),
    Bool(bool),
    Ints(Vec<i64>),
    Str(String),
    /// A tensor that is an attribute, not a parameter or buffer (ultralytics' `Detect.stride`).
    Tensor(Tensor),
}

/// Named tensors, and (from a checkpoint) each module's class and attributes by dotted path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateDict {
    pub tensors: BTreeMap<String, Tensor>,
    /// Module path (`model.22`) to `(python module, class)`; the root is `""`.
    pub classes: BTreeMap<String, (String, String)>,
    /// `path.attr` (`model.0.bn.eps`) to its value.
    pub attrs: BTreeMap<String, Attr>,
}

/// The most module nesting followed (ultralytics' models nest 6 deep).
const MAX_DEPTH: usize = 32;
/// The most bytes a checkpoint's pickle may have (a yolov8x's is about 100 KB).
pub const MAX_PICKLE_BYTES: u64 = 64 << 20;

/// Reads the checkpoint at `path`.
pub fn load(path: &Path) -> Result<StateDict, ModelError> {
    let file = std::fs::File::open(path).map_err(|e| ModelError::new(path, e.to_string()))?;
    let file_len = file
        .metadata()
        .map_err(|e| ModelError::new(path, e.to_string()))?
        .len();
    let mut zip = zip::ZipArchive::new(file).map_err(|e| {
        ModelError::new(
            path,
            format!("not a PyTorch checkpoint (torch.save's zip was expected): {e}"),
        )
    })?;
    read_zip(&mut zip, file_len).map_err(|m| ModelError::new(path, m))
}

/// Reads a checkpoint held in memory (the fuzz target's way in).
pub fn from_bytes(bytes: &[u8]) -> Result<StateDict, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a PyTorch checkpoint (torch.save's zip was expected): {e}"))?;
    read_zip(&mut zip, bytes.len() as u64)
}

/// `file_len` bounds every size the zip's headers state (no entry holds more than the file).
fn read_zip<R: std::io::Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    file_len: u64,
) -> Result<StateDict, String> {
    let pkl_name = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .find(|n| n == "data.pkl" || n.ends_with("/data.pkl"))
        .ok_or("the zip has no data.pkl: not a PyTorch checkpoint")?;
    let prefix = pkl_name.trim_end_matches("data.pkl").to_string();
    let bytes = read_entry(zip, &pkl_name, MAX_PICKLE_BYTES.min(file_len))?;
    let p = pickle::read(&bytes).map_err(|e| format!("{pkl_name}: {e}"))?;
    let stored: u64 = (0..zip.len())
        .filter_map(|i| zip.by_index_raw(i).ok().map(|e| e.size().min(file_len)))
        .sum::<u64>()
        .min(file_len);
    let mut reader = Reader {
        p: &p,
        zip,
        prefix,
        out: StateDict::default(),
        file_len,
        storages: Default::default(),
        decoded: 0,
        // f16 values become f32: twice the stored bytes, and some slack for small views
        budget: 2 * stored as usize + (1 << 20),
    };
    // ultralytics: the EMA weights when the checkpoint has them, else the model
    let model = ["ema", "model"]
        .iter()
        .filter_map(|k| p.get(p.root, k))
        .find(|v| *v != Value::None)
        .or_else(|| matches!(p.node(p.root), Some(Node::Call { .. })).then_some(p.root))
        .ok_or("the checkpoint holds no model object (no 'ema' or 'model' entry)")?;
    reader.module(model, "", 0)?;
    Ok(reader.out)
}

fn read_entry<R: std::io::Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, String> {
    let entry = zip
        .by_name(name)
        .map_err(|e| format!("zip entry {name}: {e}"))?;
    if entry.size() > limit {
        return Err(format!(
            "zip entry {name}: {} bytes (at most {limit})",
            entry.size()
        ));
    }
    let mut out = Vec::with_capacity(entry.size().min(limit) as usize);
    entry
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| format!("zip entry {name}: {e}"))?;
    Ok(out)
}

struct Reader<'a, R> {
    p: &'a Pickle,
    zip: &'a mut zip::ZipArchive<R>,
    prefix: String,
    out: StateDict,
    file_len: u64,
    /// Each storage's bytes, read once.
    storages: std::collections::HashMap<String, std::sync::Arc<Vec<u8>>>,
    /// Bytes of tensor values decoded so far, and the most allowed: a checkpoint's tensors
    /// cover its storages about once, never many times over.
    decoded: usize,
    budget: usize,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

impl<R: std::io::Read + std::io::Seek> Reader<'_, R> {
    fn module(&mut self, obj: Value, path: &str, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("module {path}: nested more than {MAX_DEPTH} deep"));
        }
        let p = self.p;
        let Some(Node::Call {
            callable, state, ..
        }) = p.node(obj)
        else {
            return Err(format!(
                "module {}: not a pickled object",
                if path.is_empty() { "(root)" } else { path }
            ));
        };
        if let Some((m, c)) = p.global(*callable) {
            self.out
                .classes
                .insert(path.to_string(), (m.to_string(), c.to_string()));
        }
        for (key, value) in p.entries(*state) {
            match key {
                "_parameters" | "_buffers" => {
                    for (name, t) in p.entries(value) {
                        if t == Value::None {
                            continue;
                        }
                        let full = join(path, name);
                        let tensor = self.tensor(t).map_err(|e| format!("tensor {full}: {e}"))?;
                        self.out.tensors.insert(full, tensor);
                    }
                }
                "_modules" => {
                    for (name, m) in p.entries(value) {
                        if m != Value::None {
                            self.module(m, &join(path, name), depth + 1)?;
                        }
                    }
                }
                _ => {
                    let attr = match value {
                        Value::Float(f) => Some(Attr::Float(f)),
                        Value::Int(i) => Some(Attr::Int(i)),
                        Value::Bool(b) => Some(Attr::Bool(b)),
                        v => match p.node(v) {
                            Some(Node::Str(s)) => Some(Attr::Str(s.clone())),
                            // `names = {0: 'person', ...}`: one `names.<i>` each
                            Some(Node::Dict(items)) => {
                                for (k, v) in items {
                                    if let (Value::Int(i), Some(s)) = (k, p.str(*v)) {
                                        self.out.attrs.insert(
                                            format!("{}.{i}", join(path, key)),
                                            Attr::Str(s.to_string()),
                                        );
                                    }
                                }
                                None
                            }
                            Some(Node::Tuple(_)) | Some(Node::List(_)) => p.ints(v).map(Attr::Ints),
                            Some(Node::Call { callable, .. })
                                if p.global(*callable).is_some_and(|(_, n)| {
                                    n == "_rebuild_tensor_v2" || n == "_rebuild_parameter"
                                }) =>
                            {
                                let full = join(path, key);
                                Some(Attr::Tensor(
                                    self.tensor(v).map_err(|e| format!("tensor {full}: {e}"))?,
                                ))
                            }
                            _ => None,
                        },
                    };
                    if let Some(a) = attr {
                        self.out.attrs.insert(join(path, key), a);
                    }
                }
            }
        }
        Ok(())
    }

    /// A `_rebuild_tensor_v2(storage, offset, size, stride, ...)` (or a parameter around one),
    /// its values read from the storage's zip entry.
    fn tensor(&mut self, v: Value) -> Result<Tensor, String> {
        let p = self.p;
        let Some(Node::Call { callable, args, .. }) = p.node(v) else {
            return Err("not a tensor".into());
        };
        match p.global(*callable) {
            Some(("torch._utils", "_rebuild_parameter")) => {
                let inner = *args.first().ok_or("a parameter without its tensor")?;
                return self.tensor(inner);
            }
            Some(("torch._utils", "_rebuild_tensor_v2")) => {}
            Some((m, n)) => return Err(format!("built by {m}.{n}, not a plain tensor")),
            None => return Err("not a tensor".into()),
        }
        let [storage, offset, size, stride, ..] = args.as_slice() else {
            return Err("_rebuild_tensor_v2 with fewer than 4 arguments".into());
        };
        let Some(Node::Persistent(id)) = p.node(*storage) else {
            return Err("its storage is not a persistent id".into());
        };
        let id = p.items(*id).ok_or("its storage id is not a tuple")?;
        let [_, class, key, _, ..] = id else {
            return Err("its storage id has fewer than 4 fields".into());
        };
        let (_, class) = p.global(*class).ok_or("its storage has no type")?;
        let (elem, storage_kind) = match class {
            "HalfStorage" => (2usize, Storage::F16),
            "FloatStorage" => (4, Storage::F32),
            "BFloat16Storage" => (2, Storage::F16),
            // num_batches_tracked and the like: integers, not weights
            "LongStorage" | "IntStorage" => {
                return Ok(Tensor {
                    shape: p
                        .ints(*size)
                        .unwrap_or_default()
                        .iter()
                        .map(|x| *x as usize)
                        .collect(),
                    data: Vec::new(),
                    storage: Storage::F32,
                });
            }
            other => {
                return Err(format!(
                    "storage {other} (Half, BFloat16 or Float storages are read)"
                ));
            }
        };
        let key = p.str(*key).ok_or("its storage key is not a string")?;
        let offset = match offset {
            Value::Int(o) if *o >= 0 => *o as usize,
            _ => return Err("its storage offset is not a whole number ≥ 0".into()),
        };
        let size = p
            .ints(*size)
            .ok_or("its size is not a tuple of whole numbers")?;
        let stride = p
            .ints(*stride)
            .ok_or("its stride is not a tuple of whole numbers")?;
        if size.len() != stride.len() || size.iter().any(|s| *s < 0) {
            return Err(format!("size {size:?} with stride {stride:?}"));
        }
        let shape: Vec<usize> = size.iter().map(|s| *s as usize).collect();
        let numel = shape
            .iter()
            .try_fold(1usize, |a, s| a.checked_mul(*s))
            .ok_or("its size overflows")?;
        if stride.iter().any(|s| *s < 0) {
            return Err(format!("negative stride {stride:?}"));
        }
        // the furthest element a view reaches (a view need not be contiguous)
        let extent = if numel == 0 {
            0
        } else {
            size.iter()
                .zip(&stride)
                .try_fold(1usize, |a, (s, st)| {
                    (*s as usize - 1)
                        .checked_mul(*st as usize)
                        .and_then(|x| a.checked_add(x))
                })
                .ok_or("its extent overflows")?
        };
        let name = format!("{}data/{key}", self.prefix);
        let len = self
            .zip
            .by_name(&name)
            .map_err(|e| format!("storage {name}: {e}"))?
            .size()
            .min(self.file_len);
        let need = offset
            .checked_add(extent)
            .and_then(|n| n.checked_mul(elem))
            .ok_or("its extent overflows")?;
        if need as u64 > len {
            return Err(format!(
                "needs {need} bytes of storage {name}, which has {len}"
            ));
        }
        let decoded = numel.saturating_mul(4);
        self.decoded = self.decoded.saturating_add(decoded);
        if self.decoded > self.budget {
            return Err(format!(
                "its views decode to more than twice the checkpoint's {} stored bytes",
                self.budget / 2
            ));
        }
        let bytes = match self.storages.get(&name) {
            Some(b) => b.clone(),
            None => {
                let b = std::sync::Arc::new(read_entry(self.zip, &name, len)?);
                self.storages.insert(name.clone(), b.clone());
                b
            }
        };
        if bytes.len() < need {
            return Err(format!(
                "needs {need} bytes of storage {name}, which holds {}",
                bytes.len()
            ));
        }
        let raw = &bytes[offset * elem..need];
        let value = |i: usize| -> f32 {
            let c = &raw[i * elem..(i + 1) * elem];
            match class {
                "HalfStorage" => half::f16::from_le_bytes([c[0], c[1]]).to_f32(),
                "BFloat16Storage" => half::bf16::from_le_bytes([c[0], c[1]]).to_f32(),
                _ => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            }
        };
        // row-major order of the view, whatever its strides
        let mut data = Vec::with_capacity(numel);
        let mut at = vec![0usize; shape.len()];
        for _ in 0..numel {
            let pos: usize = at.iter().zip(&stride).map(|(i, s)| i * *s as usize).sum();
            data.push(value(pos));
            for d in (0..at.len()).rev() {
                at[d] += 1;
                if at[d] < shape[d] {
                    break;
                }
                at[d] = 0;
            }
        }
        Ok(Tensor {
            shape,
            data,
            storage: storage_kind,
        })
    }
}
