//! Two issuer instances on one PostgreSQL database (127.0.0.1:5432, database `test`, each run in
//! its own schema) with the same keys: an offer made through one is redeemed at the other, and
//! the credentials of batches issued by both never share a status index.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a setup failure should abort the test"
)]

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use eudi_http::HttpConfig;
use eudi_http::ReqwestClient;
use eudi_http::UrlPolicy;
use eudi_issuer::config::Config;
use eudi_issuer::minter::MDOC_CONFIGURATION_ID;
use eudi_issuer::minter::SD_JWT_CONFIGURATION_ID;
use eudi_issuer::subject::Subject;
use eudi_issuer::web::AppState;
use eudi_oid4vci::client::AuthorizationStart;
use eudi_oid4vci::client::ClientConfig;
use eudi_oid4vci::client::CredentialOutcome;
use eudi_oid4vci::client::DpopKey;
use eudi_oid4vci::client::EncryptResponse;
use eudi_oid4vci::client::IssuerClient;
use eudi_oid4vci::client::resolve_offer;
use eudi_store::StoreOptions;
use eudi_trust::Algorithm;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::SystemClock;

const DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn unique() -> String {
    let token = eudi_oauth::token::random_token().unwrap();
    let suffix: String = token
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(12)
        .collect();
    format!("issuer_app_{}_{suffix}", std::process::id())
}

/// One instance: its own pool on the shared schema, the shared data dir (keys), serving at its
/// own address with `public_url` (the URL wallets see, as behind a load balancer).
async fn instance(
    schema: &str,
    data_dir: &Path,
    listener: tokio::net::TcpListener,
    public_url: &str,
) -> (AppState, eudi_store::Store) {
    let store = eudi_store::open(DATABASE_URL, &StoreOptions::default().with_schema(schema))
        .await
        .unwrap();
    let config = Config {
        data_dir: Some(data_dir.to_path_buf()),
        public_url: Some(public_url.parse().unwrap()),
        database_url: Some(eudi_issuer::config::Secret::new(DATABASE_URL)),
        ..Config::default()
    };
    let state = eudi_issuer::web::wiring::build(
        &config,
        &public_url.parse().unwrap(),
        store.issuer(),
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    let app = eudi_issuer::web::app(state.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (state, store)
}

#[tokio::test]
async fn an_offer_made_through_one_instance_is_redeemed_at_the_other() {
    let schema = unique();
    let data_dir = std::env::temp_dir().join(&schema);
    let a_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_url = format!("http://{}", b_listener.local_addr().unwrap());
    // Both instances have B's URL as their public URL; the wallet only ever talks to B.
    let (a, a_store) = instance(&schema, &data_dir, a_listener, &b_url).await;
    let (b, b_store) = instance(&schema, &data_dir, b_listener, &b_url).await;

    let identity = eudi_pid::default_test_identities()
        .into_iter()
        .find(|i| i.username == "high")
        .unwrap();
    let subject = Subject::from_test_identity(&identity).encode();
    let http = Arc::new(
        ReqwestClient::new(HttpConfig::default().with_policy(UrlPolicy::allow_private_network()))
            .unwrap(),
    );
    let config = ClientConfig::default().with_policy(UrlPolicy::allow_private_network());
    let mut indices = HashSet::new();
    for round in 0..2 {
        // Offers alternate between the instances; every redemption is at B.
        let maker = if round == 0 { &a } else { &b };
        let offer = maker.backend.create_offer(subject.clone()).await.unwrap();
        let resolved = resolve_offer(http.as_ref(), &offer.uri, &config)
            .await
            .unwrap();
        let client = IssuerClient::for_offer(http.clone(), &resolved, config.clone())
            .await
            .unwrap();
        let dpop = Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap());
        let tokens = client
            .pre_authorized(&resolved, offer.tx_code.as_deref(), DpopKey::new(dpop))
            .await
            .unwrap();
        for configuration in [SD_JWT_CONFIGURATION_ID, MDOC_CONFIGURATION_ID] {
            let holders: Vec<SoftwareKey> = (0..3)
                .map(|_| SoftwareKey::generate(Algorithm::Es256).unwrap())
                .collect();
            let signers: Vec<&dyn Signer> = holders.iter().map(|k| k as &dyn Signer).collect();
            let outcome = client
                .request_credentials(
                    &tokens,
                    configuration,
                    &signers,
                    EncryptResponse::IfRequired,
                )
                .await
                .unwrap();
            let CredentialOutcome::Issued { credentials, .. } = outcome else {
                panic!("not issued: {outcome:?}")
            };
            assert_eq!(credentials.len(), 3);
        }
    }
    // Every record (both instances wrote through one database) has its own status place.
    let config = Config {
        data_dir: Some(data_dir.clone()),
        ..Config::default()
    };
    let keys = eudi_issuer::pki::IssuerKeys::load_or_generate(
        &config.keys_dir(),
        &config.keys,
        "DK",
        &b_url,
        &SystemClock,
    )
    .unwrap();
    let person = Subject::decode(&subject)
        .unwrap()
        .identity_key(keys.identity_secret());
    let records = a_store.issuer().credentials_of(&person).await.unwrap();
    assert_eq!(records.len(), 12);
    for record in &records {
        assert!(
            indices.insert((record.status.list, record.status.index)),
            "status place {:?} given twice",
            record.status
        );
    }
    a_store.close().await;
    b_store.close().await;
}

#[tokio::test]
async fn a_mitid_login_started_on_one_instance_is_finished_on_the_other() {
    let schema = unique();
    let data_dir = std::env::temp_dir().join(&schema);
    let a_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a_url = format!("http://{}", a_listener.local_addr().unwrap());
    let b_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_url = format!("http://{}", b_listener.local_addr().unwrap());
    let (_a, a_store) = instance(&schema, &data_dir, a_listener, &b_url).await;
    let (_b, b_store) = instance(&schema, &data_dir, b_listener, &b_url).await;
    let on_a = |url: &str| url.replacen(&b_url, &a_url, 1);

    let http = Arc::new(
        ReqwestClient::new(HttpConfig::default().with_policy(UrlPolicy::allow_private_network()))
            .unwrap(),
    );
    let config = ClientConfig::default().with_policy(UrlPolicy::allow_private_network());
    let client = IssuerClient::connect(http, &b_url, config).await.unwrap();
    let dpop = Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap());
    let pending = client
        .start_authorization(AuthorizationStart {
            client_id: "pg-wallet".into(),
            redirect_uri: "http://127.0.0.1:9/cb".into(),
            configuration_ids: vec![SD_JWT_CONFIGURATION_ID.into()],
            issuer_state: None,
            dpop_key: DpopKey::new(dpop),
            client_attestation: None,
        })
        .await
        .unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_owned();
    // /authorize on B (B stores the login session), the MitID form from B's provider …
    let authorize = browser
        .get(&pending.authorization_url)
        .send()
        .await
        .unwrap();
    let to_mitid = location(&authorize);
    let form = browser
        .get(&to_mitid)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = form.find("action=\"").unwrap() + "action=\"".len();
    let end = start + form[start..].find('"').unwrap();
    let action = url::Url::parse(&to_mitid)
        .unwrap()
        .join(&form[start..end].replace("&amp;", "&"))
        .unwrap();
    // … posted to A's provider (which finds B's login request in the database) …
    let posted = browser
        .post(on_a(action.as_str()))
        .form(&[("username", "substantial")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    let callback = location(&posted);
    // … and the callback on A, whose client redeems the code at A's provider.
    let back = browser.get(on_a(&callback)).send().await.unwrap();
    assert_eq!(back.status(), 303, "{:?}", back.text().await);
    let to_wallet = location(&back);
    assert!(to_wallet.contains("code="), "{to_wallet}");
    let tokens = client
        .finish_authorization(pending, &to_wallet)
        .await
        .unwrap();
    let holder = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let outcome = client
        .request_credentials(
            &tokens,
            SD_JWT_CONFIGURATION_ID,
            &[&holder],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, CredentialOutcome::Issued { .. }),
        "{outcome:?}"
    );
    a_store.close().await;
    b_store.close().await;
}

/// A "load balancer" on the wallet's side: every request for B's URL goes to A or B in turn.
#[derive(Debug)]
struct Alternate {
    inner: Arc<ReqwestClient>,
    public: String,
    instances: [String; 2],
    next: std::sync::atomic::AtomicUsize,
}

impl eudi_http::HttpClient for Alternate {
    fn send(&self, mut request: eudi_http::Request) -> eudi_http::HttpFuture<'_> {
        let turn = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2;
        if let Some(rest) = request.url.strip_prefix(&self.public) {
            request.url = format!("{}{rest}", self.instances[turn]);
        }
        self.inner.send(request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_credentials_across_both_instances_never_share_a_status_place() {
    const FLOWS: usize = 40;
    const PER_FLOW: usize = 5;
    let schema = unique();
    let data_dir = std::env::temp_dir().join(&schema);
    let a_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a_url = format!("http://{}", a_listener.local_addr().unwrap());
    let b_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_url = format!("http://{}", b_listener.local_addr().unwrap());
    let (a, a_store) = instance(&schema, &data_dir, a_listener, &b_url).await;
    let (b, b_store) = instance(&schema, &data_dir, b_listener, &b_url).await;
    let http = Arc::new(Alternate {
        inner: Arc::new(
            ReqwestClient::new(
                HttpConfig::default().with_policy(UrlPolicy::allow_private_network()),
            )
            .unwrap(),
        ),
        public: b_url.clone(),
        instances: [a_url.clone(), b_url.clone()],
        next: std::sync::atomic::AtomicUsize::new(0),
    });
    let identity = eudi_pid::default_test_identities()
        .into_iter()
        .find(|i| i.username == "high")
        .unwrap();
    let subject = Subject::from_test_identity(&identity).encode();
    let mut flows = Vec::new();
    for _ in 0..FLOWS {
        let offer = a.backend.create_offer(subject.clone()).await.unwrap();
        let http = http.clone();
        flows.push(tokio::spawn(async move {
            let config = ClientConfig::default().with_policy(UrlPolicy::allow_private_network());
            let resolved = resolve_offer(http.as_ref(), &offer.uri, &config)
                .await
                .unwrap();
            let client = IssuerClient::for_offer(http.clone(), &resolved, config)
                .await
                .unwrap();
            let dpop = Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap());
            let tokens = client
                .pre_authorized(&resolved, offer.tx_code.as_deref(), DpopKey::new(dpop))
                .await
                .unwrap();
            let holders: Vec<SoftwareKey> = (0..PER_FLOW)
                .map(|_| SoftwareKey::generate(Algorithm::Es256).unwrap())
                .collect();
            let signers: Vec<&dyn Signer> = holders.iter().map(|k| k as &dyn Signer).collect();
            let outcome = client
                .request_credentials(
                    &tokens,
                    SD_JWT_CONFIGURATION_ID,
                    &signers,
                    EncryptResponse::IfRequired,
                )
                .await
                .unwrap();
            matches!(outcome, CredentialOutcome::Issued { credentials, .. } if credentials.len() == PER_FLOW)
        }));
    }
    for flow in flows {
        assert!(flow.await.unwrap());
    }
    // Both instances minted (the wallet's requests alternate between them).
    let (at_a, at_b) = (a.metrics.issued("dc+sd-jwt"), b.metrics.issued("dc+sd-jwt"));
    assert!(at_a > 0 && at_b > 0, "A minted {at_a}, B minted {at_b}");
    assert_eq!(at_a + at_b, (FLOWS * PER_FLOW) as u64);
    let config = Config {
        data_dir: Some(data_dir.clone()),
        ..Config::default()
    };
    let keys = eudi_issuer::pki::IssuerKeys::load_or_generate(
        &config.keys_dir(),
        &config.keys,
        "DK",
        &b_url,
        &SystemClock,
    )
    .unwrap();
    let person = Subject::decode(&subject)
        .unwrap()
        .identity_key(keys.identity_secret());
    let records = b_store.issuer().credentials_of(&person).await.unwrap();
    assert_eq!(records.len(), FLOWS * PER_FLOW);
    let places: HashSet<(u32, u32)> = records
        .iter()
        .map(|r| (r.status.list, r.status.index))
        .collect();
    assert_eq!(
        places.len(),
        FLOWS * PER_FLOW,
        "a status place was given twice"
    );
    a_store.close().await;
    b_store.close().await;
}
