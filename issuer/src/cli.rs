//! The command line, as clap types (the contract is in DESIGN.md, "Contracts"). `--data-dir`,
//! `--config` and `--database-url` are global, so they are accepted anywhere on the line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use clap::Parser;
use clap::Subcommand;

#[derive(Debug, Parser)]
#[command(
    name = "eudi-issuer",
    version,
    about = "The PID issuer: OpenID4VCI 1.0 issuance of the EU PID from a MitID login"
)]
pub(crate) struct Cli {
    /// Where all state and generated keys live (default: the user's data directory).
    #[arg(long, global = true, env = "EUDI_ISSUER_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// The TOML configuration file (see issuer.example.toml).
    #[arg(long, global = true, env = "EUDI_ISSUER_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The database: `sqlite://…` or `postgres://…` (default: SQLite in the data dir). Its value
    /// may hold a password: `--help` never shows it.
    #[arg(
        long,
        global = true,
        env = "EUDI_ISSUER_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the issuer service; prints `listening on <URL>` once it accepts connections.
    Serve(ServeArgs),
    /// Make a pre-authorized offer for a person checked in person (a Citizen Service): prints
    /// the `openid-credential-offer://` link and the transaction code.
    Offer(OfferArgs),
    /// Print, as PEM, the certificates a verifier must trust for this issuer's credentials.
    TrustAnchors,
    /// List the credentials issued to an identity.
    Credentials(CredentialsArgs),
    /// Revoke a credential for good (status INVALID).
    Revoke(CredentialId),
    /// Suspend a credential (status SUSPENDED).
    Suspend(CredentialId),
    /// Reinstate a suspended credential (status VALID).
    Reinstate(CredentialId),
    /// Deferred issuances waiting for a person's review.
    #[command(subcommand)]
    Review(ReviewCommand),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, env = "EUDI_ISSUER_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,
    /// The URL wallets see (the credential issuer identifier); default: the listen URL.
    #[arg(long, env = "EUDI_ISSUER_PUBLIC_URL", value_name = "URL")]
    pub(crate) public_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct OfferArgs {
    /// The MitID test identity (its user name) or register person the offer is for.
    #[arg(long, value_name = "USER")]
    pub(crate) identity: String,
    /// Print `{"offer":…,"tx_code":…}`.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CredentialsArgs {
    /// The identity whose credentials to list.
    #[arg(long, value_name = "USER")]
    pub(crate) identity: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CredentialId {
    /// The credential's id (from `eudi-issuer credentials`). Ids are base64url and may start
    /// with `-`, so a leading `-` is part of the id, not an option.
    #[arg(allow_hyphen_values = true)]
    pub(crate) id: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReviewCommand {
    /// List deferred issuances waiting for review.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve one: the wallet gets the credentials at its next poll.
    Approve(CredentialId),
    /// Reject one.
    Reject(CredentialId),
}
