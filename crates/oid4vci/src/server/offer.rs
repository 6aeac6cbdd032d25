//! Pre-authorized credential offers (§4.1.1, the in-person path of `eudi-issuer offer`) and
//! offers by reference (`GET /credential_offer/{id}`, §4.1.3).

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rand::SystemRandom;
use eudi_oauth::ErrorCode;
use eudi_oauth::OAuthError;

use super::Issuer;
use super::config::TX_CODE_DIGITS;
use super::key_of;
use super::random;
use super::records::GrantRecord;
use super::records::encode_subject;
use super::records::to_bytes;
use super::store_error;
use super::token::tx_code_key;
use crate::endpoint::HttpResponse;
use crate::offer;
use crate::offer::CredentialOffer;
use crate::offer::Grants;
use crate::offer::PreAuthorizedCodeGrant;
use crate::offer::TxCode;
use crate::store::NewPreAuthorizedCode;
use crate::store::SessionKind;

/// The longest offer id accepted in a path.
const MAX_OFFER_ID_LEN: usize = 64;

/// An offer just made.
#[derive(Clone, PartialEq, Eq)]
pub struct CreatedOffer {
    /// The `openid-credential-offer://` URI to show (as a link or QR code).
    pub uri: String,
    /// The offer.
    pub offer: CredentialOffer,
    /// The transaction code to tell the person another way, when one was asked for.
    pub tx_code: Option<String>,
}

impl std::fmt::Debug for CreatedOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedOffer")
            .field("offer", &self.offer)
            .field("tx_code", &self.tx_code.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Why no offer was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferCreationError {
    /// No configuration ids, or one this issuer does not have.
    #[error("unknown or no credential configuration: {0}")]
    UnknownConfiguration(String),
    /// The store or the random generator failed.
    #[error("the offer could not be stored")]
    Internal,
}

/// A uniformly random numeric code of [`TX_CODE_DIGITS`] digits.
fn numeric_code() -> Result<String, OfferCreationError> {
    let modulus = 10u32.pow(TX_CODE_DIGITS);
    // Rejection sampling: values at or above the largest multiple of `modulus` would bias the
    // low codes.
    let limit = u32::MAX - u32::MAX % modulus;
    let rng = SystemRandom::new();
    loop {
        let mut bytes = [0u8; 4];
        rng.fill(&mut bytes)
            .map_err(|_| OfferCreationError::Internal)?;
        let value = u32::from_be_bytes(bytes);
        if value < limit {
            let width = usize::try_from(TX_CODE_DIGITS).unwrap_or(6);
            return Ok(format!("{:0width$}", value % modulus));
        }
    }
}

impl Issuer {
    /// Makes a pre-authorized offer of `configuration_ids` for `subject`, with a 6-digit
    /// transaction code when `with_tx_code`, passed by reference when `by_reference`.
    pub async fn create_pre_authorized_offer(
        &self,
        subject: &[u8],
        configuration_ids: &[String],
        with_tx_code: bool,
        by_reference: bool,
    ) -> Result<CreatedOffer, OfferCreationError> {
        if configuration_ids.is_empty() {
            return Err(OfferCreationError::UnknownConfiguration(
                "none given".into(),
            ));
        }
        if let Some(unknown) = configuration_ids
            .iter()
            .find(|id| !self.config.configurations.contains_key(*id))
        {
            return Err(OfferCreationError::UnknownConfiguration(unknown.clone()));
        }
        let internal = |_| OfferCreationError::Internal;
        let code = random().map_err(internal)?;
        let tx_code = if with_tx_code {
            Some(numeric_code()?)
        } else {
            None
        };
        let now = self.now();
        let expires_at = now.saturating_add(self.config.lifetimes.pre_authorized_code);
        let grant = GrantRecord {
            subject: encode_subject(subject),
            configuration_ids: configuration_ids.to_vec(),
        };
        let new_code = NewPreAuthorizedCode {
            code_key: key_of(&code),
            tx_code_key: tx_code.as_deref().map(|tx| tx_code_key(&code, tx)),
            attempts: self.config.tx_code_attempts,
            record: to_bytes(&grant).map_err(internal)?,
            expires_at,
        };
        self.store
            .create_pre_authorized_code(&new_code)
            .await
            .map_err(|e| internal(store_error(e)))?;
        let offer = CredentialOffer {
            credential_issuer: self.config.credential_issuer.clone(),
            credential_configuration_ids: configuration_ids.to_vec(),
            grants: Some(Grants {
                authorization_code: None,
                pre_authorized_code: Some(PreAuthorizedCodeGrant {
                    pre_authorized_code: code,
                    tx_code: tx_code.as_ref().map(|_| TxCode {
                        input_mode: Some("numeric".into()),
                        length: Some(TX_CODE_DIGITS),
                        description: Some("The code the issuer's caseworker gave you".into()),
                    }),
                    authorization_server: None,
                }),
            }),
        };
        let uri = if by_reference {
            let id = random().map_err(internal)?;
            let json = serde_json::to_vec(&offer).map_err(|_| OfferCreationError::Internal)?;
            self.store
                .put(
                    SessionKind::CredentialOffer,
                    &key_of(&id),
                    &json,
                    expires_at,
                )
                .await
                .map_err(|e| internal(store_error(e)))?;
            offer::uri_by_reference(
                &self.url(&format!("{}{id}", super::paths::CREDENTIAL_OFFER_PREFIX)),
            )
        } else {
            offer.to_uri().map_err(|_| OfferCreationError::Internal)?
        };
        Ok(CreatedOffer {
            uri,
            offer,
            tx_code,
        })
    }

    /// `GET /credential_offer/{id}`.
    pub(super) async fn offer_by_reference(&self, id: &str) -> Result<HttpResponse, OAuthError> {
        let not_found = || {
            OAuthError::new(ErrorCode::InvalidRequest, "no such credential offer").with_status(404)
        };
        if id.is_empty() || id.len() > MAX_OFFER_ID_LEN {
            return Err(not_found());
        }
        let offer = self
            .store
            .get(SessionKind::CredentialOffer, &key_of(id), self.now())
            .await
            .map_err(store_error)?
            .ok_or_else(not_found)?;
        Ok(HttpResponse::with_body(200, crate::endpoint::JSON, offer).no_store())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_codes_are_six_digits_and_vary() {
        let codes: Vec<String> = (0..20).map(|_| numeric_code().unwrap()).collect();
        assert!(
            codes
                .iter()
                .all(|code| code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(codes.iter().any(|code| code != &codes[0]));
    }
}
