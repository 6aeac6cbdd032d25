//! `IssuerSigned` and `IssuerSignedItem` (ISO/IEC 18013-5 §8.3.2.1.2.2).
//!
//! ```cddl
//! IssuerSigned = {
//!   ? "nameSpaces" : IssuerNameSpaces,
//!   "issuerAuth" : IssuerAuth            ; COSE_Sign1, payload MobileSecurityObjectBytes
//! }
//! IssuerNameSpaces = { + NameSpace => [ + IssuerSignedItemBytes ] }
//! IssuerSignedItemBytes = #6.24(bstr .cbor IssuerSignedItem)
//! IssuerSignedItem = {
//!   "digestID" : uint,
//!   "random" : bstr,                     ; at least 16 bytes (§9.1.2.5)
//!   "elementIdentifier" : DataElementIdentifier,
//!   "elementValue" : DataElementValue
//! }
//! ```
//!
//! Every item keeps the exact `IssuerSignedItemBytes` it arrived as: the MSO digest is over
//! those bytes, and re-encoding an item from another implementation (which may use
//! non-preferred lengths such as `b9 0003`) would change it.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use ciborium::Value;
use coset::CoseSign1;
use eudi_cbor::Budget;
use eudi_cbor::Item;
use eudi_cbor::cose;
use eudi_cbor::{self as cbor};

use crate::enc;
use crate::error::At;
use crate::error::DecodeError;
use crate::error::EncodeError;
use crate::mso::MobileSecurityObject;
use crate::mso::check_map;
use crate::mso::opt_field;
use crate::mso::req_field;
use crate::text;

/// COSE header label `x5chain` (RFC 9360 §2).
pub(crate) const X5CHAIN: i64 = 33;

/// One issuer-signed data element, with the exact bytes its digest covers.
#[derive(Clone)]
pub struct IssuerSignedItem {
    /// The item's bytes, `random` and `elementIdentifier`, their positions checked once.
    layout: ItemLayout,
    digest_id: u64,
    element_value: Value,
    /// No indefinite-length item inside (always, for items this crate made).
    definite: bool,
}

impl PartialEq for IssuerSignedItem {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
            && self.digest_id == other.digest_id
            && self.random() == other.random()
            && self.element_identifier() == other.element_identifier()
            && self.element_value == other.element_value
    }
}

impl fmt::Debug for IssuerSignedItem {
    // The value is personal data: never in Debug output (and so never in logs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerSignedItem")
            .field("digest_id", &self.digest_id)
            .field("element_identifier", &self.element_identifier())
            .finish_non_exhaustive()
    }
}

impl IssuerSignedItem {
    /// `digestID`: the key of this item's digest in the MSO.
    pub fn digest_id(&self) -> u64 {
        self.digest_id
    }

    /// `random`: the salt that makes the digest unguessable.
    pub fn random(&self) -> &[u8] {
        self.layout.random()
    }

    /// `elementIdentifier`.
    pub fn element_identifier(&self) -> &str {
        self.layout.element_identifier()
    }

    /// `elementValue`.
    pub fn element_value(&self) -> &Value {
        &self.element_value
    }

    /// `IssuerSignedItemBytes`: `#6.24(bstr)`, exactly as issued; the MSO digest is over these.
    pub fn as_bytes(&self) -> &[u8] {
        self.layout.as_bytes()
    }

    /// Decodes `item`, one of the items whose encodings `shared` holds: `shared` is the bytes of
    /// `outer`, an item that contains `item`.
    fn decode(
        item: &Item<'_>,
        at: At<'_>,
        budget: &mut Budget,
        outer: &[u8],
        shared: &Arc<Vec<u8>>,
    ) -> Result<Self, DecodeError> {
        let inner = item
            .as_tag24()
            .ok_or_else(|| DecodeError::malformed(at, "not IssuerSignedItemBytes (#6.24 bstr)"))?;
        let map = cbor::decode(inner, budget)?;
        check_map(&map, at)?;
        let definite = cbor::is_definite(&map);
        let digest_id = req_field(&map, "digestID", at)?
            .as_uint()
            .ok_or_else(|| DecodeError::malformed(at, "`digestID` is not a uint"))?;
        let random = req_field(&map, "random", at)?
            .as_bytes()
            .ok_or_else(|| DecodeError::malformed(at, "`random` is not a bstr"))?;
        // Where `random` is in the item's bytes; a copy only if it is not there as it is
        // (an indefinite-length byte string somewhere around it).
        let random = Part::of(item.raw, random);
        let identifier = req_field(&map, "elementIdentifier", at)?
            .as_text()
            .ok_or_else(|| DecodeError::malformed(at, "`elementIdentifier` is not text"))?;
        let element_value = req_field(&map, "elementValue", at)?;
        cbor::check_unique_keys_deep(element_value).map_err(|_| {
            DecodeError::malformed(
                at.field(identifier),
                "a map in the element value has a key twice",
            )
        })?;
        let element_value = element_value
            .to_value()
            .map_err(|reason| DecodeError::malformed(at.field(identifier), reason))?;
        let element_identifier = Part::of(item.raw, identifier.as_bytes());
        let (buf, range) = match range_within(outer, item.raw) {
            Some(range) => (Arc::clone(shared), range),
            None => (Arc::new(item.raw.to_vec()), 0..item.raw.len()),
        };
        // The positions were just measured on these bytes: a failure here is a bug, reported
        // as an error rather than an item with an empty part.
        let layout = ItemLayout::new(buf, range, random, element_identifier)
            .map_err(|e| DecodeError::malformed(at, e.to_string()))?;
        Ok(Self {
            layout,
            digest_id,
            element_value,
            definite,
        })
    }

    /// Whether the embedded item uses definite lengths only (the PID rulebook requires it).
    pub(crate) fn is_definite(&self) -> bool {
        self.definite
    }
}

/// Issued items, encoded one after another into one buffer that they then share.
#[derive(Debug)]
pub(crate) struct ItemWriter {
    buf: Vec<u8>,
    /// The items written, as positions in `buf` until [`finish`](Self::finish) checks them and
    /// gives the items the buffer.
    items: Vec<Written>,
    /// For encoding values with containers, reused from item to item.
    scratch: Vec<u8>,
}

/// An item [`ItemWriter::push`] wrote: where it is in the writer's buffer.
#[derive(Debug)]
struct Written {
    at: Range<usize>,
    digest_id: u64,
    /// Relative to `at`.
    random: Range<usize>,
    /// Relative to `at`.
    identifier: Range<usize>,
    element_value: Value,
}

impl ItemWriter {
    /// Room for about `items` items.
    pub(crate) fn with_capacity(items: usize) -> Self {
        Self {
            buf: Vec::with_capacity(items * 128),
            items: Vec::with_capacity(items),
            scratch: Vec::new(),
        }
    }

    /// Encodes a new item (issuing) and returns its `IssuerSignedItemBytes`.
    ///
    /// The four keys in deterministic order (RFC 8949 §4.2.1: shorter encodings first) are
    /// `random`, `digestID`, `elementValue`, `elementIdentifier`. Scalar values (most are) are
    /// written in place, others are encoded first to know their length.
    pub(crate) fn push(
        &mut self,
        digest_id: u64,
        random: &[u8],
        element_identifier: &str,
        element_value: Value,
    ) -> Result<&[u8], EncodeError> {
        const RANDOM: &[u8] = b"\xa4\x66random";
        const DIGEST_ID: &[u8] = b"\x68digestID";
        const ELEMENT_VALUE: &[u8] = b"\x6celementValue";
        const ELEMENT_IDENTIFIER: &[u8] = b"\x71elementIdentifier";
        let scalar_len = enc::scalar_len(&element_value);
        let value_len = match scalar_len {
            Some(len) => len,
            None => {
                self.scratch.clear();
                enc::value_append(&element_value, &mut self.scratch)?;
                self.scratch.len()
            }
        };
        let inner_len = RANDOM.len()
            + enc::string_len(random.len())
            + DIGEST_ID.len()
            + enc::head_len(digest_id)
            + ELEMENT_VALUE.len()
            + value_len
            + ELEMENT_IDENTIFIER.len()
            + enc::string_len(element_identifier.len());
        let bytes = &mut self.buf;
        let start = bytes.len();
        bytes.reserve(2 + enc::string_len(inner_len));
        enc::head(bytes, 6, 24);
        enc::head(bytes, 2, enc::len_arg(inner_len));
        bytes.extend_from_slice(RANDOM);
        enc::head(bytes, 2, enc::len_arg(random.len()));
        let random_at = bytes.len() - start;
        bytes.extend_from_slice(random);
        bytes.extend_from_slice(DIGEST_ID);
        enc::head(bytes, 0, digest_id);
        bytes.extend_from_slice(ELEMENT_VALUE);
        match scalar_len {
            Some(_) => enc::value_append(&element_value, bytes)?,
            None => bytes.extend_from_slice(&self.scratch),
        }
        bytes.extend_from_slice(ELEMENT_IDENTIFIER);
        enc::text_into(bytes, element_identifier);
        let at = start..bytes.len();
        let identifier_at = at.len() - element_identifier.len()..at.len();
        self.items.push(Written {
            at: at.clone(),
            digest_id,
            random: random_at..random_at + random.len(),
            identifier: identifier_at,
            element_value,
        });
        // `at` was measured on this buffer just now.
        self.buf.get(at).ok_or(EncodeError::Internal)
    }

    /// The items, in the order written, sharing one buffer; each item's positions are checked
    /// here, once, so that its accessors are total ([`ItemLayout`]).
    pub(crate) fn finish(self) -> Result<Vec<IssuerSignedItem>, EncodeError> {
        let buf = Arc::new(self.buf);
        // A loop, not `collect` into a `Result`, which would lose the size hint and regrow.
        let mut items = Vec::with_capacity(self.items.len());
        for w in self.items {
            let layout = ItemLayout::new(
                Arc::clone(&buf),
                w.at,
                Part::Within(w.random),
                Part::Within(w.identifier),
            )
            .map_err(|_| EncodeError::Internal)?;
            items.push(IssuerSignedItem {
                layout,
                digest_id: w.digest_id,
                element_value: w.element_value,
                // The encoder writes definite lengths only.
                definite: true,
            });
        }
        Ok(items)
    }
}

/// Where a part of an item (`random`, the text of `elementIdentifier`) is.
#[derive(Clone, Debug, PartialEq)]
enum Part {
    /// In the item's bytes.
    Within(Range<usize>),
    /// Not as such in the item's bytes (assembled from the chunks of an indefinite-length
    /// string).
    Separate(Vec<u8>),
}

impl Part {
    /// `part`, decoded from `item`: where it is in `item`, else a copy.
    fn of(item: &[u8], part: &[u8]) -> Self {
        match range_within(item, part) {
            Some(range) => Self::Within(range),
            None => Self::Separate(part.to_vec()),
        }
    }
}

use layout::ItemLayout;

/// Where an item's parts are, checked once when the item is made so that reading them is total.
mod layout {
    use std::ops::Range;
    use std::sync::Arc;

    use super::Part;

    /// Why positions do not describe an item in its buffer (always a bug in this crate).
    #[derive(Debug, PartialEq, thiserror::Error)]
    pub(super) enum BrokenLayout {
        /// The item's range is not within the buffer.
        #[error("internal error: an item's range is outside its buffer")]
        Item,
        /// `random` or `elementIdentifier` is not within the item's bytes.
        #[error("internal error: a part of an item is outside the item")]
        Part,
        /// The `elementIdentifier` bytes are not UTF-8.
        #[error("internal error: an element identifier is not UTF-8")]
        Utf8,
    }

    /// An item's `IssuerSignedItemBytes` in a shared buffer, with where its `random` and
    /// `elementIdentifier` are.
    ///
    /// Invariant, held by this type (its fields are private to this module and never change
    /// after [`new`](Self::new) checked them): `at` is within `buf`, a [`Part::Within`] is
    /// within `at`, and the identifier is UTF-8. So the accessors are total.
    #[derive(Clone)]
    pub(super) struct ItemLayout {
        /// The bytes of the items issued or received together (one allocation for all of
        /// them).
        buf: Arc<Vec<u8>>,
        at: Range<usize>,
        random: Part,
        identifier: Part,
    }

    impl ItemLayout {
        /// Checks the positions; see the type's invariant.
        pub(super) fn new(
            buf: Arc<Vec<u8>>,
            at: Range<usize>,
            random: Part,
            identifier: Part,
        ) -> Result<Self, BrokenLayout> {
            let item = buf.get(at.clone()).ok_or(BrokenLayout::Item)?;
            fn within<'a>(item: &'a [u8], part: &'a Part) -> Result<&'a [u8], BrokenLayout> {
                match part {
                    Part::Within(range) => item.get(range.clone()).ok_or(BrokenLayout::Part),
                    Part::Separate(bytes) => Ok(bytes),
                }
            }
            within(item, &random)?;
            std::str::from_utf8(within(item, &identifier)?).map_err(|_| BrokenLayout::Utf8)?;
            Ok(Self {
                buf,
                at,
                random,
                identifier,
            })
        }

        /// `IssuerSignedItemBytes`.
        pub(super) fn as_bytes(&self) -> &[u8] {
            // Total: `at` is within `buf` (checked in `new`, never changed).
            &self.buf[self.at.clone()]
        }

        /// The length of [`as_bytes`](Self::as_bytes).
        pub(super) fn len(&self) -> usize {
            self.at.len()
        }

        fn part<'s>(&'s self, part: &'s Part) -> &'s [u8] {
            match part {
                // Total: within `at` (checked in `new`).
                Part::Within(range) => &self.as_bytes()[range.clone()],
                Part::Separate(bytes) => bytes,
            }
        }

        /// `random`.
        pub(super) fn random(&self) -> &[u8] {
            self.part(&self.random)
        }

        /// `elementIdentifier`.
        #[expect(
            clippy::expect_used,
            reason = "checked to be UTF-8 in `new` and immutable since: a failure is a bug \
                      that must not read as an empty identifier"
        )]
        pub(super) fn element_identifier(&self) -> &str {
            std::str::from_utf8(self.part(&self.identifier))
                .expect("element identifier checked to be UTF-8 in ItemLayout::new")
        }

        #[cfg(test)]
        pub(super) fn random_part(&self) -> &Part {
            &self.random
        }

        #[cfg(test)]
        pub(super) fn identifier_part(&self) -> &Part {
            &self.identifier
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn broken_positions_are_errors_not_empty_parts() {
            let buf = Arc::new(b"\xd8\x18\x43abc".to_vec());
            let ok = ItemLayout::new(
                Arc::clone(&buf),
                0..6,
                Part::Within(3..5),
                Part::Within(5..6),
            )
            .unwrap();
            assert_eq!(ok.as_bytes(), buf.as_slice());
            assert_eq!(ok.random(), b"ab");
            assert_eq!(ok.element_identifier(), "c");
            assert_eq!(ok.len(), 6);

            let new = |at: Range<usize>, random: Part, identifier: Part| {
                ItemLayout::new(Arc::clone(&buf), at, random, identifier).err()
            };
            // The item beyond its buffer.
            assert_eq!(
                new(0..7, Part::Within(0..1), Part::Within(0..1)),
                Some(BrokenLayout::Item)
            );
            assert_eq!(
                new(7..9, Part::Within(0..1), Part::Within(0..1)),
                Some(BrokenLayout::Item)
            );
            // A part beyond the item (though within the buffer).
            assert_eq!(
                new(0..4, Part::Within(3..5), Part::Within(0..1)),
                Some(BrokenLayout::Part)
            );
            assert_eq!(
                new(0..4, Part::Within(0..1), Part::Within(2..5)),
                Some(BrokenLayout::Part)
            );
            // An identifier that is not UTF-8, within or separate.
            assert_eq!(
                new(0..6, Part::Within(3..5), Part::Within(0..1)),
                Some(BrokenLayout::Utf8)
            );
            assert_eq!(
                new(0..6, Part::Within(3..5), Part::Separate(vec![0xff])),
                Some(BrokenLayout::Utf8)
            );
            // A separate `random` needs no position.
            assert!(new(0..6, Part::Separate(vec![1; 16]), Part::Within(5..6)).is_none());
        }
    }
}

/// Where `inner`, a slice of `outer`, is in it.
fn range_within(outer: &[u8], inner: &[u8]) -> Option<Range<usize>> {
    let start = inner.as_ptr().addr().checked_sub(outer.as_ptr().addr())?;
    let end = start.checked_add(inner.len())?;
    (end <= outer.len()).then_some(start..end)
}

/// `issuerAuth`: the COSE_Sign1 over the MSO, kept as received.
#[derive(Clone)]
pub(crate) struct IssuerAuth {
    /// The COSE_Sign1 exactly as received or produced.
    pub(crate) raw: Vec<u8>,
    /// The parsed COSE_Sign1 (protected header bytes kept as received).
    pub(crate) sign1: CoseSign1,
    /// The MSO from its payload; unverified until the signature is checked.
    pub(crate) mso: MobileSecurityObject,
}

impl fmt::Debug for IssuerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerAuth")
            .field("doc_type", &self.mso.doc_type())
            .field("len", &self.raw.len())
            .finish_non_exhaustive()
    }
}

impl IssuerAuth {
    fn decode(item: &Item<'_>, budget: &mut Budget) -> Result<Self, DecodeError> {
        let sign1 = decode_sign1(item, "IssuerSigned.issuerAuth", budget)?;
        let payload = sign1.payload.as_deref().ok_or_else(|| {
            DecodeError::malformed("IssuerSigned.issuerAuth", "payload (the MSO) is missing")
        })?;
        let mso = MobileSecurityObject::decode_payload(payload, budget)?;
        Ok(Self {
            raw: item.raw.to_vec(),
            sign1,
            mso,
        })
    }

    /// The DER certificates of `x5chain` (RFC 9360 §2): a bstr or an array of bstr, from the
    /// unprotected header (where ISO/IEC 18013-5 §9.1.2.4 puts it) or the protected one.
    pub(crate) fn x5chain(&self) -> Result<Option<Vec<&[u8]>>, DecodeError> {
        cose::x5chain(&self.sign1.protected.header, &self.sign1.unprotected)
            .map_err(|e| DecodeError::malformed("IssuerSigned.issuerAuth.x5chain", e.to_string()))
    }
}

/// A COSE_Sign1 (untagged, or with tag 18) from a decoded item, its protected header bounded by
/// `budget` ([`eudi_cbor::cose::decode_sign1`]).
pub(crate) fn decode_sign1(
    item: &Item<'_>,
    at: impl fmt::Display + Copy,
    budget: &mut Budget,
) -> Result<CoseSign1, DecodeError> {
    cose::decode_sign1(item, budget).map_err(|e| cose_error(at, e))
}

/// A COSE error as a decode error at `at`: a decoder limit stays a limit.
pub(crate) fn cose_error(at: impl fmt::Display, e: cose::CoseError) -> DecodeError {
    match e {
        cose::CoseError::ProtectedHeader { source, .. } if source.is_limit() => {
            DecodeError::Cbor(source)
        }
        e => DecodeError::malformed(at, e.to_string()),
    }
}

/// The `Sig_structure` of a COSE_Sign1 with its embedded payload (none counts as empty).
pub(crate) fn sign1_tbs(sign1: &CoseSign1) -> Result<Vec<u8>, cose::CoseError> {
    cose::sign1_tbs(sign1)
}

/// What the issuer signed for one document: the elements handed out and the signed MSO.
///
/// Parsed from bytes it is *unverified*; [`IssuerSigned::verify`] or
/// [`Document::verify`](crate::Document::verify) turn it into a
/// [`VerifiedDocument`](crate::VerifiedDocument).
#[derive(Clone, Debug)]
pub struct IssuerSigned {
    namespaces: Vec<(String, Vec<IssuerSignedItem>)>,
    pub(crate) issuer_auth: IssuerAuth,
}

impl IssuerSigned {
    /// Decodes `IssuerSigned` CBOR (at most [`MAX_INPUT_LEN`](crate::MAX_INPUT_LEN) bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut budget = Budget::new();
        let item = cbor::decode(bytes, &mut budget)?;
        Self::decode(&item, At::Root("IssuerSigned"), &mut budget)
    }

    /// Decodes base64url (padded or not) `IssuerSigned`.
    pub fn from_base64url(text: &str) -> Result<Self, DecodeError> {
        Self::from_bytes(&text::from_base64url(text)?)
    }

    /// Decodes hex `IssuerSigned`.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        Self::from_bytes(&text::from_hex(text)?)
    }

    /// Decodes hex or base64url `IssuerSigned`, whichever `text` is.
    pub fn from_text(text: &str) -> Result<Self, DecodeError> {
        Self::from_bytes(&text::from_text(text)?)
    }

    pub(crate) fn decode(
        item: &Item<'_>,
        at: At<'_>,
        budget: &mut Budget,
    ) -> Result<Self, DecodeError> {
        check_map(item, at)?;
        let mut namespaces = Vec::new();
        if let Some(ns_map) = opt_field(item, "nameSpaces", at)? {
            let ns_at = at.field("nameSpaces");
            let entries = check_map(ns_map, ns_at)?;
            if entries.is_empty() {
                // CDDL: IssuerNameSpaces = { + NameSpace => [ + IssuerSignedItemBytes ] }.
                return Err(DecodeError::malformed(
                    ns_at,
                    "has no namespace (CDDL `{ + NameSpace => [ + IssuerSignedItemBytes ] }`)",
                ));
            }
            namespaces.reserve_exact(entries.len());
            for (ns, items) in entries {
                let ns = ns
                    .as_text()
                    .ok_or_else(|| DecodeError::malformed(ns_at, "a namespace is not text"))?;
                let item_at = ns_at.field(ns);
                let array = items
                    .as_array()
                    .ok_or_else(|| DecodeError::malformed(item_at, "not an array"))?;
                if array.is_empty() {
                    // CDDL: `[ + IssuerSignedItemBytes ]`, at least one item per namespace.
                    return Err(DecodeError::malformed(
                        item_at,
                        "namespace has no items (CDDL `[ + IssuerSignedItemBytes ]`)",
                    ));
                }
                // One copy of the namespace's items, shared by them.
                let shared = Arc::new(items.raw.to_vec());
                let items = array
                    .iter()
                    .enumerate()
                    .map(|(i, it)| {
                        IssuerSignedItem::decode(it, item_at.index(i), budget, items.raw, &shared)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                namespaces.push((ns.to_owned(), items));
            }
        }
        let issuer_auth = IssuerAuth::decode(req_field(item, "issuerAuth", at)?, budget)?;
        Ok(Self {
            namespaces,
            issuer_auth,
        })
    }

    pub(crate) fn from_parts(
        namespaces: Vec<(String, Vec<IssuerSignedItem>)>,
        issuer_auth: IssuerAuth,
    ) -> Self {
        Self {
            namespaces,
            issuer_auth,
        }
    }

    /// The deterministic encoding. Items and issuerAuth are written as the exact bytes they
    /// arrived as, so signatures and digests stay valid.
    pub fn to_bytes(&self) -> Vec<u8> {
        // { ? "nameSpaces": { + ns => [ + IssuerSignedItemBytes ] }, "issuerAuth": COSE_Sign1 },
        // written in one buffer of the exact size. Keys in deterministic order: "issuerAuth"
        // before "nameSpaces" (same length, 'i' < 'n'); namespaces, being text, by length and
        // then bytewise (the order of their encodings, RFC 8949 §4.2.1).
        const ISSUER_AUTH: &[u8] = b"\x6aissuerAuth";
        const NAME_SPACES: &[u8] = b"\x6anameSpaces";
        let encoded_order = |a: &str, b: &str| a.len().cmp(&b.len()).then(a.cmp(b));
        let mut namespaces: Vec<(&str, &[IssuerSignedItem])> = self
            .namespaces
            .iter()
            .filter(|(_, items)| !items.is_empty())
            .map(|(ns, items)| (ns.as_str(), items.as_slice()))
            .collect();
        if namespaces.len() > 1 {
            namespaces.sort_unstable_by(|(a, _), (b, _)| encoded_order(a, b));
        }
        let namespaces_len = namespaces
            .iter()
            .map(|(ns, items)| {
                enc::string_len(ns.len())
                    + enc::head_len(enc::len_arg(items.len()))
                    + items.iter().map(|item| item.layout.len()).sum::<usize>()
            })
            .sum::<usize>()
            + enc::head_len(enc::len_arg(namespaces.len()));
        let mut out = Vec::with_capacity(
            1 + ISSUER_AUTH.len() + self.issuer_auth.raw.len() + NAME_SPACES.len() + namespaces_len,
        );
        out.push(if namespaces.is_empty() { 0xa1 } else { 0xa2 });
        out.extend_from_slice(ISSUER_AUTH);
        out.extend_from_slice(&self.issuer_auth.raw);
        if !namespaces.is_empty() {
            out.extend_from_slice(NAME_SPACES);
            enc::head(&mut out, 5, enc::len_arg(namespaces.len()));
            for (ns, items) in namespaces {
                enc::text_into(&mut out, ns);
                enc::head(&mut out, 4, enc::len_arg(items.len()));
                for item in items {
                    out.extend_from_slice(item.as_bytes());
                }
            }
        }
        out
    }

    /// [`to_bytes`](Self::to_bytes) as unpadded base64url.
    pub fn to_base64url(&self) -> String {
        text::to_base64url(&self.to_bytes())
    }

    /// [`to_bytes`](Self::to_bytes) as lowercase hex.
    pub fn to_hex(&self) -> String {
        text::to_hex(&self.to_bytes())
    }

    /// The namespaces and their items, in the order received.
    pub fn namespaces(&self) -> impl Iterator<Item = (&str, &[IssuerSignedItem])> {
        self.namespaces
            .iter()
            .map(|(ns, items)| (ns.as_str(), items.as_slice()))
    }

    /// The item for `element` in `namespace`, if present.
    pub fn item(&self, namespace: &str, element: &str) -> Option<&IssuerSignedItem> {
        self.namespaces
            .iter()
            .filter(|(ns, _)| ns == namespace)
            .flat_map(|(_, items)| items)
            .find(|item| item.element_identifier() == element)
    }

    /// The MSO from issuerAuth. **Unverified** here: use it to pick a credential, never to trust
    /// one.
    pub fn mso(&self) -> &MobileSecurityObject {
        &self.issuer_auth.mso
    }

    /// The MSO's `docType` (unverified, see [`mso`](Self::mso)).
    pub fn doc_type(&self) -> &str {
        self.issuer_auth.mso.doc_type()
    }

    /// issuerAuth, the COSE_Sign1, exactly as issued.
    pub fn issuer_auth_bytes(&self) -> &[u8] {
        &self.issuer_auth.raw
    }

    /// Keeps only the items named by `(namespace, element identifier)`, with their exact bytes
    /// (selective disclosure, ISO/IEC 18013-5 §8.3.2.1.2.2). Names that are not present are
    /// ignored; namespaces left without items are dropped.
    #[must_use]
    pub fn select(&self, wanted: &[(&str, &str)]) -> Self {
        let namespaces = self
            .namespaces
            .iter()
            .filter_map(|(ns, items)| {
                let kept: Vec<IssuerSignedItem> = items
                    .iter()
                    .filter(|item| {
                        wanted
                            .iter()
                            .any(|(w_ns, w_el)| w_ns == ns && *w_el == item.element_identifier())
                    })
                    .cloned()
                    .collect();
                (!kept.is_empty()).then(|| (ns.clone(), kept))
            })
            .collect();
        Self {
            namespaces,
            issuer_auth: self.issuer_auth.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use ciborium::cbor;
    use eudi_trust::Algorithm;
    use eudi_trust::Signer as _;
    use eudi_trust::SoftwareKey;

    use super::*;
    use crate::IssuerSignedBuilder;
    use crate::ValidityInfo;
    use crate::enc::MapEncoder;

    fn issue_one(
        digest_id: u64,
        random: &[u8],
        id: &str,
        value: Value,
    ) -> Result<IssuerSignedItem, EncodeError> {
        let mut writer = ItemWriter::with_capacity(1);
        writer.push(digest_id, random, id, value)?;
        Ok(writer.finish()?.remove(0))
    }

    fn decode_one(bytes: &[u8], budget: &mut Budget) -> IssuerSignedItem {
        let item = cbor::decode(bytes, budget).unwrap();
        let shared = Arc::new(bytes.to_vec());
        IssuerSignedItem::decode(&item, At::Root("item"), budget, bytes, &shared).unwrap()
    }

    /// The item as a generic deterministic map encoder writes it.
    fn reference_item(digest_id: u64, random: &[u8], id: &str, value: &Value) -> Vec<u8> {
        let mut map = MapEncoder::new();
        map.text("digestID", &enc::uint(digest_id))
            .text("random", &enc::bytes(random))
            .text("elementIdentifier", &enc::text(id))
            .text("elementValue", &enc::value(value).unwrap());
        enc::tag24(&map.finish_distinct())
    }

    fn values() -> Vec<Value> {
        vec![
            Value::Text("Mustermann".into()),
            Value::Tag(1004, Box::new(Value::Text("1964-08-12".into()))),
            cbor!({"locality" => "Berlin", "country" => "DE"}).unwrap(),
            cbor!(["DE", "DK"]).unwrap(),
            Value::Integer(2.into()),
            Value::Bool(true),
            Value::Bytes(vec![0xab; 70_000]),
            Value::Float(1.5),
        ]
    }

    #[test]
    fn new_item_equals_the_generic_map_encoding() {
        for (i, value) in values().into_iter().enumerate() {
            for digest_id in [0, 23, 24, 1000, 70_000, u64::MAX] {
                let random = vec![u8::try_from(i).unwrap(); 16 + i];
                let id = "x".repeat(1 + 5 * i);
                let item = issue_one(digest_id, &random, &id, value.clone()).unwrap();
                assert_eq!(
                    item.as_bytes(),
                    reference_item(digest_id, &random, &id, &value),
                    "{i} {digest_id}"
                );
                // And it decodes to itself (map values in encoded order).
                let mut budget = Budget::new();
                let decoded = decode_one(item.as_bytes(), &mut budget);
                assert_eq!(decoded.as_bytes(), item.as_bytes());
                assert_eq!(decoded.digest_id(), digest_id);
                assert_eq!(decoded.random(), random);
                assert_eq!(decoded.element_identifier(), id);
                assert_eq!(
                    enc::value(decoded.element_value()),
                    enc::value(item.element_value())
                );
            }
        }
        // A value the encoder refuses is refused.
        let duplicate = Value::Map(vec![
            (Value::Text("a".into()), Value::Null),
            (Value::Text("a".into()), Value::Null),
        ]);
        assert_eq!(
            issue_one(0, &[0; 16], "a", duplicate),
            Err(EncodeError::DuplicateMapKey)
        );

        // Several items share one buffer, each with its own bytes.
        let mut writer = ItemWriter::with_capacity(1);
        for (i, value) in values().into_iter().enumerate() {
            writer
                .push(i as u64, &[i as u8; 16], &format!("e{i}"), value)
                .unwrap();
        }
        let items = writer.finish().unwrap();
        for (i, (item, value)) in items.iter().zip(values()).enumerate() {
            assert_eq!(
                item.as_bytes(),
                reference_item(i as u64, &[i as u8; 16], &format!("e{i}"), &value)
            );
            assert_eq!(item.random(), [i as u8; 16]);
        }
    }

    /// `random` found in the item's bytes, or (an indefinite-length byte string) kept apart.
    #[test]
    fn random_in_place_or_apart() {
        let decode = |bytes: &[u8]| decode_one(bytes, &mut Budget::new());
        let random: Vec<u8> = (0..16).collect();
        let item = issue_one(5, &random, "e", Value::Null).unwrap();
        let decoded = decode(item.as_bytes());
        assert_eq!(decoded.random(), random);
        assert!(matches!(decoded.layout.random_part(), Part::Within(_)));
        assert!(decoded == item);

        // The same item with `random` as two chunks: 5f 48 <8 bytes> 48 <8 bytes> ff.
        let mut inner = vec![0xa4, 0x66];
        inner.extend_from_slice(b"random");
        inner.extend_from_slice(&[0x5f, 0x48]);
        inner.extend_from_slice(&random[..8]);
        inner.push(0x48);
        inner.extend_from_slice(&random[8..]);
        inner.push(0xff);
        inner.extend_from_slice(b"\x68digestID\x05\x6celementValue\xf6\x71elementIdentifier\x61e");
        let chunked = decode(&enc::tag24(&inner));
        assert_eq!(chunked.random(), random);
        assert!(matches!(chunked.layout.random_part(), Part::Separate(_)));
        assert!(matches!(chunked.layout.identifier_part(), Part::Within(_)));
        assert_eq!(chunked.element_identifier(), "e");
        assert_eq!(chunked.digest_id(), 5);

        // And `elementIdentifier` as two chunks: 7f 62 "fa" 64 "mily" ff.
        let mut inner = vec![0xa4, 0x66];
        inner.extend_from_slice(b"random");
        inner.push(0x50);
        inner.extend_from_slice(&random);
        inner.extend_from_slice(b"\x68digestID\x05\x6celementValue\xf6\x71elementIdentifier");
        inner.extend_from_slice(b"\x7f\x62fa\x64mily\xff");
        let chunked = decode(&enc::tag24(&inner));
        assert!(matches!(chunked.layout.random_part(), Part::Within(_)));
        assert!(matches!(
            chunked.layout.identifier_part(),
            Part::Separate(_)
        ));
        assert_eq!(chunked.element_identifier(), "family");
        assert_eq!(chunked.random(), random);
    }

    #[tokio::test]
    async fn to_bytes_equals_the_generic_map_encoding() {
        let mut item =
            |n: u64| issue_one(n, &[7; 16], &format!("e{n}"), Value::Bool(true)).unwrap();
        let namespaces = vec![
            (
                "org.iso.18013.5.1.aamva.extension".to_owned(),
                vec![item(0), item(1)],
            ),
            ("b".to_owned(), vec![item(2)]),
            ("empty".to_owned(), vec![]),
            ("a".to_owned(), (3..30).map(&mut item).collect()),
            ("eu.europa.ec.eudi.pid.1".to_owned(), vec![item(30)]),
        ];
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let t = time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        let validity = ValidityInfo::new(t, t, t + time::Duration::days(1));
        let signed = IssuerSignedBuilder::new("doc", key.verifying_key(), validity)
            .element("ns", "e", Value::Null)
            .sign(&key, &[b"certificate"])
            .await
            .unwrap();
        let raw = signed.issuer_auth.raw.clone();
        let reference = |namespaces: &[(String, Vec<IssuerSignedItem>)]| {
            let mut map = MapEncoder::new();
            if namespaces.iter().any(|(_, items)| !items.is_empty()) {
                let mut ns_map = MapEncoder::new();
                for (ns, items) in namespaces {
                    if !items.is_empty() {
                        let encoded: Vec<&[u8]> = items.iter().map(|i| i.as_bytes()).collect();
                        ns_map.text(ns, &enc::array(&encoded));
                    }
                }
                map.text("nameSpaces", &ns_map.finish_distinct());
            }
            map.text("issuerAuth", &raw);
            map.finish_distinct()
        };
        let with = |namespaces: Vec<(String, Vec<IssuerSignedItem>)>| IssuerSigned {
            namespaces,
            issuer_auth: signed.issuer_auth.clone(),
        };
        for namespaces in [
            namespaces.clone(),
            vec![],
            vec![("empty".to_owned(), vec![])],
        ] {
            let expected = reference(&namespaces);
            assert_eq!(with(namespaces).to_bytes(), expected);
        }
    }
}
