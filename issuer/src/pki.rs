//! The issuer's signing keys and certificates.
//!
//! Four signers, all ES256 (P-256) behind [`eudi_trust::Signer`]:
//!
//! | signer | signs | chain (leaf first, anchor left out) | anchor |
//! |---|---|---|---|
//! | mdoc document signer | the MSO of mdoc PIDs | DS | IACA |
//! | mdoc status list signer | CWT status lists | status leaf | IACA |
//! | SD-JWT VC signer | SD-JWT VC PIDs (`x5c`) | leaf | SD-JWT VC CA |
//! | JWT status list signer | JWT status lists (`x5c`) | status leaf | SD-JWT VC CA |
//!
//! Without configured key files, [`IssuerKeys::load_or_generate`] makes a development PKI in the
//! keys directory on first run and reloads it afterwards:
//!
//! * the IACA follows the ISO/IEC 18013-5 Annex B.1.2 profile as far as rcgen writes it:
//!   self-signed, `C` = the issuing country, `basicConstraints` CA with `pathLenConstraint` 0,
//!   `keyUsage` keyCertSign + cRLSign; the document signer (B.1.4) has `C` in its subject,
//!   `keyUsage` digitalSignature and `extendedKeyUsage` id-mdlDS (1.0.18013.5.1.2);
//! * the SD-JWT VC CA has `pathLenConstraint` 1 (so verifiers do not take it for an IACA); its
//!   leaves are not self-signed and carry a URI SAN equal to the credential issuer identifier,
//!   which is how a verifier binds the `x5c` key to the credential's `iss` (SD-JWT VC, "Issuer
//!   Verification Key Discovery and Validation", X.509).
//!
//! A leaf is re-issued under the same CA (with a fresh key) when it is missing, does not
//! validate under its CA, expires within [`RENEW_BEFORE_SECS`], or (SD-JWT leaves) names another
//! public URL than the current one. Private keys are PKCS#8 PEM files with mode 0600, written
//! atomically; they are never logged, and `Debug` of every type here omits them.
//!
//! With configured key files (a production PKI) nothing is generated: the files are loaded and
//! each chain is checked against the configured trust anchors, its key against its certificate,
//! and the SD-JWT leaves' SAN against the public URL, so a wrong file fails at start, not at the
//! first verifier.

use std::fmt;
use std::fs;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration as StdDuration;
use std::time::Instant;

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rand::SystemRandom;
use eudi_trust::Algorithm;
use eudi_trust::ChainValidator;
use eudi_trust::Clock;
use eudi_trust::LeafProfile;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::TrustAnchors;
use eudi_trust::b64;
use rcgen::BasicConstraints;
use rcgen::CertificateParams;
use rcgen::CustomExtension;
use rcgen::DistinguishedName;
use rcgen::DnType;
use rcgen::ExtendedKeyUsagePurpose;
use rcgen::IsCa;
use rcgen::Issuer;
use rcgen::KeyPair;
use rcgen::KeyUsagePurpose;
use rcgen::PKCS_ECDSA_P256_SHA256;
use rcgen::SanType;
use rcgen::SerialNumber;
use rcgen::string::Ia5String;
use time::Duration;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::config::KeysConfig;
use crate::data_dir::DataDirError;
use crate::data_dir::PRIVATE_FILE_MODE;
use crate::data_dir::PUBLIC_FILE_MODE;
use crate::data_dir::create_private_dir;
use crate::data_dir::read_bounded;
use crate::data_dir::write_atomic;
use crate::subject::IdentitySecret;

/// Validity of a generated CA (IACA, SD-JWT VC CA), in days.
pub const CA_VALIDITY_DAYS: i64 = 3650;
/// Validity of a generated leaf certificate, in days.
pub const LEAF_VALIDITY_DAYS: i64 = 365;
/// A leaf expiring within this many seconds is re-issued at start.
pub const RENEW_BEFORE_SECS: i64 = 30 * 86_400;
/// `notBefore` is this far in the past, so verifiers with a slow clock accept a fresh leaf.
pub const BACKDATE_SECS: i64 = 3_600;
/// Largest key, certificate or anchor file read, in bytes.
pub const MAX_PEM_FILE_BYTES: u64 = 256 * 1024;
/// The lock file held while the development PKI is loaded or generated.
pub const LOCK_FILE: &str = ".generate.lock";
/// How long to wait for another process that holds the lock.
pub const LOCK_WAIT: StdDuration = StdDuration::from_secs(30);
/// A lock older than this was left by a process that died: it is broken.
pub const LOCK_STALE: StdDuration = StdDuration::from_secs(60);
/// The identity secret's file in the keys directory.
pub const IDENTITY_SECRET_FILE: &str = "identity.secret";

/// Why the keys cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] DataDirError),
    /// A configured or stored file is missing.
    #[error("{0} does not exist")]
    Missing(PathBuf),
    /// A PEM file holds no usable block of the expected kind.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A key cannot be parsed or used (the message never holds key material).
    #[error("{path}: unusable private key: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A certificate chain does not validate, or does not fit its key or purpose.
    #[error("the {signer} certificate: {reason}")]
    Chain {
        /// Which signer.
        signer: &'static str,
        /// Why.
        reason: String,
    },
    /// Another process has held the keys directory's lock for longer than [`LOCK_WAIT`].
    #[error("{0} is held by another process")]
    Locked(PathBuf),
    /// Making a certificate or key failed.
    #[error("generating the {what}: {reason}")]
    Generate {
        /// What.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// A signing key with its certificate chain (DER, leaf first, without the trust anchor).
pub struct ChainedSigner {
    key: SoftwareKey,
    chain: Vec<Vec<u8>>,
}

impl ChainedSigner {
    /// The key, as the credential libraries take it.
    pub fn signer(&self) -> &SoftwareKey {
        &self.key
    }

    /// The chain, DER, leaf first, without the anchor: what goes in `x5c` / `x5chain`.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The leaf certificate, DER.
    pub fn leaf(&self) -> &[u8] {
        self.chain.first().map_or(&[], Vec::as_slice)
    }
}

impl fmt::Debug for ChainedSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainedSigner")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// Every key the issuer signs with, and the anchors verifiers must trust.
pub struct IssuerKeys {
    sd_jwt: ChainedSigner,
    sd_jwt_status: ChainedSigner,
    mdoc: ChainedSigner,
    mdoc_status: ChainedSigner,
    /// Trust anchors, DER: the IACA first, then the SD-JWT VC CA (development PKI), or the
    /// configured file's certificates in its order.
    anchors: Vec<Vec<u8>>,
    identity: IdentitySecret,
}

impl fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKeys")
            .field("anchors", &self.anchors.len())
            .finish_non_exhaustive()
    }
}

/// Generated files in the keys directory, by signer.
const IACA: &str = "iaca";
const MDOC_DS: &str = "mdoc-signer";
const MDOC_STATUS: &str = "mdoc-status";
const SD_JWT_CA: &str = "sd-jwt-ca";
const SD_JWT_SIGNER: &str = "sd-jwt-signer";
const SD_JWT_STATUS: &str = "sd-jwt-status";

/// `id-ce-issuerAltName` (RFC 5280 §4.2.1.7), which ISO/IEC 18013-5 Annex B asks of the IACA
/// and the document signer.
const ISSUER_ALT_NAME: [u64; 4] = [2, 5, 29, 18];

/// `id-mdlDS`, ISO/IEC 18013-5 Annex B.1.4.
const MDL_DS_EKU: [u64; 6] = [1, 0, 18013, 5, 1, 2];

impl IssuerKeys {
    /// Loads the configured key files, or the development PKI in `keys_dir`, generating what is
    /// missing (see the module doc). `issuer_id` is the credential issuer identifier
    /// ([`crate::config::issuer_identifier`]), `country` the issuing country (`DK`).
    pub fn load_or_generate(
        keys_dir: &Path,
        config: &KeysConfig,
        country: &str,
        issuer_id: &str,
        clock: &dyn Clock,
    ) -> Result<Self, PkiError> {
        create_private_dir(keys_dir)?;
        // Two instances started at once on one keys directory must not each make a CA.
        let _lock = GenerationLock::acquire(keys_dir)?;
        let identity = match &config.identity_secret {
            Some(path) => load_identity_secret(path)?,
            None => load_or_make_identity_secret(keys_dir)?,
        };
        let now = clock.now();
        if config.is_explicit() {
            return Self::load_explicit(config, issuer_id, identity, now);
        }
        let iaca = Ca::load_or_generate(
            keys_dir,
            IACA,
            ca_name("IACA", country),
            0,
            Some(issuer_id),
            now,
        )?;
        let sd_jwt_ca = Ca::load_or_generate(
            keys_dir,
            SD_JWT_CA,
            ca_name("SD-JWT VC CA", country),
            1,
            None,
            now,
        )?;
        let leaf = |ca: &Ca, file, label, kind| {
            ca.load_or_issue(
                keys_dir,
                file,
                &leaf_name(label, country),
                kind,
                issuer_id,
                now,
            )
        };
        let mdoc = leaf(&iaca, MDOC_DS, "Document Signer", LeafKind::MdocSigner)?;
        let mdoc_status = leaf(
            &iaca,
            MDOC_STATUS,
            "mdoc Status List Signer",
            LeafKind::Status,
        )?;
        let sd_jwt = leaf(
            &sd_jwt_ca,
            SD_JWT_SIGNER,
            "SD-JWT VC Signer",
            LeafKind::SdJwt,
        )?;
        let sd_jwt_status = leaf(
            &sd_jwt_ca,
            SD_JWT_STATUS,
            "SD-JWT Status List Signer",
            LeafKind::SdJwt,
        )?;
        Ok(Self {
            sd_jwt,
            sd_jwt_status,
            mdoc,
            mdoc_status,
            anchors: vec![iaca.der, sd_jwt_ca.der],
            identity,
        })
    }

    fn load_explicit(
        config: &KeysConfig,
        issuer_id: &str,
        identity: IdentitySecret,
        now: i64,
    ) -> Result<Self, PkiError> {
        let file = |p: &Option<PathBuf>, key: &str| {
            p.clone()
                .ok_or_else(|| PkiError::Missing(PathBuf::from(key)))
        };
        let anchors_path = file(&config.trust_anchors, "keys.trust_anchors")?;
        let anchors = pem_blocks(&read_pem_file(&anchors_path)?, "CERTIFICATE");
        if anchors.is_empty() {
            return Err(PkiError::Pem {
                path: anchors_path,
                reason: "no CERTIFICATE".into(),
            });
        }
        let mut set = TrustAnchors::new();
        for der in &anchors {
            set.add_der(der).map_err(|e| PkiError::Pem {
                path: anchors_path.clone(),
                reason: e.to_string(),
            })?;
        }
        let validator = ChainValidator::new(set);
        let load = |signer: &'static str, key: &Option<PathBuf>, chain: &Option<PathBuf>, kind| {
            let key_path = file(key, signer)?;
            let chain_path = file(chain, signer)?;
            let key = load_software_key(&key_path)?;
            let chain = pem_blocks(&read_pem_file(&chain_path)?, "CERTIFICATE");
            let signer = ChainedSigner { key, chain };
            check_signer(&validator, &signer, kind, issuer_id, now).map_err(|reason| {
                PkiError::Chain {
                    signer: kind.name(),
                    reason,
                }
            })?;
            Ok::<_, PkiError>(signer)
        };
        Ok(Self {
            sd_jwt: load(
                "keys.sd_jwt_key",
                &config.sd_jwt_key,
                &config.sd_jwt_chain,
                LeafKind::SdJwt,
            )?,
            sd_jwt_status: load(
                "keys.sd_jwt_status_key",
                &config.sd_jwt_status_key,
                &config.sd_jwt_status_chain,
                LeafKind::SdJwt,
            )?,
            mdoc: load(
                "keys.mdoc_key",
                &config.mdoc_key,
                &config.mdoc_chain,
                LeafKind::MdocSigner,
            )?,
            mdoc_status: load(
                "keys.mdoc_status_key",
                &config.mdoc_status_key,
                &config.mdoc_status_chain,
                LeafKind::Status,
            )?,
            anchors,
            identity,
        })
    }

    /// The SD-JWT VC signer (`x5c` chains to the SD-JWT VC CA).
    pub fn sd_jwt(&self) -> &ChainedSigner {
        &self.sd_jwt
    }

    /// The JWT status list signer (`x5c` chains to the SD-JWT VC CA, same URI SAN).
    pub fn sd_jwt_status(&self) -> &ChainedSigner {
        &self.sd_jwt_status
    }

    /// The mdoc document signer (under the IACA).
    pub fn mdoc(&self) -> &ChainedSigner {
        &self.mdoc
    }

    /// The CWT status list signer (under the IACA).
    pub fn mdoc_status(&self) -> &ChainedSigner {
        &self.mdoc_status
    }

    /// The trust anchors, DER.
    pub fn anchors_der(&self) -> &[Vec<u8>] {
        &self.anchors
    }

    /// The trust anchors as PEM, what `eudi-issuer trust-anchors` prints: the IACA (mdoc) and
    /// the SD-JWT VC CA.
    pub fn trust_anchors_pem(&self) -> String {
        self.anchors
            .iter()
            .map(|der| pem_encode("CERTIFICATE", der))
            .collect()
    }

    /// The secret that identity keys of credential records are keyed with.
    pub fn identity_secret(&self) -> &IdentitySecret {
        &self.identity
    }
}

/// Held while the keys directory is read or written (see [`LOCK_FILE`]); removed on drop.
struct GenerationLock {
    path: PathBuf,
}

impl GenerationLock {
    fn acquire(dir: &Path) -> Result<Self, PkiError> {
        let path = dir.join(LOCK_FILE);
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(PRIVATE_FILE_MODE)
                .open(&path)
            {
                Ok(_) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| m.elapsed().ok())
                        .is_some_and(|age| age > LOCK_STALE);
                    if stale {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if Instant::now() >= deadline {
                        return Err(PkiError::Locked(path));
                    }
                    std::thread::sleep(StdDuration::from_millis(50));
                }
                Err(source) => {
                    return Err(PkiError::Io(DataDirError::Io {
                        action: "creating",
                        path,
                        source,
                    }));
                }
            }
        }
    }
}

impl Drop for GenerationLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// What a leaf certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LeafKind {
    /// mdoc document signer: EKU id-mdlDS.
    MdocSigner,
    /// CWT status list signer under the IACA.
    Status,
    /// SD-JWT VC or JWT status list signer: URI SAN = issuer identifier.
    SdJwt,
}

impl LeafKind {
    fn name(self) -> &'static str {
        match self {
            Self::MdocSigner => "mdoc document signer",
            Self::Status => "mdoc status list signer",
            Self::SdJwt => "SD-JWT VC signer",
        }
    }

    fn profile(self) -> LeafProfile {
        match self {
            Self::MdocSigner => LeafProfile::MdocDocumentSigner,
            Self::Status | Self::SdJwt => LeafProfile::DigitalSignature,
        }
    }
}

/// Checks a signer's chain against `validator`: it validates for its purpose now and its leaf
/// key is the signer's; an SD-JWT leaf names `issuer_id` as a URI SAN. Returns the leaf's
/// `notAfter`.
fn check_signer(
    validator: &ChainValidator,
    signer: &ChainedSigner,
    kind: LeafKind,
    issuer_id: &str,
    now: i64,
) -> Result<i64, String> {
    let chain: Vec<&[u8]> = signer.chain.iter().map(Vec::as_slice).collect();
    let validated = validator
        .validate_der(&chain, now, kind.profile())
        .map_err(|e| e.to_string())?;
    if validated.leaf_key.sec1_uncompressed() != signer.key.verifying_key().sec1_uncompressed() {
        return Err("its public key is not the configured private key's".into());
    }
    if kind == LeafKind::SdJwt && !validated.leaf_san_uri.iter().any(|u| u == issuer_id) {
        return Err(format!(
            "it has no URI subjectAltName equal to the credential issuer identifier {issuer_id}"
        ));
    }
    Ok(validated.not_after)
}

/// A CA of the development PKI: its key, the parameters its subject is rebuilt from, its DER.
struct Ca {
    key: KeyPair,
    params: CertificateParams,
    der: Vec<u8>,
}

fn ca_name(role: &str, country: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, country);
    dn.push(DnType::OrganizationName, "EUDI PID Provider (development)");
    dn.push(
        DnType::CommonName,
        format!("EUDI {country} PID {role} (development)"),
    );
    dn
}

fn leaf_name(role: &str, country: &str) -> DistinguishedName {
    ca_name(role, country)
}

fn offset_time(unix: i64, what: &'static str) -> Result<OffsetDateTime, PkiError> {
    OffsetDateTime::from_unix_timestamp(unix).map_err(|e| PkiError::Generate {
        what,
        reason: e.to_string(),
    })
}

fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Generate {
            what: "serial number",
            reason: "the system random generator failed".into(),
        })?;
    // Positive and of full length (RFC 5280 §4.1.2.2: at most 20 octets, positive).
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn generate_key(what: &'static str) -> Result<KeyPair, PkiError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| PkiError::Generate {
        what,
        reason: e.to_string(),
    })
}

fn files(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{name}.key.pem")),
        dir.join(format!("{name}.cert.pem")),
    )
}

impl Ca {
    /// The CA's parameters; the subject is rebuilt identically on every run, so leaves issued
    /// later name it exactly as the stored certificate does.
    fn params(
        name: DistinguishedName,
        path_len: u8,
        issuer_alt_name: Option<&str>,
        now: i64,
    ) -> Result<CertificateParams, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = offset_time(now - BACKDATE_SECS, "CA certificate")?;
        params.not_after = params.not_before + Duration::days(CA_VALIDITY_DAYS);
        params.serial_number = Some(random_serial()?);
        if let Some(uri) = issuer_alt_name {
            params.custom_extensions = vec![issuer_alt_name_extension(uri)];
        }
        Ok(params)
    }

    fn load_or_generate(
        dir: &Path,
        name: &'static str,
        subject: DistinguishedName,
        path_len: u8,
        issuer_alt_name: Option<&str>,
        now: i64,
    ) -> Result<Self, PkiError> {
        let (key_path, cert_path) = files(dir, name);
        let params = Self::params(subject, path_len, issuer_alt_name, now)?;
        if key_path.exists() && cert_path.exists() {
            let key = load_key_pair(&key_path)?;
            let der = first_certificate(&cert_path)?;
            return Ok(Self { key, params, der });
        }
        let key = generate_key("CA key")?;
        let der = params
            .self_signed(&key)
            .map_err(|e| PkiError::Generate {
                what: "CA certificate",
                reason: e.to_string(),
            })?
            .der()
            .to_vec();
        write_key(&key_path, &key)?;
        write_atomic(
            &cert_path,
            pem_encode("CERTIFICATE", &der).as_bytes(),
            PUBLIC_FILE_MODE,
        )?;
        Ok(Self { key, params, der })
    }

    /// The leaf `name`, as stored if it still fits, else issued anew (fresh key).
    fn load_or_issue(
        &self,
        dir: &Path,
        name: &'static str,
        subject: &DistinguishedName,
        kind: LeafKind,
        issuer_id: &str,
        now: i64,
    ) -> Result<ChainedSigner, PkiError> {
        let mut anchors = TrustAnchors::new();
        anchors.add_der(&self.der).map_err(|e| PkiError::Chain {
            signer: kind.name(),
            reason: format!("its CA: {e}"),
        })?;
        let validator = ChainValidator::new(anchors);
        let (key_path, cert_path) = files(dir, name);
        if key_path.exists() && cert_path.exists() {
            let stored = ChainedSigner {
                key: load_software_key(&key_path)?,
                chain: vec![first_certificate(&cert_path)?],
            };
            // Re-issued when it no longer fits: a CA made anew, a new public URL, or close to
            // expiry.
            if let Ok(not_after) = check_signer(&validator, &stored, kind, issuer_id, now)
                && not_after > now + RENEW_BEFORE_SECS
            {
                return Ok(stored);
            }
        }
        let key = generate_key("leaf key")?;
        let mut params = CertificateParams::default();
        params.distinguished_name = subject.clone();
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.not_before = offset_time(now - BACKDATE_SECS, "leaf certificate")?;
        params.not_after = params.not_before + Duration::days(LEAF_VALIDITY_DAYS);
        params.serial_number = Some(random_serial()?);
        match kind {
            LeafKind::MdocSigner => {
                params.extended_key_usages =
                    vec![ExtendedKeyUsagePurpose::Other(MDL_DS_EKU.to_vec())];
                params.custom_extensions = vec![issuer_alt_name_extension(issuer_id)];
            }
            LeafKind::Status => {}
            LeafKind::SdJwt => {
                let uri = Ia5String::try_from(issuer_id).map_err(|e| PkiError::Generate {
                    what: "subjectAltName",
                    reason: e.to_string(),
                })?;
                params.subject_alt_names = vec![SanType::URI(uri)];
            }
        }
        let issuer = Issuer::from_params(&self.params, &self.key);
        let der = params
            .signed_by(&key, &issuer)
            .map_err(|e| PkiError::Generate {
                what: "leaf certificate",
                reason: e.to_string(),
            })?
            .der()
            .to_vec();
        write_key(&key_path, &key)?;
        write_atomic(
            &cert_path,
            pem_encode("CERTIFICATE", &der).as_bytes(),
            PUBLIC_FILE_MODE,
        )?;
        let signer = ChainedSigner {
            key: software_key(&key_path, key.serialized_der())?,
            chain: vec![der],
        };
        check_signer(&validator, &signer, kind, issuer_id, now).map_err(|reason| {
            PkiError::Chain {
                signer: kind.name(),
                reason,
            }
        })?;
        Ok(signer)
    }
}

/// `issuerAltName` with one `uniformResourceIdentifier` (RFC 5280 §4.2.1.7): `GeneralNames ::=
/// SEQUENCE OF GeneralName`, the URI as `[6] IMPLICIT IA5String`.
fn issuer_alt_name_extension(uri: &str) -> CustomExtension {
    let mut name = vec![0x86];
    der_length(uri.len(), &mut name);
    name.extend_from_slice(uri.as_bytes());
    let mut names = vec![0x30];
    der_length(name.len(), &mut names);
    names.extend_from_slice(&name);
    CustomExtension::from_oid_content(&ISSUER_ALT_NAME, names)
}

/// A DER length (X.690 §8.1.3): short form below 128, else long form.
fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = bytes.get(skip..).unwrap_or(&[]);
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

fn write_key(path: &Path, key: &KeyPair) -> Result<(), PkiError> {
    let pem = Zeroizing::new(key.serialize_pem());
    write_atomic(path, pem.as_bytes(), PRIVATE_FILE_MODE)?;
    Ok(())
}

fn read_pem_file(path: &Path) -> Result<Zeroizing<String>, PkiError> {
    let bytes = Zeroizing::new(
        read_bounded(path, MAX_PEM_FILE_BYTES)?
            .ok_or_else(|| PkiError::Missing(path.to_owned()))?,
    );
    let text = std::str::from_utf8(&bytes).map_err(|_| PkiError::Pem {
        path: path.to_owned(),
        reason: "not UTF-8 text".into(),
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn first_certificate(path: &Path) -> Result<Vec<u8>, PkiError> {
    pem_blocks(&read_pem_file(path)?, "CERTIFICATE")
        .into_iter()
        .next()
        .ok_or_else(|| PkiError::Pem {
            path: path.to_owned(),
            reason: "no CERTIFICATE".into(),
        })
}

fn private_key_der(path: &Path) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let text = read_pem_file(path)?;
    let der = pem_blocks(&text, "PRIVATE KEY")
        .into_iter()
        .next()
        .ok_or_else(|| PkiError::Pem {
            path: path.to_owned(),
            reason: "no PRIVATE KEY (PKCS#8) block".into(),
        })?;
    Ok(Zeroizing::new(der))
}

fn software_key(path: &Path, pkcs8: &[u8]) -> Result<SoftwareKey, PkiError> {
    SoftwareKey::from_pkcs8_der(Algorithm::Es256, pkcs8).map_err(|e| PkiError::Key {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn load_software_key(path: &Path) -> Result<SoftwareKey, PkiError> {
    software_key(path, &private_key_der(path)?)
}

fn load_key_pair(path: &Path) -> Result<KeyPair, PkiError> {
    let der = private_key_der(path)?;
    let key = KeyPair::try_from(der.as_slice()).map_err(|e| PkiError::Key {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if key.algorithm() != &PKCS_ECDSA_P256_SHA256 {
        return Err(PkiError::Key {
            path: path.to_owned(),
            reason: "not a P-256 key (ES256 only)".into(),
        });
    }
    Ok(key)
}

/// The identity secret in `path` (exactly [`IdentitySecret::LEN`] bytes), if the file exists.
fn read_identity_secret(path: &Path) -> Result<Option<IdentitySecret>, PkiError> {
    let Some(bytes) = read_bounded(path, IdentitySecret::LEN as u64)? else {
        return Ok(None);
    };
    let bytes = Zeroizing::new(bytes);
    if bytes.len() != IdentitySecret::LEN {
        return Err(PkiError::Key {
            path: path.to_owned(),
            reason: format!("the identity secret is not {} bytes", IdentitySecret::LEN),
        });
    }
    Ok(Some(IdentitySecret::new(&bytes)))
}

/// A configured identity secret: it must exist (a generated one would split the records of
/// instances that share a database).
fn load_identity_secret(path: &Path) -> Result<IdentitySecret, PkiError> {
    read_identity_secret(path)?.ok_or_else(|| PkiError::Missing(path.to_owned()))
}

fn load_or_make_identity_secret(dir: &Path) -> Result<IdentitySecret, PkiError> {
    let path = dir.join(IDENTITY_SECRET_FILE);
    if let Some(secret) = read_identity_secret(&path)? {
        return Ok(secret);
    }
    let mut bytes = Zeroizing::new([0u8; IdentitySecret::LEN]);
    SystemRandom::new()
        .fill(bytes.as_mut())
        .map_err(|_| PkiError::Generate {
            what: "identity secret",
            reason: "the system random generator failed".into(),
        })?;
    write_atomic(&path, bytes.as_ref(), PRIVATE_FILE_MODE)?;
    Ok(IdentitySecret::new(bytes.as_ref()))
}

/// PEM text of one DER block (RFC 7468), 64 characters a line.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = b64::encode_std(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER of every `label` block of PEM text (lax about whitespace, RFC 7468 §3); blocks
/// that do not decode are skipped, so a caller that needs one reports it missing.
pub fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut body: Option<Zeroizing<String>> = None;
    for line in text.lines().map(str::trim) {
        if line == begin {
            body = Some(Zeroizing::new(String::new()));
        } else if line == end {
            if let Some(b) = body.take()
                && let Ok(der) = b64::decode_std(b.as_bytes())
            {
                out.push(der);
            }
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_and_released() {
        let dir = std::env::temp_dir().join(format!("eudi-issuer-pki-lock-{}", std::process::id()));
        create_private_dir(&dir).unwrap();
        let held = GenerationLock::acquire(&dir).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let lock = GenerationLock::acquire(&dir).map(|_| ());
                tx.send(()).unwrap();
                lock
            })
        };
        // The second acquirer waits while the first holds the lock.
        assert!(rx.recv_timeout(StdDuration::from_millis(300)).is_err());
        drop(held);
        assert!(rx.recv_timeout(StdDuration::from_secs(5)).is_ok());
        waiter.join().unwrap().unwrap();
        assert!(!dir.join(LOCK_FILE).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn issuer_alt_name_is_der() {
        let short = issuer_alt_name_extension("https://i.example");
        assert_eq!(
            short.content(),
            [&[0x30, 19, 0x86, 17][..], b"https://i.example"].concat()
        );
        let long_uri = format!("https://i.example/{}", "a".repeat(200));
        let long = issuer_alt_name_extension(&long_uri);
        assert_eq!(long.content()[..6], [0x30, 0x81, 221, 0x86, 0x81, 218]);
        let mut len = Vec::new();
        der_length(0x1234, &mut len);
        assert_eq!(len, [0x82, 0x12, 0x34]);
    }

    #[test]
    fn pem_round_trips() {
        let der: Vec<u8> = (0..=255u8).collect();
        let pem = pem_encode("CERTIFICATE", &der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        let two = format!("junk\n{pem}\n{}", pem_encode("CERTIFICATE", b"x"));
        assert_eq!(pem_blocks(&two, "CERTIFICATE"), vec![der, b"x".to_vec()]);
        assert!(pem_blocks(&pem, "PRIVATE KEY").is_empty());
    }
}
