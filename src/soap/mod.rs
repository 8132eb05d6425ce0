//! SOAP 1.1 and 1.2 over HTTP: reading envelopes, writing responses and
//! faults, serving the WSDL. Knows XML and nothing of the database.

mod envelope;
mod fault;
mod messages;
pub mod register_messages;
mod wsdl;
mod xml_out;
mod xml_tree;

pub use envelope::{
    Envelope, HeaderBlock, decode_body, is_supported_charset, media_type_version, response_envelope,
};
pub use fault::{Fault, IntoFault, SoapError, TypedFault};
pub use messages::{
    decode_create_customer_relation, decode_delete_customer_relation,
    decode_get_customer_relations_by_customer, decode_get_relation_types,
    encode_create_customer_relation, encode_get_customer_relations_by_customer,
    encode_relation_types,
};
pub use wsdl::{register_wsdl_template, relation_wsdl_template, wsdl_with_address};
pub use xml_out::XmlOut;
pub use xml_tree::{SourceEncoding, XmlElement, XmlLimits};

/// The namespace of the relation service's messages and types.
pub const TNS: &str = "urn:customer-relations:v1";
/// The namespace of the register service's messages and types.
pub const REGISTER_TNS: &str = "urn:customer-relations:register:v1";
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
