//! The PostgreSQL backend: the scale-out store several issuer instances share.
//!
//! Every instance holds a pool on the same database; the contracts' atomicity comes from single
//! statements (`DELETE … RETURNING`, guarded `UPDATE`s, upserts) and from transactions that lock
//! the row they decide on (`SELECT … FOR UPDATE`), at PostgreSQL's default READ COMMITTED
//! isolation. A `schema` option puts every table (and sqlx's migration table) in one schema
//! through the connections' `search_path`, so tests and operators can share a database.

use std::str::FromStr as _;

use eudi_oid4vci::store::StoreError;
use sqlx::PgPool;
use sqlx::Postgres;
use sqlx::Transaction;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;

use crate::StoreOptions;
use crate::backend::issuer_store;
use crate::error::db;
use crate::migrate;

/// Longest schema name PostgreSQL keeps (NAMEDATALEN - 1).
const MAX_SCHEMA_LEN: usize = 63;

/// Every issuance store trait on one PostgreSQL database (or one schema of it). Cheap to clone.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

/// Whether `schema` is a plain lower-case identifier (so it needs no quoting anywhere, also not
/// in `search_path`, and cannot inject SQL).
fn check_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let plain = chars
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && schema.len() <= MAX_SCHEMA_LEN {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "a PostgreSQL schema must be [a-z_][a-z0-9_]* of at most {MAX_SCHEMA_LEN} characters"
        )))
    }
}

impl PostgresStore {
    /// Connects to a `postgres://` URL and migrates the database (in `options.schema` when set,
    /// which is created when missing).
    pub async fn open(database_url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        // The URL may carry a password: the error names no part of it.
        let mut connect = PgConnectOptions::from_str(database_url).map_err(|_| {
            StoreError::Invalid("the PostgreSQL database URL does not parse".into())
        })?;
        let statement_timeout = options.statement_timeout.as_millis().to_string();
        connect = connect.options([("statement_timeout", statement_timeout.as_str())]);
        if let Some(schema) = &options.schema {
            check_schema(schema)?;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(db("database connection"))?;
        if let Some(schema) = &options.schema {
            // Instances starting together may race on creating the schema; the loser's unique
            // violation means it exists, which is all that is asked.
            let created = sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .execute(&pool)
                .await
                .map_err(db("schema"));
            match created {
                Ok(_) | Err(StoreError::Duplicate(_)) => {}
                Err(error) => return Err(error),
            }
        }
        migrate::migrator(migrate::POSTGRES)
            .await?
            .run(&pool)
            .await
            .map_err(migrate::failed)?;
        Ok(Self { pool })
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction (READ COMMITTED; the operations lock the rows they decide on).
    pub(crate) async fn write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(db("transaction"))
    }
}

issuer_store!(
    PostgresStore,
    sqlx::postgres::PgRow,
    for_update = " FOR UPDATE"
);

#[cfg(test)]
mod tests {
    use super::check_schema;

    #[test]
    fn only_plain_schema_names_pass() {
        assert!(check_schema("eudi_test_1").is_ok());
        assert!(check_schema("_x").is_ok());
        for bad in [
            "",
            "1abc",
            "Public",
            "a-b",
            "a;drop",
            "a b",
            "\"x\"",
            &"a".repeat(64),
        ] {
            assert!(check_schema(bad).is_err(), "{bad:?}");
        }
    }
}
