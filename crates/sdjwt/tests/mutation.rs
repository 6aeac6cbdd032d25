//! A changed signed part is rejected, not merely survived: flip one bit of the Issuer-signed
//! JWT (header, payload, signature), of a Disclosure or of the KB-JWT of a genuine SD-JWT VC
//! presentation, and verification must fail, with the error the changed part calls for
//! (RFC 9901 §7.1 steps 2 and 3, §7.3).
//!
//! Two kinds of flip: in the *decoded* bytes of a part (re-encoded as base64url, so the
//! serialization stays well-formed and the signature or digest check is what must catch it),
//! and in the serialized text itself.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::sync::OnceLock;

use eudi_bench::block_on;
use eudi_sdjwt::SdJwt;
use eudi_sdjwt::SdJwtError;
use eudi_sdjwt::holder::KeyBindingParams;
use eudi_sdjwt::holder::{self};
use eudi_sdjwt::vc;
use eudi_sdjwt::verifier::KeyBindingPolicy;
use eudi_sdjwt::verifier::VerifyOptions;
use eudi_trust::Algorithm;
use eudi_trust::ErrorCode;
use eudi_trust::HasErrorCode as _;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::VerifyingKey;
use eudi_trust::b64;
use proptest::prelude::*;
use serde_json::json;

const NOW: i64 = 1_700_000_100;
const AUDIENCE: &str = "https://verifier.example";
const NONCE: &str = "n-1";

struct Issued {
    /// `header.payload.signature~d1~…~dn~kb-jwt`.
    presentation: String,
    issuer: VerifyingKey,
}

/// The one place that issues and presents. Signing is async; software keys answer at the first
/// poll, so `block_on` drives it without a runtime.
fn issue() -> Issued {
    let issuer = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let holder_key = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let claims = json!({
        "given_name": "Mette",
        "family_name": "Jensen",
        "address": {"locality": "Aarhus", "postal_code": "8000"},
        "nationalities": ["DK", "SE"],
    });
    let sd = block_on(
        vc::builder(
            "urn:eudi:pid:1",
            "https://issuer.example",
            1_700_000_000,
            claims.as_object().unwrap(),
        )
        .holder_key(&holder_key.verifying_key().to_jwk())
        .unwrap()
        .sign(&issuer),
    )
    .unwrap();
    let params = KeyBindingParams {
        audience: AUDIENCE.into(),
        nonce: NONCE.into(),
        iat: NOW - 10,
    };
    let presentation = block_on(holder::add_key_binding(sd, &holder_key, &params))
        .unwrap()
        .to_compact()
        .unwrap();
    Issued {
        presentation,
        issuer: issuer.verifying_key().clone(),
    }
}

fn issued() -> &'static Issued {
    static ISSUED: OnceLock<Issued> = OnceLock::new();
    ISSUED.get_or_init(issue)
}

fn verify(presentation: &str) -> Result<(), SdJwtError> {
    let sd = SdJwt::parse(presentation)?;
    let mut options = VerifyOptions::new(NOW);
    options.key_binding = KeyBindingPolicy::required(AUDIENCE, NONCE);
    let key = issued().issuer.clone();
    vc::verify(&sd, &mut |_, _| Ok(key.clone()), &options).map(|_| ())
}

/// The `~`-separated parts of the presentation: issuer JWT, disclosures, KB-JWT.
fn parts() -> Vec<String> {
    issued()
        .presentation
        .split('~')
        .map(str::to_owned)
        .collect()
}

/// Flips bit `bit` of byte `index` (modulo the length) of the base64url-decoded `part`.
fn flip_decoded(part: &str, index: prop::sample::Index, bit: u8) -> String {
    let mut bytes = b64::decode(part).unwrap();
    let i = index.index(bytes.len());
    bytes[i] ^= 1 << (bit % 8);
    b64::encode(&bytes)
}

/// Rebuilds the presentation with the `.`-separated segment `segment` of part `part` replaced.
fn replace_segment(part: usize, segment: usize, with: String) -> String {
    let mut parts = parts();
    let mut segments: Vec<String> = parts[part].split('.').map(str::to_owned).collect();
    segments[segment] = with;
    parts[part] = segments.join(".");
    parts.join("~")
}

fn segment(part: usize, segment: usize) -> String {
    parts()[part].split('.').nth(segment).unwrap().to_owned()
}

#[test]
fn the_unmutated_presentation_verifies() {
    // Without this, every property below would pass on a presentation that never verified.
    verify(&issued().presentation).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn issuer_signature_bit_flip_is_an_invalid_signature(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mutated = replace_segment(0, 2, flip_decoded(&segment(0, 2), index, bit));
        let error = verify(&mutated).unwrap_err();
        prop_assert_eq!(error.code(), ErrorCode::InvalidSignature, "{}", error);
    }

    #[test]
    fn issuer_payload_bit_flip_is_rejected(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let flipped = flip_decoded(&segment(0, 1), index, bit);
        let still_json = serde_json::from_slice::<serde_json::Value>(&b64::decode(&flipped).unwrap())
            .is_ok_and(|v| v.is_object());
        let error = verify(&replace_segment(0, 1, flipped)).unwrap_err();
        // The payload is read (for `_sd_alg` and the key resolver) before the signature check,
        // so a flip that breaks its JSON is malformed; any other must fail the signature.
        if still_json {
            prop_assert_eq!(error.code(), ErrorCode::InvalidSignature, "{}", error);
        }
    }

    #[test]
    fn issuer_header_bit_flip_is_rejected(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mutated = replace_segment(0, 0, flip_decoded(&segment(0, 0), index, bit));
        let error = verify(&mutated).unwrap_err();
        prop_assert_ne!(error.code(), ErrorCode::InvalidDisclosure, "{}", error);
    }

    #[test]
    fn disclosure_bit_flip_is_an_invalid_disclosure(which in any::<prop::sample::Index>(), index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut parts = parts();
        let disclosures = parts.len() - 2;
        let d = 1 + which.index(disclosures);
        parts[d] = flip_decoded(&parts[d], index, bit);
        let error = verify(&parts.join("~")).unwrap_err();
        prop_assert_eq!(error.code(), ErrorCode::InvalidDisclosure, "{}", error);
    }

    #[test]
    fn kb_jwt_bit_flip_is_an_invalid_key_binding(seg in 0usize..3, index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let last = parts().len() - 1;
        let mutated = replace_segment(last, seg, flip_decoded(&segment(last, seg), index, bit));
        let error = verify(&mutated).unwrap_err();
        prop_assert_eq!(error.code(), ErrorCode::InvalidKeyBinding, "{}", error);
    }

    #[test]
    fn text_bit_flip_anywhere_is_rejected(index in any::<prop::sample::Index>(), bit in 0u8..7) {
        let mut bytes = issued().presentation.clone().into_bytes();
        let i = index.index(bytes.len());
        bytes[i] ^= 1 << bit;
        // Every character of a compact SD-JWT+KB is signed, digested or covered by `sd_hash`.
        if let Ok(text) = String::from_utf8(bytes) {
            prop_assert!(verify(&text).is_err(), "accepted with byte {} changed", i);
        }
    }
}
