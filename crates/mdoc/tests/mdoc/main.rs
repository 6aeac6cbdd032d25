//! The `eudi-mdoc` integration tests, one binary: published vectors, issue → present → verify
//! round trips, one test per verifier check, and hostile input.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup failures should abort the test"
)]

mod failures;
mod hostile;
mod round_trip;
mod rules;
mod support;
mod vectors;
