//! The embedded MitID test identity provider: a small but real OpenID provider that logs in
//! test identities from a file and issues tokens with the Nets eID Broker's claim names, so the
//! whole system runs offline.
//!
//! [`app`] returns the axum [`Router`]; its routes are relative, so the issuer mounts it under
//! any path prefix (`Router::nest("/mitid", app(state))`) and sets [`ProviderConfig::issuer`] to
//! the public URL of that prefix.
//!
//! | route | what |
//! |---|---|
//! | `GET /.well-known/openid-configuration` | discovery (OpenID Connect Discovery 1.0) |
//! | `GET /jwks` | the signing keys (current and the one before a rotation) |
//! | `GET`/`POST /authorize` | validates the request, answers the login page (plain HTML form, no JavaScript) |
//! | `POST /login?request=…` | the form's action: `username=<user id>` logs that identity in and redirects (303) to `redirect_uri` with `code`, `state` and `iss` |
//! | `POST /token` | `authorization_code` with PKCE S256, client authentication (`client_secret_basic`, `client_secret_post`, or `none` for public clients), single-use codes |
//! | `GET`/`POST /userinfo` | the broker claims, for a bearer access token |
//!
//! Every error is OAuth JSON `{"error","error_description"}` with a 4xx status (and
//! `WWW-Authenticate` where RFC 6749/6750 ask for it); a malformed authorization request is
//! answered with 400 and never redirected. An unknown user ID shows the form again with a
//! message (200, or 400 JSON `access_denied` to a client that accepts only JSON).
//!
//! The ID token and the userinfo response carry, as strings: `identity_type`, `idp`,
//! `idp_identity_id`, `loa`, `ial`, `aal` (NSIS URIs `https://data.gov.dk/concept/core/nsis/…`);
//! with scope `mitid`: `mitid.uuid`, `mitid.age`, `mitid.date_of_birth`, `mitid.identity_name`,
//! `mitid.has_cpr`, `mitid.transaction_id`; with scope `ssn`: `dk.cpr` when the identity has
//! one; with scope `nemlogin`, for MitID Erhverv identities: `nemlogin.persistent_professional_id`,
//! `nemlogin.cvr`, `nemlogin.org_name`, `nemlogin.name`, `nemlogin.date_of_birth`. The level
//! asked for in `acr_values` is not enforced: the tokens state the identity's own level, and
//! refusing a level that is too low is the relying party's job.
//!
//! State (pending logins, codes, access tokens) goes through [`store::ProviderStore`]; the
//! default is [`store::InMemoryStore`] until the issuer plugs in its store crate. Every
//! `/authorize` stores a pending login before anyone logs in, so the store bounds them: expired
//! ones are evicted, and each client may hold at most
//! [`store::MAX_PENDING_LOGINS_PER_CLIENT`] of the [`store::MAX_RECORDS`], so a flood of
//! `/authorize` with one `client_id` is answered 503 `temporarily_unavailable` without locking
//! out the other clients (issue 8 §1). All users of one relying party share its `client_id`:
//! a rate limit per source address in front of the issuer is what keeps them apart.
//!
//! This crate is the provider only; the broker client it is tested against (`eudi-mitid`) pulls
//! in no web server.
//!
//! # A login against the embedded test provider
//!
//! ```no_run
//! use eudi_mitid::client::{AuthorizationOptions, CallbackParams, ClientAuthMethod, ClientConfig, OidcClient};
//! use eudi_mitid_test_provider::{self as provider, ProviderConfig, ProviderState, RegisteredClient};
//! use eudi_trust::AssuranceLevel;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The issuer serves the test provider under /mitid ...
//! let issuer = "http://127.0.0.1:8080/mitid";
//! let callback = "http://127.0.0.1:8080/callback";
//! let config = ProviderConfig::new(
//!     issuer,
//!     vec![RegisteredClient::confidential("pid-issuer", "secret", [callback])],
//! );
//! let state = ProviderState::new(config, eudi_pid::default_test_identities())?;
//! let router = axum::Router::new().nest("/mitid", provider::app(state));
//! # let _ = router;
//!
//! // ... and talks to it as to any broker (on loopback http: the dev/test switch).
//! let mut client_config = ClientConfig::new(issuer, "pid-issuer", callback)
//!     .with_secret("secret", ClientAuthMethod::ClientSecretBasic);
//! client_config.allow_private_network = true;
//! let client = OidcClient::discover(client_config).await?;
//! let request = client.authorization_request(&AuthorizationOptions::level(AssuranceLevel::Substantial))?;
//! // Redirect the browser to request.url; keep request.pending in the session. On the callback:
//! # let callback_query = "";
//! let params = CallbackParams::from_query(callback_query)?;
//! let verified = client.complete(&request.pending, &params).await?;
//! let _login = verified.login()?; // eudi_pid::MitIdLogin
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod store;

mod page;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::RwLock;
use std::time::Duration;

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rand::SystemRandom;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::RawQuery;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::Html;
use axum::response::IntoResponse;
use axum::response::Redirect;
use axum::response::Response;
use axum::routing::get;
use axum::routing::post;
use eudi_mitid::ProviderMetadata;
use eudi_mitid::claims::parse_level;
use eudi_mitid::client::ClientSecret;
use eudi_mitid::client::half_hash;
use eudi_oauth::ErrorCode;
use eudi_oauth::OAuthError;
use eudi_oauth::form;
use eudi_oauth::form::Form;
use eudi_oauth::pkce;
use eudi_oauth::token;
use eudi_pid::IdentityType;
use eudi_pid::TestIdentity;
use eudi_trust::Algorithm;
use eudi_trust::AssuranceLevel;
use eudi_trust::Clock;
use eudi_trust::Jwk;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::SystemClock;
use eudi_trust::b64;
use eudi_trust::jws::Header;
use eudi_trust::jws::sign_compact;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;
use store::AccessGrant;
use store::CodeGrant;
use store::InMemoryStore;
use store::LoginRequest;
use store::ProviderStore;
use store::StoreError;
use url::Url;

/// How long an authorization code can be redeemed.
pub const DEFAULT_CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long an access token is valid.
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// How long an ID token is valid.
pub const DEFAULT_ID_TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// How long the login page of one authorization request can be used.
pub const DEFAULT_LOGIN_LIFETIME: Duration = Duration::from_secs(900);
/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest `state`, `nonce` or `login_hint` accepted.
pub const MAX_PARAMETER_LENGTH: usize = 1024;

/// A client allowed to use the test provider.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegisteredClient {
    /// Its `client_id`.
    pub client_id: String,
    /// Its secret (`client_secret_basic` or `client_secret_post`); `None` for a public client,
    /// which authenticates with PKCE alone.
    pub client_secret: Option<ClientSecret>,
    /// The redirect URIs it may use, compared exactly.
    pub redirect_uris: Vec<String>,
}

impl RegisteredClient {
    /// A confidential client.
    pub fn confidential(
        client_id: impl Into<String>,
        secret: impl Into<String>,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(ClientSecret::new(secret)),
            redirect_uris: redirect_uris.into_iter().map(Into::into).collect(),
        }
    }

    /// A public client (no secret).
    pub fn public(
        client_id: impl Into<String>,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            redirect_uris: redirect_uris.into_iter().map(Into::into).collect(),
        }
    }
}

/// The test provider's configuration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProviderConfig {
    /// The issuer identifier: the public URL the routes are served under (no trailing `/`),
    /// e.g. `http://127.0.0.1:8080/mitid`.
    pub issuer: String,
    /// The clients allowed.
    pub clients: Vec<RegisteredClient>,
    /// Authorization code lifetime.
    pub code_lifetime: Duration,
    /// Access token lifetime.
    pub access_token_lifetime: Duration,
    /// ID token lifetime.
    pub id_token_lifetime: Duration,
    /// How long one authorization request's login page can be used.
    pub login_lifetime: Duration,
}

impl ProviderConfig {
    /// A configuration with the default lifetimes.
    pub fn new(issuer: impl Into<String>, clients: Vec<RegisteredClient>) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            clients,
            code_lifetime: DEFAULT_CODE_LIFETIME,
            access_token_lifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
            id_token_lifetime: DEFAULT_ID_TOKEN_LIFETIME,
            login_lifetime: DEFAULT_LOGIN_LIFETIME,
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// The test provider could not be set up (a fault of its configuration).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The configuration is not usable.
    #[error("invalid test provider configuration: {0}")]
    Config(String),
    /// The signing key could not be made or used.
    #[error("test provider signing key: {0}")]
    Key(#[from] eudi_trust::KeyError),
}

#[derive(Debug)]
struct KeyRing {
    current: Arc<dyn Signer>,
    current_kid: String,
    /// Public keys still published after a rotation: the one before the current.
    retired: Vec<Jwk>,
}

fn kid_of(signer: &dyn Signer) -> String {
    signer.verifying_key().to_jwk().thumbprint()
}

fn published_jwk(signer: &dyn Signer, kid: &str) -> Jwk {
    let mut jwk = signer.verifying_key().to_jwk();
    jwk.kid = Some(kid.to_owned());
    jwk.alg = Some(signer.algorithm().jose_name().to_owned());
    jwk.use_ = Some("sig".to_owned());
    jwk
}

struct Inner {
    config: ProviderConfig,
    identities: Vec<TestIdentity>,
    by_username: HashMap<String, usize>,
    keys: RwLock<KeyRing>,
    store: Arc<dyn ProviderStore>,
    clock: Arc<dyn Clock>,
}

/// The test provider's shared state: configuration, test identities, signing key, store and
/// clock. Cheap to clone.
#[derive(Clone)]
pub struct ProviderState {
    inner: Arc<Inner>,
}

impl fmt::Debug for ProviderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderState")
            .field("issuer", &self.inner.config.issuer)
            .field("identities", &self.inner.identities.len())
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ProviderState`]: by default a fresh ES256 key, an [`InMemoryStore`] and the
/// system clock.
#[derive(Debug)]
pub struct ProviderBuilder {
    config: ProviderConfig,
    identities: Vec<TestIdentity>,
    signer: Option<Arc<dyn Signer>>,
    store: Option<Arc<dyn ProviderStore>>,
    clock: Option<Arc<dyn Clock>>,
}

impl ProviderBuilder {
    /// Signs ID tokens with `signer` (a key loaded from the data directory, say) instead of a
    /// key generated at start.
    pub fn signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Keeps pending logins, codes and tokens in `store`.
    pub fn store(mut self, store: Arc<dyn ProviderStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Tells time by `clock`.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Checks the configuration and builds the state.
    pub fn build(self) -> Result<ProviderState, ProviderError> {
        let config = self.config;
        let issuer = Url::parse(&config.issuer)
            .map_err(|_| ProviderError::Config("issuer is not an absolute URL".into()))?;
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
        {
            return Err(ProviderError::Config(
                "issuer must be an http(s) URL without query or fragment".into(),
            ));
        }
        for client in &config.clients {
            if client.client_id.is_empty() {
                return Err(ProviderError::Config("a client_id is empty".into()));
            }
            for uri in &client.redirect_uris {
                let parsed = Url::parse(uri).map_err(|_| {
                    ProviderError::Config(format!(
                        "redirect URI {uri:?} of client {:?} is not an absolute URL",
                        client.client_id
                    ))
                })?;
                if parsed.fragment().is_some() {
                    return Err(ProviderError::Config(format!(
                        "redirect URI {uri:?} has a fragment"
                    )));
                }
            }
        }
        let mut by_username = HashMap::new();
        for (index, identity) in self.identities.iter().enumerate() {
            if by_username
                .insert(identity.username.to_lowercase(), index)
                .is_some()
            {
                return Err(ProviderError::Config(format!(
                    "test identity {:?} appears twice",
                    identity.username
                )));
            }
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let signer = match self.signer {
            Some(signer) => signer,
            None => Arc::new(SoftwareKey::generate(Algorithm::Es256)?),
        };
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(InMemoryStore::with_clock(clock.clone())));
        let current_kid = kid_of(signer.as_ref());
        Ok(ProviderState {
            inner: Arc::new(Inner {
                config,
                identities: self.identities,
                by_username,
                keys: RwLock::new(KeyRing {
                    current: signer,
                    current_kid,
                    retired: Vec::new(),
                }),
                store,
                clock,
            }),
        })
    }
}

impl ProviderState {
    /// A builder for `config` and the test identities (e.g.
    /// [`eudi_pid::default_test_identities`], or
    /// `eudi_pid::test_identities::load_test_identities(path)`).
    pub fn builder(config: ProviderConfig, identities: Vec<TestIdentity>) -> ProviderBuilder {
        ProviderBuilder {
            config,
            identities,
            signer: None,
            store: None,
            clock: None,
        }
    }

    /// A provider with a fresh ES256 key, an in-memory store and the system clock.
    pub fn new(
        config: ProviderConfig,
        identities: Vec<TestIdentity>,
    ) -> Result<Self, ProviderError> {
        Self::builder(config, identities).build()
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.inner.config.issuer
    }

    /// The test identities.
    pub fn identities(&self) -> &[TestIdentity] {
        &self.inner.identities
    }

    /// The published keys (as served at `/jwks`).
    pub fn jwks(&self) -> Value {
        let keys = self.key_ring();
        let mut published = vec![published_jwk(keys.current.as_ref(), &keys.current_kid)];
        published.extend(keys.retired.iter().cloned());
        json!({ "keys": published })
    }

    /// Signs with `signer` from now on; the previous key stays published (until the next
    /// rotation) so tokens it signed still verify.
    pub fn rotate_signing_key(&self, signer: Arc<dyn Signer>) {
        let kid = kid_of(signer.as_ref());
        let mut keys = match self.inner.keys.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let old = published_jwk(keys.current.as_ref(), &keys.current_kid);
        keys.retired = vec![old];
        keys.current = signer;
        keys.current_kid = kid;
    }

    /// The provider metadata (as served at `/.well-known/openid-configuration`).
    pub fn metadata(&self) -> ProviderMetadata {
        let c = &self.inner.config;
        let alg = self.key_ring().current.algorithm().jose_name().to_owned();
        let mut m = ProviderMetadata::new(
            c.issuer.clone(),
            c.endpoint("/authorize"),
            c.endpoint("/token"),
            c.endpoint("/jwks"),
        );
        m.userinfo_endpoint = Some(c.endpoint("/userinfo"));
        m.scopes_supported = ["openid", "mitid", "ssn", "nemlogin"]
            .map(String::from)
            .to_vec();
        m.grant_types_supported = vec!["authorization_code".into()];
        m.id_token_signing_alg_values_supported = vec![alg];
        m.token_endpoint_auth_methods_supported = Some(
            ["client_secret_basic", "client_secret_post", "none"]
                .map(String::from)
                .to_vec(),
        );
        m.code_challenge_methods_supported = Some(vec!["S256".into()]);
        m.acr_values_supported = Some(
            [
                AssuranceLevel::Low,
                AssuranceLevel::Substantial,
                AssuranceLevel::High,
            ]
            .map(|l| l.nsis_uri().to_owned())
            .to_vec(),
        );
        m.claims_supported = Some(
            [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "idp",
                "idp_identity_id",
                "identity_type",
                "loa",
                "ial",
                "aal",
                "mitid.uuid",
                "mitid.age",
                "mitid.date_of_birth",
                "mitid.identity_name",
                "mitid.has_cpr",
                "mitid.transaction_id",
                "dk.cpr",
                "nemlogin.persistent_professional_id",
                "nemlogin.cvr",
                "nemlogin.org_name",
                "nemlogin.name",
                "nemlogin.date_of_birth",
            ]
            .map(String::from)
            .to_vec(),
        );
        m.authorization_response_iss_parameter_supported = true;
        m
    }

    fn key_ring(&self) -> std::sync::RwLockReadGuard<'_, KeyRing> {
        match self.inner.keys.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn identity(&self, username: &str) -> Option<&TestIdentity> {
        self.inner
            .by_username
            .get(&username.trim().to_lowercase())
            .and_then(|&i| self.inner.identities.get(i))
    }

    fn client(&self, client_id: &str) -> Option<&RegisteredClient> {
        self.inner
            .config
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
    }

    fn now(&self) -> i64 {
        self.inner.clock.now()
    }
}

/// The test provider's routes, relative to its issuer URL.
pub fn app(state: ProviderState) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize).post(authorize_post))
        .route("/login", post(login))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo).post(userinfo))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// An OAuth error with the status this provider answers it with.
fn oauth(status: StatusCode, code: ErrorCode, description: impl Into<String>) -> OAuthError {
    OAuthError::new(code, description).with_status(status.as_u16())
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Full | StoreError::ClientLimit { .. } => oauth(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "too many logins in progress, try again later",
            ),
            // Details stay on the server side.
            StoreError::Backend(_) => OAuthError::server_error(),
        }
    }
}

/// The JSON answer of an OAuth error, never cached, with its `WWW-Authenticate` challenge.
fn error_response(error: OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, no_store(), Json(error.to_json())).into_response();
    if let Some(challenge) = error
        .challenge()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

async fn not_found() -> Response {
    error_response(oauth(
        StatusCode::NOT_FOUND,
        ErrorCode::Other("not_found".into()),
        "no such endpoint",
    ))
}

async fn method_not_allowed() -> Response {
    error_response(
        OAuthError::invalid_request("method not allowed on this endpoint")
            .with_status(StatusCode::METHOD_NOT_ALLOWED.as_u16()),
    )
}

async fn discovery(State(state): State<ProviderState>) -> Response {
    Json(state.metadata()).into_response()
}

async fn jwks(State(state): State<ProviderState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jwk-set+json"),
        )],
        state.jwks().to_string(),
    )
        .into_response()
}

/// Form-encoded parameters; one given twice is an error, one without a value counts as
/// omitted (RFC 6749 §3.1, §3.2).
fn parse_params(input: &str) -> Result<Form, OAuthError> {
    Ok(Form::parse(input)?)
}

fn form_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Form, OAuthError> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let is_form = content_type
            .to_str()
            .is_ok_and(|ct| form::is_media_type(ct, form::CONTENT_TYPE));
        if !is_form {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
    }
    let body = body
        .map_err(|e| OAuthError::invalid_request(e.body_text()).with_status(e.status().as_u16()))?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
    parse_params(text)
}

fn required<'a>(params: &'a Form, name: &'static str) -> Result<&'a str, OAuthError> {
    Ok(params.required(name)?)
}

fn bounded<'a>(params: &'a Form, name: &'static str) -> Result<Option<&'a str>, OAuthError> {
    match params.get(name) {
        Some(v) if v.len() > MAX_PARAMETER_LENGTH => Err(OAuthError::invalid_request(format!(
            "parameter `{name}` is longer than {MAX_PARAMETER_LENGTH} characters"
        ))),
        v => Ok(v),
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn html_page(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        Html(body),
    )
        .into_response()
}

fn login_action(state: &ProviderState, request_id: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("request", request_id)
        .finish();
    format!("{}?{query}", state.inner.config.endpoint("/login"))
}

/// `GET /authorize`: validates the authorization request and answers the login page.
async fn authorize(State(state): State<ProviderState>, RawQuery(query): RawQuery) -> Response {
    let result = match parse_params(query.as_deref().unwrap_or_default()) {
        Ok(params) => authorize_inner(&state, &params).await,
        Err(error) => Err(error),
    };
    result.unwrap_or_else(error_response)
}

/// `POST /authorize`: the same request as a form (OpenID Connect Core 1.0 §3.1.2.1).
async fn authorize_post(
    State(state): State<ProviderState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = match form_body(&headers, body) {
        Ok(params) => authorize_inner(&state, &params).await,
        Err(error) => Err(error),
    };
    result.unwrap_or_else(error_response)
}

async fn authorize_inner(state: &ProviderState, params: &Form) -> Result<Response, OAuthError> {
    // Until client_id and redirect_uri are known good, errors are never redirected.
    let client_id = required(params, "client_id")?;
    let client = state
        .client(client_id)
        .ok_or_else(|| OAuthError::invalid_request("unknown client_id"))?;
    let redirect_uri = required(params, "redirect_uri")?;
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(OAuthError::invalid_request(
            "redirect_uri is not registered for this client",
        ));
    }
    if params.contains("request") || params.contains("request_uri") {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    match required(params, "response_type")? {
        "code" => {}
        _ => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    let scopes: Vec<String> = required(params, "scope")?
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidScope,
            "scope must include openid",
        ));
    }
    let code_challenge = required(params, "code_challenge")?;
    if params.get("code_challenge_method") != Some("S256") {
        return Err(OAuthError::invalid_request(
            "code_challenge_method must be S256 (PKCE is required)",
        ));
    }
    if !pkce::is_valid_s256_challenge(code_challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge is not a base64url SHA-256 value",
        ));
    }
    let state_param = bounded(params, "state")?;
    let nonce = bounded(params, "nonce")?;
    let login_hint = bounded(params, "login_hint")?;
    let requested_level = params
        .get("acr_values")
        .and_then(|acr| acr.split(' ').find_map(parse_level));
    if params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|v| v == "none"))
    {
        // No session here, so no login without the form (OIDC Core §3.1.2.6).
        let mut target = Url::parse(redirect_uri)
            .map_err(|_| OAuthError::invalid_request("redirect_uri is not a URL"))?;
        {
            let mut q = target.query_pairs_mut();
            q.append_pair("error", "login_required");
            if let Some(s) = state_param {
                q.append_pair("state", s);
            }
            q.append_pair("iss", state.issuer());
        }
        return Ok(Redirect::to(target.as_str()).into_response());
    }

    let request_id = token::random_token()?;
    let request = LoginRequest::new(
        client.client_id.clone(),
        redirect_uri.to_owned(),
        scopes,
        state_param.map(str::to_owned),
        nonce.map(str::to_owned),
        code_challenge.to_owned(),
        requested_level,
        state
            .now()
            .saturating_add(secs(state.inner.config.login_lifetime)),
    );
    state
        .inner
        .store
        .put_login_request(&token::secret_key(&request_id), request)
        .await?;
    let page = page::login_page(
        &login_action(state, &request_id),
        state.identities(),
        None,
        login_hint,
    );
    Ok(html_page(StatusCode::OK, page))
}

fn wants_json_only(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("text/html"))
}

/// `POST /login?request=…`: the login form's action.
async fn login(
    State(state): State<ProviderState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match login_inner(&state, query.as_deref().unwrap_or_default(), &headers, body).await {
        Ok(response) => response,
        Err(error) => error_response(error),
    }
}

async fn login_inner(
    state: &ProviderState,
    query: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let query = parse_params(query)?;
    let request_id = required(&query, "request")?;
    let form = form_body(headers, body)?;
    let key = token::secret_key(request_id);
    let now = state.now();
    let store = &state.inner.store;
    if store.login_request(&key, now).await?.is_none() {
        return Err(OAuthError::invalid_request(
            "the login request is unknown or has expired; start the login again",
        ));
    }
    let username = form.get("username").map(|u| u.trim()).unwrap_or_default();
    let Some(identity) = state.identity(username) else {
        let message = if username.is_empty() {
            "Enter the user ID of a test identity.".to_owned()
        } else {
            format!("There is no test identity with the user ID \"{username}\".")
        };
        if wants_json_only(headers) {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                ErrorCode::AccessDenied,
                if username.is_empty() {
                    "username is missing"
                } else {
                    "unknown test identity"
                },
            ));
        }
        let page = page::login_page(
            &login_action(state, request_id),
            state.identities(),
            Some(&message),
            Some(username),
        );
        return Ok(html_page(StatusCode::OK, page));
    };
    let request = store
        .take_login_request(&key, now)
        .await?
        .ok_or_else(|| OAuthError::invalid_request("the login request was already used"))?;
    let code = token::random_token()?;
    let grant = CodeGrant {
        client_id: request.client_id,
        redirect_uri: request.redirect_uri.clone(),
        username: identity.username.clone(),
        scopes: request.scopes,
        nonce: request.nonce,
        code_challenge: request.code_challenge,
        auth_time: now,
        expires_at: now.saturating_add(secs(state.inner.config.code_lifetime)),
    };
    store.put_code(&token::secret_key(&code), grant).await?;
    let mut target = Url::parse(&request.redirect_uri)
        .map_err(|_| OAuthError::invalid_request("redirect_uri is not a URL"))?;
    {
        let mut q = target.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(s) = &request.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", state.issuer());
    }
    Ok(Redirect::to(target.as_str()).into_response())
}

const BASIC_CHALLENGE: &str = "Basic realm=\"mitid-test-provider\"";
const BEARER_CHALLENGE: &str = "Bearer realm=\"mitid-test-provider\"";

/// How the client authenticated, with the credentials it presented.
enum Presented {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    Public { id: String },
}

fn presented_client(headers: &HeaderMap, params: &Form) -> Result<Presented, OAuthError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let bad = || {
            oauth(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidClient,
                "malformed Basic authorization",
            )
            .with_challenge(BASIC_CHALLENGE)
        };
        let value = value.to_str().map_err(|_| bad())?;
        let (scheme, credentials) = value.split_once(' ').ok_or_else(bad)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(bad());
        }
        let decoded = b64::decode_std(credentials.trim()).map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
        let (id, secret) = (
            form_decode(id).ok_or_else(bad)?,
            form_decode(secret).ok_or_else(bad)?,
        );
        if params.contains("client_secret") {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        if params
            .get("client_id")
            .is_some_and(|body_id| *body_id != id)
        {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            ));
        }
        return Ok(Presented::Basic { id, secret });
    }
    let id = required(params, "client_id")
        .map_err(|_| {
            oauth(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidClient,
                "client authentication is required",
            )
            .with_challenge(BASIC_CHALLENGE)
        })?
        .to_owned();
    Ok(match params.get("client_secret") {
        Some(secret) => Presented::Post {
            id,
            secret: secret.to_owned(),
        },
        None => Presented::Public { id },
    })
}

/// Decodes one `application/x-www-form-urlencoded` value (RFC 6749 §2.3.1 encodes the Basic
/// credentials so).
fn form_decode(raw: &str) -> Option<String> {
    if raw.contains(['&', '=']) {
        return None;
    }
    let mut parsed = url::form_urlencoded::parse(raw.as_bytes());
    match parsed.next() {
        Some((name, value)) if value.is_empty() && parsed.next().is_none() => Some(name.into()),
        None => Some(String::new()),
        _ => None,
    }
}

fn authenticate<'a>(
    state: &'a ProviderState,
    presented: &Presented,
) -> Result<&'a RegisteredClient, OAuthError> {
    let (id, secret, basic) = match presented {
        Presented::Basic { id, secret } => (id, Some(secret), true),
        Presented::Post { id, secret } => (id, Some(secret), false),
        Presented::Public { id } => (id, None, false),
    };
    let failed = || {
        let error = oauth(
            if basic {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            },
            ErrorCode::InvalidClient,
            "client authentication failed",
        );
        if basic {
            error.with_challenge(BASIC_CHALLENGE)
        } else {
            error
        }
    };
    let client = state.client(id).ok_or_else(failed)?;
    match (&client.client_secret, secret) {
        (Some(expected), Some(given)) if token::constant_time_eq(expected.expose(), given) => {
            Ok(client)
        }
        (None, None) => Ok(client),
        _ => Err(failed()),
    }
}

/// `POST /token`: the authorization code grant with PKCE.
async fn token(
    State(state): State<ProviderState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match token_inner(&state, &headers, body).await {
        Ok(response) => response,
        Err(error) => error_response(error),
    }
}

async fn token_inner(
    state: &ProviderState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let params = form_body(headers, body)?;
    match required(&params, "grant_type")? {
        "authorization_code" => {}
        _ => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                ErrorCode::UnsupportedGrantType,
                "only authorization_code is supported",
            ));
        }
    }
    let presented = presented_client(headers, &params)?;
    let client = authenticate(state, &presented)?;
    let code = required(&params, "code")?;
    let redirect_uri = required(&params, "redirect_uri")?;
    let verifier = required(&params, "code_verifier")?;
    if !pkce::is_valid_verifier(verifier) {
        return Err(OAuthError::invalid_request(
            "code_verifier is not 43 to 128 unreserved characters (RFC 7636 §4.1)",
        ));
    }
    // Taken out of the store whatever follows: a code is tried once.
    let grant = state
        .inner
        .store
        .take_code(&token::secret_key(code))
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the code is unknown or was already used"))?;
    let now = state.now();
    if now >= grant.expires_at {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    if !pkce::verify_s256(verifier, &grant.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let identity = state.identity(&grant.username).ok_or_else(|| {
        oauth(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServerError,
            "internal error",
        )
    })?;

    let access_token = token::random_token()?;
    let access_lifetime = secs(state.inner.config.access_token_lifetime);
    state
        .inner
        .store
        .put_access_token(
            &token::secret_key(&access_token),
            AccessGrant {
                client_id: client.client_id.clone(),
                username: identity.username.clone(),
                scopes: grant.scopes.clone(),
                expires_at: now.saturating_add(access_lifetime),
            },
        )
        .await?;
    let id_token = id_token(state, identity, &grant, &access_token, now).await?;
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": access_lifetime,
        "id_token": id_token,
        "scope": grant.scopes.join(" "),
    });
    Ok((no_store(), Json(body)).into_response())
}

async fn id_token(
    state: &ProviderState,
    identity: &TestIdentity,
    grant: &CodeGrant,
    access_token: &str,
    now: i64,
) -> Result<String, OAuthError> {
    // The signer and its kid are taken out of the lock: no guard is held across the signing
    // await (an HSM signs asynchronously, and a held std guard would make the handler !Send).
    let (signer, kid) = {
        let keys = state.key_ring();
        (Arc::clone(&keys.current), keys.current_kid.clone())
    };
    let alg = signer.algorithm();
    let mut claims = Map::new();
    claims.insert("iss".into(), state.issuer().into());
    claims.insert("aud".into(), grant.client_id.clone().into());
    claims.insert("sub".into(), identity.uuid.clone().into());
    claims.insert("iat".into(), now.into());
    claims.insert("nbf".into(), now.into());
    claims.insert(
        "exp".into(),
        now.saturating_add(secs(state.inner.config.id_token_lifetime))
            .into(),
    );
    claims.insert("auth_time".into(), grant.auth_time.into());
    if let Some(nonce) = &grant.nonce {
        claims.insert("nonce".into(), nonce.clone().into());
    }
    claims.insert("acr".into(), nsis(identity.level()).into());
    claims.insert("amr".into(), json!(["code_app"]));
    claims.insert("at_hash".into(), half_hash(alg, access_token).into());
    claims.extend(broker_claims(identity, &grant.scopes, now)?);
    let payload = serde_json::to_vec(&Value::Object(claims)).map_err(|_| {
        oauth(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServerError,
            "internal error",
        )
    })?;
    let mut header = Header::new(alg, Some("JWT"));
    header.kid = Some(kid);
    sign_compact(&header, &payload, signer.as_ref())
        .await
        .map_err(|_| {
            oauth(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::ServerError,
                "internal error",
            )
        })
}

/// The Nets eID Broker's spelling of a level: `https://data.gov.dk/concept/core/nsis/Substantial`.
fn nsis(level: AssuranceLevel) -> String {
    let name = match level {
        AssuranceLevel::Low => "Low",
        AssuranceLevel::Substantial => "Substantial",
        AssuranceLevel::High => "High",
    };
    format!("https://data.gov.dk/concept/core/nsis/{name}")
}

fn random_uuid() -> Result<String, OAuthError> {
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| OAuthError::from(token::RandomError))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

fn age(birth: time::Date, now: i64) -> i32 {
    let today = time::OffsetDateTime::from_unix_timestamp(now)
        .map(|t| t.date())
        .unwrap_or(birth);
    let mut years = today.year() - birth.year();
    if (u8::from(today.month()), today.day()) < (u8::from(birth.month()), birth.day()) {
        years -= 1;
    }
    years.max(0)
}

/// The claims a Nets eID Broker sends about `identity` for `scopes`, every value a string.
fn broker_claims(
    identity: &TestIdentity,
    scopes: &[String],
    now: i64,
) -> Result<Map<String, Value>, OAuthError> {
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    let professional = identity.identity_type == IdentityType::Professional;
    let mut c = Map::new();
    c.insert(
        "idp".into(),
        if professional {
            "mitid_erhverv"
        } else {
            "mitid"
        }
        .into(),
    );
    c.insert(
        "identity_type".into(),
        identity.identity_type.as_str().into(),
    );
    c.insert("idp_identity_id".into(), identity.uuid.clone().into());
    c.insert("loa".into(), nsis(identity.level()).into());
    c.insert("ial".into(), nsis(identity.ial()).into());
    c.insert("aal".into(), nsis(identity.aal()).into());
    let birth_date = format!(
        "{:04}-{:02}-{:02}",
        identity.birth_date.year(),
        u8::from(identity.birth_date.month()),
        identity.birth_date.day()
    );
    if has("mitid") {
        c.insert("mitid.uuid".into(), identity.uuid.clone().into());
        c.insert(
            "mitid.age".into(),
            age(identity.birth_date, now).to_string().into(),
        );
        c.insert("mitid.date_of_birth".into(), birth_date.clone().into());
        c.insert("mitid.identity_name".into(), identity.name.clone().into());
        c.insert(
            "mitid.has_cpr".into(),
            identity.cpr.is_some().to_string().into(),
        );
        c.insert("mitid.transaction_id".into(), random_uuid()?.into());
    }
    if has("ssn")
        && let Some(cpr) = &identity.cpr
    {
        c.insert("dk.cpr".into(), cpr.expose().into());
    }
    if professional && has("nemlogin") {
        c.insert(
            "nemlogin.persistent_professional_id".into(),
            identity.uuid.clone().into(),
        );
        c.insert("nemlogin.name".into(), identity.name.clone().into());
        c.insert("nemlogin.date_of_birth".into(), birth_date.into());
        if let Some(org) = &identity.organisation {
            c.insert("nemlogin.cvr".into(), org.cvr.clone().into());
            c.insert("nemlogin.org_name".into(), org.name.clone().into());
        }
    }
    Ok(c)
}

/// `GET`/`POST /userinfo`: the broker claims for a bearer access token (RFC 6750 §2.1).
async fn userinfo(State(state): State<ProviderState>, headers: HeaderMap) -> Response {
    match userinfo_inner(&state, &headers).await {
        Ok(response) => response,
        Err(error) => error_response(error),
    }
}

async fn userinfo_inner(
    state: &ProviderState,
    headers: &HeaderMap,
) -> Result<Response, OAuthError> {
    let unauthorized = |description: &str| {
        oauth(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            description,
        )
        .with_challenge(BEARER_CHALLENGE)
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("a bearer access token is required"))?;
    let now = state.now();
    let grant = state
        .inner
        .store
        .access_token(&token::secret_key(token), now)
        .await?
        .ok_or_else(|| unauthorized("the access token is unknown or has expired"))?;
    let identity = state
        .identity(&grant.username)
        .ok_or_else(|| unauthorized("the access token is unknown or has expired"))?;
    let mut claims = broker_claims(identity, &grant.scopes, now)?;
    claims.insert("sub".into(), identity.uuid.clone().into());
    Ok((no_store(), Json(Value::Object(claims))).into_response())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn ages() {
        // 2026-03-01T00:00:00Z
        let now = 1_772_323_200;
        assert_eq!(age(date!(1985 - 03 - 12), now), 40);
        assert_eq!(age(date!(1985 - 03 - 01), now), 41);
        assert_eq!(age(date!(2030 - 01 - 01), now), 0);
    }

    #[test]
    fn uuids_are_version_4() {
        let u = random_uuid().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn nsis_spelling_parses_back() {
        for level in [
            AssuranceLevel::Low,
            AssuranceLevel::Substantial,
            AssuranceLevel::High,
        ] {
            assert_eq!(parse_level(&nsis(level)), Some(level));
        }
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(
            form_decode("issuer+client").as_deref(),
            Some("issuer client")
        );
        assert_eq!(form_decode("s3cr%3Aet").as_deref(), Some("s3cr:et"));
        assert_eq!(form_decode("").as_deref(), Some(""));
        assert_eq!(form_decode("a&b"), None);
    }

    #[test]
    fn config_is_checked() {
        let ids = eudi_pid::default_test_identities();
        let bad = ProviderConfig::new("not a url", vec![]);
        assert!(ProviderState::new(bad, ids.clone()).is_err());
        let bad = ProviderConfig::new(
            "http://127.0.0.1/mitid",
            vec![RegisteredClient::public("c", ["/relative"])],
        );
        assert!(ProviderState::new(bad, ids.clone()).is_err());
        let mut twice = ids.clone();
        twice.push(ids[0].clone());
        let ok = ProviderConfig::new("http://127.0.0.1/mitid/", vec![]);
        assert!(ProviderState::new(ok.clone(), twice).is_err());
        let state = ProviderState::new(ok, ids).unwrap();
        assert_eq!(state.issuer(), "http://127.0.0.1/mitid");
        assert_eq!(
            state.metadata().token_endpoint,
            "http://127.0.0.1/mitid/token"
        );
    }
}
