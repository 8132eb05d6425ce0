//! The request limits at their documented defaults: just under each one is
//! served, just over it is refused with a Client fault before any work is
//! done (nothing is created).

use crate::helpers::{SOAP11, Soap, TestApp, get_relation_types_xml, relation, spawn_app};

/// An envelope with `header` in its Header and `payload` in its Body.
fn with_header(header: &str, payload: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="{SOAP11}"><s:Header>{header}</s:Header><s:Body>{payload}</s:Body></s:Envelope>"#
    )
}

/// Under the limit: served. Over it: a Client fault naming the limit, and
/// the create in the same request did not happen.
async fn assert_limit(app: &TestApp, under: String, over: String, words: &str) {
    app.post(Soap::V11.content_type(), None, under)
        .await
        .assert_ok("GetRelationTypesResponse");
    let refused = app.post(Soap::V11.content_type(), None, over).await;
    refused.assert_client_fault();
    assert_eq!(refused.detail_element(), None);
    assert!(
        refused.fault_reason().contains(words),
        "{}",
        refused.fault_reason()
    );
    assert_eq!(
        app.get_relations(1000).await.relations(),
        [],
        "nothing was created"
    );
}

fn create() -> String {
    relation(1000, "SSO", "over-the-limit").to_xml()
}

on_both_backends! {
    async fn nesting_deeper_than_32_is_refused(backend: Backend) {
        let app = spawn_app(&backend).await;
        // Envelope and Header are levels 1 and 2; a chain of n below Header
        // reaches level 2 + n.
        let chain = |n: usize| format!(r#"{}{}"#, r#"<x:d xmlns:x="urn:x">"#.repeat(n), "</x:d>".repeat(n));
        assert_limit(
            &app,
            with_header(&chain(30), &get_relation_types_xml()),
            with_header(&chain(31), &create()),
            "deeper than 32",
        )
        .await;
    }

    async fn more_than_10000_elements_are_refused(backend: Backend) {
        let app = spawn_app(&backend).await;
        // Envelope, Header and Body are 3, the header block 1 plus n
        // children; GetRelationTypes is 1 element, the create 5.
        let blocks = |n: usize| format!(r#"<x:h xmlns:x="urn:x">{}</x:h>"#, "<x:e/>".repeat(n));
        assert_limit(
            &app,
            with_header(&blocks(10_000 - 3 - 1 - 1), &get_relation_types_xml()),
            with_header(&blocks(10_001 - 3 - 1 - 5), &create()),
            "more than 10000 elements",
        )
        .await;
    }

    async fn more_than_64_attributes_are_refused(backend: Backend) {
        let app = spawn_app(&backend).await;
        let block = |n: usize| {
            let attributes: String = (0..n).map(|i| format!(r#" a{i}="{i}""#)).collect();
            format!(r#"<x:h xmlns:x="urn:x"{attributes}/>"#)
        };
        assert_limit(
            &app,
            with_header(&block(64), &get_relation_types_xml()),
            with_header(&block(65), &create()),
            "more than 64 attributes",
        )
        .await;
    }

    async fn more_than_64_kib_of_text_in_an_element_is_refused(backend: Backend) {
        let app = spawn_app(&backend).await;
        let block = |n: usize| format!(r#"<x:h xmlns:x="urn:x">{}</x:h>"#, "t".repeat(n));
        assert_limit(
            &app,
            with_header(&block(64 * 1024), &get_relation_types_xml()),
            with_header(&block(64 * 1024 + 1), &create()),
            "more than 65536 bytes of text",
        )
        .await;
    }

    async fn a_body_over_1_mib_is_refused_with_413(backend: Backend) {
        let app = spawn_app(&backend).await;
        // A comment pads the body to the exact size without adding text or
        // elements.
        let padded = |payload: &str, size: usize| {
            let bare = with_header("<!---->", payload);
            let body = with_header(&format!("<!--{}-->", "p".repeat(size - bare.len())), payload);
            assert_eq!(body.len(), size);
            body
        };
        app.post(Soap::V11.content_type(), None, padded(&get_relation_types_xml(), 1024 * 1024))
            .await
            .assert_ok("GetRelationTypesResponse");
        let refused = app
            .post(Soap::V11.content_type(), None, padded(&create(), 1024 * 1024 + 1))
            .await;
        assert_eq!(refused.status, 413, "{}", refused.body);
        assert_eq!(refused.fault_code(), (SOAP11.to_owned(), "Client".to_owned()));
        assert_eq!(app.get_relations(1000).await.relations(), [], "nothing was created");
    }
}
