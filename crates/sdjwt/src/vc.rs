//! SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): the `dc+sd-jwt` profile of SD-JWT.
//!
//! Adds to RFC 9901: explicit typing, the `vct` type, registered claims that must never be
//! selectively disclosed (§3.2.2.2), holder binding via `cnf`, and issuer key discovery through
//! JWT VC Issuer Metadata (§4) or `x5c`.

use eudi_trust::Jwk;
use eudi_trust::Signer;
use eudi_trust::VerifyingKey;
use eudi_trust::jwk::JwkSet;
use eudi_trust::jws::Header;
use eudi_trust::jws::PreparedHeader;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Map;
use serde_json::Value;

use crate::IssueError;
use crate::SdJwtBuilder;
use crate::SdJwtError;
use crate::issuer::IntoClaims;
use crate::path::PathElement;
use crate::serialization::SdJwt;
use crate::verifier::CandidateResolver;
use crate::verifier::KeyResolver;
use crate::verifier::VerifiedSdJwt;
use crate::verifier::VerifyOptions;
use crate::verifier::{self};

/// The media type of SD-JWT VCs.
pub const TYP: &str = "dc+sd-jwt";
/// The earlier media type, still accepted on input.
pub const LEGACY_TYP: &str = "vc+sd-jwt";

/// Registered claims that MUST NOT be selectively disclosed (SD-JWT VC §3.2.2.2).
pub const NEVER_DISCLOSABLE: [&str; 8] = [
    "iss",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "aka_vcts",
    "status",
];

/// Claims that describe the credential rather than its subject; they are not user claims.
pub const CREDENTIAL_CLAIMS: [&str; 9] = [
    "iss",
    "nbf",
    "exp",
    "iat",
    "cnf",
    "vct",
    "vct#integrity",
    "aka_vcts",
    "status",
];

/// A verified SD-JWT VC. Only [`verify`] makes one: the fields are private.
///
/// ```compile_fail,E0451
/// fn forge(sd_jwt: eudi_sdjwt::verifier::VerifiedSdJwt) -> eudi_sdjwt::vc::VerifiedSdJwtVc {
///     eudi_sdjwt::vc::VerifiedSdJwtVc {
///         sd_jwt,
///         vct: String::new(),
///         issuer: None,
///         status: None,
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct VerifiedSdJwtVc {
    sd_jwt: VerifiedSdJwt,
    vct: String,
    issuer: Option<String>,
    status: Option<Value>,
}

impl VerifiedSdJwtVc {
    /// The verified SD-JWT underneath.
    pub fn sd_jwt(&self) -> &VerifiedSdJwt {
        &self.sd_jwt
    }

    /// The verified SD-JWT underneath, by value.
    pub fn into_sd_jwt(self) -> VerifiedSdJwt {
        self.sd_jwt
    }

    /// The credential type (`vct`).
    pub fn vct(&self) -> &str {
        &self.vct
    }

    /// The `iss` claim, when present.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The raw `status` claim (an object), for the status list check.
    pub fn status(&self) -> Option<&Value> {
        self.status.as_ref()
    }

    /// The processed claims, as [`VerifiedSdJwt::claims`].
    pub fn claims(&self) -> &Map<String, Value> {
        self.sd_jwt.claims()
    }

    /// The disclosed claims about the subject: everything but [`CREDENTIAL_CLAIMS`].
    pub fn user_claims(&self) -> Map<String, Value> {
        self.sd_jwt
            .claims()
            .iter()
            .filter(|(k, _)| !CREDENTIAL_CLAIMS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Starts an SD-JWT VC: `typ` `dc+sd-jwt`, `vct`, `iss`, `iat`, and every other claim
/// selectively disclosable at every level, as PID rulebook PID_21 requires. A path to one of
/// [`NEVER_DISCLOSABLE`] (or below it) given to [`SdJwtBuilder::sd`] is refused when signing.
pub fn builder<'c>(
    vct: &str,
    iss: &str,
    iat: i64,
    claims: impl IntoClaims<'c>,
) -> SdJwtBuilder<'c> {
    SdJwtBuilder::new(claims)
        .default_typ(TYP)
        .never_sd(&NEVER_DISCLOSABLE)
        .sd_all_except_static(&NEVER_DISCLOSABLE_OR_IAT)
        .plain_str("vct", vct)
        .plain_str("iss", iss)
        .plain_claim("iat", &iat)
}

/// The protected header of the SD-JWT VCs `signer` issues: `typ` `dc+sd-jwt` and the issuer's
/// certificate chain in `x5c` (leaf first, DER; an empty chain leaves `x5c` out). Prepared once,
/// it is used for every credential ([`SdJwtBuilder::sign_prepared`]).
pub fn prepare_header(
    signer: &dyn Signer,
    x5c: &[impl AsRef<[u8]>],
) -> Result<PreparedHeader, IssueError> {
    let mut header = Header::new(signer.algorithm(), Some(TYP));
    if !x5c.is_empty() {
        header.x5c = Some(x5c.iter().map(eudi_trust::b64::encode_std).collect());
    }
    PreparedHeader::new(&header, signer.algorithm()).map_err(IssueError::Signing)
}

/// [`NEVER_DISCLOSABLE`] and `iat`, which the PID rulebook keeps plain too.
const NEVER_DISCLOSABLE_OR_IAT: [&str; 9] = [
    "iss",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "aka_vcts",
    "status",
    "iat",
];

/// Verifies an SD-JWT VC: the SD-JWT checks of [`verifier::verify`] with `typ` `dc+sd-jwt`
/// (or `vc+sd-jwt`) required unless `options` says otherwise, then the SD-JWT VC rules.
pub fn verify(
    sd_jwt: &SdJwt,
    resolve_key: &mut KeyResolver<'_>,
    options: &VerifyOptions,
) -> Result<VerifiedSdJwtVc, SdJwtError> {
    let verified = verifier::verify_typed(sd_jwt, resolve_key, options, &[TYP, LEGACY_TYP])?;
    check_vc(verified)
}

/// [`verify`] with several candidate keys per issuer signature
/// ([`verifier::verify_with_candidates`]): also returns, per issuer signature, the index of the
/// candidate that verified it.
pub fn verify_with_candidates(
    sd_jwt: &SdJwt,
    resolve_keys: &mut CandidateResolver<'_>,
    options: &VerifyOptions,
) -> Result<(VerifiedSdJwtVc, Vec<usize>), SdJwtError> {
    let (verified, chosen) =
        verifier::verify_candidates_typed(sd_jwt, resolve_keys, options, &[TYP, LEGACY_TYP])?;
    Ok((check_vc(verified)?, chosen))
}

fn check_vc(verified: VerifiedSdJwt) -> Result<VerifiedSdJwtVc, SdJwtError> {
    // SD-JWT VC §3.2.2.2: these claims, "including any of their sub-claims", are never
    // selectively disclosed; a disclosure at or below one is a broken credential.
    for node in verified.disclosed() {
        if let Some(PathElement::Key(top)) = node.path.0.first()
            && NEVER_DISCLOSABLE.contains(&top.as_str())
        {
            return Err(SdJwtError::NotDisclosable { claim: top.clone() });
        }
    }
    let vct = match verified.claims().get("vct") {
        Some(Value::String(v)) if !v.is_empty() => v.clone(),
        Some(_) => return Err(SdJwtError::Vc("`vct` is not a non-empty string".into())),
        None => return Err(SdJwtError::Vc("`vct` is missing".into())),
    };
    let issuer = match verified.claims().get("iss") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(SdJwtError::Vc("`iss` is not a string".into())),
    };
    let status = verified.claims().get("status").cloned();
    if let Some(status) = &status
        && !status.is_object()
    {
        return Err(SdJwtError::Vc("`status` is not an object".into()));
    }
    Ok(VerifiedSdJwtVc {
        sd_jwt: verified,
        vct,
        issuer,
        status,
    })
}

/// The JWT VC Issuer Metadata location for `iss`: `/.well-known/jwt-vc-issuer` inserted between
/// the host and the path (SD-JWT VC §4.1). Only `https` issuers have metadata.
pub fn issuer_metadata_url(iss: &str) -> Result<String, SdJwtError> {
    let rest = iss
        .strip_prefix("https://")
        .ok_or_else(|| SdJwtError::Vc(format!("issuer {iss:?} is not an https URL")))?;
    if rest.contains(['?', '#']) {
        return Err(SdJwtError::Vc(format!(
            "issuer {iss:?} must not have a query or fragment"
        )));
    }
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if host.is_empty() {
        return Err(SdJwtError::Vc(format!("issuer {iss:?} has no host")));
    }
    let path = path.trim_end_matches('/');
    Ok(format!("https://{host}/.well-known/jwt-vc-issuer{path}"))
}

/// JWT VC Issuer Metadata (SD-JWT VC §4.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JwtVcIssuerMetadata {
    /// Must equal the `iss` of the credential.
    pub issuer: String,
    /// The issuer's keys, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<JwkSet>,
    /// Where the issuer's keys are, when not inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}

impl JwtVcIssuerMetadata {
    /// Checks the metadata belongs to `iss` and picks the key with `kid` (or the only key when
    /// there is no `kid`) from `jwks` (inline, or fetched from `jwks_uri` by the caller).
    pub fn select_key(
        &self,
        iss: &str,
        kid: Option<&str>,
        jwks: &JwkSet,
    ) -> Result<VerifyingKey, SdJwtError> {
        if self.issuer != iss {
            return Err(SdJwtError::IssuerKey(format!(
                "issuer metadata is for {:?}, not {iss:?}",
                self.issuer
            )));
        }
        select_from_jwks(jwks, kid)
    }
}

/// Picks a signing key from a JWK Set by `kid`; without a `kid` there must be exactly one key.
pub fn select_from_jwks(jwks: &JwkSet, kid: Option<&str>) -> Result<VerifyingKey, SdJwtError> {
    let candidates: Vec<&Jwk> = jwks
        .keys
        .iter()
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
        .collect();
    match candidates.as_slice() {
        [one] => one
            .to_verifying_key()
            .map_err(|e| SdJwtError::IssuerKey(e.to_string())),
        [] => Err(SdJwtError::IssuerKey(match kid {
            Some(kid) => format!("no key with kid {kid:?} in the issuer's JWK set"),
            None => "the issuer's JWK set has no signing key".into(),
        })),
        _ => Err(SdJwtError::IssuerKey(
            "several keys match and the JWT has no `kid` to choose".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_static_exceptions_cover_every_never_disclosable_claim() {
        // The encoder skips its separate never-disclosable check for this list.
        for name in NEVER_DISCLOSABLE {
            assert!(NEVER_DISCLOSABLE_OR_IAT.contains(&name), "{name}");
        }
    }

    #[test]
    fn metadata_url_inserts_well_known() {
        assert_eq!(
            issuer_metadata_url("https://example.com").unwrap(),
            "https://example.com/.well-known/jwt-vc-issuer"
        );
        assert_eq!(
            issuer_metadata_url("https://example.com/tenant/1234").unwrap(),
            "https://example.com/.well-known/jwt-vc-issuer/tenant/1234"
        );
        assert_eq!(
            issuer_metadata_url("https://example.com:8443/t/").unwrap(),
            "https://example.com:8443/.well-known/jwt-vc-issuer/t"
        );
        assert!(issuer_metadata_url("http://example.com").is_err());
        assert!(issuer_metadata_url("https://example.com/?q=1").is_err());
        assert!(issuer_metadata_url("https:///x").is_err());
    }
}
