//! What the issuer stores between steps, as JSON in the store's opaque `record` bytes.

use eudi_oauth::OAuthError;
use eudi_trust::b64;
use eudi_trust::jwk::Jwk;
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A pushed authorization request, checked (RFC 9126).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PushedRecord {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) state: Option<String>,
    pub(crate) configuration_ids: Vec<String>,
    pub(crate) issuer_state: Option<String>,
    /// The DPoP key the code is bound to (RFC 9449 §10).
    pub(crate) dpop_jkt: Option<String>,
}

/// An authorization code: the request and whom the person logged in as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CodeRecord {
    pub(crate) request: PushedRecord,
    /// The subject, base64url.
    pub(crate) subject: String,
}

/// The grant of a pre-authorized code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GrantRecord {
    pub(crate) subject: String,
    pub(crate) configuration_ids: Vec<String>,
}

/// One credential dataset an access token grants (`credential_identifiers`, §6.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GrantedCredential {
    pub(crate) identifier: String,
    pub(crate) configuration_id: String,
}

/// An access token's grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    pub(crate) subject: String,
    /// The client, when it identified itself (key proofs' `iss` must then be it).
    pub(crate) client_id: Option<String>,
    pub(crate) credentials: Vec<GrantedCredential>,
    /// The DPoP key the token is bound to (`cnf.jkt`, RFC 9449 §6).
    pub(crate) dpop_jkt: Option<String>,
}

/// What issuing a deferred request needs once it is approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeferredData {
    pub(crate) subject: String,
    pub(crate) configuration_id: String,
    pub(crate) holder_keys: Vec<Jwk>,
}

/// A `notification_id`'s context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NotificationRecord {
    /// The subject the credentials were issued to, so only its tokens may notify.
    pub(crate) subject: String,
    pub(crate) configuration_id: String,
}

pub(crate) fn encode_subject(subject: &[u8]) -> String {
    b64::encode(subject)
}

pub(crate) fn decode_subject(subject: &str) -> Result<Vec<u8>, OAuthError> {
    b64::decode(subject).map_err(|_| corrupt("subject"))
}

pub(crate) fn to_bytes(record: &impl Serialize) -> Result<Vec<u8>, OAuthError> {
    serde_json::to_vec(record).map_err(|_| OAuthError::server_error())
}

pub(crate) fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, OAuthError> {
    serde_json::from_slice(bytes).map_err(|_| corrupt("record"))
}

fn corrupt(what: &str) -> OAuthError {
    tracing::error!(what, "a stored issuer record does not read back");
    OAuthError::server_error()
}
