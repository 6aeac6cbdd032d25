//! The trait implementations, written once for both backends.
//!
//! [`issuer_store!`] expands (in a module `traits` of its own) to the `eudi-oid4vci` store traits
//! for a backend type that has a `pool` field and a `write()` method starting a write
//! transaction; the macro keeps the two backends' code one text. The SQL is the portable
//! subset SQLite and PostgreSQL share (`$N` parameters, `RETURNING`, `ON CONFLICT`); the one
//! difference is the row lock, passed as `for_update`: PostgreSQL locks rows with `FOR UPDATE`,
//! SQLite needs none because its write transactions start with `BEGIN IMMEDIATE` and so hold the
//! database's write lock from their first statement.
//!
//! Atomicity, per operation:
//! * `take`, `consume_nonce`, `decide_deferred`: one `DELETE`/`UPDATE … WHERE <still valid>`
//!   statement; of two racing callers the second finds no row to change.
//! * `first_use`: one upsert that only overwrites an expired entry; the row count says who won.
//! * `redeem_pre_authorized_code`, `set_credential_state`: a transaction that locks the row, then
//!   decides.
//! * `allocate_status`: a transaction that first locks the one `status_allocator` row, so
//!   allocations of all instances are serial; the `(list, idx)` primary key of `status_slots` is
//!   the last line: an index given twice would fail the insert.
//! * `poll_deferred`: `UPDATE … SET state = 'issued' WHERE state = 'approved'` hands a record out
//!   once.
//!
//! Every read compares `expires_at > now` in its query: an expired row that is not purged yet is
//! never served.

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rand::SystemRandom;
use eudi_oid4vci::store::AllocationPolicy;
use eudi_oid4vci::store::StoreError;

/// Most places one [`allocate_status`](eudi_oid4vci::store::StatusListStore::allocate_status)
/// call gives out (a credential response holds one per credential of the batch).
pub const MAX_STATUS_BATCH: u32 = 1_000;

/// Longest key, nonce, id or other text column a store accepts, in bytes: far above what the
/// protocol writes (secret keys are 43 characters, a DPoP `jkt:jti` at most some 1 070 bytes) and
/// below PostgreSQL's B-tree entry limit (about 2 700 bytes), so an oversized key is refused
/// as [`StoreError::Invalid`] instead of failing deep in the database.
pub const MAX_KEY_BYTES: usize = 2048;

/// Largest opaque record (session value, pre-authorized grant, deferred issuance) a store
/// accepts, in bytes.
pub const MAX_RECORD_BYTES: usize = 256 * 1024;

/// Refuses a key (or other indexed text) longer than [`MAX_KEY_BYTES`].
pub(crate) fn check_key(what: &'static str, key: &str) -> Result<(), StoreError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::Invalid(format!(
            "a {what} longer than {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Refuses an opaque record larger than [`MAX_RECORD_BYTES`].
pub(crate) fn check_record(what: &'static str, record: &[u8]) -> Result<(), StoreError> {
    if record.len() > MAX_RECORD_BYTES {
        return Err(StoreError::Invalid(format!(
            "a {what} larger than {MAX_RECORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Random draws for a free index before the allocator lists the used ones and picks among the
/// rest (only a list filled close to `max_fill_percent` = 100 gets there).
pub(crate) const RANDOM_PROBES: u32 = 16;

/// The columns of a credential row, in the order [`issuer_store!`]'s row reader expects.
pub(crate) const CREDENTIAL_COLUMNS: &str =
    "id, subject_key, format, configuration_id, list, idx, state, issued_at, expires_at";

/// The columns of a deferred row.
pub(crate) const DEFERRED_COLUMNS: &str =
    "id, transaction_key, state, reason, record, created_at, expires_at";

/// Refuses a policy the contract does not allow (the same rules as the memory store).
pub(crate) fn check_policy(count: u32, policy: &AllocationPolicy) -> Result<(), StoreError> {
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
    if count > MAX_STATUS_BATCH {
        return Err(StoreError::Invalid(format!(
            "at most {MAX_STATUS_BATCH} status places per allocation"
        )));
    }
    Ok(())
}

/// Whether a list with `given` of `size` places given out is still open under `fill` percent.
pub(crate) fn is_open(given: u32, size: u32, fill: u8) -> bool {
    u64::from(given) * 100 < u64::from(size) * u64::from(fill)
}

/// A uniformly random number below `bound` (> 0), by rejection sampling (no modulo bias).
pub(crate) fn random_below(bound: u32) -> Result<u32, StoreError> {
    if bound == 0 {
        return Err(StoreError::Invalid("random_below(0)".into()));
    }
    let zone = u32::MAX - (u32::MAX % bound);
    let random = SystemRandom::new();
    loop {
        let mut bytes = [0u8; 4];
        random
            .fill(&mut bytes)
            .map_err(|_| StoreError::Unavailable("system random generator failed".into()))?;
        let value = u32::from_le_bytes(bytes);
        if value < zone {
            return Ok(value % bound);
        }
    }
}

/// The `k`-th (from 0) number of `0..` that is not in `used` (ascending, distinct).
pub(crate) fn kth_free(used: &[u32], k: u32) -> u32 {
    let mut candidate = k;
    for &taken in used {
        if taken <= candidate {
            candidate += 1;
        } else {
            break;
        }
    }
    candidate
}

/// Whether the presented `tx_code` key is the expected one, in time independent of the keys'
/// content (the keys are derived from secrets).
pub(crate) fn tx_code_matches(expected: Option<&str>, presented: Option<&str>) -> bool {
    match (expected, presented) {
        (None, None) => true,
        (Some(expected), Some(presented)) => aws_lc_rs::constant_time::verify_slices_are_equal(
            expected.as_bytes(),
            presented.as_bytes(),
        )
        .is_ok(),
        _ => false,
    }
}

/// Implements every `eudi-oid4vci` store trait for `$store` (see the module doc).
macro_rules! issuer_store {
    ($store:ident, $row:ty, for_update = $lock:literal) => {
        /// The store traits on this backend (a module of its own, so the imports the
        /// implementations need stay out of the backend's module).
        mod traits {
            use eudi_oid4vci::store::AllocationPolicy;
            use eudi_oid4vci::store::CredentialRecord;
            use eudi_oid4vci::store::CredentialState;
            use eudi_oid4vci::store::CredentialStore;
            use eudi_oid4vci::store::DeferredPoll;
            use eudi_oid4vci::store::DeferredRecord;
            use eudi_oid4vci::store::DeferredState;
            use eudi_oid4vci::store::DeferredStore;
            use eudi_oid4vci::store::IssuerStore;
            use eudi_oid4vci::store::NewPreAuthorizedCode;
            use eudi_oid4vci::store::NonceKind;
            use eudi_oid4vci::store::NonceStore;
            use eudi_oid4vci::store::PreAuthorizedCodeStore;
            use eudi_oid4vci::store::Redemption;
            use eudi_oid4vci::store::ReplayScope;
            use eudi_oid4vci::store::SessionKind;
            use eudi_oid4vci::store::SessionStore;
            use eudi_oid4vci::store::StatusListSnapshot;
            use eudi_oid4vci::store::StatusListStore;
            use eudi_oid4vci::store::StatusSlot;
            use eudi_oid4vci::store::StoreError;
            use eudi_oid4vci::store::StoreFuture;
            use sqlx::Row as _;

            use super::$store;
            use crate::backend::CREDENTIAL_COLUMNS;
            use crate::backend::DEFERRED_COLUMNS;
            use crate::backend::RANDOM_PROBES;
            use crate::error::db;
            use crate::error::to_u8;
            use crate::error::to_u32;

            fn credential_from_row(row: &$row) -> Result<CredentialRecord, StoreError> {
                let what = "credential record";
                let state: String = row.try_get(6).map_err(db(what))?;
                Ok(CredentialRecord {
                    id: row.try_get(0).map_err(db(what))?,
                    subject_key: row.try_get(1).map_err(db(what))?,
                    format: row.try_get(2).map_err(db(what))?,
                    configuration_id: row.try_get(3).map_err(db(what))?,
                    status: StatusSlot {
                        list: to_u32(row.try_get(4).map_err(db(what))?, "status list")?,
                        index: to_u32(row.try_get(5).map_err(db(what))?, "status index")?,
                    },
                    state: CredentialState::parse(&state)
                        .ok_or_else(|| StoreError::Corrupt(format!("credential state {state:?}")))?,
                    issued_at: row.try_get(7).map_err(db(what))?,
                    expires_at: row.try_get(8).map_err(db(what))?,
                })
            }

            fn deferred_from_row(row: &$row) -> Result<DeferredRecord, StoreError> {
                let what = "deferred issuance";
                let state: String = row.try_get(2).map_err(db(what))?;
                Ok(DeferredRecord {
                    id: row.try_get(0).map_err(db(what))?,
                    transaction_key: row.try_get(1).map_err(db(what))?,
                    state: DeferredState::parse(&state)
                        .ok_or_else(|| StoreError::Corrupt(format!("deferred state {state:?}")))?,
                    reason: row.try_get(3).map_err(db(what))?,
                    record: row.try_get(4).map_err(db(what))?,
                    created_at: row.try_get(5).map_err(db(what))?,
                    expires_at: row.try_get(6).map_err(db(what))?,
                })
            }

            impl SessionStore for $store {
                fn put<'a>(
                    &'a self,
                    kind: SessionKind,
                    key: &'a str,
                    value: &'a [u8],
                    expires_at: i64,
                ) -> StoreFuture<'a, ()> {
                    Box::pin(async move {
                        crate::backend::check_key("session key", key)?;
                        crate::backend::check_record("session record", value)?;
                        sqlx::query(
                            "INSERT INTO sessions (kind, key, value, expires_at) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(kind.as_str())
                        .bind(key)
                        .bind(value)
                        .bind(expires_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db("session record"))?;
                        Ok(())
                    })
                }

                fn get<'a>(
                    &'a self,
                    kind: SessionKind,
                    key: &'a str,
                    now: i64,
                ) -> StoreFuture<'a, Option<Vec<u8>>> {
                    Box::pin(async move {
                        let row = sqlx::query(
                            "SELECT value FROM sessions WHERE kind = $1 AND key = $2 AND expires_at > $3",
                        )
                        .bind(kind.as_str())
                        .bind(key)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db("session record"))?;
                        row.map(|row| row.try_get(0))
                            .transpose()
                            .map_err(db("session record"))
                    })
                }

                fn take<'a>(
                    &'a self,
                    kind: SessionKind,
                    key: &'a str,
                    now: i64,
                ) -> StoreFuture<'a, Option<Vec<u8>>> {
                    Box::pin(async move {
                        let row = sqlx::query(
                            "DELETE FROM sessions WHERE kind = $1 AND key = $2 AND expires_at > $3 \
                             RETURNING value",
                        )
                        .bind(kind.as_str())
                        .bind(key)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db("session record"))?;
                        row.map(|row| row.try_get(0))
                            .transpose()
                            .map_err(db("session record"))
                    })
                }

                fn delete<'a>(&'a self, kind: SessionKind, key: &'a str) -> StoreFuture<'a, ()> {
                    Box::pin(async move {
                        sqlx::query("DELETE FROM sessions WHERE kind = $1 AND key = $2")
                            .bind(kind.as_str())
                            .bind(key)
                            .execute(&self.pool)
                            .await
                            .map_err(db("session record"))?;
                        Ok(())
                    })
                }

                fn purge_expired(&self, now: i64) -> StoreFuture<'_, u64> {
                    Box::pin(async move {
                        let mut tx = self.write().await?;
                        let mut purged = 0;
                        // Expired deferred issuances go too: they hold what issuing needs (the PID)
                        // and are never served once expired.
                        for table in [
                            "sessions",
                            "nonces",
                            "replay_guard",
                            "pre_authorized_codes",
                            "deferred",
                        ] {
                            purged += sqlx::query(&format!(
                                "DELETE FROM {table} WHERE expires_at <= $1"
                            ))
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .map_err(db("expired record"))?
                            .rows_affected();
                        }
                        // The MitID test provider's records, once past its grace period (until then an
                        // expired code is still named as expired, not unknown).
                        purged += sqlx::query("DELETE FROM provider_records WHERE expires_at <= $1")
                            .bind(now.saturating_sub(crate::provider::PROVIDER_GRACE_SECONDS))
                            .execute(&mut *tx)
                            .await
                            .map_err(db("expired record"))?
                            .rows_affected();
                        tx.commit().await.map_err(db("expired record"))?;
                        Ok(purged)
                    })
                }
            }

            impl NonceStore for $store {
                fn issue_nonce<'a>(
                    &'a self,
                    kind: NonceKind,
                    nonce: &'a str,
                    expires_at: i64,
                ) -> StoreFuture<'a, ()> {
                    Box::pin(async move {
                        crate::backend::check_key("nonce", nonce)?;
                        sqlx::query("INSERT INTO nonces (kind, nonce, expires_at) VALUES ($1, $2, $3)")
                            .bind(kind.as_str())
                            .bind(nonce)
                            .bind(expires_at)
                            .execute(&self.pool)
                            .await
                            .map_err(db("nonce"))?;
                        Ok(())
                    })
                }

                fn consume_nonce<'a>(
                    &'a self,
                    kind: NonceKind,
                    nonce: &'a str,
                    now: i64,
                ) -> StoreFuture<'a, bool> {
                    Box::pin(async move {
                        let deleted = sqlx::query(
                            "DELETE FROM nonces WHERE kind = $1 AND nonce = $2 AND expires_at > $3",
                        )
                        .bind(kind.as_str())
                        .bind(nonce)
                        .bind(now)
                        .execute(&self.pool)
                        .await
                        .map_err(db("nonce"))?
                        .rows_affected();
                        Ok(deleted == 1)
                    })
                }

                fn nonce_is_live<'a>(
                    &'a self,
                    kind: NonceKind,
                    nonce: &'a str,
                    now: i64,
                ) -> StoreFuture<'a, bool> {
                    Box::pin(async move {
                        let row = sqlx::query(
                            "SELECT 1 FROM nonces WHERE kind = $1 AND nonce = $2 AND expires_at > $3",
                        )
                        .bind(kind.as_str())
                        .bind(nonce)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db("nonce"))?;
                        Ok(row.is_some())
                    })
                }

                fn first_use<'a>(
                    &'a self,
                    scope: ReplayScope,
                    id: &'a str,
                    expires_at: i64,
                    now: i64,
                ) -> StoreFuture<'a, bool> {
                    Box::pin(async move {
                        crate::backend::check_key("replay guard id", id)?;
                        // Inserts the id, or takes over an expired entry; a live entry makes the
                        // upsert change nothing, which is how a replay shows.
                        let changed = sqlx::query(
                            "INSERT INTO replay_guard (scope, id, expires_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (scope, id) DO UPDATE SET expires_at = excluded.expires_at \
                             WHERE replay_guard.expires_at <= $4",
                        )
                        .bind(scope.as_str())
                        .bind(id)
                        .bind(expires_at)
                        .bind(now)
                        .execute(&self.pool)
                        .await
                        .map_err(db("replay guard entry"))?
                        .rows_affected();
                        Ok(changed == 1)
                    })
                }
            }

            impl PreAuthorizedCodeStore for $store {
                fn create_pre_authorized_code<'a>(
                    &'a self,
                    code: &'a NewPreAuthorizedCode,
                ) -> StoreFuture<'a, ()> {
                    Box::pin(async move {
                        if code.attempts == 0 {
                            return Err(StoreError::Invalid(
                                "a pre-authorized code needs at least one attempt".into(),
                            ));
                        }
                        crate::backend::check_key("pre-authorized code key", &code.code_key)?;
                        if let Some(tx_code_key) = &code.tx_code_key {
                            crate::backend::check_key("tx_code key", tx_code_key)?;
                        }
                        crate::backend::check_record("pre-authorized code", &code.record)?;
                        sqlx::query(
                            "INSERT INTO pre_authorized_codes \
                             (code_key, tx_code_key, attempts_left, record, expires_at) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(code.code_key.as_str())
                        .bind(code.tx_code_key.as_deref())
                        .bind(i64::from(code.attempts))
                        .bind(code.record.as_slice())
                        .bind(code.expires_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db("pre-authorized code"))?;
                        Ok(())
                    })
                }

                fn redeem_pre_authorized_code<'a>(
                    &'a self,
                    code_key: &'a str,
                    tx_code_key: Option<&'a str>,
                    now: i64,
                ) -> StoreFuture<'a, Redemption> {
                    Box::pin(async move {
                        let what = "pre-authorized code";
                        let mut tx = self.write().await?;
                        let row = sqlx::query(concat!(
                            "SELECT tx_code_key, attempts_left, record FROM pre_authorized_codes \
                             WHERE code_key = $1 AND expires_at > $2",
                            $lock
                        ))
                        .bind(code_key)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db(what))?;
                        let Some(row) = row else {
                            tx.rollback().await.map_err(db(what))?;
                            return Ok(Redemption::Unknown);
                        };
                        let expected: Option<String> = row.try_get(0).map_err(db(what))?;
                        let attempts_left = to_u32(row.try_get(1).map_err(db(what))?, "attempt count")?;
                        let record: Vec<u8> = row.try_get(2).map_err(db(what))?;
                        let right = crate::backend::tx_code_matches(expected.as_deref(), tx_code_key);
                        // Right, or wrong for the last allowed time: the code goes. Otherwise the
                        // attempt is counted. Each statement is also guarded by the row itself (the
                        // lock already excludes a racing change; the row count proves it).
                        let (statement, answer) = if right {
                            (
                                "DELETE FROM pre_authorized_codes WHERE code_key = $1",
                                Redemption::Redeemed(record),
                            )
                        } else if attempts_left <= 1 {
                            (
                                "DELETE FROM pre_authorized_codes WHERE code_key = $1",
                                Redemption::LockedOut,
                            )
                        } else {
                            (
                                "UPDATE pre_authorized_codes SET attempts_left = attempts_left - 1 \
                                 WHERE code_key = $1 AND attempts_left > 1",
                                Redemption::WrongTxCode {
                                    attempts_left: attempts_left - 1,
                                },
                            )
                        };
                        let changed = sqlx::query(statement)
                            .bind(code_key)
                            .execute(&mut *tx)
                            .await
                            .map_err(db(what))?
                            .rows_affected();
                        if changed != 1 {
                            tx.rollback().await.map_err(db(what))?;
                            return Ok(Redemption::Unknown);
                        }
                        tx.commit().await.map_err(db(what))?;
                        Ok(answer)
                    })
                }
            }

            impl StatusListStore for $store {
                fn allocate_status<'a>(
                    &'a self,
                    count: u32,
                    policy: &'a AllocationPolicy,
                ) -> StoreFuture<'a, Vec<StatusSlot>> {
                    Box::pin(async move {
                        let what = "status list";
                        crate::backend::check_policy(count, policy)?;
                        if count == 0 {
                            return Ok(Vec::new());
                        }
                        let mut tx = self.write().await?;
                        // Serialises allocations across every instance on this database.
                        sqlx::query(concat!(
                            "SELECT id FROM status_allocator WHERE id = 1",
                            $lock
                        ))
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db(what))?;
                        let fill = policy.max_fill_percent;
                        let mut slots = Vec::with_capacity(count as usize);
                        // The list being filled: (list, size, given), and how many of its places
                        // this call gave that `status_lists.given` does not count yet (one UPDATE
                        // per list, not one per place).
                        let mut current: Option<(u32, u32, u32)> = None;
                        let mut uncounted: u32 = 0;
                        while slots.len() < count as usize {
                            let (list, size, given) = match current {
                                Some((list, size, given))
                                    if crate::backend::is_open(given, size, fill) =>
                                {
                                    (list, size, given)
                                }
                                _ => {
                                    // The query below reads `given`: count the full list first.
                                    if let Some((full, _, _)) = current {
                                        self.count_given(&mut tx, full, uncounted).await?;
                                        uncounted = 0;
                                    }
                                    let open = sqlx::query(
                                        "SELECT list, size, given FROM status_lists \
                                         WHERE given * 100 < size * $1 ORDER BY list LIMIT 1",
                                    )
                                    .bind(i64::from(fill))
                                    .fetch_optional(&mut *tx)
                                    .await
                                    .map_err(db(what))?;
                                    match open {
                                        Some(row) => (
                                            to_u32(row.try_get(0).map_err(db(what))?, "status list")?,
                                            to_u32(row.try_get(1).map_err(db(what))?, "list size")?,
                                            to_u32(row.try_get(2).map_err(db(what))?, "given count")?,
                                        ),
                                        None => {
                                            let row = sqlx::query(
                                                "INSERT INTO status_lists (list, size) \
                                                 SELECT COALESCE(MAX(list), 0) + 1, $1 FROM status_lists \
                                                 RETURNING list",
                                            )
                                            .bind(i64::from(policy.list_size))
                                            .fetch_one(&mut *tx)
                                            .await
                                            .map_err(db(what))?;
                                            let list = to_u32(row.try_get(0).map_err(db(what))?, "status list")?;
                                            (list, policy.list_size, 0)
                                        }
                                    }
                                }
                            };
                            let index = self.place_index(&mut tx, list, size).await?;
                            current = Some((list, size, given + 1));
                            uncounted += 1;
                            slots.push(StatusSlot { list, index });
                        }
                        if let Some((list, _, _)) = current {
                            self.count_given(&mut tx, list, uncounted).await?;
                        }
                        tx.commit().await.map_err(db(what))?;
                        Ok(slots)
                    })
                }

                fn status_lists(&self) -> StoreFuture<'_, Vec<u32>> {
                    Box::pin(async move {
                        let rows = sqlx::query("SELECT list FROM status_lists ORDER BY list")
                            .fetch_all(&self.pool)
                            .await
                            .map_err(db("status list"))?;
                        rows.iter()
                            .map(|row| {
                                to_u32(row.try_get(0).map_err(db("status list"))?, "status list")
                            })
                            .collect()
                    })
                }

                fn status_list(&self, list: u32) -> StoreFuture<'_, Option<StatusListSnapshot>> {
                    Box::pin(async move {
                        let what = "status list";
                        // One statement, so size, version and entries are of one snapshot.
                        let rows = sqlx::query(
                            "SELECT l.size, l.version, s.idx, s.value FROM status_lists l \
                             LEFT JOIN status_slots s ON s.list = l.list AND s.value <> 0 \
                             WHERE l.list = $1 ORDER BY s.idx",
                        )
                        .bind(i64::from(list))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db(what))?;
                        let Some(first) = rows.first() else {
                            return Ok(None);
                        };
                        let size = to_u32(first.try_get(0).map_err(db(what))?, "list size")?;
                        let version: i64 = first.try_get(1).map_err(db(what))?;
                        let version = u64::try_from(version)
                            .map_err(|_| StoreError::Corrupt(format!("list version {version}")))?;
                        let mut entries = Vec::new();
                        for row in &rows {
                            let index: Option<i64> = row.try_get(2).map_err(db(what))?;
                            let value: Option<i64> = row.try_get(3).map_err(db(what))?;
                            if let (Some(index), Some(value)) = (index, value) {
                                entries.push((to_u32(index, "status index")?, to_u8(value, "status value")?));
                            }
                        }
                        Ok(Some(StatusListSnapshot {
                            list,
                            size,
                            version,
                            entries,
                        }))
                    })
                }
            }

            impl CredentialStore for $store {
                fn insert_credentials<'a>(
                    &'a self,
                    records: &'a [CredentialRecord],
                ) -> StoreFuture<'a, ()> {
                    Box::pin(async move {
                        let what = "credential record";
                        if records.is_empty() {
                            return Ok(());
                        }
                        let mut tx = self.write().await?;
                        let mut lists: Vec<u32> = Vec::new();
                        for record in records {
                            for text in [
                                &record.id,
                                &record.subject_key,
                                &record.format,
                                &record.configuration_id,
                            ] {
                                crate::backend::check_key("credential record field", text)?;
                            }
                            let list = i64::from(record.status.list);
                            let index = i64::from(record.status.index);
                            // Writes the entry's state and shows, in one statement, that the
                            // place was allocated (no row: it never was; the transaction is
                            // dropped, so nothing of the batch is kept).
                            let allocated = sqlx::query(
                                "UPDATE status_slots SET value = $3 WHERE list = $1 AND idx = $2",
                            )
                            .bind(list)
                            .bind(index)
                            .bind(i64::from(record.state.status_value()))
                            .execute(&mut *tx)
                            .await
                            .map_err(db(what))?
                            .rows_affected();
                            if allocated == 0 {
                                return Err(StoreError::Invalid(format!(
                                    "status list {} index {} was never allocated",
                                    record.status.list, record.status.index
                                )));
                            }
                            if !lists.contains(&record.status.list) {
                                lists.push(record.status.list);
                            }
                            sqlx::query(
                                "INSERT INTO credentials (id, subject_key, format, configuration_id, \
                                 list, idx, state, issued_at, expires_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            )
                            .bind(record.id.as_str())
                            .bind(record.subject_key.as_str())
                            .bind(record.format.as_str())
                            .bind(record.configuration_id.as_str())
                            .bind(list)
                            .bind(index)
                            .bind(record.state.as_str())
                            .bind(record.issued_at)
                            .bind(record.expires_at)
                            .execute(&mut *tx)
                            .await
                            .map_err(db(what))?;
                        }
                        // Each list's version moves once per batch (the publisher re-signs on it).
                        for list in lists {
                            sqlx::query("UPDATE status_lists SET version = version + 1 WHERE list = $1")
                                .bind(i64::from(list))
                                .execute(&mut *tx)
                                .await
                                .map_err(db(what))?;
                        }
                        tx.commit().await.map_err(db(what))?;
                        Ok(())
                    })
                }

                fn credential<'a>(
                    &'a self,
                    id: &'a str,
                ) -> StoreFuture<'a, Option<CredentialRecord>> {
                    Box::pin(async move {
                        let row = sqlx::query(&format!(
                            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1"
                        ))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db("credential record"))?;
                        row.as_ref().map(credential_from_row).transpose()
                    })
                }

                fn credentials_of<'a>(
                    &'a self,
                    subject_key: &'a str,
                ) -> StoreFuture<'a, Vec<CredentialRecord>> {
                    Box::pin(async move {
                        let rows = sqlx::query(&format!(
                            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE subject_key = $1 \
                             ORDER BY issued_at, seq"
                        ))
                        .bind(subject_key)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db("credential record"))?;
                        rows.iter().map(credential_from_row).collect()
                    })
                }

                fn set_credential_state<'a>(
                    &'a self,
                    id: &'a str,
                    state: CredentialState,
                ) -> StoreFuture<'a, Option<CredentialRecord>> {
                    Box::pin(async move {
                        let what = "credential record";
                        let mut tx = self.write().await?;
                        let row = sqlx::query(&format!(
                            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1{}",
                            $lock
                        ))
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db(what))?;
                        let Some(row) = row else {
                            tx.rollback().await.map_err(db(what))?;
                            return Ok(None);
                        };
                        let mut record = credential_from_row(&row)?;
                        if record.state == CredentialState::Revoked && state != CredentialState::Revoked {
                            tx.rollback().await.map_err(db(what))?;
                            return Err(StoreError::Invalid(
                                "a revoked credential cannot change state".into(),
                            ));
                        }
                        sqlx::query("UPDATE credentials SET state = $2 WHERE id = $1")
                            .bind(id)
                            .bind(state.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(db(what))?;
                        self.set_status_value(&mut tx, record.status, state).await?;
                        tx.commit().await.map_err(db(what))?;
                        record.state = state;
                        Ok(Some(record))
                    })
                }
            }

            impl DeferredStore for $store {
                fn create_deferred<'a>(&'a self, record: &'a DeferredRecord) -> StoreFuture<'a, ()> {
                    Box::pin(async move {
                        crate::backend::check_key("deferred issuance id", &record.id)?;
                        crate::backend::check_key("transaction key", &record.transaction_key)?;
                        crate::backend::check_key("deferral reason", &record.reason)?;
                        crate::backend::check_record("deferred issuance", &record.record)?;
                        sqlx::query(
                            "INSERT INTO deferred (id, transaction_key, state, reason, record, \
                             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(record.id.as_str())
                        .bind(record.transaction_key.as_str())
                        // Whatever the caller wrote, a new deferred issuance starts pending.
                        .bind(DeferredState::Pending.as_str())
                        .bind(record.reason.as_str())
                        .bind(record.record.as_slice())
                        .bind(record.created_at)
                        .bind(record.expires_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db("deferred issuance"))?;
                        Ok(())
                    })
                }

                fn deferred<'a>(
                    &'a self,
                    state: Option<DeferredState>,
                    now: i64,
                ) -> StoreFuture<'a, Vec<DeferredRecord>> {
                    Box::pin(async move {
                        let rows = sqlx::query(&format!(
                            "SELECT {DEFERRED_COLUMNS} FROM deferred \
                             WHERE expires_at > $1 AND ($2 IS NULL OR state = $2) \
                             ORDER BY created_at, seq"
                        ))
                        .bind(now)
                        .bind(state.map(DeferredState::as_str))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db("deferred issuance"))?;
                        rows.iter().map(deferred_from_row).collect()
                    })
                }

                fn decide_deferred<'a>(
                    &'a self,
                    id: &'a str,
                    approve: bool,
                    now: i64,
                ) -> StoreFuture<'a, Option<DeferredRecord>> {
                    Box::pin(async move {
                        let decided = if approve {
                            DeferredState::Approved
                        } else {
                            DeferredState::Rejected
                        };
                        // Guarded by the current state: only a pending record is decided, once.
                        let row = sqlx::query(&format!(
                            "UPDATE deferred SET state = $2 \
                             WHERE id = $1 AND state = 'pending' AND expires_at > $3 \
                             RETURNING {DEFERRED_COLUMNS}"
                        ))
                        .bind(id)
                        .bind(decided.as_str())
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db("deferred issuance"))?;
                        row.as_ref().map(deferred_from_row).transpose()
                    })
                }

                fn poll_deferred<'a>(
                    &'a self,
                    transaction_key: &'a str,
                    now: i64,
                ) -> StoreFuture<'a, DeferredPoll> {
                    Box::pin(async move {
                        let what = "deferred issuance";
                        // Approved → issued for exactly one poller.
                        let handed = sqlx::query(&format!(
                            "UPDATE deferred SET state = 'issued' \
                             WHERE transaction_key = $1 AND state = 'approved' AND expires_at > $2 \
                             RETURNING {DEFERRED_COLUMNS}"
                        ))
                        .bind(transaction_key)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db(what))?;
                        if let Some(row) = handed {
                            return Ok(DeferredPoll::Ready(deferred_from_row(&row)?));
                        }
                        let row = sqlx::query(
                            "SELECT state FROM deferred WHERE transaction_key = $1 AND expires_at > $2",
                        )
                        .bind(transaction_key)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db(what))?;
                        let Some(row) = row else {
                            return Ok(DeferredPoll::Unknown);
                        };
                        let state: String = row.try_get(0).map_err(db(what))?;
                        Ok(match DeferredState::parse(&state) {
                            Some(DeferredState::Pending) => DeferredPoll::Pending,
                            Some(DeferredState::Rejected) => DeferredPoll::Rejected,
                            // Issued, or approved and handed out to a racing poller just now.
                            Some(DeferredState::Issued | DeferredState::Approved) => {
                                DeferredPoll::Unknown
                            }
                            None => {
                                return Err(StoreError::Corrupt(format!("deferred state {state:?}")));
                            }
                        })
                    })
                }
            }

            impl IssuerStore for $store {
                fn ping(&self) -> StoreFuture<'_, ()> {
                    Box::pin(async move {
                        sqlx::query("SELECT 1")
                            .execute(&self.pool)
                            .await
                            .map_err(db("ping"))?;
                        Ok(())
                    })
                }
            }

            impl $store {
                /// Picks a free index of `list` (of `size` places) at random and records it as given;
                /// runs inside the allocation transaction, which holds the allocator lock.
                async fn place_index(
                    &self,
                    tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
                    list: u32,
                    size: u32,
                ) -> Result<u32, StoreError> {
                    let what = "status place";
                    for _ in 0..RANDOM_PROBES {
                        let candidate = crate::backend::random_below(size)?;
                        let inserted = sqlx::query(
                            "INSERT INTO status_slots (list, idx) VALUES ($1, $2) \
                             ON CONFLICT (list, idx) DO NOTHING",
                        )
                        .bind(i64::from(list))
                        .bind(i64::from(candidate))
                        .execute(&mut **tx)
                        .await
                        .map_err(db(what))?
                        .rows_affected();
                        if inserted == 1 {
                            return Ok(candidate);
                        }
                    }
                    // A dense list: choose uniformly among the free places.
                    let rows = sqlx::query("SELECT idx FROM status_slots WHERE list = $1 ORDER BY idx")
                        .bind(i64::from(list))
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(db(what))?;
                    let used = rows
                        .iter()
                        .map(|row| to_u32(row.try_get(0).map_err(db(what))?, "status index"))
                        .collect::<Result<Vec<u32>, StoreError>>()?;
                    let free = size.checked_sub(u32::try_from(used.len()).unwrap_or(u32::MAX));
                    let Some(free) = free.filter(|free| *free > 0) else {
                        return Err(StoreError::Corrupt(format!(
                            "status list {list} counted open but has no free place"
                        )));
                    };
                    let index = crate::backend::kth_free(&used, crate::backend::random_below(free)?);
                    sqlx::query("INSERT INTO status_slots (list, idx) VALUES ($1, $2)")
                        .bind(i64::from(list))
                        .bind(i64::from(index))
                        .execute(&mut **tx)
                        .await
                        .map_err(db(what))?;
                    Ok(index)
                }

                /// Adds `places` to the count of places given in `list` (the allocation transaction
                /// holds the allocator lock).
                async fn count_given(
                    &self,
                    tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
                    list: u32,
                    places: u32,
                ) -> Result<(), StoreError> {
                    sqlx::query("UPDATE status_lists SET given = given + $2 WHERE list = $1")
                        .bind(i64::from(list))
                        .bind(i64::from(places))
                        .execute(&mut **tx)
                        .await
                        .map_err(db("status list"))?;
                    Ok(())
                }

                /// Writes a credential's state into its status list entry and moves the list's version.
                async fn set_status_value(
                    &self,
                    tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
                    slot: StatusSlot,
                    state: CredentialState,
                ) -> Result<(), StoreError> {
                    let what = "status list";
                    sqlx::query("UPDATE status_slots SET value = $3 WHERE list = $1 AND idx = $2")
                        .bind(i64::from(slot.list))
                        .bind(i64::from(slot.index))
                        .bind(i64::from(state.status_value()))
                        .execute(&mut **tx)
                        .await
                        .map_err(db(what))?;
                    sqlx::query("UPDATE status_lists SET version = version + 1 WHERE list = $1")
                        .bind(i64::from(slot.list))
                        .execute(&mut **tx)
                        .await
                        .map_err(db(what))?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use issuer_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kth_free_skips_used_places() {
        assert_eq!(kth_free(&[], 3), 3);
        assert_eq!(kth_free(&[0, 1, 2], 0), 3);
        assert_eq!(kth_free(&[1, 3], 0), 0);
        assert_eq!(kth_free(&[1, 3], 1), 2);
        assert_eq!(kth_free(&[1, 3], 2), 4);
    }

    #[test]
    fn random_below_stays_below() {
        for bound in [1, 2, 7, 8, 100_000] {
            for _ in 0..100 {
                assert!(random_below(bound).unwrap() < bound);
            }
        }
        assert!(random_below(0).is_err());
    }

    #[test]
    fn tx_codes_compare() {
        assert!(tx_code_matches(None, None));
        assert!(tx_code_matches(Some("a"), Some("a")));
        assert!(!tx_code_matches(Some("a"), Some("b")));
        assert!(!tx_code_matches(Some("a"), None));
        assert!(!tx_code_matches(None, Some("a")));
    }

    #[test]
    fn policies_are_checked() {
        let ok = AllocationPolicy {
            list_size: 16,
            max_fill_percent: 50,
        };
        assert!(check_policy(1, &ok).is_ok());
        assert!(check_policy(MAX_STATUS_BATCH + 1, &ok).is_err());
        for (list_size, max_fill_percent) in [(0, 50), (12, 50), (16, 0), (16, 101)] {
            let policy = AllocationPolicy {
                list_size,
                max_fill_percent,
            };
            assert!(check_policy(1, &policy).is_err());
        }
    }
}
