//! Every fault the service sends, rendered in one place for either SOAP
//! version.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, ResponseError};

use super::envelope::HeaderBlock;
use super::xml_out::XmlOut;
use super::{REGISTER_TNS, SoapVersion, TNS};
use crate::register::RegisterError;
use crate::relations::{FieldError, InternalError, RelationError};

/// A fault of one of the services' WSDLs, with a detail element. Never holds
/// an internal error: those become [`Fault::Server`].
#[derive(Debug)]
pub enum TypedFault {
    Relation(RelationError),
    Register(RegisterError),
}

/// An operation's error: either a typed fault for the client, or an
/// internal error that the client only learns the request id of.
pub trait IntoFault: From<InternalError> + Send + 'static {
    fn into_fault(self, request_id: &str) -> Fault;
}

fn server_fault(internal: InternalError, request_id: &str) -> Fault {
    log::error!("request_id={request_id} internal error: {internal}");
    Fault::Server {
        request_id: request_id.to_owned(),
    }
}

impl IntoFault for RelationError {
    fn into_fault(self, request_id: &str) -> Fault {
        match self {
            RelationError::Internal(internal) => server_fault(internal, request_id),
            typed => Fault::Typed(TypedFault::Relation(typed)),
        }
    }
}

impl IntoFault for RegisterError {
    fn into_fault(self, request_id: &str) -> Fault {
        match self {
            RegisterError::Internal(internal) => server_fault(internal, request_id),
            typed => Fault::Typed(TypedFault::Register(typed)),
        }
    }
}

#[derive(Debug)]
pub enum Fault {
    /// The envelope is of a SOAP version the service does not speak.
    VersionMismatch(String),
    /// Header blocks marked mustUnderstand that the service does not know.
    MustUnderstand(Vec<HeaderBlock>),
    /// The request itself is wrong: not XML, not SOAP, unknown operation,
    /// not valid against the schema. `status` overrides the HTTP status
    /// where HTTP has a better word (413, 415).
    Client {
        reason: String,
        status: Option<StatusCode>,
    },
    /// One of the typed faults of the services' WSDLs.
    Typed(TypedFault),
    /// The server failed. Says nothing but the request id.
    Server { request_id: String },
}

impl Fault {
    pub fn client(reason: impl Into<String>) -> Self {
        Self::Client {
            reason: reason.into(),
            status: None,
        }
    }

    pub fn client_with_status(reason: impl Into<String>, status: StatusCode) -> Self {
        Self::Client {
            reason: reason.into(),
            status: Some(status),
        }
    }

    /// The fault's name as the request log shows it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::VersionMismatch(_) => "VersionMismatch",
            Self::MustUnderstand(_) => "MustUnderstand",
            Self::Client { .. } => "Client",
            Self::Typed(e) => e.name(),
            Self::Server { .. } => "Server",
        }
    }

    fn reason(&self) -> String {
        match self {
            Self::VersionMismatch(reason) | Self::Client { reason, .. } => reason.clone(),
            Self::MustUnderstand(blocks) => {
                let names: Vec<_> = blocks
                    .iter()
                    .map(|b| match &b.namespace {
                        Some(ns) => format!("{{{ns}}}{}", b.name),
                        None => b.name.clone(),
                    })
                    .collect();
                format!(
                    "The service does not understand the header block(s) {} marked mustUnderstand.",
                    names.join(", ")
                )
            }
            Self::Typed(e) => e.message(),
            Self::Server { request_id } => format!(
                "The server could not process the request. Quote request id {request_id} when reporting it."
            ),
        }
    }

    fn code(&self, version: SoapVersion) -> &'static str {
        match (self, version) {
            (Self::VersionMismatch(_), _) => "VersionMismatch",
            (Self::MustUnderstand(_), _) => "MustUnderstand",
            (Self::Client { .. } | Self::Typed(_), SoapVersion::V11) => "Client",
            (Self::Client { .. } | Self::Typed(_), SoapVersion::V12) => "Sender",
            (Self::Server { .. }, SoapVersion::V11) => "Server",
            (Self::Server { .. }, SoapVersion::V12) => "Receiver",
        }
    }

    /// SOAP 1.1 sends every fault with 500; SOAP 1.2 sends Sender faults
    /// with 400 and the others with 500.
    fn status(&self, version: SoapVersion) -> StatusCode {
        match (self, version) {
            (
                Self::Client {
                    status: Some(s), ..
                },
                _,
            ) => *s,
            (Self::Client { .. } | Self::Typed(_), SoapVersion::V12) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl TypedFault {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Relation(e) => relation_fault_name(e),
            Self::Register(e) => register_fault_name(e),
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Relation(e) => e.to_string(),
            Self::Register(e) => e.to_string(),
        }
    }

    /// The detail element: `Message` first, then the fault's fields.
    fn write_detail(&self, out: &mut XmlOut) {
        let name = self.name();
        let namespace = match self {
            Self::Relation(_) => TNS,
            Self::Register(_) => REGISTER_TNS,
        };
        out.open(name, &[("xmlns", namespace)]);
        out.text_element("Message", &self.message());
        match self {
            Self::Relation(e) => write_relation_detail(out, e),
            Self::Register(e) => write_register_detail(out, e),
        }
        out.close(name);
    }
}

fn relation_fault_name(error: &RelationError) -> &'static str {
    match error {
        RelationError::RelationTypeNotFound { .. } => "RelationTypeNotFoundFault",
        RelationError::CustomerNotFound { .. } => "CustomerNotFoundFault",
        RelationError::EntityValidation(_) => "EntityValidationFault",
        RelationError::InvalidReference { .. } => "InvalidReferenceFault",
        RelationError::AlreadyExists { .. } => "CustomerRelationAlreadyExistsFault",
        RelationError::RelationNotFound { .. } => "CustomerRelationNotFoundFault",
        RelationError::Internal(_) => "Server",
    }
}

fn register_fault_name(error: &RegisterError) -> &'static str {
    match error {
        RegisterError::EntityValidation(_) => "EntityValidationFault",
        RegisterError::NotFound { entity, .. } => entity.not_found_fault(),
        RegisterError::AlreadyExists { entity, .. } => entity.already_exists_fault(),
        RegisterError::InUse { .. } => "InUseFault",
        RegisterError::Internal(_) => "Server",
    }
}

fn write_validation_errors(out: &mut XmlOut, errors: &[FieldError]) {
    out.open("ValidationErrors", &[]);
    for e in errors {
        out.open("ValidationError", &[]);
        out.text_element("Field", e.field);
        out.text_element("Message", &e.message);
        out.close("ValidationError");
    }
    out.close("ValidationErrors");
}

fn write_relation_detail(out: &mut XmlOut, error: &RelationError) {
    match error {
        RelationError::RelationTypeNotFound { code } => out.text_element("RelationTypeCode", code),
        RelationError::CustomerNotFound {
            customer_number, ..
        } => out.text_element("CustomerNumber", &customer_number.to_string()),
        RelationError::EntityValidation(errors) => write_validation_errors(out, errors),
        RelationError::InvalidReference {
            relation_type_code,
            reference_type,
            reference,
            ..
        } => {
            out.text_element("RelationTypeCode", relation_type_code);
            out.text_element("ReferenceType", reference_type.as_str());
            out.text_element("Reference", reference);
        }
        RelationError::AlreadyExists { existing_id } => {
            out.text_element("ExistingId", &existing_id.to_string())
        }
        RelationError::RelationNotFound { id } => out.text_element("Id", &id.to_string()),
        RelationError::Internal(_) => {}
    }
}

fn write_register_detail(out: &mut XmlOut, error: &RegisterError) {
    match error {
        RegisterError::EntityValidation(errors) => write_validation_errors(out, errors),
        RegisterError::NotFound { entity, key } | RegisterError::AlreadyExists { entity, key } => {
            out.text_element(entity.key_element(), key)
        }
        RegisterError::InUse {
            entity,
            key,
            references,
            ..
        } => {
            out.text_element("Entity", entity.name());
            out.text_element("Key", key);
            out.text_element("ReferenceCount", &references.to_string());
        }
        RegisterError::Internal(_) => {}
    }
}

/// A fault on its way out, in the SOAP version of the request.
#[derive(Debug)]
pub struct SoapError {
    pub version: SoapVersion,
    pub fault: Fault,
}

impl fmt::Display for SoapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.fault.name(), self.fault.reason())
    }
}

impl SoapError {
    pub fn new(version: SoapVersion, fault: Fault) -> Self {
        Self { version, fault }
    }

    pub fn to_xml(&self) -> Vec<u8> {
        let version = self.version;
        let p = version.prefix();
        let q = |local: &str| format!("{p}:{local}");
        let code = q(self.fault.code(version));
        let mut out = XmlOut::new();
        out.declaration();
        out.open(
            &q("Envelope"),
            &[(&format!("xmlns:{p}"), version.envelope_namespace())],
        );
        if let (SoapVersion::V12, Fault::MustUnderstand(blocks)) = (version, &self.fault) {
            out.open(&q("Header"), &[]);
            for block in blocks {
                let qname = if block.namespace.is_some() {
                    format!("h:{}", block.name)
                } else {
                    block.name.clone()
                };
                let mut attributes = vec![("qname", qname.as_str())];
                if let Some(ns) = &block.namespace {
                    attributes.push(("xmlns:h", ns));
                }
                out.empty(&q("NotUnderstood"), &attributes);
            }
            out.close(&q("Header"));
        }
        out.open(&q("Body"), &[]);
        out.open(&q("Fault"), &[]);
        match version {
            SoapVersion::V11 => {
                out.text_element("faultcode", &code);
                out.text_element("faultstring", &self.fault.reason());
                if let Fault::Typed(error) = &self.fault {
                    out.open("detail", &[]);
                    error.write_detail(&mut out);
                    out.close("detail");
                }
            }
            SoapVersion::V12 => {
                out.open(&q("Code"), &[]);
                out.text_element(&q("Value"), &code);
                out.close(&q("Code"));
                out.open(&q("Reason"), &[]);
                out.text_element_with(&q("Text"), &[("xml:lang", "en")], &self.fault.reason());
                out.close(&q("Reason"));
                if let Fault::Typed(error) = &self.fault {
                    out.open(&q("Detail"), &[]);
                    error.write_detail(&mut out);
                    out.close(&q("Detail"));
                }
            }
        }
        out.close(&q("Fault"));
        out.close(&q("Body"));
        out.close(&q("Envelope"));
        out.into_bytes()
    }
}

impl ResponseError for SoapError {
    fn status_code(&self) -> StatusCode {
        self.fault.status(self.version)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header(ContentType(
                self.version
                    .content_type()
                    .parse()
                    .expect("a valid media type"),
            ))
            .body(self.to_xml())
    }
}
