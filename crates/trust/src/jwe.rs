//! Compact JWE (RFC 7516 §7.1) with exactly what HAIP 1.0 asks for: `alg` `ECDH-ES` (direct
//! key agreement, RFC 7518 §4.6) on P-256 and `enc` `A128GCM` or `A256GCM` (RFC 7518 §5.3).
//!
//! Used for OpenID4VP `direct_post.jwt` responses (OpenID4VP 1.0 §8.3, HAIP 1.0 §5) and for
//! OpenID4VCI credential response encryption. Nothing else is accepted: no key wrapping, no
//! RSA, no `zip` (compression before encryption leaks the plaintext's structure), no `crit`
//! (no extension is understood), no JSON serialization. A token asking for any of it is refused
//! with an error that names what was asked.
//!
//! # Decryption
//!
//! [`decrypt`] checks, in order: the size limit ([`MAX_TOKEN_LEN`]); five base64url parts with
//! an empty encrypted key (direct key agreement has none, RFC 7518 §4.6); a protected header
//! that is a JSON object with no member given twice (RFC 7516 §4 lets a recipient refuse
//! duplicates, and it does); `alg` `ECDH-ES`; `enc` among those the caller allows; no `zip` or
//! `crit`; `epk` a public P-256 key on the curve (a JWK with a private member is refused);
//! `apu`/`apv` base64url when present; a 96-bit IV and a 128-bit tag (RFC 7518 §5.3). Then the
//! shared secret is agreed with the static key, the content key derived with the Concat KDF of
//! RFC 7518 §4.6.2, and the ciphertext opened with the protected header as additional
//! authenticated data. A failed tag yields [`JweError::Decryption`] and no plaintext, ever: the
//! buffer that held the attempt is wiped.
//!
//! The private key of a [`DecryptionKey`] lives inside aws-lc-rs; it is exported only on
//! request ([`DecryptionKey::to_private_jwk`], for key files) and never printed.

use std::fmt;

use aws_lc_rs::aead;
use aws_lc_rs::agreement;
use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsBigEndian as _;
use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rand::SystemRandom;
use serde::Deserializer as _;
use serde::de::MapAccess;
use serde::de::Visitor;
use serde_json::Map;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::b64;
use crate::code::ErrorCode;
use crate::code::HasErrorCode;
use crate::jwk::Jwk;
use crate::jwk::JwkRef;
use crate::jwk::PrivateJwk;
use crate::key::Algorithm;

/// Largest compact JWE [`decrypt`] reads, in bytes (1 MiB). A `direct_post.jwt` response or an
/// encrypted credential response with a batch of credentials is tens of kilobytes; the limit
/// bounds the work and memory a hostile token can cost before the tag is checked.
pub const MAX_TOKEN_LEN: usize = 1024 * 1024;

/// Longest `apu`/`apv` accepted, in decoded bytes. OpenID4VP puts a nonce of a few dozen bytes
/// there; anything longer is not a party identifier.
pub const MAX_PARTY_INFO_LEN: usize = 1024;

/// The only key management algorithm: ECDH-ES in direct key agreement mode (RFC 7518 §4.6).
pub const ALG_ECDH_ES: &str = "ECDH-ES";

/// Length of the AES-GCM initialization vector, in bytes (96 bits, RFC 7518 §5.3).
const IV_LEN: usize = 12;
/// Length of the AES-GCM authentication tag, in bytes (128 bits, RFC 7518 §5.3).
const TAG_LEN: usize = 16;

/// A content encryption algorithm (`enc`, RFC 7518 §5.1); HAIP 1.0 requires both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentEncryption {
    /// AES-GCM with a 128-bit key (RFC 7518 §5.3).
    A128Gcm,
    /// AES-GCM with a 256-bit key (RFC 7518 §5.3).
    A256Gcm,
}

impl ContentEncryption {
    /// Both algorithms, the one wallets should prefer (HAIP 1.0 §5: A256GCM) first.
    pub const ALL: [Self; 2] = [Self::A256Gcm, Self::A128Gcm];

    /// The JOSE `enc` name.
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::A128Gcm => "A128GCM",
            Self::A256Gcm => "A256GCM",
        }
    }

    /// Parses a JOSE `enc` value; any other value yields `None`.
    pub fn from_jose(enc: &str) -> Option<Self> {
        match enc {
            "A128GCM" => Some(Self::A128Gcm),
            "A256GCM" => Some(Self::A256Gcm),
            _ => None,
        }
    }

    /// Length of the content encryption key, in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::A128Gcm => 16,
            Self::A256Gcm => 32,
        }
    }

    fn aead(self) -> &'static aead::Algorithm {
        match self {
            Self::A128Gcm => &aead::AES_128_GCM,
            Self::A256Gcm => &aead::AES_256_GCM,
        }
    }
}

impl fmt::Display for ContentEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jose_name())
    }
}

/// Why a JWE could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweError {
    /// The token is longer than the limit.
    #[error("JWE is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Length of the token.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not five base64url parts, a part that does not decode, or a part of the wrong length.
    #[error("malformed JWE: {0}")]
    Malformed(&'static str),
    /// The protected header is not a JSON object of the expected shape.
    #[error("malformed JWE header: {0}")]
    MalformedHeader(String),
    /// `alg` is not `ECDH-ES`.
    #[error("JWE `alg` {0:?} is not accepted (only ECDH-ES)")]
    UnsupportedAlgorithm(String),
    /// `enc` is unknown or not among those the caller allows.
    #[error("JWE `enc` {0:?} is not accepted")]
    UnsupportedEncryption(String),
    /// A header parameter this implementation refuses (`zip`, `crit`).
    #[error("JWE header parameter `{0}` is not supported")]
    UnsupportedHeader(&'static str),
    /// A key (the recipient's, `epk`, or a private key being loaded) is not a P-256 key fit
    /// for ECDH-ES.
    #[error("invalid JWE key: {0}")]
    InvalidKey(&'static str),
    /// Key agreement failed or the authentication tag does not verify: wrong key, or a token
    /// that was changed. Deliberately one error, so a peer learns nothing about which.
    #[error("JWE could not be decrypted (wrong key or tampered token)")]
    Decryption,
    /// This side's cryptography failed (random generator, key generation, export); a peer
    /// cannot cause it.
    #[error("JWE cryptography failed: {0}")]
    Crypto(&'static str),
}

impl HasErrorCode for JweError {
    /// A failed tag is the JWE's integrity check failing, the counterpart of a signature that
    /// does not verify, so it shares [`ErrorCode::InvalidSignature`]. [`JweError::Crypto`] only
    /// comes from this side, so it is [`ErrorCode::Internal`].
    fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::Malformed(_)
            | Self::MalformedHeader(_)
            | Self::UnsupportedHeader(_)
            | Self::InvalidKey(_) => ErrorCode::Malformed,
            Self::UnsupportedAlgorithm(_) | Self::UnsupportedEncryption(_) => {
                ErrorCode::UnsupportedAlgorithm
            }
            Self::Decryption => ErrorCode::InvalidSignature,
            Self::Crypto(_) => ErrorCode::Internal,
        }
    }
}

/// Optional protected header members of a JWE made by [`encrypt`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncryptOptions {
    /// `kid`: which of the recipient's keys was used (OpenID4VP 1.0 §8.3 asks for it when the
    /// verifier's metadata has one).
    pub kid: Option<String>,
    /// `apu` (agreement PartyUInfo, RFC 7518 §4.6.1.2), written base64url and fed to the KDF.
    pub apu: Option<Vec<u8>>,
    /// `apv` (agreement PartyVInfo, RFC 7518 §4.6.1.3), written base64url and fed to the KDF.
    pub apv: Option<Vec<u8>>,
    /// `typ`: the media type of the whole JWE.
    pub typ: Option<String>,
    /// `cty`: the media type of the plaintext (e.g. `JWT` for a nested signed token).
    pub cty: Option<String>,
}

/// A static P-256 private key for ECDH-ES, held inside aws-lc-rs (a verifier's response
/// encryption key, a wallet's credential response key).
///
/// Its `Debug` shows the public key's thumbprint only; the private scalar leaves the type only
/// through [`DecryptionKey::to_private_jwk`].
pub struct DecryptionKey {
    private: agreement::PrivateKey,
    public: Jwk,
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("kid", &self.public.kid)
            .field("thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

impl DecryptionKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, JweError> {
        let private = agreement::PrivateKey::generate(&agreement::ECDH_P256)
            .map_err(|_| JweError::Crypto("P-256 key generation failed"))?;
        let public = public_jwk_of(&private)?;
        Ok(Self { private, public })
    }

    /// Loads a private EC P-256 JWK. `x`/`y` must be the public key of `d`; `kid` is kept;
    /// an `alg` other than `ECDH-ES` or a `use` other than `enc` is refused (RFC 7517 §4.2,
    /// §4.4: the key was meant for something else).
    pub fn from_private_jwk(jwk: &PrivateJwk) -> Result<Self, JweError> {
        let given = jwk.as_public_ref();
        check_p256_members(&given)?;
        check_intended_use(&jwk.to_public())?;
        let d = Zeroizing::new(
            b64::decode(jwk.d()).map_err(|_| JweError::InvalidKey("`d` is not base64url"))?,
        );
        let private = agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, &d)
            .map_err(|_| JweError::InvalidKey("`d` is not a P-256 private key"))?;
        let mut public = public_jwk_of(&private)?;
        if public.x.as_deref() != given.x || public.y.as_deref() != given.y {
            return Err(JweError::InvalidKey("`d` does not match `x`/`y`"));
        }
        let declared = jwk.to_public();
        public.kid = declared.kid;
        public.alg = declared.alg;
        public.use_ = declared.use_;
        Ok(Self { private, public })
    }

    /// Sets the `kid` of the public JWK (published in a JWKS, echoed in JWE headers).
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.public.kid = Some(kid.into());
        self
    }

    /// The key as a private JWK, for a key file. The caller must keep it secret.
    pub fn to_private_jwk(&self) -> Result<PrivateJwk, JweError> {
        let d: aws_lc_rs::encoding::EcPrivateKeyBin<'static> = self
            .private
            .as_be_bytes()
            .map_err(|_| JweError::Crypto("private key export failed"))?;
        Ok(PrivateJwk::new(&self.public, b64::encode(d.as_ref())))
    }

    /// The public key as a JWK (with its `kid`, `alg` and `use` if set), for client metadata
    /// `jwks` and the OpenID4VP handover thumbprint.
    pub fn public_jwk(&self) -> Jwk {
        self.public.clone()
    }

    /// The ECDH shared secret `Z` with `peer` (an uncompressed SEC1 point), passed to `kdf`.
    fn agree<R>(
        &self,
        peer: &[u8],
        kdf: impl FnOnce(&[u8]) -> Result<R, JweError>,
    ) -> Result<R, JweError> {
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, peer);
        agreement::agree(&self.private, peer, JweError::Decryption, kdf)
    }
}

/// The public JWK of an aws-lc-rs P-256 private key.
fn public_jwk_of(private: &agreement::PrivateKey) -> Result<Jwk, JweError> {
    let point = private
        .compute_public_key()
        .map_err(|_| JweError::Crypto("public key computation failed"))?;
    jwk_of_point(point.as_ref())
}

/// The public JWK of an uncompressed P-256 point.
fn jwk_of_point(point: &[u8]) -> Result<Jwk, JweError> {
    match point {
        [4, xy @ ..] if xy.len() == 64 => {
            let (x, y) = xy.split_at(32);
            Ok(Jwk::ec("P-256", b64::encode(x), b64::encode(y)))
        }
        _ => Err(JweError::Crypto(
            "public key is not an uncompressed P-256 point",
        )),
    }
}

/// `kty` `EC` and `crv` `P-256`, and the point (`x`, `y`) on the curve; returns the point.
fn check_p256_members(jwk: &JwkRef<'_>) -> Result<Vec<u8>, JweError> {
    if jwk.kty != "EC" {
        return Err(JweError::InvalidKey("`kty` is not `EC`"));
    }
    if jwk.crv != Some("P-256") {
        return Err(JweError::InvalidKey("`crv` is not `P-256`"));
    }
    // Parsing as a P-256 verification key checks the coordinates' length and that the point
    // lies on the curve (an off-curve point would leak the private key, the invalid-curve
    // attack); aws-lc-rs checks the same again when agreeing.
    let key = jwk
        .to_verifying_key()
        .map_err(|_| JweError::InvalidKey("`x`/`y` are not a point on P-256"))?;
    if key.algorithm() != Algorithm::Es256 {
        return Err(JweError::InvalidKey("`crv` is not `P-256`"));
    }
    Ok(key.sec1_uncompressed().to_vec())
}

/// A key marked for another algorithm or for signatures must not be used for ECDH-ES.
fn check_intended_use(jwk: &Jwk) -> Result<(), JweError> {
    if jwk.alg.as_deref().is_some_and(|alg| alg != ALG_ECDH_ES) {
        return Err(JweError::InvalidKey("JWK `alg` is not `ECDH-ES`"));
    }
    if jwk.use_.as_deref().is_some_and(|use_| use_ != "enc") {
        return Err(JweError::InvalidKey("JWK `use` is not `enc`"));
    }
    Ok(())
}

/// The Concat KDF of RFC 7518 §4.6.2 (NIST SP 800-56A §5.8.1 with SHA-256) for direct key
/// agreement: `AlgorithmID` is the `enc` name, `PartyUInfo`/`PartyVInfo` are `apu`/`apv`
/// (each length-prefixed, empty when absent), `SuppPubInfo` the key length in bits, and
/// `SuppPrivInfo` empty. The keys here are at most 256 bits, one SHA-256 round.
fn concat_kdf(
    z: &[u8],
    enc: ContentEncryption,
    apu: &[u8],
    apv: &[u8],
) -> Result<Zeroizing<Vec<u8>>, JweError> {
    let len32 = |n: usize| {
        u32::try_from(n)
            .map(u32::to_be_bytes)
            .map_err(|_| JweError::Malformed("KDF input too long"))
    };
    let key_len = enc.key_len();
    let mut hash = digest::Context::new(&digest::SHA256);
    hash.update(&1u32.to_be_bytes());
    hash.update(z);
    let name = enc.jose_name().as_bytes();
    hash.update(&len32(name.len())?);
    hash.update(name);
    hash.update(&len32(apu.len())?);
    hash.update(apu);
    hash.update(&len32(apv.len())?);
    hash.update(apv);
    hash.update(&len32(key_len * 8)?);
    let round = hash.finish();
    let cek = round
        .as_ref()
        .get(..key_len)
        .ok_or(JweError::Crypto("KDF output too short"))?;
    Ok(Zeroizing::new(cek.to_vec()))
}

/// Encrypts `plaintext` to `recipient` (a public EC P-256 JWK) with ECDH-ES and `enc`,
/// returning the compact JWE.
///
/// The recipient key is checked first: on the curve, and not marked for another algorithm
/// (`alg` other than `ECDH-ES`) or for signatures (`use` other than `enc`). A fresh ephemeral
/// key and IV are drawn from the system random generator for every call.
pub fn encrypt(
    plaintext: &[u8],
    recipient: &Jwk,
    enc: ContentEncryption,
    options: &EncryptOptions,
) -> Result<String, JweError> {
    let recipient_point = check_p256_members(&recipient.as_public_ref())?;
    check_intended_use(recipient)?;
    for party in [&options.apu, &options.apv].into_iter().flatten() {
        if party.len() > MAX_PARTY_INFO_LEN {
            return Err(JweError::Malformed("`apu`/`apv` is longer than accepted"));
        }
    }

    let ephemeral = DecryptionKey::generate()?;
    let apu = options.apu.as_deref().unwrap_or_default();
    let apv = options.apv.as_deref().unwrap_or_default();
    let cek = ephemeral.agree(&recipient_point, |z| concat_kdf(z, enc, apu, apv))?;

    let mut header = Map::new();
    header.insert("alg".into(), ALG_ECDH_ES.into());
    header.insert("enc".into(), enc.jose_name().into());
    let epk = serde_json::to_value(ephemeral.public_jwk())
        .map_err(|_| JweError::Crypto("ephemeral key does not serialize"))?;
    header.insert("epk".into(), epk);
    if let Some(apu) = &options.apu {
        header.insert("apu".into(), b64::encode(apu).into());
    }
    if let Some(apv) = &options.apv {
        header.insert("apv".into(), b64::encode(apv).into());
    }
    for (name, value) in [
        ("kid", &options.kid),
        ("typ", &options.typ),
        ("cty", &options.cty),
    ] {
        if let Some(value) = value {
            header.insert(name.into(), value.as_str().into());
        }
    }
    let header_json = serde_json::to_vec(&Value::Object(header))
        .map_err(|_| JweError::Crypto("header does not serialize"))?;
    let header_b64 = b64::encode(header_json);

    let mut iv = [0u8; IV_LEN];
    SystemRandom::new()
        .fill(&mut iv)
        .map_err(|_| JweError::Crypto("random generator failed"))?;
    let key = aead_key(enc, &cek)?;
    let mut buffer = Zeroizing::new(plaintext.to_vec());
    let tag = key
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(iv),
            aead::Aad::from(header_b64.as_bytes()),
            &mut buffer,
        )
        .map_err(|_| JweError::Crypto("AES-GCM encryption failed"))?;

    // Direct key agreement: the JWE Encrypted Key is the empty octet sequence (RFC 7518 §4.6).
    let mut out = header_b64;
    out.push_str("..");
    b64::encode_into(iv, &mut out);
    out.push('.');
    b64::encode_into(&*buffer, &mut out);
    out.push('.');
    b64::encode_into(tag.as_ref(), &mut out);
    Ok(out)
}

fn aead_key(enc: ContentEncryption, cek: &[u8]) -> Result<aead::LessSafeKey, JweError> {
    aead::UnboundKey::new(enc.aead(), cek)
        .map(aead::LessSafeKey::new)
        .map_err(|_| JweError::Crypto("content key has the wrong length"))
}

/// A decrypted JWE: its protected header (authenticated, as it was the AAD) and plaintext.
///
/// The plaintext is personal data more often than not (a presentation, a credential), so
/// `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decrypted {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The decrypted content.
    pub plaintext: Vec<u8>,
    /// The content encryption algorithm the token used.
    pub enc: ContentEncryption,
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("header", &self.header)
            .field("plaintext_len", &self.plaintext.len())
            .field("enc", &self.enc)
            .finish()
    }
}

impl Decrypted {
    /// `kid`, when the header has it as a string.
    pub fn kid(&self) -> Option<&str> {
        self.string("kid")
    }

    /// `typ`, when the header has it as a string.
    pub fn typ(&self) -> Option<&str> {
        self.string("typ")
    }

    /// `cty`, when the header has it as a string.
    pub fn cty(&self) -> Option<&str> {
        self.string("cty")
    }

    /// The decoded `apu`, when present ([`decrypt`] has checked it is base64url).
    pub fn apu(&self) -> Option<Vec<u8>> {
        self.string("apu").and_then(|v| b64::decode(v).ok())
    }

    /// The decoded `apv`, when present ([`decrypt`] has checked it is base64url).
    pub fn apv(&self) -> Option<Vec<u8>> {
        self.string("apv").and_then(|v| b64::decode(v).ok())
    }

    fn string(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }
}

/// The five parts of a compact JWE, split.
struct Parts<'a> {
    header_b64: &'a str,
    header: Map<String, Value>,
    encrypted_key: &'a str,
    iv: &'a str,
    ciphertext: &'a str,
    tag: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, JweError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JweError::TooLarge {
            len: token.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(encrypted_key), Some(iv), Some(ciphertext), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(JweError::Malformed("expected five dot-separated parts"));
    };
    let header_bytes =
        b64::decode(header_b64).map_err(|_| JweError::Malformed("header is not base64url"))?;
    let header = parse_header(&header_bytes)?;
    Ok(Parts {
        header_b64,
        header,
        encrypted_key,
        iv,
        ciphertext,
        tag,
    })
}

/// The protected header of a compact JWE, decoded but **not authenticated**: only for choosing
/// the decryption key (by `kid`) before calling [`decrypt`], which authenticates it.
pub fn unverified_header(token: &str) -> Result<Map<String, Value>, JweError> {
    split(token).map(|parts| parts.header)
}

/// A JSON object whose member names are distinct (RFC 7516 §4: a recipient may refuse
/// duplicates; a header read two ways by two parsers is how confusion attacks start).
fn parse_header(bytes: &[u8]) -> Result<Map<String, Value>, JweError> {
    struct Strict;
    impl<'de> Visitor<'de> for Strict {
        type Value = Map<String, Value>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Map::new();
            while let Some(name) = map.next_key::<String>()? {
                let value: Value = map.next_value()?;
                if out.insert(name.clone(), value).is_some() {
                    return Err(serde::de::Error::custom(format!(
                        "member `{name}` is given twice"
                    )));
                }
            }
            Ok(out)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let header = deserializer
        .deserialize_map(Strict)
        .map_err(|e| JweError::MalformedHeader(e.to_string()))?;
    deserializer
        .end()
        .map_err(|e| JweError::MalformedHeader(e.to_string()))?;
    Ok(header)
}

/// A header member that must be a string when present.
fn header_string<'a>(
    header: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, JweError> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(JweError::MalformedHeader(format!(
            "`{name}` is not a string"
        ))),
    }
}

/// `apu`/`apv`: base64url of at most [`MAX_PARTY_INFO_LEN`] bytes, empty when absent.
fn party_info(header: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JweError> {
    let Some(text) = header_string(header, name)? else {
        return Ok(Vec::new());
    };
    if text.len() > b64::encoded_len(MAX_PARTY_INFO_LEN) {
        return Err(JweError::MalformedHeader(format!(
            "`{name}` is longer than accepted"
        )));
    }
    b64::decode(text).map_err(|_| JweError::MalformedHeader(format!("`{name}` is not base64url")))
}

/// Decrypts a compact JWE with `key`, accepting only the content encryption algorithms in
/// `allowed`. See the module documentation for every check made.
pub fn decrypt(
    token: &str,
    key: &DecryptionKey,
    allowed: &[ContentEncryption],
) -> Result<Decrypted, JweError> {
    let parts = split(token)?;
    let header = &parts.header;

    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        Some(_) => return Err(JweError::MalformedHeader("`alg` is not a string".into())),
        None => return Err(JweError::MalformedHeader("`alg` is missing".into())),
    };
    if alg != ALG_ECDH_ES {
        return Err(JweError::UnsupportedAlgorithm(alg.to_owned()));
    }
    // Checked after `alg`, so a token made with key wrapping is refused for its algorithm,
    // which tells its sender what to change.
    if !parts.encrypted_key.is_empty() {
        return Err(JweError::Malformed(
            "the encrypted key must be empty for ECDH-ES direct key agreement",
        ));
    }
    let enc = match header.get("enc") {
        Some(Value::String(enc)) => ContentEncryption::from_jose(enc)
            .filter(|enc| allowed.contains(enc))
            .ok_or_else(|| JweError::UnsupportedEncryption(enc.clone()))?,
        Some(_) => return Err(JweError::MalformedHeader("`enc` is not a string".into())),
        None => return Err(JweError::MalformedHeader("`enc` is missing".into())),
    };
    // RFC 7516 §4.1.3: `zip` compresses before encrypting; refused (compression side channels,
    // decompression bombs). RFC 7516 §4.1.13: a recipient must refuse a `crit` it does not
    // understand, and no extension is understood here.
    for refused in ["zip", "crit"] {
        if header.contains_key(refused) {
            return Err(JweError::UnsupportedHeader(refused));
        }
    }
    for name in ["kid", "typ", "cty"] {
        header_string(header, name)?;
    }
    let apu = party_info(header, "apu")?;
    let apv = party_info(header, "apv")?;
    let epk_point = {
        let epk = header
            .get("epk")
            .ok_or_else(|| JweError::MalformedHeader("`epk` is missing".into()))?;
        let Value::Object(members) = epk else {
            return Err(JweError::MalformedHeader(
                "`epk` is not a JSON object".into(),
            ));
        };
        // An ephemeral key carries its public members only (RFC 7518 §4.6.1.1).
        if ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|private| members.contains_key(*private))
        {
            return Err(JweError::InvalidKey("`epk` contains a private key member"));
        }
        let epk: JwkRef<'_> = serde::Deserialize::deserialize(epk)
            .map_err(|_| JweError::MalformedHeader("`epk` is not a JWK".into()))?;
        check_p256_members(&epk)?
    };

    let mut iv = [0u8; IV_LEN];
    if b64::decode_to_slice(parts.iv, &mut iv) != Ok(IV_LEN) {
        return Err(JweError::Malformed("the IV is not 96 bits of base64url"));
    }
    let mut tag = [0u8; TAG_LEN];
    if b64::decode_to_slice(parts.tag, &mut tag) != Ok(TAG_LEN) {
        return Err(JweError::Malformed(
            "the authentication tag is not 128 bits of base64url",
        ));
    }
    let mut buffer = Zeroizing::new(
        b64::decode(parts.ciphertext)
            .map_err(|_| JweError::Malformed("the ciphertext is not base64url"))?,
    );

    let cek = key.agree(&epk_point, |z| concat_kdf(z, enc, &apu, &apv))?;
    let opened = aead_key(enc, &cek)?
        .open_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(iv),
            aead::Aad::from(parts.header_b64.as_bytes()),
            &tag,
            &mut buffer,
        )
        .map(|plaintext| plaintext.len());
    // On failure `buffer` (which may hold a partial decryption) is wiped when dropped.
    let len = opened.map_err(|_| JweError::Decryption)?;
    let mut plaintext = std::mem::take(&mut *buffer);
    plaintext.truncate(len);
    Ok(Decrypted {
        header: parts.header,
        plaintext,
        enc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7518 Appendix C: Bob's static key (the recipient).
    const BOB: &str = r#"{"kty":"EC","crv":"P-256","x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ","y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck","d":"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"}"#;
    /// RFC 7518 Appendix C: Alice's ephemeral public key.
    const ALICE_EPK: &str = r#"{"kty":"EC","crv":"P-256","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"}"#;
    /// RFC 7518 Appendix C: the shared secret Z.
    const Z: [u8; 32] = [
        158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110,
        163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
    ];

    fn bob() -> DecryptionKey {
        DecryptionKey::from_private_jwk(&serde_json::from_str(BOB).unwrap()).unwrap()
    }

    fn alice_point() -> Vec<u8> {
        let epk: Jwk = serde_json::from_str(ALICE_EPK).unwrap();
        check_p256_members(&epk.as_public_ref()).unwrap()
    }

    #[test]
    fn rfc7518_appendix_c_key_agreement_and_kdf() {
        let z = bob().agree(&alice_point(), |z| Ok(z.to_vec())).unwrap();
        assert_eq!(z, Z);
        let cek = concat_kdf(&Z, ContentEncryption::A128Gcm, b"Alice", b"Bob").unwrap();
        assert_eq!(b64::encode(&*cek), "VqqN6vgjbSBcIijNcacQGg");
        // Each KDF input matters.
        for other in [
            concat_kdf(&Z, ContentEncryption::A128Gcm, b"Alice", b"").unwrap(),
            concat_kdf(&Z, ContentEncryption::A128Gcm, b"", b"Bob").unwrap(),
            concat_kdf(&Z, ContentEncryption::A128Gcm, b"Bob", b"Alice").unwrap(),
        ] {
            assert_ne!(*other, *cek);
        }
        let long = concat_kdf(&Z, ContentEncryption::A256Gcm, b"Alice", b"Bob").unwrap();
        assert_eq!(long.len(), 32);
        assert_ne!(long.get(..16), Some(&cek[..]));
    }

    /// A JWE built by hand from the RFC 7518 Appendix C header, encrypted with the derived
    /// key computed independently of [`decrypt`]: decrypting with Bob's key must recover it.
    #[test]
    fn rfc7518_appendix_c_header_decrypts_with_bobs_key() {
        let header = format!(
            r#"{{"alg":"ECDH-ES","enc":"A128GCM","apu":"QWxpY2U","apv":"Qm9i","epk":{ALICE_EPK}}}"#
        );
        let header_b64 = b64::encode(&header);
        let cek = b64::decode("VqqN6vgjbSBcIijNcacQGg").unwrap();
        let iv = [7u8; IV_LEN];
        let mut data = b"Appendix C".to_vec();
        let tag = aead_key(ContentEncryption::A128Gcm, &cek)
            .unwrap()
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(iv),
                aead::Aad::from(header_b64.as_bytes()),
                &mut data,
            )
            .unwrap();
        let token = format!(
            "{header_b64}..{}.{}.{}",
            b64::encode(iv),
            b64::encode(&data),
            b64::encode(tag.as_ref())
        );
        let out = decrypt(&token, &bob(), &ContentEncryption::ALL).unwrap();
        assert_eq!(out.plaintext, b"Appendix C");
        assert_eq!(out.apu().as_deref(), Some(&b"Alice"[..]));
        assert_eq!(out.apv().as_deref(), Some(&b"Bob"[..]));
        assert_eq!(out.enc, ContentEncryption::A128Gcm);
        // Only A256GCM allowed: refused before any decryption.
        assert_eq!(
            decrypt(&token, &bob(), &[ContentEncryption::A256Gcm]),
            Err(JweError::UnsupportedEncryption("A128GCM".into()))
        );
    }

    #[test]
    fn round_trips_both_encs_with_every_option() {
        let key = DecryptionKey::generate().unwrap().with_kid("enc-1");
        for enc in ContentEncryption::ALL {
            let options = EncryptOptions {
                kid: Some("enc-1".into()),
                apu: Some(b"wallet nonce".to_vec()),
                apv: Some(b"verifier nonce".to_vec()),
                typ: Some("oauth-authz-resp+jwt".into()),
                cty: Some("json".into()),
            };
            let token = encrypt(b"{\"vp_token\":{}}", &key.public_jwk(), enc, &options).unwrap();
            assert_eq!(token.split('.').nth(1), Some(""));
            let out = decrypt(&token, &key, &ContentEncryption::ALL).unwrap();
            assert_eq!(out.plaintext, b"{\"vp_token\":{}}");
            assert_eq!(out.enc, enc);
            assert_eq!(out.kid(), Some("enc-1"));
            assert_eq!(out.typ(), Some("oauth-authz-resp+jwt"));
            assert_eq!(out.cty(), Some("json"));
            assert_eq!(out.apu().as_deref(), Some(&b"wallet nonce"[..]));
            assert_eq!(out.apv().as_deref(), Some(&b"verifier nonce"[..]));
            assert_eq!(out.header["enc"], enc.jose_name());
            assert_eq!(unverified_header(&token).unwrap(), out.header);
            // The epk is public only.
            let epk = out.header["epk"].as_object().unwrap();
            assert!(!epk.contains_key("d"));
            // Debug never shows the plaintext.
            assert!(!format!("{out:?}").contains("vp_token"));
        }
        // Without options: no apu/apv/kid; an empty plaintext works too.
        let token = encrypt(
            b"",
            &key.public_jwk(),
            ContentEncryption::A128Gcm,
            &EncryptOptions::default(),
        )
        .unwrap();
        let out = decrypt(&token, &key, &ContentEncryption::ALL).unwrap();
        assert!(out.plaintext.is_empty());
        assert_eq!(out.apu(), None);
        assert_eq!(out.kid(), None);
        // Two encryptions of the same plaintext differ (fresh epk and IV).
        let again = encrypt(
            b"",
            &key.public_jwk(),
            ContentEncryption::A128Gcm,
            &EncryptOptions::default(),
        )
        .unwrap();
        assert_ne!(token, again);
    }

    fn token(key: &DecryptionKey) -> String {
        encrypt(
            b"secret presentation",
            &key.public_jwk(),
            ContentEncryption::A256Gcm,
            &EncryptOptions {
                apv: Some(b"n".to_vec()),
                ..EncryptOptions::default()
            },
        )
        .unwrap()
    }

    /// Flips one bit of the decoded part `index`, re-encoded.
    fn tamper(token: &str, index: usize) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut bytes = b64::decode(&parts[index]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        parts[index] = b64::encode(&bytes);
        parts.join(".")
    }

    #[test]
    fn tampered_ciphertext_tag_iv_or_header_is_refused() {
        let key = DecryptionKey::generate().unwrap();
        let token = token(&key);
        for index in [2, 3, 4] {
            assert_eq!(
                decrypt(&tamper(&token, index), &key, &ContentEncryption::ALL),
                Err(JweError::Decryption),
                "part {index}"
            );
        }
        // A header changed to other valid JSON (here: `apv` replaced) fails the tag (it is the
        // AAD, and `apv` feeds the KDF).
        let mut header = unverified_header(&token).unwrap();
        header.insert("apv".into(), b64::encode("m").into());
        let mut parts: Vec<&str> = token.split('.').collect();
        let changed = b64::encode(serde_json::to_vec(&header).unwrap());
        parts[0] = &changed;
        assert_eq!(
            decrypt(&parts.join("."), &key, &ContentEncryption::ALL),
            Err(JweError::Decryption)
        );
        // A header member added after the fact: same.
        let mut header = unverified_header(&token).unwrap();
        header.insert("kid".into(), "other".into());
        let changed = b64::encode(serde_json::to_vec(&header).unwrap());
        parts[0] = &changed;
        assert_eq!(
            decrypt(&parts.join("."), &key, &ContentEncryption::ALL),
            Err(JweError::Decryption)
        );
        // A truncated ciphertext.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[3].truncate(4);
        assert_eq!(
            decrypt(&parts.join("."), &key, &ContentEncryption::ALL),
            Err(JweError::Decryption)
        );
        assert_eq!(JweError::Decryption.code(), ErrorCode::InvalidSignature);
    }

    #[test]
    fn wrong_key_is_refused() {
        let key = DecryptionKey::generate().unwrap();
        let other = DecryptionKey::generate().unwrap();
        assert_eq!(
            decrypt(&token(&key), &other, &ContentEncryption::ALL),
            Err(JweError::Decryption)
        );
    }

    /// A token with `header` (JSON text) and valid-looking other parts.
    fn with_header(header: &str) -> String {
        format!(
            "{}..{}.{}.{}",
            b64::encode(header),
            b64::encode([0u8; IV_LEN]),
            b64::encode(b"x"),
            b64::encode([0u8; TAG_LEN])
        )
    }

    #[test]
    fn unsupported_alg_enc_and_headers_are_refused_by_name() {
        let key = DecryptionKey::generate().unwrap();
        let epk = key.public_jwk();
        let epk = serde_json::to_string(&epk).unwrap();
        let all = ContentEncryption::ALL;
        for (header, expected) in [
            (
                format!(r#"{{"alg":"ECDH-ES+A128KW","enc":"A128GCM","epk":{epk}}}"#),
                JweError::UnsupportedAlgorithm("ECDH-ES+A128KW".into()),
            ),
            (
                format!(r#"{{"alg":"RSA-OAEP-256","enc":"A128GCM","epk":{epk}}}"#),
                JweError::UnsupportedAlgorithm("RSA-OAEP-256".into()),
            ),
            (
                r#"{"alg":"dir","enc":"A128GCM"}"#.to_owned(),
                JweError::UnsupportedAlgorithm("dir".into()),
            ),
            (
                format!(r#"{{"alg":"ECDH-ES","enc":"A128CBC-HS256","epk":{epk}}}"#),
                JweError::UnsupportedEncryption("A128CBC-HS256".into()),
            ),
            (
                format!(r#"{{"alg":"ECDH-ES","enc":"A192GCM","epk":{epk}}}"#),
                JweError::UnsupportedEncryption("A192GCM".into()),
            ),
            (
                format!(r#"{{"alg":"ECDH-ES","enc":"A128GCM","zip":"DEF","epk":{epk}}}"#),
                JweError::UnsupportedHeader("zip"),
            ),
            (
                format!(r#"{{"alg":"ECDH-ES","enc":"A128GCM","crit":["x"],"x":1,"epk":{epk}}}"#),
                JweError::UnsupportedHeader("crit"),
            ),
            (
                r#"{"alg":"ECDH-ES","enc":"A128GCM"}"#.to_owned(),
                JweError::MalformedHeader("`epk` is missing".into()),
            ),
            (
                format!(r#"{{"enc":"A128GCM","epk":{epk}}}"#),
                JweError::MalformedHeader("`alg` is missing".into()),
            ),
            (
                format!(r#"{{"alg":"ECDH-ES","epk":{epk}}}"#),
                JweError::MalformedHeader("`enc` is missing".into()),
            ),
            (
                format!(r#"{{"alg":"ECDH-ES","enc":"A128GCM","kid":7,"epk":{epk}}}"#),
                JweError::MalformedHeader("`kid` is not a string".into()),
            ),
            (
                format!(r#"{{"alg":"ECDH-ES","enc":"A128GCM","apu":"!!","epk":{epk}}}"#),
                JweError::MalformedHeader("`apu` is not base64url".into()),
            ),
        ] {
            assert_eq!(
                decrypt(&with_header(&header), &key, &all),
                Err(expected),
                "{header}"
            );
        }
        assert_eq!(
            JweError::UnsupportedAlgorithm("dir".into()).code(),
            ErrorCode::UnsupportedAlgorithm
        );
    }

    #[test]
    fn bad_epk_is_refused() {
        let key = DecryptionKey::generate().unwrap();
        let good = serde_json::to_value(key.public_jwk()).unwrap();
        let x = good["x"].as_str().unwrap().to_owned();
        let mut cases = Vec::new();
        let mut with_d = good.clone();
        with_d["d"] = "AAAA".into();
        cases.push((with_d, "`epk` contains a private key member"));
        let mut off_curve = good.clone();
        off_curve["y"] = x.clone().into();
        cases.push((off_curve, "`x`/`y` are not a point on P-256"));
        let mut p384 = good.clone();
        p384["crv"] = "P-384".into();
        cases.push((p384, "`crv` is not `P-256`"));
        let mut okp = good.clone();
        okp["kty"] = "OKP".into();
        cases.push((okp, "`kty` is not `EC`"));
        for (epk, reason) in cases {
            let header = format!(r#"{{"alg":"ECDH-ES","enc":"A128GCM","epk":{epk}}}"#);
            assert_eq!(
                decrypt(&with_header(&header), &key, &ContentEncryption::ALL),
                Err(JweError::InvalidKey(reason)),
                "{epk}"
            );
        }
        let header = r#"{"alg":"ECDH-ES","enc":"A128GCM","epk":"key"}"#;
        assert!(matches!(
            decrypt(&with_header(header), &key, &ContentEncryption::ALL),
            Err(JweError::MalformedHeader(_))
        ));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let key = DecryptionKey::generate().unwrap();
        let token = token(&key);
        let parts: Vec<&str> = token.split('.').collect();
        let all = ContentEncryption::ALL;
        // Wrong part counts, a non-empty encrypted key, bad base64url, IV and tag lengths.
        for (bad, reason) in [
            (parts[..4].join("."), "expected five dot-separated parts"),
            (format!("{token}."), "expected five dot-separated parts"),
            (
                [parts[0], "AAAA", parts[2], parts[3], parts[4]].join("."),
                "the encrypted key must be empty for ECDH-ES direct key agreement",
            ),
            (
                ["!!", "", parts[2], parts[3], parts[4]].join("."),
                "header is not base64url",
            ),
            (
                [parts[0], "", "AAAA", parts[3], parts[4]].join("."),
                "the IV is not 96 bits of base64url",
            ),
            (
                [parts[0], "", parts[2], parts[3], "AAAA"].join("."),
                "the authentication tag is not 128 bits of base64url",
            ),
            (
                [parts[0], "", parts[2], "!!", parts[4]].join("."),
                "the ciphertext is not base64url",
            ),
        ] {
            assert_eq!(
                decrypt(&bad, &key, &all),
                Err(JweError::Malformed(reason)),
                "{bad}"
            );
        }
        // Header JSON: not an object, trailing data, a member given twice.
        for header in [
            "[]".to_owned(),
            "{} {}".to_owned(),
            r#"{"alg":"ECDH-ES","alg":"ECDH-ES","enc":"A128GCM"}"#.to_owned(),
        ] {
            assert!(
                matches!(
                    decrypt(&with_header(&header), &key, &all),
                    Err(JweError::MalformedHeader(_))
                ),
                "{header}"
            );
        }
        // The size limit comes first.
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            decrypt(&huge, &key, &all),
            Err(JweError::TooLarge {
                len: MAX_TOKEN_LEN + 1,
                max: MAX_TOKEN_LEN
            })
        );
        assert_eq!(
            decrypt(&huge, &key, &all).unwrap_err().code(),
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn recipient_keys_are_checked_before_encrypting() {
        let key = DecryptionKey::generate().unwrap();
        let enc = ContentEncryption::A128Gcm;
        let options = EncryptOptions::default();
        let mut signing = key.public_jwk();
        signing.use_ = Some("sig".into());
        assert_eq!(
            encrypt(b"x", &signing, enc, &options),
            Err(JweError::InvalidKey("JWK `use` is not `enc`"))
        );
        let mut other_alg = key.public_jwk();
        other_alg.alg = Some("ECDH-ES+A256KW".into());
        assert_eq!(
            encrypt(b"x", &other_alg, enc, &options),
            Err(JweError::InvalidKey("JWK `alg` is not `ECDH-ES`"))
        );
        let mut marked = key.public_jwk();
        marked.alg = Some("ECDH-ES".into());
        marked.use_ = Some("enc".into());
        encrypt(b"x", &marked, enc, &options).unwrap();
        let p384 = crate::key::SoftwareKey::generate(Algorithm::Es384).unwrap();
        let p384 = crate::key::Signer::verifying_key(&p384).to_jwk();
        assert_eq!(
            encrypt(b"x", &p384, enc, &options),
            Err(JweError::InvalidKey("`crv` is not `P-256`"))
        );
        let long = EncryptOptions {
            apu: Some(vec![0; MAX_PARTY_INFO_LEN + 1]),
            ..EncryptOptions::default()
        };
        assert!(matches!(
            encrypt(b"x", &key.public_jwk(), enc, &long),
            Err(JweError::Malformed(_))
        ));
    }

    #[test]
    fn private_jwk_round_trip_and_checks() {
        let key = DecryptionKey::generate().unwrap().with_kid("k1");
        let private = key.to_private_jwk().unwrap();
        let again = DecryptionKey::from_private_jwk(&private).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk());
        assert_eq!(again.public_jwk().kid.as_deref(), Some("k1"));
        // A token for the original opens with the reloaded key.
        let out = decrypt(&token(&key), &again, &ContentEncryption::ALL).unwrap();
        assert_eq!(out.plaintext, b"secret presentation");
        // Debug shows no private material.
        let debug = format!("{again:?}");
        assert!(debug.contains("thumbprint"), "{debug}");
        assert!(!format!("{:?}", bob()).contains("VEmDZpDX"));

        // `d` of another key, a signing key, the wrong curve.
        let other = DecryptionKey::generate().unwrap().to_private_jwk().unwrap();
        let mismatched: PrivateJwk = PrivateJwk::new(&key.public_jwk(), other.d().to_owned());
        assert_eq!(
            DecryptionKey::from_private_jwk(&mismatched).unwrap_err(),
            JweError::InvalidKey("`d` does not match `x`/`y`")
        );
        let mut signing = key.public_jwk();
        signing.alg = Some("ES256".into());
        let signing = PrivateJwk::new(&signing, private.d().to_owned());
        assert_eq!(
            DecryptionKey::from_private_jwk(&signing).unwrap_err(),
            JweError::InvalidKey("JWK `alg` is not `ECDH-ES`")
        );
        let not_b64 = PrivateJwk::new(&key.public_jwk(), "!!".into());
        assert_eq!(
            DecryptionKey::from_private_jwk(&not_b64).unwrap_err(),
            JweError::InvalidKey("`d` is not base64url")
        );
    }
}
