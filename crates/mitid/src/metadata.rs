//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3), read by the client and served by
//! the embedded test provider.

use serde::Deserialize;
use serde::Serialize;
use serde_json::Map;
use serde_json::Value;

/// The path of the discovery document under the issuer (OpenID Connect Discovery 1.0 §4).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The members of a provider's discovery document this crate uses; the rest are kept in
/// `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier; must equal the URL the document was fetched for (§4.3).
    pub issuer: String,
    /// Where the browser is sent to log in.
    pub authorization_endpoint: String,
    /// Where the code is exchanged for tokens.
    pub token_endpoint: String,
    /// The provider's signing keys.
    pub jwks_uri: String,
    /// Where claims about the user can be fetched with the access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// Supported `scope` values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// Supported `response_type` values.
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// Supported grant types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types_supported: Vec<String>,
    /// Supported subject identifier types.
    #[serde(default)]
    pub subject_types_supported: Vec<String>,
    /// Algorithms the provider signs ID tokens with.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Client authentication methods at the token endpoint (`client_secret_basic` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// PKCE methods (RFC 8414 §2). Absent means "not stated", not "unsupported".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Authentication context classes (levels of assurance) the provider can be asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_values_supported: Option<Vec<String>>,
    /// Claims the provider can return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_supported: Option<Vec<String>>,
    /// Whether the provider sends `iss` in the authorization response (RFC 9207).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub authorization_response_iss_parameter_supported: bool,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProviderMetadata {
    /// Metadata with the required members and nothing else.
    pub fn new(
        issuer: impl Into<String>,
        authorization_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
        jwks_uri: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            authorization_endpoint: authorization_endpoint.into(),
            token_endpoint: token_endpoint.into(),
            jwks_uri: jwks_uri.into(),
            userinfo_endpoint: None,
            scopes_supported: Vec::new(),
            response_types_supported: vec!["code".into()],
            grant_types_supported: Vec::new(),
            subject_types_supported: vec!["public".into()],
            id_token_signing_alg_values_supported: Vec::new(),
            token_endpoint_auth_methods_supported: None,
            code_challenge_methods_supported: None,
            acr_values_supported: None,
            claims_supported: None,
            authorization_response_iss_parameter_supported: false,
            extra: Map::new(),
        }
    }
}

/// The discovery URL for an issuer identifier: the issuer with any trailing `/` removed, then
/// [`DISCOVERY_PATH`].
pub fn discovery_url(issuer: &str) -> String {
    format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_broker_document_and_keeps_unknown_members() {
        let doc = r#"{
            "issuer": "https://pp.netseidbroker.dk/op",
            "authorization_endpoint": "https://pp.netseidbroker.dk/op/connect/authorize",
            "token_endpoint": "https://pp.netseidbroker.dk/op/connect/token",
            "userinfo_endpoint": "https://pp.netseidbroker.dk/op/connect/userinfo",
            "jwks_uri": "https://pp.netseidbroker.dk/op/.well-known/openid-configuration/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "frontchannel_logout_supported": true
        }"#;
        let m: ProviderMetadata = serde_json::from_str(doc).unwrap();
        assert_eq!(m.issuer, "https://pp.netseidbroker.dk/op");
        assert_eq!(m.extra["frontchannel_logout_supported"], true);
        assert_eq!(m.token_endpoint_auth_methods_supported, None);
        assert_eq!(
            discovery_url("https://pp.netseidbroker.dk/op/"),
            "https://pp.netseidbroker.dk/op/.well-known/openid-configuration"
        );
    }
}
