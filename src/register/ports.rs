//! The register's storage seam. The built-in implementation is the diesel
//! store; uniqueness and "still in use" are decided there, inside the
//! database, so that they hold when several instances write at once.

use chrono::NaiveDate;

use super::{Customer, CustomerFields, CustomerPage, CustomerQuery, NewSubscription, Subscription};
use super::{Title, User};
use crate::vocabulary::{InternalError, RelationType, RelationTypes, Validity};

/// The outcome of an insert under a uniqueness rule.
#[derive(Debug, PartialEq, Eq)]
pub enum Insert<T> {
    New(T),
    /// The key of the record that is already there.
    Duplicate(String),
    /// The store was to assign the key, and every key above the highest is
    /// taken.
    NoKeyLeft,
}

/// The outcome of a change that other records may stand in the way of.
#[derive(Debug, PartialEq, Eq)]
pub enum Guarded<T> {
    Done(T),
    NotFound,
    /// This many records still refer to it.
    InUse(i64),
}

/// Where the register is kept; relation types are read as the relation
/// rules read them.
pub trait RegisterRepository: RelationTypes {
    fn insert_relation_type(
        &mut self,
        relation_type: &RelationType,
    ) -> Result<Insert<RelationType>, InternalError>;
    /// Changes name and title mode; the reference type only while no
    /// relation uses the type.
    fn update_relation_type(
        &mut self,
        relation_type: &RelationType,
    ) -> Result<Guarded<RelationType>, InternalError>;
    /// Removes the type unless a relation uses it.
    fn delete_relation_type(&mut self, code: &str) -> Result<Guarded<()>, InternalError>;

    fn insert_title(&mut self, title: &Title) -> Result<Insert<Title>, InternalError>;
    fn update_title(&mut self, code: &str, name: &str) -> Result<Option<Title>, InternalError>;
    fn set_title_validity(
        &mut self,
        code: &str,
        validity: Validity,
    ) -> Result<Option<Title>, InternalError>;
    fn title(&mut self, code: &str) -> Result<Option<Title>, InternalError>;
    /// In no particular order.
    fn titles(&mut self, validity: Option<Validity>) -> Result<Vec<Title>, InternalError>;

    /// With `customer_number` `None` the next free number is assigned.
    fn insert_customer(
        &mut self,
        customer_number: Option<i32>,
        fields: &CustomerFields,
        validity: Validity,
    ) -> Result<Insert<Customer>, InternalError>;
    fn update_customer(
        &mut self,
        customer_number: i32,
        fields: &CustomerFields,
    ) -> Result<Option<Customer>, InternalError>;
    fn set_customer_validity(
        &mut self,
        customer_number: i32,
        validity: Validity,
    ) -> Result<Option<Customer>, InternalError>;
    fn customer_details(&mut self, customer_number: i32)
    -> Result<Option<Customer>, InternalError>;
    fn search_customers(&mut self, query: &CustomerQuery) -> Result<CustomerPage, InternalError>;

    fn insert_subscription(
        &mut self,
        subscription: &NewSubscription,
    ) -> Result<Insert<Subscription>, InternalError>;
    fn subscription(&mut self, id: i64) -> Result<Option<Subscription>, InternalError>;
    /// Sets the end date unless the subscription has ended by `today`
    /// (checked in the same statement, so two ends cannot both land);
    /// `None` when it has, or does not exist.
    fn set_subscription_end(
        &mut self,
        id: i64,
        end_date: NaiveDate,
        today: NaiveDate,
    ) -> Result<Option<Subscription>, InternalError>;
    /// Ordered by start date, then Id.
    fn subscriptions_of_customer(
        &mut self,
        customer_number: i32,
    ) -> Result<Vec<Subscription>, InternalError>;

    fn insert_user(&mut self, user: &User) -> Result<Insert<User>, InternalError>;
    fn update_user(
        &mut self,
        email: &str,
        name: Option<&str>,
        customer_number: Option<i32>,
    ) -> Result<Option<User>, InternalError>;
    fn set_user_validity(
        &mut self,
        email: &str,
        validity: Validity,
    ) -> Result<Option<User>, InternalError>;
    fn user(&mut self, email: &str) -> Result<Option<User>, InternalError>;
}

/// Bulk writes for the importer, all inside one transaction (see
/// `store::Database::bulk_load`). Each inserts the records, or updates the
/// one already there under the same key, so that loading the same records
/// again changes nothing.
pub trait RegisterLoader {
    fn upsert_titles(&mut self, titles: &[Title]) -> Result<(), InternalError>;
    fn upsert_customers(&mut self, customers: &[Customer]) -> Result<(), InternalError>;
    fn upsert_relation_types(&mut self, types: &[RelationType]) -> Result<(), InternalError>;
    fn upsert_users(&mut self, users: &[User]) -> Result<(), InternalError>;
    /// The key is the customer, the title and the start date; the end date
    /// is what an update changes.
    fn upsert_subscriptions(
        &mut self,
        subscriptions: &[NewSubscription],
    ) -> Result<(), InternalError>;
    fn customer_exists(&mut self, customer_number: i32) -> Result<bool, InternalError>;
    fn title_exists(&mut self, code: &str) -> Result<bool, InternalError>;
}
