//! Published vectors: ISO/IEC 18013-5 Annex D (via Multipaz), real-world responses (via
//! mdoc-ts) and the OpenID4VP 1.0 Annex B handovers. See `../shared/vectors/README.md` §3-§5.

use ciborium::Value;
use eudi_mdoc::DeviceAuthMethod;
use eudi_mdoc::DeviceResponse;
use eudi_mdoc::IssuerSigned;
use eudi_mdoc::ReaderKey;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::VerifyError;
use eudi_mdoc::VerifyOptions;
use eudi_trust::Algorithm;
use eudi_trust::HasErrorCode as _;
use eudi_trust::LeafProfile;
use eudi_trust::Signer as _;
use eudi_trust::X509Error;
use serde_json::json;

use crate::support::*;

// ---------------------------------------------------------------------------------------------
// ISO/IEC 18013-5 Annex D
// ---------------------------------------------------------------------------------------------

const MDL: &str = "org.iso.18013.5.1.mDL";
const MDL_NS: &str = "org.iso.18013.5.1";
/// 2020-10-01T13:30:02Z: `signed` and `validFrom` of the Annex D MSO.
const ANNEX_D_NOW: i64 = 1_601_559_002;

fn annex_d_response() -> DeviceResponse {
    DeviceResponse::from_hex(&vector_text("mdoc/annex-d/device_response.hex")).unwrap()
}

fn annex_d_transcript() -> SessionTranscript {
    SessionTranscript::from_tagged_bytes(&vector_hex("mdoc/annex-d/session_transcript_bytes.hex"))
        .unwrap()
}

fn annex_d_reader_key() -> ReaderKey {
    let key = vector_json("mdoc/annex-d/ephemeral_reader_key.json");
    ReaderKey::from_private_scalar(Algorithm::Es256, &hex(key["d_hex"].as_str().unwrap())).unwrap()
}

#[test]
fn annex_d_device_response_verifies_with_device_mac() {
    let validator = validator_for_pem(&["mdoc/annex-d/ds_cert.pem"]);
    let transcript = annex_d_transcript();
    let reader = annex_d_reader_key();
    let options = VerifyOptions::new(ANNEX_D_NOW)
        .session_transcript(&transcript)
        .reader_key(&reader);
    let response = annex_d_response();
    assert_eq!(response.version(), "1.0");
    assert_eq!(response.status(), 0);
    let verified = response.verify(&validator, &options).unwrap();
    assert_eq!(verified.documents().len(), 1);
    let doc = &verified.documents()[0];
    assert_eq!(doc.doc_type(), MDL);
    assert_eq!(doc.issuer_subject(), "C=US,CN=utopia ds");
    assert_eq!(doc.anchor_index(), 0);
    assert!(doc.device_authenticated());
    assert_eq!(doc.device_auth(), Some(DeviceAuthMethod::Mac));
    assert!(doc.device_claims().is_empty());
    assert_eq!(doc.status(), None);

    let static_key = vector_json("mdoc/annex-d/static_device_key.json");
    assert_eq!(
        to_hex(doc.device_key().x()),
        static_key["x_hex"].as_str().unwrap()
    );
    assert_eq!(
        to_hex(doc.device_key().y()),
        static_key["y_hex"].as_str().unwrap()
    );
    assert_eq!(
        doc.validity().valid_until.unix_timestamp(),
        ANNEX_D_NOW + 365 * 86_400
    );
    assert_eq!(doc.validity().expected_update, None);

    // All six elements, with the values of expected.json.
    let claims = &doc.claims()[MDL_NS];
    let portrait = vector_hex("mdoc/annex-d/device_response_portrait.jpeg.hex");
    assert_eq!(
        claims,
        &json!({
            "family_name": "Doe",
            "issue_date": "2019-10-20",
            "expiry_date": "2024-10-20",
            "document_number": "123456789",
            "portrait": base64url(&portrait),
            "driving_privileges": [
                {"vehicle_category_code": "A", "issue_date": "2018-08-09", "expiry_date": "2024-10-20"},
                {"vehicle_category_code": "B", "issue_date": "2017-02-23", "expiry_date": "2024-10-20"}
            ]
        })
    );
    assert_eq!(doc.elements().len(), 6);
    let portrait_value = doc
        .elements()
        .iter()
        .find(|e| e.identifier() == "portrait")
        .unwrap();
    assert_eq!(*portrait_value.value(), Value::Bytes(portrait));
    let issue_date = doc
        .elements()
        .iter()
        .find(|e| e.identifier() == "issue_date")
        .unwrap();
    assert_eq!(*issue_date.value(), full_date("2019-10-20"));
}

fn base64url(bytes: &[u8]) -> String {
    eudi_trust::b64::encode(bytes)
}

#[test]
fn annex_d_intermediates_match_expected_json() {
    let expected = vector_json("mdoc/annex-d/expected.json");
    let derived = &expected["derived_and_cross_checked"];
    let transcript = annex_d_transcript();
    // HKDF salt = SHA-256 of the tagged SessionTranscriptBytes.
    let salt = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        transcript.session_transcript_bytes(),
    );
    assert_eq!(
        to_hex(salt.as_ref()),
        derived["hkdf_salt_sha256_session_transcript_bytes_hex"]
            .as_str()
            .unwrap()
    );
    let response = annex_d_response();
    let doc = &response.documents()[0];
    assert_eq!(
        to_hex(&doc.device_authentication_bytes(&transcript)),
        derived["device_authentication_bytes_hex"].as_str().unwrap()
    );
    assert_eq!(
        to_hex(doc.issuer_signed().issuer_auth_bytes()),
        derived["issuer_auth_cose_sign1_hex"].as_str().unwrap()
    );
    assert_eq!(
        doc.device_signed().unwrap().namespaces_bytes(),
        &hex("d81841a0")[..]
    );
    // The tagged transcript round-trips exactly.
    assert_eq!(
        transcript.session_transcript_bytes(),
        &vector_hex("mdoc/annex-d/session_transcript_bytes.hex")[..]
    );
}

#[test]
fn annex_d_flipped_byte_200_fails_only_family_name() {
    let mut bytes = vector_hex("mdoc/annex-d/device_response.hex");
    assert_eq!(bytes[200], b'D', "byte 200 is the D of \"Doe\"");
    bytes[200] = b'F';
    let response = DeviceResponse::from_bytes(&bytes).unwrap();

    // Exactly one item no longer matches its MSO digest: family_name.
    let issuer_signed = response.documents()[0].issuer_signed();
    let mso = issuer_signed.mso();
    let mismatched: Vec<&str> = issuer_signed
        .namespaces()
        .flat_map(|(ns, items)| items.iter().map(move |item| (ns, item)))
        .filter(|(ns, item)| {
            mso.value_digest(ns, item.digest_id())
                != Some(&mso.digest_algorithm().digest(item.as_bytes())[..])
        })
        .map(|(_, item)| item.element_identifier())
        .collect();
    assert_eq!(mismatched, ["family_name"]);
    assert_eq!(
        issuer_signed
            .item(MDL_NS, "family_name")
            .unwrap()
            .element_value(),
        &Value::Text("Foe".into())
    );

    // The verifier names it; issuerAuth still verified (the digest check comes after it).
    let validator = validator_for_pem(&["mdoc/annex-d/ds_cert.pem"]);
    let transcript = annex_d_transcript();
    let reader = annex_d_reader_key();
    let options = VerifyOptions::new(ANNEX_D_NOW)
        .session_transcript(&transcript)
        .reader_key(&reader);
    match response.verify(&validator, &options) {
        Err(VerifyError::DigestMismatch {
            doc_type,
            namespace,
            element,
            ..
        }) => {
            assert_eq!(doc_type, MDL);
            assert_eq!(namespace, MDL_NS);
            assert_eq!(element, "family_name");
        }
        other => panic!("expected a family_name digest mismatch, got {other:?}"),
    }

    // Without family_name the rest of the document, deviceMac included, still verifies.
    let rest = issuer_signed.select(&[
        (MDL_NS, "document_number"),
        (MDL_NS, "issue_date"),
        (MDL_NS, "expiry_date"),
        (MDL_NS, "portrait"),
        (MDL_NS, "driving_privileges"),
    ]);
    let verified = rest
        .verify(&validator, &VerifyOptions::new(ANNEX_D_NOW))
        .unwrap();
    assert_eq!(verified.elements().len(), 5);
}

#[test]
fn annex_d_device_mac_with_another_reader_key_fails() {
    let validator = validator_for_pem(&["mdoc/annex-d/ds_cert.pem"]);
    let transcript = annex_d_transcript();
    let other = ReaderKey::generate().unwrap();
    let options = VerifyOptions::new(ANNEX_D_NOW)
        .session_transcript(&transcript)
        .reader_key(&other);
    assert!(matches!(
        annex_d_response().verify(&validator, &options),
        Err(VerifyError::DeviceMac { .. })
    ));
}

#[test]
fn annex_d_device_mac_over_another_transcript_fails() {
    let validator = validator_for_pem(&["mdoc/annex-d/ds_cert.pem"]);
    let transcript = SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI);
    let reader = annex_d_reader_key();
    let options = VerifyOptions::new(ANNEX_D_NOW)
        .session_transcript(&transcript)
        .reader_key(&reader);
    assert!(matches!(
        annex_d_response().verify(&validator, &options),
        Err(VerifyError::DeviceMac { .. })
    ));
}

#[test]
fn annex_d_device_mac_without_reader_key_is_required_or_reported_unchecked() {
    let validator = validator_for_pem(&["mdoc/annex-d/ds_cert.pem"]);
    let transcript = annex_d_transcript();
    let options = VerifyOptions::new(ANNEX_D_NOW).session_transcript(&transcript);
    let err = annex_d_response().verify(&validator, &options).unwrap_err();
    assert!(
        matches!(err, VerifyError::ReaderKeyRequired { .. }),
        "{err}"
    );
    assert_eq!(err.code().as_str(), "key_binding_required");

    let lenient = options.require_device_auth(false);
    let verified = annex_d_response().verify(&validator, &lenient).unwrap();
    assert!(!verified.documents()[0].device_authenticated());

    // No transcript at all: issuer data verified, device authentication not checked.
    let verified = annex_d_response()
        .verify(&validator, &VerifyOptions::new(ANNEX_D_NOW))
        .unwrap();
    assert!(!verified.documents()[0].device_authenticated());
    assert_eq!(verified.documents()[0].device_auth(), None);
}

#[test]
fn annex_d_outside_the_validity_window() {
    let validator = validator_for_pem(&["mdoc/annex-d/ds_cert.pem"]);
    // The DS certificate expires 2021-10-01T00:00:00Z, before the MSO (13:30:02).
    let err = annex_d_response()
        .verify(&validator, &VerifyOptions::new(unix(2021, 10, 2)))
        .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::UntrustedIssuer {
                source: X509Error::Expired { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn annex_d_reencoded_response_still_verifies() {
    // Re-encoding (deterministic map order) keeps every embedded item's bytes.
    let response = annex_d_response();
    let reencoded = DeviceResponse::from_bytes(&response.to_bytes()).unwrap();
    assert_eq!(reencoded.to_bytes(), response.to_bytes());
    let validator = validator_for_pem(&["mdoc/annex-d/ds_cert.pem"]);
    let transcript = annex_d_transcript();
    let reader = annex_d_reader_key();
    let options = VerifyOptions::new(ANNEX_D_NOW)
        .session_transcript(&transcript)
        .reader_key(&reader);
    reencoded.verify(&validator, &options).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Real-world responses (mdoc-ts test examples)
// ---------------------------------------------------------------------------------------------

fn real_world(name: &str) -> (DeviceResponse, SessionTranscript, serde_json::Value) {
    let dir = format!("mdoc/real-world/{name}");
    let expected = vector_json(&format!("{dir}/expected.json"));
    let response =
        DeviceResponse::from_hex(&vector_text(&format!("{dir}/device_response.hex"))).unwrap();
    let transcript =
        SessionTranscript::from_cbor(&hex(expected["expected"]["session_transcript_cbor_hex"]
            .as_str()
            .unwrap()))
        .unwrap();
    (response, transcript, expected)
}

/// Checks each expected element (plain text values) of a verified document.
fn assert_text_elements(
    claims: &serde_json::Map<String, serde_json::Value>,
    expected: &serde_json::Value,
) {
    for (ns, elements) in expected.as_object().unwrap() {
        for (id, e) in elements.as_object().unwrap() {
            if let Some(text) = e["value"].as_str()
                && !text.starts_with('<')
                && !text.starts_with("1004(")
            {
                assert_eq!(claims[ns][id], json!(text), "{ns}/{id}");
            }
            assert!(claims[ns].get(id).is_some(), "{ns}/{id} missing");
        }
    }
}

#[test]
fn real_world_google_dc_api_draft24() {
    let (response, transcript, expected) = real_world("google");
    // The DS certificate is self-signed (leaf == anchor) but not a CA, with keyUsage
    // digitalSignature and id-mdlDS: the default ISO profile accepts it.
    let validator = validator_for_pem(&["mdoc/real-world/google/signing_certificate.pem"]);
    let options = VerifyOptions::new(unix(2025, 2, 20)).session_transcript(&transcript);
    let verified = response.verify(&validator, &options).unwrap();
    let doc = &verified.documents()[0];
    assert_eq!(doc.doc_type(), MDL);
    assert!(doc.device_authenticated());
    assert_eq!(doc.device_auth(), Some(DeviceAuthMethod::Signature));
    assert_eq!(
        doc.issuer_subject(),
        "CN=digitalcredentials.dev,O=Digital Credentials,L=Mountain View,ST=California,C=US"
    );
    assert_eq!(
        serde_json::Value::Object(doc.claims().clone()),
        json!({MDL_NS: {"family_name": "Smith", "given_name": "Jon"}})
    );
    // Fractional seconds in the MSO tdates.
    assert_eq!(doc.validity().valid_from.nanosecond(), 210_399_000);
    assert_text_elements(
        doc.claims(),
        &expected["expected"]["documents"][0]["elements"],
    );
}

#[test]
fn real_world_google_root_certificate_is_not_its_issuer() {
    // mdoc-ts lists root_certificate.pem as an anchor, but it is the Annex D "utopia ds".
    let (response, transcript, _) = real_world("google");
    let validator = validator_for_pem(&["mdoc/real-world/google/root_certificate.pem"]);
    let options = VerifyOptions::new(unix(2025, 2, 20)).session_transcript(&transcript);
    assert!(matches!(
        response.verify(&validator, &options),
        Err(VerifyError::UntrustedIssuer { .. })
    ));
}

/// The EC point of a DER certificate, found by its SubjectPublicKeyInfo prefix (P-256).
fn p256_point_of(der: &[u8]) -> Vec<u8> {
    // AlgorithmIdentifier ecPublicKey prime256v1, then BIT STRING (66 bytes) 00 04 …
    let prefix = hex("06082a8648ce3d030107034200");
    let at = find(der, &prefix).unwrap() + prefix.len();
    der[at..at + 65].to_vec()
}

#[test]
fn real_world_ubique_openid4vp_draft18() {
    let (response, transcript, expected) = real_world("ubique");
    // Its certificate has a 32-byte serial number, beyond RFC 5280 §4.1.2.2's 20 octets; it
    // parses (eudi-trust reads long serials, as §4.1.2.2 asks of users), and here the document
    // signer key is trusted directly.
    let pem = vector_text("mdoc/real-world/ubique/issuer_certificate.pem");
    let mut anchors = eudi_trust::TrustAnchors::new();
    assert_eq!(anchors.add_pem(&pem).unwrap(), 1);
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = eudi_trust::b64::decode_std(body).unwrap();
    let key = eudi_trust::VerifyingKey::from_sec1(Algorithm::Es256, &p256_point_of(&der)).unwrap();
    let keys = vec![key];

    let options = VerifyOptions::new(unix(2025, 2, 1)).session_transcript(&transcript);
    let verified = response.verify(&keys, &options).unwrap();
    let doc = &verified.documents()[0];
    assert!(doc.device_authenticated());
    assert!(doc.issuer_chain().is_none());
    assert_eq!(doc.issuer_key(), &keys[0]);
    assert!(doc.issuer_subject().starts_with("key "));
    assert_eq!(
        serde_json::Value::Object(doc.claims().clone()),
        json!({MDL_NS: {"family_name": "Jones"}})
    );
    assert_text_elements(
        doc.claims(),
        &expected["expected"]["documents"][0]["elements"],
    );

    // Another key does not verify it.
    let other = vec![
        eudi_trust::SoftwareKey::generate(Algorithm::Es256)
            .unwrap()
            .verifying_key()
            .clone(),
    ];
    let err = response.verify(&other, &options).unwrap_err();
    assert!(matches!(err, VerifyError::UnknownIssuerKey { .. }), "{err}");
    assert_eq!(err.code().as_str(), "untrusted_issuer");
}

#[test]
fn real_world_france_with_document_errors() {
    let (response, transcript, expected) = real_world("france");
    assert!(response.has_document_errors());
    // The ISO "utopia ds" certificate has keyUsage digitalSignature and id-mdlDS.
    let validator = validator_for_pem(&["mdoc/real-world/france/issuer_certificate.pem"]);
    let options = VerifyOptions::new(unix(2021, 9, 25)).session_transcript(&transcript);
    let verified = response.verify(&validator, &options).unwrap();
    let doc = &verified.documents()[0];
    assert!(doc.device_authenticated());
    assert_eq!(doc.claims()[MDL_NS]["issue_date"], json!("2019-10-20"));
    assert_eq!(
        doc.claims()[MDL_NS]["driving_privileges"][1]["vehicle_category_code"],
        json!("B")
    );
    assert_text_elements(
        doc.claims(),
        &expected["expected"]["documents"][0]["elements"],
    );
    let portrait = doc
        .elements()
        .iter()
        .find(|e| e.identifier() == "portrait")
        .unwrap();
    assert!(matches!(portrait.value(), Value::Bytes(b) if b.len() == 1042));
}

#[test]
fn real_world_animo_openid4vp_1_0_with_non_preferred_lengths() {
    let (response, transcript, expected) = real_world("animo-mdoc-05");
    let inputs = &expected["mdoc_ts_test_inputs"];
    // Our OpenID4VP 1.0 transcript from the request parameters equals the one that verifies.
    let thumbprint: [u8; 32] = hex(inputs["jwkThumbprint_hex"].as_str().unwrap())
        .try_into()
        .unwrap();
    let ours = SessionTranscript::openid4vp(
        inputs["clientId"].as_str().unwrap(),
        inputs["nonce"].as_str().unwrap(),
        Some(&thumbprint),
        inputs["responseUri"].as_str().unwrap(),
    );
    assert_eq!(ours, transcript);

    // The DS certificate chains to the Animo IACA; it has no id-mdlDS EKU, so only
    // digitalSignature is required of it.
    let validator = validator_for_pem(&["mdoc/real-world/animo-mdoc-05/root_certificate.pem"]);
    let options = VerifyOptions::new(unix(2026, 1, 12))
        .leaf_profile(LeafProfile::DigitalSignature)
        .session_transcript(&ours);
    let verified = response.verify(&validator, &options).unwrap();
    let doc = &verified.documents()[0];
    assert_eq!(doc.doc_type(), "eu.europa.ec.eudi.pid.1");
    assert_eq!(doc.issuer_subject(), "C=NL,CN=credo dcs");
    assert!(doc.device_authenticated());
    assert_eq!(
        serde_json::Value::Object(doc.claims().clone()),
        json!({"eu.europa.ec.eudi.pid.1": {"given_name": "Erika", "family_name": "Mustermann"}})
    );
    assert_eq!(
        doc.validity().expected_update.map(|t| t.unix_timestamp()),
        Some(1_783_640_134) // 2026-07-09T23:35:34Z
    );
    // The embedded leaf equals issuer_certificate.pem.
    let leaf = validator_for_pem(&["mdoc/real-world/animo-mdoc-05/issuer_certificate.pem"]);
    assert_eq!(
        doc.issuer_chain().as_ref().unwrap().leaf_der,
        leaf.anchors().get(0).unwrap().der()
    );
    // The input uses non-preferred headers; re-encoding keeps the signed bytes and verifies.
    let raw = vector_hex("mdoc/real-world/animo-mdoc-05/device_response.hex");
    assert_eq!(&raw[..3], &[0xb9, 0x00, 0x03]);
    let reencoded = DeviceResponse::from_bytes(&response.to_bytes()).unwrap();
    reencoded.verify(&validator, &options).unwrap();
    // The base64url file is the same response.
    let b64 = DeviceResponse::from_base64url(&vector_text(
        "mdoc/real-world/animo-mdoc-05/device_response.b64url.txt",
    ))
    .unwrap();
    assert_eq!(b64.to_bytes(), response.to_bytes());
}

#[test]
fn real_world_bdr_issuer_signed_only() {
    let issuer_signed =
        IssuerSigned::from_hex(&vector_text("mdoc/real-world/bdr/issuer_signed.hex")).unwrap();
    let expected = vector_json("mdoc/real-world/bdr/expected.json");
    // Leaf == trusted certificate; whether it has id-mdlDS does not matter for this check.
    let validator = validator_for_pem(&["mdoc/real-world/bdr/issuer_certificate.pem"]);
    let options = VerifyOptions::new(unix(2026, 1, 1)).leaf_profile(LeafProfile::Any);
    let doc = issuer_signed.verify(&validator, &options).unwrap();
    assert_eq!(doc.doc_type(), MDL);
    assert!(!doc.device_authenticated());
    assert_eq!(doc.elements().len(), 18);
    assert_eq!(
        doc.claims()[MDL_NS]["issuing_authority"],
        json!("FE-Beh. Stadt Köln-Ehrenfeld")
    );
    assert_eq!(doc.claims()[MDL_NS]["birth_date"], json!("1984-01-17"));
    assert_eq!(doc.claims()[MDL_NS]["age_over_21"], json!(true));
    assert_eq!(
        doc.claims()["org.iso.18013.5.1.DE"]["driving_privileges"],
        json!([{"issue_date": "2013-04-25", "vehicle_category_code": "L"}])
    );
    let len = |id: &str| match &doc
        .elements()
        .iter()
        .find(|e| e.identifier() == id)
        .unwrap()
        .value()
    {
        Value::Bytes(b) => b.len(),
        _ => 0,
    };
    assert_eq!(len("portrait"), 3580);
    assert_eq!(len("signature_usual_mark"), 8699);
    assert_text_elements(doc.claims(), &expected["expected"]["elements"]);
    // The base64url form is the same structure.
    let b64 =
        IssuerSigned::from_base64url(&vector_text("mdoc/real-world/bdr/issuer_signed.b64url.txt"))
            .unwrap();
    assert_eq!(b64.to_bytes(), issuer_signed.to_bytes());
}

// ---------------------------------------------------------------------------------------------
// OpenID4VP 1.0 Annex B.2.6 handovers
// ---------------------------------------------------------------------------------------------

#[test]
fn openid4vp_redirect_handover_matches_the_spec() {
    let v = vector_json("oid4vp/handover.json");
    let inputs = &v["redirect"]["inputs"];
    let thumbprint: [u8; 32] = hex(inputs["jwk_thumbprint_hex"].as_str().unwrap())
        .try_into()
        .unwrap();
    let transcript = SessionTranscript::openid4vp(
        inputs["client_id"].as_str().unwrap(),
        inputs["nonce"].as_str().unwrap(),
        Some(&thumbprint),
        inputs["response_uri"].as_str().unwrap(),
    );
    assert_eq!(
        to_hex(transcript.as_cbor()),
        v["redirect"]["SessionTranscript_cbor_hex"]
            .as_str()
            .unwrap()
    );
    assert_eq!(transcript.to_cbor(), transcript.as_cbor());
    assert_eq!(
        transcript.session_transcript_bytes(),
        &[&[0xd8, 0x18, 0x58, 56][..], transcript.as_cbor()].concat()[..]
    );
}

#[test]
fn openid4vp_dc_api_handover_matches_the_spec() {
    let v = vector_json("oid4vp/handover.json");
    let inputs = &v["dc_api"]["inputs"];
    let thumbprint: [u8; 32] = hex(inputs["jwk_thumbprint_hex"].as_str().unwrap())
        .try_into()
        .unwrap();
    let transcript = SessionTranscript::openid4vp_dc_api(
        inputs["origin"].as_str().unwrap(),
        inputs["nonce"].as_str().unwrap(),
        Some(&thumbprint),
    );
    assert_eq!(
        to_hex(transcript.as_cbor()),
        v["dc_api"]["SessionTranscript_cbor_hex"].as_str().unwrap()
    );
}

#[test]
fn openid4vp_unencrypted_handover_has_null_thumbprint() {
    let v = vector_json("oid4vp/handover.json");
    let inputs = &v["redirect"]["inputs"];
    let transcript = SessionTranscript::openid4vp(
        inputs["client_id"].as_str().unwrap(),
        inputs["nonce"].as_str().unwrap(),
        None,
        inputs["response_uri"].as_str().unwrap(),
    );
    assert_eq!(
        to_hex(transcript.as_cbor()),
        v["extra_not_in_spec"]["redirect_unencrypted_response"]["SessionTranscript_cbor_hex"]
            .as_str()
            .unwrap()
    );
}

#[test]
fn openid4vp_thumbprint_is_rfc7638_of_the_spec_jwk() {
    let v = vector_json("oid4vp/handover.json");
    let jwk: eudi_trust::Jwk =
        serde_json::from_value(v["verifier_encryption_jwk"].clone()).unwrap();
    let thumbprint = eudi_trust::b64::decode(jwk.thumbprint()).unwrap();
    assert_eq!(
        to_hex(&thumbprint),
        v["jwk_thumbprint_sha256_hex"].as_str().unwrap()
    );
}

#[test]
fn other_handovers_are_kept_as_given() {
    let v = vector_json("oid4vp/handover.json");
    let iae = hex(
        v["extra_not_in_spec"]["openid4vci_interactive_authorization_iae"]
            ["SessionTranscript_cbor_hex"]
            .as_str()
            .unwrap(),
    );
    let transcript = SessionTranscript::from_cbor(&iae).unwrap();
    assert_eq!(transcript.as_cbor(), &iae[..]);
    assert!(SessionTranscript::from_cbor(&hex("82f6f6")).is_err());
    assert!(SessionTranscript::from_cbor(&hex("83f6f6")).is_err());
    assert!(SessionTranscript::from_tagged_bytes(&iae).is_err());
}
