//! The importer's bulk writes on diesel: upserts by each table's key, many
//! rows to a statement.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::rows::{CustomerChanges, NewCustomerRow};
use super::schema::{customers, relation_types, subscriptions, titles, users};
use super::{Conn, db_run, internal};
use crate::register::{Customer, NewSubscription, RegisterLoader, Title, User};
use crate::vocabulary::{InternalError, RelationType};

/// A connection inside the transaction of `Database::bulk_load`.
pub(super) struct Loader<'a>(Conn<'a>);

impl<'a> Loader<'a> {
    pub fn new(conn: Conn<'a>) -> Self {
        Self(conn)
    }

    fn conn(&mut self) -> Conn<'_> {
        match &mut self.0 {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = titles, treat_none_as_default_value = false)]
struct TitleRecord<'a> {
    code: &'a str,
    name: &'a str,
    validity: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = relation_types, treat_none_as_default_value = false)]
struct RelationTypeRecord<'a> {
    code: &'a str,
    name: &'a str,
    reference_type: &'a str,
    title_mode: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
struct UserRecord<'a> {
    email: &'a str,
    name: Option<&'a str>,
    customer_number: Option<i32>,
    validity: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = subscriptions, treat_none_as_default_value = false)]
struct SubscriptionRecord<'a> {
    customer_number: i32,
    title_code: &'a str,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
}

impl RegisterLoader for Loader<'_> {
    fn upsert_titles(&mut self, titles: &[Title]) -> Result<(), InternalError> {
        let records: Vec<_> = titles
            .iter()
            .map(|t| TitleRecord {
                code: &t.code,
                name: &t.name,
                validity: t.validity.as_str(),
            })
            .collect();
        let changes = (
            titles::name.eq(excluded(titles::name)),
            titles::validity.eq(excluded(titles::validity)),
        );
        db_run!(self.conn(), |c| diesel::insert_into(titles::table)
            .values(&records)
            .on_conflict(titles::code)
            .do_update()
            .set(changes)
            .execute(c))
        .map(drop)
        .map_err(internal)
    }

    fn upsert_customers(&mut self, customers: &[Customer]) -> Result<(), InternalError> {
        let records: Vec<_> = customers
            .iter()
            .map(|customer| NewCustomerRow {
                customer_number: customer.customer_number,
                validity: customer.validity.as_str(),
                changes: CustomerChanges::new(&customer.fields),
            })
            .collect();
        let changes = (
            customers::name.eq(excluded(customers::name)),
            customers::street.eq(excluded(customers::street)),
            customers::zip.eq(excluded(customers::zip)),
            customers::city.eq(excluded(customers::city)),
            customers::country.eq(excluded(customers::country)),
            customers::url.eq(excluded(customers::url)),
            customers::comment.eq(excluded(customers::comment)),
            customers::validity.eq(excluded(customers::validity)),
            customers::name_key.eq(excluded(customers::name_key)),
            customers::zip_key.eq(excluded(customers::zip_key)),
            customers::city_key.eq(excluded(customers::city_key)),
        );
        db_run!(self.conn(), |c| diesel::insert_into(customers::table)
            .values(&records)
            .on_conflict(customers::customer_number)
            .do_update()
            .set(changes)
            .execute(c))
        .map(drop)
        .map_err(internal)
    }

    fn upsert_relation_types(&mut self, types: &[RelationType]) -> Result<(), InternalError> {
        let records: Vec<_> = types
            .iter()
            .map(|t| RelationTypeRecord {
                code: &t.code,
                name: &t.name,
                reference_type: t.reference_type.as_str(),
                title_mode: t.title_mode.as_str(),
            })
            .collect();
        let changes = (
            relation_types::name.eq(excluded(relation_types::name)),
            relation_types::reference_type.eq(excluded(relation_types::reference_type)),
            relation_types::title_mode.eq(excluded(relation_types::title_mode)),
        );
        db_run!(self.conn(), |c| diesel::insert_into(relation_types::table)
            .values(&records)
            .on_conflict(relation_types::code)
            .do_update()
            .set(changes)
            .execute(c))
        .map(drop)
        .map_err(internal)
    }

    fn upsert_users(&mut self, users: &[User]) -> Result<(), InternalError> {
        let records: Vec<_> = users
            .iter()
            .map(|u| UserRecord {
                email: &u.email,
                name: u.name.as_deref(),
                customer_number: u.customer_number,
                validity: u.validity.as_str(),
            })
            .collect();
        let changes = (
            users::name.eq(excluded(users::name)),
            users::customer_number.eq(excluded(users::customer_number)),
            users::validity.eq(excluded(users::validity)),
        );
        db_run!(self.conn(), |c| diesel::insert_into(users::table)
            .values(&records)
            .on_conflict(users::email)
            .do_update()
            .set(changes)
            .execute(c))
        .map(drop)
        .map_err(internal)
    }

    fn upsert_subscriptions(
        &mut self,
        subscriptions: &[NewSubscription],
    ) -> Result<(), InternalError> {
        let records: Vec<_> = subscriptions
            .iter()
            .map(|s| SubscriptionRecord {
                customer_number: s.customer_number,
                title_code: &s.title_code,
                start_date: s.start_date,
                end_date: s.end_date,
            })
            .collect();
        let key = (
            subscriptions::customer_number,
            subscriptions::title_code,
            subscriptions::start_date,
        );
        db_run!(self.conn(), |c| diesel::insert_into(subscriptions::table)
            .values(&records)
            .on_conflict(key)
            .do_update()
            .set(subscriptions::end_date.eq(excluded(subscriptions::end_date)))
            .execute(c))
        .map(drop)
        .map_err(internal)
    }

    fn customer_exists(&mut self, customer_number: i32) -> Result<bool, InternalError> {
        db_run!(self.conn(), |c| diesel::select(diesel::dsl::exists(
            customers::table.find(customer_number)
        ))
        .get_result::<bool>(c))
        .map_err(internal)
    }

    fn title_exists(&mut self, code: &str) -> Result<bool, InternalError> {
        db_run!(self.conn(), |c| diesel::select(diesel::dsl::exists(
            titles::table.find(code)
        ))
        .get_result::<bool>(c))
        .map_err(internal)
    }
}
