//! The Referenced Token's side (§6): the `status` claim pointing into a Status List.

use ciborium::Value as CborValue;
use serde_json::Map;
use serde_json::Value as JsonValue;

use crate::Limits;
use crate::StatusListError;

/// CWT claim key of the `status` claim (§6.3).
const CLAIM_STATUS: i64 = 65535;

/// Where a Referenced Token's status lives: index `idx` of the Status List Token at `uri`
/// (§6.2 `status_list` in JOSE, §6.3 `StatusListInfo` in COSE).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StatusReference {
    /// The index in the Status List.
    pub idx: u64,
    /// The URI of the Status List Token; its `sub` must equal this.
    pub uri: String,
}

impl StatusReference {
    /// Reads `status.status_list` from a JWT, SD-JWT or SD-JWT VC claims set (§6.2).
    ///
    /// For an SD-JWT, pass the issuer-signed payload: `status` is not selectively disclosable.
    pub fn from_jwt_claims(claims: &Map<String, JsonValue>) -> Result<Self, StatusListError> {
        let status = claims
            .get("status")
            .ok_or(StatusListError::MissingStatusReference("no `status` claim"))?
            .as_object()
            .ok_or(StatusListError::MalformedStatusReference(
                "`status` is not an object",
            ))?;
        let info = status
            .get("status_list")
            .ok_or(StatusListError::MissingStatusReference(
                "`status` has no `status_list` member",
            ))?
            .as_object()
            .ok_or(StatusListError::MalformedStatusReference(
                "`status_list` is not an object",
            ))?;
        let idx = info
            .get("idx")
            .ok_or(StatusListError::MalformedStatusReference(
                "`idx` is missing",
            ))?
            .as_u64()
            .ok_or(StatusListError::MalformedStatusReference(
                "`idx` is not a non-negative integer",
            ))?;
        let uri = info
            .get("uri")
            .ok_or(StatusListError::MalformedStatusReference(
                "`uri` is missing",
            ))?
            .as_str()
            .ok_or(StatusListError::MalformedStatusReference(
                "`uri` is not a string",
            ))?;
        Self::new(idx, uri)
    }

    /// Reads claim 65535 `{"status_list": {"idx", "uri"}}` from a decoded CWT claims set
    /// (§6.3).
    pub fn from_cwt_claims(claims: &CborValue) -> Result<Self, StatusListError> {
        let entries = claims
            .as_map()
            .ok_or(StatusListError::MalformedStatusReference(
                "CWT claims set is not a map",
            ))?;
        let status = eudi_cbor::int_key(entries, CLAIM_STATUS)
            .map_err(|_| {
                StatusListError::MalformedStatusReference("claim 65535 appears more than once")
            })?
            .ok_or(StatusListError::MissingStatusReference(
                "no `status` claim (65535)",
            ))?;
        Self::from_cbor_status(status)
    }

    /// Reads claim 65535 from an encoded CWT claims set (a `COSE_Sign1` payload), within the
    /// default [`Limits`].
    pub fn from_cwt_claims_bytes(claims: &[u8]) -> Result<Self, StatusListError> {
        let limits = Limits::default();
        if claims.len() > limits.max_token_bytes {
            return Err(StatusListError::TokenTooLarge {
                len: claims.len(),
                limit: limits.max_token_bytes,
            });
        }
        let value = eudi_cbor::decode_value(claims, limits.max_cbor_items)
            .map_err(StatusListError::Cbor)?;
        Self::from_cwt_claims(&value)
    }

    /// Reads `status_list` from a CBOR `Status` map (§6.3), as found in claim 65535 of a CWT or
    /// in the `status` element of an ISO mdoc MSO.
    pub fn from_cbor_status(status: &CborValue) -> Result<Self, StatusListError> {
        let entries = status
            .as_map()
            .ok_or(StatusListError::MalformedStatusReference(
                "`status` is not a map",
            ))?;
        let info = key(entries, "status_list")?
            .ok_or(StatusListError::MissingStatusReference(
                "`status` has no `status_list` entry",
            ))?
            .as_map()
            .ok_or(StatusListError::MalformedStatusReference(
                "`status_list` is not a map",
            ))?;
        let idx = match key(info, "idx")? {
            None => {
                return Err(StatusListError::MalformedStatusReference(
                    "`idx` is missing",
                ));
            }
            Some(CborValue::Integer(i)) => u64::try_from(*i).map_err(|_| {
                StatusListError::MalformedStatusReference("`idx` is not an unsigned integer")
            })?,
            Some(_) => {
                return Err(StatusListError::MalformedStatusReference(
                    "`idx` is not an unsigned integer",
                ));
            }
        };
        let uri = match key(info, "uri")? {
            None => {
                return Err(StatusListError::MalformedStatusReference(
                    "`uri` is missing",
                ));
            }
            Some(CborValue::Text(uri)) => uri,
            Some(_) => {
                return Err(StatusListError::MalformedStatusReference(
                    "`uri` is not a text string",
                ));
            }
        };
        Self::new(idx, uri)
    }

    fn new(idx: u64, uri: &str) -> Result<Self, StatusListError> {
        if !looks_like_uri(uri) {
            return Err(StatusListError::MalformedStatusReference(
                "`uri` is not an absolute URI",
            ));
        }
        Ok(Self {
            idx,
            uri: uri.into(),
        })
    }
}

/// The value under text key `name`; a duplicate key is an error.
fn key<'a>(
    entries: &'a [(CborValue, CborValue)],
    name: &str,
) -> Result<Option<&'a CborValue>, StatusListError> {
    eudi_cbor::text_key(entries, name)
        .map_err(|_| StatusListError::MalformedStatusReference("duplicate map key"))
}

/// Whether `s` starts with an RFC 3986 scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`)
/// and holds no whitespace or control characters. Full RFC 3986 validation is not needed: the
/// URI is only compared with `sub` and handed to an HTTP client that parses it again.
pub(crate) fn looks_like_uri(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn jwt(value: JsonValue) -> Map<String, JsonValue> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn jose_reference_is_read() {
        let claims = jwt(json!({
            "status": {"status_list": {"idx": 7, "uri": "https://example.com/statuslists/1"}}
        }));
        assert_eq!(
            StatusReference::from_jwt_claims(&claims).unwrap(),
            StatusReference {
                idx: 7,
                uri: "https://example.com/statuslists/1".into()
            }
        );
    }

    #[test]
    fn jose_reference_failures_are_named() {
        for (claims, err) in [
            (
                json!({}),
                StatusListError::MissingStatusReference("no `status` claim"),
            ),
            (
                json!({"status": 1}),
                StatusListError::MalformedStatusReference("`status` is not an object"),
            ),
            (
                json!({"status": {"other": {}}}),
                StatusListError::MissingStatusReference("`status` has no `status_list` member"),
            ),
            (
                json!({"status": {"status_list": {"uri": "https://a"}}}),
                StatusListError::MalformedStatusReference("`idx` is missing"),
            ),
            (
                json!({"status": {"status_list": {"idx": -1, "uri": "https://a"}}}),
                StatusListError::MalformedStatusReference("`idx` is not a non-negative integer"),
            ),
            (
                json!({"status": {"status_list": {"idx": 1.5, "uri": "https://a"}}}),
                StatusListError::MalformedStatusReference("`idx` is not a non-negative integer"),
            ),
            (
                json!({"status": {"status_list": {"idx": 1}}}),
                StatusListError::MalformedStatusReference("`uri` is missing"),
            ),
            (
                json!({"status": {"status_list": {"idx": 1, "uri": "no scheme"}}}),
                StatusListError::MalformedStatusReference("`uri` is not an absolute URI"),
            ),
        ] {
            assert_eq!(
                StatusReference::from_jwt_claims(&jwt(claims.clone())),
                Err(err),
                "{claims}"
            );
        }
    }

    #[test]
    fn cose_reference_failures_are_named() {
        let t = |s: &str| CborValue::Text(s.into());
        let i = |n: i64| CborValue::Integer(n.into());
        let status = |info: Vec<(CborValue, CborValue)>| {
            CborValue::Map(vec![(
                i(65535),
                CborValue::Map(vec![(t("status_list"), CborValue::Map(info))]),
            )])
        };
        assert_eq!(
            StatusReference::from_cwt_claims(&status(vec![
                (t("idx"), i(3)),
                (t("uri"), t("https://example.com/1"))
            ]))
            .unwrap()
            .idx,
            3
        );
        for (claims, why) in [
            (
                status(vec![(t("idx"), i(-3)), (t("uri"), t("https://a"))]),
                "`idx` is not an unsigned integer",
            ),
            (
                status(vec![(t("idx"), t("3")), (t("uri"), t("https://a"))]),
                "`idx` is not an unsigned integer",
            ),
            (
                status(vec![(t("idx"), i(3)), (t("uri"), CborValue::Bytes(vec![]))]),
                "`uri` is not a text string",
            ),
            (
                status(vec![
                    (t("idx"), i(3)),
                    (t("idx"), i(4)),
                    (t("uri"), t("https://a")),
                ]),
                "duplicate map key",
            ),
            (CborValue::Array(vec![]), "CWT claims set is not a map"),
        ] {
            assert_eq!(
                StatusReference::from_cwt_claims(&claims),
                Err(StatusListError::MalformedStatusReference(why))
            );
        }
        assert_eq!(
            StatusReference::from_cwt_claims(&CborValue::Map(vec![])),
            Err(StatusListError::MissingStatusReference(
                "no `status` claim (65535)"
            ))
        );
    }

    #[test]
    fn uri_shape() {
        assert!(looks_like_uri("https://example.com/statuslists/1"));
        assert!(looks_like_uri("urn:example:1"));
        assert!(!looks_like_uri("example.com/statuslists/1"));
        assert!(!looks_like_uri("1https://x"));
        assert!(!looks_like_uri("https://exa mple.com"));
        assert!(!looks_like_uri(":x"));
    }
}
