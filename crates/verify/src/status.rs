//! Token Status List checks shared by every credential format (draft-ietf-oauth-status-list
//! §8): supplied tokens, or the ttl-bounded cache, or a fetch; a token is used only when it
//! verifies with a key of the credential's own issuer, from the same trust source that vouched
//! for the credential (§8.3: "the Status List Token ... MUST be signed by the issuer of the
//! Referenced Token" in the sense of the same trust relationship). SD-JWTs reference JWT
//! status lists, mdocs CWT ones.

use std::sync::Arc;

use eudi_status_list::CacheConfig;
use eudi_status_list::Status;
use eudi_status_list::StatusListCache;
use eudi_status_list::StatusReference;
use eudi_status_list::UnverifiedStatusListCwt;
use eudi_status_list::UnverifiedStatusListJwt;
use eudi_status_list::VerifiedStatusList;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::ErrorCode;
use eudi_trust::LeafProfile;
use eudi_trust::VerifyingKey;

use crate::fetch::Fetcher;
use crate::sd_jwt::leaf_names;
use crate::trust::AnchorPurpose;
use crate::trust::TrustConfig;

/// Where status lists come from when they are not supplied: a fetcher and a ttl-bounded cache
/// of verified lists. Share one per process.
#[derive(Debug)]
pub struct StatusSource {
    fetcher: Arc<dyn Fetcher>,
    cache: StatusListCache,
}

impl StatusSource {
    /// Fetches with `fetcher`, caching verified lists for their `ttl` (bounded).
    pub fn new(fetcher: Arc<dyn Fetcher>) -> Self {
        Self {
            fetcher,
            cache: StatusListCache::new(CacheConfig::default()),
        }
    }
}

/// Whether and how a credential's status is checked.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum StatusCheck<'a> {
    /// Not checked (offline use); the credential's `status` is `None`.
    Skip,
    /// From the cache, else fetched from the credential's status URI.
    Fetch(&'a StatusSource),
    /// Only from these Status List Tokens (JWT text or CWT bytes), given out of band: one must
    /// be for the credential's status URI and verify, else the status is unavailable. Nothing
    /// is fetched.
    Supplied(&'a [Vec<u8>]),
}

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

/// How the trust source vouched for a credential's issuer key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Vouched {
    /// A certificate chain to anchor `anchor` of `purpose`, with this leaf subject.
    Chain {
        purpose: AnchorPurpose,
        anchor: usize,
        leaf_subject: String,
    },
    /// Configured key `index` of [`TrustConfig::keys`].
    Key { index: usize },
}

/// The credential's issuer, as its status list must match it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Issuer<'a> {
    /// The key the credential verified with.
    pub(crate) key: &'a VerifyingKey,
    /// How that key was vouched for.
    pub(crate) vouched: &'a Vouched,
    /// The credential's `iss` (SD-JWT), which a status list certificate must name too.
    pub(crate) iss: Option<&'a str>,
}

/// Maps a status to the verified status, or to the failure it is.
fn outcome(status: Status) -> Result<Status, (ErrorCode, String)> {
    match status {
        Status::Valid => Ok(Status::Valid),
        Status::Invalid => Err((
            ErrorCode::Revoked,
            "the issuer has revoked this credential".into(),
        )),
        Status::Suspended => Err((
            ErrorCode::Suspended,
            "the issuer has suspended this credential".into(),
        )),
        other => Err((
            ErrorCode::InvalidCredential,
            format!("the status list gives status {other}, which is not valid"),
        )),
    }
}

/// The key a Status List Token must verify with: the credential's own key, or a key the same
/// trust source vouches for the same issuer.
fn token_key_jwt(
    trust: &TrustConfig,
    header: &eudi_trust::jws::Header,
    issuer: Issuer<'_>,
    now: i64,
) -> Result<VerifyingKey, String> {
    if let Some(x5c) = &header.x5c {
        let Vouched::Chain {
            purpose,
            anchor,
            leaf_subject,
        } = issuer.vouched
        else {
            return Err("the status list has a certificate chain, but the credential's issuer was vouched for by a configured key".into());
        };
        let chain = trust
            .sd_jwt_chains()
            .validate_x5c(x5c, now, LeafProfile::DigitalSignature)
            .map_err(|e| format!("status list certificate chain: {e}"))?;
        if *purpose != AnchorPurpose::SdJwtVc || chain.anchor_index != *anchor {
            return Err("the status list's certificate chains to another trust anchor than the credential's".into());
        }
        let same_issuer = match issuer.iss {
            Some(iss) => leaf_names(&chain, iss),
            None => chain.leaf_subject == *leaf_subject,
        };
        if !same_issuer {
            return Err(
                "the status list's certificate does not name the credential's issuer".into(),
            );
        }
        return Ok(chain.leaf_key.clone());
    }
    let Some(kid) = &header.kid else {
        return Ok(issuer.key.clone());
    };
    let Vouched::Key { index } = issuer.vouched else {
        return Err(format!(
            "the status list names key {kid:?}, but the credential's issuer was vouched for by a certificate chain"
        ));
    };
    let keys = trust.keys();
    let own = keys.get(*index).and_then(|k| k.issuer.as_deref());
    keys.iter()
        .enumerate()
        .find(|(j, k)| {
            k.kid.as_deref() == Some(kid.as_str())
                && (j == index || (own.is_some() && k.issuer.as_deref() == own))
        })
        .map(|(_, k)| k.key.clone())
        .ok_or_else(|| format!("no key {kid:?} is trusted for the credential's issuer"))
}

fn token_key_cwt(
    trust: &TrustConfig,
    parsed: &UnverifiedStatusListCwt,
    issuer: Issuer<'_>,
    now: i64,
) -> Result<VerifyingKey, String> {
    let chain = parsed.x5chain();
    if chain.is_empty() {
        return Ok(issuer.key.clone());
    }
    let Vouched::Chain {
        purpose, anchor, ..
    } = issuer.vouched
    else {
        return Err("the status list has a certificate chain, but the credential's issuer was vouched for by a configured key".into());
    };
    let ders: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    let validated = trust
        .mdoc_chains()
        .validate_der(&ders, now, LeafProfile::Any)
        .map_err(|e| format!("status list certificate chain: {e}"))?;
    // mdoc issuers are identified by their IACA (ISO/IEC 18013-5 Annex B: one IACA per
    // issuing authority): a status list signer under the same IACA speaks for the issuer.
    if *purpose != AnchorPurpose::Mdoc || validated.anchor_index != *anchor {
        return Err(
            "the status list's certificate chains to another IACA than the credential's".into(),
        );
    }
    Ok(validated.leaf_key.clone())
}

/// Verifies one Status List Token of `form` for `reference.uri`.
fn verify_token(
    trust: &TrustConfig,
    token: &[u8],
    form: StatusForm,
    reference: &StatusReference,
    issuer: Issuer<'_>,
    now: i64,
) -> Result<VerifiedStatusList, String> {
    let policy = AlgorithmPolicy::default();
    match form {
        StatusForm::Jwt => {
            let text = std::str::from_utf8(token).map_err(|_| "not a JWT".to_owned())?;
            let parsed = UnverifiedStatusListJwt::parse(text.trim()).map_err(|e| e.to_string())?;
            let key = token_key_jwt(trust, parsed.header(), issuer, now)?;
            parsed
                .verify(&key, &policy, &reference.uri, now)
                .map_err(|e| e.to_string())
        }
        StatusForm::Cwt => {
            let parsed = UnverifiedStatusListCwt::parse(token).map_err(|e| e.to_string())?;
            let key = token_key_cwt(trust, &parsed, issuer, now)?;
            parsed
                .verify(&key, &policy, &reference.uri, now)
                .map_err(|e| e.to_string())
        }
    }
}

/// Checks `reference` as `check` says; `Ok(None)` when skipped.
pub(crate) async fn check(
    check: StatusCheck<'_>,
    trust: &TrustConfig,
    reference: &StatusReference,
    form: StatusForm,
    issuer: Issuer<'_>,
    now: i64,
) -> Result<Option<Status>, (ErrorCode, String)> {
    let unavailable = |m: String| (ErrorCode::StatusUnavailable, m);
    let cache_key = format!("{} {:?} {:?}", reference.uri, issuer.vouched, issuer.iss);
    let list = match check {
        StatusCheck::Skip => return Ok(None),
        StatusCheck::Supplied(tokens) => {
            let mut errors = Vec::new();
            let mut found = None;
            for token in tokens {
                match verify_token(trust, token, form, reference, issuer, now) {
                    Ok(list) => {
                        found = Some(Arc::new(list));
                        break;
                    }
                    Err(e) => errors.push(e),
                }
            }
            found.ok_or_else(|| {
                unavailable(format!(
                    "no supplied status list is a valid one for {} from the credential's issuer: {}",
                    reference.uri,
                    errors.join("; ")
                ))
            })?
        }
        // Cached per issuer, not per URI alone: a list verified for one issuer never answers
        // for another issuer's credential that points at the same URI.
        StatusCheck::Fetch(source) => match source.cache.get(&cache_key, now) {
            Some(list) => list,
            None => {
                let body = source
                    .fetcher
                    .get(&reference.uri, form.media_type())
                    .await
                    .map_err(|e| unavailable(e.to_string()))?;
                let verified = verify_token(trust, &body, form, reference, issuer, now)
                    .map_err(|e| unavailable(format!("status list {}: {e}", reference.uri)))?;
                let verified = Arc::new(verified);
                source.cache.insert(cache_key, verified.clone(), now);
                verified
            }
        },
    };
    let status = list
        .status_of(reference)
        .map_err(|e| unavailable(format!("status list {}: {e}", reference.uri)))?;
    outcome(status).map(Some)
}
