//! The SQLite backend: the embedded default, one file in the data directory.
//!
//! The file is created when missing and opened in WAL mode (readers never wait for the writer),
//! with `synchronous = FULL` (a commit is on disk before the issuer answers, so neither a killed
//! process nor a power cut loses what was answered for), foreign keys on, and a busy timeout so a
//! writer waits for another instead of failing. Write transactions start with `BEGIN IMMEDIATE`:
//! they take the write lock up front, so a read-then-write transaction can never be refused
//! half-way (`SQLITE_BUSY_SNAPSHOT`) and no two of them interleave, even across processes.

use std::path::Path;
use std::str::FromStr as _;

use eudi_oid4vci::store::StoreError;
use sqlx::Sqlite;
use sqlx::SqlitePool;
use sqlx::Transaction;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::sqlite::SqliteJournalMode;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::sqlite::SqliteSynchronous;

use crate::StoreOptions;
use crate::backend::issuer_store;
use crate::error::db;
use crate::migrate;

/// The default file name of the issuer's SQLite database in its data directory.
pub const SQLITE_FILE_NAME: &str = "issuer.sqlite3";

/// Every issuance store trait on one SQLite database file. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it and its directory when missing) the database of a `sqlite://PATH` URL
    /// and migrates it. An in-memory database (`sqlite::memory:`, `mode=memory`) is refused: it
    /// would lose everything with the process and share nothing with another instance (use
    /// `eudi_oid4vci::store::memory::MemoryStore` in unit tests).
    pub async fn open(database_url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        if database_url.contains(":memory:") || database_url.contains("mode=memory") {
            return Err(StoreError::Invalid(
                "an in-memory SQLite database keeps nothing; give a file".into(),
            ));
        }
        let connect = SqliteConnectOptions::from_str(database_url)
            .map_err(|error| StoreError::Invalid(format!("SQLite database URL: {error}")))?;
        if let Some(parent) = connect
            .get_filename()
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                StoreError::Unavailable(format!("cannot create the database's directory: {error}"))
            })?;
        }
        Self::open_with(connect, options).await
    }

    /// Opens (creating both when missing) `data_dir/issuer.sqlite3` and migrates it.
    pub async fn open_in(data_dir: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|error| {
            StoreError::Unavailable(format!("cannot create the data directory: {error}"))
        })?;
        let connect = SqliteConnectOptions::new().filename(data_dir.join(SQLITE_FILE_NAME));
        Self::open_with(connect, options).await
    }

    async fn open_with(
        connect: SqliteConnectOptions,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(db("database connection"))?;
        migrate::migrator(migrate::SQLITE)
            .await?
            .run(&pool)
            .await
            .map_err(migrate::failed)?;
        Ok(Self { pool })
    }

    /// Closes the pool: waits for connections in use to come back, then closes every one (the
    /// WAL is checkpointed into the database file).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction holding SQLite's write lock from its start.
    pub(crate) async fn write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("transaction"))
    }
}

issuer_store!(SqliteStore, sqlx::sqlite::SqliteRow, for_update = "");
