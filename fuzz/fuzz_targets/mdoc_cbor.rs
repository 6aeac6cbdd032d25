//! The one bounded CBOR decoder (`eudi-cbor`, RFC 8949 with the ISO/IEC 18013-5 limits) on its
//! own (indefinite and definite-only modes, and to a value with duplicate keys refused), and
//! through the mdoc entry points that decode arbitrary CBOR first: a received SessionTranscript
//! (bare and `#6.24` tagged) and the base64url/hex text decoding of command-line input.
#![no_main]

use eudi_mdoc::SessionTranscript;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = eudi_cbor::decode(data, &mut eudi_cbor::Budget::new());
    let _ = eudi_cbor::decode_definite(data, &mut eudi_cbor::Budget::new());
    let _ = eudi_cbor::decode_value(data, 4096);
    if let Ok(transcript) = SessionTranscript::from_cbor(data)
        && transcript.as_cbor() != data
    {
        panic!("a SessionTranscript does not keep the bytes it was decoded from");
    }
    let _ = SessionTranscript::from_tagged_bytes(data);
    if let Some(text) = eudi_fuzz::text(data) {
        let _ = eudi_mdoc::decode_text(text);
    }
});
