//! What comes after the issuer signature: the fuzzer's bytes are the Issuer-signed JWT payload,
//! signed here with the trusted key, followed by its disclosures (and KB-JWT): `_sd`, `...`,
//! `_sd_alg` processing, disclosure decoding, digests, SD-JWT VC rules (RFC 9901 §7.1 steps
//! 3-5, SD-JWT VC §3).
//!
//! Input: `PAYLOAD \0 TILDE-SEPARATED-REST`; without a `\0` all of it is the payload.
#![no_main]

use eudi_sdjwt::SdJwt;
use eudi_sdjwt::vc;
use eudi_sdjwt::verifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (payload, rest) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Some(rest) = eudi_fuzz::text(rest) else {
        return;
    };
    let jwt = eudi_fuzz::sign_jws(
        r#"{"alg":"ES256","typ":"dc+sd-jwt"}"#,
        payload,
        eudi_fuzz::issuer_key(),
    );
    let compact = if rest.is_empty() {
        format!("{jwt}~")
    } else {
        format!("{jwt}~{rest}")
    };
    let Ok(sd) = SdJwt::parse(&compact) else {
        return;
    };
    let options = verifier::VerifyOptions::new(eudi_fuzz::NOW);
    let mut resolve = |_: &eudi_trust::jws::Header,
                       _: &serde_json::Map<String, serde_json::Value>| {
        Ok(eudi_fuzz::issuer_public().clone())
    };
    let verified = vc::verify(&sd, &mut resolve, &options);
    eudi_fuzz::debug(&verified.as_ref().map(|v| v.user_claims()));
    if let Ok(verified) = verified {
        let _ = verified.user_claims();
    }
    let _ = verifier::verify(&sd, &mut resolve, &options);
    let _ = eudi_sdjwt::holder::disclosable_claims(&sd);
});
