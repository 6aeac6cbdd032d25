//! `eudi-issuer credentials --identity USER [--json]`: the credentials issued to an identity,
//! from what the store keeps for revocation (no claim values).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use eudi_issuer::web::wiring;
use eudi_oid4vci::store::CredentialRecord;
use eudi_trust::Clock;
use eudi_trust::SystemClock;
use serde_json::Value;
use serde_json::json;

use crate::cli::Cli;
use crate::cli::CredentialsArgs;
use crate::commands;
use crate::commands::offer;

pub(crate) fn run(cli: &Cli, args: &CredentialsArgs) -> Result<ExitCode> {
    commands::block_on(async {
        let config = commands::load_config(cli, None, None)?;
        let data_dir = commands::data_dir(&config)?;
        let public_url = commands::recorded_public_url(&config, &data_dir)?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store = commands::open_store(&config).await?;
        let parts = wiring::parts(&config, &public_url, store.issuer(), clock)?;
        let subject = offer::find_subject(&config, &args.identity)?;
        let key = subject.identity_key(parts.keys.identity_secret());
        let records = store.issuer().credentials_of(&key).await?;
        store.close().await;
        if args.json {
            let list: Vec<Value> = records.iter().map(to_json).collect();
            commands::print(&format!("{}\n", json!({ "credentials": list })))?;
        } else {
            let mut out = String::new();
            for r in &records {
                out.push_str(&format!(
                    "{}  {:<10} {:<9} list {} index {}  issued {}  expires {}\n",
                    r.id,
                    r.format,
                    r.state.as_str(),
                    r.status.list,
                    r.status.index,
                    commands::rfc3339(r.issued_at),
                    commands::rfc3339(r.expires_at),
                ));
            }
            if records.is_empty() {
                out.push_str("no credentials\n");
            }
            commands::print(&out)?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// One record as JSON.
pub(crate) fn to_json(r: &CredentialRecord) -> Value {
    json!({
        "id": r.id,
        "format": r.format,
        "configuration_id": r.configuration_id,
        "status_list": r.status.list,
        "status_index": r.status.index,
        "state": r.state.as_str(),
        "issued_at": commands::rfc3339(r.issued_at),
        "expires_at": commands::rfc3339(r.expires_at),
    })
}
