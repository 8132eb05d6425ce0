//! SOAP 1.1 and 1.2 over HTTP: reading envelopes and request messages,
//! writing responses and faults, serving the WSDL. Knows XML and nothing
//! else: neither the domains nor the database.

use std::sync::LazyLock;

mod envelope;
mod fault;
mod message_reader;
mod wsdl;
mod wsse;
mod xml_out;
mod xml_tree;

pub use envelope::{
    Envelope, decode_body, is_supported_charset, media_type_version, response_envelope,
};
pub use fault::{Detail, Fault, HeaderBlock, SoapError, TypedFault};
pub use message_reader::{DecodeError, Fields, only_child};
pub use wsdl::{
    WsdlDocumentation, register_wsdl_template, relation_wsdl_template, wsdl_documentation,
    wsdl_with_address,
};
pub use wsse::{
    SecurityHeader, SecurityHeaderError, Timestamp, UsernameToken, WSSE_NS, WSU_NS,
    read_security_header,
};
pub use xml_out::XmlOut;
pub use xml_tree::{SourceEncoding, XmlElement, XmlLimits};

pub const SOAP11_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    V11,
    V12,
}

impl SoapVersion {
    pub fn envelope_namespace(self) -> &'static str {
        match self {
            Self::V11 => SOAP11_ENV,
            Self::V12 => SOAP12_ENV,
        }
    }

    /// The prefix this service writes; clients may use any.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::V11 => "soap",
            Self::V12 => "env",
        }
    }

    /// What an answer's payload goes between: the XML declaration, the
    /// envelope and its body opened (with `prefix()` bound to
    /// `envelope_namespace()`), and both closed. Made once, so that no
    /// answer builds them; a unit test holds them to what quick-xml writes.
    pub fn envelope_ends(self) -> [&'static str; 2] {
        static ENDS: LazyLock<[[String; 2]; 2]> = LazyLock::new(|| {
            [SoapVersion::V11, SoapVersion::V12].map(|version| {
                let (p, namespace) = (version.prefix(), version.envelope_namespace());
                [
                    format!(
                        r#"<?xml version="1.0" encoding="utf-8"?><{p}:Envelope xmlns:{p}="{namespace}"><{p}:Body>"#
                    ),
                    format!("</{p}:Body></{p}:Envelope>"),
                ]
            })
        });
        let [head, tail] = match self {
            Self::V11 => &ENDS[0],
            Self::V12 => &ENDS[1],
        };
        [head, tail]
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::V11 => "text/xml; charset=utf-8",
            Self::V12 => "application/soap+xml; charset=utf-8",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::V11 => "SOAP 1.1",
            Self::V12 => "SOAP 1.2",
        }
    }
}
