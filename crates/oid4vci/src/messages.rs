//! The request and response messages of OpenID4VCI 1.0 and the OAuth endpoints it uses: the
//! pushed authorization request (RFC 9126, §5.1), the token request and response (§6), the
//! nonce response (§7.2), the credential request and response (§8.2, §8.3), the deferred
//! credential request (§9.1) and the notification request (§11.1).
//!
//! Both sides use these types: the issuer reads requests and writes responses, the wallet the
//! other way round. JSON members this crate does not know are ignored when reading (§8.2:
//! the issuer ignores unknown parameters). Secrets (codes, tokens, verifiers) never appear in
//! `Debug` output.

use std::fmt;

use eudi_oauth::Form;
use eudi_oauth::OAuthError;
use eudi_trust::jwk::Jwk;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

use crate::metadata::AUTHORIZATION_DETAILS_TYPE;
use crate::offer::PRE_AUTHORIZED_CODE_GRANT;

/// The `grant_type` of the authorization code grant (RFC 6749 §4.1.3).
pub const AUTHORIZATION_CODE_GRANT: &str = "authorization_code";
/// The most `authorization_details` entries read from one request.
pub const MAX_AUTHORIZATION_DETAILS: usize = 16;
/// The most `credential_identifiers` one `authorization_details` entry may carry.
pub const MAX_CREDENTIAL_IDENTIFIERS: usize = 16;
/// The longest `event_description` of a notification.
pub const MAX_EVENT_DESCRIPTION_LEN: usize = 1024;

const REDACTED: &str = "<redacted>";

// ---------------------------------------------------------------------------------------------
// authorization_details (RFC 9396, OpenID4VCI 1.0 §5.1.1)
// ---------------------------------------------------------------------------------------------

/// One `openid_credential` entry of `authorization_details` (§5.1.1; in the token response with
/// `credential_identifiers`, §6.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationDetail {
    /// Always `openid_credential`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The configuration asked for or granted.
    pub credential_configuration_id: String,
    /// The credential datasets the token grants (token response only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_identifiers: Vec<String>,
    /// Resource locations (the credential issuer, when the AS serves several).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
}

impl AuthorizationDetail {
    /// An `openid_credential` entry for `configuration_id`.
    pub fn new(configuration_id: impl Into<String>) -> Self {
        Self {
            type_: AUTHORIZATION_DETAILS_TYPE.into(),
            credential_configuration_id: configuration_id.into(),
            credential_identifiers: Vec::new(),
            locations: Vec::new(),
        }
    }

    /// Reads an `authorization_details` JSON array, keeping the `openid_credential` entries and
    /// skipping entries of other types (RFC 9396 §2: each type is the business of whoever knows
    /// it). A malformed `openid_credential` entry, a non-array or too many entries is
    /// `invalid_request`.
    pub fn parse_list(json: &str) -> Result<Vec<Self>, OAuthError> {
        let entries: Vec<Value> = serde_json::from_str(json).map_err(|_| {
            OAuthError::invalid_request("authorization_details is not a JSON array")
        })?;
        Self::from_values(entries)
    }

    /// [`AuthorizationDetail::parse_list`] over already-parsed entries.
    pub fn from_values(entries: Vec<Value>) -> Result<Vec<Self>, OAuthError> {
        if entries.len() > MAX_AUTHORIZATION_DETAILS {
            return Err(OAuthError::invalid_request(
                "too many authorization_details entries",
            ));
        }
        let mut details = Vec::new();
        for entry in entries {
            if entry.get("type").and_then(Value::as_str) != Some(AUTHORIZATION_DETAILS_TYPE) {
                if entry.get("type").and_then(Value::as_str).is_none() {
                    return Err(OAuthError::invalid_request(
                        "an authorization_details entry has no type",
                    ));
                }
                continue;
            }
            let detail: Self = serde_json::from_value(entry).map_err(|_| {
                OAuthError::invalid_request("a malformed openid_credential authorization detail")
            })?;
            if detail.credential_configuration_id.is_empty()
                || detail.credential_identifiers.len() > MAX_CREDENTIAL_IDENTIFIERS
            {
                return Err(OAuthError::invalid_request(
                    "a malformed openid_credential authorization detail",
                ));
            }
            details.push(detail);
        }
        Ok(details)
    }
}

// ---------------------------------------------------------------------------------------------
// Pushed authorization request (RFC 9126 §2.1, OpenID4VCI 1.0 §5.1)
// ---------------------------------------------------------------------------------------------

/// The parameters of an authorization request, as pushed to the PAR endpoint (RFC 9126 §2.1)
/// in a form body.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// `code`.
    pub response_type: String,
    /// The wallet's client id.
    pub client_id: String,
    /// Where the code is sent.
    pub redirect_uri: String,
    /// PKCE S256 challenge (RFC 7636 §4.2).
    pub code_challenge: String,
    /// `S256`.
    pub code_challenge_method: String,
    /// The client's CSRF state, returned unchanged.
    pub state: Option<String>,
    /// Scopes of credential configurations (§5.1.2).
    pub scope: Option<String>,
    /// `openid_credential` details (§5.1.1).
    pub authorization_details: Vec<AuthorizationDetail>,
    /// The `issuer_state` of a credential offer (§5.1.3).
    pub issuer_state: Option<String>,
    /// The thumbprint of the DPoP key the code is to be bound to (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("response_type", &self.response_type)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .field("authorization_details", &self.authorization_details)
            .field(
                "issuer_state",
                &self.issuer_state.as_ref().map(|_| REDACTED),
            )
            .field("dpop_jkt", &self.dpop_jkt)
            .finish_non_exhaustive()
    }
}

impl AuthorizationRequest {
    /// The form body.
    pub fn to_form(&self) -> Result<String, OAuthError> {
        let details = if self.authorization_details.is_empty() {
            None
        } else {
            Some(
                serde_json::to_string(&self.authorization_details)
                    .map_err(|_| OAuthError::server_error())?,
            )
        };
        let mut params = vec![
            ("response_type", self.response_type.as_str()),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_challenge", self.code_challenge.as_str()),
            ("code_challenge_method", self.code_challenge_method.as_str()),
        ];
        let optional = [
            ("state", self.state.as_deref()),
            ("scope", self.scope.as_deref()),
            ("authorization_details", details.as_deref()),
            ("issuer_state", self.issuer_state.as_deref()),
            ("dpop_jkt", self.dpop_jkt.as_deref()),
        ];
        params.extend(
            optional
                .into_iter()
                .filter_map(|(name, value)| value.map(|value| (name, value))),
        );
        Ok(eudi_oauth::form::encode(params))
    }

    /// Reads the form. Only syntax is checked here (required members present, details
    /// parsable); the server applies its policy (S256, redirect URIs, scopes).
    pub fn from_form(form: &Form) -> Result<Self, OAuthError> {
        let authorization_details = match form.get("authorization_details") {
            Some(json) => AuthorizationDetail::parse_list(json)?,
            None => Vec::new(),
        };
        Ok(Self {
            response_type: form.required("response_type")?.to_owned(),
            client_id: form.required("client_id")?.to_owned(),
            redirect_uri: form.required("redirect_uri")?.to_owned(),
            code_challenge: form.required("code_challenge")?.to_owned(),
            code_challenge_method: form.required("code_challenge_method")?.to_owned(),
            state: form.get("state").map(str::to_owned),
            scope: form.get("scope").map(str::to_owned),
            authorization_details,
            issuer_state: form.get("issuer_state").map(str::to_owned),
            dpop_jkt: form.get("dpop_jkt").map(str::to_owned),
        })
    }
}

/// The PAR endpoint's answer (RFC 9126 §2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParResponse {
    /// The reference to pass to the authorization endpoint.
    pub request_uri: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
}

// ---------------------------------------------------------------------------------------------
// Token endpoint (RFC 6749 §4.1.3, OpenID4VCI 1.0 §6)
// ---------------------------------------------------------------------------------------------

/// A token request (§6.1), sent as a form body.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenRequest {
    /// `grant_type=authorization_code` (RFC 6749 §4.1.3 with PKCE, RFC 7636 §4.5).
    AuthorizationCode {
        /// The code from the authorization response.
        code: String,
        /// The `redirect_uri` of the authorization request.
        redirect_uri: Option<String>,
        /// The PKCE verifier.
        code_verifier: String,
        /// The client id (public clients send it, RFC 6749 §4.1.3).
        client_id: Option<String>,
    },
    /// `grant_type=urn:ietf:params:oauth:grant-type:pre-authorized_code` (§6.1).
    PreAuthorizedCode {
        /// The code from the credential offer.
        pre_authorized_code: String,
        /// The transaction code, when the offer asked for one.
        tx_code: Option<String>,
        /// The client id, when the client identifies itself.
        client_id: Option<String>,
    },
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthorizationCode {
                redirect_uri,
                client_id,
                ..
            } => f
                .debug_struct("AuthorizationCode")
                .field("code", &REDACTED)
                .field("redirect_uri", redirect_uri)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            Self::PreAuthorizedCode {
                tx_code, client_id, ..
            } => f
                .debug_struct("PreAuthorizedCode")
                .field("pre_authorized_code", &REDACTED)
                .field("tx_code", &tx_code.as_ref().map(|_| REDACTED))
                .field("client_id", client_id)
                .finish(),
        }
    }
}

impl TokenRequest {
    /// The form body.
    pub fn to_form(&self) -> String {
        let mut params: Vec<(&str, &str)> = Vec::new();
        match self {
            Self::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
                client_id,
            } => {
                params.push(("grant_type", AUTHORIZATION_CODE_GRANT));
                params.push(("code", code));
                if let Some(redirect_uri) = redirect_uri {
                    params.push(("redirect_uri", redirect_uri));
                }
                params.push(("code_verifier", code_verifier));
                if let Some(client_id) = client_id {
                    params.push(("client_id", client_id));
                }
            }
            Self::PreAuthorizedCode {
                pre_authorized_code,
                tx_code,
                client_id,
            } => {
                params.push(("grant_type", PRE_AUTHORIZED_CODE_GRANT));
                params.push(("pre-authorized_code", pre_authorized_code));
                if let Some(tx_code) = tx_code {
                    params.push(("tx_code", tx_code));
                }
                if let Some(client_id) = client_id {
                    params.push(("client_id", client_id));
                }
            }
        }
        eudi_oauth::form::encode(params)
    }

    /// Reads the form: `unsupported_grant_type` for another grant, `invalid_request` when a
    /// member is missing.
    pub fn from_form(form: &Form) -> Result<Self, OAuthError> {
        match form.required("grant_type")? {
            AUTHORIZATION_CODE_GRANT => Ok(Self::AuthorizationCode {
                code: form.required("code")?.to_owned(),
                redirect_uri: form.get("redirect_uri").map(str::to_owned),
                code_verifier: form.required("code_verifier")?.to_owned(),
                client_id: form.get("client_id").map(str::to_owned),
            }),
            PRE_AUTHORIZED_CODE_GRANT => Ok(Self::PreAuthorizedCode {
                pre_authorized_code: form.required("pre-authorized_code")?.to_owned(),
                tx_code: form.get("tx_code").map(str::to_owned),
                client_id: form.get("client_id").map(str::to_owned),
            }),
            _ => Err(OAuthError::new(
                eudi_oauth::ErrorCode::UnsupportedGrantType,
                "the grant type is not supported",
            )),
        }
    }
}

/// A successful token response (§6.2). A `c_nonce` is not part of it in 1.0 (the nonce
/// endpoint gives them); one a peer sends anyway is ignored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `DPoP` for a DPoP-bound token, `Bearer` otherwise (compared case-insensitively).
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// What the token grants, with `credential_identifiers` (§6.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<Vec<AuthorizationDetail>>,
    /// Granted scopes, when the request used scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("authorization_details", &self.authorization_details)
            .field("scope", &self.scope)
            .finish()
    }
}

impl TokenResponse {
    /// Whether the token is DPoP-bound (`token_type` is case-insensitive, RFC 9449 §5).
    pub fn is_dpop(&self) -> bool {
        self.token_type.eq_ignore_ascii_case("DPoP")
    }
}

// ---------------------------------------------------------------------------------------------
// Nonce, credential, deferred and notification endpoints
// ---------------------------------------------------------------------------------------------

/// The nonce endpoint's answer (§7.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceResponse {
    /// A fresh `c_nonce` for key proofs.
    pub c_nonce: String,
}

/// A credential request (§8.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRequest {
    /// The configuration asked for (when the token carries no `credential_identifiers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_configuration_id: Option<String>,
    /// A `credential_identifiers` value of the token response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_identifier: Option<String>,
    /// The key proofs, one credential each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proofs: Option<Proofs>,
    /// Where and how to encrypt the response (§10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<ResponseEncryption>,
}

/// What a credential request asks for: exactly one of the two members (§8.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialTarget<'a> {
    /// By `credential_configuration_id`.
    Configuration(&'a str),
    /// By `credential_identifier`.
    Identifier(&'a str),
}

impl CredentialRequest {
    /// The target, or `invalid_credential_request` when both or neither are given (§8.2).
    pub fn target(&self) -> Result<CredentialTarget<'_>, OAuthError> {
        match (
            self.credential_configuration_id.as_deref(),
            self.credential_identifier.as_deref(),
        ) {
            (Some(id), None) => Ok(CredentialTarget::Configuration(id)),
            (None, Some(id)) => Ok(CredentialTarget::Identifier(id)),
            _ => Err(OAuthError::new(
                eudi_oauth::ErrorCode::InvalidCredentialRequest,
                "exactly one of credential_configuration_id and credential_identifier is required",
            )),
        }
    }
}

/// `proofs` of a credential request (§8.2): one proof type with one or more proofs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proofs {
    /// Key proof JWTs (Appendix F.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<Vec<String>>,
    /// Other proof types (`di_vp`, `attestation`), which this issuer does not accept.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// `credential_response_encryption` of a request (§8.2, §10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseEncryption {
    /// The wallet's public encryption key (with `alg`, e.g. `ECDH-ES`).
    pub jwk: Jwk,
    /// The content encryption algorithm.
    pub enc: String,
    /// A compression algorithm, when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
}

/// One issued credential of a response (§8.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCredential {
    /// The credential: a string for `dc+sd-jwt` and `mso_mdoc` (base64url `IssuerSigned`),
    /// an object for JSON-LD formats.
    pub credential: Value,
}

/// A credential response (§8.3), immediate (`credentials`) or deferred (`transaction_id`), also
/// the answer of the deferred endpoint (§9.2, with `interval` while pending).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialResponse {
    /// The credentials, one per key proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Vec<IssuedCredential>>,
    /// The deferred transaction to poll with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Seconds to wait before polling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    /// What to send to the notification endpoint about these credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_id: Option<String>,
}

impl CredentialResponse {
    /// The credentials that are strings (every format this workspace issues), in order.
    pub fn credential_strings(&self) -> Option<Vec<&str>> {
        self.credentials
            .as_ref()?
            .iter()
            .map(|issued| issued.credential.as_str())
            .collect()
    }
}

/// A deferred credential request (§9.1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferredCredentialRequest {
    /// The `transaction_id` of the credential response.
    pub transaction_id: String,
    /// Where and how to encrypt the response (§10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<ResponseEncryption>,
}

impl fmt::Debug for DeferredCredentialRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeferredCredentialRequest")
            .field("transaction_id", &REDACTED)
            .field(
                "credential_response_encryption",
                &self.credential_response_encryption,
            )
            .finish()
    }
}

/// What a notification reports (§11.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    /// The credentials were stored.
    CredentialAccepted,
    /// They could not be stored (or were refused for another reason).
    CredentialFailure,
    /// The person deleted them (or refused them).
    CredentialDeleted,
}

/// A notification request (§11.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRequest {
    /// The `notification_id` of the credential response.
    pub notification_id: String,
    /// What happened.
    pub event: NotificationEvent,
    /// Words for developers (ASCII, §11.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAILS: &str =
        include_str!("../../../../shared/vectors/oid4vci/authorization_details.json");

    #[test]
    fn authorization_details_keep_openid_credential_entries() {
        let details = AuthorizationDetail::parse_list(DETAILS).unwrap();
        assert_eq!(
            details,
            [AuthorizationDetail::new("UniversityDegreeCredential")]
        );
        let with_locations = AuthorizationDetail::parse_list(include_str!(
            "../../../../shared/vectors/oid4vci/authorization_details_with_as.json"
        ))
        .unwrap();
        assert_eq!(
            with_locations[0].locations,
            ["https://credential-issuer.example.com"]
        );
        let mixed = r#"[{"type":"payment_initiation","amount":1},
            {"type":"openid_credential","credential_configuration_id":"pid"}]"#;
        assert_eq!(
            AuthorizationDetail::parse_list(mixed).unwrap(),
            [AuthorizationDetail::new("pid")]
        );
        for bad in [
            "{}",
            r#"[{"credential_configuration_id":"pid"}]"#,
            r#"[{"type":"openid_credential"}]"#,
            r#"[{"type":"openid_credential","credential_configuration_id":""}]"#,
        ] {
            let error = AuthorizationDetail::parse_list(bad).unwrap_err();
            assert_eq!(error.code, eudi_oauth::ErrorCode::InvalidRequest, "{bad}");
        }
        let many = format!(
            "[{}]",
            vec![r#"{"type":"x"}"#; MAX_AUTHORIZATION_DETAILS + 1].join(",")
        );
        assert!(AuthorizationDetail::parse_list(&many).is_err());
    }

    #[test]
    fn authorization_requests_round_trip_through_forms() {
        let request = AuthorizationRequest {
            response_type: "code".into(),
            client_id: "wallet".into(),
            redirect_uri: "http://127.0.0.1:1234/cb".into(),
            code_challenge: "abc".into(),
            code_challenge_method: "S256".into(),
            state: Some("st".into()),
            scope: None,
            authorization_details: vec![AuthorizationDetail::new("pid")],
            issuer_state: Some("secret-state".into()),
            dpop_jkt: None,
        };
        let form = Form::parse(&request.to_form().unwrap()).unwrap();
        assert_eq!(AuthorizationRequest::from_form(&form).unwrap(), request);
        assert!(!format!("{request:?}").contains("secret-state"));
        let missing = Form::parse("response_type=code&client_id=w").unwrap();
        assert!(AuthorizationRequest::from_form(&missing).is_err());
    }

    #[test]
    fn token_requests_round_trip_and_other_grants_are_refused() {
        for request in [
            TokenRequest::AuthorizationCode {
                code: "c".into(),
                redirect_uri: Some("https://w.example/cb".into()),
                code_verifier: "v".into(),
                client_id: Some("w".into()),
            },
            TokenRequest::PreAuthorizedCode {
                pre_authorized_code: "secret-code".into(),
                tx_code: Some("123456".into()),
                client_id: None,
            },
        ] {
            let form = Form::parse(&request.to_form()).unwrap();
            assert_eq!(TokenRequest::from_form(&form).unwrap(), request);
            assert!(!format!("{request:?}").contains("secret-code"));
        }
        let other = Form::parse("grant_type=password&username=a").unwrap();
        assert_eq!(
            TokenRequest::from_form(&other).unwrap_err().code,
            eudi_oauth::ErrorCode::UnsupportedGrantType
        );
        let no_verifier = Form::parse("grant_type=authorization_code&code=c").unwrap();
        assert_eq!(
            TokenRequest::from_form(&no_verifier).unwrap_err().code,
            eudi_oauth::ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn token_responses_ignore_c_nonce_and_hide_the_token() {
        let response: TokenResponse = serde_json::from_str(
            r#"{"access_token":"tok-secret","token_type":"dpop","expires_in":300,"c_nonce":"n"}"#,
        )
        .unwrap();
        assert!(response.is_dpop());
        assert!(!format!("{response:?}").contains("tok-secret"));
    }

    #[test]
    fn credential_requests_name_exactly_one_target_and_ignore_unknown_members() {
        let request: CredentialRequest = serde_json::from_str(
            r#"{"credential_configuration_id":"pid","proofs":{"jwt":["a.b.c"]},"future":1}"#,
        )
        .unwrap();
        assert_eq!(
            request.target().unwrap(),
            CredentialTarget::Configuration("pid")
        );
        assert_eq!(request.proofs.unwrap().jwt.unwrap(), ["a.b.c"]);
        let both: CredentialRequest = serde_json::from_str(
            r#"{"credential_configuration_id":"pid","credential_identifier":"x"}"#,
        )
        .unwrap();
        assert_eq!(
            both.target().unwrap_err().code,
            eudi_oauth::ErrorCode::InvalidCredentialRequest
        );
        assert!(CredentialRequest::default().target().is_err());
    }

    #[test]
    fn responses_and_notifications_use_the_spec_names() {
        let response: CredentialResponse = serde_json::from_str(
            r#"{"credentials":[{"credential":"ey.x.y~"}],"notification_id":"n"}"#,
        )
        .unwrap();
        assert_eq!(response.credential_strings().unwrap(), ["ey.x.y~"]);
        let notification: NotificationRequest =
            serde_json::from_str(r#"{"notification_id":"n","event":"credential_accepted"}"#)
                .unwrap();
        assert_eq!(notification.event, NotificationEvent::CredentialAccepted);
        assert!(
            serde_json::from_str::<NotificationRequest>(
                r#"{"notification_id":"n","event":"credential_lost"}"#
            )
            .is_err()
        );
    }
}
