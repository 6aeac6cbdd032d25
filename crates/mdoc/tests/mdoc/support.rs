//! Shared fixtures: vector files, an rcgen IACA → document signer PKI, and a PID-like mdoc.

use std::path::PathBuf;

use ciborium::Value;
use eudi_mdoc::IssuerSigned;
use eudi_mdoc::IssuerSignedBuilder;
use eudi_mdoc::ValidityInfo;
use eudi_trust::Algorithm;
use eudi_trust::ChainValidator;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::TrustAnchors;
use rcgen::BasicConstraints;
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
use rcgen::SignatureAlgorithm;
use rcgen::date_time_ymd;
use time::OffsetDateTime;

pub(crate) const PID: &str = "eu.europa.ec.eudi.pid.1";

/// 2026-01-01T00:00:00Z: `signed` and `validFrom` of the fixture mdoc.
pub(crate) const ISSUED_AT: i64 = 1_767_225_600;
/// A verification time inside the fixture's validity (90 days).
pub(crate) const NOW: i64 = ISSUED_AT + 3_600;
/// `validUntil` of the fixture mdoc.
pub(crate) const VALID_UNTIL: i64 = ISSUED_AT + 90 * 86_400;

pub(crate) const CLIENT_ID: &str = "x509_san_dns:verifier.example";
pub(crate) const NONCE: &str = "nonce-4f9d2c";
pub(crate) const RESPONSE_URI: &str = "https://verifier.example/response";

/// A file under `../shared/vectors/`.
pub(crate) fn vector_path(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors/"
    ))
    .join(rel)
}

pub(crate) fn vector_text(rel: &str) -> String {
    std::fs::read_to_string(vector_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub(crate) fn vector_hex(rel: &str) -> Vec<u8> {
    hex(vector_text(rel).trim())
}

pub(crate) fn vector_json(rel: &str) -> serde_json::Value {
    serde_json::from_str(&vector_text(rel)).unwrap()
}

pub(crate) fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unix time of midnight UTC on a date.
pub(crate) fn unix(y: i32, m: u8, d: u8) -> i64 {
    date_time_ymd(y, m, d).unix_timestamp()
}

/// A validator trusting the certificates of PEM files.
pub(crate) fn validator_for_pem(files: &[&str]) -> ChainValidator {
    let mut anchors = TrustAnchors::new();
    for file in files {
        anchors.add_pem(&vector_text(file)).unwrap();
    }
    ChainValidator::new(anchors)
}

/// An IACA root and document signers issued by it.
pub(crate) struct Pki {
    pub(crate) iaca_der: Vec<u8>,
    iaca_params: CertificateParams,
    iaca_key: KeyPair,
}

/// A document signer: its certificate and its key behind the `Signer` trait.
pub(crate) struct DocumentSigner {
    pub(crate) der: Vec<u8>,
    pub(crate) key: SoftwareKey,
}

/// What the document signer certificate allows.
#[derive(Clone, Copy)]
pub(crate) enum DsProfile {
    /// keyUsage digitalSignature, EKU id-mdlDS (ISO/IEC 18013-5 Annex B).
    Iso,
    /// keyUsage digitalSignature, no extendedKeyUsage.
    NoEku,
    /// keyUsage keyAgreement only, EKU id-mdlDS.
    NoDigitalSignature,
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::CountryName, "DK");
    dn
}

impl Pki {
    pub(crate) fn new(cn: &str) -> Self {
        let mut params = CertificateParams::new(vec![]).unwrap();
        params.distinguished_name = name(cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = date_time_ymd(2025, 1, 1);
        params.not_after = date_time_ymd(2035, 1, 1);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        Self {
            iaca_der: der,
            iaca_params: params,
            iaca_key: key,
        }
    }

    pub(crate) fn document_signer(&self, profile: DsProfile) -> DocumentSigner {
        self.document_signer_with(profile, &PKCS_ECDSA_P256_SHA256, Algorithm::Es256)
    }

    pub(crate) fn document_signer_p384(&self) -> DocumentSigner {
        self.document_signer_with(DsProfile::Iso, &PKCS_ECDSA_P384_SHA384, Algorithm::Es384)
    }

    fn document_signer_with(
        &self,
        profile: DsProfile,
        curve: &'static SignatureAlgorithm,
        alg: Algorithm,
    ) -> DocumentSigner {
        let mut params = CertificateParams::new(vec![]).unwrap();
        params.distinguished_name = name("Test PID document signer");
        params.is_ca = IsCa::ExplicitNoCa;
        params.not_before = date_time_ymd(2025, 6, 1);
        params.not_after = date_time_ymd(2027, 6, 1);
        let mdl_ds = ExtendedKeyUsagePurpose::Other(vec![1, 0, 18013, 5, 1, 2]);
        match profile {
            DsProfile::Iso => {
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                params.extended_key_usages = vec![mdl_ds];
            }
            DsProfile::NoEku => params.key_usages = vec![KeyUsagePurpose::DigitalSignature],
            DsProfile::NoDigitalSignature => {
                params.key_usages = vec![KeyUsagePurpose::KeyAgreement];
                params.extended_key_usages = vec![mdl_ds];
            }
        }
        let key = KeyPair::generate_for(curve).unwrap();
        let issuer = Issuer::from_params(&self.iaca_params, &self.iaca_key);
        let der = params.signed_by(&key, &issuer).unwrap().der().to_vec();
        DocumentSigner {
            der,
            key: SoftwareKey::from_pkcs8_der(alg, &key.serialize_der()).unwrap(),
        }
    }

    pub(crate) fn validator(&self) -> ChainValidator {
        let mut anchors = TrustAnchors::new();
        anchors.add_der(&self.iaca_der).unwrap();
        ChainValidator::new(anchors)
    }
}

pub(crate) fn datetime(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

pub(crate) fn full_date(s: &str) -> Value {
    Value::Tag(1004, Box::new(Value::Text(s.into())))
}

pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// A fake portrait: a JPEG header and some bytes.
pub(crate) fn portrait() -> Vec<u8> {
    let mut jpeg = vec![
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    jpeg.extend((0..600u32).map(|i| (i * 31 % 251) as u8));
    jpeg.extend_from_slice(&[0xff, 0xd9]);
    jpeg
}

/// The elements of a PID (PID rulebook `eu.europa.ec.eudi.pid.1`), 22 of them.
pub(crate) fn pid_elements() -> Vec<(&'static str, Value)> {
    vec![
        ("family_name", text("Jensen")),
        ("given_name", text("Mette Louise")),
        ("birth_date", full_date("1990-05-17")),
        (
            "place_of_birth",
            Value::Map(vec![
                (text("country"), text("DK")),
                (text("locality"), text("Aarhus")),
            ]),
        ),
        ("nationality", Value::Array(vec![text("DK"), text("SE")])),
        ("sex", Value::Integer(2.into())),
        ("portrait", Value::Bytes(portrait())),
        ("age_over_18", Value::Bool(true)),
        ("age_in_years", Value::Integer(35.into())),
        ("age_birth_year", Value::Integer(1990.into())),
        ("family_name_birth", text("Hansen")),
        ("resident_address", text("Nørregade 10, 1165 København K")),
        ("resident_country", text("DK")),
        ("resident_city", text("København")),
        ("resident_postal_code", text("1165")),
        ("resident_street", text("Nørregade")),
        ("resident_house_number", text("10")),
        ("personal_administrative_number", text("1705901234")),
        ("issuing_authority", text("Digitaliseringsstyrelsen")),
        ("issuing_country", text("DK")),
        ("expiry_date", full_date("2026-04-01")),
        ("issuance_date", full_date("2026-01-01")),
    ]
}

/// The fixture mdoc: a PID issued at [`ISSUED_AT`], valid until [`VALID_UNTIL`].
pub(crate) struct Issued {
    pub(crate) pki: Pki,
    pub(crate) ds: DocumentSigner,
    pub(crate) device: SoftwareKey,
    pub(crate) issuer_signed: IssuerSigned,
}

pub(crate) fn builder(device: &SoftwareKey) -> IssuerSignedBuilder {
    let validity = ValidityInfo::new(
        datetime(ISSUED_AT),
        datetime(ISSUED_AT),
        datetime(VALID_UNTIL),
    );
    pid_elements().into_iter().fold(
        IssuerSignedBuilder::new(PID, device.verifying_key(), validity),
        |b, (id, value)| b.element(PID, id, value),
    )
}

pub(crate) async fn issue_with(profile: DsProfile) -> Issued {
    let pki = Pki::new("Test IACA");
    let ds = pki.document_signer(profile);
    let device = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let issuer_signed = builder(&device).sign(&ds.key, &[&ds.der]).await.unwrap();
    Issued {
        pki,
        ds,
        device,
        issuer_signed,
    }
}

pub(crate) async fn issue() -> Issued {
    issue_with(DsProfile::Iso).await
}

/// Position of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Position of the last `needle` in `hay`.
pub(crate) fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}
