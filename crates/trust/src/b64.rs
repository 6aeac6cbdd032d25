//! Unpadded base64url (RFC 4648 §5), the only base64 flavour JOSE uses.
//!
//! Encoding is on the hot path of issuing SD-JWTs, so it is done here with a table of character
//! pairs (one lookup per 12 input bits), which is faster than the `base64` crate's engine.
//! Decoding and the standard alphabet (`x5c`) use the `base64` crate.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// The base64url alphabet (RFC 4648 §5, table 2).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The two characters encoding each 12-bit value, first character in the low byte
/// (8 KiB, built at compile time).
static PAIRS: [u16; 4096] = pairs();

const fn pairs() -> [u16; 4096] {
    let mut table = [0; 4096];
    let mut i = 0;
    while i < table.len() {
        table[i] = u16::from_le_bytes([ALPHABET[i >> 6], ALPHABET[i & 63]]);
        i += 1;
    }
    table
}

/// The characters for the low 12 bits of `bits`.
#[inline(always)]
fn pair(bits: u64) -> [u8; 2] {
    // The mask keeps the index below 4096, so the compiler drops the bounds check.
    PAIRS[(bits & 0xfff) as usize].to_le_bytes()
}

/// Writes the eight characters for the low 48 bits of `bits`. Pair by pair: four 2-byte
/// stores measured faster than assembling one 8-byte store with shifts.
#[inline(always)]
fn put48(bits: u64, out: &mut [u8; 8]) {
    if let ([p0, p1, p2, p3], []) = out.as_chunks_mut::<2>() {
        *p0 = pair(bits >> 36);
        *p1 = pair(bits >> 24);
        *p2 = pair(bits >> 12);
        *p3 = pair(bits);
    }
}

/// The big-endian `u64` at byte `AT` of a 24-byte block.
#[inline(always)]
fn be64_at<const AT: usize>(block: &[u8; 24]) -> u64 {
    const { assert!(AT + 8 <= 24) };
    // Always `Some` (checked above); the compiler folds the `Option` away.
    block
        .get(AT..)
        .and_then(<[u8]>::first_chunk::<8>)
        .map_or(0, |word| u64::from_be_bytes(*word))
}

/// Length of the unpadded encoding of `n` bytes. Cannot overflow for a slice length
/// (at most `isize::MAX`).
pub const fn encoded_len(n: usize) -> usize {
    n / 3 * 4 + (n % 3 * 4).div_ceil(3)
}

/// Encodes `input` into `out`, which must be exactly `encoded_len(input.len())` bytes long
/// (every caller slices it so; a wrong length gives wrong output, never a panic).
fn encode_exact(input: &[u8], out: &mut [u8]) {
    // 24 input bytes -> 32 characters, the input read as four 8-byte words (bytes 0, 6, 12
    // and 16; the last word's top 16 bits repeat bytes 16..18). Then the tail: 6-byte groups,
    // at most one 3-byte group, and 1 or 2 last bytes. At each step the output left over is
    // exactly the encoding of the input left over.
    let (blocks, rest) = input.as_chunks::<24>();
    let (out_blocks, out_rest) = out.as_chunks_mut::<32>();
    for (block, out) in blocks.iter().zip(out_blocks) {
        let words = [
            be64_at::<0>(block) >> 16,
            be64_at::<6>(block) >> 16,
            be64_at::<12>(block) >> 16,
            be64_at::<16>(block),
        ];
        for (&word, out) in words.iter().zip(out.as_chunks_mut::<8>().0) {
            put48(word, out);
        }
    }

    let (sixes, rest) = rest.as_chunks::<6>();
    let (out_sixes, out_rest) = out_rest.as_chunks_mut::<8>();
    for (&[b0, b1, b2, b3, b4, b5], out) in sixes.iter().zip(out_sixes) {
        put48(u64::from_be_bytes([0, 0, b0, b1, b2, b3, b4, b5]), out);
    }

    let (threes, rest) = rest.as_chunks::<3>();
    let (out_threes, out_rest) = out_rest.as_chunks_mut::<4>();
    for (&[b0, b1, b2], out) in threes.iter().zip(out_threes) {
        let bits = u64::from(b0) << 16 | u64::from(b1) << 8 | u64::from(b2);
        if let ([p0, p1], []) = out.as_chunks_mut::<2>() {
            *p0 = pair(bits >> 12);
            *p1 = pair(bits);
        }
    }

    match (rest, out_rest) {
        (&[b0], [c0, c1]) => [*c0, *c1] = pair(u64::from(b0) << 4),
        (&[b0, b1], [c0, c1, c2]) => {
            let bits = u64::from(b0) << 8 | u64::from(b1);
            [*c0, *c1] = pair(bits >> 4);
            [*c2, _] = pair(bits << 8);
        }
        _ => {}
    }
}

/// Appends base64url characters to `out`. They are ASCII, so the check cannot fail.
fn push_ascii(out: &mut String, chars: &[u8]) {
    if let Ok(chars) = std::str::from_utf8(chars) {
        out.push_str(chars);
    }
}

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    // Growing an empty `Vec` measured a little faster than `vec![0; len]` (calloc) for short inputs.
    let mut out = Vec::new();
    encode_into_vec(bytes, &mut out);
    // Base64url characters are ASCII, so this never falls back. The UTF-8 check is what
    // `unsafe` would save: about 60 ns of 400 for 2200 input bytes, as measured.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Appends the unpadded base64url form of `bytes` to `out`.
pub fn encode_into(bytes: impl AsRef<[u8]>, out: &mut String) {
    // A `String` cannot be written as bytes without `unsafe`: encode through a stack buffer,
    // a multiple of 3 bytes at a time so the pieces concatenate.
    const CHUNK: usize = 768;
    let bytes = bytes.as_ref();
    out.reserve(encoded_len(bytes.len()));
    let mut buf = [0; encoded_len(CHUNK)];
    for chunk in bytes.chunks(CHUNK) {
        if let Some(buf) = buf.get_mut(..encoded_len(chunk.len())) {
            encode_exact(chunk, buf);
            push_ascii(out, buf);
        }
    }
}

/// Appends the unpadded base64url form of `bytes` to a byte buffer.
pub fn encode_into_vec(bytes: impl AsRef<[u8]>, out: &mut Vec<u8>) {
    let bytes = bytes.as_ref();
    let start = out.len();
    out.resize(start + encoded_len(bytes.len()), 0);
    if let Some(tail) = out.get_mut(start..) {
        encode_exact(bytes, tail);
    }
}

/// Writes the unpadded base64url form of `bytes` into `out`, returning the length written
/// (0 if `out` is too small).
pub fn encode_to_slice(bytes: impl AsRef<[u8]>, out: &mut [u8]) -> usize {
    let bytes = bytes.as_ref();
    let len = encoded_len(bytes.len());
    match out.get_mut(..len) {
        Some(out) => {
            encode_exact(bytes, out);
            len
        }
        None => 0,
    }
}

/// Decodes unpadded base64url. Padding and the standard alphabet are rejected, as JOSE requires.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text)
}

/// Decodes unpadded base64url into `out`, returning the number of bytes written; an error if the
/// text is not strict base64url or `out` is too small.
pub fn decode_to_slice(
    text: impl AsRef<[u8]>,
    out: &mut [u8],
) -> Result<usize, base64::DecodeSliceError> {
    URL_SAFE_NO_PAD.decode_slice(text, out)
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

    /// Pseudo-random bytes (xorshift64).
    fn noise(len: usize, mut state: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    /// Every encoder of this module, checked against the `base64` crate.
    fn check(input: &[u8]) {
        let want = URL_SAFE_NO_PAD.encode(input);
        assert_eq!(encode(input), want, "encode, {} bytes", input.len());
        assert_eq!(encoded_len(input.len()), want.len());

        let mut s = String::from("prefix.");
        encode_into(input, &mut s);
        assert_eq!(
            s,
            format!("prefix.{want}"),
            "encode_into, {} bytes",
            input.len()
        );

        let mut v = b"prefix.".to_vec();
        encode_into_vec(input, &mut v);
        assert_eq!(v, format!("prefix.{want}").as_bytes(), "encode_into_vec");

        let mut buf = vec![b'#'; want.len() + 5];
        assert_eq!(encode_to_slice(input, &mut buf), want.len());
        assert_eq!(&buf[..want.len()], want.as_bytes(), "encode_to_slice");
        assert!(
            buf[want.len()..].iter().all(|&b| b == b'#'),
            "wrote past the end"
        );
        assert_eq!(decode(&want).unwrap(), input);
    }

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

    #[test]
    fn rfc4648_vectors_unpadded() {
        // RFC 4648 §10; these inputs encode identically in both alphabets, padding removed.
        for (input, want) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(input), want);
            check(input.as_bytes());
        }
    }

    #[test]
    fn every_length_matches_the_base64_crate() {
        for len in 0..=64 {
            for seed in [1, 0x9e37_79b9_7f4a_7c15, 0xdead_beef] {
                check(&noise(len, seed));
            }
            check(&vec![0x00; len]);
            check(&vec![0xff; len]);
        }
        // Lengths around the 768-byte pieces of `encode_into` and a few large ones.
        for len in [767, 768, 769, 1250, 1536, 1537, 2200, 4099] {
            check(&noise(len, len as u64));
        }
    }

    #[test]
    fn all_byte_values() {
        let all: Vec<u8> = (0..=255).collect();
        check(&all);
        let reversed: Vec<u8> = all.iter().rev().copied().collect();
        check(&reversed);
        for b in 0..=255u8 {
            check(&[b]);
            check(&[b, b ^ 0x5a]);
            check(&[0xa5, b, !b]);
        }
        // Every character of the alphabet, in order.
        let alphabet = decode(ALPHABET).unwrap();
        assert_eq!(encode(&alphabet).as_bytes(), ALPHABET);
    }

    #[test]
    fn encode_to_slice_too_small_writes_nothing() {
        let input = noise(32, 7);
        let want = encode(&input);
        assert_eq!(want.len(), 43);
        let mut buf = [b'#'; 42];
        assert_eq!(encode_to_slice(&input, &mut buf), 0);
        assert!(buf.iter().all(|&b| b == b'#'));
        assert_eq!(encode_to_slice(&input, &mut []), 0);
        let mut exact = [0; 43];
        assert_eq!(encode_to_slice(&input, &mut exact), 43);
        assert_eq!(&exact[..], want.as_bytes());
        assert_eq!(encode_to_slice([], &mut []), 0);
    }

    #[test]
    fn encode_into_vec_appends() {
        let mut v = b"header.".to_vec();
        encode_into_vec(b"foob", &mut v);
        encode_into_vec([], &mut v);
        v.push(b'.');
        encode_into_vec(b"\xfb\xff", &mut v);
        assert_eq!(v, b"header.Zm9vYg.-_8");

        let mut s = String::from("a.");
        encode_into(b"fooba", &mut s);
        assert_eq!(s, "a.Zm9vYmE");
    }
}
