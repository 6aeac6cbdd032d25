//! The SD-JWT container and its serializations: compact (`<JWT>~<D1>~…~<KB-JWT>`, RFC 9901 §4)
//! and JWS JSON, flattened and general (RFC 9901 §8).
//!
//! An [`SdJwt`] keeps all its parts in one string laid out as the compact serialization of its
//! first signature (`protected.payload.signature~D1~…~Dn~KB-JWT`), followed by the parts of any
//! further signatures, and addresses the parts by byte range. Parsing compact input is then one
//! copy, issuing writes the final text directly, and the `sd_hash` input and the first
//! signature's signing input are contiguous slices, whatever the serialization.
//!
//! Every constructor checks the layout once ([`SdJwt::check_layout`]); each access is checked
//! again and returns [`SdJwtError::Internal`] if the layout were ever broken, never an empty
//! slice and never a panic.

use std::ops::Range;

use serde_json::Map;
use serde_json::Value;
use serde_json::json;

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

/// One signature of the Issuer-signed JWT, borrowed from its [`SdJwt`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JwsSignature<'a> {
    /// The protected header, base64url.
    pub protected: &'a str,
    /// The signature, base64url.
    pub signature: &'a str,
    /// Unprotected header members other than `disclosures` and `kb_jwt`.
    pub unprotected: &'a Map<String, Value>,
}

/// Where one signature's parts are in [`SdJwt::text`].
#[derive(Clone, Debug, PartialEq)]
struct Sig {
    protected: Range<usize>,
    signature: Range<usize>,
    unprotected: Map<String, Value>,
}

/// An SD-JWT or SD-JWT+KB as received: nothing in it is verified.
#[derive(Clone, Debug, PartialEq)]
pub struct SdJwt {
    format: Format,
    /// Every part, in the layout the module documentation describes.
    text: String,
    payload: Range<usize>,
    /// The signature at the start of `text`.
    first: Sig,
    /// Further signatures (general JWS JSON only); empty, and so not allocated, otherwise.
    more: Vec<Sig>,
    /// How many disclosures `text[first.signature.end + 1..sd_end]` holds, each ended by `~`.
    /// None is empty or contains `~` (checked when parsing), so they are found by splitting.
    count: usize,
    /// `text[..sd_end]` is the compact SD-JWT without KB-JWT, ending in `~`.
    sd_end: usize,
    kb_jwt: Option<Range<usize>>,
}

/// The disclosures of an [`SdJwt`], base64url, in presentation order.
#[derive(Clone, Debug)]
pub struct Disclosures<'a> {
    parts: std::str::SplitTerminator<'a, char>,
    left: usize,
}

impl<'a> Iterator for Disclosures<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let next = self.parts.next()?;
        self.left = self.left.saturating_sub(1);
        Some(next)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Disclosures<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let next = self.parts.next_back()?;
        self.left = self.left.saturating_sub(1);
        Some(next)
    }
}

impl ExactSizeIterator for Disclosures<'_> {}

/// Appends `part` to `text`, returning where it went.
fn push_part(text: &mut String, part: &str) -> Range<usize> {
    let start = text.len();
    text.push_str(part);
    start..text.len()
}

/// The layout is broken (a bug in this module).
const BROKEN: SdJwtError = SdJwtError::Internal("the SD-JWT layout is broken");

/// The parts of an SD-JWT, borrowed, to be laid out in a fresh [`SdJwt`].
struct Parts<'a> {
    format: Format,
    payload: &'a str,
    /// `(protected, signature, unprotected)`; at least one.
    signatures: Vec<(&'a str, &'a str, Map<String, Value>)>,
    disclosures: Vec<&'a str>,
    kb_jwt: Option<&'a str>,
}

impl Parts<'_> {
    fn assemble(self) -> Result<SdJwt, SdJwtError> {
        let mut sigs = self.signatures.into_iter();
        let Some((protected, signature, unprotected)) = sigs.next() else {
            return Err(SdJwtError::Malformed("no issuer signature".into()));
        };
        let len = protected.len()
            + self.payload.len()
            + signature.len()
            + self.disclosures.iter().map(|d| d.len() + 1).sum::<usize>()
            + self.kb_jwt.map_or(0, str::len)
            + 3;
        let mut text = String::with_capacity(len);
        let protected = push_part(&mut text, protected);
        text.push('.');
        let payload = push_part(&mut text, self.payload);
        text.push('.');
        let signature = push_part(&mut text, signature);
        text.push('~');
        let first = Sig {
            protected,
            signature,
            unprotected,
        };
        let mut more = Vec::with_capacity(sigs.len());
        for (index, d) in self.disclosures.iter().enumerate() {
            // The disclosures are found again by splitting at `~` (and base64url has none).
            if d.is_empty() || d.contains('~') {
                return Err(SdJwtError::MalformedDisclosure {
                    index,
                    reason: "not base64url",
                });
            }
            text.push_str(d);
            text.push('~');
        }
        let sd_end = text.len();
        let kb_jwt = self.kb_jwt.map(|kb| push_part(&mut text, kb));
        for (protected, signature, unprotected) in sigs {
            more.push(Sig {
                protected: push_part(&mut text, protected),
                signature: push_part(&mut text, signature),
                unprotected,
            });
        }
        SdJwt {
            format: self.format,
            text,
            payload,
            first,
            more,
            count: self.disclosures.len(),
            sd_end,
            kb_jwt,
        }
        .check_layout()
    }
}

impl SdJwt {
    /// Takes `text` as it was just issued: `protected.payload.signature` with the dots at
    /// `first_dot` and `second_dot`, ending at `jwt_end`, then `~` and `count` disclosures,
    /// each followed by `~`.
    pub(crate) fn from_issued(
        text: String,
        [first_dot, second_dot, jwt_end]: [usize; 3],
        count: usize,
    ) -> Result<Self, SdJwtError> {
        let laid_out = text.as_bytes().get(first_dot) == Some(&b'.')
            && text.as_bytes().get(second_dot) == Some(&b'.')
            && text.as_bytes().get(jwt_end) == Some(&b'~')
            && text.ends_with('~');
        if !laid_out {
            return Err(SdJwtError::Internal(
                "the issued SD-JWT is not laid out as expected",
            ));
        }
        Self {
            format: Format::Compact,
            payload: first_dot + 1..second_dot,
            more: Vec::new(),
            first: Sig {
                protected: 0..first_dot,
                signature: second_dot + 1..jwt_end,
                unprotected: Map::new(),
            },
            sd_end: text.len(),
            count,
            kb_jwt: None,
            text,
        }
        .check_layout()
    }

    /// Checks, once per construction, that every range is in order, inside `text` and on a
    /// character boundary, and that the disclosures sit between `~` separators.
    fn check_layout(self) -> Result<Self, SdJwtError> {
        let text = &self.text;
        let in_text = |r: &Range<usize>| r.start <= r.end && text.get(r.clone()).is_some();
        let sigs_ok = std::iter::once(&self.first)
            .chain(&self.more)
            .all(|s| in_text(&s.protected) && in_text(&s.signature));
        // The disclosures between are not split here again: every constructor made or checked
        // them (non-empty, no `~`), and iterating splits them anyway.
        let block_ok = text
            .get(self.first.signature.end..self.sd_end)
            .is_some_and(|b| b.starts_with('~') && b.ends_with('~'));
        let ok = sigs_ok
            && in_text(&self.payload)
            && self.first.protected.end < self.payload.start
            && self.payload.end < self.first.signature.start
            && block_ok
            && self
                .kb_jwt
                .as_ref()
                .is_none_or(|kb| in_text(kb) && kb.start == self.sd_end);
        if ok { Ok(self) } else { Err(BROKEN) }
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
        let Some(jwt_end) = input.find('~') else {
            return Err(SdJwtError::Malformed(
                "no `~` separator: this is a plain JWT, not an SD-JWT".into(),
            ));
        };
        let Some((first_dot, second_dot)) = input.get(..jwt_end).and_then(jwt_dots) else {
            return Err(SdJwtError::Malformed(
                "issuer-signed JWT is not three dot-separated parts".into(),
            ));
        };
        // The KB-JWT (or nothing) follows the last `~`.
        let sd_end = input.rfind('~').map_or(input.len(), |i| i + 1);
        let block = input.get(jwt_end + 1..sd_end).ok_or(BROKEN)?;
        let count = block.bytes().filter(|&b| b == b'~').count();
        if count > MAX_DISCLOSURES {
            return Err(SdJwtError::TooLarge {
                what: "number of disclosures",
                actual: count,
                limit: MAX_DISCLOSURES,
            });
        }
        if let Some(index) = block.split_terminator('~').position(str::is_empty) {
            return Err(SdJwtError::MalformedDisclosure {
                index,
                reason: "empty disclosure between `~` separators",
            });
        }
        Self {
            format: Format::Compact,
            payload: first_dot + 1..second_dot,
            more: Vec::new(),
            first: Sig {
                protected: 0..first_dot,
                signature: second_dot + 1..jwt_end,
                unprotected: Map::new(),
            },
            count,
            sd_end,
            kb_jwt: (sd_end < input.len()).then_some(sd_end..input.len()),
            text: input.to_owned(),
        }
        .check_layout()
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
        let mut disclosures: Vec<String> = Vec::new();
        let mut kb_jwt: Option<String> = None;
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
            signatures.push((protected, signature, unprotected));
        }
        if disclosures.len() > MAX_DISCLOSURES {
            return Err(SdJwtError::TooLarge {
                what: "number of disclosures",
                actual: disclosures.len(),
                limit: MAX_DISCLOSURES,
            });
        }
        Parts {
            format,
            payload: &payload,
            signatures: signatures
                .iter()
                .map(|(p, s, u)| (p.as_str(), s.as_str(), u.clone()))
                .collect(),
            disclosures: disclosures.iter().map(String::as_str).collect(),
            kb_jwt: kb_jwt.as_deref(),
        }
        .assemble()
    }

    /// The serialization this SD-JWT came in.
    pub fn format(&self) -> Format {
        self.format
    }

    fn part(&self, span: &Range<usize>) -> Result<&str, SdJwtError> {
        self.text.get(span.clone()).ok_or(BROKEN)
    }

    /// The Issuer-signed JWT payload, base64url.
    pub fn payload_b64(&self) -> Result<&str, SdJwtError> {
        self.part(&self.payload)
    }

    /// The signatures of the Issuer-signed JWT (exactly one unless general JSON).
    pub fn signatures(&self) -> Result<Vec<JwsSignature<'_>>, SdJwtError> {
        std::iter::once(&self.first)
            .chain(&self.more)
            .map(|sig| {
                Ok(JwsSignature {
                    protected: self.part(&sig.protected)?,
                    signature: self.part(&sig.signature)?,
                    unprotected: &sig.unprotected,
                })
            })
            .collect()
    }

    /// How many signatures the Issuer-signed JWT has.
    pub fn signature_count(&self) -> usize {
        1 + self.more.len()
    }

    /// The Issuer-signed JWT in compact form (first signature).
    pub fn issuer_jwt(&self) -> Result<&str, SdJwtError> {
        self.part(&(0..self.first.signature.end))
    }

    /// `BASE64URL(protected) || '.' || BASE64URL(payload)` of the first signature.
    pub(crate) fn first_signing_input(&self) -> Result<&str, SdJwtError> {
        self.part(&(0..self.payload.end))
    }

    /// The disclosures, base64url, in presentation order.
    pub fn disclosures(&self) -> Result<Disclosures<'_>, SdJwtError> {
        let block = self.part(&(self.first.signature.end + 1..self.sd_end))?;
        Ok(Disclosures {
            parts: block.split_terminator('~'),
            left: self.count,
        })
    }

    /// How many disclosures there are.
    pub fn disclosure_count(&self) -> usize {
        self.count
    }

    /// The disclosure at `index` of [`Self::disclosures`], if there is one.
    pub fn disclosure(&self, index: usize) -> Result<Option<&str>, SdJwtError> {
        Ok(self.disclosures()?.nth(index))
    }

    /// The Key Binding JWT, if this is an SD-JWT+KB.
    pub fn kb_jwt(&self) -> Result<Option<&str>, SdJwtError> {
        self.kb_jwt.as_ref().map(|span| self.part(span)).transpose()
    }

    /// Whether this is an SD-JWT+KB.
    pub fn has_kb_jwt(&self) -> bool {
        self.kb_jwt.is_some()
    }

    /// The compact SD-JWT without KB-JWT: `<JWT>~<D1>~…~<Dn>~`. This is also the `sd_hash`
    /// input for both serializations (RFC 9901 §4.3.1, §8.1).
    pub fn sd_jwt_compact(&self) -> Result<&str, SdJwtError> {
        self.part(&(0..self.sd_end))
    }

    /// `sd_hash` of this SD-JWT (RFC 9901 §4.3.1): the digest of [`Self::sd_jwt_compact`].
    pub fn sd_hash(&self, alg: crate::SdAlg) -> Result<String, SdJwtError> {
        Ok(alg.digest_b64(self.sd_jwt_compact()?.as_bytes()))
    }

    /// [`Self::sd_hash`], continuing `hash`, which has absorbed [`Self::first_signing_input`]
    /// (the start of the `sd_hash` input) with the `_sd_alg` hash.
    pub(crate) fn sd_hash_continued(
        &self,
        mut hash: aws_lc_rs::digest::Context,
    ) -> Result<String, SdJwtError> {
        let rest = self.part(&(self.payload.end..self.sd_end))?;
        hash.update(rest.as_bytes());
        Ok(eudi_trust::b64::encode(hash.finish()))
    }

    /// Serializes in the format this SD-JWT has.
    pub fn serialize(&self) -> Result<String, SdJwtError> {
        match self.format {
            Format::Compact => self.to_compact(),
            Format::JsonFlattened | Format::JsonGeneral => Ok(self.to_json()?.to_string()),
        }
    }

    fn compact_end(&self) -> usize {
        self.kb_jwt.as_ref().map_or(self.sd_end, |kb| kb.end)
    }

    /// The compact serialization, with the KB-JWT when there is one.
    pub fn to_compact(&self) -> Result<String, SdJwtError> {
        Ok(self.part(&(0..self.compact_end()))?.to_owned())
    }

    /// The compact serialization, reusing this SD-JWT's storage.
    pub fn into_compact(mut self) -> Result<String, SdJwtError> {
        let end = self.compact_end();
        if !self.text.is_char_boundary(end) {
            return Err(BROKEN);
        }
        self.text.truncate(end);
        Ok(self.text)
    }

    /// The JWS JSON serialization (flattened unless there are several signatures).
    pub fn to_json(&self) -> Result<Value, SdJwtError> {
        let disclosures: Vec<Value> = self.disclosures()?.map(Value::from).collect();
        let kb_jwt = self.kb_jwt()?;
        let mut disclosures = Some(disclosures);
        let mut header_for = |sig: &JwsSignature<'_>| {
            let mut h = sig.unprotected.clone();
            // The first signature's unprotected header carries them (RFC 9901 §8.1, §8.3).
            if let Some(disclosures) = disclosures.take() {
                h.insert("disclosures".into(), Value::Array(disclosures));
                if let Some(kb) = kb_jwt {
                    h.insert("kb_jwt".into(), json!(kb));
                }
            }
            h
        };
        let payload = self.payload_b64()?;
        let sigs = self.signatures()?;
        Ok(match sigs.as_slice() {
            [sig] if self.format != Format::JsonGeneral => json!({
                "header": header_for(sig),
                "payload": payload,
                "protected": sig.protected,
                "signature": sig.signature,
            }),
            _ => {
                let sigs: Vec<Value> = sigs
                    .iter()
                    .map(|s| {
                        json!({"header": header_for(s), "protected": s.protected, "signature": s.signature})
                    })
                    .collect();
                json!({"payload": payload, "signatures": sigs})
            }
        })
    }

    /// The parts, borrowed, for laying out a changed copy.
    fn parts(&self) -> Result<Parts<'_>, SdJwtError> {
        Ok(Parts {
            format: self.format,
            payload: self.payload_b64()?,
            signatures: self
                .signatures()?
                .into_iter()
                .map(|s| (s.protected, s.signature, s.unprotected.clone()))
                .collect(),
            disclosures: self.disclosures()?.collect(),
            kb_jwt: self.kb_jwt()?,
        })
    }

    /// The same SD-JWT in another serialization (one signature for compact).
    pub fn with_format(self, format: Format) -> Result<Self, SdJwtError> {
        if format == Format::JsonGeneral || self.more.is_empty() {
            return Ok(Self { format, ..self });
        }
        let mut parts = self.parts()?;
        parts.signatures.truncate(1);
        parts.format = format;
        parts.assemble()
    }

    /// This SD-JWT with only the disclosures at `keep` (indices into [`Self::disclosures`], in
    /// order) and no KB-JWT.
    pub(crate) fn with_disclosures(&self, keep: &[usize]) -> Result<Self, SdJwtError> {
        let mut parts = self.parts()?;
        let all = std::mem::take(&mut parts.disclosures);
        parts.disclosures = keep
            .iter()
            .map(|&i| all.get(i).copied().ok_or(BROKEN))
            .collect::<Result<_, _>>()?;
        parts.kb_jwt = None;
        parts.assemble()
    }

    pub(crate) fn set_kb_jwt(&mut self, kb_jwt: &str) -> Result<(), SdJwtError> {
        if self.kb_jwt.is_none() && self.text.len() == self.sd_end {
            // Nothing follows the disclosures: the KB-JWT is appended in place.
            self.kb_jwt = Some(push_part(&mut self.text, kb_jwt));
            return Ok(());
        }
        let mut parts = self.parts()?;
        parts.kb_jwt = Some(kb_jwt);
        *self = parts.assemble()?;
        Ok(())
    }

    /// Adds a further signature over the same payload (general JWS JSON serialization).
    pub(crate) fn push_signature(&mut self, protected: &str, signature: &str) {
        let protected = push_part(&mut self.text, protected);
        let signature = push_part(&mut self.text, signature);
        self.more.push(Sig {
            protected,
            signature,
            unprotected: Map::new(),
        });
        self.format = Format::JsonGeneral;
    }
}

/// The positions of the two dots of a compact JWS, if it has exactly two.
fn jwt_dots(jwt: &str) -> Option<(usize, usize)> {
    let mut dots = jwt.match_indices('.').map(|(i, _)| i);
    let (first, second) = (dots.next()?, dots.next()?);
    dots.next().is_none().then_some((first, second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_shapes() {
        let sd = SdJwt::parse("a.b.c~").unwrap();
        assert_eq!(sd.disclosures().unwrap().len(), 0);
        assert_eq!(sd.kb_jwt().unwrap(), None);
        assert_eq!(sd.sd_jwt_compact().unwrap(), "a.b.c~");

        let sd = SdJwt::parse("a.b.c~d1~d2~").unwrap();
        assert_eq!(sd.disclosures().unwrap().collect::<Vec<_>>(), ["d1", "d2"]);
        assert_eq!(sd.kb_jwt().unwrap(), None);
        assert_eq!(sd.to_compact().unwrap(), "a.b.c~d1~d2~");

        let sd = SdJwt::parse("a.b.c~d1~k.b.j").unwrap();
        assert_eq!(sd.disclosures().unwrap().collect::<Vec<_>>(), ["d1"]);
        assert_eq!(sd.kb_jwt().unwrap(), Some("k.b.j"));
        assert_eq!(sd.sd_jwt_compact().unwrap(), "a.b.c~d1~");
        assert_eq!(sd.to_compact().unwrap(), "a.b.c~d1~k.b.j");

        let sd = SdJwt::parse("a.b.c~k.b.j").unwrap();
        assert_eq!(sd.disclosures().unwrap().len(), 0);
        assert_eq!(sd.kb_jwt().unwrap(), Some("k.b.j"));
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
        let flat = sd.clone().with_format(Format::JsonFlattened).unwrap();
        let text = flat.serialize().unwrap();
        let again = SdJwt::parse(&text).unwrap();
        assert_eq!(again.format(), Format::JsonFlattened);
        assert_eq!(again.to_compact().unwrap(), sd.to_compact().unwrap());
    }

    #[test]
    fn layout_holds_through_every_change() {
        let general = r#"{"payload":"p","signatures":[
            {"protected":"h1","signature":"s1","header":{"disclosures":["d1","d2"],"kid":"a"}},
            {"protected":"h2","signature":"s2","header":{"kid":"b"}}]}"#;
        let mut sd = SdJwt::parse(general).unwrap();
        assert_eq!(sd.format(), Format::JsonGeneral);
        assert_eq!(sd.sd_jwt_compact().unwrap(), "h1.p.s1~d1~d2~");
        assert_eq!(sd.first_signing_input().unwrap(), "h1.p");
        let sigs: Vec<_> = sd
            .signatures()
            .unwrap()
            .into_iter()
            .map(|s| (s.protected, s.signature))
            .collect();
        assert_eq!(sigs, [("h1", "s1"), ("h2", "s2")]);
        // A KB-JWT goes between the disclosures and the second signature's parts.
        sd.set_kb_jwt("k.b.j").unwrap();
        assert_eq!(sd.kb_jwt().unwrap(), Some("k.b.j"));
        assert_eq!(sd.to_compact().unwrap(), "h1.p.s1~d1~d2~k.b.j");
        let sigs: Vec<_> = sd
            .signatures()
            .unwrap()
            .into_iter()
            .map(|s| (s.protected, s.signature))
            .collect();
        assert_eq!(sigs, [("h1", "s1"), ("h2", "s2")]);
        // The JSON form round-trips, unprotected members included.
        let again = SdJwt::parse(&sd.serialize().unwrap()).unwrap();
        assert_eq!(again, sd);
        assert_eq!(again.signatures().unwrap()[1].unprotected["kid"], "b");
        // Fewer disclosures, no KB-JWT.
        let one = sd.with_disclosures(&[1]).unwrap();
        assert_eq!(one.sd_jwt_compact().unwrap(), "h1.p.s1~d2~");
        assert_eq!(one.kb_jwt().unwrap(), None);
        assert_eq!(one.signature_count(), 2);
        // Compact keeps the first signature only.
        let compact = sd.with_format(Format::Compact).unwrap();
        assert_eq!(compact.signature_count(), 1);
        assert_eq!(
            compact.clone().into_compact().unwrap(),
            "h1.p.s1~d1~d2~k.b.j"
        );
        // (The compact form has no unprotected header: `kid` "a" does not survive it.)
        let reparsed = SdJwt::parse(&compact.serialize().unwrap()).unwrap();
        assert_eq!(
            reparsed.to_compact().unwrap(),
            compact.to_compact().unwrap()
        );
        assert!(
            reparsed
                .signatures()
                .unwrap()
                .iter()
                .all(|s| s.unprotected.is_empty())
        );
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

    #[test]
    fn a_broken_layout_is_an_error_not_an_empty_slice() {
        let good = SdJwt::parse("a.b.c~d1~d2~k.b.j").unwrap();
        // Each range in turn pointing outside the text, or across the parts.
        let mut broken = Vec::new();
        let mut sd = good.clone();
        sd.payload = 2..99;
        broken.push(sd);
        let mut sd = good.clone();
        // Reversed, as a broken computation could leave it.
        sd.first.signature = Range { start: 4, end: 2 };
        broken.push(sd);
        let mut sd = good.clone();
        sd.sd_end = 99;
        broken.push(sd);
        let mut sd = good.clone();
        sd.kb_jwt = Some(12..40);
        broken.push(sd);
        for sd in broken {
            assert_eq!(sd.clone().check_layout().err(), Some(BROKEN), "{sd:?}");
            // Accessors report it too (the layout is checked on construction, so only a bug
            // could get here).
            let errors = [
                sd.payload_b64().err(),
                sd.issuer_jwt().err(),
                sd.sd_jwt_compact().err(),
                sd.disclosures().err(),
                sd.kb_jwt().err(),
                sd.to_compact().err(),
                sd.clone().into_compact().err(),
                sd.signatures().err(),
            ];
            assert!(errors.contains(&Some(BROKEN)), "{sd:?}");
            assert!(errors.iter().flatten().all(|e| *e == BROKEN));
        }
        assert!(good.check_layout().is_ok());
        // An issued layout that does not hold is refused.
        assert!(matches!(
            SdJwt::from_issued("a.b.c~d~".into(), [1, 3, 4], 1),
            Err(SdJwtError::Internal(_))
        ));
    }

    #[test]
    fn json_disclosures_must_be_separable() {
        for bad in [r#""""#, r#""a~b""#] {
            let json = format!(
                r#"{{"payload":"p","protected":"h","signature":"s","header":{{"disclosures":[{bad}]}}}}"#
            );
            assert!(
                matches!(
                    SdJwt::parse(&json),
                    Err(SdJwtError::MalformedDisclosure { index: 0, .. })
                ),
                "{bad}"
            );
        }
    }
}
