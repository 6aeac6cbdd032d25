//! Retrieving status lists and issuer metadata, behind a trait so that tests and offline runs
//! never touch the network.
//!
//! [`HttpFetcher`] follows the retrieval rules of SD-JWT VC §5 and Token Status List §8.3:
//! `https` only (plain `http` is allowed to loopback hosts, where the embedded issuer runs),
//! bounded redirects re-checked at every hop, a time limit, a size limit, and error responses
//! never used as content.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

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
    /// The URL is not allowed (not https, not loopback http, unparsable).
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

/// A boxed future, so the trait stays object-safe.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, FetchError>> + Send + 'a>>;

/// Gets a document by URL.
pub trait Fetcher: Send + Sync + fmt::Debug {
    /// GETs `url` with the given `Accept` media type and returns the body.
    fn get<'a>(&'a self, url: &'a str, accept: &'a str) -> FetchFuture<'a>;
}

/// Whether `url` may be fetched: `https`, or `http` to a loopback host.
pub fn allowed_url(url: &str) -> Result<(), FetchError> {
    let refused = |reason| FetchError::Refused {
        url: url.to_owned(),
        reason,
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| refused("not a valid URL"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err(refused("plain http is only allowed to loopback hosts")),
        },
        _ => Err(refused("only https URLs are fetched")),
    }
}

/// Fetches over HTTP(S) with the limits above.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
}

impl HttpFetcher {
    /// A fetcher with the module's limits.
    pub fn new() -> Result<Self, FetchError> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if allowed_url(attempt.url().as_str()).is_err() {
                attempt.error("redirect to a URL that is not allowed")
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(policy)
            .build()
            .map_err(|e| FetchError::Network {
                url: String::new(),
                reason: e.to_string(),
            })?;
        Ok(Self { client })
    }
}

impl Fetcher for HttpFetcher {
    fn get<'a>(&'a self, url: &'a str, accept: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            allowed_url(url)?;
            let net = |e: reqwest::Error| FetchError::Network {
                url: url.to_owned(),
                reason: e.to_string(),
            };
            let mut response = self
                .client
                .get(url)
                .header(reqwest::header::ACCEPT, accept)
                .send()
                .await
                .map_err(net)?;
            if !response.status().is_success() {
                return Err(FetchError::Status {
                    url: url.to_owned(),
                    status: response.status().as_u16(),
                });
            }
            let too_large = || FetchError::TooLarge {
                url: url.to_owned(),
                limit: MAX_RESPONSE_BYTES,
            };
            if response
                .content_length()
                .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
            {
                return Err(too_large());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(net)? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
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
    use super::*;

    #[test]
    fn url_rules() {
        assert!(allowed_url("https://issuer.example/status/1").is_ok());
        assert!(allowed_url("http://127.0.0.1:8080/status/1").is_ok());
        assert!(allowed_url("http://localhost/x").is_ok());
        assert!(allowed_url("http://[::1]:9/x").is_ok());
        assert!(allowed_url("http://issuer.example/status").is_err());
        assert!(allowed_url("http://10.0.0.1/status").is_err());
        assert!(allowed_url("file:///etc/passwd").is_err());
        assert!(allowed_url("not a url").is_err());
    }
}
