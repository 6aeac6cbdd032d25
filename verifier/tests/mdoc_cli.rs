//! Black-box tests of `eudi-verifier verify` on ISO 18013-5 mdoc input: the Annex D and a
//! real-world DeviceResponse, and an mdoc issued here with a CWT status list.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

use eudi_mdoc::DeviceResponse;
use eudi_mdoc::Document;
use eudi_mdoc::IssuerSignedBuilder;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::ValidityInfo;
use eudi_status_list::Bits;
use eudi_status_list::Status;
use eudi_status_list::StatusList;
use eudi_status_list::StatusListTokenBuilder;
use eudi_status_list::StatusReference;
use eudi_trust::Algorithm;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
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
use serde_json::Value;
use serde_json::json;

const NOW: &str = "2026-06-01T00:00:00Z";
const NOW_UNIX: i64 = 1_780_272_000;
const STATUS_URI: &str = "http://127.0.0.1:9/status/mdoc/1";
const PID: &str = "eu.europa.ec.eudi.pid.1";

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/mdoc")
}

fn run(args: &[&str], input: &Path) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eudi-verifier"))
        .arg("verify")
        .args(args)
        .arg(input)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn code(report: &Value) -> &str {
    report["errors"][0]["code"].as_str().unwrap_or("")
}

#[test]
fn annex_d_device_response_verifies_on_the_issuer_side() {
    let dir = vectors().join("annex-d");
    let trust = dir.join("ds_cert.pem");
    let (exit, report, err) = run(
        &[
            "--trust",
            trust.to_str().unwrap(),
            "--now",
            "2021-01-01T00:00:00Z",
        ],
        &dir.join("device_response.hex"),
    );
    assert_eq!(exit, 0, "{report} {err}");
    assert_eq!(report["format"], "mso_mdoc");
    assert_eq!(report["credential_type"], "org.iso.18013.5.1.mDL");
    assert_eq!(report["claims"]["org.iso.18013.5.1"]["family_name"], "Doe");
    assert_eq!(
        report["claims"]["org.iso.18013.5.1"]["issue_date"],
        "2019-10-20"
    );
    // deviceMac needs the reader's key; without a transcript device auth is not claimed.
    assert_eq!(report["holder_binding"], false);

    // After the DS certificate expired.
    let (exit, report, _) = run(
        &[
            "--trust",
            trust.to_str().unwrap(),
            "--now",
            "2022-01-01T00:00:00Z",
        ],
        &dir.join("device_response.hex"),
    );
    assert_eq!(exit, 1);
    assert_eq!(code(&report), "untrusted_issuer");
}

#[test]
fn real_world_response_verifies_with_its_session_transcript() {
    let dir = vectors().join("real-world/google");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let st = expected["expected"]["session_transcript_cbor_hex"]
        .as_str()
        .unwrap();
    let trust = dir.join("signing_certificate.pem");
    let base = [
        "--trust",
        trust.to_str().unwrap(),
        "--now",
        "2025-02-20T00:00:00Z",
    ];
    let mut args = base.to_vec();
    args.extend(["--session-transcript", st]);
    let (exit, report, err) = run(&args, &dir.join("device_response.b64url.txt"));
    assert_eq!(exit, 0, "{report} {err}");
    assert_eq!(report["holder_binding"], true);
    assert_eq!(
        report["claims"]["org.iso.18013.5.1"]["family_name"],
        "Smith"
    );

    // The same response bound to another transcript (another verifier's handover) fails.
    let mut args = base.to_vec();
    args.extend([
        "--handover",
        "x509_san_dns:rp.example,nonce,https://rp.example/post",
    ]);
    let (exit, report, _) = run(&args, &dir.join("device_response.b64url.txt"));
    assert_eq!(exit, 1);
    assert_eq!(code(&report), "invalid_key_binding", "{report}");

    // A nonce and audience cannot bind an mdoc: that takes a transcript.
    let mut args = base.to_vec();
    args.extend(["--nonce", "n", "--aud", "a"]);
    let (exit, report, _) = run(&args, &dir.join("device_response.b64url.txt"));
    assert_eq!(exit, 1);
    assert_eq!(code(&report), "key_binding_required");
}

struct Issued {
    iaca_pem: String,
    ds_der: Vec<u8>,
    ds_key: SoftwareKey,
    device: SoftwareKey,
}

fn pki() -> Issued {
    pki_with(BasicConstraints::Constrained(0))
}

/// An IACA with these basic constraints (Annex B.1.2: `pathLenConstraint` 0), and a DS.
fn pki_with(constraints: BasicConstraints) -> Issued {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Test IACA DK");
    dn.push(DnType::CountryName, "DK");
    let mut iaca = CertificateParams::new(vec![]).unwrap();
    iaca.distinguished_name = dn;
    iaca.is_ca = IsCa::Ca(constraints);
    iaca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    iaca.not_before = date_time_ymd(2025, 1, 1);
    iaca.not_after = date_time_ymd(2035, 1, 1);
    let iaca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let iaca_cert = iaca.self_signed(&iaca_key).unwrap();

    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Test DS DK");
    dn.push(DnType::CountryName, "DK");
    let mut ds = CertificateParams::new(vec![]).unwrap();
    ds.distinguished_name = dn;
    ds.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    ds.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![1, 0, 18013, 5, 1, 2])];
    ds.not_before = date_time_ymd(2026, 1, 1);
    ds.not_after = date_time_ymd(2027, 1, 1);
    let ds_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let ds_cert = ds
        .signed_by(&ds_key, &Issuer::from_params(&iaca, &iaca_key))
        .unwrap();
    Issued {
        iaca_pem: iaca_cert.pem(),
        ds_der: ds_cert.der().to_vec(),
        ds_key: SoftwareKey::from_pkcs8_der(Algorithm::Es256, &ds_key.serialize_der()).unwrap(),
        device: SoftwareKey::generate(Algorithm::Es256).unwrap(),
    }
}

async fn mdoc_presentation(p: &Issued, idx: u64, st: &SessionTranscript) -> String {
    DeviceResponse::new(vec![pid_document(p, idx, st).await]).to_hex()
}

async fn pid_document(p: &Issued, idx: u64, st: &SessionTranscript) -> Document {
    let t = |unix: i64| time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    let validity = ValidityInfo::new(t(NOW_UNIX - 60), t(NOW_UNIX - 60), t(NOW_UNIX + 86_400));
    let issued = IssuerSignedBuilder::new(PID, p.device.verifying_key(), validity)
        .element(PID, "issuing_country", ciborium::Value::Text("DK".into()))
        .element(PID, "given_name", ciborium::Value::Text("Karen".into()))
        .element(PID, "family_name", ciborium::Value::Text("Hansen".into()))
        .element(
            PID,
            "birth_date",
            ciborium::Value::Tag(1004, Box::new(ciborium::Value::Text("1990-04-01".into()))),
        )
        .status(StatusReference {
            idx,
            uri: STATUS_URI.into(),
        })
        .sign(&p.ds_key, &[&p.ds_der])
        .await
        .unwrap();
    let chosen = issued.select(&[(PID, "given_name"), (PID, "birth_date")]);
    Document::with_device_signature(chosen, st, &p.device)
        .await
        .unwrap()
}

const MDL: &str = "org.iso.18013.5.1.mDL";
const MDL_NS: &str = "org.iso.18013.5.1";

/// A second document of another docType, with a `given_name` of its own.
async fn mdl_document(p: &Issued, st: &SessionTranscript) -> Document {
    let t = |unix: i64| time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    let validity = ValidityInfo::new(t(NOW_UNIX - 60), t(NOW_UNIX - 60), t(NOW_UNIX + 86_400));
    let issued = IssuerSignedBuilder::new(MDL, p.device.verifying_key(), validity)
        .element(
            MDL_NS,
            "issuing_country",
            ciborium::Value::Text("DK".into()),
        )
        .element(MDL_NS, "given_name", ciborium::Value::Text("Other".into()))
        .sign(&p.ds_key, &[&p.ds_der])
        .await
        .unwrap();
    let chosen = issued.select(&[(MDL_NS, "given_name")]);
    Document::with_device_signature(chosen, st, &p.device)
        .await
        .unwrap()
}

async fn status_cwt(p: &Issued, revoked: u64) -> Vec<u8> {
    let mut list = StatusList::new(Bits::One, 64).unwrap();
    list.set_status(revoked, Status::Invalid).unwrap();
    StatusListTokenBuilder::new(STATUS_URI, &list, NOW_UNIX - 30)
        .ttl(600)
        .x5c(vec![p.ds_der.clone()])
        .sign_cwt(&p.ds_key)
        .await
        .unwrap()
}

struct Files(PathBuf);
impl Files {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("eudi-mdoc-cli-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn put(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}
impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn issued_mdoc_with_handover_level_and_cwt_status() {
    let p = pki();
    let handover = "x509_san_dns:rp.example,n-42,https://rp.example/post";
    let st = SessionTranscript::openid4vp(
        "x509_san_dns:rp.example",
        "n-42",
        None,
        "https://rp.example/post",
    );
    let files = Files::new("status");
    let iaca = files.put("iaca.pem", p.iaca_pem.as_bytes());
    let status = files.put("status.cwt", &status_cwt(&p, 5).await);
    let valid = files.put("valid.hex", mdoc_presentation(&p, 1, &st).await.as_bytes());
    let revoked = files.put(
        "revoked.hex",
        mdoc_presentation(&p, 5, &st).await.as_bytes(),
    );
    let trust = format!("{}=high", iaca.display());
    let args = [
        "--trust",
        &trust,
        "--now",
        NOW,
        "--handover",
        handover,
        "--status-list",
        status.to_str().unwrap(),
    ];

    let (exit, report, err) = run(&args, &valid);
    assert_eq!(exit, 0, "{report} {err}");
    assert_eq!(
        report["claims"],
        json!({PID: {"given_name": "Karen", "birth_date": "1990-04-01"}})
    );
    assert_eq!(report["assurance_level"], "high");
    assert_eq!(report["holder_binding"], true);
    assert_eq!(report["status"], "valid");
    assert_eq!(report["issuer"], "C=DK,CN=Test DS DK");

    let (exit, report, _) = run(&args, &revoked);
    assert_eq!(exit, 1);
    assert_eq!(code(&report), "revoked");

    // Another verifier's nonce.
    let mut other = args.to_vec();
    other[5] = "x509_san_dns:rp.example,other-nonce,https://rp.example/post";
    let (exit, report, _) = run(&other, &valid);
    assert_eq!(exit, 1);
    assert_eq!(code(&report), "invalid_key_binding");

    // Untrusted IACA.
    let stranger = pki();
    let other_iaca = files.put("other.pem", stranger.iaca_pem.as_bytes());
    let (exit, report, _) = run(
        &[
            "--trust",
            other_iaca.to_str().unwrap(),
            "--now",
            NOW,
            "--no-status",
        ],
        &valid,
    );
    assert_eq!(exit, 1);
    assert_eq!(code(&report), "untrusted_issuer");
}

#[test]
fn bad_handover_is_a_usage_error() {
    let files = Files::new("usage");
    let input = files.put("x.hex", b"a0");
    let (exit, _, err) = run(&["--handover", "only,two"], &input);
    assert_eq!(exit, 2);
    assert!(err.contains("--handover"), "{err}");
    let (exit, _, err) = run(&["--session-transcript", "zz"], &input);
    assert_eq!(exit, 2);
    assert!(err.contains("--session-transcript"), "{err}");
}

fn transcript() -> (&'static str, SessionTranscript) {
    (
        "x509_san_dns:rp.example,n-42,https://rp.example/post",
        SessionTranscript::openid4vp(
            "x509_san_dns:rp.example",
            "n-42",
            None,
            "https://rp.example/post",
        ),
    )
}

#[tokio::test]
async fn two_documents_are_reported_apart() {
    let p = pki();
    let (handover, st) = transcript();
    let files = Files::new("two-docs");
    let iaca = files.put("iaca.pem", p.iaca_pem.as_bytes());
    let response = DeviceResponse::new(vec![
        pid_document(&p, 1, &st).await,
        mdl_document(&p, &st).await,
    ]);
    let input = files.put("two.hex", response.to_hex().as_bytes());
    let (exit, report, err) = run(
        &[
            "--trust",
            iaca.to_str().unwrap(),
            "--now",
            NOW,
            "--handover",
            handover,
            "--no-status",
        ],
        &input,
    );
    assert_eq!(exit, 0, "{report} {err}");
    // Nothing merged: each document keeps its own claims.
    assert_eq!(report["claims"], json!({}));
    let docs = report["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["credential_type"], PID);
    assert_eq!(docs[0]["claims"][PID]["given_name"], "Karen");
    assert_eq!(docs[1]["credential_type"], MDL);
    assert_eq!(docs[1]["claims"], json!({MDL_NS: {"given_name": "Other"}}));
    assert_eq!(report["holder_binding"], true);
    assert_eq!(report["issuer"], "C=DK,CN=Test DS DK");
}

#[tokio::test]
async fn an_sd_jwt_anchor_never_validates_an_mdoc() {
    let (handover, st) = transcript();
    let files = Files::new("purpose");
    // Labelled for SD-JWT VC: not an IACA, whatever it looks like.
    let p = pki();
    let iaca = files.put("iaca.pem", p.iaca_pem.as_bytes());
    let input = files.put("p.hex", mdoc_presentation(&p, 1, &st).await.as_bytes());
    let args = |trust: &str| {
        vec![
            "--trust".to_owned(),
            trust.to_owned(),
            "--now".into(),
            NOW.into(),
            "--handover".into(),
            handover.into(),
            "--no-status".into(),
        ]
    };
    let a = args(&format!("sd-jwt:{}", iaca.display()));
    let (exit, report, _) = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &input);
    assert_eq!(exit, 1, "{report}");
    assert_eq!(code(&report), "untrusted_issuer");

    // Unlabelled, a CA without the IACA shape (no pathLenConstraint 0) is an SD-JWT VC CA;
    // labelled `mdoc:` it is an IACA.
    let p = pki_with(BasicConstraints::Unconstrained);
    let ca = files.put("ca.pem", p.iaca_pem.as_bytes());
    let input = files.put("q.hex", mdoc_presentation(&p, 1, &st).await.as_bytes());
    let a = args(ca.to_str().unwrap());
    let (exit, report, _) = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &input);
    assert_eq!(exit, 1, "{report}");
    assert_eq!(code(&report), "untrusted_issuer");
    let a = args(&format!("mdoc:{}", ca.display()));
    let (exit, report, err) = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &input);
    assert_eq!(exit, 0, "{report} {err}");
}

#[tokio::test]
async fn a_status_list_under_another_iaca_is_not_used() {
    let p = pki();
    let stranger = pki();
    let (handover, st) = transcript();
    let files = Files::new("status-other-iaca");
    let iaca = files.put("iaca.pem", p.iaca_pem.as_bytes());
    let other = files.put("other.pem", stranger.iaca_pem.as_bytes());
    // A list that would say "valid", signed under another trusted IACA.
    let status = files.put("status.cwt", &status_cwt(&stranger, 5).await);
    let input = files.put("p.hex", mdoc_presentation(&p, 1, &st).await.as_bytes());
    let (exit, report, _) = run(
        &[
            "--trust",
            iaca.to_str().unwrap(),
            "--trust",
            other.to_str().unwrap(),
            "--now",
            NOW,
            "--handover",
            handover,
            "--status-list",
            status.to_str().unwrap(),
        ],
        &input,
    );
    assert_eq!(exit, 1, "{report}");
    assert_eq!(code(&report), "status_unavailable");
}

fn cbor(value: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

fn entry<'v>(map: &'v mut ciborium::Value, key: &str) -> &'v mut ciborium::Value {
    map.as_map_mut()
        .unwrap()
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
        .unwrap()
}

/// A DeviceResponse whose document carries a device-signed item, correctly device-signed
/// (ISO/IEC 18013-5 §9.1.3.4 DeviceAuthentication over DeviceNameSpacesBytes).
async fn with_device_signed_item(p: &Issued, st: &SessionTranscript) -> String {
    use ciborium::Value as C;
    let doc = pid_document(p, 1, st).await;
    let mut response: C =
        ciborium::from_reader(DeviceResponse::new(vec![doc]).to_bytes().as_slice()).unwrap();
    let documents = entry(&mut response, "documents").as_array_mut().unwrap();
    let device_signed = entry(&mut documents[0], "deviceSigned");
    let items = C::Map(vec![(
        C::Text(PID.into()),
        C::Map(vec![(
            C::Text("family_name".into()),
            C::Text("Forged".into()),
        )]),
    )]);
    let namespaces = C::Tag(24, Box::new(C::Bytes(cbor(&items))));
    let transcript: C = ciborium::from_reader(st.as_cbor()).unwrap();
    let authentication = C::Array(vec![
        C::Text("DeviceAuthentication".into()),
        transcript,
        C::Text(PID.into()),
        namespaces.clone(),
    ]);
    let authentication_bytes = cbor(&C::Tag(24, Box::new(C::Bytes(cbor(&authentication)))));
    let sign1 = entry(entry(device_signed, "deviceAuth"), "deviceSignature")
        .as_array_mut()
        .unwrap();
    let protected = sign1[0].as_bytes().unwrap().clone();
    let tbs = cbor(&C::Array(vec![
        C::Text("Signature1".into()),
        C::Bytes(protected),
        C::Bytes(Vec::new()),
        C::Bytes(authentication_bytes),
    ]));
    sign1[3] = C::Bytes(p.device.sign(&tbs).await.unwrap());
    *entry(device_signed, "nameSpaces") = namespaces;
    hex(&cbor(&response))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn device_signed_items_are_not_claims() {
    let p = pki();
    let (handover, st) = transcript();
    let files = Files::new("device-signed");
    let iaca = files.put("iaca.pem", p.iaca_pem.as_bytes());
    let input = files.put("p.hex", with_device_signed_item(&p, &st).await.as_bytes());
    let (exit, report, err) = run(
        &[
            "--trust",
            iaca.to_str().unwrap(),
            "--now",
            NOW,
            "--handover",
            handover,
            "--no-status",
        ],
        &input,
    );
    // Device authentication holds, but the holder's own word is no issuer-signed claim.
    assert_eq!(exit, 0, "{report} {err}");
    assert_eq!(report["holder_binding"], true);
    assert_eq!(
        report["claims"],
        json!({PID: {"given_name": "Karen", "birth_date": "1990-04-01"}})
    );
    assert!(!report.to_string().contains("Forged"), "{report}");
}
