//! Log output: human-readable lines on stderr; under RunPod (`RUNPOD_ENDPOINT_ID` set) one JSON
//! object per line, `{"requestId", "message", "level", ...fields}`, with the request id taken
//! from the enclosing `job` span. `REELGPU_LOG` (or `RUNPOD_LOG_LEVEL`) sets the filter.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

pub fn init() {
    let filter = std::env::var("REELGPU_LOG")
        .or_else(|_| std::env::var("RUNPOD_LOG_LEVEL").map(|l| l.to_lowercase()))
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| "info,wgpu_core=warn,wgpu_hal=error,naga=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var_os("RUNPOD_ENDPOINT_ID").is_some() {
        builder.with_ansi(false).event_format(RunpodJson).init();
    } else {
        // colour only for a person at a terminal: a log file or a pipe gets plain text
        use std::io::IsTerminal;
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

/// RunPod's log line format.
struct RunpodJson;

struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            Value::String(format!("{value:?}")),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_string(), Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), value.into());
    }
}

/// Span fields as the field formatter wrote them, without terminal colour codes.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl<S, N> FormatEvent<S, N> for RunpodJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let mut line = Map::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                let id = ext
                    .get::<FormattedFields<N>>()
                    .map(|f| strip_ansi(&f.fields))
                    .and_then(|f| f.split("requestId=").nth(1).map(str::to_owned));
                if let Some(id) = id {
                    let id = id.split_whitespace().next().unwrap_or_default();
                    line.insert("requestId".into(), id.trim_matches('"').into());
                }
            }
        }
        let message = fields
            .0
            .remove("message")
            .unwrap_or(Value::String(String::new()));
        line.insert("message".into(), message);
        line.insert(
            "level".into(),
            event.metadata().level().to_string().to_uppercase().into(),
        );
        line.extend(fields.0);
        writeln!(writer, "{}", Value::Object(line))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    #[test]
    fn runpod_lines_carry_the_request_id_of_the_job_span() {
        let buf = Buf::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buf.clone())
            .event_format(super::RunpodJson)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside");
            let span = tracing::info_span!("job", requestId = %"rp-7");
            let _g = span.enter();
            tracing::warn!(frames = 3, "inside");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            serde_json::json!({"message": "outside", "level": "INFO"})
        );
        assert_eq!(
            lines[1],
            serde_json::json!({"requestId": "rp-7", "message": "inside", "level": "WARN", "frames": 3})
        );
    }
}
