//! Logs and traces with `tracing` (README, "Logs"): every request gets a
//! root span (tracing-actix-web) carrying its request id and trace id, so
//! that whatever is logged while answering it names them, and one summary
//! line when it is answered, as text or JSON (`--log-format`).
//!
//! The request id is the client's `X-Request-Id` when that is a sane token
//! (a gateway's id then runs through), else a new one; it is sent back as
//! `X-Request-Id` and is the only thing a Server fault tells the client. A
//! W3C `traceparent` is honoured: the request joins that trace, and the
//! response's `traceparent` names this server's span in it.

use std::fmt::{self, Write as _};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing::field::{Field, Visit};
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
const TRACEPARENT_HEADER: &str = "traceparent";

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// A client's id, if it is a sane token: 1 to 128 of letters, digits,
    /// `-`, `_`, `.` and `:` (nothing that could forge a log line).
    fn sane(value: &str) -> Option<Self> {
        let ok = (1..=128).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        ok.then(|| Self(value.to_owned()))
    }
}

/// The W3C trace context of a request: the trace it belongs to, and this
/// server's span in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: String,
    pub span_id: String,
    /// The caller's span, when it sent a `traceparent`.
    pub parent_id: Option<String>,
    pub flags: String,
}

fn random_hex(bytes: usize) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..bytes * 2].to_owned()
}

impl TraceContext {
    /// Joins the trace of a valid `traceparent` (version 00), or starts one.
    fn from_traceparent(header: Option<&str>) -> Self {
        let joined = header.and_then(|value| {
            let mut parts = value.trim().split('-');
            let (version, trace, parent, flags) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            let hex = |s: &str, len: usize| {
                s.len() == len
                    && s.chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            };
            let valid = version == "00"
                && parts.next().is_none()
                && hex(trace, 32)
                && trace != "0".repeat(32)
                && hex(parent, 16)
                && parent != "0".repeat(16)
                && hex(flags, 2);
            valid.then(|| (trace.to_owned(), parent.to_owned(), flags.to_owned()))
        });
        match joined {
            Some((trace_id, parent, flags)) => Self {
                trace_id,
                span_id: random_hex(8),
                parent_id: Some(parent),
                flags,
            },
            None => Self {
                trace_id: random_hex(16),
                span_id: random_hex(8),
                parent_id: None,
                flags: "01".to_owned(),
            },
        }
    }

    fn traceparent(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }
}

/// When the request arrived.
#[derive(Debug, Clone, Copy)]
struct Arrived(Instant);

/// The API client a request authenticated as, for the request log.
#[derive(Debug, Clone)]
pub struct ClientName(pub String);

/// What a handler reports for the request log.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub service: Option<&'static str>,
    pub operation: Option<&'static str>,
    /// `ok`, or the fault's name.
    pub result: &'static str,
}

/// The root span of each request, and its summary line.
pub struct RequestSpans;

impl RootSpanBuilder for RequestSpans {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let id = header(REQUEST_ID_HEADER)
            .and_then(RequestId::sane)
            .unwrap_or_else(RequestId::generate);
        #[allow(unused_mut)]
        let mut trace = TraceContext::from_traceparent(header(TRACEPARENT_HEADER));
        let span = tracing::info_span!(
            "request",
            request_id = %id.0,
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
            parent_id = trace.parent_id.as_deref().unwrap_or(""),
        );
        #[cfg(feature = "otlp")]
        otlp::join(&span, &mut trace);
        span.record("trace_id", trace.trace_id.as_str());
        span.record("span_id", trace.span_id.as_str());
        let mut extensions = request.extensions_mut();
        extensions.insert(id);
        extensions.insert(trace);
        extensions.insert(Arrived(Instant::now()));
        span
    }

    fn on_request_end<B: MessageBody>(_span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let Ok(response) = outcome else {
            return;
        };
        let request = response.request();
        let extensions = request.extensions();
        let id = extensions.get::<RequestId>().map_or("", |id| id.0.as_str());
        let trace = extensions
            .get::<TraceContext>()
            .map_or("", |t| t.trace_id.as_str());
        let millis = extensions
            .get::<Arrived>()
            .map_or(0.0, |arrived| arrived.0.elapsed().as_secs_f64() * 1000.0);
        let client = extensions.get::<ClientName>().map_or("-", |c| c.0.as_str());
        let reported = response.response().extensions().get::<Outcome>().cloned();
        let status = response.status().as_u16();
        let method = request.method().as_str();
        let path = request.path();
        // A root event, outside the request's span, so that the line says
        // each field once. Requests that are not SOAP (a probe, a WSDL)
        // have no service, operation or outcome: `-`.
        let (service, operation, outcome) = reported.map_or(("-", "-", "-"), |o| {
            (
                o.service.unwrap_or("-"),
                o.operation.unwrap_or("-"),
                o.result,
            )
        });
        tracing::info!(
            target: "customer_relations::requests",
            parent: None,
            request_id = %id,
            trace_id = %trace,
            method = %method,
            path = %path,
            service = %service,
            operation = %operation,
            client = %client,
            outcome = %outcome,
            status,
            duration_ms = %format_args!("{millis:.2}"),
            "answered"
        );
    }
}

/// Sends the request id and the trace context back with the response.
pub async fn stamp_responses(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut response = next.call(request).await?;
    let (id, trace) = {
        let extensions = response.request().extensions();
        (
            extensions.get::<RequestId>().map(|id| id.0.clone()),
            extensions
                .get::<TraceContext>()
                .map(TraceContext::traceparent),
        )
    };
    let headers = response.headers_mut();
    for (name, value) in [(REQUEST_ID_HEADER, id), (TRACEPARENT_HEADER, trace)] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    Ok(response)
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `key=value` text, one line per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Keeps the trace export running; dropping it sends what is left.
#[must_use = "dropping it stops the trace export"]
pub struct TracingGuard {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown_with_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// Installs the subscriber for the process: `RUST_LOG` filters (default
/// `info`); `log` records of the dependencies go the same way. With
/// `spans`, each span that the filter lets through logs its timing when it
/// closes (with `RUST_LOG=customer_relations=debug`: reading the envelope,
/// authenticating, decoding, the database work and the rule). With
/// `otlp_endpoint` (builds with the `otlp` feature), the spans are also
/// exported to that OTLP/HTTP collector.
pub fn init(
    format: LogFormat,
    spans: bool,
    otlp_endpoint: Option<&str>,
) -> anyhow::Result<TracingGuard> {
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let span_events = if spans { FmtSpan::CLOSE } else { FmtSpan::NONE };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let text = || {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_span_events(span_events.clone())
            .with_writer(std::io::stderr)
    };
    let lines = match format {
        // Colours for a terminal; for a file or a pipe, the same text
        // without the cost of styling every field name (`PlainFields`).
        LogFormat::Text if ansi => text().boxed(),
        LogFormat::Text => text().fmt_fields(PlainFields).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_span_events(span_events)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let registry = tracing_subscriber::registry().with(filter).with(lines);
    #[cfg(feature = "otlp")]
    if let Some(endpoint) = otlp_endpoint {
        let (layer, provider) = otlp::layer(endpoint)?;
        // Already installed (a second call in one process) is fine.
        let _ = registry.with(layer).try_init();
        return Ok(TracingGuard {
            provider: Some(provider),
        });
    }
    #[cfg(not(feature = "otlp"))]
    anyhow::ensure!(
        otlp_endpoint.is_none(),
        "this build cannot export traces: build it with `cargo build --release --features otlp` (README, \"Logs\")"
    );
    // Already installed (a second call in one process) is fine.
    let _ = registry.try_init();
    Ok(TracingGuard {
        #[cfg(feature = "otlp")]
        provider: None,
    })
}

/// The text format's fields without colours: `name=value`, separated by
/// spaces, the message first and unnamed, exactly as tracing-subscriber's
/// default writes them. The default styles every field name and `=` even
/// when colours are off, which was a third of the request log line's cost
/// (README, "Performance").
struct PlainFields;

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = PlainVisitor {
            writer,
            separate: false,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PlainVisitor<'writer> {
    writer: Writer<'writer>,
    /// Whether a field was written, so the next needs a space.
    separate: bool,
    result: fmt::Result,
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"))
        } else {
            self.record_debug(field, &value)
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        match value.source() {
            Some(source) => self.record_debug(
                field,
                &format_args!(
                    "{} {}.sources={}",
                    Escaped(value),
                    field.name(),
                    Sources(source)
                ),
            ),
            None => self.record_debug(field, &format_args!("{}", Escaped(value))),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        // A `log` record's metadata, which the line already shows.
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        if self.separate {
            self.result = self.writer.write_char(' ');
        }
        self.separate = true;
        self.result = self.result.and_then(|()| match name {
            "message" => write!(self.writer, "{:?}", Escaped(value)),
            name => write!(
                self.writer,
                "{}={value:?}",
                name.strip_prefix("r#").unwrap_or(name)
            ),
        });
    }
}

/// A message with the control characters a terminal acts on written as
/// escapes, so that a logged value cannot forge colours or erase a line.
struct Escaped<T>(T);

impl<T: fmt::Debug> fmt::Debug for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(EscapingWriter(f), "{:?}", self.0)
    }
}

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(EscapingWriter(f), "{}", self.0)
    }
}

struct EscapingWriter<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl fmt::Write for EscapingWriter<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match c {
                '\x1b' | '\x07' | '\x08' | '\x0c' | '\x7f' => {
                    write!(self.0, "\\x{:02x}", u32::from(c))?
                }
                '\u{80}'..='\u{9f}' => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// An error's sources, as `[first, second]`.
struct Sources<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Sources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        let mut next = Some(self.0);
        while let Some(error) = next {
            list.entry(&Escaped(format_args!("{error}")));
            next = error.source();
        }
        list.finish()
    }
}

/// The OTLP export (feature `otlp`).
#[cfg(feature = "otlp")]
mod otlp {
    use anyhow::Context;
    use opentelemetry::trace::{TraceContextExt, TracerProvider};
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    use super::TraceContext;

    /// A layer that sends the spans to the collector at `endpoint`
    /// (`http://host:4318`; `/v1/traces` is added when the URL has no path).
    pub(super) fn layer<S>(
        endpoint: &str,
    ) -> anyhow::Result<(impl tracing_subscriber::Layer<S>, SdkTracerProvider)>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        let mut url = url::Url::parse(endpoint)
            .with_context(|| format!("--otlp-endpoint '{endpoint}' is not a URL"))?;
        if url.path().is_empty() || url.path() == "/" {
            url.set_path("/v1/traces");
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(url.as_str())
            .with_timeout(std::time::Duration::from_secs(5))
            .build()
            .context("building the OTLP exporter")?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                opentelemetry_sdk::Resource::builder()
                    .with_service_name("customer-relations")
                    .build(),
            )
            .build();
        let tracer = provider.tracer("customer-relations");
        Ok((tracing_opentelemetry::layer().with_tracer(tracer), provider))
    }

    /// Makes the exported span a child of the caller's span, and takes its
    /// ids as the request's: the ids in the logs, in the response's
    /// `traceparent` and in the collector are the same.
    pub(super) fn join(span: &tracing::Span, trace: &mut TraceContext) {
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
        if let Some(parent) = &trace.parent_id {
            let (Ok(trace_id), Ok(parent_id)) =
                (TraceId::from_hex(&trace.trace_id), SpanId::from_hex(parent))
            else {
                return;
            };
            let flags = u8::from_str_radix(&trace.flags, 16).unwrap_or(1);
            let remote = SpanContext::new(
                trace_id,
                parent_id,
                TraceFlags::new(flags),
                true,
                TraceState::default(),
            );
            let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
        }
        let context = span.context();
        let own = context.span().span_context().clone();
        if own.is_valid() {
            trace.trace_id = own.trace_id().to_string();
            trace.span_id = own.span_id().to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Where a test's log lines go.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner \x1b[31m")]
    struct Inner;

    /// Logs events of every kind of field, inside a span with fields, with
    /// the text layer that `fields` builds; the lines written.
    fn logged<N>(fields: N) -> String
    where
        N: for<'w> FormatFields<'w> + Send + Sync + 'static,
    {
        let out = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .without_time()
            .fmt_fields(fields)
            .with_writer(out.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = %"abc", parent_id = "");
            span.record("parent_id", "p-1");
            let _entered = span.enter();
            tracing::info!(
                target: "customer_relations::requests",
                method = %"POST",
                quoted = "a \"b\"",
                status = 200u64,
                negative = -3i64,
                ratio = 0.5f64,
                flag = true,
                r#type = "SSO",
                duration_ms = %format_args!("{:.2}", 1.234),
                "answered"
            );
            let error = Outer(Inner);
            tracing::warn!(
                error = &error as &(dyn std::error::Error + 'static),
                "failed \x1b[2J\u{9b}here"
            );
            tracing::error!("no fields");
        });
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn plain_fields_write_what_the_default_writes_without_colours() {
        let default = logged(tracing_subscriber::fmt::format::DefaultFields::new());
        let plain = logged(PlainFields);
        assert_eq!(plain.lines().count(), 3, "{plain}");
        assert!(plain.contains(r#"quoted="a \"b\"" status=200"#), "{plain}");
        assert!(!plain.contains('\x1b'), "{plain}");
        assert_eq!(plain, default);
    }

    #[test]
    fn a_sane_request_id_is_kept_and_anything_else_replaced() {
        assert_eq!(RequestId::sane("gw-1234.abc:5").unwrap().0, "gw-1234.abc:5");
        for insane in ["", "a b", "x\ny", "<script>", &"a".repeat(129)] {
            assert!(RequestId::sane(insane).is_none(), "{insane:?}");
        }
    }

    #[test]
    fn a_valid_traceparent_is_joined_and_a_bad_one_starts_a_trace() {
        let joined = TraceContext::from_traceparent(Some(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ));
        assert_eq!(joined.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(joined.parent_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_ne!(joined.span_id, "00f067aa0ba902b7");
        assert!(
            joined
                .traceparent()
                .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-")
        );
        for bad in [
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ] {
            let started = TraceContext::from_traceparent(Some(bad));
            assert!(started.parent_id.is_none(), "{bad}");
            assert_eq!(started.trace_id.len(), 32);
        }
    }
}
