//! The OIDC client against the embedded MitID test provider over real HTTP on 127.0.0.1, and the
//! provider's answers to bad requests.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a setup failure should abort the test"
)]

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use aws_lc_rs::signature::RsaKeyPair;
use eudi_mitid::client::AuthorizationOptions;
use eudi_mitid::client::CallbackParams;
use eudi_mitid::client::ClientAuthMethod;
use eudi_mitid::client::ClientConfig;
use eudi_mitid::client::IdTokenError;
use eudi_mitid::client::OidcClient;
use eudi_mitid::client::OidcError;
use eudi_mitid::client::PendingLogin;
use eudi_mitid_test_provider as provider;
use eudi_mitid_test_provider::ProviderConfig;
use eudi_mitid_test_provider::ProviderState;
use eudi_mitid_test_provider::RegisteredClient;
use eudi_mitid_test_provider::store::InMemoryStore;
use eudi_mitid_test_provider::store::StoreLimits;
use eudi_pid::IdentityType;
use eudi_pid::TestIdentity;
use eudi_pid::default_test_identities;
use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::AssuranceLevel;
use eudi_trust::KeyError;
use eudi_trust::SignFuture;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::VerifyingKey;
use eudi_trust::b64;
use eudi_trust::clock::ManualClock;
use eudi_trust::jws::JwsError;
use serde_json::Value;

const SECRET: &str = "test secret: with reserved & characters";
const CONFIDENTIAL: &str = "pid-issuer";
const POST_CLIENT: &str = "pid-issuer-post";
const PUBLIC: &str = "wallet-public";
const OTHER: &str = "another-rp";

struct Harness {
    base: String,
    issuer: String,
    callback: String,
    state: ProviderState,
    clock: Arc<ManualClock>,
    browser: reqwest::Client,
    /// The store, when the test chose its limits.
    store: Option<Arc<InMemoryStore>>,
}

struct Options {
    signer: Option<Arc<dyn Signer>>,
    limits: Option<StoreLimits>,
}

async fn start() -> Harness {
    start_with(Options {
        signer: None,
        limits: None,
    })
    .await
}

async fn start_with(options: Options) -> Harness {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Mounted under a prefix, as the issuer will.
    let issuer = format!("{base}/mitid");
    let callback = format!("{base}/callback");
    let config = ProviderConfig::new(
        issuer.clone(),
        vec![
            RegisteredClient::confidential(CONFIDENTIAL, SECRET, [callback.clone()]),
            RegisteredClient::confidential(POST_CLIENT, SECRET, [callback.clone()]),
            RegisteredClient::public(PUBLIC, [callback.clone()]),
            RegisteredClient::confidential(OTHER, "other secret", [callback.clone()]),
        ],
    );
    let clock = Arc::new(ManualClock::at_system_time());
    let mut builder =
        ProviderState::builder(config, default_test_identities()).clock(clock.clone());
    if let Some(signer) = options.signer {
        builder = builder.signer(signer);
    }
    let store = options
        .limits
        .map(|limits| Arc::new(InMemoryStore::with_limits(clock.clone(), limits)));
    if let Some(store) = &store {
        builder = builder.store(store.clone());
    }
    let state = builder.build().unwrap();
    let router = axum::Router::new().nest("/mitid", provider::app(state.clone()));
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Harness {
        base,
        issuer,
        callback,
        state,
        clock,
        browser,
        store,
    }
}

impl Harness {
    fn config(&self, client_id: &str, method: ClientAuthMethod) -> ClientConfig {
        let mut config = ClientConfig::new(self.issuer.clone(), client_id, self.callback.clone());
        // The provider runs on http://127.0.0.1: the dev/test switch.
        config.allow_private_network = true;
        match method {
            ClientAuthMethod::None => {
                let mut config = config;
                config.auth_method = ClientAuthMethod::None;
                config
            }
            method => {
                let secret = if client_id == OTHER {
                    "other secret"
                } else {
                    SECRET
                };
                config.with_secret(secret, method)
            }
        }
    }

    async fn client(&self, client_id: &str, method: ClientAuthMethod) -> OidcClient {
        OidcClient::discover(self.config(client_id, method))
            .await
            .unwrap()
    }

    /// Opens the authorization URL, checks the login page and returns the form's action.
    async fn open_login_page(&self, url: &str) -> String {
        let response = self.browser.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let page = response.text().await.unwrap();
        assert!(!page.to_lowercase().contains("<script"));
        form_action(&page)
    }

    /// POSTs `username` to the form's action, as a browser or script does.
    async fn post_username(&self, action: &str, username: &str) -> reqwest::Response {
        self.browser
            .post(action)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("username={}", urlencode(username)))
            .send()
            .await
            .unwrap()
    }

    /// The whole browser side: authorization URL → login page → POST username → callback.
    async fn browser_login(
        &self,
        client: &OidcClient,
        username: &str,
        options: &AuthorizationOptions,
    ) -> (PendingLogin, CallbackParams) {
        let request = client.authorization_request(options).unwrap();
        let action = self.open_login_page(request.url.as_str()).await;
        let response = self.post_username(&action, username).await;
        assert_eq!(response.status(), 303, "login of {username} must redirect");
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(&self.callback), "{location}");
        let url = url::Url::parse(&location).unwrap();
        (request.pending, CallbackParams::from_url(&url).unwrap())
    }

    async fn code_for(&self, client: &OidcClient, username: &str) -> (PendingLogin, String) {
        let (pending, callback) = self
            .browser_login(client, username, &AuthorizationOptions::default())
            .await;
        (pending, callback.code.unwrap())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn form_action(page: &str) -> String {
    let start = page
        .find("<form method=\"post\" action=\"")
        .expect("a POST form")
        + "<form method=\"post\" action=\"".len();
    let end = page[start..].find('"').unwrap() + start;
    page[start..end].replace("&amp;", "&")
}

fn identity(username: &str) -> TestIdentity {
    default_test_identities()
        .into_iter()
        .find(|i| i.username == username)
        .unwrap()
}

async fn json_error(response: reqwest::Response, status: u16) -> (String, String) {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_str().expect("error").to_owned();
    let description = body["error_description"]
        .as_str()
        .expect("error_description")
        .to_owned();
    assert!(!description.is_empty());
    (error, description)
}

fn token_refused(result: Result<impl std::fmt::Debug, OidcError>) -> (u16, String, String) {
    match result {
        Err(OidcError::TokenRefused {
            status,
            error,
            description,
        }) => (status, error, description.unwrap_or_default()),
        other => panic!("expected a token error, got {other:?}"),
    }
}

#[tokio::test]
async fn every_default_identity_logs_in_over_http() {
    let h = start().await;
    let mut config = h.config(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic);
    config.fetch_userinfo = true;
    let client = OidcClient::discover(config).await.unwrap();
    let identities = default_test_identities();
    assert!(identities.len() >= 8);
    for identity in &identities {
        let (pending, callback) = h
            .browser_login(
                &client,
                &identity.username,
                &AuthorizationOptions::level(AssuranceLevel::Substantial),
            )
            .await;
        assert_eq!(callback.state.as_deref(), Some(pending.state()));
        assert_eq!(callback.iss.as_deref(), Some(h.issuer.as_str()));
        let verified = client.complete(&pending, &callback).await.unwrap();
        let login = verified.login().unwrap();
        let who = &identity.username;

        assert_eq!(login.subject, identity.uuid, "{who}");
        assert_eq!(login.loa, identity.level(), "{who}");
        assert_eq!(login.identity_type, identity.identity_type, "{who}");
        assert_eq!(login.cpr, identity.cpr, "{who}");
        assert_eq!(login.name.as_deref(), Some(identity.name.as_str()), "{who}");
        assert_eq!(login.birth_date, Some(identity.birth_date), "{who}");
        // No broker sends the P code; everything else is what the identity's login should be.
        assert_eq!(
            login,
            eudi_pid::MitIdLogin {
                pcode: None,
                ..identity.to_login()
            },
            "{who}"
        );

        let claims = &verified.id_token_claims.claims;
        assert_eq!(claims["sub"], identity.uuid.as_str());
        assert_eq!(claims["identity_type"], identity.identity_type.as_str());
        let has_cpr = if identity.cpr.is_some() {
            "true"
        } else {
            "false"
        };
        assert_eq!(claims["mitid.has_cpr"], has_cpr, "{who}");
        assert_eq!(
            claims.contains_key("dk.cpr"),
            identity.cpr.is_some(),
            "{who}"
        );
        // Userinfo says the same.
        let userinfo = verified.userinfo.as_ref().unwrap();
        assert_eq!(userinfo["sub"], identity.uuid.as_str());
        assert_eq!(userinfo["loa"], claims["loa"]);
        assert_eq!(userinfo.get("dk.cpr"), claims.get("dk.cpr"));
    }

    let pcode = identity("pcode");
    assert!(pcode.cpr.is_none() && pcode.pcode.is_some());
    let erhverv = identity("erhverv");
    assert_eq!(erhverv.identity_type, IdentityType::Professional);
    assert!(identities.iter().any(|i| i.level() == AssuranceLevel::High));
    assert!(identities.iter().any(|i| i.level() == AssuranceLevel::Low));
}

#[tokio::test]
async fn erhverv_with_the_nemlogin_scope() {
    let h = start().await;
    let mut config = h.config(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic);
    config.scopes.push("nemlogin".into());
    let client = OidcClient::discover(config).await.unwrap();
    let (pending, callback) = h
        .browser_login(&client, "erhverv", &AuthorizationOptions::default())
        .await;
    let verified = client.complete(&pending, &callback).await.unwrap();
    let claims = &verified.id_token_claims.claims;
    assert_eq!(claims["identity_type"], "professional");
    assert_eq!(claims["nemlogin.cvr"], "31415926");
    let login = verified.login().unwrap();
    assert_eq!(login.identity_type, IdentityType::Professional);
    assert_eq!(login.subject, identity("erhverv").uuid);
}

#[tokio::test]
async fn client_secret_post_and_public_clients() {
    let h = start().await;
    for (client_id, method) in [
        (POST_CLIENT, ClientAuthMethod::ClientSecretPost),
        (PUBLIC, ClientAuthMethod::None),
    ] {
        let client = h.client(client_id, method).await;
        let (pending, callback) = h
            .browser_login(&client, "high", &AuthorizationOptions::default())
            .await;
        let login = client
            .complete(&pending, &callback)
            .await
            .unwrap()
            .login()
            .unwrap();
        assert_eq!(login.loa, AssuranceLevel::High);
    }
}

#[tokio::test]
async fn user_ids_are_case_insensitive_and_trimmed() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (pending, callback) = h
        .browser_login(&client, "  Substantial ", &AuthorizationOptions::default())
        .await;
    let login = client
        .complete(&pending, &callback)
        .await
        .unwrap()
        .login()
        .unwrap();
    assert_eq!(login.subject, identity("substantial").uuid);
}

#[tokio::test]
async fn wrong_pkce_verifier_is_invalid_grant() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (_, code) = h.code_for(&client, "substantial").await;
    // Another login's verifier.
    let other = client
        .authorization_request(&AuthorizationOptions::default())
        .unwrap()
        .pending;
    let (status, error, description) = token_refused(client.exchange_code(&other, &code).await);
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert!(description.contains("code_verifier"), "{description}");
}

#[tokio::test]
async fn reused_code_is_refused() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (pending, code) = h.code_for(&client, "substantial").await;
    client.exchange_code(&pending, &code).await.unwrap();
    let (status, error, _) = token_refused(client.exchange_code(&pending, &code).await);
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
}

#[tokio::test]
async fn expired_code_is_refused() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await
        .with_clock(h.clock.clone());
    let (pending, code) = h.code_for(&client, "substantial").await;
    h.clock.advance(61);
    let (status, error, description) = token_refused(client.exchange_code(&pending, &code).await);
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert!(description.contains("expired"), "{description}");

    // Within its lifetime, the code works.
    let (pending, code) = h.code_for(&client, "substantial").await;
    h.clock.advance(59);
    client.exchange_code(&pending, &code).await.unwrap();
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let h = start().await;
    // Basic: 401 with a challenge (RFC 6749 §5.2).
    let honest = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (pending, code) = h.code_for(&honest, "substantial").await;
    let mut config = h.config(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic);
    config = config.with_secret("wrong", ClientAuthMethod::ClientSecretBasic);
    let liar = OidcClient::discover(config).await.unwrap();
    let (status, error, _) = token_refused(liar.exchange_code(&pending, &code).await);
    assert_eq!((status, error.as_str()), (401, "invalid_client"));

    // Post: 400.
    let honest = h
        .client(POST_CLIENT, ClientAuthMethod::ClientSecretPost)
        .await;
    let (pending, code) = h.code_for(&honest, "substantial").await;
    let config = h
        .config(POST_CLIENT, ClientAuthMethod::ClientSecretPost)
        .with_secret("wrong", ClientAuthMethod::ClientSecretPost);
    let liar = OidcClient::discover(config).await.unwrap();
    let (status, error, _) = token_refused(liar.exchange_code(&pending, &code).await);
    assert_eq!((status, error.as_str()), (400, "invalid_client"));

    // The raw answer: JSON, and WWW-Authenticate for Basic.
    let response = h
        .browser
        .post(h.url("/token"))
        .basic_auth(CONFIDENTIAL, Some("wrong"))
        .form_body("grant_type=authorization_code&code=x&redirect_uri=y&code_verifier=z")
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let (error, _) = json_error(response, 401).await;
    assert_eq!(error, "invalid_client");

    // A confidential client without its secret, and a public client with one.
    for body in [
        format!(
            "grant_type=authorization_code&client_id={CONFIDENTIAL}&code=x&redirect_uri=y&code_verifier=z"
        ),
        format!(
            "grant_type=authorization_code&client_id={PUBLIC}&client_secret=s&code=x&redirect_uri=y&code_verifier=z"
        ),
    ] {
        let response = h
            .browser
            .post(h.url("/token"))
            .form_body(body)
            .send()
            .await
            .unwrap();
        let (error, _) = json_error(response, 400).await;
        assert_eq!(error, "invalid_client");
    }
}

#[tokio::test]
async fn tampered_id_token_signature_is_rejected() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (pending, callback) = h
        .browser_login(&client, "substantial", &AuthorizationOptions::default())
        .await;
    let verified = client.complete(&pending, &callback).await.unwrap();
    let token = verified.id_token.clone();
    client
        .validate_id_token(&token, pending.nonce(), None)
        .await
        .unwrap();

    // A flipped bit in the signature.
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let mut sig = b64::decode(signature).unwrap();
    sig[5] ^= 1;
    let tampered = format!("{signing_input}.{}", b64::encode(&sig));
    let err = client
        .validate_id_token(&tampered, pending.nonce(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::IdToken(IdTokenError::BadSignature)),
        "{err}"
    );

    // A changed claim under the old signature.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims: Value = serde_json::from_slice(&b64::decode(&parts[1]).unwrap()).unwrap();
    claims["loa"] = "https://data.gov.dk/concept/core/nsis/High".into();
    parts[1] = b64::encode(serde_json::to_vec(&claims).unwrap());
    let err = client
        .validate_id_token(&parts.join("."), pending.nonce(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::IdToken(IdTokenError::BadSignature)),
        "{err}"
    );

    // alg none, and a token signed by someone else's key with the provider's kid.
    let header: Value = serde_json::from_slice(&b64::decode(&parts[0]).unwrap()).unwrap();
    let none = format!(
        "{}.{}.",
        b64::encode(r#"{"alg":"none","typ":"JWT"}"#),
        token.split('.').nth(1).unwrap()
    );
    let err = client
        .validate_id_token(&none, pending.nonce(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            OidcError::IdToken(IdTokenError::Algorithm(JwsError::UnsupportedAlgorithm(_)))
        ),
        "{err}"
    );
    let forger = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let mut forged_header = eudi_trust::jws::Header::new(Algorithm::Es256, Some("JWT"));
    forged_header.kid = header["kid"].as_str().map(str::to_owned);
    let forged = eudi_trust::jws::sign_compact(
        &forged_header,
        &b64::decode(token.split('.').nth(1).unwrap()).unwrap(),
        &forger,
    )
    .await
    .unwrap();
    let err = client
        .validate_id_token(&forged, pending.nonce(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::IdToken(IdTokenError::BadSignature)),
        "{err}"
    );

    // The access token does not match at_hash.
    let err = client
        .validate_id_token(&token, pending.nonce(), Some("another access token"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::IdToken(IdTokenError::AccessTokenHash)),
        "{err}"
    );
}

#[tokio::test]
async fn wrong_nonce_is_rejected() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (pending, callback) = h
        .browser_login(&client, "substantial", &AuthorizationOptions::default())
        .await;
    let verified = client.complete(&pending, &callback).await.unwrap();
    let err = client
        .validate_id_token(&verified.id_token, "another nonce", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::IdToken(IdTokenError::NonceMismatch)),
        "{err}"
    );

    // The code of one login completed with another login's pending state: the nonce differs.
    let (_, code) = h.code_for(&client, "substantial").await;
    let other = client
        .authorization_request(&AuthorizationOptions::default())
        .unwrap()
        .pending;
    // (PKCE already refuses that exchange; the nonce check is the ID token's own defence.)
    assert!(client.exchange_code(&other, &code).await.is_err());
}

#[tokio::test]
async fn wrong_audience_is_rejected() {
    let h = start().await;
    let ours = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let theirs = h.client(OTHER, ClientAuthMethod::ClientSecretBasic).await;
    let (pending, callback) = h
        .browser_login(&theirs, "substantial", &AuthorizationOptions::default())
        .await;
    let verified = theirs.complete(&pending, &callback).await.unwrap();
    // A token issued to another relying party is not ours, even with the right nonce.
    let err = ours
        .validate_id_token(&verified.id_token, pending.nonce(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::IdToken(IdTokenError::WrongAudience)),
        "{err}"
    );
}

#[tokio::test]
async fn expired_and_future_id_tokens_are_rejected() {
    let h = start().await;
    let client_clock = Arc::new(ManualClock::at_system_time());
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await
        .with_clock(client_clock.clone());
    let (pending, callback) = h
        .browser_login(&client, "substantial", &AuthorizationOptions::default())
        .await;
    let token = client.complete(&pending, &callback).await.unwrap().id_token;
    client_clock.advance(600 + 60);
    let err = client
        .validate_id_token(&token, pending.nonce(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::IdToken(IdTokenError::Expired { .. })),
        "{err}"
    );
    client_clock.advance(-(600 + 60) - 120);
    let err = client
        .validate_id_token(&token, pending.nonce(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::IdToken(IdTokenError::IssuedAt { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_user_gets_the_form_again() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let request = client
        .authorization_request(&AuthorizationOptions::default())
        .unwrap();
    let action = h.open_login_page(request.url.as_str()).await;

    let response = h.post_username(&action, "nobody<b>").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("There is no test identity with the user ID"));
    assert!(page.contains("nobody&lt;b&gt;"));
    assert_eq!(form_action(&page), action);

    let response = h.post_username(&action, "").await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Enter the user ID"));

    // A client that accepts only JSON gets an OAuth error instead.
    let response = h
        .browser
        .post(&action)
        .header("accept", "application/json")
        .form_body("username=nobody")
        .send()
        .await
        .unwrap();
    let (error, _) = json_error(response, 400).await;
    assert_eq!(error, "access_denied");

    // The same request still logs a known identity in.
    let response = h.post_username(&action, "substantial").await;
    assert_eq!(response.status(), 303);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let callback = CallbackParams::from_url(&location).unwrap();
    client.complete(&request.pending, &callback).await.unwrap();

    // ... once: the request is used up.
    let response = h.post_username(&action, "substantial").await;
    let (error, _) = json_error(response, 400).await;
    assert_eq!(error, "invalid_request");
}

#[tokio::test]
async fn malformed_authorization_requests_are_json_400() {
    let h = start().await;
    let cb = urlencode(&h.callback);
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let good = format!(
        "response_type=code&client_id={CONFIDENTIAL}&redirect_uri={cb}&scope=openid+mitid&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256"
    );
    let response = h
        .browser
        .get(format!("{}?{good}", h.url("/authorize")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The same request as a POST form (OpenID Connect Core 1.0 §3.1.2.1).
    let response = h
        .browser
        .post(h.url("/authorize"))
        .form_body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = h
        .browser
        .post(h.url("/authorize"))
        .form_body(format!("{good}&scope=again"))
        .send()
        .await
        .unwrap();
    json_error(response, 400).await;

    let without = |name: &str| -> String {
        good.split('&')
            .filter(|p| !p.starts_with(&format!("{name}=")))
            .collect::<Vec<_>>()
            .join("&")
    };
    let replace =
        |name: &str, value: &str| -> String { format!("{}&{name}={value}", without(name)) };
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "invalid_request"),
        (without("client_id"), "invalid_request"),
        (replace("client_id", "unknown"), "invalid_request"),
        (without("redirect_uri"), "invalid_request"),
        (
            replace("redirect_uri", &urlencode("https://evil.example/cb")),
            "invalid_request",
        ),
        (without("response_type"), "invalid_request"),
        (
            replace("response_type", "token"),
            "unsupported_response_type",
        ),
        (without("scope"), "invalid_request"),
        (replace("scope", "mitid"), "invalid_scope"),
        (without("code_challenge"), "invalid_request"),
        (without("code_challenge_method"), "invalid_request"),
        (replace("code_challenge_method", "plain"), "invalid_request"),
        (replace("code_challenge", "short"), "invalid_request"),
        (format!("{good}&state=again"), "invalid_request"),
        (replace("state", &"x".repeat(2000)), "invalid_request"),
        (format!("{good}&request=eyJ"), "request_not_supported"),
        (replace("client_id", "%FF"), "invalid_request"),
    ];
    for (query, expected) in cases {
        let response = h
            .browser
            .get(format!("{}?{query}", h.url("/authorize")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let (error, _) = json_error(response, 400).await;
        assert_eq!(error, expected, "{query}");
    }

    // prompt=none cannot be honoured without a session: an error back to the client.
    let response = h
        .browser
        .get(format!("{}?{good}&prompt=none", h.url("/authorize")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.contains("error=login_required"), "{location}");
    assert!(location.contains("state=s"), "{location}");
}

#[tokio::test]
async fn provider_errors_reach_the_client_as_authorization_denied() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let mut options = AuthorizationOptions::default();
    options.prompt = Some("none".into());
    let request = client.authorization_request(&options).unwrap();
    let response = h.browser.get(request.url.as_str()).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let callback = CallbackParams::from_url(&location).unwrap();
    let err = client
        .complete(&request.pending, &callback)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::AuthorizationDenied { error, .. } if error == "login_required"),
        "{err}"
    );
}

#[tokio::test]
async fn callback_state_and_issuer_are_checked() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (pending, callback) = h
        .browser_login(&client, "substantial", &AuthorizationOptions::default())
        .await;
    let mut wrong_state = callback.clone();
    wrong_state.state = Some("forged".into());
    assert!(matches!(
        client.complete(&pending, &wrong_state).await,
        Err(OidcError::StateMismatch)
    ));
    let mut no_state = callback.clone();
    no_state.state = None;
    assert!(matches!(
        client.complete(&pending, &no_state).await,
        Err(OidcError::StateMismatch)
    ));
    let mut wrong_iss = callback.clone();
    wrong_iss.iss = Some("https://evil.example".into());
    assert!(matches!(
        client.complete(&pending, &wrong_iss).await,
        Err(OidcError::IssuerMismatch)
    ));
    let mut no_iss = callback.clone();
    no_iss.iss = None;
    // The provider announces RFC 9207, so a missing iss is a mix-up too.
    assert!(matches!(
        client.complete(&pending, &no_iss).await,
        Err(OidcError::IssuerMismatch)
    ));
    let mut no_code = callback.clone();
    no_code.code = None;
    assert!(matches!(
        client.complete(&pending, &no_code).await,
        Err(OidcError::MissingCode)
    ));
    client.complete(&pending, &callback).await.unwrap();
}

#[tokio::test]
async fn malformed_token_requests_are_json_errors() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (_, code) = h.code_for(&client, "substantial").await;
    let cb = urlencode(&h.callback);
    let verifier = "a".repeat(43);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "invalid_request"),
        (
            format!("code={code}&redirect_uri={cb}&code_verifier={verifier}"),
            "invalid_request",
        ),
        (
            format!("grant_type=password&code={code}"),
            "unsupported_grant_type",
        ),
        (
            format!("grant_type=authorization_code&redirect_uri={cb}&code_verifier={verifier}"),
            "invalid_request",
        ),
        (
            format!("grant_type=authorization_code&code={code}&code_verifier={verifier}"),
            "invalid_request",
        ),
        (
            format!("grant_type=authorization_code&code={code}&redirect_uri={cb}"),
            "invalid_request",
        ),
        (
            format!(
                "grant_type=authorization_code&code={code}&redirect_uri={cb}&code_verifier=short"
            ),
            "invalid_request",
        ),
        (
            format!(
                "grant_type=authorization_code&code=unknown&redirect_uri={cb}&code_verifier={verifier}"
            ),
            "invalid_grant",
        ),
        (
            format!("grant_type=authorization_code&grant_type=authorization_code&code={code}"),
            "invalid_request",
        ),
    ];
    for (body, expected) in cases {
        let response = h
            .browser
            .post(h.url("/token"))
            .basic_auth(CONFIDENTIAL, Some(urlencode(SECRET)))
            .form_body(body.clone())
            .send()
            .await
            .unwrap();
        let (error, _) = json_error(response, 400).await;
        assert_eq!(error, expected, "{body}");
    }

    // The redirect URI must be the authorization request's.
    let (pending, code) = h.code_for(&client, "substantial").await;
    let _ = pending;
    let response = h
        .browser
        .post(h.url("/token"))
        .basic_auth(CONFIDENTIAL, Some(urlencode(SECRET)))
        .form_body(format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
            urlencode(&format!("{}/other", h.base))
        ))
        .send()
        .await
        .unwrap();
    let (error, _) = json_error(response, 400).await;
    assert_eq!(error, "invalid_grant");

    // Not a form, and no client authentication at all.
    let response = h
        .browser
        .post(h.url("/token"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let (error, _) = json_error(response, 400).await;
    assert_eq!(error, "invalid_request");
    let response = h
        .browser
        .post(h.url("/token"))
        .form_body(format!("grant_type=authorization_code&code={code}"))
        .send()
        .await
        .unwrap();
    let (error, _) = json_error(response, 401).await;
    assert_eq!(error, "invalid_client");

    // A body over the limit.
    let response = h
        .browser
        .post(h.url("/token"))
        .form_body(format!(
            "grant_type=authorization_code&code={}",
            "x".repeat(100_000)
        ))
        .send()
        .await
        .unwrap();
    let (error, _) = json_error(response, 413).await;
    assert_eq!(error, "invalid_request");
}

#[tokio::test]
async fn login_endpoint_rejects_unknown_requests() {
    let h = start().await;
    for (query, body) in [
        ("", "username=substantial"),
        ("?request=unknown", "username=substantial"),
        ("?request=a&request=b", "username=substantial"),
    ] {
        let response = h
            .browser
            .post(format!("{}{query}", h.url("/login")))
            .form_body(body)
            .send()
            .await
            .unwrap();
        let (error, _) = json_error(response, 400).await;
        assert_eq!(error, "invalid_request", "{query}");
    }
    // An expired login page.
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let request = client
        .authorization_request(&AuthorizationOptions::default())
        .unwrap();
    let action = h.open_login_page(request.url.as_str()).await;
    h.clock.advance(901);
    let (error, description) = json_error(h.post_username(&action, "substantial").await, 400).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("expired"), "{description}");
}

#[tokio::test]
async fn userinfo_needs_a_valid_bearer_token() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (pending, callback) = h
        .browser_login(&client, "high", &AuthorizationOptions::default())
        .await;
    let verified = client.complete(&pending, &callback).await.unwrap();
    let claims = client
        .userinfo(&verified.access_token, &verified.id_token_claims.subject)
        .await
        .unwrap();
    assert_eq!(
        claims["mitid.identity_name"],
        identity("high").name.as_str()
    );
    assert!(matches!(
        client
            .userinfo(&verified.access_token, "someone else")
            .await,
        Err(OidcError::UserinfoSubjectMismatch)
    ));

    for authorization in [
        None,
        Some("Bearer nope"),
        Some("Basic abc"),
        Some("Bearer "),
    ] {
        let mut request = h.browser.get(h.url("/userinfo"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        let (error, _) = json_error(response, 401).await;
        assert_eq!(error, "invalid_token");
    }

    h.clock.advance(601);
    let response = h
        .browser
        .post(h.url("/userinfo"))
        .bearer_auth(verified.access_token.expose())
        .send()
        .await
        .unwrap();
    let (error, _) = json_error(response, 401).await;
    assert_eq!(error, "invalid_token");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json() {
    let h = start().await;
    let response = h.browser.get(h.url("/nope")).send().await.unwrap();
    json_error(response, 404).await;
    let response = h.browser.get(h.url("/token")).send().await.unwrap();
    json_error(response, 405).await;
    let response = h.browser.delete(h.url("/authorize")).send().await.unwrap();
    json_error(response, 405).await;
}

#[tokio::test]
async fn discovery_and_jwks() {
    let h = start().await;
    let metadata: Value = h
        .browser
        .get(h.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], h.issuer.as_str());
    assert_eq!(metadata["token_endpoint"], h.url("/token").as_str());
    assert_eq!(metadata["code_challenge_methods_supported"][0], "S256");
    assert_eq!(
        metadata["id_token_signing_alg_values_supported"][0],
        "ES256"
    );
    let jwks = h.browser.get(h.url("/jwks")).send().await.unwrap();
    assert_eq!(jwks.headers()["content-type"], "application/jwk-set+json");
    let jwks: Value = jwks.json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert_eq!(jwks["keys"][0]["use"], "sig");
    assert!(jwks["keys"][0].get("d").is_none());

    // The issuer is compared exactly (OpenID Connect Discovery 1.0 §4.3).
    let mut config = ClientConfig::new(format!("{}/", h.issuer), CONFIDENTIAL, h.callback.clone())
        .with_secret(SECRET, ClientAuthMethod::ClientSecretBasic);
    config.allow_private_network = true;
    assert!(matches!(
        OidcClient::discover(config).await,
        Err(OidcError::Discovery(_))
    ));
    // Nothing listens there: a network error, not a panic.
    let mut config =
        ClientConfig::new("http://127.0.0.1:9/mitid", CONFIDENTIAL, h.callback.clone())
            .with_secret(SECRET, ClientAuthMethod::ClientSecretBasic);
    config.allow_private_network = true;
    assert!(matches!(
        OidcClient::discover(config.clone()).await,
        Err(OidcError::Http { .. })
    ));
    // Without the dev/test switch the loopback provider is not even asked.
    config.allow_private_network = false;
    assert!(matches!(
        OidcClient::discover(config).await,
        Err(OidcError::UrlRefused { .. })
    ));
}

#[tokio::test]
async fn key_rotation_refetches_the_jwks_at_most_so_often() {
    let h = start().await;
    // The client shares the provider's clock.
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await
        .with_clock(h.clock.clone());
    let (pending, callback) = h
        .browser_login(&client, "substantial", &AuthorizationOptions::default())
        .await;
    client.complete(&pending, &callback).await.unwrap();

    h.state
        .rotate_signing_key(Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap()));
    assert_eq!(h.state.jwks()["keys"].as_array().unwrap().len(), 2);

    // An unknown kid right after a download: not fetched again yet.
    let (pending, callback) = h
        .browser_login(&client, "substantial", &AuthorizationOptions::default())
        .await;
    let err = client.complete(&pending, &callback).await.unwrap_err();
    assert!(
        matches!(err, OidcError::IdToken(IdTokenError::UnknownKey { .. })),
        "{err}"
    );
    // Later, the unknown kid makes the client fetch the JWKS again.
    h.clock.advance(31);
    let (pending, callback) = h
        .browser_login(&client, "substantial", &AuthorizationOptions::default())
        .await;
    client.complete(&pending, &callback).await.unwrap();
}

/// An RS256 signer, as MitID brokers sign their ID tokens (test only: nothing in the workspace
/// signs with RSA).
struct RsaSigner {
    pair: RsaKeyPair,
    public: VerifyingKey,
}

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaSigner")
    }
}

impl RsaSigner {
    fn generate() -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let public = VerifyingKey::from_rsa_components(
            pair.public_key()
                .modulus()
                .big_endian_without_leading_zero(),
            pair.public_key()
                .exponent()
                .big_endian_without_leading_zero(),
        )
        .unwrap();
        Self { pair, public }
    }
}

impl Signer for RsaSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Rs256
    }

    fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        let signed = self
            .pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map(|()| signature)
            .map_err(|_| KeyError::SigningFailed("RSA".into()));
        SignFuture::ready(signed)
    }
}

#[tokio::test]
async fn rs256_id_tokens_verify_with_the_oidc_policy_only() {
    let h = start_with(Options {
        signer: Some(Arc::new(RsaSigner::generate())),
        limits: None,
    })
    .await;
    let jwks = h.state.jwks();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");

    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (pending, callback) = h
        .browser_login(&client, "high", &AuthorizationOptions::default())
        .await;
    let verified = client.complete(&pending, &callback).await.unwrap();
    assert_eq!(verified.login().unwrap().loa, AssuranceLevel::High);

    // A client that allows ES256 only refuses the same provider's tokens.
    let mut config = h.config(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic);
    config.algorithms = AlgorithmPolicy::default();
    let strict = OidcClient::discover(config).await.unwrap();
    let (pending, callback) = h
        .browser_login(&strict, "high", &AuthorizationOptions::default())
        .await;
    let err = strict.complete(&pending, &callback).await.unwrap_err();
    assert!(
        matches!(
            err,
            OidcError::IdToken(IdTokenError::Algorithm(JwsError::AlgorithmNotAllowed(
                Algorithm::Rs256
            )))
        ),
        "{err}"
    );
}

#[tokio::test]
async fn authorization_url_asks_for_the_level() {
    let h = start().await;
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let request = client
        .authorization_request(&AuthorizationOptions::level(AssuranceLevel::High))
        .unwrap();
    let params: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
    assert_eq!(
        params["acr_values"],
        "https://data.gov.dk/concept/core/nsis/loa/High"
    );
    assert!(request.url.as_str().starts_with(&h.url("/authorize")));
    // The test provider states the identity's own level; the relying party decides.
    let action = h.open_login_page(request.url.as_str()).await;
    let response = h.post_username(&action, "substantial").await;
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let callback = CallbackParams::from_url(&location).unwrap();
    let login = client
        .complete(&request.pending, &callback)
        .await
        .unwrap()
        .login()
        .unwrap();
    assert_eq!(login.loa, AssuranceLevel::Substantial);
    assert_eq!(
        request.pending.requested_level(),
        Some(AssuranceLevel::High)
    );
}

/// reqwest without its `form` feature: a form body by hand.
trait FormBody {
    fn form_body(self, body: impl Into<String>) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, body: impl Into<String>) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body.into())
    }
}

#[tokio::test]
async fn a_flood_of_authorize_from_one_client_locks_out_no_one_else() {
    // Issue 8 §1: pending logins are limited per client (5 here) below the total (12), and
    // expired ones are evicted.
    let h = start_with(Options {
        signer: None,
        limits: Some(StoreLimits::new(12, 5)),
    })
    .await;
    let store = h.store.clone().unwrap();
    let cb = urlencode(&h.callback);
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let authorize = |client_id: &str| {
        format!(
            "{}?response_type=code&client_id={client_id}&redirect_uri={cb}&scope=openid&code_challenge={challenge}&code_challenge_method=S256",
            h.url("/authorize")
        )
    };
    let mut answered = 0;
    for _ in 0..40 {
        let response = h.browser.get(authorize(OTHER)).send().await.unwrap();
        if response.status() == 200 {
            answered += 1;
        } else {
            let (error, _) = json_error(response, 503).await;
            assert_eq!(error, "temporarily_unavailable");
        }
    }
    assert_eq!(answered, 5);
    // Memory stays bounded by the client's limit, whatever the flood.
    assert_eq!(store.pending_logins(), 5);

    // Another client logs in from start to end.
    let client = h
        .client(CONFIDENTIAL, ClientAuthMethod::ClientSecretBasic)
        .await;
    let (pending, callback) = h
        .browser_login(&client, "substantial", &AuthorizationOptions::default())
        .await;
    let login = client.complete(&pending, &callback).await.unwrap();
    assert_eq!(login.login().unwrap().loa, identity("substantial").level());

    // The flooding client is still at its limit until its requests expire ...
    let response = h.browser.get(authorize(OTHER)).send().await.unwrap();
    json_error(response, 503).await;
    // ... then they are evicted and a fresh login request of that client works.
    h.clock
        .advance(i64::try_from(provider::DEFAULT_LOGIN_LIFETIME.as_secs()).unwrap() + 1);
    let response = h.browser.get(authorize(OTHER)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(store.pending_logins(), 1);
}
