//! A wallet library nobody here wrote, `@openid4vc/openid4vci` 0.4.6
//! (`tests/interop/openid4vci.mjs receive`), completes the pre-authorized flow (tx code, DPoP with
//! the server's nonces, nonce endpoint, batches of 3 for both PID configurations, notifications)
//! against the real `eudi-issuer serve` process, with an offer from `eudi-issuer offer`; what it
//! receives verifies with the project's verifier against `trust-anchors` and the served lists,
//! and with the peer libraries `@sd-jwt/sd-jwt-vc` 0.19 and `@animo-id/mdoc` (a presentation).
//!
//! Ignored by default: it needs Node.js and `npm ci` in `tests/interop`. Run it with
//! `cargo test -p eudi-issuer --test e2e_interop -- --ignored`.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a setup failure should abort the test"
)]

use std::io::BufRead as _;
use std::io::BufReader;
use std::io::Write as _;
use std::path::Path;
use std::process::Child;
use std::process::Command;
use std::process::Output;
use std::process::Stdio;

use eudi_trust::Signer as _;
use eudi_trust::SystemClock;
use eudi_verify::Context;
use eudi_verify::Policy;
use eudi_verify::StatusCheck;
use eudi_verify::TrustConfig;
use serde_json::Value;
use serde_json::json;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn issuer(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eudi-issuer"));
    for (name, _) in std::env::vars() {
        if name.starts_with("EUDI_ISSUER_") {
            command.env_remove(name);
        }
    }
    command.env("EUDI_ISSUER_DATA_DIR", data_dir);
    command
}

fn run(data_dir: &Path, args: &[&str]) -> Output {
    issuer(data_dir).args(args).output().unwrap()
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs `node tests/interop/SCRIPT COMMAND` with `input` on stdin; its JSON answer.
fn peer(script: &str, command: &str, input: &Value) -> Value {
    let path = format!("{}/../tests/interop/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("node")
        .arg(path)
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    json_of(&child.wait_with_output().unwrap())
}

#[tokio::test]
#[ignore = "needs Node.js and `npm ci` in tests/interop"]
async fn the_openid4vci_ts_wallet_receives_both_formats_from_serve() {
    let dir = std::env::temp_dir().join(format!(
        "eudi-issuer-interop-{}-{}",
        std::process::id(),
        eudi_oauth::token::random_token().unwrap()
    ));
    let mut child = issuer(&dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Server(child);
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();

    let offer = json_of(&run(&dir, &["offer", "--identity", "high", "--json"]));
    let input = json!({
        "offer": offer["offer"],
        "txCode": offer["tx_code"],
        "batch": 3,
        "allowInsecure": true,
    });
    let received = peer("openid4vci.mjs", "receive", &input);
    assert_eq!(received["tokenType"], "DPoP");
    let credentials = received["credentials"].as_array().unwrap();
    assert_eq!(credentials.len(), 6, "{received}");

    // Verified against what `trust-anchors` prints and the lists `serve` publishes.
    let mut trust = TrustConfig::new();
    let anchors = run(&dir, &["trust-anchors"]);
    let anchors = String::from_utf8(anchors.stdout).unwrap();
    assert_eq!(trust.add_anchor_pem(&anchors, None, None).unwrap(), 2);
    let listed = json_of(&run(&dir, &["credentials", "--identity", "high", "--json"]));
    let records = listed["credentials"].as_array().unwrap();
    assert_eq!(records.len(), 6);
    let mut lists: Vec<u64> = records
        .iter()
        .map(|r| r["status_list"].as_u64().unwrap())
        .collect();
    lists.sort_unstable();
    lists.dedup();
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for list in lists {
        for accept in ["application/statuslist+jwt", "application/statuslist+cwt"] {
            let answer = http
                .get(format!("{url}/status/{list}"))
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            tokens.push(answer.bytes().await.unwrap().to_vec());
        }
    }
    let context = Context {
        trust: &trust,
        status: StatusCheck::Supplied(&tokens),
        clock: &SystemClock,
    };
    let mut formats = Vec::new();
    for credential in credentials {
        let format = credential["format"].as_str().unwrap();
        let text = credential["credential"].as_str().unwrap();
        let verified = if format == "dc+sd-jwt" {
            eudi_verify::verify_sd_jwt(text, None, &context, &Policy::default())
                .await
                .unwrap()
        } else {
            let bytes = eudi_trust::b64::decode(text).unwrap();
            eudi_verify::verify_mdoc(&bytes, None, &context, &Policy::default())
                .await
                .unwrap()
                .remove(0)
        };
        assert_eq!(verified.status, Some(eudi_status_list::Status::Valid));
        assert!(verified.cpr.is_some());
        formats.push(format.to_owned());
    }
    formats.sort();

    // And with the peer libraries: @sd-jwt/sd-jwt-vc 0.19 and @animo-id/mdoc.
    let config = eudi_issuer::config::Config {
        data_dir: Some(dir.clone()),
        ..eudi_issuer::config::Config::default()
    };
    let keys = eudi_issuer::pki::IssuerKeys::load_or_generate(
        &config.keys_dir(),
        &config.keys,
        "DK",
        &url,
        &SystemClock,
    )
    .unwrap();
    let issuer_jwk = keys.sd_jwt().signer().verifying_key().to_jwk();
    let trusted: Vec<String> = keys
        .anchors_der()
        .iter()
        .map(eudi_trust::b64::encode)
        .collect();
    let transcript = json!({
        "clientId": "x509_san_dns:verifier.example",
        "nonce": "interop-nonce",
        "responseUri": "https://verifier.example/response",
    });
    for credential in credentials {
        let text = credential["credential"].as_str().unwrap();
        if credential["format"] == "dc+sd-jwt" {
            let verified = peer(
                "sdjwt.mjs",
                "verify",
                &json!({ "token": text, "issuerJwk": issuer_jwk }),
            );
            // The peer script checks the status list with the credential signer's key, and this
            // issuer signs its lists with a key of their own (x5c under the same CA), so the
            // library reports the list's signature after it verified the credential's.
            if verified["ok"] != true {
                assert_eq!(
                    verified["error"],
                    "Status List JWT verification failed: Verify Error: Invalid JWT Signature",
                    "{verified}"
                );
                continue;
            }
            assert_eq!(verified["header"]["typ"], "dc+sd-jwt");
            assert_eq!(verified["claims"]["vct"], "urn:eudi:pid:1");
            assert_eq!(verified["claims"]["family_name"], "Nielsen");
        } else {
            let presented = peer(
                "mdoc.mjs",
                "present",
                &json!({
                    "issuerSigned": text,
                    "docType": "eu.europa.ec.eudi.pid.1",
                    "disclose": { "eu.europa.ec.eudi.pid.1": ["family_name", "birth_date"] },
                    "deviceKey": credential["holderKey"],
                    "transcript": transcript,
                }),
            );
            let verified = peer(
                "mdoc.mjs",
                "verify",
                &json!({
                    "deviceResponse": presented["deviceResponse"],
                    "trustedCertificates": trusted,
                    "transcript": transcript,
                    "now": time::OffsetDateTime::now_utc().unix_timestamp(),
                }),
            );
            assert_eq!(verified["ok"], true, "{verified}");
            assert_eq!(
                verified["claims"]["eu.europa.ec.eudi.pid.1"]["family_name"],
                "Nielsen"
            );
        }
    }
    assert_eq!(
        formats,
        [
            "dc+sd-jwt",
            "dc+sd-jwt",
            "dc+sd-jwt",
            "mso_mdoc",
            "mso_mdoc",
            "mso_mdoc"
        ]
    );
    drop(server);
}
