//! The MitID identity source of the PID issuer.
//!
//! * [`client`]: an OpenID Connect client for a MitID broker: authorization code flow with
//!   PKCE (S256), `state` and `nonce`, a requested level of assurance in `acr_values`, token
//!   exchange (`client_secret_basic`, `client_secret_post` or a public client), and ID token
//!   validation against the broker's JWKS (fetched, cached, fetched again for an unknown `kid`):
//!   signature (RS256, which the brokers use, or ES256: nothing else), `iss`, `aud`/`azp`,
//!   `exp`/`iat`/`nbf` with clock skew, `nonce`, `at_hash`. Optional userinfo. Written on
//!   `reqwest` and `eudi_trust`'s JWS rather than the `openidconnect` crate, whose dependency
//!   tree is large for the few hundred lines used here.
//! * [`claims`]: [`map_claims`] turns the claims of Signaturgruppen/Nets eID Broker, Idura
//!   (Criipto), or OIOSAML attribute URIs into one [`eudi_pid::MitIdLogin`], recognising the
//!   broker by its claim names.
//! * [`provider`] (feature `provider`, on by default): the embedded MitID test identity
//!   provider, an axum [`Router`](axum::Router) from [`provider::app`] that the issuer mounts
//!   under a path prefix, with test identities from a file ([`eudi_pid::test_identities`]).
//!
//! # A login against the embedded test provider
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use eudi_mitid::client::{AuthorizationOptions, CallbackParams, ClientAuthMethod, ClientConfig, OidcClient};
//! use eudi_mitid::provider::{self, ProviderConfig, ProviderState, RegisteredClient};
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
//! // ... and talks to it as to any broker.
//! let client = OidcClient::discover(
//!     ClientConfig::new(issuer, "pid-issuer", callback)
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
/// The time source (re-exported from `eudi-trust`, the one clock of the workspace).
pub mod clock {
    #[cfg(any(test, feature = "mock"))]
    pub use eudi_trust::clock::ManualClock;
    pub use eudi_trust::clock::{Clock, SystemClock};
}
mod http;
pub mod metadata;
pub mod pkce;
#[cfg(feature = "provider")]
pub mod provider;

pub use claims::{Broker, MappingError, map_claims};
pub use client::{ClientConfig, IdTokenError, OidcClient, OidcError, VerifiedLogin};
pub use http::check_endpoint_url;
pub use metadata::ProviderMetadata;
