//! Who may call what (README, "Security"): roles against every operation,
//! scopes, credentials that are refused, WS-Security, throttling and TLS.

use std::time::Duration;

use customer_relations::operations::Service;

use crate::helpers::{
    Backend, DEMO_ADMIN, DEMO_BUS, DEMO_READER, DEMO_SSO, Login, REGISTER, Soap, TestApp, basic,
    client_as, delete_xml, envelope, get_relation_types_xml, get_relations_xml, relation,
    spawn_app, spawn_with,
};

/// What the README's role table allows: readers the Get, List and Search
/// operations; integrations also create and delete relations; admins
/// everything.
fn allowed(role: &str, operation: &str) -> bool {
    let reads = ["Get", "List", "Search", "Find"]
        .iter()
        .any(|verb| operation.starts_with(verb));
    match role {
        "reader" => reads,
        "integration" => {
            reads
                || [
                    "CreateCustomerRelation",
                    "UpdateCustomerRelation",
                    "DeleteCustomerRelation",
                ]
                .contains(&operation)
        }
        "admin" => true,
        other => panic!("no role {other}"),
    }
}

/// A SOAP envelope with a `wsse:Security` header block.
fn with_security(version: Soap, security: &str, payload: &str) -> String {
    let must = match version {
        Soap::V11 => r#"s:mustUnderstand="1""#,
        Soap::V12 => r#"s:mustUnderstand="true""#,
    };
    format!(
        r#"<s:Envelope xmlns:s="{}"><s:Header><wsse:Security {must} xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">{security}</wsse:Security></s:Header><s:Body>{payload}</s:Body></s:Envelope>"#,
        version.namespace()
    )
}

const PASSWORD_TEXT: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
const PASSWORD_DIGEST: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";

fn username_token((name, secret): Login, password_type: &str) -> String {
    format!(
        r#"<wsse:UsernameToken><wsse:Username>{name}</wsse:Username><wsse:Password Type="{password_type}">{secret}</wsse:Password></wsse:UsernameToken>"#
    )
}

/// A `wsu:Timestamp` created `created` seconds from now, expiring
/// `expires` seconds from now.
fn timestamp(created: i64, expires: i64) -> String {
    let at = |offset: i64| {
        (chrono::Utc::now() + chrono::Duration::seconds(offset))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    format!(
        "<wsu:Timestamp><wsu:Created>{}</wsu:Created><wsu:Expires>{}</wsu:Expires></wsu:Timestamp>",
        at(created),
        at(expires)
    )
}

async fn call_as(
    app: &TestApp,
    login: Option<Login>,
    service: Service,
    payload: &str,
) -> crate::helpers::SoapResponse {
    let client = login.map_or_else(reqwest::Client::new, client_as);
    app.send_with(&client, service, Soap::V11, envelope(Soap::V11, payload))
        .await
}

on_both_backends! {
    async fn every_role_may_call_exactly_its_operations(backend: Backend) {
        let app = spawn_app(&backend).await;
        // Readers first, admins last: what an allowed write changes does not
        // matter to the others.
        for (login, role) in [(DEMO_READER, "reader"), (DEMO_BUS, "integration"), (DEMO_ADMIN, "admin")] {
            for service in Service::ALL {
                for operation in service.operations() {
                    let response =
                        call_as(&app, Some(login), service, &operation.example_request()).await;
                    let denied = response.detail_element().map(|(_, name)| name);
                    assert_ne!(denied.as_deref(), Some("AuthenticationFault"), "{}", response.body);
                    if allowed(role, operation.name()) {
                        assert_ne!(
                            denied.as_deref(),
                            Some("AccessDeniedFault"),
                            "{role} may call {operation:?}: {}",
                            response.body
                        );
                    } else {
                        response.assert_fault_in_service(service, "AccessDeniedFault");
                        assert_eq!(response.detail_field("ClientName").as_deref(), Some(login.0));
                        assert_eq!(response.detail_field("Operation").as_deref(), Some(operation.name()));
                    }
                }
            }
        }
    }

    async fn anonymous_calls_are_refused_on_every_operation_with_a_challenge(backend: Backend) {
        let app = spawn_app(&backend).await;
        let anonymous = reqwest::Client::new();
        for version in Soap::BOTH {
            for service in Service::ALL {
                for operation in service.operations() {
                    let response = app
                        .send_with(&anonymous, service, version, envelope(version, &operation.example_request()))
                        .await;
                    response.assert_fault_in_service(service, "AuthenticationFault");
                    assert_eq!(response.status, 401, "{operation:?}");
                    assert!(response.www_authenticate.starts_with("Basic realm="), "{operation:?}");
                }
            }
        }
        // Nothing was changed: the demo's relations are as they were.
        assert!(app.get_relations(1000).await.relations().is_empty());
        // The WSDLs and the health check need no credentials.
        for path in ["/CustomerRelationService?wsdl", "/CustomerRegisterService?wsdl", "/health"] {
            let response = anonymous.get(format!("{}{path}", app.address)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
        }
    }

    async fn a_scope_limits_create_delete_and_get_to_its_relation_types(backend: Backend) {
        let app = spawn_app(&backend).await;
        let outside = app.create(&relation(1000, "PERSONAL", "1001")).await.relation();
        let inside = call_as(&app, Some(DEMO_SSO), Service::Relations, &relation(1000, "SSO", "sso-1").to_xml()).await;
        let inside = inside.assert_ok("CreateCustomerRelationResponse").relation();
        assert_eq!(inside.created_by, "demo-sso");

        for (reference, code) in [("1001", "PERSONAL"), ("x", "NOPE")] {
            let refused = call_as(&app, Some(DEMO_SSO), Service::Relations, &relation(1000, code, reference).to_xml()).await;
            refused.assert_fault("AccessDeniedFault");
            assert_eq!(refused.detail_field("RelationTypeCode").as_deref(), Some(code));
        }

        let listed = call_as(&app, Some(DEMO_SSO), Service::Relations, &get_relations_xml(1000)).await;
        let ids: Vec<i64> = listed.relations().iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![inside.id]);
        let all = app.get_relations(1000).await.relations();
        assert_eq!(all.len(), 2);

        let refused = call_as(&app, Some(DEMO_SSO), Service::Relations, &delete_xml(outside.id)).await;
        refused.assert_fault("AccessDeniedFault");
        assert_eq!(refused.detail_field("RelationTypeCode").as_deref(), Some("PERSONAL"));
        assert_eq!(app.get_relations(1000).await.relations().len(), 2, "nothing was deleted");
        call_as(&app, Some(DEMO_SSO), Service::Relations, &delete_xml(999_999))
            .await
            .assert_fault("CustomerRelationNotFoundFault");
        call_as(&app, Some(DEMO_SSO), Service::Relations, &delete_xml(inside.id))
            .await
            .assert_ok("DeleteCustomerRelationResponse");
        let left: Vec<i64> = app.get_relations(1000).await.relations().iter().map(|r| r.id).collect();
        assert_eq!(left, vec![outside.id]);
    }

    async fn refused_credentials_get_one_fault_that_names_nothing(backend: Backend) {
        let app = spawn_app(&backend).await;
        let fault_text = |response: &crate::helpers::SoapResponse| {
            response.assert_fault("AuthenticationFault");
            assert_eq!(response.status, 500);
            response.fault_reason()
        };
        // Right after the right secret was accepted (and remembered, see
        // src/auth/authenticator.rs), wrong ones are refused all the same.
        let as_bus = async |secret: &'static str| {
            call_as(&app, Some(("demo-bus", secret)), Service::Relations, &get_relation_types_xml()).await
        };
        as_bus("demo-bus-secret").await.assert_ok("GetRelationTypesResponse");
        let wrong = as_bus("demo-bus-secreT").await;
        let unknown = call_as(&app, Some(("nobody", "demo-bus-secret")), Service::Relations, &get_relation_types_xml()).await;
        let empty = as_bus("").await;
        assert_eq!(fault_text(&wrong), fault_text(&unknown));
        assert_eq!(fault_text(&wrong), fault_text(&empty));
        assert!(!fault_text(&wrong).contains("demo-bus"));
        for longer_or_shorter in ["demo-bus-secret ", "demo-bus-secre"] {
            assert_eq!(fault_text(&as_bus(longer_or_shorter).await), fault_text(&wrong));
        }
        as_bus("demo-bus-secret").await.assert_ok("GetRelationTypesResponse");

        // An invalid client is refused within a second, on this instance too.
        let reader = client_as(DEMO_READER);
        let ok = app.send_with(&reader, Service::Relations, Soap::V11, envelope(Soap::V11, &get_relation_types_xml())).await;
        ok.assert_ok("GetRelationTypesResponse");
        app.database.raw_sql("UPDATE api_clients SET validity = 'Invalid' WHERE name = 'demo-reader'");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let refused = app.send_with(&reader, Service::Relations, Soap::V11, envelope(Soap::V11, &get_relation_types_xml())).await;
        assert_eq!(fault_text(&refused), fault_text(&wrong));

        // Another scheme in the Authorization header is refused.
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        let bearer = reqwest::Client::builder().default_headers(headers).build().unwrap();
        let refused = app.send_with(&bearer, Service::Relations, Soap::V11, envelope(Soap::V11, &get_relation_types_xml())).await;
        refused.assert_fault("AuthenticationFault");
        assert!(refused.fault_reason().contains("not HTTP Basic"), "{}", refused.body);
    }

    async fn ws_security_username_tokens_are_accepted_on_both_versions(backend: Backend) {
        let app = spawn_app(&backend).await;
        let anonymous = reqwest::Client::new();
        for version in Soap::BOTH {
            for service in Service::ALL {
                // mustUnderstand on the Security header is honoured, not a fault.
                let payload = match service {
                    Service::Relations => get_relation_types_xml(),
                    Service::Register => format!(r#"<ListRelationTypes xmlns="{REGISTER}"/>"#),
                };
                let token = username_token(DEMO_READER, PASSWORD_TEXT);
                let response = app
                    .send_with(&anonymous, service, version, with_security(version, &token, &payload))
                    .await;
                assert_eq!(response.status, 200, "{version:?} {service:?}: {}", response.body);
            }
            // The caller is the token's client: its name is the creator.
            let token = username_token(DEMO_BUS, PASSWORD_TEXT);
            let created = app
                .send_with(&anonymous, Service::Relations, version, with_security(version, &token, &relation(1000, "SSO", &format!("{version:?}")).to_xml()))
                .await;
            assert_eq!(created.assert_ok("CreateCustomerRelationResponse").relation().created_by, "demo-bus");
        }
        // A Security header for another actor is not for us: no credentials.
        let other_actor = format!(
            r#"<s:Envelope xmlns:s="{}"><s:Header><wsse:Security s:actor="urn:somebody-else" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">{}</wsse:Security></s:Header><s:Body>{}</s:Body></s:Envelope>"#,
            Soap::V11.namespace(),
            username_token(DEMO_ADMIN, PASSWORD_TEXT),
            get_relation_types_xml()
        );
        let response = app.send_with(&anonymous, Service::Relations, Soap::V11, other_actor).await;
        response.assert_fault_in_service(Service::Relations, "AuthenticationFault");
        assert_eq!(response.status, 401);
    }

    async fn malformed_security_headers_are_refused_saying_what_is_wrong(backend: Backend) {
        let app = spawn_app(&backend).await;
        let anonymous = reqwest::Client::new();
        let token = username_token(DEMO_BUS, PASSWORD_TEXT);
        for (security, says) in [
            (format!("{token}{token}"), "more than one UsernameToken"),
            (
                "<wsse:UsernameToken><wsse:Username>demo-bus</wsse:Username></wsse:UsernameToken>".to_owned(),
                "has no Password",
            ),
            (username_token(DEMO_BUS, "urn:other#Kerberos"), "'urn:other#Kerberos' is not supported"),
            (format!("{}{}{token}", timestamp(0, 60), timestamp(0, 60)), "more than one Timestamp"),
        ] {
            let response = app
                .send_with(&anonymous, Service::Relations, Soap::V11, with_security(Soap::V11, &security, &get_relation_types_xml()))
                .await;
            response.assert_fault("AuthenticationFault");
            assert!(response.fault_reason().contains(says), "{says}: {}", response.body);
        }
        // Two Security blocks for this service: the envelope itself is wrong.
        let twice = with_security(Soap::V11, &token, &get_relation_types_xml()).replacen(
            "</s:Header>",
            &format!(
                r#"<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">{token}</wsse:Security></s:Header>"#
            ),
            1,
        );
        let response = app.send_with(&anonymous, Service::Relations, Soap::V11, twice).await;
        response.assert_client_fault();
        assert!(response.fault_reason().contains("more than one wsse:Security"), "{}", response.body);
    }

    /// When the API clients cannot be read for longer than a second, no
    /// credentials are trusted: a Server fault naming a request id, not a
    /// refusal and not a pass; reading again, the service recovers.
    async fn unreadable_clients_fail_closed_and_recover(backend: Backend) {
        let app = spawn_app(&backend).await;
        let types = get_relation_types_xml();
        let get = || app.call(Soap::V11, &types);
        get().await.assert_ok("GetRelationTypesResponse");
        app.database.raw_sql("ALTER TABLE api_clients RENAME TO api_clients_away");
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let refused = get().await;
        assert_eq!(refused.fault_code().1, "Server", "{}", refused.body);
        assert!(refused.fault_reason().contains(&refused.request_id), "{}", refused.body);
        app.database.raw_sql("ALTER TABLE api_clients_away RENAME TO api_clients");
        tokio::time::sleep(Duration::from_millis(600)).await;
        get().await.assert_ok("GetRelationTypesResponse");
    }

    async fn timestamps_digests_and_mixed_credentials_are_refused(backend: Backend) {
        let app = spawn_app(&backend).await;
        let anonymous = reqwest::Client::new();
        let send = |security: String, client: reqwest::Client| {
            let app = &app;
            async move {
                app.send_with(&client, Service::Relations, Soap::V12, with_security(Soap::V12, &security, &get_relation_types_xml()))
                    .await
            }
        };
        let token = username_token(DEMO_BUS, PASSWORD_TEXT);
        // Fresh, and created a little in the future (clocks differ): fine.
        for stamp in [timestamp(0, 300), timestamp(30, 300)] {
            let response = send(format!("{stamp}{token}"), anonymous.clone()).await;
            assert_eq!(response.status, 200, "{}", response.body);
        }
        for (stamp, says) in [(timestamp(-600, -1), "expired"), (timestamp(90, 300), "future")] {
            let response = send(format!("{stamp}{token}"), anonymous.clone()).await;
            response.assert_fault("AuthenticationFault");
            assert!(response.fault_reason().contains(says), "{}", response.body);
        }
        let digest = send(username_token(DEMO_BUS, PASSWORD_DIGEST), anonymous.clone()).await;
        digest.assert_fault("AuthenticationFault");
        assert!(digest.fault_reason().contains("PasswordDigest is not supported"), "{}", digest.body);
        // Basic and a token for different clients: refused; the same: fine.
        let mixed = send(token.clone(), client_as(DEMO_ADMIN)).await;
        mixed.assert_fault("AuthenticationFault");
        let same = send(token, client_as(DEMO_BUS)).await;
        assert_eq!(same.status, 200, "{}", same.body);
    }
}

impl crate::helpers::SoapResponse {
    /// Asserts a typed fault of `service`'s namespace (whatever the HTTP
    /// status: a challenge is 401).
    fn assert_fault_in_service(&self, service: Service, name: &str) -> &Self {
        assert_eq!(
            self.detail_element(),
            Some((service.namespace().to_owned(), name.to_owned())),
            "{}",
            self.body
        );
        self
    }
}

/// A client whose connections come from `address` (127.0.0.x).
fn from_address(login: Login, address: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        basic(login.0, login.1).parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .local_address(address.parse::<std::net::IpAddr>().ok())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_failures_refuse_a_name_and_then_an_address_for_a_cool_down() {
    let app = spawn_with(&Backend::Sqlite, |settings| {
        settings.throttle.client_failures = 3;
        settings.throttle.address_failures = 6;
        settings.throttle.cooldown = Duration::from_secs(3);
    })
    .await;
    let get = || envelope(Soap::V11, &get_relation_types_xml());
    let send = |client: reqwest::Client| {
        let app = &app;
        async move {
            app.send_with(&client, Service::Relations, Soap::V11, get())
                .await
        }
    };
    let wrong_bus = from_address(("demo-bus", "wrong"), "127.0.0.1");
    for _ in 0..3 {
        send(wrong_bus.clone())
            .await
            .assert_fault("AuthenticationFault");
    }
    // The right secret now gets the same fault, for the cool-down.
    let right_bus = from_address(DEMO_BUS, "127.0.0.1");
    let refused = send(right_bus.clone()).await;
    refused.assert_fault("AuthenticationFault");
    assert_eq!(
        refused.fault_reason(),
        send(wrong_bus.clone()).await.fault_reason()
    );
    // Another client from another address is not affected.
    let other = send(from_address(DEMO_READER, "127.0.0.2")).await;
    other.assert_ok("GetRelationTypesResponse");

    // Three more failures from 127.0.0.1 under other names (the refusals
    // while demo-bus cooled down did not count): the address is refused,
    // whatever the client; 127.0.0.2 is not.
    for name in ["x1", "x2", "x3"] {
        send(from_address((name, "wrong"), "127.0.0.1")).await;
    }
    send(from_address(DEMO_ADMIN, "127.0.0.1"))
        .await
        .assert_fault("AuthenticationFault");
    send(from_address(DEMO_ADMIN, "127.0.0.2"))
        .await
        .assert_ok("GetRelationTypesResponse");

    // After the cool-down, the right secret works again.
    tokio::time::sleep(Duration::from_millis(3300)).await;
    send(right_bus).await.assert_ok("GetRelationTypesResponse");
}

/// PEM files of a CA, a server certificate for 127.0.0.1 it signed, and a
/// client certificate per CN it signed; and a client certificate nobody
/// trusts.
struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
}

impl Pki {
    fn new() -> (Self, rcgen::Issuer<'static, rcgen::KeyPair>) {
        let dir = tempfile::tempdir().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "test CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        let ca_pem = ca.pem();
        std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
        let issuer = rcgen::Issuer::new(params, key);
        let (server, server_key) = signed(&issuer, "127.0.0.1", true);
        std::fs::write(dir.path().join("server.pem"), server).unwrap();
        std::fs::write(dir.path().join("server-key.pem"), server_key).unwrap();
        (Self { dir, ca_pem }, issuer)
    }

    fn files(&self, client_ca: bool) -> customer_relations::settings::TlsFiles {
        customer_relations::settings::TlsFiles {
            certificate: self.dir.path().join("server.pem"),
            private_key: self.dir.path().join("server-key.pem"),
            client_ca: client_ca.then(|| self.dir.path().join("ca.pem")),
        }
    }

    /// An HTTPS client that trusts the CA, with this identity (PEM) and
    /// these HTTP Basic credentials.
    fn client(&self, identity: Option<String>, login: Option<Login>) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some((name, secret)) = login {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                basic(name, secret).parse().unwrap(),
            );
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap());
        if let Some(identity) = identity {
            builder = builder.identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap());
        }
        builder.build().unwrap()
    }
}

/// A certificate and its key, both PEM: for a server (its IP address) or a
/// client (its CN).
fn signed(
    issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
    name: &str,
    server: bool,
) -> (String, String) {
    let mut params = if server {
        rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap()
    } else {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        params
    };
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = params.signed_by(&key, issuer).unwrap();
    (certificate.pem(), key.serialize_pem())
}

fn https_app_address(app: &TestApp) -> String {
    app.address.replace("http://", "https://")
}

async fn post_https(
    client: &reqwest::Client,
    address: &str,
    payload: &str,
) -> Result<(u16, String), reqwest::Error> {
    let response = client
        .post(format!("{address}/CustomerRelationService"))
        .header("Content-Type", Soap::V11.content_type())
        .body(envelope(Soap::V11, payload))
        .timeout(Duration::from_secs(30))
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tls_carries_basic_credentials() {
    let (pki, _issuer) = Pki::new();
    let app = spawn_with(&Backend::Sqlite, |settings| {
        settings.tls = Some(pki.files(false))
    })
    .await;
    let address = https_app_address(&app);
    let client = pki.client(None, Some(DEMO_BUS));
    let (status, body) = post_https(
        &client,
        &address,
        &relation(1000, "SSO", "over-tls").to_xml(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<CreatedBy>demo-bus</CreatedBy>"), "{body}");
    // Plain HTTP on the TLS port gets no SOAP answer.
    let plain = reqwest::Client::new()
        .post(format!("{}/CustomerRelationService", app.address))
        .header("Content-Type", Soap::V11.content_type())
        .body(envelope(Soap::V11, &get_relation_types_xml()))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_certificate_authenticates_as_the_client_its_cn_names() {
    let (pki, issuer) = Pki::new();
    let app = spawn_with(&Backend::Sqlite, |settings| {
        settings.tls = Some(pki.files(true))
    })
    .await;
    let address = https_app_address(&app);
    let identity = |name: &str| {
        let (certificate, key) = signed(&issuer, name, false);
        format!("{certificate}{key}")
    };

    let sso = pki.client(Some(identity("demo-sso")), None);
    let (status, body) = post_https(&sso, &address, &relation(1000, "SSO", "mtls").to_xml())
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<CreatedBy>demo-sso</CreatedBy>"), "{body}");
    // The certificate's client has its role and scope.
    let (_, body) = post_https(&sso, &address, &relation(1000, "PERSONAL", "1001").to_xml())
        .await
        .unwrap();
    assert!(body.contains("AccessDeniedFault"), "{body}");

    // A CN that names no client; no certificate and no password.
    let (status, body) = post_https(
        &pki.client(Some(identity("nobody")), None),
        &address,
        &get_relation_types_xml(),
    )
    .await
    .unwrap();
    assert!(
        status == 500 && body.contains("AuthenticationFault"),
        "{body}"
    );
    let (status, body) = post_https(&pki.client(None, None), &address, &get_relation_types_xml())
        .await
        .unwrap();
    assert!(
        status == 401 && body.contains("AuthenticationFault"),
        "{body}"
    );

    // A certificate from another CA does not get through the handshake.
    let (stranger_pki, stranger_issuer) = Pki::new();
    let (certificate, key) = signed(&stranger_issuer, "demo-admin", false);
    drop(stranger_pki);
    let stranger = pki.client(Some(format!("{certificate}{key}")), None);
    assert!(
        post_https(&stranger, &address, &get_relation_types_xml())
            .await
            .is_err()
    );
}
