//! Every library error the pipeline meets, mapped to the workspace's one [`ErrorCode`]
//! vocabulary: one function per library error type, in one place.
//!
//! The libraries implement `eudi_trust::HasErrorCode` for their own errors (exhaustively, in
//! their crates). Until that lands, the mapping is here; at merge each function's body becomes
//! `e.code()`. The `_` arms below exist only because the libraries' error enums are
//! `#[non_exhaustive]` and seen from another crate: that is why the mapping belongs in them.
//!
//! Failures of a *Status List Token* are not mapped by their own codes: whatever went wrong
//! with the token, for the credential it means [`ErrorCode::StatusUnavailable`] (see `status`).

use eudi_sdjwt::SdJwtError;
use eudi_trust::jws::JwsError;
use eudi_trust::{ErrorCode, HasErrorCode, X509Error};

/// An SD-JWT (RFC 9901) or SD-JWT VC verification failure (mapped exhaustively in eudi-sdjwt).
pub(crate) fn sd_jwt(e: &SdJwtError) -> ErrorCode {
    e.code()
}

/// A JWS (RFC 7515) failure of an issuer-signed JWT.
pub(crate) fn jws(e: &JwsError) -> ErrorCode {
    match e {
        JwsError::UnsupportedAlgorithm(_)
        | JwsError::AlgorithmNotAllowed(_)
        | JwsError::AlgorithmKeyMismatch { .. } => ErrorCode::UnsupportedAlgorithm,
        JwsError::WrongType { .. } => ErrorCode::WrongType,
        JwsError::BadSignature => ErrorCode::InvalidSignature,
        JwsError::Signing(_) => ErrorCode::Internal,
        JwsError::Malformed(_)
        | JwsError::MalformedHeader(_)
        | JwsError::UnsupportedCritical(_) => ErrorCode::Malformed,
        _ => ErrorCode::Malformed,
    }
}

/// An mdoc (ISO/IEC 18013-5) verification failure. mdoc names its codes itself today
/// (`VerifyError::code`), as strings of this vocabulary.
pub(crate) fn mdoc(e: &eudi_mdoc::VerifyError) -> ErrorCode {
    match e.code() {
        "too_large" => ErrorCode::TooLarge,
        "untrusted_issuer" => ErrorCode::UntrustedIssuer,
        "invalid_signature" => ErrorCode::InvalidSignature,
        "wrong_type" => ErrorCode::WrongType,
        "expired" => ErrorCode::Expired,
        "not_yet_valid" => ErrorCode::NotYetValid,
        "invalid_disclosure" => ErrorCode::InvalidDisclosure,
        "key_binding_required" => ErrorCode::KeyBindingRequired,
        "invalid_key_binding" => ErrorCode::InvalidKeyBinding,
        "unsupported_algorithm" => ErrorCode::UnsupportedAlgorithm,
        "invalid_credential" => ErrorCode::InvalidCredential,
        _ => ErrorCode::Malformed,
    }
}

/// An issuer certificate chain that did not validate: whatever the reason, no trusted key
/// for the issuer.
pub(crate) fn x509(_: &X509Error) -> ErrorCode {
    ErrorCode::UntrustedIssuer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_and_type_failures_keep_their_codes() {
        assert_eq!(
            sd_jwt(&SdJwtError::IssuerJws(JwsError::BadSignature)),
            ErrorCode::InvalidSignature
        );
        assert_eq!(
            sd_jwt(&SdJwtError::IssuerKey("x".into())),
            ErrorCode::UntrustedIssuer
        );
        assert_eq!(
            sd_jwt(&SdJwtError::MissingKeyBinding),
            ErrorCode::KeyBindingRequired
        );
        assert_eq!(x509(&X509Error::EmptyChain), ErrorCode::UntrustedIssuer);
    }
}
