//! Relation types: their fields, and the guards that keep relations that
//! use a type consistent with it.

use super::customers::NAME_MAX_CHARS;
use super::inserted;
use crate::register::ports::{Guarded, RegisterRepository};
use crate::register::{Entity, RegisterError, RelationTypeDraft};
use crate::vocabulary::{FieldErrors, ReferenceType, RelationType, TitleMode, sorted_by_code};

const SUBSCRIPTION_TITLE_RULE: &str = "a relation type that refers to subscriptions must have TitleMode Required: a subscription is a customer's subscription to one title, so a relation without a title cannot name one";

fn check_relation_type(draft: &RelationTypeDraft) -> Result<RelationType, RegisterError> {
    let mut errors = FieldErrors::default();
    let code = errors.code("Code", &draft.code);
    let name = errors.required("Name", &draft.name, NAME_MAX_CHARS);
    let reference_type =
        errors.enumeration::<ReferenceType>("ReferenceType", &draft.reference_type);
    let title_mode = errors.enumeration::<TitleMode>("TitleMode", &draft.title_mode);
    if reference_type == Some(ReferenceType::Subscription)
        && title_mode.is_some_and(|m| m != TitleMode::Required)
    {
        errors.add(
            "TitleMode",
            format!(
                "TitleMode {} is not allowed: {SUBSCRIPTION_TITLE_RULE}.",
                title_mode.expect("checked")
            ),
        );
    }
    Ok(errors.finish(|| RelationType {
        code: code.expect("checked"),
        name: name.expect("checked"),
        reference_type: reference_type.expect("checked"),
        title_mode: title_mode.expect("checked"),
    })?)
}

pub fn create_relation_type<S: RegisterRepository + ?Sized>(
    store: &mut S,
    draft: RelationTypeDraft,
) -> Result<RelationType, RegisterError> {
    let relation_type = check_relation_type(&draft)?;
    inserted(
        store.insert_relation_type(&relation_type)?,
        Entity::RelationType,
    )
}

/// The outcome of a change to relation type `code` that relations using it
/// may stand in the way of; `reason` says why they do.
fn guarded<T>(
    outcome: Guarded<T>,
    code: &str,
    reason: impl FnOnce() -> String,
) -> Result<T, RegisterError> {
    match outcome {
        Guarded::Done(value) => Ok(value),
        Guarded::NotFound => Err(RegisterError::not_found(Entity::RelationType, code)),
        Guarded::InUse(references) => Err(RegisterError::InUse {
            entity: Entity::RelationType,
            key: code.to_owned(),
            references,
            what: "customer relations",
            reason: reason(),
        }),
    }
}

pub fn update_relation_type<S: RegisterRepository + ?Sized>(
    store: &mut S,
    draft: RelationTypeDraft,
) -> Result<RelationType, RegisterError> {
    let relation_type = check_relation_type(&draft)?;
    let outcome = store.update_relation_type(&relation_type)?;
    guarded(outcome, &relation_type.code, || {
        format!(
            "its ReferenceType cannot change to {}, since existing relations were checked as the old one.",
            relation_type.reference_type
        )
    })
}

pub fn delete_relation_type<S: RegisterRepository + ?Sized>(
    store: &mut S,
    code: &str,
) -> Result<(), RegisterError> {
    let code = code.trim();
    let outcome = store.delete_relation_type(code)?;
    guarded(outcome, code, || {
        "live or deleted (a deleted relation stays in the history until its customer is purged)."
            .to_owned()
    })
}

pub fn get_relation_type<S: RegisterRepository + ?Sized>(
    store: &mut S,
    code: &str,
) -> Result<RelationType, RegisterError> {
    let code = code.trim();
    store
        .relation_type(code)?
        .ok_or_else(|| RegisterError::not_found(Entity::RelationType, code))
}

/// Ordered by code, as the relation service's GetRelationTypes.
pub fn list_relation_types<S: RegisterRepository + ?Sized>(
    store: &mut S,
) -> Result<Vec<RelationType>, RegisterError> {
    Ok(sorted_by_code(store.relation_types()?))
}
