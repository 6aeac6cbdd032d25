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
    const A: Part = Part::Attestation;
    const P: Part = Part::Pop;
    let now = expected.now;
    let leeway = expected.leeway;

    // The attestation.
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
        })?;
    let provider = string_claim(&claims, A, "iss")?;
    if let (Some(pinned), Some(iss)) = (&pinned_issuer, provider)
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
        provider: provider.map(str::to_owned),
        instance_jkt: instance_key.thumbprint(),
        instance_key,
        expires_at: exp,
        pop_jti: jti.to_owned(),
        pop_iat: iat,
        claims,
    })
}
