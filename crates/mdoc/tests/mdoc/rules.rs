//! The mdoc rules beyond signatures and digests, each with the input that breaks it: empty
//! namespaces (CDDL `+`), `issuing_country` against the document signer certificate, definite
//! lengths in a PID, and nothing device-signed among the issuer's claims.

use ciborium::Value;
use coset::CborSerializable as _;
use coset::HeaderBuilder;
use coset::iana;
use eudi_mdoc::DecodeError;
use eudi_mdoc::DeviceResponse;
use eudi_mdoc::Document;
use eudi_mdoc::IssuerSigned;
use eudi_mdoc::IssuerSignedBuilder;
use eudi_mdoc::SessionTranscript;
use eudi_mdoc::ValidityInfo;
use eudi_mdoc::VerifyError;
use eudi_mdoc::VerifyOptions;
use eudi_trust::ErrorCode;
use eudi_trust::HasErrorCode as _;
use eudi_trust::Signer as _;

use crate::support::*;

fn transcript() -> SessionTranscript {
    SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI)
}

fn to_cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

fn from_cbor(bytes: &[u8]) -> Value {
    ciborium::de::from_reader(bytes).unwrap()
}

fn member<'a>(map: &'a mut Value, key: &str) -> &'a mut Value {
    map.as_map_mut()
        .unwrap()
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {key}"))
}

/// The content of a `#6.24(bstr)`, edited as a value and written back.
fn edit_tag24(tagged: &mut Value, f: impl FnOnce(&mut Value)) {
    let Value::Tag(24, inner) = tagged else {
        panic!("not tag 24")
    };
    let Value::Bytes(bytes) = inner.as_mut() else {
        panic!("not a bstr")
    };
    let mut value = from_cbor(bytes);
    f(&mut value);
    *bytes = to_cbor(&value);
}

fn malformed_reason(err: DecodeError) -> String {
    match err {
        DecodeError::Malformed { at, reason } => format!("{at}: {reason}"),
        other => panic!("not Malformed: {other}"),
    }
}

#[tokio::test]
async fn issuer_signed_namespace_without_items_is_malformed() {
    let issued = issue().await;
    let good = issued.issuer_signed.to_bytes();
    IssuerSigned::from_bytes(&good).unwrap();

    // { PID: [] }: CDDL `[ + IssuerSignedItemBytes ]`.
    let mut value = from_cbor(&good);
    *member(member(&mut value, "nameSpaces"), PID) = Value::Array(vec![]);
    let err = IssuerSigned::from_bytes(&to_cbor(&value)).unwrap_err();
    assert!(malformed_reason(err).contains("has no items"));

    // nameSpaces {}: CDDL `{ + NameSpace => … }`.
    let mut value = from_cbor(&good);
    *member(&mut value, "nameSpaces") = Value::Map(vec![]);
    let err = IssuerSigned::from_bytes(&to_cbor(&value)).unwrap_err();
    assert!(malformed_reason(err).contains("has no namespace"));
}

#[tokio::test]
async fn device_response_namespace_without_items_is_malformed() {
    let issued = issue().await;
    let selected = issued.issuer_signed.select(&[(PID, "family_name")]);
    let response = DeviceResponse::new(vec![
        Document::with_device_signature(selected, &transcript(), &issued.device)
            .await
            .unwrap(),
    ])
    .to_bytes();
    DeviceResponse::from_bytes(&response).unwrap();

    let mut value = from_cbor(&response);
    let doc = &mut member(&mut value, "documents").as_array_mut().unwrap()[0];
    *member(member(member(doc, "issuerSigned"), "nameSpaces"), PID) = Value::Array(vec![]);
    let err = DeviceResponse::from_bytes(&to_cbor(&value)).unwrap_err();
    assert!(malformed_reason(err).contains("has no items"));
    let verify_err = VerifyError::from(DeviceResponse::from_bytes(&to_cbor(&value)).unwrap_err());
    assert_eq!(verify_err.code(), ErrorCode::Malformed);

    // DeviceSignedItems `{ + DataElementIdentifier => DataElementValue }`.
    let mut value = from_cbor(&response);
    let doc = &mut member(&mut value, "documents").as_array_mut().unwrap()[0];
    edit_tag24(member(member(doc, "deviceSigned"), "nameSpaces"), |ns| {
        *ns = Value::Map(vec![(Value::Text(PID.into()), Value::Map(vec![]))]);
    });
    let err = DeviceResponse::from_bytes(&to_cbor(&value)).unwrap_err();
    assert!(malformed_reason(err).contains("has no items"));
}

/// The MSO's `ValueDigests = { + NameSpace => DigestIDs }`, `DigestIDs = { + DigestID => Digest }`.
#[tokio::test]
async fn value_digests_without_entries_are_malformed() {
    let issued = issue().await;
    let good = issued.issuer_signed.to_bytes();
    for (edit, reason) in [
        (
            (|mso: &mut Value| {
                *member(member(mso, "valueDigests"), PID) = Value::Map(vec![]);
            }) as fn(&mut Value),
            "namespace has no digests",
        ),
        (
            |mso: &mut Value| *member(mso, "valueDigests") = Value::Map(vec![]),
            "has no namespace",
        ),
    ] {
        let mut value = from_cbor(&good);
        let auth = member(&mut value, "issuerAuth").as_array_mut().unwrap();
        let Value::Bytes(payload) = &mut auth[2] else {
            panic!("no payload")
        };
        let mut tagged = from_cbor(payload);
        edit_tag24(&mut tagged, edit);
        *payload = to_cbor(&tagged);
        let err = IssuerSigned::from_bytes(&to_cbor(&value)).unwrap_err();
        assert!(malformed_reason(err).contains(reason), "{reason}");
    }
}

/// A PID with `issuing_country` = `country`, signed by the fixture's DS certificate (C=DK).
async fn pid_with_country(country: &str) -> Issued {
    let issued = issue().await;
    let validity = ValidityInfo::new(
        datetime(ISSUED_AT),
        datetime(ISSUED_AT),
        datetime(VALID_UNTIL),
    );
    let issuer_signed = pid_elements()
        .into_iter()
        .filter(|(id, _)| *id != "issuing_country")
        .fold(
            IssuerSignedBuilder::new(PID, issued.device.verifying_key(), validity),
            |b, (id, value)| b.element(PID, id, value),
        )
        .element(PID, "issuing_country", Value::Text(country.into()))
        .sign(&issued.ds.key, &[&issued.ds.der])
        .await
        .unwrap();
    Issued {
        issuer_signed,
        ..issued
    }
}

#[tokio::test]
async fn issuing_country_must_be_the_document_signer_country() {
    let options = VerifyOptions::new(NOW);
    let same = pid_with_country("DK").await;
    let verified = same
        .issuer_signed
        .verify(&same.pki.validator(), &options)
        .unwrap();
    assert_eq!(verified.issuing_country(), Some("DK"));

    let other = pid_with_country("SE").await;
    let err = other
        .issuer_signed
        .verify(&other.pki.validator(), &options)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            VerifyError::IssuingCountryMismatch { issuing_country, certificate_country, .. }
                if issuing_country == "SE" && certificate_country.as_deref() == Some("DK")
        ),
        "{err}"
    );
    assert_eq!(err.code(), ErrorCode::UntrustedIssuer);

    // In a DeviceResponse too.
    let response = DeviceResponse::new(vec![
        Document::with_device_signature(
            other.issuer_signed.select(&[(PID, "issuing_country")]),
            &transcript(),
            &other.device,
        )
        .await
        .unwrap(),
    ]);
    let err = response
        .verify(
            &other.pki.validator(),
            &VerifyOptions::new(NOW).session_transcript(&transcript()),
        )
        .unwrap_err();
    assert!(matches!(err, VerifyError::IssuingCountryMismatch { .. }));

    // Not presented: nothing to compare.
    other
        .issuer_signed
        .select(&[(PID, "family_name")])
        .verify(&other.pki.validator(), &options)
        .unwrap();
}

/// A caller that trusts the key directly (or validates the chain itself) checks the country
/// with the certificate's countryName it knows.
#[tokio::test]
async fn issuing_country_can_be_checked_by_the_caller() {
    let other = pid_with_country("SE").await;
    let keys = vec![other.ds.key.verifying_key().clone()];
    let verified = other
        .issuer_signed
        .verify(&keys, &VerifyOptions::new(NOW))
        .unwrap();
    assert!(verified.check_issuing_country(Some("SE")).is_ok());
    assert!(matches!(
        verified.check_issuing_country(Some("DK")),
        Err(VerifyError::IssuingCountryMismatch { .. })
    ));
    assert!(matches!(
        verified.check_issuing_country(None),
        Err(VerifyError::IssuingCountryMismatch {
            certificate_country: None,
            ..
        })
    ));
}

/// `issuing_country` in another namespace is not the document's issuing country.
#[tokio::test]
async fn issuing_country_elsewhere_is_not_compared() {
    let issued = issue().await;
    let validity = ValidityInfo::new(
        datetime(ISSUED_AT),
        datetime(ISSUED_AT),
        datetime(VALID_UNTIL),
    );
    let mdl = "org.iso.18013.5.1";
    let sign = async |ns: &str| {
        IssuerSignedBuilder::new(
            "org.iso.18013.5.1.mDL",
            issued.device.verifying_key(),
            validity,
        )
        .element(ns, "issuing_country", Value::Text("SE".into()))
        .sign(&issued.ds.key, &[&issued.ds.der])
        .await
        .unwrap()
    };
    let options = VerifyOptions::new(NOW);
    let err = sign(mdl)
        .await
        .verify(&issued.pki.validator(), &options)
        .unwrap_err();
    assert!(matches!(err, VerifyError::IssuingCountryMismatch { .. }));
    sign("org.example.1")
        .await
        .verify(&issued.pki.validator(), &options)
        .unwrap();
}

/// A PID item with an indefinite-length map: the PID rulebook requires definite lengths. The
/// same item in an mDL is accepted (ISO/IEC 18013-5 does not forbid it).
#[tokio::test]
async fn pid_items_must_use_definite_lengths() {
    let issued = issue().await;
    let validity = ValidityInfo::new(
        datetime(ISSUED_AT),
        datetime(ISSUED_AT),
        datetime(VALID_UNTIL),
    );
    for (doc_type, ns, rejected) in [
        (PID, PID, true),
        ("org.iso.18013.5.1.mDL", "org.iso.18013.5.1", false),
    ] {
        let signed = IssuerSignedBuilder::new(doc_type, issued.device.verifying_key(), validity)
            .element(ns, "family_name", Value::Text("Jensen".into()))
            .sign(&issued.ds.key, &[&issued.ds.der])
            .await
            .unwrap();
        // The item's map header made indefinite (`bf … ff`): the digest no longer matches, so
        // the PID rule must be checked, and fail, before the digest is.
        let mut bytes = signed.to_bytes();
        let item = signed.item(ns, "family_name").unwrap().as_bytes().to_vec();
        let at = find(&bytes, &item).unwrap();
        // `d8 18 58 LEN a4 …` (or `d8 18 LEN a4`): the inner map header follows the bstr head.
        let map_at = at + item.iter().skip(2).position(|b| *b == 0xa4).unwrap() + 2;
        let inner_len_at = map_at - 1;
        bytes[map_at] = 0xbf;
        bytes.insert(at + item.len(), 0xff);
        bytes[inner_len_at] += 1;
        let parsed = IssuerSigned::from_bytes(&bytes).unwrap();
        let err = parsed
            .verify(&issued.pki.validator(), &VerifyOptions::new(NOW))
            .unwrap_err();
        if rejected {
            assert!(
                err.to_string().contains("indefinite-length"),
                "{doc_type}: {err}"
            );
        } else {
            assert!(
                matches!(err, VerifyError::DigestMismatch { .. }),
                "{doc_type}: {err}"
            );
        }
    }
}

/// Device-signed elements (DeviceNameSpaces) are the holder's, never the issuer's: a verified
/// document keeps them apart from its claims.
#[tokio::test]
async fn device_signed_elements_are_not_claims() {
    let issued = issue().await;
    let selected = issued.issuer_signed.select(&[(PID, "family_name")]);
    let response = DeviceResponse::new(vec![
        Document::with_device_signature(selected, &transcript(), &issued.device)
            .await
            .unwrap(),
    ])
    .to_bytes();
    // The holder adds a device-signed family_name and given_name and signs for them.
    let mut value = from_cbor(&response);
    let doc = &mut member(&mut value, "documents").as_array_mut().unwrap()[0];
    let device_signed = member(doc, "deviceSigned");
    edit_tag24(member(device_signed, "nameSpaces"), |ns| {
        *ns = Value::Map(vec![(
            Value::Text(PID.into()),
            Value::Map(vec![
                (
                    Value::Text("family_name".into()),
                    Value::Text("Forged".into()),
                ),
                (
                    Value::Text("given_name".into()),
                    Value::Text("Unsigned".into()),
                ),
            ]),
        )]);
    });
    let unsigned = to_cbor(&value);
    let parsed = DeviceResponse::from_bytes(&unsigned).unwrap();
    let payload = parsed.documents()[0].device_authentication_bytes(&transcript());
    // COSE_Sign1 [h'a10126' (ES256), {}, nil, signature] over the Sig_structure with the
    // detached DeviceAuthenticationBytes (RFC 9052 §4.4).
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .build();
    let protected = coset::ProtectedHeader {
        original_data: None,
        header: protected,
    };
    let tbs = coset::sig_structure_data(
        coset::SignatureContext::CoseSign1,
        protected.clone(),
        None,
        &[],
        &payload,
    );
    let sig = issued.device.sign(&tbs).await.unwrap();
    let signature = to_cbor(&Value::Array(vec![
        Value::Bytes(protected.to_vec().unwrap()),
        Value::Map(vec![]),
        Value::Null,
        Value::Bytes(sig),
    ]));
    let doc = &mut member(&mut value, "documents").as_array_mut().unwrap()[0];
    *member(
        member(member(doc, "deviceSigned"), "deviceAuth"),
        "deviceSignature",
    ) = from_cbor(&signature);
    let verified = DeviceResponse::from_bytes(&to_cbor(&value))
        .unwrap()
        .verify(
            &issued.pki.validator(),
            &VerifyOptions::new(NOW).session_transcript(&transcript()),
        )
        .unwrap();
    let doc = &verified.documents()[0];
    assert!(doc.device_authenticated());
    assert_eq!(
        serde_json::Value::Object(doc.claims().clone()),
        serde_json::json!({PID: {"family_name": "Jensen"}})
    );
    assert_eq!(doc.elements().len(), 1);
    assert_eq!(
        serde_json::Value::Object(doc.device_claims().clone()),
        serde_json::json!({PID: {"family_name": "Forged", "given_name": "Unsigned"}})
    );
}

#[tokio::test]
async fn error_codes_are_the_workspace_vocabulary() {
    let issued = issue().await;
    let mut bytes = issued.issuer_signed.to_bytes();
    // A byte string header declaring more than is left is malformed; over a limit is too_large.
    bytes.truncate(bytes.len() - 1);
    let err = VerifyError::from(IssuerSigned::from_bytes(&bytes).unwrap_err());
    assert_eq!(err.code(), ErrorCode::Malformed);
    let mut deep = vec![0x81u8; 100];
    deep.push(0);
    let err = VerifyError::from(IssuerSigned::from_bytes(&deep).unwrap_err());
    assert_eq!(err.code(), ErrorCode::TooLarge);
}
