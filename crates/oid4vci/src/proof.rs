//! The `jwt` key proof (OpenID4VCI 1.0 Appendix F.1) and the key attestations it may carry
//! (Appendix D.1): [`create`] for wallets, [`verify`] for the issuer.
//!
//! What [`verify`] checks, in order: size; `typ` is [`PROOF_TYP`]; `alg` is in the allow-list;
//! the key is named by exactly one of `jwk` (a public key, no private members) or, with a
//! `key_attestation`, `kid` as an index into `attested_keys` (`x5c` and `trust_chain` are not
//! supported and refused); the signature; `aud` is the credential issuer; `iat` within the
//! window; `iss`, when present, is the client; a `nonce` when one is required; and a
//! `key_attestation`, when present or required, with its own `typ`, `alg`, trusted signer,
//! `exp`, `attested_keys` holding the proof key, and `nonce` equal to the proof's. Consuming the
//! nonce is the caller's (the store's atomic operation); the proof only reports it.

use eudi_trust::b64;
use eudi_trust::jwk::Jwk;
use eudi_trust::jws;
use eudi_trust::jws::CompactJws;
use eudi_trust::jws::Header;
use eudi_trust::key::AlgorithmPolicy;
use eudi_trust::key::Signer;
use eudi_trust::key::VerifyingKey;
use serde_json::Map;
use serde_json::Value;

use crate::metadata::KeyAttestationsRequired;

/// The `typ` of a key proof JWT (Appendix F.1).
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";
/// The `typ` of a key attestation JWT (Appendix D.1).
pub const KEY_ATTESTATION_TYP: &str = "key-attestation+jwt";
/// The longest key proof read (a key attestation in the header makes it larger than a DPoP
/// proof).
pub const MAX_PROOF_LEN: usize = 32 * 1024;
/// The most keys one key attestation may attest.
pub const MAX_ATTESTED_KEYS: usize = 16;
/// The longest `nonce` read.
pub const MAX_NONCE_LEN: usize = 512;

/// Header members that are private key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_KEY_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a key proof was refused. [`ProofError::is_nonce_error`] tells `invalid_nonce` apart
/// from `invalid_proof` (§8.3.1.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Longer than [`MAX_PROOF_LEN`].
    #[error("the key proof is too large")]
    TooLarge,
    /// Not a compact JWS with JSON header and claims.
    #[error("malformed key proof: {0}")]
    Malformed(String),
    /// `typ` is not [`PROOF_TYP`].
    #[error("the key proof's typ is not openid4vci-proof+jwt")]
    WrongType,
    /// `alg` is not allowed.
    #[error("the key proof's algorithm is not accepted")]
    Algorithm,
    /// The key is not named as Appendix F.1 asks, or is a private key, or is unsupported.
    #[error("the key proof's key is not acceptable: {0}")]
    Key(&'static str),
    /// The signature does not verify with the named key.
    #[error("the key proof's signature does not verify")]
    Signature,
    /// `aud` is missing or not the credential issuer.
    #[error("the key proof's aud is not this credential issuer")]
    Audience,
    /// `iat` is missing, too old or in the future; or `exp` has passed.
    #[error("the key proof is not within its time window")]
    Time,
    /// `iss` is present and not the client.
    #[error("the key proof's iss is not the client")]
    Issuer,
    /// The `nonce` is missing (when required) or malformed.
    #[error("the key proof has no valid nonce")]
    Nonce,
    /// The key attestation is missing (when required) or fails a check.
    #[error("the key attestation is not acceptable: {0}")]
    KeyAttestation(&'static str),
    /// Signing failed (wallet side only).
    #[error("signing the key proof failed: {0}")]
    Signing(String),
}

impl ProofError {
    /// Whether the answer is `invalid_nonce` rather than `invalid_proof`.
    pub fn is_nonce_error(&self) -> bool {
        matches!(self, Self::Nonce)
    }

    /// The OAuth error the credential endpoint answers with (§8.3.1.2).
    pub fn to_oauth(&self) -> eudi_oauth::OAuthError {
        let code = if self.is_nonce_error() {
            eudi_oauth::ErrorCode::InvalidNonce
        } else {
            eudi_oauth::ErrorCode::InvalidProof
        };
        eudi_oauth::OAuthError::new(code, self.to_string())
    }
}

/// The claims of a key proof to make.
#[derive(Clone, Copy, Debug)]
pub struct ProofClaims<'a> {
    /// The client id; `None` for anonymous pre-authorized access (Appendix F.1).
    pub iss: Option<&'a str>,
    /// The credential issuer identifier.
    pub aud: &'a str,
    /// The time of the proof.
    pub iat: i64,
    /// The `c_nonce` from the nonce endpoint.
    pub nonce: Option<&'a str>,
}

/// Makes a key proof signed by `key`. Without `key_attestation` the public key goes into the
/// header as `jwk`; with one, `kid` is `attested_key_index`, the key's place in the
/// attestation's `attested_keys` (Appendix F.1 example).
pub async fn create(
    key: &dyn Signer,
    claims: &ProofClaims<'_>,
    key_attestation: Option<(&str, usize)>,
) -> Result<String, ProofError> {
    let mut header = Header::new(key.algorithm(), Some(PROOF_TYP));
    match key_attestation {
        None => header.jwk = Some(key.verifying_key().to_jwk()),
        Some((attestation, index)) => {
            header.kid = Some(index.to_string());
            header
                .extra
                .insert("key_attestation".into(), attestation.into());
        }
    }
    let mut body = Map::new();
    if let Some(iss) = claims.iss {
        body.insert("iss".into(), iss.into());
    }
    body.insert("aud".into(), claims.aud.into());
    body.insert("iat".into(), claims.iat.into());
    if let Some(nonce) = claims.nonce {
        body.insert("nonce".into(), nonce.into());
    }
    let payload = serde_json::to_vec(&body).map_err(|e| ProofError::Signing(e.to_string()))?;
    jws::sign_compact(&header, &payload, key)
        .await
        .map_err(|e| ProofError::Signing(e.to_string()))
}

/// A key attestation issuer the credential issuer trusts (a wallet provider or key storage
/// component vendor).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationKey {
    /// Its verifying key.
    pub key: VerifyingKey,
    /// Its `kid`: when set, an attestation naming another `kid` is not checked with it.
    pub kid: Option<String>,
}

/// The key attestation issuers trusted; empty trusts none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyAttestationTrust {
    /// The trusted keys.
    pub keys: Vec<AttestationKey>,
}

/// What [`verify`] expects.
#[derive(Clone, Copy, Debug)]
pub struct ProofExpected<'a> {
    /// The credential issuer identifier (`aud`).
    pub audience: &'a str,
    /// The client the access token was issued to; `None` for anonymous access. When set, an
    /// `iss` must equal it; when `None`, `iss` is not checked.
    pub client_id: Option<&'a str>,
    /// The verifier's time.
    pub now: i64,
    /// Oldest `iat` accepted, seconds before `now`.
    pub max_age: i64,
    /// Clock skew allowed, both ways.
    pub leeway: i64,
    /// Whether a `nonce` is required (the issuer has a nonce endpoint, Appendix F.1).
    pub nonce_required: bool,
    /// Accepted algorithms of the proof and of key attestations.
    pub algorithms: &'a AlgorithmPolicy,
    /// Trusted key attestation issuers.
    pub attestation_trust: &'a KeyAttestationTrust,
    /// `Some` when the configuration requires key attestations.
    pub attestation_required: Option<&'a KeyAttestationsRequired>,
}

/// A key proof that passed every check of [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The key the proof was signed with.
    pub key: Jwk,
    /// Its RFC 7638 thumbprint.
    pub jkt: String,
    /// The proof's `nonce`, for the caller to consume.
    pub nonce: Option<String>,
    /// The proof's `iat`.
    pub iat: i64,
    /// The keys of a verified key attestation (the proof key among them); empty without one.
    pub attested_keys: Vec<Jwk>,
}

impl VerifiedProof {
    /// The keys to issue credentials for: every attested key, or the proof key (Appendix F.1:
    /// "SHOULD issue a Credential for each cryptographic public key specified in the
    /// `attested_keys`").
    pub fn holder_keys(&self) -> Vec<Jwk> {
        if self.attested_keys.is_empty() {
            vec![self.key.clone()]
        } else {
            self.attested_keys.clone()
        }
    }
}

fn raw_header(token: &str) -> Result<Map<String, Value>, ProofError> {
    let header_b64 = token
        .split('.')
        .next()
        .ok_or_else(|| ProofError::Malformed("no header".into()))?;
    let bytes = b64::decode(header_b64).map_err(|_| ProofError::Malformed("header".into()))?;
    serde_json::from_slice(&bytes).map_err(|_| ProofError::Malformed("header".into()))
}

fn has_private_members(jwk: &Value) -> bool {
    PRIVATE_KEY_MEMBERS
        .iter()
        .any(|member| jwk.get(member).is_some())
}

fn integer(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, ProofError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or(ProofError::Malformed(format!("`{name}` is not an integer"))),
    }
}

/// Verifies one key proof.
pub fn verify(token: &str, expected: &ProofExpected<'_>) -> Result<VerifiedProof, ProofError> {
    if token.len() > MAX_PROOF_LEN {
        return Err(ProofError::TooLarge);
    }
    let raw = raw_header(token)?;
    let jws = CompactJws::parse(token).map_err(|e| ProofError::Malformed(e.to_string()))?;
    let header = jws.header();
    header
        .require_typ(&[PROOF_TYP])
        .map_err(|_| ProofError::WrongType)?;
    let alg = header.algorithm().map_err(|_| ProofError::Algorithm)?;
    if !expected.algorithms.allows(alg) {
        return Err(ProofError::Algorithm);
    }
    if raw.contains_key("x5c") || raw.contains_key("trust_chain") {
        return Err(ProofError::Key("x5c and trust_chain are not supported"));
    }
    let attestation = match raw.get("key_attestation") {
        None => None,
        Some(Value::String(attestation)) => Some(verify_attestation(attestation, expected)?),
        Some(_) => return Err(ProofError::KeyAttestation("it is not a string")),
    };
    if attestation.is_none() && expected.attestation_required.is_some() {
        return Err(ProofError::KeyAttestation("a key attestation is required"));
    }
    let key = match (raw.get("jwk"), header.kid.as_deref(), &attestation) {
        (Some(jwk), None, _) => {
            if has_private_members(jwk) {
                return Err(ProofError::Key("the jwk holds private key members"));
            }
            let key = header
                .jwk
                .clone()
                .ok_or(ProofError::Key("the jwk is malformed"))?;
            if let Some(attestation) = &attestation {
                let jkt = key.thumbprint();
                if !attestation.keys.iter().any(|k| k.thumbprint() == jkt) {
                    return Err(ProofError::KeyAttestation(
                        "the proof key is not an attested key",
                    ));
                }
            }
            key
        }
        (None, Some(kid), Some(attestation)) => {
            let index: usize = kid
                .parse()
                .map_err(|_| ProofError::Key("kid is not an index into attested_keys"))?;
            attestation
                .keys
                .get(index)
                .cloned()
                .ok_or(ProofError::Key("kid is not an index into attested_keys"))?
        }
        (None, Some(_), None) => {
            return Err(ProofError::Key(
                "kid without a key attestation is not supported",
            ));
        }
        (Some(_), Some(_), _) => return Err(ProofError::Key("both jwk and kid are present")),
        (None, None, _) => return Err(ProofError::Key("no jwk")),
    };
    let verifying = key
        .to_verifying_key()
        .map_err(|_| ProofError::Key("the jwk is not a usable public key"))?;
    jws.verify(&verifying, expected.algorithms)
        .map_err(|_| ProofError::Signature)?;

    let claims = jws
        .payload_json()
        .map_err(|_| ProofError::Malformed("claims".into()))?;
    match claims.get("aud") {
        Some(Value::String(aud)) if aud == expected.audience => {}
        // `aud` may be an array of one (RFC 7519 §4.1.3); the issuer must be in it alone.
        Some(Value::Array(auds))
            if auds.len() == 1
                && auds.first().and_then(Value::as_str) == Some(expected.audience) => {}
        _ => return Err(ProofError::Audience),
    }
    let iat = integer(&claims, "iat")?.ok_or(ProofError::Time)?;
    if iat > expected.now.saturating_add(expected.leeway)
        || iat
            < expected
                .now
                .saturating_sub(expected.max_age)
                .saturating_sub(expected.leeway)
    {
        return Err(ProofError::Time);
    }
    if integer(&claims, "exp")?
        .is_some_and(|exp| exp <= expected.now.saturating_sub(expected.leeway))
    {
        return Err(ProofError::Time);
    }
    match (claims.get("iss"), expected.client_id) {
        (None, _) | (Some(_), None) => {}
        (Some(Value::String(iss)), Some(client_id)) if iss == client_id => {}
        (Some(_), Some(_)) => return Err(ProofError::Issuer),
    }
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) if !nonce.is_empty() && nonce.len() <= MAX_NONCE_LEN => {
            Some(nonce.clone())
        }
        Some(_) => return Err(ProofError::Nonce),
    };
    if expected.nonce_required && nonce.is_none() {
        return Err(ProofError::Nonce);
    }
    if let Some(attestation) = &attestation {
        // Appendix F.1: with a server c_nonce, the attestation's nonce is that c_nonce; it is
        // bound to this proof's, so one consumption covers both.
        if expected.nonce_required && attestation.nonce.as_deref() != nonce.as_deref() {
            return Err(ProofError::KeyAttestation(
                "its nonce is not the proof's c_nonce",
            ));
        }
    }
    let jkt = key.thumbprint();
    Ok(VerifiedProof {
        key,
        jkt,
        nonce,
        iat,
        attested_keys: attestation.map(|a| a.keys).unwrap_or_default(),
    })
}

struct Attestation {
    keys: Vec<Jwk>,
    nonce: Option<String>,
}

fn verify_attestation(
    token: &str,
    expected: &ProofExpected<'_>,
) -> Result<Attestation, ProofError> {
    use ProofError::KeyAttestation as Refused;

    let jws = CompactJws::parse(token).map_err(|_| Refused("malformed"))?;
    let header = jws.header();
    header
        .require_typ(&[KEY_ATTESTATION_TYP])
        .map_err(|_| Refused("its typ is not key-attestation+jwt"))?;
    let alg = header
        .algorithm()
        .map_err(|_| Refused("its alg is not accepted"))?;
    if !expected.algorithms.allows(alg) {
        return Err(Refused("its alg is not accepted"));
    }
    let trusted = expected
        .attestation_trust
        .keys
        .iter()
        .filter(|trusted| match (&trusted.kid, &header.kid) {
            (Some(kid), Some(named)) => kid == named,
            _ => true,
        })
        .any(|trusted| jws.verify(&trusted.key, expected.algorithms).is_ok());
    if !trusted {
        return Err(Refused("it is not signed by a trusted key"));
    }
    let claims = jws
        .payload_json()
        .map_err(|_| Refused("malformed claims"))?;
    let iat = integer(&claims, "iat")
        .map_err(|_| Refused("iat is not an integer"))?
        .ok_or(Refused("it has no iat"))?;
    if iat > expected.now.saturating_add(expected.leeway) {
        return Err(Refused("it is issued in the future"));
    }
    // Appendix D.1: `exp` "MUST be present if the attestation is used with the JWT proof type".
    let exp = integer(&claims, "exp")
        .map_err(|_| Refused("exp is not an integer"))?
        .ok_or(Refused("it has no exp"))?;
    if exp <= expected.now.saturating_sub(expected.leeway) {
        return Err(Refused("it has expired"));
    }
    let keys = match claims.get("attested_keys") {
        Some(Value::Array(keys)) if !keys.is_empty() && keys.len() <= MAX_ATTESTED_KEYS => keys,
        _ => {
            return Err(Refused(
                "attested_keys is not a non-empty array within limits",
            ));
        }
    };
    let mut attested = Vec::with_capacity(keys.len());
    for key in keys {
        if has_private_members(key) {
            return Err(Refused("an attested key holds private key members"));
        }
        let jwk: Jwk = serde_json::from_value(key.clone())
            .map_err(|_| Refused("an attested key is malformed"))?;
        jwk.to_verifying_key()
            .map_err(|_| Refused("an attested key is not a usable public key"))?;
        attested.push(jwk);
    }
    if let Some(required) = expected.attestation_required {
        for (name, accepted) in [
            ("key_storage", &required.key_storage),
            ("user_authentication", &required.user_authentication),
        ] {
            if accepted.is_empty() {
                continue;
            }
            let asserted = claims.get(name).and_then(Value::as_array);
            let meets = asserted.is_some_and(|values| {
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|value| accepted.iter().any(|a| a == value))
            });
            if !meets {
                return Err(Refused(
                    "its key_storage or user_authentication is not accepted",
                ));
            }
        }
    }
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) => Some(nonce.clone()),
        Some(_) => return Err(Refused("its nonce is not a string")),
    };
    Ok(Attestation {
        keys: attested,
        nonce,
    })
}

#[cfg(test)]
mod tests {
    use eudi_trust::key::Algorithm;
    use eudi_trust::key::SoftwareKey;
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "https://issuer.example";
    const NOW: i64 = 1_800_000_000;

    fn key() -> SoftwareKey {
        SoftwareKey::generate(Algorithm::Es256).unwrap()
    }

    struct Setup {
        policy: AlgorithmPolicy,
        trust: KeyAttestationTrust,
        required: Option<KeyAttestationsRequired>,
    }

    impl Setup {
        fn new() -> Self {
            Self {
                policy: AlgorithmPolicy::default(),
                trust: KeyAttestationTrust::default(),
                required: None,
            }
        }

        fn expected(&self) -> ProofExpected<'_> {
            ProofExpected {
                audience: ISSUER,
                client_id: Some("wallet"),
                now: NOW,
                max_age: 300,
                leeway: 30,
                nonce_required: true,
                algorithms: &self.policy,
                attestation_trust: &self.trust,
                attestation_required: self.required.as_ref(),
            }
        }
    }

    fn claims(nonce: Option<&str>) -> ProofClaims<'_> {
        ProofClaims {
            iss: Some("wallet"),
            aud: ISSUER,
            iat: NOW,
            nonce,
        }
    }

    /// Signs `header` exactly as given (a `Header` would drop members such as a `jwk`'s `d`).
    async fn raw(key: &SoftwareKey, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            b64::encode(header.to_string()),
            b64::encode(claims.to_string())
        );
        let signature = key.sign(input.as_bytes()).await.unwrap();
        format!("{input}.{}", b64::encode(signature))
    }

    #[tokio::test]
    async fn a_proof_made_here_verifies() {
        let holder = key();
        let setup = Setup::new();
        let proof = create(&holder, &claims(Some("n1")), None).await.unwrap();
        let verified = verify(&proof, &setup.expected()).unwrap();
        assert_eq!(verified.key, holder.verifying_key().to_jwk());
        assert_eq!(verified.nonce.as_deref(), Some("n1"));
        assert_eq!(verified.holder_keys(), [holder.verifying_key().to_jwk()]);
    }

    #[tokio::test]
    async fn wrong_aud_time_iss_and_nonce_are_refused() {
        let holder = key();
        let setup = Setup::new();
        let expected = setup.expected();
        let cases = [
            (
                ProofClaims {
                    aud: "https://other.example",
                    ..claims(Some("n"))
                },
                ProofError::Audience,
            ),
            (
                ProofClaims {
                    iat: NOW - 400,
                    ..claims(Some("n"))
                },
                ProofError::Time,
            ),
            (
                ProofClaims {
                    iat: NOW + 60,
                    ..claims(Some("n"))
                },
                ProofError::Time,
            ),
            (
                ProofClaims {
                    iss: Some("intruder"),
                    ..claims(Some("n"))
                },
                ProofError::Issuer,
            ),
            (claims(None), ProofError::Nonce),
        ];
        for (claims, error) in cases {
            let proof = create(&holder, &claims, None).await.unwrap();
            assert_eq!(verify(&proof, &expected).unwrap_err(), error);
        }
        let proof = create(&holder, &claims(None), None).await.unwrap();
        let relaxed = ProofExpected {
            nonce_required: false,
            client_id: None,
            ..expected
        };
        assert!(verify(&proof, &relaxed).is_ok());
        assert!(ProofError::Nonce.to_oauth().code == eudi_oauth::ErrorCode::InvalidNonce);
        assert!(ProofError::Audience.to_oauth().code == eudi_oauth::ErrorCode::InvalidProof);
    }

    #[tokio::test]
    async fn typ_alg_key_and_signature_rules() {
        let holder = key();
        let other = key();
        let setup = Setup::new();
        let expected = setup.expected();
        let jwk = serde_json::to_value(holder.verifying_key().to_jwk()).unwrap();
        let body = json!({"aud": ISSUER, "iat": NOW, "nonce": "n"});
        let typ = raw(
            &holder,
            json!({"alg":"ES256","typ":"JWT","jwk":jwk}),
            body.clone(),
        )
        .await;
        assert_eq!(verify(&typ, &expected).unwrap_err(), ProofError::WrongType);
        let no_key = raw(
            &holder,
            json!({"alg":"ES256","typ":PROOF_TYP}),
            body.clone(),
        )
        .await;
        assert!(matches!(
            verify(&no_key, &expected),
            Err(ProofError::Key(_))
        ));
        let kid = raw(
            &holder,
            json!({"alg":"ES256","typ":PROOF_TYP,"kid":"0"}),
            body.clone(),
        )
        .await;
        assert!(matches!(verify(&kid, &expected), Err(ProofError::Key(_))));
        let x5c = raw(
            &holder,
            json!({"alg":"ES256","typ":PROOF_TYP,"jwk":jwk,"x5c":["AA"]}),
            body.clone(),
        )
        .await;
        assert!(matches!(verify(&x5c, &expected), Err(ProofError::Key(_))));
        let mut private = jwk.clone();
        private["d"] = "AAAA".into();
        let private = raw(
            &holder,
            json!({"alg":"ES256","typ":PROOF_TYP,"jwk":private}),
            body.clone(),
        )
        .await;
        assert!(matches!(
            verify(&private, &expected),
            Err(ProofError::Key(_))
        ));
        // A key that signed nothing: the header names `other`, `holder` signed.
        let other_jwk = serde_json::to_value(other.verifying_key().to_jwk()).unwrap();
        let wrong = raw(
            &holder,
            json!({"alg":"ES256","typ":PROOF_TYP,"jwk":other_jwk}),
            body.clone(),
        )
        .await;
        assert_eq!(
            verify(&wrong, &expected).unwrap_err(),
            ProofError::Signature
        );
        let p384 = SoftwareKey::generate(Algorithm::Es384).unwrap();
        let proof = create(&p384, &claims(Some("n")), None).await.unwrap();
        assert_eq!(
            verify(&proof, &expected).unwrap_err(),
            ProofError::Algorithm
        );
        let none = format!(
            "{}.{}.",
            b64::encode(json!({"alg":"none","typ":PROOF_TYP,"jwk":jwk}).to_string()),
            b64::encode(body.to_string())
        );
        assert!(verify(&none, &expected).is_err());
        let huge = "a".repeat(MAX_PROOF_LEN + 1);
        assert_eq!(verify(&huge, &expected).unwrap_err(), ProofError::TooLarge);
    }

    async fn attestation(provider: &SoftwareKey, keys: &[&SoftwareKey], extra: Value) -> String {
        let mut body = json!({
            "iss": "https://wallet-provider.example",
            "iat": NOW - 10,
            "exp": NOW + 3600,
            "nonce": "n",
            "key_storage": ["iso_18045_high"],
            "attested_keys": keys
                .iter()
                .map(|k| serde_json::to_value(k.verifying_key().to_jwk()).unwrap())
                .collect::<Vec<_>>(),
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (name, value) in extra {
                body.insert(name.clone(), value.clone());
            }
        }
        raw(
            provider,
            json!({"alg":"ES256","typ":KEY_ATTESTATION_TYP}),
            body,
        )
        .await
    }

    #[tokio::test]
    async fn key_attestations_are_checked() {
        let provider = key();
        let first = key();
        let second = key();
        let mut setup = Setup::new();
        setup.trust.keys.push(AttestationKey {
            key: provider.verifying_key().clone(),
            kid: None,
        });
        setup.required = Some(KeyAttestationsRequired {
            key_storage: vec!["iso_18045_high".into()],
            user_authentication: Vec::new(),
        });
        let good = attestation(&provider, &[&first, &second], json!({})).await;
        let proof = create(&second, &claims(Some("n")), Some((&good, 1)))
            .await
            .unwrap();
        let verified = verify(&proof, &setup.expected()).unwrap();
        assert_eq!(verified.key, second.verifying_key().to_jwk());
        assert_eq!(verified.holder_keys().len(), 2);

        // Required but absent.
        let plain = create(&first, &claims(Some("n")), None).await.unwrap();
        assert!(matches!(
            verify(&plain, &setup.expected()),
            Err(ProofError::KeyAttestation(_))
        ));
        // The kid points at a key that did not sign.
        let proof = create(&second, &claims(Some("n")), Some((&good, 0)))
            .await
            .unwrap();
        assert_eq!(
            verify(&proof, &setup.expected()).unwrap_err(),
            ProofError::Signature
        );
        // Untrusted provider.
        let rogue = attestation(&key(), &[&first], json!({})).await;
        let proof = create(&first, &claims(Some("n")), Some((&rogue, 0)))
            .await
            .unwrap();
        assert!(matches!(
            verify(&proof, &setup.expected()),
            Err(ProofError::KeyAttestation(_))
        ));
        for extra in [
            json!({"exp": NOW - 100}),
            json!({"nonce": "other"}),
            json!({"key_storage": ["iso_18045_basic"]}),
            json!({"attested_keys": []}),
        ] {
            let bad = attestation(&provider, &[&first], extra.clone()).await;
            let proof = create(&first, &claims(Some("n")), Some((&bad, 0)))
                .await
                .unwrap();
            assert!(
                matches!(
                    verify(&proof, &setup.expected()),
                    Err(ProofError::KeyAttestation(_))
                ),
                "{extra}"
            );
        }
    }
}
