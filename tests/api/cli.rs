//! The binary as an operator runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::helpers::{SOAP11, Soap, envelope, get_relations_xml, relation};

const BIN: &str = env!("CARGO_BIN_EXE_customer-relations");

struct Server {
    child: Child,
    endpoint: String,
    stderr: mpsc::Receiver<String>,
}

impl Server {
    /// `serve --bind 127.0.0.1:0` on `database`; waits for the listen line.
    fn start(database: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0", "--database", database])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
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
            for line in stderr_reader.lines().map_while(Result::ok) {
                let _ = stderr_tx.send(line);
            }
        });
        let listening = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the server prints where it listens");
        let endpoint = listening
            .strip_prefix("customer-relations listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {listening}"))
            .to_owned();
        let wsdl = lines.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(wsdl, format!("WSDL: {endpoint}?wsdl"));
        Self {
            child,
            endpoint,
            stderr,
        }
    }

    async fn call(&self, payload: &str) -> String {
        reqwest::Client::new()
            .post(&self.endpoint)
            .header("Content-Type", Soap::V11.content_type())
            .body(envelope(Soap::V11, payload))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Ctrl-C, then the exit status.
    fn interrupt(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        let log = self.stderr.try_iter().collect();
        (status, log)
    }
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!(
        "sqlite://{}",
        dir.path().join("nested/folder/cr.db").display()
    )
}

#[tokio::test]
async fn serve_demo_creates_the_database_loads_demo_data_once_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);

    let server = Server::start(&url, &["--demo"]);
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

    // Again with --demo: the database is not empty, so it is left alone.
    let server = Server::start(&url, &["--demo"]);
    let listed = server.call(&get_relations_xml(1000)).await;
    assert_eq!(listed.matches("<CustomerRelation>").count(), 1, "{listed}");
    server.interrupt();
}

#[tokio::test]
async fn a_server_fault_names_a_request_id_that_the_log_shows() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let server = Server::start(&url, &["--demo"]);
    {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let path = dir.path().join("nested/folder/cr.db");
        let mut conn =
            diesel::sqlite::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
        conn.batch_execute("DROP TABLE customer_relations;")
            .unwrap();
    }
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
    assert!(!fault.contains("no such table"));
    let (_, log) = server.interrupt();
    assert!(
        log.iter()
            .any(|l| l.contains(&id) && l.contains("no such table")),
        "the log has the cause under the same id: {log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains(&id) && l.contains("outcome=Server"))
    );
}

#[test]
fn import_reports_file_and_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    std::fs::write(fixtures.join("titles.csv"), "code,name\nDAILY,Daily\n").unwrap();
    std::fs::write(
        fixtures.join("customers.csv"),
        "customer_number,name,validity\n1,Ann,Valid\n2,,Valid\n",
    )
    .unwrap();
    let url = format!("sqlite://{}", dir.path().join("cr.db").display());

    let failed = Command::new(BIN)
        .args(["import", fixtures.to_str().unwrap(), "--database", &url])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("customers.csv:3:"), "{stderr}");

    std::fs::write(
        fixtures.join("customers.csv"),
        "customer_number,name,validity\n1,Ann,Valid\n2,Bob,Valid\n",
    )
    .unwrap();
    for _ in 0..2 {
        let ok = Command::new(BIN)
            .args(["import", fixtures.to_str().unwrap(), "--database", &url])
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let stdout = String::from_utf8_lossy(&ok.stdout);
        assert!(stdout.contains("titles: 1, customers: 2"), "{stdout}");
    }
}

#[test]
fn migrate_creates_the_schema_and_bad_urls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cr.db").display());
    let out = Command::new(BIN)
        .args(["migrate", "--database", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("cr.db").exists());

    let out = Command::new(BIN)
        .args(["migrate", "--database", "mysql://localhost/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown database URL scheme"));
}
