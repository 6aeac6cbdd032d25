//! Issuing and verifying a PID-sized SD-JWT VC, against the raw ES256 cost underneath.
//!
//! `cargo bench -p eudi-sdjwt --bench sdjwt` runs every case; extra arguments are substring
//! filters on the case names (`cargo bench -p eudi-sdjwt --bench sdjwt -- verify`), which is
//! how a profiler is pointed at one case. `SDJWT_BENCH_SECS` overrides the measuring time per
//! case (default 1.5 s), e.g. for a longer profile.
//!
//! The harness is hand-written to keep build time low: each case is warmed up for ~0.3 s, then
//! timed in five batches of ~1/5 of the measuring time each (more only if the time is not up);
//! the reported time is the best batch mean, which is robust against noise from other
//! processes. Everything runs on the calling thread. Progress goes to stderr, the table and the
//! ratios to stdout.
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
use eudi_bench::Harness;
use eudi_bench::NullSigner;
use eudi_bench::block_on;
use eudi_bench::print_ratio;
use eudi_bench::ratio;
use eudi_sdjwt::ClaimPath;
use eudi_sdjwt::DisclosurePlan;
use eudi_sdjwt::SdAlg;
use eudi_sdjwt::SdJwt;
use eudi_sdjwt::holder::KeyBindingParams;
use eudi_sdjwt::holder::{self};
use eudi_sdjwt::vc;
use eudi_sdjwt::verifier::KeyBindingPolicy;
use eudi_sdjwt::verifier::VerifyOptions;
use eudi_sdjwt::verifier::{self};
use eudi_trust::Algorithm;
use eudi_trust::ChainValidator;
use eudi_trust::LeafProfile;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::TrustAnchors;
use eudi_trust::b64;
use eudi_trust::jws::CompactJws;
use rcgen::BasicConstraints;
use rcgen::CertificateParams;
use rcgen::DistinguishedName;
use rcgen::DnType;
use rcgen::IsCa;
use rcgen::Issuer;
use rcgen::KeyPair;
use rcgen::KeyUsagePurpose;
use rcgen::PKCS_ECDSA_P256_SHA256;
use rcgen::date_time_ymd;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;

/// 2026-01-01T00:00:00Z, inside the certificates' validity.
const NOW: i64 = 1_767_225_600;
const IAT: i64 = NOW - 100;
const VCT: &str = "urn:eudi:pid:1";
const ISS: &str = "https://pid-issuer.example.eu";
const AUD: &str = "x509_san_dns:verifier.example.eu";
const NONCE: &str = "n-0S6_WzA2Mj";

// ---------------------------------------------------------------------------------------------
// Fixtures

struct Pki {
    root_der: Vec<u8>,
    leaf_der: Vec<u8>,
    leaf_pkcs8: Vec<u8>,
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "DK");
    dn.push(DnType::OrganizationName, "PID Provider Example A/S");
    dn.push(DnType::CommonName, cn);
    dn
}

/// Root CA → issuer leaf (digitalSignature, SAN), all P-256, valid 2025–2035.
fn pki() -> Pki {
    let mut root = CertificateParams::new(vec![]).unwrap();
    root.distinguished_name = name("PID Provider Root CA");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.not_before = date_time_ymd(2025, 1, 1);
    root.not_after = date_time_ymd(2035, 1, 1);
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let root_der = root.self_signed(&root_key).unwrap().der().to_vec();

    let mut leaf = CertificateParams::new(vec![]).unwrap();
    leaf.distinguished_name = name("PID Issuer Signing Key 1");
    leaf.is_ca = IsCa::NoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.subject_alt_names = vec![
        rcgen::SanType::DnsName("pid-issuer.example.eu".try_into().unwrap()),
        rcgen::SanType::URI(ISS.try_into().unwrap()),
    ];
    leaf.not_before = date_time_ymd(2025, 1, 1);
    leaf.not_after = date_time_ymd(2030, 1, 1);
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let leaf_der = leaf
        .signed_by(&leaf_key, &Issuer::from_params(&root, &root_key))
        .unwrap()
        .der()
        .to_vec();
    Pki {
        root_der,
        leaf_der,
        leaf_pkcs8: leaf_key.serialize_der(),
    }
}

/// PID claims (PID Rulebook, SD-JWT VC encoding).
fn pid_claims() -> Map<String, Value> {
    let claims = json!({
        "given_name": "Erika",
        "family_name": "Mustermann",
        "birthdate": "1964-08-12",
        "place_of_birth": {"locality": "Berlin", "country": "DE"},
        "nationalities": ["DE", "DK"],
        "address": {
            "street_address": "Heidestraße 17",
            "locality": "Köln",
            "postal_code": "51147",
            "country": "DE"
        },
        "personal_administrative_number": "T22000129-2345",
        "sex": 2,
        "email": "erika.mustermann@example.de",
        "phone_number": "+49 221 1234567",
        "age_equal_or_over": {"18": true},
        "issuing_authority": "Bundesdruckerei GmbH",
        "issuing_country": "DE",
        "date_of_issuance": "2025-11-01",
        "date_of_expiry": "2030-11-01"
    });
    let Value::Object(map) = claims else {
        unreachable!("a JSON object literal")
    };
    map
}

/// The 8 claims the verifier asks for.
fn requested() -> Vec<ClaimPath> {
    vec![
        ClaimPath::keys(["given_name"]),
        ClaimPath::keys(["family_name"]),
        ClaimPath::keys(["birthdate"]),
        ClaimPath::keys(["address", "locality"]),
        ClaimPath::keys(["address", "country"]),
        ClaimPath::keys(["age_equal_or_over", "18"]),
        ClaimPath::keys(["issuing_authority"]),
        ClaimPath::keys(["issuing_country"]),
    ]
}

/// 20 claims an issuer chooses to make selectively disclosable (explicit-path mode).
fn chosen() -> Vec<ClaimPath> {
    let mut paths: Vec<ClaimPath> = [
        "given_name",
        "family_name",
        "birthdate",
        "place_of_birth",
        "nationalities",
        "address",
        "personal_administrative_number",
        "sex",
        "email",
        "phone_number",
        "age_equal_or_over",
        "issuing_authority",
        "issuing_country",
        "date_of_issuance",
        "date_of_expiry",
    ]
    .into_iter()
    .map(|k| ClaimPath::keys([k]))
    .collect();
    paths.extend([
        ClaimPath::keys(["address", "street_address"]),
        ClaimPath::keys(["address", "locality"]),
        ClaimPath::keys(["address", "postal_code"]),
        ClaimPath::keys(["place_of_birth", "locality"]),
        ClaimPath::keys(["age_equal_or_over", "18"]),
    ]);
    paths
}

fn main() {
    let mut h = Harness::new("SDJWT");

    let pki = pki();
    let issuer = SoftwareKey::from_pkcs8_der(Algorithm::Es256, &pki.leaf_pkcs8).unwrap();
    let wallet = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let wallet_jwk = wallet.verifying_key().to_jwk();
    let claims = pid_claims();
    // An issuer prepares its protected header (typ, x5c) once and issues from claims it holds.
    let prepared = vc::prepare_header(&issuer, &[&pki.leaf_der]).unwrap();
    let issue = |signer: &dyn Signer| {
        block_on(
            vc::builder(VCT, ISS, IAT, &claims)
                .holder_key(&wallet_jwk)
                .unwrap()
                .sign_prepared(&prepared, signer),
        )
        .unwrap()
        .into_compact()
        .unwrap()
    };
    // The same driven by a current-thread tokio runtime instead of one poll.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let issue_on_runtime = || {
        runtime
            .block_on(
                vc::builder(VCT, ISS, IAT, &claims)
                    .holder_key(&wallet_jwk)
                    .unwrap()
                    .sign_prepared(&prepared, &issuer),
            )
            .unwrap()
            .into_compact()
            .unwrap()
    };
    // The same without preparation: header encoded per call, claims copied into the builder.
    let issue_one_shot = || {
        block_on(
            vc::builder(VCT, ISS, IAT, claims.clone())
                .holder_key(&wallet_jwk)
                .unwrap()
                .x5c(&[&pki.leaf_der])
                .sign(&issuer),
        )
        .unwrap()
        .into_compact()
        .unwrap()
    };
    // Explicit paths: the plan resolved once, lent to each builder.
    let chosen_paths = chosen();
    let plan = DisclosurePlan::of(&chosen_paths).unwrap();
    let issue_explicit = |signer: &dyn Signer| {
        block_on(
            vc::builder(VCT, ISS, IAT, &claims)
                .sd_plan(&plan)
                .holder_key(&wallet_jwk)
                .unwrap()
                .sign_prepared(&prepared, signer),
        )
        .unwrap()
        .into_compact()
        .unwrap()
    };
    // The same, each path given to `sd` on every issuance (the paths cloned per issuance).
    let issue_explicit_sd = || {
        block_on(
            chosen_paths
                .iter()
                .fold(vc::builder(VCT, ISS, IAT, &claims), |b, p| b.sd(p.clone()))
                .holder_key(&wallet_jwk)
                .unwrap()
                .sign_prepared(&prepared, &issuer),
        )
        .unwrap()
        .into_compact()
        .unwrap()
    };
    assert_eq!(
        SdJwt::parse(&issue_explicit(&issuer))
            .unwrap()
            .disclosure_count(),
        20
    );
    let issued = issue(&issuer);
    let sd = SdJwt::parse(&issued).unwrap();

    let chosen = holder::select(&sd, &requested()).unwrap();
    let without_kb = chosen.to_compact().unwrap();
    let params = KeyBindingParams {
        audience: AUD.into(),
        nonce: NONCE.into(),
        iat: NOW - 5,
    };
    let presentation = block_on(holder::add_key_binding(chosen, &wallet, &params))
        .unwrap()
        .to_compact()
        .unwrap();
    let presented = SdJwt::parse(&presentation).unwrap();

    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.root_der).unwrap();
    let validator = ChainValidator::new(anchors);
    let mut options = VerifyOptions::new(NOW);
    options.key_binding = KeyBindingPolicy::required(AUD, NONCE);
    let mut no_kb_options = VerifyOptions::new(NOW);
    no_kb_options.accepted_typ = Some(vec![vc::TYP.into()]);

    let mut resolve = |header: &eudi_trust::jws::Header, _: &Map<String, Value>| {
        let x5c = header.x5c.as_ref().ok_or("no x5c")?;
        validator
            .validate_x5c(x5c, NOW, LeafProfile::DigitalSignature)
            .map(|chain| chain.leaf_key.clone())
            .map_err(|e| e.to_string())
    };
    // Sanity: the whole thing verifies, and shows what was disclosed.
    let verified = vc::verify(&presented, &mut resolve, &options).unwrap();
    assert_eq!(
        verified.user_claims().len(),
        7,
        "{:?}",
        verified.user_claims()
    );
    assert!(verified.sd_jwt().key_binding().is_some());

    // The issuer-signed JWT as the raw baseline's message, and its signature.
    let jwt = sd.issuer_jwt().unwrap();
    let (signing_input, sig_b64) = jwt.rsplit_once('.').unwrap();
    let signature = b64::decode(sig_b64).unwrap();
    let raw_pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pki.leaf_pkcs8).unwrap();
    let raw_public = raw_pair.public_key().as_ref().to_vec();
    let rng = SystemRandom::new();
    let header_x5c = verifier::issuer_headers(&sd).unwrap()[0]
        .x5c
        .clone()
        .unwrap();
    let kb_jwt = presented.kb_jwt().unwrap().unwrap().to_owned();

    println!(
        "SD-JWT VC benchmark: one thread, best mean of >= 5 batches after {:.1} s warm-up, {:.1} s per case",
        h.warmup.as_secs_f64(),
        h.measure.as_secs_f64()
    );
    println!(
        "  credential: {} disclosures, {} bytes issued; issuer JWT signing input {} bytes \
         (header {} b64 chars incl. x5c leaf of {} DER bytes)",
        sd.disclosures().unwrap().len(),
        issued.len(),
        signing_input.len(),
        signing_input.find('.').unwrap_or_default(),
        pki.leaf_der.len(),
    );
    println!(
        "  presentation: {} requested claims -> {} disclosures + KB-JWT, {} bytes",
        requested().len(),
        presented.disclosures().unwrap().len(),
        presentation.len(),
    );

    // Raw ES256.
    let raw_sign = h.run("raw ES256 sign (aws-lc-rs)", || {
        raw_pair.sign(&rng, signing_input.as_bytes()).unwrap()
    });
    let input_digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, signing_input.as_bytes());
    h.run("raw ES256 sign of a precomputed digest (aws-lc-rs)", || {
        raw_pair.sign_digest(&input_digest).unwrap()
    });
    let mut salts = [0u8; 24 * 16];
    h.run("raw: one SystemRandom fill of 24 salts (384 B)", || {
        aws_lc_rs::rand::SecureRandom::fill(&rng, &mut salts).unwrap();
        salts[0]
    });
    let mut wipe = vec![7u8; 3072];
    h.run("raw: zeroize 3 KiB (volatile, byte-wise)", || {
        zeroize::Zeroize::zeroize(wipe.as_mut_slice());
        wipe[0]
    });
    h.run("raw SHA-256 of the signing input", || {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, signing_input.as_bytes())
    });
    let raw_verify = h.run("raw ES256 verify (aws-lc-rs, incl. key parse)", || {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &raw_public)
            .verify(signing_input.as_bytes(), &signature)
            .is_ok()
    });
    h.run("raw ES256 verify, pre-parsed VerifyingKey", || {
        issuer
            .verifying_key()
            .verify(signing_input.as_bytes(), &signature)
            .is_ok()
    });

    // Issuing.
    let issue_ns = h.run("issue: vc::builder..sign..to_compact", || issue(&issuer));
    let issue_null = h.run("issue: same with a no-op signer (no ECDSA)", || {
        issue(&NullSigner(issuer.verifying_key().clone()))
    });
    h.run(
        "issue: same on a current-thread tokio runtime",
        issue_on_runtime,
    );
    h.run(
        "issue: one-shot (header per call, claims cloned)",
        issue_one_shot,
    );
    let explicit_ns = h.run("issue: 20 explicit paths (DisclosurePlan lent)", || {
        issue_explicit(&issuer)
    });
    h.run(
        "issue: 20 explicit paths via sd() (paths cloned per call)",
        issue_explicit_sd,
    );
    h.run("issue: claims.clone() alone", || claims.clone());

    // Verifying.
    let verify_ns = h.run("verify: parse + vc::verify (x5c, KB required)", || {
        let sd = SdJwt::parse(&presentation).unwrap();
        vc::verify(&sd, &mut resolve, &options).unwrap()
    });
    h.run("verify: parse only", || {
        SdJwt::parse(&presentation).unwrap()
    });
    h.run("verify: x5c chain cache hit only", || {
        validator
            .validate_x5c(&header_x5c, NOW, LeafProfile::DigitalSignature)
            .unwrap()
    });
    let no_kb_sd = SdJwt::parse(&without_kb).unwrap();
    let leaf_key = issuer.verifying_key().clone();
    h.run("verify: verifier::verify w/o KB, fixed key", || {
        verifier::verify(&no_kb_sd, &mut |_, _| Ok(leaf_key.clone()), &no_kb_options).unwrap()
    });
    h.run("verify: KB-JWT parse + verify (cnf key pre-parsed)", || {
        let jws = CompactJws::parse(&kb_jwt).unwrap();
        jws.verify(wallet.verifying_key(), &options.algorithms)
            .unwrap();
        jws.payload_json().unwrap()
    });
    h.run("verify: cnf.jwk -> VerifyingKey", || {
        verifier::holder_key(verified.sd_jwt().claims())
            .unwrap()
            .unwrap()
    });
    h.run("verify: issuer header decode (serde Header)", || {
        verifier::issuer_headers(&presented).unwrap()
    });
    h.run("verify: payload decode (b64 + JSON)", || {
        verifier::unverified_payload(&presented).unwrap()
    });
    h.run(
        "verify: payload + 10 disclosures (disclosable_claims)",
        || holder::disclosable_claims(&presented).unwrap(),
    );
    h.run("verify: sd_hash (compact + SHA-256)", || {
        SdAlg::Sha256.digest_b64(presented.sd_jwt_compact().unwrap().as_bytes())
    });

    // The targets, measured interleaved with their baselines.
    let issue_ratio = h.interleaved_ratio(
        "ratio: issue / raw sign",
        || issue(&issuer),
        || raw_pair.sign(&rng, signing_input.as_bytes()).unwrap(),
    );
    let explicit_ratio = h.interleaved_ratio(
        "ratio: issue with 20 explicit paths / raw sign",
        || issue_explicit(&issuer),
        || raw_pair.sign(&rng, signing_input.as_bytes()).unwrap(),
    );
    let explicit_sd_ratio = h.interleaved_ratio(
        "ratio: issue with 20 paths via sd() / raw sign",
        issue_explicit_sd,
        || raw_pair.sign(&rng, signing_input.as_bytes()).unwrap(),
    );
    let verify_ratio = h.interleaved_ratio(
        "ratio: verify / (2 x raw verify)",
        || {
            let sd = SdJwt::parse(&presentation).unwrap();
            vc::verify(&sd, &mut resolve, &options).unwrap()
        },
        || {
            let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &raw_public);
            let a = key.verify(signing_input.as_bytes(), &signature).is_ok();
            let b = key.verify(signing_input.as_bytes(), &signature).is_ok();
            a && b
        },
    );

    h.print_table(raw_sign, verify_ns);
    println!("Ratios, each measured interleaved with its baseline (median of the rounds)");
    print_ratio("issue / raw sign", issue_ratio, Some(1.30));
    print_ratio(
        "issue, 20 explicit paths (plan) / raw sign",
        explicit_ratio,
        Some(1.30),
    );
    print_ratio(
        "issue, 20 explicit paths via sd() / raw sign",
        explicit_sd_ratio,
        Some(1.30),
    );
    print_ratio("verify / (2 x raw verify)", verify_ratio, Some(1.15));
    println!("Ratios of the separately measured times above");
    ratio("issue / raw sign", issue_ns, raw_sign, None);
    ratio(
        "issue, 20 explicit paths (plan) / raw sign",
        explicit_ns,
        raw_sign,
        None,
    );
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
        "verify w/o KB, fixed key / raw verify",
        h.rows
            .iter()
            .find(|r| r.name.starts_with("verify: verifier::verify w/o KB"))
            .map(|r| r.ns),
        raw_verify,
        None,
    );
}
