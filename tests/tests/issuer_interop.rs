//! A wallet library nobody here wrote, `@openid4vc/openid4vci` 0.4.6 (npm), receives the PID
//! from `eudi-issuer` over the pre-authorized code flow with `tx_code` and DPoP, a batch of 3 in
//! both formats; what it receives verifies with `@sd-jwt/*` 0.19 and `@animo-id/mdoc` (other
//! people's verifiers) and with `eudi-verifier verify` against what `eudi-issuer trust-anchors`
//! prints (issue 9, "Tests that must pass in CI").
//!
//! The issuer runs as a process on its embedded defaults (SQLite and a development PKI in a fresh
//! data dir), exactly as DESIGN.md's `serve` contract says an operator starts it.

use std::collections::BTreeSet;
use std::error::Error;

use eudi_tests::process::Service;
use eudi_tests::process::TempDir;
use eudi_tests::process::run;
use eudi_tests::run_node;
use serde_json::Value;
use serde_json::json;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const ISSUER: &str = "eudi-issuer";
const VERIFIER: &str = "eudi-verifier";

/// The issuer on a fresh data dir, and the PEM of its trust anchors in a file beside it.
struct Issuer {
    data: TempDir,
    service: Service,
    anchors_file: String,
    anchors_pem: String,
}

fn start_issuer(prefix: &str) -> Result<Issuer> {
    let data = TempDir::new(prefix)?;
    let service = Service::start(
        ISSUER,
        &[
            "serve",
            "--data-dir",
            data.as_str(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    )?;
    let anchors = run(ISSUER, &["trust-anchors", "--data-dir", data.as_str()], "")?;
    if anchors.code != Some(0) {
        return Err(format!("trust-anchors failed: {}", anchors.stderr).into());
    }
    let anchors_file = data.path().join("anchors.pem");
    std::fs::write(&anchors_file, &anchors.stdout)?;
    Ok(Issuer {
        anchors_file: anchors_file.display().to_string(),
        anchors_pem: anchors.stdout,
        data,
        service,
    })
}

impl Issuer {
    /// `eudi-issuer offer --identity USER --json`: the link and the transaction code.
    fn offer(&self, identity: &str) -> Result<(String, String)> {
        let out = run(
            ISSUER,
            &[
                "offer",
                "--identity",
                identity,
                "--json",
                "--data-dir",
                self.data.as_str(),
            ],
            "",
        )?;
        if out.code != Some(0) {
            return Err(format!("offer --identity {identity} failed: {}", out.stderr).into());
        }
        let offer: Value = serde_json::from_str(&out.stdout)?;
        let text = |name: &str| {
            offer[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("offer --json printed no {name}: {}", out.stdout))
        };
        Ok((text("offer")?, text("tx_code")?))
    }

    /// `eudi-verifier verify --trust <anchors>` of `credential`, fetching its status list from
    /// this issuer on loopback.
    fn verify(&self, credential: &str) -> Result<Value> {
        let out = run(
            VERIFIER,
            &[
                "verify",
                "--trust",
                &self.anchors_file,
                "--allow-private-network",
                "-",
            ],
            credential,
        )?;
        serde_json::from_str(&out.stdout).map_err(|e| {
            format!("verify printed no JSON ({e}): {}{}", out.stdout, out.stderr).into()
        })
    }

    /// The anchors, one PEM block each.
    fn anchor_pems(&self) -> Vec<String> {
        self.anchors_pem
            .split_inclusive("-----END CERTIFICATE-----")
            .map(str::trim)
            .filter(|p| p.starts_with("-----BEGIN CERTIFICATE-----"))
            .map(str::to_owned)
            .collect()
    }
}

fn pem_to_der_b64url(pem: &str) -> Result<String> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    Ok(eudi_trust::b64::encode(eudi_trust::b64::decode_std(
        body.trim(),
    )?))
}

#[test]
fn openid4vci_peer_receives_a_batch_of_both_pid_formats_by_pre_authorized_code() {
    let issuer = start_issuer("issuer-interop").unwrap();
    assert_eq!(
        issuer.anchor_pems().len(),
        2,
        "trust-anchors prints the IACA and the SD-JWT VC CA:\n{}",
        issuer.anchors_pem
    );
    let (offer, tx_code) = issuer.offer("substantial").unwrap();
    assert!(offer.starts_with("openid-credential-offer://"), "{offer}");

    let received = run_node(
        "openid4vci.mjs",
        "receive",
        &json!({"offer": offer, "txCode": tx_code, "batch": 3, "allowInsecure": true}),
    )
    .unwrap();
    assert_eq!(received["tokenType"], "DPoP", "a DPoP proof was sent");
    let credentials = received["credentials"].as_array().unwrap();
    let formats: Vec<&str> = credentials
        .iter()
        .map(|c| c["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats.iter().filter(|f| **f == "dc+sd-jwt").count(),
        3,
        "{formats:?}"
    );
    assert_eq!(
        formats.iter().filter(|f| **f == "mso_mdoc").count(),
        3,
        "{formats:?}"
    );
    assert_eq!(
        received["notifications"].as_array().map(Vec::len),
        Some(2),
        "a notification_id per credential response, accepted by the issuer"
    );

    let pems = issuer.anchor_pems();
    let mut status_refs = BTreeSet::new();
    for credential in credentials {
        let raw = credential["credential"].as_str().unwrap();
        // Ours, against trust-anchors, with the status list fetched from the issuer.
        let report = issuer.verify(raw).unwrap();
        assert_eq!(report["valid"], true, "{report:#}");
        assert_eq!(report["assurance_level"], "substantial", "{report:#}");
        match credential["format"].as_str().unwrap() {
            "dc+sd-jwt" => {
                assert_eq!(report["format"], "dc+sd-jwt", "{report:#}");
                assert_eq!(report["issuer"], issuer.service.url(), "{report:#}");
                let claims = &report["claims"];
                assert_eq!(claims["given_name"], "Lars", "{report:#}");
                assert_eq!(claims["family_name"], "Hansen", "{report:#}");
                assert_eq!(claims["personal_administrative_number"], "1203852459");
                // Theirs: @sd-jwt/sd-jwt-vc, the key from the x5c chain node checked itself.
                let theirs = run_node(
                    "sdjwt.mjs",
                    "verify",
                    &json!({"token": raw, "trustedCertificates": pems}),
                )
                .unwrap();
                assert_eq!(theirs["ok"], true, "{theirs:#}");
                assert_eq!(theirs["header"]["typ"], "dc+sd-jwt");
                assert_eq!(theirs["claims"]["vct"], "urn:eudi:pid:1");
                assert_eq!(theirs["claims"]["cnf"]["jwk"], credential["holderJwk"]);
                let status = &theirs["claims"]["status"]["status_list"];
                assert!(
                    status["idx"].is_u64() && status["uri"].is_string(),
                    "{theirs:#}"
                );
                assert!(
                    status_refs.insert(status.to_string()),
                    "status reused: {status}"
                );
            }
            "mso_mdoc" => {
                assert_eq!(report["format"], "mso_mdoc", "{report:#}");
                let pid = &report["claims"]["eu.europa.ec.eudi.pid.1"];
                assert_eq!(pid["given_name"], "Lars", "{report:#}");
                // Theirs: @animo-id/mdoc presents with the holder key and verifies against the
                // IACA (the anchor that is not the SD-JWT VC CA: they accept only one).
                let transcript = json!({
                    "clientId": "x509_san_dns:rp.example",
                    "nonce": "n-0S6_WzA2Mj",
                    "responseUri": "https://rp.example/response",
                });
                let presented = run_node(
                    "mdoc.mjs",
                    "present",
                    &json!({
                        "issuerSigned": raw,
                        "docType": "eu.europa.ec.eudi.pid.1",
                        "disclose": {"eu.europa.ec.eudi.pid.1": ["given_name", "birth_date"]},
                        "deviceKey": credential["holderKey"],
                        "transcript": transcript,
                    }),
                )
                .unwrap();
                let der: Vec<String> = pems.iter().map(|p| pem_to_der_b64url(p).unwrap()).collect();
                let verified = run_node(
                    "mdoc.mjs",
                    "verify",
                    &json!({
                        "deviceResponse": presented["deviceResponse"],
                        "trustedCertificates": der,
                        "transcript": transcript,
                        "now": eudi_tests::now(),
                    }),
                )
                .unwrap();
                assert_eq!(verified["ok"], true, "{verified:#}");
                assert_eq!(
                    verified["claims"]["eu.europa.ec.eudi.pid.1"]["given_name"], "Lars",
                    "{verified:#}"
                );
            }
            other => panic!("unexpected format {other}"),
        }
    }

    // The service logged the issuance without the person's CPR number in full.
    let log = issuer.service.output();
    assert!(
        !log.contains("1203852459") && !log.contains("120385-2459"),
        "{log}"
    );
}

#[test]
fn a_wrong_tx_code_is_refused_to_the_peer_and_the_offer_still_redeems() {
    let issuer = start_issuer("issuer-interop-tx").unwrap();
    let (offer, tx_code) = issuer.offer("high").unwrap();
    // The same length, one digit changed.
    let wrong: String = tx_code
        .char_indices()
        .map(|(i, c)| match (i, c) {
            (0, '0') => '1',
            (0, _) => '0',
            (_, c) => c,
        })
        .collect();
    let refused = run_node(
        "openid4vci.mjs",
        "receive",
        &json!({"offer": offer, "txCode": wrong, "batch": 1, "allowInsecure": true}),
    )
    .unwrap_err()
    .to_string();
    assert!(refused.contains("invalid_grant"), "{refused}");
    // One wrong attempt is below the limit: the right code still works.
    let received = run_node(
        "openid4vci.mjs",
        "receive",
        &json!({"offer": offer, "txCode": tx_code, "batch": 1, "allowInsecure": true}),
    )
    .unwrap();
    assert_eq!(received["credentials"].as_array().map(Vec::len), Some(2));
}

#[test]
fn after_revoke_the_peer_library_reads_the_served_status_list_and_refuses() {
    let issuer = start_issuer("issuer-interop-revoke").unwrap();
    let (offer, tx_code) = issuer.offer("born-2000s").unwrap();
    let received = run_node(
        "openid4vci.mjs",
        "receive",
        &json!({"offer": offer, "txCode": tx_code, "batch": 1, "allowInsecure": true}),
    )
    .unwrap();
    let sd_jwt = received["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["format"] == "dc+sd-jwt")
        .unwrap()["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let pems = issuer.anchor_pems();
    let verify = || {
        run_node(
            "sdjwt.mjs",
            "verify",
            &json!({"token": sd_jwt, "trustedCertificates": pems}),
        )
        .unwrap()
    };
    assert_eq!(verify()["ok"], true, "valid before the revocation");

    let listed = run(
        ISSUER,
        &[
            "credentials",
            "--identity",
            "born-2000s",
            "--json",
            "--data-dir",
            issuer.data.as_str(),
        ],
        "",
    )
    .unwrap();
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let listed: Value = serde_json::from_str(&listed.stdout).unwrap();
    let record = listed["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["format"] == "dc+sd-jwt")
        .unwrap()
        .clone();
    assert_eq!(record["state"], "valid", "{record}");
    let id = record["id"].as_str().unwrap();
    let revoked = run(
        ISSUER,
        &["revoke", id, "--data-dir", issuer.data.as_str()],
        "",
    )
    .unwrap();
    assert_eq!(revoked.code, Some(0), "{}", revoked.stderr);

    // The issuer re-signs its list on change: the library's own fetch sees the revocation.
    let after = verify();
    assert_eq!(after["ok"], false, "{after:#}");
    assert!(
        after["error"]
            .as_str()
            .unwrap()
            .contains("Status is not valid"),
        "{after:#}"
    );
    // And so does ours.
    let report = issuer.verify(&sd_jwt).unwrap();
    assert_eq!(report["valid"], false, "{report:#}");
    assert_eq!(report["errors"][0]["code"], "revoked", "{report:#}");
}
