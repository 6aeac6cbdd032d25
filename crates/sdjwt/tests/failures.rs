//! Every way a presentation can be wrong, each its own test: the verifier must say exactly which
//! check failed.
#![expect(
    clippy::unwrap_used,
    reason = "test setup failures should abort the test"
)]

use aws_lc_rs::hmac;
use eudi_sdjwt::ClaimPath;
use eudi_sdjwt::IssueError;
use eudi_sdjwt::SdJwt;
use eudi_sdjwt::SdJwtBuilder;
use eudi_sdjwt::SdJwtError;
use eudi_sdjwt::holder::KeyBindingParams;
use eudi_sdjwt::holder::{self};
use eudi_sdjwt::vc;
use eudi_sdjwt::verifier::KeyBindingPolicy;
use eudi_sdjwt::verifier::VerifyOptions;
use eudi_trust::Algorithm;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::b64;
use eudi_trust::jws::Header;
use eudi_trust::jws::JwsError;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;

const IAT: i64 = 1_700_000_000;
const NOW: i64 = IAT + 100;
const AUD: &str = "x509_san_dns:verifier.example";
const NONCE: &str = "nonce-123";

struct Fixture {
    issuer: SoftwareKey,
    holder: SoftwareKey,
}

impl Fixture {
    fn new() -> Self {
        Self {
            issuer: SoftwareKey::generate(Algorithm::Es256).unwrap(),
            holder: SoftwareKey::generate(Algorithm::Es256).unwrap(),
        }
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut claims = json!({
            "given_name": "Karen",
            "family_name": "Hansen",
            "birthdate": "1990-04-01",
            "address": {"locality": "Aarhus", "postal_code": "8000"},
            "nationalities": ["DK", "SE"],
            "exp": IAT + 3600,
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        claims.as_object().unwrap().clone()
    }

    async fn issue_with(&self, extra: Value) -> SdJwt {
        vc::builder(
            "urn:eudi:pid:1",
            "https://issuer.example",
            IAT,
            Self::claims(extra),
        )
        .holder_key(&self.holder.verifying_key().to_jwk())
        .unwrap()
        .sign(&self.issuer)
        .await
        .unwrap()
    }

    async fn issue(&self) -> SdJwt {
        self.issue_with(json!({})).await
    }

    async fn present(&self, sd: &SdJwt, params: &KeyBindingParams) -> SdJwt {
        let chosen = holder::select(
            sd,
            &[
                ClaimPath::keys(["given_name"]),
                ClaimPath::keys(["address", "locality"]),
            ],
        )
        .unwrap();
        holder::add_key_binding(chosen, &self.holder, params)
            .await
            .unwrap()
    }

    fn params() -> KeyBindingParams {
        KeyBindingParams {
            audience: AUD.into(),
            nonce: NONCE.into(),
            iat: NOW - 10,
        }
    }

    fn options() -> VerifyOptions {
        let mut o = VerifyOptions::new(NOW);
        o.key_binding = KeyBindingPolicy::required(AUD, NONCE);
        o
    }

    fn verify(&self, sd: &SdJwt) -> Result<vc::VerifiedSdJwtVc, SdJwtError> {
        self.verify_opts(sd, &Self::options())
    }

    fn verify_opts(
        &self,
        sd: &SdJwt,
        options: &VerifyOptions,
    ) -> Result<vc::VerifiedSdJwtVc, SdJwtError> {
        let key = self.issuer.verifying_key().clone();
        // Through the wire format, as a verifier would receive it.
        let sd = SdJwt::parse(&sd.serialize()?)?;
        vc::verify(&sd, &mut |_, _| Ok(key.clone()), options)
    }
}

/// Replaces the Issuer-signed JWT payload, keeping its signature.
fn with_payload(sd: &SdJwt, f: impl FnOnce(&mut Map<String, Value>)) -> SdJwt {
    let compact = sd.to_compact().unwrap();
    let (jwt, rest) = compact.split_once('~').unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut payload: Map<String, Value> =
        serde_json::from_slice(&b64::decode(parts[1]).unwrap()).unwrap();
    f(&mut payload);
    let payload = b64::encode(serde_json::to_vec(&payload).unwrap());
    SdJwt::parse(&format!("{}.{payload}.{}~{rest}", parts[0], parts[2])).unwrap()
}

fn compact_with_disclosures(sd: &SdJwt, disclosures: &[impl AsRef<str>]) -> SdJwt {
    let mut s = sd.issuer_jwt().unwrap().to_owned();
    s.push('~');
    for d in disclosures {
        s.push_str(d.as_ref());
        s.push('~');
    }
    SdJwt::parse(&s).unwrap()
}

#[tokio::test]
async fn the_happy_path_verifies() {
    let f = Fixture::new();
    let p = f.present(&f.issue().await, &Fixture::params()).await;
    let v = f.verify(&p).unwrap();
    assert_eq!(
        Value::Object(v.user_claims()),
        json!({"given_name": "Karen", "address": {"locality": "Aarhus"}})
    );
    assert_eq!(v.vct(), "urn:eudi:pid:1");
    let kb = v.sd_jwt().key_binding().unwrap();
    assert_eq!((kb.aud(), kb.nonce()), (AUD, NONCE));
}

#[tokio::test]
async fn tampered_payload_is_rejected() {
    let f = Fixture::new();
    let p = with_payload(&f.issue().await, |p| {
        p.insert("iss".into(), json!("https://evil.example"));
    });
    assert_eq!(
        f.verify_opts(&p, &VerifyOptions::new(NOW)).err(),
        Some(SdJwtError::IssuerJws(JwsError::BadSignature))
    );
}

#[tokio::test]
async fn tampered_disclosure_is_not_referenced() {
    let f = Fixture::new();
    let sd = f.issue().await;
    let mut disclosures = sd
        .disclosures()
        .unwrap()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    // Same claim, other value: its digest is nowhere in the payload.
    let forged =
        eudi_sdjwt::disclosure::Disclosure::property("salt", "given_name", &json!("Eve")).unwrap();
    disclosures[0] = forged.encoded().to_owned();
    let p = compact_with_disclosures(&sd, &disclosures);
    assert_eq!(
        f.verify_opts(&p, &VerifyOptions::new(NOW)).err(),
        Some(SdJwtError::UnreferencedDisclosure { index: 0 })
    );
}

#[tokio::test]
async fn disclosure_from_another_credential_is_not_referenced() {
    let f = Fixture::new();
    let sd = f.issue().await;
    let other = f.issue().await;
    let mut disclosures = sd
        .disclosures()
        .unwrap()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    disclosures.push(other.disclosure(0).unwrap().unwrap().to_owned());
    let p = compact_with_disclosures(&sd, &disclosures);
    let index = disclosures.len() - 1;
    assert_eq!(
        f.verify_opts(&p, &VerifyOptions::new(NOW)).err(),
        Some(SdJwtError::UnreferencedDisclosure { index })
    );
}

#[tokio::test]
async fn duplicate_disclosure_is_rejected() {
    let f = Fixture::new();
    let sd = f.issue().await;
    let mut disclosures = sd
        .disclosures()
        .unwrap()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    disclosures.push(disclosures[0].clone());
    let p = compact_with_disclosures(&sd, &disclosures);
    assert!(matches!(
        f.verify_opts(&p, &VerifyOptions::new(NOW)),
        Err(SdJwtError::DuplicateDisclosure { .. })
    ));
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let f = Fixture::new();
    let sd = f.issue().await;
    let compact = sd.to_compact().unwrap();
    let (jwt, rest) = compact.split_once('~').unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    let header = b64::encode(br#"{"alg":"none","typ":"dc+sd-jwt"}"#);
    let p = SdJwt::parse(&format!("{header}.{payload}.~{rest}")).unwrap();
    assert_eq!(
        f.verify_opts(&p, &VerifyOptions::new(NOW)).err(),
        Some(SdJwtError::IssuerJws(JwsError::UnsupportedAlgorithm(
            "none".into()
        )))
    );
}

#[tokio::test]
async fn hs256_with_the_public_key_as_secret_is_rejected() {
    let f = Fixture::new();
    let sd = f.issue().await;
    let compact = sd.to_compact().unwrap();
    let (jwt, rest) = compact.split_once('~').unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    let header = b64::encode(br#"{"alg":"HS256","typ":"dc+sd-jwt"}"#);
    let signing_input = format!("{header}.{payload}");
    // The classic key-confusion attack: HMAC keyed with the issuer's public key.
    let secret = hmac::Key::new(
        hmac::HMAC_SHA256,
        f.issuer.verifying_key().sec1_uncompressed(),
    );
    let mac = hmac::sign(&secret, signing_input.as_bytes());
    let p = SdJwt::parse(&format!("{signing_input}.{}~{rest}", b64::encode(mac))).unwrap();
    assert_eq!(
        f.verify_opts(&p, &VerifyOptions::new(NOW)).err(),
        Some(SdJwtError::IssuerJws(JwsError::UnsupportedAlgorithm(
            "HS256".into()
        )))
    );
}

#[tokio::test]
async fn wrong_typ_is_rejected() {
    let f = Fixture::new();
    let sd = vc::builder(
        "urn:eudi:pid:1",
        "https://issuer.example",
        IAT,
        Fixture::claims(json!({})),
    )
    .typ("JWT")
    .sign(&f.issuer)
    .await
    .unwrap();
    assert!(matches!(
        f.verify_opts(&sd, &VerifyOptions::new(NOW)),
        Err(SdJwtError::IssuerJws(JwsError::WrongType { .. }))
    ));
}

#[tokio::test]
async fn legacy_vc_typ_is_accepted() {
    let f = Fixture::new();
    let sd = vc::builder(
        "urn:eudi:pid:1",
        "https://issuer.example",
        IAT,
        Fixture::claims(json!({})),
    )
    .typ("vc+sd-jwt")
    .sign(&f.issuer)
    .await
    .unwrap();
    f.verify_opts(&sd, &VerifyOptions::new(NOW)).unwrap();
}

#[tokio::test]
async fn expired_is_rejected() {
    let f = Fixture::new();
    let sd = f.issue_with(json!({"exp": NOW - 3600})).await;
    assert!(matches!(
        f.verify_opts(&sd, &VerifyOptions::new(NOW)),
        Err(SdJwtError::Time { claim: "exp", .. })
    ));
}

#[tokio::test]
async fn not_yet_valid_is_rejected() {
    let f = Fixture::new();
    let sd = f.issue_with(json!({"nbf": NOW + 3600})).await;
    assert!(matches!(
        f.verify_opts(&sd, &VerifyOptions::new(NOW)),
        Err(SdJwtError::Time { claim: "nbf", .. })
    ));
}

#[tokio::test]
async fn kb_with_wrong_nonce_is_rejected() {
    let f = Fixture::new();
    let params = KeyBindingParams {
        nonce: "other-nonce".into(),
        ..Fixture::params()
    };
    let p = f.present(&f.issue().await, &params).await;
    let err = f.verify(&p).err().unwrap();
    assert!(err.to_string().contains("`nonce`"), "{err}");
}

#[tokio::test]
async fn kb_with_wrong_aud_is_rejected() {
    let f = Fixture::new();
    let params = KeyBindingParams {
        audience: "x509_san_dns:other.example".into(),
        ..Fixture::params()
    };
    let p = f.present(&f.issue().await, &params).await;
    let err = f.verify(&p).err().unwrap();
    assert!(err.to_string().contains("`aud`"), "{err}");
}

#[tokio::test]
async fn kb_with_wrong_sd_hash_is_rejected() {
    let f = Fixture::new();
    let sd = f.issue().await;
    // KB-JWT made over one selection, then a disclosure is dropped.
    let p = f.present(&sd, &Fixture::params()).await;
    let kb = p.kb_jwt().unwrap().unwrap().to_owned();
    let fewer = &p.disclosures().unwrap().skip(1).collect::<Vec<_>>();
    let mut s = compact_with_disclosures(&sd, fewer).to_compact().unwrap();
    s.push_str(&kb);
    let err = f.verify(&SdJwt::parse(&s).unwrap()).err().unwrap();
    assert!(err.to_string().contains("`sd_hash`"), "{err}");
}

#[tokio::test]
async fn stale_kb_is_rejected() {
    let f = Fixture::new();
    let params = KeyBindingParams {
        iat: NOW - 3600,
        ..Fixture::params()
    };
    let p = f.present(&f.issue().await, &params).await;
    let err = f.verify(&p).err().unwrap();
    assert!(err.to_string().contains("older than"), "{err}");
}

#[tokio::test]
async fn kb_from_the_future_is_rejected() {
    let f = Fixture::new();
    let params = KeyBindingParams {
        iat: NOW + 3600,
        ..Fixture::params()
    };
    let p = f.present(&f.issue().await, &params).await;
    let err = f.verify(&p).err().unwrap();
    assert!(err.to_string().contains("in the future"), "{err}");
}

#[tokio::test]
async fn kb_signed_by_another_key_is_rejected() {
    let f = Fixture::new();
    let thief = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let sd = f.issue().await;
    let chosen = holder::select(&sd, &[ClaimPath::keys(["given_name"])]).unwrap();
    let p = holder::add_key_binding(chosen, &thief, &Fixture::params())
        .await
        .unwrap();
    let err = f.verify(&p).err().unwrap();
    assert!(err.to_string().contains("signature"), "{err}");
}

#[tokio::test]
async fn kb_with_wrong_typ_is_rejected() {
    let f = Fixture::new();
    let sd = f.issue().await;
    let chosen = holder::select(&sd, &[ClaimPath::keys(["given_name"])]).unwrap();
    let sd_hash = eudi_sdjwt::SdAlg::Sha256.digest_b64(chosen.sd_jwt_compact().unwrap().as_bytes());
    let payload = json!({"iat": NOW, "aud": AUD, "nonce": NONCE, "sd_hash": sd_hash});
    let kb = eudi_trust::jws::sign_compact(
        &Header::new(Algorithm::Es256, Some("JWT")),
        payload.to_string().as_bytes(),
        &f.holder,
    )
    .await
    .unwrap();
    let p = SdJwt::parse(&format!("{}{kb}", chosen.sd_jwt_compact().unwrap())).unwrap();
    let err = f.verify(&p).err().unwrap();
    assert!(err.to_string().contains("typ"), "{err}");
}

#[tokio::test]
async fn missing_kb_is_rejected_when_required() {
    let f = Fixture::new();
    let sd = f.issue().await;
    let p = holder::select(&sd, &[ClaimPath::keys(["given_name"])]).unwrap();
    assert_eq!(f.verify(&p).err(), Some(SdJwtError::MissingKeyBinding));
}

#[tokio::test]
async fn kb_without_cnf_is_rejected() {
    let f = Fixture::new();
    let sd = vc::builder(
        "urn:eudi:pid:1",
        "https://issuer.example",
        IAT,
        Fixture::claims(json!({})),
    )
    .sign(&f.issuer)
    .await
    .unwrap();
    let p = holder::add_key_binding(sd, &f.holder, &Fixture::params())
        .await
        .unwrap();
    assert_eq!(f.verify(&p).err(), Some(SdJwtError::MissingHolderKey));
}

#[tokio::test]
async fn a_present_kb_is_checked_even_when_not_required() {
    let f = Fixture::new();
    let params = KeyBindingParams {
        iat: NOW - 3600,
        ..Fixture::params()
    };
    let p = f.present(&f.issue().await, &params).await;
    assert!(matches!(
        f.verify_opts(&p, &VerifyOptions::new(NOW)),
        Err(SdJwtError::KeyBinding(_))
    ));
}

#[tokio::test]
async fn holder_rejects_an_issuance_with_kb() {
    let f = Fixture::new();
    let p = f.present(&f.issue().await, &Fixture::params()).await;
    let mut o = VerifyOptions::new(NOW);
    o.forbid_key_binding = true;
    assert_eq!(
        f.verify_opts(&p, &o).err(),
        Some(SdJwtError::UnexpectedKeyBinding)
    );
}

#[tokio::test]
async fn selectively_disclosed_registered_claims_are_rejected() {
    let f = Fixture::new();
    for claim in ["iss", "vct", "cnf", "exp", "status"] {
        let mut claims = Fixture::claims(
            json!({"status": {"status_list": {"idx": 1, "uri": "https://s.example/1"}}}),
        );
        claims.insert("vct".into(), json!("urn:eudi:pid:1"));
        claims.insert("iss".into(), json!("https://issuer.example"));
        claims.insert(
            "cnf".into(),
            json!({"jwk": f.holder.verifying_key().to_jwk()}),
        );
        let sd = SdJwtBuilder::new(claims)
            .typ(vc::TYP)
            .sd(ClaimPath::keys([claim]))
            .sign(&f.issuer)
            .await
            .unwrap();
        let err = f.verify_opts(&sd, &VerifyOptions::new(NOW)).err().unwrap();
        assert_eq!(
            err,
            SdJwtError::NotDisclosable {
                claim: claim.to_owned()
            },
            "{claim}"
        );
    }
}

#[tokio::test]
async fn missing_vct_is_rejected() {
    let f = Fixture::new();
    let sd = SdJwtBuilder::new(Fixture::claims(json!({})))
        .typ(vc::TYP)
        .sign(&f.issuer)
        .await
        .unwrap();
    assert_eq!(
        f.verify_opts(&sd, &VerifyOptions::new(NOW)).err(),
        Some(SdJwtError::Vc("`vct` is missing".into()))
    );
}

#[tokio::test]
async fn es384_is_rejected_by_default_and_accepted_when_configured() {
    let f = Fixture::new();
    let issuer = SoftwareKey::generate(Algorithm::Es384).unwrap();
    let sd = vc::builder(
        "urn:eudi:pid:1",
        "https://issuer.example",
        IAT,
        Fixture::claims(json!({})),
    )
    .sign(&issuer)
    .await
    .unwrap();
    let key = issuer.verifying_key().clone();
    let err = vc::verify(&sd, &mut |_, _| Ok(key.clone()), &VerifyOptions::new(NOW)).err();
    assert_eq!(
        err,
        Some(SdJwtError::IssuerJws(JwsError::AlgorithmNotAllowed(
            Algorithm::Es384
        )))
    );
    let mut o = VerifyOptions::new(NOW);
    o.algorithms = eudi_trust::AlgorithmPolicy::new([Algorithm::Es256, Algorithm::Es384]);
    vc::verify(&sd, &mut |_, _| Ok(key.clone()), &o).unwrap();
    let _ = f;
}

#[tokio::test]
async fn unknown_claim_path_is_a_holder_error() {
    let f = Fixture::new();
    assert!(matches!(
        holder::select(&f.issue().await, &[ClaimPath::keys(["no_such_claim"])]),
        Err(IssueError::UnknownClaimPath(_))
    ));
}

#[tokio::test]
async fn issuer_rejects_reserved_and_unknown_paths() {
    let f = Fixture::new();
    let err = SdJwtBuilder::new(Fixture::claims(json!({"_sd": 1})))
        .sign(&f.issuer)
        .await;
    assert!(matches!(err, Err(IssueError::ReservedClaimName { .. })));
    let err = SdJwtBuilder::new(Fixture::claims(json!({})))
        .sd(ClaimPath::keys(["nope"]))
        .sign(&f.issuer)
        .await;
    assert!(matches!(err, Err(IssueError::InvalidSdPath { .. })));
}

#[tokio::test]
async fn holder_selection_includes_parents_and_children() {
    let f = Fixture::new();
    let sd = f.issue().await;
    let (all, disclosable) = holder::disclosable_claims(&sd).unwrap();
    assert_eq!(all["address"]["postal_code"], "8000");
    assert!(
        disclosable
            .iter()
            .any(|c| c.path == ClaimPath::keys(["address", "locality"]))
    );
    // Selecting a child brings its parent.
    let p = holder::select(&sd, &[ClaimPath::keys(["address", "postal_code"])]).unwrap();
    assert_eq!(p.disclosures().unwrap().len(), 2);
    // Selecting the parent brings every child.
    let p = holder::select(&sd, &[ClaimPath::keys(["address"])]).unwrap();
    assert_eq!(p.disclosures().unwrap().len(), 3);
    // A wildcard over an array brings every element.
    let path: ClaimPath = serde_json::from_value(json!(["nationalities", null])).unwrap();
    let p = holder::select(&sd, &[path]).unwrap();
    let v = f.verify_opts(&p, &VerifyOptions::new(NOW)).unwrap();
    assert_eq!(v.user_claims()["nationalities"], json!(["DK", "SE"]));
    // One element only.
    let p = holder::select(&sd, &[ClaimPath::keys(["nationalities"]).index(1)]).unwrap();
    let v = f.verify_opts(&p, &VerifyOptions::new(NOW)).unwrap();
    assert_eq!(v.user_claims()["nationalities"], json!(["SE"]));
}

#[tokio::test]
async fn sd_hash_is_checked_when_its_hash_is_not_the_signature_hash() {
    // The verifier reuses the signature's SHA-256 state for `sd_hash` only when both hashes
    // are the same; `_sd_alg` sha-384 (under ES256) and an ES384 issuer (with sha-256) take the
    // separate path, which must check just as strictly.
    for (issuer_alg, sd_alg) in [
        (Algorithm::Es256, eudi_sdjwt::SdAlg::Sha384),
        (Algorithm::Es384, eudi_sdjwt::SdAlg::Sha256),
        (Algorithm::Es256, eudi_sdjwt::SdAlg::Sha256),
    ] {
        let f = Fixture {
            issuer: SoftwareKey::generate(issuer_alg).unwrap(),
            holder: SoftwareKey::generate(Algorithm::Es256).unwrap(),
        };
        let sd = vc::builder(
            "urn:eudi:pid:1",
            "https://issuer.example",
            IAT,
            Fixture::claims(json!({})),
        )
        .hash_alg(sd_alg)
        .holder_key(&f.holder.verifying_key().to_jwk())
        .unwrap()
        .sign(&f.issuer)
        .await
        .unwrap();
        let p = f.present(&sd, &Fixture::params()).await;
        let mut options = Fixture::options();
        options.algorithms = eudi_trust::AlgorithmPolicy::new([Algorithm::Es256, Algorithm::Es384]);
        f.verify_opts(&p, &options).unwrap();
        // The same KB-JWT over one disclosure fewer: `sd_hash` no longer matches.
        let kb = p.kb_jwt().unwrap().unwrap();
        let fewer: Vec<&str> = p.disclosures().unwrap().skip(1).collect();
        let tampered = format!(
            "{}{kb}",
            compact_with_disclosures(&p, &fewer)
                .sd_jwt_compact()
                .unwrap()
        );
        let err = f
            .verify_opts(&SdJwt::parse(&tampered).unwrap(), &options)
            .unwrap_err();
        assert!(
            err.to_string().contains("`sd_hash`"),
            "{issuer_alg:?}/{sd_alg:?}: {err}"
        );
    }
}

/// An SD-JWT VC signed by the fixture's issuer over exactly this payload and these
/// disclosures, as a (misbehaving) issuer could make it: the builder would refuse.
async fn signed_by_hand(f: &Fixture, payload: &Value, disclosures: &[String]) -> SdJwt {
    let header = Header::new(Algorithm::Es256, Some(vc::TYP));
    let jwt =
        eudi_trust::jws::sign_compact(&header, &serde_json::to_vec(payload).unwrap(), &f.issuer)
            .await
            .unwrap();
    let mut text = jwt;
    text.push('~');
    for d in disclosures {
        text.push_str(d);
        text.push('~');
    }
    SdJwt::parse(&text).unwrap()
}

fn digest(disclosure: &str) -> String {
    eudi_sdjwt::SdAlg::Sha256.digest_b64(disclosure.as_bytes())
}

#[tokio::test]
async fn disclosure_named_sd_alg_is_rejected() {
    // RFC 9901 §4.1.1: `_sd_alg` belongs to the top level of the payload only; disclosed, it
    // would enter the processed claims.
    let f = Fixture::new();
    for name in ["_sd_alg", "_sd", "..."] {
        let d = b64::encode(serde_json::to_vec(&json!(["salt-1", name, "sha-512"])).unwrap());
        let payload = json!({
            "vct": "urn:eudi:pid:1",
            "iss": "https://issuer.example",
            "_sd": [digest(&d)],
            "_sd_alg": "sha-256",
        });
        let sd = signed_by_hand(&f, &payload, &[d]).await;
        assert_eq!(
            f.verify_opts(&sd, &VerifyOptions::new(NOW)).err(),
            Some(SdJwtError::ReservedClaimName {
                index: 0,
                name: name.to_owned()
            }),
            "{name}"
        );
    }
}

#[tokio::test]
async fn disclosed_sub_claim_of_a_never_disclosable_claim_is_rejected() {
    // SD-JWT VC §3.2.2.2: `status` "including any of their sub-claims".
    let f = Fixture::new();
    let d = b64::encode(
        serde_json::to_vec(
            &json!(["salt-2", "status_list", {"idx": 1, "uri": "https://s.example/1"}]),
        )
        .unwrap(),
    );
    let payload = json!({
        "vct": "urn:eudi:pid:1",
        "iss": "https://issuer.example",
        "status": {"_sd": [digest(&d)]},
        "_sd_alg": "sha-256",
    });
    let sd = signed_by_hand(&f, &payload, &[d]).await;
    assert_eq!(
        f.verify_opts(&sd, &VerifyOptions::new(NOW)).err(),
        Some(SdJwtError::NotDisclosable {
            claim: "status".into()
        })
    );
}

#[tokio::test]
async fn vc_issuer_refuses_to_make_never_disclosable_claims_disclosable() {
    let f = Fixture::new();
    for path in [
        ClaimPath::keys(["exp"]),
        ClaimPath::keys(["status"]),
        ClaimPath::keys(["status", "status_list"]),
        ClaimPath::keys(["vct#integrity"]),
    ] {
        let claims = Fixture::claims(json!({
            "status": {"status_list": {"idx": 1, "uri": "https://s.example/1"}},
            "vct#integrity": "sha256-abc",
        }));
        let err = vc::builder("urn:eudi:pid:1", "https://issuer.example", IAT, claims)
            .sd(path.clone())
            .sign(&f.issuer)
            .await
            .err();
        assert!(
            matches!(err, Some(IssueError::ReservedClaimName { .. })),
            "{path}: {err:?}"
        );
    }
    // A claim the builder sets itself is never disclosable either.
    let err = vc::builder(
        "urn:eudi:pid:1",
        "https://issuer.example",
        IAT,
        Fixture::claims(json!({})),
    )
    .sd(ClaimPath::keys(["iss"]))
    .sign(&f.issuer)
    .await
    .err();
    assert!(
        matches!(err, Some(IssueError::InvalidSdPath { ref path, .. }) if path == "[\"iss\"]"),
        "{err:?}"
    );
    // Select-everything with an own exception list still keeps them plain.
    let sd = vc::builder(
        "urn:eudi:pid:1",
        "https://issuer.example",
        IAT,
        Fixture::claims(json!({})),
    )
    .sd_all_except(&[])
    .sign(&f.issuer)
    .await
    .unwrap();
    let v = f.verify_opts(&sd, &VerifyOptions::new(NOW)).unwrap();
    assert_eq!(v.claims()["exp"], json!(IAT + 3600));
    assert!(
        v.sd_jwt()
            .disclosed()
            .iter()
            .all(|n| n.path != ClaimPath::keys(["exp"]))
    );
}

#[tokio::test]
async fn integers_beyond_64_bits_stay_exact() {
    // 2^70 and -2^70: an f64 would round neither visibly here, but any larger odd number; the
    // digits must come back exactly as issued, disclosed or plain.
    const BIG: &str = "1180591620717411303424";
    const ODD: &str = "-1180591620717411303425";
    let f = Fixture::new();
    let number = |s: &str| serde_json::from_str::<Value>(s).unwrap();
    let claims = Fixture::claims(json!({
        "big": number(BIG),
        "odd": number(ODD),
        "nested": {"n": number(ODD)},
        "list": [number(BIG)],
    }));
    // Every claim disclosable.
    let sd = vc::builder("urn:eudi:pid:1", "https://issuer.example", IAT, &claims)
        .sign(&f.issuer)
        .await
        .unwrap();
    let v = f.verify_opts(&sd, &VerifyOptions::new(NOW)).unwrap();
    assert_eq!(v.claims()["big"].to_string(), BIG);
    assert_eq!(v.claims()["odd"].to_string(), ODD);
    assert_eq!(v.claims()["nested"]["n"].to_string(), ODD);
    assert_eq!(v.claims()["list"][0].to_string(), BIG);
    // Plain claims in the payload.
    let sd = SdJwtBuilder::new(&claims)
        .typ(vc::TYP)
        .sd(ClaimPath::keys(["given_name"]))
        .sign(&f.issuer)
        .await
        .unwrap();
    let payload = eudi_sdjwt::verifier::unverified_payload(&sd).unwrap();
    assert_eq!(payload["odd"].to_string(), ODD);
    let v = eudi_sdjwt::verifier::verify(
        &SdJwt::parse(&sd.serialize().unwrap()).unwrap(),
        &mut |_, _| Ok(f.issuer.verifying_key().clone()),
        &VerifyOptions::new(NOW),
    )
    .unwrap();
    assert_eq!(v.claims()["big"].to_string(), BIG);
    assert_eq!(v.claims()["nested"]["n"].to_string(), ODD);
}
