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

use crate::error::EncodeError;

/// Appends a head: major type and argument in the shortest form (RFC 8949 §4.2.1).
pub(crate) fn head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let major = major << 5;
    match arg {
        0..=23 => out.push(major | arg as u8),
        24..=0xff => {
            out.push(major | 24);
            out.push(arg as u8);
        }
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

fn len_arg(len: usize) -> u64 {
    // usize is at most 64 bits on every supported target.
    u64::try_from(len).unwrap_or(u64::MAX)
}

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

/// A tag around an encoded item.
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
#[derive(Debug, Default)]
pub(crate) struct MapEncoder {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl MapEncoder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds an entry from an encoded key and an encoded value.
    pub(crate) fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) -> &mut Self {
        self.entries.push((key, value));
        self
    }

    /// Adds an entry under a text key.
    pub(crate) fn text(&mut self, key: &str, value: Vec<u8>) -> &mut Self {
        self.insert(text(key), value)
    }

    /// The map, entries sorted by their encoded keys (RFC 8949 §4.2.1).
    pub(crate) fn finish(mut self) -> Result<Vec<u8>, EncodeError> {
        self.entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if self
            .entries
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.0 == b.0))
        {
            return Err(EncodeError::DuplicateMapKey);
        }
        Ok(self.write())
    }

    /// The map, for maps whose keys are distinct by construction (the fixed members of an mdoc
    /// structure, namespaces that came from a map): sorted, without the duplicate check.
    pub(crate) fn finish_distinct(mut self) -> Vec<u8> {
        self.entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.write()
    }

    fn write(self) -> Vec<u8> {
        let len = self
            .entries
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
        let mut out = Vec::with_capacity(len + 9);
        head(&mut out, 5, len_arg(self.entries.len()));
        for (key, value) in self.entries {
            out.extend_from_slice(&key);
            out.extend_from_slice(&value);
        }
        out
    }
}

/// Encodes a value deterministically.
pub(crate) fn value(v: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    value_into(v, &mut out, 0)?;
    Ok(out)
}

/// Nesting the encoder accepts; deeper values could not be decoded again
/// ([`crate::cbor::MAX_DEPTH`]).
const MAX_ENCODE_DEPTH: usize = crate::cbor::MAX_DEPTH;

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
            let mut map = MapEncoder::new();
            for (k, v) in entries {
                let mut key = Vec::new();
                value_into(k, &mut key, depth + 1)?;
                let mut value = Vec::new();
                value_into(v, &mut value, depth + 1)?;
                map.insert(key, value);
            }
            out.extend_from_slice(&map.finish()?);
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
    fn helpers() {
        assert_eq!(hex(&tag24(&[0xa0])), "d81841a0");
        assert_eq!(hex(&text("a")), "6161");
        assert_eq!(hex(&bytes(&[1; 24])[..4]), "58180101");
        assert_eq!(hex(&array(&[uint(1), uint(500)])), "82011901f4");
        assert_eq!(hex(&tag(1004, &text("x"))), "d903ec6178");
    }
}
