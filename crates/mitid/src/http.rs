//! The HTTP the OIDC client does: URL rules, time limits, size limits, no redirects.

use std::time::Duration;

use url::Url;

use crate::client::OidcError;

/// One HTTP answer, read within the size limit.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl RawResponse {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the body is declared as `media_type` (parameters such as `charset` ignored).
    pub(crate) fn is(&self, media_type: &str) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(media_type))
        })
    }
}

/// Whether the client may talk to `url`: `https`, or plain `http` to a loopback host (where the
/// embedded test provider runs), or any `http` when `allow_insecure_http` is set.
pub fn check_endpoint_url(url: &str, allow_insecure_http: bool) -> Result<Url, OidcError> {
    let refused = |reason: &'static str| OidcError::UrlRefused {
        url: url.to_owned(),
        reason,
    };
    let parsed = Url::parse(url).map_err(|_| refused("not a valid absolute URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refused("URLs with user information are not used"));
    }
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if allow_insecure_http => Ok(parsed),
        "http" => match parsed.host() {
            Some(url::Host::Domain("localhost")) => Ok(parsed),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(parsed),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(parsed),
            _ => Err(refused("plain http is only allowed to loopback hosts")),
        },
        _ => Err(refused("only https URLs are used")),
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    max_bytes: usize,
    allow_insecure_http: bool,
}

impl Http {
    pub(crate) fn new(
        timeout: Duration,
        max_bytes: usize,
        allow_insecure_http: bool,
    ) -> Result<Self, OidcError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // An OpenID provider answers its endpoints directly; a redirect is not followed, so a
            // token request (with the client's credentials) never goes anywhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OidcError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            max_bytes,
            allow_insecure_http,
        })
    }

    pub(crate) fn check_url(&self, url: &str) -> Result<Url, OidcError> {
        check_endpoint_url(url, self.allow_insecure_http)
    }

    pub(crate) async fn get(
        &self,
        url: &str,
        accept: &str,
        bearer: Option<&str>,
    ) -> Result<RawResponse, OidcError> {
        let parsed = self.check_url(url)?;
        let mut request = self
            .client
            .get(parsed)
            .header(reqwest::header::ACCEPT, accept);
        if let Some(token) = bearer {
            request = request.header(reqwest::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(url, request).await
    }

    pub(crate) async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        authorization: Option<String>,
    ) -> Result<RawResponse, OidcError> {
        let parsed = self.check_url(url)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = self
            .client
            .post(parsed)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        if let Some(value) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        self.send(url, request).await
    }

    async fn send(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<RawResponse, OidcError> {
        let net = |e: reqwest::Error| OidcError::Http {
            url: url.to_owned(),
            reason: e.to_string(),
        };
        let mut response = request.send().await.map_err(net)?;
        let too_large = || OidcError::TooLarge {
            url: url.to_owned(),
            limit: self.max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(too_large());
        }
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(net)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            content_type,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert!(check_endpoint_url("https://broker.example/op", false).is_ok());
        assert!(check_endpoint_url("http://127.0.0.1:8080/mitid", false).is_ok());
        assert!(check_endpoint_url("http://localhost/x", false).is_ok());
        assert!(check_endpoint_url("http://[::1]:9/x", false).is_ok());
        assert!(check_endpoint_url("http://broker.example/op", false).is_err());
        assert!(check_endpoint_url("http://broker.example/op", true).is_ok());
        assert!(check_endpoint_url("ftp://broker.example/op", true).is_err());
        assert!(check_endpoint_url("https://user:pw@broker.example/", false).is_err());
        assert!(check_endpoint_url("/relative", false).is_err());
    }
}
