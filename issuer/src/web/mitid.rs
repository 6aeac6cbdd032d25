//! The MitID side of the web layer: the two OpenID Connect clients (one for the wallet's
//! authorization flow, one for the "Get your PID" pages, each with its own callback) and the
//! embedded MitID test provider, which the issuer serves under `/mitid` and talks to in process
//! (so the token exchange never depends on the public URL being reachable from the server).

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use eudi_http::HttpClient;
use eudi_http::HttpError;
use eudi_http::HttpFuture;
use eudi_http::Request;
use eudi_http::Response;
use eudi_mitid::OidcClient;
use eudi_mitid::OidcError;
use eudi_mitid::client::AcrStyle;
use eudi_mitid::client::ClientAuthMethod;
use eudi_mitid::client::ClientConfig;
use eudi_mitid_test_provider::ProviderConfig;
use eudi_mitid_test_provider::ProviderError;
use eudi_mitid_test_provider::ProviderState;
use eudi_mitid_test_provider::RegisteredClient;
use eudi_oid4vci::store::IssuerStore;
use eudi_pid::TestIdentity;
use eudi_trust::AssuranceLevel;
use eudi_trust::Clock;
use tower::ServiceExt as _;

use crate::web::mitid_store::SharedProviderStore;

/// Where the embedded provider is mounted.
pub const PROVIDER_PATH: &str = "/mitid";
/// The callback of the wallet's authorization flow.
pub const CALLBACK_PATH: &str = "/callback";
/// The callback of the "Get your PID" pages.
pub const PAGE_CALLBACK_PATH: &str = "/pid/callback";
/// The client id the issuer has at the embedded provider.
pub const EMBEDDED_CLIENT_ID: &str = "eudi-issuer";
/// Largest answer read from the embedded provider.
pub const MAX_PROVIDER_RESPONSE: usize = 256 * 1024;

/// Why the MitID clients could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MitIdSetupError {
    /// The embedded provider refused its configuration.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The OpenID Connect client refused its configuration or the broker's metadata.
    #[error(transparent)]
    Client(#[from] OidcError),
    /// A random secret could not be made.
    #[error("no randomness for the embedded provider's client secret")]
    Random,
}

/// The two MitID clients and the level of assurance they ask for.
#[derive(Debug)]
pub struct MitId {
    /// Redirects to [`CALLBACK_PATH`].
    pub wallet: OidcClient,
    /// Redirects to [`PAGE_CALLBACK_PATH`].
    pub page: OidcClient,
    /// The level asked for in `acr_values` (the PID rules check the level reached).
    pub level: AssuranceLevel,
    /// The embedded provider, when it is used; mounted at [`PROVIDER_PATH`].
    pub provider: Option<ProviderState>,
}

/// How to reach a real MitID broker.
#[derive(Clone, Debug)]
pub struct BrokerSettings {
    /// The broker's issuer identifier.
    pub issuer: String,
    /// The issuer's client id at the broker.
    pub client_id: String,
    /// Its client secret (`None` with [`ClientAuthMethod::None`]).
    pub client_secret: Option<String>,
    /// How it authenticates at the token endpoint.
    pub auth_method: ClientAuthMethod,
    /// How the broker spells levels in `acr_values`.
    pub acr_style: AcrStyle,
    /// DANGER (dev/test): plain http and private addresses allowed.
    pub allow_private_network: bool,
}

impl MitId {
    /// The embedded test provider at `{public_url}/mitid`, logging in `identities`, with a fresh
    /// client secret, both callbacks registered, and clients that reach it in process.
    ///
    /// With `store`, the provider keeps its logins, codes and tokens there, so instances sharing
    /// a database share them; without, in memory (one process).
    pub fn embedded(
        public_url: &str,
        level: AssuranceLevel,
        identities: Vec<TestIdentity>,
        store: Option<Arc<dyn IssuerStore>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, MitIdSetupError> {
        let issuer = format!("{public_url}{PROVIDER_PATH}");
        let wallet_callback = format!("{public_url}{CALLBACK_PATH}");
        let page_callback = format!("{public_url}{PAGE_CALLBACK_PATH}");
        let secret = eudi_oauth::token::random_token().map_err(|_| MitIdSetupError::Random)?;
        let config = ProviderConfig::new(
            issuer.clone(),
            vec![RegisteredClient::confidential(
                EMBEDDED_CLIENT_ID,
                secret.clone(),
                [wallet_callback.clone(), page_callback.clone()],
            )],
        );
        let mut builder = ProviderState::builder(config, identities).clock(clock.clone());
        if let Some(store) = store {
            builder = builder.store(Arc::new(SharedProviderStore::new(store, clock.clone())));
        }
        let provider = builder.build()?;
        let http: Arc<dyn HttpClient> = Arc::new(InProcessProvider {
            prefix: issuer.clone(),
            router: eudi_mitid_test_provider::app(provider.clone()),
        });
        let client = |callback: String| -> Result<OidcClient, MitIdSetupError> {
            let mut config = ClientConfig::new(issuer.clone(), EMBEDDED_CLIENT_ID, callback)
                .with_secret(secret.clone(), ClientAuthMethod::ClientSecretBasic);
            // In process: nothing travels over a network, whatever the public URL is.
            config.allow_private_network = true;
            Ok(
                OidcClient::from_metadata_with(config, provider.metadata(), http.clone())?
                    .with_clock(clock.clone()),
            )
        };
        Ok(Self {
            wallet: client(wallet_callback)?,
            page: client(page_callback)?,
            level,
            provider: Some(provider),
        })
    }

    /// A real broker, found by discovery; both callbacks must be registered there.
    pub async fn broker(
        public_url: &str,
        broker: &BrokerSettings,
        level: AssuranceLevel,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, MitIdSetupError> {
        let client = |callback: String| {
            let mut config =
                ClientConfig::new(broker.issuer.clone(), broker.client_id.clone(), callback);
            if let Some(secret) = &broker.client_secret {
                config = config.with_secret(secret.clone(), broker.auth_method);
            }
            config.auth_method = broker.auth_method;
            config.acr_style = broker.acr_style.clone();
            config.allow_private_network = broker.allow_private_network;
            config
        };
        let wallet = OidcClient::discover(client(format!("{public_url}{CALLBACK_PATH}")))
            .await?
            .with_clock(clock.clone());
        let page = OidcClient::discover(client(format!("{public_url}{PAGE_CALLBACK_PATH}")))
            .await?
            .with_clock(clock);
        Ok(Self {
            wallet,
            page,
            level,
            provider: None,
        })
    }
}

/// An [`HttpClient`] that answers requests to the embedded provider from its router, in process.
#[derive(Clone)]
struct InProcessProvider {
    prefix: String,
    router: Router,
}

impl fmt::Debug for InProcessProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessProvider")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl HttpClient for InProcessProvider {
    fn send(&self, request: Request) -> HttpFuture<'_> {
        Box::pin(async move {
            let refused = |reason: &'static str| HttpError::Refused {
                url: request.url.clone(),
                reason,
            };
            let rest = request
                .url
                .strip_prefix(&self.prefix)
                .ok_or_else(|| refused("not a URL of the embedded provider"))?;
            let path = if rest.is_empty() { "/" } else { rest };
            if !path.starts_with('/') && !path.starts_with('?') {
                return Err(refused("not a URL of the embedded provider"));
            }
            let mut builder = axum::http::Request::builder()
                .method(request.method.as_str())
                .uri(path);
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            let http_request = builder
                .body(Body::from(request.body.clone()))
                .map_err(|_| refused("the request cannot be built"))?;
            let answer = match self.router.clone().oneshot(http_request).await {
                Ok(answer) => answer,
                Err(never) => match never {},
            };
            let status = answer.status().as_u16();
            let headers: Vec<(String, String)> = answer
                .headers()
                .iter()
                .filter_map(|(name, value)| {
                    value
                        .to_str()
                        .ok()
                        .map(|v| (name.as_str().to_owned(), v.to_owned()))
                })
                .collect();
            let body = axum::body::to_bytes(answer.into_body(), MAX_PROVIDER_RESPONSE)
                .await
                .map_err(|_| HttpError::TooLarge {
                    url: request.url.clone(),
                    limit: MAX_PROVIDER_RESPONSE,
                })?;
            let mut response = Response::new(status, body.to_vec());
            for (name, value) in headers {
                response = response.with_header(&name, value);
            }
            Ok(response)
        })
    }
}
