//! The seam between the web layer and the issuer's logic.
//!
//! The web layer (routing, MitID login, pages, operations) calls the OpenID4VCI server
//! (`eudi_oid4vci`'s `Issuer`) and the PID rules through [`Backend`], so that it can be built and
//! tested on its own and the wiring to the real pieces lives in one adapter.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use eudi_oauth::ErrorCode;
use eudi_oauth::OAuthError;
use eudi_pid::MitIdLogin;

/// The future every [`Backend`] operation returns.
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An HTTP request as the protocol sees it (no framework types).
#[derive(Clone, PartialEq, Eq)]
pub struct ProtocolRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query (`/token`).
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// Header names (lowercase) and values that are visible ASCII.
    pub headers: Vec<(String, String)>,
    /// The body, at most [`crate::web::MAX_BODY_BYTES`].
    pub body: Vec<u8>,
}

impl fmt::Debug for ProtocolRequest {
    /// Prints neither header values (tokens, DPoP proofs) nor the body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtocolRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// The protocol's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolResponse {
    /// The HTTP status.
    pub status: u16,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Why an authorization request does not lead to a MitID login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeRejection {
    /// The client and redirect URI are known: send the browser back there with this URL (which
    /// carries `error`, `state`, `iss`).
    Redirect(String),
    /// The redirect URI cannot be trusted (RFC 6749 §4.1.2.1): show the error, never redirect.
    Error(OAuthError),
}

/// A pre-authorized credential offer.
#[derive(Clone, PartialEq, Eq)]
pub struct Offer {
    /// The `openid-credential-offer://…` link.
    pub uri: String,
    /// The transaction code the wallet must be given out of band, if one was asked.
    pub tx_code: Option<String>,
}

impl fmt::Debug for Offer {
    /// The link carries a pre-authorized code and the tx code is a secret: neither is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Offer")
            .field("tx_code", &self.tx_code.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// A refusal by the PID rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// A stable code (`mitid_erhverv`, `insufficient_loa`, …), used as the metrics label.
    pub code: String,
    /// The rule's reason in words a person understands (no personal data).
    pub message: String,
}

/// A status list token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusToken {
    /// `application/statuslist+jwt` or `application/statuslist+cwt`.
    pub content_type: String,
    /// The token (compact JWS text, or CWT bytes).
    pub body: Vec<u8>,
    /// Seconds a client may cache it (the list's `ttl`).
    pub max_age: u64,
}

/// The answer for a status list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusAnswer {
    /// The token.
    Token(StatusToken),
    /// There is no such list (404).
    NoSuchList,
    /// `Accept` names neither form (406).
    NotAcceptable,
}

/// A fault of the issuer (store, signing): logged, answered with a generic 5xx.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// What the web layer needs from the issuer.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Answers an OpenID4VCI / OAuth endpoint request; `None` if the path is not one.
    fn handle(&self, request: ProtocolRequest) -> BackendFuture<'_, Option<ProtocolResponse>>;

    /// Validates an authorization request (query string of `/authorize`, possibly a PAR
    /// `request_uri`) and records it pending; answers its id.
    fn authorize<'a>(
        &'a self,
        query: &'a str,
    ) -> BackendFuture<'a, Result<String, AuthorizeRejection>>;

    /// Grants the pending authorization `id` to `subject`: the wallet's redirect URL with `code`,
    /// `state` and `iss` (RFC 9207).
    fn complete_authorization<'a>(
        &'a self,
        id: &'a str,
        subject: Vec<u8>,
    ) -> BackendFuture<'a, Result<String, BackendError>>;

    /// Refuses the pending authorization `id`: the wallet's redirect URL with `error`,
    /// `error_description`, `state` and `iss`.
    fn refuse_authorization<'a>(
        &'a self,
        id: &'a str,
        code: ErrorCode,
        description: &'a str,
    ) -> BackendFuture<'a, Result<String, BackendError>>;

    /// Applies the PID rules (and the CPR register) to a login: the opaque subject the protocol
    /// carries to the minter, or the rule that refuses.
    fn subject_for<'a>(
        &'a self,
        login: &'a MitIdLogin,
    ) -> BackendFuture<'a, Result<Result<Vec<u8>, Refused>, BackendError>>;

    /// Makes a pre-authorized offer of every PID configuration for `subject`, with a `tx_code`.
    fn create_offer(&self, subject: Vec<u8>) -> BackendFuture<'_, Result<Offer, BackendError>>;

    /// The signed status list `list` in the form `accept` (the request's `Accept` header) asks
    /// for (draft-ietf-oauth-status-list §8: JWT by default, CWT on request).
    fn status_list<'a>(
        &'a self,
        list: u32,
        accept: Option<&'a str>,
    ) -> BackendFuture<'a, Result<StatusAnswer, BackendError>>;
}
