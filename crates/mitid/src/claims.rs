//! Mapping the claims a MitID broker sends to one [`MitIdLogin`], whichever broker it is.
//!
//! [`map_claims`] recognises the broker by its claim names ([`detect_broker`]):
//!
//! | | Signaturgruppen / Nets eID Broker | Idura (Criipto) | OIOSAML 3 (NemLog-in) attribute URIs |
//! |---|---|---|---|
//! | recognised by | `mitid.*`, `nemlogin.*`, `dk.cpr`, `identity_type`, `idp_identity_id` | `identityscheme`, `cprNumberIdentifier`, `cvrNumberIdentifier`, `loA`, `uuid` | any `https://data.gov.dk/…` name |
//! | subject | `nemlogin.persistent_professional_id` (Erhverv), `mitid.uuid`, `sub` | `uuid`, `sub` | `…/eid/professional/uuid/persistent`, `…/eid/cprUuid`, `…/eid/privatePerson/pid`, `…/eid/person/pid`, `sub` |
//! | level | `ial`, `aal`, `fal`, `loa` (`acr` as a fallback) | `ial`, `aal`, `fal`, `loA` (`acr`/`authenticationtype` `urn:grn:authn:dk:mitid:…` as a fallback) | `…/nsis/ial`, `…/nsis/aal`, `…/nsis/fal`, `…/nsis/loa` |
//! | identity type | `identity_type` (`private`/`professional`), else Erhverv if `nemlogin.*` | Erhverv if `cvrNumberIdentifier` or `employee` is `true` | Erhverv if any `…/eid/professional/…` |
//! | CPR | `dk.cpr` (or `nemlogin.cpr`), with `mitid.has_cpr` | `cprNumberIdentifier` | `…/eid/cprNumber` |
//! | name | `mitid.identity_name`, `nemlogin.name`, `name` | `name` | `…/eid/fullName`, else `firstName` + `lastName` |
//! | birth date | `mitid.date_of_birth`, `nemlogin.date_of_birth`, `birthdate` (YYYY-MM-DD) | `birthdate`, `dateofbirth` (YYYY-MM-DD) | `…/eid/dateOfBirth` (DD-MM-YYYY) |
//!
//! Values arrive as strings (a one-element array of a string, as SAML-to-JSON bridges write
//! attributes, is read the same way). Dates are read in either order, YYYY-MM-DD or DD-MM-YYYY,
//! since the four-digit year fixes which it is. Every level spelling
//! [`AssuranceLevel::from_str`] knows is accepted (`Substantial`, `SUBSTANTIAL`,
//! `https://data.gov.dk/concept/core/nsis/Substantial`, `…/nsis/loa/Substantial`, eIDAS URIs).
//!
//! The overall level is the lowest of every level the broker states (IAL, AAL, FAL and the
//! overall `loa`): a login is only as strong as its weakest part, and a broker's `loa` that
//! claimed more than its parts would not be believed. The P code of a CPR-less identity is not
//! sent by any broker, so [`MitIdLogin::pcode`] is always `None` here.
//!
//! Errors never quote a CPR number, a name or a date: only claim names.

use std::str::FromStr;

use eudi_pid::Cpr;
use eudi_pid::IdentityType;
use eudi_pid::MitIdLogin;
use eudi_trust::AssuranceLevel;
use serde_json::Map;
use serde_json::Value;
use time::Date;
use time::Month;

/// The OIOSAML 3 attribute name prefix (`https://data.gov.dk/model/core/eid/…`).
pub const OIOSAML_EID: &str = "https://data.gov.dk/model/core/eid/";
/// The OIOSAML 3 NSIS level attribute prefix (`https://data.gov.dk/concept/core/nsis/…`).
pub const OIOSAML_NSIS: &str = "https://data.gov.dk/concept/core/nsis/";

/// Which broker's claim names a set of claims uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Broker {
    /// Signaturgruppen's broker, also sold as Nets eID Broker (`mitid.*`, `dk.cpr`, `nemlogin.*`).
    NetsEidBroker,
    /// Idura, formerly Criipto (`cprNumberIdentifier`, `loA`, `uuid`).
    Idura,
    /// OIOSAML 3 attribute URIs (NemLog-in), as claim names.
    OioSaml,
}

/// Why claims could not be mapped to a login. Never carries claim values that may be personal
/// data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// The claims use no broker's names this crate knows.
    #[error("the claims are from no known MitID broker")]
    UnknownBroker,
    /// A claim that is needed is missing.
    #[error("claim `{0}` is missing")]
    MissingClaim(&'static str),
    /// No claim states a level of assurance.
    #[error("no level of assurance in the claims (looked for {0})")]
    MissingLevel(&'static str),
    /// A claim has the wrong JSON type or form.
    #[error("claim `{claim}` is not valid: {reason}")]
    InvalidValue {
        /// The claim's name.
        claim: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A level claim is no level of assurance (levels are not personal, so it is quoted).
    #[error("claim `{claim}` is no level of assurance: {value:?}")]
    InvalidLevel {
        /// The claim's name.
        claim: String,
        /// Its value.
        value: String,
    },
    /// The CPR claim is no CPR number.
    #[error("claim `{claim}` is no CPR number: {source}")]
    InvalidCpr {
        /// The claim's name.
        claim: String,
        /// Why (never contains the number).
        source: eudi_pid::CprError,
    },
    /// Claims contradict each other.
    #[error("the claims contradict each other: {0}")]
    Inconsistent(&'static str),
}

/// Which broker's names `claims` uses, if any.
pub fn detect_broker(claims: &Map<String, Value>) -> Option<Broker> {
    let has = |name: &str| claims.contains_key(name);
    if claims.keys().any(|k| k.starts_with("https://data.gov.dk/")) {
        return Some(Broker::OioSaml);
    }
    if claims
        .keys()
        .any(|k| k.starts_with("mitid.") || k.starts_with("nemlogin."))
        || has("dk.cpr")
        || has("identity_type")
        || has("idp_identity_id")
    {
        return Some(Broker::NetsEidBroker);
    }
    if has("identityscheme")
        || has("cprNumberIdentifier")
        || has("cvrNumberIdentifier")
        || has("loA")
        || has("uuid")
    {
        return Some(Broker::Idura);
    }
    // Nets eID Broker's minimal shape: only the NSIS levels.
    if has("loa") || (has("ial") && has("aal")) {
        return Some(Broker::NetsEidBroker);
    }
    None
}

/// Maps a broker's claims (ID token, userinfo, or both merged) to a [`MitIdLogin`].
pub fn map_claims(claims: &Map<String, Value>) -> Result<MitIdLogin, MappingError> {
    match detect_broker(claims).ok_or(MappingError::UnknownBroker)? {
        Broker::NetsEidBroker => map_nets(claims),
        Broker::Idura => map_idura(claims),
        Broker::OioSaml => map_oiosaml(claims),
    }
}

fn map_nets(c: &Map<String, Value>) -> Result<MitIdLogin, MappingError> {
    let identity_type = match text(c, "identity_type")? {
        Some(t) => IdentityType::from_str(&t).map_err(|_| MappingError::InvalidValue {
            claim: "identity_type".into(),
            reason: "expected private or professional",
        })?,
        None if c.keys().any(|k| k.starts_with("nemlogin.")) => IdentityType::Professional,
        None => IdentityType::Private,
    };
    let subject_claims: &[&'static str] = match identity_type {
        IdentityType::Professional => &["nemlogin.persistent_professional_id", "mitid.uuid", "sub"],
        IdentityType::Private => &["mitid.uuid", "sub"],
    };
    let subject = first_text(c, subject_claims)?.ok_or(MappingError::MissingClaim("mitid.uuid"))?;
    let loa = level(
        c,
        &["ial", "aal", "fal", "loa"],
        &["acr"],
        "ial, aal, fal, loa",
    )?;
    let has_cpr = boolean(c, "mitid.has_cpr")?;
    let cpr = cpr(c, &["dk.cpr", "nemlogin.cpr"])?;
    if has_cpr == Some(false) && cpr.is_some() {
        return Err(MappingError::Inconsistent(
            "mitid.has_cpr is false but a CPR number is present",
        ));
    }
    let name = match first_text(c, &["mitid.identity_name", "nemlogin.name", "name"])? {
        Some(name) => Some(name),
        None => joined(c, "nemlogin.given_name", "nemlogin.family_name")?,
    };
    let birth_date = first_date(
        c,
        &["mitid.date_of_birth", "nemlogin.date_of_birth", "birthdate"],
    )?;
    Ok(MitIdLogin {
        subject,
        identity_type,
        loa,
        cpr,
        name,
        birth_date,
        pcode: None,
    })
}

fn map_idura(c: &Map<String, Value>) -> Result<MitIdLogin, MappingError> {
    let professional =
        c.contains_key("cvrNumberIdentifier") || boolean(c, "employee")? == Some(true);
    let identity_type = if professional {
        IdentityType::Professional
    } else {
        IdentityType::Private
    };
    let subject = first_text(c, &["uuid", "sub"])?.ok_or(MappingError::MissingClaim("uuid"))?;
    let loa = level(
        c,
        &["ial", "aal", "fal", "loA"],
        &["acr", "authenticationtype"],
        "ial, aal, fal, loA",
    )?;
    Ok(MitIdLogin {
        subject,
        identity_type,
        loa,
        cpr: cpr(c, &["cprNumberIdentifier"])?,
        name: first_text(c, &["name"])?,
        birth_date: first_date(c, &["birthdate", "dateofbirth"])?,
        pcode: None,
    })
}

const SAML_CPR: &str = "https://data.gov.dk/model/core/eid/cprNumber";
const SAML_DOB: &str = "https://data.gov.dk/model/core/eid/dateOfBirth";
const SAML_FULL_NAME: &str = "https://data.gov.dk/model/core/eid/fullName";
const SAML_FIRST_NAME: &str = "https://data.gov.dk/model/core/eid/firstName";
const SAML_LAST_NAME: &str = "https://data.gov.dk/model/core/eid/lastName";
const SAML_PROFESSIONAL: &str = "https://data.gov.dk/model/core/eid/professional/";
const SAML_PROFESSIONAL_UUID: &str =
    "https://data.gov.dk/model/core/eid/professional/uuid/persistent";
const SAML_CPR_UUID: &str = "https://data.gov.dk/model/core/eid/cprUuid";
const SAML_PRIVATE_PID: &str = "https://data.gov.dk/model/core/eid/privatePerson/pid";
const SAML_PERSON_PID: &str = "https://data.gov.dk/model/core/eid/person/pid";
const SAML_IAL: &str = "https://data.gov.dk/concept/core/nsis/ial";
const SAML_AAL: &str = "https://data.gov.dk/concept/core/nsis/aal";
const SAML_FAL: &str = "https://data.gov.dk/concept/core/nsis/fal";
const SAML_LOA: &str = "https://data.gov.dk/concept/core/nsis/loa";

fn map_oiosaml(c: &Map<String, Value>) -> Result<MitIdLogin, MappingError> {
    let identity_type = if c.keys().any(|k| k.starts_with(SAML_PROFESSIONAL)) {
        IdentityType::Professional
    } else {
        IdentityType::Private
    };
    let subject_claims: &[&'static str] = match identity_type {
        IdentityType::Professional => &[SAML_PROFESSIONAL_UUID, SAML_CPR_UUID, "sub"],
        IdentityType::Private => &[SAML_CPR_UUID, SAML_PRIVATE_PID, SAML_PERSON_PID, "sub"],
    };
    let subject =
        first_text(c, subject_claims)?.ok_or(MappingError::MissingClaim(SAML_CPR_UUID))?;
    let loa = level(
        c,
        &[SAML_IAL, SAML_AAL, SAML_FAL, SAML_LOA],
        &[],
        "the NSIS ial, aal, fal and loa attributes",
    )?;
    let name = match first_text(c, &[SAML_FULL_NAME])? {
        Some(name) => Some(name),
        None => joined(c, SAML_FIRST_NAME, SAML_LAST_NAME)?,
    };
    Ok(MitIdLogin {
        subject,
        identity_type,
        loa,
        cpr: cpr(c, &[SAML_CPR])?,
        name,
        birth_date: first_date(c, &[SAML_DOB])?,
        pcode: None,
    })
}

/// A claim's string value: a JSON string, or a one-element array of one. Empty strings count as
/// absent.
fn text(c: &Map<String, Value>, name: &str) -> Result<Option<String>, MappingError> {
    let invalid = || MappingError::InvalidValue {
        claim: name.to_owned(),
        reason: "expected a string",
    };
    let value = match c.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(Value::Array(items)) => match items.as_slice() {
            [Value::String(s)] => s,
            [] => return Ok(None),
            _ => return Err(invalid()),
        },
        Some(_) => return Err(invalid()),
    };
    let value = value.trim();
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

fn first_text(c: &Map<String, Value>, names: &[&str]) -> Result<Option<String>, MappingError> {
    for name in names {
        if let Some(value) = text(c, name)? {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

fn joined(c: &Map<String, Value>, first: &str, last: &str) -> Result<Option<String>, MappingError> {
    Ok(match (text(c, first)?, text(c, last)?) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(one), None) | (None, Some(one)) => Some(one),
        (None, None) => None,
    })
}

/// `"true"`/`"false"` (any case) or a JSON boolean.
fn boolean(c: &Map<String, Value>, name: &str) -> Result<Option<bool>, MappingError> {
    if let Some(Value::Bool(b)) = c.get(name) {
        return Ok(Some(*b));
    }
    match text(c, name)? {
        None => Ok(None),
        Some(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(MappingError::InvalidValue {
            claim: name.to_owned(),
            reason: "expected true or false",
        }),
    }
}

fn cpr(c: &Map<String, Value>, names: &[&str]) -> Result<Option<Cpr>, MappingError> {
    for name in names {
        if let Some(value) = text(c, name)? {
            return Cpr::from_str(&value)
                .map(Some)
                .map_err(|source| MappingError::InvalidCpr {
                    claim: (*name).to_owned(),
                    source,
                });
        }
    }
    Ok(None)
}

fn first_date(c: &Map<String, Value>, names: &[&str]) -> Result<Option<Date>, MappingError> {
    for name in names {
        if let Some(value) = text(c, name)? {
            return parse_date(&value)
                .map(Some)
                .ok_or_else(|| MappingError::InvalidValue {
                    claim: (*name).to_owned(),
                    reason: "expected a date, YYYY-MM-DD or DD-MM-YYYY",
                });
        }
    }
    Ok(None)
}

/// `YYYY-MM-DD` (OIDC) or `DD-MM-YYYY` (OIOSAML); which one is told by where the four-digit
/// year stands.
pub fn parse_date(s: &str) -> Option<Date> {
    let parts: Vec<&str> = s.split('-').collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (year, month, day) = match (a.len(), b.len(), c.len()) {
        (4, 2, 2) => (*a, *b, *c),
        (2, 2, 4) => (*c, *b, *a),
        _ => return None,
    };
    let number = |t: &str| -> Option<u16> {
        if t.bytes().all(|b| b.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let year = i32::from(number(year)?);
    let month = Month::try_from(u8::try_from(number(month)?).ok()?).ok()?;
    let day = u8::try_from(number(day)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// The lowest of the levels stated in `parts` (IAL, AAL, FAL, overall); when none is, the first
/// of `fallbacks` that parses (`acr`-style claims, which may also hold other values).
fn level(
    c: &Map<String, Value>,
    parts: &[&str],
    fallbacks: &[&str],
    looked_for: &'static str,
) -> Result<AssuranceLevel, MappingError> {
    let mut lowest: Option<AssuranceLevel> = None;
    for name in parts {
        if let Some(value) = text(c, name)? {
            let parsed = parse_level(&value).ok_or_else(|| MappingError::InvalidLevel {
                claim: (*name).to_owned(),
                value: value.clone(),
            })?;
            lowest = Some(lowest.map_or(parsed, |l| l.min(parsed)));
        }
    }
    if let Some(level) = lowest {
        return Ok(level);
    }
    for name in fallbacks {
        if let Some(level) = text(c, name)?.as_deref().and_then(parse_level) {
            return Ok(level);
        }
    }
    Err(MappingError::MissingLevel(looked_for))
}

/// Every spelling of [`AssuranceLevel::from_str`], plus Idura's
/// `urn:grn:authn:dk:mitid:{low,substantial,high}`.
pub fn parse_level(s: &str) -> Option<AssuranceLevel> {
    if let Ok(level) = AssuranceLevel::from_str(s) {
        return Some(level);
    }
    let rest = s.trim().strip_prefix("urn:grn:authn:dk:mitid:")?;
    AssuranceLevel::from_str(rest).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::date;

    use super::*;

    fn map(value: Value) -> Result<MitIdLogin, MappingError> {
        match value {
            Value::Object(m) => map_claims(&m),
            _ => unreachable!("test input is an object"),
        }
    }

    #[test]
    fn nets_eid_broker_private_with_cpr() {
        // The shape of a Signaturgruppen/Nets eID Broker userinfo/ID token: every value a string.
        let login = map(json!({
            "sub": "9f1c0a1e-pairwise",
            "idp": "mitid",
            "idp_identity_id": "e5b6c7d8-1111-4222-8333-944445555666",
            "identity_type": "private",
            "loa": "https://data.gov.dk/concept/core/nsis/Substantial",
            "ial": "https://data.gov.dk/concept/core/nsis/Substantial",
            "aal": "https://data.gov.dk/concept/core/nsis/High",
            "mitid.uuid": "e5b6c7d8-1111-4222-8333-944445555666",
            "mitid.age": "64",
            "mitid.date_of_birth": "1961-07-07",
            "mitid.identity_name": "Test Testesen",
            "mitid.has_cpr": "true",
            "mitid.transaction_id": "98150b00-1729-4f40-9c14-6940cead4bc9",
            "dk.cpr": "0707614285"
        }))
        .unwrap();
        assert_eq!(login.subject, "e5b6c7d8-1111-4222-8333-944445555666");
        assert_eq!(login.identity_type, IdentityType::Private);
        assert_eq!(login.loa, AssuranceLevel::Substantial);
        assert_eq!(login.cpr.as_ref().map(Cpr::expose), Some("0707614285"));
        assert_eq!(login.name.as_deref(), Some("Test Testesen"));
        assert_eq!(login.birth_date, Some(date!(1961 - 07 - 07)));
        assert_eq!(login.pcode, None);
    }

    #[test]
    fn nets_eid_broker_without_cpr_and_level_is_the_lowest_part() {
        let login = map(json!({
            "sub": "s",
            "identity_type": "private",
            "loa": "https://data.gov.dk/concept/core/nsis/High",
            "ial": "https://data.gov.dk/concept/core/nsis/Low",
            "aal": "https://data.gov.dk/concept/core/nsis/High",
            "mitid.uuid": "u-1",
            "mitid.has_cpr": "false"
        }))
        .unwrap();
        assert_eq!(login.cpr, None);
        assert_eq!(login.loa, AssuranceLevel::Low);
        assert_eq!(login.name, None);
    }

    #[test]
    fn nets_eid_broker_mitid_erhverv() {
        let login = map(json!({
            "sub": "s",
            "identity_type": "professional",
            "idp": "mitid_erhverv",
            "loa": "https://data.gov.dk/concept/core/nsis/Substantial",
            "mitid.uuid": "person-uuid",
            "nemlogin.persistent_professional_id": "pro-uuid",
            "nemlogin.cvr": "12345678",
            "nemlogin.org_name": "Testorganisation nr. 12345678",
            "nemlogin.given_name": "Erhverv",
            "nemlogin.family_name": "Testesen",
            "nemlogin.date_of_birth": "1980-02-29"
        }))
        .unwrap();
        assert_eq!(login.identity_type, IdentityType::Professional);
        assert_eq!(login.subject, "pro-uuid");
        assert_eq!(login.name.as_deref(), Some("Erhverv Testesen"));
        assert_eq!(login.birth_date, Some(date!(1980 - 02 - 29)));

        // Without identity_type, nemlogin.* claims still say Erhverv.
        let login = map(json!({
            "loa": "Substantial",
            "nemlogin.persistent_professional_id": "pro-uuid",
            "nemlogin.cvr": "12345678"
        }))
        .unwrap();
        assert_eq!(login.identity_type, IdentityType::Professional);
    }

    #[test]
    fn nets_eid_broker_contradictions_and_bad_values() {
        let err = map(json!({
            "loa": "Substantial", "mitid.uuid": "u", "mitid.has_cpr": "false", "dk.cpr": "0707614285"
        }))
        .unwrap_err();
        assert!(matches!(err, MappingError::Inconsistent(_)));
        let err = map(json!({"loa": "Substantial", "mitid.uuid": "u", "dk.cpr": "0713614285"}))
            .unwrap_err();
        assert!(matches!(err, MappingError::InvalidCpr { .. }));
        assert!(!err.to_string().contains("0713614285"));
        let err = map(json!({"loa": "medium", "mitid.uuid": "u"})).unwrap_err();
        assert!(matches!(err, MappingError::InvalidLevel { .. }));
        let err = map(json!({"mitid.uuid": "u", "identity_type": "private"})).unwrap_err();
        assert!(matches!(err, MappingError::MissingLevel(_)));
        let err = map(json!({"loa": "Low", "identity_type": "private"})).unwrap_err();
        assert_eq!(err, MappingError::MissingClaim("mitid.uuid"));
        let err = map(json!({"loa": "Low", "mitid.uuid": 7})).unwrap_err();
        assert!(matches!(err, MappingError::InvalidValue { .. }));
        let err =
            map(json!({"loa": "Low", "mitid.uuid": "u", "identity_type": "robot"})).unwrap_err();
        assert!(matches!(err, MappingError::InvalidValue { .. }));
        let err =
            map(json!({"loa": "Low", "mitid.uuid": "u", "mitid.date_of_birth": "1961-02-30"}))
                .unwrap_err();
        assert!(matches!(err, MappingError::InvalidValue { .. }));
        let err =
            map(json!({"loa": "Low", "mitid.uuid": "u", "mitid.has_cpr": "yes"})).unwrap_err();
        assert!(matches!(err, MappingError::InvalidValue { .. }));
    }

    #[test]
    fn nets_acr_is_a_fallback_level() {
        let login = map(json!({
            "mitid.uuid": "u",
            "acr": "https://data.gov.dk/concept/core/nsis/High"
        }))
        .unwrap();
        assert_eq!(login.loa, AssuranceLevel::High);
    }

    #[test]
    fn idura_private() {
        // Idura's token: loA/ial/aal/fal in capitals, fal above the rest.
        let login = map(json!({
            "identityscheme": "dkmitid",
            "authenticationtype": "urn:grn:authn:dk:mitid:substantial",
            "nameidentifier": "29d14ea06e16473286ac5de87a941784",
            "sub": "{29d14ea0-6e16-4732-86ac-5de87a941784}",
            "loA": "SUBSTANTIAL",
            "ial": "SUBSTANTIAL",
            "aal": "SUBSTANTIAL",
            "fal": "HIGH",
            "uuid": "410a77ec-4f85-46e4-aaef-bdbbd1a951f2",
            "cprNumberIdentifier": "3112772846",
            "birthdate": "1977-12-31",
            "dateofbirth": "1977-12-31",
            "age": "45",
            "name": "Bulenga Poulsen",
            "country": "DK"
        }))
        .unwrap();
        assert_eq!(login.subject, "410a77ec-4f85-46e4-aaef-bdbbd1a951f2");
        assert_eq!(login.identity_type, IdentityType::Private);
        assert_eq!(login.loa, AssuranceLevel::Substantial);
        assert_eq!(login.cpr.as_ref().map(Cpr::expose), Some("3112772846"));
        assert_eq!(login.birth_date, Some(date!(1977 - 12 - 31)));
        assert_eq!(login.name.as_deref(), Some("Bulenga Poulsen"));
    }

    #[test]
    fn idura_erhverv_and_acr_fallback() {
        let login = map(json!({
            "identityscheme": "dkmitid",
            "sub": "{159d89fc-a2db-4300-a52a-b7865f7b1ff3}",
            "uuid": "3c6d9757-1e70-438a-8dd3-5f84398c2e25",
            "cvrNumberIdentifier": "12345678",
            "2.5.4.10": "Testorganisation nr. 12345678",
            "name": "Firstname Lastname",
            "employee": "true",
            "authenticationtype": "urn:grn:authn:dk:mitid:high"
        }))
        .unwrap();
        assert_eq!(login.identity_type, IdentityType::Professional);
        assert_eq!(login.loa, AssuranceLevel::High);
        assert_eq!(login.cpr, None);
    }

    #[test]
    fn oiosaml_private_with_dd_mm_yyyy_dates() {
        let login = map(json!({
            "https://data.gov.dk/model/core/specVersion": "OIO-SAML-3.0",
            "https://data.gov.dk/concept/core/nsis/loa": "Substantial",
            "https://data.gov.dk/concept/core/nsis/ial": "Substantial",
            "https://data.gov.dk/concept/core/nsis/aal": "High",
            "https://data.gov.dk/concept/core/nsis/fal": "High",
            "https://data.gov.dk/model/core/eid/cprUuid": "81cf0ed2-e28d-45bd-a860-f093b2ddf1c9",
            "https://data.gov.dk/model/core/eid/cprNumber": "280844-1234",
            "https://data.gov.dk/model/core/eid/dateOfBirth": "28-08-1944",
            "https://data.gov.dk/model/core/eid/firstName": "Terje",
            "https://data.gov.dk/model/core/eid/lastName": "Hermansen",
            "https://data.gov.dk/model/core/eid/age": "78"
        }))
        .unwrap();
        assert_eq!(login.identity_type, IdentityType::Private);
        assert_eq!(login.subject, "81cf0ed2-e28d-45bd-a860-f093b2ddf1c9");
        assert_eq!(login.loa, AssuranceLevel::Substantial);
        assert_eq!(login.birth_date, Some(date!(1944 - 08 - 28)));
        assert_eq!(login.name.as_deref(), Some("Terje Hermansen"));
        assert_eq!(login.cpr.as_ref().map(Cpr::expose), Some("2808441234"));
    }

    #[test]
    fn oiosaml_professional_as_one_element_arrays() {
        let login = map(json!({
            "https://data.gov.dk/concept/core/nsis/ial": ["Substantial"],
            "https://data.gov.dk/concept/core/nsis/aal": ["Substantial"],
            "https://data.gov.dk/concept/core/nsis/loa": ["Substantial"],
            "https://data.gov.dk/model/core/eid/fullName": ["Terje Hermansen"],
            "https://data.gov.dk/model/core/eid/cprUuid": ["81cf0ed2-e28d-45bd-a860-f093b2ddf1c9"],
            "https://data.gov.dk/model/core/eid/professional/uuid/persistent": ["ec6ec845-958b-459a-bb8a-6adbdcd71b39"],
            "https://data.gov.dk/model/core/eid/professional/cvr": ["93005620"],
            "https://data.gov.dk/model/core/eid/professional/orgName": ["Testorganisation nr. 93005620"]
        }))
        .unwrap();
        assert_eq!(login.identity_type, IdentityType::Professional);
        assert_eq!(login.subject, "ec6ec845-958b-459a-bb8a-6adbdcd71b39");
        assert_eq!(login.name.as_deref(), Some("Terje Hermansen"));
        let err = map(json!({
            "https://data.gov.dk/concept/core/nsis/loa": ["Low", "High"],
            "https://data.gov.dk/model/core/eid/cprUuid": "u"
        }))
        .unwrap_err();
        assert!(matches!(err, MappingError::InvalidValue { .. }));
    }

    #[test]
    fn every_level_spelling() {
        for (spelling, level) in [
            ("Low", AssuranceLevel::Low),
            ("low", AssuranceLevel::Low),
            ("LOW", AssuranceLevel::Low),
            ("Substantial", AssuranceLevel::Substantial),
            ("SUBSTANTIAL", AssuranceLevel::Substantial),
            ("substantial", AssuranceLevel::Substantial),
            ("High", AssuranceLevel::High),
            ("HIGH", AssuranceLevel::High),
            (
                "https://data.gov.dk/concept/core/nsis/Substantial",
                AssuranceLevel::Substantial,
            ),
            (
                "https://data.gov.dk/concept/core/nsis/loa/Substantial",
                AssuranceLevel::Substantial,
            ),
            (
                "https://data.gov.dk/concept/core/nsis/Low",
                AssuranceLevel::Low,
            ),
            (
                "https://data.gov.dk/concept/core/nsis/loa/High",
                AssuranceLevel::High,
            ),
            (
                "http://eidas.europa.eu/LoA/substantial",
                AssuranceLevel::Substantial,
            ),
            ("http://eidas.europa.eu/LoA/high", AssuranceLevel::High),
            ("urn:grn:authn:dk:mitid:low", AssuranceLevel::Low),
            (
                "urn:grn:authn:dk:mitid:substantial",
                AssuranceLevel::Substantial,
            ),
        ] {
            assert_eq!(parse_level(spelling), Some(level), "{spelling}");
            // The same spelling in each broker's level claims.
            for claims in [
                json!({"mitid.uuid": "u", "loa": spelling}),
                json!({"mitid.uuid": "u", "ial": spelling, "aal": spelling}),
                json!({"uuid": "u", "loA": spelling}),
                json!({"https://data.gov.dk/model/core/eid/cprUuid": "u",
                       "https://data.gov.dk/concept/core/nsis/loa": spelling}),
            ] {
                assert_eq!(map(claims).unwrap().loa, level, "{spelling}");
            }
        }
        for bad in ["", "medium", "urn:grn:authn:dk:mitid:business", "nsis/High"] {
            assert_eq!(parse_level(bad), None, "{bad}");
        }
    }

    #[test]
    fn min_of_ial_aal_fal() {
        let login = map(json!({
            "uuid": "u",
            "ial": "HIGH", "aal": "HIGH", "fal": "SUBSTANTIAL"
        }))
        .unwrap();
        assert_eq!(login.loa, AssuranceLevel::Substantial);
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2001-02-03"), Some(date!(2001 - 02 - 03)));
        assert_eq!(parse_date("03-02-2001"), Some(date!(2001 - 02 - 03)));
        assert_eq!(parse_date("1899-12-31"), Some(date!(1899 - 12 - 31)));
        for bad in [
            "2001-2-03",
            "2001/02/03",
            "03-02-01",
            "2001-13-01",
            "29-02-2001",
            "",
            "aaaa-bb-cc",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn unknown_claims_are_no_broker() {
        assert_eq!(
            map(json!({"sub": "x", "email": "a@b"})).unwrap_err(),
            MappingError::UnknownBroker
        );
        assert_eq!(detect_broker(&Map::new()), None);
    }
}
