//! axum ↔ protocol: forwards the OpenID4VCI and OAuth endpoints to [`Backend::handle`], and
//! serves the status lists.
//!
//! [`Backend::handle`]: crate::web::backend::Backend::handle

use axum::body::Body;
use axum::extract::Path;
use axum::extract::Request;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::HeaderName;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse;
use axum::response::Response;

use crate::web::AppState;
use crate::web::MAX_BODY_BYTES;
use crate::web::backend::ProtocolRequest;
use crate::web::backend::ProtocolResponse;
use crate::web::backend::StatusAnswer;
use crate::web::ops;

/// Most headers forwarded to the protocol.
pub const MAX_FORWARDED_HEADERS: usize = 64;

/// The fallback: a protocol endpoint, or a JSON 404.
pub async fn forward(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if parts.headers.len() > MAX_FORWARDED_HEADERS {
        return ops::json_error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "invalid_request",
            "too many request headers",
        );
    }
    let body = match ops::read_body(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let protocol_request = ProtocolRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: visible_headers(&parts.headers),
        body,
    };
    match state.backend.handle(protocol_request).await {
        Some(answer) => into_response(answer),
        None => ops::json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
    }
}

/// A route that exists, asked with another method.
pub async fn method_not_allowed() -> Response {
    ops::json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "method not allowed",
    )
}

/// Headers whose value is visible ASCII, names lowercase (what `HeaderMap` already gives).
fn visible_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_owned(), v.to_owned()))
        })
        .collect()
}

/// The protocol's answer as an axum response. A 5xx body is replaced by the generic one (the
/// protocol logs the cause), so no internal detail reaches a peer.
pub fn into_response(answer: ProtocolResponse) -> Response {
    let Ok(status) = StatusCode::from_u16(answer.status) else {
        tracing::error!(
            status = answer.status,
            "the protocol answered an invalid status"
        );
        return ops::server_error();
    };
    if status.is_server_error() {
        let mut generic = ops::json_error(status, "server_error", "internal error");
        copy_headers(&answer.headers, generic.headers_mut(), |name| {
            name == header::RETRY_AFTER
        });
        return generic;
    }
    let mut response = (status, Body::from(answer.body)).into_response();
    copy_headers(&answer.headers, response.headers_mut(), |_| true);
    response
}

fn copy_headers(from: &[(String, String)], to: &mut HeaderMap, keep: impl Fn(&HeaderName) -> bool) {
    for (name, value) in from {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            tracing::warn!("the protocol answered a header that is not valid HTTP; dropped");
            continue;
        };
        if keep(&name) {
            to.append(name, value);
        }
    }
}

/// `GET /status/{list}`: the status list token, JWT or CWT by `Accept`.
pub async fn status_list(
    State(state): State<AppState>,
    Path(list): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(list) = list.parse::<u32>() else {
        return ops::json_error(StatusCode::NOT_FOUND, "not_found", "no such status list");
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    match state.backend.status_list(list, accept).await {
        Ok(StatusAnswer::Token(token)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, token.content_type),
                (header::CACHE_CONTROL, format!("max-age={}", token.max_age)),
            ],
            token.body,
        )
            .into_response(),
        Ok(StatusAnswer::NoSuchList) => {
            ops::json_error(StatusCode::NOT_FOUND, "not_found", "no such status list")
        }
        Ok(StatusAnswer::NotAcceptable) => ops::json_error(
            StatusCode::NOT_ACCEPTABLE,
            "invalid_request",
            "a status list is served as application/statuslist+jwt or application/statuslist+cwt",
        ),
        Err(e) => {
            tracing::error!(error = %e, list, "status list unavailable");
            ops::server_error()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_error_of_the_protocol_reaches_no_peer() {
        let answer = ProtocolResponse {
            status: 500,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"database password is hunter2".to_vec(),
        };
        let response = into_response(answer);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
    }
}
