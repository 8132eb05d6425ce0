//! The WSDLs, served verbatim except for the soap:address locations.

use quick_xml::escape::escape;

const RELATION_WSDL: &str = include_str!("../../wsdl/CustomerRelationService.wsdl");
const REGISTER_WSDL: &str = include_str!("../../wsdl/CustomerRegisterService.wsdl");

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
