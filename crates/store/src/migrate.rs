//! Embedded migrations: the SQL files of `migrations/sqlite` and `migrations/postgres` are
//! compiled into the binary (`include_str!`), so an issuer needs no files beside itself, and run
//! on open by sqlx's migrator (which records them in `_sqlx_migrations`, checks their checksums
//! and, on PostgreSQL, holds an advisory lock so instances starting together migrate once).

use std::borrow::Cow;

use eudi_oid4vci::store::StoreError;
use sqlx::error::BoxDynError;
use sqlx::migrate::Migration;
use sqlx::migrate::MigrationSource;
use sqlx::migrate::MigrationType;
use sqlx::migrate::Migrator;

/// One migration: its version, description and SQL.
type Step = (i64, &'static str, &'static str);

/// The SQLite schema, oldest first.
pub(crate) const SQLITE: &[Step] = &[
    (
        1,
        "issuer",
        include_str!("../migrations/sqlite/0001_issuer.sql"),
    ),
    (
        2,
        "provider",
        include_str!("../migrations/sqlite/0002_provider.sql"),
    ),
];

/// The PostgreSQL schema, oldest first (the same tables as [`SQLITE`] with PostgreSQL types).
pub(crate) const POSTGRES: &[Step] = &[
    (
        1,
        "issuer",
        include_str!("../migrations/postgres/0001_issuer.sql"),
    ),
    (
        2,
        "provider",
        include_str!("../migrations/postgres/0002_provider.sql"),
    ),
];

/// A [`MigrationSource`] over compiled-in steps (what `sqlx::migrate!` would build, without
/// sqlx's proc macros).
#[derive(Debug)]
struct Embedded(&'static [Step]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>>
    {
        let migrations = self
            .0
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

/// The migrator of `steps`.
pub(crate) async fn migrator(steps: &'static [Step]) -> Result<Migrator, StoreError> {
    Migrator::new(Embedded(steps))
        .await
        .map_err(|error| StoreError::Corrupt(format!("embedded migrations: {error}")))
}

/// Maps a failed migration run.
pub(crate) fn failed(error: sqlx::migrate::MigrateError) -> StoreError {
    match error {
        sqlx::migrate::MigrateError::Execute(error) => crate::error::classify(error, "migration"),
        // A database migrated by another version of this crate (missing, changed or newer
        // migrations) is not something to serve from.
        other => StoreError::Corrupt(format!("database schema: {other}")),
    }
}
