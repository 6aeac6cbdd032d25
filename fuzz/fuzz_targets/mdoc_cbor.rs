//! The mdoc CBOR decoder (RFC 8949 with the ISO/IEC 18013-5 limits) on its own, through the
//! entry points that decode arbitrary CBOR first: a received SessionTranscript (bare and
//! `#6.24` tagged) and the base64url/hex text decoding of command-line input.
//!
//! When the decoder moves to `eudi-cbor`, retarget this at its `decode` function.
#![no_main]

use eudi_mdoc::SessionTranscript;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
