use crate::vocabulary::{FieldError, InternalError, Invalid};

/// The kinds of record the register keeps; each has its own NotFound and
/// AlreadyExists faults (`operations::faults`), whose detail names its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    RelationType,
    Customer,
    Title,
    Subscription,
    User,
}

impl Entity {
    pub fn name(self) -> &'static str {
        match self {
            Self::RelationType => "RelationType",
            Self::Customer => "Customer",
            Self::Title => "Title",
            Self::Subscription => "Subscription",
            Self::User => "User",
        }
    }

    fn described(self, key: &str) -> String {
        match self {
            Self::RelationType => format!("relation type with code '{key}'"),
            Self::Customer => format!("customer with number {key}"),
            Self::Title => format!("title with code '{key}'"),
            Self::Subscription => format!("subscription with Id {key}"),
            Self::User => format!("user with e-mail address '{key}'"),
        }
    }
}

/// Every way an operation of the register service can fail.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("The request is not valid: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    EntityValidation(Vec<FieldError>),

    #[error("There is no {}.", .entity.described(.key))]
    NotFound { entity: Entity, key: String },

    /// `key` is the key of the record that already exists (for a
    /// subscription: its Id).
    #[error("A {} already exists.", .entity.described(.key))]
    AlreadyExists { entity: Entity, key: String },

    /// A change or removal refused because `references` records still refer
    /// to the record.
    #[error("The {} is in use by {references} {what}: {reason}", .entity.described(.key))]
    InUse {
        entity: Entity,
        key: String,
        references: i64,
        what: &'static str,
        reason: String,
    },

    #[error("internal error: {0}")]
    Internal(InternalError),
}

impl From<InternalError> for RegisterError {
    fn from(error: InternalError) -> Self {
        Self::Internal(error)
    }
}

impl From<Invalid> for RegisterError {
    fn from(Invalid(errors): Invalid) -> Self {
        Self::EntityValidation(errors)
    }
}

impl RegisterError {
    pub fn not_found(entity: Entity, key: impl ToString) -> Self {
        Self::NotFound {
            entity,
            key: key.to_string(),
        }
    }

    pub fn already_exists(entity: Entity, key: impl ToString) -> Self {
        Self::AlreadyExists {
            entity,
            key: key.to_string(),
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::EntityValidation(vec![FieldError {
            field,
            message: message.into(),
        }])
    }
}
