//! The relying party's credential verification pipeline, typed: a presentation goes in, a
//! [`VerifiedCredential`] or a [`Failure`] comes out.
//!
//! [`verify_sd_jwt`] verifies one SD-JWT or SD-JWT VC (RFC 9901, draft-ietf-oauth-sd-jwt-vc),
//! with holder binding over the OpenID4VP 1.0 `nonce` and audience (`client_id`) when a
//! [`KeyBinding`] is given. [`verify_mdoc`] verifies one ISO/IEC 18013-5 `DeviceResponse` (or a
//! bare `IssuerSigned`), with device authentication over the [`SessionTranscript`] (OpenID4VP
//! 1.0 Annex B) when one is given, and answers with one credential per document. Both take:
//!
//! - the [`TrustConfig`]: SD-JWT VC CA anchors and mdoc IACA anchors kept apart (an anchor for
//!   one format never validates the other's chain), and issuer keys each bound to the issuer
//!   identifier they vouch for;
//! - the [`StatusCheck`]: whether and how Token Status Lists are obtained (a [`StatusSource`]
//!   fetches through a [`fetch::Fetcher`] and caches; tokens may also be supplied out of band);
//! - the [`eudi_trust::Clock`];
//! - the relying party's [`Policy`]: a minimum level of assurance and the claims it requires.
//!
//! The verifier service calls these once per `vp_token` entry; the `eudi-verifier verify` CLI
//! turns the answer into its JSON report.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use eudi_trust::{Clock, Jwk};
//! use eudi_verify::{
//!     Context, ErrorCode, Policy, StatusCheck, TrustConfig, TrustedKey, verify_sd_jwt,
//! };
//!
//! #[derive(Debug)]
//! struct At(i64);
//! impl Clock for At {
//!     fn now(&self) -> i64 {
//!         self.0
//!     }
//! }
//!
//! // The SD-JWT VC draft's example credential and its issuer's key.
//! let presentation = include_str!("../../../examples/sd-jwt-vc/presentation.txt");
//! let jwk: Jwk = serde_json::from_str(
//!     r#"{"kty":"EC","crv":"P-256","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}"#,
//! )?;
//! let key = TrustedKey::new(jwk.to_verifying_key()?, "example issuer");
//! let clock = At(1_787_325_941); // 2026-08-21T15:25:41Z
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//!
//! // Bound to its issuer, the key vouches for the credential.
//! let mut trust = TrustConfig::new();
//! trust.add_key(key.clone().issuer("https://example.com/issuer"));
//! let context = Context { trust: &trust, status: StatusCheck::Skip, clock: &clock };
//! let credential =
//!     runtime.block_on(verify_sd_jwt(presentation, None, &context, &Policy::default()))?;
//! assert_eq!(credential.issuer.as_deref(), Some("https://example.com/issuer"));
//! assert!(credential.claims.contains_key("address"));
//! assert!(!credential.holder_binding);
//!
//! // Bound to no issuer, it vouches for none that is named.
//! let mut trust = TrustConfig::new();
//! trust.add_key(key);
//! let context = Context { trust: &trust, status: StatusCheck::Skip, clock: &clock };
//! let failure = runtime
//!     .block_on(verify_sd_jwt(presentation, None, &context, &Policy::default()))
//!     .unwrap_err();
//! assert_eq!(failure.code, ErrorCode::UntrustedIssuer);
//! # Ok(())
//! # }
//! ```
//!
//! What a [`VerifiedCredential`] vouches for: every signature checked with a key the trust
//! source gave *for this issuer* (the report's `issuer` is the one the trust source vouched
//! for), every disclosed claim covered by the issuer's signature (nothing unsigned in
//! `claims`), holder binding reported only when it was checked against the caller's nonce and
//! audience (or transcript), and the status checked with a Status List Token from the same
//! issuer, for every format that references one.
#![forbid(unsafe_code)]

pub mod fetch;
mod mdoc;
mod sd_jwt;
mod status;
pub mod trust;

pub use eudi_mdoc::SessionTranscript;
use eudi_trust::AssuranceLevel;
use eudi_trust::Clock;
pub use eudi_trust::ErrorCode;
pub use sd_jwt::MAX_ISSUER_SIGNATURES;
use serde::Serialize;
use serde_json::Map;
use serde_json::Value;
pub use status::StatusCheck;
pub use status::StatusSource;
pub use trust::AnchorPurpose;
pub use trust::TrustConfig;
pub use trust::TrustedKey;

/// The claim that carries the CPR number in a Danish PID (PID rulebook,
/// `personal_administrative_number`).
pub const CPR_CLAIM: &str = "personal_administrative_number";

/// A credential format, named as OpenID4VP 1.0 names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum CredentialFormat {
    /// An SD-JWT VC (`vct`, typ `dc+sd-jwt`).
    #[serde(rename = "dc+sd-jwt")]
    SdJwtVc,
    /// A plain SD-JWT (RFC 9901 alone: no `vct`, no SD-JWT VC `typ`).
    #[serde(rename = "sd-jwt")]
    SdJwt,
    /// An ISO/IEC 18013-5 mdoc.
    #[serde(rename = "mso_mdoc")]
    Mdoc,
}

impl CredentialFormat {
    /// The format identifier: `dc+sd-jwt`, `sd-jwt` or `mso_mdoc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SdJwtVc => "dc+sd-jwt",
            Self::SdJwt => "sd-jwt",
            Self::Mdoc => "mso_mdoc",
        }
    }
}

impl std::fmt::Display for CredentialFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a presentation was not accepted: a stable code and a message a person can read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
#[non_exhaustive]
pub struct Failure {
    /// The stable, machine-readable reason.
    pub code: ErrorCode,
    /// What exactly was wrong, for people.
    pub message: String,
    /// The format, once the input parsed as one (`None`: not a credential of any format).
    pub format: Option<CredentialFormat>,
}

impl Failure {
    /// A failure of a presentation in `format` (or of no recognised format).
    pub fn new(
        code: ErrorCode,
        message: impl Into<String>,
        format: Option<CredentialFormat>,
    ) -> Self {
        Self {
            code,
            message: message.into(),
            format,
        }
    }

    fn in_format(mut self, format: CredentialFormat) -> Self {
        self.format.get_or_insert(format);
        self
    }
}

/// The holder binding the relying party requires of an SD-JWT presentation (OpenID4VP 1.0
/// §8.6 and RFC 9901 §4.3): the KB-JWT must carry exactly this `nonce` and `aud`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBinding {
    /// The transaction's nonce.
    pub nonce: String,
    /// The verifier's `client_id` (with its prefix), the KB-JWT `aud`.
    pub audience: String,
}

/// What the relying party requires beyond a valid credential.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// The lowest effective level of assurance accepted ([`ErrorCode::LoaTooLow`] below it).
    pub min_loa: Option<AssuranceLevel>,
    /// Claims that must be disclosed ([`ErrorCode::MissingClaim`] otherwise), each a path of
    /// object keys into [`VerifiedCredential::claims`]: for an SD-JWT `["address",
    /// "locality"]`, for an mdoc `[namespace, element]`.
    pub required_claims: Vec<Vec<String>>,
}

/// Everything a verification reads besides the presentation itself.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// Whom to trust.
    pub trust: &'a TrustConfig,
    /// Whether and how to check status.
    pub status: StatusCheck<'a>,
    /// The time.
    pub clock: &'a dyn Clock,
}

/// A credential whose every check passed. Only this crate builds one.
///
/// `Debug` names the claims but shows no value of them, nor the CPR number: they are personal
/// data and stay out of logs.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedCredential {
    /// The format.
    pub format: CredentialFormat,
    /// The issuer as the trust source vouched for it: the `iss` a certificate or bound key was
    /// shown to correspond to, else the certificate subject (or the key's bound issuer).
    pub issuer: Option<String>,
    /// The credential type: `vct`, or the mdoc docType; `None` for a plain SD-JWT.
    pub credential_type: Option<String>,
    /// The disclosed, issuer-signed user claims only. SD-JWT: as disclosed, without `_sd`,
    /// `_sd_alg`, `...` or credential metadata; mdoc: `{namespace: {element: value}}`.
    pub claims: Map<String, Value>,
    /// Effective level of assurance: min(level stated in the credential, ceiling of the trust
    /// source that vouched for it).
    pub assurance_level: Option<AssuranceLevel>,
    /// Whether holder binding was checked against the caller's nonce and audience (SD-JWT)
    /// or session transcript (mdoc).
    pub holder_binding: bool,
    /// The status, when a status list was checked (always [`eudi_status_list::Status::Valid`]
    /// here: any other status is a [`Failure`]).
    pub status: Option<eudi_status_list::Status>,
    /// Start of the validity window (`nbf`, else `iat`; mdoc `validFrom`), seconds since the epoch.
    pub valid_from: Option<i64>,
    /// End of the validity window (`exp`; mdoc `validUntil`), seconds since the epoch.
    pub valid_until: Option<i64>,
    /// The CPR number (`personal_administrative_number`) of a Danish PID, when disclosed.
    pub cpr: Option<String>,
}

impl std::fmt::Debug for VerifiedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCredential")
            .field("format", &self.format)
            .field("issuer", &self.issuer)
            .field("credential_type", &self.credential_type)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .field("assurance_level", &self.assurance_level)
            .field("holder_binding", &self.holder_binding)
            .field("status", &self.status)
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .field("cpr", &self.cpr.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Verifies one SD-JWT or SD-JWT VC presentation (compact, or JWS JSON flattened/general).
///
/// With `binding`, a KB-JWT is required and its `nonce` and `aud` must equal it; without, a
/// KB-JWT that is present is still checked (signature by `cnf`, `sd_hash`, age), but
/// [`VerifiedCredential::holder_binding`] is `false`, since nothing tied it to this transaction.
pub async fn verify_sd_jwt(
    presentation: &str,
    binding: Option<&KeyBinding>,
    context: &Context<'_>,
    policy: &Policy,
) -> Result<VerifiedCredential, Failure> {
    let credential = sd_jwt::verify(presentation.trim(), binding, context).await?;
    apply_policy(std::slice::from_ref(&credential), policy)?;
    Ok(credential)
}

/// Verifies one mdoc `DeviceResponse` (CBOR bytes), or a bare `IssuerSigned` when no
/// `transcript` is given, and answers with one credential per document, in order.
///
/// With `transcript`, every document must be device-authenticated over it; without, device
/// authentication is not checked and `holder_binding` is `false`. The policy's level applies
/// to each document; each required claim must be in one of them.
pub async fn verify_mdoc(
    bytes: &[u8],
    transcript: Option<&SessionTranscript>,
    context: &Context<'_>,
    policy: &Policy,
) -> Result<Vec<VerifiedCredential>, Failure> {
    let credentials = mdoc::verify(bytes, transcript, context).await?;
    apply_policy(&credentials, policy)?;
    Ok(credentials)
}

/// The relying party's policy over the credentials of one presentation.
fn apply_policy(credentials: &[VerifiedCredential], policy: &Policy) -> Result<(), Failure> {
    if let Some(min) = policy.min_loa {
        for c in credentials {
            if c.assurance_level.is_none_or(|level| level < min) {
                let have = c
                    .assurance_level
                    .map_or_else(|| "no stated level".to_owned(), |l| l.to_string());
                return Err(Failure::new(
                    ErrorCode::LoaTooLow,
                    format!(
                        "The level of assurance provided by your eID ({have}) is not meeting the level of assurance requested by the service provider ({min})"
                    ),
                    Some(c.format),
                ));
            }
        }
    }
    for path in &policy.required_claims {
        let present = credentials
            .iter()
            .any(|c| claim_at(&c.claims, path).is_some());
        if !present {
            return Err(Failure::new(
                ErrorCode::MissingClaim,
                format!(
                    "the service provider requires the claim `{}`, which was not disclosed",
                    path.join(".")
                ),
                credentials.first().map(|c| c.format),
            ));
        }
    }
    Ok(())
}

/// The CPR number of a Danish PID's claims (one PID namespace or the SD-JWT claims): the
/// `personal_administrative_number` when it is a CPR number and the PID, if it says, was issued
/// in Denmark. Another country's administrative number is not a CPR.
fn danish_cpr(pid: &Map<String, Value>) -> Option<String> {
    let country = pid.get("issuing_country").and_then(Value::as_str);
    if country.is_some_and(|c| c != "DK") {
        return None;
    }
    let number = pid.get(CPR_CLAIM)?.as_str()?;
    eudi_pid::Cpr::parse(number).ok()?;
    Some(number.to_owned())
}

fn claim_at<'c>(claims: &'c Map<String, Value>, path: &[String]) -> Option<&'c Value> {
    let (first, rest) = path.split_first()?;
    let mut value = claims.get(first)?;
    for key in rest {
        value = value.as_object()?.get(key)?;
    }
    Some(value)
}

/// The effective level of assurance (DESIGN.md): min(level stated in the credential, ceiling of
/// the trust anchor that issued it); a credential that states none gets the ceiling.
fn effective_level(
    stated: Option<AssuranceLevel>,
    ceiling: Option<AssuranceLevel>,
) -> Option<AssuranceLevel> {
    match (stated, ceiling) {
        (Some(s), Some(c)) => Some(s.min(c)),
        (s, c) => s.or(c),
    }
}

#[cfg(test)]
mod tests {
    use eudi_sdjwt::SdJwtError;
    use eudi_trust::HasErrorCode;
    use eudi_trust::X509Error;
    use eudi_trust::jws::JwsError;

    use super::*;

    #[test]
    fn signature_and_type_failures_keep_their_codes() {
        assert_eq!(
            HasErrorCode::code(&SdJwtError::IssuerJws(JwsError::BadSignature)),
            ErrorCode::InvalidSignature
        );
        assert_eq!(
            HasErrorCode::code(&SdJwtError::IssuerKey("x".into())),
            ErrorCode::UntrustedIssuer
        );
        assert_eq!(
            HasErrorCode::code(&SdJwtError::MissingKeyBinding),
            ErrorCode::KeyBindingRequired
        );
        // An empty `x5c` is not a chain at all; a chain to no anchor is an untrusted issuer.
        assert_eq!(
            HasErrorCode::code(&X509Error::EmptyChain),
            ErrorCode::Malformed
        );
        assert_eq!(
            HasErrorCode::code(&X509Error::UntrustedChain("no anchor".into())),
            ErrorCode::UntrustedIssuer
        );
    }

    fn credential(level: Option<AssuranceLevel>, claims: Value) -> VerifiedCredential {
        VerifiedCredential {
            format: CredentialFormat::SdJwtVc,
            issuer: None,
            credential_type: None,
            claims: claims.as_object().cloned().unwrap_or_default(),
            assurance_level: level,
            holder_binding: false,
            status: None,
            valid_from: None,
            valid_until: None,
            cpr: None,
        }
    }

    #[test]
    fn level_is_capped_by_the_anchor() {
        use eudi_trust::AssuranceLevel::High;
        use eudi_trust::AssuranceLevel::Low;
        use eudi_trust::AssuranceLevel::Substantial;
        assert_eq!(
            effective_level(Some(High), Some(Substantial)),
            Some(Substantial)
        );
        assert_eq!(effective_level(Some(Low), Some(High)), Some(Low));
        assert_eq!(effective_level(None, Some(High)), Some(High));
        assert_eq!(effective_level(Some(Substantial), None), Some(Substantial));
        assert_eq!(effective_level(None, None), None);
    }

    #[test]
    fn debug_shows_no_personal_data() {
        let mut c = credential(None, serde_json::json!({"given_name": "Karen"}));
        c.cpr = Some("1203852459".into());
        let shown = format!("{c:?}");
        assert!(shown.contains("given_name"), "{shown}");
        assert!(
            !shown.contains("Karen") && !shown.contains("1203852459"),
            "{shown}"
        );
    }

    #[test]
    fn policy_minimum_level() {
        use eudi_trust::AssuranceLevel::High;
        use eudi_trust::AssuranceLevel::Substantial;
        let policy = Policy {
            min_loa: Some(High),
            ..Policy::default()
        };
        let low = apply_policy(&[credential(Some(Substantial), Value::Null)], &policy);
        assert_eq!(low.map_err(|f| f.code), Err(ErrorCode::LoaTooLow));
        let none = apply_policy(&[credential(None, Value::Null)], &policy);
        assert_eq!(none.map_err(|f| f.code), Err(ErrorCode::LoaTooLow));
        assert!(apply_policy(&[credential(Some(High), Value::Null)], &policy).is_ok());
    }

    #[test]
    fn policy_required_claims() {
        let policy = Policy {
            required_claims: vec![vec!["address".into(), "locality".into()]],
            ..Policy::default()
        };
        let with = credential(None, serde_json::json!({"address": {"locality": "Aarhus"}}));
        let without = credential(None, serde_json::json!({"address": {"country": "DK"}}));
        assert!(apply_policy(std::slice::from_ref(&with), &policy).is_ok());
        let missing = apply_policy(std::slice::from_ref(&without), &policy);
        assert_eq!(missing.map_err(|f| f.code), Err(ErrorCode::MissingClaim));
        // One of several documents is enough.
        assert!(apply_policy(&[without, with], &policy).is_ok());
    }
}
