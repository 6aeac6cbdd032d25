//! The PID as the PID rulebook (ARF Annex 3.01, v1.7) defines it, independent of any encoding.
//!
//! [`Pid`] is a complete PID as an issuer makes it: the mandatory attributes (rulebook §2.2) and
//! metadata (§2.4) are plain fields, everything optional (§2.3, §2.5, §2.6) is an `Option`.
//! [`PidAttributes`] holds the same attributes with every field optional: what a relying party
//! reads from a presentation, where the holder disclosed only some of them.
//! Both encodings ([`crate::sd_jwt`], [`crate::mdoc`]) are derived from these types.

use std::fmt;

use time::Date;

use crate::cpr::Cpr;
use crate::cpr::Sex;

/// Longest `tstr` value the rulebook allows (§3.1.2: "maximum length of 150 characters").
pub const MAX_TEXT_LEN: usize = 150;

/// The PID's type in both encodings: mdoc docType and namespace (rulebook §3.1.1).
pub const DOCTYPE: &str = "eu.europa.ec.eudi.pid.1";
/// The namespace of the rulebook attributes in an mdoc PID (rulebook §3.1.1).
pub const NAMESPACE: &str = "eu.europa.ec.eudi.pid.1";
/// The SD-JWT VC type of a PID (ARF Annex 2, PID_14; rulebook §4.2).
pub const VCT: &str = "urn:eudi:pid:1";

/// A complete PID: every mandatory attribute and mandatory metadata present.
///
/// Build one with [`crate::rules::pid_from_login`] (issuer) or decode one with
/// [`Pid::from_sd_jwt_claims`] / [`Pid::from_mdoc_claims`]. `Debug` masks the personal
/// administrative number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pid {
    // §2.2 mandatory attributes
    /// `family_name`: current last name(s).
    pub family_name: String,
    /// `given_name`: current first name(s), including middle names.
    pub given_name: String,
    /// `birth_date`.
    pub birth_date: Date,
    /// `birth_place`: at least one of country, region, locality.
    pub place_of_birth: PlaceOfBirth,
    /// `nationality`: one or more ISO 3166-1 alpha-2 codes (`QU` unknown, `QS` stateless).
    pub nationalities: Vec<String>,
    /// `portrait`: a JPEG. Mandatory in the CIR only from 24 months after its amendment, and the
    /// user may opt out, so optional here.
    pub portrait: Option<Vec<u8>>,
    // §2.3 optional attributes
    /// `resident_address`, `resident_country`, `resident_state`, `resident_city`,
    /// `resident_postal_code`, `resident_street` (and `resident_house_number`, SD-JWT only).
    pub address: Option<Address>,
    /// `personal_administrative_number`: in a Danish PID, the CPR number.
    pub personal_administrative_number: Option<AdministrativeNumber>,
    /// `family_name_birth`.
    pub family_name_birth: Option<String>,
    /// `given_name_birth`.
    pub given_name_birth: Option<String>,
    /// `sex`.
    pub sex: Option<PidSex>,
    /// `email_address`.
    pub email_address: Option<String>,
    /// `mobile_phone_number`: `+`, country code, digits.
    pub mobile_phone_number: Option<String>,
    // §2.4 mandatory metadata
    /// `issuing_authority`.
    pub issuing_authority: String,
    /// `issuing_country`: ISO 3166-1 alpha-2.
    pub issuing_country: String,
    // §2.5 optional metadata
    /// `expiry_date`: end of the administrative validity period.
    pub expiry_date: Option<Date>,
    /// `issuance_date`: start of the administrative validity period.
    pub issuance_date: Option<Date>,
    /// `document_number`.
    pub document_number: Option<String>,
    /// `issuing_jurisdiction`: ISO 3166-2 subdivision code, starting with the issuing country.
    pub issuing_jurisdiction: Option<String>,
    // §2.6 additional optional attributes
    /// `trust_anchor`: URL of the trust anchor for verifying the PID.
    pub trust_anchor: Option<String>,
    /// `attestation_legal_category`: `PID`.
    pub attestation_legal_category: Option<String>,
}

/// The attributes of a PID as far as they are known: every field optional. This is what a
/// verifier reads from a presentation. Field meanings as in [`Pid`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PidAttributes {
    /// See [`Pid::family_name`].
    pub family_name: Option<String>,
    /// See [`Pid::given_name`].
    pub given_name: Option<String>,
    /// See [`Pid::birth_date`].
    pub birth_date: Option<Date>,
    /// See [`Pid::place_of_birth`].
    pub place_of_birth: Option<PlaceOfBirth>,
    /// See [`Pid::nationalities`].
    pub nationalities: Option<Vec<String>>,
    /// See [`Pid::portrait`].
    pub portrait: Option<Vec<u8>>,
    /// See [`Pid::address`].
    pub address: Option<Address>,
    /// See [`Pid::personal_administrative_number`].
    pub personal_administrative_number: Option<AdministrativeNumber>,
    /// See [`Pid::family_name_birth`].
    pub family_name_birth: Option<String>,
    /// See [`Pid::given_name_birth`].
    pub given_name_birth: Option<String>,
    /// See [`Pid::sex`].
    pub sex: Option<PidSex>,
    /// See [`Pid::email_address`].
    pub email_address: Option<String>,
    /// See [`Pid::mobile_phone_number`].
    pub mobile_phone_number: Option<String>,
    /// See [`Pid::issuing_authority`].
    pub issuing_authority: Option<String>,
    /// See [`Pid::issuing_country`].
    pub issuing_country: Option<String>,
    /// See [`Pid::expiry_date`].
    pub expiry_date: Option<Date>,
    /// See [`Pid::issuance_date`].
    pub issuance_date: Option<Date>,
    /// See [`Pid::document_number`].
    pub document_number: Option<String>,
    /// See [`Pid::issuing_jurisdiction`].
    pub issuing_jurisdiction: Option<String>,
    /// See [`Pid::trust_anchor`].
    pub trust_anchor: Option<String>,
    /// See [`Pid::attestation_legal_category`].
    pub attestation_legal_category: Option<String>,
}

/// `birth_place` (rulebook §3.1.4 `place_of_birth`): at least one member is present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlaceOfBirth {
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// State, province, district or local area.
    pub region: Option<String>,
    /// Municipality, city, town or village.
    pub locality: Option<String>,
}

/// The resident address (rulebook §2.3 `resident_*`, OIDC `address` in SD-JWT VC).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// `resident_address` / `address.formatted`: the full address.
    pub formatted: Option<String>,
    /// `resident_street` / `address.street_address`: street name with house number and affixes.
    pub street_address: Option<String>,
    /// `address.house_number` (SD-JWT VC only; the mdoc encoding has no element for it).
    pub house_number: Option<String>,
    /// `resident_postal_code` / `address.postal_code`.
    pub postal_code: Option<String>,
    /// `resident_city` / `address.locality`.
    pub locality: Option<String>,
    /// `resident_state` / `address.region`.
    pub region: Option<String>,
    /// `resident_country` / `address.country`: ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// `sex` (rulebook §2.3): ISO/IEC 5218 for 0, 1, 2 and 9, plus the CIR's 3 to 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PidSex {
    /// 0.
    NotKnown,
    /// 1.
    Male,
    /// 2.
    Female,
    /// 3.
    Other,
    /// 4.
    Inter,
    /// 5.
    Diverse,
    /// 6.
    Open,
    /// 9.
    NotApplicable,
}

impl PidSex {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Self::NotKnown => 0,
            Self::Male => 1,
            Self::Female => 2,
            Self::Other => 3,
            Self::Inter => 4,
            Self::Diverse => 5,
            Self::Open => 6,
            Self::NotApplicable => 9,
        }
    }

    /// The value for a numeric code, if it is one of 0–6 or 9.
    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            0 => Self::NotKnown,
            1 => Self::Male,
            2 => Self::Female,
            3 => Self::Other,
            4 => Self::Inter,
            5 => Self::Diverse,
            6 => Self::Open,
            9 => Self::NotApplicable,
            _ => return None,
        })
    }
}

impl From<Sex> for PidSex {
    fn from(sex: Sex) -> Self {
        match sex {
            Sex::Female => Self::Female,
            Sex::Male => Self::Male,
        }
    }
}

/// `personal_administrative_number`. In a Danish PID it is the CPR number; a foreign PID may carry
/// any string. `Debug` never shows it (a CPR number shows as `DDMMYY-****`); read it with
/// [`AdministrativeNumber::expose`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AdministrativeNumber(String);

impl AdministrativeNumber {
    /// Wraps a value as it appears in a PID.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value as encoded in the PID. Do not log or display it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value as a CPR number, if it is one.
    pub fn as_cpr(&self) -> Option<Cpr> {
        self.0.parse().ok()
    }
}

impl From<&Cpr> for AdministrativeNumber {
    /// The ten digits, without dash.
    fn from(cpr: &Cpr) -> Self {
        Self(cpr.expose().to_owned())
    }
}

impl fmt::Debug for AdministrativeNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_cpr() {
            Some(cpr) => write!(f, "AdministrativeNumber({cpr})"),
            None => f.write_str("AdministrativeNumber(****)"),
        }
    }
}

/// A PID value that is missing, of the wrong type or out of range. Messages name the attribute
/// (in the encoding's own spelling) and never contain its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PidError {
    /// A mandatory attribute or metadata item is absent.
    #[error("mandatory PID attribute `{0}` is missing")]
    Missing(&'static str),
    /// A value has the wrong JSON or CBOR type.
    #[error("PID attribute `{attribute}` must be {expected}")]
    WrongType {
        /// The attribute, as the encoding names it.
        attribute: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A value has the right type but is not allowed.
    #[error("PID attribute `{attribute}` is invalid: {reason}")]
    Invalid {
        /// The attribute, as the encoding names it.
        attribute: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A text value is longer than the rulebook's 150 characters.
    #[error("PID attribute `{0}` is longer than 150 characters")]
    TooLong(&'static str),
}

impl Pid {
    /// Checks what the types cannot: mandatory text not empty, at least one nationality, a
    /// place of birth with at least one member, every text at most 150 characters, country codes
    /// of two capital letters. The issuer calls this before encoding.
    pub fn validate(&self) -> Result<(), PidError> {
        PidAttributes::from(self).validate()?;
        for (name, value) in [
            ("family_name", &self.family_name),
            ("given_name", &self.given_name),
            ("issuing_authority", &self.issuing_authority),
        ] {
            if value.trim().is_empty() {
                return Err(PidError::Invalid {
                    attribute: name,
                    reason: "must not be empty",
                });
            }
        }
        Ok(())
    }
}

impl PidAttributes {
    /// The attributes of a complete PID.
    pub fn complete(self) -> Result<Pid, PidError> {
        Ok(Pid {
            family_name: self.family_name.ok_or(PidError::Missing("family_name"))?,
            given_name: self.given_name.ok_or(PidError::Missing("given_name"))?,
            birth_date: self.birth_date.ok_or(PidError::Missing("birth_date"))?,
            place_of_birth: self
                .place_of_birth
                .ok_or(PidError::Missing("place_of_birth"))?,
            nationalities: self.nationalities.ok_or(PidError::Missing("nationality"))?,
            portrait: self.portrait,
            address: self.address,
            personal_administrative_number: self.personal_administrative_number,
            family_name_birth: self.family_name_birth,
            given_name_birth: self.given_name_birth,
            sex: self.sex,
            email_address: self.email_address,
            mobile_phone_number: self.mobile_phone_number,
            issuing_authority: self
                .issuing_authority
                .ok_or(PidError::Missing("issuing_authority"))?,
            issuing_country: self
                .issuing_country
                .ok_or(PidError::Missing("issuing_country"))?,
            expiry_date: self.expiry_date,
            issuance_date: self.issuance_date,
            document_number: self.document_number,
            issuing_jurisdiction: self.issuing_jurisdiction,
            trust_anchor: self.trust_anchor,
            attestation_legal_category: self.attestation_legal_category,
        })
    }

    /// Checks the values present (see [`Pid::validate`]).
    pub fn validate(&self) -> Result<(), PidError> {
        let texts: [(&'static str, Option<&String>); 17] = [
            ("family_name", self.family_name.as_ref()),
            ("given_name", self.given_name.as_ref()),
            ("family_name_birth", self.family_name_birth.as_ref()),
            ("given_name_birth", self.given_name_birth.as_ref()),
            ("email_address", self.email_address.as_ref()),
            ("mobile_phone_number", self.mobile_phone_number.as_ref()),
            ("issuing_authority", self.issuing_authority.as_ref()),
            ("document_number", self.document_number.as_ref()),
            ("issuing_jurisdiction", self.issuing_jurisdiction.as_ref()),
            ("trust_anchor", self.trust_anchor.as_ref()),
            (
                "attestation_legal_category",
                self.attestation_legal_category.as_ref(),
            ),
            (
                "personal_administrative_number",
                self.personal_administrative_number.as_ref().map(|n| &n.0),
            ),
            (
                "resident_address",
                self.address.as_ref().and_then(|a| a.formatted.as_ref()),
            ),
            (
                "resident_street",
                self.address
                    .as_ref()
                    .and_then(|a| a.street_address.as_ref()),
            ),
            (
                "resident_postal_code",
                self.address.as_ref().and_then(|a| a.postal_code.as_ref()),
            ),
            (
                "resident_city",
                self.address.as_ref().and_then(|a| a.locality.as_ref()),
            ),
            (
                "resident_state",
                self.address.as_ref().and_then(|a| a.region.as_ref()),
            ),
        ];
        for (name, value) in texts {
            if value.is_some_and(|v| v.chars().count() > MAX_TEXT_LEN) {
                return Err(PidError::TooLong(name));
            }
        }
        if let Some(place) = &self.place_of_birth {
            if place.country.is_none() && place.region.is_none() && place.locality.is_none() {
                return Err(PidError::Invalid {
                    attribute: "place_of_birth",
                    reason: "needs at least one of country, region, locality",
                });
            }
            for (name, value) in [
                ("place_of_birth.region", &place.region),
                ("place_of_birth.locality", &place.locality),
            ] {
                if value
                    .as_ref()
                    .is_some_and(|v| v.chars().count() > MAX_TEXT_LEN)
                {
                    return Err(PidError::TooLong(name));
                }
            }
            check_country("place_of_birth.country", place.country.as_deref())?;
        }
        if let Some(nationalities) = &self.nationalities {
            if nationalities.is_empty() {
                return Err(PidError::Invalid {
                    attribute: "nationality",
                    reason: "needs at least one country code",
                });
            }
            for n in nationalities {
                check_country("nationality", Some(n))?;
            }
        }
        check_country("issuing_country", self.issuing_country.as_deref())?;
        check_country(
            "resident_country",
            self.address.as_ref().and_then(|a| a.country.as_deref()),
        )?;
        if let (Some(j), Some(c)) = (&self.issuing_jurisdiction, &self.issuing_country)
            && !j.starts_with(c.as_str())
        {
            return Err(PidError::Invalid {
                attribute: "issuing_jurisdiction",
                reason: "must start with the issuing country",
            });
        }
        Ok(())
    }
}

/// An ISO 3166-1 alpha-2 code: two capital ASCII letters (`QU`, `QS` included).
pub fn is_alpha2(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

fn check_country(attribute: &'static str, code: Option<&str>) -> Result<(), PidError> {
    match code {
        Some(c) if !is_alpha2(c) => Err(PidError::Invalid {
            attribute,
            reason: "must be an ISO 3166-1 alpha-2 country code",
        }),
        _ => Ok(()),
    }
}

impl From<&Pid> for PidAttributes {
    fn from(pid: &Pid) -> Self {
        Self::from(pid.clone())
    }
}

impl From<Pid> for PidAttributes {
    fn from(pid: Pid) -> Self {
        Self {
            family_name: Some(pid.family_name),
            given_name: Some(pid.given_name),
            birth_date: Some(pid.birth_date),
            place_of_birth: Some(pid.place_of_birth),
            nationalities: Some(pid.nationalities),
            portrait: pid.portrait,
            address: pid.address,
            personal_administrative_number: pid.personal_administrative_number,
            family_name_birth: pid.family_name_birth,
            given_name_birth: pid.given_name_birth,
            sex: pid.sex,
            email_address: pid.email_address,
            mobile_phone_number: pid.mobile_phone_number,
            issuing_authority: Some(pid.issuing_authority),
            issuing_country: Some(pid.issuing_country),
            expiry_date: pid.expiry_date,
            issuance_date: pid.issuance_date,
            document_number: pid.document_number,
            issuing_jurisdiction: pid.issuing_jurisdiction,
            trust_anchor: pid.trust_anchor,
            attestation_legal_category: pid.attestation_legal_category,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::date;

    use super::*;

    /// A PID with every attribute set.
    pub(crate) fn full_pid() -> Pid {
        Pid {
            family_name: "Sørensen".into(),
            given_name: "Lars Peter".into(),
            birth_date: date!(1985 - 03 - 12),
            place_of_birth: PlaceOfBirth {
                country: Some("DK".into()),
                region: Some("Region Midtjylland".into()),
                locality: Some("Aarhus".into()),
            },
            nationalities: vec!["DK".into(), "SE".into()],
            portrait: Some(vec![
                0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F',
            ]),
            address: Some(Address {
                formatted: Some("Vestergade 12, 2. th., 8000 Aarhus C".into()),
                street_address: Some("Vestergade 12, 2. th.".into()),
                house_number: Some("12".into()),
                postal_code: Some("8000".into()),
                locality: Some("Aarhus C".into()),
                region: Some("Region Midtjylland".into()),
                country: Some("DK".into()),
            }),
            personal_administrative_number: Some(AdministrativeNumber::new("1203852459")),
            family_name_birth: Some("Hansen".into()),
            given_name_birth: Some("Lars".into()),
            sex: Some(PidSex::Male),
            email_address: Some("lars@example.dk".into()),
            mobile_phone_number: Some("+4512345678".into()),
            issuing_authority: "Digitaliseringsstyrelsen".into(),
            issuing_country: "DK".into(),
            expiry_date: Some(date!(2027 - 01 - 01)),
            issuance_date: Some(date!(2026 - 01 - 01)),
            document_number: Some("DK-PID-0001".into()),
            issuing_jurisdiction: Some("DK-84".into()),
            trust_anchor: Some("https://pid.example.dk/trust-anchors".into()),
            attestation_legal_category: Some("PID".into()),
        }
    }

    #[test]
    fn full_pid_is_valid() {
        assert_eq!(full_pid().validate(), Ok(()));
    }

    #[test]
    fn validation_rules() {
        let mut p = full_pid();
        p.nationalities.clear();
        assert!(matches!(
            p.validate(),
            Err(PidError::Invalid {
                attribute: "nationality",
                ..
            })
        ));
        let mut p = full_pid();
        p.nationalities = vec!["Denmark".into()];
        assert!(p.validate().is_err());
        let mut p = full_pid();
        p.place_of_birth = PlaceOfBirth::default();
        assert!(p.validate().is_err());
        let mut p = full_pid();
        p.given_name = "x".repeat(151);
        assert_eq!(p.validate(), Err(PidError::TooLong("given_name")));
        p.given_name = "æ".repeat(150);
        assert_eq!(p.validate(), Ok(()));
        let mut p = full_pid();
        p.family_name = " ".into();
        assert!(p.validate().is_err());
        let mut p = full_pid();
        p.issuing_jurisdiction = Some("SE-AB".into());
        assert!(p.validate().is_err());
    }

    #[test]
    fn complete_names_the_missing_attribute() {
        let mut a = PidAttributes::from(full_pid());
        a.place_of_birth = None;
        assert_eq!(a.complete(), Err(PidError::Missing("place_of_birth")));
        assert_eq!(
            PidAttributes::default().complete(),
            Err(PidError::Missing("family_name"))
        );
        assert_eq!(PidAttributes::from(full_pid()).complete(), Ok(full_pid()));
    }

    #[test]
    fn sex_codes() {
        for code in 0..=10u64 {
            match PidSex::from_code(code) {
                Some(s) => assert_eq!(u64::from(s.code()), code),
                None => assert!(code == 7 || code == 8 || code == 10),
            }
        }
        assert_eq!(PidSex::from(Sex::Female).code(), 2);
        assert_eq!(PidSex::from(Sex::Male).code(), 1);
    }

    #[test]
    fn debug_masks_the_administrative_number() {
        let pid = full_pid();
        let shown = format!("{pid:?} {:?}", PidAttributes::from(&pid));
        assert!(!shown.contains("1203852459"), "{shown}");
        assert!(shown.contains("AdministrativeNumber(120385-****)"));
        let foreign = AdministrativeNumber::new("DE-123456789");
        assert_eq!(format!("{foreign:?}"), "AdministrativeNumber(****)");
    }
}
