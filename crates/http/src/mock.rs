//! A test double for [`HttpClient`] (feature `mock`): canned answers per URL, every request
//! recorded, nothing on the network.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::MutexGuard;

use crate::HttpClient;
use crate::HttpError;
use crate::HttpFuture;
use crate::Request;
use crate::Response;
use crate::UrlPolicy;

/// Answers from a map of URL to answer (whatever the method); an unknown URL is
/// [`HttpError::Offline`]. With [`MockHttpClient::with_policy`] it also refuses what the policy
/// refuses, so code paths that depend on the URL rules can be tested without a network.
#[derive(Debug, Default)]
pub struct MockHttpClient {
    answers: HashMap<String, Result<Response, HttpError>>,
    policy: Option<UrlPolicy>,
    requests: Mutex<Vec<Request>>,
}

impl MockHttpClient {
    /// A double that knows no answer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `response` for `url`.
    pub fn with(mut self, url: &str, response: Response) -> Self {
        self.answers.insert(url.to_owned(), Ok(response));
        self
    }

    /// Answers 200 with `body` as `content_type` for `url`.
    pub fn with_body(self, url: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.with(
            url,
            Response::new(200, body).with_header("content-type", content_type),
        )
    }

    /// Fails requests to `url` with `error`.
    pub fn with_error(mut self, url: &str, error: HttpError) -> Self {
        self.answers.insert(url.to_owned(), Err(error));
        self
    }

    /// Checks every request's URL with `policy` first.
    pub fn with_policy(mut self, policy: UrlPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The requests sent so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.requests).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        // A list of recorded requests holds no invariant a panicking holder could break.
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl HttpClient for MockHttpClient {
    fn send(&self, request: Request) -> HttpFuture<'_> {
        Box::pin(async move {
            lock(&self.requests).push(request.clone());
            if let Some(policy) = &self.policy {
                policy.check_url(&request.url)?;
            }
            self.answers
                .get(&request.url)
                .cloned()
                .unwrap_or(Err(HttpError::Offline { url: request.url }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_and_records() {
        let mock = MockHttpClient::new()
            .with_body("https://a.example/x", "application/json", "{}")
            .with_error(
                "https://a.example/down",
                HttpError::Timeout {
                    url: "https://a.example/down".into(),
                },
            )
            .with_policy(UrlPolicy::public_https());
        let answer = mock
            .send(Request::get("https://a.example/x").accept("application/json"))
            .await
            .unwrap();
        assert_eq!(answer.body, b"{}");
        assert!(answer.is("application/json"));
        assert!(matches!(
            mock.send(Request::get("https://a.example/down")).await,
            Err(HttpError::Timeout { .. })
        ));
        assert!(matches!(
            mock.send(Request::get("https://a.example/other")).await,
            Err(HttpError::Offline { .. })
        ));
        assert!(matches!(
            mock.send(Request::get("http://127.0.0.1/x")).await,
            Err(HttpError::Refused { .. })
        ));
        let sent = mock.requests();
        assert_eq!(sent.len(), 4);
        assert_eq!(sent[0].header_value("Accept"), Some("application/json"));
    }
}
