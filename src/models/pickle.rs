//! A pickle reader that executes nothing: the opcodes PyTorch's `torch.save` writes (protocols
//! 2–5) are replayed into a tree of plain values. A class or function named by the pickle
//! (`GLOBAL`, `STACK_GLOBAL`) is only a name; `REDUCE`, `NEWOBJ` and `BUILD` record what they
//! would have called and with what, and a persistent id (a tensor's storage) is kept as the
//! value it names. The reader of the tree ([`super::torch_pt`]) decides what those mean.
//!
//! Every node lives in one arena and values refer to it by index, so a memo entry fetched a
//! million times costs a million small copies, not a million subtrees, and a pickle whose
//! objects refer to themselves makes no reference cycle: memory follows the input's length.

use std::collections::HashMap;

/// A value on the pickle machine's stack: a scalar, or a node of the arena.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Node(usize),
}

/// What a value of the arena is.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A class or function, by module and name (never imported).
    Global {
        module: String,
        name: String,
    },
    /// What `callable(*args)` would have built, then `__setstate__(state)` (`BUILD`).
    Call {
        callable: Value,
        args: Vec<Value>,
        state: Value,
    },
    /// The object a persistent id names (in a torch file, a storage).
    Persistent(Value),
}

/// A pickle that cannot be read, with the byte where it went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("pickle byte {at}: {message}")]
pub struct PickleError {
    pub at: usize,
    pub message: String,
}

/// The replayed pickle: its arena and the value `STOP` returned.
#[derive(Debug, Clone)]
pub struct Pickle {
    pub nodes: Vec<Node>,
    pub root: Value,
}

impl Pickle {
    pub fn node(&self, v: Value) -> Option<&Node> {
        match v {
            Value::Node(i) => self.nodes.get(i),
            _ => None,
        }
    }

    pub fn str(&self, v: Value) -> Option<&str> {
        match self.node(v) {
            Some(Node::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The items of a tuple or list.
    pub fn items(&self, v: Value) -> Option<&[Value]> {
        match self.node(v) {
            Some(Node::Tuple(t)) | Some(Node::List(t)) => Some(t),
            _ => None,
        }
    }

    /// The value under string key `key` of a dict (an `OrderedDict` is a dict here too).
    pub fn get(&self, dict: Value, key: &str) -> Option<Value> {
        match self.node(dict) {
            Some(Node::Dict(items)) => items
                .iter()
                .rev()
                .find(|(k, _)| self.str(*k) == Some(key))
                .map(|(_, v)| *v),
            _ => None,
        }
    }

    /// The string-keyed entries of a dict, in order.
    pub fn entries(&self, dict: Value) -> Vec<(&str, Value)> {
        match self.node(dict) {
            Some(Node::Dict(items)) => items
                .iter()
                .filter_map(|(k, v)| self.str(*k).map(|k| (k, *v)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `(module, name)` of a global.
    pub fn global(&self, v: Value) -> Option<(&str, &str)> {
        match self.node(v) {
            Some(Node::Global { module, name }) => Some((module, name)),
            _ => None,
        }
    }

    /// A list or tuple of whole numbers.
    pub fn ints(&self, v: Value) -> Option<Vec<i64>> {
        self.items(v)?
            .iter()
            .map(|x| match x {
                Value::Int(i) => Some(*i),
                _ => None,
            })
            .collect()
    }
}

const MAX_DEPTH_OF_STACK: usize = 1 << 20;

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    at: usize,
    nodes: Vec<Node>,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
}

impl Machine<'_> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, PickleError> {
        Err(PickleError {
            at: self.at,
            message: message.into(),
        })
    }

    fn take(&mut self, n: usize) -> Result<&[u8], PickleError> {
        match self.pos.checked_add(n).filter(|e| *e <= self.data.len()) {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => self.err("the pickle ends inside an opcode"),
        }
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn le(&mut self, n: usize) -> Result<u64, PickleError> {
        let b = self.take(n)?;
        Ok(b.iter().rev().fold(0u64, |a, x| (a << 8) | *x as u64))
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.data[self.pos..];
        let Some(end) = rest.iter().position(|b| *b == b'\n') else {
            return self.err("a text argument has no end of line");
        };
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.pos += end + 1;
        Ok(s)
    }

    fn add(&mut self, n: Node) -> Value {
        self.nodes.push(n);
        Value::Node(self.nodes.len() - 1)
    }

    fn push(&mut self, v: Value) -> Result<(), PickleError> {
        if self.stack.len() >= MAX_DEPTH_OF_STACK {
            return self.err("the stack grows past 2^20 values");
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        if self.marks.last().is_some_and(|m| *m >= self.stack.len()) {
            return self.err("pops past a mark");
        }
        match self.stack.pop() {
            Some(v) => Ok(v),
            None => self.err("pops an empty stack"),
        }
    }

    fn top(&self) -> Result<Value, PickleError> {
        match self.stack.last() {
            Some(v) if self.marks.last().is_none_or(|m| *m < self.stack.len()) => Ok(*v),
            _ => self.err("needs a value on the stack"),
        }
    }

    /// The values pushed since the last mark, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let Some(m) = self.marks.pop() else {
            return self.err("no mark to pop to");
        };
        Ok(self.stack.split_off(m))
    }

    fn text(&mut self, n: usize) -> Result<(), PickleError> {
        let s = String::from_utf8_lossy(self.take(n)?).into_owned();
        let v = self.add(Node::Str(s));
        self.push(v)
    }

    fn bytes(&mut self, n: usize) -> Result<(), PickleError> {
        let b = self.take(n)?.to_vec();
        let v = self.add(Node::Bytes(b));
        self.push(v)
    }

    fn length(&mut self, n: usize) -> Result<usize, PickleError> {
        let len = self.le(n)?;
        match usize::try_from(len) {
            Ok(l) if l <= self.data.len() - self.pos => Ok(l),
            _ => self.err(format!("a length of {len} runs past the pickle's end")),
        }
    }

    fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        match self.memo.get(&key).copied() {
            Some(v) => self.push(v),
            None => self.err(format!("memo {key} was never stored")),
        }
    }

    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let v = self.top()?;
        self.memo.insert(key, v);
        Ok(())
    }

    /// Adds `items` to the list or dict at `target` (a node), or fails.
    fn extend(&mut self, target: Value, items: Vec<Value>, pairs: bool) -> Result<(), PickleError> {
        let Value::Node(i) = target else {
            return self.err("adds items to something that is not a container");
        };
        match (&mut self.nodes[i], pairs) {
            (Node::List(l), false) => l.extend(items),
            (Node::Dict(d), true) => {
                if !items.len().is_multiple_of(2) {
                    return self.err("a dict update with an odd number of values");
                }
                d.extend(items.chunks_exact(2).map(|p| (p[0], p[1])));
            }
            // a set (`__builtin__ set` of a list) or another call's result: kept as a list
            (Node::Call { args, .. }, false) => args.extend(items),
            // a dict subclass's items: nothing a model is read from
            (Node::Call { .. }, true) => {}
            _ => return self.err("adds items to something that is not a list or dict"),
        }
        Ok(())
    }

    /// `callable(*args)`: the constructors whose results are plain containers become them;
    /// anything else is recorded as a call.
    fn call(&mut self, callable: Value, args: Value) -> Result<Value, PickleError> {
        let args: Vec<Value> = match self.nodes.get(match args {
            Value::Node(i) => i,
            _ => usize::MAX,
        }) {
            Some(Node::Tuple(t)) => t.clone(),
            _ => return self.err("calls with arguments that are not a tuple"),
        };
        let name = match callable {
            Value::Node(i) => match &self.nodes[i] {
                Node::Global { module, name } => Some((module.as_str(), name.as_str())),
                _ => None,
            },
            _ => None,
        };
        // the constructors of plain containers give the container (an alias of their
        // argument, never a copy: memory stays with the input's size)
        let first = args.first().copied();
        let first_node = first.and_then(|a| match a {
            Value::Node(i) => self.nodes.get(i),
            _ => None,
        });
        let node = match name {
            Some(("collections", "OrderedDict")) if args.is_empty() => Node::Dict(Vec::new()),
            Some(("__builtin__" | "builtins", "set" | "frozenset") | ("torch", "Size")) => {
                match first_node {
                    Some(Node::List(_)) | Some(Node::Tuple(_)) => {
                        return Ok(first.expect("a first argument"));
                    }
                    _ => Node::Tuple(Vec::new()),
                }
            }
            _ => Node::Call {
                callable,
                args,
                state: Value::None,
            },
        };
        Ok(self.add(node))
    }

    fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            self.at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let p = self.u8()?;
                    if p > 5 {
                        return self.err(format!("protocol {p} (at most 5 is known)"));
                    }
                }
                // FRAME: a length hint only
                0x95 => {
                    self.take(8)?;
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?;
                    self.push(v)?;
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'J' => {
                    let v = self.le(4)? as u32 as i32 as i64;
                    self.push(Value::Int(v))?
                }
                b'K' => {
                    let v = self.u8()? as i64;
                    self.push(Value::Int(v))?
                }
                b'M' => {
                    let v = self.le(2)? as i64;
                    self.push(Value::Int(v))?
                }
                // LONG1 / LONG4: little-endian two's complement of n bytes
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        self.u8()? as usize
                    } else {
                        self.length(4)?
                    };
                    let b = self.take(n)?.to_vec();
                    if n > 8 {
                        return self.err(format!("an integer of {n} bytes (at most 8 are read)"));
                    }
                    let mut v: i64 = 0;
                    for (k, x) in b.iter().enumerate() {
                        v |= (*x as i64) << (8 * k);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.push(Value::Int(v))?
                }
                b'G' => {
                    let b = self.take(8)?;
                    let v = f64::from_be_bytes(b.try_into().expect("8 bytes"));
                    self.push(Value::Float(v))?
                }
                b'X' => {
                    let n = self.length(4)?;
                    self.text(n)?
                }
                0x8c => {
                    let n = self.length(1)?;
                    self.text(n)?
                }
                0x8d => {
                    let n = self.length(8)?;
                    self.text(n)?
                }
                b'C' => {
                    let n = self.length(1)?;
                    self.bytes(n)?
                }
                b'B' => {
                    let n = self.length(4)?;
                    self.bytes(n)?
                }
                0x8e => {
                    let n = self.length(8)?;
                    self.bytes(n)?
                }
                b')' => {
                    let v = self.add(Node::Tuple(Vec::new()));
                    self.push(v)?
                }
                b't' => {
                    let items = self.pop_mark()?;
                    let v = self.add(Node::Tuple(items));
                    self.push(v)?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    let v = self.add(Node::Tuple(items));
                    self.push(v)?
                }
                b']' => {
                    let v = self.add(Node::List(Vec::new()));
                    self.push(v)?
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    let v = self.add(Node::List(items));
                    self.push(v)?
                }
                b'}' => {
                    let v = self.add(Node::Dict(Vec::new()));
                    self.push(v)?
                }
                // EMPTY_SET: kept as a list
                0x8f => {
                    let v = self.add(Node::List(Vec::new()));
                    self.push(v)?
                }
                b'a' => {
                    let item = self.pop()?;
                    let list = self.top()?;
                    self.extend(list, vec![item], false)?
                }
                b'e' | 0x90 => {
                    let items = self.pop_mark()?;
                    let list = self.top()?;
                    self.extend(list, items, false)?
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let dict = self.top()?;
                    self.extend(dict, vec![k, v], true)?
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let dict = self.top()?;
                    self.extend(dict, items, true)?
                }
                // FROZENSET
                0x91 => {
                    let items = self.pop_mark()?;
                    let v = self.add(Node::List(items));
                    self.push(v)?
                }
                b'h' => {
                    let k = self.u8()? as u64;
                    self.memo_get(k)?
                }
                b'j' => {
                    let k = self.le(4)?;
                    self.memo_get(k)?
                }
                b'q' => {
                    let k = self.u8()? as u64;
                    self.memo_put(k)?
                }
                b'r' => {
                    let k = self.le(4)?;
                    self.memo_put(k)?
                }
                // MEMOIZE: the next memo index
                0x94 => {
                    let k = self.memo.len() as u64;
                    self.memo_put(k)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let v = self.add(Node::Global { module, name });
                    self.push(v)?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let text = |m: &Self, v: Value| match v {
                        Value::Node(i) => match &m.nodes[i] {
                            Node::Str(s) => Some(s.clone()),
                            _ => None,
                        },
                        _ => None,
                    };
                    let (Some(module), Some(name)) = (text(self, module), text(self, name)) else {
                        return self.err("STACK_GLOBAL of values that are not strings");
                    };
                    let v = self.add(Node::Global { module, name });
                    self.push(v)?
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = self.call(callable, args)?;
                    self.push(v)?
                }
                0x81 => {
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let v = self.call(class, args)?;
                    self.push(v)?
                }
                // NEWOBJ_EX: keyword arguments dropped
                0x92 => {
                    self.pop()?;
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let v = self.call(class, args)?;
                    self.push(v)?
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.top()?;
                    match obj {
                        Value::Node(i) => match &mut self.nodes[i] {
                            Node::Call { state: s, .. } => *s = state,
                            // an OrderedDict's state, or a dict's: nothing a model needs
                            Node::Dict(_) => {}
                            _ => return self.err("BUILD on a value that is not an object"),
                        },
                        _ => return self.err("BUILD on a value that is not an object"),
                    }
                }
                b'Q' => {
                    let id = self.pop()?;
                    let v = self.add(Node::Persistent(id));
                    self.push(v)?
                }
                other => {
                    return self.err(format!(
                        "opcode 0x{other:02x} is not one a torch checkpoint uses (nothing in a \
                         pickle is executed here)"
                    ));
                }
            }
        }
    }
}

/// Replays `data` (a whole pickle, up to its `STOP`).
pub fn read(data: &[u8]) -> Result<Pickle, PickleError> {
    let mut m = Machine {
        data,
        pos: 0,
        at: 0,
        nodes: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    let root = m.run()?;
    Ok(Pickle {
        nodes: m.nodes,
        root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // pickle.dumps({'a': (1, -2, 3.5, 'x'), 'b': [True, None], 'c': 70000, 'd': -3}, protocol=2)
    const DICT: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01(K\x01J\xfe\xff\xff\xffG@\x0c\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00xq\x02tq\x03X\x01\x00\x00\x00bq\x04]q\x05(\x88NeX\x01\x00\x00\x00cq\x06J\x70\x11\x01\x00X\x01\x00\x00\x00dq\x07J\xfd\xff\xff\xffu.";

    #[test]
    fn plain_values_are_replayed() {
        let p = read(DICT).unwrap();
        let a = p.get(p.root, "a").unwrap();
        let items = p.items(a).unwrap();
        assert_eq!(
            items[..3],
            [Value::Int(1), Value::Int(-2), Value::Float(3.5)]
        );
        assert_eq!(p.str(items[3]), Some("x"));
        let b = p.get(p.root, "b").unwrap();
        assert_eq!(p.items(b).unwrap(), [Value::Bool(true), Value::None]);
        assert_eq!(p.get(p.root, "c"), Some(Value::Int(70000)));
        assert_eq!(p.get(p.root, "d"), Some(Value::Int(-3)));
    }

    #[test]
    fn calls_are_recorded_not_made() {
        // pickle of os.system('x') built by hand: GLOBAL, args, REDUCE, STOP
        let evil = b"\x80\x02cos\nsystem\nq\x00X\x01\x00\x00\x00x\x85R.";
        let p = read(evil).unwrap();
        match p.node(p.root) {
            Some(Node::Call { callable, args, .. }) => {
                assert_eq!(p.global(*callable), Some(("os", "system")));
                assert_eq!(p.str(args[0]), Some("x"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn broken_pickles_fail_with_the_byte() {
        let e = read(b"\x80\x02K").unwrap_err();
        assert_eq!(e.at, 2);
        assert!(e.message.contains("ends inside"), "{e}");
        assert!(
            read(b"\x80\x02h\x05.")
                .unwrap_err()
                .message
                .contains("memo 5")
        );
        assert!(
            read(b"\x80\x02(.")
                .unwrap_err()
                .message
                .contains("past a mark")
        );
        assert!(read(b"\x80\x02i").unwrap_err().message.contains("0x69"));
        assert!(
            read(b"\x80\x02X\xff\xff\xff\x7f")
                .unwrap_err()
                .message
                .contains("runs past")
        );
    }

    #[test]
    fn self_reference_makes_no_cycle_of_memory() {
        // an object whose state holds itself: BUILD after BINGET of its own memo
        let p = read(b"\x80\x02cm\nC\nq\x00)\x81q\x01h\x01b.").unwrap();
        let Some(Node::Call { state, .. }) = p.node(p.root) else {
            panic!()
        };
        assert_eq!(*state, p.root);
    }
}
