//! A bounded, thread-safe cache of verified Status Lists keyed by URI (§13.7 update interval and
//! caching, §11.5 reasonable bounds on `ttl`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::MutexGuard;
use std::sync::PoisonError;

use crate::VerifiedStatusList;

/// Cache lifetime, in seconds, of a token that has no `ttl`: 5 minutes.
pub const DEFAULT_CACHE_TTL_SECS: u64 = 300;

/// Upper bound, in seconds, on how long any token is cached, whatever its `ttl`: 24 hours.
pub const DEFAULT_MAX_CACHE_TTL_SECS: u64 = 86_400;

/// Default bound on the number of cached lists.
pub const DEFAULT_MAX_CACHE_ENTRIES: usize = 1024;

/// Tunables of a [`StatusListCache`].
///
/// `#[non_exhaustive]`: start from [`CacheConfig::default`] and assign the fields to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Lifetime of a token without `ttl`.
    pub default_ttl_secs: u64,
    /// Cap on any token's `ttl`.
    pub max_ttl_secs: u64,
    /// The most entries held; inserting into a full cache first drops expired entries, then the
    /// entry that expires soonest.
    pub max_entries: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            default_ttl_secs: DEFAULT_CACHE_TTL_SECS,
            max_ttl_secs: DEFAULT_MAX_CACHE_TTL_SECS,
            max_entries: DEFAULT_MAX_CACHE_ENTRIES,
        }
    }
}

#[derive(Debug)]
struct Entry {
    list: Arc<VerifiedStatusList>,
    /// First second at which the entry is no longer served.
    expires_at: i64,
}

/// A cache of verified Status Lists, keyed by the URI they were fetched from.
///
/// An entry inserted at `now` is served until `min(now + min(ttl, max_ttl), exp)`, with
/// `default_ttl` standing in for a missing `ttl` (§13.7: cache for `ttl` after fetching; never
/// past `exp`). Sans-IO: the caller fetches and verifies, then inserts; the clock is passed in.
#[derive(Debug)]
pub struct StatusListCache {
    config: CacheConfig,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Default for StatusListCache {
    fn default() -> Self {
        Self::new(CacheConfig::default())
    }
}

impl StatusListCache {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> Self {
        Self {
            config,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The list cached for `uri`, if it has not expired at `now`. An expired entry is dropped.
    pub fn get(&self, uri: &str, now: i64) -> Option<Arc<VerifiedStatusList>> {
        let mut entries = self.lock();
        match entries.get(uri) {
            Some(entry) if now < entry.expires_at => Some(Arc::clone(&entry.list)),
            Some(_) => {
                entries.remove(uri);
                None
            }
            None => None,
        }
    }

    /// Caches `list` for `uri` as fetched at `now`, replacing any earlier entry. A list that
    /// would already be expired is not cached, and the earlier entry is dropped all the same.
    /// `uri` must be the URI the list was fetched and verified for (its `sub`): lookups trust
    /// the key.
    pub fn insert(&self, uri: impl Into<String>, list: Arc<VerifiedStatusList>, now: i64) {
        let expires_at = self.expiry(&list, now);
        let uri = uri.into();
        let mut entries = self.lock();
        if expires_at <= now || self.config.max_entries == 0 {
            entries.remove(&uri);
            return;
        }
        if !entries.contains_key(&uri) && entries.len() >= self.config.max_entries {
            entries.retain(|_, e| now < e.expires_at);
            if entries.len() >= self.config.max_entries {
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires_at)
                    .map(|(k, _)| k.clone());
                if let Some(key) = soonest {
                    entries.remove(&key);
                }
            }
        }
        entries.insert(uri, Entry { list, expires_at });
    }

    /// Drops the entry for `uri`.
    pub fn remove(&self, uri: &str) {
        self.lock().remove(uri);
    }

    /// The number of entries held, expired or not.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the cache holds no entries.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// `min(now + min(ttl or default, max_ttl), exp)`.
    fn expiry(&self, list: &VerifiedStatusList, now: i64) -> i64 {
        let ttl = list
            .ttl()
            .unwrap_or(self.config.default_ttl_secs)
            .min(self.config.max_ttl_secs);
        let by_ttl = now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
        list.exp().map_or(by_ttl, |exp| exp.min(by_ttl))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave a map entry half-written; keep serving.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bits;
    use crate::StatusList;

    const NOW: i64 = 1_700_000_000;

    fn verified(uri: &str, ttl: Option<u64>, exp: Option<i64>) -> Arc<VerifiedStatusList> {
        Arc::new(VerifiedStatusList {
            list: StatusList::new(Bits::One, 8).unwrap(),
            uri: uri.into(),
            iat: NOW,
            exp,
            ttl,
        })
    }

    const URI: &str = "https://example.com/statuslists/1";

    #[test]
    fn hit_before_expiry() {
        let cache = StatusListCache::default();
        let list = verified(URI, Some(600), Some(NOW + 3600));
        cache.insert(URI, Arc::clone(&list), NOW);
        assert_eq!(cache.get(URI, NOW), Some(Arc::clone(&list)));
        assert_eq!(cache.get(URI, NOW + 599), Some(list));
        assert_eq!(cache.get("https://example.com/statuslists/2", NOW), None);
    }

    #[test]
    fn miss_after_ttl() {
        let cache = StatusListCache::default();
        cache.insert(URI, verified(URI, Some(600), Some(NOW + 3600)), NOW);
        assert!(cache.get(URI, NOW + 600).is_none());
        assert!(cache.is_empty(), "expired entry is dropped on lookup");
    }

    #[test]
    fn earlier_exp_wins_over_ttl() {
        let cache = StatusListCache::default();
        cache.insert(URI, verified(URI, Some(3600), Some(NOW + 100)), NOW);
        assert!(cache.get(URI, NOW + 99).is_some());
        assert!(cache.get(URI, NOW + 100).is_none());
    }

    #[test]
    fn default_ttl_when_absent() {
        let cache = StatusListCache::default();
        cache.insert(URI, verified(URI, None, None), NOW);
        let last = NOW + i64::try_from(DEFAULT_CACHE_TTL_SECS).unwrap() - 1;
        assert!(cache.get(URI, last).is_some());
        assert!(cache.get(URI, last + 1).is_none());
    }

    #[test]
    fn ttl_is_capped_by_max_ttl() {
        let cache = StatusListCache::new(CacheConfig {
            max_ttl_secs: 60,
            ..CacheConfig::default()
        });
        cache.insert(URI, verified(URI, Some(u64::MAX), None), NOW);
        assert!(cache.get(URI, NOW + 59).is_some());
        assert!(cache.get(URI, NOW + 60).is_none());
    }

    #[test]
    fn already_expired_token_is_not_cached() {
        let cache = StatusListCache::default();
        cache.insert(URI, verified(URI, Some(600), Some(NOW)), NOW);
        assert!(cache.is_empty());
    }

    #[test]
    fn entry_count_is_bounded() {
        let cache = StatusListCache::new(CacheConfig {
            max_entries: 3,
            ..CacheConfig::default()
        });
        for (i, ttl) in [(0, 100), (1, 50), (2, 200)] {
            let uri = format!("https://example.com/{i}");
            cache.insert(uri.clone(), verified(&uri, Some(ttl), None), NOW);
        }
        cache.insert(URI, verified(URI, Some(300), None), NOW);
        assert_eq!(cache.len(), 3);
        // The entry expiring soonest made room.
        assert!(cache.get("https://example.com/1", NOW).is_none());
        assert!(cache.get("https://example.com/0", NOW).is_some());
        // Expired entries are dropped before live ones.
        cache.insert(
            "https://example.com/4",
            verified(URI, Some(10), None),
            NOW + 150,
        );
        assert!(cache.get("https://example.com/2", NOW + 150).is_some());
        assert!(cache.get(URI, NOW + 150).is_some());
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn shared_between_threads() {
        let cache = Arc::new(StatusListCache::default());
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let cache = Arc::clone(&cache);
                std::thread::spawn(move || {
                    let uri = format!("https://example.com/{i}");
                    cache.insert(uri.clone(), verified(&uri, None, None), NOW);
                    cache.get(&uri, NOW).is_some()
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap());
        }
        assert_eq!(cache.len(), 4);
    }
}
