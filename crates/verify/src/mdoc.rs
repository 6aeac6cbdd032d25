//! The ISO/IEC 18013-5 mdoc pipeline: DeviceResponse or IssuerSigned, the issuer chain to
//! IACA anchors (or trusted keys), digests, device authentication over the session transcript,
//! and each document's status list (CWT form). One [`VerifiedCredential`] per document.

use eudi_mdoc::DeviceResponse;
use eudi_mdoc::IssuerSigned;
use eudi_mdoc::IssuerTrust;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::VerifyOptions;
use eudi_trust::ErrorCode;
use eudi_trust::HasErrorCode as _;
use eudi_trust::VerifyingKey;
use serde_json::Value;

use crate::Context;
use crate::CredentialFormat;
use crate::Failure;
use crate::VerifiedCredential;
use crate::status::Issuer;
use crate::status::StatusForm;
use crate::status::Vouched;
use crate::status::{self};
use crate::trust::AnchorPurpose;

const FORMAT: CredentialFormat = CredentialFormat::Mdoc;

enum Parsed {
    Response(DeviceResponse),
    IssuerSigned(Box<IssuerSigned>),
}

fn failure(code: ErrorCode, message: impl Into<String>) -> Failure {
    Failure::new(code, message, Some(FORMAT))
}

pub(crate) async fn verify(
    bytes: &[u8],
    transcript: Option<&SessionTranscript>,
    context: &Context<'_>,
) -> Result<Vec<VerifiedCredential>, Failure> {
    let now = context.clock.now();
    let trust = context.trust;
    // Parse first: until it parses the input is no mdoc, whatever the arguments.
    let parsed = match DeviceResponse::from_bytes(bytes) {
        Ok(response) => Parsed::Response(response),
        Err(response_error) => match IssuerSigned::from_bytes(bytes) {
            Ok(issuer_signed) => Parsed::IssuerSigned(Box::new(issuer_signed)),
            Err(_) => {
                return Err(Failure::new(
                    ErrorCode::Malformed,
                    format!("not an mdoc DeviceResponse or IssuerSigned: {response_error}"),
                    None,
                ));
            }
        },
    };
    let mut options = VerifyOptions::new(now);
    if let Some(st) = transcript {
        options = options.session_transcript(st);
    }
    // IACA anchors only: an SD-JWT VC CA never validates a document signer. Configured keys
    // are used when no IACA is configured.
    let keys: Vec<VerifyingKey> = trust.keys().iter().map(|k| k.key.clone()).collect();
    let use_certificates = !trust.mdoc_chains().anchors().is_empty() || keys.is_empty();
    let issuer_trust = if use_certificates {
        IssuerTrust::Certificates(trust.mdoc_chains())
    } else {
        IssuerTrust::Keys(&keys)
    };
    let lib = |e: eudi_mdoc::VerifyError| failure(e.code(), e.to_string());
    let documents = match parsed {
        Parsed::Response(response) => response
            .verify(issuer_trust, &options)
            .map_err(lib)?
            .into_documents(),
        Parsed::IssuerSigned(issuer_signed) => {
            if transcript.is_some() {
                return Err(failure(
                    ErrorCode::KeyBindingRequired,
                    "an IssuerSigned structure carries no device authentication; present a DeviceResponse",
                ));
            }
            vec![issuer_signed.verify(issuer_trust, &options).map_err(lib)?]
        }
    };

    let mut credentials = Vec::with_capacity(documents.len());
    for doc in documents {
        let (vouched, ceiling, issuer) = if use_certificates {
            let leaf_subject = doc.issuer_chain().map_or_else(
                || doc.issuer_subject().to_owned(),
                |c| c.leaf_subject.clone(),
            );
            (
                Vouched::Chain {
                    purpose: AnchorPurpose::Mdoc,
                    anchor: doc.anchor_index(),
                    leaf_subject,
                },
                trust.anchor_ceiling(AnchorPurpose::Mdoc, doc.anchor_index()),
                doc.issuer_subject().to_owned(),
            )
        } else {
            let key = trust.keys().get(doc.anchor_index());
            (
                Vouched::Key {
                    index: doc.anchor_index(),
                },
                key.and_then(|k| k.ceiling),
                key.and_then(|k| k.issuer.clone())
                    .unwrap_or_else(|| doc.issuer_subject().to_owned()),
            )
        };
        let status = match doc.status() {
            None => None,
            Some(reference) => {
                let issuer = Issuer {
                    key: doc.issuer_key(),
                    vouched: &vouched,
                    iss: None,
                };
                status::check(
                    context.status,
                    trust,
                    reference,
                    StatusForm::Cwt,
                    issuer,
                    now,
                )
                .await
                .map_err(|(code, message)| failure(code, message))?
            }
        };
        let cpr = (doc.doc_type() == eudi_pid::DOCTYPE)
            .then(|| doc.claims().get(eudi_pid::NAMESPACE))
            .flatten()
            .and_then(Value::as_object)
            .and_then(crate::danish_cpr);
        credentials.push(VerifiedCredential {
            format: FORMAT,
            issuer: Some(issuer),
            credential_type: Some(doc.doc_type().to_owned()),
            assurance_level: crate::effective_level(
                eudi_pid::stated_level_mdoc(doc.claims()),
                ceiling,
            ),
            // Device authentication over the caller's transcript; without one nothing tied
            // the document to this transaction.
            holder_binding: transcript.is_some() && doc.device_authenticated(),
            status,
            valid_from: Some(doc.validity().valid_from.unix_timestamp()),
            valid_until: Some(doc.validity().valid_until.unix_timestamp()),
            cpr,
            // Issuer-signed items only: device-signed items are the holder's word.
            claims: doc.into_claims(),
        });
    }
    Ok(credentials)
}
