//! The `_sd_alg` hash functions (RFC 9901 §4.1.1). SHA-256 is the default; SHA-384 and SHA-512
//! are accepted on input.

use aws_lc_rs::digest;
use eudi_trust::b64;

use crate::SdJwtError;

/// A hash function usable for disclosure digests and `sd_hash`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SdAlg {
    /// `sha-256` (the default when `_sd_alg` is absent).
    #[default]
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
}

impl SdAlg {
    /// Parses an IANA Named Information hash algorithm name.
    pub fn from_name(name: &str) -> Result<Self, SdJwtError> {
        match name {
            "sha-256" => Ok(Self::Sha256),
            "sha-384" => Ok(Self::Sha384),
            "sha-512" => Ok(Self::Sha512),
            other => Err(SdJwtError::UnsupportedHashAlgorithm(other.to_owned())),
        }
    }

    /// The `_sd_alg` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha-256",
            Self::Sha384 => "sha-384",
            Self::Sha512 => "sha-512",
        }
    }

    pub(crate) fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }

    /// The raw digest of `input`.
    pub fn digest(self, input: &[u8]) -> digest::Digest {
        digest::digest(self.algorithm(), input)
    }

    /// `base64url(hash(ASCII(input)))`, the digest of a disclosure or of a presentation.
    pub fn digest_b64(self, input: &[u8]) -> String {
        b64::encode(digest::digest(self.algorithm(), input))
    }
}

/// A base64url digest kept on the stack (SHA-512 gives 86 characters): of a disclosure, when
/// issuing and when verifying, or of a decoy.
///
/// Ordered by `prefix`, its first 8 characters as a big-endian integer, then by the text, so
/// sorting and searching mostly compare one integer. For digests of one algorithm, which all
/// have one length, that is alphabetical order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DigestText {
    prefix: u64,
    len: u8,
    text: [u8; 86],
}

impl DigestText {
    pub(crate) const EMPTY: Self = Self {
        prefix: 0,
        len: 0,
        text: [0; 86],
    };

    /// The digest of `input`; `None` only if the digest did not fit (a bug).
    pub(crate) fn of(alg: SdAlg, input: &[u8]) -> Option<Self> {
        let mut d = Self::EMPTY;
        d.set(alg, input).then_some(d)
    }

    /// Sets this to the digest of `input`, in place (the issuer writes its digest stack
    /// directly rather than moving 96-byte values along). Returns `false`, leaving this empty,
    /// only if the digest did not fit (a bug).
    #[must_use]
    pub(crate) fn set(&mut self, alg: SdAlg, input: &[u8]) -> bool {
        let len = b64::encode_to_slice(alg.digest(input), &mut self.text);
        // Every digest has more than 8 characters: the prefix is the text's first 8 bytes.
        match (u8::try_from(len), self.text.first_chunk::<8>()) {
            (Ok(len), Some(head)) if len > 8 => {
                self.len = len;
                self.prefix = u64::from_be_bytes(*head);
                true
            }
            _ => {
                *self = Self::EMPTY;
                false
            }
        }
    }

    /// A digest string read from a payload, to look up among computed digests; `None` when it
    /// is longer than any digest (so it matches none).
    pub(crate) fn from_text(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let mut d = Self::EMPTY;
        d.text.get_mut(..bytes.len())?.copy_from_slice(bytes);
        d.len = u8::try_from(bytes.len()).ok()?;
        d.prefix = Self::prefix_of(bytes);
        Some(d)
    }

    /// The first 8 bytes of a digest string as a big-endian integer (zero-padded).
    pub(crate) fn prefix_of(text: &[u8]) -> u64 {
        let mut bytes = [0u8; 8];
        let n = text.len().min(8);
        if let (Some(to), Some(from)) = (bytes.get_mut(..n), text.get(..n)) {
            to.copy_from_slice(from);
        }
        u64::from_be_bytes(bytes)
    }

    pub(crate) fn prefix(&self) -> u64 {
        self.prefix
    }

    /// The digest text; `None` only if the length were ever out of range (a bug).
    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        self.text.get(..usize::from(self.len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9901_disclosure_digest_example() {
        // RFC 9901 §4.2.1 / §4.2.3.
        let d = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";
        assert_eq!(
            SdAlg::Sha256.digest_b64(d.as_bytes()),
            "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
        );
    }

    #[test]
    fn names() {
        for alg in [SdAlg::Sha256, SdAlg::Sha384, SdAlg::Sha512] {
            assert_eq!(SdAlg::from_name(alg.name()).unwrap(), alg);
        }
        assert!(SdAlg::from_name("md5").is_err());
        assert!(SdAlg::from_name("SHA-256").is_err());
    }

    #[test]
    fn digest_text_is_checked() {
        let d = DigestText::of(SdAlg::Sha512, b"x").unwrap();
        assert_eq!(d.as_bytes().unwrap().len(), 86);
        // A payload string longer than any digest matches none.
        assert!(DigestText::from_text(&"A".repeat(87)).is_none());
        assert!(DigestText::from_text(&"A".repeat(86)).is_some());
        // A length out of range is reported, not an empty or short digest.
        let broken = DigestText { len: 87, ..d };
        assert_eq!(broken.as_bytes(), None);
    }
}
