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
        builder.event_format(RunpodJson).init();
    } else {
        builder.init();
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
                    .and_then(|f| f.fields.split("requestId=").nth(1).map(str::to_owned));
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
