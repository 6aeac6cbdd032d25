//! Getting an access token: the authorization code flow (OpenID4VCI 1.0 §5 with a pushed
//! authorization request, RFC 9126; PKCE S256, RFC 7636; the DPoP key bound to the code by
//! `dpop_jkt`, RFC 9449 §10; `state` and `iss` checked on the way back, RFC 9207) and the
//! pre-authorized code flow (§3.5, §6.1, with the transaction code). Both token requests carry
//! a DPoP proof, and the token must come back DPoP-bound.

use std::fmt;

use eudi_http::Request;
use eudi_oauth::pkce;
use eudi_oauth::token::random_token;
use url::Url;

use crate::client::ClientError;
use crate::client::IssuerClient;
use crate::client::callback;
use crate::client::transport::AttestationUse;
use crate::client::transport::ClientAttestation;
use crate::client::transport::DpopKey;
use crate::client::transport::DpopUse;
use crate::client::transport::error_answer;
use crate::client::transport::parse_json;
use crate::messages::AuthorizationDetail;
use crate::messages::AuthorizationRequest;
use crate::messages::ParResponse;
use crate::messages::TokenRequest;
use crate::messages::TokenResponse;
use crate::metadata::AUTHORIZATION_DETAILS_TYPE;
use crate::offer::CredentialOffer;

/// The longest transaction code sent, in characters (the offer's `tx_code.length` is bounded
/// by the server at a few dozen).
pub const MAX_TX_CODE_LEN: usize = 256;

/// What the wallet asks for in an authorization code flow.
#[derive(Clone, Debug)]
pub struct AuthorizationStart {
    /// The wallet's `client_id` (the `sub` of its client attestation, when it has one).
    pub client_id: String,
    /// Where the authorization server sends the browser back (an `https` URL, a loopback
    /// `http` URL or a claimed custom scheme, as the server allows).
    pub redirect_uri: String,
    /// The credential configurations asked for (ids of the issuer's metadata, e.g. from
    /// [`IssuerClient::find_configuration`] or the offer).
    pub configuration_ids: Vec<String>,
    /// The offer's `issuer_state` (§4.1.1), when the flow started from an offer.
    pub issuer_state: Option<String>,
    /// The key the code and the tokens are bound to.
    pub dpop_key: DpopKey,
    /// The wallet's attestation (HAIP 1.0 §4.3), sent at PAR and at the token endpoint.
    pub client_attestation: Option<ClientAttestation>,
}

impl AuthorizationStart {
    /// An authorization for what `offer` offers, with its `issuer_state` (§4.1.1: the wallet
    /// MUST send it when the offer has one), no client attestation.
    pub fn for_offer(
        offer: &CredentialOffer,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
        dpop_key: DpopKey,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            configuration_ids: offer.credential_configuration_ids.clone(),
            issuer_state: offer
                .authorization_code()
                .and_then(|grant| grant.issuer_state.clone()),
            dpop_key,
            client_attestation: None,
        }
    }
}

/// An authorization the user is completing in the browser: open
/// [`PendingAuthorization::authorization_url`], then pass the callback to
/// [`IssuerClient::finish_authorization`]. `Debug` hides the PKCE verifier.
#[derive(Clone)]
pub struct PendingAuthorization {
    /// The authorization endpoint URL with `client_id` and `request_uri` (RFC 9126 §4).
    pub authorization_url: String,
    /// The `state` sent; the callback must carry it back.
    pub state: String,
    code_verifier: String,
    start: AuthorizationStart,
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("authorization_url", &self.authorization_url)
            .field("client_id", &self.start.client_id)
            .finish_non_exhaustive()
    }
}

impl PendingAuthorization {
    /// The PKCE code verifier (a secret: keep it with the pending authorization only).
    pub fn code_verifier(&self) -> &str {
        &self.code_verifier
    }
}

/// An access token and what the token response said of it. `Debug` hides the token.
#[derive(Clone)]
pub struct Tokens {
    access_token: String,
    /// `token_type`: `DPoP` (a bearer token is refused when a DPoP proof was sent).
    pub token_type: String,
    /// `expires_in`, seconds.
    pub expires_in: Option<u64>,
    /// The `openid_credential` authorization details granted, with their
    /// `credential_identifiers` (§6.2); other types are dropped.
    pub authorization_details: Vec<AuthorizationDetail>,
    pub(crate) dpop_key: DpopKey,
    /// The `client_id` the token was obtained with, `None` for anonymous pre-authorized access
    /// (the key proofs then carry no `iss`, Appendix F.1).
    pub(crate) client_id: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("authorization_details", &self.authorization_details)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens a wallet kept (for a deferred credential or a notification after a restart):
    /// the DPoP-bound `access_token`, its key, and the `client_id` it was obtained with
    /// (`None` for anonymous pre-authorized access).
    pub fn restore(access_token: String, dpop_key: DpopKey, client_id: Option<String>) -> Self {
        Self {
            access_token,
            token_type: "DPoP".into(),
            expires_in: None,
            authorization_details: Vec::new(),
            dpop_key,
            client_id,
        }
    }

    /// The `client_id` the token was obtained with (`None`: anonymous pre-authorized access).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The access token (a secret).
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The DPoP key the token is bound to.
    pub fn dpop_key(&self) -> &DpopKey {
        &self.dpop_key
    }

    /// The credential identifiers granted for configuration `id`, if the token response had
    /// authorization details for it.
    pub fn credential_identifiers(&self, id: &str) -> &[String] {
        self.authorization_details
            .iter()
            .find(|detail| detail.credential_configuration_id == id)
            .map_or(&[], |detail| detail.credential_identifiers.as_slice())
    }
}

impl IssuerClient {
    /// Pushes the authorization request (RFC 9126) for `start.configuration_ids`, with a fresh
    /// `state` and PKCE S256 verifier and the DPoP key's thumbprint as `dpop_jkt`, and returns
    /// the authorization URL to open (`client_id` and `request_uri` only).
    pub async fn start_authorization(
        &self,
        start: AuthorizationStart,
    ) -> Result<PendingAuthorization, ClientError> {
        if start.configuration_ids.is_empty() {
            return Err(ClientError::InvalidArgument(
                "no credential configuration asked for".into(),
            ));
        }
        for id in &start.configuration_ids {
            self.configuration(id)?;
        }
        if Url::parse(&start.redirect_uri).is_err() {
            return Err(ClientError::InvalidArgument(
                "the redirect URI is not an absolute URL".into(),
            ));
        }
        let server = &self.authorization_server;
        let authorization_endpoint = server.authorization_endpoint.as_deref().ok_or_else(|| {
            ClientError::Unsupported(
                "the authorization server has no authorization endpoint".into(),
            )
        })?;
        let par_endpoint = server
            .pushed_authorization_request_endpoint
            .as_deref()
            .ok_or_else(|| {
                ClientError::Unsupported(
                    "the authorization server takes no pushed authorization requests".into(),
                )
            })?;
        if !server.code_challenge_methods_supported.is_empty()
            && !server
                .code_challenge_methods_supported
                .iter()
                .any(|m| m == "S256")
        {
            return Err(ClientError::Unsupported(
                "the authorization server does not support PKCE S256".into(),
            ));
        }
        let state = random_token().map_err(|_| ClientError::Random)?;
        let code_verifier = random_token().map_err(|_| ClientError::Random)?;
        let scope = self.scope_for(&start.configuration_ids);
        let request = AuthorizationRequest {
            response_type: "code".into(),
            client_id: start.client_id.clone(),
            redirect_uri: start.redirect_uri.clone(),
            code_challenge: pkce::s256_challenge(&code_verifier),
            code_challenge_method: "S256".into(),
            state: Some(state.clone()),
            scope: scope.clone(),
            authorization_details: match scope {
                Some(_) => Vec::new(),
                None => self.authorization_details_for(&start.configuration_ids),
            },
            issuer_state: start.issuer_state.clone(),
            dpop_jkt: Some(start.dpop_key.thumbprint()),
        };
        let form = request
            .to_form()
            .map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
        let request = Request::post(par_endpoint, "application/x-www-form-urlencoded", form)
            .accept("application/json");
        let attestation = start
            .client_attestation
            .as_ref()
            .map(|attestation| AttestationUse {
                attestation,
                client_id: &start.client_id,
                audience: &server.issuer,
            });
        let request = match &attestation {
            Some(with) => self.transport.attest_request(request, with).await?,
            None => request,
        };
        let response = self
            .transport
            .send(request, "PAR", self.transport.config.max_response_bytes)
            .await?;
        if !matches!(response.status, 200 | 201) {
            return Err(error_answer("PAR", &response));
        }
        let pushed: ParResponse = parse_json("PAR", &response)?;
        let mut url = self.transport.config.check_url(authorization_endpoint)?;
        url.query_pairs_mut()
            .append_pair("client_id", &start.client_id)
            .append_pair("request_uri", &pushed.request_uri);
        Ok(PendingAuthorization {
            authorization_url: url.to_string(),
            state,
            code_verifier,
            start,
        })
    }

    /// The `scope` to ask with instead of `authorization_details` (§5.1.2): only when the
    /// server lists the `authorization_details` types it takes without `openid_credential`,
    /// and every configuration asked for has a scope.
    fn scope_for(&self, ids: &[String]) -> Option<String> {
        let types = &self
            .authorization_server
            .authorization_details_types_supported;
        if types.is_empty() || types.iter().any(|t| t == AUTHORIZATION_DETAILS_TYPE) {
            return None;
        }
        let scopes: Option<Vec<&str>> = ids
            .iter()
            .map(|id| {
                self.issuer
                    .credential_configurations_supported
                    .get(id)
                    .and_then(|configuration| configuration.scope.as_deref())
            })
            .collect();
        scopes.map(|scopes| scopes.join(" "))
    }

    /// `authorization_details` of type `openid_credential` for `ids` (§5.1.1); with an
    /// external authorization server, each names the credential issuer in `locations`
    /// (§5.1.1: "MUST contain the Credential Issuer's identifier").
    fn authorization_details_for(&self, ids: &[String]) -> Vec<AuthorizationDetail> {
        let external = !self.issuer.authorization_servers.is_empty();
        ids.iter()
            .map(|id| {
                let mut detail = AuthorizationDetail::new(id.as_str());
                if external {
                    detail.locations = vec![self.issuer.credential_issuer.clone()];
                }
                detail
            })
            .collect()
    }

    /// Reads the authorization response (the callback URL or its query) and redeems the code:
    /// `state` must be the one sent, `iss` this authorization server (required when it
    /// announces `authorization_response_iss_parameter_supported`, RFC 9207 §2.4), an `error`
    /// becomes [`ClientError::AuthorizationDenied`]; the token request carries the PKCE
    /// verifier, the redirect URI, a DPoP proof and the client attestation, when there is one.
    pub async fn finish_authorization(
        &self,
        pending: PendingAuthorization,
        callback: &str,
    ) -> Result<Tokens, ClientError> {
        let server = &self.authorization_server;
        let code = callback::read(
            callback,
            &pending.state,
            &server.issuer,
            server.authorization_response_iss_parameter_supported,
        )?;
        let start = &pending.start;
        let form = TokenRequest::AuthorizationCode {
            code,
            redirect_uri: Some(start.redirect_uri.clone()),
            code_verifier: pending.code_verifier.clone(),
            client_id: Some(start.client_id.clone()),
        }
        .to_form();
        let attestation = start
            .client_attestation
            .as_ref()
            .map(|attestation| AttestationUse {
                attestation,
                client_id: &start.client_id,
                audience: &server.issuer,
            });
        self.token_request(
            form,
            &start.dpop_key,
            attestation.as_ref(),
            Some(start.client_id.clone()),
        )
        .await
    }

    /// Redeems the offer's pre-authorized code (§6.1) anonymously, with `tx_code` when the
    /// offer asks for one (and refusing to send one it did not ask for, §6.1), and a DPoP
    /// proof by `dpop_key`.
    pub async fn pre_authorized(
        &self,
        offer: &CredentialOffer,
        tx_code: Option<&str>,
        dpop_key: DpopKey,
    ) -> Result<Tokens, ClientError> {
        self.redeem_pre_authorized(offer, tx_code, dpop_key, None, None)
            .await
    }

    /// [`Self::pre_authorized`] as client `client_id`, authenticated by `attestation` when
    /// given (for an authorization server without anonymous access, §12.3, or one requiring
    /// wallet attestations, HAIP 1.0 §4.3). The key proofs then carry `iss` (Appendix F.1).
    pub async fn pre_authorized_as(
        &self,
        offer: &CredentialOffer,
        tx_code: Option<&str>,
        dpop_key: DpopKey,
        client_id: &str,
        attestation: Option<&ClientAttestation>,
    ) -> Result<Tokens, ClientError> {
        self.redeem_pre_authorized(offer, tx_code, dpop_key, Some(client_id), attestation)
            .await
    }

    async fn redeem_pre_authorized(
        &self,
        offer: &CredentialOffer,
        tx_code: Option<&str>,
        dpop_key: DpopKey,
        client_id: Option<&str>,
        attestation: Option<&ClientAttestation>,
    ) -> Result<Tokens, ClientError> {
        if offer.credential_issuer != self.issuer.credential_issuer {
            return Err(ClientError::InvalidArgument(
                "the offer is for another credential issuer".into(),
            ));
        }
        let grant = offer.pre_authorized_code().ok_or_else(|| {
            ClientError::InvalidArgument("the offer has no pre-authorized code".into())
        })?;
        let tx_code = match (&grant.tx_code, tx_code) {
            (Some(_), Some(code))
                if !code.is_empty() && code.chars().count() <= MAX_TX_CODE_LEN =>
            {
                Some(code.to_owned())
            }
            (Some(_), _) => {
                return Err(ClientError::InvalidArgument(
                    "the offer asks for a transaction code (of sane length)".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(ClientError::InvalidArgument(
                    "the offer asks for no transaction code".into(),
                ));
            }
            (None, None) => None,
        };
        let form = TokenRequest::PreAuthorizedCode {
            pre_authorized_code: grant.pre_authorized_code.clone(),
            tx_code,
            client_id: client_id.map(str::to_owned),
        }
        .to_form();
        let attestation = match (attestation, client_id) {
            (Some(attestation), Some(client_id)) => Some(AttestationUse {
                attestation,
                client_id,
                audience: &self.authorization_server.issuer,
            }),
            _ => None,
        };
        self.token_request(
            form,
            &dpop_key,
            attestation.as_ref(),
            client_id.map(str::to_owned),
        )
        .await
    }

    /// A token request (RFC 6749 §4.1.3 / OpenID4VCI §6.1) with DPoP: the answer must be a
    /// `DPoP` token (RFC 9449 §5: a client that sent a proof must not accept a bearer token).
    async fn token_request(
        &self,
        form: String,
        dpop_key: &DpopKey,
        attestation: Option<&AttestationUse<'_>>,
        client_id: Option<String>,
    ) -> Result<Tokens, ClientError> {
        let supported = &self.authorization_server.dpop_signing_alg_values_supported;
        let alg = dpop_key.algorithm().jose_name();
        if !supported.is_empty() && !supported.iter().any(|a| a == alg) {
            return Err(ClientError::Unsupported(format!(
                "the authorization server takes no {alg} DPoP proofs"
            )));
        }
        let endpoint = &self.authorization_server.token_endpoint;
        let request = Request::post(endpoint.as_str(), "application/x-www-form-urlencoded", form)
            .accept("application/json");
        let response = self
            .transport
            .send_with_dpop(
                request,
                "token",
                &DpopUse {
                    key: dpop_key,
                    access_token: None,
                },
                attestation,
            )
            .await?;
        if response.status != 200 {
            return Err(error_answer("token", &response));
        }
        let answer: TokenResponse = parse_json("token", &response)?;
        if !answer.is_dpop() {
            return Err(ClientError::invalid_response(
                "token",
                format!(
                    "token_type is {:?} though a DPoP proof was sent",
                    answer.token_type
                ),
            ));
        }
        if answer.access_token.is_empty() {
            return Err(ClientError::invalid_response("token", "empty access token"));
        }
        let authorization_details = answer
            .authorization_details
            .unwrap_or_default()
            .into_iter()
            .filter(|detail| detail.type_ == AUTHORIZATION_DETAILS_TYPE)
            .collect();
        Ok(Tokens {
            access_token: answer.access_token,
            token_type: answer.token_type,
            expires_in: answer.expires_in,
            authorization_details,
            dpop_key: dpop_key.clone(),
            client_id,
        })
    }
}
