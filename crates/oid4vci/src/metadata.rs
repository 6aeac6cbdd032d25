//! The two metadata documents an issuer publishes: Credential Issuer Metadata (OpenID4VCI 1.0
//! §12.2, at `/.well-known/openid-credential-issuer`) and OAuth 2.0 Authorization Server
//! Metadata (RFC 8414 with the RFC 9126, RFC 9449, RFC 9207 and OpenID4VCI §12.3 additions, at
//! `/.well-known/oauth-authorization-server`).
//!
//! Unknown members are ignored when reading (§12.2.4: "additional parameters MAY be defined and
//! used... the Wallet MUST ignore any unrecognized parameters"), so a client reading a richer
//! issuer's metadata still works. Absent optional members are not written.

use std::collections::BTreeMap;

use eudi_trust::jwk::JwkSet;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

/// The SD-JWT VC format identifier (OpenID4VCI 1.0 Appendix A.3, SD-JWT VC §3.1).
pub const FORMAT_SD_JWT_VC: &str = "dc+sd-jwt";
/// The ISO mdoc format identifier (OpenID4VCI 1.0 Appendix A.2).
pub const FORMAT_MSO_MDOC: &str = "mso_mdoc";
/// The only proof type this workspace makes and accepts (OpenID4VCI 1.0 Appendix F.1).
pub const PROOF_TYPE_JWT: &str = "jwt";
/// `token_endpoint_auth_methods_supported` value of attestation-based client authentication
/// (draft-ietf-oauth-attestation-based-client-auth §13.4).
pub const AUTH_METHOD_ATTESTATION: &str = "attest_jwt_client_auth";
/// The `authorization_details` type of OpenID4VCI 1.0 §5.1.1.
pub const AUTHORIZATION_DETAILS_TYPE: &str = "openid_credential";

/// Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialIssuerMetadata {
    /// The Credential Issuer Identifier (an `https` URL; the URL the metadata was fetched under
    /// is derived from it, §12.2.2).
    pub credential_issuer: String,
    /// Authorization servers the issuer relies on; empty means the issuer is its own (§12.2.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// The Credential Endpoint (§8).
    pub credential_endpoint: String,
    /// The Nonce Endpoint (§7); when present, key proofs must carry a `c_nonce` from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_endpoint: Option<String>,
    /// The Deferred Credential Endpoint (§9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_credential_endpoint: Option<String>,
    /// The Notification Endpoint (§11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_endpoint: Option<String>,
    /// How credential requests may be encrypted to the issuer (§12.2.4, §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_request_encryption: Option<RequestEncryptionMetadata>,
    /// How credential responses may be encrypted to the wallet (§12.2.4, §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<ResponseEncryptionMetadata>,
    /// Batch issuance: how many key proofs one request may carry (§12.2.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_credential_issuance: Option<BatchCredentialIssuance>,
    /// How to show the issuer, one entry per locale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Display>,
    /// What the issuer can issue, by credential configuration id.
    pub credential_configurations_supported: BTreeMap<String, CredentialConfiguration>,
}

impl CredentialIssuerMetadata {
    /// The configuration of `format` for `type_id` (the `vct` of an SD-JWT VC, the `doctype` of
    /// an mdoc), with its id. Clients find the PID configurations so, never by id (DESIGN.md).
    pub fn find_by_format(
        &self,
        format: &str,
        type_id: &str,
    ) -> Option<(&str, &CredentialConfiguration)> {
        self.credential_configurations_supported
            .iter()
            .find(|(_, configuration)| {
                configuration.format == format && configuration.type_id() == Some(type_id)
            })
            .map(|(id, configuration)| (id.as_str(), configuration))
    }

    /// The most key proofs one credential request may carry: `batch_size`, or 1 without batch
    /// issuance.
    pub fn batch_size(&self) -> u32 {
        self.batch_credential_issuance
            .as_ref()
            .map_or(1, |batch| batch.batch_size)
    }
}

/// `credential_request_encryption` (OpenID4VCI 1.0 §12.2.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestEncryptionMetadata {
    /// The issuer's encryption keys. Read as a JWK Set (`{"keys":[…]}`, the errata) or as a bare
    /// array of JWKs (as the 1.0 example shows it); written as a JWK Set.
    #[serde(deserialize_with = "jwk_set_or_array")]
    pub jwks: JwkSet,
    /// Content encryption algorithms (`enc`) accepted.
    pub enc_values_supported: Vec<String>,
    /// Compression algorithms (`zip`) accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zip_values_supported: Vec<String>,
    /// Whether every request must be encrypted.
    pub encryption_required: bool,
}

fn jwk_set_or_array<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<JwkSet, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Set(JwkSet),
        Array(Vec<eudi_trust::jwk::Jwk>),
    }
    Ok(match Either::deserialize(deserializer)? {
        Either::Set(set) => set,
        Either::Array(keys) => JwkSet { keys },
    })
}

/// `credential_response_encryption` (OpenID4VCI 1.0 §12.2.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseEncryptionMetadata {
    /// Key management algorithms (`alg`) the issuer can encrypt with (HAIP: `ECDH-ES`).
    pub alg_values_supported: Vec<String>,
    /// Content encryption algorithms (`enc`) the issuer can encrypt with.
    pub enc_values_supported: Vec<String>,
    /// Compression algorithms (`zip`) the issuer can apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zip_values_supported: Vec<String>,
    /// Whether the wallet must ask for an encrypted response.
    pub encryption_required: bool,
}

/// `batch_credential_issuance` (OpenID4VCI 1.0 §12.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCredentialIssuance {
    /// The most key proofs (credentials) per request; at least 2 when present.
    pub batch_size: u32,
}

/// One display entry: of the issuer, a credential or a claim. Only `name` and `locale` apply to
/// claims (§12.2.4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Display {
    /// The name to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// BCP 47 language tag of this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// A logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Logo>,
    /// A description (credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Background colour, CSS (credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    /// Text colour, CSS (credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
}

/// A logo of a display entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logo {
    /// Where the image is (`https:` or `data:`).
    pub uri: String,
    /// Alternative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

/// One entry of `credential_configurations_supported` (OpenID4VCI 1.0 §12.2.4, Appendix A).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialConfiguration {
    /// The format (`dc+sd-jwt`, `mso_mdoc`).
    pub format: String,
    /// The OAuth scope that asks for this configuration in an authorization request (§5.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The SD-JWT VC type (format `dc+sd-jwt`, Appendix A.3.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// The mdoc document type (format `mso_mdoc`, Appendix A.2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype: Option<String>,
    /// How the credential is bound to the holder (`jwk` for SD-JWT VC, `cose_key` for mdoc).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cryptographic_binding_methods_supported: Vec<String>,
    /// Algorithms the issuer signs this credential with: JOSE names (strings) for `dc+sd-jwt`,
    /// COSE algorithm numbers (e.g. `-7`) for `mso_mdoc` (Appendix A.2.2), hence JSON values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_signing_alg_values_supported: Vec<Value>,
    /// Key proof types accepted, by proof type (`jwt`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub proof_types_supported: BTreeMap<String, ProofTypeMetadata>,
    /// How to show the credential and its claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_metadata: Option<CredentialMetadata>,
}

impl CredentialConfiguration {
    /// The credential type this configuration issues: `vct` for SD-JWT VC, `doctype` for mdoc.
    pub fn type_id(&self) -> Option<&str> {
        match self.format.as_str() {
            FORMAT_SD_JWT_VC => self.vct.as_deref(),
            FORMAT_MSO_MDOC => self.doctype.as_deref(),
            _ => None,
        }
    }

    /// The metadata of the `jwt` proof type, when it is accepted.
    pub fn jwt_proof(&self) -> Option<&ProofTypeMetadata> {
        self.proof_types_supported.get(PROOF_TYPE_JWT)
    }
}

/// One entry of `proof_types_supported` (OpenID4VCI 1.0 §12.2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofTypeMetadata {
    /// Algorithms a key proof of this type may be signed with.
    pub proof_signing_alg_values_supported: Vec<String>,
    /// Present when key proofs must carry a key attestation (Appendix D).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_attestations_required: Option<KeyAttestationsRequired>,
}

/// `key_attestations_required` (OpenID4VCI 1.0 §12.2.4, Appendix D.2): an attestation must show
/// one of the listed values for each non-empty list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttestationsRequired {
    /// Accepted attack potential resistance of the key storage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_storage: Vec<String>,
    /// Accepted attack potential resistance of the user authentication.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_authentication: Vec<String>,
}

/// `credential_metadata` of a configuration (OpenID4VCI 1.0 §12.2.4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialMetadata {
    /// How to show the credential, one entry per locale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Display>,
    /// The claims, with how to show them (Appendix B.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<ClaimMetadata>,
}

/// One claim description (OpenID4VCI 1.0 Appendix B.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimMetadata {
    /// The claims path pointer (Appendix C): strings, non-negative integers or `null`.
    pub path: Vec<Value>,
    /// Whether the issuer always includes the claim.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mandatory: bool,
    /// How to show the claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Display>,
}

/// OAuth 2.0 Authorization Server Metadata (RFC 8414 §2) with the members the issuer's own
/// authorization server announces: PAR (RFC 9126 §5), DPoP (RFC 9449 §5.1), `iss` in the
/// authorization response (RFC 9207 §3), and the pre-authorized code grant (OpenID4VCI §12.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The authorization server's issuer identifier.
    pub issuer: String,
    /// The authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The pushed authorization request endpoint (RFC 9126).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// Whether authorization requests must be pushed (RFC 9126 §5; HAIP requires PAR).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// A JWKS URI, when the server signs anything clients verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Scopes (one per credential configuration that has one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// `response_type` values (`code`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types_supported: Vec<String>,
    /// `response_mode` values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_modes_supported: Vec<String>,
    /// Grant types (`authorization_code`, the pre-authorized code grant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types_supported: Vec<String>,
    /// PKCE methods (`S256`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    /// Client authentication methods (`none`, `attest_jwt_client_auth`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// DPoP proof algorithms (RFC 9449 §5.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// `authorization_details` types (RFC 9396 §10; `openid_credential`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_details_types_supported: Vec<String>,
    /// Client attestation JWT algorithms (draft-ietf-oauth-attestation-based-client-auth §13.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_attestation_signing_alg_values_supported: Vec<String>,
    /// Client attestation PoP algorithms (draft-ietf-oauth-attestation-based-client-auth §13.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_attestation_pop_signing_alg_values_supported: Vec<String>,
    /// Whether the authorization response carries `iss` (RFC 9207 §3).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub authorization_response_iss_parameter_supported: bool,
    /// Whether the token endpoint takes a pre-authorized code without client authentication
    /// (OpenID4VCI 1.0 §12.3).
    #[serde(
        default,
        rename = "pre-authorized_grant_anonymous_access_supported",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub pre_authorized_grant_anonymous_access_supported: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SD_JWT_VECTOR: &str =
        include_str!("../../../../shared/vectors/oid4vci/credential_metadata_sd_jwt_vc.json");
    const MDOC_VECTOR: &str =
        include_str!("../../../../shared/vectors/oid4vci/credential_metadata_mso_mdoc.json");

    #[derive(Deserialize)]
    struct Configurations {
        credential_configurations_supported: BTreeMap<String, CredentialConfiguration>,
    }

    fn metadata(
        configurations: BTreeMap<String, CredentialConfiguration>,
    ) -> CredentialIssuerMetadata {
        CredentialIssuerMetadata {
            credential_issuer: "https://issuer.example".into(),
            authorization_servers: Vec::new(),
            credential_endpoint: "https://issuer.example/credential".into(),
            nonce_endpoint: None,
            deferred_credential_endpoint: None,
            notification_endpoint: None,
            credential_request_encryption: None,
            credential_response_encryption: None,
            batch_credential_issuance: Some(BatchCredentialIssuance { batch_size: 10 }),
            display: Vec::new(),
            credential_configurations_supported: configurations,
        }
    }

    #[test]
    fn spec_configurations_read_and_are_found_by_format() {
        let mut all = serde_json::from_str::<Configurations>(SD_JWT_VECTOR)
            .unwrap()
            .credential_configurations_supported;
        all.extend(
            serde_json::from_str::<Configurations>(MDOC_VECTOR)
                .unwrap()
                .credential_configurations_supported,
        );
        let metadata = metadata(all);
        let (id, sd_jwt) = metadata
            .find_by_format(FORMAT_SD_JWT_VC, "SD_JWT_VC_example_in_OpenID4VCI")
            .unwrap();
        assert_eq!(id, "SD_JWT_VC_example_in_OpenID4VCI");
        let jwt = sd_jwt.jwt_proof().unwrap();
        assert_eq!(jwt.proof_signing_alg_values_supported, ["ES256"]);
        assert_eq!(
            jwt.key_attestations_required.as_ref().unwrap().key_storage,
            ["iso_18045_moderate"]
        );
        let (id, mdoc) = metadata
            .find_by_format(FORMAT_MSO_MDOC, "org.iso.18013.5.1.mDL")
            .unwrap();
        assert_eq!(id, "org.iso.18013.5.1.mDL");
        assert_eq!(mdoc.credential_signing_alg_values_supported[0], -7);
        let claims = &mdoc.credential_metadata.as_ref().unwrap().claims;
        assert!(claims.iter().any(|claim| claim.mandatory));
        // The type id belongs to the format: an mdoc doctype is no SD-JWT vct.
        assert!(
            metadata
                .find_by_format(FORMAT_SD_JWT_VC, "org.iso.18013.5.1.mDL")
                .is_none()
        );
        assert_eq!(metadata.batch_size(), 10);
    }

    #[test]
    fn full_spec_metadata_reads_in_both_editions() {
        for text in [
            include_str!(
                "../../../../shared/vectors/oid4vci/credential_issuer_metadata_sd_jwt_long.json"
            ),
            include_str!(
                "../../../../shared/vectors/oid4vci/errata-editors-draft/credential_issuer_metadata_sd_jwt_long.json"
            ),
        ] {
            let metadata: CredentialIssuerMetadata = serde_json::from_str(text).unwrap();
            assert_eq!(
                metadata.credential_issuer,
                "https://credential-issuer.example.com"
            );
            assert_eq!(metadata.batch_size(), 10);
            let encryption = metadata.credential_request_encryption.as_ref().unwrap();
            assert_eq!(encryption.jwks.keys.len(), 1);
            assert!(
                metadata
                    .credential_response_encryption
                    .unwrap()
                    .encryption_required
            );
            assert!(!metadata.credential_configurations_supported.is_empty());
            let written = serde_json::to_value(encryption).unwrap();
            assert!(written["jwks"]["keys"].is_array());
        }
    }

    #[test]
    fn round_trip_writes_no_absent_members() {
        let metadata = metadata(BTreeMap::new());
        let json = serde_json::to_value(&metadata).unwrap();
        assert!(json.get("nonce_endpoint").is_none());
        assert!(json.get("display").is_none());
        let back: CredentialIssuerMetadata = serde_json::from_value(json).unwrap();
        assert_eq!(back, metadata);
    }

    #[test]
    fn authorization_server_metadata_uses_the_spec_member_names() {
        let json = serde_json::json!({
            "issuer": "https://issuer.example",
            "token_endpoint": "https://issuer.example/token",
            "pre-authorized_grant_anonymous_access_supported": true,
            "authorization_response_iss_parameter_supported": true,
            "dpop_signing_alg_values_supported": ["ES256"],
            "unknown_member": 1
        });
        let metadata: AuthorizationServerMetadata = serde_json::from_value(json).unwrap();
        assert!(metadata.pre_authorized_grant_anonymous_access_supported);
        assert!(metadata.authorization_response_iss_parameter_supported);
        let written = serde_json::to_value(&metadata).unwrap();
        assert_eq!(
            written["pre-authorized_grant_anonymous_access_supported"],
            true
        );
        assert!(
            written
                .get("require_pushed_authorization_requests")
                .is_none()
        );
    }
}
