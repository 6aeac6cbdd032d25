//! Minting PIDs end to end below the protocol: every default test identity through the PID rules,
//! both formats verified with the workspace's verifier (eudi-verify) against `trust-anchors`,
//! refusals and deferral, credential records, and revocation read back from the served JWT and
//! CWT status lists.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test setup failures should abort the test"
)]

use std::path::PathBuf;
use std::sync::Arc;

use eudi_issuer::config::KeysConfig;
use eudi_issuer::minter::Decision;
use eudi_issuer::minter::MDOC_CONFIGURATION_ID;
use eudi_issuer::minter::MinterSettings;
use eudi_issuer::minter::PidMinter;
use eudi_issuer::minter::SD_JWT_CONFIGURATION_ID;
use eudi_issuer::pki::IssuerKeys;
use eudi_issuer::status_lists::StatusForm;
use eudi_issuer::status_lists::StatusListPublisher;
use eudi_issuer::subject::Subject;
use eudi_oid4vci::issuance::CredentialMinter as _;
use eudi_oid4vci::issuance::MintError;
use eudi_oid4vci::issuance::MintOutcome;
use eudi_oid4vci::issuance::MintRequest;
use eudi_oid4vci::store::CredentialState;
use eudi_oid4vci::store::CredentialStore as _;
use eudi_oid4vci::store::memory::MemoryStore;
use eudi_pid::FileRegister;
use eudi_pid::IssuerPolicy;
use eudi_pid::TestIdentity;
use eudi_pid::default_test_identities;
use eudi_status_list::Status;
use eudi_status_list::StatusReference;
use eudi_status_list::UnverifiedStatusListCwt;
use eudi_status_list::UnverifiedStatusListJwt;
use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::Clock;
use eudi_trust::Jwk;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_verify::Context;
use eudi_verify::ErrorCode;
use eudi_verify::Policy;
use eudi_verify::StatusCheck;
use eudi_verify::TrustConfig;
use eudi_verify::VerifiedCredential;
use serde_json::Value;

#[derive(Debug)]
struct At(i64);

impl Clock for At {
    fn now(&self) -> i64 {
        self.0
    }
}

/// 2026-05-28.
const NOW: i64 = 1_780_000_000;
const ISSUER: &str = "https://issuer.example";
const LIST_SIZE: u32 = 1024;

struct Setup {
    dir: PathBuf,
    keys: Arc<IssuerKeys>,
    store: Arc<MemoryStore>,
    minter: PidMinter,
    publisher: StatusListPublisher,
    trust: TrustConfig,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn setup(name: &str, defer: bool) -> Setup {
    let dir = std::env::temp_dir().join(format!(
        "eudi-issuer-core-mint-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let keys = Arc::new(
        IssuerKeys::load_or_generate(&dir, &KeysConfig::default(), "DK", ISSUER, &At(NOW)).unwrap(),
    );
    let store = Arc::new(MemoryStore::new());
    let settings = MinterSettings {
        issuer_id: ISSUER.into(),
        policy: IssuerPolicy::default(),
        defer_on_birth_date_mismatch: defer,
        status_list_size: LIST_SIZE,
    };
    let minter = PidMinter::new(
        keys.clone(),
        Arc::new(FileRegister::embedded()),
        store.clone(),
        store.clone(),
        settings,
    )
    .unwrap();
    let publisher = StatusListPublisher::new(store.clone(), keys.clone(), ISSUER, 300, 86_400);
    let mut trust = TrustConfig::new();
    assert_eq!(
        trust
            .add_anchor_pem(&keys.trust_anchors_pem(), None, None)
            .unwrap(),
        2
    );
    Setup {
        dir,
        keys,
        store,
        minter,
        publisher,
        trust,
    }
}

fn identity(name: &str) -> TestIdentity {
    default_test_identities()
        .into_iter()
        .find(|i| i.username == name)
        .unwrap()
}

fn holder_keys(n: usize) -> Vec<Jwk> {
    (0..n)
        .map(|_| {
            SoftwareKey::generate(Algorithm::Es256)
                .unwrap()
                .verifying_key()
                .to_jwk()
        })
        .collect()
}

async fn mint(
    s: &Setup,
    subject: &Subject,
    configuration: &str,
    keys: &[Jwk],
    reviewed: bool,
) -> Result<MintOutcome, MintError> {
    let bytes = subject.encode();
    s.minter
        .mint(MintRequest {
            subject: &bytes,
            configuration_id: configuration,
            holder_keys: keys,
            reviewed,
            now: NOW,
        })
        .await
}

fn issued(outcome: Result<MintOutcome, MintError>) -> Vec<String> {
    match outcome {
        Ok(MintOutcome::Issued(c)) => c,
        other => panic!("not issued: {other:?}"),
    }
}

/// Both status list tokens of every list, as a verifier would fetch them.
async fn status_tokens(s: &Setup, now: i64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for list in eudi_oid4vci::store::StatusListStore::status_lists(s.store.as_ref())
        .await
        .unwrap()
    {
        for form in [StatusForm::Jwt, StatusForm::Cwt] {
            let token = s.publisher.serve(list, form, now).await.unwrap().unwrap();
            out.push(token.body.to_vec());
        }
    }
    out
}

async fn verify_sd_jwt(s: &Setup, credential: &str, tokens: &[Vec<u8>]) -> VerifiedCredential {
    let clock = At(NOW + 60);
    let context = Context {
        trust: &s.trust,
        status: StatusCheck::Supplied(tokens),
        clock: &clock,
    };
    eudi_verify::verify_sd_jwt(credential, None, &context, &Policy::default())
        .await
        .unwrap()
}

async fn verify_mdoc(
    s: &Setup,
    credential: &str,
    tokens: &[Vec<u8>],
) -> Result<Vec<VerifiedCredential>, eudi_verify::Failure> {
    let clock = At(NOW + 60);
    let context = Context {
        trust: &s.trust,
        status: StatusCheck::Supplied(tokens),
        clock: &clock,
    };
    let bytes = eudi_trust::b64::decode(credential).unwrap();
    eudi_verify::verify_mdoc(&bytes, None, &context, &Policy::default()).await
}

#[tokio::test]
async fn every_default_identity_gets_both_formats_or_its_refusal() {
    let s = setup("all", true);
    for identity in default_test_identities() {
        let subject = Subject::from_test_identity(&identity);
        let name = identity.username.as_str();
        let cpr = identity.cpr.as_ref().map(|c| c.expose().to_owned());
        match identity.expected_refusal.as_deref() {
            None => {
                let sd = issued(
                    mint(
                        &s,
                        &subject,
                        SD_JWT_CONFIGURATION_ID,
                        &holder_keys(2),
                        false,
                    )
                    .await,
                );
                let md =
                    issued(mint(&s, &subject, MDOC_CONFIGURATION_ID, &holder_keys(2), false).await);
                assert_eq!((sd.len(), md.len()), (2, 2), "{name}");
                let tokens = status_tokens(&s, NOW).await;
                for credential in &sd {
                    let v = verify_sd_jwt(&s, credential, &tokens).await;
                    assert_eq!(v.issuer.as_deref(), Some(ISSUER), "{name}");
                    assert_eq!(v.credential_type.as_deref(), Some("urn:eudi:pid:1"));
                    assert_eq!(v.assurance_level, Some(identity.level()), "{name}");
                    assert_eq!(v.cpr, cpr, "{name}");
                    assert_eq!(v.status, Some(Status::Valid), "{name}");
                    assert_eq!(
                        v.claims["birthdate"],
                        Value::from(identity.birth_date.to_string()),
                        "{name}"
                    );
                    for claim in [
                        "family_name",
                        "given_name",
                        "place_of_birth",
                        "nationalities",
                        "issuing_authority",
                        "issuing_country",
                        "date_of_expiry",
                    ] {
                        assert!(v.claims.contains_key(claim), "{name}: {claim}");
                    }
                    assert_eq!(v.valid_until, Some(NOW + 365 * 86_400));
                    // Every claim is selectively disclosable: the issuer-signed payload names none.
                    let payload = credential.split('~').next().unwrap();
                    let body = payload.split('.').nth(1).unwrap();
                    let body: Value =
                        serde_json::from_slice(&eudi_trust::b64::decode(body).unwrap()).unwrap();
                    assert!(body.get("family_name").is_none() && body.get("_sd").is_some());
                    assert!(
                        body["status"]["status_list"]["uri"]
                            .as_str()
                            .unwrap()
                            .starts_with("https://issuer.example/status/")
                    );
                }
                for credential in &md {
                    let docs = verify_mdoc(&s, credential, &tokens).await.unwrap();
                    let [doc] = docs.as_slice() else {
                        panic!("{name}: one document")
                    };
                    assert_eq!(
                        doc.credential_type.as_deref(),
                        Some("eu.europa.ec.eudi.pid.1")
                    );
                    assert_eq!(doc.assurance_level, Some(identity.level()), "{name}");
                    assert_eq!(doc.cpr, cpr, "{name}");
                    assert_eq!(doc.status, Some(Status::Valid), "{name}");
                    assert!(
                        doc.claims["eu.europa.ec.eudi.pid.1"]
                            .as_object()
                            .unwrap()
                            .contains_key("family_name")
                    );
                }
                // Four records, each its own status place, none with a claim value.
                let key = subject.identity_key(s.keys.identity_secret());
                let records = s.store.credentials_of(&key).await.unwrap();
                assert_eq!(records.len(), 4, "{name}");
                let mut places: Vec<_> = records.iter().map(|r| r.status).collect();
                places.sort();
                places.dedup();
                assert_eq!(places.len(), 4, "{name}: status places are distinct");
                assert_eq!(
                    records.iter().filter(|r| r.format == "dc+sd-jwt").count(),
                    2
                );
                assert!(records.iter().all(|r| r.state == CredentialState::Valid));
            }
            Some("birth_date_mismatch") => {
                let outcome = mint(
                    &s,
                    &subject,
                    SD_JWT_CONFIGURATION_ID,
                    &holder_keys(1),
                    false,
                )
                .await;
                assert!(
                    matches!(outcome, Ok(MintOutcome::Deferred { .. })),
                    "{name}: {outcome:?}"
                );
            }
            Some(code) => {
                for configuration in [SD_JWT_CONFIGURATION_ID, MDOC_CONFIGURATION_ID] {
                    let outcome = mint(&s, &subject, configuration, &holder_keys(1), false).await;
                    let Err(MintError::Refused(message)) = outcome else {
                        panic!("{name}: {outcome:?}");
                    };
                    if let Some(cpr) = &cpr {
                        assert!(!message.contains(&cpr[7..]), "{name}: {message}");
                    }
                }
                let denied = s.minter.check(&subject, NOW).await.unwrap_err();
                assert_eq!(denied.code, code, "{name}");
                let key = subject.identity_key(s.keys.identity_secret());
                assert!(
                    s.store.credentials_of(&key).await.unwrap().is_empty(),
                    "{name}"
                );
            }
        }
    }
}

#[tokio::test]
async fn refusals_say_the_rule() {
    let s = setup("refusals", true);
    for (name, words) in [
        ("erhverv", "MitID Erhverv"),
        ("pcode", "P code"),
        ("low", "level of assurance"),
        ("deceased", "deceased"),
        ("not-in-register", "register"),
    ] {
        let subject = Subject::from_test_identity(&identity(name));
        let Err(MintError::Refused(message)) = mint(
            &s,
            &subject,
            SD_JWT_CONFIGURATION_ID,
            &holder_keys(1),
            false,
        )
        .await
        else {
            panic!("{name} not refused");
        };
        assert!(
            message.to_lowercase().contains(&words.to_lowercase()),
            "{name}: {message}"
        );
    }
    // The configured minimum applies: High refuses a Substantial login.
    let dir =
        std::env::temp_dir().join(format!("eudi-issuer-core-mint-high-{}", std::process::id()));
    let mut settings = s.minter.settings().clone();
    settings.policy.minimum_loa = eudi_trust::AssuranceLevel::High;
    let high = PidMinter::new(
        s.keys.clone(),
        Arc::new(FileRegister::embedded()),
        s.store.clone(),
        s.store.clone(),
        settings,
    )
    .unwrap();
    let substantial = Subject::from_test_identity(&identity("substantial"));
    assert_eq!(
        high.check(&substantial, NOW).await.unwrap_err().code,
        "insufficient_loa"
    );
    assert!(
        high.check(&Subject::from_test_identity(&identity("high")), NOW)
            .await
            .is_ok()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_birth_date_mismatch_waits_for_review_then_gets_the_register_date() {
    let s = setup("defer", true);
    let subject = Subject::from_test_identity(&identity("birthdate-mismatch"));
    assert!(matches!(
        s.minter.preview(&subject, NOW, false).await.unwrap(),
        Decision::Defer { .. }
    ));
    let Ok(MintOutcome::Deferred { reason }) =
        mint(&s, &subject, MDOC_CONFIGURATION_ID, &holder_keys(1), false).await
    else {
        panic!("not deferred");
    };
    assert!(!reason.contains("1990"), "{reason}");
    let key = subject.identity_key(s.keys.identity_secret());
    assert!(s.store.credentials_of(&key).await.unwrap().is_empty());
    // Approved by a reviewer: issued, with the register's birth date.
    let sd = issued(mint(&s, &subject, SD_JWT_CONFIGURATION_ID, &holder_keys(1), true).await);
    let tokens = status_tokens(&s, NOW).await;
    let v = verify_sd_jwt(&s, &sd[0], &tokens).await;
    assert_eq!(v.claims["birthdate"], "1990-05-18");
    // Deferral off: the same login is refused.
    let strict = setup("strict", false);
    let Err(MintError::Refused(message)) = mint(
        &strict,
        &subject,
        SD_JWT_CONFIGURATION_ID,
        &holder_keys(1),
        false,
    )
    .await
    else {
        panic!("not refused");
    };
    assert!(message.to_lowercase().contains("birth"), "{message}");
}

#[tokio::test]
async fn bad_requests_are_not_issued() {
    let s = setup("bad", true);
    let subject = Subject::from_test_identity(&identity("substantial"));
    assert!(matches!(
        mint(
            &s,
            &subject,
            "eu.europa.ec.eudi.pid_jwt_vc",
            &holder_keys(1),
            false
        )
        .await,
        Err(MintError::Refused(_))
    ));
    assert!(matches!(
        mint(&s, &subject, SD_JWT_CONFIGURATION_ID, &[], false).await,
        Err(MintError::Internal(_))
    ));
    let bytes = [&[9u8][..], &subject.encode()[1..]].concat();
    let outcome = s
        .minter
        .mint(MintRequest {
            subject: &bytes,
            configuration_id: SD_JWT_CONFIGURATION_ID,
            holder_keys: &holder_keys(1),
            reviewed: false,
            now: NOW,
        })
        .await;
    assert!(
        matches!(outcome, Err(MintError::Internal(_))),
        "{outcome:?}"
    );
    let key = subject.identity_key(s.keys.identity_secret());
    assert!(s.store.credentials_of(&key).await.unwrap().is_empty());
}

fn reference_of_sd_jwt(credential: &str) -> StatusReference {
    let payload = credential
        .split('~')
        .next()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: Value = serde_json::from_slice(&eudi_trust::b64::decode(payload).unwrap()).unwrap();
    StatusReference::from_jwt_claims(claims.as_object().unwrap()).unwrap()
}

#[tokio::test]
async fn revoked_and_suspended_indices_read_so_in_both_served_forms() {
    let s = setup("revoke", true);
    let subject = Subject::from_test_identity(&identity("high"));
    let sd = issued(
        mint(
            &s,
            &subject,
            SD_JWT_CONFIGURATION_ID,
            &holder_keys(2),
            false,
        )
        .await,
    );
    let md = issued(mint(&s, &subject, MDOC_CONFIGURATION_ID, &holder_keys(1), false).await);
    let key = subject.identity_key(s.keys.identity_secret());
    let records = s.store.credentials_of(&key).await.unwrap();
    let reference = reference_of_sd_jwt(&sd[0]);
    let revoked = records
        .iter()
        .find(|r| u64::from(r.status.index) == reference.idx && r.format == "dc+sd-jwt")
        .unwrap();
    let mdoc_record = records.iter().find(|r| r.format == "mso_mdoc").unwrap();
    let list = revoked.status.list;

    let before_jwt = s
        .publisher
        .serve(list, StatusForm::Jwt, NOW)
        .await
        .unwrap()
        .unwrap();
    // Unchanged list, same token (cached, not signed again).
    let again = s
        .publisher
        .serve(list, StatusForm::Jwt, NOW + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before_jwt, again);

    s.store
        .set_credential_state(&revoked.id, CredentialState::Revoked)
        .await
        .unwrap()
        .unwrap();
    s.store
        .set_credential_state(&mdoc_record.id, CredentialState::Suspended)
        .await
        .unwrap()
        .unwrap();
    let jwt = s
        .publisher
        .serve(list, StatusForm::Jwt, NOW + 20)
        .await
        .unwrap()
        .unwrap();
    let cwt = s
        .publisher
        .serve(list, StatusForm::Cwt, NOW + 20)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(jwt.body, before_jwt.body, "a changed list is signed again");
    assert_eq!(jwt.ttl, 300);
    assert_eq!(jwt.expires_at, NOW + 20 + 86_400);

    // Read back as a relying party would: signed by the status signers, chained to the anchors.
    let uri = s.publisher.uri(list);
    let policy = AlgorithmPolicy::default();
    let text = std::str::from_utf8(&jwt.body).unwrap();
    let parsed = UnverifiedStatusListJwt::parse(text).unwrap();
    assert_eq!(parsed.header().typ.as_deref(), Some("statuslist+jwt"));
    let jwt_list = parsed
        .verify(
            s.keys.sd_jwt_status().signer().verifying_key(),
            &policy,
            &uri,
            NOW + 30,
        )
        .unwrap();
    let cwt_list = UnverifiedStatusListCwt::parse(&cwt.body)
        .unwrap()
        .verify(
            s.keys.mdoc_status().signer().verifying_key(),
            &policy,
            &uri,
            NOW + 30,
        )
        .unwrap();
    for verified in [&jwt_list, &cwt_list] {
        assert_eq!(verified.ttl(), Some(300));
        assert_eq!(
            verified.status_at(u64::from(revoked.status.index)).unwrap(),
            Status::Invalid
        );
        assert_eq!(
            verified
                .status_at(u64::from(mdoc_record.status.index))
                .unwrap(),
            Status::Suspended
        );
        let other = records
            .iter()
            .find(|r| r.id != revoked.id && r.id != mdoc_record.id)
            .unwrap();
        assert_eq!(
            verified.status_at(u64::from(other.status.index)).unwrap(),
            Status::Valid
        );
    }

    // The project's verifier now rejects them.
    let tokens = status_tokens(&s, NOW + 20).await;
    let clock = At(NOW + 60);
    let context = Context {
        trust: &s.trust,
        status: StatusCheck::Supplied(&tokens),
        clock: &clock,
    };
    let failure = eudi_verify::verify_sd_jwt(&sd[0], None, &context, &Policy::default())
        .await
        .unwrap_err();
    assert_eq!(failure.code, ErrorCode::Revoked);
    let ok = eudi_verify::verify_sd_jwt(&sd[1], None, &context, &Policy::default()).await;
    assert!(ok.is_ok(), "{ok:?}");
    let failure = verify_mdoc(&s, &md[0], &tokens).await.unwrap_err();
    assert_eq!(failure.code, ErrorCode::Suspended);

    // Unchanged but past half its lifetime: signed again, with a later expiry.
    let renewed = s
        .publisher
        .serve(list, StatusForm::Jwt, NOW + 20 + 43_201)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(renewed.body, jwt.body);
    assert_eq!(renewed.expires_at, NOW + 20 + 43_201 + 86_400);
    let cached = s
        .publisher
        .serve(list, StatusForm::Jwt, NOW + 20 + 43_201 + 600)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cached, renewed, "the newest token is the one cached");

    // An unknown list is no list.
    assert!(
        s.publisher
            .serve(list + 1000, StatusForm::Jwt, NOW)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_holder_can_disclose_single_nested_claims() {
    let s = setup("select", true);
    let subject = Subject::from_test_identity(&identity("substantial"));
    let sd = issued(
        mint(
            &s,
            &subject,
            SD_JWT_CONFIGURATION_ID,
            &holder_keys(1),
            false,
        )
        .await,
    );
    let parsed = eudi_sdjwt::SdJwt::parse(&sd[0]).unwrap();
    let chosen = eudi_sdjwt::holder::select(
        &parsed,
        &[
            eudi_sdjwt::ClaimPath::keys(["address", "locality"]),
            eudi_sdjwt::ClaimPath::keys([eudi_pid::LOA_CLAIM]),
        ],
    )
    .unwrap()
    .to_compact()
    .unwrap();
    let tokens = status_tokens(&s, NOW).await;
    let v = verify_sd_jwt(&s, &chosen, &tokens).await;
    let mut names: Vec<&String> = v.claims.keys().collect();
    names.sort();
    assert_eq!(names, vec!["address", "dk_assurance_level"]);
    let address = v.claims["address"].as_object().unwrap();
    assert_eq!(address.keys().collect::<Vec<_>>(), vec!["locality"]);
    assert_eq!(v.cpr, None, "the CPR is not disclosed unless chosen");
    assert_eq!(
        v.assurance_level,
        Some(eudi_trust::AssuranceLevel::Substantial)
    );
}
