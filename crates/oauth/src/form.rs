//! `application/x-www-form-urlencoded` parameters as OAuth reads them (RFC 6749 §3.1, §3.2):
//! a parameter given twice is an error, a parameter without a value is as if omitted, and
//! unknown parameters are ignored by the caller (they are kept here).

use std::collections::HashMap;

use crate::error::OAuthError;

/// The media type of form bodies.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Most parameters read from one form; more is refused rather than stored.
pub const MAX_PARAMETERS: usize = 64;

/// Why a form was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// A parameter is given more than once (RFC 6749 §3.1).
    #[error("parameter `{0}` is given more than once")]
    Duplicate(String),
    /// More than [`MAX_PARAMETERS`] parameters.
    #[error("more than {MAX_PARAMETERS} parameters")]
    TooManyParameters,
    /// The body is not UTF-8.
    #[error("the form is not UTF-8")]
    NotUtf8,
    /// A required parameter is missing or empty.
    #[error("parameter `{0}` is missing")]
    Missing(&'static str),
}

impl From<FormError> for OAuthError {
    fn from(error: FormError) -> Self {
        Self::invalid_request(error.to_string())
    }
}

/// Parsed form parameters, each name once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    params: HashMap<String, String>,
}

impl Form {
    /// Parses a query string or form body (without a leading `?`).
    pub fn parse(input: &str) -> Result<Self, FormError> {
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(input.as_bytes()) {
            if params.len() == MAX_PARAMETERS && !params.contains_key(name.as_ref()) {
                return Err(FormError::TooManyParameters);
            }
            if params
                .insert(name.clone().into_owned(), value.into_owned())
                .is_some()
            {
                return Err(FormError::Duplicate(name.into_owned()));
            }
        }
        Ok(Self { params })
    }

    /// Parses a form body, which must be UTF-8.
    pub fn parse_bytes(input: &[u8]) -> Result<Self, FormError> {
        Self::parse(std::str::from_utf8(input).map_err(|_| FormError::NotUtf8)?)
    }

    /// The value of `name`; `None` when absent or empty ("parameters sent without a value MUST
    /// be treated as if they were omitted", RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value of `name`, which must be present and not empty.
    pub fn required(&self, name: &'static str) -> Result<&str, FormError> {
        self.get(name).ok_or(FormError::Missing(name))
    }

    /// Whether `name` is given with a value.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every parameter, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many parameters were given.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether no parameter was given.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}

/// Whether a `Content-Type` value is `media_type` (parameters such as `charset` ignored, case
/// insensitive).
pub fn is_media_type(content_type: &str, media_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(media_type))
}

/// Encodes parameters as a form body.
pub fn encode<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_decoded() {
        let form = Form::parse("a=1&b=x+y&c=%26%3D&unknown=z").unwrap();
        assert_eq!(form.get("a"), Some("1"));
        assert_eq!(form.get("b"), Some("x y"));
        assert_eq!(form.get("c"), Some("&="));
        assert_eq!(form.len(), 4);
        assert_eq!(
            Form::parse(&encode([("k", "a b&c")])).unwrap().get("k"),
            Some("a b&c")
        );
    }

    #[test]
    fn a_parameter_given_twice_is_refused() {
        assert_eq!(
            Form::parse("code=a&state=s&code=b"),
            Err(FormError::Duplicate("code".into()))
        );
        // Also when one of them is empty, and when spelt with an escape.
        assert_eq!(
            Form::parse("code=&code=b"),
            Err(FormError::Duplicate("code".into()))
        );
        assert_eq!(
            Form::parse("code=a&c%6Fde=b"),
            Err(FormError::Duplicate("code".into()))
        );
    }

    #[test]
    fn empty_values_count_as_omitted() {
        let form = Form::parse("state=&nonce=n").unwrap();
        assert_eq!(form.get("state"), None);
        assert!(!form.contains("state"));
        assert_eq!(form.required("state"), Err(FormError::Missing("state")));
        assert_eq!(form.required("nonce"), Ok("n"));
    }

    #[test]
    fn the_number_of_parameters_is_bounded() {
        let at_limit: Vec<String> = (0..MAX_PARAMETERS).map(|i| format!("p{i}=v")).collect();
        assert!(Form::parse(&at_limit.join("&")).is_ok());
        let over = format!("{}&one=more", at_limit.join("&"));
        assert_eq!(Form::parse(&over), Err(FormError::TooManyParameters));
    }

    #[test]
    fn bodies_must_be_utf8() {
        assert_eq!(Form::parse_bytes(b"a=\xff"), Err(FormError::NotUtf8));
        assert_eq!(Form::parse_bytes(b"a=%C3%A6").unwrap().get("a"), Some("æ"));
    }

    #[test]
    fn media_types() {
        assert!(is_media_type(
            "application/x-www-form-urlencoded; charset=UTF-8",
            CONTENT_TYPE
        ));
        assert!(is_media_type("Application/JSON", "application/json"));
        assert!(!is_media_type("application/jsonx", "application/json"));
        let error = OAuthError::from(FormError::Duplicate("code".into()));
        assert_eq!(error.status(), 400);
        assert_eq!(
            error.description.as_deref(),
            Some("parameter `code` is given more than once")
        );
    }
}
