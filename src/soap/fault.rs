//! Every fault the service sends, rendered in one place for either SOAP
//! version.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, ResponseError};

use super::SoapVersion;
use super::message_reader::DecodeError;
use super::xml_out::XmlOut;
use crate::vocabulary::COME_BACK_AFTER;

/// A header block the service was told it must understand; a
/// MustUnderstand fault names those it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderBlock {
    pub namespace: Option<String>,
    pub name: String,
}

/// A typed fault of a service's WSDL: the name of its detail element and
/// the service namespace it is in, its message (also the fault's reason)
/// and the detail's fields after `Message`. Which domain error becomes which
/// typed fault is decided above this layer (`operations::faults`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedFault {
    pub name: &'static str,
    pub namespace: &'static str,
    pub message: String,
    pub detail: Vec<Detail>,
}

/// A field of a typed fault's detail element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    /// `<name>text</name>`
    Text(&'static str, String),
    /// `<name>…</name>` holding more fields.
    Group(&'static str, Vec<Detail>),
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
    /// One of the typed faults of the services' WSDLs. Never an internal
    /// error: those become [`Fault::Server`].
    Typed(TypedFault),
    /// The server failed. Says nothing but the request id.
    Server { request_id: String },
    /// Too many requests are waiting for the database: come back later.
    /// A Server fault with HTTP 503 and `Retry-After`.
    Busy { retry_after_secs: u64 },
}

impl Fault {
    /// The service is busy: the request did not run; retry after
    /// [`COME_BACK_AFTER`].
    pub fn busy() -> Self {
        Self::Busy {
            retry_after_secs: COME_BACK_AFTER.as_secs(),
        }
    }

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
            Self::Typed(e) => e.name,
            Self::Server { .. } => "Server",
            Self::Busy { .. } => "Busy",
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
            Self::Typed(e) => e.message.clone(),
            Self::Server { request_id } => format!(
                "The server could not process the request. Quote request id {request_id} when reporting it."
            ),
            Self::Busy { retry_after_secs } => {
                format!("The service is busy; retry in {retry_after_secs} s.")
            }
        }
    }

    fn code(&self, version: SoapVersion) -> &'static str {
        match (self, version) {
            (Self::VersionMismatch(_), _) => "VersionMismatch",
            (Self::MustUnderstand(_), _) => "MustUnderstand",
            (Self::Client { .. } | Self::Typed(_), SoapVersion::V11) => "Client",
            (Self::Client { .. } | Self::Typed(_), SoapVersion::V12) => "Sender",
            (Self::Server { .. } | Self::Busy { .. }, SoapVersion::V11) => "Server",
            (Self::Server { .. } | Self::Busy { .. }, SoapVersion::V12) => "Receiver",
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
            (Self::Busy { .. }, _) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl TypedFault {
    /// The detail element: `Message` first, then the fault's fields.
    fn write_detail(&self, out: &mut XmlOut) {
        out.open(self.name, &[("xmlns", self.namespace)]);
        out.text_element("Message", &self.message);
        write_fields(out, &self.detail);
        out.close(self.name);
    }
}

fn write_fields(out: &mut XmlOut, fields: &[Detail]) {
    for field in fields {
        match field {
            Detail::Text(name, text) => out.text_element(name, text),
            Detail::Group(name, fields) => {
                out.open(name, &[]);
                write_fields(out, fields);
                out.close(name);
            }
        }
    }
}

impl From<DecodeError> for Fault {
    fn from(error: DecodeError) -> Self {
        Fault::client(error.to_string())
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
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(ContentType(
            self.version
                .content_type()
                .parse()
                .expect("a valid media type"),
        ));
        if let Fault::Busy { retry_after_secs } = self.fault {
            response.insert_header((
                actix_web::http::header::RETRY_AFTER,
                retry_after_secs.to_string(),
            ));
        }
        response.body(self.to_xml())
    }
}
