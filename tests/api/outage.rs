//! PostgreSQL going away, through a TCP proxy the test controls between the
//! service and the database: refusing connections, and silent (holding
//! every byte). Requests get a Server fault within the configured time,
//! never a hang; `/health` says so; the service recovers by itself; every
//! confirmed create is stored (README, "Operations").

use std::time::{Duration, Instant};

use customer_relations::settings::Settings;
use customer_relations::startup::Application;
use customer_relations::store::{Database, DatabaseUrl, PoolOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{Backend, get_relations_xml, id_in, post_soap, relation};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    /// New connections are closed at once, open ones are cut.
    Refuse,
    /// Nothing passes either way; connections stay open.
    Silent,
}

/// A TCP proxy to `upstream` whose mode the test sets.
struct Proxy {
    port: u16,
    mode: watch::Sender<Mode>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (mode, watching) = watch::channel(Mode::Forward);
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                match *watching.borrow() {
                    Mode::Refuse => continue,
                    Mode::Silent => {
                        held.push(client);
                        continue;
                    }
                    Mode::Forward => {}
                }
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, watching.clone()));
                tokio::spawn(pump(server_read, client_write, watching.clone()));
            }
        });
        Self { port, mode }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

/// Copies one direction, holding bytes while silent, ending when refusing.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = mode.changed() => {
                if *mode.borrow() == Mode::Refuse { return }
                continue;
            }
        };
        let Ok(n) = read else { return };
        if n == 0 {
            return;
        }
        loop {
            let now = *mode.borrow_and_update();
            match now {
                Mode::Forward => break,
                Mode::Refuse => return,
                Mode::Silent => {
                    if mode.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// The service on a fresh demo database, reaching PostgreSQL through a
/// proxy; requests may spend 2 s on the database.
async fn service_behind_proxy() -> (String, Proxy, crate::helpers::FreshDatabase) {
    let backend = Backend::postgres();
    let fresh = backend.fresh_database();
    let database = fresh.open();
    customer_relations::import::import(&database, &customer_relations::import::demo_fixtures())
        .unwrap();
    customer_relations::auth::ensure_demo_clients(&database).unwrap();
    let mut direct = url::Url::parse(&fresh.raw_url).unwrap();
    let upstream = format!(
        "{}:{}",
        direct.host_str().unwrap(),
        direct.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(upstream).await;
    direct.set_port(Some(proxy.port)).unwrap();
    let proxied: DatabaseUrl = direct.as_str().parse().unwrap();
    let options = PoolOptions {
        max_size: 4,
        connection_timeout: Duration::from_secs(2),
        statement_timeout: Duration::from_secs(2),
        ..PoolOptions::default()
    };
    let database = Database::open(&proxied, &options).unwrap();
    let mut settings = Settings::new("127.0.0.1:0", proxied);
    settings.pool = options;
    settings.workers = Some(2);
    let app = Application::build(&settings, database).unwrap();
    let address = format!("http://{}", app.address());
    tokio::spawn(app.run_until_stopped());
    (address, proxy, fresh)
}

/// Sends a create; (its Id if confirmed, the body, how long it took).
async fn create(address: &str, reference: &str) -> (Option<i64>, String, Duration) {
    let started = Instant::now();
    let (_, body) = post_soap(
        &format!("{address}/CustomerRelationService"),
        &relation(1000, "FACEBOOK", reference).to_xml(),
    )
    .await;
    (id_in(&body), body, started.elapsed())
}

async fn live(address: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{address}/health/live"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn health(address: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let response = crate::helpers::client_as(crate::helpers::DEMO_ADMIN)
        .get(format!("{address}/health/ready"))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap(), started.elapsed())
}

/// Five creates while all is well, each confirmed.
async fn confirmed_before(address: &str) -> Vec<String> {
    let mut confirmed = Vec::new();
    for n in 0..5 {
        let reference = format!("before-{n}");
        assert!(create(address, &reference).await.0.is_some());
        confirmed.push(reference);
    }
    confirmed
}

/// Creates until one is confirmed again (at most 20 s).
async fn recovers(address: &str, confirmed: &mut Vec<String>) {
    let started = Instant::now();
    for n in 0.. {
        let reference = format!("after-{n}");
        if create(address, &reference).await.0.is_some() {
            confirmed.push(reference);
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no recovery");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn all_stored(address: &str, confirmed: &[String]) {
    let (_, listed) = post_soap(
        &format!("{address}/CustomerRelationService"),
        &get_relations_xml(1000),
    )
    .await;
    for reference in confirmed {
        assert!(
            listed.contains(&format!(">{reference}<")),
            "{reference} lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
async fn a_database_that_refuses_connections_gets_prompt_faults_and_recovers() {
    let (address, proxy, _database) = service_behind_proxy().await;
    let mut confirmed = confirmed_before(&address).await;
    proxy.set(Mode::Refuse);
    for n in 0..5 {
        let (id, body, took) = create(&address, &format!("during-{n}")).await;
        assert!(id.is_none() && body.contains("soap:Server"), "{body}");
        // The first finds out within the pool timeout; the others at once.
        let bound = if n == 0 {
            Duration::from_millis(2500)
        } else {
            Duration::from_millis(1000)
        };
        assert!(took < bound, "fault {n} after {took:?}");
    }
    let (status, body, took) = health(&address).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("database unreachable"), "{body}");
    // Within a second, as Kubernetes' probes expect; liveness is not asked.
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(live(&address).await, 200);

    proxy.set(Mode::Forward);
    recovers(&address, &mut confirmed).await;
    assert_eq!(health(&address).await.0, 200);
    all_stored(&address, &confirmed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
async fn a_silent_database_gets_faults_in_time_and_recovers() {
    let (address, proxy, _database) = service_behind_proxy().await;
    let mut confirmed = confirmed_before(&address).await;
    proxy.set(Mode::Silent);
    let during = futures_util::future::join_all((0..3).map(|n| {
        let address = address.clone();
        async move { create(&address, &format!("during-{n}")).await }
    }))
    .await;
    for (id, body, took) in during {
        assert!(id.is_none() && body.contains("soap:Server"), "{body}");
        assert!(took < Duration::from_millis(3000), "fault after {took:?}");
    }
    let (status, body, took) = health(&address).await;
    assert_eq!(status, 503, "{body}");
    // Stuck on a silent connection, or failing to open a new one.
    assert!(
        body.contains("database timed out") || body.contains("database unreachable"),
        "{body}"
    );
    // Within a second, as Kubernetes' probes expect; liveness is not asked.
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(live(&address).await, 200);

    proxy.set(Mode::Forward);
    recovers(&address, &mut confirmed).await;
    all_stored(&address, &confirmed).await;
}

/// Connections the database closed (here terminated, as a restart or an
/// administrator does) are not handed to requests, although a connection
/// used a moment ago is not asked before its next use (README,
/// "Performance"): every create right after is confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
async fn connections_the_database_closed_are_not_used() {
    let app = crate::helpers::spawn_app(&Backend::postgres()).await;
    let creates = |round: usize, stage: &'static str| {
        let address = app.address.clone();
        futures_util::future::join_all((0..8).map(move |n| {
            let address = address.clone();
            async move { create(&address, &format!("{stage}-{round}-{n}")).await }
        }))
    };
    for round in 0..3 {
        // Several connections in use, then every one of them closed.
        for (id, body, _) in creates(round, "before").await {
            assert!(id.is_some(), "{body}");
        }
        let closed = terminate_the_services_backends(&app.database.raw_url);
        assert!(closed > 0);
        for (id, body, _) in creates(round, "after").await {
            assert!(id.is_some(), "round {round}: {body}");
        }
    }
}

/// Terminates every other connection to the database and waits until they
/// are gone; how many there were.
fn terminate_the_services_backends(url: &str) -> usize {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Backend {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let mut c = diesel::pg::PgConnection::establish(url).unwrap();
    let pids: Vec<i32> = diesel::sql_query(
        "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .load::<Backend>(&mut c)
    .unwrap()
    .into_iter()
    .map(|b| b.pid)
    .collect();
    let list = pids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let started = Instant::now();
    loop {
        let left = diesel::sql_query(format!(
            "SELECT pid FROM pg_stat_activity WHERE pid IN ({list})"
        ))
        .load::<Backend>(&mut c)
        .unwrap();
        if left.is_empty() {
            return pids.len();
        }
        for backend in left {
            diesel::sql_query(format!("SELECT pg_terminate_backend({})", backend.pid))
                .execute(&mut c)
                .unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "not terminated");
        std::thread::sleep(Duration::from_millis(5));
    }
}
