//! The relation rules' ports on diesel: relation types and the register as
//! the rules read them, and the relations themselves.

use chrono::{DateTime, Utc};
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use diesel::pg::PgConnection;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;

use super::relation_updates::{DeleteRelation, UpdateRelation};
use super::rows::{
    ChangeHead, NewChangeRow, NewRelationRow, RelationRow, RelationTypeRow, all_converted,
    converted,
};
use super::schema::customer_relation_changes as changes;
use super::schema::{customer_relations, customers, relation_types, subscriptions, titles, users};
use super::{Conn, DbConnection, corrupt, db_run, internal, pg_create};
use crate::register::RegisterRepository;
use crate::relations::{
    ChangeKind, CustomerDirectory, CustomerRecord, CustomerRelation, Inserted, Lock,
    RelationChange, RelationRepository, Stamp, Updated, ValidRelation,
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
            .get_result::<RelationTypeRow>(c)
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
            .get_result::<String>(c)
            .optional())
        .map_err(internal)?;
        validity.map(customer_record).transpose()
    }

    fn relation_type_and_customer(
        &mut self,
        code: &str,
        customer_number: i32,
    ) -> Result<Option<(RelationType, Option<CustomerRecord>)>, InternalError> {
        let customer = customers::table.on(customers::customer_number.eq(customer_number));
        let row = db_run!(self.conn(), |c| relation_types::table
            .left_join(customer)
            .filter(relation_types::code.eq(code))
            .select((relation_types::all_columns, customers::validity.nullable()))
            .get_result::<(RelationTypeRow, Option<String>)>(c)
            .optional())
        .map_err(internal)?;
        let Some((relation_type, validity)) = row else {
            return Ok(None);
        };
        let customer = validity.map(customer_record).transpose()?;
        Ok(Some((RelationType::try_from(relation_type)?, customer)))
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

/// A customer as the rules see it, from its stored validity.
fn customer_record(validity: String) -> Result<CustomerRecord, InternalError> {
    Ok(CustomerRecord {
        validity: validity.parse().map_err(corrupt)?,
    })
}

/// How many times a write that lost a uniqueness race looks for the
/// winner before giving up (the winner may be deleted in between).
const INSERT_ATTEMPTS: usize = 3;

/// A selection of columns as a type and as the value to select with, from
/// one list.
macro_rules! selection {
    ($(#[$meta:meta])* $name:ident: $type:ident = $columns:tt) => {
        $(#[$meta])*
        type $type = $columns;
        $(#[$meta])*
        const $name: $type = $columns;
    };
}

selection! {
    /// A relation's columns with its type's reference type, in
    /// [`RelationRow`] order.
    RELATION_COLUMNS: RelationColumns = (
        customer_relations::id,
        customer_relations::customer_number,
        customer_relations::relation_type_code,
        customer_relations::reference,
        customer_relations::title_code,
        customer_relations::additional_value,
        customer_relations::source,
        customer_relations::created_at,
        customer_relations::created_by,
        customer_relations::version,
        customer_relations::modified_at,
        customer_relations::modified_by,
        customer_relations::deleted_at,
        customer_relations::deleted_by,
        relation_types::reference_type,
    )
}

selection! {
    /// A change's own columns, then its copy of the relation, in
    /// [`ChangeHead`] and [`RelationRow`] order.
    CHANGE_COLUMNS: ChangeColumns = (
        (changes::sequence, changes::kind),
        (
            changes::relation_id,
            changes::customer_number,
            changes::relation_type_code,
            changes::reference,
            changes::title_code,
            changes::additional_value,
            changes::source,
            changes::created_at,
            changes::created_by,
            changes::version,
            changes::modified_at,
            changes::modified_by,
            changes::deleted_at,
            changes::deleted_by,
            relation_types::reference_type,
        ),
    )
}

/// The current time as it is stored: xs:dateTime goes out with at most
/// millisecond precision, so that is what is kept.
fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(Utc::now().timestamp_millis())
        .expect("the current time is representable")
}

/// A customer's live relations in Id order (GetCustomerRelationsByCustomer).
macro_rules! of_customer {
    ($customer_number:expr) => {
        customer_relations::table
            .inner_join(relation_types::table)
            .filter(customer_relations::customer_number.eq($customer_number))
            .filter(customer_relations::deleted_at.is_null())
            .order(customer_relations::id)
            .select(RELATION_COLUMNS)
    };
}

impl RelationRepository for DbConnection {
    fn insert_relation(&mut self, relation: &ValidRelation) -> Result<Inserted, InternalError> {
        let reference = relation.reference.as_stored();
        let created_at = now();
        let row = NewRelationRow {
            customer_number: relation.customer_number,
            relation_type_code: &relation.relation_type_code,
            reference: &reference,
            title_code: relation.title_code.as_deref(),
            additional_value: relation.additional_value.as_deref(),
            source: relation.source.as_deref(),
            created_at: created_at.naive_utc(),
            created_by: &relation.changed_by,
        };
        // The bound on the customer's relations (README, "The API"). A
        // retried create that finds its relation there is still told it
        // exists, so that a bus can take that as success.
        let limit = self.max_relations_per_customer;
        let written =
            self.write_unique(relation, &reference, |c| c.insert_with_change(&row, limit))?;
        Ok(match written {
            Unique::Written(NewRow::Written(id)) => {
                Inserted::New(Box::new(stored(relation, id, reference, created_at)))
            }
            Unique::Written(NewRow::OverTheBound) => {
                match self.identical_relation(relation, &reference)? {
                    Some(existing_id) => Inserted::Duplicate { existing_id },
                    None => Inserted::TooMany { limit },
                }
            }
            Unique::Identical(existing_id) => Inserted::Duplicate { existing_id },
        })
    }

    fn relations_of_customer(
        &mut self,
        customer_number: i32,
    ) -> Result<Vec<CustomerRelation>, InternalError> {
        let rows = db_run!(self.conn(), |c| of_customer!(customer_number)
            .load::<RelationRow>(c));
        rows.map_err(internal).and_then(all_converted)
    }

    fn relation(&mut self, id: i64, lock: Lock) -> Result<Option<CustomerRelation>, InternalError> {
        // The relation's row alone is locked, not its type's.
        if let (Lock::ForUpdate, Conn::Postgres(c)) = (lock, self.conn()) {
            customer_relations::table
                .find(id)
                .select(customer_relations::id)
                .for_update()
                .get_result::<i64>(c)
                .optional()
                .map_err(internal)?;
        }
        let row = db_run!(self.conn(), |c| customer_relations::table
            .inner_join(relation_types::table)
            .filter(customer_relations::id.eq(id))
            .select(RELATION_COLUMNS)
            .get_result::<RelationRow>(c)
            .optional());
        row.map_err(internal).and_then(converted)
    }

    fn update_relation(
        &mut self,
        current: &CustomerRelation,
        relation: &ValidRelation,
    ) -> Result<Updated, InternalError> {
        let reference = relation.reference.as_stored();
        let modified = Stamp {
            at: now(),
            by: relation.changed_by.clone(),
        };
        let update = UpdateRelation {
            id: current.id,
            version_read: current.version,
            reference: &reference,
            title_code: relation.title_code.as_deref(),
            additional_value: relation.additional_value.as_deref(),
            source: relation.source.as_deref(),
            modified_at: modified.at.naive_utc(),
            modified_by: &modified.by,
        };
        let written = self.write_unique(relation, &reference, |c| {
            db_run!(c.conn(), |c| refused_in_a_savepoint(c, |c| update
                .execute(c)))
            .map_err(internal)
        })?;
        Ok(match written {
            Unique::Written(0) => match self.relation(current.id, Lock::None)? {
                Some(now) if now.deleted.is_none() => Updated::Stale {
                    current_version: now.version,
                },
                _ => Updated::Gone,
            },
            Unique::Written(_) => {
                let updated = CustomerRelation {
                    reference,
                    title_code: relation.title_code.clone(),
                    additional_value: relation.additional_value.clone(),
                    source: relation.source.clone(),
                    version: current.version + 1,
                    modified: Some(modified),
                    ..current.clone()
                };
                self.record_change(ChangeKind::Updated, &updated)?;
                Updated::Done(Box::new(updated))
            }
            Unique::Identical(existing_id) => Updated::Duplicate { existing_id },
        })
    }

    fn delete_relation(
        &mut self,
        current: &CustomerRelation,
        by: &str,
    ) -> Result<bool, InternalError> {
        let deleted = Stamp {
            at: now(),
            by: by.to_owned(),
        };
        let mark = DeleteRelation {
            id: current.id,
            at: deleted.at.naive_utc(),
            by,
        };
        let rows = db_run!(self.conn(), |c| mark.execute(c)).map_err(internal)?;
        if rows == 0 {
            return Ok(false);
        }
        let relation = CustomerRelation {
            deleted: Some(deleted),
            ..current.clone()
        };
        self.record_change(ChangeKind::Deleted, &relation)?;
        Ok(true)
    }

    fn relations_by_reference(
        &mut self,
        forms: &[&str],
        relation_type_code: Option<&str>,
        title_code: Option<&str>,
    ) -> Result<Vec<CustomerRelation>, InternalError> {
        // Three forms a query: a reference has no more (ReferenceForms), so
        // this is one query; a longer list takes one per three, in Id order.
        let mut found = Vec::new();
        for (first, more) in forms.chunks(3).filter_map(<[_]>::split_first) {
            let rows = db_run!(self.conn(), |c| by_reference!(
                first,
                more,
                relation_type_code,
                title_code,
                |query| query.load::<RelationRow>(c)
            ));
            found.extend(rows.map_err(internal).and_then(all_converted)?);
        }
        if forms.len() > 3 {
            found.sort_by_key(|relation: &CustomerRelation| relation.id);
        }
        Ok(found)
    }

    fn changes_of_customer(
        &mut self,
        customer_number: i32,
    ) -> Result<Vec<RelationChange>, InternalError> {
        let rows = db_run!(self.conn(), |c| changes::table
            .inner_join(relation_types::table)
            .filter(changes::customer_number.eq(customer_number))
            .order((changes::relation_id, changes::id))
            .select(CHANGE_COLUMNS)
            .load::<(ChangeHead, RelationRow)>(c));
        rows.map_err(internal).and_then(all_converted)
    }

    fn changes_after(
        &mut self,
        after_sequence: i64,
        limit: u32,
        scope: Option<&[String]>,
    ) -> Result<Vec<RelationChange>, InternalError> {
        if let Conn::Postgres(c) = self.conn() {
            number_committed_changes(c).map_err(internal)?;
        }
        let rows = db_run!(self.conn(), |c| {
            let page = changes::table
                .inner_join(relation_types::table)
                .filter(changes::sequence.gt(after_sequence))
                .order(changes::sequence)
                .limit(i64::from(limit))
                .select(CHANGE_COLUMNS)
                .into_boxed();
            match scope {
                Some(codes) => page.filter(changes::relation_type_code.eq_any(codes)),
                None => page,
            }
            .load::<(ChangeHead, RelationRow)>(c)
        });
        rows.map_err(internal).and_then(all_converted)
    }
}

/// FindCustomerRelationsByReference's query for a reference form and up to
/// two `$more`, and the type and title filters that are given, handed to `$run` as
/// `$query`, for whichever backend the surrounding [`db_run!`] arm is for.
/// Each shape (one form or three, the last repeated for two; with or
/// without each filter) is a type of its own with one SQL text, so diesel
/// prepares it once per connection and finds it again without writing the
/// SQL out: an `IN` list, whose length can vary, made diesel prepare the
/// query anew on every Find (README, "Performance"). The index on the live
/// relations' references, or the one on the type and the reference, serves
/// it (a test reads the plans).
macro_rules! by_reference {
    ($first:expr, $more:expr, $relation_type_code:expr, $title_code:expr, |$query:ident| $run:expr) => {{
        let first: &str = $first;
        let more: &[&str] = $more;
        if let (Some(&second), Some(&third)) = (more.first(), more.last()) {
            by_reference!(@filters customer_relations::reference
                    .eq(first)
                    .or(customer_relations::reference.eq(second))
                    .or(customer_relations::reference.eq(third)),
                $relation_type_code, $title_code, |$query| $run)
        } else {
            by_reference!(@filters customer_relations::reference.eq(first),
                $relation_type_code, $title_code, |$query| $run)
        }
    }};
    (@filters $reference:expr, $relation_type_code:expr, $title_code:expr, |$query:ident| $run:expr) => {{
        let live = customer_relations::table
            .inner_join(relation_types::table)
            .filter(customer_relations::deleted_at.is_null())
            .filter($reference)
            .order(customer_relations::id)
            .select(RELATION_COLUMNS);
        match ($relation_type_code, $title_code) {
            (None, None) => {
                let $query = live;
                $run
            }
            (Some(code), None) => {
                let $query = live.filter(customer_relations::relation_type_code.eq(code));
                $run
            }
            (None, Some(title)) => {
                let $query = live.filter(customer_relations::title_code.eq(title));
                $run
            }
            (Some(code), Some(title)) => {
                let $query = live
                    .filter(customer_relations::relation_type_code.eq(code))
                    .filter(customer_relations::title_code.eq(title));
                $run
            }
        }
    }};
}
use by_reference;

/// The count of the customer's live relations that the triggers keep.
macro_rules! live_relations {
    ($customer_number:expr) => {
        customers::table
            .find($customer_number)
            .select(customers::live_relations)
    };
}

/// What a create's write came to, when the unique index did not refuse it.
enum NewRow {
    /// The relation's Id.
    Written(i64),
    /// Nothing was written: the customer holds the most relations one may
    /// have.
    OverTheBound,
}

/// What a write under the uniqueness rule came to.
enum Unique<T> {
    Written(T),
    /// Another live relation has the values: its Id.
    Identical(i64),
}

impl DbConnection {
    /// Runs `write` until it stores (`Some`) or an identical live relation
    /// is found after the unique index refused it (`None`); should that one
    /// be deleted before it is found, the write is tried again. An insert
    /// skips a refused row itself (`ON CONFLICT DO NOTHING`: one statement);
    /// an update is refused with an error, see [`refused_in_a_savepoint`].
    fn write_unique<T>(
        &mut self,
        relation: &ValidRelation,
        reference: &str,
        mut write: impl FnMut(&mut Self) -> Result<Option<T>, InternalError>,
    ) -> Result<Unique<T>, InternalError> {
        for _ in 0..INSERT_ATTEMPTS {
            if let Some(value) = write(self)? {
                return Ok(Unique::Written(value));
            }
            if let Some(existing_id) = self.identical_relation(relation, reference)? {
                return Ok(Unique::Identical(existing_id));
            }
        }
        Err(InternalError::new(
            "the uniqueness check kept changing under concurrent deletes",
        ))
    }

    /// One try at writing a new relation and its change, unless the
    /// customer holds `limit` live relations (the count the database's
    /// triggers keep on the customer's row); `None` when the unique index
    /// refused the row.
    fn insert_with_change(
        &mut self,
        row: &NewRelationRow<'_>,
        limit: u32,
    ) -> Result<Option<NewRow>, InternalError> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        match self.conn() {
            Conn::Postgres(c) => create_on_postgres(c, row, limit),
            Conn::Sqlite(c) => create_on_sqlite(c, row, limit),
        }
    }

    /// Writes the change that left the relation as it is, in the write's
    /// transaction. SQLite numbers it as it is written (one writer commits
    /// in order); PostgreSQL when the feed is read, once it has committed.
    fn record_change(
        &mut self,
        kind: ChangeKind,
        relation: &CustomerRelation,
    ) -> Result<(), InternalError> {
        let row = NewChangeRow::of(kind, relation);
        match self.conn() {
            Conn::Sqlite(c) => insert_change_on_sqlite(c, &row),
            Conn::Postgres(c) => change_insert!(&row).execute(c).map(drop),
        }
        .map_err(internal)
    }

    /// The Id of the live relation the unique index counts as identical, if
    /// one is there.
    fn identical_relation(
        &mut self,
        relation: &ValidRelation,
        reference: &str,
    ) -> Result<Option<i64>, InternalError> {
        let same_key = customer_relations::customer_number
            .eq(relation.customer_number)
            .and(customer_relations::relation_type_code.eq(&relation.relation_type_code))
            .and(customer_relations::reference.eq(reference))
            .and(customer_relations::deleted_at.is_null());
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
            .get_result::<i64>(c)
            .optional()
        })
        .map_err(internal)
    }
}

/// A create on PostgreSQL: one statement, which reads the customer's count
/// under a lock on its row until the write commits, so that concurrent
/// creates cannot pass the bound together (see `pg_create`).
fn create_on_postgres(
    c: &mut PgConnection,
    row: &NewRelationRow<'_>,
    limit: i32,
) -> Result<Option<NewRow>, InternalError> {
    let statement = pg_create::CreateWithChange { row, limit };
    match statement
        .get_result::<pg_create::Outcome>(c)
        .map_err(internal)?
    {
        (Some(id), _) => Ok(Some(NewRow::Written(id))),
        (None, Some(held)) if held >= limit => Ok(Some(NewRow::OverTheBound)),
        (None, Some(_)) => Ok(None),
        // The rules found the customer in this transaction.
        (None, None) => Err(vanished(row.customer_number)),
    }
}

/// A create on SQLite, whose writer is alone: the count, the relation and
/// its change as three statements, in process.
fn create_on_sqlite(
    c: &mut SqliteConnection,
    row: &NewRelationRow<'_>,
    limit: i32,
) -> Result<Option<NewRow>, InternalError> {
    let held = live_relations!(row.customer_number)
        .get_result::<i32>(c)
        .optional()
        .map_err(internal)?
        .ok_or_else(|| vanished(row.customer_number))?;
    if held >= limit {
        return Ok(Some(NewRow::OverTheBound));
    }
    let id = FixedSql::<_, RelationInsert>::new(relation_insert!(row))
        .get_result::<i64>(c)
        .optional()
        .map_err(internal)?;
    let Some(id) = id else {
        return Ok(None);
    };
    insert_change_on_sqlite(c, &NewChangeRow::created(id, row)).map_err(internal)?;
    Ok(Some(NewRow::Written(id)))
}

/// Writes a change on SQLite: a create's, or another write's
/// (`record_change`).
fn insert_change_on_sqlite(c: &mut SqliteConnection, row: &NewChangeRow<'_>) -> QueryResult<()> {
    FixedSql::<_, ChangeInsert>::new(change_insert!(row))
        .execute(c)
        .map(drop)
}

/// A create's insert of its relation on SQLite (its Id, unless the unique
/// index refuses the row).
macro_rules! relation_insert {
    ($row:expr) => {
        diesel::insert_into(customer_relations::table)
            .values($row)
            .on_conflict_do_nothing()
            .returning(customer_relations::id)
    };
}
use relation_insert;

/// The insert of a change.
macro_rules! change_insert {
    ($row:expr) => {
        diesel::insert_into(changes::table).values($row)
    };
}
use change_insert;

/// A query whose SQL text is the same at every run, known to diesel's
/// statement cache by `Id`. diesel cannot tell that of a single-row insert
/// (a value left out could be written `DEFAULT`), so it wrote the insert's
/// SQL out on every run just to look the prepared statement up (README,
/// "Performance"). Only for queries whose text cannot vary: here, inserts
/// of rows that write NULL for None (`treat_none_as_default_value = false`),
/// each with an `Id` of its own. Not for updates: diesel asks whether it
/// may keep a statement through a reference, which walks the update and
/// is told no whatever this says, so an update's SQL is written out
/// (`relation_updates`).
struct FixedSql<Q, Id> {
    query: Q,
    id: std::marker::PhantomData<Id>,
}

impl<Q, Id> FixedSql<Q, Id> {
    fn new(query: Q) -> Self {
        Self {
            query,
            id: std::marker::PhantomData,
        }
    }
}

/// The create's insert of the relation.
struct RelationInsert;
/// The insert of a change.
struct ChangeInsert;
impl<Q, Id: 'static> diesel::query_builder::QueryId for FixedSql<Q, Id> {
    type QueryId = Id;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Q: diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>, Id>
    diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for FixedSql<Q, Id>
{
    fn walk_ast<'b>(
        &'b self,
        pass: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }
}

impl<Q: diesel::query_builder::Query, Id> diesel::query_builder::Query for FixedSql<Q, Id> {
    type SqlType = Q::SqlType;
}

impl<Q, Id> RunQueryDsl<SqliteConnection> for FixedSql<Q, Id> {}

/// A create whose customer is not there, although the rules found it in
/// the same transaction.
fn vanished(customer_number: i32) -> InternalError {
    InternalError::new(format!(
        "customer {customer_number} vanished during the create"
    ))
}

/// Runs `write` in a savepoint, so that a write the unique index refuses
/// (`None`) leaves the request's transaction usable: PostgreSQL aborts it
/// otherwise.
fn refused_in_a_savepoint<C, T>(
    c: &mut C,
    write: impl FnOnce(&mut C) -> Result<T, DieselError>,
) -> Result<Option<T>, DieselError>
where
    C: Connection,
{
    match c.transaction(write) {
        Ok(value) => Ok(Some(value)),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
        Err(other) => Err(other),
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
        created_by: relation.changed_by.clone(),
        version: 1,
        modified: None,
        deleted: None,
    }
}

/// The most changes one numbering takes; the rest wait for the next read.
const NUMBERING_BATCH: i64 = 10_000;

#[derive(QueryableByName)]
struct Numbered {
    #[diesel(sql_type = BigInt)]
    sequence: i64,
}

/// Numbers the changes that have committed and have no sequence yet, in
/// the order of their Ids, after the last number handed out (PostgreSQL).
///
/// Why the feed never skips a change although writers on several
/// instances commit in any order (README, "History and the change feed"):
/// a change gets its number only once it has committed, and numberings
/// take turns on the lock of customer_relation_feed's row, each starting
/// after the last number the one before committed. So a number is handed
/// out only when every lower one is visible already, and a reader that has
/// seen sequence N will never find a change below N appear later. The
/// changes of one relation keep their order: the write of a later one
/// waits for the lock on the relation's row, so it commits after the
/// earlier one and has a higher Id.
fn number_committed_changes(c: &mut PgConnection) -> Result<(), DieselError> {
    c.transaction(|c| {
        let last: i64 = diesel::sql_query(
            "SELECT last_sequence AS sequence FROM customer_relation_feed FOR UPDATE",
        )
        .get_result::<Numbered>(c)?
        .sequence;
        // A statement of its own, with a snapshot taken after the lock: it
        // sees every change committed before the numbering began.
        let numbered = diesel::sql_query(
            "WITH pending AS (
                 SELECT id, row_number() OVER (ORDER BY id) AS n
                 FROM customer_relation_changes
                 WHERE sequence IS NULL
                 ORDER BY id
                 LIMIT $2)
             UPDATE customer_relation_changes AS c
             SET sequence = $1 + pending.n
             FROM pending WHERE c.id = pending.id
             RETURNING c.sequence",
        )
        .bind::<BigInt, _>(last)
        .bind::<BigInt, _>(NUMBERING_BATCH)
        .load::<Numbered>(c)?;
        if let Some(highest) = numbered.iter().map(|n| n.sequence).max() {
            diesel::sql_query("UPDATE customer_relation_feed SET last_sequence = $1")
                .bind::<BigInt, _>(highest)
                .execute(c)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    //! On both backends: the query plans of Get (the customer index) and
    //! of FindCustomerRelationsByReference (the index on the live
    //! relations' references, whichever filters the request has), the
    //! counts the triggers keep; and that the statements of a Get and a
    //! Create are prepared once per connection.

    use std::panic::AssertUnwindSafe;

    use diesel::connection::SimpleConnection;
    use diesel::pg::Pg;
    use diesel::sql_types::Text;
    use diesel::sqlite::Sqlite;

    use super::*;
    use crate::store::{Database, DatabaseUrl, PoolOptions};

    /// `FixedSql` may only wrap a query whose text is the same whatever the
    /// values: the inserts write the same SQL for a row with every optional
    /// value and for one with none (a create's change), and for a change
    /// with its stamps (a delete's).
    #[test]
    fn the_inserts_in_fixed_sql_have_one_text_whatever_the_values() {
        // debug_query writes the SQL, then " -- binds: [...]".
        let sql = |query: String| query.split(" -- binds").next().unwrap().to_owned();
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 6)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let full = NewRelationRow {
            customer_number: 1,
            relation_type_code: "SSO",
            reference: "r",
            title_code: Some("DAILY"),
            additional_value: Some("v"),
            source: Some("s"),
            created_at: at,
            created_by: "t",
        };
        let bare = NewRelationRow {
            title_code: None,
            additional_value: None,
            source: None,
            ..full
        };
        let relation = |row: &NewRelationRow<'_>| {
            diesel::debug_query::<Sqlite, _>(&relation_insert!(row)).to_string()
        };
        assert_eq!(sql(relation(&full)), sql(relation(&bare)));
        let change = |row: &NewRelationRow<'_>| {
            diesel::debug_query::<Sqlite, _>(&change_insert!(&NewChangeRow::created(7, row)))
                .to_string()
        };
        assert_eq!(sql(change(&full)), sql(change(&bare)));
        let stamp = Some(crate::relations::Stamp {
            at: at.and_utc(),
            by: "t".into(),
        });
        let deleted = CustomerRelation {
            id: 7,
            customer_number: 1,
            relation_type_code: "SSO".into(),
            reference_type: crate::vocabulary::ReferenceType::External,
            reference: "r".into(),
            title_code: None,
            additional_value: None,
            source: None,
            created_at: at.and_utc(),
            created_by: "t".into(),
            version: 3,
            modified: stamp.clone(),
            deleted: stamp,
        };
        let of_delete = diesel::debug_query::<Sqlite, _>(&change_insert!(&NewChangeRow::of(
            crate::relations::ChangeKind::Deleted,
            &deleted
        )))
        .to_string();
        assert_eq!(sql(of_delete), sql(change(&bare)));
    }

    /// The index on the live relations' references: what a Find without a
    /// type reads, and SQLite's choice for one with a type too.
    const BY_REFERENCE: &str = "customer_relations_by_reference";
    /// The index on the type and the reference: PostgreSQL's choice for a
    /// Find with a type.
    const BY_TYPE: &str = "customer_relations_type";

    /// Relations enough for a planner to prefer an index: 5,000 of one
    /// type, each with a reference of its own.
    const SEED: &str = "
        INSERT INTO titles (code, name, validity) VALUES ('DAILY', 'Daily', 'Valid');
        INSERT INTO customers (customer_number, name, validity, name_key) VALUES (1, 'Plan', 'Valid', 'plan');
        INSERT INTO relation_types (code, name, reference_type, title_mode)
            VALUES ('SSO', 'SSO', 'External', 'Optional'), ('SHARE', 'Share', 'Subscription', 'Required');
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
        INSERT INTO customer_relations (customer_number, relation_type_code, reference, created_at, created_by)
            SELECT 1, 'SSO', 'ref-' || i, '2026-01-01 00:00:00', 'plan' FROM n;";

    /// The request's filters: a type, a title, both, neither.
    const FILTERS: [(Option<&str>, Option<&str>); 4] = [
        (None, None),
        (Some("SSO"), None),
        (None, Some("DAILY")),
        (Some("SHARE"), Some("DAILY")),
    ];

    const FORMS: [&str; 3] = [" 01001 ", "1001", "kari@example.com"];

    /// The forms a Find looks for: with a type, the one form that type
    /// stores; without, every form.
    fn forms(code: Option<&str>) -> &'static [&'static str] {
        match code {
            Some(_) => &FORMS[1..2],
            None => &FORMS,
        }
    }

    /// The SQL diesel sends, without its list of bind values.
    fn sql(debug: String) -> String {
        debug.split(" -- binds:").next().unwrap().to_owned()
    }

    #[derive(QueryableByName)]
    struct SqlitePlanRow {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    #[derive(QueryableByName)]
    struct PostgresPlanRow {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }

    /// A list of forms longer than a query takes (three) is looked up in
    /// several and answered in Id order, as one query would; no forms find
    /// nothing.
    #[test]
    fn more_forms_than_a_query_takes_are_found_in_id_order() {
        use crate::relations::RelationRepository;
        let (_dir, database) = scratch_sqlite_database("forms");
        let mut conn = database.connection().unwrap();
        db_run!(conn.conn(), |c| c.batch_execute(SEED).unwrap());
        let mut references = |forms: &[&str], code: Option<&str>| {
            conn.relations_by_reference(forms, code, None)
                .unwrap()
                .into_iter()
                .map(|r| r.reference)
                .collect::<Vec<_>>()
        };
        let forms = ["ref-9", "none-1", "none-2", "ref-2", "ref-5"];
        assert_eq!(references(&forms, None), ["ref-2", "ref-5", "ref-9"]);
        assert_eq!(references(&forms, Some("SSO")), ["ref-2", "ref-5", "ref-9"]);
        assert_eq!(references(&forms, Some("SHARE")), Vec::<String>::new());
        assert_eq!(references(&[], None), Vec::<String>::new());
    }

    #[test]
    fn find_by_reference_uses_the_reference_index_on_sqlite() {
        let (_dir, database) = scratch_sqlite_database("plan");
        let mut conn = database.connection().unwrap();
        let Conn::Sqlite(c) = conn.conn() else {
            unreachable!("a SQLite URL")
        };
        // No ANALYZE: SQLite's planner works without statistics, as in a
        // database nobody analyses.
        c.batch_execute(SEED).unwrap();
        for (code, title) in FILTERS {
            let sql = by_reference!(forms(code)[0], &forms(code)[1..], code, title, |query| sql(
                diesel::debug_query::<Sqlite, _>(&query).to_string()
            ));
            // Unbound parameters are NULL, which does not change the plan.
            let plan = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load::<SqlitePlanRow>(c)
                .unwrap();
            let index = match (code, title) {
                (Some(_), Some(_)) => BY_TYPE,
                _ => BY_REFERENCE,
            };
            let search = format!("SEARCH customer_relations USING INDEX {index} ");
            assert!(
                plan.iter().any(|row| row.detail.starts_with(&search))
                    && !plan
                        .iter()
                        .any(|row| row.detail.starts_with("SCAN customer_relations")),
                "{sql}: {:?}",
                plan.iter().map(|r| &r.detail).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn a_customers_relations_are_read_by_the_customer_index_on_sqlite() {
        let (_dir, database) = scratch_sqlite_database("get");
        let mut conn = database.connection().unwrap();
        let Conn::Sqlite(c) = conn.conn() else {
            unreachable!("a SQLite URL")
        };
        c.batch_execute(SEED).unwrap();
        let sql = sql(diesel::debug_query::<Sqlite, _>(&of_customer!(1)).to_string());
        let plan = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load::<SqlitePlanRow>(c)
            .unwrap();
        let details: Vec<_> = plan.iter().map(|r| r.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "SEARCH customer_relations USING INDEX customer_relations_by_customer (customer_number=? AND deleted_at=?)",
                "SEARCH relation_types USING INDEX sqlite_autoindex_relation_types_1 (code=?)",
            ],
            "{sql}"
        );
    }

    #[test]
    #[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
    fn a_customers_relations_are_read_by_the_customer_index_on_postgres() {
        on_a_scratch_postgres_database("get_plan", |database| {
            let mut conn = database.connection().unwrap();
            let Conn::Postgres(c) = conn.conn() else {
                unreachable!("a PostgreSQL URL")
            };
            c.batch_execute(SEED).unwrap();
            // Another 5,000 customers with a relation each, so that one
            // customer's are few among many, as in a real register.
            c.batch_execute(
                "INSERT INTO customers (customer_number, name, validity, name_key)
                     SELECT i, 'Other', 'Valid', 'other' FROM generate_series(2, 5001) AS i;
                 INSERT INTO customer_relations (customer_number, relation_type_code, reference, created_at, created_by)
                     SELECT i, 'SSO', 'other-' || i, '2026-01-01 00:00:00', 'plan' FROM generate_series(2, 5001) AS i;
                 ANALYZE;",
            )
            .unwrap();
            let sql = sql(diesel::debug_query::<Pg, _>(&of_customer!(4711)).to_string());
            c.batch_execute(&format!("PREPARE get AS {sql}")).unwrap();
            let plan = diesel::sql_query("EXPLAIN EXECUTE get(4711)")
                .load::<PostgresPlanRow>(c)
                .unwrap();
            // Either index that leads with the customer will do (the
            // planner takes the live relations' identity index, as small).
            let lines: Vec<_> = plan.iter().map(|r| r.line.as_str()).collect();
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains("Index Cond: (customer_number = 4711)"))
                    && !lines
                        .iter()
                        .any(|l| l.contains("Seq Scan on customer_relations")),
                "{sql}: {:#?}",
                plan.iter().map(|r| &r.line).collect::<Vec<_>>()
            );
        });
    }

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        kept: i32,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        counted: i64,
    }

    /// Creates, soft deletes, restores and erases relations of two
    /// customers with plain SQL, and after each step compares the count the
    /// triggers keep on each customer's row with a count of its live
    /// relations.
    fn check_the_kept_counts(conn: Conn<'_>) {
        const STEPS: [&str; 6] = [
            "INSERT INTO customers (customer_number, name, validity, name_key) VALUES (2, 'Other', 'Valid', 'other')",
            "UPDATE customer_relations SET deleted_at = '2026-01-02 00:00:00' WHERE id % 10 = 0",
            "UPDATE customer_relations SET deleted_at = NULL WHERE id % 20 = 0",
            "UPDATE customer_relations SET version = version + 1 WHERE id % 3 = 0",
            "INSERT INTO customer_relations (customer_number, relation_type_code, reference, created_at, created_by, deleted_at)
                VALUES (2, 'SSO', 'a', '2026-01-01 00:00:00', 'plan', NULL),
                       (2, 'SSO', 'b', '2026-01-01 00:00:00', 'plan', '2026-01-02 00:00:00')",
            "DELETE FROM customer_relations WHERE id % 7 = 0",
        ];
        const COMPARE: &str = "SELECT c.live_relations AS kept,
                (SELECT COUNT(*) FROM customer_relations r
                 WHERE r.customer_number = c.customer_number AND r.deleted_at IS NULL) AS counted
            FROM customers c ORDER BY c.customer_number";
        db_run!(conn, |c| {
            c.batch_execute(SEED).unwrap();
            for step in STEPS {
                c.batch_execute(step).unwrap();
                let counts = diesel::sql_query(COMPARE).load::<Counts>(c).unwrap();
                assert!(!counts.is_empty());
                for count in &counts {
                    assert_eq!(i64::from(count.kept), count.counted, "after {step}");
                }
            }
        });
    }

    #[test]
    fn each_customer_keeps_the_count_of_its_live_relations_on_sqlite() {
        let (_dir, database) = scratch_sqlite_database("count");
        check_the_kept_counts(database.connection().unwrap().conn());
    }

    #[test]
    #[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
    fn each_customer_keeps_the_count_of_its_live_relations_on_postgres() {
        on_a_scratch_postgres_database("count", |database| {
            check_the_kept_counts(database.connection().unwrap().conn());
        });
    }

    #[derive(QueryableByName, Debug)]
    struct StatementRuns {
        #[diesel(sql_type = Text)]
        sql: String,
        #[diesel(sql_type = BigInt)]
        reprep: i64,
        #[diesel(sql_type = BigInt)]
        run: i64,
    }

    /// The statements of a Get, a Create, a Find, an update and a delete are
    /// prepared once and run again with new values: not prepared anew (a bound `LIMIT` made
    /// SQLite do that on every run, since it plans with the bound value; an
    /// `IN` list made diesel prepare a Find's query every time), and one
    /// insert whichever optional values are left out (README,
    /// "Performance"). SQLite's `sqlite_stmt` table counts the runs and the
    /// re-prepares of the connection's statements; one that diesel does not
    /// keep is not in it.
    #[test]
    fn reads_and_writes_of_relations_are_prepared_once_on_sqlite() {
        use crate::relations::{CustomerDirectory, Inserted, RelationRepository};
        use crate::vocabulary::RelationTypes;
        let (_dir, database) = scratch_sqlite_database("prepared");
        let mut conn = database.connection().unwrap();
        db_run!(conn.conn(), |c| c.batch_execute(SEED).unwrap());
        const RUNS: usize = 5;
        for n in 0..RUNS {
            let code = ["SSO", "SHARE"][n % 2];
            assert!(conn.relation_type(code).unwrap().is_some());
            assert_eq!(conn.customer(1 + n as i32).unwrap().is_some(), n == 0);
            // Values given and left out in turn: still one insert.
            let relation = numbered_relation(n);
            let inserted = conn.insert_relation(&relation).unwrap();
            assert!(matches!(inserted, Inserted::New(_)), "{inserted:?}");
            assert!(!conn.relations_of_customer(1).unwrap().is_empty());
            // One form and three, without the type; one with it.
            let stored = relation.reference.as_stored();
            let forms = [stored.as_str(), " 01 ", "x@example.com"];
            let found = conn
                .relations_by_reference(&forms[..1], None, None)
                .unwrap();
            assert_eq!(found.len(), 1, "{found:?}");
            let three = conn.relations_by_reference(&forms, None, None).unwrap();
            let typed = conn
                .relations_by_reference(&forms[..1], Some(&relation.relation_type_code), None)
                .unwrap();
            assert_eq!((&three, &typed), (&found, &found));
            // Updated with its optional values cleared, then deleted.
            let cleared = crate::relations::ValidRelation {
                title_code: None,
                additional_value: None,
                source: None,
                ..relation
            };
            let updated = conn.update_relation(&found[0], &cleared).unwrap();
            let crate::relations::Updated::Done(updated) = updated else {
                panic!("not updated: {updated:?}")
            };
            assert!(conn.delete_relation(&updated, "plan").unwrap());
        }
        let Conn::Sqlite(c) = conn.conn() else {
            unreachable!("a SQLite URL")
        };
        let statements = diesel::sql_query("SELECT sql, reprep, run FROM sqlite_stmt")
            .load::<StatementRuns>(c)
            .unwrap();
        // Each lookup and each insert ran once per round, on one prepared
        // statement.
        for part in [
            "FROM `relation_types` WHERE",
            "FROM `customers` WHERE",
            "FROM (`customer_relations` INNER JOIN",
            "INSERT INTO `customer_relations`",
            "INSERT INTO `customer_relation_changes`",
            "(`customer_relations`.`reference` = ?)) AND (`customer_relations`.`relation_type_code` = ?)",
            "(`customer_relations`.`reference` = ?)) ORDER BY",
            "(`customer_relations`.`reference` = ?) OR (`customer_relations`.`reference` = ?)",
            "UPDATE customer_relations SET reference = ?",
            "UPDATE customer_relations SET deleted_at = ?",
        ] {
            assert!(
                statements
                    .iter()
                    .any(|s| s.sql.contains(part) && s.run >= RUNS as i64),
                "no statement with {part} ran {RUNS} times: {statements:#?}"
            );
        }
        // The migrations changed the schema, which rightly expired the
        // statements of the migration harness prepared before them.
        let prepared_again: Vec<_> = statements
            .iter()
            .filter(|s| s.reprep > 0 && !s.sql.contains("__diesel_schema_migrations"))
            .collect();
        assert!(prepared_again.is_empty(), "{prepared_again:#?}");
    }

    /// The store's one query for a create's relation type and customer
    /// gives what rules 1 and 2 of a create need (README, "The API"): no
    /// answer without the type, whatever the customer; with it, the
    /// customer as it is, valid, invalid or missing. And it answers as the
    /// trait's default (two lookups), which a directory of its own keeps.
    #[test]
    fn the_type_and_customer_query_answers_what_a_creates_first_rules_need() {
        /// The store with the trait's default for the combined lookup.
        struct Separately<'a>(&'a mut DbConnection);
        impl RelationTypes for Separately<'_> {
            fn relation_type(&mut self, code: &str) -> Result<Option<RelationType>, InternalError> {
                self.0.relation_type(code)
            }
            fn relation_types(&mut self) -> Result<Vec<RelationType>, InternalError> {
                self.0.relation_types()
            }
        }
        impl CustomerDirectory for Separately<'_> {
            fn customer(&mut self, n: i32) -> Result<Option<CustomerRecord>, InternalError> {
                self.0.customer(n)
            }
            fn title_is_usable(&mut self, code: &str) -> Result<bool, InternalError> {
                self.0.title_is_usable(code)
            }
            fn has_subscription(&mut self, n: i32, title: &str) -> Result<bool, InternalError> {
                self.0.has_subscription(n, title)
            }
            fn user_is_usable(&mut self, email: &str) -> Result<bool, InternalError> {
                self.0.user_is_usable(email)
            }
        }
        /// The answer as (the type's code, the customer's validity).
        fn seen(
            answer: Option<(RelationType, Option<CustomerRecord>)>,
        ) -> Option<(String, Option<Validity>)> {
            answer.map(|(t, c)| (t.code, c.map(|c| c.validity)))
        }

        let (_dir, database) = scratch_sqlite_database("lookup");
        let mut conn = database.connection().unwrap();
        db_run!(conn.conn(), |c| c
            .batch_execute(
                "INSERT INTO customers (customer_number, name, validity, name_key)
                     VALUES (1, 'Valid', 'Valid', 'valid'), (2, 'Invalid', 'Invalid', 'invalid');
                 INSERT INTO relation_types (code, name, reference_type, title_mode)
                     VALUES ('SSO', 'SSO', 'External', 'Optional');"
            )
            .unwrap());
        let sso = |validity| Some(("SSO".to_owned(), validity));
        let cases = [
            ("SSO", 1, sso(Some(Validity::Valid))),
            ("SSO", 2, sso(Some(Validity::Invalid))),
            ("SSO", 3, sso(None)),
            ("NONE", 1, None),
            ("NONE", 3, None),
        ];
        for (code, customer, expected) in cases {
            let together = seen(conn.relation_type_and_customer(code, customer).unwrap());
            let apart = seen(
                Separately(&mut conn)
                    .relation_type_and_customer(code, customer)
                    .unwrap(),
            );
            assert_eq!(together, expected, "{code}, customer {customer}");
            assert_eq!(apart, expected, "{code}, customer {customer}: the default");
        }
    }

    /// A create whose customer is not there (the rules found it, and it
    /// went before the write) is an error that stores nothing, on each
    /// backend's way of writing.
    fn check_a_create_for_a_missing_customer_stores_nothing(database: &Database) {
        let mut conn = database.connection().unwrap();
        db_run!(conn.conn(), |c| c.batch_execute(SEED).unwrap());
        let relation = crate::relations::ValidRelation {
            customer_number: 99,
            ..numbered_relation(0)
        };
        let error = conn.insert_relation(&relation).unwrap_err();
        assert!(
            error.to_string().contains("customer 99 vanished"),
            "{error}"
        );
        let counts = |c: Conn<'_>| {
            let count = |table: &str| {
                format!("SELECT count(*) AS n FROM {table} WHERE customer_number = 99")
            };
            db_run!(c, |c| [
                diesel::sql_query(count("customer_relations"))
                    .get_result::<Count>(c)
                    .unwrap()
                    .n,
                diesel::sql_query(count("customer_relation_changes"))
                    .get_result::<Count>(c)
                    .unwrap()
                    .n,
            ])
        };
        assert_eq!(counts(conn.conn()), [0, 0]);
    }

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    #[test]
    fn a_create_for_a_missing_customer_stores_nothing_on_sqlite() {
        let (_dir, database) = scratch_sqlite_database("vanished");
        check_a_create_for_a_missing_customer_stores_nothing(&database);
    }

    #[test]
    #[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
    fn a_create_for_a_missing_customer_stores_nothing_on_postgres() {
        on_a_scratch_postgres_database(
            "vanished",
            check_a_create_for_a_missing_customer_stores_nothing,
        );
    }

    /// A SQLite database of its own, migrated, in a folder that is removed
    /// when the returned guard is dropped.
    fn scratch_sqlite_database(label: &str) -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join(format!("{label}.db")));
        let database = Database::open(&url, &PoolOptions::default()).unwrap();
        database.migrate().unwrap();
        (dir, database)
    }

    /// A relation of customer 1 (`SEED`) with a reference of its own and
    /// its optional values given and left out in turn, by `n`.
    fn numbered_relation(n: usize) -> crate::relations::ValidRelation {
        crate::relations::ValidRelation {
            customer_number: 1,
            relation_type_code: "SSO".into(),
            reference_type: crate::vocabulary::ReferenceType::External,
            reference: crate::vocabulary::CanonicalReference::External(format!("numbered-{n}")),
            title_code: (n % 2 == 1).then(|| "DAILY".to_owned()),
            additional_value: n.is_multiple_of(2).then(|| "value".to_owned()),
            source: n.is_multiple_of(3).then(|| "source".to_owned()),
            changed_by: "plan".into(),
        }
    }

    /// Runs `check` on a PostgreSQL database of its own, migrated, and
    /// drops the database afterwards, whether the check passed or not.
    fn on_a_scratch_postgres_database(label: &str, check: impl FnOnce(&Database)) {
        let admin_url = std::env::var("TEST_POSTGRES_URL").expect("TEST_POSTGRES_URL");
        let mut admin = PgConnection::establish(&admin_url).unwrap();
        let name = format!("{label}_{}", std::process::id());
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url: DatabaseUrl = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0)
            .parse()
            .unwrap();
        let checked = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let database = Database::open(&url, &PoolOptions::default()).unwrap();
            database.migrate().unwrap();
            check(&database);
        }));
        drop(admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
        if let Err(panic) = checked {
            std::panic::resume_unwind(panic);
        }
    }

    #[derive(QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = Text)]
        statement: String,
    }

    /// The connection's prepared statements on PostgreSQL, by name.
    fn prepared_on_postgres(conn: &mut DbConnection) -> Vec<String> {
        let Conn::Postgres(c) = conn.conn() else {
            unreachable!("a PostgreSQL URL")
        };
        diesel::sql_query("SELECT statement FROM pg_prepared_statements ORDER BY name")
            .load::<Prepared>(c)
            .unwrap()
            .into_iter()
            .map(|p| p.statement)
            .collect()
    }

    /// A create's statements are prepared on the connection's first create
    /// and reused by every later one, whichever optional values it has:
    /// a statement whose SQL varied with the values (`DEFAULT` for a value
    /// left out) was parsed and planned on every create (README,
    /// "Performance"). So are an update's and a delete's, which diesel's
    /// query builder never kept.
    #[test]
    #[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
    fn creates_updates_and_deletes_reuse_their_prepared_statements_on_postgres() {
        use crate::relations::{Inserted, RelationRepository};
        on_a_scratch_postgres_database("prepared", |database| {
            let mut conn = database.connection().unwrap();
            db_run!(conn.conn(), |c| c.batch_execute(SEED).unwrap());
            let mut create = |n: usize| {
                let relation = numbered_relation(n);
                let inserted = conn.insert_relation(&relation).unwrap();
                assert!(matches!(inserted, Inserted::New(_)), "{inserted:?}");
                prepared_on_postgres(&mut conn)
            };
            let after_first = create(0);
            // One statement writes the relation and its change.
            let inserts = |s: &&String| {
                s.contains("INSERT INTO customer_relations ")
                    && s.contains("INSERT INTO customer_relation_changes ")
            };
            assert_eq!(
                after_first.iter().filter(inserts).count(),
                1,
                "the create is not among the prepared statements: {after_first:#?}"
            );
            for n in 1..4 {
                assert_eq!(create(n), after_first, "after create {n}");
            }
            // An update and a delete: prepared with the first, reused after.
            let mut change = |n: usize| {
                let relation = numbered_relation(n);
                let Some(current) = conn
                    .relations_by_reference(&[&relation.reference.as_stored()], None, None)
                    .unwrap()
                    .pop()
                else {
                    panic!("relation {n} is not there")
                };
                let updated = conn.update_relation(&current, &relation).unwrap();
                let crate::relations::Updated::Done(updated) = updated else {
                    panic!("not updated: {updated:?}")
                };
                assert!(conn.delete_relation(&updated, "plan").unwrap());
                prepared_on_postgres(&mut conn)
            };
            let after_change = change(0);
            for part in [
                "UPDATE customer_relations SET reference = $1",
                "UPDATE customer_relations SET deleted_at = $1",
            ] {
                assert_eq!(
                    after_change.iter().filter(|s| s.contains(part)).count(),
                    1,
                    "{part} is not among the prepared statements: {after_change:#?}"
                );
            }
            for n in 1..4 {
                assert_eq!(change(n), after_change, "after change {n}");
            }
        });
    }

    #[test]
    #[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
    fn find_by_reference_uses_the_reference_index_on_postgres() {
        on_a_scratch_postgres_database("plan", |database| {
            let mut conn = database.connection().unwrap();
            let Conn::Postgres(c) = conn.conn() else {
                unreachable!("a PostgreSQL URL")
            };
            c.batch_execute(SEED).unwrap();
            c.batch_execute("ANALYZE").unwrap();
            for (n, (code, title)) in FILTERS.into_iter().enumerate() {
                let sql =
                    by_reference!(forms(code)[0], &forms(code)[1..], code, title, |query| sql(
                        diesel::debug_query::<Pg, _>(&query).to_string()
                    ));
                let mut values: Vec<_> = forms(code).iter().map(|f| format!("'{f}'")).collect();
                values.extend(code.into_iter().chain(title).map(|v| format!("'{v}'")));
                c.batch_execute(&format!("PREPARE find_{n} AS {sql}"))
                    .unwrap();
                let plan =
                    diesel::sql_query(format!("EXPLAIN EXECUTE find_{n}({})", values.join(",")))
                        .load::<PostgresPlanRow>(c)
                        .unwrap();
                assert!(
                    plan.iter().any(|row| {
                        row.line.contains("Index")
                            && row.line.contains(match code {
                                None => BY_REFERENCE,
                                Some(_) => BY_TYPE,
                            })
                    }) && !plan
                        .iter()
                        .any(|row| row.line.contains("Seq Scan on customer_relations")),
                    "{sql}: {:#?}",
                    plan.iter().map(|r| &r.line).collect::<Vec<_>>()
                );
            }
        });
    }
}
