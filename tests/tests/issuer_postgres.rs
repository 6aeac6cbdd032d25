//! Two `eudi-issuer serve` processes on one PostgreSQL database, sharing one keys directory and
//! one public URL, as DESIGN.md's `serve` contract promises for scale-out: "instances with one
//! PostgreSQL database (and the same keys) share all of it, and any of them serves any step of
//! any flow" (issue 9, "Tests that must pass in CI").
//!
//! * An offer made with `eudi-issuer offer` on instance A's data dir is redeemed at instance B
//!   while A is down; the same pre-authorized code is then refused by A (single use across
//!   instances).
//! * 200 issuances running concurrently, every other HTTP request going to the other instance,
//!   never give two credentials the same status list entry: neither in the credentials received
//!   (`status.status_list` of each SD-JWT VC) nor in `credentials --json`.
//!
//! Every run works in a fresh PostgreSQL schema (through the connection's `search_path`) that
//! it drops at the end, so runs never collide.

use std::collections::BTreeSet;
use std::error::Error;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::time::SystemTime;
use std::time::UNIX_EPOCH;

use eudi_http::HttpClient;
use eudi_http::HttpConfig;
use eudi_http::HttpFuture;
use eudi_http::Request;
use eudi_http::ReqwestClient;
use eudi_http::UrlPolicy;
use eudi_oid4vci::client::ClientConfig;
use eudi_oid4vci::client::CredentialOutcome;
use eudi_oid4vci::client::DpopKey;
use eudi_oid4vci::client::EncryptResponse;
use eudi_oid4vci::client::IssuerClient;
use eudi_oid4vci::client::resolve_offer;
use eudi_tests::process::Service;
use eudi_tests::process::TempDir;
use eudi_tests::process::binary;
use eudi_trust::Algorithm;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::b64;
use serde_json::Value;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use tokio::task::JoinSet;

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

const ISSUER: &str = "eudi-issuer";
/// The PostgreSQL server of this machine and of CI (trust auth).
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The URL wallets see for both instances. Nothing listens there: [`Alternating`] rewrites it
/// to an instance, so a request that escaped the rewriting fails loudly.
const PUBLIC_URL: &str = "http://127.0.0.1:9";
/// Offers redeemed concurrently in the scale-out part.
const WALLETS: usize = 40;
/// Credentials per wallet (one credential request with this many proofs).
const PER_WALLET: usize = 5;
/// Issuances in all (the issue's 200).
const ISSUANCES: usize = WALLETS * PER_WALLET;
/// The test identity every offer is for.
const IDENTITY: &str = "substantial";
const SD_JWT_FORMAT: &str = "dc+sd-jwt";
const PID_VCT: &str = "urn:eudi:pid:1";

/// An `eudi_http` client for a load-balanced issuer: each request to [`PUBLIC_URL`] goes to the
/// next backend in turn (every other request to the other instance), and is counted.
#[derive(Debug)]
struct Alternating {
    inner: ReqwestClient,
    backends: Vec<String>,
    next: AtomicUsize,
    served: Vec<AtomicUsize>,
}

impl Alternating {
    fn new(backends: &[&str]) -> Result<Self> {
        let inner = ReqwestClient::new(
            HttpConfig::default().with_policy(UrlPolicy::allow_private_network()),
        )?;
        Ok(Self {
            inner,
            backends: backends.iter().map(|b| (*b).to_owned()).collect(),
            next: AtomicUsize::new(0),
            served: backends.iter().map(|_| AtomicUsize::new(0)).collect(),
        })
    }

    fn served(&self, backend: usize) -> usize {
        self.served
            .get(backend)
            .map_or(0, |n| n.load(Ordering::SeqCst))
    }
}

impl HttpClient for Alternating {
    fn send(&self, mut request: Request) -> HttpFuture<'_> {
        if let Some(rest) = request.url.strip_prefix(PUBLIC_URL) {
            let turn = self.next.fetch_add(1, Ordering::SeqCst) % self.backends.len();
            if let (Some(backend), Some(count)) = (self.backends.get(turn), self.served.get(turn)) {
                count.fetch_add(1, Ordering::SeqCst);
                request.url = format!("{backend}{rest}");
            }
        }
        self.inner.send(request)
    }
}

/// A fresh schema in the test database, dropped (with everything in it) when this goes away.
struct Schema {
    name: String,
}

impl Schema {
    fn create() -> Result<Self> {
        let suffix = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let name = format!("issuer_it_{}_{suffix}", std::process::id());
        execute(format!("CREATE SCHEMA {name}"))?;
        Ok(Self { name })
    }

    /// The database URL whose connections work in this schema only.
    fn database_url(&self) -> String {
        format!("{POSTGRES}?options=-csearch_path%3D{}", self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = execute(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// Runs one SQL statement on the test database, on a thread and runtime of its own so that
/// [`Schema`]'s `Drop` can use it inside the test's runtime too.
fn execute(sql: String) -> Result<()> {
    std::thread::spawn(move || -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let mut connection = PgConnection::connect(POSTGRES).await?;
            sqlx::query(&sql).execute(&mut connection).await?;
            connection.close().await?;
            Ok(())
        })
    })
    .join()
    .map_err(|_| "the SQL thread panicked")?
}

/// One issuer instance: its own data dir, the shared keys dir and database.
struct Instance {
    data: TempDir,
    service: Service,
}

fn environment<'a>(keys: &'a TempDir, database_url: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("EUDI_ISSUER_KEYS_DIR", keys.as_str()),
        ("EUDI_ISSUER_DATABASE_URL", database_url),
        ("EUDI_ISSUER_PUBLIC_URL", PUBLIC_URL),
    ]
}

fn serve(data: &TempDir, keys: &TempDir, database_url: &str) -> Result<Service> {
    Ok(Service::start(
        ISSUER,
        &[
            "serve",
            "--data-dir",
            data.as_str(),
            "--listen",
            "127.0.0.1:0",
        ],
        &environment(keys, database_url),
    )?)
}

fn start(prefix: &str, keys: &TempDir, database_url: &str) -> Result<Instance> {
    let data = TempDir::new(prefix)?;
    let service = serve(&data, keys, database_url)?;
    Ok(Instance { data, service })
}

/// Runs a one-shot subcommand on `data`'s data dir with the shared keys and database.
fn issuer_command(
    data: &TempDir,
    keys: &TempDir,
    database_url: &str,
    args: &[&str],
) -> Result<std::process::Output> {
    let out = Command::new(binary(ISSUER)?)
        .args(args)
        .args(["--data-dir", data.as_str()])
        .envs(environment(keys, database_url))
        .output()?;
    Ok(out)
}

/// `offer --identity IDENTITY --json`: the offer link and its transaction code.
fn make_offer(data: &TempDir, keys: &TempDir, database_url: &str) -> Result<(String, String)> {
    let out = issuer_command(
        data,
        keys,
        database_url,
        &["offer", "--identity", IDENTITY, "--json"],
    )?;
    if !out.status.success() {
        return Err(format!("offer failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let offer: Value = serde_json::from_slice(&out.stdout)?;
    let link = offer["offer"].as_str().ok_or("offer without a link")?;
    let code = offer["tx_code"].as_str().ok_or("offer without tx_code")?;
    Ok((link.to_owned(), code.to_owned()))
}

fn client_config() -> ClientConfig {
    ClientConfig::default().with_policy(UrlPolicy::allow_private_network())
}

/// Redeems `link` with `tx_code` through `http` and asks for `count` SD-JWT VCs; answers them.
async fn redeem(
    http: Arc<dyn HttpClient>,
    link: &str,
    tx_code: &str,
    count: usize,
) -> Result<Vec<String>> {
    let config = client_config();
    let offer = resolve_offer(http.as_ref(), link, &config).await?;
    assert_eq!(offer.credential_issuer, PUBLIC_URL);
    let client = IssuerClient::for_offer(http, &offer, config).await?;
    let (configuration, _) = client
        .find_configuration(SD_JWT_FORMAT, PID_VCT)
        .ok_or("no SD-JWT VC PID configuration")?;
    let configuration = configuration.to_owned();
    let dpop = Arc::new(SoftwareKey::generate(Algorithm::Es256)?);
    let tokens = client
        .pre_authorized(&offer, Some(tx_code), DpopKey::new(dpop))
        .await?;
    let holders = (0..count)
        .map(|_| SoftwareKey::generate(Algorithm::Es256))
        .collect::<Result<Vec<_>, _>>()?;
    let signers = holders.iter().map(|k| k as &dyn Signer).collect::<Vec<_>>();
    let outcome = client
        .request_credentials(
            &tokens,
            &configuration,
            &signers,
            EncryptResponse::IfRequired,
        )
        .await?;
    let CredentialOutcome::Issued { credentials, .. } = outcome else {
        return Err(format!("not issued: {outcome:?}").into());
    };
    credentials
        .iter()
        .map(|c| {
            c.credential
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| "an SD-JWT VC that is not a string".into())
        })
        .collect()
}

/// The `status.status_list` (`uri`, `idx`) of an SD-JWT VC's issuer-signed JWT.
fn status_entry(sd_jwt: &str) -> Result<(String, u64)> {
    let jwt = sd_jwt.split('~').next().ok_or("empty SD-JWT")?;
    let payload = jwt.split('.').nth(1).ok_or("a JWT without payload")?;
    let claims: Value = serde_json::from_slice(&b64::decode(payload)?)?;
    let list = &claims["status"]["status_list"];
    let uri = list["uri"].as_str().ok_or("no status_list.uri")?;
    let idx = list["idx"].as_u64().ok_or("no status_list.idx")?;
    Ok((uri.to_owned(), idx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_one_database_offers_and_status_indexes() -> Result<()> {
    let schema = Schema::create()?;
    let database_url = schema.database_url();
    let keys = TempDir::new("issuer-pg-keys")?;
    // A first: it migrates the schema and generates the shared development PKI.
    let mut a = start("issuer-pg-a", &keys, &database_url)?;
    let b = start("issuer-pg-b", &keys, &database_url)?;
    assert_ne!(a.service.url(), b.service.url());
    // One set of keys: both print the same trust anchors.
    let anchors_a = issuer_command(&a.data, &keys, &database_url, &["trust-anchors"])?;
    let anchors_b = issuer_command(&b.data, &keys, &database_url, &["trust-anchors"])?;
    assert!(anchors_a.status.success());
    assert!(!anchors_a.stdout.is_empty());
    assert_eq!(anchors_a.stdout, anchors_b.stdout);

    // An offer made on A's data dir, redeemed at B while A is down.
    let (link, tx_code) = make_offer(&a.data, &keys, &database_url)?;
    a.service.kill();
    let only_b = Arc::new(Alternating::new(&[b.service.url()])?);
    let first = redeem(only_b.clone(), &link, &tx_code, 1).await?;
    assert_eq!(first.len(), 1);
    assert!(only_b.served(0) > 0);

    // A back up on the same data dir and database: the code B redeemed is dead at A too.
    a.service = serve(&a.data, &keys, &database_url)?;
    let only_a = Arc::new(Alternating::new(&[a.service.url()])?);
    let again = redeem(only_a.clone(), &link, &tx_code, 1).await;
    let error = again
        .err()
        .ok_or("a redeemed pre-authorized code was accepted again")?;
    assert!(error.to_string().contains("invalid_grant"), "{error}");
    assert!(only_a.served(0) > 0);

    // 200 issuances at once across both instances.
    let mut offers = Vec::with_capacity(WALLETS);
    for n in 0..WALLETS {
        // Alternate the data dir the caseworker uses as well.
        let data = if n % 2 == 0 { &a.data } else { &b.data };
        offers.push(make_offer(data, &keys, &database_url)?);
    }
    let both = Arc::new(Alternating::new(&[a.service.url(), b.service.url()])?);
    let mut wallets = JoinSet::new();
    for (link, tx_code) in offers {
        let http: Arc<dyn HttpClient> = both.clone();
        wallets.spawn(async move { redeem(http, &link, &tx_code, PER_WALLET).await });
    }
    let mut received = first.clone();
    while let Some(done) = wallets.join_next().await {
        let credentials = done??;
        assert_eq!(credentials.len(), PER_WALLET);
        received.extend(credentials);
    }
    assert_eq!(received.len(), ISSUANCES + 1);
    assert!(
        both.served(0) > ISSUANCES / 2,
        "A served {}",
        both.served(0)
    );
    assert!(
        both.served(1) > ISSUANCES / 2,
        "B served {}",
        both.served(1)
    );

    // No status list entry given twice, in what the wallets received …
    let mut entries = BTreeSet::new();
    for credential in &received {
        let (uri, idx) = status_entry(credential)?;
        assert!(uri.starts_with(PUBLIC_URL), "{uri}");
        assert!(entries.insert((uri, idx)), "status index {idx} given twice");
    }
    // … nor in the issuer's records, read through either instance's data dir.
    let listed = issuer_command(
        &b.data,
        &keys,
        &database_url,
        &["credentials", "--identity", IDENTITY, "--json"],
    )?;
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: Value = serde_json::from_slice(&listed.stdout)?;
    let records = listed["credentials"]
        .as_array()
        .ok_or("credentials --json without a credentials array")?;
    assert_eq!(records.len(), ISSUANCES + 1);
    let mut indexes = BTreeSet::new();
    for record in records {
        assert_eq!(record["format"], SD_JWT_FORMAT);
        assert_eq!(record["state"], "valid");
        let index = record["status_index"]
            .as_u64()
            .ok_or("a record without status_index")?;
        let list = record["status_list"]
            .as_u64()
            .ok_or("a record without status_list")?;
        let list = format!("{PUBLIC_URL}/status/{list}");
        assert!(
            indexes.insert((list, index)),
            "status index {index} recorded twice"
        );
    }
    // The records are the credentials received: the same list entries, one for one.
    assert_eq!(indexes, entries);
    drop(b);
    drop(a);
    drop(schema);
    Ok(())
}
