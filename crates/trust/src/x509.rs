//! X.509 certificate chains validated to configured trust anchors.
//!
//! Credential issuers sign with a key whose certificate travels with the credential: in the JWS
//! `x5c` header of an SD-JWT VC (RFC 7515 §4.1.6, leaf first, the root usually left out) and in
//! the COSE `x5chain` of an ISO/IEC 18013-5 mdoc (a document signer certificate issued by an
//! IACA root). [`ChainValidator`] checks such a chain against the [`TrustAnchors`] the operator
//! configured and hands back the leaf's key as a [`ValidatedChain`].
//!
//! # What is checked
//!
//! This is RFC 5280 §6 path validation restricted to what credential issuers use. Path building
//! and the RFC 5280 core are done by `rustls-webpki` (the validator rustls and the wider Rust
//! ecosystem trust), with aws-lc-rs verifying signatures; this module adds what webpki leaves
//! to its caller, and the credential leaf profiles:
//!
//! * by webpki: a path is built from the leaf through the given intermediates (in any order)
//!   to a configured anchor; each certificate's issuer name equals its issuer's subject and its
//!   signature verifies under that issuer's key (§6.1.3 (a)(1), (a)(4)); the leaf and every
//!   intermediate is within its validity period at `now` (§6.1.3 (a)(2)); every intermediate
//!   has `basicConstraints` with `cA` true and its `pathLenConstraint` allows the intermediates
//!   below it (§4.2.1.9, §6.1.4 (k), (l), (m)); name constraints of intermediates and anchors
//!   hold (§4.2.1.10); no leaf or intermediate carries a critical extension webpki does not
//!   process (§4.2); the leaf is not a CA;
//! * here: every issuing certificate, the anchor included, has `keyCertSign` if it has
//!   `keyUsage` (§4.2.1.3, §6.1.4 (n); webpki ignores `keyUsage`); the anchor is within its
//!   validity period and, if it has `basicConstraints`, says `cA` and its `pathLenConstraint`
//!   holds (webpki takes only an anchor's subject, key and name constraints; a v1 root without
//!   the extension is accepted as an issuer); the leaf satisfies the [`LeafProfile`] asked for
//!   and has an EC P-256/P-384/P-521 key. These run on every path webpki accepts, so a path
//!   that fails one of them makes webpki try another.
//! * A leaf that is itself a configured anchor (a document signer trusted directly) is trusted
//!   as configured (§6.1.1 (d)); webpki has no such path, so only the leaf profile and its
//!   critical extensions are checked.
//!
//! Not checked: revocation (CRLs, OCSP; credential revocation goes through status lists),
//! certificate policies (a certificate marking them critical is rejected, as §4.2 requires of
//! extensions a validator cannot process), and the anchor's own self-signature (an anchor is
//! trusted because it is configured, §6.1.1 (d)).
//!
//! webpki says what failed, not where; when it finds no path, this module walks the chain as
//! given, leaf first, to name the certificate at fault in the [`X509Error`]. That walk only
//! explains a failure, it never accepts a chain.
//!
//! # Limits
//!
//! A chain longer than [`MAX_CHAIN_LEN`] or a certificate larger than [`MAX_CERT_SIZE`] is
//! rejected before anything is parsed, so hostile input costs bounded work.
//!
//! # Cache
//!
//! Verifying a chain costs one signature check per certificate, as much as verifying the
//! credential itself. The validator therefore remembers validated chains, keyed by a SHA-256
//! digest of the exact input, so a wallet or verifier that sees the same issuer chain on every
//! presentation pays for it once. Only time-independent results are cached: a hit still checks
//! `now` against every certificate's validity period, so an expired chain is never accepted from
//! the cache. Failed validations are not cached.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::Duration;

use aws_lc_rs::digest;
use const_oid::ObjectIdentifier;
use const_oid::db::DB;
use const_oid::db::rfc5280;
use const_oid::db::rfc5912;
use const_oid::db::rfc8410;
use der::Decode;
use der::Encode;
use der::Header;
use der::Reader;
use der::SliceReader;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::SignatureVerificationAlgorithm;
use rustls_pki_types::UnixTime;
use webpki::VerifiedPath;
use x509_cert::certificate::CertificateInner;
use x509_cert::certificate::Profile;
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::Time;

use crate::key::Algorithm;
use crate::key::VerifyingKey;

/// Longest chain accepted, counting every certificate given (leaf, intermediates and an
/// included anchor). Credential chains have two or three certificates; the limit bounds the
/// signature checks a hostile chain can trigger.
pub const MAX_CHAIN_LEN: usize = 8;

/// Largest DER certificate accepted, in bytes. Issuer certificates are around 1 KiB; the limit
/// bounds parsing work and cache memory.
pub const MAX_CERT_SIZE: usize = 16 * 1024;

/// Longest `x5c` entry accepted, in base64 characters: the padded encoding of
/// [`MAX_CERT_SIZE`] bytes.
pub const MAX_X5C_ENTRY_LEN: usize = MAX_CERT_SIZE.div_ceil(3) * 4;

/// Validated chains a [`ChainValidator`] remembers by default.
pub const DEFAULT_CACHE_ENTRIES: usize = 1024;

/// Extended key usage `id-mdlDS` (1.0.18013.5.1.2) that ISO/IEC 18013-5:2021 Annex B requires in
/// a document signer certificate.
pub const MDL_DS_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.0.18013.5.1.2");

/// Errors from parsing trust anchors and validating certificate chains.
///
/// Positions (`index`) count from the leaf, which is 0. A trust anchor that was not included in
/// the chain gets the position after the last certificate taken from the chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum X509Error {
    /// No certificates were given.
    #[error("the certificate chain is empty")]
    EmptyChain,
    /// More than [`MAX_CHAIN_LEN`] certificates were given.
    #[error("the certificate chain has {len} certificates, more than the limit of {max}")]
    ChainTooLong {
        /// Certificates given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A certificate is larger than [`MAX_CERT_SIZE`] bytes (or, for `x5c`, its base64 text is
    /// longer than [`MAX_X5C_ENTRY_LEN`] characters).
    #[error("certificate {index} is {len} bytes long, more than the limit of {max}")]
    TooLarge {
        /// Position in the chain.
        index: usize,
        /// Size given (DER bytes, or base64 characters for `x5c`).
        len: usize,
        /// The limit in the same unit.
        max: usize,
    },
    /// An `x5c` entry is not standard, padded base64 (RFC 7515 §4.1.6).
    #[error("certificate {index} is not standard padded base64 (RFC 7515 §4.1.6): {reason}")]
    Base64 {
        /// Position in the chain.
        index: usize,
        /// What the decoder rejected.
        reason: String,
    },
    /// A certificate is not a DER X.509 certificate this module can use.
    #[error("certificate {index} is malformed: {reason}")]
    Malformed {
        /// Position in the chain (or PEM block for trust anchors).
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// Trust anchor PEM text could not be split into certificates.
    #[error("trust anchor PEM is unusable: {0}")]
    Pem(String),
    /// A certificate offered as a trust anchor cannot be used.
    #[error("invalid trust anchor: {0}")]
    InvalidAnchor(Box<X509Error>),
    /// A certificate's issuer name is not the subject of the next certificate (RFC 5280 §6.1.3
    /// (a)(4)).
    #[error(
        "certificate {index} ({subject}) names its issuer {issuer}, but the next certificate is {next_subject}"
    )]
    IssuerMismatch {
        /// Position of the certificate.
        index: usize,
        /// Its subject.
        subject: String,
        /// Its issuer name.
        issuer: String,
        /// Subject of the next certificate in the chain.
        next_subject: String,
    },
    /// A certificate's signature does not verify under its issuer's key (RFC 5280 §6.1.3
    /// (a)(1)).
    #[error("certificate {index} ({subject}): signature does not verify under the key of {issuer}")]
    BadSignature {
        /// Position of the certificate whose signature failed.
        index: usize,
        /// Its subject.
        subject: String,
        /// The issuer whose key was used.
        issuer: String,
    },
    /// A certificate is signed with an algorithm this module does not verify, or one that does
    /// not fit the issuer's key.
    #[error("certificate {index} ({subject}) cannot be verified: {reason}")]
    SignatureAlgorithm {
        /// Position of the certificate.
        index: usize,
        /// Its subject.
        subject: String,
        /// Which algorithm and why.
        reason: String,
    },
    /// A certificate's public key is of a type or curve this module does not support, or the
    /// leaf's key is not an EC P-256/P-384/P-521 key.
    #[error("certificate {index} ({subject}) has an unsupported key: {reason}")]
    UnsupportedKey {
        /// Position of the certificate.
        index: usize,
        /// Its subject.
        subject: String,
        /// Which key and why.
        reason: String,
    },
    /// No configured trust anchor is, or issued, the chain's last certificate.
    #[error("the chain does not lead to a trust anchor: {0}")]
    UntrustedChain(String),
    /// A certificate in the path has expired (RFC 5280 §6.1.3 (a)(2)).
    #[error("certificate {index} ({subject}) expired at {}", unix_text(.not_after))]
    Expired {
        /// Position of the certificate.
        index: usize,
        /// Its subject.
        subject: String,
        /// Its `notAfter`, in Unix seconds.
        not_after: i64,
    },
    /// A certificate in the path is not valid yet (RFC 5280 §6.1.3 (a)(2)).
    #[error("certificate {index} ({subject}) is not valid before {}", unix_text(.not_before))]
    NotYetValid {
        /// Position of the certificate.
        index: usize,
        /// Its subject.
        subject: String,
        /// Its `notBefore`, in Unix seconds.
        not_before: i64,
    },
    /// A certificate that issued another is not a CA (RFC 5280 §4.2.1.9, §6.1.4 (k)).
    #[error(
        "certificate {index} ({subject}) issued the certificate below it but is not a CA (no basicConstraints with cA true, RFC 5280 §4.2.1.9)"
    )]
    NotACa {
        /// Position of the issuing certificate.
        index: usize,
        /// Its subject.
        subject: String,
    },
    /// A CA's `pathLenConstraint` is smaller than the intermediates below it (RFC 5280 §6.1.4
    /// (l), (m)).
    #[error(
        "certificate {index} ({subject}) allows {path_len} intermediate certificates below it (pathLenConstraint) but has {below}"
    )]
    PathLength {
        /// Position of the constraining CA.
        index: usize,
        /// Its subject.
        subject: String,
        /// Its `pathLenConstraint`.
        path_len: u8,
        /// Non-self-issued intermediates below it in the path.
        below: usize,
    },
    /// A certificate's `keyUsage` does not allow what it is used for (RFC 5280 §4.2.1.3).
    #[error("certificate {index} ({subject}): {reason}")]
    KeyUsage {
        /// Position of the certificate.
        index: usize,
        /// Its subject.
        subject: String,
        /// Which usage is missing.
        reason: String,
    },
    /// The leaf's `extendedKeyUsage` does not allow what it is used for (RFC 5280 §4.2.1.12).
    #[error("certificate {index} ({subject}): {reason}")]
    ExtendedKeyUsage {
        /// Position of the certificate.
        index: usize,
        /// Its subject.
        subject: String,
        /// Which purpose is missing.
        reason: String,
    },
    /// The leaf is a CA certificate, which must not sign credentials.
    #[error("leaf certificate ({subject}) is a CA certificate (basicConstraints cA true)")]
    LeafIsCa {
        /// The leaf's subject.
        subject: String,
    },
    /// A certificate has a critical extension this module does not process (RFC 5280 §4.2).
    #[error(
        "certificate {index} ({subject}) has critical extensions this validator does not process: {oids}"
    )]
    UnknownCriticalExtension {
        /// Position of the certificate.
        index: usize,
        /// Its subject.
        subject: String,
        /// The extensions' OIDs (with names where known), comma separated.
        oids: String,
    },
    /// An invariant of this module broke (a bug, never the input's fault). Reported rather
    /// than papered over with a default value.
    #[error("internal error in certificate validation: {0}")]
    Internal(&'static str),
}

impl crate::code::HasErrorCode for X509Error {
    /// Chains that cannot be shown to lead to a trust anchor (untrusted, expired, badly signed,
    /// or breaking a CA or leaf rule) are [`ErrorCode::UntrustedIssuer`]: the credential's
    /// signature cannot be tied to a trusted issuer. `Expired` here is the certificate's, not
    /// the credential's, so it is not [`ErrorCode::Expired`]. Certificates that cannot be parsed
    /// are [`ErrorCode::Malformed`] and inputs beyond the limits [`ErrorCode::TooLarge`].
    /// `Pem` and `InvalidAnchor` come from configuration, not from a peer; they are named for
    /// what was wrong with the input.
    ///
    /// [`ErrorCode::UntrustedIssuer`]: crate::ErrorCode::UntrustedIssuer
    /// [`ErrorCode::Expired`]: crate::ErrorCode::Expired
    /// [`ErrorCode::Malformed`]: crate::ErrorCode::Malformed
    /// [`ErrorCode::TooLarge`]: crate::ErrorCode::TooLarge
    fn code(&self) -> crate::code::ErrorCode {
        use crate::code::ErrorCode;
        match self {
            Self::EmptyChain | Self::Base64 { .. } | Self::Malformed { .. } | Self::Pem(_) => {
                ErrorCode::Malformed
            }
            Self::ChainTooLong { .. } | Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::InvalidAnchor(inner) => inner.code(),
            Self::IssuerMismatch { .. }
            | Self::BadSignature { .. }
            | Self::SignatureAlgorithm { .. }
            | Self::UnsupportedKey { .. }
            | Self::UntrustedChain(_)
            | Self::Expired { .. }
            | Self::NotYetValid { .. }
            | Self::NotACa { .. }
            | Self::PathLength { .. }
            | Self::KeyUsage { .. }
            | Self::ExtendedKeyUsage { .. }
            | Self::LeafIsCa { .. }
            | Self::UnknownCriticalExtension { .. } => ErrorCode::UntrustedIssuer,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// What the leaf certificate of a chain must be fit for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeafProfile {
    /// No check on the leaf beyond an EC key, for callers that apply their own policy. The leaf
    /// may be a CA only when it is itself a configured trust anchor: a path that webpki builds
    /// never ends in a CA (RFC 5280 §4.2.1.9: a CA key certifies, it does not sign data).
    Any,
    /// Signing data, such as an SD-JWT VC issuer key: the leaf is not a CA and, if it has
    /// `keyUsage`, that includes `digitalSignature`.
    DigitalSignature,
    /// An ISO/IEC 18013-5 document signer (Annex B): the leaf is not a CA, has `keyUsage` with
    /// `digitalSignature`, and has `extendedKeyUsage` with [`MDL_DS_EKU`].
    MdocDocumentSigner,
}

impl LeafProfile {
    /// A distinct byte per profile for the cache key: a chain validated for one profile must not
    /// be a cache hit for another.
    fn cache_tag(self) -> u8 {
        match self {
            Self::Any => 0,
            Self::DigitalSignature => 1,
            Self::MdocDocumentSigner => 2,
        }
    }
}

/// A certificate configured as trusted: a root, or an intermediate the operator chose to trust
/// directly.
///
/// Only its subject, public key, validity and CA constraints are used; its self-signature is not
/// checked (RFC 5280 §6.1.1 (d) treats trust anchor information as an input to validation).
#[derive(Clone)]
pub struct TrustAnchor {
    cert: CertInfo,
    label: Option<String>,
}

impl fmt::Debug for TrustAnchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustAnchor")
            .field("subject", &self.cert.subject_text)
            .field("label", &self.label)
            .field("not_before", &self.cert.not_before)
            .field("not_after", &self.cert.not_after)
            .finish_non_exhaustive()
    }
}

impl TrustAnchor {
    /// Parses a DER certificate as a trust anchor. Its key must be one this module can verify
    /// with (EC P-256/P-384/P-521, RSA or Ed25519), so a useless anchor fails at configuration
    /// time rather than at the first presentation.
    pub fn from_der(der: &[u8]) -> Result<Self, X509Error> {
        Self::parse(0, der).map_err(|e| X509Error::InvalidAnchor(Box::new(e)))
    }

    fn parse(index: usize, der: &[u8]) -> Result<Self, X509Error> {
        if der.len() > MAX_CERT_SIZE {
            return Err(X509Error::TooLarge {
                index,
                len: der.len(),
                max: MAX_CERT_SIZE,
            });
        }
        let cert = CertInfo::parse(index, der)?;
        if let Err(reason) = &cert.key {
            return Err(X509Error::UnsupportedKey {
                index,
                subject: cert.subject_text.clone(),
                reason: reason.clone(),
            });
        }
        Ok(Self { cert, label: None })
    }

    /// Attaches a name for logs and configuration (for example the trusted list entry).
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The label given with [`with_label`](Self::with_label), if any.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The subject, displayed as in RFC 4514.
    pub fn subject(&self) -> &str {
        &self.cert.subject_text
    }

    /// The certificate, DER encoded.
    pub fn der(&self) -> &[u8] {
        &self.cert.der
    }

    /// Start of the validity period, in Unix seconds.
    pub fn not_before(&self) -> i64 {
        self.cert.not_before
    }

    /// End of the validity period (inclusive), in Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.cert.not_after
    }

    /// The subject's single `countryName`, if it has exactly one.
    pub fn country(&self) -> Option<&str> {
        self.cert.subject_country.as_deref()
    }

    /// Whether basicConstraints makes it a CA, and its `pathLenConstraint` (RFC 5280 §4.2.1.9);
    /// `None` without the extension.
    pub fn ca_path_len(&self) -> Option<(bool, Option<u8>)> {
        self.cert
            .basic_constraints
            .as_ref()
            .map(|bc| (bc.ca, bc.path_len_constraint))
    }

    /// Whether its extendedKeyUsage names `purpose` (dotted OID, e.g. the mdoc document signer
    /// EKU `1.0.18013.5.1.2`).
    pub fn has_extended_key_usage(&self, purpose: &str) -> bool {
        self.cert
            .ext_key_usage
            .as_deref()
            .is_some_and(|ekus| ekus.iter().any(|oid| oid.to_string() == purpose))
    }
}

/// The configured trust anchors. Entries keep their order; [`ValidatedChain::anchor_index`]
/// points into it. Duplicates are kept, and the first matching entry wins.
#[derive(Clone, Debug, Default)]
pub struct TrustAnchors {
    anchors: Vec<Arc<TrustAnchor>>,
}

impl TrustAnchors {
    /// No anchors: every chain is untrusted until some are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every `CERTIFICATE` block of PEM text (RFC 7468 §5) and returns how many were
    /// added. Text outside blocks (such as `openssl x509 -text` output) and blocks of other
    /// types are ignored. Either all certificates are added or, on an error, none.
    pub fn add_pem(&mut self, pem: &str) -> Result<usize, X509Error> {
        let ders = pem_certificates(pem)?;
        let parsed = ders
            .iter()
            .enumerate()
            .map(|(block, der)| TrustAnchor::parse(block, der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| X509Error::InvalidAnchor(Box::new(e)))?;
        let added = parsed.len();
        self.anchors.extend(parsed.into_iter().map(Arc::new));
        Ok(added)
    }

    /// Adds one DER certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), X509Error> {
        self.push(TrustAnchor::from_der(der)?);
        Ok(())
    }

    /// Adds a parsed anchor (for example one with a label).
    pub fn push(&mut self, anchor: TrustAnchor) {
        self.anchors.push(Arc::new(anchor));
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether there are no anchors.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The anchor at `index`, as in [`ValidatedChain::anchor_index`].
    pub fn get(&self, index: usize) -> Option<&TrustAnchor> {
        self.anchors.get(index).map(|a| &**a)
    }

    /// The anchors in order.
    pub fn iter(&self) -> impl Iterator<Item = &TrustAnchor> {
        self.anchors.iter().map(|a| &**a)
    }

    /// The first anchor that is `cert`: same subject and same public key (the same DER
    /// certificate in particular, but also a re-issued copy of the root).
    fn position_of(&self, cert: &CertInfo) -> Option<usize> {
        self.anchors
            .iter()
            .position(|a| a.cert.subject == cert.subject && a.cert.spki == cert.spki)
    }

    /// Anchors whose subject is `name`, with their indices.
    fn named<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = (usize, &'a TrustAnchor)> {
        self.anchors
            .iter()
            .enumerate()
            .filter(move |(_, a)| a.cert.subject == name)
            .map(|(i, a)| (i, &**a))
    }
}

/// A chain that passed validation: the leaf's key can be trusted for what the [`LeafProfile`]
/// allows, from `not_before` to `not_after`.
///
/// Only [`ChainValidator`] makes these.
#[derive(Clone)]
#[non_exhaustive]
pub struct ValidatedChain {
    /// The leaf's public key.
    pub leaf_key: VerifyingKey,
    /// The leaf's subject, displayed as in RFC 4514.
    pub leaf_subject: String,
    /// The leaf subject's `countryName` (2.5.4.6), when it has exactly one: an mdoc's
    /// `issuing_country` must equal it (ISO/IEC 18013-5 Annex B, document signer certificate).
    pub leaf_country: Option<String>,
    /// `dNSName` entries of the leaf's `subjectAltName` (RFC 5280 §4.2.1.6).
    pub leaf_san_dns: Vec<String>,
    /// `uniformResourceIdentifier` entries of the leaf's `subjectAltName`.
    pub leaf_san_uri: Vec<String>,
    /// The trust anchor's subject, displayed as in RFC 4514.
    pub anchor_subject: String,
    /// Position of the trust anchor in the validator's [`TrustAnchors`].
    pub anchor_index: usize,
    /// Latest `notBefore` in the path, anchor included, in Unix seconds.
    pub not_before: i64,
    /// Earliest `notAfter` in the path, anchor included (inclusive), in Unix seconds.
    pub not_after: i64,
    /// The leaf certificate, DER encoded. When the leaf is itself a trust anchor this is the
    /// configured copy, which is what was checked.
    pub leaf_der: Vec<u8>,
}

impl fmt::Debug for ValidatedChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedChain")
            .field("leaf_key", &self.leaf_key)
            .field("leaf_subject", &self.leaf_subject)
            .field("leaf_country", &self.leaf_country)
            .field("leaf_san_dns", &self.leaf_san_dns)
            .field("leaf_san_uri", &self.leaf_san_uri)
            .field("anchor_subject", &self.anchor_subject)
            .field("anchor_index", &self.anchor_index)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Validates certificate chains against a fixed set of trust anchors and caches the results.
///
/// Share one validator (it is `Send + Sync`) so the cache is shared too.
pub struct ChainValidator {
    anchors: TrustAnchors,
    /// The anchors as webpki takes them, with their positions in `anchors`.
    webpki_anchors: Vec<rustls_pki_types::TrustAnchor<'static>>,
    webpki_anchor_index: Vec<usize>,
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
    max_entries: usize,
}

impl fmt::Debug for ChainValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainValidator")
            .field("anchors", &self.anchors.len())
            .field("cached", &self.cache_len())
            .field("max_entries", &self.max_entries)
            .finish()
    }
}

/// Cache key domain of [`ChainValidator::validate_der`] input.
const KEY_DER: u8 = 0;
/// Cache key domain of [`ChainValidator::validate_x5c`] input, so the two forms never collide.
const KEY_X5C: u8 = 1;

impl ChainValidator {
    /// A validator with a cache of [`DEFAULT_CACHE_ENTRIES`] chains.
    pub fn new(anchors: TrustAnchors) -> Self {
        Self::with_cache_capacity(anchors, DEFAULT_CACHE_ENTRIES)
    }

    /// A validator that caches up to `max_entries` chains; 0 disables the cache.
    ///
    /// When the cache is full it is cleared rather than evicting one entry at a time: the
    /// number of distinct issuer chains a deployment sees is small, so a full cache means churn
    /// (or someone feeding distinct chains), and clearing is O(1) amortised with no bookkeeping
    /// on the hit path.
    pub fn with_cache_capacity(anchors: TrustAnchors, max_entries: usize) -> Self {
        let mut webpki_anchors = Vec::new();
        let mut webpki_anchor_index = Vec::new();
        for (index, anchor) in anchors.iter().enumerate() {
            // An anchor webpki cannot read (it parsed with x509-cert) still serves as a leaf
            // trusted directly.
            let der = CertificateDer::from(anchor.der());
            if let Ok(parsed) = webpki::anchor_from_trusted_cert(&der) {
                webpki_anchors.push(parsed.to_owned());
                webpki_anchor_index.push(index);
            }
        }
        Self {
            anchors,
            webpki_anchors,
            webpki_anchor_index,
            cache: Mutex::new(HashMap::new()),
            max_entries,
        }
    }

    /// The trust anchors chains are validated against.
    pub fn anchors(&self) -> &TrustAnchors {
        &self.anchors
    }

    /// Number of cached chains.
    pub fn cache_len(&self) -> usize {
        self.lock_cache().len()
    }

    /// Forgets every cached chain.
    pub fn clear_cache(&self) {
        self.lock_cache().clear();
    }

    /// Validates a chain of DER certificates, leaf first, then the intermediates (usually each
    /// issued by the next, but any order works: webpki builds the path); the trust anchor
    /// itself may or may not be included. `now` is the time to check validity at, in Unix
    /// seconds.
    ///
    /// Certificates after the first one that is a trust anchor are ignored (the anchor's
    /// configured copy ends the path), as are certificates no path needs.
    ///
    /// Names are compared as DER bytes, not with the RFC 5280 §7.1 string preparation rules: a
    /// CA must encode its subject identically in the certificates it issues (§4.1.2.4), and
    /// credential issuers do.
    pub fn validate_der(
        &self,
        chain: &[&[u8]],
        now: i64,
        profile: LeafProfile,
    ) -> Result<Arc<ValidatedChain>, X509Error> {
        check_chain_len(chain.len())?;
        for (index, der) in chain.iter().enumerate() {
            if der.len() > MAX_CERT_SIZE {
                return Err(X509Error::TooLarge {
                    index,
                    len: der.len(),
                    max: MAX_CERT_SIZE,
                });
            }
        }
        let key = cache_key(KEY_DER, profile, chain.iter().copied())?;
        if let Some(hit) = self.lookup(&key, now) {
            return hit;
        }
        let entry = self.validate_uncached(chain, now, profile)?;
        Ok(self.insert(key, entry))
    }

    /// Validates an `x5c` JOSE header value (RFC 7515 §4.1.6): standard base64 with padding,
    /// not base64url, leaf first. Otherwise as [`validate_der`](Self::validate_der).
    ///
    /// This is the hot path: on a cache hit it hashes the strings and compares times, without
    /// decoding base64 or parsing DER.
    pub fn validate_x5c(
        &self,
        x5c: &[String],
        now: i64,
        profile: LeafProfile,
    ) -> Result<Arc<ValidatedChain>, X509Error> {
        check_chain_len(x5c.len())?;
        for (index, text) in x5c.iter().enumerate() {
            if text.len() > MAX_X5C_ENTRY_LEN {
                return Err(X509Error::TooLarge {
                    index,
                    len: text.len(),
                    max: MAX_X5C_ENTRY_LEN,
                });
            }
        }
        let key = cache_key(KEY_X5C, profile, x5c.iter().map(String::as_bytes))?;
        if let Some(hit) = self.lookup(&key, now) {
            return hit;
        }
        let ders = x5c
            .iter()
            .enumerate()
            .map(|(index, text)| {
                crate::b64::decode_std(text).map_err(|e| X509Error::Base64 {
                    index,
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let chain: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
        let entry = self.validate_uncached(&chain, now, profile)?;
        Ok(self.insert(key, entry))
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], CacheEntry>> {
        // The map is only ever inserted into or cleared, so it is consistent even if a thread
        // panicked while holding the lock.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A cached answer for `key` at `now`, if the chain is cached.
    fn lookup(&self, key: &[u8; 32], now: i64) -> Option<Result<Arc<ValidatedChain>, X509Error>> {
        if self.max_entries == 0 {
            return None;
        }
        let mut cache = self.lock_cache();
        let entry = cache.get(key)?;
        if entry.chain.not_before <= now && now <= entry.chain.not_after {
            return Some(Ok(Arc::clone(&entry.chain)));
        }
        // Outside the path's common window: name the certificate at fault.
        let answer = check_windows(&entry.windows, now).map(|()| Arc::clone(&entry.chain));
        let expired = now > entry.chain.not_after;
        if expired {
            // Expired chains cannot become valid again; do not let them occupy the cache.
            cache.remove(key);
        }
        Some(answer)
    }

    fn insert(&self, key: [u8; 32], entry: CacheEntry) -> Arc<ValidatedChain> {
        if self.max_entries == 0 {
            return entry.chain;
        }
        let mut cache = self.lock_cache();
        if cache.len() >= self.max_entries && !cache.contains_key(&key) {
            cache.clear();
        }
        // If another thread validated the same chain meanwhile, hand out its `Arc` so every
        // caller of one cached chain sees the same object.
        Arc::clone(&cache.entry(key).or_insert(entry).chain)
    }

    fn validate_uncached(
        &self,
        chain: &[&[u8]],
        now: i64,
        profile: LeafProfile,
    ) -> Result<CacheEntry, X509Error> {
        let certs = chain
            .iter()
            .enumerate()
            .map(|(index, der)| CertInfo::parse(index, der))
            .collect::<Result<Vec<_>, _>>()?;
        let entry = self.build_path(&certs, now, profile)?;
        check_windows(&entry.windows, now)?;
        Ok(entry)
    }

    /// Finds a path from the leaf to an anchor and checks it, then collects what the caller and
    /// the cache need.
    fn build_path(
        &self,
        certs: &[CertInfo],
        now: i64,
        profile: LeafProfile,
    ) -> Result<CacheEntry, X509Error> {
        let leaf = certs.first().ok_or(X509Error::EmptyChain)?;
        let found = match self.anchors.position_of(leaf) {
            // The leaf is itself configured as trusted (a document signer trusted directly).
            // RFC 5280 §6.1.1 (d) takes anchor information as given, so there is no signature
            // to check; webpki has no such path ("no support for self-signed certificates").
            Some(anchor_index) => {
                let found = Found {
                    chain_indices: Vec::new(),
                    anchor_index,
                };
                check_path(&self.path_of(certs, &found)?, profile)?;
                found
            }
            None => self.webpki_path(certs, now, profile)?,
        };
        let path = self.path_of(certs, &found)?;
        let anchor = self.anchor(found.anchor_index)?;
        let leaf = path
            .first()
            .copied()
            .ok_or(X509Error::Internal("a path without a leaf"))?;

        let leaf_key = leaf_key(leaf)?;
        let (leaf_san_dns, leaf_san_uri) = leaf.san()?;

        let windows: Box<[Window]> = path
            .iter()
            .enumerate()
            .map(|(index, cert)| Window {
                index,
                subject: cert.subject_text.clone(),
                not_before: cert.not_before,
                not_after: cert.not_after,
            })
            .collect();
        // The path holds at least the anchor, so both exist; an empty one is a bug to report.
        let not_before = windows
            .iter()
            .map(|w| w.not_before)
            .max()
            .ok_or(X509Error::Internal("empty path has no validity period"))?;
        let not_after = windows
            .iter()
            .map(|w| w.not_after)
            .min()
            .ok_or(X509Error::Internal("empty path has no validity period"))?;

        let chain = ValidatedChain {
            leaf_key,
            leaf_subject: leaf.subject_text.clone(),
            leaf_country: leaf.subject_country.clone(),
            leaf_san_dns,
            leaf_san_uri,
            anchor_subject: anchor.cert.subject_text.clone(),
            anchor_index: found.anchor_index,
            not_before,
            not_after,
            leaf_der: leaf.der.clone(),
        };
        Ok(CacheEntry {
            chain: Arc::new(chain),
            windows,
        })
    }

    /// Path building and RFC 5280 §6.1 validation by webpki: names chain, every signature
    /// verifies, every issuer is a CA within its pathLenConstraint, name constraints hold, no
    /// unprocessed critical extension, the leaf and intermediates are valid at `now`. The
    /// rules webpki leaves out run on each path it accepts ([`check_path`]), so a path that
    /// breaks one of them makes webpki look for another.
    fn webpki_path(
        &self,
        certs: &[CertInfo],
        now: i64,
        profile: LeafProfile,
    ) -> Result<Found, X509Error> {
        // Certificates after the first one that is itself an anchor do not matter: the path
        // ends there, with the configured copy.
        let end = certs
            .iter()
            .skip(1)
            .position(|c| self.anchors.position_of(c).is_some())
            .map_or(certs.len(), |p| p + 1);
        let ders: Vec<CertificateDer<'_>> = certs
            .iter()
            .map(|c| CertificateDer::from(c.der.as_slice()))
            .collect();
        let leaf_der = ders.first().ok_or(X509Error::EmptyChain)?;
        let intermediates = ders.get(1..end).ok_or(X509Error::Internal(
            "chain shorter than its own anchor position",
        ))?;
        let given = certs.get(..end).unwrap_or(certs);
        let leaf =
            webpki::EndEntityCert::try_from(leaf_der).map_err(|e| self.explain(&e, given))?;
        // A time before 1970 is before every certificate's notBefore as webpki counts.
        let time = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)));

        let accepted: RefCell<Option<Found>> = RefCell::new(None);
        let rejected: RefCell<Option<X509Error>> = RefCell::new(None);
        let callback = |path: &VerifiedPath<'_>| -> Result<(), webpki::Error> {
            let checked = self.found_of(certs, path).and_then(|found| {
                check_path(&self.path_of(certs, &found)?, profile)?;
                Ok(found)
            });
            match checked {
                Ok(found) => {
                    *accepted.borrow_mut() = Some(found);
                    Ok(())
                }
                Err(e) => {
                    *rejected.borrow_mut() = Some(e);
                    // Any error: webpki goes on to other candidate paths.
                    Err(webpki::Error::UnknownIssuer)
                }
            }
        };
        let result = leaf.verify_for_usage(
            SIGNATURE_ALGORITHMS,
            &self.webpki_anchors,
            intermediates,
            time,
            LeafOnlyEku,
            None,
            Some(&callback),
        );
        match result {
            Ok(_) => accepted.into_inner().ok_or(X509Error::Internal(
                "webpki accepted a path the checks did not see",
            )),
            // A path webpki accepted but a rule of ours refused is the most telling failure.
            Err(e) => Err(rejected
                .into_inner()
                .unwrap_or_else(|| self.explain(&e, given))),
        }
    }

    /// The chain positions and anchor of a path webpki built.
    fn found_of(&self, certs: &[CertInfo], path: &VerifiedPath<'_>) -> Result<Found, X509Error> {
        let mut chain_indices = vec![0];
        for cert in path.intermediate_certificates() {
            let der = cert.der();
            let index = certs
                .iter()
                .position(|c| c.der.as_slice() == der.as_ref())
                .ok_or(X509Error::Internal(
                    "webpki path holds a certificate not in the chain",
                ))?;
            chain_indices.push(index);
        }
        let position = self
            .webpki_anchors
            .iter()
            .position(|a| std::ptr::eq(a, path.anchor()))
            .ok_or(X509Error::Internal("webpki path ends in an unknown anchor"))?;
        let anchor_index = *self
            .webpki_anchor_index
            .get(position)
            .ok_or(X509Error::Internal("webpki anchor without an index"))?;
        Ok(Found {
            chain_indices,
            anchor_index,
        })
    }

    /// The certificates of a path, leaf first, ending with the anchor's configured copy.
    fn path_of<'a>(
        &'a self,
        certs: &'a [CertInfo],
        found: &Found,
    ) -> Result<Vec<&'a CertInfo>, X509Error> {
        let mut path = found
            .chain_indices
            .iter()
            .map(|&i| {
                certs
                    .get(i)
                    .ok_or(X509Error::Internal("path index outside the chain"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        path.push(&self.anchor(found.anchor_index)?.cert);
        Ok(path)
    }

    fn anchor(&self, index: usize) -> Result<&TrustAnchor, X509Error> {
        self.anchors
            .get(index)
            .ok_or(X509Error::Internal("trust anchor index out of range"))
    }

    /// Names the certificate at fault when webpki found no path. webpki says what failed, not
    /// where, so this walks the chain as given (leaf first, each issued by the next, as RFC 7515
    /// §4.1.6 and ISO/IEC 18013-5 send it). It never accepts anything: the answer is an error
    /// whatever it finds.
    fn explain(&self, err: &webpki::Error, certs: &[CertInfo]) -> X509Error {
        use webpki::Error as E;
        let fallback =
            || X509Error::UntrustedChain(format!("no valid path to a trust anchor: {err}"));
        let first = |found: Option<X509Error>| found.unwrap_or_else(fallback);
        match err {
            E::CertExpired { time, .. } | E::CertNotValidYet { time, .. } => {
                let now = i64::try_from(time.as_secs()).unwrap_or(i64::MAX);
                first(certs.iter().enumerate().find_map(|(index, c)| {
                    check_windows(
                        &[Window {
                            index,
                            subject: c.subject_text.clone(),
                            not_before: c.not_before,
                            not_after: c.not_after,
                        }],
                        now,
                    )
                    .err()
                }))
            }
            E::CaUsedAsEndEntity => certs.first().map_or_else(fallback, |leaf| X509Error::LeafIsCa {
                subject: leaf.subject_text.clone(),
            }),
            E::EndEntityUsedAsCa | E::PathLenConstraintViolated => {
                let path: Vec<&CertInfo> = certs.iter().collect();
                first(
                    path.iter()
                        .enumerate()
                        .skip(1)
                        .find_map(|(index, c)| check_issuer(index, c, false, &path).err()),
                )
            }
            E::UnsupportedCriticalExtension => first(
                certs
                    .iter()
                    .enumerate()
                    .find_map(|(index, c)| check_unknown_critical(index, c).err()),
            ),
            E::UnsupportedSignatureAlgorithmContext(_)
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => first(
                certs.iter().enumerate().find_map(|(index, c)| {
                    (!SIGNATURE_OIDS.contains(&c.signature_algorithm.oid)).then(|| {
                        X509Error::SignatureAlgorithm {
                            index,
                            subject: c.subject_text.clone(),
                            reason: format!(
                                "signature algorithm {} is not supported (ECDSA or RSA PKCS#1 v1.5 with SHA-256/384/512, or Ed25519)",
                                oid_text(&c.signature_algorithm.oid)
                            ),
                        }
                    })
                }),
            ),
            E::BadDer
            | E::BadDerTime
            | E::TrailingData(_)
            | E::UnsupportedCertVersion
            | E::ExtensionValueInvalid
            | E::MalformedExtensions
            | E::InvalidSerialNumber
            | E::InvalidCertValidity
            | E::EmptyEkuExtension
            | E::SignatureAlgorithmMismatch
            | E::MalformedDnsIdentifier
            | E::MalformedNameConstraint => {
                let index = certs
                    .iter()
                    .position(|c| {
                        webpki::EndEntityCert::try_from(&CertificateDer::from(c.der.as_slice()))
                            .is_err()
                    })
                    .unwrap_or(0);
                X509Error::Malformed {
                    index,
                    reason: format!("webpki: {err}"),
                }
            }
            E::InvalidSignatureForPublicKey | E::UnknownIssuer => {
                self.explain_links(certs).unwrap_or_else(fallback)
            }
            _ => fallback(),
        }
    }

    /// Walks the chain from the leaf and names the first link whose names or signature fail,
    /// or `None` if every link up to an anchor holds.
    fn explain_links(&self, certs: &[CertInfo]) -> Option<X509Error> {
        for (index, cert) in certs.iter().enumerate() {
            // Issued by an anchor? Several anchors may share a subject (key rollover).
            let mut anchor_failure = None;
            for (_, anchor) in self.anchors.named(&cert.issuer) {
                if signed_by(cert, &anchor.cert) {
                    return None;
                }
                anchor_failure.get_or_insert_with(|| X509Error::BadSignature {
                    index,
                    subject: cert.subject_text.clone(),
                    issuer: format!("trust anchor {}", anchor.cert.subject_text),
                });
            }
            match certs.get(index + 1) {
                Some(next) if next.subject == cert.issuer => {
                    if !signed_by(cert, next) {
                        return Some(X509Error::BadSignature {
                            index,
                            subject: cert.subject_text.clone(),
                            issuer: next.subject_text.clone(),
                        });
                    }
                }
                Some(next) => {
                    return Some(anchor_failure.unwrap_or_else(|| X509Error::IssuerMismatch {
                        index,
                        subject: cert.subject_text.clone(),
                        issuer: cert.issuer_text.clone(),
                        next_subject: next.subject_text.clone(),
                    }));
                }
                None => {
                    return Some(anchor_failure.unwrap_or_else(|| {
                        X509Error::UntrustedChain(self.untrusted_reason(index, cert))
                    }));
                }
            }
        }
        None
    }

    fn untrusted_reason(&self, index: usize, cert: &CertInfo) -> String {
        if self.anchors.is_empty() {
            return "no trust anchors are configured".into();
        }
        format!(
            "certificate {index} ({}) is not a trust anchor and its issuer {} is not the subject of any of the {} configured trust anchors",
            cert.subject_text,
            cert.issuer_text,
            self.anchors.len()
        )
    }
}

/// A path: the chain's certificates on it, in path order from the leaf (indices into the chain
/// as given; empty when the leaf is itself the anchor), and the anchor that ends it.
struct Found {
    chain_indices: Vec<usize>,
    anchor_index: usize,
}

/// The rules webpki does not apply, checked on a path it accepted (and on a leaf that is itself
/// an anchor): the leaf profile, keyCertSign on every issuer (webpki ignores keyUsage), and the
/// anchor's own CA constraints (webpki takes only an anchor's subject, key and name
/// constraints). The anchor's validity is checked with the others by [`check_windows`].
fn check_path(path: &[&CertInfo], profile: LeafProfile) -> Result<(), X509Error> {
    let leaf = path
        .first()
        .copied()
        .ok_or(X509Error::Internal("a path without a leaf"))?;
    let taken = path.len() - 1;
    if taken == 0 {
        // webpki checks the critical extensions of the leaf and intermediates it parses; a leaf
        // that is itself an anchor is checked here (RFC 5280 §4.2).
        check_unknown_critical(0, leaf)?;
    }
    for (index, cert) in path.iter().enumerate().skip(1) {
        check_issuer(index, cert, index == taken, path)?;
    }
    // The leaf's key type is checked once, after the path is found: it is the same leaf on
    // every path.
    check_leaf(leaf, profile)
}

/// RFC 5280 §4.2: a certificate must not have a critical extension the validator does not
/// process.
fn check_unknown_critical(index: usize, cert: &CertInfo) -> Result<(), X509Error> {
    if cert.unknown_critical.is_empty() {
        return Ok(());
    }
    Err(X509Error::UnknownCriticalExtension {
        index,
        subject: cert.subject_text.clone(),
        oids: cert
            .unknown_critical
            .iter()
            .map(oid_text)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Whether `child`'s signature verifies under `issuer`'s key with one of the accepted
/// algorithms. For naming the certificate at fault only: acceptance is webpki's.
fn signed_by(child: &CertInfo, issuer: &CertInfo) -> bool {
    let Ok(key) = &issuer.key else {
        return false;
    };
    SIGNATURE_ALGORITHMS.iter().any(|alg| {
        alg.verify_signature(&key.bytes, &child.tbs, &child.signature)
            .is_ok()
    })
}

/// Certificate signature algorithms accepted: ECDSA with SHA-256/384/512 on P-256, P-384 and
/// P-521 (RFC 5758 §3.2), RSA PKCS#1 v1.5 with SHA-256/384/512 and 2048- to 8192-bit keys
/// (RFC 4055 §5, parameters NULL or absent), and Ed25519 (RFC 8410 §3). SHA-1, RSA-PSS and
/// ML-DSA are refused, as before the switch to webpki.
static SIGNATURE_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P256_SHA512,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA512,
    webpki::aws_lc_rs::ECDSA_P521_SHA256,
    webpki::aws_lc_rs::ECDSA_P521_SHA384,
    webpki::aws_lc_rs::ECDSA_P521_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::ED25519,
];

/// The signature algorithm OIDs of [`SIGNATURE_ALGORITHMS`], for error messages.
const SIGNATURE_OIDS: [ObjectIdentifier; 7] = [
    rfc5912::ECDSA_WITH_SHA_256,
    rfc5912::ECDSA_WITH_SHA_384,
    rfc5912::ECDSA_WITH_SHA_512,
    rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
    rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
    rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
    rfc8410::ID_ED_25519,
];

/// webpki applies one extended key usage policy to every certificate of a path; the
/// [`LeafProfile`] applies ours to the leaf, as RFC 5280 §4.2.1.12 defines it for the end
/// entity. So webpki accepts every purpose, after reading each, so a malformed extension still
/// fails.
struct LeafOnlyEku;

impl webpki::ExtendedKeyUsageValidator for LeafOnlyEku {
    fn validate(&self, iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for purpose in iter {
            purpose?;
        }
        Ok(())
    }
}

/// A cached validation: the result, and the validity period of each certificate in the path so
/// a time failure on a hit names the certificate at fault.
struct CacheEntry {
    chain: Arc<ValidatedChain>,
    windows: Box<[Window]>,
}

struct Window {
    index: usize,
    subject: String,
    not_before: i64,
    not_after: i64,
}

/// RFC 5280 §4.1.2.5: valid from `notBefore` to `notAfter`, both inclusive. Checked leaf first.
fn check_windows(windows: &[Window], now: i64) -> Result<(), X509Error> {
    for w in windows {
        if now < w.not_before {
            return Err(X509Error::NotYetValid {
                index: w.index,
                subject: w.subject.clone(),
                not_before: w.not_before,
            });
        }
        if now > w.not_after {
            return Err(X509Error::Expired {
                index: w.index,
                subject: w.subject.clone(),
                not_after: w.not_after,
            });
        }
    }
    Ok(())
}

fn check_chain_len(len: usize) -> Result<(), X509Error> {
    if len == 0 {
        return Err(X509Error::EmptyChain);
    }
    if len > MAX_CHAIN_LEN {
        return Err(X509Error::ChainTooLong {
            len,
            max: MAX_CHAIN_LEN,
        });
    }
    Ok(())
}

/// SHA-256 over the input form, the profile and each element length-prefixed, so no two
/// different inputs share a key (a plain separator could be forged inside an element).
fn cache_key<'a>(
    form: u8,
    profile: LeafProfile,
    items: impl Iterator<Item = &'a [u8]>,
) -> Result<[u8; 32], X509Error> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[form, profile.cache_tag()]);
    for item in items {
        ctx.update(&(item.len() as u64).to_be_bytes());
        ctx.update(item);
    }
    // SHA-256 output is always 32 bytes; a different length is a bug, reported, not a panic.
    <[u8; 32]>::try_from(ctx.finish().as_ref())
        .map_err(|_| X509Error::Internal("SHA-256 digest is not 32 bytes"))
}

/// Checks a certificate at `index` > 0 that issued the one below it.
fn check_issuer(
    index: usize,
    cert: &CertInfo,
    is_anchor: bool,
    path: &[&CertInfo],
) -> Result<(), X509Error> {
    let subject = || cert.subject_text.clone();
    // §4.2.1.9 / §6.1.4 (k): an issuer must be a CA. A trust anchor is trusted by
    // configuration, so one without basicConstraints (v1 root) is accepted; one that has the
    // extension must not deny being a CA.
    match &cert.basic_constraints {
        Some(bc) if bc.ca => {}
        None if is_anchor => {}
        _ => {
            return Err(X509Error::NotACa {
                index,
                subject: subject(),
            });
        }
    }
    // §4.2.1.3 / §6.1.4 (n): keyUsage, if present, must allow certificate signing.
    if let Some(ku) = &cert.key_usage
        && !ku.key_cert_sign()
    {
        return Err(X509Error::KeyUsage {
            index,
            subject: subject(),
            reason:
                "keyUsage lacks keyCertSign, so it may not issue certificates (RFC 5280 §4.2.1.3)"
                    .into(),
        });
    }
    // §6.1.4 (l), (m): pathLenConstraint bounds the non-self-issued intermediates below.
    if let Some(path_len) = cert
        .basic_constraints
        .as_ref()
        .and_then(|bc| bc.path_len_constraint)
    {
        let below = path
            .iter()
            .take(index)
            .skip(1)
            .filter(|c| !c.is_self_issued())
            .count();
        if below > usize::from(path_len) {
            return Err(X509Error::PathLength {
                index,
                subject: subject(),
                path_len,
                below,
            });
        }
    }
    Ok(())
}

/// Checks the leaf against the profile it is used for.
fn check_leaf(leaf: &CertInfo, profile: LeafProfile) -> Result<(), X509Error> {
    let subject = || leaf.subject_text.clone();
    let needs_digital_signature = match profile {
        LeafProfile::Any => return Ok(()),
        LeafProfile::DigitalSignature => false,
        LeafProfile::MdocDocumentSigner => true,
    };
    if leaf.basic_constraints.as_ref().is_some_and(|bc| bc.ca) {
        return Err(X509Error::LeafIsCa { subject: subject() });
    }
    match &leaf.key_usage {
        Some(ku) if !ku.digital_signature() => {
            return Err(X509Error::KeyUsage {
                index: 0,
                subject: subject(),
                reason: "keyUsage lacks digitalSignature, so the key may not sign credentials (RFC 5280 §4.2.1.3)".into(),
            });
        }
        None if needs_digital_signature => {
            return Err(X509Error::KeyUsage {
                index: 0,
                subject: subject(),
                reason: "keyUsage is missing; an ISO/IEC 18013-5 document signer must have digitalSignature".into(),
            });
        }
        _ => {}
    }
    if profile == LeafProfile::MdocDocumentSigner {
        match &leaf.ext_key_usage {
            Some(eku) if eku.contains(&MDL_DS_EKU) => {}
            Some(_) => {
                return Err(X509Error::ExtendedKeyUsage {
                    index: 0,
                    subject: subject(),
                    reason: format!(
                        "extendedKeyUsage lacks id-mdlDS ({MDL_DS_EKU}), required of an ISO/IEC 18013-5 document signer"
                    ),
                });
            }
            None => {
                return Err(X509Error::ExtendedKeyUsage {
                    index: 0,
                    subject: subject(),
                    reason: format!(
                        "extendedKeyUsage is missing; an ISO/IEC 18013-5 document signer must have id-mdlDS ({MDL_DS_EKU})"
                    ),
                });
            }
        }
    }
    Ok(())
}

fn leaf_key(leaf: &CertInfo) -> Result<VerifyingKey, X509Error> {
    let unsupported = |reason: String| X509Error::UnsupportedKey {
        index: 0,
        subject: leaf.subject_text.clone(),
        reason,
    };
    match &leaf.key {
        Ok(PublicKey {
            kind: KeyKind::Ec(alg),
            bytes,
        }) => VerifyingKey::from_sec1(*alg, bytes).map_err(|e| unsupported(e.to_string())),
        Ok(PublicKey { kind, .. }) => Err(unsupported(format!(
            "the leaf key is {kind}; credentials are signed with EC P-256, P-384 or P-521 keys"
        ))),
        Err(reason) => Err(unsupported(reason.clone())),
    }
}

/// The public key types certificates in a path may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    /// ECDSA on the curve of this algorithm.
    Ec(Algorithm),
    Rsa,
    Ed25519,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ec(alg) => write!(f, "EC {}", alg.curve()),
            Self::Rsa => f.write_str("RSA"),
            Self::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

/// A subject public key: its type and the contents of the `subjectPublicKey` BIT STRING (a SEC1
/// point, an RSAPublicKey, or 32 Ed25519 bytes), the form aws-lc-rs takes.
#[derive(Clone)]
struct PublicKey {
    kind: KeyKind,
    bytes: Vec<u8>,
}

/// What validation needs from one certificate, extracted once.
#[derive(Clone)]
struct CertInfo {
    der: Vec<u8>,
    /// The `tbsCertificate` exactly as encoded: the signed bytes.
    tbs: Vec<u8>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: Vec<u8>,
    /// Canonical DER of the subject and issuer names, for comparison.
    subject: Vec<u8>,
    issuer: Vec<u8>,
    subject_text: String,
    /// The subject's single `countryName`, if it has exactly one.
    subject_country: Option<String>,
    issuer_text: String,
    /// DER of the SubjectPublicKeyInfo, for matching anchors.
    spki: Vec<u8>,
    /// The key, or why it cannot be used.
    key: Result<PublicKey, String>,
    not_before: i64,
    not_after: i64,
    basic_constraints: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
    ext_key_usage: Option<Vec<ObjectIdentifier>>,
    /// Raw `subjectAltName` value, decoded only for the leaf.
    subject_alt_name: Option<Vec<u8>>,
    unknown_critical: Vec<ObjectIdentifier>,
}

impl CertInfo {
    fn parse(index: usize, der: &[u8]) -> Result<Self, X509Error> {
        let malformed = |reason: String| X509Error::Malformed { index, reason };
        let cert =
            Certificate::from_der(der).map_err(|e| malformed(format!("not DER X.509: {e}")))?;
        // Serial numbers are not used here (no revocation lists); see `LenientSerial`.
        let tbs = tbs_bytes(der)
            .map_err(|e| malformed(format!("cannot locate tbsCertificate: {e}")))?
            .to_vec();
        let tbs_cert = &cert.tbs_certificate;

        // §4.1.1.2: the outer signatureAlgorithm must equal the signed one, or the algorithm
        // could be swapped without breaking the signature.
        if tbs_cert.signature != cert.signature_algorithm {
            return Err(malformed(
                "signatureAlgorithm differs from tbsCertificate.signature (RFC 5280 §4.1.1.2)"
                    .into(),
            ));
        }
        let signature = cert
            .signature
            .as_bytes()
            .ok_or_else(|| malformed("signature BIT STRING has unused bits".into()))?
            .to_vec();

        let subject = tbs_cert
            .subject
            .to_der()
            .map_err(|e| malformed(format!("subject: {e}")))?;
        let issuer = tbs_cert
            .issuer
            .to_der()
            .map_err(|e| malformed(format!("issuer: {e}")))?;
        let spki = tbs_cert
            .subject_public_key_info
            .to_der()
            .map_err(|e| malformed(format!("subjectPublicKeyInfo: {e}")))?;
        let key = public_key(&tbs_cert.subject_public_key_info);

        let mut basic_constraints = None;
        let mut key_usage = None;
        let mut ext_key_usage = None;
        let mut subject_alt_name = None;
        let mut unknown_critical = Vec::new();
        let mut seen: Vec<ObjectIdentifier> = Vec::new();
        for ext in tbs_cert.extensions.as_deref().unwrap_or_default() {
            let id = ext.extn_id;
            // §4.2: "A certificate MUST NOT include more than one instance of a particular
            // extension." Two copies could be read differently by different validators.
            if seen.contains(&id) {
                return Err(malformed(format!(
                    "extension {} appears twice (RFC 5280 §4.2)",
                    oid_text(&id)
                )));
            }
            seen.push(id);
            let value = ext.extn_value.as_bytes();
            let bad = |e: der::Error| malformed(format!("extension {}: {e}", oid_text(&id)));
            if id == rfc5280::ID_CE_BASIC_CONSTRAINTS {
                basic_constraints = Some(BasicConstraints::from_der(value).map_err(bad)?);
            } else if id == rfc5280::ID_CE_KEY_USAGE {
                key_usage = Some(KeyUsage::from_der(value).map_err(bad)?);
            } else if id == rfc5280::ID_CE_EXT_KEY_USAGE {
                ext_key_usage = Some(ExtendedKeyUsage::from_der(value).map_err(bad)?.0);
            } else if id == rfc5280::ID_CE_SUBJECT_ALT_NAME {
                subject_alt_name = Some(value.to_vec());
            } else if id == rfc5280::ID_CE_NAME_CONSTRAINTS
                || id == rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS
            {
                // Processed by webpki (name constraints, RFC 5280 §4.2.1.10) or meaningful only
                // to revocation checking, which is out of scope (§4.2.1.13).
            } else if ext.critical {
                unknown_critical.push(id);
            }
        }

        Ok(Self {
            der: der.to_vec(),
            tbs,
            signature_algorithm: cert.signature_algorithm.clone(),
            signature,
            subject,
            issuer,
            subject_text: name_text(&tbs_cert.subject),
            subject_country: country(&tbs_cert.subject),
            issuer_text: name_text(&tbs_cert.issuer),
            spki,
            key,
            not_before: unix_seconds(tbs_cert.validity.not_before)
                .ok_or_else(|| malformed("notBefore is beyond the year 292277026596".into()))?,
            not_after: unix_seconds(tbs_cert.validity.not_after)
                .ok_or_else(|| malformed("notAfter is beyond the year 292277026596".into()))?,
            basic_constraints,
            key_usage,
            ext_key_usage,
            subject_alt_name,
            unknown_critical,
        })
    }

    /// §6.1: self-issued when subject and issuer are the same name (a root, or a CA's key
    /// rollover certificate); those do not count against pathLenConstraint.
    fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }

    /// The DNS and URI entries of `subjectAltName` (RFC 5280 §4.2.1.6).
    fn san(&self) -> Result<(Vec<String>, Vec<String>), X509Error> {
        let mut dns = Vec::new();
        let mut uri = Vec::new();
        if let Some(value) = &self.subject_alt_name {
            let san = SubjectAltName::from_der(value).map_err(|e| X509Error::Malformed {
                index: 0,
                reason: format!("subjectAltName: {e}"),
            })?;
            for name in san.0 {
                match name {
                    GeneralName::DnsName(n) => dns.push(n.to_string()),
                    GeneralName::UniformResourceIdentifier(n) => uri.push(n.to_string()),
                    _ => {}
                }
            }
        }
        Ok((dns, uri))
    }
}

/// RFC 5280 parsing, except that a serial number may be longer than 20 octets.
///
/// RFC 5280 §4.1.2.2 forbids conforming CAs longer serials but says certificate users "SHOULD
/// be prepared to gracefully handle" non-conforming ones, and real credential issuers emit them
/// (the Ubique document signer certificate has 32 octets). webpki, which validates the path,
/// reads them as well; this module never uses the serial. Its size is bounded by
/// [`MAX_CERT_SIZE`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct LenientSerial;

impl Profile for LenientSerial {
    fn check_serial_number(_serial: &SerialNumber<Self>) -> der::Result<()> {
        Ok(())
    }
}

type Certificate = CertificateInner<LenientSerial>;

/// The raw `tbsCertificate` TLV: the first element inside the outer `Certificate` SEQUENCE.
/// Signatures are over these exact bytes, so they are taken from the input, not re-encoded.
fn tbs_bytes(der: &[u8]) -> der::Result<&[u8]> {
    let mut reader = SliceReader::new(der)?;
    let _certificate = Header::decode(&mut reader)?;
    reader.tlv_bytes()
}

/// The key type of a SubjectPublicKeyInfo (RFC 5480 §2 for EC, RFC 3279 §2.3.1 for RSA,
/// RFC 8410 §4 for Ed25519), or why it is not supported.
fn public_key(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Result<PublicKey, String> {
    let oid = spki.algorithm.oid;
    let bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| "subjectPublicKey BIT STRING has unused bits".to_owned())?
        .to_vec();
    let kind = if oid == rfc5912::ID_EC_PUBLIC_KEY {
        // RFC 5480 §2.1.1: only namedCurve is allowed.
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .ok_or_else(|| "EC key without a named curve".to_owned())?
            .decode_as::<ObjectIdentifier>()
            .map_err(|_| "EC key parameters are not a named curve (RFC 5480 §2.1.1)".to_owned())?;
        let alg = if curve == rfc5912::SECP_256_R_1 {
            Algorithm::Es256
        } else if curve == rfc5912::SECP_384_R_1 {
            Algorithm::Es384
        } else if curve == rfc5912::SECP_521_R_1 {
            Algorithm::Es512
        } else {
            return Err(format!(
                "EC curve {} is not supported (P-256, P-384, P-521)",
                oid_text(&curve)
            ));
        };
        KeyKind::Ec(alg)
    } else if oid == rfc5912::RSA_ENCRYPTION {
        KeyKind::Rsa
    } else if oid == rfc8410::ID_ED_25519 {
        KeyKind::Ed25519
    } else {
        return Err(format!(
            "key type {} is not supported (EC, RSA, Ed25519)",
            oid_text(&oid)
        ));
    };
    Ok(PublicKey { kind, bytes })
}

/// RFC 4514 display of a name; an empty name says so instead of printing nothing.
fn name_text(name: &x509_cert::name::Name) -> String {
    let text = name.to_string();
    if text.is_empty() {
        "empty name".into()
    } else {
        text
    }
}

/// The one `countryName` attribute of `name` (RFC 5280 Appendix A), or `None` when it has
/// none, several, or one that is not text.
fn country(name: &x509_cert::name::Name) -> Option<String> {
    let mut found = name
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == const_oid::db::rfc4519::COUNTRY_NAME);
    let first = found.next()?;
    if found.next().is_some() {
        return None;
    }
    // RFC 5280 wants PrintableString; some issuers (and rcgen) write UTF8String.
    der::asn1::PrintableStringRef::try_from(&first.value)
        .map(|s| s.as_str().to_owned())
        .or_else(|_| {
            der::asn1::Utf8StringRef::try_from(&first.value).map(|s| s.as_str().to_owned())
        })
        .ok()
}

/// An OID with its registered name, for error messages.
fn oid_text(oid: &ObjectIdentifier) -> String {
    match DB.by_oid(oid) {
        Some(name) => format!("{oid} ({name})"),
        None => oid.to_string(),
    }
}

/// Unix seconds of a certificate time, or `None` if it does not fit an `i64` (x509-cert caps
/// times at the year 9999, so this cannot happen; checked rather than saturated anyway).
fn unix_seconds(time: Time) -> Option<i64> {
    i64::try_from(time.to_unix_duration().as_secs()).ok()
}

/// A Unix time as `YYYY-MM-DDTHH:MM:SSZ` for error messages.
fn unix_text(seconds: &i64) -> String {
    u64::try_from(*seconds)
        .ok()
        .and_then(|s| der::DateTime::from_unix_duration(Duration::from_secs(s)).ok())
        .map_or_else(|| format!("unix time {seconds}"), |t| t.to_string())
}

/// The DER of every `CERTIFICATE` block in PEM text (RFC 7468 §2, §5), decoded laxly as §3
/// allows: whitespace anywhere in the base64 body is skipped.
fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, X509Error> {
    let mut ders = Vec::new();
    let mut rest = pem;
    while let Some((_, after_begin)) = rest.split_once("-----BEGIN ") {
        let (label, after_label) = after_begin
            .split_once("-----")
            .ok_or_else(|| X509Error::Pem("a BEGIN line is not terminated by -----".into()))?;
        let end = format!("-----END {label}-----");
        let (body, after_end) = after_label
            .split_once(&end)
            .ok_or_else(|| X509Error::Pem(format!("no `{end}` line")))?;
        rest = after_end;
        if label != "CERTIFICATE" {
            continue;
        }
        let text: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = crate::b64::decode_std(text).map_err(|e| {
            X509Error::Pem(format!(
                "CERTIFICATE block {} is not base64: {e}",
                ders.len()
            ))
        })?;
        ders.push(der);
    }
    if ders.is_empty() {
        return Err(X509Error::Pem("no CERTIFICATE block found".into()));
    }
    Ok(ders)
}

#[cfg(test)]
mod tests {
    use rcgen::BasicConstraints as RcBasicConstraints;
    use rcgen::CertificateParams;
    use rcgen::DistinguishedName;
    use rcgen::DnType;
    use rcgen::ExtendedKeyUsagePurpose;
    use rcgen::IsCa;
    use rcgen::Issuer;
    use rcgen::KeyPair;
    use rcgen::KeyUsagePurpose;
    use rcgen::PKCS_ECDSA_P256_SHA256;
    use rcgen::PKCS_ECDSA_P384_SHA384;
    use rcgen::date_time_ymd;

    use super::*;
    use crate::HasErrorCode as _;

    /// 2025-06-01T00:00:00Z, inside every test certificate's validity.
    const NOW: i64 = 1_748_736_000;

    struct Ca {
        params: CertificateParams,
        key: KeyPair,
        der: Vec<u8>,
    }

    impl Ca {
        fn issuer(&self) -> Issuer<'_, &KeyPair> {
            Issuer::from_params(&self.params, &self.key)
        }
    }

    fn params(cn: &str, ca: IsCa, from: (i32, u8, u8), to: (i32, u8, u8)) -> CertificateParams {
        let mut params = CertificateParams::new(vec![]).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        dn.push(DnType::CountryName, "DK");
        params.distinguished_name = dn;
        params.is_ca = ca;
        params.not_before = date_time_ymd(from.0, from.1, from.2);
        params.not_after = date_time_ymd(to.0, to.1, to.2);
        params
    }

    fn ca_params(cn: &str) -> CertificateParams {
        let mut p = params(
            cn,
            IsCa::Ca(RcBasicConstraints::Unconstrained),
            (2024, 1, 1),
            (2034, 1, 1),
        );
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p
    }

    fn root(cn: &str) -> Ca {
        let params = ca_params(cn);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        Ca { params, key, der }
    }

    fn signed(params: CertificateParams, by: &Ca) -> Ca {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let der = params.signed_by(&key, &by.issuer()).unwrap().der().to_vec();
        Ca { params, key, der }
    }

    fn leaf_params() -> CertificateParams {
        let mut p = params("issuer leaf", IsCa::NoCa, (2025, 1, 1), (2026, 1, 1));
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.subject_alt_names = vec![
            rcgen::SanType::DnsName("issuer.example".try_into().unwrap()),
            rcgen::SanType::URI("https://issuer.example/pid".try_into().unwrap()),
        ];
        p
    }

    fn mdoc_leaf_params() -> CertificateParams {
        let mut p = leaf_params();
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![1, 0, 18013, 5, 1, 2])];
        p
    }

    /// root → intermediate → leaf, all P-256.
    struct Pki {
        root: Ca,
        inter: Ca,
        leaf: Ca,
    }

    fn pki() -> Pki {
        let root = root("test root");
        let inter = signed(ca_params("test intermediate"), &root);
        let leaf = signed(leaf_params(), &inter);
        Pki { root, inter, leaf }
    }

    fn validator(anchor: &[u8]) -> ChainValidator {
        let mut anchors = TrustAnchors::new();
        anchors.add_der(anchor).unwrap();
        ChainValidator::new(anchors)
    }

    fn x5c(ders: &[&[u8]]) -> Vec<String> {
        ders.iter().map(crate::b64::encode_std).collect()
    }

    fn unix(y: i32, m: u8, d: u8) -> i64 {
        date_time_ymd(y, m, d).unix_timestamp()
    }

    #[test]
    fn valid_chain_without_the_anchor() {
        let p = pki();
        let v = validator(&p.root.der);
        let chain = v
            .validate_der(
                &[&p.leaf.der, &p.inter.der],
                NOW,
                LeafProfile::DigitalSignature,
            )
            .unwrap();
        assert_eq!(chain.leaf_subject, "C=DK,CN=issuer leaf");
        assert_eq!(chain.leaf_country.as_deref(), Some("DK"));
        assert_eq!(chain.anchor_subject, "C=DK,CN=test root");
        assert_eq!(chain.anchor_index, 0);
        assert_eq!(chain.leaf_san_dns, ["issuer.example"]);
        assert_eq!(chain.leaf_san_uri, ["https://issuer.example/pid"]);
        assert_eq!(chain.leaf_der, p.leaf.der);
        assert_eq!(chain.not_before, unix(2025, 1, 1));
        assert_eq!(chain.not_after, unix(2026, 1, 1));
        assert_eq!(
            chain.leaf_key.sec1_uncompressed(),
            p.leaf.key.public_key_raw()
        );
    }

    #[test]
    fn valid_chain_with_the_anchor_included() {
        let p = pki();
        let v = validator(&p.root.der);
        let chain = v
            .validate_x5c(
                &x5c(&[&p.leaf.der, &p.inter.der, &p.root.der]),
                NOW,
                LeafProfile::DigitalSignature,
            )
            .unwrap();
        assert_eq!(chain.anchor_subject, "C=DK,CN=test root");
    }

    #[test]
    fn intermediate_configured_as_anchor_ends_the_path() {
        let p = pki();
        let mut anchors = TrustAnchors::new();
        anchors.add_der(&p.root.der).unwrap();
        anchors.add_der(&p.inter.der).unwrap();
        let v = ChainValidator::new(anchors);
        let chain = v
            .validate_der(
                &[&p.leaf.der, &p.inter.der],
                NOW,
                LeafProfile::DigitalSignature,
            )
            .unwrap();
        assert_eq!(chain.anchor_index, 1);
    }

    #[test]
    fn cache_hit_returns_the_same_arc_and_still_checks_time() {
        let p = pki();
        let v = validator(&p.root.der);
        let x5c = x5c(&[&p.leaf.der, &p.inter.der]);
        let first = v
            .validate_x5c(&x5c, NOW, LeafProfile::DigitalSignature)
            .unwrap();
        let second = v
            .validate_x5c(&x5c, NOW + 60, LeafProfile::DigitalSignature)
            .unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(v.cache_len(), 1);

        // Another profile is a different cache entry.
        let any = v.validate_x5c(&x5c, NOW, LeafProfile::Any).unwrap();
        assert!(!Arc::ptr_eq(&first, &any));

        let later = unix(2026, 1, 1) + 1;
        let err = v
            .validate_x5c(&x5c, later, LeafProfile::DigitalSignature)
            .unwrap_err();
        assert_eq!(
            err,
            X509Error::Expired {
                index: 0,
                subject: "C=DK,CN=issuer leaf".into(),
                not_after: unix(2026, 1, 1),
            }
        );
        assert_eq!(
            err.to_string(),
            "certificate 0 (C=DK,CN=issuer leaf) expired at 2026-01-01T00:00:00Z"
        );
        // The last second of validity is still valid (RFC 5280 §4.1.2.5: inclusive).
        let der_chain: [&[u8]; 2] = [&p.leaf.der, &p.inter.der];
        v.validate_der(&der_chain, unix(2026, 1, 1), LeafProfile::DigitalSignature)
            .unwrap();
    }

    #[test]
    fn failures_are_not_cached() {
        let p = pki();
        let v = validator(&p.root.der);
        let x5c = x5c(&[&p.leaf.der, &p.inter.der]);
        assert!(
            v.validate_x5c(&x5c, unix(2030, 1, 1), LeafProfile::Any)
                .is_err()
        );
        assert_eq!(v.cache_len(), 0);
        v.validate_x5c(&x5c, NOW, LeafProfile::Any).unwrap();
        assert_eq!(v.cache_len(), 1);
    }

    #[test]
    fn full_cache_is_cleared() {
        let p = pki();
        let mut anchors = TrustAnchors::new();
        anchors.add_der(&p.root.der).unwrap();
        let v = ChainValidator::with_cache_capacity(anchors, 2);
        let chain: [&[u8]; 2] = [&p.leaf.der, &p.inter.der];
        v.validate_der(&chain, NOW, LeafProfile::Any).unwrap();
        v.validate_der(&chain, NOW, LeafProfile::DigitalSignature)
            .unwrap();
        assert_eq!(v.cache_len(), 2);
        v.validate_x5c(&x5c(&chain), NOW, LeafProfile::Any).unwrap();
        assert_eq!(v.cache_len(), 1);
    }

    #[test]
    fn untrusted_root_fails() {
        let p = pki();
        let other = root("other root");
        let v = validator(&other.der);
        let err = v
            .validate_der(&[&p.leaf.der, &p.inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(matches!(err, X509Error::UntrustedChain(_)), "{err}");
        let err = v
            .validate_der(
                &[&p.leaf.der, &p.inter.der, &p.root.der],
                NOW,
                LeafProfile::Any,
            )
            .unwrap_err();
        assert!(matches!(err, X509Error::UntrustedChain(_)), "{err}");
    }

    #[test]
    fn same_name_different_key_anchor_fails_with_bad_signature() {
        let p = pki();
        let impostor = root("test root");
        let v = validator(&impostor.der);
        let err = v
            .validate_der(&[&p.leaf.der, &p.inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(
            matches!(err, X509Error::BadSignature { index: 1, .. }),
            "{err}"
        );
    }

    /// An intermediate with the right name but another key: names chain, signatures do not.
    #[test]
    fn same_name_different_key_intermediate_fails_with_bad_signature() {
        let p = pki();
        let impostor = signed(ca_params("test intermediate"), &p.root);
        let v = validator(&p.root.der);
        let err = v
            .validate_der(&[&p.leaf.der, &impostor.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(
            matches!(err, X509Error::BadSignature { index: 0, .. }),
            "{err}"
        );
        assert_eq!(err.code(), crate::ErrorCode::UntrustedIssuer);
    }

    /// A configured anchor whose basicConstraints says it is not a CA issues nothing.
    #[test]
    fn anchor_that_denies_being_a_ca_fails() {
        let mut anchor_params = ca_params("test root");
        anchor_params.is_ca = IsCa::ExplicitNoCa;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let der = anchor_params.self_signed(&key).unwrap().der().to_vec();
        let anchor = Ca {
            params: anchor_params,
            key,
            der,
        };
        let leaf = signed(leaf_params(), &anchor);
        let v = validator(&anchor.der);
        let err = v
            .validate_der(&[&leaf.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(matches!(err, X509Error::NotACa { index: 1, .. }), "{err}");
    }

    #[test]
    fn error_codes() {
        use crate::ErrorCode;
        let p = pki();
        let v = validator(&p.root.der);
        let code = |chain: &[&[u8]]| {
            v.validate_der(chain, NOW, LeafProfile::MdocDocumentSigner)
                .unwrap_err()
                .code()
        };
        // No id-mdlDS EKU: a trust failure.
        assert_eq!(
            code(&[&p.leaf.der, &p.inter.der]),
            ErrorCode::UntrustedIssuer
        );
        // Not DER.
        assert_eq!(code(&[b"junk"]), ErrorCode::Malformed);
        assert_eq!(code(&[]), ErrorCode::Malformed);
        // Too many certificates, and one too large.
        let many: Vec<&[u8]> = vec![&p.leaf.der; MAX_CHAIN_LEN + 1];
        assert_eq!(code(&many), ErrorCode::TooLarge);
        let big = vec![0u8; MAX_CERT_SIZE + 1];
        assert_eq!(code(&[&big]), ErrorCode::TooLarge);
        // Expired certificates are untrusted chains, not expired credentials.
        let old = signed(
            params("old leaf", IsCa::NoCa, (2024, 1, 1), (2025, 1, 1)),
            &p.inter,
        );
        let err = v
            .validate_der(&[&old.der, &p.inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::UntrustedIssuer, "{err}");
        // x5c that is not base64.
        let err = v
            .validate_x5c(&["%%%".to_owned()], NOW, LeafProfile::Any)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed, "{err}");
        // An invalid anchor is named for what is wrong with it.
        let err = TrustAnchors::new().add_der(b"junk").unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed, "{err}");
        assert_eq!(X509Error::Internal("test").code(), ErrorCode::Internal);
    }

    #[test]
    fn no_anchors_configured() {
        let p = pki();
        let v = ChainValidator::new(TrustAnchors::new());
        let err = v
            .validate_der(&[&p.leaf.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert_eq!(
            err,
            X509Error::UntrustedChain("no trust anchors are configured".into())
        );
    }

    #[test]
    fn expired_leaf() {
        let p = pki();
        let leaf = signed(
            params("old leaf", IsCa::NoCa, (2024, 1, 1), (2025, 1, 1)),
            &p.inter,
        );
        let v = validator(&p.root.der);
        let err = v
            .validate_der(&[&leaf.der, &p.inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(matches!(err, X509Error::Expired { index: 0, .. }), "{err}");
    }

    #[test]
    fn not_yet_valid_leaf() {
        let p = pki();
        let leaf = signed(
            params("future leaf", IsCa::NoCa, (2026, 1, 1), (2027, 1, 1)),
            &p.inter,
        );
        let v = validator(&p.root.der);
        let err = v
            .validate_der(&[&leaf.der, &p.inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert_eq!(
            err,
            X509Error::NotYetValid {
                index: 0,
                subject: "C=DK,CN=future leaf".into(),
                not_before: unix(2026, 1, 1),
            }
        );
    }

    #[test]
    fn expired_intermediate() {
        let root = root("test root");
        let mut inter_params = ca_params("old intermediate");
        inter_params.not_before = date_time_ymd(2020, 1, 1);
        inter_params.not_after = date_time_ymd(2025, 3, 1);
        let inter = signed(inter_params, &root);
        let leaf = signed(leaf_params(), &inter);
        let v = validator(&root.der);
        let err = v
            .validate_der(&[&leaf.der, &inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(matches!(err, X509Error::Expired { index: 1, .. }), "{err}");
    }

    #[test]
    fn expired_anchor() {
        let mut root_params = ca_params("old root");
        root_params.not_after = date_time_ymd(2025, 3, 1);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let der = root_params.self_signed(&key).unwrap().der().to_vec();
        let root = Ca {
            params: root_params,
            key,
            der,
        };
        let leaf = signed(leaf_params(), &root);
        let v = validator(&root.der);
        let err = v
            .validate_der(&[&leaf.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(matches!(err, X509Error::Expired { index: 1, .. }), "{err}");
    }

    #[test]
    fn intermediate_without_ca_fails() {
        let root = root("test root");
        let mut inter_params = ca_params("not a ca");
        inter_params.is_ca = IsCa::ExplicitNoCa;
        let inter = signed(inter_params, &root);
        let leaf = signed(leaf_params(), &inter);
        let v = validator(&root.der);
        let err = v
            .validate_der(&[&leaf.der, &inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(matches!(err, X509Error::NotACa { index: 1, .. }), "{err}");
    }

    #[test]
    fn leaf_used_as_issuer_fails() {
        let p = pki();
        let mut params = leaf_params();
        params
            .distinguished_name
            .push(DnType::CommonName, "sub leaf");
        let sub = signed(params, &p.leaf);
        let v = validator(&p.root.der);
        let err = v
            .validate_der(
                &[&sub.der, &p.leaf.der, &p.inter.der],
                NOW,
                LeafProfile::Any,
            )
            .unwrap_err();
        assert!(matches!(err, X509Error::NotACa { index: 1, .. }), "{err}");
    }

    #[test]
    fn intermediate_without_key_cert_sign_fails() {
        let root = root("test root");
        let mut inter_params = ca_params("crl only");
        inter_params.key_usages = vec![KeyUsagePurpose::CrlSign];
        let inter = signed(inter_params, &root);
        let leaf = signed(leaf_params(), &inter);
        let v = validator(&root.der);
        let err = v
            .validate_der(&[&leaf.der, &inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(matches!(err, X509Error::KeyUsage { index: 1, .. }), "{err}");
    }

    #[test]
    fn path_length_constraint_is_enforced() {
        let mut root_params = ca_params("constrained root");
        root_params.is_ca = IsCa::Ca(RcBasicConstraints::Constrained(0));
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let der = root_params.self_signed(&key).unwrap().der().to_vec();
        let root = Ca {
            params: root_params,
            key,
            der,
        };
        let inter = signed(ca_params("test intermediate"), &root);
        let leaf = signed(leaf_params(), &inter);
        let v = validator(&root.der);
        let err = v
            .validate_der(&[&leaf.der, &inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert_eq!(
            err,
            X509Error::PathLength {
                index: 2,
                subject: "C=DK,CN=constrained root".into(),
                path_len: 0,
                below: 1,
            }
        );
        // Directly under the root is fine.
        let direct = signed(leaf_params(), &root);
        v.validate_der(&[&direct.der], NOW, LeafProfile::Any)
            .unwrap();
    }

    /// root → constrained (pathLenConstraint 0) → second intermediate → leaf: the second
    /// intermediate is one CA too many below the constrained one (webpki's check).
    #[test]
    fn intermediate_path_length_constraint_is_enforced() {
        let root = root("test root");
        let mut constrained = ca_params("constrained intermediate");
        constrained.is_ca = IsCa::Ca(RcBasicConstraints::Constrained(0));
        let constrained = signed(constrained, &root);
        let second = signed(ca_params("second intermediate"), &constrained);
        let leaf = signed(leaf_params(), &second);
        let v = validator(&root.der);
        let err = v
            .validate_der(
                &[&leaf.der, &second.der, &constrained.der],
                NOW,
                LeafProfile::Any,
            )
            .unwrap_err();
        assert_eq!(
            err,
            X509Error::PathLength {
                index: 2,
                subject: "C=DK,CN=constrained intermediate".into(),
                path_len: 0,
                below: 1,
            }
        );
        // One intermediate below the root, as the constraint allows.
        let allowed = signed(leaf_params(), &constrained);
        v.validate_der(&[&allowed.der, &constrained.der], NOW, LeafProfile::Any)
            .unwrap();
    }

    /// webpki builds the path: intermediates may come in any order, and certificates that are
    /// not on the path are ignored.
    #[test]
    fn several_intermediates_in_any_order() {
        let root = root("test root");
        let upper = signed(ca_params("upper intermediate"), &root);
        let lower = signed(ca_params("lower intermediate"), &upper);
        let leaf = signed(leaf_params(), &lower);
        let stray = signed(ca_params("stray intermediate"), &root);
        let v = validator(&root.der);
        for chain in [
            [&leaf.der[..], &lower.der, &upper.der, &stray.der],
            [&leaf.der[..], &upper.der, &stray.der, &lower.der],
            [&leaf.der[..], &stray.der, &lower.der, &upper.der],
        ] {
            let validated = v.validate_der(&chain, NOW, LeafProfile::Any).unwrap();
            assert_eq!(validated.leaf_subject, "C=DK,CN=issuer leaf");
            assert_eq!(validated.anchor_index, 0);
        }
        // Without the upper intermediate there is no path.
        let err = v
            .validate_der(&[&leaf.der, &lower.der, &stray.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::UntrustedIssuer, "{err}");
    }

    /// Name constraints (RFC 5280 §4.2.1.10) are processed, not refused as an unknown critical
    /// extension: a leaf inside the permitted subtree passes, one outside fails.
    #[test]
    fn name_constraints_are_enforced() {
        let root = root("test root");
        let mut constrained = ca_params("constrained intermediate");
        constrained.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("issuer.example".into())],
            excluded_subtrees: vec![],
        });
        let constrained = signed(constrained, &root);
        let v = validator(&root.der);

        let mut inside = params("inside leaf", IsCa::NoCa, (2025, 1, 1), (2026, 1, 1));
        inside.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        inside.subject_alt_names = vec![rcgen::SanType::DnsName(
            "issuer.example".try_into().unwrap(),
        )];
        let inside = signed(inside, &constrained);
        v.validate_der(
            &[&inside.der, &constrained.der],
            NOW,
            LeafProfile::DigitalSignature,
        )
        .unwrap();

        // The usual issuer leaf: a DNS and a URI SAN (for an SD-JWT VC `iss`); DNS subtrees do
        // not constrain URI names.
        let usual = signed(leaf_params(), &constrained);
        v.validate_der(
            &[&usual.der, &constrained.der],
            NOW,
            LeafProfile::DigitalSignature,
        )
        .unwrap();

        let mut outside = params("outside leaf", IsCa::NoCa, (2025, 1, 1), (2026, 1, 1));
        outside.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        outside.subject_alt_names =
            vec![rcgen::SanType::DnsName("other.example".try_into().unwrap())];
        let outside = signed(outside, &constrained);
        let err = v
            .validate_der(
                &[&outside.der, &constrained.der],
                NOW,
                LeafProfile::DigitalSignature,
            )
            .unwrap_err();
        assert!(
            matches!(&err, X509Error::UntrustedChain(reason) if reason.contains("NameConstraintViolation")),
            "{err}"
        );
    }

    /// A critical extension nobody processes on an intermediate: webpki refuses it and the
    /// error names the intermediate.
    #[test]
    fn unknown_critical_extension_on_an_intermediate_is_rejected() {
        let root = root("test root");
        let mut params = ca_params("odd intermediate");
        let mut ext = rcgen::CustomExtension::from_oid_content(&[1, 2, 3, 4, 6], vec![0x05, 0x00]);
        ext.set_criticality(true);
        params.custom_extensions = vec![ext];
        let inter = signed(params, &root);
        let leaf = signed(leaf_params(), &inter);
        let v = validator(&root.der);
        let err = v
            .validate_der(&[&leaf.der, &inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert_eq!(
            err,
            X509Error::UnknownCriticalExtension {
                index: 1,
                subject: "C=DK,CN=odd intermediate".into(),
                oids: "1.2.3.4.6".into(),
            }
        );
    }

    #[test]
    fn tampered_leaf_signature_fails() {
        let p = pki();
        let mut leaf = p.leaf.der.clone();
        // The signature BIT STRING is the last element; flip a byte inside the ECDSA `s`.
        let last = leaf.len() - 2;
        leaf[last] ^= 0x01;
        let v = validator(&p.root.der);
        let err = v
            .validate_der(&[&leaf, &p.inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert_eq!(
            err,
            X509Error::BadSignature {
                index: 0,
                subject: "C=DK,CN=issuer leaf".into(),
                issuer: "C=DK,CN=test intermediate".into(),
            }
        );
    }

    #[test]
    fn leaf_for_cert_signing_only_is_not_a_signer() {
        let p = pki();
        let mut params = leaf_params();
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let leaf = signed(params, &p.inter);
        let v = validator(&p.root.der);
        let chain: [&[u8]; 2] = [&leaf.der, &p.inter.der];
        let err = v
            .validate_der(&chain, NOW, LeafProfile::DigitalSignature)
            .unwrap_err();
        assert!(matches!(err, X509Error::KeyUsage { index: 0, .. }), "{err}");
        v.validate_der(&chain, NOW, LeafProfile::Any).unwrap();
    }

    #[test]
    fn ca_leaf_is_refused_unless_any() {
        let p = pki();
        let v = validator(&p.root.der);
        let chain: [&[u8]; 1] = [&p.inter.der];
        let err = v
            .validate_der(&chain, NOW, LeafProfile::DigitalSignature)
            .unwrap_err();
        assert!(matches!(err, X509Error::LeafIsCa { .. }), "{err}");
        // webpki never takes a CA as the end entity of a path it builds, so `Any` accepts a CA
        // leaf only when that leaf is itself configured as trusted.
        let err = v.validate_der(&chain, NOW, LeafProfile::Any).unwrap_err();
        assert!(matches!(err, X509Error::LeafIsCa { .. }), "{err}");
        let direct = validator(&p.inter.der);
        direct.validate_der(&chain, NOW, LeafProfile::Any).unwrap();
        let err = direct
            .validate_der(&chain, NOW, LeafProfile::DigitalSignature)
            .unwrap_err();
        assert!(matches!(err, X509Error::LeafIsCa { .. }), "{err}");
    }

    #[test]
    fn mdoc_signer_requires_the_mdl_ds_eku() {
        let p = pki();
        let v = validator(&p.root.der);
        let err = v
            .validate_der(
                &[&p.leaf.der, &p.inter.der],
                NOW,
                LeafProfile::MdocDocumentSigner,
            )
            .unwrap_err();
        assert!(
            matches!(err, X509Error::ExtendedKeyUsage { index: 0, .. }),
            "{err}"
        );

        let mut wrong = leaf_params();
        wrong.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let wrong = signed(wrong, &p.inter);
        let err = v
            .validate_der(
                &[&wrong.der, &p.inter.der],
                NOW,
                LeafProfile::MdocDocumentSigner,
            )
            .unwrap_err();
        assert!(
            matches!(err, X509Error::ExtendedKeyUsage { index: 0, .. }),
            "{err}"
        );

        let ds = signed(mdoc_leaf_params(), &p.inter);
        v.validate_der(
            &[&ds.der, &p.inter.der],
            NOW,
            LeafProfile::MdocDocumentSigner,
        )
        .unwrap();
    }

    #[test]
    fn mdoc_signer_requires_key_usage() {
        let p = pki();
        let mut params = mdoc_leaf_params();
        params.key_usages = vec![];
        let ds = signed(params, &p.inter);
        let v = validator(&p.root.der);
        let chain: [&[u8]; 2] = [&ds.der, &p.inter.der];
        let err = v
            .validate_der(&chain, NOW, LeafProfile::MdocDocumentSigner)
            .unwrap_err();
        assert!(matches!(err, X509Error::KeyUsage { index: 0, .. }), "{err}");
        // Without keyUsage the key is unrestricted, which is enough for DigitalSignature.
        v.validate_der(&chain, NOW, LeafProfile::DigitalSignature)
            .unwrap();
    }

    #[test]
    fn unknown_critical_extension_is_rejected() {
        let p = pki();
        let mut params = leaf_params();
        let mut ext = rcgen::CustomExtension::from_oid_content(&[1, 2, 3, 4, 5], vec![0x05, 0x00]);
        ext.set_criticality(true);
        params.custom_extensions = vec![ext];
        let leaf = signed(params, &p.inter);
        let v = validator(&p.root.der);
        let err = v
            .validate_der(&[&leaf.der, &p.inter.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert_eq!(
            err,
            X509Error::UnknownCriticalExtension {
                index: 0,
                subject: "C=DK,CN=issuer leaf".into(),
                oids: "1.2.3.4.5".into(),
            }
        );
    }

    #[test]
    fn names_must_chain() {
        let p = pki();
        let other = pki();
        let v = validator(&p.root.der);
        let err = v
            .validate_der(&[&p.leaf.der, &other.root.der], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(
            matches!(err, X509Error::IssuerMismatch { index: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let p = pki();
        let v = validator(&p.root.der);
        for garbage in [
            &b""[..],
            b"\x30",
            b"\x30\x82\xff\xff",
            b"\x30\x03\x02\x01\x01",
            &p.leaf.der[..p.leaf.der.len() - 1],
        ] {
            let err = v
                .validate_der(&[garbage], NOW, LeafProfile::Any)
                .unwrap_err();
            assert!(
                matches!(err, X509Error::Malformed { index: 0, .. }),
                "{err}"
            );
        }
        let mut trailing = p.leaf.der.clone();
        trailing.push(0);
        assert!(matches!(
            v.validate_der(&[&trailing], NOW, LeafProfile::Any),
            Err(X509Error::Malformed { index: 0, .. })
        ));

        let err = v
            .validate_x5c(&["not base64!".into()], NOW, LeafProfile::Any)
            .unwrap_err();
        assert!(matches!(err, X509Error::Base64 { index: 0, .. }), "{err}");
        // base64url is not the x5c alphabet (RFC 7515 §4.1.6).
        let url = crate::b64::encode(&p.leaf.der);
        assert!(v.validate_x5c(&[url], NOW, LeafProfile::Any).is_err());

        assert_eq!(
            v.validate_der(&[], NOW, LeafProfile::Any).unwrap_err(),
            X509Error::EmptyChain
        );
        assert_eq!(
            v.validate_x5c(&[], NOW, LeafProfile::Any).unwrap_err(),
            X509Error::EmptyChain
        );
    }

    #[test]
    fn limits_are_enforced_before_parsing() {
        let p = pki();
        let v = validator(&p.root.der);
        let long: Vec<&[u8]> = vec![&p.leaf.der; MAX_CHAIN_LEN + 1];
        assert!(matches!(
            v.validate_der(&long, NOW, LeafProfile::Any),
            Err(X509Error::ChainTooLong { len: 9, max: 8 })
        ));
        let big = vec![0u8; MAX_CERT_SIZE + 1];
        assert!(matches!(
            v.validate_der(&[&big], NOW, LeafProfile::Any),
            Err(X509Error::TooLarge { index: 0, .. })
        ));
        let big = "A".repeat(MAX_X5C_ENTRY_LEN + 4);
        assert!(matches!(
            v.validate_x5c(&[big], NOW, LeafProfile::Any),
            Err(X509Error::TooLarge { index: 0, .. })
        ));
    }

    #[test]
    fn self_signed_leaf_configured_as_anchor() {
        let mut params = leaf_params();
        params.not_before = date_time_ymd(2025, 1, 1);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let v = validator(&der);
        let chain = v
            .validate_x5c(&x5c(&[&der]), NOW, LeafProfile::DigitalSignature)
            .unwrap();
        assert_eq!(chain.anchor_index, 0);
        assert_eq!(chain.leaf_subject, chain.anchor_subject);
    }

    #[test]
    fn non_ec_leaf_key_is_refused() {
        let root = root("test root");
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let leaf = leaf_params()
            .signed_by(&key, &root.issuer())
            .unwrap()
            .der()
            .to_vec();
        let v = validator(&root.der);
        let err = v.validate_der(&[&leaf], NOW, LeafProfile::Any).unwrap_err();
        assert!(
            matches!(err, X509Error::UnsupportedKey { index: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn ed25519_and_p384_issuers_verify() {
        // Ed25519 root → P-384 intermediate (signed with Ed25519) → P-256 leaf (ecdsa-with-SHA384).
        let params = ca_params("ed root");
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let ed_root = Ca { params, key, der };
        let inter_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
        let inter_params = ca_params("p384 intermediate");
        let inter_der = inter_params
            .signed_by(&inter_key, &ed_root.issuer())
            .unwrap()
            .der()
            .to_vec();
        let inter = Ca {
            params: inter_params,
            key: inter_key,
            der: inter_der,
        };
        let leaf = signed(leaf_params(), &inter);
        let v = validator(&ed_root.der);
        v.validate_der(&[&leaf.der, &inter.der], NOW, LeafProfile::DigitalSignature)
            .unwrap();
    }

    #[test]
    fn rsa_root_verifies() {
        // Real-world IACAs and trusted-list roots are often RSA (PKCS#1 v1.5, SHA-256).
        let params = ca_params("rsa root");
        let key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let rsa_root = Ca { params, key, der };
        let leaf = signed(leaf_params(), &rsa_root);
        let v = validator(&rsa_root.der);
        v.validate_der(&[&leaf.der], NOW, LeafProfile::DigitalSignature)
            .unwrap();
    }

    #[test]
    fn validator_is_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<ChainValidator>();
        shareable::<Arc<ValidatedChain>>();
    }

    #[test]
    fn pem_anchors() {
        let a = root("root a");
        let b = root("root b");
        let pem = format!(
            "text before\n{}\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}",
            pem_of(&a.der),
            pem_of(&b.der)
        );
        let mut anchors = TrustAnchors::new();
        assert_eq!(anchors.add_pem(&pem).unwrap(), 2);
        assert_eq!(anchors.len(), 2);
        assert_eq!(anchors.get(1).unwrap().subject(), "C=DK,CN=root b");
        assert!(matches!(
            anchors.add_pem("nothing here"),
            Err(X509Error::Pem(_))
        ));
        let broken = format!(
            "{}\n-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n",
            pem_of(&a.der)
        );
        assert!(matches!(
            anchors.add_pem(&broken),
            Err(X509Error::InvalidAnchor(_))
        ));
        assert_eq!(anchors.len(), 2, "a failed add_pem adds nothing");
        assert!(TrustAnchors::new().add_der(b"junk").is_err());
        let labelled = TrustAnchor::from_der(&a.der).unwrap().with_label("DK test");
        assert_eq!(labelled.label(), Some("DK test"));
    }

    fn pem_of(der: &[u8]) -> String {
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
            crate::b64::encode_std(der)
        )
    }

    /// ISO/IEC 18013-5 Annex D document signer certificate (issued by "utopia iaca", which is
    /// not published), configured directly as the anchor.
    #[test]
    fn iso_18013_5_annex_d_ds_cert() {
        const PEM: &str = include_str!("../../../../shared/vectors/mdoc/annex-d/ds_cert.pem");
        let mut anchors = TrustAnchors::new();
        assert_eq!(anchors.add_pem(PEM).unwrap(), 1);
        let der = anchors.get(0).unwrap().der().to_vec();
        let v = ChainValidator::new(anchors);
        // notBefore 2020-10-01, notAfter 2021-10-01 (openssl x509 -noout -dates).
        let inside = unix(2021, 1, 1);
        let chain = v
            .validate_der(&[&der], inside, LeafProfile::MdocDocumentSigner)
            .unwrap();
        assert_eq!(chain.leaf_subject, "C=US,CN=utopia ds");
        assert_eq!(chain.leaf_country.as_deref(), Some("US"));
        assert_eq!(chain.not_before, unix(2020, 10, 1));
        assert_eq!(chain.not_after, unix(2021, 10, 1));
        assert_eq!(chain.leaf_key.algorithm(), Algorithm::Es256);
        assert!(matches!(
            v.validate_der(&[&der], unix(2021, 10, 2), LeafProfile::MdocDocumentSigner),
            Err(X509Error::Expired { index: 0, .. })
        ));
    }

    /// The Ubique document signer certificate (real world): a v3 certificate without
    /// extensions and with a 32-byte serial number, where RFC 5280 §4.1.2.2 allows conforming
    /// CAs 20 octets. webpki reads it; x509-cert's RFC 5280 profile refused it until this module
    /// parsed with `LenientSerial`. Trusted directly, it validates for a profile that needs no
    /// keyUsage.
    #[test]
    fn ubique_certificate_with_a_long_serial() {
        const PEM: &str = include_str!(
            "../../../../shared/vectors/mdoc/real-world/ubique/issuer_certificate.pem"
        );
        let ders = pem_certificates(PEM).unwrap();
        let der = CertificateDer::from(ders[0].as_slice());
        webpki::EndEntityCert::try_from(&der).unwrap();
        // The default RFC 5280 profile of x509-cert refuses the serial.
        assert!(x509_cert::Certificate::from_der(&ders[0]).is_err());

        let mut anchors = TrustAnchors::new();
        assert_eq!(anchors.add_pem(PEM).unwrap(), 1);
        let v = ChainValidator::new(anchors);
        let chain = v
            .validate_der(&[&ders[0]], unix(2025, 2, 1), LeafProfile::Any)
            .unwrap();
        assert_eq!(chain.leaf_subject, "CN=Subject,C=CH");
        assert_eq!(chain.leaf_country.as_deref(), Some("CH"));
        // No keyUsage: not a document signer by ISO/IEC 18013-5 Annex B.
        assert!(matches!(
            v.validate_der(
                &[&ders[0]],
                unix(2025, 2, 1),
                LeafProfile::MdocDocumentSigner
            ),
            Err(X509Error::KeyUsage { index: 0, .. })
        ));
    }
}
