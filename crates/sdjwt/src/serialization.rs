//! The SD-JWT container and its serializations: compact (`<JWT>~<D1>~…~<KB-JWT>`, RFC 9901 §4)
//! and JWS JSON, flattened and general (RFC 9901 §8).

use serde_json::{Map, Value, json};

use crate::SdJwtError;

/// Largest SD-JWT accepted as input (bytes). A PID with a portrait is well under this.
pub const MAX_SD_JWT_LEN: usize = 1024 * 1024;
/// Most disclosures accepted in one SD-JWT.
pub const MAX_DISCLOSURES: usize = 4096;

/// How an SD-JWT is serialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `~`-separated compact form.
    Compact,
    /// JWS JSON, flattened (one signature).
    JsonFlattened,
    /// JWS JSON, general (one or more signatures).
    JsonGeneral,
}

/// One signature of the Issuer-signed JWT.
#[derive(Clone, Debug, PartialEq)]
pub struct JwsSignature {
    /// The protected header, base64url.
    pub protected: String,
    /// The signature, base64url.
    pub signature: String,
    /// Unprotected header members other than `disclosures` and `kb_jwt`.
    pub unprotected: Map<String, Value>,
}

/// An SD-JWT or SD-JWT+KB as received: nothing in it is verified.
#[derive(Clone, Debug, PartialEq)]
pub struct SdJwt {
    format: Format,
    payload: String,
    signatures: Vec<JwsSignature>,
    disclosures: Vec<String>,
    kb_jwt: Option<String>,
}

impl SdJwt {
    pub(crate) fn from_parts(
        compact_jwt: &str,
        disclosures: Vec<String>,
        kb_jwt: Option<String>,
    ) -> Result<Self, SdJwtError> {
        let mut parts = compact_jwt.split('.');
        let (Some(protected), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SdJwtError::Malformed(
                "issuer-signed JWT is not three dot-separated parts".into(),
            ));
        };
        Ok(Self {
            format: Format::Compact,
            payload: payload.to_owned(),
            signatures: vec![JwsSignature {
                protected: protected.to_owned(),
                signature: signature.to_owned(),
                unprotected: Map::new(),
            }],
            disclosures,
            kb_jwt,
        })
    }

    /// Parses either serialization: input starting with `{` is JWS JSON, anything else compact.
    pub fn parse(input: &str) -> Result<Self, SdJwtError> {
        let input = input.trim();
        if input.len() > MAX_SD_JWT_LEN {
            return Err(SdJwtError::TooLarge {
                what: "SD-JWT",
                actual: input.len(),
                limit: MAX_SD_JWT_LEN,
            });
        }
        if input.starts_with('{') {
            Self::parse_json(input)
        } else {
            Self::parse_compact(input)
        }
    }

    /// Parses the compact serialization.
    pub fn parse_compact(input: &str) -> Result<Self, SdJwtError> {
        // `<JWT>~<D1>~…~<Dn>~<KB-JWT or empty>`: first part the JWT, last the KB-JWT (empty for
        // an SD-JWT without key binding), everything between a disclosure.
        let mut parts: Vec<&str> = input.split('~').collect();
        if parts.len() < 2 {
            return Err(SdJwtError::Malformed(
                "no `~` separator: this is a plain JWT, not an SD-JWT".into(),
            ));
        }
        if parts.len() - 2 > MAX_DISCLOSURES {
            return Err(SdJwtError::TooLarge {
                what: "number of disclosures",
                actual: parts.len() - 2,
                limit: MAX_DISCLOSURES,
            });
        }
        let last = parts.pop().unwrap_or_default();
        let kb_jwt = (!last.is_empty()).then(|| last.to_owned());
        let jwt = parts.first().copied().unwrap_or_default();
        let mut disclosures = Vec::with_capacity(parts.len().saturating_sub(1));
        for (index, d) in parts.iter().skip(1).enumerate() {
            if d.is_empty() {
                return Err(SdJwtError::MalformedDisclosure {
                    index,
                    reason: "empty disclosure between `~` separators",
                });
            }
            disclosures.push((*d).to_owned());
        }
        Self::from_parts(jwt, disclosures, kb_jwt)
    }

    /// Parses the JWS JSON serialization (flattened or general).
    pub fn parse_json(input: &str) -> Result<Self, SdJwtError> {
        let malformed = |m: &str| SdJwtError::Malformed(format!("JWS JSON serialization: {m}"));
        let Ok(Value::Object(mut obj)) = serde_json::from_str::<Value>(input) else {
            return Err(malformed("not a JSON object"));
        };
        let Some(Value::String(payload)) = obj.remove("payload") else {
            return Err(malformed("`payload` is missing or not a string"));
        };
        let (format, raw_signatures) = match obj.remove("signatures") {
            Some(Value::Array(sigs)) => {
                if obj.contains_key("protected") || obj.contains_key("signature") {
                    return Err(malformed("both `signatures` and a flattened signature"));
                }
                (Format::JsonGeneral, sigs)
            }
            Some(_) => return Err(malformed("`signatures` is not an array")),
            None => (Format::JsonFlattened, vec![Value::Object(obj)]),
        };
        if raw_signatures.is_empty() {
            return Err(malformed("no signatures"));
        }
        let mut disclosures = Vec::new();
        let mut kb_jwt = None;
        let mut signatures = Vec::with_capacity(raw_signatures.len());
        for (i, sig) in raw_signatures.into_iter().enumerate() {
            let Value::Object(mut sig) = sig else {
                return Err(malformed("signature entry is not an object"));
            };
            let Some(Value::String(protected)) = sig.remove("protected") else {
                return Err(malformed("`protected` is missing or not a string"));
            };
            let Some(Value::String(signature)) = sig.remove("signature") else {
                return Err(malformed("`signature` is missing or not a string"));
            };
            let mut unprotected = match sig.remove("header") {
                Some(Value::Object(h)) => h,
                None => Map::new(),
                Some(_) => return Err(malformed("`header` is not an object")),
            };
            let d = unprotected.remove("disclosures");
            let k = unprotected.remove("kb_jwt");
            // RFC 9901 §8.3: only the first unprotected header may carry these.
            if i > 0 && (d.is_some() || k.is_some()) {
                return Err(malformed(
                    "`disclosures`/`kb_jwt` in an unprotected header other than the first",
                ));
            }
            match d {
                Some(Value::Array(items)) => {
                    for (index, item) in items.into_iter().enumerate() {
                        let Value::String(s) = item else {
                            return Err(SdJwtError::MalformedDisclosure {
                                index,
                                reason: "not a string",
                            });
                        };
                        disclosures.push(s);
                    }
                }
                Some(_) => return Err(malformed("`disclosures` is not an array")),
                None => {}
            }
            match k {
                Some(Value::String(s)) => kb_jwt = Some(s),
                Some(_) => return Err(malformed("`kb_jwt` is not a string")),
                None => {}
            }
            signatures.push(JwsSignature {
                protected,
                signature,
                unprotected,
            });
        }
        if disclosures.len() > MAX_DISCLOSURES {
            return Err(SdJwtError::TooLarge {
                what: "number of disclosures",
                actual: disclosures.len(),
                limit: MAX_DISCLOSURES,
            });
        }
        Ok(Self {
            format,
            payload,
            signatures,
            disclosures,
            kb_jwt,
        })
    }

    /// The serialization this SD-JWT came in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The Issuer-signed JWT payload, base64url.
    pub fn payload_b64(&self) -> &str {
        &self.payload
    }

    /// The signatures of the Issuer-signed JWT (exactly one unless general JSON).
    pub fn signatures(&self) -> &[JwsSignature] {
        &self.signatures
    }

    /// The Issuer-signed JWT in compact form (first signature).
    pub fn issuer_jwt(&self) -> String {
        let sig = self.first_signature();
        format!("{}.{}.{}", sig.protected, self.payload, sig.signature)
    }

    fn first_signature(&self) -> &JwsSignature {
        // Construction guarantees at least one signature; fall back to an empty one rather than
        // panic if that ever changes.
        static EMPTY: std::sync::OnceLock<JwsSignature> = std::sync::OnceLock::new();
        self.signatures.first().unwrap_or_else(|| {
            EMPTY.get_or_init(|| JwsSignature {
                protected: String::new(),
                signature: String::new(),
                unprotected: Map::new(),
            })
        })
    }

    /// The disclosures, base64url, in presentation order.
    pub fn disclosures(&self) -> &[String] {
        &self.disclosures
    }

    /// The Key Binding JWT, if this is an SD-JWT+KB.
    pub fn kb_jwt(&self) -> Option<&str> {
        self.kb_jwt.as_deref()
    }

    /// The compact SD-JWT without KB-JWT: `<JWT>~<D1>~…~<Dn>~`. This is also the `sd_hash`
    /// input for both serializations (RFC 9901 §4.3.1, §8.1).
    pub fn sd_jwt_compact(&self) -> String {
        let sig = self.first_signature();
        let len = sig.protected.len()
            + self.payload.len()
            + sig.signature.len()
            + self.disclosures.iter().map(|d| d.len() + 1).sum::<usize>()
            + 3;
        let kb_len = self.kb_jwt.as_ref().map_or(0, String::len);
        // Room for the KB-JWT too, so `to_compact` does not reallocate.
        let mut out = String::with_capacity(len + 1 + kb_len);
        out.push_str(&sig.protected);
        out.push('.');
        out.push_str(&self.payload);
        out.push('.');
        out.push_str(&sig.signature);
        out.push('~');
        for d in &self.disclosures {
            out.push_str(d);
            out.push('~');
        }
        out
    }

    /// `sd_hash` of this SD-JWT (RFC 9901 §4.3.1): the digest of [`Self::sd_jwt_compact`],
    /// computed without building that string.
    pub fn sd_hash(&self, alg: crate::SdAlg) -> String {
        let sig = self.first_signature();
        let head: [&[u8]; 6] = [
            sig.protected.as_bytes(),
            b".",
            self.payload.as_bytes(),
            b".",
            sig.signature.as_bytes(),
            b"~",
        ];
        let tail = self
            .disclosures
            .iter()
            .flat_map(|d| [d.as_bytes(), b"~".as_slice()]);
        alg.digest_parts_b64(head.into_iter().chain(tail))
    }

    /// Serializes in the format this SD-JWT has.
    pub fn serialize(&self) -> String {
        match self.format {
            Format::Compact => self.to_compact(),
            Format::JsonFlattened | Format::JsonGeneral => self.to_json().to_string(),
        }
    }

    /// The compact serialization, with the KB-JWT when there is one.
    pub fn to_compact(&self) -> String {
        let mut out = self.sd_jwt_compact();
        if let Some(kb) = &self.kb_jwt {
            out.push_str(kb);
        }
        out
    }

    /// The JWS JSON serialization (flattened unless there are several signatures).
    pub fn to_json(&self) -> Value {
        let header_for = |i: usize, sig: &JwsSignature| {
            let mut h = sig.unprotected.clone();
            if i == 0 {
                h.insert("disclosures".into(), json!(self.disclosures));
                if let Some(kb) = &self.kb_jwt {
                    h.insert("kb_jwt".into(), json!(kb));
                }
            }
            h
        };
        if self.signatures.len() == 1 && self.format != Format::JsonGeneral {
            let sig = self.first_signature();
            json!({
                "header": header_for(0, sig),
                "payload": self.payload,
                "protected": sig.protected,
                "signature": sig.signature,
            })
        } else {
            let sigs: Vec<Value> = self
                .signatures
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    json!({"header": header_for(i, s), "protected": s.protected, "signature": s.signature})
                })
                .collect();
            json!({"payload": self.payload, "signatures": sigs})
        }
    }

    /// The same SD-JWT in another serialization (one signature for compact).
    pub fn with_format(mut self, format: Format) -> Self {
        if format != Format::JsonGeneral {
            self.signatures.truncate(1);
        }
        self.format = format;
        self
    }

    pub(crate) fn with_disclosures(&self, disclosures: Vec<String>) -> Self {
        Self {
            format: self.format,
            payload: self.payload.clone(),
            signatures: self.signatures.clone(),
            disclosures,
            kb_jwt: None,
        }
    }

    pub(crate) fn set_kb_jwt(&mut self, kb_jwt: String) {
        self.kb_jwt = Some(kb_jwt);
    }

    pub(crate) fn push_signature(&mut self, sig: JwsSignature) {
        self.signatures.push(sig);
        self.format = Format::JsonGeneral;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_shapes() {
        let sd = SdJwt::parse("a.b.c~").unwrap();
        assert!(sd.disclosures().is_empty());
        assert_eq!(sd.kb_jwt(), None);
        assert_eq!(sd.sd_jwt_compact(), "a.b.c~");

        let sd = SdJwt::parse("a.b.c~d1~d2~").unwrap();
        assert_eq!(sd.disclosures(), ["d1", "d2"]);
        assert_eq!(sd.kb_jwt(), None);
        assert_eq!(sd.to_compact(), "a.b.c~d1~d2~");

        let sd = SdJwt::parse("a.b.c~d1~k.b.j").unwrap();
        assert_eq!(sd.disclosures(), ["d1"]);
        assert_eq!(sd.kb_jwt(), Some("k.b.j"));
        assert_eq!(sd.sd_jwt_compact(), "a.b.c~d1~");
        assert_eq!(sd.to_compact(), "a.b.c~d1~k.b.j");

        let sd = SdJwt::parse("a.b.c~k.b.j").unwrap();
        assert!(sd.disclosures().is_empty());
        assert_eq!(sd.kb_jwt(), Some("k.b.j"));
    }

    #[test]
    fn compact_rejects() {
        assert!(SdJwt::parse("a.b.c").is_err(), "plain JWT");
        assert!(SdJwt::parse("a.b~d~").is_err(), "two-part JWT");
        assert!(SdJwt::parse("a.b.c~d1~~d2~").is_err(), "empty disclosure");
        let huge = "a".repeat(MAX_SD_JWT_LEN + 1);
        assert!(matches!(
            SdJwt::parse(&huge),
            Err(SdJwtError::TooLarge { .. })
        ));
    }

    #[test]
    fn json_round_trip() {
        let sd = SdJwt::parse("a.b.c~d1~d2~k.b.j").unwrap();
        let flat = sd.clone().with_format(Format::JsonFlattened);
        let text = flat.serialize();
        let again = SdJwt::parse(&text).unwrap();
        assert_eq!(again.format(), Format::JsonFlattened);
        assert_eq!(again.to_compact(), sd.to_compact());
    }

    #[test]
    fn json_rejects() {
        for bad in [
            "{}",
            r#"{"payload":1}"#,
            r#"{"payload":"p","signatures":[]}"#,
            r#"{"payload":"p","signatures":{}}"#,
            r#"{"payload":"p","protected":"a"}"#,
            r#"{"payload":"p","protected":"a","signature":"s","header":{"disclosures":[1]}}"#,
            r#"{"payload":"p","signatures":[{"protected":"a","signature":"s"},{"protected":"a","signature":"s","header":{"kb_jwt":"x"}}]}"#,
            "{not json",
        ] {
            assert!(SdJwt::parse(bad).is_err(), "{bad}");
        }
    }
}
