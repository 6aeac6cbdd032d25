//! Small CBOR helpers over `ciborium::Value`, and a pre-parse budget check.

use ciborium::Value;

use crate::StatusListError;

/// Deepest nesting the budget check accepts; `ciborium` itself stops at 256.
const MAX_DEPTH: usize = 128;

/// Encodes one CBOR item.
pub(crate) fn to_vec(value: &Value) -> Result<Vec<u8>, StatusListError> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out)
        .map_err(|e| StatusListError::Encoding(e.to_string()))?;
    Ok(out)
}

/// Decodes exactly one CBOR item into a `Value` tree, after checking that `bytes` is one
/// well-formed item of at most `max_items` data items.
///
/// A `Value` costs tens of bytes per data item while a small integer costs one byte on the
/// wire, so without the item budget a few megabytes of input could become hundreds of megabytes
/// of memory before any signature is checked.
pub(crate) fn from_slice(bytes: &[u8], max_items: usize) -> Result<Value, &'static str> {
    check_budget(bytes, max_items)?;
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader(&mut rest).map_err(|_| "not well-formed CBOR")?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err("trailing bytes after the CBOR item")
    }
}

/// Walks `bytes` without allocating per item: it must be exactly one well-formed CBOR data
/// item (RFC 8949 §3) with at most `max_items` items in all and at most [`MAX_DEPTH`] levels.
pub(crate) fn check_budget(bytes: &[u8], max_items: usize) -> Result<(), &'static str> {
    /// What an open container still expects.
    enum Open {
        /// A definite-length array or map, or a tag: this many more items.
        Items(u64),
        /// An indefinite-length array or map: items until a break.
        UntilBreak,
    }

    let mut pos = 0usize;
    let mut items = 0usize;
    // One top-level item.
    let mut stack: Vec<Open> = vec![Open::Items(1)];
    loop {
        // Close every container that is complete.
        while let Some(Open::Items(0)) = stack.last() {
            stack.pop();
        }
        let Some(top) = stack.last_mut() else {
            break;
        };
        let initial = *bytes.get(pos).ok_or("truncated CBOR")?;
        pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        if initial == 0xff {
            // A break closes an indefinite-length array or map, and is not an item itself.
            if matches!(top, Open::UntilBreak) {
                stack.pop();
                continue;
            }
            return Err("unexpected break in CBOR");
        }
        if let Open::Items(n) = top {
            *n -= 1;
        }
        items += 1;
        if items > max_items {
            return Err("too many CBOR data items");
        }
        let argument = read_argument(bytes, &mut pos, info)?;
        match (major, argument) {
            (0 | 1, Some(_)) => {}
            (2 | 3, Some(len)) => skip(bytes, &mut pos, len)?,
            (2 | 3, None) => {
                // Indefinite-length string: definite chunks of the same major type, then break.
                loop {
                    let chunk = *bytes.get(pos).ok_or("truncated CBOR")?;
                    pos += 1;
                    if chunk == 0xff {
                        break;
                    }
                    if chunk >> 5 != major {
                        return Err("malformed indefinite-length CBOR string");
                    }
                    match read_argument(bytes, &mut pos, chunk & 0x1f)? {
                        Some(len) => skip(bytes, &mut pos, len)?,
                        None => return Err("nested indefinite-length CBOR string"),
                    }
                }
            }
            (4, Some(n)) => stack.push(Open::Items(n)),
            (5, Some(n)) => stack.push(Open::Items(
                n.checked_mul(2).ok_or("CBOR map length overflows")?,
            )),
            (4 | 5, None) => stack.push(Open::UntilBreak),
            (6, Some(_)) => stack.push(Open::Items(1)),
            (7, Some(_)) => {
                // Simple values and floats: the argument already covered their bytes.
            }
            _ => return Err("malformed CBOR initial byte"),
        }
        if stack.len() > MAX_DEPTH {
            return Err("CBOR nesting is too deep");
        }
    }
    if pos == bytes.len() {
        Ok(())
    } else {
        Err("trailing bytes after the CBOR item")
    }
}

/// Reads the argument of an initial byte: `Some(value)`, or `None` for indefinite length.
fn read_argument(bytes: &[u8], pos: &mut usize, info: u8) -> Result<Option<u64>, &'static str> {
    let width = match info {
        0..=23 => return Ok(Some(u64::from(info))),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 => return Ok(None),
        _ => return Err("reserved CBOR additional information"),
    };
    let end = pos.checked_add(width).ok_or("truncated CBOR")?;
    let field = bytes.get(*pos..end).ok_or("truncated CBOR")?;
    *pos = end;
    Ok(Some(
        field.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
    ))
}

fn skip(bytes: &[u8], pos: &mut usize, len: u64) -> Result<(), &'static str> {
    let len = usize::try_from(len).map_err(|_| "truncated CBOR")?;
    let end = pos.checked_add(len).ok_or("truncated CBOR")?;
    if end > bytes.len() {
        return Err("truncated CBOR");
    }
    *pos = end;
    Ok(())
}

/// A map key lookup found the key more than once.
#[derive(Debug)]
pub(crate) struct DuplicateKey;

/// The value under text key `name`. A key that occurs twice is an error (RFC 8949 §5.6), so a
/// claim can never be read two ways.
pub(crate) fn text_key<'a>(
    entries: &'a [(Value, Value)],
    name: &str,
) -> Result<Option<&'a Value>, DuplicateKey> {
    unique(entries, |k| k.as_text() == Some(name))
}

/// The value under integer key `label`, with the same duplicate rule.
pub(crate) fn int_key(
    entries: &[(Value, Value)],
    label: i64,
) -> Result<Option<&Value>, DuplicateKey> {
    unique(
        entries,
        |k| matches!(k, Value::Integer(i) if i128::from(*i) == i128::from(label)),
    )
}

fn unique(
    entries: &[(Value, Value)],
    matches: impl Fn(&Value) -> bool,
) -> Result<Option<&Value>, DuplicateKey> {
    let mut found = None;
    for (key, value) in entries {
        if matches(key) {
            if found.is_some() {
                return Err(DuplicateKey);
            }
            found = Some(value);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn budget_accepts_well_formed_items() {
        for h in [
            "00",
            "a2646269747301636c73744a78dadbb918000217015d",
            "d28443a10126a0f6f6",
            "9f0102ff",
            "bf6161f5ff",
            "5f4101420203ff",
            "fb3ff0000000000000",
            "f97e00",
        ] {
            check_budget(&hex(h), 100).unwrap_or_else(|e| panic!("{h}: {e}"));
        }
    }

    #[test]
    fn budget_rejects_malformed_items() {
        for h in [
            "",
            "18",
            "4201",
            "0000",
            "ff",
            "9f01",
            "5f01ff",
            "1c",
            "a101",
            "81ff",
            "5f5f4100ffff",
        ] {
            assert!(check_budget(&hex(h), 100).is_err(), "{h} must be rejected");
        }
    }

    #[test]
    fn budget_counts_items_and_depth() {
        // [0, 0, 0]: four items.
        assert!(check_budget(&hex("83000000"), 4).is_ok());
        assert_eq!(
            check_budget(&hex("83000000"), 3),
            Err("too many CBOR data items")
        );
        // A huge claimed length with no content is rejected without allocating.
        assert!(check_budget(&hex("9bffffffffffffffff"), 1000).is_err());
        let deep = vec![0x81u8; 200];
        assert_eq!(check_budget(&deep, 1000), Err("CBOR nesting is too deep"));
    }

    #[test]
    fn duplicate_keys_are_found() {
        let entries = vec![
            (Value::Integer(1.into()), Value::Null),
            (Value::Text("a".into()), Value::Null),
            (Value::Integer(1.into()), Value::Bool(true)),
        ];
        assert!(int_key(&entries, 1).is_err());
        assert!(text_key(&entries, "a").unwrap().is_some());
        assert!(int_key(&entries, 2).unwrap().is_none());
    }
}
