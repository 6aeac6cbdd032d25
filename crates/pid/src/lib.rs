//! The PID of a Danish PID provider: the PID rulebook's data model (ARF Annex 3.01 v1.7) with its
//! SD-JWT VC and mdoc encodings, CPR numbers, MitID logins, the CPR register as the source of PID
//! attributes, levels of assurance, and the rules that turn a MitID login into PID data.
//!
//! | module | what |
//! |---|---|
//! | [`cpr`] | CPR numbers: parsing, century table, replacement numbers, sex, modulus 11 (information only); never printed in full |
//! | [`login`] | [`MitIdLogin`]: what a MitID login (any broker) tells the issuer |
//! | [`model`] | [`Pid`] (complete) and [`PidAttributes`] (as disclosed) |
//! | [`sd_jwt`] | SD-JWT VC claims for vct `urn:eudi:pid:1`, and back |
//! | [`mdoc`] | mdoc data elements in `eu.europa.ec.eudi.pid.1`, and back |
//! | [`register`] | the asynchronous [`CprRegister`] trait and the test register [`FileRegister`] |
//! | [`rules`] | [`pid_from_login`]: MitID login + register + [`IssuerPolicy`] → [`PidData`] or a [`Refusal`] |
//! | `test_identities` | MitID test identities for the embedded MitID test provider (feature `test-identities`) |
//!
//! # Features
//!
//! * `test-identities` (off by default): the MitID test identities (`test_identities`,
//!   `data/test-identities.json`) and the embedded default test register
//!   (`FileRegister::embedded`, `data/test-register.json`). Test data only: a production issuer
//!   builds without it and reads its register from a file or a service.
//!
//! # From a MitID login to a PID
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use eudi_pid::{FileRegister, IdentityType, IssuerPolicy, MitIdLogin, pid_from_login};
//! use eudi_trust::AssuranceLevel;
//! use time::macros::date;
//!
//! let login = MitIdLogin {
//!     subject: "b8a1abcd-1a69-46c7-8da4-f9fc3c6da5d7".into(),
//!     identity_type: IdentityType::Private,
//!     loa: "https://data.gov.dk/concept/core/nsis/loa/Substantial".parse()?,
//!     cpr: Some("120385-2459".parse()?),
//!     name: Some("Lars Hansen".into()),
//!     birth_date: Some(date!(1985 - 03 - 12)),
//!     pcode: None,
//! };
//! let register = FileRegister::embedded(); // data/test-register.json (feature test-identities)
//! let data = pid_from_login(&login, &register, &IssuerPolicy::default(), date!(2026 - 03 - 01))
//!     .await?;
//!
//! // SD-JWT VC user claims (each to be made selectively disclosable by the issuer).
//! let claims = data.to_sd_jwt_claims();
//! assert_eq!(claims["birthdate"], "1985-03-12");
//! assert_eq!(claims["personal_administrative_number"], "1203852459");
//! assert_eq!(claims[eudi_pid::LOA_CLAIM], "substantial");
//!
//! // mdoc data elements; the level goes in the domestic namespace.
//! let elements = data.to_mdoc_elements();
//! assert!(elements.iter().any(|(ns, el, _)| *ns == "dk.eudi.pid.1" && *el == "assurance_level"));
//!
//! // A verifier reads what was disclosed, and the stated level if disclosed.
//! let back = eudi_pid::PidAttributes::from_sd_jwt_claims(&claims)?;
//! assert_eq!(back.family_name.as_deref(), Some("Hansen"));
//! assert_eq!(eudi_pid::stated_level_sd_jwt(&claims), Some(AssuranceLevel::Substantial));
//!
//! // A Low login is refused, with a reason for the user and a stable code.
//! let low = MitIdLogin { loa: AssuranceLevel::Low, ..login };
//! let refusal = pid_from_login(&low, &register, &IssuerPolicy::default(), date!(2026 - 03 - 01))
//!     .await
//!     .unwrap_err();
//! assert_eq!(refusal.code(), "insufficient_loa");
//! assert!(refusal.to_string().starts_with(
//!     "The level of assurance provided by your Danish eID is not meeting the level of assurance"));
//! # Ok(())
//! # }
//! ```
//!
//! # Claim and element names
//!
//! Rulebook data identifiers (§2) and how each encoding names and types them (§3.1.2, §4.1).
//! SD-JWT VC: vct `urn:eudi:pid:1`. mdoc: docType and namespace `eu.europa.ec.eudi.pid.1`.
//!
//! | data identifier | SD-JWT VC claim | JSON type | mdoc element | CBOR type |
//! |---|---|---|---|---|
//! | family_name | `family_name` | string | `family_name` | tstr |
//! | given_name | `given_name` | string | `given_name` | tstr |
//! | birth_date | `birthdate` | string `YYYY-MM-DD` | `birth_date` | full-date `#6.1004(tstr)` |
//! | birth_place | `place_of_birth` | object {`country`, `region`, `locality`} | `place_of_birth` | map {`country`, `region`, `locality`} |
//! | nationality | `nationalities` | array of alpha-2 strings | `nationality` | array of tstr |
//! | resident_address | `address.formatted` | string | `resident_address` | tstr |
//! | resident_country | `address.country` | string | `resident_country` | tstr |
//! | resident_state | `address.region` | string | `resident_state` | tstr |
//! | resident_city | `address.locality` | string | `resident_city` | tstr |
//! | resident_postal_code | `address.postal_code` | string | `resident_postal_code` | tstr |
//! | resident_street | `address.street_address` | string | `resident_street` | tstr |
//! | resident_house_number | `address.house_number` | string | — (none in §3.1.2; the street includes it) | — |
//! | personal_administrative_number | `personal_administrative_number` | string: the CPR number, 10 digits | `personal_administrative_number` | tstr |
//! | portrait | `picture` | string, `data:image/jpeg;base64,…` | `portrait` | bstr (JPEG) |
//! | family_name_birth | `birth_family_name` | string | `family_name_birth` | tstr |
//! | given_name_birth | `birth_given_name` | string | `given_name_birth` | tstr |
//! | sex | `sex` | number (0–6, 9) | `sex` | uint |
//! | email_address | `email` | string | `email_address` | tstr |
//! | mobile_phone_number | `phone_number` | string | `mobile_phone_number` | tstr |
//! | expiry_date | `date_of_expiry` | string `YYYY-MM-DD` | `expiry_date` | full-date |
//! | issuance_date | `date_of_issuance` | string `YYYY-MM-DD` | `issuance_date` | full-date |
//! | issuing_authority | `issuing_authority` | string | `issuing_authority` | tstr |
//! | issuing_country | `issuing_country` | string | `issuing_country` | tstr |
//! | document_number | `document_number` | string | `document_number` | tstr |
//! | issuing_jurisdiction | `issuing_jurisdiction` | string | `issuing_jurisdiction` | tstr |
//! | trust_anchor | `trust_anchor` | string | `trust_anchor` | tstr |
//! | attestation_legal_category | `attestation_legal_category` | string | `attestation_legal_category` | tstr |
//! | *(DK) level of assurance* | `dk_assurance_level` ([`LOA_CLAIM`]) | string `low` / `substantial` / `high` | `assurance_level` ([`LOA_ELEMENT`]) in namespace `dk.eudi.pid.1` ([`DK_NAMESPACE`]) | tstr `low` / `substantial` / `high` |
//!
//! The level of assurance is a domestic extension: a relying party that does not know the claim or
//! namespace ignores it. It is the MitID login's level (the lowest of its IAL, AAL and FAL), stated
//! by the issuer; a verifier's effective level is the lower of it and its trust anchor's ceiling.
//!
//! The decoders also accept the older names `expiry_date`, `issuance_date` and `portrait` in
//! SD-JWT VC (used by the SD-JWT VC draft's PID example), `resident_house_number` and a single
//! `nationality` string in mdoc, and a `tdate` for the validity dates. Unknown claims are ignored.
//!
//! # Personal data
//!
//! No type in this crate prints a CPR number in full through `Debug` or `Display`: [`Cpr`] shows
//! `DDMMYY-****`, and so does every type that holds one ([`MitIdLogin`], [`RegisterRecord`],
//! [`Pid`] through [`AdministrativeNumber`], `TestIdentity`, errors). The encodings
//! (`serde_json::Map`, `ciborium::Value`) hold the number in full, as the PID must.

#![forbid(unsafe_code)]

pub mod cpr;
mod json;
pub mod login;
pub mod mdoc;
pub mod model;
pub mod register;
pub mod rules;
pub mod sd_jwt;
#[cfg(feature = "test-identities")]
pub mod test_identities;

pub use cpr::Cpr;
pub use cpr::CprError;
pub use cpr::Sex;
pub use login::IdentityType;
pub use login::MitIdLogin;
pub use mdoc::DK_NAMESPACE;
pub use mdoc::LOA_ELEMENT;
pub use mdoc::MdocElement;
pub use mdoc::stated_level_mdoc;
pub use model::Address;
pub use model::AdministrativeNumber;
pub use model::DOCTYPE;
pub use model::NAMESPACE;
pub use model::Pid;
pub use model::PidAttributes;
pub use model::PidError;
pub use model::PidSex;
pub use model::PlaceOfBirth;
pub use model::VCT;
pub use register::CprRegister;
pub use register::FileRegister;
pub use register::LookupFuture;
pub use register::LookupResult;
pub use register::PersonStatus;
pub use register::RegisterAddress;
pub use register::RegisterError;
pub use register::RegisterRecord;
pub use rules::IssuerPolicy;
pub use rules::PidData;
pub use rules::Refusal;
pub use rules::pid_from_login;
pub use sd_jwt::LOA_CLAIM;
pub use sd_jwt::stated_level_sd_jwt;
#[cfg(feature = "test-identities")]
pub use test_identities::TestIdentity;
#[cfg(feature = "test-identities")]
pub use test_identities::default_test_identities;
