//! ISO/IEC 18013-5 mdoc interop between `eudi-mdoc` and the TypeScript implementation
//! `@animo-id/mdoc` 0.6.0-alpha (github.com/openwallet-foundation-labs/mdoc-ts, since published as
//! `@owf/mdoc`), driven through `tests/interop/mdoc.mjs`.
//!
//! Both directions, device-signed over an OpenID4VP 1.0 redirect SessionTranscript (Appendix
//! B.2.6.1): we issue and present, they verify; they issue and present, we verify. Each side must
//! also reject the other's response under another nonce and with an element value changed in
//! transit. A fresh IACA, document signer, device key and nonce on every run.
//!
//! The peer's verifier has no X.509 or crypto of its own: `mdoc.mjs` plugs in node:crypto, with
//! a chain check (signatures, validity, trust anchor) that ignores key usage and EKU.
//!
//! Needs `npm ci --prefix tests/interop`; without it every test fails and says so.

use std::error::Error;

use ciborium::Value as Cbor;
use eudi_mdoc::DeviceResponse;
use eudi_mdoc::Document;
use eudi_mdoc::IssuerSigned;
use eudi_mdoc::IssuerSignedBuilder;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::ValidityInfo;
use eudi_mdoc::VerifiedDocument;
use eudi_mdoc::VerifyError;
use eudi_mdoc::VerifyOptions;
use eudi_tests::es256_key;
use eudi_tests::now;
use eudi_tests::pkcs8_b64;
use eudi_tests::run_node;
use eudi_trust::Algorithm;
use eudi_trust::ChainValidator;
use eudi_trust::HasErrorCode as _;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use eudi_trust::TrustAnchors;
use eudi_trust::b64;
use rcgen::BasicConstraints;
use rcgen::CertificateParams;
use rcgen::DistinguishedName;
use rcgen::DnType;
use rcgen::ExtendedKeyUsagePurpose;
use rcgen::IsCa;
use rcgen::Issuer;
use rcgen::KeyPair;
use rcgen::KeyUsagePurpose;
use rcgen::PKCS_ECDSA_P256_SHA256;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;
use time::Duration;
use time::OffsetDateTime;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const PID: &str = "eu.europa.ec.eudi.pid.1";
const CLIENT_ID: &str = "x509_san_dns:verifier.example";
const RESPONSE_URI: &str = "https://verifier.example/oid4vp/response";

/// Twelve PID elements in the peer's JSON form (`mdoc.mjs`): a full-date (tag 1004) is
/// `{"$full-date": …}`; objects are CBOR maps.
fn pid_elements() -> Value {
    json!({
        "family_name": "Mustermann",
        "given_name": "Erika",
        "birth_date": {"$full-date": "1964-08-12"},
        "age_over_18": true,
        "age_in_years": 61,
        "nationality": ["DE", "AT"],
        "resident_city": "Köln",
        "place_of_birth": {"locality": "Berlin", "country": "DE"},
        "sex": 2,
        "issuing_authority": "Bundesdruckerei",
        "issuing_country": "DE",
        "expiry_date": {"$full-date": "2031-08-31"}
    })
}

/// `names` of [`pid_elements`], as the peer reports them.
fn pid_subset(names: &[&str]) -> Result<Value> {
    let all = pid_elements();
    let mut subset = Map::new();
    for name in names {
        let value = all
            .get(*name)
            .ok_or_else(|| format!("no PID element {name}"))?;
        subset.insert((*name).to_owned(), value.clone());
    }
    Ok(json!({ PID: subset }))
}

/// A peer JSON value as CBOR.
fn to_cbor(value: &Value) -> Result<Cbor> {
    Ok(match value {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => Cbor::Integer(n.as_i64().ok_or("not an integer")?.into()),
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(items) => Cbor::Array(items.iter().map(to_cbor).collect::<Result<_>>()?),
        Value::Object(map) => match map.get("$full-date") {
            Some(Value::String(date)) => Cbor::Tag(1004, Box::new(Cbor::Text(date.clone()))),
            _ => Cbor::Map(
                map.iter()
                    .map(|(k, v)| Ok((Cbor::Text(k.clone()), to_cbor(v)?)))
                    .collect::<Result<_>>()?,
            ),
        },
    })
}

/// A peer JSON value as [`eudi_mdoc::to_json`] shows it: a full-date is its string.
fn plain(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(plain).collect()),
        Value::Object(map) => match map.get("$full-date") {
            Some(date) => date.clone(),
            None => Value::Object(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        },
        other => other.clone(),
    }
}

fn fresh_nonce() -> Result<String> {
    Ok(es256_key()?.verifying_key().to_jwk().thumbprint())
}

/// The OpenID4VP 1.0 redirect handover inputs, for both sides.
struct Transcript {
    nonce: String,
    /// RFC 7638 thumbprint of the verifier's response encryption key, if it encrypts.
    jwk_thumbprint: Option<[u8; 32]>,
}

impl Transcript {
    fn fresh(encrypted: bool) -> Result<Self> {
        let jwk_thumbprint = if encrypted {
            let thumbprint = b64::decode(es256_key()?.verifying_key().to_jwk().thumbprint())?;
            Some(<[u8; 32]>::try_from(thumbprint).map_err(|_| "thumbprint is not 32 bytes")?)
        } else {
            None
        };
        Ok(Self {
            nonce: fresh_nonce()?,
            jwk_thumbprint,
        })
    }

    fn with_nonce(&self, nonce: String) -> Self {
        Self {
            nonce,
            jwk_thumbprint: self.jwk_thumbprint,
        }
    }

    fn rust(&self) -> SessionTranscript {
        SessionTranscript::openid4vp(
            CLIENT_ID,
            &self.nonce,
            self.jwk_thumbprint.as_ref(),
            RESPONSE_URI,
        )
    }

    fn json(&self) -> Value {
        json!({
            "clientId": CLIENT_ID,
            "nonce": self.nonce,
            "responseUri": RESPONSE_URI,
            "jwkThumbprint": self.jwk_thumbprint.map(b64::encode),
        })
    }
}

/// An rcgen IACA root and an ISO/IEC 18013-5 document signer it issued (keyUsage
/// digitalSignature, EKU id-mdlDS 1.0.18013.5.1.2), plus the holder's device key.
struct Pki {
    iaca_der: Vec<u8>,
    ds_der: Vec<u8>,
    ds_key: SoftwareKey,
    device: SoftwareKey,
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "DE");
    dn.push(DnType::CommonName, cn);
    dn
}

impl Pki {
    fn fresh() -> Result<Self> {
        let today = OffsetDateTime::now_utc();
        let iaca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut iaca = CertificateParams::new(vec![])?;
        iaca.distinguished_name = name("Interop Test IACA");
        iaca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        iaca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        iaca.not_before = today - Duration::days(30);
        iaca.not_after = today + Duration::days(3 * 365);
        let iaca_der = iaca.self_signed(&iaca_key)?.der().to_vec();

        let ds_pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut ds = CertificateParams::new(vec![])?;
        ds.distinguished_name = name("Interop Test PID Document Signer");
        ds.is_ca = IsCa::ExplicitNoCa;
        ds.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        ds.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![1, 0, 18013, 5, 1, 2])];
        ds.not_before = today - Duration::days(1);
        ds.not_after = today + Duration::days(365);
        let ds_der = ds
            .signed_by(&ds_pair, &Issuer::from_params(&iaca, &iaca_key))?
            .der()
            .to_vec();

        Ok(Self {
            iaca_der,
            ds_der,
            ds_key: SoftwareKey::from_pkcs8_der(Algorithm::Es256, &ds_pair.serialize_der())?,
            device: es256_key()?,
        })
    }

    fn validator(&self) -> Result<ChainValidator> {
        let mut anchors = TrustAnchors::new();
        anchors.add_der(&self.iaca_der)?;
        Ok(ChainValidator::new(anchors))
    }
}

fn string_field(output: &Value, name: &str) -> Result<String> {
    output[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the node peer printed no `{name}`: {output}").into())
}

/// Our issuer: every element of [`pid_elements`], valid for a year from now.
async fn rust_issue(pki: &Pki) -> Result<IssuerSigned> {
    let issued_at = OffsetDateTime::from_unix_timestamp(now())?;
    let validity = ValidityInfo::new(issued_at, issued_at, issued_at + Duration::days(365));
    let mut builder = IssuerSignedBuilder::new(PID, pki.device.verifying_key(), validity);
    for (name, value) in pid_elements().as_object().into_iter().flatten() {
        builder = builder.element(PID, name, to_cbor(value)?);
    }
    let issued = builder.sign(&pki.ds_key, &[&pki.ds_der]).await?;
    // What the wallet stores and loads again.
    Ok(IssuerSigned::from_bytes(&issued.to_bytes())?)
}

/// Our holder: discloses `names` only, device-signed over `transcript`; base64url as in a
/// `vp_token`.
async fn rust_present(
    pki: &Pki,
    issued: &IssuerSigned,
    names: &[&str],
    transcript: &Transcript,
) -> Result<String> {
    let wanted: Vec<(&str, &str)> = names.iter().map(|name| (PID, *name)).collect();
    let document =
        Document::with_device_signature(issued.select(&wanted), &transcript.rust(), &pki.device)
            .await?;
    Ok(DeviceResponse::new(vec![document]).to_base64url())
}

/// Their issuer: [`pid_elements`] signed with our document signer key and certificate, for our
/// device key.
fn npm_issue(pki: &Pki) -> Result<String> {
    let issued_at = now();
    let out = run_node(
        "mdoc.mjs",
        "issue",
        &json!({
            "docType": PID,
            "namespaces": {PID: pid_elements()},
            "issuerKey": pkcs8_b64(&pki.ds_key)?,
            "issuerCertificate": b64::encode(&pki.ds_der),
            "deviceJwk": serde_json::to_value(pki.device.verifying_key().to_jwk())?,
            "signed": issued_at,
            "validFrom": issued_at,
            "validUntil": issued_at + 365 * 86_400,
        }),
    )?;
    string_field(&out, "issuerSigned")
}

/// Their holder: a DeviceResponse for a DeviceRequest of `names`, device-signed over
/// `transcript`.
fn npm_present(
    pki: &Pki,
    issuer_signed: &str,
    names: &[&str],
    transcript: &Transcript,
) -> Result<String> {
    let out = run_node(
        "mdoc.mjs",
        "present",
        &json!({
            "issuerSigned": issuer_signed,
            "docType": PID,
            "disclose": {PID: names},
            "deviceKey": pkcs8_b64(&pki.device)?,
            "transcript": transcript.json(),
        }),
    )?;
    string_field(&out, "deviceResponse")
}

/// Their verifier, trusting `iaca_der`, with the transcript it builds from `transcript`. The
/// outer error is a failure to run it; the inner one lists the checks that failed.
fn npm_verify(
    iaca_der: &[u8],
    device_response: &str,
    transcript: &Transcript,
) -> Result<Result<Value, Vec<String>>> {
    let out = run_node(
        "mdoc.mjs",
        "verify",
        &json!({
            "deviceResponse": device_response,
            "trustedCertificates": [b64::encode(iaca_der)],
            "transcript": transcript.json(),
            "now": now(),
        }),
    )?;
    // Both sides derive the same SessionTranscript from the same OpenID4VP request.
    assert_eq!(
        string_field(&out, "sessionTranscript")?,
        b64::encode(transcript.rust().as_cbor()),
        "@animo-id/mdoc computed another OpenID4VP 1.0 SessionTranscript"
    );
    match out["ok"].as_bool() {
        Some(true) => Ok(Ok(out)),
        Some(false) => Ok(Err(serde_json::from_value(out["failed"].clone())?)),
        None => Err(format!("the node peer printed no `ok`: {out}").into()),
    }
}

/// Asserts their verifier accepted one `eu.europa.ec.eudi.pid.1` document and returns the
/// disclosed elements it reports, `{ns: {element: value}}`.
fn npm_accepts(pki: &Pki, device_response: &str, transcript: &Transcript) -> Result<Value> {
    let out = npm_verify(&pki.iaca_der, device_response, transcript)?
        .map_err(|failed| format!("@animo-id/mdoc rejected: {failed:#?}"))?;
    assert_eq!(out["docType"], PID);
    Ok(out["claims"].clone())
}

/// Our verifier, trusting the IACA, device authentication checked against `transcript`.
fn rust_verify(
    pki: &Pki,
    device_response: &[u8],
    transcript: &Transcript,
) -> Result<VerifiedDocument> {
    let st = transcript.rust();
    let options = VerifyOptions::new(now()).session_transcript(&st);
    let verified =
        DeviceResponse::from_bytes(device_response)?.verify(&pki.validator()?, &options)?;
    let [document]: [VerifiedDocument; 1] = verified
        .into_documents()
        .try_into()
        .map_err(|docs: Vec<_>| format!("{} documents, not one", docs.len()))?;
    Ok(document)
}

/// The [`VerifyError`] our verifier rejected `device_response` with.
fn rust_rejects(pki: &Pki, device_response: &[u8], transcript: &Transcript) -> Result<VerifyError> {
    let st = transcript.rust();
    let options = VerifyOptions::new(now()).session_transcript(&st);
    match DeviceResponse::from_bytes(device_response)?.verify(&pki.validator()?, &options) {
        Ok(_) => Err("eudi-mdoc accepted the response".into()),
        Err(e) => Ok(e),
    }
}

/// `device_response` with "Mustermann" changed to "Nustermann" inside the family_name
/// IssuerSignedItem, as if in transit.
fn change_family_name(device_response: &[u8]) -> Result<Vec<u8>> {
    let value = b"Mustermann";
    let mut found = device_response
        .windows(value.len())
        .enumerate()
        .filter(|(_, w)| w == value)
        .map(|(at, _)| at);
    let (Some(at), None) = (found.next(), found.next()) else {
        return Err("the family_name value is not in the response exactly once".into());
    };
    let mut changed = device_response.to_vec();
    changed[at] = b'N';
    Ok(changed)
}

/// What the Rust holder discloses to the npm verifier.
const RUST_DISCLOSES: [&str; 6] = [
    "given_name",
    "birth_date",
    "age_over_18",
    "nationality",
    "place_of_birth",
    "resident_city",
];

/// What the npm holder discloses to the Rust verifier.
const NPM_DISCLOSES: [&str; 5] = [
    "family_name",
    "birth_date",
    "nationality",
    "place_of_birth",
    "expiry_date",
];

#[tokio::test]
async fn npm_verifies_rust_issued_and_presented() -> Result<()> {
    let pki = Pki::fresh()?;
    let transcript = Transcript::fresh(true)?;
    let response =
        rust_present(&pki, &rust_issue(&pki).await?, &RUST_DISCLOSES, &transcript).await?;

    let claims = npm_accepts(&pki, &response, &transcript)?;

    // Exactly the selected elements, birth_date decoded as a full-date (tag 1004).
    assert_eq!(claims, pid_subset(&RUST_DISCLOSES)?);
    Ok(())
}

#[tokio::test]
async fn npm_rejects_rust_presentation_for_another_nonce_issuer_or_value() -> Result<()> {
    let pki = Pki::fresh()?;
    let transcript = Transcript::fresh(true)?;
    let response = rust_present(
        &pki,
        &rust_issue(&pki).await?,
        &["family_name"],
        &transcript,
    )
    .await?;
    assert_eq!(
        npm_accepts(&pki, &response, &transcript)?,
        pid_subset(&["family_name"])?
    );

    // The verifier's own request had another nonce: the device signature does not verify.
    let other = transcript.with_nonce(fresh_nonce()?);
    let failed = npm_verify(&pki.iaca_der, &response, &other)?
        .err()
        .ok_or("@animo-id/mdoc accepted the response under another nonce")?;
    assert!(
        !failed.is_empty() && failed.iter().all(|f| f.starts_with("DEVICE_AUTH")),
        "{failed:#?}"
    );

    // Another IACA: the document signer chains to nothing trusted.
    let stranger = Pki::fresh()?;
    let failed = npm_verify(&stranger.iaca_der, &response, &transcript)?
        .err()
        .ok_or("@animo-id/mdoc accepted a document signer of an untrusted IACA")?;
    assert!(
        failed.iter().any(|f| f.starts_with("ISSUER_AUTH")),
        "{failed:#?}"
    );

    // An element value changed in transit: its digest is not the one in the MSO.
    let tampered = b64::encode(change_family_name(&b64::decode(&response)?)?);
    let failed = npm_verify(&pki.iaca_der, &tampered, &transcript)?
        .err()
        .ok_or("@animo-id/mdoc accepted a changed element value")?;
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("DATA_INTEGRITY") && f.contains("/family_name ")),
        "{failed:#?}"
    );
    Ok(())
}

#[test]
fn rust_verifies_npm_issued_and_presented() -> Result<()> {
    let pki = Pki::fresh()?;
    let transcript = Transcript::fresh(false)?;
    let response = npm_present(&pki, &npm_issue(&pki)?, &NPM_DISCLOSES, &transcript)?;

    let document = rust_verify(&pki, &b64::decode(&response)?, &transcript)?;

    assert_eq!(document.doc_type(), PID);
    assert!(document.device_authenticated());
    assert_eq!(document.device_key(), pki.device.verifying_key());
    assert!(document.device_claims().is_empty());
    assert_eq!(
        Value::Object(document.into_claims()),
        plain(&pid_subset(&NPM_DISCLOSES)?)
    );
    Ok(())
}

#[test]
fn rust_rejects_npm_presentation_for_another_nonce_or_changed_value() -> Result<()> {
    let pki = Pki::fresh()?;
    let transcript = Transcript::fresh(false)?;
    let response = b64::decode(npm_present(
        &pki,
        &npm_issue(&pki)?,
        &["family_name", "given_name"],
        &transcript,
    )?)?;
    assert_eq!(
        Value::Object(rust_verify(&pki, &response, &transcript)?.into_claims()),
        json!({PID: {"family_name": "Mustermann", "given_name": "Erika"}})
    );

    let other = transcript.with_nonce(fresh_nonce()?);
    let error = rust_rejects(&pki, &response, &other)?;
    assert!(
        matches!(error, VerifyError::DeviceSignature { .. }),
        "{error}"
    );
    assert_eq!(error.code().as_str(), "invalid_key_binding");

    let tampered = change_family_name(&response)?;
    let error = rust_rejects(&pki, &tampered, &transcript)?;
    match &error {
        VerifyError::DigestMismatch {
            namespace, element, ..
        } => assert_eq!((namespace.as_str(), element.as_str()), (PID, "family_name")),
        other => return Err(format!("changed value: {other}").into()),
    }
    assert_eq!(error.code().as_str(), "invalid_disclosure");
    Ok(())
}
