//! OpenID for Verifiable Credential Issuance 1.0 (with the HAIP 1.0 profile) for the PID issuer and
//! the wallet: the protocol's messages, the issuer's endpoint logic as plain functions over typed
//! requests, and the wallet's client side. No web framework inside: the `eudi-issuer` binary maps
//! HTTP onto these functions.
//!
//! * [`store`]: the persistence the issuer's flows need, as small async traits with their atomicity
//!   written into each contract; `crates/store` implements them on SQLite and PostgreSQL, and
//!   [`store::memory`] in memory for tests.
//! * [`metadata`]: Credential Issuer Metadata (§12.2) and Authorization Server Metadata
//!   (RFC 8414, §12.3).
//! * [`offer`]: the Credential Offer (§4.1) and its `openid-credential-offer://` URI forms.
//! * [`messages`]: the requests and responses of PAR, token, nonce, credential, deferred and
//!   notification endpoints (§5-§11); one definition shared by issuer and wallet.
//! * [`proof`]: the `jwt` key proof (Appendix F.1) with key attestations (Appendix D).
//! * [`endpoint`]: framework-free HTTP request and response types with OAuth error answers.
//! * [`server`]: the issuer and its authorization server: [`server::Issuer::handle`] serves
//!   every protocol endpoint; the login steps around MitID are methods the binary calls.
//! * [`client`]: the wallet's side: resolve an offer, check the issuer's metadata, the
//!   authorization-code flow (PAR, PKCE S256, DPoP, `state` and `iss` checked) and the
//!   pre-authorized flow (`tx_code`), nonce, batch credential requests with one key proof per
//!   holder key, encrypted responses, deferred polling and notifications.
//! * [`issuance`]: the seam between the protocol and what is issued: the issuer binary implements
//!   [`issuance::CredentialMinter`] (PID rules, SD-JWT VC and mdoc encoding, status allocation).
#![forbid(unsafe_code)]

pub mod client;
pub mod endpoint;
pub mod issuance;
pub mod messages;
pub mod metadata;
pub mod offer;
pub mod proof;
pub mod server;
pub mod store;
