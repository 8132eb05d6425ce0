//! Persistence with diesel over r2d2 pools. Knows the database and nothing of
//! XML. SQLite is the embedded default; PostgreSQL is the backend several
//! instances share.
//!
//! One code base serves both: the queries are written once and compiled for
//! each backend's connection type (see [`db_run!`] and the `*_for!` macros);
//! where the dialects differ, a `match` has one arm per backend.

mod database_url;
mod fixtures;
mod register_store;
mod relation_store;
mod schema;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use database_url::{DatabaseUrl, DatabaseUrlError};
pub use fixtures::{
    FixtureFile, ImportError, ImportSummary, PROGRESS_EVERY, Progress, demo_fixtures,
    read_fixture_dir,
};
use register_store::RegisterMaintenance;
pub use relation_store::{RelationStore, Session};

use crate::relations::InternalError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgresql");

/// How long a SQLite writer waits for another one before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// The PostgreSQL advisory lock key that serialises migrations when several
/// instances start at once ("custrel" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x0063_7573_7472_656c;

#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: u32,
    pub connection_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            connection_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot prepare the database location: {0}")]
    Location(#[from] std::io::Error),
    #[error("cannot open the database: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("cannot open the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("cannot run the migrations: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error(transparent)]
    Import(#[from] ImportError),
}

/// A pooled connection of either backend.
pub enum DbConnection {
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    Postgres(PooledConnection<ConnectionManager<PgConnection>>),
}

fn internal(error: diesel::result::Error) -> InternalError {
    InternalError::new(error)
}

/// A value the database's CHECK constraints should have made impossible.
fn corrupt(what: String) -> InternalError {
    InternalError::new(format!("unexpected value in the database: {what}"))
}

/// Runs the same diesel code on whichever backend `$conn` is: the body is
/// compiled once per backend, with `$c` the concrete connection.
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::DbConnection::Sqlite(pooled) => {
                let $c: &mut ::diesel::sqlite::SqliteConnection = &mut *pooled;
                $body
            }
            $crate::store::DbConnection::Postgres(pooled) => {
                let $c: &mut ::diesel::pg::PgConnection = &mut *pooled;
                $body
            }
        }
    };
}

#[derive(Clone)]
enum Pools {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Postgres(Pool<ConnectionManager<PgConnection>>),
}

/// A handle on the database; cheap to clone, shared by all workers.
#[derive(Clone)]
pub struct Database {
    pools: Pools,
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // busy_timeout first, so that switching to WAL waits for other writers.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;"
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Errors inside a migration transaction: diesel's own, or the harness's.
#[derive(Debug)]
enum MigrationFailure {
    Query(diesel::result::Error),
    Harness(String),
}

impl From<diesel::result::Error> for MigrationFailure {
    fn from(e: diesel::result::Error) -> Self {
        Self::Query(e)
    }
}

impl From<MigrationFailure> for StoreError {
    fn from(e: MigrationFailure) -> Self {
        match e {
            MigrationFailure::Query(e) => StoreError::Migration(e.to_string()),
            MigrationFailure::Harness(e) => StoreError::Migration(e),
        }
    }
}

/// The migration that added the customers' search keys; SQL cannot fold
/// case as the service does, so the keys are rewritten once it has run.
const SEARCH_KEYS_MIGRATION: &str = "20261122000003";

fn after_migrations<C: RegisterMaintenance>(
    conn: &mut C,
    applied: &[String],
) -> Result<(), MigrationFailure> {
    if applied
        .iter()
        .any(|v| v.to_string().replace('-', "") == SEARCH_KEYS_MIGRATION)
    {
        let changed = conn.refold_customers()?;
        log::info!("search keys rewritten for {changed} customers");
    }
    Ok(())
}

impl Database {
    /// Opens the database the URL names (for SQLite creating the file and
    /// its folder). The backend is the URL's scheme.
    pub fn open(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self, StoreError> {
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
                        .max_size(options.max_size)
                        .connection_timeout(options.connection_timeout)
                        .connection_customizer(Box::new(SqlitePragmas))
                        .build(manager)?,
                )
            }
            DatabaseUrl::Postgres(url) => {
                let manager = ConnectionManager::<PgConnection>::new(url);
                Pools::Postgres(
                    Pool::builder()
                        .max_size(options.max_size)
                        .connection_timeout(options.connection_timeout)
                        .build(manager)?,
                )
            }
        };
        Ok(Self { pools })
    }

    fn connection(&self) -> Result<DbConnection, diesel::r2d2::PoolError> {
        Ok(match &self.pools {
            Pools::Sqlite(pool) => DbConnection::Sqlite(pool.get()?),
            Pools::Postgres(pool) => DbConnection::Postgres(pool.get()?),
        })
    }

    /// Runs every pending migration. Safe when several instances start at
    /// once: SQLite takes its write lock for the whole run, PostgreSQL an
    /// advisory lock.
    pub fn migrate(&self) -> Result<(), StoreError> {
        match self.connection()? {
            DbConnection::Sqlite(mut conn) => {
                conn.immediate_transaction(|c| {
                    let applied = c
                        .run_pending_migrations(SQLITE_MIGRATIONS)
                        .map(|versions| {
                            versions
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<String>>()
                        })
                        .map_err(|e| MigrationFailure::Harness(e.to_string()))?;
                    after_migrations(c, &applied)
                })?;
            }
            DbConnection::Postgres(mut conn) => {
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                    .execute(&mut *conn)?;
                let migrated = conn
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .map_err(|e| MigrationFailure::Harness(e.to_string()))
                    .and_then(|applied| {
                        (*conn).transaction(|c: &mut PgConnection| after_migrations(c, &applied))
                    });
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                    .execute(&mut *conn)?;
                migrated?;
            }
        }
        Ok(())
    }

    /// Reverts every migration (for the migration round-trip test).
    pub fn revert_all_migrations(&self) -> Result<(), StoreError> {
        let reverted = match self.connection()? {
            DbConnection::Sqlite(mut conn) => {
                conn.revert_all_migrations(SQLITE_MIGRATIONS).map(drop)
            }
            DbConnection::Postgres(mut conn) => {
                conn.revert_all_migrations(POSTGRES_MIGRATIONS).map(drop)
            }
        };
        reverted.map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// A connection for one unit of work. Blocking: call it off the async
    /// workers.
    pub fn session(&self) -> Result<Session, InternalError> {
        self.connection()
            .map(Session::new)
            .map_err(InternalError::new)
    }

    /// Whether the database answers a query on the service's own tables
    /// (`SELECT 1` would also pass on an empty or broken schema).
    pub fn ping(&self) -> Result<(), InternalError> {
        use schema::relation_types;
        let mut conn = self.connection().map_err(InternalError::new)?;
        db_run!(&mut conn, |c| relation_types::table
            .select(relation_types::code)
            .first::<String>(c)
            .optional()
            .map(drop))
        .map_err(InternalError::new)
    }

    /// Whether the register and the relations are all empty.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        use schema::*;
        let mut conn = self.connection()?;
        let rows: i64 = db_run!(&mut conn, |c| {
            titles::table.count().get_result::<i64>(c)?
                + customers::table.count().get_result::<i64>(c)?
                + users::table.count().get_result::<i64>(c)?
                + relation_types::table.count().get_result::<i64>(c)?
                + customer_relations::table.count().get_result::<i64>(c)?
        });
        Ok(rows == 0)
    }

    /// Loads fixture files in one transaction: all of them or nothing.
    pub fn import(&self, files: &[FixtureFile]) -> Result<ImportSummary, StoreError> {
        self.import_with_progress(files, &mut |_, _| {})
    }

    /// As [`Database::import`], calling `progress` with a file's name and
    /// its rows so far every [`PROGRESS_EVERY`] rows.
    pub fn import_with_progress(
        &self,
        files: &[FixtureFile],
        progress: Progress<'_>,
    ) -> Result<ImportSummary, StoreError> {
        let mut conn = self.connection()?;
        Ok(fixtures::import(&mut conn, files, progress)?)
    }
}
