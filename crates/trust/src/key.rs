//! Signing keys behind one abstraction, and signature verification.
//!
//! Private keys never leave a [`Signer`]: callers hand it a message and get a JOSE-style
//! fixed-width (`r || s`) signature back. [`SoftwareKey`] keeps the key in process memory (for
//! development and tests); HSM-backed signers implement the same trait.
//!
//! RSA (RS256, RSASSA-PKCS1-v1_5 with SHA-256) is supported for verification only: MitID brokers
//! sign their ID tokens with it. Nothing here signs with RSA, and no default
//! [`AlgorithmPolicy`] accepts it; a caller has to allow it explicitly.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Context;
use std::task::Poll;

use aws_lc_rs::digest::Digest;
use aws_lc_rs::digest::{self};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::EcdsaKeyPair;
use aws_lc_rs::signature::EcdsaSigningAlgorithm;
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::signature::ParsedPublicKey;
use aws_lc_rs::signature::RsaPublicKeyComponents;
use aws_lc_rs::signature::VerificationAlgorithm;
use aws_lc_rs::signature::{self};
use zeroize::Zeroizing;

use crate::b64;
use crate::code::ErrorCode;
use crate::code::HasErrorCode;
use crate::jwk::Jwk;
use crate::jwk::PrivateJwk;

/// A JWS/COSE signature algorithm this workspace can verify (and, for ECDSA, sign) with.
///
/// ECDSA over the NIST curves: HAIP 1.0 mandates ES256, and the others exist for trust anchors
/// and peers that use them. RS256 is verify-only, for OpenID providers (MitID brokers) that sign
/// ID tokens with RSA. `none` and the HMAC algorithms are deliberately absent, so a token
/// claiming them can never be accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4).
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// ECDSA P-521 with SHA-512.
    Es512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), keys of 2048 to 8192 bits. Verify-only.
    Rs256,
}

impl Algorithm {
    /// Parses a JOSE `alg` value. Unknown and insecure values yield `None`.
    pub fn from_jose(alg: &str) -> Option<Self> {
        match alg {
            "ES256" => Some(Self::Es256),
            "ES384" => Some(Self::Es384),
            "ES512" => Some(Self::Es512),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }

    /// The JOSE `alg` name.
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::Rs256 => "RS256",
        }
    }

    /// The COSE algorithm identifier (RFC 9053 §2.1).
    pub fn cose_id(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::Es384 => -35,
            Self::Es512 => -36,
            Self::Rs256 => -257,
        }
    }

    /// Parses a COSE algorithm identifier.
    pub fn from_cose(id: i64) -> Option<Self> {
        match id {
            -7 => Some(Self::Es256),
            -35 => Some(Self::Es384),
            -36 => Some(Self::Es512),
            -257 => Some(Self::Rs256),
            _ => None,
        }
    }

    /// The JWK `crv` of keys for this algorithm; empty for RSA, whose keys have no curve.
    pub fn curve(self) -> &'static str {
        match self {
            Self::Es256 => "P-256",
            Self::Es384 => "P-384",
            Self::Es512 => "P-521",
            Self::Rs256 => "",
        }
    }

    /// The JWK `kty` of keys for this algorithm (`EC` or `RSA`).
    pub fn key_type(self) -> &'static str {
        match self {
            Self::Es256 | Self::Es384 | Self::Es512 => "EC",
            Self::Rs256 => "RSA",
        }
    }

    /// Whether this workspace can sign with the algorithm (ECDSA); RSA is verify-only.
    pub fn can_sign(self) -> bool {
        self.fixed_signing().is_some()
    }

    /// Size in bytes of one field element (and of each of `r`, `s`, `x`, `y`); 0 for RSA.
    pub fn field_len(self) -> usize {
        match self {
            Self::Es256 => 32,
            Self::Es384 => 48,
            Self::Es512 => 66,
            Self::Rs256 => 0,
        }
    }

    /// The hash the signature is computed over.
    pub fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Es256 | Self::Rs256 => &digest::SHA256,
            Self::Es384 => &digest::SHA384,
            Self::Es512 => &digest::SHA512,
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
            Self::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        }
    }

    fn fixed_signing(self) -> Option<&'static EcdsaSigningAlgorithm> {
        match self {
            Self::Es256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            Self::Es384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            Self::Es512 => Some(&signature::ECDSA_P521_SHA512_FIXED_SIGNING),
            Self::Rs256 => None,
        }
    }

    fn signing(self) -> Result<&'static EcdsaSigningAlgorithm, KeyError> {
        self.fixed_signing().ok_or(KeyError::InvalidKey(
            "RSA keys are supported for verification only",
        ))
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

impl HasErrorCode for KeyError {
    /// A key a peer sent that does not parse is malformed input; an algorithm the key cannot
    /// serve is an algorithm problem. [`KeyError::SigningFailed`] only ever comes from this
    /// side's own signer (a peer cannot make it happen), so it is [`ErrorCode::Internal`].
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidKey(_) => ErrorCode::Malformed,
            Self::AlgorithmMismatch { .. } => ErrorCode::UnsupportedAlgorithm,
            Self::BadSignature => ErrorCode::InvalidSignature,
            Self::SigningFailed(_) => ErrorCode::Internal,
        }
    }
}

/// The result of a [`Signer`]: the fixed-width signature, or why signing failed.
pub type SignResult = Result<Vec<u8>, KeyError>;

/// The future a [`Signer`] returns: already finished for a software key, or a boxed future for
/// a signer that does I/O (a PKCS#11 HSM, a remote signing service).
///
/// Why a concrete type and not `async fn` in the trait or a boxed future everywhere: the trait
/// must stay object-safe (`Arc<dyn Signer>` holds the issuer's key), which rules out `async fn`
/// and `impl Future` returns, and boxing every future would cost a heap allocation per
/// signature on the issuing hot path, where a software ES256 signature takes about 15 µs. A
/// ready `SignFuture` is a plain value: polling it once hands the result back, with no
/// allocation and no waker. Only signers that really wait pay for a box, and their I/O costs far
/// more than it. The type is `Send` and `Unpin` (no `unsafe` is needed to poll it).
#[must_use = "a signature future does nothing unless awaited"]
pub struct SignFuture<'a>(SignState<'a>);

enum SignState<'a> {
    /// Computed synchronously; taken by the first poll.
    Ready(Option<SignResult>),
    /// Waits for a device or a remote service.
    Pending(Pin<Box<dyn Future<Output = SignResult> + Send + 'a>>),
}

impl<'a> SignFuture<'a> {
    /// A signature (or failure) that is already known: what software keys return.
    pub fn ready(result: SignResult) -> Self {
        Self(SignState::Ready(Some(result)))
    }

    /// A signature that needs waiting for (I/O). Allocates once, for the box.
    pub fn boxed(future: impl Future<Output = SignResult> + Send + 'a) -> Self {
        Self(SignState::Pending(Box::pin(future)))
    }

    /// Whether the result is already there (polling will not wait).
    pub fn is_ready(&self) -> bool {
        matches!(self.0, SignState::Ready(Some(_)))
    }
}

impl Future for SignFuture<'_> {
    type Output = SignResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SignResult> {
        match &mut self.0 {
            SignState::Ready(result) => Poll::Ready(result.take().unwrap_or_else(|| {
                // Polling a finished future is a caller bug; answer with an error, not a panic.
                Err(KeyError::SigningFailed(
                    "signature future polled after it finished".into(),
                ))
            })),
            SignState::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl fmt::Debug for SignFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.0 {
            SignState::Ready(Some(Ok(_))) => "ready",
            SignState::Ready(Some(Err(_))) => "failed",
            SignState::Ready(None) => "finished",
            SignState::Pending(_) => "pending",
        };
        f.debug_tuple("SignFuture").field(&state).finish()
    }
}

/// Something that signs with a private key it never reveals.
///
/// Signing is asynchronous because a production key lives in an HSM or a remote signing
/// service; see [`SignFuture`] for why software keys pay nothing for that. The trait is
/// object-safe, and implementations are `Send + Sync`, so `Arc<dyn Signer>` can be shared by
/// the tasks of a service.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The algorithm of the signatures this signer makes.
    fn algorithm(&self) -> Algorithm;

    /// The public half, for `cnf`, `x5c` and JWKS publication.
    fn verifying_key(&self) -> &VerifyingKey;

    /// Signs `message`, resolving to the fixed-width `r || s` form JOSE and COSE use.
    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a>;

    /// Signs a message the caller has already hashed with [`Algorithm::digest_algorithm`], so
    /// a constant prefix (an issuer's protected header) is hashed once, not per signature.
    /// `None` if this signer only signs whole messages; the caller then uses [`Self::sign`].
    fn sign_digest<'a>(&'a self, digest: &'a Digest) -> Option<SignFuture<'a>> {
        let _ = digest;
        None
    }
}

impl<S: Signer + ?Sized> Signer for Arc<S> {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn verifying_key(&self) -> &VerifyingKey {
        (**self).verifying_key()
    }
    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        (**self).sign(message)
    }
    fn sign_digest<'a>(&'a self, digest: &'a Digest) -> Option<SignFuture<'a>> {
        (**self).sign_digest(digest)
    }
}

impl<S: Signer + ?Sized> Signer for &S {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn verifying_key(&self) -> &VerifyingKey {
        (**self).verifying_key()
    }
    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        (**self).sign(message)
    }
    fn sign_digest<'a>(&'a self, digest: &'a Digest) -> Option<SignFuture<'a>> {
        (**self).sign_digest(digest)
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
        let pair = EcdsaKeyPair::generate(alg.signing()?)
            .map_err(|_| KeyError::SigningFailed("key generation failed".into()))?;
        Self::from_pair(alg, pair)
    }

    /// Loads a PKCS#8 (RFC 5208) DER private key.
    pub fn from_pkcs8_der(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(alg.signing()?, der)
            .map_err(|_| KeyError::InvalidKey("not a PKCS#8 key for this curve"))?;
        Self::from_pair(alg, pair)
    }

    /// Loads a private key from a private JWK (used for published test keys).
    pub fn from_jwk(jwk: &PrivateJwk) -> Result<Self, KeyError> {
        let public = jwk.as_public_ref();
        let alg = public.algorithm()?;
        let signing = alg.signing()?;
        // The decoded scalar is wiped as soon as the key pair holds it.
        let d = Zeroizing::new(
            b64::decode(jwk.d()).map_err(|_| KeyError::InvalidKey("`d` is not base64url"))?,
        );
        let public = public.to_verifying_key()?;
        let pair =
            EcdsaKeyPair::from_private_key_and_public_key(signing, &d, public.sec1_uncompressed())
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

    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        // Computed here, synchronously: the future is ready and allocates nothing.
        SignFuture::ready(
            self.pair
                .sign(&self.rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| KeyError::SigningFailed("ECDSA signing failed".into())),
        )
    }

    fn sign_digest<'a>(&'a self, digest: &'a Digest) -> Option<SignFuture<'a>> {
        if digest.algorithm() != self.algorithm().digest_algorithm() {
            return Some(SignFuture::ready(Err(KeyError::SigningFailed(
                "the digest is not of this key's hash algorithm".into(),
            ))));
        }
        Some(SignFuture::ready(
            self.pair
                .sign_digest(digest)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| KeyError::SigningFailed("ECDSA signing failed".into())),
        ))
    }
}

/// Smallest RSA modulus accepted, in bytes (2048 bits, RFC 7518 §3.3).
pub const RSA_MIN_MODULUS_BYTES: usize = 256;
/// Largest RSA modulus accepted, in bytes (8192 bits).
pub const RSA_MAX_MODULUS_BYTES: usize = 1024;

/// A parsed public key, ready to verify fixed-width ECDSA signatures (or, verify-only, RS256).
///
/// Parsing (including the on-curve check) happens once; verification reuses it.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    parsed: Arc<ParsedPublicKey>,
    material: Material,
}

/// The public key's encoding, kept for JWK export and comparison.
#[derive(Clone, PartialEq, Eq)]
enum Material {
    /// Uncompressed SEC1 point, and its coordinates split out once, when the point is parsed,
    /// so reading them later needs no slicing that could fail.
    Ec {
        sec1: Arc<[u8]>,
        x: Arc<[u8]>,
        y: Arc<[u8]>,
    },
    /// Modulus and public exponent, big-endian without leading zeros.
    Rsa { n: Arc<[u8]>, e: Arc<[u8]> },
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.material {
            Material::Ec { .. } => f
                .debug_struct("VerifyingKey")
                .field("alg", &self.alg)
                .field("x", &b64::encode(self.x()))
                .finish(),
            Material::Rsa { n, .. } => f
                .debug_struct("VerifyingKey")
                .field("alg", &self.alg)
                .field("bits", &(n.len() * 8))
                .field("thumbprint", &self.to_jwk().thumbprint())
                .finish(),
        }
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.alg == other.alg && self.material == other.material
    }
}
impl Eq for VerifyingKey {}

impl VerifyingKey {
    /// Parses an uncompressed SEC1 point (`0x04 || x || y`) for an ECDSA algorithm.
    pub fn from_sec1(alg: Algorithm, point: &[u8]) -> Result<Self, KeyError> {
        if alg.key_type() != "EC" {
            return Err(KeyError::InvalidKey("not an elliptic-curve algorithm"));
        }
        if point.len() != 1 + 2 * alg.field_len() || point.first() != Some(&4) {
            return Err(KeyError::InvalidKey(
                "not an uncompressed point of this curve",
            ));
        }
        let (x, y) = point
            .get(1..)
            .and_then(|xy| xy.split_at_checked(alg.field_len()))
            .ok_or(KeyError::InvalidKey(
                "not an uncompressed point of this curve",
            ))?;
        let parsed = ParsedPublicKey::new(alg.fixed_verification(), point)
            .map_err(|_| KeyError::InvalidKey("point is not on the curve"))?;
        Ok(Self {
            alg,
            parsed: Arc::new(parsed),
            material: Material::Ec {
                sec1: point.into(),
                x: x.into(),
                y: y.into(),
            },
        })
    }

    /// An RS256 verification key from its modulus `n` and public exponent `e` (big-endian, as in
    /// a JWK; leading zero bytes are ignored). The modulus must have 2048 to 8192 bits.
    pub fn from_rsa_components(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        if n.len() < RSA_MIN_MODULUS_BYTES {
            return Err(KeyError::InvalidKey(
                "RSA modulus is shorter than 2048 bits",
            ));
        }
        if n.len() > RSA_MAX_MODULUS_BYTES {
            return Err(KeyError::InvalidKey("RSA modulus is longer than 8192 bits"));
        }
        // Public exponents are small odd numbers (65537 in practice); at most 32 bits here.
        if e.is_empty() || e.len() > 4 || e.last().is_some_and(|b| b & 1 == 0) {
            return Err(KeyError::InvalidKey("RSA public exponent is not valid"));
        }
        let parsed = RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
            .map_err(|_| KeyError::InvalidKey("not a valid RSA public key"))?;
        Ok(Self {
            alg: Algorithm::Rs256,
            parsed: Arc::new(parsed),
            material: Material::Rsa {
                n: n.into(),
                e: e.into(),
            },
        })
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The uncompressed SEC1 encoding; empty for an RSA key.
    pub fn sec1_uncompressed(&self) -> &[u8] {
        match &self.material {
            Material::Ec { sec1, .. } => sec1,
            Material::Rsa { .. } => &[],
        }
    }

    /// The affine x coordinate; empty for an RSA key.
    pub fn x(&self) -> &[u8] {
        match &self.material {
            Material::Ec { x, .. } => x,
            Material::Rsa { .. } => &[],
        }
    }

    /// The affine y coordinate; empty for an RSA key.
    pub fn y(&self) -> &[u8] {
        match &self.material {
            Material::Ec { y, .. } => y,
            Material::Rsa { .. } => &[],
        }
    }

    /// The RSA modulus and public exponent (big-endian, no leading zeros); `None` for EC keys.
    pub fn rsa_components(&self) -> Option<(&[u8], &[u8])> {
        match &self.material {
            Material::Ec { .. } => None,
            Material::Rsa { n, e } => Some((n, e)),
        }
    }

    /// The key as a public JWK (no `kid`).
    pub fn to_jwk(&self) -> Jwk {
        match &self.material {
            Material::Ec { .. } => Jwk::ec(
                self.alg.curve(),
                b64::encode(self.x()),
                b64::encode(self.y()),
            ),
            Material::Rsa { n, e } => Jwk::rsa(b64::encode(n), b64::encode(e)),
        }
    }

    /// Signatures are fixed-width: `r || s` for ECDSA, as long as the modulus for RSA.
    fn check_signature_len(&self, signature: &[u8]) -> Result<(), KeyError> {
        let expected_len = match &self.material {
            Material::Ec { .. } => 2 * self.alg.field_len(),
            Material::Rsa { n, .. } => n.len(),
        };
        if signature.len() == expected_len {
            Ok(())
        } else {
            Err(KeyError::BadSignature)
        }
    }

    /// Verifies a signature over `message`: fixed-width (`r || s`) for ECDSA, as long as the
    /// modulus for RSA.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        self.check_signature_len(signature)?;
        self.parsed
            .verify_sig(message, signature)
            .map_err(|_| KeyError::BadSignature)
    }

    /// Like [`Self::verify`], for a message the caller has already hashed with
    /// [`Algorithm::digest_algorithm`] (e.g. to reuse the hash state for `sd_hash`).
    pub fn verify_digest(&self, digest: &Digest, signature: &[u8]) -> Result<(), KeyError> {
        if digest.algorithm() != self.alg.digest_algorithm() {
            return Err(KeyError::BadSignature);
        }
        self.check_signature_len(signature)?;
        self.parsed
            .verify_digest_sig(digest, signature)
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

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::RsaKeyPair;

    use super::*;

    fn rsa_key(size: KeySize) -> (RsaKeyPair, VerifyingKey) {
        let pair = RsaKeyPair::generate(size).unwrap();
        let public = pair.public_key();
        let vk = VerifyingKey::from_rsa_components(
            public.modulus().big_endian_without_leading_zero(),
            public.exponent().big_endian_without_leading_zero(),
        )
        .unwrap();
        (pair, vk)
    }

    fn rsa_sign(pair: &RsaKeyPair, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message,
            &mut sig,
        )
        .unwrap();
        sig
    }

    #[tokio::test]
    async fn digest_signing_matches_message_signing() {
        for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::Es512] {
            let key = SoftwareKey::generate(alg).unwrap();
            let vk = key.verifying_key();
            let digest = digest::digest(alg.digest_algorithm(), b"message");
            // A signature over the digest verifies as one over the message, and vice versa.
            let sig = key.sign_digest(&digest).unwrap().await.unwrap();
            vk.verify(b"message", &sig).unwrap();
            let sig = key.sign(b"message").await.unwrap();
            vk.verify_digest(&digest, &sig).unwrap();
            let other = digest::digest(alg.digest_algorithm(), b"messagf");
            assert_eq!(vk.verify_digest(&other, &sig), Err(KeyError::BadSignature));
            assert_eq!(
                vk.verify_digest(&digest, &sig[1..]),
                Err(KeyError::BadSignature)
            );
        }
        // A digest of the wrong hash is refused, not signed or accepted.
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let sha384 = digest::digest(&digest::SHA384, b"message");
        assert!(key.sign_digest(&sha384).unwrap().await.is_err());
        let sig = key.sign(b"message").await.unwrap();
        assert_eq!(
            key.verifying_key().verify_digest(&sha384, &sig),
            Err(KeyError::BadSignature)
        );
    }

    #[test]
    fn rs256_verifies_and_rejects() {
        let (pair, vk) = rsa_key(KeySize::Rsa2048);
        assert_eq!(vk.algorithm(), Algorithm::Rs256);
        let sig = rsa_sign(&pair, b"message");
        vk.verify(b"message", &sig).unwrap();
        assert_eq!(vk.verify(b"messagf", &sig), Err(KeyError::BadSignature));
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert_eq!(vk.verify(b"message", &bad), Err(KeyError::BadSignature));
        assert_eq!(
            vk.verify(b"message", &sig[1..]),
            Err(KeyError::BadSignature)
        );
        assert!(vk.sec1_uncompressed().is_empty() && vk.x().is_empty() && vk.y().is_empty());
        let (n, e) = vk.rsa_components().unwrap();
        assert_eq!(n.len(), 256);
        assert_eq!(e, [1, 0, 1]);
        assert!(format!("{vk:?}").contains("2048"));
    }

    #[test]
    fn rs256_needs_an_explicit_policy() {
        let (pair, vk) = rsa_key(KeySize::Rsa2048);
        let sig = rsa_sign(&pair, b"m");
        assert!(
            vk.verify_with_policy(Algorithm::Rs256, &AlgorithmPolicy::default(), b"m", &sig)
                .is_err()
        );
        vk.verify_with_policy(
            Algorithm::Rs256,
            &AlgorithmPolicy::new([Algorithm::Rs256, Algorithm::Es256]),
            b"m",
            &sig,
        )
        .unwrap();
        assert!(!AlgorithmPolicy::default().allows(Algorithm::Rs256));
    }

    #[test]
    fn rsa_is_verify_only_and_sized() {
        assert!(!Algorithm::Rs256.can_sign());
        assert!(Algorithm::Es256.can_sign());
        assert!(SoftwareKey::generate(Algorithm::Rs256).is_err());
        assert!(VerifyingKey::from_sec1(Algorithm::Rs256, &[4]).is_err());
        // 1024-bit modulus: too short.
        assert!(VerifyingKey::from_rsa_components(&[0xc5; 128], &[1, 0, 1]).is_err());
        // Leading zeros are ignored, so this is 2048 bits of 0xc5 plus a zero byte.
        let mut n = vec![0u8];
        n.extend_from_slice(&[0xc5; 256]);
        assert!(VerifyingKey::from_rsa_components(&n, &[1, 0, 1]).is_ok());
        assert!(VerifyingKey::from_rsa_components(&n, &[]).is_err());
        assert!(VerifyingKey::from_rsa_components(&n, &[1, 0, 0]).is_err());
        assert!(VerifyingKey::from_rsa_components(&[0xc5; 1025], &[1, 0, 1]).is_err());
        assert_eq!(Algorithm::from_jose("RS256"), Some(Algorithm::Rs256));
        assert_eq!(Algorithm::Rs256.jose_name(), "RS256");
        assert_eq!(Algorithm::from_cose(-257), Some(Algorithm::Rs256));
        assert_eq!(Algorithm::Rs256.cose_id(), -257);
        assert_eq!(Algorithm::Rs256.key_type(), "RSA");
        for other in ["RS384", "RS512", "PS256"] {
            assert_eq!(Algorithm::from_jose(other), None);
        }
    }

    #[test]
    fn rs256_with_a_4096_bit_key() {
        let (pair, vk) = rsa_key(KeySize::Rsa4096);
        let sig = rsa_sign(&pair, b"message");
        assert_eq!(sig.len(), 512);
        vk.verify(b"message", &sig).unwrap();
    }

    #[tokio::test]
    async fn sign_verify_each_algorithm() {
        for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::Es512] {
            let key = SoftwareKey::generate(alg).unwrap();
            let sig = key.sign(b"message").await.unwrap();
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

    #[tokio::test]
    async fn policy_rejects_other_algorithms() {
        let key = SoftwareKey::generate(Algorithm::Es384).unwrap();
        let sig = key.sign(b"m").await.unwrap();
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

    #[test]
    fn a_software_signature_is_ready_without_polling_twice() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let mut future = key.sign(b"message");
        assert!(future.is_ready());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let Poll::Ready(Ok(sig)) = Pin::new(&mut future).poll(&mut cx) else {
            panic!("a software key's future must be ready at the first poll");
        };
        key.verifying_key().verify(b"message", &sig).unwrap();
        // A second poll is a caller bug: an error, not a panic and not a second signature.
        assert!(matches!(
            Pin::new(&mut future).poll(&mut cx),
            Poll::Ready(Err(KeyError::SigningFailed(_)))
        ));
        assert!(!future.is_ready());
    }

    #[tokio::test]
    async fn a_boxed_signature_future_waits_and_delivers() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let future = SignFuture::boxed(async {
            tokio::task::yield_now().await;
            key.sign(b"message").await
        });
        assert!(!future.is_ready());
        assert!(format!("{future:?}").contains("pending"));
        let sig = future.await.unwrap();
        key.verifying_key().verify(b"message", &sig).unwrap();
    }

    #[test]
    fn signers_are_object_safe_and_send() {
        fn send<T: Send>(_: &T) {}
        let key: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap());
        let future = key.sign(b"m");
        send(&future);
        drop(future);
    }

    #[test]
    fn key_errors_have_codes_and_signing_faults_are_internal() {
        assert_eq!(
            KeyError::SigningFailed("hsm".into()).code(),
            ErrorCode::Internal
        );
        assert_eq!(KeyError::BadSignature.code(), ErrorCode::InvalidSignature);
        assert_eq!(KeyError::InvalidKey("x").code(), ErrorCode::Malformed);
        assert_eq!(
            KeyError::AlgorithmMismatch {
                key: Algorithm::Es256,
                requested: Algorithm::Es384
            }
            .code(),
            ErrorCode::UnsupportedAlgorithm
        );
    }

    #[test]
    fn coordinates_come_from_the_parsed_point() {
        for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::Es512] {
            let key = SoftwareKey::generate(alg).unwrap();
            let vk = key.verifying_key();
            let sec1 = vk.sec1_uncompressed();
            assert_eq!(vk.x().len(), alg.field_len());
            assert_eq!(vk.y().len(), alg.field_len());
            assert_eq!(&sec1[1..=alg.field_len()], vk.x());
            assert_eq!(&sec1[1 + alg.field_len()..], vk.y());
        }
    }

    #[test]
    fn private_jwk_loads_and_must_match() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let other = SoftwareKey::generate(Algorithm::Es256).unwrap();
        // A published test key (the Token Status List draft's example signing key).
        let jwk: PrivateJwk = serde_json::from_str(
            r#"{"kty":"EC","d":"xzUEdsyLosZF0acZGRAjTKImb0lQvAvssDK5XIZELd0","use":"sig","crv":"P-256","x":"I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo","y":"6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M","kid":"12","alg":"ES256"}"#,
        )
        .unwrap();
        let loaded = SoftwareKey::from_jwk(&jwk).unwrap();
        let public = jwk.to_public();
        assert_eq!(
            loaded.verifying_key().to_jwk().thumbprint(),
            public.thumbprint()
        );
        assert_eq!(public.kid.as_deref(), Some("12"));
        // `d` of one key with `x`/`y` of another is refused.
        let mismatched = PrivateJwk::new(&other.verifying_key().to_jwk(), jwk_d(&jwk));
        assert!(SoftwareKey::from_jwk(&mismatched).is_err());
        let bad = PrivateJwk::new(&key.verifying_key().to_jwk(), "!!".into());
        assert!(SoftwareKey::from_jwk(&bad).is_err());
    }

    fn jwk_d(jwk: &PrivateJwk) -> String {
        jwk.d().to_owned()
    }
}
