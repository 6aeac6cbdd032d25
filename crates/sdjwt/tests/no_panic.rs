//! No input makes the SD-JWT parser, processor or verifier panic. Random strings, random
//! mutations of a valid presentation, and structurally hostile payloads.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use eudi_bench::block_on;
use eudi_sdjwt::ClaimPath;
use eudi_sdjwt::SdJwt;
use eudi_sdjwt::holder::KeyBindingParams;
use eudi_sdjwt::holder::{self};
use eudi_sdjwt::vc;
use eudi_sdjwt::verifier::VerifyOptions;
use eudi_sdjwt::verifier::{self};
use eudi_trust::Algorithm;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::b64;
use proptest::prelude::*;
use serde_json::json;

fn run_everything(input: &str, key: &eudi_trust::VerifyingKey) {
    if let Ok(sd) = SdJwt::parse(input) {
        let _ = verifier::verify(
            &sd,
            &mut |_, _| Ok(key.clone()),
            &VerifyOptions::new(1_700_000_100),
        );
        let _ = vc::verify(
            &sd,
            &mut |_, _| Ok(key.clone()),
            &VerifyOptions::new(1_700_000_100),
        );
        let _ = holder::disclosable_claims(&sd);
        let _ = holder::select(&sd, &[ClaimPath::keys(["a"])]);
        let _ = sd.serialize().unwrap();
    }
}

fn valid_presentation() -> (String, SoftwareKey) {
    let issuer = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let holder_key = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let claims = json!({"a": {"b": [1, {"c": "d"}]}, "e": "f"});
    let sd = vc::builder(
        "urn:x",
        "https://i.example",
        1_700_000_000,
        claims.as_object().unwrap().clone(),
    )
    .holder_key(&holder_key.verifying_key().to_jwk())
    .unwrap()
    .sign(&issuer);
    let sd = block_on(sd).unwrap();
    let params = KeyBindingParams {
        audience: "a".into(),
        nonce: "n".into(),
        iat: 1_700_000_050,
    };
    let p = block_on(holder::add_key_binding(sd, &holder_key, &params)).unwrap();
    (p.to_compact().unwrap(), issuer)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings(input in ".{0,400}") {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        run_everything(&input, key.verifying_key());
    }

    #[test]
    fn tilde_and_dot_shaped_strings(input in "[A-Za-z0-9_~.{}\\[\\]\",:-]{0,300}") {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        run_everything(&input, key.verifying_key());
    }

    #[test]
    fn mutated_valid_presentations(pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let (p, issuer) = valid_presentation();
        let mut bytes = p.into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        run_everything(&mutated, issuer.verifying_key());
        let truncated: String = mutated.chars().take(cut.index(mutated.len() + 1)).collect();
        run_everything(&truncated, issuer.verifying_key());
    }

    /// Signed payloads of arbitrary JSON: the signature is good, so processing itself is fuzzed.
    #[test]
    fn signed_hostile_payloads(payload in arb_json(), disclosures in prop::collection::vec(arb_json(), 0..6)) {
        let issuer = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let jwt = block_on(eudi_trust::jws::sign_compact(
            &eudi_trust::jws::Header::new(Algorithm::Es256, Some("dc+sd-jwt")),
            payload.to_string().as_bytes(),
            &issuer,
        )).unwrap();
        let mut s = jwt;
        s.push('~');
        for d in disclosures {
            s.push_str(&b64::encode(d.to_string()));
            s.push('~');
        }
        run_everything(&s, issuer.verifying_key());
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("_sd".to_owned()),
            Just("...".to_owned()),
            Just("_sd_alg".to_owned()),
            "[a-c]{1,2}"
        ]
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("_sd".to_owned()),
                    Just("...".to_owned()),
                    Just("_sd_alg".to_owned()),
                    "[a-c]{1,2}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
