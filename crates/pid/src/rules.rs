//! The rules a Danish PID provider applies to turn a MitID login into PID data.
//!
//! [`pid_from_login`] checks, in this order, and refuses with the first that fails:
//!
//! | # | rule | refusal [`code`](Refusal::code) |
//! |---|---|---|
//! | 1 | the identity is a private MitID, not MitID Erhverv | `mitid_erhverv` |
//! | 2 | the identity has a CPR number (not a P code) | `no_cpr` |
//! | 3 | its level of assurance reaches the issuer's minimum | `insufficient_loa` |
//! | 4 | the CPR register answers | `register_unavailable` |
//! | 5 | the CPR number is in the register | `not_in_register` |
//! | 6 | the person is not deceased | `deceased` |
//! | 7 | the number is in use and the person not registered as disappeared | `register_status` |
//! | 8 | the birth date MitID sent (if any) is the register's | `birth_date_mismatch` |
//! | 9 | the register holds every mandatory PID attribute, within the rulebook's limits | `incomplete_register_record` |
//!
//! The PID then holds the register's names, birth date, birth place, nationalities, sex and (for
//! residents) address, the CPR number as `personal_administrative_number`, the issuer's metadata,
//! and `issuance_date` = today, `expiry_date` = today + `validity_days`.

use eudi_trust::AssuranceLevel;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Map;
use serde_json::Value;
use time::Date;
use time::Duration;

use crate::login::IdentityType;
use crate::login::MitIdLogin;
use crate::mdoc::MdocElement;
use crate::mdoc::level_element;
use crate::mdoc::stated_level_mdoc;
use crate::model::AdministrativeNumber;
use crate::model::Pid;
use crate::model::PidError;
use crate::model::PidSex;
use crate::register::CprRegister;
use crate::register::PersonStatus;
use crate::register::RegisterError;
use crate::sd_jwt::LOA_CLAIM;
use crate::sd_jwt::stated_level_sd_jwt;

/// What the PID provider is configured to issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerPolicy {
    /// Lowest MitID level of assurance accepted (default `substantial`).
    pub minimum_loa: AssuranceLevel,
    /// `issuing_authority` (default `Digitaliseringsstyrelsen`, the Danish Agency for Digital
    /// Government).
    pub issuing_authority: String,
    /// `issuing_country` (default `DK`).
    pub issuing_country: String,
    /// `issuing_jurisdiction`, ISO 3166-2 (default none).
    pub issuing_jurisdiction: Option<String>,
    /// Administrative validity of a PID in days: `expiry_date` = issuance + this (default 365).
    pub validity_days: u32,
    /// `trust_anchor` URL (default none).
    pub trust_anchor: Option<String>,
    /// `attestation_legal_category` (default `PID`).
    pub attestation_legal_category: Option<String>,
    /// Whether to include the resident address (default true).
    pub include_address: bool,
}

impl Default for IssuerPolicy {
    fn default() -> Self {
        Self {
            minimum_loa: AssuranceLevel::Substantial,
            issuing_authority: "Digitaliseringsstyrelsen".into(),
            issuing_country: "DK".into(),
            issuing_jurisdiction: None,
            validity_days: 365,
            trust_anchor: None,
            attestation_legal_category: Some("PID".into()),
            include_address: true,
        }
    }
}

/// PID data ready to encode: the PID and the level of assurance of the login it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PidData {
    /// The PID attributes and metadata.
    pub pid: Pid,
    /// The MitID login's level of assurance, carried as the domestic extension.
    pub assurance_level: AssuranceLevel,
}

impl PidData {
    /// The SD-JWT VC user claims, with [`LOA_CLAIM`] added.
    pub fn to_sd_jwt_claims(&self) -> Map<String, Value> {
        let mut claims = self.pid.to_sd_jwt_claims();
        claims.insert(
            LOA_CLAIM.into(),
            Value::String(self.assurance_level.as_str().into()),
        );
        claims
    }

    /// The mdoc data elements, with the level in [`DK_NAMESPACE`](crate::mdoc::DK_NAMESPACE).
    pub fn to_mdoc_elements(&self) -> Vec<MdocElement> {
        let mut elements = self.pid.to_mdoc_elements();
        elements.push(level_element(self.assurance_level));
        elements
    }

    /// Reads PID data back from SD-JWT VC claims; the level claim must be present.
    pub fn from_sd_jwt_claims(claims: &Map<String, Value>) -> Result<Self, PidError> {
        Ok(Self {
            pid: Pid::from_sd_jwt_claims(claims)?,
            assurance_level: stated_level_sd_jwt(claims).ok_or(PidError::Missing(LOA_CLAIM))?,
        })
    }

    /// Reads PID data back from mdoc claims JSON; the level element must be present.
    pub fn from_mdoc_claims(claims: &Map<String, Value>) -> Result<Self, PidError> {
        Ok(Self {
            pid: Pid::from_mdoc_claims(claims)?,
            assurance_level: stated_level_mdoc(claims)
                .ok_or(PidError::Missing("dk.eudi.pid.1/assurance_level"))?,
        })
    }
}

/// Why no PID is issued for a login. `Display` is an English sentence for the user;
/// [`Refusal::code`] is stable for programs. Neither contains the CPR number or other personal
/// data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The login was a MitID Erhverv (business) identity.
    #[error(
        "You logged in with MitID Erhverv, which acts on behalf of a business. MitID Erhverv cannot \
         yet be used across borders, and a PID identifies you as a private person: log in with \
         your private MitID."
    )]
    ProfessionalIdentity,
    /// The MitID has no CPR number (it was created with a P code).
    #[error(
        "Your MitID has no CPR number (it was created with a P code). The mandatory PID \
         attributes (name, date of birth, place of birth and nationality) are read from the CPR \
         register, which can only be looked up by CPR number, so no PID can be issued. Once you \
         have a CPR number, add it to your MitID and try again."
    )]
    NoCpr,
    /// The login's level of assurance is below the issuer's minimum.
    #[error(
        "The level of assurance provided by your Danish eID is not meeting the level of assurance \
         requested by the PID provider: your MitID login is at level {}, and a PID requires at \
         least level {}. You can raise the level of assurance of your MitID at a Citizen Service \
         (borgerservice).",
        level_name(*provided),
        level_name(*required)
    )]
    LevelTooLow {
        /// The login's level.
        provided: AssuranceLevel,
        /// The issuer's minimum.
        required: AssuranceLevel,
    },
    /// The CPR register could not be asked.
    #[error(
        "The CPR register cannot be reached right now, so no PID can be issued. Please try again later."
    )]
    RegisterUnavailable(#[source] RegisterError),
    /// The CPR number is not in the CPR register.
    #[error(
        "Your CPR number was not found in the CPR register, so the PID attributes cannot be read \
         and no PID can be issued."
    )]
    NotInRegister,
    /// The register records the person as deceased.
    #[error("The CPR register records this person as deceased. No PID can be issued.")]
    Deceased,
    /// The number is cancelled or the person registered as disappeared.
    #[error(
        "The CPR register does not list this CPR number as in use (it is cancelled or the person \
         is registered as disappeared). No PID can be issued; please contact your municipality's \
         Citizen Service."
    )]
    NotActive,
    /// The birth date MitID sent differs from the register's.
    #[error(
        "The date of birth in your MitID does not agree with the CPR register. No PID can be \
         issued until they agree; please contact MitID support or your municipality's Citizen \
         Service."
    )]
    BirthDateMismatch,
    /// The register lacks or has invalid data for a mandatory attribute.
    #[error(
        "The CPR register does not hold everything a PID needs ({0}). No PID can be issued; \
         please contact your municipality's Citizen Service."
    )]
    IncompleteRecord(#[source] PidError),
}

impl Refusal {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ProfessionalIdentity => "mitid_erhverv",
            Self::NoCpr => "no_cpr",
            Self::LevelTooLow { .. } => "insufficient_loa",
            Self::RegisterUnavailable(_) => "register_unavailable",
            Self::NotInRegister => "not_in_register",
            Self::Deceased => "deceased",
            Self::NotActive => "register_status",
            Self::BirthDateMismatch => "birth_date_mismatch",
            Self::IncompleteRecord(_) => "incomplete_register_record",
        }
    }
}

/// A level's name as users read it (`Low`, `Substantial`, `High`).
fn level_name(level: AssuranceLevel) -> &'static str {
    match level {
        AssuranceLevel::Low => "Low",
        AssuranceLevel::Substantial => "Substantial",
        AssuranceLevel::High => "High",
    }
}

/// Turns a MitID login into PID data, or says why not (see the module docs for the rules).
///
/// Asynchronous because it asks the CPR register, a network service in production. The rules
/// that need no register (identity type, CPR present, level) are applied before it is asked.
pub async fn pid_from_login(
    login: &MitIdLogin,
    register: &dyn CprRegister,
    policy: &IssuerPolicy,
    today: Date,
) -> Result<PidData, Refusal> {
    if login.identity_type == IdentityType::Professional {
        return Err(Refusal::ProfessionalIdentity);
    }
    let Some(cpr) = &login.cpr else {
        return Err(Refusal::NoCpr);
    };
    if login.loa < policy.minimum_loa {
        return Err(Refusal::LevelTooLow {
            provided: login.loa,
            required: policy.minimum_loa,
        });
    }
    let record = register
        .lookup(cpr)
        .await
        .map_err(Refusal::RegisterUnavailable)?
        .ok_or(Refusal::NotInRegister)?;
    let resident = match record.status {
        PersonStatus::Active => true,
        PersonStatus::Emigrated { .. } => false,
        PersonStatus::Deceased { .. } => return Err(Refusal::Deceased),
        PersonStatus::Disappeared { .. } | PersonStatus::Cancelled => {
            return Err(Refusal::NotActive);
        }
    };
    if login.birth_date.is_some_and(|d| d != record.birth_date) {
        return Err(Refusal::BirthDateMismatch);
    }
    let address = record
        .address
        .as_ref()
        .filter(|_| resident && policy.include_address)
        .map(|a| a.to_pid_address());
    let pid = Pid {
        family_name: record.family_name,
        given_name: record.given_name,
        birth_date: record.birth_date,
        place_of_birth: record.birth_place,
        nationalities: record.nationalities,
        portrait: None,
        address,
        personal_administrative_number: Some(AdministrativeNumber::from(cpr)),
        family_name_birth: record.family_name_birth,
        given_name_birth: record.given_name_birth,
        sex: Some(PidSex::from(record.sex)),
        email_address: None,
        mobile_phone_number: None,
        issuing_authority: policy.issuing_authority.clone(),
        issuing_country: policy.issuing_country.clone(),
        expiry_date: Some(today.saturating_add(Duration::days(i64::from(policy.validity_days)))),
        issuance_date: Some(today),
        document_number: None,
        issuing_jurisdiction: policy.issuing_jurisdiction.clone(),
        trust_anchor: policy.trust_anchor.clone(),
        attestation_legal_category: policy.attestation_legal_category.clone(),
    };
    pid.validate().map_err(Refusal::IncompleteRecord)?;
    Ok(PidData {
        pid,
        assurance_level: login.loa,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::cpr::Cpr;
    use crate::model::PlaceOfBirth;
    use crate::register::FileRegister;
    use crate::register::RegisterRecord;

    const TODAY: Date = date!(2026 - 03 - 01);

    fn login(cpr: Option<&str>, loa: AssuranceLevel) -> MitIdLogin {
        MitIdLogin {
            subject: "9f8e7d6c-0000-4000-8000-000000000001".into(),
            identity_type: IdentityType::Private,
            loa,
            cpr: cpr.map(|c| c.parse().unwrap()),
            name: None,
            birth_date: None,
            pcode: None,
        }
    }

    async fn issue(login: &MitIdLogin) -> Result<PidData, Refusal> {
        pid_from_login(
            login,
            &FileRegister::embedded(),
            &IssuerPolicy::default(),
            TODAY,
        )
        .await
    }

    #[tokio::test]
    async fn substantial_with_cpr_is_issued() {
        let data = issue(&login(Some("120385-2459"), AssuranceLevel::Substantial))
            .await
            .unwrap();
        assert_eq!(data.assurance_level, AssuranceLevel::Substantial);
        let pid = &data.pid;
        assert_eq!(pid.given_name, "Lars");
        assert_eq!(pid.birth_date, date!(1985 - 03 - 12));
        assert_eq!(
            pid.personal_administrative_number
                .as_ref()
                .map(AdministrativeNumber::expose),
            Some("1203852459")
        );
        assert_eq!(pid.sex, Some(PidSex::Male));
        assert_eq!(pid.issuance_date, Some(TODAY));
        assert_eq!(pid.expiry_date, Some(date!(2027 - 03 - 01)));
        assert_eq!(pid.issuing_country, "DK");
        assert!(pid.address.is_some());
        let claims = data.to_sd_jwt_claims();
        assert_eq!(claims.get(LOA_CLAIM), Some(&Value::from("substantial")));
        assert_eq!(PidData::from_sd_jwt_claims(&claims), Ok(data.clone()));
        let elements = data.to_mdoc_elements();
        assert_eq!(
            elements.last(),
            Some(&(
                "dk.eudi.pid.1",
                "assurance_level",
                ciborium::Value::Text("substantial".into())
            ))
        );
    }

    #[tokio::test]
    async fn high_is_issued_at_high() {
        let data = issue(&login(Some("041172-1256"), AssuranceLevel::High))
            .await
            .unwrap();
        assert_eq!(data.assurance_level, AssuranceLevel::High);
    }

    #[tokio::test]
    async fn erhverv_is_refused() {
        let mut l = login(Some("290268-0767"), AssuranceLevel::High);
        l.identity_type = IdentityType::Professional;
        let r = issue(&l).await.unwrap_err();
        assert_eq!(r.code(), "mitid_erhverv");
        assert!(r.to_string().contains("MitID Erhverv"));
    }

    #[tokio::test]
    async fn no_cpr_is_refused_and_says_why() {
        let mut l = login(None, AssuranceLevel::High);
        l.pcode = Some("48213907".into());
        let r = issue(&l).await.unwrap_err();
        assert_eq!(r.code(), "no_cpr");
        let msg = r.to_string();
        assert!(
            msg.contains("P code") && msg.contains("CPR register"),
            "{msg}"
        );
        assert!(msg.contains("mandatory PID attributes"), "{msg}");
        assert!(!msg.contains("48213907"));
    }

    #[tokio::test]
    async fn level_below_minimum_is_refused_naming_both_levels() {
        let r = issue(&login(Some("230891-3549"), AssuranceLevel::Low))
            .await
            .unwrap_err();
        assert_eq!(r.code(), "insufficient_loa");
        let msg = r.to_string();
        assert!(msg.starts_with(
            "The level of assurance provided by your Danish eID is not meeting the level of \
             assurance requested"
        ));
        assert!(
            msg.contains("at level Low") && msg.contains("at least level Substantial"),
            "{msg}"
        );
        let policy = IssuerPolicy {
            minimum_loa: AssuranceLevel::High,
            ..IssuerPolicy::default()
        };
        let r = pid_from_login(
            &login(Some("120385-2459"), AssuranceLevel::Substantial),
            &FileRegister::embedded(),
            &policy,
            TODAY,
        )
        .await
        .unwrap_err();
        assert!(matches!(
            r,
            Refusal::LevelTooLow {
                provided: AssuranceLevel::Substantial,
                required: AssuranceLevel::High
            }
        ));
        assert!(r.to_string().contains("at least level High"));
    }

    #[tokio::test]
    async fn not_in_register_is_refused() {
        let r = issue(&login(Some("101079-1649"), AssuranceLevel::High))
            .await
            .unwrap_err();
        assert_eq!(r.code(), "not_in_register");
    }

    #[tokio::test]
    async fn deceased_is_refused() {
        let r = issue(&login(Some("090440-1269"), AssuranceLevel::Substantial))
            .await
            .unwrap_err();
        assert_eq!(r.code(), "deceased");
    }

    #[tokio::test]
    async fn birth_date_must_agree_with_the_register() {
        let mut l = login(Some("180590-2538"), AssuranceLevel::Substantial);
        l.birth_date = Some(date!(1990 - 05 - 17));
        assert_eq!(issue(&l).await.unwrap_err().code(), "birth_date_mismatch");
        l.birth_date = Some(date!(1990 - 05 - 18));
        assert!(issue(&l).await.is_ok());
        l.birth_date = None;
        assert!(issue(&l).await.is_ok());
    }

    #[tokio::test]
    async fn modulus_11_failure_and_centuries_are_issued() {
        for (cpr, born) in [
            ("150612-4150", date!(2012 - 06 - 15)), // fails modulus 11, 2000s
            ("311299-6248", date!(1899 - 12 - 31)), // 7th digit 6, YY 99: 1800s
            ("300905-5699", date!(2005 - 09 - 30)), // 7th digit 5, YY 05: 2000s
            ("610195-3759", date!(1995 - 01 - 01)), // replacement number
        ] {
            let data = issue(&login(Some(cpr), AssuranceLevel::Substantial))
                .await
                .unwrap();
            assert_eq!(data.pid.birth_date, born, "{cpr}");
        }
    }

    #[tokio::test]
    async fn emigrated_gets_no_address() {
        let data = issue(&login(Some("200160-0322"), AssuranceLevel::Substantial))
            .await
            .unwrap();
        assert_eq!(data.pid.address, None);
    }

    struct OneRecord(RegisterRecord);

    impl CprRegister for OneRecord {
        fn lookup<'a>(&'a self, cpr: &'a Cpr) -> crate::register::LookupFuture<'a> {
            Box::pin(std::future::ready(Ok(
                (cpr == &self.0.cpr).then(|| self.0.clone())
            )))
        }
    }

    struct Down;

    impl CprRegister for Down {
        fn lookup<'a>(&'a self, _: &'a Cpr) -> crate::register::LookupFuture<'a> {
            // Like a network register: not ready at the first poll.
            Box::pin(async {
                tokio::task::yield_now().await;
                Err(RegisterError::Unavailable("timeout".into()))
            })
        }
    }

    fn record(status: PersonStatus) -> RegisterRecord {
        let cpr: Cpr = "120385-2459".parse().unwrap();
        RegisterRecord {
            birth_date: cpr.birth_date(),
            sex: cpr.sex(),
            cpr,
            given_name: "Lars".into(),
            family_name: "Hansen".into(),
            birth_place: PlaceOfBirth {
                locality: Some("Aarhus".into()),
                country: Some("DK".into()),
                region: None,
            },
            nationalities: vec!["DK".into()],
            address: None,
            status,
            family_name_birth: None,
            given_name_birth: None,
        }
    }

    #[tokio::test]
    async fn register_status_rules() {
        let l = login(Some("120385-2459"), AssuranceLevel::Substantial);
        let p = IssuerPolicy::default();
        for (status, code) in [
            (PersonStatus::Cancelled, Some("register_status")),
            (
                PersonStatus::Disappeared { date: None },
                Some("register_status"),
            ),
            (
                PersonStatus::Deceased {
                    date: date!(2020 - 01 - 01),
                },
                Some("deceased"),
            ),
            (PersonStatus::Emigrated { date: None }, None),
            (PersonStatus::Active, None),
        ] {
            let r = pid_from_login(&l, &OneRecord(record(status)), &p, TODAY).await;
            assert_eq!(r.err().map(|r| r.code()), code, "{status:?}");
        }
        let r = pid_from_login(&l, &Down, &p, TODAY).await.unwrap_err();
        assert_eq!(r.code(), "register_unavailable");
        assert!(!r.to_string().contains("timeout"));
    }

    #[tokio::test]
    async fn incomplete_register_record_is_refused() {
        let l = login(Some("120385-2459"), AssuranceLevel::Substantial);
        let mut rec = record(PersonStatus::Active);
        rec.nationalities.clear();
        let r = pid_from_login(&l, &OneRecord(rec), &IssuerPolicy::default(), TODAY)
            .await
            .unwrap_err();
        assert_eq!(r.code(), "incomplete_register_record");
        assert!(r.to_string().contains("nationality"), "{r}");
    }

    #[tokio::test]
    async fn refusal_order() {
        // MitID Erhverv without CPR at level Low: Erhverv is named first.
        let mut l = login(None, AssuranceLevel::Low);
        l.identity_type = IdentityType::Professional;
        assert_eq!(issue(&l).await.unwrap_err().code(), "mitid_erhverv");
        // P code at level Low: the missing CPR is named first.
        let l = login(None, AssuranceLevel::Low);
        assert_eq!(issue(&l).await.unwrap_err().code(), "no_cpr");
        // Deceased and low: the level is checked before the register is asked.
        let l = login(Some("090440-1269"), AssuranceLevel::Low);
        assert_eq!(issue(&l).await.unwrap_err().code(), "insufficient_loa");
    }

    #[tokio::test]
    async fn no_refusal_or_pid_prints_the_cpr() {
        let l = login(Some("120385-2459"), AssuranceLevel::Substantial);
        let data = issue(&l).await.unwrap();
        let shown = format!("{data:?} {data:#?} {l:?}");
        assert!(
            !shown.contains("1203852459") && !shown.contains("2459"),
            "{shown}"
        );
        for cpr in ["090440-1269", "101079-1649", "230891-3549"] {
            let mut l = login(Some(cpr), AssuranceLevel::Substantial);
            l.loa = if cpr.starts_with("2308") {
                AssuranceLevel::Low
            } else {
                l.loa
            };
            let r = issue(&l).await.unwrap_err();
            let shown = format!("{r} {r:?}");
            assert!(!shown.contains(&cpr[7..]), "{shown}");
        }
    }

    #[test]
    fn issuing_can_run_on_a_multi_threaded_runtime() {
        // `pid_from_login` with a `dyn CprRegister` is `Send`, so a service's handler can await it.
        fn send<T: Send>(_: &T) {}
        let l = login(Some("120385-2459"), AssuranceLevel::Substantial);
        let register: std::sync::Arc<dyn CprRegister> = std::sync::Arc::new(Down);
        let policy = IssuerPolicy::default();
        let future = pid_from_login(&l, register.as_ref(), &policy, TODAY);
        send(&future);
        drop(future);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_register_that_waits_is_awaited() {
        let l = login(Some("120385-2459"), AssuranceLevel::Substantial);
        let register: std::sync::Arc<dyn CprRegister> =
            std::sync::Arc::new(OneRecord(record(PersonStatus::Active)));
        let task = tokio::spawn(async move {
            pid_from_login(&l, register.as_ref(), &IssuerPolicy::default(), TODAY)
                .await
                .map(|data| data.pid.given_name)
        });
        assert_eq!(task.await.unwrap().unwrap(), "Lars");
    }

    #[test]
    fn policy_config_parses() {
        let p: IssuerPolicy =
            serde_json::from_str(r#"{"minimum_loa": "high", "validity_days": 30}"#).unwrap();
        assert_eq!(p.minimum_loa, AssuranceLevel::High);
        assert_eq!(p.validity_days, 30);
        assert_eq!(p.issuing_country, "DK");
        assert!(serde_json::from_str::<IssuerPolicy>(r#"{"minimum": "high"}"#).is_err());
    }
}
