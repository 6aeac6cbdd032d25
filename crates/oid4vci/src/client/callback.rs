//! The authorization response the wallet's redirect URI receives (RFC 6749 §4.1.2, §4.1.2.1,
//! RFC 9207 §2): read from the callback URL or its query, each parameter at most once.

use eudi_oauth::ErrorCode;
use eudi_oauth::Form;
use eudi_oauth::OAuthError;
use eudi_oauth::token::constant_time_eq;
use url::Url;

use crate::client::ClientError;

/// Longest callback (URL or query) read, in bytes: a code, a state and an `iss` are a few hundred.
pub const MAX_CALLBACK_LEN: usize = 8 * 1024;

/// Reads the callback (`https://wallet.example/cb?code=…&state=…&iss=…`, or its query with or
/// without the leading `?`), and checks it in the order RFC 9207 §2.4 asks: `state`, then
/// `iss` (before the rest, errors included, is looked at), then `error` or `code`. Returns the
/// authorization code.
pub(crate) fn read(
    callback: &str,
    expected_state: &str,
    expected_issuer: &str,
    iss_required: bool,
) -> Result<String, ClientError> {
    if callback.len() > MAX_CALLBACK_LEN {
        return Err(ClientError::TooLarge {
            what: "authorization response",
            limit: MAX_CALLBACK_LEN,
        });
    }
    let query = match Url::parse(callback) {
        Ok(url) => url.query().unwrap_or_default().to_owned(),
        Err(_) => callback.strip_prefix('?').unwrap_or(callback).to_owned(),
    };
    let params = Form::parse(&query).map_err(|e| {
        ClientError::invalid_response("authorization", format!("unreadable callback: {e}"))
    })?;
    match params.get("state") {
        Some(state) if constant_time_eq(state, expected_state) => {}
        _ => return Err(ClientError::StateMismatch),
    }
    match params.get("iss") {
        Some(iss) if iss == expected_issuer => {}
        None if !iss_required => {}
        found => {
            return Err(ClientError::IssuerMismatch {
                expected: expected_issuer.to_owned(),
                found: found.map(str::to_owned),
            });
        }
    }
    if let Some(code) = params.get("error") {
        let body = serde_json::json!({
            "error": code,
            "error_description": params.get("error_description"),
        });
        let error = serde_json::to_vec(&body)
            .ok()
            .and_then(|body| OAuthError::from_response(400, &body))
            .unwrap_or_else(|| OAuthError::new(ErrorCode::parse(code), "unreadable error"));
        return Err(ClientError::AuthorizationDenied(error));
    }
    match params.get("code") {
        Some(code) if !code.is_empty() => Ok(code.to_owned()),
        _ => Err(ClientError::invalid_response(
            "authorization",
            "neither a code nor an error",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AS: &str = "https://issuer.example";

    #[test]
    fn code_with_state_and_iss() {
        let cb = read(
            "https://wallet.example/cb?code=abc&state=s1&iss=https%3A%2F%2Fissuer.example",
            "s1",
            AS,
            true,
        )
        .unwrap();
        assert_eq!(cb, "abc");
        assert_eq!(read("?code=abc&state=s1", "s1", AS, false).unwrap(), "abc");
        assert_eq!(read("code=abc&state=s1", "s1", AS, false).unwrap(), "abc");
    }

    #[test]
    fn state_iss_and_errors() {
        assert_eq!(
            read("code=abc&state=s2", "s1", AS, false).unwrap_err(),
            ClientError::StateMismatch
        );
        assert_eq!(
            read("code=abc", "s1", AS, false).unwrap_err(),
            ClientError::StateMismatch
        );
        assert!(matches!(
            read("code=abc&state=s1", "s1", AS, true).unwrap_err(),
            ClientError::IssuerMismatch { found: None, .. }
        ));
        assert!(matches!(
            read(
                "code=abc&state=s1&iss=https://evil.example",
                "s1",
                AS,
                false
            )
            .unwrap_err(),
            ClientError::IssuerMismatch { found: Some(_), .. }
        ));
        // A forged error (wrong state) is a state mismatch, not a denial.
        assert_eq!(
            read("error=access_denied&state=x", "s1", AS, false).unwrap_err(),
            ClientError::StateMismatch
        );
        let denied = read(
            "error=access_denied&error_description=User+cancelled&state=s1",
            "s1",
            AS,
            false,
        )
        .unwrap_err();
        let ClientError::AuthorizationDenied(error) = denied else {
            panic!("{denied:?}")
        };
        assert_eq!(error.code, ErrorCode::AccessDenied);
        assert_eq!(error.description.as_deref(), Some("User cancelled"));
        assert!(matches!(
            read("code=a&code=b&state=s1", "s1", AS, false).unwrap_err(),
            ClientError::InvalidResponse { .. }
        ));
        assert!(matches!(
            read("state=s1", "s1", AS, false).unwrap_err(),
            ClientError::InvalidResponse { .. }
        ));
        assert!(matches!(
            read(&"a".repeat(MAX_CALLBACK_LEN + 1), "s1", AS, false).unwrap_err(),
            ClientError::TooLarge { .. }
        ));
    }
}
