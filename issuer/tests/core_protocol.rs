//! The PID minter behind `eudi_oid4vci`'s issuer, in process: a pre-authorized offer with a
//! transaction code, token, nonce and a credential request with a batch of key proofs, for both
//! PID configurations; what comes back verifies with eudi-verify against `trust-anchors`. A
//! refused identity gets `credential_request_denied` with the rule's words, a birth-date
//! mismatch a deferred `transaction_id` that yields the PID once a reviewer approved it.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::path::PathBuf;
use std::sync::Arc;

use eudi_issuer::config::KeysConfig;
use eudi_issuer::minter::MDOC_CONFIGURATION_ID;
use eudi_issuer::minter::MinterSettings;
use eudi_issuer::minter::PidMinter;
use eudi_issuer::minter::SD_JWT_CONFIGURATION_ID;
use eudi_issuer::minter::pid_credential_configurations;
use eudi_issuer::pki::IssuerKeys;
use eudi_issuer::status_lists::StatusForm;
use eudi_issuer::status_lists::StatusListPublisher;
use eudi_issuer::subject::Subject;
use eudi_oid4vci::endpoint::HttpRequest;
use eudi_oid4vci::proof::ProofClaims;
use eudi_oid4vci::server::Issuer;
use eudi_oid4vci::server::config::IssuerConfig;
use eudi_oid4vci::server::paths;
use eudi_oid4vci::store::DeferredState;
use eudi_oid4vci::store::DeferredStore as _;
use eudi_oid4vci::store::StatusListStore as _;
use eudi_oid4vci::store::memory::MemoryStore;
use eudi_pid::FileRegister;
use eudi_pid::IssuerPolicy;
use eudi_pid::default_test_identities;
use eudi_trust::Algorithm;
use eudi_trust::Clock;
use eudi_trust::SoftwareKey;
use eudi_verify::Context;
use eudi_verify::Policy;
use eudi_verify::StatusCheck;
use eudi_verify::TrustConfig;
use serde_json::Value;
use serde_json::json;

#[derive(Debug)]
struct At(i64);

impl Clock for At {
    fn now(&self) -> i64 {
        self.0
    }
}

const NOW: i64 = 1_780_000_000;
const ISSUER: &str = "https://issuer.example";

struct Setup {
    dir: PathBuf,
    keys: Arc<IssuerKeys>,
    store: Arc<MemoryStore>,
    issuer: Issuer,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn setup(name: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!(
        "eudi-issuer-core-protocol-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let keys = Arc::new(
        IssuerKeys::load_or_generate(&dir, &KeysConfig::default(), "DK", ISSUER, &At(NOW)).unwrap(),
    );
    let store = Arc::new(MemoryStore::new());
    let minter = PidMinter::new(
        keys.clone(),
        Arc::new(FileRegister::embedded()),
        store.clone(),
        store.clone(),
        MinterSettings {
            issuer_id: ISSUER.into(),
            policy: IssuerPolicy::default(),
            defer_on_birth_date_mismatch: true,
            status_list_size: 1024,
        },
    )
    .unwrap();
    let config = IssuerConfig::new(ISSUER, pid_credential_configurations().unwrap());
    let issuer = Issuer::new(config, store.clone(), Arc::new(minter), Arc::new(At(NOW))).unwrap();
    Setup {
        dir,
        keys,
        store,
        issuer,
    }
}

async fn call(s: &Setup, request: HttpRequest) -> (u16, Value) {
    let response = s.issuer.handle(&request).await.unwrap();
    let body = response.json_body().unwrap_or(Value::Null);
    (response.status, body)
}

/// Offer → token → nonce → credential with `proofs` key proofs; the credential response body.
async fn redeem(s: &Setup, user: &str, configuration: &str, proofs: usize) -> (u16, Value) {
    let (status, body, _) = redeem_with_token(s, user, configuration, proofs).await;
    (status, body)
}

/// [`redeem`], also answering the access token.
async fn redeem_with_token(
    s: &Setup,
    user: &str,
    configuration: &str,
    proofs: usize,
) -> (u16, Value, String) {
    let identity = default_test_identities()
        .into_iter()
        .find(|i| i.username == user)
        .unwrap();
    let subject = Subject::from_test_identity(&identity).encode();
    let offer = s
        .issuer
        .create_pre_authorized_offer(&subject, &[configuration.to_owned()], true, false)
        .await
        .unwrap();
    let grant = offer.offer.grants.unwrap().pre_authorized_code.unwrap();
    let form = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={}&tx_code={}",
        grant.pre_authorized_code,
        offer.tx_code.unwrap()
    );
    let (status, token) = call(s, HttpRequest::new("POST", paths::TOKEN).with_form(form)).await;
    assert_eq!(status, 200, "{token}");
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    let (status, nonce) = call(s, HttpRequest::new("POST", paths::NONCE)).await;
    assert_eq!(status, 200, "{nonce}");
    let c_nonce = nonce["c_nonce"].as_str().unwrap().to_owned();
    let mut jwts = Vec::new();
    for _ in 0..proofs {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let claims = ProofClaims {
            iss: None,
            aud: ISSUER,
            iat: NOW,
            nonce: Some(&c_nonce),
        };
        jwts.push(
            eudi_oid4vci::proof::create(&key, &claims, None)
                .await
                .unwrap(),
        );
    }
    let request = HttpRequest::new("POST", paths::CREDENTIAL)
        .with_header("authorization", &format!("Bearer {access_token}"))
        .with_json(&json!({
            "credential_configuration_id": configuration,
            "proofs": {"jwt": jwts},
        }));
    let (status, body) = call(s, request).await;
    (status, body, access_token)
}

async fn tokens(s: &Setup) -> Vec<Vec<u8>> {
    let publisher = StatusListPublisher::new(s.store.clone(), s.keys.clone(), ISSUER, 300, 86_400);
    let mut out = Vec::new();
    for list in s.store.status_lists().await.unwrap() {
        for form in [StatusForm::Jwt, StatusForm::Cwt] {
            out.push(
                publisher
                    .serve(list, form, NOW)
                    .await
                    .unwrap()
                    .unwrap()
                    .body
                    .to_vec(),
            );
        }
    }
    out
}

#[tokio::test]
async fn pre_authorized_batches_of_both_formats_verify() {
    let s = setup("batch");
    let (status, sd) = redeem(&s, "high", SD_JWT_CONFIGURATION_ID, 3).await;
    assert_eq!(status, 200, "{sd}");
    let (status, md) = redeem(&s, "substantial", MDOC_CONFIGURATION_ID, 3).await;
    assert_eq!(status, 200, "{md}");
    let status_tokens = tokens(&s).await;
    let mut trust = TrustConfig::new();
    trust
        .add_anchor_pem(&s.keys.trust_anchors_pem(), None, None)
        .unwrap();
    let clock = At(NOW + 60);
    let context = Context {
        trust: &trust,
        status: StatusCheck::Supplied(&status_tokens),
        clock: &clock,
    };
    let sd = sd["credentials"].as_array().unwrap();
    assert_eq!(sd.len(), 3);
    for c in sd {
        let v = eudi_verify::verify_sd_jwt(
            c["credential"].as_str().unwrap(),
            None,
            &context,
            &Policy::default(),
        )
        .await
        .unwrap();
        assert_eq!(v.cpr.as_deref(), Some("0411721256"));
        assert_eq!(v.assurance_level, Some(eudi_trust::AssuranceLevel::High));
    }
    let md = md["credentials"].as_array().unwrap();
    assert_eq!(md.len(), 3);
    for c in md {
        let bytes = eudi_trust::b64::decode(c["credential"].as_str().unwrap()).unwrap();
        let docs = eudi_verify::verify_mdoc(&bytes, None, &context, &Policy::default())
            .await
            .unwrap();
        assert_eq!(docs[0].cpr.as_deref(), Some("1203852459"));
        assert_eq!(
            docs[0].assurance_level,
            Some(eudi_trust::AssuranceLevel::Substantial)
        );
    }
}

#[tokio::test]
async fn refused_and_deferred_identities() {
    let s = setup("refused");
    let (status, body) = redeem(&s, "erhverv", SD_JWT_CONFIGURATION_ID, 1).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "credential_request_denied");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("MitID Erhverv"),
        "{body}"
    );
    let (status, body, token) =
        redeem_with_token(&s, "birthdate-mismatch", SD_JWT_CONFIGURATION_ID, 1).await;
    // OpenID4VCI 1.0 §8.3: a deferred answer is 202 with a transaction_id.
    assert_eq!(status, 202, "{body}");
    assert!(body.get("credentials").is_none(), "{body}");
    let transaction_id = body["transaction_id"].as_str().unwrap().to_owned();
    let poll = || {
        HttpRequest::new("POST", paths::DEFERRED_CREDENTIAL)
            .with_header("authorization", &format!("Bearer {token}"))
            .with_json(&json!({"transaction_id": transaction_id}))
    };
    let (status, pending) = call(&s, poll()).await;
    assert!(pending.get("credentials").is_none(), "{status} {pending}");
    // A reviewer approves (`eudi-issuer review approve ID`): the next poll gets the PID, with
    // the register's birth date.
    let waiting = s
        .store
        .deferred(Some(DeferredState::Pending), NOW)
        .await
        .unwrap();
    let [record] = waiting.as_slice() else {
        panic!("one pending review: {waiting:?}");
    };
    assert!(!record.reason.contains("1990"), "{}", record.reason);
    s.store
        .decide_deferred(&record.id, true, NOW)
        .await
        .unwrap()
        .unwrap();
    let (status, issued) = call(&s, poll()).await;
    assert_eq!(status, 200, "{issued}");
    let credential = issued["credentials"][0]["credential"].as_str().unwrap();
    let status_tokens = tokens(&s).await;
    let mut trust = TrustConfig::new();
    trust
        .add_anchor_pem(&s.keys.trust_anchors_pem(), None, None)
        .unwrap();
    let clock = At(NOW + 60);
    let context = Context {
        trust: &trust,
        status: StatusCheck::Supplied(&status_tokens),
        clock: &clock,
    };
    let v = eudi_verify::verify_sd_jwt(credential, None, &context, &Policy::default())
        .await
        .unwrap();
    assert_eq!(v.claims["birthdate"], "1990-05-18");
}
