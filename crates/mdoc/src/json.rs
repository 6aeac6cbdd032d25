//! Element values as JSON, for reports.
//!
//! | CBOR | JSON |
//! |---|---|
//! | `full-date` `#6.1004(tstr)` (RFC 8943) | `"YYYY-MM-DD"` |
//! | `#6.100(int)` days since 1970-01-01 (RFC 8943) | `"YYYY-MM-DD"` |
//! | `tdate` `#6.0(tstr)` | the RFC 3339 string |
//! | `#6.1(int / float)` epoch seconds | RFC 3339 string (UTC) |
//! | bstr, `#6.24(bstr)` | base64url string without padding |
//! | other tags | the tagged value |
//! | map | object; text keys as is, integer keys in decimal, other keys as their JSON text |
//! | array, text, bool, null | as is |
//! | integer (down to -2^64) | number, exact |
//! | bignum `#6.2(bstr)` / `#6.3(bstr)` (RFC 8949 §3.4.3) | number, exact (up to 512 magnitude bytes; longer ones as base64url) |
//! | float | number (`null` for NaN and infinities) |

use ciborium::Value;
use serde_json::Map;
use serde_json::Number;
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::mso::format_time;
use crate::text::to_base64url;

/// Deepest nesting converted; deeper values (which no decoded mdoc has, see
/// [`MAX_DEPTH`](crate::MAX_DEPTH)) become `null` rather than exhausting the stack.
const MAX_JSON_DEPTH: usize = 2 * eudi_cbor::MAX_DEPTH;

/// The JSON form of an element value.
pub fn to_json(value: &Value) -> Json {
    at_depth(value, 0)
}

fn at_depth(value: &Value, depth: usize) -> Json {
    if depth > MAX_JSON_DEPTH {
        return Json::Null;
    }
    let to_json = |v: &Value| at_depth(v, depth + 1);
    match value {
        Value::Integer(i) => integer(i128::from(*i)),
        Value::Bytes(b) => Json::String(to_base64url(b)),
        Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Text(t) => Json::String(t.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Null => Json::Null,
        Value::Tag(tag, inner) => tagged(*tag, inner, depth + 1),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (k, v) in entries {
                map.insert(key_text(k, depth + 1), to_json(v));
            }
            Json::Object(map)
        }
        _ => Json::Null,
    }
}

/// An integer as an exact JSON number (the workspace's `serde_json` has `arbitrary_precision`,
/// so numbers beyond 64 bits keep every digit instead of rounding to a float).
fn integer(i: i128) -> Json {
    if let Ok(n) = i64::try_from(i) {
        return Json::Number(n.into());
    }
    if let Ok(n) = u64::try_from(i) {
        return Json::Number(n.into());
    }
    decimal_number(&i.to_string()).unwrap_or_else(|| Json::String(i.to_string()))
}

/// A decimal integer as a JSON number, exactly.
fn decimal_number(decimal: &str) -> Option<Json> {
    serde_json::from_str::<Number>(decimal)
        .ok()
        .map(Json::Number)
}

/// Longest bignum magnitude converted to a decimal number (4096 bits; the conversion is
/// quadratic in the length). Longer ones are reported as their bytes.
const MAX_BIGNUM_BYTES: usize = 512;

/// The decimal digits of a big-endian unsigned magnitude (RFC 8949 §3.4.3), or of `-1 - n`.
fn bignum_decimal(magnitude: &[u8], negative: bool) -> String {
    // Repeated division by 10^9 of the base-256 number: little-endian base-10^9 limbs.
    let mut digits: Vec<u32> = Vec::new();
    let mut number: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    if negative {
        // -1 - n: add one to the magnitude first.
        let mut carry = true;
        for b in number.iter_mut().rev() {
            if !carry {
                break;
            }
            let (sum, overflow) = b.overflowing_add(1);
            *b = sum;
            carry = overflow;
        }
        if carry || number.is_empty() {
            number.insert(0, 1);
        }
    }
    while !number.is_empty() {
        let mut remainder = 0u64;
        for b in &mut number {
            let acc = (remainder << 8) | u64::from(*b);
            *b = u8::try_from(acc / 1_000_000_000).unwrap_or(u8::MAX);
            remainder = acc % 1_000_000_000;
        }
        digits.push(u32::try_from(remainder).unwrap_or(0));
        let zeros = number.iter().take_while(|b| **b == 0).count();
        number.drain(..zeros);
    }
    let mut out = String::with_capacity(digits.len() * 9 + 1);
    if negative {
        out.push('-');
    }
    match digits.split_last() {
        None => out.push('0'),
        Some((top, rest)) => {
            out.push_str(&top.to_string());
            for limb in rest.iter().rev() {
                out.push_str(&format!("{limb:09}"));
            }
        }
    }
    out
}

fn tagged(tag: u64, inner: &Value, depth: usize) -> Json {
    let to_json = |v: &Value| at_depth(v, depth);
    match (tag, inner) {
        (2 | 3, Value::Bytes(magnitude)) if magnitude.len() <= MAX_BIGNUM_BYTES => {
            decimal_number(&bignum_decimal(magnitude, tag == 3)).unwrap_or_else(|| to_json(inner))
        }
        (0 | 1004, Value::Text(t)) => Json::String(t.clone()),
        (1, Value::Integer(i)) => i64::try_from(*i)
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .map_or_else(|| to_json(inner), |t| Json::String(format_time(t))),
        (1, Value::Float(f)) if f.is_finite() => {
            let whole = f.floor();
            let t = if (i64::MIN as f64..i64::MAX as f64).contains(&whole) {
                OffsetDateTime::from_unix_timestamp(whole as i64).ok()
            } else {
                None
            };
            t.map_or_else(|| to_json(inner), |t| Json::String(format_time(t)))
        }
        (100, Value::Integer(days)) => i64::try_from(*days)
            .ok()
            .and_then(|d| d.checked_mul(86_400))
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .map_or_else(
                || to_json(inner),
                |t| {
                    let d = t.date();
                    Json::String(format!(
                        "{:04}-{:02}-{:02}",
                        d.year(),
                        u8::from(d.month()),
                        d.day()
                    ))
                },
            ),
        _ => to_json(inner),
    }
}

fn key_text(key: &Value, depth: usize) -> String {
    match key {
        Value::Text(t) => t.clone(),
        Value::Integer(i) => i128::from(*i).to_string(),
        other => at_depth(other, depth).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use ciborium::cbor;
    use serde_json::json;

    use super::*;

    #[test]
    fn maps_values() {
        let value = cbor!({
            "d" => Value::Tag(1004, Box::new(Value::Text("2019-10-20".into()))),
            "t" => Value::Tag(0, Box::new(Value::Text("2020-10-01T13:30:02Z".into()))),
            "e" => Value::Tag(1, Box::new(Value::Integer(1_601_559_002.into()))),
            "n" => Value::Tag(100, Box::new(Value::Integer(18_000.into()))),
            "b" => Value::Bytes(vec![0xfb, 0xff]),
            "a" => [1, -2, true, null],
            1 => "one",
            "f" => 1.5
        })
        .unwrap();
        assert_eq!(
            to_json(&value),
            json!({
                "d": "2019-10-20",
                "t": "2020-10-01T13:30:02Z",
                "e": "2020-10-01T13:30:02Z",
                "n": "2019-04-14",
                "b": "-_8",
                "a": [1, -2, true, null],
                "1": "one",
                "f": 1.5
            })
        );
    }

    /// Integers beyond 64 bits (CBOR goes down to -2^64) and bignums keep every digit.
    #[test]
    fn integers_are_exact() {
        let min = Value::Integer(
            ciborium::value::Integer::try_from(-18_446_744_073_709_551_616i128).unwrap(),
        );
        assert_eq!(to_json(&min).to_string(), "-18446744073709551616");
        let max = Value::Integer(u64::MAX.into());
        assert_eq!(to_json(&max).to_string(), "18446744073709551615");
        let big = |tag, bytes: &[u8]| Value::Tag(tag, Box::new(Value::Bytes(bytes.to_vec())));
        // RFC 8949 Appendix A: 2^64 = 0xc2 49 010000000000000000, -2^64 - 1 = 0xc3 49 01...00.
        let two_64 = [1u8, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            to_json(&big(2, &two_64)).to_string(),
            "18446744073709551616"
        );
        assert_eq!(
            to_json(&big(3, &two_64)).to_string(),
            "-18446744073709551617"
        );
        // 2^128 + 1, beyond i128 too; leading zero bytes do not matter.
        let mut two_128 = vec![0u8, 1];
        two_128.extend([0u8; 15]);
        two_128.push(1);
        assert_eq!(
            to_json(&big(2, &two_128)).to_string(),
            "340282366920938463463374607431768211457"
        );
        assert_eq!(to_json(&big(2, &[])).to_string(), "0");
        assert_eq!(to_json(&big(3, &[])).to_string(), "-1");
        assert_eq!(to_json(&big(3, &[0xff])).to_string(), "-256");
        // In a map, through serde: still exact.
        let map = Value::Map(vec![(Value::Text("n".into()), big(2, &two_64))]);
        assert_eq!(
            serde_json::to_string(&to_json(&map)).unwrap(),
            r#"{"n":18446744073709551616}"#
        );
    }

    #[test]
    fn deep_values_do_not_exhaust_the_stack() {
        let mut value = Value::Null;
        for _ in 0..100_000 {
            value = Value::Array(vec![value]);
        }
        let json = to_json(&value);
        let mut depth = 0;
        let mut cur = &json;
        while let Json::Array(items) = cur {
            depth += 1;
            cur = &items[0];
        }
        assert!(depth <= MAX_JSON_DEPTH + 1);
        // Dropping a 100k-deep Value recurses in ciborium's Drop: unwind it iteratively.
        while let Value::Array(mut items) = value {
            value = items.pop().unwrap_or(Value::Null);
        }
    }
}
