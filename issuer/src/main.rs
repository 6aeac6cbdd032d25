//! `eudi-issuer`: the PID issuer service and its admin subcommands.
#![forbid(unsafe_code)]

fn main() {}
