//! Unpadded base64url (RFC 4648 §5), the only base64 flavour JOSE uses.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the unpadded base64url form of `bytes` to `out`.
pub fn encode_into(bytes: impl AsRef<[u8]>, out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Appends the unpadded base64url form of `bytes` to a byte buffer.
pub fn encode_into_vec(bytes: impl AsRef<[u8]>, out: &mut Vec<u8>) {
    let bytes = bytes.as_ref();
    let start = out.len();
    out.resize(
        start + base64::encoded_len(bytes.len(), false).unwrap_or(0),
        0,
    );
    let written = URL_SAFE_NO_PAD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
}

/// Writes the unpadded base64url form of `bytes` into `out`, returning the length written
/// (0 if `out` is too small).
pub fn encode_to_slice(bytes: impl AsRef<[u8]>, out: &mut [u8]) -> usize {
    URL_SAFE_NO_PAD.encode_slice(bytes, out).unwrap_or(0)
}

/// Decodes unpadded base64url. Padding and the standard alphabet are rejected, as JOSE requires.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text)
}

/// Encodes bytes as standard, padded base64: the form of JWS `x5c` entries (RFC 7515 §4.1.6).
pub fn encode_std(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard, padded base64 (`x5c` entries).
pub fn decode_std(text: impl AsRef<[u8]>) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        assert_eq!(encode(b"\xfb\xff"), "-_8");
        assert_eq!(decode("-_8").unwrap(), b"\xfb\xff");
        let mut v = b"x".to_vec();
        encode_into_vec(b"\xfb\xff", &mut v);
        assert_eq!(v, b"x-_8");
        assert!(decode("+/8").is_err(), "standard alphabet must be rejected");
        assert!(decode("-_8=").is_err(), "padding must be rejected");
        // RFC 4648 §10 vectors for the standard alphabet.
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode_std(input), want);
            assert_eq!(decode_std(want).unwrap(), input.as_bytes());
        }
        assert_eq!(encode_std([0xfb, 0xff]), "+/8=");
        assert!(decode_std("-_8").is_err());
    }
}
