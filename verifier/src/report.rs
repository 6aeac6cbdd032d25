//! The report of `eudi-verifier verify`: one JSON object, the contract in DESIGN.md
//! (`valid`, `format`, `issuer`, `claims`, `assurance_level`, `errors`, plus `credential_type`,
//! `holder_binding` and `status`).
//!
//! One credential, one report: a DeviceResponse with several documents gets a `documents`
//! array with one report per document, and its top-level `claims` stay empty (nothing is
//! merged across documents); `issuer` is the one issuer when all documents share it,
//! `assurance_level` the lowest, `holder_binding` whether every document was bound.

use eudi_trust::AssuranceLevel;
use eudi_verify::CredentialFormat;
use eudi_verify::ErrorCode;
use eudi_verify::Failure;
use eudi_verify::VerifiedCredential;
use serde::Serialize;
use serde_json::Map;
use serde_json::Value;

/// One reason a presentation is not valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ReportError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

/// One credential's part of a report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Document {
    pub(crate) issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) credential_type: Option<String>,
    pub(crate) claims: Map<String, Value>,
    pub(crate) assurance_level: Option<AssuranceLevel>,
    pub(crate) holder_binding: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<&'static str>,
}

impl From<&VerifiedCredential> for Document {
    fn from(c: &VerifiedCredential) -> Self {
        Self {
            issuer: c.issuer.clone(),
            credential_type: c.credential_type.clone(),
            claims: c.claims.clone(),
            assurance_level: c.assurance_level,
            holder_binding: c.holder_binding,
            // Any other status is a failure, never a verified credential.
            status: c.status.map(|_| "valid"),
        }
    }
}

/// The outcome of verifying one presentation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Report {
    pub(crate) valid: bool,
    /// `null` when the input is no credential of any format.
    pub(crate) format: Option<CredentialFormat>,
    #[serde(flatten)]
    pub(crate) document: Document,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) documents: Vec<Document>,
    pub(crate) errors: Vec<ReportError>,
}

impl Report {
    /// The report of a failure.
    pub(crate) fn invalid(failure: Failure) -> Self {
        Self {
            valid: false,
            format: failure.format,
            document: Document {
                issuer: None,
                credential_type: None,
                claims: Map::new(),
                assurance_level: None,
                holder_binding: false,
                status: None,
            },
            documents: Vec::new(),
            errors: vec![ReportError {
                code: failure.code,
                message: failure.message,
            }],
        }
    }

    /// The report of verified credentials (one, or the documents of one DeviceResponse).
    pub(crate) fn valid(credentials: &[VerifiedCredential]) -> Self {
        let documents: Vec<Document> = credentials.iter().map(Document::from).collect();
        let format = credentials.first().map(|c| c.format);
        let (document, documents) = match documents.as_slice() {
            [one] => (one.clone(), Vec::new()),
            _ => {
                let first_issuer = documents.first().and_then(|d| d.issuer.clone());
                let one_issuer = documents.iter().all(|d| d.issuer == first_issuer);
                let level = documents
                    .iter()
                    .map(|d| d.assurance_level)
                    .try_fold(None::<AssuranceLevel>, |low, l| {
                        l.map(|l| Some(low.map_or(l, |low| low.min(l))))
                    })
                    .flatten();
                let summary = Document {
                    issuer: if one_issuer { first_issuer } else { None },
                    credential_type: None,
                    claims: Map::new(),
                    assurance_level: level,
                    holder_binding: !documents.is_empty()
                        && documents.iter().all(|d| d.holder_binding),
                    status: None,
                };
                (summary, documents)
            }
        };
        Self {
            valid: true,
            format,
            document,
            documents,
            errors: Vec::new(),
        }
    }

    /// A presentation that is no credential of any format.
    pub(crate) fn malformed(code: ErrorCode, message: &str) -> Self {
        Self::invalid(Failure::new(code, message, None))
    }
}
