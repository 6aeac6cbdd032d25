//! The configuration: the committed example parses, precedence, and errors that name the key.

use std::path::Path;
use std::path::PathBuf;

use eudi_issuer::config::Config;
use eudi_issuer::config::ConfigError;
use eudi_issuer::config::ENV_VARS;
use eudi_issuer::config::LogFormat;
use eudi_issuer::config::MitIdMode;
use eudi_issuer::config::Overrides;
use eudi_trust::AssuranceLevel;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/issuer.example.toml");

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn example_config_parses_with_every_section() {
    let c = Config::load(Some(Path::new(EXAMPLE)), env(&[]), &Overrides::default()).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(
        c.public_url.as_ref().map(url::Url::as_str),
        Some("http://127.0.0.1:8080/")
    );
    assert_eq!(c.data_dir(), PathBuf::from("/var/lib/eudi-issuer"));
    assert!(c.database_url().expose().starts_with("postgres://"));
    assert_eq!(c.mitid.mode, MitIdMode::Embedded);
    assert_eq!(c.mitid.client_id.as_deref(), Some("eudi-pid-issuer"));
    assert_eq!(c.policy.min_loa, AssuranceLevel::Substantial);
    assert_eq!(c.policy.batch_size, 10);
    assert!(c.policy.defer_on_birth_date_mismatch);
    assert_eq!(c.log.format, LogFormat::Text);
    assert!(!c.keys.is_explicit());
}

#[test]
fn example_documents_every_environment_variable() {
    let text = std::fs::read_to_string(EXAMPLE).unwrap();
    for (var, _) in ENV_VARS {
        assert!(text.contains(var), "{var} is not documented in the example");
    }
}

#[test]
fn environment_beats_file_and_command_line_beats_environment() {
    let vars = env(&[
        ("EUDI_ISSUER_PUBLIC_URL", "https://env.example"),
        ("EUDI_ISSUER_POLICY_BATCH_SIZE", "3"),
        (
            "EUDI_ISSUER_POLICY_MIN_LOA",
            "https://data.gov.dk/concept/core/nsis/loa/High",
        ),
        ("EUDI_ISSUER_MITID_CLIENT_SECRET", "from-env"),
        ("EUDI_ISSUER_LOG_FORMAT", "json"),
        ("EUDI_ISSUER_POLICY_DEFER_ON_BIRTH_DATE_MISMATCH", "false"),
        ("UNRELATED", "ignored"),
    ]);
    let c = Config::load(
        Some(Path::new(EXAMPLE)),
        vars.clone(),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        c.public_url.as_ref().map(url::Url::as_str),
        Some("https://env.example/")
    );
    assert_eq!(c.policy.batch_size, 3);
    assert_eq!(c.policy.min_loa, AssuranceLevel::High);
    assert_eq!(
        c.mitid.client_secret.as_ref().map(|s| s.expose()),
        Some("from-env")
    );
    assert_eq!(c.log.format, LogFormat::Json);
    assert!(!c.policy.defer_on_birth_date_mismatch);
    let overrides = Overrides {
        public_url: Some("https://cli.example".parse().unwrap()),
        data_dir: Some("/cli".into()),
        listen: Some("0.0.0.0:0".parse().unwrap()),
        database_url: Some("sqlite:///cli/db?mode=rwc".into()),
    };
    let c = Config::load(Some(Path::new(EXAMPLE)), vars, &overrides).unwrap();
    assert_eq!(
        c.public_url.as_ref().map(url::Url::as_str),
        Some("https://cli.example/")
    );
    assert_eq!(c.data_dir(), PathBuf::from("/cli"));
    assert_eq!(c.listen.port(), 0);
    assert_eq!(c.database_url().expose(), "sqlite:///cli/db?mode=rwc");
    assert_eq!(c.policy.batch_size, 3, "what the CLI does not set stays");
}

#[test]
fn bad_file_values_name_the_key() {
    let dir = std::env::temp_dir().join(format!("eudi-issuer-core-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, key) in [
        ("[policy]\nbatch_size = \"many\"\n", "batch_size"),
        ("[policy]\nbatch_sise = 3\n", "batch_sise"),
        ("[mitid]\nmode = \"cloud\"\n", "mode"),
        ("public_url = \"not a url\"\n", "public_url"),
        ("[log]\nformat = \"xml\"\n", "format"),
    ] {
        let path = dir.join("c.toml");
        std::fs::write(&path, text).unwrap();
        let e = Config::load(Some(&path), env(&[]), &Overrides::default()).unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }), "{text}: {e}");
        assert!(e.to_string().contains(key), "{text}: {e}");
    }
    let path = dir.join("c.toml");
    std::fs::write(&path, "[policy]\nbatch_size = 0\n").unwrap();
    let e = Config::load(Some(&path), env(&[("HOME", "/h")]), &Overrides::default()).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Invalid {
                key: "policy.batch_size",
                ..
            }
        ),
        "{e}"
    );
    let e = Config::load(
        Some(&dir.join("missing.toml")),
        env(&[]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn broker_mode_needs_its_settings() {
    let base = [
        ("HOME", "/h"),
        ("EUDI_ISSUER_MITID_MODE", "broker"),
        ("EUDI_ISSUER_MITID_ISSUER", "https://broker.example"),
        ("EUDI_ISSUER_MITID_CLIENT_ID", "c"),
    ];
    let e = Config::load(None, env(&base), &Overrides::default()).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Invalid {
                key: "mitid.client_secret",
                ..
            }
        ),
        "{e}"
    );
    let mut with_secret = base.to_vec();
    with_secret.push(("EUDI_ISSUER_MITID_CLIENT_SECRET", "s"));
    let c = Config::load(None, env(&with_secret), &Overrides::default()).unwrap();
    assert_eq!(c.mitid.mode, MitIdMode::Broker);
    let mut public = base.to_vec();
    public.push(("EUDI_ISSUER_MITID_AUTH_METHOD", "none"));
    assert!(Config::load(None, env(&public), &Overrides::default()).is_ok());
}
