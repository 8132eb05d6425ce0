//! The built-in register repository on diesel, written once and compiled for
//! each backend's connection. Uniqueness is the database's: an insert that
//! breaks a unique key reports the record already there.

use chrono::NaiveDate;
use diesel::dsl::{exists, max, not};
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Bool, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};

use super::relation_store::RelationTypeRow;
use super::schema::{customer_relations, customers, relation_types, subscriptions, titles, users};
use super::{corrupt, internal};
use crate::register::{
    Customer, CustomerFields, CustomerPage, CustomerQuery, CustomerSortField, Guarded, Insert,
    NewSubscription, NumberMatch, RegisterRepository, SortDirection, Subscription, TextMatch,
    Title, User, search_key,
};
use crate::relations::{InternalError, RelationType, Validity};

/// A row read back, if there was one, as its record.
fn converted<R, T: TryFrom<R, Error = InternalError>>(
    row: Option<R>,
) -> Result<Option<T>, InternalError> {
    row.map(T::try_from).transpose()
}

fn is_unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The columns of a customer, in [`CUSTOMER_COLUMNS`] order.
#[derive(Queryable)]
struct CustomerRow {
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

type CustomerColumns = (
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

const CUSTOMER_COLUMNS: CustomerColumns = (
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
    pub name: &'a str,
    pub street: Option<&'a str>,
    pub zip: Option<&'a str>,
    pub city: Option<&'a str>,
    pub country: Option<&'a str>,
    pub url: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub name_key: String,
    pub zip_key: Option<String>,
    pub city_key: Option<String>,
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

#[derive(Insertable)]
#[diesel(table_name = customers)]
struct NewCustomerRow<'a> {
    customer_number: i32,
    validity: &'a str,
    #[diesel(embed)]
    changes: CustomerChanges<'a>,
}

#[derive(Queryable)]
struct TitleRow {
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
struct UserRow {
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
struct SubscriptionRow {
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

/// Rewrites every customer's search keys that differ from the service's own
/// fold; run after the migration that added them. Returns how many changed.
pub(super) trait RegisterMaintenance {
    fn refold_customers(&mut self) -> QueryResult<usize>;
}

macro_rules! register_store_for {
    ($conn:ty, $backend:ty) => {
        impl RegisterMaintenance for $conn {
            fn refold_customers(&mut self) -> QueryResult<usize> {
                let rows = customers::table
                    .select((
                        customers::customer_number,
                        customers::name,
                        customers::zip,
                        customers::city,
                        customers::name_key,
                        customers::zip_key,
                        customers::city_key,
                    ))
                    .load::<(
                        i32,
                        String,
                        Option<String>,
                        Option<String>,
                        String,
                        Option<String>,
                        Option<String>,
                    )>(self)?;
                let mut changed = 0;
                for (number, name, zip, city, name_key, zip_key, city_key) in rows {
                    let keys = (
                        search_key(&name),
                        zip.as_deref().map(search_key),
                        city.as_deref().map(search_key),
                    );
                    if keys != (name_key, zip_key, city_key) {
                        diesel::update(customers::table.find(number))
                            .set((
                                customers::name_key.eq(keys.0),
                                customers::zip_key.eq(keys.1),
                                customers::city_key.eq(keys.2),
                            ))
                            .execute(self)?;
                        changed += 1;
                    }
                }
                Ok(changed)
            }
        }

        impl RegisterRepository for $conn {
            fn insert_relation_type(
                &mut self,
                relation_type: &RelationType,
            ) -> Result<Insert<RelationType>, InternalError> {
                let inserted = diesel::insert_into(relation_types::table)
                    .values((
                        relation_types::code.eq(&relation_type.code),
                        relation_types::name.eq(&relation_type.name),
                        relation_types::reference_type.eq(relation_type.reference_type.as_str()),
                        relation_types::title_mode.eq(relation_type.title_mode.as_str()),
                    ))
                    .execute(self);
                match inserted {
                    Ok(_) => Ok(Insert::New(relation_type.clone())),
                    Err(e) if is_unique_violation(&e) => {
                        Ok(Insert::Duplicate(relation_type.code.clone()))
                    }
                    Err(e) => Err(internal(e)),
                }
            }

            fn update_relation_type(
                &mut self,
                relation_type: &RelationType,
            ) -> Result<Guarded<RelationType>, InternalError> {
                let code = relation_type.code.as_str();
                let reference_type = relation_type.reference_type.as_str();
                // One statement, so that the check and the change cannot be
                // split by another writer; should what blocked it vanish
                // before the second look, try again.
                for _ in 0..3 {
                    let updated = diesel::update(
                        relation_types::table.find(code).filter(
                            relation_types::reference_type
                                .eq(reference_type)
                                .or(not(exists(
                                    customer_relations::table
                                        .filter(customer_relations::relation_type_code.eq(code)),
                                ))),
                        ),
                    )
                    .set((
                        relation_types::name.eq(&relation_type.name),
                        relation_types::reference_type.eq(reference_type),
                        relation_types::title_mode.eq(relation_type.title_mode.as_str()),
                    ))
                    .execute(self)
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
                for _ in 0..3 {
                    let deleted = diesel::delete(
                        relation_types::table.find(code).filter(not(exists(
                            customer_relations::table
                                .filter(customer_relations::relation_type_code.eq(code)),
                        ))),
                    )
                    .execute(self);
                    match deleted {
                        Ok(rows) if rows > 0 => return Ok(Guarded::Done(())),
                        // Not deleted, or a relation created meanwhile made the
                        // foreign key refuse: find out why.
                        Ok(_)
                        | Err(DieselError::DatabaseError(
                            DatabaseErrorKind::ForeignKeyViolation,
                            _,
                        )) => match self.relation_type_blocked(code)? {
                            Guarded::Done(_) => continue,
                            Guarded::NotFound => return Ok(Guarded::NotFound),
                            Guarded::InUse(n) => return Ok(Guarded::InUse(n)),
                        },
                        Err(e) => return Err(internal(e)),
                    }
                }
                Err(InternalError::new(
                    "the relation type kept changing under concurrent writers",
                ))
            }

            fn insert_title(&mut self, title: &Title) -> Result<Insert<Title>, InternalError> {
                let inserted = diesel::insert_into(titles::table)
                    .values((
                        titles::code.eq(&title.code),
                        titles::name.eq(&title.name),
                        titles::validity.eq(title.validity.as_str()),
                    ))
                    .execute(self);
                match inserted {
                    Ok(_) => Ok(Insert::New(title.clone())),
                    Err(e) if is_unique_violation(&e) => Ok(Insert::Duplicate(title.code.clone())),
                    Err(e) => Err(internal(e)),
                }
            }

            fn update_title(
                &mut self,
                code: &str,
                name: &str,
            ) -> Result<Option<Title>, InternalError> {
                diesel::update(titles::table.find(code))
                    .set(titles::name.eq(name))
                    .returning((titles::code, titles::name, titles::validity))
                    .get_result::<TitleRow>(self)
                    .optional()
                    .map_err(internal)
                    .and_then(converted)
            }

            fn set_title_validity(
                &mut self,
                code: &str,
                validity: Validity,
            ) -> Result<Option<Title>, InternalError> {
                diesel::update(titles::table.find(code))
                    .set(titles::validity.eq(validity.as_str()))
                    .returning((titles::code, titles::name, titles::validity))
                    .get_result::<TitleRow>(self)
                    .optional()
                    .map_err(internal)
                    .and_then(converted)
            }

            fn title(&mut self, code: &str) -> Result<Option<Title>, InternalError> {
                titles::table
                    .find(code)
                    .select((titles::code, titles::name, titles::validity))
                    .first::<TitleRow>(self)
                    .optional()
                    .map_err(internal)?
                    .map(Title::try_from)
                    .transpose()
            }

            fn titles(&mut self, validity: Option<Validity>) -> Result<Vec<Title>, InternalError> {
                let mut query = titles::table
                    .select((titles::code, titles::name, titles::validity))
                    .into_boxed::<$backend>();
                if let Some(validity) = validity {
                    query = query.filter(titles::validity.eq(validity.as_str()));
                }
                query
                    .load::<TitleRow>(self)
                    .map_err(internal)?
                    .into_iter()
                    .map(Title::try_from)
                    .collect()
            }

            fn insert_customer(
                &mut self,
                customer_number: Option<i32>,
                fields: &CustomerFields,
                validity: Validity,
            ) -> Result<Insert<Customer>, InternalError> {
                let changes = CustomerChanges::new(fields);
                let Some(number) = customer_number else {
                    // The highest number plus one, under a lock that makes
                    // concurrent assignments take turns.
                    let number = self
                        .assignment_transaction(|c| {
                            let highest = customers::table
                                .select(max(customers::customer_number))
                                .first::<Option<i32>>(c)?
                                .unwrap_or(0);
                            let Some(number) = highest.checked_add(1) else {
                                return Ok(None);
                            };
                            diesel::insert_into(customers::table)
                                .values(&NewCustomerRow {
                                    customer_number: number,
                                    validity: validity.as_str(),
                                    changes,
                                })
                                .execute(c)?;
                            Ok(Some(number))
                        })
                        .map_err(internal)?;
                    let Some(number) = number else {
                        return Ok(Insert::NoKeyLeft);
                    };
                    return Ok(Insert::New(Customer {
                        customer_number: number,
                        fields: fields.clone(),
                        validity,
                    }));
                };
                let row = NewCustomerRow {
                    customer_number: number,
                    validity: validity.as_str(),
                    changes,
                };
                match diesel::insert_into(customers::table)
                    .values(&row)
                    .execute(self)
                {
                    Ok(_) => Ok(Insert::New(Customer {
                        customer_number: number,
                        fields: fields.clone(),
                        validity,
                    })),
                    Err(e) if is_unique_violation(&e) => Ok(Insert::Duplicate(number.to_string())),
                    Err(e) => Err(internal(e)),
                }
            }

            fn update_customer(
                &mut self,
                customer_number: i32,
                fields: &CustomerFields,
            ) -> Result<Option<Customer>, InternalError> {
                diesel::update(customers::table.find(customer_number))
                    .set(&CustomerChanges::new(fields))
                    .returning(CUSTOMER_COLUMNS)
                    .get_result::<CustomerRow>(self)
                    .optional()
                    .map_err(internal)
                    .and_then(converted)
            }

            fn set_customer_validity(
                &mut self,
                customer_number: i32,
                validity: Validity,
            ) -> Result<Option<Customer>, InternalError> {
                diesel::update(customers::table.find(customer_number))
                    .set(customers::validity.eq(validity.as_str()))
                    .returning(CUSTOMER_COLUMNS)
                    .get_result::<CustomerRow>(self)
                    .optional()
                    .map_err(internal)
                    .and_then(converted)
            }

            fn customer_details(
                &mut self,
                customer_number: i32,
            ) -> Result<Option<Customer>, InternalError> {
                customers::table
                    .find(customer_number)
                    .select(CUSTOMER_COLUMNS)
                    .first::<CustomerRow>(self)
                    .optional()
                    .map_err(internal)?
                    .map(Customer::try_from)
                    .transpose()
            }

            fn search_customers(
                &mut self,
                query: &CustomerQuery,
            ) -> Result<CustomerPage, InternalError> {
                let filtered = || {
                    let mut q = customers::table.into_boxed::<$backend>();
                    match &query.customer_number {
                        Some(NumberMatch::Exact(n)) => {
                            q = q.filter(customers::customer_number.eq(*n));
                        }
                        Some(NumberMatch::Like(pattern)) => {
                            q = q.filter(
                                diesel::dsl::sql::<Bool>(
                                    "CAST(customers.customer_number AS TEXT) LIKE ",
                                )
                                .bind::<Text, _>(pattern.clone())
                                .sql(" ESCAPE '\\'"),
                            );
                        }
                        None => {}
                    }
                    // Each text criterion compares the column's search key.
                    macro_rules! text_criterion {
                        ($criterion:expr, $key:expr) => {
                            match $criterion {
                                Some(TextMatch::Exact(key)) => q = q.filter($key.eq(key.clone())),
                                Some(TextMatch::Like(p)) => {
                                    q = q.filter($key.like(p.clone()).escape('\\'))
                                }
                                None => {}
                            }
                        };
                    }
                    text_criterion!(&query.name, customers::name_key);
                    text_criterion!(&query.city, customers::city_key);
                    text_criterion!(&query.zip, customers::zip_key);
                    if let Some(validity) = query.validity {
                        q = q.filter(customers::validity.eq(validity.as_str()));
                    }
                    q
                };
                let total_count = filtered()
                    .count()
                    .get_result::<i64>(self)
                    .map_err(internal)?;

                let q = filtered().select(CUSTOMER_COLUMNS);
                let ascending = query.direction == SortDirection::Ascending;
                // Sorted text is compared by code point on both backends; empty
                // values come last either way; ties go by customer number.
                macro_rules! by {
                    ($column:expr) => {
                        if ascending {
                            q.order((
                                $column.is_null(),
                                $column.asc(),
                                customers::customer_number.asc(),
                            ))
                        } else {
                            q.order((
                                $column.is_null(),
                                $column.desc(),
                                customers::customer_number.asc(),
                            ))
                        }
                    };
                }
                let q = match query.sort_by {
                    CustomerSortField::CustomerNumber if ascending => {
                        q.order(customers::customer_number.asc())
                    }
                    CustomerSortField::CustomerNumber => q.order(customers::customer_number.desc()),
                    CustomerSortField::Name => by!(customers::name_key),
                    CustomerSortField::Street => by!(customers::street),
                    CustomerSortField::Zip => by!(customers::zip_key),
                    CustomerSortField::City => by!(customers::city_key),
                    CustomerSortField::Country => by!(customers::country),
                    CustomerSortField::Url => by!(customers::url),
                    CustomerSortField::Comment => by!(customers::comment),
                    CustomerSortField::Validity => by!(customers::validity),
                };
                let customers = q
                    .offset(query.offset)
                    .limit(query.limit)
                    .load::<CustomerRow>(self)
                    .map_err(internal)?
                    .into_iter()
                    .map(Customer::try_from)
                    .collect::<Result<_, _>>()?;
                Ok(CustomerPage {
                    total_count,
                    offset: query.offset,
                    customers,
                })
            }

            fn insert_subscription(
                &mut self,
                subscription: &NewSubscription,
            ) -> Result<Insert<Subscription>, InternalError> {
                let inserted = diesel::insert_into(subscriptions::table)
                    .values((
                        subscriptions::customer_number.eq(subscription.customer_number),
                        subscriptions::title_code.eq(&subscription.title_code),
                        subscriptions::start_date.eq(subscription.start_date),
                        subscriptions::end_date.eq(subscription.end_date),
                    ))
                    .returning(subscriptions::id)
                    .get_result::<i64>(self);
                match inserted {
                    Ok(id) => Ok(Insert::New(Subscription {
                        id,
                        customer_number: subscription.customer_number,
                        title_code: subscription.title_code.clone(),
                        start_date: subscription.start_date,
                        end_date: subscription.end_date,
                    })),
                    Err(e) if is_unique_violation(&e) => {
                        let existing = subscriptions::table
                            .select(subscriptions::id)
                            .filter(subscriptions::customer_number.eq(subscription.customer_number))
                            .filter(subscriptions::title_code.eq(&subscription.title_code))
                            .filter(subscriptions::start_date.eq(subscription.start_date))
                            .first::<i64>(self)
                            .map_err(internal)?;
                        Ok(Insert::Duplicate(existing.to_string()))
                    }
                    Err(e) => Err(internal(e)),
                }
            }

            fn subscription(&mut self, id: i64) -> Result<Option<Subscription>, InternalError> {
                subscriptions::table
                    .find(id)
                    .first::<SubscriptionRow>(self)
                    .optional()
                    .map(|row| row.map(Subscription::from))
                    .map_err(internal)
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
                diesel::update(subscriptions::table.find(id).filter(running))
                    .set(subscriptions::end_date.eq(end_date))
                    .returning(subscriptions::all_columns)
                    .get_result::<SubscriptionRow>(self)
                    .optional()
                    .map(|row| row.map(Subscription::from))
                    .map_err(internal)
            }

            fn subscriptions_of_customer(
                &mut self,
                customer_number: i32,
            ) -> Result<Vec<Subscription>, InternalError> {
                subscriptions::table
                    .filter(subscriptions::customer_number.eq(customer_number))
                    .order((subscriptions::start_date, subscriptions::id))
                    .load::<SubscriptionRow>(self)
                    .map(|rows| rows.into_iter().map(Subscription::from).collect())
                    .map_err(internal)
            }

            fn insert_user(&mut self, user: &User) -> Result<Insert<User>, InternalError> {
                let inserted = diesel::insert_into(users::table)
                    .values((
                        users::email.eq(&user.email),
                        users::name.eq(&user.name),
                        users::customer_number.eq(user.customer_number),
                        users::validity.eq(user.validity.as_str()),
                    ))
                    .execute(self);
                match inserted {
                    Ok(_) => Ok(Insert::New(user.clone())),
                    Err(e) if is_unique_violation(&e) => Ok(Insert::Duplicate(user.email.clone())),
                    Err(e) => Err(internal(e)),
                }
            }

            fn update_user(
                &mut self,
                email: &str,
                name: Option<&str>,
                customer_number: Option<i32>,
            ) -> Result<Option<User>, InternalError> {
                diesel::update(users::table.find(email))
                    .set((
                        users::name.eq(name),
                        users::customer_number.eq(customer_number),
                    ))
                    .returning(users::all_columns)
                    .get_result::<UserRow>(self)
                    .optional()
                    .map_err(internal)
                    .and_then(converted)
            }

            fn set_user_validity(
                &mut self,
                email: &str,
                validity: Validity,
            ) -> Result<Option<User>, InternalError> {
                diesel::update(users::table.find(email))
                    .set(users::validity.eq(validity.as_str()))
                    .returning(users::all_columns)
                    .get_result::<UserRow>(self)
                    .optional()
                    .map_err(internal)
                    .and_then(converted)
            }

            fn user(&mut self, email: &str) -> Result<Option<User>, InternalError> {
                users::table
                    .find(email)
                    .first::<UserRow>(self)
                    .optional()
                    .map_err(internal)?
                    .map(User::try_from)
                    .transpose()
            }
        }

        impl RelationTypeGuard for $conn {
            fn relation_type_blocked(
                &mut self,
                code: &str,
            ) -> Result<Guarded<RelationType>, InternalError> {
                let found = relation_types::table
                    .find(code)
                    .first::<RelationTypeRow>(self)
                    .optional()
                    .map_err(internal)?;
                let Some(found) = found else {
                    return Ok(Guarded::NotFound);
                };
                let references = customer_relations::table
                    .filter(customer_relations::relation_type_code.eq(code))
                    .count()
                    .get_result::<i64>(self)
                    .map_err(internal)?;
                if references > 0 {
                    Ok(Guarded::InUse(references))
                } else {
                    RelationType::try_from(found).map(Guarded::Done)
                }
            }
        }
    };
}

/// Why a guarded change to a relation type did not happen: it is gone, or
/// relations use it. (`Done` when neither holds any more.)
trait RelationTypeGuard {
    fn relation_type_blocked(&mut self, code: &str)
    -> Result<Guarded<RelationType>, InternalError>;
}

/// A transaction in which customer numbers are assigned one at a time.
trait AssignmentLock: Connection {
    fn assignment_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T>;
}

impl AssignmentLock for SqliteConnection {
    /// SQLite's write lock, taken up front, serialises the writers.
    fn assignment_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        self.immediate_transaction(f)
    }
}

/// The PostgreSQL advisory lock key for customer number assignment
/// ("custnum" in ASCII).
const ASSIGNMENT_LOCK_KEY: i64 = 0x0063_7573_746e_756d;

impl AssignmentLock for PgConnection {
    /// A transaction-scoped advisory lock: instances sharing the database
    /// wait for each other's assignment, and it is released on commit.
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

register_store_for!(SqliteConnection, Sqlite);
register_store_for!(PgConnection, Pg);
