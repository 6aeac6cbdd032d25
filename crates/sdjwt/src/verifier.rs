//! Verification of SD-JWT and SD-JWT+KB (RFC 9901 §7.1 and §7.3).

use aws_lc_rs::digest;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::JwkRef;
use eudi_trust::VerifyingKey;
use eudi_trust::b64;
use eudi_trust::jws::CompactJws;
use eudi_trust::jws::Header;
use eudi_trust::jws::JwsError;
use eudi_trust::jws::{self};
use serde::Deserialize as _;
use serde_json::Map;
use serde_json::Value;

use crate::SdAlg;
use crate::SdJwtError;
use crate::process::DisclosureNode;
use crate::process::{self};
use crate::serialization::SdJwt;

/// The `typ` of a Key Binding JWT (RFC 9901 §4.3).
pub const KB_JWT_TYP: &str = "kb+jwt";

/// What the verifier requires of key binding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyBindingPolicy {
    /// Reject a presentation without a KB-JWT. Implied by `audience` or `nonce`.
    pub required: bool,
    /// The `aud` the KB-JWT must carry (the verifier's identifier).
    pub audience: Option<String>,
    /// The `nonce` the KB-JWT must carry (the transaction's nonce).
    pub nonce: Option<String>,
}

impl KeyBindingPolicy {
    /// Key binding required, for this audience and nonce.
    pub fn required(audience: &str, nonce: &str) -> Self {
        Self {
            required: true,
            audience: Some(audience.to_owned()),
            nonce: Some(nonce.to_owned()),
        }
    }

    fn is_required(&self) -> bool {
        self.required || self.audience.is_some() || self.nonce.is_some()
    }
}

/// Finds the key that must have made an issuer signature: given the signature's JOSE header and
/// the (unverified) payload, returns the key, or the reason no key is trusted.
pub type KeyResolver<'a> =
    dyn FnMut(&Header, &Map<String, Value>) -> Result<VerifyingKey, String> + 'a;

/// Like [`KeyResolver`], for a verifier that trusts several keys a signature may be by (no
/// `kid`, or configured keys without one): returns the candidates, in order. The signature must
/// verify with one of them; each is tried at most once, and the first that verifies is the one
/// (see [`verify_with_candidates`]).
pub type CandidateResolver<'a> =
    dyn FnMut(&Header, &Map<String, Value>) -> Result<Vec<VerifyingKey>, String> + 'a;

/// Verification settings. Every limit is explicit.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The current time, in seconds since the epoch.
    pub now: i64,
    /// Tolerated clock difference for `exp`, `nbf`, `iat`, in seconds.
    pub clock_skew: i64,
    /// Accepted signature algorithms (issuer-signed JWT and KB-JWT).
    pub algorithms: AlgorithmPolicy,
    /// Accepted `typ` values of the Issuer-signed JWT; `None` does not check `typ`.
    pub accepted_typ: Option<Vec<String>>,
    /// Key binding requirements.
    pub key_binding: KeyBindingPolicy,
    /// Oldest acceptable KB-JWT `iat`, in seconds before `now`.
    pub kb_max_age: i64,
    /// Reject an SD-JWT+KB (a holder receiving from an issuer, RFC 9901 §7.2).
    pub forbid_key_binding: bool,
}

impl VerifyOptions {
    /// Defaults: ES256 only, 60 s clock skew, KB-JWT at most 5 minutes old, no `typ` check.
    pub fn new(now: i64) -> Self {
        Self {
            now,
            clock_skew: 60,
            algorithms: AlgorithmPolicy::default(),
            accepted_typ: None,
            key_binding: KeyBindingPolicy::default(),
            kb_max_age: 300,
            forbid_key_binding: false,
        }
    }
}

/// The claims of a verified Key Binding JWT. Only [`verify`] makes one: the fields are
/// private.
///
/// ```compile_fail,E0451
/// // Outside the crate, no one can claim a key binding was verified.
/// let forged = eudi_sdjwt::verifier::VerifiedKeyBinding {
///     iat: 0,
///     aud: String::new(),
///     nonce: String::new(),
/// };
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedKeyBinding {
    iat: i64,
    aud: String,
    nonce: String,
}

impl VerifiedKeyBinding {
    /// Issued-at of the KB-JWT.
    pub fn iat(&self) -> i64 {
        self.iat
    }

    /// Audience (`aud`).
    pub fn aud(&self) -> &str {
        &self.aud
    }

    /// Nonce.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
}

/// A verified SD-JWT: its processed payload and what was disclosed. Only [`verify`] (and
/// [`crate::vc::verify`]) make one: the fields are private.
///
/// ```compile_fail,E0451
/// let forged = eudi_sdjwt::verifier::VerifiedSdJwt {
///     header: Default::default(),
///     claims: Default::default(),
///     disclosed: Vec::new(),
///     key_binding: None,
///     holder_key: None,
/// };
/// ```
#[derive(Clone, Debug)]
pub struct VerifiedSdJwt {
    header: Header,
    claims: Map<String, Value>,
    disclosed: Vec<DisclosureNode>,
    key_binding: Option<VerifiedKeyBinding>,
    holder_key: Option<VerifyingKey>,
}

impl VerifiedSdJwt {
    /// The protected header of the (first) issuer signature.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The Processed SD-JWT Payload (RFC 9901 §7.1): `_sd`, `_sd_alg` and `...` removed.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The processed payload, by value.
    pub fn into_claims(self) -> Map<String, Value> {
        self.claims
    }

    /// Where each presented Disclosure landed, in presentation order.
    pub fn disclosed(&self) -> &[DisclosureNode] {
        &self.disclosed
    }

    /// The verified key binding, if a KB-JWT was presented.
    pub fn key_binding(&self) -> Option<&VerifiedKeyBinding> {
        self.key_binding.as_ref()
    }

    /// The holder key from `cnf.jwk`, when the SD-JWT has one.
    pub fn holder_key(&self) -> Option<&VerifyingKey> {
        self.holder_key.as_ref()
    }
}

/// Decodes the protected header of each issuer signature.
pub fn issuer_headers(sd_jwt: &SdJwt) -> Result<Vec<Header>, SdJwtError> {
    sd_jwt
        .signatures()?
        .iter()
        .map(|s| decode_header(s.protected))
        .collect()
}

fn decode_header(protected: &str) -> Result<Header, SdJwtError> {
    let bytes = b64::decode(protected)
        .map_err(|_| SdJwtError::IssuerJws(JwsError::Malformed("header is not base64url")))?;
    let header: Header = serde_json::from_slice(&bytes)
        .map_err(|e| SdJwtError::IssuerJws(JwsError::MalformedHeader(e.to_string())))?;
    // RFC 7515 §4.1.11: `crit` must be a non-empty list of unique extension names that are
    // not registered header names, and this implementation understands none of them.
    header.check_crit().map_err(SdJwtError::IssuerJws)?;
    Ok(header)
}

/// The JOSE Header of one signature: the protected header plus the unprotected members, which
/// must be disjoint (RFC 7515 §7.2.1). Only `alg`/`typ`/`crit` are required to be protected;
/// the key a `kid` or `x5c` leads to is validated like any other.
fn jose_header(protected: &str, unprotected: &Map<String, Value>) -> Result<Header, SdJwtError> {
    if unprotected.is_empty() {
        return decode_header(protected);
    }
    let bytes = b64::decode(protected)
        .map_err(|_| SdJwtError::IssuerJws(JwsError::Malformed("header is not base64url")))?;
    let Ok(Value::Object(mut merged)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(SdJwtError::IssuerJws(JwsError::MalformedHeader(
            "not a JSON object".into(),
        )));
    };
    for (k, v) in unprotected {
        if matches!(k.as_str(), "alg" | "typ" | "crit") {
            return Err(SdJwtError::IssuerJws(JwsError::MalformedHeader(format!(
                "`{k}` must be in the protected header"
            ))));
        }
        if merged.insert(k.clone(), v.clone()).is_some() {
            return Err(SdJwtError::IssuerJws(JwsError::MalformedHeader(format!(
                "`{k}` is in both the protected and the unprotected header"
            ))));
        }
    }
    let header: Header = serde_json::from_value(Value::Object(merged))
        .map_err(|e| SdJwtError::IssuerJws(JwsError::MalformedHeader(e.to_string())))?;
    // RFC 7515 §4.1.11: `crit` must be a non-empty list of unique extension names that are
    // not registered header names, and this implementation understands none of them.
    header.check_crit().map_err(SdJwtError::IssuerJws)?;
    Ok(header)
}

/// Decodes the Issuer-signed JWT payload without verifying anything, e.g. to read `iss` for
/// key resolution.
pub fn unverified_payload(sd_jwt: &SdJwt) -> Result<Map<String, Value>, SdJwtError> {
    let bytes = b64::decode(sd_jwt.payload_b64()?)
        .map_err(|_| SdJwtError::IssuerJws(JwsError::Malformed("payload is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(SdJwtError::PayloadNotObject),
    }
}

/// Verifies an SD-JWT or SD-JWT+KB.
///
/// `resolve_key` is called once per issuer signature with its header and the (unverified)
/// payload, and returns the key that must have made it, or a reason why none is trusted. Every
/// signature must verify.
pub fn verify(
    sd_jwt: &SdJwt,
    resolve_key: &mut KeyResolver<'_>,
    options: &VerifyOptions,
) -> Result<VerifiedSdJwt, SdJwtError> {
    verify_typed(sd_jwt, resolve_key, options, &[])
}

/// [`verify`] with several candidate keys per issuer signature: each signature is verified once
/// per candidate at most, in the order given, and the first that verifies is the signature's
/// key; if none does, the error is the first candidate's. Also returns, per issuer signature in
/// order, the index of the candidate that verified it, so that a verifier picks its key with
/// one verification instead of verifying to choose and then again.
pub fn verify_with_candidates(
    sd_jwt: &SdJwt,
    resolve_keys: &mut CandidateResolver<'_>,
    options: &VerifyOptions,
) -> Result<(VerifiedSdJwt, Vec<usize>), SdJwtError> {
    verify_candidates_typed(sd_jwt, resolve_keys, options, &[])
}

/// [`verify_with_candidates`] with `default_typ` (see [`verify_typed`]).
pub(crate) fn verify_candidates_typed(
    sd_jwt: &SdJwt,
    resolve_keys: &mut CandidateResolver<'_>,
    options: &VerifyOptions,
    default_typ: &[&str],
) -> Result<(VerifiedSdJwt, Vec<usize>), SdJwtError> {
    let mut chosen = Vec::new();
    let verified = verify_core(
        sd_jwt,
        &mut |h, p| resolve_keys(h, p),
        options,
        default_typ,
        Some(&mut chosen),
    )?;
    Ok((verified, chosen))
}

/// [`verify`], with `default_typ` as the accepted `typ` values when `options` names none
/// (an empty list: no check).
pub(crate) fn verify_typed(
    sd_jwt: &SdJwt,
    resolve_key: &mut KeyResolver<'_>,
    options: &VerifyOptions,
    default_typ: &[&str],
) -> Result<VerifiedSdJwt, SdJwtError> {
    // One candidate, in an array: no allocation on this (the common) path.
    verify_core(
        sd_jwt,
        &mut |h, p| resolve_key(h, p).map(|k| [k]),
        options,
        default_typ,
        None,
    )
}

/// Verifies one issuer signature with the first of `keys` it verifies with; the index of that
/// key, or the error of the first key. `verify_one` is one verification.
fn first_verifying(
    keys: &[VerifyingKey],
    mut verify_one: impl FnMut(&VerifyingKey) -> Result<(), SdJwtError>,
) -> Result<usize, SdJwtError> {
    let mut first_error = None;
    for (index, key) in keys.iter().enumerate() {
        match verify_one(key) {
            Ok(()) => return Ok(index),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| SdJwtError::IssuerKey("no candidate key".into())))
}

/// A resolver of one or more candidate keys ([`KeyResolver`], [`CandidateResolver`]).
type Resolve<'a, K> = dyn FnMut(&Header, &Map<String, Value>) -> Result<K, String> + 'a;

fn verify_core<K: AsRef<[VerifyingKey]>>(
    sd_jwt: &SdJwt,
    resolve_keys: &mut Resolve<'_, K>,
    options: &VerifyOptions,
    default_typ: &[&str],
    mut chosen: Option<&mut Vec<usize>>,
) -> Result<VerifiedSdJwt, SdJwtError> {
    // 1. The Issuer-signed JWT (RFC 9901 §7.1 step 2).
    let payload = unverified_payload(sd_jwt)?;
    let sd_alg = match payload.get("_sd_alg") {
        Some(Value::String(name)) => SdAlg::from_name(name).ok(),
        None => Some(SdAlg::Sha256),
        // Reported by the processing step below.
        Some(_) => None,
    };
    let mut first_header = None;
    // The `sd_hash` input starts with the first signature's signing input: when the JWS hash
    // is the `_sd_alg` hash, the signature check's hash state is continued for `sd_hash`.
    let mut sd_hash = None;
    let payload_b64 = sd_jwt.payload_b64()?;
    let kb_jwt = sd_jwt.kb_jwt()?;
    for (i, sig) in sd_jwt.signatures()?.into_iter().enumerate() {
        let header = jose_header(sig.protected, sig.unprotected)?;
        if first_header.is_none() {
            match &options.accepted_typ {
                Some(accepted) => {
                    let accepted: Vec<&str> = accepted.iter().map(String::as_str).collect();
                    header.require_typ(&accepted)?;
                }
                None if !default_typ.is_empty() => header.require_typ(default_typ)?,
                None => {}
            }
        }
        let keys = resolve_keys(&header, &payload).map_err(SdJwtError::IssuerKey)?;
        let keys = keys.as_ref();
        let signature = b64::decode(sig.signature).map_err(|_| {
            SdJwtError::IssuerJws(JwsError::Malformed("signature is not base64url"))
        })?;
        let index = if i == 0 {
            // The hash of the signing input depends only on the header's `alg`: computed once
            // for every candidate (and continued for `sd_hash`).
            let mut digests: Option<(&digest::Algorithm, digest::Digest)> = None;
            first_verifying(keys, |key| {
                let alg = jws::check_algorithm(&header, key, &options.algorithms)?;
                let algorithm = alg.digest_algorithm();
                let digest = match &digests {
                    Some((a, d)) if *a == algorithm => *d,
                    _ => {
                        let mut hash = digest::Context::new(algorithm);
                        hash.update(sd_jwt.first_signing_input()?.as_bytes());
                        if kb_jwt.is_some()
                            && let Some(sd_alg) = sd_alg
                            && sd_alg.algorithm() == algorithm
                        {
                            sd_hash = Some(hash.clone());
                        }
                        let d = hash.finish();
                        digests = Some((algorithm, d));
                        d
                    }
                };
                key.verify_digest(&digest, &signature)
                    .map_err(|_| SdJwtError::IssuerJws(JwsError::BadSignature))
            })?
        } else {
            let mut signing_input =
                String::with_capacity(sig.protected.len() + 1 + payload_b64.len());
            signing_input.push_str(sig.protected);
            signing_input.push('.');
            signing_input.push_str(payload_b64);
            first_verifying(keys, |key| {
                jws::verify_parts(
                    &header,
                    signing_input.as_bytes(),
                    &signature,
                    key,
                    &options.algorithms,
                )
                .map_err(SdJwtError::from)
            })?
        };
        if let Some(chosen) = chosen.as_deref_mut() {
            chosen.push(index);
        }
        first_header.get_or_insert(header);
    }
    let header = first_header.ok_or_else(|| SdJwtError::Malformed("no issuer signature".into()))?;

    // 2. Disclosures (step 3-5).
    let processed = process::process(payload, sd_jwt.disclosures()?)?;
    let claims = processed.claims;

    // 3. Validity claims (step 6).
    check_times(&claims, options)?;

    // 4. Key binding (RFC 9901 §7.3).
    let holder_key = holder_key(&claims)?;
    let key_binding = match kb_jwt {
        Some(_) if options.forbid_key_binding => return Err(SdJwtError::UnexpectedKeyBinding),
        None if options.key_binding.is_required() => return Err(SdJwtError::MissingKeyBinding),
        None => None,
        Some(kb) => {
            let key = holder_key.as_ref().ok_or(SdJwtError::MissingHolderKey)?;
            let expected = match sd_hash {
                Some(hash) => sd_jwt.sd_hash_continued(hash)?,
                None => sd_jwt.sd_hash(processed.sd_alg)?,
            };
            Some(verify_kb(kb, key, &expected, options)?)
        }
    };

    Ok(VerifiedSdJwt {
        header,
        claims,
        disclosed: processed.nodes,
        key_binding,
        holder_key,
    })
}

fn number(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, SdJwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(SdJwtError::Time {
                claim: name,
                reason: "not a number".into(),
            }),
    }
}

fn check_times(claims: &Map<String, Value>, options: &VerifyOptions) -> Result<(), SdJwtError> {
    let now = options.now;
    let skew = options.clock_skew;
    if let Some(exp) = number(claims, "exp")?
        && now > exp.saturating_add(skew)
    {
        return Err(SdJwtError::Time {
            claim: "exp",
            reason: format!("expired at {exp}, now is {now}"),
        });
    }
    if let Some(nbf) = number(claims, "nbf")?
        && now.saturating_add(skew) < nbf
    {
        return Err(SdJwtError::Time {
            claim: "nbf",
            reason: format!("not valid before {nbf}, now is {now}"),
        });
    }
    if let Some(iat) = number(claims, "iat")?
        && iat > now.saturating_add(skew)
    {
        return Err(SdJwtError::Time {
            claim: "iat",
            reason: format!("issued in the future ({iat}), now is {now}"),
        });
    }
    Ok(())
}

/// The holder key from `cnf.jwk` (RFC 7800 §3.2), if the SD-JWT has one.
pub fn holder_key(claims: &Map<String, Value>) -> Result<Option<VerifyingKey>, SdJwtError> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok(None);
    };
    let jwk = cnf
        .get("jwk")
        .ok_or_else(|| SdJwtError::KeyBinding("`cnf` has no `jwk`".into()))?;
    let jwk = JwkRef::deserialize(jwk)
        .map_err(|e| SdJwtError::KeyBinding(format!("`cnf.jwk` is not a JWK: {e}")))?;
    jwk.to_verifying_key()
        .map(Some)
        .map_err(|e| SdJwtError::KeyBinding(format!("`cnf.jwk`: {e}")))
}

/// The KB-JWT claims this verifier reads; any others are ignored. Each is read as any JSON
/// value so that a wrong type is reported as such, not as malformed JSON.
#[derive(serde::Deserialize)]
struct KbClaims {
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    nonce: Option<Value>,
    #[serde(default)]
    sd_hash: Option<Value>,
}

fn verify_kb(
    kb: &str,
    key: &VerifyingKey,
    expected_sd_hash: &str,
    options: &VerifyOptions,
) -> Result<VerifiedKeyBinding, SdJwtError> {
    let kb_err = |m: String| SdJwtError::KeyBinding(m);
    let jws = CompactJws::parse(kb).map_err(|e| kb_err(e.to_string()))?;
    jws.header()
        .require_typ(&[KB_JWT_TYP])
        .map_err(|e| kb_err(e.to_string()))?;
    jws.verify(key, &options.algorithms)
        .map_err(|e| kb_err(e.to_string()))?;
    let payload = jws.payload().map_err(|e| kb_err(e.to_string()))?;
    // A struct also deserializes from a JSON array; a JWT payload must be an object.
    if payload.trim_ascii_start().first() != Some(&b'{') {
        return Err(kb_err("the KB-JWT payload is not a JSON object".into()));
    }
    let claims: KbClaims = serde_json::from_slice(&payload).map_err(|e| {
        kb_err(format!(
            "the KB-JWT payload is not a valid JSON object: {e}"
        ))
    })?;
    let missing = |name: &str, kind: &str| kb_err(format!("`{name}` is missing or not {kind}"));
    let iat = claims
        .iat
        .as_ref()
        .and_then(Value::as_i64)
        .ok_or_else(|| missing("iat", "an integer"))?;
    let now = options.now;
    if iat > now.saturating_add(options.clock_skew) {
        return Err(kb_err(format!("`iat` {iat} is in the future (now {now})")));
    }
    if iat < now.saturating_sub(options.kb_max_age.saturating_add(options.clock_skew)) {
        return Err(kb_err(format!(
            "`iat` {iat} is older than the allowed {} seconds (now {now})",
            options.kb_max_age
        )));
    }
    let string = |value: &Option<Value>, name: &str| -> Result<String, SdJwtError> {
        match value {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(missing(name, "a string")),
        }
    };
    let aud = string(&claims.aud, "aud")?;
    let nonce = string(&claims.nonce, "nonce")?;
    let sd_hash = match &claims.sd_hash {
        Some(Value::String(s)) => s.as_str(),
        _ => return Err(missing("sd_hash", "a string")),
    };
    if let Some(expected) = &options.key_binding.audience
        && &aud != expected
    {
        return Err(kb_err(format!("`aud` is {aud:?}, expected {expected:?}")));
    }
    if let Some(expected) = &options.key_binding.nonce
        && &nonce != expected
    {
        return Err(kb_err(format!(
            "`nonce` is {nonce:?}, expected {expected:?}"
        )));
    }
    if sd_hash != expected_sd_hash {
        return Err(kb_err(
            "`sd_hash` does not match the presented SD-JWT and disclosures".into(),
        ));
    }
    Ok(VerifiedKeyBinding { iat, aud, nonce })
}
