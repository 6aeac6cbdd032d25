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

use std::collections::BTreeMap;

use aws_lc_rs::digest;
use coset::iana::{self, EnumI64 as _};
use coset::{AsCborValue as _, CoseKey, CoseKeyBuilder};
use eudi_status_list::StatusReference;
use eudi_trust::{Algorithm, VerifyingKey};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cbor::{self, Budget, Item};
use crate::enc::{self, MapEncoder};
use crate::error::{DecodeError, EncodeError};

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
        let alg = match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
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

    pub(crate) fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut map = MapEncoder::new();
        map.text("signed", encode_tdate(self.signed)?)
            .text("validFrom", encode_tdate(self.valid_from)?)
            .text("validUntil", encode_tdate(self.valid_until)?);
        if let Some(at) = self.expected_update {
            map.text("expectedUpdate", encode_tdate(at)?);
        }
        map.finish()
    }
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

fn encode_tdate(t: OffsetDateTime) -> Result<Vec<u8>, EncodeError> {
    if !(0..=9999).contains(&t.year()) {
        return Err(EncodeError::Unsupported);
    }
    Ok(enc::tag(0, &enc::text(&format_time(t))))
}

/// `(digestID, digest)` pairs of one namespace, for issuing.
pub(crate) type DigestIds = Vec<(u64, Vec<u8>)>;

/// The Mobile Security Object, as signed by the issuer in `issuerAuth`.
///
/// Obtained from an [`IssuerSigned`](crate::IssuerSigned) it is *unverified*: only a
/// [`VerifiedDocument`](crate::VerifiedDocument) says the issuer signed it.
#[derive(Clone, Debug, PartialEq)]
pub struct MobileSecurityObject {
    version: String,
    digest_algorithm: DigestAlgorithm,
    value_digests: BTreeMap<String, BTreeMap<u64, Vec<u8>>>,
    device_key: VerifyingKey,
    doc_type: String,
    validity: ValidityInfo,
    status: Option<StatusReference>,
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
        self.value_digests
            .get(namespace)
            .and_then(|ids| ids.get(&digest_id))
            .map(Vec::as_slice)
    }

    /// `valueDigests`: namespace → digestID → digest.
    pub fn value_digests(&self) -> &BTreeMap<String, BTreeMap<u64, Vec<u8>>> {
        &self.value_digests
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
        let mut value_digests = BTreeMap::new();
        for (ns, ids) in entries {
            let ns = ns.as_text().ok_or_else(|| {
                DecodeError::malformed("MSO.valueDigests", "a namespace is not text")
            })?;
            let at = format!("MSO.valueDigests.{ns}");
            let mut map = BTreeMap::new();
            for (id, digest) in check_map(ids, &at)? {
                let id = id
                    .as_uint()
                    .ok_or_else(|| DecodeError::malformed(&at, "a digestID is not a uint"))?;
                let digest = digest.as_bytes().ok_or_else(|| {
                    DecodeError::malformed(&at, format!("digest {id} is not a bstr"))
                })?;
                map.insert(id, digest.to_vec());
            }
            value_digests.insert(ns.to_owned(), map);
        }

        let key_info = req_field(item, "deviceKeyInfo", AT)?;
        check_map(key_info, "MSO.deviceKeyInfo")?;
        let device_key =
            cose_key_to_verifying_key(req_field(key_info, "deviceKey", "MSO.deviceKeyInfo")?)
                .map_err(|reason| DecodeError::malformed("MSO.deviceKeyInfo.deviceKey", reason))?;

        let doc_type = text_field(item, "docType", AT)?;
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
            version,
            digest_algorithm,
            value_digests,
            device_key,
            doc_type,
            validity,
            status,
        })
    }

    /// Encodes an MSO for issuing.
    pub(crate) fn encode(
        doc_type: &str,
        digest_algorithm: DigestAlgorithm,
        value_digests: &[(String, DigestIds)],
        device_key: &VerifyingKey,
        validity: &ValidityInfo,
        status: Option<&StatusReference>,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut digests = MapEncoder::new();
        for (ns, ids) in value_digests {
            let mut map = MapEncoder::new();
            for (id, digest) in ids {
                map.insert(enc::uint(*id), enc::bytes(digest));
            }
            digests.text(ns, map.finish()?);
        }
        let key = verifying_key_to_cose_key(device_key)
            .to_cbor_value()
            .map_err(|_| EncodeError::Unsupported)?;
        let mut key_info = MapEncoder::new();
        key_info.text("deviceKey", enc::value(&key)?);

        let mut mso = MapEncoder::new();
        mso.text("version", enc::text("1.0"))
            .text("digestAlgorithm", enc::text(digest_algorithm.name()))
            .text("valueDigests", digests.finish()?)
            .text("deviceKeyInfo", key_info.finish()?)
            .text("docType", enc::text(doc_type))
            .text("validityInfo", validity.encode()?);
        if let Some(status) = status {
            let mut list = MapEncoder::new();
            list.text("idx", enc::uint(status.idx))
                .text("uri", enc::text(&status.uri));
            let mut map = MapEncoder::new();
            map.text("status_list", list.finish()?);
            mso.text("status", map.finish()?);
        }
        mso.finish()
    }
}

/// The COSE_Key (RFC 9053 §7.1.1, EC2) of an EC public key.
pub(crate) fn verifying_key_to_cose_key(key: &VerifyingKey) -> CoseKey {
    let curve = match key.algorithm() {
        Algorithm::Es384 => iana::EllipticCurve::P_384,
        Algorithm::Es512 => iana::EllipticCurve::P_521,
        _ => iana::EllipticCurve::P_256,
    };
    CoseKeyBuilder::new_ec2_pub_key(curve, key.x().to_vec(), key.y().to_vec()).build()
}

/// An EC2 COSE_Key (RFC 9053 §7.1.1) with uncompressed coordinates, as a verifying key.
///
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
    at: &str,
) -> Result<&'i [(Item<'a>, Item<'a>)], DecodeError> {
    let entries = item
        .as_map()
        .ok_or_else(|| DecodeError::malformed(at, "not a map"))?;
    cbor::check_unique_keys(entries)
        .map_err(|_| DecodeError::malformed(at, "a map key occurs twice"))?;
    Ok(entries)
}

/// An optional member of a map.
pub(crate) fn opt_field<'i, 'a>(
    item: &'i Item<'a>,
    name: &str,
    at: &str,
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
    at: &str,
) -> Result<&'i Item<'a>, DecodeError> {
    opt_field(item, name, at)?
        .ok_or_else(|| DecodeError::malformed(at, format!("`{name}` is missing")))
}

/// A required text member of a map.
pub(crate) fn text_field(item: &Item<'_>, name: &str, at: &str) -> Result<String, DecodeError> {
    req_field(item, name, at)?
        .as_text()
        .map(str::to_owned)
        .ok_or_else(|| DecodeError::malformed(at, format!("`{name}` is not text")))
}
