//! MitID ID token validation by the OIDC client (OpenID Connect Core 1.0 §3.1.3.7): the JWS,
//! `typ`, `alg`, the JWKS key choice, `iss`, `aud`/`azp`, `exp`/`iat`/`nbf`, `nonce`,
//! `at_hash`; then the broker claims mapping and the callback query.
//!
//! The broker's JWKS is served from a loopback socket this target opens once (the client
//! fetches it on the first unknown `kid`). When the client takes an HTTP trait with a test
//! double, serve the JWKS from that instead.
//!
//! First byte even: the rest is the ID token as received. Odd: the rest is the ID token
//! *payload*, signed here by the broker key, so the fuzzer reaches the claim checks; in it
//! `@iss@` is replaced by the harness broker's issuer (its port differs per run) and
//! `@at_hash@` by the `at_hash` of the access token.
#![no_main]

use std::io::BufRead as _;
use std::io::BufReader;
use std::io::Write as _;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::OnceLock;

use eudi_mitid::client::CallbackParams;
use eudi_mitid::client::ClientAuthMethod;
use eudi_mitid::client::ClientConfig;
use eudi_mitid::client::OidcClient;
use eudi_mitid::client::half_hash;
use eudi_mitid::metadata::ProviderMetadata;
use eudi_trust::Algorithm;
use eudi_trust::clock::ManualClock;
use libfuzzer_sys::fuzz_target;

const ACCESS_TOKEN: &str = "access-token-1";

/// Serves `body` as `application/json` to every request on a loopback port; returns its base URL.
fn serve(body: String) -> String {
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(listener) => listener,
        Err(e) => panic!("fuzz harness: cannot listen on loopback: {e}"),
    };
    let base = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(e) => panic!("fuzz harness: {e}"),
    };
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    client: OidcClient,
    issuer: String,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let mut jwk = eudi_fuzz::issuer_public().to_jwk();
        jwk.kid = Some("broker-1".into());
        let jwks = serde_json::json!({ "keys": [jwk] }).to_string();
        let base = serve(jwks);
        let issuer = format!("{base}/op");
        let metadata = ProviderMetadata::new(
            issuer.clone(),
            format!("{base}/op/authorize"),
            format!("{base}/op/token"),
            format!("{base}/op/jwks"),
        );
        let mut config = ClientConfig::new(
            issuer.clone(),
            "pid-issuer",
            "https://issuer.example/callback",
        )
        .with_secret("secret", ClientAuthMethod::ClientSecretBasic);
        // The harness's broker (its JWKS) runs on loopback plain http.
        config.allow_private_network = true;
        let client = match OidcClient::from_metadata(config, metadata) {
            Ok(client) => client.with_clock(Arc::new(ManualClock::new(eudi_fuzz::NOW))),
            Err(e) => panic!("fuzz harness client: {e}"),
        };
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => panic!("fuzz harness runtime: {e}"),
        };
        Harness {
            runtime,
            client,
            issuer,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let harness = harness();
    let token = if mode % 2 == 0 {
        let Some(text) = eudi_fuzz::text(rest) else {
            return;
        };
        let _ = CallbackParams::from_query(text);
        text.to_owned()
    } else {
        let payload = eudi_fuzz::replace(rest, b"@iss@", harness.issuer.as_bytes());
        let at_hash = half_hash(Algorithm::Es256, ACCESS_TOKEN);
        let payload = eudi_fuzz::replace(&payload, b"@at_hash@", at_hash.as_bytes());
        eudi_fuzz::sign_jws(
            r#"{"alg":"ES256","typ":"JWT","kid":"broker-1"}"#,
            &payload,
            eudi_fuzz::issuer_key(),
        )
    };
    let validated = harness.runtime.block_on(harness.client.validate_id_token(
        &token,
        "nonce-1",
        Some(ACCESS_TOKEN),
    ));
    eudi_fuzz::debug(&validated);
    if let Ok(claims) = validated {
        let _ = eudi_mitid::claims::map_claims(&claims.claims);
    }
    if let Ok(serde_json::Value::Object(claims)) = serde_json::from_slice(rest) {
        let _ = eudi_mitid::claims::map_claims(&claims);
    }
});
