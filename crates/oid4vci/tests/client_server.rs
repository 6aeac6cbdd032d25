//! The wallet client against the real issuer logic (`eudi_oid4vci::server::Issuer` over the
//! in-memory store, with a minter in the test), joined by an in-test bridge from the client's
//! HTTP trait to `Issuer::handle`: both flows end to end, and the failure paths where the two
//! sides meet (wrong transaction code, a forged callback, a reused code).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a setup failure or an unexpected request should abort the test"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;

use eudi_http::HttpClient;
use eudi_http::HttpError;
use eudi_http::HttpFuture;
use eudi_http::Request;
use eudi_http::Response;
use eudi_oauth::ErrorCode;
use eudi_oauth::client_attestation;
use eudi_oauth::client_attestation::WalletProviderTrust;
use eudi_oid4vci::client::AttestedKey;
use eudi_oid4vci::client::AuthorizationStart;
use eudi_oid4vci::client::ClientAttestation;
use eudi_oid4vci::client::ClientConfig;
use eudi_oid4vci::client::ClientError;
use eudi_oid4vci::client::CredentialOutcome;
use eudi_oid4vci::client::DpopKey;
use eudi_oid4vci::client::EncryptResponse;
use eudi_oid4vci::client::IssuerClient;
use eudi_oid4vci::client::PendingAuthorization;
use eudi_oid4vci::client::resolve_offer;
use eudi_oid4vci::endpoint::HttpRequest;
use eudi_oid4vci::issuance::CredentialMinter;
use eudi_oid4vci::issuance::MintFuture;
use eudi_oid4vci::issuance::MintOutcome;
use eudi_oid4vci::issuance::MintRequest;
use eudi_oid4vci::messages::NotificationEvent;
use eudi_oid4vci::metadata::CredentialConfiguration;
use eudi_oid4vci::server::ClientAttestationPolicy;
use eudi_oid4vci::server::Issuer;
use eudi_oid4vci::server::IssuerConfig;
use eudi_oid4vci::store::DeferredStore;
use eudi_oid4vci::store::memory::MemoryStore;
use eudi_trust::Algorithm;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::SystemClock;
use serde_json::json;

const ISSUER: &str = "https://issuer.example";
const CLIENT_ID: &str = "wallet-client";
const REDIRECT: &str = "https://wallet.example/cb";
const PID_VCT: &str = "urn:eudi:pid:1";
const PID_DOCTYPE: &str = "eu.europa.ec.eudi.pid.1";
const SUBJECT: &[u8] = b"test-person-1";

/// One call of the minter: subject, configuration, number of keys, reviewed.
type MintCall = (Vec<u8>, String, usize, bool);

/// Issues `credential:<subject>:<holder key thumbprint>` per key, or defers the first time.
#[derive(Debug, Default)]
struct Minter {
    defer: bool,
    calls: Mutex<Vec<MintCall>>,
}

impl CredentialMinter for Minter {
    fn mint<'a>(&'a self, request: MintRequest<'a>) -> MintFuture<'a> {
        Box::pin(async move {
            self.calls.lock().unwrap().push((
                request.subject.to_vec(),
                request.configuration_id.to_owned(),
                request.holder_keys.len(),
                request.reviewed,
            ));
            if self.defer && !request.reviewed {
                return Ok(MintOutcome::Deferred {
                    reason: "review".into(),
                });
            }
            let subject = String::from_utf8_lossy(request.subject).into_owned();
            Ok(MintOutcome::Issued(
                request
                    .holder_keys
                    .iter()
                    .map(|key| format!("credential:{subject}:{}", key.thumbprint()))
                    .collect(),
            ))
        })
    }
}

/// The client's HTTP requests, served by `Issuer::handle` (and `/authorize` refused: the
/// browser goes there, not the client).
#[derive(Debug, Clone)]
struct Bridge(Arc<Issuer>);

impl HttpClient for Bridge {
    fn send(&self, request: Request) -> HttpFuture<'_> {
        Box::pin(async move {
            let url = url::Url::parse(&request.url).unwrap();
            if !request.url.starts_with(ISSUER) {
                return Err(HttpError::Offline { url: request.url });
            }
            let mut http = HttpRequest::new(request.method.as_str(), url.path());
            http.query = url.query().map(str::to_owned);
            for (name, value) in &request.headers {
                http = http.with_header(&name.to_ascii_lowercase(), value);
            }
            http.body = request.body.clone();
            let Some(answer) = self.0.handle(&http).await else {
                return Ok(Response::new(404, ""));
            };
            let mut response = Response::new(answer.status, answer.body);
            for (name, value) in &answer.headers {
                response = response.with_header(name, value.clone());
            }
            Ok(response)
        })
    }
}

fn configurations() -> BTreeMap<String, CredentialConfiguration> {
    let proof = json!({ "jwt": { "proof_signing_alg_values_supported": ["ES256"] } });
    serde_json::from_value(json!({
        "pid-sd-jwt": {
            "format": "dc+sd-jwt", "vct": PID_VCT, "scope": "pid",
            "cryptographic_binding_methods_supported": ["jwk"],
            "credential_signing_alg_values_supported": ["ES256"],
            "proof_types_supported": proof,
        },
        "pid-mdoc": {
            "format": "mso_mdoc", "doctype": PID_DOCTYPE, "scope": "pid-mdoc",
            "cryptographic_binding_methods_supported": ["cose_key"],
            "credential_signing_alg_values_supported": [-7],
            "proof_types_supported": proof,
        }
    }))
    .unwrap()
}

fn issuer_with_store(
    minter: Arc<Minter>,
    adjust: impl FnOnce(&mut IssuerConfig),
) -> (Arc<Issuer>, Arc<MemoryStore>) {
    let mut config = IssuerConfig::new(ISSUER, configurations());
    adjust(&mut config);
    let store = Arc::new(MemoryStore::new());
    let issuer = Issuer::new(config, store.clone(), minter, Arc::new(SystemClock)).unwrap();
    (Arc::new(issuer), store)
}

fn issuer(minter: Arc<Minter>, adjust: impl FnOnce(&mut IssuerConfig)) -> Arc<Issuer> {
    issuer_with_store(minter, adjust).0
}

fn key() -> Arc<SoftwareKey> {
    Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap())
}

#[tokio::test]
async fn pre_authorized_offer_by_reference_batch_and_notification() {
    let minter = Arc::new(Minter::default());
    let issuer = issuer(minter.clone(), |_| {});
    let created = issuer
        .create_pre_authorized_offer(SUBJECT, &["pid-sd-jwt".into()], true, true)
        .await
        .unwrap();
    let http = Bridge(issuer.clone());
    let config = ClientConfig::default();
    let offer = resolve_offer(&http, &created.uri, &config).await.unwrap();
    assert_eq!(offer, created.offer);
    let client = IssuerClient::for_offer(Arc::new(http), &offer, config)
        .await
        .unwrap();
    let (id, _) = client.find_configuration("dc+sd-jwt", PID_VCT).unwrap();
    let id = id.to_owned();

    let error = client
        .pre_authorized(&offer, Some("000000"), DpopKey::new(key()))
        .await
        .unwrap_err();
    assert_eq!(error.oauth_error().unwrap().code, ErrorCode::InvalidGrant);

    let tokens = client
        .pre_authorized(&offer, created.tx_code.as_deref(), DpopKey::new(key()))
        .await
        .unwrap();
    assert_eq!(tokens.token_type, "DPoP");
    let holders = [key(), key(), key()];
    let signers: Vec<&dyn Signer> = holders.iter().map(|k| k.as_ref() as &dyn Signer).collect();
    let outcome = client
        .request_credentials(&tokens, &id, &signers, EncryptResponse::IfRequired)
        .await
        .unwrap();
    let CredentialOutcome::Issued {
        credentials,
        notification_id,
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    let issued: Vec<String> = credentials
        .iter()
        .map(|c| c.credential.as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = holders
        .iter()
        .map(|k| {
            format!(
                "credential:test-person-1:{}",
                k.verifying_key().to_jwk().thumbprint()
            )
        })
        .collect();
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
    // An unknown notification id is the issuer's error, with its code.
    let unknown = client
        .notify(
            &tokens,
            "unknown",
            NotificationEvent::CredentialFailure,
            Some("x"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        unknown.oauth_error().unwrap().code,
        ErrorCode::Other("invalid_notification_id".into())
    );
    // The code is spent: a second redemption fails.
    let again = client
        .pre_authorized(&offer, created.tx_code.as_deref(), DpopKey::new(key()))
        .await
        .unwrap_err();
    assert_eq!(again.oauth_error().unwrap().code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn authorization_code_flow_end_to_end() {
    let minter = Arc::new(Minter::default());
    let issuer = issuer(minter.clone(), |_| {});
    let client = IssuerClient::connect(
        Arc::new(Bridge(issuer.clone())),
        ISSUER,
        ClientConfig::default(),
    )
    .await
    .unwrap();
    let (id, _) = client.find_configuration("mso_mdoc", PID_DOCTYPE).unwrap();
    let id = id.to_owned();
    let dpop = DpopKey::new(key());
    let start = AuthorizationStart {
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT.into(),
        configuration_ids: vec![id.clone()],
        issuer_state: None,
        dpop_key: dpop.clone(),
        client_attestation: None,
    };
    let pending = client.start_authorization(start.clone()).await.unwrap();
    let query = url::Url::parse(&pending.authorization_url)
        .unwrap()
        .query()
        .unwrap()
        .to_owned();
    let login = issuer.authorize(&query).await.unwrap();
    assert_eq!(login.configuration_ids, std::slice::from_ref(&id));
    let callback = issuer
        .complete_authorization(&login.id, SUBJECT.to_vec())
        .await
        .unwrap();

    // A callback with another state is refused before the code is spent.
    let forged = callback.replace(&pending.state, "forged");
    assert_eq!(
        client
            .finish_authorization(pending.clone(), &forged)
            .await
            .unwrap_err(),
        ClientError::StateMismatch
    );
    let tokens = client
        .finish_authorization(pending.clone(), &callback)
        .await
        .unwrap();
    assert!(!tokens.credential_identifiers(&id).is_empty(), "{tokens:?}");
    let holder = key();
    let outcome = client
        .request_credentials(&tokens, &id, &[holder.as_ref()], EncryptResponse::Always)
        .await
        .unwrap();
    assert!(
        matches!(outcome, CredentialOutcome::Issued { ref credentials, .. } if credentials.len() == 1),
        "{outcome:?}"
    );
    assert_eq!(minter.calls.lock().unwrap()[0].0, SUBJECT);
    // The code is single-use.
    let reused = client
        .finish_authorization(pending, &callback)
        .await
        .unwrap_err();
    assert_eq!(reused.oauth_error().unwrap().code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn deferred_issuance_end_to_end() {
    let minter = Arc::new(Minter {
        defer: true,
        ..Minter::default()
    });
    let (issuer, store) = issuer_with_store(minter.clone(), |_| {});
    let created = issuer
        .create_pre_authorized_offer(SUBJECT, &["pid-sd-jwt".into()], false, false)
        .await
        .unwrap();
    let http = Bridge(issuer.clone());
    let config = ClientConfig::default();
    let offer = resolve_offer(&http, &created.uri, &config).await.unwrap();
    let client = IssuerClient::for_offer(Arc::new(http), &offer, config)
        .await
        .unwrap();
    let tokens = client
        .pre_authorized(&offer, None, DpopKey::new(key()))
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
    let CredentialOutcome::Deferred { transaction_id, .. } = outcome else {
        panic!("{outcome:?}")
    };
    let polled = client
        .poll_deferred(&tokens, &transaction_id, EncryptResponse::IfRequired)
        .await
        .unwrap();
    assert!(
        matches!(polled, CredentialOutcome::Deferred { .. }),
        "{polled:?}"
    );

    let now = eudi_trust::Clock::now(&SystemClock);
    let record = store.deferred(None, now).await.unwrap().remove(0);
    store
        .decide_deferred(&record.id, true, now)
        .await
        .unwrap()
        .unwrap();
    let issued = client
        .poll_deferred(&tokens, &transaction_id, EncryptResponse::IfRequired)
        .await
        .unwrap();
    let CredentialOutcome::Issued { credentials, .. } = issued else {
        panic!("{issued:?}")
    };
    assert_eq!(credentials.len(), 1);
    assert!(
        minter.calls.lock().unwrap().last().unwrap().3,
        "minted as reviewed"
    );
    // Handed out once: the transaction id is spent.
    let spent = client
        .poll_deferred(&tokens, &transaction_id, EncryptResponse::IfRequired)
        .await
        .unwrap_err();
    assert!(spent.oauth_error().is_some(), "{spent:?}");
}

fn start(dpop: &DpopKey, id: &str) -> AuthorizationStart {
    AuthorizationStart {
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT.into(),
        configuration_ids: vec![id.to_owned()],
        issuer_state: None,
        dpop_key: dpop.clone(),
        client_attestation: None,
    }
}

async fn log_in(issuer: &Issuer, pending: &PendingAuthorization) -> String {
    let query = url::Url::parse(&pending.authorization_url)
        .unwrap()
        .query()
        .unwrap()
        .to_owned();
    let login = issuer.authorize(&query).await.unwrap();
    issuer
        .complete_authorization(&login.id, SUBJECT.to_vec())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refused_login_comes_back_as_a_typed_denial() {
    let issuer = issuer(Arc::new(Minter::default()), |_| {});
    let client = IssuerClient::connect(
        Arc::new(Bridge(issuer.clone())),
        ISSUER,
        ClientConfig::default(),
    )
    .await
    .unwrap();
    let pending = client
        .start_authorization(start(&DpopKey::new(key()), "pid-sd-jwt"))
        .await
        .unwrap();
    let query = url::Url::parse(&pending.authorization_url)
        .unwrap()
        .query()
        .unwrap()
        .to_owned();
    let login = issuer.authorize(&query).await.unwrap();
    let callback = issuer
        .refuse_authorization(
            &login.id,
            ErrorCode::AccessDenied,
            "MitID Erhverv cannot be used for a PID",
        )
        .await
        .unwrap();
    let error = client
        .finish_authorization(pending, &callback)
        .await
        .unwrap_err();
    let ClientError::AuthorizationDenied(denied) = error else {
        panic!("{error:?}")
    };
    assert_eq!(denied.code, ErrorCode::AccessDenied);
    assert_eq!(
        denied.description.as_deref(),
        Some("MitID Erhverv cannot be used for a PID")
    );
}

#[tokio::test]
async fn client_attestation_required_by_the_issuer() {
    let provider = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let trust = WalletProviderTrust::new().with_key(provider.verifying_key().clone(), None);
    let issuer = issuer(Arc::new(Minter::default()), |config| {
        config.client_attestation = ClientAttestationPolicy::Required(trust);
    });
    let client = IssuerClient::connect(
        Arc::new(Bridge(issuer.clone())),
        ISSUER,
        ClientConfig::default(),
    )
    .await
    .unwrap();
    let dpop = DpopKey::new(key());
    let refused = client
        .start_authorization(start(&dpop, "pid-sd-jwt"))
        .await
        .unwrap_err();
    assert_eq!(
        refused.oauth_error().unwrap().code,
        ErrorCode::InvalidClient
    );

    let instance = key();
    let now = eudi_trust::Clock::now(&SystemClock);
    let attestation = client_attestation::create_attestation(
        &provider,
        &client_attestation::ProviderKeyId::None,
        &client_attestation::AttestationClaims {
            issuer: None,
            client_id: CLIENT_ID.into(),
            instance_key: instance.verifying_key().to_jwk(),
            iat: now,
            exp: now + 3600,
            wallet_name: None,
            wallet_link: None,
            extra: serde_json::Map::new(),
        },
    )
    .await
    .unwrap();
    let mut attested = start(&dpop, "pid-sd-jwt");
    attested.client_attestation = Some(ClientAttestation {
        attestation,
        instance_key: instance,
    });
    let pending = client.start_authorization(attested).await.unwrap();
    let callback = log_in(&issuer, &pending).await;
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
async fn pre_authorized_with_client_attestation() {
    let provider = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let trust = WalletProviderTrust::new().with_key(provider.verifying_key().clone(), None);
    let issuer = issuer(Arc::new(Minter::default()), |config| {
        config.client_attestation = ClientAttestationPolicy::Required(trust);
    });
    let created = issuer
        .create_pre_authorized_offer(SUBJECT, &["pid-mdoc".into()], true, false)
        .await
        .unwrap();
    let http = Bridge(issuer.clone());
    let config = ClientConfig::default();
    let offer = resolve_offer(&http, &created.uri, &config).await.unwrap();
    let client = IssuerClient::for_offer(Arc::new(http), &offer, config)
        .await
        .unwrap();
    let instance = key();
    let now = eudi_trust::Clock::now(&SystemClock);
    let attestation = ClientAttestation {
        attestation: client_attestation::create_attestation(
            &provider,
            &client_attestation::ProviderKeyId::None,
            &client_attestation::AttestationClaims {
                issuer: None,
                client_id: CLIENT_ID.into(),
                instance_key: instance.verifying_key().to_jwk(),
                iat: now,
                exp: now + 3600,
                wallet_name: None,
                wallet_link: None,
                extra: serde_json::Map::new(),
            },
        )
        .await
        .unwrap(),
        instance_key: instance,
    };
    let tx_code = created.tx_code.as_deref();
    // Anonymous redemption is refused by an issuer that requires attestations.
    let anonymous = client
        .pre_authorized(&offer, tx_code, DpopKey::new(key()))
        .await
        .unwrap_err();
    assert!(anonymous.oauth_error().is_some(), "{anonymous:?}");
    let tokens = client
        .pre_authorized_as(
            &offer,
            tx_code,
            DpopKey::new(key()),
            CLIENT_ID,
            Some(&attestation),
        )
        .await
        .unwrap();
    assert_eq!(tokens.client_id(), Some(CLIENT_ID));
    let holder = key();
    let outcome = client
        .request_credentials(
            &tokens,
            "pid-mdoc",
            &[holder.as_ref()],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    assert!(matches!(outcome, CredentialOutcome::Issued { .. }));
}

#[tokio::test]
async fn encryption_required_and_no_dpop_nonces() {
    let issuer = issuer(Arc::new(Minter::default()), |config| {
        config.dpop_nonce_required = false;
        if let Some(encryption) = config.response_encryption.as_mut() {
            encryption.required = true;
        }
    });
    let created = issuer
        .create_pre_authorized_offer(SUBJECT, &["pid-sd-jwt".into()], false, false)
        .await
        .unwrap();
    let http = Bridge(issuer.clone());
    let config = ClientConfig::default();
    let offer = resolve_offer(&http, &created.uri, &config).await.unwrap();
    let client = IssuerClient::for_offer(Arc::new(http), &offer, config)
        .await
        .unwrap();
    assert!(
        client
            .metadata()
            .credential_response_encryption
            .as_ref()
            .unwrap()
            .encryption_required
    );
    let tokens = client
        .pre_authorized(&offer, None, DpopKey::new(key()))
        .await
        .unwrap();
    let holders = [key(), key()];
    let signers: Vec<&dyn Signer> = holders.iter().map(|k| k.as_ref() as &dyn Signer).collect();
    let outcome = client
        .request_credentials(&tokens, "pid-sd-jwt", &signers, EncryptResponse::IfRequired)
        .await
        .unwrap();
    let CredentialOutcome::Issued { credentials, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(credentials.len(), 2);
}

#[tokio::test]
async fn an_expired_access_token_is_the_issuers_invalid_token() {
    let clock = Arc::new(eudi_trust::clock::ManualClock::at_system_time());
    let store = Arc::new(MemoryStore::new());
    let issuer = Arc::new(
        Issuer::new(
            IssuerConfig::new(ISSUER, configurations()),
            store,
            Arc::new(Minter::default()),
            clock.clone(),
        )
        .unwrap(),
    );
    let created = issuer
        .create_pre_authorized_offer(SUBJECT, &["pid-sd-jwt".into()], false, false)
        .await
        .unwrap();
    let http = Bridge(issuer.clone());
    let config = ClientConfig::default().with_clock(clock.clone());
    let offer = resolve_offer(&http, &created.uri, &config).await.unwrap();
    let client = IssuerClient::for_offer(Arc::new(http), &offer, config)
        .await
        .unwrap();
    let tokens = client
        .pre_authorized(&offer, None, DpopKey::new(key()))
        .await
        .unwrap();
    clock.advance(i64::try_from(tokens.expires_in.unwrap()).unwrap() + 1);
    let holder = key();
    let error = client
        .request_credentials(
            &tokens,
            "pid-sd-jwt",
            &[holder.as_ref()],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap_err();
    let oauth = error.oauth_error().unwrap();
    assert_eq!(oauth.code, ErrorCode::InvalidToken, "{error:?}");
    assert_eq!(oauth.status(), 401);
}

/// A key attestation (`key-attestation+jwt`, Appendix D.1) by `provider` for `keys`.
async fn key_attestation(provider: &SoftwareKey, keys: &[&SoftwareKey], nonce: &str) -> String {
    let header = eudi_trust::jws::Header::new(
        Algorithm::Es256,
        Some(eudi_oid4vci::proof::KEY_ATTESTATION_TYP),
    );
    let now = eudi_trust::Clock::now(&SystemClock);
    let claims = json!({
        "iat": now,
        "exp": now + 3600,
        "nonce": nonce,
        "key_storage": ["iso_18045_high"],
        "attested_keys": keys
            .iter()
            .map(|k| serde_json::to_value(k.verifying_key().to_jwk()).unwrap())
            .collect::<Vec<_>>(),
    });
    eudi_trust::jws::sign_compact(&header, claims.to_string().as_bytes(), provider)
        .await
        .unwrap()
}

#[tokio::test]
async fn key_attestations_bind_one_credential_per_attested_key() {
    let provider = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let trusted = provider.verifying_key().clone();
    let issuer = issuer(Arc::new(Minter::default()), |config| {
        config
            .key_attestation_trust
            .keys
            .push(eudi_oid4vci::proof::AttestationKey {
                key: trusted,
                kid: None,
            });
        if let Some(jwt) = config
            .configurations
            .get_mut("pid-mdoc")
            .and_then(|c| c.proof_types_supported.get_mut("jwt"))
        {
            jwt.key_attestations_required = Some(Default::default());
        }
    });
    let created = issuer
        .create_pre_authorized_offer(SUBJECT, &["pid-mdoc".into()], false, false)
        .await
        .unwrap();
    let http = Bridge(issuer.clone());
    let config = ClientConfig::default();
    let offer = resolve_offer(&http, &created.uri, &config).await.unwrap();
    let client = IssuerClient::for_offer(Arc::new(http), &offer, config)
        .await
        .unwrap();
    let tokens = client
        .pre_authorized(&offer, None, DpopKey::new(key()))
        .await
        .unwrap();
    // Plain key proofs are refused here, before any request, for what the issuer requires.
    let plain = key();
    assert!(matches!(
        client
            .request_credentials(
                &tokens,
                "pid-mdoc",
                &[plain.as_ref()],
                EncryptResponse::IfRequired
            )
            .await,
        Err(ClientError::Unsupported(_))
    ));

    let (first, second) = (key(), key());
    let nonce = client.nonce().await.unwrap();
    let attestation = key_attestation(&provider, &[first.as_ref(), second.as_ref()], &nonce).await;
    let outcome = client
        .request_attested_credentials(
            &tokens,
            "pid-mdoc",
            &AttestedKey {
                signer: second.as_ref(),
                attestation: &attestation,
                index: 1,
                c_nonce: Some(&nonce),
            },
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    let CredentialOutcome::Issued { credentials, .. } = outcome else {
        panic!("{outcome:?}")
    };
    let expected: Vec<serde_json::Value> = [&first, &second]
        .iter()
        .map(|k| {
            json!(format!(
                "credential:test-person-1:{}",
                k.verifying_key().to_jwk().thumbprint()
            ))
        })
        .collect();
    let issued: Vec<serde_json::Value> = credentials.into_iter().map(|c| c.credential).collect();
    assert_eq!(issued, expected);

    // An attestation by an untrusted provider is the issuer's invalid_proof.
    let nonce = client.nonce().await.unwrap();
    let rogue = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let attestation = key_attestation(&rogue, &[first.as_ref()], &nonce).await;
    let error = client
        .request_attested_credentials(
            &tokens,
            "pid-mdoc",
            &AttestedKey {
                signer: first.as_ref(),
                attestation: &attestation,
                index: 0,
                c_nonce: Some(&nonce),
            },
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap_err();
    assert_eq!(error.oauth_error().unwrap().code, ErrorCode::InvalidProof);
}
