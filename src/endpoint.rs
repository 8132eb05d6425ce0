//! The HTTP face of the services: the SOAP endpoints, their WSDLs and the
//! health check.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;

use crate::operations::{Operation, OperationContext, Service};
use crate::relations::Caller;
use crate::soap::{
    Envelope, Fault, SoapError, SoapVersion, XmlLimits, decode_body, is_supported_charset,
    media_type_version, response_envelope, wsdl_with_address,
};
use crate::store::Database;
use crate::telemetry::{Outcome, RequestId};

pub struct AppState {
    pub database: Database,
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
    pub xml_limits: XmlLimits,
}

fn request_id(request: &HttpRequest) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default()
}

fn with_outcome(
    mut response: HttpResponse,
    operation: Option<Operation>,
    result: &'static str,
) -> HttpResponse {
    response.extensions_mut().insert(Outcome {
        operation: operation.map(Operation::name),
        result,
    });
    response
}

fn fault_response(
    version: SoapVersion,
    fault: Fault,
    operation: Option<Operation>,
) -> HttpResponse {
    let error = SoapError::new(version, fault);
    let name = error.fault.name();
    with_outcome(error.error_response(), operation, name)
}

/// `POST /CustomerRelationService`.
pub async fn relation_endpoint(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    soap_endpoint(Service::Relations, request, payload, state).await
}

/// `POST /CustomerRegisterService`.
pub async fn register_endpoint(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    soap_endpoint(Service::Register, request, payload, state).await
}

async fn soap_endpoint(
    service: Service,
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(declared) = media_type_version(content_type) else {
        return fault_response(
            SoapVersion::V11,
            Fault::client_with_status(
                format!(
                    "The Content-Type '{content_type}' is not SOAP: use text/xml for SOAP 1.1 or application/soap+xml for SOAP 1.2."
                ),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            None,
        );
    };
    let params = content_type_params(content_type);
    let charset = params
        .iter()
        .find(|(k, _)| k == "charset")
        .map(|(_, v)| v.as_str());
    if let Some(charset) = charset.filter(|c| !is_supported_charset(c)) {
        return fault_response(
            declared,
            Fault::client_with_status(
                format!("The charset '{charset}' is not supported; send UTF-8 or UTF-16."),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            None,
        );
    }

    let body = match read_body(payload, state.max_body_bytes).await {
        Ok(body) => body,
        Err(fault) => return fault_response(declared, fault, None),
    };
    let (xml, source) = match decode_body(&body, charset) {
        Ok(decoded) => decoded,
        Err(reason) => return fault_response(declared, Fault::client(reason), None),
    };

    let envelope = match Envelope::parse(&xml, source, &state.xml_limits, declared) {
        Ok(envelope) => envelope,
        Err((version, fault)) => return fault_response(version, fault, None),
    };
    let version = envelope.version;
    if version != declared {
        return fault_response(
            version,
            Fault::client(format!(
                "The envelope is {} but the Content-Type '{content_type}' is for {}.",
                version.label(),
                declared.label()
            )),
            None,
        );
    }
    if !envelope.must_understand.is_empty() {
        return fault_response(
            version,
            Fault::MustUnderstand(envelope.must_understand),
            None,
        );
    }

    let element = &envelope.operation;
    let Some(operation) =
        Operation::for_element(service, element.namespace.as_deref(), &element.name)
    else {
        return fault_response(
            version,
            Fault::client(format!(
                "The {} has no operation {}; see the WSDL at {}?wsdl.",
                service.name(),
                element.qualified_name(),
                service.path()
            )),
            None,
        );
    };

    let action = match version {
        SoapVersion::V11 => request
            .headers()
            .get("SOAPAction")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        SoapVersion::V12 => params
            .into_iter()
            .find(|(k, _)| k == "action")
            .map(|(_, v)| v),
    };
    if let Some(action) = action.filter(|a| !operation.accepts_action(a)) {
        return fault_response(
            version,
            Fault::client(format!(
                "The SOAPAction '{action}' does not match the operation {}; its action is '{}'.",
                operation.name(),
                operation.soap_action()
            )),
            Some(operation),
        );
    }

    let context = OperationContext {
        database: state.database.clone(),
        caller: Caller::anonymous(),
        request_id: request_id(&request),
    };
    match operation.run(&context, element).await {
        Ok(payload) => with_outcome(
            HttpResponse::Ok()
                .insert_header(ContentType(
                    version.content_type().parse().expect("valid media type"),
                ))
                .body(response_envelope(version, payload)),
            Some(operation),
            "ok",
        ),
        Err(fault) => fault_response(version, fault, Some(operation)),
    }
}

/// Parameters of a Content-Type, names lower-cased, values unquoted.
fn content_type_params(content_type: &str) -> Vec<(String, String)> {
    content_type
        .split(';')
        .skip(1)
        .filter_map(|param| param.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            )
        })
        .collect()
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, Fault> {
    let too_large = || {
        Fault::client_with_status(
            format!("The request body is larger than {limit} bytes."),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| Fault::client(format!("The request body could not be read: {e}.")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `GET /CustomerRelationService?wsdl` (or `?WSDL`).
pub async fn relation_wsdl(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    wsdl(Service::Relations, request, state)
}

/// `GET /CustomerRegisterService?wsdl` (or `?WSDL`).
pub async fn register_wsdl(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    wsdl(Service::Register, request, state)
}

fn wsdl(service: Service, request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let path = service.path();
    if !request.query_string().eq_ignore_ascii_case("wsdl") {
        return HttpResponse::NotFound()
            .content_type(ContentType::plaintext())
            .body(format!(
                "This is a SOAP endpoint: POST SOAP envelopes here. The WSDL is at {path}?wsdl\n"
            ));
    }
    let address = match &state.public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => {
            let info = request.connection_info();
            format!("{}://{}{path}", info.scheme(), info.host())
        }
    };
    HttpResponse::Ok()
        .content_type(ContentType::xml())
        .body(wsdl_with_address(service.wsdl_template(), &address))
}

/// `GET /health`: 200 when the database answers, 503 when it does not.
pub async fn health(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let database = state.database.clone();
    let answer = web::block(move || database.ping())
        .await
        .map_err(|e| e.to_string())
        .and_then(|pinged| pinged.map_err(|e| e.to_string()));
    match answer {
        Ok(()) => HttpResponse::Ok()
            .content_type(ContentType::plaintext())
            .body("ok\n"),
        Err(error) => {
            let id = request_id(&request);
            log::error!("request_id={id} health check failed: {error}");
            HttpResponse::ServiceUnavailable()
                .content_type(ContentType::plaintext())
                .body(format!("database unavailable; request id {id}\n"))
        }
    }
}
