//! IETF Token Status List (draft-ietf-oauth-status-list-20): publish and check the status
//! (valid, revoked, suspended, ...) of issued credentials without contacting the issuer per
//! credential.
//!
//! An issuer keeps one [`StatusList`] per batch of credentials and gives each credential an
//! index into it; a credential (the *Referenced Token*) carries a [`StatusReference`] `{idx,
//! uri}`. The issuer signs the list as a *Status List Token* and serves it at `uri`; a relying
//! party fetches that token (this crate does no I/O), verifies it, and reads the status at
//! `idx`.
//!
//! What lives where, by section of draft -20:
//!
//! * §4 Status List: [`StatusList`] (1, 2, 4 or 8 [`Bits`] per status, packed least significant
//!   bit first), compressed with DEFLATE in the ZLIB format, in its JSON (§4.2, `lst` base64url)
//!   and CBOR (§4.3, `lst` a byte string) forms. Decoding is bounded by [`Limits`], so a
//!   decompression bomb cannot allocate without bound.
//! * §5 Status List Token: [`StatusListTokenBuilder`] signs the JWT form (§5.1, `typ`
//!   `statuslist+jwt`) and the CWT form (§5.2, `COSE_Sign1` tag 18 with type 16
//!   `application/statuslist+cwt`) with any [`eudi_trust::Signer`].
//!   [`UnverifiedStatusListJwt`] and [`UnverifiedStatusListCwt`] expose the header so the caller
//!   can choose the key (`kid`, `x5c` / `x5chain`), and `verify` turns them into a
//!   [`VerifiedStatusList`] after checking type, algorithm, signature, `sub`, `iat`, `exp` and
//!   `nbf` (§8.3).
//! * §6 Referenced Token: [`StatusReference`] from a JWT/SD-JWT `status.status_list` (§6.2) or a
//!   CWT claim 65535 / mdoc `status` map (§6.3).
//! * §7 Status Types: [`Status`].
//! * §13.7 caching: [`StatusListCache`], bounded by `ttl`, `exp` and configured limits.
//!
//! # Example
//!
//! ```
//! use eudi_status_list::{
//!     Bits, Status, StatusList, StatusListTokenBuilder, StatusReference,
//!     UnverifiedStatusListJwt,
//! };
//! use eudi_trust::{Algorithm, AlgorithmPolicy, Signer, SoftwareKey};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let uri = "https://example.com/statuslists/1";
//! let now = 1_700_000_000;
//!
//! // Issuer: a 2-bit list, credential 42 suspended, signed as a JWT.
//! let key = SoftwareKey::generate(Algorithm::Es256)?;
//! let mut list = StatusList::new(Bits::Two, 1 << 16)?;
//! list.set_status(42, Status::Suspended)?;
//! let jwt = StatusListTokenBuilder::new(uri, &list, now)
//!     .exp(now + 86_400)
//!     .ttl(3_600)
//!     .kid("status-key-1")
//!     .sign_jwt(&key)
//!     .await?;
//!
//! // Relying party: the credential says where to look ...
//! let reference = StatusReference { idx: 42, uri: uri.into() };
//! // ... it fetches `reference.uri`, picks the key (here by `kid`) and verifies.
//! let token = UnverifiedStatusListJwt::parse(&jwt)?;
//! assert_eq!(token.header().kid.as_deref(), Some("status-key-1"));
//! let policy = AlgorithmPolicy::default(); // ES256 only
//! let verified = token.verify(key.verifying_key(), &policy, &reference.uri, now + 60)?;
//!
//! assert_eq!(verified.status_at(reference.idx)?, Status::Suspended);
//! assert_eq!(verified.status_of(&reference)?, Status::Suspended);
//! assert_eq!(verified.status_at(0)?, Status::Valid);
//! assert!(verified.status_at(1 << 16).is_err(), "out of range: reject the credential");
//! assert_eq!(verified.ttl(), Some(3_600));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
mod cwt;
mod error;
mod jwt;
mod list;
#[cfg(test)]
mod proptests;
mod reference;
mod status;
mod token;

pub use cache::CacheConfig;
pub use cache::DEFAULT_CACHE_TTL_SECS;
pub use cache::DEFAULT_MAX_CACHE_ENTRIES;
pub use cache::DEFAULT_MAX_CACHE_TTL_SECS;
pub use cache::StatusListCache;
pub use cwt::UnverifiedStatusListCwt;
pub use error::StatusListError;
pub use error::StatusListIssueError;
pub use jwt::UnverifiedStatusListJwt;
pub use list::DEFAULT_MAX_CBOR_ITEMS;
pub use list::DEFAULT_MAX_DECOMPRESSED_BYTES;
pub use list::DEFAULT_MAX_TOKEN_BYTES;
pub use list::Limits;
pub use list::StatusList;
pub use reference::StatusReference;
pub use status::Bits;
pub use status::Status;
pub use token::CWT_TYPE;
pub use token::DEFAULT_CLOCK_SKEW_SECS;
pub use token::JWT_TYPE;
pub use token::StatusListTokenBuilder;
pub use token::VerifiedStatusList;
pub use token::VerifyOptions;
