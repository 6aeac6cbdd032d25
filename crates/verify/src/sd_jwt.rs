//! The SD-JWT / SD-JWT VC verification pipeline: key resolution, format checks, status.

use eudi_sdjwt::verifier::{self, KeyBindingPolicy, VerifyOptions};
use eudi_sdjwt::{SdJwt, SdJwtError, vc};
use eudi_status_list::StatusReference;
use eudi_trust::jws::{Header, JwsError};
use eudi_trust::{AssuranceLevel, LeafProfile, VerifyingKey};
use serde_json::{Map, Value};

use crate::report::{ErrorCode, Report, ReportError};
use crate::status::{self, StatusForm};
use crate::{Expectations, Inner};

/// The key that signed a credential and what trusting it implies.
#[derive(Clone)]
pub(crate) struct ResolvedKey {
    pub(crate) key: VerifyingKey,
    pub(crate) ceiling: Option<AssuranceLevel>,
    /// Issuer name from the trust source (certificate subject), used when there is no `iss`.
    pub(crate) subject: Option<String>,
}

type Failure = (&'static str, ReportError);

pub(crate) async fn verify(inner: &Inner, input: &str, expect: &Expectations, now: i64) -> Report {
    match run(inner, input, expect, now).await {
        Ok(report) => report,
        Err((format, error)) => Report::invalid(format, error),
    }
}

async fn run(
    inner: &Inner,
    input: &str,
    expect: &Expectations,
    now: i64,
) -> Result<Report, Failure> {
    let sd = SdJwt::parse(input).map_err(|e| ("sd-jwt", map_error(e)))?;
    let headers = verifier::issuer_headers(&sd).map_err(|e| ("sd-jwt", map_error(e)))?;
    let payload = verifier::unverified_payload(&sd).map_err(|e| ("sd-jwt", map_error(e)))?;
    let first = headers.first().ok_or_else(|| {
        (
            "sd-jwt",
            ReportError::new(ErrorCode::Malformed, "no issuer signature"),
        )
    })?;
    // A token that names a credential type, or says it is one, must pass as an SD-JWT VC
    // (`typ` included); only a plain SD-JWT is verified by RFC 9901 alone.
    let is_vc = payload.contains_key("vct")
        || first.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(vc::TYP) || t.eq_ignore_ascii_case(vc::LEGACY_TYP)
        });
    let format = if is_vc { "dc+sd-jwt" } else { "sd-jwt" };
    let fail = |e: ReportError| (format, e);

    let mut options = VerifyOptions::new(now);
    options.key_binding = KeyBindingPolicy {
        required: expect.nonce.is_some() || expect.audience.is_some(),
        audience: expect.audience.clone(),
        nonce: expect.nonce.clone(),
    };

    let candidates = resolve_keys(inner, first, &payload, now).map_err(fail)?;
    let mut last_error = None;
    let mut outcome = None;
    for candidate in &candidates {
        // The first signature is checked with the candidate; further signatures of a general
        // JWS JSON serialization (RFC 9901 §8.3) resolve their own keys the same way.
        let mut calls = 0usize;
        let mut resolve = |header: &Header, payload: &Map<String, Value>| {
            calls += 1;
            if calls == 1 {
                return Ok(candidate.key.clone());
            }
            resolve_keys(inner, header, payload, now)
                .map_err(|e| e.message)?
                .into_iter()
                .next()
                .map(|k| k.key)
                .ok_or_else(|| "no trusted key for this signature".to_owned())
        };
        let result = if is_vc {
            vc::verify(&sd, &mut resolve, &options).map(|v| {
                let claims = v.user_claims();
                (v.sd_jwt, claims, Some(v.vct), v.issuer, v.status)
            })
        } else {
            verifier::verify(&sd, &mut resolve, &options).map(|v| {
                let claims = user_claims(&v.claims);
                let iss = v
                    .claims
                    .get("iss")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                (v, claims, None, iss, None)
            })
        };
        match result {
            Ok(ok) => {
                outcome = Some((candidate.clone(), ok));
                break;
            }
            // Several configured keys may fit: try the next only when the signature was wrong.
            Err(SdJwtError::IssuerJws(JwsError::BadSignature)) if candidates.len() > 1 => {
                last_error = Some(SdJwtError::IssuerJws(JwsError::BadSignature));
            }
            Err(e) => return Err(fail(map_error(e))),
        }
    }
    let Some((resolved, (verified, claims, vct, iss, status_claim))) = outcome else {
        let e = last_error.unwrap_or(SdJwtError::IssuerKey("no candidate key".into()));
        return Err(fail(map_error(e)));
    };

    let mut report = Report {
        valid: true,
        format: format.to_owned(),
        issuer: iss.or(resolved.subject.clone()),
        credential_type: vct,
        claims,
        assurance_level: crate::effective_level(
            eudi_pid::stated_level_sd_jwt(&verified.claims),
            resolved.ceiling,
        ),
        holder_binding: verified.key_binding.is_some(),
        status: None,
        errors: Vec::new(),
    };

    if let (Some(_), false) = (&status_claim, expect.skip_status) {
        let reference = StatusReference::from_jwt_claims(&verified.claims).map_err(|e| {
            fail(ReportError::new(
                ErrorCode::InvalidCredential,
                format!("`status`: {e}"),
            ))
        })?;
        let status = status::check(
            inner,
            &reference,
            &resolved.key,
            StatusForm::Jwt,
            expect,
            now,
        )
        .await
        .map_err(fail)?;
        report.status = Some(status::outcome(status).map_err(fail)?);
    }
    Ok(report)
}

/// The claims of a plain SD-JWT minus JWT registered claims about the token itself.
fn user_claims(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .filter(|(k, _)| !vc::CREDENTIAL_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Keys that may have signed a token with this header: from a validated `x5c` chain, else from
/// the configured keys (by `kid` when it matches one).
pub(crate) fn resolve_keys(
    inner: &Inner,
    header: &Header,
    _payload: &Map<String, Value>,
    now: i64,
) -> Result<Vec<ResolvedKey>, ReportError> {
    if let Some(x5c) = &header.x5c {
        let chain = inner
            .chains
            .validate_x5c(x5c, now, LeafProfile::DigitalSignature)
            .map_err(|e| {
                ReportError::new(
                    ErrorCode::UntrustedIssuer,
                    format!("the issuer's certificate chain is not trusted: {e}"),
                )
            })?;
        return Ok(vec![ResolvedKey {
            key: chain.leaf_key.clone(),
            ceiling: inner.trust.anchor_ceiling(chain.anchor_index),
            subject: Some(chain.leaf_subject.clone()),
        }]);
    }
    // A token that names its key (`kid`) is only checked with that key or with configured keys
    // that carry no `kid`; a token without `kid` may be checked with any configured key.
    let chosen: Vec<_> = inner
        .trust
        .keys()
        .iter()
        .filter(|k| match (&header.kid, &k.kid) {
            (Some(wanted), Some(have)) => wanted == have,
            _ => true,
        })
        .collect();
    if chosen.is_empty() {
        let detail = match &header.kid {
            Some(kid) => format!("no trusted key has kid {kid:?}"),
            None => "the token has no `x5c` chain and no key is configured".to_owned(),
        };
        return Err(ReportError::new(
            ErrorCode::UntrustedIssuer,
            format!("no trust anchor or key is configured for this issuer: {detail}"),
        ));
    }
    Ok(chosen
        .into_iter()
        .map(|k| ResolvedKey {
            key: k.key.clone(),
            ceiling: k.ceiling,
            subject: None,
        })
        .collect())
}

/// Maps every SD-JWT failure to a stable code; the message is the library's exact reason.
fn map_error(e: SdJwtError) -> ReportError {
    let code = match &e {
        SdJwtError::Malformed(_)
        | SdJwtError::PayloadNotObject
        | SdJwtError::UnsupportedHashAlgorithm(_)
        | SdJwtError::InvalidSdStructure { .. } => ErrorCode::Malformed,
        SdJwtError::TooLarge { .. } => ErrorCode::TooLarge,
        SdJwtError::IssuerJws(j) => match j {
            JwsError::UnsupportedAlgorithm(_)
            | JwsError::AlgorithmNotAllowed(_)
            | JwsError::AlgorithmKeyMismatch { .. } => ErrorCode::UnsupportedAlgorithm,
            JwsError::WrongType { .. } => ErrorCode::WrongType,
            JwsError::BadSignature => ErrorCode::InvalidSignature,
            _ => ErrorCode::Malformed,
        },
        SdJwtError::IssuerKey(_) => ErrorCode::UntrustedIssuer,
        SdJwtError::MalformedDisclosure { .. }
        | SdJwtError::DuplicateDisclosure { .. }
        | SdJwtError::DuplicateDigest(_)
        | SdJwtError::UnreferencedDisclosure { .. }
        | SdJwtError::DisclosureShapeMismatch { .. }
        | SdJwtError::ReservedClaimName { .. }
        | SdJwtError::ClaimNameCollision(_) => ErrorCode::InvalidDisclosure,
        SdJwtError::Time { claim: "exp", .. } => ErrorCode::Expired,
        SdJwtError::Time { claim: "nbf", .. } => ErrorCode::NotYetValid,
        SdJwtError::Time { .. } => ErrorCode::InvalidCredential,
        SdJwtError::MissingKeyBinding => ErrorCode::KeyBindingRequired,
        SdJwtError::MissingHolderKey
        | SdJwtError::KeyBinding(_)
        | SdJwtError::UnexpectedKeyBinding => ErrorCode::InvalidKeyBinding,
        SdJwtError::Vc(_) => ErrorCode::InvalidCredential,
        _ => ErrorCode::Malformed,
    };
    ReportError::new(code, e.to_string())
}
