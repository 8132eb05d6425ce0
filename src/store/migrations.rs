//! Migrations: SQL, one folder per backend, embedded in the binary. Each
//! pending migration runs in a transaction of its own, together with the
//! code step it may have (SQL cannot do everything the service does, such
//! as folding case in all of Unicode), so that a crash leaves a migration
//! either applied with its step or not applied at all.
//!
//! Several instances may start at once: SQLite takes its write lock for the
//! whole run, PostgreSQL an advisory lock that the others wait for.

use diesel::connection::Connection;
use diesel::migration::MigrationVersion;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::schema::customers;
use super::{Conn, StoreError, db_run};
use crate::register::search_key;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgresql");

/// The PostgreSQL advisory lock key that serialises migrations when several
/// instances start at once ("custrel" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x0063_7573_7472_656c;

/// The migration that added the customers' search keys; its code step
/// writes them with the service's own fold.
const SEARCH_KEYS_MIGRATION: &str = "20261122000003";

/// Errors inside a migration's transaction: diesel's own, or the harness's.
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

fn harness(error: impl std::fmt::Display) -> MigrationFailure {
    MigrationFailure::Harness(error.to_string())
}

impl<'a> From<&'a mut SqliteConnection> for Conn<'a> {
    fn from(c: &'a mut SqliteConnection) -> Self {
        Conn::Sqlite(c)
    }
}

impl<'a> From<&'a mut PgConnection> for Conn<'a> {
    fn from(c: &'a mut PgConnection) -> Self {
        Conn::Postgres(c)
    }
}

pub(super) fn run_pending(conn: Conn<'_>) -> Result<(), StoreError> {
    match conn {
        Conn::Sqlite(c) => c.immediate_transaction(|c| run_each(c, SQLITE_MIGRATIONS))?,
        Conn::Postgres(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(c)?;
            let ran = run_each(c, POSTGRES_MIGRATIONS);
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(c)?;
            ran?
        }
    }
    Ok(())
}

/// How many of the binary's migrations the database has not run.
pub(super) fn pending(conn: Conn<'_>) -> Result<usize, StoreError> {
    let count = match conn {
        Conn::Sqlite(c) => c.pending_migrations(SQLITE_MIGRATIONS).map(|m| m.len()),
        Conn::Postgres(c) => c.pending_migrations(POSTGRES_MIGRATIONS).map(|m| m.len()),
    };
    count.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Each pending migration with its code step, in a transaction of their own
/// (a savepoint inside SQLite's run-wide transaction).
fn run_each<C>(conn: &mut C, source: EmbeddedMigrations) -> Result<(), MigrationFailure>
where
    C: Connection + MigrationHarness<C::Backend> + 'static,
    for<'a> Conn<'a>: From<&'a mut C>,
{
    for migration in conn.pending_migrations(source).map_err(harness)? {
        conn.transaction(|c| {
            let version = c.run_migration(&*migration).map_err(harness)?;
            code_step(Conn::from(c), &version)
        })?;
    }
    Ok(())
}

fn code_step(conn: Conn<'_>, version: &MigrationVersion<'_>) -> Result<(), MigrationFailure> {
    if version.to_string().replace('-', "") == SEARCH_KEYS_MIGRATION {
        let changed = refold_customers(conn)?;
        if changed > 0 {
            log::info!("search keys written for {changed} customers");
        }
    }
    Ok(())
}

/// Rewrites every customer's search keys that differ from the service's own
/// fold. Returns how many changed.
fn refold_customers(conn: Conn<'_>) -> QueryResult<usize> {
    db_run!(conn, |c| {
        let rows = customers::table
            .select((
                customers::customer_number,
                customers::name,
                customers::zip,
                customers::city,
                customers::name_key,
                customers::zip_key,
                customers::city_key,
            ))
            .load::<(
                i32,
                String,
                Option<String>,
                Option<String>,
                String,
                Option<String>,
                Option<String>,
            )>(c)?;
        let mut changed = 0;
        for (number, name, zip, city, name_key, zip_key, city_key) in rows {
            let keys = (
                search_key(&name),
                zip.as_deref().map(search_key),
                city.as_deref().map(search_key),
            );
            if keys != (name_key, zip_key, city_key) {
                diesel::update(customers::table.find(number))
                    .set((
                        customers::name_key.eq(keys.0),
                        customers::zip_key.eq(keys.1),
                        customers::city_key.eq(keys.2),
                    ))
                    .execute(c)?;
                changed += 1;
            }
        }
        Ok(changed)
    })
}

pub(super) fn revert_all(conn: Conn<'_>) -> Result<(), StoreError> {
    let reverted = match conn {
        Conn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(drop),
        Conn::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(drop),
    };
    reverted.map_err(|e| StoreError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;

    /// A register written before the search keys existed gets them, folded
    /// in all of Unicode, by the migration that adds them.
    #[test]
    fn the_search_keys_migration_folds_existing_customers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
        for _ in 0..2 {
            conn.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        }
        conn.batch_execute(
            "INSERT INTO customers (customer_number, name, validity) VALUES (7, 'ÅSE ØDEGÅRD', 'Valid')",
        )
        .unwrap();

        run_pending(Conn::Sqlite(&mut conn)).unwrap();

        let key: String = customers::table
            .find(7)
            .select(customers::name_key)
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(
            key, "åse ødegård",
            "SQLite's own lower() would give 'Åse ØdegÅrd'"
        );
        assert!(
            conn.pending_migrations(SQLITE_MIGRATIONS)
                .unwrap()
                .is_empty()
        );
    }
}
