//! Token Status List checks shared by every credential format (draft-ietf-oauth-status-list
//! §8): a supplied token, the ttl-bounded cache, or a fetch, always verified with a trusted key
//! before use. SD-JWT VCs reference JWT status lists, mdocs CWT ones.

use std::sync::Arc;

use eudi_status_list::{
    Status, StatusReference, UnverifiedStatusListCwt, UnverifiedStatusListJwt, VerifiedStatusList,
};
use eudi_trust::{AlgorithmPolicy, LeafProfile, VerifyingKey};
use serde_json::Map;

use crate::report::{ErrorCode, ReportError};
use crate::sd_jwt::resolve_keys;
use crate::{Expectations, Inner};

/// The form of Status List Token a credential format uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusForm {
    /// `application/statuslist+jwt` (SD-JWT VC §3.2.2.2 requires this form).
    Jwt,
    /// `application/statuslist+cwt` (mdoc).
    Cwt,
}

impl StatusForm {
    fn media_type(self) -> &'static str {
        match self {
            Self::Jwt => "application/statuslist+jwt",
            Self::Cwt => "application/statuslist+cwt",
        }
    }
}

/// Maps a status to the report's status string, or to the error that makes it invalid.
pub(crate) fn outcome(status: Status) -> Result<String, ReportError> {
    match status {
        Status::Valid => Ok("valid".into()),
        Status::Invalid => Err(ReportError::new(
            ErrorCode::Revoked,
            "the issuer has revoked this credential",
        )),
        Status::Suspended => Err(ReportError::new(
            ErrorCode::Suspended,
            "the issuer has suspended this credential",
        )),
        other => Err(ReportError::new(
            ErrorCode::InvalidCredential,
            format!("the status list gives status {other}, which is not valid"),
        )),
    }
}

/// Verifies one Status List Token of `form` for `reference.uri`. The signing key comes from its
/// certificate chain (validated to the trust anchors), a trusted key named by `kid`, or, when
/// the token names neither, the credential issuer's own key.
fn verify_token(
    inner: &Inner,
    token: &[u8],
    form: StatusForm,
    reference: &StatusReference,
    issuer_key: &VerifyingKey,
    now: i64,
) -> Result<VerifiedStatusList, String> {
    let policy = AlgorithmPolicy::default();
    match form {
        StatusForm::Jwt => {
            let text = std::str::from_utf8(token).map_err(|_| "not a JWT".to_owned())?;
            let parsed = UnverifiedStatusListJwt::parse(text.trim()).map_err(|e| e.to_string())?;
            let header = parsed.header();
            let key = if header.x5c.is_none() && header.kid.is_none() {
                issuer_key.clone()
            } else {
                let found = resolve_keys(inner, header, &Map::new(), now).map_err(|e| e.message)?;
                found
                    .into_iter()
                    .next()
                    .map(|k| k.key)
                    .ok_or_else(|| "no trusted key for the status list".to_owned())?
            };
            parsed
                .verify(&key, &policy, &reference.uri, now)
                .map_err(|e| e.to_string())
        }
        StatusForm::Cwt => {
            let parsed = UnverifiedStatusListCwt::parse(token).map_err(|e| e.to_string())?;
            let chain = parsed.x5chain();
            let key = if chain.is_empty() {
                issuer_key.clone()
            } else {
                let ders: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
                inner
                    .chains
                    .validate_der(&ders, now, LeafProfile::Any)
                    .map_err(|e| format!("status list certificate chain: {e}"))?
                    .leaf_key
                    .clone()
            };
            parsed
                .verify(&key, &policy, &reference.uri, now)
                .map_err(|e| e.to_string())
        }
    }
}

/// Looks `reference` up: supplied tokens first, then the cache, then the network.
pub(crate) async fn check(
    inner: &Inner,
    reference: &StatusReference,
    issuer_key: &VerifyingKey,
    form: StatusForm,
    expect: &Expectations,
    now: i64,
) -> Result<Status, ReportError> {
    let unavailable = |m: String| ReportError::new(ErrorCode::StatusUnavailable, m);
    let mut supplied_errors = Vec::new();
    for token in &expect.status_lists {
        match verify_token(inner, token, form, reference, issuer_key, now) {
            Ok(list) => {
                return list
                    .status_of(reference)
                    .map_err(|e| unavailable(format!("status list {}: {e}", reference.uri)));
            }
            Err(e) => supplied_errors.push(e),
        }
    }
    let with_supplied = |m: String| {
        if supplied_errors.is_empty() {
            unavailable(m)
        } else {
            unavailable(format!(
                "{m}; no supplied status list token fits: {}",
                supplied_errors.join("; ")
            ))
        }
    };
    let list = match inner.status_cache.get(&reference.uri, now) {
        Some(list) => list,
        None => {
            let body = inner
                .fetcher
                .get(&reference.uri, form.media_type())
                .await
                .map_err(|e| with_supplied(e.to_string()))?;
            let verified = verify_token(inner, &body, form, reference, issuer_key, now)
                .map_err(|e| unavailable(format!("status list {}: {e}", reference.uri)))?;
            let verified = Arc::new(verified);
            inner
                .status_cache
                .insert(reference.uri.clone(), verified.clone(), now);
            verified
        }
    };
    list.status_of(reference)
        .map_err(|e| unavailable(format!("status list {}: {e}", reference.uri)))
}
