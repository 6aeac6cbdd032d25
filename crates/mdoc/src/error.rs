//! Errors: one enum per operation (decoding, issuing and presenting, verifying), each variant
//! naming the check that failed and where (document type, namespace, element).
//!
//! No variant carries an element *value*: values are personal data and stay out of error
//! messages and logs. Element identifiers and namespaces are not personal data.

use std::fmt;

use eudi_cbor::CborError;
use eudi_status_list::StatusListError;
use eudi_trust::ErrorCode;
use eudi_trust::HasErrorCode;
use eudi_trust::KeyError;
use eudi_trust::X509Error;

/// Why CBOR could not be produced (API misuse, never a peer's fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A map has two equal keys (RFC 8949 §5.6).
    #[error("a CBOR map has two equal keys")]
    DuplicateMapKey,
    /// A value nests deeper than the decoder would accept back.
    #[error("a CBOR value nests deeper than {} levels", eudi_cbor::MAX_DEPTH)]
    TooDeep,
    /// An integer outside the CBOR range.
    #[error("an integer is outside the CBOR integer range")]
    Integer,
    /// A `ciborium::Value` variant this encoder does not know.
    #[error("an unsupported CBOR value")]
    Unsupported,
    /// An internal layout invariant broke (a bug): reported, never written as an empty or
    /// short item.
    #[error("internal error: an encoder layout invariant broke")]
    Internal,
}

/// Why bytes are not the mdoc structure expected (ISO/IEC 18013-5 §8.3.2.1.2 CDDL).
#[derive(Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not well-formed CBOR, or over a decoder limit (size, depth, item count).
    #[error("{0}")]
    Cbor(#[from] CborError),
    /// Text input is neither base64url nor hex.
    #[error("input is not {expected}")]
    Text {
        /// What was expected (`base64url`, `hex`, `base64url or hex`).
        expected: &'static str,
    },
    /// The CBOR does not follow the CDDL: a member is missing, has the wrong type, or occurs
    /// twice.
    #[error("{at}: {reason}")]
    Malformed {
        /// Where, as a path such as `DeviceResponse.documents[0].issuerSigned`.
        at: String,
        /// What is wrong.
        reason: String,
    },
    /// A `version` this crate does not understand.
    #[error("{at}: unsupported version {version:?}")]
    UnsupportedVersion {
        /// Which structure.
        at: &'static str,
        /// The version given.
        version: String,
    },
    /// The MSO `digestAlgorithm` is not SHA-256, SHA-384 or SHA-512 (ISO/IEC 18013-5 §9.1.2.5).
    #[error("unsupported MSO digestAlgorithm {0:?}")]
    UnsupportedDigestAlgorithm(String),
    /// The MSO `status` is not a Token Status List reference.
    #[error("MSO status: {0}")]
    Status(StatusListError),
}

impl DecodeError {
    pub(crate) fn malformed(at: impl fmt::Display, reason: impl Into<String>) -> Self {
        Self::Malformed {
            at: at.to_string(),
            reason: reason.into(),
        }
    }
}

/// Where in a structure the decoder is, such as `DeviceResponse.documents[0].issuerSigned`:
/// a chain of borrowed parts, written out only when an error names it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum At<'a> {
    /// The outermost structure.
    Root(&'a str),
    /// `{parent}.{name}`.
    Field(&'a At<'a>, &'a str),
    /// `{parent}[{index}]`.
    Index(&'a At<'a>, usize),
}

impl<'a> At<'a> {
    /// `{self}.{name}`.
    pub(crate) fn field(&'a self, name: &'a str) -> Self {
        Self::Field(self, name)
    }

    /// `{self}[{index}]`.
    pub(crate) fn index(&'a self, index: usize) -> Self {
        Self::Index(self, index)
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root(name) => f.write_str(name),
            Self::Field(parent, name) => write!(f, "{parent}.{name}"),
            Self::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Why an mdoc could not be issued, or a presentation could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The input to the builder is unusable.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// CBOR could not be produced.
    #[error("encoding failed: {0}")]
    Encode(#[from] EncodeError),
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signing(#[from] KeyError),
    /// The signer's key is not the device key in the MSO, so the reader would reject the
    /// device signature.
    #[error("the signer's key is not the device key of this mdoc (MSO deviceKeyInfo)")]
    DeviceKeyMismatch,
    /// What was produced does not decode again (a bug, reported rather than hidden).
    #[error("produced CBOR does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// An internal layout invariant broke (a bug), reported instead of a panic or an empty
    /// slice.
    #[error("internal error: {what}")]
    Internal {
        /// Which invariant.
        what: &'static str,
    },
}

/// Why an mdoc presentation or `IssuerSigned` structure was rejected.
///
/// `doc_type` is the document's `docType` (or the MSO's, for a bare `IssuerSigned`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input could not be decoded.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// The DeviceResponse `status` is not 0 (OK) (ISO/IEC 18013-5 §8.3.2.1.2.3).
    #[error("DeviceResponse status is {status}, not 0 (OK)")]
    ResponseStatus {
        /// The status code.
        status: u64,
    },
    /// The DeviceResponse holds no documents.
    #[error("DeviceResponse holds no documents")]
    NoDocuments,
    /// The mdoc's `issuing_country` differs from the country (`C`) of its document signer
    /// certificate, or the certificate names no country (ISO/IEC 18013-5 §7.2.1 / Annex B:
    /// the issuing country must equal the countryName of the DS certificate).
    #[error(
        "{doc_type}: issuing_country {issuing_country:?} is not the document signer certificate's country {certificate_country:?}"
    )]
    IssuingCountryMismatch {
        /// The document.
        doc_type: String,
        /// The issuer-signed `issuing_country`.
        issuing_country: String,
        /// The certificate's country, if it names one.
        certificate_country: Option<String>,
    },
    /// The issuerAuth or device signature algorithm is missing, unknown or not allowed.
    #[error("{doc_type}: {what} algorithm {alg} is not allowed")]
    UnsupportedAlgorithm {
        /// The document.
        doc_type: String,
        /// `issuerAuth` or `deviceSignature` or `deviceMac`.
        what: &'static str,
        /// The algorithm as found (COSE identifier or `none`).
        alg: String,
    },
    /// issuerAuth has no `x5chain` (label 33) with the document signer certificate.
    #[error(
        "{doc_type}: issuerAuth has no x5chain (COSE header 33) with the document signer certificate"
    )]
    MissingCertificate {
        /// The document.
        doc_type: String,
    },
    /// The document signer certificate does not chain to a trust anchor, is outside its
    /// validity, or lacks the key usage its profile requires.
    #[error("{doc_type}: document signer certificate: {source}")]
    UntrustedIssuer {
        /// The document.
        doc_type: String,
        /// What the chain validation found.
        #[source]
        source: X509Error,
    },
    /// issuerAuth verifies with none of the directly trusted issuer keys.
    #[error("{doc_type}: issuerAuth does not verify with any trusted issuer key")]
    UnknownIssuerKey {
        /// The document.
        doc_type: String,
    },
    /// The issuerAuth signature does not verify with the document signer key.
    #[error("{doc_type}: issuerAuth signature does not verify with the document signer key")]
    IssuerSignature {
        /// The document.
        doc_type: String,
    },
    /// The document's `docType` is not the one the issuer signed in the MSO.
    #[error("document docType {document:?} differs from the MSO docType {mso:?}")]
    DocTypeMismatch {
        /// `docType` of the Document.
        document: String,
        /// `docType` in the MSO.
        mso: String,
    },
    /// The MSO is not valid yet (`validFrom`).
    #[error("{doc_type}: MSO is not valid before {valid_from}")]
    NotYetValid {
        /// The document.
        doc_type: String,
        /// `validFrom`, RFC 3339.
        valid_from: String,
    },
    /// The MSO has expired (`validUntil`).
    #[error("{doc_type}: MSO expired at {valid_until}")]
    Expired {
        /// The document.
        doc_type: String,
        /// `validUntil`, RFC 3339.
        valid_until: String,
    },
    /// The MSO claims to be signed in the future (`signed`).
    #[error("{doc_type}: MSO signed time {signed} is in the future")]
    SignedInFuture {
        /// The document.
        doc_type: String,
        /// `signed`, RFC 3339.
        signed: String,
    },
    /// A returned element's digest differs from the one in the MSO.
    #[error(
        "{doc_type}: digest of {namespace}/{element} (digestID {digest_id}) does not match the MSO"
    )]
    DigestMismatch {
        /// The document.
        doc_type: String,
        /// The namespace.
        namespace: String,
        /// The element identifier.
        element: String,
        /// Its digestID.
        digest_id: u64,
    },
    /// A returned element is not covered by the MSO (its namespace or digestID is not in
    /// `valueDigests`).
    #[error("{doc_type}: {namespace}/{element} (digestID {digest_id}) is not covered by the MSO")]
    NotCovered {
        /// The document.
        doc_type: String,
        /// The namespace.
        namespace: String,
        /// The element identifier.
        element: String,
        /// Its digestID.
        digest_id: u64,
    },
    /// Two returned elements of one namespace have the same digestID.
    #[error("{doc_type}: digestID {digest_id} occurs twice in {namespace}")]
    DuplicateDigestId {
        /// The document.
        doc_type: String,
        /// The namespace.
        namespace: String,
        /// The repeated digestID.
        digest_id: u64,
    },
    /// An element identifier occurs twice in one namespace.
    #[error("{doc_type}: element {namespace}/{element} occurs twice")]
    DuplicateElement {
        /// The document.
        doc_type: String,
        /// The namespace.
        namespace: String,
        /// The element identifier.
        element: String,
    },
    /// An IssuerSignedItem's `random` is shorter than 16 bytes (ISO/IEC 18013-5 §9.1.2.5).
    #[error("{doc_type}: {namespace}/{element} has a {len}-byte random, fewer than 16")]
    RandomTooShort {
        /// The document.
        doc_type: String,
        /// The namespace.
        namespace: String,
        /// The element identifier.
        element: String,
        /// Length of its random.
        len: usize,
    },
    /// A session transcript was given and the document has no device authentication.
    #[error("{doc_type}: device authentication is required and the document has none")]
    DeviceAuthRequired {
        /// The document.
        doc_type: String,
    },
    /// The document uses deviceMac and no reader ephemeral key was given to derive EMacKey.
    #[error(
        "{doc_type}: the document is authenticated with deviceMac, which needs the reader's ephemeral private key"
    )]
    ReaderKeyRequired {
        /// The document.
        doc_type: String,
    },
    /// The MSO device key cannot be used for the document's device authentication.
    #[error("{doc_type}: device key: {reason}")]
    DeviceKey {
        /// The document.
        doc_type: String,
        /// Why.
        reason: String,
    },
    /// The deviceSignature does not verify over DeviceAuthenticationBytes for this session
    /// transcript (wrong transcript, nonce, client_id, or key).
    #[error("{doc_type}: deviceSignature does not verify over this session transcript")]
    DeviceSignature {
        /// The document.
        doc_type: String,
    },
    /// The deviceMac does not verify over DeviceAuthenticationBytes for this session
    /// transcript and reader key.
    #[error("{doc_type}: deviceMac does not verify over this session transcript")]
    DeviceMac {
        /// The document.
        doc_type: String,
    },
    /// An internal invariant broke (a bug, never the peer's fault), reported instead of a panic.
    #[error("internal error: {what}")]
    Internal {
        /// Which invariant.
        what: &'static str,
    },
}

impl HasErrorCode for DecodeError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Cbor(e) if e.is_limit() => ErrorCode::TooLarge,
            Self::Cbor(_)
            | Self::Text { .. }
            | Self::Malformed { .. }
            | Self::UnsupportedVersion { .. }
            | Self::UnsupportedDigestAlgorithm(_)
            | Self::Status(_) => ErrorCode::Malformed,
        }
    }
}

impl HasErrorCode for VerifyError {
    /// The workspace's error vocabulary (`eudi-verifier verify`'s `errors[].code`, DESIGN.md).
    fn code(&self) -> ErrorCode {
        match self {
            Self::Decode(e) => e.code(),
            Self::NoDocuments => ErrorCode::Malformed,
            Self::ResponseStatus { .. } => ErrorCode::InvalidCredential,
            Self::IssuingCountryMismatch { .. } => ErrorCode::UntrustedIssuer,
            Self::UnsupportedAlgorithm { .. } => ErrorCode::UnsupportedAlgorithm,
            Self::MissingCertificate { .. }
            | Self::UntrustedIssuer { .. }
            | Self::UnknownIssuerKey { .. } => ErrorCode::UntrustedIssuer,
            Self::IssuerSignature { .. } => ErrorCode::InvalidSignature,
            Self::DocTypeMismatch { .. } => ErrorCode::WrongType,
            Self::NotYetValid { .. } | Self::SignedInFuture { .. } => ErrorCode::NotYetValid,
            Self::Expired { .. } => ErrorCode::Expired,
            Self::DigestMismatch { .. }
            | Self::NotCovered { .. }
            | Self::DuplicateDigestId { .. }
            | Self::DuplicateElement { .. }
            | Self::RandomTooShort { .. } => ErrorCode::InvalidDisclosure,
            Self::DeviceAuthRequired { .. } | Self::ReaderKeyRequired { .. } => {
                ErrorCode::KeyBindingRequired
            }
            Self::DeviceKey { .. } | Self::DeviceSignature { .. } | Self::DeviceMac { .. } => {
                ErrorCode::InvalidKeyBinding
            }
            Self::Internal { .. } => ErrorCode::Internal,
        }
    }
}
