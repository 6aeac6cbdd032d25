//! Unpadded base64url (RFC 4648 §5), the only base64 flavour JOSE uses.
//!
//! Encoding is on the hot path of issuing SD-JWTs, so it is done here with a table of character
//! pairs (one lookup per 12 input bits), which is faster than the `base64` crate's engine.
//! Decoding is on the hot path of verifying them, so it is done here too, with tables of
//! pre-shifted 6-bit values; it accepts and rejects exactly what the `base64` crate's
//! `URL_SAFE_NO_PAD` engine does. The standard alphabet (`x5c`) uses the `base64` crate.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

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

/// Marks a byte outside the alphabet in [`DECODE`]: set bits above the 24 of a 4-character group,
/// so that the OR of any number of lookups shows it.
const INVALID: u32 = 0xff00_0000;

/// `DECODE[k][c]`: the 6-bit value of character `c` shifted to its place (`18 - 6k`) in the 24 bits
/// of a 4-character group, or [`INVALID`]. One lookup per character and no shifts; only the 78
/// entries from `-` to `z` of each table are ever warm (4 KiB, built at compile time).
static DECODE: [[u32; 256]; 4] = decode_tables();

const fn decode_tables() -> [[u32; 256]; 4] {
    let mut tables = [[INVALID; 256]; 4];
    let mut k = 0;
    while k < 4 {
        let mut v = 0;
        while v < 64 {
            tables[k][ALPHABET[v] as usize] = (v as u32) << (18 - 6 * k);
            v += 1;
        }
        k += 1;
    }
    tables
}

/// The 24 bits of four characters, or a value with bits of [`INVALID`] set.
#[inline(always)]
fn decode4(&[c0, c1, c2, c3]: &[u8; 4]) -> u32 {
    let [t0, t1, t2, t3] = &DECODE;
    t0[usize::from(c0)] | t1[usize::from(c1)] | t2[usize::from(c2)] | t3[usize::from(c3)]
}

/// Length of the bytes decoded from `n` characters (`n % 4 == 1` is invalid and gives the
/// length of the first `n - 1`).
const fn decoded_len(n: usize) -> usize {
    n / 4 * 3 + n % 4 * 3 / 4
}

/// The error for text that failed a check: the first byte outside the alphabet, or else the
/// length (only reached for a length of `4k + 1`).
fn invalid(text: &[u8]) -> base64::DecodeError {
    match text
        .iter()
        .enumerate()
        .find(|&(_, &c)| DECODE[3][usize::from(c)] == INVALID)
    {
        Some((i, &c)) => base64::DecodeError::InvalidByte(i, c),
        None => base64::DecodeError::InvalidLength(text.len()),
    }
}

/// Decodes `text` into `out`, which must be exactly `decoded_len(text.len())` bytes long, and
/// `text.len() % 4 != 1` (every caller checks so; otherwise an error, never a panic). On error
/// `out` holds garbage.
fn decode_exact(text: &[u8], out: &mut [u8]) -> Result<(), base64::DecodeError> {
    // 8 characters -> 6 bytes, then at most one group of 4 -> 3, then 2 or 3 last characters.
    // Bytes outside the alphabet are found once, at the end, from the OR of every lookup.
    let mut seen = 0;
    let (blocks, rest) = text.as_chunks::<8>();
    let (out_blocks, out_rest) = out.as_chunks_mut::<6>();
    for (&[c0, c1, c2, c3, c4, c5, c6, c7], out) in blocks.iter().zip(out_blocks) {
        let (hi, lo) = (decode4(&[c0, c1, c2, c3]), decode4(&[c4, c5, c6, c7]));
        seen |= hi | lo;
        let [_, _, bytes @ ..] = (u64::from(hi) << 24 | u64::from(lo)).to_be_bytes();
        *out = bytes;
    }

    let (quads, rest) = rest.as_chunks::<4>();
    let (out_quads, out_rest) = out_rest.as_chunks_mut::<3>();
    for (quad, out) in quads.iter().zip(out_quads) {
        let bits = decode4(quad);
        seen |= bits;
        let [_, bytes @ ..] = bits.to_be_bytes();
        *out = bytes;
    }

    // The last 2 or 3 characters carry 1 or 2 bytes; the low bits of the last one must be zero.
    let trailing = match (rest, out_rest) {
        ([], []) => 0,
        (&[c0, c1], [b0]) => {
            let bits = decode4(&[c0, c1, b'A', b'A']);
            seen |= bits;
            [_, *b0, _, _] = bits.to_be_bytes();
            bits & 0xffff
        }
        (&[c0, c1, c2], [b0, b1]) => {
            let bits = decode4(&[c0, c1, c2, b'A']);
            seen |= bits;
            [_, *b0, *b1, _] = bits.to_be_bytes();
            bits & 0xff
        }
        _ => return Err(invalid(text)),
    };
    if seen & INVALID != 0 {
        return Err(invalid(text));
    }
    match text.split_last() {
        Some((&last, _)) if trailing != 0 => {
            Err(base64::DecodeError::InvalidLastSymbol(text.len() - 1, last))
        }
        _ => Ok(()),
    }
}

/// Decodes unpadded base64url. Padding, the standard alphabet, whitespace, a length of `4k + 1`
/// and non-zero unused bits in the last character are rejected, as JOSE requires.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, base64::DecodeError> {
    // `Vec::new` + `resize` (malloc and an inline memset) measured faster than `vec![0; len]`
    // (calloc) for these sizes.
    let mut out = Vec::new();
    decode_into_vec(text, &mut out)?;
    Ok(out)
}

/// Appends the bytes decoded from unpadded base64url `text` to `out`; on error `out` keeps its
/// contents.
pub fn decode_into_vec(
    text: impl AsRef<[u8]>,
    out: &mut Vec<u8>,
) -> Result<(), base64::DecodeError> {
    let text = text.as_ref();
    if text.len() % 4 == 1 {
        return Err(invalid(text));
    }
    let start = out.len();
    out.resize(start + decoded_len(text.len()), 0);
    let result = match out.get_mut(start..) {
        Some(tail) => decode_exact(text, tail),
        None => Err(invalid(text)),
    };
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Decodes unpadded base64url into `out`, returning the number of bytes written; an error if the
/// text is not strict base64url (as for [`decode`]) or `out` is too small. On error `out` may
/// have been written to.
pub fn decode_to_slice(
    text: impl AsRef<[u8]>,
    out: &mut [u8],
) -> Result<usize, base64::DecodeSliceError> {
    let text = text.as_ref();
    if text.len() % 4 == 1 {
        return Err(invalid(text).into());
    }
    let len = decoded_len(text.len());
    let out = out
        .get_mut(..len)
        .ok_or(base64::DecodeSliceError::OutputSliceTooSmall)?;
    decode_exact(text, out)?;
    Ok(len)
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
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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

    /// Every decoder of this module against the `base64` crate on `text`: the same accept/reject
    /// and, when both accept, the same bytes.
    fn agree(text: &[u8]) {
        let shown = String::from_utf8_lossy(text);
        let want = URL_SAFE_NO_PAD.decode(text).ok();
        assert_eq!(decode(text).ok(), want, "decode {shown:?}");

        let mut v = b"prefix".to_vec();
        let result = decode_into_vec(text, &mut v);
        assert_eq!(result.is_ok(), want.is_some(), "decode_into_vec {shown:?}");
        let mut expected = b"prefix".to_vec();
        expected.extend(want.iter().flatten());
        assert_eq!(v, expected, "decode_into_vec {shown:?}");

        // A roomy buffer, the exact size, and one byte short.
        let mut buf = vec![b'#'; text.len() + 3];
        let n = decode_to_slice(text, &mut buf).ok();
        assert_eq!(n, want.as_ref().map(Vec::len), "decode_to_slice {shown:?}");
        if let Some(want) = &want {
            assert_eq!(&buf[..want.len()], want, "decode_to_slice {shown:?}");
            assert!(
                buf[want.len()..].iter().all(|&b| b == b'#'),
                "wrote past the end"
            );
            let mut exact = vec![0; want.len()];
            assert_eq!(decode_to_slice(text, &mut exact).ok(), Some(want.len()));
            assert_eq!(&exact, want);
            if let Some(short) = want.len().checked_sub(1) {
                let mut short = vec![0; short];
                assert!(matches!(
                    decode_to_slice(text, &mut short),
                    Err(base64::DecodeSliceError::OutputSliceTooSmall)
                ));
                assert!(URL_SAFE_NO_PAD.decode_slice(text, &mut short).is_err());
            }
        }
    }

    #[test]
    fn decode_every_length_and_every_corruption_matches_the_base64_crate() {
        for len in 0..=80 {
            let input = noise(len, 0x5eed ^ len as u64);
            let text = URL_SAFE_NO_PAD.encode(&input);
            assert_eq!(decode(&text).unwrap(), input, "{len} bytes");
            agree(text.as_bytes());

            // Every byte value at the first, second, middle, second-to-last and last positions.
            let n = text.len();
            let mut positions = vec![0, 1, n / 2, n.saturating_sub(2), n.saturating_sub(1)];
            positions.retain(|&i| i < n);
            positions.dedup();
            for i in positions {
                for b in 0..=255u8 {
                    let mut corrupt = text.clone().into_bytes();
                    corrupt[i] = b;
                    agree(&corrupt);
                }
            }
            // One more or one fewer character: length 4k + 1 and other truncations.
            agree(&text.as_bytes()[..n.saturating_sub(1)]);
            for b in [
                b'A', b'Q', b'g', b'w', b'-', b'_', b'=', b'+', b'/', b' ', b'\n', 0, 0xff,
            ] {
                let mut longer = text.clone().into_bytes();
                longer.push(b);
                agree(&longer);
            }
        }
        // Long inputs, across the 8-character blocks and the tail.
        for len in [255, 256, 257, 767, 768, 769, 975, 1000, 4099] {
            let input = noise(len, len as u64);
            let text = URL_SAFE_NO_PAD.encode(&input);
            assert_eq!(decode(&text).unwrap(), input);
            agree(text.as_bytes());
            for i in [0, 7, 8, 9, text.len() / 2, text.len() - 9, text.len() - 1] {
                for b in [
                    b'=', b'+', b'/', b' ', b'.', b'@', b'`', b'{', 0x80, 0xc3, 0xff,
                ] {
                    let mut corrupt = text.clone().into_bytes();
                    corrupt[i] = b;
                    assert!(decode(&corrupt).is_err(), "{len} bytes, {b:#x} at {i}");
                    agree(&corrupt);
                }
            }
        }
    }

    #[test]
    fn decode_rejects_lengths_4k_plus_1() {
        for k in 0..=40 {
            for c in [b'A', b'Q', b'_'] {
                let text = vec![c; 4 * k + 1];
                assert!(
                    matches!(decode(&text), Err(base64::DecodeError::InvalidLength(_))),
                    "length {}",
                    text.len()
                );
                assert!(decode_to_slice(&text, &mut [0; 200]).is_err());
                agree(&text);
            }
        }
    }

    #[test]
    fn decode_rejects_non_canonical_last_symbols() {
        assert_eq!(decode("QQ").unwrap(), b"A");
        assert!(matches!(
            decode("QR"),
            Err(base64::DecodeError::InvalidLastSymbol(1, b'R'))
        ));
        assert!(URL_SAFE_NO_PAD.decode("QR").is_err());
        assert_eq!(decode("QUE").unwrap(), b"AA");
        assert!(decode("QUF").is_err());
        assert!(decode("Zm9vYh").is_err(), "one byte after a full group");
        assert!(decode("Zm9vYmF").is_err(), "two bytes after a full group");
        // Every pair of bytes, and every last pair after a fixed first character.
        for b0 in 0..=255u8 {
            for b1 in 0..=255u8 {
                agree(&[b0, b1]);
            }
        }
        for b0 in [b'A', b'z', b'-', b'=', b'+'] {
            for b1 in 0..=255u8 {
                for b2 in 0..=255u8 {
                    let text = [b0, b1, b2];
                    assert_eq!(
                        decode(text).ok(),
                        URL_SAFE_NO_PAD.decode(text).ok(),
                        "{text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn decode_rejects_padding_whitespace_and_the_standard_alphabet() {
        for text in [
            "Zg==",
            "Zm8=",
            "Zm9v====",
            "=",
            "==",
            "Zm9v=",
            "+w",
            "/w",
            "Zm 9v",
            " Zm9v",
            "Zm9v\n",
            "Zm9v\r\n",
            "Zm9\0",
            "Zm9.",
            "Zm9v\u{e9}",
        ] {
            assert!(decode(text).is_err(), "{text:?}");
            assert!(URL_SAFE_NO_PAD.decode(text).is_err(), "{text:?}");
            agree(text.as_bytes());
        }
        assert!(matches!(
            decode("Zm9vY+Fy"),
            Err(base64::DecodeError::InvalidByte(5, b'+'))
        ));
        // The whole alphabet in every position of a group.
        let alphabet: Vec<u8> = ALPHABET.iter().chain(ALPHABET).copied().collect();
        for start in 0..4 {
            agree(&alphabet[start..]);
        }
    }

    #[test]
    fn decode_to_slice_sizes() {
        let input = noise(32, 7);
        let text = encode(&input);
        let mut exact = [0; 32];
        assert_eq!(decode_to_slice(&text, &mut exact).unwrap(), 32);
        assert_eq!(exact[..], input[..]);
        let mut big = [0; 40];
        assert_eq!(decode_to_slice(&text, &mut big).unwrap(), 32);
        assert_eq!(big[..32], input[..]);
        assert!(matches!(
            decode_to_slice(&text, &mut [0; 31]),
            Err(base64::DecodeSliceError::OutputSliceTooSmall)
        ));
        assert!(decode_to_slice(&text, &mut []).is_err());
        assert_eq!(decode_to_slice("", &mut []).unwrap(), 0);
        assert!(matches!(
            decode_to_slice("Zm9v!mFy", &mut [0; 6]),
            Err(base64::DecodeSliceError::DecodeError(
                base64::DecodeError::InvalidByte(4, b'!')
            ))
        ));
    }

    #[test]
    fn decode_into_vec_appends_and_keeps_the_vec_on_error() {
        let mut v = b"x".to_vec();
        decode_into_vec("Zm9vYg", &mut v).unwrap();
        decode_into_vec("", &mut v).unwrap();
        decode_into_vec(b"-_8", &mut v).unwrap();
        assert_eq!(v, b"xfoob\xfb\xff");
        for bad in ["Zm9vY", "Zm9vYh", "Zm9v=", "Zm9v YmFy", "+/8"] {
            assert!(decode_into_vec(bad, &mut v).is_err(), "{bad:?}");
            assert_eq!(v, b"xfoob\xfb\xff", "{bad:?}");
        }
        let mut empty = Vec::new();
        assert!(decode_into_vec("Zm9vYmF=", &mut empty).is_err());
        assert!(empty.is_empty());
    }
}
