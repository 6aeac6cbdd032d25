//! JWK Sets and JWT VC Issuer Metadata (RFC 7517 §4-5, RFC 7638, SD-JWT VC §4): what an issuer's
//! or a MitID broker's `jwks_uri` returns, turned into verifying keys.
#![no_main]

use eudi_sdjwt::vc::JwtVcIssuerMetadata;
use eudi_sdjwt::vc::{self};
use eudi_trust::jwk::Jwk;
use eudi_trust::jwk::JwkSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(jwk) = serde_json::from_slice::<Jwk>(data) {
        let _ = jwk.algorithm();
        let _ = jwk.to_verifying_key();
        let _ = jwk.thumbprint();
        let _ = jwk.as_public_ref().to_verifying_key();
    }
    if let Ok(set) = serde_json::from_slice::<JwkSet>(data) {
        for jwk in &set.keys {
            if let Ok(key) = jwk.to_verifying_key() {
                let _ = key.to_jwk();
            }
        }
        let _ = vc::select_from_jwks(&set, None);
        let _ = vc::select_from_jwks(&set, Some("k1"));
    }
    if let Ok(metadata) = serde_json::from_slice::<JwtVcIssuerMetadata>(data)
        && let Some(jwks) = &metadata.jwks
    {
        let _ = metadata.select_key("https://issuer.example", None, jwks);
    }
});
