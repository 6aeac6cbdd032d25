//! `eudi-issuer` library: the parts of the PID issuer service that are not HTTP or CLI glue.
//!
//! - [`config`]: the TOML configuration, `EUDI_ISSUER_*` environment overrides and command-line
//!   overrides, with defaults that run the whole issuer offline.
//! - [`data_dir`]: the data directory (mode 0700), atomic file writes and `serve.json` (DESIGN.md,
//!   "Contracts": other subcommands find the running issuer's URL there).
//! - [`pki`]: the issuer's four ES256 signers and the trust anchors `trust-anchors` prints; a
//!   development PKI (IACA → mdoc signers, SD-JWT VC CA → SD-JWT signers) generated on first run.
//! - [`subject`]: the opaque subject the OpenID4VCI protocol carries from the grant to the
//!   credential request, and the identity key credential records are filed under.
//! - [`minter`]: [`minter::PidMinter`], the PID rules and the SD-JWT VC and mdoc encodings behind
//!   `eudi_oid4vci`'s `CredentialMinter` seam, and the PID credential configurations.
//! - [`status_lists`]: the served IETF Token Status Lists, JWT and CWT forms by `Accept`.
//! - [`web`]: the HTTP service (axum router, MitID login, "Get your PID" pages, operations).
//!
//! How the binary wires them: `Config::load` → `config::issuer_identifier(public URL)` →
//! `IssuerKeys::load_or_generate(config.keys_dir(), …)` → a store (`eudi-store`) →
//! `PidMinter::new(keys, register, store, store, MinterSettings::from_config(…))` for the protocol
//! and `StatusListPublisher::new(store, keys, issuer id, policy.status_ttl, …)` for
//! `GET /status/{list}`. A MitID login becomes `Subject::from_login(&login)`; its
//! `encode()` is the subject of the grant, and `PidMinter::check` refuses before a grant is made.
#![forbid(unsafe_code)]

pub mod config;
pub mod data_dir;
pub mod minter;
pub mod pki;
pub mod status_lists;
pub mod subject;
pub mod web;
