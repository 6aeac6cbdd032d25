//! The wallet side of OpenID4VCI 1.0 (with the HAIP 1.0 profile): resolving a credential offer
//! (§4.1), the issuer's and authorization server's metadata (§12.2, RFC 8414), the authorization
//! code flow with PAR (RFC 9126), PKCE S256 (RFC 7636) and RFC 9207 `iss` checks (§5), the
//! pre-authorized code flow with a transaction code (§3.5, §6.1), the nonce endpoint (§7),
//! credential requests with one key proof per key (§8, Appendix F.1), encrypted credential
//! responses (§10), deferred issuance (§9) and notifications (§11). Access tokens are
//! DPoP-bound (RFC 9449) with the servers' nonces; every request goes through the bounded
//! [`eudi_http::HttpClient`] after the client's own [`eudi_http::UrlPolicy`] check.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use eudi_oid4vci::client::*;
//! # async fn run(http: Arc<dyn eudi_http::HttpClient>, key: Arc<dyn eudi_trust::Signer>,
//! #     holder: &dyn eudi_trust::Signer) -> Result<(), ClientError> {
//! let config = ClientConfig::default();
//! let offer = resolve_offer(http.as_ref(), "openid-credential-offer://?credential_offer=…", &config).await?;
//! let client = IssuerClient::for_offer(http, &offer, config).await?;
//! let tokens = client.pre_authorized(&offer, Some("493536"), DpopKey::new(key)).await?;
//! let (id, _) = client.find_configuration("dc+sd-jwt", "urn:eudi:pid:1").ok_or(
//!     ClientError::Unsupported("no PID".into()))?;
//! let id = id.to_owned();
//! match client.request_credentials(&tokens, &id, &[holder], EncryptResponse::IfRequired).await? {
//!     CredentialOutcome::Issued { credentials, notification_id } => { /* store them */ }
//!     CredentialOutcome::Deferred { transaction_id, interval } => { /* poll later */ }
//! }
//! # Ok(()) }
//! ```

mod callback;
mod credential;
mod discovery;
mod error;
mod offer;
mod token;
mod transport;

use std::fmt;
use std::sync::Arc;

use eudi_http::HttpClient;

pub use self::callback::MAX_CALLBACK_LEN;
pub use self::credential::AttestedKey;
pub use self::credential::CredentialOutcome;
pub use self::credential::EncryptResponse;
pub use self::credential::MAX_CREDENTIALS;
pub use self::discovery::AUTHORIZATION_SERVER_WELL_KNOWN;
pub use self::discovery::CREDENTIAL_ISSUER_WELL_KNOWN;
pub use self::discovery::well_known_url;
pub use self::error::ClientError;
pub use self::offer::OFFER_SCHEMES;
pub use self::offer::resolve_offer;
pub use self::token::AuthorizationStart;
pub use self::token::MAX_TX_CODE_LEN;
pub use self::token::PendingAuthorization;
pub use self::token::Tokens;
pub use self::transport::ClientAttestation;
pub use self::transport::ClientConfig;
pub use self::transport::DEFAULT_MAX_METADATA_BYTES;
pub use self::transport::DEFAULT_MAX_RESPONSE_BYTES;
pub use self::transport::DpopKey;
pub use self::transport::MAX_DPOP_NONCE_LEN;
pub use self::transport::MAX_REMEMBERED_NONCES;
use crate::client::transport::Transport;
use crate::metadata::AuthorizationServerMetadata;
use crate::metadata::CredentialConfiguration;
use crate::metadata::CredentialIssuerMetadata;
use crate::offer::CredentialOffer;

/// A client of one credential issuer and its authorization server, made from their checked
/// metadata. It remembers the servers' DPoP nonces, so one client serves a whole flow.
pub struct IssuerClient {
    transport: Transport,
    issuer: CredentialIssuerMetadata,
    authorization_server: AuthorizationServerMetadata,
}

impl fmt::Debug for IssuerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerClient")
            .field("credential_issuer", &self.issuer.credential_issuer)
            .field("authorization_server", &self.authorization_server.issuer)
            .finish_non_exhaustive()
    }
}

impl IssuerClient {
    /// Fetches the metadata of credential issuer `issuer_url` (which it must name as its
    /// `credential_issuer`, §12.2.4) and of its authorization server (the first of
    /// `authorization_servers`, or the issuer itself; its `issuer` must be that identifier,
    /// RFC 8414 §3.3).
    pub async fn connect(
        http: Arc<dyn HttpClient>,
        issuer_url: &str,
        config: ClientConfig,
    ) -> Result<Self, ClientError> {
        Self::connect_via(http, issuer_url, None, config).await
    }

    /// [`Self::connect`] for the issuer of `offer`, using the authorization server the offer's
    /// grant names (which must be one of the issuer's, §4.1.1), and checking that the issuer
    /// has every configuration offered.
    pub async fn for_offer(
        http: Arc<dyn HttpClient>,
        offer: &CredentialOffer,
        config: ClientConfig,
    ) -> Result<Self, ClientError> {
        let hint = offer
            .pre_authorized_code()
            .and_then(|grant| grant.authorization_server.as_deref())
            .or_else(|| {
                offer
                    .authorization_code()
                    .and_then(|grant| grant.authorization_server.as_deref())
            });
        let client = Self::connect_via(http, &offer.credential_issuer, hint, config).await?;
        for id in &offer.credential_configuration_ids {
            if !client
                .issuer
                .credential_configurations_supported
                .contains_key(id)
            {
                return Err(ClientError::InvalidOffer(format!(
                    "the issuer's metadata has no configuration {id:?}"
                )));
            }
        }
        Ok(client)
    }

    async fn connect_via(
        http: Arc<dyn HttpClient>,
        issuer_url: &str,
        authorization_server: Option<&str>,
        config: ClientConfig,
    ) -> Result<Self, ClientError> {
        let transport = Transport::new(http, config);
        let issuer = discovery::issuer_metadata(&transport, issuer_url).await?;
        let server = match (
            authorization_server,
            issuer.authorization_servers.as_slice(),
        ) {
            (Some(hint), servers) if servers.iter().any(|s| s == hint) => hint.to_owned(),
            (Some(hint), _) => {
                return Err(ClientError::InvalidOffer(format!(
                    "the offer's authorization server {hint:?} is not one of the issuer's"
                )));
            }
            (None, [first, ..]) => first.clone(),
            (None, []) => issuer.credential_issuer.clone(),
        };
        let authorization_server =
            discovery::authorization_server_metadata(&transport, &server).await?;
        Ok(Self {
            transport,
            issuer,
            authorization_server,
        })
    }

    /// The credential issuer's metadata.
    pub fn metadata(&self) -> &CredentialIssuerMetadata {
        &self.issuer
    }

    /// The authorization server's metadata.
    pub fn authorization_server(&self) -> &AuthorizationServerMetadata {
        &self.authorization_server
    }

    /// The configuration of `format` issuing `vct_or_doctype`, with its id: configurations are
    /// found by what they issue, never by their issuer-chosen id (DESIGN.md).
    pub fn find_configuration(
        &self,
        format: &str,
        vct_or_doctype: &str,
    ) -> Option<(&str, &CredentialConfiguration)> {
        self.issuer.find_by_format(format, vct_or_doctype)
    }

    fn configuration(&self, id: &str) -> Result<&CredentialConfiguration, ClientError> {
        self.issuer
            .credential_configurations_supported
            .get(id)
            .ok_or_else(|| ClientError::Unsupported(format!("no credential configuration {id:?}")))
    }
}
