//! Reading typed PID values out of JSON objects, shared by both decoders. Errors name the
//! attribute, never its value.

use serde_json::Map;
use serde_json::Value;
use time::Date;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::model::PidError;
use crate::model::PidSex;
use crate::model::PlaceOfBirth;

pub(crate) type Object = Map<String, Value>;

/// A text member, if present (`null` counts as absent).
pub(crate) fn text(
    map: &Object,
    key: &str,
    attribute: &'static str,
) -> Result<Option<String>, PidError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PidError::WrongType {
            attribute,
            expected: "a string",
        }),
    }
}

/// An object member, if present.
pub(crate) fn object<'a>(
    map: &'a Object,
    key: &str,
    attribute: &'static str,
) -> Result<Option<&'a Object>, PidError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(PidError::WrongType {
            attribute,
            expected: "an object",
        }),
    }
}

/// A full-date (`YYYY-MM-DD`) member, such as a birth date.
pub(crate) fn date(
    map: &Object,
    key: &str,
    attribute: &'static str,
) -> Result<Option<Date>, PidError> {
    let Some(s) = text(map, key, attribute)? else {
        return Ok(None);
    };
    parse_date(&s)
        .ok_or(PidError::Invalid {
            attribute,
            reason: "not a YYYY-MM-DD date",
        })
        .map(Some)
}

/// A full-date or an RFC 3339 date-time (its date in UTC) member: the rulebook allows `tdate`
/// or `full-date` for `expiry_date` and `issuance_date`.
pub(crate) fn date_or_time(
    map: &Object,
    key: &str,
    attribute: &'static str,
) -> Result<Option<Date>, PidError> {
    let Some(s) = text(map, key, attribute)? else {
        return Ok(None);
    };
    parse_date(&s)
        .or_else(|| {
            OffsetDateTime::parse(&s, &Rfc3339)
                .ok()
                .map(|t| t.to_offset(time::UtcOffset::UTC).date())
        })
        .ok_or(PidError::Invalid {
            attribute,
            reason: "not a YYYY-MM-DD date or RFC 3339 date-time",
        })
        .map(Some)
}

/// Exactly `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 10 {
        return None;
    }
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

/// `YYYY-MM-DD`.
pub(crate) fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// An array of text (one text alone is accepted as an array of one, as older mdoc PIDs encoded
/// `nationality`).
pub(crate) fn text_array(
    map: &Object,
    key: &str,
    attribute: &'static str,
) -> Result<Option<Vec<String>>, PidError> {
    let wrong = PidError::WrongType {
        attribute,
        expected: "an array of strings",
    };
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or(wrong.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(wrong),
    }
}

/// The `sex` number.
pub(crate) fn sex(
    map: &Object,
    key: &str,
    attribute: &'static str,
) -> Result<Option<PidSex>, PidError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_u64()
                .and_then(PidSex::from_code)
                .map(Some)
                .ok_or(PidError::Invalid {
                    attribute,
                    reason: "not one of 0, 1, 2, 3, 4, 5, 6, 9",
                })
        }
        Some(_) => Err(PidError::WrongType {
            attribute,
            expected: "a number",
        }),
    }
}

/// The `place_of_birth` object, names as in both encodings (`country`, `region`, `locality`).
pub(crate) fn place_of_birth(
    map: &Object,
    key: &str,
    attribute: &'static str,
) -> Result<Option<PlaceOfBirth>, PidError> {
    let Some(o) = object(map, key, attribute)? else {
        return Ok(None);
    };
    let place = PlaceOfBirth {
        country: text(o, "country", "place_of_birth.country")?,
        region: text(o, "region", "place_of_birth.region")?,
        locality: text(o, "locality", "place_of_birth.locality")?,
    };
    if place == PlaceOfBirth::default() {
        return Err(PidError::Invalid {
            attribute,
            reason: "needs at least one of country, region, locality",
        });
    }
    Ok(Some(place))
}

/// The `place_of_birth` object.
pub(crate) fn place_of_birth_json(place: &PlaceOfBirth) -> Value {
    let mut o = Object::new();
    insert_text(&mut o, "country", place.country.as_ref());
    insert_text(&mut o, "region", place.region.as_ref());
    insert_text(&mut o, "locality", place.locality.as_ref());
    Value::Object(o)
}

pub(crate) fn insert_text(map: &mut Object, key: &str, value: Option<&String>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), Value::String(v.clone()));
    }
}

/// Serde for a required `YYYY-MM-DD` date.
pub(crate) mod serde_date {
    use serde::Deserialize;
    use serde::Deserializer;
    use serde::Serializer;
    use time::Date;

    #[cfg_attr(
        not(any(test, feature = "test-identities")),
        expect(dead_code, reason = "only the test identities are serialized with it")
    )]
    pub(crate) fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_date(*date))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_date(&s).ok_or_else(|| serde::de::Error::custom("expected a YYYY-MM-DD date"))
    }
}

/// Serde (deserializing only) for an optional `YYYY-MM-DD` date.
pub(crate) mod serde_date_opt {
    use serde::Deserialize;
    use serde::Deserializer;
    use time::Date;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "super::serde_date")] Date);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::date;

    use super::*;

    fn obj(v: Value) -> Object {
        match v {
            Value::Object(o) => o,
            _ => Object::new(),
        }
    }

    #[test]
    fn dates() {
        let m = obj(
            json!({"a": "2026-02-28", "b": "2026-02-28T23:30:00-01:00", "c": "2026-02-30",
            "d": "28-02-2026", "e": 20260228, "f": null}),
        );
        assert_eq!(date(&m, "a", "a"), Ok(Some(date!(2026 - 02 - 28))));
        assert!(
            date(&m, "b", "b").is_err(),
            "a birth date is never a date-time"
        );
        assert_eq!(date_or_time(&m, "b", "b"), Ok(Some(date!(2026 - 03 - 01))));
        assert_eq!(date_or_time(&m, "a", "a"), Ok(Some(date!(2026 - 02 - 28))));
        assert!(date_or_time(&m, "c", "c").is_err());
        assert!(date(&m, "c", "c").is_err());
        assert!(date(&m, "d", "d").is_err());
        assert!(matches!(
            date(&m, "e", "e"),
            Err(PidError::WrongType { .. })
        ));
        assert_eq!(date(&m, "f", "f"), Ok(None));
        assert_eq!(date(&m, "x", "x"), Ok(None));
        assert_eq!(format_date(date!(1858 - 01 - 02)), "1858-01-02");
    }

    #[test]
    fn arrays_and_sex() {
        let m = obj(
            json!({"n": ["DK", "SE"], "one": "DK", "bad": ["DK", 1], "s": 2, "s7": 7, "ss": "2"}),
        );
        assert_eq!(
            text_array(&m, "n", "n"),
            Ok(Some(vec!["DK".into(), "SE".into()]))
        );
        assert_eq!(text_array(&m, "one", "one"), Ok(Some(vec!["DK".into()])));
        assert!(text_array(&m, "bad", "bad").is_err());
        assert_eq!(sex(&m, "s", "s"), Ok(Some(PidSex::Female)));
        assert!(sex(&m, "s7", "s7").is_err());
        assert!(sex(&m, "ss", "ss").is_err());
    }

    #[test]
    fn place_needs_a_member() {
        let m = obj(json!({"p": {}, "q": {"locality": "Aarhus"}, "r": {"locality": 1}}));
        assert!(place_of_birth(&m, "p", "p").is_err());
        assert_eq!(
            place_of_birth(&m, "q", "q"),
            Ok(Some(PlaceOfBirth {
                locality: Some("Aarhus".into()),
                ..PlaceOfBirth::default()
            }))
        );
        assert!(place_of_birth(&m, "r", "r").is_err());
    }
}
