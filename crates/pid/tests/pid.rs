//! Encoding tests against the PID rulebook (`../shared/vectors/pid/pid-rulebook.md`: the §3.1.2
//! and §4.1 tables and the §4.3 example) and the SD-JWT VC / SD-JWT drafts' PID examples
//! (`../shared/vectors/sd-jwt-vc/spec-rendered/03-pid`, `../shared/vectors/sd-jwt/spec-rendered/arf-pid`),
//! and round trips through real SD-JWT VC and mdoc credentials made by `eudi-sdjwt` and
//! `eudi-mdoc`.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a setup failure should abort the test"
)]

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::PathBuf;

use ciborium::Value as Cbor;
use eudi_pid::Address;
use eudi_pid::AdministrativeNumber;
use eudi_pid::FileRegister;
use eudi_pid::IssuerPolicy;
use eudi_pid::Pid;
use eudi_pid::PidAttributes;
use eudi_pid::PidData;
use eudi_pid::PidSex;
use eudi_pid::PlaceOfBirth;
use eudi_pid::default_test_identities;
use eudi_pid::pid_from_login;
use eudi_pid::stated_level_mdoc;
use eudi_pid::stated_level_sd_jwt;
use eudi_trust::AssuranceLevel;
use eudi_trust::Signer as _;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;
use time::macros::date;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
}

fn read_json(relative: &str) -> Map<String, Value> {
    let text = std::fs::read_to_string(vectors().join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
    match serde_json::from_str(&text).unwrap() {
        Value::Object(o) => o,
        other => panic!("{relative}: not an object: {other}"),
    }
}

fn rulebook() -> String {
    std::fs::read_to_string(vectors().join("pid/pid-rulebook.md")).unwrap()
}

/// A PID with every attribute the rulebook defines.
fn full_pid() -> Pid {
    Pid {
        family_name: "Nielsen".into(),
        given_name: "Karen Margrethe".into(),
        birth_date: date!(1972 - 11 - 04),
        place_of_birth: PlaceOfBirth {
            country: Some("SE".into()),
            region: Some("Skåne".into()),
            locality: Some("Malmö".into()),
        },
        nationalities: vec!["DK".into(), "SE".into()],
        portrait: Some(vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
        address: Some(Address {
            formatted: Some("Nørrebrogade 44, 1. tv., 2200 København N".into()),
            street_address: Some("Nørrebrogade 44, 1. tv.".into()),
            house_number: Some("44".into()),
            postal_code: Some("2200".into()),
            locality: Some("København N".into()),
            region: Some("Region Hovedstaden".into()),
            country: Some("DK".into()),
        }),
        personal_administrative_number: Some(AdministrativeNumber::new("0411721256")),
        family_name_birth: Some("Lindqvist".into()),
        given_name_birth: Some("Karin".into()),
        sex: Some(PidSex::Female),
        email_address: Some("karen@example.dk".into()),
        mobile_phone_number: Some("+4520304050".into()),
        issuing_authority: "Digitaliseringsstyrelsen".into(),
        issuing_country: "DK".into(),
        expiry_date: Some(date!(2027 - 03 - 01)),
        issuance_date: Some(date!(2026 - 03 - 01)),
        document_number: Some("DK-PID-000042".into()),
        issuing_jurisdiction: Some("DK-84".into()),
        trust_anchor: Some("https://pid.example.dk/trust".into()),
        attestation_legal_category: Some("PID".into()),
    }
}

/// The rows of the first markdown table after `heading` (cells trimmed, backticks removed).
fn table_after(text: &str, heading: &str, nth: usize) -> Vec<Vec<String>> {
    let start = text.find(heading).unwrap_or_else(|| panic!("{heading}"));
    let mut tables = Vec::new();
    let mut current: Vec<Vec<String>> = Vec::new();
    for line in text[start..].lines().skip(1) {
        if line.starts_with("## ") || line.starts_with("### ") || line.starts_with("#### ") {
            break;
        }
        if line.starts_with('|') {
            current.push(
                line.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().replace('`', ""))
                    .collect(),
            );
        } else if !current.is_empty() {
            tables.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tables.push(current);
    }
    // Drop the header and the |---| line.
    tables.remove(nth).into_iter().skip(2).collect()
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[test]
fn mdoc_elements_match_the_rulebook_table() {
    let rows = table_after(&rulebook(), "#### 3.1.2 Attributes overview", 0);
    let table: BTreeMap<String, String> =
        rows.iter().map(|r| (r[1].clone(), r[2].clone())).collect();
    assert_eq!(table.len(), 26, "{table:?}");
    let elements = full_pid().to_mdoc_elements();
    let ours: BTreeSet<String> = elements.iter().map(|(_, e, _)| (*e).to_owned()).collect();
    let theirs: BTreeSet<String> = table.keys().cloned().collect();
    assert_eq!(ours, theirs, "every rulebook element, and no other");
    for (ns, element, value) in &elements {
        assert_eq!(*ns, "eu.europa.ec.eudi.pid.1");
        let encoding = &table[*element];
        let ok = match value {
            Cbor::Text(_) => encoding == "tstr",
            Cbor::Tag(1004, inner) => {
                encoding.contains("full-date") && matches!(inner.as_ref(), Cbor::Text(t) if t.len() == 10)
            }
            Cbor::Bytes(_) => encoding == "bstr",
            Cbor::Integer(_) => encoding.starts_with("uint"),
            Cbor::Array(items) => {
                encoding.starts_with("nationalities")
                    && !items.is_empty()
                    && items.iter().all(|i| matches!(i, Cbor::Text(t) if t.len() == 2))
            }
            Cbor::Map(entries) => {
                encoding.starts_with("place_of_birth")
                    && entries.iter().all(|(k, v)| {
                        matches!(k, Cbor::Text(k) if ["country", "region", "locality"].contains(&k.as_str()))
                            && matches!(v, Cbor::Text(_))
                    })
            }
            _ => false,
        };
        assert!(ok, "{element}: {value:?} is not {encoding}");
    }
}

#[test]
fn sd_jwt_claims_match_the_rulebook_tables() {
    let text = rulebook();
    let mut rows = table_after(&text, "#### 4.1.1 Overview", 0);
    rows.extend(table_after(&text, "#### 4.1.1 Overview", 1));
    assert_eq!(rows.len(), 27, "{rows:?}");
    let claims = Value::Object(full_pid().to_sd_jwt_claims());
    let mut expected_top = BTreeSet::new();
    for row in &rows {
        let (path, encoding) = (&row[1], &row[2]);
        let mut value = &claims;
        for part in path.split('.') {
            value = value
                .get(part)
                .unwrap_or_else(|| panic!("claim {path} is not emitted"));
        }
        expected_top.insert(path.split('.').next().unwrap_or_default().to_owned());
        let ty = json_type(value);
        let ok = if encoding.contains("YYYY-MM-DD") {
            value.as_str().is_some_and(|s| {
                s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-'
            })
        } else if encoding.starts_with("string; data URL") {
            value
                .as_str()
                .is_some_and(|s| s.starts_with("data:image/jpeg;base64,"))
        } else if encoding.starts_with("array of strings") {
            value
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string))
        } else if encoding == "JSON structure" {
            ty == "object"
        } else {
            ty == encoding.as_str()
        };
        assert!(ok, "{path}: {value} is not {encoding}");
    }
    let ours: BTreeSet<String> = claims.as_object().unwrap().keys().cloned().collect();
    assert_eq!(ours, expected_top, "every rulebook claim, and no other");
    // place_of_birth members are EKYC's country/region/locality.
    let pob: BTreeSet<&str> = claims["place_of_birth"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(pob, BTreeSet::from(["country", "region", "locality"]));
}

/// The §4.3 example payload of the rulebook.
fn rulebook_example() -> Map<String, Value> {
    let text = rulebook();
    let start = text.find("### 4.3 Example").unwrap();
    let block = &text[start..];
    let open = block.find("```json").unwrap() + "```json".len();
    let close = open + block[open..].find("```").unwrap();
    match serde_json::from_str(&block[open..close]).unwrap() {
        Value::Object(o) => o,
        _ => panic!("not an object"),
    }
}

#[test]
fn rulebook_example_decodes_and_re_encodes_exactly() {
    let example = rulebook_example();
    let pid = Pid::from_sd_jwt_claims(&example).unwrap();
    assert_eq!(pid.given_name, "Jean");
    assert_eq!(pid.birth_date, date!(1980 - 05 - 23));
    assert_eq!(pid.sex, Some(PidSex::Diverse));
    assert_eq!(pid.nationalities, ["FR"]);
    assert_eq!(pid.place_of_birth.country.as_deref(), Some("DD"));
    assert_eq!(pid.validate(), Ok(()));
    let mut expected = example.clone();
    expected.remove("vct");
    expected.remove("cnf");
    assert_eq!(
        Value::Object(pid.to_sd_jwt_claims()),
        Value::Object(expected)
    );
}

/// Claims of the drafts' PID examples that this crate does not encode, and why.
const NOT_PID_RULEBOOK: &[&str] = &[
    "iss",               // set by the issuer, not a PID attribute
    "vct",               // set by the issuer
    "age_equal_or_over", // removed from the rulebook (v1.1, CIR 2024/2977)
    "age_in_years",
    "age_birth_year",
];

/// Claims the drafts' examples name as earlier ARF versions did: (their name, rulebook v1.7 name).
const RENAMED: &[(&str, &str)] = &[
    ("portrait", "picture"),
    ("issuance_date", "date_of_issuance"),
    ("expiry_date", "date_of_expiry"),
];

/// Every claim of `example` is one this crate emits under the same name with the same JSON type
/// (members of objects likewise), or renamed, or not a PID attribute; and the example decodes.
fn check_spec_example(relative: &str) {
    let example = read_json(relative);
    let ours = full_pid().to_sd_jwt_claims();
    for (name, value) in &example {
        if NOT_PID_RULEBOOK.contains(&name.as_str()) {
            continue;
        }
        let our_name = RENAMED
            .iter()
            .find(|(old, _)| old == name)
            .map_or(name.as_str(), |(_, new)| new);
        let Some(our_value) = ours.get(our_name) else {
            panic!("{relative}: claim {name} is not emitted");
        };
        assert_eq!(json_type(value), json_type(our_value), "{relative}: {name}");
        if let (Value::Object(theirs), Value::Object(our)) = (value, our_value) {
            for (member, v) in theirs {
                let o = our
                    .get(member)
                    .unwrap_or_else(|| panic!("{relative}: {name}.{member} not emitted"));
                assert_eq!(json_type(v), json_type(o), "{relative}: {name}.{member}");
            }
        }
        if let (Value::Array(theirs), Value::Array(our)) = (value, our_value) {
            for (t, o) in theirs.iter().zip(our) {
                assert_eq!(json_type(t), json_type(o), "{relative}: {name}[]");
            }
        }
    }
    // The example decodes into a complete PID (its values, e.g. "Kingdom of Ændgard", are
    // read as they are: a verifier does not second-guess a foreign issuer's strings).
    let pid = Pid::from_sd_jwt_claims(&example).unwrap_or_else(|e| panic!("{relative}: {e}"));
    assert!(pid.portrait.is_some() || !example.contains_key("portrait"));
    assert_eq!(
        pid.expiry_date.is_some(),
        example.contains_key("expiry_date"),
        "{relative}"
    );
    assert_eq!(
        pid.family_name_birth.as_deref(),
        example["birth_family_name"].as_str()
    );
}

#[test]
fn sd_jwt_vc_draft_pid_example_has_our_names_and_types() {
    check_spec_example("sd-jwt-vc/spec-rendered/03-pid/user_claims.json");
}

#[test]
fn sd_jwt_arf_pid_example_has_our_names_and_types() {
    check_spec_example("sd-jwt/spec-rendered/arf-pid/user_claims.json");
}

#[test]
fn sd_jwt_vc_presentation_example_decodes_partially() {
    let disclosed = read_json("sd-jwt-vc/spec-rendered/03-pid/verified_contents.json");
    let attributes = PidAttributes::from_sd_jwt_claims(&disclosed).unwrap();
    assert_eq!(
        attributes.nationalities.as_deref(),
        Some(&["Ændgard".to_owned()][..])
    );
    assert_eq!(attributes.family_name, None);
    assert_eq!(stated_level_sd_jwt(&disclosed), None);
}

fn pid_data() -> PidData {
    PidData {
        pid: full_pid(),
        assurance_level: AssuranceLevel::High,
    }
}

#[tokio::test]
async fn round_trip_through_a_signed_sd_jwt_vc() {
    use eudi_sdjwt::ClaimPath;
    use eudi_sdjwt::SdJwt;
    use eudi_sdjwt::holder;
    use eudi_sdjwt::vc;
    use eudi_sdjwt::verifier;
    use eudi_trust::Algorithm;
    use eudi_trust::SoftwareKey;

    let data = pid_data();
    let issuer = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let wallet = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let issued = vc::builder(
        eudi_pid::VCT,
        "https://pid.example.dk",
        1_772_323_200,
        data.to_sd_jwt_claims(),
    )
    .holder_key(&wallet.verifying_key().to_jwk())
    .unwrap()
    .sign(&issuer)
    .await
    .unwrap()
    .to_compact()
    .unwrap();
    let options = verifier::VerifyOptions::new(1_772_323_260);
    let mut resolve = |_: &_, _: &_| Ok(issuer.verifying_key().clone());

    // Everything disclosed: the PID data comes back exactly.
    let sd = SdJwt::parse(&issued).unwrap();
    let verified = vc::verify(&sd, &mut resolve, &options).unwrap();
    let claims = verified.user_claims();
    assert_eq!(PidData::from_sd_jwt_claims(&claims), Ok(data.clone()));

    // Every claim was selectively disclosable (PID_21), the level included.
    let payload: Map<String, Value> =
        serde_json::from_slice(&eudi_trust::b64::decode(sd.payload_b64().unwrap()).unwrap())
            .unwrap();
    for name in claims.keys() {
        assert!(
            !payload.contains_key(name),
            "{name} is not selectively disclosable"
        );
    }
    assert!(payload.contains_key("_sd"));

    // Only birthdate disclosed: no level stated, the rest absent.
    let chosen = holder::select(&sd, &[ClaimPath::keys(["birthdate"])]).unwrap();
    let verified = vc::verify(
        &SdJwt::parse(&chosen.to_compact().unwrap()).unwrap(),
        &mut resolve,
        &options,
    )
    .unwrap();
    let claims = verified.user_claims();
    let partial = PidAttributes::from_sd_jwt_claims(&claims).unwrap();
    assert_eq!(partial.birth_date, Some(data.pid.birth_date));
    assert_eq!(partial.given_name, None);
    assert_eq!(stated_level_sd_jwt(&claims), None);

    // birthdate and the level disclosed.
    let chosen = holder::select(
        &sd,
        &[
            ClaimPath::keys(["birthdate"]),
            ClaimPath::keys([eudi_pid::LOA_CLAIM]),
        ],
    )
    .unwrap();
    let verified = vc::verify(
        &SdJwt::parse(&chosen.to_compact().unwrap()).unwrap(),
        &mut resolve,
        &options,
    )
    .unwrap();
    assert_eq!(
        stated_level_sd_jwt(&verified.user_claims()),
        Some(AssuranceLevel::High)
    );
}

/// A self-signed certificate's worth of bytes for the mdoc `x5chain`: the round trip below
/// does not validate the chain.
const NOT_VALIDATED_CHAIN: &[&[u8]] = &[b"0"];

#[tokio::test]
async fn round_trip_through_a_signed_mdoc() {
    use eudi_mdoc::IssuerSigned;
    use eudi_mdoc::IssuerSignedBuilder;
    use eudi_mdoc::ValidityInfo;
    use eudi_trust::Algorithm;
    use eudi_trust::SoftwareKey;
    use time::Duration;
    use time::OffsetDateTime;

    let data = pid_data();
    let signer = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let device = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let now = OffsetDateTime::from_unix_timestamp(1_772_323_200).unwrap();
    let mut builder = IssuerSignedBuilder::new(
        eudi_pid::DOCTYPE,
        device.verifying_key(),
        ValidityInfo::new(now, now, now + Duration::days(30)),
    );
    for (ns, element, value) in data.to_mdoc_elements() {
        builder = builder.element(ns, element, value);
    }
    let bytes = builder
        .sign(&signer, NOT_VALIDATED_CHAIN)
        .await
        .unwrap()
        .to_bytes();
    let issued = IssuerSigned::from_bytes(&bytes).unwrap();

    // From the CBOR elements.
    let elements: Vec<(&str, &str, &Cbor)> = issued
        .namespaces()
        .flat_map(|(ns, items)| {
            items
                .iter()
                .map(move |i| (ns, i.element_identifier(), i.element_value()))
        })
        .collect();
    let mut expected = data.pid.clone();
    if let Some(a) = expected.address.as_mut() {
        a.house_number = None; // no mdoc element for it
    }
    assert_eq!(
        PidAttributes::from_mdoc_elements(elements.iter().copied())
            .unwrap()
            .complete(),
        Ok(expected.clone())
    );

    // From the claims JSON the verifier reports (eudi_mdoc::to_json per element).
    let mut claims = Map::new();
    for (ns, element, value) in &elements {
        let entry = claims
            .entry((*ns).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(o) = entry {
            o.insert((*element).to_owned(), eudi_mdoc::to_json(value));
        }
    }
    assert_eq!(
        PidData::from_mdoc_claims(&claims),
        Ok(PidData {
            pid: expected,
            assurance_level: AssuranceLevel::High
        })
    );
    assert_eq!(stated_level_mdoc(&claims), Some(AssuranceLevel::High));
    assert_eq!(
        claims["eu.europa.ec.eudi.pid.1"]["birth_date"],
        json!("1972-11-04")
    );
}

#[tokio::test]
async fn every_default_identity_that_is_issued_round_trips_in_both_formats() {
    let register = FileRegister::embedded();
    let policy = IssuerPolicy::default();
    let mut issued = 0;
    for identity in default_test_identities() {
        let Ok(data) = pid_from_login(
            &identity.to_login(),
            &register,
            &policy,
            date!(2026 - 03 - 01),
        )
        .await
        else {
            continue;
        };
        issued += 1;
        assert_eq!(
            PidData::from_sd_jwt_claims(&data.to_sd_jwt_claims()).as_ref(),
            Ok(&data),
            "{}",
            identity.username
        );
        let elements = data.to_mdoc_elements();
        let back = PidAttributes::from_mdoc_elements(elements.iter().map(|(n, e, v)| (*n, *e, v)))
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(
            back.birth_date, data.pid.birth_date,
            "{}",
            identity.username
        );
        assert_eq!(
            back.personal_administrative_number
                .as_ref()
                .and_then(AdministrativeNumber::as_cpr),
            identity.cpr,
        );
    }
    assert!(issued >= 8, "{issued}");
}

/// An issuer service holds its keys as `Arc<dyn Signer>` and issues inside tasks of a
/// multi-threaded runtime: issuing in both formats must be a `Send` future, and it must work when
/// run on another thread than the one that made it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuing_both_formats_runs_in_a_spawned_task() {
    use std::sync::Arc;

    use eudi_mdoc::IssuerSignedBuilder;
    use eudi_mdoc::ValidityInfo;
    use eudi_trust::Algorithm;
    use eudi_trust::Signer;
    use eudi_trust::SoftwareKey;
    use time::Duration;
    use time::OffsetDateTime;

    let issuer: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::Es256).unwrap());
    let device = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let data = pid_data();
    let task = tokio::spawn(async move {
        let header = eudi_sdjwt::vc::prepare_header(issuer.as_ref(), &[] as &[&[u8]]).unwrap();
        let sd_jwt = eudi_sdjwt::vc::builder(
            eudi_pid::VCT,
            "https://pid.example.dk",
            1_772_323_200,
            data.to_sd_jwt_claims(),
        )
        .sign_prepared(&header, issuer.as_ref())
        .await
        .unwrap()
        .to_compact()
        .unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_772_323_200).unwrap();
        let mut builder = IssuerSignedBuilder::new(
            eudi_pid::DOCTYPE,
            device.verifying_key(),
            ValidityInfo::new(now, now, now + Duration::days(30)),
        );
        for (ns, element, value) in data.to_mdoc_elements() {
            builder = builder.element(ns, element, value);
        }
        let mdoc = builder
            .sign(issuer.as_ref(), NOT_VALIDATED_CHAIN)
            .await
            .unwrap()
            .to_bytes();
        (sd_jwt, mdoc)
    });
    let (sd_jwt, mdoc) = task.await.unwrap();
    assert!(sd_jwt.starts_with("ey"));
    assert!(!mdoc.is_empty());
}
