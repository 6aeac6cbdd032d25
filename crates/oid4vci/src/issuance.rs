//! The seam between the protocol and what is issued.
//!
//! The protocol side (tokens, proofs, nonces, batch size) knows nothing of PIDs; the issuer binary
//! knows nothing of OpenID4VCI messages. When a grant is made (an authorization code after the
//! MitID login, or a pre-authorized code for `eudi-issuer offer`) the issuer hands the protocol an
//! opaque *subject*: bytes the protocol carries untouched from code to access token to credential
//! request, and back to [`CredentialMinter::mint`] with the holder keys the key proofs proved.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use eudi_trust::jwk::Jwk;

/// The future [`CredentialMinter`] returns.
pub type MintFuture<'a> = Pin<Box<dyn Future<Output = Result<MintOutcome, MintError>> + Send + 'a>>;

/// One credential request, after the protocol checked the token and every key proof.
#[derive(Clone, Copy, Debug)]
pub struct MintRequest<'a> {
    /// The subject the issuer attached to the grant.
    pub subject: &'a [u8],
    /// The credential configuration requested (one of the issuer's metadata).
    pub configuration_id: &'a str,
    /// One proven holder key per credential to issue (the batch), in request order.
    pub holder_keys: &'a [Jwk],
    /// Whether a reviewer approved this issuance (a deferred request, polled after approval): the
    /// minter must not defer it again.
    pub reviewed: bool,
    /// The time of the request.
    pub now: i64,
}

/// What the minter decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MintOutcome {
    /// One credential per holder key, in the same order, as the credential response carries them
    /// (a compact SD-JWT VC; a base64url `IssuerSigned` for `mso_mdoc`).
    Issued(Vec<String>),
    /// A person must review the request first (OpenID4VCI §9): the protocol stores it and the
    /// wallet polls the deferred endpoint.
    Deferred {
        /// Why, in words for the reviewer, with no personal data.
        reason: String,
    },
}

/// Why the minter did not issue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The rules refuse this subject (answered as `credential_request_denied`); the text is
    /// for the person and names the rule.
    #[error("{0}")]
    Refused(String),
    /// The issuer failed (signing, store): answered as a generic `server_error`, the detail
    /// goes to the log.
    #[error("issuance failed: {0}")]
    Internal(String),
}

/// Makes the credentials of one request: applies the issuing rules, encodes, signs, allocates
/// status, and records what revocation needs.
pub trait CredentialMinter: Send + Sync + fmt::Debug {
    /// Issues one credential per holder key, defers, or refuses.
    fn mint<'a>(&'a self, request: MintRequest<'a>) -> MintFuture<'a>;
}
