//! mdoc DeviceResponse (ISO/IEC 18013-5 §8.3.2.1.2.2): decoding, re-encoding, and verification
//! with a directly trusted issuer key and a session transcript (issuerAuth, MSO, digests, device
//! authentication) as far as the signatures let it.
#![no_main]

use eudi_mdoc::DeviceResponse;
use eudi_mdoc::IssuerTrust;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::VerifyOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(response) = DeviceResponse::from_bytes(data) else {
        if let Some(text) = eudi_fuzz::text(data) {
            let _ = DeviceResponse::from_text(text);
        }
        return;
    };
    let _ = DeviceResponse::from_bytes(&response.to_bytes());
    for document in response.documents() {
        let _ = document.doc_type();
        let _ = document.issuer_signed().namespaces().count();
        if let Some(signed) = document.device_signed() {
            let _ = signed.namespaces();
            let _ = signed.auth_method();
        }
    }
    let transcript = SessionTranscript::openid4vp(
        "x509_san_dns:verifier.example",
        "n-1",
        None,
        "https://verifier.example/response",
    );
    let keys = [eudi_fuzz::issuer_public().clone()];
    let options = VerifyOptions::new(eudi_fuzz::NOW).session_transcript(&transcript);
    let _ = response.verify(IssuerTrust::Keys(&keys), &options);
});
