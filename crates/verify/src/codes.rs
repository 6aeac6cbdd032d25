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
use eudi_trust::ErrorCode;
use eudi_trust::HasErrorCode;
use eudi_trust::X509Error;

/// An SD-JWT (RFC 9901) or SD-JWT VC verification failure (mapped exhaustively in eudi-sdjwt).
pub(crate) fn sd_jwt(e: &SdJwtError) -> ErrorCode {
    e.code()
}

/// An mdoc (ISO/IEC 18013-5) verification failure (mapped exhaustively in eudi-mdoc).
pub(crate) fn mdoc(e: &eudi_mdoc::VerifyError) -> ErrorCode {
    e.code()
}

/// An issuer certificate chain that did not validate (mapped exhaustively in eudi-trust):
/// malformed certificates are `malformed`, oversized chains `too_large`, every chain failure
/// `untrusted_issuer`.
pub(crate) fn x509(e: &X509Error) -> ErrorCode {
    e.code()
}

#[cfg(test)]
mod tests {
    use eudi_trust::jws::JwsError;

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
        // An empty `x5c` is not a chain at all; a chain to no anchor is an untrusted issuer.
        assert_eq!(x509(&X509Error::EmptyChain), ErrorCode::Malformed);
        assert_eq!(
            x509(&X509Error::UntrustedChain("no anchor".into())),
            ErrorCode::UntrustedIssuer
        );
    }
}
