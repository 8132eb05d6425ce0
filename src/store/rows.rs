//! Rows as the tables hold them, and their conversion to the domain's
//! records. Enumerations are stored as their names; a name the CHECK
//! constraints should have kept out is an internal error.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::corrupt;
use super::schema::{customer_relation_changes, customer_relations, customers};
use super::stored_time::{OptionalStoredTime, StoredTime};
use crate::register::{Customer, CustomerFields, Subscription, Title, User, search_key};
use crate::relations::{ChangeKind, CustomerRelation, RelationChange, Stamp};
use crate::vocabulary::{InternalError, RelationType};

/// A row read back, if there was one, as its record.
pub(super) fn converted<R, T: TryFrom<R, Error = InternalError>>(
    row: Option<R>,
) -> Result<Option<T>, InternalError> {
    row.map(T::try_from).transpose()
}

/// Rows read back, as their records.
pub(super) fn all_converted<R, T: TryFrom<R, Error = InternalError>>(
    rows: Vec<R>,
) -> Result<Vec<T>, InternalError> {
    rows.into_iter().map(T::try_from).collect()
}

/// The columns of a relation type.
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

/// A relation with its type's reference type, in `RELATION_COLUMNS` order
/// (or a change's copy of it, in `CHANGE_COLUMNS` order).
#[derive(Queryable)]
pub(super) struct RelationRow {
    id: i64,
    customer_number: i32,
    relation_type_code: String,
    reference: String,
    title_code: Option<String>,
    additional_value: Option<String>,
    source: Option<String>,
    #[diesel(deserialize_as = StoredTime)]
    created_at: NaiveDateTime,
    created_by: String,
    version: i32,
    #[diesel(deserialize_as = OptionalStoredTime)]
    modified_at: Option<NaiveDateTime>,
    modified_by: Option<String>,
    #[diesel(deserialize_as = OptionalStoredTime)]
    deleted_at: Option<NaiveDateTime>,
    deleted_by: Option<String>,
    reference_type: String,
}

fn stamp(at: Option<NaiveDateTime>, by: Option<String>) -> Option<Stamp> {
    Some(Stamp {
        at: at?.and_utc(),
        by: by?,
    })
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
            version: row.version,
            modified: stamp(row.modified_at, row.modified_by),
            deleted: stamp(row.deleted_at, row.deleted_by),
        })
    }
}

/// A change's own columns, before its copy of the relation.
#[derive(Queryable)]
pub(super) struct ChangeHead {
    sequence: Option<i64>,
    kind: String,
}

impl TryFrom<(ChangeHead, RelationRow)> for RelationChange {
    type Error = InternalError;

    fn try_from((head, relation): (ChangeHead, RelationRow)) -> Result<Self, InternalError> {
        let kind: ChangeKind = head.kind.parse().map_err(corrupt)?;
        let relation = CustomerRelation::try_from(relation)?;
        let stamp = relation
            .stamp(kind)
            .ok_or_else(|| corrupt(format!("a change {kind} without its stamp")))?;
        Ok(RelationChange {
            sequence: head.sequence,
            kind,
            stamp,
            relation,
        })
    }
}

#[derive(Insertable)]
// None is NULL, not DEFAULT: one SQL text whatever is given, so that the
// statement is prepared once per connection and reused.
#[diesel(table_name = customer_relations, treat_none_as_default_value = false)]
pub(super) struct NewRelationRow<'a> {
    pub customer_number: i32,
    pub relation_type_code: &'a str,
    pub reference: &'a str,
    pub title_code: Option<&'a str>,
    pub additional_value: Option<&'a str>,
    pub source: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub created_by: &'a str,
}

/// A change as it is written: its kind and the relation after it.
#[derive(Insertable)]
// None is NULL, not DEFAULT: one SQL text whatever is given, so that the
// statement is prepared once per connection and reused.
#[diesel(table_name = customer_relation_changes, treat_none_as_default_value = false)]
pub(super) struct NewChangeRow<'a> {
    kind: &'static str,
    relation_id: i64,
    customer_number: i32,
    relation_type_code: &'a str,
    reference: &'a str,
    title_code: Option<&'a str>,
    additional_value: Option<&'a str>,
    source: Option<&'a str>,
    version: i32,
    created_at: NaiveDateTime,
    created_by: &'a str,
    modified_at: Option<NaiveDateTime>,
    modified_by: Option<&'a str>,
    deleted_at: Option<NaiveDateTime>,
    deleted_by: Option<&'a str>,
}

impl<'a> NewChangeRow<'a> {
    /// The change that created the relation `row` was written as, with
    /// this Id (a new relation is at version 1).
    pub(super) fn created(relation_id: i64, row: &'a NewRelationRow<'a>) -> Self {
        Self {
            kind: ChangeKind::Created.as_str(),
            relation_id,
            customer_number: row.customer_number,
            relation_type_code: row.relation_type_code,
            reference: row.reference,
            title_code: row.title_code,
            additional_value: row.additional_value,
            source: row.source,
            version: 1,
            created_at: row.created_at,
            created_by: row.created_by,
            modified_at: None,
            modified_by: None,
            deleted_at: None,
            deleted_by: None,
        }
    }

    /// The change of this kind that left the relation as it is.
    pub(super) fn of(kind: ChangeKind, relation: &'a CustomerRelation) -> Self {
        Self {
            kind: kind.as_str(),
            relation_id: relation.id,
            customer_number: relation.customer_number,
            relation_type_code: &relation.relation_type_code,
            reference: &relation.reference,
            title_code: relation.title_code.as_deref(),
            additional_value: relation.additional_value.as_deref(),
            source: relation.source.as_deref(),
            version: relation.version,
            created_at: relation.created_at.naive_utc(),
            created_by: &relation.created_by,
            modified_at: relation.modified.as_ref().map(|s| s.at.naive_utc()),
            modified_by: relation.modified.as_ref().map(|s| s.by.as_str()),
            deleted_at: relation.deleted.as_ref().map(|s| s.at.naive_utc()),
            deleted_by: relation.deleted.as_ref().map(|s| s.by.as_str()),
        }
    }
}

/// The columns of a customer, in [`CUSTOMER_COLUMNS`] order.
#[derive(Queryable)]
pub(super) struct CustomerRow {
    customer_number: i32,
    name: String,
    street: Option<String>,
    zip: Option<String>,
    city: Option<String>,
    country: Option<String>,
    url: Option<String>,
    comment: Option<String>,
    validity: String,
}

pub(super) type CustomerColumns = (
    customers::customer_number,
    customers::name,
    customers::street,
    customers::zip,
    customers::city,
    customers::country,
    customers::url,
    customers::comment,
    customers::validity,
);

pub(super) const CUSTOMER_COLUMNS: CustomerColumns = (
    customers::customer_number,
    customers::name,
    customers::street,
    customers::zip,
    customers::city,
    customers::country,
    customers::url,
    customers::comment,
    customers::validity,
);

impl TryFrom<CustomerRow> for Customer {
    type Error = InternalError;

    fn try_from(row: CustomerRow) -> Result<Self, InternalError> {
        Ok(Customer {
            customer_number: row.customer_number,
            validity: row.validity.parse().map_err(corrupt)?,
            fields: CustomerFields {
                name: row.name,
                street: row.street,
                zip: row.zip,
                city: row.city,
                country: row.country,
                url: row.url,
                comment: row.comment,
            },
        })
    }
}

/// A customer's fields and search keys as written to the table.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = customers, treat_none_as_null = true, treat_none_as_default_value = false)]
pub(super) struct CustomerChanges<'a> {
    name: &'a str,
    street: Option<&'a str>,
    zip: Option<&'a str>,
    city: Option<&'a str>,
    country: Option<&'a str>,
    url: Option<&'a str>,
    comment: Option<&'a str>,
    name_key: String,
    zip_key: Option<String>,
    city_key: Option<String>,
}

impl<'a> CustomerChanges<'a> {
    pub fn new(fields: &'a CustomerFields) -> Self {
        Self {
            name: &fields.name,
            street: fields.street.as_deref(),
            zip: fields.zip.as_deref(),
            city: fields.city.as_deref(),
            country: fields.country.as_deref(),
            url: fields.url.as_deref(),
            comment: fields.comment.as_deref(),
            name_key: search_key(&fields.name),
            zip_key: fields.zip.as_deref().map(search_key),
            city_key: fields.city.as_deref().map(search_key),
        }
    }
}

/// A whole customer as inserted.
#[derive(Insertable)]
#[diesel(table_name = customers, treat_none_as_default_value = false)]
pub(super) struct NewCustomerRow<'a> {
    pub customer_number: i32,
    pub validity: &'a str,
    #[diesel(embed)]
    pub changes: CustomerChanges<'a>,
}

#[derive(Queryable)]
pub(super) struct TitleRow {
    code: String,
    name: String,
    validity: String,
}

impl TryFrom<TitleRow> for Title {
    type Error = InternalError;

    fn try_from(row: TitleRow) -> Result<Self, InternalError> {
        Ok(Title {
            code: row.code,
            name: row.name,
            validity: row.validity.parse().map_err(corrupt)?,
        })
    }
}

#[derive(Queryable)]
pub(super) struct UserRow {
    email: String,
    name: Option<String>,
    customer_number: Option<i32>,
    validity: String,
}

impl TryFrom<UserRow> for User {
    type Error = InternalError;

    fn try_from(row: UserRow) -> Result<Self, InternalError> {
        Ok(User {
            email: row.email,
            name: row.name,
            customer_number: row.customer_number,
            validity: row.validity.parse().map_err(corrupt)?,
        })
    }
}

#[derive(Queryable)]
pub(super) struct SubscriptionRow {
    id: i64,
    customer_number: i32,
    title_code: String,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
}

impl From<SubscriptionRow> for Subscription {
    fn from(row: SubscriptionRow) -> Self {
        Subscription {
            id: row.id,
            customer_number: row.customer_number,
            title_code: row.title_code,
            start_date: row.start_date,
            end_date: row.end_date,
        }
    }
}
