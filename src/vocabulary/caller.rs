//! Who is calling: an authenticated API client, its role and its scope
//! (README, "Security").

use std::sync::Arc;

/// What a client may do. Each role may do everything the one before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The Get, List and Search operations of both services.
    Reader,
    /// A reader that may also create and delete relations.
    Integration,
    /// Everything, the register service's writes included.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Reader, Role::Integration, Role::Admin];

    /// As stored, and as the command line takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Integration => "integration",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| {
                format!("'{s}' is not a role; expected one of reader, integration, admin")
            })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    name: Arc<str>,
    role: Role,
    /// The relation type codes it may see and touch; `None` is all of them.
    scope: Option<Arc<[String]>>,
}

impl Caller {
    pub fn new(name: impl Into<Arc<str>>, role: Role, scope: Option<Arc<[String]>>) -> Self {
        Self {
            name: name.into(),
            role,
            scope,
        }
    }

    /// The client's name, as relations record it in `Audit.CreatedBy`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn scope(&self) -> Option<&[String]> {
        self.scope.as_deref()
    }

    /// Whether relations of this type are within its scope.
    pub fn may_use(&self, relation_type_code: &str) -> bool {
        self.scope
            .as_deref()
            .is_none_or(|codes| codes.iter().any(|code| code == relation_type_code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grow_and_read_as_stored() {
        assert!(Role::Reader < Role::Integration && Role::Integration < Role::Admin);
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!(
            "Admin"
                .parse::<Role>()
                .unwrap_err()
                .contains("reader, integration, admin")
        );
    }

    #[test]
    fn a_scope_limits_the_relation_types() {
        let all = Caller::new("bus", Role::Integration, None);
        assert!(all.may_use("SSO"));
        let sso = Caller::new(
            "sso",
            Role::Integration,
            Some(vec!["SSO".to_owned()].into()),
        );
        assert!(sso.may_use("SSO"));
        assert!(!sso.may_use("SHARE"));
    }
}
