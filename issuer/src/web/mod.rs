//! The issuer's HTTP service: thin axum glue over the OpenID4VCI server, the MitID login and the
//! PID rules.
//!
//! [`app`] builds the router the `serve` command runs and the tests drive:
//!
//! | route | what |
//! |---|---|
//! | OpenID4VCI / OAuth paths (metadata, PAR, token, nonce, credential, deferred, notification, offers) | forwarded to the protocol ([`backend::Backend::handle`], [`glue`]) |
//! | `GET /authorize`, `GET /callback` | the wallet's authorization-code flow through MitID ([`login`]) |
//! | `GET /`, `GET /pid`, `GET /pid/login`, `GET /pid/callback` | "Get your PID": MitID login, then the offer as QR code, link and transaction code ([`pages`]) |
//! | `/mitid/…` | the embedded MitID test provider, when configured ([`mitid`]) |
//! | `GET /status/{list}` | status list tokens, JWT or CWT by `Accept` (draft-ietf-oauth-status-list §8) |
//! | `GET /health`, `GET /ready`, `GET /metrics` | operations ([`ops`]) |
//!
//! [`wiring::build`] assembles the real state from the configuration (keys, PID minter, status
//! lists, the OpenID4VCI server, the MitID clients); tests may put any [`backend::Backend`] in
//! its place. The embedded MitID provider keeps its state in the issuer's store
//! ([`mitid_store`]), so instances on one database share logins.
//!
//! Every answer that is not a page for a person is JSON; errors are OAuth shaped
//! (`{"error","error_description"}`) with generic bodies for 5xx. Each request has an id
//! (`x-request-id`, in its tracing span) and a time limit, and request bodies are limited to
//! [`MAX_BODY_BYTES`].

pub mod backend;
pub mod glue;
pub mod login;
pub mod mitid;
pub mod mitid_store;
pub mod ops;
pub mod pages;
pub mod qr;
pub mod wiring;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::get;
use eudi_oid4vci::store::IssuerStore;
use eudi_trust::Clock;

use crate::web::backend::Backend;
use crate::web::mitid::MitId;
use crate::web::ops::Metrics;

/// Largest request body accepted (OpenID4VCI requests are a few KiB; a batch of proofs stays
/// well under it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long a person has to finish a MitID login.
pub const DEFAULT_LOGIN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// What the web layer is configured with.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The public URL (the credential issuer identifier), without a trailing `/`.
    pub public_url: String,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// How long a MitID login may take.
    pub login_lifetime: Duration,
}

impl WebConfig {
    /// The defaults for `public_url`.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            request_timeout: ops::DEFAULT_REQUEST_TIMEOUT,
            login_lifetime: DEFAULT_LOGIN_LIFETIME,
        }
    }
}

/// Everything a request handler reaches. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The configuration.
    pub config: Arc<WebConfig>,
    /// The issuer's logic.
    pub backend: Arc<dyn Backend>,
    /// The store (login sessions, readiness).
    pub store: Arc<dyn IssuerStore>,
    /// The MitID clients.
    pub mitid: Arc<MitId>,
    /// The counters of `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// The issuer's router.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/status/{list}", get(glue::status_list))
        .route("/authorize", get(login::authorize))
        .route(mitid::CALLBACK_PATH, get(login::callback))
        .route("/", get(pages::index))
        .route("/pid", get(pages::index))
        .route("/pid/login", get(pages::login))
        .route(mitid::PAGE_CALLBACK_PATH, get(pages::callback))
        .method_not_allowed_fallback(glue::method_not_allowed)
        .fallback(glue::forward)
        .with_state(state.clone());
    if let Some(provider) = &state.mitid.provider {
        router = router.nest(
            mitid::PROVIDER_PATH,
            eudi_mitid_test_provider::app(provider.clone()),
        );
    }
    router
        .layer(middleware::from_fn(ops::limit_body))
        .layer(middleware::from_fn_with_state(state, ops::observe))
}
