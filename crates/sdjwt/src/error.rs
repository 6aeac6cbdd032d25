//! Errors: one enum for everything that can be wrong with an SD-JWT, each variant naming the
//! exact check that failed (RFC 9901 §7, SD-JWT VC §3).

use eudi_trust::jws::JwsError;

/// Why an SD-JWT or SD-JWT+KB was rejected, or could not be made.
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
    /// A Disclosure uses a reserved claim name (`_sd`, `...`).
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
    /// SD-JWT VC rules (draft-ietf-oauth-sd-jwt-vc §3).
    #[error("SD-JWT VC: {0}")]
    Vc(String),
    /// A claim path given to the holder does not exist in the credential.
    #[error("claim path {0} does not exist in the credential")]
    UnknownClaimPath(String),
    /// The issuer was asked to make something selectively disclosable that cannot be.
    #[error("cannot make {path} selectively disclosable: {reason}")]
    InvalidSdPath {
        /// The path.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// Signing or JSON encoding failed while issuing or presenting.
    #[error("could not create the token: {0}")]
    Creation(String),
}

impl From<JwsError> for SdJwtError {
    fn from(e: JwsError) -> Self {
        Self::IssuerJws(e)
    }
}
