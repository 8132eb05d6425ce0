//! The rows of each fixture file: read from CSV, checked by the register's
//! rules, and handed to the loader.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::register::{
    Customer, CustomerFields, NAME_MAX_CHARS, NewSubscription, RegisterLoader, Title, User,
    check_customer_fields,
};
use crate::vocabulary::{
    CanonicalReference, FieldErrors, InternalError, ReferenceType, RegisterCode, RelationType,
    TitleMode, Validity,
};

/// Customers are written this many to a statement: a 100,000-row file is
/// 100 statements, not 100,000 round trips. (Twelve columns each stays well
/// under both backends' limit on bound parameters.)
const CUSTOMER_BATCH: usize = 1_000;

/// One CSV record of a file, on its way to the loader. Each method reads the
/// record as its file's row, checks it, and loads it; the error is the
/// sentence its line is reported with.
pub(super) struct Loaded<'a> {
    pub loader: &'a mut dyn RegisterLoader,
    pub record: &'a csv::StringRecord,
    pub headers: &'a csv::StringRecord,
    pub line: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TitleRow {
    code: String,
    name: String,
    validity: Option<Validity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerRow {
    customer_number: i32,
    name: String,
    street: Option<String>,
    zip: Option<String>,
    city: Option<String>,
    country: Option<String>,
    url: Option<String>,
    comment: Option<String>,
    validity: Option<Validity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RelationTypeRow {
    code: String,
    name: String,
    reference_type: ReferenceType,
    title_mode: TitleMode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRow {
    email: String,
    name: Option<String>,
    customer_number: Option<i32>,
    validity: Option<Validity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionRow {
    customer_number: i32,
    title_code: String,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
}

impl Loaded<'_> {
    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        self.record
            .deserialize(Some(self.headers))
            .map_err(csv_message)
    }

    pub fn title(self) -> Result<(), String> {
        let row: TitleRow = self.parse()?;
        let title = Title {
            code: code(&row.code)?,
            name: required("name", &row.name)?,
            validity: row.validity.unwrap_or(Validity::Valid),
        };
        self.loader.upsert_titles(&[title]).map_err(refused)
    }

    /// Checked now, written with the batch it completes (or at the end of
    /// the file).
    pub fn customer(self, batch: &mut CustomerBatch) -> Result<(), String> {
        let row: CustomerRow = self.parse()?;
        if batch.push(row, self.line)? {
            batch.flush(self.loader)?;
        }
        Ok(())
    }

    pub fn relation_type(self) -> Result<(), String> {
        let row: RelationTypeRow = self.parse()?;
        // Subscription types whose title mode is not Required are allowed here on
        // purpose: such types exist in the field (README, "The register service").
        let relation_type = RelationType {
            code: code(&row.code)?,
            name: required("name", &row.name)?,
            reference_type: row.reference_type,
            title_mode: row.title_mode,
        };
        self.loader
            .upsert_relation_types(&[relation_type])
            .map_err(refused)
    }

    pub fn user(self) -> Result<(), String> {
        let row: UserRow = self.parse()?;
        let email = CanonicalReference::email(&row.email)
            .ok_or_else(|| format!("'{}' is not an e-mail address", row.email))?
            .as_stored();
        if let Some(number) = row.customer_number {
            customer_exists(self.loader, number)?;
        }
        let name = checked(|errors| errors.optional("name", row.name.as_deref(), NAME_MAX_CHARS))?;
        let user = User {
            email,
            name,
            customer_number: row.customer_number,
            validity: row.validity.unwrap_or(Validity::Valid),
        };
        self.loader.upsert_users(&[user]).map_err(refused)
    }

    pub fn subscription(self) -> Result<(), String> {
        let row: SubscriptionRow = self.parse()?;
        customer_exists(self.loader, row.customer_number)?;
        if !self.loader.title_exists(&row.title_code).map_err(refused)? {
            return Err(format!("title '{}' does not exist", row.title_code));
        }
        if let Some(end) = row.end_date.filter(|end| *end < row.start_date) {
            return Err(format!(
                "end_date {end} is before start_date {}",
                row.start_date
            ));
        }
        let subscription = NewSubscription {
            customer_number: row.customer_number,
            title_code: row.title_code,
            start_date: row.start_date,
            end_date: row.end_date,
        };
        self.loader
            .upsert_subscriptions(&[subscription])
            .map_err(refused)
    }
}

fn customer_exists(loader: &mut dyn RegisterLoader, number: i32) -> Result<(), String> {
    if loader.customer_exists(number).map_err(refused)? {
        Ok(())
    } else {
        Err(format!("customer {number} does not exist"))
    }
}

/// Checked customer rows waiting to be written together.
#[derive(Default)]
pub(super) struct CustomerBatch {
    customers: Vec<Customer>,
    /// The line of the first row in `customers`, for a database error.
    first_line: u64,
    /// Every customer number of the file so far, with its line: one
    /// statement cannot write the same customer twice.
    seen: HashMap<i32, u64>,
}

impl CustomerBatch {
    /// Checks a row and keeps it; `true` when the batch is full.
    fn push(&mut self, row: CustomerRow, line: u64) -> Result<bool, String> {
        if row.customer_number <= 0 {
            return Err(format!(
                "customer_number must be a positive number, not {}",
                row.customer_number
            ));
        }
        if let Some(first) = self.seen.insert(row.customer_number, line) {
            return Err(format!(
                "customer {} is already on line {first}",
                row.customer_number
            ));
        }
        let mut errors = FieldErrors::default();
        let fields = check_customer_fields(
            &CustomerFields {
                name: row.name,
                street: row.street,
                zip: row.zip,
                city: row.city,
                country: row.country,
                url: row.url,
                comment: row.comment,
            },
            &mut errors,
        );
        if !errors.is_empty() {
            let messages: Vec<_> = errors.into_vec().into_iter().map(|e| e.message).collect();
            return Err(messages.join(" "));
        }
        if self.customers.is_empty() {
            self.first_line = line;
        }
        self.customers.push(Customer {
            customer_number: row.customer_number,
            fields,
            validity: row.validity.unwrap_or(Validity::Valid),
        });
        Ok(self.customers.len() >= CUSTOMER_BATCH)
    }

    pub fn first_line(&self) -> u64 {
        self.first_line
    }

    pub fn flush(&mut self, loader: &mut dyn RegisterLoader) -> Result<(), String> {
        if self.customers.is_empty() {
            return Ok(());
        }
        loader.upsert_customers(&self.customers).map_err(refused)?;
        self.customers.clear();
        Ok(())
    }
}

fn csv_message(e: csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(i) => format!("column {}: {}", i + 1, err.kind()),
            None => err.kind().to_string(),
        },
        _ => e.to_string(),
    }
}

fn refused(e: InternalError) -> String {
    format!("the database refused the row: {e}")
}

fn code(raw: &str) -> Result<String, String> {
    RegisterCode::parse(raw)
        .map(RegisterCode::into_inner)
        .map_err(|e| e.to_string())
}

/// A field checked by the register service's own rule (the same limits,
/// one line); its message when the rule is broken.
fn checked<T>(check: impl FnOnce(&mut FieldErrors) -> Option<T>) -> Result<Option<T>, String> {
    let mut errors = FieldErrors::default();
    let value = check(&mut errors);
    match errors.into_vec().into_iter().next() {
        Some(broken) => Err(broken.message),
        None => Ok(value),
    }
}

/// A name that must be given.
fn required(field: &'static str, value: &str) -> Result<String, String> {
    checked(|errors| errors.required(field, value, NAME_MAX_CHARS))?
        .ok_or_else(|| format!("{field} is required."))
}
