//! Pushed authorization requests (RFC 9126, OpenID4VCI §5), the authorization endpoint, and
//! the end of the person's login: a code, or an error, sent to the client's `redirect_uri`
//! with `iss` (RFC 9207).

use eudi_oauth::ErrorCode;
use eudi_oauth::Form;
use eudi_oauth::OAuthError;
use eudi_oauth::pkce;
use url::Host;
use url::Url;

use super::Issuer;
use super::key_of;
use super::random;
use super::records::CodeRecord;
use super::records::PushedRecord;
use super::records::encode_subject;
use super::records::from_bytes;
use super::records::to_bytes;
use super::store_error;
use crate::endpoint::HttpRequest;
use crate::endpoint::HttpResponse;
use crate::messages::AuthorizationRequest;
use crate::messages::ParResponse;
use crate::store::SessionKind;

/// The prefix of `request_uri` values (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// The longest `state`, `issuer_state`, `client_id` or `redirect_uri` accepted.
pub const MAX_PARAMETER_LEN: usize = 2048;

/// A login in progress: the binary sends the person to MitID with [`Self::id`] as the OIDC
/// `state` and calls [`Issuer::complete_authorization`] or [`Issuer::refuse_authorization`]
/// with it afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAuthorization {
    /// The login's id (random, single-use).
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The configurations asked for.
    pub configuration_ids: Vec<String>,
    /// The offer's `issuer_state`, when the request carried one.
    pub issuer_state: Option<String>,
}

/// Why an authorization request or login cannot go on. None of these is redirected to the
/// client: before a trusted `redirect_uri` is known, an error is shown to the person
/// (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The request is malformed (no `client_id` or `request_uri`).
    #[error("invalid authorization request: {0}")]
    InvalidRequest(String),
    /// The `request_uri` is unknown, used or expired, or was pushed by another client.
    #[error("the authorization request is unknown or expired")]
    UnknownRequest,
    /// The login is unknown, finished or expired.
    #[error("the login is unknown or expired")]
    UnknownLogin,
    /// The issuer failed (store, random); the detail is in the log.
    #[error("internal error")]
    Internal,
}

impl AuthorizeError {
    /// The OAuth error for a JSON page.
    pub fn to_oauth(&self) -> OAuthError {
        match self {
            Self::InvalidRequest(_) => OAuthError::invalid_request(self.to_string()),
            Self::UnknownRequest | Self::UnknownLogin => {
                OAuthError::new(ErrorCode::InvalidRequest, self.to_string())
            }
            Self::Internal => OAuthError::server_error(),
        }
    }
}

fn internal(_: OAuthError) -> AuthorizeError {
    AuthorizeError::Internal
}

/// RFC 8252 §7.3: any port of a loopback IP literal (and `localhost`), plain `http`; otherwise
/// `https`. No fragment (RFC 6749 §3.1.2).
fn redirect_uri_allowed(redirect_uri: &str) -> bool {
    let Ok(url) = Url::parse(redirect_uri) else {
        return false;
    };
    if url.fragment().is_some() || url.cannot_be_a_base() {
        return false;
    }
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => loopback,
        _ => false,
    }
}

impl Issuer {
    /// `POST /par`.
    pub(super) async fn pushed_authorization_request(
        &self,
        request: &HttpRequest,
    ) -> Result<HttpResponse, OAuthError> {
        let form = read_form(request)?;
        let client_id = form.required("client_id")?;
        self.check_client_attestation(request, Some(client_id))
            .await?;
        // RFC 9126 §2.1: a pushed request cannot itself point at a request object.
        if form.contains("request_uri") || form.contains("request") {
            return Err(OAuthError::invalid_request(
                "request_uri and request are not accepted at the PAR endpoint",
            ));
        }
        let pushed = AuthorizationRequest::from_form(&form)?;
        if pushed.response_type != "code" {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "response_type must be code",
            ));
        }
        if pushed.code_challenge_method != "S256"
            || !pkce::is_valid_s256_challenge(&pushed.code_challenge)
        {
            return Err(OAuthError::invalid_request(
                "a PKCE code_challenge with method S256 is required",
            ));
        }
        for value in [
            Some(&pushed.client_id),
            Some(&pushed.redirect_uri),
            pushed.state.as_ref(),
            pushed.issuer_state.as_ref(),
            pushed.scope.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if value.len() > MAX_PARAMETER_LEN {
                return Err(OAuthError::invalid_request("a parameter is too long"));
            }
        }
        if !redirect_uri_allowed(&pushed.redirect_uri) {
            return Err(OAuthError::invalid_request(
                "redirect_uri must be https, or http on a loopback address",
            ));
        }
        let configuration_ids = self.requested_configurations(&pushed)?;

        let dpop = self
            .check_dpop(request, super::paths::PAR, None, None)
            .await?;
        let dpop_jkt = match (&pushed.dpop_jkt, dpop) {
            (Some(jkt), Some(dpop)) if jkt != dpop.verified.jkt() => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidDpopProof,
                    "dpop_jkt is not the DPoP proof's key",
                ));
            }
            (Some(jkt), _) => Some(jkt.clone()),
            (None, Some(dpop)) => Some(dpop.verified.jkt().to_owned()),
            (None, None) => None,
        };

        let record = PushedRecord {
            client_id: pushed.client_id,
            redirect_uri: pushed.redirect_uri,
            code_challenge: pushed.code_challenge,
            state: pushed.state,
            configuration_ids,
            issuer_state: pushed.issuer_state,
            dpop_jkt,
        };
        let request_uri = format!("{REQUEST_URI_PREFIX}{}", random()?);
        let expires_in = self.config.lifetimes.par;
        self.store
            .put(
                SessionKind::PushedRequest,
                &key_of(&request_uri),
                &to_bytes(&record)?,
                self.now().saturating_add(expires_in),
            )
            .await
            .map_err(store_error)?;
        Ok(HttpResponse::json_no_store(
            201,
            &ParResponse {
                request_uri,
                expires_in: u64::try_from(expires_in).unwrap_or_default(),
            },
        ))
    }

    /// The configurations an authorization request asks for, by `authorization_details` and
    /// `scope` (§5.1.1, §5.1.2). Unknown configuration ids are `invalid_request`; unknown scope
    /// values are ignored (RFC 6749 §3.3 lets the server narrow the scope), but nothing
    /// known at all is `invalid_scope`.
    fn requested_configurations(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<Vec<String>, OAuthError> {
        let mut ids: Vec<String> = Vec::new();
        for detail in &request.authorization_details {
            if !self
                .config
                .configurations
                .contains_key(&detail.credential_configuration_id)
            {
                return Err(OAuthError::new(
                    ErrorCode::Other("invalid_authorization_details".into()),
                    "an authorization detail names an unknown credential configuration",
                ));
            }
            if !ids.contains(&detail.credential_configuration_id) {
                ids.push(detail.credential_configuration_id.clone());
            }
        }
        if let Some(scope) = &request.scope {
            for value in scope.split(' ').filter(|value| !value.is_empty()) {
                let found = self
                    .config
                    .configurations
                    .iter()
                    .find(|(_, configuration)| configuration.scope.as_deref() == Some(value));
                if let Some((id, _)) = found
                    && !ids.contains(id)
                {
                    ids.push(id.clone());
                }
            }
        }
        if ids.is_empty() {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "the request names no credential configuration this issuer has",
            ));
        }
        Ok(ids)
    }

    /// The authorization endpoint (`GET /authorize?client_id=…&request_uri=…`): spends the
    /// pushed request (a `request_uri` is single-use, RFC 9126 §4) and starts a login. Other
    /// parameters are ignored: only the pushed ones count (RFC 9126 §4).
    pub async fn authorize(&self, query: &str) -> Result<PendingAuthorization, AuthorizeError> {
        let form = Form::parse(query).map_err(|e| AuthorizeError::InvalidRequest(e.to_string()))?;
        let client_id = form
            .required("client_id")
            .map_err(|e| AuthorizeError::InvalidRequest(e.to_string()))?;
        let request_uri = form
            .required("request_uri")
            .map_err(|e| AuthorizeError::InvalidRequest(e.to_string()))?;
        let now = self.now();
        let record = self
            .store
            .take(SessionKind::PushedRequest, &key_of(request_uri), now)
            .await
            .map_err(|e| internal(store_error(e)))?
            .ok_or(AuthorizeError::UnknownRequest)?;
        let record: PushedRecord = from_bytes(&record).map_err(internal)?;
        if record.client_id != client_id {
            return Err(AuthorizeError::UnknownRequest);
        }
        let id = random().map_err(internal)?;
        self.store
            .put(
                SessionKind::LoginSession,
                &key_of(&id),
                &to_bytes(&record).map_err(internal)?,
                now.saturating_add(self.config.lifetimes.login),
            )
            .await
            .map_err(|e| internal(store_error(e)))?;
        Ok(PendingAuthorization {
            id,
            client_id: record.client_id,
            configuration_ids: record.configuration_ids,
            issuer_state: record.issuer_state,
        })
    }

    async fn take_login(&self, id: &str) -> Result<PushedRecord, AuthorizeError> {
        let record = self
            .store
            .take(SessionKind::LoginSession, &key_of(id), self.now())
            .await
            .map_err(|e| internal(store_error(e)))?
            .ok_or(AuthorizeError::UnknownLogin)?;
        from_bytes(&record).map_err(internal)
    }

    /// The person logged in as `subject`: ends the login, makes an authorization code, and
    /// returns the URL to redirect the person's browser to (`code`, `state`, `iss`).
    pub async fn complete_authorization(
        &self,
        id: &str,
        subject: Vec<u8>,
    ) -> Result<String, AuthorizeError> {
        let request = self.take_login(id).await?;
        let code = random().map_err(internal)?;
        let redirect_uri = request.redirect_uri.clone();
        let state = request.state.clone();
        let record = CodeRecord {
            request,
            subject: encode_subject(&subject),
        };
        self.store
            .put(
                SessionKind::AuthorizationCode,
                &key_of(&code),
                &to_bytes(&record).map_err(internal)?,
                self.now().saturating_add(self.config.lifetimes.code),
            )
            .await
            .map_err(|e| internal(store_error(e)))?;
        self.redirect(
            &redirect_uri,
            &[("code", Some(&code)), ("state", state.as_deref())],
        )
    }

    /// The login failed or the person refused: ends the login and returns the URL to redirect
    /// to with `error`, `error_description`, `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207).
    pub async fn refuse_authorization(
        &self,
        id: &str,
        error: ErrorCode,
        description: &str,
    ) -> Result<String, AuthorizeError> {
        let request = self.take_login(id).await?;
        self.redirect(
            &request.redirect_uri,
            &[
                ("error", Some(error.as_str())),
                ("error_description", Some(description)),
                ("state", request.state.as_deref()),
            ],
        )
    }

    fn redirect(
        &self,
        redirect_uri: &str,
        params: &[(&str, Option<&str>)],
    ) -> Result<String, AuthorizeError> {
        let mut url = Url::parse(redirect_uri).map_err(|_| AuthorizeError::Internal)?;
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in params {
                if let Some(value) = value {
                    pairs.append_pair(name, value);
                }
            }
            pairs.append_pair("iss", &self.config.credential_issuer);
        }
        Ok(url.into())
    }
}

/// The form body of a POST, which must say it is one.
pub(super) fn read_form(request: &HttpRequest) -> Result<Form, OAuthError> {
    let content_type = request.single_header("content-type")?.unwrap_or_default();
    if !eudi_oauth::form::is_media_type(content_type, eudi_oauth::form::CONTENT_TYPE) {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    Ok(Form::parse_bytes(&request.body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_follow_rfc_8252() {
        for good in [
            "https://wallet.example/cb",
            "http://127.0.0.1:49152/cb",
            "http://[::1]:8080/cb?x=1",
            "http://localhost:3000/",
        ] {
            assert!(redirect_uri_allowed(good), "{good}");
        }
        for bad in [
            "http://wallet.example/cb",
            "https://wallet.example/cb#frag",
            "javascript:alert(1)",
            "eudi-wallet://cb",
            "not a url",
        ] {
            assert!(!redirect_uri_allowed(bad), "{bad}");
        }
    }
}
