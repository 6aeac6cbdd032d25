//! Map lookups on a `ciborium::Value` tree (one produced by [`decode_value`](crate::decode_value)),
//! with the same rule as the [`Item`](crate::Item) lookups: a key present twice is an error.

use ciborium::Value;

/// A map lookup found the key more than once (RFC 8949 §5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a CBOR map has the key twice")]
pub struct DuplicateKey;

/// The value under text key `name`.
pub fn text_key<'a>(
    entries: &'a [(Value, Value)],
    name: &str,
) -> Result<Option<&'a Value>, DuplicateKey> {
    unique(entries, |k| k.as_text() == Some(name))
}

/// The value under integer key `label`.
pub fn int_key(entries: &[(Value, Value)], label: i64) -> Result<Option<&Value>, DuplicateKey> {
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

    #[test]
    fn duplicate_keys_are_found() {
        let entries = vec![
            (Value::Integer(1.into()), Value::Null),
            (Value::Text("a".into()), Value::Null),
            (Value::Integer(1.into()), Value::Bool(true)),
        ];
        assert_eq!(int_key(&entries, 1), Err(DuplicateKey));
        assert!(text_key(&entries, "a").unwrap().is_some());
        assert!(int_key(&entries, 2).unwrap().is_none());
    }
}
