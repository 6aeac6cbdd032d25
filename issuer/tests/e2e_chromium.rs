//! The "Get your PID" page in headless Chromium (Debian's `chromium`, which `.ci/run` installs),
//! driven over the DevTools protocol by `tests/chromium/get_pid.mjs` (Node 20, no npm package):
//! a test identity logs in on the embedded MitID form, the page shows a QR code (SVG and PNG) and
//! a transaction code, and the wallet client redeems that offer at the running `serve`.
//!
//! Without `chromium` or `node` on `PATH` the test says so on stderr and passes (CI has both).

use std::io::BufRead as _;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
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

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

#[tokio::test]
async fn get_your_pid_in_headless_chromium() {
    let (Some(chromium), Some(node)) = (on_path("chromium"), on_path("node")) else {
        eprintln!("skipped: chromium or node is not on PATH");
        return;
    };
    let dir = std::env::temp_dir().join(format!(
        "eudi-issuer-chromium-{}-{}",
        std::process::id(),
        eudi_oauth::token::random_token().unwrap()
    ));
    let mut command = Command::new(env!("CARGO_BIN_EXE_eudi-issuer"));
    for (name, _) in std::env::vars() {
        if name.starts_with("EUDI_ISSUER_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .arg("serve")
        .arg("--data-dir")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0"])
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

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/chromium/get_pid.mjs");
    // Blocking is fine here: the service is another process.
    let driven = Command::new(node)
        .arg("--experimental-websocket")
        .arg(script)
        .arg(chromium)
        .arg(&url)
        .arg("substantial")
        .output()
        .unwrap();
    assert!(
        driven.status.success(),
        "{}",
        String::from_utf8_lossy(&driven.stderr)
    );
    let page: serde_json::Value = serde_json::from_slice(&driven.stdout).unwrap();
    assert_eq!(page["title"], "Your PID is ready");
    assert_eq!(page["has_qr"], true);
    let tx_code = page["tx_code"].as_str().unwrap();
    assert_eq!(tx_code.len(), 6);
    let offer = page["offer"].as_str().unwrap();

    // The wallet library redeems what the browser showed.
    let http = Arc::new(
        ReqwestClient::new(HttpConfig::default().with_policy(UrlPolicy::allow_private_network()))
            .unwrap(),
    );
    let config = ClientConfig::default().with_policy(UrlPolicy::allow_private_network());
    let resolved = resolve_offer(http.as_ref(), offer, &config).await.unwrap();
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
    assert_eq!(credentials.len(), 1);
    drop(server);
}
