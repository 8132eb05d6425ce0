//! Group commit for SQLite: one writer thread runs the writes of many
//! requests in one transaction, each in a savepoint of its own, and commits
//! them with one flush to the disk. With `synchronous = FULL` a commit
//! waits for the disk, so sharing it is what keeps writes fast without
//! weakening what a confirmation means; one writer also ends the contention
//! of several connections for SQLite's single write lock.
//!
//! Each write keeps its own outcome: a refused one is rolled back to its
//! savepoint, a panicking one too; the others commit. Nobody is answered
//! before the commit: if it fails, every write of the group gets the error
//! and nothing of the group is stored.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::sqlite::SqliteConnection;
use tokio::sync::oneshot;

use super::turns::TurnClock;
use super::{DbConnection, Pooled, RelationStore, internal};
use crate::vocabulary::InternalError;

/// The most writes one transaction takes.
const MAX_GROUP: usize = 64;

/// One request's write, on its way to the writer.
trait Job: Send {
    /// Runs the write; whether it succeeded (kept) or failed (rolled back),
    /// and how to answer once the group's commit is known.
    fn run(self: Box<Self>, store: &mut dyn RelationStore) -> (bool, Box<dyn Answer>);
    /// The write did not run: the group could not begin, or the request
    /// has stopped waiting.
    fn fail(self: Box<Self>, error: InternalError);
    /// Whether the request has stopped waiting for it: then it must not run,
    /// since nobody would learn that it was stored.
    fn expired(&self) -> bool;
    /// Takes the write's turn for the writer; `false` if its request has
    /// given up waiting for it (and was told the database is busy): then
    /// it must not run.
    fn take(&self) -> bool;
    /// Whether its request has given up waiting for its turn.
    fn given_up(&self) -> bool;
    /// When its request asked for its turn.
    fn asked(&self) -> Instant;
}

/// Answers a write after the commit: its outcome, or the commit's error.
trait Answer: Send {
    fn answer(self: Box<Self>, commit: Result<(), String>);
}

type Reply<T, E> = oneshot::Sender<Result<Result<T, E>, InternalError>>;

struct Write<F, T, E> {
    work: F,
    reply: Reply<T, E>,
    deadline: Instant,
    queued: Arc<Queued>,
    asked: Instant,
}

/// Whether a write is still queued. It belongs to the writer once it takes
/// it, or to its request once that gives up waiting: whichever takes it
/// out of the queue first decides, so a write the request was told did not
/// happen never runs.
struct Queued(AtomicBool);

impl Queued {
    /// Takes the write out of the queue; `false` if the other side already
    /// did.
    fn settle(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }

    fn is_queued(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

struct Outcome<T, E> {
    outcome: Result<T, E>,
    reply: Reply<T, E>,
}

impl<F, T, E> Job for Write<F, T, E>
where
    F: FnOnce(&mut dyn RelationStore) -> Result<T, E> + Send,
    T: Send + 'static,
    E: Send + 'static,
{
    fn run(self: Box<Self>, store: &mut dyn RelationStore) -> (bool, Box<dyn Answer>) {
        let outcome = (self.work)(store);
        let succeeded = outcome.is_ok();
        (
            succeeded,
            Box::new(Outcome {
                outcome,
                reply: self.reply,
            }),
        )
    }

    fn fail(self: Box<Self>, error: InternalError) {
        let _ = self.reply.send(Err(error));
    }

    fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    fn take(&self) -> bool {
        self.queued.settle()
    }

    fn given_up(&self) -> bool {
        !self.queued.is_queued()
    }

    fn asked(&self) -> Instant {
        self.asked
    }
}

impl<T: Send, E: Send> Answer for Outcome<T, E> {
    fn answer(self: Box<Self>, commit: Result<(), String>) {
        let _ = self.reply.send(match commit {
            Ok(()) => Ok(self.outcome),
            Err(error) => Err(InternalError::new(error)),
        });
    }
}

/// The writer: where SQLite writes go.
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
    clock: Arc<TurnClock>,
}

/// How long past its deadline a request waits for the writer's answer: the
/// writer fails an expired write at once, so the answer comes unless the
/// writer itself is stuck (then the request stops waiting anyway).
const ANSWER_GRACE: Duration = Duration::from_secs(1);

impl Writer {
    /// Starts the writer thread, which takes its connections from `connect`.
    pub fn start(
        clock: Arc<TurnClock>,
        connect: impl Fn() -> Result<DbConnection, InternalError> + Send + 'static,
    ) -> Arc<Self> {
        let (jobs, queue) = mpsc::channel();
        let writer_clock = clock.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_groups(queue, &writer_clock, connect))
            .expect("the writer thread starts");
        Arc::new(Self { jobs, clock })
    }

    /// Runs `work` in the next group, unless `deadline` passes first;
    /// answers once the group committed. If the writer has not taken it
    /// within its wait (see `turns`), it never runs and the answer is that
    /// the database is busy. The caller's thread does not block: it awaits
    /// the writer's answer.
    pub async fn run<T, E>(
        &self,
        deadline: Instant,
        work: impl FnOnce(&mut dyn RelationStore) -> Result<T, E> + Send + 'static,
    ) -> Result<Result<T, E>, InternalError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let queued_at = Instant::now();
        let turn_by = self.clock.turn_by(queued_at);
        let (reply, mut answer) = oneshot::channel();
        let queued = Arc::new(Queued(AtomicBool::new(true)));
        let job: Box<dyn Job> = Box::new(Write {
            work,
            reply,
            deadline,
            queued: queued.clone(),
            asked: queued_at,
        });
        self.jobs
            .send(job)
            .map_err(|_| InternalError::new("the SQLite writer has stopped"))?;
        match tokio::time::timeout_at(turn_by.into(), &mut answer).await {
            Ok(Ok(answered)) => return answered,
            Ok(Err(_)) => return Err(InternalError::new("the write panicked")),
            Err(_) if queued.settle() => {
                self.clock.refused(queued_at);
                return Err(InternalError::busy(queued_at.elapsed()));
            }
            // The writer has it: its answer comes.
            Err(_) => {}
        }
        let wait = deadline.saturating_duration_since(Instant::now()) + ANSWER_GRACE;
        match tokio::time::timeout(wait, answer).await {
            Ok(Ok(answered)) => answered,
            Err(_) => Err(InternalError::new(
                "the SQLite writer did not answer by the deadline",
            )),
            Ok(Err(_)) => Err(InternalError::new("the write panicked")),
        }
    }
}

/// Takes the writes queued in groups: the oldest first, or, while the
/// database is behind and newest first, the newest (see `turns`).
fn write_groups(
    queue: Receiver<Box<dyn Job>>,
    clock: &TurnClock,
    connect: impl Fn() -> Result<DbConnection, InternalError>,
) {
    let mut connection: Option<DbConnection> = None;
    let mut waiting: VecDeque<Box<dyn Job>> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match queue.recv() {
                Ok(job) => waiting.push_back(job),
                Err(_) => return,
            }
        }
        waiting.extend(queue.try_iter());
        // Their requests have been told the database is busy.
        waiting.retain(|job| !job.given_up());
        let now = Instant::now();
        let order = clock.order(now);
        if let Some(before) = order.refuse_asked_before {
            while let Some(job) = waiting.pop_front_if(|job| job.asked() < before) {
                if job.take() {
                    let waited = now.saturating_duration_since(job.asked());
                    job.fail(InternalError::busy(waited));
                }
            }
        }
        let size = waiting.len().min(MAX_GROUP);
        let group: Vec<_> = match order.newest_first {
            true => waiting.drain(waiting.len() - size..).rev().collect(),
            false => waiting.drain(..size).collect(),
        };
        if group.is_empty() {
            continue;
        }
        clock.served(group.len(), waiting.len(), now);
        let conn = match connection.take().map_or_else(&connect, Ok) {
            Ok(conn) => connection.insert(conn),
            Err(error) => {
                let message = error.to_string();
                for job in group {
                    job.fail(InternalError::new(message.clone()));
                }
                continue;
            }
        };
        if !write_group(conn, group) {
            // After a failed commit, start again on a fresh connection.
            connection = None;
        }
    }
}

/// Runs one group; whether its commit succeeded.
fn write_group(conn: &mut DbConnection, group: Vec<Box<dyn Job>>) -> bool {
    if let Err(error) = with_sqlite(conn, |c| {
        AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
    }) {
        let message = error.to_string();
        for job in group {
            job.fail(InternalError::new(message.clone()));
        }
        return false;
    }
    let mut answers = Vec::with_capacity(group.len());
    for job in group {
        if !job.take() {
            // Its request was told the database is busy.
            continue;
        }
        if job.expired() {
            job.fail(InternalError::new(
                "the write waited for the database past its deadline",
            ));
            continue;
        }
        if let Err(error) = with_sqlite(conn, AnsiTransactionManager::begin_transaction) {
            job.fail(error);
            continue;
        }
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| job.run(&mut *conn)));
        let kept = matches!(ran, Ok((true, _)));
        let ended = if kept {
            with_sqlite(conn, AnsiTransactionManager::commit_transaction)
        } else {
            with_sqlite(conn, AnsiTransactionManager::rollback_transaction)
        };
        match (ran, ended) {
            (Ok((_, answer)), Ok(())) => answers.push(answer),
            (Ok((_, answer)), Err(error)) => answer.answer(Err(error.to_string())),
            // A panicking write dropped its reply: its request learns it.
            (Err(_), _) => {}
        }
    }
    let committed = with_sqlite(conn, AnsiTransactionManager::commit_transaction)
        .map_err(|error| error.to_string());
    let succeeded = committed.is_ok();
    for answer in answers {
        answer.answer(committed.clone());
    }
    succeeded
}

fn with_sqlite<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut SqliteConnection) -> diesel::QueryResult<T>,
) -> Result<T, InternalError> {
    match &mut conn.pooled {
        Pooled::Sqlite(c) => f(c).map_err(internal),
        Pooled::Postgres(_) => Err(InternalError::new(
            "group commit is for SQLite connections only",
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::store::{Database, DatabaseUrl, PoolOptions};

    /// Writes that were waiting with the whole wait when the clock saw an
    /// overload are refused the behind wait after it, as busy, and never
    /// run (see `turns`); a write that joins later runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_waiting_since_before_an_overload_was_seen_are_refused_and_never_run() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("w.db"));
        let database = Database::open(&url, &PoolOptions::default()).unwrap();
        // A whole wait of 1 s; behind, 100 ms.
        let clock = Arc::new(TurnClock::new(
            Duration::from_secs(1),
            Duration::from_millis(100),
            Duration::from_secs(1),
        ));
        let started = Instant::now();
        let writer = Writer::start(clock.clone(), move || {
            database.connection().map_err(InternalError::new)
        });
        let deadline = started + Duration::from_secs(10);
        let ran = Arc::new(AtomicUsize::new(0));
        let write = |hold: Duration| {
            let (writer, ran) = (writer.clone(), ran.clone());
            tokio::spawn(async move {
                writer
                    .run(deadline, move |_| {
                        ran.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(hold);
                        Ok::<_, ()>(())
                    })
                    .await
            })
        };
        // Holds the writer for 400 ms; two more wait, with the whole wait.
        let first = write(Duration::from_millis(400));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting = [write(Duration::ZERO), write(Duration::ZERO)];
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The clock sees the queue grow for two windows while turns are
        // handed out: overloaded at 200 ms, after the two joined.
        clock.served(1, 20, started + Duration::from_millis(100));
        clock.served(1, 40, started + Duration::from_millis(200));
        let then = clock.order(started + Duration::from_millis(300));
        assert!(then.refuse_asked_before.is_some());

        assert!(first.await.unwrap().is_ok(), "the first write ran");
        for refused in waiting {
            let error = refused.await.unwrap().expect_err("refused");
            assert!(error.is_busy(), "{error}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refused before their whole wait"
        );
        assert_eq!(ran.load(Ordering::SeqCst), 1, "the refused never ran");
        assert!(
            write(Duration::ZERO).await.unwrap().is_ok(),
            "a later one runs"
        );
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }
}
