//! The CPR register as a source of PID attributes.
//!
//! MitID tells who logged in, not where they were born or their nationality; a Danish PID provider
//! reads those from the Central Person Register (CPR) by CPR number. [`CprRegister`] is that
//! look-up; [`FileRegister`] is a test register read from a JSON file. The default file
//! (`FileRegister::embedded`, `data/test-register.json`), which covers the MitID test identities,
//! is compiled in only with the `test-identities` feature, so a production issuer carries no test
//! people.
//!
//! The look-up is asynchronous because the real register is a network service. It returns a
//! boxed future ([`LookupFuture`]): one allocation per look-up is nothing beside a network round
//! trip, it keeps the trait object-safe (`Arc<dyn CprRegister>` in a service's state) without an
//! `async fn` in the trait, and the future is `Send` so a multi-threaded runtime can run it.
//!
//! # File format
//!
//! ```json
//! { "persons": [ {
//!     "cpr": "120385-2459",
//!     "given_name": "Lars", "family_name": "Hansen",
//!     "birth_date": "1985-03-12",              // optional: the CPR number's date
//!     "birth_place": { "locality": "Aarhus", "country": "DK" },
//!     "nationalities": ["DK"],
//!     "sex": "male",                           // optional: from the CPR number's last digit
//!     "address": { "street_name": "Vestergade", "house_number": "12", "floor": "2", "door": "th",
//!                  "postal_code": "8000", "city": "Aarhus C", "region": "Region Midtjylland",
//!                  "country": "DK" },          // optional
//!     "status": "active"                       // or {"deceased": {"date": "2025-11-02"}},
//!                                              // {"emigrated": {"date": …}}, {"disappeared": {…}},
//!                                              // "cancelled"
//! } ] }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::path::PathBuf;
use std::pin::Pin;

use serde::Deserialize;
use time::Date;

use crate::cpr::Cpr;
use crate::cpr::Sex;
use crate::json;
use crate::model::Address;
use crate::model::PlaceOfBirth;
use crate::model::is_alpha2;

/// The default test register, `data/test-register.json` (feature `test-identities`).
#[cfg(feature = "test-identities")]
pub const DEFAULT_REGISTER_JSON: &str = include_str!("../data/test-register.json");

/// What a [`CprRegister`] look-up resolves to: the person, `None` if the register has no such
/// number, or why the register could not answer.
pub type LookupResult = Result<Option<RegisterRecord>, RegisterError>;

/// The future of a [`CprRegister`] look-up (see the module docs for why it is boxed).
pub type LookupFuture<'a> = Pin<Box<dyn Future<Output = LookupResult> + Send + 'a>>;

/// Looks people up in the CPR register.
pub trait CprRegister: Send + Sync {
    /// The person with this CPR number, `Ok(None)` if the register has no such number.
    fn lookup<'a>(&'a self, cpr: &'a Cpr) -> LookupFuture<'a>;
}

/// What the CPR register holds about a person, as far as a PID needs it. `Debug` masks the CPR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterRecord {
    /// The CPR number.
    pub cpr: Cpr,
    /// First and middle names.
    pub given_name: String,
    /// Last name(s).
    pub family_name: String,
    /// Date of birth.
    pub birth_date: Date,
    /// Place of birth (at least one member).
    pub birth_place: PlaceOfBirth,
    /// Nationalities, ISO 3166-1 alpha-2 (at least one).
    pub nationalities: Vec<String>,
    /// Current Danish address, if any.
    pub address: Option<RegisterAddress>,
    /// Legal sex.
    pub sex: Sex,
    /// Whether the person is alive, resident, …
    pub status: PersonStatus,
    /// Last name(s) at birth, if recorded.
    pub family_name_birth: Option<String>,
    /// First name(s) at birth, if recorded.
    pub given_name_birth: Option<String>,
}

/// A Danish address as the CPR register records it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterAddress {
    /// Street name (`vejnavn`).
    pub street_name: String,
    /// House number with letter (`husnr`), e.g. `12B`.
    pub house_number: String,
    /// Floor (`etage`), e.g. `2`, `st`.
    #[serde(default)]
    pub floor: Option<String>,
    /// Door (`sidedør`), e.g. `th`, `tv`, `mf`, `3`.
    #[serde(default)]
    pub door: Option<String>,
    /// Postal code (`postnr`).
    pub postal_code: String,
    /// Postal district (`postdistrikt`).
    pub city: String,
    /// Region, e.g. `Region Hovedstaden`.
    #[serde(default)]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 (`DK`).
    pub country: String,
}

impl RegisterAddress {
    /// Street, house number, floor and door as Danish addresses write them: `Vestergade 12, 2. th.`.
    pub fn street_address(&self) -> String {
        let mut s = format!("{} {}", self.street_name, self.house_number);
        match (&self.floor, &self.door) {
            (Some(f), Some(d)) => s.push_str(&format!(", {f}. {d}.")),
            (Some(f), None) => s.push_str(&format!(", {f}.")),
            (None, Some(d)) => s.push_str(&format!(", {d}")),
            (None, None) => {}
        }
        s
    }

    /// The PID's resident address: `formatted` is `street_address, postal_code city`.
    pub fn to_pid_address(&self) -> Address {
        let street = self.street_address();
        Address {
            formatted: Some(format!("{street}, {} {}", self.postal_code, self.city)),
            street_address: Some(street),
            house_number: Some(self.house_number.clone()),
            postal_code: Some(self.postal_code.clone()),
            locality: Some(self.city.clone()),
            region: self.region.clone(),
            country: Some(self.country.clone()),
        }
    }
}

/// A person's status in the CPR register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PersonStatus {
    /// Alive and registered (resident or special-registered).
    Active,
    /// Emigrated from Denmark: still a CPR number, no Danish address.
    Emigrated {
        /// Date of emigration, if known.
        date: Option<Date>,
    },
    /// Registered as disappeared (`forsvundet`).
    Disappeared {
        /// Date registered, if known.
        date: Option<Date>,
    },
    /// Deceased.
    Deceased {
        /// Date of death.
        date: Date,
    },
    /// The number is no longer in use (annulled, or replaced by another number).
    Cancelled,
}

/// The CPR register could not answer, or a register file is not valid. Messages never contain a
/// full CPR number.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// The register file could not be read.
    #[error("cannot read the CPR register file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The register file is not JSON.
    #[error("the CPR register file is not valid JSON: {0}")]
    Syntax(#[source] serde_json::Error),
    /// The register file is JSON but not `{"persons": [...]}`.
    #[error("the CPR register file must be an object with a \"persons\" array")]
    Shape,
    /// One entry is not a valid person.
    #[error("CPR register entry {index} is invalid: {reason}")]
    InvalidEntry {
        /// Position in `persons`, from 0.
        index: usize,
        /// What is wrong (never the CPR number).
        reason: String,
    },
    /// Two entries have the same CPR number.
    #[error("CPR register entry {index}: CPR number {cpr} appears more than once")]
    Duplicate {
        /// Position of the second entry.
        index: usize,
        /// The number (shown masked).
        cpr: Cpr,
    },
    /// A remote register did not answer.
    #[error("the CPR register is unavailable: {0}")]
    Unavailable(String),
}

/// A test CPR register held in memory, read from a JSON file (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct FileRegister {
    persons: HashMap<Cpr, RegisterRecord>,
    order: Vec<Cpr>,
}

impl FileRegister {
    /// The default test register shipped with this crate (`data/test-register.json`; feature
    /// `test-identities`).
    #[cfg(feature = "test-identities")]
    pub fn embedded() -> Self {
        #[expect(
            clippy::expect_used,
            reason = "the embedded file is fixed at build time and parsed by a unit test"
        )]
        Self::from_json(DEFAULT_REGISTER_JSON).expect("embedded test register parses")
    }

    /// Reads a register file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, RegisterError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| RegisterError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Parses a register file's contents.
    pub fn from_json(text: &str) -> Result<Self, RegisterError> {
        // Parse to a JSON value first: serde_json's syntax errors name positions only, never
        // values, so no CPR number ends up in an error message.
        let value: serde_json::Value = serde_json::from_str(text).map_err(RegisterError::Syntax)?;
        let entries = value
            .get("persons")
            .and_then(|p| p.as_array())
            .ok_or(RegisterError::Shape)?;
        let mut register = Self::default();
        for (index, entry) in entries.iter().enumerate() {
            let record = parse_entry(entry)
                .map_err(|reason| RegisterError::InvalidEntry { index, reason })?;
            if register.persons.contains_key(&record.cpr) {
                return Err(RegisterError::Duplicate {
                    index,
                    cpr: record.cpr,
                });
            }
            register.order.push(record.cpr.clone());
            register.persons.insert(record.cpr.clone(), record);
        }
        Ok(register)
    }

    /// The person with this CPR number, looked up synchronously (the register is in memory).
    pub fn get(&self, cpr: &Cpr) -> Option<&RegisterRecord> {
        self.persons.get(cpr)
    }

    /// Every person, in file order.
    pub fn records(&self) -> impl Iterator<Item = &RegisterRecord> {
        self.order.iter().filter_map(|c| self.persons.get(c))
    }

    /// Number of persons.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the register is empty.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl CprRegister for FileRegister {
    fn lookup<'a>(&'a self, cpr: &'a Cpr) -> LookupFuture<'a> {
        Box::pin(std::future::ready(Ok(self.persons.get(cpr).cloned())))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerson {
    cpr: Cpr,
    given_name: String,
    family_name: String,
    #[serde(default, with = "json::serde_date_opt")]
    birth_date: Option<Date>,
    birth_place: RawPlace,
    nationalities: Vec<String>,
    #[serde(default)]
    sex: Option<Sex>,
    #[serde(default)]
    address: Option<RegisterAddress>,
    status: RawStatus,
    #[serde(default)]
    family_name_birth: Option<String>,
    #[serde(default)]
    given_name_birth: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlace {
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    locality: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RawStatus {
    Active,
    Emigrated {
        #[serde(default, with = "json::serde_date_opt")]
        date: Option<Date>,
    },
    Disappeared {
        #[serde(default, with = "json::serde_date_opt")]
        date: Option<Date>,
    },
    Deceased {
        #[serde(with = "json::serde_date")]
        date: Date,
    },
    Cancelled,
}

fn parse_entry(entry: &serde_json::Value) -> Result<RegisterRecord, String> {
    let raw = RawPerson::deserialize(entry).map_err(|e| e.to_string())?;
    if raw.given_name.trim().is_empty() || raw.family_name.trim().is_empty() {
        return Err("given_name and family_name must not be empty".into());
    }
    if raw.nationalities.is_empty() || !raw.nationalities.iter().all(|n| is_alpha2(n)) {
        return Err("nationalities must be one or more ISO 3166-1 alpha-2 codes".into());
    }
    let birth_place = PlaceOfBirth {
        country: raw.birth_place.country,
        region: raw.birth_place.region,
        locality: raw.birth_place.locality,
    };
    if birth_place == PlaceOfBirth::default() {
        return Err("birth_place needs at least one of country, region, locality".into());
    }
    if birth_place
        .country
        .as_deref()
        .is_some_and(|c| !is_alpha2(c))
    {
        return Err("birth_place.country must be an ISO 3166-1 alpha-2 code".into());
    }
    if raw.address.as_ref().is_some_and(|a| !is_alpha2(&a.country)) {
        return Err("address.country must be an ISO 3166-1 alpha-2 code".into());
    }
    let status = match raw.status {
        RawStatus::Active => PersonStatus::Active,
        RawStatus::Emigrated { date } => PersonStatus::Emigrated { date },
        RawStatus::Disappeared { date } => PersonStatus::Disappeared { date },
        RawStatus::Deceased { date } => PersonStatus::Deceased { date },
        RawStatus::Cancelled => PersonStatus::Cancelled,
    };
    Ok(RegisterRecord {
        birth_date: raw.birth_date.unwrap_or(raw.cpr.birth_date()),
        sex: raw.sex.unwrap_or(raw.cpr.sex()),
        cpr: raw.cpr,
        given_name: raw.given_name,
        family_name: raw.family_name,
        birth_place,
        nationalities: raw.nationalities,
        address: raw.address,
        status,
        family_name_birth: raw.family_name_birth,
        given_name_birth: raw.given_name_birth,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn cpr(s: &str) -> Cpr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn embedded_register_parses_and_covers_the_cases() {
        let r = FileRegister::from_json(DEFAULT_REGISTER_JSON).unwrap();
        assert!(r.len() >= 12);
        let records: Vec<_> = r.records().collect();
        assert!(records.iter().any(|p| !p.cpr.passes_modulus_11()));
        assert!(records.iter().any(|p| p.birth_date.year() < 1900));
        assert!(records.iter().any(|p| p.birth_date.year() >= 2000));
        assert!(records.iter().any(|p| p.cpr.is_replacement()));
        assert!(
            records
                .iter()
                .any(|p| matches!(p.status, PersonStatus::Deceased { .. }))
        );
        assert!(
            records
                .iter()
                .any(|p| matches!(p.status, PersonStatus::Emigrated { .. }))
        );
        let lars = r.lookup(&cpr("1203852459")).await.unwrap().unwrap();
        assert_eq!(lars.given_name, "Lars");
        assert_eq!(lars.sex, Sex::Male);
        assert_eq!(lars.birth_date, date!(1985 - 03 - 12));
        assert_eq!(r.lookup(&cpr("101079-1649")).await.unwrap(), None);
        assert_eq!(FileRegister::embedded().len(), r.len());
    }

    fn entry(extra: &str) -> String {
        format!(
            r#"{{"persons": [{{"cpr": "120385-2459", "given_name": "Lars", "family_name": "Hansen",
            "birth_place": {{"locality": "Aarhus", "country": "DK"}}, "nationalities": ["DK"],
            "status": "active"{extra}}}]}}"#
        )
    }

    #[tokio::test]
    async fn defaults_come_from_the_cpr_number() {
        let r = FileRegister::from_json(&entry("")).unwrap();
        let p = r.lookup(&cpr("120385-2459")).await.unwrap().unwrap();
        assert_eq!(p.birth_date, date!(1985 - 03 - 12));
        assert_eq!(p.sex, Sex::Male);
        assert_eq!(p.status, PersonStatus::Active);
        assert_eq!(p.address, None);
    }

    #[tokio::test]
    async fn statuses() {
        let text = entry("").replace(
            r#""status": "active""#,
            r#""status": {"deceased": {"date": "2025-11-02"}}"#,
        );
        let r = FileRegister::from_json(&text).unwrap();
        assert_eq!(
            r.lookup(&cpr("120385-2459")).await.unwrap().unwrap().status,
            PersonStatus::Deceased {
                date: date!(2025 - 11 - 02)
            }
        );
        let text = entry("").replace(r#""status": "active""#, r#""status": {"emigrated": {}}"#);
        let r = FileRegister::from_json(&text).unwrap();
        assert_eq!(
            r.lookup(&cpr("120385-2459")).await.unwrap().unwrap().status,
            PersonStatus::Emigrated { date: None }
        );
    }

    #[test]
    fn parse_errors() {
        assert!(matches!(
            FileRegister::from_json("{"),
            Err(RegisterError::Syntax(_))
        ));
        assert!(matches!(
            FileRegister::from_json("[]"),
            Err(RegisterError::Shape)
        ));
        assert!(matches!(
            FileRegister::from_json(r#"{"persons": {}}"#),
            Err(RegisterError::Shape)
        ));
        for (what, text) in [
            (
                "bad cpr date",
                entry("").replace("120385-2459", "310285-2459"),
            ),
            (
                "cpr as number",
                entry("").replace("\"120385-2459\"", "1203852459"),
            ),
            (
                "missing name",
                entry("").replace(r#""given_name": "Lars", "#, ""),
            ),
            ("empty name", entry("").replace(r#""Lars""#, r#""  ""#)),
            ("no nationality", entry("").replace(r#"["DK"]"#, "[]")),
            (
                "bad nationality",
                entry("").replace(r#"["DK"]"#, r#"["Danish"]"#),
            ),
            (
                "empty birth place",
                entry("").replace(r#"{"locality": "Aarhus", "country": "DK"}"#, "{}"),
            ),
            (
                "bad birth place country",
                entry("").replace(r#""country": "DK""#, r#""country": "DNK""#),
            ),
            ("unknown field", entry(r#", "cpr_status": 1"#)),
            (
                "unknown status",
                entry("").replace(r#""active""#, r#""alive""#),
            ),
            ("bad date", entry(r#", "birth_date": "12-03-1985""#)),
            (
                "deceased without date",
                entry("").replace(r#""active""#, r#"{"deceased": {}}"#),
            ),
            ("bad sex", entry(r#", "sex": "m""#)),
            (
                "address without street",
                entry(
                    r#", "address": {"house_number": "1", "postal_code": "8000", "city": "Aarhus", "country": "DK"}"#,
                ),
            ),
        ] {
            let err = FileRegister::from_json(&text).unwrap_err();
            assert!(
                matches!(err, RegisterError::InvalidEntry { index: 0, .. }),
                "{what}: {err}"
            );
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("2459"), "{what}: {shown}");
        }
        let doubled = entry("").replace("}]}", "}, {\"cpr\": \"1203852459\", \"given_name\": \"L\", \"family_name\": \"H\", \"birth_place\": {\"country\": \"DK\"}, \"nationalities\": [\"DK\"], \"status\": \"active\"}]}");
        let err = FileRegister::from_json(&doubled).unwrap_err();
        assert!(
            matches!(err, RegisterError::Duplicate { index: 1, .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "CPR register entry 1: CPR number 120385-**** appears more than once"
        );
        let err = FileRegister::from_path("/nonexistent/register.json").unwrap_err();
        assert!(matches!(err, RegisterError::Io { .. }));
    }

    #[test]
    fn danish_street_addresses() {
        let mut a = RegisterAddress {
            street_name: "Vestergade".into(),
            house_number: "12".into(),
            floor: Some("2".into()),
            door: Some("th".into()),
            postal_code: "8000".into(),
            city: "Aarhus C".into(),
            region: Some("Region Midtjylland".into()),
            country: "DK".into(),
        };
        assert_eq!(a.street_address(), "Vestergade 12, 2. th.");
        let pid = a.to_pid_address();
        assert_eq!(
            pid.formatted.as_deref(),
            Some("Vestergade 12, 2. th., 8000 Aarhus C")
        );
        assert_eq!(pid.house_number.as_deref(), Some("12"));
        a.floor = None;
        a.door = None;
        assert_eq!(a.street_address(), "Vestergade 12");
        a.floor = Some("st".into());
        assert_eq!(a.street_address(), "Vestergade 12, st.");
    }

    #[test]
    fn debug_masks_the_cpr() {
        let r = FileRegister::embedded();
        let shown = format!("{r:?}");
        for p in r.records() {
            assert!(!shown.contains(p.cpr.expose()));
        }
    }
}
