//! Shared by the app tests: the router on a real loopback listener, and a protocol double that
//! plays `eudi_oid4vci`'s server where the web layer calls it (the PID rules are the real ones).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

use eudi_issuer::status_lists::StatusForm;
use eudi_issuer::web::AppState;
use eudi_issuer::web::WebConfig;
use eudi_issuer::web::backend::AuthorizeRejection;
use eudi_issuer::web::backend::Backend;
use eudi_issuer::web::backend::BackendError;
use eudi_issuer::web::backend::BackendFuture;
use eudi_issuer::web::backend::Offer;
use eudi_issuer::web::backend::ProtocolRequest;
use eudi_issuer::web::backend::ProtocolResponse;
use eudi_issuer::web::backend::Refused;
use eudi_issuer::web::backend::StatusAnswer;
use eudi_issuer::web::backend::StatusToken;
use eudi_issuer::web::mitid::MitId;
use eudi_issuer::web::ops::Metrics;
use eudi_oauth::ErrorCode;
use eudi_oauth::OAuthError;
use eudi_oauth::form::Form;
use eudi_oid4vci::store::IssuerStore;
use eudi_oid4vci::store::memory::MemoryStore;
use eudi_pid::FileRegister;
use eudi_pid::IssuerPolicy;
use eudi_pid::MitIdLogin;
use eudi_trust::AssuranceLevel;
use eudi_trust::SystemClock;
use url::Url;

/// A pending authorization as the double remembers it.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
}

/// The protocol double.
#[derive(Debug, Default)]
pub(crate) struct FakeProtocol {
    pub(crate) issuer: String,
    pub(crate) pending: Mutex<HashMap<String, Pending>>,
    pub(crate) granted: Mutex<Vec<Vec<u8>>>,
    pub(crate) offers: Mutex<Vec<Vec<u8>>>,
}

impl FakeProtocol {
    fn redirect(&self, id: &str, params: &[(&str, &str)]) -> Result<String, BackendError> {
        let pending = self
            .pending
            .lock()
            .unwrap()
            .remove(id)
            .ok_or_else(|| BackendError("unknown authorization".into()))?;
        let mut url = Url::parse(&pending.redirect_uri).unwrap();
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in params {
                query.append_pair(name, value);
            }
            if let Some(state) = &pending.state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", &self.issuer);
        }
        Ok(url.to_string())
    }
}

impl Backend for FakeProtocol {
    fn handle(&self, request: ProtocolRequest) -> BackendFuture<'_, Option<ProtocolResponse>> {
        Box::pin(async move {
            if request.path == "/slow" {
                // Slower than any request time limit a test sets.
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
            (request.path == "/.well-known/openid-credential-issuer").then(|| ProtocolResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: format!("{{\"credential_issuer\":\"{}\"}}", self.issuer).into_bytes(),
            })
        })
    }

    fn authorize<'a>(
        &'a self,
        query: &'a str,
    ) -> BackendFuture<'a, Result<String, AuthorizeRejection>> {
        Box::pin(async move {
            let form =
                Form::parse(query).map_err(|e| AuthorizeRejection::Error(OAuthError::from(e)))?;
            let redirect_uri = form.get("redirect_uri").ok_or_else(|| {
                AuthorizeRejection::Error(OAuthError::invalid_request("redirect_uri is missing"))
            })?;
            let id = eudi_oauth::token::random_token().unwrap();
            self.pending.lock().unwrap().insert(
                id.clone(),
                Pending {
                    redirect_uri: redirect_uri.to_owned(),
                    state: form.get("state").map(str::to_owned),
                },
            );
            Ok(id)
        })
    }

    fn complete_authorization<'a>(
        &'a self,
        id: &'a str,
        subject: Vec<u8>,
    ) -> BackendFuture<'a, Result<String, BackendError>> {
        Box::pin(async move {
            self.granted.lock().unwrap().push(subject);
            self.redirect(id, &[("code", "fake-code")])
        })
    }

    fn refuse_authorization<'a>(
        &'a self,
        id: &'a str,
        code: ErrorCode,
        description: &'a str,
    ) -> BackendFuture<'a, Result<String, BackendError>> {
        Box::pin(async move {
            self.redirect(
                id,
                &[("error", code.as_str()), ("error_description", description)],
            )
        })
    }

    fn subject_for<'a>(
        &'a self,
        login: &'a MitIdLogin,
    ) -> BackendFuture<'a, Result<Result<Vec<u8>, Refused>, BackendError>> {
        Box::pin(async move {
            let today = time::OffsetDateTime::now_utc().date();
            match eudi_pid::pid_from_login(
                login,
                &FileRegister::embedded(),
                &IssuerPolicy::default(),
                today,
            )
            .await
            {
                Ok(_) => Ok(Ok(login.subject.clone().into_bytes())),
                Err(refusal) => Ok(Err(Refused {
                    code: refusal.code().to_owned(),
                    message: refusal.to_string(),
                })),
            }
        })
    }

    fn create_offer(&self, subject: Vec<u8>) -> BackendFuture<'_, Result<Offer, BackendError>> {
        Box::pin(async move {
            self.offers.lock().unwrap().push(subject);
            Ok(Offer {
                uri: format!(
                    "openid-credential-offer://?credential_offer_uri={}/offers/{}",
                    self.issuer,
                    eudi_oauth::token::random_token().unwrap()
                ),
                tx_code: Some("493817".into()),
            })
        })
    }

    fn status_list<'a>(
        &'a self,
        list: u32,
        accept: Option<&'a str>,
    ) -> BackendFuture<'a, Result<StatusAnswer, BackendError>> {
        Box::pin(async move {
            if list != 1 {
                return Ok(StatusAnswer::NoSuchList);
            }
            let (content_type, body) = match StatusForm::from_accept(accept) {
                Some(StatusForm::Jwt) => ("application/statuslist+jwt", b"eyJ.x.y".to_vec()),
                Some(StatusForm::Cwt) => ("application/statuslist+cwt", vec![0xd2, 0x84]),
                None => return Ok(StatusAnswer::NotAcceptable),
            };
            Ok(StatusAnswer::Token(StatusToken {
                content_type: content_type.into(),
                body,
                max_age: 300,
            }))
        })
    }
}

/// A running app on loopback.
pub(crate) struct Running {
    pub(crate) url: String,
    pub(crate) protocol: Arc<FakeProtocol>,
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) http: reqwest::Client,
}

/// Binds 127.0.0.1:0, builds the app with the embedded MitID provider at that URL, serves it.
pub(crate) async fn start() -> Running {
    start_with(|config| config).await
}

/// [`start`] with a changed configuration.
pub(crate) async fn start_with(change: impl FnOnce(WebConfig) -> WebConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let clock = Arc::new(SystemClock);
    let protocol = Arc::new(FakeProtocol {
        issuer: url.clone(),
        ..FakeProtocol::default()
    });
    let store = Arc::new(MemoryStore::new());
    let metrics = Arc::new(Metrics::default());
    let mitid = MitId::embedded(
        &url,
        AssuranceLevel::Substantial,
        eudi_pid::default_test_identities(),
        None,
        clock.clone(),
    )
    .unwrap();
    let state = AppState {
        config: Arc::new(change(WebConfig::new(url.clone()))),
        backend: protocol.clone(),
        store: store.clone() as Arc<dyn IssuerStore>,
        mitid: Arc::new(mitid),
        metrics: metrics.clone(),
        clock,
    };
    let app = eudi_issuer::web::app(state);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Running {
        url,
        protocol,
        store,
        metrics,
        http,
    }
}

/// The `Location` of a redirect answer.
pub(crate) fn location(response: &reqwest::Response) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    response
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// Logs `username` in at the embedded provider: GET the authorization URL (the login form),
/// POST `username` to the form's action, and answer the provider's redirect (to the callback).
pub(crate) async fn mitid_login(
    http: &reqwest::Client,
    authorization_url: &str,
    username: &str,
) -> String {
    let form_page = http.get(authorization_url).send().await.unwrap();
    assert_eq!(form_page.status(), 200, "the login page");
    let html = form_page.text().await.unwrap();
    let action = form_action(&html);
    let action = Url::parse(authorization_url)
        .unwrap()
        .join(&action)
        .unwrap();
    let answer = http
        .post(action)
        .form(&[("username", username)])
        .send()
        .await
        .unwrap();
    location(&answer)
}

/// The `action` of the first form in `html`, unescaped.
pub(crate) fn form_action(html: &str) -> String {
    let start = html.find("action=\"").expect("a form with an action") + "action=\"".len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

/// The query parameters of `url`.
pub(crate) fn query_of(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
