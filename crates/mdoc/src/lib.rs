//! ISO/IEC 18013-5 mdoc: issue, present and verify, byte-exact.
//!
//! An mdoc is a set of data elements an issuer signed *individually* (salted digests in the
//! Mobile Security Object), so the holder can hand out any subset, and a reader can check each
//! element against the issuer's signature and the whole presentation against the holder's device
//! key and the session it is made in.
//!
//! | type | ISO/IEC 18013-5 | role |
//! |---|---|---|
//! | [`IssuerSignedBuilder`] | §9.1.2 | issuer: elements, MSO, issuerAuth signed by the document signer |
//! | [`IssuerSigned`], [`IssuerSignedItem`] | §8.3.2.1.2.2 | what the issuer hands over; [`IssuerSigned::select`] for selective disclosure |
//! | [`MobileSecurityObject`], [`ValidityInfo`], [`DigestAlgorithm`] | §9.1.2.4, §9.1.2.5 | the signed digests, device key, validity, status |
//! | [`SessionTranscript`] | §9.1.5.1; OpenID4VP 1.0 Annex B.2.6 | what device authentication binds to |
//! | [`Document`], [`DeviceSigned`], [`DeviceResponse`] | §8.3.2.1.2.2, §9.1.3 | holder: device-signed presentation |
//! | [`VerifyOptions`], [`IssuerTrust`], [`ReaderKey`] | §9.3.1 | reader: what to check against |
//! | [`VerifiedDocument`], [`VerifiedDeviceResponse`] | §9.3.1 | reader: every check passed, one typed answer |
//!
//! Parsed structures ([`DeviceResponse`], [`IssuerSigned`]) are unverified; only
//! [`DeviceResponse::verify`], [`Document::verify`] and [`IssuerSigned::verify`] produce the
//! `Verified*` types. Certificates are validated by [`eudi_trust::ChainValidator`] against IACA
//! trust anchors, signatures and MACs are computed by `aws-lc-rs`.
//!
//! # Byte exactness
//!
//! Digests and signatures cover embedded CBOR (`#6.24(bstr .cbor …)`) exactly as its author
//! encoded it, and real-world issuers use non-preferred encodings (`b9 0003` map headers). The
//! decoder therefore keeps the original bytes of every IssuerSignedItem, of issuerAuth, of
//! DeviceNameSpacesBytes and of a received SessionTranscript, and never hashes a re-encoding.
//! What this crate writes itself is in RFC 8949 §4.2.1 core deterministic encoding (shortest
//! lengths, definite lengths, sorted map keys), so `encode(decode(x)) == x` for its own output.
//!
//! # Decoder limits
//!
//! Input is untrusted. Decoding is bounded: at most [`MAX_INPUT_LEN`] (16 MiB) of input,
//! [`MAX_DEPTH`] (32) levels of nesting, [`MAX_ITEMS`] data items, and a declared length larger
//! than the input left is rejected before anything is allocated. No input makes the decoder
//! panic.
//!
//! # Verification
//!
//! Per document (ISO/IEC 18013-5 §9.3.1): issuerAuth algorithm (ES256 by default), the document
//! signer certificate chain to a trust anchor ([`LeafProfile::MdocDocumentSigner`] by default;
//! or a directly trusted issuer key, [`IssuerTrust::Keys`]), the issuerAuth signature, `docType`, the MSO validity window, every returned element's digest
//! (present, equal, unique digestID, `random` ≥ 16 bytes), and, when a [`SessionTranscript`] is
//! given, device authentication (deviceSignature, or deviceMac with a [`ReaderKey`]). Every
//! failure is its own [`VerifyError`] variant naming the document, namespace and element, with
//! a stable code ([`eudi_trust::HasErrorCode`]). Element values never appear in errors or `Debug`
//! output.
//!
//! Beyond signatures and digests: a namespace with no items is malformed (CDDL `+` in
//! `IssuerNameSpaces`, `ValueDigests`, `DeviceSignedItems`); a PID's MSO and items use definite
//! lengths only (PID rulebook); with [`IssuerTrust::Certificates`], a presented
//! `issuing_country` must equal the document signer certificate's country (a caller that
//! validates the chain itself uses [`VerifiedDocument::check_issuing_country`]). A
//! [`VerifiedDocument`]'s claims are issuer-signed items whose digests matched, nothing else;
//! device-signed items are reported apart ([`VerifiedDocument::device_claims`]).
//!
//! CBOR is decoded by `eudi-cbor`, the workspace's one bounded decoder, which also provides
//! the COSE_Sign1 / COSE_Mac0 parsing and the `Sig_structure`.
//!
//! [`LeafProfile::MdocDocumentSigner`]: eudi_trust::LeafProfile::MdocDocumentSigner
//!
//! # Example: issue, select, present, verify
//!
//! ```
//! use ciborium::Value;
//! use eudi_mdoc::{
//!     DeviceResponse, Document, IssuerSignedBuilder, SessionTranscript, ValidityInfo,
//!     VerifyOptions,
//! };
//! use eudi_trust::{
//!     Algorithm, ChainValidator, ErrorCode, HasErrorCode as _, Signer, SoftwareKey, TrustAnchors,
//! };
//! use time::{Duration, OffsetDateTime};
//! # use rcgen::{
//! #     BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
//! #     KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
//! # };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // An IACA root and a document signer certificate (keyUsage digitalSignature, EKU
//! # // id-mdlDS 1.0.18013.5.1.2), made with rcgen for the example.
//! # let iaca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
//! # let mut iaca = CertificateParams::new(vec![])?;
//! # iaca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
//! # iaca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
//! # let iaca_der = iaca.self_signed(&iaca_key)?.der().to_vec();
//! # let ds_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
//! # let mut ds = CertificateParams::new(vec![])?;
//! # ds.key_usages = vec![KeyUsagePurpose::DigitalSignature];
//! # ds.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![1, 0, 18013, 5, 1, 2])];
//! # let ds_der = ds.signed_by(&ds_key, &Issuer::from_params(&iaca, &iaca_key))?.der().to_vec();
//! let document_signer = SoftwareKey::from_pkcs8_der(Algorithm::Es256, &ds_key.serialize_der())?;
//! let device_key = SoftwareKey::generate(Algorithm::Es256)?; // the holder's key
//! let pid = "eu.europa.ec.eudi.pid.1";
//! let now = OffsetDateTime::from_unix_timestamp(1_767_225_600)?; // 2026-01-01
//!
//! // Issuer (§9.1.2): every element salted and digested, the MSO signed by the document signer.
//! let issued = IssuerSignedBuilder::new(pid, device_key.verifying_key(),
//!         ValidityInfo::new(now, now, now + Duration::days(90)))
//!     .element(pid, "family_name", Value::Text("Jensen".into()))
//!     .element(pid, "given_name", Value::Text("Mette".into()))
//!     .element(pid, "birth_date", Value::Tag(1004, Box::new(Value::Text("1990-05-17".into()))))
//!     .element(pid, "age_over_18", Value::Bool(true))
//!     .sign(&document_signer, &[&ds_der]).await?;
//! let stored = issued.to_bytes(); // what the wallet keeps
//!
//! // Holder: only what the verifier asked for, device-signed over the OpenID4VP transcript.
//! let transcript = SessionTranscript::openid4vp(
//!     "x509_san_dns:verifier.example", "nonce-123", None, "https://verifier.example/response");
//! let selected = eudi_mdoc::IssuerSigned::from_bytes(&stored)?
//!     .select(&[(pid, "family_name"), (pid, "age_over_18")]);
//! let vp_token = DeviceResponse::new(vec![
//!     Document::with_device_signature(selected, &transcript, &device_key).await?,
//! ])
//! .to_base64url();
//!
//! // Verifier: the IACA as trust anchor, the transcript it built from its own request.
//! let mut anchors = TrustAnchors::new();
//! anchors.add_der(&iaca_der)?;
//! let validator = ChainValidator::new(anchors);
//! let options = VerifyOptions::new(now.unix_timestamp() + 60).session_transcript(&transcript);
//! let verified = DeviceResponse::from_base64url(&vp_token)?.verify(&validator, &options)?;
//!
//! let doc = &verified.documents()[0];
//! assert!(doc.device_authenticated());
//! assert_eq!(
//!     serde_json::Value::Object(doc.claims().clone()),
//!     serde_json::json!({pid: {"family_name": "Jensen", "age_over_18": true}})
//! );
//!
//! // The same response under another nonce is rejected.
//! let other = SessionTranscript::openid4vp(
//!     "x509_san_dns:verifier.example", "nonce-456", None, "https://verifier.example/response");
//! let replay = DeviceResponse::from_base64url(&vp_token)?
//!     .verify(&validator, &VerifyOptions::new(now.unix_timestamp()).session_transcript(&other));
//! assert_eq!(replay.unwrap_err().code(), ErrorCode::InvalidKeyBinding);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod device;
mod digests;
mod enc;
mod error;
mod issue;
mod issuer_signed;
mod json;
mod mso;
mod text;
mod transcript;
mod verify;

pub use device::DeviceAuthMethod;
pub use device::DeviceResponse;
pub use device::DeviceSigned;
pub use device::Document;
pub use error::DecodeError;
pub use error::EncodeError;
pub use error::IssueError;
pub use error::VerifyError;
pub use eudi_cbor::CborError;
pub use eudi_cbor::MAX_DEPTH;
pub use eudi_cbor::MAX_INPUT_LEN;
pub use eudi_cbor::MAX_ITEMS;
pub use issue::IssuerSignedBuilder;
pub use issue::RANDOM_LEN;
pub use issuer_signed::IssuerSigned;
pub use issuer_signed::IssuerSignedItem;
pub use json::to_json;
pub use mso::DigestAlgorithm;
pub use mso::MobileSecurityObject;
pub use mso::ValidityInfo;
pub use transcript::SessionTranscript;
pub use verify::IssuerTrust;
pub use verify::ReaderKey;
pub use verify::VerifiedDeviceResponse;
pub use verify::VerifiedDocument;
pub use verify::VerifiedElement;
pub use verify::VerifyOptions;

/// Decodes base64url or hex text (whichever it is) into bytes, within [`MAX_INPUT_LEN`]; for
/// command-line input that may be either.
pub fn decode_text(text: &str) -> Result<Vec<u8>, DecodeError> {
    text::from_text(text)
}
