//! Every store trait in memory, behind one lock: for unit tests of the protocol and of the issuer.
//! It is the reference for the contracts' semantics, not a backend (state dies with the process
//! and is not shared between instances); `crates/store` runs its conformance suite against it too.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::MutexGuard;

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rand::SystemRandom;

use super::AllocationPolicy;
use super::CredentialRecord;
use super::CredentialState;
use super::CredentialStore;
use super::DeferredPoll;
use super::DeferredRecord;
use super::DeferredState;
use super::DeferredStore;
use super::IssuerStore;
use super::NewPreAuthorizedCode;
use super::NonceKind;
use super::NonceStore;
use super::PreAuthorizedCodeStore;
use super::Redemption;
use super::ReplayScope;
use super::SessionKind;
use super::SessionStore;
use super::StatusListSnapshot;
use super::StatusListStore;
use super::StatusSlot;
use super::StoreError;
use super::StoreFuture;

#[derive(Debug, Default)]
struct Lists {
    size: u32,
    given: BTreeSet<u32>,
    values: BTreeMap<u32, u8>,
    version: u64,
}

#[derive(Debug, Default)]
struct State {
    sessions: HashMap<(SessionKind, String), (Vec<u8>, i64)>,
    nonces: HashMap<(NonceKind, String), i64>,
    replay: HashMap<(ReplayScope, String), i64>,
    pre_authorized: HashMap<String, (NewPreAuthorizedCode, u32)>,
    lists: BTreeMap<u32, Lists>,
    credentials: Vec<CredentialRecord>,
    deferred: Vec<DeferredRecord>,
}

/// All issuance state in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        // A panic while holding the lock leaves the maps in an unknown state: refuse to go on.
        self.state
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))
    }
}

fn ready<'a, T: Send + 'a>(result: Result<T, StoreError>) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(result))
}

fn random_below(bound: u32) -> Result<u32, StoreError> {
    // Rejection sampling: uniform, no modulo bias.
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let mut bytes = [0u8; 4];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| StoreError::Unavailable("system random generator failed".into()))?;
        let value = u32::from_le_bytes(bytes);
        if value < zone {
            return Ok(value % bound);
        }
    }
}

impl SessionStore for MemoryStore {
    fn put<'a>(
        &'a self,
        kind: SessionKind,
        key: &'a str,
        value: &'a [u8],
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        ready(self.lock().and_then(|mut state| {
            let slot = (kind, key.to_owned());
            // Keys are random or secret keys: any clash, even with an expired record, is refused
            // (the contract's `Duplicate`), which needs no clock here.
            if state.sessions.contains_key(&slot) {
                return Err(StoreError::Duplicate("session record"));
            }
            state.sessions.insert(slot, (value.to_vec(), expires_at));
            Ok(())
        }))
    }

    fn get<'a>(
        &'a self,
        kind: SessionKind,
        key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<Vec<u8>>> {
        ready(self.lock().map(|state| {
            state
                .sessions
                .get(&(kind, key.to_owned()))
                .filter(|(_, expires_at)| *expires_at > now)
                .map(|(value, _)| value.clone())
        }))
    }

    fn take<'a>(
        &'a self,
        kind: SessionKind,
        key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<Vec<u8>>> {
        ready(self.lock().map(|mut state| {
            state
                .sessions
                .remove(&(kind, key.to_owned()))
                .filter(|(_, expires_at)| *expires_at > now)
                .map(|(value, _)| value)
        }))
    }

    fn delete<'a>(&'a self, kind: SessionKind, key: &'a str) -> StoreFuture<'a, ()> {
        ready(self.lock().map(|mut state| {
            state.sessions.remove(&(kind, key.to_owned()));
        }))
    }

    fn purge_expired(&self, now: i64) -> StoreFuture<'_, u64> {
        ready(self.lock().map(|mut state| {
            let before = state.sessions.len()
                + state.nonces.len()
                + state.replay.len()
                + state.pre_authorized.len();
            state
                .sessions
                .retain(|_, (_, expires_at)| *expires_at > now);
            state.nonces.retain(|_, expires_at| *expires_at > now);
            state.replay.retain(|_, expires_at| *expires_at > now);
            state
                .pre_authorized
                .retain(|_, (code, _)| code.expires_at > now);
            let after = state.sessions.len()
                + state.nonces.len()
                + state.replay.len()
                + state.pre_authorized.len();
            (before - after) as u64
        }))
    }
}

impl NonceStore for MemoryStore {
    fn issue_nonce<'a>(
        &'a self,
        kind: NonceKind,
        nonce: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        ready(self.lock().and_then(|mut state| {
            let slot = (kind, nonce.to_owned());
            if state.nonces.contains_key(&slot) {
                return Err(StoreError::Duplicate("nonce"));
            }
            state.nonces.insert(slot, expires_at);
            Ok(())
        }))
    }

    fn consume_nonce<'a>(
        &'a self,
        kind: NonceKind,
        nonce: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        ready(self.lock().map(|mut state| {
            state
                .nonces
                .remove(&(kind, nonce.to_owned()))
                .is_some_and(|expires_at| expires_at > now)
        }))
    }

    fn nonce_is_live<'a>(
        &'a self,
        kind: NonceKind,
        nonce: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        ready(self.lock().map(|state| {
            state
                .nonces
                .get(&(kind, nonce.to_owned()))
                .is_some_and(|expires_at| *expires_at > now)
        }))
    }

    fn first_use<'a>(
        &'a self,
        scope: ReplayScope,
        id: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        ready(self.lock().map(|mut state| {
            let slot = (scope, id.to_owned());
            match state.replay.get(&slot) {
                Some(seen_until) if *seen_until > now => false,
                _ => {
                    state.replay.insert(slot, expires_at);
                    true
                }
            }
        }))
    }
}

impl PreAuthorizedCodeStore for MemoryStore {
    fn create_pre_authorized_code<'a>(
        &'a self,
        code: &'a NewPreAuthorizedCode,
    ) -> StoreFuture<'a, ()> {
        ready(self.lock().and_then(|mut state| {
            if code.attempts == 0 {
                return Err(StoreError::Invalid(
                    "a pre-authorized code needs at least one attempt".into(),
                ));
            }
            if state.pre_authorized.contains_key(&code.code_key) {
                return Err(StoreError::Duplicate("pre-authorized code"));
            }
            state
                .pre_authorized
                .insert(code.code_key.clone(), (code.clone(), code.attempts));
            Ok(())
        }))
    }

    fn redeem_pre_authorized_code<'a>(
        &'a self,
        code_key: &'a str,
        tx_code_key: Option<&'a str>,
        now: i64,
    ) -> StoreFuture<'a, Redemption> {
        ready(self.lock().map(|mut state| {
            let Some((code, attempts_left)) = state.pre_authorized.get_mut(code_key) else {
                return Redemption::Unknown;
            };
            if code.expires_at <= now {
                state.pre_authorized.remove(code_key);
                return Redemption::Unknown;
            }
            if code.tx_code_key.as_deref() == tx_code_key {
                let record = code.record.clone();
                state.pre_authorized.remove(code_key);
                return Redemption::Redeemed(record);
            }
            *attempts_left -= 1;
            if *attempts_left == 0 {
                state.pre_authorized.remove(code_key);
                Redemption::LockedOut
            } else {
                Redemption::WrongTxCode {
                    attempts_left: *attempts_left,
                }
            }
        }))
    }
}

impl StatusListStore for MemoryStore {
    fn allocate_status<'a>(
        &'a self,
        count: u32,
        policy: &'a AllocationPolicy,
    ) -> StoreFuture<'a, Vec<StatusSlot>> {
        ready(self.lock().and_then(|mut state| {
            if policy.list_size == 0 || !policy.list_size.is_multiple_of(8) {
                return Err(StoreError::Invalid(
                    "a status list size must be a positive multiple of 8".into(),
                ));
            }
            if !(1..=100).contains(&policy.max_fill_percent) {
                return Err(StoreError::Invalid(
                    "max_fill_percent must be between 1 and 100".into(),
                ));
            }
            let mut slots = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let open = state
                    .lists
                    .iter()
                    .find(|(_, list)| {
                        (list.given.len() as u64) * 100
                            < u64::from(list.size) * u64::from(policy.max_fill_percent)
                    })
                    .map(|(id, _)| *id);
                let id = match open {
                    Some(id) => id,
                    None => {
                        let id = state.lists.keys().next_back().map_or(1, |last| last + 1);
                        state.lists.insert(
                            id,
                            Lists {
                                size: policy.list_size,
                                ..Lists::default()
                            },
                        );
                        id
                    }
                };
                let Some(list) = state.lists.get_mut(&id) else {
                    return Err(StoreError::Unavailable("status list vanished".into()));
                };
                let index = loop {
                    let candidate = random_below(list.size)?;
                    if list.given.insert(candidate) {
                        break candidate;
                    }
                };
                slots.push(StatusSlot { list: id, index });
            }
            Ok(slots)
        }))
    }

    fn status_lists(&self) -> StoreFuture<'_, Vec<u32>> {
        ready(
            self.lock()
                .map(|state| state.lists.keys().copied().collect()),
        )
    }

    fn status_list(&self, list: u32) -> StoreFuture<'_, Option<StatusListSnapshot>> {
        ready(self.lock().map(|state| {
            state.lists.get(&list).map(|content| StatusListSnapshot {
                list,
                size: content.size,
                version: content.version,
                entries: content
                    .values
                    .iter()
                    .filter(|(_, value)| **value != 0)
                    .map(|(index, value)| (*index, *value))
                    .collect(),
            })
        }))
    }
}

impl CredentialStore for MemoryStore {
    fn insert_credentials<'a>(&'a self, records: &'a [CredentialRecord]) -> StoreFuture<'a, ()> {
        ready(self.lock().and_then(|mut state| {
            for (n, record) in records.iter().enumerate() {
                let taken_before = state
                    .credentials
                    .iter()
                    .any(|existing| existing.id == record.id || existing.status == record.status);
                let taken_in_batch = records[..n]
                    .iter()
                    .any(|other| other.id == record.id || other.status == record.status);
                if taken_before || taken_in_batch {
                    return Err(StoreError::Duplicate("credential record"));
                }
                let given = state
                    .lists
                    .get(&record.status.list)
                    .is_some_and(|list| list.given.contains(&record.status.index));
                if !given {
                    return Err(StoreError::Invalid(format!(
                        "status list {} index {} was never allocated",
                        record.status.list, record.status.index
                    )));
                }
            }
            for record in records {
                if let Some(list) = state.lists.get_mut(&record.status.list) {
                    list.values
                        .insert(record.status.index, record.state.status_value());
                    list.version += 1;
                }
                state.credentials.push(record.clone());
            }
            Ok(())
        }))
    }

    fn credential<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<CredentialRecord>> {
        ready(self.lock().map(|state| {
            state
                .credentials
                .iter()
                .find(|record| record.id == id)
                .cloned()
        }))
    }

    fn credentials_of<'a>(
        &'a self,
        subject_key: &'a str,
    ) -> StoreFuture<'a, Vec<CredentialRecord>> {
        ready(self.lock().map(|state| {
            state
                .credentials
                .iter()
                .filter(|record| record.subject_key == subject_key)
                .cloned()
                .collect()
        }))
    }

    fn set_credential_state<'a>(
        &'a self,
        id: &'a str,
        new_state: CredentialState,
    ) -> StoreFuture<'a, Option<CredentialRecord>> {
        ready(self.lock().and_then(|mut state| {
            let Some(record) = state.credentials.iter_mut().find(|record| record.id == id) else {
                return Ok(None);
            };
            if record.state == CredentialState::Revoked && new_state != CredentialState::Revoked {
                return Err(StoreError::Invalid(
                    "a revoked credential cannot change state".into(),
                ));
            }
            record.state = new_state;
            let updated = record.clone();
            if let Some(list) = state.lists.get_mut(&updated.status.list) {
                list.values
                    .insert(updated.status.index, new_state.status_value());
                list.version += 1;
            }
            Ok(Some(updated))
        }))
    }
}

impl DeferredStore for MemoryStore {
    fn create_deferred<'a>(&'a self, record: &'a DeferredRecord) -> StoreFuture<'a, ()> {
        ready(self.lock().and_then(|mut state| {
            let clash = state.deferred.iter().any(|existing| {
                existing.id == record.id || existing.transaction_key == record.transaction_key
            });
            if clash {
                return Err(StoreError::Duplicate("deferred issuance"));
            }
            let mut stored = record.clone();
            stored.state = DeferredState::Pending;
            state.deferred.push(stored);
            Ok(())
        }))
    }

    fn deferred<'a>(
        &'a self,
        wanted: Option<DeferredState>,
        now: i64,
    ) -> StoreFuture<'a, Vec<DeferredRecord>> {
        ready(self.lock().map(|state| {
            state
                .deferred
                .iter()
                .filter(|record| record.expires_at > now)
                .filter(|record| wanted.is_none_or(|wanted| record.state == wanted))
                .cloned()
                .collect()
        }))
    }

    fn decide_deferred<'a>(
        &'a self,
        id: &'a str,
        approve: bool,
        now: i64,
    ) -> StoreFuture<'a, Option<DeferredRecord>> {
        ready(self.lock().map(|mut state| {
            let record = state.deferred.iter_mut().find(|record| {
                record.id == id && record.state == DeferredState::Pending && record.expires_at > now
            })?;
            record.state = if approve {
                DeferredState::Approved
            } else {
                DeferredState::Rejected
            };
            Some(record.clone())
        }))
    }

    fn poll_deferred<'a>(
        &'a self,
        transaction_key: &'a str,
        now: i64,
    ) -> StoreFuture<'a, DeferredPoll> {
        ready(self.lock().map(|mut state| {
            let Some(record) = state.deferred.iter_mut().find(|record| {
                record.transaction_key == transaction_key && record.expires_at > now
            }) else {
                return DeferredPoll::Unknown;
            };
            match record.state {
                DeferredState::Pending => DeferredPoll::Pending,
                DeferredState::Rejected => DeferredPoll::Rejected,
                DeferredState::Issued => DeferredPoll::Unknown,
                DeferredState::Approved => {
                    record.state = DeferredState::Issued;
                    DeferredPoll::Ready(record.clone())
                }
            }
        }))
    }
}

impl IssuerStore for MemoryStore {
    fn ping(&self) -> StoreFuture<'_, ()> {
        ready(self.lock().map(|_| ()))
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_taken_session_is_gone_and_an_expired_one_never_served() {
        let store = MemoryStore::new();
        block_on(async {
            store
                .put(SessionKind::AuthorizationCode, "k", b"v", 100)
                .await
                .unwrap();
            assert!(matches!(
                store
                    .put(SessionKind::AuthorizationCode, "k", b"w", 100)
                    .await,
                Err(StoreError::Duplicate(_))
            ));
            // Another kind with the same key does not collide.
            store
                .put(SessionKind::AccessToken, "k", b"t", 100)
                .await
                .unwrap();
            assert_eq!(
                store
                    .take(SessionKind::AuthorizationCode, "k", 50)
                    .await
                    .unwrap(),
                Some(b"v".to_vec())
            );
            assert_eq!(
                store
                    .take(SessionKind::AuthorizationCode, "k", 50)
                    .await
                    .unwrap(),
                None
            );
            assert_eq!(
                store.get(SessionKind::AccessToken, "k", 100).await.unwrap(),
                None
            );
        });
    }

    #[test]
    fn tx_code_attempts_run_out() {
        let store = MemoryStore::new();
        block_on(async {
            let code = NewPreAuthorizedCode {
                code_key: "c".into(),
                tx_code_key: Some("right".into()),
                attempts: 2,
                record: b"grant".to_vec(),
                expires_at: 100,
            };
            store.create_pre_authorized_code(&code).await.unwrap();
            assert_eq!(
                store
                    .redeem_pre_authorized_code("c", Some("wrong"), 10)
                    .await
                    .unwrap(),
                Redemption::WrongTxCode { attempts_left: 1 }
            );
            assert_eq!(
                store
                    .redeem_pre_authorized_code("c", None, 10)
                    .await
                    .unwrap(),
                Redemption::LockedOut
            );
            assert_eq!(
                store
                    .redeem_pre_authorized_code("c", Some("right"), 10)
                    .await
                    .unwrap(),
                Redemption::Unknown
            );
        });
    }

    #[test]
    fn nonces_are_consumed_once_and_replays_seen() {
        let store = MemoryStore::new();
        block_on(async {
            store
                .issue_nonce(NonceKind::CNonce, "n", 100)
                .await
                .unwrap();
            store
                .issue_nonce(NonceKind::DpopNonce, "d", 100)
                .await
                .unwrap();
            assert!(
                !store
                    .consume_nonce(NonceKind::DpopNonce, "n", 10)
                    .await
                    .unwrap()
            );
            assert!(
                store
                    .consume_nonce(NonceKind::CNonce, "n", 10)
                    .await
                    .unwrap()
            );
            assert!(
                !store
                    .consume_nonce(NonceKind::CNonce, "n", 10)
                    .await
                    .unwrap()
            );
            assert!(
                store
                    .nonce_is_live(NonceKind::DpopNonce, "d", 99)
                    .await
                    .unwrap()
            );
            assert!(
                store
                    .nonce_is_live(NonceKind::DpopNonce, "d", 99)
                    .await
                    .unwrap()
            );
            assert!(
                !store
                    .nonce_is_live(NonceKind::DpopNonce, "d", 100)
                    .await
                    .unwrap()
            );
            assert!(
                store
                    .first_use(ReplayScope::DpopProof, "j", 50, 10)
                    .await
                    .unwrap()
            );
            assert!(
                !store
                    .first_use(ReplayScope::DpopProof, "j", 50, 20)
                    .await
                    .unwrap()
            );
            assert!(
                store
                    .first_use(ReplayScope::AttestationPop, "j", 50, 20)
                    .await
                    .unwrap()
            );
            // Once the entry has expired the id is new again (the proof's own age check
            // refuses a proof that old).
            assert!(
                store
                    .first_use(ReplayScope::DpopProof, "j", 90, 50)
                    .await
                    .unwrap()
            );
        });
    }

    #[test]
    fn deferred_issuance_is_decided_once_and_handed_out_once() {
        let store = MemoryStore::new();
        let record = |id: &str, key: &str| DeferredRecord {
            id: id.into(),
            transaction_key: key.into(),
            state: DeferredState::Approved,
            reason: "birth date differs".into(),
            record: b"r".to_vec(),
            created_at: 0,
            expires_at: 100,
        };
        block_on(async {
            // Whatever state the caller writes, a new record starts pending.
            store.create_deferred(&record("a", "ka")).await.unwrap();
            store.create_deferred(&record("b", "kb")).await.unwrap();
            assert!(store.create_deferred(&record("a", "kc")).await.is_err());
            assert_eq!(
                store.poll_deferred("ka", 1).await.unwrap(),
                DeferredPoll::Pending
            );
            let pending = store
                .deferred(Some(DeferredState::Pending), 1)
                .await
                .unwrap();
            assert_eq!(pending.len(), 2);
            assert!(store.decide_deferred("a", true, 1).await.unwrap().is_some());
            assert!(
                store
                    .decide_deferred("a", false, 1)
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(
                store
                    .decide_deferred("b", false, 1)
                    .await
                    .unwrap()
                    .is_some()
            );
            assert!(matches!(
                store.poll_deferred("ka", 2).await.unwrap(),
                DeferredPoll::Ready(ready) if ready.state == DeferredState::Issued
            ));
            assert_eq!(
                store.poll_deferred("ka", 2).await.unwrap(),
                DeferredPoll::Unknown
            );
            assert_eq!(
                store.poll_deferred("kb", 2).await.unwrap(),
                DeferredPoll::Rejected
            );
            assert_eq!(
                store.poll_deferred("kb", 100).await.unwrap(),
                DeferredPoll::Unknown
            );
        });
    }

    #[test]
    fn status_places_are_unique_and_lists_open_when_full() {
        let store = MemoryStore::new();
        let policy = AllocationPolicy {
            list_size: 16,
            max_fill_percent: 50,
        };
        block_on(async {
            let slots = store.allocate_status(20, &policy).await.unwrap();
            let unique: BTreeSet<_> = slots.iter().copied().collect();
            assert_eq!(unique.len(), 20);
            // 8 per list (50% of 16): three lists.
            assert_eq!(store.status_lists().await.unwrap(), vec![1, 2, 3]);
            let record = CredentialRecord {
                id: "id".into(),
                subject_key: "s".into(),
                format: "dc+sd-jwt".into(),
                configuration_id: "pid".into(),
                status: slots[0],
                state: CredentialState::Valid,
                issued_at: 0,
                expires_at: 10,
            };
            store
                .insert_credentials(std::slice::from_ref(&record))
                .await
                .unwrap();
            let before = store.status_list(slots[0].list).await.unwrap().unwrap();
            store
                .set_credential_state("id", CredentialState::Revoked)
                .await
                .unwrap();
            let after = store.status_list(slots[0].list).await.unwrap().unwrap();
            assert!(after.version > before.version);
            assert_eq!(after.entries, vec![(slots[0].index, 1)]);
            assert!(
                store
                    .set_credential_state("id", CredentialState::Valid)
                    .await
                    .is_err()
            );
        });
    }
}
