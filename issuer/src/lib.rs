//! `eudi-issuer` library: the parts of the PID issuer service that are not HTTP or CLI glue.
//!
//! - [`config`]: the TOML configuration, environment overrides (`EUDI_ISSUER_*`) and defaults.
//! - [`data_dir`]: the data directory (mode 0700), atomic file writes and `serve.json`.
//! - [`pki`]: the issuer's keys and certificates; a development PKI generated on first run.
//! - [`subject`]: the opaque subject the OpenID4VCI protocol carries between login and minting.
//! - [`minter`]: the PID minter (SD-JWT VC and mdoc) behind `eudi_oid4vci`'s `CredentialMinter` seam.
//! - [`status_lists`]: the served IETF Token Status Lists (JWT and CWT forms).
#![forbid(unsafe_code)]

pub mod config;
pub mod data_dir;
pub mod minter;
pub mod pki;
pub mod status_lists;
pub mod subject;
