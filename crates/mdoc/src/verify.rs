//! Verification (ISO/IEC 18013-5 §9.3.1 mdoc authentication, §9.1.2 issuer data
//! authentication, §9.1.3 device authentication).
//!
//! For each document, in this order:
//!
//! 1. issuerAuth: `alg` (protected header) allowed by policy; the document signer certificate
//!    (`x5chain`) chains to a trust anchor with the configured [`LeafProfile`] (by default
//!    ISO/IEC 18013-5 Annex B `id-mdlDS`); the COSE_Sign1 signature verifies with its key;
//! 2. the document's `docType` equals the MSO's;
//! 3. `validFrom` ≤ now ≤ `validUntil` and `signed` ≤ now, each with the clock skew;
//! 4. every returned IssuerSignedItem: `random` of at least 16 bytes, digestID and element
//!    identifier unique in its namespace, covered by `valueDigests`, and its digest (over the
//!    exact IssuerSignedItemBytes) equal to the MSO's;
//! 5. device authentication when a SessionTranscript is given: deviceSignature with the MSO
//!    device key, or deviceMac with EMacKey from the reader's ephemeral key (§9.1.3.5), over
//!    DeviceAuthenticationBytes built from that transcript.
//!
//! Status (Token Status List) is returned as a reference, not fetched: the caller checks it.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::agreement::ECDH_P256;
use aws_lc_rs::agreement::ECDH_P384;
use aws_lc_rs::agreement::PrivateKey;
use aws_lc_rs::agreement::UnparsedPublicKey;
use aws_lc_rs::agreement::{self};
use aws_lc_rs::digest;
use aws_lc_rs::hkdf;
use aws_lc_rs::hmac;
use ciborium::Value;
use coset::Algorithm as CoseAlgorithm;
use coset::CoseSign1;
use coset::MacContext;
use coset::iana;
use eudi_cbor::cose;
use eudi_status_list::StatusReference;
use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::ChainValidator;
use eudi_trust::LeafProfile;
use eudi_trust::ValidatedChain;
use eudi_trust::VerifyingKey;
use serde_json::Map;
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::device::DeviceAuth;
use crate::device::DeviceAuthMethod;
use crate::device::DeviceResponse;
use crate::device::DeviceSigned;
use crate::device::Document;
use crate::device::device_authentication_bytes;
use crate::device::device_signature_tbs;
use crate::error::DecodeError;
use crate::error::VerifyError;
use crate::issuer_signed::IssuerSigned;
use crate::issuer_signed::sign1_tbs;
use crate::json::to_json;
use crate::mso::DigestAlgorithm;
use crate::mso::PID_DOC_TYPE;
use crate::mso::ValidityInfo;
use crate::mso::format_time;
use crate::transcript::SessionTranscript;

/// Minimum `random` length (ISO/IEC 18013-5 §9.1.2.5).
const MIN_RANDOM_LEN: usize = 16;

/// The reader's ephemeral private key (`EReaderKey`), needed to verify `deviceMac`.
pub struct ReaderKey {
    private: PrivateKey,
}

impl fmt::Debug for ReaderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderKey").finish_non_exhaustive()
    }
}

impl ReaderKey {
    /// From the private scalar `d` (big-endian, 32 bytes for P-256, 48 for P-384).
    pub fn from_private_scalar(alg: Algorithm, d: &[u8]) -> Result<Self, eudi_trust::KeyError> {
        let curve = match alg {
            Algorithm::Es256 => &ECDH_P256,
            Algorithm::Es384 => &ECDH_P384,
            _ => {
                return Err(eudi_trust::KeyError::InvalidKey(
                    "ECDH on P-256 or P-384 only",
                ));
            }
        };
        let private = PrivateKey::from_private_key(curve, d)
            .map_err(|_| eudi_trust::KeyError::InvalidKey("not a private scalar of this curve"))?;
        Ok(Self { private })
    }

    /// A fresh P-256 key.
    pub fn generate() -> Result<Self, eudi_trust::KeyError> {
        let private = PrivateKey::generate(&ECDH_P256)
            .map_err(|_| eudi_trust::KeyError::InvalidKey("key generation failed"))?;
        Ok(Self { private })
    }

    /// The public key, uncompressed SEC1, to put in the reader's engagement.
    pub fn public_sec1(&self) -> Result<Vec<u8>, eudi_trust::KeyError> {
        self.private
            .compute_public_key()
            .map(|k| k.as_ref().to_vec())
            .map_err(|_| eudi_trust::KeyError::InvalidKey("public key computation failed"))
    }

    /// EMacKey = HKDF-SHA256(ECDH(EReaderKey, SDeviceKey), salt = SHA-256(SessionTranscriptBytes),
    /// info = "EMacKey"), 32 bytes (ISO/IEC 18013-5 §9.1.3.5).
    fn emac_key(
        &self,
        device_key: &VerifyingKey,
        transcript: &SessionTranscript,
    ) -> Result<[u8; 32], &'static str> {
        let curve = match device_key.algorithm() {
            Algorithm::Es256 => &ECDH_P256,
            Algorithm::Es384 => &ECDH_P384,
            _ => return Err("deviceMac needs a P-256 or P-384 device key"),
        };
        let salt = digest::digest(&digest::SHA256, transcript.session_transcript_bytes());
        agreement::agree(
            &self.private,
            UnparsedPublicKey::new(curve, device_key.sec1_uncompressed()),
            "ECDH with the device key failed (is the reader key on the same curve?)",
            |z| {
                let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt.as_ref()).extract(z);
                let okm = prk
                    .expand(&[b"EMacKey"], hkdf::HKDF_SHA256)
                    .map_err(|_| "HKDF expand failed")?;
                let mut key = [0u8; 32];
                okm.fill(&mut key).map_err(|_| "HKDF expand failed")?;
                Ok(key)
            },
        )
    }
}

/// Whom to trust for issuerAuth.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum IssuerTrust<'a> {
    /// Document signer certificates (`x5chain`) validated to IACA trust anchors (ISO/IEC
    /// 18013-5 §9.3.3), with the [`VerifyOptions::leaf_profile`]. The usual case.
    Certificates(&'a ChainValidator),
    /// Issuer keys trusted directly (for example from a JWK Set): issuerAuth must verify with
    /// one of them; `x5chain` is not looked at.
    Keys(&'a [VerifyingKey]),
}

impl<'a> From<&'a ChainValidator> for IssuerTrust<'a> {
    fn from(validator: &'a ChainValidator) -> Self {
        Self::Certificates(validator)
    }
}

impl<'a> From<&'a [VerifyingKey]> for IssuerTrust<'a> {
    fn from(keys: &'a [VerifyingKey]) -> Self {
        Self::Keys(keys)
    }
}

impl<'a> From<&'a Vec<VerifyingKey>> for IssuerTrust<'a> {
    fn from(keys: &'a Vec<VerifyingKey>) -> Self {
        Self::Keys(keys)
    }
}

/// What to check, and against what.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifyOptions<'a> {
    /// The current time, in seconds since the epoch.
    pub now: i64,
    /// Tolerated clock difference for `signed`, `validFrom`, `validUntil`, in seconds.
    pub clock_skew: i64,
    /// Accepted issuerAuth and deviceSignature algorithms (default ES256 only, HAIP 1.0).
    pub algorithms: AlgorithmPolicy,
    /// What the document signer certificate must be fit for. Default
    /// [`LeafProfile::MdocDocumentSigner`] (keyUsage digitalSignature and EKU `id-mdlDS`,
    /// ISO/IEC 18013-5 Annex B); [`LeafProfile::DigitalSignature`] for issuers whose DS
    /// certificates lack the EKU.
    pub leaf_profile: LeafProfile,
    /// The SessionTranscript of this presentation. When given, device authentication is
    /// checked against it (and required, see `require_device_auth`).
    pub session_transcript: Option<&'a SessionTranscript>,
    /// The reader's ephemeral private key, to verify deviceMac.
    pub reader_key: Option<&'a ReaderKey>,
    /// With a transcript: reject documents whose device authentication cannot be checked
    /// (none present, or deviceMac without `reader_key`). Default true.
    pub require_device_auth: bool,
}

impl<'a> VerifyOptions<'a> {
    /// Defaults: ES256 only, 60 s clock skew, DS certificates with `id-mdlDS`, no transcript
    /// (device authentication not checked).
    pub fn new(now: i64) -> Self {
        Self {
            now,
            clock_skew: 60,
            algorithms: AlgorithmPolicy::default(),
            leaf_profile: LeafProfile::MdocDocumentSigner,
            session_transcript: None,
            reader_key: None,
            require_device_auth: true,
        }
    }

    /// Checks device authentication against `transcript`.
    #[must_use]
    pub fn session_transcript(mut self, transcript: &'a SessionTranscript) -> Self {
        self.session_transcript = Some(transcript);
        self
    }

    /// Verifies deviceMac with `key`.
    #[must_use]
    pub fn reader_key(mut self, key: &'a ReaderKey) -> Self {
        self.reader_key = Some(key);
        self
    }

    /// Sets the document signer certificate profile.
    #[must_use]
    pub fn leaf_profile(mut self, profile: LeafProfile) -> Self {
        self.leaf_profile = profile;
        self
    }

    /// Sets the clock skew in seconds.
    #[must_use]
    pub fn clock_skew(mut self, seconds: i64) -> Self {
        self.clock_skew = seconds;
        self
    }

    /// Sets the accepted algorithms.
    #[must_use]
    pub fn algorithms(mut self, policy: AlgorithmPolicy) -> Self {
        self.algorithms = policy;
        self
    }

    /// Whether device authentication is required when a transcript is given.
    #[must_use]
    pub fn require_device_auth(mut self, required: bool) -> Self {
        self.require_device_auth = required;
        self
    }
}

/// One verified element: issuer-signed, its digest matched the MSO.
///
/// Only this crate builds one (private fields); read it with the accessors.
#[derive(Clone, PartialEq)]
pub struct VerifiedElement {
    namespace: String,
    identifier: String,
    value: Value,
}

impl VerifiedElement {
    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The element identifier.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The element value, as the issuer signed it.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

impl fmt::Debug for VerifiedElement {
    // Element values are personal data: not in Debug output, so not in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedElement")
            .field("namespace", &self.namespace)
            .field("identifier", &self.identifier)
            .finish_non_exhaustive()
    }
}

/// A document whose every check passed.
///
/// Only this crate builds one (private fields), so holding one means the checks ran; read it
/// with the accessors. [`claims`](Self::claims) and [`elements`](Self::elements) hold only
/// issuer-signed items whose digests matched; device-signed items (`DeviceNameSpaces`, signed
/// by the holder, not the issuer) are apart, in [`device_claims`](Self::device_claims).
///
/// `Debug` shows which elements were verified, never their values.
#[derive(Clone)]
pub struct VerifiedDocument {
    doc_type: String,
    issuer_subject: String,
    anchor_index: usize,
    issuer_chain: Option<Arc<ValidatedChain>>,
    issuer_key: VerifyingKey,
    claims: Map<String, Json>,
    elements: Vec<VerifiedElement>,
    device_claims: Map<String, Json>,
    validity: ValidityInfo,
    digest_algorithm: DigestAlgorithm,
    device_key: VerifyingKey,
    device_auth: Option<DeviceAuthMethod>,
    status: Option<StatusReference>,
}

/// Namespaces in which `issuing_country` is the issuing country (PID rulebook; ISO/IEC
/// 18013-5 §7.2.1 for the mDL).
const ISSUING_COUNTRY_NAMESPACES: [&str; 2] = ["eu.europa.ec.eudi.pid.1", "org.iso.18013.5.1"];

impl VerifiedDocument {
    /// `docType`.
    pub fn doc_type(&self) -> &str {
        &self.doc_type
    }

    /// Subject of the document signer certificate (RFC 4514), or `key <RFC 7638 thumbprint>`
    /// for an [`IssuerTrust::Keys`] key.
    pub fn issuer_subject(&self) -> &str {
        &self.issuer_subject
    }

    /// Position of the trust anchor in the validator's anchors, or of the key in
    /// [`IssuerTrust::Keys`].
    pub fn anchor_index(&self) -> usize {
        self.anchor_index
    }

    /// The validated document signer chain ([`IssuerTrust::Certificates`] only).
    pub fn issuer_chain(&self) -> Option<&Arc<ValidatedChain>> {
        self.issuer_chain.as_ref()
    }

    /// The key issuerAuth verified with.
    pub fn issuer_key(&self) -> &VerifyingKey {
        &self.issuer_key
    }

    /// The issuer-signed elements, `{"<namespace>": {"<element>": value}}` (see
    /// [`to_json`](crate::to_json) for the mapping). Nothing device-signed is in here.
    pub fn claims(&self) -> &Map<String, Json> {
        &self.claims
    }

    /// The issuer-signed claims, taken out.
    pub fn into_claims(self) -> Map<String, Json> {
        self.claims
    }

    /// The issuer-signed elements as CBOR, in the order presented.
    pub fn elements(&self) -> &[VerifiedElement] {
        &self.elements
    }

    /// Device-signed elements (`DeviceNameSpaces`), only when device authentication was
    /// verified. Signed by the holder's device key, not by the issuer: never issuer claims.
    pub fn device_claims(&self) -> &Map<String, Json> {
        &self.device_claims
    }

    /// The MSO validity.
    pub fn validity(&self) -> &ValidityInfo {
        &self.validity
    }

    /// The MSO digest algorithm.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest_algorithm
    }

    /// The MSO device key (holder binding).
    pub fn device_key(&self) -> &VerifyingKey {
        &self.device_key
    }

    /// Whether device authentication was verified against the given transcript.
    pub fn device_authenticated(&self) -> bool {
        self.device_auth.is_some()
    }

    /// How device authentication was verified, when it was.
    pub fn device_auth(&self) -> Option<DeviceAuthMethod> {
        self.device_auth
    }

    /// The Token Status List reference, to be checked by the caller.
    pub fn status(&self) -> Option<&StatusReference> {
        self.status.as_ref()
    }

    /// The issuer-signed `issuing_country` (namespace `eu.europa.ec.eudi.pid.1` or
    /// `org.iso.18013.5.1`), when it was presented and is text.
    pub fn issuing_country(&self) -> Option<&str> {
        issuing_country(&self.elements).and_then(|v| v.as_text())
    }

    /// Checks the presented `issuing_country` against the document signer certificate's
    /// country (`countryName`, e.g. [`ValidatedChain::leaf_country`]), for a caller that
    /// validates the chain itself (ISO/IEC 18013-5: the issuing country must equal the DS
    /// certificate's countryName). With [`IssuerTrust::Certificates`] verification already
    /// did this. Nothing to check when `issuing_country` was not presented.
    pub fn check_issuing_country(
        &self,
        certificate_country: Option<&str>,
    ) -> Result<(), VerifyError> {
        check_issuing_country(&self.doc_type, &self.elements, certificate_country)
    }
}

/// The `issuing_country` element among verified elements.
fn issuing_country(elements: &[VerifiedElement]) -> Option<&Value> {
    elements
        .iter()
        .find(|e| {
            e.identifier == "issuing_country"
                && ISSUING_COUNTRY_NAMESPACES.contains(&e.namespace.as_str())
        })
        .map(|e| &e.value)
}

fn check_issuing_country(
    doc_type: &str,
    elements: &[VerifiedElement],
    certificate_country: Option<&str>,
) -> Result<(), VerifyError> {
    let Some(value) = issuing_country(elements) else {
        return Ok(());
    };
    // ISO 3166-1 alpha-2 codes on both sides: compared exactly.
    match (value.as_text(), certificate_country) {
        (Some(country), Some(cert)) if country == cert => Ok(()),
        (country, cert) => Err(VerifyError::IssuingCountryMismatch {
            doc_type: doc_type.to_owned(),
            issuing_country: country.unwrap_or("(not a text string)").to_owned(),
            certificate_country: cert.map(str::to_owned),
        }),
    }
}

impl fmt::Debug for VerifiedDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedDocument")
            .field("doc_type", &self.doc_type)
            .field("issuer_subject", &self.issuer_subject)
            .field("anchor_index", &self.anchor_index)
            .field("elements", &self.elements)
            .field("validity", &self.validity)
            .field("device_auth", &self.device_auth)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A DeviceResponse whose every document verified. Only this crate builds one.
#[derive(Clone, Debug)]
pub struct VerifiedDeviceResponse {
    version: String,
    documents: Vec<VerifiedDocument>,
}

impl VerifiedDeviceResponse {
    /// `version`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The documents, in order, each its own credential (never merged).
    pub fn documents(&self) -> &[VerifiedDocument] {
        &self.documents
    }

    /// The documents, taken out.
    pub fn into_documents(self) -> Vec<VerifiedDocument> {
        self.documents
    }
}

impl DeviceResponse {
    /// Verifies every document (see the [module documentation](crate#verification)). The
    /// response must have status 0 and at least one document; the first failing document's
    /// error is returned.
    pub fn verify<'t>(
        &self,
        trust: impl Into<IssuerTrust<'t>>,
        options: &VerifyOptions<'_>,
    ) -> Result<VerifiedDeviceResponse, VerifyError> {
        let trust = trust.into();
        if self.status() != 0 {
            return Err(VerifyError::ResponseStatus {
                status: self.status(),
            });
        }
        if self.documents().is_empty() {
            return Err(VerifyError::NoDocuments);
        }
        let documents = self
            .documents()
            .iter()
            .map(|doc| doc.verify(trust, options))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(VerifiedDeviceResponse {
            version: self.version().to_owned(),
            documents,
        })
    }
}

impl Document {
    /// Verifies this document alone.
    pub fn verify<'t>(
        &self,
        trust: impl Into<IssuerTrust<'t>>,
        options: &VerifyOptions<'_>,
    ) -> Result<VerifiedDocument, VerifyError> {
        verify_document(
            Some(self.doc_type()),
            self.issuer_signed(),
            self.device_signed(),
            trust.into(),
            options,
        )
    }
}

impl IssuerSigned {
    /// Verifies the issuer side only (steps 1, 3 and 4): for an `IssuerSigned` received at
    /// issuance, or stored. A transcript in `options` makes this fail with
    /// [`VerifyError::DeviceAuthRequired`] unless `require_device_auth` is off, since there is
    /// no device authentication here.
    pub fn verify<'t>(
        &self,
        trust: impl Into<IssuerTrust<'t>>,
        options: &VerifyOptions<'_>,
    ) -> Result<VerifiedDocument, VerifyError> {
        verify_document(None, self, None, trust.into(), options)
    }
}

fn verify_document(
    doc_type: Option<&str>,
    issuer_signed: &IssuerSigned,
    device_signed: Option<&DeviceSigned>,
    trust: IssuerTrust<'_>,
    options: &VerifyOptions<'_>,
) -> Result<VerifiedDocument, VerifyError> {
    let auth = &issuer_signed.issuer_auth;
    let mso = &auth.mso;
    let label = doc_type.unwrap_or(mso.doc_type()).to_owned();

    // 1. issuerAuth.
    let alg = signature_algorithm(&auth.sign1, &options.algorithms).map_err(|alg| {
        VerifyError::UnsupportedAlgorithm {
            doc_type: label.clone(),
            what: "issuerAuth",
            alg,
        }
    })?;
    let issuer = verify_issuer_auth(issuer_signed, alg, trust, options, &label)?;

    // 2. docType.
    if let Some(doc_type) = doc_type
        && doc_type != mso.doc_type()
    {
        return Err(VerifyError::DocTypeMismatch {
            document: doc_type.to_owned(),
            mso: mso.doc_type().to_owned(),
        });
    }

    // 3. Validity.
    check_validity(mso.validity(), options, &label)?;

    // 4. Digests.
    let digest_alg = mso.digest_algorithm();
    let pid = mso.doc_type() == PID_DOC_TYPE;
    let mut claims = Map::new();
    let mut elements = Vec::new();
    for (ns, items) in issuer_signed.namespaces() {
        let mut ids = HashSet::with_capacity(items.len());
        let mut names = HashSet::with_capacity(items.len());
        let mut ns_claims = Map::new();
        for item in items {
            let element = item.element_identifier();
            let digest_id = item.digest_id();
            if pid && !item.is_definite() {
                // PID rulebook, CBOR encoding: indefinite-length items SHALL be made definite.
                return Err(VerifyError::Decode(DecodeError::malformed(
                    format_args!("{label}: {ns}/{element}"),
                    "a PID IssuerSignedItem holds an indefinite-length item (the PID rulebook requires definite lengths)",
                )));
            }
            if item.random().len() < MIN_RANDOM_LEN {
                return Err(VerifyError::RandomTooShort {
                    doc_type: label,
                    namespace: ns.to_owned(),
                    element: element.to_owned(),
                    len: item.random().len(),
                });
            }
            if !ids.insert(digest_id) {
                return Err(VerifyError::DuplicateDigestId {
                    doc_type: label,
                    namespace: ns.to_owned(),
                    digest_id,
                });
            }
            if !names.insert(element) {
                return Err(VerifyError::DuplicateElement {
                    doc_type: label,
                    namespace: ns.to_owned(),
                    element: element.to_owned(),
                });
            }
            let expected =
                mso.value_digest(ns, digest_id)
                    .ok_or_else(|| VerifyError::NotCovered {
                        doc_type: label.clone(),
                        namespace: ns.to_owned(),
                        element: element.to_owned(),
                        digest_id,
                    })?;
            if digest_alg.hash(item.as_bytes()).as_ref() != expected {
                return Err(VerifyError::DigestMismatch {
                    doc_type: label,
                    namespace: ns.to_owned(),
                    element: element.to_owned(),
                    digest_id,
                });
            }
            ns_claims.insert(element.to_owned(), to_json(item.element_value()));
            elements.push(VerifiedElement {
                namespace: ns.to_owned(),
                identifier: element.to_owned(),
                value: item.element_value().clone(),
            });
        }
        match claims.get_mut(ns) {
            // A namespace listed twice cannot come from a CBOR map; merge defensively.
            Some(Json::Object(existing)) => existing.extend(ns_claims),
            _ => {
                claims.insert(ns.to_owned(), Json::Object(ns_claims));
            }
        }
    }

    // 5. Device authentication.
    let device_auth = check_device_auth(
        &label,
        mso.doc_type(),
        mso.device_key(),
        device_signed,
        options,
    )?;
    if let Some(chain) = &issuer.chain {
        check_issuing_country(&label, &elements, chain.leaf_country.as_deref())?;
    }
    let device_claims = match (device_auth, device_signed) {
        (Some(_), Some(ds)) => ds
            .namespaces()
            .iter()
            .map(|(ns, els)| {
                let map: Map<String, Json> =
                    els.iter().map(|(id, v)| (id.clone(), to_json(v))).collect();
                (ns.clone(), Json::Object(map))
            })
            .collect(),
        _ => Map::new(),
    };

    Ok(VerifiedDocument {
        doc_type: mso.doc_type().to_owned(),
        issuer_subject: issuer.subject,
        anchor_index: issuer.index,
        issuer_chain: issuer.chain,
        issuer_key: issuer.key,
        claims,
        elements,
        device_claims,
        validity: *mso.validity(),
        digest_algorithm: digest_alg,
        device_key: mso.device_key().clone(),
        device_auth,
        status: mso.status().cloned(),
    })
}

/// Who signed issuerAuth.
struct Issuer {
    subject: String,
    index: usize,
    chain: Option<Arc<ValidatedChain>>,
    key: VerifyingKey,
}

/// Finds the trusted issuer key and checks the issuerAuth signature with it.
fn verify_issuer_auth(
    issuer_signed: &IssuerSigned,
    alg: Algorithm,
    trust: IssuerTrust<'_>,
    options: &VerifyOptions<'_>,
    label: &str,
) -> Result<Issuer, VerifyError> {
    let auth = &issuer_signed.issuer_auth;
    // The Sig_structure is built once, however many keys are tried. A received protected
    // header keeps its bytes, so this cannot fail; if it did, it is an internal fault.
    let tbs = sign1_tbs(&auth.sign1).map_err(|_| VerifyError::Internal {
        what: "issuerAuth Sig_structure",
    })?;
    let verifies = |key: &VerifyingKey| {
        key.verify_with_policy(alg, &options.algorithms, &tbs, &auth.sign1.signature)
            .is_ok()
    };
    match trust {
        IssuerTrust::Certificates(validator) => {
            let chain = auth
                .x5chain()?
                .ok_or_else(|| VerifyError::MissingCertificate {
                    doc_type: label.to_owned(),
                })?;
            let chain = validator
                .validate_der(&chain, options.now, options.leaf_profile)
                .map_err(|source| VerifyError::UntrustedIssuer {
                    doc_type: label.to_owned(),
                    source,
                })?;
            if chain.leaf_key.algorithm() != alg {
                return Err(VerifyError::UnsupportedAlgorithm {
                    doc_type: label.to_owned(),
                    what: "issuerAuth",
                    alg: format!(
                        "{alg} with a {} document signer key",
                        chain.leaf_key.algorithm().curve()
                    ),
                });
            }
            if !verifies(&chain.leaf_key) {
                return Err(VerifyError::IssuerSignature {
                    doc_type: label.to_owned(),
                });
            }
            Ok(Issuer {
                subject: chain.leaf_subject.clone(),
                index: chain.anchor_index,
                key: chain.leaf_key.clone(),
                chain: Some(chain),
            })
        }
        IssuerTrust::Keys(keys) => keys
            .iter()
            .enumerate()
            .filter(|(_, key)| key.algorithm() == alg)
            .find(|(_, key)| verifies(key))
            .map(|(index, key)| Issuer {
                subject: format!("key {}", key.to_jwk().thumbprint()),
                index,
                chain: None,
                key: key.clone(),
            })
            .ok_or_else(|| VerifyError::UnknownIssuerKey {
                doc_type: label.to_owned(),
            }),
    }
}

/// The signature algorithm from the protected header, if allowed. The error is the algorithm
/// as found, for the message.
fn signature_algorithm(sign1: &CoseSign1, policy: &AlgorithmPolicy) -> Result<Algorithm, String> {
    let alg = cose::algorithm(&sign1.protected.header).map_err(|e| match e {
        cose::AlgError::Absent => "none (no alg in the protected header)".to_owned(),
        cose::AlgError::Unknown(alg) => alg,
        other => other.to_string(),
    })?;
    if policy.allows(alg) {
        Ok(alg)
    } else {
        Err(alg.to_string())
    }
}

fn check_validity(
    validity: &ValidityInfo,
    options: &VerifyOptions<'_>,
    label: &str,
) -> Result<(), VerifyError> {
    let now = options.now;
    let skew = options.clock_skew;
    let secs = |t: OffsetDateTime| t.unix_timestamp();
    // Fractional seconds: validFrom 12:00:00.5 is not reached at 12:00:00, validUntil
    // 12:00:00.5 is passed at 12:00:01.
    let from = secs(validity.valid_from) + i64::from(validity.valid_from.nanosecond() > 0);
    if now.saturating_add(skew) < from {
        return Err(VerifyError::NotYetValid {
            doc_type: label.to_owned(),
            valid_from: format_time(validity.valid_from),
        });
    }
    if now > secs(validity.valid_until).saturating_add(skew) {
        return Err(VerifyError::Expired {
            doc_type: label.to_owned(),
            valid_until: format_time(validity.valid_until),
        });
    }
    if now.saturating_add(skew) < secs(validity.signed) {
        return Err(VerifyError::SignedInFuture {
            doc_type: label.to_owned(),
            signed: format_time(validity.signed),
        });
    }
    Ok(())
}

fn check_device_auth(
    label: &str,
    doc_type: &str,
    device_key: &VerifyingKey,
    device_signed: Option<&DeviceSigned>,
    options: &VerifyOptions<'_>,
) -> Result<Option<DeviceAuthMethod>, VerifyError> {
    let Some(transcript) = options.session_transcript else {
        return Ok(None);
    };
    let not_checked = |err: VerifyError| {
        if options.require_device_auth {
            Err(err)
        } else {
            Ok(None)
        }
    };
    let Some((ds, auth)) = device_signed.and_then(|ds| ds.auth.as_ref().map(|a| (ds, a))) else {
        return not_checked(VerifyError::DeviceAuthRequired {
            doc_type: label.to_owned(),
        });
    };
    match auth {
        DeviceAuth::Signature { sign1, .. } => {
            let alg = signature_algorithm(sign1, &options.algorithms).map_err(|alg| {
                VerifyError::UnsupportedAlgorithm {
                    doc_type: label.to_owned(),
                    what: "deviceSignature",
                    alg,
                }
            })?;
            // DeviceAuthenticationBytes is built inside the Sig_structure, in one buffer.
            let protected =
                cose::protected_bytes(&sign1.protected).map_err(|_| VerifyError::Internal {
                    what: "deviceSignature protected header",
                })?;
            let (tbs, start) =
                device_signature_tbs(&protected, transcript, doc_type, ds.namespaces_bytes());
            let payload = tbs.get(start..).ok_or(VerifyError::Internal {
                what: "DeviceAuthenticationBytes position",
            })?;
            // An embedded payload must be DeviceAuthenticationBytes itself; the signature is
            // over the same Sig_structure either way.
            if let Some(embedded) = &sign1.payload
                && embedded.as_slice() != payload
            {
                return Err(VerifyError::DeviceSignature {
                    doc_type: label.to_owned(),
                });
            }
            device_key
                .verify_with_policy(alg, &options.algorithms, &tbs, &sign1.signature)
                .map_err(|_| VerifyError::DeviceSignature {
                    doc_type: label.to_owned(),
                })?;
            Ok(Some(DeviceAuthMethod::Signature))
        }
        DeviceAuth::Mac { mac0, .. } => {
            let payload = device_authentication_bytes(transcript, doc_type, ds.namespaces_bytes());
            let Some(reader_key) = options.reader_key else {
                return not_checked(VerifyError::ReaderKeyRequired {
                    doc_type: label.to_owned(),
                });
            };
            let hmac_256 = CoseAlgorithm::Assigned(iana::Algorithm::HMAC_256_256);
            if mac0.protected.header.alg.as_ref() != Some(&hmac_256) {
                return Err(VerifyError::UnsupportedAlgorithm {
                    doc_type: label.to_owned(),
                    what: "deviceMac",
                    alg: format!("{:?}", mac0.protected.header.alg),
                });
            }
            if let Some(embedded) = &mac0.payload
                && *embedded != payload
            {
                return Err(VerifyError::DeviceMac {
                    doc_type: label.to_owned(),
                });
            }
            let key = reader_key
                .emac_key(device_key, transcript)
                .map_err(|reason| VerifyError::DeviceKey {
                    doc_type: label.to_owned(),
                    reason: reason.to_owned(),
                })?;
            let data = coset::mac_structure_data(
                MacContext::CoseMac0,
                mac0.protected.clone(),
                b"",
                &payload,
            );
            hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, &key), &data, &mac0.tag).map_err(
                |_| VerifyError::DeviceMac {
                    doc_type: label.to_owned(),
                },
            )?;
            Ok(Some(DeviceAuthMethod::Mac))
        }
    }
}
