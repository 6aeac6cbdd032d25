//! Key Binding JWT verification (RFC 9901 §7.3) on a genuine SD-JWT VC bound to the holder key.
//!
//! First byte even: the rest is the KB-JWT as presented (header, signature and all). Odd: the
//! rest is the KB-JWT *payload*, signed here by the holder key with `typ` `kb+jwt`, so the
//! fuzzer reaches the `nonce`, `aud`, `iat` and `sd_hash` checks. In that payload the text
//! `@sd_hash@` is replaced by the correct `sd_hash` (the issued SD-JWT's salts differ per run,
//! so a seed cannot carry it).
#![no_main]

use eudi_sdjwt::SdAlg;
use eudi_sdjwt::SdJwt;
use eudi_sdjwt::verifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let issued = eudi_fuzz::issued_sd_jwt();
    let kb = if mode % 2 == 0 {
        let Some(text) = eudi_fuzz::text(rest) else {
            return;
        };
        text.to_owned()
    } else {
        let sd_hash = SdAlg::Sha256.digest_b64(issued.as_bytes());
        let payload = eudi_fuzz::replace(rest, b"@sd_hash@", sd_hash.as_bytes());
        eudi_fuzz::sign_jws(
            r#"{"alg":"ES256","typ":"kb+jwt"}"#,
            &payload,
            eudi_fuzz::holder_key(),
        )
    };
    let presentation = format!("{issued}{kb}");
    let Ok(sd) = SdJwt::parse(&presentation) else {
        return;
    };
    let mut options = verifier::VerifyOptions::new(eudi_fuzz::NOW);
    options.key_binding = verifier::KeyBindingPolicy::required("https://verifier.example", "n-1");
    let mut resolve = |_: &eudi_trust::jws::Header,
                       _: &serde_json::Map<String, serde_json::Value>| {
        Ok(eudi_fuzz::issuer_public().clone())
    };
    let verified = verifier::verify(&sd, &mut resolve, &options);
    eudi_fuzz::debug(&verified.as_ref().map(|v| v.key_binding()));
});
