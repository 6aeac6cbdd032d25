//! End to end over loopback HTTP: the real service (`web::wiring::build`: keys, PID minter,
//! status lists, the OpenID4VCI server, the embedded MitID provider) driven by the wallet's
//! client of `eudi-oid4vci`, in both flows and both formats with a batch of 3, and what the wallet
//! receives verified by `eudi-verify` against the issuer's trust anchors and served status lists.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a setup failure should abort the test"
)]

#[expect(dead_code, reason = "the helpers serve several test binaries")]
mod common;

use std::path::PathBuf;
use std::sync::Arc;

use eudi_http::HttpConfig;
use eudi_http::ReqwestClient;
use eudi_http::UrlPolicy;
use eudi_issuer::config::Config;
use eudi_issuer::config::MitIdMode;
use eudi_issuer::config::Secret;
use eudi_issuer::minter::MDOC_CONFIGURATION_ID;
use eudi_issuer::minter::SD_JWT_CONFIGURATION_ID;
use eudi_issuer::pki::IssuerKeys;
use eudi_issuer::subject::Subject;
use eudi_mitid_test_provider::ProviderConfig;
use eudi_mitid_test_provider::ProviderState;
use eudi_mitid_test_provider::RegisteredClient;
use eudi_oid4vci::client::AuthorizationStart;
use eudi_oid4vci::client::ClientConfig;
use eudi_oid4vci::client::CredentialOutcome;
use eudi_oid4vci::client::DpopKey;
use eudi_oid4vci::client::EncryptResponse;
use eudi_oid4vci::client::IssuerClient;
use eudi_oid4vci::client::resolve_offer;
use eudi_oid4vci::store::IssuerStore;
use eudi_oid4vci::store::StatusListStore as _;
use eudi_oid4vci::store::memory::MemoryStore;
use eudi_trust::Algorithm;
use eudi_trust::AssuranceLevel;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::SystemClock;
use eudi_verify::Context;
use eudi_verify::Policy;
use eudi_verify::StatusCheck;
use eudi_verify::TrustConfig;
use eudi_verify::VerifiedCredential;

const BATCH: usize = 3;

struct Service {
    url: String,
    /// Where the browser logs in with MitID.
    mitid: String,
    config: Config,
    store: Arc<MemoryStore>,
    state: eudi_issuer::web::AppState,
    browser: reqwest::Client,
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "eudi-issuer-e2e-{name}-{}-{}",
        std::process::id(),
        eudi_oauth::token::random_token().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start(name: &str) -> Service {
    start_with(name, |config, _| config).await
}

/// [`start`] on the address of `url` (just freed by the caller).
async fn start_on(name: &str, url: &str, change: impl FnOnce(Config) -> Config) -> Service {
    let address = url.trim_start_matches("http://").to_owned();
    start_bound(
        name,
        tokio::net::TcpListener::bind(address).await.unwrap(),
        |config, _| change(config),
    )
    .await
}

/// [`start`] with the configuration changed by `change` (given the issuer's URL).
async fn start_with(name: &str, change: impl FnOnce(Config, &str) -> Config) -> Service {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_bound(name, listener, change).await
}

async fn start_bound(
    name: &str,
    listener: tokio::net::TcpListener,
    change: impl FnOnce(Config, &str) -> Config,
) -> Service {
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = change(
        Config {
            data_dir: Some(temp_dir(name)),
            public_url: Some(url.parse().unwrap()),
            ..Config::default()
        },
        &url,
    );
    let mitid = match &config.mitid.issuer {
        Some(broker) if config.mitid.mode == MitIdMode::Broker => {
            broker.as_str().trim_end_matches('/').to_owned()
        }
        _ => format!("{url}/mitid"),
    };
    let store = Arc::new(MemoryStore::new());
    let state = eudi_issuer::web::wiring::build(
        &config,
        &url.parse().unwrap(),
        store.clone() as Arc<dyn IssuerStore>,
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    let app = eudi_issuer::web::app(state.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Service {
        url,
        mitid,
        config,
        store,
        state,
        browser,
    }
}

/// The wallet's HTTP client and configuration, allowed to reach a loopback issuer.
fn wallet() -> (Arc<ReqwestClient>, ClientConfig) {
    let http =
        ReqwestClient::new(HttpConfig::default().with_policy(UrlPolicy::allow_private_network()))
            .unwrap();
    (
        Arc::new(http),
        ClientConfig::default().with_policy(UrlPolicy::allow_private_network()),
    )
}

fn key() -> Arc<SoftwareKey> {
    Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap())
}

/// Every status list the issuer serves, in both forms, fetched over HTTP.
async fn served_status_lists(s: &Service) -> Vec<Vec<u8>> {
    let mut tokens = Vec::new();
    for list in s.store.status_lists().await.unwrap() {
        for accept in ["application/statuslist+jwt", "application/statuslist+cwt"] {
            let answer = s
                .browser
                .get(format!("{}/status/{list}", s.url))
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
            assert_eq!(answer.headers()["content-type"], accept);
            tokens.push(answer.bytes().await.unwrap().to_vec());
        }
    }
    tokens
}

fn trust(s: &Service) -> TrustConfig {
    let keys = IssuerKeys::load_or_generate(
        &s.config.keys_dir(),
        &s.config.keys,
        "DK",
        &s.url,
        &SystemClock,
    )
    .unwrap();
    let mut trust = TrustConfig::new();
    assert_eq!(
        trust
            .add_anchor_pem(&keys.trust_anchors_pem(), None, None)
            .unwrap(),
        2
    );
    trust
}

/// Requests a batch of [`BATCH`] of `configuration_id` and verifies each credential.
async fn receive_and_verify(
    s: &Service,
    client: &IssuerClient,
    tokens: &eudi_oid4vci::client::Tokens,
    configuration_id: &str,
) -> Vec<VerifiedCredential> {
    let holders: Vec<Arc<SoftwareKey>> = (0..BATCH).map(|_| key()).collect();
    let signers: Vec<&dyn Signer> = holders.iter().map(|k| k.as_ref() as &dyn Signer).collect();
    let outcome = client
        .request_credentials(
            tokens,
            configuration_id,
            &signers,
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    let CredentialOutcome::Issued { credentials, .. } = outcome else {
        panic!("not issued: {outcome:?}")
    };
    assert_eq!(credentials.len(), BATCH);
    let status_tokens = served_status_lists(s).await;
    let trust = trust(s);
    let context = Context {
        trust: &trust,
        status: StatusCheck::Supplied(&status_tokens),
        clock: &SystemClock,
    };
    let mut verified = Vec::new();
    for credential in credentials {
        let text = credential.credential.as_str().unwrap().to_owned();
        if configuration_id == SD_JWT_CONFIGURATION_ID {
            let v = eudi_verify::verify_sd_jwt(&text, None, &context, &Policy::default())
                .await
                .unwrap();
            verified.push(v);
        } else {
            let bytes = eudi_trust::b64::decode(&text).unwrap();
            let mut docs = eudi_verify::verify_mdoc(&bytes, None, &context, &Policy::default())
                .await
                .unwrap();
            assert_eq!(docs.len(), 1);
            verified.push(docs.remove(0));
        }
    }
    verified
}

fn check_claims(verified: &[VerifiedCredential], level: AssuranceLevel, family_name: &str) {
    for v in verified {
        assert_eq!(v.assurance_level, Some(level));
        assert_eq!(v.status, Some(eudi_status_list::Status::Valid));
        assert!(
            v.cpr.as_deref().is_some_and(|c| c.len() == 10),
            "CPR present"
        );
        let text = serde_json::to_string(&v.claims).unwrap();
        assert!(text.contains(family_name), "{text}");
    }
}

#[tokio::test]
async fn pre_authorized_flow_both_formats_batch_of_three_verify() {
    let s = start("pre").await;
    let identity = eudi_pid::default_test_identities()
        .into_iter()
        .find(|i| i.username == "substantial")
        .unwrap();
    let offer = s
        .state
        .backend
        .create_offer(Subject::from_test_identity(&identity).encode())
        .await
        .unwrap();
    let tx_code = offer.tx_code.clone().expect("a tx code");
    let (http, config) = wallet();
    let resolved = resolve_offer(http.as_ref(), &offer.uri, &config)
        .await
        .unwrap();
    assert_eq!(resolved.credential_issuer, s.url);
    let client = IssuerClient::for_offer(http.clone(), &resolved, config)
        .await
        .unwrap();
    // A wrong tx code is refused and the offer survives it.
    let wrong = if tx_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(
        client
            .pre_authorized(&resolved, Some(wrong), DpopKey::new(key()))
            .await
            .is_err()
    );
    let tokens = client
        .pre_authorized(&resolved, Some(&tx_code), DpopKey::new(key()))
        .await
        .unwrap();
    let sd = receive_and_verify(&s, &client, &tokens, SD_JWT_CONFIGURATION_ID).await;
    check_claims(&sd, AssuranceLevel::Substantial, "Hansen");
    let md = receive_and_verify(&s, &client, &tokens, MDOC_CONFIGURATION_ID).await;
    check_claims(&md, AssuranceLevel::Substantial, "Hansen");
    assert_eq!(s.state.metrics.issued("dc+sd-jwt"), BATCH as u64);
    assert_eq!(s.state.metrics.issued("mso_mdoc"), BATCH as u64);
    // The pre-authorized code is single use.
    assert!(
        client
            .pre_authorized(&resolved, Some(&tx_code), DpopKey::new(key()))
            .await
            .is_err()
    );
}

async fn code_flow(
    s: &Service,
    username: &str,
) -> Result<(IssuerClient, eudi_oid4vci::client::Tokens), String> {
    let (http, config) = wallet();
    let client = IssuerClient::connect(http, &s.url, config).await.unwrap();
    let pending = client
        .start_authorization(AuthorizationStart {
            client_id: "e2e-wallet".into(),
            redirect_uri: "http://127.0.0.1:9/callback".into(),
            configuration_ids: vec![SD_JWT_CONFIGURATION_ID.into(), MDOC_CONFIGURATION_ID.into()],
            issuer_state: None,
            dpop_key: DpopKey::new(key()),
            client_attestation: None,
        })
        .await
        .unwrap();
    // The browser: authorize → MitID login form → POST username → callback → wallet.
    let authorize = s
        .browser
        .get(&pending.authorization_url)
        .send()
        .await
        .unwrap();
    let to_mitid = common::location(&authorize);
    assert!(
        to_mitid.starts_with(&format!("{}/authorize?", s.mitid)),
        "{to_mitid}"
    );
    let callback = common::mitid_login(&s.browser, &to_mitid, username).await;
    let back = s.browser.get(&callback).send().await.unwrap();
    let to_wallet = common::location(&back);
    assert!(
        to_wallet.starts_with("http://127.0.0.1:9/callback?"),
        "{to_wallet}"
    );
    let query = common::query_of(&to_wallet);
    assert_eq!(query.get("iss"), Some(&s.url));
    if let Some(error) = query.get("error") {
        return Err(format!("{error}: {}", query["error_description"]));
    }
    let tokens = client
        .finish_authorization(pending, &to_wallet)
        .await
        .unwrap();
    Ok((client, tokens))
}

#[tokio::test]
async fn authorization_code_flow_through_mitid_both_formats_verify() {
    let s = start("code").await;
    let (client, tokens) = code_flow(&s, "high").await.unwrap();
    let sd = receive_and_verify(&s, &client, &tokens, SD_JWT_CONFIGURATION_ID).await;
    check_claims(&sd, AssuranceLevel::High, "Nielsen");
    let md = receive_and_verify(&s, &client, &tokens, MDOC_CONFIGURATION_ID).await;
    check_claims(&md, AssuranceLevel::High, "Nielsen");
}

#[tokio::test]
async fn a_refused_identity_ends_at_the_wallet_with_the_rule_in_words() {
    let s = start("refused").await;
    for (username, words) in [
        ("erhverv", "MitID Erhverv"),
        ("low", "level of assurance"),
        ("deceased", "deceased"),
        ("pcode", "P code"),
    ] {
        let error = code_flow(&s, username)
            .await
            .err()
            .unwrap_or_else(|| panic!("{username} was issued"));
        assert!(error.starts_with("access_denied: "), "{username}: {error}");
        assert!(error.contains(words), "{username}: {error}");
        assert!(error.contains("TransactionId: "), "{username}: {error}");
    }
    assert_eq!(s.state.metrics.issued("dc+sd-jwt"), 0);
}

#[tokio::test]
async fn the_broker_path_to_a_mitid_provider_at_another_url() {
    // The MitID test provider on its own listener, as a real broker would be: discovery, JWKS
    // and the token exchange go over HTTP with client_secret_basic.
    let provider_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider_url = format!("http://{}", provider_listener.local_addr().unwrap());
    let issuer_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer_url = format!("http://{}", issuer_listener.local_addr().unwrap());
    drop(issuer_listener);
    let provider = ProviderState::new(
        ProviderConfig::new(
            provider_url.clone(),
            vec![RegisteredClient::confidential(
                "pid-issuer",
                "broker-secret",
                [
                    format!("{issuer_url}/callback"),
                    format!("{issuer_url}/pid/callback"),
                ],
            )],
        ),
        eudi_pid::default_test_identities(),
    )
    .unwrap();
    let router = eudi_mitid_test_provider::app(provider);
    tokio::spawn(async move {
        axum::serve(provider_listener, router).await.unwrap();
    });
    let s = start_on("broker", &issuer_url, |mut config| {
        config.mitid.mode = MitIdMode::Broker;
        config.mitid.issuer = Some(provider_url.parse().unwrap());
        config.mitid.client_id = Some("pid-issuer".into());
        config.mitid.client_secret = Some(Secret::new("broker-secret"));
        config
    })
    .await;
    assert_eq!(s.mitid, provider_url);
    let (client, tokens) = code_flow(&s, "substantial").await.unwrap();
    let sd = receive_and_verify(&s, &client, &tokens, SD_JWT_CONFIGURATION_ID).await;
    check_claims(&sd, AssuranceLevel::Substantial, "Hansen");
    // The issuer serves no embedded provider in broker mode.
    let embedded = s
        .browser
        .get(format!("{}/mitid/.well-known/openid-configuration", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(embedded.status(), 404);
}

#[tokio::test]
async fn a_birth_date_mismatch_is_deferred_until_a_reviewer_approves() {
    use eudi_oid4vci::store::DeferredState;
    use eudi_oid4vci::store::DeferredStore as _;
    use eudi_trust::Clock as _;

    let s = start("deferred").await;
    let (client, tokens) = code_flow(&s, "birthdate-mismatch").await.unwrap();
    let holder = key();
    let outcome = client
        .request_credentials(
            &tokens,
            SD_JWT_CONFIGURATION_ID,
            &[holder.as_ref() as &dyn Signer],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    let CredentialOutcome::Deferred { transaction_id, .. } = outcome else {
        panic!("not deferred: {outcome:?}")
    };
    // Still pending: nothing issued yet.
    let again = client
        .poll_deferred(&tokens, &transaction_id, EncryptResponse::IfRequired)
        .await
        .unwrap();
    assert!(
        matches!(again, CredentialOutcome::Deferred { .. }),
        "{again:?}"
    );
    // The reviewer (what `eudi-issuer review approve ID` does).
    let now = SystemClock.now();
    let pending = s
        .store
        .deferred(Some(DeferredState::Pending), now)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert!(
        !pending[0].reason.contains("19"),
        "no birth date in the reason"
    );
    s.store
        .decide_deferred(&pending[0].id, true, now)
        .await
        .unwrap()
        .unwrap();
    let issued = client
        .poll_deferred(&tokens, &transaction_id, EncryptResponse::IfRequired)
        .await
        .unwrap();
    let CredentialOutcome::Issued { credentials, .. } = issued else {
        panic!("not issued after approval: {issued:?}")
    };
    assert_eq!(credentials.len(), 1);
    let status_tokens = served_status_lists(&s).await;
    let trust = trust(&s);
    let context = Context {
        trust: &trust,
        status: StatusCheck::Supplied(&status_tokens),
        clock: &SystemClock,
    };
    let text = credentials[0].credential.as_str().unwrap();
    let verified = eudi_verify::verify_sd_jwt(text, None, &context, &Policy::default())
        .await
        .unwrap();
    assert_eq!(verified.status, Some(eudi_status_list::Status::Valid));
}

#[tokio::test]
async fn the_get_your_pid_page_offer_is_redeemed_by_the_wallet() {
    let s = start("page").await;
    let index = s
        .browser
        .get(format!("{}/?lang=en", s.url))
        .send()
        .await
        .unwrap();
    let action = common::form_action(&index.text().await.unwrap());
    let login = s
        .browser
        .get(format!("{action}?lang=en"))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let to_mitid = common::location(&login);
    let callback = common::mitid_login(&s.browser, &to_mitid, "born-2000s").await;
    let page = s
        .browser
        .get(&callback)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg"));
    let attribute = |id: &str, name: &str| -> String {
        let at = html.find(&format!("id=\"{id}\"")).unwrap();
        let rest = &html[at..];
        let start = rest.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + rest[start..].find('"').unwrap();
        rest[start..end].replace("&amp;", "&")
    };
    let uri = attribute("offer-link", "href");
    let tx_start = html.find("id=\"tx-code\">").unwrap() + "id=\"tx-code\">".len();
    let tx_code = &html[tx_start..tx_start + 6];
    assert!(tx_code.bytes().all(|b| b.is_ascii_digit()), "{tx_code}");

    let (http, config) = wallet();
    let resolved = resolve_offer(http.as_ref(), &uri, &config).await.unwrap();
    let client = IssuerClient::for_offer(http.clone(), &resolved, config)
        .await
        .unwrap();
    let tokens = client
        .pre_authorized(&resolved, Some(tx_code), DpopKey::new(key()))
        .await
        .unwrap();
    let md = receive_and_verify(&s, &client, &tokens, MDOC_CONFIGURATION_ID).await;
    check_claims(&md, AssuranceLevel::High, "Poulsen");
}

/// Collects log output (the fmt layer writes each line through it).
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();

#[tokio::test]
async fn logs_carry_the_transaction_id_and_no_personal_data() {
    // The process-wide subscriber (a scoped one races with the other tests' threads over
    // tracing's callsite cache): every test of this binary logs into it, so the checks below
    // also hold for their logs.
    let captured = CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .json()
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    });
    let s = start("logs").await;
    let (client, tokens) = code_flow(&s, "substantial").await.unwrap();
    receive_and_verify(&s, &client, &tokens, SD_JWT_CONFIGURATION_ID).await;
    let refused = code_flow(&s, "erhverv").await.err().unwrap();
    let transaction_id = refused
        .split("TransactionId: ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains(&transaction_id),
        "the refusal's TransactionId is logged"
    );
    assert!(
        logs.contains("mitid_erhverv"),
        "the rule is logged by its code"
    );
    assert!(
        logs.contains("request_id"),
        "requests are logged with their id"
    );
    // Lars Hansen (substantial): CPR 120385-2459, born 1985-03-12; Jens Andersen (erhverv).
    for personal in [
        "1203852459",
        "120385-2459",
        "Hansen",
        "1985-03-12",
        "Andersen",
    ] {
        assert!(!logs.contains(personal), "{personal} in the logs");
    }
}

/// The tokens of a pre-authorized offer made for `identity` (as `eudi-issuer offer` makes it).
async fn pre_authorized_flow(
    s: &Service,
    identity: &eudi_pid::TestIdentity,
) -> (IssuerClient, eudi_oid4vci::client::Tokens) {
    let offer = s
        .state
        .backend
        .create_offer(Subject::from_test_identity(identity).encode())
        .await
        .unwrap();
    let (http, config) = wallet();
    let resolved = resolve_offer(http.as_ref(), &offer.uri, &config)
        .await
        .unwrap();
    let client = IssuerClient::for_offer(http.clone(), &resolved, config)
        .await
        .unwrap();
    let tokens = client
        .pre_authorized(&resolved, offer.tx_code.as_deref(), DpopKey::new(key()))
        .await
        .unwrap();
    (client, tokens)
}

/// Every default test identity through both flows: the issued ones get a batch of 3 of both
/// formats with their own name, level and CPR; the refused ones end at the wallet with an
/// error (issue 9: "for every default test identity").
#[tokio::test]
async fn every_default_test_identity_through_both_flows() {
    let s = start("every").await;
    for identity in eudi_pid::default_test_identities() {
        let user = identity.username.clone();
        match identity.expected_refusal.as_deref() {
            // Deferred for review on the default policy: its own test above.
            Some("birth_date_mismatch") => continue,
            Some(code) => {
                let refused = code_flow(&s, &user).await;
                assert!(refused.is_err(), "{user} ({code}) was not refused");
                continue;
            }
            None => {}
        }
        let family = identity
            .name
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_owned();
        let cpr = identity.cpr.as_ref().map(|c| c.expose().to_owned());
        let (code_client, code_tokens) = code_flow(&s, &user)
            .await
            .unwrap_or_else(|e| panic!("{user}: {e}"));
        let (pre_client, pre_tokens) = pre_authorized_flow(&s, &identity).await;
        for (client, tokens) in [(&code_client, &code_tokens), (&pre_client, &pre_tokens)] {
            for configuration in [SD_JWT_CONFIGURATION_ID, MDOC_CONFIGURATION_ID] {
                let verified = receive_and_verify(&s, client, tokens, configuration).await;
                check_claims(&verified, identity.level(), &family);
                for v in &verified {
                    assert_eq!(v.cpr, cpr, "{user}: {configuration}");
                }
            }
        }
    }
}
