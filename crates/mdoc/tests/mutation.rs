//! A changed signed part is rejected, not merely survived: flip one bit of the issuerAuth
//! protected header, the MSO, the issuer signature, an IssuerSignedItem or the device
//! signature of a genuine DeviceResponse (or of the IssuerSigned alone), and verification must
//! fail with the code the changed part calls for (ISO/IEC 18013-5 §9.3.1).
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::sync::OnceLock;

use ciborium::Value;
use coset::CborSerializable as _;
use coset::CoseSign1;
use eudi_bench::block_on;
use eudi_mdoc::DeviceResponse;
use eudi_mdoc::Document;
use eudi_mdoc::IssuerSigned;
use eudi_mdoc::IssuerSignedBuilder;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::ValidityInfo;
use eudi_mdoc::VerifyOptions;
use eudi_trust::Algorithm;
use eudi_trust::ChainValidator;
use eudi_trust::HasErrorCode as _;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::TrustAnchors;
use proptest::prelude::*;
use rcgen::BasicConstraints;
use rcgen::CertificateParams;
use rcgen::ExtendedKeyUsagePurpose;
use rcgen::IsCa;
use rcgen::Issuer;
use rcgen::KeyPair;
use rcgen::KeyUsagePurpose;
use rcgen::PKCS_ECDSA_P256_SHA256;
use time::Duration;
use time::OffsetDateTime;

const PID: &str = "eu.europa.ec.eudi.pid.1";
/// 2026-01-01T00:00:00Z, the fixture's `signed` and `validFrom`.
const ISSUED_AT: i64 = 1_767_225_600;
const NOW: i64 = ISSUED_AT + 3_600;

struct Fixture {
    issuer_signed: Vec<u8>,
    device_response: Vec<u8>,
    validator: ChainValidator,
    transcript: SessionTranscript,
}

/// The one place that issues and presents (signing becomes async: adapt here).
fn issue() -> Fixture {
    let iaca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut iaca = CertificateParams::new(vec![]).unwrap();
    iaca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    iaca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let iaca_der = iaca.self_signed(&iaca_key).unwrap().der().to_vec();
    let ds_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ds = CertificateParams::new(vec![]).unwrap();
    ds.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    ds.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![1, 0, 18013, 5, 1, 2])];
    let ds_der = ds
        .signed_by(&ds_key, &Issuer::from_params(&iaca, &iaca_key))
        .unwrap()
        .der()
        .to_vec();
    let signer = SoftwareKey::from_pkcs8_der(Algorithm::Es256, &ds_key.serialize_der()).unwrap();
    let device = SoftwareKey::generate(Algorithm::Es256).unwrap();

    let at = OffsetDateTime::from_unix_timestamp(ISSUED_AT).unwrap();
    let issued = block_on(
        IssuerSignedBuilder::new(
            PID,
            device.verifying_key(),
            ValidityInfo::new(at, at, at + Duration::days(90)),
        )
        .element(PID, "family_name", Value::Text("Jensen".into()))
        .element(PID, "given_name", Value::Text("Mette".into()))
        .element(PID, "age_over_18", Value::Bool(true))
        .sign(&signer, &[&ds_der]),
    )
    // Signing is async; software keys answer at the first poll.
    .unwrap();
    let transcript = SessionTranscript::openid4vp(
        "x509_san_dns:verifier.example",
        "nonce-1",
        None,
        "https://verifier.example/response",
    );
    let device_response = DeviceResponse::new(vec![
        block_on(Document::with_device_signature(
            issued.clone(),
            &transcript,
            &device,
        ))
        .unwrap(),
    ])
    .to_bytes();

    let mut anchors = TrustAnchors::new();
    anchors.add_der(&iaca_der).unwrap();
    Fixture {
        issuer_signed: issued.to_bytes(),
        device_response,
        validator: ChainValidator::new(anchors),
        transcript,
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(issue)
}

/// Decodes and verifies a DeviceResponse with device authentication: `Ok` or the error code
/// (`"malformed"` when it does not even decode).
fn verify_response(bytes: &[u8]) -> Result<(), &'static str> {
    let f = fixture();
    let response = DeviceResponse::from_bytes(bytes).map_err(|_| "malformed")?;
    let options = VerifyOptions::new(NOW).session_transcript(&f.transcript);
    response
        .verify(&f.validator, &options)
        .map(|_| ())
        .map_err(|e| e.code().as_str())
}

fn verify_issuer_signed(bytes: &[u8]) -> Result<(), &'static str> {
    let f = fixture();
    let issued = IssuerSigned::from_bytes(bytes).map_err(|_| "malformed")?;
    issued
        .verify(&f.validator, &VerifyOptions::new(NOW))
        .map(|_| ())
        .map_err(|e| e.code().as_str())
}

/// Where `part` lies in `whole` (each signed part occurs once: it is salted or random).
fn span(whole: &[u8], part: &[u8]) -> std::ops::Range<usize> {
    let start = whole.windows(part.len()).position(|w| w == part).unwrap();
    start..start + part.len()
}

/// The signed regions of an encoding that contains the fixture's IssuerSigned.
struct Regions {
    protected: std::ops::Range<usize>,
    mso: std::ops::Range<usize>,
    signature: std::ops::Range<usize>,
    items: Vec<std::ops::Range<usize>>,
}

fn regions(whole: &[u8]) -> Regions {
    let issued = IssuerSigned::from_bytes(&fixture().issuer_signed).unwrap();
    let auth = issued.issuer_auth_bytes();
    let sign1 = CoseSign1::from_slice(auth).unwrap();
    let protected = sign1.protected.original_data.clone().unwrap();
    let payload = sign1.payload.clone().unwrap();
    let items = issued
        .namespaces()
        .flat_map(|(_, items)| items.iter().map(|item| span(whole, item.as_bytes())))
        .collect();
    Regions {
        protected: span(whole, &protected),
        mso: span(whole, &payload),
        signature: span(whole, &sign1.signature),
        items,
    }
}

/// The device signature's bytes in the DeviceResponse.
fn device_signature_span(whole: &[u8]) -> std::ops::Range<usize> {
    let value: Value = ciborium::from_reader(whole).unwrap();
    let field = |v: &Value, name: &str| -> Value {
        v.as_map()
            .unwrap()
            .iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let document = field(&value, "documents").as_array().unwrap()[0].clone();
    let device_auth = field(&field(&document, "deviceSigned"), "deviceAuth");
    let sign1 = field(&device_auth, "deviceSignature");
    let signature = sign1.as_array().unwrap()[3].as_bytes().unwrap().clone();
    span(whole, &signature)
}

fn flip(
    bytes: &[u8],
    range: std::ops::Range<usize>,
    index: prop::sample::Index,
    bit: u8,
) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let i = range.start + index.index(range.len());
    out[i] ^= 1 << (bit % 8);
    out
}

#[test]
fn the_unmutated_fixtures_verify() {
    // Without this, every property below would pass on fixtures that never verified.
    let f = fixture();
    verify_response(&f.device_response).unwrap();
    verify_issuer_signed(&f.issuer_signed).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn issuer_signature_bit_flip_is_an_invalid_signature(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        for bytes in [&fixture().device_response, &fixture().issuer_signed] {
            let mutated = flip(bytes, regions(bytes).signature, index, bit);
            let verified = if bytes == &fixture().device_response {
                verify_response(&mutated)
            } else {
                verify_issuer_signed(&mutated)
            };
            prop_assert_eq!(verified, Err("invalid_signature"));
        }
    }

    #[test]
    fn mso_bit_flip_is_rejected(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let bytes = &fixture().device_response;
        let verified = verify_response(&flip(bytes, regions(bytes).mso, index, bit));
        // The MSO is decoded with the response; a flip that keeps it decodable must fail the
        // issuer signature, which is checked before anything the MSO says.
        prop_assert!(matches!(verified, Err("malformed" | "invalid_signature")), "{:?}", verified);
    }

    #[test]
    fn protected_header_bit_flip_is_rejected(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let bytes = &fixture().issuer_signed;
        let verified = verify_issuer_signed(&flip(bytes, regions(bytes).protected, index, bit));
        prop_assert!(
            matches!(verified, Err("malformed" | "unsupported_algorithm" | "invalid_signature")),
            "{:?}",
            verified
        );
    }

    #[test]
    fn issuer_signed_item_bit_flip_is_an_invalid_disclosure(which in any::<prop::sample::Index>(), index in any::<prop::sample::Index>(), bit in 0u8..8) {
        for bytes in [&fixture().device_response, &fixture().issuer_signed] {
            let items = regions(bytes).items;
            let mutated = flip(bytes, items[which.index(items.len())].clone(), index, bit);
            let verified = if bytes == &fixture().device_response {
                verify_response(&mutated)
            } else {
                verify_issuer_signed(&mutated)
            };
            prop_assert!(matches!(verified, Err("malformed" | "invalid_disclosure")), "{:?}", verified);
        }
    }

    #[test]
    fn device_signature_bit_flip_is_an_invalid_key_binding(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let bytes = &fixture().device_response;
        let verified = verify_response(&flip(bytes, device_signature_span(bytes), index, bit));
        prop_assert_eq!(verified, Err("invalid_key_binding"));
    }
}
