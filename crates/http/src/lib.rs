//! One bounded HTTP client for the issuer, the verifier, the wallet and the MitID client.
//!
//! * [`HttpClient`]: the one trait (object-safe, boxed futures): send a [`Request`] (method, URL,
//!   headers such as `Accept`, `Content-Type`, `Authorization`, `DPoP`, body), get a
//!   [`Response`] (status, headers, body). A non-2xx status is an answer, not an error: OAuth
//!   and OpenID4VCI errors come with bodies the caller reads.
//! * [`ReqwestClient`]: the implementation, with every limit in [`HttpConfig`]: connect and
//!   total time limits, a body size limit applied while the body streams in, a bounded number
//!   of redirects each re-checked (none by default), no proxy, and the address rules of
//!   [`policy::UrlPolicy`] on the literal host and on every resolved address.
//! * `mock::MockHttpClient` (feature `mock`): canned answers per URL, recorded requests.
//!
//! ```no_run
//! use eudi_http::{HttpClient, HttpConfig, ReqwestClient, Request};
//!
//! # async fn run() -> Result<(), eudi_http::HttpError> {
//! let client = ReqwestClient::new(HttpConfig::default().with_max_redirects(3))?;
//! let response = client
//!     .send(Request::get("https://issuer.example/status/1").accept("application/statuslist+jwt"))
//!     .await?;
//! if response.is_success() && response.is("application/statuslist+jwt") {
//!     let _token = response.body;
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod client;
#[cfg(any(test, feature = "mock"))]
pub mod mock;
pub mod policy;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use client::DEFAULT_CONNECT_TIMEOUT;
pub use client::DEFAULT_MAX_BODY_BYTES;
pub use client::DEFAULT_MAX_REDIRECTS;
pub use client::DEFAULT_TIMEOUT;
pub use client::HttpConfig;
pub use client::ReqwestClient;
pub use policy::UrlPolicy;

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL (or a redirect, or an address the host resolves to) is not allowed by the
    /// [`UrlPolicy`], or there were too many redirects.
    #[error("refusing to request {url}: {reason}")]
    Refused {
        /// The URL.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The connection or the exchange failed.
    #[error("request to {url} failed: {reason}")]
    Network {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The connect or total time limit passed.
    #[error("request to {url} timed out")]
    Timeout {
        /// The URL.
        url: String,
    },
    /// The response body is larger than the limit.
    #[error("response from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// No answer is available without the network (the test double knows no answer for the URL).
    #[error("no answer for {url}: network access is disabled")]
    Offline {
        /// The URL.
        url: String,
    },
    /// The client could not be built (a fault of this side).
    #[error("cannot build the HTTP client: {0}")]
    Config(String),
}

/// The request methods used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// Header names whose values are secrets, never printed by `Debug`.
const SECRET_HEADERS: [&str; 3] = ["authorization", "dpop", "cookie"];

/// One request. `Debug` prints neither secret header values nor the body (a form may carry a
/// client secret).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `GET`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A `POST` of `body` as `content_type`.
    pub fn post(url: impl Into<String>, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut request = Self::new(Method::Post, url).header("content-type", content_type);
        request.body = body.into();
        request
    }

    /// A `POST` of form parameters (`application/x-www-form-urlencoded`).
    pub fn post_form<'a>(
        url: impl Into<String>,
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        Self::post(url, "application/x-www-form-urlencoded", body)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Accept`.
    pub fn accept(self, media_types: &str) -> Self {
        self.header("accept", media_types)
    }

    /// Adds `Authorization: Bearer <token>` (RFC 6750 §2.1).
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let secret = SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s));
                (name.as_str(), if secret { "***" } else { value.as_str() })
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// One answer, its body read within the size limit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Header names (lowercase) and values that are visible ASCII, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// An answer with `status` and `body` and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The `Content-Type`.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// Whether the body is declared as `media_type` (parameters such as `charset` ignored).
    pub fn is(&self, media_type: &str) -> bool {
        self.content_type().is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(media_type))
        })
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A boxed future, so that [`HttpClient`] stays object-safe.
pub type HttpFuture<'a> = Pin<Box<dyn Future<Output = Result<Response, HttpError>> + Send + 'a>>;

/// Sends requests. Implementations apply their limits and [`UrlPolicy`] to every request.
pub trait HttpClient: Send + Sync + fmt::Debug {
    /// Sends `request` and reads the answer (any status).
    fn send(&self, request: Request) -> HttpFuture<'_>;
}

impl<T: HttpClient + ?Sized> HttpClient for std::sync::Arc<T> {
    fn send(&self, request: Request) -> HttpFuture<'_> {
        (**self).send(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let request = Request::post_form("https://op.example/token", [("client_secret", "s3cret")])
            .header("Authorization", "Basic c2VjcmV0")
            .header("DPoP", "eyJ...")
            .accept("application/json");
        let debug = format!("{request:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(!debug.contains("c2VjcmV0"), "{debug}");
        assert!(!debug.contains("eyJ"), "{debug}");
        assert!(debug.contains("application/json"), "{debug}");
        assert_eq!(
            request.header_value("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.body, b"client_secret=s3cret");
    }

    #[test]
    fn response_media_types() {
        let response =
            Response::new(200, "{}").with_header("Content-Type", "application/json; charset=utf-8");
        assert!(response.is_success());
        assert!(response.is("application/json"));
        assert!(!response.is("application/jwt"));
        assert!(!Response::new(302, "").is_success());
        assert!(!Response::new(200, "").is("application/json"));
    }
}
