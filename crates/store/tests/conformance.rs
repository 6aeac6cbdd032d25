//! One conformance suite for every backend of the issuance store traits: the in-memory reference
//! (`eudi_oid4vci::store::memory::MemoryStore`), SQLite (a temporary file) and PostgreSQL
//! (`postgres://postgres@127.0.0.1:5432/test`, or `EUDI_TEST_DATABASE_URL`; each test in a schema
//! of its own with a random name, dropped at the end).
//!
//! Every test gets two handles on one database: for SQLite and PostgreSQL two pools, i.e. two
//! issuer instances, so the race tests race instances, not tasks of one pool. PostgreSQL tests are
//! skipped with a message when the server is not reachable, unless `CI` is set: then they fail.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a setup failure should abort the test"
)]

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::time::Duration;
use std::time::SystemTime;

use eudi_oid4vci::store::AllocationPolicy;
use eudi_oid4vci::store::CredentialRecord;
use eudi_oid4vci::store::CredentialState;
use eudi_oid4vci::store::DeferredPoll;
use eudi_oid4vci::store::DeferredRecord;
use eudi_oid4vci::store::DeferredState;
use eudi_oid4vci::store::IssuerStore;
use eudi_oid4vci::store::NewPreAuthorizedCode;
use eudi_oid4vci::store::NonceKind;
use eudi_oid4vci::store::Redemption;
use eudi_oid4vci::store::ReplayScope;
use eudi_oid4vci::store::SessionKind;
use eudi_oid4vci::store::StatusSlot;
use eudi_oid4vci::store::StoreError;
use eudi_oid4vci::store::memory::MemoryStore;
use eudi_store::Store;
use eudi_store::StoreOptions;

type Handle = Arc<dyn IssuerStore>;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A name no other test of any concurrent run uses.
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000
    )
}

fn test_options() -> StoreOptions {
    let mut options = StoreOptions::default();
    // Two hundred racing writers on one SQLite file wait their turn rather than fail.
    options.busy_timeout = Duration::from_secs(60);
    options.acquire_timeout = Duration::from_secs(60);
    options
}

fn postgres_url() -> String {
    std::env::var("EUDI_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// Runs `test` on the memory store (both handles are the one store).
async fn on_memory<F, Fut>(test: F)
where
    F: FnOnce(Handle, Handle) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let store: Handle = Arc::new(MemoryStore::new());
    test(store.clone(), store).await;
}

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(unique_name("eudi-store"));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `test` on two pools of one new SQLite file.
async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Handle, Handle) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = TempDir::new();
    let first = eudi_store::open_sqlite_in(&dir.0, &test_options())
        .await
        .unwrap();
    let url = format!(
        "sqlite://{}",
        dir.0.join(eudi_store::SQLITE_FILE_NAME).display()
    );
    let second = eudi_store::open(&url, &test_options()).await.unwrap();
    assert_eq!(second.backend(), "sqlite");
    let outcome = tokio::spawn(test(first.issuer(), second.issuer())).await;
    first.close().await;
    second.close().await;
    drop(dir);
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// An admin pool on the PostgreSQL test database, or `None` (with a message) when it is not
/// reachable and `CI` is not set.
async fn postgres_admin() -> Option<sqlx::PgPool> {
    let url = postgres_url();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await;
    match pool {
        Ok(pool) => Some(pool),
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI is set and PostgreSQL at {url} is not reachable: {error}")
        }
        Err(error) => {
            eprintln!("skipped: PostgreSQL at {url} is not reachable ({error})");
            None
        }
    }
}

/// Runs `test` on two pools of one new schema of the PostgreSQL test database, then drops it.
async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Handle, Handle) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(admin) = postgres_admin().await else {
        return;
    };
    let schema = unique_name("eudi_test");
    let options = test_options().with_schema(schema.clone());
    let url = postgres_url();
    let first = eudi_store::open(&url, &options).await.unwrap();
    let second = eudi_store::open(&url, &options).await.unwrap();
    assert_eq!(first.backend(), "postgres");
    let outcome = tokio::spawn(test(first.issuer(), second.issuer())).await;
    first.close().await;
    second.close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// One `#[tokio::test]` per suite function and backend.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_memory(super::suite::$name).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_sqlite(super::suite::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_postgres(super::suite::$name).await;
                }
            )*
        }
    };
}

conformance!(
    sessions_are_put_once_taken_once_and_expire,
    purge_removes_only_expired_records,
    nonces_are_consumed_once,
    replay_guard_sees_a_second_use,
    pre_authorized_codes_count_wrong_tx_codes,
    pre_authorized_codes_without_tx_code,
    status_places_are_unique_and_lists_open_when_full,
    status_allocation_refuses_bad_policies,
    credentials_record_state_and_status,
    credential_batches_are_all_or_none,
    deferred_issuance_is_decided_once_and_handed_out_once,
    racing_instances_redeem_a_code_once,
    racing_wrong_tx_codes_are_each_counted,
    racing_instances_allocate_distinct_places,
    racing_instances_consume_a_nonce_once,
    racing_polls_hand_a_deferred_issuance_out_once,
);

mod suite {
    use super::*;

    fn code(key: &str, tx: Option<&str>, attempts: u32, expires_at: i64) -> NewPreAuthorizedCode {
        NewPreAuthorizedCode {
            code_key: key.into(),
            tx_code_key: tx.map(Into::into),
            attempts,
            record: format!("grant of {key}").into_bytes(),
            expires_at,
        }
    }

    fn credential(id: &str, subject: &str, status: StatusSlot, issued_at: i64) -> CredentialRecord {
        CredentialRecord {
            id: id.into(),
            subject_key: subject.into(),
            format: "dc+sd-jwt".into(),
            configuration_id: "pid_sd_jwt".into(),
            status,
            state: CredentialState::Valid,
            issued_at,
            expires_at: issued_at + 1000,
        }
    }

    fn deferred_record(id: &str, key: &str, created_at: i64, expires_at: i64) -> DeferredRecord {
        DeferredRecord {
            id: id.into(),
            transaction_key: key.into(),
            // A store must start every new record pending, whatever the caller wrote.
            state: DeferredState::Approved,
            reason: "birth date differs from the register".into(),
            record: format!("issuance {id}").into_bytes(),
            created_at,
            expires_at,
        }
    }

    const SMALL: AllocationPolicy = AllocationPolicy {
        list_size: 16,
        max_fill_percent: 50,
    };

    pub(super) async fn sessions_are_put_once_taken_once_and_expire(a: Handle, b: Handle) {
        a.put(SessionKind::AuthorizationCode, "k", b"code", 100)
            .await
            .unwrap();
        assert!(matches!(
            b.put(SessionKind::AuthorizationCode, "k", b"other", 200)
                .await,
            Err(StoreError::Duplicate(_))
        ));
        // The kind is part of the key.
        b.put(SessionKind::AccessToken, "k", b"token", 100)
            .await
            .unwrap();
        assert_eq!(
            b.get(SessionKind::AuthorizationCode, "k", 99)
                .await
                .unwrap(),
            Some(b"code".to_vec())
        );
        // get does not remove; take does, once.
        assert_eq!(
            a.take(SessionKind::AuthorizationCode, "k", 50)
                .await
                .unwrap(),
            Some(b"code".to_vec())
        );
        assert_eq!(
            b.take(SessionKind::AuthorizationCode, "k", 50)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            a.get(SessionKind::AccessToken, "k", 50).await.unwrap(),
            Some(b"token".to_vec())
        );
        a.delete(SessionKind::AccessToken, "k").await.unwrap();
        a.delete(SessionKind::AccessToken, "k").await.unwrap();
        assert_eq!(
            a.get(SessionKind::AccessToken, "k", 50).await.unwrap(),
            None
        );
        // Every kind is its own namespace, and values are bytes as written.
        let blob: Vec<u8> = (0..=255).collect();
        for kind in SessionKind::ALL {
            a.put(kind, "same", &blob, 10).await.unwrap();
        }
        for kind in SessionKind::ALL {
            assert_eq!(b.take(kind, "same", 9).await.unwrap(), Some(blob.clone()));
        }
        // At `expires_at` a record no longer exists: neither got nor taken.
        a.put(SessionKind::PushedRequest, "late", b"par", 100)
            .await
            .unwrap();
        assert_eq!(
            b.get(SessionKind::PushedRequest, "late", 100)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            b.take(SessionKind::PushedRequest, "late", 100)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            a.take(SessionKind::PushedRequest, "late", 101)
                .await
                .unwrap(),
            None
        );
    }

    pub(super) async fn purge_removes_only_expired_records(a: Handle, b: Handle) {
        a.put(SessionKind::LoginSession, "old", b"x", 10)
            .await
            .unwrap();
        a.put(SessionKind::LoginSession, "new", b"y", 30)
            .await
            .unwrap();
        a.issue_nonce(NonceKind::CNonce, "old", 10).await.unwrap();
        a.issue_nonce(NonceKind::CNonce, "new", 30).await.unwrap();
        assert!(
            a.first_use(ReplayScope::DpopProof, "old", 10, 0)
                .await
                .unwrap()
        );
        assert!(
            a.first_use(ReplayScope::DpopProof, "new", 30, 0)
                .await
                .unwrap()
        );
        a.create_pre_authorized_code(&code("old", None, 1, 10))
            .await
            .unwrap();
        a.create_pre_authorized_code(&code("new", None, 1, 30))
            .await
            .unwrap();
        assert_eq!(b.purge_expired(20).await.unwrap(), 4);
        assert_eq!(b.purge_expired(20).await.unwrap(), 0);
        assert_eq!(
            a.get(SessionKind::LoginSession, "new", 20).await.unwrap(),
            Some(b"y".to_vec())
        );
        assert!(a.nonce_is_live(NonceKind::CNonce, "new", 20).await.unwrap());
        assert!(
            !a.first_use(ReplayScope::DpopProof, "new", 30, 20)
                .await
                .unwrap()
        );
        assert_eq!(
            a.redeem_pre_authorized_code("new", None, 20).await.unwrap(),
            Redemption::Redeemed(b"grant of new".to_vec())
        );
        // A purged key can be used again.
        a.put(SessionKind::LoginSession, "old", b"z", 40)
            .await
            .unwrap();
    }

    pub(super) async fn nonces_are_consumed_once(a: Handle, b: Handle) {
        a.issue_nonce(NonceKind::CNonce, "n", 100).await.unwrap();
        assert!(matches!(
            b.issue_nonce(NonceKind::CNonce, "n", 100).await,
            Err(StoreError::Duplicate(_))
        ));
        a.issue_nonce(NonceKind::DpopNonce, "d", 100).await.unwrap();
        // Another kind's nonce is not this one.
        assert!(
            !b.consume_nonce(NonceKind::DpopNonce, "n", 10)
                .await
                .unwrap()
        );
        assert!(
            !b.consume_nonce(NonceKind::AttestationChallenge, "n", 10)
                .await
                .unwrap()
        );
        assert!(b.nonce_is_live(NonceKind::CNonce, "n", 10).await.unwrap());
        assert!(b.consume_nonce(NonceKind::CNonce, "n", 10).await.unwrap());
        assert!(!a.consume_nonce(NonceKind::CNonce, "n", 10).await.unwrap());
        assert!(!a.nonce_is_live(NonceKind::CNonce, "n", 10).await.unwrap());
        // A DPoP nonce stays live for many proofs, until it expires.
        assert!(
            a.nonce_is_live(NonceKind::DpopNonce, "d", 99)
                .await
                .unwrap()
        );
        assert!(
            b.nonce_is_live(NonceKind::DpopNonce, "d", 99)
                .await
                .unwrap()
        );
        assert!(
            !b.nonce_is_live(NonceKind::DpopNonce, "d", 100)
                .await
                .unwrap()
        );
        // An expired nonce cannot be consumed; one never issued neither.
        a.issue_nonce(NonceKind::CNonce, "late", 50).await.unwrap();
        assert!(
            !b.consume_nonce(NonceKind::CNonce, "late", 50)
                .await
                .unwrap()
        );
        assert!(
            !b.consume_nonce(NonceKind::CNonce, "never", 1)
                .await
                .unwrap()
        );
    }

    pub(super) async fn replay_guard_sees_a_second_use(a: Handle, b: Handle) {
        assert!(
            a.first_use(ReplayScope::DpopProof, "jkt:j", 50, 10)
                .await
                .unwrap()
        );
        assert!(
            !b.first_use(ReplayScope::DpopProof, "jkt:j", 60, 20)
                .await
                .unwrap()
        );
        assert!(
            !a.first_use(ReplayScope::DpopProof, "jkt:j", 60, 49)
                .await
                .unwrap()
        );
        // Scopes are apart.
        assert!(
            b.first_use(ReplayScope::AttestationPop, "jkt:j", 50, 20)
                .await
                .unwrap()
        );
        assert!(
            b.first_use(ReplayScope::KeyProof, "jkt:j", 50, 20)
                .await
                .unwrap()
        );
        // Once the entry has expired the id is new again, and guarded anew.
        assert!(
            b.first_use(ReplayScope::DpopProof, "jkt:j", 90, 50)
                .await
                .unwrap()
        );
        assert!(
            !a.first_use(ReplayScope::DpopProof, "jkt:j", 95, 60)
                .await
                .unwrap()
        );
    }

    pub(super) async fn pre_authorized_codes_count_wrong_tx_codes(a: Handle, b: Handle) {
        assert!(matches!(
            a.create_pre_authorized_code(&code("zero", Some("t"), 0, 100))
                .await,
            Err(StoreError::Invalid(_))
        ));
        a.create_pre_authorized_code(&code("c", Some("right"), 3, 100))
            .await
            .unwrap();
        assert!(matches!(
            b.create_pre_authorized_code(&code("c", None, 1, 100)).await,
            Err(StoreError::Duplicate(_))
        ));
        assert_eq!(
            b.redeem_pre_authorized_code("c", Some("wrong"), 10)
                .await
                .unwrap(),
            Redemption::WrongTxCode { attempts_left: 2 }
        );
        // A missing tx_code, when one is expected, is a wrong one.
        assert_eq!(
            a.redeem_pre_authorized_code("c", None, 10).await.unwrap(),
            Redemption::WrongTxCode { attempts_left: 1 }
        );
        assert_eq!(
            b.redeem_pre_authorized_code("c", Some("right"), 10)
                .await
                .unwrap(),
            Redemption::Redeemed(b"grant of c".to_vec())
        );
        assert_eq!(
            a.redeem_pre_authorized_code("c", Some("right"), 10)
                .await
                .unwrap(),
            Redemption::Unknown
        );
        // Wrong at the last attempt: dead, and the right one no longer helps.
        a.create_pre_authorized_code(&code("d", Some("right"), 2, 100))
            .await
            .unwrap();
        assert_eq!(
            a.redeem_pre_authorized_code("d", Some("x"), 10)
                .await
                .unwrap(),
            Redemption::WrongTxCode { attempts_left: 1 }
        );
        assert_eq!(
            b.redeem_pre_authorized_code("d", Some("y"), 10)
                .await
                .unwrap(),
            Redemption::LockedOut
        );
        assert_eq!(
            a.redeem_pre_authorized_code("d", Some("right"), 10)
                .await
                .unwrap(),
            Redemption::Unknown
        );
        // An expired code is unknown, right tx_code or not.
        a.create_pre_authorized_code(&code("e", Some("right"), 2, 100))
            .await
            .unwrap();
        assert_eq!(
            b.redeem_pre_authorized_code("e", Some("right"), 100)
                .await
                .unwrap(),
            Redemption::Unknown
        );
        assert_eq!(
            b.redeem_pre_authorized_code("never", None, 1)
                .await
                .unwrap(),
            Redemption::Unknown
        );
    }

    pub(super) async fn pre_authorized_codes_without_tx_code(a: Handle, b: Handle) {
        a.create_pre_authorized_code(&code("c", None, 1, 100))
            .await
            .unwrap();
        // A tx_code given when none was asked is wrong; with one attempt that kills the code.
        assert_eq!(
            b.redeem_pre_authorized_code("c", Some("guess"), 10)
                .await
                .unwrap(),
            Redemption::LockedOut
        );
        assert_eq!(
            b.redeem_pre_authorized_code("c", None, 10).await.unwrap(),
            Redemption::Unknown
        );
        a.create_pre_authorized_code(&code("d", None, 1, 100))
            .await
            .unwrap();
        assert_eq!(
            b.redeem_pre_authorized_code("d", None, 10).await.unwrap(),
            Redemption::Redeemed(b"grant of d".to_vec())
        );
    }

    pub(super) async fn status_places_are_unique_and_lists_open_when_full(a: Handle, b: Handle) {
        assert!(a.status_lists().await.unwrap().is_empty());
        assert!(a.allocate_status(0, &SMALL).await.unwrap().is_empty());
        let mut slots = a.allocate_status(12, &SMALL).await.unwrap();
        slots.extend(b.allocate_status(8, &SMALL).await.unwrap());
        let unique: BTreeSet<_> = slots.iter().copied().collect();
        assert_eq!(unique.len(), 20);
        // 8 per list (50 % of 16): three lists, the last with 4.
        assert_eq!(b.status_lists().await.unwrap(), vec![1, 2, 3]);
        let mut per_list = BTreeMap::new();
        for slot in &slots {
            assert!(slot.index < 16);
            *per_list.entry(slot.list).or_insert(0) += 1;
        }
        assert_eq!(per_list, BTreeMap::from([(1, 8), (2, 8), (3, 4)]));
        let snapshot = a.status_list(1).await.unwrap().unwrap();
        assert_eq!(snapshot.list, 1);
        assert_eq!(snapshot.size, 16);
        // Places given out but not used are VALID (0): no entries.
        assert!(snapshot.entries.is_empty());
        assert_eq!(a.status_list(4).await.unwrap(), None);
        // Under a 100 % policy the lists open again, lowest first, and fill to their last
        // place (the allocator's dense path): 8 + 8 + 12 places.
        let full = AllocationPolicy {
            list_size: 8,
            max_fill_percent: 100,
        };
        let dense = b.allocate_status(28, &full).await.unwrap();
        let everything: BTreeSet<StatusSlot> = slots.iter().chain(&dense).copied().collect();
        assert_eq!(everything.len(), 48);
        let expected: BTreeSet<StatusSlot> = (1..=3)
            .flat_map(|list| (0..16).map(move |index| StatusSlot { list, index }))
            .collect();
        assert_eq!(everything, expected);
        assert_eq!(a.status_lists().await.unwrap(), vec![1, 2, 3]);
        // All full: a new list, of the policy's size.
        let next = a.allocate_status(1, &full).await.unwrap();
        assert_eq!(next[0].list, 4);
        assert!(next[0].index < 8);
        assert_eq!(a.status_list(4).await.unwrap().unwrap().size, 8);
    }

    pub(super) async fn status_allocation_refuses_bad_policies(a: Handle, _b: Handle) {
        for (list_size, max_fill_percent) in [(0, 50), (12, 50), (16, 0), (16, 101)] {
            let policy = AllocationPolicy {
                list_size,
                max_fill_percent,
            };
            assert!(matches!(
                a.allocate_status(1, &policy).await,
                Err(StoreError::Invalid(_))
            ));
        }
        assert!(a.status_lists().await.unwrap().is_empty());
    }

    pub(super) async fn credentials_record_state_and_status(a: Handle, b: Handle) {
        let slots = a.allocate_status(3, &SMALL).await.unwrap();
        let first = credential("c1", "subject", slots[0], 10);
        let second = credential("c2", "subject", slots[1], 20);
        let other = credential("c3", "someone else", slots[2], 15);
        a.insert_credentials(std::slice::from_ref(&first))
            .await
            .unwrap();
        b.insert_credentials(&[second.clone(), other.clone()])
            .await
            .unwrap();
        assert_eq!(a.credential("c1").await.unwrap(), Some(first.clone()));
        assert_eq!(a.credential("nope").await.unwrap(), None);
        assert_eq!(
            b.credentials_of("subject").await.unwrap(),
            vec![first.clone(), second.clone()]
        );
        assert!(b.credentials_of("nobody").await.unwrap().is_empty());

        let list = slots[0].list;
        let before = a.status_list(list).await.unwrap().unwrap();
        let suspended = b
            .set_credential_state("c1", CredentialState::Suspended)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(suspended.state, CredentialState::Suspended);
        assert_eq!(suspended.id, "c1");
        assert_eq!(a.credential("c1").await.unwrap(), Some(suspended));
        let during = a.status_list(list).await.unwrap().unwrap();
        assert!(during.version > before.version);
        assert!(during.entries.contains(&(slots[0].index, 2)));
        // Suspension is undone; revocation is not.
        b.set_credential_state("c1", CredentialState::Valid)
            .await
            .unwrap()
            .unwrap();
        let valid_again = a.status_list(list).await.unwrap().unwrap();
        assert!(valid_again.version > during.version);
        assert!(
            !valid_again
                .entries
                .iter()
                .any(|(index, _)| *index == slots[0].index)
        );
        a.set_credential_state("c2", CredentialState::Revoked)
            .await
            .unwrap()
            .unwrap();
        let revoked = b.status_list(slots[1].list).await.unwrap().unwrap();
        assert!(revoked.entries.contains(&(slots[1].index, 1)));
        for state in [CredentialState::Valid, CredentialState::Suspended] {
            assert!(matches!(
                b.set_credential_state("c2", state).await,
                Err(StoreError::Invalid(_))
            ));
        }
        assert_eq!(
            a.credential("c2").await.unwrap().unwrap().state,
            CredentialState::Revoked
        );
        // Revoking again is not a change of state, and allowed.
        assert!(
            a.set_credential_state("c2", CredentialState::Revoked)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            a.set_credential_state("nope", CredentialState::Revoked)
                .await
                .unwrap(),
            None
        );
        // Entries are ascending by index.
        let entries = b.status_list(list).await.unwrap().unwrap().entries;
        assert!(entries.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    pub(super) async fn credential_batches_are_all_or_none(a: Handle, b: Handle) {
        let slots = a.allocate_status(3, &SMALL).await.unwrap();
        a.insert_credentials(&[credential("c1", "s", slots[0], 1)])
            .await
            .unwrap();
        // A place another record holds.
        let batch = [
            credential("c2", "s", slots[1], 2),
            credential("c3", "s", slots[0], 3),
        ];
        assert!(matches!(
            b.insert_credentials(&batch).await,
            Err(StoreError::Duplicate(_))
        ));
        assert_eq!(b.credential("c2").await.unwrap(), None);
        // An id another record holds.
        let batch = [
            credential("c2", "s", slots[1], 2),
            credential("c1", "s", slots[2], 3),
        ];
        assert!(matches!(
            b.insert_credentials(&batch).await,
            Err(StoreError::Duplicate(_))
        ));
        assert_eq!(b.credential("c2").await.unwrap(), None);
        // A place never given out.
        let unallocated = (0..16)
            .map(|index| StatusSlot {
                list: slots[0].list,
                index,
            })
            .find(|slot| !slots.contains(slot))
            .unwrap();
        let batch = [
            credential("c2", "s", slots[1], 2),
            credential("c4", "s", unallocated, 3),
        ];
        assert!(matches!(
            b.insert_credentials(&batch).await,
            Err(StoreError::Invalid(_))
        ));
        let batch = [credential("c5", "s", StatusSlot { list: 99, index: 0 }, 3)];
        assert!(matches!(
            b.insert_credentials(&batch).await,
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(b.credential("c2").await.unwrap(), None);
        assert_eq!(b.credentials_of("s").await.unwrap().len(), 1);
        b.insert_credentials(&[credential("c2", "s", slots[1], 2)])
            .await
            .unwrap();
        assert_eq!(b.credentials_of("s").await.unwrap().len(), 2);
    }

    pub(super) async fn deferred_issuance_is_decided_once_and_handed_out_once(
        a: Handle,
        b: Handle,
    ) {
        a.create_deferred(&deferred_record("a", "ka", 1, 100))
            .await
            .unwrap();
        b.create_deferred(&deferred_record("b", "kb", 2, 100))
            .await
            .unwrap();
        a.create_deferred(&deferred_record("old", "ko", 3, 5))
            .await
            .unwrap();
        assert!(matches!(
            b.create_deferred(&deferred_record("a", "kc", 4, 100)).await,
            Err(StoreError::Duplicate(_))
        ));
        assert!(matches!(
            b.create_deferred(&deferred_record("c", "ka", 4, 100)).await,
            Err(StoreError::Duplicate(_))
        ));
        assert_eq!(
            b.poll_deferred("ka", 1).await.unwrap(),
            DeferredPoll::Pending
        );
        let pending = b.deferred(Some(DeferredState::Pending), 1).await.unwrap();
        let ids: Vec<&str> = pending.iter().map(|record| record.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b", "old"]);
        assert!(
            pending
                .iter()
                .all(|record| record.state == DeferredState::Pending)
        );
        assert_eq!(pending[0].record, b"issuance a".to_vec());
        // Expired records are neither listed, decided nor polled.
        assert_eq!(b.deferred(None, 5).await.unwrap().len(), 2);
        assert_eq!(b.decide_deferred("old", true, 5).await.unwrap(), None);
        assert_eq!(
            b.poll_deferred("ko", 5).await.unwrap(),
            DeferredPoll::Unknown
        );

        let approved = a.decide_deferred("a", true, 6).await.unwrap().unwrap();
        assert_eq!(approved.state, DeferredState::Approved);
        assert_eq!(b.decide_deferred("a", false, 6).await.unwrap(), None);
        assert_eq!(
            b.decide_deferred("b", false, 6)
                .await
                .unwrap()
                .unwrap()
                .state,
            DeferredState::Rejected
        );
        assert_eq!(b.decide_deferred("b", true, 6).await.unwrap(), None);
        assert_eq!(b.decide_deferred("nope", true, 6).await.unwrap(), None);
        let approved_list = a.deferred(Some(DeferredState::Approved), 6).await.unwrap();
        assert_eq!(approved_list, vec![approved]);

        match b.poll_deferred("ka", 7).await.unwrap() {
            DeferredPoll::Ready(ready) => {
                assert_eq!(ready.id, "a");
                assert_eq!(ready.state, DeferredState::Issued);
                assert_eq!(ready.record, b"issuance a".to_vec());
            }
            other => panic!("expected Ready, got {other:?}"),
        }
        assert_eq!(
            a.poll_deferred("ka", 7).await.unwrap(),
            DeferredPoll::Unknown
        );
        assert_eq!(
            a.poll_deferred("kb", 7).await.unwrap(),
            DeferredPoll::Rejected
        );
        assert_eq!(
            a.poll_deferred("kb", 100).await.unwrap(),
            DeferredPoll::Unknown
        );
        assert_eq!(
            a.poll_deferred("never", 7).await.unwrap(),
            DeferredPoll::Unknown
        );
        assert_eq!(
            a.deferred(Some(DeferredState::Issued), 7)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    /// Runs `make(i)` for `i` in `0..n` as concurrent tasks, alternating the two handles.
    async fn race<T, F, Fut>(a: &Handle, b: &Handle, n: usize, make: F) -> Vec<T>
    where
        T: Send + 'static,
        F: Fn(Handle, usize) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                tokio::spawn(make(store, i))
            })
            .collect();
        let mut results = Vec::with_capacity(n);
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    }

    pub(super) async fn racing_instances_redeem_a_code_once(a: Handle, b: Handle) {
        for round in 0..5 {
            let key = format!("code-{round}");
            a.create_pre_authorized_code(&code(&key, Some("tx"), 3, 100))
                .await
                .unwrap();
            let outcomes = race(&a, &b, 16, |store, _| {
                let key = key.clone();
                async move {
                    store
                        .redeem_pre_authorized_code(&key, Some("tx"), 10)
                        .await
                        .unwrap()
                }
            })
            .await;
            let redeemed = outcomes
                .iter()
                .filter(|outcome| matches!(outcome, Redemption::Redeemed(_)))
                .count();
            assert_eq!(redeemed, 1, "{outcomes:?}");
            assert!(
                outcomes.iter().all(|outcome| matches!(
                    outcome,
                    Redemption::Redeemed(_) | Redemption::Unknown
                ))
            );
            // A session taken by racing instances: once.
            a.put(SessionKind::AuthorizationCode, &key, b"v", 100)
                .await
                .unwrap();
            let taken = race(&a, &b, 16, |store, _| {
                let key = key.clone();
                async move {
                    store
                        .take(SessionKind::AuthorizationCode, &key, 10)
                        .await
                        .unwrap()
                }
            })
            .await;
            assert_eq!(taken.iter().flatten().count(), 1);
        }
    }

    pub(super) async fn racing_wrong_tx_codes_are_each_counted(a: Handle, b: Handle) {
        a.create_pre_authorized_code(&code("c", Some("right"), 5, 100))
            .await
            .unwrap();
        let outcomes = race(&a, &b, 12, |store, i| async move {
            store
                .redeem_pre_authorized_code("c", Some(&format!("wrong-{i}")), 10)
                .await
                .unwrap()
        })
        .await;
        let mut left: Vec<u32> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                Redemption::WrongTxCode { attempts_left } => Some(*attempts_left),
                _ => None,
            })
            .collect();
        left.sort_unstable();
        assert_eq!(left, vec![1, 2, 3, 4], "{outcomes:?}");
        let locked = outcomes
            .iter()
            .filter(|outcome| **outcome == Redemption::LockedOut)
            .count();
        assert_eq!(locked, 1);
        let unknown = outcomes
            .iter()
            .filter(|outcome| **outcome == Redemption::Unknown)
            .count();
        assert_eq!(unknown, 7);
    }

    pub(super) async fn racing_instances_allocate_distinct_places(a: Handle, b: Handle) {
        // 100 % fill of 128-place lists: the first list fills to its last place, which takes
        // the allocator's dense path, and the second list opens once.
        let policy = AllocationPolicy {
            list_size: 128,
            max_fill_percent: 100,
        };
        let slots = race(&a, &b, 200, |store, _| async move {
            store.allocate_status(1, &policy).await.unwrap()
        })
        .await;
        let slots: Vec<StatusSlot> = slots.into_iter().flatten().collect();
        assert_eq!(slots.len(), 200);
        let unique: BTreeSet<StatusSlot> = slots.iter().copied().collect();
        assert_eq!(unique.len(), 200);
        assert_eq!(a.status_lists().await.unwrap(), vec![1, 2]);
        assert_eq!(slots.iter().filter(|slot| slot.list == 1).count(), 128);
        assert!(slots.iter().all(|slot| slot.index < 128));
    }

    pub(super) async fn racing_instances_consume_a_nonce_once(a: Handle, b: Handle) {
        for round in 0..5 {
            let nonce = format!("nonce-{round}");
            a.issue_nonce(NonceKind::CNonce, &nonce, 100).await.unwrap();
            let consumed = race(&a, &b, 16, |store, _| {
                let nonce = nonce.clone();
                async move {
                    store
                        .consume_nonce(NonceKind::CNonce, &nonce, 10)
                        .await
                        .unwrap()
                }
            })
            .await;
            assert_eq!(consumed.iter().filter(|won| **won).count(), 1);
            let jti = format!("jkt:jti-{round}");
            let first = race(&a, &b, 16, |store, _| {
                let jti = jti.clone();
                async move {
                    store
                        .first_use(ReplayScope::DpopProof, &jti, 100, 10)
                        .await
                        .unwrap()
                }
            })
            .await;
            assert_eq!(first.iter().filter(|won| **won).count(), 1);
        }
    }

    pub(super) async fn racing_polls_hand_a_deferred_issuance_out_once(a: Handle, b: Handle) {
        a.create_deferred(&deferred_record("d", "kd", 1, 100))
            .await
            .unwrap();
        let decided = race(&a, &b, 8, |store, i| async move {
            store.decide_deferred("d", i % 3 == 0, 2).await.unwrap()
        })
        .await;
        assert_eq!(decided.iter().flatten().count(), 1);
        let approved = decided
            .iter()
            .flatten()
            .all(|record| record.state == DeferredState::Approved);
        let polls = race(&a, &b, 12, |store, _| async move {
            store.poll_deferred("kd", 3).await.unwrap()
        })
        .await;
        let ready = polls
            .iter()
            .filter(|poll| matches!(poll, DeferredPoll::Ready(_)))
            .count();
        if approved {
            assert_eq!(ready, 1, "{polls:?}");
            assert_eq!(
                polls
                    .iter()
                    .filter(|poll| **poll == DeferredPoll::Unknown)
                    .count(),
                11
            );
        } else {
            assert!(polls.iter().all(|poll| *poll == DeferredPoll::Rejected));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Backend-specific: durability, purging of deferred records, opening
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_sqlite_file_keeps_everything() {
    let dir = TempDir::new();
    let slot;
    {
        let store = eudi_store::open_sqlite_in(&dir.0, &test_options())
            .await
            .unwrap();
        let issuer = store.issuer();
        issuer
            .put(SessionKind::AccessToken, "t", b"grant", 100)
            .await
            .unwrap();
        issuer
            .issue_nonce(NonceKind::CNonce, "n", 100)
            .await
            .unwrap();
        assert!(
            issuer
                .first_use(ReplayScope::DpopProof, "j", 100, 1)
                .await
                .unwrap()
        );
        issuer
            .create_pre_authorized_code(&NewPreAuthorizedCode {
                code_key: "c".into(),
                tx_code_key: Some("tx".into()),
                attempts: 3,
                record: b"grant".to_vec(),
                expires_at: 100,
            })
            .await
            .unwrap();
        assert_eq!(
            issuer
                .redeem_pre_authorized_code("c", Some("bad"), 1)
                .await
                .unwrap(),
            Redemption::WrongTxCode { attempts_left: 2 }
        );
        slot = issuer
            .allocate_status(
                1,
                &AllocationPolicy {
                    list_size: 16,
                    max_fill_percent: 50,
                },
            )
            .await
            .unwrap()[0];
        issuer
            .insert_credentials(&[CredentialRecord {
                id: "cred".into(),
                subject_key: "s".into(),
                format: "mso_mdoc".into(),
                configuration_id: "pid_mdoc".into(),
                status: slot,
                state: CredentialState::Valid,
                issued_at: 1,
                expires_at: 100,
            }])
            .await
            .unwrap();
        issuer
            .set_credential_state("cred", CredentialState::Revoked)
            .await
            .unwrap();
        issuer
            .create_deferred(&DeferredRecord {
                id: "d".into(),
                transaction_key: "kd".into(),
                state: DeferredState::Pending,
                reason: "review".into(),
                record: b"r".to_vec(),
                created_at: 1,
                expires_at: 100,
            })
            .await
            .unwrap();
        issuer.decide_deferred("d", true, 2).await.unwrap().unwrap();
        store.close().await;
    }
    let store = eudi_store::open_sqlite_in(&dir.0, &test_options())
        .await
        .unwrap();
    let issuer = store.issuer();
    store.ping().await.unwrap();
    // Everything written expires at 100: nothing goes before.
    assert_eq!(store.purge_expired(99).await.unwrap(), 0);
    assert_eq!(
        issuer.get(SessionKind::AccessToken, "t", 2).await.unwrap(),
        Some(b"grant".to_vec())
    );
    assert!(
        issuer
            .consume_nonce(NonceKind::CNonce, "n", 2)
            .await
            .unwrap()
    );
    assert!(
        !issuer
            .first_use(ReplayScope::DpopProof, "j", 100, 2)
            .await
            .unwrap()
    );
    assert_eq!(
        issuer
            .redeem_pre_authorized_code("c", Some("bad"), 2)
            .await
            .unwrap(),
        Redemption::WrongTxCode { attempts_left: 1 }
    );
    let record = issuer.credential("cred").await.unwrap().unwrap();
    assert_eq!(record.state, CredentialState::Revoked);
    assert_eq!(record.status, slot);
    let snapshot = issuer.status_list(slot.list).await.unwrap().unwrap();
    assert_eq!(snapshot.entries, vec![(slot.index, 1)]);
    // A place given out before the restart is not given again.
    let more = issuer
        .allocate_status(
            7,
            &AllocationPolicy {
                list_size: 16,
                max_fill_percent: 50,
            },
        )
        .await
        .unwrap();
    assert!(!more.contains(&slot));
    assert!(matches!(
        issuer.poll_deferred("kd", 3).await.unwrap(),
        DeferredPoll::Ready(_)
    ));
    store.close().await;
}

async fn expired_deferred_records_are_purged(a: Handle, _b: Handle) {
    a.create_deferred(&DeferredRecord {
        id: "d".into(),
        transaction_key: "kd".into(),
        state: DeferredState::Pending,
        reason: "review".into(),
        record: b"the PID".to_vec(),
        created_at: 1,
        expires_at: 10,
    })
    .await
    .unwrap();
    assert_eq!(a.purge_expired(10).await.unwrap(), 1);
    // Its id and transaction key are free again: the row is gone, not hidden.
    a.create_deferred(&DeferredRecord {
        id: "d".into(),
        transaction_key: "kd".into(),
        state: DeferredState::Pending,
        reason: "review".into(),
        record: b"r".to_vec(),
        created_at: 11,
        expires_at: 20,
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_purges_expired_deferred_records() {
    on_sqlite(expired_deferred_records_are_purged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_purges_expired_deferred_records() {
    on_postgres(expired_deferred_records_are_purged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_refuses_bad_urls_and_schemas() {
    let options = test_options();
    assert!(matches!(
        eudi_store::open("mysql://localhost/db", &options).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        eudi_store::open("no scheme", &options).await,
        Err(StoreError::Invalid(_))
    ));
    let bad_schema = test_options().with_schema("x; DROP TABLE y");
    assert!(matches!(
        eudi_store::open(&postgres_url(), &bad_schema).await,
        Err(StoreError::Invalid(_))
    ));
    // Nothing listens on port 1: unavailable, after the acquire timeout.
    let mut quick = StoreOptions::default();
    quick.acquire_timeout = Duration::from_secs(2);
    assert!(matches!(
        eudi_store::open("postgres://postgres@127.0.0.1:1/test", &quick).await,
        Err(StoreError::Unavailable(_))
    ));
    // In-memory SQLite keeps nothing and shares nothing.
    for url in ["sqlite::memory:", "sqlite://x.db?mode=memory"] {
        assert!(matches!(
            eudi_store::open(url, &options).await,
            Err(StoreError::Invalid(_))
        ));
    }
    // A file URL in a directory that does not exist yet: created.
    let nested = TempDir::new();
    let url = format!("sqlite://{}", nested.0.join("a/b/issuer.db").display());
    let store = eudi_store::open(&url, &options).await.unwrap();
    store.issuer().ping().await.unwrap();
    store.close().await;
    assert!(nested.0.join("a/b/issuer.db").is_file());
    // A directory where the SQLite file should be.
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.0.join(eudi_store::SQLITE_FILE_NAME)).unwrap();
    assert!(matches!(
        eudi_store::open_sqlite_in(&dir.0, &options).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_schemas_do_not_share_state() {
    let Some(admin) = postgres_admin().await else {
        return;
    };
    let url = postgres_url();
    let one = unique_name("eudi_test");
    let two = unique_name("eudi_test");
    let first: Store = eudi_store::open(&url, &test_options().with_schema(one.clone()))
        .await
        .unwrap();
    let second = eudi_store::open(&url, &test_options().with_schema(two.clone()))
        .await
        .unwrap();
    first
        .issuer()
        .issue_nonce(NonceKind::CNonce, "n", 100)
        .await
        .unwrap();
    let seen = second
        .issuer()
        .nonce_is_live(NonceKind::CNonce, "n", 1)
        .await
        .unwrap();
    let seen_first = first
        .issuer()
        .nonce_is_live(NonceKind::CNonce, "n", 1)
        .await
        .unwrap();
    first.close().await;
    second.close().await;
    for schema in [one, two] {
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await
            .unwrap();
    }
    assert!(!seen);
    assert!(seen_first);
}

async fn oversized_keys_and_records_are_refused(a: Handle, _b: Handle) {
    let long_key = "k".repeat(eudi_store::MAX_KEY_BYTES + 1);
    let big = vec![0u8; eudi_store::MAX_RECORD_BYTES + 1];
    assert!(matches!(
        a.put(SessionKind::PushedRequest, &long_key, b"v", 10).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        a.put(SessionKind::PushedRequest, "k", &big, 10).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        a.issue_nonce(NonceKind::CNonce, &long_key, 10).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        a.first_use(ReplayScope::DpopProof, &long_key, 10, 1).await,
        Err(StoreError::Invalid(_))
    ));
    let mut code = NewPreAuthorizedCode {
        code_key: "c".into(),
        tx_code_key: Some(long_key.clone()),
        attempts: 1,
        record: Vec::new(),
        expires_at: 10,
    };
    assert!(matches!(
        a.create_pre_authorized_code(&code).await,
        Err(StoreError::Invalid(_))
    ));
    code.tx_code_key = None;
    code.record = big.clone();
    assert!(matches!(
        a.create_pre_authorized_code(&code).await,
        Err(StoreError::Invalid(_))
    ));
    // At the limits, everything is stored.
    let key = "k".repeat(eudi_store::MAX_KEY_BYTES);
    let record = vec![7u8; eudi_store::MAX_RECORD_BYTES];
    a.put(SessionKind::PushedRequest, &key, &record, 10)
        .await
        .unwrap();
    assert_eq!(
        a.take(SessionKind::PushedRequest, &key, 1).await.unwrap(),
        Some(record)
    );
    assert!(
        a.first_use(ReplayScope::DpopProof, &key, 10, 1)
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_oversized_keys_and_records() {
    on_sqlite(oversized_keys_and_records_are_refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_oversized_keys_and_records() {
    on_postgres(oversized_keys_and_records_are_refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_that_do_not_read_back_are_corrupt_not_panics() {
    let dir = TempDir::new();
    let store = eudi_store::open_sqlite_in(&dir.0, &test_options())
        .await
        .unwrap();
    let issuer = store.issuer();
    let policy = AllocationPolicy {
        list_size: 16,
        max_fill_percent: 50,
    };
    let slot = issuer.allocate_status(1, &policy).await.unwrap()[0];
    // A manual edit of the file: an index beyond u32, a negative version.
    let url = format!(
        "sqlite://{}",
        dir.0.join(eudi_store::SQLITE_FILE_NAME).display()
    );
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO status_slots (list, idx, value) VALUES ($1, $2, 1)")
        .bind(i64::from(slot.list))
        .bind(1_i64 << 33)
        .execute(&raw)
        .await
        .unwrap();
    assert!(matches!(
        issuer.status_list(slot.list).await,
        Err(StoreError::Corrupt(_))
    ));
    sqlx::query("DELETE FROM status_slots WHERE idx = $1")
        .bind(1_i64 << 33)
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query("UPDATE status_lists SET version = -1")
        .execute(&raw)
        .await
        .unwrap();
    assert!(matches!(
        issuer.status_list(slot.list).await,
        Err(StoreError::Corrupt(_))
    ));
    sqlx::query("INSERT INTO status_lists (list, size) VALUES ($1, 16)")
        .bind(1_i64 << 40)
        .execute(&raw)
        .await
        .unwrap();
    assert!(matches!(
        issuer.status_lists().await,
        Err(StoreError::Corrupt(_))
    ));
    raw.close().await;
    store.close().await;
}
