//! The command line, as clap types; [`crate::verify`] resolves them into what the pipeline takes.

use std::path::PathBuf;

use clap::Args;
use clap::Parser;
use clap::Subcommand;

#[derive(Debug, Parser)]
#[command(
    name = "eudi-verifier",
    version,
    about = "Verify EUDI wallet presentations"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify one presentation (SD-JWT VC, or mdoc DeviceResponse / IssuerSigned) and print a
    /// JSON report.
    ///
    /// Exit status: 0 valid, 1 invalid, 2 usage error.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Trust anchors and issuer keys: PEM certificates, a JWK or JWK Set, or JWT VC Issuer
    /// Metadata. `=LEVEL` caps the level of assurance of credentials under it (low,
    /// substantial, high); `@ISSUER` binds a JWK (Set) to the issuer identifier it vouches for
    /// (an unbound key vouches only for credentials without `iss`); a `mdoc:` or `sd-jwt:`
    /// prefix says what a PEM anchor validates (unlabelled: classified by the ISO/IEC 18013-5
    /// Annex B profiles). Repeatable.
    #[arg(
        long = "trust",
        value_name = "[mdoc:|sd-jwt:]FILE[=LEVEL][@ISSUER]",
        env = "EUDI_VERIFIER_TRUST",
        value_delimiter = ','
    )]
    pub(crate) trust: Vec<String>,
    /// Require holder binding with this nonce (give `--aud` too).
    #[arg(long, requires = "aud")]
    pub(crate) nonce: Option<String>,
    /// Require holder binding to this audience, the verifier's client_id (give `--nonce` too).
    #[arg(long, requires = "nonce")]
    pub(crate) aud: Option<String>,
    /// mdoc: build the OpenID4VP 1.0 SessionTranscript from this handover; JWK_THUMBPRINT is the
    /// base64url RFC 7638 SHA-256 thumbprint of the response encryption key.
    #[arg(long, value_name = "CLIENT_ID,NONCE,RESPONSE_URI[,JWK_THUMBPRINT]")]
    pub(crate) handover: Option<String>,
    /// mdoc: the SessionTranscript CBOR, hex, for any other handover.
    #[arg(long, value_name = "HEX", conflicts_with = "handover")]
    pub(crate) session_transcript: Option<String>,
    /// Verify as of this time (RFC 3339), e.g. for old test vectors.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) now: Option<String>,
    /// Do not check the credential's status list.
    #[arg(long)]
    pub(crate) no_status: bool,
    /// A Status List Token (JWT, or CWT as bytes or hex) to use instead of fetching: one must be
    /// the credential issuer's list for its status URI, nothing is fetched. Repeatable.
    #[arg(long = "status-list", value_name = "FILE")]
    pub(crate) status_lists: Vec<PathBuf>,
    /// For development and tests only: let status list fetches reach private, loopback and
    /// link-local addresses (refused by default, so that an issuer-chosen URL cannot reach
    /// services on the verifier's network).
    #[arg(long, env = "EUDI_VERIFIER_ALLOW_PRIVATE_NETWORK")]
    pub(crate) allow_private_network: bool,
    /// The presentation: a file, or `-` (the default) for standard input.
    #[arg(default_value = "-")]
    pub(crate) input: String,
}
