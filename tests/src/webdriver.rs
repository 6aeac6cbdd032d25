//! A headless browser for the page tests: Debian's `chromium` driven through `chromedriver` over
//! the W3C WebDriver protocol (plain JSON over loopback HTTP, so no browser download and no
//! client library). `.ci/run` installs both packages.
//!
//! Only what the tests need: open a URL, find elements by CSS selector, type, click, read text,
//! attributes and the page source, take a screenshot.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use serde_json::json;

use crate::process::ProcessError;
use crate::process::Service;

/// The browser chromedriver starts.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The driver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The W3C key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Why a browser step failed.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// chromium or chromedriver is not installed.
    #[error("{0} is missing: install Debian's `chromium` and `chromium-driver` (`.ci/run` does)")]
    NotInstalled(String),
    /// chromedriver did not start.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// The driver could not be reached.
    #[error("webdriver request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The driver answered with an error (no such element, timeout …).
    #[error("webdriver {command}: {error}: {message}")]
    Driver {
        /// The command that failed.
        command: String,
        /// The W3C error code.
        error: String,
        /// The driver's message.
        message: String,
    },
    /// A port could not be found.
    #[error("no free port: {0}")]
    Io(#[from] std::io::Error),
}

/// A running chromedriver with one headless chromium session; both end when dropped.
#[derive(Debug)]
pub struct Browser {
    _driver: Service,
    base: String,
    session: String,
    http: reqwest::Client,
}

/// An element of the current page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless session.
    pub async fn start() -> Result<Self, BrowserError> {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(tool).exists() {
                return Err(BrowserError::NotInstalled(tool.into()));
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Service::start_program(
            CHROMEDRIVER,
            &[&format!("--port={port}")],
            "was started successfully",
        )?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let mut browser = Self {
            _driver: driver,
            base,
            session: String::new(),
            http,
        };
        let created = browser
            .command(
                reqwest::Method::POST,
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                 "--disable-dev-shm-usage", "--window-size=1000,1400"],
                    },
                }}})),
            )
            .await?;
        browser.session = created["sessionId"].as_str().unwrap_or_default().to_owned();
        Ok(browser)
    }

    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, BrowserError> {
        let url = format!("{}{path}", self.base);
        let request = self.http.request(method.clone(), &url);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let answer: Value = request.send().await?.json().await?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if let Some(error) = value.get("error").and_then(Value::as_str) {
            return Err(BrowserError::Driver {
                command: format!("{method} {path}"),
                error: error.into(),
                message: value["message"].as_str().unwrap_or_default().into(),
            });
        }
        Ok(value)
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.command(
            reqwest::Method::POST,
            &self.at("/url"),
            Some(json!({"url": url})),
        )
        .await
        .map(drop)
    }

    /// The URL of the current page.
    pub async fn current_url(&self) -> Result<String, BrowserError> {
        let v = self
            .command(reqwest::Method::GET, &self.at("/url"), None)
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The HTML of the current page.
    pub async fn source(&self) -> Result<String, BrowserError> {
        let v = self
            .command(reqwest::Method::GET, &self.at("/source"), None)
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The first element matching `css`.
    pub async fn find(&self, css: &str) -> Result<Element, BrowserError> {
        let v = self
            .command(
                reqwest::Method::POST,
                &self.at("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        match v[ELEMENT_KEY].as_str() {
            Some(id) => Ok(Element(id.to_owned())),
            None => Err(BrowserError::Driver {
                command: format!("find {css}"),
                error: "no element reference".into(),
                message: v.to_string(),
            }),
        }
    }

    /// Every element matching `css`.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, BrowserError> {
        let v = self
            .command(
                reqwest::Method::POST,
                &self.at("/elements"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        Ok(v.as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str())
                    .map(|id| Element(id.to_owned()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Types `text` into `element`.
    pub async fn type_into(&self, element: &Element, text: &str) -> Result<(), BrowserError> {
        let path = self.at(&format!("/element/{}/value", element.0));
        self.command(reqwest::Method::POST, &path, Some(json!({"text": text})))
            .await
            .map(drop)
    }

    /// Clicks `element` (a link or a submit button navigates; the call returns after the load).
    pub async fn click(&self, element: &Element) -> Result<(), BrowserError> {
        let path = self.at(&format!("/element/{}/click", element.0));
        self.command(reqwest::Method::POST, &path, Some(json!({})))
            .await
            .map(drop)
    }

    /// The rendered text of `element`.
    pub async fn text(&self, element: &Element) -> Result<String, BrowserError> {
        let path = self.at(&format!("/element/{}/text", element.0));
        let v = self.command(reqwest::Method::GET, &path, None).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// An attribute (or property) of `element`, e.g. `href`, `src`, `naturalWidth`.
    pub async fn attribute(
        &self,
        element: &Element,
        name: &str,
    ) -> Result<Option<String>, BrowserError> {
        let path = self.at(&format!("/element/{}/property/{name}", element.0));
        let v = self.command(reqwest::Method::GET, &path, None).await?;
        Ok(match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        })
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>, BrowserError> {
        let v = self
            .command(reqwest::Method::GET, &self.at("/screenshot"), None)
            .await?;
        Ok(eudi_trust::b64::decode_std(v.as_str().unwrap_or_default()).unwrap_or_default())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver process is killed right after; closing the session first lets chromium
        // exit cleanly instead of leaving a profile directory behind. Best effort, no runtime
        // needed: a blocking one-shot request on a fresh thread.
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    let _ = reqwest::Client::new().delete(url).send().await;
                });
            }
        })
        .join();
    }
}
