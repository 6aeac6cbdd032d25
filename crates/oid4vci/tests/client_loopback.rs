//! The wallet client over real HTTP: `eudi_http::ReqwestClient` to the real issuer logic
//! (`Issuer::handle`, in memory) served by axum on `127.0.0.1`, under the dev/test URL policy
//! that a loopback issuer needs, and refused by the default policy.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a setup failure should abort the test"
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use eudi_http::HttpConfig;
use eudi_http::ReqwestClient;
use eudi_http::UrlPolicy;
use eudi_oid4vci::client::AuthorizationStart;
use eudi_oid4vci::client::ClientConfig;
use eudi_oid4vci::client::ClientError;
use eudi_oid4vci::client::CredentialOutcome;
use eudi_oid4vci::client::DpopKey;
use eudi_oid4vci::client::EncryptResponse;
use eudi_oid4vci::client::IssuerClient;
use eudi_oid4vci::client::resolve_offer;
use eudi_oid4vci::endpoint::HttpRequest;
use eudi_oid4vci::issuance::CredentialMinter;
use eudi_oid4vci::issuance::MintFuture;
use eudi_oid4vci::issuance::MintOutcome;
use eudi_oid4vci::issuance::MintRequest;
use eudi_oid4vci::messages::NotificationEvent;
use eudi_oid4vci::metadata::CredentialConfiguration;
use eudi_oid4vci::server::Issuer;
use eudi_oid4vci::server::IssuerConfig;
use eudi_oid4vci::store::memory::MemoryStore;
use eudi_trust::Algorithm;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::SystemClock;
use serde_json::json;

/// Largest request body the test server reads.
const MAX_BODY: usize = 1024 * 1024;

/// Issues `credential:<holder key thumbprint>` per key.
#[derive(Debug)]
struct Minter;

impl CredentialMinter for Minter {
    fn mint<'a>(&'a self, request: MintRequest<'a>) -> MintFuture<'a> {
        Box::pin(async move {
            Ok(MintOutcome::Issued(
                request
                    .holder_keys
                    .iter()
                    .map(|key| format!("credential:{}", key.thumbprint()))
                    .collect(),
            ))
        })
    }
}

async fn serve(
    State(issuer): State<Arc<Issuer>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let mut http = HttpRequest::new(parts.method.as_str(), parts.uri.path());
    http.query = parts.uri.query().map(str::to_owned);
    for (name, value) in &parts.headers {
        http = http.with_header(name.as_str(), value.to_str().unwrap());
    }
    http.body = axum::body::to_bytes(body, MAX_BODY).await.unwrap().to_vec();
    let answer = issuer.handle(&http).await;
    let Some(answer) = answer else {
        return axum::response::Response::builder()
            .status(404)
            .body(Body::from("{\"error\":\"not_found\"}"))
            .unwrap();
    };
    let mut response = axum::response::Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    response.body(Body::from(answer.body)).unwrap()
}

async fn start_issuer() -> (String, Arc<Issuer>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let proof = json!({ "jwt": { "proof_signing_alg_values_supported": ["ES256"] } });
    let configurations: BTreeMap<String, CredentialConfiguration> = serde_json::from_value(json!({
        "pid-sd-jwt": {
            "format": "dc+sd-jwt", "vct": "urn:eudi:pid:1", "scope": "pid",
            "cryptographic_binding_methods_supported": ["jwk"],
            "proof_types_supported": proof,
        }
    }))
    .unwrap();
    let issuer = Arc::new(
        Issuer::new(
            IssuerConfig::new(base.clone(), configurations),
            Arc::new(MemoryStore::new()),
            Arc::new(Minter),
            Arc::new(SystemClock),
        )
        .unwrap(),
    );
    let router = axum::Router::new()
        .fallback(serve)
        .with_state(issuer.clone());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (base, issuer)
}

fn dev() -> (Arc<ReqwestClient>, ClientConfig) {
    let http =
        ReqwestClient::new(HttpConfig::default().with_policy(UrlPolicy::allow_private_network()))
            .unwrap();
    let config = ClientConfig::default().with_policy(UrlPolicy::allow_private_network());
    (Arc::new(http), config)
}

fn key() -> Arc<SoftwareKey> {
    Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap())
}

#[tokio::test]
async fn both_flows_over_loopback_http() {
    let (base, issuer) = start_issuer().await;
    let (http, config) = dev();

    // Pre-authorized, offer by reference, tx_code, a batch of 2 with an encrypted answer.
    let created = issuer
        .create_pre_authorized_offer(b"person-1", &["pid-sd-jwt".into()], true, true)
        .await
        .unwrap();
    let offer = resolve_offer(http.as_ref(), &created.uri, &config)
        .await
        .unwrap();
    assert_eq!(offer.credential_issuer, base);
    let client = IssuerClient::for_offer(http.clone(), &offer, config.clone())
        .await
        .unwrap();
    let tokens = client
        .pre_authorized(&offer, created.tx_code.as_deref(), DpopKey::new(key()))
        .await
        .unwrap();
    let holders = [key(), key()];
    let signers: Vec<&dyn Signer> = holders.iter().map(|k| k.as_ref() as &dyn Signer).collect();
    let outcome = client
        .request_credentials(&tokens, "pid-sd-jwt", &signers, EncryptResponse::Always)
        .await
        .unwrap();
    let CredentialOutcome::Issued {
        credentials,
        notification_id,
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    let expected: Vec<serde_json::Value> = holders
        .iter()
        .map(|k| {
            json!(format!(
                "credential:{}",
                k.verifying_key().to_jwk().thumbprint()
            ))
        })
        .collect();
    let issued: Vec<serde_json::Value> = credentials.into_iter().map(|c| c.credential).collect();
    assert_eq!(issued, expected);
    client
        .notify(
            &tokens,
            &notification_id.unwrap(),
            NotificationEvent::CredentialAccepted,
            None,
        )
        .await
        .unwrap();

    // Authorization code: PAR, the browser's visit (the binary's part, done here), callback.
    let pending = client
        .start_authorization(AuthorizationStart {
            client_id: "wallet".into(),
            redirect_uri: "http://127.0.0.1:1/cb".into(),
            configuration_ids: vec!["pid-sd-jwt".into()],
            issuer_state: None,
            dpop_key: DpopKey::new(key()),
            client_attestation: None,
        })
        .await
        .unwrap();
    assert!(
        pending
            .authorization_url
            .starts_with(&format!("{base}/authorize?"))
    );
    let query = url::Url::parse(&pending.authorization_url)
        .unwrap()
        .query()
        .unwrap()
        .to_owned();
    let login = issuer.authorize(&query).await.unwrap();
    let callback = issuer
        .complete_authorization(&login.id, b"person-1".to_vec())
        .await
        .unwrap();
    let tokens = client
        .finish_authorization(pending, &callback)
        .await
        .unwrap();
    let holder = key();
    let outcome = client
        .request_credentials(
            &tokens,
            "pid-sd-jwt",
            &[holder.as_ref()],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    assert!(matches!(outcome, CredentialOutcome::Issued { .. }));
}

#[tokio::test]
async fn the_default_policy_refuses_a_loopback_issuer() {
    let (base, issuer) = start_issuer().await;
    let (http, _) = dev();
    let error = IssuerClient::connect(http.clone(), &base, ClientConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::InvalidUrl { .. }), "{error:?}");
    let created = issuer
        .create_pre_authorized_offer(b"person-1", &["pid-sd-jwt".into()], false, true)
        .await
        .unwrap();
    let error = resolve_offer(http.as_ref(), &created.uri, &ClientConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::InvalidUrl { .. }), "{error:?}");
}
