//! The opaque subject the OpenID4VCI protocol carries from the grant to the credential request
//! (`eudi_oid4vci::issuance::MintRequest::subject`): whom to issue for, how they were identified
//! and at which level of assurance.
//!
//! It holds only what the PID rules need (identity type, level, CPR number, the birth date MitID
//! sent, for the birth-date rule): the PID attributes themselves are read from the CPR register
//! when minting. Encoded as one version byte ([`SUBJECT_VERSION`]) followed by compact JSON, so
//! the format can change without misreading old grants. The encoding holds the CPR number in
//! full; `Debug` masks it, and nothing here logs.

use std::fmt;
use std::path::Path;

use aws_lc_rs::hmac;
use eudi_pid::Cpr;
use eudi_pid::FileRegister;
use eudi_pid::IdentityType;
use eudi_pid::MitIdLogin;
use eudi_pid::RegisterRecord;
use eudi_pid::TestIdentity;
use eudi_pid::test_identities::TestIdentityError;
use eudi_trust::AssuranceLevel;
use eudi_trust::b64;
use serde::Deserialize;
use serde::Serialize;
use time::Date;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// The first byte of every encoded subject.
pub const SUBJECT_VERSION: u8 = 1;
/// Largest encoded subject accepted, in bytes (a real one is about 200).
pub const MAX_SUBJECT_BYTES: usize = 2048;
/// Longest subject identifier accepted (MitID UUIDs and broker `sub`s are far shorter).
pub const MAX_SUBJECT_ID_LEN: usize = 255;

/// The level of assurance of a register person whom a caseworker identified in person
/// (`eudi-issuer offer --identity CPR`): Substantial, the level of most MitIDs, so an in-person
/// PID reaches no further than a MitID one would.
pub const IN_PERSON_LOA: AssuranceLevel = AssuranceLevel::Substantial;

const DATE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// How the person was identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySource {
    /// A MitID login (through a broker or the embedded test provider).
    MitId,
    /// A MitID test identity chosen by name (`eudi-issuer offer --identity USER`).
    TestIdentity,
    /// A person of the CPR register whom a caseworker identified in person.
    Register,
}

/// Whom a grant issues for.
#[derive(Clone, PartialEq, Eq)]
pub struct Subject {
    /// How they were identified.
    pub source: IdentitySource,
    /// The MitID UUID / broker `sub`, the test identity's user name, or `register`.
    pub id: String,
    /// Private MitID or MitID Erhverv.
    pub identity_type: IdentityType,
    /// The level of assurance of the identification.
    pub loa: AssuranceLevel,
    /// The CPR number, if the identity has one.
    pub cpr: Option<Cpr>,
    /// The birth date the identity source stated (MitID), compared with the register's.
    pub birth_date: Option<Date>,
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The CPR through its own masking Debug; the birth date is personal data: left out.
        f.debug_struct("Subject")
            .field("source", &self.source)
            .field("id", &self.id)
            .field("identity_type", &self.identity_type)
            .field("loa", &self.loa)
            .field("cpr", &self.cpr)
            .finish_non_exhaustive()
    }
}

/// Why bytes are no subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectError {
    /// Empty, or larger than [`MAX_SUBJECT_BYTES`].
    #[error("the subject is empty or larger than {MAX_SUBJECT_BYTES} bytes")]
    Size,
    /// An unknown version byte.
    #[error("unknown subject version {0}")]
    Version(u8),
    /// The body does not decode (the message names the field, never a value).
    #[error("the subject does not decode: {0}")]
    Malformed(String),
}

/// The wire form: short keys, dates as text.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    s: IdentitySource,
    i: String,
    t: IdentityType,
    l: AssuranceLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<Cpr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b: Option<String>,
}

impl Subject {
    /// The subject of a MitID login.
    pub fn from_login(login: &MitIdLogin) -> Self {
        Self {
            source: IdentitySource::MitId,
            id: login.subject.clone(),
            identity_type: login.identity_type,
            loa: login.loa,
            cpr: login.cpr.clone(),
            birth_date: login.birth_date,
        }
    }

    /// The subject of a MitID test identity, as its login would give it.
    pub fn from_test_identity(identity: &TestIdentity) -> Self {
        Self {
            source: IdentitySource::TestIdentity,
            ..Self::from_login(&identity.to_login())
        }
    }

    /// A person of the CPR register identified in person at `loa`: the register is the only
    /// source, so there is no second birth date to compare.
    pub fn from_register(record: &RegisterRecord, loa: AssuranceLevel) -> Self {
        Self {
            source: IdentitySource::Register,
            id: "register".into(),
            identity_type: IdentityType::Private,
            loa,
            cpr: Some(record.cpr.clone()),
            birth_date: None,
        }
    }

    /// The login the PID rules take (`eudi_pid::pid_from_login`). No name or P code: the
    /// rules do not read them.
    pub fn to_login(&self) -> MitIdLogin {
        MitIdLogin {
            subject: self.id.clone(),
            identity_type: self.identity_type,
            loa: self.loa,
            cpr: self.cpr.clone(),
            name: None,
            birth_date: self.birth_date,
            pcode: None,
        }
    }

    /// The encoding the protocol carries.
    pub fn encode(&self) -> Vec<u8> {
        let wire = Wire {
            s: self.source,
            i: self.id.clone(),
            t: self.identity_type,
            l: self.loa,
            c: self.cpr.clone(),
            b: self.birth_date.and_then(|d| d.format(DATE_FORMAT).ok()),
        };
        let mut out = vec![SUBJECT_VERSION];
        // Serializing plain strings and enums cannot fail; an empty body would be refused by
        // `decode`, so a failure here could never turn into someone else's subject.
        if let Ok(body) = serde_json::to_vec(&wire) {
            out.extend_from_slice(&body);
        }
        out
    }

    /// Reads [`Subject::encode`] back; refuses anything else.
    pub fn decode(bytes: &[u8]) -> Result<Self, SubjectError> {
        if bytes.is_empty() || bytes.len() > MAX_SUBJECT_BYTES {
            return Err(SubjectError::Size);
        }
        let (version, body) = bytes.split_at(1);
        match version.first().copied() {
            Some(SUBJECT_VERSION) => {}
            Some(other) => return Err(SubjectError::Version(other)),
            None => return Err(SubjectError::Size),
        }
        // serde_json's messages can quote the offending value (personal data): only the kind
        // of error and its position are kept.
        let wire: Wire = serde_json::from_slice(body).map_err(|e| {
            SubjectError::Malformed(format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if wire.i.is_empty() || wire.i.len() > MAX_SUBJECT_ID_LEN {
            return Err(SubjectError::Malformed("subject id length".into()));
        }
        let birth_date = wire
            .b
            .map(|b| Date::parse(&b, DATE_FORMAT))
            .transpose()
            .map_err(|_| SubjectError::Malformed("birth date".into()))?;
        Ok(Self {
            source: wire.s,
            id: wire.i,
            identity_type: wire.t,
            loa: wire.l,
            cpr: wire.c,
            birth_date,
        })
    }

    /// The key the issuer files this person's credential records under
    /// (`eudi_oid4vci::store::CredentialRecord::subject_key`): an HMAC-SHA256 under the issuer's
    /// identity secret of the CPR number (so a MitID login, a test identity and a register
    /// person who are one person share it), or of the source and id for an identity without
    /// one. Never the CPR number in the clear, and not a plain hash, which could be reversed by
    /// trying every CPR number.
    pub fn identity_key(&self, secret: &IdentitySecret) -> String {
        match &self.cpr {
            Some(cpr) => secret.key_for_cpr(cpr),
            None => {
                let source = match self.source {
                    IdentitySource::MitId => "mitid",
                    IdentitySource::TestIdentity => "test",
                    IdentitySource::Register => "register",
                };
                secret.mac(&format!("sub:{source}:{}", self.id))
            }
        }
    }
}

/// The secret that [`Subject::identity_key`] is keyed with (32 random bytes in the keys
/// directory, shared by every instance that shares the keys). `Debug` does not show it.
#[derive(Clone)]
pub struct IdentitySecret {
    key: hmac::Key,
}

impl IdentitySecret {
    /// The secret's length in bytes.
    pub const LEN: usize = 32;

    /// From the secret's bytes.
    pub fn new(bytes: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        }
    }

    /// The identity key of a CPR number (for `eudi-issuer credentials --identity USER`).
    pub fn key_for_cpr(&self, cpr: &Cpr) -> String {
        self.mac(&format!("cpr:{}", cpr.expose()))
    }

    fn mac(&self, input: &str) -> String {
        b64::encode(hmac::sign(&self.key, input.as_bytes()).as_ref())
    }
}

impl fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentitySecret(***)")
    }
}

/// The MitID test identities: the file `path` (the `eudi_pid` test identity format), or the
/// built-in ones.
pub fn load_test_identities(path: Option<&Path>) -> Result<Vec<TestIdentity>, TestIdentityError> {
    match path {
        Some(path) => eudi_pid::test_identities::load_test_identities(path),
        None => Ok(eudi_pid::default_test_identities()),
    }
}

/// Whom `user` names on the command line (`offer --identity USER`): a MitID test identity by
/// its user name (any case), else a person of the register by CPR number (`DDMMYY-SSSS` or ten
/// digits) identified in person at [`IN_PERSON_LOA`]. `None` when it names neither.
pub fn resolve_identity(
    user: &str,
    identities: &[TestIdentity],
    register: &FileRegister,
) -> Option<Subject> {
    if let Some(identity) = identities
        .iter()
        .find(|i| i.username.eq_ignore_ascii_case(user.trim()))
    {
        return Some(Subject::from_test_identity(identity));
    }
    let cpr = Cpr::parse(user.trim()).ok()?;
    register
        .get(&cpr)
        .map(|record| Subject::from_register(record, IN_PERSON_LOA))
}

/// The identity key `user` files credential records under (`credentials --identity USER`): a
/// test identity's, else a CPR number's, whether or not the register holds it.
pub fn identity_key_for(
    user: &str,
    identities: &[TestIdentity],
    secret: &IdentitySecret,
) -> Option<String> {
    if let Some(identity) = identities
        .iter()
        .find(|i| i.username.eq_ignore_ascii_case(user.trim()))
    {
        return Some(Subject::from_test_identity(identity).identity_key(secret));
    }
    Cpr::parse(user.trim())
        .ok()
        .map(|cpr| secret.key_for_cpr(&cpr))
}

#[cfg(test)]
mod tests {
    use eudi_pid::default_test_identities;

    use super::*;

    fn identity(name: &str) -> TestIdentity {
        default_test_identities()
            .into_iter()
            .find(|i| i.username == name)
            .unwrap()
    }

    #[test]
    fn round_trips_every_default_identity() {
        for identity in default_test_identities() {
            let subject = Subject::from_test_identity(&identity);
            let bytes = subject.encode();
            assert_eq!(bytes.first(), Some(&SUBJECT_VERSION));
            assert_eq!(
                Subject::decode(&bytes).unwrap(),
                subject,
                "{}",
                identity.username
            );
            assert_eq!(subject.loa, identity.level());
        }
    }

    #[test]
    fn refuses_what_it_did_not_write() {
        let bytes = Subject::from_test_identity(&identity("substantial")).encode();
        assert_eq!(Subject::decode(&[]), Err(SubjectError::Size));
        assert_eq!(
            Subject::decode(&vec![SUBJECT_VERSION; MAX_SUBJECT_BYTES + 1]),
            Err(SubjectError::Size)
        );
        let mut other = bytes.clone();
        other[0] = 2;
        assert_eq!(Subject::decode(&other), Err(SubjectError::Version(2)));
        assert!(matches!(
            Subject::decode(&bytes[..bytes.len() - 1]),
            Err(SubjectError::Malformed(_))
        ));
        let extra = [
            &[SUBJECT_VERSION][..],
            br#"{"s":"mit_id","i":"x","t":"private","l":"high","z":1}"#,
        ]
        .concat();
        assert!(matches!(
            Subject::decode(&extra),
            Err(SubjectError::Malformed(_))
        ));
    }

    #[test]
    fn debug_and_errors_hide_the_cpr_and_birth_date() {
        let subject = Subject::from_test_identity(&identity("substantial"));
        let shown = format!("{subject:?}");
        assert!(
            !shown.contains("2459") && !shown.contains("1985"),
            "{shown}"
        );
        let bad = [
            &[SUBJECT_VERSION][..],
            br#"{"s":"mit_id","i":"x","t":"private","l":"high","c":"1203852450x"}"#,
        ]
        .concat();
        let e = Subject::decode(&bad).unwrap_err().to_string();
        assert!(!e.contains("1203852450"), "{e}");
        let wrong_type = [
            &[SUBJECT_VERSION][..],
            br#"{"s":"mit_id","i":"x","t":"private","l":"high","c":1203852459}"#,
        ]
        .concat();
        let e = Subject::decode(&wrong_type).unwrap_err().to_string();
        assert!(!e.contains("1203852459"), "{e}");
    }

    #[test]
    fn users_resolve_to_test_identities_or_register_persons() {
        let identities = default_test_identities();
        let register = FileRegister::embedded();
        let secret = IdentitySecret::new(&[1; 32]);
        let by_name = resolve_identity("Substantial", &identities, &register).unwrap();
        assert_eq!(by_name.source, IdentitySource::TestIdentity);
        let by_cpr = resolve_identity("120385-2459", &identities, &register).unwrap();
        assert_eq!(by_cpr.source, IdentitySource::Register);
        assert_eq!(by_cpr.loa, IN_PERSON_LOA);
        assert_eq!(by_cpr.birth_date, None);
        // One person, one identity key, however named.
        let key = by_name.identity_key(&secret);
        assert_eq!(by_cpr.identity_key(&secret), key);
        assert_eq!(
            identity_key_for("substantial", &identities, &secret),
            Some(key.clone())
        );
        assert_eq!(
            identity_key_for("1203852459", &identities, &secret),
            Some(key)
        );
        // Not in the register (a CPR no one has), and nobody at all.
        assert!(resolve_identity("101079-1649", &identities, &register).is_none());
        assert!(identity_key_for("101079-1649", &identities, &secret).is_some());
        assert!(resolve_identity("nobody", &identities, &register).is_none());
        assert!(identity_key_for("nobody", &identities, &secret).is_none());
        assert_eq!(load_test_identities(None).unwrap(), identities);
    }

    #[test]
    fn identity_keys_follow_the_person_and_the_secret() {
        let secret = IdentitySecret::new(&[7; 32]);
        let login = Subject::from_test_identity(&identity("substantial"));
        let mut mitid = login.clone();
        mitid.source = IdentitySource::MitId;
        let key = login.identity_key(&secret);
        assert_eq!(key, mitid.identity_key(&secret));
        assert!(!key.contains("1203852459"));
        let cpr = login.cpr.clone().unwrap();
        assert_eq!(key, secret.key_for_cpr(&cpr));
        assert_ne!(
            key,
            Subject::from_test_identity(&identity("high")).identity_key(&secret)
        );
        assert_ne!(key, login.identity_key(&IdentitySecret::new(&[8; 32])));
        let pcode = Subject::from_test_identity(&identity("pcode"));
        assert_ne!(pcode.identity_key(&secret), key);
    }
}
