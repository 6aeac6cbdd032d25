//! The services' persistence: every store trait of `eudi-oid4vci` ([`IssuerStore`]) on SQLite, the
//! embedded default, and on PostgreSQL, the scale-out backend (DESIGN.md, "Storage").
//!
//! # Opening
//!
//! [`open`] takes the `--database-url` of the issuer: `sqlite://PATH` (one file, created when
//! missing) or `postgres://…`, and returns a [`Store`]; [`open_sqlite_in`] opens the default file
//! [`SQLITE_FILE_NAME`] in a data directory. Both run the embedded migrations
//! (`migrations/sqlite`, `migrations/postgres`: the same tables, each in its database's types)
//! before they return. [`Store::issuer`] gives the `Arc<dyn IssuerStore>` the protocol uses,
//! [`IssuerStore::ping`] answers `/ready`, and
//! [`SessionStore::purge_expired`](eudi_oid4vci::store::SessionStore::purge_expired) is what the
//! service runs periodically (correctness never depends on it: every query compares
//! `expires_at > now`).
//!
//! # What is stored
//!
//! * `sessions`, `nonces`, `replay_guard`, `pre_authorized_codes`: short-lived protocol records,
//!   keyed by the secret key of a bearer secret (never the secret); their values are opaque bytes
//!   written by the protocol crate.
//! * `status_lists`, `status_slots`: each list's size, fill and version, and every place given out
//!   with its status value (a place given out is never given again, used or not).
//! * `credentials`: what revocation needs of an issued credential (id, subject key, format,
//!   configuration, status place, state, issue and expiry times) and **no claim values**; the
//!   subject key is derived by the issuer, never a CPR number.
//! * `deferred`: deferred issuances awaiting review, including the opaque record issuing needs;
//!   [`SessionStore::purge_expired`](eudi_oid4vci::store::SessionStore::purge_expired) deletes
//!   expired ones with the other expired records.
//! * `provider_records`: the embedded MitID test provider's pending logins, codes and access
//!   tokens ([`Store::provider`], JSON keyed by secret keys), so instances share its logins;
//!   purged [`PROVIDER_GRACE_SECONDS`] after they expire.
//!
//! Limits: keys and other indexed text up to [`MAX_KEY_BYTES`], opaque records up to
//! [`MAX_RECORD_BYTES`], [`MAX_STATUS_BATCH`] status places per allocation; pool size and
//! timeouts in [`StoreOptions`].
//!
//! # Scale-out on PostgreSQL
//!
//! Any number of issuer instances may share one PostgreSQL database (with the same keys): every
//! record lives in the database and every operation the contracts call atomic is one statement or
//! one transaction that locks what it decides on, so a code is redeemed once, a nonce consumed once
//! and a status place given once however requests are spread over instances (the
//! module `backend` gives the operation-by-operation account). Status allocation is serialised
//! on one lock row; it is a few inserts per credential response, far from a bottleneck. A
//! [`StoreOptions::schema`] keeps everything (also sqlx's migration table) in one schema, so
//! several deployments or test runs can share a database. Migrations run under sqlx's advisory
//! lock, so instances starting together migrate once.
#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eudi_mitid_test_provider::store::ProviderStore;
use eudi_mitid_test_provider::store::StoreLimits;
use eudi_oid4vci::store::IssuerStore;
use eudi_oid4vci::store::SessionStore as _;
use eudi_oid4vci::store::StoreError;
use eudi_trust::Clock;

mod backend;
mod error;
mod migrate;
mod postgres;
mod provider;
mod sqlite;

pub use backend::MAX_KEY_BYTES;
pub use backend::MAX_RECORD_BYTES;
pub use backend::MAX_STATUS_BATCH;
pub use postgres::PostgresStore;
pub use provider::PROVIDER_GRACE_SECONDS;
pub use provider::PostgresProviderStore;
pub use provider::SqliteProviderStore;
pub use sqlite::SQLITE_FILE_NAME;
pub use sqlite::SqliteStore;

/// Default most connections of a pool.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;
/// Default longest wait for a free connection of the pool.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default longest wait of an SQLite writer for another one's lock.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Default longest run of one PostgreSQL statement (a stuck lock surfaces as an error).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a store connects: pool size, timeouts, and the PostgreSQL schema.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Most connections of the pool.
    pub max_connections: u32,
    /// Longest wait for a free connection before an operation fails as unavailable.
    pub acquire_timeout: Duration,
    /// SQLite: longest wait for another connection's write lock.
    pub busy_timeout: Duration,
    /// PostgreSQL: longest run of one statement (`statement_timeout`).
    pub statement_timeout: Duration,
    /// PostgreSQL: the schema every table lives in (created when missing; `[a-z_][a-z0-9_]*`);
    /// `None` uses the server's default `search_path`. Ignored by SQLite.
    pub schema: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            schema: None,
        }
    }
}

impl StoreOptions {
    /// These options with every table in the PostgreSQL `schema`.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// These options with a pool of at most `max_connections`.
    pub fn with_max_connections(mut self, max_connections: u32) -> Self {
        self.max_connections = max_connections;
        self
    }
}

/// An opened database, of either backend.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Store {
    /// An SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

impl Store {
    /// The issuance stores, as the protocol takes them.
    pub fn issuer(&self) -> Arc<dyn IssuerStore> {
        match self {
            Self::Sqlite(store) => Arc::new(store.clone()),
            Self::Postgres(store) => Arc::new(store.clone()),
        }
    }

    /// The MitID test provider's store on this database, so instances share its logins; expiry
    /// is told by `clock`, and `limits` bound what `/authorize` can make it hold.
    pub fn provider(&self, clock: Arc<dyn Clock>, limits: StoreLimits) -> Arc<dyn ProviderStore> {
        match self {
            Self::Sqlite(store) => Arc::new(SqliteProviderStore::new(store.clone(), clock, limits)),
            Self::Postgres(store) => {
                Arc::new(PostgresProviderStore::new(store.clone(), clock, limits))
            }
        }
    }

    /// Whether the database answers (for `/ready`); the same as [`IssuerStore::ping`].
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => store.ping().await,
            Self::Postgres(store) => store.ping().await,
        }
    }

    /// Removes every record expired at `now` (the issuer's sessions, nonces, replay entries,
    /// pre-authorized codes and deferred issuances, and the test provider's records past
    /// [`PROVIDER_GRACE_SECONDS`]); returns how many rows went. For the service to run
    /// periodically: correctness never depends on it, the database's size does.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(store) => store.purge_expired(now).await,
            Self::Postgres(store) => store.purge_expired(now).await,
        }
    }

    /// Which backend this is: `"sqlite"` or `"postgres"` (for logs).
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Closes the pool (at shutdown).
    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
        }
    }
}

/// Opens and migrates the database of `database_url`: `sqlite://PATH` (or `sqlite:PATH`) or
/// `postgres://…` (or `postgresql://…`). Any other scheme is [`StoreError::Invalid`]; a database
/// that cannot be reached is [`StoreError::Unavailable`].
pub async fn open(database_url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
    let scheme = database_url
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") => Ok(Store::Sqlite(
            SqliteStore::open(database_url, options).await?,
        )),
        Some("postgres" | "postgresql") => Ok(Store::Postgres(
            PostgresStore::open(database_url, options).await?,
        )),
        _ => Err(StoreError::Invalid(
            "the database URL must start with sqlite: or postgres:".into(),
        )),
    }
}

/// Opens (creating both when missing) the embedded default: `data_dir/issuer.sqlite3`.
pub async fn open_sqlite_in(data_dir: &Path, options: &StoreOptions) -> Result<Store, StoreError> {
    Ok(Store::Sqlite(
        SqliteStore::open_in(data_dir, options).await?,
    ))
}
