//! Errors, split by whose fault they are (STYLE.md §3, as rustls keeps peer faults apart from
//! API misuse):
//!
//! * [`SdJwtError`]: an SD-JWT (or SD-JWT+KB) received from a peer is not acceptable. Each
//!   variant names the exact check of RFC 9901 §7 or SD-JWT VC §3 that failed, and maps to one
//!   stable [`ErrorCode`] through [`HasErrorCode`].
//! * [`IssueError`]: an SD-JWT or a presentation could not be made, because of what the caller
//!   asked for (a path to no claim, a reserved name) or a local failure (signing, randomness).

use eudi_trust::ErrorCode;
use eudi_trust::HasErrorCode;
use eudi_trust::jws::JwsError;

/// Why an SD-JWT or SD-JWT+KB was rejected on parsing or verification.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum SdJwtError {
    /// The serialization is not an SD-JWT (compact `~`-separated or JWS JSON).
    #[error("malformed SD-JWT: {0}")]
    Malformed(String),
    /// The input exceeds an explicit size limit.
    #[error("SD-JWT is too large: {what} is {actual}, the limit is {limit}")]
    TooLarge {
        /// What was measured.
        what: &'static str,
        /// Its size.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// The Issuer-signed JWT failed a JWS check (algorithm, signature, header).
    #[error("issuer-signed JWT: {0}")]
    IssuerJws(JwsError),
    /// No key could be found or trusted for the Issuer-signed JWT.
    #[error("issuer key: {0}")]
    IssuerKey(String),
    /// The Issuer-signed JWT payload is not a JSON object.
    #[error("issuer-signed JWT payload is not a JSON object")]
    PayloadNotObject,
    /// `_sd_alg` names a hash function that is not supported.
    #[error("unsupported `_sd_alg` {0:?}")]
    UnsupportedHashAlgorithm(String),
    /// A Disclosure does not decode to a JSON array of 2 or 3 elements with a string salt.
    #[error("disclosure {index} is malformed: {reason}")]
    MalformedDisclosure {
        /// Position of the disclosure in the presentation.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same Disclosure was presented twice.
    #[error("disclosure {index} is presented more than once")]
    DuplicateDisclosure {
        /// Position of the second copy.
        index: usize,
    },
    /// A digest occurs more than once in the payload (RFC 9901 §7.1 step 4).
    #[error("digest {0} occurs more than once in the SD-JWT")]
    DuplicateDigest(String),
    /// A Disclosure is not referenced by any digest (RFC 9901 §7.1 step 5).
    #[error("disclosure {index} is not referenced by any digest in the SD-JWT")]
    UnreferencedDisclosure {
        /// Position of the disclosure in the presentation.
        index: usize,
    },
    /// An object-property Disclosure is referenced from an array, or an array-element one from
    /// an `_sd` array.
    #[error("disclosure {index} has the wrong shape for where it is referenced: {reason}")]
    DisclosureShapeMismatch {
        /// Position of the disclosure.
        index: usize,
        /// What was expected.
        reason: &'static str,
    },
    /// A Disclosure uses a claim name RFC 9901 reserves (`_sd`, `...`, `_sd_alg`).
    #[error("disclosure {index} uses the reserved claim name {name:?}")]
    ReservedClaimName {
        /// Position of the disclosure.
        index: usize,
        /// The name.
        name: String,
    },
    /// A disclosed claim name already exists next to the `_sd` key that refers to it.
    #[error("disclosed claim {0:?} already exists in its object")]
    ClaimNameCollision(String),
    /// `_sd`, `...` or `_sd_alg` are used in a way RFC 9901 §4.2 does not allow.
    #[error("invalid use of `{key}`: {reason}")]
    InvalidSdStructure {
        /// The key misused.
        key: &'static str,
        /// How.
        reason: &'static str,
    },
    /// A time claim failed its check.
    #[error("{claim} check failed: {reason}")]
    Time {
        /// `exp`, `nbf` or `iat`.
        claim: &'static str,
        /// What happened.
        reason: String,
    },
    /// A Key Binding JWT was required but is absent.
    #[error("key binding JWT is required but the presentation has none")]
    MissingKeyBinding,
    /// A Key Binding JWT is present, but the SD-JWT has no `cnf` key to check it with.
    #[error("key binding JWT is present but the SD-JWT has no `cnf.jwk` holder key")]
    MissingHolderKey,
    /// The Key Binding JWT failed a check.
    #[error("key binding JWT: {0}")]
    KeyBinding(String),
    /// The holder received an SD-JWT+KB from an issuer (RFC 9901 §7.2).
    #[error("an issuer must not send a key binding JWT")]
    UnexpectedKeyBinding,
    /// A claim that SD-JWT VC §3.2.2.2 forbids to disclose selectively (`iss`, `nbf`, `exp`,
    /// `cnf`, `vct`, `vct#integrity`, `aka_vcts`, `status`, or one of their sub-claims) was.
    #[error("SD-JWT VC: `{claim}` must not be selectively disclosed")]
    NotDisclosable {
        /// The top-level claim.
        claim: String,
    },
    /// SD-JWT VC rules (draft-ietf-oauth-sd-jwt-vc §3).
    #[error("SD-JWT VC: {0}")]
    Vc(String),
    /// An invariant of this crate broke (a bug, never the peer's fault): reported as an error
    /// instead of a panic or a silently empty value.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<JwsError> for SdJwtError {
    fn from(e: JwsError) -> Self {
        Self::IssuerJws(e)
    }
}

impl HasErrorCode for SdJwtError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Malformed(_)
            | Self::PayloadNotObject
            | Self::UnsupportedHashAlgorithm(_)
            | Self::InvalidSdStructure { .. } => ErrorCode::Malformed,
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::IssuerJws(e) => jws_code(e),
            Self::IssuerKey(_) => ErrorCode::UntrustedIssuer,
            Self::MalformedDisclosure { .. }
            | Self::DuplicateDisclosure { .. }
            | Self::DuplicateDigest(_)
            | Self::UnreferencedDisclosure { .. }
            | Self::DisclosureShapeMismatch { .. }
            | Self::ReservedClaimName { .. }
            | Self::ClaimNameCollision(_) => ErrorCode::InvalidDisclosure,
            Self::Time { claim: "exp", .. } => ErrorCode::Expired,
            Self::Time { claim: "nbf", .. } => ErrorCode::NotYetValid,
            // `iat` in the future, or a time claim that is not a number.
            Self::Time { .. } => ErrorCode::InvalidCredential,
            Self::MissingKeyBinding => ErrorCode::KeyBindingRequired,
            Self::MissingHolderKey | Self::KeyBinding(_) | Self::UnexpectedKeyBinding => {
                ErrorCode::InvalidKeyBinding
            }
            Self::NotDisclosable { .. } | Self::Vc(_) => ErrorCode::InvalidCredential,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// The code of a failed JWS check of the Issuer-signed JWT.
///
/// `JwsError` belongs to `eudi-trust` and is `#[non_exhaustive]`, so a match on it from this
/// crate needs a catch-all arm; the variants known today are all listed before it, and a new
/// one is reported as `malformed` until it is listed here (or `eudi-trust` implements
/// [`HasErrorCode`] for it, which would then replace this function).
fn jws_code(e: &JwsError) -> ErrorCode {
    match e {
        JwsError::Malformed(_) | JwsError::MalformedHeader(_) => ErrorCode::Malformed,
        JwsError::UnsupportedAlgorithm(_)
        | JwsError::AlgorithmNotAllowed(_)
        | JwsError::AlgorithmKeyMismatch { .. } => ErrorCode::UnsupportedAlgorithm,
        // An extension this verifier does not understand (RFC 7515 §4.1.11): not a token it
        // can accept, so malformed for it.
        JwsError::UnsupportedCritical(_) => ErrorCode::Malformed,
        JwsError::WrongType { .. } => ErrorCode::WrongType,
        JwsError::BadSignature => ErrorCode::InvalidSignature,
        // Verification never signs.
        JwsError::Signing(_) => ErrorCode::Internal,
        _ => ErrorCode::Malformed,
    }
}

/// Why an SD-JWT could not be issued, or a presentation made: what the caller asked for cannot
/// be done, or a local step (signing, the random generator, encoding) failed. Never a fault of
/// a peer; a broken credential handed to the holder is [`IssueError::Credential`].
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum IssueError {
    /// A claim uses a name RFC 9901 §4.2 reserves (`_sd`, `...`, `_sd_alg`), or SD-JWT VC
    /// §3.2.2.2 forbids the claim to be selectively disclosable.
    #[error("the claim {path} cannot be issued: {reason}")]
    ReservedClaimName {
        /// Where the claim is.
        path: String,
        /// Which rule.
        reason: &'static str,
    },
    /// The issuer was asked to make something selectively disclosable that cannot be.
    #[error("cannot make {path} selectively disclosable: {reason}")]
    InvalidSdPath {
        /// The path.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// A claim path given to the holder does not exist in the credential.
    #[error("claim path {0} does not exist in the credential")]
    UnknownClaimPath(String),
    /// The SD-JWT given to the holder (to select from or to bind) is not a valid one.
    #[error("the credential: {0}")]
    Credential(#[from] SdJwtError),
    /// No signer was given.
    #[error("no signer")]
    NoSigner,
    /// Signing failed, or the header cannot be encoded.
    #[error("signing: {0}")]
    Signing(JwsError),
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// A value could not be encoded as JSON.
    #[error("JSON encoding: {0}")]
    Encoding(String),
    /// An invariant of this crate broke (a bug): reported instead of a panic or a silently
    /// wrong token.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_verifier_mapping() {
        let cases = [
            (SdJwtError::Malformed(String::new()), ErrorCode::Malformed),
            (
                SdJwtError::IssuerJws(JwsError::BadSignature),
                ErrorCode::InvalidSignature,
            ),
            (
                SdJwtError::IssuerJws(JwsError::WrongType {
                    found: None,
                    expected: String::new(),
                }),
                ErrorCode::WrongType,
            ),
            (
                SdJwtError::IssuerKey(String::new()),
                ErrorCode::UntrustedIssuer,
            ),
            (
                SdJwtError::ReservedClaimName {
                    index: 0,
                    name: "_sd_alg".into(),
                },
                ErrorCode::InvalidDisclosure,
            ),
            (
                SdJwtError::Time {
                    claim: "exp",
                    reason: String::new(),
                },
                ErrorCode::Expired,
            ),
            (
                SdJwtError::Time {
                    claim: "nbf",
                    reason: String::new(),
                },
                ErrorCode::NotYetValid,
            ),
            (
                SdJwtError::Time {
                    claim: "iat",
                    reason: String::new(),
                },
                ErrorCode::InvalidCredential,
            ),
            (SdJwtError::MissingKeyBinding, ErrorCode::KeyBindingRequired),
            (SdJwtError::MissingHolderKey, ErrorCode::InvalidKeyBinding),
            (
                SdJwtError::NotDisclosable {
                    claim: "iss".into(),
                },
                ErrorCode::InvalidCredential,
            ),
            (SdJwtError::Internal("x"), ErrorCode::Internal),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
        }
    }
}
