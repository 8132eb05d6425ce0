//! One log line per request: its id, the operation, the outcome and the
//! duration. The id is also sent back as `X-Request-Id` and is the only thing
//! a Server fault tells the client.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }
}

/// The API client a request authenticated as, for the request log.
#[derive(Debug, Clone)]
pub struct ClientName(pub String);

/// What a handler reports for the request log.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub operation: Option<&'static str>,
    /// `ok`, or the fault's name.
    pub result: &'static str,
}

pub async fn log_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = RequestId::generate();
    request.extensions_mut().insert(id.clone());
    let method = request.method().clone();
    let path = request.path().to_owned();

    let mut response = next.call(request).await?;

    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    let outcome = response.response().extensions().get::<Outcome>().cloned();
    let client = response
        .request()
        .extensions()
        .get::<ClientName>()
        .map(|c| c.0.clone());
    let client = client.as_deref().unwrap_or("-");
    let status = response.status().as_u16();
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Some(Outcome { operation, result }) => log::info!(
            "request_id={} {method} {path} operation={} client={client} outcome={result} status={status} duration_ms={millis:.2}",
            id.0,
            operation.unwrap_or("-"),
        ),
        None => log::info!(
            "request_id={} {method} {path} status={status} duration_ms={millis:.2}",
            id.0
        ),
    }
    Ok(response)
}
