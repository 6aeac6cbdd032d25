//! The pages a person sees: "Get your PID" (`/`, `/pid`), its MitID login and the offer page
//! (QR code as SVG and PNG, the `openid-credential-offer://` link and the transaction code), and
//! the error and refusal pages of both login flows. English and Danish, chosen by `?lang=` and
//! then `Accept-Language`; plain HTML without JavaScript (the Content-Security-Policy forbids
//! scripts), every error page showing the flow's TransactionId.

use axum::extract::RawQuery;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::Html;
use axum::response::IntoResponse;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eudi_mitid::client::CallbackParams;
use eudi_oauth::OAuthError;
use eudi_oauth::form::Form;
use serde::Deserialize;
use serde::Serialize;

use crate::web::AppState;
use crate::web::backend::Offer;
use crate::web::login;
use crate::web::login::Decision;
use crate::web::login::Purpose;
use crate::web::qr;

/// The cookie that binds a page login to the browser that started it (against login CSRF).
pub const BROWSER_COOKIE: &str = "eudi_pid_login";

/// The page language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Danish.
    Da,
}

impl Lang {
    /// `?lang=` wins, then the first of `da`/`en` in `Accept-Language`, then English.
    pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Self {
        if let Some(lang) = query.and_then(Self::parse) {
            return lang;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut ranked: Vec<(u16, Self)> = accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let lang = Self::parse(tag.split('-').next()?)?;
                let quality = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                // Rounded to thousandths, as RFC 9110 §12.4.2 writes qualities.
                Some(((quality.clamp(0.0, 1.0) * 1000.0) as u16, lang))
            })
            .filter(|(q, _)| *q > 0)
            .collect();
        // Stable: among equal qualities the first listed wins.
        ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
        ranked.first().map(|(_, lang)| *lang).unwrap_or_default()
    }

    fn parse(tag: &str) -> Option<Self> {
        if tag.eq_ignore_ascii_case("da") {
            Some(Self::Da)
        } else if tag.eq_ignore_ascii_case("en") {
            Some(Self::En)
        } else {
            None
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Da => "da",
        }
    }
}

/// The messages of the error pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// Callback for a login that is unknown, expired or already finished.
    LoginUnknown,
    /// The issuer failed.
    Internal,
    /// The wallet's request was malformed.
    BadRequest,
}

fn text(lang: Lang, en: &'static str, da: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Da => da,
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already HTML).
fn page(lang: Lang, status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.5}}\
         .code{{font-family:monospace;font-size:1.6em;letter-spacing:.15em}}.tx{{color:#555;font-size:.9em}}\
         .button{{display:inline-block;padding:.6em 1.2em;background:#0050b4;color:#fff;border:0;border-radius:4px;font-size:1em;text-decoration:none}}</style>\n\
         </head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n",
        lang = lang.code(),
        title = escape(title),
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self' openid-credential-offer:; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn transaction_line(lang: Lang, transaction_id: &str) -> String {
    format!(
        "<p class=\"tx\">{}: <span id=\"transaction-id\">{}</span></p>",
        text(
            lang,
            "TransactionId (give it to support if you contact us)",
            "TransactionId (oplys det, hvis du kontakter support)"
        ),
        escape(transaction_id)
    )
}

/// An error page with the TransactionId.
pub fn error_page(
    lang: Lang,
    status: StatusCode,
    message: Message,
    transaction_id: &str,
) -> Response {
    let (title, detail) = match message {
        Message::LoginUnknown => (
            text(lang, "Login not found", "Login ikke fundet"),
            text(
                lang,
                "This login is unknown, has expired or was already completed. Please start again.",
                "Dette login er ukendt, udløbet eller allerede gennemført. Start venligst forfra.",
            ),
        ),
        Message::Internal => (
            text(lang, "Something went wrong", "Noget gik galt"),
            text(
                lang,
                "The PID service could not complete your request. Please try again later.",
                "PID-tjenesten kunne ikke gennemføre din forespørgsel. Prøv venligst igen senere.",
            ),
        ),
        Message::BadRequest => (
            text(lang, "Invalid request", "Ugyldig forespørgsel"),
            text(
                lang,
                "The wallet sent a request the PID service cannot accept.",
                "Wallet-appen sendte en forespørgsel, som PID-tjenesten ikke kan modtage.",
            ),
        ),
    };
    let body = format!(
        "<p>{}</p>\n{}",
        escape(detail),
        transaction_line(lang, transaction_id)
    );
    page(lang, status, title, &body)
}

/// An OAuth error of a request a browser or a program sent without a redirect URI to trust:
/// HTML for a browser (`Accept: text/html`), else OAuth JSON; both carry the TransactionId.
pub fn oauth_error_page(
    lang: Lang,
    headers: &HeaderMap,
    error: &OAuthError,
    transaction_id: &str,
) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        let mut response = error_page(lang, status, Message::BadRequest, transaction_id);
        if let Some(description) = &error.description {
            let detail = format!(
                "<p>{}: {}</p>",
                escape(error.code.as_str()),
                escape(description)
            );
            response = page(
                lang,
                status,
                text(lang, "Invalid request", "Ugyldig forespørgsel"),
                &format!("{detail}\n{}", transaction_line(lang, transaction_id)),
            );
        }
        return response;
    }
    let mut body = error.to_json();
    if let Some(map) = body.as_object_mut() {
        map.insert("transaction_id".into(), transaction_id.into());
    }
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

fn lang_of_query(query: Option<&str>) -> Option<String> {
    Form::parse(query?)
        .ok()
        .and_then(|form| form.get("lang").map(str::to_owned))
}

/// `GET /` and `GET /pid`: what the PID is, and the MitID login button.
pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = Lang::negotiate(lang_of_query(query.as_deref()).as_deref(), &headers);
    let other = match lang {
        Lang::En => ("da", "Dansk"),
        Lang::Da => ("en", "English"),
    };
    let base = &state.config.public_url;
    let body = format!(
        "<p>{intro}</p>\n<form method=\"get\" action=\"{base}/pid/login\">\n\
         <input type=\"hidden\" name=\"lang\" value=\"{code}\">\n\
         <button class=\"button\" type=\"submit\" id=\"login\">{button}</button>\n</form>\n\
         <p><a href=\"{base}/pid?lang={other_code}\" hreflang=\"{other_code}\">{other_name}</a></p>",
        intro = escape(text(
            lang,
            "Log in with MitID to get your personal identification data (PID) into your EU Digital Identity Wallet. You will see a QR code to scan with your wallet and a code to type in it.",
            "Log ind med MitID for at få dine personidentifikationsdata (PID) i din EU Digital Identity Wallet. Du får vist en QR-kode, som du scanner med din wallet, og en kode, som du taster i den.",
        )),
        base = escape(base),
        code = lang.code(),
        button = escape(text(lang, "Log in with MitID", "Log ind med MitID")),
        other_code = other.0,
        other_name = other.1,
    );
    page(
        lang,
        StatusCode::OK,
        text(lang, "Get your PID", "Hent dit PID"),
        &body,
    )
}

/// `GET /pid/login`: starts the page's MitID login, bound to this browser by a cookie.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = Lang::negotiate(lang_of_query(query.as_deref()).as_deref(), &headers);
    let transaction_id = login::new_transaction_id();
    let Ok(cookie) = eudi_oauth::token::random_token() else {
        return error_page(
            lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            Message::Internal,
            &transaction_id,
        );
    };
    let purpose = Purpose::Page {
        browser_key: eudi_oauth::token::secret_key(&cookie),
    };
    match login::start_login(&state, &state.mitid.page, transaction_id, lang, purpose).await {
        Ok(location) => {
            let mut response = login::see_other(&location);
            let secure = if state.config.public_url.starts_with("https://") {
                "; Secure"
            } else {
                ""
            };
            let value = format!(
                "{BROWSER_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                state.config.login_lifetime.as_secs()
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(page) => page,
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// `GET /pid/callback`: the end of the page's MitID login: the offer, or why there is none.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let fallback_lang = Lang::negotiate(None, &headers);
    let Ok(params) = CallbackParams::from_query(query.as_deref().unwrap_or_default()) else {
        let transaction_id = login::new_transaction_id();
        tracing::info!(transaction_id, "malformed MitID callback");
        return error_page(
            fallback_lang,
            StatusCode::BAD_REQUEST,
            Message::LoginUnknown,
            &transaction_id,
        );
    };
    let session = match login::take_session(&state, &params, fallback_lang).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let (lang, transaction_id) = (session.lang, session.transaction_id.clone());
    let Purpose::Page { browser_key } = &session.purpose else {
        tracing::info!(
            transaction_id,
            "a wallet login came back to the page callback"
        );
        return error_page(
            lang,
            StatusCode::BAD_REQUEST,
            Message::LoginUnknown,
            &transaction_id,
        );
    };
    let same_browser = cookie_value(&headers, BROWSER_COOKIE).is_some_and(|cookie| {
        eudi_oauth::token::constant_time_eq(&eudi_oauth::token::secret_key(cookie), browser_key)
    });
    if !same_browser {
        tracing::warn!(
            transaction_id,
            "the login was finished in another browser than it started in"
        );
        return error_page(
            lang,
            StatusCode::BAD_REQUEST,
            Message::LoginUnknown,
            &transaction_id,
        );
    }
    match login::decide(&state, &state.mitid.page, &session, &params).await {
        Decision::Grant(subject) => match state.backend.create_offer(subject).await {
            Ok(offer) => {
                tracing::info!(transaction_id, "offer shown");
                offer_page(lang, &offer, &transaction_id)
            }
            Err(e) => {
                tracing::error!(transaction_id, error = %e, "cannot make the offer");
                error_page(
                    lang,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Message::Internal,
                    &transaction_id,
                )
            }
        },
        Decision::Refuse {
            reason,
            description,
        } => {
            state.metrics.record_refusal(&reason);
            refusal_page(lang, &reason, &description, &transaction_id)
        }
        Decision::Fault => error_page(
            lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            Message::Internal,
            &transaction_id,
        ),
    }
}

/// The Danish sentence of a refusal reason, where there is one (the rules speak English).
fn danish_reason(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "mitid_erhverv" => {
            "Du loggede ind med MitID Erhverv, som handler på vegne af en virksomhed. Et PID identificerer dig som privatperson: log ind med dit private MitID."
        }
        "no_cpr" => {
            "Dit MitID har intet CPR-nummer (det blev oprettet med en P-kode). PID-oplysningerne hentes i CPR-registret, så der kan ikke udstedes et PID."
        }
        "insufficient_loa" => {
            "Sikringsniveauet for dit danske eID lever ikke op til det niveau, PID-udstederen kræver. Du kan hæve niveauet for dit MitID i Borgerservice."
        }
        "deceased" => "CPR-registret registrerer personen som død. Der kan ikke udstedes et PID.",
        "not_in_register" => {
            "Dit CPR-nummer blev ikke fundet i CPR-registret, så der kan ikke udstedes et PID."
        }
        "register_status" => {
            "CPR-registret angiver ikke dette CPR-nummer som aktivt. Kontakt venligst Borgerservice i din kommune."
        }
        "birth_date_mismatch" => {
            "Fødselsdatoen i dit MitID stemmer ikke med CPR-registret. Kontakt venligst MitID-support eller Borgerservice."
        }
        "register_unavailable" => "CPR-registret kan ikke nås lige nu. Prøv venligst igen senere.",
        "mitid_login_failed" => {
            "MitID-login blev afbrudt eller lykkedes ikke, så der blev ikke udstedt et PID. Du kan prøve igen."
        }
        _ => return None,
    })
}

/// The refusal page: the rule's reason and the TransactionId.
pub fn refusal_page(lang: Lang, reason: &str, description: &str, transaction_id: &str) -> Response {
    let sentence = match lang {
        Lang::Da => danish_reason(reason).unwrap_or(description),
        Lang::En => description,
    };
    let body = format!(
        "<p id=\"reason\">{}</p>\n{}",
        escape(sentence),
        transaction_line(lang, transaction_id)
    );
    page(
        lang,
        StatusCode::FORBIDDEN,
        text(lang, "No PID can be issued", "Der kan ikke udstedes et PID"),
        &body,
    )
}

/// The offer page: QR code (SVG inline, PNG to download), link and transaction code.
pub fn offer_page(lang: Lang, offer: &Offer, transaction_id: &str) -> Response {
    let (svg, png) = match (qr::svg(&offer.uri), qr::png(&offer.uri)) {
        (Ok(svg), Ok(png)) => (svg, png),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(transaction_id, error = %e, "cannot draw the QR code");
            return error_page(
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                Message::Internal,
                transaction_id,
            );
        }
    };
    // The SVG renderer starts with an XML declaration, which has no place inside HTML.
    let svg = match svg.find("<svg") {
        Some(start) => svg.get(start..).unwrap_or_default().to_owned(),
        None => svg,
    };
    let tx = offer.tx_code.as_deref().map_or_else(String::new, |code| {
        format!(
            "<p>{}</p>\n<p class=\"code\" id=\"tx-code\">{}</p>",
            escape(text(
                lang,
                "Your wallet will ask for this transaction code:",
                "Din wallet vil bede om denne transaktionskode:"
            )),
            escape(code)
        )
    });
    let body = format!(
        "<p>{scan}</p>\n<div id=\"qr\" role=\"img\" aria-label=\"QR\">{svg}</div>\n\
         <p><a download=\"pid-offer.png\" id=\"qr-png\" href=\"data:image/png;base64,{png}\">{download}</a></p>\n\
         <p>{open} <a id=\"offer-link\" href=\"{uri}\">{link}</a></p>\n{tx}\n\
         <p>{once}</p>\n{transaction}",
        scan = escape(text(
            lang,
            "Scan this QR code with your EU Digital Identity Wallet.",
            "Scan denne QR-kode med din EU Digital Identity Wallet."
        )),
        png = STANDARD.encode(&png),
        download = escape(text(
            lang,
            "Download the QR code (PNG)",
            "Hent QR-koden (PNG)"
        )),
        open = escape(text(
            lang,
            "On this device, open the offer in your wallet:",
            "På denne enhed: åbn tilbuddet i din wallet:"
        )),
        uri = escape(&offer.uri),
        link = escape(text(lang, "open in wallet", "åbn i wallet")),
        once = escape(text(
            lang,
            "The offer can be used once and expires soon. Do not share the QR code or the code.",
            "Tilbuddet kan bruges én gang og udløber snart. Del ikke QR-koden eller koden."
        )),
        transaction = transaction_line(lang, transaction_id),
    );
    page(
        lang,
        StatusCode::OK,
        text(lang, "Your PID is ready", "Dit PID er klar"),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept_language(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn language_comes_from_the_query_then_accept_language() {
        let none = HeaderMap::new();
        assert_eq!(Lang::negotiate(None, &none), Lang::En);
        assert_eq!(Lang::negotiate(Some("da"), &none), Lang::Da);
        assert_eq!(
            Lang::negotiate(Some("DA"), &accept_language("en")),
            Lang::Da
        );
        assert_eq!(
            Lang::negotiate(Some("fr"), &accept_language("da-DK")),
            Lang::Da
        );
        assert_eq!(
            Lang::negotiate(None, &accept_language("en;q=0.5, da;q=0.8")),
            Lang::Da
        );
        assert_eq!(
            Lang::negotiate(None, &accept_language("da;q=0, en")),
            Lang::En
        );
        assert_eq!(Lang::negotiate(None, &accept_language("fr, de")), Lang::En);
    }

    #[test]
    fn escaping_covers_markup_and_attributes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; eudi_pid_login=xyz; b=2"),
        );
        assert_eq!(cookie_value(&headers, BROWSER_COOKIE), Some("xyz"));
        assert_eq!(cookie_value(&headers, "eudi_pid"), None);
    }
}
