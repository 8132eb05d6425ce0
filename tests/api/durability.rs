//! What a confirmed write promises: that it is stored. Every write runs in a
//! transaction whose commit is checked; on SQLite that is also what lets the
//! write-ahead log be checkpointed (README, "Operations").

use futures_util::future::join_all;

use crate::helpers::{Backend, Soap, envelope, relation, spawn_with};

/// Sustained creates keep SQLite's write-ahead log bounded: each commit is a
/// statement run to its end, which is when SQLite checkpoints. (Before, an
/// `INSERT … RETURNING` reset after its first row left the log growing by
/// about 20 KB a create.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sustained_creates_keep_the_sqlite_log_bounded() {
    const CREATES: usize = 20_000;
    /// The server checkpoints at 250 pages (about 1 MB; README,
    /// "Operations"); the log is reused, not truncated, so it may stay near
    /// that size, with room for the frames written while a checkpoint
    /// waits for readers.
    const BOUND: u64 = 4 * 1024 * 1024;
    // All for one customer: above the default bound on its relations.
    let app = spawn_with(&Backend::Sqlite, |settings| {
        settings.pool.max_relations_per_customer = CREATES as u32
    })
    .await;
    for chunk in (0..CREATES).collect::<Vec<_>>().chunks(32) {
        let relations: Vec<_> = chunk
            .iter()
            .map(|n| relation(1000, "FACEBOOK", &format!("fb-{n}")))
            .collect();
        // Straight to the endpoint: 20,000 responses are not each worth a
        // schema check (every other test does it).
        let created = join_all(relations.iter().map(|r| {
            app.client
                .post(app.endpoint())
                .header("Content-Type", Soap::V11.content_type())
                .body(envelope(Soap::V11, &r.to_xml()))
                .send()
        }))
        .await;
        for response in created {
            let response = response.expect("the server answers");
            assert_eq!(response.status(), 200);
        }
    }
    let customer_relations::store::DatabaseUrl::Sqlite(path) = &app.database.url else {
        unreachable!("a SQLite backend")
    };
    let wal = path.with_extension("db-wal");
    let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert!(
        size < BOUND,
        "the log grew to {size} bytes after {CREATES} creates"
    );
}
