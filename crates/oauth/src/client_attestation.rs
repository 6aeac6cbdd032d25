//! OAuth 2.0 Attestation-Based Client Authentication
//! (draft-ietf-oauth-attestation-based-client-auth), the wallet authentication HAIP 1.0 and
//! OpenID4VCI 1.0 Appendix E ("Wallet Attestations in JWT format") require.
//!
//! A wallet provider signs a *client attestation* (`oauth-client-attestation+jwt`, §4 of the
//! current draft) naming the wallet's `client_id` (`sub`) and binding a wallet instance key
//! (`cnf.jwk`). The wallet sends it in the `OAuth-Client-Attestation` header with a *PoP*
//! (`oauth-client-attestation-pop+jwt`, §5.1), signed by that instance key for one
//! authorization server (`aud`), in `OAuth-Client-Attestation-PoP`.
//!
//! **Draft versions.** OpenID4VCI 1.0 cites draft -07, in which both JWTs carry `iss` (the
//! provider, and the `client_id`); draft -08 removed `iss` from both. So: [`create_attestation`]
//! writes `iss` when the caller gives a provider identifier, [`create_pop`] writes `iss` (the
//! `client_id`) so -07 servers accept it, and [`verify`] accepts both forms: an `iss` in the PoP
//! must then be the attestation's `sub`, and an `iss` in the attestation must be the provider a
//! configured key is pinned to, if it is pinned to one. The server challenge is read from
//! `challenge` (draft -06 on), or from `nonce` (earlier drafts) when `challenge` is absent.
//!
//! **Replay.** The draft leaves PoP replay detection to the server; [`verify`] returns the
//! PoP's `jti` and `iat` ([`VerifiedClientAttestation::pop_jti`]) for the caller's store.

use std::sync::Arc;

use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::ChainValidator;
use eudi_trust::Jwk;
use eudi_trust::LeafProfile;
use eudi_trust::Signer;
use eudi_trust::VerifyingKey;
use eudi_trust::code::ErrorCode as TrustCode;
use eudi_trust::code::HasErrorCode;
use eudi_trust::jws::CompactJws;
use eudi_trust::jws::Header;
use eudi_trust::jws::JwsError;
use serde_json::Map;
use serde_json::Value;

use crate::dpop::has_private_members;
use crate::dpop::numeric_date;
use crate::dpop::sign_claims;
use crate::error::ErrorCode;
use crate::error::OAuthError;
use crate::token::constant_time_eq;
use crate::token::random_token;

/// `typ` of a client attestation JWT.
pub const ATTESTATION_TYP: &str = "oauth-client-attestation+jwt";
/// `typ` of a client attestation PoP JWT.
pub const POP_TYP: &str = "oauth-client-attestation-pop+jwt";
/// The HTTP header field carrying the attestation.
pub const ATTESTATION_HEADER: &str = "OAuth-Client-Attestation";
/// The HTTP header field carrying the PoP.
pub const POP_HEADER: &str = "OAuth-Client-Attestation-PoP";
/// The error code for a PoP without the server's challenge (draft §6.4, "Errors").
pub const USE_ATTESTATION_CHALLENGE: &str = "use_attestation_challenge";

/// Longest attestation accepted, in bytes: room for an `x5c` chain of a few certificates.
pub const MAX_ATTESTATION_LEN: usize = 32 * 1024;
/// Longest PoP accepted, in bytes.
pub const MAX_POP_LEN: usize = 8 * 1024;
/// Longest PoP `jti` accepted, in characters (the caller stores it for replay detection).
pub const MAX_JTI_LEN: usize = 256;

/// Which of the two JWTs an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The client attestation JWT.
    Attestation,
    /// The client attestation PoP JWT.
    Pop,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Attestation => "client attestation",
            Self::Pop => "client attestation PoP",
        })
    }
}

/// Why a client attestation could not be made or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// Longer than [`MAX_ATTESTATION_LEN`] or [`MAX_POP_LEN`].
    #[error("{part} is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Which JWT.
        part: Part,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a well-formed compact JWS with a JSON object payload.
    #[error("malformed {part}: {reason}")]
    Malformed {
        /// Which JWT.
        part: Part,
        /// What is wrong.
        reason: String,
    },
    /// Wrong `typ`.
    #[error("{part} `typ` is {found:?}, expected `{expected}`")]
    WrongType {
        /// Which JWT.
        part: Part,
        /// What the header said.
        found: Option<String>,
        /// What was required.
        expected: &'static str,
    },
    /// `alg` is `none`, symmetric, unknown, not allowed, or not the key's.
    #[error("{part} algorithm is not accepted: {reason}")]
    UnsupportedAlgorithm {
        /// Which JWT.
        part: Part,
        /// What was wrong with it.
        reason: String,
    },
    /// A required claim is missing or of the wrong type.
    #[error("{part} claim `{claim}` is missing or not valid")]
    InvalidClaim {
        /// Which JWT.
        part: Part,
        /// The claim.
        claim: &'static str,
    },
    /// No configured wallet provider key (or X.509 anchor) vouches for the attestation.
    #[error("client attestation is not from a trusted wallet provider: {0}")]
    UntrustedProvider(String),
    /// The attestation's signature does not verify under the key it names.
    #[error("client attestation signature does not verify")]
    BadSignature,
    /// `cnf.jwk` is missing, not a supported public key, or carries private members.
    #[error("client attestation `cnf.jwk` is not valid: {0}")]
    InvalidInstanceKey(&'static str),
    /// The attestation has expired.
    #[error("client attestation expired at {exp} (now {now})")]
    Expired {
        /// Its `exp`.
        exp: i64,
        /// The verifier's time.
        now: i64,
    },
    /// The attestation's `nbf` or `iat` is in the future.
    #[error("client attestation is not valid before {from} (now {now})")]
    NotYetValid {
        /// Its `nbf` or `iat`.
        from: i64,
        /// The verifier's time.
        now: i64,
    },
    /// The request's `client_id` is not the attestation's `sub` (draft §6.1, RFC 6749 §2.3).
    #[error("`client_id` of the request is not the client attestation's `sub`")]
    ClientIdMismatch,
    /// The PoP's signature does not verify under the attestation's `cnf.jwk`.
    #[error("client attestation PoP is not signed by the attested instance key")]
    PopBadSignature,
    /// The PoP's `aud` is not this server.
    #[error("client attestation PoP `aud` is not this server")]
    WrongAudience,
    /// The PoP's `iat` (or an `exp` of an older draft) is outside the accepted window.
    #[error("client attestation PoP was issued at {iat}, outside the accepted window at {now}")]
    PopOutOfWindow {
        /// The PoP's `iat`.
        iat: i64,
        /// The verifier's time.
        now: i64,
    },
    /// The PoP's `iss` (draft -07) is not the attestation's `sub`.
    #[error("client attestation PoP `iss` is not the attested `client_id`")]
    PopIssuerMismatch,
    /// The server requires a challenge and the PoP has none, or another one.
    #[error("client attestation PoP does not carry the server's current challenge")]
    ChallengeMismatch,
    /// Making an attestation or PoP failed on this side (signer, random generator).
    #[error("client attestation could not be signed: {0}")]
    Signing(String),
}

impl HasErrorCode for AttestationError {
    /// The PoP is the wallet's proof of possession of the attested key, so its failures
    /// (signature, audience, age, challenge) are [`TrustCode::InvalidKeyBinding`]; an untrusted
    /// provider is [`TrustCode::UntrustedIssuer`], like an untrusted credential issuer.
    fn code(&self) -> TrustCode {
        match self {
            Self::TooLarge { .. } => TrustCode::TooLarge,
            Self::Malformed { .. } | Self::InvalidClaim { .. } | Self::InvalidInstanceKey(_) => {
                TrustCode::Malformed
            }
            Self::WrongType { .. } => TrustCode::WrongType,
            Self::UnsupportedAlgorithm { .. } => TrustCode::UnsupportedAlgorithm,
            Self::UntrustedProvider(_) => TrustCode::UntrustedIssuer,
            Self::BadSignature => TrustCode::InvalidSignature,
            Self::Expired { .. } => TrustCode::Expired,
            Self::NotYetValid { .. } => TrustCode::NotYetValid,
            Self::ClientIdMismatch => TrustCode::InvalidCredential,
            Self::PopBadSignature
            | Self::WrongAudience
            | Self::PopOutOfWindow { .. }
            | Self::PopIssuerMismatch
            | Self::ChallengeMismatch => TrustCode::InvalidKeyBinding,
            Self::Signing(_) => TrustCode::Internal,
        }
    }
}

impl From<AttestationError> for OAuthError {
    /// `invalid_client` (401, RFC 6749 §5.2) for every verification failure but a missing or
    /// stale challenge, which the draft (§6.4) answers with `use_attestation_challenge` (400;
    /// the caller adds the `OAuth-Client-Attestation-Challenge` header with a fresh one). A
    /// failure to sign is this side's: `server_error`.
    fn from(error: AttestationError) -> Self {
        match error {
            AttestationError::ChallengeMismatch => Self::new(
                ErrorCode::Other(USE_ATTESTATION_CHALLENGE.into()),
                error.to_string(),
            ),
            AttestationError::Signing(_) => Self::server_error(),
            AttestationError::TooLarge { .. }
            | AttestationError::Malformed { .. }
            | AttestationError::WrongType { .. }
            | AttestationError::UnsupportedAlgorithm { .. }
            | AttestationError::InvalidClaim { .. }
            | AttestationError::UntrustedProvider(_)
            | AttestationError::BadSignature
            | AttestationError::InvalidInstanceKey(_)
            | AttestationError::Expired { .. }
            | AttestationError::NotYetValid { .. }
            | AttestationError::ClientIdMismatch
            | AttestationError::PopBadSignature
            | AttestationError::WrongAudience
            | AttestationError::PopOutOfWindow { .. }
            | AttestationError::PopIssuerMismatch => {
                Self::new(ErrorCode::InvalidClient, error.to_string())
            }
        }
    }
}

/// How the attestation's header names the wallet provider's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderKeyId {
    /// Neither: the server knows the provider's key.
    None,
    /// A `kid` the server has configured.
    Kid(String),
    /// An `x5c` chain (standard base64 DER, leaf first) to an anchor the server trusts.
    X5c(Vec<String>),
}

/// The claims of a client attestation [`create_attestation`] signs.
#[derive(Clone, Debug, PartialEq)]
pub struct AttestationClaims {
    /// `iss`: the wallet provider (required by draft -07, dropped by -08; written when given).
    pub issuer: Option<String>,
    /// `sub`: the wallet's `client_id`.
    pub client_id: String,
    /// `cnf.jwk`: the wallet instance's public key, which signs the PoPs.
    pub instance_key: Jwk,
    /// `iat`, Unix seconds.
    pub iat: i64,
    /// `exp`, Unix seconds.
    pub exp: i64,
    /// `wallet_name` (OpenID4VCI 1.0 Appendix E).
    pub wallet_name: Option<String>,
    /// `wallet_link` (OpenID4VCI 1.0 Appendix E).
    pub wallet_link: Option<String>,
    /// Any other claims (e.g. `status`); they must not repeat the ones above.
    pub extra: Map<String, Value>,
}

/// Signs a client attestation as the wallet provider.
pub async fn create_attestation(
    provider: &dyn Signer,
    key_id: &ProviderKeyId,
    claims: &AttestationClaims,
) -> Result<String, AttestationError> {
    let mut header = Header::new(provider.algorithm(), Some(ATTESTATION_TYP));
    match key_id {
        ProviderKeyId::None => {}
        ProviderKeyId::Kid(kid) => header.kid = Some(kid.clone()),
        ProviderKeyId::X5c(chain) => header.x5c = Some(chain.clone()),
    }
    let mut body = Map::new();
    if let Some(issuer) = &claims.issuer {
        body.insert("iss".into(), issuer.as_str().into());
    }
    body.insert("sub".into(), claims.client_id.as_str().into());
    body.insert("iat".into(), claims.iat.into());
    body.insert("exp".into(), claims.exp.into());
    let jwk = serde_json::to_value(&claims.instance_key)
        .map_err(|e| AttestationError::Signing(e.to_string()))?;
    body.insert("cnf".into(), serde_json::json!({ "jwk": jwk }));
    for (name, value) in [
        ("wallet_name", &claims.wallet_name),
        ("wallet_link", &claims.wallet_link),
    ] {
        if let Some(value) = value {
            body.insert(name.into(), value.as_str().into());
        }
    }
    for (name, value) in &claims.extra {
        if body.contains_key(name) {
            return Err(AttestationError::Signing(format!(
                "extra claim `{name}` repeats a claim set from the typed fields"
            )));
        }
        body.insert(name.clone(), value.clone());
    }
    sign_claims(&header, &body, provider)
        .await
        .map_err(|e| AttestationError::Signing(e.to_string()))
}

/// Signs a PoP for `audience` (the authorization server's issuer identifier) with the wallet
/// instance key. `jti` is a fresh random token when `None`; `challenge` is the server's, when
/// it gave one. `iss` is set to `client_id` for servers following draft -07.
pub async fn create_pop(
    wallet_key: &dyn Signer,
    client_id: &str,
    audience: &str,
    jti: Option<&str>,
    iat: i64,
    challenge: Option<&str>,
) -> Result<String, AttestationError> {
    let jti = match jti {
        Some(jti) => jti.to_owned(),
        None => random_token().map_err(|e| AttestationError::Signing(e.to_string()))?,
    };
    let mut body = Map::new();
    body.insert("iss".into(), client_id.into());
    body.insert("aud".into(), audience.into());
    body.insert("jti".into(), jti.into());
    body.insert("iat".into(), iat.into());
    if let Some(challenge) = challenge {
        body.insert("challenge".into(), challenge.into());
    }
    let header = Header::new(wallet_key.algorithm(), Some(POP_TYP));
    sign_claims(&header, &body, wallet_key)
        .await
        .map_err(|e| AttestationError::Signing(e.to_string()))
}

/// A wallet provider key the server trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderKey {
    /// The key.
    pub key: VerifyingKey,
    /// Its `kid`: when set, an attestation naming a `kid` is checked only with keys of that
    /// `kid` (and keys without one).
    pub kid: Option<String>,
    /// The provider identifier the key is pinned to: when set, an attestation signed by this
    /// key that has an `iss` must have this one.
    pub issuer: Option<String>,
}

/// The wallet providers a server trusts: configured keys and/or X.509 trust anchors.
#[derive(Clone, Debug, Default)]
pub struct WalletProviderTrust {
    keys: Vec<ProviderKey>,
    x509: Option<(Arc<ChainValidator>, LeafProfile)>,
}

impl WalletProviderTrust {
    /// Trusts nobody (every attestation is refused until keys or anchors are added).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a trusted provider key, optionally with its `kid`.
    pub fn with_key(self, key: VerifyingKey, kid: Option<String>) -> Self {
        self.with_provider_key(ProviderKey {
            key,
            kid,
            issuer: None,
        })
    }

    /// Adds a trusted provider key with all its settings.
    pub fn with_provider_key(mut self, key: ProviderKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Trusts attestations whose `x5c` chain validates to `validator`'s anchors, with a leaf
    /// fit for `profile` (normally [`LeafProfile::DigitalSignature`]).
    pub fn with_x509(mut self, validator: Arc<ChainValidator>, profile: LeafProfile) -> Self {
        self.x509 = Some((validator, profile));
        self
    }

    /// Whether nothing is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.x509.is_none()
    }
}

/// What the server expects.
#[derive(Clone, Debug)]
pub struct AttestationExpected<'a> {
    /// This authorization server's issuer identifier (RFC 8414), the PoP's `aud`.
    pub audience: &'a str,
    /// The request's `client_id`, when it has one: it must be the attestation's `sub`.
    pub client_id: Option<&'a str>,
    /// The verifier's time, Unix seconds.
    pub now: i64,
    /// Oldest PoP accepted, in seconds before `now`.
    pub max_pop_age: i64,
    /// Clock skew allowed, in seconds, both ways.
    pub leeway: i64,
    /// The challenge the server gave the client, when it requires one.
    pub challenge: Option<&'a str>,
    /// The trusted wallet providers.
    pub trust: &'a WalletProviderTrust,
    /// Accepted signature algorithms, for both JWTs.
    pub algorithms: &'a AlgorithmPolicy,
}

/// An attestation and PoP that passed every check. Only [`verify`] makes these.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedClientAttestation {
    client_id: String,
    provider: Option<String>,
    instance_key: Jwk,
    instance_jkt: String,
    expires_at: i64,
    pop_jti: String,
    pop_iat: i64,
    claims: Map<String, Value>,
}

impl VerifiedClientAttestation {
    /// The authenticated `client_id` (the attestation's `sub`).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The attestation's `iss` (the wallet provider), when it has one (draft -07).
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The wallet instance key (`cnf.jwk`).
    pub fn instance_key(&self) -> &Jwk {
        &self.instance_key
    }

    /// RFC 7638 thumbprint of the instance key (compare with a DPoP key, bind tokens to it).
    pub fn instance_jkt(&self) -> &str {
        &self.instance_jkt
    }

    /// The attestation's `exp`.
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// The PoP's `jti`, for the caller's replay check (keep it until `pop_iat` plus the
    /// accepted age).
    pub fn pop_jti(&self) -> &str {
        &self.pop_jti
    }

    /// The PoP's `iat`.
    pub fn pop_iat(&self) -> i64 {
        self.pop_iat
    }

    /// `wallet_name`, when present.
    pub fn wallet_name(&self) -> Option<&str> {
        self.claims.get("wallet_name").and_then(Value::as_str)
    }

    /// `wallet_link`, when present.
    pub fn wallet_link(&self) -> Option<&str> {
        self.claims.get("wallet_link").and_then(Value::as_str)
    }

    /// Every claim of the attestation (e.g. `status`, for a caller that checks it).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}

fn malformed(part: Part) -> impl Fn(JwsError) -> AttestationError {
    move |error| match error {
        JwsError::UnsupportedAlgorithm(alg) => {
            AttestationError::UnsupportedAlgorithm { part, reason: alg }
        }
        other => AttestationError::Malformed {
            part,
            reason: other.to_string(),
        },
    }
}

/// Size, shape, `typ` and `alg` (against the policy) of one of the two JWTs.
fn parse<'a>(
    token: &'a str,
    part: Part,
    typ: &'static str,
    max: usize,
    algorithms: &AlgorithmPolicy,
) -> Result<(CompactJws<'a>, Map<String, Value>, Algorithm), AttestationError> {
    if token.len() > max {
        return Err(AttestationError::TooLarge {
            part,
            len: token.len(),
            max,
        });
    }
    let jws = CompactJws::parse(token).map_err(malformed(part))?;
    let claims = jws.payload_json().map_err(malformed(part))?;
    let header = jws.header();
    if header.require_typ(&[typ]).is_err() {
        return Err(AttestationError::WrongType {
            part,
            found: header.typ.clone(),
            expected: typ,
        });
    }
    let alg = header.algorithm().map_err(malformed(part))?;
    if !algorithms.allows(alg) {
        return Err(AttestationError::UnsupportedAlgorithm {
            part,
            reason: format!("{alg} is not allowed"),
        });
    }
    Ok((jws, claims, alg))
}

fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    part: Part,
    claim: &'static str,
) -> Result<Option<&'a str>, AttestationError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(AttestationError::InvalidClaim { part, claim }),
    }
}

fn date_claim(
    claims: &Map<String, Value>,
    part: Part,
    claim: &'static str,
) -> Result<Option<i64>, AttestationError> {
    numeric_date(claims, claim).ok_or(AttestationError::InvalidClaim { part, claim })
}

/// The attestation's key: from the `x5c` chain when X.509 trust is configured, else a
/// configured key. Returns the key and the provider it is pinned to.
fn provider_key(
    jws: &CompactJws<'_>,
    alg: Algorithm,
    expected: &AttestationExpected<'_>,
) -> Result<Option<String>, AttestationError> {
    let header = jws.header();
    let trust = expected.trust;
    if let (Some(x5c), Some((validator, profile))) = (&header.x5c, &trust.x509) {
        let chain = validator
            .validate_x5c(x5c, expected.now, *profile)
            .map_err(|e| AttestationError::UntrustedProvider(e.to_string()))?;
        return verify_with(jws, &chain.leaf_key, alg, expected.algorithms).map(|()| None);
    }
    let candidates: Vec<&ProviderKey> = trust
        .keys
        .iter()
        .filter(|key| match (&header.kid, &key.kid) {
            (Some(wanted), Some(kid)) => wanted == kid,
            _ => true,
        })
        .filter(|key| key.key.algorithm() == alg)
        .collect();
    let named = header.kid.is_some() && candidates.iter().any(|key| key.kid.is_some());
    for key in &candidates {
        if verify_with(jws, &key.key, alg, expected.algorithms).is_ok() {
            return Ok(key.issuer.clone());
        }
    }
    match (named, candidates.len()) {
        // The header named a configured key and it does not verify: a bad signature.
        (true, 1) => Err(AttestationError::BadSignature),
        _ if header.x5c.is_some() && trust.x509.is_none() && candidates.is_empty() => {
            Err(AttestationError::UntrustedProvider(
                "`x5c` given, but no X.509 trust is configured".into(),
            ))
        }
        _ => Err(AttestationError::UntrustedProvider(
            "no configured wallet provider key verifies the signature".into(),
        )),
    }
}

fn verify_with(
    jws: &CompactJws<'_>,
    key: &VerifyingKey,
    alg: Algorithm,
    algorithms: &AlgorithmPolicy,
) -> Result<(), AttestationError> {
    if key.algorithm() != alg {
        return Err(AttestationError::UnsupportedAlgorithm {
            part: Part::Attestation,
            reason: format!("{alg} with a {} key", key.algorithm()),
        });
    }
    jws.verify(key, algorithms)
        .map_err(|_| AttestationError::BadSignature)
}

/// A client attestation that passed its checks, before its PoP is looked at.
struct Attested {
    claims: Map<String, Value>,
    client_id: String,
    provider: Option<String>,
    instance_key: Jwk,
    instance: VerifyingKey,
    exp: i64,
}

/// The attestation half of [`verify`] (draft §6.1).
fn verify_attestation(
    attestation: &str,
    expected: &AttestationExpected<'_>,
) -> Result<Attested, AttestationError> {
    const A: Part = Part::Attestation;
    let now = expected.now;
    let leeway = expected.leeway;
    let (jws, claims, alg) = parse(
        attestation,
        A,
        ATTESTATION_TYP,
        MAX_ATTESTATION_LEN,
        expected.algorithms,
    )?;
    let pinned_issuer = provider_key(&jws, alg, expected)?;
    let client_id = string_claim(&claims, A, "sub")?
        .filter(|sub| !sub.is_empty())
        .ok_or(AttestationError::InvalidClaim {
            part: A,
            claim: "sub",
        })?
        .to_owned();
    let provider = string_claim(&claims, A, "iss")?.map(str::to_owned);
    if let (Some(pinned), Some(iss)) = (&pinned_issuer, &provider)
        && pinned != iss
    {
        return Err(AttestationError::UntrustedProvider(
            "`iss` is not the provider the key is configured for".into(),
        ));
    }
    let exp = date_claim(&claims, A, "exp")?.ok_or(AttestationError::InvalidClaim {
        part: A,
        claim: "exp",
    })?;
    let cnf_jwk = claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jwk"))
        .ok_or(AttestationError::InvalidInstanceKey("it is missing"))?;
    if has_private_members(cnf_jwk) {
        return Err(AttestationError::InvalidInstanceKey(
            "it contains a private key",
        ));
    }
    let instance_key: Jwk = serde_json::from_value(cnf_jwk.clone())
        .map_err(|_| AttestationError::InvalidInstanceKey("it is not a JWK"))?;
    let instance = instance_key
        .to_verifying_key()
        .map_err(|_| AttestationError::InvalidInstanceKey("it is not a supported public key"))?;
    if now > exp.saturating_add(leeway) {
        return Err(AttestationError::Expired { exp, now });
    }
    for claim in ["nbf", "iat"] {
        if let Some(from) = date_claim(&claims, A, claim)?
            && from > now.saturating_add(leeway)
        {
            return Err(AttestationError::NotYetValid { from, now });
        }
    }
    if let Some(requested) = expected.client_id
        && requested != client_id
    {
        return Err(AttestationError::ClientIdMismatch);
    }
    Ok(Attested {
        claims,
        client_id,
        provider,
        instance_key,
        instance,
        exp,
    })
}

/// Checks a client attestation and its PoP (draft §6.1 and §6.2).
///
/// Attestation: size, `typ`, `alg` allowed, signature by a trusted provider (an `x5c` chain to
/// a configured anchor, or a configured key, by `kid` when named), `sub`, `exp` and `cnf.jwk`
/// present, `cnf.jwk` a public key, not expired (`exp`, with leeway), not before `nbf`/`iat`,
/// `sub` equal to the request's `client_id`. PoP: size, `typ`, `alg` allowed and the instance
/// key's, signature by `cnf.jwk`, `aud` this server, `jti` and `iat` present, `iat` (and `exp`
/// of older drafts) within the window, `iss` (older drafts) equal to `sub`, and the challenge
/// when the server requires one.
pub fn verify(
    attestation: &str,
    pop: &str,
    expected: &AttestationExpected<'_>,
) -> Result<VerifiedClientAttestation, AttestationError> {
    const P: Part = Part::Pop;
    let now = expected.now;
    let leeway = expected.leeway;
    let Attested {
        claims,
        client_id,
        provider,
        instance_key,
        instance,
        exp,
    } = verify_attestation(attestation, expected)?;
    let client_id = client_id.as_str();

    // The PoP.
    let (pop_jws, pop_claims, pop_alg) = parse(pop, P, POP_TYP, MAX_POP_LEN, expected.algorithms)?;
    if pop_alg != instance.algorithm() {
        return Err(AttestationError::UnsupportedAlgorithm {
            part: P,
            reason: format!("{pop_alg} with a {} instance key", instance.algorithm()),
        });
    }
    pop_jws
        .verify(&instance, expected.algorithms)
        .map_err(|_| AttestationError::PopBadSignature)?;
    let audience_ok = match pop_claims.get("aud") {
        Some(Value::String(aud)) => aud == expected.audience,
        // One audience (draft §5.1), tolerated as a one-element array (RFC 7519 §4.1.3).
        Some(Value::Array(auds)) => {
            auds.len() == 1 && auds.first().and_then(Value::as_str) == Some(expected.audience)
        }
        Some(_) => {
            return Err(AttestationError::InvalidClaim {
                part: P,
                claim: "aud",
            });
        }
        None => {
            return Err(AttestationError::InvalidClaim {
                part: P,
                claim: "aud",
            });
        }
    };
    if !audience_ok {
        return Err(AttestationError::WrongAudience);
    }
    let jti = string_claim(&pop_claims, P, "jti")?
        .filter(|jti| !jti.is_empty() && jti.chars().count() <= MAX_JTI_LEN)
        .ok_or(AttestationError::InvalidClaim {
            part: P,
            claim: "jti",
        })?;
    let iat = date_claim(&pop_claims, P, "iat")?.ok_or(AttestationError::InvalidClaim {
        part: P,
        claim: "iat",
    })?;
    let oldest = now
        .saturating_sub(expected.max_pop_age)
        .saturating_sub(leeway);
    if iat < oldest || iat > now.saturating_add(leeway) {
        return Err(AttestationError::PopOutOfWindow { iat, now });
    }
    if let Some(pop_exp) = date_claim(&pop_claims, P, "exp")?
        && now > pop_exp.saturating_add(leeway)
    {
        return Err(AttestationError::PopOutOfWindow { iat, now });
    }
    if let Some(iss) = string_claim(&pop_claims, P, "iss")?
        && iss != client_id
    {
        return Err(AttestationError::PopIssuerMismatch);
    }
    if let Some(required) = expected.challenge {
        let given = match string_claim(&pop_claims, P, "challenge")? {
            Some(challenge) => Some(challenge),
            None => string_claim(&pop_claims, P, "nonce")?,
        };
        if !given.is_some_and(|given| constant_time_eq(given, required)) {
            return Err(AttestationError::ChallengeMismatch);
        }
    }

    Ok(VerifiedClientAttestation {
        client_id: client_id.to_owned(),
        provider,
        instance_jkt: instance_key.thumbprint(),
        instance_key,
        expires_at: exp,
        pop_jti: jti.to_owned(),
        pop_iat: iat,
        claims,
    })
}

#[cfg(test)]
mod tests {
    use eudi_trust::SoftwareKey;
    use eudi_trust::TrustAnchors;
    use eudi_trust::b64;

    use super::*;

    const NOW: i64 = 1_750_000_000;
    const AS: &str = "https://issuer.example.dk";
    const CLIENT: &str = "https://wallet.example.dk";
    const PROVIDER: &str = "https://provider.example.dk";

    struct Fixture {
        provider: SoftwareKey,
        instance: SoftwareKey,
        trust: WalletProviderTrust,
        policy: AlgorithmPolicy,
    }

    fn fixture() -> Fixture {
        let provider = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let instance = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let trust = WalletProviderTrust::new()
            .with_key(provider.verifying_key().clone(), Some("p1".into()));
        Fixture {
            provider,
            instance,
            trust,
            policy: AlgorithmPolicy::default(),
        }
    }

    fn claims(instance: &SoftwareKey) -> AttestationClaims {
        AttestationClaims {
            issuer: Some(PROVIDER.into()),
            client_id: CLIENT.into(),
            instance_key: instance.verifying_key().to_jwk(),
            iat: NOW - 3600,
            exp: NOW + 3600,
            wallet_name: Some("Test Wallet".into()),
            wallet_link: Some("https://wallet.example.dk/about".into()),
            extra: Map::new(),
        }
    }

    impl Fixture {
        fn expected(&self) -> AttestationExpected<'_> {
            AttestationExpected {
                audience: AS,
                client_id: Some(CLIENT),
                now: NOW,
                max_pop_age: 60,
                leeway: 5,
                challenge: None,
                trust: &self.trust,
                algorithms: &self.policy,
            }
        }

        async fn attestation_with(&self, claims: &AttestationClaims) -> String {
            create_attestation(&self.provider, &ProviderKeyId::Kid("p1".into()), claims)
                .await
                .unwrap()
        }

        async fn attestation(&self) -> String {
            self.attestation_with(&claims(&self.instance)).await
        }

        async fn pop_at(&self, iat: i64, challenge: Option<&str>) -> String {
            create_pop(&self.instance, CLIENT, AS, None, iat, challenge)
                .await
                .unwrap()
        }

        async fn pop(&self) -> String {
            self.pop_at(NOW, None).await
        }
    }

    /// Signs `header` and `claims` as given with `key`.
    async fn raw_jwt(key: &SoftwareKey, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            b64::encode(serde_json::to_vec(&header).unwrap()),
            b64::encode(serde_json::to_vec(&claims).unwrap())
        );
        let signature = key.sign(input.as_bytes()).await.unwrap();
        format!("{input}.{}", b64::encode(signature))
    }

    fn payload(token: &str) -> Map<String, Value> {
        CompactJws::parse(token).unwrap().payload_json().unwrap()
    }

    #[tokio::test]
    async fn attestation_and_pop_made_here_verify() {
        let f = fixture();
        let attestation = f.attestation().await;
        let pop = f.pop().await;
        let jws = CompactJws::parse(&attestation).unwrap();
        assert_eq!(jws.header().typ.as_deref(), Some(ATTESTATION_TYP));
        assert_eq!(jws.header().kid.as_deref(), Some("p1"));
        let body = payload(&attestation);
        assert_eq!(body["sub"], CLIENT);
        assert_eq!(body["iss"], PROVIDER);
        assert_eq!(
            body["cnf"]["jwk"],
            serde_json::to_value(f.instance.verifying_key().to_jwk()).unwrap()
        );
        let pop_body = payload(&pop);
        assert_eq!(
            CompactJws::parse(&pop).unwrap().header().typ.as_deref(),
            Some(POP_TYP)
        );
        assert_eq!(pop_body["aud"], AS);
        assert_eq!(pop_body["iss"], CLIENT);
        assert_eq!(pop_body["iat"], NOW);
        assert_eq!(pop_body["jti"].as_str().unwrap().len(), 43);

        let verified = verify(&attestation, &pop, &f.expected()).unwrap();
        assert_eq!(verified.client_id(), CLIENT);
        assert_eq!(verified.provider(), Some(PROVIDER));
        assert_eq!(
            verified.instance_jkt(),
            f.instance.verifying_key().to_jwk().thumbprint()
        );
        assert_eq!(
            verified.instance_key(),
            &f.instance.verifying_key().to_jwk()
        );
        assert_eq!(verified.expires_at(), NOW + 3600);
        assert_eq!(verified.pop_jti(), pop_body["jti"].as_str().unwrap());
        assert_eq!(verified.pop_iat(), NOW);
        assert_eq!(verified.wallet_name(), Some("Test Wallet"));
        assert_eq!(
            verified.wallet_link(),
            Some("https://wallet.example.dk/about")
        );

        // Without a `client_id` in the request, and with a key configured without `kid`.
        let unnamed = WalletProviderTrust::new().with_key(f.provider.verifying_key().clone(), None);
        let expected = AttestationExpected {
            client_id: None,
            trust: &unnamed,
            ..f.expected()
        };
        verify(&attestation, &pop, &expected).unwrap();
    }

    #[tokio::test]
    async fn a_draft_08_pop_without_iss_and_an_attestation_without_iss_verify() {
        let f = fixture();
        let mut claims = claims(&f.instance);
        claims.issuer = None;
        let attestation = f.attestation_with(&claims).await;
        let pop = raw_jwt(
            &f.instance,
            serde_json::json!({"typ": POP_TYP, "alg": "ES256"}),
            serde_json::json!({"aud": AS, "jti": "j-1", "iat": NOW, "challenge": "c-1"}),
        )
        .await;
        let expected = AttestationExpected {
            challenge: Some("c-1"),
            ..f.expected()
        };
        let verified = verify(&attestation, &pop, &expected).unwrap();
        assert_eq!(verified.provider(), None);
        assert_eq!(verified.pop_jti(), "j-1");
    }

    #[tokio::test]
    async fn expired_or_future_attestations_are_refused() {
        let f = fixture();
        let pop = f.pop().await;
        let mut expired = claims(&f.instance);
        expired.exp = NOW - 6;
        let attestation = f.attestation_with(&expired).await;
        let error = verify(&attestation, &pop, &f.expected()).unwrap_err();
        assert_eq!(
            error,
            AttestationError::Expired {
                exp: NOW - 6,
                now: NOW
            }
        );
        assert_eq!(error.code(), TrustCode::Expired);
        // Inside the leeway it is still accepted.
        expired.exp = NOW - 5;
        verify(&f.attestation_with(&expired).await, &pop, &f.expected()).unwrap();

        let mut future = claims(&f.instance);
        future.iat = NOW + 60;
        let error = verify(&f.attestation_with(&future).await, &pop, &f.expected()).unwrap_err();
        assert_eq!(
            error,
            AttestationError::NotYetValid {
                from: NOW + 60,
                now: NOW
            }
        );
        let mut not_before = claims(&f.instance);
        not_before.extra.insert("nbf".into(), (NOW + 60).into());
        assert!(matches!(
            verify(&f.attestation_with(&not_before).await, &pop, &f.expected()),
            Err(AttestationError::NotYetValid { .. })
        ));
    }

    #[tokio::test]
    async fn untrusted_providers_and_tampered_attestations_are_refused() {
        let f = fixture();
        let pop = f.pop().await;
        // Signed by a provider nobody configured (same kid, other key).
        let stranger = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let foreign = create_attestation(&stranger, &ProviderKeyId::None, &claims(&f.instance))
            .await
            .unwrap();
        let error = verify(&foreign, &pop, &f.expected()).unwrap_err();
        assert!(
            matches!(error, AttestationError::UntrustedProvider(_)),
            "{error:?}"
        );
        assert_eq!(error.code(), TrustCode::UntrustedIssuer);
        let named = create_attestation(
            &stranger,
            &ProviderKeyId::Kid("p1".into()),
            &claims(&f.instance),
        )
        .await
        .unwrap();
        assert_eq!(
            verify(&named, &pop, &f.expected()),
            Err(AttestationError::BadSignature)
        );
        // Nobody trusted at all.
        let nobody = WalletProviderTrust::new();
        assert!(nobody.is_empty());
        let expected = AttestationExpected {
            trust: &nobody,
            ..f.expected()
        };
        assert!(matches!(
            verify(&f.attestation().await, &pop, &expected),
            Err(AttestationError::UntrustedProvider(_))
        ));

        // A tampered payload (another client_id) with the original signature.
        let attestation = f.attestation().await;
        let mut parts: Vec<String> = attestation.split('.').map(str::to_owned).collect();
        let mut body = payload(&attestation);
        body.insert("sub".into(), "https://evil.example".into());
        parts[1] = b64::encode(serde_json::to_vec(&body).unwrap());
        let tampered = parts.join(".");
        assert_eq!(
            verify(
                &tampered,
                &pop,
                &AttestationExpected {
                    client_id: None,
                    ..f.expected()
                }
            ),
            Err(AttestationError::BadSignature)
        );

        // A key pinned to a provider identifier refuses an attestation naming another one.
        let pinned = WalletProviderTrust::new().with_provider_key(ProviderKey {
            key: f.provider.verifying_key().clone(),
            kid: None,
            issuer: Some("https://other-provider.example".into()),
        });
        let expected = AttestationExpected {
            trust: &pinned,
            ..f.expected()
        };
        assert!(matches!(
            verify(&attestation, &pop, &expected),
            Err(AttestationError::UntrustedProvider(_))
        ));
        let error = OAuthError::from(AttestationError::BadSignature);
        assert_eq!(error.code, ErrorCode::InvalidClient);
        assert_eq!(error.status(), 401);
    }

    #[tokio::test]
    async fn pops_are_checked_against_the_instance_key_audience_age_and_challenge() {
        let f = fixture();
        let attestation = f.attestation().await;

        // Signed by another key than `cnf.jwk`.
        let other = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let pop = create_pop(&other, CLIENT, AS, None, NOW, None)
            .await
            .unwrap();
        let error = verify(&attestation, &pop, &f.expected()).unwrap_err();
        assert_eq!(error, AttestationError::PopBadSignature);
        assert_eq!(error.code(), TrustCode::InvalidKeyBinding);

        // For another server; as a two-audience array.
        let pop = create_pop(
            &f.instance,
            CLIENT,
            "https://other.example",
            None,
            NOW,
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            verify(&attestation, &pop, &f.expected()),
            Err(AttestationError::WrongAudience)
        );
        let pop = raw_jwt(
            &f.instance,
            serde_json::json!({"typ": POP_TYP, "alg": "ES256"}),
            serde_json::json!({"aud": [AS, "https://other.example"], "jti": "j", "iat": NOW}),
        )
        .await;
        assert_eq!(
            verify(&attestation, &pop, &f.expected()),
            Err(AttestationError::WrongAudience)
        );
        let pop = raw_jwt(
            &f.instance,
            serde_json::json!({"typ": POP_TYP, "alg": "ES256"}),
            serde_json::json!({"aud": [AS], "jti": "j", "iat": NOW}),
        )
        .await;
        verify(&attestation, &pop, &f.expected()).unwrap();

        // Stale, from the future, and the window's edges (max_pop_age 60, leeway 5).
        for (iat, ok) in [
            (NOW - 65, true),
            (NOW - 66, false),
            (NOW + 5, true),
            (NOW + 6, false),
        ] {
            let result = verify(&attestation, &f.pop_at(iat, None).await, &f.expected());
            assert_eq!(result.is_ok(), ok, "iat {iat}: {result:?}");
            if !ok {
                assert_eq!(
                    result,
                    Err(AttestationError::PopOutOfWindow { iat, now: NOW })
                );
            }
        }
        // An expired `exp` of an older draft.
        let pop = raw_jwt(
            &f.instance,
            serde_json::json!({"typ": POP_TYP, "alg": "ES256"}),
            serde_json::json!({"aud": AS, "jti": "j", "iat": NOW, "exp": NOW - 10}),
        )
        .await;
        assert!(matches!(
            verify(&attestation, &pop, &f.expected()),
            Err(AttestationError::PopOutOfWindow { .. })
        ));

        // The challenge: missing, wrong, right, and as an older draft's `nonce`.
        let expected = AttestationExpected {
            challenge: Some("c-1"),
            ..f.expected()
        };
        for pop in [f.pop().await, f.pop_at(NOW, Some("c-0")).await] {
            let error = verify(&attestation, &pop, &expected).unwrap_err();
            assert_eq!(error, AttestationError::ChallengeMismatch);
            let answer = OAuthError::from(error);
            assert_eq!(answer.code.as_str(), USE_ATTESTATION_CHALLENGE);
            assert_eq!(answer.status(), 400);
        }
        verify(&attestation, &f.pop_at(NOW, Some("c-1")).await, &expected).unwrap();
        let legacy = raw_jwt(
            &f.instance,
            serde_json::json!({"typ": POP_TYP, "alg": "ES256"}),
            serde_json::json!({"aud": AS, "jti": "j", "iat": NOW, "nonce": "c-1"}),
        )
        .await;
        verify(&attestation, &legacy, &expected).unwrap();

        // `iss` of a draft -07 PoP must be the attested client.
        let pop = create_pop(
            &f.instance,
            "https://other-client.example",
            AS,
            None,
            NOW,
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            verify(&attestation, &pop, &f.expected()),
            Err(AttestationError::PopIssuerMismatch)
        );

        // Missing `jti` or `iat`.
        for (claims, claim) in [
            (serde_json::json!({"aud": AS, "iat": NOW}), "jti"),
            (serde_json::json!({"aud": AS, "jti": "", "iat": NOW}), "jti"),
            (serde_json::json!({"aud": AS, "jti": "j"}), "iat"),
            (serde_json::json!({"jti": "j", "iat": NOW}), "aud"),
        ] {
            let pop = raw_jwt(
                &f.instance,
                serde_json::json!({"typ": POP_TYP, "alg": "ES256"}),
                claims,
            )
            .await;
            assert_eq!(
                verify(&attestation, &pop, &f.expected()),
                Err(AttestationError::InvalidClaim {
                    part: Part::Pop,
                    claim
                })
            );
        }
    }

    #[tokio::test]
    async fn client_id_typ_alg_and_instance_key_are_checked() {
        let f = fixture();
        let attestation = f.attestation().await;
        let pop = f.pop().await;
        // `sub` is not the request's `client_id`.
        let expected = AttestationExpected {
            client_id: Some("https://other-wallet.example"),
            ..f.expected()
        };
        assert_eq!(
            verify(&attestation, &pop, &expected),
            Err(AttestationError::ClientIdMismatch)
        );
        // The two tokens swapped, or with `typ` `JWT`.
        assert!(matches!(
            verify(&pop, &attestation, &f.expected()),
            Err(AttestationError::WrongType {
                part: Part::Attestation,
                ..
            })
        ));
        let plain_jwt = raw_jwt(
            &f.instance,
            serde_json::json!({"typ": "JWT", "alg": "ES256"}),
            serde_json::json!({"aud": AS, "jti": "j", "iat": NOW}),
        )
        .await;
        let error = verify(&attestation, &plain_jwt, &f.expected()).unwrap_err();
        assert_eq!(
            error,
            AttestationError::WrongType {
                part: Part::Pop,
                found: Some("JWT".into()),
                expected: POP_TYP
            }
        );
        assert_eq!(error.code(), TrustCode::WrongType);
        // `alg` `none` and an algorithm the policy does not allow.
        let none = format!(
            "{}.{}.",
            b64::encode(format!(r#"{{"typ":"{ATTESTATION_TYP}","alg":"none"}}"#)),
            b64::encode(r#"{"sub":"x"}"#)
        );
        assert!(matches!(
            verify(&none, &pop, &f.expected()),
            Err(AttestationError::UnsupportedAlgorithm { .. })
        ));
        let p384 = SoftwareKey::generate(Algorithm::Es384).unwrap();
        let es384 = create_attestation(&p384, &ProviderKeyId::None, &claims(&f.instance))
            .await
            .unwrap();
        assert!(matches!(
            verify(&es384, &pop, &f.expected()),
            Err(AttestationError::UnsupportedAlgorithm { .. })
        ));
        // `cnf.jwk` with a private member, missing, or not a key.
        let good_jwk = serde_json::to_value(f.instance.verifying_key().to_jwk()).unwrap();
        let mut private = good_jwk.clone();
        private["d"] = "c2VjcmV0".into();
        for (cnf, reason) in [
            (
                serde_json::json!({"jwk": private}),
                "it contains a private key",
            ),
            (serde_json::json!({"kid": "k"}), "it is missing"),
            (
                serde_json::json!({"jwk": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}}),
                "it is not a supported public key",
            ),
        ] {
            let body = serde_json::json!({"sub": CLIENT, "exp": NOW + 60, "cnf": cnf});
            let attestation = raw_jwt(
                &f.provider,
                serde_json::json!({"typ": ATTESTATION_TYP, "alg": "ES256", "kid": "p1"}),
                body,
            )
            .await;
            assert_eq!(
                verify(&attestation, &pop, &f.expected()),
                Err(AttestationError::InvalidInstanceKey(reason))
            );
        }
        // Missing `sub` or `exp`.
        for (body, claim) in [
            (
                serde_json::json!({"exp": NOW + 60, "cnf": {"jwk": good_jwk}}),
                "sub",
            ),
            (
                serde_json::json!({"sub": CLIENT, "cnf": {"jwk": good_jwk}}),
                "exp",
            ),
        ] {
            let attestation = raw_jwt(
                &f.provider,
                serde_json::json!({"typ": ATTESTATION_TYP, "alg": "ES256", "kid": "p1"}),
                body,
            )
            .await;
            assert_eq!(
                verify(&attestation, &pop, &f.expected()),
                Err(AttestationError::InvalidClaim {
                    part: Part::Attestation,
                    claim
                })
            );
        }
        // Size limits.
        let huge = "a".repeat(MAX_ATTESTATION_LEN + 1);
        assert!(matches!(
            verify(&huge, &pop, &f.expected()),
            Err(AttestationError::TooLarge {
                part: Part::Attestation,
                ..
            })
        ));
        let huge = "a".repeat(MAX_POP_LEN + 1);
        assert!(matches!(
            verify(&attestation, &huge, &f.expected()),
            Err(AttestationError::TooLarge {
                part: Part::Pop,
                ..
            })
        ));
        // Extra claims may not shadow the typed ones.
        let mut shadow = claims(&f.instance);
        shadow.extra.insert("sub".into(), "x".into());
        assert!(matches!(
            create_attestation(&f.provider, &ProviderKeyId::None, &shadow).await,
            Err(AttestationError::Signing(_))
        ));
    }

    #[tokio::test]
    async fn x5c_chains_to_a_configured_anchor_are_trusted() {
        use rcgen::BasicConstraints;
        use rcgen::CertificateParams;
        use rcgen::DnType;
        use rcgen::IsCa;
        use rcgen::Issuer;
        use rcgen::KeyPair;
        use rcgen::KeyUsagePurpose;
        use rcgen::date_time_ymd;

        let mut root_params = CertificateParams::new(vec![]).unwrap();
        root_params
            .distinguished_name
            .push(DnType::CommonName, "wallet provider root");
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        root_params.not_before = date_time_ymd(2025, 1, 1);
        root_params.not_after = date_time_ymd(2030, 1, 1);
        let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let root = root_params.self_signed(&root_key).unwrap();

        let provider = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let provider_pkcs8 = provider.to_pkcs8_der().unwrap();
        let leaf_key = KeyPair::try_from(provider_pkcs8.as_slice()).unwrap();
        let mut leaf_params = CertificateParams::new(vec![]).unwrap();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "wallet provider");
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.not_before = date_time_ymd(2025, 1, 1);
        leaf_params.not_after = date_time_ymd(2027, 1, 1);
        let leaf = leaf_params
            .signed_by(&leaf_key, &Issuer::from_params(&root_params, &root_key))
            .unwrap();

        let mut anchors = TrustAnchors::new();
        anchors.add_der(root.der()).unwrap();
        let trust = WalletProviderTrust::new().with_x509(
            Arc::new(ChainValidator::new(anchors)),
            LeafProfile::DigitalSignature,
        );
        let instance = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let x5c = vec![b64::encode_std(leaf.der())];
        let attestation =
            create_attestation(&provider, &ProviderKeyId::X5c(x5c), &claims(&instance))
                .await
                .unwrap();
        let pop = create_pop(&instance, CLIENT, AS, None, NOW, None)
            .await
            .unwrap();
        let policy = AlgorithmPolicy::default();
        let expected = AttestationExpected {
            audience: AS,
            client_id: Some(CLIENT),
            now: NOW,
            max_pop_age: 60,
            leeway: 5,
            challenge: None,
            trust: &trust,
            algorithms: &policy,
        };
        assert_eq!(
            verify(&attestation, &pop, &expected).unwrap().client_id(),
            CLIENT
        );

        // The same chain against another anchor; or a chain whose leaf is not the signer.
        let mut other = TrustAnchors::new();
        let other_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        other
            .add_der(root_params.self_signed(&other_key).unwrap().der())
            .unwrap();
        let elsewhere = WalletProviderTrust::new().with_x509(
            Arc::new(ChainValidator::new(other)),
            LeafProfile::DigitalSignature,
        );
        let error = verify(
            &attestation,
            &pop,
            &AttestationExpected {
                trust: &elsewhere,
                ..expected.clone()
            },
        )
        .unwrap_err();
        assert!(
            matches!(error, AttestationError::UntrustedProvider(_)),
            "{error:?}"
        );
        let impostor = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let forged = create_attestation(
            &impostor,
            &ProviderKeyId::X5c(vec![b64::encode_std(leaf.der())]),
            &claims(&instance),
        )
        .await
        .unwrap();
        assert_eq!(
            verify(&forged, &pop, &expected),
            Err(AttestationError::BadSignature)
        );
        // After the leaf certificate expired (2027), the chain no longer vouches.
        let late = AttestationExpected {
            now: 1_830_000_000,
            ..expected.clone()
        };
        assert!(matches!(
            verify(&attestation, &pop, &late),
            Err(AttestationError::UntrustedProvider(_))
        ));
    }

    /// OpenID4VCI 1.0 Appendix E example wallet attestation (its `x5c` certificate trusted
    /// directly): the signature verifies and the claims are read; the draft -07 `iss` and
    /// `nbf` are honoured.
    #[test]
    fn openid4vci_wallet_attestation_example_verifies() {
        let text = include_str!("../../../../shared/vectors/oid4vci/wallet_attestation.jwt.txt");
        let token: String = text.split_whitespace().collect();
        let x5c = CompactJws::parse(&token)
            .unwrap()
            .header()
            .x5c
            .clone()
            .unwrap();
        let mut anchors = TrustAnchors::new();
        anchors.add_der(&b64::decode_std(&x5c[0]).unwrap()).unwrap();
        let trust = WalletProviderTrust::new()
            .with_x509(Arc::new(ChainValidator::new(anchors)), LeafProfile::Any);
        let policy = AlgorithmPolicy::default();
        let expected = AttestationExpected {
            audience: AS,
            client_id: Some("https://wallet.example.com"),
            now: 1_755_050_000,
            max_pop_age: 60,
            leeway: 5,
            challenge: None,
            trust: &trust,
            algorithms: &policy,
        };
        let attested = verify_attestation(&token, &expected).unwrap();
        assert_eq!(attested.client_id, "https://wallet.example.com");
        assert_eq!(
            attested.provider.as_deref(),
            Some("https://wallet-provider.example.com")
        );
        assert_eq!(attested.exp, 1_755_102_745);
        assert_eq!(attested.instance_key.crv.as_deref(), Some("P-256"));
        // Before its `nbf` (the certificate is valid from 50 s before it), and after its `exp`.
        let early = AttestationExpected {
            now: 1_755_023_547 - 20,
            ..expected.clone()
        };
        assert!(matches!(
            verify_attestation(&token, &early),
            Err(AttestationError::NotYetValid { .. })
        ));
        let late = AttestationExpected {
            now: 1_755_102_745 + 60,
            ..expected.clone()
        };
        assert!(matches!(
            verify_attestation(&token, &late),
            Err(AttestationError::Expired { .. })
        ));
    }
}
