//! The wallet client's errors: one typed value per way a flow can fail, so a wallet can tell the
//! user what went wrong (an issuer's OAuth error with its description, a tampered callback, a
//! document that names another issuer) without parsing strings.

use eudi_http::HttpError;
use eudi_oauth::OAuthError;
use eudi_trust::jwe::JweError;

/// Why a client step failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request got no answer (network, time limit, refused URL, body over the HTTP client's
    /// limit).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A URL the flow would request or accept is not allowed: not `https` (unless the client's
    /// [`eudi_http::UrlPolicy`] is the dev/test switch), malformed, with user information, or
    /// with a query or fragment where none may be.
    #[error("refusing the URL {url}: {reason}")]
    InvalidUrl {
        /// The URL (an issuer's or an endpoint's, never one carrying a secret).
        url: String,
        /// Why.
        reason: String,
    },
    /// The credential offer is malformed: wrong scheme, both or neither of `credential_offer`
    /// and `credential_offer_uri`, not JSON, or without what OpenID4VCI 1.0 §4.1.1 requires.
    #[error("invalid credential offer: {0}")]
    InvalidOffer(String),
    /// An answer (or an offer) is larger than this client's limit for it.
    #[error("the {what} is larger than {limit} bytes")]
    TooLarge {
        /// What was being read.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A metadata document names another party than the one it was fetched for
    /// (OpenID4VCI 1.0 §12.2.3 `credential_issuer`, RFC 8414 §3.3 `issuer`): its data must not
    /// be used.
    #[error("the {document} names {found:?}, not {expected:?}")]
    MetadataMismatch {
        /// Which document.
        document: &'static str,
        /// The identifier it was fetched for.
        expected: String,
        /// The identifier it names.
        found: String,
    },
    /// An endpoint answered with an OAuth / OpenID4VCI error (RFC 6749 §5.2, RFC 6750 §3.1,
    /// OpenID4VCI 1.0 §8.3.1.2, §9.3, §11.3).
    #[error("the {endpoint} endpoint answered {}: {error}", error.status())]
    Endpoint {
        /// Which endpoint (`token`, `credential`, …).
        endpoint: &'static str,
        /// The code, description and HTTP status.
        error: OAuthError,
    },
    /// The authorization server redirected back with an error (RFC 6749 §4.1.2.1).
    #[error("authorization refused: {0}")]
    AuthorizationDenied(OAuthError),
    /// The callback's `state` is missing or is not the one this authorization sent (RFC 6749
    /// §10.12: a forged or replayed callback).
    #[error("the authorization response's state does not match the request")]
    StateMismatch,
    /// The callback's `iss` is missing (though the server declares it sends one) or names
    /// another authorization server (RFC 9207 §2.4: a mix-up attack).
    #[error("the authorization response's iss is {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The authorization server the request went to.
        expected: String,
        /// The `iss` received, if any.
        found: Option<String>,
    },
    /// An answer is not what the protocol says it must be (status, media type, JSON shape, a
    /// downgraded token type, a count that does not match the request).
    #[error("invalid answer from the {endpoint} endpoint: {reason}")]
    InvalidResponse {
        /// Which endpoint or document.
        endpoint: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The issuer does not offer what the call needs (no such endpoint, configuration, proof
    /// type, algorithm, encryption, or too many keys for its batch size).
    #[error("not supported by the issuer: {0}")]
    Unsupported(String),
    /// The caller's arguments cannot make a valid request.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Signing a DPoP proof, key proof or attestation PoP failed (a fault of this side).
    #[error("signing failed: {0}")]
    Signing(String),
    /// The system random generator failed (`state`, PKCE verifier).
    #[error("the system random number generator failed")]
    Random,
    /// An encrypted credential response could not be decrypted, or request encryption failed.
    #[error("credential response encryption: {0}")]
    Encryption(#[from] JweError),
}

impl ClientError {
    /// The OAuth error code, when the failure is an error answer or redirect from the server.
    pub fn oauth_error(&self) -> Option<&OAuthError> {
        match self {
            Self::Endpoint { error, .. } | Self::AuthorizationDenied(error) => Some(error),
            _ => None,
        }
    }

    pub(crate) fn invalid_response(endpoint: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidResponse {
            endpoint,
            reason: reason.into(),
        }
    }
}
