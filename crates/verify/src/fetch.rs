//! Retrieving status lists and issuer metadata, behind [`Fetcher`] so that tests and offline
//! runs never touch the network.
//!
//! [`HttpFetcher`] is a thin layer over the workspace's one HTTP client ([`eudi_http`]) and
//! follows the retrieval rules of SD-JWT VC §5 and Token Status List §8.3 and the fetch rules of
//! issue 8 §1: `https` only, to public addresses only (checked on the literal host and on every
//! address the name resolves to, so an issuer-chosen URL cannot reach local services), at most
//! [`MAX_REDIRECTS`] redirects each re-checked and never from `https` to `http`, a time limit, a
//! size limit applied while reading, and error responses never used as content.
//! [`HttpFetcher::allowing_private_network`] is the dev/test switch that also allows plain
//! `http` and loopback or private addresses (a local issuer on `http://127.0.0.1`).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use eudi_http::HttpClient;
use eudi_http::HttpConfig;
use eudi_http::HttpError;
use eudi_http::Request;
use eudi_http::ReqwestClient;
pub use eudi_http::UrlPolicy;

/// Largest response body accepted (bytes).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Time limit for one retrieval, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Most redirects followed for one retrieval.
pub const MAX_REDIRECTS: usize = 3;

/// Why a retrieval failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL (or a redirect, or an address its host resolves to) is not allowed, or there were
    /// too many redirects.
    #[error("refusing to fetch {url}: {reason}")]
    Refused {
        /// The URL.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The network request failed or timed out.
    #[error("fetching {url} failed: {reason}")]
    Network {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("fetching {url} failed: HTTP status {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body is larger than [`MAX_RESPONSE_BYTES`].
    #[error("response from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// Fetching is switched off.
    #[error("not fetching {0}: network access is disabled")]
    Offline(String),
}

impl From<HttpError> for FetchError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Refused { url, reason } => Self::Refused { url, reason },
            HttpError::Network { url, reason } => Self::Network { url, reason },
            HttpError::Timeout { url } => Self::Network {
                url,
                reason: "timed out".into(),
            },
            HttpError::TooLarge { url, limit } => Self::TooLarge { url, limit },
            HttpError::Offline { url } => Self::Offline(url),
            HttpError::Config(reason) => Self::Network {
                url: String::new(),
                reason,
            },
            // `HttpError` is non-exhaustive: a failure it learns to name later is still a
            // failed retrieval.
            other => Self::Network {
                url: String::new(),
                reason: other.to_string(),
            },
        }
    }
}

impl eudi_trust::HasErrorCode for FetchError {
    /// Whatever stopped the retrieval, the status list is unavailable: the credential is then
    /// not reported valid (Token Status List §8.3 leaves the decision to policy; this one fails
    /// closed).
    fn code(&self) -> eudi_trust::ErrorCode {
        match self {
            Self::Refused { .. }
            | Self::Network { .. }
            | Self::Status { .. }
            | Self::TooLarge { .. }
            | Self::Offline(_) => eudi_trust::ErrorCode::StatusUnavailable,
        }
    }
}

/// A boxed future, so the trait stays object-safe.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, FetchError>> + Send + 'a>>;

/// Gets a document by URL.
pub trait Fetcher: Send + Sync + fmt::Debug {
    /// GETs `url` with the given `Accept` media type and returns the body.
    fn get<'a>(&'a self, url: &'a str, accept: &'a str) -> FetchFuture<'a>;
}

/// Fetches with an [`HttpClient`]: by default the reqwest client with the limits above.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: Arc<dyn HttpClient>,
}

impl HttpFetcher {
    /// A fetcher with the module's limits, refusing plain `http` and non-public addresses.
    pub fn new() -> Result<Self, FetchError> {
        Self::with_policy(UrlPolicy::public_https())
    }

    /// DANGER (dev/test, the verifier's `--allow-private-network`): also plain `http`, and
    /// loopback, private and link-local addresses.
    pub fn allowing_private_network() -> Result<Self, FetchError> {
        Self::with_policy(UrlPolicy::allow_private_network())
    }

    fn with_policy(policy: UrlPolicy) -> Result<Self, FetchError> {
        let config = HttpConfig::default()
            .with_timeout(TIMEOUT)
            .with_max_body_bytes(MAX_RESPONSE_BYTES)
            .with_max_redirects(MAX_REDIRECTS)
            .with_policy(policy);
        Ok(Self::with_client(Arc::new(ReqwestClient::new(config)?)))
    }

    /// A fetcher over another client (a service's shared one, or
    /// `eudi_http::mock::MockHttpClient` in tests).
    pub fn with_client(client: Arc<dyn HttpClient>) -> Self {
        Self { client }
    }
}

impl Fetcher for HttpFetcher {
    fn get<'a>(&'a self, url: &'a str, accept: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            let response = self.client.send(Request::get(url).accept(accept)).await?;
            // An error answer is never content (Token Status List §8.3).
            if !response.is_success() {
                return Err(FetchError::Status {
                    url: url.to_owned(),
                    status: response.status,
                });
            }
            Ok(response.body)
        })
    }
}

/// Answers from a fixed map of URL to body, and refuses everything else. For offline runs and
/// tests.
#[derive(Debug, Clone, Default)]
pub struct StaticFetcher {
    documents: HashMap<String, Vec<u8>>,
}

impl StaticFetcher {
    /// A fetcher that knows nothing (every retrieval fails as offline).
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `body` for `url`.
    pub fn with(mut self, url: &str, body: impl Into<Vec<u8>>) -> Self {
        self.documents.insert(url.to_owned(), body.into());
        self
    }
}

impl Fetcher for StaticFetcher {
    fn get<'a>(&'a self, url: &'a str, _accept: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            self.documents
                .get(url)
                .cloned()
                .ok_or_else(|| FetchError::Offline(url.to_owned()))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::io::Write as _;

    use super::*;

    /// A one-shot HTTP/1.1 server on 127.0.0.1 answering `status` with `body`; returns its URL.
    fn serve_once(status: u16, body: &'static str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/status/1", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        url
    }

    #[tokio::test]
    async fn loopback_and_plain_http_are_refused_by_default() {
        let fetcher = HttpFetcher::new().unwrap();
        for url in [
            "http://127.0.0.1:8080/status/1",
            "http://localhost/x",
            "http://issuer.example/status",
            "https://10.0.0.1/status",
            "https://[::1]/x",
            "https://169.254.169.254/latest",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(
                matches!(
                    fetcher.get(url, "application/statuslist+jwt").await,
                    Err(FetchError::Refused { .. })
                ),
                "{url} must be refused"
            );
        }
    }

    #[test]
    fn every_failure_is_status_unavailable() {
        use eudi_trust::HasErrorCode as _;
        let refused = FetchError::from(HttpError::Refused {
            url: "http://127.0.0.1/".into(),
            reason: "x",
        });
        assert!(matches!(refused, FetchError::Refused { .. }));
        let timeout = FetchError::from(HttpError::Timeout { url: "u".into() });
        assert!(matches!(timeout, FetchError::Network { .. }));
        for error in [refused, timeout, FetchError::Offline("u".into())] {
            assert_eq!(error.code(), eudi_trust::ErrorCode::StatusUnavailable);
        }
    }

    #[tokio::test]
    async fn the_switch_allows_a_local_issuer() {
        let url = serve_once(200, "token");
        let fetcher = HttpFetcher::allowing_private_network().unwrap();
        assert_eq!(
            fetcher.get(&url, "application/statuslist+jwt").await,
            Ok(b"token".to_vec())
        );
    }

    #[tokio::test]
    async fn error_answers_are_not_content() {
        let url = serve_once(404, "not here");
        let fetcher = HttpFetcher::allowing_private_network().unwrap();
        assert_eq!(
            fetcher.get(&url, "application/statuslist+jwt").await,
            Err(FetchError::Status { url, status: 404 })
        );
    }
}
