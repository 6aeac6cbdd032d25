//! No input makes decoding or verification panic, run long, or allocate without bound.

use std::time::Duration;
use std::time::Instant;

use eudi_bench::block_on;
use eudi_mdoc::CborError;
use eudi_mdoc::DecodeError;
use eudi_mdoc::DeviceResponse;
use eudi_mdoc::Document;
use eudi_mdoc::IssuerSigned;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::VerifyOptions;
use eudi_trust::ChainValidator;
use proptest::prelude::*;

use crate::support::*;

/// Decodes `bytes` every way, and verifies whatever decodes. Must never panic.
fn run_everything(bytes: &[u8], validator: &ChainValidator, transcript: &SessionTranscript) {
    if let Ok(response) = DeviceResponse::from_bytes(bytes) {
        let options = VerifyOptions::new(NOW).session_transcript(transcript);
        let _ = response.verify(validator, &options);
        let _ = response.verify(validator, &VerifyOptions::new(NOW));
        let _ = response.to_bytes();
        for doc in response.documents() {
            let _ = doc.issuer_signed().select(&[(PID, "family_name")]);
            let _ = doc.device_authentication_bytes(transcript);
        }
    }
    if let Ok(issuer_signed) = IssuerSigned::from_bytes(bytes) {
        let _ = issuer_signed.verify(validator, &VerifyOptions::new(NOW));
        let _ = issuer_signed.to_bytes();
    }
    let _ = SessionTranscript::from_cbor(bytes);
    let _ = SessionTranscript::from_tagged_bytes(bytes);
}

struct Valid {
    bytes: Vec<u8>,
    validator: ChainValidator,
    transcript: SessionTranscript,
}

fn valid() -> Valid {
    let issued = block_on(issue());
    let transcript = SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI);
    let selected = issued.issuer_signed.select(&[
        (PID, "family_name"),
        (PID, "place_of_birth"),
        (PID, "birth_date"),
    ]);
    let bytes = DeviceResponse::new(vec![
        block_on(Document::with_device_signature(
            selected,
            &transcript,
            &issued.device,
        ))
        .unwrap(),
    ])
    .to_bytes();
    Valid {
        bytes,
        validator: issued.pki.validator(),
        transcript,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let validator = ChainValidator::new(eudi_trust::TrustAnchors::new());
        let transcript = SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI);
        run_everything(&bytes, &validator, &transcript);
    }

    #[test]
    fn cbor_shaped_bytes(bytes in proptest::collection::vec(
        prop_oneof![
            Just(0xa3u8), Just(0x83), Just(0x9f), Just(0xbf), Just(0xff), Just(0xd8), Just(0x18),
            Just(0x58), Just(0x5b), Just(0x9b), Just(0xbb), Just(0xc0), Just(0xf6), Just(0x00),
            Just(0x67), Just(0x40), any::<u8>(),
        ],
        0..300,
    )) {
        let validator = ChainValidator::new(eudi_trust::TrustAnchors::new());
        let transcript = SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI);
        run_everything(&bytes, &validator, &transcript);
    }
}

proptest! {
    // Each case verifies a real response (ES256, chain validation): fewer cases, same idea.
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_valid_responses(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        insert in any::<Option<(prop::sample::Index, u8)>>(),
    ) {
        let valid = VALID.with(|v| (v.bytes.clone(), v.transcript.clone()));
        let (mut bytes, transcript) = valid;
        for (pos, byte) in &edits {
            let i = pos.index(bytes.len());
            bytes[i] = *byte;
        }
        if let Some((pos, byte)) = insert {
            let i = pos.index(bytes.len() + 1);
            bytes.insert(i, byte);
        }
        VALID.with(|v| {
            run_everything(&bytes, &v.validator, &transcript);
            let truncated = &bytes[..cut.index(bytes.len() + 1)];
            run_everything(truncated, &v.validator, &transcript);
        });
    }
}

thread_local! {
    static VALID: Valid = valid();
}

#[test]
fn the_valid_response_used_for_mutations_verifies() {
    VALID.with(|v| {
        let options = VerifyOptions::new(NOW).session_transcript(&v.transcript);
        DeviceResponse::from_bytes(&v.bytes)
            .unwrap()
            .verify(&v.validator, &options)
            .unwrap();
    });
}

/// Runs `f` and checks it took less than a second (a hostile input must fail fast).
fn fast<T>(f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
    out
}

#[test]
fn ten_thousand_nested_arrays() {
    let mut bytes = vec![0x81u8; 10_000];
    bytes.push(0x00);
    let err = fast(|| DeviceResponse::from_bytes(&bytes)).unwrap_err();
    assert!(
        matches!(err, DecodeError::Cbor(CborError::TooDeep { max: 32, .. })),
        "{err}"
    );
    // Indefinite-length arrays, maps and tags nest the same way.
    for opener in [0x9fu8, 0xc6] {
        let bytes = vec![opener; 10_000];
        let err = fast(|| DeviceResponse::from_bytes(&bytes)).unwrap_err();
        assert!(
            matches!(err, DecodeError::Cbor(CborError::TooDeep { .. })),
            "{err}"
        );
    }
    let mut maps = Vec::new();
    for _ in 0..10_000 {
        maps.extend_from_slice(&[0xa1, 0x00]);
    }
    maps.push(0x00);
    assert!(matches!(
        fast(|| IssuerSigned::from_bytes(&maps)),
        Err(DecodeError::Cbor(CborError::TooDeep { .. }))
    ));
}

#[test]
fn huge_declared_lengths_fail_without_allocating() {
    // bstr, tstr, array, map with a declared length of 2^60, and the maximum.
    for head in [0x5bu8, 0x7b, 0x9b, 0xbb] {
        for len in [1u64 << 60, u64::MAX] {
            let mut bytes = vec![head];
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(&[0u8; 16]);
            let err = fast(|| DeviceResponse::from_bytes(&bytes)).unwrap_err();
            assert!(
                matches!(err, DecodeError::Cbor(CborError::LengthExceedsInput { .. })),
                "{head:#x}: {err}"
            );
        }
    }
}

#[test]
fn huge_length_inside_a_valid_prefix() {
    // {"version": "1.0", "documents": [<array of 2^60>]}
    let mut bytes = vec![0xa2, 0x67];
    bytes.extend_from_slice(b"version");
    bytes.extend_from_slice(&[0x63, b'1', b'.', b'0', 0x69]);
    bytes.extend_from_slice(b"documents");
    bytes.push(0x9b);
    bytes.extend_from_slice(&(1u64 << 60).to_be_bytes());
    let err = fast(|| DeviceResponse::from_bytes(&bytes)).unwrap_err();
    assert!(
        matches!(err, DecodeError::Cbor(CborError::LengthExceedsInput { .. })),
        "{err}"
    );
}

#[test]
fn huge_length_inside_an_embedded_item() {
    // #6.24(bstr) whose content declares a 2^60 map: rejected when the item is decoded.
    let mut inner = vec![0xbb];
    inner.extend_from_slice(&(1u64 << 60).to_be_bytes());
    let mut item = vec![0xd8, 0x18, 0x49];
    item.extend_from_slice(&inner);
    let mut bytes = vec![0xa1, 0x6a];
    bytes.extend_from_slice(b"nameSpaces");
    bytes.extend_from_slice(&[0xa1, 0x61, b'x', 0x81]);
    bytes.extend_from_slice(&item);
    assert!(matches!(
        fast(|| IssuerSigned::from_bytes(&bytes)),
        Err(DecodeError::Cbor(CborError::LengthExceedsInput { .. }))
    ));
}

#[test]
fn many_small_items_hit_the_item_budget() {
    // An array of 1 MiB of zeros: a million one-byte items.
    let n = 1usize << 20;
    let mut bytes = vec![0x9a];
    bytes.extend_from_slice(&u32::try_from(n).unwrap().to_be_bytes());
    bytes.resize(bytes.len() + n, 0);
    assert!(matches!(
        fast(|| DeviceResponse::from_bytes(&bytes)),
        Err(DecodeError::Cbor(CborError::TooManyItems { .. }))
    ));
}

#[test]
fn input_over_the_size_limit() {
    let bytes = vec![0u8; eudi_mdoc::MAX_INPUT_LEN + 1];
    assert!(matches!(
        DeviceResponse::from_bytes(&bytes),
        Err(DecodeError::Cbor(CborError::TooLarge { .. }))
    ));
    let text = "a".repeat(2 * eudi_mdoc::MAX_INPUT_LEN + 2);
    assert!(DeviceResponse::from_hex(&text).is_err());
}
