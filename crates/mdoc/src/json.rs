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
//! | integer | number (string if beyond 64 bits) |
//! | float | number (`null` for NaN and infinities) |

use ciborium::Value;
use serde_json::{Map, Number, Value as Json};
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
        Value::Integer(i) => {
            let i = i128::from(*i);
            if let Ok(n) = i64::try_from(i) {
                Json::Number(n.into())
            } else if let Ok(n) = u64::try_from(i) {
                Json::Number(n.into())
            } else {
                Json::String(i.to_string())
            }
        }
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

fn tagged(tag: u64, inner: &Value, depth: usize) -> Json {
    let to_json = |v: &Value| at_depth(v, depth);
    match (tag, inner) {
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
