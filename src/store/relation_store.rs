//! The relation rules' ports on diesel: relation types and the register as
//! the rules read them, and the relations themselves.

use chrono::{DateTime, Utc};
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::rows::{NewRelationRow, RelationRow, RelationTypeRow, all_converted, converted};
use super::schema::{customer_relations, customers, relation_types, subscriptions, titles, users};
use super::{Conn, DbConnection, corrupt, db_run, internal};
use crate::register::RegisterRepository;
use crate::relations::{
    CustomerDirectory, CustomerRecord, CustomerRelation, Inserted, RelationRepository,
    ValidRelation,
};
use crate::vocabulary::{InternalError, RelationType, RelationTypes, Validity};

/// What the rules need of a store: the register and the relations.
pub trait RelationStore: CustomerDirectory + RelationRepository + RegisterRepository {}

impl<T: CustomerDirectory + RelationRepository + RegisterRepository> RelationStore for T {}

/// One pooled connection, used for one unit of work.
pub(super) struct Session {
    conn: DbConnection,
}

impl Session {
    pub(super) fn new(conn: DbConnection) -> Self {
        Self { conn }
    }

    /// Runs `work` on the store. A write runs in a transaction of its own,
    /// committed when `work` succeeds and rolled back when it fails, so a
    /// refused request changes nothing; a failed commit is the outer error:
    /// nothing was stored, and the caller must not confirm anything. A read
    /// runs as it comes. (SQLite's writes do not come here: they go to the
    /// group-commit writer, which takes SQLite's write lock up front.)
    pub(super) fn run<T, E>(
        &mut self,
        access: Access,
        work: impl FnOnce(&mut dyn RelationStore) -> Result<T, E>,
    ) -> Result<Result<T, E>, InternalError> {
        if access == Access::Read {
            return Ok(work(&mut self.conn));
        }
        db_run!(self.conn.conn(), |c| {
            AnsiTransactionManager::begin_transaction(c)
        })
        .map_err(internal)?;
        let outcome = work(&mut self.conn);
        let ended = if outcome.is_ok() {
            db_run!(self.conn.conn(), |c| {
                AnsiTransactionManager::commit_transaction(c)
            })
        } else {
            db_run!(self.conn.conn(), |c| {
                AnsiTransactionManager::rollback_transaction(c)
            })
        };
        ended.map(|()| outcome).map_err(internal)
    }
}

/// Whether an operation changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl RelationTypes for DbConnection {
    fn relation_type(&mut self, code: &str) -> Result<Option<RelationType>, InternalError> {
        let row = db_run!(self.conn(), |c| relation_types::table
            .find(code)
            .first::<RelationTypeRow>(c)
            .optional());
        row.map_err(internal).and_then(converted)
    }

    fn relation_types(&mut self) -> Result<Vec<RelationType>, InternalError> {
        let rows = db_run!(self.conn(), |c| relation_types::table
            .load::<RelationTypeRow>(c));
        rows.map_err(internal).and_then(all_converted)
    }
}

impl CustomerDirectory for DbConnection {
    fn customer(&mut self, customer_number: i32) -> Result<Option<CustomerRecord>, InternalError> {
        let validity = db_run!(self.conn(), |c| customers::table
            .find(customer_number)
            .select(customers::validity)
            .first::<String>(c)
            .optional())
        .map_err(internal)?;
        validity
            .map(|v| {
                Ok(CustomerRecord {
                    validity: v.parse().map_err(corrupt)?,
                })
            })
            .transpose()
    }

    fn title_is_usable(&mut self, code: &str) -> Result<bool, InternalError> {
        let valid = titles::validity.eq(Validity::Valid.as_str());
        db_run!(self.conn(), |c| diesel::select(diesel::dsl::exists(
            titles::table.find(code).filter(valid)
        ))
        .get_result(c))
        .map_err(internal)
    }

    fn has_subscription(
        &mut self,
        customer_number: i32,
        title_code: &str,
    ) -> Result<bool, InternalError> {
        let subscribed = subscriptions::customer_number
            .eq(customer_number)
            .and(subscriptions::title_code.eq(title_code));
        db_run!(self.conn(), |c| diesel::select(diesel::dsl::exists(
            subscriptions::table.filter(subscribed)
        ))
        .get_result(c))
        .map_err(internal)
    }

    fn user_is_usable(&mut self, email: &str) -> Result<bool, InternalError> {
        let valid = users::validity.eq(Validity::Valid.as_str());
        db_run!(self.conn(), |c| diesel::select(diesel::dsl::exists(
            users::table.find(email).filter(valid)
        ))
        .get_result(c))
        .map_err(internal)
    }
}

/// How many times an insert that lost a uniqueness race looks for the
/// winner before giving up (the winner may be deleted in between).
const INSERT_ATTEMPTS: usize = 3;

impl RelationRepository for DbConnection {
    fn insert_relation(&mut self, relation: &ValidRelation) -> Result<Inserted, InternalError> {
        let reference = relation.reference.as_stored();
        // xs:dateTime goes out with at most millisecond precision; store what we send.
        let created_at = DateTime::<Utc>::from_timestamp_millis(Utc::now().timestamp_millis())
            .expect("the current time is representable");
        let row = NewRelationRow {
            customer_number: relation.customer_number,
            relation_type_code: &relation.relation_type_code,
            reference: &reference,
            title_code: relation.title_code.as_deref(),
            additional_value: relation.additional_value.as_deref(),
            source: relation.source.as_deref(),
            created_at: created_at.naive_utc(),
            created_by: &relation.created_by,
        };
        // The bound on the customer's relations (README, "The API"). A
        // retried create that finds its relation there is still told it
        // exists, so that a bus can take that as success.
        let limit = self.max_relations_per_customer;
        if self.relations_held(relation.customer_number)? >= i64::from(limit) {
            return Ok(match self.identical_relation(relation, &reference)? {
                Some(existing_id) => Inserted::Duplicate { existing_id },
                None => Inserted::TooMany { limit },
            });
        }
        // The unique index decides; a losing concurrent insert looks up the
        // winner. Should the winner be deleted in between, insert again.
        for _ in 0..INSERT_ATTEMPTS {
            // In a savepoint: a refused insert must leave the write's
            // transaction usable (PostgreSQL aborts it otherwise).
            let inserted = db_run!(self.conn(), |c| c.transaction(|c| {
                diesel::insert_into(customer_relations::table)
                    .values(&row)
                    .returning(customer_relations::id)
                    .get_result::<i64>(c)
            }));
            match inserted {
                Ok(id) => return Ok(Inserted::New(stored(relation, id, reference, created_at))),
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                    if let Some(existing_id) = self.identical_relation(relation, &reference)? {
                        return Ok(Inserted::Duplicate { existing_id });
                    }
                }
                Err(other) => return Err(internal(other)),
            }
        }
        Err(InternalError::new(
            "the uniqueness check kept changing under concurrent deletes",
        ))
    }

    fn relations_of_customer(
        &mut self,
        customer_number: i32,
    ) -> Result<Vec<CustomerRelation>, InternalError> {
        let rows = db_run!(self.conn(), |c| customer_relations::table
            .inner_join(relation_types::table)
            .filter(customer_relations::customer_number.eq(customer_number))
            .order(customer_relations::id)
            .select((
                customer_relations::id,
                customer_relations::customer_number,
                customer_relations::relation_type_code,
                customer_relations::reference,
                customer_relations::title_code,
                customer_relations::additional_value,
                customer_relations::source,
                customer_relations::created_at,
                customer_relations::created_by,
                relation_types::reference_type,
            ))
            .load::<RelationRow>(c));
        rows.map_err(internal).and_then(all_converted)
    }

    fn relation_type_of(&mut self, id: i64) -> Result<Option<String>, InternalError> {
        db_run!(self.conn(), |c| customer_relations::table
            .find(id)
            .select(customer_relations::relation_type_code)
            .first::<String>(c)
            .optional())
        .map_err(internal)
    }

    fn delete_relation(&mut self, id: i64) -> Result<bool, InternalError> {
        db_run!(self.conn(), |c| diesel::delete(
            customer_relations::table.find(id)
        )
        .execute(c))
        .map(|rows| rows > 0)
        .map_err(internal)
    }
}

impl DbConnection {
    /// How many relations the customer has, counted under a lock on the
    /// customer until the write commits, so that concurrent creates cannot
    /// pass the bound together (on PostgreSQL; SQLite's writer is alone).
    fn relations_held(&mut self, customer_number: i32) -> Result<i64, InternalError> {
        if let Conn::Postgres(c) = self.conn() {
            customers::table
                .find(customer_number)
                .select(customers::customer_number)
                .for_update()
                .first::<i32>(c)
                .optional()
                .map_err(internal)?;
        }
        db_run!(self.conn(), |c| customer_relations::table
            .filter(customer_relations::customer_number.eq(customer_number))
            .count()
            .get_result::<i64>(c))
        .map_err(internal)
    }

    /// The Id of the relation the unique index counts as identical, if one
    /// is there.
    fn identical_relation(
        &mut self,
        relation: &ValidRelation,
        reference: &str,
    ) -> Result<Option<i64>, InternalError> {
        let same_key = customer_relations::customer_number
            .eq(relation.customer_number)
            .and(customer_relations::relation_type_code.eq(&relation.relation_type_code))
            .and(customer_relations::reference.eq(reference));
        let title = relation.title_code.as_deref();
        db_run!(self.conn(), |c| {
            let query = customer_relations::table
                .select(customer_relations::id)
                .filter(same_key)
                .into_boxed();
            match title {
                Some(title) => query.filter(customer_relations::title_code.eq(title)),
                None => query.filter(customer_relations::title_code.is_null()),
            }
            .first::<i64>(c)
            .optional()
        })
        .map_err(internal)
    }
}

/// The relation as the insert stored it.
fn stored(
    relation: &ValidRelation,
    id: i64,
    reference: String,
    created_at: DateTime<Utc>,
) -> CustomerRelation {
    CustomerRelation {
        id,
        customer_number: relation.customer_number,
        relation_type_code: relation.relation_type_code.clone(),
        reference_type: relation.reference_type,
        reference,
        title_code: relation.title_code.clone(),
        additional_value: relation.additional_value.clone(),
        source: relation.source.clone(),
        created_at,
        created_by: relation.created_by.clone(),
    }
}
