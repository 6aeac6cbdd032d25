//! A changed signed part is rejected, not merely survived: flip one bit of the header, payload
//! or signature of a genuine Status List Token, JWT (draft-ietf-oauth-status-list §5.1) or CWT
//! (§5.2), and verification must fail (§8.3), with a signature error where the signature is
//! what changed. A forged list would let a revoked credential pass.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::sync::OnceLock;

use coset::CborSerializable as _;
use coset::CoseSign1;
use coset::TaggedCborSerializable as _;
use eudi_bench::block_on;
use eudi_status_list::Bits;
use eudi_status_list::Status;
use eudi_status_list::StatusList;
use eudi_status_list::StatusListError;
use eudi_status_list::StatusListTokenBuilder;
use eudi_status_list::UnverifiedStatusListCwt;
use eudi_status_list::UnverifiedStatusListJwt;
use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::VerifyingKey;
use eudi_trust::b64;
use proptest::prelude::*;

const URI: &str = "https://example.com/statuslists/1";
const NOW: i64 = 1_700_000_000;

struct Tokens {
    jwt: String,
    cwt: Vec<u8>,
    key: VerifyingKey,
}

/// The one place that signs. Signing is async; software keys answer at the first poll.
fn issue() -> Tokens {
    let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let mut list = StatusList::new(Bits::Two, 1024).unwrap();
    list.set_status(7, Status::Invalid).unwrap();
    list.set_status(42, Status::Suspended).unwrap();
    let builder = StatusListTokenBuilder::new(URI, &list, NOW - 60).exp(NOW + 86_400);
    Tokens {
        jwt: block_on(builder.sign_jwt(&key)).unwrap(),
        cwt: block_on(builder.sign_cwt(&key)).unwrap(),
        key: key.verifying_key().clone(),
    }
}

fn tokens() -> &'static Tokens {
    static TOKENS: OnceLock<Tokens> = OnceLock::new();
    TOKENS.get_or_init(issue)
}

fn verify_jwt(token: &str) -> Result<(), StatusListError> {
    let t = tokens();
    let list = UnverifiedStatusListJwt::parse(token)?.verify(
        &t.key,
        &AlgorithmPolicy::default(),
        URI,
        NOW,
    )?;
    // What the signature vouched for: credential 7 revoked.
    assert_eq!(list.status_at(7)?, Status::Invalid);
    Ok(())
}

fn verify_cwt(token: &[u8]) -> Result<(), StatusListError> {
    let t = tokens();
    let list = UnverifiedStatusListCwt::parse(token)?.verify(
        &t.key,
        &AlgorithmPolicy::default(),
        URI,
        NOW,
    )?;
    assert_eq!(list.status_at(7)?, Status::Invalid);
    Ok(())
}

fn flip(bytes: &mut [u8], index: prop::sample::Index, bit: u8) {
    let i = index.index(bytes.len());
    bytes[i] ^= 1 << (bit % 8);
}

/// The JWT with segment `segment` (0 header, 1 payload, 2 signature) flipped in its decoded
/// bytes and re-encoded, so the token stays well-formed base64url.
fn jwt_with_flip(segment: usize, index: prop::sample::Index, bit: u8) -> String {
    let mut segments: Vec<String> = tokens().jwt.split('.').map(str::to_owned).collect();
    let mut bytes = b64::decode(&segments[segment]).unwrap();
    flip(&mut bytes, index, bit);
    segments[segment] = b64::encode(&bytes);
    segments.join(".")
}

/// Where `part` lies in `whole`.
fn span(whole: &[u8], part: &[u8]) -> std::ops::Range<usize> {
    let start = whole.windows(part.len()).position(|w| w == part).unwrap();
    start..start + part.len()
}

/// The CWT's protected header, payload (the claims) and signature, as byte ranges.
fn cwt_regions() -> [std::ops::Range<usize>; 3] {
    let cwt = &tokens().cwt;
    let sign1 = CoseSign1::from_tagged_slice(cwt)
        .or_else(|_| CoseSign1::from_slice(cwt))
        .unwrap();
    let protected = sign1.protected.original_data.clone().unwrap();
    let payload = sign1.payload.clone().unwrap();
    [
        span(cwt, &protected),
        span(cwt, &payload),
        span(cwt, &sign1.signature),
    ]
}

#[test]
fn the_unmutated_tokens_verify() {
    // Without this, every property below would pass on tokens that never verified.
    verify_jwt(&tokens().jwt).unwrap();
    verify_cwt(&tokens().cwt).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn jwt_signature_bit_flip_is_a_bad_signature(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let error = verify_jwt(&jwt_with_flip(2, index, bit)).unwrap_err();
        prop_assert_eq!(error, StatusListError::BadSignature);
    }

    #[test]
    fn jwt_header_bit_flip_is_rejected(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        prop_assert!(verify_jwt(&jwt_with_flip(0, index, bit)).is_err());
    }

    #[test]
    fn jwt_payload_bit_flip_fails_the_signature(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        // The payload is only read after the signature verified, so every change to it is a
        // signature failure, whatever it does to the JSON.
        let error = verify_jwt(&jwt_with_flip(1, index, bit)).unwrap_err();
        prop_assert_eq!(error, StatusListError::BadSignature);
    }

    #[test]
    fn jwt_text_bit_flip_is_rejected(index in any::<prop::sample::Index>(), bit in 0u8..7) {
        let mut bytes = tokens().jwt.clone().into_bytes();
        flip(&mut bytes, index, bit);
        if let Ok(text) = String::from_utf8(bytes) {
            prop_assert!(verify_jwt(&text).is_err());
        }
    }

    #[test]
    fn cwt_signature_bit_flip_is_a_bad_signature(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut cwt = tokens().cwt.clone();
        let range = cwt_regions()[2].clone();
        flip(&mut cwt[range], index, bit);
        prop_assert_eq!(verify_cwt(&cwt).unwrap_err(), StatusListError::BadSignature);
    }

    #[test]
    fn cwt_protected_header_or_claims_bit_flip_is_rejected(region in 0usize..2, index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut cwt = tokens().cwt.clone();
        let range = cwt_regions()[region].clone();
        flip(&mut cwt[range], index, bit);
        prop_assert!(verify_cwt(&cwt).is_err());
    }

    #[test]
    fn cwt_bit_flip_anywhere_is_rejected(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut cwt = tokens().cwt.clone();
        flip(&mut cwt, index, bit);
        prop_assert!(verify_cwt(&cwt).is_err());
    }
}
