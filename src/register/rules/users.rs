//! Users of the user register, keyed by their e-mail address.

use super::customers::{NAME_MAX_CHARS, get_customer};
use super::{inserted, requested_validity};
use crate::register::ports::RegisterRepository;
use crate::register::{Entity, RegisterError, User};
use crate::vocabulary::{FieldErrors, Validity};

/// A user's fields as a create or update request gives them.
#[derive(Debug, Clone, Default)]
pub struct UserDraft {
    pub email: String,
    pub name: Option<String>,
    pub customer_number: Option<i32>,
    pub validity: Option<String>,
}

/// The customer a user is linked to must exist, and be valid to be newly
/// linked.
fn check_user_customer<S: RegisterRepository + ?Sized>(
    store: &mut S,
    customer_number: i32,
) -> Result<(), RegisterError> {
    let customer = get_customer(store, customer_number)?;
    if customer.validity != Validity::Valid {
        return Err(RegisterError::invalid(
            "CustomerNumber",
            format!(
                "Customer {customer_number} is {}; users can only be linked to valid customers.",
                customer.validity
            ),
        ));
    }
    Ok(())
}

/// The fields create and update share: (email, name), checked into `errors`.
fn user_fields(draft: &UserDraft, errors: &mut FieldErrors) -> (Option<String>, Option<String>) {
    let email = errors.email("Email", &draft.email);
    let name = errors.optional("Name", draft.name.as_deref(), NAME_MAX_CHARS);
    if let Some(number) = draft.customer_number {
        errors.positive("CustomerNumber", number);
    }
    (email, name)
}

pub fn create_user<S: RegisterRepository + ?Sized>(
    store: &mut S,
    draft: UserDraft,
) -> Result<User, RegisterError> {
    let mut errors = FieldErrors::default();
    let (email, name) = user_fields(&draft, &mut errors);
    let validity = errors.validity_or_valid(draft.validity.as_deref());
    let user = errors.finish(|| User {
        email: email.expect("checked"),
        name,
        customer_number: draft.customer_number,
        validity: validity.expect("checked"),
    })?;
    if let Some(number) = user.customer_number {
        check_user_customer(store, number)?;
    }
    inserted(store.insert_user(&user)?, Entity::User)
}

pub fn update_user<S: RegisterRepository + ?Sized>(
    store: &mut S,
    draft: UserDraft,
) -> Result<User, RegisterError> {
    let mut errors = FieldErrors::default();
    let (email, name) = user_fields(&draft, &mut errors);
    let email = errors.finish(|| email.expect("checked"))?;
    let current = get_user(store, &email)?;
    if let Some(number) = draft
        .customer_number
        .filter(|n| current.customer_number != Some(*n))
    {
        check_user_customer(store, number)?;
    }
    store
        .update_user(&email, name.as_deref(), draft.customer_number)?
        .ok_or_else(|| RegisterError::not_found(Entity::User, &email))
}

/// By e-mail address, ignoring case.
pub fn get_user<S: RegisterRepository + ?Sized>(
    store: &mut S,
    email: &str,
) -> Result<User, RegisterError> {
    let key = email.trim().to_lowercase();
    store
        .user(&key)?
        .ok_or_else(|| RegisterError::not_found(Entity::User, key))
}

pub fn set_user_validity<S: RegisterRepository + ?Sized>(
    store: &mut S,
    email: &str,
    validity: &str,
) -> Result<User, RegisterError> {
    let validity = requested_validity(validity)?;
    let key = email.trim().to_lowercase();
    store
        .set_user_validity(&key, validity)?
        .ok_or_else(|| RegisterError::not_found(Entity::User, key))
}
