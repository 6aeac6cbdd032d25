//! MitID test identities for the embedded MitID test identity provider (`eudi-mitid`) and for
//! tests, read from a JSON file; the default is `data/test-identities.json`.
//!
//! Each identity says what a MitID broker would send about it (UUID, levels, identity type,
//! CPR number or P code, name, birth date) and, for tests, how the issuer is expected to answer
//! with the default [`IssuerPolicy`](crate::rules::IssuerPolicy) and the default test register:
//! `expected_refusal` is a [`Refusal::code`](crate::rules::Refusal::code), or absent when a PID is
//! issued.
//!
//! ```json
//! [ { "username": "substantial", "uuid": "…", "loa": "substantial",
//!     "identity_type": "private", "cpr": "120385-2459", "name": "Lars Hansen",
//!     "birth_date": "1985-03-12", "description": "…" } ]
//! ```
//!
//! Levels (`loa`, `ial`, `aal`, `fal`) accept every spelling [`AssuranceLevel`] parses; at least
//! one is given, and the identity's level is the lowest of those given.

use std::collections::HashSet;
use std::path::Path;

use eudi_trust::AssuranceLevel;
use serde::Deserialize;
use serde::Serialize;
use time::Date;

use crate::cpr::Cpr;
use crate::json;
use crate::login::IdentityType;
use crate::login::MitIdLogin;

/// The default test identities, `data/test-identities.json`.
pub const DEFAULT_TEST_IDENTITIES_JSON: &str = include_str!("../data/test-identities.json");

/// One MitID test identity. `Debug` masks the CPR number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestIdentity {
    /// What to type (or POST as `username`) on the test provider's login page.
    pub username: String,
    /// The MitID UUID (`mitid.uuid`, the `sub`).
    pub uuid: String,
    /// Overall level of assurance (`loa`), if given.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "level_opt")]
    pub loa: Option<AssuranceLevel>,
    /// Identity assurance level (`ial`), if given separately.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "level_opt")]
    pub ial: Option<AssuranceLevel>,
    /// Authenticator assurance level (`aal`), if given separately.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "level_opt")]
    pub aal: Option<AssuranceLevel>,
    /// Federation assurance level (`fal`), if given separately.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "level_opt")]
    pub fal: Option<AssuranceLevel>,
    /// Private or MitID Erhverv (`identity_type`).
    pub identity_type: IdentityType,
    /// The CPR number (`dk.cpr`), if the identity has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpr: Option<Cpr>,
    /// The 8-digit P code of an identity without CPR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcode: Option<String>,
    /// Full name as MitID holds it (`mitid.identity_name`).
    pub name: String,
    /// Date of birth as MitID holds it (`mitid.date_of_birth`).
    #[serde(with = "json::serde_date")]
    pub birth_date: Date,
    /// For MitID Erhverv: the organisation (`nemlogin.cvr`, `nemlogin.org_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<Organisation>,
    /// Which case this identity covers.
    #[serde(default)]
    pub description: String,
    /// The issuer's expected refusal code with the default policy and register; `None`: issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_refusal: Option<String>,
}

/// The organisation a MitID Erhverv identity acts for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// CVR number (8 digits).
    pub cvr: String,
    /// Organisation name.
    pub name: String,
}

/// A test identity file is not valid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestIdentityError {
    /// The file could not be read.
    #[error("cannot read the test identity file {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("the test identity file is not valid JSON: {0}")]
    Syntax(#[source] serde_json::Error),
    /// The file is JSON but not an array of identities.
    #[error("the test identity file must be a JSON array of identities")]
    Shape,
    /// One identity is invalid.
    #[error("test identity {index} is invalid: {reason}")]
    Invalid {
        /// Position in the array, from 0.
        index: usize,
        /// What is wrong (never a CPR number).
        reason: String,
    },
}

impl TestIdentity {
    /// The overall level: the lowest of `loa`, `ial`, `aal`, `fal` that are given
    /// (`Low` if none is, which a loaded file never has).
    pub fn level(&self) -> AssuranceLevel {
        [self.loa, self.ial, self.aal, self.fal]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(AssuranceLevel::Low)
    }

    /// The IAL a broker sends: `ial`, else `loa`.
    pub fn ial(&self) -> AssuranceLevel {
        self.ial.unwrap_or(self.level())
    }

    /// The AAL a broker sends: `aal`, else `loa`.
    pub fn aal(&self) -> AssuranceLevel {
        self.aal.unwrap_or(self.level())
    }

    /// The FAL a broker sends: `fal`, else `loa`.
    pub fn fal(&self) -> AssuranceLevel {
        self.fal.unwrap_or(self.level())
    }

    /// The login this identity makes, as the MitID client would map it.
    pub fn to_login(&self) -> MitIdLogin {
        MitIdLogin {
            subject: self.uuid.clone(),
            identity_type: self.identity_type,
            loa: self.level(),
            cpr: self.cpr.clone(),
            name: Some(self.name.clone()),
            birth_date: Some(self.birth_date),
            pcode: self.pcode.clone(),
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.username.trim().is_empty() || self.uuid.trim().is_empty() {
            return Err("username and uuid must not be empty".into());
        }
        if [self.loa, self.ial, self.aal, self.fal]
            .iter()
            .all(Option::is_none)
        {
            return Err("needs a level: loa, or ial/aal/fal".into());
        }
        if let Some(p) = &self.pcode
            && (p.len() != 8 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("pcode must be 8 digits".into());
        }
        if self.cpr.is_some() && self.pcode.is_some() {
            return Err("an identity has a CPR number or a P code, not both".into());
        }
        if self.identity_type == IdentityType::Private && self.cpr.is_none() && self.pcode.is_none()
        {
            return Err("a private identity needs a CPR number or a P code".into());
        }
        Ok(())
    }
}

/// Parses a test identity file.
pub fn parse_test_identities(text: &str) -> Result<Vec<TestIdentity>, TestIdentityError> {
    // Through a JSON value first: syntax errors then name positions only, never values.
    let value: serde_json::Value = serde_json::from_str(text).map_err(TestIdentityError::Syntax)?;
    let entries = value.as_array().ok_or(TestIdentityError::Shape)?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let invalid = |reason: String| TestIdentityError::Invalid { index, reason };
        let identity = TestIdentity::deserialize(entry).map_err(|e| invalid(e.to_string()))?;
        identity.check().map_err(invalid)?;
        if !seen.insert(identity.username.to_lowercase()) {
            return Err(invalid("username appears more than once".into()));
        }
        out.push(identity);
    }
    Ok(out)
}

/// Reads a test identity file.
pub fn load_test_identities(
    path: impl AsRef<Path>,
) -> Result<Vec<TestIdentity>, TestIdentityError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| TestIdentityError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_test_identities(&text)
}

/// The default test identities (`data/test-identities.json`).
pub fn default_test_identities() -> Vec<TestIdentity> {
    #[expect(
        clippy::expect_used,
        reason = "the embedded file is fixed at build time and parsed by a unit test"
    )]
    parse_test_identities(DEFAULT_TEST_IDENTITIES_JSON).expect("embedded test identities parse")
}

/// Serde for an optional level in any spelling [`AssuranceLevel`] parses.
mod level_opt {
    use eudi_trust::AssuranceLevel;
    use serde::Deserialize;
    use serde::Deserializer;
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(
        level: &Option<AssuranceLevel>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match level {
            Some(l) => s.serialize_str(l.as_str()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<AssuranceLevel>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use time::macros::date;

    use super::*;
    use crate::register::FileRegister;
    use crate::register::PersonStatus;
    use crate::rules::IssuerPolicy;
    use crate::rules::pid_from_login;

    fn by_name() -> HashMap<String, TestIdentity> {
        default_test_identities()
            .into_iter()
            .map(|i| (i.username.clone(), i))
            .collect()
    }

    #[test]
    fn default_file_covers_every_case_of_the_issue() {
        let ids = default_test_identities();
        let register = FileRegister::embedded();
        let in_register = |i: &TestIdentity| i.cpr.as_ref().and_then(|c| register.get(c).cloned());
        let private_with_cpr = |i: &&TestIdentity| {
            i.identity_type == IdentityType::Private && in_register(i).is_some()
        };
        assert!(
            ids.iter()
                .filter(private_with_cpr)
                .any(|i| i.level() == AssuranceLevel::Substantial)
        );
        assert!(
            ids.iter()
                .filter(private_with_cpr)
                .any(|i| i.level() == AssuranceLevel::High)
        );
        assert!(ids.iter().any(|i| i.level() == AssuranceLevel::Low));
        assert!(ids.iter().any(|i| i.cpr.is_none() && i.pcode.is_some()));
        assert!(
            ids.iter()
                .any(|i| i.identity_type == IdentityType::Professional)
        );
        assert!(
            ids.iter()
                .filter_map(|i| i.cpr.as_ref())
                .any(|c| !c.passes_modulus_11())
        );
        assert!(ids.iter().filter_map(|i| i.cpr.as_ref()).any(|c| {
            c.birth_date().year() < 1900 && matches!(c.expose().as_bytes()[6], b'5'..=b'8')
        }));
        assert!(
            ids.iter()
                .filter_map(|i| i.cpr.as_ref())
                .any(|c| c.birth_date().year() >= 2000)
        );
        assert!(ids.iter().any(|i| {
            in_register(i).is_some_and(|r| matches!(r.status, PersonStatus::Deceased { .. }))
        }));
        assert!(
            ids.iter()
                .any(|i| in_register(i).is_some_and(|r| r.birth_date != i.birth_date))
        );
        assert!(
            ids.iter()
                .any(|i| i.ial.is_some() && i.aal.is_some() && i.loa.is_none())
        );
    }

    #[tokio::test]
    async fn every_identity_gets_its_expected_answer() {
        let register = FileRegister::embedded();
        let policy = IssuerPolicy::default();
        for identity in default_test_identities() {
            let outcome = pid_from_login(
                &identity.to_login(),
                &register,
                &policy,
                date!(2026 - 03 - 01),
            )
            .await;
            assert_eq!(
                outcome.as_ref().err().map(|r| r.code()),
                identity.expected_refusal.as_deref(),
                "{}: {:?}",
                identity.username,
                outcome.as_ref().err().map(ToString::to_string)
            );
            if let Ok(data) = outcome {
                assert_eq!(data.assurance_level, identity.level());
                assert_eq!(Some(data.pid.birth_date), identity.to_login().birth_date);
            }
        }
    }

    #[test]
    fn levels() {
        let ids = by_name();
        let split = &ids["split-levels"];
        assert_eq!(split.ial(), AssuranceLevel::High);
        assert_eq!(split.aal(), AssuranceLevel::Substantial);
        assert_eq!(split.level(), AssuranceLevel::Substantial);
        assert_eq!(ids["high"].aal(), AssuranceLevel::High);
    }

    #[test]
    fn every_spelling_of_levels_is_read() {
        let text = r#"[{"username": "a", "uuid": "u", "loa": "https://data.gov.dk/concept/core/nsis/loa/High",
            "identity_type": "private", "pcode": "12345678", "name": "A B", "birth_date": "1990-01-01"},
            {"username": "b", "uuid": "v", "ial": "SUBSTANTIAL", "aal": "http://eidas.europa.eu/LoA/high",
            "identity_type": "private", "pcode": "12345679", "name": "A B", "birth_date": "1990-01-01"}]"#;
        let ids = parse_test_identities(text).unwrap();
        assert_eq!(ids[0].level(), AssuranceLevel::High);
        assert_eq!(ids[1].level(), AssuranceLevel::Substantial);
    }

    #[test]
    fn invalid_files() {
        let ok = r#"{"username": "a", "uuid": "u", "loa": "low", "identity_type": "private",
            "cpr": "120385-2459", "name": "A B", "birth_date": "1990-01-01"}"#;
        assert!(parse_test_identities(&format!("[{ok}]")).is_ok());
        assert!(matches!(
            parse_test_identities("{"),
            Err(TestIdentityError::Syntax(_))
        ));
        assert!(matches!(
            parse_test_identities("{}"),
            Err(TestIdentityError::Shape)
        ));
        for (what, text) in [
            ("no level", ok.replace(r#""loa": "low", "#, "")),
            ("bad level", ok.replace(r#""low""#, r#""medium""#)),
            (
                "cpr and pcode",
                ok.replace(r#""name""#, r#""pcode": "12345678", "name""#),
            ),
            ("neither", ok.replace(r#""cpr": "120385-2459", "#, "")),
            (
                "short pcode",
                ok.replace(r#""cpr": "120385-2459""#, r#""pcode": "1234567""#),
            ),
            ("bad cpr", ok.replace("120385-2459", "320385-2459")),
            ("cpr number", ok.replace(r#""120385-2459""#, "1203852459")),
            ("bad date", ok.replace("1990-01-01", "01-01-1990")),
            ("unknown type", ok.replace(r#""private""#, r#""company""#)),
            (
                "unknown field",
                ok.replace(r#""name""#, r#""nick": "x", "name""#),
            ),
        ] {
            let err = parse_test_identities(&format!("[{text}]")).unwrap_err();
            assert!(
                matches!(err, TestIdentityError::Invalid { index: 0, .. }),
                "{what}: {err}"
            );
            assert!(!err.to_string().contains("2459"), "{what}: {err}");
        }
        let dup = parse_test_identities(&format!("[{ok}, {}]", ok.replace("\"a\"", "\"A\"")))
            .unwrap_err();
        assert!(matches!(dup, TestIdentityError::Invalid { index: 1, .. }));
    }

    #[test]
    fn serde_round_trip() {
        let ids = default_test_identities();
        let text = serde_json::to_string(&ids).unwrap();
        assert_eq!(parse_test_identities(&text).unwrap(), ids);
    }

    #[test]
    fn debug_masks_the_cpr() {
        for i in default_test_identities() {
            if let Some(c) = &i.cpr {
                let shown = format!("{i:?} {:?}", i.to_login());
                assert!(!shown.contains(c.expose()), "{}", i.username);
            }
        }
    }
}
