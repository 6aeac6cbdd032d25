//! The development PKI: generated once, reloaded identically, chains that validate for their
//! purpose only, leaves re-issued under the same CA when the public URL changes.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::path::PathBuf;

use eudi_issuer::config::KeysConfig;
use eudi_issuer::pki::IssuerKeys;
use eudi_issuer::pki::PkiError;
use eudi_trust::ChainValidator;
use eudi_trust::Clock;
use eudi_trust::LeafProfile;
use eudi_trust::Signer as _;
use eudi_trust::TrustAnchors;
use eudi_verify::AnchorPurpose;

#[derive(Debug)]
struct At(i64);

impl Clock for At {
    fn now(&self) -> i64 {
        self.0
    }
}

const NOW: i64 = 1_780_000_000;
const ISSUER: &str = "https://issuer.example";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "eudi-issuer-core-pki-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn load(dir: &Path, issuer: &str, now: i64) -> IssuerKeys {
    IssuerKeys::load_or_generate(dir, &KeysConfig::default(), "DK", issuer, &At(now)).unwrap()
}

fn validator(der: &[u8]) -> ChainValidator {
    let mut anchors = TrustAnchors::new();
    anchors.add_der(der).unwrap();
    ChainValidator::new(anchors)
}

fn chain(signer: &eudi_issuer::pki::ChainedSigner) -> Vec<&[u8]> {
    signer.chain().iter().map(Vec::as_slice).collect()
}

#[test]
fn generated_once_and_reloaded_identically() {
    let dir = temp_dir("reload");
    let first = load(&dir, ISSUER, NOW);
    let again = load(&dir, ISSUER, NOW + 86_400);
    assert_eq!(first.trust_anchors_pem(), again.trust_anchors_pem());
    for (a, b) in [
        (first.sd_jwt(), again.sd_jwt()),
        (first.sd_jwt_status(), again.sd_jwt_status()),
        (first.mdoc(), again.mdoc()),
        (first.mdoc_status(), again.mdoc_status()),
    ] {
        assert_eq!(a.chain(), b.chain());
        assert_eq!(
            a.signer().verifying_key().sec1_uncompressed(),
            b.signer().verifying_key().sec1_uncompressed()
        );
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        if name.ends_with(".key.pem") || name == "identity.secret" {
            assert_eq!(mode, 0o600, "{name}");
        }
    }
    let shown = format!("{first:?} {:?}", first.sd_jwt());
    assert!(!shown.contains("PRIVATE"), "{shown}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn chains_validate_for_their_purpose_and_anchors_are_not_mixed() {
    let dir = temp_dir("chains");
    let keys = load(&dir, ISSUER, NOW);
    let anchors = keys.anchors_der();
    assert_eq!(anchors.len(), 2);
    let (iaca, ca) = (&anchors[0], &anchors[1]);
    let mut parsed = TrustAnchors::new();
    assert_eq!(parsed.add_pem(&keys.trust_anchors_pem()).unwrap(), 2);
    let classes: Vec<_> = parsed.iter().map(AnchorPurpose::classify).collect();
    assert_eq!(classes, vec![AnchorPurpose::Mdoc, AnchorPurpose::SdJwtVc]);

    let ds = validator(iaca)
        .validate_der(&chain(keys.mdoc()), NOW, LeafProfile::MdocDocumentSigner)
        .unwrap();
    assert_eq!(ds.leaf_country.as_deref(), Some("DK"));
    validator(iaca)
        .validate_der(&chain(keys.mdoc_status()), NOW, LeafProfile::Any)
        .unwrap();
    for signer in [keys.sd_jwt(), keys.sd_jwt_status()] {
        let leaf = validator(ca)
            .validate_der(&chain(signer), NOW, LeafProfile::DigitalSignature)
            .unwrap();
        assert_eq!(leaf.leaf_san_uri, vec![ISSUER.to_owned()]);
        assert_ne!(
            leaf.leaf_subject, leaf.anchor_subject,
            "leaf is not self-signed"
        );
        assert!(
            validator(iaca)
                .validate_der(&chain(signer), NOW, LeafProfile::DigitalSignature)
                .is_err()
        );
    }
    assert!(
        validator(ca)
            .validate_der(&chain(keys.mdoc()), NOW, LeafProfile::MdocDocumentSigner)
            .is_err()
    );
    // The document signer is not fit to be an SD-JWT VC issuer's leaf of the wrong anchor, and
    // the SD-JWT VC leaf is no document signer.
    assert!(
        validator(iaca)
            .validate_der(&chain(keys.sd_jwt()), NOW, LeafProfile::MdocDocumentSigner)
            .is_err()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_public_url_reissues_the_sd_jwt_leaves_under_the_same_ca() {
    let dir = temp_dir("url");
    let first = load(&dir, ISSUER, NOW);
    let moved = load(&dir, "https://moved.example/pid", NOW);
    assert_eq!(first.anchors_der(), moved.anchors_der());
    assert_eq!(first.mdoc().chain(), moved.mdoc().chain());
    assert_ne!(first.sd_jwt().chain(), moved.sd_jwt().chain());
    assert_ne!(first.sd_jwt_status().chain(), moved.sd_jwt_status().chain());
    let leaf = validator(&moved.anchors_der()[1])
        .validate_der(&chain(moved.sd_jwt()), NOW, LeafProfile::DigitalSignature)
        .unwrap();
    assert_eq!(
        leaf.leaf_san_uri,
        vec!["https://moved.example/pid".to_owned()]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn leaves_close_to_expiry_are_reissued() {
    let dir = temp_dir("expiry");
    let first = load(&dir, ISSUER, NOW);
    let later = load(&dir, ISSUER, NOW + 340 * 86_400);
    assert_eq!(first.anchors_der(), later.anchors_der());
    assert_ne!(first.mdoc().chain(), later.mdoc().chain());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explicit_files_are_checked() {
    let dev = temp_dir("explicit-dev");
    let _ = load(&dev, ISSUER, NOW);
    let f = |name: &str| Some(dev.join(name));
    let anchors = dev.join("anchors.pem");
    let keys = load(&dev, ISSUER, NOW);
    std::fs::write(&anchors, keys.trust_anchors_pem()).unwrap();
    let config = KeysConfig {
        dir: None,
        sd_jwt_key: f("sd-jwt-signer.key.pem"),
        sd_jwt_chain: f("sd-jwt-signer.cert.pem"),
        sd_jwt_status_key: f("sd-jwt-status.key.pem"),
        sd_jwt_status_chain: f("sd-jwt-status.cert.pem"),
        mdoc_key: f("mdoc-signer.key.pem"),
        mdoc_chain: f("mdoc-signer.cert.pem"),
        mdoc_status_key: f("mdoc-status.key.pem"),
        mdoc_status_chain: f("mdoc-status.cert.pem"),
        trust_anchors: Some(anchors),
        identity_secret: None,
    };
    let prod = temp_dir("explicit-prod");
    let loaded = IssuerKeys::load_or_generate(&prod, &config, "DK", ISSUER, &At(NOW)).unwrap();
    assert_eq!(loaded.mdoc().chain(), keys.mdoc().chain());
    assert_eq!(loaded.trust_anchors_pem(), keys.trust_anchors_pem());
    // Another public URL than the leaf names: refused, not re-issued.
    let e = IssuerKeys::load_or_generate(&prod, &config, "DK", "https://other.example", &At(NOW))
        .unwrap_err();
    assert!(matches!(e, PkiError::Chain { .. }), "{e}");
    // A key that is not the certificate's.
    let swapped = KeysConfig {
        mdoc_key: f("mdoc-status.key.pem"),
        ..config.clone()
    };
    let e = IssuerKeys::load_or_generate(&prod, &swapped, "DK", ISSUER, &At(NOW)).unwrap_err();
    assert!(e.to_string().contains("public key"), "{e}");
    // The status signer is not a document signer.
    let wrong = KeysConfig {
        mdoc_key: f("mdoc-status.key.pem"),
        mdoc_chain: f("mdoc-status.cert.pem"),
        ..config
    };
    assert!(IssuerKeys::load_or_generate(&prod, &wrong, "DK", ISSUER, &At(NOW)).is_err());
    std::fs::remove_dir_all(&dev).unwrap();
    std::fs::remove_dir_all(&prod).unwrap();
}

#[test]
fn two_processes_starting_at_once_share_one_pki() {
    let dir = temp_dir("race");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || load(&dir, ISSUER, NOW).trust_anchors_pem())
        })
        .collect();
    let anchors: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(anchors.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(anchors[0], load(&dir, ISSUER, NOW).trust_anchors_pem());
    assert!(!dir.join(eudi_issuer::pki::LOCK_FILE).exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_configured_identity_secret_is_shared_and_must_exist() {
    let a = temp_dir("secret-a");
    let b = temp_dir("secret-b");
    let first = load(&a, ISSUER, NOW);
    let cpr: eudi_pid::Cpr = "120385-2459".parse().unwrap();
    let key_a = first.identity_secret().key_for_cpr(&cpr);
    // Another keys dir generates its own secret: other identity keys.
    assert_ne!(
        load(&b, ISSUER, NOW).identity_secret().key_for_cpr(&cpr),
        key_a
    );
    // Configured to use the first one's secret, it files records under the same keys.
    let shared = KeysConfig {
        identity_secret: Some(a.join("identity.secret")),
        ..KeysConfig::default()
    };
    let with_shared = IssuerKeys::load_or_generate(&b, &shared, "DK", ISSUER, &At(NOW)).unwrap();
    assert_eq!(with_shared.identity_secret().key_for_cpr(&cpr), key_a);
    let missing = KeysConfig {
        identity_secret: Some(a.join("nope.secret")),
        ..KeysConfig::default()
    };
    assert!(matches!(
        IssuerKeys::load_or_generate(&b, &missing, "DK", ISSUER, &At(NOW)),
        Err(PkiError::Missing(_))
    ));
    std::fs::write(a.join("short.secret"), [1u8; 31]).unwrap();
    let short = KeysConfig {
        identity_secret: Some(a.join("short.secret")),
        ..KeysConfig::default()
    };
    assert!(matches!(
        IssuerKeys::load_or_generate(&b, &short, "DK", ISSUER, &At(NOW)),
        Err(PkiError::Key { .. })
    ));
    std::fs::remove_dir_all(&a).unwrap();
    std::fs::remove_dir_all(&b).unwrap();
}
