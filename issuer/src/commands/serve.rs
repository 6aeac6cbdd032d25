//! `eudi-issuer serve`: the issuer service. Opens the store (SQLite in the data dir, or the
//! configured database), loads or generates the keys, binds, records `serve.json`, prints
//! `listening on <URL>` once it accepts connections, and stops gracefully on SIGINT/SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use anyhow::Result;
use eudi_issuer::config::Config;
use eudi_issuer::config::LogFormat;
use eudi_issuer::data_dir::ServeRecord;
use eudi_trust::Clock;
use eudi_trust::SystemClock;
use tracing_subscriber::EnvFilter;

use crate::cli::Cli;
use crate::cli::ServeArgs;
use crate::commands;

/// How often expired protocol records are purged (correctness never depends on it).
pub(crate) const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// The log filter when `EUDI_ISSUER_LOG` is not set.
pub(crate) const DEFAULT_LOG_FILTER: &str = "info";

pub(crate) fn run(cli: &Cli, args: &ServeArgs) -> Result<ExitCode> {
    let config = commands::load_config(cli, args.listen, args.public_url.as_deref())?;
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_env("EUDI_ISSUER_LOG")
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (not in this binary) would fail; nothing to do about it then.
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn serve(config: Config) -> Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let data_dir = commands::data_dir(&config)?;
    let store = commands::open_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let bound = listener.local_addr()?;
    let public_url = config.public_url_or(bound)?;
    let state =
        eudi_issuer::web::wiring::build(&config, &public_url, store.issuer(), clock.clone())
            .await?;
    let app = eudi_issuer::web::app(state);
    data_dir.write_serve_record(&ServeRecord {
        public_url: eudi_issuer::config::issuer_identifier(&public_url),
        listen: bound.to_string(),
        pid: std::process::id(),
        started_at: clock.now(),
    })?;
    let purger = {
        let store = store.issuer();
        let clock = clock.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PURGE_INTERVAL);
            loop {
                tick.tick().await;
                match store.purge_expired(clock.now()).await {
                    Ok(removed) => tracing::debug!(removed, "expired records purged"),
                    Err(e) => tracing::warn!(error = %e, "cannot purge expired records"),
                }
            }
        })
    };
    // Handlers are installed before anyone learns the URL, so a signal sent right after the
    // `listening on` line is a graceful stop, never the default termination.
    let shutdown = shutdown_signal()?;
    tracing::info!(listen = %bound, public_url = %public_url, store = store.backend(), "serving");
    commands::print(&format!("listening on http://{bound}\n"))?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("the server failed")?;
    purger.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Installs the SIGINT and SIGTERM handlers now; the future resolves on either.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl Future<Output = ()>> {
    use tokio::signal::unix::SignalKind;
    use tokio::signal::unix::signal;

    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutting down");
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    })
}
