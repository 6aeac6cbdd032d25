//! `eudi-issuer revoke|suspend|reinstate ID`: changes a credential's state and its status list
//! entry in one transaction; `serve` re-signs the list, so the change is visible within its `ttl`.

use std::process::ExitCode;

use anyhow::Result;
use eudi_oid4vci::store::CredentialState;
use eudi_oid4vci::store::StoreError;

use crate::cli::Cli;
use crate::commands;

pub(crate) fn run(cli: &Cli, id: &str, state: CredentialState) -> Result<ExitCode> {
    commands::block_on(async {
        let config = commands::load_config(cli, None, None)?;
        let store = commands::open_store(&config).await?;
        let answer = store.issuer().set_credential_state(id, state).await;
        store.close().await;
        match answer {
            Ok(Some(record)) => {
                commands::print(&format!("{}: {}\n", record.id, record.state.as_str()))?;
                Ok(ExitCode::SUCCESS)
            }
            Ok(None) => {
                commands::eprint(&format!("eudi-issuer: no credential {id:?}"));
                Ok(ExitCode::from(1))
            }
            Err(StoreError::Invalid(reason)) => {
                commands::eprint(&format!("eudi-issuer: {reason}"));
                Ok(ExitCode::from(1))
            }
            Err(e) => Err(e.into()),
        }
    })
}
