//! The PID minter: [`PidMinter`] implements `eudi_oid4vci`'s [`CredentialMinter`] seam for the
//! two PID configurations.
//!
//! | configuration id | format | type | signer |
//! |---|---|---|---|
//! | [`SD_JWT_CONFIGURATION_ID`] | `dc+sd-jwt` | vct `urn:eudi:pid:1` | SD-JWT VC signer, `x5c` = `[leaf]` |
//! | [`MDOC_CONFIGURATION_ID`] | `mso_mdoc` | doctype `eu.europa.ec.eudi.pid.1` | document signer, `x5chain` = `[DS]` |
//!
//! For each request it applies the PID rules of `eudi_pid` ([`eudi_pid::pid_from_login`]:
//! MitID Erhverv, P code without CPR, level below the minimum, not in the register, deceased, …
//! are refused with the rule's words), defers the request for manual review when MitID and the
//! CPR register disagree on the birth date (unless a reviewer approved it, or deferral is off),
//! then allocates one random status list index per credential (`StatusListStore`), signs, and
//! records one [`CredentialRecord`] per credential (id, format, status place, identity key,
//! issuance and expiry; no claim values) before answering.
//!
//! SD-JWT VC (draft-ietf-oauth-sd-jwt-vc §3.2): `typ` `dc+sd-jwt`, `iss` = the credential
//! issuer identifier (which the signer's URI SAN names), `iat`, `exp`, `cnf.jwk`,
//! `status.status_list` (Token Status List §6.2), every rulebook claim selectively disclosable
//! (PID rulebook PID_21), the level of assurance as the domestic claim `dk_assurance_level`.
//! mdoc (ISO/IEC 18013-5 §9.1.2): every element of `eu.europa.ec.eudi.pid.1` and the level in
//! `dk.eudi.pid.1`, the MSO's `validityInfo` ending at the same expiry, and its `status`
//! (Token Status List §6.3).
//!
//! # Wiring
//!
//! `Config::load` → `config::issuer_identifier(public URL)` →
//! `IssuerKeys::load_or_generate(config.keys_dir(), …)` → a store (`eudi-store`) →
//! `PidMinter::new(keys, register, store, store, MinterSettings::from_config(…))` for
//! `eudi_oid4vci`'s `Issuer` (with [`pid_credential_configurations`] in its `IssuerConfig`), and
//! `StatusListPublisher::new(store, keys, issuer id, policy.status_ttl, …)` for
//! `GET /status/{list}`. A MitID login becomes `Subject::from_login(&login)`, whose `encode()` is
//! the grant's subject; [`PidMinter::check`] refuses before a grant or offer is made.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rand::SystemRandom;
use eudi_mdoc::IssuerSignedBuilder;
use eudi_mdoc::ValidityInfo;
use eudi_oid4vci::issuance::CredentialMinter;
use eudi_oid4vci::issuance::MintError;
use eudi_oid4vci::issuance::MintFuture;
use eudi_oid4vci::issuance::MintOutcome;
use eudi_oid4vci::issuance::MintRequest;
use eudi_oid4vci::metadata::CredentialConfiguration;
use eudi_oid4vci::store::AllocationPolicy;
use eudi_oid4vci::store::CredentialRecord;
use eudi_oid4vci::store::CredentialState;
use eudi_oid4vci::store::CredentialStore;
use eudi_oid4vci::store::StatusListStore;
use eudi_oid4vci::store::StatusSlot;
use eudi_pid::CprRegister;
use eudi_pid::FileRegister;
use eudi_pid::IssuerPolicy;
use eudi_pid::PidData;
use eudi_pid::Refusal;
use eudi_pid::RegisterError;
use eudi_pid::pid_from_login;
use eudi_sdjwt::vc;
use eudi_status_list::StatusReference;
use eudi_trust::Jwk;
use eudi_trust::b64;
use eudi_trust::jws::PreparedHeader;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;
use time::Date;
use time::OffsetDateTime;

use crate::config::Config;
use crate::pki::IssuerKeys;
use crate::status_lists::status_list_uri;
use crate::subject::Subject;

/// The SD-JWT VC PID configuration.
pub const SD_JWT_CONFIGURATION_ID: &str = "eu.europa.ec.eudi.pid_vc_sd_jwt";
/// The mdoc PID configuration.
pub const MDOC_CONFIGURATION_ID: &str = "eu.europa.ec.eudi.pid_mso_mdoc";
/// The SD-JWT VC format identifier (OpenID4VCI 1.0 Appendix A.3).
pub const SD_JWT_FORMAT: &str = "dc+sd-jwt";
/// The mdoc format identifier (OpenID4VCI 1.0 Appendix A.2).
pub const MDOC_FORMAT: &str = "mso_mdoc";
/// Most credentials one request may ask for here, whatever the configured batch size (the
/// protocol enforces the configured one; this bounds the work of a bug upstream).
pub const MAX_CREDENTIALS_PER_REQUEST: usize = 100;
/// The share of a status list given out before a new list is opened, so indices stay random
/// and cheap to draw (draft-ietf-oauth-status-list §13.2).
pub const STATUS_LIST_MAX_FILL_PERCENT: u8 = 50;
/// Seconds per day, for validity periods.
const DAY_SECS: i64 = 86_400;

/// What the minter is configured with, besides keys and stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinterSettings {
    /// The credential issuer identifier (`iss`; the status list URIs start with it).
    pub issuer_id: String,
    /// The PID rules' policy (minimum level, validity, issuing authority and country).
    pub policy: IssuerPolicy,
    /// Defer a birth-date mismatch for review instead of refusing it.
    pub defer_on_birth_date_mismatch: bool,
    /// Entries of a new status list.
    pub status_list_size: u32,
}

impl MinterSettings {
    /// From the configuration and the issuer identifier it serves under.
    pub fn from_config(config: &Config, issuer_id: impl Into<String>) -> Self {
        Self {
            issuer_id: issuer_id.into(),
            policy: IssuerPolicy {
                minimum_loa: config.policy.min_loa,
                validity_days: config.policy.validity_days,
                ..IssuerPolicy::default()
            },
            defer_on_birth_date_mismatch: config.policy.defer_on_birth_date_mismatch,
            status_list_size: config.policy.status_list_size,
        }
    }
}

/// The CPR register: the JSON file `path` (`eudi_pid::FileRegister` format), or the built-in
/// test register.
pub fn load_register(path: Option<&Path>) -> Result<FileRegister, RegisterError> {
    match path {
        Some(path) => FileRegister::from_path(path),
        None => Ok(FileRegister::embedded()),
    }
}

/// What the rules decided for a subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Issue this PID data.
    Issue(Box<PidData>),
    /// A person must review it first; the reason names no personal data.
    Defer {
        /// Why, for the reviewer.
        reason: String,
    },
}

/// A refusal by the PID rules, with the rule's stable code (for metrics) and its words (for the
/// person).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denied {
    /// `eudi_pid::Refusal::code`: `mitid_erhverv`, `no_cpr`, `insufficient_loa`, `deceased`, …
    pub code: &'static str,
    /// The rule's words, for the person (no personal data).
    pub message: String,
}

impl From<Refusal> for Denied {
    fn from(r: Refusal) -> Self {
        Self {
            code: r.code(),
            message: r.to_string(),
        }
    }
}

impl From<Denied> for MintError {
    fn from(d: Denied) -> Self {
        MintError::Refused(d.message)
    }
}

/// Why a birth-date mismatch waits for a reviewer (no personal data).
pub const BIRTH_DATE_REVIEW_REASON: &str =
    "MitID and the CPR register state different birth dates; check the person's identity documents";

/// Issues PIDs.
pub struct PidMinter {
    keys: Arc<IssuerKeys>,
    register: Arc<dyn CprRegister>,
    statuses: Arc<dyn StatusListStore>,
    credentials: Arc<dyn CredentialStore>,
    settings: MinterSettings,
    /// The SD-JWT VC protected header (`typ`, `alg`, `x5c`), prepared once.
    sd_jwt_header: PreparedHeader,
}

impl fmt::Debug for PidMinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PidMinter")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why a [`PidMinter`] cannot be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot prepare the SD-JWT VC header: {0}")]
pub struct MinterSetupError(String);

impl PidMinter {
    /// A minter signing with `keys`, reading persons from `register`, allocating status places
    /// from `statuses` and recording credentials in `credentials` (one store may be both).
    pub fn new(
        keys: Arc<IssuerKeys>,
        register: Arc<dyn CprRegister>,
        statuses: Arc<dyn StatusListStore>,
        credentials: Arc<dyn CredentialStore>,
        settings: MinterSettings,
    ) -> Result<Self, MinterSetupError> {
        let sd_jwt_header = vc::prepare_header(keys.sd_jwt().signer(), keys.sd_jwt().chain())
            .map_err(|e| MinterSetupError(e.to_string()))?;
        Ok(Self {
            keys,
            register,
            statuses,
            credentials,
            settings,
            sd_jwt_header,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &MinterSettings {
        &self.settings
    }

    /// What the rules decide for `subject` at `now`, without issuing anything: for
    /// `eudi-issuer offer --identity`, which refuses before making an offer, and for pages that
    /// show what would be issued. `reviewed`: a reviewer approved a birth-date mismatch.
    pub async fn preview(
        &self,
        subject: &Subject,
        now: i64,
        reviewed: bool,
    ) -> Result<Decision, Denied> {
        let today = today(now).ok_or_else(|| Denied {
            code: "clock",
            message: "the issuer's clock is out of range".into(),
        })?;
        let login = subject.to_login();
        let policy = &self.settings.policy;
        match pid_from_login(&login, self.register.as_ref(), policy, today).await {
            Ok(data) => Ok(Decision::Issue(Box::new(data))),
            Err(Refusal::BirthDateMismatch) if self.settings.defer_on_birth_date_mismatch => {
                if !reviewed {
                    return Ok(Decision::Defer {
                        reason: BIRTH_DATE_REVIEW_REASON.into(),
                    });
                }
                // The reviewer confirmed the person: the register's birth date is the PID's
                // (the register is the PID's source, the rulebook's "authentic source").
                let confirmed = eudi_pid::MitIdLogin {
                    birth_date: None,
                    ..login
                };
                pid_from_login(&confirmed, self.register.as_ref(), policy, today)
                    .await
                    .map(|data| Decision::Issue(Box::new(data)))
                    .map_err(Denied::from)
            }
            Err(refusal) => Err(refusal.into()),
        }
    }

    /// Whether the rules let `subject` have a PID now (see [`Self::preview`]); a deferral is
    /// `Ok`: the offer can be made, and the request will wait for review.
    pub async fn check(&self, subject: &Subject, now: i64) -> Result<(), Denied> {
        self.preview(subject, now, false).await.map(|_| ())
    }

    async fn mint_inner(&self, request: MintRequest<'_>) -> Result<MintOutcome, MintError> {
        let subject = Subject::decode(request.subject)
            .map_err(|e| MintError::Internal(format!("the grant's subject: {e}")))?;
        let format = match request.configuration_id {
            SD_JWT_CONFIGURATION_ID => SD_JWT_FORMAT,
            MDOC_CONFIGURATION_ID => MDOC_FORMAT,
            _ => {
                return Err(MintError::Refused(
                    "This issuer has no such credential configuration.".into(),
                ));
            }
        };
        let count = request.holder_keys.len();
        if count == 0 || count > MAX_CREDENTIALS_PER_REQUEST {
            return Err(MintError::Internal(format!(
                "{count} holder keys in one request (1..={MAX_CREDENTIALS_PER_REQUEST})"
            )));
        }
        let data = match self
            .preview(&subject, request.now, request.reviewed)
            .await?
        {
            Decision::Issue(data) => data,
            Decision::Defer { reason } => return Ok(MintOutcome::Deferred { reason }),
        };
        let validity = i64::from(self.settings.policy.validity_days) * DAY_SECS;
        let expires_at = request.now.saturating_add(validity);
        let policy = AllocationPolicy {
            list_size: self.settings.status_list_size,
            max_fill_percent: STATUS_LIST_MAX_FILL_PERCENT,
        };
        let slots = self
            .statuses
            .allocate_status(count as u32, &policy)
            .await
            .map_err(|e| MintError::Internal(format!("status allocation: {e}")))?;
        if slots.len() != count {
            return Err(MintError::Internal(format!(
                "status allocation gave {} places for {count} credentials",
                slots.len()
            )));
        }
        let subject_key = subject.identity_key(self.keys.identity_secret());
        let mut issued = Vec::with_capacity(count);
        let mut records = Vec::with_capacity(count);
        for (jwk, slot) in request.holder_keys.iter().zip(&slots) {
            let credential = match format {
                SD_JWT_FORMAT => {
                    self.sd_jwt(&data, jwk, *slot, request.now, expires_at)
                        .await?
                }
                _ => {
                    self.mdoc(&data, jwk, *slot, request.now, expires_at)
                        .await?
                }
            };
            issued.push(credential);
            records.push(CredentialRecord {
                id: random_id()?,
                subject_key: subject_key.clone(),
                format: format.to_owned(),
                configuration_id: request.configuration_id.to_owned(),
                status: *slot,
                state: CredentialState::Valid,
                issued_at: request.now,
                expires_at,
            });
        }
        // Recorded before answering: a credential the store does not know could not be revoked.
        self.credentials
            .insert_credentials(&records)
            .await
            .map_err(|e| MintError::Internal(format!("recording credentials: {e}")))?;
        Ok(MintOutcome::Issued(issued))
    }

    fn status_reference(&self, slot: StatusSlot) -> StatusReference {
        StatusReference {
            idx: u64::from(slot.index),
            uri: status_list_uri(&self.settings.issuer_id, slot.list),
        }
    }

    async fn sd_jwt(
        &self,
        data: &PidData,
        jwk: &Jwk,
        slot: StatusSlot,
        now: i64,
        expires_at: i64,
    ) -> Result<String, MintError> {
        let reference = self.status_reference(slot);
        let mut claims = data.to_sd_jwt_claims();
        claims.insert("exp".into(), Value::from(expires_at));
        claims.insert(
            "status".into(),
            json!({"status_list": {"idx": reference.idx, "uri": reference.uri}}),
        );
        let internal = |e: eudi_sdjwt::IssueError| MintError::Internal(format!("SD-JWT VC: {e}"));
        vc::builder(eudi_pid::VCT, &self.settings.issuer_id, now, &claims)
            .holder_key(jwk)
            .map_err(internal)?
            .sign_prepared(&self.sd_jwt_header, self.keys.sd_jwt().signer())
            .await
            .map_err(internal)?
            .into_compact()
            .map_err(|e| MintError::Internal(format!("SD-JWT VC: {e}")))
    }

    async fn mdoc(
        &self,
        data: &PidData,
        jwk: &Jwk,
        slot: StatusSlot,
        now: i64,
        expires_at: i64,
    ) -> Result<String, MintError> {
        let time = |t: i64| {
            OffsetDateTime::from_unix_timestamp(t)
                .map_err(|e| MintError::Internal(format!("mdoc validity: {e}")))
        };
        let device_key = jwk
            .to_verifying_key()
            .map_err(|e| MintError::Internal(format!("holder key: {e}")))?;
        let validity = ValidityInfo::new(time(now)?, time(now)?, time(expires_at)?);
        let builder = data.to_mdoc_elements().into_iter().fold(
            IssuerSignedBuilder::new(eudi_pid::DOCTYPE, &device_key, validity),
            |b, (namespace, element, value)| b.element(namespace, element, value),
        );
        let signer = self.keys.mdoc();
        let issued = builder
            .status(self.status_reference(slot))
            .sign(signer.signer(), signer.chain())
            .await
            .map_err(|e| MintError::Internal(format!("mdoc: {e}")))?;
        Ok(b64::encode(issued.to_bytes()))
    }
}

impl CredentialMinter for PidMinter {
    fn mint<'a>(&'a self, request: MintRequest<'a>) -> MintFuture<'a> {
        Box::pin(self.mint_inner(request))
    }
}

/// The UTC date of a Unix time.
fn today(now: i64) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp(now)
        .ok()
        .map(|t| t.date())
}

/// A credential id: 128 random bits, base64url (22 characters), as `eudi-issuer revoke` takes it.
fn random_id() -> Result<String, MintError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| MintError::Internal("the system random generator failed".into()))?;
    Ok(b64::encode(bytes))
}

/// One claim the metadata describes: SD-JWT VC path, mdoc namespace and element, whether the
/// rulebook makes it mandatory, English and Danish display names.
type ClaimRow = (
    &'static [&'static str],
    (&'static str, &'static str),
    bool,
    &'static str,
    &'static str,
);

const PID: &str = eudi_pid::NAMESPACE;
const DK: &str = eudi_pid::DK_NAMESPACE;

/// The claims shown in the metadata (PID rulebook §2, §3.1.2, §4.1).
const CLAIMS: &[ClaimRow] = &[
    (
        &["family_name"],
        (PID, "family_name"),
        true,
        "Family name",
        "Efternavn",
    ),
    (
        &["given_name"],
        (PID, "given_name"),
        true,
        "Given name",
        "Fornavn",
    ),
    (
        &["birthdate"],
        (PID, "birth_date"),
        true,
        "Date of birth",
        "Fødselsdato",
    ),
    (
        &["place_of_birth"],
        (PID, "place_of_birth"),
        true,
        "Place of birth",
        "Fødested",
    ),
    (
        &["nationalities"],
        (PID, "nationality"),
        true,
        "Nationality",
        "Nationalitet",
    ),
    (
        &["address", "formatted"],
        (PID, "resident_address"),
        false,
        "Address",
        "Adresse",
    ),
    (
        &["address", "country"],
        (PID, "resident_country"),
        false,
        "Country of residence",
        "Bopælsland",
    ),
    (
        &["address", "locality"],
        (PID, "resident_city"),
        false,
        "City of residence",
        "Bopælsby",
    ),
    (
        &["address", "postal_code"],
        (PID, "resident_postal_code"),
        false,
        "Postal code",
        "Postnummer",
    ),
    (
        &["address", "street_address"],
        (PID, "resident_street"),
        false,
        "Street",
        "Gade",
    ),
    (
        &["personal_administrative_number"],
        (PID, "personal_administrative_number"),
        false,
        "CPR number",
        "CPR-nummer",
    ),
    (&["sex"], (PID, "sex"), false, "Sex", "Køn"),
    (
        &["date_of_expiry"],
        (PID, "expiry_date"),
        true,
        "Expiry date",
        "Udløbsdato",
    ),
    (
        &["date_of_issuance"],
        (PID, "issuance_date"),
        false,
        "Issuance date",
        "Udstedelsesdato",
    ),
    (
        &["issuing_authority"],
        (PID, "issuing_authority"),
        true,
        "Issuing authority",
        "Udstedende myndighed",
    ),
    (
        &["issuing_country"],
        (PID, "issuing_country"),
        true,
        "Issuing country",
        "Udstedende land",
    ),
    (
        &[eudi_pid::LOA_CLAIM],
        (DK, eudi_pid::LOA_ELEMENT),
        false,
        "Level of assurance (MitID)",
        "Sikringsniveau (MitID)",
    ),
];

fn display(en: &str, da: &str) -> Value {
    json!([{"name": en, "locale": "en"}, {"name": da, "locale": "da"}])
}

fn configuration(mdoc: bool) -> Value {
    let claims: Vec<Value> = CLAIMS
        .iter()
        .map(|(path, (namespace, element), mandatory, en, da)| {
            let path: Vec<&str> = if mdoc {
                vec![namespace, element]
            } else {
                path.to_vec()
            };
            let mut claim = json!({"path": path, "display": display(en, da)});
            // Absent means false (OpenID4VCI 1.0 Appendix B.2): only mandatory claims say so.
            if *mandatory && let Some(c) = claim.as_object_mut() {
                c.insert("mandatory".into(), Value::Bool(true));
            }
            claim
        })
        .collect();
    let proof = json!({"jwt": {"proof_signing_alg_values_supported": ["ES256"]}});
    let metadata = json!({
        "display": [
            {"name": "PID (Danish personal identification data)", "locale": "en"},
            {"name": "PID (danske personidentifikationsdata)", "locale": "da"}
        ],
        "claims": claims,
    });
    if mdoc {
        json!({
            "format": MDOC_FORMAT,
            "scope": MDOC_CONFIGURATION_ID,
            "doctype": eudi_pid::DOCTYPE,
            "cryptographic_binding_methods_supported": ["cose_key"],
            // COSE algorithm numbers for mso_mdoc (OpenID4VCI 1.0 Appendix A.2.2): -7 = ES256.
            "credential_signing_alg_values_supported": [-7],
            "proof_types_supported": proof,
            "credential_metadata": metadata,
        })
    } else {
        json!({
            "format": SD_JWT_FORMAT,
            "scope": SD_JWT_CONFIGURATION_ID,
            "vct": eudi_pid::VCT,
            "cryptographic_binding_methods_supported": ["jwk"],
            "credential_signing_alg_values_supported": ["ES256"],
            "proof_types_supported": proof,
            "credential_metadata": metadata,
        })
    }
}

/// The PID credential configurations as the credential issuer metadata carries them
/// (`credential_configurations_supported`, OpenID4VCI 1.0 §12.2.4), by configuration id, with
/// English and Danish display data, as JSON, to be read into `eudi_oid4vci`'s metadata types.
pub fn pid_configurations() -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(SD_JWT_CONFIGURATION_ID.into(), configuration(false));
    out.insert(MDOC_CONFIGURATION_ID.into(), configuration(true));
    out
}

/// [`pid_configurations`] as `eudi_oid4vci`'s metadata types, for its `IssuerConfig`.
pub fn pid_credential_configurations()
-> Result<BTreeMap<String, CredentialConfiguration>, serde_json::Error> {
    serde_json::from_value(Value::Object(pid_configurations()))
}

#[cfg(test)]
mod tests {
    use eudi_oid4vci::server::IssuerConfig;

    use super::*;

    #[test]
    fn configurations_are_typed_metadata_the_server_accepts() {
        let typed = pid_credential_configurations().unwrap();
        assert_eq!(
            typed[SD_JWT_CONFIGURATION_ID].type_id(),
            Some(eudi_pid::VCT)
        );
        assert_eq!(
            typed[MDOC_CONFIGURATION_ID].type_id(),
            Some(eudi_pid::DOCTYPE)
        );
        assert!(typed[MDOC_CONFIGURATION_ID].jwt_proof().is_some());
        // Nothing lost in the typed form.
        let json = pid_configurations();
        for (id, configuration) in &typed {
            assert_eq!(
                &serde_json::to_value(configuration).unwrap(),
                &json[id],
                "{id}"
            );
        }
        IssuerConfig::new("https://issuer.example", typed)
            .check()
            .unwrap();
    }

    #[test]
    fn configurations_are_found_by_format() {
        let c = pid_configurations();
        let sd = &c[SD_JWT_CONFIGURATION_ID];
        assert_eq!(sd["format"], "dc+sd-jwt");
        assert_eq!(sd["vct"], "urn:eudi:pid:1");
        let md = &c[MDOC_CONFIGURATION_ID];
        assert_eq!(md["format"], "mso_mdoc");
        assert_eq!(md["doctype"], "eu.europa.ec.eudi.pid.1");
        assert_eq!(md["credential_signing_alg_values_supported"], json!([-7]));
        let paths: Vec<&Value> = md["credential_metadata"]["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["path"])
            .collect();
        assert!(paths.contains(&&json!(["dk.eudi.pid.1", "assurance_level"])));
        for conf in [sd, md] {
            let display = conf["credential_metadata"]["display"].as_array().unwrap();
            let locales: Vec<&Value> = display.iter().map(|d| &d["locale"]).collect();
            assert_eq!(locales, vec!["en", "da"]);
        }
    }
}
