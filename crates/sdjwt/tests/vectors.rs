//! Public test vectors: RFC 9901 rendered examples, SD-JWT VC examples and the sd-jwt-python
//! test case specifications (../shared/vectors, see its README for provenance).
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test setup failures should abort the test"
)]

use std::path::Path;
use std::path::PathBuf;

use eudi_sdjwt::ClaimPath;
use eudi_sdjwt::Format;
use eudi_sdjwt::PathElement;
use eudi_sdjwt::SdAlg;
use eudi_sdjwt::SdJwt;
use eudi_sdjwt::SdJwtBuilder;
use eudi_sdjwt::disclosure::Disclosure;
use eudi_sdjwt::holder::KeyBindingParams;
use eudi_sdjwt::holder::{self};
use eudi_sdjwt::vc;
use eudi_sdjwt::verifier::KeyBindingPolicy;
use eudi_sdjwt::verifier::VerifyOptions;
use eudi_sdjwt::verifier::{self};
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::VerifyingKey;
use eudi_trust::b64;
use eudi_trust::jwk::Jwk;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
}

fn read(rel: &str) -> String {
    let path = vectors().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap()
}

fn jwk(rel: &str) -> Jwk {
    serde_json::from_value(read_json(rel)).unwrap()
}

fn spec_issuer_key() -> VerifyingKey {
    jwk("sd-jwt/spec-rendered/issuer_public_key.jwk.json")
        .to_verifying_key()
        .unwrap()
}

/// `now` just after the KB-JWT was made (the vectors' KB `iat` is a fixed past time), or a time
/// inside the credential's validity when there is no KB-JWT.
fn now_for(sd: &SdJwt) -> i64 {
    match sd.kb_jwt().unwrap() {
        Some(kb) => {
            let payload = kb.split('.').nth(1).unwrap();
            let v: Value = serde_json::from_slice(&b64::decode(payload).unwrap()).unwrap();
            v["iat"].as_i64().unwrap() + 5
        }
        None => 1_700_000_000,
    }
}

fn verify_with(sd: &SdJwt, key: &VerifyingKey) -> verifier::VerifiedSdJwt {
    let key = key.clone();
    verifier::verify(
        sd,
        &mut |_, _| Ok(key.clone()),
        &VerifyOptions::new(now_for(sd)),
    )
    .unwrap()
}

#[test]
fn rfc9901_disclosure_unit_vectors() {
    for v in read_json("sd-jwt/spec-rendered/disclosure_unit_vectors.json")
        .as_array()
        .unwrap()
    {
        let encoded = v["disclosure"].as_str().unwrap();
        let d = Disclosure::parse(encoded, 0).unwrap();
        let contents = v["contents"].as_array().unwrap();
        assert_eq!(d.salt(), contents[0]);
        assert_eq!(d.value(), contents.last().unwrap());
        assert_eq!(
            SdAlg::Sha256.digest_b64(encoded.as_bytes()),
            v["sha256_digest"].as_str().unwrap()
        );
    }
}

#[test]
fn rfc9901_every_example_digest_matches() {
    let mut checked = 0;
    for entry in std::fs::read_dir(vectors().join("sd-jwt/spec-rendered")).unwrap() {
        let dir = entry.unwrap().path();
        let file = dir.join("disclosures.json");
        if !file.exists() {
            continue;
        }
        let list: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for d in list.as_array().unwrap() {
            let encoded = d["disclosure"].as_str().unwrap();
            assert_eq!(
                SdAlg::Sha256.digest_b64(encoded.as_bytes()),
                d["sha256_digest"].as_str().unwrap(),
                "{}",
                file.display()
            );
            let parsed = Disclosure::parse(encoded, 0).unwrap();
            assert_eq!(
                &parsed.value(),
                &d["decoded"].as_array().unwrap().last().unwrap()
            );
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} disclosures found");
}

/// Section 6 examples have no signed token: process the payload with all disclosures and
/// compare with the user claims where the spec gives them.
#[tokio::test]
async fn rfc9901_nested_data_examples_process() {
    for name in [
        "address_only_flat",
        "address_only_structured",
        "address_only_recursive",
    ] {
        let payload = read_json(&format!("sd-jwt/spec-rendered/{name}/sd_jwt_payload.json"));
        let disclosures: Vec<String> =
            read_json(&format!("sd-jwt/spec-rendered/{name}/disclosures.json"))
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["disclosure"].as_str().unwrap().to_owned())
                .collect();
        let key = SoftwareKey::generate(eudi_trust::Algorithm::Es256).unwrap();
        // Re-sign the published payload so the full verifier runs over it.
        let jwt = eudi_trust::jws::sign_compact(
            &eudi_trust::jws::Header::new(eudi_trust::Algorithm::Es256, Some("example+sd-jwt")),
            payload.to_string().as_bytes(),
            &key,
        )
        .await
        .unwrap();
        let compact = format!("{jwt}~{}~", disclosures.join("~"));
        let sd = SdJwt::parse(&compact).unwrap();
        let verified = verify_with(&sd, key.verifying_key());
        let address = &verified.claims()["address"];
        assert_eq!(address["street_address"], "Schulstr. 12", "{name}");
        assert_eq!(address["locality"], "Schulpforta", "{name}");
        assert_eq!(address["region"], "Sachsen-Anhalt", "{name}");
        assert_eq!(address["country"], "DE", "{name}");
    }
}

#[test]
fn rfc9901_rendered_presentations_verify_to_the_published_claims() {
    for name in [
        "simple",
        "simple_structured",
        "complex_ekyc",
        "arf-pid",
        "jsonld",
    ] {
        let sd = SdJwt::parse(&read(&format!(
            "sd-jwt/spec-rendered/{name}/sd_jwt_presentation.txt"
        )))
        .unwrap();
        let verified = verify_with(&sd, &spec_issuer_key());
        let expected = read_json(&format!(
            "sd-jwt/spec-rendered/{name}/verified_contents.json"
        ));
        assert_eq!(Value::Object(verified.claims().clone()), expected, "{name}");
        let kb_file = vectors().join(format!("sd-jwt/spec-rendered/{name}/kb_jwt_payload.json"));
        if kb_file.exists() {
            let kb: Value =
                serde_json::from_str(&std::fs::read_to_string(kb_file).unwrap()).unwrap();
            let got = verified.key_binding().cloned().expect("KB-JWT verified");
            assert_eq!(got.nonce(), kb["nonce"].as_str().unwrap());
            assert_eq!(got.aud(), kb["aud"].as_str().unwrap());
        }
    }
}

#[test]
fn rfc9901_rendered_issuances_verify_and_match_the_payload() {
    for name in ["simple", "arf-pid", "jsonld"] {
        let sd = SdJwt::parse(&read(&format!(
            "sd-jwt/spec-rendered/{name}/sd_jwt_issuance.txt"
        )))
        .unwrap();
        let payload = verifier::unverified_payload(&sd).unwrap();
        assert_eq!(
            Value::Object(payload),
            read_json(&format!("sd-jwt/spec-rendered/{name}/sd_jwt_payload.json")),
            "{name}"
        );
        let verified = verify_with(&sd, &spec_issuer_key());
        let user_claims = vectors().join(format!("sd-jwt/spec-rendered/{name}/user_claims.json"));
        let user: Value =
            serde_json::from_str(&std::fs::read_to_string(user_claims).unwrap()).unwrap();
        for (k, v) in user.as_object().unwrap() {
            assert_eq!(verified.claims().get(k), Some(v), "{name}: {k}");
        }
    }
}

#[test]
fn rfc9901_json_serializations() {
    let flat = SdJwt::parse(&read(
        "sd-jwt/spec-rendered/json_serialization_flattened/sd_jwt_presentation.json",
    ))
    .unwrap();
    assert_eq!(flat.format(), Format::JsonFlattened);
    let v = verify_with(&flat, &spec_issuer_key());
    assert!(v.key_binding().is_some());

    let issued = SdJwt::parse(&read(
        "sd-jwt/spec-rendered/json_serialization_flattened/sd_jwt_issuance.json",
    ))
    .unwrap();
    verify_with(&issued, &spec_issuer_key());

    let general = SdJwt::parse(&read(
        "sd-jwt/spec-rendered/json_serialization_general/sd_jwt_presentation.json",
    ))
    .unwrap();
    assert_eq!(general.format(), Format::JsonGeneral);
    assert_eq!(general.signatures().unwrap().len(), 2);
    let key1 = spec_issuer_key();
    let key2 = jwk("sd-jwt/spec-examples/keys/issuer_key_2.public.jwk.json")
        .to_verifying_key()
        .unwrap();
    let mut seen = Vec::new();
    let verified = verifier::verify(
        &general,
        &mut |h, _| {
            seen.push(h.kid.clone());
            match h.kid.as_deref() {
                Some("issuer-key-1") => Ok(key1.clone()),
                Some("issuer-key-2") => Ok(key2.clone()),
                other => Err(format!("unknown kid {other:?}")),
            }
        },
        &VerifyOptions::new(now_for(&general)),
    )
    .unwrap();
    assert_eq!(
        seen,
        [Some("issuer-key-1".into()), Some("issuer-key-2".into())]
    );
    assert!(verified.key_binding().is_some());

    // The second signature is checked too: with the wrong key for it, verification fails.
    let err = verifier::verify(
        &general,
        &mut |_, _| Ok(key1.clone()),
        &VerifyOptions::new(now_for(&general)),
    );
    assert!(err.is_err());
}

#[test]
fn sd_jwt_vc_rendered_examples_verify() {
    let key = jwk("sd-jwt-vc/spec-examples/keys/issuer_key.public.jwk.json")
        .to_verifying_key()
        .unwrap();
    for name in ["01", "02", "03-pid"] {
        let sd = SdJwt::parse(&read(&format!(
            "sd-jwt-vc/spec-rendered/{name}/sd_jwt_presentation.txt"
        )))
        .unwrap();
        let k = key.clone();
        let verified = vc::verify(
            &sd,
            &mut |_, _| Ok(k.clone()),
            &VerifyOptions::new(now_for(&sd)),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = read_json(&format!(
            "sd-jwt-vc/spec-rendered/{name}/verified_contents.json"
        ));
        assert_eq!(
            Value::Object(verified.sd_jwt().claims().clone()),
            expected,
            "{name}"
        );
        assert!(!verified.vct().is_empty());
    }
    for name in ["01", "03-pid"] {
        let sd = SdJwt::parse(&read(&format!(
            "sd-jwt-vc/spec-rendered/{name}/sd_jwt_issuance.txt"
        )))
        .unwrap();
        let k = key.clone();
        vc::verify(
            &sd,
            &mut |_, _| Ok(k.clone()),
            &VerifyOptions::new(now_for(&sd)),
        )
        .unwrap();
    }
}

#[test]
fn status_list_referenced_sd_jwt_verifies() {
    let sd = SdJwt::parse(&read("status-list/referenced_token_sd_jwt.txt")).unwrap();
    let verified = verify_with(&sd, &spec_issuer_key());
    assert_eq!(verified.claims()["status"]["status_list"]["idx"], 0);
    assert_eq!(verified.claims()["address"]["locality"], "Schulpforta");
}

// ---- sd-jwt-python test case specifications -------------------------------------------------

/// Turns a YAML value with `!sd` tags into plain JSON plus the paths the tags marked.
fn untag(v: &serde_yaml::Value, path: &ClaimPath, sd: &mut Vec<ClaimPath>) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Tagged(t) => {
            assert_eq!(t.tag, "sd", "unknown tag {}", t.tag);
            sd.push(path.clone());
            untag(&t.value, path, sd)
        }
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let (name, tagged) = match k {
                    Y::Tagged(t) => (t.value.as_str().unwrap().to_owned(), true),
                    other => (yaml_key(other), false),
                };
                let child = path.key(&name);
                if tagged {
                    sd.push(child.clone());
                }
                out.insert(name, untag(v, &child, sd));
            }
            Value::Object(out)
        }
        Y::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| untag(item, &path.index(i), sd))
                .collect(),
        ),
        other => serde_json::to_value(other).unwrap(),
    }
}

fn yaml_key(k: &serde_yaml::Value) -> String {
    match k {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
    }
}

/// `holder_disclosed_claims` (true/false per claim or element) as claim paths.
fn disclosed_paths(v: &serde_yaml::Value, path: &ClaimPath, out: &mut Vec<ClaimPath>) {
    use serde_yaml::Value as Y;
    match v {
        Y::Bool(true) => out.push(path.clone()),
        Y::Mapping(m) => {
            for (k, v) in m {
                disclosed_paths(v, &path.key(&yaml_key(k)), out);
            }
        }
        Y::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                disclosed_paths(v, &path.index(i), out);
            }
        }
        _ => {}
    }
}

fn yaml(rel: &str) -> serde_yaml::Value {
    serde_yaml::from_str(&read(rel)).unwrap()
}

#[tokio::test]
async fn sd_jwt_python_testcases_round_trip() {
    let settings = yaml("sd-jwt/sd-jwt-python-testcases/settings.yml");
    let issuer_iss = settings["identifiers"]["issuer"].as_str().unwrap();
    let verifier_aud = settings["identifiers"]["verifier"].as_str().unwrap();
    let nonce = settings["key_binding_nonce"].as_str().unwrap();
    let to_jwk = |y: &serde_yaml::Value| -> eudi_trust::PrivateJwk {
        serde_json::to_value(y)
            .and_then(serde_json::from_value)
            .unwrap()
    };
    let holder = SoftwareKey::from_jwk(&to_jwk(&settings["key_settings"]["holder_key"])).unwrap();

    let mut cases = 0;
    for entry in std::fs::read_dir(vectors().join("sd-jwt/sd-jwt-python-testcases")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let spec = yaml(&format!(
            "sd-jwt/sd-jwt-python-testcases/{name}/specification.yml"
        ));
        let issuer_keys = spec["settings_override"]["key_settings"]["issuer_keys"]
            .as_sequence()
            .or(settings["key_settings"]["issuer_keys"].as_sequence())
            .unwrap()
            .iter()
            .map(|k| {
                (
                    SoftwareKey::from_jwk(&to_jwk(k)).unwrap(),
                    k["kid"].as_str().map(str::to_owned),
                )
            })
            .collect::<Vec<_>>();
        let key_binding = spec["key_binding"].as_bool().unwrap_or(false);
        let json = spec["serialization_format"].as_str() == Some("json");

        // 1. Issue.
        let mut sd_paths = Vec::new();
        let user_claims = untag(&spec["user_claims"], &ClaimPath::root(), &mut sd_paths);
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(issuer_iss));
        claims.extend(user_claims.as_object().unwrap().clone());
        let mut builder = SdJwtBuilder::new(claims).typ("testcase+sd-jwt").decoys(2);
        for p in sd_paths {
            builder = builder.sd(p);
        }
        if let Some(extra) = spec["extra_header_parameters"].as_mapping() {
            for (k, v) in extra {
                builder = builder.header_param(&yaml_key(k), serde_json::to_value(v).unwrap());
            }
        }
        if key_binding {
            builder = builder
                .holder_key(&holder.verifying_key().to_jwk())
                .unwrap();
        }
        let issued = if json && issuer_keys.len() > 1 {
            let signers: Vec<(&dyn eudi_trust::Signer, &str)> = issuer_keys
                .iter()
                .map(|(k, kid)| (k as &dyn eudi_trust::Signer, kid.as_deref().unwrap()))
                .collect();
            builder.sign_general(&signers).await.unwrap()
        } else {
            let sd = builder.sign(&issuer_keys[0].0).await.unwrap();
            if json {
                sd.with_format(Format::JsonFlattened).unwrap()
            } else {
                sd
            }
        };
        // Through the wire format and back.
        let issued = SdJwt::parse(&issued.serialize().unwrap()).unwrap();

        // 2. Present.
        let mut chosen = Vec::new();
        disclosed_paths(
            &spec["holder_disclosed_claims"],
            &ClaimPath::root(),
            &mut chosen,
        );
        let mut presentation = holder::select(&issued, &chosen).unwrap();
        if key_binding {
            let params = KeyBindingParams {
                audience: verifier_aud.into(),
                nonce: nonce.into(),
                iat: 1_700_000_000,
            };
            presentation = holder::add_key_binding(presentation, &holder, &params)
                .await
                .unwrap();
        }
        let presentation = SdJwt::parse(&presentation.serialize().unwrap()).unwrap();

        // 3. Verify.
        let mut options = VerifyOptions::new(1_700_000_010);
        options.accepted_typ = Some(vec!["testcase+sd-jwt".into()]);
        if key_binding {
            options.key_binding = KeyBindingPolicy::required(verifier_aud, nonce);
        }
        let verified = verifier::verify(
            &presentation,
            &mut |h, _| {
                let found = issuer_keys
                    .iter()
                    .find(|(_, kid)| h.kid.is_none() || h.kid == *kid || issuer_keys.len() == 1)
                    .ok_or("no key")?;
                Ok(found.0.verifying_key().clone())
            },
            &options,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));

        let mut expected = serde_json::to_value(&spec["expect_verified_user_claims"]).unwrap();
        let expected_map = expected.as_object_mut().unwrap();
        expected_map.insert("iss".into(), json!(issuer_iss));
        if key_binding {
            expected_map.insert(
                "cnf".into(),
                json!({"jwk": holder.verifying_key().to_jwk()}),
            );
        }
        assert_eq!(Value::Object(verified.claims().clone()), expected, "{name}");
        cases += 1;
    }
    assert_eq!(cases, 17);
}

#[tokio::test]
async fn sd_jwt_python_simple_array_example_round_trips() {
    let spec = yaml("sd-jwt/sd-jwt-python-examples/simple_array/specification.yml");
    let mut sd_paths = Vec::new();
    let claims = untag(&spec["user_claims"], &ClaimPath::root(), &mut sd_paths);
    let issuer = SoftwareKey::generate(eudi_trust::Algorithm::Es256).unwrap();
    let mut builder = SdJwtBuilder::new(claims.as_object().unwrap().clone());
    for p in sd_paths {
        builder = builder.sd(p);
    }
    let issued = builder.sign(&issuer).await.unwrap();
    // Everything disclosed gives back exactly the user claims.
    let verified = verify_with(&issued, issuer.verifying_key());
    assert_eq!(Value::Object(verified.claims().clone()), claims);
    // Nothing disclosed: no selectively disclosable value leaks.
    let none = holder::select(&issued, &[]).unwrap();
    assert_eq!(none.disclosures().unwrap().len(), 0);
    verify_with(&none, issuer.verifying_key());
    let _ = PathElement::Index(0);
}
