//! Property tests: no parser panics on arbitrary input, and lists survive encoding.

use std::sync::OnceLock;

use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use proptest::prelude::*;

use crate::Bits;
use crate::Limits;
use crate::Status;
use crate::StatusList;
use crate::StatusListTokenBuilder;
use crate::StatusReference;
use crate::UnverifiedStatusListCwt;
use crate::UnverifiedStatusListJwt;

const URI: &str = "https://example.com/statuslists/1";
const NOW: i64 = 1_700_000_000;

fn key() -> &'static SoftwareKey {
    static KEY: OnceLock<SoftwareKey> = OnceLock::new();
    KEY.get_or_init(|| SoftwareKey::generate(Algorithm::Es256).unwrap())
}

/// Feeds `bytes` to every byte-oriented parser; only errors may come out.
fn parse_all_bytes(bytes: &[u8]) {
    let limits = Limits::default();
    let policy = AlgorithmPolicy::default();
    let _ = StatusList::from_cbor(bytes, &limits);
    for bits in [Bits::One, Bits::Two, Bits::Four, Bits::Eight] {
        let _ = StatusList::decompress(bits, bytes, &limits);
    }
    let _ = StatusReference::from_cwt_claims_bytes(bytes);
    let _ = eudi_cbor::decode_value(bytes, 1000);
    if let Ok(token) = UnverifiedStatusListCwt::parse(bytes) {
        let _ = token.kid();
        let _ = token.x5chain();
        let _ = token.algorithm();
        let _ = token.verify(key().verifying_key(), &policy, URI, NOW);
    }
}

/// Feeds `text` to every text-oriented parser; only errors may come out.
fn parse_all_text(text: &str) {
    let limits = Limits::default();
    let policy = AlgorithmPolicy::default();
    let _ = StatusList::from_json_str(text, &limits);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = StatusList::from_json(&value, &limits);
        if let Some(map) = value.as_object() {
            let _ = StatusReference::from_jwt_claims(map);
        }
    }
    if let Ok(token) = UnverifiedStatusListJwt::parse(text) {
        let _ = token.header();
        let _ = token.verify(key().verifying_key(), &policy, URI, NOW);
    }
    parse_all_bytes(text.as_bytes());
}

/// A valid token to mutate, so the fuzzing reaches past the envelope checks.
fn seed_tokens() -> &'static (String, Vec<u8>) {
    static SEEDS: OnceLock<(String, Vec<u8>)> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut list = StatusList::new(Bits::Two, 64).unwrap();
        list.set_status(3, Status::Suspended).unwrap();
        let builder = StatusListTokenBuilder::new(URI, &list, NOW)
            .exp(NOW + 60)
            .ttl(30)
            .kid("k")
            .x5c(vec![vec![1, 2, 3]]);
        (
            eudi_bench::block_on(builder.sign_jwt(key())).unwrap(),
            eudi_bench::block_on(builder.sign_cwt(key())).unwrap(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_all_bytes(&bytes);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,256}") {
        parse_all_text(&text);
    }

    #[test]
    fn jwt_like_strings_never_panic(
        parts in proptest::collection::vec("[A-Za-z0-9_-]{0,64}", 0..5)
    ) {
        parse_all_text(&parts.join("."));
    }

    #[test]
    fn mutated_cwt_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = seed_tokens().1.clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        parse_all_bytes(&bytes);
        let keep = cut.index(bytes.len() + 1);
        parse_all_bytes(&bytes[..keep]);
    }

    #[test]
    fn mutated_jwt_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), "[A-Za-z0-9_.~-]"), 1..8),
    ) {
        let mut chars: Vec<char> = seed_tokens().0.chars().collect();
        for (at, c) in edits {
            let i = at.index(chars.len());
            chars[i] = c.chars().next().unwrap();
        }
        parse_all_text(&chars.into_iter().collect::<String>());
    }

    #[test]
    fn arbitrary_lists_survive_json_and_cbor(
        bits in prop::sample::select(vec![Bits::One, Bits::Two, Bits::Four, Bits::Eight]),
        statuses in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut list = StatusList::new(bits, statuses.len() as u64).unwrap();
        for (i, s) in statuses.iter().enumerate() {
            list.set_status(i as u64, Status::from(s & bits.max_status())).unwrap();
        }
        let limits = Limits::default();
        let from_json = StatusList::from_json(&list.to_json().unwrap(), &limits).unwrap();
        let from_cbor = StatusList::from_cbor(&list.to_cbor().unwrap(), &limits).unwrap();
        prop_assert_eq!(&from_json, &list);
        prop_assert_eq!(&from_cbor, &list);
        for (i, s) in statuses.iter().enumerate() {
            prop_assert_eq!(from_json.status(i as u64).unwrap().value(), s & bits.max_status());
        }
    }
}
