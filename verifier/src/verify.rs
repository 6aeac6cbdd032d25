//! `eudi-verifier verify`: resolves the arguments, runs the typed pipeline, prints the report.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use anyhow::Result;
use eudi_trust::clock::Clock;
use eudi_verify::Context;
use eudi_verify::ErrorCode;
use eudi_verify::KeyBinding;
use eudi_verify::Policy;
use eudi_verify::SessionTranscript;
use eudi_verify::StatusCheck;
use eudi_verify::StatusSource;
use eudi_verify::TrustConfig;
use eudi_verify::fetch::Fetcher;
use eudi_verify::fetch::HttpFetcher;
use eudi_verify::verify_mdoc;
use eudi_verify::verify_sd_jwt;

use crate::cli::VerifyArgs;
use crate::input::Detected;
use crate::input::Handover;
use crate::input::Input;
use crate::input::{self};
use crate::report::Report;
use crate::trust_file;

/// The clock of `--now`, or the system's.
#[derive(Debug)]
struct FixedOrSystem(Option<i64>);

impl Clock for FixedOrSystem {
    fn now(&self) -> i64 {
        self.0.unwrap_or_else(|| eudi_trust::SystemClock.now())
    }
}

/// The status list fetcher: https to public addresses only, unless `--allow-private-network`
/// (development and tests) also allows plain http and private and loopback addresses.
fn fetcher(allow_private_network: bool) -> Result<Arc<dyn Fetcher>> {
    let fetcher = if allow_private_network {
        HttpFetcher::allowing_private_network()?
    } else {
        HttpFetcher::new()?
    };
    Ok(Arc::new(fetcher))
}

pub(crate) fn run(args: VerifyArgs) -> Result<ExitCode> {
    let mut trust = TrustConfig::new();
    for spec in &args.trust {
        trust_file::load(&mut trust, spec)?;
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
    // clap makes --nonce and --aud require each other: holder binding is one pair.
    let binding = match (args.nonce, args.aud) {
        (Some(nonce), Some(audience)) => Some(KeyBinding { nonce, audience }),
        _ => None,
    };
    let handover = args
        .handover
        .as_deref()
        .map(|h| h.parse::<Handover>().context("--handover"))
        .transpose()?;
    let session_transcript = args
        .session_transcript
        .as_deref()
        .map(|hex| input::decode_hex(hex).context("--session-transcript"))
        .transpose()?
        .map(|bytes| SessionTranscript::from_cbor(&bytes).context("--session-transcript"))
        .transpose()?
        .or_else(|| handover.as_ref().map(Handover::transcript));
    let input = input::read(&args.input)?;

    let source = StatusSource::new(fetcher(args.allow_private_network)?);
    let status = if args.no_status {
        StatusCheck::Skip
    } else if status_lists.is_empty() {
        StatusCheck::Fetch(&source)
    } else {
        StatusCheck::Supplied(&status_lists)
    };
    let clock = FixedOrSystem(now);
    let context = Context {
        trust: &trust,
        status,
        clock: &clock,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(verify(
        input,
        binding.as_ref(),
        session_transcript.as_ref(),
        &context,
    ));
    print(&report)?;
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn verify(
    input: Input,
    binding: Option<&KeyBinding>,
    transcript: Option<&SessionTranscript>,
    context: &Context<'_>,
) -> Report {
    let policy = Policy::default();
    let text = match input {
        Input::Text(text) => text,
        Input::TooLarge => {
            return Report::malformed(
                ErrorCode::TooLarge,
                &format!(
                    "the presentation is larger than {} bytes",
                    input::MAX_INPUT_BYTES
                ),
            );
        }
        Input::NotUtf8 => {
            return Report::malformed(
                ErrorCode::Malformed,
                "the presentation is not UTF-8 text (an SD-JWT, or an mdoc as hex or base64url)",
            );
        }
    };
    let text = text.trim();
    match input::detect(text) {
        Detected::SdJwt => match verify_sd_jwt(text, binding, context, &policy).await {
            Ok(credential) => Report::valid(std::slice::from_ref(&credential)),
            Err(failure) => Report::invalid(failure),
        },
        Detected::Mdoc => {
            let Ok(bytes) = eudi_mdoc::decode_text(text) else {
                return Report::malformed(ErrorCode::Malformed, "not hex or base64url CBOR");
            };
            if binding.is_some() && transcript.is_none() {
                return Report::invalid(eudi_verify::Failure::new(
                    ErrorCode::KeyBindingRequired,
                    "holder binding of an mdoc is checked over a session transcript: give the OpenID4VP handover (client_id, nonce, response_uri) or the transcript itself",
                    Some(eudi_verify::CredentialFormat::Mdoc),
                ));
            }
            match verify_mdoc(&bytes, transcript, context, &policy).await {
                Ok(credentials) => Report::valid(&credentials),
                Err(failure) => Report::invalid(failure),
            }
        }
        Detected::Unknown => Report::malformed(
            ErrorCode::Malformed,
            "input is neither an SD-JWT (compact or JSON) nor an mdoc",
        ),
    }
}

/// Prints the report as one JSON object. A closed standard output (`| head -c1`) is not an
/// error: whoever reads has what it wanted.
fn print(report: &Report) -> Result<()> {
    let json = serde_json::to_string_pretty(report).context("cannot print the report")?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{json}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write the report")
        }
        _ => Ok(()),
    }
}
