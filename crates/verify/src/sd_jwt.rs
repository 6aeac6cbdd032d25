//! The SD-JWT / SD-JWT VC pipeline: issuer key resolution bound to the credential's issuer,
//! the format's checks, holder binding, status.

use eudi_sdjwt::SdJwt;
use eudi_sdjwt::SdJwtError;
use eudi_sdjwt::vc;
use eudi_sdjwt::verifier::KeyBindingPolicy;
use eudi_sdjwt::verifier::VerifyOptions;
use eudi_sdjwt::verifier::{self};
use eudi_status_list::StatusReference;
use eudi_trust::AssuranceLevel;
use eudi_trust::ErrorCode;
use eudi_trust::HasErrorCode as _;
use eudi_trust::LeafProfile;
use eudi_trust::ValidatedChain;
use eudi_trust::VerifyingKey;
use eudi_trust::jws::Header;
use serde_json::Map;
use serde_json::Value;

use crate::Context;
use crate::CredentialFormat;
use crate::Failure;
use crate::KeyBinding;
use crate::VerifiedCredential;
use crate::status::Issuer;
use crate::status::StatusForm;
use crate::status::Vouched;
use crate::status::{self};
use crate::trust::AnchorPurpose;
use crate::trust::TrustConfig;

/// Most issuer signatures of one General JWS JSON SD-JWT (RFC 9901 §8.3). Each is verified,
/// with up to one try per candidate key: without a bound, copies of one valid signature would
/// multiply the work of a single presentation.
pub const MAX_ISSUER_SIGNATURES: usize = 16;

/// A key the trust source gave for this issuer, and what trusting it implies.
#[derive(Clone, Debug)]
pub(crate) struct ResolvedKey {
    pub(crate) key: VerifyingKey,
    pub(crate) ceiling: Option<AssuranceLevel>,
    /// The issuer as vouched for: `iss` when the source was shown to correspond to it, else
    /// the certificate subject or the key's bound issuer.
    pub(crate) issuer: Option<String>,
    pub(crate) vouched: Vouched,
}

/// Whether a validated leaf certificate names `iss` (SD-JWT VC, "Issuer Verification Key
/// Discovery and Validation", X.509: the `iss` must be a URI SAN of the leaf, or, for an
/// https `iss`, its host a DNS SAN). Exact comparison: no prefix, suffix or substring match;
/// DNS names compare without regard to ASCII case (RFC 4343).
pub(crate) fn leaf_names(chain: &ValidatedChain, iss: &str) -> bool {
    if chain.leaf_san_uri.iter().any(|uri| uri == iss) {
        return true;
    }
    let Ok(url) = url::Url::parse(iss) else {
        return false;
    };
    if url.scheme() != "https" {
        return false;
    }
    match url.host_str() {
        Some(host) => chain
            .leaf_san_dns
            .iter()
            .any(|dns| dns.eq_ignore_ascii_case(host)),
        None => false,
    }
}

fn iss_of(payload: &Map<String, Value>) -> Result<Option<&str>, Failure> {
    match payload.get("iss") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Failure::new(
            ErrorCode::Malformed,
            "`iss` is not a string",
            None,
        )),
    }
}

/// Keys that may have signed a token with this header, each bound to the token's `iss`: from
/// a validated `x5c` chain to an SD-JWT VC anchor, else from the configured keys (by `kid`
/// when the token names one).
pub(crate) fn resolve_keys(
    trust: &TrustConfig,
    header: &Header,
    iss: Option<&str>,
    now: i64,
) -> Result<Vec<ResolvedKey>, Failure> {
    let untrusted = |m: String| Failure::new(ErrorCode::UntrustedIssuer, m, None);
    if let Some(x5c) = &header.x5c {
        let chain = trust
            .sd_jwt_chains()
            .validate_x5c(x5c, now, LeafProfile::DigitalSignature)
            .map_err(|e| {
                Failure::new(
                    e.code(),
                    format!("the issuer's certificate chain is not trusted: {e}"),
                    None,
                )
            })?;
        // With x5c the issuer is the leaf's subject; a stated `iss` must be one it names.
        let issuer = match iss {
            Some(iss) if leaf_names(&chain, iss) => iss.to_owned(),
            Some(iss) => {
                return Err(untrusted(format!(
                    "the issuer's certificate ({}) does not name the credential's issuer {iss:?} (no URI SAN equal to it, nor a DNS SAN equal to its host)",
                    chain.leaf_subject
                )));
            }
            None => chain.leaf_subject.clone(),
        };
        return Ok(vec![ResolvedKey {
            key: chain.leaf_key.clone(),
            ceiling: trust.anchor_ceiling(AnchorPurpose::SdJwtVc, chain.anchor_index),
            issuer: Some(issuer),
            vouched: Vouched::Chain {
                purpose: AnchorPurpose::SdJwtVc,
                anchor: chain.anchor_index,
                leaf_subject: chain.leaf_subject.clone(),
            },
        }]);
    }
    // A token that names its key (`kid`) is only checked with that key or with configured keys
    // that carry no `kid`; a token without `kid` may be checked with any configured key. Of
    // those, only keys bound to the token's issuer vouch for it.
    let by_kid: Vec<_> = trust
        .keys()
        .iter()
        .enumerate()
        .filter(|(_, k)| match (&header.kid, &k.kid) {
            (Some(wanted), Some(have)) => wanted == have,
            _ => true,
        })
        .collect();
    if by_kid.is_empty() {
        let detail = match &header.kid {
            Some(kid) => format!("no trusted key has kid {kid:?}"),
            None => "the token has no `x5c` chain and no key is configured".to_owned(),
        };
        return Err(untrusted(format!(
            "no trust anchor or key is configured for this issuer: {detail}"
        )));
    }
    let bound: Vec<ResolvedKey> = by_kid
        .iter()
        .filter(|(_, k)| match (k.issuer.as_deref(), iss) {
            (Some(have), Some(wanted)) => have == wanted,
            // An unbound key cannot show that it belongs to any named issuer.
            (None, Some(_)) => false,
            (_, None) => true,
        })
        .map(|(index, k)| ResolvedKey {
            key: k.key.clone(),
            ceiling: k.ceiling,
            issuer: iss.map(str::to_owned).or_else(|| k.issuer.clone()),
            vouched: Vouched::Key { index: *index },
        })
        .collect();
    if bound.is_empty() {
        let names: Vec<String> = by_kid
            .iter()
            .map(|(_, k)| match &k.issuer {
                Some(i) => format!("{} (issuer {i})", k.source),
                None => format!("{} (bound to no issuer)", k.source),
            })
            .collect();
        return Err(untrusted(format!(
            "no trusted key is bound to the credential's issuer {:?}; the candidates are {}",
            iss.unwrap_or_default(),
            names.join(", ")
        )));
    }
    Ok(bound)
}

pub(crate) async fn verify(
    input: &str,
    binding: Option<&KeyBinding>,
    context: &Context<'_>,
) -> Result<VerifiedCredential, Failure> {
    let now = context.clock.now();
    let trust = context.trust;
    // Until it parses, the input is no SD-JWT: a failure here names no format.
    let parse_failure = |e: SdJwtError| Failure::new(e.code(), e.to_string(), None);
    let sd = SdJwt::parse(input).map_err(parse_failure)?;
    let headers = verifier::issuer_headers(&sd).map_err(parse_failure)?;
    let payload = verifier::unverified_payload(&sd).map_err(parse_failure)?;
    let first = headers
        .first()
        .ok_or_else(|| Failure::new(ErrorCode::Malformed, "no issuer signature", None))?;
    // A token that names a credential type, or says it is one, must pass as an SD-JWT VC
    // (`typ` included); only a plain SD-JWT is verified by RFC 9901 alone.
    let is_vc = payload.contains_key("vct")
        || first.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(vc::TYP) || t.eq_ignore_ascii_case(vc::LEGACY_TYP)
        });
    let format = if is_vc {
        CredentialFormat::SdJwtVc
    } else {
        CredentialFormat::SdJwt
    };
    let fail = |e: Failure| e.in_format(format);
    if headers.len() > MAX_ISSUER_SIGNATURES {
        return Err(Failure::new(
            ErrorCode::TooLarge,
            format!(
                "{} issuer signatures, more than the limit of {MAX_ISSUER_SIGNATURES}",
                headers.len()
            ),
            Some(format),
        ));
    }
    let lib = |e: SdJwtError| Failure::new(e.code(), e.to_string(), Some(format));

    let mut options = VerifyOptions::new(now);
    options.key_binding = match binding {
        Some(b) => KeyBindingPolicy::required(&b.audience, &b.nonce),
        // A KB-JWT that is present is still checked by the library (signature, sd_hash, age).
        None => KeyBindingPolicy::default(),
    };

    let iss = iss_of(&payload).map_err(fail)?;
    // The library calls the resolver once per issuer signature, in order, with its merged
    // (protected and unprotected) header.
    // Every candidate of every signature goes to the library, which verifies each signature
    // once per candidate at most and says which one verified: so the order of the configured
    // keys never matters (RFC 9901 §8.3, General JWS JSON: every signature must verify, each
    // with its own key), and the key that verifies is not verified twice.
    let mut candidates: Vec<Vec<ResolvedKey>> = Vec::with_capacity(headers.len());
    let mut resolve = |header: &Header, _: &Map<String, Value>| {
        let resolved = resolve_keys(trust, header, iss, now).map_err(|f| f.message)?;
        let keys = resolved.iter().map(|r| r.key.clone()).collect();
        candidates.push(resolved);
        Ok(keys)
    };
    let (verified, claims, vct, chosen) = if is_vc {
        vc::verify_with_candidates(&sd, &mut resolve, &options).map(|(v, chosen)| {
            let claims = v.user_claims();
            let vct = v.vct().to_owned();
            (v.into_sd_jwt(), claims, Some(vct), chosen)
        })
    } else {
        verifier::verify_with_candidates(&sd, &mut resolve, &options).map(|(v, chosen)| {
            let claims = user_claims(v.claims());
            (v, claims, None, chosen)
        })
    }
    .map_err(lib)?;
    // The first signature's key vouches for the credential (and for its status list).
    let resolved = candidates
        .into_iter()
        .zip(chosen)
        .next()
        .and_then(|(mut keys, index)| (index < keys.len()).then(|| keys.swap_remove(index)));
    let resolved = resolved.as_ref().ok_or_else(|| {
        Failure::new(
            ErrorCode::Internal,
            "no issuer key was resolved",
            Some(format),
        )
    })?;

    // Status for every SD-JWT that references a status list, VC or not
    // (draft-ietf-oauth-status-list §6.1 is about JWTs in general).
    // A plain SD-JWT may use `status` for something else (it is only registered for JWTs by
    // the Token Status List draft §6.1): there, only `status.status_list` is a reference.
    let references_list = match verified.claims().get("status") {
        None => false,
        Some(status) => is_vc || status.get("status_list").is_some(),
    };
    let status = match references_list {
        false => None,
        true => {
            let reference = StatusReference::from_jwt_claims(verified.claims()).map_err(|e| {
                Failure::new(
                    ErrorCode::InvalidCredential,
                    format!("`status`: {e}"),
                    Some(format),
                )
            })?;
            let issuer = Issuer {
                key: &resolved.key,
                vouched: &resolved.vouched,
                iss,
            };
            status::check(
                context.status,
                trust,
                &reference,
                StatusForm::Jwt,
                issuer,
                now,
            )
            .await
            .map_err(|(code, message)| Failure::new(code, message, Some(format)))?
        }
    };

    let number = |name: &str| verified.claims().get(name).and_then(Value::as_i64);
    let cpr = match vct.as_deref() {
        Some(eudi_pid::VCT) => crate::danish_cpr(&claims),
        _ => None,
    };
    Ok(VerifiedCredential {
        format,
        issuer: resolved.issuer.clone(),
        credential_type: vct,
        assurance_level: crate::effective_level(
            eudi_pid::stated_level_sd_jwt(verified.claims()),
            resolved.ceiling,
        ),
        // Only when the KB-JWT's nonce and aud were compared with the caller's.
        holder_binding: binding.is_some() && verified.key_binding().is_some(),
        status,
        valid_from: number("nbf").or_else(|| number("iat")),
        valid_until: number("exp"),
        cpr,
        claims,
    })
}

/// The claims of a plain SD-JWT minus JWT registered claims about the token itself.
fn user_claims(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .filter(|(k, _)| !vc::CREDENTIAL_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
