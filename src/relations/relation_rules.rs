//! The rules of CreateCustomerRelation (README, "The API"), in their order. Each step runs only when the
//! steps before it passed, so a request gets the fault of the first rule it
//! breaks (step 3 reports all of its field rules at once).

use super::{
    ADDITIONAL_VALUE_MAX_CHARS, CHANGES_MAX_LIMIT, ChangePage, CustomerDirectory, CustomerRelation,
    Inserted, Lock, NewCustomerRelation, REFERENCE_MAX_CHARS, ReferenceForms, ReferenceQuery,
    RelationError, RelationHistory, RelationRepository, RelationUpdate, SOURCE_MAX_CHARS, Updated,
    ValidRelation,
};
use crate::vocabulary::{
    Caller, CanonicalReference, FieldError, FieldErrors, InternalError, ReferenceType,
    RelationType, TitleMode, Validity, sorted_by_code,
};

pub fn create_relation<S>(
    store: &mut S,
    request: NewCustomerRelation,
    caller: &Caller,
) -> Result<CustomerRelation, RelationError>
where
    S: CustomerDirectory + RelationRepository + ?Sized,
{
    // 0. The caller's scope allows the type (before anything is looked
    // up, so that nothing outside the scope is revealed).
    in_scope(
        caller,
        "CreateCustomerRelation",
        &request.relation_type_code,
    )?;

    // 1. The relation type exists; 2. the owning customer exists and is
    // valid (both looked up at once).
    let (relation_type, customer) = store
        .relation_type_and_customer(&request.relation_type_code, request.customer_number)?
        .ok_or_else(|| RelationError::RelationTypeNotFound {
            code: request.relation_type_code.clone(),
        })?;
    match customer {
        Some(customer) if customer.validity == Validity::Valid => {}
        found => {
            return Err(RelationError::CustomerNotFound {
                customer_number: request.customer_number,
                exists_but_invalid: found.is_some(),
            });
        }
    }

    // 3. and 4.: the field rules, then the reference.
    let relation = checked_values(store, relation_type, request, caller)?;

    // 5. Uniqueness, decided by the repository.
    let customer_number = relation.customer_number;
    match store.insert_relation(&relation)? {
        Inserted::New(created) => Ok(*created),
        Inserted::Duplicate { existing_id } => Err(RelationError::AlreadyExists { existing_id }),
        Inserted::TooMany { limit } => Err(RelationError::EntityValidation(vec![FieldError {
            field: "CustomerNumber",
            message: format!(
                "Customer {customer_number} has {limit} relations, the most one customer may have; delete one first."
            ),
        }])),
    }
}

/// The create rules 3 (field rules, all reported together) and 4 (the
/// reference, by the type's reference type) on a request's values; what
/// passes, ready to be stored.
fn checked_values<S: CustomerDirectory + ?Sized>(
    store: &mut S,
    relation_type: RelationType,
    request: NewCustomerRelation,
    caller: &Caller,
) -> Result<ValidRelation, RelationError> {
    check_fields(store, &relation_type, &request)?;
    let reference = request
        .reference
        .as_deref()
        .expect("step 3 refuses a missing reference");
    let canonical = check_reference(
        store,
        &relation_type,
        reference,
        request.title_code.as_deref(),
    )?;
    Ok(ValidRelation {
        customer_number: request.customer_number,
        relation_type_code: relation_type.code,
        reference_type: relation_type.reference_type,
        reference: canonical,
        title_code: request.title_code,
        additional_value: request.additional_value,
        source: request.source,
        changed_by: caller.name().to_owned(),
    })
}

fn check_fields<S: CustomerDirectory + ?Sized>(
    store: &mut S,
    relation_type: &RelationType,
    request: &NewCustomerRelation,
) -> Result<(), RelationError> {
    let mut errors = FieldErrors::default();
    match request.reference.as_deref() {
        None => errors.add("Reference", "Reference is required."),
        Some(r) if r.trim().is_empty() => errors.add("Reference", "Reference must not be blank."),
        Some(r) => errors.limit("Reference", r, REFERENCE_MAX_CHARS),
    }
    if let Some(value) = &request.additional_value {
        errors.limit("AdditionalValue", value, ADDITIONAL_VALUE_MAX_CHARS);
    }
    if let Some(source) = &request.source {
        errors.limit("Source", source, SOURCE_MAX_CHARS);
    }

    let code = &relation_type.code;
    match (relation_type.title_mode, request.title_code.as_deref()) {
        (TitleMode::Required, None) => errors.add(
            "TitleCode",
            format!("TitleCode is required for relation type '{code}'."),
        ),
        (TitleMode::Forbidden, Some(_)) => errors.add(
            "TitleCode",
            format!("TitleCode must not be given for relation type '{code}'."),
        ),
        (_, Some(title)) if !store.title_is_usable(title)? => errors.add(
            "TitleCode",
            format!("TitleCode '{title}' does not name a valid title."),
        ),
        _ => {}
    }
    Ok(errors.finish(|| ())?)
}

fn check_reference<S: CustomerDirectory + ?Sized>(
    store: &mut S,
    relation_type: &RelationType,
    reference: &str,
    title_code: Option<&str>,
) -> Result<CanonicalReference, RelationError> {
    let invalid = |reason: String| RelationError::InvalidReference {
        relation_type_code: relation_type.code.clone(),
        reference_type: relation_type.reference_type,
        reference: reference.to_owned(),
        reason,
    };

    match relation_type.reference_type {
        ReferenceType::External => Ok(CanonicalReference::External(reference.to_owned())),
        ReferenceType::Customer | ReferenceType::Subscription => {
            let canonical = CanonicalReference::customer_number(reference).ok_or_else(|| {
                invalid(format!("Reference '{reference}' is not a customer number."))
            })?;
            let CanonicalReference::CustomerNumber(number) = canonical else {
                unreachable!("customer_number() yields a customer number")
            };
            match store.customer(number)? {
                Some(c) if c.validity == Validity::Valid => {}
                Some(_) => return Err(invalid(format!("Customer {number} is not valid."))),
                None => {
                    return Err(invalid(format!(
                        "There is no customer with number {number}."
                    )));
                }
            }
            if relation_type.reference_type == ReferenceType::Subscription {
                let title = title_code.ok_or_else(|| {
                    invalid(format!(
                        "Relation type '{}' refers to subscriptions, so a TitleCode must be given.",
                        relation_type.code
                    ))
                })?;
                if !store.has_subscription(number, title)? {
                    return Err(invalid(format!(
                        "Customer {number} has never subscribed to title '{title}'."
                    )));
                }
            }
            Ok(canonical)
        }
        ReferenceType::User => {
            let canonical = CanonicalReference::email(reference).ok_or_else(|| {
                invalid(format!("Reference '{reference}' is not an e-mail address."))
            })?;
            if !store.user_is_usable(&canonical.as_stored())? {
                return Err(invalid(format!(
                    "There is no user with e-mail address '{canonical}' in the user register."
                )));
            }
            Ok(canonical)
        }
    }
}

/// Refuses a relation type outside the caller's scope.
fn in_scope(
    caller: &Caller,
    operation: &'static str,
    relation_type_code: &str,
) -> Result<(), RelationError> {
    if caller.may_use(relation_type_code) {
        Ok(())
    } else {
        Err(RelationError::OutOfScope {
            client: caller.name().to_owned(),
            operation,
            relation_type_code: relation_type_code.to_owned(),
        })
    }
}

/// Refuses a customer that does not exist (valid or not, it may be read).
fn known_customer<S: CustomerDirectory + ?Sized>(
    store: &mut S,
    customer_number: i32,
) -> Result<(), RelationError> {
    match store.customer(customer_number)? {
        Some(_) => Ok(()),
        None => Err(RelationError::CustomerNotFound {
            customer_number,
            exists_but_invalid: false,
        }),
    }
}

/// All relations of a customer, valid or not, that are within the
/// caller's scope; ordered by Id.
pub fn relations_of_customer<S>(
    store: &mut S,
    customer_number: i32,
    caller: &Caller,
) -> Result<Vec<CustomerRelation>, RelationError>
where
    S: CustomerDirectory + RelationRepository + ?Sized,
{
    // A relation's customer was known when it was created, and the
    // built-in store keeps customers (a foreign key): the directory is
    // asked only when there are no relations, which saves a Get its
    // second query (README, "Performance").
    let mut relations = store.relations_of_customer(customer_number)?;
    if relations.is_empty() {
        known_customer(store, customer_number)?;
    }
    relations.retain(|relation| caller.may_use(&relation.relation_type_code));
    Ok(relations)
}

/// Deletes a live relation of a type within the caller's scope: it stays,
/// marked deleted, in the history.
pub fn delete_relation<S: RelationRepository + ?Sized>(
    store: &mut S,
    id: i64,
    caller: &Caller,
) -> Result<(), RelationError> {
    let current = live_relation(store, id, caller, "DeleteCustomerRelation", Lock::ForUpdate)?;
    if store.delete_relation(&current, caller.name())? {
        Ok(())
    } else {
        Err(RelationError::RelationNotFound { id })
    }
}

/// The live relation with that Id, of a type within the caller's scope.
fn live_relation<S: RelationRepository + ?Sized>(
    store: &mut S,
    id: i64,
    caller: &Caller,
    operation: &'static str,
    lock: Lock,
) -> Result<CustomerRelation, RelationError> {
    match store.relation(id, lock)? {
        Some(relation) if relation.deleted.is_none() => {
            in_scope(caller, operation, &relation.relation_type_code)?;
            Ok(relation)
        }
        _ => Err(RelationError::RelationNotFound { id }),
    }
}

/// The relation with that Id, live or deleted (GetCustomerRelation).
pub fn relation<S: RelationRepository + ?Sized>(
    store: &mut S,
    id: i64,
    caller: &Caller,
) -> Result<CustomerRelation, RelationError> {
    let relation = store
        .relation(id, Lock::None)?
        .ok_or(RelationError::RelationNotFound { id })?;
    in_scope(caller, "GetCustomerRelation", &relation.relation_type_code)?;
    Ok(relation)
}

/// UpdateCustomerRelation: the relation exists and is live, its type is in
/// the caller's scope, the caller read its current version; then the create
/// rules 3 to 5 on the new values (README, "Updating a relation").
pub fn update_relation<S>(
    store: &mut S,
    update: RelationUpdate,
    caller: &Caller,
) -> Result<CustomerRelation, RelationError>
where
    S: CustomerDirectory + RelationRepository + ?Sized,
{
    let id = update.id;
    let current = live_relation(store, id, caller, "UpdateCustomerRelation", Lock::ForUpdate)?;
    if current.version != update.version {
        return Err(RelationError::Concurrency {
            id,
            current_version: current.version,
        });
    }
    let relation_type = store
        .relation_type(&current.relation_type_code)?
        .ok_or_else(|| {
            InternalError::new(format!(
                "relation {id} has type '{}', which is not there",
                current.relation_type_code
            ))
        })?;
    let request = NewCustomerRelation {
        customer_number: current.customer_number,
        relation_type_code: current.relation_type_code.clone(),
        reference: update.reference,
        title_code: update.title_code,
        additional_value: update.additional_value,
        source: update.source,
    };
    // 3. and 4., as for a create.
    let relation = checked_values(store, relation_type, request, caller)?;

    // 5. Uniqueness, and the version once more, decided by the repository.
    match store.update_relation(&current, &relation)? {
        Updated::Done(updated) => Ok(*updated),
        Updated::Duplicate { existing_id } => Err(RelationError::AlreadyExists { existing_id }),
        Updated::Stale { current_version } => Err(RelationError::Concurrency {
            id,
            current_version,
        }),
        Updated::Gone => Err(RelationError::RelationNotFound { id }),
    }
}

/// FindCustomerRelationsByReference: live relations whose reference is the
/// given one in its canonical form, as create stores it; with a type, by
/// that type's rule, without one by each type's own rule.
pub fn find_relations<S>(
    store: &mut S,
    query: ReferenceQuery,
    caller: &Caller,
) -> Result<Vec<CustomerRelation>, RelationError>
where
    S: CustomerDirectory + RelationRepository + ?Sized,
{
    let mut errors = FieldErrors::default();
    if query.reference.trim().is_empty() {
        errors.add("Reference", "Reference must not be blank.");
    } else {
        errors.limit("Reference", &query.reference, REFERENCE_MAX_CHARS);
    }
    errors.finish(|| ())?;

    let forms = ReferenceForms::of(&query.reference);
    let lookup: Vec<&str> = match query.relation_type_code.as_deref() {
        Some(code) => {
            in_scope(caller, "FindCustomerRelationsByReference", code)?;
            let relation_type =
                store
                    .relation_type(code)?
                    .ok_or_else(|| RelationError::RelationTypeNotFound {
                        code: code.to_owned(),
                    })?;
            match forms.under(relation_type.reference_type) {
                Some(form) => vec![form],
                // Not a reference this type could hold: nothing has it.
                None => return Ok(Vec::new()),
            }
        }
        None => forms.all(),
    };
    let mut found = store.relations_by_reference(
        &lookup,
        query.relation_type_code.as_deref(),
        query.title_code.as_deref(),
    )?;
    found.retain(|relation| {
        forms.under(relation.reference_type) == Some(relation.reference.as_str())
            && caller.may_use(&relation.relation_type_code)
    });
    Ok(found)
}

/// GetCustomerRelationHistory: every relation the customer has had, live
/// and deleted, by Id, each with its changes in order; of the caller's
/// relation types only.
pub fn relation_history<S>(
    store: &mut S,
    customer_number: i32,
    caller: &Caller,
) -> Result<Vec<RelationHistory>, RelationError>
where
    S: CustomerDirectory + RelationRepository + ?Sized,
{
    known_customer(store, customer_number)?;
    let mut histories: Vec<RelationHistory> = Vec::new();
    for mut change in store.changes_of_customer(customer_number)? {
        if !caller.may_use(&change.relation.relation_type_code) {
            continue;
        }
        // The order is the relation's own; the feed's numbers are the
        // feed's (README, "History and the change feed").
        change.sequence = None;
        match histories.last_mut() {
            Some(history) if history.relation().id == change.relation.id => history.push(change),
            _ => histories.push(RelationHistory::new(change)),
        }
    }
    Ok(histories)
}

/// GetCustomerRelationChanges: a page of the change feed, of the caller's
/// relation types only.
pub fn relation_changes<S: RelationRepository + ?Sized>(
    store: &mut S,
    after_sequence: i64,
    limit: i64,
    caller: &Caller,
) -> Result<ChangePage, RelationError> {
    let mut errors = FieldErrors::default();
    if after_sequence < 0 {
        errors.add("AfterSequence", "AfterSequence must be 0 or more.");
    }
    let limit = u32::try_from(limit)
        .ok()
        .filter(|limit| (1..=CHANGES_MAX_LIMIT).contains(limit));
    if limit.is_none() {
        errors.add(
            "Limit",
            format!("Limit must be between 1 and {CHANGES_MAX_LIMIT}."),
        );
    }
    let limit = errors.finish(|| limit.expect("checked above"))?;
    let changes = store.changes_after(after_sequence, limit, caller.scope())?;
    let last_sequence = changes
        .last()
        .and_then(|change| change.sequence)
        .unwrap_or(after_sequence);
    Ok(ChangePage {
        changes,
        last_sequence,
    })
}

/// All relation types, ordered by code (see [`sorted_by_code`]).
pub fn relation_types<S: CustomerDirectory + ?Sized>(
    store: &mut S,
) -> Result<Vec<RelationType>, RelationError> {
    Ok(sorted_by_code(store.relation_types()?))
}
