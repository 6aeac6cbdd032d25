//! Compact JWS (RFC 7515 §7.1) with the checks RFC 8725 asks of every JWT consumer.
//!
//! Parsing is separate from verification: [`CompactJws::parse`] splits and decodes the token so
//! the caller can pick the key (from `x5c`, `kid`, `jwk` or configuration); only
//! [`CompactJws::verify`] says the signature is good. `alg` is checked against an explicit
//! [`AlgorithmPolicy`] and against the key, never taken from the token alone.

use std::fmt;

use aws_lc_rs::digest;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Map;
use serde_json::Value;

use crate::b64;
use crate::code::ErrorCode;
use crate::code::HasErrorCode;
use crate::jwk::Jwk;
use crate::key::Algorithm;
use crate::key::AlgorithmPolicy;
use crate::key::KeyError;
use crate::key::Signer;
use crate::key::VerifyingKey;

/// Why a JWS was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwsError {
    /// The token is not three base64url parts separated by dots, or a part does not decode.
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    /// The header is not a JSON object of the expected shape.
    #[error("malformed JWS header: {0}")]
    MalformedHeader(String),
    /// `alg` is `none`, an HMAC algorithm, or otherwise not supported.
    #[error("JWS algorithm `{0}` is not accepted")]
    UnsupportedAlgorithm(String),
    /// `alg` is supported but not allowed by the verifier's policy.
    #[error("JWS algorithm {0} is not allowed by policy")]
    AlgorithmNotAllowed(Algorithm),
    /// `alg` does not match the key that must verify it.
    #[error("JWS algorithm {header} does not match the {key} key")]
    AlgorithmKeyMismatch {
        /// Algorithm in the header.
        header: Algorithm,
        /// Algorithm of the key.
        key: Algorithm,
    },
    /// The header's `crit` names extensions this verifier does not understand; none is
    /// understood here, so any well-formed `crit` ends here (RFC 7515 §4.1.11).
    #[error("JWS header has critical extensions this verifier does not understand: {0}")]
    UnsupportedCritical(String),
    /// The header's `crit` is not a non-empty array of distinct extension names (it is `null`,
    /// empty, repeats a name, or names a parameter the JWS/JWE specifications define).
    #[error("JWS header `crit` is not valid: {0}")]
    InvalidCritical(&'static str),
    /// `typ` is not the one the profile requires.
    #[error("JWS `typ` is {found:?}, expected {expected}")]
    WrongType {
        /// What the header said.
        found: Option<String>,
        /// What was required.
        expected: String,
    },
    /// The signature does not verify.
    #[error("JWS signature does not verify")]
    BadSignature,
    /// Signing failed (this side's signer; a peer cannot cause it).
    #[error("signing failed: {0}")]
    Signing(#[from] KeyError),
    /// An internal invariant of this module broke (a bug, never the peer's fault).
    #[error("internal JWS error: {0}")]
    Internal(&'static str),
}

impl HasErrorCode for JwsError {
    /// Verification faults get the peer-facing codes; [`JwsError::Signing`] and
    /// [`JwsError::Internal`] come from this side only, so they are [`ErrorCode::Internal`].
    fn code(&self) -> ErrorCode {
        match self {
            Self::Malformed(_) | Self::MalformedHeader(_) => ErrorCode::Malformed,
            Self::UnsupportedAlgorithm(_)
            | Self::AlgorithmNotAllowed(_)
            | Self::AlgorithmKeyMismatch { .. } => ErrorCode::UnsupportedAlgorithm,
            Self::UnsupportedCritical(_) | Self::InvalidCritical(_) => ErrorCode::Malformed,
            Self::WrongType { .. } => ErrorCode::WrongType,
            Self::BadSignature => ErrorCode::InvalidSignature,
            Self::Signing(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// The protected header members this workspace reads. Others are kept in `extra`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Signature algorithm.
    pub alg: String,
    /// Media type of the whole token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Key identifier. RFC 7515 §4.1.4 makes it a string; some issuers send a number, which is
    /// read as its decimal string since `kid` is only a hint for choosing a key.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub kid: Option<String>,
    /// X.509 chain, leaf first, each entry standard base64 DER (RFC 7515 §4.1.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// Embedded public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwk: Option<Jwk>,
    /// Critical extensions (RFC 7515 §4.1.11). A present `crit: null` is read as an empty list,
    /// so that [`Header::check_crit`] (and any `is_some` check) refuses it instead of taking
    /// it for an absent member; a member that is not a string fails deserialization.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crit_member"
    )]
    pub crit: Option<Vec<String>>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(serde::de::Error::custom("`kid` must be a string")),
    }
}

/// Reads a present `crit` member: `null` becomes an empty list (invalid, see
/// [`Header::check_crit`]), anything but an array of strings is an error.
fn crit_member<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Option::<Vec<Value>>::deserialize(d)? {
        None => Ok(Some(Vec::new())),
        Some(names) => names
            .into_iter()
            .map(|name| match name {
                Value::String(name) => Ok(name),
                _ => Err(serde::de::Error::custom(
                    "`crit` must be an array of strings (RFC 7515 §4.1.11)",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
    }
}

/// Header parameter names the JWS (RFC 7515 §4.1), JWE (RFC 7516 §4.1) and JWA (RFC 7518
/// §4.6.1, §4.7.1, §4.8.1) specifications define: RFC 7515 §4.1.11 forbids listing them in
/// `crit`.
const REGISTERED_HEADER_NAMES: [&str; 20] = [
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc",
    "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c",
];

impl Header {
    /// Applies RFC 7515 §4.1.11 to `crit`: when present it must be a non-empty array of
    /// distinct names that are not defined by the JWS/JWE/JWA specifications, and each must be
    /// an extension the recipient understands. This implementation understands none, so every
    /// present `crit` is an error, the malformed ones ([`JwsError::InvalidCritical`]) told
    /// apart from the well-formed ones ([`JwsError::UnsupportedCritical`]).
    pub fn check_crit(&self) -> Result<(), JwsError> {
        let Some(crit) = &self.crit else {
            return Ok(());
        };
        if crit.is_empty() {
            return Err(JwsError::InvalidCritical(
                "it must be a non-empty array (RFC 7515 §4.1.11)",
            ));
        }
        let mut names: Vec<&str> = crit.iter().map(String::as_str).collect();
        names.sort_unstable();
        if names.windows(2).any(|pair| pair.first() == pair.last()) {
            return Err(JwsError::InvalidCritical("it names a parameter twice"));
        }
        if names
            .iter()
            .any(|name| REGISTERED_HEADER_NAMES.contains(name))
        {
            return Err(JwsError::InvalidCritical(
                "it names a header parameter the JWS or JWE specifications define",
            ));
        }
        Err(JwsError::UnsupportedCritical(crit.join(", ")))
    }

    /// A header for `alg` and `typ`.
    pub fn new(alg: Algorithm, typ: Option<&str>) -> Self {
        Self {
            alg: alg.jose_name().into(),
            typ: typ.map(Into::into),
            ..Self::default()
        }
    }

    /// The parsed algorithm; `none`, HMAC and unknown algorithms are errors.
    pub fn algorithm(&self) -> Result<Algorithm, JwsError> {
        Algorithm::from_jose(&self.alg)
            .ok_or_else(|| JwsError::UnsupportedAlgorithm(self.alg.clone()))
    }

    /// Requires `typ` to be one of `accepted` (compared case-insensitively, RFC 7515 §4.1.9).
    pub fn require_typ(&self, accepted: &[&str]) -> Result<(), JwsError> {
        match &self.typ {
            Some(typ) if accepted.iter().any(|a| a.eq_ignore_ascii_case(typ)) => Ok(()),
            found => Err(JwsError::WrongType {
                found: found.clone(),
                expected: accepted.join(" or "),
            }),
        }
    }
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct CompactJws<'a> {
    signing_input: &'a str,
    payload_b64: &'a str,
    header: Header,
    signature: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Splits and decodes a compact JWS. Nothing is trusted yet.
    pub fn parse(token: &'a str) -> Result<Self, JwsError> {
        let (signing_input, signature_b64) = token
            .rsplit_once('.')
            .ok_or(JwsError::Malformed("expected three dot-separated parts"))?;
        let (header_b64, payload_b64) = signing_input
            .split_once('.')
            .ok_or(JwsError::Malformed("expected three dot-separated parts"))?;
        if payload_b64.contains('.') {
            return Err(JwsError::Malformed("expected three dot-separated parts"));
        }
        let header_bytes =
            b64::decode(header_b64).map_err(|_| JwsError::Malformed("header is not base64url"))?;
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|e| JwsError::MalformedHeader(e.to_string()))?;
        header.check_crit()?;
        let signature = b64::decode(signature_b64)
            .map_err(|_| JwsError::Malformed("signature is not base64url"))?;
        Ok(Self {
            signing_input,
            payload_b64,
            header,
            signature,
        })
    }

    /// The protected header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// `BASE64URL(header) || '.' || BASE64URL(payload)`.
    pub fn signing_input(&self) -> &'a str {
        self.signing_input
    }

    /// The payload, still base64url encoded.
    pub fn payload_b64(&self) -> &'a str {
        self.payload_b64
    }

    /// The decoded payload bytes.
    pub fn payload(&self) -> Result<Vec<u8>, JwsError> {
        b64::decode(self.payload_b64).map_err(|_| JwsError::Malformed("payload is not base64url"))
    }

    /// The decoded payload parsed as a JSON object.
    pub fn payload_json(&self) -> Result<Map<String, Value>, JwsError> {
        serde_json::from_slice(&self.payload()?)
            .map_err(|_| JwsError::Malformed("payload is not a JSON object"))
    }

    /// Verifies the signature with `key`, checking `alg` against the key and `policy` first.
    pub fn verify(&self, key: &VerifyingKey, policy: &AlgorithmPolicy) -> Result<(), JwsError> {
        verify_parts(
            &self.header,
            self.signing_input.as_bytes(),
            &self.signature,
            key,
            policy,
        )
    }
}

/// Checks `alg` and the signature over `signing_input`; shared by the compact and JSON forms.
pub fn verify_parts(
    header: &Header,
    signing_input: &[u8],
    signature: &[u8],
    key: &VerifyingKey,
    policy: &AlgorithmPolicy,
) -> Result<(), JwsError> {
    check_algorithm(header, key, policy)?;
    key.verify(signing_input, signature)
        .map_err(|_| JwsError::BadSignature)
}

/// The header's `alg`, if `policy` allows it and it is `key`'s algorithm (RFC 8725 §3.1): the
/// check to make before verifying a signature some other way (e.g. over a digest the caller
/// computed with [`Algorithm::digest_algorithm`]).
pub fn check_algorithm(
    header: &Header,
    key: &VerifyingKey,
    policy: &AlgorithmPolicy,
) -> Result<Algorithm, JwsError> {
    let alg = header.algorithm()?;
    if !policy.allows(alg) {
        return Err(JwsError::AlgorithmNotAllowed(alg));
    }
    if alg != key.algorithm() {
        return Err(JwsError::AlgorithmKeyMismatch {
            header: alg,
            key: key.algorithm(),
        });
    }
    Ok(alg)
}

/// Signs `payload` under `header` (whose `alg` is set from the signer) as a compact JWS.
pub async fn sign_compact(
    header: &Header,
    payload: &[u8],
    signer: &dyn Signer,
) -> Result<String, JwsError> {
    let mut out = Vec::new();
    PreparedHeader::new(header, signer.algorithm())?
        .sign_into(payload, signer, &mut out)
        .await?;
    String::from_utf8(out).map_err(|_| JwsError::Internal("signed JWS is not ASCII"))
}

/// A protected header encoded once, with the hash state after `BASE64URL(header) || '.'`.
///
/// Everything an issuer signs carries the same header (`alg`, `typ`, `kid` or an `x5c` chain of
/// a kilobyte or more), so preparing it once leaves only the payload to encode and hash per
/// signature. Every compact JWS made here goes through [`PreparedHeader::sign_into`].
#[derive(Clone)]
pub struct PreparedHeader {
    alg: Algorithm,
    encoded: String,
    /// SHA-2 state after absorbing `encoded` and the `.` separator.
    prefix: digest::Context,
}

impl fmt::Debug for PreparedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedHeader")
            .field("alg", &self.alg)
            .field("encoded", &self.encoded)
            .finish_non_exhaustive()
    }
}

impl PreparedHeader {
    /// Encodes `header` with its `alg` set to `alg`.
    pub fn new(header: &Header, alg: Algorithm) -> Result<Self, JwsError> {
        let mut header = header.clone();
        header.alg = alg.jose_name().into();
        let json =
            serde_json::to_vec(&header).map_err(|e| JwsError::MalformedHeader(e.to_string()))?;
        Ok(Self::from_json(&json, alg))
    }

    /// Uses already-serialized header JSON; the caller guarantees it names `alg`.
    pub fn from_json(header_json: &[u8], alg: Algorithm) -> Self {
        let encoded = b64::encode(header_json);
        let mut prefix = digest::Context::new(alg.digest_algorithm());
        prefix.update(encoded.as_bytes());
        prefix.update(b".");
        Self {
            alg,
            encoded,
            prefix,
        }
    }

    /// The algorithm the header names.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// `BASE64URL(UTF8(header))`.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// Appends the compact JWS `header.payload.signature` of `payload` (JSON bytes) to `out`.
    /// The signer must use the header's algorithm. A software signer's future is ready, so
    /// awaiting this costs what the synchronous version did (see [`crate::key::SignFuture`]).
    pub async fn sign_into(
        &self,
        payload: &[u8],
        signer: &dyn Signer,
        out: &mut Vec<u8>,
    ) -> Result<(), JwsError> {
        if signer.algorithm() != self.alg {
            return Err(JwsError::AlgorithmKeyMismatch {
                header: self.alg,
                key: signer.algorithm(),
            });
        }
        let sig_len = 2 * self.alg.field_len();
        out.reserve(self.encoded.len() + (payload.len() + sig_len) * 4 / 3 + 8);
        let start = out.len();
        out.extend_from_slice(self.encoded.as_bytes());
        out.push(b'.');
        let payload_start = out.len();
        b64::encode_into_vec(payload, out);
        // Both offsets were taken from `out` above, so these are always `Some`; a broken
        // invariant is an error, never an empty (and validly signable) slice.
        let encoded_payload = out
            .get(payload_start..)
            .ok_or(JwsError::Internal("payload offset is outside the output"))?;
        let mut hash = self.prefix.clone();
        hash.update(encoded_payload);
        let digest = hash.finish();
        let signature = match signer.sign_digest(&digest) {
            Some(signature) => signature.await?,
            None => {
                let signing_input = out
                    .get(start..)
                    .ok_or(JwsError::Internal("token offset is outside the output"))?;
                signer.sign(signing_input).await?
            }
        };
        out.push(b'.');
        b64::encode_into_vec(&signature, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SoftwareKey;

    async fn token(key: &SoftwareKey) -> String {
        sign_compact(
            &Header::new(Algorithm::Es256, Some("JWT")),
            br#"{"a":1}"#,
            key,
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn sign_parse_verify() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let t = token(&key).await;
        let jws = CompactJws::parse(&t).unwrap();
        assert_eq!(jws.header().typ.as_deref(), Some("JWT"));
        assert_eq!(jws.payload_json().unwrap()["a"], 1);
        jws.verify(key.verifying_key(), &AlgorithmPolicy::default())
            .unwrap();
    }

    /// A signer that only signs whole messages, like an HSM without a raw-digest mechanism.
    #[derive(Debug)]
    struct MessageOnly(SoftwareKey);

    impl Signer for MessageOnly {
        fn algorithm(&self) -> Algorithm {
            self.0.algorithm()
        }
        fn verifying_key(&self) -> &VerifyingKey {
            self.0.verifying_key()
        }
        fn sign<'a>(&'a self, message: &'a [u8]) -> crate::key::SignFuture<'a> {
            // Like a device that does I/O: a boxed future that is not ready when created.
            crate::key::SignFuture::boxed(async move {
                tokio::task::yield_now().await;
                self.0.sign(message).await
            })
        }
    }

    #[tokio::test]
    async fn prepared_header_signs_many_payloads() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let header = Header::new(Algorithm::Es256, Some("dc+sd-jwt"));
        let prepared = PreparedHeader::new(&header, Algorithm::Es256).unwrap();
        let message_only = MessageOnly(SoftwareKey::generate(Algorithm::Es256).unwrap());
        for (payload, signer) in [
            (&br#"{"a":1}"#[..], &key as &dyn Signer),
            (br#"{"b":2}"#, &key),
            (br#"{"c":3}"#, &message_only),
        ] {
            let mut out = b"prefix:".to_vec();
            prepared.sign_into(payload, signer, &mut out).await.unwrap();
            let token = std::str::from_utf8(&out[7..]).unwrap();
            assert!(token.starts_with(prepared.encoded()));
            let jws = CompactJws::parse(token).unwrap();
            assert_eq!(jws.payload().unwrap(), payload);
            assert_eq!(jws.header().typ.as_deref(), Some("dc+sd-jwt"));
            jws.verify(signer.verifying_key(), &AlgorithmPolicy::default())
                .unwrap();
        }
        // The header's algorithm and the signer's must agree.
        let p384 = SoftwareKey::generate(Algorithm::Es384).unwrap();
        assert!(matches!(
            prepared.sign_into(b"{}", &p384, &mut Vec::new()).await,
            Err(JwsError::AlgorithmKeyMismatch { .. })
        ));
    }

    #[tokio::test]
    async fn tampered_payload_fails() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let t = token(&key).await;
        let mut parts: Vec<&str> = t.split('.').collect();
        let other = b64::encode(br#"{"a":2}"#);
        parts[1] = &other;
        let tampered = parts.join(".");
        let jws = CompactJws::parse(&tampered).unwrap();
        assert_eq!(
            jws.verify(key.verifying_key(), &AlgorithmPolicy::default()),
            Err(JwsError::BadSignature)
        );
    }

    #[test]
    fn alg_none_and_hmac_are_rejected() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        for alg in ["none", "HS256", "RS384", "PS256"] {
            let header = b64::encode(format!(r#"{{"alg":"{alg}"}}"#));
            let t = format!("{header}.{}.", b64::encode(b"{}"));
            let jws = CompactJws::parse(&t).unwrap();
            assert_eq!(
                jws.verify(key.verifying_key(), &AlgorithmPolicy::default()),
                Err(JwsError::UnsupportedAlgorithm(alg.into()))
            );
        }
        // RS256 is known (verify-only) but never accepted unless a policy allows it.
        let header = b64::encode(r#"{"alg":"RS256"}"#);
        let t = format!("{header}.{}.", b64::encode(b"{}"));
        let jws = CompactJws::parse(&t).unwrap();
        assert_eq!(
            jws.verify(key.verifying_key(), &AlgorithmPolicy::default()),
            Err(JwsError::AlgorithmNotAllowed(Algorithm::Rs256))
        );
    }

    fn rsa_token(pair: &aws_lc_rs::signature::RsaKeyPair, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64::encode(header), b64::encode(payload));
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
        format!("{input}.{}", b64::encode(sig))
    }

    #[tokio::test]
    async fn rs256_jws_verifies_only_when_allowed() {
        use aws_lc_rs::signature::KeyPair as _;

        let pair =
            aws_lc_rs::signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let public = pair.public_key();
        let jwk = Jwk::rsa(
            b64::encode(public.modulus().big_endian_without_leading_zero()),
            b64::encode(public.exponent().big_endian_without_leading_zero()),
        );
        let key = jwk.to_verifying_key().unwrap();
        let t = rsa_token(&pair, r#"{"alg":"RS256","kid":"k1"}"#, r#"{"sub":"x"}"#);
        let jws = CompactJws::parse(&t).unwrap();
        let oidc = AlgorithmPolicy::new([Algorithm::Rs256, Algorithm::Es256]);
        jws.verify(&key, &oidc).unwrap();
        assert_eq!(
            jws.verify(&key, &AlgorithmPolicy::default()),
            Err(JwsError::AlgorithmNotAllowed(Algorithm::Rs256))
        );

        // Tampered payload.
        let mut parts: Vec<&str> = t.split('.').collect();
        let other = b64::encode(r#"{"sub":"y"}"#);
        parts[1] = &other;
        let tampered = parts.join(".");
        assert_eq!(
            CompactJws::parse(&tampered).unwrap().verify(&key, &oidc),
            Err(JwsError::BadSignature)
        );

        // An RS256 header cannot be checked with an EC key, nor ES256 with an RSA key.
        let ec = SoftwareKey::generate(Algorithm::Es256).unwrap();
        assert!(matches!(
            jws.verify(ec.verifying_key(), &oidc),
            Err(JwsError::AlgorithmKeyMismatch { .. })
        ));
        let es = sign_compact(&Header::new(Algorithm::Es256, None), b"{}", &ec)
            .await
            .unwrap();
        assert!(matches!(
            CompactJws::parse(&es).unwrap().verify(&key, &oidc),
            Err(JwsError::AlgorithmKeyMismatch { .. })
        ));
    }

    #[tokio::test]
    async fn algorithm_must_match_key_and_policy() {
        let key384 = SoftwareKey::generate(Algorithm::Es384).unwrap();
        let t = sign_compact(&Header::new(Algorithm::Es384, None), b"{}", &key384)
            .await
            .unwrap();
        let jws = CompactJws::parse(&t).unwrap();
        assert_eq!(
            jws.verify(key384.verifying_key(), &AlgorithmPolicy::default()),
            Err(JwsError::AlgorithmNotAllowed(Algorithm::Es384))
        );
        let key256 = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let all = AlgorithmPolicy::new([Algorithm::Es256, Algorithm::Es384]);
        assert!(matches!(
            jws.verify(key256.verifying_key(), &all),
            Err(JwsError::AlgorithmKeyMismatch { .. })
        ));
    }

    #[test]
    fn malformed_inputs_are_errors() {
        for bad in ["", "a", "a.b", "a.b.c.d", "!!.e30.", "e30.e30.!!"] {
            assert!(CompactJws::parse(bad).is_err(), "{bad:?} must not parse");
        }
    }

    fn with_header(header: &str) -> Result<Header, JwsError> {
        let token = format!("{}.e30.", b64::encode(header));
        CompactJws::parse(&token).map(|jws| jws.header().clone())
    }

    #[test]
    fn crit_is_checked_as_rfc_7515_says() {
        // A well-formed `crit` naming an extension (even one that is present): not understood.
        for header in [
            r#"{"alg":"ES256","crit":["b64"],"b64":false}"#,
            r#"{"alg":"ES256","crit":["exp","urn:x"],"exp":1}"#,
        ] {
            assert!(
                matches!(with_header(header), Err(JwsError::UnsupportedCritical(_))),
                "{header}"
            );
        }
        // `null` and `[]` are not the non-empty array the RFC requires; a repeated name and a
        // name the JWS/JWE specifications define are refused too.
        for header in [
            r#"{"alg":"ES256","crit":null}"#,
            r#"{"alg":"ES256","crit":[]}"#,
            r#"{"alg":"ES256","crit":["x","y","x"],"x":1,"y":2}"#,
            r#"{"alg":"ES256","crit":["alg"]}"#,
            r#"{"alg":"ES256","crit":["x5t#S256"]}"#,
            r#"{"alg":"ES256","crit":["enc"]}"#,
        ] {
            assert!(
                matches!(with_header(header), Err(JwsError::InvalidCritical(_))),
                "{header}"
            );
        }
        // A member that is not a string, or a `crit` that is not an array.
        for header in [
            r#"{"alg":"ES256","crit":[1]}"#,
            r#"{"alg":"ES256","crit":["b64",null]}"#,
            r#"{"alg":"ES256","crit":"b64"}"#,
            r#"{"alg":"ES256","crit":{}}"#,
        ] {
            assert!(
                matches!(with_header(header), Err(JwsError::MalformedHeader(_))),
                "{header}"
            );
        }
        // Without `crit` the header parses.
        with_header(r#"{"alg":"ES256","b64":false}"#).unwrap();
        assert_eq!(Header::new(Algorithm::Es256, None).check_crit(), Ok(()));
    }

    #[test]
    fn error_codes_keep_signing_faults_internal() {
        assert_eq!(
            JwsError::Signing(KeyError::SigningFailed("hsm".into())).code(),
            ErrorCode::Internal
        );
        assert_eq!(JwsError::Internal("x").code(), ErrorCode::Internal);
        assert_eq!(JwsError::BadSignature.code(), ErrorCode::InvalidSignature);
        assert_eq!(
            with_header(r#"{"alg":"ES256","crit":null}"#)
                .err()
                .map(|e| e.code()),
            Some(ErrorCode::Malformed)
        );
        assert_eq!(
            JwsError::UnsupportedAlgorithm("none".into()).code(),
            ErrorCode::UnsupportedAlgorithm
        );
        assert_eq!(
            JwsError::WrongType {
                found: None,
                expected: "JWT".into()
            }
            .code(),
            ErrorCode::WrongType
        );
    }

    #[test]
    fn signing_futures_are_send() {
        fn send<T: Send>(_: &T) {}
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let header = Header::new(Algorithm::Es256, None);
        let future = sign_compact(&header, b"{}", &key);
        send(&future);
        let prepared = PreparedHeader::new(&header, Algorithm::Es256).unwrap();
        let mut out = Vec::new();
        send(&prepared.sign_into(b"{}", &key, &mut out));
        drop(future);
    }

    #[test]
    fn typ_check_is_case_insensitive_and_strict() {
        let h = Header::new(Algorithm::Es256, Some("DC+SD-JWT"));
        h.require_typ(&["dc+sd-jwt", "vc+sd-jwt"]).unwrap();
        let h = Header::new(Algorithm::Es256, Some("JWT"));
        assert!(h.require_typ(&["dc+sd-jwt"]).is_err());
        let h = Header::new(Algorithm::Es256, None);
        assert!(h.require_typ(&["dc+sd-jwt"]).is_err());
    }
}
