//! What the JWT (§5.1) and CWT (§5.2) forms of a Status List Token share: the builder, the
//! verification options, the verified result and the time checks.

use crate::Limits;
use crate::Status;
use crate::StatusList;
use crate::StatusListError;
use crate::StatusListIssueError;
use crate::StatusReference;

/// Default tolerance, in seconds, for clock differences when checking `exp` and `nbf`.
pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 60;

/// The JWT `typ` of a Status List Token (§5.1).
pub const JWT_TYPE: &str = "statuslist+jwt";

/// The media type of a Status List Token in CWT form, carried in protected header 16 (§5.2,
/// RFC 9596).
pub const CWT_TYPE: &str = "application/statuslist+cwt";

/// How a Status List Token is parsed and verified.
///
/// `#[non_exhaustive]`: start from [`VerifyOptions::default`] and assign the fields to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Input and decompression size limits.
    pub limits: Limits,
    /// Tolerated clock difference, in seconds, for `exp` and `nbf`.
    pub clock_skew_secs: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            clock_skew_secs: DEFAULT_CLOCK_SKEW_SECS,
        }
    }
}

/// A Status List Token whose signature, type, subject and validity period have been checked,
/// with its Status List decompressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedStatusList {
    pub(crate) list: StatusList,
    pub(crate) uri: String,
    pub(crate) iat: i64,
    pub(crate) exp: Option<i64>,
    pub(crate) ttl: Option<u64>,
}

impl VerifiedStatusList {
    /// The Status List.
    pub fn list(&self) -> &StatusList {
        &self.list
    }

    /// The token's subject: the URI of the Status List Token (`sub`, CWT claim 2).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// When the token was issued (`iat`, CWT claim 6), seconds since the epoch.
    pub fn iat(&self) -> i64 {
        self.iat
    }

    /// When the token expires (`exp`, CWT claim 4), if it says.
    pub fn exp(&self) -> Option<i64> {
        self.exp
    }

    /// How long, in seconds, the token may be cached (`ttl`, CWT claim 65534), if it says.
    pub fn ttl(&self) -> Option<u64> {
        self.ttl
    }

    /// The status at `idx` (§8.3 step 6). An index past the end is an error: no statement can
    /// be made and the Referenced Token must be rejected.
    pub fn status_at(&self, idx: u64) -> Result<Status, StatusListError> {
        self.list.status(idx)
    }

    /// The status a Referenced Token's reference points at, after checking that the reference's
    /// `uri` is this token's `sub` (§5.1, §8.3 step 4a).
    pub fn status_of(&self, reference: &StatusReference) -> Result<Status, StatusListError> {
        if reference.uri != self.uri {
            return Err(StatusListError::SubjectMismatch {
                expected: reference.uri.clone(),
                found: self.uri.clone(),
            });
        }
        self.status_at(reference.idx)
    }
}

/// The claims both token forms carry once parsed, before the subject and time checks.
#[derive(Debug)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    pub(crate) iat: i64,
    pub(crate) exp: Option<i64>,
    pub(crate) nbf: Option<i64>,
    pub(crate) ttl: Option<u64>,
    pub(crate) list: StatusList,
}

impl Claims {
    /// Checks `sub`, `exp` and `nbf` (§8.3 step 4) and yields the verified list.
    pub(crate) fn check(
        self,
        expected_uri: &str,
        now: i64,
        skew_secs: u64,
    ) -> Result<VerifiedStatusList, StatusListError> {
        if self.sub != expected_uri {
            return Err(StatusListError::SubjectMismatch {
                expected: expected_uri.into(),
                found: self.sub,
            });
        }
        let skew = i128::from(skew_secs);
        // RFC 7519 §4.1.4: the current time must be before `exp`.
        if let Some(exp) = self.exp
            && i128::from(now) - skew >= i128::from(exp)
        {
            return Err(StatusListError::Expired { exp, now });
        }
        if let Some(nbf) = self.nbf
            && i128::from(now) + skew < i128::from(nbf)
        {
            return Err(StatusListError::NotYetValid { nbf, now });
        }
        Ok(VerifiedStatusList {
            list: self.list,
            uri: self.sub,
            iat: self.iat,
            exp: self.exp,
            ttl: self.ttl,
        })
    }
}

/// Builds and signs a Status List Token in either form.
///
/// ```
/// # use eudi_status_list::{Bits, StatusList, StatusListTokenBuilder};
/// # use eudi_trust::{Algorithm, SoftwareKey};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SoftwareKey::generate(Algorithm::Es256)?;
/// let list = StatusList::new(Bits::One, 1024)?;
/// let builder = StatusListTokenBuilder::new("https://example.com/statuslists/1", &list, 1_700_000_000)
///     .exp(1_700_086_400)
///     .ttl(43_200)
///     .kid("12");
/// let jwt: String = builder.sign_jwt(&key).await?;
/// let cwt: Vec<u8> = builder.sign_cwt(&key).await?;
/// # assert!(jwt.starts_with("ey") && cwt.first() == Some(&0xd2));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct StatusListTokenBuilder<'a> {
    pub(crate) uri: String,
    pub(crate) list: &'a StatusList,
    pub(crate) iat: i64,
    pub(crate) exp: Option<i64>,
    pub(crate) ttl: Option<u64>,
    pub(crate) kid: Option<String>,
    pub(crate) x5c: Vec<Vec<u8>>,
}

impl<'a> StatusListTokenBuilder<'a> {
    /// A token for the list published at `uri` (its `sub`), issued at `iat`.
    pub fn new(uri: impl Into<String>, list: &'a StatusList, iat: i64) -> Self {
        Self {
            uri: uri.into(),
            list,
            iat,
            exp: None,
            ttl: None,
            kid: None,
            x5c: Vec::new(),
        }
    }

    /// Sets `exp` (RECOMMENDED).
    #[must_use]
    pub fn exp(mut self, exp: i64) -> Self {
        self.exp = Some(exp);
        self
    }

    /// Sets `ttl` in seconds (RECOMMENDED; must be positive).
    #[must_use]
    pub fn ttl(mut self, ttl: u64) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sets the key identifier: the JWS `kid`, and the COSE `kid` (label 4) as its UTF-8 bytes.
    #[must_use]
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets the signer's X.509 chain, leaf first, as DER: the JWS `x5c` (RFC 7515 §4.1.6) and
    /// the COSE `x5chain` (label 33, RFC 9360).
    #[must_use]
    pub fn x5c(mut self, chain_der: Vec<Vec<u8>>) -> Self {
        self.x5c = chain_der;
        self
    }

    /// Checks what must hold whatever the form.
    pub(crate) fn check(&self) -> Result<(), StatusListIssueError> {
        if !crate::reference::looks_like_uri(&self.uri) {
            return Err(StatusListIssueError::InvalidInput {
                field: "sub",
                reason: "must be a URI",
            });
        }
        if self.ttl == Some(0) {
            return Err(StatusListIssueError::InvalidInput {
                field: "ttl",
                reason: "must be positive",
            });
        }
        Ok(())
    }
}
