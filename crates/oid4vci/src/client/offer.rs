//! Resolving a credential offer (OpenID4VCI 1.0 §4.1): by value in the URI, or by reference,
//! fetched with `GET` from an `https` URL (plain `http` only under the dev/test policy), as
//! `application/json`, within [`MAX_OFFER_JSON_LEN`], and checked like an offer by value.

use eudi_http::HttpClient;
use eudi_http::Request;

use crate::client::ClientConfig;
use crate::client::ClientError;
use crate::offer::CredentialOffer;
use crate::offer::MAX_OFFER_JSON_LEN;
use crate::offer::OfferError;
use crate::offer::OfferUri;
use crate::offer::parse_uri;

/// The URI schemes a wallet is invoked with for an offer: OpenID4VCI 1.0 §4.1
/// (`openid-credential-offer`), HAIP 1.0 §4.1 (`haip-vci`), and claimed `https` links.
pub const OFFER_SCHEMES: [&str; 3] = ["openid-credential-offer", "haip-vci", "https"];

fn offer_error(error: OfferError) -> ClientError {
    match error {
        OfferError::TooLarge => ClientError::TooLarge {
            what: "credential offer",
            limit: MAX_OFFER_JSON_LEN,
        },
        other => ClientError::InvalidOffer(other.to_string()),
    }
}

/// Reads a credential offer URI and, when it is by reference, fetches the offer. The offer's
/// `credential_issuer` must be a URL the policy allows; its metadata is not fetched here
/// ([`crate::client::IssuerClient::for_offer`] does that).
pub async fn resolve_offer(
    http: &dyn HttpClient,
    uri: &str,
    config: &ClientConfig,
) -> Result<CredentialOffer, ClientError> {
    let scheme = uri.split_once(':').map(|(scheme, _)| scheme);
    if !scheme.is_some_and(|s| {
        OFFER_SCHEMES
            .iter()
            .any(|known| s.eq_ignore_ascii_case(known))
    }) {
        return Err(ClientError::InvalidOffer(format!(
            "the URI scheme is not one of {}",
            OFFER_SCHEMES.join(", ")
        )));
    }
    let offer = match parse_uri(uri).map_err(offer_error)? {
        OfferUri::ByValue(offer) => offer,
        OfferUri::ByReference(url) => {
            config.check_url(&url)?;
            let response = http
                .send(Request::get(url.as_str()).accept("application/json"))
                .await?;
            if response.body.len() > MAX_OFFER_JSON_LEN {
                return Err(ClientError::TooLarge {
                    what: "credential offer",
                    limit: MAX_OFFER_JSON_LEN,
                });
            }
            if response.status != 200 {
                return Err(crate::client::transport::error_answer(
                    "credential offer",
                    &response,
                ));
            }
            // §4.1.3: the offer is `application/json`, never a (possibly unsigned) JWT.
            if !response.is("application/json") {
                return Err(ClientError::InvalidOffer(
                    "the offer by reference is not application/json".into(),
                ));
            }
            CredentialOffer::from_json(&response.body).map_err(offer_error)?
        }
    };
    config.check_url(&offer.credential_issuer)?;
    Ok(offer)
}
