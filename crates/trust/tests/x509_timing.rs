//! A small timing run of chain validation, for the decision recorded in
//! `docs/dependencies.md` (which validator the workspace uses). Ignored by default; run it in
//! release mode:
//!
//! ```text
//! cargo test --release -p eudi-trust --test x509_timing -- --ignored --nocapture
//! ```
//!
//! It prints the time per uncached validation of a leaf → intermediate → root chain (two
//! certificate signatures) beside two raw ES256 verifications of the same size done in the same
//! run, so the ratio is meaningful on a loaded machine, and the time per cached validation.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::EcdsaKeyPair;
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::signature::UnparsedPublicKey;
use aws_lc_rs::signature::{self};
use eudi_trust::ChainValidator;
use eudi_trust::LeafProfile;
use eudi_trust::TrustAnchors;
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

/// 2025-06-01T00:00:00Z, inside every certificate's validity.
const NOW: i64 = 1_748_736_000;

fn params(cn: &str, ca: bool) -> CertificateParams {
    let mut params = CertificateParams::new(vec![]).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::CountryName, "DK");
    params.distinguished_name = dn;
    params.not_before = date_time_ymd(2024, 1, 1);
    params.not_after = date_time_ymd(2030, 1, 1);
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    } else {
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    }
    params
}

/// Best mean over `rounds` rounds of `n` calls, in microseconds.
fn best_us(rounds: usize, n: usize, mut f: impl FnMut()) -> f64 {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
#[ignore = "timing run; see the module docs"]
fn chain_validation_time() {
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let root_params = params("timing root", true);
    let root = root_params.self_signed(&root_key).unwrap();
    let inter_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let inter_params = params("timing intermediate", true);
    let inter = inter_params
        .signed_by(&inter_key, &Issuer::from_params(&root_params, &root_key))
        .unwrap();
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let leaf = params("timing leaf", false)
        .signed_by(&leaf_key, &Issuer::from_params(&inter_params, &inter_key))
        .unwrap();

    let mut anchors = TrustAnchors::new();
    anchors.add_der(root.der()).unwrap();
    let uncached = ChainValidator::with_cache_capacity(anchors.clone(), 0);
    let cached = ChainValidator::new(anchors);
    let chain: [&[u8]; 2] = [leaf.der(), inter.der()];
    let validate = |v: &ChainValidator| {
        v.validate_der(&chain, NOW, LeafProfile::DigitalSignature)
            .unwrap();
    };

    // Two raw ES256 verifications (aws-lc-rs, as the validator uses): the signature work in
    // one uncached validation.
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
        .unwrap();
    let message = vec![0x5a; inter.der().len()];
    let sig = key.sign(&rng, &message).unwrap();
    let public = UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, key.public_key());
    let raw = || {
        for _ in 0..2 {
            public.verify(&message, sig.as_ref()).unwrap();
        }
    };

    let (rounds, n) = (7, 2000);
    let raw_us = best_us(rounds, n, raw);
    let uncached_us = best_us(rounds, n, || validate(&uncached));
    let cached_us = best_us(rounds, n * 10, || validate(&cached));
    println!(
        "chain validation: uncached {uncached_us:.1} us ({:.2}x two raw ES256 verifies of {raw_us:.1} us), cached {cached_us:.2} us",
        uncached_us / raw_us
    );
}
