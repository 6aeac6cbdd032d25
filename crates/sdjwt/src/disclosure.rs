//! Disclosures (RFC 9901 §4.2): `base64url(JSON([salt, name, value]))` for object properties and
//! `base64url(JSON([salt, value]))` for array elements.

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rand::SystemRandom;
use eudi_trust::b64;
use serde_json::Value;

use crate::IssueError;
use crate::SdJwtError;

/// Bytes of entropy in a generated salt: 128 bits, as RFC 9901 §9.3 recommends.
pub const SALT_BYTES: usize = 16;

/// A decoded Disclosure.
#[derive(Clone, Debug, PartialEq)]
pub struct Disclosure {
    encoded: String,
    salt: String,
    name: Option<String>,
    value: Value,
}

impl Disclosure {
    /// Decodes and checks the shape of the disclosure at `index` of a presentation.
    pub fn parse(encoded: &str, index: usize) -> Result<Self, SdJwtError> {
        let (salt, name, value) = decode(encoded, index)?;
        Ok(Self {
            encoded: encoded.to_owned(),
            salt,
            name,
            value,
        })
    }

    /// A new object-property disclosure. A reserved name (`_sd`, `...`, `_sd_alg`) is refused.
    pub fn property(salt: &str, name: &str, value: &Value) -> Result<Self, IssueError> {
        if is_reserved(name) {
            return Err(IssueError::ReservedClaimName {
                path: format!("[{name:?}]"),
                reason: "the claim name is reserved by RFC 9901",
            });
        }
        Ok(Self {
            encoded: encode_property(salt, name, value)?,
            salt: salt.to_owned(),
            name: Some(name.to_owned()),
            value: value.clone(),
        })
    }

    /// A new array-element disclosure.
    pub fn element(salt: &str, value: &Value) -> Result<Self, IssueError> {
        Ok(Self {
            encoded: encode_element(salt, value)?,
            salt: salt.to_owned(),
            name: None,
            value: value.clone(),
        })
    }

    /// The base64url string, exactly as it was issued or presented.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The salt.
    pub fn salt(&self) -> &str {
        &self.salt
    }

    /// The claim name, or `None` for an array element.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The disclosed value (which may itself contain digests).
    pub fn value(&self) -> &Value {
        &self.value
    }
}

/// Whether a disclosed claim name is one RFC 9901 reserves for its own structure: `_sd` and
/// `...` (§4.2.1, checked on verification by §7.1 step 3.3.2.2), and `_sd_alg`, which only the
/// top level of the payload may carry (§4.1.1): disclosed, it would enter the processed
/// payload from which §7.1 step 6 removes it.
pub(crate) fn is_reserved(name: &str) -> bool {
    matches!(name, "_sd" | "..." | "_sd_alg")
}

/// Decodes the disclosure at `index` into (salt, name, value), checking its shape
/// (RFC 9901 §4.2.1, §4.2.2) and the reserved names (§7.1 step 3.3.2.2).
pub(crate) fn decode(
    encoded: &str,
    index: usize,
) -> Result<(String, Option<String>, Value), SdJwtError> {
    let malformed = |reason| SdJwtError::MalformedDisclosure { index, reason };
    let json = b64::decode(encoded).map_err(|_| malformed("not base64url"))?;
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&json) else {
        return Err(malformed("not a JSON array"));
    };
    let mut items = items.into_iter();
    let (salt, name, value) = match (items.next(), items.next(), items.next(), items.next()) {
        (Some(salt), Some(value), None, None) => (salt, None, value),
        (Some(salt), Some(name), Some(value), None) => {
            let Value::String(name) = name else {
                return Err(malformed("claim name is not a string"));
            };
            if is_reserved(&name) {
                return Err(SdJwtError::ReservedClaimName { index, name });
            }
            (salt, Some(name), value)
        }
        _ => return Err(malformed("not an array of 2 or 3 elements")),
    };
    let Value::String(salt) = salt else {
        return Err(malformed("salt is not a string"));
    };
    Ok((salt, name, value))
}

/// Like [`decode`] without the salt, for processing: the array is read element by element
/// (no intermediate `Vec<Value>`, the salt is only checked to be a string). Same checks, same
/// errors, in the same order.
///
/// `buf` is scratch space for the decoded JSON, reused across calls.
pub(crate) fn decode_for_processing(
    encoded: &str,
    index: usize,
    buf: &mut Vec<u8>,
) -> Result<(Option<String>, Value), SdJwtError> {
    let malformed = |reason| SdJwtError::MalformedDisclosure { index, reason };
    buf.clear();
    b64::decode_into_vec(encoded, buf).map_err(|_| malformed("not base64url"))?;
    let Ok(RawDisclosure(shape)) = serde_json::from_slice::<RawDisclosure>(buf) else {
        return Err(malformed("not a JSON array"));
    };
    let (salt_is_string, name, value) = match shape {
        RawShape::Element { salt, value } => (salt, None, value),
        RawShape::Property { salt, name, value } => {
            let Value::String(name) = name else {
                return Err(malformed("claim name is not a string"));
            };
            if is_reserved(&name) {
                return Err(SdJwtError::ReservedClaimName { index, name });
            }
            (salt, Some(name), value)
        }
        RawShape::WrongLength => return Err(malformed("not an array of 2 or 3 elements")),
    };
    if !salt_is_string {
        return Err(malformed("salt is not a string"));
    }
    Ok((name, value))
}

/// A disclosure array as read by [`decode_for_processing`]; any JSON that is not an array fails.
struct RawDisclosure(RawShape);

enum RawShape {
    Element {
        salt: bool,
        value: Value,
    },
    Property {
        salt: bool,
        name: Value,
        value: Value,
    },
    WrongLength,
}

impl<'de> serde::Deserialize<'de> for RawDisclosure {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawDisclosure;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a disclosure array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawDisclosure, A::Error> {
                use serde::de::IgnoredAny;
                let Some(IsString(salt)) = seq.next_element::<IsString>()? else {
                    return Ok(RawDisclosure(RawShape::WrongLength));
                };
                let Some(second) = seq.next_element::<Value>()? else {
                    return Ok(RawDisclosure(RawShape::WrongLength));
                };
                let Some(third) = seq.next_element::<Value>()? else {
                    return Ok(RawDisclosure(RawShape::Element {
                        salt,
                        value: second,
                    }));
                };
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(RawDisclosure(RawShape::WrongLength));
                }
                Ok(RawDisclosure(RawShape::Property {
                    salt,
                    name: second,
                    value: third,
                }))
            }
        }
        d.deserialize_seq(V)
    }
}

/// Whether a JSON value is a string; the value itself is skipped without being kept.
struct IsString(bool);

impl<'de> serde::Deserialize<'de> for IsString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = IsString;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, _: &str) -> Result<IsString, E> {
                Ok(IsString(true))
            }
            fn visit_bool<E>(self, _: bool) -> Result<IsString, E> {
                Ok(IsString(false))
            }
            fn visit_i64<E>(self, _: i64) -> Result<IsString, E> {
                Ok(IsString(false))
            }
            fn visit_u64<E>(self, _: u64) -> Result<IsString, E> {
                Ok(IsString(false))
            }
            fn visit_f64<E>(self, _: f64) -> Result<IsString, E> {
                Ok(IsString(false))
            }
            fn visit_unit<E>(self) -> Result<IsString, E> {
                Ok(IsString(false))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<IsString, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(IsString(false))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<IsString, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(IsString(false))
            }
        }
        d.deserialize_any(V)
    }
}

/// `base64url(JSON([salt, name, value]))`, written without building an intermediate array.
pub(crate) fn encode_property(salt: &str, name: &str, value: &Value) -> Result<String, IssueError> {
    let mut json = Vec::with_capacity(64);
    json.push(b'[');
    write_json(&mut json, salt)?;
    json.push(b',');
    write_json(&mut json, name)?;
    json.push(b',');
    write_json(&mut json, value)?;
    json.push(b']');
    Ok(b64::encode(&json))
}

/// `base64url(JSON([salt, value]))`.
pub(crate) fn encode_element(salt: &str, value: &Value) -> Result<String, IssueError> {
    let mut json = Vec::with_capacity(48);
    json.push(b'[');
    write_json(&mut json, salt)?;
    json.push(b',');
    write_json(&mut json, value)?;
    json.push(b']');
    Ok(b64::encode(&json))
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), IssueError> {
    serde_json::to_writer(out, v).map_err(|e| IssueError::Encoding(e.to_string()))
}

/// Most salts drawn from the system generator in one fill.
const MAX_BATCH: usize = 64;

/// Makes the salts of one issuance: 128 random bits each (RFC 9901 §9.3), from the system
/// CSPRNG (aws-lc `RAND_bytes`, which reseeds on fork and on a VM snapshot restore where the
/// platform reports one), in one fill sized for the issuance when it starts.
///
/// Nothing random outlives the issuance: a per-thread or per-process pool of random bytes
/// would hand the same bytes out twice in a cloned VM or a restored snapshot, which no process
/// id check can see.
pub(crate) struct SaltSource {
    rng: SystemRandom,
    buf: [[u8; SALT_BYTES]; MAX_BATCH],
    /// Salts per fill.
    batch: usize,
    /// Salts in `buf` from the last fill, and how many of them are handed out.
    filled: usize,
    next: usize,
    /// Fills so far.
    fills: usize,
}

impl std::fmt::Debug for SaltSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print unused random bytes.
        f.debug_struct("SaltSource")
            .field("unused", &(self.filled - self.next))
            .field("fills", &self.fills)
            .finish_non_exhaustive()
    }
}

impl SaltSource {
    /// A source for an issuance that needs about `expected` salts (digests of disclosures
    /// and decoys); more are drawn, in further fills, if it needs more.
    pub(crate) fn new(expected: usize) -> Self {
        Self {
            rng: SystemRandom::new(),
            buf: [[0; SALT_BYTES]; MAX_BATCH],
            batch: expected.clamp(1, MAX_BATCH),
            filled: 0,
            next: 0,
            fills: 0,
        }
    }

    /// Fresh random bytes, never handed out before.
    pub(crate) fn next_bytes(&mut self) -> Result<[u8; SALT_BYTES], IssueError> {
        if self.next >= self.filled {
            let batch = self
                .buf
                .get_mut(..self.batch)
                .ok_or(IssueError::Internal("salt batch out of range"))?;
            self.rng
                .fill(batch.as_flattened_mut())
                .map_err(|_| IssueError::Random)?;
            self.filled = self.batch;
            self.next = 0;
            self.fills += 1;
        }
        let salt = *self
            .buf
            .get(self.next)
            .ok_or(IssueError::Internal("salt index out of range"))?;
        self.next += 1;
        Ok(salt)
    }

    /// How many times the system generator was asked.
    #[cfg(test)]
    pub(crate) fn fills(&self) -> usize {
        self.fills
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_spec_unit_vectors() {
        let d = Disclosure::parse(
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
            0,
        )
        .unwrap();
        assert_eq!(d.salt(), "_26bc4LT-ac6q2KI6cBW5es");
        assert_eq!(d.name(), Some("family_name"));
        assert_eq!(d.value(), &json!("Möbius"));
        let e = Disclosure::parse("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0", 1).unwrap();
        assert_eq!(e.name(), None);
        assert_eq!(e.value(), &json!("FR"));
    }

    #[test]
    fn round_trip() {
        let d = Disclosure::property("salt", "n", &json!({"a": [1, "ü"]})).unwrap();
        assert_eq!(Disclosure::parse(d.encoded(), 0).unwrap(), d);
        let e = Disclosure::element("salt", &json!(null)).unwrap();
        assert_eq!(Disclosure::parse(e.encoded(), 0).unwrap(), e);
    }

    #[test]
    fn rejects_malformed() {
        let enc = |v: Value| b64::encode(serde_json::to_vec(&v).unwrap());
        for (bad, why) in [
            (enc(json!(["s"])), "one element"),
            (enc(json!(["s", "n", 1, 2])), "four elements"),
            (enc(json!([1, "n", 1])), "numeric salt"),
            (enc(json!(["s", 1, 1])), "numeric name"),
            (enc(json!({"s": 1})), "object"),
            ("!!!".to_owned(), "bad base64"),
            (b64::encode("[not json"), "bad json"),
        ] {
            assert!(Disclosure::parse(&bad, 0).is_err(), "{why}");
        }
        for name in ["_sd", "...", "_sd_alg"] {
            assert!(matches!(
                Disclosure::parse(&enc(json!(["s", name, 1])), 3),
                Err(SdJwtError::ReservedClaimName { index: 3, .. })
            ));
            assert!(matches!(
                Disclosure::property("s", name, &json!(1)),
                Err(IssueError::ReservedClaimName { .. })
            ));
        }
    }

    #[test]
    fn processing_decoder_agrees() {
        let enc = |v: Value| b64::encode(serde_json::to_vec(&v).unwrap());
        for v in [
            json!(["s", "n", {"a": [1, "\u{fc}"]}]),
            json!(["s\"q", "n\n", 1]),
            json!(["s", null]),
            json!(["s"]),
            json!([]),
            json!(["s", "n", 1, 2]),
            json!([1, "n", 1]),
            json!([[1], "n", 1]),
            json!([{"a": 1}, 2]),
            json!(["s", 1, 1]),
            json!(["s", "_sd", 1]),
            json!(["s", "...", 1]),
            json!(["s", "_sd_alg", "sha-256"]),
            json!({"s": 1}),
            json!("s"),
        ] {
            let e = enc(v.clone());
            let full = decode(&e, 2).map(|(_, n, v)| (n, v));
            assert_eq!(decode_for_processing(&e, 2, &mut Vec::new()), full, "{v}");
        }
        for bad in [
            "!!!".to_owned(),
            "WyJzIiwxXQ==".to_owned(),
            "WyJzIiwxXQ+".to_owned(),
            b64::encode("[not json"),
            b64::encode("[\"s\",1] x"),
        ] {
            assert_eq!(
                decode_for_processing(&bad, 0, &mut b"junk".to_vec()),
                decode(&bad, 0).map(|(_, n, v)| (n, v))
            );
        }
    }

    #[test]
    fn salts_are_fresh_and_drawn_once_per_issuance() {
        let mut seen = std::collections::HashSet::new();
        for expected in [1, 7, 20, 64, 100] {
            let mut s = SaltSource::new(expected);
            for _ in 0..expected.min(MAX_BATCH) {
                let salt = s.next_bytes().unwrap();
                assert_ne!(salt, [0; SALT_BYTES]);
                assert!(seen.insert(salt), "a salt repeated");
            }
            assert_eq!(s.fills(), 1, "one fill for {expected} announced salts");
            // More than announced: a further fill, still fresh.
            for _ in 0..3 {
                assert!(seen.insert(s.next_bytes().unwrap()));
            }
            assert_eq!(s.fills(), 1 + 3usize.div_ceil(expected.min(MAX_BATCH)));
        }
        // Other threads draw their own.
        let other = std::thread::spawn(|| {
            let mut s = SaltSource::new(50);
            (0..50).map(|_| s.next_bytes().unwrap()).collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        for salt in other {
            assert!(seen.insert(salt));
        }
    }
}
