//! The load benchmark behind the README's "Performance" table:
//!
//!   cargo bench --bench load [-- --seconds 5] [--rounds 1] [--postgres URL | --no-postgres] [--skip-scale]
//!
//! Cargo builds the release server; this program seeds a fresh database,
//! starts the server on it and drives it over loopback with the load
//! generator below, for each workload (Get of a customer with 5 relations,
//! Create with references no other request uses, a 90/10 Get/Create mix,
//! FindCustomerRelationsByReference) on SQLite and on PostgreSQL, at 8 and
//! at 64 connections. Each cell is two runs: one as fast as the server
//! answers (the maximum), then one at a fixed rate of 70 % of that maximum,
//! whose latencies are measured from when each request was due whenever its
//! connection was still waiting for the previous answer then, so that a
//! queue in the server cannot hide (no coordinated omission); a request
//! whose connection was free is measured from when it was sent, since the
//! generator's timer fires up to a millisecond late. The server's
//! peak resident memory is read from /proc for each run. With `--rounds N`
//! each cell's two runs are repeated N times, one round after the other,
//! and each figure is the median of its N (the memory the highest, the
//! errors the sum): on a shared machine one run can be slowed by a
//! neighbour, and a median of three is what a figure should be read as.
//!
//! The ceiling: the same generator against a minimal actix-web server (this
//! program started with `ceiling`) that answers every POST with the
//! byte-identical Get response; every Get figure is also given as a share
//! of it. Then what the request log, authentication and the metrics cost
//! (the server with `RUST_LOG=warn`, and with `--bench-without
//! authentication,metrics`, which this crate's builds for benchmarks and
//! tests have), and Get and Find on two more databases, one with 10
//! thousand and one with 1 million relations, measured alternately.
//!
//! The table goes to stdout and to `target/bench/load.md`.
//!
//! The generator is one thread, as `wrk -t1` is: one tokio task per
//! connection, HTTP/1.1 with keep-alive, each request's bytes written at
//! once and its answer read to the end of its Content-Length. An answer
//! other than 200 counts as an error and is shown; a Create that was
//! refused as a duplicate would measure the fault path, so the references
//! carry the run's name, the connection and a counter.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PATH: &str = "/CustomerRelationService";
const NAMESPACE: &str = "urn:customer-relations:v1";
/// HTTP Basic of the demo clients (README, "Security").
const READER: &str = "Basic ZGVtby1yZWFkZXI6ZGVtby1yZWFkZXItc2VjcmV0";
const BUS: &str = "Basic ZGVtby1idXM6ZGVtby1idXMtc2VjcmV0";
/// The customer whose 5 relations every Get reads.
const GET_CUSTOMER: i32 = 1001;
/// Creates go to these customers in turn (seeded with the scale data), so
/// that no customer's bound is reached and PostgreSQL's writers do not all
/// queue for one customer's row.
const CREATE_CUSTOMERS: std::ops::Range<i32> = 100_000..102_000;
/// What the share of the maximum is for the latency runs.
const FIXED_SHARE: f64 = 0.7;

fn envelope(body: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

fn get_body() -> String {
    envelope(&format!(
        r#"<GetCustomerRelationsByCustomer xmlns="{NAMESPACE}"><CustomerNumber>{GET_CUSTOMER}</CustomerNumber></GetCustomerRelationsByCustomer>"#
    ))
}

fn find_body(reference: &str) -> String {
    envelope(&format!(
        r#"<FindCustomerRelationsByReference xmlns="{NAMESPACE}"><Reference>{reference}</Reference><RelationTypeCode>FACEBOOK</RelationTypeCode></FindCustomerRelationsByReference>"#
    ))
}

fn create_body(customer: i32, reference: &str) -> String {
    envelope(&format!(
        r#"<CreateCustomerRelation xmlns="{NAMESPACE}"><CustomerRelation><CustomerNumber>{customer}</CustomerNumber><RelationTypeCode>FACEBOOK</RelationTypeCode><Reference>{reference}</Reference></CustomerRelation></CreateCustomerRelation>"#
    ))
}

fn http_request(authorization: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\nAuthorization: {authorization}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What a run sends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Workload {
    Get,
    Create,
    /// Nine Gets, then a Create, on each connection.
    Mix,
    Find,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Self::Get => "Get (5 relations)",
            Self::Create => "Create",
            Self::Mix => "90% Get / 10% Create",
            Self::Find => "Find by reference",
        }
    }
}

/// Builds the requests of one connection; `label` makes Create's
/// references unique across runs.
struct Requests {
    workload: Workload,
    label: String,
    connection: usize,
    sent: u64,
    get: Vec<u8>,
    find: Vec<u8>,
}

impl Requests {
    fn new(workload: Workload, label: &str, connection: usize, find_reference: &str) -> Self {
        Self {
            workload,
            label: label.to_owned(),
            connection,
            sent: 0,
            get: http_request(READER, &get_body()),
            find: http_request(READER, &find_body(find_reference)),
        }
    }

    fn create(&self) -> Vec<u8> {
        let span = (CREATE_CUSTOMERS.end - CREATE_CUSTOMERS.start) as u64;
        let customer =
            CREATE_CUSTOMERS.start + ((self.sent * 64 + self.connection as u64) % span) as i32;
        let reference = format!("{}-c{}-{}", self.label, self.connection, self.sent);
        http_request(BUS, &create_body(customer, &reference))
    }

    fn next(&mut self) -> std::borrow::Cow<'_, [u8]> {
        self.sent += 1;
        match self.workload {
            Workload::Get => (&self.get[..]).into(),
            Workload::Find => (&self.find[..]).into(),
            Workload::Create => self.create().into(),
            Workload::Mix if self.sent.is_multiple_of(10) => self.create().into(),
            Workload::Mix => (&self.get[..]).into(),
        }
    }
}

/// One connection's results.
#[derive(Default)]
struct Tally {
    /// Microseconds, of every answer that was a 200.
    latencies: Vec<u32>,
    /// Answers refused as busy (503): an error in the table's runs, told
    /// apart when `drive` overloads the server on purpose.
    busy: u64,
    /// Requests not sent because the server had said when to come back
    /// (`Retry-After`) and that was not yet (`drive ... backoff`).
    held_back: u64,
    errors: u64,
    /// The first answer that was not a 200, to show.
    first_error: Option<String>,
}

/// One HTTP/1.1 answer: its status, when to come back if it says, and its
/// body if it is not a 200.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// The value of a header of an answer's head, if it has it.
fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|line| {
        let (named, value) = line.split_once(':')?;
        named.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Reads one HTTP/1.1 answer.
async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Answer> {
    buf.clear();
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(std::io::Error::other)?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let length: usize = header(head, "content-length")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| std::io::Error::other("no Content-Length"))?;
    // Seconds (RFC 9110, 10.2.3); the service sends no dates.
    let retry_after = header(head, "retry-after")
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs);
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = if status == 200 {
        Vec::new()
    } else {
        buf[head_end..head_end + length].to_vec()
    };
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// Drives one connection until `stop`: as fast as answers come, or, with
/// a schedule (first due time, interval), one request per interval with
/// its latency counted from when it was due. With `backoff`, as a client
/// that honours `Retry-After`: after a busy answer that has one, the
/// connection sends nothing until then, and the requests due meanwhile are
/// not sent (held back).
async fn drive(
    address: SocketAddr,
    mut requests: Requests,
    stop: Instant,
    schedule: Option<(Instant, Duration)>,
    backoff: bool,
) -> Tally {
    let mut tally = Tally::default();
    let mut back_at: Option<Instant> = None;
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut n: u32 = 0;
    loop {
        // When the latency is counted from: with a schedule, from when the
        // request was due if the connection was still busy then (the
        // server's queue), else from when it was sent (the timer fires up
        // to a millisecond late, and that is the generator's delay, not the
        // server's).
        let (due, counted_from) = match schedule {
            Some((first, interval)) => {
                let due = first + interval * n;
                n += 1;
                if due >= stop {
                    break;
                }
                if back_at.is_some_and(|at| due < at) {
                    tally.held_back += 1;
                    continue;
                }
                let free = Instant::now();
                tokio::time::sleep_until(due.into()).await;
                (due, if free < due { Instant::now() } else { due })
            }
            None => {
                if let Some(at) = back_at.take() {
                    tokio::time::sleep_until(at.min(stop).into()).await;
                }
                (Instant::now(), Instant::now())
            }
        };
        if due >= stop {
            break;
        }
        if stream.is_none() {
            match TcpStream::connect(address).await {
                Ok(s) => {
                    s.set_nodelay(true).ok();
                    stream = Some(s);
                }
                Err(e) => {
                    tally.errors += 1;
                    tally.first_error.get_or_insert(format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let s = stream.as_mut().expect("connected");
        let request = requests.next();
        let answered = match s.write_all(&request).await {
            Ok(()) => read_answer(s, &mut buf).await,
            Err(e) => Err(e),
        };
        match answered {
            Ok(Answer { status: 200, .. }) => {
                let took = counted_from.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                tally.latencies.push(took);
            }
            Ok(Answer {
                status: 503,
                retry_after,
                ..
            }) => {
                tally.busy += 1;
                tally.first_error.get_or_insert_with(|| "503: busy".into());
                if backoff {
                    back_at = retry_after.map(|after| Instant::now() + after);
                }
            }
            Ok(Answer { status, body, .. }) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| {
                    format!(
                        "{status}: {}",
                        String::from_utf8_lossy(&body)
                            .chars()
                            .take(300)
                            .collect::<String>()
                    )
                });
            }
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert(format!("{e}"));
                stream = None;
            }
        }
    }
    tally
}

/// What one run measured.
struct Run {
    rate: f64,
    p50: Duration,
    p99: Duration,
    p999: Duration,
    /// Answers refused as busy (503), per second.
    busy_rate: f64,
    /// Requests held back for `Retry-After`, per second.
    held_back_rate: f64,
    /// Every answer other than 200, busy ones included.
    errors: u64,
    first_error: Option<String>,
    peak_rss_kib: Option<u64>,
    /// The server's CPU time (user and system) per answer, in µs: steadier
    /// than the rate, which the generator on the same cores moves too.
    cpu_per_answer_us: Option<f64>,
}

fn percentile(sorted: &[u32], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    Duration::from_micros(u64::from(sorted[at]))
}

/// One run of `seconds` against `address` with `connections`; at a fixed
/// total `rate` if one is given.
fn run(
    target: &Target,
    workload: Workload,
    label: &str,
    connections: usize,
    seconds: f64,
    rate: Option<f64>,
    backoff: bool,
) -> Run {
    target.reset_peak_rss();
    let cpu_before = target.cpu_time();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (tallies, elapsed) = runtime.block_on(async {
        let start = Instant::now();
        let stop = start + Duration::from_secs_f64(seconds);
        let mut tasks = Vec::with_capacity(connections);
        for connection in 0..connections {
            let requests = Requests::new(workload, label, connection, &target.find_reference);
            let schedule = rate.map(|rate| {
                // Each connection sends rate / connections per second, the
                // connections' schedules spread evenly over one interval.
                let interval = Duration::from_secs_f64(connections as f64 / rate);
                (
                    start + interval.mul_f64(connection as f64 / connections as f64),
                    interval,
                )
            });
            tasks.push(tokio::spawn(drive(
                target.address,
                requests,
                stop,
                schedule,
                backoff,
            )));
        }
        let mut tallies = Vec::with_capacity(connections);
        for task in tasks {
            tallies.push(task.await.expect("a connection's task"));
        }
        (tallies, start.elapsed().as_secs_f64())
    });
    let mut latencies: Vec<u32> = tallies
        .iter()
        .flat_map(|t| t.latencies.iter().copied())
        .collect();
    latencies.sort_unstable();
    let cpu_per_answer_us = match (cpu_before, target.cpu_time()) {
        (Some(before), Some(after)) if !latencies.is_empty() => {
            Some((after - before).as_secs_f64() * 1e6 / latencies.len() as f64)
        }
        _ => None,
    };
    Run {
        cpu_per_answer_us,
        rate: latencies.len() as f64 / elapsed,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        p999: percentile(&latencies, 0.999),
        busy_rate: tallies.iter().map(|t| t.busy).sum::<u64>() as f64 / elapsed,
        held_back_rate: tallies.iter().map(|t| t.held_back).sum::<u64>() as f64 / elapsed,
        errors: tallies.iter().map(|t| t.errors + t.busy).sum(),
        first_error: tallies.iter().find_map(|t| t.first_error.clone()),
        peak_rss_kib: target.peak_rss_kib(),
    }
}

/// A server under test: its address and process.
struct Target {
    address: SocketAddr,
    /// The server's process, if this program started it.
    child: Option<Child>,
    find_reference: String,
}

impl Target {
    fn reset_peak_rss(&self) {
        // Writing 5 to clear_refs resets the peak resident set size
        // (proc(5)), so that each run reports its own.
        if let Some(child) = &self.child {
            let _ = std::fs::write(format!("/proc/{}/clear_refs", child.id()), "5");
        }
    }

    /// The server's CPU time so far, user and system (proc(5): fields 14
    /// and 15 of `stat`, in clock ticks of 10 ms).
    fn cpu_time(&self) -> Option<Duration> {
        let pid = self.child.as_ref()?.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // After the command's name in brackets, which may hold spaces.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_until_listening(address: SocketAddr, child: &mut Child) {
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if std::net::TcpStream::connect(address).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited before listening: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {address} after 60 s");
}

/// Starts the release server on `database` with the demo data, with its
/// request log or not, and with what `without` names switched off
/// (`--bench-without`: authentication, metrics).
fn serve(database: &str, log: bool, without: &[&str], work: &Path) -> Target {
    let port = free_port();
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let log_file =
        std::fs::File::create(work.join(format!("server-{port}.log"))).expect("a log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_customer-relations"))
        .args([
            "serve",
            "--demo",
            "--bind",
            &address.to_string(),
            "--database",
            database,
        ])
        .args(bench_without(without))
        .env("RUST_LOG", if log { "info" } else { "warn" })
        .env_remove("DATABASE_URL")
        .env_remove("CR_CONFIG")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("the server starts");
    wait_until_listening(address, &mut child);
    Target {
        address,
        child: Some(child),
        // A reference of customer 100,000 (see `seed_relations`).
        find_reference: "scale-500003".into(),
    }
}

/// The `--bench-without` flag that switches `without` off, if anything.
fn bench_without(without: &[&str]) -> Option<String> {
    (!without.is_empty()).then(|| format!("--bench-without={}", without.join(",")))
}

/// Starts this program as the ceiling server, answering with `body`.
fn ceiling(body: &[u8], work: &Path) -> Target {
    let file = work.join("ceiling-body.xml");
    std::fs::write(&file, body).expect("the ceiling's body");
    let port = free_port();
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = Command::new(std::env::current_exe().expect("this program"))
        .args(["ceiling", &address.to_string()])
        .arg(&file)
        .stdout(Stdio::null())
        .spawn()
        .expect("the ceiling starts");
    wait_until_listening(address, &mut child);
    Target {
        address,
        child: Some(child),
        find_reference: String::new(),
    }
}

/// `drive ADDRESS WORKLOAD CONNECTIONS SECONDS [RATE]`: one run against a
/// server that is already running (seeded as `main` seeds it), printed.
fn drive_one(args: &[String]) {
    let [address, workload, connections, seconds, rest @ ..] = args else {
        panic!("drive ADDRESS get|create|mix|find CONNECTIONS SECONDS [RATE] [backoff]");
    };
    // `backoff`: the clients honour `Retry-After` (see `drive`).
    let backoff = rest.last().is_some_and(|r| r == "backoff");
    let rate = rest.first().filter(|r| *r != "backoff");
    let workload = match workload.as_str() {
        "get" => Workload::Get,
        "create" => Workload::Create,
        "mix" => Workload::Mix,
        "find" => Workload::Find,
        other => panic!("no workload {other}"),
    };
    let target = Target {
        address: address.parse().expect("ADDRESS: host:port"),
        child: None,
        find_reference: "scale-500003".into(),
    };
    let label = format!("drive-{}", std::process::id());
    let outcome = run(
        &target,
        workload,
        &label,
        connections.parse().expect("CONNECTIONS"),
        seconds.parse().expect("SECONDS"),
        rate.map(|r| r.parse().expect("RATE")),
        backoff,
    );
    println!(
        "{}: served {:.0}/s, p50 {}, p99 {}, p99.9 {}; busy (503) {:.0}/s; held back {:.0}/s; errors {} {}",
        workload.name(),
        outcome.rate,
        ms(outcome.p50),
        ms(outcome.p99),
        ms(outcome.p999),
        outcome.busy_rate,
        outcome.held_back_rate,
        outcome.errors,
        outcome.first_error.unwrap_or_default()
    );
}

/// The ceiling server: every POST answered with the same bytes.
fn serve_ceiling(address: &str, body_file: &Path) -> std::io::Result<()> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let body = web::Bytes::from(std::fs::read(body_file)?);
    actix_web::rt::System::new().block_on(
        HttpServer::new(move || {
            let body = body.clone();
            // The request's body is read, as the service reads it: actix
            // closes a connection whose request body was left unread.
            App::new().default_service(web::to(move |_request: web::Bytes| {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("text/xml; charset=utf-8")
                        .body(body)
                }
            }))
        })
        .bind(address)?
        .run(),
    )
}

/// A SOAP call outside the measurement (seeding); the answer's body.
fn call(address: SocketAddr, authorization: &str, body: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("the server answers");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a timeout");
    let mut request = http_request(authorization, body);
    // Close after the answer, so that reading to the end is reading it all.
    let at = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    request.splice(at..at, b"\r\nConnection: close".iter().copied());
    stream.write_all(&request).expect("the request is sent");
    let mut answer = Vec::new();
    std::io::Read::read_to_end(&mut stream, &mut answer).expect("the answer");
    let text = String::from_utf8(answer).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    body.to_owned()
}

/// A backend's database: its URL for the server and a connection to seed it.
enum Backend {
    Sqlite(PathBuf),
    Postgres { admin: String, name: String },
}

impl Backend {
    fn label(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "SQLite",
            Self::Postgres { .. } => "PostgreSQL",
        }
    }

    fn url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            // The admin URL's server and parameters (sslmode=disable, say),
            // with the bench's database.
            Self::Postgres { admin, name } => {
                let (base, parameters) = match admin.split_once('?') {
                    Some((base, parameters)) => (base, format!("?{parameters}")),
                    None => (admin.as_str(), String::new()),
                };
                let server = base.rsplit_once('/').expect("a URL with a database").0;
                format!("{server}/{name}{parameters}")
            }
        }
    }

    /// Whether a connection of this URL to PostgreSQL is encrypted: libpq's
    /// default (`sslmode=prefer`) uses TLS whenever the server offers it,
    /// loopback included, and TLS costs the service CPU on every round trip
    /// (README, "Performance").
    fn postgres_tls(&self) -> Option<bool> {
        use diesel::RunQueryDsl;
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres { .. } => {
                let mut c = PgConnection::establish(&self.url()).expect("PostgreSQL");
                diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
                ))
                .get_result(&mut c)
                .ok()
            }
        }
    }

    fn execute(&self, sql: &str) {
        match self {
            Self::Sqlite(path) => {
                let mut c = SqliteConnection::establish(&path.to_string_lossy()).expect("SQLite");
                c.batch_execute("PRAGMA busy_timeout = 30000").unwrap();
                c.batch_execute(sql).expect("the seed");
            }
            Self::Postgres { .. } => {
                let mut c = PgConnection::establish(&self.url()).expect("PostgreSQL");
                c.batch_execute(sql).expect("the seed");
            }
        }
    }

    /// A fresh, empty database of the same kind, named after this one and
    /// `suffix`; dropped (on PostgreSQL) with the value.
    fn another(&self, suffix: &str) -> Self {
        match self {
            Self::Sqlite(path) => Self::Sqlite(path.with_extension(format!("{suffix}.db"))),
            Self::Postgres { admin, name } => Self::Postgres {
                admin: admin.clone(),
                name: create_database(admin, &format!("{name}_{suffix}"))
                    .expect("a bench database"),
            },
        }
    }

    /// Customers `from..to`, with 5 FACEBOOK relations each, references
    /// `scale-N`; then statistics, and on PostgreSQL a vacuum and a
    /// checkpoint, as a running database would have done after such a load
    /// (autovacuum, the checkpointer): measured at once, the Gets competed
    /// with writing out the load's pages and setting its rows' hint bits.
    fn seed_relations(&self, from: i32, to: i32) {
        let numbers = match self {
            Self::Sqlite(_) => format!(
                "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {}) SELECT i FROM n",
                to - 1
            ),
            Self::Postgres { .. } => {
                format!("SELECT i FROM generate_series({from}, {}) AS i", to - 1)
            }
        };
        self.execute(&format!(
            "INSERT INTO customers (customer_number, name, validity, name_key)
                 SELECT i, 'Scale ' || i, 'Valid', 'scale ' || i FROM ({numbers}) AS s;
             INSERT INTO customer_relations (customer_number, relation_type_code, reference, created_at, created_by)
                 SELECT i, 'FACEBOOK', 'scale-' || (i * 5 + k), '2026-01-01 00:00:00', 'bench'
                 FROM ({numbers}) AS s, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) AS ks;"
        ));
        match self {
            Self::Sqlite(_) => self.execute("ANALYZE;"),
            // Each on its own: VACUUM cannot run inside a transaction, which
            // several statements in one string are.
            Self::Postgres { .. } => {
                self.execute("VACUUM ANALYZE");
                // A superuser's or pg_checkpoint's; without it, the
                // checkpointer writes the pages out in its own time.
                let mut c = PgConnection::establish(&self.url()).expect("PostgreSQL");
                if let Err(e) = c.batch_execute("CHECKPOINT") {
                    eprintln!("no CHECKPOINT after seeding ({e}): the scale rows may be slower");
                }
            }
        }
    }
}

/// A new database `name` on the server of `admin` (dropped first if an
/// earlier run left it); its name.
fn create_database(admin: &str, name: &str) -> Result<String, diesel::ConnectionError> {
    let mut c = PgConnection::establish(admin)?;
    // One statement each: neither may run in a transaction.
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .expect("no bench database left");
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("a bench database");
    Ok(name.to_owned())
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Self::Postgres { admin, name } = self
            && let Ok(mut c) = PgConnection::establish(admin)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

struct Options {
    seconds: f64,
    rounds: usize,
    postgres: Option<String>,
    scale: bool,
}

fn options() -> Options {
    let mut options = Options {
        seconds: 5.0,
        rounds: 1,
        postgres: Some(
            std::env::var("TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        ),
        scale: true,
    };
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                options.seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds N")
            }
            "--rounds" => {
                options.rounds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--rounds N, at least 1")
            }
            "--postgres" => options.postgres = Some(args.next().expect("--postgres URL")),
            "--no-postgres" => options.postgres = None,
            "--skip-scale" => options.scale = false,
            other => {
                panic!("unknown argument {other}: see the comment at the top of benches/load.rs")
            }
        }
    }
    options
}

/// The report, written as it grows.
struct Report {
    lines: Vec<String>,
    file: PathBuf,
}

impl Report {
    fn line(&mut self, line: String) {
        println!("{line}");
        self.lines.push(line);
        std::fs::write(&self.file, self.lines.join("\n") + "\n").expect("the report");
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

/// The median of the runs' figures (the upper one of an even count); the
/// highest memory, the sum of the errors, the first error.
fn median(runs: Vec<Run>) -> Run {
    fn middle<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
        values.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
        values[values.len() / 2]
    }
    Run {
        rate: middle(runs.iter().map(|r| r.rate).collect()),
        p50: middle(runs.iter().map(|r| r.p50).collect()),
        p99: middle(runs.iter().map(|r| r.p99).collect()),
        p999: middle(runs.iter().map(|r| r.p999).collect()),
        busy_rate: middle(runs.iter().map(|r| r.busy_rate).collect()),
        held_back_rate: middle(runs.iter().map(|r| r.held_back_rate).collect()),
        errors: runs.iter().map(|r| r.errors).sum(),
        peak_rss_kib: runs.iter().filter_map(|r| r.peak_rss_kib).max(),
        cpu_per_answer_us: runs
            .iter()
            .map(|r| r.cpu_per_answer_us)
            .collect::<Option<Vec<_>>>()
            .map(middle),
        first_error: runs.into_iter().find_map(|r| r.first_error),
    }
}

/// Maximum, then 70 % of it, `options.rounds` times of `options.seconds`
/// each: one row of the table.
fn cell(
    report: &mut Report,
    target: &Target,
    backend: &str,
    workload: Workload,
    connections: usize,
    options: &Options,
    ceiling: Option<f64>,
) -> Run {
    let label = format!("{}-{}-{}", backend, connections, std::process::id());
    let seconds = options.seconds;
    let (mut maxima, mut fixed_runs) = (Vec::new(), Vec::new());
    for round in 0..options.rounds {
        let max = run(
            target,
            workload,
            &format!("{label}-max{round}-{workload:?}"),
            connections,
            seconds,
            None,
            false,
        );
        let rate = max.rate * FIXED_SHARE;
        maxima.push(max);
        fixed_runs.push(run(
            target,
            workload,
            &format!("{label}-fixed{round}-{workload:?}"),
            connections,
            seconds,
            Some(rate),
            false,
        ));
    }
    let (max, fixed) = (median(maxima), median(fixed_runs));
    let share = match (workload, ceiling) {
        (Workload::Get, Some(c)) => format!("{:.0} %", 100.0 * max.rate / c),
        _ => "".into(),
    };
    let errors = max.errors + fixed.errors;
    report.line(format!(
        "| {backend} | {} | {connections} | {:.0}/s | {share} | {:.0}/s | {} | {} | {} | {} | {} |",
        workload.name(),
        max.rate,
        fixed.rate,
        ms(fixed.p50),
        ms(fixed.p99),
        ms(fixed.p999),
        mib(max.peak_rss_kib.max(fixed.peak_rss_kib)),
        errors,
    ));
    if let Some(error) = max.first_error.as_ref().or(fixed.first_error.as_ref()) {
        report.line(format!(
            "<!-- first error: {} -->",
            error.replace("--", "- -")
        ));
    }
    max
}

/// Get and Find at 64 connections on two fresh databases of `backend`'s
/// kind, one with 10 thousand relations and one with 1 million, each with
/// its own server, measured alternately (the order swapped each round), so
/// that the machine's drift over the minutes of a run falls on both alike:
/// measured one after the other, the ratio moved between 0.83 and 1.36 with
/// the same code. The table's rows.
fn scale(backend: &Backend, options: &Options, work: &Path) -> Vec<String> {
    let sizes = [("small", 102_000), ("large", 300_000)];
    // The server first, so that it stops before its database is dropped;
    // then how long the seeding took.
    let databases: Vec<(Target, Backend, Duration)> = sizes
        .iter()
        .map(|&(suffix, last)| {
            let database = backend.another(suffix);
            let target = serve(&database.url(), true, &[], work);
            seed_get_customer(&target);
            let started = Instant::now();
            database.seed_relations(100_000, last);
            let seeding = started.elapsed();
            run(&target, Workload::Get, "warm", 8, 1.0, None, false);
            (target, database, seeding)
        })
        .collect();
    let seeding = databases[1].2;
    let mut rows = Vec::new();
    for workload in [Workload::Get, Workload::Find] {
        // Rounds of the maximum on each, then rounds at 70 % of each one's
        // median maximum.
        let alternated = |rates: [Option<f64>; 2]| {
            let mut runs = [Vec::new(), Vec::new()];
            for round in 0..options.rounds {
                for i in rotated(2, round) {
                    let label = format!("scale-{}-{round}", sizes[i].0);
                    let target = &databases[i].0;
                    runs[i].push(run(
                        target,
                        workload,
                        &label,
                        64,
                        options.seconds,
                        rates[i],
                        false,
                    ));
                }
            }
            runs.map(median)
        };
        let [small_max, large_max] = alternated([None, None]);
        let [small_fixed, large_fixed] = alternated([
            Some(small_max.rate * FIXED_SHARE),
            Some(large_max.rate * FIXED_SHARE),
        ]);
        rows.push(format!(
            "| {} | {} | {:.0}/s, p99 {} | {:.0}/s, p99 {} | {:.2} | {:.0} s |",
            backend.label(),
            workload.name(),
            small_max.rate,
            ms(small_fixed.p99),
            large_max.rate,
            ms(large_fixed.p99),
            small_max.rate / large_max.rate,
            seeding.as_secs_f64(),
        ));
    }
    rows
}

/// A row of the switch table from the five variants' figures (none of
/// the three, without the log, without authentication, without metrics,
/// the defaults), each shown by `show`, with the share `cost(defaults,
/// without)` that what is switched off costs.
fn switch_row(
    label: &str,
    figures: &[f64],
    show: impl Fn(f64) -> String,
    cost: impl Fn(f64, f64) -> f64,
) -> String {
    let [none, without_log, without_auth, without_metrics, defaults] = figures[..] else {
        unreachable!("five variants")
    };
    let with_cost = |without: f64| {
        format!(
            "{} ({:.1} %)",
            show(without),
            100.0 * cost(defaults, without)
        )
    };
    format!(
        "| {label} | {} | {} | {} | {} | {} | {:.1} % |",
        show(defaults),
        with_cost(without_log),
        with_cost(without_auth),
        with_cost(without_metrics),
        show(none),
        100.0 * cost(defaults, none),
    )
}

/// The five variants of the switch table, in `switch_row`'s order: whether
/// the request log is on, and what `--bench-without` switches off.
fn variants_of_switches() -> [(bool, &'static [&'static str]); 5] {
    [
        (false, &["authentication", "metrics"]),
        (false, &[]),
        (true, &["authentication"]),
        (true, &["metrics"]),
        (true, &[]),
    ]
}

/// Instructions per Get of each variant, from `benches/callgrind.sh` with
/// this bench's server binary; an error when valgrind is not there or the
/// count fails.
fn instructions_per_get(variants: &[(bool, &[&str])]) -> Result<Vec<f64>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/callgrind.sh");
    Command::new("valgrind")
        .arg("--version")
        .output()
        .map_err(|_| "valgrind is not installed (Debian: valgrind)".to_owned())?;
    variants
        .iter()
        .map(|(log, without)| {
            let out = Command::new("bash")
                .arg(&script)
                .args(bench_without(without))
                .env("BIN", env!("CARGO_BIN_EXE_customer-relations"))
                .env("GETS", "1000")
                .env("RUST_LOG", if *log { "info" } else { "warn" })
                .output()
                .map_err(|e| format!("benches/callgrind.sh: {e}"))?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            stdout
                .split(" instructions per Get")
                .next()
                .and_then(|n| n.trim().parse::<f64>().ok())
                .filter(|_| out.status.success())
                .ok_or_else(|| {
                    format!(
                        "benches/callgrind.sh said: {stdout} {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                })
        })
        .collect()
}

/// The order of `count` variants in `round`: one later each round, so that
/// none is always measured last, when the machine has drifted most.
fn rotated(count: usize, round: usize) -> impl Iterator<Item = usize> {
    (0..count).map(move |i| (i + round) % count)
}

/// The 5 relations of the customer every Get reads, created through the
/// service.
fn seed_get_customer(target: &Target) {
    for n in 1..=5 {
        call(
            target.address,
            BUS,
            &create_body(GET_CUSTOMER, &format!("seed-{n}")),
        );
    }
}

const HEADER: [&str; 2] = [
    "| backend | workload | connections | maximum | of the ceiling | at 70 % | p50 | p99 | p99.9 | peak memory | errors |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("ceiling") {
        serve_ceiling(&args[2], Path::new(&args[3])).expect("the ceiling serves");
        return;
    }
    if args.get(1).map(String::as_str) == Some("drive") {
        drive_one(&args[2..]);
        return;
    }
    let options = options();
    let seconds = options.seconds;
    let work = tempfile::tempdir().expect("a work folder");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    let mut report = Report {
        lines: Vec::new(),
        file: out.join("load.md"),
    };
    report.line(format!(
        "Release build, {} CPUs, {seconds} s per run, {}one generator thread on the same machine; latencies at 70 % of each maximum, from when each request was due.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        match options.rounds {
            1 => String::new(),
            n => format!("medians of {n} rounds, "),
        }
    ));

    let mut backends = vec![Backend::Sqlite(work.path().join("bench.db"))];
    if let Some(admin) = &options.postgres {
        match create_database(admin, &format!("cr_bench_{}", std::process::id())) {
            Ok(name) => backends.push(Backend::Postgres {
                admin: admin.clone(),
                name,
            }),
            Err(e) => report.line(format!("<!-- PostgreSQL not run: {e} -->")),
        }
    }
    for backend in &backends {
        match backend.postgres_tls() {
            Some(true) => report.line(
                "PostgreSQL's connections use TLS (the server offers it and the URL does not say `sslmode=disable`).\n".into(),
            ),
            Some(false) => report.line("PostgreSQL's connections do not use TLS.\n".into()),
            None => {}
        }
    }
    for line in HEADER {
        report.line(line.into());
    }

    let mut ceiling_rate: Option<f64> = None;
    let mut scale_rows = Vec::new();
    let mut log_rows = Vec::new();
    for backend in &backends {
        let name = backend.label();
        let target = serve(&backend.url(), true, &[], work.path());
        seed_get_customer(&target);
        // 2,000 customers with 5 relations each: 10 thousand relations.
        backend.seed_relations(100_000, 102_000);
        let get_answer = call(target.address, READER, &get_body());
        assert_eq!(
            get_answer.matches("<CustomerRelation>").count(),
            5,
            "{get_answer}"
        );
        // Warm up: caches, pools, statements.
        run(&target, Workload::Get, "warm", 8, 1.0, None, false);

        // The ceiling, once, with the first backend's Get answer.
        if ceiling_rate.is_none() {
            let ceiling = ceiling(get_answer.as_bytes(), work.path());
            for connections in [8, 64] {
                let max = cell(
                    &mut report,
                    &ceiling,
                    "ceiling",
                    Workload::Get,
                    connections,
                    &options,
                    None,
                );
                ceiling_rate = Some(ceiling_rate.unwrap_or(0.0).max(max.rate));
            }
        }

        for workload in [
            Workload::Get,
            Workload::Create,
            Workload::Mix,
            Workload::Find,
        ] {
            for connections in [8, 64] {
                cell(
                    &mut report,
                    &target,
                    name,
                    workload,
                    connections,
                    &options,
                    ceiling_rate,
                );
            }
        }

        // What the request log, authentication and the metrics cost: the
        // same Get with each switched off, and with all three, alternated
        // with the defaults, `rounds` times.
        drop(target);
        let variants = variants_of_switches();
        let mut rates: Vec<Vec<_>> = variants.iter().map(|_| Vec::new()).collect();
        let mut target = None;
        for round in 0..options.rounds {
            for i in rotated(variants.len(), round) {
                let (log, without) = variants[i];
                drop(target.take());
                let server = serve(&backend.url(), log, without, work.path());
                run(&server, Workload::Get, "warm", 8, 1.0, None, false);
                rates[i].push(run(
                    &server,
                    Workload::Get,
                    "switches",
                    64,
                    seconds,
                    None,
                    false,
                ));
                target = Some(server);
            }
        }
        drop(target);
        let medians: Vec<Run> = rates.into_iter().map(median).collect();
        let rates: Vec<f64> = medians.iter().map(|run| run.rate).collect();
        log_rows.push(switch_row(
            name,
            &rates,
            |rate| format!("{rate:.0}/s"),
            |defaults, without| 1.0 - defaults / without,
        ));
        // The same in the server's CPU time per Get.
        if let Some(cpu) = medians
            .iter()
            .map(|run| run.cpu_per_answer_us)
            .collect::<Option<Vec<f64>>>()
        {
            log_rows.push(switch_row(
                &format!("{name}, server CPU per Get"),
                &cpu,
                |us| format!("{us:.1} µs"),
                |defaults, without| 1.0 - without / defaults,
            ));
        }

        if options.scale {
            scale_rows.extend(scale(backend, &options, work.path()));
        }
    }

    // The same in instructions, which a busy machine does not move.
    match instructions_per_get(&variants_of_switches()) {
        Ok(counts) => log_rows.push(switch_row(
            "SQLite, instructions per Get (callgrind)",
            &counts,
            |n| format!("{:.1}k", n / 1000.0),
            |defaults, without| 1.0 - without / defaults,
        )),
        Err(e) => report.line(format!("<!-- instructions not counted: {e} -->")),
    }

    report.line(String::new());
    report.line("What the request log, authentication and the metrics cost: Get at 64 connections with the defaults, and with each switched off (the log with `RUST_LOG=warn`, the others with `--bench-without`), and with all three; in brackets, the share of Gets a second each costs; and the same in the server's CPU time per Get (user and system, from /proc), which the generator on the same cores moves less, and in instructions per Get counted by callgrind (`benches/callgrind.sh`, 1,000 Gets on SQLite), which a busy machine does not move at all.\n".into());
    report.line("| backend | defaults | without the log | without authentication | without metrics | without all three | the three cost |".into());
    report.line("|---|---|---|---|---|---|---|".into());
    for row in log_rows {
        report.line(row);
    }
    if options.scale {
        report.line(String::new());
        report.line("Scale: 64 connections; the maximum, and the p99 at 70 % of it, on two fresh databases with 10 thousand and with 1 million relations, each with its own server, measured alternately; the ratio of the maxima; how long the 1 million took to insert.\n".into());
        report.line("| backend | workload | 10 thousand | 1 million | ratio | seeding |".into());
        report.line("|---|---|---|---|---|---|".into());
        for row in scale_rows {
            report.line(row);
        }
    }
    eprintln!("written to {}", report.file.display());
}
