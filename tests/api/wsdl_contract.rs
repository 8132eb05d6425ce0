//! The WSDL and the code agree: every operation in it is dispatched, every
//! dispatched operation is in it, each declares the faults it can raise, and
//! it is served verbatim but for its address.

use std::collections::{BTreeMap, BTreeSet};

use customer_relations::operations::Service;

use crate::helpers::{spawn_app, spawn_with};

const WSDL_FILE: &str = include_str!("../../wsdl/CustomerRelationService.wsdl");
const REGISTER_WSDL_FILE: &str = include_str!("../../wsdl/CustomerRegisterService.wsdl");
/// The WSDL as Infosoft's four operations had it, before the operations
/// beyond their API were added (README, "Compatibility").
const INFOSOFT_WSDL_FILE: &str = include_str!("../compat/CustomerRelationService-infosoft.wsdl");
const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";

fn elements<'a, 'i>(
    doc: &'a roxmltree::Document<'i>,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> + 'a {
    doc.descendants().filter(move |n| {
        n.is_element() && n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name
    })
}

/// Operation → declared fault names, per portType and binding.
fn faults_by_operation(
    doc: &roxmltree::Document,
    container: &str,
) -> Vec<BTreeMap<String, BTreeSet<String>>> {
    elements(doc, WSDL_NS, container)
        .map(|c| {
            c.children()
                .filter(|o| o.is_element() && o.tag_name().name() == "operation")
                .map(|o| {
                    let faults = o
                        .children()
                        .filter(|f| f.is_element() && f.tag_name().name() == "fault")
                        .map(|f| f.attribute("name").unwrap().to_owned())
                        .collect();
                    (o.attribute("name").unwrap().to_owned(), faults)
                })
                .collect()
        })
        .collect()
}

/// The service's WSDL and its dispatcher name the same operations, with the
/// same request and response elements and SOAPActions.
fn wsdl_matches_dispatcher(service: Service, wsdl: &str) {
    let doc = roxmltree::Document::parse(wsdl).unwrap();
    let dispatched: BTreeSet<String> = service.operations().map(|o| o.name().to_owned()).collect();

    let port_types = faults_by_operation(&doc, "portType");
    let bindings = faults_by_operation(&doc, "binding");
    assert_eq!(port_types.len(), 1);
    assert_eq!(bindings.len(), 2, "a SOAP 1.1 and a SOAP 1.2 binding");
    for declared in port_types.iter().chain(&bindings) {
        let names: BTreeSet<String> = declared.keys().cloned().collect();
        assert_eq!(
            names, dispatched,
            "WSDL operations vs dispatched operations"
        );
    }
    for binding in &bindings {
        assert_eq!(
            binding, &port_types[0],
            "bindings declare the portType's faults"
        );
    }

    // Each dispatched operation has request and response elements of its name.
    let schema_elements: BTreeSet<&str> = elements(&doc, XS_NS, "element")
        .filter(|e| e.parent().is_some_and(|p| p.tag_name().name() == "schema"))
        .filter_map(|e| e.attribute("name"))
        .collect();
    for op in service.operations() {
        assert!(schema_elements.contains(op.name()));
        assert!(schema_elements.contains(format!("{}Response", op.name()).as_str()));
        let actions: Vec<_> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "operation" && n.attribute("soapAction").is_some())
            .filter(|n| n.parent().and_then(|p| p.attribute("name")) == Some(op.name()))
            .map(|n| n.attribute("soapAction").unwrap().to_owned())
            .collect();
        assert_eq!(actions, [op.soap_action(), op.soap_action()]);
    }
}

#[test]
fn the_wsdl_and_the_dispatcher_name_the_same_operations() {
    wsdl_matches_dispatcher(Service::Relations, WSDL_FILE);
}

#[test]
fn the_register_wsdl_and_its_dispatcher_name_the_same_operations() {
    wsdl_matches_dispatcher(Service::Register, REGISTER_WSDL_FILE);
    let doc = roxmltree::Document::parse(REGISTER_WSDL_FILE).unwrap();
    assert_eq!(
        doc.root_element().attribute("targetNamespace"),
        Some(Service::Register.namespace())
    );
}

/// Each operation's WSDL declares exactly the faults its declaration in the
/// code says it raises (and the test helpers check every typed fault a test
/// receives against the same declaration), and each fault has a global
/// detail element of its own name, with a Message.
fn operations_declare_their_faults(service: Service, wsdl: &str) {
    let doc = roxmltree::Document::parse(wsdl).unwrap();
    let declared = &faults_by_operation(&doc, "portType")[0];
    for operation in service.operations() {
        let faults: BTreeSet<String> = operation.faults().iter().map(|f| f.to_string()).collect();
        assert_eq!(
            faults.len(),
            operation.faults().len(),
            "{operation:?} lists a fault twice"
        );
        assert_eq!(declared[operation.name()], faults, "{operation:?}");
    }
    for fault in declared.values().flatten() {
        let element = elements(&doc, XS_NS, "element")
            .find(|e| {
                e.attribute("name") == Some(fault.as_str())
                    && e.parent().unwrap().tag_name().name() == "schema"
            })
            .unwrap_or_else(|| panic!("no global element {fault}"));
        let type_name = element
            .attribute("type")
            .unwrap()
            .trim_start_matches("tns:");
        let complex = elements(&doc, XS_NS, "complexType")
            .find(|t| t.attribute("name") == Some(type_name))
            .unwrap();
        assert!(
            complex
                .descendants()
                .any(|d| d.attribute("name") == Some("Message")),
            "{fault}"
        );
    }
}

#[test]
fn every_operation_declares_the_faults_it_can_raise() {
    operations_declare_their_faults(Service::Relations, WSDL_FILE);
    // And those are the faults the relation API's rulebook gives each of
    // its operations (README, "Faults": the "when" of each), read from the
    // WSDL, not from the code.
    let doc = roxmltree::Document::parse(WSDL_FILE).unwrap();
    let declared = &faults_by_operation(&doc, "portType")[0];
    let rulebook: BTreeMap<&str, &[&str]> = BTreeMap::from([
        (
            "CreateCustomerRelation",
            &[
                "CustomerNotFoundFault",
                "CustomerRelationAlreadyExistsFault",
                "EntityValidationFault",
                "InvalidReferenceFault",
                "RelationTypeNotFoundFault",
            ][..],
        ),
        (
            "GetCustomerRelationsByCustomer",
            &["CustomerNotFoundFault"][..],
        ),
        (
            "DeleteCustomerRelation",
            &["CustomerRelationNotFoundFault"][..],
        ),
        ("GetRelationTypes", &[][..]),
        // Beyond Infosoft's API (README, "Beyond Infosoft's API").
        (
            "FindCustomerRelationsByReference",
            &["EntityValidationFault", "RelationTypeNotFoundFault"][..],
        ),
        (
            "GetCustomerRelation",
            &["CustomerRelationNotFoundFault"][..],
        ),
        (
            "UpdateCustomerRelation",
            &[
                "ConcurrencyFault",
                "CustomerRelationAlreadyExistsFault",
                "CustomerRelationNotFoundFault",
                "EntityValidationFault",
                "InvalidReferenceFault",
            ][..],
        ),
        ("GetCustomerRelationHistory", &["CustomerNotFoundFault"][..]),
        ("GetCustomerRelationChanges", &["EntityValidationFault"][..]),
    ]);
    assert_eq!(declared.len(), rulebook.len());
    for (operation, faults) in rulebook {
        // Every operation also refuses missing credentials and what the
        // client may not do (README, "Security").
        let faults: BTreeSet<String> = faults
            .iter()
            .chain(&["AuthenticationFault", "AccessDeniedFault"])
            .map(|f| f.to_string())
            .collect();
        assert_eq!(declared[operation], faults, "{operation}");
    }
}

/// A node and everything below it, as comparable text: names with their
/// namespaces, attributes sorted, whitespace-only text left out.
fn canonical(node: roxmltree::Node) -> String {
    if node.is_text() {
        return node.text().unwrap_or("").trim().to_owned();
    }
    let mut attributes: Vec<String> = node
        .attributes()
        .map(|a| format!("{}={}", a.name(), a.value()))
        .collect();
    attributes.sort();
    let children: Vec<String> = node
        .children()
        .filter(|c| c.is_element() || c.is_text())
        .map(canonical)
        .filter(|c| !c.is_empty())
        .collect();
    format!(
        "<{:?}:{} {}>{}</>",
        node.tag_name().namespace(),
        node.tag_name().name(),
        attributes.join(" "),
        children.join("")
    )
}

/// The named top-level definitions of a WSDL: schema types and elements,
/// messages, and the operations of the portType and of each binding.
fn definitions(wsdl: &str) -> BTreeMap<String, String> {
    let doc = roxmltree::Document::parse(wsdl).unwrap();
    let mut found = BTreeMap::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let Some(name) = node.attribute("name") else {
            continue;
        };
        let parent = node.parent().unwrap();
        let place = match (parent.tag_name().name(), node.tag_name().name()) {
            ("schema", kind) => format!("schema {kind}"),
            ("definitions", "message") => "message".to_owned(),
            ("portType" | "binding", "operation") => format!(
                "{} {}",
                parent.tag_name().name(),
                parent.attribute("name").unwrap()
            ),
            _ => continue,
        };
        found.insert(format!("{place} {name}"), canonical(node));
    }
    found
}

#[test]
fn infosofts_operations_messages_types_and_faults_are_unchanged() {
    // Everything the old WSDL defines is in today's, exactly as it was:
    // Infosoft's four operations, their messages, types and faults, their
    // elements in their order. The new operations only add.
    let old = definitions(INFOSOFT_WSDL_FILE);
    let new = definitions(WSDL_FILE);
    assert!(old.len() > 40, "{:?}", old.keys());
    for (name, definition) in &old {
        assert_eq!(new.get(name), Some(definition), "{name}");
    }
    let added: Vec<_> = new.keys().filter(|name| !old.contains_key(*name)).collect();
    assert!(
        added
            .iter()
            .any(|name| name.ends_with("UpdateCustomerRelation")),
        "{added:?}"
    );
}

#[test]
fn every_register_operation_declares_the_faults_it_can_raise() {
    operations_declare_their_faults(Service::Register, REGISTER_WSDL_FILE);
}

async fn fetch_wsdl(app: &crate::helpers::TestApp) -> String {
    let response = reqwest::get(format!("{}?wsdl", app.endpoint()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

on_both_backends! {
    async fn the_served_wsdl_is_the_file_with_the_request_address(backend: Backend) {
        let app = spawn_app(&backend).await;
        let served = fetch_wsdl(&app).await;
        let expected = WSDL_FILE.replace(
            "http://localhost:8080/CustomerRelationService",
            &app.endpoint(),
        );
        assert_eq!(served, expected);

        let behind_proxy = app
            .client
            .get(format!("{}?wsdl", app.endpoint()))
            .header("Host", "crm.example.com")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            behind_proxy.contains(
                r#"<soap:address location="http://crm.example.com/CustomerRelationService"/>"#
            )
        );
        assert!(behind_proxy.contains(
            r#"<soap12:address location="http://crm.example.com/CustomerRelationService"/>"#
        ));
    }

    async fn the_register_wsdl_is_served_at_its_own_endpoint(backend: Backend) {
        let app = spawn_app(&backend).await;
        let endpoint = format!("{}/CustomerRegisterService", app.address);
        for query in ["wsdl", "WSDL"] {
            let response = reqwest::get(format!("{endpoint}?{query}")).await.unwrap();
            assert_eq!(response.status(), 200);
            let served = response.text().await.unwrap();
            let expected = REGISTER_WSDL_FILE
                .replace("http://localhost:8080/CustomerRegisterService", &endpoint);
            assert_eq!(served, expected);
        }
    }

    async fn a_configured_public_url_wins_over_the_host(backend: Backend) {
        let app =
            spawn_with(&backend, |s| s.public_url = Some("https://crm.example.com/relations/".into())).await;
        let served = fetch_wsdl(&app).await;
        assert_eq!(
            served
                .matches("https://crm.example.com/relations/CustomerRelationService")
                .count(),
            2
        );
    }

    async fn the_wsdl_answers_head_and_extra_parameters_and_other_methods_get_405(backend: Backend) {
        let app = spawn_app(&backend).await;
        for service in ["CustomerRelationService", "CustomerRegisterService"] {
            let endpoint = format!("{}/{service}", app.address);
            let head = app.client.head(format!("{endpoint}?wsdl")).send().await.unwrap();
            assert_eq!(head.status(), 200);
            assert!(head.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
            let extra = app.client.get(format!("{endpoint}?wsdl&x=1")).send().await.unwrap();
            assert_eq!(extra.status(), 200);
            assert!(extra.text().await.unwrap().contains("wsdl:definitions"));
            for method in [reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
                let refused = app.client.request(method.clone(), &endpoint).send().await.unwrap();
                assert_eq!(refused.status(), 405, "{method}");
                assert_eq!(refused.headers()["allow"], "GET, HEAD, POST");
            }
        }
    }

    async fn the_wsdl_address_takes_only_a_valid_host_and_forwarded_headers_only_when_trusted(backend: Backend) {
        let app = spawn_app(&backend).await;
        let wsdl_for = |headers: &[(&str, &str)]| {
            let mut request = app.client.get(format!("{}?wsdl", app.endpoint()));
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send()
        };
        for bad in ["evil\"><x/>", "a b", "user@host", "host/path"] {
            let response = wsdl_for(&[("Host", bad)]).await.unwrap();
            assert_eq!(response.status(), 400, "{bad}");
            assert!(!response.text().await.unwrap().contains("wsdl:definitions"));
        }
        let forwarded = [("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "https")];
        let ignored = wsdl_for(&forwarded).await.unwrap().text().await.unwrap();
        assert!(!ignored.contains("evil.example"));
        assert!(ignored.contains(&format!(r#"location="{}""#, app.endpoint())));

        let trusting = spawn_with(&backend, |s| s.trust_forwarded_headers = true).await;
        let mut request = trusting.client.get(format!("{}?wsdl", trusting.endpoint()));
        for (name, value) in forwarded {
            request = request.header(name, value);
        }
        let honoured = request.send().await.unwrap().text().await.unwrap();
        assert!(honoured.contains(r#"location="https://evil.example/CustomerRelationService""#));
    }
}
