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
use eudi_trust::Clock;
use eudi_trust::SystemClock;
use serde::Deserialize;
use serde::Serialize;

/// A store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds as many records as it may; try again later.
    #[error("the provider store is full")]
    Full,
    /// The client has as many pending logins as it may; try again later (its flood does not
    /// take the room of other clients).
    #[error("client {client_id:?} has too many logins in progress")]
    ClientLimit {
        /// The client.
        client_id: String,
    },
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
///
/// An implementation bounds what `/authorize` can make it hold: a pending login is stored for
/// every authorization request before anyone logs in, so expired ones are evicted and each
/// client has its own limit ([`StoreError::ClientLimit`]) below the total ([`StoreError::Full`]).
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

/// Most records of each kind [`InMemoryStore`] holds (pending logins, codes, access tokens).
pub const MAX_RECORDS: usize = 10_000;
/// Most pending logins one client can have in [`InMemoryStore`]: a flood of `/authorize` with
/// one `client_id` takes at most this much of [`MAX_RECORDS`], so other clients still log in.
pub const MAX_PENDING_LOGINS_PER_CLIENT: usize = 1_000;

/// The limits of an [`InMemoryStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreLimits {
    /// Most records of each kind.
    pub max_records: usize,
    /// Most pending logins of one client.
    pub max_pending_logins_per_client: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_records: MAX_RECORDS,
            max_pending_logins_per_client: MAX_PENDING_LOGINS_PER_CLIENT,
        }
    }
}

impl StoreLimits {
    /// Limits of `max_records` per kind and `per_client` pending logins per client.
    pub fn new(max_records: usize, per_client: usize) -> Self {
        Self {
            max_records,
            max_pending_logins_per_client: per_client,
        }
    }
}

/// Records expired for longer than this are dropped (until then an expired code is still named
/// as expired, not as unknown).
const GRACE_SECONDS: i64 = 300;

/// The in-memory [`ProviderStore`]: one process, lost on restart, bounded by [`StoreLimits`]
/// (expired records are dropped when a limit is reached, so a limit only ever counts live ones).
#[derive(Debug)]
pub struct InMemoryStore {
    requests: Mutex<PendingLogins>,
    codes: Mutex<HashMap<String, CodeGrant>>,
    tokens: Mutex<HashMap<String, AccessGrant>>,
    clock: Arc<dyn Clock>,
    limits: StoreLimits,
}

/// Pending logins with a count per client, kept in step on every insert and removal.
#[derive(Debug, Default)]
struct PendingLogins {
    by_key: HashMap<String, LoginRequest>,
    per_client: HashMap<String, usize>,
}

impl PendingLogins {
    fn remove(&mut self, key: &str) -> Option<LoginRequest> {
        let request = self.by_key.remove(key)?;
        self.forget(&request.client_id);
        Some(request)
    }

    fn forget(&mut self, client_id: &str) {
        if let Some(count) = self.per_client.get_mut(client_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_client.remove(client_id);
            }
        }
    }

    /// Drops every request expired at `now` (a pending login is never looked up once expired).
    fn evict_expired(&mut self, now: i64) {
        let expired: Vec<String> = self
            .by_key
            .iter()
            .filter(|(_, r)| r.expires_at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.remove(&key);
        }
    }

    fn count(&self, client_id: &str) -> usize {
        self.per_client.get(client_id).copied().unwrap_or(0)
    }

    fn insert(
        &mut self,
        key: &str,
        request: LoginRequest,
        limits: &StoreLimits,
        now: i64,
    ) -> Result<(), StoreError> {
        let client_full =
            |p: &Self| p.count(&request.client_id) >= limits.max_pending_logins_per_client;
        if self.by_key.len() >= limits.max_records || client_full(self) {
            self.evict_expired(now);
        }
        if client_full(self) {
            return Err(StoreError::ClientLimit {
                client_id: request.client_id,
            });
        }
        if self.by_key.len() >= limits.max_records {
            return Err(StoreError::Full);
        }
        *self
            .per_client
            .entry(request.client_id.clone())
            .or_insert(0) += 1;
        if let Some(replaced) = self.by_key.insert(key.to_owned(), request) {
            self.forget(&replaced.client_id);
        }
        Ok(())
    }
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

    /// An empty store that tells expired records by `clock`, with the default limits.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self::with_limits(clock, StoreLimits::default())
    }

    /// An empty store with `limits`.
    pub fn with_limits(clock: Arc<dyn Clock>, limits: StoreLimits) -> Self {
        Self {
            requests: Mutex::default(),
            codes: Mutex::default(),
            tokens: Mutex::default(),
            clock,
            limits,
        }
    }

    /// How many login requests are held (expired ones not yet evicted included): what memory
    /// the pending logins take.
    pub fn pending_logins(&self) -> usize {
        lock(&self.requests).by_key.len()
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
    max_records: usize,
) -> Result<(), StoreError> {
    let mut map = lock(map);
    if map.len() >= max_records {
        map.retain(|_, v| expires_at(v).saturating_add(GRACE_SECONDS) > now);
    }
    if map.len() >= max_records {
        return Err(StoreError::Full);
    }
    map.insert(key.to_owned(), value);
    Ok(())
}

impl ProviderStore for InMemoryStore {
    fn put_login_request<'a>(&'a self, key: &'a str, request: LoginRequest) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            lock(&self.requests).insert(key, request, &self.limits, self.clock.now())
        })
    }

    fn login_request<'a>(
        &'a self,
        key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<LoginRequest>> {
        Box::pin(async move {
            Ok(lock(&self.requests)
                .by_key
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
        Box::pin(async move {
            insert(
                &self.codes,
                key,
                grant,
                |g| g.expires_at,
                self.clock.now(),
                self.limits.max_records,
            )
        })
    }

    fn take_code<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<CodeGrant>> {
        Box::pin(async move { Ok(lock(&self.codes).remove(key)) })
    }

    fn put_access_token<'a>(&'a self, key: &'a str, grant: AccessGrant) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            insert(
                &self.tokens,
                key,
                grant,
                |g| g.expires_at,
                self.clock.now(),
                self.limits.max_records,
            )
        })
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
    use eudi_trust::clock::ManualClock;

    use super::*;

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

    fn login(client_id: &str, expires_at: i64) -> LoginRequest {
        LoginRequest::new(
            client_id.into(),
            "https://rp.example/cb".into(),
            vec!["openid".into()],
            None,
            None,
            "x".into(),
            None,
            expires_at,
        )
    }

    #[test]
    fn one_client_cannot_take_the_room_of_another() {
        let clock = Arc::new(ManualClock::new(0));
        let store = InMemoryStore::with_limits(clock.clone(), StoreLimits::new(8, 5));
        for i in 0..5 {
            block_on(store.put_login_request(&format!("a{i}"), login("a", 100))).unwrap();
        }
        assert_eq!(
            block_on(store.put_login_request("a5", login("a", 100))),
            Err(StoreError::ClientLimit {
                client_id: "a".into()
            })
        );
        // Client b still has room, up to the total.
        for i in 0..3 {
            block_on(store.put_login_request(&format!("b{i}"), login("b", 100))).unwrap();
        }
        assert_eq!(
            block_on(store.put_login_request("b3", login("b", 100))),
            Err(StoreError::Full)
        );
        assert_eq!(store.pending_logins(), 8);
        // A login that completes frees its client's place.
        assert!(
            block_on(store.take_login_request("a0", 0))
                .unwrap()
                .is_some()
        );
        block_on(store.put_login_request("a5", login("a", 100))).unwrap();
        // Once expired, the flood is evicted and the client logs in again.
        clock.set(100);
        block_on(store.put_login_request("a6", login("a", 200))).unwrap();
        assert_eq!(store.pending_logins(), 1);
        assert!(block_on(store.login_request("a6", 100)).unwrap().is_some());
    }

    #[test]
    fn a_key_stored_twice_is_counted_once() {
        let store =
            InMemoryStore::with_limits(Arc::new(ManualClock::new(0)), StoreLimits::new(8, 2));
        block_on(store.put_login_request("k", login("a", 100))).unwrap();
        block_on(store.put_login_request("k", login("a", 100))).unwrap();
        block_on(store.put_login_request("k2", login("a", 100))).unwrap();
        assert_eq!(store.pending_logins(), 2);
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
