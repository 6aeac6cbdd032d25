//! A process killed with SIGKILL loses nothing it answered for (DESIGN.md, "Contracts"): a child
//! process writes to an SQLite file and reports each commit, the parent kills it mid-stream and
//! reopens the file; every reported write is there, and the file migrates and serves as before.

use std::io::BufRead as _;
use std::io::BufReader;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;

use eudi_oid4vci::store::AllocationPolicy;
use eudi_oid4vci::store::CredentialRecord;
use eudi_oid4vci::store::CredentialState;
use eudi_oid4vci::store::NonceKind;
use eudi_oid4vci::store::SessionKind;
use eudi_store::StoreOptions;

const CHILD_DIR: &str = "EUDI_STORE_DURABILITY_DIR";
/// How many writes the parent waits for before it kills the child.
const REPORTED_BEFORE_KILL: usize = 25;

const POLICY: AllocationPolicy = AllocationPolicy {
    list_size: 1024,
    max_fill_percent: 50,
};

/// The child's side: writes forever, reporting each write once it is committed. Run only by
/// [`a_killed_process_loses_nothing_it_answered_for`].
#[tokio::test]
#[ignore = "the child process of a_killed_process_loses_nothing_it_answered_for"]
async fn durability_child_writer() {
    let dir = PathBuf::from(std::env::var_os(CHILD_DIR).expect("run by the durability test"));
    let store = eudi_store::open_sqlite_in(&dir, &StoreOptions::default())
        .await
        .unwrap();
    let issuer = store.issuer();
    for i in 0.. {
        let key = format!("k{i}");
        issuer
            .put(SessionKind::AccessToken, &key, key.as_bytes(), i64::MAX)
            .await
            .unwrap();
        issuer
            .issue_nonce(NonceKind::CNonce, &key, i64::MAX)
            .await
            .unwrap();
        let slot = issuer.allocate_status(1, &POLICY).await.unwrap()[0];
        issuer
            .insert_credentials(&[CredentialRecord {
                id: key.clone(),
                subject_key: "subject".into(),
                format: "dc+sd-jwt".into(),
                configuration_id: "pid".into(),
                status: slot,
                state: CredentialState::Valid,
                issued_at: i,
                expires_at: i64::MAX,
            }])
            .await
            .unwrap();
        println!("committed {i} {} {}", slot.list, slot.index);
        std::io::stdout().flush().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_loses_nothing_it_answered_for() {
    let dir = std::env::temp_dir().join(format!("eudi-store-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "durability_child_writer",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DIR, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reported = tokio::task::spawn_blocking(move || {
        let mut reported = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let Some(rest) = line.strip_prefix("committed ") else {
                continue;
            };
            let fields: Vec<u32> = rest.split(' ').map(|f| f.parse().unwrap()).collect();
            reported.push((fields[0], fields[1], fields[2]));
            if reported.len() == REPORTED_BEFORE_KILL {
                break;
            }
        }
        reported
    });
    let reported = tokio::time::timeout(Duration::from_secs(120), reported)
        .await
        .expect("the child reports its writes")
        .unwrap();
    // SIGKILL: no destructor, no checkpoint, no clean close.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(reported.len(), REPORTED_BEFORE_KILL);

    let store = eudi_store::open_sqlite_in(&dir, &StoreOptions::default())
        .await
        .unwrap();
    let issuer = store.issuer();
    for (i, list, index) in &reported {
        let key = format!("k{i}");
        assert_eq!(
            issuer.get(SessionKind::AccessToken, &key, 0).await.unwrap(),
            Some(key.clone().into_bytes())
        );
        assert!(
            issuer
                .nonce_is_live(NonceKind::CNonce, &key, 0)
                .await
                .unwrap()
        );
        let record = issuer.credential(&key).await.unwrap().unwrap();
        assert_eq!((record.status.list, record.status.index), (*list, *index));
    }
    // Places given before the kill are not given again.
    let more = issuer.allocate_status(50, &POLICY).await.unwrap();
    assert!(more.iter().all(|slot| {
        !reported
            .iter()
            .any(|(_, list, index)| (slot.list, slot.index) == (*list, *index))
    }));
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
