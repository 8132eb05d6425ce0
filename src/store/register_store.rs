//! The register's port on diesel. Uniqueness is the database's: an insert
//! that breaks a unique key reports the record already there; changes that
//! other records may stand in the way of are single conditional statements.

use chrono::NaiveDate;
use diesel::dsl::{AsExprOf, sql};
use diesel::dsl::{exists, max, not};
use diesel::expression::{SqlLiteral, UncheckedBind};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Bool, Text};
use diesel::sqlite::SqliteConnection;

use super::rows::{
    CUSTOMER_COLUMNS, CustomerChanges, CustomerRow, NewCustomerRow, RelationTypeRow,
    SubscriptionRow, TitleRow, UserRow, all_converted, converted,
};
use super::schema::{customer_relations, customers, relation_types, subscriptions, titles, users};
use super::{DbConnection, db_run, internal};
use crate::register::{
    Customer, CustomerFields, CustomerPage, CustomerQuery, CustomerSortField, Guarded, Insert,
    NewSubscription, NumberMatch, RegisterRepository, SortDirection, Subscription, TextMatch,
    Title, User,
};
use crate::vocabulary::{InternalError, RelationType, Validity};

/// How many times a guarded change looks again when what blocked it is gone
/// by the time it looks.
const GUARD_ATTEMPTS: usize = 3;

fn is_unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// An insert's outcome under a unique key: the record, or the key of the
/// one already there.
fn insert_outcome<T>(
    inserted: QueryResult<T>,
    duplicate_key: impl FnOnce() -> String,
) -> Result<Insert<T>, InternalError> {
    match inserted {
        Ok(record) => Ok(Insert::New(record)),
        Err(e) if is_unique_violation(&e) => Ok(Insert::Duplicate(duplicate_key())),
        Err(e) => Err(internal(e)),
    }
}

impl RegisterRepository for DbConnection {
    fn insert_relation_type(
        &mut self,
        relation_type: &RelationType,
    ) -> Result<Insert<RelationType>, InternalError> {
        let values = (
            relation_types::code.eq(&relation_type.code),
            relation_types::name.eq(&relation_type.name),
            relation_types::reference_type.eq(relation_type.reference_type.as_str()),
            relation_types::title_mode.eq(relation_type.title_mode.as_str()),
        );
        let inserted = db_run!(self.conn(), |c| c.transaction(|c| diesel::insert_into(
            relation_types::table
        )
        .values(values)
        .execute(c)));
        insert_outcome(inserted.map(|_| relation_type.clone()), || {
            relation_type.code.clone()
        })
    }

    fn update_relation_type(
        &mut self,
        relation_type: &RelationType,
    ) -> Result<Guarded<RelationType>, InternalError> {
        let code = relation_type.code.as_str();
        let reference_type = relation_type.reference_type.as_str();
        // One statement, so that the check and the change cannot be split by
        // another writer: the reference type may change only while no
        // relation uses the type.
        for _ in 0..GUARD_ATTEMPTS {
            let unused = not(exists(
                customer_relations::table.filter(customer_relations::relation_type_code.eq(code)),
            ));
            let allowed = relation_types::reference_type.eq(reference_type).or(unused);
            let changes = (
                relation_types::name.eq(&relation_type.name),
                relation_types::reference_type.eq(reference_type),
                relation_types::title_mode.eq(relation_type.title_mode.as_str()),
            );
            let updated = db_run!(self.conn(), |c| diesel::update(
                relation_types::table.find(code).filter(allowed)
            )
            .set(changes)
            .execute(c))
            .map_err(internal)?;
            if updated > 0 {
                return Ok(Guarded::Done(relation_type.clone()));
            }
            match self.relation_type_blocked(code)? {
                Guarded::Done(_) => continue,
                Guarded::NotFound => return Ok(Guarded::NotFound),
                Guarded::InUse(n) => return Ok(Guarded::InUse(n)),
            }
        }
        Err(InternalError::new(
            "the relation type kept changing under concurrent writers",
        ))
    }

    fn delete_relation_type(&mut self, code: &str) -> Result<Guarded<()>, InternalError> {
        for _ in 0..GUARD_ATTEMPTS {
            let unused = not(exists(
                customer_relations::table.filter(customer_relations::relation_type_code.eq(code)),
            ));
            let deleted = db_run!(self.conn(), |c| c.transaction(|c| {
                diesel::delete(relation_types::table.find(code).filter(unused)).execute(c)
            }));
            match deleted {
                Ok(rows) if rows > 0 => return Ok(Guarded::Done(())),
                // Not deleted, or a relation created meanwhile made the
                // foreign key refuse: find out why.
                Ok(_)
                | Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                    match self.relation_type_blocked(code)? {
                        Guarded::Done(_) => continue,
                        Guarded::NotFound => return Ok(Guarded::NotFound),
                        Guarded::InUse(n) => return Ok(Guarded::InUse(n)),
                    }
                }
                Err(e) => return Err(internal(e)),
            }
        }
        Err(InternalError::new(
            "the relation type kept changing under concurrent writers",
        ))
    }

    fn insert_title(&mut self, title: &Title) -> Result<Insert<Title>, InternalError> {
        let values = (
            titles::code.eq(&title.code),
            titles::name.eq(&title.name),
            titles::validity.eq(title.validity.as_str()),
        );
        let inserted = db_run!(self.conn(), |c| c.transaction(|c| diesel::insert_into(
            titles::table
        )
        .values(values)
        .execute(c)));
        insert_outcome(inserted.map(|_| title.clone()), || title.code.clone())
    }

    fn update_title(&mut self, code: &str, name: &str) -> Result<Option<Title>, InternalError> {
        let row = db_run!(self.conn(), |c| diesel::update(titles::table.find(code))
            .set(titles::name.eq(name))
            .returning((titles::code, titles::name, titles::validity))
            .get_result::<TitleRow>(c)
            .optional());
        row.map_err(internal).and_then(converted)
    }

    fn set_title_validity(
        &mut self,
        code: &str,
        validity: Validity,
    ) -> Result<Option<Title>, InternalError> {
        let row = db_run!(self.conn(), |c| diesel::update(titles::table.find(code))
            .set(titles::validity.eq(validity.as_str()))
            .returning((titles::code, titles::name, titles::validity))
            .get_result::<TitleRow>(c)
            .optional());
        row.map_err(internal).and_then(converted)
    }

    fn title(&mut self, code: &str) -> Result<Option<Title>, InternalError> {
        let row = db_run!(self.conn(), |c| titles::table
            .find(code)
            .select((titles::code, titles::name, titles::validity))
            .get_result::<TitleRow>(c)
            .optional());
        row.map_err(internal).and_then(converted)
    }

    fn titles(&mut self, validity: Option<Validity>) -> Result<Vec<Title>, InternalError> {
        let rows = db_run!(self.conn(), |c| {
            let mut query = titles::table
                .select((titles::code, titles::name, titles::validity))
                .into_boxed();
            if let Some(validity) = validity {
                query = query.filter(titles::validity.eq(validity.as_str()));
            }
            query.load::<TitleRow>(c)
        });
        rows.map_err(internal).and_then(all_converted)
    }

    fn insert_customer(
        &mut self,
        customer_number: Option<i32>,
        fields: &CustomerFields,
        validity: Validity,
    ) -> Result<Insert<Customer>, InternalError> {
        let customer = |customer_number| Customer {
            customer_number,
            fields: fields.clone(),
            validity,
        };
        let Some(number) = customer_number else {
            return Ok(match self.insert_customer_numbered(fields, validity)? {
                Some(number) => Insert::New(customer(number)),
                None => Insert::NoKeyLeft,
            });
        };
        let row = NewCustomerRow {
            customer_number: number,
            validity: validity.as_str(),
            changes: CustomerChanges::new(fields),
        };
        let inserted = db_run!(self.conn(), |c| c.transaction(|c| diesel::insert_into(
            customers::table
        )
        .values(&row)
        .execute(c)));
        insert_outcome(inserted.map(|_| customer(number)), || number.to_string())
    }

    fn update_customer(
        &mut self,
        customer_number: i32,
        fields: &CustomerFields,
    ) -> Result<Option<Customer>, InternalError> {
        let changes = CustomerChanges::new(fields);
        let row = db_run!(self.conn(), |c| diesel::update(
            customers::table.find(customer_number)
        )
        .set(&changes)
        .returning(CUSTOMER_COLUMNS)
        .get_result::<CustomerRow>(c)
        .optional());
        row.map_err(internal).and_then(converted)
    }

    fn set_customer_validity(
        &mut self,
        customer_number: i32,
        validity: Validity,
    ) -> Result<Option<Customer>, InternalError> {
        let row = db_run!(self.conn(), |c| diesel::update(
            customers::table.find(customer_number)
        )
        .set(customers::validity.eq(validity.as_str()))
        .returning(CUSTOMER_COLUMNS)
        .get_result::<CustomerRow>(c)
        .optional());
        row.map_err(internal).and_then(converted)
    }

    fn customer_details(
        &mut self,
        customer_number: i32,
    ) -> Result<Option<Customer>, InternalError> {
        let row = db_run!(self.conn(), |c| customers::table
            .find(customer_number)
            .select(CUSTOMER_COLUMNS)
            .get_result::<CustomerRow>(c)
            .optional());
        row.map_err(internal).and_then(converted)
    }

    fn search_customers(&mut self, query: &CustomerQuery) -> Result<CustomerPage, InternalError> {
        let criteria = criteria(query);
        let order = order_by(query);
        let (total_count, rows) = db_run!(self.conn(), |c| {
            let matching = || {
                criteria
                    .iter()
                    .cloned()
                    .fold(customers::table.into_boxed(), |q, criterion| {
                        q.filter(criterion)
                    })
            };
            let total_count = matching().count().get_result::<i64>(c);
            total_count.and_then(|total_count| {
                matching()
                    .select(CUSTOMER_COLUMNS)
                    .order(sql::<Bool>(&order))
                    .offset(query.offset)
                    .limit(query.limit)
                    .load::<CustomerRow>(c)
                    .map(|rows| (total_count, rows))
            })
        })
        .map_err(internal)?;
        Ok(CustomerPage {
            total_count,
            offset: query.offset,
            customers: all_converted(rows)?,
        })
    }

    fn insert_subscription(
        &mut self,
        subscription: &NewSubscription,
    ) -> Result<Insert<Subscription>, InternalError> {
        let values = (
            subscriptions::customer_number.eq(subscription.customer_number),
            subscriptions::title_code.eq(&subscription.title_code),
            subscriptions::start_date.eq(subscription.start_date),
            subscriptions::end_date.eq(subscription.end_date),
        );
        let inserted = db_run!(self.conn(), |c| c.transaction(|c| diesel::insert_into(
            subscriptions::table
        )
        .values(values)
        .returning(subscriptions::id)
        .get_result::<i64>(c)));
        let created = |id| Subscription {
            id,
            customer_number: subscription.customer_number,
            title_code: subscription.title_code.clone(),
            start_date: subscription.start_date,
            end_date: subscription.end_date,
        };
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                let same = subscriptions::customer_number
                    .eq(subscription.customer_number)
                    .and(subscriptions::title_code.eq(&subscription.title_code))
                    .and(subscriptions::start_date.eq(subscription.start_date));
                let existing = db_run!(self.conn(), |c| subscriptions::table
                    .select(subscriptions::id)
                    .filter(same)
                    .get_result::<i64>(c))
                .map_err(internal)?;
                Ok(Insert::Duplicate(existing.to_string()))
            }
            inserted => inserted
                .map(|id| Insert::New(created(id)))
                .map_err(internal),
        }
    }

    fn subscription(&mut self, id: i64) -> Result<Option<Subscription>, InternalError> {
        let row = db_run!(self.conn(), |c| subscriptions::table
            .find(id)
            .get_result::<SubscriptionRow>(c)
            .optional());
        row.map(|row| row.map(Subscription::from)).map_err(internal)
    }

    fn set_subscription_end(
        &mut self,
        id: i64,
        end_date: NaiveDate,
        today: NaiveDate,
    ) -> Result<Option<Subscription>, InternalError> {
        let running = subscriptions::end_date
            .is_null()
            .or(subscriptions::end_date.gt(today));
        let row = db_run!(self.conn(), |c| diesel::update(
            subscriptions::table.find(id).filter(running)
        )
        .set(subscriptions::end_date.eq(end_date))
        .returning(subscriptions::all_columns)
        .get_result::<SubscriptionRow>(c)
        .optional());
        row.map(|row| row.map(Subscription::from)).map_err(internal)
    }

    fn subscriptions_of_customer(
        &mut self,
        customer_number: i32,
    ) -> Result<Vec<Subscription>, InternalError> {
        let rows = db_run!(self.conn(), |c| subscriptions::table
            .filter(subscriptions::customer_number.eq(customer_number))
            .order((subscriptions::start_date, subscriptions::id))
            .load::<SubscriptionRow>(c));
        rows.map(|rows| rows.into_iter().map(Subscription::from).collect())
            .map_err(internal)
    }

    fn insert_user(&mut self, user: &User) -> Result<Insert<User>, InternalError> {
        let values = (
            users::email.eq(&user.email),
            users::name.eq(&user.name),
            users::customer_number.eq(user.customer_number),
            users::validity.eq(user.validity.as_str()),
        );
        let inserted = db_run!(self.conn(), |c| c.transaction(|c| diesel::insert_into(
            users::table
        )
        .values(values)
        .execute(c)));
        insert_outcome(inserted.map(|_| user.clone()), || user.email.clone())
    }

    fn update_user(
        &mut self,
        email: &str,
        name: Option<&str>,
        customer_number: Option<i32>,
    ) -> Result<Option<User>, InternalError> {
        let changes = (
            users::name.eq(name),
            users::customer_number.eq(customer_number),
        );
        let row = db_run!(self.conn(), |c| diesel::update(users::table.find(email))
            .set(changes)
            .returning(users::all_columns)
            .get_result::<UserRow>(c)
            .optional());
        row.map_err(internal).and_then(converted)
    }

    fn set_user_validity(
        &mut self,
        email: &str,
        validity: Validity,
    ) -> Result<Option<User>, InternalError> {
        let row = db_run!(self.conn(), |c| diesel::update(users::table.find(email))
            .set(users::validity.eq(validity.as_str()))
            .returning(users::all_columns)
            .get_result::<UserRow>(c)
            .optional());
        row.map_err(internal).and_then(converted)
    }

    fn user(&mut self, email: &str) -> Result<Option<User>, InternalError> {
        let row = db_run!(self.conn(), |c| users::table
            .find(email)
            .get_result::<UserRow>(c)
            .optional());
        row.map_err(internal).and_then(converted)
    }
}

impl DbConnection {
    /// Why a guarded change to a relation type did not happen: it is gone,
    /// or relations use it. (`Done` when neither holds any more.)
    fn relation_type_blocked(
        &mut self,
        code: &str,
    ) -> Result<Guarded<RelationType>, InternalError> {
        let found = db_run!(self.conn(), |c| relation_types::table
            .find(code)
            .get_result::<RelationTypeRow>(c)
            .optional())
        .map_err(internal)?;
        let Some(found) = found else {
            return Ok(Guarded::NotFound);
        };
        let references = db_run!(self.conn(), |c| customer_relations::table
            .filter(customer_relations::relation_type_code.eq(code))
            .count()
            .get_result::<i64>(c))
        .map_err(internal)?;
        if references > 0 {
            Ok(Guarded::InUse(references))
        } else {
            RelationType::try_from(found).map(Guarded::Done)
        }
    }

    /// Inserts a customer under the highest number plus one, taking turns
    /// with concurrent assignments (see [`AssignmentLock`]); `None` when
    /// the highest number is the largest there is.
    fn insert_customer_numbered(
        &mut self,
        fields: &CustomerFields,
        validity: Validity,
    ) -> Result<Option<i32>, InternalError> {
        db_run!(self.conn(), |c| c.assignment_transaction(|c| {
            let highest = customers::table
                .select(max(customers::customer_number))
                .get_result::<Option<i32>>(c)?
                .unwrap_or(0);
            let Some(number) = highest.checked_add(1) else {
                return Ok(None);
            };
            let row = NewCustomerRow {
                customer_number: number,
                validity: validity.as_str(),
                changes: CustomerChanges::new(fields),
            };
            diesel::insert_into(customers::table)
                .values(&row)
                .execute(c)?;
            Ok(Some(number))
        }))
        .map_err(internal)
    }
}

/// A search criterion: SQL with one bound parameter, the same on both
/// backends (each text criterion compares the field's search key).
type Criterion = SqlLiteral<Bool, UncheckedBind<SqlLiteral<Bool>, AsExprOf<String, Text>>>;

fn criterion(before: &str, value: &str, after: &str) -> Criterion {
    sql::<Bool>(before)
        .bind::<Text, _>(value.to_owned())
        .sql(after)
}

/// What a search's customers must match, every criterion of them.
fn criteria(query: &CustomerQuery) -> Vec<Criterion> {
    let text = |column: &str, matched: &TextMatch| match matched {
        TextMatch::Exact(key) => criterion(&format!("{column} = "), key, ""),
        TextMatch::Like(pattern) => criterion(&format!("{column} LIKE "), pattern, " ESCAPE '\\'"),
    };
    let mut criteria = Vec::new();
    match &query.customer_number {
        // The number goes as text, like every criterion, and is compared
        // as a number, so that the primary key serves it.
        Some(NumberMatch::Exact(n)) => criteria.push(criterion(
            "customer_number = CAST(",
            &n.to_string(),
            " AS INTEGER)",
        )),
        Some(NumberMatch::Like(pattern)) => criteria.push(criterion(
            "CAST(customer_number AS TEXT) LIKE ",
            pattern,
            " ESCAPE '\\'",
        )),
        None => {}
    }
    criteria.extend(query.name.as_ref().map(|m| text("name_key", m)));
    criteria.extend(query.city.as_ref().map(|m| text("city_key", m)));
    criteria.extend(query.zip.as_ref().map(|m| text("zip_key", m)));
    if let Some(validity) = query.validity {
        criteria.push(criterion("validity = ", validity.as_str(), ""));
    }
    criteria
}

/// A search's ORDER BY: text by code point on both backends (the columns'
/// collation), empty values last either way, ties by customer number.
fn order_by(query: &CustomerQuery) -> String {
    let direction = match query.direction {
        SortDirection::Ascending => "ASC",
        SortDirection::Descending => "DESC",
    };
    let column = match query.sort_by {
        CustomerSortField::CustomerNumber => return format!("customer_number {direction}"),
        CustomerSortField::Name => "name_key",
        CustomerSortField::Street => "street",
        CustomerSortField::Zip => "zip_key",
        CustomerSortField::City => "city_key",
        CustomerSortField::Country => "country",
        CustomerSortField::Url => "url",
        CustomerSortField::Comment => "comment",
        CustomerSortField::Validity => "validity",
    };
    format!("{column} IS NULL, {column} {direction}, customer_number ASC")
}

/// A transaction in which customer numbers are assigned one at a time: the
/// one place where the backends take different locks.
trait AssignmentLock: Connection {
    fn assignment_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T>;
}

impl AssignmentLock for SqliteConnection {
    /// SQLite's write lock serialises the writers; every write already
    /// holds it, inside the group-commit writer's `BEGIN IMMEDIATE`.
    fn assignment_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        self.transaction(f)
    }
}

/// The PostgreSQL advisory lock key for customer number assignment
/// ("custnum" in ASCII).
const ASSIGNMENT_LOCK_KEY: i64 = 0x0063_7573_746e_756d;

impl AssignmentLock for PgConnection {
    /// A transaction-scoped advisory lock: instances sharing the database
    /// wait for each other's assignment, and it is released when the
    /// outermost transaction ends.
    fn assignment_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        self.transaction(|c| {
            diesel::sql_query(format!(
                "SELECT pg_advisory_xact_lock({ASSIGNMENT_LOCK_KEY})"
            ))
            .execute(c)?;
            f(c)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::CustomerSortField;

    fn query(sort_by: CustomerSortField, direction: SortDirection) -> CustomerQuery {
        CustomerQuery {
            customer_number: None,
            name: None,
            city: None,
            zip: None,
            validity: None,
            sort_by,
            direction,
            offset: 0,
            limit: 10,
        }
    }

    #[test]
    fn every_sort_field_has_an_order() {
        assert_eq!(
            order_by(&query(
                CustomerSortField::CustomerNumber,
                SortDirection::Descending
            )),
            "customer_number DESC"
        );
        assert_eq!(
            order_by(&query(CustomerSortField::City, SortDirection::Ascending)),
            "city_key IS NULL, city_key ASC, customer_number ASC"
        );
    }
}
