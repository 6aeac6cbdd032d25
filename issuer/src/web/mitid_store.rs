//! The embedded MitID test provider's state in the issuer's store, so that instances sharing a
//! database share MitID logins too: the login form can be posted to one instance and the
//! callback answered by another (DESIGN.md: any instance serves any step of any flow).
//!
//! Records go through [`eudi_oid4vci::store::SessionStore`] under the provider's own key prefixes, so they never
//! meet the protocol's records of the same kind. The provider passes the secret keys of codes
//! and tokens, never the secrets.

use std::fmt;
use std::sync::Arc;

use eudi_mitid_test_provider::store::AccessGrant;
use eudi_mitid_test_provider::store::CodeGrant;
use eudi_mitid_test_provider::store::LoginRequest;
use eudi_mitid_test_provider::store::ProviderStore;
use eudi_mitid_test_provider::store::StoreError;
use eudi_mitid_test_provider::store::StoreFuture;
use eudi_oid4vci::store::IssuerStore;
use eudi_oid4vci::store::SessionKind;
use eudi_trust::Clock;
use serde::Serialize;
use serde::de::DeserializeOwned;

const LOGIN_PREFIX: &str = "mitid-provider:login:";
const CODE_PREFIX: &str = "mitid-provider:code:";
const TOKEN_PREFIX: &str = "mitid-provider:token:";

/// [`ProviderStore`] on the issuer's [`IssuerStore`].
pub struct SharedProviderStore {
    store: Arc<dyn IssuerStore>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for SharedProviderStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedProviderStore")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl SharedProviderStore {
    /// The provider's state in `store`, expiring by `clock`.
    pub fn new(store: Arc<dyn IssuerStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    async fn put<T: Serialize>(
        &self,
        kind: SessionKind,
        key: String,
        value: &T,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.store
            .put(kind, &key, &bytes, expires_at)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))
    }

    async fn read<T: DeserializeOwned>(
        &self,
        kind: SessionKind,
        key: String,
        take: bool,
        now: i64,
    ) -> Result<Option<T>, StoreError> {
        let found = if take {
            self.store.take(kind, &key, now).await
        } else {
            self.store.get(kind, &key, now).await
        }
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        found
            .map(|bytes| {
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Backend(e.to_string()))
            })
            .transpose()
    }
}

impl ProviderStore for SharedProviderStore {
    fn put_login_request<'a>(&'a self, key: &'a str, request: LoginRequest) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let expires_at = request.expires_at;
            self.put(
                SessionKind::LoginSession,
                format!("{LOGIN_PREFIX}{key}"),
                &request,
                expires_at,
            )
            .await
        })
    }

    fn login_request<'a>(
        &'a self,
        key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<LoginRequest>> {
        Box::pin(async move {
            self.read(
                SessionKind::LoginSession,
                format!("{LOGIN_PREFIX}{key}"),
                false,
                now,
            )
            .await
        })
    }

    fn take_login_request<'a>(
        &'a self,
        key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<LoginRequest>> {
        Box::pin(async move {
            self.read(
                SessionKind::LoginSession,
                format!("{LOGIN_PREFIX}{key}"),
                true,
                now,
            )
            .await
        })
    }

    fn put_code<'a>(&'a self, key: &'a str, grant: CodeGrant) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let expires_at = grant.expires_at;
            self.put(
                SessionKind::AuthorizationCode,
                format!("{CODE_PREFIX}{key}"),
                &grant,
                expires_at,
            )
            .await
        })
    }

    fn take_code<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<CodeGrant>> {
        Box::pin(async move {
            // Taken once, by the one exchange that redeems it, on whichever instance.
            self.read(
                SessionKind::AuthorizationCode,
                format!("{CODE_PREFIX}{key}"),
                true,
                self.clock.now(),
            )
            .await
        })
    }

    fn put_access_token<'a>(&'a self, key: &'a str, grant: AccessGrant) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let expires_at = grant.expires_at;
            self.put(
                SessionKind::AccessToken,
                format!("{TOKEN_PREFIX}{key}"),
                &grant,
                expires_at,
            )
            .await
        })
    }

    fn access_token<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<AccessGrant>> {
        Box::pin(async move {
            self.read(
                SessionKind::AccessToken,
                format!("{TOKEN_PREFIX}{key}"),
                false,
                now,
            )
            .await
        })
    }
}
