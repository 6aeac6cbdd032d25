//! Getting credentials with an access token: `c_nonce` from the nonce endpoint (OpenID4VCI 1.0
//! §7), the credential request with one `jwt` key proof per holder key (§8.2, Appendix F.1), up
//! to the issuer's `batch_size`, the immediate or deferred answer (§8.3, §9), encryption of the
//! answer to an ephemeral key and of the request to the issuer's key (§10), and notifications
//! (§11). Every request carries the DPoP-bound token (`Authorization: DPoP`, RFC 9449 §7.1).

use eudi_http::Method;
use eudi_http::Request;
use eudi_http::Response;
use eudi_oauth::ErrorCode;
use eudi_trust::Jwk;
use eudi_trust::Signer;
use eudi_trust::jwe;
use eudi_trust::jwe::ContentEncryption;
use eudi_trust::jwe::DecryptionKey;
use serde::Serialize;

use crate::client::ClientError;
use crate::client::IssuerClient;
use crate::client::Tokens;
use crate::client::transport::DpopUse;
use crate::client::transport::error_answer;
use crate::client::transport::parse_json;
use crate::messages::CredentialRequest;
use crate::messages::CredentialResponse;
use crate::messages::DeferredCredentialRequest;
use crate::messages::IssuedCredential;
use crate::messages::NonceResponse;
use crate::messages::NotificationEvent;
use crate::messages::NotificationRequest;
use crate::messages::Proofs;
use crate::messages::ResponseEncryption;
use crate::proof;

/// Most credentials read from one deferred answer (an immediate answer may hold at most one
/// per key sent).
pub const MAX_CREDENTIALS: usize = 64;
/// The key management algorithm of encrypted credential requests and responses (HAIP 1.0 §5).
const ECDH_ES: &str = "ECDH-ES";
/// `interval` assumed when a deferred answer of a pre-final server gives none, in seconds.
const DEFAULT_INTERVAL: u64 = 5;

/// Whether to ask for an encrypted credential response (§8.2
/// `credential_response_encryption`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncryptResponse {
    /// Only when the issuer requires it (`encryption_required`).
    #[default]
    IfRequired,
    /// Always (the issuer must support it).
    Always,
}

/// What a credential or deferred credential request got.
#[derive(Clone, Debug, PartialEq)]
pub enum CredentialOutcome {
    /// Credentials, one per holder key at most (§8.3), and the id to notify about them.
    Issued {
        /// The credentials, each a string (SD-JWT VC, base64url mdoc) or an object.
        credentials: Vec<IssuedCredential>,
        /// `notification_id` (§8.3), when the issuer wants notifications.
        notification_id: Option<String>,
    },
    /// Not yet: ask the deferred credential endpoint with `transaction_id`, not before
    /// `interval` seconds (§8.3, §9.2).
    Deferred {
        /// The transaction id.
        transaction_id: String,
        /// Seconds to wait before asking.
        interval: u64,
    },
}

/// An attested key that proves possession for all the keys of its key attestation
/// (OpenID4VCI 1.0 Appendix D, F.1).
#[derive(Clone, Copy, Debug)]
pub struct AttestedKey<'a> {
    /// One of the attested keys; it signs the key proof.
    pub signer: &'a dyn Signer,
    /// The key attestation JWT (`key-attestation+jwt`) from the wallet's key storage.
    pub attestation: &'a str,
    /// The signer's place in the attestation's `attested_keys` (the proof's `kid`).
    pub index: usize,
    /// The `c_nonce` the attestation carries, when the issuer has a nonce endpoint.
    pub c_nonce: Option<&'a str>,
}

/// An ephemeral key for one encrypted answer, and the `enc` asked for.
struct ResponseKey {
    key: DecryptionKey,
    enc: ContentEncryption,
}

/// The issuer's key and `enc` to encrypt requests with.
struct RequestKey {
    jwk: Jwk,
    enc: ContentEncryption,
}

impl IssuerClient {
    /// A fresh `c_nonce` from the nonce endpoint (§7.1: `POST` without a body), remembering the
    /// `DPoP-Nonce` it may carry for the credential endpoint (§7.2).
    pub async fn nonce(&self) -> Result<String, ClientError> {
        let endpoint =
            self.issuer.nonce_endpoint.as_deref().ok_or_else(|| {
                ClientError::Unsupported("the issuer has no nonce endpoint".into())
            })?;
        let url = self.transport.config.check_url(endpoint)?;
        let request = Request::new(Method::Post, endpoint).accept("application/json");
        let response = self
            .transport
            .send(request, "nonce", self.transport.config.max_response_bytes)
            .await?;
        self.transport.remember_nonce(&url, &response);
        if response.status != 200 {
            return Err(error_answer("nonce", &response));
        }
        let answer: NonceResponse = parse_json("nonce", &response)?;
        if answer.c_nonce.is_empty() {
            return Err(ClientError::invalid_response("nonce", "empty c_nonce"));
        }
        Ok(answer.c_nonce)
    }

    /// Requests credentials of configuration `configuration_id`, one bound to each of
    /// `holder_keys` (a `jwt` proof per key, each with a fresh `c_nonce` when the issuer has a
    /// nonce endpoint; at most `batch_size` keys). The token's `credential_identifiers` for the
    /// configuration, when it has them, are used instead of the configuration id (§8.2). An
    /// `invalid_nonce` answer is retried once with fresh nonces (§8.3.1.2).
    pub async fn request_credentials(
        &self,
        tokens: &Tokens,
        configuration_id: &str,
        holder_keys: &[&dyn Signer],
        encryption: EncryptResponse,
    ) -> Result<CredentialOutcome, ClientError> {
        let configuration = self.configuration(configuration_id)?;
        let batch_size = usize::try_from(self.issuer.batch_size()).unwrap_or(usize::MAX);
        match configuration.jwt_proof() {
            Some(_) if holder_keys.is_empty() => {
                return Err(ClientError::InvalidArgument(
                    "the configuration binds credentials to keys: give at least one".into(),
                ));
            }
            Some(_) if holder_keys.len() > batch_size => {
                return Err(ClientError::Unsupported(format!(
                    "{} keys, but the issuer's batch size is {batch_size}",
                    holder_keys.len()
                )));
            }
            Some(metadata) => {
                if metadata.key_attestations_required.is_some() {
                    return Err(ClientError::Unsupported(
                        "the configuration requires key attestations: use \
                         request_attested_credentials"
                            .into(),
                    ));
                }
                for key in holder_keys {
                    let alg = key.algorithm().jose_name();
                    if !metadata
                        .proof_signing_alg_values_supported
                        .iter()
                        .any(|a| a == alg)
                    {
                        return Err(ClientError::Unsupported(format!(
                            "the issuer takes no {alg} key proofs"
                        )));
                    }
                }
            }
            None if !holder_keys.is_empty() => {
                return Err(ClientError::Unsupported(
                    "the configuration takes no jwt key proofs".into(),
                ));
            }
            None => {}
        }
        let identifier = tokens.credential_identifiers(configuration_id).first();
        let response_key = self.response_key(encryption)?;
        let mut retried = false;
        loop {
            let proofs = self.key_proofs(tokens, holder_keys).await?;
            let request = CredentialRequest {
                credential_configuration_id: match identifier {
                    Some(_) => None,
                    None => Some(configuration_id.to_owned()),
                },
                credential_identifier: identifier.cloned(),
                proofs,
                credential_response_encryption: response_key.as_ref().map(request_encryption),
            };
            let response = self
                .post_resource(
                    tokens,
                    &self.issuer.credential_endpoint,
                    "credential",
                    &request,
                    response_key.is_some(),
                )
                .await?;
            if !retried && is_error(&response, &ErrorCode::InvalidNonce) {
                retried = true;
                continue;
            }
            return read_outcome(
                "credential",
                &response,
                response_key.as_ref(),
                holder_keys.len().max(1),
                None,
            );
        }
    }

    /// Requests credentials of configuration `configuration_id` for the keys of a key
    /// attestation (Appendix D): one `jwt` proof by one attested key with the attestation in its
    /// header (Appendix F.1), and the issuer binds one credential to each attested key. The
    /// attestation's `nonce` must be `key.c_nonce`, a fresh value from [`Self::nonce`], which
    /// the proof carries too; an `invalid_nonce` answer is not retried (a new attestation is
    /// needed).
    pub async fn request_attested_credentials(
        &self,
        tokens: &Tokens,
        configuration_id: &str,
        key: &AttestedKey<'_>,
        encryption: EncryptResponse,
    ) -> Result<CredentialOutcome, ClientError> {
        let configuration = self.configuration(configuration_id)?;
        let metadata = configuration.jwt_proof().ok_or_else(|| {
            ClientError::Unsupported("the configuration takes no jwt key proofs".into())
        })?;
        let alg = key.signer.algorithm().jose_name();
        if !metadata
            .proof_signing_alg_values_supported
            .iter()
            .any(|a| a == alg)
        {
            return Err(ClientError::Unsupported(format!(
                "the issuer takes no {alg} key proofs"
            )));
        }
        if self.issuer.nonce_endpoint.is_some() && key.c_nonce.is_none() {
            return Err(ClientError::InvalidArgument(
                "the issuer has a nonce endpoint: the attestation and proof need its c_nonce"
                    .into(),
            ));
        }
        let claims = proof::ProofClaims {
            iss: tokens.client_id.as_deref(),
            aud: &self.issuer.credential_issuer,
            iat: self.transport.now(),
            nonce: key.c_nonce,
        };
        let jwt = proof::create(key.signer, &claims, Some((key.attestation, key.index)))
            .await
            .map_err(|e| ClientError::Signing(e.to_string()))?;
        let identifier = tokens.credential_identifiers(configuration_id).first();
        let response_key = self.response_key(encryption)?;
        let request = CredentialRequest {
            credential_configuration_id: match identifier {
                Some(_) => None,
                None => Some(configuration_id.to_owned()),
            },
            credential_identifier: identifier.cloned(),
            proofs: Some(Proofs {
                jwt: Some(vec![jwt]),
                other: serde_json::Map::new(),
            }),
            credential_response_encryption: response_key.as_ref().map(request_encryption),
        };
        let response = self
            .post_resource(
                tokens,
                &self.issuer.credential_endpoint,
                "credential",
                &request,
                response_key.is_some(),
            )
            .await?;
        read_outcome(
            "credential",
            &response,
            response_key.as_ref(),
            MAX_CREDENTIALS,
            None,
        )
    }

    /// Asks the deferred credential endpoint for the credentials of `transaction_id` (§9.1).
    /// A pre-final server's `issuance_pending` error reads as still deferred.
    pub async fn poll_deferred(
        &self,
        tokens: &Tokens,
        transaction_id: &str,
        encryption: EncryptResponse,
    ) -> Result<CredentialOutcome, ClientError> {
        let endpoint = self
            .issuer
            .deferred_credential_endpoint
            .as_deref()
            .ok_or_else(|| {
                ClientError::Unsupported("the issuer has no deferred credential endpoint".into())
            })?;
        let response_key = self.response_key(encryption)?;
        let request = DeferredCredentialRequest {
            transaction_id: transaction_id.to_owned(),
            credential_response_encryption: response_key.as_ref().map(request_encryption),
        };
        let response = self
            .post_resource(
                tokens,
                endpoint,
                "deferred credential",
                &request,
                response_key.is_some(),
            )
            .await?;
        if is_error(&response, &ErrorCode::Other("issuance_pending".into())) {
            let interval = serde_json::from_slice::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|body| body.get("interval").and_then(serde_json::Value::as_u64))
                .filter(|interval| *interval > 0)
                .unwrap_or(DEFAULT_INTERVAL);
            return Ok(CredentialOutcome::Deferred {
                transaction_id: transaction_id.to_owned(),
                interval,
            });
        }
        read_outcome(
            "deferred credential",
            &response,
            response_key.as_ref(),
            MAX_CREDENTIALS,
            Some(transaction_id),
        )
    }

    /// Tells the issuer what became of the credentials of `notification_id` (§11.1); any 2xx
    /// is success (§11.2).
    pub async fn notify(
        &self,
        tokens: &Tokens,
        notification_id: &str,
        event: NotificationEvent,
        description: Option<&str>,
    ) -> Result<(), ClientError> {
        let endpoint = self
            .issuer
            .notification_endpoint
            .as_deref()
            .ok_or_else(|| {
                ClientError::Unsupported("the issuer has no notification endpoint".into())
            })?;
        let request = NotificationRequest {
            notification_id: notification_id.to_owned(),
            event,
            event_description: description.map(str::to_owned),
        };
        let response = self
            .post_resource(tokens, endpoint, "notification", &request, false)
            .await?;
        if !response.is_success() {
            return Err(error_answer("notification", &response));
        }
        Ok(())
    }

    /// One `jwt` key proof per key, each with its own fresh `c_nonce` when the issuer has a
    /// nonce endpoint (§8.2: the proofs must carry a `c_nonce` then).
    async fn key_proofs(
        &self,
        tokens: &Tokens,
        holder_keys: &[&dyn Signer],
    ) -> Result<Option<Proofs>, ClientError> {
        if holder_keys.is_empty() {
            return Ok(None);
        }
        let mut jwts = Vec::with_capacity(holder_keys.len());
        for key in holder_keys {
            let nonce = match self.issuer.nonce_endpoint {
                Some(_) => Some(self.nonce().await?),
                None => None,
            };
            let claims = proof::ProofClaims {
                iss: tokens.client_id.as_deref(),
                aud: &self.issuer.credential_issuer,
                iat: self.transport.now(),
                nonce: nonce.as_deref(),
            };
            let jwt = proof::create(*key, &claims, None)
                .await
                .map_err(|e| ClientError::Signing(e.to_string()))?;
            jwts.push(jwt);
        }
        Ok(Some(Proofs {
            jwt: Some(jwts),
            other: serde_json::Map::new(),
        }))
    }

    /// An ephemeral key for the answer, when one is to be asked for: the issuer must support
    /// `ECDH-ES` and one of our `enc` values (A256GCM preferred, HAIP 1.0 §5).
    fn response_key(
        &self,
        encryption: EncryptResponse,
    ) -> Result<Option<ResponseKey>, ClientError> {
        let metadata = self.issuer.credential_response_encryption.as_ref();
        let wanted = encryption == EncryptResponse::Always
            || metadata.is_some_and(|m| m.encryption_required);
        if !wanted {
            return Ok(None);
        }
        let metadata = metadata.ok_or_else(|| {
            ClientError::Unsupported("the issuer does not encrypt credential responses".into())
        })?;
        if !metadata.alg_values_supported.iter().any(|a| a == ECDH_ES) {
            return Err(ClientError::Unsupported(
                "the issuer does not encrypt responses with ECDH-ES".into(),
            ));
        }
        let enc = pick_enc(&metadata.enc_values_supported).ok_or_else(|| {
            ClientError::Unsupported("the issuer encrypts with no A256GCM or A128GCM".into())
        })?;
        Ok(Some(ResponseKey {
            key: DecryptionKey::generate()?,
            enc,
        }))
    }

    /// The issuer's key to encrypt a request to, when the request is to be encrypted: always
    /// when the issuer requires it, and whenever the answer is to be encrypted (§8.2: "Credential
    /// Request encryption MUST be used if the `credential_response_encryption` parameter is
    /// included", so the parameter cannot be swapped in transit).
    fn request_key(&self, encrypted_answer: bool) -> Result<Option<RequestKey>, ClientError> {
        let Some(metadata) = self.issuer.credential_request_encryption.as_ref() else {
            return Ok(None);
        };
        if !metadata.encryption_required && !encrypted_answer {
            return Ok(None);
        }
        let enc = pick_enc(&metadata.enc_values_supported).ok_or_else(|| {
            ClientError::Unsupported("the issuer decrypts no A256GCM or A128GCM requests".into())
        })?;
        let jwk = metadata
            .jwks
            .keys
            .iter()
            .find(|key| {
                key.kty == "EC"
                    && key.crv.as_deref() == Some("P-256")
                    && key.kid.is_some()
                    && key.alg.as_deref().is_none_or(|alg| alg == ECDH_ES)
                    && key.use_.as_deref().is_none_or(|u| u == "enc")
            })
            .ok_or_else(|| {
                ClientError::Unsupported("the issuer has no P-256 ECDH-ES request key".into())
            })?;
        Ok(Some(RequestKey {
            jwk: jwk.clone(),
            enc,
        }))
    }

    /// `POST`s `body` as JSON (or, when the request is to be encrypted, as an encrypted JWT,
    /// `application/jwt`, §10) with the access token and a DPoP proof.
    async fn post_resource<T: Serialize>(
        &self,
        tokens: &Tokens,
        endpoint: &str,
        what: &'static str,
        body: &T,
        encrypted_answer: bool,
    ) -> Result<Response, ClientError> {
        let json = serde_json::to_vec(body)
            .map_err(|e| ClientError::InvalidArgument(format!("unserializable request: {e}")))?;
        let request = match self.request_key(encrypted_answer)? {
            Some(key) => {
                let options = jwe::EncryptOptions {
                    kid: key.jwk.kid.clone(),
                    ..jwe::EncryptOptions::default()
                };
                let token = jwe::encrypt(&json, &key.jwk, key.enc, &options)?;
                Request::post(endpoint, "application/jwt", token)
            }
            None => Request::post(endpoint, "application/json", json),
        };
        let accept = if encrypted_answer {
            "application/jwt, application/json"
        } else {
            "application/json"
        };
        let request = request
            .accept(accept)
            .header("authorization", format!("DPoP {}", tokens.access_token()));
        self.transport
            .send_with_dpop(
                request,
                what,
                &DpopUse {
                    key: &tokens.dpop_key,
                    access_token: Some(tokens.access_token()),
                },
                None,
            )
            .await
    }
}

/// The first of our `enc` values (A256GCM first) the other side lists.
fn pick_enc(supported: &[String]) -> Option<ContentEncryption> {
    ContentEncryption::ALL
        .into_iter()
        .find(|enc| supported.iter().any(|s| s == enc.jose_name()))
}

/// `credential_response_encryption` of a request: the ephemeral public key, marked for
/// `ECDH-ES` (§10: "The `alg` parameter MUST be present").
fn request_encryption(key: &ResponseKey) -> ResponseEncryption {
    let mut jwk = key.key.public_jwk();
    jwk.alg = Some(ECDH_ES.into());
    ResponseEncryption {
        jwk,
        enc: key.enc.jose_name().into(),
        zip: None,
    }
}

fn is_error(response: &Response, code: &ErrorCode) -> bool {
    response.status == 400
        && eudi_oauth::OAuthError::from_response(response.status, &response.body)
            .is_some_and(|error| &error.code == code)
}

/// Reads a credential or deferred credential answer: 200 with credentials (at most
/// `max_credentials`) or 202 with a transaction id and interval (§8.3, §9.2); encrypted as
/// `application/jwt` when an encrypted answer was asked for (errors never are, §8.3.1.2).
fn read_outcome(
    what: &'static str,
    response: &Response,
    key: Option<&ResponseKey>,
    max_credentials: usize,
    expected_transaction: Option<&str>,
) -> Result<CredentialOutcome, ClientError> {
    if !matches!(response.status, 200 | 202) {
        return Err(error_answer(what, response));
    }
    let answer: CredentialResponse = match key {
        Some(key) => {
            if !response.is("application/jwt") {
                // §10: an answer that should have been encrypted but is not is refused.
                return Err(ClientError::invalid_response(
                    what,
                    "the answer is not encrypted though encryption was asked for",
                ));
            }
            let token = std::str::from_utf8(&response.body).map_err(|_| {
                ClientError::invalid_response(what, "the encrypted answer is not text")
            })?;
            let opened = jwe::decrypt(token.trim(), &key.key, &[key.enc])?;
            serde_json::from_slice(&opened.plaintext).map_err(|e| {
                ClientError::invalid_response(what, format!("not the expected JSON: {e}"))
            })?
        }
        None => parse_json(what, response)?,
    };
    match (response.status, answer.credentials, answer.transaction_id) {
        (200, Some(credentials), None) => {
            if credentials.is_empty() || credentials.len() > max_credentials {
                return Err(ClientError::invalid_response(
                    what,
                    format!(
                        "{} credentials for at most {max_credentials} asked for",
                        credentials.len()
                    ),
                ));
            }
            Ok(CredentialOutcome::Issued {
                credentials,
                notification_id: answer.notification_id,
            })
        }
        (202, None, Some(transaction_id)) => {
            if transaction_id.is_empty()
                || expected_transaction.is_some_and(|expected| expected != transaction_id)
            {
                return Err(ClientError::invalid_response(
                    what,
                    "the transaction id is empty or not the one asked about",
                ));
            }
            let interval = answer.interval.filter(|i| *i > 0).ok_or_else(|| {
                ClientError::invalid_response(what, "a deferral without a positive interval")
            })?;
            Ok(CredentialOutcome::Deferred {
                transaction_id,
                interval,
            })
        }
        (status, _, _) => Err(ClientError::invalid_response(
            what,
            format!("status {status} with neither credentials nor a transaction id alone"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enc_preference() {
        assert_eq!(
            pick_enc(&["A128GCM".into(), "A256GCM".into()]),
            Some(ContentEncryption::A256Gcm)
        );
        assert_eq!(
            pick_enc(&["A128GCM".into()]),
            Some(ContentEncryption::A128Gcm)
        );
        assert_eq!(pick_enc(&["A128CBC-HS256".into()]), None);
    }
}
