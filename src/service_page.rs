//! The pages a browser gets (README, "Service pages"): `GET /` lists the
//! services; `GET` on a service's path shows it as WCF's and CXF's service
//! pages do: its documentation, its operations with the role each needs, a
//! sample request for each, its faults, and links to the WSDL. Rendered
//! from the WSDL's documentation and the code's one list of operations, so
//! there is no second copy to drift.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use quick_xml::escape::escape;

use crate::operations::{Operation, Service};
use crate::soap::wsdl_documentation;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1d2327;line-height:1.45}\
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ccd0d4}h3{margin-bottom:.3rem}\
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{background:#f6f7f7;padding:.8rem;white-space:pre-wrap;word-break:break-all;border:1px solid #dcdcde}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #dcdcde;padding:.35rem .5rem;text-align:left;vertical-align:top}\
.role{display:inline-block;padding:0 .4rem;border-radius:.3rem;background:#e7f1f8;font-size:.8rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head>\
         <body>{body}</body></html>",
        title = escape(title)
    )
}

/// `GET /`.
pub fn index() -> &'static str {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| {
        let mut body = String::from(
            "<h1>customer-relations</h1><p>SOAP services for customer relations, compatible with \
             Infosoft's Customer Relation API. Every operation needs credentials (HTTP Basic, a \
             WS-Security UsernameToken or a client certificate); the pages, the WSDLs and the \
             health probes do not.</p><table><tr><th>service</th><th>what</th><th>WSDL</th></tr>",
        );
        for service in Service::ALL {
            let docs = wsdl_documentation(service.wsdl_template());
            let path = service.path();
            body.push_str(&format!(
                "<tr><td><a href=\"{path}\">{name}</a></td><td>{doc}</td><td><a href=\"{path}?wsdl\">{path}?wsdl</a></td></tr>",
                name = service.name(),
                doc = escape(&docs.service),
            ));
        }
        body.push_str("</table><p>Probes: <a href=\"/health/live\">/health/live</a>, <a href=\"/health/ready\">/health/ready</a>. Metrics: <a href=\"/metrics\">/metrics</a>.</p>");
        page("customer-relations", &body)
    })
}

/// `GET` on a service's path.
pub fn service_page(service: Service) -> &'static str {
    static PAGES: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = match service {
        Service::Relations => &PAGES[0],
        Service::Register => &PAGES[1],
    };
    slot.get_or_init(|| render(service))
}

/// A whole SOAP 1.1 envelope around an operation's example request.
fn sample_envelope(operation: &Operation) -> String {
    format!(
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\n  <soap:Body>\n    {}\n  </soap:Body>\n</soap:Envelope>",
        operation.example_request()
    )
}

fn render(service: Service) -> String {
    let docs = wsdl_documentation(service.wsdl_template());
    let path = service.path();
    let name = service.name();
    let mut body = format!(
        "<p><a href=\"/\">customer-relations</a></p><h1>{name}</h1><p>{doc}</p>\
         <p>Endpoint: <code>POST {path}</code> (SOAP 1.1 <code>text/xml</code> or SOAP 1.2 \
         <code>application/soap+xml</code>, namespace <code>{ns}</code>). WSDL: \
         <a href=\"{path}?wsdl\">{path}?wsdl</a>. Every operation needs credentials: HTTP Basic, \
         a WS-Security UsernameToken (PasswordText) or a client certificate; the role it needs \
         is shown with it, and a client's scope limits the relation types it may use.</p>\
         <h2>Operations</h2><ul>",
        doc = escape(&docs.service),
        ns = service.namespace(),
    );
    for operation in service.operations() {
        body.push_str(&format!(
            "<li><a href=\"#{op}\">{op}</a></li>",
            op = operation.name()
        ));
    }
    body.push_str("</ul>");
    let mut raised_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for operation in service.operations() {
        let op = operation.name();
        for fault in operation.faults() {
            raised_by.entry(fault).or_default().push(op);
        }
        body.push_str(&format!(
            "<h3 id=\"{op}\">{op} <span class=\"role\">{role} and above</span></h3><p>{doc}</p>\
             <p>SOAPAction <code>{action}</code>. Faults: {faults}.</p>\
             <p>Sample request (it succeeds on the demo data):</p><pre>{sample}</pre>",
            role = operation.role().as_str(),
            doc = escape(docs.operations.get(op).map_or("", String::as_str)),
            action = escape(operation.soap_action()),
            faults = operation
                .faults()
                .iter()
                .map(|f| format!("<code>{f}</code>"))
                .collect::<Vec<_>>()
                .join(", "),
            sample = escape(sample_envelope(operation)),
        ));
    }
    body.push_str(
        "<h2>Faults</h2><p>Each typed fault carries a detail element of its name in the service \
         namespace, with a <code>Message</code>; SOAP 1.1 sends faults with HTTP 500, SOAP 1.2 \
         Sender faults with 400 (a request without credentials gets 401 and a Basic challenge).</p>\
         <table><tr><th>fault</th><th>when</th><th>raised by</th></tr>",
    );
    for (fault, operations) in &raised_by {
        body.push_str(&format!(
            "<tr><td><code>{fault}</code></td><td>{doc}</td><td>{ops}</td></tr>",
            doc = escape(docs.faults.get(*fault).map_or("", String::as_str)),
            ops = if operations.len() == service.operations().count() {
                "every operation".to_owned()
            } else {
                operations.join(", ")
            },
        ));
    }
    body.push_str("</table>");
    page(name, &body)
}
