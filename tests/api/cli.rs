//! The binary as an operator runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::future::join_all;

use crate::helpers::{
    Backend, SOAP11, Soap, envelope, get_relations_xml, id_in, post_soap, relation,
};

const BIN: &str = env!("CARGO_BIN_EXE_customer-relations");

pub struct Server {
    pub child: Child,
    pub endpoint: String,
    stderr: mpsc::Receiver<String>,
}

impl Server {
    /// `serve --bind 127.0.0.1:0` on `database`; waits for the listen line.
    pub fn start(database: &str, extra: &[&str]) -> Self {
        Self::start_with(database, extra, |_| {})
    }

    /// As [`Server::start`], with the command prepared further first.
    fn start_with(database: &str, extra: &[&str], prepare: impl FnOnce(&mut Command)) -> Self {
        Self::start_reading_log_after(database, extra, prepare, None)
    }

    /// As [`Server::start`], with nobody reading the server's stderr until
    /// something is sent on the returned sender (or it is dropped): a pipe
    /// that fills.
    fn start_with_log_unread(database: &str, extra: &[&str]) -> (Self, mpsc::Sender<()>) {
        let (read, gate) = mpsc::channel();
        let server = Self::start_reading_log_after(database, extra, |_| {}, Some(gate));
        (server, read)
    }

    fn start_reading_log_after(
        database: &str,
        extra: &[&str],
        prepare: impl FnOnce(&mut Command),
        gate: Option<mpsc::Receiver<()>>,
    ) -> Self {
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--database", database])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        prepare(&mut command);
        let mut child = command.spawn().expect("the binary starts");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let stderr_reader = BufReader::new(child.stderr.take().unwrap());
        let (stderr_tx, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            if let Some(gate) = gate {
                let _ = gate.recv();
            }
            for line in stderr_reader.lines().map_while(Result::ok) {
                let _ = stderr_tx.send(line);
            }
        });
        let listening = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the server prints where it listens");
        let endpoint = listening
            .strip_prefix("CustomerRelationService listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {listening}"))
            .to_owned();
        let next = || lines.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(next(), format!("WSDL: {endpoint}?wsdl"));
        let register = endpoint.replace("CustomerRelationService", "CustomerRegisterService");
        assert_eq!(
            next(),
            format!("CustomerRegisterService listening on {register}")
        );
        assert_eq!(next(), format!("WSDL: {register}?wsdl"));
        assert!(next().starts_with("Database: "));
        Self {
            child,
            endpoint,
            stderr,
        }
    }

    pub async fn call(&self, payload: &str) -> String {
        self.call_with(
            &crate::helpers::client_as(crate::helpers::DEMO_ADMIN),
            payload,
        )
        .await
    }

    async fn call_with(&self, client: &reqwest::Client, payload: &str) -> String {
        client
            .post(&self.endpoint)
            .header("Content-Type", Soap::V11.content_type())
            .body(envelope(Soap::V11, payload))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .inspect(|body| crate::schema_check::assert_valid(body))
            .unwrap()
    }

    /// What `GET /metrics` answers now.
    async fn metrics(&self) -> String {
        let url = self
            .endpoint
            .replace("/CustomerRelationService", "/metrics");
        reqwest::get(url).await.unwrap().text().await.unwrap()
    }

    /// Ctrl-C, then the exit status and the whole log (its last lines are
    /// written as the server exits: read until the pipe closes).
    pub fn interrupt(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        let mut log = Vec::new();
        loop {
            match self.stderr.recv_timeout(Duration::from_secs(10)) {
                Ok(line) => log.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("the log did not end: {log:#?}"),
            }
        }
        (status, log)
    }

    /// The log lines written so far, waiting up to `within` for one that
    /// `wanted` accepts.
    fn log_until(&self, within: Duration, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + within;
        let mut log = Vec::new();
        // Each line is looked at once, as it comes.
        while !log.last().is_some_and(|line: &String| wanted(line)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => log.push(line),
                Err(_) => break,
            }
        }
        log
    }
}

/// A test that fails before it stops its server must not leave it running.
impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn unknown_database_url_schemes_are_refused() {
    let out = Command::new(BIN)
        .args(["migrate", "--database", "mysql://cr:s3cret@localhost/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown database URL scheme"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

/// Two instances on one PostgreSQL database, started at the same moment
/// (both migrate and both load the demo data), then 64 concurrent identical
/// creates split across them: one relation, 63 faults naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
async fn two_instances_on_one_database_make_exactly_one_relation() {
    let backend = Backend::postgres();
    let database = backend.fresh_database();
    let url = database.raw_url.clone();
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| Server::start(&url, &["--demo"]));
        let second = scope.spawn(|| Server::start(&url, &["--demo"]));
        (first.join().unwrap(), second.join().unwrap())
    });
    let instances = [&first, &second];
    let client = crate::helpers::client_as(crate::helpers::DEMO_ADMIN);

    let request = relation(1000, "SHARE", "1001").title("DAILY").to_xml();
    let answers = join_all((0..64).map(|i| instances[i % 2].call_with(&client, &request))).await;
    let created: Vec<_> = answers
        .iter()
        .filter(|a| a.contains("<CreateCustomerRelationResponse"))
        .collect();
    assert_eq!(created.len(), 1, "exactly one create succeeds");
    let id = between(created[0], "<Id>", "</Id>");
    let refused: Vec<_> = answers
        .iter()
        .filter(|a| a.contains("<CustomerRelationAlreadyExistsFault"))
        .collect();
    assert_eq!(refused.len(), 63, "{answers:#?}");
    for answer in refused {
        assert_eq!(between(answer, "<ExistingId>", "</ExistingId>"), id);
    }
    for instance in instances {
        let listed = instance.call(&get_relations_xml(1000)).await;
        assert_eq!(listed.matches("<CustomerRelation>").count(), 1, "{listed}");
    }

    // Different relations created through both instances get distinct Ids.
    let requests: Vec<_> = (0..32)
        .map(|i| relation(1000, "SSO", &format!("two-{i}")).to_xml())
        .collect();
    let answers = join_all(
        requests
            .iter()
            .enumerate()
            .map(|(i, r)| instances[i % 2].call_with(&client, r)),
    )
    .await;
    let mut ids: Vec<&str> = answers
        .iter()
        .map(|a| between(a, "<Id>", "</Id>"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 32, "Ids are unique across instances");

    first.interrupt();
    second.interrupt();
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {text}"))
        + start.len();
    let to = text[from..].find(end).expect("closed") + from;
    &text[from..to]
}

on_both_backends! {
    /// `purge --customer N` erases the customer's relations, live and
    /// deleted, and their history, says what it erased, and leaves the
    /// other customers and the Ids that were handed out alone.
    async fn purge_erases_a_customers_relations_and_history_for_good(backend: Backend) {
        let database = backend.fresh_database();
        let server = Server::start(&database.raw_url, &["--demo"]);
        let client = crate::helpers::client_as(crate::helpers::DEMO_ADMIN);
        let mut ids = Vec::new();
        for reference in ["purge-1", "purge-2", "purge-3"] {
            let body = server.call_with(&client, &relation(1000, "SSO", reference).to_xml()).await;
            ids.push(id_in(&body).unwrap_or_else(|| panic!("{body}")));
        }
        server.call_with(&client, &crate::helpers::delete_xml(ids[0])).await;
        let kept = server.call_with(&client, &relation(1001, "SSO", "purge-1").to_xml()).await;
        let kept = id_in(&kept).unwrap();
        server.interrupt();

        let out = Command::new(BIN)
            .args(["purge", "--customer", "1000", "--database", &database.raw_url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "customer 1000: erased 3 relations and 4 changes of their history"
        );

        let server = Server::start(&database.raw_url, &[]);
        let history = |customer: i64| {
            format!(
                r#"<GetCustomerRelationHistory xmlns="urn:customer-relations:v1"><CustomerNumber>{customer}</CustomerNumber></GetCustomerRelationHistory>"#
            )
        };
        let gone = server.call_with(&client, &history(1000)).await;
        assert!(gone.contains("<RelationHistories></RelationHistories>") || gone.contains("<RelationHistories/>"), "{gone}");
        let get = |id: i64| {
            format!(r#"<GetCustomerRelation xmlns="urn:customer-relations:v1"><Id>{id}</Id></GetCustomerRelation>"#)
        };
        for id in &ids {
            let body = server.call_with(&client, &get(*id)).await;
            assert!(body.contains("CustomerRelationNotFoundFault"), "{body}");
        }
        let feed = server
            .call_with(&client, r#"<GetCustomerRelationChanges xmlns="urn:customer-relations:v1"><AfterSequence>0</AfterSequence></GetCustomerRelationChanges>"#)
            .await;
        assert_eq!(feed.matches("<Change>").count(), 1, "only customer 1001's create: {feed}");
        assert!(server.call_with(&client, &history(1001)).await.contains(&format!("<Id>{kept}</Id>")));
        // The Ids of the erased relations are not handed out again.
        let next = server.call_with(&client, &relation(1000, "SSO", "purge-1").to_xml()).await;
        assert!(id_in(&next).unwrap() > kept, "{next}");
        // A customer without relations: nothing to erase, and said so.
        server.interrupt();
        let out = Command::new(BIN)
            .args(["purge", "--customer", "1002", "--database", &database.raw_url])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "customer 1002: erased 0 relations and 0 changes of their history"
        );
    }

    /// A panic while answering or on the database is a Server fault naming
    /// the request id, which the log shows; the workers survive (more
    /// panics than workers, then normal requests). The trigger exists in
    /// debug builds only, and only with --panic-trigger.
    async fn a_panic_is_a_server_fault_and_the_workers_survive(backend: Backend) {
        let database = backend.fresh_database();
        let server = Server::start(&database.raw_url, &["--demo", "--workers", "2", "--panic-trigger"]);
        let client = crate::helpers::client_as(crate::helpers::DEMO_ADMIN);
        let mut ids = Vec::new();
        // Reads and writes, so that a write panics inside its transaction
        // (on SQLite, in the group-commit writer).
        let requests = [
            ("answering", get_relations_xml(1000)),
            ("database", get_relations_xml(1000)),
            ("answering", relation(1000, "FACEBOOK", "panicked-0").to_xml()),
            ("database", relation(1000, "FACEBOOK", "panicked-1").to_xml()),
            ("database", relation(1000, "FACEBOOK", "panicked-2").to_xml()),
        ];
        for (place, payload) in requests {
            let response = client
                .post(&server.endpoint)
                .header("Content-Type", Soap::V11.content_type())
                .header("X-Test-Panic", place)
                .body(envelope(Soap::V11, &payload))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 500);
            let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
            let body = response.text().await.unwrap();
            assert!(body.contains("soap:Server") && body.contains(&id), "{place}: {body}");
            ids.push(id);
        }
        for n in 0..4 {
            let created = server
                .call(&relation(1000, "FACEBOOK", &format!("after-{n}")).to_xml())
                .await;
            assert!(id_in(&created).is_some(), "{created}");
        }
        let listed = server.call(&get_relations_xml(1000)).await;
        assert_eq!(listed.matches(">after-").count(), 4, "{listed}");
        assert!(!listed.contains(">panicked-"), "a panicked write was stored: {listed}");
        let (_, log) = server.interrupt();
        for id in ids {
            assert!(
                log.iter().any(|line| line.contains(&id) && line.contains("panicked")),
                "{id}: {log:#?}"
            );
        }
    }

    /// SIGTERM, and Ctrl-C (SIGINT) alike, while a create waits on a locked
    /// database: the create gets a Server fault (not silence) within the
    /// database timeout, and the server exits 0 within its grace.
    async fn shutdown_answers_a_request_stuck_on_the_database(backend: Backend) {
        for signal in ["-TERM", "-INT"] {
            let database = backend.fresh_database();
            let server = Server::start(
                &database.raw_url,
                &[
                    "--demo",
                    "--database-timeout-secs",
                    "2",
                    "--shutdown-grace-secs",
                    "10",
                    // Longer than the database timeout: the create waits
                    // for its turn until the signal, rather than being told
                    // at once that the database is busy.
                    "--max-database-wait-ms",
                    "10000",
                ],
            );
            // Another writer holds the lock the create needs.
            let _holder = database.hold_write_lock();
            let endpoint = server.endpoint.clone();
            let stuck = tokio::spawn(async move {
                let started = std::time::Instant::now();
                let (_, body) =
                    post_soap(&endpoint, &relation(1000, "FACEBOOK", "stuck").to_xml()).await;
                (body, started.elapsed())
            });
            tokio::time::sleep(Duration::from_millis(500)).await;
            let started = std::time::Instant::now();
            let pid = server.child.id().to_string();
            Command::new("kill").args([signal, &pid]).status().unwrap();
            let (body, took) = stuck.await.unwrap();
            assert!(body.contains("Server") && body.contains("request id"), "{signal}: {body}");
            assert!(took < Duration::from_secs(4), "{signal}: answered after {took:?}");
            let mut server = server;
            let status = server.child.wait().unwrap();
            assert!(status.success(), "{signal}: {status:?}");
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{signal}: stopped after {:?}",
                started.elapsed()
            );
        }
    }

    /// SIGKILL in the middle of a create load: after a restart every
    /// confirmed create is there, and nothing else but what was sent.
    async fn a_crash_loses_no_confirmed_create(backend: Backend) {
        let database = backend.fresh_database();
        let server = Server::start(&database.raw_url, &["--demo"]);
        let endpoint = server.endpoint.clone();
        let load = (0..8).map(|worker| {
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                let client = crate::helpers::client_as(crate::helpers::DEMO_ADMIN);
                let mut confirmed = Vec::new();
                for n in 0.. {
                    let reference = format!("crash-{worker}-{n}");
                    let sent = client
                        .post(&endpoint)
                        .header("Content-Type", Soap::V11.content_type())
                        .body(envelope(Soap::V11, &relation(1000, "FACEBOOK", &reference).to_xml()))
                        .timeout(Duration::from_secs(30))
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    let Ok(body) = response.text().await else { break };
                    if body.contains("<Id>") {
                        confirmed.push(reference);
                    }
                }
                confirmed
            })
        });
        let load: Vec<_> = load.collect();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut server = server;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let mut confirmed = Vec::new();
        for worker in load {
            confirmed.extend(worker.await.unwrap());
        }
        assert!(confirmed.len() > 50, "the load ran: {}", confirmed.len());

        let server = Server::start(&database.raw_url, &[]);
        let listed = server.call(&get_relations_xml(1000)).await;
        for reference in &confirmed {
            assert!(listed.contains(&format!(">{reference}<")), "{reference} was confirmed and lost");
        }
        // What is stored is whole: the demo's relations (none) and creates
        // that were sent, each once.
        let stored: Vec<&str> = listed
            .split("<Reference>")
            .skip(1)
            .map(|rest| rest.split('<').next().unwrap())
            .collect();
        assert!(stored.iter().all(|r| r.starts_with("crash-")), "{stored:?}");
        let mut unique = stored.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), stored.len());
        assert!(stored.len() <= confirmed.len() + 8, "at most one unanswered create per worker");
        server.interrupt();
    }

    async fn serve_demo_migrates_loads_demo_data_once_and_stops_on_ctrl_c(backend: Backend) {
        let database = backend.fresh_database();
        let url = &database.raw_url;

        let server = Server::start(url, &["--demo"]);
        let created = server.call(&relation(1000, "FACEBOOK", "1").to_xml()).await;
        assert!(created.contains("<Id>1</Id>"), "{created}");
        let (status, log) = server.interrupt();
        assert!(status.success(), "graceful stop: {status:?}");
        let request_lines: Vec<_> = log
            .iter()
            .filter(|l| l.contains("operation=CreateCustomerRelation"))
            .collect();
        assert_eq!(request_lines.len(), 1, "{log:#?}");
        assert!(request_lines[0].contains("outcome=ok") && request_lines[0].contains("request_id="));
        assert!(request_lines[0].contains("client=demo-admin"), "{log:#?}");
        // The demo clients' secrets are public: the server says so at start.
        assert!(
            log.iter().any(|l| l.contains("WARN") && l.contains("the demo API clients exist")),
            "{log:#?}"
        );

        // Again with --demo: the database is not empty, so it is left alone.
        let server = Server::start(url, &["--demo"]);
        let listed = server.call(&get_relations_xml(1000)).await;
        assert_eq!(listed.matches("<CustomerRelation>").count(), 1, "{listed}");
        server.interrupt();
    }

    async fn client_commands_add_rotate_revoke_and_list_on_a_running_service(backend: Backend) {
        let database = backend.fresh_database();
        let url = database.raw_url.as_str();
        let server = Server::start(url, &["--demo"]);
        let client = |args: &[&str]| {
            let out = Command::new(BIN)
                .arg("client")
                .args(args)
                .args(["--database", url])
                .output()
                .unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let secret_of = |stdout: &str| stdout.lines().nth(1).unwrap().trim().to_owned();
        let as_client = |secret: &str| crate::helpers::client_as(("crm-bus", secret));
        // Within a second of a change, every instance acts on it.
        let settled = || tokio::time::sleep(Duration::from_millis(1100));

        let (code, stdout, stderr) = client(&["add", "crm-bus", "--role", "integration", "--scope", "SSO,FACEBOOK"]);
        assert_eq!(code, Some(0), "{stderr}");
        let first = secret_of(&stdout);
        assert_eq!(first.len(), 43, "{stdout}");
        settled().await;
        let created = server.call_with(&as_client(&first), &relation(1000, "SSO", "cli").to_xml()).await;
        assert!(created.contains("<CreatedBy>crm-bus</CreatedBy>"), "{created}");
        let refused = server.call_with(&as_client(&first), &relation(1000, "PERSONAL", "1001").to_xml()).await;
        assert!(refused.contains("AccessDeniedFault"), "{refused}");

        let (code, stdout, _) = client(&["rotate", "crm-bus"]);
        assert_eq!(code, Some(0));
        let second = secret_of(&stdout);
        assert_ne!(first, second);
        settled().await;
        let old = server.call_with(&as_client(&first), &get_relations_xml(1000)).await;
        assert!(old.contains("AuthenticationFault"), "{old}");
        let new = server.call_with(&as_client(&second), &get_relations_xml(1000)).await;
        assert!(new.contains("GetCustomerRelationsByCustomerResponse"), "{new}");

        let (code, stdout, _) = client(&["revoke", "crm-bus"]);
        assert_eq!(code, Some(0), "{stdout}");
        settled().await;
        let revoked = server.call_with(&as_client(&second), &get_relations_xml(1000)).await;
        assert!(revoked.contains("AuthenticationFault"), "{revoked}");

        let (code, listed, _) = client(&["list"]);
        assert_eq!(code, Some(0));
        assert!(listed.contains("crm-bus\tintegration\tFACEBOOK,SSO\tInvalid\t"), "{listed}");
        assert!(listed.contains("demo-sso\tintegration\tFACEBOOK,SSO\tValid\t"), "{listed}");
        assert!(!listed.contains(&first) && !listed.contains(&second) && !listed.contains("demo-admin-secret"));

        // Bad input: one clear line, nothing changed.
        for (args, says) in [
            (&["add", "x", "--role", "integration", "--scope", "NOPE"][..], "'NOPE', which is not a relation type"),
            (&["add", "x", "--role", "admin", "--scope", "SSO"][..], "takes no scope"),
            (&["add", "crm-bus", "--role", "reader"][..], "already a client named 'crm-bus'"),
            (&["add", "a:b", "--role", "reader"][..], "is not a client name"),
            (&["rotate", "nobody"][..], "no client named 'nobody'"),
            (&["revoke", "nobody"][..], "no client named 'nobody'"),
        ] {
            let (code, _, stderr) = client(args);
            assert_eq!(code, Some(1), "{args:?}: {stderr}");
            assert!(stderr.starts_with("error: ") && stderr.contains(says), "{args:?}: {stderr}");
        }
        let (code, _, stderr) = client(&["add", "x", "--role", "boss"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("'boss' is not a role"), "{stderr}");
        let (_, after, _) = client(&["list"]);
        assert!(!after.contains("\nx\t") && !after.starts_with("x\t"), "{after}");

        // Failed attempts are logged with the name, the address and the
        // request id, never the secret.
        let response = crate::helpers::client_as(("crm-bus", "a-wrong-secret"))
            .post(&server.endpoint)
            .header("Content-Type", Soap::V11.content_type())
            .body(envelope(Soap::V11, &get_relations_xml(1000)))
            .send()
            .await
            .unwrap();
        let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        let (_, log) = server.interrupt();
        let line = log
            .iter()
            .find(|l| l.contains(&format!("request_id={request_id} authentication failed")))
            .unwrap_or_else(|| panic!("{log:#?}"));
        assert!(line.contains("client=crm-bus address=127.0.0.1"), "{line}");
        assert!(log.iter().all(|l| !l.contains("a-wrong-secret") && !l.contains(&second)), "{log:#?}");
    }

    async fn a_server_fault_names_a_request_id_that_the_log_shows(backend: Backend) {
        let database = backend.fresh_database();
        let server = Server::start(&database.raw_url, &["--demo"]);
        database.raw_sql("DROP TABLE customer_relation_changes; DROP TABLE customer_relations;");
        let fault = server.call(&get_relations_xml(1000)).await;
        assert!(
            fault.contains(&format!("xmlns:soap=\"{SOAP11}\"")) && fault.contains("soap:Server"),
            "{fault}"
        );
        let id = fault
            .split("request id ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_alphanumeric()).next())
            .unwrap_or_else(|| panic!("no request id in {fault}"))
            .to_owned();
        assert!(!fault.contains("customer_relations"), "{fault}");
        let (_, log) = server.interrupt();
        // The cause, under the same id, in the request's span (README, "Logs").
        let span = format!("request{{request_id={id} trace_id=\"");
        assert!(
            log.iter().any(|l| l.contains(&span) && l.contains("internal error") && l.contains("customer_relations")),
            "the log has the cause under the same id: {log:#?}"
        );
        assert!(log.iter().any(|l| l.contains(&id) && l.contains("outcome=Server")));
    }

    async fn import_reports_file_and_line_and_changes_nothing(backend: Backend) {
        let database = backend.fresh_database();
        let url = &database.raw_url;
        let dir = tempfile::tempdir().unwrap();
        let fixtures = dir.path().join("fixtures");
        std::fs::create_dir(&fixtures).unwrap();
        std::fs::write(fixtures.join("titles.csv"), "code,name\nDAILY,Daily\n").unwrap();
        std::fs::write(
            fixtures.join("customers.csv"),
            "customer_number,name,validity\n1,Ann,Valid\n2,,Valid\n",
        )
        .unwrap();

        let failed = Command::new(BIN)
            .args(["import", fixtures.to_str().unwrap(), "--database", url])
            .output()
            .unwrap();
        assert!(!failed.status.success());
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(stderr.contains("customers.csv:3:"), "{stderr}");
        assert!(database.open().is_empty().unwrap(), "nothing was loaded");

        std::fs::write(
            fixtures.join("customers.csv"),
            "customer_number,name,validity\n1,Ann,Valid\n2,Bob,Valid\n",
        )
        .unwrap();
        for _ in 0..2 {
            let ok = Command::new(BIN)
                .args(["import", fixtures.to_str().unwrap(), "--database", url])
                .output()
                .unwrap();
            assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
            let stdout = String::from_utf8_lossy(&ok.stdout);
            assert!(stdout.contains("titles: 1, customers: 2"), "{stdout}");
        }
    }

    async fn a_long_import_shows_progress(backend: Backend) {
        let database = backend.fresh_database();
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("customer_number,name\n");
        for n in 1..=25_000 {
            csv.push_str(&format!("{n},Customer {n}\n"));
        }
        std::fs::write(dir.path().join("customers.csv"), csv).unwrap();
        let out = Command::new(BIN)
            .args(["import", dir.path().to_str().unwrap(), "--database", &database.raw_url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let progress: Vec<_> = stderr.lines().filter(|l| l.contains("customers.csv: ")).collect();
        assert_eq!(progress.len(), 2, "{stderr}");
        assert!(progress[0].ends_with("customers.csv: 10000 rows read"), "{stderr}");
        assert!(progress[1].ends_with("customers.csv: 20000 rows read"), "{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("(customers: 25000)"), "{stdout}");
    }

    async fn migrate_creates_the_schema(backend: Backend) {
        let database = backend.fresh_database();
        let out = Command::new(BIN)
            .args(["migrate", "--database", &database.raw_url])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("search keys"), "a fresh database has none to write: {stderr}");
        let opened = customer_relations::store::Database::open(&database.url, &Default::default()).unwrap();
        assert!(opened.is_empty().unwrap(), "the tables exist and are empty");
        if let customer_relations::store::DatabaseUrl::Sqlite(path) = &database.url {
            assert!(path.exists(), "the file and its folder were created");
        }
    }
}

/// Runs the binary to its end; (exit code, stderr).
/// `serve` on a fresh SQLite file with `extra` flags, expected to refuse to
/// start: its stderr.
fn serve_refused(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/x.db", dir.path().display());
    let mut args = vec!["serve", "--bind", "127.0.0.1:0", "--database", &url];
    args.extend_from_slice(extra);
    let (code, stderr) = run(&args);
    assert_eq!(code, Some(1), "{extra:?}: {stderr}");
    stderr
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unreachable_database_is_one_line_without_secrets() {
    let (code, stderr) = run(&[
        "migrate",
        "--database",
        "postgres://postgres:hunter1@127.0.0.1:1/x?password=hunter2&sslpassword=hunter3",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("hunter"), "{stderr}");
    assert!(stderr.contains("password=***&sslpassword=***"), "{stderr}");
    assert_eq!(stderr.matches("Connection refused").count(), 1, "{stderr}");
}

#[test]
fn a_failure_names_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let url = format!("sqlite://{}/x.db", file.display());
    let (code, stderr) = run(&["migrate", "--database", &url]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
}

#[test]
fn flags_that_mean_nothing_are_refused_not_panicked_on() {
    for (flag, value) in [
        ("--workers", "0"),
        ("--pool-size", "0"),
        ("--pool-timeout-secs", "0"),
        ("--max-depth", "0"),
        ("--max-body-bytes", "0"),
        ("--public-url", "not a url"),
        ("--public-url", "ftp://crm.example.com"),
        ("--public-url", "https://crm.example.com/?x=1"),
        ("--shutdown-grace-secs", "0"),
        ("--body-timeout-secs", "0"),
        ("--auth-client-failures", "0"),
        ("--auth-address-failures", "0"),
        ("--auth-cooldown-secs", "0"),
        ("--log-flush-ms", "10001"),
    ] {
        let (code, stderr) = run(&["serve", "--bind", "127.0.0.1:0", flag, value]);
        assert_eq!(code, Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag}")),
            "{stderr}"
        );
    }
}

/// What is logged while requests are answered names their own request,
/// however many are answered at once on the server's threads: the warning
/// of each refused authentication names the request id in its text (the
/// code writes it) and in the request's span in front of it (the thread's
/// current request; README, "Logs").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lines_of_concurrent_requests_name_their_own_request() {
    let database = Backend::Sqlite.fresh_database();
    let server = Server::start(
        &database.raw_url,
        &[
            "--demo",
            "--auth-client-failures",
            "10000",
            "--auth-address-failures",
            "10000",
        ],
    );
    let client = crate::helpers::client_as(("demo-bus", "a-wrong-secret"));
    let sends = (0..300).map(|n| {
        client
            .post(&server.endpoint)
            .header("Content-Type", Soap::V11.content_type())
            .header("X-Request-Id", format!("concurrent-{n}"))
            .body(envelope(Soap::V11, &get_relations_xml(1000)))
            .send()
    });
    for response in join_all(sends).await {
        assert_eq!(response.unwrap().status(), 500);
    }
    let (_, log) = server.interrupt();
    let warning = regex::Regex::new(
        r#" WARN request\{request_id=(\S+) trace_id="[0-9a-f]{32}" span_id="[0-9a-f]{16}" parent_id=""\}: \S+: request_id=(\S+) authentication failed"#,
    )
    .unwrap();
    let mut named: Vec<String> = log
        .iter()
        .filter(|l| l.contains("authentication failed"))
        .map(|l| {
            let ids = warning.captures(l).unwrap_or_else(|| panic!("{l}"));
            assert_eq!(ids[1], ids[2], "{l}");
            ids[1].to_owned()
        })
        .collect();
    named.sort();
    let mut sent: Vec<String> = (0..300).map(|n| format!("concurrent-{n}")).collect();
    sent.sort();
    assert_eq!(named, sent);
}

/// The text log while the server runs: a request's line is written within
/// the flush interval (100 ms by default), not only when the server stops,
/// in the shape the README shows; a warning is written at once, after the
/// lines before it, however long the interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn log_lines_are_written_while_the_server_runs() {
    let line = regex::Regex::new(concat!(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z  INFO customer_relations::requests: answered ",
        r"request_id=(\S+) trace_id=[0-9a-f]{32} method=POST path=/CustomerRelationService ",
        r"service=CustomerRelationService operation=GetCustomerRelationsByCustomer ",
        r"client=(\S+) outcome=(\S+) status=(\d+) duration_ms=\d+\.\d\d$"
    ))
    .unwrap();
    let answered = |id: &'static str| {
        let line = line.clone();
        move |l: &str| line.captures(l).is_some_and(|c| &c[1] == id)
    };
    let get = |server: &Server, login: crate::helpers::Login, request_id: &'static str| {
        crate::helpers::client_as(login)
            .post(&server.endpoint)
            .header("Content-Type", Soap::V11.content_type())
            .header("X-Request-Id", request_id)
            .body(envelope(Soap::V11, &get_relations_xml(1000)))
            .send()
    };
    // A server on a fresh database that has answered one Get.
    let serving = async |flags: &[&str], request_id: &'static str| {
        let database = Backend::Sqlite.fresh_database();
        let server = Server::start(&database.raw_url, flags);
        let answer = get(&server, crate::helpers::DEMO_ADMIN, request_id).await;
        assert_eq!(answer.unwrap().status(), 200, "{request_id}");
        (server, database)
    };

    let (server, _database) = serving(&["--demo"], "first").await;
    let log = server.log_until(Duration::from_secs(5), answered("first"));
    let first = log.iter().find(|l| answered("first")(l));
    assert!(
        first.is_some_and(|l| l.contains(" client=demo-admin outcome=ok status=200 ")),
        "{log:#?}"
    );
    assert!(server.interrupt().0.success());

    // With an interval longer than the wait below, only a line written at
    // once can be seen.
    let (server, _database) = serving(&["--demo", "--log-flush-ms", "10000"], "second").await;
    let refused = get(&server, ("demo-admin", "not-the-secret"), "refused")
        .await
        .unwrap();
    assert_eq!(refused.status(), 500);
    let warned = |l: &str| l.contains(" WARN ") && l.contains("refused");
    let log = server.log_until(Duration::from_secs(5), warned);
    let second = log.iter().position(|l| answered("second")(l));
    let warning = log.iter().position(|l| warned(l));
    assert!(
        second.is_some() && warning.is_some() && second < warning,
        "{log:#?}"
    );
    assert!(server.interrupt().0.success());
}

/// A log reader that stops reading (README, "Logs"): the server goes on
/// answering while its stderr pipe is full, and once the reader reads again
/// every request's line is there, none dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_log_reader_that_stops_reading_holds_up_no_request() {
    let database = Backend::Sqlite.fresh_database();
    let (server, read_log) = Server::start_with_log_unread(&database.raw_url, &["--demo"]);
    let client = crate::helpers::client_as(crate::helpers::DEMO_ADMIN);
    let get = |id: String| {
        let request = client
            .post(&server.endpoint)
            .header("Content-Type", Soap::V11.content_type())
            .header("X-Request-Id", &id)
            .body(envelope(Soap::V11, &get_relations_xml(1000)))
            .send();
        async move {
            let answer = tokio::time::timeout(Duration::from_secs(10), request)
                .await
                .unwrap_or_else(|_| panic!("{id}: no answer in 10 s"));
            assert_eq!(answer.unwrap().status(), 200, "{id}");
        }
    };
    // 2,000 Gets, 8 at a time: their lines are several times what a pipe
    // holds (64 KiB).
    let ids: Vec<String> = (0..2_000).map(|n| format!("unread-{n}")).collect();
    for eight in ids.chunks(8) {
        join_all(eight.iter().cloned().map(get)).await;
    }
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("\ncustomer_relations_log_lines_dropped_total 0\n"),
        "{metrics}"
    );

    read_log.send(()).unwrap();
    let (status, log) = server.interrupt();
    assert!(status.success());
    let answered: std::collections::HashSet<&str> = log
        .iter()
        .filter(|l| l.contains(" customer_relations::requests: answered "))
        .filter_map(|l| l.split(" request_id=").nth(1)?.split(' ').next())
        .collect();
    let missing: Vec<_> = ids
        .iter()
        .filter(|id| !answered.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} lines missing: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(!log.iter().any(|l| l.contains("log lines dropped")));
}

/// A log reader that stops reading for longer than 8 MiB of lines
/// (README, "Logs"): the requests are still answered, the lines beyond
/// the bound are dropped and counted in `/metrics`, and once stderr takes
/// lines again a warning says how many; every line is either written or
/// counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lines_beyond_the_bound_are_dropped_counted_and_reported() {
    let database = Backend::Sqlite.fresh_database();
    let (server, read_log) = Server::start_with_log_unread(&database.raw_url, &["--demo"]);
    // A 404 logs its path: 3,000 lines of about 4 KiB, 12 MiB in all.
    let long_path = "/x".repeat(2_000);
    let url = server
        .endpoint
        .replace("/CustomerRelationService", &long_path);
    let client = reqwest::Client::new();
    let requests: Vec<usize> = (0..3_000).collect();
    for eight in requests.chunks(8) {
        join_all(eight.iter().map(|_| async {
            let answer = tokio::time::timeout(Duration::from_secs(10), client.get(&url).send())
                .await
                .expect("an answer in 10 s");
            assert_eq!(answer.unwrap().status(), 404);
        }))
        .await;
    }
    let metrics = server.metrics().await;
    let counted: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("customer_relations_log_lines_dropped_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {metrics}"));
    assert!(counted > 0, "{metrics}");

    read_log.send(()).unwrap();
    // The report comes once stderr takes lines again; waited for while the
    // server runs, so that the bound on writing the last lines at exit
    // (2 s, which a loaded machine can take up) plays no part.
    let mut log = server.log_until(Duration::from_secs(30), |l| {
        l.contains(" WARN ") && l.contains("log lines dropped")
    });
    let (status, rest) = server.interrupt();
    assert!(status.success());
    log.extend(rest);
    let reported: Vec<u64> = log
        .iter()
        .filter(|l| l.contains(" WARN ") && l.contains("log lines dropped"))
        .filter_map(|l| l.rsplit_once(" dropped=")?.1.parse().ok())
        .collect();
    let reported_total: u64 = reported.iter().sum();
    assert!(!reported.is_empty(), "no report of the dropped lines");
    // Lines dropped after the scrape counted are reported too: the
    // scrape's own, and on a loaded machine a few of the server's own
    // lines logged while the reader still stalled (seen: 2).
    const LATER: u64 = 1 + 4;
    assert!(
        (counted..=counted + LATER).contains(&reported_total),
        "{reported:?} against {counted}"
    );
    // Every one of the 3,000 404s' lines is written or counted as
    // dropped, and the dropped ones are nearly all theirs.
    let written = log
        .iter()
        .filter(|l| {
            l.contains(" customer_relations::requests: answered ") && l.contains(" status=404 ")
        })
        .count() as u64;
    let missing = 3_000 - written;
    assert!(
        (missing..=missing + LATER).contains(&reported_total),
        "{written} written, {reported:?} reported"
    );
}

/// The load benchmark's switches (`--bench-without`, in builds for tests
/// and benchmarks only): without authentication a request needs no
/// credentials, without metrics it is not counted; neither is allowed on
/// an address other machines can reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_benchmarks_switches_do_what_they_say_and_only_on_loopback() {
    let get = |server: &Server, client: reqwest::Client| {
        client
            .post(&server.endpoint)
            .header("Content-Type", Soap::V11.content_type())
            .body(envelope(Soap::V11, &get_relations_xml(1000)))
            .send()
    };
    let counted = |metrics: &str| {
        metrics.lines().any(|l| {
            l.starts_with("customer_relations_soap_requests_total{")
                && l.contains("GetCustomerRelationsByCustomer")
        })
    };
    for (without, anonymous, counts) in [
        ("", false, true),
        ("authentication", true, true),
        ("metrics", false, false),
        ("authentication,metrics", true, false),
    ] {
        let database = Backend::Sqlite.fresh_database();
        let flag = format!("--bench-without={without}");
        let args: &[&str] = if without.is_empty() {
            &["--demo"]
        } else {
            &["--demo", &flag]
        };
        let server = Server::start(&database.raw_url, args);
        let anonymous_get = get(&server, reqwest::Client::new()).await.unwrap();
        let status = anonymous_get.status();
        let body = anonymous_get.text().await.unwrap();
        if anonymous {
            assert_eq!(status, 200, "{without}: {body}");
            assert!(
                body.contains("GetCustomerRelationsByCustomerResponse"),
                "{body}"
            );
        } else {
            assert!(
                body.contains("AuthenticationFault"),
                "{without}: {status} {body}"
            );
        }
        let admin = get(
            &server,
            crate::helpers::client_as(crate::helpers::DEMO_ADMIN),
        )
        .await
        .unwrap();
        assert_eq!(admin.status(), 200, "{without}");
        assert_eq!(counted(&server.metrics().await), counts, "{without}");
        let (status, log) = server.interrupt();
        assert!(status.success());
        assert_eq!(
            log.iter()
                .any(|l| l.contains(" WARN ") && l.contains("switched off for a benchmark")),
            !without.is_empty(),
            "{without}: {log:#?}"
        );
    }
    let database = Backend::Sqlite.fresh_database();
    let (code, stderr) = run(&[
        "serve",
        "--bind",
        "0.0.0.0:0",
        "--database",
        &database.raw_url,
        "--bench-without",
        "authentication",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--bench-without is for the load benchmark, on a loopback address"),
        "{stderr}"
    );
}

/// `--log-format json`: one object per line; the request line carries the
/// gateway's request id and trace, and the client, service, operation,
/// outcome, status and duration.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn json_logs_carry_the_gateways_request_id_and_trace() {
    let database = Backend::Sqlite.fresh_database();
    let server = Server::start(&database.raw_url, &["--demo", "--log-format", "json"]);
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let send = |request_id: &'static str| {
        crate::helpers::client_as(crate::helpers::DEMO_ADMIN)
            .post(&server.endpoint)
            .header("Content-Type", Soap::V11.content_type())
            .header("X-Request-Id", request_id)
            .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
            .body(envelope(Soap::V11, &get_relations_xml(1000)))
            .send()
    };
    let response = send("gw-123.a").await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "gw-123.a");
    let traceparent = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(
        (parts[0], parts[1], parts[3]),
        ("00", trace, "01"),
        "{traceparent}"
    );
    assert!(
        parts[2].len() == 16 && parts[2] != "00f067aa0ba902b7",
        "{traceparent}"
    );
    // An id that is not a sane token is replaced.
    let replaced = send("bad id\"}").await;
    assert!(replaced.is_err() || replaced.unwrap().headers()["x-request-id"] != "bad id\"}");
    let response = send("no spaces please ").await.unwrap();
    let fresh = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        fresh.len() == 32 && fresh.chars().all(|c| c.is_ascii_hexdigit()),
        "{fresh}"
    );

    let (_, log) = server.interrupt();
    let lines: Vec<serde_json::Value> = log
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let answered = lines
        .iter()
        .find(|l| l["message"] == "answered" && l["request_id"] == "gw-123.a")
        .unwrap_or_else(|| panic!("{log:#?}"));
    for (field, value) in [
        ("trace_id", trace),
        ("client", "demo-admin"),
        ("service", "CustomerRelationService"),
        ("operation", "GetCustomerRelationsByCustomer"),
        ("outcome", "ok"),
        ("method", "POST"),
    ] {
        assert_eq!(answered[field], value, "{field}: {answered}");
    }
    assert_eq!(answered["status"], 200);
    assert!(
        answered["duration_ms"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .is_ok(),
        "{answered}"
    );
    assert!(
        lines.iter().any(|l| l["request_id"] == fresh.as_str()),
        "{log:#?}"
    );
}

/// `--config`: flags over environment over file over defaults, shown by
/// `--print-config` with the password hidden; a bad value names its source.
#[test]
fn a_config_file_sits_under_the_environment_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("customer-relations.toml");
    std::fs::write(
        &file,
        "pool_size = 3\nworkers = 2\nmax_depth = 20\ndatabase = \"postgres://cr:s3cret@db.example/crm\"\nlog_format = \"json\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--print-config",
            "--workers",
            "4",
        ])
        .env("CR_POOL_SIZE", "5")
        .env("CR_MAX_DEPTH", "21")
        .env("CR_MAX_DATABASE_WAIT_MS", "250")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    for line in [
        "workers = 4",                                     // the flag
        "pool_size = 5",                                   // the environment
        "max_depth = 21",                                  // the environment
        "max_database_wait_ms = 250",                      // the environment
        "log_format = \"json\"",                           // the file
        "database = \"postgres://cr:***@db.example/crm\"", // the file, password hidden
        "max_elements = 10000",                            // the default
        "log_flush_ms = 100",                              // the default
        "max_database_wait_behind_ms = 10",                // the default
    ] {
        assert!(shown.lines().any(|l| l == line), "{line} in\n{shown}");
    }
    assert!(!shown.contains("s3cret"));

    for (contents, says) in [
        (
            "pool_size = 0\n",
            "pool_size must be at least 1; it is 0, from TOML file",
        ),
        ("pool_sise = 3\n", "unknown field: found `pool_sise`"),
        (
            "log_format = \"xml\"\n",
            "log_format must be one of text, json",
        ),
        (
            "public_url = \"ftp://x\"\n",
            "public_url: 'ftp://x' is not an http or https URL",
        ),
        (
            "shutdown_grace_secs = 5\n",
            "must be longer than database_timeout_secs",
        ),
        (
            "log_flush_ms = 60000\n",
            "log_flush_ms must be at most 10000; it is 60000, from TOML file",
        ),
        (
            "max_database_wait_ms = 3600001\n",
            "max_database_wait_ms must be at most 3600000; it is 3600001, from TOML file",
        ),
        (
            "max_database_wait_behind_ms = 0\n",
            "max_database_wait_behind_ms must be at least 1; it is 0, from TOML file",
        ),
    ] {
        std::fs::write(&file, contents).unwrap();
        let out = Command::new(BIN)
            .args([
                "serve",
                "--config",
                file.to_str().unwrap(),
                "--print-config",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{contents}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(says),
            "{contents}: {stderr}"
        );
    }
    let missing = dir.path().join("missing.toml");
    let (code, stderr) = run(&["serve", "--config", missing.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("does not exist"), "{stderr}");
}

/// A server started from a configuration file serves with its settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_runs_from_its_configuration_file() {
    let database = Backend::Sqlite.fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        format!(
            "database = \"{}\"\ndemo = true\nlog_format = \"json\"\nmax_body_bytes = 300\n",
            database.raw_url
        ),
    )
    .unwrap();
    // The helper's --database names another (empty) database: the flag wins.
    let other = Backend::Sqlite.fresh_database();
    let server = Server::start_with(
        &other.raw_url,
        &["--config", file.to_str().unwrap(), "--demo"],
        |_| {},
    );
    let large = server
        .call(&relation(1000, "SSO", &"x".repeat(400)).to_xml())
        .await;
    assert!(large.contains("larger than 300 bytes"), "{large}");
    let (_, log) = server.interrupt();
    assert!(
        log.iter().all(|l| l.starts_with('{')),
        "JSON from the file: {log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("configuration:") && l.contains("max_body_bytes = 300")),
        "{log:#?}"
    );
}

/// `probe`, a container's HEALTHCHECK: 0 while ready, 1 when not.
#[test]
fn the_probe_command_says_whether_an_instance_is_ready() {
    let database = Backend::Sqlite.fresh_database();
    let server = Server::start(&database.raw_url, &["--demo"]);
    let ready = server
        .endpoint
        .replace("/CustomerRelationService", "/health/ready");
    let out = Command::new(BIN)
        .args(["probe", "--url", &ready])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    database.raw_sql("DROP TABLE relation_types;");
    let (code, stderr) = run(&["probe", "--url", &ready]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("not ready: HTTP/1.0 503") && stderr.contains("database failing"),
        "{stderr}"
    );
    server.interrupt();
    let (code, _) = run(&["probe", "--url", &ready, "--timeout-secs", "1"]);
    assert_eq!(code, Some(1));
    let (code, stderr) = run(&["probe", "--url", "https://127.0.0.1:1/health/ready"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("plain HTTP only"), "{stderr}");
}

/// With the `otlp` feature, the spans reach an OTLP/HTTP collector (a
/// listener of the test's), in the trace the caller's `traceparent` named.
#[cfg(feature = "otlp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spans_are_exported_to_an_otlp_collector() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let (received_tx, mut received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = collector.accept().await {
            let received_tx = received_tx.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 65536];
                loop {
                    let n = socket.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request);
                    let Some(head_end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length: usize = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if request.len() >= head_end + 4 + length {
                        break;
                    }
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
                    .await;
                let _ = received_tx.send(request);
            });
        }
    });

    let database = Backend::Sqlite.fresh_database();
    let server = Server::start(&database.raw_url, &["--demo", "--otlp-endpoint", &endpoint]);
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = crate::helpers::client_as(crate::helpers::DEMO_ADMIN)
        .post(&server.endpoint)
        .header("Content-Type", Soap::V11.content_type())
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .body(envelope(Soap::V11, &get_relations_xml(1000)))
        .send()
        .await
        .unwrap();
    let traceparent = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        traceparent.starts_with(&format!("00-{trace}-")),
        "{traceparent}"
    );
    // Stopping sends what is left.
    server.interrupt();
    let trace_bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let request = tokio::time::timeout_at(deadline, received.recv())
            .await
            .expect("the collector got the spans within 10 s")
            .unwrap();
        let head = String::from_utf8_lossy(&request[..request.len().min(200)]).into_owned();
        assert!(head.starts_with("POST /v1/traces "), "{head}");
        if request.windows(16).any(|w| w == trace_bytes.as_slice()) {
            break;
        }
    }
}

/// Without the `otlp` feature, asking for the export is refused, saying how
/// to get it.
#[cfg(not(feature = "otlp"))]
#[test]
fn otlp_export_needs_the_feature() {
    let stderr = serve_refused(&["--otlp-endpoint", "http://127.0.0.1:4318"]);
    assert!(stderr.contains("--features otlp"), "{stderr}");
}

#[test]
fn tls_flags_come_in_pairs_and_unreadable_files_are_one_line() {
    let (code, stderr) = run(&["serve", "--bind", "127.0.0.1:0", "--tls-cert", "cert.pem"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let stderr = serve_refused(&["--tls-cert", missing, "--tls-key", missing]);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: reading ") && last.contains("missing.pem"),
        "{stderr}"
    );
}

#[test]
fn each_command_shows_only_its_own_flags() {
    for command in ["migrate", "import"] {
        let out = Command::new(BIN)
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("--database"), "{help}");
        assert!(!help.contains("--pool"), "{command}: {help}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("--pool-size"));
}

/// What `serve` prints is what the README's "Run it" shows, but for the
/// address and the database.
#[test]
fn serve_prints_what_the_readme_shows() {
    let readme = include_str!("../../README.md");
    let shown: Vec<&str> = readme
        .split("and prints:\n\n```\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README shows what serve prints")
        .lines()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/cr.db", dir.path().display());
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--database", &database])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let printed: Vec<String> = (0..shown.len())
        .map(|_| stdout.next().unwrap().unwrap())
        .collect();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let address = printed[0]
        .rsplit("http://")
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let expected: Vec<String> = shown
        .iter()
        .map(|line| {
            line.replace("127.0.0.1:8080", &address)
                .replace("sqlite://data/customer-relations.db", &database)
        })
        .collect();
    assert_eq!(printed, expected);
}

/// Lets the command write files of at most `bytes` bytes: past that a write
/// fails as on a full disk (EFBIG) instead of killing the process.
fn limit_file_size(command: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec this calls only setrlimit and signal,
    // which are async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
}

/// A disk that fills up at commit time (the server may write files of at
/// most 64 KiB, so SQLite's log cannot grow; its writes fail as on a full
/// disk): no confirmed write is lost, no refused one is stored, and no Id is
/// handed out twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_loses_no_confirmed_write_and_stores_no_refused_one() {
    use customer_relations::operations::{Access, Service};

    let database = Backend::Sqlite.fresh_database();
    let demo = Server::start(&database.raw_url, &["--demo"]);
    // Id 1, for the examples of UpdateCustomerRelation and
    // DeleteCustomerRelation below.
    demo.call(&relation(1002, "SHARE", "1001").title("DAILY").to_xml())
        .await;
    demo.interrupt();
    // The log starts empty, so that it fills up after a few writes.
    database.raw_sql("PRAGMA wal_checkpoint(TRUNCATE);");
    let limited = Server::start_with(&database.raw_url, &[], |command| {
        limit_file_size(command, 64 * 1024)
    });
    let client = crate::helpers::client_as(crate::helpers::DEMO_ADMIN);
    let server_fault = |body: &str| body.contains("soap:Server") && body.contains("request id");

    let mut confirmed = Vec::new();
    let mut refused = Vec::new();
    for n in 0..60 {
        let body = limited
            .call_with(
                &client,
                &relation(1000, "FACEBOOK", &format!("disk-{n}")).to_xml(),
            )
            .await;
        match id_in(&body) {
            Some(id) => confirmed.push((id, n)),
            None => {
                assert!(server_fault(&body), "{body}");
                refused.push(n);
            }
        }
    }
    assert!(
        !confirmed.is_empty() && !refused.is_empty(),
        "{confirmed:?} {refused:?}"
    );

    // Every other write of both services, on the full disk.
    let mut refused_writes = Vec::new();
    for service in Service::ALL {
        let endpoint = limited
            .endpoint
            .replace("CustomerRelationService", service.name());
        for operation in service
            .operations()
            .filter(|op| op.access() == Access::Write)
        {
            let (_, body) = post_soap(&endpoint, &operation.example_request()).await;
            if server_fault(&body) {
                refused_writes.push((service, operation));
            } else {
                assert!(!body.contains("Fault>"), "{operation:?}: {body}");
            }
        }
    }
    assert!(
        refused_writes.len() > 5,
        "most writes need room: {refused_writes:?}"
    );
    limited.interrupt();

    // With room again: exactly what was confirmed is stored.
    let server = Server::start(&database.raw_url, &[]);
    let listed = server.call(&get_relations_xml(1000)).await;
    for (id, n) in &confirmed {
        assert!(listed.contains(&format!("<Id>{id}</Id>")), "{id}");
        assert!(listed.contains(&format!(">disk-{n}<")), "{n}");
    }
    for n in &refused {
        assert!(
            !listed.contains(&format!(">disk-{n}<")),
            "refused disk-{n} was stored"
        );
    }
    let highest = confirmed.iter().map(|(id, _)| *id).max().unwrap();
    let next = server
        .call(&relation(1000, "FACEBOOK", "disk-after").to_xml())
        .await;
    let next = id_in(&next).unwrap_or_else(|| panic!("{next}"));
    assert!(next > highest, "Id {next} again after {highest}");
    // The importer on a full disk: refused as a whole, nothing stored.
    server.interrupt();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("customer_number,name\n");
    for n in 0..500 {
        csv.push_str(&format!("{},Imported customer number {n}\n", 20_000 + n));
    }
    std::fs::write(dir.path().join("customers.csv"), csv).unwrap();
    database.raw_sql("PRAGMA wal_checkpoint(TRUNCATE);");
    let mut import = Command::new(BIN);
    import.args([
        "import",
        &dir.path().to_string_lossy(),
        "--database",
        &database.raw_url,
    ]);
    limit_file_size(&mut import, 64 * 1024);
    let out = import.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&database.raw_url, &[]);
    let (_, imported) = post_soap(
        &server.endpoint.replace("CustomerRelationService", "CustomerRegisterService"),
        r#"<GetCustomer xmlns="urn:customer-relations:register:v1"><CustomerNumber>20000</CustomerNumber></GetCustomer>"#,
    )
    .await;
    assert!(imported.contains("CustomerNotFoundFault"), "{imported}");

    // A refused write changed nothing, so it succeeds now as it would have.
    for (service, operation) in refused_writes {
        let endpoint = server
            .endpoint
            .replace("CustomerRelationService", service.name());
        let (status, body) = post_soap(&endpoint, &operation.example_request()).await;
        assert_eq!(status, 200, "{operation:?} left something behind: {body}");
    }
    server.interrupt();
}

#[test]
fn a_grace_shorter_than_the_database_timeout_is_refused() {
    let stderr = serve_refused(&[
        "--shutdown-grace-secs",
        "5",
        "--database-timeout-secs",
        "10",
    ]);
    assert!(
        stderr.contains("shutdown_grace_secs (5) must be longer than database_timeout_secs (10)"),
        "{stderr}"
    );
}

/// 2,000 idle connections: health checks and requests still get through
/// promptly, and the server's resident memory stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousands_of_idle_connections_do_not_crowd_out_requests() {
    use crate::overload::resident_kib;

    let database = Backend::Sqlite.fresh_database();
    let server = Server::start(&database.raw_url, &["--demo", "--max-connections", "4096"]);
    let address = server
        .endpoint
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let before = resident_kib(server.child.id());
    let mut idle = Vec::new();
    for _ in 0..2_000 {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    let started = std::time::Instant::now();
    let health = reqwest::get(format!("http://{address}/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let listed = server.call(&get_relations_xml(1000)).await;
    assert!(
        listed.contains("GetCustomerRelationsByCustomerResponse"),
        "{listed}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let grown = resident_kib(server.child.id()).saturating_sub(before);
    assert!(grown < 64 * 1024, "resident memory grew by {grown} KiB");
    drop(idle);
    server.interrupt();
}
