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

use ciborium::Value;
use coset::{AsCborValue as _, CoseSign1};

use crate::cbor::{self, Budget, Item};
use crate::enc::{self, MapEncoder};
use crate::error::{DecodeError, EncodeError};
use crate::mso::{MobileSecurityObject, check_map, opt_field, req_field};
use crate::text;

/// COSE header label `x5chain` (RFC 9360 §2).
pub(crate) const X5CHAIN: i64 = 33;

/// COSE tag of COSE_Sign1 (RFC 9052 §4.2), accepted around issuerAuth and deviceSignature.
const TAG_COSE_SIGN1: u64 = 18;

/// One issuer-signed data element, with the exact bytes its digest covers.
#[derive(Clone, PartialEq)]
pub struct IssuerSignedItem {
    bytes: Vec<u8>,
    digest_id: u64,
    random: Vec<u8>,
    element_identifier: String,
    element_value: Value,
}

impl fmt::Debug for IssuerSignedItem {
    // The value is personal data: never in Debug output (and so never in logs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerSignedItem")
            .field("digest_id", &self.digest_id)
            .field("element_identifier", &self.element_identifier)
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
        &self.random
    }

    /// `elementIdentifier`.
    pub fn element_identifier(&self) -> &str {
        &self.element_identifier
    }

    /// `elementValue`.
    pub fn element_value(&self) -> &Value {
        &self.element_value
    }

    /// `IssuerSignedItemBytes`: `#6.24(bstr)`, exactly as issued; the MSO digest is over these.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Encodes a new item (issuing).
    pub(crate) fn new(
        digest_id: u64,
        random: Vec<u8>,
        element_identifier: &str,
        element_value: Value,
    ) -> Result<Self, EncodeError> {
        let mut map = MapEncoder::new();
        map.text("digestID", enc::uint(digest_id))
            .text("random", enc::bytes(&random))
            .text("elementIdentifier", enc::text(element_identifier))
            .text("elementValue", enc::value(&element_value)?);
        let bytes = enc::tag24(&map.finish_distinct());
        Ok(Self {
            bytes,
            digest_id,
            random,
            element_identifier: element_identifier.to_owned(),
            element_value,
        })
    }

    fn decode(item: &Item<'_>, at: &str, budget: &mut Budget) -> Result<Self, DecodeError> {
        let inner = item
            .as_tag24()
            .ok_or_else(|| DecodeError::malformed(at, "not IssuerSignedItemBytes (#6.24 bstr)"))?;
        let map = cbor::decode(inner, budget)?;
        check_map(&map, at)?;
        let digest_id = req_field(&map, "digestID", at)?
            .as_uint()
            .ok_or_else(|| DecodeError::malformed(at, "`digestID` is not a uint"))?;
        let random = req_field(&map, "random", at)?
            .as_bytes()
            .ok_or_else(|| DecodeError::malformed(at, "`random` is not a bstr"))?
            .to_vec();
        let element_identifier = req_field(&map, "elementIdentifier", at)?
            .as_text()
            .ok_or_else(|| DecodeError::malformed(at, "`elementIdentifier` is not text"))?
            .to_owned();
        let element_value = req_field(&map, "elementValue", at)?;
        cbor::check_unique_keys_deep(element_value).map_err(|_| {
            DecodeError::malformed(
                format!("{at}.{element_identifier}"),
                "a map in the element value has a key twice",
            )
        })?;
        let element_value = element_value.to_value().map_err(|reason| {
            DecodeError::malformed(format!("{at}.{element_identifier}"), reason)
        })?;
        Ok(Self {
            bytes: item.raw.to_vec(),
            digest_id,
            random,
            element_identifier,
            element_value,
        })
    }
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
        let sign1 = decode_sign1(item, "IssuerSigned.issuerAuth")?;
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
        fn find(rest: &[(coset::Label, Value)]) -> Option<&Value> {
            rest.iter()
                .find(|(label, _)| *label == coset::Label::Int(X5CHAIN))
                .map(|(_, v)| v)
        }
        let value =
            find(&self.sign1.protected.header.rest).or_else(|| find(&self.sign1.unprotected.rest));
        let Some(value) = value else {
            return Ok(None);
        };
        let malformed = || {
            DecodeError::malformed(
                "IssuerSigned.issuerAuth.x5chain",
                "not a bstr or an array of bstr",
            )
        };
        match value {
            Value::Bytes(der) => Ok(Some(vec![der.as_slice()])),
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|v| v.as_bytes().map(Vec::as_slice).ok_or_else(malformed))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            _ => Err(malformed()),
        }
    }
}

/// A COSE_Sign1 (untagged, or with tag 18) from a decoded item.
pub(crate) fn decode_sign1(item: &Item<'_>, at: &str) -> Result<CoseSign1, DecodeError> {
    let item = match item.as_tag() {
        Some((TAG_COSE_SIGN1, inner)) => inner,
        _ => item,
    };
    let value = item
        .to_value()
        .map_err(|reason| DecodeError::malformed(at, reason))?;
    CoseSign1::from_cbor_value(value)
        .map_err(|e| DecodeError::malformed(at, format!("not a COSE_Sign1: {e}")))
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
        Self::decode(&item, "IssuerSigned", &mut budget)
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
        at: &str,
        budget: &mut Budget,
    ) -> Result<Self, DecodeError> {
        check_map(item, at)?;
        let mut namespaces = Vec::new();
        if let Some(ns_map) = opt_field(item, "nameSpaces", at)? {
            let ns_at = format!("{at}.nameSpaces");
            for (ns, items) in check_map(ns_map, &ns_at)? {
                let ns = ns
                    .as_text()
                    .ok_or_else(|| DecodeError::malformed(&ns_at, "a namespace is not text"))?;
                let item_at = format!("{ns_at}.{ns}");
                let items = items
                    .as_array()
                    .ok_or_else(|| DecodeError::malformed(&item_at, "not an array"))?
                    .iter()
                    .enumerate()
                    .map(|(i, it)| IssuerSignedItem::decode(it, &format!("{item_at}[{i}]"), budget))
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
        let mut map = MapEncoder::new();
        if self.namespaces.iter().any(|(_, items)| !items.is_empty()) {
            let mut namespaces = MapEncoder::new();
            for (ns, items) in &self.namespaces {
                if items.is_empty() {
                    continue;
                }
                let encoded: Vec<&[u8]> = items.iter().map(IssuerSignedItem::as_bytes).collect();
                namespaces.text(ns, enc::array(&encoded));
            }
            map.text("nameSpaces", namespaces.finish_distinct());
        }
        map.text("issuerAuth", self.issuer_auth.raw.clone());
        map.finish_distinct()
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
            .find(|item| item.element_identifier == element)
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
                            .any(|(w_ns, w_el)| w_ns == ns && *w_el == item.element_identifier)
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
