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
use eudi_issuer::minter::MDOC_CONFIGURATION_ID;
use eudi_issuer::minter::SD_JWT_CONFIGURATION_ID;
use eudi_issuer::pki::IssuerKeys;
use eudi_issuer::subject::Subject;
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = Config {
        data_dir: Some(temp_dir(name)),
        public_url: Some(url.parse().unwrap()),
        ..Config::default()
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
        to_mitid.starts_with(&format!("{}/mitid/authorize?", s.url)),
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
