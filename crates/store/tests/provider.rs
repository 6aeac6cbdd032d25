//! The MitID test provider's `ProviderStore` on SQLite and PostgreSQL, held to the in-memory
//! store's behaviour: one suite, run on `InMemoryStore`, on two pools of one SQLite file and on
//! two pools of one PostgreSQL schema (two issuer instances sharing the provider's logins).
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a setup failure should abort the test"
)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::time::Duration;
use std::time::SystemTime;

use eudi_mitid_test_provider::store::AccessGrant;
use eudi_mitid_test_provider::store::CodeGrant;
use eudi_mitid_test_provider::store::InMemoryStore;
use eudi_mitid_test_provider::store::LoginRequest;
use eudi_mitid_test_provider::store::ProviderStore;
use eudi_mitid_test_provider::store::StoreError;
use eudi_mitid_test_provider::store::StoreLimits;
use eudi_store::StoreOptions;
use eudi_trust::clock::ManualClock;
use serde_json::json;

type Handle = Arc<dyn ProviderStore>;

/// Eight records of each kind, five pending logins per client.
fn limits() -> StoreLimits {
    StoreLimits::new(8, 5)
}

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

fn postgres_url() -> String {
    std::env::var("EUDI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn on_memory<F, Fut>(test: F)
where
    F: FnOnce(Handle, Handle, Arc<ManualClock>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let clock = Arc::new(ManualClock::new(0));
    let store: Handle = Arc::new(InMemoryStore::with_limits(clock.clone(), limits()));
    test(store.clone(), store, clock).await;
}

async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Handle, Handle, Arc<ManualClock>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = TempDir(std::env::temp_dir().join(unique_name("eudi-provider")));
    let options = StoreOptions::default();
    let first = eudi_store::open_sqlite_in(&dir.0, &options).await.unwrap();
    let second = eudi_store::open_sqlite_in(&dir.0, &options).await.unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let outcome = tokio::spawn(test(
        first.provider(clock.clone(), limits()),
        second.provider(clock.clone(), limits()),
        clock,
    ))
    .await;
    first.close().await;
    second.close().await;
    drop(dir);
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Handle, Handle, Arc<ManualClock>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let url = postgres_url();
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await;
    let admin = match admin {
        Ok(admin) => admin,
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI is set and PostgreSQL at {url} is not reachable: {error}")
        }
        Err(error) => {
            eprintln!("skipped: PostgreSQL at {url} is not reachable ({error})");
            return;
        }
    };
    let schema = unique_name("eudi_test");
    let options = StoreOptions::default().with_schema(schema.clone());
    let first = eudi_store::open(&url, &options).await.unwrap();
    let second = eudi_store::open(&url, &options).await.unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let outcome = tokio::spawn(test(
        first.provider(clock.clone(), limits()),
        second.provider(clock.clone(), limits()),
        clock,
    ))
    .await;
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

macro_rules! suite {
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

suite!(
    one_client_cannot_take_the_room_of_another,
    a_key_stored_twice_is_counted_once,
    login_requests_are_read_and_taken,
    codes_are_taken_once_even_when_expired,
    racing_instances_take_a_code_once,
    access_tokens_expire,
    codes_fill_up_and_are_evicted_after_the_grace,
);

mod suite {
    use super::*;

    fn login(client_id: &str, expires_at: i64) -> LoginRequest {
        LoginRequest::new(
            client_id.into(),
            "https://rp.example/cb".into(),
            vec!["openid".into()],
            Some("state".into()),
            Some("nonce".into()),
            "challenge".into(),
            None,
            expires_at,
        )
    }

    fn token(expires_at: i64) -> AccessGrant {
        serde_json::from_value(json!({
            "client_id": "c",
            "username": "substantial",
            "scopes": ["openid"],
            "expires_at": expires_at,
        }))
        .unwrap()
    }

    pub(super) async fn one_client_cannot_take_the_room_of_another(
        a: Handle,
        b: Handle,
        clock: Arc<ManualClock>,
    ) {
        for i in 0..5 {
            let store = if i % 2 == 0 { &a } else { &b };
            store
                .put_login_request(&format!("a{i}"), login("a", 100))
                .await
                .unwrap();
        }
        assert_eq!(
            b.put_login_request("a5", login("a", 100)).await,
            Err(StoreError::ClientLimit {
                client_id: "a".into()
            })
        );
        // Client b still has room, up to the total.
        for i in 0..3 {
            a.put_login_request(&format!("b{i}"), login("b", 100))
                .await
                .unwrap();
        }
        assert_eq!(
            b.put_login_request("b3", login("b", 100)).await,
            Err(StoreError::Full)
        );
        // A login that completes frees its client's place.
        assert!(b.take_login_request("a0", 0).await.unwrap().is_some());
        a.put_login_request("a5", login("a", 100)).await.unwrap();
        // Once expired, the flood is evicted and the client logs in again.
        clock.set(100);
        b.put_login_request("a6", login("a", 200)).await.unwrap();
        assert!(a.login_request("a6", 100).await.unwrap().is_some());
        assert!(a.login_request("a1", 99).await.unwrap().is_none());
        for i in 0..4 {
            a.put_login_request(&format!("c{i}"), login("c", 200))
                .await
                .unwrap();
        }
    }

    pub(super) async fn a_key_stored_twice_is_counted_once(
        a: Handle,
        b: Handle,
        _clock: Arc<ManualClock>,
    ) {
        for i in 0..4 {
            a.put_login_request(&format!("k{i}"), login("a", 100))
                .await
                .unwrap();
        }
        // Storing k0 again replaces it: still four of five.
        b.put_login_request("k0", login("a", 150)).await.unwrap();
        b.put_login_request("k4", login("a", 100)).await.unwrap();
        assert_eq!(
            a.put_login_request("k5", login("a", 100)).await,
            Err(StoreError::ClientLimit {
                client_id: "a".into()
            })
        );
        assert_eq!(
            a.login_request("k0", 120)
                .await
                .unwrap()
                .map(|r| r.expires_at),
            Some(150)
        );
    }

    pub(super) async fn login_requests_are_read_and_taken(
        a: Handle,
        b: Handle,
        _clock: Arc<ManualClock>,
    ) {
        let request = login("a", 100);
        a.put_login_request("k", request.clone()).await.unwrap();
        assert_eq!(
            b.login_request("k", 99).await.unwrap(),
            Some(request.clone())
        );
        assert_eq!(b.login_request("k", 100).await.unwrap(), None);
        assert_eq!(b.login_request("other", 1).await.unwrap(), None);
        assert_eq!(b.take_login_request("k", 10).await.unwrap(), Some(request));
        assert_eq!(a.take_login_request("k", 10).await.unwrap(), None);
        assert_eq!(a.login_request("k", 10).await.unwrap(), None);
        // An expired request is not handed out.
        a.put_login_request("late", login("a", 50)).await.unwrap();
        assert_eq!(b.take_login_request("late", 50).await.unwrap(), None);
    }

    pub(super) async fn codes_are_taken_once_even_when_expired(
        a: Handle,
        b: Handle,
        clock: Arc<ManualClock>,
    ) {
        a.put_code("k", code(100)).await.unwrap();
        assert_eq!(b.take_code("k").await.unwrap(), Some(code(100)));
        assert_eq!(a.take_code("k").await.unwrap(), None);
        // The caller names an expired code as expired: the store hands it out.
        a.put_code("old", code(10)).await.unwrap();
        clock.set(50);
        assert_eq!(b.take_code("old").await.unwrap(), Some(code(10)));
        assert_eq!(b.take_code("never").await.unwrap(), None);
    }

    pub(super) async fn racing_instances_take_a_code_once(
        a: Handle,
        b: Handle,
        _clock: Arc<ManualClock>,
    ) {
        for round in 0..5 {
            let key = format!("code-{round}");
            a.put_code(&key, code(100)).await.unwrap();
            let tasks: Vec<_> = (0..16)
                .map(|i| {
                    let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                    let key = key.clone();
                    tokio::spawn(async move { store.take_code(&key).await.unwrap() })
                })
                .collect();
            let mut taken = 0;
            for task in tasks {
                taken += usize::from(task.await.unwrap().is_some());
            }
            assert_eq!(taken, 1);
        }
    }

    pub(super) async fn access_tokens_expire(a: Handle, b: Handle, _clock: Arc<ManualClock>) {
        a.put_access_token("t", token(100)).await.unwrap();
        assert_eq!(b.access_token("t", 99).await.unwrap(), Some(token(100)));
        // Reading does not consume.
        assert_eq!(a.access_token("t", 99).await.unwrap(), Some(token(100)));
        assert_eq!(b.access_token("t", 100).await.unwrap(), None);
        assert_eq!(b.access_token("other", 1).await.unwrap(), None);
    }

    pub(super) async fn codes_fill_up_and_are_evicted_after_the_grace(
        a: Handle,
        b: Handle,
        clock: Arc<ManualClock>,
    ) {
        for i in 0..8 {
            a.put_code(&format!("c{i}"), code(100)).await.unwrap();
        }
        assert_eq!(b.put_code("c8", code(100)).await, Err(StoreError::Full));
        // Expired, but within the grace: still held.
        clock.set(200);
        assert_eq!(b.put_code("c8", code(400)).await, Err(StoreError::Full));
        // Past the grace the expired codes make room.
        clock.set(401);
        b.put_code("c8", code(500)).await.unwrap();
        assert_eq!(a.take_code("c0").await.unwrap(), None);
        assert_eq!(a.take_code("c8").await.unwrap(), Some(code(500)));
        // Each kind has its own room.
        for i in 0..8 {
            a.put_access_token(&format!("t{i}"), token(1000))
                .await
                .unwrap();
        }
        assert_eq!(
            b.put_access_token("t8", token(1000)).await,
            Err(StoreError::Full)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuer_purge_drops_provider_records_after_the_grace() {
    let dir = TempDir(std::env::temp_dir().join(unique_name("eudi-provider")));
    let store = eudi_store::open_sqlite_in(&dir.0, &StoreOptions::default())
        .await
        .unwrap();
    let provider = store.provider(Arc::new(ManualClock::new(0)), limits());
    provider.put_code("c", code(100)).await.unwrap();
    provider
        .put_login_request(
            "l",
            LoginRequest::new(
                "a".into(),
                "https://rp.example/cb".into(),
                vec![],
                None,
                None,
                "x".into(),
                None,
                100,
            ),
        )
        .await
        .unwrap();
    let issuer = store.issuer();
    assert_eq!(
        issuer
            .purge_expired(100 + eudi_store::PROVIDER_GRACE_SECONDS - 1)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        issuer
            .purge_expired(100 + eudi_store::PROVIDER_GRACE_SECONDS)
            .await
            .unwrap(),
        2
    );
    assert_eq!(provider.take_code("c").await.unwrap(), None);
    store.close().await;
}

fn code(expires_at: i64) -> CodeGrant {
    serde_json::from_value(json!({
        "client_id": "c",
        "redirect_uri": "https://rp.example/cb",
        "username": "substantial",
        "scopes": ["openid"],
        "nonce": null,
        "code_challenge": "x",
        "auth_time": 0,
        "expires_at": expires_at,
    }))
    .unwrap()
}
