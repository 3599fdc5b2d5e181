//! A call's progress stream (contract §11): `{"progress", "phase", "message"}` items that never
//! go back, each with the call's own extra fields (`clip`/`total_clips` for
//! `process_clips_ai`), then one final item with `status`.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

/// Where a call's items go (the RunPod stream, the local API, stdout).
pub type Sink = Arc<dyn Fn(Value) + Send + Sync>;

/// The stream of one call.
#[derive(Clone)]
pub struct Stream {
    sink: Sink,
    state: Arc<Mutex<State>>,
}

struct State {
    last: u8,
    extra: Map<String, Value>,
    finished: bool,
}

impl Stream {
    pub fn new(sink: Sink) -> Self {
        Self {
            sink,
            state: Arc::new(Mutex::new(State {
                last: 0,
                extra: Map::new(),
                finished: false,
            })),
        }
    }

    /// Fields every later item carries (`clip`, `total_clips`).
    pub fn set_extra(&self, key: &str, value: Value) {
        self.lock().extra.insert(key.into(), value);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A progress item; `progress` is raised to the last one sent (it never decreases).
    pub fn item(&self, progress: u8, phase: &str, message: &str) {
        self.item_with(progress, phase, message, Map::new());
    }

    /// A progress item with fields of its own (`current_frame`, ...).
    pub fn item_with(&self, progress: u8, phase: &str, message: &str, own: Map<String, Value>) {
        let item = {
            let mut s = self.lock();
            if s.finished {
                return;
            }
            s.last = s.last.max(progress.min(99));
            let mut item = s.extra.clone();
            item.extend(own);
            item.insert("progress".into(), json!(s.last));
            item.insert("phase".into(), json!(phase));
            item.insert("message".into(), json!(message));
            Value::Object(item)
        };
        (self.sink)(item);
    }

    /// The final item of a call that succeeded: `extra` holds `output_key` and the rest.
    pub fn success(&self, message: &str, extra: Map<String, Value>) -> Value {
        let mut item = Map::new();
        item.insert("status".into(), json!("success"));
        item.extend(extra);
        item.insert("progress".into(), json!(100));
        item.insert("phase".into(), json!("complete"));
        item.insert("message".into(), json!(message));
        self.finish(Value::Object(item))
    }

    /// The final item of a call that failed.
    pub fn error(&self, error: &str, extra: Map<String, Value>) -> Value {
        let mut item = Map::new();
        item.insert("status".into(), json!("error"));
        item.insert("error".into(), json!(error));
        item.extend(extra);
        item.insert("progress".into(), json!(0));
        item.insert("phase".into(), json!("error"));
        self.finish(Value::Object(item))
    }

    fn finish(&self, item: Value) -> Value {
        {
            let mut s = self.lock();
            if s.finished {
                return item;
            }
            s.finished = true;
        }
        (self.sink)(item.clone());
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_never_decreases_and_nothing_follows_the_final_item() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let s = Stream::new(Arc::new(move |v| s2.lock().unwrap().push(v)));
        s.set_extra("total_clips", json!(2));
        s.item(10, "initializing", "a");
        s.item(5, "initializing", "b");
        s.success("done", Map::new());
        s.item(50, "late", "never sent");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1]["progress"], 10);
        assert_eq!(seen[1]["total_clips"], 2);
        assert_eq!(seen[2]["status"], "success");
        assert_eq!(seen[2]["progress"], 100);
        assert!(seen[2].get("total_clips").is_none());
    }
}
