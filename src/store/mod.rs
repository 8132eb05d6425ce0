//! Persistence with diesel over r2d2 pools. Knows the database and nothing of
//! XML. SQLite is the embedded default; PostgreSQL is the backend several
//! instances share.
//!
//! One code base serves both, in vaultwarden's shape: every repository
//! method is an ordinary function whose diesel query is wrapped in
//! `db_run!`, which compiles it once for each backend's connection. Where
//! the dialects differ (how a transaction takes its lock), one `match` has
//! an arm per backend.

mod bulk_load;
mod client_store;
mod database_url;
mod group_commit;
mod migrations;
mod pg_create;
mod pg_pool;
mod register_store;
mod relation_store;
mod relation_updates;
mod rows;
mod schema;
mod stored_time;
mod turns;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;

pub use database_url::{DatabaseUrl, DatabaseUrlError, redact as redact_url};
use relation_store::Session;
pub use relation_store::{Access, RelationStore};

use crate::register::RegisterLoader;
use crate::vocabulary::InternalError;

/// How long a SQLite writer waits for another one before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// How long SQLite's write-ahead log grows, in pages, before the commit
/// that passes it copies the log into the database (a checkpoint), which
/// the writes queued behind that commit wait for. SQLite's default is
/// 1,000; at 250 a checkpoint copies about a third as many pages, and the
/// p99 of creates at 70 % of their maximum rate halves, for about a tenth
/// of that maximum (README, "Performance").
const SQLITE_CHECKPOINT_PAGES: u32 = 250;

#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: u32,
    /// How long a request waits for a connection the pool is opening (or
    /// that another user of the pool gives back).
    pub connection_timeout: Duration,
    /// How long a request waits for its turn at a database that is
    /// answering others (every pooled connection in use; on SQLite, the
    /// writer's queue) before it is told the service is busy, without
    /// having run; [`Self::behind_wait`] while the database is behind (see
    /// `turns`; README, "Timeouts and limits").
    pub max_wait: Duration,
    /// How long a request waits for its turn while the database is behind:
    /// requests have been refused, or come faster than they are served
    /// (see `turns`); at most [`Self::max_wait`].
    pub behind_wait: Duration,
    /// The longest a statement may run on PostgreSQL (`statement_timeout`),
    /// and the basis of libpq's TCP keepalive and user timeout, so that a
    /// silent network ends in an error rather than a hang.
    pub statement_timeout: Duration,
    /// When SQLite confirms a commit (see [`SqliteSynchronous`]).
    pub sqlite_synchronous: SqliteSynchronous,
    /// The most relations one customer may have; a create beyond it is
    /// refused (README, "The API"), so that no customer's relation list
    /// grows without bound.
    pub max_relations_per_customer: u32,
}

/// When SQLite confirms a commit, in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSynchronous {
    /// After the log is flushed to the disk: a confirmed write survives a
    /// power loss or an operating system crash, as on PostgreSQL.
    #[default]
    Full,
    /// Before: a confirmed write survives a crash of the service, but the
    /// last ones may be lost if the machine goes down.
    Normal,
}

impl SqliteSynchronous {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            connection_timeout: Duration::from_secs(5),
            max_wait: DEFAULT_MAX_WAIT,
            behind_wait: DEFAULT_BEHIND_WAIT,
            statement_timeout: Duration::from_secs(10),
            sqlite_synchronous: SqliteSynchronous::default(),
            max_relations_per_customer: 10_000,
        }
    }
}

/// The default of [`PoolOptions::max_wait`] (README, "Operations").
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_millis(500);

/// The default of [`PoolOptions::behind_wait`] (README, "Timeouts and
/// limits").
pub const DEFAULT_BEHIND_WAIT: Duration = Duration::from_millis(10);

/// How long a request waits for a connection while the last attempt to open
/// one failed: a database that refuses connections gets a fault at once,
/// not after the pool timeout.
const FAIL_FAST: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // The cause is the source, shown after the message by whoever prints
    // the chain, so the message does not repeat it.
    #[error("cannot prepare the database location")]
    Location(#[from] std::io::Error),
    #[error("cannot open the database")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("cannot open the database")]
    Connect(#[from] diesel::ConnectionError),
    #[error("cannot run the migrations: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// The request pool's connections now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub max: u32,
    pub open: u32,
    pub idle: u32,
}

/// What [`Database::purge_customer`] erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub relations: usize,
    pub changes: usize,
}

/// Why the database is not ready to serve this binary.
#[derive(Debug)]
pub enum Unready {
    /// It does not answer, or answers with an error.
    Failing(InternalError),
    /// It has not run this many of the binary's migrations (an instance
    /// of a newer version has not started yet).
    MigrationsPending(usize),
}

/// A pooled connection of either backend; the ports' implementation.
pub(crate) struct DbConnection {
    pooled: Pooled,
    /// The most relations one customer may have (`PoolOptions`).
    max_relations_per_customer: u32,
}

enum Pooled {
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    Postgres(PooledConnection<pg_pool::PgManager>),
}

impl DbConnection {
    /// The connection as [`db_run!`] takes it.
    fn conn(&mut self) -> Conn<'_> {
        match &mut self.pooled {
            Pooled::Sqlite(c) => Conn::Sqlite(c),
            Pooled::Postgres(c) => Conn::Postgres(&mut c.conn),
        }
    }
}

/// Asks the database whether the service's relation types table has a
/// row: an error where the table is missing, and one row back whatever it
/// holds, so that a health check reads no more than it must.
fn answers(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    use schema::relation_types;
    db_run!(conn.conn(), |c| diesel::select(diesel::dsl::exists(
        relation_types::table.select(relation_types::code)
    ))
    .get_result::<bool>(c)
    .map(drop))
}

/// A borrowed connection of either backend: what [`db_run!`] matches on.
enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// Runs the same diesel code on whichever backend `$conn` (a [`Conn`]) is:
/// the body is compiled once per backend, with `$c` the concrete connection.
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::Conn::Sqlite($c) => $body,
            $crate::store::Conn::Postgres($c) => $body,
        }
    };
}
use db_run;

/// A panic in a unit of work, as the error its request answers with.
fn panicked(panic: &(dyn std::any::Any + Send)) -> InternalError {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    InternalError::new(format!("the database work panicked ({what})"))
}

fn internal(error: diesel::result::Error) -> InternalError {
    InternalError::new(error)
}

/// A value the database's CHECK constraints should have made impossible.
fn corrupt(what: String) -> InternalError {
    InternalError::new(format!("unexpected value in the database: {what}"))
}

#[derive(Clone)]
enum Pools {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Postgres(Pool<pg_pool::PgManager>),
}

/// A handle on the database; cheap to clone, shared by all workers.
#[derive(Clone)]
pub struct Database {
    pools: Pools,
    reachable: Arc<Reachability>,
    /// SQLite's writes go to one writer, which commits them in groups.
    writer: Option<Arc<group_commit::Writer>>,
    max_relations_per_customer: u32,
    /// Two for each connection of the pool: the requests that run their
    /// work on a blocking thread (PostgreSQL's) take one first, waiting in
    /// the order and for as long as `turns` says. Twice as many as
    /// connections, so that when a connection is given back a request is
    /// already waiting for it on its thread, rather than being woken and
    /// sent to one.
    turns: Arc<turns::Turns>,
}

/// Whether the last attempt to open a connection failed, and why. Read on
/// every request, so the flag is an atomic; the reason is only written on a
/// failure and read by the health check.
#[derive(Debug, Default)]
struct Reachability {
    failing: AtomicBool,
    why: Mutex<String>,
}

impl Reachability {
    fn failed(&self, why: String) {
        *self.why.lock().unwrap_or_else(|e| e.into_inner()) = why;
        self.failing.store(true, Ordering::Release);
    }

    fn connected(&self) {
        self.failing.store(false, Ordering::Release);
    }

    fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Acquire)
    }

    fn last_failure(&self) -> Option<String> {
        self.is_failing()
            .then(|| self.why.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// Sets up each new connection, and notes that the database answers.
#[derive(Debug)]
struct Setup {
    reachable: Arc<Reachability>,
    statement_timeout: Duration,
    sqlite_synchronous: SqliteSynchronous,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Setup {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // busy_timeout first, so that switching to WAL waits for other writers.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = {};
             PRAGMA foreign_keys = ON;
             PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES};",
            self.sqlite_synchronous.pragma()
        ))
        .map_err(diesel::r2d2::Error::QueryError)?;
        self.reachable.connected();
        Ok(())
    }
}

impl CustomizeConnection<pg_pool::PgPooled, diesel::r2d2::Error> for Setup {
    fn on_acquire(&self, pooled: &mut pg_pool::PgPooled) -> Result<(), diesel::r2d2::Error> {
        pooled
            .conn
            .batch_execute(&format!(
                "SET statement_timeout = {}",
                self.statement_timeout.as_millis()
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        self.reachable.connected();
        Ok(())
    }
}

/// The pool's failed connection attempts, noted for failing fast and
/// logged at debug level: the failure that matters reaches the log once, as
/// the error of whatever waited for the connection (a request's Server
/// fault, or the startup error).
#[derive(Debug)]
struct QuietErrors(Arc<Reachability>);

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for QuietErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        log::debug!("a database connection attempt failed: {error}");
        self.0.failed(error.to_string());
    }
}

/// Why a bulk load's transaction was rolled back: the loader refused, or the
/// database failed.
enum Rollback<E> {
    Refused(E),
    Database(diesel::result::Error),
}

impl<E> From<diesel::result::Error> for Rollback<E> {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(error)
    }
}

impl Database {
    /// Opens the database the URL names (for SQLite creating the file and
    /// its folder). The backend is the URL's scheme.
    pub fn open(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self, StoreError> {
        Self::open_with(url, options, true)
    }

    /// As [`Database::open`], for reading only: SQLite gets no writer.
    /// For a task that must not wait for the pool the requests share.
    pub fn open_for_reading(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self, StoreError> {
        Self::open_with(url, options, false)
    }

    fn open_with(
        url: &DatabaseUrl,
        options: &PoolOptions,
        with_writer: bool,
    ) -> Result<Self, StoreError> {
        let reachable = Arc::new(Reachability::default());
        let setup = || {
            Box::new(Setup {
                reachable: reachable.clone(),
                statement_timeout: options.statement_timeout,
                sqlite_synchronous: options.sqlite_synchronous,
            })
        };
        let pools = match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                // WAL is a property of the file: switch it once, here, rather
                // than from the pool's connections racing for the lock.
                let mut first = SqliteConnection::establish(&path.to_string_lossy())?;
                first.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL;"
                ))?;
                drop(first);
                let manager = ConnectionManager::<SqliteConnection>::new(path.to_string_lossy());
                Pools::Sqlite(
                    Pool::builder()
                        .error_handler(Box::new(QuietErrors(reachable.clone())))
                        // One more, which the writer keeps.
                        .max_size(options.max_size + 1)
                        // A connection to a file does not break as one over
                        // a network does: checking it with a query on each
                        // checkout cost a statement per request.
                        .test_on_check_out(false)
                        .connection_timeout(options.connection_timeout)
                        .connection_customizer(setup())
                        .build(manager)?,
                )
            }
            DatabaseUrl::Postgres(url) => {
                let libpq = database_url::with_libpq_timeouts(url, options.statement_timeout);
                let manager = pg_pool::PgManager::new(libpq);
                Pools::Postgres(
                    Pool::builder()
                        .error_handler(Box::new(QuietErrors(reachable.clone())))
                        .max_size(options.max_size)
                        .connection_timeout(options.connection_timeout)
                        .connection_customizer(setup())
                        .build(manager)?,
                )
            }
        };
        let turn_clock = Arc::new(turns::TurnClock::new(
            options.max_wait,
            options.behind_wait,
            crate::vocabulary::COME_BACK_AFTER,
        ));
        let writer = match &pools {
            Pools::Sqlite(pool) if with_writer => {
                let pool = pool.clone();
                let max_relations_per_customer = options.max_relations_per_customer;
                Some(group_commit::Writer::start(turn_clock.clone(), move || {
                    pool.get()
                        .map(|c| DbConnection {
                            pooled: Pooled::Sqlite(c),
                            max_relations_per_customer,
                        })
                        .map_err(InternalError::new)
                }))
            }
            Pools::Sqlite(_) | Pools::Postgres(_) => None,
        };
        Ok(Self {
            pools,
            reachable,
            writer,
            max_relations_per_customer: options.max_relations_per_customer,
            turns: turns::Turns::new(2 * options.max_size as usize, turn_clock),
        })
    }

    /// Runs `work` on the store: a read on a connection of its own; a write
    /// in a transaction whose commit is checked, and confirmed (`Ok`) only
    /// when the commit succeeded. On SQLite the writes of concurrent
    /// requests share a transaction, each in its own savepoint, and one
    /// commit (see `group_commit`); on PostgreSQL each has its own. Work
    /// that fails is rolled back, so a refused request changes nothing.
    /// A write still queued at `deadline` does not run; work that has not
    /// had its turn at the database within its wait (see `turns`) does not
    /// run either, and the error says the database is busy.
    ///
    /// Where the work runs (README, "Performance"): a SQLite read on the
    /// calling thread, since SQLite answers from its page cache in
    /// microseconds and a hop to another thread and back costs more than
    /// the read; a SQLite write on the group-commit writer, awaited; work on
    /// PostgreSQL, which waits on the network, on a blocking thread. A
    /// panic in `work` is an error here, whichever thread ran it.
    pub async fn run<T, E>(
        &self,
        access: Access,
        deadline: Instant,
        work: impl FnOnce(&mut dyn RelationStore) -> Result<T, E> + Send + 'static,
    ) -> Result<Result<T, E>, InternalError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        match (&self.pools, &self.writer, access) {
            (_, Some(writer), Access::Write) => writer.run(deadline, work).await,
            (Pools::Sqlite(_), _, Access::Read) => {
                std::panic::catch_unwind(AssertUnwindSafe(|| self.session()?.run(access, work)))
                    .unwrap_or_else(|panic| Err(panicked(&*panic)))
            }
            _ => {
                let turn = self.turn().await?;
                let database = self.clone();
                tokio::task::spawn_blocking(move || {
                    let _turn = turn;
                    database.session()?.run(access, work)
                })
                .await
                .unwrap_or_else(|error| match error.try_into_panic() {
                    Ok(panic) => Err(panicked(&*panic)),
                    Err(error) => Err(InternalError::new(error)),
                })
            }
        }
    }

    /// A request was refused as busy before it came to the database (too
    /// many requests at it): requests joining the queue for turns then wait
    /// the behind wait and the newest go first, as after one gave up
    /// waiting (see `turns`). Without it, a count bound that refuses the excess at once
    /// keeps the queue just short enough for its requests to be served
    /// within the whole wait, every one of them late.
    pub fn refused_as_busy(&self) {
        self.turns.refused();
    }

    /// A turn at the database for work on a blocking thread, awaited: a
    /// request waiting for one costs a task, not a thread. Busy if it does
    /// not come within the wait `turns` allows. (The request's deadline
    /// bounds the wait too: the operation stops awaiting at it.)
    async fn turn(&self) -> Result<turns::Turn, InternalError> {
        self.turns.take().await.map_err(InternalError::busy)
    }

    fn connection(&self) -> Result<DbConnection, diesel::r2d2::PoolError> {
        // While the database refuses connections, do not wait for one.
        let timeout = |configured: Duration| match self.reachable.is_failing() {
            true => FAIL_FAST.min(configured),
            false => configured,
        };
        let pooled = match &self.pools {
            Pools::Sqlite(pool) => {
                Pooled::Sqlite(pool.get_timeout(timeout(pool.connection_timeout()))?)
            }
            Pools::Postgres(pool) => {
                Pooled::Postgres(pool.get_timeout(timeout(pool.connection_timeout()))?)
            }
        };
        // A connection checked on checkout (on PostgreSQL asked, or its
        // socket found open while it was in use a moment ago): the database
        // answers.
        self.reachable.connected();
        Ok(DbConnection {
            pooled,
            max_relations_per_customer: self.max_relations_per_customer,
        })
    }

    /// The request pool's connections now.
    pub fn pool_state(&self) -> PoolState {
        let (max, state) = match &self.pools {
            Pools::Sqlite(pool) => (pool.max_size(), pool.state()),
            Pools::Postgres(pool) => (pool.max_size(), pool.state()),
        };
        PoolState {
            max,
            open: state.connections,
            idle: state.idle_connections,
        }
    }

    /// Why the last attempt to open a connection failed, while it is the
    /// latest news of the database.
    pub fn unreachable(&self) -> Option<String> {
        self.reachable.last_failure()
    }

    /// Runs every pending migration. Safe when several instances start at
    /// once (see `migrations`).
    pub fn migrate(&self) -> Result<(), StoreError> {
        migrations::run_pending(self.connection()?.conn())
    }

    /// Reverts every migration (for the migration round-trip test).
    pub fn revert_all_migrations(&self) -> Result<(), StoreError> {
        migrations::revert_all(self.connection()?.conn())
    }

    /// A connection for one unit of work. Blocking: call it off the async
    /// workers.
    fn session(&self) -> Result<Session, InternalError> {
        self.connection()
            .map(Session::new)
            .map_err(InternalError::new)
    }

    /// Whether the database is ready to serve this binary: it answers a
    /// query on the service's tables and has run every migration the
    /// binary knows.
    pub fn readiness(&self) -> Result<(), Unready> {
        let failing =
            |e: &dyn std::fmt::Display| Unready::Failing(InternalError::new(e.to_string()));
        let mut conn = self.connection().map_err(|e| failing(&e))?;
        answers(&mut conn).map_err(|e| failing(&e))?;
        match migrations::pending(conn.conn()).map_err(|e| failing(&e))? {
            0 => Ok(()),
            n => Err(Unready::MigrationsPending(n)),
        }
    }

    /// Whether the database answers a query on the service's own tables
    /// (`SELECT 1` would also pass on an empty or broken schema).
    pub fn ping(&self) -> Result<(), InternalError> {
        let mut conn = self.connection().map_err(InternalError::new)?;
        answers(&mut conn).map_err(InternalError::new)
    }

    /// Erases the customer's relations, live and deleted, and every change
    /// of them, in one transaction (README, "History and the change feed").
    pub fn purge_customer(&self, customer_number: i32) -> Result<Purged, StoreError> {
        use schema::{customer_relation_changes as changes, customer_relations};
        let mut pooled = self.connection()?;
        macro_rules! erase {
            ($c:ident) => {{
                let changes = diesel::delete(
                    changes::table.filter(changes::customer_number.eq(customer_number)),
                )
                .execute($c)?;
                let relations = diesel::delete(
                    customer_relations::table
                        .filter(customer_relations::customer_number.eq(customer_number)),
                )
                .execute($c)?;
                Ok::<_, diesel::result::Error>(Purged { relations, changes })
            }};
        }
        let purged = match pooled.conn() {
            Conn::Sqlite(c) => c.immediate_transaction(|c| erase!(c)),
            Conn::Postgres(c) => c.transaction(|c| erase!(c)),
        };
        Ok(purged?)
    }

    /// Whether the register and the relations are all empty.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        use schema::*;
        let mut conn = self.connection()?;
        let rows: i64 = db_run!(conn.conn(), |c| {
            titles::table.count().get_result::<i64>(c)?
                + customers::table.count().get_result::<i64>(c)?
                + users::table.count().get_result::<i64>(c)?
                + relation_types::table.count().get_result::<i64>(c)?
                + customer_relations::table.count().get_result::<i64>(c)?
        });
        Ok(rows == 0)
    }

    /// Runs `load` in one transaction: everything it wrote stays when it
    /// returns `Ok`, nothing when it returns `Err` or the database fails.
    /// SQLite takes its write lock up front, so that a concurrent writer
    /// cannot make the transaction fail half-way; PostgreSQL locks row by
    /// row.
    pub fn bulk_load<T, E: From<InternalError>>(
        &self,
        load: impl FnOnce(&mut dyn RegisterLoader) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut pooled = self.connection().map_err(InternalError::new)?;
        let outcome = match pooled.conn() {
            Conn::Sqlite(c) => c.immediate_transaction(|c| {
                load(&mut bulk_load::Loader::new(Conn::Sqlite(c))).map_err(Rollback::Refused)
            }),
            Conn::Postgres(c) => c.transaction(|c| {
                load(&mut bulk_load::Loader::new(Conn::Postgres(c))).map_err(Rollback::Refused)
            }),
        };
        outcome.map_err(|rollback| match rollback {
            Rollback::Refused(e) => e,
            Rollback::Database(e) => internal(e).into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::Integer;

    use super::*;

    #[derive(QueryableByName)]
    struct Synchronous {
        #[diesel(sql_type = Integer)]
        synchronous: i32,
    }

    #[derive(QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = Integer)]
        wal_autocheckpoint: i32,
    }

    /// A pooled SQLite connection's setting `name`, as the row `T`.
    fn pragma<T: QueryableByName<diesel::sqlite::Sqlite> + 'static>(
        options: &PoolOptions,
        name: &str,
    ) -> T {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("s.db"));
        let database = Database::open(&url, options).unwrap();
        let mut conn = database.connection().unwrap();
        let Conn::Sqlite(c) = conn.conn() else {
            unreachable!("a SQLite URL")
        };
        diesel::sql_query(format!("PRAGMA {name}"))
            .get_result::<T>(c)
            .unwrap()
    }

    fn synchronous(options: &PoolOptions) -> i32 {
        pragma::<Synchronous>(options, "synchronous").synchronous
    }

    #[derive(QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }

    /// The options the bundled SQLite was built with; never an empty list,
    /// so that an option's absence means something.
    fn compile_options() -> Vec<String> {
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<CompileOption>(&mut c)
            .unwrap()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        assert!(
            options.iter().any(|o| o.starts_with("THREADSAFE")),
            "{options:?}"
        );
        options
    }

    /// With STAT4, a statement is prepared again whenever a value bound to
    /// a sampled column changes, once ANALYZE has run: every request would
    /// parse its SQL anew (`.cargo/config.toml` builds SQLite without it).
    #[test]
    fn the_bundled_sqlite_keeps_no_samples_that_make_statements_prepare_again() {
        let options = compile_options();
        assert!(!options.iter().any(|o| o.contains("STAT4")), "{options:?}");
    }

    /// Multi-thread mode: a connection takes no mutex of its own on every
    /// call (each of a Get's 75 column reads took one), which is safe
    /// because a connection is used by one thread at a time; and no lock
    /// around the count of memory in use (`.cargo/config.toml`).
    #[test]
    fn the_bundled_sqlite_takes_no_lock_a_connection_of_one_thread_does_not_need() {
        let options = compile_options();
        for wanted in ["THREADSAFE=2", "DEFAULT_MEMSTATUS=0"] {
            assert!(options.iter().any(|o| o == wanted), "{wanted}: {options:?}");
        }
    }

    #[test]
    fn sqlite_confirms_a_write_once_the_disk_has_it_unless_told_otherwise() {
        assert_eq!(synchronous(&PoolOptions::default()), 2, "FULL");
        let normal = PoolOptions {
            sqlite_synchronous: SqliteSynchronous::Normal,
            ..PoolOptions::default()
        };
        assert_eq!(synchronous(&normal), 1, "NORMAL");
    }

    /// The log is checkpointed every 250 pages rather than SQLite's 1,000.
    #[test]
    fn sqlite_checkpoints_its_log_every_250_pages() {
        let every = pragma::<Checkpoint>(&PoolOptions::default(), "wal_autocheckpoint");
        assert_eq!(every.wal_autocheckpoint, 250);
    }
}
