//! The WSDLs, served verbatim except for the soap:address locations.

use quick_xml::escape::escape;

const RELATION_WSDL: &str = include_str!("../../wsdl/CustomerRelationService.wsdl");
const REGISTER_WSDL: &str = include_str!("../../wsdl/CustomerRegisterService.wsdl");

/// What a WSDL documents: the service, each operation of its portType, and
/// each fault type (its `xs:annotation`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsdlDocumentation {
    pub service: String,
    pub operations: std::collections::BTreeMap<String, String>,
    pub faults: std::collections::BTreeMap<String, String>,
}

const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// Reads the documentation out of one of the service's WSDL templates.
pub fn wsdl_documentation(template: &str) -> WsdlDocumentation {
    use super::xml_tree::{SourceEncoding, XmlElement, XmlLimits, parse_document};
    let limits = XmlLimits {
        max_elements: 100_000,
        ..XmlLimits::default()
    };
    let Ok(root) = parse_document(template, SourceEncoding::Utf8, &limits) else {
        return WsdlDocumentation::default();
    };
    let text = |element: &XmlElement, namespace: &str, name: &str| {
        element
            .children
            .iter()
            .find(|c| c.is(namespace, name))
            .map(|c| c.text.trim().to_owned())
    };
    let mut docs = WsdlDocumentation {
        service: text(&root, WSDL_NS, "documentation").unwrap_or_default(),
        ..WsdlDocumentation::default()
    };
    for child in &root.children {
        if child.is(WSDL_NS, "portType") {
            for operation in child.children.iter().filter(|o| o.is(WSDL_NS, "operation")) {
                if let (Some(name), Some(doc)) = (
                    operation.attribute(None, "name"),
                    text(operation, WSDL_NS, "documentation"),
                ) {
                    docs.operations.insert(name.to_owned(), doc);
                }
            }
        }
        if child.is(WSDL_NS, "types") {
            let schemas = child.children.iter().filter(|s| s.is(XS_NS, "schema"));
            for complex in schemas
                .flat_map(|s| s.children.iter())
                .filter(|c| c.is(XS_NS, "complexType"))
            {
                let Some(name) = complex
                    .attribute(None, "name")
                    .filter(|n| n.ends_with("Fault"))
                else {
                    continue;
                };
                let doc = complex
                    .children
                    .iter()
                    .find(|a| a.is(XS_NS, "annotation"))
                    .and_then(|a| text(a, XS_NS, "documentation"));
                docs.faults.insert(name.to_owned(), doc.unwrap_or_default());
            }
        }
    }
    docs
}

pub fn relation_wsdl_template() -> &'static str {
    RELATION_WSDL
}

pub fn register_wsdl_template() -> &'static str {
    REGISTER_WSDL
}

/// The WSDL with every `soap:address` and `soap12:address` location set to
/// `address` (escaped: it may come from the request's Host header).
pub fn wsdl_with_address(template: &str, address: &str) -> String {
    let escaped = escape(address);
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    const MARKERS: [&str; 2] = ["<soap:address location=\"", "<soap12:address location=\""];
    while let Some((at, marker)) = MARKERS
        .iter()
        .filter_map(|m| rest.find(m).map(|at| (at, *m)))
        .min_by_key(|(at, _)| *at)
    {
        let value_start = at + marker.len();
        out.push_str(&rest[..value_start]);
        out.push_str(&escaped);
        let value_len = rest[value_start..]
            .find('"')
            .expect("the template's address attributes are closed");
        rest = &rest[value_start + value_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod documentation_tests {
    use super::*;

    #[test]
    fn the_relation_wsdl_documents_its_service_operations_and_faults() {
        let docs = wsdl_documentation(RELATION_WSDL);
        assert!(docs.service.starts_with("Links customers"), "{docs:?}");
        assert!(docs.operations["CreateCustomerRelation"].contains("checking the rules"));
        assert!(docs.faults["CustomerRelationNotFoundFault"].contains("No customer relation"));
        assert!(docs.faults.contains_key("AuthenticationFault"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_both_addresses_and_nothing_else() {
        let wsdl = wsdl_with_address(
            RELATION_WSDL,
            "https://crm.example.com/CustomerRelationService",
        );
        assert_eq!(
            wsdl.matches("https://crm.example.com/CustomerRelationService")
                .count(),
            2
        );
        assert!(!wsdl.contains("localhost:8080"));
        let untouched = wsdl_with_address(
            RELATION_WSDL,
            "http://localhost:8080/CustomerRelationService",
        );
        assert_eq!(untouched, RELATION_WSDL);
        let untouched = wsdl_with_address(
            REGISTER_WSDL,
            "http://localhost:8080/CustomerRegisterService",
        );
        assert_eq!(untouched, REGISTER_WSDL);
    }

    #[test]
    fn escapes_the_address() {
        let wsdl = wsdl_with_address(RELATION_WSDL, "http://evil\"><x/>/CustomerRelationService");
        assert!(wsdl.contains("http://evil&quot;&gt;&lt;x/&gt;/CustomerRelationService"));
    }
}
