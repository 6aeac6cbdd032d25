//! The issuer's configuration: a TOML file (`issuer.example.toml` documents every setting),
//! environment overrides and command-line overrides.
//!
//! Precedence, lowest first: built-in defaults < the file < `EUDI_ISSUER_*` environment variables
//! < command-line [`Overrides`]. Every setting has one environment variable, listed in
//! [`ENV_VARS`]; an `EUDI_ISSUER_*` variable that names no setting is an error, so a typo is not
//! silently ignored ([`ENV_IGNORED`] lists the few the binary reads itself).
//!
//! Errors ([`ConfigError`]) name the key (`policy.batch_size`) or variable they are about, never
//! its value when the value may be a secret.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::path::PathBuf;

use eudi_mitid::client::AcrStyle;
use eudi_mitid::client::ClientAuthMethod;
use eudi_trust::AssuranceLevel;
use serde::Deserialize;
use url::Url;

/// Where the issuer listens by default (DESIGN.md: `--listen`, port 0 picks a free port).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The directory under the user's data directory (`$XDG_DATA_HOME` or `~/.local/share`).
pub const DATA_DIR_NAME: &str = "eudi-issuer";
/// The SQLite file of the embedded default database, in the data dir.
pub const SQLITE_FILE: &str = "issuer.sqlite3";
/// Default credentials per credential request (`batch_credential_issuance.batch_size`).
pub const DEFAULT_BATCH_SIZE: u32 = 10;
/// Largest batch size accepted in the configuration (each credential costs a signature and a
/// status index; the protocol crate enforces the configured value per request).
pub const MAX_BATCH_SIZE: u32 = 100;
/// Default validity of a PID, in days.
pub const DEFAULT_VALIDITY_DAYS: u32 = 365;
/// Longest PID validity accepted, in days (the rulebook leaves it to the provider; 5 years).
pub const MAX_VALIDITY_DAYS: u32 = 5 * 366;
/// Default entries per status list: large enough that a list does not reveal how many
/// credentials were issued (draft-ietf-oauth-status-list §13.2), a multiple of 8.
pub const DEFAULT_STATUS_LIST_SIZE: u32 = 131_072;
/// Smallest status list accepted.
pub const MIN_STATUS_LIST_SIZE: u32 = 1_024;
/// Largest status list accepted (2 bits per entry: 4 MiB uncompressed).
pub const MAX_STATUS_LIST_SIZE: u32 = 16 * 1024 * 1024;
/// Default `ttl` of a served status list, in seconds (revocation shows within this).
pub const DEFAULT_STATUS_TTL_SECS: u64 = 300;
/// Default lifetime (`exp - iat`) of a signed status list token, in seconds.
pub const DEFAULT_STATUS_TOKEN_LIFETIME_SECS: u64 = 86_400;
/// Largest configuration file read, in bytes.
pub const MAX_CONFIG_FILE_BYTES: u64 = 1024 * 1024;

/// The environment variables [`Config::load`] reads, each with the key it sets.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("EUDI_ISSUER_LISTEN", "listen"),
    ("EUDI_ISSUER_PUBLIC_URL", "public_url"),
    ("EUDI_ISSUER_DATA_DIR", "data_dir"),
    ("EUDI_ISSUER_DATABASE_URL", "database_url"),
    ("EUDI_ISSUER_KEYS_DIR", "keys.dir"),
    ("EUDI_ISSUER_KEYS_SD_JWT_KEY", "keys.sd_jwt_key"),
    ("EUDI_ISSUER_KEYS_SD_JWT_CHAIN", "keys.sd_jwt_chain"),
    (
        "EUDI_ISSUER_KEYS_SD_JWT_STATUS_KEY",
        "keys.sd_jwt_status_key",
    ),
    (
        "EUDI_ISSUER_KEYS_SD_JWT_STATUS_CHAIN",
        "keys.sd_jwt_status_chain",
    ),
    ("EUDI_ISSUER_KEYS_MDOC_KEY", "keys.mdoc_key"),
    ("EUDI_ISSUER_KEYS_MDOC_CHAIN", "keys.mdoc_chain"),
    ("EUDI_ISSUER_KEYS_MDOC_STATUS_KEY", "keys.mdoc_status_key"),
    (
        "EUDI_ISSUER_KEYS_MDOC_STATUS_CHAIN",
        "keys.mdoc_status_chain",
    ),
    ("EUDI_ISSUER_KEYS_TRUST_ANCHORS", "keys.trust_anchors"),
    ("EUDI_ISSUER_KEYS_IDENTITY_SECRET", "keys.identity_secret"),
    ("EUDI_ISSUER_MITID_MODE", "mitid.mode"),
    ("EUDI_ISSUER_MITID_ISSUER", "mitid.issuer"),
    ("EUDI_ISSUER_MITID_CLIENT_ID", "mitid.client_id"),
    ("EUDI_ISSUER_MITID_CLIENT_SECRET", "mitid.client_secret"),
    ("EUDI_ISSUER_MITID_AUTH_METHOD", "mitid.auth_method"),
    ("EUDI_ISSUER_MITID_ACR_STYLE", "mitid.acr_style"),
    ("EUDI_ISSUER_MITID_TEST_IDENTITIES", "mitid.test_identities"),
    ("EUDI_ISSUER_POLICY_MIN_LOA", "policy.min_loa"),
    ("EUDI_ISSUER_POLICY_BATCH_SIZE", "policy.batch_size"),
    ("EUDI_ISSUER_POLICY_VALIDITY_DAYS", "policy.validity_days"),
    (
        "EUDI_ISSUER_POLICY_STATUS_LIST_SIZE",
        "policy.status_list_size",
    ),
    ("EUDI_ISSUER_POLICY_STATUS_TTL", "policy.status_ttl"),
    (
        "EUDI_ISSUER_POLICY_DEFER_ON_BIRTH_DATE_MISMATCH",
        "policy.defer_on_birth_date_mismatch",
    ),
    ("EUDI_ISSUER_POLICY_CPR_REGISTER", "policy.cpr_register"),
    (
        "EUDI_ISSUER_OAUTH_CLIENT_ATTESTATION",
        "oauth.client_attestation",
    ),
    (
        "EUDI_ISSUER_OAUTH_WALLET_PROVIDER_ANCHORS",
        "oauth.wallet_provider_anchors",
    ),
    (
        "EUDI_ISSUER_OAUTH_DPOP_NONCE_REQUIRED",
        "oauth.dpop_nonce_required",
    ),
    ("EUDI_ISSUER_LOG_FORMAT", "log.format"),
];

/// `EUDI_ISSUER_*` variables that are no setting of the file but are read by the binary itself
/// (the config file's path, the log filter); [`Config::load`] leaves them alone.
pub const ENV_IGNORED: &[&str] = &["EUDI_ISSUER_CONFIG", "EUDI_ISSUER_LOG"];

/// The prefix of every environment override.
pub const ENV_PREFIX: &str = "EUDI_ISSUER_";

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_CONFIG_FILE_BYTES`].
    #[error("the configuration file {path} is larger than {MAX_CONFIG_FILE_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid TOML for this configuration (the message names the key and line).
    #[error("the configuration file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What toml says, with the line and key.
        message: String,
    },
    /// An environment variable has a value its setting does not take.
    #[error("environment variable {var} (setting `{key}`): {reason}")]
    Env {
        /// The variable.
        var: String,
        /// The key it sets.
        key: &'static str,
        /// Why the value is refused (never the value itself: it may be a secret).
        reason: String,
    },
    /// An `EUDI_ISSUER_*` variable that names no setting.
    #[error("unknown environment variable {0} (see the settings in issuer.example.toml)")]
    UnknownEnv(String),
    /// A setting is out of range or inconsistent with another.
    #[error("setting `{key}`: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// No data directory was given and the user's cannot be found (no `XDG_DATA_HOME`, no
    /// `HOME`).
    #[error(
        "no data directory: set `data_dir`, EUDI_ISSUER_DATA_DIR or --data-dir (neither XDG_DATA_HOME nor HOME is set)"
    )]
    NoDataDir,
}

/// A secret from the configuration: `Debug` never shows it, and no configuration type is
/// `Serialize`, so none can be written out by accident.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The address to listen on (default [`DEFAULT_LISTEN`]).
    pub listen: SocketAddr,
    /// The URL wallets see: the credential issuer identifier. Default: the listen URL.
    #[serde(with = "url_opt")]
    pub public_url: Option<Url>,
    /// Where all state and generated keys live. After [`Config::load`] always set (default:
    /// `$XDG_DATA_HOME/eudi-issuer` or `~/.local/share/eudi-issuer`).
    pub data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…`; default SQLite in the data dir ([`Config::database_url`]).
    pub database_url: Option<Secret>,
    /// Signing keys and certificates.
    pub keys: KeysConfig,
    /// Where MitID logins come from.
    pub mitid: MitIdConfig,
    /// What is issued, to whom, for how long.
    pub policy: PolicyConfig,
    /// Wallet authentication and DPoP.
    pub oauth: OAuthConfig,
    /// Logging.
    pub log: LogConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            data_dir: None,
            database_url: None,
            keys: KeysConfig::default(),
            mitid: MitIdConfig::default(),
            policy: PolicyConfig::default(),
            oauth: OAuthConfig::default(),
            log: LogConfig::default(),
        }
    }
}

/// The issuer's signers. Either all of the explicit files are set (a production PKI, nothing is
/// generated), or none is, and a development PKI is generated on first run in `dir`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// The development PKI's directory (default `{data_dir}/keys`).
    pub dir: Option<PathBuf>,
    /// SD-JWT VC signer: PKCS#8 PEM private key.
    pub sd_jwt_key: Option<PathBuf>,
    /// SD-JWT VC signer: PEM certificates, leaf first, without the trust anchor.
    pub sd_jwt_chain: Option<PathBuf>,
    /// JWT status list signer: PKCS#8 PEM private key.
    pub sd_jwt_status_key: Option<PathBuf>,
    /// JWT status list signer: PEM certificates, leaf first, without the trust anchor.
    pub sd_jwt_status_chain: Option<PathBuf>,
    /// mdoc document signer: PKCS#8 PEM private key.
    pub mdoc_key: Option<PathBuf>,
    /// mdoc document signer: PEM certificates, leaf first, without the IACA.
    pub mdoc_chain: Option<PathBuf>,
    /// CWT status list signer: PKCS#8 PEM private key.
    pub mdoc_status_key: Option<PathBuf>,
    /// CWT status list signer: PEM certificates, leaf first, without the IACA.
    pub mdoc_status_chain: Option<PathBuf>,
    /// The trust anchors `trust-anchors` prints (the IACA and the SD-JWT VC CA), PEM.
    pub trust_anchors: Option<PathBuf>,
    /// The 32-byte secret credential records' identity keys are keyed with (default
    /// `{keys dir}/identity.secret`, generated on first run). Instances that share a database
    /// must share it too.
    pub identity_secret: Option<PathBuf>,
}

impl KeysConfig {
    /// The explicit files, with their keys, in a fixed order.
    pub fn files(&self) -> [(&'static str, Option<&Path>); 9] {
        [
            ("keys.sd_jwt_key", self.sd_jwt_key.as_deref()),
            ("keys.sd_jwt_chain", self.sd_jwt_chain.as_deref()),
            ("keys.sd_jwt_status_key", self.sd_jwt_status_key.as_deref()),
            (
                "keys.sd_jwt_status_chain",
                self.sd_jwt_status_chain.as_deref(),
            ),
            ("keys.mdoc_key", self.mdoc_key.as_deref()),
            ("keys.mdoc_chain", self.mdoc_chain.as_deref()),
            ("keys.mdoc_status_key", self.mdoc_status_key.as_deref()),
            ("keys.mdoc_status_chain", self.mdoc_status_chain.as_deref()),
            ("keys.trust_anchors", self.trust_anchors.as_deref()),
        ]
    }

    /// Whether the explicit files are configured (all of them: checked by [`Config::validate`]).
    pub fn is_explicit(&self) -> bool {
        self.files().iter().any(|(_, p)| p.is_some())
    }
}

/// Where MitID logins come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MitIdMode {
    /// The embedded MitID test provider, served by the issuer on its own routes.
    #[default]
    Embedded,
    /// A MitID broker (OIDC): `issuer`, `client_id` and usually `client_secret` are required.
    Broker,
}

/// The MitID identity source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MitIdConfig {
    /// `embedded` (default) or `broker`.
    pub mode: MitIdMode,
    /// The broker's issuer identifier (broker mode).
    #[serde(with = "url_opt")]
    pub issuer: Option<Url>,
    /// This issuer's client id at the broker (broker mode).
    pub client_id: Option<String>,
    /// Its client secret (broker mode; not with `auth_method = "none"`).
    pub client_secret: Option<Secret>,
    /// `client_secret_basic` (default), `client_secret_post` or `none`.
    pub auth_method: ClientAuthMethod,
    /// How the broker spells levels in `acr_values`: `nsis` (default), `idura`, `omit`.
    pub acr_style: AcrStyle,
    /// The embedded provider's test identities (JSON); default the built-in ones.
    pub test_identities: Option<PathBuf>,
}

/// What is issued.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Lowest MitID level accepted: `low`, `substantial` (default) or `high`.
    pub min_loa: AssuranceLevel,
    /// Credentials per request, at most (default [`DEFAULT_BATCH_SIZE`]; at least 2 for HAIP).
    pub batch_size: u32,
    /// Validity of a PID in days (default [`DEFAULT_VALIDITY_DAYS`]).
    pub validity_days: u32,
    /// Entries of a new status list (a multiple of 8; default [`DEFAULT_STATUS_LIST_SIZE`]).
    pub status_list_size: u32,
    /// `ttl` of the served status lists in seconds (default [`DEFAULT_STATUS_TTL_SECS`]).
    pub status_ttl: u64,
    /// Defer issuance for manual review when MitID and the CPR register disagree on the birth
    /// date (default true); when false such a login is refused.
    pub defer_on_birth_date_mismatch: bool,
    /// The CPR register as a JSON file (the `eudi_pid::FileRegister` format); default the
    /// built-in test register.
    pub cpr_register: Option<PathBuf>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            min_loa: AssuranceLevel::Substantial,
            batch_size: DEFAULT_BATCH_SIZE,
            validity_days: DEFAULT_VALIDITY_DAYS,
            status_list_size: DEFAULT_STATUS_LIST_SIZE,
            status_ttl: DEFAULT_STATUS_TTL_SECS,
            defer_on_birth_date_mismatch: true,
            cpr_register: None,
        }
    }
}

/// Whether wallets must authenticate with OAuth client attestation
/// (draft-ietf-oauth-attestation-based-client-auth).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAttestationMode {
    /// Not checked (public clients; the embedded default).
    #[default]
    Disabled,
    /// Checked when sent, not required.
    Optional,
    /// Required of every wallet.
    Required,
}

/// Wallet authentication and DPoP.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthConfig {
    /// `disabled` (default), `optional` or `required`.
    pub client_attestation: ClientAttestationMode,
    /// PEM files of the wallet providers' trust anchors (client attestation).
    pub wallet_provider_anchors: Vec<PathBuf>,
    /// Require a server-provided DPoP nonce (RFC 9449 §8) in every DPoP proof (default false).
    pub dpop_nonce_required: bool,
}

/// The log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines (default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (default) or `json`.
    pub format: LogFormat,
}

/// What the command line sets; wins over file and environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--public-url`.
    pub public_url: Option<Url>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
}

impl Config {
    /// Loads the configuration: defaults, then `file` (if any), then the `EUDI_ISSUER_*`
    /// variables of `env`, then `overrides`; then resolves the default data dir (from
    /// `XDG_DATA_HOME` / `HOME` in `env`) and validates.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        let mut xdg_data_home = None;
        let mut home = None;
        for (name, value) in env {
            match name.as_str() {
                "XDG_DATA_HOME" => xdg_data_home = Some(value),
                "HOME" => home = Some(value),
                _ if name.starts_with(ENV_PREFIX) => config.apply_env(&name, &value)?,
                _ => {}
            }
        }
        config.apply_overrides(overrides);
        if config.data_dir.is_none() {
            config.data_dir = Some(
                default_data_dir(xdg_data_home.as_deref(), home.as_deref())
                    .ok_or(ConfigError::NoDataDir)?,
            );
        }
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (no environment, no defaults resolved).
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let read = |source| ConfigError::Read {
            path: path.to_owned(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read)?.len();
        if len > MAX_CONFIG_FILE_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_owned(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        Self::from_toml(&text, path)
    }

    /// Applies one `EUDI_ISSUER_*` variable.
    fn apply_env(&mut self, var: &str, value: &str) -> Result<(), ConfigError> {
        if ENV_IGNORED.contains(&var) {
            return Ok(());
        }
        let Some(&(_, key)) = ENV_VARS.iter().find(|(name, _)| *name == var) else {
            return Err(ConfigError::UnknownEnv(var.to_owned()));
        };
        let bad = |reason: String| ConfigError::Env {
            var: var.to_owned(),
            key,
            reason,
        };
        let path = || Some(PathBuf::from(value));
        let url = || {
            Url::parse(value)
                .map(Some)
                .map_err(|e| bad(format!("not a URL: {e}")))
        };
        let number = || {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| bad("not a whole number".into()))
        };
        let small = || u32::try_from(number()?).map_err(|_| bad("too large".into()));
        let flag = || match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(bad("not a boolean (true or false)".into())),
        };
        // Enumerations are read with the file's own serde names.
        fn named<T: serde::de::DeserializeOwned>(value: &str) -> Result<T, String> {
            T::deserialize(
                serde::de::value::StrDeserializer::<serde::de::value::Error>::new(value.trim()),
            )
            .map_err(|e| e.to_string())
        }
        match key {
            "listen" => {
                self.listen = value
                    .trim()
                    .parse()
                    .map_err(|_| bad("not a socket address (host:port)".into()))?;
            }
            "public_url" => self.public_url = url()?,
            "data_dir" => self.data_dir = path(),
            "database_url" => self.database_url = Some(Secret::new(value)),
            "keys.dir" => self.keys.dir = path(),
            "keys.sd_jwt_key" => self.keys.sd_jwt_key = path(),
            "keys.sd_jwt_chain" => self.keys.sd_jwt_chain = path(),
            "keys.sd_jwt_status_key" => self.keys.sd_jwt_status_key = path(),
            "keys.sd_jwt_status_chain" => self.keys.sd_jwt_status_chain = path(),
            "keys.mdoc_key" => self.keys.mdoc_key = path(),
            "keys.mdoc_chain" => self.keys.mdoc_chain = path(),
            "keys.mdoc_status_key" => self.keys.mdoc_status_key = path(),
            "keys.mdoc_status_chain" => self.keys.mdoc_status_chain = path(),
            "keys.trust_anchors" => self.keys.trust_anchors = path(),
            "keys.identity_secret" => self.keys.identity_secret = path(),
            "mitid.mode" => self.mitid.mode = named(value).map_err(bad)?,
            "mitid.issuer" => self.mitid.issuer = url()?,
            "mitid.client_id" => self.mitid.client_id = Some(value.to_owned()),
            "mitid.client_secret" => self.mitid.client_secret = Some(Secret::new(value)),
            "mitid.auth_method" => self.mitid.auth_method = named(value).map_err(bad)?,
            "mitid.acr_style" => self.mitid.acr_style = named(value).map_err(bad)?,
            "mitid.test_identities" => self.mitid.test_identities = path(),
            "policy.min_loa" => {
                self.policy.min_loa = value
                    .parse()
                    .map_err(|e: eudi_trust::loa::UnknownLevel| bad(e.to_string()))?;
            }
            "policy.batch_size" => self.policy.batch_size = small()?,
            "policy.validity_days" => self.policy.validity_days = small()?,
            "policy.status_list_size" => self.policy.status_list_size = small()?,
            "policy.status_ttl" => self.policy.status_ttl = number()?,
            "policy.defer_on_birth_date_mismatch" => {
                self.policy.defer_on_birth_date_mismatch = flag()?;
            }
            "policy.cpr_register" => self.policy.cpr_register = path(),
            "oauth.client_attestation" => {
                self.oauth.client_attestation = named(value).map_err(bad)?;
            }
            "oauth.wallet_provider_anchors" => {
                // Several files separated as in PATH.
                self.oauth.wallet_provider_anchors = std::env::split_paths(value).collect();
            }
            "oauth.dpop_nonce_required" => self.oauth.dpop_nonce_required = flag()?,
            "log.format" => self.log.format = named(value).map_err(bad)?,
            _ => return Err(ConfigError::UnknownEnv(var.to_owned())),
        }
        Ok(())
    }

    fn apply_overrides(&mut self, o: &Overrides) {
        if let Some(listen) = o.listen {
            self.listen = listen;
        }
        if let Some(url) = &o.public_url {
            self.public_url = Some(url.clone());
        }
        if let Some(dir) = &o.data_dir {
            self.data_dir = Some(dir.clone());
        }
        if let Some(db) = &o.database_url {
            self.database_url = Some(Secret::new(db.clone()));
        }
    }

    /// Checks ranges and combinations; each error names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_owned(),
            })
        };
        if let Some(url) = &self.public_url {
            check_public_url(url).map_err(|reason| ConfigError::Invalid {
                key: "public_url",
                reason,
            })?;
        }
        if let Some(db) = &self.database_url {
            let db = db.expose();
            if !(db.starts_with("sqlite:")
                || db.starts_with("postgres://")
                || db.starts_with("postgresql://"))
            {
                return invalid(
                    "database_url",
                    "must start with sqlite:, postgres:// or postgresql://",
                );
            }
        }
        let p = &self.policy;
        if p.batch_size == 0 || p.batch_size > MAX_BATCH_SIZE {
            return Err(ConfigError::Invalid {
                key: "policy.batch_size",
                reason: format!("must be between 1 and {MAX_BATCH_SIZE}"),
            });
        }
        if p.validity_days == 0 || p.validity_days > MAX_VALIDITY_DAYS {
            return Err(ConfigError::Invalid {
                key: "policy.validity_days",
                reason: format!("must be between 1 and {MAX_VALIDITY_DAYS}"),
            });
        }
        if !(MIN_STATUS_LIST_SIZE..=MAX_STATUS_LIST_SIZE).contains(&p.status_list_size)
            || !p.status_list_size.is_multiple_of(8)
        {
            return Err(ConfigError::Invalid {
                key: "policy.status_list_size",
                reason: format!(
                    "must be a multiple of 8 between {MIN_STATUS_LIST_SIZE} and {MAX_STATUS_LIST_SIZE}"
                ),
            });
        }
        if p.status_ttl == 0 || p.status_ttl >= DEFAULT_STATUS_TOKEN_LIFETIME_SECS {
            return Err(ConfigError::Invalid {
                key: "policy.status_ttl",
                reason: format!(
                    "must be positive and below the token lifetime ({DEFAULT_STATUS_TOKEN_LIFETIME_SECS} s)"
                ),
            });
        }
        let keys = self.keys.files();
        if keys.iter().any(|(_, p)| p.is_some())
            && let Some((key, _)) = keys.iter().find(|(_, p)| p.is_none())
        {
            return Err(ConfigError::Invalid {
                key,
                reason: "the key files are all set (a production PKI) or none is (a generated development PKI)".into(),
            });
        }
        let m = &self.mitid;
        if m.mode == MitIdMode::Broker {
            let Some(issuer) = &m.issuer else {
                return invalid("mitid.issuer", "required in broker mode");
            };
            if !matches!(issuer.scheme(), "https" | "http") {
                return invalid("mitid.issuer", "must be an https (or loopback http) URL");
            }
            if m.client_id.as_deref().is_none_or(str::is_empty) {
                return invalid("mitid.client_id", "required in broker mode");
            }
            if m.auth_method != ClientAuthMethod::None && m.client_secret.is_none() {
                return invalid(
                    "mitid.client_secret",
                    "required in broker mode unless auth_method is \"none\"",
                );
            }
        }
        if self.oauth.client_attestation != ClientAttestationMode::Disabled
            && self.oauth.wallet_provider_anchors.is_empty()
        {
            return invalid(
                "oauth.wallet_provider_anchors",
                "client attestation needs at least one wallet provider trust anchor file",
            );
        }
        Ok(())
    }

    /// The data dir (set by [`Config::load`]; a `Config` built otherwise without one falls back
    /// to `./eudi-issuer`).
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DATA_DIR_NAME))
    }

    /// The database URL: the configured one, or SQLite in the data dir (created on first use).
    pub fn database_url(&self) -> Secret {
        match &self.database_url {
            Some(url) => url.clone(),
            None => Secret::new(format!(
                "sqlite://{}?mode=rwc",
                self.data_dir().join(SQLITE_FILE).display()
            )),
        }
    }

    /// The directory of the development PKI.
    pub fn keys_dir(&self) -> PathBuf {
        self.keys
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir().join("keys"))
    }

    /// The public URL: the configured one, or `http://{listen}` (with the port actually bound,
    /// which the caller passes once it listens).
    pub fn public_url_or(&self, bound: SocketAddr) -> Result<Url, ConfigError> {
        match &self.public_url {
            Some(url) => Ok(url.clone()),
            None => Url::parse(&format!("http://{bound}")).map_err(|e| ConfigError::Invalid {
                key: "listen",
                reason: format!("gives no URL: {e}"),
            }),
        }
    }
}

/// Checks a credential issuer identifier (OpenID4VCI 1.0 §12.2.1: `https`, no query or
/// fragment; plain `http` is allowed for development).
pub fn check_public_url(url: &Url) -> Result<(), String> {
    if !matches!(url.scheme(), "https" | "http") {
        return Err("must be an https (or, for development, http) URL".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must have no query or fragment (OpenID4VCI 1.0 §12.2.1)".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must have a host".into());
    }
    Ok(())
}

/// The credential issuer identifier as text: the URL without a trailing `/` on an empty path,
/// so `{issuer}/.well-known/…` and `{issuer}/status/1` join cleanly.
pub fn issuer_identifier(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// `$XDG_DATA_HOME/eudi-issuer`, else `$HOME/.local/share/eudi-issuer` (XDG Base Directory
/// Specification: a relative `XDG_DATA_HOME` is ignored).
pub fn default_data_dir(xdg_data_home: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    if let Some(xdg) = xdg_data_home.filter(|x| Path::new(x).is_absolute()) {
        return Some(Path::new(xdg).join(DATA_DIR_NAME));
    }
    let home = home.filter(|h| !h.is_empty())?;
    Some(
        Path::new(home)
            .join(".local")
            .join("share")
            .join(DATA_DIR_NAME),
    )
}

/// Serde for an optional URL as its text (the workspace builds `url` without its serde feature).
mod url_opt {
    use serde::Deserialize as _;
    use serde::Deserializer;
    use url::Url;

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| {
            Url::parse(&t).map_err(|e| serde::de::Error::custom(format!("not a URL: {e}")))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_resolve_the_data_dir() {
        let c = Config::load(None, env(&[("HOME", "/home/u")]), &Overrides::default()).unwrap();
        assert_eq!(
            c.data_dir(),
            PathBuf::from("/home/u/.local/share/eudi-issuer")
        );
        assert!(
            c.database_url()
                .expose()
                .starts_with("sqlite:///home/u/.local/share/eudi-issuer/issuer.sqlite3")
        );
        let c = Config::load(
            None,
            env(&[("HOME", "/home/u"), ("XDG_DATA_HOME", "/x")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.data_dir(), PathBuf::from("/x/eudi-issuer"));
        assert!(matches!(
            Config::load(None, env(&[]), &Overrides::default()),
            Err(ConfigError::NoDataDir)
        ));
    }

    #[test]
    fn secrets_are_not_debug_printed() {
        let mut c = Config::default();
        c.mitid.client_secret = Some(Secret::new("s3cr3t-value"));
        c.database_url = Some(Secret::new("postgres://u:pw-value@h/db"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-value") && !shown.contains("pw-value"));
    }

    #[test]
    fn env_errors_name_the_variable_and_key_not_the_value() {
        let e = Config::load(
            None,
            env(&[("HOME", "/h"), ("EUDI_ISSUER_POLICY_BATCH_SIZE", "many")]),
            &Overrides::default(),
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("EUDI_ISSUER_POLICY_BATCH_SIZE") && text.contains("policy.batch_size"),
            "{text}"
        );
        assert!(!text.contains("many"), "{text}");
        let e = Config::load(
            None,
            env(&[("HOME", "/h"), ("EUDI_ISSUER_PUBLC_URL", "x")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::UnknownEnv(v) if v == "EUDI_ISSUER_PUBLC_URL"));
    }

    #[test]
    fn every_env_var_is_handled() {
        // Each listed variable reaches a setter: a value of the wrong kind is an Env error for
        // that variable, never UnknownEnv.
        for (var, key) in ENV_VARS {
            let mut c = Config::default();
            match c.apply_env(var, "\u{0}not valid\u{0}") {
                Ok(()) => {}
                Err(ConfigError::Env { var: v, key: k, .. }) => {
                    assert_eq!((v.as_str(), k), (*var, *key));
                }
                Err(other) => panic!("{var}: {other}"),
            }
        }
    }

    #[test]
    fn range_checks_name_the_key() {
        for (var, value, key) in [
            ("EUDI_ISSUER_POLICY_BATCH_SIZE", "0", "policy.batch_size"),
            (
                "EUDI_ISSUER_POLICY_STATUS_LIST_SIZE",
                "1001",
                "policy.status_list_size",
            ),
            (
                "EUDI_ISSUER_POLICY_VALIDITY_DAYS",
                "0",
                "policy.validity_days",
            ),
            ("EUDI_ISSUER_PUBLIC_URL", "ftp://x.example", "public_url"),
            ("EUDI_ISSUER_DATABASE_URL", "mysql://x", "database_url"),
            ("EUDI_ISSUER_MITID_MODE", "broker", "mitid.issuer"),
            ("EUDI_ISSUER_KEYS_MDOC_KEY", "/k.pem", "keys.sd_jwt_key"),
            (
                "EUDI_ISSUER_OAUTH_CLIENT_ATTESTATION",
                "required",
                "oauth.wallet_provider_anchors",
            ),
        ] {
            let e = Config::load(
                None,
                env(&[("HOME", "/h"), (var, value)]),
                &Overrides::default(),
            )
            .unwrap_err();
            assert!(
                matches!(&e, ConfigError::Invalid { key: k, .. } if *k == key),
                "{var}={value}: {e}"
            );
        }
    }
}
