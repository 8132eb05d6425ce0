//! Persistence with diesel over an r2d2 pool. Knows the database and nothing
//! of XML. SQLite is the embedded default.

mod database_url;
mod fixtures;
mod relation_store;
mod schema;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use database_url::{DatabaseUrl, DatabaseUrlError};
pub use fixtures::{FixtureFile, ImportError, ImportSummary, demo_fixtures, read_fixture_dir};
pub use relation_store::Session;

use crate::relations::InternalError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How long a SQLite writer waits for another one before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

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
    #[error("cannot run the migrations: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error(transparent)]
    Import(#[from] ImportError),
}

type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;
pub(crate) type SqlitePooled = PooledConnection<ConnectionManager<SqliteConnection>>;

/// A handle on the database; cheap to clone, shared by all workers.
#[derive(Clone)]
pub struct Database {
    pool: SqlitePool,
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

impl Database {
    /// Opens (and for SQLite creates, with its folder) the database.
    /// Connections are picked by the URL's scheme.
    pub fn open(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self, StoreError> {
        match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                let manager = ConnectionManager::<SqliteConnection>::new(path.to_string_lossy());
                let pool = Pool::builder()
                    .max_size(options.max_size)
                    .connection_timeout(options.connection_timeout)
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(manager)?;
                Ok(Self { pool })
            }
        }
    }

    /// Runs every pending migration.
    pub fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// Reverts every migration (for the migration round-trip test).
    pub fn revert_all_migrations(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        conn.revert_all_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// A connection for one unit of work. Blocking: call it off the async
    /// workers.
    pub fn session(&self) -> Result<Session, InternalError> {
        self.pool
            .get()
            .map(Session::new)
            .map_err(InternalError::new)
    }

    /// Whether the database answers a query.
    pub fn ping(&self) -> Result<(), InternalError> {
        let mut conn = self.pool.get().map_err(InternalError::new)?;
        conn.batch_execute("SELECT 1").map_err(InternalError::new)
    }

    /// Whether the register and the relations are all empty.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        use schema::*;
        let mut conn = self.pool.get()?;
        let rows: i64 = titles::table.count().get_result::<i64>(&mut conn)?
            + customers::table.count().get_result::<i64>(&mut conn)?
            + users::table.count().get_result::<i64>(&mut conn)?
            + relation_types::table.count().get_result::<i64>(&mut conn)?
            + customer_relations::table
                .count()
                .get_result::<i64>(&mut conn)?;
        Ok(rows == 0)
    }

    /// Loads fixture files in one transaction: all of them or nothing.
    pub fn import(&self, files: &[FixtureFile]) -> Result<ImportSummary, StoreError> {
        let mut conn = self.pool.get()?;
        Ok(fixtures::import(&mut conn, files)?)
    }
}
