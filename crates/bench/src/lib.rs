//! The benchmark harness shared by the workspace's `cargo bench` binaries.
//!
//! Hand-written to keep build time low (no criterion): each case is warmed up for ~0.3 s, then
//! timed in five batches of ~1/5 of the measuring time each; the reported time is the best batch
//! mean, which is robust against noise from other processes. Everything runs on the calling
//! thread. Extra command-line arguments are substring filters on case names, so a profiler can
//! be pointed at one case. `<PREFIX>_BENCH_SECS` sets the measuring time per case (default
//! 1.5 s); `<PREFIX>_BENCH_ITERS=n` runs each case exactly `n` times without batches, for
//! instruction counts (`valgrind --tool=callgrind`). Progress goes to stderr, ratios to stdout.
#![forbid(unsafe_code)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::Context;
use std::task::Poll;
use std::task::Wake;
use std::task::Waker;
use std::thread::Thread;
use std::thread::{self};
use std::time::Duration;
use std::time::Instant;

use eudi_trust::Algorithm;
use eudi_trust::Digest;
use eudi_trust::SignFuture;
use eudi_trust::Signer;
use eudi_trust::VerifyingKey;

/// Runs and records benchmark cases.
#[derive(Debug)]
pub struct Harness {
    filters: Vec<String>,
    /// Warm-up time per case.
    pub warmup: Duration,
    /// Measuring time per case.
    pub measure: Duration,
    /// Exactly this many runs per case, untimed batches (for profilers).
    iterations: Option<u64>,
    /// The measured cases, in order.
    pub rows: Vec<Row>,
}

/// One measured case.
#[derive(Debug, Clone)]
pub struct Row {
    /// Case name.
    pub name: &'static str,
    /// Best batch mean, nanoseconds per operation.
    pub ns: f64,
}

impl Harness {
    /// A harness reading `<env_prefix>_BENCH_SECS` and `<env_prefix>_BENCH_ITERS`.
    pub fn new(env_prefix: &str) -> Self {
        // `cargo bench` passes `--bench`; every other argument is a name filter.
        let filters = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with("--"))
            .collect();
        let measure = std::env::var(format!("{env_prefix}_BENCH_SECS"))
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .map_or(Duration::from_millis(1500), Duration::from_secs_f64);
        let iterations = std::env::var(format!("{env_prefix}_BENCH_ITERS"))
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        Self {
            filters,
            warmup: Duration::from_millis(300),
            measure,
            iterations,
            rows: Vec::new(),
        }
    }

    /// Whether the filters select `name`.
    pub fn wants(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// Times `op`; returns the best batch mean in nanoseconds, or `None` if filtered out.
    pub fn run<T>(&mut self, name: &'static str, mut op: impl FnMut() -> T) -> Option<f64> {
        if !self.wants(name) {
            return None;
        }
        if let Some(n) = self.iterations {
            let t = Instant::now();
            for _ in 0..n {
                black_box(op());
            }
            let ns = t.elapsed().as_secs_f64() * 1e9 / n.max(1) as f64;
            eprintln!("  {name:<56} {ns:>10.0} ns/op ({n} runs)");
            self.rows.push(Row { name, ns });
            return Some(ns);
        }
        // Warm-up; its second half sizes the batches.
        let start = Instant::now();
        while start.elapsed() < self.warmup / 2 {
            black_box(op());
        }
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < self.warmup / 2 {
            black_box(op());
            n += 1;
        }
        let mut per_op = start.elapsed().as_secs_f64() / n as f64;
        let batch = ((self.measure.as_secs_f64() / 5.0 / per_op).ceil() as u64).max(1);

        let start = Instant::now();
        let mut best = f64::INFINITY;
        let mut batches = 0;
        while batches < 5 || start.elapsed() < self.measure {
            // From the fifth batch on, a batch covers what is left of the measuring time, so
            // normally exactly five batches run and the total stays close to `measure`.
            let size = if batches >= 4 {
                let left = self.measure.saturating_sub(start.elapsed()).as_secs_f64();
                ((left * 1.02 / per_op).ceil() as u64).max(1)
            } else {
                batch
            };
            let t = Instant::now();
            for _ in 0..size {
                black_box(op());
            }
            per_op = t.elapsed().as_secs_f64() / size as f64;
            // A short top-up batch is noisier; it does not compete for the best mean.
            if batches < 4 || size >= batch / 2 {
                best = best.min(per_op * 1e9);
            }
            batches += 1;
        }
        eprintln!("  {name:<56} {best:>10.0} ns/op");
        self.rows.push(Row { name, ns: best });
        Some(best)
    }

    /// `op` relative to `base`, measured interleaved: short alternating batches of each, for the
    /// measuring time, and the median of the per-round ratios. A machine that speeds up or
    /// slows down while the cases run (frequency scaling, a noisy neighbour) moves both sides of
    /// each round alike, so this ratio is steadier than one of two separately measured times.
    /// `None` if filtered out (by `name`).
    pub fn interleaved_ratio<A, B>(
        &mut self,
        name: &'static str,
        mut op: impl FnMut() -> A,
        mut base: impl FnMut() -> B,
    ) -> Option<f64> {
        if !self.wants(name) {
            return None;
        }
        let time = |n: u64, f: &mut dyn FnMut()| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_secs_f64() / n.max(1) as f64
        };
        let mut run_op = || {
            black_box(op());
        };
        let mut run_base = || {
            black_box(base());
        };
        // Warm up and size the batches at ~10 ms each.
        let per_op = time(64, &mut run_op).max(time(64, &mut run_base)).max(1e-9);
        let batch = ((0.01 / per_op).ceil() as u64).max(1);
        let rounds = self
            .iterations
            .map_or((self.measure.as_secs_f64() / 0.02).ceil() as usize, |_| 3)
            .max(3);
        let mut ratios: Vec<f64> = (0..rounds)
            .map(|_| time(batch, &mut run_op) / time(batch, &mut run_base))
            .collect();
        ratios.sort_by(f64::total_cmp);
        let median = ratios.get(ratios.len() / 2).copied()?;
        eprintln!("  {name:<56} {median:>10.3}x (median of {rounds} interleaved rounds)");
        Some(median)
    }

    /// Prints every measured case: `issue:` rows relative to `raw_sign`, `verify:` rows as a
    /// share of `verify`.
    #[expect(clippy::print_stdout, reason = "benchmark results go to stdout")]
    pub fn print_table(&self, raw_sign: Option<f64>, verify: Option<f64>) {
        let width = self.rows.iter().map(|r| r.name.len()).max().unwrap_or(4);
        println!();
        println!(
            "  {:<width$} {:>10} {:>10}  relative",
            "case", "ns/op", "ops/s"
        );
        for row in &self.rows {
            let relative = if row.name.starts_with("issue:") {
                raw_sign.map(|b| format!("{:>6.2}x raw sign", row.ns / b))
            } else if row.name.starts_with("verify:") {
                verify.map(|b| format!("{:>6.1}% of verify", 100.0 * row.ns / b))
            } else {
                None
            };
            println!(
                "  {:<width$} {:>10.0} {:>10.0}  {}",
                row.name,
                row.ns,
                1e9 / row.ns,
                relative.unwrap_or_default()
            );
        }
        println!();
    }

    /// The time of the first case whose name starts with `prefix`.
    pub fn ns(&self, prefix: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.name.starts_with(prefix))
            .map(|r| r.ns)
    }
}

/// Prints a ratio measured directly (e.g. [`Harness::interleaved_ratio`]), with the target and
/// a verdict when there is one.
#[expect(clippy::print_stdout, reason = "benchmark results go to stdout")]
pub fn print_ratio(label: &str, r: Option<f64>, target: Option<f64>) {
    let Some(r) = r else { return };
    match target {
        Some(t) => {
            let verdict = if r <= t { "ok" } else { "MISSED" };
            println!("  {label:<44} = {r:>5.2}x  (target <= {t:.2}) {verdict}");
        }
        None => println!("  {label:<44} = {r:>5.2}x"),
    }
}

/// Prints `value / base`, with the target and a verdict when there is one.
pub fn ratio(label: &str, value: Option<f64>, base: Option<f64>, target: Option<f64>) {
    let (Some(value), Some(base)) = (value, base) else {
        return;
    };
    print_ratio(label, Some(value / base), target);
}

/// A signer that does not sign: issuing with it is the issuance cost minus ECDSA (the message
/// is still hashed when the caller hashes it for [`Signer::sign_digest`]).
#[derive(Debug)]
pub struct NullSigner(pub VerifyingKey);

impl Signer for NullSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }
    fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
    fn sign<'a>(&'a self, _message: &'a [u8]) -> SignFuture<'a> {
        SignFuture::ready(Ok(vec![0x5a; 64]))
    }
    fn sign_digest<'a>(&'a self, _digest: &'a Digest) -> Option<SignFuture<'a>> {
        Some(SignFuture::ready(Ok(vec![0x5a; 64])))
    }
}

/// Runs `future` to completion on this thread, for benchmarks of the async signing API.
///
/// The first poll uses a no-op waker, so a future that is ready at once (issuing with a
/// software key) costs one poll and nothing else: no runtime, no allocation. Only a future
/// that is pending gets a waker that unparks this thread, and the thread then parks between
/// polls.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    if let Poll::Ready(output) = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        return output;
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

/// Wakes a thread parked in [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}
