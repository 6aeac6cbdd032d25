//! `eudi-issuer trust-anchors`: the certificates a verifier must trust, as PEM (the IACA for
//! mdoc and the root of the SD-JWT VC `x5c` chains).

use std::process::ExitCode;

use anyhow::Result;
use eudi_trust::SystemClock;

use crate::cli::Cli;
use crate::commands;

pub(crate) fn run(cli: &Cli) -> Result<ExitCode> {
    let config = commands::load_config(cli, None, None)?;
    let data_dir = commands::data_dir(&config)?;
    let public_url = commands::recorded_public_url(&config, &data_dir)?;
    let keys = commands::keys(&config, &public_url, &SystemClock)?;
    commands::print(&keys.trust_anchors_pem())?;
    Ok(ExitCode::SUCCESS)
}
