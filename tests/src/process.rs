//! The workspace's binaries as the suites run them: as processes, the way an operator starts
//! them, over real loopback HTTP.
//!
//! [`Service`] starts a `serve` subcommand, waits for the `listening on <URL>` line of the
//! DESIGN.md contract and keeps the process's output, so a test can also assert on what the
//! service logged (no personal data). [`run`] runs a one-shot subcommand (`offer`,
//! `trust-anchors`, `verify` …).

use std::io::BufRead as _;
use std::io::BufReader;
use std::io::Write as _;
use std::path::Path;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;
use std::time::SystemTime;
use std::time::UNIX_EPOCH;

/// How long a service may take to print `listening on` (a cold start generates its PKI and
/// migrates its database).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Why starting or running a binary failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The binary is not built.
    #[error(
        "{0} does not exist: build it first (`cargo test --workspace` builds every binary, \
         or `cargo build -p <its package>`)"
    )]
    NotBuilt(PathBuf),
    /// The process could not be started or read.
    #[error("could not run {0}: {1}")]
    Io(String, std::io::Error),
    /// The service exited, or printed no `listening on` line in time.
    #[error("{name} did not start ({reason}); its output:\n{output}")]
    NotStarted {
        /// The binary.
        name: String,
        /// What happened.
        reason: String,
        /// Everything it printed.
        output: String,
    },
}

/// A binary of the workspace, e.g. `binary("eudi-issuer")`: it sits in the target directory of
/// the test executable that calls this (`target/<profile>/deps/<test>` → `target/<profile>/`).
pub fn binary(name: &str) -> Result<PathBuf, ProcessError> {
    let exe = std::env::current_exe().map_err(|e| ProcessError::Io(name.into(), e))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        Err(ProcessError::NotBuilt(path))
    }
}

/// What a one-shot command did.
#[derive(Debug)]
pub struct Output {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Runs `name args…` with `stdin` as its standard input and waits for it.
pub fn run(name: &str, args: &[&str], stdin: &str) -> Result<Output, ProcessError> {
    let path = binary(name)?;
    let mut child = Command::new(&path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ProcessError::Io(name.into(), e))?;
    if let Some(mut input) = child.stdin.take() {
        // A command that does not read its input closes the pipe early; that is its business.
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| ProcessError::Io(name.into(), e))?;
    Ok(Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// A running service; killed when dropped.
#[derive(Debug)]
pub struct Service {
    name: String,
    child: Child,
    url: String,
    output: Arc<Mutex<String>>,
}

impl Service {
    /// Starts `name args…` (e.g. `eudi-issuer serve --data-dir D --listen 127.0.0.1:0`) with
    /// extra environment `env`, and waits until it prints `listening on <URL>`.
    pub fn start(name: &str, args: &[&str], env: &[(&str, &str)]) -> Result<Self, ProcessError> {
        let path = binary(name)?;
        Self::spawn(name, &path, args, env, Ready::Listening)
    }

    /// Starts a program that is not of the workspace (a driver, a peer server) and waits until
    /// a line of its output contains `ready`.
    pub fn start_program(program: &str, args: &[&str], ready: &str) -> Result<Self, ProcessError> {
        Self::spawn(
            program,
            Path::new(program),
            args,
            &[],
            Ready::Contains(ready.into()),
        )
    }

    /// Starts the executable at `path` (not a workspace binary: e.g. the test executable itself,
    /// re-run as a helper process) with extra environment `env`, and waits until it prints
    /// `listening on <URL>`, as [`Service::start`] does.
    pub fn start_path(
        path: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self, ProcessError> {
        let name = path.display().to_string();
        Self::spawn(&name, path, args, env, Ready::Listening)
    }

    fn spawn(
        name: &str,
        path: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        ready: Ready,
    ) -> Result<Self, ProcessError> {
        let mut child = Command::new(path)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ProcessError::Io(name.into(), e))?;
        let output = Arc::new(Mutex::new(String::new()));
        let (found, listening) = mpsc::channel::<String>();
        if let Some(stdout) = child.stdout.take() {
            let output = Arc::clone(&output);
            let ready = ready.clone();
            let found = found.clone();
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(url) = ready.matches(&line) {
                        let _ = found.send(url);
                    }
                    append(&output, &line);
                }
            });
        }
        if let Some(stderr) = child.stderr.take() {
            let output = Arc::clone(&output);
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    // A program that announces itself on stderr counts too (not `listening on`:
                    // the contract puts that on stdout).
                    if let (Ready::Contains(_), Some(url)) = (&ready, ready.matches(&line)) {
                        let _ = found.send(url);
                    }
                    append(&output, &line);
                }
            });
        }
        let mut service = Self {
            name: name.into(),
            child,
            url: String::new(),
            output,
        };
        match listening.recv_timeout(START_TIMEOUT) {
            Ok(url) => {
                service.url = url;
                Ok(service)
            }
            Err(e) => {
                let reason = match service.child.try_wait() {
                    Ok(Some(status)) => format!("it exited: {status}"),
                    _ => format!("it did not say it is ready: {e}"),
                };
                // Give the reader threads a moment to collect the last words.
                thread::sleep(Duration::from_millis(200));
                Err(ProcessError::NotStarted {
                    name: service.name.clone(),
                    reason,
                    output: service.output(),
                })
            }
        }
    }

    /// The URL it printed (`listening on <URL>`), without a trailing slash.
    pub fn url(&self) -> &str {
        self.url.trim_end_matches('/')
    }

    /// Everything it printed so far, stdout and stderr.
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Stops it with SIGKILL and waits.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What says a started program is ready.
#[derive(Clone, Debug)]
enum Ready {
    /// The DESIGN.md contract: a line `listening on <URL>`.
    Listening,
    /// Any line containing this text.
    Contains(String),
}

impl Ready {
    /// The URL (or, for [`Ready::Contains`], an empty string) when `line` says so.
    fn matches(&self, line: &str) -> Option<String> {
        match self {
            Self::Listening => line
                .strip_prefix("listening on ")
                .map(|url| url.trim().to_owned()),
            Self::Contains(text) => line.contains(text.as_str()).then(String::new),
        }
    }
}

fn append(output: &Mutex<String>, line: &str) {
    if let Ok(mut out) = output.lock() {
        out.push_str(line);
        out.push('\n');
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty directory under the system's temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Makes one whose name starts with `prefix`.
    pub fn new(prefix: &str) -> Result<Self, ProcessError> {
        // Unique within the process by the counter, across processes by the pid and the time.
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("{prefix}-{}-{n}-{nanos}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path)
            .map_err(|e| ProcessError::Io(path.display().to_string(), e))?;
        Ok(Self(path))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Its path as a string (for command lines).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
