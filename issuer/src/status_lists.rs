//! The served Token Status Lists (draft-ietf-oauth-status-list-20).
//!
//! Every credential references index `idx` of the list at `{issuer_id}/status/{list}`
//! ([`status_list_uri`]); both PID formats share the lists, and the one URI serves both forms,
//! chosen by `Accept` ([`StatusForm::from_accept`]):
//!
//! * `application/statuslist+jwt` (§5.1), signed by the JWT status list signer with `x5c` to the
//!   SD-JWT VC CA, whose leaf names the issuer identifier like the SD-JWT VC signer does, so a
//!   verifier accepts it as from the credential's own issuer (§8.3, §11.3);
//! * `application/statuslist+cwt` (§5.2), signed by the mdoc status list signer with `x5chain`
//!   to the IACA.
//!
//! Each token has `sub` = the list's URI, `iat`, `exp` = `iat` + the token lifetime and `ttl`
//! (§5.1, §13.7); lists use 2 bits per entry (VALID, INVALID, SUSPENDED, §7.1). A signed token
//! is cached per list, form and list version, and signed again when the list changed (the store's
//! version moved) or when less than half of its lifetime is left, so a revocation shows within
//! one `ttl` and no served token is ever close to expiry.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::PoisonError;

use eudi_oid4vci::store::StatusListStore;
use eudi_status_list::Bits;
use eudi_status_list::Status;
use eudi_status_list::StatusList;
use eudi_status_list::StatusListTokenBuilder;

use crate::pki::IssuerKeys;

/// The path the lists are served under: `{issuer_id}/status/{list}`.
pub const STATUS_PATH: &str = "/status";
/// The JWT form's media type.
pub const JWT_MEDIA_TYPE: &str = "application/statuslist+jwt";
/// The CWT form's media type.
pub const CWT_MEDIA_TYPE: &str = "application/statuslist+cwt";
/// Bits per status entry (VALID 0, INVALID 1, SUSPENDED 2).
pub const STATUS_BITS: Bits = Bits::Two;
/// Longest `Accept` header read, in bytes; a longer one is treated as absent.
pub const MAX_ACCEPT_LEN: usize = 1024;

/// The URI of status list `list` of the issuer `issuer_id` (no trailing `/`).
pub fn status_list_uri(issuer_id: &str, list: u32) -> String {
    format!("{}{STATUS_PATH}/{list}", issuer_id.trim_end_matches('/'))
}

/// Which form of Status List Token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusForm {
    /// `application/statuslist+jwt`.
    Jwt,
    /// `application/statuslist+cwt`.
    Cwt,
}

impl StatusForm {
    /// The media type (the `Content-Type` to answer with).
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jwt => JWT_MEDIA_TYPE,
            Self::Cwt => CWT_MEDIA_TYPE,
        }
    }

    /// The form an `Accept` header asks for (RFC 9110 §12.5.1): the acceptable one of the two
    /// with the highest `q` (JWT on a tie, on `*/*` or `application/*`, and without `Accept`);
    /// `None` when it accepts neither (answer 406).
    pub fn from_accept(accept: Option<&str>) -> Option<Self> {
        let Some(accept) = accept.filter(|a| !a.trim().is_empty() && a.len() <= MAX_ACCEPT_LEN)
        else {
            return Some(Self::Jwt);
        };
        let mut jwt: Option<u16> = None;
        let mut cwt: Option<u16> = None;
        let mut wildcard: Option<u16> = None;
        for range in accept.split(',') {
            // Media types and parameter names are case-insensitive (RFC 9110 §8.3.1).
            let range = range.to_ascii_lowercase();
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .next()
                .map_or(1000, parse_q);
            let slot = match media {
                JWT_MEDIA_TYPE => &mut jwt,
                CWT_MEDIA_TYPE => &mut cwt,
                "*/*" | "application/*" => &mut wildcard,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |old| old.max(q)));
        }
        // A type named explicitly takes its own q, else the wildcard's (RFC 9110 §12.5.1).
        let jwt = jwt.or(wildcard).unwrap_or(0);
        let cwt = cwt.or(wildcard).unwrap_or(0);
        match (jwt, cwt) {
            (0, 0) => None,
            (j, c) if c > j => Some(Self::Cwt),
            _ => Some(Self::Jwt),
        }
    }
}

/// A `q` value in thousandths (0 when unreadable, RFC 9110 §12.4.2).
fn parse_q(text: &str) -> u16 {
    text.trim()
        .parse::<f32>()
        .ok()
        .filter(|q| (0.0..=1.0).contains(q))
        .map_or(0, |q| (q * 1000.0).round() as u16)
}

/// A signed Status List Token, ready to serve. `Debug` shows the body's length only.
#[derive(Clone, PartialEq, Eq)]
pub struct ServedStatusList {
    /// Its form.
    pub form: StatusForm,
    /// The token: JWT text as bytes, or CWT bytes.
    pub body: Arc<[u8]>,
    /// The `ttl` it carries (for `Cache-Control: max-age`).
    pub ttl: u64,
    /// Its `iat`.
    pub issued_at: i64,
    /// Its `exp`.
    pub expires_at: i64,
}

impl fmt::Debug for ServedStatusList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServedStatusList")
            .field("form", &self.form)
            .field("body_len", &self.body.len())
            .field("ttl", &self.ttl)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a list cannot be served (answered as a generic 5xx; the detail is for the log).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The store failed.
    #[error("status list store: {0}")]
    Store(#[from] eudi_oid4vci::store::StoreError),
    /// The stored list cannot be encoded (an index beyond its size, a value beyond 2 bits).
    #[error("status list {list}: {reason}")]
    Corrupt {
        /// The list.
        list: u32,
        /// Why.
        reason: String,
    },
    /// Signing failed.
    #[error("signing status list {list}: {reason}")]
    Signing {
        /// The list.
        list: u32,
        /// Why.
        reason: String,
    },
}

struct Cached {
    version: u64,
    token: ServedStatusList,
}

/// Builds, signs and caches the served status lists.
pub struct StatusListPublisher {
    store: Arc<dyn StatusListStore>,
    keys: Arc<IssuerKeys>,
    issuer_id: String,
    ttl: u64,
    lifetime: u64,
    cache: Mutex<HashMap<(u32, StatusForm), Cached>>,
}

impl fmt::Debug for StatusListPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusListPublisher")
            .field("issuer_id", &self.issuer_id)
            .field("ttl", &self.ttl)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl StatusListPublisher {
    /// Publishes the lists of `store` for `issuer_id`, signed with `keys`, with `ttl` and tokens
    /// valid for `lifetime` seconds (`ttl` < `lifetime`, both positive: `Config::validate`
    /// checks the configured ones).
    pub fn new(
        store: Arc<dyn StatusListStore>,
        keys: Arc<IssuerKeys>,
        issuer_id: impl Into<String>,
        ttl: u64,
        lifetime: u64,
    ) -> Self {
        Self {
            store,
            keys,
            issuer_id: issuer_id.into(),
            ttl: ttl.max(1),
            lifetime: lifetime.max(2),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The URI of `list`.
    pub fn uri(&self, list: u32) -> String {
        status_list_uri(&self.issuer_id, list)
    }

    /// The token of `list` in `form` at `now`, or `None` if there is no such list (answer 404).
    pub async fn serve(
        &self,
        list: u32,
        form: StatusForm,
        now: i64,
    ) -> Result<Option<ServedStatusList>, PublishError> {
        let Some(snapshot) = self.store.status_list(list).await? else {
            return Ok(None);
        };
        let half_life = i64::try_from(self.lifetime / 2).unwrap_or(i64::MAX);
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(list, form))
            .filter(|c| {
                c.version == snapshot.version
                    && now >= c.token.issued_at
                    && now < c.token.expires_at.saturating_sub(half_life)
            })
        {
            return Ok(Some(hit.token.clone()));
        }
        let corrupt = |reason: String| PublishError::Corrupt { list, reason };
        let mut bits = StatusList::new(STATUS_BITS, u64::from(snapshot.size))
            .map_err(|e| corrupt(e.to_string()))?;
        for (index, value) in &snapshot.entries {
            bits.set_status(u64::from(*index), Status::from(*value))
                .map_err(|e| corrupt(e.to_string()))?;
        }
        let expires_at = now.saturating_add(i64::try_from(self.lifetime).unwrap_or(i64::MAX));
        let signer = match form {
            StatusForm::Jwt => self.keys.sd_jwt_status(),
            StatusForm::Cwt => self.keys.mdoc_status(),
        };
        let builder = StatusListTokenBuilder::new(self.uri(list), &bits, now)
            .exp(expires_at)
            .ttl(self.ttl)
            .x5c(signer.chain().to_vec());
        let signing = |e: eudi_status_list::StatusListIssueError| PublishError::Signing {
            list,
            reason: e.to_string(),
        };
        let body: Arc<[u8]> = match form {
            StatusForm::Jwt => builder
                .sign_jwt(signer.signer())
                .await
                .map_err(signing)?
                .into_bytes()
                .into(),
            StatusForm::Cwt => builder
                .sign_cwt(signer.signer())
                .await
                .map_err(signing)?
                .into(),
        };
        let token = ServedStatusList {
            form,
            body,
            ttl: self.ttl,
            issued_at: now,
            expires_at,
        };
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                (list, form),
                Cached {
                    version: snapshot.version,
                    token: token.clone(),
                },
            );
        Ok(Some(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        use StatusForm::Cwt;
        use StatusForm::Jwt;
        for (accept, form) in [
            (None, Some(Jwt)),
            (Some(""), Some(Jwt)),
            (Some("application/statuslist+jwt"), Some(Jwt)),
            (Some("application/statuslist+cwt"), Some(Cwt)),
            (Some("Application/StatusList+CWT"), Some(Cwt)),
            (Some("*/*"), Some(Jwt)),
            (Some("application/statuslist+cwt, */*;q=0.1"), Some(Cwt)),
            (
                Some("application/statuslist+jwt;q=0.5, application/statuslist+cwt"),
                Some(Cwt),
            ),
            (
                Some("application/statuslist+jwt, application/statuslist+cwt;q=0.9"),
                Some(Jwt),
            ),
            (Some("text/html"), None),
            (Some("application/statuslist+jwt;q=0"), None),
            (Some("*/*, application/statuslist+jwt;q=0"), Some(Cwt)),
            (
                Some("application/statuslist+jwt; Q=0.2, application/statuslist+cwt"),
                Some(Cwt),
            ),
        ] {
            assert_eq!(StatusForm::from_accept(accept), form, "{accept:?}");
        }
    }

    #[test]
    fn uris_join_cleanly() {
        assert_eq!(
            status_list_uri("https://i.example/", 3),
            "https://i.example/status/3"
        );
        assert_eq!(
            status_list_uri("https://i.example/pid", 0),
            "https://i.example/pid/status/0"
        );
    }
}
