//! The issuer side of OpenID4VCI 1.0 with its own authorization server (HAIP 1.0 profile):
//! [`Issuer::handle`] answers every protocol endpoint of [`paths`] over the framework-free
//! [`HttpRequest`]/[`HttpResponse`], and [`Issuer::authorize`], [`Issuer::complete_authorization`]
//! and [`Issuer::refuse_authorization`] are the steps around the person's login, which the
//! binary drives (it sends the person to MitID with the pending authorization's id as `state`).
//!
//! Every secret the flows spend (request URIs, codes, pre-authorized codes, `c_nonce`s, DPoP
//! `jti`s, client attestation PoP `jti`s) goes through the store's atomic operation, so two
//! instances on one database never both accept one; bearer secrets are stored by
//! [`eudi_oauth::token::secret_key`] only.
//!
//! * [`config`]: [`IssuerConfig`] with its limits and lifetimes.
//! * `authorization`: PAR (RFC 9126), the authorization endpoint, login completion (RFC 9207
//!   `iss` in the response).
//! * `token`: the token endpoint (§6) for both grants, with PKCE (RFC 7636) and DPoP (RFC 9449).
//! * `credential`: nonce (§7), credential (§8), deferred (§9) and notification (§11) endpoints.
//! * `offer`: pre-authorized credential offers (§4.1) and offers by reference.
//!
//! Choices where the specifications leave room or changed:
//! * A still-pending deferred issuance is answered 202 with `transaction_id` and `interval`
//!   (1.0 final, §9.2), not with the drafts' `issuance_pending` error.
//! * The token response always carries `authorization_details` with one
//!   `credential_identifier` per granted configuration; a credential request naming the
//!   `credential_configuration_id` instead is accepted too (wallets differ here).
//! * One `c_nonce` may serve all key proofs of a batch; each distinct nonce is spent once.
//! * A token that got a deferred answer stays valid at the deferred endpoint only, for as long
//!   as the deferred issuance, since a review outlasts an access token.
//! * `/authorize` is not answered by [`Issuer::handle`]: the binary owns that page and the
//!   MitID redirect.

use std::fmt;
use std::sync::Arc;

use eudi_oauth::ErrorCode;
use eudi_oauth::OAuthError;
use eudi_oauth::client_attestation;
use eudi_oauth::client_attestation::AttestationExpected;
use eudi_oauth::dpop;
use eudi_oauth::dpop::DpopExpected;
use eudi_oauth::dpop::VerifiedDpop;
use eudi_oauth::token::random_token;
use eudi_oauth::token::secret_key;
use eudi_trust::Clock;
use eudi_trust::jws::CompactJws;
use serde_json::Value;

use crate::endpoint::HttpRequest;
use crate::endpoint::HttpResponse;
use crate::issuance::CredentialMinter;
use crate::messages::AUTHORIZATION_CODE_GRANT;
use crate::metadata::AUTH_METHOD_ATTESTATION;
use crate::metadata::AUTHORIZATION_DETAILS_TYPE;
use crate::metadata::AuthorizationServerMetadata;
use crate::metadata::BatchCredentialIssuance;
use crate::metadata::CredentialIssuerMetadata;
use crate::metadata::ResponseEncryptionMetadata;
use crate::offer::PRE_AUTHORIZED_CODE_GRANT;
use crate::store::IssuerStore;
use crate::store::NonceKind;
use crate::store::ReplayScope;
use crate::store::StoreError;

mod authorization;
pub mod config;
mod credential;
mod offer;
mod records;
mod token;

pub use authorization::AuthorizeError;
pub use authorization::MAX_PARAMETER_LEN;
pub use authorization::PendingAuthorization;
pub use authorization::REQUEST_URI_PREFIX;
pub use config::ClientAttestationPolicy;
pub use config::ConfigError;
pub use config::IssuerConfig;
pub use config::Lifetimes;
pub use config::ResponseEncryptionConfig;
pub use offer::CreatedOffer;
pub use offer::OfferCreationError;

/// The paths the issuer serves, relative to the credential issuer identifier.
pub mod paths {
    /// Pushed authorization requests (RFC 9126).
    pub const PAR: &str = "/par";
    /// The authorization endpoint (served by the binary through [`super::Issuer::authorize`]).
    pub const AUTHORIZE: &str = "/authorize";
    /// The token endpoint.
    pub const TOKEN: &str = "/token";
    /// The nonce endpoint.
    pub const NONCE: &str = "/nonce";
    /// The credential endpoint.
    pub const CREDENTIAL: &str = "/credential";
    /// The deferred credential endpoint.
    pub const DEFERRED_CREDENTIAL: &str = "/deferred_credential";
    /// The notification endpoint.
    pub const NOTIFICATION: &str = "/notification";
    /// Credential offers by reference: this prefix, then the offer's id.
    pub const CREDENTIAL_OFFER_PREFIX: &str = "/credential_offer/";
    /// The same as a route pattern (axum 0.8 syntax), for the binary's router.
    pub const CREDENTIAL_OFFER: &str = "/credential_offer/{id}";
    /// Credential Issuer Metadata.
    pub const ISSUER_METADATA: &str = "/.well-known/openid-credential-issuer";
    /// Authorization Server Metadata.
    pub const AUTHORIZATION_SERVER_METADATA: &str = "/.well-known/oauth-authorization-server";
}

/// The largest request body read by any endpoint here (forms and JSON).
pub const MAX_BODY_LEN: usize = 256 * 1024;
/// The HTTP header carrying a server DPoP nonce (RFC 9449 §8).
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";
/// The HTTP header carrying a DPoP proof.
pub const DPOP_HEADER: &str = "dpop";

/// The PID issuer's protocol side.
pub struct Issuer {
    config: IssuerConfig,
    store: Arc<dyn IssuerStore>,
    minter: Arc<dyn CredentialMinter>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("credential_issuer", &self.config.credential_issuer)
            .field("store", &self.store)
            .field("minter", &self.minter)
            .finish_non_exhaustive()
    }
}

/// How a request was authenticated by DPoP.
struct DpopOutcome {
    verified: VerifiedDpop,
}

impl Issuer {
    /// An issuer over `store`, issuing through `minter`, reading time from `clock`. The
    /// configuration is checked ([`IssuerConfig::check`]).
    pub fn new(
        config: IssuerConfig,
        store: Arc<dyn IssuerStore>,
        minter: Arc<dyn CredentialMinter>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        config.check()?;
        Ok(Self {
            config,
            store,
            minter,
            clock,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &IssuerConfig {
        &self.config
    }

    /// Serves a request to one of the [`paths`] (except [`paths::AUTHORIZE`], which the binary
    /// serves with [`Issuer::authorize`]); `None` when the path is not one of them.
    pub async fn handle(&self, request: &HttpRequest) -> Option<HttpResponse> {
        let path = request.path.as_str();
        let expected_method = match path {
            paths::ISSUER_METADATA | paths::AUTHORIZATION_SERVER_METADATA => "GET",
            paths::PAR
            | paths::TOKEN
            | paths::NONCE
            | paths::CREDENTIAL
            | paths::DEFERRED_CREDENTIAL
            | paths::NOTIFICATION => "POST",
            _ if path.starts_with(paths::CREDENTIAL_OFFER_PREFIX) => "GET",
            _ => return None,
        };
        if request.method != expected_method {
            return Some(
                HttpResponse::error(
                    &OAuthError::invalid_request(format!("use {expected_method}")).with_status(405),
                )
                .with_header("allow", expected_method),
            );
        }
        if request.body.len() > MAX_BODY_LEN {
            let code = if path == paths::CREDENTIAL || path == paths::DEFERRED_CREDENTIAL {
                ErrorCode::InvalidCredentialRequest
            } else {
                ErrorCode::InvalidRequest
            };
            return Some(HttpResponse::error(
                &OAuthError::new(code, "the request body is too large").with_status(413),
            ));
        }
        let response = match path {
            paths::ISSUER_METADATA => Ok(HttpResponse::json(200, &self.issuer_metadata())),
            paths::AUTHORIZATION_SERVER_METADATA => Ok(HttpResponse::json(
                200,
                &self.authorization_server_metadata(),
            )),
            paths::PAR => match self.pushed_authorization_request(request).await {
                Ok(response) => Ok(response),
                // RFC 9449 §8: a `use_dpop_nonce` answer carries the nonce to use.
                Err(error) => Ok(self
                    .with_dpop_nonce(HttpResponse::error(&error), &error)
                    .await),
            },
            paths::TOKEN => self.token(request).await,
            paths::NONCE => self.nonce().await,
            paths::CREDENTIAL => self.credential(request).await,
            paths::DEFERRED_CREDENTIAL => self.deferred_credential(request).await,
            paths::NOTIFICATION => self.notification(request).await,
            _ => {
                let id = path
                    .strip_prefix(paths::CREDENTIAL_OFFER_PREFIX)
                    .unwrap_or_default();
                self.offer_by_reference(id).await
            }
        };
        Some(response.unwrap_or_else(HttpResponse::from))
    }

    /// The absolute URL of `path`.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.credential_issuer)
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Credential Issuer Metadata (§12.2), built from the configuration.
    pub fn issuer_metadata(&self) -> CredentialIssuerMetadata {
        let config = &self.config;
        CredentialIssuerMetadata {
            credential_issuer: config.credential_issuer.clone(),
            authorization_servers: Vec::new(),
            credential_endpoint: self.url(paths::CREDENTIAL),
            nonce_endpoint: Some(self.url(paths::NONCE)),
            deferred_credential_endpoint: Some(self.url(paths::DEFERRED_CREDENTIAL)),
            notification_endpoint: Some(self.url(paths::NOTIFICATION)),
            credential_request_encryption: None,
            credential_response_encryption: config.response_encryption.as_ref().map(|encryption| {
                ResponseEncryptionMetadata {
                    alg_values_supported: vec![eudi_trust::jwe::ALG_ECDH_ES.into()],
                    enc_values_supported: encryption
                        .encs
                        .iter()
                        .map(|enc| enc.jose_name().to_owned())
                        .collect(),
                    zip_values_supported: Vec::new(),
                    encryption_required: encryption.required,
                }
            }),
            batch_credential_issuance: Some(BatchCredentialIssuance {
                batch_size: config.batch_size,
            }),
            display: config.display.clone(),
            credential_configurations_supported: config.configurations.clone(),
        }
    }

    /// Authorization Server Metadata (RFC 8414, §12.3), built from the configuration.
    pub fn authorization_server_metadata(&self) -> AuthorizationServerMetadata {
        let config = &self.config;
        let algs = |policy: &eudi_trust::AlgorithmPolicy| {
            policy
                .allowed()
                .iter()
                .map(|alg| alg.jose_name().to_owned())
                .collect::<Vec<_>>()
        };
        let (auth_methods, attestation_algs) = match &config.client_attestation {
            ClientAttestationPolicy::Disabled => (vec!["none".to_owned()], Vec::new()),
            ClientAttestationPolicy::Optional(_) => (
                vec!["none".to_owned(), AUTH_METHOD_ATTESTATION.to_owned()],
                algs(&config.attestation_algorithms),
            ),
            ClientAttestationPolicy::Required(_) => (
                vec![AUTH_METHOD_ATTESTATION.to_owned()],
                algs(&config.attestation_algorithms),
            ),
        };
        AuthorizationServerMetadata {
            issuer: config.credential_issuer.clone(),
            authorization_endpoint: Some(self.url(paths::AUTHORIZE)),
            token_endpoint: self.url(paths::TOKEN),
            pushed_authorization_request_endpoint: Some(self.url(paths::PAR)),
            require_pushed_authorization_requests: true,
            jwks_uri: None,
            scopes_supported: config
                .configurations
                .values()
                .filter_map(|configuration| configuration.scope.clone())
                .collect(),
            response_types_supported: vec!["code".into()],
            response_modes_supported: vec!["query".into()],
            grant_types_supported: vec![
                AUTHORIZATION_CODE_GRANT.into(),
                PRE_AUTHORIZED_CODE_GRANT.into(),
            ],
            code_challenge_methods_supported: vec!["S256".into()],
            token_endpoint_auth_methods_supported: auth_methods,
            dpop_signing_alg_values_supported: algs(&config.dpop_algorithms),
            authorization_details_types_supported: vec![AUTHORIZATION_DETAILS_TYPE.into()],
            client_attestation_signing_alg_values_supported: attestation_algs.clone(),
            client_attestation_pop_signing_alg_values_supported: attestation_algs,
            authorization_response_iss_parameter_supported: true,
            pre_authorized_grant_anonymous_access_supported: !matches!(
                config.client_attestation,
                ClientAttestationPolicy::Required(_)
            ),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Shared steps
    // -----------------------------------------------------------------------------------------

    /// A fresh server DPoP nonce (RFC 9449 §8), recorded in the store.
    async fn fresh_dpop_nonce(&self) -> Result<String, OAuthError> {
        let nonce = random_token()?;
        let expires_at = self.now().saturating_add(self.config.lifetimes.dpop_nonce);
        self.store
            .issue_nonce(NonceKind::DpopNonce, &nonce, expires_at)
            .await
            .map_err(store_error)?;
        Ok(nonce)
    }

    /// Verifies the request's DPoP proof, if it has one, for `path` (RFC 9449 §4.3), with the
    /// server nonce when required (§8) and the `jti` replay guard (§11.1). `access_token` and
    /// `bound_jkt` are the resource server's (§7). Errors are the token endpoint's (400); the
    /// caller turns them into 401 challenges at resources.
    async fn check_dpop(
        &self,
        request: &HttpRequest,
        path: &str,
        access_token: Option<&str>,
        bound_jkt: Option<&str>,
    ) -> Result<Option<DpopOutcome>, OAuthError> {
        let Some(proof) = request.single_header(DPOP_HEADER)? else {
            return Ok(None);
        };
        let now = self.now();
        let nonce = if self.config.dpop_nonce_required {
            // The proof's nonce is looked at before its signature only to find which of the
            // live server nonces to expect; `verify_proof` then checks the signature first.
            let claimed = CompactJws::parse(proof)
                .ok()
                .and_then(|jws| jws.payload_json().ok())
                .and_then(|claims| match claims.get("nonce") {
                    Some(Value::String(nonce)) if nonce.len() <= dpop::MAX_NONCE_LEN => {
                        Some(nonce.clone())
                    }
                    _ => None,
                });
            let live = match &claimed {
                Some(nonce) => self
                    .store
                    .nonce_is_live(NonceKind::DpopNonce, nonce, now)
                    .await
                    .map_err(store_error)?,
                None => false,
            };
            // A fresh random value, which no proof can carry, makes `verify_proof` answer
            // `use_dpop_nonce` (a fixed placeholder could be sent as the nonce).
            Some(match claimed {
                Some(nonce) if live => nonce,
                _ => random()?,
            })
        } else {
            None
        };
        let url = self.url(path);
        let expected = DpopExpected {
            method: &request.method,
            url: &url,
            access_token,
            nonce: nonce.as_deref(),
            now,
            max_age: self.config.lifetimes.dpop_proof_age,
            leeway: self.config.leeway,
            algorithms: &self.config.dpop_algorithms,
            bound_jkt,
        };
        let verified = dpop::verify_proof(proof, &expected).map_err(OAuthError::from)?;
        let replay_key = format!("{}:{}", verified.jkt(), verified.jti());
        let keep_until = verified
            .iat()
            .saturating_add(self.config.lifetimes.dpop_proof_age)
            .saturating_add(self.config.leeway.saturating_mul(2));
        let first = self
            .store
            .first_use(ReplayScope::DpopProof, &replay_key, keep_until, now)
            .await
            .map_err(store_error)?;
        if !first {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "the DPoP proof was used before",
            ));
        }
        Ok(Some(DpopOutcome { verified }))
    }

    /// Adds a fresh `DPoP-Nonce` to an error that asks for one.
    async fn with_dpop_nonce(&self, response: HttpResponse, error: &OAuthError) -> HttpResponse {
        if error.code != ErrorCode::UseDpopNonce {
            return response;
        }
        match self.fresh_dpop_nonce().await {
            Ok(nonce) => response.with_header(DPOP_NONCE_HEADER, &nonce),
            Err(error) => HttpResponse::error(&error),
        }
    }

    /// Authenticates the client by attestation per the policy. `Ok(None)` when it sent none
    /// and none is required. The PoP's `jti` is spent in the store.
    async fn check_client_attestation(
        &self,
        request: &HttpRequest,
        client_id: Option<&str>,
    ) -> Result<Option<client_attestation::VerifiedClientAttestation>, OAuthError> {
        let (trust, required) = match &self.config.client_attestation {
            ClientAttestationPolicy::Disabled => return Ok(None),
            ClientAttestationPolicy::Optional(trust) => (trust, false),
            ClientAttestationPolicy::Required(trust) => (trust, true),
        };
        let attestation = request.single_header(client_attestation::ATTESTATION_HEADER)?;
        let pop = request.single_header(client_attestation::POP_HEADER)?;
        let (attestation, pop) = match (attestation, pop) {
            (Some(attestation), Some(pop)) => (attestation, pop),
            (None, None) if !required => return Ok(None),
            _ => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidClient,
                    "client attestation and its PoP are required",
                ));
            }
        };
        let now = self.now();
        let expected = AttestationExpected {
            audience: &self.config.credential_issuer,
            client_id,
            now,
            max_pop_age: self.config.lifetimes.attestation_pop_age,
            leeway: self.config.leeway,
            challenge: None,
            trust,
            algorithms: &self.config.attestation_algorithms,
        };
        let verified = client_attestation::verify(attestation, pop, &expected)?;
        let keep_until = verified
            .pop_iat()
            .saturating_add(self.config.lifetimes.attestation_pop_age)
            .saturating_add(self.config.leeway.saturating_mul(2));
        let replay_key = format!("{}:{}", verified.instance_jkt(), verified.pop_jti());
        let first = self
            .store
            .first_use(ReplayScope::AttestationPop, &replay_key, keep_until, now)
            .await
            .map_err(store_error)?;
        if !first {
            return Err(OAuthError::new(
                ErrorCode::InvalidClient,
                "the client attestation PoP was used before",
            ));
        }
        Ok(Some(verified))
    }
}

/// A store failure: the peer sees `server_error`, the log the cause (never a secret: store
/// errors name kinds, not keys).
fn store_error(error: StoreError) -> OAuthError {
    tracing::error!(%error, "issuer store failed");
    OAuthError::server_error()
}

/// A fresh random secret, or `server_error`.
fn random() -> Result<String, OAuthError> {
    Ok(random_token()?)
}

/// The storage key of a bearer secret.
fn key_of(secret: &str) -> String {
    secret_key(secret)
}
