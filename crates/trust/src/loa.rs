//! Levels of assurance: NSIS (Denmark) and eIDAS (Regulation 910/2014 Art. 8), which share the
//! three levels Low < Substantial < High.
//!
//! MitID brokers, OIOSAML and eIDAS nodes spell the same level many ways; [`AssuranceLevel`]
//! parses all of them so the rest of the system compares one type.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde::Serialize;

/// An NSIS / eIDAS level of assurance. Ordered: `Low < Substantial < High`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssuranceLevel {
    /// Low.
    Low,
    /// Substantial: most MitIDs.
    Substantial,
    /// High.
    High,
}

/// A string that is no level of assurance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level of assurance {0:?} (expected low, substantial or high)")]
pub struct UnknownLevel(pub String);

impl AssuranceLevel {
    /// The lower of two levels: a login is only as strong as its weakest part (IAL, AAL, FAL).
    pub fn min(self, other: Self) -> Self {
        std::cmp::min(self, other)
    }

    /// The lowercase name used in JSON (`low`, `substantial`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Substantial => "substantial",
            Self::High => "high",
        }
    }

    /// The NSIS concept URI (`https://data.gov.dk/concept/core/nsis/loa/…`).
    pub fn nsis_uri(self) -> &'static str {
        match self {
            Self::Low => "https://data.gov.dk/concept/core/nsis/loa/Low",
            Self::Substantial => "https://data.gov.dk/concept/core/nsis/loa/Substantial",
            Self::High => "https://data.gov.dk/concept/core/nsis/loa/High",
        }
    }
}

impl FromStr for AssuranceLevel {
    type Err = UnknownLevel;

    /// Accepts `Substantial`, `SUBSTANTIAL`, `substantial`, the NSIS URIs
    /// `https://data.gov.dk/concept/core/nsis/Substantial` and `…/nsis/loa/Substantial`, and the
    /// eIDAS URI `http://eidas.europa.eu/LoA/substantial` (and likewise for low and high).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        // Every spelling ends in the level's name after the last '/' (or is just the name).
        let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
        let known_prefix = trimmed == last
            || [
                "https://data.gov.dk/concept/core/nsis/",
                "https://data.gov.dk/concept/core/nsis/loa/",
                "http://eidas.europa.eu/LoA/",
                "https://eidas.europa.eu/LoA/",
            ]
            .iter()
            .any(|p| trimmed.len() == p.len() + last.len() && trimmed.starts_with(p));
        if !known_prefix {
            return Err(UnknownLevel(s.to_owned()));
        }
        match last.to_ascii_lowercase().as_str() {
            "low" => Ok(Self::Low),
            "substantial" => Ok(Self::Substantial),
            "high" => Ok(Self::High),
            _ => Err(UnknownLevel(s.to_owned())),
        }
    }
}

impl fmt::Display for AssuranceLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling() {
        for (s, l) in [
            ("Substantial", AssuranceLevel::Substantial),
            ("SUBSTANTIAL", AssuranceLevel::Substantial),
            ("substantial", AssuranceLevel::Substantial),
            (
                "https://data.gov.dk/concept/core/nsis/Substantial",
                AssuranceLevel::Substantial,
            ),
            (
                "https://data.gov.dk/concept/core/nsis/loa/Substantial",
                AssuranceLevel::Substantial,
            ),
            (
                "http://eidas.europa.eu/LoA/substantial",
                AssuranceLevel::Substantial,
            ),
            (
                "https://data.gov.dk/concept/core/nsis/loa/High",
                AssuranceLevel::High,
            ),
            ("http://eidas.europa.eu/LoA/high", AssuranceLevel::High),
            ("Low", AssuranceLevel::Low),
            (
                "https://data.gov.dk/concept/core/nsis/Low",
                AssuranceLevel::Low,
            ),
        ] {
            assert_eq!(s.parse::<AssuranceLevel>(), Ok(l), "{s}");
        }
        for bad in [
            "",
            "medium",
            "https://evil.example/High",
            "nsis/High",
            "Substantial2",
        ] {
            assert!(bad.parse::<AssuranceLevel>().is_err(), "{bad}");
        }
    }

    #[test]
    fn order_and_min() {
        assert!(AssuranceLevel::Low < AssuranceLevel::Substantial);
        assert!(AssuranceLevel::Substantial < AssuranceLevel::High);
        assert_eq!(
            AssuranceLevel::High.min(AssuranceLevel::Substantial),
            AssuranceLevel::Substantial
        );
        assert_eq!(
            serde_json::to_string(&AssuranceLevel::High).unwrap(),
            "\"high\""
        );
    }
}
