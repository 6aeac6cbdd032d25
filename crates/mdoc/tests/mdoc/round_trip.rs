//! Issue a PID-like mdoc, select, device-sign over an OpenID4VP transcript, verify.

use ciborium::Value;
use eudi_mdoc::DeviceAuthMethod;
use eudi_mdoc::DeviceResponse;
use eudi_mdoc::DigestAlgorithm;
use eudi_mdoc::Document;
use eudi_mdoc::IssuerSigned;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::VerifyOptions;
use eudi_status_list::StatusReference;
use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::Signer as _;
use eudi_trust::SoftwareKey;
use serde_json::json;

use crate::support::*;

const SELECTED: [&str; 8] = [
    "family_name",
    "given_name",
    "birth_date",
    "nationality",
    "place_of_birth",
    "sex",
    "portrait",
    "age_over_18",
];

fn selection() -> Vec<(&'static str, &'static str)> {
    SELECTED.iter().map(|e| (PID, *e)).collect()
}

fn transcript() -> SessionTranscript {
    SessionTranscript::openid4vp(CLIENT_ID, NONCE, Some(&[7; 32]), RESPONSE_URI)
}

#[tokio::test]
async fn issue_select_present_verify_pid() {
    let issued = issue().await;
    assert_eq!(issued.issuer_signed.doc_type(), PID);
    assert_eq!(
        issued
            .issuer_signed
            .namespaces()
            .map(|(_, i)| i.len())
            .sum::<usize>(),
        pid_elements().len()
    );

    // Wallet stores the bytes and later selects 8 of 22 elements.
    let stored = issued.issuer_signed.to_bytes();
    let selected = IssuerSigned::from_bytes(&stored)
        .unwrap()
        .select(&selection());
    let transcript = transcript();
    let document = Document::with_device_signature(selected, &transcript, &issued.device)
        .await
        .unwrap();
    let vp_token = DeviceResponse::new(vec![document]).to_base64url();

    let validator = issued.pki.validator();
    let options = VerifyOptions::new(NOW).session_transcript(&transcript);
    let verified = DeviceResponse::from_base64url(&vp_token)
        .unwrap()
        .verify(&validator, &options)
        .unwrap();
    assert_eq!(verified.version(), "1.0");
    let doc = &verified.documents()[0];
    assert_eq!(doc.doc_type(), PID);
    assert!(doc.device_authenticated());
    assert_eq!(doc.device_auth(), Some(DeviceAuthMethod::Signature));
    assert_eq!(doc.device_key(), issued.device.verifying_key());
    assert_eq!(doc.issuer_subject(), "C=DK,CN=Test PID document signer");
    assert_eq!(doc.anchor_index(), 0);
    assert_eq!(doc.digest_algorithm(), DigestAlgorithm::Sha256);
    assert_eq!(doc.validity().valid_until.unix_timestamp(), VALID_UNTIL);

    let portrait = eudi_trust::b64::encode(portrait());
    assert_eq!(
        serde_json::Value::Object(doc.claims().clone()),
        json!({PID: {
            "family_name": "Jensen",
            "given_name": "Mette Louise",
            "birth_date": "1990-05-17",
            "place_of_birth": {"country": "DK", "locality": "Aarhus"},
            "nationality": ["DK", "SE"],
            "sex": 2,
            "portrait": portrait,
            "age_over_18": true
        }})
    );
    assert_eq!(doc.elements().len(), 8);
    let birth_date = doc
        .elements()
        .iter()
        .find(|e| e.identifier() == "birth_date")
        .unwrap();
    assert_eq!(*birth_date.value(), full_date("1990-05-17"));
}

#[tokio::test]
async fn our_encodings_are_canonical_and_stable() {
    let issued = issue().await;
    // IssuerSigned: encode(decode(x)) == x.
    let bytes = issued.issuer_signed.to_bytes();
    assert_eq!(IssuerSigned::from_bytes(&bytes).unwrap().to_bytes(), bytes);
    assert_eq!(
        IssuerSigned::from_hex(&issued.issuer_signed.to_hex())
            .unwrap()
            .to_bytes(),
        bytes
    );

    // DeviceResponse: encode(decode(x)) == x.
    let transcript = transcript();
    let selected = issued.issuer_signed.select(&selection());
    let response = DeviceResponse::new(vec![
        Document::with_device_signature(selected, &transcript, &issued.device)
            .await
            .unwrap(),
    ]);
    let bytes = response.to_bytes();
    assert_eq!(
        DeviceResponse::from_bytes(&bytes).unwrap().to_bytes(),
        bytes
    );
    assert_eq!(
        DeviceResponse::from_text(&response.to_hex())
            .unwrap()
            .to_bytes(),
        bytes
    );
    assert_eq!(
        DeviceResponse::from_text(&response.to_base64url())
            .unwrap()
            .to_bytes(),
        bytes
    );

    // Every item is in preferred serialization with sorted keys: ciborium re-encodes the
    // decoded item (it keeps map order and uses shortest heads) to the same bytes.
    for (_, items) in issued.issuer_signed.namespaces() {
        for item in items {
            let value: Value = ciborium::de::from_reader(item.as_bytes()).unwrap();
            let mut again = Vec::new();
            ciborium::ser::into_writer(&value, &mut again).unwrap();
            assert_eq!(again, item.as_bytes(), "{}", item.element_identifier());
            let Value::Tag(24, inner) = value else {
                panic!("not tag 24")
            };
            let Value::Bytes(inner) = *inner else {
                panic!("not a bstr")
            };
            let map: Value = ciborium::de::from_reader(&inner[..]).unwrap();
            let keys: Vec<&str> = map
                .as_map()
                .unwrap()
                .iter()
                .map(|(k, _)| k.as_text().unwrap())
                .collect();
            assert_eq!(
                keys,
                ["random", "digestID", "elementValue", "elementIdentifier"]
            );
            assert_eq!(item.random().len(), 16);
        }
    }
}

#[tokio::test]
async fn digest_ids_are_shuffled_and_unique() {
    let issued = issue().await;
    let (_, items) = issued.issuer_signed.namespaces().next().unwrap();
    let ids: Vec<u64> = items.iter().map(|i| i.digest_id()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..items.len() as u64).collect::<Vec<_>>());
    // Two issuances of the same data use different orders and salts (1 in 22! to collide).
    let again = issue().await;
    let (_, items2) = again.issuer_signed.namespaces().next().unwrap();
    let ids2: Vec<u64> = items2.iter().map(|i| i.digest_id()).collect();
    assert_ne!(ids, ids2);
    assert_ne!(items[0].random(), items2[0].random());
}

#[tokio::test]
async fn mso_holds_status_and_other_digest_algorithms() {
    let pki = Pki::new("Test IACA");
    let ds = pki.document_signer(DsProfile::Iso);
    let device = SoftwareKey::generate(Algorithm::Es256).unwrap();
    for alg in [DigestAlgorithm::Sha384, DigestAlgorithm::Sha512] {
        let reference = StatusReference {
            idx: 4711,
            uri: "https://issuer.example/status/1".into(),
        };
        let issued = builder(&device)
            .digest_algorithm(alg)
            .status(reference.clone())
            .sign(&ds.key, &[&ds.der])
            .await
            .unwrap();
        assert_eq!(issued.mso().digest_algorithm(), alg);
        assert_eq!(issued.mso().status(), Some(&reference));
        let verified = issued
            .verify(&pki.validator(), &VerifyOptions::new(NOW))
            .unwrap();
        assert_eq!(verified.status(), Some(&reference));
        assert_eq!(verified.digest_algorithm(), alg);
        assert!(!verified.device_authenticated());
    }
}

#[tokio::test]
async fn chain_with_the_iaca_included_and_es384_when_allowed() {
    let pki = Pki::new("Test IACA");
    let ds = pki.document_signer_p384();
    let device = SoftwareKey::generate(Algorithm::Es256).unwrap();
    let issued = builder(&device)
        .sign(&ds.key, &[&ds.der, &pki.iaca_der])
        .await
        .unwrap();
    let options = VerifyOptions::new(NOW)
        .algorithms(AlgorithmPolicy::new([Algorithm::Es256, Algorithm::Es384]));
    issued.verify(&pki.validator(), &options).unwrap();
}

#[tokio::test]
async fn device_signed_with_a_p384_device_key() {
    let pki = Pki::new("Test IACA");
    let ds = pki.document_signer(DsProfile::Iso);
    let device = SoftwareKey::generate(Algorithm::Es384).unwrap();
    let issued = builder(&device).sign(&ds.key, &[&ds.der]).await.unwrap();
    let transcript = transcript();
    let response = DeviceResponse::new(vec![
        Document::with_device_signature(issued, &transcript, &device)
            .await
            .unwrap(),
    ]);
    let options = VerifyOptions::new(NOW)
        .session_transcript(&transcript)
        .algorithms(AlgorithmPolicy::new([Algorithm::Es256, Algorithm::Es384]));
    let verified = response.verify(&pki.validator(), &options).unwrap();
    assert!(verified.documents()[0].device_authenticated());
}

#[tokio::test]
async fn two_documents_in_one_response() {
    let issued = issue().await;
    let transcript = transcript();
    let a = issued.issuer_signed.select(&[(PID, "family_name")]);
    let b = issued.issuer_signed.select(&[(PID, "age_over_18")]);
    let response = DeviceResponse::new(vec![
        Document::with_device_signature(a, &transcript, &issued.device)
            .await
            .unwrap(),
        Document::with_device_signature(b, &transcript, &issued.device)
            .await
            .unwrap(),
    ]);
    let options = VerifyOptions::new(NOW).session_transcript(&transcript);
    let verified = DeviceResponse::from_bytes(&response.to_bytes())
        .unwrap()
        .verify(&issued.pki.validator(), &options)
        .unwrap();
    assert_eq!(verified.documents().len(), 2);
    assert_eq!(
        verified.documents()[1].claims()[PID],
        json!({"age_over_18": true})
    );
}

#[tokio::test]
async fn builder_refuses_bad_input() {
    let issued = issue().await;
    let device = &issued.device;
    let ds = &issued.ds;
    // Same element twice.
    assert!(
        builder(device)
            .element(PID, "family_name", text("Other"))
            .sign(&ds.key, &[&ds.der])
            .await
            .is_err()
    );
    // No certificate.
    assert!(
        builder(device)
            .sign(&ds.key, &[] as &[&[u8]])
            .await
            .is_err()
    );
    // No elements.
    let validity = eudi_mdoc::ValidityInfo::new(
        datetime(ISSUED_AT),
        datetime(ISSUED_AT),
        datetime(VALID_UNTIL),
    );
    assert!(
        eudi_mdoc::IssuerSignedBuilder::new(PID, device.verifying_key(), validity)
            .sign(&ds.key, &[&ds.der])
            .await
            .is_err()
    );
    // validUntil before validFrom.
    let backwards = eudi_mdoc::ValidityInfo::new(
        datetime(ISSUED_AT),
        datetime(ISSUED_AT),
        datetime(ISSUED_AT - 1),
    );
    assert!(
        eudi_mdoc::IssuerSignedBuilder::new(PID, device.verifying_key(), backwards)
            .element(PID, "a", Value::Bool(true))
            .sign(&ds.key, &[&ds.der])
            .await
            .is_err()
    );
    // The device signature needs the MSO device key.
    let stranger = SoftwareKey::generate(Algorithm::Es256).unwrap();
    assert!(matches!(
        Document::with_device_signature(issued.issuer_signed.clone(), &transcript(), &stranger)
            .await,
        Err(eudi_mdoc::IssueError::DeviceKeyMismatch)
    ));
}

#[tokio::test]
async fn trusted_issuer_key_instead_of_certificates() {
    let issued = issue().await;
    let keys = vec![
        SoftwareKey::generate(Algorithm::Es256)
            .unwrap()
            .verifying_key()
            .clone(),
        issued.ds.key.verifying_key().clone(),
    ];
    let verified = issued
        .issuer_signed
        .verify(&keys, &VerifyOptions::new(NOW))
        .unwrap();
    assert_eq!(verified.anchor_index(), 1);
    assert_eq!(verified.issuer_key(), issued.ds.key.verifying_key());
    assert!(verified.issuer_chain().is_none());
}
