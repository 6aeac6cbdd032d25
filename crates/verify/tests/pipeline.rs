//! The typed verification pipeline with a fake network and a manual clock: issuer binding of
//! configured keys, status lists for every SD-JWT (fetched once and cached, only from the
//! credential's own issuer), holder binding, policy, and the CPR.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;

use eudi_sdjwt::ClaimPath;
use eudi_sdjwt::Format;
use eudi_sdjwt::SdJwt;
use eudi_sdjwt::SdJwtBuilder;
use eudi_sdjwt::holder::KeyBindingParams;
use eudi_sdjwt::holder::{self};
use eudi_sdjwt::vc;
use eudi_status_list::Bits;
use eudi_status_list::Status;
use eudi_status_list::StatusList;
use eudi_status_list::StatusListTokenBuilder;
use eudi_trust::Algorithm;
use eudi_trust::AssuranceLevel;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::clock::ManualClock;
use eudi_verify::AnchorPurpose;
use eudi_verify::Context;
use eudi_verify::CredentialFormat;
use eudi_verify::ErrorCode;
use eudi_verify::KeyBinding;
use eudi_verify::Policy;
use eudi_verify::StatusCheck;
use eudi_verify::StatusSource;
use eudi_verify::TrustConfig;
use eudi_verify::TrustedKey;
use eudi_verify::fetch::FetchError;
use eudi_verify::fetch::FetchFuture;
use eudi_verify::fetch::Fetcher;
use eudi_verify::verify_mdoc;
use eudi_verify::verify_sd_jwt;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;

const NOW: i64 = 1_780_000_000;
const URI: &str = "https://issuer.example/status/7";
const ISS: &str = "https://issuer.example";

#[derive(Debug)]
struct CountingFetcher {
    body: String,
    calls: AtomicUsize,
}

impl CountingFetcher {
    fn new(body: String) -> Arc<Self> {
        Arc::new(Self {
            body,
            calls: AtomicUsize::new(0),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
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
    clock: ManualClock,
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

impl Setup {
    fn new() -> Self {
        Self {
            issuer: SoftwareKey::generate(Algorithm::Es256).unwrap(),
            holder: SoftwareKey::generate(Algorithm::Es256).unwrap(),
            clock: ManualClock::new(NOW),
        }
    }

    fn key(&self, ceiling: Option<AssuranceLevel>) -> TrustedKey {
        TrustedKey::new(self.issuer.verifying_key().clone(), "test")
            .kid("k1")
            .issuer(ISS)
            .ceiling(ceiling)
    }

    fn trust(&self, ceiling: Option<AssuranceLevel>) -> TrustConfig {
        let mut trust = TrustConfig::new();
        trust.add_key(self.key(ceiling));
        trust
    }

    fn context<'a>(&'a self, trust: &'a TrustConfig, status: StatusCheck<'a>) -> Context<'a> {
        Context {
            trust,
            status,
            clock: &self.clock,
        }
    }

    fn claims(&self, idx: u64) -> Map<String, Value> {
        object(json!({
            "given_name": "Karen",
            "status": {"status_list": {"idx": idx, "uri": URI}},
        }))
    }

    async fn bind(&self, sd: &SdJwt, paths: &[ClaimPath], format: Format) -> String {
        let chosen = holder::select(sd, paths).unwrap();
        let params = KeyBindingParams {
            audience: "rp".into(),
            nonce: "n".into(),
            iat: NOW - 1,
        };
        holder::add_key_binding(chosen, &self.holder, &params)
            .await
            .unwrap()
            .with_format(format)
            .unwrap()
            .serialize()
            .unwrap()
    }

    async fn presentation(&self, idx: u64, format: Format) -> String {
        let sd = vc::builder("urn:eudi:pid:1", ISS, NOW - 60, self.claims(idx))
            .kid("k1")
            .holder_key(&self.holder.verifying_key().to_jwk())
            .unwrap()
            .sign(&self.issuer)
            .await
            .unwrap();
        self.bind(&sd, &[ClaimPath::keys(["given_name"])], format)
            .await
    }

    async fn status_list(&self, signer: &SoftwareKey, uri: &str) -> String {
        let mut list = StatusList::new(Bits::Two, 32).unwrap();
        list.set_status(1, Status::Invalid).unwrap();
        list.set_status(2, Status::Suspended).unwrap();
        StatusListTokenBuilder::new(uri, &list, NOW - 10)
            .ttl(600)
            .sign_jwt(signer)
            .await
            .unwrap()
    }
}

fn binding() -> KeyBinding {
    KeyBinding {
        nonce: "n".into(),
        audience: "rp".into(),
    }
}

#[tokio::test]
async fn status_is_fetched_once_then_cached() {
    let s = Setup::new();
    let fetcher = CountingFetcher::new(s.status_list(&s.issuer, URI).await);
    let source = StatusSource::new(fetcher.clone());
    let trust = s.trust(Some(AssuranceLevel::High));
    let cx = s.context(&trust, StatusCheck::Fetch(&source));
    let policy = Policy::default();

    let v = verify_sd_jwt(
        &s.presentation(0, Format::Compact).await,
        Some(&binding()),
        &cx,
        &policy,
    )
    .await
    .unwrap();
    assert_eq!(v.format, CredentialFormat::SdJwtVc);
    assert_eq!(v.claims, object(json!({"given_name": "Karen"})));
    assert_eq!(v.issuer.as_deref(), Some(ISS));
    assert_eq!(v.assurance_level, Some(AssuranceLevel::High));
    assert!(v.holder_binding);
    assert_eq!(v.status, Some(Status::Valid));
    assert_eq!(v.valid_from, Some(NOW - 60));
    assert_eq!(fetcher.calls(), 1);

    let revoked = verify_sd_jwt(
        &s.presentation(1, Format::Compact).await,
        Some(&binding()),
        &cx,
        &policy,
    )
    .await;
    assert_eq!(revoked.unwrap_err().code, ErrorCode::Revoked);
    let suspended = verify_sd_jwt(
        &s.presentation(2, Format::JsonFlattened).await,
        Some(&binding()),
        &cx,
        &policy,
    )
    .await;
    assert_eq!(suspended.unwrap_err().code, ErrorCode::Suspended);
    assert_eq!(fetcher.calls(), 1, "later checks hit the cache");
}

#[tokio::test]
async fn status_list_from_an_untrusted_signer_is_refused() {
    let s = Setup::new();
    let stranger = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let source = StatusSource::new(CountingFetcher::new(s.status_list(&stranger, URI).await));
    let trust = s.trust(None);
    let cx = s.context(&trust, StatusCheck::Fetch(&source));
    let e = verify_sd_jwt(
        &s.presentation(0, Format::Compact).await,
        Some(&binding()),
        &cx,
        &Policy::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::StatusUnavailable);
}

#[tokio::test]
async fn status_list_from_another_trusted_issuer_is_refused() {
    // The other key is trusted, and names itself by `kid`, but for another issuer.
    let s = Setup::new();
    let other = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let mut list = StatusList::new(Bits::Two, 32).unwrap();
    list.set_status(0, Status::Valid).unwrap();
    let token = StatusListTokenBuilder::new(URI, &list, NOW - 10)
        .ttl(600)
        .kid("k2")
        .sign_jwt(&other)
        .await
        .unwrap();
    let mut trust = s.trust(None);
    trust.add_key(
        TrustedKey::new(other.verifying_key().clone(), "other")
            .kid("k2")
            .issuer("https://other.example"),
    );
    let supplied = [token.into_bytes()];
    let cx = s.context(&trust, StatusCheck::Supplied(&supplied));
    let e = verify_sd_jwt(
        &s.presentation(0, Format::Compact).await,
        Some(&binding()),
        &cx,
        &Policy::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::StatusUnavailable, "{e}");

    // Bound to the same issuer, the same token is the issuer's.
    let mut trust = s.trust(None);
    trust.add_key(
        TrustedKey::new(other.verifying_key().clone(), "other")
            .kid("k2")
            .issuer(ISS),
    );
    let cx = s.context(&trust, StatusCheck::Supplied(&supplied));
    let v = verify_sd_jwt(
        &s.presentation(0, Format::Compact).await,
        Some(&binding()),
        &cx,
        &Policy::default(),
    )
    .await;
    assert_eq!(v.unwrap().status, Some(Status::Valid));
}

#[tokio::test]
async fn supplied_status_list_for_another_uri_is_an_error_not_a_fetch() {
    let s = Setup::new();
    let supplied = [s
        .status_list(&s.issuer, "https://issuer.example/status/other")
        .await
        .into_bytes()];
    let trust = s.trust(None);
    let cx = s.context(&trust, StatusCheck::Supplied(&supplied));
    let e = verify_sd_jwt(
        &s.presentation(0, Format::Compact).await,
        Some(&binding()),
        &cx,
        &Policy::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::StatusUnavailable);
    assert!(e.message.contains(URI), "{e}");
}

#[tokio::test]
async fn plain_sd_jwt_status_is_checked_too() {
    let s = Setup::new();
    let mut claims = s.claims(1);
    claims.insert("iss".into(), json!(ISS));
    claims.insert("iat".into(), json!(NOW - 60));
    let sd = SdJwtBuilder::new(&claims)
        .sd(ClaimPath::keys(["given_name"]))
        .kid("k1")
        .sign(&s.issuer)
        .await
        .unwrap();
    let presentation = holder::select(&sd, &[ClaimPath::keys(["given_name"])])
        .unwrap()
        .to_compact()
        .unwrap();
    let source = StatusSource::new(CountingFetcher::new(s.status_list(&s.issuer, URI).await));
    let trust = s.trust(None);
    let cx = s.context(&trust, StatusCheck::Fetch(&source));
    let e = verify_sd_jwt(&presentation, None, &cx, &Policy::default())
        .await
        .unwrap_err();
    assert_eq!(e.format, Some(CredentialFormat::SdJwt));
    assert_eq!(e.code, ErrorCode::Revoked, "{e}");
}

#[tokio::test]
async fn a_key_vouches_only_for_its_own_issuer() {
    let s = Setup::new();
    let presentation = s.presentation(0, Format::Compact).await;
    let policy = Policy::default();
    for (key, why) in [
        (
            TrustedKey::new(s.issuer.verifying_key().clone(), "unbound").kid("k1"),
            "an unbound key",
        ),
        (
            TrustedKey::new(s.issuer.verifying_key().clone(), "other")
                .kid("k1")
                .issuer("https://issuer.example.evil"),
            "a key of another issuer",
        ),
        (
            TrustedKey::new(s.issuer.verifying_key().clone(), "prefix")
                .kid("k1")
                .issuer("https://issuer.exampl"),
            "a key of a prefix of the issuer",
        ),
    ] {
        let mut trust = TrustConfig::new();
        trust.add_key(key);
        let cx = s.context(&trust, StatusCheck::Skip);
        let e = verify_sd_jwt(&presentation, Some(&binding()), &cx, &policy)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::UntrustedIssuer, "{why}: {e}");
    }
}

#[tokio::test]
async fn holder_binding_is_reported_only_when_compared() {
    let s = Setup::new();
    let trust = s.trust(None);
    let cx = s.context(&trust, StatusCheck::Skip);
    // The KB-JWT is present and checked, but no nonce or audience was compared.
    let v = verify_sd_jwt(
        &s.presentation(1, Format::JsonFlattened).await,
        None,
        &cx,
        &Policy::default(),
    )
    .await
    .unwrap();
    assert!(!v.holder_binding);
    assert_eq!(v.status, None);
    assert_eq!(v.assurance_level, None);
    let other = KeyBinding {
        nonce: "n".into(),
        audience: "another-rp".into(),
    };
    let e = verify_sd_jwt(
        &s.presentation(1, Format::Compact).await,
        Some(&other),
        &cx,
        &Policy::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidKeyBinding);
}

#[tokio::test]
async fn signatures_by_different_keys_verify_in_any_trust_order() {
    let s = Setup::new();
    let second = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let mut claims = s.claims(0);
    claims.insert("iss".into(), json!(ISS));
    claims.remove("status");
    let sd = SdJwtBuilder::new(&claims)
        .sign_general(&[(&s.issuer, "a"), (&second, "b")])
        .await
        .unwrap();
    let presentation = sd.serialize().unwrap();
    // Configured without `kid`: every key is a candidate for every signature.
    let keys = [
        TrustedKey::new(s.issuer.verifying_key().clone(), "first").issuer(ISS),
        TrustedKey::new(second.verifying_key().clone(), "second").issuer(ISS),
    ];
    for order in [[0, 1], [1, 0]] {
        let mut trust = TrustConfig::new();
        for i in order {
            trust.add_key(keys[i].clone());
        }
        let cx = s.context(&trust, StatusCheck::Skip);
        let v = verify_sd_jwt(&presentation, None, &cx, &Policy::default()).await;
        assert!(v.is_ok(), "{order:?}: {v:?}");
    }
}

/// Two candidate keys (no `kid` anywhere) for one compact signature: valid whichever is
/// configured first, and the key that verified is the one reported; with neither key the
/// failure is the one a single wrong key gives (a bad issuer signature).
#[tokio::test]
async fn two_candidate_keys_in_either_order() {
    let s = Setup::new();
    let other = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let third = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let mut claims = s.claims(0);
    claims.insert("iss".into(), json!(ISS));
    claims.remove("status");
    let presentation = SdJwtBuilder::new(&claims)
        .sign(&s.issuer)
        .await
        .unwrap()
        .serialize()
        .unwrap();
    let right = TrustedKey::new(s.issuer.verifying_key().clone(), "right").issuer(ISS);
    let wrong = TrustedKey::new(other.verifying_key().clone(), "wrong").issuer(ISS);
    for keys in [[&right, &wrong], [&wrong, &right]] {
        let mut trust = TrustConfig::new();
        for k in keys {
            trust.add_key(k.clone());
        }
        let cx = s.context(&trust, StatusCheck::Skip);
        let v = verify_sd_jwt(&presentation, None, &cx, &Policy::default())
            .await
            .unwrap();
        assert_eq!(v.issuer.as_deref(), Some(ISS));
    }

    let verify_with = |keys: Vec<TrustedKey>| {
        let mut trust = TrustConfig::new();
        for k in keys {
            trust.add_key(k);
        }
        trust
    };
    let single = verify_with(vec![wrong.clone()]);
    let single = verify_sd_jwt(
        &presentation,
        None,
        &s.context(&single, StatusCheck::Skip),
        &Policy::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(single.code, ErrorCode::InvalidSignature);
    for keys in [
        vec![
            wrong.clone(),
            TrustedKey::new(third.verifying_key().clone(), "third").issuer(ISS),
        ],
        vec![
            TrustedKey::new(third.verifying_key().clone(), "third").issuer(ISS),
            wrong.clone(),
        ],
    ] {
        let trust = verify_with(keys);
        let e = verify_sd_jwt(
            &presentation,
            None,
            &s.context(&trust, StatusCheck::Skip),
            &Policy::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, single.code);
        assert_eq!(e.message, single.message);
    }
}

/// An SD-JWT (VC) whose issuer signature is RS256 or PS256 is refused, by name, before any key
/// could verify it: ES256 only unless configured. The signature bytes are never looked at, so
/// no RSA key is needed.
#[tokio::test]
async fn non_es256_issuer_signature_is_refused_by_name() {
    let s = Setup::new();
    let mut trust = TrustConfig::new();
    trust.add_key(TrustedKey::new(s.issuer.verifying_key().clone(), "issuer").issuer(ISS));
    let cx = s.context(&trust, StatusCheck::Skip);
    let payload =
        json!({"iss": ISS, "vct": "urn:eudi:pid:1", "iat": NOW - 60, "given_name": "Karen"});
    for alg in ["RS256", "PS256"] {
        for typ in ["dc+sd-jwt", "example+sd-jwt"] {
            let header = json!({"alg": alg, "typ": typ});
            let mut payload = payload.clone();
            if typ != "dc+sd-jwt" {
                payload.as_object_mut().unwrap().remove("vct");
            }
            let token = format!(
                "{}.{}.{}~",
                eudi_trust::b64::encode(header.to_string()),
                eudi_trust::b64::encode(payload.to_string()),
                eudi_trust::b64::encode([7u8; 256]),
            );
            let e = verify_sd_jwt(&token, None, &cx, &Policy::default())
                .await
                .unwrap_err();
            assert!(e.message.contains(alg), "{alg} {typ}: {e:?}");
            assert_eq!(
                e.code,
                ErrorCode::UnsupportedAlgorithm,
                "{alg} {typ}: {e:?}"
            );
        }
    }
}

#[tokio::test]
async fn policy_level_claims_and_cpr() {
    let s = Setup::new();
    let claims = object(json!({
        "given_name": "Karen",
        "personal_administrative_number": "1203852459",
        eudi_pid::LOA_CLAIM: "substantial",
    }));
    let sd = vc::builder("urn:eudi:pid:1", ISS, NOW - 60, claims)
        .sign(&s.issuer)
        .await
        .unwrap();
    let all = holder::select(
        &sd,
        &[
            ClaimPath::keys(["personal_administrative_number"]),
            ClaimPath::keys([eudi_pid::LOA_CLAIM]),
        ],
    )
    .unwrap()
    .to_compact()
    .unwrap();
    let no_cpr = holder::select(&sd, &[ClaimPath::keys([eudi_pid::LOA_CLAIM])])
        .unwrap()
        .to_compact()
        .unwrap();
    let trust = s.trust(Some(AssuranceLevel::High));
    let cx = s.context(&trust, StatusCheck::Skip);

    let v = verify_sd_jwt(&all, None, &cx, &Policy::default())
        .await
        .unwrap();
    assert_eq!(v.cpr.as_deref(), Some("1203852459"));
    assert_eq!(v.assurance_level, Some(AssuranceLevel::Substantial));
    let v = verify_sd_jwt(&no_cpr, None, &cx, &Policy::default())
        .await
        .unwrap();
    assert_eq!(v.cpr, None);

    let high = Policy {
        min_loa: Some(AssuranceLevel::High),
        ..Policy::default()
    };
    let e = verify_sd_jwt(&all, None, &cx, &high).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::LoaTooLow);
    assert!(e.message.contains("level of assurance"), "{e}");
    let needs_cpr = Policy {
        required_claims: vec![vec!["personal_administrative_number".into()]],
        ..Policy::default()
    };
    assert!(verify_sd_jwt(&all, None, &cx, &needs_cpr).await.is_ok());
    let e = verify_sd_jwt(&no_cpr, None, &cx, &needs_cpr)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::MissingClaim);
}

/// An mdoc whose `issuerAuth` is not ES256 (EdDSA -8, PS256 -37) is refused by name: the
/// ISO/IEC 18013-5 Annex D response with its protected header rewritten, so no key of those
/// types is needed (every structure around the header is counted in items, not bytes).
#[tokio::test]
async fn non_es256_mdoc_issuer_auth_is_refused_by_name() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/mdoc/annex-d");
    let hex = std::fs::read_to_string(dir.join("device_response.hex")).unwrap();
    let hex = hex.trim();
    let pem = std::fs::read_to_string(dir.join("ds_cert.pem")).unwrap();
    let mut trust = TrustConfig::new();
    trust
        .add_anchor_pem(&pem, Some(AnchorPurpose::Mdoc), None)
        .unwrap();
    // 2021-01-01, while the Annex D DS certificate is valid.
    let clock = ManualClock::new(1_609_459_200);
    let cx = Context {
        trust: &trust,
        status: StatusCheck::Skip,
        clock: &clock,
    };
    let bytes = |hex: &str| -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    };
    // As published it verifies (so the failures below are the header's doing).
    verify_mdoc(&bytes(hex), None, &cx, &Policy::default())
        .await
        .unwrap();
    const ES256_HEADER: &str = "43a10126";
    assert_eq!(hex.matches(ES256_HEADER).count(), 1);
    for (header, names) in [
        ("43a10127", ["EdDSA", "-8"]),
        ("44a1013824", ["PS256", "-37"]),
    ] {
        let tampered = bytes(&hex.replacen(ES256_HEADER, header, 1));
        let e = verify_mdoc(&tampered, None, &cx, &Policy::default())
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedAlgorithm, "{header}: {e:?}");
        assert!(
            names.iter().any(|n| e.message.contains(n)),
            "{header}: {e:?}"
        );
    }
}

#[tokio::test]
async fn cbor_that_is_no_mdoc_has_no_format() {
    let s = Setup::new();
    let trust = s.trust(None);
    let cx = s.context(&trust, StatusCheck::Skip);
    // {"version": "1.0"}: CBOR, but no DeviceResponse.
    let bytes = [
        0xa1, 0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x63, b'1', b'.', b'0',
    ];
    let e = verify_mdoc(&bytes, None, &cx, &Policy::default())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Malformed);
    assert_eq!(e.format, None);
    let e = verify_sd_jwt("a.b.c~", None, &cx, &Policy::default())
        .await
        .unwrap_err();
    assert_eq!(e.format, None);
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
        let claims = object(json!({"given_name": "Karen", eudi_pid::LOA_CLAIM: stated}));
        let sd = vc::builder("urn:eudi:pid:1", ISS, NOW - 60, claims)
            .sign(&s.issuer)
            .await
            .unwrap();
        let chosen = holder::select(&sd, &[ClaimPath::keys([eudi_pid::LOA_CLAIM])]).unwrap();
        let trust = s.trust(ceiling);
        let cx = s.context(&trust, StatusCheck::Skip);
        let v = verify_sd_jwt(&chosen.to_compact().unwrap(), None, &cx, &Policy::default())
            .await
            .unwrap();
        assert_eq!(v.assurance_level, effective, "{stated} under {ceiling:?}");
    }
}

#[tokio::test]
async fn a_cached_list_never_answers_for_another_issuer() {
    // Two trusted issuers; the second's credential points at the first's status list.
    let s = Setup::new();
    let other = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let fetcher = CountingFetcher::new(s.status_list(&s.issuer, URI).await);
    let source = StatusSource::new(fetcher.clone());
    let mut trust = s.trust(None);
    trust.add_key(
        TrustedKey::new(other.verifying_key().clone(), "other")
            .kid("k2")
            .issuer("https://other.example"),
    );
    let cx = s.context(&trust, StatusCheck::Fetch(&source));
    let first = verify_sd_jwt(
        &s.presentation(0, Format::Compact).await,
        Some(&binding()),
        &cx,
        &Policy::default(),
    )
    .await;
    assert!(first.is_ok(), "{first:?}");
    let sd = vc::builder(
        "urn:eudi:pid:1",
        "https://other.example",
        NOW - 60,
        s.claims(0),
    )
    .kid("k2")
    .sign(&other)
    .await
    .unwrap();
    let presentation = holder::select(&sd, &[ClaimPath::keys(["given_name"])])
        .unwrap()
        .to_compact()
        .unwrap();
    let e = verify_sd_jwt(&presentation, None, &cx, &Policy::default())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::StatusUnavailable, "{e}");
    assert_eq!(
        fetcher.calls(),
        2,
        "the first issuer's cached list was not reused"
    );
}

#[tokio::test]
async fn a_plain_sd_jwt_may_use_status_for_something_else() {
    let s = Setup::new();
    let claims = object(json!({"iss": ISS, "iat": NOW - 60, "status": "active"}));
    let sd = SdJwtBuilder::new(&claims)
        .kid("k1")
        .sign(&s.issuer)
        .await
        .unwrap();
    let fetcher = CountingFetcher::new(String::new());
    let source = StatusSource::new(fetcher.clone());
    let trust = s.trust(None);
    let cx = s.context(&trust, StatusCheck::Fetch(&source));
    let v = verify_sd_jwt(&sd.to_compact().unwrap(), None, &cx, &Policy::default())
        .await
        .unwrap();
    assert_eq!(v.status, None);
    assert_eq!(fetcher.calls(), 0);
}

#[tokio::test]
async fn too_many_issuer_signatures_are_refused() {
    let s = Setup::new();
    let claims = object(json!({"iss": ISS, "iat": NOW - 60}));
    let kids: Vec<String> = (0..=eudi_verify::MAX_ISSUER_SIGNATURES)
        .map(|i| format!("k{i}"))
        .collect();
    let signers: Vec<(&dyn eudi_trust::Signer, &str)> = kids
        .iter()
        .map(|k| (&s.issuer as &dyn eudi_trust::Signer, k.as_str()))
        .collect();
    let sd = SdJwtBuilder::new(&claims)
        .sign_general(&signers)
        .await
        .unwrap();
    let mut trust = TrustConfig::new();
    trust.add_key(TrustedKey::new(s.issuer.verifying_key().clone(), "test").issuer(ISS));
    let cx = s.context(&trust, StatusCheck::Skip);
    let e = verify_sd_jwt(&sd.serialize().unwrap(), None, &cx, &Policy::default())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLarge, "{e}");
    // At the limit, all verify.
    let sd = SdJwtBuilder::new(&claims)
        .sign_general(&signers[1..])
        .await
        .unwrap();
    assert!(
        verify_sd_jwt(&sd.serialize().unwrap(), None, &cx, &Policy::default())
            .await
            .is_ok()
    );
}
