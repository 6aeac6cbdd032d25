//! What issuance must remember, as one small async trait per concern.
//!
//! The traits are object safe (`Arc<dyn SessionStore>`), take and return plain data, and state in
//! each contract what must be atomic: an implementation that lets two instances of the issuer on one
//! database both redeem a code, or both receive one status index, is wrong even when each instance
//! alone behaves. `crates/store` implements every trait on SQLite and PostgreSQL and runs one test
//! suite against both; [`memory::MemoryStore`] implements them in memory for unit tests.
//!
//! Conventions shared by every trait:
//! * Times are seconds since the Unix epoch, from the caller's [`eudi_trust::Clock`]; a store never
//!   reads a clock of its own, so tests can move time.
//! * A record whose `expires_at` is at or before `now` does not exist: no read returns it. Expired rows are removed by [`SessionStore::purge_expired`] (or
//!   lazily); correctness never depends on purging.
//! * Keys of bearer secrets (codes, access tokens, transaction ids) are the caller's
//!   `eudi_oauth::token::secret_key` of the secret, never the secret, so a leaked database replays
//!   nothing.
//! * Protocol records the store needs no query on are opaque bytes (`Vec<u8>`, JSON written by
//!   the protocol crate), so the protocol can grow a field without a migration.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub mod memory;

/// The future every store operation returns (boxed: a database round trip costs far more than the
/// allocation, and boxing keeps the traits object safe).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why a store operation failed. The messages are for operators' logs; what a client sees is a
/// generic `server_error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend cannot be reached or refused the operation (connection, I/O, timeout).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A record with this key already exists (and has not expired).
    #[error("a {0} with this key already exists")]
    Duplicate(&'static str),
    /// A stored row cannot be read back as what was written (schema drift, manual edit).
    #[error("a stored record is corrupt: {0}")]
    Corrupt(String),
    /// The caller passed something the store cannot hold (e.g. a status list size of zero).
    #[error("invalid store request: {0}")]
    Invalid(String),
}

// ---------------------------------------------------------------------------------------------
// Short-lived protocol records
// ---------------------------------------------------------------------------------------------

/// What a [`SessionStore`] record is; part of its key, so two kinds never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SessionKind {
    /// A pushed authorization request (RFC 9126), keyed by its `request_uri`.
    PushedRequest,
    /// The issuer's state while the person logs in with MitID, keyed by the OIDC `state`.
    LoginSession,
    /// An authorization code (RFC 6749 §4.1.2), keyed by its secret key; taken once.
    AuthorizationCode,
    /// An access token's grant (subject, configurations, DPoP key), keyed by its secret key.
    AccessToken,
    /// A credential offer passed by reference (`credential_offer_uri`), keyed by its id.
    CredentialOffer,
    /// A `notification_id` of a credential response (OpenID4VCI §11).
    Notification,
}

impl SessionKind {
    /// Every kind, for implementations that map kinds onto tables or prefixes.
    pub const ALL: [Self; 6] = [
        Self::PushedRequest,
        Self::LoginSession,
        Self::AuthorizationCode,
        Self::AccessToken,
        Self::CredentialOffer,
        Self::Notification,
    ];

    /// A stable name, as stored in a database column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PushedRequest => "pushed_request",
            Self::LoginSession => "login_session",
            Self::AuthorizationCode => "authorization_code",
            Self::AccessToken => "access_token",
            Self::CredentialOffer => "credential_offer",
            Self::Notification => "notification",
        }
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Short-lived records keyed by `(kind, key)`: pushed requests, login sessions, codes, access
/// tokens, offers by reference, notification ids.
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Stores a new record. [`StoreError::Duplicate`] if a record holds the key (keys are random
    /// or secret keys, so a clash means a bug or an attack, never bad luck).
    fn put<'a>(
        &'a self,
        kind: SessionKind,
        key: &'a str,
        value: &'a [u8],
        expires_at: i64,
    ) -> StoreFuture<'a, ()>;

    /// The record, if it exists and has not expired. Does not remove it.
    fn get<'a>(
        &'a self,
        kind: SessionKind,
        key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// Removes the record and returns it, if it existed unexpired. **At most one caller ever gets
    /// `Some` for one record**, even when several instances on one database race (this is what
    /// makes an authorization code single-use, RFC 6749 §4.1.2).
    fn take<'a>(
        &'a self,
        kind: SessionKind,
        key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// Removes the record if it exists (expired or not). Removing nothing is not an error.
    fn delete<'a>(&'a self, kind: SessionKind, key: &'a str) -> StoreFuture<'a, ()>;

    /// Removes every expired record of every trait of this store (sessions, nonces, replay
    /// entries, pre-authorized codes); returns how many rows went.
    fn purge_expired(&self, now: i64) -> StoreFuture<'_, u64>;
}

// ---------------------------------------------------------------------------------------------
// Nonces and replay
// ---------------------------------------------------------------------------------------------

/// Which nonce a [`NonceStore`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum NonceKind {
    /// A `c_nonce` from the nonce endpoint (OpenID4VCI §7): single-use across all tokens.
    CNonce,
    /// A server-provided DPoP nonce (RFC 9449 §8): valid for many proofs until it expires.
    DpopNonce,
    /// A challenge for OAuth client attestation PoPs.
    AttestationChallenge,
}

impl NonceKind {
    /// A stable name, as stored in a database column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CNonce => "c_nonce",
            Self::DpopNonce => "dpop_nonce",
            Self::AttestationChallenge => "attestation_challenge",
        }
    }
}

/// Which identifiers a replay guard remembers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReplayScope {
    /// DPoP proof `jti`s (RFC 9449 §11.1), keyed by the caller as `jkt:jti`.
    DpopProof,
    /// Client attestation PoP `jti`s.
    AttestationPop,
    /// Key proof JWT `jti`s (OpenID4VCI §F.1) when present.
    KeyProof,
}

impl ReplayScope {
    /// A stable name, as stored in a database column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DpopProof => "dpop_proof",
            Self::AttestationPop => "attestation_pop",
            Self::KeyProof => "key_proof",
        }
    }
}

/// Server nonces and replay guards.
pub trait NonceStore: Send + Sync + fmt::Debug {
    /// Records a nonce the server just issued. [`StoreError::Duplicate`] if it exists.
    fn issue_nonce<'a>(
        &'a self,
        kind: NonceKind,
        nonce: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, ()>;

    /// Consumes a nonce: `true` for exactly one caller, if it was issued and has not expired;
    /// `false` for every later caller, on every instance (a `c_nonce` is single-use).
    fn consume_nonce<'a>(
        &'a self,
        kind: NonceKind,
        nonce: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool>;

    /// Whether a nonce was issued and has not expired, without consuming it (DPoP nonces).
    fn nonce_is_live<'a>(
        &'a self,
        kind: NonceKind,
        nonce: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool>;

    /// A replay guard: records `id` until `expires_at` and answers `true` if it was not already
    /// recorded (unexpired). Two racing callers with one id: exactly one gets `true`.
    fn first_use<'a>(
        &'a self,
        scope: ReplayScope,
        id: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, bool>;
}

// ---------------------------------------------------------------------------------------------
// Pre-authorized codes
// ---------------------------------------------------------------------------------------------

/// A new pre-authorized code (OpenID4VCI §4.1.1, grant
/// `urn:ietf:params:oauth:grant-type:pre-authorized_code`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPreAuthorizedCode {
    /// The code's secret key.
    pub code_key: String,
    /// The key of the expected `tx_code` (the caller derives it from code and tx_code, so equal
    /// transaction codes of two offers give different keys), or `None` when no `tx_code` is asked.
    pub tx_code_key: Option<String>,
    /// How many wrong `tx_code`s are tolerated; the code is dead at the last wrong one.
    pub attempts: u32,
    /// Opaque protocol data (the grant: subject, configurations).
    pub record: Vec<u8>,
    /// When the code expires.
    pub expires_at: i64,
}

/// The answer to [`PreAuthorizedCodeStore::redeem_pre_authorized_code`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// The code and `tx_code` were right: the code is gone and here is its record.
    Redeemed(Vec<u8>),
    /// The `tx_code` was wrong (or given when none was expected, or missing when one was); the
    /// code lives on with this many attempts left (at least 1).
    WrongTxCode {
        /// Attempts left before the code dies.
        attempts_left: u32,
    },
    /// The `tx_code` was wrong for the last allowed time: the code is now dead.
    LockedOut,
    /// No such live code: never issued, expired, redeemed, or dead.
    Unknown,
}

/// Pre-authorized codes with their transaction codes and attempt counters.
pub trait PreAuthorizedCodeStore: Send + Sync + fmt::Debug {
    /// Stores a new code. [`StoreError::Duplicate`] if the key exists. `attempts` of 0 is
    /// [`StoreError::Invalid`].
    fn create_pre_authorized_code<'a>(
        &'a self,
        code: &'a NewPreAuthorizedCode,
    ) -> StoreFuture<'a, ()>;

    /// Redeems a code with the `tx_code` key the client presented. One transaction: compare,
    /// then either remove the code (right) or count the attempt (wrong, removing the code at the
    /// last allowed attempt). A code is redeemed at most once even when two instances race, and
    /// racing wrong attempts are each counted.
    fn redeem_pre_authorized_code<'a>(
        &'a self,
        code_key: &'a str,
        tx_code_key: Option<&'a str>,
        now: i64,
    ) -> StoreFuture<'a, Redemption>;
}

// ---------------------------------------------------------------------------------------------
// Issued credentials and their status
// ---------------------------------------------------------------------------------------------

/// The status of an issued credential, with the Token Status List values it is published as
/// (draft-ietf-oauth-status-list §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialState {
    /// `0x00` VALID.
    Valid,
    /// `0x01` INVALID: revoked for good.
    Revoked,
    /// `0x02` SUSPENDED: may be reinstated.
    Suspended,
}

impl CredentialState {
    /// The status list value.
    pub fn status_value(self) -> u8 {
        match self {
            Self::Valid => 0,
            Self::Revoked => 1,
            Self::Suspended => 2,
        }
    }

    /// The state a status list value stands for.
    pub fn from_status_value(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Valid),
            1 => Some(Self::Revoked),
            2 => Some(Self::Suspended),
            _ => None,
        }
    }

    /// A stable name, as stored and as printed by `eudi-issuer credentials`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
        }
    }

    /// Reads [`CredentialState::as_str`] back.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Valid, Self::Revoked, Self::Suspended]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

/// A place in a status list: the `status.status_list` of a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusSlot {
    /// The list (its URI is the issuer's, e.g. `{public_url}/status-lists/{list}`).
    pub list: u32,
    /// The index in the list.
    pub index: u32,
}

/// What the issuer keeps of an issued credential: the minimum revocation needs, no claim values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRecord {
    /// A random identifier, as `eudi-issuer revoke ID` takes it.
    pub id: String,
    /// Whom it was issued to, as a key the issuer derives from the identity (never a CPR number
    /// in the clear), so `credentials --identity USER` can find it.
    pub subject_key: String,
    /// The credential format (`dc+sd-jwt`, `mso_mdoc`).
    pub format: String,
    /// The credential configuration id it was issued under.
    pub configuration_id: String,
    /// Its place in a status list.
    pub status: StatusSlot,
    /// Its current state.
    pub state: CredentialState,
    /// When it was issued.
    pub issued_at: i64,
    /// When it expires.
    pub expires_at: i64,
}

/// How [`StatusListStore::allocate_status`] chooses places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocationPolicy {
    /// The number of entries of a new list (a multiple of 8; e.g. 100 000 or more, so a list does
    /// not reveal how many credentials were issued, draft-ietf-oauth-status-list §13.2).
    pub list_size: u32,
    /// The share of a list's entries that may be given out, in percent (1..=100); beyond it a new
    /// list is opened, so random choice stays cheap and indices stay unguessable.
    pub max_fill_percent: u8,
}

/// A status list's current content, for publishing it as a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusListSnapshot {
    /// The list.
    pub list: u32,
    /// Its number of entries.
    pub size: u32,
    /// Changes with every status change of the list (a publisher re-signs when it moves).
    pub version: u64,
    /// Every entry whose value is not 0 (VALID), by index, ascending.
    pub entries: Vec<(u32, u8)>,
}

/// Status list places: random, never given twice.
pub trait StatusListStore: Send + Sync + fmt::Debug {
    /// Gives out `count` places, each a uniformly random index not given before, in a list that
    /// is open under `policy` (opening new lists as needed). **No place is ever given twice**, even
    /// to instances racing on one database. A place given out but never used stays used.
    fn allocate_status<'a>(
        &'a self,
        count: u32,
        policy: &'a AllocationPolicy,
    ) -> StoreFuture<'a, Vec<StatusSlot>>;

    /// Every list, ascending.
    fn status_lists(&self) -> StoreFuture<'_, Vec<u32>>;

    /// A list's content, or `None` if there is no such list.
    fn status_list(&self, list: u32) -> StoreFuture<'_, Option<StatusListSnapshot>>;
}

/// Issued-credential records.
pub trait CredentialStore: Send + Sync + fmt::Debug {
    /// Stores the records of one credential response, all or none. Each `status` must be a place
    /// [`StatusListStore::allocate_status`] gave out and no other record holds
    /// ([`StoreError::Duplicate`] otherwise).
    fn insert_credentials<'a>(&'a self, records: &'a [CredentialRecord]) -> StoreFuture<'a, ()>;

    /// One record by id.
    fn credential<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<CredentialRecord>>;

    /// Every record of a subject, oldest first.
    fn credentials_of<'a>(&'a self, subject_key: &'a str)
    -> StoreFuture<'a, Vec<CredentialRecord>>;

    /// Changes a credential's state and its status list entry in one transaction (the list's
    /// version moves). Returns the updated record, or `None` if there is no such credential.
    /// A revoked credential stays revoked: changing it is [`StoreError::Invalid`].
    fn set_credential_state<'a>(
        &'a self,
        id: &'a str,
        state: CredentialState,
    ) -> StoreFuture<'a, Option<CredentialRecord>>;
}

// ---------------------------------------------------------------------------------------------
// Deferred issuance
// ---------------------------------------------------------------------------------------------

/// Where a deferred issuance stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeferredState {
    /// Waiting for a reviewer.
    Pending,
    /// Approved: the next poll of the deferred endpoint gets the credentials.
    Approved,
    /// Rejected by a reviewer.
    Rejected,
    /// Approved and handed out.
    Issued,
}

impl DeferredState {
    /// A stable name, as stored and printed by `eudi-issuer review list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Issued => "issued",
        }
    }

    /// Reads [`DeferredState::as_str`] back.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Rejected, Self::Issued]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

/// A deferred issuance (OpenID4VCI §9): a request that waits for a person to review it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeferredRecord {
    /// A short random id a reviewer types (`eudi-issuer review approve ID`).
    pub id: String,
    /// The secret key of the `transaction_id` the wallet polls with.
    pub transaction_key: String,
    /// Its state.
    pub state: DeferredState,
    /// Why it was deferred, in words for the reviewer (no personal data).
    pub reason: String,
    /// Opaque protocol data: what is needed to issue once approved (the login's PID, the holder
    /// keys, the configuration).
    pub record: Vec<u8>,
    /// When it was deferred.
    pub created_at: i64,
    /// When it is dropped if nobody decides or the wallet never comes back.
    pub expires_at: i64,
}

/// What the wallet's poll of the deferred endpoint finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeferredPoll {
    /// Still waiting (`issuance_pending`).
    Pending,
    /// Approved: the record has now moved to [`DeferredState::Issued`], and this caller (the only
    /// one, even across instances) issues the credentials.
    Ready(DeferredRecord),
    /// A reviewer rejected it.
    Rejected,
    /// No such live transaction (never deferred, expired, or already issued).
    Unknown,
}

/// Deferred issuances awaiting review.
pub trait DeferredStore: Send + Sync + fmt::Debug {
    /// Stores a new deferred issuance (state [`DeferredState::Pending`]).
    fn create_deferred<'a>(&'a self, record: &'a DeferredRecord) -> StoreFuture<'a, ()>;

    /// The unexpired records, in one state or all, oldest first.
    fn deferred<'a>(
        &'a self,
        state: Option<DeferredState>,
        now: i64,
    ) -> StoreFuture<'a, Vec<DeferredRecord>>;

    /// A reviewer's decision: moves a pending record to approved or rejected and returns it;
    /// `None` if there is no pending, unexpired record with this id.
    fn decide_deferred<'a>(
        &'a self,
        id: &'a str,
        approve: bool,
        now: i64,
    ) -> StoreFuture<'a, Option<DeferredRecord>>;

    /// The wallet polls with its transaction id's key; an approved record is handed out once.
    fn poll_deferred<'a>(
        &'a self,
        transaction_key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, DeferredPoll>;
}

// ---------------------------------------------------------------------------------------------
// All of them
// ---------------------------------------------------------------------------------------------

/// Everything issuance stores, in one backend.
pub trait IssuerStore:
    SessionStore
    + NonceStore
    + PreAuthorizedCodeStore
    + StatusListStore
    + CredentialStore
    + DeferredStore
{
    /// Whether the backend answers (for `/ready`).
    fn ping(&self) -> StoreFuture<'_, ()>;
}
