//! `eudi-issuer`: the PID issuer service and its admin subcommands (the contract is in
//! DESIGN.md, "Contracts other tools rely on").
//!
//! [`cli`] holds the clap types; each subcommand is one module of [`commands`]. The HTTP service
//! itself is `eudi_issuer::web`. Exit status: 0 done, 1 refused or failed, 2 usage error.
#![forbid(unsafe_code)]

mod cli;
mod commands;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with success, usage errors to stderr.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // stderr may be closed too; there is nobody left to tell.
            let _ = writeln!(std::io::stderr().lock(), "eudi-issuer: {e:#}");
            ExitCode::from(1)
        }
    }
}
