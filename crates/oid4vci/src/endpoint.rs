//! Framework-free HTTP for the issuer's endpoints: [`HttpRequest`] in, [`HttpResponse`] out. The
//! `eudi-issuer` binary maps its web framework's types onto these; tests call the issuer with
//! them directly.
//!
//! Every error answer is the OAuth JSON body (`{"error","error_description"}`, RFC 6749 §5.2)
//! made from an [`OAuthError`], with its `WWW-Authenticate` challenge when it has one
//! (RFC 6750 §3, RFC 9449 §7.1). Answers that carry tokens, nonces or credentials get
//! `Cache-Control: no-store` (RFC 6749 §5.1, OpenID4VCI §7.2, §8.3).

use eudi_oauth::OAuthError;
use serde::Serialize;

/// The media type of JSON bodies.
pub const JSON: &str = "application/json";
/// The media type of an encrypted credential response (OpenID4VCI §10).
pub const JWT: &str = "application/jwt";

/// An HTTP request as the issuer sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method, upper case (`GET`, `POST`).
    pub method: String,
    /// The path, without query (`/token`).
    pub path: String,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// Header fields, names in lower case, in the order received (a name may repeat).
    pub headers: Vec<(String, String)>,
    /// The body (the binary bounds its size before building the request).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A request with no headers and no body.
    pub fn new(method: &str, path: &str) -> Self {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (path, None),
        };
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (its name lower-cased).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sets a form body with its content type.
    pub fn with_form(self, body: String) -> Self {
        let mut request = self.with_header("content-type", eudi_oauth::form::CONTENT_TYPE);
        request.body = body.into_bytes();
        request
    }

    /// Sets a JSON body with its content type.
    pub fn with_json(self, body: &impl Serialize) -> Self {
        let mut request = self.with_header("content-type", JSON);
        request.body = serde_json::to_vec(body).unwrap_or_default();
        request
    }

    /// Every value of header `name` (lower case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The one value of header `name`: `Ok(None)` when absent, an `invalid_request` when it is
    /// given more than once (RFC 9449 §4.3 asks for exactly one `DPoP` header, for instance).
    pub fn single_header(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "header `{name}` is given more than once"
            )));
        }
        Ok(first)
    }
}

/// An HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header fields (names in lower case).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A JSON answer.
    pub fn json(status: u16, body: &impl Serialize) -> Self {
        match serde_json::to_vec(body) {
            Ok(body) => Self {
                status,
                headers: vec![("content-type".into(), JSON.into())],
                body,
            },
            Err(_) => Self::error(&OAuthError::server_error()),
        }
    }

    /// A JSON answer with `Cache-Control: no-store`.
    pub fn json_no_store(status: u16, body: &impl Serialize) -> Self {
        Self::json(status, body).no_store()
    }

    /// An OAuth error answer: its status, JSON body, `WWW-Authenticate` when it has a challenge,
    /// and `Cache-Control: no-store` (an error of a token or credential endpoint must not be
    /// cached either).
    pub fn error(error: &OAuthError) -> Self {
        let mut response = Self {
            status: error.status(),
            headers: vec![("content-type".into(), JSON.into())],
            body: serde_json::to_vec(&error.to_json()).unwrap_or_default(),
        }
        .no_store();
        if let Some(challenge) = error.challenge() {
            response = response.with_header("www-authenticate", challenge);
        }
        response
    }

    /// A `303 See Other` to `location` (a redirect after a login form's POST).
    pub fn redirect(location: &str) -> Self {
        Self {
            status: 303,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
        }
        .no_store()
    }

    /// A body-less answer (`204 No Content`).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
        .no_store()
    }

    /// A body of another media type.
    pub fn with_body(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Adds `Cache-Control: no-store` (once).
    pub fn no_store(self) -> Self {
        if self.header("cache-control").is_some() {
            return self;
        }
        self.with_header("cache-control", "no-store")
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, for tests and clients.
    pub fn json_body(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl From<OAuthError> for HttpResponse {
    fn from(error: OAuthError) -> Self {
        Self::error(&error)
    }
}

#[cfg(test)]
mod tests {
    use eudi_oauth::ErrorCode;

    use super::*;

    #[test]
    fn errors_are_oauth_json_with_challenge_and_no_store() {
        let error = OAuthError::new(ErrorCode::InvalidToken, "expired")
            .with_challenge("Bearer error=\"invalid_token\"");
        let response = HttpResponse::error(&error);
        assert_eq!(response.status, 401);
        assert_eq!(response.header("content-type"), Some(JSON));
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_eq!(
            response.header("WWW-Authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        let body = response.json_body().unwrap();
        assert_eq!(body["error"], "invalid_token");
        assert_eq!(body["error_description"], "expired");
    }

    #[test]
    fn requests_split_queries_and_refuse_repeated_headers() {
        let request = HttpRequest::new("GET", "/authorize?client_id=a")
            .with_header("DPoP", "x")
            .with_header("dpop", "y");
        assert_eq!(request.path, "/authorize");
        assert_eq!(request.query.as_deref(), Some("client_id=a"));
        assert!(request.single_header("dpop").is_err());
        assert_eq!(request.single_header("authorization").unwrap(), None);
        let response = HttpResponse::json_no_store(200, &serde_json::json!({})).no_store();
        assert_eq!(
            response
                .headers
                .iter()
                .filter(|(n, _)| n == "cache-control")
                .count(),
            1
        );
    }
}
