//! Trust configuration: X.509 trust anchors and issuer JWKs, each with an optional ceiling on
//! the level of assurance credentials under it can reach.

use std::path::Path;

use eudi_trust::jwk::JwkSet;
use eudi_trust::{AssuranceLevel, Jwk, TrustAnchors, VerifyingKey, X509Error};

/// Why a trust file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The file could not be read.
    #[error("cannot read trust file {path}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A PEM certificate is invalid.
    #[error("trust file {path} has an invalid certificate")]
    Certificate {
        /// The file.
        path: String,
        /// What is wrong with it.
        #[source]
        source: X509Error,
    },
    /// A JWK or JWKS is invalid.
    #[error("trust file {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file is neither PEM certificates nor a JWK/JWKS.
    #[error("trust file {0} holds neither PEM certificates nor a JWK or JWK Set")]
    UnknownContent(String),
    /// `FILE=LEVEL` names no level.
    #[error("{0}")]
    Level(#[from] eudi_trust::loa::UnknownLevel),
}

/// A trusted issuer key given directly (not through a certificate).
#[derive(Clone, Debug)]
pub struct TrustedKey {
    /// The key.
    pub key: VerifyingKey,
    /// Its `kid`, used to pick it when a JWT names one.
    pub kid: Option<String>,
    /// Ceiling on the level of assurance.
    pub ceiling: Option<AssuranceLevel>,
    /// Where it came from (for reports).
    pub source: String,
}

/// Everything a verifier trusts.
#[derive(Clone, Debug, Default)]
pub struct TrustConfig {
    anchors: TrustAnchors,
    anchor_ceilings: Vec<Option<AssuranceLevel>>,
    keys: Vec<TrustedKey>,
}

impl TrustConfig {
    /// An empty configuration: nothing is trusted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the PEM certificates in `pem` as anchors with an optional ceiling.
    pub fn add_anchor_pem(
        &mut self,
        pem: &str,
        ceiling: Option<AssuranceLevel>,
    ) -> Result<usize, X509Error> {
        let added = self.anchors.add_pem(pem)?;
        self.anchor_ceilings
            .extend(std::iter::repeat_n(ceiling, added));
        Ok(added)
    }

    /// Adds a trusted issuer key.
    pub fn add_key(&mut self, key: TrustedKey) {
        self.keys.push(key);
    }

    /// The X.509 anchors.
    pub fn anchors(&self) -> &TrustAnchors {
        &self.anchors
    }

    /// The ceiling of anchor `index`.
    pub fn anchor_ceiling(&self, index: usize) -> Option<AssuranceLevel> {
        self.anchor_ceilings.get(index).copied().flatten()
    }

    /// The directly trusted keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Whether nothing at all is trusted.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty() && self.keys.is_empty()
    }
}

/// Loads `FILE` or `FILE=LEVEL` into `config`: PEM certificates become anchors, a JWK or JWK Set
/// becomes trusted keys. Returns how many entries were added.
pub fn load_trust_file(config: &mut TrustConfig, spec: &str) -> Result<usize, TrustError> {
    let (path, ceiling) = match spec.rsplit_once('=') {
        Some((p, level)) if !Path::new(spec).exists() => (p, Some(level.parse()?)),
        _ => (spec, None),
    };
    let text = std::fs::read_to_string(path).map_err(|source| TrustError::Io {
        path: path.to_owned(),
        source,
    })?;
    if text.contains("-----BEGIN CERTIFICATE-----") {
        return config
            .add_anchor_pem(&text, ceiling)
            .map_err(|source| TrustError::Certificate {
                path: path.to_owned(),
                source,
            });
    }
    let key_err = |reason: String| TrustError::Key {
        path: path.to_owned(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| TrustError::UnknownContent(path.to_owned()))?;
    let jwks: Vec<Jwk> = if value.get("keys").is_some() {
        serde_json::from_value::<JwkSet>(value)
            .map_err(|e| key_err(e.to_string()))?
            .keys
    } else {
        vec![serde_json::from_value(value).map_err(|e| key_err(e.to_string()))?]
    };
    let count = jwks.len();
    for jwk in jwks {
        let key = jwk.to_verifying_key().map_err(|e| key_err(e.to_string()))?;
        config.add_key(TrustedKey {
            key,
            kid: jwk.kid.clone(),
            ceiling,
            source: path.to_owned(),
        });
    }
    Ok(count)
}
