//! The verification pipeline with a fake network: status lists are fetched once and cached,
//! verified with a trusted key, and mapped to report codes.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use eudi_sdjwt::holder::{self, KeyBindingParams};
use eudi_sdjwt::{ClaimPath, Format, vc};
use eudi_status_list::{Bits, Status, StatusList, StatusListTokenBuilder};
use eudi_trust::{Algorithm, AssuranceLevel, Signer as _, SoftwareKey};
use eudi_verify::fetch::{FetchError, FetchFuture, Fetcher};
use eudi_verify::trust::TrustedKey;
use eudi_verify::{CredentialVerifier, ErrorCode, Expectations, TrustConfig};
use serde_json::json;

const NOW: i64 = 1_780_000_000;
const URI: &str = "https://issuer.example/status/7";

#[derive(Debug)]
struct CountingFetcher {
    body: String,
    calls: AtomicUsize,
}

impl Fetcher for CountingFetcher {
    fn get<'a>(&'a self, url: &'a str, accept: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            assert_eq!(accept, "application/statuslist+jwt");
            if url == URI {
                Ok(self.body.clone().into_bytes())
            } else {
                Err(FetchError::Offline(url.to_owned()))
            }
        })
    }
}

struct Setup {
    issuer: SoftwareKey,
    holder: SoftwareKey,
}

impl Setup {
    fn new() -> Self {
        Self {
            issuer: SoftwareKey::generate(Algorithm::Es256).unwrap(),
            holder: SoftwareKey::generate(Algorithm::Es256).unwrap(),
        }
    }

    fn trust(&self, ceiling: Option<AssuranceLevel>) -> TrustConfig {
        let mut trust = TrustConfig::new();
        trust.add_key(TrustedKey {
            key: self.issuer.verifying_key().clone(),
            kid: Some("k1".into()),
            ceiling,
            source: "test".into(),
        });
        trust
    }

    async fn presentation(&self, idx: u64, format: Format) -> String {
        let claims = json!({
            "given_name": "Karen",
            "status": {"status_list": {"idx": idx, "uri": URI}},
        });
        let sd = vc::builder(
            "urn:eudi:pid:1",
            "https://issuer.example",
            NOW - 60,
            claims.as_object().unwrap().clone(),
        )
        .kid("k1")
        .holder_key(&self.holder.verifying_key().to_jwk())
        .unwrap()
        .sign(&self.issuer)
        .await
        .unwrap();
        let chosen = holder::select(&sd, &[ClaimPath::keys(["given_name"])]).unwrap();
        let params = KeyBindingParams {
            audience: "rp".into(),
            nonce: "n".into(),
            iat: NOW - 1,
        };
        holder::add_key_binding(chosen, &self.holder, &params)
            .await
            .unwrap()
            .with_format(format)
            .serialize()
    }

    async fn status_list(&self, signer: &SoftwareKey) -> String {
        let mut list = StatusList::new(Bits::Two, 32).unwrap();
        list.set_status(1, Status::Invalid).unwrap();
        list.set_status(2, Status::Suspended).unwrap();
        StatusListTokenBuilder::new(URI, &list, NOW - 10)
            .ttl(600)
            .sign_jwt(signer)
            .await
            .unwrap()
    }
}

fn expect() -> Expectations {
    Expectations {
        nonce: Some("n".into()),
        audience: Some("rp".into()),
        now: Some(NOW),
        ..Expectations::default()
    }
}

#[tokio::test]
async fn status_is_fetched_once_then_cached() {
    let s = Setup::new();
    let fetcher = Arc::new(CountingFetcher {
        body: s.status_list(&s.issuer).await,
        calls: AtomicUsize::new(0),
    });
    let verifier = CredentialVerifier::new(s.trust(Some(AssuranceLevel::High)), fetcher.clone());

    let report = verifier
        .verify(&s.presentation(0, Format::Compact).await, &expect())
        .await;
    assert!(report.valid, "{report:?}");
    assert_eq!(
        report.claims,
        *json!({"given_name": "Karen"}).as_object().unwrap()
    );
    assert_eq!(report.assurance_level, Some(AssuranceLevel::High));
    assert!(report.holder_binding);
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);

    let revoked = verifier
        .verify(&s.presentation(1, Format::Compact).await, &expect())
        .await;
    assert_eq!(revoked.errors[0].code, ErrorCode::Revoked);
    let suspended = verifier
        .verify(&s.presentation(2, Format::JsonFlattened).await, &expect())
        .await;
    assert_eq!(suspended.errors[0].code, ErrorCode::Suspended);
    assert_eq!(
        fetcher.calls.load(Ordering::SeqCst),
        1,
        "later checks hit the cache"
    );
}

#[tokio::test]
async fn status_list_from_an_untrusted_signer_is_refused() {
    let s = Setup::new();
    let stranger = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let fetcher = Arc::new(CountingFetcher {
        body: s.status_list(&stranger).await,
        calls: AtomicUsize::new(0),
    });
    let verifier = CredentialVerifier::new(s.trust(None), fetcher);
    let report = verifier
        .verify(&s.presentation(0, Format::Compact).await, &expect())
        .await;
    assert!(!report.valid);
    assert_eq!(report.errors[0].code, ErrorCode::StatusUnavailable);
}

#[tokio::test]
async fn skip_status_and_json_serialization() {
    let s = Setup::new();
    let fetcher = Arc::new(CountingFetcher {
        body: String::new(),
        calls: AtomicUsize::new(0),
    });
    let verifier = CredentialVerifier::new(s.trust(None), fetcher.clone());
    let e = Expectations {
        skip_status: true,
        ..expect()
    };
    let report = verifier
        .verify(&s.presentation(1, Format::JsonFlattened).await, &e)
        .await;
    assert!(report.valid, "{report:?}");
    assert_eq!(report.status, None);
    assert_eq!(report.assurance_level, None);
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn hex_that_is_no_mdoc_is_malformed() {
    let s = Setup::new();
    let verifier = CredentialVerifier::new(
        s.trust(None),
        Arc::new(eudi_verify::fetch::StaticFetcher::new()),
    );
    let report = verifier
        .verify("a36776657273696f6e63312e30", &expect())
        .await;
    assert_eq!(report.format, "mso_mdoc");
    assert!(!report.valid);
    assert_eq!(report.errors[0].code, ErrorCode::Malformed);
}

#[tokio::test]
async fn stated_level_is_capped_by_the_anchor_ceiling() {
    let s = Setup::new();
    for (stated, ceiling, effective) in [
        (
            "high",
            Some(AssuranceLevel::Substantial),
            Some(AssuranceLevel::Substantial),
        ),
        ("low", Some(AssuranceLevel::High), Some(AssuranceLevel::Low)),
        ("substantial", None, Some(AssuranceLevel::Substantial)),
    ] {
        let claims = json!({"given_name": "Karen", eudi_pid::LOA_CLAIM: stated});
        let sd = vc::builder(
            "urn:eudi:pid:1",
            "https://issuer.example",
            NOW - 60,
            claims.as_object().unwrap().clone(),
        )
        .sign(&s.issuer)
        .await
        .unwrap();
        let chosen = holder::select(&sd, &[ClaimPath::keys([eudi_pid::LOA_CLAIM])]).unwrap();
        let verifier = CredentialVerifier::new(
            s.trust(ceiling),
            Arc::new(eudi_verify::fetch::StaticFetcher::new()),
        );
        let e = Expectations {
            now: Some(NOW),
            ..Expectations::default()
        };
        let report = verifier.verify(&chosen.to_compact(), &e).await;
        assert!(report.valid, "{report:?}");
        assert_eq!(
            report.assurance_level, effective,
            "{stated} under {ceiling:?}"
        );
    }
}
