use chrono::{DateTime, Utc};

use crate::vocabulary::{CanonicalReference, ReferenceType, text_enum};

/// A create request as the client sent it: nothing checked yet beyond the
/// XML schema's types.
#[derive(Debug, Clone, Default)]
pub struct NewCustomerRelation {
    pub customer_number: i32,
    pub relation_type_code: String,
    pub reference: Option<String>,
    pub title_code: Option<String>,
    pub additional_value: Option<String>,
    pub source: Option<String>,
}

/// A relation that passed every rule and is ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRelation {
    pub customer_number: i32,
    pub relation_type_code: String,
    pub reference_type: ReferenceType,
    pub reference: CanonicalReference,
    pub title_code: Option<String>,
    pub additional_value: Option<String>,
    pub source: Option<String>,
    /// Who creates or updates it: the caller's client name.
    pub changed_by: String,
}

/// An update request as the client sent it (UpdateCustomerRelation):
/// replace semantics, so an optional field left out is cleared.
#[derive(Debug, Clone, Default)]
pub struct RelationUpdate {
    pub id: i64,
    /// The version the caller last read.
    pub version: i32,
    pub reference: Option<String>,
    pub title_code: Option<String>,
    pub additional_value: Option<String>,
    pub source: Option<String>,
}

/// Who did something, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub at: DateTime<Utc>,
    pub by: String,
}

/// A stored relation, live or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRelation {
    pub id: i64,
    pub customer_number: i32,
    pub relation_type_code: String,
    pub reference_type: ReferenceType,
    pub reference: String,
    pub title_code: Option<String>,
    pub additional_value: Option<String>,
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// 1 at create, one more on each update.
    pub version: i32,
    /// The last update, if there was one.
    pub modified: Option<Stamp>,
    /// The delete, if it is deleted.
    pub deleted: Option<Stamp>,
}

impl CustomerRelation {
    /// When and by whom the change of this kind that left the relation as
    /// it is was made: its creation, last update or deletion.
    pub fn stamp(&self, kind: ChangeKind) -> Option<Stamp> {
        match kind {
            ChangeKind::Created => Some(Stamp {
                at: self.created_at,
                by: self.created_by.clone(),
            }),
            ChangeKind::Updated => self.modified.clone(),
            ChangeKind::Deleted => self.deleted.clone(),
        }
    }
}

text_enum!(
    /// What a change did to a relation.
    ChangeKind { Created, Updated, Deleted }
);

/// One change of a relation: its kind, when and by whom (the relation's
/// own stamp for that kind), and the relation as it was after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationChange {
    /// Its position in the change feed; `None` in a history, and while the
    /// feed has not numbered it yet (PostgreSQL numbers changes once they
    /// have committed).
    pub sequence: Option<i64>,
    pub kind: ChangeKind,
    pub stamp: Stamp,
    pub relation: CustomerRelation,
}

/// A relation a customer has had: every change of it in order, the last
/// one holding the relation as it is now. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationHistory {
    changes: Vec<RelationChange>,
}

impl RelationHistory {
    pub fn new(first: RelationChange) -> Self {
        Self {
            changes: vec![first],
        }
    }

    pub fn push(&mut self, change: RelationChange) {
        self.changes.push(change);
    }

    pub fn changes(&self) -> &[RelationChange] {
        &self.changes
    }

    /// The relation as it is now.
    pub fn relation(&self) -> &CustomerRelation {
        &self
            .changes
            .last()
            .expect("a history is made with its first change")
            .relation
    }
}

/// A page of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePage {
    pub changes: Vec<RelationChange>,
    /// Where the next page starts: the last change's sequence, or the
    /// request's `AfterSequence` when the page is empty.
    pub last_sequence: i64,
}

/// What FindCustomerRelationsByReference looks for.
#[derive(Debug, Clone, Default)]
pub struct ReferenceQuery {
    pub reference: String,
    pub relation_type_code: Option<String>,
    pub title_code: Option<String>,
}

/// A reference as each reference type would store it: what
/// FindCustomerRelationsByReference compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceForms {
    pub external: String,
    pub customer_number: Option<String>,
    pub email: Option<String>,
}

impl ReferenceForms {
    pub fn of(raw: &str) -> Self {
        Self {
            external: raw.to_owned(),
            customer_number: CanonicalReference::customer_number(raw).map(|c| c.as_stored()),
            email: CanonicalReference::email(raw).map(|c| c.as_stored()),
        }
    }

    /// The stored form under this reference type, if the reference has one.
    pub fn under(&self, reference_type: ReferenceType) -> Option<&str> {
        match reference_type {
            ReferenceType::External => Some(&self.external),
            ReferenceType::Customer | ReferenceType::Subscription => {
                self.customer_number.as_deref()
            }
            ReferenceType::User => self.email.as_deref(),
        }
    }

    /// Every distinct stored form, for an index lookup.
    pub fn all(&self) -> Vec<&str> {
        let mut forms = vec![self.external.as_str()];
        for form in [&self.customer_number, &self.email].into_iter().flatten() {
            if !forms.contains(&form.as_str()) {
                forms.push(form);
            }
        }
        forms
    }
}
