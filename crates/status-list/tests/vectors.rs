//! The draft -20 vectors from `../shared/vectors/status-list/` (README section 6), read at run
//! time.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::collections::HashMap;

use coset::CoseSign1;
use coset::TaggedCborSerializable as _;
use eudi_status_list::Bits;
use eudi_status_list::Limits;
use eudi_status_list::Status;
use eudi_status_list::StatusList;
use eudi_status_list::StatusListError;
use eudi_status_list::StatusListTokenBuilder;
use eudi_status_list::StatusReference;
use eudi_status_list::UnverifiedStatusListCwt;
use eudi_status_list::UnverifiedStatusListJwt;
use eudi_status_list::VerifiedStatusList;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::Jwk;
use eudi_trust::SoftwareKey;
use eudi_trust::VerifyingKey;
use eudi_trust::jws::CompactJws;
use serde_json::Value;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/vectors/status-list/"
);

/// The vectors' Status List Token: issued 1686920170, expires 2291720170.
const IAT: i64 = 1_686_920_170;
const EXP: i64 = 2_291_720_170;
const NOW: i64 = IAT + 3600;
const URI: &str = "https://example.com/statuslists/1";

fn read(name: &str) -> String {
    let path = format!("{DIR}{name}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hex(text: &str) -> Vec<u8> {
    let text = text.trim();
    assert!(text.len().is_multiple_of(2), "odd-length hex");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn public_key() -> VerifyingKey {
    let jwk: Jwk = serde_json::from_str(&read("example_signing_key.public.jwk.json")).unwrap();
    jwk.to_verifying_key().unwrap()
}

fn test_vectors() -> Value {
    serde_json::from_str(&read("test_vectors.json")).unwrap()
}

/// Every index of `list` reads as `expected` says, and 0 where it says nothing.
fn assert_statuses(list: &StatusList, expected: &HashMap<u64, u8>, what: &str) {
    for idx in 0..list.len() {
        let want = expected.get(&idx).copied().unwrap_or(0);
        assert_eq!(
            list.status(idx).unwrap().value(),
            want,
            "{what}: status at index {idx}"
        );
    }
    assert_eq!(
        list.status(list.len()),
        Err(StatusListError::IndexOutOfRange {
            idx: list.len(),
            len: list.len()
        })
    );
}

#[test]
fn vectors_directory_is_where_the_tests_expect_it() {
    assert!(
        std::path::Path::new(DIR)
            .join("test_vectors.json")
            .is_file(),
        "expected the shared vectors at {DIR}"
    );
}

#[test]
fn small_examples_of_section_4_1_decode_exactly() {
    let vectors = test_vectors();
    let small = vectors["small_examples_section_4"].as_array().unwrap();
    assert_eq!(small.len(), 2);
    for v in small {
        let bits = Bits::try_from(u8::try_from(v["bits"].as_u64().unwrap()).unwrap()).unwrap();
        let statuses: Vec<u8> = v["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| u8::try_from(s.as_u64().unwrap()).unwrap())
            .collect();
        let expected: HashMap<u64, u8> = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u64, *s))
            .collect();
        let raw = hex(v["uncompressed_byte_array_hex"].as_str().unwrap());

        let from_json = StatusList::from_json(&v["json_status_list"], &Limits::default()).unwrap();
        let cbor = hex(v["cbor_status_list_hex"].as_str().unwrap());
        let from_cbor = StatusList::from_cbor(&cbor, &Limits::default()).unwrap();
        let from_spec_bytes = StatusList::decompress(
            bits,
            &hex(v["compressed_hex_in_spec"].as_str().unwrap()),
            &Limits::default(),
        )
        .unwrap();
        for (list, what) in [
            (&from_json, "json"),
            (&from_cbor, "cbor"),
            (&from_spec_bytes, "spec"),
        ] {
            assert_eq!(list.bits(), bits, "{what}");
            assert_eq!(list.as_bytes(), raw.as_slice(), "{what}");
            assert_eq!(list.len(), statuses.len() as u64, "{what}");
            assert_statuses(
                list,
                &expected,
                &format!("{bits}-bit small example, {what}"),
            );
        }

        // Building the same list by setting statuses gives the same byte array.
        let mut built = StatusList::new(bits, statuses.len() as u64).unwrap();
        for (i, s) in statuses.iter().enumerate() {
            built.set_status(i as u64, Status::from(*s)).unwrap();
        }
        assert_eq!(built.as_bytes(), raw.as_slice());
    }
}

#[test]
fn long_2_pow_20_lists_decode_exactly_at_every_index() {
    let vectors = test_vectors();
    let long = vectors["long_test_vectors_2pow20"].as_array().unwrap();
    assert_eq!(long.len(), 4);
    let mut seen_bits = Vec::new();
    for v in long {
        let bits = u8::try_from(v["bits"].as_u64().unwrap()).unwrap();
        seen_bits.push(bits);
        let expected: HashMap<u64, u8> = v["statuses_set"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, s)| {
                (
                    k.parse().unwrap(),
                    u8::try_from(s.as_u64().unwrap()).unwrap(),
                )
            })
            .collect();
        assert!(!expected.is_empty());
        let size = v["size_entries"].as_u64().unwrap();
        assert_eq!(size, 1 << 20);
        let uncompressed = usize::try_from(v["uncompressed_bytes"].as_u64().unwrap()).unwrap();

        let from_json = StatusList::from_json(&v["json_status_list"], &Limits::default()).unwrap();
        let cbor = hex(v["cbor_status_list_hex"].as_str().unwrap());
        let from_cbor = StatusList::from_cbor(&cbor, &Limits::default()).unwrap();
        for (list, what) in [(&from_json, "json"), (&from_cbor, "cbor")] {
            assert_eq!(list.bits().get(), bits, "{what}");
            assert_eq!(list.len(), size, "{what}");
            assert_eq!(list.as_bytes().len(), uncompressed, "{what}");
            assert_statuses(list, &expected, &format!("{bits}-bit 2^20 list, {what}"));
        }

        // Our own compression decodes back to the same list (bytes need not match the spec's).
        let again = StatusList::decompress(
            from_json.bits(),
            &from_json.compress().unwrap(),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(again, from_json);
    }
    seen_bits.sort_unstable();
    assert_eq!(seen_bits, [1, 2, 4, 8]);
}

#[test]
fn a_lower_decompression_limit_refuses_the_long_lists() {
    let vectors = test_vectors();
    let v = &vectors["long_test_vectors_2pow20"][0];
    let mut limits = Limits::default();
    limits.max_decompressed_bytes = 64 * 1024;
    assert_eq!(
        StatusList::from_json(&v["json_status_list"], &limits),
        Err(StatusListError::DecompressedTooLarge { limit: 64 * 1024 })
    );
}

fn check_vector_token(verified: &VerifiedStatusList) {
    assert_eq!(verified.uri(), URI);
    assert_eq!(verified.iat(), IAT);
    assert_eq!(verified.exp(), Some(EXP));
    assert_eq!(verified.ttl(), Some(43_200));
    assert_eq!(verified.list().bits(), Bits::One);
    assert_eq!(verified.list().as_bytes(), [0xb9, 0xa3]);
    assert_eq!(verified.status_at(0), Ok(Status::Invalid));
    assert_eq!(verified.status_at(1), Ok(Status::Valid));
    assert_eq!(
        verified.status_at(16),
        Err(StatusListError::IndexOutOfRange { idx: 16, len: 16 })
    );
}

#[test]
fn status_list_token_jwt_verifies() {
    let text = read("status_list_token.jwt.txt");
    let token = UnverifiedStatusListJwt::parse(text.trim()).unwrap();
    assert_eq!(token.header().kid.as_deref(), Some("12"));
    assert_eq!(token.header().typ.as_deref(), Some("statuslist+jwt"));
    let verified = token
        .verify(&public_key(), &AlgorithmPolicy::default(), URI, NOW)
        .unwrap();
    check_vector_token(&verified);
}

#[test]
fn status_list_token_jwt_is_rejected_for_another_uri_or_after_exp() {
    let text = read("status_list_token.jwt.txt");
    let token = UnverifiedStatusListJwt::parse(text.trim()).unwrap();
    let key = public_key();
    let policy = AlgorithmPolicy::default();
    assert_eq!(
        token.verify(&key, &policy, "https://example.com/statuslists/2", NOW),
        Err(StatusListError::SubjectMismatch {
            expected: "https://example.com/statuslists/2".into(),
            found: URI.into()
        })
    );
    let late = EXP + 3600;
    assert_eq!(
        token.verify(&key, &policy, URI, late),
        Err(StatusListError::Expired {
            exp: EXP,
            now: late
        })
    );
}

#[test]
fn status_list_token_cwt_verifies() {
    let bytes = hex(&read("status_list_token.cwt.hex"));
    let token = UnverifiedStatusListCwt::parse(&bytes).unwrap();
    assert_eq!(token.kid(), Some(&b"12"[..]));
    assert!(token.x5chain().is_empty());
    let verified = token
        .verify(&public_key(), &AlgorithmPolicy::default(), URI, NOW)
        .unwrap();
    check_vector_token(&verified);
    assert_eq!(
        token.verify(&public_key(), &AlgorithmPolicy::default(), URI, EXP + 3600),
        Err(StatusListError::Expired {
            exp: EXP,
            now: EXP + 3600
        })
    );
}

#[test]
fn referenced_token_cwt_points_at_index_0_which_is_invalid() {
    let bytes = hex(&read("referenced_token.cwt.hex"));
    let sign1 = CoseSign1::from_tagged_slice(&bytes).unwrap();
    // The Referenced Token is signed by the same example key.
    let key = public_key();
    sign1
        .verify_signature(&[], |sig, tbs| key.verify(tbs, sig))
        .unwrap();
    let reference =
        StatusReference::from_cwt_claims_bytes(sign1.payload.as_deref().unwrap()).unwrap();
    assert_eq!(
        reference,
        StatusReference {
            idx: 0,
            uri: URI.into()
        }
    );

    let status_list = hex(&read("status_list_token.cwt.hex"));
    let verified = UnverifiedStatusListCwt::parse(&status_list)
        .unwrap()
        .verify(&key, &AlgorithmPolicy::default(), &reference.uri, NOW)
        .unwrap();
    assert_eq!(verified.status_of(&reference), Ok(Status::Invalid));
}

#[test]
fn referenced_token_sd_jwt_payload_points_at_index_0() {
    let payload: serde_json::Map<String, Value> =
        serde_json::from_str(&read("referenced_token_sd_jwt_payload.json")).unwrap();
    let reference = StatusReference::from_jwt_claims(&payload).unwrap();
    assert_eq!(
        reference,
        StatusReference {
            idx: 0,
            uri: URI.into()
        }
    );

    // The same reference from the issuer-signed JWT of the serialized SD-JWT.
    let sd_jwt = read("referenced_token_sd_jwt.txt");
    let issuer_jwt = sd_jwt.trim().split('~').next().unwrap();
    let claims = CompactJws::parse(issuer_jwt)
        .unwrap()
        .payload_json()
        .unwrap();
    assert_eq!(
        StatusReference::from_jwt_claims(&claims),
        Ok(reference.clone())
    );

    let jwt = read("status_list_token.jwt.txt");
    let verified = UnverifiedStatusListJwt::parse(jwt.trim())
        .unwrap()
        .verify(
            &public_key(),
            &AlgorithmPolicy::default(),
            &reference.uri,
            NOW,
        )
        .unwrap();
    assert_eq!(verified.status_of(&reference), Ok(Status::Invalid));
}

#[tokio::test]
async fn example_key_signs_tokens_that_verify_like_the_vectors() {
    let jwk: eudi_trust::PrivateJwk =
        serde_json::from_str(&read("example_signing_key.private.jwk.json")).unwrap();
    let key = SoftwareKey::from_jwk(&jwk).unwrap();
    let list = StatusList::from_json(
        &serde_json::json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ"}),
        &Limits::default(),
    )
    .unwrap();
    let builder = StatusListTokenBuilder::new(URI, &list, IAT)
        .exp(EXP)
        .ttl(43_200)
        .kid("12");
    let jwt = builder.sign_jwt(&key).await.unwrap();
    let cwt = builder.sign_cwt(&key).await.unwrap();
    let policy = AlgorithmPolicy::default();
    check_vector_token(
        &UnverifiedStatusListJwt::parse(&jwt)
            .unwrap()
            .verify(&public_key(), &policy, URI, NOW)
            .unwrap(),
    );
    check_vector_token(
        &UnverifiedStatusListCwt::parse(&cwt)
            .unwrap()
            .verify(&public_key(), &policy, URI, NOW)
            .unwrap(),
    );
    // Our CWT's claims set is byte-identical to the vector's (same claims, same order), since
    // DEFLATE of this tiny list is the same as the spec's.
    let ours = CoseSign1::from_tagged_slice(&cwt).unwrap();
    let theirs = CoseSign1::from_tagged_slice(&hex(&read("status_list_token.cwt.hex"))).unwrap();
    assert_eq!(ours.payload, theirs.payload);
}
