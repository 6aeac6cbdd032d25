//! The COSE pieces (RFC 9052) that mdoc (ISO/IEC 18013-5 §9.1.2.4 issuerAuth, §9.1.3
//! deviceAuth) and the Token Status List in CWT form (draft-ietf-oauth-status-list §5.2) share:
//! reading a `COSE_Sign1` / `COSE_Mac0` from an already bounded [`Item`], the serialized
//! protected header, the `Sig_structure`, algorithm labels and the `x5chain` header.
//!
//! Header maps are held in `coset`'s types (`Header`, `ProtectedHeader`), which name the RFC 9052
//! common parameters; `coset` only ever sees CBOR this crate's decoder has already bounded:
//! the protected header's bytes are decoded here first, under the same item budget, with
//! duplicate labels rejected (RFC 9052 §3: a header map must not hold a label twice).

use std::borrow::Cow;

use ciborium::Value;
use coset::AsCborValue as _;
use coset::CborSerializable as _;
use coset::CoseMac0;
use coset::CoseSign1;
use coset::Header;
use coset::Label;
use coset::ProtectedHeader;
use coset::RegisteredLabelWithPrivate;
use coset::iana::EnumI64 as _;
use eudi_trust::Algorithm;

use crate::decode::Budget;
use crate::decode::Item;
use crate::decode::Kind;
use crate::decode::{self};
use crate::enc;

/// Tag of `COSE_Sign1_Tagged` (RFC 9052 §2).
pub const TAG_COSE_SIGN1: u64 = 18;
/// Tag of `COSE_Mac0_Tagged` (RFC 9052 §2).
pub const TAG_COSE_MAC0: u64 = 17;
/// Tag of a CWT (RFC 8392 §6).
pub const TAG_CWT: u64 = 61;

/// Header parameter `alg` (RFC 9052 §3.1).
pub const HEADER_ALG: i64 = 1;
/// Header parameter `crit` (RFC 9052 §3.1).
pub const HEADER_CRIT: i64 = 2;
/// Header parameter `kid` (RFC 9052 §3.1).
pub const HEADER_KID: i64 = 4;
/// Header parameter `typ` (RFC 9596).
pub const HEADER_TYPE: i64 = 16;
/// Header parameter `x5chain` (RFC 9360 §2).
pub const HEADER_X5CHAIN: i64 = 33;

/// Why an item is not the COSE structure expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoseError {
    /// The structure does not follow RFC 9052 (message from `coset` or this module).
    #[error("not a {structure}: {reason}")]
    Malformed {
        /// `COSE_Sign1` or `COSE_Mac0`.
        structure: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The protected header is not within the decoder's limits or not well-formed CBOR.
    #[error("{structure} protected header: {source}")]
    ProtectedHeader {
        /// `COSE_Sign1` or `COSE_Mac0`.
        structure: &'static str,
        /// What the decoder found.
        #[source]
        source: decode::CborError,
    },
    /// `x5chain` is not a byte string or a non-empty array of byte strings (RFC 9360 §2).
    #[error("x5chain is not a bstr or a non-empty array of bstr")]
    X5Chain,
    /// A protected header built by the caller could not be serialized (API misuse).
    #[error("protected header cannot be encoded: {0}")]
    Encode(String),
}

impl CoseError {
    /// Whether this is a decoder resource limit (size, depth, item count).
    pub fn is_limit(&self) -> bool {
        matches!(self, Self::ProtectedHeader { source, .. } if source.is_limit())
    }
}

fn malformed(structure: &'static str) -> impl Fn(coset::CoseError) -> CoseError {
    move |e| CoseError::Malformed {
        structure,
        reason: e.to_string(),
    }
}

/// The tag 18 content, or the item itself when untagged.
fn untag<'i, 'a>(item: &'i Item<'a>, tag: u64) -> &'i Item<'a> {
    match item.as_tag() {
        Some((t, inner)) if t == tag => inner,
        _ => item,
    }
}

/// Bounds the protected header's embedded CBOR before `coset` decodes it.
fn check_protected(
    protected: &[u8],
    budget: &mut Budget,
    structure: &'static str,
) -> Result<(), CoseError> {
    if protected.is_empty() {
        return Ok(());
    }
    let item = decode::decode(protected, budget)
        .map_err(|source| CoseError::ProtectedHeader { structure, source })?;
    decode::check_unique_keys_deep(&item).map_err(|_| CoseError::ProtectedHeader {
        structure,
        source: decode::CborError::DuplicateKey,
    })
}

/// A `COSE_Sign1` (untagged, or with tag 18) from a decoded item.
///
/// The payload and signature are taken as they are (no copy through a `ciborium::Value`); the
/// headers are decoded into `coset`'s types after the protected header passed the decoder's
/// limits. A shape other than `[bstr, map, bstr / nil, bstr]` is reported as `coset` words it.
pub fn decode_sign1(item: &Item<'_>, budget: &mut Budget) -> Result<CoseSign1, CoseError> {
    const SIGN1: &str = "COSE_Sign1";
    let item = untag(item, TAG_COSE_SIGN1);
    let parts = match item.as_array() {
        Some([protected, unprotected, payload, signature]) => (
            protected.as_bytes(),
            unprotected,
            match &payload.kind {
                Kind::Bytes(b) => Some(Some(b)),
                // `undefined` is read as `null`, as `ciborium` does.
                Kind::Null | Kind::Undefined => Some(None),
                _ => None,
            },
            signature.as_bytes(),
        ),
        _ => (None, item, None, None),
    };
    let (Some(protected), unprotected, Some(payload), Some(signature)) = parts else {
        // Not the expected shape: let `coset` say what is wrong.
        let value = item.to_value().map_err(|reason| CoseError::Malformed {
            structure: SIGN1,
            reason: reason.into(),
        })?;
        return CoseSign1::from_cbor_value(value).map_err(malformed(SIGN1));
    };
    decode::check_unique_keys_deep(unprotected).map_err(|_| CoseError::Malformed {
        structure: SIGN1,
        reason: "unprotected header has a label twice".into(),
    })?;
    let unprotected = unprotected
        .to_value()
        .map_err(|reason| CoseError::Malformed {
            structure: SIGN1,
            reason: reason.into(),
        })?;
    let unprotected = Header::from_cbor_value(unprotected).map_err(malformed(SIGN1))?;
    check_protected(protected, budget, SIGN1)?;
    let protected = ProtectedHeader::from_cbor_bstr(Value::Bytes(protected.to_vec()))
        .map_err(malformed(SIGN1))?;
    Ok(CoseSign1 {
        protected,
        unprotected,
        payload: payload.map(|p| p.to_vec()),
        signature: signature.to_vec(),
    })
}

/// A `COSE_Mac0` (untagged, or with tag 17) from a decoded item.
pub fn decode_mac0(item: &Item<'_>, budget: &mut Budget) -> Result<CoseMac0, CoseError> {
    const MAC0: &str = "COSE_Mac0";
    let item = untag(item, TAG_COSE_MAC0);
    if let Some([protected, ..]) = item.as_array()
        && let Some(protected) = protected.as_bytes()
    {
        check_protected(protected, budget, MAC0)?;
    }
    decode::check_unique_keys_deep(item).map_err(|_| CoseError::Malformed {
        structure: MAC0,
        reason: "a header has a label twice".into(),
    })?;
    let value = item.to_value().map_err(|reason| CoseError::Malformed {
        structure: MAC0,
        reason: reason.into(),
    })?;
    CoseMac0::from_cbor_value(value).map_err(malformed(MAC0))
}

/// The serialized protected header, as the `Sig_structure` holds it (RFC 9052 §4.4): the bytes
/// as received, an empty string for an empty header, or else its encoding.
pub fn protected_bytes(protected: &ProtectedHeader) -> Result<Cow<'_, [u8]>, CoseError> {
    match &protected.original_data {
        Some(data) => Ok(Cow::Borrowed(data)),
        None if protected.is_empty() => Ok(Cow::Borrowed(&[])),
        None => protected
            .clone()
            .to_vec()
            .map(Cow::Owned)
            .map_err(|e| CoseError::Encode(e.to_string())),
    }
}

/// `Sig_structure` context of COSE_Sign1: an array of four, `"Signature1"`.
const SIGNATURE1: &[u8] = b"\x84\x6aSignature1";

/// The COSE_Sign1 `Sig_structure` (RFC 9052 §4.4) with an empty `external_aad`:
/// `["Signature1", protected, h'', payload]`, written in one buffer of the exact size, in the
/// definite, shortest-length form RFC 9052 §9 requires.
///
/// `protected` is the serialized protected header (the content of its bstr); `write_payload`
/// appends the `payload_len` bytes of the payload. Returns the structure and where the payload
/// starts in it.
pub fn sig_structure1(
    protected: &[u8],
    payload_len: usize,
    write_payload: impl FnOnce(&mut Vec<u8>),
) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(
        SIGNATURE1.len() + enc::string_len(protected.len()) + 1 + enc::string_len(payload_len),
    );
    out.extend_from_slice(SIGNATURE1);
    enc::bytes_into(&mut out, protected);
    out.push(0x40);
    enc::head(&mut out, 2, enc::len_arg(payload_len));
    let start = out.len();
    write_payload(&mut out);
    (out, start)
}

/// [`sig_structure1`] for a payload of unknown length, written in place by `write_payload`;
/// `capacity` is a guess of its length.
pub fn sig_structure1_with<E>(
    protected: &[u8],
    capacity: usize,
    write_payload: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(Vec<u8>, usize), E> {
    let mut out =
        Vec::with_capacity(SIGNATURE1.len() + enc::string_len(protected.len()) + 10 + capacity);
    out.extend_from_slice(SIGNATURE1);
    enc::bytes_into(&mut out, protected);
    out.push(0x40);
    let start = enc::bstr_into(&mut out, write_payload)?;
    Ok((out, start))
}

/// The `Sig_structure` of a COSE_Sign1 over its embedded payload (none counts as empty).
pub fn sign1_tbs(sign1: &CoseSign1) -> Result<Vec<u8>, CoseError> {
    let payload = sign1.payload.as_deref().unwrap_or_default();
    let protected = protected_bytes(&sign1.protected)?;
    Ok(sig_structure1(&protected, payload.len(), |out| {
        out.extend_from_slice(payload);
    })
    .0)
}

/// Why a header names no usable signature algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlgError {
    /// No `alg` (label 1) in the header.
    #[error("no alg in the protected header")]
    Absent,
    /// An `alg` this workspace does not sign or verify with, as found.
    #[error("algorithm {0}")]
    Unknown(String),
}

/// The signature algorithm the header's `alg` (label 1) names, by its COSE identifier
/// (RFC 9053 §2.1: ES256 -7, ES384 -35, ES512 -36; RFC 9864 / RFC 9053 EdDSA -8). Only the
/// protected header is meant to be passed (RFC 9052 §3.1).
pub fn algorithm(header: &Header) -> Result<Algorithm, AlgError> {
    match &header.alg {
        None => Err(AlgError::Absent),
        Some(RegisteredLabelWithPrivate::Assigned(a)) => Algorithm::from_cose(a.to_i64())
            .ok_or_else(|| AlgError::Unknown(a.to_i64().to_string())),
        Some(RegisteredLabelWithPrivate::PrivateUse(i)) => Err(AlgError::Unknown(i.to_string())),
        Some(RegisteredLabelWithPrivate::Text(t)) => Err(AlgError::Unknown(format!("{t:?}"))),
    }
}

/// A header parameter by integer label, from the protected header first, then the unprotected.
pub fn header_value<'s>(
    protected: &'s Header,
    unprotected: &'s Header,
    label: i64,
) -> Option<&'s Value> {
    [protected, unprotected].into_iter().find_map(|h| {
        h.rest
            .iter()
            .find(|(l, _)| *l == Label::Int(label))
            .map(|(_, v)| v)
    })
}

/// The DER certificates of `x5chain` (RFC 9360 §2: a bstr, or an array of bstr, leaf first),
/// protected header first.
pub fn x5chain<'s>(
    protected: &'s Header,
    unprotected: &'s Header,
) -> Result<Option<Vec<&'s [u8]>>, CoseError> {
    match header_value(protected, unprotected, HEADER_X5CHAIN) {
        None => Ok(None),
        Some(Value::Bytes(der)) => Ok(Some(vec![der.as_slice()])),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_bytes().map(Vec::as_slice).ok_or(CoseError::X5Chain))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(CoseError::X5Chain),
    }
}

#[cfg(test)]
mod tests {
    use coset::CoseSign1Builder;
    use coset::HeaderBuilder;
    use coset::TaggedCborSerializable as _;
    use coset::iana;

    use super::*;

    fn protected() -> ProtectedHeader {
        ProtectedHeader {
            original_data: None,
            header: HeaderBuilder::new()
                .algorithm(iana::Algorithm::ES256)
                .build(),
        }
    }

    /// The Sig_structure is what `coset` builds.
    #[test]
    fn sig_structure_matches_coset() {
        let protected = protected();
        let protected_bytes = protected.clone().to_vec().unwrap();
        for len in [0usize, 10, 24, 300, 70_000] {
            let payload = vec![0x5au8; len];
            let coset = coset::sig_structure_data(
                coset::SignatureContext::CoseSign1,
                protected.clone(),
                None,
                b"",
                &payload,
            );
            let (ours, start) = sig_structure1(&protected_bytes, len, |out| {
                out.extend_from_slice(&payload);
            });
            assert_eq!(ours, coset, "{len}");
            assert_eq!(&ours[start..], &payload[..]);
            let (with, start) = sig_structure1_with(&protected_bytes, 0, |out| {
                out.extend_from_slice(&payload);
                Ok::<(), ()>(())
            })
            .unwrap();
            assert_eq!(with, coset, "{len}");
            assert_eq!(&with[start..], &payload[..]);
        }
    }

    fn sign1_bytes(protected: Header, unprotected: Header) -> Vec<u8> {
        CoseSign1Builder::new()
            .protected(protected)
            .unprotected(unprotected)
            .payload(b"payload".to_vec())
            .signature(vec![1, 2, 3])
            .build()
            .to_tagged_vec()
            .unwrap()
    }

    #[test]
    fn sign1_round_trips_and_names_its_algorithm_and_chain() {
        let unprotected = HeaderBuilder::new()
            .value(HEADER_X5CHAIN, Value::Bytes(vec![0x30, 0x00]))
            .build();
        let bytes = sign1_bytes(protected().header, unprotected);
        let item = decode::decode(&bytes, &mut Budget::new()).unwrap();
        let sign1 = decode_sign1(&item, &mut Budget::new()).unwrap();
        assert_eq!(sign1.payload.as_deref(), Some(&b"payload"[..]));
        assert_eq!(algorithm(&sign1.protected.header), Ok(Algorithm::Es256));
        assert_eq!(
            x5chain(&sign1.protected.header, &sign1.unprotected).unwrap(),
            Some(vec![&[0x30, 0x00][..]])
        );
        // The Sig_structure covers the protected header exactly as received.
        let tbs = sign1_tbs(&sign1).unwrap();
        assert_eq!(
            tbs,
            coset::sig_structure_data(
                coset::SignatureContext::CoseSign1,
                sign1.protected.clone(),
                None,
                b"",
                b"payload",
            )
        );
    }

    #[test]
    fn algorithm_labels() {
        let none = Header::default();
        assert_eq!(algorithm(&none), Err(AlgError::Absent));
        let hmac = HeaderBuilder::new()
            .algorithm(iana::Algorithm::HMAC_256_256)
            .build();
        assert_eq!(algorithm(&hmac), Err(AlgError::Unknown("5".into())));
        let es384 = HeaderBuilder::new()
            .algorithm(iana::Algorithm::ES384)
            .build();
        assert_eq!(algorithm(&es384), Ok(Algorithm::Es384));
    }

    #[test]
    fn x5chain_must_be_bytes() {
        for bad in [
            Value::Text("cert".into()),
            Value::Array(vec![]),
            Value::Array(vec![Value::Bytes(vec![1]), Value::Integer(1.into())]),
        ] {
            let header = HeaderBuilder::new().value(HEADER_X5CHAIN, bad).build();
            assert_eq!(
                x5chain(&header, &Header::default()),
                Err(CoseError::X5Chain)
            );
        }
    }

    /// The protected header is bounded by the caller's budget and may not repeat a label.
    #[test]
    fn protected_header_is_bounded_and_unique() {
        let bytes = sign1_bytes(protected().header, Header::default());
        let item = decode::decode(&bytes, &mut Budget::new()).unwrap();
        // {1: -7} is three items; a budget of two cannot hold it.
        let err = decode_sign1(&item, &mut Budget::with_max_items(2)).unwrap_err();
        assert!(err.is_limit(), "{err}");
        // Protected header {1: -7, 1: -7}.
        let sign1 = [
            &[0xd2, 0x84, 0x45, 0xa2, 0x01, 0x26, 0x01, 0x26, 0xa0][..],
            &[0x41, 0x00, 0x41, 0x00],
        ]
        .concat();
        let item = decode::decode(&sign1, &mut Budget::new()).unwrap();
        assert!(matches!(
            decode_sign1(&item, &mut Budget::new()),
            Err(CoseError::ProtectedHeader {
                source: decode::CborError::DuplicateKey,
                ..
            })
        ));
        // Unprotected header {4: h'', 4: h''}.
        let sign1 = [
            &[0xd2, 0x84, 0x40, 0xa2, 0x04, 0x40, 0x04, 0x40][..],
            &[0x41, 0x00, 0x41, 0x00],
        ]
        .concat();
        let item = decode::decode(&sign1, &mut Budget::new()).unwrap();
        assert!(matches!(
            decode_sign1(&item, &mut Budget::new()),
            Err(CoseError::Malformed { .. })
        ));
    }
}
