//! The API clients on diesel (README, "Security").

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::schema::{api_clients, relation_types};
use super::{Database, corrupt, db_run, internal};
use crate::auth::{ApiClient, ClientStore, SecretDigest};
use crate::vocabulary::{InternalError, Role, Validity};

#[derive(Queryable, Insertable)]
#[diesel(table_name = api_clients)]
struct ClientRow {
    name: String,
    role: String,
    scope: Option<String>,
    validity: String,
    secret_digest: String,
    created_at: NaiveDateTime,
}

impl TryFrom<ClientRow> for ApiClient {
    type Error = InternalError;

    fn try_from(row: ClientRow) -> Result<Self, InternalError> {
        Ok(ApiClient {
            role: row.role.parse::<Role>().map_err(corrupt)?,
            scope: row
                .scope
                .map(|codes| codes.split(',').map(str::to_owned).collect()),
            validity: row.validity.parse::<Validity>().map_err(corrupt)?,
            secret_digest: SecretDigest::from_hex(&row.secret_digest)
                .ok_or_else(|| corrupt(format!("the secret digest of client {}", row.name)))?,
            created_at: row.created_at.and_utc(),
            name: row.name,
        })
    }
}

impl ClientStore for Database {
    fn api_clients(&self) -> Result<Vec<ApiClient>, InternalError> {
        let mut conn = self.connection().map_err(InternalError::new)?;
        let rows = db_run!(conn.conn(), |c| api_clients::table
            .order(api_clients::name)
            .load::<ClientRow>(c))
        .map_err(internal)?;
        rows.into_iter().map(ApiClient::try_from).collect()
    }

    fn insert_api_client(&self, client: &ApiClient) -> Result<bool, InternalError> {
        let row = ClientRow {
            name: client.name.clone(),
            role: client.role.as_str().to_owned(),
            scope: client.scope.as_ref().map(|codes| codes.join(",")),
            validity: client.validity.as_str().to_owned(),
            secret_digest: client.secret_digest.to_hex(),
            created_at: client.created_at.naive_utc(),
        };
        let mut conn = self.connection().map_err(InternalError::new)?;
        let inserted = db_run!(conn.conn(), |c| diesel::insert_into(api_clients::table)
            .values(&row)
            .execute(c));
        match inserted {
            Ok(_) => Ok(true),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
            Err(error) => Err(internal(error)),
        }
    }

    fn update_api_client(
        &self,
        name: &str,
        secret_digest: &SecretDigest,
        validity: Option<Validity>,
    ) -> Result<bool, InternalError> {
        let mut conn = self.connection().map_err(InternalError::new)?;
        let digest = secret_digest.to_hex();
        let target = api_clients::table.find(name);
        let updated = match validity {
            Some(validity) => db_run!(conn.conn(), |c| diesel::update(target)
                .set((
                    api_clients::secret_digest.eq(&digest),
                    api_clients::validity.eq(validity.as_str()),
                ))
                .execute(c)),
            None => db_run!(conn.conn(), |c| diesel::update(target)
                .set(api_clients::secret_digest.eq(&digest))
                .execute(c)),
        };
        updated.map(|rows| rows > 0).map_err(internal)
    }

    fn relation_type_exists(&self, code: &str) -> Result<bool, InternalError> {
        let mut conn = self.connection().map_err(InternalError::new)?;
        db_run!(conn.conn(), |c| relation_types::table
            .find(code)
            .count()
            .get_result::<i64>(c))
        .map(|n| n > 0)
        .map_err(internal)
    }
}
