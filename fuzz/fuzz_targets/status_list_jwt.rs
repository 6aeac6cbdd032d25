//! Status List Token, JWT form (draft-ietf-oauth-status-list §5.1, §8.3).
//!
//! First byte even: the rest is the token as fetched. Odd: the rest is the token *payload*,
//! signed here with the trusted key and `typ` `statuslist+jwt`, so the fuzzer reaches the
//! claims (`sub`, `iat`, `exp`, `ttl`), the `status_list` object and the ZLIB inflation.
#![no_main]

use eudi_status_list::UnverifiedStatusListJwt;
use eudi_trust::AlgorithmPolicy;
use libfuzzer_sys::fuzz_target;

const URI: &str = "https://example.com/statuslists/1";

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode % 2 == 0 {
        let Some(text) = eudi_fuzz::text(rest) else {
            return;
        };
        text.to_owned()
    } else {
        eudi_fuzz::sign_jws(
            r#"{"alg":"ES256","typ":"statuslist+jwt"}"#,
            rest,
            eudi_fuzz::issuer_key(),
        )
    };
    let Ok(parsed) = UnverifiedStatusListJwt::parse(&token) else {
        return;
    };
    let _ = parsed.header();
    let verified = parsed.verify(
        eudi_fuzz::issuer_public(),
        &AlgorithmPolicy::default(),
        URI,
        eudi_fuzz::NOW,
    );
    eudi_fuzz::debug(&verified.as_ref().map(|list| list.uri().to_owned()));
    if let Ok(list) = verified {
        let _ = list.status_at(0);
        let _ = list.status_at(u64::MAX);
        let _ = list.ttl();
    }
});
