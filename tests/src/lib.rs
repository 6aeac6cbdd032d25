//! Helpers shared by the end-to-end and interop suites in `tests/tests/`.
//!
//! * [`shared_dir`] and [`vectors_dir`]: the public test vectors at `../shared` beside the
//!   workspace.
//! * [`run_node`]: runs a peer implementation in `tests/interop/` (JSON on stdin, JSON on
//!   stdout). Its npm packages must be installed with `npm ci --prefix tests/interop`; when they
//!   are missing the call fails and says so, it never skips.
//! * [`es256_key`], [`pkcs8_b64`], [`now`]: fresh keys and the clock.
//! * [`process`]: the workspace's binaries as processes (`serve` until `listening on`, one-shot
//!   subcommands) and temporary data directories.
//! * [`webdriver`]: Debian's headless chromium through chromedriver, for the page tests.
#![forbid(unsafe_code)]

pub mod process;
pub mod webdriver;

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::process::Stdio;
use std::time::SystemTime;
use std::time::UNIX_EPOCH;

use eudi_trust::Algorithm;
use eudi_trust::KeyError;
use eudi_trust::SoftwareKey;
use eudi_trust::b64;
use serde_json::Value;

/// Why a helper failed. `Debug` prints the message, so `unwrap()` in a test shows it as is.
#[derive(thiserror::Error)]
pub enum Error {
    /// The npm packages of the node peers are not installed.
    #[error(
        "{0} is missing: the interop tests need the npm peers, install them with \
         `npm ci --prefix tests/interop` (from the workspace root)"
    )]
    NodeModulesMissing(PathBuf),
    /// `node` could not be started.
    #[error("could not run `node` (Node.js >= 20 is required): {0}")]
    NodeNotStarted(std::io::Error),
    /// The script exited with an error.
    #[error("`node {script} {command}` failed ({status}):\n{stderr}")]
    Script {
        /// The script file name.
        script: String,
        /// The command given to it.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The script printed something that is not JSON.
    #[error("`node {script} {command}` printed no JSON ({source}):\n{stdout}")]
    Output {
        /// The script file name.
        script: String,
        /// The command given to it.
        command: String,
        /// What it printed.
        stdout: String,
        /// Why it does not parse.
        source: serde_json::Error,
    },
    /// A shared directory is not where it should be.
    #[error(
        "{0} does not exist: the shared vectors are expected at `../shared` beside the workspace"
    )]
    SharedMissing(PathBuf),
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// `../shared` beside the workspace (DESIGN.md, STYLE.md, specs, vectors).
pub fn shared_dir() -> Result<PathBuf, Error> {
    let dir = workspace_root().join("../shared");
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(Error::SharedMissing(dir))
    }
}

/// A folder of `../shared/vectors`, e.g. `vectors_dir("sd-jwt-vc")`.
pub fn vectors_dir(name: &str) -> Result<PathBuf, Error> {
    let dir = shared_dir()?.join("vectors").join(name);
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(Error::SharedMissing(dir))
    }
}

/// `tests/interop`, where the node peers and their `package.json` are.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Runs `node tests/interop/<script> <command>` with `input` as JSON on stdin and returns the
/// JSON it prints. Fails with [`Error::NodeModulesMissing`] when `npm ci` has not been run.
pub fn run_node(script: &str, command: &str, input: &Value) -> Result<Value, Error> {
    let dir = interop_dir();
    let modules = dir.join("node_modules");
    if !modules.is_dir() {
        return Err(Error::NodeModulesMissing(modules));
    }
    let mut child = Command::new("node")
        .arg(dir.join(script))
        .arg(command)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Error::NodeNotStarted)?;
    if let Some(mut stdin) = child.stdin.take() {
        // The script reads all of stdin before writing, so this cannot deadlock; a write error
        // means it died early and shows up in its exit status and stderr below.
        let _ = stdin.write_all(input.to_string().as_bytes());
    }
    let out = child.wait_with_output().map_err(Error::NodeNotStarted)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(Error::Script {
            script: script.into(),
            command: command.into(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    serde_json::from_str(&stdout).map_err(|source| Error::Output {
        script: script.into(),
        command: command.into(),
        stdout,
        source,
    })
}

/// A fresh ES256 key.
pub fn es256_key() -> Result<SoftwareKey, KeyError> {
    SoftwareKey::generate(Algorithm::Es256)
}

/// The private key as base64url PKCS#8 DER, for handing it to a peer (node reads it with
/// `crypto.createPrivateKey({key, format: 'der', type: 'pkcs8'})`).
pub fn pkcs8_b64(key: &SoftwareKey) -> Result<String, KeyError> {
    key.to_pkcs8_der().map(b64::encode)
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
