//! Failover with nothing lost: a real two-node PostgreSQL cluster on this
//! machine (a primary and a synchronous streaming standby, each on its own
//! port in a temporary folder), two instances of the service on libpq's
//! multi-host URL, a create load that reads each create back through the
//! other instance, the primary stopped hard, the standby promoted (README,
//! "High availability").

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::helpers::{get_relations_xml, post_soap, relation};

/// The folder with PostgreSQL's server binaries (the newest installed).
fn server_binaries() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server binaries (on CI they are required)")
        .flatten()
        .map(|v| v.path().join("bin"))
        .filter(|bin| bin.join("pg_basebackup").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL version with its server binaries")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a server binary as the `postgres` user when this is root (initdb
/// and the server refuse to run as root).
fn pg(bin: &Path, tool: &str, args: &[&str]) -> Output {
    let program = bin.join(tool);
    if is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&program)
            .args(args)
            .output()
    } else {
        Command::new(&program).args(args).output()
    }
    .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

fn ok(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A primary and its synchronous standby, stopped when dropped.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    primary: u16,
    standby: u16,
}

impl Cluster {
    fn start() -> Self {
        let bin = server_binaries();
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(owned.success());
        }
        let mut cluster = Self {
            bin,
            primary: 0,
            standby: 0,
            dir,
        };
        let primary = cluster.data("primary");
        ok(
            pg(
                &cluster.bin,
                "initdb",
                &["-D", &primary, "-U", "postgres", "--auth=trust", "-N"],
            ),
            "initdb",
        );
        // A commit is confirmed only once the standby has it.
        let settings = format!(
            "listen_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             synchronous_standby_names = 'standby'\nwal_level = replica\nfsync = off\n",
            cluster.dir.path().display()
        );
        std::fs::write(format!("{primary}/postgresql.auto.conf"), settings).unwrap();
        cluster.primary = cluster.start_node("primary");
        let conninfo = format!(
            "host=127.0.0.1 port={} user=postgres application_name=standby",
            cluster.primary
        );
        let standby = cluster.data("standby");
        ok(
            pg(
                &cluster.bin,
                "pg_basebackup",
                &["-d", &conninfo, "-D", &standby, "-R", "-X", "stream"],
            ),
            "pg_basebackup",
        );
        cluster.standby = cluster.start_node("standby");
        cluster.wait_for_sync();
        cluster
    }

    fn data(&self, node: &str) -> String {
        self.dir.path().join(node).display().to_string()
    }

    /// Starts a node on a free port; its port. A port that another socket
    /// took between being found free and being bound (the suite opens
    /// thousands) is given up for another, at most three times.
    fn start_node(&self, node: &str) -> u16 {
        let data = self.data(node);
        let log = self.dir.path().join(format!("{node}.log"));
        let log_path = log.display().to_string();
        for _ in 0..3 {
            let port = free_port();
            let options = format!("-p {port}");
            let started = pg(
                &self.bin,
                "pg_ctl",
                &[
                    "-D", &data, "-l", &log_path, "-o", &options, "-t", "120", "-w", "start",
                ],
            );
            if started.status.success() {
                return port;
            }
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            if !said.contains("Address already in use") {
                panic!(
                    "pg_ctl start: {}{}\n{said}",
                    String::from_utf8_lossy(&started.stdout),
                    String::from_utf8_lossy(&started.stderr)
                );
            }
        }
        panic!("no free port for the {node} after three tries");
    }

    fn psql(&self, port: u16, sql: &str) -> String {
        self.psql_in(port, "postgres", sql)
    }

    fn psql_in(&self, port: u16, database: &str, sql: &str) -> String {
        // Bounded: connecting, and each statement.
        let output = Command::new(self.bin.join("psql"))
            .env("PGCONNECT_TIMEOUT", "5")
            .env("PGOPTIONS", "-c statement_timeout=30000")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
            ])
            .args(["-At", "-c", sql])
            .output()
            .unwrap();
        ok(output, sql)
    }

    /// Until the standby streams and counts as synchronous.
    fn wait_for_sync(&self) {
        let started = Instant::now();
        while self
            .psql(self.primary, "SELECT sync_state FROM pg_stat_replication")
            .trim()
            != "sync"
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the standby never synced"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop_primary_hard(&self) {
        ok(
            pg(
                &self.bin,
                "pg_ctl",
                &["-D", &self.data("primary"), "-m", "immediate", "stop"],
            ),
            "pg_ctl stop",
        );
    }

    /// Promotes the standby. It inherited the primary's demand for a
    /// synchronous standby, which none is left to meet: whoever promotes
    /// lifts it (Patroni does the same when the last standby is gone).
    fn promote_standby(&self) {
        ok(
            pg(
                &self.bin,
                "pg_ctl",
                &["-D", &self.data("standby"), "-w", "promote"],
            ),
            "pg_ctl promote",
        );
        self.psql(
            self.standby,
            "ALTER SYSTEM SET synchronous_standby_names = ''",
        );
        self.psql(self.standby, "SELECT pg_reload_conf()");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in ["primary", "standby"] {
            let _ = pg(
                &self.bin,
                "pg_ctl",
                &["-D", &self.data(node), "-m", "immediate", "stop"],
            );
        }
    }
}

/// What one client saw: confirmed references, and for each answer whether
/// it was confirmed, when it came and how long it took.
#[derive(Default)]
struct Seen {
    confirmed: Vec<String>,
    answers: Vec<(bool, Instant, Duration, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(postgres_binaries),
    ignore = "install PostgreSQL's server binaries to run it"
)]
async fn a_primary_killed_under_load_loses_no_confirmed_create() {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    cluster.psql(cluster.primary, "CREATE DATABASE cr");
    let url = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/cr?target_session_attrs=read-write&connect_timeout=2",
        cluster.primary, cluster.standby
    );
    let server = crate::cli::Server::start(
        &url,
        &[
            "--demo",
            "--database-timeout-secs",
            "3",
            "--pool-timeout-secs",
            "2",
        ],
    );
    let other = crate::cli::Server::start(
        &url,
        &["--database-timeout-secs", "3", "--pool-timeout-secs", "2"],
    );
    let stop_at = Instant::now() + Duration::from_secs(8);
    let load: Vec<_> = (0..4)
        .map(|worker| {
            // Each client creates through one instance and reads back
            // through the other.
            let (endpoint, reader) = if worker % 2 == 0 {
                (server.endpoint.clone(), other.endpoint.clone())
            } else {
                (other.endpoint.clone(), server.endpoint.clone())
            };
            tokio::spawn(async move {
                let mut seen = Seen::default();
                let mut n = 0;
                while Instant::now() < stop_at {
                    n += 1;
                    let reference = format!("failover-{worker}-{n}");
                    let started = Instant::now();
                    let (status, body) =
                        post_soap(&endpoint, &relation(1000, "FACEBOOK", &reference).to_xml())
                            .await;
                    let confirmed = status == 200 && body.contains("<Id>");
                    assert!(confirmed || body.contains("soap:Server"), "{body}");
                    seen.answers
                        .push((confirmed, Instant::now(), started.elapsed(), body));
                    if confirmed {
                        // Read your writes: the Get that follows, through the
                        // other instance, shows it.
                        let (status, listed) = post_soap(&reader, &get_relations_xml(1000)).await;
                        if status == 200 {
                            assert!(
                                listed.contains(&format!(">{reference}<")),
                                "{reference} not read back"
                            );
                        }
                        seen.confirmed.push(reference);
                    }
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.stop_primary_hard();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let promoted = Instant::now();
    cluster.promote_standby();

    let mut confirmed = Vec::new();
    let mut answers = Vec::new();
    for worker in load {
        let seen = worker.await.unwrap();
        confirmed.extend(seen.confirmed);
        answers.extend(seen.answers);
    }
    // Never a hang: each answer within the database timeout and a margin.
    let longest = answers.iter().map(|a| a.2).max().unwrap();
    assert!(
        longest < Duration::from_secs(6),
        "an answer took {longest:?}"
    );
    // Creates are confirmed again within a few seconds of the promotion.
    let back = answers
        .iter()
        .filter(|a| a.0 && a.1 > promoted)
        .map(|a| a.1 - promoted)
        .min()
        .expect("creates succeed after the promotion");
    assert!(back < Duration::from_secs(5), "back after {back:?}");
    let faults = answers.iter().filter(|a| !a.0).count();
    eprintln!(
        "failover: {} confirmed, {faults} faults, back {back:?} after the promotion, longest answer {longest:?}",
        confirmed.len()
    );

    // Every confirmed create is on the new primary.
    let stored = cluster.psql_in(
        cluster.standby,
        "cr",
        "SELECT reference FROM customer_relations",
    );
    let stored: std::collections::HashSet<&str> = stored.lines().collect();
    for reference in &confirmed {
        assert!(
            stored.contains(reference.as_str()),
            "{reference} was confirmed and lost"
        );
    }
    server.interrupt();
    other.interrupt();
    // A new instance on the same URL migrates (under the advisory lock) on
    // the new primary and serves.
    let restarted = crate::cli::Server::start(&url, &[]);
    let listed = restarted.call(&get_relations_xml(1000)).await;
    assert!(listed.contains(&format!(">{}<", confirmed[0])), "{listed}");
    restarted.interrupt();
    drop(cluster);
}
