//! Format-agnostic credential verification for relying parties and the `eudi-verifier` CLI.
//!
//! One [`CredentialVerifier`] holds the trust configuration (X.509 trust anchors and JWKs, each
//! with an optional assurance-level ceiling), a cache of validated certificate chains and a
//! ttl-bounded cache of verified status lists. [`CredentialVerifier::verify`] takes one
//! presentation as text, detects its format, resolves and validates the issuer key, runs the
//! format's checks (SD-JWT VC: RFC 9901 + draft-ietf-oauth-sd-jwt-vc; mdoc: ISO/IEC 18013-5
//! with the OpenID4VP 1.0 Annex B session transcript), checks the Token Status
//! List (draft-ietf-oauth-status-list §8) and answers with one [`Report`]: valid with the
//! disclosed claims, or invalid with machine-readable error codes and human-readable messages.
//!
//! Network access (status lists, JWT VC Issuer Metadata) goes through the [`fetch::Fetcher`]
//! trait, so tests and offline runs never touch the network.
#![forbid(unsafe_code)]

pub mod fetch;
mod mdoc;
mod report;
mod sd_jwt;
mod status;
pub mod trust;

use std::sync::Arc;

pub use report::{ErrorCode, Report, ReportError};
pub use trust::{TrustConfig, TrustError, load_trust_file};

use eudi_status_list::{CacheConfig, StatusListCache};
use eudi_trust::ChainValidator;

/// What the relying party expects of one presentation.
#[derive(Clone, Debug, Default)]
pub struct Expectations {
    /// The transaction nonce the KB-JWT (or mdoc transcript) must carry; implies holder binding.
    pub nonce: Option<String>,
    /// The audience (verifier client_id) the KB-JWT must carry; implies holder binding.
    pub audience: Option<String>,
    /// Verification time, seconds since the epoch; `None` uses the system clock.
    pub now: Option<i64>,
    /// Skip the status list check (offline use).
    pub skip_status: bool,
    /// Status List Tokens supplied out of band (JWT text, or CWT bytes); used instead of
    /// fetching when their `sub` matches the credential's status URI.
    pub status_lists: Vec<Vec<u8>>,
    /// mdoc: the OpenID4VP 1.0 handover the SessionTranscript is built from (Annex B).
    pub handover: Option<Handover>,
    /// mdoc: the SessionTranscript CBOR itself, for any other handover.
    pub session_transcript: Option<Vec<u8>>,
}

/// The OpenID4VP 1.0 `OpenID4VPHandover` inputs (OpenID4VP 1.0 Annex B.2.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    /// The verifier's `client_id`, with its prefix.
    pub client_id: String,
    /// The request nonce.
    pub nonce: String,
    /// The `response_uri`.
    pub response_uri: String,
    /// SHA-256 JWK thumbprint of the response encryption key, when the response is encrypted.
    pub jwk_thumbprint: Option<[u8; 32]>,
}

/// Verifies presentations against one trust configuration. Cheap to share (`Arc` inside).
#[derive(Clone, Debug)]
pub struct CredentialVerifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    trust: TrustConfig,
    chains: ChainValidator,
    status_cache: StatusListCache,
    fetcher: Arc<dyn fetch::Fetcher>,
}

impl CredentialVerifier {
    /// A verifier over `trust`, fetching over the network with `fetcher`.
    pub fn new(trust: TrustConfig, fetcher: Arc<dyn fetch::Fetcher>) -> Self {
        let chains = ChainValidator::new(trust.anchors().clone());
        Self {
            inner: Arc::new(Inner {
                trust,
                chains,
                status_cache: StatusListCache::new(CacheConfig::default()),
                fetcher,
            }),
        }
    }

    /// The trust configuration.
    pub fn trust(&self) -> &TrustConfig {
        &self.inner.trust
    }

    /// Verifies one presentation and reports the outcome. Never panics on any input.
    pub async fn verify(&self, input: &str, expect: &Expectations) -> Report {
        let now = expect.now.unwrap_or_else(unix_now);
        let input = input.trim();
        match detect(input) {
            Detected::SdJwt => sd_jwt::verify(&self.inner, input, expect, now).await,
            Detected::Binary => mdoc::verify(&self.inner, input, expect, now).await,
            Detected::Unknown => Report::invalid(
                "unknown",
                ReportError::new(
                    ErrorCode::Malformed,
                    "input is neither an SD-JWT (compact or JSON) nor an mdoc",
                ),
            ),
        }
    }
}

/// Why a `--handover` or hex argument is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArgumentError(String);

impl std::str::FromStr for Handover {
    type Err = ArgumentError;

    /// `CLIENT_ID,NONCE,RESPONSE_URI[,JWK_THUMBPRINT]`, the thumbprint base64url. Client IDs
    /// contain `:` (their prefix) but never `,`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split(',').collect();
        let (client_id, nonce, response_uri, thumbprint) = match parts.as_slice() {
            [c, n, r] => (*c, *n, *r, None),
            [c, n, r, t] => (*c, *n, *r, Some(*t)),
            _ => {
                return Err(ArgumentError(format!(
                    "expected CLIENT_ID,NONCE,RESPONSE_URI[,JWK_THUMBPRINT], got {} parts",
                    parts.len()
                )));
            }
        };
        if client_id.is_empty() || nonce.is_empty() || response_uri.is_empty() {
            return Err(ArgumentError(
                "client_id, nonce and response_uri must not be empty".into(),
            ));
        }
        let jwk_thumbprint = thumbprint
            .map(|t| {
                let bytes = eudi_trust::b64::decode(t)
                    .map_err(|_| ArgumentError("JWK_THUMBPRINT is not base64url".into()))?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| ArgumentError("JWK_THUMBPRINT is not 32 bytes".into()))
            })
            .transpose()?;
        Ok(Self {
            client_id: client_id.to_owned(),
            nonce: nonce.to_owned(),
            response_uri: response_uri.to_owned(),
            jwk_thumbprint,
        })
    }
}

/// Decodes hex (white space ignored).
pub fn decode_hex(text: &str) -> Result<Vec<u8>, ArgumentError> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(ArgumentError("odd number of hex digits".into()));
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| ArgumentError(format!("invalid hex digit at byte {}", 2 * i)))
        })
        .collect()
}

enum Detected {
    SdJwt,
    Binary,
    Unknown,
}

fn detect(input: &str) -> Detected {
    if input.starts_with('{') || input.contains('~') {
        Detected::SdJwt
    } else if !input.is_empty()
        && input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    {
        Detected::Binary
    } else {
        Detected::Unknown
    }
}

/// The effective level of assurance (DESIGN.md): min(level stated in the credential, ceiling of
/// the trust anchor that issued it); a credential that states none gets the ceiling.
fn effective_level(
    stated: Option<eudi_trust::AssuranceLevel>,
    ceiling: Option<eudi_trust::AssuranceLevel>,
) -> Option<eudi_trust::AssuranceLevel> {
    match (stated, ceiling) {
        (Some(s), Some(c)) => Some(s.min(c)),
        (s, c) => s.or(c),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handover_parsing() {
        let h: Handover = "x509_san_dns:rp.example,n-1,https://rp.example/post"
            .parse()
            .unwrap();
        assert_eq!(h.client_id, "x509_san_dns:rp.example");
        assert_eq!(h.jwk_thumbprint, None);
        let t = eudi_trust::b64::encode([7u8; 32]);
        let h: Handover = format!("c,n,https://r,{t}").parse().unwrap();
        assert_eq!(h.jwk_thumbprint, Some([7u8; 32]));
        for bad in ["a,b", "a,b,c,d,e", ",n,r", "c,n,r,!!", "c,n,r,AAAA"] {
            assert!(bad.parse::<Handover>().is_err(), "{bad}");
        }
    }

    #[test]
    fn level_is_capped_by_the_anchor() {
        use eudi_trust::AssuranceLevel::{High, Low, Substantial};
        assert_eq!(
            effective_level(Some(High), Some(Substantial)),
            Some(Substantial)
        );
        assert_eq!(effective_level(Some(Low), Some(High)), Some(Low));
        assert_eq!(effective_level(None, Some(High)), Some(High));
        assert_eq!(effective_level(Some(Substantial), None), Some(Substantial));
        assert_eq!(effective_level(None, None), None);
    }

    #[test]
    fn hex() {
        assert_eq!(decode_hex("00ff 10").unwrap(), vec![0, 255, 16]);
        assert!(decode_hex("0").is_err());
        assert!(decode_hex("zz").is_err());
    }

    #[test]
    fn detection() {
        assert!(matches!(detect("a.b.c~"), Detected::SdJwt));
        assert!(matches!(detect("{\"payload\":1}"), Detected::SdJwt));
        assert!(matches!(detect("a36776"), Detected::Binary));
        assert!(matches!(detect("o2d2ZXJzaW9u"), Detected::Binary));
        assert!(matches!(detect(""), Detected::Unknown));
        assert!(matches!(detect("not an mdoc!"), Detected::Unknown));
    }
}
