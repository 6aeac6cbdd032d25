//! X.509 certificates (RFC 5280): a trust anchor from DER, and path validation of a chain whose
//! certificates come from the input, against a fixed anchor and with the input as its own
//! anchor, for both leaf profiles.
//!
//! Input: certificates separated by the 4 bytes `\xff\x00\xff\x00` (leaf first); a single DER
//! certificate needs no separator.
#![no_main]

use eudi_trust::ChainValidator;
use eudi_trust::LeafProfile;
use eudi_trust::TrustAnchor;
use eudi_trust::TrustAnchors;
use libfuzzer_sys::fuzz_target;

const SEPARATOR: &[u8] = b"\xff\x00\xff\x00";

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        parts.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    parts.push(rest);
    parts
}

fuzz_target!(|data: &[u8]| {
    let chain = split(data);
    let mut anchors = TrustAnchors::new();
    for der in &chain {
        if let Ok(anchor) = TrustAnchor::from_der(der) {
            let _ = (anchor.subject(), anchor.not_before(), anchor.not_after());
            anchors.push(anchor);
        }
    }
    if let Some(text) = eudi_fuzz::text(data) {
        let _ = TrustAnchors::new().add_pem(text);
    }
    let validator = ChainValidator::new(anchors);
    for profile in [
        LeafProfile::Any,
        LeafProfile::DigitalSignature,
        LeafProfile::MdocDocumentSigner,
    ] {
        let _ = validator.validate_der(&chain, eudi_fuzz::NOW, profile);
        // The cache path: the same chain again.
        let _ = validator.validate_der(&chain, eudi_fuzz::NOW, profile);
    }
});
