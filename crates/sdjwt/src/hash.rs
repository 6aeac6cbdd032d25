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
}
