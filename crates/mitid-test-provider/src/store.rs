//! The test provider's state: pending login requests, authorization codes and access tokens,
//! behind [`ProviderStore`].
//!
//! [`InMemoryStore`] is the implementation for now. It is enough for one process; the issuer
//! will plug in an implementation on its `store` crate (SQLite / PostgreSQL) so that several
//! instances share logins, as DESIGN.md asks of every stateful part. The trait is async (boxed
//! futures, so it stays object-safe) for that reason.
//!
//! Keys are never the secrets themselves: the provider passes [`eudi_oauth::token::secret_key`] of a
//! code or token, so a leaked store cannot be replayed. Every record carries its expiry; a code is
//! taken out of the store by the one request that redeems it.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::MutexGuard;

use eudi_trust::AssuranceLevel;
use serde::Deserialize;
use serde::Serialize;

use eudi_trust::Clock;
use eudi_trust::SystemClock;

/// A store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds as many records as it may; try again later.
    #[error("the provider store is full")]
    Full,
    /// The backend failed.
    #[error("the provider store failed: {0}")]
    Backend(String),
}

/// A boxed future, so that [`ProviderStore`] stays object-safe.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// An authorization request waiting for the user to log in on the form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LoginRequest {
    /// The client that asked.
    pub client_id: String,
    /// Where to send the browser back (exactly as registered).
    pub redirect_uri: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// `state`, returned unchanged.
    pub state: Option<String>,
    /// `nonce`, put in the ID token.
    pub nonce: Option<String>,
    /// The S256 PKCE challenge.
    pub code_challenge: String,
    /// The level asked for in `acr_values`, if any (informational: the identity's own level is
    /// what the tokens state).
    pub requested_level: Option<AssuranceLevel>,
    /// Unix seconds after which the request is void.
    pub expires_at: i64,
}

/// What an authorization code stands for until it is redeemed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CodeGrant {
    /// The client the code was issued to.
    pub client_id: String,
    /// The redirect URI of the request (must be repeated at the token endpoint).
    pub redirect_uri: String,
    /// The test identity that logged in (its username).
    pub username: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// `nonce` of the request.
    pub nonce: Option<String>,
    /// The S256 PKCE challenge.
    pub code_challenge: String,
    /// When the user logged in (Unix seconds).
    pub auth_time: i64,
    /// Unix seconds after which the code is void.
    pub expires_at: i64,
}

/// What an access token stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessGrant {
    /// The client the token was issued to.
    pub client_id: String,
    /// The test identity (its username).
    pub username: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// Unix seconds after which the token is void.
    pub expires_at: i64,
}

impl LoginRequest {
    /// A pending login request.
    #[expect(
        clippy::too_many_arguments,
        reason = "a plain record of the request's parameters"
    )]
    pub fn new(
        client_id: String,
        redirect_uri: String,
        scopes: Vec<String>,
        state: Option<String>,
        nonce: Option<String>,
        code_challenge: String,
        requested_level: Option<AssuranceLevel>,
        expires_at: i64,
    ) -> Self {
        Self {
            client_id,
            redirect_uri,
            scopes,
            state,
            nonce,
            code_challenge,
            requested_level,
            expires_at,
        }
    }
}

/// Where the test provider keeps what lives between requests.
pub trait ProviderStore: Send + Sync + fmt::Debug {
    /// Stores a pending login request under `key`.
    fn put_login_request<'a>(&'a self, key: &'a str, request: LoginRequest) -> StoreFuture<'a, ()>;

    /// The pending login request under `key`, unless it is unknown or expired at `now`.
    fn login_request<'a>(&'a self, key: &'a str, now: i64)
    -> StoreFuture<'a, Option<LoginRequest>>;

    /// Removes and returns the pending login request under `key` (once the user logged in).
    fn take_login_request<'a>(
        &'a self,
        key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<LoginRequest>>;

    /// Stores an authorization code's grant under `key`.
    fn put_code<'a>(&'a self, key: &'a str, grant: CodeGrant) -> StoreFuture<'a, ()>;

    /// Removes and returns the grant under `key`, expired or not (the caller checks and names
    /// the expiry). Two concurrent calls for one key never both get it: codes are single-use.
    fn take_code<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<CodeGrant>>;

    /// Stores an access token's grant under `key`.
    fn put_access_token<'a>(&'a self, key: &'a str, grant: AccessGrant) -> StoreFuture<'a, ()>;

    /// The grant under `key`, unless it is unknown or expired at `now`.
    fn access_token<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<AccessGrant>>;
}

/// Most records of each kind [`InMemoryStore`] holds.
pub const MAX_RECORDS: usize = 10_000;

/// Records expired for longer than this are dropped (until then an expired code is still named
/// as expired, not as unknown).
const GRACE_SECONDS: i64 = 300;

/// The in-memory [`ProviderStore`]: one process, lost on restart, [`MAX_RECORDS`] of each kind
/// (expired records are dropped when the limit is reached).
#[derive(Debug)]
pub struct InMemoryStore {
    requests: Mutex<HashMap<String, LoginRequest>>,
    codes: Mutex<HashMap<String, CodeGrant>>,
    tokens: Mutex<HashMap<String, AccessGrant>>,
    clock: Arc<dyn Clock>,
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty store that tells expired records by `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            requests: Mutex::default(),
            codes: Mutex::default(),
            tokens: Mutex::default(),
            clock,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        // The maps hold no invariant a panicking holder could break.
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn insert<T>(
    map: &Mutex<HashMap<String, T>>,
    key: &str,
    value: T,
    expires_at: impl Fn(&T) -> i64,
    now: i64,
) -> Result<(), StoreError> {
    let mut map = lock(map);
    if map.len() >= MAX_RECORDS {
        map.retain(|_, v| expires_at(v).saturating_add(GRACE_SECONDS) > now);
    }
    if map.len() >= MAX_RECORDS {
        return Err(StoreError::Full);
    }
    map.insert(key.to_owned(), value);
    Ok(())
}

impl ProviderStore for InMemoryStore {
    fn put_login_request<'a>(&'a self, key: &'a str, request: LoginRequest) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            insert(
                &self.requests,
                key,
                request,
                |r| r.expires_at,
                self.clock.now(),
            )
        })
    }

    fn login_request<'a>(
        &'a self,
        key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<LoginRequest>> {
        Box::pin(async move {
            Ok(lock(&self.requests)
                .get(key)
                .filter(|r| r.expires_at > now)
                .cloned())
        })
    }

    fn take_login_request<'a>(
        &'a self,
        key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<LoginRequest>> {
        Box::pin(async move {
            Ok(lock(&self.requests)
                .remove(key)
                .filter(|r| r.expires_at > now))
        })
    }

    fn put_code<'a>(&'a self, key: &'a str, grant: CodeGrant) -> StoreFuture<'a, ()> {
        Box::pin(async move { insert(&self.codes, key, grant, |g| g.expires_at, self.clock.now()) })
    }

    fn take_code<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<CodeGrant>> {
        Box::pin(async move { Ok(lock(&self.codes).remove(key)) })
    }

    fn put_access_token<'a>(&'a self, key: &'a str, grant: AccessGrant) -> StoreFuture<'a, ()> {
        Box::pin(
            async move { insert(&self.tokens, key, grant, |g| g.expires_at, self.clock.now()) },
        )
    }

    fn access_token<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<AccessGrant>> {
        Box::pin(async move {
            Ok(lock(&self.tokens)
                .get(key)
                .filter(|g| g.expires_at > now)
                .cloned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eudi_trust::clock::ManualClock;

    fn grant(expires_at: i64) -> CodeGrant {
        CodeGrant {
            client_id: "c".into(),
            redirect_uri: "https://rp.example/cb".into(),
            username: "substantial".into(),
            scopes: vec!["openid".into()],
            nonce: None,
            code_challenge: "x".into(),
            auth_time: 0,
            expires_at,
        }
    }

    fn block_on<T>(future: StoreFuture<'_, T>) -> Result<T, StoreError> {
        // The in-memory futures complete on first poll.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut future = future;
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("in-memory store future pending"),
        }
    }

    #[test]
    fn codes_are_taken_once() {
        let store = InMemoryStore::new();
        block_on(store.put_code("k", grant(100))).unwrap();
        assert_eq!(block_on(store.take_code("k")).unwrap(), Some(grant(100)));
        assert_eq!(block_on(store.take_code("k")).unwrap(), None);
    }

    #[test]
    fn expired_records_are_not_returned_and_are_purged_when_full() {
        let clock = Arc::new(ManualClock::new(0));
        let store = InMemoryStore::with_clock(clock.clone());
        let token = AccessGrant {
            client_id: "c".into(),
            username: "u".into(),
            scopes: vec![],
            expires_at: 10,
        };
        block_on(store.put_access_token("t", token.clone())).unwrap();
        assert_eq!(block_on(store.access_token("t", 9)).unwrap(), Some(token));
        assert_eq!(block_on(store.access_token("t", 10)).unwrap(), None);

        for i in 0..MAX_RECORDS {
            block_on(store.put_code(&i.to_string(), grant(10))).unwrap();
        }
        assert_eq!(
            block_on(store.put_code("one more", grant(10))),
            Err(StoreError::Full)
        );
        clock.set(10 + GRACE_SECONDS);
        block_on(store.put_code("one more", grant(10_000))).unwrap();
        assert_eq!(lock(&store.codes).len(), 1);
    }
}
