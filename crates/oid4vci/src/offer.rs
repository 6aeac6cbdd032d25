//! The Credential Offer (OpenID4VCI 1.0 §4.1) and its URI forms: by value
//! (`openid-credential-offer://?credential_offer=<JSON>`) and by reference
//! (`openid-credential-offer://?credential_offer_uri=<URL>`, §4.1.3).
//!
//! Parsing is bounded ([`MAX_OFFER_URI_LEN`], [`MAX_OFFER_JSON_LEN`], [`MAX_CONFIGURATION_IDS`])
//! because an offer arrives from a QR code or link anybody can make.

use std::fmt;

use eudi_oauth::Form;
use serde::Deserialize;
use serde::Serialize;

/// The custom scheme wallets register for offers (§4.1).
pub const OFFER_SCHEME: &str = "openid-credential-offer://";
/// The query parameter of an offer by value.
pub const OFFER_PARAMETER: &str = "credential_offer";
/// The query parameter of an offer by reference.
pub const OFFER_URI_PARAMETER: &str = "credential_offer_uri";
/// The grant type of the pre-authorized code flow (§4.1.1), also the offer's grant member name.
pub const PRE_AUTHORIZED_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// The longest offer URI read.
pub const MAX_OFFER_URI_LEN: usize = 16 * 1024;
/// The longest offer JSON read (by value in a URI, or fetched by reference).
pub const MAX_OFFER_JSON_LEN: usize = 16 * 1024;
/// The most credential configuration ids one offer may name.
pub const MAX_CONFIGURATION_IDS: usize = 16;
/// The longest `tx_code.description` (§4.1.1: "MUST NOT exceed 300 characters").
pub const MAX_TX_CODE_DESCRIPTION_CHARS: usize = 300;
/// The longest `tx_code.length` accepted.
pub const MAX_TX_CODE_LENGTH: u32 = 64;

/// Why an offer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferError {
    /// The URI or JSON exceeds its limit.
    #[error("the credential offer is too large")]
    TooLarge,
    /// The URI has neither or both of `credential_offer` and `credential_offer_uri`, or its query
    /// does not parse.
    #[error("malformed credential offer URI: {0}")]
    MalformedUri(String),
    /// The JSON is not a credential offer.
    #[error("malformed credential offer: {0}")]
    Malformed(String),
    /// The offer is well-formed JSON but breaks a rule of §4.1.1.
    #[error("invalid credential offer: {0}")]
    Invalid(&'static str),
}

/// A Credential Offer (§4.1.1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOffer {
    /// The Credential Issuer Identifier; its metadata says how to proceed.
    pub credential_issuer: String,
    /// Which configurations of the issuer's metadata are offered (non-empty, unique).
    pub credential_configuration_ids: Vec<String>,
    /// The grants the wallet may use; absent means "find out from the metadata".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Grants>,
}

impl fmt::Debug for CredentialOffer {
    /// Shows the shape, not the pre-authorized code (a bearer secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialOffer")
            .field("credential_issuer", &self.credential_issuer)
            .field(
                "credential_configuration_ids",
                &self.credential_configuration_ids,
            )
            .field("grants", &self.grants)
            .finish()
    }
}

/// The `grants` of an offer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// The authorization code grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<AuthorizationCodeGrant>,
    /// The pre-authorized code grant.
    #[serde(
        default,
        rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
}

/// The authorization code grant of an offer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCodeGrant {
    /// Binds the later authorization request to this offer (sent back as `issuer_state`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_state: Option<String>,
    /// Which of the metadata's `authorization_servers` to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// The pre-authorized code grant of an offer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreAuthorizedCodeGrant {
    /// The code (a bearer secret, short-lived and single-use).
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: String,
    /// Present when the token request needs a transaction code sent another way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
    /// Which of the metadata's `authorization_servers` to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

impl fmt::Debug for PreAuthorizedCodeGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreAuthorizedCodeGrant")
            .field("pre_authorized_code", &"<redacted>")
            .field("tx_code", &self.tx_code)
            .field("authorization_server", &self.authorization_server)
            .finish()
    }
}

/// What the wallet is told of the expected transaction code (§4.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCode {
    /// `numeric` (the default) or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mode: Option<String>,
    /// How many characters the code has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Where the person finds the code (at most 300 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl CredentialOffer {
    /// Reads offer JSON and checks it ([`CredentialOffer::check`]).
    pub fn from_json(json: &[u8]) -> Result<Self, OfferError> {
        if json.len() > MAX_OFFER_JSON_LEN {
            return Err(OfferError::TooLarge);
        }
        let offer: Self =
            serde_json::from_slice(json).map_err(|e| OfferError::Malformed(e.to_string()))?;
        offer.check()?;
        Ok(offer)
    }

    /// The rules of §4.1.1 this type does not express: at least one configuration id, none
    /// twice, within limits; a non-empty pre-authorized code; a sane `tx_code`.
    pub fn check(&self) -> Result<(), OfferError> {
        if self.credential_issuer.is_empty() {
            return Err(OfferError::Invalid("credential_issuer is empty"));
        }
        if self.credential_configuration_ids.is_empty() {
            return Err(OfferError::Invalid("credential_configuration_ids is empty"));
        }
        if self.credential_configuration_ids.len() > MAX_CONFIGURATION_IDS {
            return Err(OfferError::Invalid("too many credential_configuration_ids"));
        }
        for (i, id) in self.credential_configuration_ids.iter().enumerate() {
            if id.is_empty() {
                return Err(OfferError::Invalid(
                    "a credential_configuration_id is empty",
                ));
            }
            if self
                .credential_configuration_ids
                .iter()
                .skip(i + 1)
                .any(|other| other == id)
            {
                return Err(OfferError::Invalid(
                    "a credential_configuration_id is given twice",
                ));
            }
        }
        let pre_authorized = self
            .grants
            .as_ref()
            .and_then(|grants| grants.pre_authorized_code.as_ref());
        if let Some(grant) = pre_authorized {
            if grant.pre_authorized_code.is_empty() {
                return Err(OfferError::Invalid("pre-authorized_code is empty"));
            }
            if let Some(tx_code) = &grant.tx_code {
                if !matches!(
                    tx_code.input_mode.as_deref(),
                    None | Some("numeric" | "text")
                ) {
                    return Err(OfferError::Invalid(
                        "tx_code.input_mode is neither numeric nor text",
                    ));
                }
                if tx_code
                    .length
                    .is_some_and(|n| n == 0 || n > MAX_TX_CODE_LENGTH)
                {
                    return Err(OfferError::Invalid("tx_code.length is out of range"));
                }
                if tx_code
                    .description
                    .as_ref()
                    .is_some_and(|d| d.chars().count() > MAX_TX_CODE_DESCRIPTION_CHARS)
                {
                    return Err(OfferError::Invalid(
                        "tx_code.description exceeds 300 characters",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The pre-authorized code grant, when offered.
    pub fn pre_authorized_code(&self) -> Option<&PreAuthorizedCodeGrant> {
        self.grants.as_ref()?.pre_authorized_code.as_ref()
    }

    /// The authorization code grant, when offered.
    pub fn authorization_code(&self) -> Option<&AuthorizationCodeGrant> {
        self.grants.as_ref()?.authorization_code.as_ref()
    }

    /// The offer by value: `openid-credential-offer://?credential_offer=<JSON>`.
    pub fn to_uri(&self) -> Result<String, OfferError> {
        self.check()?;
        let json = serde_json::to_string(self).map_err(|e| OfferError::Malformed(e.to_string()))?;
        if json.len() > MAX_OFFER_JSON_LEN {
            return Err(OfferError::TooLarge);
        }
        let uri = format!(
            "{OFFER_SCHEME}?{}",
            eudi_oauth::form::encode([(OFFER_PARAMETER, json.as_str())])
        );
        if uri.len() > MAX_OFFER_URI_LEN {
            return Err(OfferError::TooLarge);
        }
        Ok(uri)
    }
}

/// The offer by reference: `openid-credential-offer://?credential_offer_uri=<URL>`.
pub fn uri_by_reference(offer_url: &str) -> String {
    format!(
        "{OFFER_SCHEME}?{}",
        eudi_oauth::form::encode([(OFFER_URI_PARAMETER, offer_url)])
    )
}

/// What an offer URI carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferUri {
    /// The offer itself (checked).
    ByValue(CredentialOffer),
    /// Where to fetch it (an `https` URL the caller must fetch with a size limit and check with
    /// [`CredentialOffer::from_json`]).
    ByReference(String),
}

/// Reads an offer URI. Any scheme is accepted (wallets are also invoked by `https` links and
/// `haip://`); exactly one of `credential_offer` and `credential_offer_uri` must be present.
pub fn parse_uri(uri: &str) -> Result<OfferUri, OfferError> {
    if uri.len() > MAX_OFFER_URI_LEN {
        return Err(OfferError::TooLarge);
    }
    let (_, query) = uri
        .split_once('?')
        .ok_or_else(|| OfferError::MalformedUri("it has no query".into()))?;
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    let form = Form::parse(query).map_err(|e| OfferError::MalformedUri(e.to_string()))?;
    match (form.get(OFFER_PARAMETER), form.get(OFFER_URI_PARAMETER)) {
        (Some(json), None) => CredentialOffer::from_json(json.as_bytes()).map(OfferUri::ByValue),
        (None, Some(url)) => {
            let parsed =
                url::Url::parse(url).map_err(|e| OfferError::MalformedUri(e.to_string()))?;
            if !matches!(parsed.scheme(), "https" | "http") {
                return Err(OfferError::MalformedUri(
                    "credential_offer_uri is not an http(s) URL".into(),
                ));
            }
            Ok(OfferUri::ByReference(url.to_owned()))
        }
        (Some(_), Some(_)) => Err(OfferError::MalformedUri(
            "both credential_offer and credential_offer_uri are given".into(),
        )),
        (None, None) => Err(OfferError::MalformedUri(
            "neither credential_offer nor credential_offer_uri is given".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRE_AUTHORIZED: &str =
        include_str!("../../../../shared/vectors/oid4vci/credential_offer_pre-authz_code.json");
    const BY_REFERENCE: &str =
        include_str!("../../../../shared/vectors/oid4vci/credential_offer_by_reference.json");

    fn offer() -> CredentialOffer {
        CredentialOffer::from_json(PRE_AUTHORIZED.as_bytes()).unwrap()
    }

    #[test]
    fn spec_offers_read() {
        let offer = offer();
        let grant = offer.pre_authorized_code().unwrap();
        assert_eq!(grant.pre_authorized_code, "adhjhdjajkdkhjhdj");
        assert!(grant.tx_code.as_ref().unwrap().description.is_some());
        assert!(offer.authorization_code().is_none());
        let by_reference = CredentialOffer::from_json(BY_REFERENCE.as_bytes()).unwrap();
        assert_eq!(
            by_reference.pre_authorized_code().unwrap().tx_code,
            Some(TxCode::default())
        );
        assert!(!format!("{offer:?}").contains("adhjhdjajkdkhjhdj"));
    }

    #[test]
    fn an_offer_of_two_configurations_reads() {
        let offer = CredentialOffer::from_json(include_bytes!(
            "../../../../shared/vectors/oid4vci/credential_offer_multiple_credentials.json"
        ))
        .unwrap();
        assert_eq!(offer.credential_configuration_ids.len(), 2);
        let tx_code = offer
            .pre_authorized_code()
            .unwrap()
            .tx_code
            .clone()
            .unwrap();
        assert_eq!(
            (tx_code.length, tx_code.input_mode.as_deref()),
            (Some(4), Some("numeric"))
        );
        let authorization_code: CredentialOffer = serde_json::from_str(
            include_str!("../../../../shared/vectors/oid4vci/credential_offer_authz_code.txt")
                .split_once("\n\n")
                .unwrap()
                .1,
        )
        .unwrap();
        assert!(authorization_code.check().is_ok());
        assert!(
            authorization_code
                .authorization_code()
                .unwrap()
                .issuer_state
                .is_some()
        );
    }

    #[test]
    fn uris_round_trip() {
        let offer = offer();
        let uri = offer.to_uri().unwrap();
        assert!(uri.starts_with("openid-credential-offer://?credential_offer=%7B"));
        assert_eq!(parse_uri(&uri).unwrap(), OfferUri::ByValue(offer));
        let uri = uri_by_reference("https://issuer.example/credential_offer/abc?x=1&y=2");
        assert_eq!(
            parse_uri(&uri).unwrap(),
            OfferUri::ByReference("https://issuer.example/credential_offer/abc?x=1&y=2".into())
        );
    }

    #[test]
    fn bad_uris_are_refused() {
        let json = serde_json::to_string(&offer()).unwrap();
        let both = format!(
            "{OFFER_SCHEME}?{}",
            eudi_oauth::form::encode([
                (OFFER_PARAMETER, json.as_str()),
                (OFFER_URI_PARAMETER, "https://issuer.example/o"),
            ])
        );
        assert!(matches!(parse_uri(&both), Err(OfferError::MalformedUri(_))));
        assert!(matches!(
            parse_uri("openid-credential-offer://"),
            Err(OfferError::MalformedUri(_))
        ));
        assert!(matches!(
            parse_uri("openid-credential-offer://?other=1"),
            Err(OfferError::MalformedUri(_))
        ));
        assert!(matches!(
            parse_uri(&uri_by_reference("file:///etc/passwd")),
            Err(OfferError::MalformedUri(_))
        ));
        assert!(matches!(
            parse_uri("openid-credential-offer://?credential_offer=%7Bnot-json"),
            Err(OfferError::Malformed(_))
        ));
        let long = format!(
            "{OFFER_SCHEME}?credential_offer={}",
            "a".repeat(MAX_OFFER_URI_LEN)
        );
        assert_eq!(parse_uri(&long), Err(OfferError::TooLarge));
    }

    #[test]
    fn offers_breaking_the_rules_are_refused() {
        let mut empty = offer();
        empty.credential_configuration_ids.clear();
        assert!(matches!(empty.check(), Err(OfferError::Invalid(_))));
        let mut twice = offer();
        twice.credential_configuration_ids = vec!["a".into(), "a".into()];
        assert!(matches!(twice.check(), Err(OfferError::Invalid(_))));
        let mut mode = offer();
        if let Some(grant) = mode
            .grants
            .as_mut()
            .and_then(|g| g.pre_authorized_code.as_mut())
        {
            grant.tx_code = Some(TxCode {
                input_mode: Some("emoji".into()),
                ..TxCode::default()
            });
        }
        assert!(matches!(mode.check(), Err(OfferError::Invalid(_))));
        assert!(mode.to_uri().is_err());
        let mut long = offer();
        if let Some(grant) = long
            .grants
            .as_mut()
            .and_then(|g| g.pre_authorized_code.as_mut())
        {
            grant.tx_code = Some(TxCode {
                description: Some("x".repeat(301)),
                ..TxCode::default()
            });
        }
        assert!(matches!(long.check(), Err(OfferError::Invalid(_))));
        let too_big = vec![b' '; MAX_OFFER_JSON_LEN + 1];
        assert_eq!(
            CredentialOffer::from_json(&too_big),
            Err(OfferError::TooLarge)
        );
    }
}
