//! Format-agnostic credential verification for relying parties and the `eudi-verifier` CLI.
//!
//! One [`CredentialVerifier`] holds the trust configuration (X.509 trust anchors and JWKs, each
//! with an optional assurance-level ceiling), a cache of validated certificate chains and a
//! ttl-bounded cache of verified status lists. [`CredentialVerifier::verify`] takes one
//! presentation as text, detects its format, resolves and validates the issuer key, runs the
//! format's checks (SD-JWT VC: RFC 9901 + draft-ietf-oauth-sd-jwt-vc), checks the Token Status
//! List (draft-ietf-oauth-status-list §8) and answers with one [`Report`]: valid with the
//! disclosed claims, or invalid with machine-readable error codes and human-readable messages.
//!
//! Network access (status lists, JWT VC Issuer Metadata) goes through the [`fetch::Fetcher`]
//! trait, so tests and offline runs never touch the network.
#![forbid(unsafe_code)]

pub mod fetch;
mod report;
mod sd_jwt;
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
    /// Status List Tokens supplied out of band (JWT form); used instead of fetching when their
    /// `sub` matches the credential's status URI.
    pub status_lists: Vec<String>,
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
            Detected::Binary => Report::invalid(
                "mso_mdoc",
                ReportError::new(
                    ErrorCode::UnsupportedFormat,
                    "this looks like an ISO mdoc (hex or base64url CBOR); mdoc verification is not available in this build",
                ),
            ),
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

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
