//! SD-JWT verification up to and including the issuer signature (RFC 9901 §7.1, SD-JWT VC §3):
//! header decoding, `typ`, `alg`, `crit`, the key resolver's view of the payload, the
//! signature check against a trusted key.
#![no_main]

use eudi_sdjwt::SdJwt;
use eudi_sdjwt::vc;
use eudi_sdjwt::verifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = eudi_fuzz::text(data) else {
        return;
    };
    let Ok(sd) = SdJwt::parse(text) else {
        return;
    };
    let options = verifier::VerifyOptions::new(eudi_fuzz::NOW);
    let mut resolve = |_: &eudi_trust::jws::Header,
                       _: &serde_json::Map<String, serde_json::Value>| {
        Ok(eudi_fuzz::issuer_public().clone())
    };
    let _ = verifier::verify(&sd, &mut resolve, &options);
    let _ = vc::verify(&sd, &mut resolve, &options);
});
