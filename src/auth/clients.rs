//! API clients: a name, a role, an optional scope of relation types, a
//! validity, and the digest of a secret. Managed from the command line
//! (README, "Security"); read by every instance through [`ClientStore`].

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::secret::{SecretDigest, new_secret};
use crate::vocabulary::{Caller, InternalError, Role, Validity};

/// Most characters in a client name.
const NAME_MAX_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    pub name: String,
    pub role: Role,
    /// The relation type codes it may use; `None` is all of them.
    pub scope: Option<Vec<String>>,
    pub validity: Validity,
    pub secret_digest: SecretDigest,
    pub created_at: DateTime<Utc>,
}

impl ApiClient {
    /// The caller it authenticates as.
    pub fn caller(&self) -> Caller {
        let scope: Option<Arc<[String]>> = self.scope.clone().map(Into::into);
        Caller::new(self.name.as_str(), self.role, scope)
    }
}

/// Where clients are kept.
pub trait ClientStore {
    /// Every client, valid or not.
    fn api_clients(&self) -> Result<Vec<ApiClient>, InternalError>;
    /// Adds a client; `false` when the name is taken.
    fn insert_api_client(&self, client: &ApiClient) -> Result<bool, InternalError>;
    /// Replaces a client's secret (and, when given, its validity); `false`
    /// when there is no client of that name.
    fn update_api_client(
        &self,
        name: &str,
        secret_digest: &SecretDigest,
        validity: Option<Validity>,
    ) -> Result<bool, InternalError>;
    /// Whether a relation type has this code.
    fn relation_type_exists(&self, code: &str) -> Result<bool, InternalError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Invalid(String),
    #[error("there is already a client named '{0}'")]
    AlreadyExists(String),
    #[error("there is no client named '{0}'")]
    NotFound(String),
    #[error("{0}")]
    Internal(InternalError),
}

impl From<InternalError> for ClientError {
    fn from(error: InternalError) -> Self {
        Self::Internal(error)
    }
}

/// A client name: what HTTP Basic and a certificate's CN can carry.
fn check_name(name: &str) -> Result<(), ClientError> {
    let ok = !name.is_empty()
        && name.chars().count() <= NAME_MAX_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ClientError::Invalid(format!(
            "'{name}' is not a client name: use 1 to {NAME_MAX_CHARS} of A-Z, a-z, 0-9, '-', '_', '.' and '@'"
        )))
    }
}

/// Adds a client and returns its secret, the only time it is shown.
pub fn add_client(
    store: &dyn ClientStore,
    name: &str,
    role: Role,
    scope: Option<Vec<String>>,
) -> Result<String, ClientError> {
    let secret = new_secret()?;
    insert(store, name, role, scope, &secret)?;
    Ok(secret)
}

fn insert(
    store: &dyn ClientStore,
    name: &str,
    role: Role,
    scope: Option<Vec<String>>,
    secret: &str,
) -> Result<(), ClientError> {
    check_name(name)?;
    let scope = match scope {
        None => None,
        Some(_) if role == Role::Admin => {
            return Err(ClientError::Invalid(
                "an admin client may do everything, so it takes no scope".into(),
            ));
        }
        Some(codes) if codes.is_empty() => {
            return Err(ClientError::Invalid(
                "a scope names at least one relation type".into(),
            ));
        }
        Some(mut codes) => {
            for code in &codes {
                if !store.relation_type_exists(code)? {
                    return Err(ClientError::Invalid(format!(
                        "the scope names '{code}', which is not a relation type"
                    )));
                }
            }
            codes.sort();
            codes.dedup();
            Some(codes)
        }
    };
    let client = ApiClient {
        name: name.to_owned(),
        role,
        scope,
        validity: Validity::Valid,
        secret_digest: SecretDigest::of(secret),
        created_at: Utc::now(),
    };
    if store.insert_api_client(&client)? {
        Ok(())
    } else {
        Err(ClientError::AlreadyExists(name.to_owned()))
    }
}

/// Gives a client a new secret and returns it; the old one stops working.
pub fn rotate_client(store: &dyn ClientStore, name: &str) -> Result<String, ClientError> {
    let secret = new_secret()?;
    if store.update_api_client(name, &SecretDigest::of(&secret), None)? {
        Ok(secret)
    } else {
        Err(ClientError::NotFound(name.to_owned()))
    }
}

/// Makes a client invalid for good: its secret is replaced by one nobody
/// knows. The name stays taken, so that the relations it created keep
/// naming it alone.
pub fn revoke_client(store: &dyn ClientStore, name: &str) -> Result<(), ClientError> {
    let unknown = SecretDigest::of(&new_secret()?);
    if store.update_api_client(name, &unknown, Some(Validity::Invalid))? {
        Ok(())
    } else {
        Err(ClientError::NotFound(name.to_owned()))
    }
}

/// A client of the demo data set (README, "Security"): demo only.
#[derive(Debug, Clone, Copy)]
pub struct DemoClient {
    pub name: &'static str,
    pub role: Role,
    pub scope: Option<&'static [&'static str]>,
    pub secret: &'static str,
}

pub const DEMO_CLIENTS: [DemoClient; 4] = [
    DemoClient {
        name: "demo-admin",
        role: Role::Admin,
        scope: None,
        secret: "demo-admin-secret",
    },
    DemoClient {
        name: "demo-bus",
        role: Role::Integration,
        scope: None,
        secret: "demo-bus-secret",
    },
    DemoClient {
        name: "demo-sso",
        role: Role::Integration,
        scope: Some(&["SSO", "FACEBOOK"]),
        secret: "demo-sso-secret",
    },
    DemoClient {
        name: "demo-reader",
        role: Role::Reader,
        scope: None,
        secret: "demo-reader-secret",
    },
];

/// Adds the demo clients that are missing; returns how many were added.
/// One whose scope names a relation type the database does not have (it
/// does not hold the demo data) is left out, with a warning.
pub fn ensure_demo_clients(store: &dyn ClientStore) -> Result<usize, ClientError> {
    let mut added = 0;
    for demo in DEMO_CLIENTS {
        let scope = demo
            .scope
            .map(|codes| codes.iter().map(|c| c.to_string()).collect());
        match insert(store, demo.name, demo.role, scope, demo.secret) {
            Ok(()) => added += 1,
            Err(ClientError::AlreadyExists(_)) => {}
            Err(ClientError::Invalid(why)) => {
                log::warn!("the demo client {} is left out: {why}", demo.name)
            }
            Err(error) => return Err(error),
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_fit_basic_and_certificates() {
        for ok in ["demo-admin", "bus.prod@example", "A_1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a:b", "a b", "ä", &"x".repeat(101)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
