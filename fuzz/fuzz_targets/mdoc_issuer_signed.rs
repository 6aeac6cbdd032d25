//! mdoc IssuerSigned (ISO/IEC 18013-5 §8.3.2.1.2.2, §9.1.2): IssuerSignedItemBytes, issuerAuth
//! (COSE_Sign1 with x5chain) and the MSO, selection, re-encoding, verification with a trusted
//! key.
#![no_main]

use eudi_mdoc::IssuerSigned;
use eudi_mdoc::IssuerTrust;
use eudi_mdoc::VerifyOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(issued) = IssuerSigned::from_bytes(data) else {
        return;
    };
    let mso = issued.mso();
    let _ = (mso.version(), mso.doc_type(), mso.validity(), mso.status());
    let wanted: Vec<(String, String)> = issued
        .namespaces()
        .flat_map(|(ns, items)| {
            items
                .iter()
                .take(1)
                .map(move |item| (ns.to_owned(), item.element_identifier().to_owned()))
        })
        .collect();
    let wanted: Vec<(&str, &str)> = wanted
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let selected = issued.select(&wanted);
    let _ = IssuerSigned::from_bytes(&selected.to_bytes());
    let _ = IssuerSigned::from_bytes(&issued.to_bytes());
    let keys = [eudi_fuzz::issuer_public().clone()];
    let _ = issued.verify(
        IssuerTrust::Keys(&keys),
        &VerifyOptions::new(eudi_fuzz::NOW),
    );
});
