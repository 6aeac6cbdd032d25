//! Status List Token, CWT form (draft-ietf-oauth-status-list §5.2): COSE_Sign1 tag 18, the
//! protected type, `kid` / `x5chain`, claims 2/4/5/6/65533, as far as the signature lets it.
#![no_main]

use eudi_status_list::UnverifiedStatusListCwt;
use eudi_trust::AlgorithmPolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = UnverifiedStatusListCwt::parse(data) else {
        return;
    };
    let _ = (parsed.kid(), parsed.x5chain(), parsed.algorithm());
    let _ = parsed.verify(
        eudi_fuzz::issuer_public(),
        &AlgorithmPolicy::default(),
        "https://example.com/statuslists/1",
        eudi_fuzz::NOW,
    );
});
