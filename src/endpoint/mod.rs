//! The HTTP face of the services: the SOAP endpoints, their WSDLs and the
//! health check. A SOAP request goes through the steps of
//! `answer`, each a function of its own; the first that refuses the
//! request answers with its fault.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{FutureExt, StreamExt};

mod credentials;

use credentials::{BASIC_CHALLENGE, authenticate};

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::monitoring::Metrics;
use crate::operations::faults::access_denied;
use crate::operations::{Caller, Operation, OperationContext, Service};
use crate::soap::{
    Envelope, Fault, SoapError, SoapVersion, XmlLimits, XmlOut, decode_body, is_supported_charset,
    media_type_version, response_envelope, wsdl_with_address,
};
use crate::store::{Database, Unready};
use crate::telemetry::{ClientName, Outcome, RequestContext};

pub struct AppState {
    pub database: Database,
    /// Checks each request's credentials (README, "Security").
    pub authenticator: Arc<Authenticator>,
    /// What `/metrics` shows (README, "Metrics").
    pub metrics: Arc<Metrics>,
    pub public_url: Option<String>,
    /// Whether the WSDL's address may come from a proxy's `Forwarded` and
    /// `X-Forwarded-*` headers.
    pub trust_forwarded_headers: bool,
    pub max_body_bytes: usize,
    /// How long a client may take to send a body.
    pub body_timeout: std::time::Duration,
    /// How long a request may spend on the database.
    pub database_timeout: std::time::Duration,
    /// Requests at the database now, and the most there may be.
    pub at_database: Slots,
    /// See `Settings::panic_trigger`.
    #[cfg(debug_assertions)]
    pub panic_trigger: bool,
    /// See `Settings::switched_off`.
    #[cfg(feature = "bench-switches")]
    pub switched_off: crate::settings::SwitchedOff,
    pub xml_limits: XmlLimits,
}

impl AppState {
    /// Whether SOAP requests are counted for `/metrics`: always, but when
    /// the load benchmark measures what counting costs.
    fn counts(&self) -> bool {
        #[cfg(feature = "bench-switches")]
        if self.switched_off.metrics {
            return false;
        }
        true
    }

    /// The caller of every request when the load benchmark measures what
    /// authentication costs; otherwise `None`: credentials decide.
    fn unauthenticated_caller(&self) -> Option<Caller> {
        #[cfg(feature = "bench-switches")]
        if self.switched_off.authentication {
            return Some(Caller::new(
                "benchmark",
                crate::vocabulary::Role::Admin,
                None,
            ));
        }
        None
    }
}

fn request_id(request: &HttpRequest) -> String {
    RequestContext::of(request)
        .map(|context| context.id.0.clone())
        .unwrap_or_default()
}

fn with_outcome(
    mut response: HttpResponse,
    service: Service,
    operation: Option<&Operation>,
    result: &'static str,
) -> HttpResponse {
    response.extensions_mut().insert(Outcome {
        service: Some(service.name()),
        operation: operation.map(Operation::name),
        result,
    });
    response
}

/// A bounded count of requests at the database: beyond it a request is
/// told to come back rather than queued, so that the ones served keep
/// their pace.
pub struct Slots {
    taken: AtomicUsize,
    max: usize,
}

impl Slots {
    pub fn new(max: usize) -> Self {
        Self {
            taken: AtomicUsize::new(0),
            max,
        }
    }

    /// How many are taken now.
    pub fn taken(&self) -> usize {
        self.taken.load(Ordering::Acquire)
    }

    /// A slot, given back when dropped; `None` when all are taken.
    fn take(&self) -> Option<Slot<'_>> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < self.max).then_some(taken + 1)
            })
            .ok()
            .map(|_| Slot(&self.taken))
    }
}

struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request refused by one of the steps: the fault, in the SOAP version
/// known by then, and the operation if it was known.
struct Refusal {
    version: SoapVersion,
    fault: Fault,
    operation: Option<&'static Operation>,
    /// The request had no credentials at all: 401 with an HTTP Basic
    /// challenge, which clients such as .NET's wait for before they send
    /// their credentials.
    challenge: bool,
}

impl Refusal {
    fn new(version: SoapVersion, fault: Fault) -> Self {
        Self {
            version,
            fault,
            operation: None,
            challenge: false,
        }
    }

    fn of(version: SoapVersion, operation: &'static Operation, fault: Fault) -> Self {
        Self {
            operation: Some(operation),
            ..Self::new(version, fault)
        }
    }
}

/// A request that was answered: the response payload of its operation.
struct Answer {
    version: SoapVersion,
    operation: &'static Operation,
    payload: XmlOut,
}

/// `POST` on a service's path: a SOAP request.
pub async fn soap_endpoint(
    service: Service,
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let _in_flight = state.counts().then(|| state.metrics.in_flight());
    let answered = unless_panicked(answer(service, &request, payload, &state), &request).await;
    let response = respond(service, answered);
    if state.counts()
        && let Some(outcome) = response.extensions().get::<Outcome>()
    {
        state.metrics.answered(
            service.name(),
            outcome.operation.unwrap_or("unknown"),
            outcome.result,
            started.elapsed(),
        );
    }
    response
}

/// The HTTP response for an answer or a refusal.
fn respond(service: Service, answered: Result<Answer, Refusal>) -> HttpResponse {
    match answered {
        Ok(Answer {
            version,
            operation,
            payload,
        }) => with_outcome(
            HttpResponse::Ok()
                .insert_header((
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static(version.content_type()),
                ))
                .body(response_envelope(version, payload)),
            service,
            Some(operation),
            "ok",
        ),
        Err(Refusal {
            version,
            fault,
            operation,
            challenge,
        }) => {
            let error = SoapError::new(version, fault);
            let name = error.fault.name();
            let mut response = error.error_response();
            if challenge {
                *response.status_mut() = StatusCode::UNAUTHORIZED;
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static(BASIC_CHALLENGE),
                );
            }
            // The body was not read to its end: the connection cannot carry
            // another request.
            if matches!(
                response.status(),
                StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
            ) {
                response
                    .head_mut()
                    .set_connection_type(actix_web::http::ConnectionType::Close);
            }
            with_outcome(response, service, operation, name)
        }
    }
}

/// The answer, or a Server fault naming the request id if answering
/// panicked: a bug must not drop the client's connection, and the log line
/// with the request id says where it happened.
async fn unless_panicked(
    answer: impl Future<Output = Result<Answer, Refusal>>,
    request: &HttpRequest,
) -> Result<Answer, Refusal> {
    match AssertUnwindSafe(answer).catch_unwind().await {
        Ok(answered) => answered,
        Err(panic) => {
            let id = request_id(request);
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            log::error!("request_id={id} the request panicked: {what}");
            let version = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(media_type_version)
                .unwrap_or(SoapVersion::V11);
            Err(Refusal::new(version, Fault::Server { request_id: id }))
        }
    }
}

/// The steps of a SOAP request, in order.
async fn answer(
    service: Service,
    request: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Answer, Refusal> {
    let content_type = SoapContentType::read(request)?;
    let body = read_body(request, payload, state.max_body_bytes, state.body_timeout)
        .await
        .and_then(|body| {
            let encoding = request
                .headers()
                .get(header::CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok());
            crate::compression::decode_body(encoding, body, state.max_body_bytes)
        })
        .map_err(|fault| Refusal::new(content_type.version, fault))?;
    let envelope = tracing::debug_span!("read_envelope", bytes = body.len())
        .in_scope(|| read_envelope(&body, &content_type, &state.xml_limits))?;
    let version = envelope.version;
    let operation = find_operation(service, &envelope)?;
    check_action(request, &content_type, operation)
        .map_err(|fault| Refusal::of(version, operation, fault))?;
    let caller = match state.unauthenticated_caller() {
        Some(caller) => caller,
        None => tracing::debug_span!("authenticate")
            .in_scope(|| authenticate(request, &envelope, operation, state))?,
    };
    request
        .extensions_mut()
        .insert(ClientName(caller.name().to_owned()));
    if !operation.allows(&caller) {
        let message = format!(
            "Client '{}' has the role {}, which may not call {}.",
            caller.name(),
            caller.role(),
            operation.name()
        );
        let fault = access_denied(service, message, caller.name(), operation.name());
        return Err(Refusal::of(version, operation, fault));
    }
    let context = OperationContext {
        database: state.database.clone(),
        caller,
        request_id: request_id(request),
        deadline: state.database_timeout,
        #[cfg(debug_assertions)]
        panic_on_database: state.panic_trigger && test_panic(request) == Some("database"),
    };
    #[cfg(debug_assertions)]
    if state.panic_trigger && test_panic(request) == Some("answering") {
        panic!("X-Test-Panic: answering");
    }
    let Some(_slot) = state.at_database.take() else {
        state.database.refused_as_busy();
        return Err(Refusal::of(version, operation, Fault::busy()));
    };
    let run = operation.run(&context, &envelope.operation);
    let span = tracing::debug_span!("operation", name = operation.name());
    match tracing::Instrument::instrument(run, span).await {
        Ok(payload) => Ok(Answer {
            version,
            operation,
            payload,
        }),
        Err(fault) => {
            if matches!(fault, Fault::Server { .. }) {
                state.metrics.database_error();
            }
            Err(Refusal::of(version, operation, fault))
        }
    }
}

/// The test trigger's header (debug builds with the trigger on only).
#[cfg(debug_assertions)]
fn test_panic(request: &HttpRequest) -> Option<&str> {
    request
        .headers()
        .get("X-Test-Panic")
        .and_then(|v| v.to_str().ok())
}

/// What the Content-Type says: the SOAP version its media type stands for,
/// and its parameters (names lower-cased, values unquoted).
struct SoapContentType {
    raw: String,
    version: SoapVersion,
}

impl SoapContentType {
    /// Refuses a media type that is not SOAP, or a charset not read.
    fn read(request: &HttpRequest) -> Result<Self, Refusal> {
        let raw = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let Some(version) = media_type_version(&raw) else {
            return Err(Refusal::new(
                SoapVersion::V11,
                Fault::client_with_status(
                    format!(
                        "The Content-Type '{raw}' is not SOAP: use text/xml for SOAP 1.1 or application/soap+xml for SOAP 1.2."
                    ),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ),
            ));
        };
        let content_type = Self { raw, version };
        if let Some(charset) = content_type.charset().filter(|c| !is_supported_charset(c)) {
            return Err(Refusal::new(
                version,
                Fault::client_with_status(
                    format!("The charset '{charset}' is not supported; send UTF-8 or UTF-16."),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ),
            ));
        }
        Ok(content_type)
    }

    /// The first parameter of that name (in any case), unquoted; read from
    /// the header when asked, which costs no copies.
    fn param(&self, name: &str) -> Option<&str> {
        self.raw
            .split(';')
            .skip(1)
            .filter_map(|param| param.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().trim_matches('"'))
    }

    fn charset(&self) -> Option<&str> {
        self.param("charset")
    }
}

/// Reads the body up to `limit` bytes within `timeout`. A larger body is a
/// Client fault with 413, refused at once when its Content-Length says so;
/// a body that has not arrived in time is one with 408. Either way the
/// connection is closed after the answer.
async fn read_body(
    request: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<web::BytesMut, Fault> {
    let too_large = || {
        Fault::client_with_status(
            format!("The request body is larger than {limit} bytes."),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    actix_web::rt::time::timeout(timeout, read_all(payload, limit, too_large))
        .await
        .unwrap_or_else(|_| {
            Err(Fault::client_with_status(
                format!(
                    "The request body did not arrive within {} s.",
                    timeout.as_secs_f64()
                ),
                StatusCode::REQUEST_TIMEOUT,
            ))
        })
}

async fn read_all(
    mut payload: web::Payload,
    limit: usize,
    too_large: impl Fn() -> Fault,
) -> Result<web::BytesMut, Fault> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        // The HTTP layer's own words would mean nothing to the client.
        let chunk = chunk.map_err(|_| {
            Fault::client(
                "The request body could not be read: it ended early or its chunked encoding is broken.",
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Decodes the body and reads the envelope: of the version the Content-Type
/// declared, with no header block it must understand.
fn read_envelope(
    body: &[u8],
    content_type: &SoapContentType,
    limits: &XmlLimits,
) -> Result<Envelope, Refusal> {
    let declared = content_type.version;
    let (xml, source) = decode_body(body, content_type.charset())
        .map_err(|reason| Refusal::new(declared, Fault::client(reason)))?;
    let envelope = Envelope::parse(&xml, source, limits, declared)
        .map_err(|(version, fault)| Refusal::new(version, fault))?;
    let version = envelope.version;
    if version != declared {
        return Err(Refusal::new(
            version,
            Fault::client(format!(
                "The envelope is {} but the Content-Type '{}' is for {}.",
                version.label(),
                content_type.raw,
                declared.label()
            )),
        ));
    }
    if !envelope.must_understand.is_empty() {
        return Err(Refusal::new(
            version,
            Fault::MustUnderstand(envelope.must_understand),
        ));
    }
    Ok(envelope)
}

/// The service's operation that the Body's element names.
fn find_operation(service: Service, envelope: &Envelope) -> Result<&'static Operation, Refusal> {
    let element = &envelope.operation;
    service
        .operation_for(element.namespace.as_deref(), &element.name)
        .ok_or_else(|| {
            Refusal::new(
                envelope.version,
                Fault::client(format!(
                    "The {} has no operation {}; see the WSDL at {}?wsdl.",
                    service.name(),
                    element.qualified_name(),
                    service.path()
                )),
            )
        })
}

/// A SOAPAction (SOAP 1.1's header, SOAP 1.2's `action` parameter) that
/// names an operation must name this one.
fn check_action(
    request: &HttpRequest,
    content_type: &SoapContentType,
    operation: &Operation,
) -> Result<(), Fault> {
    let action = match content_type.version {
        SoapVersion::V11 => request
            .headers()
            .get("SOAPAction")
            .and_then(|v| v.to_str().ok()),
        SoapVersion::V12 => content_type.param("action"),
    };
    match action.filter(|a| !operation.accepts_action(a)) {
        Some(action) => Err(Fault::client(format!(
            "The SOAPAction '{action}' does not match the operation {}; its action is '{}'.",
            operation.name(),
            operation.soap_action()
        ))),
        None => Ok(()),
    }
}

/// `GET /`: the list of services.
pub async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(crate::service_page::index())
}

/// Any other method on a service's path.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET, HEAD, POST"))
        .content_type(ContentType::plaintext())
        .body("POST SOAP envelopes here; GET ?wsdl for the WSDL.\n")
}

/// Whether the query asks for the WSDL: a `wsdl` parameter (any case), with
/// whatever other parameters a tool adds.
fn asks_for_wsdl(query: &str) -> bool {
    query
        .split('&')
        .any(|param| param.eq_ignore_ascii_case("wsdl") || param.eq_ignore_ascii_case("wsdl="))
}

/// `GET` (or `HEAD`) on a service's path: its WSDL at `?wsdl` (or
/// `?WSDL`), its service page otherwise.
pub async fn wsdl(
    service: Service,
    request: HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    let path = service.path();
    if !asks_for_wsdl(request.query_string()) {
        return HttpResponse::Ok()
            .content_type(ContentType::html())
            .body(crate::service_page::service_page(service));
    }
    let base = match &state.public_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => match request_base(&request, state.trust_forwarded_headers) {
            Ok(base) => base,
            Err(host) => {
                return HttpResponse::BadRequest()
                    .content_type(ContentType::plaintext())
                    .body(format!(
                        "The Host '{host}' is not a host and port, and the WSDL's address is made from it (or from --public-url).\n"
                    ));
            }
        },
    };
    HttpResponse::Ok()
        .content_type(ContentType::xml())
        .body(wsdl_with_address(
            service.wsdl_template(),
            &format!("{base}{path}"),
        ))
}

/// `scheme://host[:port]` as the client reached this instance: the Host
/// header (or HTTP/2's authority) over plain HTTP; the proxy's
/// `Forwarded`/`X-Forwarded-*` headers only when they are trusted. The
/// refusal is the host as given, when it is not a host and port.
fn request_base(request: &HttpRequest, trust_forwarded: bool) -> Result<String, String> {
    let (scheme, host) = if trust_forwarded {
        let info = request.connection_info();
        (info.scheme().to_owned(), info.host().to_owned())
    } else {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| request.uri().authority().map(|a| a.to_string()))
            .unwrap_or_default();
        ("http".to_owned(), host)
    };
    // Letters, digits and the punctuation of names, IPv4 and [IPv6]
    // addresses and a port; and the url crate must read it as just that.
    let characters_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(c));
    let valid = characters_ok
        && url::Url::parse(&format!("{scheme}://{host}/"))
            .is_ok_and(|url| url.host().is_some() && url.path() == "/");
    if valid {
        Ok(format!("{scheme}://{host}"))
    } else {
        Err(host)
    }
}

/// `GET /metrics`: the Prometheus text format (README, "Metrics").
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let text = state.metrics.render(
        state.database.pool_state(),
        state.at_database.taken(),
        crate::log_writer::dropped_lines(),
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}

/// How long the readiness probe waits for the database: Kubernetes' probes
/// give up after 1 s by default, so it answers before that whatever the
/// database does.
const READY_DEADLINE: std::time::Duration = std::time::Duration::from_millis(800);

/// `GET /health/live`: the process serves requests. Never touches the
/// database, so a database outage does not get the instance restarted.
pub async fn live() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body("live\n")
}

/// `GET /health/ready` (and `/health`): 200 when the database answers and
/// has run every migration this binary knows; 503 with the reason
/// (unreachable, failing, migrations pending, or not answering in time)
/// otherwise, within `READY_DEADLINE`.
pub async fn ready(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let database = state.database.clone();
    let unreachable = database.unreachable();
    let checked =
        actix_web::rt::time::timeout(READY_DEADLINE, web::block(move || database.readiness()));
    let failure = match checked.await {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(Unready::MigrationsPending(n)))) => Some((
            "migrations pending",
            format!("{n} migration(s) have not run; run `customer-relations migrate`"),
        )),
        Ok(Ok(Err(Unready::Failing(error)))) if unreachable.is_some() => {
            Some(("database unreachable", error.to_string()))
        }
        Ok(Ok(Err(Unready::Failing(error)))) => Some(("database failing", error.to_string())),
        Ok(Err(panicked)) => Some(("database failing", panicked.to_string())),
        Err(_) => Some((
            "database timed out",
            format!("no answer within {} s", READY_DEADLINE.as_secs_f64()),
        )),
    };
    match failure {
        None => HttpResponse::Ok()
            .content_type(ContentType::plaintext())
            .body("ok\n"),
        Some((reason, cause)) => {
            let id = request_id(&request);
            log::error!("request_id={id} readiness check failed: {reason}: {cause}");
            HttpResponse::ServiceUnavailable()
                .content_type(ContentType::plaintext())
                .body(format!("{reason}; request id {id}\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn content_type_parameters_are_read_in_any_case_the_first_of_a_name() {
        let request = TestRequest::post()
            .insert_header((
                header::CONTENT_TYPE,
                "application/soap+xml; Charset=\"UTF-16\" ; ACTION = \"urn:x/Y\"; action=urn:x/Z; empty",
            ))
            .to_http_request();
        let Ok(content_type) = SoapContentType::read(&request) else {
            panic!("a SOAP 1.2 content type in UTF-16")
        };
        assert_eq!(content_type.version, SoapVersion::V12);
        assert_eq!(content_type.charset(), Some("UTF-16"));
        assert_eq!(content_type.param("action"), Some("urn:x/Y"));
        assert_eq!(content_type.param("empty"), None);
        assert_eq!(content_type.param("type"), None);
    }

    #[actix_web::test]
    async fn a_panic_while_answering_is_a_server_fault_with_the_request_id() {
        let request = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/soap+xml"))
            .to_http_request();
        request
            .extensions_mut()
            .insert(std::sync::Arc::new(RequestContext::new(
                crate::telemetry::RequestId("a1b2".to_owned()),
            )));
        let panicking = async { panic!("a bug") };
        let Err(refusal) = unless_panicked(panicking, &request).await else {
            panic!("a panic is not an answer");
        };
        assert_eq!(refusal.version, SoapVersion::V12);
        let response = SoapError::new(refusal.version, refusal.fault).error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.into_body().try_into_bytes().unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            body.contains("env:Receiver") && body.contains("a1b2"),
            "{body}"
        );
        assert!(!body.contains("a bug"), "{body}");
    }
}
