//! `Issuer::handle` behind a minimal HTTP/1.1 server on loopback, driven by a wallet library
//! nobody here wrote: `@openid4vc/openid4vci` 0.4.6 (`tests/interop/openid4vci.mjs receive`)
//! runs the pre-authorized code flow with `tx_code`, DPoP (with the server's nonces), the nonce
//! endpoint, a batch of 3 key proofs per configuration and notifications.
//!
//! Ignored by default: it needs Node.js and `npm ci` in `tests/interop`. Run it with
//! `cargo test -p eudi-oid4vci --test server_interop -- --ignored`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::process::Stdio;
use std::sync::Arc;

use eudi_oid4vci::endpoint::HttpRequest;
use eudi_oid4vci::endpoint::HttpResponse;
use eudi_oid4vci::issuance::CredentialMinter;
use eudi_oid4vci::issuance::MintFuture;
use eudi_oid4vci::issuance::MintOutcome;
use eudi_oid4vci::issuance::MintRequest;
use eudi_oid4vci::metadata::CredentialConfiguration;
use eudi_oid4vci::metadata::FORMAT_MSO_MDOC;
use eudi_oid4vci::metadata::FORMAT_SD_JWT_VC;
use eudi_oid4vci::metadata::ProofTypeMetadata;
use eudi_oid4vci::server::Issuer;
use eudi_oid4vci::server::IssuerConfig;
use eudi_oid4vci::store::memory::MemoryStore;
use eudi_trust::SystemClock;
use serde_json::Value;
use serde_json::json;
use tokio::io::AsyncReadExt as _;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tokio::net::TcpStream;

/// The largest request head read.
const MAX_HEAD: usize = 64 * 1024;

#[derive(Debug)]
struct Minter;

impl CredentialMinter for Minter {
    fn mint<'a>(&'a self, request: MintRequest<'a>) -> MintFuture<'a> {
        Box::pin(async move {
            Ok(MintOutcome::Issued(
                request
                    .holder_keys
                    .iter()
                    .map(|key| format!("{}:{}", request.configuration_id, key.thumbprint()))
                    .collect(),
            ))
        })
    }
}

fn configuration(format: &str, scope: &str) -> CredentialConfiguration {
    CredentialConfiguration {
        format: format.into(),
        scope: Some(scope.into()),
        vct: (format == FORMAT_SD_JWT_VC).then(|| "urn:eudi:pid:1".into()),
        doctype: (format == FORMAT_MSO_MDOC).then(|| "eu.europa.ec.eudi.pid.1".into()),
        cryptographic_binding_methods_supported: vec![
            if format == FORMAT_MSO_MDOC {
                "cose_key"
            } else {
                "jwk"
            }
            .into(),
        ],
        credential_signing_alg_values_supported: vec![if format == FORMAT_MSO_MDOC {
            json!(-7)
        } else {
            json!("ES256")
        }],
        proof_types_supported: BTreeMap::from([(
            "jwt".to_owned(),
            ProofTypeMetadata {
                proof_signing_alg_values_supported: vec!["ES256".into()],
                key_attestations_required: None,
            },
        )]),
        credential_metadata: None,
    }
}

/// Reads one request (head and `Content-Length` body) and answers it; `Connection: close`.
async fn serve(issuer: Arc<Issuer>, mut stream: TcpStream) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > MAX_HEAD {
            return;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default();
    let mut parts = start.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut request = HttpRequest::new(&method, &target);
    let mut length = 0usize;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if name == "content-length" {
                length = value.trim().parse().unwrap_or(0);
            }
            request.headers.push((name, value.trim().to_owned()));
        }
    }
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    request.body = body;
    let response = issuer
        .handle(&request)
        .await
        .unwrap_or_else(|| HttpResponse {
            status: 404,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"error":"invalid_request","error_description":"not found"}"#.to_vec(),
        });
    let mut out = format!("HTTP/1.1 {} X\r\n", response.status);
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        response.body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&response.body);
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node.js and `npm ci` in tests/interop"]
async fn openid4vc_ts_wallet_receives_a_batch_in_both_formats() {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules").is_dir(),
        "run `npm ci` in {}",
        dir.display()
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let configurations = BTreeMap::from([
        (
            "pid-sd-jwt".to_owned(),
            configuration(FORMAT_SD_JWT_VC, "pid_sd_jwt"),
        ),
        (
            "pid-mdoc".to_owned(),
            configuration(FORMAT_MSO_MDOC, "pid_mdoc"),
        ),
    ]);
    let issuer = Arc::new(
        Issuer::new(
            IssuerConfig::new(base, configurations),
            Arc::new(MemoryStore::new()),
            Arc::new(Minter),
            Arc::new(SystemClock),
        )
        .unwrap(),
    );
    let server = {
        let issuer = issuer.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(issuer.clone(), stream));
            }
        })
    };
    let offer = issuer
        .create_pre_authorized_offer(
            b"subject",
            &["pid-sd-jwt".to_owned(), "pid-mdoc".to_owned()],
            true,
            false,
        )
        .await
        .unwrap();
    let input = json!({
        "offer": offer.uri,
        "txCode": offer.tx_code,
        "batch": 3,
        "allowInsecure": true,
    });
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg(dir.join("openid4vci.mjs"))
            .arg("receive")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    server.abort();
    assert!(
        output.status.success(),
        "the wallet failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output["tokenType"], "DPoP");
    let credentials = output["credentials"].as_array().unwrap();
    assert_eq!(credentials.len(), 6);
    for credential in credentials {
        let configuration = credential["configurationId"].as_str().unwrap();
        let text = credential["credential"].as_str().unwrap();
        // The minter bound each credential to the key the wallet proved for it.
        let jwk: eudi_trust::Jwk = serde_json::from_value(credential["holderJwk"].clone()).unwrap();
        assert_eq!(text, format!("{configuration}:{}", jwk.thumbprint()));
    }
    assert_eq!(output["notifications"], json!(["pid-sd-jwt", "pid-mdoc"]));
}
