//! The one error type of this crate.

use eudi_trust::Algorithm;
use eudi_trust::ErrorCode;
use eudi_trust::HasErrorCode;
use eudi_trust::KeyError;
use eudi_trust::jws::JwsError;

/// Why a Status List, a Status List Token or a status reference from a peer was rejected.
///
/// Every variant names the check that failed. Faults in making a list or a token (API misuse,
/// a failing signer) are a different type, [`StatusListIssueError`], so a caller can tell "the
/// issuer sent garbage" from "we called it wrong".
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusListError {
    // ---- the Status List itself (§4) ----
    /// `bits` is not 1, 2, 4 or 8 (§4.1 step 1).
    #[error("status list `bits` is {0}, must be 1, 2, 4 or 8")]
    InvalidBits(i128),
    /// The index is at or past the end of the list (§8.3 step 6: the token must be rejected).
    #[error("status list index {idx} is out of range: the list holds {len} statuses")]
    IndexOutOfRange {
        /// The index asked for.
        idx: u64,
        /// How many statuses the list holds.
        len: u64,
    },
    /// `lst` is not a complete, well-formed ZLIB stream (RFC 1950/1951).
    #[error("status list `lst` is not a valid zlib stream: {0}")]
    Decompression(&'static str),
    /// `lst` inflates to more than the configured limit (a decompression bomb or an oversized
    /// list).
    #[error("status list `lst` decompresses to more than the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The `StatusList` object or map (§4.2, §4.3) has the wrong shape.
    #[error("malformed status list: {0}")]
    MalformedStatusList(&'static str),

    /// Not one well-formed CBOR data item within the decoder's limits (size, depth, item
    /// count), or a map with a key twice.
    #[error("malformed status list CBOR: {0}")]
    Cbor(eudi_cbor::CborError),

    // ---- the Status List Token (§5) ----
    /// The token is larger than the configured input limit.
    #[error("status list token is {len} bytes, more than the limit of {limit}")]
    TokenTooLarge {
        /// Size of the input.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The JWT is not a well-formed compact JWS.
    #[error("malformed status list JWT: {0}")]
    MalformedJwt(JwsError),
    /// The CWT is not a well-formed `COSE_Sign1_Tagged` structure.
    #[error("malformed status list CWT: {0}")]
    MalformedCwt(String),
    /// The JWT header `typ` is not `statuslist+jwt` (§5.1).
    #[error("status list JWT `typ` is {found:?}, expected `statuslist+jwt`")]
    WrongJwtType {
        /// What the header carried, if anything.
        found: Option<String>,
    },
    /// The CWT protected header `type` (label 16) is not `application/statuslist+cwt` (§5.2).
    #[error(
        "status list CWT type (protected header 16) is {found}, expected `application/statuslist+cwt`"
    )]
    WrongCwtType {
        /// A description of what the header carried.
        found: String,
    },
    /// The protected header lists critical parameters this implementation does not understand.
    #[error("status list token has critical header parameters this verifier does not understand")]
    UnsupportedCritical,
    /// The token's algorithm is unknown or insecure (`none`, HMAC, ...).
    #[error("status list token algorithm {0} is not supported")]
    UnsupportedAlgorithm(String),
    /// The algorithm is supported but not allowed by the verifier's policy.
    #[error("status list token algorithm {0} is not allowed by policy")]
    AlgorithmNotAllowed(Algorithm),
    /// The token's algorithm does not match the key chosen to verify it.
    #[error("status list token algorithm {token} does not match the {key} key")]
    AlgorithmKeyMismatch {
        /// Algorithm named by the token.
        token: Algorithm,
        /// Algorithm of the verifying key.
        key: Algorithm,
    },
    /// The signature does not verify under the given key.
    #[error("status list token signature does not verify")]
    BadSignature,
    /// A required claim is absent (§5.1, §5.2).
    #[error("status list token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim is present but has the wrong type or value.
    #[error("status list token claim `{claim}` is invalid: {reason}")]
    InvalidClaim {
        /// The claim's name (JWT) or name and label (CWT).
        claim: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `sub` is not the URI the Status List Token was fetched for (§8.3 step 4a).
    #[error("status list token `sub` is {found:?}, expected {expected:?}")]
    SubjectMismatch {
        /// The URI the caller expected (the Referenced Token's `uri`).
        expected: String,
        /// The token's `sub`.
        found: String,
    },
    /// `exp` has passed, clock skew included (§8.3 step 4c).
    #[error("status list token expired at {exp} (now {now})")]
    Expired {
        /// The token's expiry, seconds since the epoch.
        exp: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// `nbf` is still in the future, clock skew included (RFC 7519 §4.1.5, RFC 8392 §3.1.5).
    #[error("status list token is not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The token's not-before time.
        nbf: i64,
        /// The verifier's clock.
        now: i64,
    },

    // ---- the Referenced Token's side (§6) ----
    /// The Referenced Token has no `status` / `status_list` reference (§8.3 step 1).
    #[error("referenced token has no status list reference: {0}")]
    MissingStatusReference(&'static str),
    /// The Referenced Token's `status_list` reference has the wrong shape.
    #[error("referenced token status list reference is malformed: {0}")]
    MalformedStatusReference(&'static str),
}

impl StatusListError {
    /// Maps a JWS error from `eudi-trust` onto the status-list error that names the same check.
    pub(crate) fn from_jws(e: JwsError) -> Self {
        match e {
            JwsError::UnsupportedAlgorithm(alg) => Self::UnsupportedAlgorithm(alg),
            JwsError::AlgorithmNotAllowed(alg) => Self::AlgorithmNotAllowed(alg),
            JwsError::AlgorithmKeyMismatch { header, key } => {
                Self::AlgorithmKeyMismatch { token: header, key }
            }
            JwsError::BadSignature => Self::BadSignature,
            JwsError::UnsupportedCritical(_) => Self::UnsupportedCritical,
            JwsError::WrongType { found, .. } => Self::WrongJwtType { found },
            // `JwsError` is non-exhaustive; anything else is a malformed token.
            other => Self::MalformedJwt(other),
        }
    }
}

impl HasErrorCode for StatusListError {
    /// Everything about the list or its token is [`ErrorCode::StatusUnavailable`] (the status
    /// could not be obtained or verified: the credential itself may be fine), except what is
    /// wrong with the credential's own reference to it ([`ErrorCode::InvalidCredential`]) and an
    /// index the list does not hold (§8.3 step 6: the Referenced Token must be rejected).
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidBits(_)
            | Self::Decompression(_)
            | Self::DecompressedTooLarge { .. }
            | Self::MalformedStatusList(_)
            | Self::Cbor(_)
            | Self::TokenTooLarge { .. }
            | Self::MalformedJwt(_)
            | Self::MalformedCwt(_)
            | Self::WrongJwtType { .. }
            | Self::WrongCwtType { .. }
            | Self::UnsupportedCritical
            | Self::UnsupportedAlgorithm(_)
            | Self::AlgorithmNotAllowed(_)
            | Self::AlgorithmKeyMismatch { .. }
            | Self::BadSignature
            | Self::MissingClaim(_)
            | Self::InvalidClaim { .. }
            | Self::SubjectMismatch { .. }
            | Self::Expired { .. }
            | Self::NotYetValid { .. } => ErrorCode::StatusUnavailable,
            Self::IndexOutOfRange { .. }
            | Self::MissingStatusReference(_)
            | Self::MalformedStatusReference(_) => ErrorCode::InvalidCredential,
        }
    }
}

/// Why a Status List or a Status List Token could not be made (API misuse or a failing signer,
/// never a peer's fault).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusListIssueError {
    /// The index is at or past the end of the list.
    #[error("status list index {idx} is out of range: the list holds {len} statuses")]
    IndexOutOfRange {
        /// The index given.
        idx: u64,
        /// How many statuses the list holds.
        len: u64,
    },
    /// A status value does not fit in the list's `bits`.
    #[error("status value {status} does not fit in {bits} bits")]
    StatusTooLarge {
        /// The value that was to be stored.
        status: u8,
        /// The list's bits per status.
        bits: u8,
    },
    /// The requested capacity cannot be represented on this platform.
    #[error("status list capacity of {0} statuses is too large")]
    CapacityTooLarge(u64),
    /// A token field is unusable (`sub` not a URI, `ttl` zero).
    #[error("status list token `{field}` {reason}")]
    InvalidInput {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The signer's algorithm has no COSE or JOSE identifier this crate writes.
    #[error("status list token algorithm {0} is not supported")]
    UnsupportedAlgorithm(String),
    /// Compressing the byte array failed.
    #[error("compressing the status list failed: {0}")]
    Compression(String),
    /// Signing the token failed.
    #[error("signing the status list token failed: {0}")]
    Signing(#[from] KeyError),
    /// Encoding the token failed.
    #[error("encoding the status list token failed: {0}")]
    Encoding(String),
}

impl StatusListIssueError {
    /// A JWS signing error from `eudi-trust`.
    pub(crate) fn from_jws(e: JwsError) -> Self {
        match e {
            JwsError::Signing(e) => Self::Signing(e),
            // `JwsError` is non-exhaustive; nothing else comes out of signing but encoding.
            other => Self::Encoding(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broken list or token says the status is unavailable; a broken reference or an index
    /// the list does not hold is the credential's own fault.
    #[test]
    fn codes_tell_the_token_from_the_credential() {
        for e in [
            StatusListError::BadSignature,
            StatusListError::MalformedCwt("x".into()),
            StatusListError::Cbor(eudi_cbor::CborError::DuplicateKey),
            StatusListError::Expired { exp: 1, now: 2 },
            StatusListError::DecompressedTooLarge { limit: 1 },
        ] {
            assert_eq!(e.code(), ErrorCode::StatusUnavailable, "{e}");
        }
        for e in [
            StatusListError::IndexOutOfRange { idx: 9, len: 8 },
            StatusListError::MissingStatusReference("x"),
            StatusListError::MalformedStatusReference("x"),
        ] {
            assert_eq!(e.code(), ErrorCode::InvalidCredential, "{e}");
        }
    }
}
