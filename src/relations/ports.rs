//! The seams between the rules and whatever keeps the data. The built-in
//! implementation is the diesel store; a deployment can put its own customer
//! system behind [`CustomerDirectory`].

use super::{CustomerRelation, ValidRelation};
use crate::vocabulary::{InternalError, RelationTypes, Validity};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerRecord {
    pub validity: Validity,
}

/// Read access to the customer register: its relation types, and whether
/// what a relation names exists and is valid.
pub trait CustomerDirectory: RelationTypes {
    fn customer(&mut self, customer_number: i32) -> Result<Option<CustomerRecord>, InternalError>;
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
    New(CustomerRelation),
    Duplicate {
        existing_id: i64,
    },
    /// The customer already has the most relations one may have.
    TooMany {
        limit: u32,
    },
}

/// Where relations are kept. Uniqueness and the bound on a customer's
/// relations are the repository's job, so that they hold under concurrency
/// (README, "The API", step 5).
pub trait RelationRepository {
    fn insert_relation(&mut self, relation: &ValidRelation) -> Result<Inserted, InternalError>;
    fn relations_of_customer(
        &mut self,
        customer_number: i32,
    ) -> Result<Vec<CustomerRelation>, InternalError>;
    /// The relation type of the relation with that Id, if there is one.
    fn relation_type_of(&mut self, id: i64) -> Result<Option<String>, InternalError>;
    /// Whether a relation with that Id existed and is now gone.
    fn delete_relation(&mut self, id: i64) -> Result<bool, InternalError>;
}
