//! Helpers shared by the fuzz targets: fixed keys made once per process, and the one place that
//! signs (so that when `Signer` becomes async, only [`sign_jws`] and [`issued_sd_jwt`] change).
//!
//! Most parsers sit in front of a signature check the fuzzer cannot forge. Targets that must
//! reach the checks *after* the signature (claims, disclosures, key binding, the status list)
//! take the fuzz input as the signed content and sign it here with a key the verifier trusts.

use std::sync::OnceLock;

use eudi_trust::Algorithm;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::VerifyingKey;
use eudi_trust::jws::PreparedHeader;

/// "Now" for every time check in the targets (2026-01-01T00:00:00Z), so runs are reproducible.
pub const NOW: i64 = 1_767_225_600;

/// The issuer key the targets' verifiers trust.
pub fn issuer_key() -> &'static SoftwareKey {
    static KEY: OnceLock<SoftwareKey> = OnceLock::new();
    KEY.get_or_init(|| fixed_key(1))
}

/// The holder (device / `cnf`) key.
pub fn holder_key() -> &'static SoftwareKey {
    static KEY: OnceLock<SoftwareKey> = OnceLock::new();
    KEY.get_or_init(|| fixed_key(2))
}

/// The issuer's verifying key.
pub fn issuer_public() -> &'static VerifyingKey {
    issuer_key().verifying_key()
}

/// A P-256 key whose private scalar is `n` (PKCS#8 built by hand: deterministic across runs, so
/// a crashing input replays with the same keys).
fn fixed_key(n: u8) -> SoftwareKey {
    // RFC 5915 ECPrivateKey inside RFC 5208 PrivateKeyInfo, without the optional public key
    // (aws-lc-rs derives it).
    let mut der = vec![
        0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
        0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25,
        0x02, 0x01, 0x01, 0x04, 0x20,
    ];
    let mut scalar = [0u8; 32];
    scalar[31] = n;
    der.extend_from_slice(&scalar);
    match SoftwareKey::from_pkcs8_der(Algorithm::Es256, &der) {
        Ok(key) => key,
        // Fuzz harness setup, not input handling: a failure here is a broken harness.
        Err(e) => panic!("fixed fuzz key {n}: {e}"),
    }
}

/// Signs `payload` (any bytes: the fuzzer's) under the protected header `header_json` with
/// `key`, as a compact JWS.
pub fn sign_jws(header_json: &str, payload: &[u8], key: &SoftwareKey) -> String {
    let mut out = Vec::new();
    let prepared = PreparedHeader::from_json(header_json.as_bytes(), Algorithm::Es256);
    // Signing is async; a software key answers at the first poll.
    if let Err(e) = eudi_bench::block_on(prepared.sign_into(payload, key, &mut out)) {
        panic!("fuzz harness signing failed: {e}");
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A compact SD-JWT VC issued once by [`issuer_key`], bound to [`holder_key`], every claim
/// selectively disclosable; the base a key binding target appends its KB-JWT to.
pub fn issued_sd_jwt() -> &'static str {
    static ISSUED: OnceLock<String> = OnceLock::new();
    ISSUED.get_or_init(|| {
        let claims = serde_json::json!({
            "given_name": "Mette",
            "family_name": "Jensen",
            "address": {"locality": "Aarhus", "postal_code": "8000"},
            "nationalities": ["DK"],
        });
        let Some(claims) = claims.as_object() else {
            panic!("fuzz harness claims are an object");
        };
        let issued =
            eudi_sdjwt::vc::builder("urn:eudi:pid:1", "https://issuer.example", NOW, claims)
                .holder_key(&holder_key().verifying_key().to_jwk())
                .map(|b| eudi_bench::block_on(b.sign(issuer_key())));
        match issued {
            Ok(Ok(sd)) => match sd.into_compact() {
                Ok(compact) => compact,
                Err(e) => panic!("fuzz harness issuing failed: {e}"),
            },
            Ok(Err(e)) => panic!("fuzz harness issuing failed: {e}"),
            Err(e) => panic!("fuzz harness issuing failed: {e}"),
        }
    })
}

/// Reads the input as UTF-8 text, as every text-based entry point receives it.
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// `data` with every occurrence of `from` replaced by `to` (placeholders in seeds for values
/// that change per run).
pub fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Prints `outcome` to stderr when `EUDI_FUZZ_DEBUG` is set: to check by hand that a seed
/// reaches the checks it was written for (`EUDI_FUZZ_DEBUG=1 target/…/TARGET SEED`).
pub fn debug(outcome: &dyn std::fmt::Debug) {
    if std::env::var_os("EUDI_FUZZ_DEBUG").is_some() {
        eprintln!("outcome: {outcome:?}");
    }
}
