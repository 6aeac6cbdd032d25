//! The encoding primitives every CBOR writer of the workspace shares: heads in the shortest
//! form (RFC 8949 §4.2.1 core deterministic encoding), strings, and byte strings written in
//! place. What is built from them (maps with sorted keys, values) lives with its user.

/// Appends a head: major type and argument in the shortest form (RFC 8949 §4.2.1).
#[inline(always)]
pub fn head(out: &mut Vec<u8>, major: u8, arg: u64) {
    // Fixed-size writes per case: no call to `memcpy` for a byte or two.
    let major = major << 5;
    match arg {
        0..=23 => out.push(major | arg as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

/// A head in the shortest form, as bytes and how many of them are used.
fn head_bytes(major: u8, arg: u64) -> ([u8; 9], usize) {
    let major = major << 5;
    let mut out = [0u8; 9];
    let len = head_len(arg);
    let be = arg.to_be_bytes();
    match len {
        1 => out[0] = major | arg as u8,
        n => {
            out[0] = major
                | match n {
                    2 => 24,
                    3 => 25,
                    5 => 26,
                    _ => 27,
                };
            // The argument's low `n - 1` bytes, big-endian.
            out[1..n].copy_from_slice(&be[9 - n..]);
        }
    }
    (out, len)
}

/// A length as a CBOR argument.
#[inline]
pub fn len_arg(len: usize) -> u64 {
    // usize is at most 64 bits on every supported target.
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// Appends a text string.
#[inline]
pub fn text_into(out: &mut Vec<u8>, s: &str) {
    head(out, 3, len_arg(s.len()));
    out.extend_from_slice(s.as_bytes());
}

/// Appends a byte string.
#[inline]
pub fn bytes_into(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, len_arg(b.len()));
    out.extend_from_slice(b);
}

/// How many bytes the head of an argument takes (RFC 8949 §4.2.1 shortest form).
#[inline]
pub fn head_len(arg: u64) -> usize {
    match arg {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// How many bytes a byte or text string of `len` bytes takes, head included.
#[inline]
pub fn string_len(len: usize) -> usize {
    head_len(len_arg(len)) + len
}

/// Appends a byte string holding what `write` appends: written in place after room for the
/// longest head, which is then filled in and the room left over cut out. Returns where the
/// content starts.
pub fn bstr_into<E>(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<usize, E> {
    const ROOM: usize = 9;
    let start = out.len();
    out.resize(start + ROOM, 0);
    write(out)?;
    let (head, len) = head_bytes(2, len_arg(out.len() - start - ROOM));
    let at = start + ROOM - len;
    if let (Some(slot), Some(head)) = (out.get_mut(at..start + ROOM), head.get(..len)) {
        slot.copy_from_slice(head);
    }
    out.drain(start..at);
    Ok(start + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_shortest() {
        for (arg, len) in [
            (0u64, 1usize),
            (23, 1),
            (24, 2),
            (255, 2),
            (256, 3),
            (65_535, 3),
            (65_536, 5),
            (u64::from(u32::MAX), 5),
            (u64::from(u32::MAX) + 1, 9),
            (u64::MAX, 9),
        ] {
            let mut out = Vec::new();
            head(&mut out, 2, arg);
            assert_eq!(out.len(), len, "{arg}");
            assert_eq!(head_len(arg), len, "{arg}");
            let (bytes, n) = head_bytes(2, arg);
            assert_eq!(&bytes[..n], &out[..], "{arg}");
        }
    }

    #[test]
    fn bstr_in_place_equals_bytes_into() {
        for len in [0usize, 1, 23, 24, 255, 256, 70_000] {
            let content = vec![7u8; len];
            let mut direct = vec![0xaa];
            bytes_into(&mut direct, &content);
            let mut in_place = vec![0xaa];
            let start = bstr_into(&mut in_place, |out| {
                out.extend_from_slice(&content);
                Ok::<(), ()>(())
            })
            .unwrap();
            assert_eq!(in_place, direct, "{len}");
            assert_eq!(&in_place[start..], &content[..], "{len}");
        }
    }
}
