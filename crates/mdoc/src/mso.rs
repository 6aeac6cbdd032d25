//! The Mobile Security Object (ISO/IEC 18013-5 §9.1.2.4), its digests (§9.1.2.5), validity
//! (tdate, RFC 8949 §3.4.1) and the device key as a COSE_Key (RFC 9052 §7).
//!
//! ```cddl
//! MobileSecurityObjectBytes = #6.24(bstr .cbor MobileSecurityObject)
//! MobileSecurityObject = {
//!   "version" : tstr,                 ; "1.0"
//!   "digestAlgorithm" : tstr,         ; "SHA-256" / "SHA-384" / "SHA-512"
//!   "valueDigests" : ValueDigests,
//!   "deviceKeyInfo" : DeviceKeyInfo,
//!   "docType" : tstr,
//!   "validityInfo" : ValidityInfo,
//!   ? "status" : Status               ; Token Status List §6.3 (ISO/IEC 18013-5 2nd ed.)
//! }
//! DeviceKeyInfo = { "deviceKey" : COSE_Key, ? "keyAuthorizations" : …, ? "keyInfo" : … }
//! ValueDigests = { + NameSpace => DigestIDs }
//! DigestIDs = { + DigestID => Digest }   ; DigestID = uint, Digest = bstr
//! ValidityInfo = {
//!   "signed" : tdate, "validFrom" : tdate, "validUntil" : tdate, ? "expectedUpdate" : tdate
//! }
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use aws_lc_rs::digest;
use ciborium::Value;
use coset::iana::EnumI64 as _;
use coset::iana::{self};
use eudi_cbor::Budget;
use eudi_cbor::Item;
use eudi_cbor::{self as cbor};
use eudi_status_list::StatusReference;
use eudi_trust::Algorithm;
use eudi_trust::VerifyingKey;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::digests::Digests;
use crate::enc;
use crate::error::At;
use crate::error::DecodeError;
use crate::error::EncodeError;

/// The MSO digest algorithm (ISO/IEC 18013-5 §9.1.2.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `SHA-256`, the default.
    #[default]
    Sha256,
    /// `SHA-384`.
    Sha384,
    /// `SHA-512`.
    Sha512,
}

impl DigestAlgorithm {
    /// The name used in `digestAlgorithm`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    /// Parses a `digestAlgorithm` name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "SHA-256" => Some(Self::Sha256),
            "SHA-384" => Some(Self::Sha384),
            "SHA-512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.hash(data).as_ref().to_vec()
    }

    fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }

    /// Length of a digest in bytes.
    pub(crate) fn output_len(self) -> usize {
        self.algorithm().output_len()
    }

    /// The digest of `data`, without allocating.
    pub(crate) fn hash(self, data: &[u8]) -> digest::Digest {
        digest::digest(self.algorithm(), data)
    }
}

/// `ValidityInfo`: when the MSO was signed and when it may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidityInfo {
    /// `signed`: when the MSO was signed.
    pub signed: OffsetDateTime,
    /// `validFrom`: not to be accepted before.
    pub valid_from: OffsetDateTime,
    /// `validUntil`: not to be accepted after.
    pub valid_until: OffsetDateTime,
    /// `expectedUpdate`: when the issuer expects to re-sign.
    pub expected_update: Option<OffsetDateTime>,
}

impl ValidityInfo {
    /// Signed now-ish and valid from `valid_from` until `valid_until`, no expected update.
    pub fn new(
        signed: OffsetDateTime,
        valid_from: OffsetDateTime,
        valid_until: OffsetDateTime,
    ) -> Self {
        Self {
            signed,
            valid_from,
            valid_until,
            expected_update: None,
        }
    }

    /// Sets `expectedUpdate`.
    #[must_use]
    pub fn with_expected_update(mut self, at: OffsetDateTime) -> Self {
        self.expected_update = Some(at);
        self
    }

    fn decode(item: &Item<'_>) -> Result<Self, DecodeError> {
        const AT: &str = "MSO.validityInfo";
        check_map(item, AT)?;
        let time = |name: &str| -> Result<Option<OffsetDateTime>, DecodeError> {
            opt_field(item, name, AT)?
                .map(|t| {
                    decode_tdate(t)
                        .map_err(|reason| DecodeError::malformed(format!("{AT}.{name}"), reason))
                })
                .transpose()
        };
        let required = |name: &str| {
            time(name)?.ok_or_else(|| DecodeError::malformed(AT, format!("`{name}` is missing")))
        };
        Ok(Self {
            signed: required("signed")?,
            valid_from: required("validFrom")?,
            valid_until: required("validUntil")?,
            expected_update: time("expectedUpdate")?,
        })
    }

    /// Appends the encoded validity: a map with the keys in deterministic order (RFC 8949
    /// §4.2.1: `signed`, `validFrom`, `validUntil`, `expectedUpdate` are of increasing length).
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(if self.expected_update.is_some() {
            0xa4
        } else {
            0xa3
        });
        out.extend_from_slice(b"\x66signed");
        encode_tdate_into(self.signed, out)?;
        out.extend_from_slice(b"\x69validFrom");
        encode_tdate_into(self.valid_from, out)?;
        out.extend_from_slice(b"\x6avalidUntil");
        encode_tdate_into(self.valid_until, out)?;
        if let Some(at) = self.expected_update {
            out.extend_from_slice(b"\x6eexpectedUpdate");
            encode_tdate_into(at, out)?;
        }
        Ok(())
    }

    /// The validity as [`decode`](Self::decode) reads back what [`encode`](Self::encode)
    /// wrote: in UTC, whole seconds. `None` if a time cannot be written as an RFC 3339 tdate
    /// (its UTC year is outside 0–9999).
    fn as_encoded(&self) -> Option<Self> {
        let encoded = |t: OffsetDateTime| {
            let t = t.checked_to_offset(time::UtcOffset::UTC)?;
            let t = t.replace_nanosecond(0).unwrap_or(t);
            (0..=9999).contains(&t.year()).then_some(t)
        };
        Some(Self {
            signed: encoded(self.signed)?,
            valid_from: encoded(self.valid_from)?,
            valid_until: encoded(self.valid_until)?,
            expected_update: match self.expected_update {
                Some(t) => Some(encoded(t)?),
                None => None,
            },
        })
    }
}

/// [`format_time`] for the usual case, as bytes on the stack: in UTC, whole seconds, a year of
/// four digits, it is always `YYYY-MM-DDTHH:MM:SSZ`. `None` for other years.
fn rfc3339_utc(t: OffsetDateTime) -> Option<[u8; 20]> {
    let t = t.checked_to_offset(time::UtcOffset::UTC)?;
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let mut text = *b"0000-00-00T00:00:00Z";
    let fields = [
        (0, 4, year),
        (5, 2, u32::from(u8::from(t.month()))),
        (8, 2, u32::from(t.day())),
        (11, 2, u32::from(t.hour())),
        (14, 2, u32::from(t.minute())),
        (17, 2, u32::from(t.second())),
    ];
    for (at, width, mut n) in fields {
        for digit in text.get_mut(at..at + width)?.iter_mut().rev() {
            *digit = b'0' + u8::try_from(n % 10).ok()?;
            n /= 10;
        }
    }
    Some(text)
}

/// `tdate = #6.0(tstr)` (RFC 8949 §3.4.1). Fractional seconds and offsets are accepted on input,
/// as real-world issuers use them.
fn decode_tdate(item: &Item<'_>) -> Result<OffsetDateTime, String> {
    match item.as_tag() {
        Some((0, inner)) => {
            let text = inner
                .as_text()
                .ok_or("tdate (tag 0) does not hold a text string")?;
            OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|e| format!("tdate {text:?} is not RFC 3339: {e}"))
        }
        _ => Err("not a tdate (tag 0 with an RFC 3339 string)".into()),
    }
}

/// RFC 3339 in UTC without fractional seconds, as ISO/IEC 18013-5 §9.1.2.4 wants tdates.
pub(crate) fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn encode_tdate_into(t: OffsetDateTime, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if !(0..=9999).contains(&t.year()) {
        return Err(EncodeError::Unsupported);
    }
    enc::head(out, 6, 0);
    // What `format_time` writes, without a `String`.
    match rfc3339_utc(t) {
        Some(text) => {
            out.push(0x60 | 20);
            out.extend_from_slice(&text);
        }
        _ => enc::text_into(out, &format_time(t)),
    }
    Ok(())
}

/// The Mobile Security Object, as signed by the issuer in `issuerAuth`.
///
/// Obtained from an [`IssuerSigned`](crate::IssuerSigned) it is *unverified*: only a
/// [`VerifiedDocument`](crate::VerifiedDocument) says the issuer signed it.
#[derive(Clone)]
pub struct MobileSecurityObject {
    version: Cow<'static, str>,
    digest_algorithm: DigestAlgorithm,
    value_digests: Digests,
    /// `value_digests` as maps, made when first asked for.
    value_digest_maps: OnceLock<BTreeMap<String, BTreeMap<u64, Vec<u8>>>>,
    device_key: VerifyingKey,
    doc_type: String,
    validity: ValidityInfo,
    status: Option<StatusReference>,
}

impl PartialEq for MobileSecurityObject {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
            && self.digest_algorithm == other.digest_algorithm
            && self.value_digests == other.value_digests
            && self.device_key == other.device_key
            && self.doc_type == other.doc_type
            && self.validity == other.validity
            && self.status == other.status
    }
}

impl fmt::Debug for MobileSecurityObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MobileSecurityObject")
            .field("version", &self.version)
            .field("digest_algorithm", &self.digest_algorithm)
            .field("value_digests", self.value_digests())
            .field("device_key", &self.device_key)
            .field("doc_type", &self.doc_type)
            .field("validity", &self.validity)
            .field("status", &self.status)
            .finish()
    }
}

impl MobileSecurityObject {
    /// `version`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// `digestAlgorithm`.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest_algorithm
    }

    /// The digest for `digest_id` in `namespace`, if the MSO has one.
    pub fn value_digest(&self, namespace: &str, digest_id: u64) -> Option<&[u8]> {
        self.value_digests.get(namespace, digest_id)
    }

    /// `valueDigests`: namespace → digestID → digest.
    pub fn value_digests(&self) -> &BTreeMap<String, BTreeMap<u64, Vec<u8>>> {
        self.value_digest_maps
            .get_or_init(|| self.value_digests.to_maps())
    }

    /// `deviceKeyInfo.deviceKey`.
    pub fn device_key(&self) -> &VerifyingKey {
        &self.device_key
    }

    /// `docType`.
    pub fn doc_type(&self) -> &str {
        &self.doc_type
    }

    /// `validityInfo`.
    pub fn validity(&self) -> &ValidityInfo {
        &self.validity
    }

    /// `status`: where the credential's Token Status List entry is.
    pub fn status(&self) -> Option<&StatusReference> {
        self.status.as_ref()
    }

    /// Decodes `MobileSecurityObjectBytes` (the COSE_Sign1 payload).
    ///
    /// The payload should be `#6.24(bstr .cbor MobileSecurityObject)`; a bare MSO map, which some
    /// early implementations sign, is accepted too, since the signature covers either.
    pub(crate) fn decode_payload(payload: &[u8], budget: &mut Budget) -> Result<Self, DecodeError> {
        let outer = cbor::decode(payload, budget)?;
        match outer.as_tag24() {
            Some(inner) => {
                let mso = cbor::decode(inner, budget)?;
                Self::decode(&mso)
            }
            None if outer.as_map().is_some() => Self::decode(&outer),
            None => Err(DecodeError::malformed(
                "issuerAuth payload",
                "not MobileSecurityObjectBytes (#6.24 bstr)",
            )),
        }
    }

    fn decode(item: &Item<'_>) -> Result<Self, DecodeError> {
        const AT: &str = "MSO";
        check_map(item, AT)?;
        let version = text_field(item, "version", AT)?;
        if !version.starts_with("1.") {
            return Err(DecodeError::UnsupportedVersion { at: "MSO", version });
        }
        let alg_name = text_field(item, "digestAlgorithm", AT)?;
        let digest_algorithm = DigestAlgorithm::from_name(&alg_name)
            .ok_or(DecodeError::UnsupportedDigestAlgorithm(alg_name))?;

        let digests = req_field(item, "valueDigests", AT)?;
        let entries = check_map(digests, "MSO.valueDigests")?;
        if entries.is_empty() {
            // CDDL: ValueDigests = { + NameSpace => DigestIDs }.
            return Err(DecodeError::malformed(
                "MSO.valueDigests",
                "has no namespace (CDDL `{ + NameSpace => DigestIDs }`)",
            ));
        }
        let mut namespaces = Vec::with_capacity(entries.len());
        let mut all = Vec::new();
        for (index, (ns, ids)) in entries.iter().enumerate() {
            let ns = ns.as_text().ok_or_else(|| {
                DecodeError::malformed("MSO.valueDigests", "a namespace is not text")
            })?;
            let parent = At::Root("MSO.valueDigests");
            let at = parent.field(ns);
            let ids = check_map(ids, at)?;
            if ids.is_empty() {
                // CDDL: DigestIDs = { + DigestID => Digest }.
                return Err(DecodeError::malformed(
                    at,
                    "namespace has no digests (CDDL `{ + DigestID => Digest }`)",
                ));
            }
            all.reserve(ids.len());
            for (id, digest) in ids {
                let id = id
                    .as_uint()
                    .ok_or_else(|| DecodeError::malformed(at, "a digestID is not a uint"))?;
                let digest = digest.as_bytes().ok_or_else(|| {
                    DecodeError::malformed(at, format!("digest {id} is not a bstr"))
                })?;
                all.push((index, id, digest));
            }
            namespaces.push(ns.to_owned());
        }
        // Keys are distinct (checked above), so this cannot fail.
        let value_digests = Digests::new(namespaces, &mut all)
            .map_err(|_| DecodeError::malformed("MSO.valueDigests", "a map key occurs twice"))?;

        let key_info = req_field(item, "deviceKeyInfo", AT)?;
        check_map(key_info, "MSO.deviceKeyInfo")?;
        let device_key =
            cose_key_to_verifying_key(req_field(key_info, "deviceKey", "MSO.deviceKeyInfo")?)
                .map_err(|reason| DecodeError::malformed("MSO.deviceKeyInfo.deviceKey", reason))?;

        let doc_type = text_field(item, "docType", AT)?;
        if doc_type == PID_DOC_TYPE && !cbor::is_definite(item) {
            // PID rulebook, CBOR encoding: indefinite-length items SHALL be made definite.
            return Err(DecodeError::malformed(
                AT,
                "a PID MSO holds an indefinite-length item (the PID rulebook requires definite lengths)",
            ));
        }
        let validity = ValidityInfo::decode(req_field(item, "validityInfo", AT)?)?;
        let status = opt_field(item, "status", AT)?
            .map(|status| {
                let value = status
                    .to_value()
                    .map_err(|reason| DecodeError::malformed("MSO.status", reason))?;
                StatusReference::from_cbor_status(&value).map_err(DecodeError::Status)
            })
            .transpose()?;
        Ok(Self {
            version: Cow::Owned(version),
            digest_algorithm,
            value_digests,
            value_digest_maps: OnceLock::new(),
            device_key,
            doc_type,
            validity,
            status,
        })
    }

    /// Encodes an MSO for issuing, as `MobileSecurityObjectBytes` (`#6.24(bstr .cbor MSO)`),
    /// in deterministic encoding (RFC 8949 §4.2.1) written front to back: map keys in the
    /// order of their encodings, which for text keys is by length and then bytewise.
    #[cfg(test)]
    pub(crate) fn encode(
        doc_type: &str,
        digest_algorithm: DigestAlgorithm,
        digests: &Digests,
        device_key: &VerifyingKey,
        validity: &ValidityInfo,
        status: Option<&StatusReference>,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(Self::encoded_len_guess(doc_type, digests, status));
        Self::encode_into(
            &mut out,
            doc_type,
            digest_algorithm,
            digests,
            device_key,
            validity,
            status,
        )?;
        Ok(out)
    }

    /// About the length of the encoding (at least as long, usually).
    pub(crate) fn encoded_len_guess(
        doc_type: &str,
        digests: &Digests,
        status: Option<&StatusReference>,
    ) -> usize {
        256 + doc_type.len() + digests.encoded_len() + status.map_or(0, |s| s.uri.len())
    }

    /// [`encode`](Self::encode), appended to `out`.
    pub(crate) fn encode_into(
        out: &mut Vec<u8>,
        doc_type: &str,
        digest_algorithm: DigestAlgorithm,
        digests: &Digests,
        device_key: &VerifyingKey,
        validity: &ValidityInfo,
        status: Option<&StatusReference>,
    ) -> Result<(), EncodeError> {
        enc::tag24_into(out, |out| {
            out.push(if status.is_some() { 0xa7 } else { 0xa6 });
            if let Some(status) = status {
                out.extend_from_slice(b"\x66status\xa1\x6bstatus_list\xa2\x63idx");
                enc::head(out, 0, status.idx);
                out.extend_from_slice(b"\x63uri");
                enc::text_into(out, &status.uri);
            }
            out.extend_from_slice(b"\x67docType");
            enc::text_into(out, doc_type);
            out.extend_from_slice(b"\x67version\x631.0");
            out.extend_from_slice(b"\x6cvalidityInfo");
            validity.encode_into(out)?;
            out.extend_from_slice(b"\x6cvalueDigests");
            digests.encode_into(out)?;
            out.extend_from_slice(b"\x6ddeviceKeyInfo\xa1\x69deviceKey");
            cose_key_into(device_key, out);
            out.extend_from_slice(b"\x6fdigestAlgorithm");
            enc::text_into(out, digest_algorithm.name());
            Ok(())
        })
    }

    /// The MSO that [`encode`](Self::encode) wrote, without decoding it again: what
    /// [`decode_payload`](Self::decode_payload) would return for `payload`.
    ///
    /// Everything is known from the inputs except what decoding checks beyond the encoder:
    /// the status reference is validated as decoding would, and a payload the decoder might not
    /// accept back (larger than [`MAX_ITEMS`](crate::MAX_ITEMS) bytes, so possibly over the item
    /// budget; a time outside the years 0–9999 once in UTC) is decoded after all, so that every
    /// error is the one decoding reports.
    pub(crate) fn issued(
        payload: &[u8],
        doc_type: &str,
        digest_algorithm: DigestAlgorithm,
        value_digests: Digests,
        device_key: &VerifyingKey,
        validity: &ValidityInfo,
        status: Option<&StatusReference>,
    ) -> Result<Self, DecodeError> {
        let validity = match validity.as_encoded() {
            Some(v) if payload.len() <= crate::MAX_ITEMS => v,
            _ => return Self::decode_payload(payload, &mut Budget::new()),
        };
        let status = status
            .map(|s| {
                let value = Value::Map(vec![(
                    Value::Text("status_list".into()),
                    Value::Map(vec![
                        (Value::Text("idx".into()), Value::Integer(s.idx.into())),
                        (Value::Text("uri".into()), Value::Text(s.uri.clone())),
                    ]),
                )]);
                StatusReference::from_cbor_status(&value).map_err(DecodeError::Status)
            })
            .transpose()?;
        let mso = Self {
            version: Cow::Borrowed("1.0"),
            digest_algorithm,
            value_digests,
            value_digest_maps: OnceLock::new(),
            device_key: device_key.clone(),
            doc_type: doc_type.to_owned(),
            validity,
            status,
        };
        #[cfg(debug_assertions)]
        {
            // Debug builds (the tests) check that this is what decoding yields.
            let decoded = Self::decode_payload(payload, &mut Budget::new());
            debug_assert_eq!(
                decoded.as_ref(),
                Ok::<&Self, &DecodeError>(&mso),
                "issued MSO differs from its decoding"
            );
        }
        Ok(mso)
    }
}

/// Appends the COSE_Key (RFC 9053 §7.1.1, EC2) of an EC public key in deterministic encoding:
/// `{1: 2, -1: crv, -2: x, -3: y}`, which is also the order of the encoded labels.
fn cose_key_into(key: &VerifyingKey, out: &mut Vec<u8>) {
    let crv: u8 = match key.algorithm() {
        Algorithm::Es384 => 2,
        Algorithm::Es512 => 3,
        _ => 1,
    };
    out.extend_from_slice(&[0xa4, 0x01, 0x02, 0x20, crv, 0x21]);
    enc::bytes_into(out, key.x());
    out.push(0x22);
    enc::bytes_into(out, key.y());
}

/// An EC2 COSE_Key (RFC 9053 §7.1.1) with uncompressed coordinates, as a verifying key.
///
/// The PID docType (PID rulebook), whose CBOR structures must use definite lengths.
pub(crate) const PID_DOC_TYPE: &str = "eu.europa.ec.eudi.pid.1";

/// Read directly rather than through `coset::CoseKey`, which rejects keys with a text `kid`
/// (RFC 9052 says bstr) as real-world wallets send them; only `kty`, `crv`, `x` and `y` are
/// used, other parameters are ignored.
pub(crate) fn cose_key_to_verifying_key(item: &Item<'_>) -> Result<VerifyingKey, String> {
    let entries = item.as_map().ok_or("COSE_Key is not a map")?;
    cbor::check_unique_keys(entries).map_err(|_| "COSE_Key has a label twice")?;
    let param = |label: i64| {
        entries
            .iter()
            .find(|(k, _)| int_label(k) == Some(label))
            .map(|(_, v)| v)
    };
    let int = |label: i64, name: &str| -> Result<i64, String> {
        param(label)
            .and_then(int_label)
            .ok_or_else(|| format!("COSE_Key {name} is missing or not an integer"))
    };
    if int(iana::KeyParameter::Kty.to_i64(), "kty")? != iana::KeyType::EC2.to_i64() {
        return Err("COSE_Key kty is not EC2 (2)".into());
    }
    let alg = match int(iana::Ec2KeyParameter::Crv.to_i64(), "crv")? {
        c if c == iana::EllipticCurve::P_256.to_i64() => Algorithm::Es256,
        c if c == iana::EllipticCurve::P_384.to_i64() => Algorithm::Es384,
        c if c == iana::EllipticCurve::P_521.to_i64() => Algorithm::Es512,
        other => return Err(format!("COSE_Key crv {other} is not P-256, P-384 or P-521")),
    };
    let coordinate = |label: i64, name: &str| -> Result<&[u8], String> {
        let value = param(label).ok_or_else(|| format!("COSE_Key {name} is missing"))?;
        match (value.as_bytes(), &value.kind) {
            (Some(b), _) if b.len() == alg.field_len() => Ok(b),
            (Some(_), _) => Err(format!("COSE_Key {name} has the wrong length")),
            (None, cbor::Kind::Bool(_)) => {
                Err("COSE_Key has a compressed point, which is not supported".into())
            }
            (None, _) => Err(format!("COSE_Key {name} is not a bstr")),
        }
    };
    let x = coordinate(iana::Ec2KeyParameter::X.to_i64(), "x")?;
    let y = coordinate(iana::Ec2KeyParameter::Y.to_i64(), "y")?;
    let mut point = Vec::with_capacity(1 + x.len() + y.len());
    point.push(4);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    VerifyingKey::from_sec1(alg, &point).map_err(|e| e.to_string())
}

/// An integer map label or value that fits in i64.
fn int_label(item: &Item<'_>) -> Option<i64> {
    match item.kind {
        cbor::Kind::Uint(n) => i64::try_from(n).ok(),
        cbor::Kind::Nint(n) => i64::try_from(n).ok().map(|n| -1 - n),
        _ => None,
    }
}

/// The map's entries, with every key unique.
pub(crate) fn check_map<'i, 'a>(
    item: &'i Item<'a>,
    at: impl fmt::Display,
) -> Result<&'i [(Item<'a>, Item<'a>)], DecodeError> {
    let Some(entries) = item.as_map() else {
        return Err(DecodeError::malformed(at, "not a map"));
    };
    cbor::check_unique_keys(entries)
        .map_err(|_| DecodeError::malformed(at, "a map key occurs twice"))?;
    Ok(entries)
}

/// An optional member of a map.
pub(crate) fn opt_field<'i, 'a>(
    item: &'i Item<'a>,
    name: &str,
    at: impl fmt::Display,
) -> Result<Option<&'i Item<'a>>, DecodeError> {
    cbor::field(item, name).map_err(|e| match e {
        cbor::LookupError::NotAMap => DecodeError::malformed(at, "not a map"),
        cbor::LookupError::Duplicate => {
            DecodeError::malformed(at, format!("`{name}` occurs twice"))
        }
    })
}

/// A required member of a map.
pub(crate) fn req_field<'i, 'a>(
    item: &'i Item<'a>,
    name: &str,
    at: impl fmt::Display + Copy,
) -> Result<&'i Item<'a>, DecodeError> {
    opt_field(item, name, at)?
        .ok_or_else(|| DecodeError::malformed(at, format!("`{name}` is missing")))
}

/// A required text member of a map.
pub(crate) fn text_field(
    item: &Item<'_>,
    name: &str,
    at: impl fmt::Display + Copy,
) -> Result<String, DecodeError> {
    req_field(item, name, at)?
        .as_text()
        .map(str::to_owned)
        .ok_or_else(|| DecodeError::malformed(at, format!("`{name}` is not text")))
}

#[cfg(test)]
mod tests {
    use coset::AsCborValue as _;
    use coset::CoseKeyBuilder;
    use eudi_trust::Signer as _;
    use eudi_trust::SoftwareKey;
    use time::Duration;

    use super::*;
    use crate::digests::Duplicate;
    use crate::enc::MapEncoder;

    /// `(digestID, digest)` pairs of one namespace.
    type DigestIds = Vec<(u64, Vec<u8>)>;

    fn digests_of(pairs: &[(String, DigestIds)]) -> Result<Digests, Duplicate> {
        let mut all: Vec<(usize, u64, &[u8])> = pairs
            .iter()
            .enumerate()
            .flat_map(|(i, (_, ids))| ids.iter().map(move |(id, d)| (i, *id, d.as_slice())))
            .collect();
        Digests::new(pairs.iter().map(|(ns, _)| ns.clone()).collect(), &mut all)
    }

    /// The COSE_Key of an EC public key as `coset` builds it.
    fn coset_key(key: &VerifyingKey) -> Vec<u8> {
        let curve = match key.algorithm() {
            Algorithm::Es384 => iana::EllipticCurve::P_384,
            Algorithm::Es512 => iana::EllipticCurve::P_521,
            _ => iana::EllipticCurve::P_256,
        };
        let key = CoseKeyBuilder::new_ec2_pub_key(curve, key.x().to_vec(), key.y().to_vec())
            .build()
            .to_cbor_value()
            .unwrap();
        enc::value(&key).unwrap()
    }

    /// The MSO encoding as a generic deterministic map encoder writes it: what
    /// [`MobileSecurityObject::encode`] must equal.
    fn reference_encode(
        doc_type: &str,
        digest_algorithm: DigestAlgorithm,
        value_digests: &[(String, DigestIds)],
        device_key: &VerifyingKey,
        validity: &ValidityInfo,
        status: Option<&StatusReference>,
    ) -> Result<Vec<u8>, EncodeError> {
        let tdate = |t: OffsetDateTime| -> Result<Vec<u8>, EncodeError> {
            if !(0..=9999).contains(&t.year()) {
                return Err(EncodeError::Unsupported);
            }
            Ok(enc::tag(0, &enc::text(&format_time(t))))
        };
        let mut digests = MapEncoder::new();
        for (ns, ids) in value_digests {
            let mut map = MapEncoder::new();
            for (id, digest) in ids {
                map.try_entry(
                    |b| {
                        b.extend_from_slice(&enc::uint(*id));
                        Ok::<(), EncodeError>(())
                    },
                    |b| {
                        b.extend_from_slice(&enc::bytes(digest));
                        Ok(())
                    },
                )?;
            }
            digests.text(ns, &map.finish()?);
        }
        let mut key_info = MapEncoder::new();
        key_info.text("deviceKey", &coset_key(device_key));
        let mut v = MapEncoder::new();
        v.text("signed", &tdate(validity.signed)?)
            .text("validFrom", &tdate(validity.valid_from)?)
            .text("validUntil", &tdate(validity.valid_until)?);
        if let Some(at) = validity.expected_update {
            v.text("expectedUpdate", &tdate(at)?);
        }
        let mut mso = MapEncoder::new();
        mso.text("version", &enc::text("1.0"))
            .text("digestAlgorithm", &enc::text(digest_algorithm.name()))
            .text("valueDigests", &digests.finish()?)
            .text("deviceKeyInfo", &key_info.finish()?)
            .text("docType", &enc::text(doc_type))
            .text("validityInfo", &v.finish()?);
        if let Some(status) = status {
            let mut list = MapEncoder::new();
            list.text("idx", &enc::uint(status.idx))
                .text("uri", &enc::text(&status.uri));
            let mut map = MapEncoder::new();
            map.text("status_list", &list.finish()?);
            mso.text("status", &map.finish()?);
        }
        Ok(enc::tag24(&mso.finish()?))
    }

    #[test]
    fn encode_equals_the_generic_map_encoding() {
        let t = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        let long_ns = "org.iso.18013.5.1.aamva.extension.namespace".to_owned();
        let many: DigestIds = (0..300).rev().map(|i| (i * 7, vec![i as u8; 48])).collect();
        let status = StatusReference {
            idx: 70_000,
            uri: "https://status.example/lists/1".into(),
        };
        for alg in [Algorithm::Es256, Algorithm::Es384] {
            let device = SoftwareKey::generate(alg).unwrap();
            type Case<'s> = (
                Vec<(String, DigestIds)>,
                ValidityInfo,
                Option<&'s StatusReference>,
            );
            let cases: Vec<Case<'_>> = vec![
                (
                    vec![(
                        "eu.europa.ec.eudi.pid.1".into(),
                        vec![(1, vec![1; 32]), (0, vec![2; 32])],
                    )],
                    ValidityInfo::new(t, t, t + Duration::days(1)),
                    None,
                ),
                (
                    vec![
                        ("z".into(), vec![(24, vec![3; 32])]),
                        (long_ns.clone(), many.clone()),
                        ("aa".into(), vec![(23, vec![4; 32]), (256, vec![5; 32])]),
                        ("ab".into(), vec![(65_536, vec![6; 32])]),
                    ],
                    ValidityInfo::new(t, t, t + Duration::days(1))
                        .with_expected_update(t + Duration::hours(5)),
                    Some(&status),
                ),
            ];
            for (digests, validity, status) in cases {
                for digest_alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384] {
                    let ours = MobileSecurityObject::encode(
                        "org.example.doc",
                        digest_alg,
                        &digests_of(&digests).unwrap(),
                        device.verifying_key(),
                        &validity,
                        status,
                    );
                    let reference = reference_encode(
                        "org.example.doc",
                        digest_alg,
                        &digests,
                        device.verifying_key(),
                        &validity,
                        status,
                    );
                    assert_eq!(ours, reference);
                    assert!(ours.is_ok());
                }
            }
            // Duplicates are refused, as a map encoder refuses them.
            for digests in [
                vec![("a".to_owned(), vec![(1, vec![1; 32]), (1, vec![2; 32])])],
                vec![
                    ("a".to_owned(), vec![(1, vec![1; 32])]),
                    ("a".to_owned(), vec![(2, vec![1; 32])]),
                ],
            ] {
                let validity = ValidityInfo::new(t, t, t + Duration::days(1));
                let key = device.verifying_key();
                assert_eq!(digests_of(&digests), Err(Duplicate));
                assert_eq!(
                    reference_encode("d", DigestAlgorithm::Sha256, &digests, key, &validity, None),
                    Err(EncodeError::DuplicateMapKey)
                );
            }
        }
    }

    #[test]
    fn tdates_as_format_time_writes_them() {
        let offset = time::UtcOffset::from_hms(-3, 30, 0).unwrap();
        for unix in [
            0i64,
            1,
            59,
            86_399,
            951_782_400,
            1_767_225_600,
            253_402_300_799,
        ] {
            for nanos in [0u32, 1, 999_999_999] {
                let t = OffsetDateTime::from_unix_timestamp(unix)
                    .unwrap()
                    .replace_nanosecond(nanos)
                    .unwrap();
                for t in [t, t.to_offset(offset)] {
                    let text = rfc3339_utc(t).unwrap();
                    assert_eq!(std::str::from_utf8(&text).unwrap(), format_time(t), "{t}");
                }
            }
        }
        // Year 0 in UTC is written; year -1 (year 0 at +02:00) is not.
        let year0 = time::macros::datetime!(0000-01-01 00:00 UTC);
        assert_eq!(&rfc3339_utc(year0).unwrap(), b"0000-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_utc(time::macros::datetime!(0000-01-01 01:00 +02:00)),
            None
        );
    }

    #[test]
    fn cose_key_matches_coset() {
        for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::Es512] {
            let key = SoftwareKey::generate(alg).unwrap();
            let mut ours = Vec::new();
            cose_key_into(key.verifying_key(), &mut ours);
            assert_eq!(ours, coset_key(key.verifying_key()), "{alg}");
            let mut budget = Budget::new();
            let item = cbor::decode(&ours, &mut budget).unwrap();
            assert_eq!(
                &cose_key_to_verifying_key(&item).unwrap(),
                key.verifying_key()
            );
        }
    }

    /// The MSO as built for issuing equals its decoding, also for times with an offset and
    /// fractional seconds, and a status; odd inputs fail as decoding fails.
    #[test]
    fn issued_equals_decoded() {
        let device = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let offset = time::UtcOffset::from_hms(2, 30, 0).unwrap();
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_767_225_600_250_000_000)
            .unwrap()
            .to_offset(offset);
        let validity = ValidityInfo::new(t, t + Duration::hours(1), t + Duration::days(30))
            .with_expected_update(t + Duration::days(10));
        let digests = vec![
            (
                "ns.b".to_owned(),
                vec![(2, vec![1; 32]), (0, vec![2; 32]), (1, vec![3; 32])],
            ),
            ("ns.a".to_owned(), vec![(24, vec![4; 32])]),
        ];
        let status = StatusReference {
            idx: 412,
            uri: "https://status.example/lists/1".into(),
        };
        for status in [None, Some(&status)] {
            let payload = MobileSecurityObject::encode(
                "org.example.doc",
                DigestAlgorithm::Sha256,
                &digests_of(&digests).unwrap(),
                device.verifying_key(),
                &validity,
                status,
            )
            .unwrap();
            let issued = MobileSecurityObject::issued(
                &payload,
                "org.example.doc",
                DigestAlgorithm::Sha256,
                digests_of(&digests).unwrap(),
                device.verifying_key(),
                &validity,
                status,
            )
            .unwrap();
            let decoded = MobileSecurityObject::decode_payload(&payload, &mut Budget::new());
            assert_eq!(Ok(issued), decoded);
        }

        // A status URI decoding rejects is rejected when issuing, with the same error.
        let bad = StatusReference {
            idx: 1,
            uri: "not a uri".into(),
        };
        let payload = MobileSecurityObject::encode(
            "org.example.doc",
            DigestAlgorithm::Sha256,
            &digests_of(&digests).unwrap(),
            device.verifying_key(),
            &validity,
            Some(&bad),
        )
        .unwrap();
        let decoded = MobileSecurityObject::decode_payload(&payload, &mut Budget::new());
        let issued = MobileSecurityObject::issued(
            &payload,
            "org.example.doc",
            DigestAlgorithm::Sha256,
            digests_of(&digests).unwrap(),
            device.verifying_key(),
            &validity,
            Some(&bad),
        );
        assert!(matches!(issued, Err(DecodeError::Status(_))));
        assert_eq!(issued, decoded);

        // A time that is in year 0 locally but -1 in UTC cannot be a tdate: decoding (which
        // the issuer falls back to) says so.
        let early = time::macros::datetime!(0000-01-01 01:00 +02:00);
        let validity = ValidityInfo::new(early, t, t + Duration::days(1));
        let payload = MobileSecurityObject::encode(
            "org.example.doc",
            DigestAlgorithm::Sha256,
            &digests_of(&digests).unwrap(),
            device.verifying_key(),
            &validity,
            None,
        )
        .unwrap();
        let issued = MobileSecurityObject::issued(
            &payload,
            "org.example.doc",
            DigestAlgorithm::Sha256,
            digests_of(&digests).unwrap(),
            device.verifying_key(),
            &validity,
            None,
        );
        assert!(issued.is_err());
        assert_eq!(
            issued,
            MobileSecurityObject::decode_payload(&payload, &mut Budget::new())
        );
    }
}
