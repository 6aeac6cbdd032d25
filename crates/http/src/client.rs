//! The reqwest implementation of [`HttpClient`], with every limit named.

use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::HttpClient;
use crate::HttpError;
use crate::HttpFuture;
use crate::Method;
use crate::Request;
use crate::Response;
use crate::policy::NonPublicAddress;
use crate::policy::UrlPolicy;
use crate::policy::check_resolved;

/// Time limit to establish a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time limit for a whole exchange: connection, request, and the response body to its end.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read (bytes); a longer one is cut off and refused.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Redirects followed by default: none (an OpenID provider answers its endpoints directly, so a
/// token request with the client's credentials never goes anywhere else).
pub const DEFAULT_MAX_REDIRECTS: usize = 0;

/// The limits and the URL policy of a [`ReqwestClient`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Time limit to connect.
    pub connect_timeout: Duration,
    /// Time limit for the whole exchange, body included.
    pub timeout: Duration,
    /// Largest response body read.
    pub max_body_bytes: usize,
    /// Most redirects followed, each checked by [`UrlPolicy::check_redirect`]; 0 returns the
    /// 3xx answer itself.
    pub max_redirects: usize,
    /// Where requests may go.
    pub policy: UrlPolicy,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            policy: UrlPolicy::public_https(),
        }
    }
}

impl HttpConfig {
    /// Sets the total time limit (and lowers the connect limit to it if it is longer).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.connect_timeout = self.connect_timeout.min(timeout);
        self
    }

    /// Sets the body size limit.
    pub fn with_max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Follows up to `redirects` redirects.
    pub fn with_max_redirects(mut self, redirects: usize) -> Self {
        self.max_redirects = redirects;
        self
    }

    /// Sets the URL policy.
    pub fn with_policy(mut self, policy: UrlPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// Why a redirect was not followed (carried through reqwest's error chain).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedirectRefused(&'static str);

/// Resolves names with the system resolver, then refuses the name if any address is not public
/// (unless the policy allows it). reqwest connects only to the addresses returned, so what is
/// checked is what is used: no second lookup that a rebinding name could answer differently.
#[derive(Debug)]
struct CheckedResolver {
    policy: UrlPolicy,
    /// Unit tests answer every name with these addresses instead of asking the system.
    #[cfg(test)]
    fixed: Option<Vec<IpAddr>>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        #[cfg(test)]
        let fixed = self.fixed.clone();
        Box::pin(async move {
            #[cfg(test)]
            if let Some(fixed) = fixed {
                let ips: Vec<IpAddr> = fixed;
                check_resolved(&policy, &host, &ips)?;
                let addrs: reqwest::dns::Addrs = Box::new(
                    ips.into_iter()
                        .map(|ip| std::net::SocketAddr::new(ip, 0))
                        .collect::<Vec<_>>()
                        .into_iter(),
                );
                return Ok(addrs);
            }
            let addresses: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ips: Vec<IpAddr> = addresses.iter().map(|a| a.ip()).collect();
            check_resolved(&policy, &host, &ips)?;
            let addrs: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// The reqwest [`HttpClient`]: HTTP/1.1 over rustls, with the limits of its
/// [`HttpConfig`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ReqwestClient {
    client: reqwest::Client,
    config: HttpConfig,
}

impl ReqwestClient {
    /// A client with `config`'s limits.
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        Self::build(
            config,
            #[cfg(test)]
            None,
        )
    }

    fn build(
        config: HttpConfig,
        #[cfg(test)] fixed: Option<Vec<IpAddr>>,
    ) -> Result<Self, HttpError> {
        let policy = config.policy;
        let max_redirects = config.max_redirects;
        let redirect = if max_redirects == 0 {
            reqwest::redirect::Policy::none()
        } else {
            reqwest::redirect::Policy::custom(move |attempt| {
                // `previous` holds every URL requested so far, the first one included.
                if attempt.previous().len() > max_redirects {
                    return attempt.error(RedirectRefused("too many redirects"));
                }
                let checked = match attempt.previous().last() {
                    Some(from) => policy.check_redirect(from, attempt.url()),
                    None => policy.check_parsed(attempt.url()),
                };
                match checked {
                    Ok(()) => attempt.follow(),
                    Err(HttpError::Refused { reason, .. }) => {
                        attempt.error(RedirectRefused(reason))
                    }
                    Err(_) => attempt.error(RedirectRefused("redirect refused")),
                }
            })
        };
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(redirect)
            // A proxy from the environment would resolve names itself, out of the resolver's
            // reach; the services configure none.
            .no_proxy()
            .https_only(!policy.allows_private_network());
        if !policy.allows_private_network() {
            builder = builder.dns_resolver(Arc::new(CheckedResolver {
                policy,
                #[cfg(test)]
                fixed,
            }));
        }
        let client = builder
            .build()
            .map_err(|e| HttpError::Config(e.to_string()))?;
        Ok(Self { client, config })
    }

    /// The limits and policy.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    async fn exchange(&self, request: Request) -> Result<Response, HttpError> {
        let url = self.config.policy.check_url(&request.url)?;
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.client.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let mut response = builder.send().await.map_err(|e| error(&request.url, &e))?;
        let limit = self.config.max_body_bytes;
        let too_large = || HttpError::TooLarge {
            url: request.url.clone(),
            limit,
        };
        if response
            .content_length()
            .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(too_large());
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        // Read while streaming and stop at the limit: a body without (or lying about) its
        // length never gets past `limit` bytes in memory.
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| error(&request.url, &e))?
        {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

impl HttpClient for ReqwestClient {
    fn send(&self, request: Request) -> HttpFuture<'_> {
        Box::pin(self.exchange(request))
    }
}

/// Maps a reqwest error, recognising the policy's refusals in its source chain.
fn error(url: &str, e: &reqwest::Error) -> HttpError {
    let at = e
        .url()
        .map_or_else(|| url.to_owned(), |u| u.as_str().to_owned());
    let mut source: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(cause) = source {
        if cause.downcast_ref::<NonPublicAddress>().is_some() {
            return HttpError::Refused {
                url: at,
                reason: "the host resolves to an address that is not public",
            };
        }
        if let Some(RedirectRefused(reason)) = cause.downcast_ref::<RedirectRefused>() {
            return HttpError::Refused { url: at, reason };
        }
        source = cause.source();
    }
    if e.is_timeout() {
        return HttpError::Timeout { url: at };
    }
    HttpError::Network {
        url: at,
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client whose resolver answers every name with `addresses`.
    fn resolving_to(addresses: &[&str]) -> ReqwestClient {
        let ips = addresses.iter().map(|a| a.parse().unwrap()).collect();
        ReqwestClient::build(HttpConfig::default(), Some(ips)).unwrap()
    }

    #[tokio::test]
    async fn a_public_name_pointing_at_a_private_address_is_refused() {
        for addresses in [
            &["127.0.0.1"][..],
            &["10.0.0.7"],
            &["::1"],
            &["::ffff:127.0.0.1"],
            &["169.254.169.254"],
            // Rebinding: one public and one loopback address.
            &["93.184.215.14", "127.0.0.1"],
        ] {
            let client = resolving_to(addresses);
            match client
                .send(Request::get("https://issuer.example/status/1"))
                .await
            {
                Err(HttpError::Refused { reason, .. }) => assert_eq!(
                    reason, "the host resolves to an address that is not public",
                    "{addresses:?}"
                ),
                other => panic!("{addresses:?}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn the_system_resolver_is_checked_too() {
        // `localhost` resolves to loopback on every system, without DNS: the system lookup's
        // answer is checked like any other.
        let resolver = CheckedResolver {
            policy: UrlPolicy::public_https(),
            fixed: None,
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let error = reqwest::dns::Resolve::resolve(&resolver, name)
            .await
            .err()
            .expect("localhost must be refused");
        assert!(
            error.downcast_ref::<NonPublicAddress>().is_some(),
            "{error}"
        );
    }
}
