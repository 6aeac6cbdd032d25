//! The binary as a process: `serve` prints `listening on <URL>` and records serve.json; `offer
//! --identity` makes an offer through the shared SQLite store that a wallet then redeems at the
//! running service; `credentials --json` lists what was issued; `revoke` turns the served status
//! list entry INVALID and the verifier then refuses the credential as revoked; a refused identity
//! gets no offer (exit 1, the rule on stderr); a usage error exits 2.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a setup failure should abort the test"
)]

use std::io::BufRead as _;
use std::io::BufReader;
use std::path::Path;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
use std::process::Output;
use std::process::Stdio;
use std::sync::Arc;

use eudi_http::HttpConfig;
use eudi_http::ReqwestClient;
use eudi_http::UrlPolicy;
use eudi_issuer::minter::SD_JWT_CONFIGURATION_ID;
use eudi_oid4vci::client::ClientConfig;
use eudi_oid4vci::client::CredentialOutcome;
use eudi_oid4vci::client::DpopKey;
use eudi_oid4vci::client::EncryptResponse;
use eudi_oid4vci::client::IssuerClient;
use eudi_oid4vci::client::resolve_offer;
use eudi_trust::Algorithm;
use eudi_trust::SoftwareKey;
use eudi_trust::SystemClock;
use eudi_verify::Context;
use eudi_verify::Policy;
use eudi_verify::StatusCheck;
use eudi_verify::TrustConfig;

const BIN: &str = env!("CARGO_BIN_EXE_eudi-issuer");

fn issuer(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    // Only this test's settings: no EUDI_ISSUER_* of the environment.
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

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` on a free port; answers the URL it printed.
fn serve(data_dir: &Path) -> (Server, String) {
    let mut child = issuer(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (Server(child), url)
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "eudi-issuer-cli-{}-{}",
        std::process::id(),
        eudi_oauth::token::random_token().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn serve_offer_redeem_list_and_revoke() {
    let dir = temp_dir();
    let (server, url) = serve(&dir);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // serve.json records the URL, so the other subcommands use it.
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("serve.json")).unwrap()).unwrap();
    assert_eq!(record["public_url"], url);

    // `--data-dir` is accepted anywhere on the line (the env var is set too; the flag wins).
    let offer = issuer(&dir)
        .args(["offer", "--data-dir"])
        .arg(&dir)
        .args(["--identity", "substantial", "--json"])
        .output()
        .unwrap();
    assert!(
        offer.status.success(),
        "{}",
        String::from_utf8_lossy(&offer.stderr)
    );
    let offer: serde_json::Value = serde_json::from_slice(&offer.stdout).unwrap();
    let uri = offer["offer"].as_str().unwrap();
    let tx_code = offer["tx_code"].as_str().unwrap();
    assert!(uri.starts_with("openid-credential-offer://"));
    assert_eq!(tx_code.len(), 6);

    // A wallet redeems it at the running service.
    let http = Arc::new(
        ReqwestClient::new(HttpConfig::default().with_policy(UrlPolicy::allow_private_network()))
            .unwrap(),
    );
    let config = ClientConfig::default().with_policy(UrlPolicy::allow_private_network());
    let resolved = resolve_offer(http.as_ref(), uri, &config).await.unwrap();
    assert_eq!(resolved.credential_issuer, url);
    let client = IssuerClient::for_offer(http.clone(), &resolved, config)
        .await
        .unwrap();
    let dpop = Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap());
    let tokens = client
        .pre_authorized(&resolved, Some(tx_code), DpopKey::new(dpop))
        .await
        .unwrap();
    let holder = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let outcome = client
        .request_credentials(
            &tokens,
            SD_JWT_CONFIGURATION_ID,
            &[&holder],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    let CredentialOutcome::Issued { credentials, .. } = outcome else {
        panic!("not issued: {outcome:?}")
    };
    let credential = credentials[0].credential.as_str().unwrap().to_owned();

    // `credentials --json` lists it.
    let listed = run(
        &dir,
        &["credentials", "--identity", "substantial", "--json"],
    );
    assert!(listed.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let records = listed["credentials"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{listed}");
    assert_eq!(records[0]["format"], "dc+sd-jwt");
    assert_eq!(records[0]["state"], "valid");
    assert!(records[0]["status_index"].is_u64());
    let id = records[0]["id"].as_str().unwrap().to_owned();
    // The same person by CPR number (a register person at a Citizen Service) has the same records.
    let by_cpr = run(
        &dir,
        &["credentials", "--identity", "120385-2459", "--json"],
    );
    let by_cpr: serde_json::Value = serde_json::from_slice(&by_cpr.stdout).unwrap();
    assert_eq!(by_cpr, listed);
    // And can be offered a PID in person.
    let in_person = run(&dir, &["offer", "--identity", "120385-2459", "--json"]);
    assert!(
        in_person.status.success(),
        "{}",
        String::from_utf8_lossy(&in_person.stderr)
    );
    let list = records[0]["status_list"].as_u64().unwrap();

    // The trust anchors verify it while it is valid.
    let anchors = run(&dir, &["trust-anchors"]);
    assert!(anchors.status.success());
    let mut trust = TrustConfig::new();
    let anchors = String::from_utf8(anchors.stdout).unwrap();
    assert_eq!(trust.add_anchor_pem(&anchors, None, None).unwrap(), 2);
    let fetch = || async {
        reqwest::Client::new()
            .get(format!("{url}/status/{list}"))
            .header("accept", "application/statuslist+jwt")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    };
    let tokens = vec![fetch().await];
    let context = Context {
        trust: &trust,
        status: StatusCheck::Supplied(&tokens),
        clock: &SystemClock,
    };
    eudi_verify::verify_sd_jwt(&credential, None, &context, &Policy::default())
        .await
        .unwrap();

    // Revoked: the served list says INVALID and the verifier refuses it.
    let revoked = run(&dir, &["revoke", &id]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&revoked.stdout).trim(),
        format!("{id}: revoked")
    );
    let tokens = vec![fetch().await];
    let context = Context {
        trust: &trust,
        status: StatusCheck::Supplied(&tokens),
        clock: &SystemClock,
    };
    let failure = eudi_verify::verify_sd_jwt(&credential, None, &context, &Policy::default())
        .await
        .unwrap_err();
    assert_eq!(failure.code, eudi_verify::ErrorCode::Revoked, "{failure:?}");
    // A revoked credential stays revoked.
    let again = run(&dir, &["reinstate", &id]);
    assert_eq!(again.status.code(), Some(1));
    drop(server);
}

#[test]
fn a_refused_identity_gets_no_offer_and_usage_errors_exit_2() {
    let dir = temp_dir();
    let refused = run(&dir, &["offer", "--identity", "erhverv"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("MitID Erhverv"), "{stderr}");
    let unknown = run(&dir, &["offer", "--identity", "nobody-at-all"]);
    assert_eq!(unknown.status.code(), Some(1));
    let usage = run(&dir, &["offer"]);
    assert_eq!(usage.status.code(), Some(2));
    let usage = run(&dir, &["revoke"]);
    assert_eq!(usage.status.code(), Some(2));
    let missing = run(&dir, &["revoke", "no-such-credential"]);
    assert_eq!(missing.status.code(), Some(1));
    // Ids are base64url: one may start with `-` and is still an id, not an option.
    let hyphen = run(&dir, &["revoke", "-Sx9_no-such-credential"]);
    assert_eq!(hyphen.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&hyphen.stderr).contains("no credential"));
    assert_eq!(
        run(&dir, &["review", "approve", "-Sx9"]).status.code(),
        Some(1)
    );
}

#[tokio::test]
async fn review_approve_releases_a_deferred_issuance() {
    let dir = temp_dir();
    let (server, url) = serve(&dir);
    let offer = run(
        &dir,
        &["offer", "--identity", "birthdate-mismatch", "--json"],
    );
    assert!(
        offer.status.success(),
        "{}",
        String::from_utf8_lossy(&offer.stderr)
    );
    let offer: serde_json::Value = serde_json::from_slice(&offer.stdout).unwrap();
    let http = Arc::new(
        ReqwestClient::new(HttpConfig::default().with_policy(UrlPolicy::allow_private_network()))
            .unwrap(),
    );
    let config = ClientConfig::default().with_policy(UrlPolicy::allow_private_network());
    let resolved = resolve_offer(http.as_ref(), offer["offer"].as_str().unwrap(), &config)
        .await
        .unwrap();
    assert_eq!(resolved.credential_issuer, url);
    let client = IssuerClient::for_offer(http.clone(), &resolved, config)
        .await
        .unwrap();
    let dpop = Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap());
    let tokens = client
        .pre_authorized(&resolved, offer["tx_code"].as_str(), DpopKey::new(dpop))
        .await
        .unwrap();
    let holder = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let outcome = client
        .request_credentials(
            &tokens,
            SD_JWT_CONFIGURATION_ID,
            &[&holder],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    let CredentialOutcome::Deferred { transaction_id, .. } = outcome else {
        panic!("not deferred: {outcome:?}")
    };
    let listed = run(&dir, &["review", "list", "--json"]);
    assert!(listed.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let pending = listed["deferred"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{listed}");
    let id = pending[0]["id"].as_str().unwrap().to_owned();
    assert!(
        pending[0]["reason"]
            .as_str()
            .unwrap()
            .contains("birth date")
    );
    let approved = run(&dir, &["review", "approve", &id]);
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    // Decided once: a second decision finds nothing pending.
    assert_eq!(run(&dir, &["review", "reject", &id]).status.code(), Some(1));
    let issued = client
        .poll_deferred(&tokens, &transaction_id, EncryptResponse::IfRequired)
        .await
        .unwrap();
    assert!(
        matches!(&issued, CredentialOutcome::Issued { credentials, .. } if credentials.len() == 1),
        "{issued:?}"
    );
    drop(server);
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    let dir = temp_dir();
    let (mut server, url) = serve(&dir);
    let ready = std::net::TcpStream::connect(url.trim_start_matches("http://"));
    assert!(
        ready.is_ok(),
        "accepting connections once it printed the URL"
    );
    let pid = server.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn help_never_shows_the_database_url_of_the_environment() {
    let dir = temp_dir();
    let help = issuer(&dir)
        .env(
            "EUDI_ISSUER_DATABASE_URL",
            "postgres://issuer:hunter2@db.example/pid",
        )
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("--database-url"));
    assert!(!text.contains("hunter2"), "{text}");
}
