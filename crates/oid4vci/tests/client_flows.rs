//! The wallet client against a scripted issuer that checks what it receives with the real
//! verification code: DPoP proofs with `eudi_oauth::dpop::verify_proof` (server nonces, `ath`,
//! key binding), key proofs with `eudi_oid4vci::proof::verify`, PKCE with
//! `eudi_oauth::pkce::verify_s256`, and encryption with `eudi_trust::jwe` both ways.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a setup failure or an unexpected request should abort the test"
)]

use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;

use eudi_http::HttpClient;
use eudi_http::HttpError;
use eudi_http::HttpFuture;
use eudi_http::Request;
use eudi_http::Response;
use eudi_http::UrlPolicy;
use eudi_oauth::ErrorCode;
use eudi_oauth::Form;
use eudi_oauth::OAuthError;
use eudi_oauth::client_attestation;
use eudi_oauth::dpop;
use eudi_oauth::pkce;
use eudi_oid4vci::client::AuthorizationStart;
use eudi_oid4vci::client::ClientConfig;
use eudi_oid4vci::client::ClientError;
use eudi_oid4vci::client::CredentialOutcome;
use eudi_oid4vci::client::DpopKey;
use eudi_oid4vci::client::EncryptResponse;
use eudi_oid4vci::client::IssuerClient;
use eudi_oid4vci::client::PendingAuthorization;
use eudi_oid4vci::client::resolve_offer;
use eudi_oid4vci::messages::CredentialRequest;
use eudi_oid4vci::messages::NotificationEvent;
use eudi_oid4vci::offer::CredentialOffer;
use eudi_oid4vci::proof;
use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::Clock;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::SystemClock;
use eudi_trust::jwe;
use eudi_trust::jwe::ContentEncryption;
use eudi_trust::jwe::DecryptionKey;
use serde_json::Value;
use serde_json::json;

const ISSUER: &str = "https://issuer.example";
const CLIENT_ID: &str = "wallet-client";
const REDIRECT: &str = "https://wallet.example/cb";
const PRE_CODE: &str = "pre-authorized-code-1";
const TX_CODE: &str = "493536";
const SD_JWT_ID: &str = "pid-sd-jwt";
const MDOC_ID: &str = "pid-mdoc";
const PID_VCT: &str = "urn:eudi:pid:1";
const PID_DOCTYPE: &str = "eu.europa.ec.eudi.pid.1";

/// What the scripted issuer does differently per test.
#[derive(Default, Clone)]
struct Knobs {
    /// `credential_issuer` written in the metadata instead of [`ISSUER`].
    metadata_issuer: Option<String>,
    /// `issuer` written in the authorization server metadata instead of [`ISSUER`].
    as_issuer: Option<String>,
    /// Answer the token request with a bearer token.
    bearer: bool,
    /// The credential endpoint wants a nonce of its own (401 `use_dpop_nonce` first).
    resource_nonce: bool,
    /// Defer issuance (202), issuing on the second poll.
    deferred: bool,
    /// Refuse the first set of key proof nonces with `invalid_nonce`.
    reject_first_nonces: bool,
    /// Announce (and require) response and request encryption.
    encryption_required: bool,
    /// Answer one credential more than there were key proofs.
    extra_credential: bool,
    /// Answer in plain JSON though an encrypted answer was asked for.
    plain_answer: bool,
    /// Announce only these `authorization_details_types_supported`.
    details_types: Option<Vec<String>>,
    /// Require a client attestation by this wallet provider at PAR and token endpoints.
    wallet_provider: Option<eudi_trust::VerifyingKey>,
}

#[derive(Default)]
struct State {
    dpop_nonce_count: u32,
    c_nonce_count: u32,
    c_nonces: HashSet<String>,
    used_c_nonces: Vec<String>,
    par: HashMap<String, Form>,
    codes: HashMap<String, Form>,
    tokens: HashMap<String, String>,
    credential_requests: Vec<CredentialRequest>,
    encrypted_requests: u32,
    polls: u32,
    notifications: Vec<Value>,
    rejected_nonces: bool,
    attestation_pops: Vec<String>,
    log: Vec<(String, u16)>,
}

struct FakeIssuer {
    knobs: Knobs,
    state: Mutex<State>,
    request_key: DecryptionKey,
}

impl std::fmt::Debug for FakeIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeIssuer")
    }
}

fn json_response(status: u16, body: Value) -> Response {
    Response::new(status, serde_json::to_vec(&body).unwrap())
        .with_header("content-type", "application/json")
}

fn oauth_error(error: OAuthError) -> Response {
    json_response(error.status(), error.to_json())
}

impl FakeIssuer {
    fn new(knobs: Knobs) -> Arc<Self> {
        Arc::new(Self {
            knobs,
            state: Mutex::new(State::default()),
            request_key: DecryptionKey::generate().unwrap().with_kid("req-1"),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn metadata(&self) -> Value {
        let proof = json!({ "jwt": { "proof_signing_alg_values_supported": ["ES256"] } });
        let mut metadata = json!({
            "credential_issuer": self.knobs.metadata_issuer.as_deref().unwrap_or(ISSUER),
            "credential_endpoint": format!("{ISSUER}/credential"),
            "nonce_endpoint": format!("{ISSUER}/nonce"),
            "deferred_credential_endpoint": format!("{ISSUER}/deferred_credential"),
            "notification_endpoint": format!("{ISSUER}/notification"),
            "batch_credential_issuance": { "batch_size": 3 },
            "credential_configurations_supported": {
                SD_JWT_ID: {
                    "format": "dc+sd-jwt", "vct": PID_VCT, "scope": "pid",
                    "cryptographic_binding_methods_supported": ["jwk"],
                    "credential_signing_alg_values_supported": ["ES256"],
                    "proof_types_supported": proof,
                },
                MDOC_ID: {
                    "format": "mso_mdoc", "doctype": PID_DOCTYPE,
                    "cryptographic_binding_methods_supported": ["cose_key"],
                    "credential_signing_alg_values_supported": [-7],
                    "proof_types_supported": proof,
                }
            }
        });
        if self.knobs.encryption_required {
            let mut jwk = serde_json::to_value(self.request_key.public_jwk()).unwrap();
            jwk["alg"] = "ECDH-ES".into();
            jwk["use"] = "enc".into();
            metadata["credential_response_encryption"] = json!({
                "alg_values_supported": ["ECDH-ES"],
                "enc_values_supported": ["A128GCM", "A256GCM"],
                "encryption_required": true,
            });
            metadata["credential_request_encryption"] = json!({
                "jwks": { "keys": [jwk] },
                "enc_values_supported": ["A256GCM"],
                "encryption_required": true,
            });
        }
        metadata
    }

    fn as_metadata(&self) -> Value {
        let mut metadata = json!({
            "issuer": self.knobs.as_issuer.as_deref().unwrap_or(ISSUER),
            "authorization_endpoint": format!("{ISSUER}/authorize"),
            "token_endpoint": format!("{ISSUER}/token"),
            "pushed_authorization_request_endpoint": format!("{ISSUER}/par"),
            "require_pushed_authorization_requests": true,
            "code_challenge_methods_supported": ["S256"],
            "dpop_signing_alg_values_supported": ["ES256"],
            "authorization_response_iss_parameter_supported": true,
            "pre-authorized_grant_anonymous_access_supported": true,
        });
        if let Some(types) = &self.knobs.details_types {
            metadata["authorization_details_types_supported"] = json!(types);
        }
        metadata
    }

    fn fresh_dpop_nonce(state: &mut State, prefix: &str) -> String {
        state.dpop_nonce_count += 1;
        format!("{prefix}-{}", state.dpop_nonce_count)
    }

    /// Checks a DPoP proof the way the issuer must; `Err` is the answer to send.
    fn check_dpop(
        &self,
        request: &Request,
        url: &str,
        access_token: Option<&str>,
        bound_jkt: Option<&str>,
        nonce_prefix: &str,
        status_on_nonce: u16,
    ) -> Result<String, Response> {
        let mut state = self.state();
        let expected = format!("{nonce_prefix}-{}", state.dpop_nonce_count);
        let proof = request.header_value("dpop").unwrap_or_default();
        let policy = AlgorithmPolicy::default();
        let checked = dpop::verify_proof(
            proof,
            &dpop::DpopExpected {
                method: request.method.as_str(),
                url,
                access_token,
                nonce: Some(&expected),
                now: SystemClock.now(),
                max_age: 60,
                leeway: 5,
                algorithms: &policy,
                bound_jkt,
            },
        );
        match checked {
            Ok(verified) => Ok(verified.jkt().to_owned()),
            Err(error) => {
                let error = OAuthError::from(error);
                let nonce = Self::fresh_dpop_nonce(&mut state, nonce_prefix);
                let mut answer = oauth_error(error.clone().with_status(status_on_nonce))
                    .with_header("DPoP-Nonce", nonce);
                if status_on_nonce == 401 {
                    answer = Response::new(401, "")
                        .with_header("DPoP-Nonce", answer.header("dpop-nonce").unwrap())
                        .with_header(
                            "WWW-Authenticate",
                            dpop::www_authenticate(Some(&error.code), &policy),
                        );
                }
                Err(answer)
            }
        }
    }

    /// Checks the client attestation and its PoP, when the issuer requires one.
    fn check_attestation(&self, request: &Request) -> Result<(), Response> {
        let Some(provider) = &self.knobs.wallet_provider else {
            return Ok(());
        };
        let trust = client_attestation::WalletProviderTrust::new().with_key(provider.clone(), None);
        let verified = client_attestation::verify(
            request
                .header_value(client_attestation::ATTESTATION_HEADER)
                .unwrap_or_default(),
            request
                .header_value(client_attestation::POP_HEADER)
                .unwrap_or_default(),
            &client_attestation::AttestationExpected {
                audience: ISSUER,
                client_id: Some(CLIENT_ID),
                now: SystemClock.now(),
                max_pop_age: 60,
                leeway: 5,
                challenge: None,
                trust: &trust,
                algorithms: &AlgorithmPolicy::default(),
            },
        )
        .map_err(|e| oauth_error(OAuthError::from(e)))?;
        self.state()
            .attestation_pops
            .push(verified.pop_jti().to_owned());
        Ok(())
    }

    fn handle(&self, request: &Request) -> Response {
        let path = request
            .url
            .strip_prefix(ISSUER)
            .unwrap_or(&request.url)
            .to_owned();
        let body = String::from_utf8_lossy(&request.body).into_owned();
        match path.as_str() {
            "/.well-known/openid-credential-issuer" => json_response(200, self.metadata()),
            "/.well-known/oauth-authorization-server" => json_response(200, self.as_metadata()),
            "/offer/1" => json_response(200, offer_json(true)),
            "/offer/html" => Response::new(200, "{}").with_header("content-type", "text/html"),
            "/offer/huge" => json_response(200, json!({ "pad": "x".repeat(20_000) })),
            "/par" => {
                if let Err(answer) = self.check_attestation(request) {
                    return answer;
                }
                let form = Form::parse(&body).unwrap();
                let uri = format!(
                    "urn:ietf:params:oauth:request_uri:{}",
                    self.state().par.len()
                );
                self.state().par.insert(uri.clone(), form);
                json_response(201, json!({ "request_uri": uri, "expires_in": 60 }))
            }
            "/token" => self.token(request, &body),
            "/nonce" => {
                let mut state = self.state();
                state.c_nonce_count += 1;
                let nonce = format!("c-nonce-{}", state.c_nonce_count);
                state.c_nonces.insert(nonce.clone());
                json_response(200, json!({ "c_nonce": nonce }))
                    .with_header("cache-control", "no-store")
            }
            "/credential" => self.credential(request),
            "/deferred_credential" => self.resource(request, |this, _jkt, body| {
                let mut state = this.state();
                state.polls += 1;
                let request: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(request["transaction_id"], "tx-1");
                if state.polls < 2 {
                    json_response(202, json!({ "transaction_id": "tx-1", "interval": 2 }))
                } else {
                    json_response(
                        200,
                        json!({ "credentials": [{ "credential": "deferred-cred" }] }),
                    )
                }
            }),
            "/notification" => self.resource(request, |this, _jkt, body| {
                this.state()
                    .notifications
                    .push(serde_json::from_slice(&body).unwrap());
                Response::new(204, "")
            }),
            _ => json_response(404, json!({ "error": "not_found" })),
        }
    }

    fn token(&self, request: &Request, body: &str) -> Response {
        let jkt = match self.check_dpop(request, &format!("{ISSUER}/token"), None, None, "as", 400)
        {
            Ok(jkt) => jkt,
            Err(answer) => return answer,
        };
        let form = Form::parse(body).unwrap();
        let mut details = Value::Null;
        match form.get("grant_type") {
            Some("urn:ietf:params:oauth:grant-type:pre-authorized_code") => {
                if form.get("pre-authorized_code") != Some(PRE_CODE) {
                    return oauth_error(OAuthError::invalid_grant("unknown code"));
                }
                if form.get("tx_code") != Some(TX_CODE) {
                    return oauth_error(OAuthError::invalid_grant("wrong transaction code"));
                }
                assert!(form.get("client_id").is_none(), "anonymous access");
            }
            Some("authorization_code") => {
                if let Err(answer) = self.check_attestation(request) {
                    return answer;
                }
                let Some(pushed) = form.get("code").and_then(|c| self.state().codes.remove(c))
                else {
                    return oauth_error(OAuthError::invalid_grant("unknown or used code"));
                };
                let verifier = form.get("code_verifier").unwrap_or_default();
                assert!(pkce::verify_s256(
                    verifier,
                    pushed.get("code_challenge").unwrap()
                ));
                assert_eq!(form.get("redirect_uri"), pushed.get("redirect_uri"));
                assert_eq!(form.get("client_id"), Some(CLIENT_ID));
                // RFC 9449 §10: the token request's key is the one the code was bound to.
                assert_eq!(pushed.get("dpop_jkt"), Some(jkt.as_str()));
                details = json!([{
                    "type": "openid_credential",
                    "credential_configuration_id": SD_JWT_ID,
                    "credential_identifiers": ["pid-dataset-1"],
                }]);
            }
            _ => return oauth_error(OAuthError::invalid_request("grant")),
        }
        let token = format!("access-{}", self.state().tokens.len());
        self.state().tokens.insert(token.clone(), jkt);
        let mut answer = json!({
            "access_token": token,
            "token_type": if self.knobs.bearer { "Bearer" } else { "DPoP" },
            "expires_in": 300,
        });
        if !details.is_null() {
            answer["authorization_details"] = details;
        }
        json_response(200, answer)
    }

    /// Checks `Authorization: DPoP` and the proof (with `ath` and the resource nonce), then
    /// runs `then` with the key thumbprint and the (decrypted) body.
    fn resource(
        &self,
        request: &Request,
        then: impl FnOnce(&Self, &str, Vec<u8>) -> Response,
    ) -> Response {
        let token = request
            .header_value("authorization")
            .and_then(|value| value.strip_prefix("DPoP "))
            .unwrap_or_default()
            .to_owned();
        let Some(bound) = self.state().tokens.get(&token).cloned() else {
            return Response::new(401, "")
                .with_header("www-authenticate", "DPoP error=\"invalid_token\"");
        };
        let prefix = if self.knobs.resource_nonce {
            "rs"
        } else {
            "as"
        };
        if let Err(answer) = self.check_dpop(
            request,
            &request.url,
            Some(&token),
            Some(&bound),
            prefix,
            401,
        ) {
            return answer;
        }
        let body = if request.header_value("content-type") == Some("application/jwt") {
            self.state().encrypted_requests += 1;
            let token = std::str::from_utf8(&request.body).unwrap();
            let opened = jwe::decrypt(token, &self.request_key, &ContentEncryption::ALL).unwrap();
            assert_eq!(opened.kid(), Some("req-1"));
            opened.plaintext
        } else {
            assert_eq!(
                request.header_value("content-type"),
                Some("application/json")
            );
            request.body.clone()
        };
        then(self, &bound, body)
    }

    fn credential(&self, request: &Request) -> Response {
        self.resource(request, |this, _jkt, body| {
            let request: CredentialRequest = serde_json::from_slice(&body).unwrap();
            if this.knobs.encryption_required && request.credential_response_encryption.is_none() {
                return oauth_error(OAuthError::new(
                    ErrorCode::InvalidEncryptionParameters,
                    "encryption is required",
                ));
            }
            this.state().credential_requests.push(request.clone());
            let policy = AlgorithmPolicy::default();
            let trust = proof::KeyAttestationTrust::default();
            let mut credentials = Vec::new();
            for jwt in request
                .proofs
                .as_ref()
                .and_then(|p| p.jwt.clone())
                .unwrap_or_default()
            {
                let verified = match proof::verify(
                    &jwt,
                    &proof::ProofExpected {
                        audience: ISSUER,
                        client_id: None,
                        now: SystemClock.now(),
                        max_age: 60,
                        leeway: 5,
                        nonce_required: true,
                        algorithms: &policy,
                        attestation_trust: &trust,
                        attestation_required: None,
                    },
                ) {
                    Ok(verified) => verified,
                    Err(error) => return oauth_error(error.to_oauth()),
                };
                let nonce = verified.nonce.clone().unwrap();
                let mut state = this.state();
                if this.knobs.reject_first_nonces && !state.rejected_nonces {
                    state.rejected_nonces = true;
                    return oauth_error(OAuthError::new(ErrorCode::InvalidNonce, "stale"));
                }
                if !state.c_nonces.remove(&nonce) {
                    return oauth_error(OAuthError::new(ErrorCode::InvalidNonce, "used"));
                }
                state.used_c_nonces.push(nonce);
                credentials
                    .push(json!({ "credential": format!("credential-for-{}", verified.jkt) }));
            }
            if this.knobs.extra_credential {
                credentials.push(json!({ "credential": "one-too-many" }));
            }
            let answer = if this.knobs.deferred {
                (202, json!({ "transaction_id": "tx-1", "interval": 2 }))
            } else {
                (
                    200,
                    json!({ "credentials": credentials, "notification_id": "note-1" }),
                )
            };
            match request.credential_response_encryption {
                Some(encryption) if !this.knobs.plain_answer => {
                    let enc = ContentEncryption::from_jose(&encryption.enc).unwrap();
                    let token = jwe::encrypt(
                        &serde_json::to_vec(&answer.1).unwrap(),
                        &encryption.jwk,
                        enc,
                        &jwe::EncryptOptions::default(),
                    )
                    .unwrap();
                    Response::new(answer.0, token).with_header("content-type", "application/jwt")
                }
                _ => json_response(answer.0, answer.1),
            }
        })
    }

    /// The authorization endpoint, after the user logged in: the redirect to the wallet.
    fn authorize(&self, authorization_url: &str, iss: Option<&str>) -> String {
        let url = url::Url::parse(authorization_url).unwrap();
        let query = Form::parse(url.query().unwrap()).unwrap();
        assert_eq!(
            query.len(),
            2,
            "only client_id and request_uri (RFC 9126 §4)"
        );
        assert_eq!(query.get("client_id"), Some(CLIENT_ID));
        let pushed = self.state().par[query.get("request_uri").unwrap()].clone();
        let code = format!("code-{}", self.state().codes.len());
        let state = pushed.get("state").unwrap().to_owned();
        self.state().codes.insert(code.clone(), pushed);
        let mut redirect = url::Url::parse(REDIRECT).unwrap();
        redirect
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &state);
        if let Some(iss) = iss {
            redirect.query_pairs_mut().append_pair("iss", iss);
        }
        redirect.to_string()
    }
}

/// The scripted issuer as the client's HTTP client.
#[derive(Debug, Clone)]
struct Bridge(Arc<FakeIssuer>);

impl HttpClient for Bridge {
    fn send(&self, request: Request) -> HttpFuture<'_> {
        Box::pin(async move {
            if !request.url.starts_with(ISSUER) {
                return Err(HttpError::Offline { url: request.url });
            }
            let answer = self.0.handle(&request);
            self.0
                .state()
                .log
                .push((request.url.clone(), answer.status));
            Ok(answer)
        })
    }
}

fn offer_json(with_tx_code: bool) -> Value {
    let mut grant = json!({ "pre-authorized_code": PRE_CODE });
    if with_tx_code {
        grant["tx_code"] = json!({ "input_mode": "numeric", "length": 6 });
    }
    json!({
        "credential_issuer": ISSUER,
        "credential_configuration_ids": [SD_JWT_ID, MDOC_ID],
        "grants": { "urn:ietf:params:oauth:grant-type:pre-authorized_code": grant }
    })
}

fn offer() -> CredentialOffer {
    CredentialOffer::from_json(&serde_json::to_vec(&offer_json(true)).unwrap()).unwrap()
}

fn by_value(json: &Value) -> String {
    format!(
        "openid-credential-offer://?{}",
        eudi_oauth::form::encode([("credential_offer", json.to_string().as_str())])
    )
}

fn key() -> Arc<SoftwareKey> {
    Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap())
}

fn dpop_key() -> DpopKey {
    DpopKey::new(key())
}

async fn client(knobs: Knobs) -> (Arc<FakeIssuer>, IssuerClient) {
    let issuer = FakeIssuer::new(knobs);
    let client = IssuerClient::for_offer(
        Arc::new(Bridge(issuer.clone())),
        &offer(),
        ClientConfig::default(),
    )
    .await
    .unwrap();
    (issuer, client)
}

fn jkt(key: &SoftwareKey) -> String {
    key.verifying_key().to_jwk().thumbprint()
}

#[tokio::test]
async fn offers_by_value_and_by_reference() {
    let issuer = FakeIssuer::new(Knobs::default());
    let http = Bridge(issuer);
    let config = ClientConfig::default();
    let offer = resolve_offer(&http, &by_value(&offer_json(true)), &config)
        .await
        .unwrap();
    assert_eq!(offer.credential_issuer, ISSUER);
    assert_eq!(
        offer.pre_authorized_code().unwrap().pre_authorized_code,
        PRE_CODE
    );

    let reference = format!(
        "openid-credential-offer://?credential_offer_uri={}",
        url::form_urlencoded::byte_serialize(format!("{ISSUER}/offer/1").as_bytes())
            .collect::<String>()
    );
    let fetched = resolve_offer(&http, &reference, &config).await.unwrap();
    assert_eq!(fetched, offer);
    let haip = reference.replace("openid-credential-offer://", "haip-vci://");
    assert_eq!(resolve_offer(&http, &haip, &config).await.unwrap(), offer);
}

#[tokio::test]
async fn bad_offers_are_refused() {
    let http = Bridge(FakeIssuer::new(Knobs::default()));
    let config = ClientConfig::default();
    let wrong_scheme = by_value(&offer_json(true)).replace("openid-credential-offer", "ftp");
    assert!(matches!(
        resolve_offer(&http, &wrong_scheme, &config).await,
        Err(ClientError::InvalidOffer(_))
    ));
    let bad_json = "openid-credential-offer://?credential_offer=%7Bnot-json";
    assert!(matches!(
        resolve_offer(&http, bad_json, &config).await,
        Err(ClientError::InvalidOffer(_))
    ));
    let no_ids = json!({ "credential_issuer": ISSUER, "credential_configuration_ids": [] });
    assert!(matches!(
        resolve_offer(&http, &by_value(&no_ids), &config).await,
        Err(ClientError::InvalidOffer(_))
    ));
    let huge = json!({ "credential_issuer": ISSUER, "credential_configuration_ids": ["x"],
        "pad": "x".repeat(20_000) });
    assert!(matches!(
        resolve_offer(&http, &by_value(&huge), &config).await,
        Err(ClientError::TooLarge { .. })
    ));
    let reference =
        |path: &str| format!("openid-credential-offer://?credential_offer_uri={ISSUER}{path}");
    assert!(matches!(
        resolve_offer(&http, &reference("/offer/huge"), &config).await,
        Err(ClientError::TooLarge { .. })
    ));
    assert!(matches!(
        resolve_offer(&http, &reference("/offer/html"), &config).await,
        Err(ClientError::InvalidOffer(_))
    ));
    // Plain http by reference only with the dev/test policy; the issuer too.
    let http_ref = "openid-credential-offer://?credential_offer_uri=http://127.0.0.1/offer";
    assert!(matches!(
        resolve_offer(&http, http_ref, &config).await,
        Err(ClientError::InvalidUrl { .. })
    ));
    let dev = ClientConfig::default().with_policy(UrlPolicy::allow_private_network());
    assert!(matches!(
        resolve_offer(&http, http_ref, &dev).await,
        Err(ClientError::Http(HttpError::Offline { .. }))
    ));
    let mut local = offer_json(false);
    local["credential_issuer"] = "http://127.0.0.1:8080".into();
    assert!(matches!(
        resolve_offer(&http, &by_value(&local), &config).await,
        Err(ClientError::InvalidUrl { .. })
    ));
    assert!(resolve_offer(&http, &by_value(&local), &dev).await.is_ok());
}

#[tokio::test]
async fn metadata_must_name_the_issuer_and_server_asked() {
    for knobs in [
        Knobs {
            metadata_issuer: Some("https://evil.example".into()),
            ..Knobs::default()
        },
        Knobs {
            metadata_issuer: Some(format!("{ISSUER}/")),
            ..Knobs::default()
        },
        Knobs {
            as_issuer: Some("https://evil.example".into()),
            ..Knobs::default()
        },
    ] {
        let issuer = FakeIssuer::new(knobs);
        let error =
            IssuerClient::connect(Arc::new(Bridge(issuer)), ISSUER, ClientConfig::default())
                .await
                .unwrap_err();
        assert!(
            matches!(error, ClientError::MetadataMismatch { .. }),
            "{error:?}"
        );
    }
    // An offer of a configuration the issuer does not have is refused.
    let mut unknown = offer_json(false);
    unknown["credential_configuration_ids"] = json!(["not-offered-by-the-issuer"]);
    let unknown = CredentialOffer::from_json(&serde_json::to_vec(&unknown).unwrap()).unwrap();
    assert!(matches!(
        IssuerClient::for_offer(
            Arc::new(Bridge(FakeIssuer::new(Knobs::default()))),
            &unknown,
            ClientConfig::default()
        )
        .await,
        Err(ClientError::InvalidOffer(_))
    ));
    let (_, client) = client(Knobs::default()).await;
    let (id, configuration) = client.find_configuration("mso_mdoc", PID_DOCTYPE).unwrap();
    assert_eq!(id, MDOC_ID);
    assert_eq!(configuration.doctype.as_deref(), Some(PID_DOCTYPE));
    assert_eq!(
        client.find_configuration("dc+sd-jwt", PID_VCT).unwrap().0,
        SD_JWT_ID
    );
    assert!(
        client
            .find_configuration("dc+sd-jwt", PID_DOCTYPE)
            .is_none()
    );
    // An issuer identifier with a query is no identifier.
    let issuer = FakeIssuer::new(Knobs::default());
    assert!(matches!(
        IssuerClient::connect(
            Arc::new(Bridge(issuer)),
            "https://issuer.example?x=1",
            ClientConfig::default()
        )
        .await,
        Err(ClientError::InvalidUrl { .. })
    ));
}

#[tokio::test]
async fn pre_authorized_batch_with_dpop_nonces_and_notification() {
    let (issuer, client) = client(Knobs::default()).await;
    let tokens = client
        .pre_authorized(&offer(), Some(TX_CODE), dpop_key())
        .await
        .unwrap();
    assert_eq!(tokens.token_type, "DPoP");
    assert!(!format!("{tokens:?}").contains(tokens.access_token()));
    // The first token request had no nonce: 400 use_dpop_nonce, then one retry that passed.
    let token_calls: Vec<u16> = issuer
        .state()
        .log
        .iter()
        .filter(|(url, _)| url.ends_with("/token"))
        .map(|(_, status)| *status)
        .collect();
    assert_eq!(token_calls, [400, 200]);

    let holders = [key(), key()];
    let signers: Vec<&dyn Signer> = holders.iter().map(|k| k.as_ref() as &dyn Signer).collect();
    let outcome = client
        .request_credentials(&tokens, SD_JWT_ID, &signers, EncryptResponse::IfRequired)
        .await
        .unwrap();
    let CredentialOutcome::Issued {
        credentials,
        notification_id,
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    let issued: Vec<&str> = credentials
        .iter()
        .map(|c| c.credential.as_str().unwrap())
        .collect();
    assert_eq!(
        issued,
        [
            format!("credential-for-{}", jkt(&holders[0])),
            format!("credential-for-{}", jkt(&holders[1]))
        ]
    );
    {
        let state = issuer.state();
        // One fresh c_nonce per key proof.
        assert_eq!(state.used_c_nonces.len(), 2);
        assert_ne!(state.used_c_nonces[0], state.used_c_nonces[1]);
        let request = &state.credential_requests[0];
        assert_eq!(
            request.credential_configuration_id.as_deref(),
            Some(SD_JWT_ID)
        );
        assert!(request.credential_identifier.is_none());
    }
    client
        .notify(
            &tokens,
            notification_id.as_deref().unwrap(),
            NotificationEvent::CredentialAccepted,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        issuer.state().notifications,
        [json!({ "notification_id": "note-1", "event": "credential_accepted" })]
    );

    // More keys than the batch size, or none where keys are bound: refused before sending.
    let many: Vec<&dyn Signer> = vec![signers[0]; 4];
    assert!(matches!(
        client
            .request_credentials(&tokens, SD_JWT_ID, &many, EncryptResponse::IfRequired)
            .await,
        Err(ClientError::Unsupported(_))
    ));
    assert!(matches!(
        client
            .request_credentials(&tokens, SD_JWT_ID, &[], EncryptResponse::IfRequired)
            .await,
        Err(ClientError::InvalidArgument(_))
    ));
    assert!(matches!(
        client
            .request_credentials(&tokens, "unknown", &signers, EncryptResponse::IfRequired)
            .await,
        Err(ClientError::Unsupported(_))
    ));
}

#[tokio::test]
async fn transaction_codes() {
    let (issuer, client) = client(Knobs::default()).await;
    let error = client
        .pre_authorized(&offer(), Some("000000"), dpop_key())
        .await
        .unwrap_err();
    let oauth = error.oauth_error().unwrap();
    assert_eq!(oauth.code, ErrorCode::InvalidGrant);
    assert_eq!(oauth.description.as_deref(), Some("wrong transaction code"));
    // Missing where the offer asks for one, or given where it does not: not sent at all.
    let sent = issuer.state().log.len();
    assert!(matches!(
        client.pre_authorized(&offer(), None, dpop_key()).await,
        Err(ClientError::InvalidArgument(_))
    ));
    let without =
        CredentialOffer::from_json(&serde_json::to_vec(&offer_json(false)).unwrap()).unwrap();
    assert!(matches!(
        client
            .pre_authorized(&without, Some(TX_CODE), dpop_key())
            .await,
        Err(ClientError::InvalidArgument(_))
    ));
    assert_eq!(issuer.state().log.len(), sent);
}

#[tokio::test]
async fn a_bearer_token_after_a_dpop_proof_is_refused() {
    let (_, client) = client(Knobs {
        bearer: true,
        ..Knobs::default()
    })
    .await;
    assert!(matches!(
        client
            .pre_authorized(&offer(), Some(TX_CODE), dpop_key())
            .await,
        Err(ClientError::InvalidResponse {
            endpoint: "token",
            ..
        })
    ));
}

fn start(dpop: &DpopKey) -> AuthorizationStart {
    AuthorizationStart {
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT.into(),
        configuration_ids: vec![SD_JWT_ID.into()],
        issuer_state: Some("issuer-state-1".into()),
        dpop_key: dpop.clone(),
        client_attestation: None,
    }
}

#[tokio::test]
async fn authorization_code_flow_with_par_pkce_and_credential_identifiers() {
    let (issuer, client) = client(Knobs::default()).await;
    let dpop = dpop_key();
    let pending: PendingAuthorization = client.start_authorization(start(&dpop)).await.unwrap();
    assert!(
        pending
            .authorization_url
            .starts_with(&format!("{ISSUER}/authorize?"))
    );
    assert!(!format!("{pending:?}").contains(pending.code_verifier()));
    {
        let state = issuer.state();
        let pushed = state.par.values().next().unwrap();
        assert_eq!(pushed.get("response_type"), Some("code"));
        assert_eq!(pushed.get("code_challenge_method"), Some("S256"));
        assert_eq!(pushed.get("state"), Some(pending.state.as_str()));
        assert_eq!(pushed.get("issuer_state"), Some("issuer-state-1"));
        assert_eq!(pushed.get("dpop_jkt"), Some(dpop.thumbprint().as_str()));
        let details: Value =
            serde_json::from_str(pushed.get("authorization_details").unwrap()).unwrap();
        assert_eq!(
            details,
            json!([{ "type": "openid_credential", "credential_configuration_id": SD_JWT_ID }])
        );
    }
    let callback = issuer.authorize(&pending.authorization_url, Some(ISSUER));
    let tokens = client
        .finish_authorization(pending, &callback)
        .await
        .unwrap();
    assert_eq!(tokens.credential_identifiers(SD_JWT_ID), ["pid-dataset-1"]);

    let holder = key();
    let outcome = client
        .request_credentials(
            &tokens,
            SD_JWT_ID,
            &[holder.as_ref()],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, CredentialOutcome::Issued { ref credentials, .. } if credentials.len() == 1)
    );
    let state = issuer.state();
    let request = &state.credential_requests[0];
    // §8.2: with credential identifiers from the token response, only the identifier.
    assert_eq!(
        request.credential_identifier.as_deref(),
        Some("pid-dataset-1")
    );
    assert!(request.credential_configuration_id.is_none());
}

#[tokio::test]
async fn callbacks_with_wrong_state_or_iss_or_an_error_are_refused() {
    let (issuer, client) = client(Knobs::default()).await;
    let dpop = dpop_key();

    let pending = client.start_authorization(start(&dpop)).await.unwrap();
    let callback = issuer.authorize(&pending.authorization_url, Some(ISSUER));
    let forged = callback.replace(&pending.state, "forged-state");
    assert_eq!(
        client
            .finish_authorization(pending.clone(), &forged)
            .await
            .unwrap_err(),
        ClientError::StateMismatch
    );

    let mixed_up = issuer.authorize(&pending.authorization_url, Some("https://other-as.example"));
    assert!(matches!(
        client
            .finish_authorization(pending.clone(), &mixed_up)
            .await,
        Err(ClientError::IssuerMismatch { found: Some(_), .. })
    ));
    // The server announces `iss` (RFC 9207 §3), so a callback without it is refused too.
    let without_iss = issuer.authorize(&pending.authorization_url, None);
    assert!(matches!(
        client
            .finish_authorization(pending.clone(), &without_iss)
            .await,
        Err(ClientError::IssuerMismatch { found: None, .. })
    ));

    let denied = format!(
        "{REDIRECT}?error=access_denied&error_description=The+user+cancelled&state={}&iss={}",
        pending.state,
        url::form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect::<String>()
    );
    let error = client
        .finish_authorization(pending, &denied)
        .await
        .unwrap_err();
    let ClientError::AuthorizationDenied(oauth) = error else {
        panic!("{error:?}")
    };
    assert_eq!(oauth.code, ErrorCode::AccessDenied);
    assert_eq!(oauth.description.as_deref(), Some("The user cancelled"));
    // No token request was made for any of them.
    assert!(
        !issuer
            .state()
            .log
            .iter()
            .any(|(url, _)| url.ends_with("/token"))
    );
}

#[tokio::test]
async fn a_resource_nonce_challenge_is_answered_once() {
    let (issuer, client) = client(Knobs {
        resource_nonce: true,
        ..Knobs::default()
    })
    .await;
    let tokens = client
        .pre_authorized(&offer(), Some(TX_CODE), dpop_key())
        .await
        .unwrap();
    let holder = key();
    let outcome = client
        .request_credentials(
            &tokens,
            MDOC_ID,
            &[holder.as_ref()],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    assert!(matches!(outcome, CredentialOutcome::Issued { .. }));
    let credential_calls: Vec<u16> = issuer
        .state()
        .log
        .iter()
        .filter(|(url, _)| url.ends_with("/credential"))
        .map(|(_, status)| *status)
        .collect();
    assert_eq!(credential_calls, [401, 200]);
}

#[tokio::test]
async fn invalid_nonce_is_retried_with_fresh_nonces() {
    let (issuer, client) = client(Knobs {
        reject_first_nonces: true,
        ..Knobs::default()
    })
    .await;
    let tokens = client
        .pre_authorized(&offer(), Some(TX_CODE), dpop_key())
        .await
        .unwrap();
    let holder = key();
    let outcome = client
        .request_credentials(
            &tokens,
            SD_JWT_ID,
            &[holder.as_ref()],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    assert!(matches!(outcome, CredentialOutcome::Issued { .. }));
    assert_eq!(issuer.state().c_nonce_count, 2);
}

#[tokio::test]
async fn encrypted_requests_and_responses() {
    let (issuer, client) = client(Knobs {
        encryption_required: true,
        ..Knobs::default()
    })
    .await;
    let tokens = client
        .pre_authorized(&offer(), Some(TX_CODE), dpop_key())
        .await
        .unwrap();
    let holder = key();
    let outcome = client
        .request_credentials(
            &tokens,
            SD_JWT_ID,
            &[holder.as_ref()],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    let CredentialOutcome::Issued { credentials, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        credentials[0].credential,
        json!(format!("credential-for-{}", jkt(&holder)))
    );
    let state = issuer.state();
    assert_eq!(state.encrypted_requests, 1);
    let encryption = state.credential_requests[0]
        .credential_response_encryption
        .as_ref()
        .unwrap();
    assert_eq!(encryption.enc, "A256GCM");
    assert_eq!(encryption.jwk.alg.as_deref(), Some("ECDH-ES"));
}

#[tokio::test]
async fn deferred_issuance_is_polled() {
    let (_, client) = client(Knobs {
        deferred: true,
        ..Knobs::default()
    })
    .await;
    let tokens = client
        .pre_authorized(&offer(), Some(TX_CODE), dpop_key())
        .await
        .unwrap();
    let holder = key();
    let outcome = client
        .request_credentials(
            &tokens,
            SD_JWT_ID,
            &[holder.as_ref()],
            EncryptResponse::IfRequired,
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CredentialOutcome::Deferred {
            transaction_id: "tx-1".into(),
            interval: 2
        }
    );
    // A wallet that kept the token (and its DPoP key) across a restart polls with it.
    let tokens = eudi_oid4vci::client::Tokens::restore(
        tokens.access_token().to_owned(),
        tokens.dpop_key().clone(),
        tokens.client_id().map(str::to_owned),
    );
    let again = client
        .poll_deferred(&tokens, "tx-1", EncryptResponse::IfRequired)
        .await
        .unwrap();
    assert!(matches!(again, CredentialOutcome::Deferred { .. }));
    let done = client
        .poll_deferred(&tokens, "tx-1", EncryptResponse::IfRequired)
        .await
        .unwrap();
    let CredentialOutcome::Issued {
        credentials,
        notification_id,
    } = done
    else {
        panic!("{done:?}")
    };
    assert_eq!(credentials[0].credential, json!("deferred-cred"));
    assert_eq!(notification_id, None);
}

#[tokio::test]
async fn client_attestation_at_par_and_token_endpoint() {
    let provider = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let (issuer, client) = client(Knobs {
        wallet_provider: Some(provider.verifying_key().clone()),
        ..Knobs::default()
    })
    .await;
    let instance = key();
    let now = SystemClock.now();
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
    let dpop = dpop_key();

    // Without the attestation the issuer refuses the pushed request.
    let refused = client.start_authorization(start(&dpop)).await.unwrap_err();
    assert_eq!(
        refused.oauth_error().unwrap().code,
        ErrorCode::InvalidClient
    );

    let mut with = start(&dpop);
    with.client_attestation = Some(eudi_oid4vci::client::ClientAttestation {
        attestation,
        instance_key: instance,
    });
    let pending = client.start_authorization(with).await.unwrap();
    let callback = issuer.authorize(&pending.authorization_url, Some(ISSUER));
    client
        .finish_authorization(pending, &callback)
        .await
        .unwrap();
    let pops = issuer.state().attestation_pops.clone();
    // Checked at PAR and at the token endpoint (whose first try failed on the DPoP nonce
    // before the attestation was looked at), each PoP fresh.
    assert_eq!(pops.len(), 2, "{pops:?}");
    assert_ne!(pops[0], pops[1]);
}

#[tokio::test]
async fn scope_when_the_server_takes_no_openid_credential_details() {
    let (issuer, client) = client(Knobs {
        details_types: Some(vec!["payment_initiation".into()]),
        ..Knobs::default()
    })
    .await;
    client
        .start_authorization(start(&dpop_key()))
        .await
        .unwrap();
    {
        let state = issuer.state();
        let pushed = state.par.values().next().unwrap();
        assert_eq!(pushed.get("scope"), Some("pid"));
        assert!(pushed.get("authorization_details").is_none());
    }
    // A configuration without a scope cannot be asked for so: details it is.
    let mut mdoc = start(&dpop_key());
    mdoc.configuration_ids = vec![MDOC_ID.into()];
    client.start_authorization(mdoc).await.unwrap();
    assert_eq!(
        issuer
            .state()
            .par
            .values()
            .filter(|form| form.get("authorization_details").is_some())
            .count(),
        1
    );
}

#[tokio::test]
async fn answers_that_break_the_protocol_are_refused() {
    for knobs in [
        Knobs {
            extra_credential: true,
            ..Knobs::default()
        },
        Knobs {
            encryption_required: true,
            plain_answer: true,
            ..Knobs::default()
        },
    ] {
        let (_, client) = client(knobs).await;
        let tokens = client
            .pre_authorized(&offer(), Some(TX_CODE), dpop_key())
            .await
            .unwrap();
        let holder = key();
        let error = client
            .request_credentials(
                &tokens,
                SD_JWT_ID,
                &[holder.as_ref()],
                EncryptResponse::IfRequired,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                ClientError::InvalidResponse {
                    endpoint: "credential",
                    ..
                }
            ),
            "{error:?}"
        );
    }
    // Asking for encryption from an issuer that offers none fails before any request.
    let (issuer, client) = client(Knobs::default()).await;
    let tokens = client
        .pre_authorized(&offer(), Some(TX_CODE), dpop_key())
        .await
        .unwrap();
    let holder = key();
    let sent = issuer.state().log.len();
    assert!(matches!(
        client
            .request_credentials(
                &tokens,
                SD_JWT_ID,
                &[holder.as_ref()],
                EncryptResponse::Always
            )
            .await,
        Err(ClientError::Unsupported(_))
    ));
    assert_eq!(issuer.state().log.len(), sent);
}

#[tokio::test]
async fn a_dpop_algorithm_the_server_does_not_take_is_not_sent() {
    let (issuer, client) = client(Knobs::default()).await;
    let es384 = DpopKey::new(Arc::new(SoftwareKey::generate(Algorithm::Es384).unwrap()));
    let sent = issuer.state().log.len();
    assert!(matches!(
        client.pre_authorized(&offer(), Some(TX_CODE), es384).await,
        Err(ClientError::Unsupported(_))
    ));
    assert_eq!(issuer.state().log.len(), sent);
}

#[tokio::test]
async fn an_authorization_code_offer_passes_its_issuer_state() {
    let (issuer, client) = client(Knobs::default()).await;
    let json = json!({
        "credential_issuer": ISSUER,
        "credential_configuration_ids": [SD_JWT_ID],
        "grants": { "authorization_code": { "issuer_state": "from-the-offer" } }
    });
    let offer = CredentialOffer::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
    let start = AuthorizationStart::for_offer(&offer, CLIENT_ID, REDIRECT, dpop_key());
    assert_eq!(start.configuration_ids, [SD_JWT_ID]);
    client.start_authorization(start).await.unwrap();
    let state = issuer.state();
    let pushed = state.par.values().next().unwrap();
    assert_eq!(pushed.get("issuer_state"), Some("from-the-offer"));
}
