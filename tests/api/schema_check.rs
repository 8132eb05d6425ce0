//! Every SOAP response the tests receive is validated, with xmllint, against
//! the envelope schema of its SOAP version and the schema inside the WSDL
//! (lax processing in Body and detail validates our elements strictly).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const RELATION_WSDL: &str = include_str!("../../wsdl/CustomerRelationService.wsdl");
const REGISTER_WSDL: &str = include_str!("../../wsdl/CustomerRegisterService.wsdl");
const XS: &str = "http://www.w3.org/2001/XMLSchema";

/// The folder with the combined schema, or `None` where xmllint was missing
/// when the tests were built: then no response is validated, and the tests
/// below are reported as ignored (see `build.rs`).
fn schema_dir() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if cfg!(not(xmllint)) {
            return None;
        }
        if Command::new("xmllint").arg("--version").output().is_err() {
            panic!("xmllint (Debian package libxml2-utils) validates every response; on CI it is required");
        }
        let dir = std::env::temp_dir().join(format!("customer-relations-schemas-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            ("soap11-envelope.xsd", include_str!("../schemas/soap11-envelope.xsd")),
            ("soap12-envelope.xsd", include_str!("../schemas/soap12-envelope.xsd")),
            ("xml.xsd", include_str!("../schemas/xml.xsd")),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        std::fs::write(dir.join("service.xsd"), service_schema(RELATION_WSDL)).unwrap();
        std::fs::write(dir.join("register.xsd"), service_schema(REGISTER_WSDL)).unwrap();
        std::fs::write(
            dir.join("all.xsd"),
            format!(
                r#"<xs:schema xmlns:xs="{XS}">
  <xs:import namespace="http://schemas.xmlsoap.org/soap/envelope/" schemaLocation="soap11-envelope.xsd"/>
  <xs:import namespace="http://www.w3.org/2003/05/soap-envelope" schemaLocation="soap12-envelope.xsd"/>
  <xs:import namespace="urn:customer-relations:v1" schemaLocation="service.xsd"/>
  <xs:import namespace="urn:customer-relations:register:v1" schemaLocation="register.xsd"/>
</xs:schema>"#
            ),
        )
        .unwrap();
        Some(dir)
    })
    .as_ref()
}

/// A WSDL's inline schema as a document of its own, with the namespace
/// declarations it inherits from wsdl:definitions.
fn service_schema(wsdl: &str) -> String {
    let doc = roxmltree::Document::parse(wsdl).unwrap();
    let schema = doc
        .descendants()
        .find(|n| n.tag_name().namespace() == Some(XS) && n.tag_name().name() == "schema")
        .expect("an inline schema");
    let namespace = schema
        .attribute("targetNamespace")
        .expect("a target namespace");
    wsdl[schema.range()].replacen(
        "<xs:schema ",
        &format!(r#"<xs:schema xmlns:xs="{XS}" xmlns:tns="{namespace}" "#),
        1,
    )
}

/// Panics unless `body` is a valid SOAP 1.1 or 1.2 envelope whose content
/// is valid against the service's schema.
pub fn assert_valid(body: &str) {
    let Some(dir) = schema_dir() else { return };
    let mut child = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(dir.join("all.xsd"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the response is not valid against the schemas:\n{}\n{body}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[cfg_attr(
    not(xmllint),
    ignore = "install xmllint (libxml2-utils) to validate every response"
)]
fn the_validator_refuses_what_the_schema_does_not_allow() {
    assert!(schema_dir().is_some());
    let envelope = |payload: &str| {
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{payload}</s:Body></s:Envelope>"#
        )
    };
    let valid = envelope(r#"<DeleteCustomerRelationResponse xmlns="urn:customer-relations:v1"/>"#);
    assert_valid(&valid);
    assert_valid(&envelope(
        r#"<DeleteRelationTypeResponse xmlns="urn:customer-relations:register:v1"/>"#,
    ));
    for invalid in [
        envelope(r#"<DeleteCustomerRelationResponse xmlns="urn:customer-relations:v1"><Id>1</Id></DeleteCustomerRelationResponse>"#),
        envelope(r#"<GetRelationTypesResponse xmlns="urn:customer-relations:v1"><RelationTypes><RelationType><Code>A</Code></RelationType></RelationTypes></GetRelationTypesResponse>"#),
        envelope(r#"<s:Fault><faultcode>s:Client</faultcode></s:Fault>"#),
        envelope(r#"<GetCustomerResponse xmlns="urn:customer-relations:register:v1"><Customer><CustomerNumber>1</CustomerNumber><Validity>Valid</Validity></Customer></GetCustomerResponse>"#),
        r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value></e:Code><e:Reason><e:Text>no lang</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>"#.to_owned(),
    ] {
        let refused = std::panic::catch_unwind(|| assert_valid(&invalid));
        assert!(refused.is_err(), "accepted: {invalid}");
    }
}
