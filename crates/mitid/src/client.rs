//! An OpenID Connect client for a MitID broker: authorization code flow with PKCE (S256),
//! `state` and `nonce`, and ID token validation against the provider's JWKS (OpenID Connect
//! Core 1.0 §3.1.3.7).
//!
//! The flow, as the issuer runs it:
//!
//! 1. [`OidcClient::discover`] once at start-up (or [`OidcClient::from_metadata`]).
//! 2. [`OidcClient::authorization_request`] per login: redirect the browser to
//!    [`AuthorizationRequest::url`] and keep the [`PendingLogin`] (it is `Serialize`) in the
//!    user's session, keyed by [`PendingLogin::state`].
//! 3. On the callback, [`CallbackParams::from_query`] and [`OidcClient::complete`]: checks
//!    `state` (and `iss`, RFC 9207), exchanges the code with the PKCE verifier and validates the
//!    ID token. The result is a [`VerifiedLogin`]; [`VerifiedLogin::login`] maps its claims with
//!    [`crate::claims::map_claims`].
//!
//! Every HTTP call goes through the workspace's one HTTP client ([`eudi_http`]): a time limit,
//! a response size limit, no redirect followed, and only `https` to public addresses (plain
//! `http` and loopback or private addresses only with [`ClientConfig::allow_private_network`],
//! the dev/test switch for the embedded test provider).

use std::fmt;
use std::sync::Arc;
use std::sync::RwLock;
use std::time::Duration;

use aws_lc_rs::digest;
use eudi_http::HttpClient;
use eudi_http::HttpConfig;
use eudi_http::HttpError;
use eudi_http::Request;
use eudi_http::ReqwestClient;
use eudi_http::Response;
use eudi_http::UrlPolicy;
use eudi_oauth::OAuthError;
use eudi_oauth::form::Form;
use eudi_oauth::pkce;
use eudi_oauth::token;
use eudi_pid::MitIdLogin;
use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::AssuranceLevel;
use eudi_trust::Clock;
use eudi_trust::Jwk;
use eudi_trust::SystemClock;
use eudi_trust::VerifyingKey;
use eudi_trust::b64;
use eudi_trust::jws::CompactJws;
use eudi_trust::jws::JwsError;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Map;
use serde_json::Value;
use url::Url;

use crate::claims::MappingError;
use crate::claims::map_claims;
use crate::metadata::ProviderMetadata;
use crate::metadata::discovery_url;

/// Time limit for one HTTP exchange with the provider, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read from the provider.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Largest ID token accepted.
pub const MAX_ID_TOKEN_BYTES: usize = 64 * 1024;
/// Most keys read from a JWKS.
pub const MAX_JWKS_KEYS: usize = 64;
/// Clock skew allowed on `exp`, `iat` and `nbf`.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// How old (by `iat`) an ID token may be when it is validated.
pub const DEFAULT_MAX_ID_TOKEN_AGE: Duration = Duration::from_secs(600);
/// Least time between two JWKS downloads caused by an unknown `kid`.
pub const DEFAULT_JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);

/// The scopes asked for by default: `openid`, plus the Nets eID Broker's `mitid` (MitID identity
/// claims) and `ssn` (the CPR number in `dk.cpr`).
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "mitid", "ssn"];

/// A client secret. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for authenticating.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// How the client authenticates at the token endpoint (OpenID Connect Core 1.0 §9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// HTTP Basic with the form-encoded client id and secret (RFC 6749 §2.3.1). The default.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: `client_id` only, PKCE is its only proof.
    None,
}

impl ClientAuthMethod {
    /// The registered name (`client_secret_basic`, `client_secret_post`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// How a requested level of assurance is written in `acr_values`: brokers differ.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AcrStyle {
    /// The NSIS URIs `https://data.gov.dk/concept/core/nsis/loa/{Low,Substantial,High}`
    /// (NemLog-in, Signaturgruppen/Nets eID Broker, and the embedded test provider).
    #[default]
    Nsis,
    /// Idura (Criipto): `urn:grn:authn:dk:mitid:{low,substantial,high}`.
    Idura,
    /// Any other spelling, one value per level.
    Custom {
        /// Sent for Low.
        low: String,
        /// Sent for Substantial.
        substantial: String,
        /// Sent for High.
        high: String,
    },
    /// Never send `acr_values` (the broker is configured per client instead).
    Omit,
}

impl AcrStyle {
    /// The `acr_values` entry asking for `level`, if this style sends one.
    pub fn acr_value(&self, level: AssuranceLevel) -> Option<String> {
        match self {
            Self::Nsis => Some(level.nsis_uri().to_owned()),
            Self::Idura => Some(format!("urn:grn:authn:dk:mitid:{}", level.as_str())),
            Self::Custom {
                low,
                substantial,
                high,
            } => Some(
                match level {
                    AssuranceLevel::Low => low,
                    AssuranceLevel::Substantial => substantial,
                    AssuranceLevel::High => high,
                }
                .clone(),
            ),
            Self::Omit => None,
        }
    }
}

/// Everything the client needs to know about itself and its broker.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The broker's issuer identifier, exactly as its discovery document and ID tokens state it.
    pub issuer: String,
    /// This client's id at the broker.
    pub client_id: String,
    /// This client's secret (not needed with [`ClientAuthMethod::None`]).
    pub client_secret: Option<ClientSecret>,
    /// How to authenticate at the token endpoint.
    pub auth_method: ClientAuthMethod,
    /// Where the broker sends the browser back to; registered with the broker.
    pub redirect_uri: String,
    /// Scopes to ask for; `openid` is added when missing.
    pub scopes: Vec<String>,
    /// How to ask for a level of assurance.
    pub acr_style: AcrStyle,
    /// ID token signature algorithms accepted: RS256 (what MitID brokers use) and ES256.
    pub algorithms: AlgorithmPolicy,
    /// Clock skew allowed on time claims.
    pub clock_skew: Duration,
    /// How old (by `iat`) an ID token may be.
    pub max_id_token_age: Duration,
    /// Least time between two JWKS downloads caused by an unknown `kid`.
    pub jwks_min_refresh: Duration,
    /// Time limit of each HTTP exchange.
    pub timeout: Duration,
    /// Largest HTTP response body read.
    pub max_response_bytes: usize,
    /// Fetch the userinfo endpoint after the token exchange ([`VerifiedLogin::userinfo`]).
    pub fetch_userinfo: bool,
    /// DANGER (dev/test): allow plain `http` and loopback, private or link-local addresses (the
    /// embedded test provider on `http://127.0.0.1`, a test broker inside a private network).
    /// Never in production: tokens and the client secret would travel in clear.
    pub allow_private_network: bool,
}

impl ClientConfig {
    /// A configuration with the defaults: client_secret_basic, [`DEFAULT_SCOPES`], NSIS
    /// `acr_values`, RS256 + ES256, 60 s skew, 10 min ID token age, 10 s time limit, 1 MiB
    /// responses, no userinfo call, https to public addresses only.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: None,
            auth_method: ClientAuthMethod::default(),
            redirect_uri: redirect_uri.into(),
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            acr_style: AcrStyle::default(),
            algorithms: AlgorithmPolicy::new([Algorithm::Rs256, Algorithm::Es256]),
            clock_skew: DEFAULT_CLOCK_SKEW,
            max_id_token_age: DEFAULT_MAX_ID_TOKEN_AGE,
            jwks_min_refresh: DEFAULT_JWKS_MIN_REFRESH,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            fetch_userinfo: false,
            allow_private_network: false,
        }
    }

    /// Sets the secret and the authentication method.
    pub fn with_secret(mut self, secret: impl Into<String>, method: ClientAuthMethod) -> Self {
        self.client_secret = Some(ClientSecret::new(secret));
        self.auth_method = method;
        self
    }
}

/// Why a login through the broker failed.
///
/// `Config`, `UrlRefused` and `Random` are faults on this side; the others are faults of the
/// broker, the network or the browser's request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The client configuration cannot work (missing secret, bad redirect URI, ...).
    #[error("invalid OIDC client configuration: {0}")]
    Config(String),
    /// A URL (configured or from the discovery document) is not one the client talks to.
    #[error("refusing to use {url}: {reason}")]
    UrlRefused {
        /// The URL.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The network exchange failed or timed out.
    #[error("request to {url} failed: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The provider answered with an unexpected HTTP status.
    #[error("{url} answered with HTTP status {status}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The response body is larger than the configured limit.
    #[error("response from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The response is not what the protocol prescribes.
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The discovery document does not fit this client.
    #[error("the provider's metadata is not usable: {0}")]
    Discovery(String),
    /// The callback's `state` is missing or is not the one this login was started with.
    #[error("the authorization response does not belong to this login (state mismatch)")]
    StateMismatch,
    /// The callback's `iss` is not the provider's issuer (RFC 9207, mix-up attack).
    #[error("the authorization response comes from another issuer")]
    IssuerMismatch,
    /// The callback carries neither a code nor an error.
    #[error("the authorization response has no code")]
    MissingCode,
    /// The callback is malformed (for example a parameter given twice).
    #[error("malformed authorization response: {0}")]
    MalformedCallback(&'static str),
    /// The provider refused the login (`error` in the callback).
    #[error("the login was refused by the provider: {error}{}", describe(.description))]
    AuthorizationDenied {
        /// The OAuth error code.
        error: String,
        /// The provider's description, if any.
        description: Option<String>,
    },
    /// The token endpoint answered with an OAuth error.
    #[error("the token request was refused (HTTP {status}): {error}{}", describe(.description))]
    TokenRefused {
        /// The HTTP status.
        status: u16,
        /// The OAuth error code.
        error: String,
        /// The provider's description, if any.
        description: Option<String>,
    },
    /// The ID token failed validation.
    #[error("invalid ID token: {0}")]
    IdToken(#[from] IdTokenError),
    /// The provider has no userinfo endpoint.
    #[error("the provider has no userinfo endpoint")]
    NoUserinfoEndpoint,
    /// The userinfo response is about someone else than the ID token (OIDC Core §5.3.4).
    #[error("the userinfo response's `sub` differs from the ID token's")]
    UserinfoSubjectMismatch,
    /// The system random generator failed.
    #[error("the system random number generator failed")]
    Random,
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

impl From<token::RandomError> for OidcError {
    fn from(_: token::RandomError) -> Self {
        Self::Random
    }
}

impl From<HttpError> for OidcError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Refused { url, reason } => Self::UrlRefused { url, reason },
            HttpError::Network { url, reason } => Self::Http { url, reason },
            HttpError::Timeout { url } => Self::Http {
                url,
                reason: "timed out".into(),
            },
            HttpError::TooLarge { url, limit } => Self::TooLarge { url, limit },
            HttpError::Offline { url } => Self::Http {
                url,
                reason: "network access is disabled".into(),
            },
            HttpError::Config(reason) => {
                Self::Config(format!("cannot build the HTTP client: {reason}"))
            }
            // `HttpError` is non-exhaustive: a failure it learns to name later is still a failed
            // exchange.
            other => Self::Http {
                url: String::new(),
                reason: other.to_string(),
            },
        }
    }
}

/// Why an ID token was rejected (OpenID Connect Core 1.0 §3.1.3.7).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Larger than [`MAX_ID_TOKEN_BYTES`].
    #[error("the ID token is larger than {MAX_ID_TOKEN_BYTES} bytes")]
    TooLarge,
    /// Not a compact JWS, or its parts do not decode.
    #[error("malformed: {0}")]
    Malformed(JwsError),
    /// `typ` is present and not `JWT`.
    #[error("`typ` is {0:?}, not JWT")]
    WrongType(String),
    /// The algorithm is not supported or not allowed.
    #[error("{0}")]
    Algorithm(JwsError),
    /// No key of the provider's JWKS fits the token's `kid` and `alg`.
    #[error("no key in the provider's JWKS fits kid {kid:?} and alg {alg}")]
    UnknownKey {
        /// The token's `kid`.
        kid: Option<String>,
        /// The token's algorithm.
        alg: Algorithm,
    },
    /// The signature does not verify.
    #[error("the signature does not verify with the provider's key")]
    BadSignature,
    /// A required claim is missing or of the wrong type.
    #[error("claim `{0}` is missing or not of the right type")]
    MissingClaim(&'static str),
    /// `iss` is not the provider's issuer.
    #[error("`iss` is {found:?}, expected {expected:?}")]
    WrongIssuer {
        /// The token's `iss`.
        found: String,
        /// The provider's issuer.
        expected: String,
    },
    /// This client is not in `aud`.
    #[error("`aud` does not name this client")]
    WrongAudience,
    /// Several audiences without `azp` naming this client.
    #[error("`aud` has several audiences and `azp` does not name this client")]
    WrongAuthorizedParty,
    /// `exp` has passed.
    #[error("expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The time of validation.
        now: i64,
    },
    /// `iat` is in the future or too long ago.
    #[error("issued at {iat}, which is not within the accepted window (now {now})")]
    IssuedAt {
        /// The token's `iat`.
        iat: i64,
        /// The time of validation.
        now: i64,
    },
    /// `nbf` is in the future.
    #[error("not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: i64,
        /// The time of validation.
        now: i64,
    },
    /// `nonce` is missing or not the one this login sent.
    #[error("`nonce` does not match the login request")]
    NonceMismatch,
    /// `at_hash` does not match the access token.
    #[error("`at_hash` does not match the access token")]
    AccessTokenHash,
}

impl eudi_trust::HasErrorCode for IdTokenError {
    /// The broker's ID token is a token from a peer: its faults map onto the workspace's codes.
    fn code(&self) -> eudi_trust::ErrorCode {
        use eudi_trust::ErrorCode;
        match self {
            Self::TooLarge => ErrorCode::TooLarge,
            Self::Malformed(_) => ErrorCode::Malformed,
            Self::WrongType(_) => ErrorCode::WrongType,
            Self::Algorithm(_) => ErrorCode::UnsupportedAlgorithm,
            Self::UnknownKey { .. } | Self::WrongIssuer { .. } => ErrorCode::UntrustedIssuer,
            Self::BadSignature => ErrorCode::InvalidSignature,
            Self::Expired { .. } => ErrorCode::Expired,
            Self::NotYetValid { .. } => ErrorCode::NotYetValid,
            Self::MissingClaim(_)
            | Self::WrongAudience
            | Self::WrongAuthorizedParty
            | Self::IssuedAt { .. }
            | Self::NonceMismatch
            | Self::AccessTokenHash => ErrorCode::InvalidCredential,
        }
    }
}

/// Options of one authorization request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationOptions {
    /// The level of assurance to ask for (`acr_values`, per [`ClientConfig::acr_style`]).
    pub level: Option<AssuranceLevel>,
    /// `prompt` (e.g. `login` to force a fresh login).
    pub prompt: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// Further parameters (e.g. a broker's `idp_values`).
    pub extra: Vec<(String, String)>,
}

impl AuthorizationOptions {
    /// Options asking for `level`.
    pub fn level(level: AssuranceLevel) -> Self {
        Self {
            level: Some(level),
            ..Self::default()
        }
    }
}

/// Where to send the browser, and what to remember until it comes back.
#[derive(Debug)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// The authorization endpoint URL with every parameter.
    pub url: Url,
    /// Keep this in the user's session until the callback.
    pub pending: PendingLogin,
}

/// A login that was started and not yet completed: the secrets the callback is checked with.
/// `Debug` prints only the `state`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    state: String,
    nonce: String,
    code_verifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_level: Option<AssuranceLevel>,
    created_at: i64,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("state", &self.state)
            .field("requested_level", &self.requested_level)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl PendingLogin {
    /// The `state` sent; the callback carries it back, so sessions can be keyed by it.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The `nonce` the ID token must carry.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The level asked for, if any. The broker reports the level actually reached; whether it
    /// is enough is the caller's decision.
    pub fn requested_level(&self) -> Option<AssuranceLevel> {
        self.requested_level
    }

    /// When the login was started (Unix seconds).
    pub fn created_at(&self) -> i64 {
        self.created_at
    }
}

/// The parameters of the redirect back from the provider.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` sent.
    pub state: Option<String>,
    /// The issuer (RFC 9207).
    pub iss: Option<String>,
    /// An OAuth error code.
    pub error: Option<String>,
    /// The error's description.
    pub error_description: Option<String>,
}

impl CallbackParams {
    /// Reads the callback's query string (without the `?`). A parameter given twice is an error
    /// and one without a value counts as omitted (RFC 6749 §3.1); unknown parameters are ignored.
    pub fn from_query(query: &str) -> Result<Self, OidcError> {
        let form = Form::parse(query).map_err(|e| match e {
            eudi_oauth::FormError::Duplicate(_) => {
                OidcError::MalformedCallback("a parameter is given twice")
            }
            _ => OidcError::MalformedCallback("too many parameters"),
        })?;
        let take = |name: &str| form.get(name).map(str::to_owned);
        Ok(Self {
            code: take("code"),
            state: take("state"),
            iss: take("iss"),
            error: take("error"),
            error_description: take("error_description"),
        })
    }

    /// Reads the parameters of a callback URL.
    pub fn from_url(url: &Url) -> Result<Self, OidcError> {
        Self::from_query(url.query().unwrap_or_default())
    }
}

/// An access token. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for a bearer header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

/// The validated claims of an ID token.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// `sub`.
    pub subject: String,
    /// `iat`.
    pub issued_at: i64,
    /// `exp`.
    pub expires_at: i64,
    /// Every claim, the registered ones included.
    pub claims: Map<String, Value>,
}

/// A completed login: the ID token validated, the access token, and the userinfo claims if they
/// were fetched.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifiedLogin {
    /// The raw ID token.
    pub id_token: String,
    /// Its validated claims.
    pub id_token_claims: IdTokenClaims,
    /// The access token (for userinfo).
    pub access_token: AccessToken,
    /// Its lifetime in seconds, if stated.
    pub expires_in: Option<u64>,
    /// The granted scope, if stated.
    pub scope: Option<String>,
    /// The userinfo claims, if [`ClientConfig::fetch_userinfo`] is set.
    pub userinfo: Option<Map<String, Value>>,
}

impl VerifiedLogin {
    /// The ID token's claims, with those only the userinfo response has added. Where both have a
    /// claim the signed ID token wins.
    pub fn claims(&self) -> Map<String, Value> {
        let mut all = self.id_token_claims.claims.clone();
        if let Some(userinfo) = &self.userinfo {
            for (name, value) in userinfo {
                all.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
        all
    }

    /// The login mapped from the broker's claims ([`map_claims`]).
    pub fn login(&self) -> Result<MitIdLogin, MappingError> {
        map_claims(&self.claims())
    }
}

#[derive(Debug, Default)]
struct JwksCache {
    keys: Vec<CachedKey>,
    fetched_at: Option<i64>,
}

#[derive(Debug, Clone)]
struct CachedKey {
    kid: Option<String>,
    key: VerifyingKey,
}

/// An OpenID Connect client for one broker. Cheap to share behind an `Arc`; the JWKS cache is
/// internal.
#[derive(Debug)]
pub struct OidcClient {
    config: ClientConfig,
    metadata: ProviderMetadata,
    http: Arc<dyn HttpClient>,
    policy: UrlPolicy,
    clock: Arc<dyn Clock>,
    jwks: RwLock<JwksCache>,
}

impl OidcClient {
    /// Fetches `{issuer}/.well-known/openid-configuration` and builds the client.
    pub async fn discover(config: ClientConfig) -> Result<Self, OidcError> {
        let http = Self::http_client(&config)?;
        Self::discover_with(config, http).await
    }

    /// [`Self::discover`] over `http` (a service's shared client, or
    /// `eudi_http::mock::MockHttpClient` in tests); [`ClientConfig::allow_private_network`]
    /// still decides which URLs are used.
    pub async fn discover_with(
        config: ClientConfig,
        http: Arc<dyn HttpClient>,
    ) -> Result<Self, OidcError> {
        let policy = policy(&config);
        let url = discovery_url(&config.issuer);
        policy.check_url(&url)?;
        let response = http
            .send(Request::get(&url).accept("application/json"))
            .await?;
        let metadata: ProviderMetadata = parse_json(&url, &response)?;
        Self::build(config, metadata, http)
    }

    /// Builds the client from metadata already at hand (configured, or cached).
    pub fn from_metadata(
        config: ClientConfig,
        metadata: ProviderMetadata,
    ) -> Result<Self, OidcError> {
        let http = Self::http_client(&config)?;
        Self::build(config, metadata, http)
    }

    /// [`Self::from_metadata`] over `http`.
    pub fn from_metadata_with(
        config: ClientConfig,
        metadata: ProviderMetadata,
        http: Arc<dyn HttpClient>,
    ) -> Result<Self, OidcError> {
        Self::build(config, metadata, http)
    }

    /// The reqwest client with the configuration's limits; no redirect is followed, so a token
    /// request (with the client's credentials) never goes anywhere else.
    fn http_client(config: &ClientConfig) -> Result<Arc<dyn HttpClient>, OidcError> {
        let http = HttpConfig::default()
            .with_timeout(config.timeout)
            .with_max_body_bytes(config.max_response_bytes)
            .with_max_redirects(0)
            .with_policy(policy(config));
        Ok(Arc::new(ReqwestClient::new(http)?))
    }

    fn build(
        mut config: ClientConfig,
        metadata: ProviderMetadata,
        http: Arc<dyn HttpClient>,
    ) -> Result<Self, OidcError> {
        let policy = policy(&config);
        // OpenID Connect Discovery 1.0 §4.3: the issuer in the document is exactly the one asked.
        if metadata.issuer != config.issuer {
            return Err(OidcError::Discovery(format!(
                "the document's issuer {:?} is not the configured issuer {:?}",
                metadata.issuer, config.issuer
            )));
        }
        policy.check_url(&metadata.issuer)?;
        policy.check_url(&metadata.authorization_endpoint)?;
        policy.check_url(&metadata.token_endpoint)?;
        policy.check_url(&metadata.jwks_uri)?;
        if let Some(userinfo) = &metadata.userinfo_endpoint {
            policy.check_url(userinfo)?;
        }
        Url::parse(&config.redirect_uri)
            .map_err(|_| OidcError::Config("redirect_uri is not an absolute URL".into()))?;
        if config.client_id.is_empty() {
            return Err(OidcError::Config("client_id is empty".into()));
        }
        if let Some(methods) = &metadata.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(OidcError::Discovery(
                "the provider does not support PKCE with S256".into(),
            ));
        }
        if !metadata.response_types_supported.is_empty()
            && !metadata
                .response_types_supported
                .iter()
                .any(|r| r == "code")
        {
            return Err(OidcError::Discovery(
                "the provider does not support the authorization code flow".into(),
            ));
        }
        let method = config.auth_method.as_str();
        let supported = metadata
            .token_endpoint_auth_methods_supported
            .as_deref()
            .map_or_else(
                || method == "client_secret_basic",
                |methods| methods.iter().any(|m| m == method),
            );
        if !supported {
            return Err(OidcError::Discovery(format!(
                "the provider does not support client authentication by {method}"
            )));
        }
        if config.auth_method != ClientAuthMethod::None && config.client_secret.is_none() {
            return Err(OidcError::Config(format!("{method} needs a client secret")));
        }
        if !config.scopes.iter().any(|s| s == "openid") {
            config.scopes.insert(0, "openid".into());
        }
        Ok(Self {
            config,
            metadata,
            http,
            policy,
            clock: Arc::new(SystemClock),
            jwks: RwLock::new(JwksCache::default()),
        })
    }

    /// Uses `clock` for every time check (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The provider's metadata.
    pub fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Starts a login: a fresh `state`, `nonce` and PKCE verifier, and the authorization URL.
    pub fn authorization_request(
        &self,
        options: &AuthorizationOptions,
    ) -> Result<AuthorizationRequest, OidcError> {
        let pending = PendingLogin {
            state: token::random_token()?,
            nonce: token::random_token()?,
            code_verifier: token::random_token()?,
            requested_level: options.level,
            created_at: self.clock.now(),
        };
        let mut url = self
            .policy
            .check_url(&self.metadata.authorization_endpoint)?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", &self.config.redirect_uri)
                .append_pair("scope", &self.config.scopes.join(" "))
                .append_pair("state", &pending.state)
                .append_pair("nonce", &pending.nonce)
                .append_pair(
                    "code_challenge",
                    &pkce::s256_challenge(&pending.code_verifier),
                )
                .append_pair("code_challenge_method", "S256");
            if let Some(acr) = options
                .level
                .and_then(|level| self.config.acr_style.acr_value(level))
            {
                query.append_pair("acr_values", &acr);
            }
            if let Some(prompt) = &options.prompt {
                query.append_pair("prompt", prompt);
            }
            if let Some(hint) = &options.login_hint {
                query.append_pair("login_hint", hint);
            }
            for (name, value) in &options.extra {
                query.append_pair(name, value);
            }
        }
        Ok(AuthorizationRequest { url, pending })
    }

    /// Completes a login from its callback: checks `state` and `iss`, surfaces the provider's
    /// `error`, then exchanges the code ([`OidcClient::exchange_code`]).
    pub async fn complete(
        &self,
        pending: &PendingLogin,
        callback: &CallbackParams,
    ) -> Result<VerifiedLogin, OidcError> {
        match &callback.state {
            Some(state) if token::constant_time_eq(state, &pending.state) => {}
            _ => return Err(OidcError::StateMismatch),
        }
        match &callback.iss {
            Some(iss) if *iss != self.metadata.issuer => return Err(OidcError::IssuerMismatch),
            None if self.metadata.authorization_response_iss_parameter_supported => {
                return Err(OidcError::IssuerMismatch);
            }
            _ => {}
        }
        if let Some(error) = &callback.error {
            return Err(OidcError::AuthorizationDenied {
                error: error.clone(),
                description: callback.error_description.clone(),
            });
        }
        let code = callback.code.as_deref().ok_or(OidcError::MissingCode)?;
        self.exchange_code(pending, code).await
    }

    /// Exchanges an authorization code for tokens and validates the ID token (and fetches
    /// userinfo when configured).
    pub async fn exchange_code(
        &self,
        pending: &PendingLogin,
        code: &str,
    ) -> Result<VerifiedLogin, OidcError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.config.redirect_uri),
            ("code_verifier", &pending.code_verifier),
        ];
        let secret = self
            .config
            .client_secret
            .as_ref()
            .map(ClientSecret::expose)
            .unwrap_or_default();
        let authorization = match self.config.auth_method {
            ClientAuthMethod::ClientSecretBasic => {
                Some(basic_authorization(&self.config.client_id, secret))
            }
            ClientAuthMethod::ClientSecretPost => {
                form.push(("client_id", &self.config.client_id));
                form.push(("client_secret", secret));
                None
            }
            ClientAuthMethod::None => {
                form.push(("client_id", &self.config.client_id));
                None
            }
        };
        let url = &self.metadata.token_endpoint;
        let mut request = Request::post_form(url, form).accept("application/json");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = self.http.send(request).await?;
        if !response.is_success() {
            return Err(oauth_error(url, &response));
        }
        let tokens: TokenResponse = parse_json(url, &response)?;
        if !tokens.token_type.eq_ignore_ascii_case("bearer") {
            return Err(OidcError::InvalidResponse {
                url: url.clone(),
                reason: format!("token_type {:?} is not Bearer", tokens.token_type),
            });
        }
        let id_token = tokens.id_token.ok_or_else(|| OidcError::InvalidResponse {
            url: url.clone(),
            reason: "no id_token in the token response".into(),
        })?;
        let id_token_claims = self
            .validate_id_token(&id_token, &pending.nonce, Some(&tokens.access_token))
            .await?;
        let access_token = AccessToken::new(tokens.access_token);
        let userinfo = if self.config.fetch_userinfo && self.metadata.userinfo_endpoint.is_some() {
            Some(
                self.userinfo(&access_token, &id_token_claims.subject)
                    .await?,
            )
        } else {
            None
        };
        Ok(VerifiedLogin {
            id_token,
            id_token_claims,
            access_token,
            expires_in: tokens.expires_in,
            scope: tokens.scope,
            userinfo,
        })
    }

    /// Validates an ID token (OpenID Connect Core 1.0 §3.1.3.7): signature by a key of the
    /// provider's JWKS with an allowed algorithm, `iss`, `aud`/`azp`, `exp`, `iat`, `nbf`,
    /// `nonce`, and `at_hash` when both it and the access token are present.
    pub async fn validate_id_token(
        &self,
        token: &str,
        expected_nonce: &str,
        access_token: Option<&str>,
    ) -> Result<IdTokenClaims, OidcError> {
        if token.len() > MAX_ID_TOKEN_BYTES {
            return Err(IdTokenError::TooLarge.into());
        }
        let jws = CompactJws::parse(token).map_err(IdTokenError::Malformed)?;
        if let Some(typ) = &jws.header().typ
            && !typ.eq_ignore_ascii_case("JWT")
        {
            return Err(IdTokenError::WrongType(typ.clone()).into());
        }
        let alg = jws.header().algorithm().map_err(IdTokenError::Algorithm)?;
        if !self.config.algorithms.allows(alg) {
            return Err(IdTokenError::Algorithm(JwsError::AlgorithmNotAllowed(alg)).into());
        }
        let kid = jws.header().kid.clone();
        let candidates = self.keys_for(kid.as_deref(), alg).await?;
        let verified = candidates
            .iter()
            .any(|key| jws.verify(key, &self.config.algorithms).is_ok());
        if !verified {
            return Err(IdTokenError::BadSignature.into());
        }
        let claims = jws.payload_json().map_err(IdTokenError::Malformed)?;
        let checked = self.check_claims(claims, expected_nonce)?;
        if let (Some(at_hash), Some(access_token)) = (checked.claims.get("at_hash"), access_token) {
            let expected = half_hash(alg, access_token);
            if at_hash.as_str() != Some(expected.as_str()) {
                return Err(IdTokenError::AccessTokenHash.into());
            }
        }
        Ok(checked)
    }

    fn check_claims(
        &self,
        claims: Map<String, Value>,
        expected_nonce: &str,
    ) -> Result<IdTokenClaims, IdTokenError> {
        let now = self.clock.now();
        let skew = secs(self.config.clock_skew);
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or(IdTokenError::MissingClaim("iss"))?;
        if iss != self.metadata.issuer {
            return Err(IdTokenError::WrongIssuer {
                found: iss.to_owned(),
                expected: self.metadata.issuer.clone(),
            });
        }
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(aud)) => vec![aud.as_str()],
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
            _ => return Err(IdTokenError::MissingClaim("aud")),
        };
        if !audiences.contains(&self.config.client_id.as_str()) {
            return Err(IdTokenError::WrongAudience);
        }
        let azp = claims.get("azp").map(Value::as_str);
        match azp {
            Some(Some(azp)) if azp != self.config.client_id => {
                return Err(IdTokenError::WrongAuthorizedParty);
            }
            Some(None) => return Err(IdTokenError::MissingClaim("azp")),
            None if audiences.len() > 1 => return Err(IdTokenError::WrongAuthorizedParty),
            _ => {}
        }
        let exp = int_claim(&claims, "exp")?.ok_or(IdTokenError::MissingClaim("exp"))?;
        if now >= exp.saturating_add(skew) {
            return Err(IdTokenError::Expired { exp, now });
        }
        let iat = int_claim(&claims, "iat")?.ok_or(IdTokenError::MissingClaim("iat"))?;
        let max_age = secs(self.config.max_id_token_age);
        if iat > now.saturating_add(skew) || now.saturating_sub(iat) > max_age.saturating_add(skew)
        {
            return Err(IdTokenError::IssuedAt { iat, now });
        }
        if let Some(nbf) = int_claim(&claims, "nbf")?
            && nbf > now.saturating_add(skew)
        {
            return Err(IdTokenError::NotYetValid { nbf, now });
        }
        match claims.get("nonce").and_then(Value::as_str) {
            Some(nonce) if token::constant_time_eq(nonce, expected_nonce) => {}
            _ => return Err(IdTokenError::NonceMismatch),
        }
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(IdTokenError::MissingClaim("sub"))?
            .to_owned();
        Ok(IdTokenClaims {
            subject,
            issued_at: iat,
            expires_at: exp,
            claims,
        })
    }

    /// The provider's keys that may have signed a token with this `kid` and `alg`, from the
    /// cache, or after one (rate-limited) download of the JWKS when none fits.
    async fn keys_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<VerifyingKey>, OidcError> {
        let now = self.clock.now();
        let (cached, fetched_at) = {
            let cache = self.read_cache();
            (select_keys(&cache.keys, kid, alg), cache.fetched_at)
        };
        if !cached.is_empty() {
            return Ok(cached);
        }
        if let Some(at) = fetched_at
            && now.saturating_sub(at) < secs(self.config.jwks_min_refresh)
        {
            return Err(unknown_key(kid, alg));
        }
        let keys = self.fetch_jwks().await?;
        let selected = select_keys(&keys, kid, alg);
        {
            let mut cache = match self.jwks.write() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            cache.keys = keys;
            cache.fetched_at = Some(now);
        }
        if selected.is_empty() {
            return Err(unknown_key(kid, alg));
        }
        Ok(selected)
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, JwksCache> {
        match self.jwks.read() {
            Ok(guard) => guard,
            // The cache holds no invariant a panicking writer could break; keep using it.
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    async fn fetch_jwks(&self) -> Result<Vec<CachedKey>, OidcError> {
        let url = &self.metadata.jwks_uri;
        let response = self
            .http
            .send(Request::get(url).accept("application/jwk-set+json, application/json"))
            .await?;
        if !response.is_success() {
            return Err(OidcError::HttpStatus {
                url: url.clone(),
                status: response.status,
            });
        }
        let set: Value =
            serde_json::from_slice(&response.body).map_err(|e| OidcError::InvalidResponse {
                url: url.clone(),
                reason: format!("JWKS is not JSON: {e}"),
            })?;
        let entries = set.get("keys").and_then(Value::as_array).ok_or_else(|| {
            OidcError::InvalidResponse {
                url: url.clone(),
                reason: "JWKS has no `keys` array".into(),
            }
        })?;
        // Keys this client cannot use (encryption keys, other key types or algorithms) are
        // skipped, not errors: a JWKS may serve other consumers too.
        let keys = entries
            .iter()
            .take(MAX_JWKS_KEYS)
            .filter_map(|entry| serde_json::from_value::<Jwk>(entry.clone()).ok())
            .filter(|jwk| jwk.use_.as_deref().is_none_or(|u| u == "sig"))
            .filter_map(|jwk| {
                let key = jwk.to_verifying_key().ok()?;
                if jwk
                    .alg
                    .as_deref()
                    .is_some_and(|a| a != key.algorithm().jose_name())
                {
                    return None;
                }
                Some(CachedKey { kid: jwk.kid, key })
            })
            .collect();
        Ok(keys)
    }

    /// Fetches the userinfo claims with the access token and checks that they are about
    /// `expected_subject` (OpenID Connect Core 1.0 §5.3.4). Only JSON responses are supported.
    pub async fn userinfo(
        &self,
        access_token: &AccessToken,
        expected_subject: &str,
    ) -> Result<Map<String, Value>, OidcError> {
        let url = self
            .metadata
            .userinfo_endpoint
            .as_ref()
            .ok_or(OidcError::NoUserinfoEndpoint)?;
        let response = self
            .http
            .send(
                Request::get(url)
                    .accept("application/json")
                    .bearer(access_token.expose()),
            )
            .await?;
        if !response.is_success() {
            return Err(oauth_error(url, &response));
        }
        if response.is("application/jwt") {
            return Err(OidcError::InvalidResponse {
                url: url.clone(),
                reason: "signed userinfo responses are not supported".into(),
            });
        }
        let claims: Map<String, Value> = parse_json(url, &response)?;
        if claims.get("sub").and_then(Value::as_str) != Some(expected_subject) {
            return Err(OidcError::UserinfoSubjectMismatch);
        }
        Ok(claims)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

fn policy(config: &ClientConfig) -> UrlPolicy {
    if config.allow_private_network {
        UrlPolicy::allow_private_network()
    } else {
        UrlPolicy::public_https()
    }
}

fn oauth_error(url: &str, response: &Response) -> OidcError {
    match OAuthError::from_response(response.status, &response.body) {
        Some(error) => OidcError::TokenRefused {
            status: response.status,
            error: error.code.as_str().to_owned(),
            description: error.description,
        },
        None => OidcError::HttpStatus {
            url: url.to_owned(),
            status: response.status,
        },
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    url: &str,
    response: &Response,
) -> Result<T, OidcError> {
    if !response.is_success() {
        return Err(OidcError::HttpStatus {
            url: url.to_owned(),
            status: response.status,
        });
    }
    serde_json::from_slice(&response.body).map_err(|e| OidcError::InvalidResponse {
        url: url.to_owned(),
        reason: e.to_string(),
    })
}

/// `Authorization: Basic` with the form-encoded id and secret (RFC 6749 §2.3.1).
fn basic_authorization(client_id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        b64::encode_std(format!("{}:{}", encode(client_id), encode(secret)))
    )
}

fn select_keys(keys: &[CachedKey], kid: Option<&str>, alg: Algorithm) -> Vec<VerifyingKey> {
    keys.iter()
        .filter(|k| k.key.algorithm() == alg)
        .filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
        .map(|k| k.key.clone())
        .collect()
}

fn unknown_key(kid: Option<&str>, alg: Algorithm) -> OidcError {
    IdTokenError::UnknownKey {
        kid: kid.map(str::to_owned),
        alg,
    }
    .into()
}

fn int_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, IdTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            // Some providers write NumericDate with a fraction.
            .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(IdTokenError::MissingClaim(name)),
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The left half of the hash of `value` with the hash of the JWS algorithm, base64url: the form
/// of `at_hash` and `c_hash` (OpenID Connect Core 1.0 §3.1.3.6).
pub fn half_hash(alg: Algorithm, value: &str) -> String {
    let hash = match alg {
        Algorithm::Es384 => &digest::SHA384,
        Algorithm::Es512 => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let full = digest::digest(hash, value.as_bytes());
    let bytes = full.as_ref();
    b64::encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> ProviderMetadata {
        let mut m = ProviderMetadata::new(
            "https://broker.example/op",
            "https://broker.example/op/authorize",
            "https://broker.example/op/token",
            "https://broker.example/op/jwks",
        );
        m.code_challenge_methods_supported = Some(vec!["S256".into()]);
        m
    }

    fn config() -> ClientConfig {
        ClientConfig::new(
            "https://broker.example/op",
            "issuer client",
            "https://issuer.example/callback",
        )
        .with_secret("s3cr:et", ClientAuthMethod::ClientSecretBasic)
    }

    #[test]
    fn authorization_url_has_every_parameter() {
        let client = OidcClient::from_metadata(config(), metadata()).unwrap();
        let request = client
            .authorization_request(&AuthorizationOptions::level(AssuranceLevel::High))
            .unwrap();
        let params: std::collections::HashMap<String, String> =
            request.url.query_pairs().into_owned().collect();
        assert_eq!(params["response_type"], "code");
        assert_eq!(params["client_id"], "issuer client");
        assert_eq!(params["redirect_uri"], "https://issuer.example/callback");
        assert_eq!(params["scope"], "openid mitid ssn");
        assert_eq!(params["state"], request.pending.state());
        assert_eq!(params["nonce"], request.pending.nonce());
        assert_eq!(params["code_challenge_method"], "S256");
        assert_eq!(
            params["code_challenge"],
            pkce::s256_challenge(&request.pending.code_verifier)
        );
        assert_eq!(
            params["acr_values"],
            "https://data.gov.dk/concept/core/nsis/loa/High"
        );
        assert_eq!(
            request.pending.requested_level(),
            Some(AssuranceLevel::High)
        );
        let debug = format!("{:?}", request.pending);
        assert!(!debug.contains(&request.pending.code_verifier));
        assert!(!debug.contains(request.pending.nonce()));
    }

    #[test]
    fn loopback_and_private_endpoints_need_the_switch() {
        for endpoint in [
            "http://127.0.0.1:8080/mitid/token",
            "https://127.0.0.1/mitid/token",
            "https://localhost/token",
            "https://10.1.2.3/token",
            "https://[::1]/token",
        ] {
            let mut m = metadata();
            m.token_endpoint = endpoint.into();
            assert!(
                matches!(
                    OidcClient::from_metadata(config(), m.clone()),
                    Err(OidcError::UrlRefused { .. })
                ),
                "{endpoint} must be refused by default"
            );
            let mut dev = config();
            dev.allow_private_network = true;
            assert!(OidcClient::from_metadata(dev, m).is_ok(), "{endpoint}");
        }
    }

    #[tokio::test]
    async fn discovery_and_token_errors_through_the_http_double() {
        use eudi_http::mock::MockHttpClient;
        let discovery = serde_json::to_vec(&metadata()).unwrap();
        let mock = Arc::new(
            MockHttpClient::new()
                .with_body(
                    "https://broker.example/op/.well-known/openid-configuration",
                    "application/json",
                    discovery,
                )
                .with(
                    "https://broker.example/op/token",
                    Response::new(
                        400,
                        r#"{"error":"invalid_grant","error_description":"used"}"#,
                    )
                    .with_header("content-type", "application/json"),
                ),
        );
        let client = OidcClient::discover_with(config(), mock.clone())
            .await
            .unwrap();
        let request = client
            .authorization_request(&AuthorizationOptions::default())
            .unwrap();
        match client.exchange_code(&request.pending, "the code").await {
            Err(OidcError::TokenRefused {
                status: 400,
                error,
                description,
            }) => {
                assert_eq!(error, "invalid_grant");
                assert_eq!(description.as_deref(), Some("used"));
            }
            other => panic!("expected the token error, got {other:?}"),
        }
        let sent = mock.requests();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].header_value("accept"), Some("application/json"));
        let token = &sent[1];
        assert_eq!(token.method, eudi_http::Method::Post);
        assert_eq!(
            token.header_value("authorization"),
            Some(basic_authorization("issuer client", "s3cr:et").as_str())
        );
        let form = Form::parse_bytes(&token.body).unwrap();
        assert_eq!(form.get("code"), Some("the code"));
        assert_eq!(
            form.get("code_verifier"),
            Some(request.pending.code_verifier.as_str())
        );
    }

    #[tokio::test]
    async fn discovery_of_a_loopback_issuer_is_refused_before_any_request() {
        use eudi_http::mock::MockHttpClient;
        let mock = Arc::new(MockHttpClient::new());
        let config = ClientConfig::new("http://127.0.0.1:9/mitid", "c", "http://127.0.0.1:9/cb");
        assert!(matches!(
            OidcClient::discover_with(config, mock.clone()).await,
            Err(OidcError::UrlRefused { .. })
        ));
        assert!(mock.requests().is_empty());
    }

    #[test]
    fn id_token_errors_have_the_workspace_codes() {
        use eudi_trust::ErrorCode;
        use eudi_trust::HasErrorCode as _;
        let cases = [
            (IdTokenError::TooLarge, ErrorCode::TooLarge),
            (
                IdTokenError::WrongType("at+jwt".into()),
                ErrorCode::WrongType,
            ),
            (
                IdTokenError::UnknownKey {
                    kid: None,
                    alg: Algorithm::Es256,
                },
                ErrorCode::UntrustedIssuer,
            ),
            (
                IdTokenError::WrongIssuer {
                    found: "a".into(),
                    expected: "b".into(),
                },
                ErrorCode::UntrustedIssuer,
            ),
            (IdTokenError::BadSignature, ErrorCode::InvalidSignature),
            (IdTokenError::Expired { exp: 1, now: 2 }, ErrorCode::Expired),
            (
                IdTokenError::NotYetValid { nbf: 2, now: 1 },
                ErrorCode::NotYetValid,
            ),
            (IdTokenError::NonceMismatch, ErrorCode::InvalidCredential),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
        }
    }

    #[test]
    fn acr_styles() {
        assert_eq!(
            AcrStyle::Idura.acr_value(AssuranceLevel::Substantial),
            Some("urn:grn:authn:dk:mitid:substantial".into())
        );
        assert_eq!(AcrStyle::Omit.acr_value(AssuranceLevel::Low), None);
        let custom = AcrStyle::Custom {
            low: "l".into(),
            substantial: "s".into(),
            high: "h".into(),
        };
        assert_eq!(custom.acr_value(AssuranceLevel::High), Some("h".into()));
    }

    #[test]
    fn metadata_is_checked() {
        let mut m = metadata();
        m.issuer = "https://other.example/op".into();
        assert!(matches!(
            OidcClient::from_metadata(config(), m),
            Err(OidcError::Discovery(_))
        ));
        let mut m = metadata();
        m.code_challenge_methods_supported = Some(vec!["plain".into()]);
        assert!(OidcClient::from_metadata(config(), m).is_err());
        let mut m = metadata();
        m.token_endpoint = "http://broker.example/op/token".into();
        assert!(matches!(
            OidcClient::from_metadata(config(), m),
            Err(OidcError::UrlRefused { .. })
        ));
        let mut m = metadata();
        m.token_endpoint_auth_methods_supported = Some(vec!["client_secret_post".into()]);
        assert!(OidcClient::from_metadata(config(), m).is_err());
        let mut c = config();
        c.client_secret = None;
        assert!(matches!(
            OidcClient::from_metadata(c, metadata()),
            Err(OidcError::Config(_))
        ));
        let mut c = config();
        c.scopes = vec!["mitid".into()];
        let client = OidcClient::from_metadata(c, metadata()).unwrap();
        assert_eq!(client.config().scopes, ["openid", "mitid"]);
    }

    #[test]
    fn basic_authorization_form_encodes_first() {
        // RFC 6749 §2.3.1: id and secret are form-encoded, then joined with ':'.
        assert_eq!(
            basic_authorization("issuer client", "s3cr:et"),
            format!("Basic {}", b64::encode_std("issuer+client:s3cr%3Aet"))
        );
    }

    #[test]
    fn callback_params() {
        let p = CallbackParams::from_query("code=c&state=s&iss=https%3A%2F%2Fx&other=1").unwrap();
        assert_eq!(p.code.as_deref(), Some("c"));
        assert_eq!(p.iss.as_deref(), Some("https://x"));
        assert!(CallbackParams::from_query("code=a&code=b").is_err());
        let p = CallbackParams::from_query("error=access_denied&state=s").unwrap();
        assert_eq!(p.error.as_deref(), Some("access_denied"));
    }

    #[test]
    fn at_hash_example() {
        // OpenID Connect Core 1.0 Appendix A.3 (RS256).
        assert_eq!(
            half_hash(
                Algorithm::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn secrets_are_not_debug_printed() {
        let c = config();
        assert!(!format!("{c:?}").contains("s3cr"));
        assert_eq!(format!("{:?}", AccessToken::new("tok")), "AccessToken(***)");
    }
}
