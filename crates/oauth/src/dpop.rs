//! DPoP proofs (RFC 9449): making them (the wallet) and checking them (the issuer's token and
//! credential endpoints).
//!
//! [`create_proof`] signs a `dpop+jwt` with the client's key, the public half in the `jwk`
//! header (§4.2). [`verify_proof`] makes the checks of §4.3, in its order, and hands back a
//! [`VerifiedDpop`] with the key's RFC 7638 thumbprint (for `cnf.jkt`, §6.1) and the proof's
//! `jti` and `iat`.
//!
//! **Replay.** §11.1 asks the server to accept a `jti` only once within the window in which
//! the proof is accepted. That needs shared state, which this library does not have: the caller
//! stores [`VerifiedDpop::jti`] (with the key thumbprint, as the `jti` is the client's choice)
//! until [`VerifiedDpop::iat`] plus the accepted age has passed, and refuses a second use.
//!
//! **Nonces.** A server that requires a nonce (§8, §9) passes the one it expects in
//! [`DpopExpected::nonce`]; a proof without it, or with another one, fails with an error that
//! [`OAuthError`] turns into `use_dpop_nonce`, so the caller answers with a fresh `DPoP-Nonce`.

use aws_lc_rs::digest;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::Jwk;
use eudi_trust::KeyError;
use eudi_trust::Signer;
use eudi_trust::b64;
use eudi_trust::code::ErrorCode as TrustCode;
use eudi_trust::code::HasErrorCode;
use eudi_trust::jws::CompactJws;
use eudi_trust::jws::Header;
use eudi_trust::jws::JwsError;
use serde_json::Map;
use serde_json::Value;
use url::Url;

use crate::error::ErrorCode;
use crate::error::OAuthError;
use crate::token::constant_time_eq;
use crate::token::random_token;

/// The JOSE `typ` of a DPoP proof (RFC 9449 §4.2).
pub const TYP: &str = "dpop+jwt";

/// Longest proof accepted, in bytes. A P-256 proof is about 600 bytes; the limit bounds what a
/// hostile header costs before the signature is checked.
pub const MAX_PROOF_LEN: usize = 8 * 1024;

/// Longest `jti` accepted, in characters. RFC 9449 §4.2 asks for enough entropy (a random
/// token here is 43 characters); the caller stores it, so it is bounded.
pub const MAX_JTI_LEN: usize = 256;

/// Longest `nonce` claim accepted, in characters.
pub const MAX_NONCE_LEN: usize = 512;

/// JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
pub(crate) const PRIVATE_KEY_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a DPoP proof could not be made or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// The proof is longer than [`MAX_PROOF_LEN`].
    #[error("DPoP proof is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Length of the proof.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not one well-formed compact JWS with a JSON object payload.
    #[error("malformed DPoP proof: {0}")]
    Malformed(String),
    /// `typ` is not `dpop+jwt`.
    #[error("DPoP proof `typ` is {0:?}, expected `dpop+jwt`")]
    WrongType(Option<String>),
    /// `alg` is `none`, symmetric, unknown or not allowed.
    #[error("DPoP proof algorithm is not accepted: {0}")]
    UnsupportedAlgorithm(String),
    /// The `jwk` header is missing, is not a usable public key, or carries private members.
    #[error("DPoP proof `jwk` header is not valid: {0}")]
    InvalidKey(&'static str),
    /// The signature does not verify under the `jwk` header.
    #[error("DPoP proof signature does not verify")]
    BadSignature,
    /// A required claim is missing or of the wrong type.
    #[error("DPoP proof claim `{0}` is missing or not valid")]
    InvalidClaim(&'static str),
    /// `htm` is not the request's method.
    #[error("DPoP proof `htm` does not match the request method")]
    MethodMismatch,
    /// `htu` is not the request's URI (ignoring query and fragment).
    #[error("DPoP proof `htu` does not match the request URI")]
    UriMismatch,
    /// `iat` is outside the accepted window.
    #[error("DPoP proof was issued at {iat}, outside the accepted window at {now}")]
    IatOutOfWindow {
        /// The proof's `iat`.
        iat: i64,
        /// The verifier's time.
        now: i64,
    },
    /// `ath` is missing though an access token was presented, present though none was, or
    /// not the hash of the presented token.
    #[error("DPoP proof `ath` {0}")]
    AccessTokenHash(&'static str),
    /// The server requires a nonce and the proof has none.
    #[error("DPoP proof has no `nonce`, and the server requires one")]
    NonceRequired,
    /// The proof's `nonce` is not the one the server expects (stale or invented).
    #[error("DPoP proof `nonce` is not the current server nonce")]
    NonceMismatch,
    /// The proof's key is not the key the access token is bound to (`cnf.jkt`).
    #[error("DPoP proof key is not the key the access token is bound to")]
    KeyMismatch,
    /// Making a proof: the request's URL is not an absolute URL.
    #[error("the request URL is not valid: {0}")]
    InvalidUrl(String),
    /// Making a proof: the signer or the random generator failed (this side's fault).
    #[error("DPoP proof could not be signed: {0}")]
    Signing(String),
}

impl HasErrorCode for DpopError {
    /// A DPoP proof is a proof of possession, so its binding failures (method, URI, nonce,
    /// access token, key) are [`TrustCode::InvalidKeyBinding`].
    fn code(&self) -> TrustCode {
        match self {
            Self::TooLarge { .. } => TrustCode::TooLarge,
            Self::Malformed(_) | Self::InvalidKey(_) | Self::InvalidClaim(_) => {
                TrustCode::Malformed
            }
            Self::WrongType(_) => TrustCode::WrongType,
            Self::UnsupportedAlgorithm(_) => TrustCode::UnsupportedAlgorithm,
            Self::BadSignature => TrustCode::InvalidSignature,
            Self::IatOutOfWindow { iat, now } => {
                if iat > now {
                    TrustCode::NotYetValid
                } else {
                    TrustCode::Expired
                }
            }
            Self::MethodMismatch
            | Self::UriMismatch
            | Self::AccessTokenHash(_)
            | Self::NonceRequired
            | Self::NonceMismatch
            | Self::KeyMismatch => TrustCode::InvalidKeyBinding,
            Self::InvalidUrl(_) | Self::Signing(_) => TrustCode::Internal,
        }
    }
}

impl From<DpopError> for OAuthError {
    /// `use_dpop_nonce` (RFC 9449 §8) when the server's nonce is missing or stale, else
    /// `invalid_dpop_proof` (§5, §7.1); a proof this side failed to make is `server_error`.
    /// A resource server sends these with 401 and a [`www_authenticate`] challenge
    /// ([`OAuthError::with_status`], [`OAuthError::with_challenge`]); the token endpoint with
    /// 400, as here.
    fn from(error: DpopError) -> Self {
        match error {
            DpopError::NonceRequired | DpopError::NonceMismatch => {
                Self::new(ErrorCode::UseDpopNonce, error.to_string())
            }
            DpopError::InvalidUrl(_) | DpopError::Signing(_) => Self::server_error(),
            DpopError::TooLarge { .. }
            | DpopError::Malformed(_)
            | DpopError::WrongType(_)
            | DpopError::UnsupportedAlgorithm(_)
            | DpopError::InvalidKey(_)
            | DpopError::BadSignature
            | DpopError::InvalidClaim(_)
            | DpopError::MethodMismatch
            | DpopError::UriMismatch
            | DpopError::IatOutOfWindow { .. }
            | DpopError::AccessTokenHash(_)
            | DpopError::KeyMismatch => Self::new(ErrorCode::InvalidDpopProof, error.to_string()),
        }
    }
}

/// The `WWW-Authenticate` value a resource server answers with (RFC 9449 §7.1), e.g.
/// `DPoP error="use_dpop_nonce", algs="ES256"`. `error` is the code, if the request carried
/// a DPoP-bound token or proof that failed; `algorithms` are the ones accepted.
pub fn www_authenticate(error: Option<&ErrorCode>, algorithms: &AlgorithmPolicy) -> String {
    let algs: Vec<&str> = algorithms
        .allowed()
        .iter()
        .map(|alg| alg.jose_name())
        .collect();
    let mut value = String::from("DPoP ");
    if let Some(error) = error {
        // Codes are `[a-z_]` (RFC 6749 §5.2 restricts them to printable ASCII without `"` or
        // `\`), so no escaping is needed for the known ones; an `Other` code is filtered.
        let code: String = error
            .as_str()
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
            .collect();
        value.push_str(&format!("error=\"{code}\", "));
    }
    value.push_str(&format!("algs=\"{}\"", algs.join(" ")));
    value
}

/// What a proof is made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpopRequest<'a> {
    /// HTTP method (`htm`), e.g. `POST`.
    pub method: &'a str,
    /// The request URL (`htu` is it without query and fragment, RFC 9449 §4.2).
    pub url: &'a str,
    /// The access token the request carries, for `ath`.
    pub access_token: Option<&'a str>,
    /// The server's nonce from its last `DPoP-Nonce` header.
    pub nonce: Option<&'a str>,
    /// Issued-at time, Unix seconds (from the caller's [`eudi_trust::Clock`]).
    pub iat: i64,
    /// The proof's identifier; a fresh random token when `None`.
    pub jti: Option<String>,
}

/// `htu` of a URL: RFC 9449 §4.2 leaves out query and fragment. Parsing also normalizes the
/// scheme and host case and drops a default port (RFC 3986 §6.2.2, §6.2.3), as the §4.3 check
/// does.
fn htu_of(url: &str) -> Option<Url> {
    let mut url = Url::parse(url).ok()?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "https" | "http") {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url)
}

/// `ath`: base64url of the SHA-256 of the access token's ASCII (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    b64::encode(digest::digest(&digest::SHA256, access_token.as_bytes()))
}

/// Makes a DPoP proof for `request`, signed by `signer`, whose public key `public_key` goes in
/// the `jwk` header (it must be the signer's key; a `kid` or `alg` on it is kept).
pub async fn create_proof(
    signer: &dyn Signer,
    public_key: &Jwk,
    request: &DpopRequest<'_>,
) -> Result<String, DpopError> {
    let key = public_key
        .to_verifying_key()
        .map_err(|e| DpopError::Signing(format!("public key: {e}")))?;
    if &key != signer.verifying_key() {
        return Err(DpopError::Signing(
            "the public key is not the signer's key".into(),
        ));
    }
    let htu = htu_of(request.url).ok_or_else(|| DpopError::InvalidUrl(request.url.to_owned()))?;
    let jti = match &request.jti {
        Some(jti) => jti.clone(),
        None => random_token().map_err(|e| DpopError::Signing(e.to_string()))?,
    };
    let mut claims = Map::new();
    claims.insert("jti".into(), jti.into());
    claims.insert("htm".into(), request.method.into());
    claims.insert("htu".into(), htu.as_str().into());
    claims.insert("iat".into(), request.iat.into());
    if let Some(token) = request.access_token {
        claims.insert("ath".into(), access_token_hash(token).into());
    }
    if let Some(nonce) = request.nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    let mut header = Header::new(signer.algorithm(), Some(TYP));
    header.jwk = Some(public_key.clone());
    sign_claims(&header, &claims, signer)
        .await
        .map_err(|e| DpopError::Signing(e.to_string()))
}

/// Signs a JSON claims set as a compact JWS.
pub(crate) async fn sign_claims(
    header: &Header,
    claims: &Map<String, Value>,
    signer: &dyn Signer,
) -> Result<String, JwsError> {
    let payload = serde_json::to_vec(claims).map_err(|_| JwsError::Internal("claims"))?;
    eudi_trust::jws::sign_compact(header, &payload, signer).await
}

/// What the server expects of a proof.
#[derive(Clone, Debug)]
pub struct DpopExpected<'a> {
    /// The request's HTTP method.
    pub method: &'a str,
    /// The request's URI as the server's public URL (behind a proxy: the URL the client used).
    pub url: &'a str,
    /// The access token the request carries (resource server), which `ath` must hash.
    pub access_token: Option<&'a str>,
    /// The nonce the server currently requires, if it requires one.
    pub nonce: Option<&'a str>,
    /// The verifier's time, Unix seconds.
    pub now: i64,
    /// Oldest accepted proof, in seconds before `now` (RFC 9449 §11.1: a short window).
    pub max_age: i64,
    /// Clock skew allowed, in seconds, both ways.
    pub leeway: i64,
    /// Accepted signature algorithms.
    pub algorithms: &'a AlgorithmPolicy,
    /// The token's `cnf.jkt`, when the access token is DPoP-bound (§6.1).
    pub bound_jkt: Option<&'a str>,
}

/// A proof that passed every check. Only [`verify_proof`] makes these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedDpop {
    jkt: String,
    jti: String,
    iat: i64,
    key: Jwk,
}

impl VerifiedDpop {
    /// RFC 7638 SHA-256 thumbprint of the proof's key: the `cnf.jkt` to bind a token to.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The proof's `jti`, for the caller's replay check (see the module documentation).
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// The proof's `iat`: keep the `jti` until `iat + max_age + leeway`.
    pub fn iat(&self) -> i64 {
        self.iat
    }

    /// The proof's public key.
    pub fn key(&self) -> &Jwk {
        &self.key
    }
}

/// The decoded protected header of a compact JWS as a JSON object, members as sent (the typed
/// [`Header`] drops JWK members it does not know, private ones included, so they are looked
/// for here).
pub(crate) fn raw_header(token: &str) -> Option<Map<String, Value>> {
    let (header, _) = token.split_once('.')?;
    serde_json::from_slice(&b64::decode(header).ok()?).ok()
}

/// Whether a JWK object has a member only private keys have.
pub(crate) fn has_private_members(jwk: &Value) -> bool {
    jwk.as_object()
        .is_some_and(|jwk| PRIVATE_KEY_MEMBERS.iter().any(|m| jwk.contains_key(*m)))
}

/// A NumericDate claim (RFC 7519 §2): an integer, or a finite number whose fraction is
/// dropped.
pub(crate) fn numeric_date(claims: &Map<String, Value>, name: &str) -> Option<Option<i64>> {
    match claims.get(name) {
        None => Some(None),
        Some(value) => value
            .as_i64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 1e15)
                    .map(|f| f.trunc() as i64)
            })
            .map(Some),
    }
}

/// A JWS error as the DPoP error of the same meaning.
fn from_jws(error: JwsError) -> DpopError {
    match error {
        JwsError::UnsupportedAlgorithm(alg) => DpopError::UnsupportedAlgorithm(alg),
        JwsError::AlgorithmNotAllowed(alg) => DpopError::UnsupportedAlgorithm(alg.to_string()),
        JwsError::AlgorithmKeyMismatch { header, key } => {
            DpopError::UnsupportedAlgorithm(format!("{header} with a {key} key"))
        }
        JwsError::BadSignature => DpopError::BadSignature,
        other => DpopError::Malformed(other.to_string()),
    }
}

/// Checks a DPoP proof against the request it came with (RFC 9449 §4.3, in that order).
pub fn verify_proof(proof: &str, expected: &DpopExpected<'_>) -> Result<VerifiedDpop, DpopError> {
    // 1. One well-formed JWT (the caller has checked there is one `DPoP` header field).
    if proof.len() > MAX_PROOF_LEN {
        return Err(DpopError::TooLarge {
            len: proof.len(),
            max: MAX_PROOF_LEN,
        });
    }
    let jws = CompactJws::parse(proof).map_err(from_jws)?;
    let claims = jws.payload_json().map_err(from_jws)?;

    // 2. Every required claim is there, of the right type.
    let string = |name: &'static str| match claims.get(name) {
        Some(Value::String(value)) => Ok(value.as_str()),
        _ => Err(DpopError::InvalidClaim(name)),
    };
    let jti = string("jti")?;
    let htm = string("htm")?;
    let htu = string("htu")?;
    let iat = numeric_date(&claims, "iat")
        .flatten()
        .ok_or(DpopError::InvalidClaim("iat"))?;
    if jti.is_empty() || jti.chars().count() > MAX_JTI_LEN {
        return Err(DpopError::InvalidClaim("jti"));
    }

    // 3. `typ`.
    let header = jws.header();
    if header.require_typ(&[TYP]).is_err() {
        return Err(DpopError::WrongType(header.typ.clone()));
    }

    // 4. `alg`: an asymmetric algorithm this workspace knows (never `none` or HMAC) and the
    // policy allows.
    let alg = header.algorithm().map_err(from_jws)?;
    if !expected.algorithms.allows(alg) {
        return Err(DpopError::UnsupportedAlgorithm(alg.to_string()));
    }

    // 5. `jwk`: present, public, a key of `alg`.
    let raw = raw_header(proof).ok_or(DpopError::Malformed("header".into()))?;
    match raw.get("jwk") {
        Some(jwk) if has_private_members(jwk) => {
            return Err(DpopError::InvalidKey("it contains a private key"));
        }
        Some(Value::Object(_)) => {}
        Some(_) => return Err(DpopError::InvalidKey("it is not a JSON object")),
        None => return Err(DpopError::InvalidKey("it is missing")),
    }
    let jwk = header
        .jwk
        .as_ref()
        .ok_or(DpopError::InvalidKey("it is missing"))?;
    let key = jwk.to_verifying_key().map_err(|e| match e {
        KeyError::InvalidKey(reason) => DpopError::InvalidKey(reason),
        _ => DpopError::InvalidKey("it is not a supported public key"),
    })?;

    // 6. Signature.
    jws.verify(&key, expected.algorithms).map_err(from_jws)?;

    // 7. `htm`.
    if htm != expected.method {
        return Err(DpopError::MethodMismatch);
    }

    // 8. `htu`, both sides without query and fragment and normalized.
    let request_uri = htu_of(expected.url).ok_or(DpopError::UriMismatch)?;
    if htu_of(htu).as_ref() != Some(&request_uri) {
        return Err(DpopError::UriMismatch);
    }

    // 9. `nonce`, when the server requires one.
    if let Some(required) = expected.nonce {
        match claims.get("nonce") {
            None => return Err(DpopError::NonceRequired),
            Some(Value::String(nonce))
                if nonce.len() <= MAX_NONCE_LEN && constant_time_eq(nonce, required) => {}
            Some(_) => return Err(DpopError::NonceMismatch),
        }
    }

    // 10. `iat` within the window.
    let oldest = expected
        .now
        .saturating_sub(expected.max_age)
        .saturating_sub(expected.leeway);
    let newest = expected.now.saturating_add(expected.leeway);
    if iat < oldest || iat > newest {
        return Err(DpopError::IatOutOfWindow {
            iat,
            now: expected.now,
        });
    }

    // 11. With an access token: `ath` hashes it, and the key is the one the token is bound to.
    // Without one, an `ath` is a proof made for another request.
    match (expected.access_token, claims.get("ath")) {
        (Some(token), Some(Value::String(ath))) => {
            if !constant_time_eq(ath, &access_token_hash(token)) {
                return Err(DpopError::AccessTokenHash(
                    "does not match the access token",
                ));
            }
        }
        (Some(_), Some(_)) => return Err(DpopError::InvalidClaim("ath")),
        (Some(_), None) => return Err(DpopError::AccessTokenHash("is missing")),
        (None, Some(_)) => {
            return Err(DpopError::AccessTokenHash(
                "is present but the request carries no access token",
            ));
        }
        (None, None) => {}
    }
    let jkt = jwk.thumbprint();
    if let Some(bound) = expected.bound_jkt
        && !constant_time_eq(bound, &jkt)
    {
        return Err(DpopError::KeyMismatch);
    }

    Ok(VerifiedDpop {
        jkt,
        jti: jti.to_owned(),
        iat,
        key: jwk.clone(),
    })
}

#[cfg(test)]
mod tests {
    use eudi_trust::Algorithm;
    use eudi_trust::SoftwareKey;

    use super::*;

    const NOW: i64 = 1_750_000_000;
    const URL: &str = "https://issuer.example.dk/token";

    fn new_key() -> SoftwareKey {
        SoftwareKey::generate(Algorithm::Es256).unwrap()
    }

    fn base_request<'a>() -> DpopRequest<'a> {
        DpopRequest {
            method: "POST",
            url: URL,
            access_token: None,
            nonce: None,
            iat: NOW,
            jti: None,
        }
    }

    fn expected(policy: &AlgorithmPolicy) -> DpopExpected<'_> {
        DpopExpected {
            method: "POST",
            url: URL,
            access_token: None,
            nonce: None,
            now: NOW,
            max_age: 60,
            leeway: 5,
            algorithms: policy,
            bound_jkt: None,
        }
    }

    async fn make_proof(key: &SoftwareKey, request: &DpopRequest<'_>) -> String {
        create_proof(key, &key.verifying_key().to_jwk(), request)
            .await
            .unwrap()
    }

    /// Signs a proof with `header` and `claims` as given, for the malformed cases.
    async fn raw_proof(key: &SoftwareKey, header: Value, claims: Value) -> String {
        let header_b64 = b64::encode(serde_json::to_vec(&header).unwrap());
        let claims_b64 = b64::encode(serde_json::to_vec(&claims).unwrap());
        let input = format!("{header_b64}.{claims_b64}");
        let signature = key.sign(input.as_bytes()).await.unwrap();
        format!("{input}.{}", b64::encode(signature))
    }

    fn header_for(key: &SoftwareKey) -> Value {
        serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.verifying_key().to_jwk()})
    }

    fn base_claims() -> Value {
        serde_json::json!({"jti": "j1", "htm": "POST", "htu": URL, "iat": NOW})
    }

    #[tokio::test]
    async fn a_proof_made_here_verifies_and_carries_the_claims_rfc_9449_asks_for() {
        let key = new_key();
        let policy = AlgorithmPolicy::default();
        let request = DpopRequest {
            url: "https://issuer.example.dk/token?x=1#frag",
            ..base_request()
        };
        let proof = make_proof(&key, &request).await;
        let jws = CompactJws::parse(&proof).unwrap();
        assert_eq!(jws.header().typ.as_deref(), Some(TYP));
        assert_eq!(jws.header().alg, "ES256");
        let claims = jws.payload_json().unwrap();
        assert_eq!(claims["htu"], URL);
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["iat"], NOW);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 43);
        assert!(claims.get("ath").is_none() && claims.get("nonce").is_none());
        let raw = raw_header(&proof).unwrap();
        assert!(!has_private_members(&raw["jwk"]));

        let verified = verify_proof(&proof, &expected(&policy)).unwrap();
        assert_eq!(verified.jkt(), key.verifying_key().to_jwk().thumbprint());
        assert_eq!(verified.jti(), claims["jti"].as_str().unwrap());
        assert_eq!(verified.iat(), NOW);
        assert_eq!(verified.key(), &key.verifying_key().to_jwk());
        // Two proofs get two `jti`s.
        let again = proof_jti(&make_proof(&key, &request).await);
        assert_ne!(again, verified.jti());
    }

    fn proof_jti(proof: &str) -> String {
        CompactJws::parse(proof).unwrap().payload_json().unwrap()["jti"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn ath_nonce_and_bound_key_are_checked() {
        let key = new_key();
        let policy = AlgorithmPolicy::default();
        let jkt = key.verifying_key().to_jwk().thumbprint();
        let request = DpopRequest {
            access_token: Some("at-123"),
            nonce: Some("n-1"),
            jti: Some("fixed".into()),
            ..base_request()
        };
        let proof = make_proof(&key, &request).await;
        let claims = CompactJws::parse(&proof).unwrap().payload_json().unwrap();
        assert_eq!(claims["ath"], access_token_hash("at-123"));
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["jti"], "fixed");
        let good = DpopExpected {
            access_token: Some("at-123"),
            nonce: Some("n-1"),
            bound_jkt: Some(&jkt),
            ..expected(&policy)
        };
        verify_proof(&proof, &good).unwrap();

        let other_token = DpopExpected {
            access_token: Some("at-456"),
            ..good.clone()
        };
        assert_eq!(
            verify_proof(&proof, &other_token),
            Err(DpopError::AccessTokenHash(
                "does not match the access token"
            ))
        );
        let no_token = DpopExpected {
            access_token: None,
            bound_jkt: None,
            ..good.clone()
        };
        assert!(matches!(
            verify_proof(&proof, &no_token),
            Err(DpopError::AccessTokenHash(_))
        ));
        let stale = DpopExpected {
            nonce: Some("n-2"),
            ..good.clone()
        };
        let error = verify_proof(&proof, &stale).unwrap_err();
        assert_eq!(error, DpopError::NonceMismatch);
        assert_eq!(OAuthError::from(error).code, ErrorCode::UseDpopNonce);
        let other_key = key_thumbprint();
        let rebound = DpopExpected {
            bound_jkt: Some(&other_key),
            ..good.clone()
        };
        assert_eq!(verify_proof(&proof, &rebound), Err(DpopError::KeyMismatch));

        // A proof without `ath` for a request with a token; without `nonce` when one is required.
        let bare = make_proof(&key, &base_request()).await;
        assert_eq!(verify_proof(&bare, &good), Err(DpopError::NonceRequired));
        let nonce_only = DpopExpected {
            nonce: None,
            ..good.clone()
        };
        assert_eq!(
            verify_proof(&bare, &nonce_only),
            Err(DpopError::AccessTokenHash("is missing"))
        );
        let error = OAuthError::from(DpopError::NonceRequired);
        assert_eq!(error.code, ErrorCode::UseDpopNonce);
        assert_eq!(
            OAuthError::from(DpopError::KeyMismatch).code,
            ErrorCode::InvalidDpopProof
        );
    }

    fn key_thumbprint() -> String {
        new_key().verifying_key().to_jwk().thumbprint()
    }

    #[tokio::test]
    async fn method_uri_and_time_are_checked() {
        let key = new_key();
        let policy = AlgorithmPolicy::default();
        let proof = make_proof(&key, &base_request()).await;
        let get = DpopExpected {
            method: "GET",
            ..expected(&policy)
        };
        assert_eq!(verify_proof(&proof, &get), Err(DpopError::MethodMismatch));
        let lower = DpopExpected {
            method: "post",
            ..expected(&policy)
        };
        assert_eq!(verify_proof(&proof, &lower), Err(DpopError::MethodMismatch));
        for other in [
            "https://issuer.example.dk/credential",
            "https://other.example.dk/token",
            "http://issuer.example.dk/token",
            "https://issuer.example.dk:8443/token",
            "https://issuer.example.dk/token/",
        ] {
            let wrong = DpopExpected {
                url: other,
                ..expected(&policy)
            };
            assert_eq!(
                verify_proof(&proof, &wrong),
                Err(DpopError::UriMismatch),
                "{other}"
            );
        }
        // RFC 9449 §4.3: query and fragment ignored; scheme and host case-insensitive; the
        // default port is the same URI.
        for same in [
            "https://issuer.example.dk/token?code=1",
            "HTTPS://Issuer.Example.DK/token",
            "https://issuer.example.dk:443/token#x",
        ] {
            let equal = DpopExpected {
                url: same,
                ..expected(&policy)
            };
            verify_proof(&proof, &equal).unwrap();
        }

        // The window: max_age 60 and leeway 5 accept iat in [now-65, now+5].
        for (iat, ok) in [
            (NOW - 65, true),
            (NOW - 66, false),
            (NOW + 5, true),
            (NOW + 6, false),
        ] {
            let proof = proof_at(&key, iat).await;
            let result = verify_proof(&proof, &expected(&policy));
            assert_eq!(result.is_ok(), ok, "iat {iat}: {result:?}");
            if let Err(error) = result {
                assert_eq!(error, DpopError::IatOutOfWindow { iat, now: NOW });
                let code = if iat > NOW {
                    TrustCode::NotYetValid
                } else {
                    TrustCode::Expired
                };
                assert_eq!(error.code(), code);
            }
        }
    }

    async fn proof_at(key: &SoftwareKey, iat: i64) -> String {
        make_proof(
            key,
            &DpopRequest {
                iat,
                ..base_request()
            },
        )
        .await
    }

    #[tokio::test]
    async fn signature_typ_alg_and_key_are_checked() {
        let key = new_key();
        let policy = AlgorithmPolicy::default();
        let good = make_proof(&key, &base_request()).await;

        // Tampered payload.
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut claims = CompactJws::parse(&good).unwrap().payload_json().unwrap();
        claims.insert("htm".into(), "GET".into());
        parts[1] = b64::encode(serde_json::to_vec(&claims).unwrap());
        assert_eq!(
            verify_proof(&parts.join("."), &expected(&policy)),
            Err(DpopError::BadSignature)
        );
        // Signed by another key than the one in `jwk`.
        let other = new_key();
        let forged = raw_proof(&other, header_for(&key), base_claims()).await;
        assert_eq!(
            verify_proof(&forged, &expected(&policy)),
            Err(DpopError::BadSignature)
        );
        // Wrong `typ`, missing `typ`.
        for typ in [Some("JWT"), None] {
            let mut header = header_for(&key);
            match typ {
                Some(typ) => header["typ"] = typ.into(),
                None => {
                    header.as_object_mut().unwrap().remove("typ");
                }
            }
            let proof = raw_proof(&key, header, base_claims()).await;
            assert_eq!(
                verify_proof(&proof, &expected(&policy)),
                Err(DpopError::WrongType(typ.map(str::to_owned)))
            );
        }
        // `none`, HMAC, and an algorithm the policy does not allow.
        for alg in ["none", "HS256", "ES384"] {
            let mut header = header_for(&key);
            header["alg"] = alg.into();
            let proof = raw_proof(&key, header, base_claims()).await;
            assert!(
                matches!(
                    verify_proof(&proof, &expected(&policy)),
                    Err(DpopError::UnsupportedAlgorithm(_))
                ),
                "{alg}"
            );
        }
        // A private key in `jwk`; no `jwk`; a `jwk` that is not a key.
        let mut header = header_for(&key);
        header["jwk"]["d"] = "c2VjcmV0".into();
        let proof = raw_proof(&key, header, base_claims()).await;
        assert_eq!(
            verify_proof(&proof, &expected(&policy)),
            Err(DpopError::InvalidKey("it contains a private key"))
        );
        let mut header = header_for(&key);
        header.as_object_mut().unwrap().remove("jwk");
        let proof = raw_proof(&key, header, base_claims()).await;
        assert_eq!(
            verify_proof(&proof, &expected(&policy)),
            Err(DpopError::InvalidKey("it is missing"))
        );
        let mut header = header_for(&key);
        header["jwk"]["x"] = "AAAA".into();
        let proof = raw_proof(&key, header, base_claims()).await;
        assert!(matches!(
            verify_proof(&proof, &expected(&policy)),
            Err(DpopError::InvalidKey(_))
        ));
        assert_eq!(
            OAuthError::from(DpopError::BadSignature).code,
            ErrorCode::InvalidDpopProof
        );
    }

    #[tokio::test]
    async fn claims_and_shape_are_checked() {
        let key = new_key();
        let policy = AlgorithmPolicy::default();
        for (name, value) in [
            ("jti", Value::Null),
            ("jti", "".into()),
            ("jti", "j".repeat(MAX_JTI_LEN + 1).into()),
            ("htm", 1.into()),
            ("htu", Value::Null),
            ("iat", "now".into()),
            ("iat", Value::Null),
        ] {
            let mut claims = base_claims();
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value;
            }
            let proof = raw_proof(&key, header_for(&key), claims).await;
            assert_eq!(
                verify_proof(&proof, &expected(&policy)),
                Err(DpopError::InvalidClaim(name)),
                "{name}"
            );
        }
        // A fractional `iat` is read as its whole seconds.
        let mut claims = base_claims();
        claims["iat"] = serde_json::json!(NOW as f64 + 0.5);
        let proof = raw_proof(&key, header_for(&key), claims).await;
        assert_eq!(verify_proof(&proof, &expected(&policy)).unwrap().iat(), NOW);
        // Not a JWT; too large.
        for bad in ["", "a.b", "a.b.c.d"] {
            assert!(matches!(
                verify_proof(bad, &expected(&policy)),
                Err(DpopError::Malformed(_))
            ));
        }
        let huge = "a".repeat(MAX_PROOF_LEN + 1);
        assert_eq!(
            verify_proof(&huge, &expected(&policy)).unwrap_err().code(),
            TrustCode::TooLarge
        );
    }

    #[tokio::test]
    async fn creating_checks_the_key_and_url() {
        let key = new_key();
        let other = new_key();
        assert!(matches!(
            create_proof(&key, &other.verifying_key().to_jwk(), &base_request()).await,
            Err(DpopError::Signing(_))
        ));
        for url in ["/token", "mailto:a@b", "ftp://x/y"] {
            let request = DpopRequest {
                url,
                ..base_request()
            };
            assert_eq!(
                create_proof(&key, &key.verifying_key().to_jwk(), &request).await,
                Err(DpopError::InvalidUrl(url.to_owned()))
            );
        }
        assert_eq!(
            OAuthError::from(DpopError::InvalidUrl("x".into())).status(),
            500
        );
    }

    #[test]
    fn www_authenticate_follows_rfc_9449_section_7_1() {
        let policy = AlgorithmPolicy::new([Algorithm::Es256, Algorithm::Es384]);
        assert_eq!(
            www_authenticate(Some(&ErrorCode::UseDpopNonce), &policy),
            r#"DPoP error="use_dpop_nonce", algs="ES256 ES384""#
        );
        assert_eq!(
            www_authenticate(None, &AlgorithmPolicy::default()),
            r#"DPoP algs="ES256""#
        );
        assert_eq!(
            www_authenticate(
                Some(&ErrorCode::Other("x\"y".into())),
                &AlgorithmPolicy::default()
            ),
            r#"DPoP error="xy", algs="ES256""#
        );
    }
}
