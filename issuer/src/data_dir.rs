//! The data directory: where an issuer keeps its state (the SQLite database, the development PKI)
//! and `serve.json`, the URL `serve` serves on, so other subcommands run on the same data dir find
//! the running issuer (DESIGN.md, "Contracts").
//!
//! The directory is created with mode 0700 (it holds private keys). Files are written atomically:
//! to a temporary file in the same directory, fsynced, then renamed over the target, and the
//! directory fsynced, so a process killed at any moment leaves the old file or the new one, never
//! a torn one.

use std::fs;
use std::fs::File;
use std::fs::OpenOptions;
use std::io::Read as _;
use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

/// The file in the data dir that records where `serve` serves.
pub const SERVE_FILE: &str = "serve.json";
/// Largest `serve.json` read, in bytes.
pub const MAX_SERVE_FILE_BYTES: u64 = 16 * 1024;
/// Mode of the data dir and of key directories.
pub const DIR_MODE: u32 = 0o700;
/// Mode of private key files.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of public files (certificates, `serve.json`).
pub const PUBLIC_FILE_MODE: u32 = 0o644;

/// Why the data dir cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirError {
    /// An I/O operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `serve.json` is not what `serve` writes.
    #[error("{path} is not a serve record: {reason}")]
    BadServeFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn io<'p>(
    action: &'static str,
    path: &'p Path,
) -> impl FnOnce(std::io::Error) -> DataDirError + 'p {
    move |source| DataDirError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` (and its parents) if missing, with mode 0700 for what is created; an existing
/// directory's mode is tightened to 0700 too, since it holds private keys.
pub fn create_private_dir(dir: &Path) -> Result<(), DataDirError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(io("creating", dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
        .map_err(io("setting the mode of", dir))
}

/// Writes `contents` to `path` atomically with `mode` (see the module doc).
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), DataDirError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A name per process and attempt: two writers never share a temporary file.
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        unique_suffix()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(io("creating", &tmp))?;
        file.write_all(contents).map_err(io("writing", &tmp))?;
        file.sync_all().map_err(io("syncing", &tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io("renaming onto", path))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("syncing", dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::AtomicU64;
    use std::sync::atomic::Ordering;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Reads a file of at most `max` bytes; `None` if it does not exist.
pub fn read_bounded(path: &Path, max: u64) -> Result<Option<Vec<u8>>, DataDirError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("opening", path)(e)),
    };
    let mut out = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut out)
        .map_err(io("reading", path))?;
    if out.len() as u64 > max {
        return Err(DataDirError::Io {
            action: "reading",
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("larger than {max} bytes"),
            ),
        });
    }
    Ok(Some(out))
}

/// What `serve` records in the data dir.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServeRecord {
    /// The public URL (credential issuer identifier) it serves on.
    pub public_url: String,
    /// The address it listens on.
    pub listen: String,
    /// Its process id (informational: the process may have ended).
    pub pid: u32,
    /// When it started, Unix seconds.
    pub started_at: i64,
}

/// An issuer's data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// Opens `path`, creating it (0700) if missing.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self, DataDirError> {
        let path = path.into();
        create_private_dir(&path)?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records where `serve` serves ([`SERVE_FILE`]), atomically.
    pub fn write_serve_record(&self, record: &ServeRecord) -> Result<(), DataDirError> {
        let path = self.path.join(SERVE_FILE);
        let mut text =
            serde_json::to_vec_pretty(record).map_err(|e| DataDirError::BadServeFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        text.push(b'\n');
        write_atomic(&path, &text, PUBLIC_FILE_MODE)
    }

    /// What the last `serve` on this data dir recorded, if any.
    pub fn read_serve_record(&self) -> Result<Option<ServeRecord>, DataDirError> {
        let path = self.path.join(SERVE_FILE);
        let Some(bytes) = read_bounded(&path, MAX_SERVE_FILE_BYTES)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| DataDirError::BadServeFile {
                path,
                reason: e.to_string(),
            })
    }

    /// Removes the serve record (on graceful shutdown); removing nothing is not an error.
    pub fn remove_serve_record(&self) -> Result<(), DataDirError> {
        let path = self.path.join(SERVE_FILE);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("removing", &path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "eudi-issuer-data-dir-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn data_dir_is_private_and_serve_record_round_trips() {
        let root = temp_dir("serve");
        let dir = DataDir::create(root.join("a/b")).unwrap();
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, DIR_MODE);
        assert_eq!(dir.read_serve_record().unwrap(), None);
        let record = ServeRecord {
            public_url: "http://127.0.0.1:4321".into(),
            listen: "127.0.0.1:4321".into(),
            pid: 7,
            started_at: 1_700_000_000,
        };
        dir.write_serve_record(&record).unwrap();
        assert_eq!(dir.read_serve_record().unwrap(), Some(record.clone()));
        let other = ServeRecord { pid: 8, ..record };
        dir.write_serve_record(&other).unwrap();
        assert_eq!(dir.read_serve_record().unwrap(), Some(other));
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec![SERVE_FILE.to_owned()]);
        dir.remove_serve_record().unwrap();
        dir.remove_serve_record().unwrap();
        assert_eq!(dir.read_serve_record().unwrap(), None);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bad_or_oversized_serve_files_are_errors() {
        let root = temp_dir("bad");
        let dir = DataDir::create(&root).unwrap();
        fs::write(root.join(SERVE_FILE), b"{\"public_url\": 1}").unwrap();
        assert!(matches!(
            dir.read_serve_record(),
            Err(DataDirError::BadServeFile { .. })
        ));
        fs::write(
            root.join(SERVE_FILE),
            vec![b' '; MAX_SERVE_FILE_BYTES as usize + 1],
        )
        .unwrap();
        assert!(matches!(
            dir.read_serve_record(),
            Err(DataDirError::Io { .. })
        ));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn private_files_get_their_mode() {
        let root = temp_dir("mode");
        create_private_dir(&root).unwrap();
        let path = root.join("k.pem");
        write_atomic(&path, b"secret", PRIVATE_FILE_MODE).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, PRIVATE_FILE_MODE);
        assert_eq!(read_bounded(&path, 6).unwrap().unwrap(), b"secret");
        assert!(read_bounded(&path, 5).is_err());
        assert_eq!(read_bounded(&root.join("none"), 5).unwrap(), None);
        fs::remove_dir_all(&root).unwrap();
    }
}
