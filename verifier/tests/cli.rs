//! Black-box tests of `eudi-verifier verify`: the contract in DESIGN.md (one JSON report, exit 0
//! valid / 1 invalid / 2 usage error), with an X.509 issuer chain, key binding and status lists.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

use eudi_sdjwt::ClaimPath;
use eudi_sdjwt::SdJwt;
use eudi_sdjwt::holder::KeyBindingParams;
use eudi_sdjwt::holder::{self};
use eudi_sdjwt::vc;
use eudi_status_list::Bits;
use eudi_status_list::Status;
use eudi_status_list::StatusList;
use eudi_status_list::StatusListTokenBuilder;
use eudi_trust::Algorithm;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use rcgen::BasicConstraints;
use rcgen::CertificateParams;
use rcgen::DistinguishedName;
use rcgen::DnType;
use rcgen::IsCa;
use rcgen::Issuer;
use rcgen::KeyPair;
use rcgen::KeyUsagePurpose;
use rcgen::PKCS_ECDSA_P256_SHA256;
use rcgen::SanType;
use rcgen::date_time_ymd;
use serde_json::Value;
use serde_json::json;

const NOW: &str = "2026-06-01T00:00:00Z";
const NOW_UNIX: i64 = 1_780_272_000;
const AUD: &str = "x509_san_dns:rp.example";
const NONCE: &str = "n-0S6_WzA2Mj";
const STATUS_URI: &str = "http://127.0.0.1:9/status/1";

struct Pki {
    root_pem: String,
    leaf_der: Vec<u8>,
    leaf_key: SoftwareKey,
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::CountryName, "DK");
    dn
}

/// A root CA and a document-signing leaf valid 2026-01-01 .. `leaf_to`.
fn pki(leaf_to: (i32, u8, u8)) -> Pki {
    pki_named(leaf_to, None)
}

/// [`pki`], with a leaf whose only SAN is this URI (else the DNS name issuer.example).
fn pki_named(leaf_to: (i32, u8, u8), san_uri: Option<&str>) -> Pki {
    let mut root = CertificateParams::new(vec![]).unwrap();
    root.distinguished_name = name("Test PID Root");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.not_before = date_time_ymd(2025, 1, 1);
    root.not_after = date_time_ymd(2035, 1, 1);
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let root_cert = root.self_signed(&root_key).unwrap();

    let mut leaf = CertificateParams::new(vec!["issuer.example".into()]).unwrap();
    if let Some(uri) = san_uri {
        leaf.subject_alt_names = vec![SanType::URI(uri.try_into().unwrap())];
    }
    leaf.distinguished_name = name("Test PID Issuer");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.not_before = date_time_ymd(2026, 1, 1);
    leaf.not_after = date_time_ymd(leaf_to.0, leaf_to.1, leaf_to.2);
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let issuer = Issuer::from_params(&root, &root_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        root_pem: root_cert.pem(),
        leaf_der: leaf_cert.der().to_vec(),
        leaf_key: SoftwareKey::from_pkcs8_der(Algorithm::Es256, &leaf_key.serialize_der()).unwrap(),
    }
}

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "eudi-verifier-cli-{tag}-{}-{}",
            std::process::id(),
            NOW_UNIX
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Issued {
    pki: Pki,
    holder: SoftwareKey,
    sd: SdJwt,
}

async fn issue(leaf_to: (i32, u8, u8), status_idx: Option<u64>) -> Issued {
    issue_as("https://issuer.example", leaf_to, status_idx).await
}

async fn issue_as(iss: &str, leaf_to: (i32, u8, u8), status_idx: Option<u64>) -> Issued {
    issue_under(pki(leaf_to), iss, status_idx).await
}

async fn issue_under(pki: Pki, iss: &str, status_idx: Option<u64>) -> Issued {
    let holder = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let mut claims = json!({
        "given_name": "Karen",
        "family_name": "Hansen",
        "birthdate": "1990-04-01",
        "address": {"locality": "Aarhus", "postal_code": "8000"},
        "exp": NOW_UNIX + 86_400,
    });
    if let Some(idx) = status_idx {
        claims["status"] = json!({"status_list": {"idx": idx, "uri": STATUS_URI}});
    }
    let sd = vc::builder(
        "urn:eudi:pid:1",
        iss,
        NOW_UNIX - 3600,
        claims.as_object().unwrap().clone(),
    )
    .holder_key(&holder.verifying_key().to_jwk())
    .unwrap()
    .x5c(&[&pki.leaf_der])
    .sign(&pki.leaf_key)
    .await
    .unwrap();
    Issued { pki, holder, sd }
}

async fn present(issued: &Issued, nonce: &str) -> String {
    let chosen = holder::select(
        &issued.sd,
        &[
            ClaimPath::keys(["given_name"]),
            ClaimPath::keys(["address", "locality"]),
        ],
    )
    .unwrap();
    let params = KeyBindingParams {
        audience: AUD.into(),
        nonce: nonce.into(),
        iat: NOW_UNIX - 5,
    };
    holder::add_key_binding(chosen, &issued.holder, &params)
        .await
        .unwrap()
        .to_compact()
        .unwrap()
}

async fn status_list_token(issued: &Issued, statuses: &[(u64, Status)]) -> String {
    let mut list = StatusList::new(Bits::Two, 64).unwrap();
    for (idx, s) in statuses {
        list.set_status(*idx, *s).unwrap();
    }
    StatusListTokenBuilder::new(STATUS_URI, &list, NOW_UNIX - 60)
        .ttl(3600)
        .x5c(vec![issued.pki.leaf_der.clone()])
        .sign_jwt(&issued.pki.leaf_key)
        .await
        .unwrap()
}

fn run(args: &[&str], input: &Path) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eudi-verifier"))
        .arg("verify")
        .args(args)
        .arg(input)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, stderr)
}

fn first_error_code(report: &Value) -> &str {
    report["errors"][0]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn valid_presentation_with_x5c_chain_key_binding_and_status() {
    let issued = issue((2027, 1, 1), Some(3)).await;
    let dir = Dir::new("valid");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let status = dir.write(
        "status.jwt",
        &status_list_token(&issued, &[(4, Status::Invalid)]).await,
    );
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let trust = format!("{}=substantial", root.display());
    let (code, report, stderr) = run(
        &[
            "--trust",
            &trust,
            "--nonce",
            NONCE,
            "--aud",
            AUD,
            "--now",
            NOW,
            "--status-list",
            status.to_str().unwrap(),
        ],
        &p,
    );
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["valid"], true);
    assert_eq!(report["format"], "dc+sd-jwt");
    assert_eq!(report["issuer"], "https://issuer.example");
    assert_eq!(
        report["claims"],
        json!({"given_name": "Karen", "address": {"locality": "Aarhus"}})
    );
    assert_eq!(report["assurance_level"], "substantial");
    assert_eq!(report["holder_binding"], true);
    assert_eq!(report["errors"], json!([]));
    assert!(report["status"].is_string());
}

#[tokio::test]
async fn untrusted_chain_is_rejected() {
    let issued = issue((2027, 1, 1), None).await;
    let other = pki((2027, 1, 1));
    let dir = Dir::new("untrusted");
    let root = dir.write("other-root.pem", &other.root_pem);
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let (code, report, _) = run(&["--trust", root.to_str().unwrap(), "--now", NOW], &p);
    assert_eq!(code, 1);
    assert_eq!(report["valid"], false);
    assert_eq!(first_error_code(&report), "untrusted_issuer");
}

#[tokio::test]
async fn expired_chain_is_rejected() {
    // The leaf certificate expired before NOW, although the credential itself has not.
    let issued = issue((2026, 3, 1), None).await;
    let dir = Dir::new("expired-chain");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let (code, report, _) = run(&["--trust", root.to_str().unwrap(), "--now", NOW], &p);
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "untrusted_issuer");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{report}"
    );
}

/// Verifies a presentation of status index 3 against a list where index 3 has `status`.
async fn verify_with_status(tag: &str, status: Status) -> (i32, Value) {
    let issued = issue((2027, 1, 1), Some(3)).await;
    let dir = Dir::new(tag);
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let list = dir.write(
        "status.jwt",
        &status_list_token(&issued, &[(3, status)]).await,
    );
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let (code, report, _) = run(
        &[
            "--trust",
            root.to_str().unwrap(),
            "--now",
            NOW,
            "--status-list",
            list.to_str().unwrap(),
        ],
        &p,
    );
    (code, report)
}

#[tokio::test]
async fn revoked_credential_is_rejected() {
    let (code, report) = verify_with_status("revoked", Status::Invalid).await;
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "revoked");
}

#[tokio::test]
async fn suspended_credential_is_rejected() {
    let (code, report) = verify_with_status("suspended", Status::Suspended).await;
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "suspended");
}

#[tokio::test]
async fn application_specific_status_is_not_valid() {
    let (code, report) = verify_with_status("app-specific", Status::ApplicationSpecific(3)).await;
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "invalid_credential");
}

#[tokio::test]
async fn unreachable_status_list_is_reported_and_no_status_skips_it() {
    let issued = issue((2027, 1, 1), Some(3)).await;
    let dir = Dir::new("status-unavailable");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    // Port 9 on loopback: nothing listens, the fetch fails fast.
    let (code, report, _) = run(&["--trust", root.to_str().unwrap(), "--now", NOW], &p);
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "status_unavailable");
    let (code, report, _) = run(
        &[
            "--trust",
            root.to_str().unwrap(),
            "--now",
            NOW,
            "--no-status",
        ],
        &p,
    );
    assert_eq!(code, 0, "{report}");
}

#[tokio::test]
async fn status_list_signed_by_an_untrusted_key_is_not_used() {
    let issued = issue((2027, 1, 1), Some(3)).await;
    let forger = issue((2027, 1, 1), None).await;
    let dir = Dir::new("status-forged");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    // A "valid" status list, but made under another root.
    let status = dir.write("status.jwt", &status_list_token(&forger, &[]).await);
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let (code, report, _) = run(
        &[
            "--trust",
            root.to_str().unwrap(),
            "--now",
            NOW,
            "--status-list",
            status.to_str().unwrap(),
        ],
        &p,
    );
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "status_unavailable");
}

#[tokio::test]
async fn wrong_nonce_is_rejected() {
    let issued = issue((2027, 1, 1), None).await;
    let dir = Dir::new("nonce");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let p = dir.write("p.txt", &present(&issued, "replayed-nonce").await);
    let (code, report, _) = run(
        &[
            "--trust",
            root.to_str().unwrap(),
            "--nonce",
            NONCE,
            "--aud",
            AUD,
            "--now",
            NOW,
        ],
        &p,
    );
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "invalid_key_binding");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nonce")
    );
}

#[tokio::test]
async fn tampered_signature_is_rejected() {
    let issued = issue((2027, 1, 1), None).await;
    let dir = Dir::new("tampered");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let presentation = present(&issued, NONCE).await;
    // Flip one character of the issuer signature.
    let sig_end = presentation.find('~').unwrap();
    let mut bytes = presentation.into_bytes();
    bytes[sig_end - 2] = if bytes[sig_end - 2] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let p = dir.write("p.txt", &String::from_utf8(bytes).unwrap());
    let (code, report, _) = run(&["--trust", root.to_str().unwrap(), "--now", NOW], &p);
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "invalid_signature");
}

#[test]
fn jwk_trust_file_and_published_vector() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/sd-jwt-vc");
    let key = vectors.join("spec-examples/keys/issuer_key.public.jwk.json");
    let p = vectors.join("spec-rendered/02/sd_jwt_presentation.txt");
    let (code, report, _) = run(
        &[
            "--trust",
            &format!("{}=high@https://example.com/issuer", key.display()),
            "--now",
            "2025-06-01T00:00:00Z",
        ],
        &p,
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["issuer"], "https://example.com/issuer");
    assert_eq!(report["assurance_level"], "high");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors.join("spec-rendered/02/verified_contents.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["claims"]["address"], expected["address"]);
    assert!(
        report["claims"].get("vct").is_none(),
        "credential metadata is not a user claim"
    );
    assert!(!report.to_string().contains("_sd"));
}

#[tokio::test]
async fn nothing_trusted_is_untrusted() {
    let issued = issue((2027, 1, 1), None).await;
    let dir = Dir::new("no-trust");
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let (code, report, _) = run(&["--now", NOW], &p);
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "untrusted_issuer");
}

#[test]
fn garbage_input_is_an_invalid_report_not_a_crash() {
    let dir = Dir::new("garbage");
    for (i, junk) in ["", "~~~", "{\"payload\":1}", "a.b.c~", "\u{0}\u{1}binary"]
        .iter()
        .enumerate()
    {
        let p = dir.write(&format!("junk{i}.txt"), junk);
        let (code, report, _) = run(&["--now", NOW], &p);
        assert_eq!(code, 1, "{junk:?}");
        assert_eq!(report["valid"], false);
        // Garbage is no credential of a guessed format.
        assert_eq!(report["format"], Value::Null, "{junk:?}");
        assert!(!first_error_code(&report).is_empty());
    }
}

#[test]
fn usage_errors_exit_2_with_a_reason() {
    let dir = Dir::new("usage");
    let p = dir.write("p.txt", "x~");
    let (code, _, stderr) = run(&["--trust", "/nonexistent/trust.pem"], &p);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/trust.pem"), "{stderr}");
    let (code, _, stderr) = run(&["--now", "yesterday"], &p);
    assert_eq!(code, 2);
    assert!(stderr.contains("RFC 3339"), "{stderr}");
    let (code, _, _) = run(&[], Path::new("/nonexistent/presentation"));
    assert_eq!(code, 2);
    let trust = dir.write("k.pem", "not a key");
    let (code, _, stderr) = run(&["--trust", &format!("{}=medium", trust.display())], &p);
    assert_eq!(code, 2);
    assert!(stderr.contains("medium"), "{stderr}");
}

#[test]
fn general_json_serialization_with_two_issuer_signatures() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/sd-jwt");
    let key = |file: &str, kid: &str| {
        let mut jwk: Value =
            serde_json::from_str(&std::fs::read_to_string(vectors.join(file)).unwrap()).unwrap();
        jwk["kid"] = json!(kid);
        jwk
    };
    let dir = Dir::new("general-json");
    let both = json!({"keys": [
        key("spec-examples/keys/issuer_key.public.jwk.json", "issuer-key-1"),
        key("spec-examples/keys/issuer_key_2.public.jwk.json", "issuer-key-2"),
    ]});
    let jwks = dir.write("issuers.jwks.json", &both.to_string());
    let only_first =
        json!({"keys": [key("spec-examples/keys/issuer_key.public.jwk.json", "issuer-key-1")]});
    let one = dir.write("issuer1.jwks.json", &only_first.to_string());
    let p = vectors.join("spec-rendered/json_serialization_general/sd_jwt_presentation.json");
    let args = |trust: &Path| {
        vec![
            "--trust".to_owned(),
            format!("{}@https://issuer.example.com", trust.display()),
            "--nonce".into(),
            "1234567890".into(),
            "--aud".into(),
            "https://verifier.example.org".into(),
            "--now".into(),
            "2025-05-29T16:41:10Z".into(),
        ]
    };
    let a = args(&jwks);
    let (code, report, err) = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &p);
    assert_eq!(code, 0, "{report} {err}");
    assert_eq!(report["format"], "sd-jwt");
    assert_eq!(report["holder_binding"], true);
    // The second signature's key is not trusted: the presentation is not valid.
    let a = args(&one);
    let (code, report, _) = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &p);
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "untrusted_issuer", "{report}");
}

#[test]
fn general_json_verifies_whatever_the_order_of_trust() {
    // Keys without `kid`: every configured key is a candidate for every signature.
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/sd-jwt");
    let keys = vectors.join("spec-examples/keys");
    let first = format!(
        "{}@https://issuer.example.com",
        keys.join("issuer_key.public.jwk.json").display()
    );
    let second = format!(
        "{}@https://issuer.example.com",
        keys.join("issuer_key_2.public.jwk.json").display()
    );
    let p = vectors.join("spec-rendered/json_serialization_general/sd_jwt_presentation.json");
    for order in [[&first, &second], [&second, &first]] {
        let (code, report, err) = run(
            &[
                "--trust",
                order[0],
                "--trust",
                order[1],
                "--now",
                "2025-05-29T16:41:10Z",
            ],
            &p,
        );
        assert_eq!(code, 0, "{order:?}: {report} {err}");
    }
}

#[test]
fn an_unbound_or_foreign_key_does_not_vouch_for_an_issuer() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/sd-jwt-vc");
    let key = vectors.join("spec-examples/keys/issuer_key.public.jwk.json");
    let p = vectors.join("spec-rendered/02/sd_jwt_presentation.txt");
    for spec in [
        key.display().to_string(),
        format!("{}@https://example.com/other-issuer", key.display()),
        format!("{}@https://example.com/issue", key.display()),
    ] {
        let (code, report, _) = run(&["--trust", &spec, "--now", "2025-06-01T00:00:00Z"], &p);
        assert_eq!(code, 1, "{spec}: {report}");
        assert_eq!(first_error_code(&report), "untrusted_issuer", "{spec}");
    }
    // A JWK Set naming its issuer beside the keys binds them too.
    let dir = Dir::new("jwks-iss");
    let jwk: Value = serde_json::from_str(&std::fs::read_to_string(&key).unwrap()).unwrap();
    let set = dir.write(
        "set.json",
        &json!({"iss": "https://example.com/issuer", "keys": [jwk]}).to_string(),
    );
    let (code, report, _) = run(
        &[
            "--trust",
            set.to_str().unwrap(),
            "--now",
            "2025-06-01T00:00:00Z",
        ],
        &p,
    );
    assert_eq!(code, 0, "{report}");
}

#[tokio::test]
async fn x5c_leaf_must_name_the_issuer() {
    // The leaf's only SAN is the DNS name issuer.example.
    for iss in [
        "https://other.example",
        "https://issuer.example.evil",
        "https://evil.issuer.example",
        "http://issuer.example",
    ] {
        let issued = issue_as(iss, (2027, 1, 1), None).await;
        let dir = Dir::new("x5c-iss");
        let root = dir.write("root.pem", &issued.pki.root_pem);
        let p = dir.write("p.txt", &present(&issued, NONCE).await);
        let (code, report, _) = run(&["--trust", root.to_str().unwrap(), "--now", NOW], &p);
        assert_eq!(code, 1, "{iss}: {report}");
        assert_eq!(first_error_code(&report), "untrusted_issuer", "{iss}");
    }
}

#[tokio::test]
async fn an_mdoc_anchor_never_validates_an_sd_jwt_chain() {
    let issued = issue((2027, 1, 1), None).await;
    let dir = Dir::new("purpose");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let (code, report, _) = run(
        &["--trust", &format!("mdoc:{}", root.display()), "--now", NOW],
        &p,
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(first_error_code(&report), "untrusted_issuer");
    let (code, report, _) = run(
        &[
            "--trust",
            &format!("sd-jwt:{}", root.display()),
            "--now",
            NOW,
        ],
        &p,
    );
    assert_eq!(code, 0, "{report}");
}

#[tokio::test]
async fn holder_binding_needs_both_nonce_and_aud() {
    let issued = issue((2027, 1, 1), None).await;
    let dir = Dir::new("binding");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let trust = root.to_str().unwrap();
    for half in [["--nonce", NONCE], ["--aud", AUD]] {
        let (code, _, stderr) = run(&["--trust", trust, "--now", NOW, half[0], half[1]], &p);
        assert_eq!(code, 2, "{half:?}: {stderr}");
    }
    // The KB-JWT is there and checked, but nothing tied it to a transaction.
    let (code, report, _) = run(&["--trust", trust, "--now", NOW], &p);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["holder_binding"], false);
}

#[tokio::test]
async fn a_supplied_status_list_for_another_uri_is_an_error() {
    let issued = issue((2027, 1, 1), Some(3)).await;
    let dir = Dir::new("status-other-uri");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let mut list = StatusList::new(Bits::Two, 64).unwrap();
    list.set_status(0, Status::Valid).unwrap();
    let token =
        StatusListTokenBuilder::new("https://issuer.example/status/other", &list, NOW_UNIX - 60)
            .ttl(3600)
            .x5c(vec![issued.pki.leaf_der.clone()])
            .sign_jwt(&issued.pki.leaf_key)
            .await
            .unwrap();
    let status = dir.write("status.jwt", &token);
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let (code, report, _) = run(
        &[
            "--trust",
            root.to_str().unwrap(),
            "--now",
            NOW,
            "--status-list",
            status.to_str().unwrap(),
        ],
        &p,
    );
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "status_unavailable");
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("no supplied status list"), "{message}");
}

#[test]
fn input_that_is_not_utf8_or_too_large_is_a_report() {
    let dir = Dir::new("bytes");
    let p = dir.0.join("binary");
    std::fs::write(&p, [0xa1, 0xff, 0xfe, 0x00]).unwrap();
    let (code, report, stderr) = run(&["--now", NOW], &p);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["format"], Value::Null);
    assert_eq!(first_error_code(&report), "malformed");
    let big = dir.0.join("big");
    std::fs::write(&big, vec![b'a'; 4 * 1024 * 1024 + 1]).unwrap();
    let (code, report, _) = run(&["--now", NOW], &big);
    assert_eq!(code, 1);
    assert_eq!(first_error_code(&report), "too_large");
}

#[tokio::test]
async fn a_closed_stdout_ends_quietly() {
    use std::process::Stdio;
    let issued = issue((2027, 1, 1), None).await;
    let dir = Dir::new("pipe");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let mut child = Command::new(env!("CARGO_BIN_EXE_eudi-verifier"))
        .args(["verify", "--trust", root.to_str().unwrap(), "--now", NOW])
        .arg(&p)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the report is written, as `| head -c0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn allow_private_network_is_accepted() {
    let issued = issue((2027, 1, 1), None).await;
    let dir = Dir::new("private");
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let p = dir.write("p.txt", &present(&issued, NONCE).await);
    let (code, report, _) = run(
        &[
            "--trust",
            root.to_str().unwrap(),
            "--now",
            NOW,
            "--allow-private-network",
        ],
        &p,
    );
    assert_eq!(code, 0, "{report}");
}

#[tokio::test]
async fn a_uri_san_names_exactly_its_issuer() {
    const URI: &str = "https://issuer.example/pid";
    for (iss, valid) in [
        (URI, true),
        ("https://issuer.example/pid/other", false),
        ("https://issuer.example/pi", false),
        // The host is no DNS SAN of this leaf.
        ("https://issuer.example", false),
    ] {
        let issued = issue_under(pki_named((2027, 1, 1), Some(URI)), iss, None).await;
        let dir = Dir::new("uri-san");
        let root = dir.write("root.pem", &issued.pki.root_pem);
        let p = dir.write("p.txt", &present(&issued, NONCE).await);
        let (code, report, _) = run(&["--trust", root.to_str().unwrap(), "--now", NOW], &p);
        if valid {
            assert_eq!(code, 0, "{iss}: {report}");
            assert_eq!(report["issuer"], iss);
        } else {
            assert_eq!(code, 1, "{iss}: {report}");
            assert_eq!(first_error_code(&report), "untrusted_issuer", "{iss}");
        }
    }
}

#[tokio::test]
async fn issuer_metadata_binds_its_keys_and_conflicts_are_usage_errors() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/sd-jwt-vc");
    let key = vectors.join("spec-examples/keys/issuer_key.public.jwk.json");
    let p = vectors.join("spec-rendered/02/sd_jwt_presentation.txt");
    let jwk: Value = serde_json::from_str(&std::fs::read_to_string(&key).unwrap()).unwrap();
    let dir = Dir::new("metadata");
    // JWT VC Issuer Metadata (SD-JWT VC §5).
    let metadata = dir.write(
        "jwt-vc-issuer.json",
        &json!({"issuer": "https://example.com/issuer", "jwks": {"keys": [jwk.clone()]}})
            .to_string(),
    );
    let now = ["--now", "2025-06-01T00:00:00Z"];
    let (code, report, _) = run(
        &[&["--trust", metadata.to_str().unwrap()][..], &now].concat(),
        &p,
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["issuer"], "https://example.com/issuer");

    // The file names one issuer, the argument another.
    let conflict = format!("{}@https://example.com/other", metadata.display());
    let (code, _, stderr) = run(&[&["--trust", conflict.as_str()][..], &now].concat(), &p);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("https://example.com/other"), "{stderr}");

    // A certificate names its issuer itself; a label is for certificates.
    let issued = issue((2027, 1, 1), None).await;
    let root = dir.write("root.pem", &issued.pki.root_pem);
    let bound_pem = format!("{}@https://issuer.example", root.display());
    let (code, _, stderr) = run(&[&["--trust", bound_pem.as_str()][..], &now].concat(), &p);
    assert_eq!(code, 2, "{stderr}");
    let labelled_key = format!("mdoc:{}", key.display());
    let (code, _, stderr) = run(
        &[&["--trust", labelled_key.as_str()][..], &now].concat(),
        &p,
    );
    assert_eq!(code, 2, "{stderr}");
}
