//! Loading the register from a folder of CSV files. One transaction for the
//! whole folder: a bad row names its file and line and changes nothing.
//! Re-importing the same files changes nothing either (rows are upserted).

use std::path::Path;

use chrono::NaiveDate;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::Deserialize;

use super::DbConnection;
use super::register_store::CustomerChanges;
use super::schema::{customers, relation_types, subscriptions, titles, users};
use crate::register::{CustomerFields, FieldErrors, check_customer_fields};
use crate::relations::{CanonicalReference, ReferenceType, RegisterCode, TitleMode, Validity};

/// Customers are written this many to a statement: a 100,000-row file is
/// 100 statements, not 100,000 round trips. (Ten columns each stays well
/// under both backends' limit on bound parameters.)
const CUSTOMER_BATCH: usize = 1_000;

/// A long import reports progress every this many rows of a file.
pub const PROGRESS_EVERY: usize = 10_000;

/// Where an import reports how far it has come: (file, rows so far).
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize);

/// The files a fixture folder may hold, in the order they are loaded (each
/// may refer to rows of the ones before it).
const FILES: [&str; 5] = [
    "titles.csv",
    "customers.csv",
    "relation_types.csv",
    "users.csv",
    "subscriptions.csv",
];

/// One fixture file: its name (as shown in errors) and its contents.
#[derive(Debug, Clone)]
pub struct FixtureFile {
    pub path: String,
    pub contents: String,
}

impl FixtureFile {
    fn kind(&self) -> &str {
        Path::new(&self.path)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}:{line}: {message}")]
pub struct ImportError {
    pub path: String,
    /// 1-based; 0 when the error is about the file as a whole.
    pub line: u64,
    pub message: String,
}

/// Rows read, per file kind, in load order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub rows: Vec<(String, usize)>,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<_> = self.rows.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// The demo data set of CONTRACT §5, built into the binary so `--demo` works
/// from any directory.
pub fn demo_fixtures() -> Vec<FixtureFile> {
    macro_rules! demo {
        ($($name:literal),+) => {
            vec![$(FixtureFile {
                path: concat!("fixtures/demo/", $name).to_owned(),
                contents: include_str!(concat!("../../fixtures/demo/", $name)).to_owned(),
            }),+]
        };
    }
    demo!(
        "titles.csv",
        "customers.csv",
        "relation_types.csv",
        "users.csv",
        "subscriptions.csv"
    )
}

/// Reads the fixture files of a folder. Files the importer does not know are
/// refused rather than skipped, so a misspelt name cannot go unnoticed.
pub fn read_fixture_dir(dir: &Path) -> Result<Vec<FixtureFile>, ImportError> {
    let whole = |path: &Path, message: String| ImportError {
        path: path.display().to_string(),
        line: 0,
        message,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| whole(dir, e.to_string()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| whole(dir, e.to_string()))?.path();
        if !path.is_file() {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !FILES.contains(&name) {
            return Err(whole(
                &path,
                format!("unknown fixture file; expected any of {}", FILES.join(", ")),
            ));
        }
        let contents = std::fs::read_to_string(&path).map_err(|e| whole(&path, e.to_string()))?;
        files.push(FixtureFile {
            path: path.display().to_string(),
            contents,
        });
    }
    if files.is_empty() {
        return Err(whole(
            dir,
            format!("no fixture files; expected any of {}", FILES.join(", ")),
        ));
    }
    Ok(files)
}

pub(super) fn import(
    conn: &mut DbConnection,
    files: &[FixtureFile],
    progress: Progress<'_>,
) -> Result<ImportSummary, ImportError> {
    // SQLite takes its write lock up front, so that a concurrent writer
    // cannot make the transaction fail half-way; PostgreSQL locks row by row.
    let imported = match conn {
        DbConnection::Sqlite(c) => (**c).immediate_transaction(|c| import_all(c, files, progress)),
        DbConnection::Postgres(c) => (**c).transaction(|c| import_all(c, files, progress)),
    };
    imported.map_err(|e: TxError| match e {
        TxError::Import(e) => e,
        TxError::Db(e) => ImportError {
            path: "(database)".into(),
            line: 0,
            message: e.to_string(),
        },
    })
}

fn import_all<C: RegisterLoader>(
    conn: &mut C,
    files: &[FixtureFile],
    progress: Progress<'_>,
) -> Result<ImportSummary, TxError> {
    let mut summary = ImportSummary::default();
    for kind in FILES {
        for file in files.iter().filter(|f| f.kind() == kind) {
            let rows = import_file(conn, file, progress)?;
            summary
                .rows
                .push((kind.trim_end_matches(".csv").to_owned(), rows));
        }
    }
    Ok(summary)
}

enum TxError {
    Import(ImportError),
    Db(diesel::result::Error),
}

impl From<ImportError> for TxError {
    fn from(e: ImportError) -> Self {
        Self::Import(e)
    }
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

fn import_file<C: RegisterLoader>(
    conn: &mut C,
    file: &FixtureFile,
    progress: Progress<'_>,
) -> Result<usize, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file.contents.as_bytes());
    let at = |line: u64, message: String| ImportError {
        path: file.path.clone(),
        line,
        message,
    };
    let headers = reader.headers().map_err(|e| at(1, e.to_string()))?.clone();
    let mut customers = CustomerBatch::default();
    let mut count = 0;
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            at(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let loaded = match file.kind() {
            "titles.csv" => parse(&record, &headers).and_then(|r| conn.load_title(r)),
            "customers.csv" => parse(&record, &headers)
                .and_then(|r| customers.push(r, line))
                .and_then(|full| if full { customers.flush(conn) } else { Ok(()) }),
            "relation_types.csv" => {
                parse(&record, &headers).and_then(|r| conn.load_relation_type(r))
            }
            "users.csv" => parse(&record, &headers).and_then(|r| conn.load_user(r)),
            "subscriptions.csv" => parse(&record, &headers).and_then(|r| conn.load_subscription(r)),
            other => Err(format!("unknown fixture file kind '{other}'")),
        };
        loaded.map_err(|message| at(line, message))?;
        count += 1;
        if count % PROGRESS_EVERY == 0 {
            progress(&file.path, count);
        }
    }
    customers
        .flush(conn)
        .map_err(|message| at(customers.first_line, message))?;
    Ok(count)
}

/// Checked customer rows waiting to be written together.
#[derive(Default)]
struct CustomerBatch {
    rows: Vec<(i32, CustomerFields, Validity)>,
    /// The line of the first row in `rows`, for a database error.
    first_line: u64,
    /// Every customer number of the file so far, with its line: one
    /// statement cannot write the same customer twice.
    seen: std::collections::HashMap<i32, u64>,
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
        if self.rows.is_empty() {
            self.first_line = line;
        }
        self.rows.push((
            row.customer_number,
            fields,
            row.validity.unwrap_or(Validity::Valid),
        ));
        Ok(self.rows.len() >= CUSTOMER_BATCH)
    }

    fn flush<C: RegisterLoader>(&mut self, conn: &mut C) -> Result<(), String> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let records: Vec<_> = self
            .rows
            .iter()
            .map(|(number, fields, validity)| CustomerRecord {
                customer_number: *number,
                validity: validity.as_str(),
                changes: CustomerChanges::new(fields),
            })
            .collect();
        conn.load_customers(&records)?;
        self.rows.clear();
        Ok(())
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    record: &csv::StringRecord,
    headers: &csv::StringRecord,
) -> Result<T, String> {
    record.deserialize(Some(headers)).map_err(csv_message)
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

/// Inserts a record, or updates the row with the same key: what makes a
/// re-import change nothing.
macro_rules! upsert {
    ($conn:expr, $table:expr, $key:expr, $record:expr) => {
        diesel::insert_into($table)
            .values($record)
            .on_conflict($key)
            .do_update()
            .set($record)
            .execute($conn)
            .map(drop)
            .map_err(db_message)
    };
}

fn db_message(e: diesel::result::Error) -> String {
    format!("the database refused the row: {e}")
}

fn code(raw: &str) -> Result<String, String> {
    RegisterCode::parse(raw)
        .map(RegisterCode::into_inner)
        .map_err(|e| e.to_string())
}

fn required(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        Err(format!("{field} must not be empty"))
    } else {
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TitleRow {
    code: String,
    name: String,
    validity: Option<Validity>,
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = titles)]
struct TitleRecord<'a> {
    code: &'a str,
    name: &'a str,
    validity: &'a str,
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

#[derive(Insertable)]
#[diesel(table_name = customers, treat_none_as_default_value = false)]
struct CustomerRecord<'a> {
    customer_number: i32,
    validity: &'a str,
    #[diesel(embed)]
    changes: CustomerChanges<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RelationTypeRow {
    code: String,
    name: String,
    reference_type: ReferenceType,
    title_mode: TitleMode,
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = relation_types)]
struct RelationTypeRecord<'a> {
    code: &'a str,
    name: &'a str,
    reference_type: &'a str,
    title_mode: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRow {
    email: String,
    name: Option<String>,
    customer_number: Option<i32>,
    validity: Option<Validity>,
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
struct UserRecord<'a> {
    email: &'a str,
    name: Option<&'a str>,
    customer_number: Option<i32>,
    validity: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionRow {
    customer_number: i32,
    title_code: String,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
}

#[derive(Insertable)]
#[diesel(table_name = subscriptions)]
struct SubscriptionRecord<'a> {
    customer_number: i32,
    title_code: &'a str,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
}

/// Writing the register, row by row. One implementation per backend, from
/// the same code.
trait RegisterLoader {
    fn customer_exists(&mut self, number: i32) -> Result<(), String>;
    fn title_exists(&mut self, code: &str) -> Result<(), String>;
    fn load_title(&mut self, row: TitleRow) -> Result<(), String>;
    /// Inserts the customers, or updates those already there.
    fn load_customers(&mut self, records: &[CustomerRecord<'_>]) -> Result<(), String>;
    fn load_relation_type(&mut self, row: RelationTypeRow) -> Result<(), String>;
    fn load_user(&mut self, row: UserRow) -> Result<(), String>;
    fn load_subscription(&mut self, row: SubscriptionRow) -> Result<(), String>;
}

macro_rules! register_loader_for {
    ($conn:ty) => {
        impl RegisterLoader for $conn {
            fn customer_exists(&mut self, number: i32) -> Result<(), String> {
                let conn = self;
                let found = diesel::select(diesel::dsl::exists(customers::table.find(number)))
                    .get_result::<bool>(conn)
                    .map_err(db_message)?;
                found
                    .then_some(())
                    .ok_or_else(|| format!("customer {number} does not exist"))
            }

            fn title_exists(&mut self, code: &str) -> Result<(), String> {
                let conn = self;
                let found = diesel::select(diesel::dsl::exists(titles::table.find(code)))
                    .get_result::<bool>(conn)
                    .map_err(db_message)?;
                found
                    .then_some(())
                    .ok_or_else(|| format!("title '{code}' does not exist"))
            }

            fn load_title(&mut self, row: TitleRow) -> Result<(), String> {
                let conn = self;
                let code = code(&row.code)?;
                required("name", &row.name)?;
                let record = TitleRecord {
                    code: &code,
                    name: &row.name,
                    validity: row.validity.unwrap_or(Validity::Valid).as_str(),
                };
                upsert!(conn, titles::table, titles::code, &record)
            }

            fn load_customers(&mut self, records: &[CustomerRecord<'_>]) -> Result<(), String> {
                use diesel::upsert::excluded;
                diesel::insert_into(customers::table)
                    .values(records)
                    .on_conflict(customers::customer_number)
                    .do_update()
                    .set((
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
                    ))
                    .execute(self)
                    .map(drop)
                    .map_err(db_message)
            }

            fn load_relation_type(&mut self, row: RelationTypeRow) -> Result<(), String> {
                let conn = self;
                let code = code(&row.code)?;
                required("name", &row.name)?;
                // Subscription types whose title mode is not Required are allowed here on
                // purpose: reference 004's Caution says such types exist in the field.
                let record = RelationTypeRecord {
                    code: &code,
                    name: &row.name,
                    reference_type: row.reference_type.as_str(),
                    title_mode: row.title_mode.as_str(),
                };
                upsert!(conn, relation_types::table, relation_types::code, &record)
            }

            fn load_user(&mut self, row: UserRow) -> Result<(), String> {
                let conn = self;
                let email = CanonicalReference::email(&row.email)
                    .ok_or_else(|| format!("'{}' is not an e-mail address", row.email))?
                    .as_stored();
                if let Some(number) = row.customer_number {
                    conn.customer_exists(number)?;
                }
                let record = UserRecord {
                    email: &email,
                    name: row.name.as_deref().filter(|n| !n.is_empty()),
                    customer_number: row.customer_number,
                    validity: row.validity.unwrap_or(Validity::Valid).as_str(),
                };
                upsert!(conn, users::table, users::email, &record)
            }

            fn load_subscription(&mut self, row: SubscriptionRow) -> Result<(), String> {
                let conn = self;
                let number = row.customer_number;
                conn.customer_exists(number)?;
                conn.title_exists(&row.title_code)?;
                if let Some(end) = row.end_date.filter(|end| *end < row.start_date) {
                    return Err(format!(
                        "end_date {end} is before start_date {}",
                        row.start_date
                    ));
                }
                let record = SubscriptionRecord {
                    customer_number: number,
                    title_code: &row.title_code,
                    start_date: row.start_date,
                    end_date: row.end_date,
                };
                diesel::insert_into(subscriptions::table)
                    .values(&record)
                    .on_conflict((
                        subscriptions::customer_number,
                        subscriptions::title_code,
                        subscriptions::start_date,
                    ))
                    .do_update()
                    .set(subscriptions::end_date.eq(record.end_date))
                    .execute(conn)
                    .map(drop)
                    .map_err(db_message)
            }
        }
    };
}

register_loader_for!(SqliteConnection);
register_loader_for!(PgConnection);
