//! SD-JWT parsing (RFC 9901 §4, §8): compact `~` form and JWS JSON (flattened and general),
//! then everything a holder does with an unverified SD-JWT it received.
#![no_main]

use eudi_sdjwt::SdJwt;
use eudi_sdjwt::holder;
use eudi_sdjwt::verifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = eudi_fuzz::text(data) else {
        return;
    };
    let Ok(sd) = SdJwt::parse(text) else {
        return;
    };
    // Re-serialising what was parsed must work and parse again (a parsed SD-JWT's layout is
    // checked when it is built, so serializing it never fails).
    match sd.serialize() {
        Ok(text) if SdJwt::parse(&text).is_ok() => {}
        Ok(_) => panic!("a parsed SD-JWT does not re-parse from its own serialization"),
        Err(e) => panic!("a parsed SD-JWT cannot be serialized: {e}"),
    }
    let _ = sd.to_json();
    let _ = sd.to_compact();
    let _ = verifier::issuer_headers(&sd);
    let _ = verifier::unverified_payload(&sd);
    let _ = holder::disclosable_claims(&sd);
    let _ = sd.sd_hash(eudi_sdjwt::SdAlg::Sha256);
});
