//! How the client talks to the issuer: every request through the bounded [`HttpClient`], every
//! URL checked against the client's [`UrlPolicy`] first, every answer size-limited, and DPoP
//! (RFC 9449) with the server-provided nonces of §8 and §9: the latest `DPoP-Nonce` of each
//! server (origin) is remembered and put in the next proof to it, and an answer asking for a
//! nonce (`use_dpop_nonce`: 400 from the token endpoint, 401 with a `WWW-Authenticate: DPoP`
//! challenge from a resource) is retried once with the nonce it gave.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::MutexGuard;

use eudi_http::HttpClient;
use eudi_http::HttpError;
use eudi_http::Request;
use eudi_http::Response;
use eudi_http::UrlPolicy;
use eudi_oauth::ErrorCode;
use eudi_oauth::OAuthError;
use eudi_oauth::client_attestation;
use eudi_oauth::dpop;
use eudi_trust::Algorithm;
use eudi_trust::Clock;
use eudi_trust::Jwk;
use eudi_trust::Signer;
use eudi_trust::SystemClock;
use serde::de::DeserializeOwned;
use url::Url;

use crate::client::ClientError;

/// Largest metadata document read (512 KiB): room for many configurations with display data in
/// several languages.
pub const DEFAULT_MAX_METADATA_BYTES: usize = 512 * 1024;
/// Largest answer of the token, PAR, nonce, credential, deferred and notification endpoints
/// (1 MiB, the size of the largest JWE `eudi_trust::jwe` opens: a batch of credentials).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Longest `DPoP-Nonce` remembered, in bytes; a longer one is ignored (the proof would be refused
/// by the server's own limit, [`dpop::MAX_NONCE_LEN`]).
pub const MAX_DPOP_NONCE_LEN: usize = dpop::MAX_NONCE_LEN;
/// Most servers (origins) whose DPoP nonce is remembered by one client; when full, the memory
/// is cleared (a nonce is only an optimisation: the server asks again).
pub const MAX_REMEMBERED_NONCES: usize = 16;

/// The client's limits and URL rules.
///
/// For an issuer on `http://127.0.0.1` (development, tests) both this policy and the HTTP
/// client's (`eudi_http::HttpConfig::with_policy`) must be [`UrlPolicy::allow_private_network`]:
/// the client checks every URL itself first, so an issuer-chosen URL is refused here even when
/// the HTTP client would allow it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Which URLs the client requests or accepts (offer by reference, issuer, endpoints,
    /// redirects). The default allows public `https` only; [`UrlPolicy::allow_private_network`]
    /// is the dev/test switch for an issuer on `http://127.0.0.1`.
    pub policy: UrlPolicy,
    /// The time source of DPoP proofs, key proofs and attestation PoPs.
    pub clock: Arc<dyn Clock>,
    /// Largest metadata document read ([`DEFAULT_MAX_METADATA_BYTES`]).
    pub max_metadata_bytes: usize,
    /// Largest endpoint answer read ([`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub max_response_bytes: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            policy: UrlPolicy::public_https(),
            clock: Arc::new(SystemClock),
            max_metadata_bytes: DEFAULT_MAX_METADATA_BYTES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl ClientConfig {
    /// Sets the URL policy.
    pub fn with_policy(mut self, policy: UrlPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks that `url` may be requested or accepted under [`Self::policy`].
    pub fn check_url(&self, url: &str) -> Result<Url, ClientError> {
        self.policy.check_url(url).map_err(|e| match e {
            HttpError::Refused { url, reason } => ClientError::InvalidUrl {
                url,
                reason: reason.to_owned(),
            },
            other => ClientError::Http(other),
        })
    }
}

/// A DPoP key (RFC 9449): the signer and its public JWK, whose RFC 7638 thumbprint the access
/// tokens get bound to (`cnf.jkt`).
#[derive(Clone)]
pub struct DpopKey {
    signer: Arc<dyn Signer>,
    jwk: Jwk,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("jkt", &self.jwk.thumbprint())
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A DPoP key signing with `signer`.
    pub fn new(signer: Arc<dyn Signer>) -> Self {
        let jwk = signer.verifying_key().to_jwk();
        Self { signer, jwk }
    }

    /// The public key, as sent in the proofs' `jwk` header.
    pub fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The signature algorithm of the proofs.
    pub fn algorithm(&self) -> Algorithm {
        self.signer.algorithm()
    }

    /// The RFC 7638 thumbprint (`dpop_jkt`, RFC 9449 §10).
    pub fn thumbprint(&self) -> String {
        self.jwk.thumbprint()
    }
}

/// A wallet's client attestation (draft-ietf-oauth-attestation-based-client-auth, which HAIP
/// 1.0 §4.3 requires for wallets): the JWT its wallet provider signed, and the wallet instance
/// key (`cnf.jwk` in it) that signs a fresh PoP for every request.
#[derive(Clone)]
pub struct ClientAttestation {
    /// The `oauth-client-attestation+jwt` from the wallet provider.
    pub attestation: String,
    /// The wallet instance key.
    pub instance_key: Arc<dyn Signer>,
}

impl fmt::Debug for ClientAttestation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAttestation")
            .field("attestation_len", &self.attestation.len())
            .finish_non_exhaustive()
    }
}

/// What a client attestation is sent with: the wallet's `client_id` and the authorization
/// server's issuer identifier (the PoP's `aud`).
pub(crate) struct AttestationUse<'a> {
    pub(crate) attestation: &'a ClientAttestation,
    pub(crate) client_id: &'a str,
    pub(crate) audience: &'a str,
}

/// DPoP for one request: the key and, at a resource, the access token (`ath`).
pub(crate) struct DpopUse<'a> {
    pub(crate) key: &'a DpopKey,
    pub(crate) access_token: Option<&'a str>,
}

/// The HTTP side of a client: the HTTP client, the limits, the DPoP nonces seen.
pub(crate) struct Transport {
    http: Arc<dyn HttpClient>,
    pub(crate) config: ClientConfig,
    nonces: Mutex<HashMap<String, String>>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("http", &self.http)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        // A map of nonces holds no invariant a panicking holder could break.
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The origin a DPoP nonce belongs to (RFC 9449 §8: nonces are per server).
fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Whether a `DPoP-Nonce` value has the syntax of RFC 9449 §8.1 (`1*NQCHAR`) and a sane length.
fn is_valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce.len() <= MAX_DPOP_NONCE_LEN
        && nonce
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The `error` parameter of a `WWW-Authenticate` challenge (RFC 6750 §3, RFC 9449 §7.1), e.g.
/// `DPoP error="use_dpop_nonce", error_description="…"`.
pub(crate) fn challenge_error(challenge: &str) -> Option<&str> {
    let start = challenge.find("error=\"")? + "error=\"".len();
    let rest = challenge.get(start..)?;
    rest.find('"').and_then(|end| rest.get(..end))
}

/// Whether an answer asks for a DPoP nonce: RFC 9449 §8 (authorization server: 400 with
/// `use_dpop_nonce` in the body) or §9 (resource server: 401 with it in the challenge).
fn asks_for_nonce(response: &Response) -> bool {
    let in_body = || {
        OAuthError::from_response(response.status, &response.body)
            .is_some_and(|e| e.code == ErrorCode::UseDpopNonce)
    };
    let in_challenge = || {
        response
            .header("www-authenticate")
            .and_then(challenge_error)
            .is_some_and(|code| code == ErrorCode::UseDpopNonce.as_str())
    };
    match response.status {
        400 => in_body(),
        401 => in_challenge() || in_body(),
        _ => false,
    }
}

impl Transport {
    pub(crate) fn new(http: Arc<dyn HttpClient>, config: ClientConfig) -> Self {
        Self {
            http,
            config,
            nonces: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.config.clock.now()
    }

    /// The latest DPoP nonce of `url`'s server.
    pub(crate) fn dpop_nonce(&self, url: &Url) -> Option<String> {
        lock(&self.nonces).get(&origin_of(url)).cloned()
    }

    /// Remembers the `DPoP-Nonce` an answer from `url` carries, if any and well-formed.
    pub(crate) fn remember_nonce(&self, url: &Url, response: &Response) {
        let Some(nonce) = response.header("dpop-nonce").map(str::trim) else {
            return;
        };
        if !is_valid_nonce(nonce) {
            return;
        }
        let mut nonces = lock(&self.nonces);
        if nonces.len() >= MAX_REMEMBERED_NONCES && !nonces.contains_key(&origin_of(url)) {
            nonces.clear();
        }
        nonces.insert(origin_of(url), nonce.to_owned());
    }

    /// Sends `request` (to a URL the policy allows) and checks the answer's size.
    pub(crate) async fn send(
        &self,
        request: Request,
        what: &'static str,
        limit: usize,
    ) -> Result<Response, ClientError> {
        self.config.check_url(&request.url)?;
        let response = self.http.send(request).await?;
        if response.body.len() > limit {
            return Err(ClientError::TooLarge { what, limit });
        }
        Ok(response)
    }

    /// `GET`s a JSON document and parses it (200 and `application/json` required).
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        what: &'static str,
        limit: usize,
    ) -> Result<T, ClientError> {
        let response = self
            .send(Request::get(url).accept("application/json"), what, limit)
            .await?;
        if response.status != 200 {
            return Err(error_answer(what, &response));
        }
        parse_json(what, &response)
    }

    /// Sends `base` with a fresh DPoP proof (and a fresh attestation PoP, when given), and
    /// retries once when the server asks for a DPoP nonce (RFC 9449 §8.2, §9).
    pub(crate) async fn send_with_dpop(
        &self,
        base: Request,
        what: &'static str,
        dpop: &DpopUse<'_>,
        attestation: Option<&AttestationUse<'_>>,
    ) -> Result<Response, ClientError> {
        let url = self.config.check_url(&base.url)?;
        let mut retried = false;
        loop {
            let nonce = self.dpop_nonce(&url);
            let proof = dpop::create_proof(
                dpop.key.signer.as_ref(),
                &dpop.key.jwk,
                &dpop::DpopRequest {
                    method: base.method.as_str(),
                    url: &base.url,
                    access_token: dpop.access_token,
                    nonce: nonce.as_deref(),
                    iat: self.now(),
                    jti: None,
                },
            )
            .await
            .map_err(|e| ClientError::Signing(e.to_string()))?;
            let mut request = base.clone().header("DPoP", proof);
            if let Some(with) = attestation {
                request = self.attest_request(request, with).await?;
            }
            let response = self
                .send(request, what, self.config.max_response_bytes)
                .await?;
            self.remember_nonce(&url, &response);
            let fresh = self.dpop_nonce(&url);
            if !retried && asks_for_nonce(&response) && fresh.is_some() && fresh != nonce {
                retried = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// Adds the client attestation and a fresh PoP for the authorization server.
    pub(crate) async fn attest_request(
        &self,
        request: Request,
        with: &AttestationUse<'_>,
    ) -> Result<Request, ClientError> {
        let pop = client_attestation::create_pop(
            with.attestation.instance_key.as_ref(),
            with.client_id,
            with.audience,
            None,
            self.now(),
            None,
        )
        .await
        .map_err(|e| ClientError::Signing(e.to_string()))?;
        Ok(request
            .header(
                client_attestation::ATTESTATION_HEADER,
                with.attestation.attestation.as_str(),
            )
            .header(client_attestation::POP_HEADER, pop))
    }
}

/// Parses a JSON answer; its media type must be `application/json`.
pub(crate) fn parse_json<T: DeserializeOwned>(
    what: &'static str,
    response: &Response,
) -> Result<T, ClientError> {
    if !response.is("application/json") {
        return Err(ClientError::invalid_response(
            what,
            format!(
                "the media type is {:?}, not application/json",
                response.content_type().unwrap_or("none")
            ),
        ));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| ClientError::invalid_response(what, format!("not the expected JSON: {e}")))
}

/// The error an unsuccessful answer carries: its OAuth error body, or at a resource the error
/// of its `WWW-Authenticate` challenge (RFC 6750 §3.1), or a description of the status.
pub(crate) fn error_answer(what: &'static str, response: &Response) -> ClientError {
    if let Some(error) = OAuthError::from_response(response.status, &response.body) {
        return ClientError::Endpoint {
            endpoint: what,
            error,
        };
    }
    if let Some(code) = response
        .header("www-authenticate")
        .and_then(challenge_error)
    {
        let error = OAuthError::new(
            ErrorCode::parse(code),
            "from the WWW-Authenticate challenge",
        )
        .with_status(response.status);
        return ClientError::Endpoint {
            endpoint: what,
            error,
        };
    }
    ClientError::invalid_response(
        what,
        format!("status {} without an OAuth error body", response.status),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_syntax() {
        assert!(is_valid_nonce("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
        assert!(!is_valid_nonce(""));
        assert!(!is_valid_nonce("with space"));
        assert!(!is_valid_nonce("quote\""));
        assert!(!is_valid_nonce("back\\slash"));
        assert!(!is_valid_nonce(&"a".repeat(MAX_DPOP_NONCE_LEN + 1)));
    }

    #[test]
    fn challenges() {
        assert_eq!(
            challenge_error(r#"DPoP error="use_dpop_nonce", error_description="x""#),
            Some("use_dpop_nonce")
        );
        assert_eq!(challenge_error(r#"Bearer realm="x""#), None);
        assert_eq!(challenge_error(r#"DPoP error="unterminated"#), None);
        let ask = Response::new(401, "")
            .with_header("WWW-Authenticate", r#"DPoP error="use_dpop_nonce""#);
        assert!(asks_for_nonce(&ask));
        let body = Response::new(400, r#"{"error":"use_dpop_nonce"}"#);
        assert!(asks_for_nonce(&body));
        let other = Response::new(400, r#"{"error":"invalid_grant"}"#);
        assert!(!asks_for_nonce(&other));
        let wrong_status = Response::new(500, r#"{"error":"use_dpop_nonce"}"#);
        assert!(!asks_for_nonce(&wrong_status));
    }

    #[test]
    fn error_answers() {
        let body = Response::new(
            400,
            r#"{"error":"invalid_grant","error_description":"used"}"#,
        );
        let error = error_answer("token", &body);
        let oauth = error.oauth_error().unwrap();
        assert_eq!(oauth.code, ErrorCode::InvalidGrant);
        assert_eq!(oauth.description.as_deref(), Some("used"));
        let challenge =
            Response::new(401, "").with_header("www-authenticate", r#"DPoP error="invalid_token""#);
        assert_eq!(
            error_answer("credential", &challenge)
                .oauth_error()
                .unwrap()
                .code,
            ErrorCode::InvalidToken
        );
        assert!(matches!(
            error_answer("credential", &Response::new(502, "<html>")),
            ClientError::InvalidResponse { .. }
        ));
    }
}
