//! Danish CPR numbers (personnummer), as the CPR office defines them.
//!
//! A CPR number is ten digits `DDMMYY-SSSS`: the date of birth, then a serial number whose first
//! digit (the 7th of the number) fixes the century and whose last digit gives the legal sex (even:
//! female, odd: male). Numbers issued as *replacement numbers* (erstatningspersonnumre) add 60 to
//! the day. The modulus 11 check is **not** a validity rule: the CPR office has issued numbers that
//! fail it since 2007, so [`Cpr::passes_modulus_11`] is information only.
//!
//! A [`Cpr`] never prints in full: `Display` and `Debug` show the date part and mask the serial
//! (`010190-****`). [`Cpr::expose`] gives the ten digits for encoding a PID and nothing else.
//! `Serialize` writes the ten digits too (it is an encoding, not a display).

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde::Deserializer;
use serde::Serialize;
use serde::Serializer;
use time::Date;
use time::Month;

/// Offset the CPR office adds to the day of birth in a replacement number.
const REPLACEMENT_DAY_OFFSET: u8 = 60;

/// Weights of the modulus 11 check, digit by digit.
const MODULUS_11_WEIGHTS: [u32; 10] = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];

/// A syntactically valid CPR number whose date part is a real date.
///
/// Parse it with [`str::parse`] or [`TryFrom<&str>`]; both accept `DDMMYY-SSSS` and `DDMMYYSSSS`.
///
/// ```
/// use eudi_pid::cpr::{Cpr, Sex};
///
/// let cpr: Cpr = "070761-4285".parse()?;
/// assert_eq!(cpr.birth_date(), time::macros::date!(1961 - 07 - 07));
/// assert_eq!(cpr.sex(), Sex::Male);
/// assert_eq!(cpr.to_string(), "070761-****");
/// assert_eq!(format!("{cpr:?}"), "070761-****");
/// assert_eq!(cpr.expose(), "0707614285");
/// # Ok::<(), eudi_pid::cpr::CprError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cpr {
    /// The ten digits, without the dash.
    digits: String,
    /// The birth date the number encodes (day already corrected for replacement numbers).
    birth_date: Date,
}

/// Legal sex as the CPR number records it (last digit even: female, odd: male).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Last digit even.
    Female,
    /// Last digit odd.
    Male,
}

/// Why a string is no CPR number. The messages never contain the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CprError {
    /// Not ten digits (with an optional dash after the sixth).
    #[error("a CPR number has ten digits, DDMMYY-SSSS (found {found} characters)")]
    Length {
        /// Number of characters found (after removing an optional dash).
        found: usize,
    },
    /// A character that is not an ASCII digit, or a dash in the wrong place.
    #[error("a CPR number has only digits, with an optional dash after the sixth")]
    NotDigits,
    /// The date part (with the century from the 7th digit) is no calendar date.
    #[error("the date part of the CPR number is not a date")]
    NoSuchDate,
}

impl Cpr {
    /// Parses `DDMMYY-SSSS` or `DDMMYYSSSS` (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Result<Self, CprError> {
        let s = s.trim();
        let digits: String = match s.len() {
            11 if s.as_bytes().get(6) == Some(&b'-') => {
                let (a, b) = s.split_at(6);
                format!("{a}{}", &b[1..])
            }
            _ => s.to_owned(),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CprError::NotDigits);
        }
        if digits.len() != 10 {
            return Err(CprError::Length {
                found: digits.len(),
            });
        }
        let d: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
        let day_raw = d[0] * 10 + d[1];
        let month = d[2] * 10 + d[3];
        let yy = u16::from(d[4] * 10 + d[5]);
        let day = if day_raw > REPLACEMENT_DAY_OFFSET {
            day_raw - REPLACEMENT_DAY_OFFSET
        } else {
            day_raw
        };
        let year = century(d[6], yy) + yy;
        let month = Month::try_from(month).map_err(|_| CprError::NoSuchDate)?;
        let year = i32::from(year);
        let birth_date =
            Date::from_calendar_date(year, month, day).map_err(|_| CprError::NoSuchDate)?;
        Ok(Self { digits, birth_date })
    }

    /// The date of birth: the date part with the century from the 7th digit, and the day less 60
    /// for a replacement number.
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// Legal sex from the last digit: even female, odd male.
    pub fn sex(&self) -> Sex {
        if self.digit(9).is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// Whether this is a replacement number (erstatningspersonnummer): day of birth plus 60.
    pub fn is_replacement(&self) -> bool {
        self.digit(0) * 10 + self.digit(1) > REPLACEMENT_DAY_OFFSET
    }

    /// Whether the number passes the old modulus 11 check (weights 4 3 2 7 6 5 4 3 2 1). Information
    /// only: numbers failing it have been issued since 2007 and are valid.
    pub fn passes_modulus_11(&self) -> bool {
        let sum: u32 = (0..10)
            .map(|i| u32::from(self.digit(i)) * MODULUS_11_WEIGHTS[i])
            .sum();
        sum.is_multiple_of(11)
    }

    /// The ten digits without dash. For encoding a PID (`personal_administrative_number`) only:
    /// never log or display it.
    pub fn expose(&self) -> &str {
        &self.digits
    }

    /// The masked form `DDMMYY-****`, the same as `Display`.
    pub fn masked(&self) -> String {
        format!("{}-****", &self.digits[..6])
    }

    fn digit(&self, i: usize) -> u8 {
        self.digits.as_bytes()[i] - b'0'
    }
}

/// The century from the 7th digit and the two-digit year, by the CPR office's table:
///
/// | 7th digit | YY 00–36 | YY 37–57 | YY 58–99 |
/// |---|---|---|---|
/// | 0–3 | 1900 | 1900 | 1900 |
/// | 4, 9 | 2000 | 1900 | 1900 |
/// | 5–8 | 2000 | 2000 | 1800 |
fn century(seventh: u8, yy: u16) -> u16 {
    match seventh {
        0..=3 => 1900,
        4 | 9 if yy <= 36 => 2000,
        4 | 9 => 1900,
        _ if yy <= 57 => 2000,
        _ => 1800,
    }
}

impl FromStr for Cpr {
    type Err = CprError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Cpr {
    type Error = CprError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl fmt::Display for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits[..6])?;
        f.write_str("-****")
    }
}

impl fmt::Debug for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Cpr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.digits)
    }
}

impl<'de> Deserialize<'de> for Cpr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `deserialize_any`, so that numbers reach the visitor (`deserialize_str` would let
        // serde_json report them itself, value included).
        deserializer.deserialize_any(CprVisitor)
    }
}

/// Accepts strings only. Other types fail with a message that does not repeat the value (serde's
/// default "invalid type: integer `0101901234`" would print a CPR number written as a number).
struct CprVisitor;

impl serde::de::Visitor<'_> for CprVisitor {
    type Value = Cpr;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CPR number as a string, DDMMYY-SSSS")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Cpr, E> {
        Cpr::parse(s).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Cpr, E> {
        Err(E::custom("a CPR number must be a string, not a number"))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Cpr, E> {
        Err(E::custom("a CPR number must be a string, not a number"))
    }

    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<Cpr, E> {
        Err(E::custom("a CPR number must be a string, not a number"))
    }

    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<Cpr, E> {
        Err(E::custom("a CPR number must be a string, not a number"))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Cpr, E> {
        Err(E::custom("a CPR number must be a string, not a number"))
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Cpr, E> {
        Err(E::custom("a CPR number must be a string, not bytes"))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn cpr(s: &str) -> Cpr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_with_and_without_dash() {
        assert_eq!(cpr("0101901234"), cpr("010190-1234"));
        assert_eq!(cpr(" 010190-1234 ").expose(), "0101901234");
        assert_eq!(Cpr::try_from("010190-1234"), Ok(cpr("0101901234")));
    }

    #[test]
    fn rejects_bad_syntax() {
        for (s, e) in [
            ("", CprError::Length { found: 0 }),
            ("010190123", CprError::Length { found: 9 }),
            ("01019012345", CprError::Length { found: 11 }),
            ("010190--1234", CprError::NotDigits),
            ("0101-901234", CprError::NotDigits),
            ("01019O1234", CprError::NotDigits),
            ("010190 1234", CprError::NotDigits),
            ("٠١٠١٩٠١٢٣٤", CprError::NotDigits),
            ("+101901234", CprError::NotDigits),
        ] {
            assert_eq!(s.parse::<Cpr>(), Err(e), "{s:?}");
        }
    }

    #[test]
    fn date_must_exist() {
        for s in [
            "310290-1234", // 31 February
            "290290-1234", // 1990 is no leap year
            "000190-1234", // day 0
            "320190-1234", // day 32
            "010090-1234", // month 0
            "011390-1234", // month 13
            "600190-1234", // day 60: 0 as replacement
            "920190-1234", // day 92: 32 as replacement
            "290261-5000", // 1861: no leap year
            "290200-1000", // 1900: no leap year
        ] {
            assert_eq!(s.parse::<Cpr>(), Err(CprError::NoSuchDate), "{s}");
        }
        assert_eq!(cpr("290200-4000").birth_date(), date!(2000 - 02 - 29));
        assert_eq!(cpr("290200-5000").birth_date(), date!(2000 - 02 - 29));
        assert_eq!(cpr("290260-5000").birth_date(), date!(1860 - 02 - 29));
        assert_eq!(cpr("290296-1234").birth_date(), date!(1996 - 02 - 29));
        assert_eq!(cpr("311290-1234").birth_date(), date!(1990 - 12 - 31));
    }

    #[test]
    fn century_table_edges() {
        for (s, d) in [
            // 7th digit 0-3: always 1900s
            ("010100-0000", date!(1900 - 01 - 01)),
            ("010136-1000", date!(1936 - 01 - 01)),
            ("010157-2000", date!(1957 - 01 - 01)),
            ("010199-3000", date!(1999 - 01 - 01)),
            // 4 and 9: 2000 if YY <= 36 else 1900
            ("010100-4000", date!(2000 - 01 - 01)),
            ("010136-4000", date!(2036 - 01 - 01)),
            ("010137-4000", date!(1937 - 01 - 01)),
            ("010199-4000", date!(1999 - 01 - 01)),
            ("010136-9000", date!(2036 - 01 - 01)),
            ("010137-9000", date!(1937 - 01 - 01)),
            // 5-8: 2000 if YY <= 57 else 1800
            ("010100-5000", date!(2000 - 01 - 01)),
            ("010157-5000", date!(2057 - 01 - 01)),
            ("010158-5000", date!(1858 - 01 - 01)),
            ("010199-8000", date!(1899 - 01 - 01)),
            ("010157-8000", date!(2057 - 01 - 01)),
            ("010158-6000", date!(1858 - 01 - 01)),
            ("010158-7000", date!(1858 - 01 - 01)),
        ] {
            assert_eq!(cpr(s).birth_date(), d, "{s}");
        }
        for seventh in 0..=9u8 {
            for yy in 0..=99u16 {
                let c = century(seventh, yy);
                let expected = match (seventh, yy) {
                    (0..=3, _) => 1900,
                    (4 | 9, 0..=36) => 2000,
                    (4 | 9, _) => 1900,
                    (_, 0..=57) => 2000,
                    _ => 1800,
                };
                assert_eq!(c, expected, "{seventh} {yy}");
            }
        }
    }

    #[test]
    fn replacement_numbers() {
        let r = cpr("610190-1235");
        assert!(r.is_replacement());
        assert_eq!(r.birth_date(), date!(1990 - 01 - 01));
        let r = cpr("910190-1235");
        assert!(r.is_replacement());
        assert_eq!(r.birth_date(), date!(1990 - 01 - 31));
        assert!(!cpr("310190-1235").is_replacement());
        assert_eq!(r.to_string(), "910190-****");
    }

    #[test]
    fn sex_from_last_digit() {
        for (last, sex) in (0..=9).map(|d| (d, if d % 2 == 0 { Sex::Female } else { Sex::Male })) {
            assert_eq!(cpr(&format!("010190-123{last}")).sex(), sex);
        }
    }

    #[test]
    fn modulus_11_is_information_only() {
        // 070761-4285: the CPR office's own example, passes.
        assert!(cpr("070761-4285").passes_modulus_11());
        // 4*0+3*7+2*0+7*7+6*6+5*1+4*4+3*2+2*8+1*5 = 154 = 14*11
        assert!(cpr("070761-4285").passes_modulus_11());
        // One off in the last digit: fails modulus 11 and still parses (issued since 2007).
        let fails = cpr("070761-4286");
        assert!(!fails.passes_modulus_11());
        assert_eq!(fails.birth_date(), date!(1961 - 07 - 07));
    }

    #[test]
    fn never_printed_in_full() {
        let c = cpr("070761-4285");
        for shown in [
            c.to_string(),
            format!("{c:?}"),
            format!("{c:#?}"),
            format!("{:?}", Some(&c)),
            c.masked(),
        ] {
            assert!(!shown.contains("4285"), "{shown}");
            assert!(!shown.contains("0707614285"), "{shown}");
        }
        assert_eq!(c.to_string(), "070761-****");
        assert_eq!(format!("{c:?}"), "070761-****");
        assert_eq!(c.masked(), "070761-****");
    }

    #[test]
    fn errors_do_not_carry_the_number() {
        let e = "310290-4285".parse::<Cpr>().unwrap_err();
        assert!(!format!("{e} {e:?}").contains("4285"));
    }

    #[test]
    fn serde_is_the_ten_digits() {
        let c = cpr("070761-4285");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"0707614285\"");
        let back: Cpr = serde_json::from_str("\"070761-4285\"").unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<Cpr>("\"310290-4285\"").is_err());
        let e = serde_json::from_str::<Cpr>("7076142850").unwrap_err();
        assert!(!e.to_string().contains("7076142850"), "{e}");
        let e = serde_json::from_value::<Cpr>(serde_json::json!(707614285)).unwrap_err();
        assert!(!e.to_string().contains("707614285"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,14}") {
            let _ = s.parse::<Cpr>();
        }

        #[test]
        fn every_real_date_parses(d in 1u8..=28, m in 1u8..=12, yy in 0u16..=99, serial in 0u16..=9999) {
            let s = format!("{d:02}{m:02}{yy:02}-{serial:04}");
            let c = s.parse::<Cpr>().unwrap();
            proptest::prop_assert_eq!(c.birth_date().day(), d);
            proptest::prop_assert_eq!(u8::from(c.birth_date().month()), m);
            proptest::prop_assert_eq!(c.birth_date().year() % 100, i32::from(yy));
            let r = format!("{:02}{m:02}{yy:02}{serial:04}", d + 60).parse::<Cpr>().unwrap();
            proptest::prop_assert!(r.is_replacement());
            proptest::prop_assert_eq!(r.birth_date(), c.birth_date());
        }
    }
}
