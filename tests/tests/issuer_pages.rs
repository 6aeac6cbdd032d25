//! The "Get your PID" page in Debian's headless chromium (issue 9, "Tests that must pass in CI"):
//! a person opens the issuer's page, logs in through the embedded MitID test provider's plain
//! HTML form (type the user name, submit; DESIGN.md contract), and sees a QR code and a
//! transaction code; the offer link on the page is then redeemed by a wallet library nobody here
//! wrote (`@openid4vc/openid4vci`, tests/interop/openid4vci.mjs) with that code. In Danish, an
//! identity the PID rules refuse (MitID Erhverv) gets a refusal in words with a TransactionId
//! that the issuer's log carries too.

use std::error::Error;
use std::time::Duration;
use std::time::Instant;

use eudi_tests::process::Service;
use eudi_tests::process::TempDir;
use eudi_tests::run_node;
use eudi_tests::webdriver::Browser;
use eudi_tests::webdriver::Element;
use serde_json::json;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const ISSUER: &str = "eudi-issuer";

fn serve(data: &TempDir) -> Result<Service> {
    Ok(Service::start(
        ISSUER,
        &[
            "serve",
            "--data-dir",
            data.as_str(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    )?)
}

/// How long a page may take to appear after a click (the machine may be busy).
const PAGE_TIMEOUT: Duration = Duration::from_secs(15);
/// How often to look again meanwhile.
const POLL: Duration = Duration::from_millis(100);

/// The first element matching `css`, waiting for a navigation a click started to finish.
async fn wait_for(browser: &Browser, css: &str) -> Result<Element> {
    let deadline = Instant::now() + PAGE_TIMEOUT;
    loop {
        match browser.find(css).await {
            Ok(element) => return Ok(element),
            Err(e) if Instant::now() >= deadline => return Err(e.into()),
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// From the "Get your PID" page at `page_url` through the MitID login form as `username`, to
/// the page the issuer shows after the login.
async fn log_in(browser: &Browser, page_url: &str, issuer_url: &str, username: &str) -> Result<()> {
    browser.goto(page_url).await?;
    let login = wait_for(browser, "#login").await?;
    browser.click(&login).await?;
    // The embedded provider's login form (its own routes under the issuer's URL).
    let at_mitid = browser.current_url().await?;
    assert!(at_mitid.starts_with(issuer_url), "{at_mitid}");
    assert!(!at_mitid.contains("/pid/callback"), "{at_mitid}");
    let field = wait_for(browser, "input[name=username]").await?;
    browser.type_into(&field, username).await?;
    let submit = browser.find("form button[type=submit]").await?;
    browser.click(&submit).await?;
    // The issuer's page after the login: an offer or a refusal, both with a TransactionId.
    wait_for(browser, "#transaction-id").await?;
    let back = browser.current_url().await?;
    assert!(
        back.starts_with(&format!("{issuer_url}/pid/callback")),
        "{back}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_your_pid_in_chromium_shows_a_qr_code_and_tx_code_a_wallet_redeems() -> Result<()> {
    let data = TempDir::new("issuer-pages")?;
    let issuer = serve(&data)?;
    let url = issuer.url().to_owned();
    let browser = Browser::start().await?;
    log_in(&browser, &format!("{url}/pid?lang=en"), &url, "substantial").await?;

    let html = browser.source().await?;
    assert!(html.contains("lang=\"en\""), "{html}");
    assert!(!html.contains("<script"), "the page needs no JavaScript");
    // The QR code: drawn inline (SVG) with a size on the page …
    let svg = browser.find("#qr svg").await?;
    let width = browser
        .attribute(&svg, "clientWidth")
        .await?
        .and_then(|w| w.parse::<f64>().ok())
        .unwrap_or_default();
    assert!(width > 0.0, "the SVG QR code has no width");
    // … the transaction code and the offer link.
    let tx_code = browser.text(&browser.find("#tx-code").await?).await?;
    let tx_code = tx_code.trim().to_owned();
    assert_eq!(tx_code.len(), 6, "{tx_code:?}");
    assert!(tx_code.chars().all(|c| c.is_ascii_digit()), "{tx_code:?}");
    let offer = browser
        .attribute(&browser.find("#offer-link").await?, "href")
        .await?
        .ok_or("the offer link has no href")?;
    assert!(offer.starts_with("openid-credential-offer://"), "{offer}");
    // The PNG of the QR code loads as an image in the browser.
    let png = browser
        .attribute(&browser.find("#qr-png").await?, "href")
        .await?
        .ok_or("no PNG link")?;
    assert!(png.starts_with("data:image/png;base64,"), "{png}");
    browser.goto(&png).await?;
    let image = browser.find("img").await?;
    let natural = browser
        .attribute(&image, "naturalWidth")
        .await?
        .and_then(|w| w.parse::<u64>().ok())
        .unwrap_or_default();
    assert!(natural > 0, "the PNG QR code did not load");

    // A wrong transaction code gets nothing (RFC: one attempt of the few allowed) …
    let wrong = if tx_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let refused = run_node(
        "openid4vci.mjs",
        "receive",
        &json!({"offer": offer, "txCode": wrong, "batch": 1, "allowInsecure": true}),
    );
    assert!(
        refused.is_err(),
        "a wrong tx_code was accepted: {refused:?}"
    );
    // … and a wallet library nobody here wrote redeems the offer with the code from the page.
    let received = run_node(
        "openid4vci.mjs",
        "receive",
        &json!({"offer": offer, "txCode": tx_code, "batch": 1, "allowInsecure": true}),
    )?;
    let credentials = received["credentials"]
        .as_array()
        .ok_or("the wallet received no credentials")?;
    let formats = credentials
        .iter()
        .filter_map(|c| c["format"].as_str())
        .collect::<Vec<_>>();
    assert!(formats.contains(&"dc+sd-jwt"), "{received}");
    assert!(formats.contains(&"mso_mdoc"), "{received}");
    for credential in credentials {
        let text = credential["credential"]
            .as_str()
            .ok_or("a credential that is not a string")?;
        assert!(!text.is_empty());
    }

    // The code was single use: a second wallet with the same offer and code gets nothing.
    let again = run_node(
        "openid4vci.mjs",
        "receive",
        &json!({"offer": offer, "txCode": tx_code, "batch": 1, "allowInsecure": true}),
    );
    assert!(again.is_err(), "the offer was redeemed twice: {again:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_danish_page_refuses_mitid_erhverv_with_a_transaction_id() -> Result<()> {
    let data = TempDir::new("issuer-pages-da")?;
    let issuer = serve(&data)?;
    let url = issuer.url().to_owned();
    let browser = Browser::start().await?;

    // Danish by `?lang=da`.
    browser.goto(&format!("{url}/pid?lang=da")).await?;
    let html = browser.source().await?;
    assert!(html.contains("lang=\"da\""), "{html}");
    assert!(html.contains("Log ind med MitID"), "{html}");

    log_in(&browser, &format!("{url}/pid?lang=da"), &url, "erhverv").await?;
    let html = browser.source().await?;
    assert!(html.contains("lang=\"da\""), "{html}");
    assert!(html.contains("Der kan ikke udstedes et PID"), "{html}");
    let reason = browser.text(&browser.find("#reason").await?).await?;
    assert!(reason.contains("MitID Erhverv"), "{reason}");
    // No offer on a refusal.
    assert!(browser.find_all("#tx-code").await?.is_empty());
    assert!(browser.find_all("#offer-link").await?.is_empty());
    let transaction = browser
        .text(&browser.find("#transaction-id").await?)
        .await?;
    let transaction = transaction.trim().to_owned();
    assert!(transaction.len() >= 8, "{transaction:?}");
    // Support finds the case in the issuer's log by that id.
    let log = issuer.output();
    assert!(log.contains(&transaction), "the log lacks {transaction}");
    Ok(())
}

/// An English refusal too, so the words are not only Danish: the reason names the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_english_page_names_the_rule_that_refused() -> Result<()> {
    let data = TempDir::new("issuer-pages-en")?;
    let issuer = serve(&data)?;
    let url = issuer.url().to_owned();
    let browser = Browser::start().await?;
    log_in(&browser, &format!("{url}/pid?lang=en"), &url, "erhverv").await?;
    let reason = browser.text(&browser.find("#reason").await?).await?;
    assert!(reason.contains("MitID Erhverv"), "{reason}");
    let html = browser.source().await?;
    assert!(
        html.contains("id=\"transaction-id\""),
        "no TransactionId: {html}"
    );
    assert!(
        !html.contains("id=\"tx-code\""),
        "an offer for a refused identity"
    );
    Ok(())
}
