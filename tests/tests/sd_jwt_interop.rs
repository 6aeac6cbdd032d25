//! SD-JWT VC interop between `eudi-sdjwt` and the TypeScript implementation `@sd-jwt/sd-jwt-vc`
//! 0.19 (github.com/openwallet-foundation/sd-jwt-js), driven through `tests/interop/sdjwt.mjs`.
//!
//! Each direction is covered: we issue and present, they verify; they issue and present, we
//! verify; they issue, we present, both verify. Both sides must also reject what was tampered
//! with. Keys are fresh on every run.
//!
//! Needs `npm ci --prefix tests/interop`; without it every test fails and says so.

use std::error::Error;

use eudi_sdjwt::ClaimPath;
use eudi_sdjwt::SdJwt;
use eudi_sdjwt::SdJwtError;
use eudi_sdjwt::disclosure::Disclosure;
use eudi_sdjwt::holder::KeyBindingParams;
use eudi_sdjwt::holder::{self};
use eudi_sdjwt::vc::CREDENTIAL_CLAIMS;
use eudi_sdjwt::vc::VerifiedSdJwtVc;
use eudi_sdjwt::vc::{self};
use eudi_sdjwt::verifier::KeyBindingPolicy;
use eudi_sdjwt::verifier::VerifyOptions;
use eudi_tests::es256_key;
use eudi_tests::now;
use eudi_tests::pkcs8_b64;
use eudi_tests::run_node;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::b64;
use eudi_trust::jws::JwsError;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const VCT: &str = "urn:eudi:pid:1";
const ISS: &str = "https://issuer.example";
const AUD: &str = "x509_hash:verifier.example";
const NONCE: &str = "n-0S6_WzA2Mj";

/// Eight claims, one a nested object and one an array.
fn pid_claims() -> Value {
    json!({
        "given_name": "Karen",
        "family_name": "Jensen",
        "birthdate": "1990-05-17",
        "age_over_18": true,
        "email": "karen@example.dk",
        "personal_administrative_number": "170590-1234",
        "address": {
            "street_address": "Vestergade 12",
            "locality": "Aarhus",
            "postal_code": "8000",
            "country": "DK"
        },
        "nationalities": ["DK", "SE"]
    })
}

/// The `@sd-jwt` disclosure frame that makes every claim of [`pid_claims`] disclosable, at every
/// level, with two decoys at the top.
fn pid_frame() -> Value {
    json!({
        "_sd": [
            "given_name", "family_name", "birthdate", "age_over_18", "email",
            "personal_administrative_number", "address", "nationalities"
        ],
        "address": {"_sd": ["street_address", "locality", "postal_code", "country"]},
        "nationalities": {"_sd": [0, 1]},
        "_sd_decoy": 2
    })
}

struct Keys {
    issuer: SoftwareKey,
    holder: SoftwareKey,
}

impl Keys {
    fn fresh() -> Result<Self> {
        Ok(Self {
            issuer: es256_key()?,
            holder: es256_key()?,
        })
    }

    fn issuer_jwk(&self) -> Result<Value> {
        Ok(serde_json::to_value(self.issuer.verifying_key().to_jwk())?)
    }

    fn holder_jwk(&self) -> Result<Value> {
        Ok(serde_json::to_value(self.holder.verifying_key().to_jwk())?)
    }
}

fn string_field(output: &Value, name: &str) -> Result<String> {
    output[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the node peer printed no `{name}`: {output}").into())
}

/// Our issuer: an SD-JWT VC with every claim disclosable and two decoys per `_sd`.
async fn rust_issue(keys: &Keys) -> Result<SdJwt> {
    let Value::Object(claims) = pid_claims() else {
        return Err("the PID claims are not an object".into());
    };
    Ok(vc::builder(VCT, ISS, now(), claims)
        .holder_key(&keys.holder.verifying_key().to_jwk())?
        .decoys(2)
        .sign(&keys.issuer)
        .await?)
}

/// Our holder: discloses `paths` and binds the presentation to [`AUD`] and [`NONCE`].
async fn rust_present(keys: &Keys, credential: &SdJwt, paths: &[ClaimPath]) -> Result<SdJwt> {
    bind(keys, holder::select(credential, paths)?).await
}

/// Appends our holder's KB-JWT for [`AUD`] and [`NONCE`].
async fn bind(keys: &Keys, chosen: SdJwt) -> Result<SdJwt> {
    let params = KeyBindingParams {
        audience: AUD.into(),
        nonce: NONCE.into(),
        iat: now(),
    };
    Ok(holder::add_key_binding(chosen, &keys.holder, &params).await?)
}

/// Our verifier, requiring key binding to `aud` and `nonce`.
fn rust_verify(
    keys: &Keys,
    presentation: &str,
    aud: &str,
    nonce: &str,
) -> Result<VerifiedSdJwtVc, SdJwtError> {
    let mut options = VerifyOptions::new(now());
    options.key_binding = KeyBindingPolicy::required(aud, nonce);
    let issuer_key = keys.issuer.verifying_key().clone();
    vc::verify(
        &SdJwt::parse(presentation)?,
        &mut |_, _| Ok(issuer_key.clone()),
        &options,
    )
}

/// Their issuer: [`pid_claims`] with [`pid_frame`], `cnf` = our holder key.
fn npm_issue(keys: &Keys) -> Result<String> {
    let out = run_node(
        "sdjwt.mjs",
        "issue",
        &json!({
            "issuerKey": pkcs8_b64(&keys.issuer)?,
            "holderJwk": keys.holder_jwk()?,
            "claims": pid_claims(),
            "frame": pid_frame(),
            "vct": VCT,
            "iss": ISS,
            "iat": now(),
        }),
    )?;
    string_field(&out, "sdjwt")
}

/// Their holder: presents with a KB-JWT for [`AUD`] and [`NONCE`].
fn npm_present(keys: &Keys, sdjwt: &str, presentation_frame: Value) -> Result<String> {
    let out = run_node(
        "sdjwt.mjs",
        "present",
        &json!({
            "sdjwt": sdjwt,
            "holderKey": pkcs8_b64(&keys.holder)?,
            "presentationFrame": presentation_frame,
            "aud": AUD,
            "nonce": NONCE,
            "iat": now(),
        }),
    )?;
    string_field(&out, "presentation")
}

/// Their verifier, with [`NONCE`] as the expected key binding nonce. The outer error is a
/// failure to run it; the inner one is its rejection message.
fn npm_verify(keys: &Keys, token: &str) -> Result<Result<Value, String>> {
    let out = run_node(
        "sdjwt.mjs",
        "verify",
        &json!({"token": token, "issuerJwk": keys.issuer_jwk()?, "nonce": NONCE}),
    )?;
    match out["ok"].as_bool() {
        Some(true) => Ok(Ok(out)),
        Some(false) => Ok(Err(string_field(&out, "error")?)),
        None => Err(format!("the node peer printed no `ok`: {out}").into()),
    }
}

/// Asserts their verifier accepted `token` as a bound `dc+sd-jwt` from our issuer key for our
/// holder, and returns the disclosed user claims (all but [`CREDENTIAL_CLAIMS`]).
fn npm_accepts(keys: &Keys, token: &str) -> Result<Value> {
    let out = npm_verify(keys, token)?.map_err(|e| format!("@sd-jwt rejected: {e}"))?;
    assert_eq!(out["header"]["typ"], "dc+sd-jwt");
    assert_eq!(out["header"]["alg"], "ES256");
    // The library checks the nonce and `sd_hash` but not `aud`: check what it verified.
    assert_eq!(out["kb"]["header"]["typ"], "kb+jwt");
    assert_eq!(out["kb"]["payload"]["aud"], AUD);
    assert_eq!(out["kb"]["payload"]["nonce"], NONCE);
    let claims = &out["claims"];
    assert_eq!(claims["vct"], VCT);
    assert_eq!(claims["iss"], ISS);
    assert_eq!(claims["cnf"]["jwk"], keys.holder_jwk()?);
    assert!(
        claims.get("_sd").is_none() && claims.get("_sd_alg").is_none(),
        "{claims}"
    );
    Ok(user_claims(claims))
}

fn user_claims(claims: &Value) -> Value {
    let map: Map<String, Value> = claims
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !CREDENTIAL_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(map)
}

/// Asserts our verifier accepted and returns the disclosed user claims.
fn rust_accepts(keys: &Keys, presentation: &str) -> Result<Value> {
    let verified = rust_verify(keys, presentation, AUD, NONCE)?;
    assert_eq!(verified.vct(), VCT);
    assert_eq!(verified.issuer(), Some(ISS));
    assert_eq!(verified.sd_jwt().header().typ.as_deref(), Some(vc::TYP));
    let kb = verified
        .sd_jwt()
        .key_binding()
        .ok_or("verified without a key binding")?;
    assert_eq!((kb.aud(), kb.nonce()), (AUD, NONCE));
    Ok(Value::Object(verified.user_claims()))
}

/// `presentation` with the disclosure of the top-level claim `name` replaced by one with the
/// same name and value but another salt, so its digest is nowhere in the SD-JWT.
fn swap_disclosure(presentation: &SdJwt, name: &str) -> Result<String> {
    let original = presentation
        .disclosures()?
        .enumerate()
        .map(|(i, d)| Disclosure::parse(d, i))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .find(|d| d.name() == Some(name))
        .ok_or_else(|| format!("no disclosure of {name}"))?;
    let forged = Disclosure::property("c2FsdC1mb3JnZWQtYnktdGVzdA", name, original.value())?;
    assert_ne!(forged.encoded(), original.encoded());
    let compact = presentation.to_compact()?;
    let tampered = compact.replace(
        &format!("~{}~", original.encoded()),
        &format!("~{}~", forged.encoded()),
    );
    assert_ne!(tampered, compact);
    Ok(tampered)
}

#[tokio::test]
async fn npm_verifies_rust_presentation_of_chosen_claims() -> Result<()> {
    let keys = Keys::fresh()?;
    let credential = rust_issue(&keys).await?;
    let presentation = rust_present(
        &keys,
        &credential,
        &[
            ClaimPath::keys(["given_name"]),
            ClaimPath::keys(["birthdate"]),
            ClaimPath::keys(["address", "locality"]),
            ClaimPath::keys(["nationalities"]).index(1),
        ],
    )
    .await?;

    let disclosed = npm_accepts(&keys, &presentation.to_compact().unwrap())?;

    assert_eq!(
        disclosed,
        json!({
            "given_name": "Karen",
            "birthdate": "1990-05-17",
            "address": {"locality": "Aarhus"},
            "nationalities": ["SE"]
        })
    );
    Ok(())
}

#[tokio::test]
async fn npm_verifies_rust_presentation_of_everything_and_of_nothing() -> Result<()> {
    let keys = Keys::fresh()?;
    let credential = rust_issue(&keys).await?;

    let everything = rust_present(&keys, &credential, &[ClaimPath::root()]).await?;
    assert_eq!(
        npm_accepts(&keys, &everything.to_compact().unwrap())?,
        pid_claims()
    );

    // Every claim is selectively disclosable: disclosing nothing shows no user claim at all.
    let nothing = rust_present(&keys, &credential, &[]).await?;
    assert_eq!(nothing.disclosures().unwrap().len(), 0);
    assert_eq!(
        npm_accepts(&keys, &nothing.to_compact().unwrap())?,
        json!({})
    );
    Ok(())
}

#[tokio::test]
async fn npm_rejects_rust_presentation_with_swapped_disclosure() -> Result<()> {
    let keys = Keys::fresh()?;
    let credential = rust_issue(&keys).await?;
    let paths = [
        ClaimPath::keys(["given_name"]),
        ClaimPath::keys(["family_name"]),
    ];
    let presentation = rust_present(&keys, &credential, &paths).await?;
    assert_eq!(
        npm_accepts(&keys, &presentation.to_compact().unwrap())?,
        json!({"given_name": "Karen", "family_name": "Jensen"})
    );

    // In transit: the KB-JWT's `sd_hash` no longer matches the disclosures. We reject first
    // because the forged disclosure is referenced by no digest (RFC 9901 §7.1 step 5).
    let tampered = swap_disclosure(&presentation, "given_name")?;
    let error = npm_verify(&keys, &tampered)?
        .err()
        .ok_or("@sd-jwt accepted a presentation with a swapped disclosure")?;
    assert!(error.contains("sd_hash"), "{error}");
    assert!(matches!(
        rust_verify(&keys, &tampered, AUD, NONCE),
        Err(SdJwtError::UnreferencedDisclosure { .. })
    ));

    // By the holder, before binding: `sd_hash` matches, only the digest check is left. We
    // reject; @sd-jwt 0.19 drops an unreferenced disclosure without an error, so at least it
    // must not show the claim.
    let chosen = swap_disclosure(&holder::select(&credential, &paths)?, "given_name")?;
    let rebound = bind(&keys, SdJwt::parse(&chosen)?).await?;
    assert_eq!(rebound.disclosures().unwrap().len(), 2);
    if let Ok(out) = npm_verify(&keys, &rebound.to_compact().unwrap())? {
        assert_eq!(
            user_claims(&out["claims"]),
            json!({"family_name": "Jensen"})
        );
    }
    assert!(matches!(
        rust_verify(&keys, &rebound.to_compact().unwrap(), AUD, NONCE),
        Err(SdJwtError::UnreferencedDisclosure { .. })
    ));
    Ok(())
}

#[test]
fn rust_verifies_npm_issued_and_presented() -> Result<()> {
    let keys = Keys::fresh()?;
    let credential = npm_issue(&keys)?;
    let presentation = npm_present(
        &keys,
        &credential,
        json!({
            "given_name": true,
            "birthdate": true,
            "address": {"locality": true, "country": true},
            "nationalities": {"0": true}
        }),
    )?;

    let disclosed = rust_accepts(&keys, &presentation)?;

    assert_eq!(
        disclosed,
        json!({
            "given_name": "Karen",
            "birthdate": "1990-05-17",
            "address": {"locality": "Aarhus", "country": "DK"},
            "nationalities": ["DK"]
        })
    );
    Ok(())
}

#[tokio::test]
async fn rust_holder_presents_npm_credential_to_both_verifiers() -> Result<()> {
    let keys = Keys::fresh()?;
    let credential = SdJwt::parse(&npm_issue(&keys)?)?;
    let presentation = rust_present(
        &keys,
        &credential,
        &[
            ClaimPath::keys(["family_name"]),
            ClaimPath::keys(["age_over_18"]),
            ClaimPath::keys(["address", "postal_code"]),
            ClaimPath::keys(["nationalities"]).index(1),
        ],
    )
    .await?
    .to_compact()
    .unwrap();
    let expected = json!({
        "family_name": "Jensen",
        "age_over_18": true,
        "address": {"postal_code": "8000"},
        "nationalities": ["SE"]
    });

    assert_eq!(rust_accepts(&keys, &presentation)?, expected);
    assert_eq!(npm_accepts(&keys, &presentation)?, expected);
    Ok(())
}

#[test]
fn rust_rejects_npm_presentation_with_wrong_binding_or_tampered_payload() -> Result<()> {
    let keys = Keys::fresh()?;
    let presentation = npm_present(&keys, &npm_issue(&keys)?, json!({"given_name": true}))?;
    assert_eq!(
        rust_accepts(&keys, &presentation)?,
        json!({"given_name": "Karen"})
    );

    match rust_verify(&keys, &presentation, AUD, "another-nonce") {
        Err(SdJwtError::KeyBinding(reason)) => assert!(reason.contains("nonce"), "{reason}"),
        other => return Err(format!("wrong nonce: {other:?}").into()),
    }
    match rust_verify(&keys, &presentation, "x509_hash:other.example", NONCE) {
        Err(SdJwtError::KeyBinding(reason)) => assert!(reason.contains("aud"), "{reason}"),
        other => return Err(format!("wrong audience: {other:?}").into()),
    }

    // A claim added to the Issuer-signed JWT payload in clear breaks the issuer signature.
    let sd = SdJwt::parse(&presentation)?;
    let mut payload: Value = serde_json::from_slice(&b64::decode(sd.payload_b64().unwrap())?)?;
    payload["given_name"] = json!("Mallory");
    let tampered = presentation.replace(
        sd.payload_b64().unwrap(),
        &b64::encode(serde_json::to_vec(&payload)?),
    );
    assert_ne!(tampered, presentation);
    assert_eq!(
        rust_verify(&keys, &tampered, AUD, NONCE).err(),
        Some(SdJwtError::IssuerJws(JwsError::BadSignature))
    );
    Ok(())
}
