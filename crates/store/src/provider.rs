//! The MitID test provider's [`ProviderStore`] on SQLite and PostgreSQL, so that several issuer
//! instances on one database share the embedded provider's logins (a login started on one
//! instance completes on another).
//!
//! It keeps the in-memory store's semantics and limits ([`StoreLimits`]): at most
//! `max_records` records of each kind, at most `max_pending_logins_per_client` pending logins of
//! one client; expired records are evicted when a limit is reached (logins at once, codes and
//! tokens after [`PROVIDER_GRACE_SECONDS`]), and [`SessionStore::purge_expired`] drops them
//! too. Every insert locks its kind's row of `provider_locks`, so the limits hold across
//! instances; a code is taken by one `DELETE … RETURNING`, so only one caller ever gets it.
//!
//! [`SessionStore::purge_expired`]: eudi_oid4vci::store::SessionStore::purge_expired

use std::sync::Arc;

use eudi_mitid_test_provider::store::AccessGrant;
use eudi_mitid_test_provider::store::CodeGrant;
use eudi_mitid_test_provider::store::LoginRequest;
use eudi_mitid_test_provider::store::ProviderStore;
use eudi_mitid_test_provider::store::StoreError as ProviderError;
use eudi_mitid_test_provider::store::StoreFuture;
use eudi_mitid_test_provider::store::StoreLimits;
use eudi_oid4vci::store::StoreError;
use eudi_trust::Clock;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row as _;

use crate::PostgresStore;
use crate::SqliteStore;
use crate::error::db;

/// How long after expiry a code or token is kept (and named as expired rather than unknown),
/// the in-memory provider store's grace.
pub const PROVIDER_GRACE_SECONDS: i64 = 300;

const LOGIN: &str = "login";
const CODE: &str = "code";
const TOKEN: &str = "token";

fn backend(error: StoreError) -> ProviderError {
    ProviderError::Backend(error.to_string())
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ProviderError> {
    serde_json::to_vec(value).map_err(|error| {
        ProviderError::Backend(format!("cannot encode a provider record: {error}"))
    })
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(bytes).map_err(|error| {
        ProviderError::Backend(format!("a stored provider record is corrupt: {error}"))
    })
}

fn count(value: i64) -> Result<usize, ProviderError> {
    usize::try_from(value).map_err(|_| {
        ProviderError::Backend(format!("a stored record count is out of range: {value}"))
    })
}

/// What one insert may evict and how it is limited.
struct Insert<'a> {
    kind: &'static str,
    key: &'a str,
    client_id: &'a str,
    value: Vec<u8>,
    expires_at: i64,
    /// Records of the kind that expired at or before this may be evicted to make room.
    evict_until: i64,
    /// The per-client limit, for pending logins.
    per_client: Option<usize>,
}

macro_rules! provider_store {
    ($provider:ident, $store:ty, for_update = $lock:literal) => {
        /// The MitID test provider's store on this backend's database (see the module doc).
        #[derive(Clone, Debug)]
        pub struct $provider {
            store: $store,
            clock: Arc<dyn Clock>,
            limits: StoreLimits,
        }

        impl $provider {
            /// The provider's store on `store`'s database, telling expiry by `clock`.
            pub fn new(store: $store, clock: Arc<dyn Clock>, limits: StoreLimits) -> Self {
                Self {
                    store,
                    clock,
                    limits,
                }
            }

            async fn counts(
                tx: &mut sqlx::Transaction<'static, <$store as Backend>::Db>,
                insert: &Insert<'_>,
            ) -> Result<(usize, usize), ProviderError> {
                let what = "provider record";
                // A key stored again replaces its record: it does not count against the limit.
                let row = sqlx::query(
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN client_id = $3 THEN 1 ELSE 0 END), 0) \
                     FROM provider_records WHERE kind = $1 AND key <> $2",
                )
                .bind(insert.kind)
                .bind(insert.key)
                .bind(insert.client_id)
                .fetch_one(&mut **tx)
                .await
                .map_err(db(what))
                .map_err(backend)?;
                let total: i64 = row.try_get(0).map_err(db(what)).map_err(backend)?;
                let of_client: i64 = row.try_get(1).map_err(db(what)).map_err(backend)?;
                Ok((count(total)?, count(of_client)?))
            }

            async fn insert(&self, insert: Insert<'_>) -> Result<(), ProviderError> {
                let what = "provider record";
                let mut tx = self.store.write().await.map_err(backend)?;
                sqlx::query(concat!(
                    "SELECT kind FROM provider_locks WHERE kind = $1",
                    $lock
                ))
                .bind(insert.kind)
                .fetch_one(&mut *tx)
                .await
                .map_err(db(what))
                .map_err(backend)?;
                let client_full =
                    |of_client: usize| insert.per_client.is_some_and(|limit| of_client >= limit);
                let max = self.limits.max_records;
                let (mut total, mut of_client) = Self::counts(&mut tx, &insert).await?;
                if total >= max || client_full(of_client) {
                    sqlx::query(
                        "DELETE FROM provider_records WHERE kind = $1 AND expires_at <= $2",
                    )
                    .bind(insert.kind)
                    .bind(insert.evict_until)
                    .execute(&mut *tx)
                    .await
                    .map_err(db(what))
                    .map_err(backend)?;
                    (total, of_client) = Self::counts(&mut tx, &insert).await?;
                }
                if client_full(of_client) {
                    return Err(ProviderError::ClientLimit {
                        client_id: insert.client_id.to_owned(),
                    });
                }
                if total >= max {
                    return Err(ProviderError::Full);
                }
                crate::backend::check_key("provider key", insert.key).map_err(backend)?;
                crate::backend::check_key("client id", insert.client_id).map_err(backend)?;
                crate::backend::check_record(what, &insert.value).map_err(backend)?;
                sqlx::query(
                    "INSERT INTO provider_records (kind, key, client_id, value, expires_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, key) DO UPDATE SET \
                     client_id = excluded.client_id, value = excluded.value, \
                     expires_at = excluded.expires_at",
                )
                .bind(insert.kind)
                .bind(insert.key)
                .bind(insert.client_id)
                .bind(insert.value.as_slice())
                .bind(insert.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(db(what))
                .map_err(backend)?;
                tx.commit().await.map_err(db(what)).map_err(backend)?;
                Ok(())
            }

            async fn live(
                &self,
                kind: &'static str,
                key: &str,
                now: i64,
            ) -> Result<Option<Vec<u8>>, ProviderError> {
                let what = "provider record";
                let row = sqlx::query(
                    "SELECT value FROM provider_records \
                     WHERE kind = $1 AND key = $2 AND expires_at > $3",
                )
                .bind(kind)
                .bind(key)
                .bind(now)
                .fetch_optional(&self.store.pool)
                .await
                .map_err(db(what))
                .map_err(backend)?;
                row.map(|row| row.try_get(0))
                    .transpose()
                    .map_err(db(what))
                    .map_err(backend)
            }

            /// Removes the record and returns it if it has not expired at `now` (`None`: at any
            /// time, for codes, which the caller names as expired itself).
            async fn take(
                &self,
                kind: &'static str,
                key: &str,
                now: Option<i64>,
            ) -> Result<Option<Vec<u8>>, ProviderError> {
                let what = "provider record";
                let row = sqlx::query(
                    "DELETE FROM provider_records WHERE kind = $1 AND key = $2 \
                     RETURNING value, expires_at",
                )
                .bind(kind)
                .bind(key)
                .fetch_optional(&self.store.pool)
                .await
                .map_err(db(what))
                .map_err(backend)?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let expires_at: i64 = row.try_get(1).map_err(db(what)).map_err(backend)?;
                if now.is_some_and(|now| expires_at <= now) {
                    return Ok(None);
                }
                row.try_get(0).map(Some).map_err(db(what)).map_err(backend)
            }
        }

        impl ProviderStore for $provider {
            fn put_login_request<'a>(
                &'a self,
                key: &'a str,
                request: LoginRequest,
            ) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    self.insert(Insert {
                        kind: LOGIN,
                        key,
                        client_id: &request.client_id,
                        value: encode(&request)?,
                        expires_at: request.expires_at,
                        evict_until: self.clock.now(),
                        per_client: Some(self.limits.max_pending_logins_per_client),
                    })
                    .await
                })
            }

            fn login_request<'a>(
                &'a self,
                key: &'a str,
                now: i64,
            ) -> StoreFuture<'a, Option<LoginRequest>> {
                Box::pin(async move {
                    self.live(LOGIN, key, now)
                        .await?
                        .map(|bytes| decode(&bytes))
                        .transpose()
                })
            }

            fn take_login_request<'a>(
                &'a self,
                key: &'a str,
                now: i64,
            ) -> StoreFuture<'a, Option<LoginRequest>> {
                Box::pin(async move {
                    self.take(LOGIN, key, Some(now))
                        .await?
                        .map(|bytes| decode(&bytes))
                        .transpose()
                })
            }

            fn put_code<'a>(&'a self, key: &'a str, grant: CodeGrant) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    self.insert(Insert {
                        kind: CODE,
                        key,
                        client_id: &grant.client_id,
                        value: encode(&grant)?,
                        expires_at: grant.expires_at,
                        evict_until: self.clock.now().saturating_sub(PROVIDER_GRACE_SECONDS),
                        per_client: None,
                    })
                    .await
                })
            }

            fn take_code<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<CodeGrant>> {
                Box::pin(async move {
                    self.take(CODE, key, None)
                        .await?
                        .map(|bytes| decode(&bytes))
                        .transpose()
                })
            }

            fn put_access_token<'a>(
                &'a self,
                key: &'a str,
                grant: AccessGrant,
            ) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    self.insert(Insert {
                        kind: TOKEN,
                        key,
                        client_id: &grant.client_id,
                        value: encode(&grant)?,
                        expires_at: grant.expires_at,
                        evict_until: self.clock.now().saturating_sub(PROVIDER_GRACE_SECONDS),
                        per_client: None,
                    })
                    .await
                })
            }

            fn access_token<'a>(
                &'a self,
                key: &'a str,
                now: i64,
            ) -> StoreFuture<'a, Option<AccessGrant>> {
                Box::pin(async move {
                    self.live(TOKEN, key, now)
                        .await?
                        .map(|bytes| decode(&bytes))
                        .transpose()
                })
            }
        }
    };
}

/// The database type of a backend, for the transaction type of the macro's helpers.
trait Backend {
    type Db: sqlx::Database;
}

impl Backend for SqliteStore {
    type Db = sqlx::Sqlite;
}

impl Backend for PostgresStore {
    type Db = sqlx::Postgres;
}

provider_store!(SqliteProviderStore, SqliteStore, for_update = "");
provider_store!(
    PostgresProviderStore,
    PostgresStore,
    for_update = " FOR UPDATE"
);
