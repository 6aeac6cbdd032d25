//! `eudi-issuer` library (issuer-core writes the real doc comment).
#![forbid(unsafe_code)]

pub mod web;
