//! An update's write of a relation and a delete's mark on it, as statements
//! of fixed SQL on both backends. diesel never keeps an `UPDATE` of its
//! query builder among a connection's prepared statements (an optional
//! value could leave its column out of the `SET`, so it cannot know that
//! the text is always the same), so every update and delete of a relation
//! was parsed and planned anew (README, "Performance"). Here the SQL is
//! fixed and the type is its key, so diesel prepares each once per
//! connection, as `pg_create` does for a create on PostgreSQL.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Integer, Nullable, Text, Timestamp};

/// The update of relation `id` to new values (None clears an optional
/// one) and the next version, if it is still live and at `version_read`:
/// the caller holds the row's lock (PostgreSQL) or is the one writer
/// (SQLite), and this says so.
#[derive(Clone, Copy)]
pub(super) struct UpdateRelation<'a> {
    pub id: i64,
    pub version_read: i32,
    pub reference: &'a str,
    pub title_code: Option<&'a str>,
    pub additional_value: Option<&'a str>,
    pub source: Option<&'a str>,
    pub modified_at: NaiveDateTime,
    pub modified_by: &'a str,
}

/// The delete's mark on relation `id`, if it is still live.
pub(super) struct DeleteRelation<'a> {
    pub id: i64,
    pub at: NaiveDateTime,
    pub by: &'a str,
}

/// The statements' keys in diesel's cache of prepared statements.
pub(super) struct UpdateRelationKey;
pub(super) struct DeleteRelationKey;

impl QueryId for UpdateRelation<'_> {
    type QueryId = UpdateRelationKey;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryId for DeleteRelation<'_> {
    type QueryId = DeleteRelationKey;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<C> RunQueryDsl<C> for UpdateRelation<'_> {}
impl<C> RunQueryDsl<C> for DeleteRelation<'_> {}

impl<DB> QueryFragment<DB> for UpdateRelation<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Integer> + HasSqlType<BigInt>,
    DB: HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    i32: ToSql<Integer, DB>,
    i64: ToSql<BigInt, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE customer_relations SET reference = ");
        out.push_bind_param::<Text, _>(self.reference)?;
        out.push_sql(", title_code = ");
        out.push_bind_param::<Nullable<Text>, _>(&self.title_code)?;
        out.push_sql(", additional_value = ");
        out.push_bind_param::<Nullable<Text>, _>(&self.additional_value)?;
        out.push_sql(", source = ");
        out.push_bind_param::<Nullable<Text>, _>(&self.source)?;
        out.push_sql(", version = version + 1, modified_at = ");
        out.push_bind_param::<Timestamp, _>(&self.modified_at)?;
        out.push_sql(", modified_by = ");
        out.push_bind_param::<Text, _>(self.modified_by)?;
        where_live(&mut out, &self.id)?;
        out.push_sql(" AND version = ");
        out.push_bind_param::<Integer, _>(&self.version_read)?;
        Ok(())
    }
}

impl<DB> QueryFragment<DB> for DeleteRelation<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE customer_relations SET deleted_at = ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(", deleted_by = ");
        out.push_bind_param::<Text, _>(self.by)?;
        where_live(&mut out, &self.id)
    }
}

/// Both statements' condition: relation `id`, if it is still live.
fn where_live<'b, DB>(out: &mut AstPass<'_, 'b, DB>, id: &'b i64) -> QueryResult<()>
where
    DB: Backend + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
{
    out.push_sql(" WHERE id = ");
    out.push_bind_param::<BigInt, _>(id)?;
    out.push_sql(" AND deleted_at IS NULL");
    Ok(())
}
