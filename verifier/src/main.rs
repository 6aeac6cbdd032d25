//! `eudi-verifier`: the relying party's side of the EUDI wallet ecosystem.
//!
//! `eudi-verifier verify` checks one presentation offline and prints one JSON report (the
//! contract in DESIGN.md). The verification itself is the typed pipeline of the `eudi-verify`
//! crate; this binary parses arguments ([`cli`]), loads trust files ([`trust_file`]), reads and
//! detects the input ([`input`]), and prints the report ([`report`]).
#![forbid(unsafe_code)]

mod cli;
mod input;
mod report;
mod trust_file;
mod verify;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser as _;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            // stderr may be closed too; there is nobody left to tell.
            let _ = writeln_stderr(&format!("eudi-verifier: {e:#}"));
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Verify(args) => verify::run(args),
    }
}

fn writeln_stderr(line: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    writeln!(std::io::stderr().lock(), "{line}")
}
