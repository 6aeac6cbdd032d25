//! The ISO 18013-5 mdoc verification pipeline: DeviceResponse or IssuerSigned, issuer chain to
//! IACA anchors (or trusted keys), digests, device authentication over the session transcript,
//! and the MSO's status list (CWT form).

use eudi_mdoc::{DeviceResponse, IssuerSigned, IssuerTrust, SessionTranscript, VerifyOptions};
use eudi_trust::{AssuranceLevel, VerifyingKey};
use serde_json::{Map, Value};

use crate::report::{ErrorCode, Report, ReportError};
use crate::status::{self, StatusForm};
use crate::{Expectations, Inner};

const FORMAT: &str = "mso_mdoc";

pub(crate) async fn verify(inner: &Inner, input: &str, expect: &Expectations, now: i64) -> Report {
    match run(inner, input, expect, now).await {
        Ok(report) => report,
        Err(error) => Report::invalid(FORMAT, error),
    }
}

fn code(name: &str) -> ErrorCode {
    match name {
        "too_large" => ErrorCode::TooLarge,
        "untrusted_issuer" => ErrorCode::UntrustedIssuer,
        "invalid_signature" => ErrorCode::InvalidSignature,
        "wrong_type" => ErrorCode::WrongType,
        "expired" => ErrorCode::Expired,
        "not_yet_valid" => ErrorCode::NotYetValid,
        "invalid_disclosure" => ErrorCode::InvalidDisclosure,
        "key_binding_required" => ErrorCode::KeyBindingRequired,
        "invalid_key_binding" => ErrorCode::InvalidKeyBinding,
        "unsupported_algorithm" => ErrorCode::UnsupportedAlgorithm,
        "invalid_credential" => ErrorCode::InvalidCredential,
        _ => ErrorCode::Malformed,
    }
}

enum Parsed {
    Response(DeviceResponse),
    IssuerSigned(Box<IssuerSigned>),
}

fn transcript(expect: &Expectations) -> Result<Option<SessionTranscript>, ReportError> {
    if let Some(bytes) = &expect.session_transcript {
        return SessionTranscript::from_cbor(bytes).map(Some).map_err(|e| {
            ReportError::new(ErrorCode::Malformed, format!("session transcript: {e}"))
        });
    }
    if let Some(h) = &expect.handover {
        return Ok(Some(SessionTranscript::openid4vp(
            &h.client_id,
            &h.nonce,
            h.jwk_thumbprint.as_ref(),
            &h.response_uri,
        )));
    }
    if expect.nonce.is_some() || expect.audience.is_some() {
        return Err(ReportError::new(
            ErrorCode::KeyBindingRequired,
            "holder binding of an mdoc is checked over a session transcript: give the OpenID4VP handover (client_id, nonce, response_uri) or the transcript itself",
        ));
    }
    Ok(None)
}

async fn run(
    inner: &Inner,
    input: &str,
    expect: &Expectations,
    now: i64,
) -> Result<Report, ReportError> {
    let bytes = eudi_mdoc::decode_text(input).map_err(|e| {
        ReportError::new(
            ErrorCode::Malformed,
            format!("not hex or base64url CBOR: {e}"),
        )
    })?;
    // Parse first: a malformed input is reported as such whatever the arguments.
    let parsed = match DeviceResponse::from_bytes(&bytes) {
        Ok(response) => Parsed::Response(response),
        Err(response_error) => match IssuerSigned::from_bytes(&bytes) {
            Ok(issuer_signed) => Parsed::IssuerSigned(Box::new(issuer_signed)),
            Err(_) => {
                return Err(ReportError::new(
                    ErrorCode::Malformed,
                    format!("not an mdoc DeviceResponse or IssuerSigned: {response_error}"),
                ));
            }
        },
    };
    let st = transcript(expect)?;
    let mut options = VerifyOptions::new(now);
    if let Some(st) = &st {
        options = options.session_transcript(st);
    }
    let keys: Vec<VerifyingKey> = inner.trust.keys().iter().map(|k| k.key.clone()).collect();
    let use_certificates = !inner.trust.anchors().is_empty() || keys.is_empty();
    let trust = if use_certificates {
        IssuerTrust::Certificates(&inner.chains)
    } else {
        IssuerTrust::Keys(&keys)
    };
    let ceiling = |anchor: usize| -> Option<AssuranceLevel> {
        if use_certificates {
            inner.trust.anchor_ceiling(anchor)
        } else {
            inner.trust.keys().get(anchor).and_then(|k| k.ceiling)
        }
    };

    let documents = match parsed {
        Parsed::Response(response) => {
            response
                .verify(trust, &options)
                .map_err(|e| ReportError::new(code(e.code()), e.to_string()))?
                .documents
        }
        Parsed::IssuerSigned(issuer_signed) => {
            if st.is_some() {
                return Err(ReportError::new(
                    ErrorCode::KeyBindingRequired,
                    "an IssuerSigned structure carries no device authentication; present a DeviceResponse",
                ));
            }
            vec![
                issuer_signed
                    .verify(trust, &options)
                    .map_err(|e| ReportError::new(code(e.code()), e.to_string()))?,
            ]
        }
    };

    let mut claims = Map::new();
    let mut doc_types = Vec::new();
    let mut issuers = Vec::new();
    let mut level: Option<AssuranceLevel> = None;
    let mut holder_binding = !documents.is_empty();
    let mut statuses = Vec::new();
    for (i, doc) in documents.iter().enumerate() {
        for (ns, elements) in &doc.claims {
            match claims.get_mut(ns) {
                Some(Value::Object(existing)) => {
                    if let Value::Object(more) = elements {
                        existing.extend(more.clone());
                    }
                }
                _ => {
                    claims.insert(ns.clone(), elements.clone());
                }
            }
        }
        doc_types.push(doc.doc_type.clone());
        issuers.push(doc.issuer_subject.clone());
        let doc_level = crate::effective_level(
            eudi_pid::stated_level_mdoc(&doc.claims),
            ceiling(doc.anchor_index),
        );
        level = if i == 0 {
            doc_level
        } else {
            match (level, doc_level) {
                (Some(a), Some(b)) => Some(a.min(b)),
                _ => None,
            }
        };
        holder_binding &= doc.device_authenticated;
        if let (Some(reference), false) = (&doc.status, expect.skip_status) {
            let status = status::check(
                inner,
                reference,
                &doc.issuer_key,
                StatusForm::Cwt,
                expect,
                now,
            )
            .await?;
            statuses.push(status::outcome(status)?);
        }
    }
    Ok(Report {
        valid: true,
        format: FORMAT.to_owned(),
        issuer: Some(issuers.join(", ")),
        credential_type: Some(doc_types.join(", ")),
        claims,
        assurance_level: level,
        holder_binding,
        status: statuses.first().cloned(),
        errors: Vec::new(),
    })
}
