//! `eudi-issuer review list|approve ID|reject ID`: deferred issuances (OpenID4VCI §9) waiting for
//! a person, e.g. when MitID and the CPR register disagree on a birth date. After approval the
//! wallet gets its credentials at its next poll of the deferred endpoint.

use std::process::ExitCode;

use anyhow::Result;
use eudi_oid4vci::store::DeferredState;
use eudi_trust::Clock as _;
use eudi_trust::SystemClock;
use serde_json::Value;
use serde_json::json;

use crate::cli::Cli;
use crate::cli::ReviewCommand;
use crate::commands;

pub(crate) fn run(cli: &Cli, command: &ReviewCommand) -> Result<ExitCode> {
    commands::block_on(async {
        let config = commands::load_config(cli, None, None)?;
        let store = commands::open_store(&config).await?;
        let now = SystemClock.now();
        let code = match command {
            ReviewCommand::List { json } => {
                let pending = store
                    .issuer()
                    .deferred(Some(DeferredState::Pending), now)
                    .await?;
                if *json {
                    let list: Vec<Value> = pending
                        .iter()
                        .map(|d| {
                            json!({
                                "id": d.id,
                                "state": d.state.as_str(),
                                "reason": d.reason,
                                "created_at": commands::rfc3339(d.created_at),
                                "expires_at": commands::rfc3339(d.expires_at),
                            })
                        })
                        .collect();
                    commands::print(&format!("{}\n", json!({ "deferred": list })))?;
                } else {
                    let mut out = String::new();
                    for d in &pending {
                        out.push_str(&format!(
                            "{}  since {}  {}\n",
                            d.id,
                            commands::rfc3339(d.created_at),
                            d.reason
                        ));
                    }
                    if pending.is_empty() {
                        out.push_str("nothing to review\n");
                    }
                    commands::print(&out)?;
                }
                ExitCode::SUCCESS
            }
            ReviewCommand::Approve(id) | ReviewCommand::Reject(id) => {
                let approve = matches!(command, ReviewCommand::Approve(_));
                match store.issuer().decide_deferred(&id.id, approve, now).await? {
                    Some(record) => {
                        commands::print(&format!("{}: {}\n", record.id, record.state.as_str()))?;
                        ExitCode::SUCCESS
                    }
                    None => {
                        commands::eprint(&format!("eudi-issuer: no pending review {:?}", id.id));
                        ExitCode::from(1)
                    }
                }
            }
        };
        store.close().await;
        Ok(code)
    })
}
