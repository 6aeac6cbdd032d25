//! The MitID identity source of the PID issuer.
//!
//! * [`client`]: an OpenID Connect client for a MitID broker: authorization code flow with
//!   PKCE (S256), `state` and `nonce`, a requested level of assurance in `acr_values`, token
//!   exchange (`client_secret_basic`, `client_secret_post` or a public client), and ID token
//!   validation against the broker's JWKS (fetched, cached, fetched again for an unknown `kid`):
//!   signature (RS256, which the brokers use, or ES256: nothing else), `iss`, `aud`/`azp`,
//!   `exp`/`iat`/`nbf` with clock skew, `nonce`, `at_hash`. Optional userinfo. Written on
//!   `eudi-http` and `eudi_trust`'s JWS rather than the `openidconnect` crate, whose dependency
//!   tree is large for the few hundred lines used here.
//! * [`claims`]: [`map_claims`] turns the claims of Signaturgruppen/Nets eID Broker, Idura
//!   (Criipto), or OIOSAML attribute URIs into one [`eudi_pid::MitIdLogin`], recognising the
//!   broker by its claim names.
//! * [`metadata`]: the provider's discovery document (OpenID Connect Discovery 1.0 §3).
//!
//! The embedded MitID test identity provider (an axum router) lives in its own crate,
//! `eudi-mitid-test-provider`, so that this client pulls in no web server. HTTP goes through
//! `eudi-http` (one bounded client for the workspace), OAuth pieces (PKCE, random values, error
//! bodies, form parsing) come from `eudi-oauth`, and every time check reads an
//! [`eudi_trust::Clock`] ([`OidcClient::with_clock`]).
//!
//! # A login against a broker
//!
//! ```no_run
//! use eudi_mitid::client::{AuthorizationOptions, CallbackParams, ClientAuthMethod, ClientConfig, OidcClient};
//! use eudi_trust::AssuranceLevel;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = OidcClient::discover(
//!     ClientConfig::new("https://broker.example/op", "pid-issuer", "https://issuer.example/callback")
//!         .with_secret("secret", ClientAuthMethod::ClientSecretBasic),
//! )
//! .await?;
//! let request = client.authorization_request(&AuthorizationOptions::level(AssuranceLevel::Substantial))?;
//! // Redirect the browser to request.url; keep request.pending in the session. On the callback:
//! # let callback_query = "";
//! let params = CallbackParams::from_query(callback_query)?;
//! let verified = client.complete(&request.pending, &params).await?;
//! let login = verified.login()?; // eudi_pid::MitIdLogin
//! # let _ = login;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod claims;
pub mod client;
pub mod metadata;

pub use claims::Broker;
pub use claims::MappingError;
pub use claims::map_claims;
pub use client::ClientConfig;
pub use client::IdTokenError;
pub use client::OidcClient;
pub use client::OidcError;
pub use client::VerifiedLogin;
pub use metadata::ProviderMetadata;
