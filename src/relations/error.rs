use crate::vocabulary::{FieldError, InternalError, Invalid, ReferenceType};

/// Every way an operation of the relation API can fail; one variant for each
/// typed fault of the relation service (README, "Faults"), plus the server's own failures.
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

    #[error(
        "Customer relation {id} has changed since it was read: it is at version {current_version}. Read it again, then update."
    )]
    Concurrency { id: i64, current_version: i32 },

    #[error(
        "Client '{client}' may not use relations of type '{relation_type_code}': the type is outside its scope."
    )]
    OutOfScope {
        client: String,
        operation: &'static str,
        relation_type_code: String,
    },

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

impl From<Invalid> for RelationError {
    fn from(Invalid(errors): Invalid) -> Self {
        Self::EntityValidation(errors)
    }
}
