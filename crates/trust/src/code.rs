//! The one error vocabulary of the workspace: a stable, machine-readable code for every way a
//! credential, presentation or token from a peer can fail verification.
//!
//! Each library maps its own verification errors onto [`ErrorCode`] *inside its crate* with an
//! exhaustive `match` (no `_` arm), through [`HasErrorCode`]: a new error variant then cannot
//! compile without a code, which a mapping in another crate could not enforce, since the
//! libraries' error enums are `#[non_exhaustive]`. The verifier's reports and the relying-party
//! API show these codes; the message beside a code is for people.

use serde::Serialize;

/// A stable, machine-readable reason why something from a peer failed verification.
///
/// The serialized names (`snake_case`) are a contract (`eudi-verifier verify`, the relying-party
/// API): never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Not a well-formed credential, presentation or token.
    Malformed,
    /// Input exceeds a size, count or nesting limit.
    TooLarge,
    /// A format this build does not verify.
    UnsupportedFormat,
    /// Wrong `typ` header (or COSE content type).
    WrongType,
    /// `alg` is `none`, HMAC, unknown, or not allowed by policy.
    UnsupportedAlgorithm,
    /// The issuer signature does not verify.
    InvalidSignature,
    /// No trusted key for the issuer (untrusted, expired or invalid certificate chain, unknown
    /// key, or a key not bound to the credential's issuer).
    UntrustedIssuer,
    /// The credential has expired.
    Expired,
    /// The credential is not valid yet.
    NotYetValid,
    /// A disclosure (SD-JWT) or issuer-signed item (mdoc) is malformed, duplicated,
    /// unreferenced, misplaced or does not match its digest.
    InvalidDisclosure,
    /// Holder binding was required and the presentation has none.
    KeyBindingRequired,
    /// The holder binding proof failed (signature, nonce, audience, `sd_hash`, age, device
    /// authentication).
    InvalidKeyBinding,
    /// The credential breaks a rule of its credential format profile.
    InvalidCredential,
    /// The issuer has revoked the credential.
    Revoked,
    /// The issuer has suspended the credential.
    Suspended,
    /// The status list could not be obtained or verified.
    StatusUnavailable,
    /// The credential's effective level of assurance is below the one required.
    LoaTooLow,
    /// A claim the relying party requires was not presented.
    MissingClaim,
    /// An internal invariant broke (a bug, never the peer's fault); reported, never a panic.
    Internal,
}

impl ErrorCode {
    /// The serialized name, e.g. `"untrusted_issuer"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::UnsupportedFormat => "unsupported_format",
            Self::WrongType => "wrong_type",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::InvalidSignature => "invalid_signature",
            Self::UntrustedIssuer => "untrusted_issuer",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::InvalidDisclosure => "invalid_disclosure",
            Self::KeyBindingRequired => "key_binding_required",
            Self::InvalidKeyBinding => "invalid_key_binding",
            Self::InvalidCredential => "invalid_credential",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
            Self::StatusUnavailable => "status_unavailable",
            Self::LoaTooLow => "loa_too_low",
            Self::MissingClaim => "missing_claim",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that knows its [`ErrorCode`]. Implemented inside each library, exhaustively.
pub trait HasErrorCode {
    /// The stable code of this error.
    fn code(&self) -> ErrorCode;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for code in [
            ErrorCode::Malformed,
            ErrorCode::TooLarge,
            ErrorCode::UnsupportedFormat,
            ErrorCode::WrongType,
            ErrorCode::UnsupportedAlgorithm,
            ErrorCode::InvalidSignature,
            ErrorCode::UntrustedIssuer,
            ErrorCode::Expired,
            ErrorCode::NotYetValid,
            ErrorCode::InvalidDisclosure,
            ErrorCode::KeyBindingRequired,
            ErrorCode::InvalidKeyBinding,
            ErrorCode::InvalidCredential,
            ErrorCode::Revoked,
            ErrorCode::Suspended,
            ErrorCode::StatusUnavailable,
            ErrorCode::LoaTooLow,
            ErrorCode::MissingClaim,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
        }
    }
}
