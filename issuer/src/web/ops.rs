//! Operations: request ids, request time limit, metrics (Prometheus text exposition 0.0.4),
//! `/health`, `/ready`, and the JSON error bodies every answer of this service uses.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::extract::Request;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use eudi_oauth::OAuthError;
use serde_json::json;
use tracing::Instrument as _;

use crate::web::AppState;

/// The header carrying the request id, in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest request id taken from a client; a longer or odd one is replaced.
pub const MAX_REQUEST_ID_LENGTH: usize = 64;
/// Most distinct label sets one metric keeps; beyond it, new ones are counted under `other`,
/// so a client cannot grow the exposition without bound.
pub const MAX_METRIC_SERIES: usize = 512;

/// A JSON error answer, OAuth style (`{"error","error_description"}`).
pub fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// An [`OAuthError`] as its answer (status, JSON body, `WWW-Authenticate`).
pub fn oauth_error(error: &OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(error.to_json()),
    )
        .into_response();
    if let Some(challenge) = error.challenge()
        && let Ok(value) = HeaderValue::from_str(challenge)
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The generic 500: the cause goes to the log, never to the peer.
pub fn server_error() -> Response {
    oauth_error(&OAuthError::server_error())
}

/// Counters exposed at `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    requests: BTreeMap<(String, u16), u64>,
    issued: BTreeMap<String, u64>,
    refusals: BTreeMap<String, u64>,
}

impl Metrics {
    /// Counts one answered request.
    pub fn record_request(&self, route: &str, status: u16) {
        let mut counters = self.lock();
        let key = if counters.requests.len() < MAX_METRIC_SERIES
            || counters.requests.contains_key(&(route.to_owned(), status))
        {
            (route.to_owned(), status)
        } else {
            ("other".to_owned(), status)
        };
        *counters.requests.entry(key).or_default() += 1;
    }

    /// Counts `count` credentials issued in `format`.
    pub fn record_issued(&self, format: &str, count: u64) {
        let mut counters = self.lock();
        let key = bounded_key(&counters.issued, format);
        *counters.issued.entry(key).or_default() += count;
    }

    /// Counts one refusal by the PID rules (or the protocol) for `reason`.
    pub fn record_refusal(&self, reason: &str) {
        let mut counters = self.lock();
        let key = bounded_key(&counters.refusals, reason);
        *counters.refusals.entry(key).or_default() += 1;
    }

    /// How many credentials of `format` were counted (tests, the report).
    pub fn issued(&self, format: &str) -> u64 {
        self.lock().issued.get(format).copied().unwrap_or(0)
    }

    /// How many refusals for `reason` were counted.
    pub fn refusals(&self, reason: &str) -> u64 {
        self.lock().refusals.get(reason).copied().unwrap_or(0)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let counters = self.lock();
        let mut out = String::new();
        out.push_str(
            "# HELP eudi_issuer_http_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE eudi_issuer_http_requests_total counter\n");
        for ((route, status), count) in &counters.requests {
            let _ = writeln!(
                out,
                "eudi_issuer_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}",
                escape_label(route)
            );
        }
        out.push_str(
            "# HELP eudi_issuer_credentials_issued_total Credentials issued, by format.\n",
        );
        out.push_str("# TYPE eudi_issuer_credentials_issued_total counter\n");
        for (format, count) in &counters.issued {
            let _ = writeln!(
                out,
                "eudi_issuer_credentials_issued_total{{format=\"{}\"}} {count}",
                escape_label(format)
            );
        }
        out.push_str("# HELP eudi_issuer_refusals_total Issuances refused, by reason.\n");
        out.push_str("# TYPE eudi_issuer_refusals_total counter\n");
        for (reason, count) in &counters.refusals {
            let _ = writeln!(
                out,
                "eudi_issuer_refusals_total{{reason=\"{}\"}} {count}",
                escape_label(reason)
            );
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        // A panic while holding the lock leaves counters that are still counters.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn bounded_key(map: &BTreeMap<String, u64>, key: &str) -> String {
    if map.len() < MAX_METRIC_SERIES || map.contains_key(key) {
        key.to_owned()
    } else {
        "other".to_owned()
    }
}

/// Escapes a label value (text exposition format: backslash, double quote, newline).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A request id as taken from a client: short, and only characters safe in logs and headers.
fn acceptable_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LENGTH
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// The route label of a request: the matched route, or for the protocol's paths (answered by
/// the fallback) a shape of the path with no identifiers in it.
pub fn route_label(matched: Option<&str>, path: &str) -> String {
    if let Some(route) = matched {
        return route.to_owned();
    }
    let mut segments = path.trim_start_matches('/').split('/');
    let first = segments.next().unwrap_or_default();
    if first == ".well-known" {
        let second = segments.next().unwrap_or_default();
        return format!("/.well-known/{second}");
    }
    if segments.next().is_some() {
        format!("/{first}/*")
    } else {
        format!("/{first}")
    }
}

/// The outermost middleware: request id (taken from `x-request-id` when sane, else random), a
/// tracing span carrying it, the time limit, and the request metrics.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = route_label(matched.as_deref(), &path);
    // The span carries the route shape, never the query (it may hold codes).
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    let timeout = state.config.request_timeout;
    let mut response = async move {
        match tokio::time::timeout(timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(limit_ms = timeout.as_millis() as u64, "request timed out");
                json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the request took too long",
                )
            }
        }
    }
    .instrument(span.clone())
    .await;
    let status = response.status().as_u16();
    state.metrics.record_request(&route, status);
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "answered"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

fn new_request_id() -> String {
    eudi_oauth::token::random_token()
        .map(|t| t.chars().take(22).collect())
        .unwrap_or_else(|_| "unavailable".to_owned())
}

/// Refuses a body announced larger than the limit before anything reads it (413, JSON); bodies
/// without a length are bounded where they are read.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > crate::web::MAX_BODY_BYTES as u64) {
        return too_large();
    }
    next.run(request).await
}

/// The 413 answer.
pub fn too_large() -> Response {
    json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "the request body is too large",
    )
}

/// `GET /health`: the process answers.
pub async fn health() -> Response {
    (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response()
}

/// `GET /ready`: the store answers.
pub async fn ready(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the store is not reachable",
            )
        }
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// The answer to a route nobody serves (JSON, never HTML).
pub async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Converts a body into bytes within `limit`, or the 413 answer.
pub async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, Response> {
    axum::body::to_bytes(body, limit)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| too_large())
}

/// Shared handle for the metrics.
pub type SharedMetrics = Arc<Metrics>;

/// The default request time limit.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
