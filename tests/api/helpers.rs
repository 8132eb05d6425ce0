use customer_relations::auth::ensure_demo_clients;
use customer_relations::import::{demo_fixtures, import};
use customer_relations::operations::Service;
use customer_relations::settings::Settings;
use customer_relations::startup::Application;
use customer_relations::store::{Database, DatabaseUrl, PoolOptions};
use tempfile::TempDir;

pub const TNS: &str = "urn:customer-relations:v1";
pub const REGISTER: &str = "urn:customer-relations:register:v1";
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Soap {
    V11,
    V12,
}

impl Soap {
    pub const BOTH: [Soap; 2] = [Soap::V11, Soap::V12];

    pub fn namespace(self) -> &'static str {
        match self {
            Soap::V11 => SOAP11,
            Soap::V12 => SOAP12,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Soap::V11 => "text/xml; charset=utf-8",
            Soap::V12 => "application/soap+xml; charset=utf-8",
        }
    }
}

/// Where a test's data lives. SQLite always; PostgreSQL when
/// `TEST_POSTGRES_URL` names a server the tests may create databases on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

impl Backend {
    /// PostgreSQL at `TEST_POSTGRES_URL`. The PostgreSQL tests are built
    /// as ignored when it is unset (see `build.rs`), so reaching here
    /// without it means it was unset after the build, or CI forgot it.
    pub fn postgres() -> Backend {
        match std::env::var("TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Backend::Postgres { admin_url: url },
            _ => panic!(
                "set TEST_POSTGRES_URL so that the tests run on PostgreSQL too (on CI it is required)"
            ),
        }
    }

    /// A new, empty database on this backend, removed when dropped.
    pub fn fresh_database(&self) -> FreshDatabase {
        match self {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                // A folder that does not exist yet: the service creates it.
                let path = dir.path().join("nested/customer-relations.db");
                FreshDatabase {
                    raw_url: format!("sqlite://{}", path.display()),
                    url: DatabaseUrl::Sqlite(path),
                    _guard: Guard::Dir(dir),
                }
            }
            Backend::Postgres { admin_url } => {
                use diesel::Connection;
                use diesel::connection::SimpleConnection;
                let name = format!("cr_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::pg::PgConnection::establish(admin_url)
                    .unwrap_or_else(|e| panic!("TEST_POSTGRES_URL does not connect: {e}"));
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .expect("a test database is created");
                let raw_url = with_database(admin_url, &name);
                FreshDatabase {
                    url: raw_url.parse().expect("a PostgreSQL URL"),
                    raw_url,
                    _guard: Guard::Postgres {
                        admin_url: admin_url.clone(),
                        name,
                    },
                }
            }
        }
    }
}

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").expect("a URL") + 3;
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| i + authority_start);
    let mut url = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

pub struct FreshDatabase {
    pub url: DatabaseUrl,
    /// The URL with its password, for the command line.
    pub raw_url: String,
    _guard: Guard,
}

enum Guard {
    Dir(#[allow(dead_code)] TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres { admin_url, name } = self {
            use diesel::Connection;
            use diesel::connection::SimpleConnection;
            if let Ok(mut admin) = diesel::pg::PgConnection::establish(admin_url) {
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            }
        }
    }
}

impl FreshDatabase {
    /// Opens and migrates it.
    pub fn open(&self) -> Database {
        self.open_with(&PoolOptions::default())
    }

    /// Opens it with these options, and migrates it.
    pub fn open_with(&self, options: &PoolOptions) -> Database {
        let database = Database::open(&self.url, options).expect("database opens");
        database.migrate().expect("migrations run");
        database
    }

    /// Runs SQL on it behind the service's back, for tests that break it.
    pub fn raw_sql(&self, sql: &str) {
        self.connection().batch_execute(sql).expect("the SQL runs");
    }

    /// A connection of its own, behind the service's back.
    pub fn connection(&self) -> Box<dyn diesel::connection::SimpleConnection + Send> {
        use diesel::Connection;
        match &self.url {
            DatabaseUrl::Sqlite(path) => Box::new(
                diesel::sqlite::SqliteConnection::establish(&path.to_string_lossy())
                    .expect("the test database opens"),
            ),
            DatabaseUrl::Postgres(url) => {
                Box::new(diesel::pg::PgConnection::establish(url).expect("the test database opens"))
            }
        }
    }

    /// Holds the lock every create needs, until the returned connection is
    /// dropped.
    pub fn hold_write_lock(&self) -> Box<dyn diesel::connection::SimpleConnection + Send> {
        let mut holder = self.connection();
        let lock = match self.url {
            // Waiting for the service's writer, if it is writing.
            DatabaseUrl::Sqlite(_) => "PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE",
            DatabaseUrl::Postgres(_) => {
                "BEGIN; LOCK TABLE customer_relations IN ACCESS EXCLUSIVE MODE;"
            }
        };
        holder.batch_execute(lock).expect("the lock is taken");
        holder
    }
}

/// Defines each `async fn name(backend: Backend)` once and runs it as two
/// tests: `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($($(#[$meta:meta])* async fn $name:ident($backend:ident: Backend) $body:block)*) => {
        $($(#[$meta])* async fn $name($backend: $crate::helpers::Backend) $body)*

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
                async fn $name() {
                    super::$name($crate::helpers::Backend::postgres()).await
                }
            )*
        }
    };
}

pub struct TestApp {
    pub address: String,
    /// `http://host:port` of `/metrics` when it has an address of its own.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub database: FreshDatabase,
}

/// The server on a fresh database holding the demo data set.
pub async fn spawn_app(backend: &Backend) -> TestApp {
    spawn(backend, true, |_| {}).await
}

/// The server on a fresh, empty (but migrated) database.
pub async fn spawn_empty_app(backend: &Backend) -> TestApp {
    spawn(backend, false, |_| {}).await
}

pub async fn spawn_with(backend: &Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(backend, true, configure).await
}

async fn spawn(backend: &Backend, demo: bool, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let fresh = backend.fresh_database();
    let mut settings = Settings::new("127.0.0.1:0", fresh.url.clone());
    settings.workers = Some(2);
    configure(&mut settings);
    let database = fresh.open_with(&settings.pool);
    if demo {
        import(&database, &demo_fixtures()).expect("demo data loads");
    }
    // Without the demo data, the clients whose scope needs its relation
    // types are left out; demo-admin is always there.
    ensure_demo_clients(&database).expect("the demo clients are added");
    let app = Application::build(&settings, database).expect("server binds");
    let address = format!("http://{}", app.address());
    let metrics_address = app.metrics_address().map(|a| format!("http://{a}"));
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        metrics_address,
        client: client_as(DEMO_ADMIN),
        database: fresh,
    }
}

impl TestApp {
    /// Starts another instance of the service on the same database, as a
    /// second node of a deployment; its address. It runs until the test
    /// ends.
    pub async fn another_instance(&self) -> String {
        let settings = Settings::new("127.0.0.1:0", self.database.url.clone());
        let database = self.database.open_with(&settings.pool);
        let app = Application::build(&settings, database).expect("server binds");
        let address = format!("http://{}", app.address());
        tokio::spawn(app.run_until_stopped());
        address
    }
}

/// Posts `body` to `endpoint` of `service` with `client` (at most 30 s),
/// and checks that a typed fault in the answer is one the operation
/// declares.
async fn send(
    client: &reqwest::Client,
    endpoint: &str,
    service: Service,
    content_type: &str,
    soap_action: Option<&str>,
    body: Vec<u8>,
) -> SoapResponse {
    let mut request = client
        .post(endpoint)
        .header("Content-Type", content_type)
        .timeout(std::time::Duration::from_secs(30))
        .body(body.clone());
    if let Some(action) = soap_action {
        request = request.header("SOAPAction", action);
    }
    let response = SoapResponse::read(request.send().await.expect("the server answers")).await;
    assert_fault_declared(service, &body, &response);
    response
}

/// A demo client's name and secret (README, "Security").
pub type Login = (&'static str, &'static str);
pub const DEMO_ADMIN: Login = ("demo-admin", "demo-admin-secret");
pub const DEMO_BUS: Login = ("demo-bus", "demo-bus-secret");
pub const DEMO_SSO: Login = ("demo-sso", "demo-sso-secret");
pub const DEMO_READER: Login = ("demo-reader", "demo-reader-secret");

/// The `Authorization` header value of HTTP Basic for a name and secret.
pub fn basic(name: &str, secret: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{name}:{secret}"));
    format!("Basic {encoded}")
}

/// An HTTP client that sends these credentials with HTTP Basic on every
/// request.
pub fn client_as((name, secret): (&str, &str)) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        basic(name, secret).parse().expect("a header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

/// Posts `payload` in a SOAP 1.1 envelope to `endpoint` (any server, e.g.
/// one started from the command line); (status, body). Waits at most 30 s.
pub async fn post_soap(endpoint: &str, payload: &str) -> (u16, String) {
    let response = client_as(DEMO_ADMIN)
        .post(endpoint)
        .header("Content-Type", Soap::V11.content_type())
        .body(envelope(Soap::V11, payload))
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// The `Id` in an answer, if it holds one (a confirmed create does).
pub fn id_in(body: &str) -> Option<i64> {
    let start = body.find("<Id>")? + "<Id>".len();
    body[start..].split('<').next()?.parse().ok()
}

/// Text for XML content.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A CreateCustomerRelation request, built field by field.
#[derive(Debug, Clone, Default)]
pub struct NewRelation {
    pub customer: i64,
    pub relation_type: String,
    pub reference: Option<String>,
    pub title: Option<String>,
    pub additional_value: Option<String>,
    pub source: Option<String>,
}

pub fn relation(customer: i64, relation_type: &str, reference: &str) -> NewRelation {
    NewRelation {
        customer,
        relation_type: relation_type.to_owned(),
        reference: Some(reference.to_owned()),
        ..NewRelation::default()
    }
}

impl NewRelation {
    pub fn title(mut self, title: &str) -> Self {
        self.title = Some(title.to_owned());
        self
    }

    pub fn additional_value(mut self, value: &str) -> Self {
        self.additional_value = Some(value.to_owned());
        self
    }

    pub fn source(mut self, value: &str) -> Self {
        self.source = Some(value.to_owned());
        self
    }

    /// The operation element, with a default namespace.
    pub fn to_xml(&self) -> String {
        let mut fields = format!(
            "<CustomerNumber>{}</CustomerNumber><RelationTypeCode>{}</RelationTypeCode>",
            self.customer,
            escape(&self.relation_type)
        );
        for (name, value) in [
            ("Reference", &self.reference),
            ("TitleCode", &self.title),
            ("AdditionalValue", &self.additional_value),
            ("Source", &self.source),
        ] {
            if let Some(value) = value {
                fields.push_str(&format!("<{name}>{}</{name}>", escape(value)));
            }
        }
        format!(
            r#"<CreateCustomerRelation xmlns="{TNS}"><CustomerRelation>{fields}</CustomerRelation></CreateCustomerRelation>"#
        )
    }
}

/// An envelope of `version` around `payload`, with the prefix `s`.
pub fn envelope(version: Soap, payload: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{}"><s:Body>{payload}</s:Body></s:Envelope>"#,
        version.namespace()
    )
}

/// A register request element: `<{operation} xmlns=REGISTER>{inner}</…>`.
pub fn register_xml(operation: &str, inner: &str) -> String {
    format!(r#"<{operation} xmlns="{REGISTER}">{inner}</{operation}>"#)
}

pub fn get_relations_xml(customer: i64) -> String {
    format!(
        r#"<GetCustomerRelationsByCustomer xmlns="{TNS}"><CustomerNumber>{customer}</CustomerNumber></GetCustomerRelationsByCustomer>"#
    )
}

pub fn delete_xml(id: i64) -> String {
    format!(r#"<DeleteCustomerRelation xmlns="{TNS}"><Id>{id}</Id></DeleteCustomerRelation>"#)
}

pub fn get_relation_types_xml() -> String {
    format!(r#"<GetRelationTypes xmlns="{TNS}"/>"#)
}

impl TestApp {
    pub fn endpoint(&self) -> String {
        format!("{}/CustomerRelationService", self.address)
    }

    /// Posts raw bytes with a Content-Type and, if given, a SOAPAction.
    pub async fn post(
        &self,
        content_type: &str,
        soap_action: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> SoapResponse {
        self.post_to(&self.endpoint(), content_type, soap_action, body)
            .await
    }

    /// As [`TestApp::post`], to the register service.
    pub async fn post_register(
        &self,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> SoapResponse {
        let endpoint = format!("{}/CustomerRegisterService", self.address);
        self.post_to(&endpoint, content_type, None, body).await
    }

    pub async fn post_to(
        &self,
        endpoint: &str,
        content_type: &str,
        soap_action: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> SoapResponse {
        let service = if endpoint.ends_with("/CustomerRegisterService") {
            Service::Register
        } else {
            Service::Relations
        };
        send(
            &self.client,
            endpoint,
            service,
            content_type,
            soap_action,
            body.into(),
        )
        .await
    }

    /// Sends a whole envelope of `version` to `service` with `client`,
    /// which carries whatever credentials the test wants (see
    /// [`client_as`]; `reqwest::Client::new()` has none).
    pub async fn send_with(
        &self,
        client: &reqwest::Client,
        service: Service,
        version: Soap,
        envelope: impl Into<Vec<u8>>,
    ) -> SoapResponse {
        let endpoint = format!("{}{}", self.address, service.path());
        send(
            client,
            &endpoint,
            service,
            version.content_type(),
            None,
            envelope.into(),
        )
        .await
    }

    /// Sends `payload` in an envelope of `version`.
    pub async fn call(&self, version: Soap, payload: &str) -> SoapResponse {
        self.post(version.content_type(), None, envelope(version, payload))
            .await
    }

    pub async fn create(&self, relation: &NewRelation) -> SoapResponse {
        self.call(Soap::V11, &relation.to_xml()).await
    }

    pub async fn get_relations(&self, customer: i64) -> SoapResponse {
        self.call(Soap::V11, &get_relations_xml(customer)).await
    }

    pub async fn delete(&self, id: i64) -> SoapResponse {
        self.call(Soap::V11, &delete_xml(id)).await
    }

    /// Sends `payload` to the register service in an envelope of `version`.
    pub async fn register_call(&self, version: Soap, payload: &str) -> SoapResponse {
        self.post_register(version.content_type(), envelope(version, payload))
            .await
    }

    /// Sends the register operation `operation` with the inner XML `inner`,
    /// in SOAP 1.1.
    pub async fn register(&self, operation: &str, inner: &str) -> SoapResponse {
        self.register_call(Soap::V11, &register_xml(operation, inner))
            .await
    }
}

/// A relation as the service returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub id: i64,
    pub customer: i64,
    pub relation_type: String,
    pub reference_type: String,
    pub reference: String,
    pub title: Option<String>,
    pub additional_value: Option<String>,
    pub source: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

#[derive(Debug)]
pub struct SoapResponse {
    pub status: u16,
    pub content_type: String,
    pub request_id: String,
    pub www_authenticate: String,
    pub body: String,
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn child_text(node: roxmltree::Node, name: &str) -> Option<String> {
    child(node, name).map(|c| c.text().unwrap_or("").to_owned())
}

/// A typed fault must be one that the operation's declaration lists (the
/// declaration the WSDL test holds each WSDL to), in its service's
/// namespace: so every test that meets a typed fault checks the declaration
/// against what the service does.
fn assert_fault_declared(service: Service, request: &[u8], response: &SoapResponse) {
    let Some((namespace, fault)) = response
        .is_fault()
        .then(|| response.detail_element())
        .flatten()
    else {
        return;
    };
    let request = std::str::from_utf8(request).expect("a typed fault answers a readable request");
    let document = roxmltree::Document::parse(request).expect("a typed fault answers XML");
    let element = document
        .root_element()
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Body")
        .and_then(|body| body.children().find(|c| c.is_element()))
        .expect("a typed fault answers a Body with an operation");
    let operation = service
        .operation_for(element.tag_name().namespace(), element.tag_name().name())
        .expect("a typed fault answers one of the service's operations");
    assert!(
        operation.faults().contains(&fault.as_str()),
        "{operation:?} raised {fault}, which it does not declare: {}",
        response.body
    );
    assert_eq!(namespace, service.namespace(), "{fault}");
}

impl SoapResponse {
    async fn read(response: reqwest::Response) -> Self {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let content_type = header("content-type");
        let request_id = header("x-request-id");
        let www_authenticate = header("www-authenticate");
        let status = response.status().as_u16();
        let body = response.text().await.expect("a body");
        crate::schema_check::assert_valid(&body);
        Self {
            status,
            content_type,
            request_id,
            www_authenticate,
            body,
        }
    }

    pub fn document(&self) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&self.body)
            .unwrap_or_else(|e| panic!("not XML ({e}): {}", self.body))
    }

    /// The envelope's version, from its namespace.
    pub fn version(&self) -> Soap {
        match self.document().root_element().tag_name().namespace() {
            Some(SOAP11) => Soap::V11,
            Some(SOAP12) => Soap::V12,
            other => panic!("not a SOAP envelope ({other:?}): {}", self.body),
        }
    }

    /// The Body's one element.
    fn with_payload<T>(&self, f: impl FnOnce(roxmltree::Node) -> T) -> T {
        let doc = self.document();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "Envelope", "{}", self.body);
        let body = child(root, "Body").unwrap_or_else(|| panic!("no Body: {}", self.body));
        let payload = body
            .children()
            .find(|c| c.is_element())
            .unwrap_or_else(|| panic!("empty Body: {}", self.body));
        f(payload)
    }

    pub fn is_fault(&self) -> bool {
        self.with_payload(|p| p.tag_name().name() == "Fault")
    }

    /// The fault code as (namespace, local name), resolved against the
    /// prefixes in scope: `soap:Client` → (SOAP11, "Client").
    pub fn fault_code(&self) -> (String, String) {
        self.with_payload(|fault| {
            assert_eq!(
                fault.tag_name().name(),
                "Fault",
                "not a fault: {}",
                self.body
            );
            let (holder, qname) = match child(fault, "faultcode") {
                Some(code) => (code, code.text().unwrap_or("").trim().to_owned()),
                None => {
                    let value = child(child(fault, "Code").expect("Code"), "Value").expect("Value");
                    (value, value.text().unwrap_or("").trim().to_owned())
                }
            };
            let (prefix, local) = qname.split_once(':').expect("a qualified fault code");
            let ns = holder
                .lookup_namespace_uri(Some(prefix))
                .unwrap_or_else(|| panic!("fault code prefix {prefix} is not declared"));
            (ns.to_owned(), local.to_owned())
        })
    }

    /// The fault's human-readable text.
    pub fn fault_reason(&self) -> String {
        self.with_payload(|fault| {
            child_text(fault, "faultstring")
                .or_else(|| child(fault, "Reason").and_then(|r| child_text(r, "Text")))
                .expect("a fault reason")
        })
    }

    /// The detail element of a typed fault, if any, as (namespace, name).
    pub fn detail_element(&self) -> Option<(String, String)> {
        self.with_payload(|fault| {
            let detail = child(fault, "detail").or_else(|| child(fault, "Detail"))?;
            let element = detail.children().find(|c| c.is_element())?;
            Some((
                element.tag_name().namespace().unwrap_or("").to_owned(),
                element.tag_name().name().to_owned(),
            ))
        })
    }

    /// Asserts this is the typed fault `name` in the relation service's
    /// namespace, with the Client/Sender code and the status of its SOAP
    /// version.
    pub fn assert_fault(&self, name: &str) -> &Self {
        self.assert_fault_in(TNS, name)
    }

    /// Asserts this is the typed fault `name` of the register service.
    pub fn assert_register_fault(&self, name: &str) -> &Self {
        self.assert_fault_in(REGISTER, name)
    }

    fn assert_fault_in(&self, namespace: &str, name: &str) -> &Self {
        assert_eq!(
            self.detail_element(),
            Some((namespace.to_owned(), name.to_owned())),
            "expected {name}: {}",
            self.body
        );
        self.assert_client_fault()
    }

    /// Asserts a Client (1.1) / Sender (1.2) fault with the right status.
    pub fn assert_client_fault(&self) -> &Self {
        let (namespace, code, status, media_type) = match self.version() {
            Soap::V11 => (SOAP11, "Client", 500, "text/xml"),
            Soap::V12 => (SOAP12, "Sender", 400, "application/soap+xml"),
        };
        assert_eq!(
            self.fault_code(),
            (namespace.to_owned(), code.to_owned()),
            "{}",
            self.body
        );
        assert_eq!(self.status, status, "{}", self.body);
        assert!(
            self.content_type.starts_with(media_type),
            "{}",
            self.content_type
        );
        self
    }

    /// A field of the typed fault's detail element.
    pub fn detail_field(&self, field: &str) -> Option<String> {
        self.with_payload(|fault| {
            let detail = child(fault, "detail").or_else(|| child(fault, "Detail"))?;
            let element = detail.children().find(|c| c.is_element())?;
            let value = child(element, field)?;
            assert_eq!(
                value.tag_name().namespace(),
                element.tag_name().namespace(),
                "{}",
                self.body
            );
            Some(value.text().unwrap_or("").to_owned())
        })
    }

    /// The Field of every ValidationError of an EntityValidationFault.
    pub fn validation_fields(&self) -> Vec<String> {
        self.with_payload(|fault| {
            let detail = child(fault, "detail")
                .or_else(|| child(fault, "Detail"))
                .expect("detail");
            let element = child(detail, "EntityValidationFault").expect("EntityValidationFault");
            let errors = child(element, "ValidationErrors").expect("ValidationErrors");
            errors
                .children()
                .filter(|c| c.is_element())
                .map(|e| {
                    assert_eq!(e.tag_name().name(), "ValidationError");
                    assert!(child_text(e, "Message").is_some_and(|m| !m.is_empty()));
                    child_text(e, "Field").expect("Field")
                })
                .collect()
        })
    }

    /// Asserts a successful response whose payload is `{TNS}name`.
    pub fn assert_ok(&self, name: &str) -> &Self {
        self.assert_ok_in(TNS, name)
    }

    /// Asserts a successful register response whose payload is
    /// `{REGISTER}name`.
    pub fn assert_register_ok(&self, name: &str) -> &Self {
        self.assert_ok_in(REGISTER, name)
    }

    fn assert_ok_in(&self, namespace: &str, name: &str) -> &Self {
        assert_eq!(self.status, 200, "{}", self.body);
        self.with_payload(|p| {
            assert_eq!(p.tag_name().namespace(), Some(namespace), "{}", self.body);
            assert_eq!(p.tag_name().name(), name, "{}", self.body);
        });
        self
    }

    /// The simple fields of the payload's child `name`, e.g. the Customer of
    /// a GetCustomerResponse. Absent optional fields are absent keys.
    pub fn record(&self, name: &str) -> Record {
        self.with_payload(|p| {
            record_of(child(p, name).unwrap_or_else(|| panic!("no {name}: {}", self.body)))
        })
    }

    /// The records inside the payload's child `list`, e.g. the Customers of
    /// a SearchCustomersResponse.
    pub fn records(&self, list: &str) -> Vec<Record> {
        self.with_payload(|p| {
            child(p, list)
                .unwrap_or_else(|| panic!("no {list}: {}", self.body))
                .children()
                .filter(|c| c.is_element())
                .map(record_of)
                .collect()
        })
    }

    /// The text of the payload's child `name`.
    pub fn value(&self, name: &str) -> Option<String> {
        self.with_payload(|p| child_text(p, name))
    }

    /// The relation of a CreateCustomerRelationResponse.
    pub fn relation(&self) -> Relation {
        self.assert_ok("CreateCustomerRelationResponse");
        self.with_payload(|p| {
            parse_relation(child(p, "CustomerRelation").expect("CustomerRelation"))
        })
    }

    /// The relations of a GetCustomerRelationsByCustomerResponse.
    pub fn relations(&self) -> Vec<Relation> {
        self.assert_ok("GetCustomerRelationsByCustomerResponse");
        self.with_payload(|p| {
            child(p, "CustomerRelations")
                .expect("CustomerRelations")
                .children()
                .filter(|c| c.is_element())
                .map(parse_relation)
                .collect()
        })
    }

    /// (Code, Name, ReferenceType, TitleMode) of a GetRelationTypesResponse.
    pub fn relation_types(&self) -> Vec<[String; 4]> {
        self.assert_ok("GetRelationTypesResponse");
        self.with_payload(|p| {
            child(p, "RelationTypes")
                .expect("RelationTypes")
                .children()
                .filter(|c| c.is_element())
                .map(|t| {
                    ["Code", "Name", "ReferenceType", "TitleMode"]
                        .map(|f| child_text(t, f).unwrap_or_else(|| panic!("no {f}")))
                })
                .collect()
        })
    }
}

/// A record's simple fields by name.
pub type Record = std::collections::BTreeMap<String, String>;

fn record_of(node: roxmltree::Node) -> Record {
    node.children()
        .filter(|c| c.is_element())
        .map(|c| {
            assert!(
                c.has_children(),
                "empty element {} (absent values must be omitted)",
                c.tag_name().name()
            );
            (
                c.tag_name().name().to_owned(),
                c.text().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn parse_relation(node: roxmltree::Node) -> Relation {
    for element in node.descendants().filter(|d| d.is_element()) {
        assert_eq!(element.tag_name().namespace(), Some(TNS));
        assert!(
            element.has_children() || element.tag_name().name() == "CustomerRelation",
            "empty element {} (absent values must be omitted)",
            element.tag_name().name()
        );
    }
    let text = |name: &str| child_text(node, name);
    let audit = child(node, "Audit").expect("Audit");
    Relation {
        id: text("Id").expect("Id").parse().expect("Id is xs:long"),
        customer: text("CustomerNumber")
            .expect("CustomerNumber")
            .parse()
            .expect("xs:int"),
        relation_type: text("RelationTypeCode").expect("RelationTypeCode"),
        reference_type: text("ReferenceType").expect("ReferenceType"),
        reference: text("Reference").expect("Reference"),
        title: text("TitleCode"),
        additional_value: text("AdditionalValue"),
        source: text("Source"),
        created_at: child_text(audit, "CreatedAt").expect("CreatedAt"),
        created_by: child_text(audit, "CreatedBy").expect("CreatedBy"),
    }
}
