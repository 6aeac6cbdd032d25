//! One module per subcommand, and what they share: the configuration (file, `EUDI_ISSUER_*`,
//! command line), the data dir, and the keys.

mod credentials;
mod offer;
mod review;
mod serve;
mod status;
mod trust_anchors;

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use anyhow::Result;
use eudi_issuer::config::Config;
use eudi_issuer::config::Overrides;
use eudi_issuer::data_dir::DataDir;
use eudi_issuer::pki::IssuerKeys;
use eudi_oid4vci::store::CredentialState;
use eudi_store::Store;
use eudi_store::StoreOptions;
use eudi_trust::Clock;
use url::Url;

use crate::cli::Cli;
use crate::cli::Command;

/// Runs the command.
pub(crate) fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Serve(args) => serve::run(&cli, args),
        Command::Offer(args) => offer::run(&cli, args),
        Command::TrustAnchors => trust_anchors::run(&cli),
        Command::Credentials(args) => credentials::run(&cli, args),
        Command::Revoke(id) => status::run(&cli, &id.id, CredentialState::Revoked),
        Command::Suspend(id) => status::run(&cli, &id.id, CredentialState::Suspended),
        Command::Reinstate(id) => status::run(&cli, &id.id, CredentialState::Valid),
        Command::Review(command) => review::run(&cli, command),
    }
}

/// Runs `future` on a runtime of its own (the admin subcommands are short).
pub(crate) fn block_on<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(future)
}

/// A Unix time as RFC 3339 (the number itself if out of range).
pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Writes a line to stderr (nobody to tell if that fails).
pub(crate) fn eprint(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The configuration for this command line (`listen`/`public_url` only from `serve`).
pub(crate) fn load_config(
    cli: &Cli,
    listen: Option<SocketAddr>,
    public_url: Option<&str>,
) -> Result<Config> {
    let public_url = public_url
        .map(|u| Url::parse(u).with_context(|| format!("--public-url {u:?} is not a URL")))
        .transpose()?;
    let overrides = Overrides {
        listen,
        public_url,
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    Ok(Config::load(
        cli.config.as_deref(),
        std::env::vars(),
        &overrides,
    )?)
}

/// The data dir, created if missing.
pub(crate) fn data_dir(config: &Config) -> Result<DataDir> {
    Ok(DataDir::create(config.data_dir())?)
}

/// The public URL the other subcommands use: the one `serve` recorded in the data dir, else
/// the configured one, else the listen URL.
pub(crate) fn recorded_public_url(config: &Config, data_dir: &DataDir) -> Result<Url> {
    if let Some(record) = data_dir.read_serve_record()? {
        return Url::parse(&record.public_url)
            .with_context(|| format!("{} holds no URL", eudi_issuer::data_dir::SERVE_FILE));
    }
    Ok(config.public_url_or(config.listen)?)
}

/// The issuer's keys (the development PKI is generated on first use).
pub(crate) fn keys(config: &Config, public_url: &Url, clock: &dyn Clock) -> Result<IssuerKeys> {
    Ok(IssuerKeys::load_or_generate(
        &config.keys_dir(),
        &config.keys,
        "DK",
        &eudi_issuer::config::issuer_identifier(public_url),
        clock,
    )?)
}

/// Opens (and migrates) the configured store: SQLite in the data dir by default.
pub(crate) async fn open_store(config: &Config) -> Result<Store> {
    let url = config.database_url();
    eudi_store::open(url.expose(), &StoreOptions::default())
        .await
        .context("cannot open the database")
}

/// Writes `text` to stdout.
pub(crate) fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
