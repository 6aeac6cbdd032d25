//! What an [`super::Issuer`] is configured with: the credential issuer identifier, the
//! configurations it issues, and every limit and lifetime as a named value.

use std::collections::BTreeMap;

use eudi_oauth::client_attestation::WalletProviderTrust;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::jwe::ContentEncryption;

use crate::metadata::CredentialConfiguration;
use crate::metadata::Display;
use crate::proof::KeyAttestationTrust;

/// The default batch size (`batch_credential_issuance.batch_size`).
pub const DEFAULT_BATCH_SIZE: u32 = 10;
/// The largest batch size accepted in a configuration.
pub const MAX_BATCH_SIZE: u32 = 100;
/// The default number of wrong transaction codes tolerated per pre-authorized code.
pub const DEFAULT_TX_CODE_ATTEMPTS: u32 = 3;
/// The number of digits of a transaction code.
pub const TX_CODE_DIGITS: u32 = 6;

/// Lifetimes, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// A pushed authorization request's `request_uri` (RFC 9126 §2.2: short).
    pub par: i64,
    /// The login at MitID, from `/authorize` to its completion.
    pub login: i64,
    /// An authorization code (RFC 6749 §4.1.2: at most 10 minutes, short recommended).
    pub code: i64,
    /// An access token.
    pub access_token: i64,
    /// A `c_nonce`.
    pub c_nonce: i64,
    /// A server DPoP nonce.
    pub dpop_nonce: i64,
    /// A pre-authorized code (and its offer by reference).
    pub pre_authorized_code: i64,
    /// A deferred issuance awaiting review and the wallet's poll.
    pub deferred: i64,
    /// A `notification_id`.
    pub notification: i64,
    /// The oldest DPoP proof accepted (its `iat`).
    pub dpop_proof_age: i64,
    /// The oldest key proof accepted (its `iat`).
    pub key_proof_age: i64,
    /// The oldest client attestation PoP accepted.
    pub attestation_pop_age: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            par: 60,
            login: 600,
            code: 60,
            access_token: 300,
            c_nonce: 300,
            dpop_nonce: 300,
            pre_authorized_code: 600,
            deferred: 7 * 24 * 3600,
            notification: 24 * 3600,
            dpop_proof_age: 60,
            key_proof_age: 300,
            attestation_pop_age: 300,
        }
    }
}

/// Client authentication by OAuth attestation (HAIP 1.0 §4.4.1 asks wallets for it).
#[derive(Clone, Debug, Default)]
pub enum ClientAttestationPolicy {
    /// Never checked (public clients, `token_endpoint_auth_method` `none`).
    #[default]
    Disabled,
    /// Checked when sent, by these wallet providers.
    Optional(WalletProviderTrust),
    /// Required at PAR and token endpoints, from these wallet providers.
    Required(WalletProviderTrust),
}

/// Credential response encryption (§10) the issuer offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseEncryptionConfig {
    /// Content encryption algorithms (`ECDH-ES` is the only key management algorithm).
    pub encs: Vec<ContentEncryption>,
    /// Whether wallets must ask for an encrypted response.
    pub required: bool,
}

impl Default for ResponseEncryptionConfig {
    fn default() -> Self {
        Self {
            encs: ContentEncryption::ALL.to_vec(),
            required: false,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The credential issuer identifier is not an absolute `https` URL (or `http` on a
    /// loopback host, for development) without query, fragment or trailing slash.
    #[error("the credential issuer identifier is not a valid URL: {0}")]
    CredentialIssuer(String),
    /// No configurations, or one without a format.
    #[error("invalid credential configurations: {0}")]
    Configurations(&'static str),
    /// A limit is out of range.
    #[error("invalid limit: {0}")]
    Limit(&'static str),
}

/// The issuer's configuration.
#[derive(Clone, Debug)]
pub struct IssuerConfig {
    /// The Credential Issuer Identifier (also the authorization server's issuer), no trailing
    /// slash.
    pub credential_issuer: String,
    /// What is issued, by configuration id.
    pub configurations: BTreeMap<String, CredentialConfiguration>,
    /// How to show the issuer.
    pub display: Vec<Display>,
    /// The most key proofs (credentials) per request; at least 2.
    pub batch_size: u32,
    /// Lifetimes.
    pub lifetimes: Lifetimes,
    /// Wrong transaction codes tolerated per pre-authorized code (at least 1).
    pub tx_code_attempts: u32,
    /// Whether DPoP proofs must carry a server nonce (RFC 9449 §8).
    pub dpop_nonce_required: bool,
    /// Client attestation.
    pub client_attestation: ClientAttestationPolicy,
    /// Credential response encryption; `None` when not offered.
    pub response_encryption: Option<ResponseEncryptionConfig>,
    /// Accepted key proof algorithms.
    pub proof_algorithms: AlgorithmPolicy,
    /// Accepted DPoP proof algorithms.
    pub dpop_algorithms: AlgorithmPolicy,
    /// Accepted client attestation algorithms.
    pub attestation_algorithms: AlgorithmPolicy,
    /// Trusted key attestation issuers (for configurations that require key attestations, and
    /// for key attestations wallets send anyway).
    pub key_attestation_trust: KeyAttestationTrust,
    /// Clock skew tolerated in every time check, seconds.
    pub leeway: i64,
    /// The `interval` a wallet is told to wait before polling a deferred issuance, seconds.
    pub deferred_interval: u64,
}

impl IssuerConfig {
    /// A configuration with the defaults: batch size 10, the default [`Lifetimes`], 3 tx_code
    /// attempts, DPoP nonces required, no client attestation, response encryption offered but
    /// not required, ES256 only.
    pub fn new(
        credential_issuer: impl Into<String>,
        configurations: BTreeMap<String, CredentialConfiguration>,
    ) -> Self {
        Self {
            credential_issuer: credential_issuer.into(),
            configurations,
            display: Vec::new(),
            batch_size: DEFAULT_BATCH_SIZE,
            lifetimes: Lifetimes::default(),
            tx_code_attempts: DEFAULT_TX_CODE_ATTEMPTS,
            dpop_nonce_required: true,
            client_attestation: ClientAttestationPolicy::Disabled,
            response_encryption: Some(ResponseEncryptionConfig::default()),
            proof_algorithms: AlgorithmPolicy::default(),
            dpop_algorithms: AlgorithmPolicy::default(),
            attestation_algorithms: AlgorithmPolicy::default(),
            key_attestation_trust: KeyAttestationTrust::default(),
            leeway: 30,
            deferred_interval: 5,
        }
    }

    /// Checks the identifier, configurations and limits.
    pub fn check(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(&self.credential_issuer)
            .map_err(|e| ConfigError::CredentialIssuer(e.to_string()))?;
        let loopback = matches!(
            url.host(),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback()
        ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
            || url.host_str() == Some("localhost");
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !scheme_ok
            || url.query().is_some()
            || url.fragment().is_some()
            || self.credential_issuer.ends_with('/')
        {
            return Err(ConfigError::CredentialIssuer(
                "an https URL (http only on loopback) without query, fragment or trailing slash"
                    .into(),
            ));
        }
        if self.configurations.is_empty() {
            return Err(ConfigError::Configurations("there is none"));
        }
        if self
            .configurations
            .iter()
            .any(|(id, configuration)| id.is_empty() || configuration.format.is_empty())
        {
            return Err(ConfigError::Configurations(
                "a configuration has an empty id or format",
            ));
        }
        if !(2..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(ConfigError::Limit("batch_size must be 2..=100"));
        }
        if self.tx_code_attempts == 0 {
            return Err(ConfigError::Limit("tx_code_attempts must be at least 1"));
        }
        let l = &self.lifetimes;
        if [
            l.par,
            l.login,
            l.code,
            l.access_token,
            l.c_nonce,
            l.dpop_nonce,
            l.pre_authorized_code,
            l.deferred,
            l.notification,
            l.dpop_proof_age,
            l.key_proof_age,
            l.attestation_pop_age,
        ]
        .iter()
        .any(|&seconds| seconds <= 0)
        {
            return Err(ConfigError::Limit("every lifetime must be positive"));
        }
        if self.leeway < 0 {
            return Err(ConfigError::Limit("leeway must not be negative"));
        }
        if self
            .response_encryption
            .as_ref()
            .is_some_and(|encryption| encryption.encs.is_empty())
        {
            return Err(ConfigError::Limit(
                "response encryption needs at least one enc",
            ));
        }
        Ok(())
    }
}
