//! The issuer's router over real loopback HTTP: operations endpoints, JSON errors, the body
//! limit, the wallet's login redirect chain through the embedded MitID test provider (to a code,
//! and to a refusal with a TransactionId), and the "Get your PID" pages.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a setup failure should abort the test"
)]

mod common;

use common::form_action;
use common::location;
use common::mitid_login;
use common::query_of;
use common::start;
use common::start_with;
use eudi_oid4vci::store::SessionKind;
use eudi_oid4vci::store::SessionStore as _;

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let app = start().await;
    let health = app
        .http
        .get(format!("{}/health", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let id = health
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!id.is_empty());
    let ready = app
        .http
        .get(format!("{}/ready", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
    let metrics = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("eudi_issuer_http_requests_total{route=\"/health\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("eudi_issuer_http_requests_total{route=\"/ready\",status=\"200\"} 1"));
}

#[tokio::test]
async fn a_sane_request_id_is_kept_and_an_odd_one_replaced() {
    let app = start().await;
    let kept = app
        .http
        .get(format!("{}/health", app.url))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "abc-123");
    let replaced = app
        .http
        .get(format!("{}/health", app.url))
        .header("x-request-id", "a b<script>")
        .send()
        .await
        .unwrap();
    let id = replaced.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "a b<script>");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json() {
    let app = start().await;
    let missing = app
        .http
        .get(format!("{}/no/such/thing", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["content-type"], "application/json");
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    let wrong = app
        .http
        .post(format!("{}/health", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(
        wrong.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    // The label of an unknown path does not carry the path's identifiers.
    let text = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("route=\"/no/*\",status=\"404\""), "{text}");
}

#[tokio::test]
async fn protocol_paths_are_forwarded() {
    let app = start().await;
    let metadata = app
        .http
        .get(format!("{}/.well-known/openid-credential-issuer", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200);
    let body: serde_json::Value = metadata.json().await.unwrap();
    assert_eq!(body["credential_issuer"], app.url);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_json_413() {
    let app = start().await;
    let big = vec![b'a'; eudi_issuer::web::MAX_BODY_BYTES + 1];
    let announced = app
        .http
        .post(format!("{}/token", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(announced.status(), 413);
    assert_eq!(
        announced.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    // Without a length (chunked), the limit holds where the body is read.
    let head = chunked_post(&app.url, "/token", eudi_issuer::web::MAX_BODY_BYTES + 1).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    // Just under the limit is read (and answered by the protocol, here: no such endpoint).
    let fits = app
        .http
        .post(format!("{}/token", app.url))
        .body(vec![b'a'; eudi_issuer::web::MAX_BODY_BYTES])
        .send()
        .await
        .unwrap();
    assert_eq!(fits.status(), 404);
}

/// POSTs `len` bytes with `Transfer-Encoding: chunked` over a raw connection; answers the
/// status line and headers.
async fn chunked_post(base: &str, path: &str, len: usize) -> String {
    use tokio::io::AsyncReadExt as _;
    use tokio::io::AsyncWriteExt as _;

    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'a'; 8192];
    let mut sent = 0;
    while sent < len {
        let n = chunk.len().min(len - sent);
        let frame = format!("{n:x}\r\n");
        // The server may answer and close before everything is sent.
        if stream.write_all(frame.as_bytes()).await.is_err()
            || stream.write_all(&chunk[..n]).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
        sent += n;
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn status_lists_are_served_by_accept() {
    let app = start().await;
    let jwt = app
        .http
        .get(format!("{}/status/1", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(jwt.status(), 200);
    assert_eq!(jwt.headers()["content-type"], "application/statuslist+jwt");
    assert_eq!(jwt.headers()["cache-control"], "max-age=300");
    let cwt = app
        .http
        .get(format!("{}/status/1", app.url))
        .header("accept", "application/statuslist+cwt")
        .send()
        .await
        .unwrap();
    assert_eq!(cwt.headers()["content-type"], "application/statuslist+cwt");
    assert_eq!(cwt.bytes().await.unwrap().as_ref(), &[0xd2, 0x84]);
    let neither = app
        .http
        .get(format!("{}/status/1", app.url))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(neither.status(), 406);
    assert_eq!(neither.headers()["content-type"], "application/json");
    for missing in ["2", "x", "99999999999"] {
        let answer = app
            .http
            .get(format!("{}/status/{missing}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{missing}");
        assert_eq!(answer.headers()["content-type"], "application/json");
    }
}

const WALLET_REDIRECT: &str = "http://127.0.0.1:9/cb";

async fn wallet_flow(
    app: &common::Running,
    username: &str,
) -> std::collections::HashMap<String, String> {
    let authorize = app
        .http
        .get(format!(
            "{}/authorize?response_type=code&client_id=wallet&redirect_uri={}&state=wallet-state",
            app.url,
            url_encode(WALLET_REDIRECT)
        ))
        .send()
        .await
        .unwrap();
    let to_mitid = location(&authorize);
    assert!(
        to_mitid.starts_with(&format!("{}/mitid/authorize?", app.url)),
        "{to_mitid}"
    );
    // The login session is in the shared store (so another instance could finish it), keyed
    // by the secret key of the OIDC state, never the state itself.
    let oidc_state = query_of(&to_mitid)["state"].clone();
    let session_key = eudi_oauth::token::secret_key(&oidc_state);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let stored = app
        .store
        .get(SessionKind::LoginSession, &session_key, now)
        .await
        .unwrap();
    assert!(stored.is_some());
    assert!(
        app.store
            .get(SessionKind::LoginSession, &oidc_state, now)
            .await
            .unwrap()
            .is_none()
    );
    let callback = mitid_login(&app.http, &to_mitid, username).await;
    assert!(
        callback.starts_with(&format!("{}/callback?", app.url)),
        "{callback}"
    );
    let back = app.http.get(&callback).send().await.unwrap();
    let to_wallet = location(&back);
    assert!(
        app.store
            .get(SessionKind::LoginSession, &session_key, now)
            .await
            .unwrap()
            .is_none(),
        "the session is used up"
    );
    assert!(to_wallet.starts_with(WALLET_REDIRECT), "{to_wallet}");
    // The callback is single use.
    let again = app.http.get(&callback).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("transaction-id"));
    query_of(&to_wallet)
}

fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn the_login_chain_ends_at_the_wallet_with_a_code() {
    let app = start().await;
    let query = wallet_flow(&app, "substantial").await;
    assert_eq!(query.get("code").map(String::as_str), Some("fake-code"));
    assert_eq!(query.get("state").map(String::as_str), Some("wallet-state"));
    assert_eq!(query.get("iss"), Some(&app.url));
    assert!(!query.contains_key("error"));
    // The subject the rules built is the one the protocol got.
    assert_eq!(app.protocol.granted.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_identity_reaches_the_wallet_with_a_reason_and_transaction_id() {
    let app = start().await;
    let query = wallet_flow(&app, "erhverv").await;
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("access_denied")
    );
    let description = &query["error_description"];
    assert!(description.contains("MitID Erhverv"), "{description}");
    assert!(description.contains("TransactionId: "), "{description}");
    assert_eq!(query.get("state").map(String::as_str), Some("wallet-state"));
    assert!(!query.contains_key("code"));
    assert!(app.protocol.granted.lock().unwrap().is_empty());
    assert_eq!(app.metrics.refusals("mitid_erhverv"), 1);
    let text = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("eudi_issuer_refusals_total{reason=\"mitid_erhverv\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_low_level_login_is_refused_for_its_level() {
    let app = start().await;
    let query = wallet_flow(&app, "low").await;
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("access_denied")
    );
    assert!(query["error_description"].contains("level of assurance"));
}

#[tokio::test]
async fn an_authorization_request_without_redirect_uri_is_not_redirected() {
    let app = start().await;
    let answer = app
        .http
        .get(format!(
            "{}/authorize?response_type=code&client_id=wallet",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["transaction_id"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let page = app
        .http
        .get(format!("{}/authorize?client_id=wallet", app.url))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("id=\"transaction-id\""));
}

#[tokio::test]
async fn a_forged_or_unknown_callback_shows_a_page_with_a_transaction_id() {
    let app = start().await;
    let answer = app
        .http
        .get(format!("{}/callback?code=x&state=never-issued", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let html = answer.text().await.unwrap();
    assert!(html.contains("Login not found"));
    assert!(html.contains("id=\"transaction-id\""));
    assert!(app.protocol.granted.lock().unwrap().is_empty());
}

async fn page_login(app: &common::Running, lang: &str, username: &str) -> reqwest::Response {
    let index = app
        .http
        .get(format!("{}/pid?lang={lang}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    let html = index.text().await.unwrap();
    assert!(!html.contains("<script"));
    let action = form_action(&html);
    assert_eq!(action, format!("{}/pid/login", app.url));
    let start = app
        .http
        .get(format!("{action}?lang={lang}"))
        .send()
        .await
        .unwrap();
    let cookie = start.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let to_mitid = location(&start);
    let callback = mitid_login(&app.http, &to_mitid, username).await;
    assert!(callback.starts_with(&format!("{}/pid/callback?", app.url)));
    app.http
        .get(&callback)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn get_your_pid_shows_a_qr_code_link_and_tx_code() {
    let app = start().await;
    let page = page_login(&app, "en", "high").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg"), "inline SVG QR code");
    assert!(
        html.contains("href=\"data:image/png;base64,iVBORw0KGgo"),
        "PNG QR code"
    );
    assert!(html.contains("id=\"tx-code\">493817<"));
    assert!(html.contains("href=\"openid-credential-offer://?credential_offer_uri="));
    assert!(html.contains("Your PID is ready"));
    assert_eq!(app.protocol.offers.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn get_your_pid_speaks_danish_and_refuses_with_a_reason() {
    let app = start().await;
    let page = page_login(&app, "da", "deceased").await;
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("lang=\"da\""));
    assert!(html.contains("Der kan ikke udstedes et PID"));
    assert!(html.contains("registrerer personen som død"));
    assert!(html.contains("id=\"transaction-id\""));
    assert!(app.protocol.offers.lock().unwrap().is_empty());
    assert_eq!(app.metrics.refusals("deceased"), 1);
}

#[tokio::test]
async fn a_page_login_finished_in_another_browser_gets_no_offer() {
    let app = start().await;
    for cookie in [None, Some("eudi_pid_login=guess")] {
        let start = app
            .http
            .get(format!("{}/pid/login", app.url))
            .send()
            .await
            .unwrap();
        assert!(start.headers().contains_key("set-cookie"));
        let to_mitid = location(&start);
        let callback = mitid_login(&app.http, &to_mitid, "substantial").await;
        let mut request = app.http.get(&callback);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), 400, "cookie {cookie:?}");
        assert!(
            answer
                .text()
                .await
                .unwrap()
                .contains("id=\"transaction-id\"")
        );
    }
    assert!(app.protocol.offers.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_request_over_its_time_limit_is_answered_503_json() {
    let app = start_with(|mut config| {
        config.request_timeout = std::time::Duration::from_millis(200);
        config
    })
    .await;
    let started = std::time::Instant::now();
    let answer = app
        .http
        .get(format!("{}/slow", app.url))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["content-type"], "application/json");
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // Requests within the limit are answered as usual.
    let health = app
        .http
        .get(format!("{}/health", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
