//! Revocation as an operator does it, with the binaries as processes (issue 9, "Revocation: a
//! revoked credential reads INVALID in the served list in both forms, and the project's
//! verifier then rejects its presentation as `revoked`"; DESIGN.md contracts for
//! `credentials`, `revoke|suspend|reinstate` and `eudi-verifier verify`).
//!
//! A wallet receives two SD-JWT VCs over the pre-authorized flow; `credentials --identity
//! --json` lists them; `revoke` of one makes the served Status List Token (draft-ietf-oauth-
//! status-list §5, fetched with `Accept: application/statuslist+jwt` and `+cwt`, each verified
//! against the x5c / x5chain chaining to `trust-anchors`) read INVALID at its index, and
//! `eudi-verifier verify` refuses it as `revoked` while the other stays valid; `suspend` reads
//! SUSPENDED and is refused, `reinstate` makes it VALID and accepted again; a revoked one cannot
//! be reinstated and an unknown id exits 1 with a message naming it.

use std::collections::BTreeMap;
use std::error::Error;
use std::process::Command;
use std::sync::Arc;
use std::time::SystemTime;
use std::time::UNIX_EPOCH;

use eudi_http::HttpConfig;
use eudi_http::ReqwestClient;
use eudi_http::UrlPolicy;
use eudi_oid4vci::client::ClientConfig;
use eudi_oid4vci::client::CredentialOutcome;
use eudi_oid4vci::client::DpopKey;
use eudi_oid4vci::client::EncryptResponse;
use eudi_oid4vci::client::IssuerClient;
use eudi_oid4vci::client::resolve_offer;
use eudi_status_list::Status;
use eudi_status_list::UnverifiedStatusListCwt;
use eudi_status_list::UnverifiedStatusListJwt;
use eudi_status_list::VerifiedStatusList;
use eudi_tests::process::Service;
use eudi_tests::process::TempDir;
use eudi_tests::process::binary;
use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::ChainValidator;
use eudi_trust::LeafProfile;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use eudi_trust::TrustAnchors;
use eudi_trust::b64;
use serde_json::Value;

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

const ISSUER: &str = "eudi-issuer";
const VERIFIER: &str = "eudi-verifier";
const IDENTITY: &str = "substantial";
const SD_JWT_FORMAT: &str = "dc+sd-jwt";
const PID_VCT: &str = "urn:eudi:pid:1";
const JWT_TYPE: &str = "application/statuslist+jwt";
const CWT_TYPE: &str = "application/statuslist+cwt";

/// What a command did.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn command(name: &str, args: &[&str], stdin: Option<&str>) -> Result<Ran> {
    use std::io::Write as _;
    let mut child = Command::new(binary(name)?)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    if let (Some(mut input), Some(text)) = (child.stdin.take(), stdin) {
        input.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    Ok(Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// `eudi-issuer ARGS --data-dir DATA`.
fn issuer(data: &TempDir, args: &[&str]) -> Result<Ran> {
    let mut all = args.to_vec();
    all.extend(["--data-dir", data.as_str()]);
    command(ISSUER, &all, None)
}

fn now() -> Result<i64> {
    Ok(i64::try_from(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
    )?)
}

/// The `status.status_list` (`uri`, `idx`) of an SD-JWT VC's issuer-signed JWT.
fn status_entry(sd_jwt: &str) -> Result<(String, u64)> {
    let jwt = sd_jwt.split('~').next().ok_or("empty SD-JWT")?;
    let payload = jwt.split('.').nth(1).ok_or("a JWT without payload")?;
    let claims: Value = serde_json::from_slice(&b64::decode(payload)?)?;
    let list = &claims["status"]["status_list"];
    let uri = list["uri"].as_str().ok_or("no status_list.uri")?;
    let idx = list["idx"].as_u64().ok_or("no status_list.idx")?;
    Ok((uri.to_owned(), idx))
}

/// The issuer as a process, the anchors it prints, and a wallet's two SD-JWT VCs.
struct Setup {
    data: TempDir,
    _service: Service,
    anchors_file: String,
    validator: ChainValidator,
    credentials: Vec<String>,
}

async fn setup() -> Result<Setup> {
    let data = TempDir::new("issuer-revocation")?;
    let service = Service::start(
        ISSUER,
        &[
            "serve",
            "--data-dir",
            data.as_str(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    )?;
    let anchors = issuer(&data, &["trust-anchors"])?;
    assert_eq!(anchors.code, Some(0), "{}", anchors.stderr);
    let anchors_file = data.path().join("anchors.pem");
    std::fs::write(&anchors_file, &anchors.stdout)?;
    let mut trusted = TrustAnchors::new();
    assert!(trusted.add_pem(&anchors.stdout)? >= 1);

    let offer = issuer(&data, &["offer", "--identity", IDENTITY, "--json"])?;
    assert_eq!(offer.code, Some(0), "{}", offer.stderr);
    let offer: Value = serde_json::from_str(&offer.stdout)?;
    let link = offer["offer"].as_str().ok_or("no offer link")?;
    let tx_code = offer["tx_code"].as_str().ok_or("no tx_code")?;

    let http = Arc::new(ReqwestClient::new(
        HttpConfig::default().with_policy(UrlPolicy::allow_private_network()),
    )?);
    let config = ClientConfig::default().with_policy(UrlPolicy::allow_private_network());
    let resolved = resolve_offer(http.as_ref(), link, &config).await?;
    assert_eq!(resolved.credential_issuer, service.url());
    let client = IssuerClient::for_offer(http, &resolved, config).await?;
    let (configuration, _) = client
        .find_configuration(SD_JWT_FORMAT, PID_VCT)
        .ok_or("no SD-JWT VC PID configuration")?;
    let configuration = configuration.to_owned();
    let dpop = Arc::new(SoftwareKey::generate(Algorithm::Es256)?);
    let tokens = client
        .pre_authorized(&resolved, Some(tx_code), DpopKey::new(dpop))
        .await?;
    let holders = [
        SoftwareKey::generate(Algorithm::Es256)?,
        SoftwareKey::generate(Algorithm::Es256)?,
    ];
    let signers = holders.iter().map(|k| k as &dyn Signer).collect::<Vec<_>>();
    let outcome = client
        .request_credentials(
            &tokens,
            &configuration,
            &signers,
            EncryptResponse::IfRequired,
        )
        .await?;
    let CredentialOutcome::Issued { credentials, .. } = outcome else {
        return Err(format!("not issued: {outcome:?}").into());
    };
    let credentials = credentials
        .iter()
        .map(|c| c.credential.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or("an SD-JWT VC that is not a string")?;
    assert_eq!(credentials.len(), 2);
    Ok(Setup {
        _service: service,
        anchors_file: anchors_file.display().to_string(),
        validator: ChainValidator::new(trusted),
        credentials,
        data,
    })
}

impl Setup {
    /// `credentials --identity IDENTITY --json`, by status index.
    fn records(&self) -> Result<BTreeMap<u64, Value>> {
        let listed = issuer(
            &self.data,
            &["credentials", "--identity", IDENTITY, "--json"],
        )?;
        assert_eq!(listed.code, Some(0), "{}", listed.stderr);
        let listed: Value = serde_json::from_str(&listed.stdout)?;
        let mut out = BTreeMap::new();
        for record in listed["credentials"]
            .as_array()
            .ok_or("no credentials array")?
        {
            let index = record["status_index"]
                .as_u64()
                .ok_or("a record without status_index")?;
            assert!(record["id"].is_string(), "{record}");
            assert!(record["format"].is_string(), "{record}");
            assert!(record["state"].is_string(), "{record}");
            out.insert(index, record.clone());
        }
        Ok(out)
    }

    /// The served status list at `uri` in `media_type`, verified with the key of its
    /// certificate chain, which must chain to the trust anchors.
    async fn served(&self, uri: &str, media_type: &str) -> Result<VerifiedStatusList> {
        let response = reqwest::Client::new()
            .get(uri)
            .header("accept", media_type)
            .send()
            .await?;
        assert_eq!(response.status(), 200, "GET {uri} as {media_type}");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(content_type.starts_with(media_type), "{content_type}");
        let body = response.bytes().await?;
        let now = now()?;
        let policy = AlgorithmPolicy::default();
        let verified = if media_type == JWT_TYPE {
            let text = std::str::from_utf8(&body)?.trim();
            let token = UnverifiedStatusListJwt::parse(text)?;
            let x5c = token
                .header()
                .x5c
                .clone()
                .ok_or("a status list JWT without x5c")?;
            let chain = self.validator.validate_x5c(&x5c, now, LeafProfile::Any)?;
            token.verify(&chain.leaf_key, &policy, uri, now)?
        } else {
            let token = UnverifiedStatusListCwt::parse(&body)?;
            let ders = token
                .x5chain()
                .iter()
                .map(Vec::as_slice)
                .collect::<Vec<_>>();
            if ders.is_empty() {
                return Err("a status list CWT without x5chain".into());
            }
            let chain = self.validator.validate_der(&ders, now, LeafProfile::Any)?;
            token.verify(&chain.leaf_key, &policy, uri, now)?
        };
        Ok(verified)
    }

    /// The status at `idx` of the list at `uri`, the same in the JWT and the CWT form.
    async fn status(&self, uri: &str, idx: u64) -> Result<Status> {
        let jwt = self.served(uri, JWT_TYPE).await?.list().status(idx)?;
        let cwt = self.served(uri, CWT_TYPE).await?.list().status(idx)?;
        assert_eq!(jwt, cwt, "the JWT and CWT forms disagree at {idx}");
        Ok(jwt)
    }

    /// `eudi-verifier verify --trust ANCHORS --allow-private-network -`: the JSON it printed
    /// and its exit code.
    fn verify(&self, credential: &str) -> Result<(Option<i32>, Value)> {
        let ran = command(
            VERIFIER,
            &[
                "verify",
                "--trust",
                &self.anchors_file,
                "--allow-private-network",
                "-",
            ],
            Some(credential),
        )?;
        let json: Value = serde_json::from_str(&ran.stdout)
            .map_err(|e| format!("verify printed no JSON ({e}): {}{}", ran.stdout, ran.stderr))?;
        Ok((ran.code, json))
    }
}

fn error_codes(answer: &Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_suspend_and_reinstate_show_in_both_list_forms_and_the_verifier() -> Result<()> {
    let setup = setup().await?;
    let (uri_a, idx_a) = status_entry(&setup.credentials[0])?;
    let (uri_b, idx_b) = status_entry(&setup.credentials[1])?;
    assert_ne!((&uri_a, idx_a), (&uri_b, idx_b));

    // The records: one per credential, by the index the credential carries.
    let records = setup.records()?;
    assert_eq!(records.len(), 2);
    let record_a = records.get(&idx_a).ok_or("no record for credential a")?;
    let record_b = records.get(&idx_b).ok_or("no record for credential b")?;
    for record in [record_a, record_b] {
        assert_eq!(record["format"], SD_JWT_FORMAT);
        assert_eq!(record["state"], "valid");
    }
    let id_a = record_a["id"].as_str().ok_or("no id")?.to_owned();
    let id_b = record_b["id"].as_str().ok_or("no id")?.to_owned();
    // No claim values in the records (the minimum revocation needs).
    assert!(!record_a.to_string().contains("CPR"), "{record_a}");

    // Valid to begin with, in both forms, and to the verifier.
    assert_eq!(setup.status(&uri_a, idx_a).await?, Status::Valid);
    assert_eq!(setup.status(&uri_b, idx_b).await?, Status::Valid);
    let (code, answer) = setup.verify(&setup.credentials[0])?;
    assert_eq!(code, Some(0), "{answer}");
    assert_eq!(answer["valid"], true);

    // Revoked: INVALID in both forms, the verifier says `revoked`; the other one is untouched.
    let revoked = issuer(&setup.data, &["revoke", &id_a])?;
    assert_eq!(revoked.code, Some(0), "{}", revoked.stderr);
    assert_eq!(setup.status(&uri_a, idx_a).await?, Status::Invalid);
    assert_eq!(setup.status(&uri_b, idx_b).await?, Status::Valid);
    let (code, answer) = setup.verify(&setup.credentials[0])?;
    assert_eq!(code, Some(1), "{answer}");
    assert_eq!(answer["valid"], false);
    assert!(
        error_codes(&answer).contains(&"revoked".to_owned()),
        "{answer}"
    );
    let (code, answer) = setup.verify(&setup.credentials[1])?;
    assert_eq!(code, Some(0), "{answer}");
    let records = setup.records()?;
    assert_eq!(records[&idx_a]["state"], "revoked");
    assert_eq!(records[&idx_b]["state"], "valid");

    // Suspended: SUSPENDED in both forms and refused as such …
    let suspended = issuer(&setup.data, &["suspend", &id_b])?;
    assert_eq!(suspended.code, Some(0), "{}", suspended.stderr);
    assert_eq!(setup.status(&uri_b, idx_b).await?, Status::Suspended);
    let (code, answer) = setup.verify(&setup.credentials[1])?;
    assert_eq!(code, Some(1), "{answer}");
    assert!(
        error_codes(&answer).contains(&"suspended".to_owned()),
        "{answer}"
    );
    assert_eq!(setup.records()?[&idx_b]["state"], "suspended");
    // … until reinstated: VALID and accepted again.
    let reinstated = issuer(&setup.data, &["reinstate", &id_b])?;
    assert_eq!(reinstated.code, Some(0), "{}", reinstated.stderr);
    assert_eq!(setup.status(&uri_b, idx_b).await?, Status::Valid);
    let (code, answer) = setup.verify(&setup.credentials[1])?;
    assert_eq!(code, Some(0), "{answer}");
    assert_eq!(setup.records()?[&idx_b]["state"], "valid");

    // Revocation is final.
    let back = issuer(&setup.data, &["reinstate", &id_a])?;
    assert_eq!(back.code, Some(1), "{}", back.stdout);
    assert!(!back.stderr.trim().is_empty());
    assert_eq!(setup.status(&uri_a, idx_a).await?, Status::Invalid);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_credential_id_exits_1_and_changes_nothing() -> Result<()> {
    let setup = setup().await?;
    let (uri, idx) = status_entry(&setup.credentials[0])?;
    let before = setup.records()?;
    for action in ["revoke", "suspend", "reinstate"] {
        let ran = issuer(&setup.data, &[action, "no-such-credential-id"])?;
        assert_eq!(ran.code, Some(1), "{action}: {}", ran.stdout);
        assert!(ran.stdout.trim().is_empty(), "{action}: {}", ran.stdout);
        assert!(
            ran.stderr.contains("no-such-credential-id"),
            "{action} does not name the id: {}",
            ran.stderr
        );
    }
    assert_eq!(setup.records()?, before);
    assert_eq!(setup.status(&uri, idx).await?, Status::Valid);
    Ok(())
}
