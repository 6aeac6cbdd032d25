//! Issuing a PID mdoc and verifying a DeviceResponse, against the raw ES256 cost underneath.
//!
//! `cargo bench -p eudi-mdoc --bench mdoc` runs every case; extra arguments are substring
//! filters on the case names (`cargo bench -p eudi-mdoc --bench mdoc -- verify`), which is how a
//! profiler is pointed at one case. `MDOC_BENCH_SECS` overrides the measuring time per case
//! (default 1.5 s), e.g. for a longer profile.
//!
//! `MDOC_BENCH_ITERS=n` instead runs each selected case exactly `n` times, without warm-up or
//! batches, for instruction counts that do not depend on timing (`valgrind --tool=callgrind`).
//!
//! The harness is the one of `crates/sdjwt/benches/sdjwt.rs`, hand-written to keep build time
//! low: each case is warmed up for ~0.3 s, then timed in five batches of ~1/5 of the measuring
//! time each (more only if the time is not up); the reported time is the best batch mean, which
//! is robust against noise from other processes. Everything runs on the calling thread.
//! Progress goes to stderr, the table and the ratios to stdout.
//!
//! The two targets: issuing costs at most 1.5 raw ES256 signatures, and verifying a
//! DeviceResponse (two ECDSA verifications: issuerAuth and deviceSignature) at most 1.3 times two
//! raw ES256 verifications including their key parse.
#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "benchmark binary: setup failures abort, results go to stdout"
)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED;
use aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
use aws_lc_rs::signature::EcdsaKeyPair;
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::signature::UnparsedPublicKey;
use ciborium::Value;
use coset::CborSerializable as _;
use coset::CoseSign1;
use eudi_bench::Harness;
use eudi_bench::NullSigner;
use eudi_bench::block_on;
use eudi_bench::print_ratio;
use eudi_bench::ratio;
use eudi_mdoc::DeviceResponse;
use eudi_mdoc::Document;
use eudi_mdoc::IssuerSigned;
use eudi_mdoc::IssuerSignedBuilder;
use eudi_mdoc::IssuerTrust;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::ValidityInfo;
use eudi_mdoc::VerifyOptions;
use eudi_mdoc::to_json;
use eudi_trust::Algorithm;
use eudi_trust::ChainValidator;
use eudi_trust::LeafProfile;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::TrustAnchors;
use eudi_trust::VerifyingKey;
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
use rcgen::date_time_ymd;
use time::OffsetDateTime;

const PID: &str = "eu.europa.ec.eudi.pid.1";
/// 2026-01-01T00:00:00Z: `signed` and `validFrom`, inside the certificates' validity.
const ISSUED_AT: i64 = 1_767_225_600;
/// Verification time, an hour later.
const NOW: i64 = ISSUED_AT + 3_600;
const CLIENT_ID: &str = "x509_san_dns:verifier.example.eu";
const NONCE: &str = "n-0S6_WzA2Mj";
const RESPONSE_URI: &str = "https://verifier.example.eu/response";

// ---------------------------------------------------------------------------------------------
// Fixtures

struct Pki {
    iaca_der: Vec<u8>,
    ds_der: Vec<u8>,
    ds_pkcs8: Vec<u8>,
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "DE");
    dn.push(DnType::OrganizationName, "PID Provider Example GmbH");
    dn.push(DnType::CommonName, cn);
    dn
}

/// IACA root → document signer (keyUsage digitalSignature, EKU id-mdlDS), all P-256.
fn pki() -> Pki {
    let mut iaca = CertificateParams::new(vec![]).unwrap();
    iaca.distinguished_name = name("PID Provider IACA");
    iaca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    iaca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    iaca.not_before = date_time_ymd(2025, 1, 1);
    iaca.not_after = date_time_ymd(2035, 1, 1);
    let iaca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let iaca_der = iaca.self_signed(&iaca_key).unwrap().der().to_vec();

    let mut ds = CertificateParams::new(vec![]).unwrap();
    ds.distinguished_name = name("PID Document Signer 1");
    ds.is_ca = IsCa::ExplicitNoCa;
    ds.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    ds.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![1, 0, 18013, 5, 1, 2])];
    ds.not_before = date_time_ymd(2025, 6, 1);
    ds.not_after = date_time_ymd(2028, 6, 1);
    let ds_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let ds_der = ds
        .signed_by(&ds_key, &Issuer::from_params(&iaca, &iaca_key))
        .unwrap()
        .der()
        .to_vec();
    Pki {
        iaca_der,
        ds_der,
        ds_pkcs8: ds_key.serialize_der(),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn full_date(s: &str) -> Value {
    Value::Tag(1004, Box::new(text(s)))
}

/// A PID (PID Rulebook, `eu.europa.ec.eudi.pid.1`), 21 elements, no portrait.
fn pid_elements() -> Vec<(&'static str, Value)> {
    vec![
        ("family_name", text("Mustermann")),
        ("given_name", text("Erika")),
        ("birth_date", full_date("1964-08-12")),
        (
            "place_of_birth",
            Value::Map(vec![
                (text("country"), text("DE")),
                (text("locality"), text("Berlin")),
            ]),
        ),
        ("nationality", Value::Array(vec![text("DE"), text("DK")])),
        ("sex", Value::Integer(2.into())),
        ("age_over_18", Value::Bool(true)),
        ("age_in_years", Value::Integer(61.into())),
        ("age_birth_year", Value::Integer(1964.into())),
        ("family_name_birth", text("Gabler")),
        ("resident_address", text("Heidestraße 17, 51147 Köln")),
        ("resident_country", text("DE")),
        ("resident_city", text("Köln")),
        ("resident_postal_code", text("51147")),
        ("resident_street", text("Heidestraße")),
        ("resident_house_number", text("17")),
        ("personal_administrative_number", text("T22000129-2345")),
        ("issuing_authority", text("Bundesdruckerei GmbH")),
        ("issuing_country", text("DE")),
        ("expiry_date", full_date("2026-04-01")),
        ("issuance_date", full_date("2026-01-01")),
    ]
}

/// The 8 elements the verifier asks for.
const REQUESTED: [&str; 8] = [
    "given_name",
    "family_name",
    "birth_date",
    "age_over_18",
    "nationality",
    "resident_city",
    "issuing_authority",
    "issuing_country",
];

fn datetime(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

/// The builder as an issuer would fill it: element values are moved in.
fn builder(device: &VerifyingKey, elements: Vec<(&'static str, Value)>) -> IssuerSignedBuilder {
    let validity = ValidityInfo::new(
        datetime(ISSUED_AT),
        datetime(ISSUED_AT),
        datetime(ISSUED_AT + 90 * 86_400),
    );
    elements.into_iter().fold(
        IssuerSignedBuilder::new(PID, device, validity),
        |b, (id, value)| b.element(PID, id, value),
    )
}

/// `documents[0].deviceSigned.deviceAuth.deviceSignature` of an encoded DeviceResponse.
fn device_signature(response: &[u8]) -> CoseSign1 {
    fn get<'v>(map: &'v Value, key: &str) -> &'v Value {
        map.as_map()
            .unwrap()
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
            .unwrap()
    }
    let value: Value = ciborium::from_reader(response).unwrap();
    let doc = &get(&value, "documents").as_array().unwrap()[0];
    let sig = get(
        get(get(doc, "deviceSigned"), "deviceAuth"),
        "deviceSignature",
    );
    let mut bytes = Vec::new();
    ciborium::into_writer(sig, &mut bytes).unwrap();
    CoseSign1::from_slice(&bytes).unwrap()
}

fn main() {
    let mut h = Harness::new("MDOC");

    let pki = pki();
    let ds = SoftwareKey::from_pkcs8_der(Algorithm::Es256, &pki.ds_pkcs8).unwrap();
    let device = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let device_vk = device.verifying_key().clone();
    let elements = pid_elements();
    let issue = |signer: &dyn Signer| {
        block_on(builder(&device_vk, elements.clone()).sign(signer, &[&pki.ds_der]))
            .unwrap()
            .to_bytes()
    };
    // The same driven by a current-thread tokio runtime instead of one poll.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let issue_on_runtime = || {
        runtime
            .block_on(builder(&device_vk, elements.clone()).sign(&ds, &[&pki.ds_der]))
            .unwrap()
            .to_bytes()
    };
    let issued_bytes = issue(&ds);
    let issued = IssuerSigned::from_bytes(&issued_bytes).unwrap();

    // Holder: 8 of the elements, device-signed over the OpenID4VP redirect transcript.
    let transcript = SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI);
    let wanted: Vec<(&str, &str)> = REQUESTED.iter().map(|e| (PID, *e)).collect();
    let selected = issued.select(&wanted);
    let response = DeviceResponse::new(vec![
        block_on(Document::with_device_signature(
            selected,
            &transcript,
            &device,
        ))
        .unwrap(),
    ])
    .to_bytes();

    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.iaca_der).unwrap();
    let validator = ChainValidator::new(anchors);
    let options = VerifyOptions::new(NOW).session_transcript(&transcript);
    let no_transcript = VerifyOptions::new(NOW);

    // Sanity: the whole thing verifies, and shows what was disclosed.
    let verified = DeviceResponse::from_bytes(&response)
        .unwrap()
        .verify(&validator, &options)
        .unwrap();
    let doc = &verified.documents()[0];
    assert!(doc.device_authenticated());
    assert_eq!(doc.elements().len(), REQUESTED.len());
    assert_eq!(
        doc.claims()[PID].as_object().unwrap().len(),
        REQUESTED.len()
    );

    // The issuerAuth Sig_structure (what the issuer signs: the MSO and a few bytes) as the raw
    // baseline's message, and its signature.
    let issuer_auth = CoseSign1::from_slice(issued.issuer_auth_bytes()).unwrap();
    let message = issuer_auth.tbs_data(b"");
    let signature = issuer_auth.signature.clone();
    let raw_pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pki.ds_pkcs8).unwrap();
    let raw_public = raw_pair.public_key().as_ref().to_vec();
    let rng = SystemRandom::new();

    // Pieces of the verification, for the breakdown.
    let parsed = DeviceResponse::from_bytes(&response).unwrap();
    let presented = parsed.documents()[0].issuer_signed();
    let items: Vec<_> = presented
        .namespaces()
        .flat_map(|(_, items)| items.iter())
        .collect();
    let mso = presented.mso();
    let ds_chain: [&[u8]; 1] = [&pki.ds_der];
    let ds_vk = ds.verifying_key().clone();
    let ds_keys = vec![ds_vk.clone()];
    let device_sig = device_signature(&response);

    println!(
        "mdoc benchmark: one thread, best mean of >= 5 batches after {:.1} s warm-up, {:.1} s per case",
        h.warmup.as_secs_f64(),
        h.measure.as_secs_f64()
    );
    println!(
        "  issued: {} elements in {PID}, IssuerSigned {} bytes; issuerAuth Sig_structure {} bytes; \
         DS certificate {} DER bytes in x5chain",
        elements.len(),
        issued_bytes.len(),
        message.len(),
        pki.ds_der.len(),
    );
    println!(
        "  presented: DeviceResponse with {} elements, {} bytes, deviceSignature over the \
         OpenID4VP transcript",
        REQUESTED.len(),
        response.len(),
    );

    // Raw ES256.
    let raw_sign = h.run("raw ES256 sign (aws-lc-rs, MSO-sized message)", || {
        raw_pair.sign(&rng, &message).unwrap()
    });
    h.run(
        "raw ES256 sign via Signer (SoftwareKey, the DS key)",
        || block_on(ds.sign(&message)).unwrap(),
    );
    let raw_verify = h.run("raw ES256 verify (aws-lc-rs, incl. key parse)", || {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &raw_public)
            .verify(&message, &signature)
            .is_ok()
    });
    h.run("raw ES256 verify, pre-parsed VerifyingKey", || {
        ds_vk.verify(&message, &signature).is_ok()
    });

    // Issuing.
    let issue_ns = h.run("issue: builder..sign(DS, x5chain)..to_bytes", || issue(&ds));
    let issue_null = h.run("issue: same with a no-op signer (no ECDSA)", || {
        issue(&NullSigner(ds_vk.clone()))
    });
    h.run(
        "issue: same on a current-thread tokio runtime",
        issue_on_runtime,
    );
    h.run("issue: building the builder alone", || {
        builder(&device_vk, elements.clone())
    });
    h.run("issue: IssuerSigned::to_bytes alone", || issued.to_bytes());

    // Verifying.
    let verify_ns = h.run("verify: from_bytes + verify (x5chain, device sig)", || {
        DeviceResponse::from_bytes(&response)
            .unwrap()
            .verify(&validator, &options)
            .unwrap()
    });
    h.run("verify: decode only (DeviceResponse::from_bytes)", || {
        DeviceResponse::from_bytes(&response).unwrap()
    });
    h.run("verify: verify only (pre-decoded)", || {
        parsed.verify(&validator, &options).unwrap()
    });
    h.run(
        "verify: verify only, no transcript (no device auth)",
        || parsed.verify(&validator, &no_transcript).unwrap(),
    );
    h.run("verify: verify only, IssuerTrust::Keys (no chain)", || {
        parsed
            .verify(IssuerTrust::Keys(&ds_keys), &options)
            .unwrap()
    });
    h.run("verify: DS chain cache hit (validate_der)", || {
        validator
            .validate_der(&ds_chain, NOW, LeafProfile::MdocDocumentSigner)
            .unwrap()
    });
    h.run(
        "verify: 8 digests (SHA-256 of IssuerSignedItemBytes)",
        || {
            items
                .iter()
                .all(|item| mso.digest_algorithm().digest(item.as_bytes()).len() == 32)
        },
    );
    h.run("verify: device auth (DAB + Sig_structure + ECDSA)", || {
        let payload = parsed.documents()[0].device_authentication_bytes(&transcript);
        device_sig
            .verify_detached_signature(&payload, b"", |sig, data| device_vk.verify(data, sig))
            .is_ok()
    });
    h.run("verify: 8 element values to JSON", || {
        items
            .iter()
            .map(|item| to_json(item.element_value()))
            .collect::<Vec<_>>()
    });

    // The targets, measured interleaved with their baselines.
    let issue_ratio = h.interleaved_ratio(
        "ratio: issue / raw sign",
        || issue(&ds),
        || raw_pair.sign(&rng, &message).unwrap(),
    );
    let verify_ratio = h.interleaved_ratio(
        "ratio: verify / (2 x raw verify)",
        || {
            DeviceResponse::from_bytes(&response)
                .unwrap()
                .verify(&validator, &options)
                .unwrap()
        },
        || {
            let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &raw_public);
            let a = key.verify(&message, &signature).is_ok();
            let b = key.verify(&message, &signature).is_ok();
            a && b
        },
    );

    h.print_table(raw_sign, verify_ns);
    println!("Ratios, each measured interleaved with its baseline (median of the rounds)");
    print_ratio("issue / raw sign", issue_ratio, Some(1.50));
    print_ratio("verify / (2 x raw verify)", verify_ratio, Some(1.30));
    println!("Ratios of the separately measured times above");
    ratio("issue / raw sign", issue_ns, raw_sign, None);
    ratio(
        "issue with no-op signer / raw sign",
        issue_null,
        raw_sign,
        None,
    );
    ratio(
        "verify / (2 x raw verify)",
        verify_ns,
        raw_verify.map(|v| 2.0 * v),
        None,
    );
    ratio(
        "verify only (pre-decoded) / (2 x raw verify)",
        h.ns("verify: verify only (pre-decoded)"),
        raw_verify.map(|v| 2.0 * v),
        None,
    );
}
