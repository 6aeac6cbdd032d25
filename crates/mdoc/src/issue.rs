//! Issuing: an [`IssuerSigned`] for a document, signed by a document signer (ISO/IEC 18013-5
//! §9.1.2).

use aws_lc_rs::rand;
use ciborium::Value;
use coset::{AsCborValue as _, CoseSign1Builder, HeaderBuilder};
use eudi_status_list::StatusReference;
use eudi_trust::{Signer, VerifyingKey};

use crate::cbor::Budget;
use crate::device::cose_algorithm;
use crate::enc;
use crate::error::{EncodeError, IssueError};
use crate::issuer_signed::{IssuerAuth, IssuerSigned, IssuerSignedItem, X5CHAIN};
use crate::mso::{DigestAlgorithm, MobileSecurityObject, ValidityInfo};

/// Bytes of `random` per item: ISO/IEC 18013-5 §9.1.2.5 asks for at least 16.
pub const RANDOM_LEN: usize = 16;

/// Builds and signs the issuer side of an mdoc.
///
/// ```
/// # use eudi_mdoc::{IssuerSignedBuilder, ValidityInfo};
/// # use eudi_trust::{Algorithm, Signer, SoftwareKey};
/// # use ciborium::Value;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let device = SoftwareKey::generate(Algorithm::Es256)?;
/// # let now = time::OffsetDateTime::from_unix_timestamp(1_750_000_000)?;
/// # let validity = ValidityInfo::new(now, now, now + time::Duration::days(90));
/// let builder = IssuerSignedBuilder::new("eu.europa.ec.eudi.pid.1", device.verifying_key(), validity)
///     .element("eu.europa.ec.eudi.pid.1", "family_name", Value::Text("Jensen".into()))
///     .element("eu.europa.ec.eudi.pid.1", "age_over_18", Value::Bool(true));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct IssuerSignedBuilder {
    doc_type: String,
    device_key: VerifyingKey,
    validity: ValidityInfo,
    digest_algorithm: DigestAlgorithm,
    status: Option<StatusReference>,
    namespaces: Vec<(String, Vec<(String, Value)>)>,
}

impl std::fmt::Debug for IssuerSignedBuilder {
    // Element values are personal data: only their identifiers are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let elements: Vec<(&str, Vec<&str>)> = self
            .namespaces
            .iter()
            .map(|(ns, els)| (ns.as_str(), els.iter().map(|(id, _)| id.as_str()).collect()))
            .collect();
        f.debug_struct("IssuerSignedBuilder")
            .field("doc_type", &self.doc_type)
            .field("digest_algorithm", &self.digest_algorithm)
            .field("status", &self.status)
            .field("elements", &elements)
            .finish_non_exhaustive()
    }
}

impl IssuerSignedBuilder {
    /// An mdoc of `doc_type` bound to `device_key` (the holder's key, `deviceKeyInfo`), valid as
    /// `validity` says.
    pub fn new(doc_type: &str, device_key: &VerifyingKey, validity: ValidityInfo) -> Self {
        Self {
            doc_type: doc_type.to_owned(),
            device_key: device_key.clone(),
            validity,
            digest_algorithm: DigestAlgorithm::default(),
            status: None,
            namespaces: Vec::new(),
        }
    }

    /// Adds element `identifier` to `namespace`. Adding the same element twice is an error at
    /// [`sign`](Self::sign).
    #[must_use]
    pub fn element(mut self, namespace: &str, identifier: &str, value: Value) -> Self {
        let entry = (identifier.to_owned(), value);
        match self.namespaces.iter_mut().find(|(ns, _)| ns == namespace) {
            Some((_, elements)) => elements.push(entry),
            None => self.namespaces.push((namespace.to_owned(), vec![entry])),
        }
        self
    }

    /// The digest algorithm (default SHA-256).
    #[must_use]
    pub fn digest_algorithm(mut self, alg: DigestAlgorithm) -> Self {
        self.digest_algorithm = alg;
        self
    }

    /// Where the credential's status lives (Token Status List §6.3, MSO `status`).
    #[must_use]
    pub fn status(mut self, reference: StatusReference) -> Self {
        self.status = Some(reference);
        self
    }

    /// Signs with the document signer `signer`, whose certificate chain (DER, leaf first; the
    /// IACA root may be left out) goes into the unprotected `x5chain` header (label 33), as
    /// ISO/IEC 18013-5 §9.1.2.4 requires; `alg` goes into the protected header.
    ///
    /// Each element gets a fresh 16-byte `random`, and digest IDs are a random permutation per
    /// namespace, so neither the IDs nor their order link presentations (§9.1.2.5, §E.8.1).
    pub fn sign<C: AsRef<[u8]>>(
        self,
        signer: &dyn Signer,
        x5chain: &[C],
    ) -> Result<IssuerSigned, IssueError> {
        if self.doc_type.is_empty() {
            return Err(IssueError::Invalid("docType is empty".into()));
        }
        if self.namespaces.is_empty() {
            return Err(IssueError::Invalid(
                "an mdoc needs at least one element".into(),
            ));
        }
        // Compared as encoded: tdates are written in whole seconds.
        let v = &self.validity;
        if v.valid_from.unix_timestamp() < v.signed.unix_timestamp() {
            return Err(IssueError::Invalid(
                "validFrom is before signed (ISO/IEC 18013-5 §9.1.2.4)".into(),
            ));
        }
        if v.valid_until.unix_timestamp() <= v.valid_from.unix_timestamp() {
            return Err(IssueError::Invalid(
                "validUntil is not after validFrom".into(),
            ));
        }
        if x5chain.is_empty() {
            return Err(IssueError::Invalid(
                "the document signer certificate chain is empty".into(),
            ));
        }

        let mut namespaces = Vec::with_capacity(self.namespaces.len());
        let mut digests = Vec::with_capacity(self.namespaces.len());
        for (ns, elements) in self.namespaces {
            let mut seen: Vec<&str> = elements.iter().map(|(id, _)| id.as_str()).collect();
            seen.sort_unstable();
            if let Some(w) = seen.windows(2).find(|w| matches!(w, [a, b] if a == b)) {
                return Err(IssueError::Invalid(format!(
                    "element {ns}/{} is added twice",
                    w.first().copied().unwrap_or_default()
                )));
            }
            let ids = shuffled_ids(elements.len())?;
            let mut items = Vec::with_capacity(elements.len());
            let mut ns_digests = Vec::with_capacity(elements.len());
            for ((identifier, value), digest_id) in elements.into_iter().zip(ids) {
                let mut random = vec![0u8; RANDOM_LEN];
                rand::fill(&mut random)
                    .map_err(|_| IssueError::Invalid("the random generator failed".into()))?;
                let item = IssuerSignedItem::new(digest_id, random, &identifier, value)?;
                ns_digests.push((digest_id, self.digest_algorithm.digest(item.as_bytes())));
                items.push(item);
            }
            digests.push((ns.clone(), ns_digests));
            namespaces.push((ns, items));
        }

        let mso = MobileSecurityObject::encode(
            &self.doc_type,
            self.digest_algorithm,
            &digests,
            &self.device_key,
            &self.validity,
            self.status.as_ref(),
        )?;
        let payload = enc::tag24(&mso);

        let chain = match x5chain {
            [single] => Value::Bytes(single.as_ref().to_vec()),
            many => Value::Array(
                many.iter()
                    .map(|c| Value::Bytes(c.as_ref().to_vec()))
                    .collect(),
            ),
        };
        let sign1 = CoseSign1Builder::new()
            .protected(
                HeaderBuilder::new()
                    .algorithm(cose_algorithm(signer.algorithm()))
                    .build(),
            )
            .unprotected(HeaderBuilder::new().value(X5CHAIN, chain).build())
            .payload(payload.clone())
            .try_create_signature(b"", |tbs| signer.sign(tbs))?
            .build();
        let value = sign1
            .clone()
            .to_cbor_value()
            .map_err(|e| IssueError::Invalid(format!("COSE_Sign1: {e}")))?;
        let raw = enc::value(&value)?;
        let mso = MobileSecurityObject::decode_payload(&payload, &mut Budget::new())?;
        Ok(IssuerSigned::from_parts(
            namespaces,
            IssuerAuth { raw, sign1, mso },
        ))
    }
}

/// `0..n` in a uniformly random order (Fisher-Yates with rejection sampling).
fn shuffled_ids(n: usize) -> Result<Vec<u64>, IssueError> {
    let mut ids: Vec<u64> = (0..u64::try_from(n).map_err(|_| EncodeError::Integer)?).collect();
    for i in (1..ids.len()).rev() {
        let j = random_below(i + 1)?;
        ids.swap(i, j);
    }
    Ok(ids)
}

/// A uniformly random number in `0..bound` (bound ≥ 1).
fn random_below(bound: usize) -> Result<usize, IssueError> {
    let bound = u64::try_from(bound).map_err(|_| EncodeError::Integer)?;
    // Reject the top partial range so every residue is equally likely.
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let mut buf = [0u8; 8];
        rand::fill(&mut buf)
            .map_err(|_| IssueError::Invalid("the random generator failed".into()))?;
        let r = u64::from_be_bytes(buf);
        if r < zone {
            return usize::try_from(r % bound)
                .map_err(|_| IssueError::Encode(EncodeError::Integer));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_a_permutation() {
        for n in [0, 1, 2, 20] {
            let mut ids = shuffled_ids(n).unwrap();
            ids.sort_unstable();
            assert_eq!(ids, (0..n as u64).collect::<Vec<_>>());
        }
        // 20 elements left in order by chance: 1 in 20!.
        assert_ne!(shuffled_ids(20).unwrap(), (0..20).collect::<Vec<u64>>());
    }
}
