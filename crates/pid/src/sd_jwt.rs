//! The SD-JWT VC encoding of a PID (rulebook §4.1), vct [`VCT`](crate::model::VCT).
//!
//! [`Pid::to_sd_jwt_claims`] gives the user claims, before the issuer makes each of them
//! selectively disclosable (PID_21) and adds `iss`, `vct`, `cnf`, `iat`, `exp` and `status`.
//! [`PidAttributes::from_sd_jwt_claims`] reads the disclosed claims a verifier got back;
//! claims it does not know (`iss`, `vct`, `cnf`, age claims, domestic extensions) are ignored.

use eudi_trust::AssuranceLevel;
use eudi_trust::b64;
use serde_json::Map;
use serde_json::Value;

use crate::json;
use crate::json::Object;
use crate::model::Address;
use crate::model::AdministrativeNumber;
use crate::model::Pid;
use crate::model::PidAttributes;
use crate::model::PidError;

/// The domestic SD-JWT VC claim that carries the MitID level of assurance: a string, `low`,
/// `substantial` or `high`. A relying party that does not know it ignores it.
pub const LOA_CLAIM: &str = "dk_assurance_level";

/// The level of assurance a PID's SD-JWT VC claims state in [`LOA_CLAIM`], if any (any spelling
/// [`AssuranceLevel`] parses). `None` when absent (not issued or not disclosed) or unreadable.
pub fn stated_level_sd_jwt(claims: &Map<String, Value>) -> Option<AssuranceLevel> {
    claims.get(LOA_CLAIM)?.as_str()?.parse().ok()
}

impl Pid {
    /// The SD-JWT VC user claims (rulebook §4.1 names, in the rulebook's order).
    pub fn to_sd_jwt_claims(&self) -> Map<String, Value> {
        PidAttributes::from(self).to_sd_jwt_claims()
    }

    /// A complete PID from SD-JWT VC claims; fails when a mandatory claim is absent.
    pub fn from_sd_jwt_claims(claims: &Map<String, Value>) -> Result<Self, PidError> {
        PidAttributes::from_sd_jwt_claims(claims)?.complete()
    }
}

impl PidAttributes {
    /// The SD-JWT VC claims for the attributes present.
    pub fn to_sd_jwt_claims(&self) -> Map<String, Value> {
        let mut m = Object::new();
        json::insert_text(&mut m, "family_name", self.family_name.as_ref());
        json::insert_text(&mut m, "given_name", self.given_name.as_ref());
        if let Some(d) = self.birth_date {
            m.insert("birthdate".into(), Value::String(json::format_date(d)));
        }
        if let Some(p) = &self.place_of_birth {
            m.insert("place_of_birth".into(), json::place_of_birth_json(p));
        }
        if let Some(n) = &self.nationalities {
            m.insert(
                "nationalities".into(),
                Value::Array(n.iter().cloned().map(Value::String).collect()),
            );
        }
        if let Some(a) = self.address.as_ref().filter(|a| **a != Address::default()) {
            let mut o = Object::new();
            json::insert_text(&mut o, "formatted", a.formatted.as_ref());
            json::insert_text(&mut o, "street_address", a.street_address.as_ref());
            json::insert_text(&mut o, "house_number", a.house_number.as_ref());
            json::insert_text(&mut o, "postal_code", a.postal_code.as_ref());
            json::insert_text(&mut o, "locality", a.locality.as_ref());
            json::insert_text(&mut o, "region", a.region.as_ref());
            json::insert_text(&mut o, "country", a.country.as_ref());
            m.insert("address".into(), Value::Object(o));
        }
        if let Some(n) = &self.personal_administrative_number {
            m.insert(
                "personal_administrative_number".into(),
                Value::String(n.expose().to_owned()),
            );
        }
        json::insert_text(&mut m, "birth_family_name", self.family_name_birth.as_ref());
        json::insert_text(&mut m, "birth_given_name", self.given_name_birth.as_ref());
        if let Some(s) = self.sex {
            m.insert("sex".into(), Value::from(s.code()));
        }
        json::insert_text(&mut m, "email", self.email_address.as_ref());
        json::insert_text(&mut m, "phone_number", self.mobile_phone_number.as_ref());
        if let Some(p) = &self.portrait {
            m.insert(
                "picture".into(),
                Value::String(format!("data:image/jpeg;base64,{}", b64::encode_std(p))),
            );
        }
        if let Some(d) = self.expiry_date {
            m.insert("date_of_expiry".into(), Value::String(json::format_date(d)));
        }
        if let Some(d) = self.issuance_date {
            m.insert(
                "date_of_issuance".into(),
                Value::String(json::format_date(d)),
            );
        }
        json::insert_text(&mut m, "issuing_authority", self.issuing_authority.as_ref());
        json::insert_text(&mut m, "issuing_country", self.issuing_country.as_ref());
        json::insert_text(&mut m, "document_number", self.document_number.as_ref());
        json::insert_text(
            &mut m,
            "issuing_jurisdiction",
            self.issuing_jurisdiction.as_ref(),
        );
        json::insert_text(&mut m, "trust_anchor", self.trust_anchor.as_ref());
        json::insert_text(
            &mut m,
            "attestation_legal_category",
            self.attestation_legal_category.as_ref(),
        );
        m
    }

    /// Reads the PID attributes from (disclosed, verified) SD-JWT VC claims. Also accepts the
    /// names of earlier ARF versions and of the SD-JWT VC draft's PID example: `expiry_date`,
    /// `issuance_date` and `portrait` (for `date_of_expiry`, `date_of_issuance`, `picture`).
    pub fn from_sd_jwt_claims(claims: &Map<String, Value>) -> Result<Self, PidError> {
        let c = claims;
        let address = match json::object(c, "address", "address")? {
            None => None,
            Some(a) => Some(Address {
                formatted: json::text(a, "formatted", "address.formatted")?,
                street_address: json::text(a, "street_address", "address.street_address")?,
                house_number: json::text(a, "house_number", "address.house_number")?,
                postal_code: json::text(a, "postal_code", "address.postal_code")?,
                locality: json::text(a, "locality", "address.locality")?,
                region: json::text(a, "region", "address.region")?,
                country: json::text(a, "country", "address.country")?,
            }),
        };
        let portrait = match json::text(c, "picture", "picture")? {
            Some(url) => Some(data_url_bytes(&url, "picture")?),
            None => json::text(c, "portrait", "portrait")?
                .map(|url| data_url_bytes(&url, "portrait"))
                .transpose()?,
        };
        let expiry_date = match json::date_or_time(c, "date_of_expiry", "date_of_expiry")? {
            Some(d) => Some(d),
            None => json::date_or_time(c, "expiry_date", "expiry_date")?,
        };
        let issuance_date = match json::date_or_time(c, "date_of_issuance", "date_of_issuance")? {
            Some(d) => Some(d),
            None => json::date_or_time(c, "issuance_date", "issuance_date")?,
        };
        Ok(Self {
            family_name: json::text(c, "family_name", "family_name")?,
            given_name: json::text(c, "given_name", "given_name")?,
            birth_date: json::date(c, "birthdate", "birthdate")?,
            place_of_birth: json::place_of_birth(c, "place_of_birth", "place_of_birth")?,
            nationalities: json::text_array(c, "nationalities", "nationalities")?,
            portrait,
            address,
            personal_administrative_number: json::text(
                c,
                "personal_administrative_number",
                "personal_administrative_number",
            )?
            .map(AdministrativeNumber::new),
            family_name_birth: json::text(c, "birth_family_name", "birth_family_name")?,
            given_name_birth: json::text(c, "birth_given_name", "birth_given_name")?,
            sex: json::sex(c, "sex", "sex")?,
            email_address: json::text(c, "email", "email")?,
            mobile_phone_number: json::text(c, "phone_number", "phone_number")?,
            issuing_authority: json::text(c, "issuing_authority", "issuing_authority")?,
            issuing_country: json::text(c, "issuing_country", "issuing_country")?,
            expiry_date,
            issuance_date,
            document_number: json::text(c, "document_number", "document_number")?,
            issuing_jurisdiction: json::text(c, "issuing_jurisdiction", "issuing_jurisdiction")?,
            trust_anchor: json::text(c, "trust_anchor", "trust_anchor")?,
            attestation_legal_category: json::text(
                c,
                "attestation_legal_category",
                "attestation_legal_category",
            )?,
        })
    }
}

/// The image bytes of a `data:image/…;base64,…` URL.
fn data_url_bytes(url: &str, attribute: &'static str) -> Result<Vec<u8>, PidError> {
    let invalid = PidError::Invalid {
        attribute,
        reason: "not a data:image/…;base64 URL",
    };
    let (header, data) = url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(','))
        .ok_or(invalid.clone())?;
    if !header.starts_with("image/") || !header.ends_with(";base64") {
        return Err(invalid);
    }
    b64::decode_std(data).map_err(|_| invalid)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::tests::full_pid;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => Map::new(),
        }
    }

    #[test]
    fn claim_names_and_types() {
        let claims = full_pid().to_sd_jwt_claims();
        assert_eq!(
            Value::Object(claims),
            json!({
                "family_name": "Sørensen",
                "given_name": "Lars Peter",
                "birthdate": "1985-03-12",
                "place_of_birth": {"country": "DK", "region": "Region Midtjylland", "locality": "Aarhus"},
                "nationalities": ["DK", "SE"],
                "address": {
                    "formatted": "Vestergade 12, 2. th., 8000 Aarhus C",
                    "street_address": "Vestergade 12, 2. th.",
                    "house_number": "12",
                    "postal_code": "8000",
                    "locality": "Aarhus C",
                    "region": "Region Midtjylland",
                    "country": "DK"
                },
                "personal_administrative_number": "1203852459",
                "birth_family_name": "Hansen",
                "birth_given_name": "Lars",
                "sex": 1,
                "email": "lars@example.dk",
                "phone_number": "+4512345678",
                "picture": "data:image/jpeg;base64,/9j/4AAQSkZJRg==",
                "date_of_expiry": "2027-01-01",
                "date_of_issuance": "2026-01-01",
                "issuing_authority": "Digitaliseringsstyrelsen",
                "issuing_country": "DK",
                "document_number": "DK-PID-0001",
                "issuing_jurisdiction": "DK-84",
                "trust_anchor": "https://pid.example.dk/trust-anchors",
                "attestation_legal_category": "PID"
            })
        );
    }

    #[test]
    fn round_trip() {
        let pid = full_pid();
        assert_eq!(Pid::from_sd_jwt_claims(&pid.to_sd_jwt_claims()), Ok(pid));
        let mut minimal = full_pid();
        minimal.address = None;
        minimal.portrait = None;
        minimal.personal_administrative_number = None;
        minimal.sex = None;
        minimal.expiry_date = None;
        assert_eq!(
            Pid::from_sd_jwt_claims(&minimal.to_sd_jwt_claims()),
            Ok(minimal)
        );
    }

    #[test]
    fn partial_disclosure_reads_what_is_there() {
        let claims = object(json!({
            "iss": "https://pid.example.dk", "vct": "urn:eudi:pid:1",
            "birthdate": "1985-03-12", "dk_assurance_level": "high", "age_over_18": true
        }));
        let a = PidAttributes::from_sd_jwt_claims(&claims).unwrap();
        assert_eq!(a.birth_date, Some(time::macros::date!(1985 - 03 - 12)));
        assert_eq!(a.family_name, None);
        assert_eq!(
            Pid::from_sd_jwt_claims(&claims),
            Err(PidError::Missing("family_name"))
        );
        assert_eq!(stated_level_sd_jwt(&claims), Some(AssuranceLevel::High));
    }

    #[test]
    fn stated_level() {
        for (v, l) in [
            (json!("low"), Some(AssuranceLevel::Low)),
            (json!("substantial"), Some(AssuranceLevel::Substantial)),
            (json!("high"), Some(AssuranceLevel::High)),
            (
                json!("https://data.gov.dk/concept/core/nsis/loa/High"),
                Some(AssuranceLevel::High),
            ),
            (json!("medium"), None),
            (json!(3), None),
        ] {
            let claims = object(json!({ LOA_CLAIM: v }));
            assert_eq!(stated_level_sd_jwt(&claims), l, "{v}");
        }
        assert_eq!(stated_level_sd_jwt(&Map::new()), None);
    }

    #[test]
    fn wrong_types_name_the_claim() {
        for (claims, attribute) in [
            (json!({"family_name": 1}), "family_name"),
            (json!({"birthdate": "12-03-1985"}), "birthdate"),
            (json!({"nationalities": [1]}), "nationalities"),
            (json!({"address": "Vestergade 12"}), "address"),
            (json!({"address": {"locality": 8000}}), "address.locality"),
            (json!({"sex": "male"}), "sex"),
            (json!({"sex": 8}), "sex"),
            (json!({"picture": "https://x.example/p.jpg"}), "picture"),
            (json!({"place_of_birth": {}}), "place_of_birth"),
            (
                json!({"personal_administrative_number": 1203852459u64}),
                "personal_administrative_number",
            ),
        ] {
            let err = PidAttributes::from_sd_jwt_claims(&object(claims.clone())).unwrap_err();
            let shown = err.to_string();
            assert!(
                shown.contains(&format!("`{attribute}`")),
                "{claims}: {shown}"
            );
            assert!(!shown.contains("1203852459"));
        }
    }

    #[test]
    fn empty_address_is_not_emitted() {
        let mut pid = full_pid();
        pid.address = Some(Address::default());
        assert!(!pid.to_sd_jwt_claims().contains_key("address"));
    }

    #[test]
    fn older_names_accepted() {
        let claims = object(json!({
            "expiry_date": "2034-01-15", "issuance_date": "2024-01-15",
            "portrait": "data:image/png;base64,iVBORw0KGgo="
        }));
        let a = PidAttributes::from_sd_jwt_claims(&claims).unwrap();
        assert_eq!(a.expiry_date, Some(time::macros::date!(2034 - 01 - 15)));
        assert_eq!(a.issuance_date, Some(time::macros::date!(2024 - 01 - 15)));
        assert_eq!(
            a.portrait.as_deref().map(|p| &p[..4]),
            Some(&b"\x89PNG"[..])
        );
    }
}
