//! The built-in register and relation repository on diesel, written once
//! and compiled for each backend's connection.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;

use super::schema::{customer_relations, customers, relation_types, subscriptions, titles, users};
use super::{DbConnection, corrupt, internal};
use crate::register::RegisterRepository;
use crate::relations::{
    CustomerDirectory, CustomerRecord, CustomerRelation, Inserted, InternalError,
    RelationRepository, RelationType, ValidRelation, Validity,
};

/// What the rules need of a store: the register and the relations.
pub trait RelationStore: CustomerDirectory + RelationRepository + RegisterRepository {}

impl<T: CustomerDirectory + RelationRepository + RegisterRepository> RelationStore for T {}

/// One pooled connection, used for one unit of work.
pub struct Session {
    conn: DbConnection,
}

impl Session {
    pub(super) fn new(conn: DbConnection) -> Self {
        Self { conn }
    }

    /// The store on this session's backend.
    pub fn store(&mut self) -> &mut dyn RelationStore {
        match &mut self.conn {
            DbConnection::Sqlite(conn) => &mut **conn,
            DbConnection::Postgres(conn) => &mut **conn,
        }
    }
}

/// The columns of a relation type, as both repositories read them.
#[derive(Queryable)]
pub(super) struct RelationTypeRow {
    code: String,
    name: String,
    reference_type: String,
    title_mode: String,
}

impl TryFrom<RelationTypeRow> for RelationType {
    type Error = InternalError;

    fn try_from(row: RelationTypeRow) -> Result<Self, InternalError> {
        Ok(RelationType {
            reference_type: row.reference_type.parse().map_err(corrupt)?,
            title_mode: row.title_mode.parse().map_err(corrupt)?,
            code: row.code,
            name: row.name,
        })
    }
}

#[derive(Queryable)]
struct RelationRow {
    id: i64,
    customer_number: i32,
    relation_type_code: String,
    reference: String,
    title_code: Option<String>,
    additional_value: Option<String>,
    source: Option<String>,
    created_at: NaiveDateTime,
    created_by: String,
    reference_type: String,
}

impl TryFrom<RelationRow> for CustomerRelation {
    type Error = InternalError;

    fn try_from(row: RelationRow) -> Result<Self, InternalError> {
        Ok(CustomerRelation {
            id: row.id,
            customer_number: row.customer_number,
            relation_type_code: row.relation_type_code,
            reference_type: row.reference_type.parse().map_err(corrupt)?,
            reference: row.reference,
            title_code: row.title_code,
            additional_value: row.additional_value,
            source: row.source,
            created_at: row.created_at.and_utc(),
            created_by: row.created_by,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = customer_relations)]
struct NewRelationRow<'a> {
    customer_number: i32,
    relation_type_code: &'a str,
    reference: &'a str,
    title_code: Option<&'a str>,
    additional_value: Option<&'a str>,
    source: Option<&'a str>,
    created_at: NaiveDateTime,
    created_by: &'a str,
}

/// Implements the ports for one backend's connection; the body is the same
/// diesel code for every backend.
macro_rules! relation_store_for {
    ($conn:ty) => {
        impl CustomerDirectory for $conn {
            fn relation_type(&mut self, code: &str) -> Result<Option<RelationType>, InternalError> {
                relation_types::table
                    .find(code)
                    .first::<RelationTypeRow>(self)
                    .optional()
                    .map_err(internal)?
                    .map(RelationType::try_from)
                    .transpose()
            }

            fn relation_types(&mut self) -> Result<Vec<RelationType>, InternalError> {
                relation_types::table
                    .load::<RelationTypeRow>(self)
                    .map_err(internal)?
                    .into_iter()
                    .map(RelationType::try_from)
                    .collect()
            }

            fn customer(
                &mut self,
                customer_number: i32,
            ) -> Result<Option<CustomerRecord>, InternalError> {
                let validity = customers::table
                    .find(customer_number)
                    .select(customers::validity)
                    .first::<String>(self)
                    .optional()
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
                diesel::select(diesel::dsl::exists(
                    titles::table
                        .find(code)
                        .filter(titles::validity.eq(Validity::Valid.as_str())),
                ))
                .get_result(self)
                .map_err(internal)
            }

            fn has_subscription(
                &mut self,
                customer_number: i32,
                title_code: &str,
            ) -> Result<bool, InternalError> {
                diesel::select(diesel::dsl::exists(
                    subscriptions::table
                        .filter(subscriptions::customer_number.eq(customer_number))
                        .filter(subscriptions::title_code.eq(title_code)),
                ))
                .get_result(self)
                .map_err(internal)
            }

            fn user_is_usable(&mut self, email: &str) -> Result<bool, InternalError> {
                diesel::select(diesel::dsl::exists(
                    users::table
                        .find(email)
                        .filter(users::validity.eq(Validity::Valid.as_str())),
                ))
                .get_result(self)
                .map_err(internal)
            }
        }

        impl RelationRepository for $conn {
            fn insert_relation(
                &mut self,
                relation: &ValidRelation,
            ) -> Result<Inserted, InternalError> {
                let reference = relation.reference.as_stored();
                // xs:dateTime goes out with at most millisecond precision; store what we send.
                let created_at =
                    DateTime::<Utc>::from_timestamp_millis(Utc::now().timestamp_millis())
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

                // The unique index decides; a losing concurrent insert looks up the
                // winner. Should the winner be deleted in between, insert again.
                for _ in 0..3 {
                    let inserted = diesel::insert_into(customer_relations::table)
                        .values(&row)
                        .returning(customer_relations::id)
                        .get_result::<i64>(self);
                    match inserted {
                        Ok(id) => {
                            return Ok(Inserted::New(CustomerRelation {
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
                            }));
                        }
                        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                            // The winner of the race, found by the unique index's key.
                            let winner = customer_relations::table
                                .select(customer_relations::id)
                                .filter(
                                    customer_relations::customer_number
                                        .eq(relation.customer_number),
                                )
                                .filter(
                                    customer_relations::relation_type_code
                                        .eq(&relation.relation_type_code),
                                )
                                .filter(customer_relations::reference.eq(&reference))
                                .into_boxed();
                            let winner = match &relation.title_code {
                                Some(title) => {
                                    winner.filter(customer_relations::title_code.eq(title))
                                }
                                None => winner.filter(customer_relations::title_code.is_null()),
                            };
                            if let Some(existing_id) =
                                winner.first::<i64>(self).optional().map_err(internal)?
                            {
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
                customer_relations::table
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
                    .load::<RelationRow>(self)
                    .map_err(internal)?
                    .into_iter()
                    .map(CustomerRelation::try_from)
                    .collect()
            }

            fn delete_relation(&mut self, id: i64) -> Result<bool, InternalError> {
                diesel::delete(customer_relations::table.find(id))
                    .execute(self)
                    .map(|rows| rows > 0)
                    .map_err(internal)
            }
        }
    };
}

relation_store_for!(SqliteConnection);
relation_store_for!(PgConnection);
