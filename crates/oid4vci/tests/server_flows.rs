//! The issuer at the `Issuer::handle` level over `MemoryStore` and a fake minter: both flows end
//! to end, and every failure path as its own test.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a setup failure should abort the test"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;

use eudi_oauth::client_attestation;
use eudi_oauth::client_attestation::AttestationClaims;
use eudi_oauth::client_attestation::ProviderKeyId;
use eudi_oauth::client_attestation::WalletProviderTrust;
use eudi_oauth::dpop;
use eudi_oauth::dpop::DpopRequest;
use eudi_oauth::pkce;
use eudi_oauth::token::random_token;
use eudi_oid4vci::endpoint::HttpRequest;
use eudi_oid4vci::endpoint::HttpResponse;
use eudi_oid4vci::issuance::CredentialMinter;
use eudi_oid4vci::issuance::MintError;
use eudi_oid4vci::issuance::MintFuture;
use eudi_oid4vci::issuance::MintOutcome;
use eudi_oid4vci::issuance::MintRequest;
use eudi_oid4vci::messages::AuthorizationDetail;
use eudi_oid4vci::messages::AuthorizationRequest;
use eudi_oid4vci::messages::TokenRequest;
use eudi_oid4vci::metadata::CredentialConfiguration;
use eudi_oid4vci::metadata::FORMAT_MSO_MDOC;
use eudi_oid4vci::metadata::FORMAT_SD_JWT_VC;
use eudi_oid4vci::metadata::ProofTypeMetadata;
use eudi_oid4vci::offer;
use eudi_oid4vci::offer::OfferUri;
use eudi_oid4vci::proof;
use eudi_oid4vci::proof::ProofClaims;
use eudi_oid4vci::server::AuthorizeError;
use eudi_oid4vci::server::ClientAttestationPolicy;
use eudi_oid4vci::server::CreatedOffer;
use eudi_oid4vci::server::Issuer;
use eudi_oid4vci::server::IssuerConfig;
use eudi_oid4vci::server::MAX_BODY_LEN;
use eudi_oid4vci::server::paths;
use eudi_oid4vci::store::DeferredStore;
use eudi_oid4vci::store::memory::MemoryStore;
use eudi_trust::Algorithm;
use eudi_trust::Clock;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::clock::ManualClock;
use eudi_trust::jwe;
use eudi_trust::jwe::DecryptionKey;
use serde_json::Value;
use serde_json::json;

const ISSUER: &str = "https://issuer.example";
const NOW: i64 = 1_800_000_000;
const SD_JWT: &str = "pid-sd-jwt";
const MDOC: &str = "pid-mdoc";
const CLIENT: &str = "wallet-client";
const REDIRECT: &str = "http://127.0.0.1:4321/cb";
const SUBJECT: &[u8] = b"subject-of-test-person";

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Issue,
    Defer,
    Refuse,
    Fail,
}

#[derive(Debug)]
struct FakeMinter {
    mode: Mutex<Mode>,
    calls: Mutex<Vec<(String, usize, bool)>>,
}

impl FakeMinter {
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn calls(&self) -> Vec<(String, usize, bool)> {
        self.calls.lock().unwrap().clone()
    }
}

impl CredentialMinter for FakeMinter {
    fn mint<'a>(&'a self, request: MintRequest<'a>) -> MintFuture<'a> {
        Box::pin(async move {
            assert_eq!(request.subject, SUBJECT, "the subject travels untouched");
            self.calls.lock().unwrap().push((
                request.configuration_id.to_owned(),
                request.holder_keys.len(),
                request.reviewed,
            ));
            match *self.mode.lock().unwrap() {
                Mode::Issue => Ok(MintOutcome::Issued(
                    request
                        .holder_keys
                        .iter()
                        .map(|key| {
                            format!("cred:{}:{}", request.configuration_id, key.thumbprint())
                        })
                        .collect(),
                )),
                Mode::Defer => Ok(MintOutcome::Deferred {
                    reason: "manual review".into(),
                }),
                Mode::Refuse => Err(MintError::Refused("the rules refuse this person".into())),
                Mode::Fail => Err(MintError::Internal("signer offline".into())),
            }
        })
    }
}

fn configurations() -> BTreeMap<String, CredentialConfiguration> {
    let proof = BTreeMap::from([(
        "jwt".to_owned(),
        ProofTypeMetadata {
            proof_signing_alg_values_supported: vec!["ES256".into()],
            key_attestations_required: None,
        },
    )]);
    BTreeMap::from([
        (
            SD_JWT.to_owned(),
            CredentialConfiguration {
                format: FORMAT_SD_JWT_VC.into(),
                scope: Some("pid_sd_jwt".into()),
                vct: Some("urn:eudi:pid:1".into()),
                doctype: None,
                cryptographic_binding_methods_supported: vec!["jwk".into()],
                credential_signing_alg_values_supported: vec![json!("ES256")],
                proof_types_supported: proof.clone(),
                credential_metadata: None,
            },
        ),
        (
            MDOC.to_owned(),
            CredentialConfiguration {
                format: FORMAT_MSO_MDOC.into(),
                scope: Some("pid_mdoc".into()),
                vct: None,
                doctype: Some("eu.europa.ec.eudi.pid.1".into()),
                cryptographic_binding_methods_supported: vec!["cose_key".into()],
                credential_signing_alg_values_supported: vec![json!(-7)],
                proof_types_supported: proof,
                credential_metadata: None,
            },
        ),
    ])
}

fn key() -> SoftwareKey {
    SoftwareKey::generate(Algorithm::Es256).unwrap()
}

struct Harness {
    issuer: Issuer,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    minter: Arc<FakeMinter>,
    dpop: SoftwareKey,
}

struct Token {
    access_token: String,
    identifiers: BTreeMap<String, String>,
}

impl Harness {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(change: impl FnOnce(&mut IssuerConfig)) -> Self {
        let mut config = IssuerConfig::new(ISSUER, configurations());
        change(&mut config);
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(NOW));
        let minter = Arc::new(FakeMinter {
            mode: Mutex::new(Mode::Issue),
            calls: Mutex::new(Vec::new()),
        });
        let issuer = Issuer::new(config, store.clone(), minter.clone(), clock.clone()).unwrap();
        Self {
            issuer,
            store,
            clock,
            minter,
            dpop: key(),
        }
    }

    async fn call(&self, request: HttpRequest) -> HttpResponse {
        self.issuer.handle(&request).await.expect("a protocol path")
    }

    async fn dpop_with(
        &self,
        signer: &SoftwareKey,
        method: &str,
        path: &str,
        token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let url = format!("{ISSUER}{path}");
        dpop::create_proof(
            signer,
            &signer.verifying_key().to_jwk(),
            &DpopRequest {
                method,
                url: &url,
                access_token: token,
                nonce,
                iat: self.clock.now(),
                jti: None,
            },
        )
        .await
        .unwrap()
    }

    async fn dpop_proof(&self, path: &str, token: Option<&str>, nonce: Option<&str>) -> String {
        self.dpop_with(&self.dpop, "POST", path, token, nonce).await
    }

    /// A server DPoP nonce (from the nonce endpoint's `DPoP-Nonce`).
    async fn dpop_nonce(&self) -> String {
        let response = self.call(HttpRequest::new("POST", paths::NONCE)).await;
        response.header("dpop-nonce").unwrap().to_owned()
    }

    async fn c_nonce(&self) -> String {
        let response = self.call(HttpRequest::new("POST", paths::NONCE)).await;
        assert_eq!(response.status, 200);
        response.json_body().unwrap()["c_nonce"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn authorization_request(&self, verifier: &str) -> AuthorizationRequest {
        AuthorizationRequest {
            response_type: "code".into(),
            client_id: CLIENT.into(),
            redirect_uri: REDIRECT.into(),
            code_challenge: pkce::s256_challenge(verifier),
            code_challenge_method: "S256".into(),
            state: Some("client-state".into()),
            scope: None,
            authorization_details: vec![AuthorizationDetail::new(SD_JWT)],
            issuer_state: None,
            dpop_jkt: None,
        }
    }

    async fn par_with(&self, request: &AuthorizationRequest, dpop: bool) -> HttpResponse {
        let mut http = HttpRequest::new("POST", paths::PAR).with_form(request.to_form().unwrap());
        if dpop {
            let nonce = self.dpop_nonce().await;
            let proof = self.dpop_proof(paths::PAR, None, Some(&nonce)).await;
            http = http.with_header("DPoP", &proof);
        }
        self.call(http).await
    }

    /// PAR (DPoP-bound) → authorize → complete: the code and the PKCE verifier.
    async fn authorization_code(&self) -> (String, String) {
        let verifier = random_token().unwrap();
        let response = self
            .par_with(&self.authorization_request(&verifier), true)
            .await;
        assert_eq!(response.status, 201, "{:?}", response.json_body());
        let request_uri = response.json_body().unwrap()["request_uri"]
            .as_str()
            .unwrap()
            .to_owned();
        let query =
            eudi_oauth::form::encode([("client_id", CLIENT), ("request_uri", &request_uri)]);
        let pending = self.issuer.authorize(&query).await.unwrap();
        assert_eq!(pending.configuration_ids, [SD_JWT]);
        let redirect = self
            .issuer
            .complete_authorization(&pending.id, SUBJECT.to_vec())
            .await
            .unwrap();
        let url = url::Url::parse(&redirect).unwrap();
        let params: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(params["state"], "client-state");
        assert_eq!(params["iss"], ISSUER);
        assert!(redirect.starts_with(REDIRECT));
        (params["code"].clone(), verifier)
    }

    fn code_form(code: &str, verifier: &str) -> String {
        TokenRequest::AuthorizationCode {
            code: code.into(),
            redirect_uri: Some(REDIRECT.into()),
            code_verifier: verifier.into(),
            client_id: Some(CLIENT.into()),
        }
        .to_form()
    }

    fn pre_authorized_form(offer: &CreatedOffer, tx_code: Option<&str>) -> String {
        TokenRequest::PreAuthorizedCode {
            pre_authorized_code: offer
                .offer
                .pre_authorized_code()
                .unwrap()
                .pre_authorized_code
                .clone(),
            tx_code: tx_code.map(str::to_owned),
            client_id: None,
        }
        .to_form()
    }

    /// A token request with a fresh DPoP proof (with a server nonce).
    async fn token_request(&self, form: String) -> HttpResponse {
        let nonce = self.dpop_nonce().await;
        let proof = self.dpop_proof(paths::TOKEN, None, Some(&nonce)).await;
        self.call(
            HttpRequest::new("POST", paths::TOKEN)
                .with_form(form)
                .with_header("DPoP", &proof),
        )
        .await
    }

    fn token_of(response: &HttpResponse) -> Token {
        assert_eq!(response.status, 200, "{:?}", response.json_body());
        let body = response.json_body().unwrap();
        let mut identifiers = BTreeMap::new();
        for detail in body["authorization_details"].as_array().unwrap() {
            identifiers.insert(
                detail["credential_configuration_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                detail["credential_identifiers"][0]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        Token {
            access_token: body["access_token"].as_str().unwrap().to_owned(),
            identifiers,
        }
    }

    async fn offer(&self, with_tx_code: bool) -> CreatedOffer {
        self.issuer
            .create_pre_authorized_offer(SUBJECT, &[MDOC.to_owned()], with_tx_code, false)
            .await
            .unwrap()
    }

    /// A DPoP-bound token from a pre-authorized offer without tx_code.
    async fn pre_authorized_token(&self) -> Token {
        let offer = self.offer(false).await;
        Self::token_of(
            &self
                .token_request(Self::pre_authorized_form(&offer, None))
                .await,
        )
    }

    async fn key_proof(&self, holder: &SoftwareKey, nonce: Option<&str>) -> String {
        proof::create(
            holder,
            &ProofClaims {
                iss: None,
                aud: ISSUER,
                iat: self.clock.now(),
                nonce,
            },
            None,
        )
        .await
        .unwrap()
    }

    /// `n` proofs by fresh keys, all with one fresh c_nonce.
    async fn proofs(&self, n: usize) -> Vec<String> {
        let nonce = self.c_nonce().await;
        let mut proofs = Vec::new();
        for _ in 0..n {
            proofs.push(self.key_proof(&key(), Some(&nonce)).await);
        }
        proofs
    }

    /// A POST to a resource endpoint with the DPoP-bound token and a fresh proof.
    async fn resource(&self, path: &str, token: &str, body: &Value) -> HttpResponse {
        let nonce = self.dpop_nonce().await;
        let proof = self.dpop_proof(path, Some(token), Some(&nonce)).await;
        self.call(
            HttpRequest::new("POST", path)
                .with_json(body)
                .with_header("Authorization", &format!("DPoP {token}"))
                .with_header("DPoP", &proof),
        )
        .await
    }

    async fn credential(&self, token: &Token, body: &Value) -> HttpResponse {
        self.resource(paths::CREDENTIAL, &token.access_token, body)
            .await
    }
}

fn error_of(response: &HttpResponse) -> String {
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "errors are JSON"
    );
    response.json_body().unwrap()["error"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn assert_error(response: &HttpResponse, status: u16, code: &str) {
    assert_eq!(
        (response.status, error_of(response).as_str()),
        (status, code),
        "{:?}",
        response.json_body()
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

// ---------------------------------------------------------------------------------------------
// Flows
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn authorization_code_flow_end_to_end() {
    let h = Harness::new();
    let metadata = h
        .call(HttpRequest::new("GET", paths::ISSUER_METADATA))
        .await
        .json_body()
        .unwrap();
    assert_eq!(metadata["credential_issuer"], ISSUER);
    assert_eq!(metadata["nonce_endpoint"], format!("{ISSUER}/nonce"));
    assert_eq!(metadata["batch_credential_issuance"]["batch_size"], 10);
    assert_eq!(
        metadata["credential_configurations_supported"][MDOC]["credential_signing_alg_values_supported"]
            [0],
        -7
    );
    let as_metadata = h
        .call(HttpRequest::new(
            "GET",
            paths::AUTHORIZATION_SERVER_METADATA,
        ))
        .await
        .json_body()
        .unwrap();
    assert_eq!(as_metadata["issuer"], ISSUER);
    assert_eq!(
        as_metadata["pre-authorized_grant_anonymous_access_supported"],
        true
    );
    assert_eq!(
        as_metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        as_metadata["authorization_response_iss_parameter_supported"],
        true
    );

    let (code, verifier) = h.authorization_code().await;
    let response = h.token_request(Harness::code_form(&code, &verifier)).await;
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.header("dpop-nonce").is_some());
    assert_eq!(response.json_body().unwrap()["token_type"], "DPoP");
    let token = Harness::token_of(&response);

    let proofs = h.proofs(3).await;
    let response = h
        .credential(
            &token,
            &json!({"credential_identifier": token.identifiers[SD_JWT], "proofs": {"jwt": proofs}}),
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.json_body());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json_body().unwrap();
    let credentials = body["credentials"].as_array().unwrap();
    assert_eq!(credentials.len(), 3);
    assert!(credentials.iter().all(|c| {
        c["credential"]
            .as_str()
            .unwrap()
            .starts_with("cred:pid-sd-jwt:")
    }));
    assert_eq!(h.minter.calls(), [(SD_JWT.to_owned(), 3, false)]);

    let notification_id = body["notification_id"].as_str().unwrap();
    let notify = json!({"notification_id": notification_id, "event": "credential_accepted"});
    let response = h
        .resource(paths::NOTIFICATION, &token.access_token, &notify)
        .await;
    assert_eq!(response.status, 204);
    let again = h
        .resource(paths::NOTIFICATION, &token.access_token, &notify)
        .await;
    assert_error(&again, 400, "invalid_notification_id");
}

#[tokio::test]
async fn pre_authorized_flow_with_tx_code_by_reference() {
    let h = Harness::new();
    let created = h
        .issuer
        .create_pre_authorized_offer(SUBJECT, &[MDOC.to_owned()], true, true)
        .await
        .unwrap();
    let tx_code = created.tx_code.clone().unwrap();
    assert_eq!(tx_code.len(), 6);
    assert!(!format!("{created:?}").contains(&tx_code));
    let OfferUri::ByReference(url) = offer::parse_uri(&created.uri).unwrap() else {
        panic!("by reference");
    };
    let path = url.strip_prefix(ISSUER).unwrap();
    let response = h.call(HttpRequest::new("GET", path)).await;
    assert_eq!(response.status, 200);
    let fetched = offer::CredentialOffer::from_json(&response.body).unwrap();
    assert_eq!(fetched, created.offer);
    assert_eq!(
        fetched
            .pre_authorized_code()
            .unwrap()
            .tx_code
            .as_ref()
            .unwrap()
            .length,
        Some(6)
    );

    let token = Harness::token_of(
        &h.token_request(Harness::pre_authorized_form(&created, Some(&tx_code)))
            .await,
    );
    let response = h
        .credential(
            &token,
            &json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(1).await}}),
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.json_body());
    assert_eq!(h.minter.calls(), [(MDOC.to_owned(), 1, false)]);

    // By value, too.
    let by_value = h.offer(false).await;
    assert_eq!(
        offer::parse_uri(&by_value.uri).unwrap(),
        OfferUri::ByValue(by_value.offer.clone())
    );
    let unknown = h
        .call(HttpRequest::new("GET", "/credential_offer/nope"))
        .await;
    assert_error(&unknown, 404, "invalid_request");
}

#[tokio::test]
async fn bearer_tokens_without_dpop() {
    let h = Harness::new();
    let offer = h.offer(false).await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::TOKEN)
                .with_form(Harness::pre_authorized_form(&offer, None)),
        )
        .await;
    assert_eq!(response.json_body().unwrap()["token_type"], "Bearer");
    let token = Harness::token_of(&response);
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(1).await}});
    let as_dpop = h.credential(&token, &body).await;
    assert_error(&as_dpop, 401, "invalid_token");
    let response = h
        .call(
            HttpRequest::new("POST", paths::CREDENTIAL)
                .with_json(&body)
                .with_header("Authorization", &format!("Bearer {}", token.access_token)),
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.json_body());
}

#[tokio::test]
async fn deferred_issuance_is_marked_issued_only_after_minting() {
    let h = Harness::new();
    h.minter.set(Mode::Defer);
    let token = h.pre_authorized_token().await;
    let response = h
        .credential(
            &token,
            &json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(2).await}}),
        )
        .await;
    assert_eq!(response.status, 202, "{:?}", response.json_body());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json_body().unwrap();
    let transaction_id = body["transaction_id"].as_str().unwrap().to_owned();
    assert_eq!(body["interval"], 5);
    let poll = json!({"transaction_id": transaction_id});

    let pending = h
        .resource(paths::DEFERRED_CREDENTIAL, &token.access_token, &poll)
        .await;
    assert_eq!(pending.status, 202);
    assert_eq!(pending.header("cache-control"), Some("no-store"));
    assert_eq!(
        pending.json_body().unwrap()["transaction_id"],
        transaction_id.as_str()
    );

    // The review takes longer than the access token lives: the token stays good for the
    // deferred endpoint only.
    h.clock.advance(3600);
    let now = h.clock.now();
    let record = h.store.deferred(None, now).await.unwrap().remove(0);
    assert_eq!(record.reason, "manual review");
    h.store
        .decide_deferred(&record.id, true, now)
        .await
        .unwrap()
        .unwrap();
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(1).await}});
    assert_error(&h.credential(&token, &body).await, 401, "invalid_token");

    h.minter.set(Mode::Fail);
    let failed = h
        .resource(paths::DEFERRED_CREDENTIAL, &token.access_token, &poll)
        .await;
    assert_error(&failed, 500, "server_error");

    h.minter.set(Mode::Issue);
    let issued = h
        .resource(paths::DEFERRED_CREDENTIAL, &token.access_token, &poll)
        .await;
    assert_eq!(issued.status, 200, "{:?}", issued.json_body());
    assert_eq!(
        issued.json_body().unwrap()["credentials"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let calls = h.minter.calls();
    assert_eq!(calls.last(), Some(&(MDOC.to_owned(), 2, true)));

    let again = h
        .resource(paths::DEFERRED_CREDENTIAL, &token.access_token, &poll)
        .await;
    assert_error(&again, 400, "invalid_transaction_id");
    let unknown = h
        .resource(
            paths::DEFERRED_CREDENTIAL,
            &token.access_token,
            &json!({"transaction_id": "invented"}),
        )
        .await;
    assert_error(&unknown, 400, "invalid_transaction_id");
}

#[tokio::test]
async fn rejected_deferred_and_refused_minting_are_credential_request_denied() {
    let h = Harness::new();
    h.minter.set(Mode::Defer);
    let token = h.pre_authorized_token().await;
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(1).await}});
    let response = h.credential(&token, &body).await;
    let transaction_id = response.json_body().unwrap()["transaction_id"].clone();
    let record = h.store.deferred(None, NOW).await.unwrap().remove(0);
    h.store
        .decide_deferred(&record.id, false, NOW)
        .await
        .unwrap();
    let rejected = h
        .resource(
            paths::DEFERRED_CREDENTIAL,
            &token.access_token,
            &json!({"transaction_id": transaction_id}),
        )
        .await;
    assert_error(&rejected, 400, "credential_request_denied");

    h.minter.set(Mode::Refuse);
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(1).await}});
    let refused = h.credential(&token, &body).await;
    assert_error(&refused, 400, "credential_request_denied");
    assert_eq!(
        refused.json_body().unwrap()["error_description"],
        "the rules refuse this person"
    );
}

#[tokio::test]
async fn encrypted_credential_response() {
    let h = Harness::new();
    let token = h.pre_authorized_token().await;
    let wallet_key = DecryptionKey::generate().unwrap();
    let jwk = serde_json::to_value(wallet_key.public_jwk()).unwrap();
    let body = json!({
        "credential_configuration_id": MDOC,
        "proofs": {"jwt": h.proofs(2).await},
        "credential_response_encryption": {"jwk": jwk, "enc": "A256GCM"}
    });
    let response = h.credential(&token, &body).await;
    assert_eq!(response.status, 200, "{:?}", response.json_body());
    assert_eq!(response.header("content-type"), Some("application/jwt"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let token_text = String::from_utf8(response.body).unwrap();
    let decrypted = jwe::decrypt(&token_text, &wallet_key, &jwe::ContentEncryption::ALL).unwrap();
    let plain: Value = serde_json::from_slice(&decrypted.plaintext).unwrap();
    assert_eq!(plain["credentials"].as_array().unwrap().len(), 2);

    for bad in [
        json!({"jwk": jwk, "enc": "A128CBC-HS256"}),
        json!({"jwk": jwk, "enc": "A256GCM", "zip": "DEF"}),
        json!({"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, "enc": "A256GCM"}),
    ] {
        let body = json!({
            "credential_configuration_id": MDOC,
            "proofs": {"jwt": h.proofs(1).await},
            "credential_response_encryption": bad
        });
        assert_error(
            &h.credential(&token, &body).await,
            400,
            "invalid_encryption_parameters",
        );
    }

    let required = Harness::with(|config| {
        if let Some(encryption) = config.response_encryption.as_mut() {
            encryption.required = true;
        }
    });
    let token = required.pre_authorized_token().await;
    let body =
        json!({"credential_configuration_id": MDOC, "proofs": {"jwt": required.proofs(1).await}});
    assert_error(
        &required.credential(&token, &body).await,
        400,
        "invalid_encryption_parameters",
    );
}

// ---------------------------------------------------------------------------------------------
// Token endpoint failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_tx_code_counts_and_locks_out() {
    let h = Harness::new();
    let offer = h.offer(true).await;
    let right = offer.tx_code.clone().unwrap();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for tx_code in [Some(wrong), None, Some(wrong)] {
        let response = h
            .token_request(Harness::pre_authorized_form(&offer, tx_code))
            .await;
        assert_error(&response, 400, "invalid_grant");
    }
    // Three wrong attempts: the code is dead even with the right tx_code.
    let response = h
        .token_request(Harness::pre_authorized_form(&offer, Some(&right)))
        .await;
    assert_error(&response, 400, "invalid_grant");

    // Below the limit, the right code still works.
    let offer = h.offer(true).await;
    let right = offer.tx_code.clone().unwrap();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_error(
        &h.token_request(Harness::pre_authorized_form(&offer, Some(wrong)))
            .await,
        400,
        "invalid_grant",
    );
    Harness::token_of(
        &h.token_request(Harness::pre_authorized_form(&offer, Some(&right)))
            .await,
    );
}

#[tokio::test]
async fn reused_codes_are_refused() {
    let h = Harness::new();
    let (code, verifier) = h.authorization_code().await;
    Harness::token_of(&h.token_request(Harness::code_form(&code, &verifier)).await);
    let again = h.token_request(Harness::code_form(&code, &verifier)).await;
    assert_error(&again, 400, "invalid_grant");

    let offer = h.offer(false).await;
    Harness::token_of(
        &h.token_request(Harness::pre_authorized_form(&offer, None))
            .await,
    );
    let again = h
        .token_request(Harness::pre_authorized_form(&offer, None))
        .await;
    assert_error(&again, 400, "invalid_grant");
}

#[tokio::test]
async fn expired_codes_are_refused() {
    let h = Harness::new();
    let (code, verifier) = h.authorization_code().await;
    h.clock.advance(61);
    assert_error(
        &h.token_request(Harness::code_form(&code, &verifier)).await,
        400,
        "invalid_grant",
    );
    let offer = h.offer(false).await;
    h.clock.advance(601);
    assert_error(
        &h.token_request(Harness::pre_authorized_form(&offer, None))
            .await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn pkce_mismatch_is_refused_and_spends_the_code() {
    let h = Harness::new();
    let (code, verifier) = h.authorization_code().await;
    let other = random_token().unwrap();
    assert_error(
        &h.token_request(Harness::code_form(&code, &other)).await,
        400,
        "invalid_grant",
    );
    assert_error(
        &h.token_request(Harness::code_form(&code, &verifier)).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn codes_are_bound_to_client_redirect_uri_and_dpop_key() {
    let h = Harness::new();
    let (code, verifier) = h.authorization_code().await;
    let form = TokenRequest::AuthorizationCode {
        code,
        redirect_uri: Some("http://127.0.0.1:9999/other".into()),
        code_verifier: verifier,
        client_id: Some(CLIENT.into()),
    }
    .to_form();
    assert_error(&h.token_request(form).await, 400, "invalid_grant");

    let (code, verifier) = h.authorization_code().await;
    let form = TokenRequest::AuthorizationCode {
        code,
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: verifier,
        client_id: Some("another-client".into()),
    }
    .to_form();
    assert_error(&h.token_request(form).await, 400, "invalid_grant");

    // The code was bound to h.dpop at PAR; another key cannot redeem it.
    let (code, verifier) = h.authorization_code().await;
    let nonce = h.dpop_nonce().await;
    let other = key();
    let proof = h
        .dpop_with(&other, "POST", paths::TOKEN, None, Some(&nonce))
        .await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::TOKEN)
                .with_form(Harness::code_form(&code, &verifier))
                .with_header("DPoP", &proof),
        )
        .await;
    assert_error(&response, 400, "invalid_dpop_proof");
    // Nor can the code be redeemed without DPoP.
    let (code, verifier) = h.authorization_code().await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::TOKEN).with_form(Harness::code_form(&code, &verifier)),
        )
        .await;
    assert_error(&response, 400, "invalid_dpop_proof");
}

#[tokio::test]
async fn dpop_nonce_retry_at_token_and_credential_endpoints() {
    let h = Harness::new();
    let offer = h.offer(false).await;
    let form = Harness::pre_authorized_form(&offer, None);
    let proof = h.dpop_proof(paths::TOKEN, None, None).await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::TOKEN)
                .with_form(form.clone())
                .with_header("DPoP", &proof),
        )
        .await;
    assert_error(&response, 400, "use_dpop_nonce");
    let nonce = response.header("dpop-nonce").unwrap().to_owned();
    // A nonce the server never gave is no better.
    let invented = h.dpop_proof(paths::TOKEN, None, Some("invented")).await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::TOKEN)
                .with_form(form.clone())
                .with_header("DPoP", &invented),
        )
        .await;
    assert_error(&response, 400, "use_dpop_nonce");
    for placeholder in ["\u{0}", ""] {
        let proof = h.dpop_proof(paths::TOKEN, None, Some(placeholder)).await;
        let response = h
            .call(
                HttpRequest::new("POST", paths::TOKEN)
                    .with_form(form.clone())
                    .with_header("DPoP", &proof),
            )
            .await;
        assert_error(&response, 400, "use_dpop_nonce");
    }
    // The pre-authorized code was not spent by those failures.
    let retry = h.dpop_proof(paths::TOKEN, None, Some(&nonce)).await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::TOKEN)
                .with_form(form)
                .with_header("DPoP", &retry),
        )
        .await;
    let token = Harness::token_of(&response);

    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(1).await}});
    let proof = h
        .dpop_proof(paths::CREDENTIAL, Some(&token.access_token), None)
        .await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::CREDENTIAL)
                .with_json(&body)
                .with_header("Authorization", &format!("DPoP {}", token.access_token))
                .with_header("DPoP", &proof),
        )
        .await;
    assert_error(&response, 401, "use_dpop_nonce");
    assert!(
        response
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"use_dpop_nonce\"")
    );
    let nonce = response.header("dpop-nonce").unwrap().to_owned();
    // The c_nonce of the refused request was not spent: the same body works on retry.
    let proof = h
        .dpop_proof(paths::CREDENTIAL, Some(&token.access_token), Some(&nonce))
        .await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::CREDENTIAL)
                .with_json(&body)
                .with_header("Authorization", &format!("DPoP {}", token.access_token))
                .with_header("DPoP", &proof),
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.json_body());
}

#[tokio::test]
async fn dpop_nonces_expire() {
    let h = Harness::new();
    let offer = h.offer(false).await;
    let nonce = h.dpop_nonce().await;
    h.clock.advance(301);
    let proof = h.dpop_proof(paths::TOKEN, None, Some(&nonce)).await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::TOKEN)
                .with_form(Harness::pre_authorized_form(&offer, None))
                .with_header("DPoP", &proof),
        )
        .await;
    assert_error(&response, 400, "use_dpop_nonce");
}

#[tokio::test]
async fn token_endpoint_refuses_malformed_requests() {
    let h = Harness::new();
    let json_body = h
        .call(HttpRequest::new("POST", paths::TOKEN).with_json(&json!({"grant_type": "x"})))
        .await;
    assert_error(&json_body, 400, "invalid_request");
    let password = h
        .call(HttpRequest::new("POST", paths::TOKEN).with_form("grant_type=password".into()))
        .await;
    assert_error(&password, 400, "unsupported_grant_type");
    let twice = h
        .call(
            HttpRequest::new("POST", paths::TOKEN)
                .with_form("grant_type=authorization_code&code=a&code=b".into()),
        )
        .await;
    assert_error(&twice, 400, "invalid_request");
    let mut not_utf8 = HttpRequest::new("POST", paths::TOKEN).with_form(String::new());
    not_utf8.body = vec![0xff, 0xfe];
    assert_error(&h.call(not_utf8).await, 400, "invalid_request");
    let mut huge = HttpRequest::new("POST", paths::TOKEN).with_form(String::new());
    huge.body = vec![b'a'; MAX_BODY_LEN + 1];
    assert_error(&h.call(huge).await, 413, "invalid_request");
    let get = h.call(HttpRequest::new("GET", paths::TOKEN)).await;
    assert_error(&get, 405, "invalid_request");
    assert!(
        h.issuer
            .handle(&HttpRequest::new("GET", "/elsewhere"))
            .await
            .is_none()
    );
    assert!(
        h.issuer
            .handle(&HttpRequest::new("GET", paths::AUTHORIZE))
            .await
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// PAR and authorization failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn par_checks_pkce_redirect_uri_and_configurations() {
    let h = Harness::new();
    let verifier = random_token().unwrap();
    let good = h.authorization_request(&verifier);

    let mut plain = good.clone();
    plain.code_challenge_method = "plain".into();
    assert_error(&h.par_with(&plain, false).await, 400, "invalid_request");
    let mut remote_http = good.clone();
    remote_http.redirect_uri = "http://wallet.example/cb".into();
    assert_error(
        &h.par_with(&remote_http, false).await,
        400,
        "invalid_request",
    );
    let mut token_type = good.clone();
    token_type.response_type = "token".into();
    assert_error(
        &h.par_with(&token_type, false).await,
        400,
        "unsupported_response_type",
    );
    let mut unknown = good.clone();
    unknown.authorization_details = vec![AuthorizationDetail::new("not-offered")];
    assert_error(
        &h.par_with(&unknown, false).await,
        400,
        "invalid_authorization_details",
    );
    let mut nothing = good.clone();
    nothing.authorization_details.clear();
    nothing.scope = Some("openid unknown".into());
    assert_error(&h.par_with(&nothing, false).await, 400, "invalid_scope");
    let mut wrong_jkt = good.clone();
    wrong_jkt.dpop_jkt = Some(key().verifying_key().to_jwk().thumbprint());
    assert_error(
        &h.par_with(&wrong_jkt, true).await,
        400,
        "invalid_dpop_proof",
    );

    let nested = h
        .call(HttpRequest::new("POST", paths::PAR).with_form(format!(
            "{}&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax",
            good.to_form().unwrap()
        )))
        .await;
    assert_error(&nested, 400, "invalid_request");

    let mut by_scope = good.clone();
    by_scope.authorization_details.clear();
    by_scope.scope = Some("pid_mdoc openid".into());
    let response = h.par_with(&by_scope, false).await;
    assert_eq!(response.status, 201);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let request_uri = response.json_body().unwrap()["request_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = eudi_oauth::form::encode([("client_id", CLIENT), ("request_uri", &request_uri)]);
    let pending = h.issuer.authorize(&query).await.unwrap();
    assert_eq!(pending.configuration_ids, [MDOC]);
    // A request_uri is single-use.
    assert_eq!(
        h.issuer.authorize(&query).await,
        Err(AuthorizeError::UnknownRequest)
    );
}

#[tokio::test]
async fn authorize_errors_are_not_redirected_and_refusals_are() {
    let h = Harness::new();
    let verifier = random_token().unwrap();
    let response = h.par_with(&h.authorization_request(&verifier), false).await;
    let request_uri = response.json_body().unwrap()["request_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(matches!(
        h.issuer.authorize("client_id=x").await,
        Err(AuthorizeError::InvalidRequest(_))
    ));
    let other_client =
        eudi_oauth::form::encode([("client_id", "other"), ("request_uri", &request_uri)]);
    assert_eq!(
        h.issuer.authorize(&other_client).await,
        Err(AuthorizeError::UnknownRequest)
    );

    let response = h.par_with(&h.authorization_request(&verifier), false).await;
    let request_uri = response.json_body().unwrap()["request_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    h.clock.advance(61);
    let query = eudi_oauth::form::encode([("client_id", CLIENT), ("request_uri", &request_uri)]);
    assert_eq!(
        h.issuer.authorize(&query).await,
        Err(AuthorizeError::UnknownRequest)
    );

    let response = h.par_with(&h.authorization_request(&verifier), false).await;
    let request_uri = response.json_body().unwrap()["request_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = eudi_oauth::form::encode([("client_id", CLIENT), ("request_uri", &request_uri)]);
    let pending = h.issuer.authorize(&query).await.unwrap();
    let redirect = h
        .issuer
        .refuse_authorization(
            &pending.id,
            eudi_oauth::ErrorCode::AccessDenied,
            "login cancelled",
        )
        .await
        .unwrap();
    let params: BTreeMap<String, String> = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_description"], "login cancelled");
    assert_eq!(params["state"], "client-state");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"));
    // The login is over: it can be neither completed nor refused again.
    assert_eq!(
        h.issuer
            .complete_authorization(&pending.id, SUBJECT.to_vec())
            .await,
        Err(AuthorizeError::UnknownLogin)
    );
}

// ---------------------------------------------------------------------------------------------
// Credential endpoint failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reused_and_expired_c_nonces_are_refused() {
    let h = Harness::new();
    let token = h.pre_authorized_token().await;
    let nonce = h.c_nonce().await;
    let body = json!({"credential_configuration_id": MDOC,
        "proofs": {"jwt": [h.key_proof(&key(), Some(&nonce)).await]}});
    assert_eq!(h.credential(&token, &body).await.status, 200);
    let reused = json!({"credential_configuration_id": MDOC,
        "proofs": {"jwt": [h.key_proof(&key(), Some(&nonce)).await]}});
    assert_error(&h.credential(&token, &reused).await, 400, "invalid_nonce");

    // Another token cannot use it either: c_nonces are single-use across tokens.
    let other = h.pre_authorized_token().await;
    assert_error(&h.credential(&other, &reused).await, 400, "invalid_nonce");

    let nonce = h.c_nonce().await;
    h.clock.advance(301);
    let token = h.pre_authorized_token().await;
    let expired = json!({"credential_configuration_id": MDOC,
        "proofs": {"jwt": [h.key_proof(&key(), Some(&nonce)).await]}});
    assert_error(&h.credential(&token, &expired).await, 400, "invalid_nonce");
    let invented = json!({"credential_configuration_id": MDOC,
        "proofs": {"jwt": [h.key_proof(&key(), Some("invented")).await]}});
    assert_error(&h.credential(&token, &invented).await, 400, "invalid_nonce");
    let missing = json!({"credential_configuration_id": MDOC,
        "proofs": {"jwt": [h.key_proof(&key(), None).await]}});
    assert_error(&h.credential(&token, &missing).await, 400, "invalid_nonce");
}

#[tokio::test]
async fn bad_key_proofs_are_refused_without_spending_the_nonce() {
    let h = Harness::new();
    let token = h.pre_authorized_token().await;
    let nonce = h.c_nonce().await;
    let holder = key();
    let wrong_aud = proof::create(
        &holder,
        &ProofClaims {
            iss: None,
            aud: "https://other.example",
            iat: NOW,
            nonce: Some(&nonce),
        },
        None,
    )
    .await
    .unwrap();
    let old = proof::create(
        &holder,
        &ProofClaims {
            iss: None,
            aud: ISSUER,
            iat: NOW - 1000,
            nonce: Some(&nonce),
        },
        None,
    )
    .await
    .unwrap();
    let p384 = SoftwareKey::generate(Algorithm::Es384).unwrap();
    let wrong_alg = h.key_proof(&p384, Some(&nonce)).await;
    let good = h.key_proof(&holder, Some(&nonce)).await;
    // typ changed: re-signed with a DPoP typ.
    let (header, rest) = good.split_once('.').unwrap();
    let mut header: Value =
        serde_json::from_slice(&eudi_trust::b64::decode(header).unwrap()).unwrap();
    header["typ"] = "dpop+jwt".into();
    let (payload, _) = rest.split_once('.').unwrap();
    let input = format!("{}.{payload}", eudi_trust::b64::encode(header.to_string()));
    let signature = holder.sign(input.as_bytes()).await.unwrap();
    let wrong_typ = format!("{input}.{}", eudi_trust::b64::encode(signature));
    // A key that signed nothing: the header names `holder`, another key signed.
    let mut header: Value =
        serde_json::from_slice(&eudi_trust::b64::decode(good.split('.').next().unwrap()).unwrap())
            .unwrap();
    header["jwk"] = serde_json::to_value(holder.verifying_key().to_jwk()).unwrap();
    let input = format!("{}.{payload}", eudi_trust::b64::encode(header.to_string()));
    let signature = key().sign(input.as_bytes()).await.unwrap();
    let unsigned_key = format!("{input}.{}", eudi_trust::b64::encode(signature));

    for bad in [
        wrong_aud,
        old,
        wrong_alg,
        wrong_typ,
        unsigned_key,
        "not.a.jwt".into(),
    ] {
        let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": [bad]}});
        assert_error(&h.credential(&token, &body).await, 400, "invalid_proof");
    }
    // A batch with one bad proof is refused as a whole, and spends nothing.
    let body = json!({"credential_configuration_id": MDOC,
        "proofs": {"jwt": [good.clone(), "x.y.z"]}});
    assert_error(&h.credential(&token, &body).await, 400, "invalid_proof");
    assert!(h.minter.calls().is_empty());
    let body =
        json!({"credential_configuration_id": MDOC, "proofs": {"jwt": [good.clone(), good]}});
    assert_error(&h.credential(&token, &body).await, 400, "invalid_proof");
    let body = json!({"credential_configuration_id": MDOC,
        "proofs": {"jwt": [h.key_proof(&holder, Some(&nonce)).await]}});
    assert_eq!(h.credential(&token, &body).await.status, 200);
    for body in [
        json!({"credential_configuration_id": MDOC}),
        json!({"credential_configuration_id": MDOC, "proofs": {"jwt": []}}),
        json!({"credential_configuration_id": MDOC, "proofs": {"di_vp": ["x"]}}),
    ] {
        assert_error(&h.credential(&token, &body).await, 400, "invalid_proof");
    }
}

#[tokio::test]
async fn batches_are_bounded_by_batch_size() {
    let h = Harness::with(|config| config.batch_size = 2);
    let token = h.pre_authorized_token().await;
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(3).await}});
    assert_error(
        &h.credential(&token, &body).await,
        400,
        "invalid_credential_request",
    );
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(2).await}});
    assert_eq!(h.credential(&token, &body).await.status, 200);
}

#[tokio::test]
async fn dpop_proofs_at_the_credential_endpoint_are_checked() {
    let h = Harness::new();
    let token = h.pre_authorized_token().await;
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(1).await}});
    let send = |proof: String| {
        HttpRequest::new("POST", paths::CREDENTIAL)
            .with_json(&body)
            .with_header("Authorization", &format!("DPoP {}", token.access_token))
            .with_header("DPoP", &proof)
    };
    let nonce = h.dpop_nonce().await;
    let t = Some(token.access_token.as_str());
    let other_url = h.dpop_proof(paths::TOKEN, t, Some(&nonce)).await;
    let other_method = h
        .dpop_with(&h.dpop, "GET", paths::CREDENTIAL, t, Some(&nonce))
        .await;
    let other_key = h
        .dpop_with(&key(), "POST", paths::CREDENTIAL, t, Some(&nonce))
        .await;
    let no_ath = h.dpop_proof(paths::CREDENTIAL, None, Some(&nonce)).await;
    for proof in [other_url, other_method, other_key, no_ath, "garbage".into()] {
        let response = h.call(send(proof)).await;
        assert_error(&response, 401, "invalid_dpop_proof");
        assert!(
            response
                .header("www-authenticate")
                .unwrap()
                .starts_with("DPoP ")
        );
    }
    let without = h
        .call(
            HttpRequest::new("POST", paths::CREDENTIAL)
                .with_json(&body)
                .with_header("Authorization", &format!("DPoP {}", token.access_token)),
        )
        .await;
    assert_error(&without, 401, "invalid_dpop_proof");

    let good = h.dpop_proof(paths::CREDENTIAL, t, Some(&nonce)).await;
    assert_eq!(h.call(send(good.clone())).await.status, 200);
    // Replayed.
    let replayed = h.call(send(good)).await;
    assert_error(&replayed, 401, "invalid_dpop_proof");
}

#[tokio::test]
async fn access_tokens_are_checked() {
    let h = Harness::new();
    let token = h.pre_authorized_token().await;
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(1).await}});
    let nonce = h.dpop_nonce().await;
    let proof = h
        .dpop_proof(paths::CREDENTIAL, Some(&token.access_token), Some(&nonce))
        .await;
    let in_query = h
        .call(
            HttpRequest::new(
                "POST",
                &format!("{}?access_token={}", paths::CREDENTIAL, token.access_token),
            )
            .with_json(&body)
            .with_header("DPoP", &proof),
        )
        .await;
    assert_error(&in_query, 400, "invalid_request");
    let none = h
        .call(HttpRequest::new("POST", paths::CREDENTIAL).with_json(&body))
        .await;
    assert_error(&none, 401, "invalid_token");
    assert!(none.header("www-authenticate").is_some());
    let as_bearer = h
        .call(
            HttpRequest::new("POST", paths::CREDENTIAL)
                .with_json(&body)
                .with_header("Authorization", &format!("Bearer {}", token.access_token))
                .with_header("DPoP", &proof),
        )
        .await;
    assert_error(&as_bearer, 401, "invalid_token");
    assert_eq!(
        as_bearer.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    let invented = h.resource(paths::CREDENTIAL, "invented-token", &body).await;
    assert_error(&invented, 401, "invalid_token");
    h.clock.advance(301);
    let expired = h.credential(&token, &body).await;
    assert_error(&expired, 401, "invalid_token");
}

#[tokio::test]
async fn unknown_configurations_and_identifiers() {
    let h = Harness::new();
    let token = h.pre_authorized_token().await;
    let proofs = h.proofs(1).await;
    let cases = [
        (
            json!({"credential_configuration_id": "nope", "proofs": {"jwt": proofs}}),
            "unknown_credential_configuration",
        ),
        (
            json!({"credential_identifier": "nope", "proofs": {"jwt": proofs}}),
            "unknown_credential_identifier",
        ),
        // Known to the issuer, not granted by this token (it was offered the mdoc only).
        (
            json!({"credential_configuration_id": SD_JWT, "proofs": {"jwt": proofs}}),
            "invalid_credential_request",
        ),
        (
            json!({"credential_configuration_id": MDOC, "credential_identifier": token.identifiers[MDOC],
            "proofs": {"jwt": proofs}}),
            "invalid_credential_request",
        ),
        (
            json!({"proofs": {"jwt": proofs}}),
            "invalid_credential_request",
        ),
    ];
    for (body, code) in cases {
        assert_error(&h.credential(&token, &body).await, 400, code);
    }
    let by_identifier =
        json!({"credential_identifier": token.identifiers[MDOC], "proofs": {"jwt": proofs}});
    assert_eq!(h.credential(&token, &by_identifier).await.status, 200);
}

#[tokio::test]
async fn malformed_and_oversized_credential_requests_are_oauth_json() {
    let h = Harness::new();
    let token = h.pre_authorized_token().await;
    let nonce = h.dpop_nonce().await;
    let t = Some(token.access_token.as_str());
    let mut bodies: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "application/json"),
        (b"[1,2,3]".to_vec(), "application/json"),
        (
            br#"{"credential_configuration_id": 7}"#.to_vec(),
            "application/json",
        ),
        (
            b"credential_configuration_id=x".to_vec(),
            "application/x-www-form-urlencoded",
        ),
    ];
    bodies.push((vec![b' '; MAX_BODY_LEN + 1], "application/json"));
    for (body, content_type) in bodies {
        let oversized = body.len() > MAX_BODY_LEN;
        let proof = h.dpop_proof(paths::CREDENTIAL, t, Some(&nonce)).await;
        let mut request = HttpRequest::new("POST", paths::CREDENTIAL)
            .with_header("content-type", content_type)
            .with_header("Authorization", &format!("DPoP {}", token.access_token))
            .with_header("DPoP", &proof);
        request.body = body;
        let response = h.call(request).await;
        let status = if oversized { 413 } else { 400 };
        assert_error(&response, status, "invalid_credential_request");
    }
}

#[tokio::test]
async fn nonce_endpoint_answers_no_store_with_a_dpop_nonce() {
    let h = Harness::new();
    let response = h.call(HttpRequest::new("POST", paths::NONCE)).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.header("dpop-nonce").is_some());
    let first = response.json_body().unwrap()["c_nonce"].clone();
    assert_ne!(
        first,
        h.call(HttpRequest::new("POST", paths::NONCE))
            .await
            .json_body()
            .unwrap()["c_nonce"]
    );
    assert_error(
        &h.call(HttpRequest::new("GET", paths::NONCE)).await,
        405,
        "invalid_request",
    );
}

// ---------------------------------------------------------------------------------------------
// Client attestation
// ---------------------------------------------------------------------------------------------

struct WalletProvider {
    provider: SoftwareKey,
    instance: SoftwareKey,
}

impl WalletProvider {
    fn new() -> Self {
        Self {
            provider: key(),
            instance: key(),
        }
    }

    fn trust(&self) -> WalletProviderTrust {
        WalletProviderTrust::new().with_key(self.provider.verifying_key().clone(), None)
    }

    async fn headers(&self, signer: &SoftwareKey, audience: &str) -> (String, String) {
        let attestation = client_attestation::create_attestation(
            signer,
            &ProviderKeyId::None,
            &AttestationClaims {
                issuer: Some("https://wallet-provider.example".into()),
                client_id: CLIENT.into(),
                instance_key: self.instance.verifying_key().to_jwk(),
                iat: NOW - 10,
                exp: NOW + 3600,
                wallet_name: None,
                wallet_link: None,
                extra: serde_json::Map::new(),
            },
        )
        .await
        .unwrap();
        let pop = client_attestation::create_pop(&self.instance, CLIENT, audience, None, NOW, None)
            .await
            .unwrap();
        (attestation, pop)
    }
}

#[tokio::test]
async fn client_attestation_required() {
    let wallet = WalletProvider::new();
    let trust = wallet.trust();
    let h = Harness::with(|config| {
        config.client_attestation = ClientAttestationPolicy::Required(trust);
    });
    let as_metadata = h
        .call(HttpRequest::new(
            "GET",
            paths::AUTHORIZATION_SERVER_METADATA,
        ))
        .await
        .json_body()
        .unwrap();
    assert_eq!(
        as_metadata["token_endpoint_auth_methods_supported"],
        json!(["attest_jwt_client_auth"])
    );
    let verifier = random_token().unwrap();
    let form = h.authorization_request(&verifier).to_form().unwrap();
    let par = |headers: Option<(String, String)>| {
        let mut request = HttpRequest::new("POST", paths::PAR).with_form(form.clone());
        if let Some((attestation, pop)) = headers {
            request = request
                .with_header("OAuth-Client-Attestation", &attestation)
                .with_header("OAuth-Client-Attestation-PoP", &pop);
        }
        request
    };
    assert_error(&h.call(par(None)).await, 401, "invalid_client");
    let untrusted = wallet.headers(&key(), ISSUER).await;
    assert_error(&h.call(par(Some(untrusted))).await, 401, "invalid_client");
    let wrong_aud = wallet
        .headers(&wallet.provider, "https://other.example")
        .await;
    assert_error(&h.call(par(Some(wrong_aud))).await, 401, "invalid_client");
    let good = wallet.headers(&wallet.provider, ISSUER).await;
    assert_eq!(h.call(par(Some(good.clone()))).await.status, 201);
    // The PoP is single-use.
    assert_error(&h.call(par(Some(good))).await, 401, "invalid_client");

    // The pre-authorized grant needs it too under this policy.
    let offer = h.offer(false).await;
    assert_error(
        &h.token_request(Harness::pre_authorized_form(&offer, None))
            .await,
        401,
        "invalid_client",
    );
    let (attestation, pop) = wallet.headers(&wallet.provider, ISSUER).await;
    let nonce = h.dpop_nonce().await;
    let proof = h.dpop_proof(paths::TOKEN, None, Some(&nonce)).await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::TOKEN)
                .with_form(Harness::pre_authorized_form(&offer, None))
                .with_header("DPoP", &proof)
                .with_header("OAuth-Client-Attestation", &attestation)
                .with_header("OAuth-Client-Attestation-PoP", &pop),
        )
        .await;
    Harness::token_of(&response);
}

// ---------------------------------------------------------------------------------------------
// More
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn par_answers_use_dpop_nonce_with_a_nonce_to_retry_with() {
    let h = Harness::new();
    let verifier = random_token().unwrap();
    let form = h.authorization_request(&verifier).to_form().unwrap();
    let proof = h.dpop_proof(paths::PAR, None, None).await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::PAR)
                .with_form(form.clone())
                .with_header("DPoP", &proof),
        )
        .await;
    assert_error(&response, 400, "use_dpop_nonce");
    let nonce = response.header("dpop-nonce").unwrap().to_owned();
    let proof = h.dpop_proof(paths::PAR, None, Some(&nonce)).await;
    let response = h
        .call(
            HttpRequest::new("POST", paths::PAR)
                .with_form(form)
                .with_header("DPoP", &proof),
        )
        .await;
    assert_eq!(response.status, 201, "{:?}", response.json_body());
}

#[tokio::test]
async fn notifications_are_only_accepted_from_the_same_subject() {
    let h = Harness::new();
    let token = h.pre_authorized_token().await;
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(1).await}});
    let response = h.credential(&token, &body).await;
    let notification_id = response.json_body().unwrap()["notification_id"].clone();
    let other = h
        .issuer
        .create_pre_authorized_offer(b"someone else", &[MDOC.to_owned()], false, false)
        .await
        .unwrap();
    let other = Harness::token_of(
        &h.token_request(Harness::pre_authorized_form(&other, None))
            .await,
    );
    let notify = json!({"notification_id": notification_id, "event": "credential_deleted"});
    let response = h
        .resource(paths::NOTIFICATION, &other.access_token, &notify)
        .await;
    assert_error(&response, 400, "invalid_notification_id");
    let bad_event = json!({"notification_id": notification_id, "event": "credential_lost"});
    let response = h
        .resource(paths::NOTIFICATION, &token.access_token, &bad_event)
        .await;
    assert_error(&response, 400, "invalid_request");
    let response = h
        .resource(paths::NOTIFICATION, &token.access_token, &notify)
        .await;
    assert_eq!(response.status, 204);
}

async fn key_attestation(provider: &SoftwareKey, keys: &[&SoftwareKey], nonce: &str) -> String {
    let header = eudi_trust::jws::Header::new(Algorithm::Es256, Some(proof::KEY_ATTESTATION_TYP));
    let claims = json!({
        "iat": NOW - 10,
        "exp": NOW + 3600,
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
async fn key_attestations_when_required_issue_one_credential_per_attested_key() {
    let provider = key();
    let trusted = provider.verifying_key().clone();
    let h = Harness::with(|config| {
        config
            .key_attestation_trust
            .keys
            .push(proof::AttestationKey {
                key: trusted,
                kid: None,
            });
        if let Some(jwt) = config
            .configurations
            .get_mut(MDOC)
            .and_then(|c| c.proof_types_supported.get_mut("jwt"))
        {
            jwt.key_attestations_required = Some(Default::default());
        }
    });
    let token = h.pre_authorized_token().await;
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": h.proofs(1).await}});
    assert_error(&h.credential(&token, &body).await, 400, "invalid_proof");

    let nonce = h.c_nonce().await;
    let (first, second) = (key(), key());
    let rogue = key_attestation(&key(), &[&first, &second], &nonce).await;
    let proof = proof::create(
        &first,
        &ProofClaims {
            iss: None,
            aud: ISSUER,
            iat: NOW,
            nonce: Some(&nonce),
        },
        Some((&rogue, 0)),
    )
    .await
    .unwrap();
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": [proof]}});
    assert_error(&h.credential(&token, &body).await, 400, "invalid_proof");

    let attestation = key_attestation(&provider, &[&first, &second], &nonce).await;
    let proof = proof::create(
        &first,
        &ProofClaims {
            iss: None,
            aud: ISSUER,
            iat: NOW,
            nonce: Some(&nonce),
        },
        Some((&attestation, 0)),
    )
    .await
    .unwrap();
    let body = json!({"credential_configuration_id": MDOC, "proofs": {"jwt": [proof]}});
    let response = h.credential(&token, &body).await;
    assert_eq!(response.status, 200, "{:?}", response.json_body());
    assert_eq!(
        response.json_body().unwrap()["credentials"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn configurations_are_checked() {
    let store = Arc::new(MemoryStore::new());
    let minter = Arc::new(FakeMinter {
        mode: Mutex::new(Mode::Issue),
        calls: Mutex::new(Vec::new()),
    });
    let clock = Arc::new(ManualClock::new(NOW));
    let build = |change: &dyn Fn(&mut IssuerConfig)| {
        let mut config = IssuerConfig::new(ISSUER, configurations());
        change(&mut config);
        Issuer::new(config, store.clone(), minter.clone(), clock.clone())
    };
    assert!(build(&|_| {}).is_ok());
    assert!(build(&|c| c.credential_issuer = "http://127.0.0.1:8080".into()).is_ok());
    for change in [
        (|c: &mut IssuerConfig| c.batch_size = 1) as fn(&mut IssuerConfig),
        |c| c.credential_issuer = "http://issuer.example".into(),
        |c| c.credential_issuer = "https://issuer.example/".into(),
        |c| c.configurations.clear(),
        |c| c.tx_code_attempts = 0,
        |c| c.lifetimes.code = 0,
    ] {
        assert!(build(&change).is_err());
    }
}

#[tokio::test]
async fn client_attestation_optional() {
    let wallet = WalletProvider::new();
    let trust = wallet.trust();
    let h = Harness::with(|config| {
        config.client_attestation = ClientAttestationPolicy::Optional(trust);
    });
    let as_metadata = h
        .call(HttpRequest::new(
            "GET",
            paths::AUTHORIZATION_SERVER_METADATA,
        ))
        .await
        .json_body()
        .unwrap();
    assert_eq!(
        as_metadata["token_endpoint_auth_methods_supported"],
        json!(["none", "attest_jwt_client_auth"])
    );
    let verifier = random_token().unwrap();
    let request = h.authorization_request(&verifier);
    assert_eq!(h.par_with(&request, false).await.status, 201);
    let with = |request: &AuthorizationRequest, (attestation, pop): (String, String)| {
        HttpRequest::new("POST", paths::PAR)
            .with_form(request.to_form().unwrap())
            .with_header("OAuth-Client-Attestation", &attestation)
            .with_header("OAuth-Client-Attestation-PoP", &pop)
    };
    // Sent, it is checked: the attestation's `sub` must be the request's client_id.
    let mut other_client = request.clone();
    other_client.client_id = "someone-else".into();
    let headers = wallet.headers(&wallet.provider, ISSUER).await;
    assert_error(
        &h.call(with(&other_client, headers)).await,
        401,
        "invalid_client",
    );
    let (attestation, _) = wallet.headers(&wallet.provider, ISSUER).await;
    let only_attestation = HttpRequest::new("POST", paths::PAR)
        .with_form(request.to_form().unwrap())
        .with_header("OAuth-Client-Attestation", &attestation);
    assert_error(&h.call(only_attestation).await, 401, "invalid_client");
    let headers = wallet.headers(&wallet.provider, ISSUER).await;
    assert_eq!(h.call(with(&request, headers)).await.status, 201);
}

// ---------------------------------------------------------------------------------------------
// A store that fails on demand
// ---------------------------------------------------------------------------------------------

mod failing {
    use std::sync::atomic::AtomicBool;
    use std::sync::atomic::Ordering;

    use eudi_oid4vci::store::AllocationPolicy;
    use eudi_oid4vci::store::CredentialRecord;
    use eudi_oid4vci::store::CredentialState;
    use eudi_oid4vci::store::CredentialStore;
    use eudi_oid4vci::store::DeferredPoll;
    use eudi_oid4vci::store::DeferredRecord;
    use eudi_oid4vci::store::DeferredState;
    use eudi_oid4vci::store::DeferredStore;
    use eudi_oid4vci::store::IssuerStore;
    use eudi_oid4vci::store::NewPreAuthorizedCode;
    use eudi_oid4vci::store::NonceKind;
    use eudi_oid4vci::store::NonceStore;
    use eudi_oid4vci::store::PreAuthorizedCodeStore;
    use eudi_oid4vci::store::Redemption;
    use eudi_oid4vci::store::ReplayScope;
    use eudi_oid4vci::store::SessionKind;
    use eudi_oid4vci::store::SessionStore;
    use eudi_oid4vci::store::StatusListSnapshot;
    use eudi_oid4vci::store::StatusListStore;
    use eudi_oid4vci::store::StatusSlot;
    use eudi_oid4vci::store::StoreError;
    use eudi_oid4vci::store::StoreFuture;
    use eudi_oid4vci::store::memory::MemoryStore;

    /// A `MemoryStore` whose every operation fails while `failing` is set.
    #[derive(Debug, Default)]
    pub(crate) struct FailingStore {
        pub(crate) inner: MemoryStore,
        pub(crate) failing: AtomicBool,
    }

    impl FailingStore {
        /// Runs `next` only when not failing (the memory store works when called, not when
        /// polled).
        fn check<'a, T: Send + 'a>(
            &'a self,
            next: impl FnOnce() -> StoreFuture<'a, T>,
        ) -> StoreFuture<'a, T> {
            if self.failing.load(Ordering::SeqCst) {
                Box::pin(async { Err(StoreError::Unavailable("switched off".into())) })
            } else {
                next()
            }
        }
    }

    impl SessionStore for FailingStore {
        fn put<'a>(
            &'a self,
            kind: SessionKind,
            key: &'a str,
            value: &'a [u8],
            expires_at: i64,
        ) -> StoreFuture<'a, ()> {
            self.check(|| self.inner.put(kind, key, value, expires_at))
        }
        fn get<'a>(
            &'a self,
            kind: SessionKind,
            key: &'a str,
            now: i64,
        ) -> StoreFuture<'a, Option<Vec<u8>>> {
            self.check(|| self.inner.get(kind, key, now))
        }
        fn take<'a>(
            &'a self,
            kind: SessionKind,
            key: &'a str,
            now: i64,
        ) -> StoreFuture<'a, Option<Vec<u8>>> {
            self.check(|| self.inner.take(kind, key, now))
        }
        fn delete<'a>(&'a self, kind: SessionKind, key: &'a str) -> StoreFuture<'a, ()> {
            self.check(|| self.inner.delete(kind, key))
        }
        fn purge_expired(&self, now: i64) -> StoreFuture<'_, u64> {
            self.check(|| self.inner.purge_expired(now))
        }
    }

    impl NonceStore for FailingStore {
        fn issue_nonce<'a>(
            &'a self,
            kind: NonceKind,
            nonce: &'a str,
            expires_at: i64,
        ) -> StoreFuture<'a, ()> {
            self.check(|| self.inner.issue_nonce(kind, nonce, expires_at))
        }
        fn consume_nonce<'a>(
            &'a self,
            kind: NonceKind,
            nonce: &'a str,
            now: i64,
        ) -> StoreFuture<'a, bool> {
            self.check(|| self.inner.consume_nonce(kind, nonce, now))
        }
        fn nonce_is_live<'a>(
            &'a self,
            kind: NonceKind,
            nonce: &'a str,
            now: i64,
        ) -> StoreFuture<'a, bool> {
            self.check(|| self.inner.nonce_is_live(kind, nonce, now))
        }
        fn first_use<'a>(
            &'a self,
            scope: ReplayScope,
            id: &'a str,
            expires_at: i64,
            now: i64,
        ) -> StoreFuture<'a, bool> {
            self.check(|| self.inner.first_use(scope, id, expires_at, now))
        }
    }

    impl PreAuthorizedCodeStore for FailingStore {
        fn create_pre_authorized_code<'a>(
            &'a self,
            code: &'a NewPreAuthorizedCode,
        ) -> StoreFuture<'a, ()> {
            self.check(|| self.inner.create_pre_authorized_code(code))
        }
        fn redeem_pre_authorized_code<'a>(
            &'a self,
            code_key: &'a str,
            tx_code_key: Option<&'a str>,
            now: i64,
        ) -> StoreFuture<'a, Redemption> {
            self.check(|| {
                self.inner
                    .redeem_pre_authorized_code(code_key, tx_code_key, now)
            })
        }
    }

    impl StatusListStore for FailingStore {
        fn allocate_status<'a>(
            &'a self,
            count: u32,
            policy: &'a AllocationPolicy,
        ) -> StoreFuture<'a, Vec<StatusSlot>> {
            self.check(|| self.inner.allocate_status(count, policy))
        }
        fn status_lists(&self) -> StoreFuture<'_, Vec<u32>> {
            self.check(|| self.inner.status_lists())
        }
        fn status_list(&self, list: u32) -> StoreFuture<'_, Option<StatusListSnapshot>> {
            self.check(|| self.inner.status_list(list))
        }
    }

    impl CredentialStore for FailingStore {
        fn insert_credentials<'a>(
            &'a self,
            records: &'a [CredentialRecord],
        ) -> StoreFuture<'a, ()> {
            self.check(|| self.inner.insert_credentials(records))
        }
        fn credential<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<CredentialRecord>> {
            self.check(|| self.inner.credential(id))
        }
        fn credentials_of<'a>(
            &'a self,
            subject_key: &'a str,
        ) -> StoreFuture<'a, Vec<CredentialRecord>> {
            self.check(|| self.inner.credentials_of(subject_key))
        }
        fn set_credential_state<'a>(
            &'a self,
            id: &'a str,
            state: CredentialState,
        ) -> StoreFuture<'a, Option<CredentialRecord>> {
            self.check(|| self.inner.set_credential_state(id, state))
        }
    }

    impl DeferredStore for FailingStore {
        fn create_deferred<'a>(&'a self, record: &'a DeferredRecord) -> StoreFuture<'a, ()> {
            self.check(|| self.inner.create_deferred(record))
        }
        fn deferred<'a>(
            &'a self,
            state: Option<DeferredState>,
            now: i64,
        ) -> StoreFuture<'a, Vec<DeferredRecord>> {
            self.check(|| self.inner.deferred(state, now))
        }
        fn decide_deferred<'a>(
            &'a self,
            id: &'a str,
            approve: bool,
            now: i64,
        ) -> StoreFuture<'a, Option<DeferredRecord>> {
            self.check(|| self.inner.decide_deferred(id, approve, now))
        }
        fn poll_deferred<'a>(
            &'a self,
            transaction_key: &'a str,
            now: i64,
        ) -> StoreFuture<'a, DeferredPoll> {
            self.check(|| self.inner.poll_deferred(transaction_key, now))
        }
    }

    impl IssuerStore for FailingStore {
        fn ping(&self) -> StoreFuture<'_, ()> {
            self.check(|| self.inner.ping())
        }
    }
}

#[tokio::test]
async fn a_failing_store_is_answered_with_server_error_json() {
    use std::sync::atomic::Ordering;

    let store = Arc::new(failing::FailingStore::default());
    let minter = Arc::new(FakeMinter {
        mode: Mutex::new(Mode::Issue),
        calls: Mutex::new(Vec::new()),
    });
    let issuer = Issuer::new(
        IssuerConfig::new(ISSUER, configurations()),
        store.clone(),
        minter,
        Arc::new(ManualClock::new(NOW)),
    )
    .unwrap();
    let offer = issuer
        .create_pre_authorized_offer(SUBJECT, &[MDOC.to_owned()], false, false)
        .await
        .unwrap();
    let token_form = Harness::pre_authorized_form(&offer, None);
    store.failing.store(true, Ordering::SeqCst);

    let verifier = random_token().unwrap();
    let par_form = AuthorizationRequest {
        response_type: "code".into(),
        client_id: CLIENT.into(),
        redirect_uri: REDIRECT.into(),
        code_challenge: pkce::s256_challenge(&verifier),
        code_challenge_method: "S256".into(),
        state: None,
        scope: Some("pid_mdoc".into()),
        authorization_details: Vec::new(),
        issuer_state: None,
        dpop_jkt: None,
    }
    .to_form()
    .unwrap();
    let requests = [
        HttpRequest::new("POST", paths::NONCE),
        HttpRequest::new("POST", paths::PAR).with_form(par_form),
        HttpRequest::new("POST", paths::TOKEN).with_form(token_form),
        HttpRequest::new("POST", paths::CREDENTIAL)
            .with_json(&json!({"credential_configuration_id": MDOC}))
            .with_header("Authorization", "Bearer some-token"),
        HttpRequest::new("GET", "/credential_offer/some-id"),
    ];
    for request in requests {
        let response = issuer.handle(&request).await.unwrap();
        assert_error(&response, 500, "server_error");
        assert_eq!(
            response.json_body().unwrap()["error_description"],
            "internal error",
            "no detail leaks"
        );
    }
    assert_eq!(
        issuer
            .authorize("client_id=a&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax")
            .await,
        Err(AuthorizeError::Internal)
    );
    assert!(
        issuer
            .create_pre_authorized_offer(SUBJECT, &[MDOC.to_owned()], true, false)
            .await
            .is_err()
    );
    // Back on, the offer made before still works: nothing was spent by the failures.
    store.failing.store(false, Ordering::SeqCst);
    let response = issuer
        .handle(
            &HttpRequest::new("POST", paths::TOKEN)
                .with_form(Harness::pre_authorized_form(&offer, None)),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200, "{:?}", response.json_body());
}

#[tokio::test]
async fn key_proofs_name_the_client_the_token_was_issued_to() {
    let h = Harness::new();
    let (code, verifier) = h.authorization_code().await;
    let token = Harness::token_of(&h.token_request(Harness::code_form(&code, &verifier)).await);
    let nonce = h.c_nonce().await;
    let holder = key();
    let with_iss = |iss| ProofClaims {
        iss: Some(iss),
        aud: ISSUER,
        iat: NOW,
        nonce: Some(&nonce),
    };
    let intruder = proof::create(&holder, &with_iss("intruder"), None)
        .await
        .unwrap();
    let body = json!({"credential_configuration_id": SD_JWT, "proofs": {"jwt": [intruder]}});
    assert_error(&h.credential(&token, &body).await, 400, "invalid_proof");
    let client = proof::create(&holder, &with_iss(CLIENT), None)
        .await
        .unwrap();
    let body = json!({"credential_configuration_id": SD_JWT, "proofs": {"jwt": [client]}});
    assert_eq!(h.credential(&token, &body).await.status, 200);
}
