//! The seams between the rules and whatever keeps the data. The built-in
//! implementation is the diesel store; a deployment can put its own customer
//! system behind [`CustomerDirectory`].

use super::{CustomerRelation, RelationChange, ValidRelation};
use crate::vocabulary::{InternalError, RelationType, RelationTypes, Validity};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerRecord {
    pub validity: Validity,
}

/// Read access to the customer register: its relation types, and whether
/// what a relation names exists and is valid.
pub trait CustomerDirectory: RelationTypes {
    fn customer(&mut self, customer_number: i32) -> Result<Option<CustomerRecord>, InternalError>;
    /// The relation type with this code and, when there is one, the
    /// customer: what a create looks up first (README, "The API", its rules
    /// 1 and 2). The built-in store asks both in one query; a directory
    /// of its own may keep this default.
    fn relation_type_and_customer(
        &mut self,
        code: &str,
        customer_number: i32,
    ) -> Result<Option<(RelationType, Option<CustomerRecord>)>, InternalError> {
        let Some(relation_type) = self.relation_type(code)? else {
            return Ok(None);
        };
        Ok(Some((relation_type, self.customer(customer_number)?)))
    }
    /// Whether a valid title has this code.
    fn title_is_usable(&mut self, code: &str) -> Result<bool, InternalError>;
    /// Whether the customer has or had a subscription to the title.
    fn has_subscription(
        &mut self,
        customer_number: i32,
        title_code: &str,
    ) -> Result<bool, InternalError>;
    /// Whether a valid user has this (lower-cased) e-mail address.
    fn user_is_usable(&mut self, email: &str) -> Result<bool, InternalError>;
}

/// The outcome of an insert under the uniqueness rule.
#[derive(Debug)]
pub enum Inserted {
    New(Box<CustomerRelation>),
    Duplicate {
        existing_id: i64,
    },
    /// The customer already has the most relations one may have.
    TooMany {
        limit: u32,
    },
}

/// The outcome of an update under the uniqueness and version rules.
#[derive(Debug)]
pub enum Updated {
    Done(Box<CustomerRelation>),
    /// Another live relation has the new values.
    Duplicate {
        existing_id: i64,
    },
    /// The relation is no longer at the version the caller read.
    Stale {
        current_version: i32,
    },
    /// The relation is deleted, or was never there.
    Gone,
}

/// Whether a read of one relation locks it until the write commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    /// Concurrent writers of the relation wait (PostgreSQL; SQLite's
    /// writer is alone).
    ForUpdate,
}

/// Where relations are kept, with every change of them. Uniqueness, the
/// bound on a customer's relations and the versions are the repository's
/// job, so that they hold under concurrency (README, "The API"). Each write
/// records its change in the same transaction.
pub trait RelationRepository {
    fn insert_relation(&mut self, relation: &ValidRelation) -> Result<Inserted, InternalError>;
    /// The customer's live relations, ordered by Id.
    fn relations_of_customer(
        &mut self,
        customer_number: i32,
    ) -> Result<Vec<CustomerRelation>, InternalError>;
    /// The relation with that Id, live or deleted.
    fn relation(&mut self, id: i64, lock: Lock) -> Result<Option<CustomerRelation>, InternalError>;
    /// Replaces the values of `current`, a live relation as the caller
    /// read it; only while it is still at `current.version`.
    fn update_relation(
        &mut self,
        current: &CustomerRelation,
        relation: &ValidRelation,
    ) -> Result<Updated, InternalError>;
    /// Marks `current`, a live relation as the caller read it, deleted by
    /// `by`; whether it was still live.
    fn delete_relation(
        &mut self,
        current: &CustomerRelation,
        by: &str,
    ) -> Result<bool, InternalError>;
    /// Live relations whose reference is one of `forms`, ordered by Id.
    fn relations_by_reference(
        &mut self,
        forms: &[&str],
        relation_type_code: Option<&str>,
        title_code: Option<&str>,
    ) -> Result<Vec<CustomerRelation>, InternalError>;
    /// Every change of the customer's relations, by relation Id and then in
    /// the order they happened.
    fn changes_of_customer(
        &mut self,
        customer_number: i32,
    ) -> Result<Vec<RelationChange>, InternalError>;
    /// At most `limit` changes of the feed after `after_sequence`, in
    /// sequence order, of the relation types in `scope` when one is given.
    fn changes_after(
        &mut self,
        after_sequence: i64,
        limit: u32,
        scope: Option<&[String]>,
    ) -> Result<Vec<RelationChange>, InternalError>;
}
