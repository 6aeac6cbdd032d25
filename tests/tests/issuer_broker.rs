//! The issuer in broker mode against a MitID provider that runs as a separate process at another
//! URL, as a real MitID broker would (issue 9, "Tests that must pass in CI"): the issuer finds it
//! by discovery, sends the person there, and redeems the code over the network with its client
//! secret.
//!
//! The provider process is this test executable run again with only [`mitid_provider_process`]
//! selected: it serves `eudi-mitid-test-provider` at the root of its own loopback port, with the
//! issuer registered as a confidential client for its two callbacks. The wallet side is
//! `eudi_oid4vci::client` over real HTTP: PAR → authorize (redirect to the provider) → the
//! provider's login form POST → the issuer's callback → code → token → credential. What it
//! receives is checked with `eudi-verifier verify` against `trust-anchors`: the claims are the
//! test identity's. A refused identity (MitID Erhverv) ends at the wallet as `access_denied`
//! with the rule in words.

use std::error::Error;
use std::net::TcpListener;
use std::process::Command;
use std::process::Stdio;
use std::sync::Arc;

use eudi_http::HttpConfig;
use eudi_http::ReqwestClient;
use eudi_http::UrlPolicy;
use eudi_mitid_test_provider::ProviderConfig;
use eudi_mitid_test_provider::ProviderState;
use eudi_mitid_test_provider::RegisteredClient;
use eudi_oid4vci::client::AuthorizationStart;
use eudi_oid4vci::client::ClientConfig;
use eudi_oid4vci::client::CredentialOutcome;
use eudi_oid4vci::client::DpopKey;
use eudi_oid4vci::client::EncryptResponse;
use eudi_oid4vci::client::IssuerClient;
use eudi_tests::process::Service;
use eudi_tests::process::TempDir;
use eudi_tests::process::binary;
use eudi_trust::Algorithm;
use eudi_trust::Signer;
use eudi_trust::SoftwareKey;
use serde_json::Value;
use url::Url;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const ISSUER: &str = "eudi-issuer";
const VERIFIER: &str = "eudi-verifier";
/// Set (to the issuer's callback URLs, comma-separated) only in the provider process.
const PROVIDER_CALLBACKS: &str = "EUDI_IT_MITID_PROVIDER_CALLBACKS";
/// The issuer's client at the provider.
const CLIENT_ID: &str = "pid-issuer-under-test";
/// Its secret at the provider (a test value, given to both processes).
const CLIENT_SECRET: &str = "broker-test-secret-7f3a9c";
/// The wallet's redirect URI: loopback, unregistered (RFC 8252); nothing listens there.
const WALLET_REDIRECT: &str = "http://127.0.0.1:9/callback";
const SD_JWT_FORMAT: &str = "dc+sd-jwt";
const PID_VCT: &str = "urn:eudi:pid:1";

/// The MitID provider process. Started by [`issuer_in_broker_mode_logs_in_at_a_provider_process`]
/// through this executable; on its own (no [`PROVIDER_CALLBACKS`]) it returns at once.
#[tokio::test]
#[ignore = "the MitID provider process of the broker test, started by that test; not a test itself"]
async fn mitid_provider_process() {
    let Ok(callbacks) = std::env::var(PROVIDER_CALLBACKS) else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let config = ProviderConfig::new(
        url.clone(),
        vec![RegisteredClient::confidential(
            CLIENT_ID,
            CLIENT_SECRET,
            callbacks.split(','),
        )],
    );
    let state = ProviderState::new(config, eudi_pid::default_test_identities()).expect("state");
    // libtest has printed `test mitid_provider_process ... ` without a line end: start a line.
    println!("\nlistening on {url}");
    axum::serve(listener, eudi_mitid_test_provider::app(state))
        .await
        .expect("serve");
}

/// The provider process, for an issuer at `issuer_url`.
fn start_provider(issuer_url: &str) -> Result<Service> {
    let callbacks = format!("{issuer_url}/callback,{issuer_url}/pid/callback");
    let exe = std::env::current_exe()?;
    Ok(Service::start_path(
        &exe,
        &[
            "mitid_provider_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ],
        &[(PROVIDER_CALLBACKS, &callbacks)],
    )?)
}

/// A free loopback port (the issuer's URL must be known before the provider registers it).
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The issuer in broker mode, pointed at `provider`.
fn start_issuer(data: &TempDir, port: u16, provider: &str) -> Result<Service> {
    let listen = format!("127.0.0.1:{port}");
    Ok(Service::start(
        ISSUER,
        &["serve", "--data-dir", data.as_str(), "--listen", &listen],
        &[
            ("EUDI_ISSUER_MITID_MODE", "broker"),
            ("EUDI_ISSUER_MITID_ISSUER", provider),
            ("EUDI_ISSUER_MITID_CLIENT_ID", CLIENT_ID),
            ("EUDI_ISSUER_MITID_CLIENT_SECRET", CLIENT_SECRET),
        ],
    )?)
}

fn location(response: &reqwest::Response) -> Result<String> {
    let status = response.status();
    let to = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("no redirect ({status})"))?;
    Ok(to.to_owned())
}

/// The `action` of the first form in `html`, unescaped and resolved against `base`.
fn form_action(html: &str, base: &str) -> Result<String> {
    let start = html.find("action=\"").ok_or("a page without a form")? + "action=\"".len();
    let rest = html.get(start..).ok_or("a cut page")?;
    let end = rest.find('"').ok_or("an unterminated action")?;
    let action = rest.get(..end).ok_or("a cut page")?.replace("&amp;", "&");
    Ok(Url::parse(base)?.join(&action)?.to_string())
}

fn query(url: &str) -> Result<Vec<(String, String)>> {
    Ok(Url::parse(url)?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The person's browser: from the authorization URL through the provider's login as `username`
/// back to the wallet's redirect URI, which it answers. Asserts the login happens at `provider`.
async fn browse(
    authorization_url: &str,
    issuer: &str,
    provider: &str,
    username: &str,
) -> Result<String> {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let to_provider = location(&browser.get(authorization_url).send().await?)?;
    assert!(
        to_provider.starts_with(&format!("{provider}/authorize?")),
        "the issuer did not send the person to the broker: {to_provider}"
    );
    let form = browser.get(&to_provider).send().await?;
    assert_eq!(form.status(), 200, "the provider's login page");
    let action = form_action(&form.text().await?, &to_provider)?;
    assert!(action.starts_with(provider), "{action}");
    let logged_in = browser
        .post(&action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username={username}"))
        .send()
        .await?;
    let callback = location(&logged_in)?;
    assert!(
        callback.starts_with(&format!("{issuer}/callback?")),
        "the provider did not return to the issuer: {callback}"
    );
    let back = browser.get(&callback).send().await?;
    let to_wallet = location(&back)?;
    assert!(
        to_wallet.starts_with(&format!("{WALLET_REDIRECT}?")),
        "{to_wallet}"
    );
    Ok(to_wallet)
}

struct Setup {
    _provider: Service,
    issuer: Service,
    data: TempDir,
    provider_url: String,
}

fn setup(prefix: &str) -> Result<Setup> {
    let port = free_port()?;
    let issuer_url = format!("http://127.0.0.1:{port}");
    let provider = start_provider(&issuer_url)?;
    let provider_url = provider.url().to_owned();
    assert_ne!(provider_url, issuer_url);
    let data = TempDir::new(prefix)?;
    let issuer = start_issuer(&data, port, &provider_url)?;
    assert_eq!(issuer.url(), issuer_url);
    Ok(Setup {
        _provider: provider,
        issuer,
        data,
        provider_url,
    })
}

async fn wallet(url: &str) -> Result<IssuerClient> {
    let http = Arc::new(ReqwestClient::new(
        HttpConfig::default().with_policy(UrlPolicy::allow_private_network()),
    )?);
    let config = ClientConfig::default().with_policy(UrlPolicy::allow_private_network());
    Ok(IssuerClient::connect(http, url, config).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_in_broker_mode_logs_in_at_a_provider_process() -> Result<()> {
    let s = setup("issuer-broker")?;
    let url = s.issuer.url().to_owned();
    let client = wallet(&url).await?;
    let (configuration, _) = client
        .find_configuration(SD_JWT_FORMAT, PID_VCT)
        .ok_or("no SD-JWT VC PID configuration")?;
    let configuration = configuration.to_owned();
    let pending = client
        .start_authorization(AuthorizationStart {
            client_id: "broker-test-wallet".into(),
            redirect_uri: WALLET_REDIRECT.into(),
            configuration_ids: vec![configuration.clone()],
            issuer_state: None,
            dpop_key: DpopKey::new(Arc::new(SoftwareKey::generate(Algorithm::Es256)?)),
            client_attestation: None,
        })
        .await?;
    let to_wallet = browse(
        &pending.authorization_url,
        &url,
        &s.provider_url,
        "substantial",
    )
    .await?;
    let answer = query(&to_wallet)?;
    assert_eq!(param(&answer, "error"), None, "{to_wallet}");
    assert_eq!(param(&answer, "iss"), Some(url.as_str()));
    let tokens = client.finish_authorization(pending, &to_wallet).await?;
    let holder = SoftwareKey::generate(Algorithm::Es256)?;
    let outcome = client
        .request_credentials(
            &tokens,
            &configuration,
            &[&holder as &dyn Signer],
            EncryptResponse::IfRequired,
        )
        .await?;
    let CredentialOutcome::Issued { credentials, .. } = outcome else {
        return Err(format!("not issued: {outcome:?}").into());
    };
    let credential = credentials
        .first()
        .and_then(|c| c.credential.as_str())
        .ok_or("no SD-JWT VC")?
        .to_owned();

    // The project's verifier, trusting what the issuer says to trust: the test identity's claims.
    let anchors = Command::new(binary(ISSUER)?)
        .args(["trust-anchors", "--data-dir", s.data.as_str()])
        .output()?;
    assert!(anchors.status.success());
    let anchors_file = s.data.path().join("anchors.pem");
    std::fs::write(&anchors_file, &anchors.stdout)?;
    let anchors_file = anchors_file.display().to_string();
    let mut verify = Command::new(binary(VERIFIER)?)
        .args([
            "verify",
            "--trust",
            &anchors_file,
            "--allow-private-network",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    {
        use std::io::Write as _;
        let mut stdin = verify.stdin.take().ok_or("no stdin")?;
        stdin.write_all(credential.as_bytes())?;
    }
    let verified = verify.wait_with_output()?;
    let verified: Value = serde_json::from_slice(&verified.stdout)?;
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(verified["assurance_level"], "substantial", "{verified}");
    let identity = eudi_pid::default_test_identities()
        .into_iter()
        .find(|i| i.username == "substantial")
        .ok_or("no test identity substantial")?;
    let claims = &verified["claims"];
    let birth_date = identity.birth_date.to_string();
    assert_eq!(
        claims["birthdate"].as_str(),
        Some(birth_date.as_str()),
        "{claims}"
    );
    for name in ["given_name", "family_name"] {
        let value = claims[name]
            .as_str()
            .ok_or(format!("no {name}: {claims}"))?;
        assert!(
            identity.name.contains(value),
            "{name} {value:?} vs {:?}",
            identity.name
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_after_the_broker_login_reaches_the_wallet_in_words() -> Result<()> {
    let s = setup("issuer-broker-refused")?;
    let url = s.issuer.url().to_owned();
    let client = wallet(&url).await?;
    let (configuration, _) = client
        .find_configuration(SD_JWT_FORMAT, PID_VCT)
        .ok_or("no SD-JWT VC PID configuration")?;
    let pending = client
        .start_authorization(AuthorizationStart {
            client_id: "broker-test-wallet".into(),
            redirect_uri: WALLET_REDIRECT.into(),
            configuration_ids: vec![configuration.to_owned()],
            issuer_state: None,
            dpop_key: DpopKey::new(Arc::new(SoftwareKey::generate(Algorithm::Es256)?)),
            client_attestation: None,
        })
        .await?;
    let to_wallet = browse(&pending.authorization_url, &url, &s.provider_url, "erhverv").await?;
    let answer = query(&to_wallet)?;
    assert_eq!(
        param(&answer, "error"),
        Some("access_denied"),
        "{to_wallet}"
    );
    let description = param(&answer, "error_description").unwrap_or_default();
    assert!(description.contains("MitID Erhverv"), "{description}");
    assert!(param(&answer, "code").is_none());
    assert!(
        client
            .finish_authorization(pending, &to_wallet)
            .await
            .is_err()
    );
    Ok(())
}
