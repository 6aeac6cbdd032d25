//! Issuing: an [`IssuerSigned`] for a document, signed by a document signer (ISO/IEC 18013-5
//! §9.1.2).

use std::ops::Range;

use aws_lc_rs::rand;
use ciborium::Value;
use coset::CoseSign1;
use coset::HeaderBuilder;
use coset::ProtectedHeader;
use coset::iana::EnumI64 as _;
use eudi_status_list::StatusReference;
use eudi_trust::Algorithm;
use eudi_trust::Signer;
use eudi_trust::VerifyingKey;

use crate::device::cose_algorithm;
use crate::digests::Digests;
use crate::enc;
use crate::error::EncodeError;
use crate::error::IssueError;
use crate::issuer_signed::IssuerAuth;
use crate::issuer_signed::IssuerSigned;
use crate::issuer_signed::ItemWriter;
use crate::issuer_signed::X5CHAIN;
use crate::mso::DigestAlgorithm;
use crate::mso::MobileSecurityObject;
use crate::mso::ValidityInfo;

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
    // Boxed: the builder is passed by value once per element.
    inner: Box<Builder>,
}

#[derive(Clone)]
struct Builder {
    doc_type: String,
    device_key: VerifyingKey,
    validity: ValidityInfo,
    digest_algorithm: DigestAlgorithm,
    status: Option<StatusReference>,
    namespaces: Vec<Namespace>,
}

/// The elements of one namespace, their identifiers in one string.
#[derive(Clone)]
struct Namespace {
    name: String,
    identifiers: String,
    /// Where in `identifiers` each identifier is, and its value.
    elements: Vec<(Range<usize>, Value)>,
}

impl Namespace {
    fn identifier(&self, at: &Range<usize>) -> Option<&str> {
        self.identifiers.get(at.clone())
    }
}

impl std::fmt::Debug for IssuerSignedBuilder {
    // Element values are personal data: only their identifiers are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let this = &self.inner;
        let elements: Vec<(&str, Vec<&str>)> = this
            .namespaces
            .iter()
            .map(|ns| {
                // A broken range shows as such, not as an empty name.
                let ids = ns
                    .elements
                    .iter()
                    .map(|(at, _)| ns.identifier(at).unwrap_or("<invalid range>"));
                (ns.name.as_str(), ids.collect())
            })
            .collect();
        f.debug_struct("IssuerSignedBuilder")
            .field("doc_type", &this.doc_type)
            .field("digest_algorithm", &this.digest_algorithm)
            .field("status", &this.status)
            .field("elements", &elements)
            .finish_non_exhaustive()
    }
}

impl IssuerSignedBuilder {
    /// An mdoc of `doc_type` bound to `device_key` (the holder's key, `deviceKeyInfo`), valid as
    /// `validity` says.
    pub fn new(doc_type: &str, device_key: &VerifyingKey, validity: ValidityInfo) -> Self {
        Self {
            inner: Box::new(Builder {
                doc_type: doc_type.to_owned(),
                device_key: device_key.clone(),
                validity,
                digest_algorithm: DigestAlgorithm::default(),
                status: None,
                namespaces: Vec::new(),
            }),
        }
    }

    /// Adds element `identifier` to `namespace`. Adding the same element twice is an error at
    /// [`sign`](Self::sign).
    #[must_use]
    pub fn element(mut self, namespace: &str, identifier: &str, value: Value) -> Self {
        let namespaces = &mut self.inner.namespaces;
        let index = match namespaces.iter().position(|ns| ns.name == namespace) {
            Some(index) => index,
            None => {
                namespaces.push(Namespace {
                    name: namespace.to_owned(),
                    identifiers: String::new(),
                    elements: Vec::new(),
                });
                namespaces.len() - 1
            }
        };
        if let Some(ns) = namespaces.get_mut(index) {
            // Identifiers are appended to one string: no allocation per element.
            let start = ns.identifiers.len();
            ns.identifiers.push_str(identifier);
            ns.elements.push((start..ns.identifiers.len(), value));
        }
        self
    }

    /// The digest algorithm (default SHA-256).
    #[must_use]
    pub fn digest_algorithm(mut self, alg: DigestAlgorithm) -> Self {
        self.inner.digest_algorithm = alg;
        self
    }

    /// Where the credential's status lives (Token Status List §6.3, MSO `status`).
    #[must_use]
    pub fn status(mut self, reference: StatusReference) -> Self {
        self.inner.status = Some(reference);
        self
    }

    /// Signs with the document signer `signer`, whose certificate chain (DER, leaf first; the
    /// IACA root may be left out) goes into the unprotected `x5chain` header (label 33), as
    /// ISO/IEC 18013-5 §9.1.2.4 requires; `alg` goes into the protected header.
    ///
    /// Each element gets a fresh 16-byte `random`, and digest IDs are a random permutation per
    /// namespace, so neither the IDs nor their order link presentations (§9.1.2.5, §E.8.1).
    pub async fn sign<C: AsRef<[u8]>>(
        self,
        signer: &dyn Signer,
        x5chain: &[C],
    ) -> Result<IssuerSigned, IssueError> {
        let this = *self.inner;
        if this.doc_type.is_empty() {
            return Err(IssueError::Invalid("docType is empty".into()));
        }
        if this.namespaces.is_empty() {
            return Err(IssueError::Invalid(
                "an mdoc needs at least one element".into(),
            ));
        }
        // Compared as encoded: tdates are written in whole seconds.
        let v = &this.validity;
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

        // One call to the random generator for every salt and every shuffle: each call costs
        // about as much as producing a few hundred bytes.
        let elements: usize = this.namespaces.iter().map(|ns| ns.elements.len()).sum();
        let swaps = elements.saturating_sub(this.namespaces.len());
        let mut random = RandomPool::new(elements * RANDOM_LEN + swaps * 8)?;

        let mut namespaces = Vec::with_capacity(this.namespaces.len());
        let mut names = Vec::with_capacity(this.namespaces.len());
        let mut counts = Vec::with_capacity(this.namespaces.len());
        // Every digest in one buffer, at the position of its digest ID: namespace by namespace,
        // digest ID by digest ID.
        let digest_len = this.digest_algorithm.output_len();
        let mut hashes = vec![0u8; elements * digest_len];
        let mut base = 0;
        for ns in this.namespaces {
            check_distinct(&ns)?;
            let count = ns.elements.len();
            let ids = shuffled_ids(count, &mut random)?;
            // The namespace's items in one buffer that they share.
            let mut items = ItemWriter::with_capacity(count);
            for ((at, value), digest_id) in ns.elements.into_iter().zip(ids) {
                let identifier = ns.identifiers.get(at).ok_or(IssueError::Internal {
                    what: "element identifier range",
                })?;
                let salt = random.take(RANDOM_LEN)?;
                let bytes = items.push(digest_id, salt, identifier, value)?;
                let digest = this.digest_algorithm.hash(bytes);
                // The digest's slot: digest IDs are a permutation of 0..count, so it exists; a
                // broken invariant is an error, never a digest silently left as zeros.
                let slot = digest_slot(&mut hashes, base, digest_id, digest_len).ok_or(
                    IssueError::Internal {
                        what: "digest slot",
                    },
                )?;
                // SHA-256 (the default) as a fixed-size copy, not a call to `memcpy`.
                // (`digest_slot` is `digest_len` long, the digest's own length.)
                match (
                    <&mut [u8; 32]>::try_from(&mut *slot),
                    <&[u8; 32]>::try_from(digest.as_ref()),
                ) {
                    (Ok(slot), Ok(digest)) => *slot = *digest,
                    _ => slot.copy_from_slice(digest.as_ref()),
                }
            }
            base += count;
            counts.push(count);
            names.push(ns.name.clone());
            namespaces.push((ns.name, items.finish()?));
        }
        // Namespaces are distinct (the builder merges them), digest IDs a permutation.
        let digests = Digests::from_permutations(names, &counts, hashes, digest_len)?;

        // MobileSecurityObjectBytes, written straight into the Sig_structure that is signed.
        let alg = signer.algorithm();
        let protected = protected_header(alg);
        let capacity =
            MobileSecurityObject::encoded_len_guess(&this.doc_type, &digests, this.status.as_ref());
        let (mut tbs, start) = enc::sig_structure1_with(&protected, capacity, |out| {
            MobileSecurityObject::encode_into(
                out,
                &this.doc_type,
                this.digest_algorithm,
                &digests,
                &this.device_key,
                &this.validity,
                this.status.as_ref(),
            )
        })?;
        let signature = signer.sign(&tbs).await?;
        let payload = tbs.get(start..).ok_or(IssueError::Internal {
            what: "MSO position in the Sig_structure",
        })?;

        // COSE_Sign1 = [protected, {33: x5chain}, payload, signature] (RFC 9052 §4.2), written
        // directly; the unprotected header is the one map entry {33: bstr / [+ bstr]}.
        let chain_len: usize = x5chain.iter().map(|c| c.as_ref().len() + 9).sum();
        let mut raw = Vec::with_capacity(
            16 + protected.len() + chain_len + payload.len() + signature.len() + 9,
        );
        raw.push(0x84);
        enc::bytes_into(&mut raw, &protected);
        raw.extend_from_slice(&[0xa1, 0x18, 0x21]);
        let chain = match x5chain {
            [single] => {
                enc::bytes_into(&mut raw, single.as_ref());
                Value::Bytes(single.as_ref().to_vec())
            }
            many => {
                enc::head(&mut raw, 4, enc::len_arg(many.len()));
                for cert in many {
                    enc::bytes_into(&mut raw, cert.as_ref());
                }
                Value::Array(
                    many.iter()
                        .map(|c| Value::Bytes(c.as_ref().to_vec()))
                        .collect(),
                )
            }
        };
        enc::bytes_into(&mut raw, payload);
        enc::bytes_into(&mut raw, &signature);

        let mso = MobileSecurityObject::issued(
            payload,
            &this.doc_type,
            this.digest_algorithm,
            digests,
            &this.device_key,
            &this.validity,
            this.status.as_ref(),
        )?;
        let sign1 = CoseSign1 {
            protected: ProtectedHeader {
                original_data: Some(protected),
                header: HeaderBuilder::new().algorithm(cose_algorithm(alg)).build(),
            },
            unprotected: HeaderBuilder::new().value(X5CHAIN, chain).build(),
            // The Sig_structure's buffer, now just the payload.
            payload: Some({
                tbs.drain(..start);
                tbs
            }),
            signature,
        };
        Ok(IssuerSigned::from_parts(
            namespaces,
            IssuerAuth { raw, sign1, mso },
        ))
    }
}

/// Fails if an element was added twice to `ns`.
fn check_distinct(ns: &Namespace) -> Result<(), IssueError> {
    // A namespace has a few dozen elements: comparing every pair (most differ in length, which
    // is compared first) is cheaper than sorting; large ones are sorted.
    const PAIRWISE_MAX: usize = 48;
    // Every identifier range within the namespace's text (checked once, without allocating),
    // so the comparisons below compare identifiers, never two missing ones.
    if ns
        .elements
        .iter()
        .any(|(at, _)| ns.identifier(at).is_none())
    {
        return Err(IssueError::Internal {
            what: "element identifier range",
        });
    }
    let id = |at: &Range<usize>| ns.identifier(at);
    let twice = if ns.elements.len() <= PAIRWISE_MAX {
        ns.elements.iter().enumerate().any(|(i, (a, _))| {
            ns.elements
                .iter()
                .skip(i + 1)
                .any(|(b, _)| a.len() == b.len() && id(a) == id(b))
        })
    } else {
        let mut sorted: Vec<&str> = ns.elements.iter().filter_map(|(at, _)| id(at)).collect();
        sorted.sort_unstable_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        sorted.windows(2).any(|w| matches!(w, [a, b] if a == b))
    };
    if twice {
        // Name the first duplicate in bytewise order.
        let mut sorted: Vec<&str> = ns.elements.iter().filter_map(|(at, _)| id(at)).collect();
        sorted.sort_unstable();
        let first = sorted
            .windows(2)
            .find(|w| matches!(w, [a, b] if a == b))
            .and_then(|w| w.first().copied())
            .ok_or(IssueError::Internal {
                what: "duplicate element identifier",
            })?;
        return Err(IssueError::Invalid(format!(
            "element {}/{first} is added twice",
            ns.name
        )));
    }
    Ok(())
}

/// The `digest_len` bytes of the digest of `digest_id` in a namespace whose digests start at
/// digest number `base` of `hashes`; `None` if that is outside `hashes`.
fn digest_slot(
    hashes: &mut [u8],
    base: usize,
    digest_id: u64,
    digest_len: usize,
) -> Option<&mut [u8]> {
    let at = usize::try_from(digest_id)
        .ok()?
        .checked_add(base)?
        .checked_mul(digest_len)?;
    hashes.get_mut(at..at.checked_add(digest_len)?)
}

/// The serialized protected header `{1: alg}` (RFC 9052 §3.1) for a signature algorithm, as
/// `coset` writes it.
pub(crate) fn protected_header(alg: Algorithm) -> Vec<u8> {
    let mut out = Vec::with_capacity(4);
    out.extend_from_slice(&[0xa1, 0x01]);
    let id = cose_algorithm(alg).to_i64();
    if id >= 0 {
        enc::head(&mut out, 0, id.unsigned_abs());
    } else {
        enc::head(&mut out, 1, (-1 - id).unsigned_abs());
    }
    out
}

/// Random bytes drawn from the system generator in one call and handed out in pieces; more are
/// drawn if a piece is asked for beyond what is left. No byte is handed out twice.
struct RandomPool {
    /// Up to [`RandomPool::INLINE`] bytes live here, more in `heap`.
    inline: [u8; RandomPool::INLINE],
    heap: Vec<u8>,
    len: usize,
    next: usize,
}

impl RandomPool {
    /// Enough for a mdoc of about 30 elements without a heap allocation.
    const INLINE: usize = 768;

    fn new(len: usize) -> Result<Self, IssueError> {
        let mut pool = Self {
            inline: [0; Self::INLINE],
            heap: Vec::new(),
            len,
            next: 0,
        };
        if len > Self::INLINE {
            pool.heap = vec![0u8; len];
        }
        fill_random(pool.bytes_mut()?)?;
        Ok(pool)
    }

    fn bytes_mut(&mut self) -> Result<&mut [u8], IssueError> {
        if self.len > Self::INLINE {
            Ok(&mut self.heap)
        } else {
            self.inline.get_mut(..self.len).ok_or(IssueError::Internal {
                what: "random pool length",
            })
        }
    }

    /// The next `len` bytes.
    fn take(&mut self, len: usize) -> Result<&[u8], IssueError> {
        if self.len.saturating_sub(self.next) < len {
            *self = Self::new(len.max(64))?;
        }
        let start = self.next;
        self.next += len;
        let bytes = if self.len > Self::INLINE {
            &self.heap[..]
        } else {
            &self.inline[..]
        };
        bytes
            .get(start..self.next)
            .ok_or_else(|| IssueError::Invalid("the random generator failed".into()))
    }

    fn next_u64(&mut self) -> Result<u64, IssueError> {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(buf))
    }
}

fn fill_random(bytes: &mut [u8]) -> Result<(), IssueError> {
    rand::fill(bytes).map_err(|_| IssueError::Invalid("the random generator failed".into()))
}

/// `0..n` in a uniformly random order (Fisher-Yates with rejection sampling).
fn shuffled_ids(n: usize, random: &mut RandomPool) -> Result<Vec<u64>, IssueError> {
    let mut ids: Vec<u64> = (0..u64::try_from(n).map_err(|_| EncodeError::Integer)?).collect();
    for i in (1..ids.len()).rev() {
        let j = random_below(i + 1, random)?;
        ids.swap(i, j);
    }
    Ok(ids)
}

/// A uniformly random number in `0..bound` (bound ≥ 1), by Lemire's multiply-and-shift with
/// rejection ("Fast Random Integer Generation in an Interval", 2019): unbiased, and a division
/// only in the rare case that a rejection is possible at all.
fn random_below(bound: usize, random: &mut RandomPool) -> Result<usize, IssueError> {
    let bound = u64::try_from(bound).map_err(|_| EncodeError::Integer)?;
    let mut product = u128::from(random.next_u64()?) * u128::from(bound);
    if (product as u64) < bound {
        // Products whose low half is below 2^64 mod bound would favour some results.
        let threshold = bound.wrapping_neg() % bound;
        while (product as u64) < threshold {
            product = u128::from(random.next_u64()?) * u128::from(bound);
        }
    }
    usize::try_from(product >> 64).map_err(|_| IssueError::Encode(EncodeError::Integer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_a_permutation() {
        let mut random = RandomPool::new(0).unwrap();
        for n in [0, 1, 2, 20] {
            let mut ids = shuffled_ids(n, &mut random).unwrap();
            ids.sort_unstable();
            assert_eq!(ids, (0..n as u64).collect::<Vec<_>>());
        }
        // 20 elements left in order by chance: 1 in 20!.
        assert_ne!(
            shuffled_ids(20, &mut random).unwrap(),
            (0..20).collect::<Vec<u64>>()
        );
    }

    #[test]
    fn duplicates_are_found_and_named() {
        let elements = |ids: &[&str]| -> Namespace {
            let mut ns = Namespace {
                name: "ns".into(),
                identifiers: String::new(),
                elements: Vec::new(),
            };
            for id in ids {
                let start = ns.identifiers.len();
                ns.identifiers.push_str(id);
                ns.elements.push((start..ns.identifiers.len(), Value::Null));
            }
            ns
        };
        assert!(check_distinct(&elements(&[])).is_ok());
        assert!(check_distinct(&elements(&["a", "b", "ab", "ba"])).is_ok());
        let many: Vec<String> = (0..60).map(|i| format!("element_{i}")).collect();
        let mut many_twice: Vec<&str> = many.iter().map(String::as_str).collect();
        many_twice.push("element_7");
        many_twice.push("element_3");
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(check_distinct(&elements(&many)).is_ok());
        for (ids, named) in [
            (&many_twice[..], "element_3"),
            (&["a", "b", "a"][..], "a"),
            (&["zz", "b", "zz", "b"][..], "b"),
            (
                &["given_name", "family_name", "family_name"][..],
                "family_name",
            ),
        ] {
            match check_distinct(&elements(ids)) {
                Err(IssueError::Invalid(message)) => {
                    assert_eq!(message, format!("element ns/{named} is added twice"));
                }
                other => panic!("{ids:?}: {other:?}"),
            }
        }
    }

    /// Each of `0..bound` comes out about equally often, for bounds that do and do not divide
    /// 2^64.
    #[test]
    fn random_below_is_uniform() {
        let mut random = RandomPool::new(0).unwrap();
        for bound in [1usize, 2, 3, 7, 20] {
            let mut counts = vec![0u32; bound];
            let draws = 2000 * bound as u32;
            for _ in 0..draws {
                let r = random_below(bound, &mut random).unwrap();
                counts[r] += 1;
            }
            for (value, count) in counts.iter().enumerate() {
                // 2000 expected; 5 standard deviations (about 225) either way.
                assert!(
                    (1700..=2300).contains(count),
                    "{bound}: {value} came {count} times"
                );
            }
        }
    }

    #[test]
    fn random_pool_never_repeats_and_refills() {
        // Past the inline storage, and a refill of more than it holds.
        let mut big = RandomPool::new(RandomPool::INLINE + 1).unwrap();
        let first = big.take(RandomPool::INLINE + 1).unwrap().to_vec();
        let second = big.take(RandomPool::INLINE + 100).unwrap().to_vec();
        assert_eq!(second.len(), RandomPool::INLINE + 100);
        assert_ne!(first[..32], second[..32]);
        let mut random = RandomPool::new(40).unwrap();
        let mut seen = Vec::new();
        // 40 bytes drawn up front, then refills of at least 64 bytes.
        for _ in 0..20 {
            seen.push(random.take(RANDOM_LEN).unwrap().to_vec());
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 20, "16-byte salts repeated");
        assert_eq!(random.take(100).unwrap().len(), 100);
    }

    #[test]
    fn protected_header_is_what_coset_writes() {
        use coset::CborSerializable as _;
        for alg in [
            Algorithm::Es256,
            Algorithm::Es384,
            Algorithm::Es512,
            Algorithm::Rs256,
        ] {
            let header = HeaderBuilder::new().algorithm(cose_algorithm(alg)).build();
            let coset = ProtectedHeader {
                original_data: None,
                header,
            }
            .to_vec()
            .unwrap();
            assert_eq!(protected_header(alg), coset, "{alg}");
        }
    }

    /// A digest ID outside the namespace's digests is no slot (so an error), never an
    /// overflowing or wrapped position.
    #[test]
    fn digest_slot_is_checked() {
        let mut hashes = vec![0u8; 3 * 32];
        assert_eq!(
            digest_slot(&mut hashes, 1, 1, 32).map(|s| s.len()),
            Some(32)
        );
        assert!(digest_slot(&mut hashes, 1, 2, 32).is_none());
        assert!(digest_slot(&mut hashes, 0, u64::MAX, 32).is_none());
        assert!(digest_slot(&mut hashes, usize::MAX, 1, 32).is_none());
        assert!(digest_slot(&mut hashes, 2, 0, usize::MAX).is_none());
    }
}
