//! The Status List itself (draft-ietf-oauth-status-list §4): ZLIB-compressed `lst` under the
//! decompression limit, its JSON (§4.2) and CBOR (§4.3) forms, and the Referenced Token's
//! `status` claim (§6.2, §6.3).
#![no_main]

use eudi_status_list::Bits;
use eudi_status_list::Limits;
use eudi_status_list::StatusList;
use eudi_status_list::StatusReference;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A smaller inflation limit than the default 16 MiB: the same limit logic, and the
    // fuzzer spends its time on the decoder rather than on inflating megabytes of zeros.
    let mut limits = Limits::default();
    limits.max_decompressed_bytes = 64 * 1024;
    for bits in [Bits::One, Bits::Two, Bits::Four, Bits::Eight] {
        if let Ok(list) = StatusList::decompress(bits, data, &limits) {
            let _ = list.status(0);
            let _ = list.status(list.len().saturating_sub(1));
            let _ = list.status(list.len());
        }
    }
    if let Some(text) = eudi_fuzz::text(data) {
        let _ = StatusList::from_json_str(text, &limits);
        if let Ok(serde_json::Value::Object(claims)) = serde_json::from_str(text) {
            let _ = StatusReference::from_jwt_claims(&claims);
        }
    }
    let _ = StatusList::from_cbor(data, &limits);
    let _ = StatusReference::from_cwt_claims_bytes(data);
});
