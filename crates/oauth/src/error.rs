//! The OAuth 2.0 error response (RFC 6749 §5.2, §4.1.2.1; RFC 6750 §3.1) and the codes the
//! workspace's endpoints answer with, each with the HTTP status it is sent with.
//!
//! The body is `{"error":…,"error_description":…}` (DESIGN.md: every HTTP error is JSON so).
//! Descriptions are for developers and must not carry personal data or internals: a 5xx answer
//! gets a generic description ([`OAuthError::server_error`]), the details go to the log.

use std::fmt;

use serde::Deserialize;
use serde::Serialize;

/// An OAuth error code. Unknown codes read from a peer are kept as [`ErrorCode::Other`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    // RFC 6749 §4.1.2.1 (authorization endpoint) and §5.2 (token endpoint), in spec order.
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// The client is not authorized to use this method.
    UnauthorizedClient,
    /// The resource owner or the server denied the request.
    AccessDenied,
    /// The response type is not supported.
    UnsupportedResponseType,
    /// The scope is invalid, unknown or malformed.
    InvalidScope,
    /// The server met an unexpected condition.
    ServerError,
    /// The server is overloaded or down for maintenance.
    TemporarilyUnavailable,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token, pre-authorized code) is invalid, expired or used.
    InvalidGrant,
    /// The grant type is not supported.
    UnsupportedGrantType,
    // RFC 6750 §3.1 (bearer tokens).
    /// The access token is expired, revoked or malformed.
    InvalidToken,
    /// The access token does not carry the scope the request needs.
    InsufficientScope,
    // OpenID Connect Core 1.0 §3.1.2.6.
    /// The provider needs the user to log in (`prompt=none` cannot be honoured).
    LoginRequired,
    /// `request` (request objects) is not supported.
    RequestNotSupported,
    /// `request_uri` is not supported.
    RequestUriNotSupported,
    // RFC 9449 §7.1 and §8 (DPoP).
    /// The DPoP proof is missing, malformed or invalid.
    InvalidDpopProof,
    /// The server requires a DPoP nonce (sent in the `DPoP-Nonce` header).
    UseDpopNonce,
    // OpenID4VCI 1.0 §8.3.1.2 (credential endpoint).
    /// The credential request is malformed.
    InvalidCredentialRequest,
    /// The requested credential configuration is unknown.
    UnknownCredentialConfiguration,
    /// The requested credential identifier is unknown.
    UnknownCredentialIdentifier,
    /// A key proof is invalid.
    InvalidProof,
    /// A key proof's `nonce` is invalid or missing.
    InvalidNonce,
    /// The credential response encryption parameters are invalid.
    InvalidEncryptionParameters,
    /// The credential request was understood but not granted.
    CredentialRequestDenied,
    /// Any other code (read from a peer).
    Other(String),
}

impl ErrorCode {
    /// The code as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::LoginRequired => "login_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidCredentialRequest => "invalid_credential_request",
            Self::UnknownCredentialConfiguration => "unknown_credential_configuration",
            Self::UnknownCredentialIdentifier => "unknown_credential_identifier",
            Self::InvalidProof => "invalid_proof",
            Self::InvalidNonce => "invalid_nonce",
            Self::InvalidEncryptionParameters => "invalid_encryption_parameters",
            Self::CredentialRequestDenied => "credential_request_denied",
            Self::Other(code) => code,
        }
    }

    /// Reads a code; one this enum does not name becomes [`ErrorCode::Other`].
    pub fn parse(code: &str) -> Self {
        Self::KNOWN
            .iter()
            .find(|known| known.as_str() == code)
            .cloned()
            .unwrap_or_else(|| Self::Other(code.to_owned()))
    }

    const KNOWN: [Self; 24] = [
        Self::InvalidRequest,
        Self::UnauthorizedClient,
        Self::AccessDenied,
        Self::UnsupportedResponseType,
        Self::InvalidScope,
        Self::ServerError,
        Self::TemporarilyUnavailable,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnsupportedGrantType,
        Self::InvalidToken,
        Self::InsufficientScope,
        Self::LoginRequired,
        Self::RequestNotSupported,
        Self::RequestUriNotSupported,
        Self::InvalidDpopProof,
        Self::UseDpopNonce,
        Self::InvalidCredentialRequest,
        Self::UnknownCredentialConfiguration,
        Self::UnknownCredentialIdentifier,
        Self::InvalidProof,
        Self::InvalidNonce,
        Self::InvalidEncryptionParameters,
        Self::CredentialRequestDenied,
    ];

    /// The HTTP status a direct answer with this code is sent with.
    ///
    /// RFC 6749 §5.2: 400, except `invalid_client` (401; RFC 6749 allows 401 always and
    /// requires it when the client authenticated by the `Authorization` header). RFC 6750 §3.1:
    /// `invalid_token` 401, `insufficient_scope` 403. `server_error` and
    /// `temporarily_unavailable` are redirect codes in RFC 6749; as direct answers they are 500
    /// and 503. RFC 9449 and OpenID4VCI §8.3.1.2 answer 400 (a resource server answering
    /// `invalid_dpop_proof`/`use_dpop_nonce` uses 401: [`OAuthError::with_status`]).
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            Self::InvalidRequest
            | Self::UnauthorizedClient
            | Self::AccessDenied
            | Self::UnsupportedResponseType
            | Self::InvalidScope
            | Self::InvalidGrant
            | Self::UnsupportedGrantType
            | Self::LoginRequired
            | Self::RequestNotSupported
            | Self::RequestUriNotSupported
            | Self::InvalidDpopProof
            | Self::UseDpopNonce
            | Self::InvalidCredentialRequest
            | Self::UnknownCredentialConfiguration
            | Self::UnknownCredentialIdentifier
            | Self::InvalidProof
            | Self::InvalidNonce
            | Self::InvalidEncryptionParameters
            | Self::CredentialRequestDenied
            | Self::Other(_) => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::parse(&code))
    }
}

/// An OAuth error answer: a code, a description, the HTTP status and, where RFC 6749 §5.2 or
/// RFC 6750 §3 ask for one, a `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}{}", describe(.description))]
pub struct OAuthError {
    /// The code.
    pub code: ErrorCode,
    /// A description for developers (no personal data, no internals).
    pub description: Option<String>,
    status: u16,
    challenge: Option<String>,
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

/// The wire form, `{"error","error_description"}` (RFC 6749 §5.2; `error_uri` is not used).
#[derive(Serialize, Deserialize)]
struct Body<'a> {
    error: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    error_description: Option<std::borrow::Cow<'a, str>>,
}

impl OAuthError {
    /// An error with `code`'s status ([`ErrorCode::status`]).
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        let status = code.status();
        Self {
            code,
            description: Some(description.into()),
            status,
            challenge: None,
        }
    }

    /// `invalid_request` with `description`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with `description`.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `server_error` (500) with a generic description: the cause is for the log, not the peer.
    pub fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "internal error")
    }

    /// Sends the answer with `status` instead of the code's own (e.g. 400 `invalid_client` for a
    /// client that authenticated in the body, RFC 6749 §5.2).
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a `WWW-Authenticate` challenge (RFC 6749 §5.2 for `invalid_client` by `Basic`,
    /// RFC 6750 §3 for bearer tokens, RFC 9449 §7.1 for DPoP).
    pub fn with_challenge(mut self, challenge: impl Into<String>) -> Self {
        self.challenge = Some(challenge.into());
        self
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `WWW-Authenticate` value to send, if any.
    pub fn challenge(&self) -> Option<&str> {
        self.challenge.as_deref()
    }

    /// The JSON body.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.code.as_str().into());
        if let Some(description) = &self.description {
            body.insert("error_description".into(), description.as_str().into());
        }
        serde_json::Value::Object(body)
    }

    /// Reads an error body a peer answered with `status`; `None` when it is not one.
    pub fn from_response(status: u16, body: &[u8]) -> Option<Self> {
        let body: Body<'_> = serde_json::from_slice(body).ok()?;
        Some(Self {
            code: body.error,
            description: body.error_description.map(|d| d.into_owned()),
            status,
            challenge: None,
        })
    }
}

impl Serialize for OAuthError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Body {
            error: self.code.clone(),
            error_description: self.description.as_deref().map(std::borrow::Cow::Borrowed),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_reads_back_as_itself() {
        for code in ErrorCode::KNOWN {
            assert_eq!(ErrorCode::parse(code.as_str()), code);
            assert!(!matches!(code, ErrorCode::Other(_)));
        }
        assert_eq!(
            ErrorCode::parse("slow_down"),
            ErrorCode::Other("slow_down".into())
        );
    }

    #[test]
    fn statuses_follow_the_rfcs() {
        assert_eq!(ErrorCode::InvalidRequest.status(), 400);
        assert_eq!(ErrorCode::InvalidGrant.status(), 400);
        assert_eq!(ErrorCode::InvalidClient.status(), 401);
        assert_eq!(ErrorCode::InvalidToken.status(), 401);
        assert_eq!(ErrorCode::InsufficientScope.status(), 403);
        assert_eq!(ErrorCode::ServerError.status(), 500);
        assert_eq!(ErrorCode::TemporarilyUnavailable.status(), 503);
        let error = OAuthError::new(ErrorCode::InvalidClient, "x").with_status(400);
        assert_eq!(error.status(), 400);
    }

    #[test]
    fn body_round_trip() {
        let error =
            OAuthError::invalid_grant("the code has expired").with_challenge("Basic realm=\"x\"");
        let json = error.to_json();
        assert_eq!(
            json,
            serde_json::json!({"error": "invalid_grant", "error_description": "the code has expired"})
        );
        assert_eq!(serde_json::to_value(&error).unwrap(), json);
        let read = OAuthError::from_response(400, json.to_string().as_bytes()).unwrap();
        assert_eq!(read.code, ErrorCode::InvalidGrant);
        assert_eq!(read.description.as_deref(), Some("the code has expired"));
        assert_eq!(read.challenge(), None);
        assert_eq!(error.challenge(), Some("Basic realm=\"x\""));
        assert_eq!(error.to_string(), "invalid_grant: the code has expired");
    }

    #[test]
    fn bodies_that_are_not_errors_are_not_read_as_errors() {
        assert!(OAuthError::from_response(400, b"<html>").is_none());
        assert!(OAuthError::from_response(400, br#"{"error_description":"x"}"#).is_none());
        assert!(OAuthError::from_response(400, br#"{"error":7}"#).is_none());
        let bare = OAuthError::from_response(401, br#"{"error":"invalid_token"}"#).unwrap();
        assert_eq!(bare.description, None);
        assert_eq!(
            bare.to_json(),
            serde_json::json!({"error": "invalid_token"})
        );
    }

    #[test]
    fn server_errors_say_nothing_of_the_cause() {
        let error = OAuthError::server_error();
        assert_eq!(error.status(), 500);
        assert_eq!(error.description.as_deref(), Some("internal error"));
    }
}
