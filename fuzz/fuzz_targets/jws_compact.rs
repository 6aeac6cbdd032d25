//! Compact JWS (RFC 7515 §7.1): the three parts, the protected header (`alg`, `typ`, `kid`,
//! `x5c`, `jwk`, `crit`), the payload as JSON, the signature check.
#![no_main]

use eudi_trust::AlgorithmPolicy;
use eudi_trust::jws::CompactJws;
use eudi_trust::jws::Header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Header>(data);
    let Some(text) = eudi_fuzz::text(data) else {
        return;
    };
    let Ok(jws) = CompactJws::parse(text) else {
        return;
    };
    let header = jws.header();
    let _ = header.algorithm();
    let _ = header.require_typ(&["JWT", "dc+sd-jwt"]);
    if let Some(jwk) = &header.jwk {
        let _ = jwk.to_verifying_key();
        let _ = jwk.thumbprint();
    }
    let _ = jws.payload_json();
    let _ = jws.verify(eudi_fuzz::issuer_public(), &AlgorithmPolicy::default());
});
