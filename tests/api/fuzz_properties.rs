//! Property tests: random bytes and mutated envelopes never crash the
//! service, never get 200 unless the request is well-formed XML, and always
//! get a well-formed SOAP response (which `SoapResponse` also validates
//! against the schemas). Client input never causes a Server fault. The cases
//! are drawn from a fixed seed, so a failure repeats; `cargo fuzz` (see the
//! README) explores further.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use customer_relations::operations::Service;

use crate::helpers::{
    SOAP11, SOAP12, Soap, SoapResponse, TestApp, envelope, get_relation_types_xml, relation,
    spawn_app, spawn_with,
};

const CASES: usize = 200;

/// Valid requests to start mutating from: the example request of every
/// operation of the service, from the service's own list.
fn seeds(service: Service) -> Vec<(Soap, String)> {
    service
        .operations()
        .flat_map(|op| Soap::BOTH.map(|v| (v, envelope(v, &op.example_request()))))
        .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, &'static str),
    Truncate(usize),
}

const TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "</",
    "&",
    "&amp;",
    "&lt;",
    "&#0;",
    "&#x110000;",
    "&x;",
    "\"",
    "'",
    "=",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?pi?>",
    "<!DOCTYPE x>",
    "xmlns=\"\"",
    "xmlns:s=\"urn:x\"",
    "s:",
    ":",
    "\u{0}",
    "\u{FFFE}",
    "é",
    "𝄞",
    " ",
    "\n",
    "<x:y xmlns:x=\"urn:x\">",
    "</x:y>",
    "mustUnderstand=\"1\"",
    "<s:Header/>",
    "99999999999",
    "-1",
    "",
];

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), 1..20usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(at, t)| Mutation::Insert(at, t)),
        any::<usize>().prop_map(Mutation::Truncate),
    ];
    prop::collection::vec(one, 1..6)
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len().max(1);
        match *mutation {
            Mutation::Flip(at, b) if !bytes.is_empty() => bytes[at % len] ^= b | 1,
            Mutation::Delete(at, n) if !bytes.is_empty() => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::Insert(at, token) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, token.bytes());
            }
            Mutation::Truncate(at) => bytes.truncate(at % len),
            _ => {}
        }
    }
    bytes
}

fn runner() -> TestRunner {
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

/// `CASES` requests, each a seed with a few mutations, from the fixed seed.
fn mutated(seeds: &[(Soap, String)]) -> Vec<(Soap, Vec<u8>)> {
    let mut runner = runner();
    let strategy = (0..seeds.len(), mutations());
    (0..CASES)
        .map(|_| {
            let (seed, mutations) = strategy.new_tree(&mut runner).unwrap().current();
            let (version, envelope) = &seeds[seed];
            (*version, apply(envelope.clone().into_bytes(), &mutations))
        })
        .collect()
}

/// The properties every answer to an arbitrary request must have.
fn check(request: &[u8], response: &SoapResponse) {
    let shown = String::from_utf8_lossy(request);
    let well_formed = std::str::from_utf8(request)
        .ok()
        .is_some_and(|text| roxmltree::Document::parse(text).is_ok());
    if response.status == 200 {
        assert!(
            well_formed,
            "200 for a request that is not well-formed XML: {shown:?}"
        );
        assert!(!response.is_fault(), "a fault with 200: {shown:?}");
    } else {
        let (namespace, code) = response.fault_code();
        assert!(namespace == SOAP11 || namespace == SOAP12, "{shown:?}");
        assert!(
            ["Client", "Sender", "VersionMismatch", "MustUnderstand"].contains(&code.as_str()),
            "client input caused a {code} fault: {shown:?}\n{}",
            response.body
        );
    }
}

async fn send(app: &TestApp, version: Soap, body: Vec<u8>) -> SoapResponse {
    app.post(version.content_type(), None, body).await
}

on_both_backends! {
    async fn random_bytes_always_get_a_well_formed_client_fault(backend: Backend) {
        let app = spawn_app(&backend).await;
        let mut runner = runner();
        let strategy = (
            prop::bool::ANY,
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..512),
                prop::collection::vec(prop::sample::select(TOKENS), 0..40)
                    .prop_map(|tokens| tokens.concat().into_bytes()),
            ],
        );
        for _ in 0..CASES {
            let (soap12, body) = strategy.new_tree(&mut runner).unwrap().current();
            let version = if soap12 { Soap::V12 } else { Soap::V11 };
            let response = send(&app, version, body.clone()).await;
            check(&body, &response);
            assert_ne!(response.status, 200, "garbage got 200: {:?}", String::from_utf8_lossy(&body));
        }
    }

    async fn mutated_envelopes_never_break_the_service(backend: Backend) {
        let app = spawn_app(&backend).await;
        for (version, body) in mutated(&seeds(Service::Relations)) {
            let response = send(&app, version, body.clone()).await;
            check(&body, &response);
        }
        // The service still answers normally afterwards.
        app.call(Soap::V11, &get_relation_types_xml())
            .await
            .assert_ok("GetRelationTypesResponse");
    }

    async fn mutated_ws_security_headers_never_break_the_service(backend: Backend) {
        // Many refusals from one address: throttling must not hide what is
        // tested here.
        let app = spawn_with(&backend, |settings| {
            settings.throttle.client_failures = 1_000_000;
            settings.throttle.address_failures = 1_000_000;
        })
        .await;
        let expires = (chrono::Utc::now() + chrono::Duration::minutes(30)).format("%Y-%m-%dT%H:%M:%SZ");
        let seeds: Vec<(Soap, String)> = [get_relation_types_xml(), relation(1000, "SSO", "fuzz").to_xml()]
            .iter()
            .flat_map(|payload| {
                Soap::BOTH.map(|version| {
                    let security = format!(
                        r#"<wsse:Security s:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsu:Timestamp><wsu:Created>2020-01-01T00:00:00Z</wsu:Created><wsu:Expires>{expires}</wsu:Expires></wsu:Timestamp><wsse:UsernameToken><wsse:Username>demo-admin</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">demo-admin-secret</wsse:Password></wsse:UsernameToken></wsse:Security>"#
                    );
                    let body = envelope(version, payload).replacen("<s:Body>", &format!("<s:Header>{security}</s:Header><s:Body>"), 1);
                    (version, body)
                })
            })
            .collect();
        // The seeds themselves authenticate.
        let anonymous = reqwest::Client::new();
        for (version, body) in &seeds[..2] {
            let response = app.send_with(&anonymous, Service::Relations, *version, body.clone()).await;
            response.assert_ok("GetRelationTypesResponse");
        }
        for (version, body) in mutated(&seeds) {
            let response = app
                .send_with(&anonymous, Service::Relations, version, body.clone())
                .await;
            check(&body, &response);
        }
    }

    async fn mutated_register_envelopes_never_break_the_service(backend: Backend) {
        let app = spawn_app(&backend).await;
        for (version, body) in mutated(&seeds(Service::Register)) {
            let response = app.post_register(version.content_type(), body.clone()).await;
            check(&body, &response);
        }
        app.register("ListTitles", "")
            .await
            .assert_register_ok("ListTitlesResponse");
    }
}
