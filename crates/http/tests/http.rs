//! The reqwest client against a small HTTP/1.1 server on 127.0.0.1 (the allowed case needs the
//! private-network switch), and its limits: body size, redirects, time.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a setup failure should abort the test"
)]

use std::time::Duration;

use eudi_http::HttpClient;
use eudi_http::HttpConfig;
use eudi_http::HttpError;
use eudi_http::Request;
use eudi_http::ReqwestClient;
use eudi_http::UrlPolicy;
use tokio::io::AsyncReadExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::net::TcpStream;

/// Starts the server; returns its base URL.
async fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(answer(stream));
        }
    });
    base
}

async fn answer(mut stream: TcpStream) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[head_end..].to_vec();
    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
    let response: Vec<u8> = match path.as_str() {
        "/echo" => {
            // The request head and body, as the body.
            let mut echoed = head.into_bytes();
            echoed.extend_from_slice(&body);
            plain(200, "text/plain", &echoed)
        }
        "/ok" => plain(200, "application/json", b"{\"ok\":true}"),
        "/teapot" => plain(418, "application/json", b"{\"error\":\"invalid_request\"}"),
        "/big-declared" => plain(200, "application/octet-stream", &vec![b'x'; 2048]),
        "/big-chunked" => {
            // No Content-Length: only the streamed reading can stop it.
            let mut r =
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                    .to_vec();
            for _ in 0..8 {
                r.extend_from_slice(b"100\r\n");
                r.extend_from_slice(&[b'y'; 256]);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        p if p.starts_with("/hop/") => {
            // /hop/N redirects to /hop/N-1; /hop/0 to /ok.
            let n: u32 = p["/hop/".len()..].parse().unwrap_or(0);
            let next = if n == 0 {
                "/ok".to_owned()
            } else {
                format!("/hop/{}", n - 1)
            };
            redirect(&next)
        }
        "/to-ftp" => redirect("ftp://127.0.0.1/file"),
        _ => plain(404, "text/plain", b"no"),
    };
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

fn plain(status: u16, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn redirect(location: &str) -> Vec<u8> {
    format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .into_bytes()
}

fn dev() -> HttpConfig {
    HttpConfig::default().with_policy(UrlPolicy::allow_private_network())
}

fn client(config: HttpConfig) -> ReqwestClient {
    ReqwestClient::new(config).unwrap()
}

#[tokio::test]
async fn loopback_with_the_switch_answers_any_status_with_headers() {
    let base = serve().await;
    let c = client(dev());
    let ok = c.send(Request::get(format!("{base}/ok"))).await.unwrap();
    assert_eq!(ok.status, 200);
    assert!(ok.is("application/json"));
    assert_eq!(ok.body, b"{\"ok\":true}");
    // An error status is an answer: the caller reads the OAuth error body.
    let teapot = c
        .send(Request::get(format!("{base}/teapot")))
        .await
        .unwrap();
    assert_eq!(teapot.status, 418);
    assert!(!teapot.is_success());
    assert_eq!(teapot.body, b"{\"error\":\"invalid_request\"}");
}

#[tokio::test]
async fn method_headers_and_body_are_sent() {
    let base = serve().await;
    let c = client(dev());
    let request = Request::post_form(
        format!("{base}/echo"),
        [("grant_type", "authorization_code"), ("code", "a b")],
    )
    .accept("application/json")
    .header("DPoP", "proof")
    .bearer("tok");
    let echoed = c.send(request).await.unwrap();
    let text = String::from_utf8(echoed.body).unwrap().to_lowercase();
    assert!(text.starts_with("post /echo http/1.1\r\n"), "{text}");
    assert!(text.contains("\r\naccept: application/json\r\n"), "{text}");
    assert!(
        text.contains("\r\ncontent-type: application/x-www-form-urlencoded\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\ndpop: proof\r\n"), "{text}");
    assert!(text.contains("\r\nauthorization: bearer tok\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\ngrant_type=authorization_code&code=a+b"),
        "{text}"
    );
}

#[tokio::test]
async fn loopback_is_refused_without_the_switch() {
    let base = serve().await;
    let c = client(HttpConfig::default());
    for url in [
        format!("{base}/ok"),
        format!("{}/ok", base.replace("http://", "https://")),
        format!(
            "{}/ok",
            base.replace("127.0.0.1", "localhost")
                .replace("http://", "https://")
        ),
    ] {
        match c.send(Request::get(&url)).await {
            Err(HttpError::Refused { .. }) => {}
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn bodies_are_cut_at_the_limit() {
    let base = serve().await;
    let c = client(dev().with_max_body_bytes(1024));
    for path in ["/big-declared", "/big-chunked"] {
        match c.send(Request::get(format!("{base}{path}"))).await {
            Err(HttpError::TooLarge { limit: 1024, .. }) => {}
            other => panic!("{path}: expected TooLarge, got {other:?}"),
        }
    }
    // The same bodies fit a larger limit.
    let c = client(dev().with_max_body_bytes(4096));
    let chunked = c
        .send(Request::get(format!("{base}/big-chunked")))
        .await
        .unwrap();
    assert_eq!(chunked.body.len(), 2048);
}

#[tokio::test]
async fn redirects_are_bounded_and_rechecked() {
    let base = serve().await;
    // None by default: the 302 itself is the answer.
    let none = client(dev());
    let answer = none
        .send(Request::get(format!("{base}/hop/0")))
        .await
        .unwrap();
    assert_eq!(answer.status, 302);
    assert_eq!(answer.header("Location"), Some("/ok"));
    // /hop/2 takes three redirects to reach /ok.
    let three = client(dev().with_max_redirects(3));
    let answer = three
        .send(Request::get(format!("{base}/hop/2")))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, b"{\"ok\":true}");
    let two = client(dev().with_max_redirects(2));
    match two.send(Request::get(format!("{base}/hop/2"))).await {
        Err(HttpError::Refused { reason, .. }) => assert_eq!(reason, "too many redirects"),
        other => panic!("expected too many redirects, got {other:?}"),
    }
    // Every hop is checked by the policy.
    match three.send(Request::get(format!("{base}/to-ftp"))).await {
        Err(HttpError::Refused { reason, .. }) => {
            assert_eq!(reason, "only https URLs are requested")
        }
        other => panic!("expected a refused redirect, got {other:?}"),
    }
}

#[tokio::test]
async fn the_total_time_is_bounded() {
    let base = serve().await;
    let c = client(dev().with_timeout(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    match c.send(Request::get(format!("{base}/slow"))).await {
        Err(HttpError::Timeout { .. }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}
