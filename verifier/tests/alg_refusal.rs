//! `eudi-verifier verify` refuses issuer signatures that are not ES256 (the only algorithm
//! accepted unless configured), naming the algorithm: an SD-JWT VC signed RS256 or PS256, an
//! mdoc whose `issuerAuth` says EdDSA (-8) or PS256 (-37). The headers are rewritten on
//! published vectors; the refusal comes before any key could verify the signature, so no RSA or
//! Ed25519 key is needed.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use serde_json::json;

fn shared_vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

/// Runs `eudi-verifier verify ARGS` on `input` (written to a temporary file): exit code and
/// report.
fn run(tag: &str, args: &[&str], input: &str) -> (i32, Value) {
    let dir = std::env::temp_dir().join(format!(
        "eudi-verifier-alg-refusal-{tag}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("input.txt");
    std::fs::write(&path, input).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_eudi-verifier"))
        .arg("verify")
        .args(args)
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report)
}

fn first_error(report: &Value) -> (&str, &str) {
    let error = &report["errors"][0];
    (
        error["code"].as_str().unwrap_or(""),
        error["message"].as_str().unwrap_or(""),
    )
}

#[test]
fn sd_jwt_vc_signed_rs256_or_ps256_is_refused_by_name() {
    let vectors = shared_vectors().join("sd-jwt-vc");
    let key = vectors.join("spec-examples/keys/issuer_key.public.jwk.json");
    let trust = format!("{}=high@https://example.com/issuer", key.display());
    let args = ["--trust", &trust, "--now", "2025-06-01T00:00:00Z"];
    let presentation =
        std::fs::read_to_string(vectors.join("spec-rendered/02/sd_jwt_presentation.txt")).unwrap();
    let presentation = presentation.trim();
    // The published presentation verifies as it is (so what follows is the header's doing).
    let (exit, report) = run("es256", &args, presentation);
    assert_eq!(exit, 0, "{report}");

    let (_, rest) = presentation.split_once('.').unwrap();
    for alg in ["RS256", "PS256"] {
        let header = json!({"alg": alg, "typ": "dc+sd-jwt"});
        let token = format!("{}.{rest}", eudi_trust::b64::encode(header.to_string()));
        let (exit, report) = run(alg, &args, &token);
        assert_eq!(exit, 1, "{alg}: {report}");
        assert_eq!(report["valid"], false, "{alg}: {report}");
        let (code, message) = first_error(&report);
        assert_eq!(code, "unsupported_algorithm", "{alg}: {report}");
        assert!(message.contains(alg), "{alg}: {report}");
    }
}

#[test]
fn mdoc_issuer_auth_not_es256_is_refused_by_name() {
    let dir = shared_vectors().join("mdoc/annex-d");
    let trust = dir.join("ds_cert.pem");
    let args = [
        "--trust",
        trust.to_str().unwrap(),
        "--now",
        "2021-01-01T00:00:00Z",
    ];
    let response = std::fs::read_to_string(dir.join("device_response.hex")).unwrap();
    let response = response.trim();
    let (exit, report) = run("mdoc-es256", &args, response);
    assert_eq!(exit, 0, "{report}");

    // issuerAuth's protected header: bstr(3) {1: -7}. Rewritten to {1: -8} (EdDSA) and to
    // bstr(4) {1: -37} (PS256); every enclosing structure is counted in items, not bytes.
    const ES256_HEADER: &str = "43a10126";
    assert_eq!(response.matches(ES256_HEADER).count(), 1);
    for (name, header, alg_text) in [
        ("eddsa", "43a10127", ["EdDSA", "-8"]),
        ("ps256", "44a1013824", ["PS256", "-37"]),
    ] {
        let tampered = response.replacen(ES256_HEADER, header, 1);
        let (exit, report) = run(name, &args, &tampered);
        assert_eq!(exit, 1, "{name}: {report}");
        assert_eq!(report["valid"], false, "{name}: {report}");
        let (code, message) = first_error(&report);
        assert_eq!(code, "unsupported_algorithm", "{name}: {report}");
        assert!(
            alg_text.iter().any(|a| message.contains(a)),
            "{name}: {report}"
        );
    }
}
