//! Logs and traces with `tracing` (README, "Logs"): every request gets a
//! root span (tracing-actix-web) carrying its request id and trace id, so
//! that whatever is logged while answering it names them, and one summary
//! line when it is answered, as text or JSON (`--log-format`). With the
//! text format and neither span timings nor a trace export, the span is
//! left out and the thread's current request carries the ids instead,
//! written exactly as the span would be (`requests_without_spans`).
//!
//! The request id is the client's `X-Request-Id` when that is a sane token
//! (a gateway's id then runs through), else a new one; it is sent back as
//! `X-Request-Id` and is the only thing a Server fault tells the client. A
//! W3C `traceparent` is honoured: the request joins that trace, and the
//! response's `traceparent` names this server's span in it.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Span, Subscriber};
use tracing_actix_web::RootSpanBuilder;
use tracing_log::NormalizeEvent;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::log_writer::{BatchedWriter, Batches};
use crate::vocabulary::UtcText;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The target of the line logged for each request.
const REQUESTS_TARGET: &str = "customer_relations::requests";
const TRACEPARENT_HEADER: &str = "traceparent";

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    fn generate() -> Self {
        Self(random_hex(16))
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

/// `bytes` (at most 16) random bytes as lower-case hex, from the thread's
/// generator (rand's ChaCha, seeded from the system; no system call each).
fn random_hex(bytes: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let random: u128 = rand::random();
    let mut hex = [0u8; 32];
    for (nibble, digit) in hex.iter_mut().enumerate() {
        *digit = DIGITS[(random >> (4 * nibble)) as usize & 0xf];
    }
    String::from_utf8_lossy(&hex[..bytes.min(16) * 2]).into_owned()
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
        let mut header = String::with_capacity(55);
        for part in ["00-", &self.trace_id, "-", &self.span_id, "-", &self.flags] {
            header.push_str(part);
        }
        header
    }
}

/// A request's ids and when it arrived: in the request's extensions (as an
/// `Arc`), and what the lines logged while it is answered name.
#[derive(Debug)]
pub struct RequestContext {
    pub id: RequestId,
    pub trace: TraceContext,
    arrived: Instant,
}

impl RequestContext {
    /// A request with this id, arriving now, starting a trace.
    pub fn new(id: RequestId) -> Self {
        Self {
            id,
            trace: TraceContext::from_traceparent(None),
            arrived: Instant::now(),
        }
    }

    /// The context of `request`, if it has one.
    pub fn of(request: &impl HttpMessage) -> Option<Arc<Self>> {
        request.extensions().get::<Arc<Self>>().cloned()
    }

    /// The request's span as the text format shows it in front of a line
    /// (`request{request_id=… trace_id="…" span_id="…" parent_id="…"}:`),
    /// as `PlainLine` writes the span that `RequestSpans` makes: the ids
    /// are tokens and hex, which need no escaping.
    fn write_span(&self, writer: &mut Writer<'_>, ansi: bool) -> fmt::Result {
        let trace = &self.trace;
        let fields = [
            "request_id=",
            &self.id.0,
            " trace_id=\"",
            &trace.trace_id,
            "\" span_id=\"",
            &trace.span_id,
            "\" parent_id=\"",
            trace.parent_id.as_deref().unwrap_or(""),
            "\"",
        ];
        write_span(writer, ansi, "request", fields)
    }
}

/// Writes a span in front of a line: its name, its fields (written by
/// `fields`) in braces unless there are none, and a colon.
fn write_span<'a>(
    writer: &mut Writer<'_>,
    ansi: bool,
    name: &str,
    fields: impl IntoIterator<Item = &'a str>,
) -> fmt::Result {
    let style = |on: &'static str| if ansi { on } else { "" };
    let reset = style(RESET);
    for part in [style(BOLD), name, reset] {
        writer.write_str(part)?;
    }
    let mut fields = fields.into_iter().filter(|f| !f.is_empty()).peekable();
    if fields.peek().is_some() {
        for part in [style(BOLD), "{", reset] {
            writer.write_str(part)?;
        }
        for part in fields {
            writer.write_str(part)?;
        }
        for part in [style(BOLD), "}", reset] {
            writer.write_str(part)?;
        }
    }
    for part in [style(DIMMED), ":", reset] {
        writer.write_str(part)?;
    }
    Ok(())
}

thread_local! {
    /// The request this thread is answering, when requests have no span
    /// (`RequestSpans`): set while its future is polled (`InRequest`).
    static CURRENT_REQUEST: Cell<Option<Arc<RequestContext>>> = const { Cell::new(None) };
}

/// The thread's current request, left in place.
fn current_request() -> Option<Arc<RequestContext>> {
    let request = CURRENT_REQUEST.take();
    CURRENT_REQUEST.set(request.clone());
    request
}

/// Whether requests go without a span of their own: with the text format
/// and neither span timings nor a trace export, a span would carry nothing
/// but the request's ids to the lines logged while it is answered, and it
/// was half of the request log's cost (creating it, formatting its fields,
/// entering and leaving it at every poll; README, "Performance"). The
/// thread's current request carries them instead, and `PlainLine` writes
/// them as the span would have been written.
fn requests_without_spans() -> bool {
    DIRECT_LINES
        .get()
        .is_some_and(|direct| direct.without_spans)
}

/// A request's future, with the request as its thread's current request
/// while it is polled.
struct InRequest<F> {
    context: Arc<RequestContext>,
    inner: F,
}

impl<F: Future + Unpin> Future for InRequest<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let _restore = Restore(CURRENT_REQUEST.replace(Some(this.context.clone())));
        Pin::new(&mut this.inner).poll(cx)
    }
}

/// The request a thread is answering, to be carried to another thread that
/// does part of the work (the database's): what is logged there is then in
/// the request's span too.
pub struct CarriedRequest {
    span: Span,
    context: Option<Arc<RequestContext>>,
}

impl CarriedRequest {
    /// This thread's request: its span, or its context when requests have
    /// no span.
    pub fn current() -> Self {
        let context = current_request();
        Self {
            span: match context {
                Some(_) => Span::none(),
                None => Span::current(),
            },
            context,
        }
    }

    /// Runs `work` as part of the request.
    pub fn in_scope<T>(&self, work: impl FnOnce() -> T) -> T {
        let _restore = Restore(CURRENT_REQUEST.replace(self.context.clone()));
        self.span.in_scope(work)
    }
}

/// Puts back the thread's previous request, even if the poll panicked.
struct Restore(Option<Arc<RequestContext>>);

impl Drop for Restore {
    fn drop(&mut self) {
        CURRENT_REQUEST.set(self.0.take());
    }
}

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

/// A request's span, made with all its fields at once (recording a field
/// later formats the span's fields again).
#[cfg(any(test, not(feature = "otlp")))]
fn request_span(context: &RequestContext) -> Span {
    let trace = &context.trace;
    tracing::info_span!(
        "request",
        request_id = %context.id.0,
        trace_id = trace.trace_id.as_str(),
        span_id = trace.span_id.as_str(),
        parent_id = trace.parent_id.as_deref().unwrap_or(""),
    )
}

impl RootSpanBuilder for RequestSpans {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let id = header(REQUEST_ID_HEADER)
            .and_then(RequestId::sane)
            .unwrap_or_else(RequestId::generate);
        #[allow(unused_mut)]
        let mut context = RequestContext {
            id,
            trace: TraceContext::from_traceparent(header(TRACEPARENT_HEADER)),
            arrived: Instant::now(),
        };
        let span = if requests_without_spans() {
            Span::none()
        } else {
            #[cfg(not(feature = "otlp"))]
            let span = request_span(&context);
            // The exporter picks the ids of a span it has already seen.
            #[cfg(feature = "otlp")]
            let span = {
                let trace = &mut context.trace;
                let span = tracing::info_span!(
                    "request",
                    request_id = %context.id.0,
                    trace_id = tracing::field::Empty,
                    span_id = tracing::field::Empty,
                    parent_id = tracing::field::Empty,
                );
                otlp::join(&span, trace);
                span.record("trace_id", trace.trace_id.as_str());
                span.record("span_id", trace.span_id.as_str());
                span.record("parent_id", trace.parent_id.as_deref().unwrap_or(""));
                span
            };
            span
        };
        request.extensions_mut().insert(Arc::new(context));
        span
    }

    fn on_request_end<B: MessageBody>(_span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let Ok(response) = outcome else {
            return;
        };
        let request = response.request();
        let extensions = request.extensions();
        let context = extensions.get::<Arc<RequestContext>>();
        let id = context.map_or("", |c| c.id.0.as_str());
        let trace = context.map_or("", |c| c.trace.trace_id.as_str());
        let elapsed = context.map_or(Duration::ZERO, |c| c.arrived.elapsed());
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
        let duration_ms = Hundredths::of(elapsed);
        RequestLine {
            request_id: id,
            trace_id: trace,
            method,
            path,
            service,
            operation,
            client,
            outcome,
            status,
            duration_ms: duration_ms.as_str(),
        }
        .log();
    }
}

/// Where the text format's request lines go directly (see `RequestLine::log`).
static DIRECT_LINES: OnceLock<DirectLines> = OnceLock::new();

struct DirectLines {
    batches: Arc<Batches>,
    ansi: bool,
    /// Requests have no span (see `requests_without_spans`).
    without_spans: bool,
}

/// The line logged for each answered request (README, "Logs").
struct RequestLine<'a> {
    request_id: &'a str,
    trace_id: &'a str,
    method: &'a str,
    path: &'a str,
    service: &'a str,
    operation: &'a str,
    client: &'a str,
    outcome: &'a str,
    status: u16,
    duration_ms: &'a str,
}

impl RequestLine<'_> {
    /// Logs the line. With the text format, it is written as `PlainLine`
    /// would write it, straight into the log's batches: tracing's dispatch
    /// of the event and its fields one by one through `fmt` was half of
    /// the request log's cost (README, "Performance"). The filter
    /// (`RUST_LOG`) is asked all the same. Otherwise (JSON, or a process
    /// whose subscriber is not this module's) it is an event.
    fn log(&self) {
        match DIRECT_LINES.get() {
            Some(direct) => {
                if tracing::enabled!(target: REQUESTS_TARGET, Level::INFO) {
                    thread_local! {
                        static LINE: std::cell::RefCell<String> =
                            std::cell::RefCell::new(String::with_capacity(512));
                    }
                    LINE.with_borrow_mut(|line| {
                        line.clear();
                        let _ = write_now(line);
                        self.write_text(line, direct.ansi);
                        direct.batches.add_line(line.as_bytes());
                    });
                }
            }
            None => self.event(),
        }
    }

    /// A root event, outside the request's span, so that the line says
    /// each field once.
    fn event(&self) {
        tracing::info!(
            target: REQUESTS_TARGET,
            parent: None,
            request_id = self.request_id,
            trace_id = self.trace_id,
            method = self.method,
            path = self.path,
            service = self.service,
            operation = self.operation,
            client = self.client,
            outcome = self.outcome,
            status = self.status,
            duration_ms = self.duration_ms,
            "answered"
        );
    }

    /// The text line after its timestamp, as `PlainLine` writes the event.
    fn write_text(&self, line: &mut String, ansi: bool) {
        let style = |on: &'static str| if ansi { on } else { "" };
        let (colour, level) = level_parts(Level::INFO);
        for part in [
            style(colour),
            level,
            style(RESET),
            " ",
            style(DIMMED),
            REQUESTS_TARGET,
            ":",
            style(RESET),
            " answered",
        ] {
            line.push_str(part);
        }
        let mut status = itoa::Buffer::new();
        // Each name with the space before it and the `=` after it.
        for (name, value) in [
            (" request_id=", self.request_id),
            (" trace_id=", self.trace_id),
            (" method=", self.method),
            (" path=", self.path),
            (" service=", self.service),
            (" operation=", self.operation),
            (" client=", self.client),
            (" outcome=", self.outcome),
            (" status=", status.format(self.status)),
            (" duration_ms=", self.duration_ms),
        ] {
            line.push_str(name);
            if needs_no_escaping(value) {
                line.push_str(value);
            } else {
                // As `Debug` writes it, as `PlainVisitor` does.
                let _ = write!(line, "{value:?}");
            }
        }
        line.push('\n');
    }
}

/// A duration in milliseconds with two decimals (`12.34`), as `{:.2}`
/// writes it but for how a half is rounded, without `fmt`.
struct Hundredths {
    /// Room for the most a `u128` holds, the point and two decimals.
    text: [u8; 42],
    len: usize,
}

impl Hundredths {
    fn of(elapsed: Duration) -> Self {
        let hundredths = (elapsed.as_micros() + 5) / 10;
        let (mut whole, cents) = (hundredths / 100, hundredths % 100);
        let mut text = [0u8; 42];
        let mut start = text.len() - 3;
        text[start..].copy_from_slice(&[
            b'.',
            b'0' + (cents / 10) as u8,
            b'0' + (cents % 10) as u8,
        ]);
        loop {
            start -= 1;
            text[start] = b'0' + (whole % 10) as u8;
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        text.copy_within(start.., 0);
        Self {
            text,
            len: 42 - start,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len]).unwrap_or_default()
    }
}

/// Answers the request as its thread's current request when requests have
/// no span, and sends the request id and the trace context back with the
/// response.
pub async fn stamp_responses(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(context) = RequestContext::of(&request) else {
        return next.call(request).await;
    };
    let mut response = if requests_without_spans() {
        let inner = next.call(request);
        InRequest {
            context: context.clone(),
            inner,
        }
        .await?
    } else {
        next.call(request).await?
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (REQUEST_ID_HEADER, HeaderValue::from_str(&context.id.0)),
        (
            TRACEPARENT_HEADER,
            HeaderValue::from_str(&context.trace.traceparent()),
        ),
    ] {
        if let Ok(value) = value {
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
    /// The lines not written yet, written when the guard goes.
    batches: Arc<Batches>,
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown_with_timeout(std::time::Duration::from_secs(5));
        }
        self.batches.flush();
    }
}

/// Installs the subscriber for the process: `RUST_LOG` filters (default
/// `info`); `log` records of the dependencies go the same way. With
/// `spans`, each span that the filter lets through logs its timing when it
/// closes (with `RUST_LOG=customer_relations=debug`: reading the envelope,
/// authenticating, decoding, the database work and the rule). With
/// `otlp_endpoint` (builds with the `otlp` feature), the spans are also
/// exported to that OTLP/HTTP collector. With `flush_every`, lines are
/// written to stderr in batches, at least that often (`log_writer`);
/// without it, each at once.
pub fn init(
    format: LogFormat,
    spans: bool,
    otlp_endpoint: Option<&str>,
    flush_every: Option<Duration>,
) -> anyhow::Result<TracingGuard> {
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let span_events = if spans { FmtSpan::CLOSE } else { FmtSpan::NONE };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let batches = Batches::new(Box::new(std::io::stderr()), flush_every);
    batches.flush_on_panic();
    let writer = BatchedWriter(batches.clone());
    let lines = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_span_events(span_events)
            .with_writer(writer)
            .fmt_fields(PlainFields)
            .event_format(PlainLine { timestamps: true })
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_span_events(span_events)
            .with_writer(writer)
            .boxed(),
    };
    let registry = tracing_subscriber::registry().with(filter).with(lines);
    // The request lines of the text format go straight to the batches,
    // once this subscriber is the process's.
    let direct = |installed: bool| {
        if installed && format == LogFormat::Text {
            let _ = DIRECT_LINES.set(DirectLines {
                batches: batches.clone(),
                ansi,
                without_spans: !spans && otlp_endpoint.is_none(),
            });
        }
    };
    #[cfg(feature = "otlp")]
    if let Some(endpoint) = otlp_endpoint {
        let (layer, provider) = otlp::layer(endpoint)?;
        // Already installed (a second call in one process) is fine.
        direct(registry.with(layer).try_init().is_ok());
        return Ok(TracingGuard {
            batches,
            provider: Some(provider),
        });
    }
    #[cfg(not(feature = "otlp"))]
    anyhow::ensure!(
        otlp_endpoint.is_none(),
        "this build cannot export traces: build it with `cargo build --release --features otlp` (README, \"Logs\")"
    );
    // Already installed (a second call in one process) is fine.
    direct(registry.try_init().is_ok());
    Ok(TracingGuard {
        batches,
        #[cfg(feature = "otlp")]
        provider: None,
    })
}

/// The text format's line as tracing-subscriber's default writes it
/// (`TIMESTAMP LEVEL spans: target: fields`), with the timestamp written
/// digit by digit and each part written as it is rather than through
/// `write!`: the default's formatting was a quarter of the request log's
/// cost (README, "Performance"). With colours (the layer's `with_ansi`,
/// for a terminal), the level, the spans and the target in the default's.
struct PlainLine {
    /// Off in tests, to compare lines with the default's.
    timestamps: bool,
}

/// The timestamp a line starts with, and the space after it.
fn write_now(out: &mut impl fmt::Write) -> fmt::Result {
    match UtcText::new(&chrono::Utc::now(), 6) {
        Some(now) => out.write_str(now.as_str())?,
        None => out.write_str("<unknown time>")?,
    }
    out.write_char(' ')
}

/// A level's colour and its text, as the default writes them.
fn level_parts(level: Level) -> (&'static str, &'static str) {
    match level {
        Level::TRACE => ("\x1b[35m", "TRACE"),
        Level::DEBUG => ("\x1b[34m", "DEBUG"),
        Level::INFO => ("\x1b[32m", " INFO"),
        Level::WARN => ("\x1b[33m", " WARN"),
        Level::ERROR => ("\x1b[31m", "ERROR"),
    }
}

/// ANSI styles, and the end of one.
const BOLD: &str = "\x1b[1m";
const DIMMED: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

impl<S, N> FormatEvent<S, N> for PlainLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // A `log` record's own level and target, not the bridge's.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        if self.timestamps {
            write_now(&mut writer)?;
        }
        let (colour, level) = level_parts(*meta.level());
        let ansi = writer.has_ansi_escapes();
        let style = |on: &'static str| if ansi { on } else { "" };
        let reset = style(RESET);
        for part in [style(colour), level, reset, " "] {
            writer.write_str(part)?;
        }
        // The thread's current request, when requests have no span, is
        // the outermost span of the lines logged within it.
        let mut any = false;
        if let Some(request) = current_request().filter(|_| event.is_contextual()) {
            any = true;
            request.write_span(&mut writer, ansi)?;
        }
        if let Some(scope) = context.event_scope() {
            for span in scope.from_root() {
                any = true;
                let extensions = span.extensions();
                let fields = extensions.get::<FormattedFields<N>>();
                write_span(
                    &mut writer,
                    ansi,
                    span.name(),
                    fields.map(|f| f.fields.as_str()),
                )?;
            }
        }
        if any {
            writer.write_char(' ')?;
        }
        for part in [style(DIMMED), meta.target(), ":", reset, " "] {
            writer.write_str(part)?;
        }
        if meta.target() == REQUESTS_TARGET {
            // The request line's values are ids, codes and a path, given as
            // strings so that they need not go through `fmt` one by one.
            plain_fields(writer.by_ref(), event, true)?;
        } else {
            context.format_fields(writer.by_ref(), event)?;
        }
        writer.write_char('\n')
    }
}

/// The text format's fields without colours: `name=value`, separated by
/// spaces, the message first and unnamed, exactly as tracing-subscriber's
/// default writes them. The default styles every field name and `=` even
/// when colours are off, which was a third of the request log line's cost
/// (README, "Performance").
struct PlainFields;

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        plain_fields(writer, fields, false)
    }
}

/// Writes `fields` as `PlainFields` does; with `bare_strings`, strings that
/// need no escaping without their quotes.
fn plain_fields(writer: Writer<'_>, fields: impl RecordFields, bare_strings: bool) -> fmt::Result {
    let mut visitor = PlainVisitor {
        writer,
        separate: false,
        result: Ok(()),
        bare_strings,
    };
    fields.record(&mut visitor);
    visitor.result
}

struct PlainVisitor<'writer> {
    writer: Writer<'writer>,
    /// Whether a field was written, so the next needs a space.
    separate: bool,
    result: fmt::Result,
    /// Strings that need no escaping without their quotes: the request
    /// line's values, which it has always shown so (see `PlainLine`).
    bare_strings: bool,
}

impl PlainVisitor<'_> {
    /// Starts a field: the space before it and `name=` (the message has
    /// no name); whether the field is to be written.
    fn start(&mut self, name: &str) -> bool {
        // A `log` record's metadata, which the line already shows.
        if self.result.is_err() || name.starts_with("log.") {
            return false;
        }
        if self.separate {
            self.result = self.writer.write_char(' ');
        }
        self.separate = true;
        if name != "message" {
            let name = name.strip_prefix("r#").unwrap_or(name);
            self.result = self
                .result
                .and_then(|()| self.writer.write_str(name))
                .and_then(|()| self.writer.write_char('='));
        }
        self.result.is_ok()
    }
}

/// Whether `Debug` would write `value` as it is, in quotes: printable
/// ASCII without `"` and `\` (an id, a code, a path).
fn needs_no_escaping(value: &str) -> bool {
    // Without an early exit, so that the compiler checks many bytes at once.
    value
        .bytes()
        .map(|b| u8::from(!(b' '..=b'~').contains(&b) || b == b'"' || b == b'\\'))
        .fold(0, |any, bad| any | bad)
        == 0
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let name = field.name();
        if name == "message" {
            return self.record_debug(field, &format_args!("{value}"));
        }
        if !needs_no_escaping(value) {
            return self.record_debug(field, &value);
        }
        // What `Debug` writes, without its escaping character by character.
        if self.start(name) {
            self.result = if self.bare_strings {
                self.writer.write_str(value)
            } else {
                self.writer
                    .write_char('"')
                    .and_then(|()| self.writer.write_str(value))
                    .and_then(|()| self.writer.write_char('"'))
            };
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
        if self.start(name) {
            self.result = if name == "message" {
                write!(self.writer, "{:?}", Escaped(value))
            } else {
                write!(self.writer, "{value:?}")
            };
        }
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

    use tracing_subscriber::Layer as _;
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

    /// Logs events of every kind of field, inside a span with fields and
    /// outside it, and a `log` record, with the text layer that `layer`
    /// builds for a writer; the lines written.
    fn logged<L>(layer: impl FnOnce(Captured) -> L) -> String
    where
        L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
    {
        captured(layer, every_kind_of_event)
    }

    /// What `layer` writes for the events `emit` logs.
    fn captured<L>(layer: impl FnOnce(Captured) -> L, emit: impl FnOnce()) -> String
    where
        L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
    {
        // `log` records reach tracing through the bridge the server installs.
        let _ = tracing_log::LogTracer::init();
        let out = Captured::default();
        let subscriber = tracing_subscriber::registry().with(layer(out.clone()));
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    fn every_kind_of_event() {
        {
            let span = tracing::info_span!("request", request_id = %"abc", parent_id = "");
            span.record("parent_id", "p-1");
            let entered = span.enter();
            tracing::info!(
                target: "customer_relations::other",
                method = %"POST",
                quoted = "a \"b\"",
                unicode = "Müller\u{7f}\u{200b}",
                plain = "gw-42.a:b",
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
            let inner = tracing::debug_span!("inner");
            inner.in_scope(|| {
                log::error!(target: "some_crate::module", "from log {}", 7);
                tracing::error!("no fields");
            });
            drop(entered);
            tracing::info!(parent: None, "outside any span");
            tracing::trace!("below the filter of no one");
        }
    }

    /// tracing-subscriber's own text line, without time and colours, with
    /// `fields`.
    fn default_line<N>(
        fields: N,
    ) -> impl FnOnce(
        Captured,
    ) -> Box<
        dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync,
    >
    where
        N: for<'w> FormatFields<'w> + Send + Sync + 'static,
    {
        move |out| {
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .without_time()
                .fmt_fields(fields)
                .with_writer(out)
                .boxed()
        }
    }

    /// This service's text line, without time, with colours or not.
    fn plain_line(
        ansi: bool,
    ) -> impl FnOnce(
        Captured,
    ) -> Box<
        dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync,
    > {
        move |out| {
            tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .fmt_fields(PlainFields)
                .event_format(PlainLine { timestamps: false })
                .with_writer(out)
                .boxed()
        }
    }

    #[test]
    fn plain_fields_write_what_the_default_writes_without_colours() {
        let default = logged(default_line(
            tracing_subscriber::fmt::format::DefaultFields::new(),
        ));
        let plain = logged(default_line(PlainFields));
        assert_eq!(plain.lines().count(), 6, "{plain}");
        assert!(plain.contains(r#"quoted="a \"b\"" unicode="#), "{plain}");
        assert!(plain.contains(r#"plain="gw-42.a:b" status=200"#), "{plain}");
        assert!(!plain.contains('\x1b'), "{plain}");
        assert_eq!(plain, default);
    }

    #[test]
    fn plain_lines_are_the_defaults_lines() {
        let default = logged(default_line(PlainFields));
        let plain = logged(plain_line(false));
        assert_eq!(plain, default);
        assert!(
            plain.contains(" INFO request{request_id=abc parent_id=\"\" parent_id=\"p-1\"}: customer_relations::other: answered method=POST"),
            "{plain}"
        );
        assert!(
            plain.contains("ERROR request{request_id=abc parent_id=\"\" parent_id=\"p-1\"}:inner: some_crate::module: from log 7"),
            "{plain}"
        );
    }

    /// The request line's strings are given as they are; the text shows
    /// them as it showed them when they were given with `%` (Display):
    /// bare, unless one needs escaping (then quoted, never two lines).
    #[test]
    fn the_request_line_shows_its_strings_bare() {
        let plain = captured(plain_line(false), || {
            tracing::info!(
                target: REQUESTS_TARGET,
                parent: None,
                request_id = "gw-42",
                path = "/CustomerRelationService",
                client = "-",
                status = 200u16,
                duration_ms = Hundredths::of(Duration::from_micros(2_996)).as_str(),
                "answered"
            );
            tracing::info!(target: REQUESTS_TARGET, parent: None, odd = "a\nb \"c\"", "answered");
        });
        let display = captured(default_line(PlainFields), || {
            tracing::info!(
                target: REQUESTS_TARGET,
                parent: None,
                request_id = %"gw-42",
                path = %"/CustomerRelationService",
                client = %"-",
                status = 200u16,
                duration_ms = %format_args!("{:.2}", 2.996),
                "answered"
            );
            tracing::info!(target: REQUESTS_TARGET, parent: None, odd = "a\nb \"c\"", "answered");
        });
        assert_eq!(plain, display);
        assert_eq!(plain.lines().count(), 2, "{plain}");
        assert!(plain.contains(r#"answered odd="a\nb \"c\"""#), "{plain}");
    }

    /// The request line written straight to the batches is the line
    /// `PlainLine` writes for its event, with colours and without, for
    /// values that need escaping too.
    #[test]
    fn the_direct_request_line_is_plain_lines_line() {
        let lines = [
            RequestLine {
                request_id: "gw-42",
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
                method: "POST",
                path: "/CustomerRelationService",
                service: "CustomerRelationService",
                operation: "GetCustomerRelationsByCustomer",
                client: "demo-admin",
                outcome: "ok",
                status: 200,
                duration_ms: "0.42",
            },
            RequestLine {
                request_id: "",
                trace_id: "-",
                method: "GET",
                path: "/odd \"path\"\n\u{1b}[2J",
                service: "-",
                operation: "-",
                client: "Müller",
                outcome: "-",
                status: 65535,
                duration_ms: "12345.00",
            },
        ];
        for ansi in [false, true] {
            let by_event = captured(plain_line(ansi), || {
                for line in &lines {
                    line.event();
                }
            });
            let mut direct = String::new();
            for line in &lines {
                line.write_text(&mut direct, ansi);
            }
            assert_eq!(direct, by_event);
            assert_eq!(direct.lines().count(), 2, "{direct}");
            // A value's escape character is written as an escape.
            assert!(direct.contains("\\u{1b}[2J"), "{direct}");
            assert_eq!(direct.contains('\x1b'), ansi, "{direct}");
        }
    }

    #[test]
    fn durations_are_written_as_two_decimals_of_a_millisecond() {
        for micros in [
            0u64,
            1,
            4,
            6,
            994,
            996,
            1_000,
            2_996,
            12_341,
            999_996,
            86_400_000_004,
        ] {
            let written = Hundredths::of(Duration::from_micros(micros));
            let expected = format!("{:.2}", micros as f64 / 1000.0);
            assert_eq!(written.as_str(), expected, "{micros} µs");
        }
        let hundredths = (Duration::MAX.as_micros() + 5) / 10;
        assert_eq!(
            Hundredths::of(Duration::MAX).as_str(),
            format!("{}.{:02}", hundredths / 100, hundredths % 100)
        );
    }

    /// For a terminal: the same line, with the level, the spans and the
    /// target styled.
    #[test]
    fn coloured_lines_are_the_plain_lines_styled() {
        let (coloured, plain) = (logged(plain_line(true)), logged(plain_line(false)));
        assert!(
            coloured.contains("\x1b[32m INFO\x1b[0m \x1b[1mrequest\x1b[0m"),
            "{coloured}"
        );
        assert!(coloured.contains("\x1b[31mERROR\x1b[0m"), "{coloured}");
        let styles = regex::Regex::new("\x1b\\[[0-9]+m").unwrap();
        // The logged message's own escape is written escaped, not styled.
        assert_eq!(styles.replace_all(&coloured, ""), plain);
    }

    /// What is logged while a request is answered without a span of its
    /// own (`requests_without_spans`) is written as it would be inside the
    /// span `RequestSpans` makes, with colours and without; a root event
    /// (the request line's) and what is logged after the request are not.
    #[test]
    fn a_request_without_a_span_is_written_as_its_span() {
        use futures_util::FutureExt;
        let context = Arc::new(RequestContext {
            id: RequestId("gw-42.a:b".to_owned()),
            trace: TraceContext::from_traceparent(Some(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )),
            arrived: Instant::now(),
        });
        let within = || {
            log::warn!(target: "some_crate::module", "from log {}", 7);
            tracing::debug_span!("operation", name = "Get").in_scope(|| {
                tracing::error!(error = "gone", "failed");
            });
            tracing::info!(parent: None, "a root event");
        };
        let after = || tracing::info!("after the request");
        let styles = regex::Regex::new("\x1b\\[[0-9]+m").unwrap();
        for ansi in [false, true] {
            let with_span = captured(plain_line(ansi), || {
                request_span(&context).in_scope(within);
                after();
            });
            let without = captured(plain_line(ansi), || {
                let answered = InRequest {
                    context: context.clone(),
                    inner: Box::pin(async { within() }),
                };
                assert_eq!(answered.now_or_never(), Some(()));
                after();
            });
            assert_eq!(without, with_span);
            let plain = styles.replace_all(&without, "").into_owned();
            let span = format!(
                "request{{request_id=gw-42.a:b trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\" span_id=\"{}\" parent_id=\"00f067aa0ba902b7\"}}:",
                context.trace.span_id
            );
            let lines: Vec<&str> = plain.lines().collect();
            assert_eq!(lines.len(), 4, "{plain}");
            assert_eq!(
                lines[0],
                format!(" WARN {span} some_crate::module: from log 7")
            );
            assert_eq!(
                lines[1],
                format!(
                    "ERROR {span}operation{{name=\"Get\"}}: customer_relations::telemetry::tests: failed error=\"gone\""
                )
            );
            assert!(
                lines[2].starts_with(" INFO customer_relations::telemetry::tests: a root event"),
                "{plain}"
            );
            assert!(
                lines[3].starts_with(" INFO customer_relations::telemetry::tests: after"),
                "{plain}"
            );
        }
    }

    #[test]
    fn plain_lines_start_with_the_defaults_timestamp() {
        let with_time = |timer: bool| {
            logged(move |out| {
                let layer = tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .fmt_fields(PlainFields)
                    .with_writer(out);
                if timer {
                    layer.event_format(PlainLine { timestamps: true }).boxed()
                } else {
                    layer.boxed()
                }
            })
        };
        let (plain, default) = (with_time(true), with_time(false));
        let (plain, default): (Vec<_>, Vec<_>) =
            (plain.lines().collect(), default.lines().collect());
        assert_eq!(plain.len(), default.len());
        for (plain, default) in plain.iter().zip(&default) {
            // RFC 3339 in UTC with microseconds, then the same line.
            let (time, rest) = plain.split_at(27);
            assert_eq!(rest, &default[27..]);
            let parsed = chrono::DateTime::parse_from_rfc3339(time).unwrap();
            assert!(
                (chrono::Utc::now() - parsed.to_utc()).num_seconds().abs() < 60,
                "{time}"
            );
            assert_eq!(
                time.len(),
                default[..27].trim_end().len(),
                "{time} / {default}"
            );
            assert!(time.ends_with('Z') && time.as_bytes()[19] == b'.', "{time}");
        }
    }

    #[test]
    fn a_sane_request_id_is_kept_and_anything_else_replaced() {
        assert_eq!(RequestId::sane("gw-1234.abc:5").unwrap().0, "gw-1234.abc:5");
        for insane in ["", "a b", "x\ny", "<script>", &"a".repeat(129)] {
            assert!(RequestId::sane(insane).is_none(), "{insane:?}");
        }
    }

    #[test]
    fn ids_are_random_lower_case_hex_of_their_length() {
        let spans: Vec<String> = (0..500).map(|_| random_hex(8)).collect();
        let traces: Vec<String> = (0..500).map(|_| random_hex(16)).collect();
        for (ids, len) in [(&spans, 16), (&traces, 32)] {
            for id in ids.iter() {
                assert_eq!(id.len(), len, "{id}");
                assert!(
                    id.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                    "{id}"
                );
            }
            let distinct: std::collections::HashSet<_> = ids.iter().collect();
            assert_eq!(distinct.len(), ids.len());
        }
        // No digit is always the same, nor limited to a few values.
        for ids in [&spans, &traces] {
            for place in 0..ids[0].len() {
                let seen: std::collections::HashSet<u8> =
                    ids.iter().map(|id| id.as_bytes()[place]).collect();
                assert!(seen.len() > 8, "digit {place}: {seen:?}");
            }
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
