//! `valueDigests` of an MSO (ISO/IEC 18013-5 §9.1.2.4), held compactly: every digest in one
//! buffer, found by binary search. An MSO of a PID has a few dozen digests; a map of maps with a
//! vector per digest would cost an allocation each to build and to drop.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::enc;
use crate::error::EncodeError;

/// Namespace → digestID → digest, in canonical order (namespaces bytewise, then digest IDs),
/// so two equal sets of digests compare equal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Digests {
    /// The namespaces, sorted and distinct (some may have no digests).
    namespaces: Vec<String>,
    /// Sorted by namespace, then digest ID; distinct.
    entries: Vec<Entry>,
    /// The digests, in the order of `entries`.
    bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// Index into `namespaces`.
    namespace: usize,
    digest_id: u64,
    digest: Range<usize>,
}

/// Two equal namespaces, or two equal digest IDs in one namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Duplicate;

impl Digests {
    /// From namespaces (in any order) and `(index into namespaces, digest ID, digest)` triples
    /// (in any order).
    pub(crate) fn new(
        namespaces: Vec<String>,
        digests: &mut [(usize, u64, &[u8])],
    ) -> Result<Self, Duplicate> {
        // Strictly increasing input (what issuing gives for one namespace) is taken as it is.
        let namespaces_sorted = namespaces.windows(2).all(|w| matches!(w, [a, b] if a < b));
        let namespaces = if namespaces_sorted {
            namespaces
        } else {
            Self::sort_namespaces(namespaces, digests)?
        };
        let digests_sorted = digests
            .windows(2)
            .all(|w| matches!(w, [a, b] if (a.0, a.1) < (b.0, b.1)));
        if !digests_sorted {
            digests.sort_unstable_by_key(|(ns, id, _)| (*ns, *id));
            if digests
                .windows(2)
                .any(|w| matches!(w, [a, b] if (a.0, a.1) == (b.0, b.1)))
            {
                return Err(Duplicate);
            }
        }
        let mut bytes = Vec::with_capacity(digests.iter().map(|(_, _, d)| d.len()).sum());
        let entries = digests
            .iter()
            .map(|(namespace, digest_id, digest)| {
                let start = bytes.len();
                bytes.extend_from_slice(digest);
                Entry {
                    namespace: *namespace,
                    digest_id: *digest_id,
                    digest: start..bytes.len(),
                }
            })
            .collect();
        Ok(Self {
            namespaces,
            entries,
            bytes,
        })
    }

    /// Digests laid out as issuing makes them: namespace `i` has digest IDs `0..counts[i]`,
    /// and `bytes` holds the digests of `digest_len` bytes each in that order (namespace by
    /// namespace, digest ID by digest ID).
    pub(crate) fn from_permutations(
        namespaces: Vec<String>,
        counts: &[usize],
        bytes: Vec<u8>,
        digest_len: usize,
    ) -> Result<Self, EncodeError> {
        // The layout is the caller's invariant: one count per namespace, `digest_len` bytes per
        // digest, nothing left over. Broken, it is an error, never a short or empty digest.
        let total: usize = counts.iter().sum();
        if counts.len() != namespaces.len()
            || digest_len == 0
            || total.checked_mul(digest_len) != Some(bytes.len())
        {
            return Err(EncodeError::Internal);
        }
        let mut entries = Vec::with_capacity(total);
        let mut at = 0;
        for (namespace, count) in counts.iter().enumerate() {
            for digest_id in 0..*count {
                entries.push(Entry {
                    namespace,
                    digest_id: digest_id as u64,
                    digest: at..at + digest_len,
                });
                at += digest_len;
            }
        }
        let sorted = namespaces.windows(2).all(|w| matches!(w, [a, b] if a < b));
        if sorted {
            return Ok(Self {
                namespaces,
                entries,
                bytes,
            });
        }
        // Namespaces out of order: the general way. Entries are in layout order, so digest `i`
        // is chunk `i`.
        let mut digests: Vec<(usize, u64, &[u8])> = entries
            .iter()
            .zip(bytes.chunks_exact(digest_len))
            .map(|(e, digest)| (e.namespace, e.digest_id, digest))
            .collect();
        Self::new(namespaces, &mut digests).map_err(|_| EncodeError::DuplicateMapKey)
    }

    /// The namespaces sorted, and the digests' namespace indices changed to match.
    fn sort_namespaces(
        namespaces: Vec<String>,
        digests: &mut [(usize, u64, &[u8])],
    ) -> Result<Vec<String>, Duplicate> {
        let mut named: Vec<(String, usize)> = namespaces
            .into_iter()
            .enumerate()
            .map(|(old, name)| (name, old))
            .collect();
        named.sort_unstable();
        if named.windows(2).any(|w| matches!(w, [a, b] if a.0 == b.0)) {
            return Err(Duplicate);
        }
        let mut rank = vec![usize::MAX; named.len()];
        for (new, (_, old)) in named.iter().enumerate() {
            if let Some(slot) = rank.get_mut(*old) {
                *slot = new;
            }
        }
        for (ns, _, _) in digests.iter_mut() {
            // An index outside the namespaces stays out of range (and so is never found).
            *ns = rank.get(*ns).copied().unwrap_or(usize::MAX);
        }
        Ok(named.into_iter().map(|(name, _)| name).collect())
    }

    /// The digest for `digest_id` in `namespace`.
    pub(crate) fn get(&self, namespace: &str, digest_id: u64) -> Option<&[u8]> {
        let ns = self
            .namespaces
            .binary_search_by(|n| n.as_str().cmp(namespace))
            .ok()?;
        let at = self
            .entries
            .binary_search_by(|e| (e.namespace, e.digest_id).cmp(&(ns, digest_id)))
            .ok()?;
        let entry = self.entries.get(at)?;
        self.bytes.get(entry.digest.clone())
    }

    /// As maps.
    pub(crate) fn to_maps(&self) -> BTreeMap<String, BTreeMap<u64, Vec<u8>>> {
        let mut maps: BTreeMap<String, BTreeMap<u64, Vec<u8>>> = self
            .namespaces
            .iter()
            .map(|ns| (ns.clone(), BTreeMap::new()))
            .collect();
        for entry in &self.entries {
            if let (Some(ns), Some(digest)) = (
                self.namespaces.get(entry.namespace),
                self.bytes.get(entry.digest.clone()),
            ) && let Some(map) = maps.get_mut(ns)
            {
                map.insert(entry.digest_id, digest.to_vec());
            }
        }
        maps
    }

    /// Appends `ValueDigests` in deterministic encoding (RFC 8949 §4.2.1): namespaces, being
    /// text, in the order of their encodings (by length, then bytewise), digest IDs ascending.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        enc::head(out, 5, enc::len_arg(self.namespaces.len()));
        let encoded_order = |a: &str, b: &str| a.len().cmp(&b.len()).then(a.cmp(b));
        if self
            .namespaces
            .windows(2)
            .all(|w| matches!(w, [a, b] if encoded_order(a, b).is_lt()))
        {
            // Bytewise order is the encoded order here (always so for one namespace).
            for ns in 0..self.namespaces.len() {
                self.encode_namespace(ns, out)?;
            }
        } else {
            let mut order: Vec<(usize, &str)> = self
                .namespaces
                .iter()
                .map(String::as_str)
                .enumerate()
                .collect();
            order.sort_unstable_by(|(_, a), (_, b)| encoded_order(a, b));
            for (ns, _) in order {
                self.encode_namespace(ns, out)?;
            }
        }
        Ok(())
    }

    /// Appends the name and digests of namespace `ns` (an index).
    fn encode_namespace(&self, ns: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let name = self.namespaces.get(ns).ok_or(EncodeError::Internal)?;
        let entries = self.of(ns).ok_or(EncodeError::Internal)?;
        enc::text_into(out, name);
        enc::head(out, 5, enc::len_arg(entries.len()));
        for entry in entries {
            let digest = self
                .bytes
                .get(entry.digest.clone())
                .ok_or(EncodeError::Internal)?;
            enc::head(out, 0, entry.digest_id);
            enc::bytes_into(out, digest);
        }
        Ok(())
    }

    /// An upper bound of the encoded length.
    pub(crate) fn encoded_len(&self) -> usize {
        9 + self
            .namespaces
            .iter()
            .map(|ns| 18 + ns.len())
            .sum::<usize>()
            + self.entries.len() * 18
            + self.bytes.len()
    }

    /// The entries of namespace `ns` (an index).
    fn of(&self, ns: usize) -> Option<&[Entry]> {
        let start = self.entries.partition_point(|e| e.namespace < ns);
        let end = self.entries.partition_point(|e| e.namespace <= ns);
        self.entries.get(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_maps_and_duplicates() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        let c = [3u8; 48];
        let mut entries = vec![(1, 7, &a[..]), (0, 3, &b[..]), (1, 2, &c[..])];
        let digests = Digests::new(
            vec!["ns.b".into(), "ns.a".into(), "empty".into()],
            &mut entries,
        )
        .unwrap();
        assert_eq!(digests.get("ns.b", 3), Some(&b[..]));
        assert_eq!(digests.get("ns.a", 7), Some(&a[..]));
        assert_eq!(digests.get("ns.a", 2), Some(&c[..]));
        assert_eq!(digests.get("ns.a", 3), None);
        assert_eq!(digests.get("empty", 0), None);
        assert_eq!(digests.get("other", 7), None);
        let maps = digests.to_maps();
        assert_eq!(maps.len(), 3);
        assert!(maps["empty"].is_empty());
        assert_eq!(maps["ns.a"].keys().copied().collect::<Vec<_>>(), [2, 7]);

        // The same digests given in another order are equal.
        let mut again = vec![(0, 2, &c[..]), (2, 3, &b[..]), (0, 7, &a[..])];
        let same = Digests::new(
            vec!["ns.a".into(), "empty".into(), "ns.b".into()],
            &mut again,
        )
        .unwrap();
        assert_eq!(same, digests);

        // Already in order (the fast path) gives the same as out of order.
        let mut ordered = vec![(1, 2, &c[..]), (1, 7, &a[..]), (2, 3, &b[..])];
        let names = vec!["empty".into(), "ns.a".into(), "ns.b".into()];
        assert_eq!(Digests::new(names, &mut ordered).unwrap(), digests);

        // As issuing lays them out, namespaces in order or not.
        let (d0, d1, d2) = ([10u8; 32], [11u8; 32], [12u8; 32]);
        let sorted = Digests::from_permutations(
            vec!["ns.a".into(), "ns.b".into()],
            &[2, 1],
            [d0, d1, d2].concat(),
            32,
        )
        .unwrap();
        assert_eq!(sorted.get("ns.a", 0), Some(&d0[..]));
        assert_eq!(sorted.get("ns.a", 1), Some(&d1[..]));
        assert_eq!(sorted.get("ns.b", 0), Some(&d2[..]));
        let unsorted = Digests::from_permutations(
            vec!["ns.b".into(), "ns.a".into()],
            &[1, 2],
            [d2, d0, d1].concat(),
            32,
        )
        .unwrap();
        assert_eq!(unsorted, sorted);
        let mut same = vec![(0, 1, &d1[..]), (1, 0, &d2[..]), (0, 0, &d0[..])];
        let general = Digests::new(vec!["ns.a".into(), "ns.b".into()], &mut same).unwrap();
        assert_eq!(general, sorted);
        assert_eq!(
            Digests::from_permutations(
                vec!["a".into(), "a".into()],
                &[1, 1],
                [d0, d1].concat(),
                32
            ),
            Err(EncodeError::DuplicateMapKey)
        );
        // A layout that does not add up is an internal error, never a short or empty digest.
        for (names, counts, len) in [
            (vec!["a".to_owned()], vec![2usize], 32usize),
            (vec!["b".to_owned(), "a".to_owned()], vec![1], 32),
            (vec!["b".to_owned(), "a".to_owned()], vec![1, 1], 31),
            (vec!["a".to_owned()], vec![1], 0),
        ] {
            assert_eq!(
                Digests::from_permutations(
                    names,
                    &counts,
                    [d0, d1].concat()[..len.max(1)].to_vec(),
                    len
                ),
                Err(EncodeError::Internal)
            );
        }

        let mut twice = vec![(0, 1, &a[..]), (0, 1, &b[..])];
        assert_eq!(Digests::new(vec!["a".into()], &mut twice), Err(Duplicate));
        let mut none = vec![];
        assert_eq!(
            Digests::new(vec!["a".into(), "a".into()], &mut none),
            Err(Duplicate)
        );
    }
}
