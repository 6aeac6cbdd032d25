//! The services' persistence: the store traits of `eudi-oid4vci` (and later the verifier's) on
//! SQLite, the embedded default, and PostgreSQL, the scale-out backend.
#![forbid(unsafe_code)]
