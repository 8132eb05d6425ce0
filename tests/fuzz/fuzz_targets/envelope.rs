//! Any bytes, read as a SOAP request the way the endpoint reads one: decoded,
//! parsed as an envelope within the default limits, and the operation
//! element decoded as its request by whichever operation of either service
//! it names (the services' own lists, so every decoder is reached), and a
//! WS-Security header as the credentials step reads it. Nothing
//! may panic, and every fault the reading produces must render as XML that
//! reads back.

#![no_main]

use customer_relations::operations::Service;
use customer_relations::soap::{
    Envelope, Fault, SoapError, SoapVersion, SourceEncoding, XmlLimits, decode_body,
};
use libfuzzer_sys::fuzz_target;

fn fault_reads_back(version: SoapVersion, fault: Fault) {
    let xml = String::from_utf8(SoapError::new(version, fault).to_xml()).expect("UTF-8 out");
    let reread = Envelope::parse(&xml, SourceEncoding::Utf8, &XmlLimits::default(), version);
    // A fault envelope is a valid envelope with one Fault in its Body.
    let envelope =
        reread.unwrap_or_else(|(_, f)| panic!("our fault does not read back: {f:?}\n{xml}"));
    assert_eq!(envelope.operation.name, "Fault");
}

fuzz_target!(|data: &[u8]| {
    let (first, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
    let version = if first & 1 == 0 { SoapVersion::V11 } else { SoapVersion::V12 };
    let charset = match first >> 1 & 3 {
        0 => None,
        1 => Some("utf-8"),
        2 => Some("utf-16"),
        _ => Some("utf-16le"),
    };
    let (xml, source) = match decode_body(rest, charset) {
        Ok(decoded) => decoded,
        Err(reason) => return fault_reads_back(version, Fault::client(reason)),
    };
    let envelope = match Envelope::parse(&xml, source, &XmlLimits::default(), version) {
        Ok(envelope) => envelope,
        Err((version, fault)) => return fault_reads_back(version, fault),
    };
    // The WS-Security header is read as the credentials step reads it.
    if let Some(block) = &envelope.security {
        let _ = customer_relations::soap::read_security_header(block);
    }
    let element = &envelope.operation;
    let operation = Service::ALL
        .iter()
        .find_map(|service| service.operation_for(element.namespace.as_deref(), &element.name));
    if let Some(Err(error)) = operation.map(|op| op.check_request(element)) {
        fault_reads_back(envelope.version, error.into());
    }
});
