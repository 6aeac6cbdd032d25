//! The ISO/IEC 18013-5 mdoc encoding of a PID (rulebook §3.1), docType and namespace
//! [`NAMESPACE`].
//!
//! [`Pid::to_mdoc_elements`] gives `(namespace, element identifier, CBOR value)` triples for
//! an mdoc issuer (`eudi_mdoc::IssuerSignedBuilder::element`). [`PidAttributes::from_mdoc_claims`]
//! reads the claims JSON a verifier reports (`{"eu.europa.ec.eudi.pid.1": {"family_name": …}}`,
//! full-dates as `YYYY-MM-DD`, byte strings as base64url), and
//! [`PidAttributes::from_mdoc_elements`] reads the CBOR elements themselves.

use ciborium::Value as Cbor;
use eudi_trust::AssuranceLevel;
use eudi_trust::b64;
use serde_json::Map;
use serde_json::Value;

use crate::json;
use crate::json::Object;
use crate::model::Address;
use crate::model::AdministrativeNumber;
use crate::model::NAMESPACE;
use crate::model::Pid;
use crate::model::PidAttributes;
use crate::model::PidError;
use crate::model::PlaceOfBirth;

/// The domestic mdoc namespace for Danish extensions. A relying party that does not know it
/// ignores it.
pub const DK_NAMESPACE: &str = "dk.eudi.pid.1";
/// The element in [`DK_NAMESPACE`] that carries the MitID level of assurance: `tstr`, `low`,
/// `substantial` or `high`.
pub const LOA_ELEMENT: &str = "assurance_level";

/// The CBOR tag of an RFC 8943 `full-date`.
pub const FULL_DATE_TAG: u64 = 1004;

/// One mdoc data element: namespace, element identifier, value.
pub type MdocElement = (&'static str, &'static str, Cbor);

/// The level of assurance stated in mdoc claims JSON (`{"dk.eudi.pid.1": {"assurance_level":
/// "high"}}`), if any.
pub fn stated_level_mdoc(claims: &Map<String, Value>) -> Option<AssuranceLevel> {
    claims
        .get(DK_NAMESPACE)?
        .as_object()?
        .get(LOA_ELEMENT)?
        .as_str()?
        .parse()
        .ok()
}

/// The [`DK_NAMESPACE`] element stating `level`.
pub fn level_element(level: AssuranceLevel) -> MdocElement {
    (
        DK_NAMESPACE,
        LOA_ELEMENT,
        Cbor::Text(level.as_str().to_owned()),
    )
}

impl Pid {
    /// The mdoc data elements in `eu.europa.ec.eudi.pid.1` (rulebook §3.1.2 order).
    pub fn to_mdoc_elements(&self) -> Vec<MdocElement> {
        PidAttributes::from(self).to_mdoc_elements()
    }

    /// A complete PID from mdoc claims JSON; fails when a mandatory element is absent.
    pub fn from_mdoc_claims(claims: &Map<String, Value>) -> Result<Self, PidError> {
        PidAttributes::from_mdoc_claims(claims)?.complete()
    }
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.to_owned())
}

fn full_date(d: time::Date) -> Cbor {
    Cbor::Tag(FULL_DATE_TAG, Box::new(Cbor::Text(json::format_date(d))))
}

impl PidAttributes {
    /// The mdoc data elements for the attributes present.
    pub fn to_mdoc_elements(&self) -> Vec<MdocElement> {
        let mut out: Vec<MdocElement> = Vec::new();
        let push_text = |name: &'static str, value: Option<&String>, out: &mut Vec<_>| {
            if let Some(v) = value {
                out.push((NAMESPACE, name, text(v)));
            }
        };
        push_text("family_name", self.family_name.as_ref(), &mut out);
        push_text("given_name", self.given_name.as_ref(), &mut out);
        if let Some(d) = self.birth_date {
            out.push((NAMESPACE, "birth_date", full_date(d)));
        }
        if let Some(p) = &self.place_of_birth {
            out.push((NAMESPACE, "place_of_birth", place_of_birth_cbor(p)));
        }
        if let Some(n) = &self.nationalities {
            out.push((
                NAMESPACE,
                "nationality",
                Cbor::Array(n.iter().map(|c| text(c)).collect()),
            ));
        }
        if let Some(a) = &self.address {
            push_text("resident_address", a.formatted.as_ref(), &mut out);
            push_text("resident_country", a.country.as_ref(), &mut out);
            push_text("resident_state", a.region.as_ref(), &mut out);
            push_text("resident_city", a.locality.as_ref(), &mut out);
            push_text("resident_postal_code", a.postal_code.as_ref(), &mut out);
            push_text("resident_street", a.street_address.as_ref(), &mut out);
        }
        if let Some(n) = &self.personal_administrative_number {
            out.push((
                NAMESPACE,
                "personal_administrative_number",
                text(n.expose()),
            ));
        }
        if let Some(p) = &self.portrait {
            out.push((NAMESPACE, "portrait", Cbor::Bytes(p.clone())));
        }
        push_text(
            "family_name_birth",
            self.family_name_birth.as_ref(),
            &mut out,
        );
        push_text("given_name_birth", self.given_name_birth.as_ref(), &mut out);
        if let Some(s) = self.sex {
            out.push((NAMESPACE, "sex", Cbor::Integer(s.code().into())));
        }
        push_text("email_address", self.email_address.as_ref(), &mut out);
        push_text(
            "mobile_phone_number",
            self.mobile_phone_number.as_ref(),
            &mut out,
        );
        if let Some(d) = self.expiry_date {
            out.push((NAMESPACE, "expiry_date", full_date(d)));
        }
        push_text(
            "issuing_authority",
            self.issuing_authority.as_ref(),
            &mut out,
        );
        push_text("issuing_country", self.issuing_country.as_ref(), &mut out);
        push_text("document_number", self.document_number.as_ref(), &mut out);
        push_text(
            "issuing_jurisdiction",
            self.issuing_jurisdiction.as_ref(),
            &mut out,
        );
        if let Some(d) = self.issuance_date {
            out.push((NAMESPACE, "issuance_date", full_date(d)));
        }
        push_text("trust_anchor", self.trust_anchor.as_ref(), &mut out);
        push_text(
            "attestation_legal_category",
            self.attestation_legal_category.as_ref(),
            &mut out,
        );
        out
    }

    /// Reads the PID attributes from mdoc claims JSON grouped by namespace, as the verifier
    /// reports them. Elements of other namespaces and unknown elements are ignored; a missing
    /// `eu.europa.ec.eudi.pid.1` gives no attributes. `resident_house_number` (earlier ARF
    /// versions) is read into [`Address::house_number`]; a single `nationality` string is read as
    /// an array of one.
    pub fn from_mdoc_claims(claims: &Map<String, Value>) -> Result<Self, PidError> {
        let empty = Object::new();
        let c = json::object(claims, NAMESPACE, NAMESPACE)?.unwrap_or(&empty);
        let address = Address {
            formatted: json::text(c, "resident_address", "resident_address")?,
            street_address: json::text(c, "resident_street", "resident_street")?,
            house_number: json::text(c, "resident_house_number", "resident_house_number")?,
            postal_code: json::text(c, "resident_postal_code", "resident_postal_code")?,
            locality: json::text(c, "resident_city", "resident_city")?,
            region: json::text(c, "resident_state", "resident_state")?,
            country: json::text(c, "resident_country", "resident_country")?,
        };
        let portrait = json::text(c, "portrait", "portrait")?
            .map(|p| {
                b64::decode(&p).map_err(|_| PidError::Invalid {
                    attribute: "portrait",
                    reason: "not base64url",
                })
            })
            .transpose()?;
        Ok(Self {
            family_name: json::text(c, "family_name", "family_name")?,
            given_name: json::text(c, "given_name", "given_name")?,
            birth_date: json::date(c, "birth_date", "birth_date")?,
            place_of_birth: json::place_of_birth(c, "place_of_birth", "place_of_birth")?,
            nationalities: json::text_array(c, "nationality", "nationality")?,
            portrait,
            address: (address != Address::default()).then_some(address),
            personal_administrative_number: json::text(
                c,
                "personal_administrative_number",
                "personal_administrative_number",
            )?
            .map(AdministrativeNumber::new),
            family_name_birth: json::text(c, "family_name_birth", "family_name_birth")?,
            given_name_birth: json::text(c, "given_name_birth", "given_name_birth")?,
            sex: json::sex(c, "sex", "sex")?,
            email_address: json::text(c, "email_address", "email_address")?,
            mobile_phone_number: json::text(c, "mobile_phone_number", "mobile_phone_number")?,
            issuing_authority: json::text(c, "issuing_authority", "issuing_authority")?,
            issuing_country: json::text(c, "issuing_country", "issuing_country")?,
            expiry_date: json::date_or_time(c, "expiry_date", "expiry_date")?,
            issuance_date: json::date_or_time(c, "issuance_date", "issuance_date")?,
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

    /// Reads the PID attributes from mdoc data elements `(namespace, identifier, value)`, e.g.
    /// the holder's own stored IssuerSigned. Same rules as [`Self::from_mdoc_claims`].
    pub fn from_mdoc_elements<'a, I>(elements: I) -> Result<Self, PidError>
    where
        I: IntoIterator<Item = (&'a str, &'a str, &'a Cbor)>,
    {
        let mut pid = Object::new();
        let mut dk = Object::new();
        for (namespace, identifier, value) in elements {
            if namespace == NAMESPACE {
                // Unknown elements are ignored; known ones must convert.
                let Some(name) = ELEMENTS.iter().find(|e| **e == identifier) else {
                    continue;
                };
                let json = cbor_to_json(value, 0).ok_or(PidError::WrongType {
                    attribute: name,
                    expected: "a value of the rulebook's CBOR type",
                })?;
                pid.insert(identifier.to_owned(), json);
            } else if namespace == DK_NAMESPACE
                && let Some(json) = cbor_to_json(value, 0)
            {
                dk.insert(identifier.to_owned(), json);
            }
        }
        let mut claims = Object::new();
        claims.insert(NAMESPACE.to_owned(), Value::Object(pid));
        claims.insert(DK_NAMESPACE.to_owned(), Value::Object(dk));
        Self::from_mdoc_claims(&claims)
    }
}

fn place_of_birth_cbor(place: &PlaceOfBirth) -> Cbor {
    let mut entries = Vec::new();
    for (key, value) in [
        ("country", &place.country),
        ("region", &place.region),
        ("locality", &place.locality),
    ] {
        if let Some(v) = value {
            entries.push((text(key), text(v)));
        }
    }
    Cbor::Map(entries)
}

/// Deepest nesting converted; a PID element nests at most two levels.
const MAX_DEPTH: usize = 8;

/// Every element identifier the decoder reads in `eu.europa.ec.eudi.pid.1`.
const ELEMENTS: &[&str] = &[
    "family_name",
    "given_name",
    "birth_date",
    "place_of_birth",
    "nationality",
    "resident_address",
    "resident_country",
    "resident_state",
    "resident_city",
    "resident_postal_code",
    "resident_street",
    "resident_house_number",
    "personal_administrative_number",
    "portrait",
    "family_name_birth",
    "given_name_birth",
    "sex",
    "email_address",
    "mobile_phone_number",
    "expiry_date",
    "issuing_authority",
    "issuing_country",
    "document_number",
    "issuing_jurisdiction",
    "issuance_date",
    "trust_anchor",
    "attestation_legal_category",
];

/// The JSON form of a PID element value, as the verifier reports it (full-date and tdate as
/// their string, byte strings base64url); `None` for anything no PID element can be.
fn cbor_to_json(value: &Cbor, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match value {
        Cbor::Text(t) => Value::String(t.clone()),
        Cbor::Bytes(b) => Value::String(b64::encode(b)),
        Cbor::Integer(i) => Value::from(u64::try_from(*i).ok()?),
        Cbor::Bool(b) => Value::Bool(*b),
        Cbor::Tag(0 | FULL_DATE_TAG, inner) => match inner.as_ref() {
            Cbor::Text(t) => Value::String(t.clone()),
            _ => return None,
        },
        Cbor::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| cbor_to_json(i, depth + 1))
                .collect::<Option<_>>()?,
        ),
        Cbor::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| Some((k.as_text()?.to_owned(), cbor_to_json(v, depth + 1)?)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
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

    fn date_tag(s: &str) -> Cbor {
        Cbor::Tag(1004, Box::new(text(s)))
    }

    #[test]
    fn element_names_and_types() {
        let elements = full_pid().to_mdoc_elements();
        assert!(
            elements
                .iter()
                .all(|(ns, _, _)| *ns == "eu.europa.ec.eudi.pid.1")
        );
        let got: Vec<(&str, Cbor)> = elements.into_iter().map(|(_, e, v)| (e, v)).collect();
        let expected: Vec<(&str, Cbor)> = vec![
            ("family_name", text("Sørensen")),
            ("given_name", text("Lars Peter")),
            ("birth_date", date_tag("1985-03-12")),
            (
                "place_of_birth",
                Cbor::Map(vec![
                    (text("country"), text("DK")),
                    (text("region"), text("Region Midtjylland")),
                    (text("locality"), text("Aarhus")),
                ]),
            ),
            ("nationality", Cbor::Array(vec![text("DK"), text("SE")])),
            (
                "resident_address",
                text("Vestergade 12, 2. th., 8000 Aarhus C"),
            ),
            ("resident_country", text("DK")),
            ("resident_state", text("Region Midtjylland")),
            ("resident_city", text("Aarhus C")),
            ("resident_postal_code", text("8000")),
            ("resident_street", text("Vestergade 12, 2. th.")),
            ("personal_administrative_number", text("1203852459")),
            (
                "portrait",
                Cbor::Bytes(vec![
                    0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F',
                ]),
            ),
            ("family_name_birth", text("Hansen")),
            ("given_name_birth", text("Lars")),
            ("sex", Cbor::Integer(1.into())),
            ("email_address", text("lars@example.dk")),
            ("mobile_phone_number", text("+4512345678")),
            ("expiry_date", date_tag("2027-01-01")),
            ("issuing_authority", text("Digitaliseringsstyrelsen")),
            ("issuing_country", text("DK")),
            ("document_number", text("DK-PID-0001")),
            ("issuing_jurisdiction", text("DK-84")),
            ("issuance_date", date_tag("2026-01-01")),
            ("trust_anchor", text("https://pid.example.dk/trust-anchors")),
            ("attestation_legal_category", text("PID")),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn sex_is_a_small_uint() {
        let elements = full_pid().to_mdoc_elements();
        let sex = elements
            .iter()
            .find(|(_, e, _)| *e == "sex")
            .map(|(_, _, v)| v);
        let mut bytes = Vec::new();
        ciborium::into_writer(&sex, &mut bytes).unwrap();
        assert_eq!(bytes, [0x01]);
        let birth = elements
            .iter()
            .find(|(_, e, _)| *e == "birth_date")
            .map(|(_, _, v)| v);
        let mut bytes = Vec::new();
        ciborium::into_writer(&birth, &mut bytes).unwrap();
        assert_eq!(&bytes[..3], [0xd9, 0x03, 0xec]); // tag 1004
    }

    #[test]
    fn round_trip_through_elements() {
        let pid = full_pid();
        let elements = pid.to_mdoc_elements();
        let decoded =
            PidAttributes::from_mdoc_elements(elements.iter().map(|(n, e, v)| (*n, *e, v)))
                .unwrap()
                .complete();
        // The mdoc encoding has no house number element; the street carries it.
        let mut expected = pid;
        if let Some(a) = expected.address.as_mut() {
            a.house_number = None;
        }
        assert_eq!(decoded, Ok(expected));
    }

    #[test]
    fn reads_claims_json_and_stated_level() {
        let claims = object(json!({
            "eu.europa.ec.eudi.pid.1": {
                "given_name": "Mette", "birth_date": "1990-05-17", "sex": 2,
                "portrait": "_9j_4A", "nationality": ["DK"]
            },
            "dk.eudi.pid.1": {"assurance_level": "substantial"},
            "org.iso.18013.5.1": {"family_name": "ignored"}
        }));
        let a = PidAttributes::from_mdoc_claims(&claims).unwrap();
        assert_eq!(a.given_name.as_deref(), Some("Mette"));
        assert_eq!(a.family_name, None);
        assert_eq!(a.portrait, Some(vec![0xff, 0xd8, 0xff, 0xe0]));
        assert_eq!(a.address, None);
        assert_eq!(
            stated_level_mdoc(&claims),
            Some(AssuranceLevel::Substantial)
        );
        assert_eq!(
            Pid::from_mdoc_claims(&claims),
            Err(PidError::Missing("family_name"))
        );
        assert_eq!(stated_level_mdoc(&Map::new()), None);
        assert_eq!(
            stated_level_mdoc(&object(json!({"dk.eudi.pid.1": {"assurance_level": 2}}))),
            None
        );
        let (ns, el, v) = level_element(AssuranceLevel::High);
        assert_eq!(
            (ns, el, v),
            ("dk.eudi.pid.1", "assurance_level", text("high"))
        );
    }

    #[test]
    fn wrong_cbor_types_are_rejected() {
        for (element, value) in [
            ("family_name", Cbor::Integer(1.into())),
            (
                "birth_date",
                Cbor::Tag(1004, Box::new(Cbor::Integer(1.into()))),
            ),
            ("birth_date", date_tag("1990-02-30")),
            ("nationality", Cbor::Array(vec![Cbor::Bool(true)])),
            ("sex", Cbor::Integer((-1).into())),
            ("sex", Cbor::Integer(7.into())),
            ("place_of_birth", Cbor::Map(vec![])),
            ("portrait", Cbor::Float(1.0)),
            (
                "place_of_birth",
                Cbor::Map(vec![(Cbor::Integer(1.into()), text("DK"))]),
            ),
            ("given_name", Cbor::Null),
        ] {
            let r = PidAttributes::from_mdoc_elements([(NAMESPACE, element, &value)]);
            assert!(r.is_err(), "{element} {value:?}");
        }
        // Unknown elements and other namespaces are ignored, whatever their value.
        let odd = Cbor::Float(1.5);
        let r = PidAttributes::from_mdoc_elements([
            (NAMESPACE, "age_over_18", &odd),
            ("org.iso.18013.5.1", "family_name", &odd),
            (DK_NAMESPACE, LOA_ELEMENT, &odd),
        ]);
        assert_eq!(r, Ok(PidAttributes::default()));
    }
}
