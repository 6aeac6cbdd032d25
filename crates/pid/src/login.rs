//! A MitID login as the issuer sees it, whatever broker (or the embedded test provider) it came
//! from. The broker-specific claim mapping lives in `eudi-mitid`; this is its result.

use std::fmt;
use std::str::FromStr;

use eudi_trust::AssuranceLevel;
use serde::Deserialize;
use serde::Serialize;
use time::Date;

use crate::cpr::Cpr;

/// Whether the MitID is a private person's or a business one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityType {
    /// A private MitID (the person themselves).
    Private,
    /// MitID Erhverv: acting on behalf of a business. Cannot be used cross-border, so no PID.
    Professional,
}

/// A string that is no identity type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown MitID identity type {0:?} (expected private or professional)")]
pub struct UnknownIdentityType(pub String);

impl IdentityType {
    /// The lowercase name the brokers send in `identity_type` (`private`, `professional`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Professional => "professional",
        }
    }
}

impl FromStr for IdentityType {
    type Err = UnknownIdentityType;

    /// Accepts `private` and `professional` in any case, and the MitID Erhverv names `erhverv`
    /// and `business` for the latter.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "private" => Ok(Self::Private),
            "professional" | "erhverv" | "business" => Ok(Self::Professional),
            _ => Err(UnknownIdentityType(s.to_owned())),
        }
    }
}

impl fmt::Display for IdentityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one MitID login: who logged in, how strongly, and what MitID told about them.
///
/// `Debug` masks the CPR number (through [`Cpr`]'s own `Debug`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MitIdLogin {
    /// The stable subject identifier (the MitID UUID, or the broker's `sub`).
    pub subject: String,
    /// Private or MitID Erhverv.
    pub identity_type: IdentityType,
    /// Overall level of assurance: the lowest of IAL, AAL and FAL.
    pub loa: AssuranceLevel,
    /// The CPR number, when the identity has one (`None` for P-code identities).
    pub cpr: Option<Cpr>,
    /// The name MitID holds (`mitid.identity_name`), if sent.
    pub name: Option<String>,
    /// The date of birth MitID holds (`mitid.date_of_birth`, `birthdate`), if sent.
    pub birth_date: Option<Date>,
    /// The 8-digit P code of an identity without CPR, if sent.
    pub pcode: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_type_spellings() {
        for (s, t) in [
            ("private", IdentityType::Private),
            ("Private", IdentityType::Private),
            ("professional", IdentityType::Professional),
            ("PROFESSIONAL", IdentityType::Professional),
            ("erhverv", IdentityType::Professional),
        ] {
            assert_eq!(s.parse::<IdentityType>(), Ok(t), "{s}");
        }
        assert!("company".parse::<IdentityType>().is_err());
        assert_eq!(IdentityType::Professional.to_string(), "professional");
    }

    #[test]
    fn debug_masks_the_cpr() {
        let login = MitIdLogin {
            subject: "u".into(),
            identity_type: IdentityType::Private,
            loa: AssuranceLevel::Substantial,
            cpr: "070761-4285".parse().ok(),
            name: Some("Test Person".into()),
            birth_date: None,
            pcode: None,
        };
        let shown = format!("{login:?} {login:#?}");
        assert!(shown.contains("070761-****"));
        assert!(!shown.contains("4285"));
    }
}
