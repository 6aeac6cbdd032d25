//! Signing keys behind one abstraction, and signature verification.
//!
//! Private keys never leave a [`Signer`]: callers hand it a message and get a JOSE-style
//! fixed-width (`r || s`) signature back. [`SoftwareKey`] keeps the key in process memory (for
//! development and tests); HSM-backed signers implement the same trait.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair as _, ParsedPublicKey, VerificationAlgorithm,
};

use crate::b64;
use crate::jwk::Jwk;

/// A JWS/COSE signature algorithm this workspace can sign and verify with.
///
/// Only ECDSA over the NIST curves: HAIP 1.0 mandates ES256, and the others exist for trust
/// anchors and peers that use them. `none` and the HMAC algorithms are deliberately absent, so a
/// token claiming them can never be accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4).
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// ECDSA P-521 with SHA-512.
    Es512,
}

impl Algorithm {
    /// Parses a JOSE `alg` value. Unknown and insecure values yield `None`.
    pub fn from_jose(alg: &str) -> Option<Self> {
        match alg {
            "ES256" => Some(Self::Es256),
            "ES384" => Some(Self::Es384),
            "ES512" => Some(Self::Es512),
            _ => None,
        }
    }

    /// The JOSE `alg` name.
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
        }
    }

    /// The COSE algorithm identifier (RFC 9053 §2.1).
    pub fn cose_id(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::Es384 => -35,
            Self::Es512 => -36,
        }
    }

    /// Parses a COSE algorithm identifier.
    pub fn from_cose(id: i64) -> Option<Self> {
        match id {
            -7 => Some(Self::Es256),
            -35 => Some(Self::Es384),
            -36 => Some(Self::Es512),
            _ => None,
        }
    }

    /// The JWK `crv` of keys for this algorithm.
    pub fn curve(self) -> &'static str {
        match self {
            Self::Es256 => "P-256",
            Self::Es384 => "P-384",
            Self::Es512 => "P-521",
        }
    }

    /// Size in bytes of one field element (and of each of `r`, `s`, `x`, `y`).
    pub fn field_len(self) -> usize {
        match self {
            Self::Es256 => 32,
            Self::Es384 => 48,
            Self::Es512 => 66,
        }
    }

    pub(crate) fn from_curve(crv: &str) -> Option<Self> {
        match crv {
            "P-256" => Some(Self::Es256),
            "P-384" => Some(Self::Es384),
            "P-521" => Some(Self::Es512),
            _ => None,
        }
    }

    fn fixed_verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Self::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
            Self::Es384 => &signature::ECDSA_P384_SHA384_FIXED,
            Self::Es512 => &signature::ECDSA_P521_SHA512_FIXED,
        }
    }

    fn fixed_signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            Self::Es256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Self::Es384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            Self::Es512 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jose_name())
    }
}

/// Which algorithms a verifier accepts. The default accepts ES256 only (HAIP 1.0 §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlgorithmPolicy {
    allowed: Vec<Algorithm>,
}

impl Default for AlgorithmPolicy {
    fn default() -> Self {
        Self {
            allowed: vec![Algorithm::Es256],
        }
    }
}

impl AlgorithmPolicy {
    /// A policy accepting exactly the given algorithms.
    pub fn new(allowed: impl IntoIterator<Item = Algorithm>) -> Self {
        Self {
            allowed: allowed.into_iter().collect(),
        }
    }

    /// Whether `alg` is accepted.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.allowed.contains(&alg)
    }

    /// The accepted algorithms.
    pub fn allowed(&self) -> &[Algorithm] {
        &self.allowed
    }
}

/// Errors from key handling and signature operations.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The key material could not be parsed or does not lie on the curve.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The key's curve does not match the requested algorithm.
    #[error("key is for {key}, not for {requested}")]
    AlgorithmMismatch {
        /// Algorithm of the key.
        key: Algorithm,
        /// Algorithm that was asked for.
        requested: Algorithm,
    },
    /// The signature does not verify under the key.
    #[error("signature does not verify")]
    BadSignature,
    /// The signing device or library failed.
    #[error("signing failed: {0}")]
    SigningFailed(String),
}

/// Something that signs with a private key it never reveals.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The algorithm of the signatures this signer makes.
    fn algorithm(&self) -> Algorithm;

    /// The public half, for `cnf`, `x5c` and JWKS publication.
    fn verifying_key(&self) -> &VerifyingKey;

    /// Signs `message`, returning the fixed-width `r || s` form JOSE and COSE use.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
}

impl<S: Signer + ?Sized> Signer for Arc<S> {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn verifying_key(&self) -> &VerifyingKey {
        (**self).verifying_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        (**self).sign(message)
    }
}

impl<S: Signer + ?Sized> Signer for &S {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn verifying_key(&self) -> &VerifyingKey {
        (**self).verifying_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        (**self).sign(message)
    }
}

/// A software ECDSA key held in process memory.
pub struct SoftwareKey {
    pair: EcdsaKeyPair,
    public: VerifyingKey,
    rng: SystemRandom,
}

impl fmt::Debug for SoftwareKey {
    // Never print private material: only the public key's thumbprint identifies the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKey")
            .field("alg", &self.public.algorithm())
            .field("thumbprint", &self.public.to_jwk().thumbprint())
            .finish_non_exhaustive()
    }
}

impl SoftwareKey {
    /// Generates a fresh key.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::generate(alg.fixed_signing())
            .map_err(|_| KeyError::SigningFailed("key generation failed".into()))?;
        Self::from_pair(alg, pair)
    }

    /// Loads a PKCS#8 (RFC 5208) DER private key.
    pub fn from_pkcs8_der(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(alg.fixed_signing(), der)
            .map_err(|_| KeyError::InvalidKey("not a PKCS#8 key for this curve"))?;
        Self::from_pair(alg, pair)
    }

    /// Loads a private key from a JWK with `d` (used for published test keys).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let alg = jwk.algorithm()?;
        let d = jwk
            .d
            .as_deref()
            .ok_or(KeyError::InvalidKey("JWK has no private part `d`"))?;
        let d = b64::decode(d).map_err(|_| KeyError::InvalidKey("`d` is not base64url"))?;
        let public = jwk.to_verifying_key()?;
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            alg.fixed_signing(),
            &d,
            public.sec1_uncompressed(),
        )
        .map_err(|_| KeyError::InvalidKey("`d` does not match `x`/`y`"))?;
        Self::from_pair(alg, pair)
    }

    /// Exports the key as PKCS#8 v1 DER, for storing it in a key file.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        self.pair
            .to_pkcs8v1()
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| KeyError::SigningFailed("PKCS#8 export failed".into()))
    }

    fn from_pair(alg: Algorithm, pair: EcdsaKeyPair) -> Result<Self, KeyError> {
        let public = VerifyingKey::from_sec1(alg, pair.public_key().as_ref())?;
        Ok(Self {
            pair,
            public,
            rng: SystemRandom::new(),
        })
    }
}

impl Signer for SoftwareKey {
    fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.pair
            .sign(&self.rng, message)
            .map(|sig| sig.as_ref().to_vec())
            .map_err(|_| KeyError::SigningFailed("ECDSA signing failed".into()))
    }
}

/// A parsed EC public key, ready to verify fixed-width ECDSA signatures.
///
/// Parsing (including the on-curve check) happens once; verification reuses it.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    parsed: Arc<ParsedPublicKey>,
    sec1: Arc<[u8]>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("x", &b64::encode(self.x()))
            .finish()
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.alg == other.alg && self.sec1 == other.sec1
    }
}
impl Eq for VerifyingKey {}

impl VerifyingKey {
    /// Parses an uncompressed SEC1 point (`0x04 || x || y`).
    pub fn from_sec1(alg: Algorithm, point: &[u8]) -> Result<Self, KeyError> {
        if point.len() != 1 + 2 * alg.field_len() || point.first() != Some(&4) {
            return Err(KeyError::InvalidKey(
                "not an uncompressed point of this curve",
            ));
        }
        let parsed = ParsedPublicKey::new(alg.fixed_verification(), point)
            .map_err(|_| KeyError::InvalidKey("point is not on the curve"))?;
        Ok(Self {
            alg,
            parsed: Arc::new(parsed),
            sec1: point.into(),
        })
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The uncompressed SEC1 encoding.
    pub fn sec1_uncompressed(&self) -> &[u8] {
        &self.sec1
    }

    /// The affine x coordinate.
    pub fn x(&self) -> &[u8] {
        &self.sec1[1..=self.alg.field_len()]
    }

    /// The affine y coordinate.
    pub fn y(&self) -> &[u8] {
        &self.sec1[1 + self.alg.field_len()..]
    }

    /// The key as a public JWK (no `kid`).
    pub fn to_jwk(&self) -> Jwk {
        Jwk::ec(
            self.alg.curve(),
            b64::encode(self.x()),
            b64::encode(self.y()),
        )
    }

    /// Verifies a fixed-width (`r || s`) signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        if signature.len() != 2 * self.alg.field_len() {
            return Err(KeyError::BadSignature);
        }
        self.parsed
            .verify_sig(message, signature)
            .map_err(|_| KeyError::BadSignature)
    }

    /// Verifies with this key, first checking that the token's `alg` is this key's algorithm
    /// and allowed by `policy` (RFC 8725 §3.1: never let the token pick the algorithm).
    pub fn verify_with_policy(
        &self,
        alg: Algorithm,
        policy: &AlgorithmPolicy,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        if alg != self.alg {
            return Err(KeyError::AlgorithmMismatch {
                key: self.alg,
                requested: alg,
            });
        }
        if !policy.allows(alg) {
            return Err(KeyError::AlgorithmMismatch {
                key: self.alg,
                requested: alg,
            });
        }
        self.verify(message, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_each_algorithm() {
        for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::Es512] {
            let key = SoftwareKey::generate(alg).unwrap();
            let sig = key.sign(b"message").unwrap();
            assert_eq!(sig.len(), 2 * alg.field_len());
            key.verifying_key().verify(b"message", &sig).unwrap();
            assert_eq!(
                key.verifying_key().verify(b"messagf", &sig),
                Err(KeyError::BadSignature)
            );
        }
    }

    #[test]
    fn pkcs8_round_trip_keeps_the_key() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let again = SoftwareKey::from_pkcs8_der(Algorithm::Es256, &der).unwrap();
        assert_eq!(key.verifying_key(), again.verifying_key());
        assert!(SoftwareKey::from_pkcs8_der(Algorithm::Es256, b"junk").is_err());
    }

    #[test]
    fn debug_never_prints_private_material() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("thumbprint"));
        assert!(!debug.contains(&b64::encode(&der[..])));
    }

    #[test]
    fn policy_rejects_other_algorithms() {
        let key = SoftwareKey::generate(Algorithm::Es384).unwrap();
        let sig = key.sign(b"m").unwrap();
        let vk = key.verifying_key();
        assert!(
            vk.verify_with_policy(Algorithm::Es384, &AlgorithmPolicy::default(), b"m", &sig)
                .is_err()
        );
        vk.verify_with_policy(
            Algorithm::Es384,
            &AlgorithmPolicy::new([Algorithm::Es384]),
            b"m",
            &sig,
        )
        .unwrap();
        assert!(
            vk.verify_with_policy(
                Algorithm::Es256,
                &AlgorithmPolicy::new([Algorithm::Es256]),
                b"m",
                &sig
            )
            .is_err()
        );
    }

    #[test]
    fn rejects_points_off_the_curve() {
        let mut point = vec![4u8];
        point.extend_from_slice(&[1u8; 64]);
        assert!(VerifyingKey::from_sec1(Algorithm::Es256, &point).is_err());
        assert!(VerifyingKey::from_sec1(Algorithm::Es256, &point[..10]).is_err());
    }
}
