//! Titles: what subscriptions subscribe to.

use super::customers::NAME_MAX_CHARS;
use super::{inserted, requested_validity};
use crate::register::ports::RegisterRepository;
use crate::register::{Entity, RegisterError, Title};
use crate::vocabulary::FieldErrors;

pub fn create_title<S: RegisterRepository + ?Sized>(
    store: &mut S,
    code: &str,
    name: &str,
    validity: Option<&str>,
) -> Result<Title, RegisterError> {
    let mut errors = FieldErrors::default();
    let code = errors.code("Code", code);
    let name = errors.required("Name", name, NAME_MAX_CHARS);
    let validity = errors.validity_or_valid(validity);
    let title = errors.finish(|| Title {
        code: code.expect("checked"),
        name: name.expect("checked"),
        validity: validity.expect("checked"),
    })?;
    inserted(store.insert_title(&title)?, Entity::Title)
}

pub fn update_title<S: RegisterRepository + ?Sized>(
    store: &mut S,
    code: &str,
    name: &str,
) -> Result<Title, RegisterError> {
    let mut errors = FieldErrors::default();
    let name = errors.required("Name", name, NAME_MAX_CHARS);
    let name = errors.finish(|| name.expect("checked"))?;
    store
        .update_title(code.trim(), &name)?
        .ok_or_else(|| RegisterError::not_found(Entity::Title, code.trim()))
}

pub fn set_title_validity<S: RegisterRepository + ?Sized>(
    store: &mut S,
    code: &str,
    validity: &str,
) -> Result<Title, RegisterError> {
    let validity = requested_validity(validity)?;
    store
        .set_title_validity(code.trim(), validity)?
        .ok_or_else(|| RegisterError::not_found(Entity::Title, code.trim()))
}

/// Titles ordered by code (bytes, as relation types).
pub fn list_titles<S: RegisterRepository + ?Sized>(
    store: &mut S,
    validity: Option<&str>,
) -> Result<Vec<Title>, RegisterError> {
    let mut errors = FieldErrors::default();
    let validity = validity.and_then(|raw| errors.validity(raw));
    errors.finish(|| ())?;
    let mut titles = store.titles(validity)?;
    titles.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(titles)
}
