//! Every way a presentation can be wrong, each its own test: the verifier must name the check
//! that failed, and where.

use ciborium::Value;
use eudi_mdoc::DecodeError;
use eudi_mdoc::DeviceResponse;
use eudi_mdoc::Document;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::VerifiedDeviceResponse;
use eudi_mdoc::VerifyError;
use eudi_mdoc::VerifyOptions;
use eudi_trust::HasErrorCode as _;
use eudi_trust::LeafProfile;
use eudi_trust::X509Error;

use crate::support::*;

fn transcript() -> SessionTranscript {
    SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI)
}

/// A DeviceResponse with the chosen PID elements, device-signed over [`transcript`].
async fn present(issued: &Issued, elements: &[&str]) -> Vec<u8> {
    let wanted: Vec<(&str, &str)> = elements.iter().map(|e| (PID, *e)).collect();
    let selected = issued.issuer_signed.select(&wanted);
    DeviceResponse::new(vec![
        Document::with_device_signature(selected, &transcript(), &issued.device)
            .await
            .unwrap(),
    ])
    .to_bytes()
}

fn verify_at(
    bytes: &[u8],
    issued: &Issued,
    now: i64,
    transcript: &SessionTranscript,
) -> Result<VerifiedDeviceResponse, VerifyError> {
    let options = VerifyOptions::new(now).session_transcript(transcript);
    DeviceResponse::from_bytes(bytes)?.verify(&issued.pki.validator(), &options)
}

fn verify(bytes: &[u8], issued: &Issued) -> Result<VerifiedDeviceResponse, VerifyError> {
    verify_at(bytes, issued, NOW, &transcript())
}

/// Replaces the first occurrence of `from` (same length as `to`).
fn replace_first(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let at = find(bytes, from).expect("pattern present");
    bytes[at..at + to.len()].copy_from_slice(to);
}

/// Offset of an item's digestID byte: canonical items are
/// `{"random": bstr(16), "digestID": uint, …}`, so the ID follows the random.
fn digest_id_offset(bytes: &[u8], issued: &Issued, element: &str) -> usize {
    let item = issued.issuer_signed.item(PID, element).unwrap();
    let at = find(bytes, item.random()).unwrap() + item.random().len();
    assert_eq!(&bytes[at..at + 9], b"\x68digestID");
    assert_eq!(u64::from(bytes[at + 9]), item.digest_id());
    at + 9
}

/// Decodes the response with ciborium, edits it, re-encodes. Tag-24 contents and COSE byte
/// strings are kept as they are, so only the edited part changes.
fn edit(bytes: &[u8], f: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let mut value: Value = ciborium::de::from_reader(bytes).unwrap();
    f(value.as_map_mut().unwrap());
    let mut out = Vec::new();
    ciborium::ser::into_writer(&value, &mut out).unwrap();
    out
}

fn member<'a>(map: &'a mut [(Value, Value)], key: &str) -> &'a mut Value {
    map.iter_mut()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {key}"))
}

/// The first document's map.
fn document(response: &mut [(Value, Value)]) -> &mut Vec<(Value, Value)> {
    member(response, "documents").as_array_mut().unwrap()[0]
        .as_map_mut()
        .unwrap()
}

/// The first document's issuerAuth array.
fn issuer_auth(response: &mut [(Value, Value)]) -> &mut Vec<Value> {
    let issuer_signed = member(document(response), "issuerSigned")
        .as_map_mut()
        .unwrap();
    member(issuer_signed, "issuerAuth").as_array_mut().unwrap()
}

/// Rewrites the IssuerSignedItem at `index` of the PID namespace.
fn edit_item(
    response: &mut [(Value, Value)],
    index: usize,
    f: impl FnOnce(&mut Vec<(Value, Value)>),
) {
    let issuer_signed = member(document(response), "issuerSigned")
        .as_map_mut()
        .unwrap();
    let namespaces = member(issuer_signed, "nameSpaces").as_map_mut().unwrap();
    let items = member(namespaces, PID).as_array_mut().unwrap();
    let Value::Tag(24, inner) = &mut items[index] else {
        panic!("not tag 24")
    };
    let Value::Bytes(bytes) = inner.as_mut() else {
        panic!("not a bstr")
    };
    let mut map: Value = ciborium::de::from_reader(&bytes[..]).unwrap();
    f(map.as_map_mut().unwrap());
    bytes.clear();
    ciborium::ser::into_writer(&map, bytes).unwrap();
}

#[tokio::test]
async fn valid_presentation_passes() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name", "given_name"]).await;
    let verified = verify(&bytes, &issued).unwrap();
    assert!(verified.documents()[0].device_authenticated());
}

#[tokio::test]
async fn changed_element_value() {
    let issued = issue().await;
    let mut bytes = present(&issued, &["family_name", "given_name"]).await;
    replace_first(&mut bytes, b"Jensen", b"Jansen");
    let err = verify(&bytes, &issued).unwrap_err();
    match &err {
        VerifyError::DigestMismatch {
            doc_type,
            namespace,
            element,
            ..
        } => {
            assert_eq!(
                (doc_type.as_str(), namespace.as_str(), element.as_str()),
                (PID, PID, "family_name")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code().as_str(), "invalid_disclosure");
    assert!(err.to_string().contains("family_name"), "{err}");
    assert!(!err.to_string().contains("Jansen"), "no values in messages");
}

#[tokio::test]
async fn changed_digest_in_mso_breaks_the_issuer_signature() {
    let issued = issue().await;
    let mut bytes = present(&issued, &["family_name"]).await;
    let item = issued.issuer_signed.item(PID, "family_name").unwrap();
    let digest = issued
        .issuer_signed
        .mso()
        .value_digest(PID, item.digest_id())
        .unwrap()
        .to_vec();
    let at = find(&bytes, &digest).unwrap();
    bytes[at] ^= 1;
    let err = verify(&bytes, &issued).unwrap_err();
    assert!(matches!(err, VerifyError::IssuerSignature { .. }), "{err}");
    assert_eq!(err.code().as_str(), "invalid_signature");
}

#[tokio::test]
async fn tampered_issuer_signature() {
    let issued = issue().await;
    let mut bytes = present(&issued, &["family_name"]).await;
    let auth = issued.issuer_signed.issuer_auth_bytes();
    let at = find(&bytes, auth).unwrap() + auth.len() - 1;
    bytes[at] ^= 0x80;
    assert!(matches!(
        verify(&bytes, &issued),
        Err(VerifyError::IssuerSignature { .. })
    ));
}

#[tokio::test]
async fn changed_digest_id_mapping() {
    // family_name relabelled with the digestID of an element the holder did not present.
    let issued = issue().await;
    let mut bytes = present(&issued, &["family_name"]).await;
    let at = digest_id_offset(&bytes, &issued, "family_name");
    let sex_id = issued.issuer_signed.item(PID, "sex").unwrap().digest_id();
    bytes[at] = u8::try_from(sex_id).unwrap();
    match verify(&bytes, &issued) {
        Err(VerifyError::DigestMismatch {
            element, digest_id, ..
        }) => {
            assert_eq!(element, "family_name");
            assert_eq!(digest_id, sex_id);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn duplicate_digest_id() {
    let issued = issue().await;
    let mut bytes = present(&issued, &["family_name", "given_name"]).await;
    let family_id = issued
        .issuer_signed
        .item(PID, "family_name")
        .unwrap()
        .digest_id();
    let at = digest_id_offset(&bytes, &issued, "given_name");
    bytes[at] = u8::try_from(family_id).unwrap();
    match verify(&bytes, &issued) {
        Err(VerifyError::DuplicateDigestId {
            namespace,
            digest_id,
            ..
        }) => {
            assert_eq!(namespace, PID);
            assert_eq!(digest_id, family_id);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn digest_id_not_in_the_mso() {
    let issued = issue().await;
    let mut bytes = present(&issued, &["family_name"]).await;
    let at = digest_id_offset(&bytes, &issued, "family_name");
    bytes[at] = 23; // 22 elements: IDs 0..=21
    match verify(&bytes, &issued) {
        Err(VerifyError::NotCovered {
            element, digest_id, ..
        }) => {
            assert_eq!(element, "family_name");
            assert_eq!(digest_id, 23);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn element_in_a_namespace_the_mso_does_not_cover() {
    // The nameSpaces key is the last occurrence of the namespace (issuerAuth sorts before
    // nameSpaces, issuerSigned after deviceSigned).
    let issued = issue().await;
    let mut bytes = present(&issued, &["family_name"]).await;
    let at = rfind(&bytes, PID.as_bytes()).unwrap();
    *bytes.get_mut(at + PID.len() - 1).unwrap() = b'9';
    match verify(&bytes, &issued) {
        Err(VerifyError::NotCovered {
            namespace, element, ..
        }) => {
            assert_eq!(namespace, "eu.europa.ec.eudi.pid.9");
            assert_eq!(element, "family_name");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn duplicate_element_identifier() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name", "given_name"]).await;
    let bytes = edit(&bytes, |r| {
        edit_item(r, 1, |item| {
            *member(item, "elementIdentifier") = Value::Text("family_name".into());
        });
    });
    match verify(&bytes, &issued) {
        Err(VerifyError::DuplicateElement { element, .. }) => assert_eq!(element, "family_name"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn random_shorter_than_16_bytes() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let bytes = edit(&bytes, |r| {
        edit_item(r, 0, |item| {
            *member(item, "random") = Value::Bytes(vec![1; 8])
        });
    });
    match verify(&bytes, &issued) {
        Err(VerifyError::RandomTooShort { element, len, .. }) => {
            assert_eq!((element.as_str(), len), ("family_name", 8));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn wrong_doc_type() {
    // The first occurrence of the docType is the Document's own (docType sorts first).
    let issued = issue().await;
    let mut bytes = present(&issued, &["family_name"]).await;
    replace_first(&mut bytes, PID.as_bytes(), b"eu.europa.ec.eudi.pid.2");
    match verify(&bytes, &issued) {
        Err(VerifyError::DocTypeMismatch { document, mso }) => {
            assert_eq!(document, "eu.europa.ec.eudi.pid.2");
            assert_eq!(mso, PID);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn expired_mso() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    verify_at(&bytes, &issued, VALID_UNTIL + 60, &transcript()).unwrap();
    let err = verify_at(&bytes, &issued, VALID_UNTIL + 61, &transcript()).unwrap_err();
    assert!(matches!(err, VerifyError::Expired { .. }), "{err}");
    assert_eq!(err.code().as_str(), "expired");
    assert!(err.to_string().contains("2026-04-01T00:00:00Z"), "{err}");
}

#[tokio::test]
async fn not_yet_valid_mso() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    verify_at(&bytes, &issued, ISSUED_AT - 60, &transcript()).unwrap();
    let err = verify_at(&bytes, &issued, ISSUED_AT - 61, &transcript()).unwrap_err();
    assert!(matches!(err, VerifyError::NotYetValid { .. }), "{err}");
    assert_eq!(err.code().as_str(), "not_yet_valid");
}

#[tokio::test]
async fn device_signature_over_another_nonce() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let other = SessionTranscript::openid4vp(CLIENT_ID, "another-nonce", None, RESPONSE_URI);
    let err = verify_at(&bytes, &issued, NOW, &other).unwrap_err();
    assert!(matches!(err, VerifyError::DeviceSignature { .. }), "{err}");
    assert_eq!(err.code().as_str(), "invalid_key_binding");
}

#[tokio::test]
async fn device_signature_over_another_client_id() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let other =
        SessionTranscript::openid4vp("x509_san_dns:attacker.example", NONCE, None, RESPONSE_URI);
    assert!(matches!(
        verify_at(&bytes, &issued, NOW, &other),
        Err(VerifyError::DeviceSignature { .. })
    ));
}

#[tokio::test]
async fn device_signature_over_an_unencrypted_transcript_when_encrypted_was_asked() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let other = SessionTranscript::openid4vp(CLIENT_ID, NONCE, Some(&[1; 32]), RESPONSE_URI);
    assert!(matches!(
        verify_at(&bytes, &issued, NOW, &other),
        Err(VerifyError::DeviceSignature { .. })
    ));
}

#[tokio::test]
async fn device_signature_by_another_key() {
    // A holder that is not the MSO's device key cannot present the mdoc: the wallet API refuses,
    // and a forged one does not verify.
    let issued = issue().await;
    let thief = issue().await;
    let selected = issued.issuer_signed.select(&[(PID, "family_name")]);
    let forged =
        Document::with_device_signature(selected.clone(), &transcript(), &thief.device).await;
    assert!(forged.is_err());
    // Splice a deviceSignature made by another key over the same transcript.
    let theirs = present(&thief, &["family_name"]).await;
    let ours = present(&issued, &["family_name"]).await;
    let their_sig = {
        let mut value: Value = ciborium::de::from_reader(&theirs[..]).unwrap();
        let doc = document(value.as_map_mut().unwrap());
        member(doc, "deviceSigned").clone()
    };
    let bytes = edit(&ours, |r| *member(document(r), "deviceSigned") = their_sig);
    assert!(matches!(
        verify(&bytes, &issued),
        Err(VerifyError::DeviceSignature { .. })
    ));
}

#[tokio::test]
async fn missing_device_signed_when_a_transcript_is_given() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let bytes = edit(&bytes, |r| {
        document(r).retain(|(k, _)| k.as_text() != Some("deviceSigned"))
    });
    let err = verify(&bytes, &issued).unwrap_err();
    assert!(
        matches!(err, VerifyError::DeviceAuthRequired { .. }),
        "{err}"
    );
    assert_eq!(err.code().as_str(), "key_binding_required");

    // Without a transcript the issuer data still verifies, reported as not device-authenticated.
    let verified = DeviceResponse::from_bytes(&bytes)
        .unwrap()
        .verify(&issued.pki.validator(), &VerifyOptions::new(NOW))
        .unwrap();
    assert!(!verified.documents()[0].device_authenticated());
    // And a caller may opt out of the requirement.
    let t = transcript();
    let lenient = VerifyOptions::new(NOW)
        .session_transcript(&t)
        .require_device_auth(false);
    let verified = DeviceResponse::from_bytes(&bytes)
        .unwrap()
        .verify(&issued.pki.validator(), &lenient)
        .unwrap();
    assert!(!verified.documents()[0].device_authenticated());
}

#[tokio::test]
async fn empty_device_auth_when_a_transcript_is_given() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let bytes = edit(&bytes, |r| {
        let ds = member(document(r), "deviceSigned").as_map_mut().unwrap();
        *member(ds, "deviceAuth") = Value::Map(vec![]);
    });
    assert!(matches!(
        verify(&bytes, &issued),
        Err(VerifyError::DeviceAuthRequired { .. })
    ));
}

#[tokio::test]
async fn untrusted_iaca() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let other = Pki::new("Another IACA");
    let options = VerifyOptions::new(NOW);
    let err = DeviceResponse::from_bytes(&bytes)
        .unwrap()
        .verify(&other.validator(), &options)
        .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::UntrustedIssuer {
                source: X509Error::UntrustedChain(_),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.code().as_str(), "untrusted_issuer");
}

#[tokio::test]
async fn document_signer_without_the_mdl_ds_eku() {
    let issued = issue_with(DsProfile::NoEku).await;
    let bytes = present(&issued, &["family_name"]).await;
    let err = verify(&bytes, &issued).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::UntrustedIssuer {
                source: X509Error::ExtendedKeyUsage { .. },
                ..
            }
        ),
        "{err}"
    );
    // Accepted when the caller relaxes the profile (some real-world DS certificates lack it).
    let t = transcript();
    let relaxed = VerifyOptions::new(NOW)
        .session_transcript(&t)
        .leaf_profile(LeafProfile::DigitalSignature);
    DeviceResponse::from_bytes(&bytes)
        .unwrap()
        .verify(&issued.pki.validator(), &relaxed)
        .unwrap();
}

#[tokio::test]
async fn document_signer_without_digital_signature_key_usage() {
    let issued = issue_with(DsProfile::NoDigitalSignature).await;
    let bytes = present(&issued, &["family_name"]).await;
    for profile in [
        LeafProfile::MdocDocumentSigner,
        LeafProfile::DigitalSignature,
    ] {
        let options = VerifyOptions::new(NOW).leaf_profile(profile);
        let err = DeviceResponse::from_bytes(&bytes)
            .unwrap()
            .verify(&issued.pki.validator(), &options)
            .unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::UntrustedIssuer {
                    source: X509Error::KeyUsage { .. },
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[tokio::test]
async fn es384_issuer_signature_under_the_default_policy() {
    let pki = Pki::new("Test IACA");
    let ds = pki.document_signer_p384();
    let device = eudi_trust::SoftwareKey::generate(eudi_trust::Algorithm::Es256).unwrap();
    let issued = builder(&device).sign(&ds.key, &[&ds.der]).await.unwrap();
    let err = issued
        .verify(&pki.validator(), &VerifyOptions::new(NOW))
        .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::UnsupportedAlgorithm {
                what: "issuerAuth",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn issuer_auth_without_alg() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let bytes = edit(&bytes, |r| issuer_auth(r)[0] = Value::Bytes(vec![0xa0]));
    assert!(matches!(
        verify(&bytes, &issued),
        Err(VerifyError::UnsupportedAlgorithm { .. })
    ));
}

#[tokio::test]
async fn issuer_auth_without_x5chain() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let bytes = edit(&bytes, |r| issuer_auth(r)[1] = Value::Map(vec![]));
    assert!(matches!(
        verify(&bytes, &issued),
        Err(VerifyError::MissingCertificate { .. })
    ));
}

#[tokio::test]
async fn response_with_an_error_status() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let bytes = edit(&bytes, |r| *member(r, "status") = Value::Integer(10.into()));
    assert!(matches!(
        verify(&bytes, &issued),
        Err(VerifyError::ResponseStatus { status: 10 })
    ));
}

#[tokio::test]
async fn response_without_documents() {
    let issued = issue().await;
    let bytes = DeviceResponse::new(vec![]).to_bytes();
    assert!(matches!(
        verify(&bytes, &issued),
        Err(VerifyError::NoDocuments)
    ));
}

#[tokio::test]
async fn truncated_input() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name", "portrait"]).await;
    for cut in [0, 1, 10, bytes.len() / 2, bytes.len() - 1] {
        let err = DeviceResponse::from_bytes(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Cbor(
                    eudi_mdoc::CborError::Truncated { .. }
                        | eudi_mdoc::CborError::LengthExceedsInput { .. }
                )
            ),
            "cut {cut}: {err}"
        );
    }
}

#[tokio::test]
async fn garbage() {
    for input in [
        &b""[..],
        b"hello world",
        b"{\"version\":\"1.0\"}",
        &[0xf6],
        &[0xa0],
        &[0xa1, 0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x01],
        &[0xff, 0xff, 0xff],
        &[0x1c],
    ] {
        assert!(DeviceResponse::from_bytes(input).is_err(), "{input:?}");
        assert!(
            eudi_mdoc::IssuerSigned::from_bytes(input).is_err(),
            "{input:?}"
        );
    }
    assert!(DeviceResponse::from_base64url("not base64!").is_err());
    assert!(DeviceResponse::from_hex("abc").is_err());
    assert!(DeviceResponse::from_text("").is_err());
    // Trailing bytes after a valid response.
    let issued = issue().await;
    let mut bytes = present(&issued, &["family_name"]).await;
    bytes.push(0);
    assert!(matches!(
        DeviceResponse::from_bytes(&bytes),
        Err(DecodeError::Cbor(eudi_mdoc::CborError::TrailingBytes {
            count: 1
        }))
    ));
}

#[tokio::test]
async fn wrong_version() {
    let issued = issue().await;
    let bytes = present(&issued, &["family_name"]).await;
    let bytes = edit(&bytes, |r| {
        *member(r, "version") = Value::Text("2.0".into())
    });
    assert!(matches!(
        DeviceResponse::from_bytes(&bytes),
        Err(DecodeError::UnsupportedVersion { .. })
    ));
}

#[tokio::test]
async fn duplicate_map_key_in_an_element_value() {
    let issued = issue().await;
    let bytes = present(&issued, &["place_of_birth"]).await;
    let bytes = edit(&bytes, |r| {
        edit_item(r, 0, |item| {
            *member(item, "elementValue") = Value::Map(vec![
                (Value::Text("country".into()), Value::Text("DK".into())),
                (Value::Text("country".into()), Value::Text("SE".into())),
            ]);
        });
    });
    assert!(matches!(
        DeviceResponse::from_bytes(&bytes),
        Err(DecodeError::Malformed { .. })
    ));
}
