//! PostgreSQL's connection manager for the r2d2 pool: when a connection is
//! checked before it is handed out.
//!
//! Asking the database (`SELECT 1`) on every checkout costs a round trip per
//! request: on a Get of 5 relations that was one of two, about 15 % of its
//! throughput (README, "Performance"). So a connection that was in use less
//! than [`TRUSTED_FOR`] ago is checked without a round trip: its socket is
//! read without waiting ([`PgConnection::notifications_iter`], libpq's
//! `PQconsumeInput`), which finds a connection the server or the network
//! closed (a restart, a terminated backend, a cut proxy) at once. A
//! connection idle for longer is asked, as before. What neither check can
//! see, a peer that went silent without closing, ends in the statement
//! timeout and libpq's TCP timeouts (README, "Operations"), as it would
//! after a check that passed a moment before.

use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, ManageConnection, R2D2Connection};

/// How long after its last use a connection is trusted without a round
/// trip (as HikariCP's "alive bypass window" does, for the same reason).
const TRUSTED_FOR: Duration = Duration::from_millis(500);

/// A pooled PostgreSQL connection and when it was last known to work.
pub(super) struct PgPooled {
    pub(super) conn: PgConnection,
    /// When it was opened, last answered a check, or was last given back
    /// to the pool unbroken.
    known_good: Instant,
}

impl PgPooled {
    fn check(&mut self, now: Instant) -> diesel::QueryResult<()> {
        if now.duration_since(self.known_good) < TRUSTED_FOR {
            // An error here is the socket's: closed, reset, or unreadable.
            // Read twice: a server that ends a connection sends its reason
            // first, which one read takes without seeing the close behind
            // it. A notification (nothing here LISTENs) is left alone.
            for _ in 0..2 {
                if let Some(Err(error)) = self.conn.notifications_iter().next() {
                    return Err(error);
                }
            }
            Ok(())
        } else {
            self.conn.ping()
        }
    }
}

/// Opens PostgreSQL connections for the pool and checks them (see the
/// module's documentation).
#[derive(Debug)]
pub(super) struct PgManager {
    inner: ConnectionManager<PgConnection>,
}

impl PgManager {
    pub(super) fn new(url: String) -> Self {
        Self {
            inner: ConnectionManager::new(url),
        }
    }
}

impl ManageConnection for PgManager {
    type Connection = PgPooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgPooled, Self::Error> {
        let conn = self.inner.connect()?;
        Ok(PgPooled {
            conn,
            known_good: Instant::now(),
        })
    }

    fn is_valid(&self, pooled: &mut PgPooled) -> Result<(), Self::Error> {
        let now = Instant::now();
        pooled.check(now).map_err(diesel::r2d2::Error::QueryError)?;
        pooled.known_good = now;
        Ok(())
    }

    fn has_broken(&self, pooled: &mut PgPooled) -> bool {
        let broken = std::thread::panicking() || pooled.conn.is_broken();
        if !broken {
            pooled.known_good = Instant::now();
        }
        broken
    }
}
