//! `eudi-verifier`: the relying party's side of the EUDI wallet ecosystem.
//!
//! `eudi-verifier verify` checks one presentation offline and prints one JSON report (the
//! contract in DESIGN.md). All verification logic lives in the `eudi-verify` crate; this binary
//! only parses arguments, reads files and prints.
#![forbid(unsafe_code)]

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use eudi_verify::fetch::{Fetcher, HttpFetcher};
use eudi_verify::{CredentialVerifier, Expectations, Handover, TrustConfig, load_trust_file};

#[derive(Debug, Parser)]
#[command(
    name = "eudi-verifier",
    version,
    about = "Verify EUDI wallet presentations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify one presentation (SD-JWT VC, or mdoc DeviceResponse / IssuerSigned) and print a
    /// JSON report.
    ///
    /// Exit status: 0 valid, 1 invalid, 2 usage error.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Trust anchors: PEM certificates, or a JWK / JWK Set. `FILE=LEVEL` caps the level of
    /// assurance of credentials under it (low, substantial, high). Repeatable.
    #[arg(
        long = "trust",
        value_name = "FILE[=LEVEL]",
        env = "EUDI_VERIFIER_TRUST",
        value_delimiter = ','
    )]
    trust: Vec<String>,
    /// Require holder binding with this nonce.
    #[arg(long)]
    nonce: Option<String>,
    /// Require holder binding to this audience (the verifier's client_id).
    #[arg(long)]
    aud: Option<String>,
    /// mdoc: build the OpenID4VP 1.0 SessionTranscript from this handover; JWK_THUMBPRINT is the
    /// base64url RFC 7638 SHA-256 thumbprint of the response encryption key.
    #[arg(long, value_name = "CLIENT_ID,NONCE,RESPONSE_URI[,JWK_THUMBPRINT]")]
    handover: Option<String>,
    /// mdoc: the SessionTranscript CBOR, hex, for any other handover.
    #[arg(long, value_name = "HEX", conflicts_with = "handover")]
    session_transcript: Option<String>,
    /// Verify as of this time (RFC 3339), e.g. for old test vectors.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Do not check the credential's status list.
    #[arg(long)]
    no_status: bool,
    /// A Status List Token (JWT, or CWT as bytes or hex) to use instead of fetching. Repeatable.
    #[arg(long = "status-list", value_name = "FILE")]
    status_lists: Vec<PathBuf>,
    /// The presentation: a file, or `-` (the default) for standard input.
    #[arg(default_value = "-")]
    input: String,
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("eudi-verifier: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Verify(args) => verify(args),
    }
}

fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let mut trust = TrustConfig::new();
    for spec in &args.trust {
        load_trust_file(&mut trust, spec)?;
    }
    let now = args
        .now
        .as_deref()
        .map(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map(|t| t.unix_timestamp())
                .with_context(|| format!("--now {s:?} is not an RFC 3339 time"))
        })
        .transpose()?;
    let status_lists = args
        .status_lists
        .iter()
        .map(|p| {
            std::fs::read(p).with_context(|| format!("cannot read status list {}", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let input = if args.input == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the presentation from standard input")?;
        s
    } else {
        std::fs::read_to_string(&args.input)
            .with_context(|| format!("cannot read the presentation from {}", args.input))?
    };

    let handover = args
        .handover
        .as_deref()
        .map(|h| h.parse::<Handover>().context("--handover"))
        .transpose()?;
    let session_transcript = args
        .session_transcript
        .as_deref()
        .map(|hex| eudi_verify::decode_hex(hex).context("--session-transcript"))
        .transpose()?;

    let fetcher: Arc<dyn Fetcher> = Arc::new(HttpFetcher::new()?);
    let verifier = CredentialVerifier::new(trust, fetcher);
    let expect = Expectations {
        nonce: args.nonce,
        audience: args.aud,
        now,
        skip_status: args.no_status,
        status_lists,
        handover,
        session_transcript,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(verifier.verify(&input, &expect));
    let json = serde_json::to_string_pretty(&report).context("cannot print the report")?;
    #[expect(clippy::print_stdout, reason = "the report is this command's output")]
    {
        println!("{json}");
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
