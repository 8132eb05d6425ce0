//! The SOAP envelope: versions, prefixes, SOAPAction, protocol faults.

use crate::helpers::{
    SOAP11, SOAP12, Soap, TNS, delete_xml, envelope, get_relation_types_xml, get_relations_xml,
    relation, spawn_app,
};

/// The four operation requests written with a given prefix style for the
/// payload: `None` for a default xmlns, `Some(p)` for `p:`.
fn operation_payloads(
    prefix: Option<&str>,
    tag: &str,
    id_to_delete: i64,
) -> Vec<(&'static str, String)> {
    let (open_ns, p) = match prefix {
        None => (format!(r#" xmlns="{TNS}""#), String::new()),
        Some(p) => (format!(r#" xmlns:{p}="{TNS}""#), format!("{p}:")),
    };
    vec![
        (
            "CreateCustomerRelation",
            format!(
                "<{p}CreateCustomerRelation{open_ns}><{p}CustomerRelation><{p}CustomerNumber>1000</{p}CustomerNumber><{p}RelationTypeCode>SSO</{p}RelationTypeCode><{p}Reference>prefix-{tag}</{p}Reference></{p}CustomerRelation></{p}CreateCustomerRelation>"
            ),
        ),
        (
            "GetCustomerRelationsByCustomer",
            format!(
                "<{p}GetCustomerRelationsByCustomer{open_ns}><{p}CustomerNumber>1000</{p}CustomerNumber></{p}GetCustomerRelationsByCustomer>"
            ),
        ),
        (
            "DeleteCustomerRelation",
            format!(
                "<{p}DeleteCustomerRelation{open_ns}><{p}Id>{id_to_delete}</{p}Id></{p}DeleteCustomerRelation>"
            ),
        ),
        (
            "GetRelationTypes",
            format!("<{p}GetRelationTypes{open_ns}/>"),
        ),
    ]
}

/// The envelope as UTF-16 with a byte order mark, little- or big-endian.
fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        bytes.extend(if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    bytes
}

on_both_backends! {
    async fn every_operation_works_in_both_versions_with_any_prefix(backend: Backend) {
        let app = spawn_app(&backend).await;
        let envelope_styles: [(&str, Option<&str>); 4] = [
            ("s", Some("r")),
            ("soapenv", Some("tns")),
            ("SOAP-ENV", None),
            ("", None), // the envelope itself in a default namespace
        ];
        for version in Soap::BOTH {
            for (env_prefix, payload_prefix) in envelope_styles {
                let tag = format!("{version:?}-{env_prefix}");
                let victim = app
                    .create(&relation(1000, "SSO", &format!("victim-{tag}")))
                    .await
                    .relation();
                for (operation, payload) in operation_payloads(payload_prefix, &tag, victim.id) {
                    // A payload in a default namespace under a default-namespace
                    // envelope must redeclare it; the payloads above all do.
                    let body = if env_prefix.is_empty() {
                        format!(
                            r#"<Envelope xmlns="{}"><Body>{payload}</Body></Envelope>"#,
                            version.namespace()
                        )
                    } else {
                        format!(
                            r#"<{e}:Envelope xmlns:{e}="{}"><{e}:Header/><{e}:Body>{payload}</{e}:Body></{e}:Envelope>"#,
                            version.namespace(),
                            e = env_prefix
                        )
                    };
                    let response = app.post(version.content_type(), None, body).await;
                    response.assert_ok(&format!("{operation}Response"));
                    assert_eq!(
                        response.version(),
                        version,
                        "answered in the request's version"
                    );
                    match version {
                        Soap::V11 => assert!(response.content_type.starts_with("text/xml")),
                        Soap::V12 => assert!(response.content_type.starts_with("application/soap+xml")),
                    }
                }
            }
        }
    }

    async fn typed_faults_use_the_version_of_the_request(backend: Backend) {
        let app = spawn_app(&backend).await;
        for version in Soap::BOTH {
            let response = app.call(version, &get_relations_xml(99999)).await;
            assert_eq!(response.version(), version);
            response.assert_fault("CustomerNotFoundFault");
        }
    }

    async fn soap_action_quoted_unquoted_or_empty_is_accepted(backend: Backend) {
        let app = spawn_app(&backend).await;
        let body = envelope(Soap::V11, &get_relation_types_xml());
        for action in [
            "\"urn:customer-relations:v1/GetRelationTypes\"",
            "urn:customer-relations:v1/GetRelationTypes",
            "\"\"",
            "",
        ] {
            app.post(Soap::V11.content_type(), Some(action), body.clone())
                .await
                .assert_ok("GetRelationTypesResponse");
        }
        // SOAP 1.2 carries the action in the Content-Type.
        app.post(
            "application/soap+xml; charset=utf-8; action=\"urn:customer-relations:v1/GetRelationTypes\"",
            None,
            envelope(Soap::V12, &get_relation_types_xml()),
        )
        .await
        .assert_ok("GetRelationTypesResponse");
    }

    async fn a_soap_action_naming_another_operation_is_refused_and_changes_nothing(backend: Backend) {
        let app = spawn_app(&backend).await;
        let created = app.create(&relation(1000, "SSO", "keep")).await.relation();
        let refused = app
            .post(
                Soap::V11.content_type(),
                Some("\"urn:customer-relations:v1/GetRelationTypes\""),
                envelope(Soap::V11, &delete_xml(created.id)),
            )
            .await;
        refused.assert_client_fault();
        assert!(
            refused.fault_reason().contains("SOAPAction"),
            "{}",
            refused.body
        );
        let refused12 = app
            .post(
                "application/soap+xml; action=\"urn:customer-relations:v1/GetRelationTypes\"",
                None,
                envelope(Soap::V12, &delete_xml(created.id)),
            )
            .await;
        refused12.assert_client_fault();
        assert_eq!(app.get_relations(1000).await.relations(), [created]);
    }

    async fn a_doctype_is_refused_and_nothing_is_expanded(backend: Backend) {
        let app = spawn_app(&backend).await;
        let laughs = format!(
            r#"<?xml version="1.0"?>
    <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
    <s:Envelope xmlns:s="{SOAP11}"><s:Body>{}</s:Body></s:Envelope>"#,
            relation(1000, "SSO", "&lol3;")
                .to_xml()
                .replace("&amp;lol3;", "&lol3;")
        );
        let response = app.post(Soap::V11.content_type(), None, laughs).await;
        response.assert_client_fault();
        assert!(
            response.fault_reason().contains("DOCTYPE"),
            "{}",
            response.body
        );
        assert!(!response.body.contains("lollol"));

        let external = format!(
            r#"<!DOCTYPE x [<!ENTITY file SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="{SOAP11}"><s:Body>{}</s:Body></s:Envelope>"#,
            relation(1000, "SSO", "&file;")
                .to_xml()
                .replace("&amp;file;", "&file;")
        );
        let response = app.post(Soap::V11.content_type(), None, external).await;
        response.assert_client_fault();
        assert!(!response.body.contains("root:"), "nothing was read");
        assert_eq!(
            app.get_relations(1000).await.relations(),
            [],
            "nothing was created"
        );
    }

    async fn requests_that_are_not_soap_get_a_plain_client_fault(backend: Backend) {
        let app = spawn_app(&backend).await;
        let cases = [
            ("not XML", "this is not xml".to_owned()),
            (
                "unclosed",
                format!(r#"<s:Envelope xmlns:s="{SOAP11}"><s:Body>"#),
            ),
            (
                "not an envelope",
                r#"<Letter xmlns="urn:other"/>"#.to_owned(),
            ),
            (
                "no body",
                format!(r#"<s:Envelope xmlns:s="{SOAP11}"><s:Header/></s:Envelope>"#),
            ),
            ("empty body", envelope(Soap::V11, "")),
            (
                "two operations",
                envelope(Soap::V11, &format!("{0}{0}", get_relation_types_xml())),
            ),
            (
                "unknown operation",
                envelope(Soap::V11, &format!(r#"<Frobnicate xmlns="{TNS}"/>"#)),
            ),
            (
                "wrong namespace",
                envelope(Soap::V11, r#"<GetRelationTypes xmlns="urn:other"/>"#),
            ),
            ("no namespace", envelope(Soap::V11, "<GetRelationTypes/>")),
            (
                "undeclared prefix",
                envelope(Soap::V11, "<x:GetRelationTypes/>"),
            ),
            (
                "processing instruction",
                format!(
                    "<?evil x?>{}",
                    envelope(Soap::V11, &get_relation_types_xml())
                ),
            ),
            (
                "undefined entity",
                envelope(
                    Soap::V11,
                    &relation(1000, "SSO", "&x;")
                        .to_xml()
                        .replace("&amp;x;", "&x;"),
                ),
            ),
        ];
        for (what, body) in cases {
            let response = app.post(Soap::V11.content_type(), None, body).await;
            assert!(response.is_fault(), "{what}: {}", response.body);
            assert_eq!(
                response.detail_element(),
                None,
                "{what}: a plain fault has no typed detail"
            );
            response.assert_client_fault();
            assert!(!response.fault_reason().is_empty(), "{what}");
        }
    }

    async fn requests_that_break_the_schema_get_a_client_fault_naming_the_element(backend: Backend) {
        let app = spawn_app(&backend).await;
        let create = |fields: &str| {
            envelope(
                Soap::V12,
                &format!(
                    r#"<CreateCustomerRelation xmlns="{TNS}"><CustomerRelation>{fields}</CustomerRelation></CreateCustomerRelation>"#
                ),
            )
        };
        let cases = [
            (
                create(
                    "<CustomerNumber>abc</CustomerNumber><RelationTypeCode>SSO</RelationTypeCode><Reference>x</Reference>",
                ),
                "CustomerNumber",
            ),
            (
                create(
                    "<CustomerNumber>99999999999</CustomerNumber><RelationTypeCode>SSO</RelationTypeCode><Reference>x</Reference>",
                ),
                "CustomerNumber",
            ),
            (
                create("<RelationTypeCode>SSO</RelationTypeCode><Reference>x</Reference>"),
                "CustomerNumber",
            ),
            (
                create("<CustomerNumber>1000</CustomerNumber><Reference>x</Reference>"),
                "RelationTypeCode",
            ),
            (
                create(
                    "<CustomerNumber>1000</CustomerNumber><RelationTypeCode>SSO</RelationTypeCode><Reference>x</Reference><Titlecode>DAILY</Titlecode>",
                ),
                "Titlecode",
            ),
            (
                create(
                    "<CustomerNumber>1000</CustomerNumber><CustomerNumber>1001</CustomerNumber><RelationTypeCode>SSO</RelationTypeCode><Reference>x</Reference>",
                ),
                "CustomerNumber",
            ),
            (
                create(
                    r#"<CustomerNumber>1000</CustomerNumber><RelationTypeCode>SSO</RelationTypeCode><Reference xmlns="">x</Reference>"#,
                ),
                "Reference",
            ),
            (
                envelope(
                    Soap::V12,
                    &format!(
                        r#"<DeleteCustomerRelation xmlns="{TNS}"><Id>one</Id></DeleteCustomerRelation>"#
                    ),
                ),
                "Id",
            ),
            (
                envelope(
                    Soap::V12,
                    &format!(r#"<CreateCustomerRelation xmlns="{TNS}"/>"#),
                ),
                "CustomerRelation",
            ),
        ];
        for (body, element) in cases {
            let response = app.post(Soap::V12.content_type(), None, body).await;
            response.assert_client_fault();
            assert_eq!(response.detail_element(), None, "{}", response.body);
            assert!(
                response.fault_reason().contains(element),
                "{element}: {}",
                response.body
            );
        }
        assert_eq!(app.get_relations(1000).await.relations(), []);
    }

    async fn xsi_nil_and_empty_optional_values_count_as_absent(backend: Backend) {
        let app = spawn_app(&backend).await;
        let body = envelope(
            Soap::V11,
            &format!(
                r#"<CreateCustomerRelation xmlns="{TNS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><CustomerRelation><CustomerNumber> 1000 </CustomerNumber><RelationTypeCode>FACEBOOK</RelationTypeCode><Reference>42</Reference><TitleCode xsi:nil="true"/><AdditionalValue></AdditionalValue><Source/></CustomerRelation></CreateCustomerRelation>"#
            ),
        );
        let created = app
            .post(Soap::V11.content_type(), None, body)
            .await
            .relation();
        assert_eq!(
            (created.title, created.additional_value, created.source),
            (None, None, None)
        );
    }

    async fn an_unknown_envelope_namespace_is_a_version_mismatch(backend: Backend) {
        let app = spawn_app(&backend).await;
        let body = format!(
            r#"<s:Envelope xmlns:s="urn:soap:3.0"><s:Body>{}</s:Body></s:Envelope>"#,
            get_relation_types_xml()
        );
        let response = app.post(Soap::V11.content_type(), None, body).await;
        let (ns, code) = response.fault_code();
        assert_eq!(
            (ns.as_str(), code.as_str()),
            (SOAP11, "VersionMismatch"),
            "{}",
            response.body
        );
    }

    async fn a_header_that_must_be_understood_is_refused(backend: Backend) {
        let app = spawn_app(&backend).await;
        for version in Soap::BOTH {
            let must = if version == Soap::V11 { "1" } else { "true" };
            let body = format!(
                r#"<s:Envelope xmlns:s="{}"><s:Header><t:Transaction xmlns:t="urn:tx" s:mustUnderstand="{must}">5</t:Transaction><t:Trace xmlns:t="urn:tx">ignored</t:Trace></s:Header><s:Body>{}</s:Body></s:Envelope>"#,
                version.namespace(),
                relation(1000, "SSO", "must-understand").to_xml()
            );
            let response = app.post(version.content_type(), None, body).await;
            let (ns, code) = response.fault_code();
            assert_eq!(
                (ns.as_str(), code.as_str()),
                (version.namespace(), "MustUnderstand")
            );
            if version == Soap::V12 {
                let doc = response.document();
                let not_understood = doc
                    .descendants()
                    .find(|n| n.tag_name().name() == "NotUnderstood")
                    .expect("a NotUnderstood header block");
                let qname = not_understood.attribute("qname").expect("qname");
                let (prefix, local) = qname.split_once(':').expect("qualified");
                assert_eq!(local, "Transaction");
                assert_eq!(
                    not_understood.lookup_namespace_uri(Some(prefix)),
                    Some("urn:tx")
                );
            }
        }
        // A header without mustUnderstand is ignored.
        let body = format!(
            r#"<s:Envelope xmlns:s="{SOAP12}"><s:Header><t:Trace xmlns:t="urn:tx">1</t:Trace></s:Header><s:Body>{}</s:Body></s:Envelope>"#,
            get_relation_types_xml()
        );
        app.post(Soap::V12.content_type(), None, body)
            .await
            .assert_ok("GetRelationTypesResponse");
        assert_eq!(
            app.get_relations(1000).await.relations(),
            [],
            "nothing was created"
        );
    }

    async fn the_content_type_must_match_the_envelope(backend: Backend) {
        let app = spawn_app(&backend).await;
        let response = app
            .post(
                Soap::V11.content_type(),
                None,
                envelope(Soap::V12, &get_relation_types_xml()),
            )
            .await;
        assert_eq!(response.version(), Soap::V12);
        response.assert_client_fault();
        let response = app
            .post(
                "application/json",
                None,
                envelope(Soap::V11, &get_relation_types_xml()),
            )
            .await;
        assert_eq!(response.status, 415);
        let (_, code) = response.fault_code();
        assert_eq!(code, "Client");
        let response = app
            .post(
                "text/xml; charset=iso-8859-1",
                None,
                envelope(Soap::V11, &get_relation_types_xml()),
            )
            .await;
        assert_eq!(response.status, 415);
    }

    async fn a_utf8_byte_order_mark_is_accepted(backend: Backend) {
        let app = spawn_app(&backend).await;
        let mut body = b"\xEF\xBB\xBF".to_vec();
        body.extend_from_slice(envelope(Soap::V11, &get_relation_types_xml()).as_bytes());
        app.post(Soap::V11.content_type(), None, body)
            .await
            .assert_ok("GetRelationTypesResponse");
    }

    async fn an_oversized_body_is_refused_with_413(backend: Backend) {
        let app = crate::helpers::spawn_with(&backend, |s| s.max_body_bytes = 4096).await;
        let just_under = relation(1000, "SSO", "x").source(&"s".repeat(3000));
        let body = envelope(Soap::V11, &just_under.to_xml());
        assert!(body.len() <= 4096);
        app.post(Soap::V11.content_type(), None, body)
            .await
            .assert_fault("EntityValidationFault");
        let over = envelope(
            Soap::V11,
            &relation(1000, "SSO", &"x".repeat(5000)).to_xml(),
        );
        let response = app.post(Soap::V11.content_type(), None, over).await;
        assert_eq!(response.status, 413);
        assert_eq!(response.fault_code().1, "Client");
    }

    async fn the_wsdl_url_answers_get_and_other_gets_explain(backend: Backend) {
        let app = spawn_app(&backend).await;
        for query in ["wsdl", "WSDL"] {
            let response = reqwest::get(format!("{}?{query}", app.endpoint()))
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert!(response.text().await.unwrap().contains("wsdl:definitions"));
        }
        // Without ?wsdl: the service page, which links to it.
        let plain = reqwest::get(app.endpoint()).await.unwrap();
        assert_eq!(plain.status(), 200);
        assert!(plain.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(plain.text().await.unwrap().contains("?wsdl\""));
    }

    async fn health_answers_when_the_database_does(backend: Backend) {
        let app = spawn_app(&backend).await;
        let response = reqwest::get(format!("{}/health", app.address))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("x-request-id"));
    }


    async fn utf16_requests_are_accepted_and_non_ascii_round_trips(backend: Backend) {
        let app = spawn_app(&backend).await;
        for (big_endian, content_type, reference) in [
            (false, "text/xml; charset=utf-16", "Åse Ødegård (LE)"),
            (true, "text/xml; charset=UTF-16", "Åse Ødegård (BE)"),
            (false, "text/xml", "Åse Ødegård (BOM only)"),
        ] {
            let body = format!(
                r#"<?xml version="1.0" encoding="UTF-16"?>{}"#,
                envelope(Soap::V11, &relation(1000, "SSO", reference).to_xml())
                    .trim_start_matches(r#"<?xml version="1.0" encoding="utf-8"?>"#)
            );
            let created = app.post(content_type, None, utf16(&body, big_endian)).await.relation();
            assert_eq!(created.reference, reference);
        }
        let listed: Vec<_> = app.get_relations(1000).await.relations().into_iter().map(|r| r.reference).collect();
        assert_eq!(listed, ["Åse Ødegård (LE)", "Åse Ødegård (BE)", "Åse Ødegård (BOM only)"]);
    }

    async fn other_encodings_get_a_clear_fault(backend: Backend) {
        let app = spawn_app(&backend).await;
        let latin1 = r#"<?xml version="1.0" encoding="ISO-8859-1"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetRelationTypes xmlns="urn:customer-relations:v1"/></s:Body></s:Envelope>"#;
        let declared = app.post("text/xml", None, latin1).await;
        declared.assert_client_fault();
        assert!(declared.fault_reason().contains("ISO-8859-1"), "{}", declared.body);

        let mut invalid = envelope(Soap::V11, &relation(1000, "SSO", "x").to_xml()).into_bytes();
        let at = invalid.iter().position(|b| *b == b'x').unwrap();
        invalid[at] = 0xE5; // "å" in ISO-8859-1: not UTF-8
        let response = app.post("text/xml; charset=utf-8", None, invalid).await;
        response.assert_client_fault();
        assert!(response.fault_reason().contains("UTF-8"), "{}", response.body);

        let no_bom = app
            .post("text/xml; charset=utf-16", None, utf16(&envelope(Soap::V11, &get_relation_types_xml()), false)[2..].to_vec())
            .await;
        no_bom.assert_client_fault();
        assert_eq!(app.get_relations(1000).await.relations(), []);
    }

    async fn a_body_cut_short_is_a_client_fault_in_plain_words(backend: Backend) {
        use std::io::{Read, Write};
        let app = spawn_app(&backend).await;
        let address = app.address.trim_start_matches("http://").to_owned();
        let answer = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            stream
                .write_all(
                    b"POST /CustomerRelationService HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n\
                      Transfer-Encoding: chunked\r\n\r\n40\r\n<s:Envelope xmlns:s=",
                )
                .unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        })
        .await
        .unwrap();
        assert!(answer.contains("could not be read"), "{answer}");
        for internal in ["EOF", "None", "payload"] {
            assert!(!answer.contains(internal), "{answer}");
        }
    }
}
