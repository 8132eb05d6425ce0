//! A create on PostgreSQL as one statement: the owner's row locked and its
//! count of live relations read, the relation inserted unless the count is
//! at the bound or an identical live relation exists, and its change
//! written. SQLite cannot put an insert in a `WITH`; its writer runs the
//! same steps as three statements, in process (see `insert_relation`).
//!
//! One statement instead of three saves two of a create's round trips to
//! the database (README, "Performance"). The SQL is fixed and the type is
//! its key, so diesel prepares it once per connection, as it does the query
//! builder's.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use super::rows::NewRelationRow;

/// What the statement came to: the new relation's Id, if it was written,
/// and the owner's count of live relations before it (`None` when the
/// owner's row is not there).
pub(super) type Outcome = (Option<i64>, Option<i32>);

/// The statement for `row`, refused when the owner holds `limit` live
/// relations or more.
pub(super) struct CreateWithChange<'a> {
    pub(super) row: &'a NewRelationRow<'a>,
    pub(super) limit: i32,
}

/// The statement's key in diesel's cache of prepared statements.
pub(super) struct CreateWithChangeKey;

impl QueryId for CreateWithChange<'_> {
    type QueryId = CreateWithChangeKey;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for CreateWithChange<'_> {
    type SqlType = (Nullable<BigInt>, Nullable<Integer>);
}

impl RunQueryDsl<PgConnection> for CreateWithChange<'_> {}

impl QueryFragment<Pg> for CreateWithChange<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let row = self.row;
        // The lock is the one a create has always taken: concurrent creates
        // for the customer wait here, so none passes the bound with another.
        out.push_sql(
            "WITH owner AS (SELECT live_relations FROM customers WHERE customer_number = ",
        );
        out.push_bind_param::<Integer, _>(&row.customer_number)?;
        out.push_sql(
            " FOR UPDATE), \
             created AS (INSERT INTO customer_relations (customer_number, relation_type_code, \
             reference, title_code, additional_value, source, created_at, created_by) SELECT ",
        );
        out.push_bind_param::<Integer, _>(&row.customer_number)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&row.relation_type_code)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&row.reference)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&row.title_code)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&row.additional_value)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&row.source)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&row.created_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&row.created_by)?;
        out.push_sql(" FROM owner WHERE owner.live_relations < ");
        out.push_bind_param::<Integer, _>(&self.limit)?;
        // An identical live relation is skipped (the unique index), as the
        // query builder's `on_conflict_do_nothing` does.
        out.push_sql(
            " ON CONFLICT DO NOTHING \
             RETURNING id, customer_number, relation_type_code, reference, title_code, \
             additional_value, source, version, created_at, created_by), \
             logged AS (INSERT INTO customer_relation_changes (kind, relation_id, \
             customer_number, relation_type_code, reference, title_code, additional_value, \
             source, version, created_at, created_by) SELECT 'Created', id, customer_number, \
             relation_type_code, reference, title_code, additional_value, source, version, \
             created_at, created_by FROM created) \
             SELECT (SELECT id FROM created), (SELECT live_relations FROM owner)",
        );
        Ok(())
    }
}
