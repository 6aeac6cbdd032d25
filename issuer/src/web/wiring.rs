//! The web layer's [`Backend`] on the real pieces: `eudi_oid4vci`'s [`Issuer`] for the protocol,
//! the [`PidMinter`]'s rules for logins, the [`StatusListPublisher`] for status lists; and
//! [`build`], which makes the whole [`AppState`] from the configuration (what `serve` runs and
//! the end-to-end tests drive).

use std::sync::Arc;

use eudi_oauth::ErrorCode;
use eudi_oid4vci::endpoint::HttpRequest;
use eudi_oid4vci::issuance::CredentialMinter;
use eudi_oid4vci::issuance::MintError;
use eudi_oid4vci::issuance::MintFuture;
use eudi_oid4vci::issuance::MintOutcome;
use eudi_oid4vci::issuance::MintRequest;
use eudi_oid4vci::server::AuthorizeError;
use eudi_oid4vci::server::Issuer;
use eudi_oid4vci::server::IssuerConfig;
use eudi_oid4vci::store::IssuerStore;
use eudi_pid::CprRegister;
use eudi_pid::FileRegister;
use eudi_pid::MitIdLogin;
use eudi_trust::Clock;
use url::Url;

use crate::config::Config;
use crate::config::MitIdMode;
use crate::minter::MDOC_CONFIGURATION_ID;
use crate::minter::MDOC_FORMAT;
use crate::minter::MinterSettings;
use crate::minter::PidMinter;
use crate::minter::SD_JWT_CONFIGURATION_ID;
use crate::minter::SD_JWT_FORMAT;
use crate::pki::IssuerKeys;
use crate::status_lists::StatusForm;
use crate::status_lists::StatusListPublisher;
use crate::subject::Subject;
use crate::web::AppState;
use crate::web::WebConfig;
use crate::web::backend::AuthorizeRejection;
use crate::web::backend::Backend;
use crate::web::backend::BackendError;
use crate::web::backend::BackendFuture;
use crate::web::backend::Offer;
use crate::web::backend::ProtocolRequest;
use crate::web::backend::ProtocolResponse;
use crate::web::backend::Refused;
use crate::web::backend::StatusAnswer;
use crate::web::backend::StatusToken;
use crate::web::mitid::BrokerSettings;
use crate::web::mitid::MitId;
use crate::web::ops::Metrics;

/// How long a served status list token is valid (it is re-signed at half of it, or on change).
pub const STATUS_TOKEN_LIFETIME_SECS: u64 = crate::config::DEFAULT_STATUS_TOKEN_LIFETIME_SECS;

/// Why the service cannot be assembled.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// A piece refused its configuration; the message names it.
    #[error("{0}")]
    Setup(String),
}

fn setup(what: &str) -> impl Fn(&dyn std::fmt::Display) -> WiringError + '_ {
    move |e| WiringError::Setup(format!("{what}: {e}"))
}

/// The PID configurations every offer and the metadata name.
pub fn configuration_ids() -> Vec<String> {
    vec![
        SD_JWT_CONFIGURATION_ID.to_owned(),
        MDOC_CONFIGURATION_ID.to_owned(),
    ]
}

/// The CPR register file the configuration names (default: the embedded test register).
pub fn file_register(config: &Config) -> Result<FileRegister, WiringError> {
    match &config.policy.cpr_register {
        Some(path) => FileRegister::from_path(path).map_err(|e| setup("policy.cpr_register")(&e)),
        None => Ok(FileRegister::embedded()),
    }
}

/// [`file_register`] as the register the rules ask.
pub fn register(config: &Config) -> Result<Arc<dyn CprRegister>, WiringError> {
    Ok(Arc::new(file_register(config)?))
}

/// The pieces of the issuer, before the web layer.
#[derive(Debug)]
pub struct Parts {
    /// The protocol.
    pub issuer: Arc<Issuer>,
    /// The PID minter (its rules also decide at login time).
    pub minter: Arc<PidMinter>,
    /// The status lists.
    pub publisher: Arc<StatusListPublisher>,
    /// The keys.
    pub keys: Arc<IssuerKeys>,
    /// The metrics the minter counts into.
    pub metrics: Arc<Metrics>,
}

/// Assembles keys, minter, status lists and protocol over `store` for `public_url`.
pub fn parts(
    config: &Config,
    public_url: &Url,
    store: Arc<dyn IssuerStore>,
    clock: Arc<dyn Clock>,
) -> Result<Parts, WiringError> {
    let issuer_id = crate::config::issuer_identifier(public_url);
    let keys = Arc::new(
        IssuerKeys::load_or_generate(
            &config.keys_dir(),
            &config.keys,
            "DK",
            &issuer_id,
            clock.as_ref(),
        )
        .map_err(|e| setup("keys")(&e))?,
    );
    let minter = Arc::new(
        PidMinter::new(
            keys.clone(),
            register(config)?,
            store.clone(),
            store.clone(),
            MinterSettings::from_config(config, issuer_id.clone()),
        )
        .map_err(|e| setup("minter")(&e))?,
    );
    let metrics = Arc::new(Metrics::default());
    let counting: Arc<dyn CredentialMinter> = Arc::new(CountingMinter {
        inner: minter.clone(),
        metrics: metrics.clone(),
    });
    let publisher = Arc::new(StatusListPublisher::new(
        store.clone(),
        keys.clone(),
        issuer_id.clone(),
        config.policy.status_ttl,
        STATUS_TOKEN_LIFETIME_SECS,
    ));
    let configurations = serde_json::from_value(serde_json::Value::Object(
        crate::minter::pid_configurations(),
    ))
    .map_err(|e| setup("credential configurations")(&e))?;
    let mut issuer_config = IssuerConfig::new(issuer_id, configurations);
    issuer_config.batch_size = config.policy.batch_size;
    issuer_config.dpop_nonce_required = config.oauth.dpop_nonce_required;
    let issuer = Arc::new(
        Issuer::new(issuer_config, store, counting, clock).map_err(|e| setup("protocol")(&e))?,
    );
    Ok(Parts {
        issuer,
        minter,
        publisher,
        keys,
        metrics,
    })
}

/// The whole web state: [`parts`], the MitID clients (embedded provider or broker) and the
/// [`IssuerBackend`].
pub async fn build(
    config: &Config,
    public_url: &Url,
    store: Arc<dyn IssuerStore>,
    clock: Arc<dyn Clock>,
) -> Result<AppState, WiringError> {
    let parts = parts(config, public_url, store.clone(), clock.clone())?;
    let web = WebConfig::new(crate::config::issuer_identifier(public_url));
    let level = config.policy.min_loa;
    let mitid = match config.mitid.mode {
        MitIdMode::Embedded => {
            let identities = match &config.mitid.test_identities {
                Some(path) => eudi_pid::test_identities::load_test_identities(path)
                    .map_err(|e| setup("mitid.test_identities")(&e))?,
                None => eudi_pid::default_test_identities(),
            };
            // On PostgreSQL (scale-out) the provider's logins live in the shared database, so
            // any instance finishes any login; on the single-instance SQLite default they stay
            // in the provider's memory store, which bounds pending logins per client and in
            // total (the shared store has no such bound: an open /authorize could fill it).
            let shared = config
                .database_url()
                .expose()
                .to_ascii_lowercase()
                .starts_with("postgres");
            MitId::embedded(
                &web.public_url,
                level,
                identities,
                shared.then(|| store.clone()),
                clock.clone(),
            )
            .map_err(|e| setup("embedded MitID provider")(&e))?
        }
        MitIdMode::Broker => {
            let issuer = config.mitid.issuer.as_ref().ok_or_else(|| {
                WiringError::Setup("mitid.issuer is required in broker mode".into())
            })?;
            let broker = BrokerSettings {
                issuer: issuer.as_str().trim_end_matches('/').to_owned(),
                client_id: config.mitid.client_id.clone().unwrap_or_default(),
                client_secret: config
                    .mitid
                    .client_secret
                    .as_ref()
                    .map(|s| s.expose().to_owned()),
                auth_method: config.mitid.auth_method,
                acr_style: config.mitid.acr_style.clone(),
                // A broker on plain http is a development or test setup (a local process).
                allow_private_network: issuer.scheme() == "http",
            };
            MitId::broker(&web.public_url, &broker, level, clock.clone())
                .await
                .map_err(|e| setup("MitID broker")(&e))?
        }
    };
    let backend = Arc::new(IssuerBackend {
        issuer: parts.issuer,
        minter: parts.minter,
        publisher: parts.publisher,
        clock: clock.clone(),
    });
    Ok(AppState {
        config: Arc::new(web),
        backend,
        store,
        mitid: Arc::new(mitid),
        metrics: parts.metrics,
        clock,
    })
}

/// The [`Backend`] of the service.
#[derive(Debug)]
pub struct IssuerBackend {
    issuer: Arc<Issuer>,
    minter: Arc<PidMinter>,
    publisher: Arc<StatusListPublisher>,
    clock: Arc<dyn Clock>,
}

impl IssuerBackend {
    /// The backend over these pieces.
    pub fn new(
        issuer: Arc<Issuer>,
        minter: Arc<PidMinter>,
        publisher: Arc<StatusListPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            issuer,
            minter,
            publisher,
            clock,
        }
    }
}

fn rejection(error: AuthorizeError) -> AuthorizeRejection {
    if matches!(error, AuthorizeError::Internal) {
        tracing::error!("the authorization request could not be recorded");
    }
    AuthorizeRejection::Error(error.to_oauth())
}

impl Backend for IssuerBackend {
    fn handle(&self, request: ProtocolRequest) -> BackendFuture<'_, Option<ProtocolResponse>> {
        Box::pin(async move {
            let mut http = HttpRequest::new(&request.method, &request.path);
            http.query = request.query;
            http.headers = request.headers;
            http.body = request.body;
            self.issuer
                .handle(&http)
                .await
                .map(|answer| ProtocolResponse {
                    status: answer.status,
                    headers: answer.headers,
                    body: answer.body,
                })
        })
    }

    fn authorize<'a>(
        &'a self,
        query: &'a str,
    ) -> BackendFuture<'a, Result<String, AuthorizeRejection>> {
        Box::pin(async move {
            self.issuer
                .authorize(query)
                .await
                .map(|pending| pending.id)
                .map_err(rejection)
        })
    }

    fn complete_authorization<'a>(
        &'a self,
        id: &'a str,
        subject: Vec<u8>,
    ) -> BackendFuture<'a, Result<String, BackendError>> {
        Box::pin(async move {
            self.issuer
                .complete_authorization(id, subject)
                .await
                .map_err(|e| BackendError(e.to_string()))
        })
    }

    fn refuse_authorization<'a>(
        &'a self,
        id: &'a str,
        code: ErrorCode,
        description: &'a str,
    ) -> BackendFuture<'a, Result<String, BackendError>> {
        Box::pin(async move {
            self.issuer
                .refuse_authorization(id, code, description)
                .await
                .map_err(|e| BackendError(e.to_string()))
        })
    }

    fn subject_for<'a>(
        &'a self,
        login: &'a MitIdLogin,
    ) -> BackendFuture<'a, Result<Result<Vec<u8>, Refused>, BackendError>> {
        Box::pin(async move {
            let subject = Subject::from_login(login);
            Ok(match self.minter.check(&subject, self.clock.now()).await {
                Ok(()) => Ok(subject.encode()),
                Err(denied) => Err(Refused {
                    code: denied.code.to_owned(),
                    message: denied.message,
                }),
            })
        })
    }

    fn create_offer(&self, subject: Vec<u8>) -> BackendFuture<'_, Result<Offer, BackendError>> {
        Box::pin(async move {
            // By reference: the QR code stays small enough to scan from a screen.
            let created = self
                .issuer
                .create_pre_authorized_offer(&subject, &configuration_ids(), true, true)
                .await
                .map_err(|e| BackendError(e.to_string()))?;
            Ok(Offer {
                uri: created.uri,
                tx_code: created.tx_code,
            })
        })
    }

    fn status_list<'a>(
        &'a self,
        list: u32,
        accept: Option<&'a str>,
    ) -> BackendFuture<'a, Result<StatusAnswer, BackendError>> {
        Box::pin(async move {
            let Some(form) = StatusForm::from_accept(accept) else {
                return Ok(StatusAnswer::NotAcceptable);
            };
            match self.publisher.serve(list, form, self.clock.now()).await {
                Ok(Some(served)) => Ok(StatusAnswer::Token(StatusToken {
                    content_type: served.form.media_type().to_owned(),
                    body: served.body.to_vec(),
                    max_age: served.ttl,
                })),
                Ok(None) => Ok(StatusAnswer::NoSuchList),
                Err(e) => Err(BackendError(e.to_string())),
            }
        })
    }
}

/// The minter, counting what it issues (by format) and refuses into the metrics.
#[derive(Debug)]
struct CountingMinter {
    inner: Arc<PidMinter>,
    metrics: Arc<Metrics>,
}

impl CredentialMinter for CountingMinter {
    fn mint<'a>(&'a self, request: MintRequest<'a>) -> MintFuture<'a> {
        Box::pin(async move {
            let format = match request.configuration_id {
                SD_JWT_CONFIGURATION_ID => SD_JWT_FORMAT,
                MDOC_CONFIGURATION_ID => MDOC_FORMAT,
                _ => "unknown",
            };
            let outcome = self.inner.mint(request).await;
            match &outcome {
                Ok(MintOutcome::Issued(credentials)) => self
                    .metrics
                    .record_issued(format, u64::try_from(credentials.len()).unwrap_or(u64::MAX)),
                Err(MintError::Refused(_)) => {
                    self.metrics.record_refusal("credential_request_denied")
                }
                Ok(MintOutcome::Deferred { .. }) | Err(_) => {}
            }
            outcome
        })
    }
}
