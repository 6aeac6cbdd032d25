//! The verification report: one JSON object, the contract of `eudi-verifier verify` (DESIGN.md).

use eudi_trust::AssuranceLevel;
use serde::Serialize;
use serde_json::{Map, Value};

/// The stable code of a failure: the workspace's one error vocabulary (`eudi_trust::code`).
pub use eudi_trust::ErrorCode;

/// One reason a presentation is not valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportError {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// What exactly was wrong, for people.
    pub message: String,
}

impl ReportError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The outcome of verifying one presentation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Whether every check passed.
    pub valid: bool,
    /// `dc+sd-jwt`, `sd-jwt`, `mso_mdoc`, or `unknown`.
    pub format: String,
    /// The issuer: `iss`, or the certificate subject when there is none.
    pub issuer: Option<String>,
    /// The credential type (`vct` or docType).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    /// The disclosed user claims only (no `_sd`, `_sd_alg`, `...`, nor credential metadata).
    pub claims: Map<String, Value>,
    /// Effective level of assurance: min(level stated in the credential, ceiling of the trust
    /// anchor that issued it).
    pub assurance_level: Option<AssuranceLevel>,
    /// Whether a holder-binding proof was verified.
    pub holder_binding: bool,
    /// Status from the status list, when checked (`valid`, `invalid`, `suspended`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why the presentation is not valid; empty when it is.
    pub errors: Vec<ReportError>,
}

impl Report {
    /// An invalid report with one error.
    pub fn invalid(format: &str, error: ReportError) -> Self {
        Self {
            valid: false,
            format: format.to_owned(),
            issuer: None,
            credential_type: None,
            claims: Map::new(),
            assurance_level: None,
            holder_binding: false,
            status: None,
            errors: vec![error],
        }
    }
}
