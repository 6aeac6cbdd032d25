//! The credential endpoint (OpenID4VCI 1.0 §8) end to end, against the raw ES256 cost in the
//! same run: `eudi_oid4vci::server::Issuer::handle` with the real [`PidMinter`] and keys from
//! [`IssuerKeys`] (a temporary data dir), batches of [`BATCH`] credentials (one key proof per
//! credential, one fresh `c_nonce` per request, a DPoP-bound access token with a server DPoP
//! nonce), on the memory store, SQLite (`eudi_store`, a temporary file) and PostgreSQL
//! (`EUDI_BENCH_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`, in a schema
//! of its own that is dropped afterwards; skipped when unreachable), and over loopback HTTP (a
//! minimal axum wrapper around `Issuer::handle`, the reqwest client in the same thread).
//!
//! `cargo bench -p eudi-issuer --bench credential`; extra arguments are substring filters on
//! the case names (`-- sqlite`). `ISSUER_BENCH_SECS` sets the measuring time per case (default
//! 1.0 s). Everything runs on one thread (a current-thread tokio runtime), so a rate here is
//! per core.
//!
//! What the wallet does (the nonce request, signing the key proofs and the DPoP proof) happens
//! before the clock starts: requests are prepared in a pool, and only answering them is timed.
//! Each ratio is measured interleaved (see docs/performance.md): rounds of ~10 ms of requests
//! alternate with the same work of raw aws-lc-rs operations, and the median per-round ratio is
//! reported, against two baselines:
//! * **raw sign**: one ES256 signature per credential, what a credential costs at the least;
//! * **unavoidable crypto**: per request, one signature and one key-proof verification per
//!   credential plus one DPoP proof verification; what the request side cannot skip.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmark binary: setup failures abort, results go to stdout"
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED;
use aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
use aws_lc_rs::signature::EcdsaKeyPair;
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::signature::UnparsedPublicKey;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use eudi_bench::Harness;
use eudi_issuer::config::KeysConfig;
use eudi_issuer::minter::MDOC_CONFIGURATION_ID;
use eudi_issuer::minter::MinterSettings;
use eudi_issuer::minter::PidMinter;
use eudi_issuer::minter::SD_JWT_CONFIGURATION_ID;
use eudi_issuer::minter::pid_credential_configurations;
use eudi_issuer::pki::IssuerKeys;
use eudi_issuer::subject::Subject;
use eudi_oauth::dpop;
use eudi_oauth::dpop::DpopRequest;
use eudi_oid4vci::endpoint::HttpRequest;
use eudi_oid4vci::endpoint::HttpResponse;
use eudi_oid4vci::proof::ProofClaims;
use eudi_oid4vci::server::Issuer;
use eudi_oid4vci::server::config::IssuerConfig;
use eudi_oid4vci::server::paths;
use eudi_oid4vci::store::CredentialStore;
use eudi_oid4vci::store::IssuerStore;
use eudi_oid4vci::store::StatusListStore;
use eudi_oid4vci::store::memory::MemoryStore;
use eudi_pid::FileRegister;
use eudi_pid::IssuerPolicy;
use eudi_pid::default_test_identities;
use eudi_store::StoreOptions;
use eudi_trust::Algorithm;
use eudi_trust::Clock;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use serde_json::json;
use tokio::runtime::Runtime;

/// Credentials per request: the issuer's default `batch_size`.
const BATCH: usize = 10;
/// The test identity whose PID is issued (level high, in the register).
const USER: &str = "high";
/// Default measuring time per case, seconds.
const DEFAULT_SECS: f64 = 1.0;
/// Length of one interleaved round of each side.
const ROUND: Duration = Duration::from_millis(10);
/// The raw-sign baseline signs a message of this size (an SD-JWT VC payload is ~2-5 KB, but
/// the SD-JWT path hashes it outside the signature; 1 KiB is a typical signing input).
const SIGN_MESSAGE_LEN: usize = 1024;
/// The raw-verify baseline verifies a message of this size (a key proof's signing input).
const VERIFY_MESSAGE_LEN: usize = 400;
/// Default PostgreSQL URL (this machine and CI).
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fixed clock at the bench's start, so nothing expires while it runs.
#[derive(Debug)]
struct At(i64);

impl Clock for At {
    fn now(&self) -> i64 {
        self.0
    }
}

/// The raw aws-lc-rs ES256 operations the ratios are taken against.
struct Raw {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    sign_message: Vec<u8>,
    verify_message: Vec<u8>,
    signature: Vec<u8>,
    public: Vec<u8>,
}

impl Raw {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let verify_message = vec![0x61; VERIFY_MESSAGE_LEN];
        let signature = key.sign(&rng, &verify_message).unwrap().as_ref().to_vec();
        let public = key.public_key().as_ref().to_vec();
        Self {
            key,
            rng,
            sign_message: vec![0x62; SIGN_MESSAGE_LEN],
            verify_message,
            signature,
            public,
        }
    }

    fn sign(&self) {
        black_box(self.key.sign(&self.rng, &self.sign_message).unwrap());
    }

    fn verify(&self) {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public)
            .verify(&self.verify_message, &self.signature)
            .unwrap();
    }

    /// The crypto one credential request cannot avoid: a signature and a key-proof
    /// verification per credential, one DPoP proof verification.
    fn unavoidable(&self) {
        for _ in 0..BATCH {
            self.sign();
            self.verify();
        }
        self.verify();
    }

    /// One raw signature per credential of a request.
    fn signs(&self) {
        for _ in 0..BATCH {
            self.sign();
        }
    }
}

/// One issuer, with a DPoP-bound access token granting both PID configurations.
struct Bench {
    issuer: Arc<Issuer>,
    /// The credential issuer identifier (the `aud` of key proofs, the base of `htu`).
    url: String,
    now: i64,
    dpop: SoftwareKey,
    access_token: String,
    /// The holder keys proven in each request (reused across requests, distinct within one).
    holders: Vec<SoftwareKey>,
}

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eudi-issuer-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Bench {
    async fn new(url: &str, keys: Arc<IssuerKeys>, store: Arc<dyn IssuerStore>, now: i64) -> Self {
        let statuses: Arc<dyn StatusListStore> = store.clone();
        let credentials: Arc<dyn CredentialStore> = store.clone();
        let minter = PidMinter::new(
            keys,
            Arc::new(FileRegister::embedded()),
            statuses,
            credentials,
            MinterSettings {
                issuer_id: url.into(),
                policy: IssuerPolicy::default(),
                defer_on_birth_date_mismatch: true,
                status_list_size: eudi_issuer::config::DEFAULT_STATUS_LIST_SIZE,
            },
        )
        .unwrap();
        let config = IssuerConfig::new(url, pid_credential_configurations().unwrap());
        let issuer = Issuer::new(config, store, Arc::new(minter), Arc::new(At(now))).unwrap();
        let mut bench = Self {
            issuer: Arc::new(issuer),
            url: url.to_owned(),
            now,
            dpop: SoftwareKey::generate(Algorithm::Es256).unwrap(),
            access_token: String::new(),
            holders: (0..BATCH)
                .map(|_| SoftwareKey::generate(Algorithm::Es256).unwrap())
                .collect(),
        };
        bench.access_token = bench.token().await;
        bench
    }

    async fn call(&self, request: &HttpRequest) -> HttpResponse {
        self.issuer.handle(request).await.expect("a protocol path")
    }

    /// A pre-authorized offer for [`USER`] → a DPoP-bound token (with a server DPoP nonce).
    async fn token(&self) -> String {
        let identity = default_test_identities()
            .into_iter()
            .find(|i| i.username == USER)
            .unwrap();
        let subject = Subject::from_test_identity(&identity).encode();
        let offer = self
            .issuer
            .create_pre_authorized_offer(
                &subject,
                &[
                    SD_JWT_CONFIGURATION_ID.to_owned(),
                    MDOC_CONFIGURATION_ID.to_owned(),
                ],
                false,
                false,
            )
            .await
            .unwrap();
        let code = offer
            .offer
            .pre_authorized_code()
            .unwrap()
            .pre_authorized_code
            .clone();
        let form = eudi_oauth::form::encode([
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            ),
            ("pre-authorized_code", code.as_str()),
        ]);
        let (_, dpop_nonce) = self.nonces().await;
        let proof = self.dpop_proof(paths::TOKEN, None, &dpop_nonce).await;
        let response = self
            .call(
                &HttpRequest::new("POST", paths::TOKEN)
                    .with_form(form)
                    .with_header("DPoP", &proof),
            )
            .await;
        assert_eq!(response.status, 200, "{:?}", response.json_body());
        let body = response.json_body().unwrap();
        assert_eq!(body["token_type"], "DPoP");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A fresh `c_nonce` and server DPoP nonce from the nonce endpoint.
    async fn nonces(&self) -> (String, String) {
        let response = self.call(&HttpRequest::new("POST", paths::NONCE)).await;
        assert_eq!(response.status, 200);
        let dpop_nonce = response.header("dpop-nonce").unwrap().to_owned();
        let c_nonce = response.json_body().unwrap()["c_nonce"]
            .as_str()
            .unwrap()
            .to_owned();
        (c_nonce, dpop_nonce)
    }

    async fn dpop_proof(&self, path: &str, token: Option<&str>, nonce: &str) -> String {
        let url = format!("{}{path}", self.url);
        dpop::create_proof(
            &self.dpop,
            &self.dpop.verifying_key().to_jwk(),
            &DpopRequest {
                method: "POST",
                url: &url,
                access_token: token,
                nonce: Some(nonce),
                iat: self.now,
                jti: None,
            },
        )
        .await
        .unwrap()
    }

    /// A credential request as a wallet sends it: [`BATCH`] key proofs on one fresh `c_nonce`,
    /// the DPoP-bound token with a fresh DPoP proof.
    async fn request(&self, configuration: &str) -> HttpRequest {
        let (c_nonce, dpop_nonce) = self.nonces().await;
        let mut jwts = Vec::with_capacity(BATCH);
        for holder in &self.holders {
            let claims = ProofClaims {
                iss: None,
                aud: &self.url,
                iat: self.now,
                nonce: Some(&c_nonce),
            };
            jwts.push(
                eudi_oid4vci::proof::create(holder, &claims, None)
                    .await
                    .unwrap(),
            );
        }
        let proof = self
            .dpop_proof(paths::CREDENTIAL, Some(&self.access_token), &dpop_nonce)
            .await;
        HttpRequest::new("POST", paths::CREDENTIAL)
            .with_header("authorization", &format!("DPoP {}", self.access_token))
            .with_header("dpop", &proof)
            .with_json(&json!({
                "credential_configuration_id": configuration,
                "proofs": {"jwt": jwts},
            }))
    }

    async fn requests(&self, configuration: &str, n: usize) -> Vec<HttpRequest> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.request(configuration).await);
        }
        out
    }
}

/// Checks an answer: 200 with [`BATCH`] credentials.
fn check(status: u16, body: &[u8]) {
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(body));
    let body: serde_json::Value = serde_json::from_slice(body).unwrap();
    let credentials = body["credentials"].as_array().map_or(0, Vec::len);
    assert_eq!(credentials, BATCH, "{body}");
}

/// How a prepared request is sent.
#[derive(Clone)]
enum Transport {
    /// `Issuer::handle` in process.
    InProcess,
    /// HTTP/1.1 over loopback to the axum wrapper, by this client.
    Http(reqwest::Client),
}

async fn send(bench: &Bench, transport: &Transport, request: &HttpRequest) {
    match transport {
        Transport::InProcess => {
            let response = bench.call(request).await;
            check(response.status, &response.body);
        }
        Transport::Http(client) => {
            let mut builder = client.post(format!("{}{}", bench.url, request.path));
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            let response = builder.body(request.body.clone()).send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap();
            check(status, &body);
        }
    }
}

/// What one case measured.
struct Measured {
    name: String,
    /// Best round's time per credential, nanoseconds.
    ns_per_credential: f64,
    /// Median per-round ratio against one raw sign per credential.
    vs_sign: f64,
    /// Median per-round ratio against the unavoidable crypto.
    vs_unavoidable: f64,
    /// Best round of the requests over the best round of one raw sign per credential (under
    /// heavy load, the least-preempted rounds of each side).
    best_vs_sign: f64,
    /// Best round of the requests over the best round of the unavoidable crypto.
    best_vs_unavoidable: f64,
    rounds: usize,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Times `f` run `n` times, seconds per run.
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() / n.max(1) as f64
}

/// One case: prepares the pool, then alternates ~[`ROUND`] of requests with the same number of
/// requests' worth of each baseline.
fn measure(
    rt: &Runtime,
    raw: &Raw,
    bench: &Bench,
    transport: &Transport,
    name: String,
    configuration: &str,
    secs: f64,
) -> Measured {
    // Warm up, and size the rounds.
    let warm = rt.block_on(bench.requests(configuration, 4));
    let t = Instant::now();
    for request in &warm {
        rt.block_on(send(bench, transport, request));
    }
    let per_request = t.elapsed().as_secs_f64() / warm.len() as f64;
    let per_round = ((ROUND.as_secs_f64() / per_request).ceil() as usize).max(1);
    // Each round: the requests, then each of the two baselines for about as long.
    let rounds = ((secs / (3.0 * per_round as f64 * per_request)).ceil() as usize).max(5);
    let pool = rt.block_on(bench.requests(configuration, rounds * per_round));
    let mut vs_sign = Vec::with_capacity(rounds);
    let mut vs_unavoidable = Vec::with_capacity(rounds);
    let mut best = f64::INFINITY;
    let mut best_signs = f64::INFINITY;
    let mut best_unavoidable = f64::INFINITY;
    for chunk in pool.chunks(per_round) {
        let t = Instant::now();
        for request in chunk {
            rt.block_on(send(bench, transport, request));
        }
        let op = t.elapsed().as_secs_f64() / chunk.len() as f64;
        let signs = time(chunk.len(), || raw.signs());
        let unavoidable = time(chunk.len(), || raw.unavoidable());
        best = best.min(op);
        best_signs = best_signs.min(signs);
        best_unavoidable = best_unavoidable.min(unavoidable);
        vs_sign.push(op / signs);
        vs_unavoidable.push(op / unavoidable);
    }
    let measured = Measured {
        name,
        ns_per_credential: best * 1e9 / BATCH as f64,
        vs_sign: median(vs_sign),
        vs_unavoidable: median(vs_unavoidable),
        best_vs_sign: best / best_signs,
        best_vs_unavoidable: best / best_unavoidable,
        rounds,
    };
    eprintln!(
        "  {:<40} {:>8.1} µs/credential  {:>5.2}x raw sign  {:>5.2}x unavoidable  ({} rounds of {per_round} requests)",
        measured.name,
        measured.ns_per_credential / 1e3,
        measured.vs_sign,
        measured.vs_unavoidable,
        measured.rounds,
    );
    measured
}

/// Both PID formats on `bench`, as case names `<store>: <format>`.
#[expect(clippy::too_many_arguments, reason = "a bench helper")]
fn both_formats(
    harness: &Harness,
    rt: &Runtime,
    raw: &Raw,
    bench: &Bench,
    transport: &Transport,
    store: &str,
    secs: f64,
    out: &mut Vec<Measured>,
) {
    for (format, configuration) in [
        ("sd-jwt", SD_JWT_CONFIGURATION_ID),
        ("mdoc", MDOC_CONFIGURATION_ID),
    ] {
        let name = format!("{store}: {format}");
        if harness.wants(&name) {
            out.push(measure(
                rt,
                raw,
                bench,
                transport,
                name,
                configuration,
                secs,
            ));
        }
    }
}

/// Serves `issuer` on `listener` with a minimal axum wrapper: every request to
/// `Issuer::handle`, bodies up to the issuer's own limit.
async fn serve(listener: tokio::net::TcpListener, issuer: Arc<Issuer>) {
    let app = axum::Router::new().fallback(move |request: Request| {
        let issuer = issuer.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, eudi_oid4vci::server::MAX_BODY_LEN)
                .await
                .unwrap_or_default();
            let request = HttpRequest {
                method: parts.method.as_str().to_owned(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().map(str::to_owned),
                headers: parts
                    .headers
                    .iter()
                    .filter_map(|(name, value)| {
                        Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                    })
                    .collect(),
                body: body.to_vec(),
            };
            let answer = issuer
                .handle(&request)
                .await
                .unwrap_or_else(|| HttpResponse::empty(404));
            let mut response = Response::builder().status(answer.status);
            for (name, value) in &answer.headers {
                response = response.header(name, value);
            }
            response.body(Body::from(answer.body)).unwrap()
        }
    });
    axum::serve(listener, app).await.unwrap();
}

/// A PostgreSQL store in a fresh schema, with the admin pool that drops it; `None` when the
/// database is unreachable.
async fn postgres(schema: &str) -> Option<(eudi_store::Store, sqlx::PgPool)> {
    let url = std::env::var("EUDI_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect(&url)
        .await
        .map_err(|e| eprintln!("PostgreSQL at {url} unreachable, skipped: {e}"))
        .ok()?;
    let store = eudi_store::open(&url, &StoreOptions::default().with_schema(schema))
        .await
        .unwrap();
    Some((store, admin))
}

fn main() {
    let harness = Harness::new("ISSUER");
    let secs = std::env::var("ISSUER_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(DEFAULT_SECS);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let raw = Raw::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let dir = data_dir("keys");
    let url = "https://issuer.example";
    let keys = Arc::new(
        IssuerKeys::load_or_generate(
            &dir.join("keys"),
            &KeysConfig::default(),
            "DK",
            url,
            &At(now),
        )
        .unwrap(),
    );
    eprintln!("load average: {}", load_average());
    let sign = time(2000, || raw.sign());
    let verify = time(2000, || raw.verify());
    eprintln!(
        "raw ES256: sign {:.1} µs, verify {:.1} µs",
        sign * 1e6,
        verify * 1e6
    );
    let mut results = Vec::new();

    // Memory store.
    if harness.wants("memory") {
        let store: Arc<dyn IssuerStore> = Arc::new(MemoryStore::new());
        let bench = rt.block_on(Bench::new(url, keys.clone(), store, now));
        both_formats(
            &harness,
            &rt,
            &raw,
            &bench,
            &Transport::InProcess,
            "memory",
            secs,
            &mut results,
        );
    }

    // SQLite, a file in a temporary data dir (WAL, as `serve` runs it).
    if harness.wants("sqlite") {
        let sqlite_dir = data_dir("sqlite");
        let store = rt
            .block_on(eudi_store::open_sqlite_in(
                &sqlite_dir,
                &StoreOptions::default(),
            ))
            .unwrap();
        let bench = rt.block_on(Bench::new(url, keys.clone(), store.issuer(), now));
        both_formats(
            &harness,
            &rt,
            &raw,
            &bench,
            &Transport::InProcess,
            "sqlite",
            secs,
            &mut results,
        );
        rt.block_on(store.close());
        let _ = std::fs::remove_dir_all(&sqlite_dir);
    }

    // PostgreSQL, in a schema of its own, dropped afterwards.
    if harness.wants("postgres") {
        let schema = format!("issuer_bench_{}", std::process::id());
        if let Some((store, admin)) = rt.block_on(postgres(&schema)) {
            let bench = rt.block_on(Bench::new(url, keys.clone(), store.issuer(), now));
            both_formats(
                &harness,
                &rt,
                &raw,
                &bench,
                &Transport::InProcess,
                "postgres",
                secs,
                &mut results,
            );
            rt.block_on(async {
                store.close().await;
                sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&admin)
                    .await
                    .unwrap();
            });
        }
    }

    // Loopback HTTP: the server task and the client on this one thread.
    if harness.wants("http") {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let http_url = format!("http://{}", listener.local_addr().unwrap());
        let store: Arc<dyn IssuerStore> = Arc::new(MemoryStore::new());
        let bench = rt.block_on(Bench::new(&http_url, keys.clone(), store, now));
        rt.spawn(serve(listener, bench.issuer.clone()));
        let client = reqwest::Client::builder().build().unwrap();
        both_formats(
            &harness,
            &rt,
            &raw,
            &bench,
            &Transport::Http(client),
            "http+memory",
            secs,
            &mut results,
        );
    }

    let _ = std::fs::remove_dir_all(&dir);
    println!();
    println!(
        "  raw ES256 sign {:.1} µs, verify {:.1} µs; unavoidable crypto per credential {:.1} µs; load average {}",
        sign * 1e6,
        verify * 1e6,
        (sign + verify + verify / BATCH as f64) * 1e6,
        load_average()
    );
    println!(
        "  {:<24} {:>13} {:>16} {:>12} {:>14} {:>12} {:>14}",
        "case (batch of 10)",
        "µs/credential",
        "credentials/s",
        "/ raw sign",
        "/ unavoidable",
        "best/best s",
        "best/best u"
    );
    for m in &results {
        println!(
            "  {:<24} {:>13.1} {:>16.0} {:>11.2}x {:>13.2}x {:>11.2}x {:>13.2}x",
            m.name,
            m.ns_per_credential / 1e3,
            1e9 / m.ns_per_credential,
            m.vs_sign,
            m.vs_unavoidable,
            m.best_vs_sign,
            m.best_vs_unavoidable
        );
    }
    println!();
    println!(
        "  µs/credential: best round; ratios: median of interleaved rounds. / raw sign: against one raw \
         ES256 sign per credential (target <= 2.00x); / unavoidable: against 1 sign + 1 verify per \
         credential + 1 verify (DPoP) per request. best/best: best round of each side (s: raw sign, \
         u: unavoidable)."
    );
}

/// The 1-minute load average (Linux), for the report.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}
