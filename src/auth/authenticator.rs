//! Authenticating a request's credentials against the API clients. Every
//! instance keeps a copy of the clients, read again every quarter second,
//! so that checking a secret costs a digest and a lookup (microseconds)
//! while a new, rotated or revoked client takes effect within a second on
//! every instance. A secret that matched its digest is remembered in that
//! copy, so that the client's next requests compare it in constant time
//! without a digest (a digest was a third of authentication's cost;
//! README, "Performance"); the copy, and what it remembers, lives a
//! quarter second. A copy older than a second is not trusted: requests are
//! then refused with a Server fault until the clients can be read again.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

use super::clients::{ApiClient, ClientStore, DEMO_CLIENTS};
use super::secret::SecretDigest;
use super::throttle::{Throttle, ThrottleSettings};
use crate::vocabulary::{Caller, InternalError, Validity};

/// How often the clients are read again.
const REFRESH_EVERY: Duration = Duration::from_millis(250);
/// How old the copy may be before it is no longer trusted.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// What a request authenticates with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A client name and its secret (HTTP Basic or a UsernameToken).
    Password { name: String, secret: String },
    /// A client certificate, verified by the TLS layer, whose subject CN
    /// names the client.
    Certificate { name: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        match self {
            Self::Password { name, .. } => write!(f, "Password {{ name: {name:?} }}"),
            Self::Certificate { name } => write!(f, "Certificate {{ name: {name:?} }}"),
        }
    }
}

impl Credentials {
    pub fn name(&self) -> &str {
        match self {
            Self::Password { name, .. } | Self::Certificate { name } => name,
        }
    }
}

/// Why credentials were refused: for the log only; the client is told the
/// same whatever it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The name or the address is cooling down after failures.
    Throttled,
    UnknownClient,
    WrongSecret,
    InvalidClient,
    /// The clients could not be read lately: a Server fault.
    Unavailable(String),
}

impl Refused {
    pub fn reason(&self) -> &str {
        match self {
            Self::Throttled => "throttled after repeated failures",
            Self::UnknownClient => "unknown client",
            Self::WrongSecret => "wrong secret",
            Self::InvalidClient => "client is invalid",
            Self::Unavailable(why) => why,
        }
    }
}

struct Entry {
    caller: Caller,
    digest: SecretDigest,
    valid: bool,
    /// The secret that last matched `digest`, once one has.
    matched: OnceLock<Box<[u8]>>,
}

impl Entry {
    /// Whether `secret` is the client's: the remembered secret compared in
    /// constant time, else the digest (which a wrong secret always costs).
    fn accepts(&self, secret: &str) -> bool {
        if let Some(matched) = self.matched.get()
            && bool::from(matched.as_ref().ct_eq(secret.as_bytes()))
        {
            return true;
        }
        let accepted = self.digest.matches(secret);
        if accepted {
            let _ = self.matched.set(secret.as_bytes().into());
        }
        accepted
    }
}

struct Snapshot {
    clients: Arc<HashMap<String, Entry>>,
    loaded_at: Instant,
    /// Why the last reading failed, while it is the latest news.
    failing: Option<String>,
}

pub struct Authenticator {
    snapshot: RwLock<Snapshot>,
    throttle: Throttle,
    store: Box<dyn ClientStore + Send + Sync>,
}

fn index(clients: Vec<ApiClient>) -> HashMap<String, Entry> {
    clients
        .into_iter()
        .map(|client| {
            let entry = Entry {
                caller: client.caller(),
                digest: client.secret_digest.clone(),
                valid: client.validity == Validity::Valid,
                matched: OnceLock::new(),
            };
            (client.name, entry)
        })
        .collect()
}

impl Authenticator {
    /// Reads the clients and keeps reading them every quarter second, on a
    /// thread of its own, while the authenticator lives. `store` should
    /// have a connection of its own, so that a busy pool cannot hold the
    /// reading up.
    pub fn start(
        store: Box<dyn ClientStore + Send + Sync>,
        throttle: ThrottleSettings,
    ) -> Result<Arc<Self>, InternalError> {
        let clients = index(store.api_clients()?);
        let authenticator = Arc::new(Self {
            snapshot: RwLock::new(Snapshot {
                clients: Arc::new(clients),
                loaded_at: Instant::now(),
                failing: None,
            }),
            throttle: Throttle::new(throttle),
            store,
        });
        let weak = Arc::downgrade(&authenticator);
        std::thread::Builder::new()
            .name("client-refresh".into())
            .spawn(move || refresh_while_alive(weak))
            .map_err(InternalError::new)?;
        Ok(authenticator)
    }

    fn refresh(&self) {
        let read = self.store.api_clients();
        let mut snapshot = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        match read {
            Ok(clients) => {
                if snapshot.failing.take().is_some() {
                    log::info!("the API clients can be read again");
                }
                snapshot.clients = Arc::new(index(clients));
                snapshot.loaded_at = Instant::now();
            }
            Err(error) => {
                if snapshot.failing.is_none() {
                    log::error!("the API clients cannot be read: {error}");
                }
                snapshot.failing = Some(error.to_string());
            }
        }
        drop(snapshot);
        self.throttle.forget_old();
    }

    fn clients(&self) -> Result<Arc<HashMap<String, Entry>>, Refused> {
        let snapshot = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        let age = snapshot.loaded_at.elapsed();
        if age > TRUSTED_FOR {
            return Err(Refused::Unavailable(format!(
                "the API clients were last read {:.1} s ago{}",
                age.as_secs_f64(),
                snapshot
                    .failing
                    .as_deref()
                    .map(|why| format!(" ({why})"))
                    .unwrap_or_default()
            )));
        }
        Ok(snapshot.clients.clone())
    }

    /// The caller these credentials are, from this address. A name or an
    /// address that failed too often is refused before its secret is
    /// checked; every failure counts towards that.
    pub fn authenticate(
        &self,
        credentials: &Credentials,
        address: Option<IpAddr>,
    ) -> Result<Caller, Refused> {
        let name = credentials.name();
        if self.throttle.is_locked(name, address) {
            return Err(Refused::Throttled);
        }
        let clients = self.clients()?;
        let entry = clients.get(name);
        let verdict = match (credentials, entry) {
            (Credentials::Password { secret, .. }, None) => {
                // As long as for a known name.
                std::hint::black_box(SecretDigest::of(secret));
                Err(Refused::UnknownClient)
            }
            (Credentials::Certificate { .. }, None) => Err(Refused::UnknownClient),
            (Credentials::Password { secret, .. }, Some(entry)) if !entry.accepts(secret) => {
                Err(Refused::WrongSecret)
            }
            (_, Some(entry)) if !entry.valid => Err(Refused::InvalidClient),
            (_, Some(entry)) => Ok(entry.caller.clone()),
        };
        if verdict.is_err() {
            self.throttle.failed(name, address);
        }
        verdict
    }

    /// Whether any demo client is there and valid (the server warns).
    pub fn has_demo_clients(&self) -> bool {
        let snapshot = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        DEMO_CLIENTS.iter().any(|demo| {
            snapshot
                .clients
                .get(demo.name)
                .is_some_and(|entry| entry.valid)
        })
    }
}

fn refresh_while_alive(authenticator: Weak<Authenticator>) {
    loop {
        std::thread::sleep(REFRESH_EVERY);
        match authenticator.upgrade() {
            Some(authenticator) => authenticator.refresh(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::Role;

    /// Once the right secret is remembered, only it is accepted without a
    /// digest; anything else is still checked against the digest, and
    /// refused, whether it is a prefix of the secret, longer or empty.
    #[test]
    fn a_remembered_secret_admits_itself_only() {
        let entry = Entry {
            caller: Caller::new("demo-bus", Role::Integration, None),
            digest: SecretDigest::of("demo-bus-secret"),
            valid: true,
            matched: OnceLock::new(),
        };
        assert!(!entry.accepts("demo-bus-secreT"));
        assert!(entry.matched.get().is_none(), "a wrong secret is not kept");
        assert!(entry.accepts("demo-bus-secret"));
        assert_eq!(
            entry.matched.get().map(|m| &m[..]),
            Some(&b"demo-bus-secret"[..])
        );
        for wrong in ["demo-bus-secreT", "demo-bus-secre", "demo-bus-secret ", ""] {
            assert!(!entry.accepts(wrong), "{wrong:?}");
        }
        assert!(entry.accepts("demo-bus-secret"));
    }
}
