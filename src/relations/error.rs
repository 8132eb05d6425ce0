use std::fmt;

use super::ReferenceType;

/// One broken field rule of an `EntityValidationFault`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// A failure the store or the machine had, not the client. Its text goes to
/// the log only, never to a client.
#[derive(Debug)]
pub struct InternalError(Box<dyn std::error::Error + Send + Sync>);

impl InternalError {
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

impl fmt::Display for InternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Every way an operation of the relation API can fail; one variant for each
/// typed fault of CONTRACT §3, plus the server's own failures.
#[derive(Debug, thiserror::Error)]
pub enum RelationError {
    #[error("There is no relation type with code '{code}'.")]
    RelationTypeNotFound { code: String },

    #[error("{}", customer_not_found_message(*.customer_number, *.exists_but_invalid))]
    CustomerNotFound {
        customer_number: i32,
        exists_but_invalid: bool,
    },

    #[error("The customer relation is not valid: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    EntityValidation(Vec<FieldError>),

    #[error("{reason}")]
    InvalidReference {
        relation_type_code: String,
        reference_type: ReferenceType,
        reference: String,
        reason: String,
    },

    #[error("An identical customer relation already exists (Id {existing_id}).")]
    AlreadyExists { existing_id: i64 },

    #[error("There is no customer relation with Id {id}.")]
    RelationNotFound { id: i64 },

    #[error("internal error: {0}")]
    Internal(InternalError),
}

fn customer_not_found_message(number: i32, exists_but_invalid: bool) -> String {
    if exists_but_invalid {
        format!("Customer {number} is not valid.")
    } else {
        format!("There is no customer with number {number}.")
    }
}

impl From<InternalError> for RelationError {
    fn from(error: InternalError) -> Self {
        Self::Internal(error)
    }
}
