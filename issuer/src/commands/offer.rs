//! `eudi-issuer offer --identity USER [--json]`: the in-person path (a caseworker has checked the
//! person, as at a Citizen Service). Makes a pre-authorized offer of both PID configurations
//! with a transaction code, through the store `serve` uses, for a MitID test identity (by user
//! name) or a person of the CPR register (by CPR number). An identity the PID rules refuse gets
//! no offer: exit 1 with the rule's reason on stderr.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use anyhow::bail;
use eudi_issuer::config::Config;
use eudi_issuer::subject::Subject;
use eudi_issuer::web::wiring;
use eudi_pid::Cpr;
use eudi_pid::TestIdentity;
use eudi_trust::AssuranceLevel;
use eudi_trust::Clock;
use eudi_trust::SystemClock;
use serde_json::json;

use crate::cli::Cli;
use crate::cli::OfferArgs;
use crate::commands;

/// The level of assurance of a person identified in person at a Citizen Service.
pub(crate) const IN_PERSON_LEVEL: AssuranceLevel = AssuranceLevel::High;

pub(crate) fn run(cli: &Cli, args: &OfferArgs) -> Result<ExitCode> {
    commands::block_on(async {
        let config = commands::load_config(cli, None, None)?;
        let data_dir = commands::data_dir(&config)?;
        let public_url = commands::recorded_public_url(&config, &data_dir)?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store = commands::open_store(&config).await?;
        let parts = wiring::parts(&config, &public_url, store.issuer(), clock.clone())?;
        let subject = find_subject(&config, &args.identity)?;
        if let Err(denied) = parts.minter.check(&subject, clock.now()).await {
            commands::eprint(&format!(
                "eudi-issuer: no offer ({}): {denied}",
                denied.code
            ));
            store.close().await;
            return Ok(ExitCode::from(1));
        }
        let created = parts
            .issuer
            .create_pre_authorized_offer(
                &subject.encode(),
                &wiring::configuration_ids(),
                true,
                false,
            )
            .await?;
        store.close().await;
        if args.json {
            let out = json!({ "offer": created.uri, "tx_code": created.tx_code });
            commands::print(&format!("{out}\n"))?;
        } else {
            let tx = created.tx_code.as_deref().unwrap_or("(none)");
            commands::print(&format!("{}\ntransaction code: {tx}\n", created.uri))?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The test identities the embedded provider logs in (the configured file, or the built-in ones).
pub(crate) fn test_identities(config: &Config) -> Result<Vec<TestIdentity>> {
    Ok(match &config.mitid.test_identities {
        Some(path) => eudi_pid::test_identities::load_test_identities(path)?,
        None => eudi_pid::default_test_identities(),
    })
}

/// A test identity by user name, else a register person by CPR number.
pub(crate) fn find_subject(config: &Config, identity: &str) -> Result<Subject> {
    if let Some(found) = test_identities(config)?
        .iter()
        .find(|t| t.username == identity)
    {
        return Ok(Subject::from_test_identity(found));
    }
    if let Ok(cpr) = identity.parse::<Cpr>() {
        let register = wiring::file_register(config)?;
        if let Some(record) = register.get(&cpr) {
            return Ok(Subject::from_register(record, IN_PERSON_LEVEL));
        }
    }
    bail!("no test identity or register person {identity:?}")
}
