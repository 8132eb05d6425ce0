//! Load beyond what the database can take is told to come back, at once,
//! rather than queued without bound; thousands of idle connections do not
//! crowd out the requests that matter (README, "Operations").

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::helpers::{Backend, Soap, envelope, relation, spawn_with};

/// Holds the lock every create needs, until dropped.
fn hold_write_lock(database: &crate::helpers::FreshDatabase) -> Box<dyn std::any::Any + Send> {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    match &database.url {
        customer_relations::store::DatabaseUrl::Sqlite(path) => {
            let mut c =
                diesel::sqlite::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
            c.batch_execute("BEGIN IMMEDIATE").unwrap();
            Box::new(c)
        }
        customer_relations::store::DatabaseUrl::Postgres(url) => {
            let mut c = diesel::pg::PgConnection::establish(url).unwrap();
            c.batch_execute("BEGIN; LOCK TABLE customer_relations IN ACCESS EXCLUSIVE MODE;")
                .unwrap();
            Box::new(c)
        }
    }
}

on_both_backends! {
    async fn requests_beyond_the_database_limit_are_told_to_come_back(backend: Backend) {
        let app = spawn_with(&backend, |s| {
            s.max_database_requests = 2;
            s.pool.statement_timeout = Duration::from_secs(2);
        })
        .await;
        let lock = hold_write_lock(&app.database);
        let relations: Vec<_> = (0..6)
            .map(|n| relation(1000, "FACEBOOK", &format!("busy-{n}")))
            .collect();
        let answers = join_all(relations.iter().map(|r| async {
            let started = Instant::now();
            let response = app
                .client
                .post(app.endpoint())
                .header("Content-Type", Soap::V11.content_type())
                .body(envelope(Soap::V11, &r.to_xml()))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.text().await.unwrap();
            (status, retry, body, started.elapsed())
        }))
        .await;
        let busy: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
        let waited: Vec<_> = answers.iter().filter(|a| a.0 == 500).collect();
        assert_eq!((busy.len(), waited.len()), (4, 2), "{answers:#?}");
        for (_, retry, body, took) in busy {
            assert_eq!(retry.as_deref(), Some("1"));
            assert!(body.contains("soap:Server") && body.contains("busy"), "{body}");
            assert!(*took < Duration::from_secs(1), "busy after {took:?}");
        }
        drop(lock);
        app.create(&relation(1000, "FACEBOOK", "after"))
            .await
            .assert_ok("CreateCustomerRelationResponse");
    }
}

/// 2,000 idle connections: health checks and requests still get through
/// promptly, and the server's memory stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousands_of_idle_connections_do_not_crowd_out_requests() {
    let app = spawn_with(&Backend::Sqlite, |s| s.max_connections = 4096).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let rss_before = resident_kib();
    let mut idle = Vec::new();
    for _ in 0..2_000 {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    let started = Instant::now();
    let health = reqwest::get(format!("{}/health", app.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    app.get_relations(1000)
        .await
        .assert_ok("GetCustomerRelationsByCustomerResponse");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The server runs in this process: its growth is this process's.
    let grown = resident_kib().saturating_sub(rss_before);
    assert!(grown < 100 * 1024, "resident memory grew by {grown} KiB");
    drop(idle);
}

/// This process's resident memory, in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
