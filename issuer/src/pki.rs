//! Work in progress: pki.
