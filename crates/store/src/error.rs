//! How database failures become [`StoreError`]s.
//!
//! The messages go to operators' logs, so they carry the database's error code and message (a
//! constraint name, never a row's values: PostgreSQL puts those in the `detail` field, which is
//! left out) and the kind of record, never a key or a value.

use eudi_oid4vci::store::StoreError;
use sqlx::error::ErrorKind;

/// Maps a database error on a `what` record to a [`StoreError`]: a unique violation is
/// [`StoreError::Duplicate`], a row that does not decode is [`StoreError::Corrupt`], a broken
/// constraint is [`StoreError::Invalid`], anything else (connection, I/O, pool timeout, lock
/// timeout) is [`StoreError::Unavailable`].
pub(crate) fn classify(error: sqlx::Error, what: &'static str) -> StoreError {
    match &error {
        sqlx::Error::Database(database) => {
            let code = database.code().map(|code| code.into_owned());
            let code = code.as_deref().unwrap_or("-");
            match database.kind() {
                ErrorKind::UniqueViolation => StoreError::Duplicate(what),
                ErrorKind::ForeignKeyViolation
                | ErrorKind::NotNullViolation
                | ErrorKind::CheckViolation => StoreError::Invalid(format!(
                    "a {what} breaks a constraint ({code}: {})",
                    database.message()
                )),
                _ => StoreError::Unavailable(format!(
                    "database error on a {what} ({code}: {})",
                    database.message()
                )),
            }
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::RowNotFound => {
            StoreError::Corrupt(format!("a stored {what} does not read back: {error}"))
        }
        sqlx::Error::Configuration(_) => {
            StoreError::Invalid(format!("database configuration: {error}"))
        }
        _ => StoreError::Unavailable(format!("{what}: {error}")),
    }
}

/// [`classify`] as a closure for `map_err`.
pub(crate) fn db(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| classify(error, what)
}

/// A stored number that must fit a `u32` (list numbers, indexes, sizes, attempts).
pub(crate) fn to_u32(value: i64, what: &'static str) -> Result<u32, StoreError> {
    u32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("a stored {what} is out of range: {value}")))
}

/// A stored status value (0..=255).
pub(crate) fn to_u8(value: i64, what: &'static str) -> Result<u8, StoreError> {
    u8::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("a stored {what} is out of range: {value}")))
}
