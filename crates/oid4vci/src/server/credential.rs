//! The endpoints behind the access token: nonce (§7), credential (§8), deferred credential (§9)
//! and notification (§11), with DPoP-bound or bearer tokens (RFC 9449 §7, RFC 6750 §2.1) and
//! response encryption (§10).

use eudi_oauth::ErrorCode;
use eudi_oauth::OAuthError;
use eudi_oauth::dpop;
use eudi_trust::jwe;
use eudi_trust::jwe::ContentEncryption;
use eudi_trust::jwe::EncryptOptions;
use eudi_trust::jwk::Jwk;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Issuer;
use super::key_of;
use super::random;
use super::records::DeferredData;
use super::records::NotificationRecord;
use super::records::TokenRecord;
use super::records::decode_subject;
use super::records::from_bytes;
use super::records::to_bytes;
use super::store_error;
use crate::endpoint::HttpRequest;
use crate::endpoint::HttpResponse;
use crate::endpoint::JSON;
use crate::endpoint::JWT;
use crate::issuance::MintError;
use crate::issuance::MintOutcome;
use crate::issuance::MintRequest;
use crate::messages::CredentialRequest;
use crate::messages::CredentialResponse;
use crate::messages::CredentialTarget;
use crate::messages::DeferredCredentialRequest;
use crate::messages::IssuedCredential;
use crate::messages::MAX_EVENT_DESCRIPTION_LEN;
use crate::messages::NonceResponse;
use crate::messages::NotificationRequest;
use crate::messages::ResponseEncryption;
use crate::proof;
use crate::proof::ProofExpected;
use crate::store::DeferredPoll;
use crate::store::DeferredRecord;
use crate::store::DeferredState;
use crate::store::NonceKind;
use crate::store::SessionKind;
use crate::store::StoreError;

/// `invalid_transaction_id` (§9.3).
const INVALID_TRANSACTION_ID: &str = "invalid_transaction_id";
/// `invalid_notification_id` (§11.3).
const INVALID_NOTIFICATION_ID: &str = "invalid_notification_id";

/// A request whose access token (and DPoP proof) passed.
struct Authorized {
    record: TokenRecord,
    /// The storage key of the access token.
    token_key: String,
}

/// The storage key under which a token that got a deferred answer stays valid for the deferred
/// endpoint only, as long as the deferred issuance (a review takes longer than a token lives;
/// the token must not mint anything else meanwhile).
fn deferred_token_key(token_key: &str) -> String {
    format!("deferred:{token_key}")
}

fn code_error(code: &str, description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::Other(code.into()), description)
}

impl Issuer {
    /// `POST /nonce` (§7): a fresh `c_nonce`, single-use across all tokens.
    pub(super) async fn nonce(&self) -> Result<HttpResponse, OAuthError> {
        let c_nonce = random()?;
        let expires_at = self.now().saturating_add(self.config.lifetimes.c_nonce);
        self.store
            .issue_nonce(NonceKind::CNonce, &c_nonce, expires_at)
            .await
            .map_err(store_error)?;
        let mut response = HttpResponse::json_no_store(200, &NonceResponse { c_nonce });
        if self.config.dpop_nonce_required {
            response =
                response.with_header(super::DPOP_NONCE_HEADER, &self.fresh_dpop_nonce().await?);
        }
        Ok(response)
    }

    /// Checks the access token of a request to `path`: from the `Authorization` header only
    /// (never the query, RFC 6750 §2.3 is not supported; RFC 9449 §7.1), with its DPoP proof
    /// when the token is DPoP-bound. Failures are 401 with a `WWW-Authenticate` challenge and,
    /// for `use_dpop_nonce`, a fresh `DPoP-Nonce`.
    async fn authorized(
        &self,
        request: &HttpRequest,
        path: &str,
    ) -> Result<Authorized, HttpResponse> {
        match self.authorized_inner(request, path).await {
            Ok(authorized) => Ok(authorized),
            Err(error) => {
                let response = HttpResponse::error(&error);
                Err(self.with_dpop_nonce(response, &error).await)
            }
        }
    }

    async fn authorized_inner(
        &self,
        request: &HttpRequest,
        path: &str,
    ) -> Result<Authorized, OAuthError> {
        let challenge =
            |code: Option<&ErrorCode>| dpop::www_authenticate(code, &self.config.dpop_algorithms);
        let unauthorized = |code: ErrorCode, description: &str| {
            let value = challenge(Some(&code));
            OAuthError::new(code, description)
                .with_status(401)
                .with_challenge(value)
        };
        if let Some(query) = &request.query
            && eudi_oauth::Form::parse(query).is_ok_and(|form| form.contains("access_token"))
        {
            return Err(OAuthError::invalid_request(
                "access tokens are accepted in the Authorization header only",
            ));
        }
        let header = request.single_header("authorization")?.ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidToken, "an access token is required")
                .with_status(401)
                .with_challenge(challenge(None))
        })?;
        let (scheme, token) = header.split_once(' ').ok_or_else(|| {
            unauthorized(ErrorCode::InvalidToken, "malformed Authorization header")
        })?;
        let token = token.trim();
        let dpop_scheme = scheme.eq_ignore_ascii_case("DPoP");
        if !dpop_scheme && !scheme.eq_ignore_ascii_case("Bearer") {
            return Err(unauthorized(
                ErrorCode::InvalidToken,
                "the Authorization scheme must be DPoP or Bearer",
            ));
        }
        // A client that used the Bearer scheme is answered with a Bearer challenge (RFC 6750
        // §3); DPoP clients with a DPoP one (RFC 9449 §7.1).
        let unauthorized = |code: ErrorCode, description: &str| {
            if dpop_scheme {
                unauthorized(code, description)
            } else {
                let value = format!("Bearer error=\"{}\"", code.as_str());
                OAuthError::new(code, description)
                    .with_status(401)
                    .with_challenge(value)
            }
        };
        let token_key = key_of(token);
        let mut record = self
            .store
            .get(SessionKind::AccessToken, &token_key, self.now())
            .await
            .map_err(store_error)?;
        if record.is_none() && path == super::paths::DEFERRED_CREDENTIAL {
            record = self
                .store
                .get(
                    SessionKind::AccessToken,
                    &deferred_token_key(&token_key),
                    self.now(),
                )
                .await
                .map_err(store_error)?;
        }
        let record = record.ok_or_else(|| {
            unauthorized(
                ErrorCode::InvalidToken,
                "the access token is invalid or expired",
            )
        })?;
        let record: TokenRecord = from_bytes(&record)?;
        match &record.dpop_jkt {
            Some(jkt) => {
                if !dpop_scheme {
                    // RFC 9449 §7.2: a DPoP-bound token presented as a bearer token.
                    return Err(unauthorized(
                        ErrorCode::InvalidToken,
                        "the access token is DPoP-bound: use the DPoP scheme",
                    ));
                }
                let checked = self
                    .check_dpop(request, path, Some(token), Some(jkt))
                    .await
                    .map_err(|error| {
                        let value = challenge(Some(&error.code));
                        error.with_status(401).with_challenge(value)
                    })?;
                if checked.is_none() {
                    return Err(unauthorized(
                        ErrorCode::InvalidDpopProof,
                        "a DPoP proof is required with this access token",
                    ));
                }
            }
            None => {
                if dpop_scheme {
                    return Err(unauthorized(
                        ErrorCode::InvalidToken,
                        "the access token is not DPoP-bound",
                    ));
                }
            }
        }
        Ok(Authorized { record, token_key })
    }

    /// The encryption a request asks for, checked against the configuration (§10).
    fn response_encryption(
        &self,
        requested: Option<&ResponseEncryption>,
    ) -> Result<Option<(Jwk, ContentEncryption)>, OAuthError> {
        let invalid = |description: &str| {
            OAuthError::new(ErrorCode::InvalidEncryptionParameters, description)
        };
        let config = self.config.response_encryption.as_ref();
        let Some(requested) = requested else {
            if config.is_some_and(|config| config.required) {
                return Err(invalid(
                    "this issuer requires credential response encryption",
                ));
            }
            return Ok(None);
        };
        let Some(config) = config else {
            return Err(invalid("this issuer does not encrypt credential responses"));
        };
        let enc = ContentEncryption::from_jose(&requested.enc)
            .filter(|enc| config.encs.contains(enc))
            .ok_or_else(|| invalid("the enc is not supported"))?;
        if requested.zip.is_some() {
            return Err(invalid("compression is not supported"));
        }
        let jwk = &requested.jwk;
        let usable = jwk.kty == "EC"
            && jwk.crv.as_deref() == Some("P-256")
            && jwk.alg.as_deref().is_none_or(|alg| alg == jwe::ALG_ECDH_ES)
            && jwk.use_.as_deref().is_none_or(|use_| use_ == "enc")
            && jwk.to_verifying_key().is_ok();
        if !usable {
            return Err(invalid("the jwk is not a P-256 ECDH-ES public key"));
        }
        Ok(Some((jwk.clone(), enc)))
    }

    /// A success answer, encrypted when asked (`application/jwt`, §10).
    fn answer(
        &self,
        status: u16,
        body: &impl Serialize,
        encryption: Option<&(Jwk, ContentEncryption)>,
    ) -> Result<HttpResponse, OAuthError> {
        let Some((jwk, enc)) = encryption else {
            return Ok(HttpResponse::json_no_store(status, body));
        };
        let plaintext = serde_json::to_vec(body).map_err(|_| OAuthError::server_error())?;
        let options = EncryptOptions {
            kid: jwk.kid.clone(),
            ..EncryptOptions::default()
        };
        let token = jwe::encrypt(&plaintext, jwk, *enc, &options).map_err(|_| {
            OAuthError::new(
                ErrorCode::InvalidEncryptionParameters,
                "the response cannot be encrypted to this key",
            )
        })?;
        Ok(HttpResponse::with_body(status, JWT, token.into_bytes()).no_store())
    }

    /// `POST /credential` (§8).
    pub(super) async fn credential(
        &self,
        request: &HttpRequest,
    ) -> Result<HttpResponse, OAuthError> {
        let authorized = match self.authorized(request, super::paths::CREDENTIAL).await {
            Ok(authorized) => authorized,
            Err(response) => return Ok(response),
        };
        let body: CredentialRequest = read_json(request, ErrorCode::InvalidCredentialRequest)?;
        let record = &authorized.record;
        let configuration_id = match body.target()? {
            CredentialTarget::Configuration(id) => {
                if !self.config.configurations.contains_key(id) {
                    return Err(OAuthError::new(
                        ErrorCode::UnknownCredentialConfiguration,
                        "the credential configuration is unknown",
                    ));
                }
                if !record
                    .credentials
                    .iter()
                    .any(|granted| granted.configuration_id == id)
                {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidCredentialRequest,
                        "the access token does not grant this credential configuration",
                    ));
                }
                id.to_owned()
            }
            CredentialTarget::Identifier(identifier) => record
                .credentials
                .iter()
                .find(|granted| granted.identifier == identifier)
                .map(|granted| granted.configuration_id.clone())
                .ok_or_else(|| {
                    OAuthError::new(
                        ErrorCode::UnknownCredentialIdentifier,
                        "the credential identifier is unknown",
                    )
                })?,
        };
        let configuration = self
            .config
            .configurations
            .get(&configuration_id)
            .ok_or_else(|| {
                OAuthError::new(
                    ErrorCode::UnknownCredentialConfiguration,
                    "the credential configuration is no longer offered",
                )
            })?;
        let encryption = self.response_encryption(body.credential_response_encryption.as_ref())?;

        // Key proofs: all verified before any nonce is spent.
        let invalid_proof =
            |description: &str| OAuthError::new(ErrorCode::InvalidProof, description);
        let proofs = body
            .proofs
            .as_ref()
            .ok_or_else(|| invalid_proof("proofs are required"))?;
        if !proofs.other.is_empty() {
            return Err(invalid_proof("only the jwt proof type is supported"));
        }
        let jwts = proofs
            .jwt
            .as_ref()
            .filter(|jwts| !jwts.is_empty())
            .ok_or_else(|| invalid_proof("proofs.jwt must hold at least one proof"))?;
        let batch_size = usize::try_from(self.config.batch_size).unwrap_or(usize::MAX);
        if jwts.len() > batch_size {
            return Err(OAuthError::new(
                ErrorCode::InvalidCredentialRequest,
                "more proofs than batch_size",
            ));
        }
        let jwt_metadata = configuration.jwt_proof();
        let expected = ProofExpected {
            audience: &self.config.credential_issuer,
            client_id: record.client_id.as_deref(),
            now: self.now(),
            max_age: self.config.lifetimes.key_proof_age,
            leeway: self.config.leeway,
            nonce_required: true,
            algorithms: &self.config.proof_algorithms,
            attestation_trust: &self.config.key_attestation_trust,
            attestation_required: jwt_metadata.and_then(|m| m.key_attestations_required.as_ref()),
        };
        let mut holder_keys: Vec<Jwk> = Vec::new();
        // Each key's thumbprint once (JSON + SHA-256): comparing against every earlier key's
        // recomputed thumbprint cost n(n-1)/2 of them per batch.
        let mut thumbprints = Vec::new();
        let mut nonces: Vec<String> = Vec::new();
        for jwt in jwts {
            let verified = proof::verify(jwt, &expected).map_err(|error| error.to_oauth())?;
            for key in verified.holder_keys() {
                let jkt = key.thumbprint();
                if thumbprints.contains(&jkt) {
                    return Err(invalid_proof("a key is proven twice"));
                }
                thumbprints.push(jkt);
                holder_keys.push(key);
            }
            if let Some(nonce) = verified.nonce
                && !nonces.contains(&nonce)
            {
                nonces.push(nonce);
            }
        }
        if holder_keys.len() > batch_size {
            return Err(OAuthError::new(
                ErrorCode::InvalidCredentialRequest,
                "more attested keys than batch_size",
            ));
        }
        // A batch's proofs may share one c_nonce (one nonce endpoint call); each distinct
        // nonce is spent once, atomically, in the store.
        for nonce in &nonces {
            let fresh = self
                .store
                .consume_nonce(NonceKind::CNonce, nonce, self.now())
                .await
                .map_err(store_error)?;
            if !fresh {
                return Err(OAuthError::new(
                    ErrorCode::InvalidNonce,
                    "the c_nonce is unknown, expired or used",
                ));
            }
        }

        let subject = decode_subject(&record.subject)?;
        let now = self.now();
        let outcome = self
            .minter
            .mint(MintRequest {
                subject: &subject,
                configuration_id: &configuration_id,
                holder_keys: &holder_keys,
                reviewed: false,
                now,
            })
            .await;
        match outcome {
            Ok(MintOutcome::Issued(credentials)) => {
                let response = self
                    .issued_response(
                        &record.subject,
                        &configuration_id,
                        credentials,
                        holder_keys.len(),
                    )
                    .await?;
                self.answer(200, &response, encryption.as_ref())
            }
            Ok(MintOutcome::Deferred { reason }) => {
                let transaction_id = random()?;
                let data = DeferredData {
                    subject: record.subject.clone(),
                    configuration_id: configuration_id.clone(),
                    holder_keys,
                };
                let deferred = DeferredRecord {
                    id: short_id()?,
                    transaction_key: key_of(&transaction_id),
                    state: DeferredState::Pending,
                    reason,
                    record: to_bytes(&data)?,
                    created_at: now,
                    expires_at: now.saturating_add(self.config.lifetimes.deferred),
                };
                self.store
                    .create_deferred(&deferred)
                    .await
                    .map_err(store_error)?;
                match self
                    .store
                    .put(
                        SessionKind::AccessToken,
                        &deferred_token_key(&authorized.token_key),
                        &to_bytes(record)?,
                        deferred.expires_at,
                    )
                    .await
                {
                    // The token got a deferred answer before: it is kept already.
                    Ok(()) | Err(StoreError::Duplicate(_)) => {}
                    Err(error) => return Err(store_error(error)),
                }
                let response = CredentialResponse {
                    transaction_id: Some(transaction_id),
                    interval: Some(self.config.deferred_interval),
                    ..CredentialResponse::default()
                };
                self.answer(202, &response, encryption.as_ref())
            }
            Err(error) => Err(mint_error(error)),
        }
    }

    /// The response for minted credentials, with a fresh `notification_id`.
    async fn issued_response(
        &self,
        subject: &str,
        configuration_id: &str,
        credentials: Vec<String>,
        expected: usize,
    ) -> Result<CredentialResponse, OAuthError> {
        if credentials.len() != expected {
            tracing::error!(
                issued = credentials.len(),
                expected,
                "the minter issued a wrong number of credentials"
            );
            return Err(OAuthError::server_error());
        }
        let notification_id = random()?;
        let record = NotificationRecord {
            subject: subject.to_owned(),
            configuration_id: configuration_id.to_owned(),
        };
        self.store
            .put(
                SessionKind::Notification,
                &key_of(&notification_id),
                &to_bytes(&record)?,
                self.now()
                    .saturating_add(self.config.lifetimes.notification),
            )
            .await
            .map_err(store_error)?;
        Ok(CredentialResponse {
            credentials: Some(
                credentials
                    .into_iter()
                    .map(|credential| IssuedCredential {
                        credential: credential.into(),
                    })
                    .collect(),
            ),
            notification_id: Some(notification_id),
            ..CredentialResponse::default()
        })
    }

    /// `POST /deferred_credential` (§9). An approved issuance is minted (`reviewed`) first and
    /// marked issued only after minting succeeded: a minter failure leaves it approved, so the
    /// wallet's next poll tries again.
    pub(super) async fn deferred_credential(
        &self,
        request: &HttpRequest,
    ) -> Result<HttpResponse, OAuthError> {
        let authorized = match self
            .authorized(request, super::paths::DEFERRED_CREDENTIAL)
            .await
        {
            Ok(authorized) => authorized,
            Err(response) => return Ok(response),
        };
        let body: DeferredCredentialRequest =
            read_json(request, ErrorCode::InvalidCredentialRequest)?;
        let encryption = self.response_encryption(body.credential_response_encryption.as_ref())?;
        let transaction_key = key_of(&body.transaction_id);
        let now = self.now();
        let invalid_transaction = || {
            code_error(
                INVALID_TRANSACTION_ID,
                "the transaction_id is invalid or was used",
            )
        };
        // The store hands an approved record out once (`poll_deferred`), and marks it issued
        // as it does; so the record is read first, minted, and only then polled.
        let found = self
            .store
            .deferred(None, now)
            .await
            .map_err(store_error)?
            .into_iter()
            .find(|record| record.transaction_key == transaction_key)
            .ok_or_else(invalid_transaction)?;
        let data: DeferredData = from_bytes(&found.record)?;
        if data.subject != authorized.record.subject {
            return Err(invalid_transaction());
        }
        match found.state {
            DeferredState::Pending => {
                let response = CredentialResponse {
                    transaction_id: Some(body.transaction_id.clone()),
                    interval: Some(self.config.deferred_interval),
                    ..CredentialResponse::default()
                };
                self.answer(202, &response, encryption.as_ref())
            }
            DeferredState::Rejected => Err(OAuthError::new(
                ErrorCode::CredentialRequestDenied,
                "the issuance was refused after review",
            )),
            DeferredState::Issued => Err(invalid_transaction()),
            DeferredState::Approved => {
                let subject = decode_subject(&data.subject)?;
                let outcome = self
                    .minter
                    .mint(MintRequest {
                        subject: &subject,
                        configuration_id: &data.configuration_id,
                        holder_keys: &data.holder_keys,
                        reviewed: true,
                        now,
                    })
                    .await;
                let credentials = match outcome {
                    Ok(MintOutcome::Issued(credentials)) => credentials,
                    Ok(MintOutcome::Deferred { .. }) => {
                        tracing::error!("the minter deferred a reviewed issuance");
                        return Err(OAuthError::server_error());
                    }
                    Err(error) => return Err(mint_error(error)),
                };
                match self
                    .store
                    .poll_deferred(&transaction_key, now)
                    .await
                    .map_err(store_error)?
                {
                    DeferredPoll::Ready(_) => {}
                    // Another instance handed it out meanwhile: these credentials are dropped.
                    DeferredPoll::Pending | DeferredPoll::Rejected | DeferredPoll::Unknown => {
                        return Err(invalid_transaction());
                    }
                }
                let response = self
                    .issued_response(
                        &data.subject,
                        &data.configuration_id,
                        credentials,
                        data.holder_keys.len(),
                    )
                    .await?;
                self.answer(200, &response, encryption.as_ref())
            }
        }
    }

    /// `POST /notification` (§11): 204, or `invalid_notification_id`.
    pub(super) async fn notification(
        &self,
        request: &HttpRequest,
    ) -> Result<HttpResponse, OAuthError> {
        let authorized = match self.authorized(request, super::paths::NOTIFICATION).await {
            Ok(authorized) => authorized,
            Err(response) => return Ok(response),
        };
        let body: NotificationRequest = read_json(request, ErrorCode::InvalidRequest)?;
        if body
            .event_description
            .as_ref()
            .is_some_and(|d| d.len() > MAX_EVENT_DESCRIPTION_LEN || !d.is_ascii())
        {
            return Err(OAuthError::invalid_request(
                "event_description must be ASCII and short",
            ));
        }
        let unknown = || code_error(INVALID_NOTIFICATION_ID, "the notification_id is invalid");
        let key = key_of(&body.notification_id);
        let now = self.now();
        let record = self
            .store
            .get(SessionKind::Notification, &key, now)
            .await
            .map_err(store_error)?
            .ok_or_else(unknown)?;
        let record: NotificationRecord = from_bytes(&record)?;
        if record.subject != authorized.record.subject {
            return Err(unknown());
        }
        // One event per notification_id: a second one is refused.
        if self
            .store
            .take(SessionKind::Notification, &key, now)
            .await
            .map_err(store_error)?
            .is_none()
        {
            return Err(unknown());
        }
        tracing::info!(
            event = ?body.event,
            configuration = %record.configuration_id,
            "wallet notification"
        );
        Ok(HttpResponse::empty(204))
    }
}

/// Reads a JSON body (`Content-Type: application/json`); anything else is `code`.
fn read_json<T: DeserializeOwned>(request: &HttpRequest, code: ErrorCode) -> Result<T, OAuthError> {
    let content_type = request.single_header("content-type")?.unwrap_or_default();
    if !eudi_oauth::form::is_media_type(content_type, JSON) {
        return Err(OAuthError::new(code, "the body must be application/json"));
    }
    serde_json::from_slice(&request.body)
        .map_err(|_| OAuthError::new(code, "the body is not a valid request"))
}

fn mint_error(error: MintError) -> OAuthError {
    match error {
        MintError::Refused(reason) => OAuthError::new(ErrorCode::CredentialRequestDenied, reason),
        MintError::Internal(detail) => {
            tracing::error!(%detail, "minting failed");
            OAuthError::server_error()
        }
    }
}

/// A short id a reviewer types (48 random bits, base64url).
fn short_id() -> Result<String, OAuthError> {
    let token = random()?;
    Ok(token.chars().take(8).collect())
}

#[cfg(test)]
mod tests {
    use super::super::records::encode_subject;
    use super::*;

    #[test]
    fn subjects_round_trip() {
        let subject = b"\x00cpr-hash\xff".to_vec();
        assert_eq!(decode_subject(&encode_subject(&subject)).unwrap(), subject);
    }
}
