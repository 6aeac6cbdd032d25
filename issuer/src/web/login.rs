//! The wallet's authorization-code flow through MitID (OpenID4VCI §5, RFC 6749 §4.1):
//!
//! `GET /authorize` → the protocol validates the request (a PAR `request_uri` or plain
//! parameters) and records it pending → a login session is stored through the store's
//! `SessionStore` (so any instance on the same database can finish it) → 303 to MitID.
//! `GET /callback` → the OpenID Connect login is completed and its ID token validated → the PID
//! rules and the CPR register decide → 303 to the wallet's redirect URI with `code`, `state` and
//! `iss` (RFC 9207), or with `error=access_denied` and an `error_description` a person can read.
//!
//! Each flow carries a TransactionId: it is in every log line of the flow and on every page and
//! refusal a person sees, so support can find the flow without anyone reading personal data.

use axum::extract::RawQuery;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse;
use axum::response::Response;
use eudi_mitid::OidcError;
use eudi_mitid::client::AuthorizationOptions;
use eudi_mitid::client::CallbackParams;
use eudi_mitid::client::PendingLogin;
use eudi_oauth::ErrorCode;
use eudi_oid4vci::store::SessionKind;
use serde::Deserialize;
use serde::Serialize;

use crate::web::AppState;
use crate::web::backend::AuthorizeRejection;
use crate::web::pages;
use crate::web::pages::Lang;
use crate::web::pages::Message;

/// What happens after the login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "for", rename_all = "snake_case")]
pub enum Purpose {
    /// The wallet's authorization request `authorization_id`.
    Wallet {
        /// The protocol's pending authorization.
        authorization_id: String,
    },
    /// The "Get your PID" page.
    Page {
        /// The storage key of the browser's binding cookie (the cookie itself is a secret).
        browser_key: String,
    },
}

/// A login in progress, as stored (kind `login_session`, keyed by the secret key of the OIDC
/// `state`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginSession {
    /// The OIDC client's secrets for the callback.
    pub pending: PendingLogin,
    /// The flow's TransactionId.
    pub transaction_id: String,
    /// The page language chosen at the start.
    pub lang: Lang,
    /// What the login is for.
    pub purpose: Purpose,
}

/// A fresh TransactionId (shown to people: short, unambiguous characters).
pub fn new_transaction_id() -> String {
    eudi_oauth::token::random_token()
        .map(|t| {
            t.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(16)
                .collect()
        })
        .unwrap_or_else(|_| "unavailable".to_owned())
}

/// The storage key of a login session: the secret key of its `state`.
fn session_key(state: &str) -> String {
    eudi_oauth::token::secret_key(state)
}

/// Stores `session` and answers the redirect to MitID.
pub async fn start_login(
    state: &AppState,
    client: &eudi_mitid::OidcClient,
    transaction_id: String,
    lang: Lang,
    purpose: Purpose,
) -> Result<String, Response> {
    let request = client
        .authorization_request(&AuthorizationOptions::level(state.mitid.level))
        .map_err(|e| {
            tracing::error!(transaction_id, error = %e, "cannot start the MitID login");
            pages::error_page(
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                Message::Internal,
                &transaction_id,
            )
        })?;
    let session = LoginSession {
        pending: request.pending,
        transaction_id: transaction_id.clone(),
        lang,
        purpose,
    };
    let record = serde_json::to_vec(&session).map_err(|_| {
        pages::error_page(
            lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            Message::Internal,
            &transaction_id,
        )
    })?;
    let expires_at = state
        .clock
        .now()
        .saturating_add(i64::try_from(state.config.login_lifetime.as_secs()).unwrap_or(i64::MAX));
    state
        .store
        .put(
            SessionKind::LoginSession,
            &session_key(session.pending.state()),
            &record,
            expires_at,
        )
        .await
        .map_err(|e| {
            tracing::error!(transaction_id, error = %e, "cannot store the login session");
            pages::error_page(
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                Message::Internal,
                &transaction_id,
            )
        })?;
    tracing::info!(transaction_id, "MitID login started");
    Ok(request.url.to_string())
}

/// Takes (single use) the login session of a callback, or the page explaining why there is none.
pub async fn take_session(
    state: &AppState,
    params: &CallbackParams,
    lang: Lang,
) -> Result<LoginSession, Response> {
    let Some(oidc_state) = params.state.as_deref() else {
        let transaction_id = new_transaction_id();
        tracing::info!(transaction_id, "callback without state");
        return Err(pages::error_page(
            lang,
            StatusCode::BAD_REQUEST,
            Message::LoginUnknown,
            &transaction_id,
        ));
    };
    match state
        .store
        .take(
            SessionKind::LoginSession,
            &session_key(oidc_state),
            state.clock.now(),
        )
        .await
    {
        Ok(Some(record)) => serde_json::from_slice(&record).map_err(|_| {
            let transaction_id = new_transaction_id();
            tracing::error!(transaction_id, "a stored login session is unreadable");
            pages::error_page(
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                Message::Internal,
                &transaction_id,
            )
        }),
        Ok(None) => {
            let transaction_id = new_transaction_id();
            tracing::info!(
                transaction_id,
                "callback for an unknown, expired or used login"
            );
            Err(pages::error_page(
                lang,
                StatusCode::BAD_REQUEST,
                Message::LoginUnknown,
                &transaction_id,
            ))
        }
        Err(e) => {
            let transaction_id = new_transaction_id();
            tracing::error!(transaction_id, error = %e, "cannot read the login session");
            Err(pages::error_page(
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                Message::Internal,
                &transaction_id,
            ))
        }
    }
}

/// A 303 to `location`, never cached.
pub fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// `GET /authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = Lang::negotiate(None, &headers);
    let transaction_id = new_transaction_id();
    let query = query.unwrap_or_default();
    let authorization_id = match state.backend.authorize(&query).await {
        Ok(id) => id,
        Err(AuthorizeRejection::Redirect(location)) => {
            tracing::info!(
                transaction_id,
                "authorization request refused, redirected to the client"
            );
            return see_other(&location);
        }
        Err(AuthorizeRejection::Error(error)) => {
            tracing::info!(transaction_id, error = %error.code.as_str(), "authorization request refused");
            return pages::oauth_error_page(lang, &headers, &error, &transaction_id);
        }
    };
    match start_login(
        &state,
        &state.mitid.wallet,
        transaction_id,
        lang,
        Purpose::Wallet { authorization_id },
    )
    .await
    {
        Ok(location) => see_other(&location),
        Err(page) => page,
    }
}

/// `GET /callback`: the end of the MitID login of a wallet's authorization request.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let fallback_lang = Lang::negotiate(None, &headers);
    let params = match CallbackParams::from_query(query.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(_) => {
            let transaction_id = new_transaction_id();
            tracing::info!(transaction_id, "malformed MitID callback");
            return pages::error_page(
                fallback_lang,
                StatusCode::BAD_REQUEST,
                Message::LoginUnknown,
                &transaction_id,
            );
        }
    };
    let session = match take_session(&state, &params, fallback_lang).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let (lang, transaction_id) = (session.lang, session.transaction_id.clone());
    let Purpose::Wallet { authorization_id } = &session.purpose else {
        tracing::info!(
            transaction_id,
            "a page login came back to the wallet callback"
        );
        return pages::error_page(
            lang,
            StatusCode::BAD_REQUEST,
            Message::LoginUnknown,
            &transaction_id,
        );
    };
    let decision = decide(&state, &state.mitid.wallet, &session, &params).await;
    let outcome = match decision {
        Decision::Grant(subject) => {
            state
                .backend
                .complete_authorization(authorization_id, subject)
                .await
        }
        Decision::Refuse {
            reason,
            description,
        } => {
            state.metrics.record_refusal(&reason);
            let description = format!("{description} (TransactionId: {transaction_id})");
            state
                .backend
                .refuse_authorization(authorization_id, ErrorCode::AccessDenied, &description)
                .await
        }
        Decision::Fault => {
            return pages::error_page(
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                Message::Internal,
                &transaction_id,
            );
        }
    };
    match outcome {
        Ok(location) => {
            tracing::info!(transaction_id, "authorization answered to the wallet");
            see_other(&location)
        }
        Err(e) => {
            tracing::error!(transaction_id, error = %e, "cannot answer the authorization");
            pages::error_page(
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                Message::Internal,
                &transaction_id,
            )
        }
    }
}

/// What a completed MitID login leads to.
#[derive(Debug)]
pub enum Decision {
    /// Issue to this subject.
    Grant(Vec<u8>),
    /// Refuse: a stable reason (metrics, logs) and a sentence for the person.
    Refuse {
        /// Stable code.
        reason: String,
        /// For the person.
        description: String,
    },
    /// The issuer failed (logged).
    Fault,
}

/// Completes the OIDC login and applies the PID rules. Logs each outcome with the TransactionId
/// and never a claim value.
pub async fn decide(
    state: &AppState,
    client: &eudi_mitid::OidcClient,
    session: &LoginSession,
    params: &CallbackParams,
) -> Decision {
    let transaction_id = &session.transaction_id;
    let verified = match client.complete(&session.pending, params).await {
        Ok(verified) => verified,
        Err(OidcError::AuthorizationDenied { error, .. }) => {
            tracing::info!(transaction_id, mitid_error = %error, "the MitID login was not completed");
            return Decision::Refuse {
                reason: "mitid_login_failed".into(),
                description: "The MitID login was cancelled or did not succeed, so no PID was issued. You can try again.".into(),
            };
        }
        Err(e) => {
            tracing::warn!(transaction_id, error = %e, "the MitID login could not be verified");
            return Decision::Refuse {
                reason: "mitid_login_invalid".into(),
                description: "The answer from MitID could not be verified, so no PID was issued. Please try again.".into(),
            };
        }
    };
    let login = match verified.login() {
        Ok(login) => login,
        Err(e) => {
            tracing::warn!(transaction_id, error = %e, "the MitID claims are not usable");
            return Decision::Refuse {
                reason: "mitid_claims".into(),
                description: "MitID did not tell us what a PID needs, so no PID was issued.".into(),
            };
        }
    };
    match state.backend.subject_for(&login).await {
        Ok(Ok(subject)) => {
            tracing::info!(transaction_id, "the PID rules allow issuance");
            Decision::Grant(subject)
        }
        Ok(Err(refused)) => {
            tracing::info!(transaction_id, reason = %refused.code, "the PID rules refuse issuance");
            Decision::Refuse {
                reason: refused.code,
                description: refused.message,
            }
        }
        Err(e) => {
            tracing::error!(transaction_id, error = %e, "the PID rules could not be applied");
            Decision::Fault
        }
    }
}
