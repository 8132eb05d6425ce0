//! The SOAP envelope: its version, its header blocks and the one element of
//! its Body.

use super::fault::{Fault, HeaderBlock};
use super::wsse::WSSE_NS;
use super::xml_tree::{SourceEncoding, XmlElement, XmlLimits, parse_document};
use super::{SOAP11_ENV, SOAP12_ENV, SoapVersion};

const SOAP11_ACTOR_NEXT: &str = "http://schemas.xmlsoap.org/soap/actor/next";
const SOAP12_ROLE_NEXT: &str = "http://www.w3.org/2003/05/soap-envelope/role/next";
const SOAP12_ROLE_ULTIMATE: &str = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver";

#[derive(Debug)]
pub struct Envelope {
    pub version: SoapVersion,
    /// Header blocks addressed to this service with mustUnderstand set
    /// that it does not understand.
    pub must_understand: Vec<HeaderBlock>,
    /// The `wsse:Security` header block addressed to this service, if any
    /// (it is understood, so mustUnderstand on it is honoured).
    pub security: Option<XmlElement>,
    /// The Body's one child: the operation element.
    pub operation: XmlElement,
}

/// Whether a Content-Type charset names an encoding [`decode_body`] reads.
pub fn is_supported_charset(charset: &str) -> bool {
    ["utf-8", "utf8", "utf-16", "utf-16le", "utf-16be"]
        .iter()
        .any(|known| charset.eq_ignore_ascii_case(known))
}

/// The request body as text. UTF-8 (with or without a byte order mark) and
/// UTF-16 (with a byte order mark, or named by the charset) are accepted, as
/// WS-I Basic Profile requires.
pub fn decode_body(body: &[u8], charset: Option<&str>) -> Result<(String, SourceEncoding), String> {
    let charset = charset.map(str::to_ascii_lowercase);
    let utf16 = |bytes: &[u8], from: fn([u8; 2]) -> u16| {
        if !bytes.len().is_multiple_of(2) {
            return Err(
                "The request is not valid UTF-16: it has an odd number of bytes.".to_owned(),
            );
        }
        let units = bytes.chunks_exact(2).map(|pair| from([pair[0], pair[1]]));
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map(|text| (text, SourceEncoding::Utf16))
            .map_err(|_| "The request is not valid UTF-16.".to_owned())
    };
    match (body, charset.as_deref()) {
        ([0xEF, 0xBB, 0xBF, rest @ ..], None | Some("utf-8" | "utf8")) => utf8(rest),
        ([0xFF, 0xFE, rest @ ..], None | Some("utf-16" | "utf-16le")) => {
            utf16(rest, u16::from_le_bytes)
        }
        ([0xFE, 0xFF, rest @ ..], None | Some("utf-16" | "utf-16be")) => {
            utf16(rest, u16::from_be_bytes)
        }
        (_, Some("utf-16le")) => utf16(body, u16::from_le_bytes),
        (_, Some("utf-16be")) => utf16(body, u16::from_be_bytes),
        (_, Some("utf-16")) => {
            Err("A UTF-16 request must start with a byte order mark.".to_owned())
        }
        (_, None | Some("utf-8" | "utf8")) => utf8(body),
        (_, Some(other)) => Err(format!(
            "The charset '{other}' is not supported; send UTF-8 or UTF-16."
        )),
    }
}

fn utf8(bytes: &[u8]) -> Result<(String, SourceEncoding), String> {
    String::from_utf8(bytes.to_vec())
        .map(|text| (text, SourceEncoding::Utf8))
        .map_err(|_| "The request is not valid UTF-8.".to_owned())
}

/// The SOAP version that a Content-Type's media type stands for.
pub fn media_type_version(content_type: &str) -> Option<SoapVersion> {
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("text/xml") {
        Some(SoapVersion::V11)
    } else if media_type.eq_ignore_ascii_case("application/soap+xml") {
        Some(SoapVersion::V12)
    } else {
        None
    }
}

impl Envelope {
    /// Reads an envelope. Faults that happen before the envelope's version is
    /// known are written in `fallback`, the version the Content-Type named.
    pub fn parse(
        xml: &str,
        source: SourceEncoding,
        limits: &XmlLimits,
        fallback: SoapVersion,
    ) -> Result<Self, (SoapVersion, Fault)> {
        let root = parse_document(xml, source, limits)
            .map_err(|reason| (fallback, Fault::client(reason)))?;
        if root.name != "Envelope" {
            return Err((
                fallback,
                Fault::client(format!(
                    "The request is not a SOAP envelope: its root element is {}.",
                    root.qualified_name()
                )),
            ));
        }
        let version = match root.namespace.as_deref() {
            Some(SOAP11_ENV) => SoapVersion::V11,
            Some(SOAP12_ENV) => SoapVersion::V12,
            other => {
                return Err((
                    fallback,
                    Fault::VersionMismatch(format!(
                        "The envelope namespace '{}' is not SOAP 1.1 ({SOAP11_ENV}) or SOAP 1.2 ({SOAP12_ENV}).",
                        other.unwrap_or("")
                    )),
                ));
            }
        };
        let fail = |reason: String| (version, Fault::client(reason));
        let env_ns = version.envelope_namespace();
        if !root.text.trim().is_empty() {
            return Err(fail(
                "The Envelope holds text; only Header and Body are allowed.".into(),
            ));
        }

        // WS-I Basic Profile R1011: nothing may follow the Body.
        let mut header = None;
        let mut body = None;
        for child in root.children {
            if child.is(env_ns, "Header") && header.is_none() && body.is_none() {
                header = Some(child);
            } else if child.is(env_ns, "Body") && body.is_none() {
                body = Some(child);
            } else {
                return Err(fail(format!(
                    "The Envelope holds {} where only one Header followed by one Body is allowed.",
                    child.qualified_name()
                )));
            }
        }
        let body = body.ok_or_else(|| fail("The envelope has no Body.".into()))?;

        let (must_understand, security) = match header {
            Some(header) => read_header_blocks(version, header).map_err(fail)?,
            None => (Vec::new(), None),
        };

        if !body.text.trim().is_empty() {
            return Err(fail(
                "The Body holds text; it must hold one operation element.".into(),
            ));
        }
        let mut operations = body.children.into_iter();
        let operation = operations
            .next()
            .ok_or_else(|| fail("The Body is empty; it must hold one operation element.".into()))?;
        if operations.next().is_some() {
            return Err(fail(
                "The Body holds more than one element; it must hold one operation element.".into(),
            ));
        }
        Ok(Self {
            version,
            must_understand,
            security,
            operation,
        })
    }
}

/// The header blocks addressed to this node (no actor/role, or next, or
/// the ultimate receiver): those that carry mustUnderstand and that the
/// service does not understand (each is a MustUnderstand fault), and the
/// one it understands, `wsse:Security`.
fn read_header_blocks(
    version: SoapVersion,
    header: XmlElement,
) -> Result<(Vec<HeaderBlock>, Option<XmlElement>), String> {
    let env_ns = version.envelope_namespace();
    let mut not_understood = Vec::new();
    let mut security = None;
    for block in header.children {
        let for_us = match version {
            SoapVersion::V11 => matches!(
                block.attribute(Some(env_ns), "actor"),
                None | Some(SOAP11_ACTOR_NEXT)
            ),
            SoapVersion::V12 => matches!(
                block.attribute(Some(env_ns), "role"),
                None | Some(SOAP12_ROLE_NEXT) | Some(SOAP12_ROLE_ULTIMATE)
            ),
        };
        if !for_us {
            continue;
        }
        if block.is(WSSE_NS, "Security") {
            if security.is_some() {
                return Err(
                    "The Header holds more than one wsse:Security block for this service.".into(),
                );
            }
            security = Some(block);
            continue;
        }
        let must = block
            .attribute(Some(env_ns), "mustUnderstand")
            .map(str::trim);
        if matches!(must, Some("1") | Some("true")) {
            not_understood.push(HeaderBlock {
                namespace: block.namespace,
                name: block.name,
            });
        }
    }
    Ok((not_understood, security))
}

/// A successful response: the payload in an envelope of `version`.
pub fn response_envelope(version: SoapVersion, payload: super::XmlOut) -> Vec<u8> {
    let [head, tail] = version.envelope_ends();
    // In the payload's own buffer, which has room for both ends as a rule
    // (README, "Performance"): no second buffer, and the payload moved once
    // to make room for the head.
    let mut bytes = payload.into_bytes();
    bytes.splice(..0, head.bytes());
    bytes.extend_from_slice(tail.as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_its_payload_in_the_envelope_quick_xml_writes() {
        for version in [SoapVersion::V11, SoapVersion::V12] {
            let answer = |out: &mut super::super::XmlOut| out.text_element("Answer", "ok & done");
            let mut payload = super::super::XmlOut::new();
            answer(&mut payload);
            let prefix = version.prefix();
            let [envelope, body] = ["Envelope", "Body"].map(|name| format!("{prefix}:{name}"));
            let mut expected = super::super::XmlOut::new();
            expected.declaration();
            expected.open(
                &envelope,
                &[(&format!("xmlns:{prefix}"), version.envelope_namespace())],
            );
            expected.open(&body, &[]);
            answer(&mut expected);
            expected.close(&body);
            expected.close(&envelope);
            assert_eq!(
                String::from_utf8(response_envelope(version, payload)).unwrap(),
                String::from_utf8(expected.into_bytes()).unwrap(),
                "{version:?}"
            );
        }
    }

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn bodies_decode_as_utf8_or_utf16() {
        let decode = |bytes: &[u8], charset| decode_body(bytes, charset);
        assert_eq!(
            decode(b"<r/>", None),
            Ok(("<r/>".into(), SourceEncoding::Utf8))
        );
        assert_eq!(
            decode(b"\xEF\xBB\xBF<r/>", Some("UTF-8")),
            Ok(("<r/>".into(), SourceEncoding::Utf8))
        );
        let mut le = vec![0xFF, 0xFE];
        le.extend(utf16le("<å/>"));
        assert_eq!(
            decode(&le, Some("utf-16")),
            Ok(("<å/>".into(), SourceEncoding::Utf16))
        );
        assert_eq!(
            decode(&utf16le("<r/>"), Some("utf-16le")),
            Ok(("<r/>".into(), SourceEncoding::Utf16))
        );
    }

    #[test]
    fn bodies_that_do_not_decode_are_refused() {
        assert!(decode_body(b"\xE5", None).unwrap_err().contains("UTF-8"));
        assert!(
            decode_body(b"\xFF\xFE<\x00r", None)
                .unwrap_err()
                .contains("odd number")
        );
        // An unpaired surrogate (0xD800).
        assert!(
            decode_body(b"\xFF\xFE\x00\xD8", None)
                .unwrap_err()
                .contains("not valid UTF-16")
        );
        assert!(
            decode_body(&utf16le("<r/>"), Some("utf-16"))
                .unwrap_err()
                .contains("byte order mark")
        );
        assert!(
            decode_body(b"<r/>", Some("latin1"))
                .unwrap_err()
                .contains("latin1")
        );
        assert!(!is_supported_charset("latin1"));
        assert!(is_supported_charset("UTF-16BE"));
    }
}
