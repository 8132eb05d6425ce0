//! The rules of the register service. Each operation first checks the
//! request's own fields and reports every broken rule at once
//! (`EntityValidationFault`); then the records it names must exist
//! (`…NotFoundFault`) and be usable; the repository decides uniqueness and
//! whether something is still in use.
//!
//! One file per kind of record, as in `operations/register/`.

mod customers;
mod relation_types;
mod subscriptions;
mod titles;
mod users;

pub use customers::*;
pub use relation_types::*;
pub use subscriptions::*;
pub use titles::*;
pub use users::*;

use super::ports::Insert;
use super::{Entity, RegisterError};
use crate::vocabulary::{FieldErrors, InternalError, Validity};

/// The record an insert made, or the fault for the one already there.
/// `NoKeyLeft` is only possible where the store assigns the key (customer
/// numbers, which `create_customer` handles first), so here a store broke
/// its contract.
fn inserted<T>(insert: Insert<T>, entity: Entity) -> Result<T, RegisterError> {
    match insert {
        Insert::New(record) => Ok(record),
        Insert::Duplicate(key) => Err(RegisterError::already_exists(entity, key)),
        Insert::NoKeyLeft => Err(InternalError::new(format!(
            "the store reported no {} key left where it assigns none",
            entity.name()
        ))
        .into()),
    }
}

/// The Validity of a `Set…Validity` request, or its field fault.
fn requested_validity(raw: &str) -> Result<Validity, RegisterError> {
    let mut errors = FieldErrors::default();
    let validity = errors.validity(raw);
    Ok(errors.finish(|| validity.expect("checked"))?)
}
