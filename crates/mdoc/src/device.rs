//! `DeviceResponse`, `Document` and `DeviceSigned` (ISO/IEC 18013-5 §8.3.2.1.2.2), and device
//! authentication (§9.1.3).
//!
//! ```cddl
//! DeviceResponse = {
//!   "version" : tstr,                    ; "1.0"
//!   ? "documents" : [ + Document ],
//!   ? "documentErrors" : [ + DocumentError ],
//!   "status" : uint                      ; 0 = OK (§8.3.2.1.2.3)
//! }
//! Document = {
//!   "docType" : DocType,
//!   "issuerSigned" : IssuerSigned,
//!   "deviceSigned" : DeviceSigned,
//!   ? "errors" : Errors
//! }
//! DeviceSigned = { "nameSpaces" : DeviceNameSpacesBytes, "deviceAuth" : DeviceAuth }
//! DeviceNameSpacesBytes = #6.24(bstr .cbor DeviceNameSpaces)
//! DeviceNameSpaces = { * NameSpace => DeviceSignedItems }
//! DeviceSignedItems = { + DataElementIdentifier => DataElementValue }
//! DeviceAuth = { "deviceSignature" : COSE_Sign1 // "deviceMac" : COSE_Mac0 }
//!
//! DeviceAuthentication = [ "DeviceAuthentication", SessionTranscript, DocType, DeviceNameSpacesBytes ]
//! DeviceAuthenticationBytes = #6.24(bstr .cbor DeviceAuthentication)
//! ```
//!
//! Both COSE structures have a detached payload: DeviceAuthenticationBytes, which the reader
//! rebuilds from its own SessionTranscript.

use ciborium::Value;
use coset::CoseMac0;
use coset::CoseSign1;
use coset::Header;
use coset::HeaderBuilder;
use coset::ProtectedHeader;
use coset::iana;
use eudi_cbor::Budget;
use eudi_cbor::Item;
use eudi_cbor::cose;
use eudi_cbor::{self as cbor};
use eudi_trust::Algorithm;
use eudi_trust::Signer;

use crate::enc::MapEncoder;
use crate::enc::{self};
use crate::error::At;
use crate::error::DecodeError;
use crate::error::IssueError;
use crate::issue::protected_header;
use crate::issuer_signed::IssuerSigned;
use crate::issuer_signed::cose_error;
use crate::issuer_signed::decode_sign1;
use crate::mso::check_map;
use crate::mso::opt_field;
use crate::mso::req_field;
use crate::mso::text_field;
use crate::text;
use crate::transcript::SessionTranscript;

/// The first member of `DeviceAuthentication` (ISO/IEC 18013-5 §9.1.3.4).
const DEVICE_AUTHENTICATION: &str = "DeviceAuthentication";

/// `DeviceNameSpacesBytes` for no device-signed elements: `#6.24(bstr .cbor {})`.
const EMPTY_DEVICE_NAMESPACES: [u8; 4] = [0xd8, 0x18, 0x41, 0xa0];

/// How a document's device authentication is done (ISO/IEC 18013-5 §9.1.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceAuthMethod {
    /// `deviceSignature`: ECDSA with the MSO device key.
    Signature,
    /// `deviceMac`: HMAC-SHA256 with EMacKey from ECDH with the reader's ephemeral key.
    Mac,
}

/// `deviceAuth` as received.
#[derive(Clone, Debug)]
pub(crate) enum DeviceAuth {
    Signature { raw: Vec<u8>, sign1: CoseSign1 },
    Mac { raw: Vec<u8>, mac0: CoseMac0 },
}

/// What the mdoc signed with its device key for one presentation.
#[derive(Clone)]
pub struct DeviceSigned {
    namespaces_bytes: Vec<u8>,
    namespaces: Vec<(String, Vec<(String, Value)>)>,
    pub(crate) auth: Option<DeviceAuth>,
}

impl std::fmt::Debug for DeviceSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSigned")
            .field("namespaces", &self.namespaces.len())
            .field("auth", &self.auth_method())
            .finish()
    }
}

impl DeviceSigned {
    /// `DeviceNameSpacesBytes`, exactly as received.
    pub fn namespaces_bytes(&self) -> &[u8] {
        &self.namespaces_bytes
    }

    /// The device-signed elements by namespace. Unauthenticated until verified.
    pub fn namespaces(&self) -> &[(String, Vec<(String, Value)>)] {
        &self.namespaces
    }

    /// Which device authentication the document carries, if any.
    pub fn auth_method(&self) -> Option<DeviceAuthMethod> {
        self.auth.as_ref().map(|a| match a {
            DeviceAuth::Signature { .. } => DeviceAuthMethod::Signature,
            DeviceAuth::Mac { .. } => DeviceAuthMethod::Mac,
        })
    }

    fn decode(item: &Item<'_>, at: At<'_>, budget: &mut Budget) -> Result<Self, DecodeError> {
        check_map(item, at)?;
        let ns_at = at.field("nameSpaces");
        let ns_item = req_field(item, "nameSpaces", at)?;
        let inner = ns_item.as_tag24().ok_or_else(|| {
            DecodeError::malformed(ns_at, "not DeviceNameSpacesBytes (#6.24 bstr)")
        })?;
        let ns_map = cbor::decode(inner, budget)?;
        let mut namespaces = Vec::new();
        for (ns, elements) in check_map(&ns_map, ns_at)? {
            let ns = ns
                .as_text()
                .ok_or_else(|| DecodeError::malformed(ns_at, "a namespace is not text"))?;
            let el_at = ns_at.field(ns);
            let elements = check_map(elements, el_at)?;
            if elements.is_empty() {
                // CDDL: DeviceSignedItems = { + DataElementIdentifier => DataElementValue }.
                return Err(DecodeError::malformed(
                    el_at,
                    "namespace has no items (CDDL `{ + DataElementIdentifier => DataElementValue }`)",
                ));
            }
            let elements = elements
                .iter()
                .map(|(id, value)| {
                    let id = id.as_text().ok_or_else(|| {
                        DecodeError::malformed(el_at, "an element identifier is not text")
                    })?;
                    cbor::check_unique_keys_deep(value).map_err(|_| {
                        DecodeError::malformed(
                            el_at.field(id),
                            "a map in the element value has a key twice",
                        )
                    })?;
                    let value = value
                        .to_value()
                        .map_err(|reason| DecodeError::malformed(el_at.field(id), reason))?;
                    Ok((id.to_owned(), value))
                })
                .collect::<Result<Vec<_>, DecodeError>>()?;
            namespaces.push((ns.to_owned(), elements));
        }

        let auth_at = at.field("deviceAuth");
        let auth = match opt_field(item, "deviceAuth", at)? {
            None => None,
            Some(auth) => {
                check_map(auth, auth_at)?;
                let signature = opt_field(auth, "deviceSignature", auth_at)?;
                let mac = opt_field(auth, "deviceMac", auth_at)?;
                match (signature, mac) {
                    (Some(_), Some(_)) => {
                        return Err(DecodeError::malformed(
                            auth_at,
                            "has both deviceSignature and deviceMac",
                        ));
                    }
                    (Some(sig), None) => Some(DeviceAuth::Signature {
                        raw: sig.raw.to_vec(),
                        sign1: decode_sign1(sig, auth_at.field("deviceSignature"), budget)?,
                    }),
                    (None, Some(mac)) => Some(DeviceAuth::Mac {
                        raw: mac.raw.to_vec(),
                        mac0: decode_mac0(mac, auth_at.field("deviceMac"), budget)?,
                    }),
                    (None, None) => None,
                }
            }
        };
        Ok(Self {
            namespaces_bytes: ns_item.raw.to_vec(),
            namespaces,
            auth,
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut auth = MapEncoder::new();
        match &self.auth {
            Some(DeviceAuth::Signature { raw, .. }) => {
                auth.text("deviceSignature", raw);
            }
            Some(DeviceAuth::Mac { raw, .. }) => {
                auth.text("deviceMac", raw);
            }
            None => {}
        }
        let mut map = MapEncoder::new();
        map.text("nameSpaces", &self.namespaces_bytes)
            .text("deviceAuth", &auth.finish_distinct());
        map.finish_distinct()
    }
}

fn decode_mac0(item: &Item<'_>, at: At<'_>, budget: &mut Budget) -> Result<CoseMac0, DecodeError> {
    cose::decode_mac0(item, budget).map_err(|e| cose_error(at, e))
}

/// `DeviceAuthenticationBytes` = `#6.24(bstr .cbor ["DeviceAuthentication", SessionTranscript,
/// DocType, DeviceNameSpacesBytes])` (ISO/IEC 18013-5 §9.1.3.4), built from the exact bytes of
/// the transcript and of DeviceNameSpacesBytes.
pub(crate) fn device_authentication_bytes(
    transcript: &SessionTranscript,
    doc_type: &str,
    namespaces_bytes: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(device_authentication_len(
        transcript,
        doc_type,
        namespaces_bytes,
    ));
    write_device_authentication(&mut out, transcript, doc_type, namespaces_bytes);
    out
}

/// The length of the `DeviceAuthentication` array, encoded.
fn device_authentication_inner_len(
    transcript: &SessionTranscript,
    doc_type: &str,
    namespaces_bytes: &[u8],
) -> usize {
    1 + enc::string_len(DEVICE_AUTHENTICATION.len())
        + transcript.as_cbor().len()
        + enc::string_len(doc_type.len())
        + namespaces_bytes.len()
}

/// The length of `DeviceAuthenticationBytes`.
fn device_authentication_len(
    transcript: &SessionTranscript,
    doc_type: &str,
    namespaces_bytes: &[u8],
) -> usize {
    2 + enc::string_len(device_authentication_inner_len(
        transcript,
        doc_type,
        namespaces_bytes,
    ))
}

/// Appends `DeviceAuthenticationBytes`.
fn write_device_authentication(
    out: &mut Vec<u8>,
    transcript: &SessionTranscript,
    doc_type: &str,
    namespaces_bytes: &[u8],
) {
    let inner_len = device_authentication_inner_len(transcript, doc_type, namespaces_bytes);
    enc::head(out, 6, 24);
    enc::head(out, 2, enc::len_arg(inner_len));
    out.push(0x84);
    enc::text_into(out, DEVICE_AUTHENTICATION);
    out.extend_from_slice(transcript.as_cbor());
    enc::text_into(out, doc_type);
    out.extend_from_slice(namespaces_bytes);
}

/// The COSE_Sign1 `Sig_structure` of a device signature, with `DeviceAuthenticationBytes` as
/// its detached payload, in one buffer; and where in it `DeviceAuthenticationBytes` starts.
pub(crate) fn device_signature_tbs(
    protected: &[u8],
    transcript: &SessionTranscript,
    doc_type: &str,
    namespaces_bytes: &[u8],
) -> (Vec<u8>, usize) {
    let len = device_authentication_len(transcript, doc_type, namespaces_bytes);
    enc::sig_structure1(protected, len, |out| {
        write_device_authentication(out, transcript, doc_type, namespaces_bytes);
    })
}

/// One document of a DeviceResponse.
#[derive(Clone, Debug)]
pub struct Document {
    doc_type: String,
    issuer_signed: IssuerSigned,
    device_signed: Option<DeviceSigned>,
    /// `errors`, kept as received.
    errors: Option<Vec<u8>>,
}

impl Document {
    /// Presents `issuer_signed` (usually after [`IssuerSigned::select`]) with a device signature
    /// over DeviceAuthenticationBytes for `transcript` (ISO/IEC 18013-5 §9.1.3.6), no
    /// device-signed elements. `signer` must hold the MSO device key.
    pub async fn with_device_signature(
        issuer_signed: IssuerSigned,
        transcript: &SessionTranscript,
        signer: &dyn Signer,
    ) -> Result<Self, IssueError> {
        if signer.verifying_key() != issuer_signed.mso().device_key() {
            return Err(IssueError::DeviceKeyMismatch);
        }
        let doc_type = issuer_signed.doc_type().to_owned();
        let namespaces_bytes = EMPTY_DEVICE_NAMESPACES.to_vec();
        let alg = signer.algorithm();
        let protected = protected_header(alg);
        let (tbs, _) = device_signature_tbs(&protected, transcript, &doc_type, &namespaces_bytes);
        let signature = signer.sign(&tbs).await?;
        // COSE_Sign1 = [protected, {}, nil (detached payload), signature] (RFC 9052 §4.2).
        let mut raw = Vec::with_capacity(8 + protected.len() + signature.len());
        raw.push(0x84);
        enc::bytes_into(&mut raw, &protected);
        raw.extend_from_slice(&[0xa0, 0xf6]);
        enc::bytes_into(&mut raw, &signature);
        let sign1 = CoseSign1 {
            protected: ProtectedHeader {
                original_data: Some(protected),
                header: HeaderBuilder::new().algorithm(cose_algorithm(alg)).build(),
            },
            unprotected: Header::default(),
            payload: None,
            signature,
        };
        Ok(Self {
            doc_type,
            issuer_signed,
            device_signed: Some(DeviceSigned {
                namespaces_bytes,
                namespaces: Vec::new(),
                auth: Some(DeviceAuth::Signature { raw, sign1 }),
            }),
            errors: None,
        })
    }

    /// `docType`.
    pub fn doc_type(&self) -> &str {
        &self.doc_type
    }

    /// DeviceAuthenticationBytes for `transcript`: what deviceSignature or deviceMac covers
    /// (ISO/IEC 18013-5 §9.1.3.4). For interoperability debugging.
    pub fn device_authentication_bytes(&self, transcript: &SessionTranscript) -> Vec<u8> {
        let namespaces = self
            .device_signed
            .as_ref()
            .map_or(&EMPTY_DEVICE_NAMESPACES[..], DeviceSigned::namespaces_bytes);
        device_authentication_bytes(transcript, &self.doc_type, namespaces)
    }

    /// `issuerSigned`.
    pub fn issuer_signed(&self) -> &IssuerSigned {
        &self.issuer_signed
    }

    /// `deviceSigned`; `None` only when the received document lacked it.
    pub fn device_signed(&self) -> Option<&DeviceSigned> {
        self.device_signed.as_ref()
    }

    fn decode(item: &Item<'_>, at: At<'_>, budget: &mut Budget) -> Result<Self, DecodeError> {
        check_map(item, at)?;
        let doc_type = text_field(item, "docType", at)?;
        let issuer_signed = IssuerSigned::decode(
            req_field(item, "issuerSigned", at)?,
            at.field("issuerSigned"),
            budget,
        )?;
        // Missing deviceSigned is reported by verification (device authentication required),
        // not here, so that issuer data can still be checked on its own.
        let device_signed = opt_field(item, "deviceSigned", at)?
            .map(|ds| DeviceSigned::decode(ds, at.field("deviceSigned"), budget))
            .transpose()?;
        let errors = opt_field(item, "errors", at)?.map(|e| e.raw.to_vec());
        Ok(Self {
            doc_type,
            issuer_signed,
            device_signed,
            errors,
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut map = MapEncoder::new();
        map.text("docType", &enc::text(&self.doc_type))
            .text("issuerSigned", &self.issuer_signed.to_bytes());
        if let Some(ds) = &self.device_signed {
            map.text("deviceSigned", &ds.encode());
        }
        if let Some(errors) = &self.errors {
            map.text("errors", errors);
        }
        map.finish_distinct()
    }
}

/// The COSE algorithm of a signer.
pub(crate) fn cose_algorithm(alg: Algorithm) -> iana::Algorithm {
    match alg {
        Algorithm::Es384 => iana::Algorithm::ES384,
        Algorithm::Es512 => iana::Algorithm::ES512,
        _ => iana::Algorithm::ES256,
    }
}

/// What an mdoc returns to a reader (ISO/IEC 18013-5 §8.3.2.1.2.2), and what an OpenID4VP
/// `vp_token` carries for `mso_mdoc` (base64url).
///
/// Parsed from bytes it is *unverified*; [`DeviceResponse::verify`] yields a
/// [`VerifiedDeviceResponse`](crate::VerifiedDeviceResponse).
#[derive(Clone, Debug)]
pub struct DeviceResponse {
    version: String,
    documents: Vec<Document>,
    document_errors: Option<Vec<u8>>,
    status: u64,
}

impl DeviceResponse {
    /// A response with status 0 (OK), version `1.0`.
    pub fn new(documents: Vec<Document>) -> Self {
        Self {
            version: "1.0".into(),
            documents,
            document_errors: None,
            status: 0,
        }
    }

    /// Decodes `DeviceResponse` CBOR (at most [`MAX_INPUT_LEN`](crate::MAX_INPUT_LEN) bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        const AT: &str = "DeviceResponse";
        let mut budget = Budget::new();
        let item = cbor::decode(bytes, &mut budget)?;
        check_map(&item, AT)?;
        let version = text_field(&item, "version", AT)?;
        if !version.starts_with("1.") {
            return Err(DecodeError::UnsupportedVersion { at: AT, version });
        }
        let documents_at = At::Root("DeviceResponse.documents");
        let documents = match opt_field(&item, "documents", AT)? {
            None => Vec::new(),
            Some(docs) => docs
                .as_array()
                .ok_or_else(|| DecodeError::malformed(AT, "`documents` is not an array"))?
                .iter()
                .enumerate()
                .map(|(i, d)| Document::decode(d, documents_at.index(i), &mut budget))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let document_errors = opt_field(&item, "documentErrors", AT)?.map(|e| e.raw.to_vec());
        let status = req_field(&item, "status", AT)?
            .as_uint()
            .ok_or_else(|| DecodeError::malformed(AT, "`status` is not a uint"))?;
        Ok(Self {
            version,
            documents,
            document_errors,
            status,
        })
    }

    /// Decodes base64url (padded or not), as in an OpenID4VP `vp_token`.
    pub fn from_base64url(text: &str) -> Result<Self, DecodeError> {
        Self::from_bytes(&text::from_base64url(text)?)
    }

    /// Decodes hex.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        Self::from_bytes(&text::from_hex(text)?)
    }

    /// Decodes hex or base64url, whichever `text` is.
    pub fn from_text(text: &str) -> Result<Self, DecodeError> {
        Self::from_bytes(&text::from_text(text)?)
    }

    /// The deterministic encoding (RFC 8949 §4.2.1); embedded items keep their exact bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut map = MapEncoder::new();
        map.text("version", &enc::text(&self.version));
        if !self.documents.is_empty() {
            let docs: Vec<Vec<u8>> = self.documents.iter().map(Document::encode).collect();
            map.text("documents", &enc::array(&docs));
        }
        if let Some(errors) = &self.document_errors {
            map.text("documentErrors", errors);
        }
        map.text("status", &enc::uint(self.status));
        map.finish_distinct()
    }

    /// [`to_bytes`](Self::to_bytes) as unpadded base64url (an OpenID4VP `vp_token` entry).
    pub fn to_base64url(&self) -> String {
        text::to_base64url(&self.to_bytes())
    }

    /// [`to_bytes`](Self::to_bytes) as lowercase hex.
    pub fn to_hex(&self) -> String {
        text::to_hex(&self.to_bytes())
    }

    /// `version`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// `documents`.
    pub fn documents(&self) -> &[Document] {
        &self.documents
    }

    /// `status` (0 = OK).
    pub fn status(&self) -> u64 {
        self.status
    }

    /// Whether the response has a `documentErrors` member.
    pub fn has_document_errors(&self) -> bool {
        self.document_errors.is_some()
    }
}

#[cfg(test)]
mod tests {
    use eudi_trust::Algorithm;
    use eudi_trust::SoftwareKey;
    use eudi_trust::VerifyingKey;

    use super::*;
    use crate::IssuerSignedBuilder;
    use crate::ValidityInfo;
    use crate::VerifyError;
    use crate::VerifyOptions;

    /// A document device-signed over `transcript`, and the issuer key to trust.
    async fn document(transcript: &SessionTranscript) -> (Document, Vec<VerifyingKey>) {
        let issuer = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let device = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let t = time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        let validity = ValidityInfo::new(t, t, t + time::Duration::days(1));
        let issued = IssuerSignedBuilder::new("org.example.doc", device.verifying_key(), validity)
            .element("org.example.ns", "a", Value::Bool(true))
            .sign(&issuer, &[b"not checked with IssuerTrust::Keys"])
            .await
            .unwrap();
        let doc = Document::with_device_signature(issued, transcript, &device)
            .await
            .unwrap();
        (doc, vec![issuer.verifying_key().clone()])
    }

    /// With the payload embedded instead of detached, the deviceSignature is checked over the
    /// same Sig_structure: accepted if the payload is DeviceAuthenticationBytes, refused
    /// otherwise (and never a panic).
    #[tokio::test]
    async fn device_signature_with_embedded_payload() {
        let transcript = SessionTranscript::openid4vp("client", "nonce", None, "https://r.example");
        let (doc, keys) = document(&transcript).await;
        let options = VerifyOptions::new(1_767_225_700).session_transcript(&transcript);
        assert!(doc.verify(&keys, &options).unwrap().device_authenticated());

        let embed = |payload: Vec<u8>| {
            let mut doc = doc.clone();
            if let Some(DeviceSigned {
                auth: Some(DeviceAuth::Signature { sign1, .. }),
                ..
            }) = doc.device_signed.as_mut()
            {
                sign1.payload = Some(payload);
            }
            doc
        };
        let same = embed(doc.device_authentication_bytes(&transcript));
        assert!(same.verify(&keys, &options).unwrap().device_authenticated());
        let other = SessionTranscript::openid4vp("client", "other", None, "https://r.example");
        let different = embed(doc.device_authentication_bytes(&other));
        assert!(matches!(
            different.verify(&keys, &options),
            Err(VerifyError::DeviceSignature { .. })
        ));
    }
}
