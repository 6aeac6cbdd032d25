//! The one CBOR encoder of this crate.
//!
//! Everything this crate writes goes through here, in the deterministic form the PID rulebook
//! asks for: RFC 8949 §4.2.1 core deterministic encoding, i.e. preferred serialization
//! (shortest argument, shortest lossless float, §4.2.2 NaN as `f9 7e00`), definite lengths only,
//! and map entries ordered by the bytewise lexicographic order of their encoded keys. A map with
//! two equal keys is refused.
//!
//! CBOR received from others is never re-encoded where a digest or signature covers it: callers
//! splice such items in by their original bytes ([`MapEncoder::insert`] and [`array`] take
//! encoded items).

use ciborium::Value;
pub(crate) use eudi_cbor::cose::sig_structure1;
pub(crate) use eudi_cbor::cose::sig_structure1_with;
pub(crate) use eudi_cbor::enc::bstr_into;
pub(crate) use eudi_cbor::enc::bytes_into;
pub(crate) use eudi_cbor::enc::head;
pub(crate) use eudi_cbor::enc::head_len;
pub(crate) use eudi_cbor::enc::len_arg;
pub(crate) use eudi_cbor::enc::string_len;
pub(crate) use eudi_cbor::enc::text_into;

use crate::error::EncodeError;

/// An unsigned integer.
pub(crate) fn uint(n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(9);
    head(&mut out, 0, n);
    out
}

/// A text string.
pub(crate) fn text(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 9);
    head(&mut out, 3, len_arg(s.len()));
    out.extend_from_slice(s.as_bytes());
    out
}

/// A byte string.
pub(crate) fn bytes(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + 9);
    head(&mut out, 2, len_arg(b.len()));
    out.extend_from_slice(b);
    out
}

/// `#6.24(bstr .cbor …)`: an encoded data item embedded as a byte string (RFC 8949 §3.4.5.1).
pub(crate) fn tag24(embedded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(embedded.len() + 11);
    head(&mut out, 6, 24);
    head(&mut out, 2, len_arg(embedded.len()));
    out.extend_from_slice(embedded);
    out
}

/// `#6.24(bstr .cbor …)` around what `write` appends: the embedded item is encoded in place,
/// without a second buffer.
#[cfg(test)]
pub(crate) fn tag24_with<E>(
    capacity: usize,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    let mut out = Vec::with_capacity(2 + 9 + capacity);
    tag24_into(&mut out, write)?;
    Ok(out)
}

/// Appends `#6.24(bstr .cbor …)` around what `write` appends.
pub(crate) fn tag24_into<E>(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    head(out, 6, 24);
    bstr_into(out, write).map(|_| ())
}

/// A tag around an encoded item.
#[cfg(test)]
pub(crate) fn tag(number: u64, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 9);
    head(&mut out, 6, number);
    out.extend_from_slice(content);
    out
}

/// An array of encoded items.
pub(crate) fn array<B: AsRef<[u8]>>(items: &[B]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|i| i.as_ref().len()).sum::<usize>() + 9);
    head(&mut out, 4, len_arg(items.len()));
    for item in items {
        out.extend_from_slice(item.as_ref());
    }
    out
}

/// Collects encoded map entries and writes them in deterministic key order.
///
/// Keys and values are appended to one buffer and remembered by position, so building a map
/// costs a few allocations however many entries it has.
///
/// Invariant, held by this type: every entry is `start <= mid <= end <= buf.len()`. Entries are
/// only added by [`text`](Self::text) and [`try_entry`](Self::try_entry), which measure them on
/// the buffer just written, and `buf` never shrinks ([`try_entry`](Self::try_entry) refuses a
/// closure that shrank it). So reading an entry back is total.
#[derive(Debug, Default)]
pub(crate) struct MapEncoder {
    buf: Vec<u8>,
    /// `(key start, value start, value end)` in `buf`.
    entries: Vec<(usize, usize, usize)>,
}

impl MapEncoder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A map expected to hold about `entries` entries of `bytes` encoded bytes in all.
    pub(crate) fn with_capacity(entries: usize, bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(entries),
        }
    }

    /// Adds an entry under a text key.
    pub(crate) fn text(&mut self, key: &str, value: &[u8]) -> &mut Self {
        let start = self.buf.len();
        text_into(&mut self.buf, key);
        let mid = self.buf.len();
        self.buf.extend_from_slice(value);
        self.entries.push((start, mid, self.buf.len()));
        self
    }

    /// Adds an entry whose key and value the closures append to the buffer they are given.
    ///
    /// A closure must only append: one that shrank the buffer (and so could have cut into the
    /// entries before) is an [`EncodeError::Internal`], and the encoder must then be dropped.
    pub(crate) fn try_entry(
        &mut self,
        key: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
        value: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<&mut Self, EncodeError> {
        let start = self.buf.len();
        key(&mut self.buf)?;
        let mid = self.buf.len();
        if mid < start {
            return Err(EncodeError::Internal);
        }
        value(&mut self.buf)?;
        let end = self.buf.len();
        if end < mid {
            return Err(EncodeError::Internal);
        }
        self.entries.push((start, mid, end));
        Ok(self)
    }

    /// The encoded key of an entry; total by the invariant of [`MapEncoder`].
    fn key(&self, entry: &(usize, usize, usize)) -> &[u8] {
        &self.buf[entry.0..entry.1]
    }

    /// The encoded key and value of an entry; total by the invariant of [`MapEncoder`].
    fn entry(&self, entry: &(usize, usize, usize)) -> &[u8] {
        &self.buf[entry.0..entry.2]
    }

    fn sort(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_unstable_by(|a, b| self.key(a).cmp(self.key(b)));
        self.entries = entries;
    }

    /// The map, entries sorted by their encoded keys (RFC 8949 §4.2.1).
    #[cfg(test)]
    pub(crate) fn finish(self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.buf.len() + 9);
        self.finish_into(&mut out)?;
        Ok(out)
    }

    /// [`finish`](Self::finish), appended to `out`.
    pub(crate) fn finish_into(mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.sort();
        if self
            .entries
            .windows(2)
            .any(|w| matches!(w, [a, b] if self.key(a) == self.key(b)))
        {
            return Err(EncodeError::DuplicateMapKey);
        }
        self.write(out);
        Ok(())
    }

    /// The map, for maps whose keys are distinct by construction (the fixed members of an mdoc
    /// structure, namespaces that came from a map): sorted, without the duplicate check.
    pub(crate) fn finish_distinct(mut self) -> Vec<u8> {
        self.sort();
        let mut out = Vec::with_capacity(self.buf.len() + 9);
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.reserve(self.buf.len() + 9);
        head(out, 5, len_arg(self.entries.len()));
        for entry in &self.entries {
            out.extend_from_slice(self.entry(entry));
        }
    }
}

/// Encodes a value deterministically.
#[cfg(test)]
pub(crate) fn value(v: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    value_into(v, &mut out, 0)?;
    Ok(out)
}

/// Appends the deterministic encoding of a value.
pub(crate) fn value_append(v: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    value_into(v, out, 0)
}

/// The encoded length of a value without containers (an integer, string, bool, null, or a tag
/// around one of those): what [`value_append`] would write, so it can be written in place.
/// `None` for anything else, floats included.
pub(crate) fn scalar_len(v: &Value) -> Option<usize> {
    Some(match v {
        Value::Integer(i) => {
            let i = i128::from(*i);
            let arg = if i >= 0 { i } else { -1 - i };
            head_len(u64::try_from(arg).ok()?)
        }
        Value::Bytes(b) => string_len(b.len()),
        Value::Text(t) => string_len(t.len()),
        Value::Bool(_) | Value::Null => 1,
        Value::Tag(number, content) => match &**content {
            Value::Tag(..) => return None,
            inner => head_len(*number) + scalar_len(inner)?,
        },
        _ => return None,
    })
}

/// Nesting the encoder accepts; deeper values could not be decoded again
/// ([`eudi_cbor::MAX_DEPTH`]).
const MAX_ENCODE_DEPTH: usize = eudi_cbor::MAX_DEPTH;

fn value_into(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), EncodeError> {
    if depth > MAX_ENCODE_DEPTH {
        return Err(EncodeError::TooDeep);
    }
    match v {
        Value::Integer(i) => {
            let i = i128::from(*i);
            if i >= 0 {
                head(out, 0, u64::try_from(i).map_err(|_| EncodeError::Integer)?);
            } else {
                head(
                    out,
                    1,
                    u64::try_from(-1 - i).map_err(|_| EncodeError::Integer)?,
                );
            }
        }
        Value::Bytes(b) => {
            head(out, 2, len_arg(b.len()));
            out.extend_from_slice(b);
        }
        Value::Text(t) => {
            head(out, 3, len_arg(t.len()));
            out.extend_from_slice(t.as_bytes());
        }
        Value::Float(f) => float(*f, out),
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Null => out.push(0xf6),
        Value::Tag(number, content) => {
            head(out, 6, *number);
            value_into(content, out, depth + 1)?;
        }
        Value::Array(items) => {
            head(out, 4, len_arg(items.len()));
            for item in items {
                value_into(item, out, depth + 1)?;
            }
        }
        Value::Map(entries) => {
            let mut map = MapEncoder::with_capacity(entries.len(), 16 * entries.len());
            for (k, v) in entries {
                map.try_entry(
                    |buf| value_into(k, buf, depth + 1),
                    |buf| value_into(v, buf, depth + 1),
                )?;
            }
            map.finish_into(out)?;
        }
        _ => return Err(EncodeError::Unsupported),
    }
    Ok(())
}

/// The shortest of half, single and double precision that holds `f` exactly (RFC 8949
/// §4.2.1, §4.2.2).
fn float(f: f64, out: &mut Vec<u8>) {
    if f.is_nan() {
        out.extend_from_slice(&[0xf9, 0x7e, 0x00]);
        return;
    }
    if let Some(half) = f64_to_f16_exact(f) {
        out.push(0xf9);
        out.extend_from_slice(&half.to_be_bytes());
        return;
    }
    let single = f as f32;
    if f64::from(single).to_bits() == f.to_bits() {
        out.push(0xfa);
        out.extend_from_slice(&single.to_bits().to_be_bytes());
        return;
    }
    out.push(0xfb);
    out.extend_from_slice(&f.to_bits().to_be_bytes());
}

/// The half-precision bits of `f` if `f` (not NaN) is exactly representable in half precision.
fn f64_to_f16_exact(f: f64) -> Option<u16> {
    let bits = f.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    if f == 0.0 {
        return Some(sign);
    }
    if f.is_infinite() {
        return Some(sign | 0x7c00);
    }
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mant = bits & ((1u64 << 52) - 1);
    if (-14..=15).contains(&exp) {
        // Normal half: 10 mantissa bits.
        if mant & ((1u64 << 42) - 1) != 0 {
            return None;
        }
        return Some(sign | (((exp + 15) as u16) << 10) | (mant >> 42) as u16);
    }
    if (-24..-14).contains(&exp) {
        // Subnormal half: value = m * 2^-24 with m < 1024.
        let significand = mant | (1u64 << 52);
        let shift = 52 - (exp + 24);
        if significand & ((1u64 << shift) - 1) != 0 {
            return None;
        }
        return Some(sign | (significand >> shift) as u16);
    }
    None
}

#[cfg(test)]
mod tests {
    use ciborium::cbor;

    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn preferred_serialization() {
        let cases: Vec<(Value, &str)> = vec![
            (cbor!(0).unwrap(), "00"),
            (cbor!(23).unwrap(), "17"),
            (cbor!(24).unwrap(), "1818"),
            (cbor!(1000).unwrap(), "1903e8"),
            (cbor!(1_000_000).unwrap(), "1a000f4240"),
            (cbor!(1_000_000_000_000u64).unwrap(), "1b000000e8d4a51000"),
            (cbor!(-1).unwrap(), "20"),
            (cbor!(-1000).unwrap(), "3903e7"),
            (Value::Float(0.0), "f90000"),
            (Value::Float(-0.0), "f98000"),
            (Value::Float(1.5), "f93e00"),
            (Value::Float(65504.0), "f97bff"),
            (Value::Float(5.960_464_477_539_063e-8), "f90001"),
            (Value::Float(100_000.0), "fa47c35000"),
            (Value::Float(1.1), "fb3ff199999999999a"),
            (Value::Float(f64::INFINITY), "f97c00"),
            (Value::Float(f64::NAN), "f97e00"),
            (cbor!([1, [2, 3]]).unwrap(), "8201820203"),
        ];
        for (value, expected) in cases {
            assert_eq!(hex(&super::value(&value).unwrap()), expected, "{value:?}");
        }
    }

    #[test]
    fn map_keys_are_sorted_bytewise() {
        // RFC 8949 §4.2.1: 10, 100, -1, "z", "aa", [100], [-1], false
        let value = Value::Map(vec![
            (cbor!([-1]).unwrap(), cbor!(8).unwrap()),
            (cbor!("aa").unwrap(), cbor!(6).unwrap()),
            (cbor!(100).unwrap(), cbor!(4).unwrap()),
            (cbor!(-1).unwrap(), cbor!(2).unwrap()),
            (cbor!("z").unwrap(), cbor!(5).unwrap()),
            (cbor!(false).unwrap(), cbor!(3).unwrap()),
            (cbor!([100]).unwrap(), cbor!(7).unwrap()),
            (cbor!(10).unwrap(), cbor!(1).unwrap()),
        ]);
        assert_eq!(
            hex(&super::value(&value).unwrap()),
            "a80a011864042002617a056261610681186407812008f403"
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let value = Value::Map(vec![
            (cbor!("a").unwrap(), cbor!(1).unwrap()),
            (cbor!("a").unwrap(), cbor!(2).unwrap()),
        ]);
        assert_eq!(super::value(&value), Err(EncodeError::DuplicateMapKey));
    }

    #[test]
    fn scalar_lengths() {
        let values = vec![
            cbor!(0).unwrap(),
            cbor!(24).unwrap(),
            cbor!(-1).unwrap(),
            cbor!(-1000).unwrap(),
            cbor!(u64::MAX).unwrap(),
            Value::Integer(
                ciborium::value::Integer::try_from(-18_446_744_073_709_551_616i128).unwrap(),
            ),
            Value::Text("x".repeat(300)),
            Value::Bytes(vec![1; 24]),
            Value::Bool(true),
            Value::Null,
            Value::Tag(1004, Box::new(Value::Text("1990-05-17".into()))),
            Value::Tag(100_000, Box::new(cbor!(7).unwrap())),
        ];
        for v in values {
            assert_eq!(scalar_len(&v), Some(value(&v).unwrap().len()), "{v:?}");
        }
        for v in [
            Value::Float(1.5),
            cbor!([1]).unwrap(),
            cbor!({"a" => 1}).unwrap(),
            Value::Tag(1, Box::new(Value::Tag(2, Box::new(Value::Null)))),
            Value::Tag(1, Box::new(Value::Float(0.0))),
        ] {
            assert_eq!(scalar_len(&v), None, "{v:?}");
        }
    }

    #[test]
    fn tag24_in_place() {
        for len in [0usize, 23, 24, 255, 256, 70_000] {
            let content = vec![0x41u8; len];
            let built = tag24_with(0, |out| {
                out.extend_from_slice(&content);
                Ok::<(), ()>(())
            })
            .unwrap();
            assert_eq!(built, tag24(&content), "{len}");
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(hex(&tag24(&[0xa0])), "d81841a0");
        assert_eq!(hex(&text("a")), "6161");
        assert_eq!(hex(&bytes(&[1; 24])[..4]), "58180101");
        assert_eq!(hex(&array(&[uint(1), uint(500)])), "82011901f4");
        assert_eq!(hex(&tag(1004, &text("x"))), "d903ec6178");
    }

    /// A closure that shrinks the shared buffer would cut into the entries before it: refused,
    /// never written as a shorter or empty entry.
    #[test]
    fn try_entry_refuses_a_closure_that_shrinks_the_buffer() {
        let mut map = MapEncoder::new();
        map.text("a", &uint(1));
        let shrink_key = map.try_entry(
            |buf| {
                buf.clear();
                Ok(())
            },
            |buf| {
                buf.push(0);
                Ok(())
            },
        );
        assert_eq!(shrink_key.err(), Some(EncodeError::Internal));

        let mut map = MapEncoder::new();
        map.text("a", &uint(1));
        let shrink_value = map.try_entry(
            |buf| {
                text_into(buf, "b");
                Ok(())
            },
            |buf| {
                buf.truncate(1);
                Ok(())
            },
        );
        assert_eq!(shrink_value.err(), Some(EncodeError::Internal));

        // Appending closures still work.
        let mut map = MapEncoder::new();
        map.try_entry(
            |buf| {
                text_into(buf, "b");
                Ok(())
            },
            |buf| value_append(&Value::Null, buf),
        )
        .unwrap();
        map.text("a", &uint(1));
        assert_eq!(hex(&map.finish().unwrap()), "a26161016162f6");
    }
}
