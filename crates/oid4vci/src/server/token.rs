//! The token endpoint (OpenID4VCI §6): the authorization code grant with PKCE S256 and the
//! pre-authorized code grant with `tx_code`, issuing DPoP-bound tokens when the client sends a
//! DPoP proof (HAIP 1.0 §4.3).

use eudi_oauth::ErrorCode;
use eudi_oauth::OAuthError;
use eudi_oauth::pkce;
use eudi_oauth::token::constant_time_eq;

use super::Issuer;
use super::authorization::read_form;
use super::key_of;
use super::random;
use super::records::CodeRecord;
use super::records::GrantRecord;
use super::records::GrantedCredential;
use super::records::TokenRecord;
use super::records::from_bytes;
use super::records::to_bytes;
use super::store_error;
use crate::endpoint::HttpRequest;
use crate::endpoint::HttpResponse;
use crate::messages::AuthorizationDetail;
use crate::messages::TokenRequest;
use crate::messages::TokenResponse;
use crate::store::Redemption;
use crate::store::SessionKind;

/// The storage key of a transaction code: bound to its pre-authorized code, so equal codes of
/// two offers give different keys (store contract of `NewPreAuthorizedCode::tx_code_key`).
pub(super) fn tx_code_key(pre_authorized_code: &str, tx_code: &str) -> String {
    key_of(&format!("{pre_authorized_code}\u{0}{tx_code}"))
}

impl Issuer {
    /// `POST /token`.
    pub(super) async fn token(&self, request: &HttpRequest) -> Result<HttpResponse, OAuthError> {
        match self.token_inner(request).await {
            Ok(response) => Ok(response),
            Err(error) => {
                let response = HttpResponse::error(&error);
                Ok(self.with_dpop_nonce(response, &error).await)
            }
        }
    }

    async fn token_inner(&self, request: &HttpRequest) -> Result<HttpResponse, OAuthError> {
        let form = read_form(request)?;
        let token_request = TokenRequest::from_form(&form)?;
        let client_id = match &token_request {
            TokenRequest::AuthorizationCode { client_id, .. }
            | TokenRequest::PreAuthorizedCode { client_id, .. } => client_id.clone(),
        };
        // Everything that needs no secret comes first, so a bad proof spends no code.
        let dpop = self
            .check_dpop(request, super::paths::TOKEN, None, None)
            .await?;
        let attestation = self
            .check_client_attestation(request, client_id.as_deref())
            .await?;
        let client_id =
            client_id.or_else(|| attestation.as_ref().map(|a| a.client_id().to_owned()));
        let dpop_jkt = dpop.as_ref().map(|dpop| dpop.verified.jkt().to_owned());
        let now = self.now();

        let (subject, configuration_ids) = match &token_request {
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
                ..
            } => {
                let record = self
                    .store
                    .take(SessionKind::AuthorizationCode, &key_of(code), now)
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| {
                        OAuthError::invalid_grant("the code is invalid, expired or used")
                    })?;
                let record: CodeRecord = from_bytes(&record)?;
                let pushed = &record.request;
                if client_id.as_deref() != Some(pushed.client_id.as_str()) {
                    return Err(OAuthError::invalid_grant(
                        "the code was issued to another client",
                    ));
                }
                // RFC 6749 §4.1.3: the redirect_uri of the authorization request, identical.
                if redirect_uri.as_deref() != Some(pushed.redirect_uri.as_str()) {
                    return Err(OAuthError::invalid_grant(
                        "redirect_uri is not the one of the authorization request",
                    ));
                }
                if !pkce::is_valid_verifier(code_verifier)
                    || !pkce::verify_s256(code_verifier, &pushed.code_challenge)
                {
                    return Err(OAuthError::invalid_grant(
                        "the PKCE code_verifier does not match",
                    ));
                }
                // RFC 9449 §10: a code bound at PAR is redeemed with the same key only.
                if let Some(bound) = &pushed.dpop_jkt {
                    match &dpop_jkt {
                        Some(jkt) if constant_time_eq(jkt, bound) => {}
                        _ => {
                            return Err(OAuthError::new(
                                ErrorCode::InvalidDpopProof,
                                "the code is bound to another DPoP key",
                            ));
                        }
                    }
                }
                (record.subject, pushed.configuration_ids.clone())
            }
            TokenRequest::PreAuthorizedCode {
                pre_authorized_code,
                tx_code,
                ..
            } => {
                let tx_key = tx_code
                    .as_deref()
                    .map(|tx_code| tx_code_key(pre_authorized_code, tx_code));
                let redemption = self
                    .store
                    .redeem_pre_authorized_code(
                        &key_of(pre_authorized_code),
                        tx_key.as_deref(),
                        now,
                    )
                    .await
                    .map_err(store_error)?;
                let record = match redemption {
                    Redemption::Redeemed(record) => record,
                    Redemption::WrongTxCode { .. } => {
                        return Err(OAuthError::invalid_grant("the tx_code is wrong"));
                    }
                    Redemption::LockedOut => {
                        return Err(OAuthError::invalid_grant(
                            "the tx_code is wrong; the code is no longer valid",
                        ));
                    }
                    Redemption::Unknown => {
                        return Err(OAuthError::invalid_grant(
                            "the pre-authorized code is invalid, expired or used",
                        ));
                    }
                };
                let record: GrantRecord = from_bytes(&record)?;
                (record.subject, record.configuration_ids)
            }
        };

        let mut credentials = Vec::with_capacity(configuration_ids.len());
        for configuration_id in &configuration_ids {
            credentials.push(GrantedCredential {
                identifier: random()?,
                configuration_id: configuration_id.clone(),
            });
        }
        let access_token = random()?;
        let record = TokenRecord {
            subject,
            client_id,
            credentials: credentials.clone(),
            dpop_jkt: dpop_jkt.clone(),
        };
        let lifetime = self.config.lifetimes.access_token;
        self.store
            .put(
                SessionKind::AccessToken,
                &key_of(&access_token),
                &to_bytes(&record)?,
                now.saturating_add(lifetime),
            )
            .await
            .map_err(store_error)?;
        let authorization_details = credentials
            .into_iter()
            .map(|granted| {
                let mut detail = AuthorizationDetail::new(granted.configuration_id);
                detail.credential_identifiers = vec![granted.identifier];
                detail
            })
            .collect();
        let response = TokenResponse {
            access_token,
            token_type: if dpop_jkt.is_some() { "DPoP" } else { "Bearer" }.into(),
            expires_in: u64::try_from(lifetime).ok(),
            authorization_details: Some(authorization_details),
            scope: None,
        };
        let mut http = HttpResponse::json_no_store(200, &response);
        if dpop_jkt.is_some() && self.config.dpop_nonce_required {
            http = http.with_header(super::DPOP_NONCE_HEADER, &self.fresh_dpop_nonce().await?);
        }
        Ok(http)
    }
}
