//! Processing of the Issuer-signed JWT payload with Disclosures (RFC 9901 §7.1 step 3-5).
//!
//! One pass replaces every digest that has a Disclosure with the disclosed claim, drops the rest,
//! and enforces the structural rules: `_sd` is an array of strings, `...` is the only key of an
//! array-element object, no digest occurs twice, every Disclosure is referenced exactly once and
//! has the shape its reference requires, no disclosed name collides with a plain one.

use serde_json::Map;
use serde_json::Value;

use crate::SdJwtError;
use crate::disclosure;
use crate::hash::DigestText;
use crate::hash::SdAlg;
use crate::path::ClaimPath;
use crate::path::PathElement;

/// Deepest nesting of objects/arrays/disclosures processed. Deeper input is rejected, so hostile
/// input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// Where a Disclosure ended up in the processed payload.
#[derive(Clone, Debug, PartialEq)]
pub struct DisclosureNode {
    /// Path of the disclosed claim or array element in the processed payload.
    pub path: ClaimPath,
    /// The Disclosure whose value contains this one's digest, if any.
    pub parent: Option<usize>,
}

pub(crate) struct Processed {
    pub(crate) sd_alg: SdAlg,
    pub(crate) claims: Map<String, Value>,
    pub(crate) nodes: Vec<DisclosureNode>,
}

struct Entry {
    name: Option<String>,
    value: Option<Value>,
}

struct Processor {
    entries: Vec<Entry>,
    /// `(digest, disclosure index)`, sorted by digest: a binary search finds a disclosure
    /// without hashing attacker- or issuer-chosen strings.
    by_digest: Vec<(DigestText, usize)>,
    /// Every digest met in the payload (decoys included), checked for repeats once the walk is
    /// done by sorting; a repeat of a disclosed digest is caught at once in [`Self::entry`].
    seen: Vec<(u64, String)>,
    nodes: Vec<Option<DisclosureNode>>,
    path: Vec<PathElement>,
    parent: Option<usize>,
}

/// Decodes `disclosures` and processes `payload` with them.
pub(crate) fn process<'d, I>(
    mut payload: Map<String, Value>,
    disclosures: I,
) -> Result<Processed, SdJwtError>
where
    I: IntoIterator<Item = &'d str>,
    I::IntoIter: Clone + ExactSizeIterator,
{
    let disclosures = disclosures.into_iter();
    let sd_alg = match payload.remove("_sd_alg") {
        None => SdAlg::Sha256,
        Some(Value::String(name)) => SdAlg::from_name(&name)?,
        Some(_) => {
            return Err(SdJwtError::InvalidSdStructure {
                key: "_sd_alg",
                reason: "not a string",
            });
        }
    };
    let mut by_digest: Vec<(DigestText, usize)> = Vec::with_capacity(disclosures.len());
    for (index, encoded) in disclosures.clone().enumerate() {
        let digest = DigestText::of(sd_alg, encoded.as_bytes()).ok_or(SdJwtError::Internal(
            "a disclosure digest does not fit its buffer",
        ))?;
        by_digest.push((digest, index));
    }
    by_digest.sort_unstable();
    // The first disclosure (in presentation order) whose digest an earlier one already has.
    let first_duplicate = by_digest
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .map(|w| w[1].1)
        .min();
    let mut entries = Vec::with_capacity(disclosures.len());
    let mut buf = Vec::with_capacity(256);
    for (index, encoded) in disclosures.enumerate() {
        if first_duplicate == Some(index) {
            return Err(SdJwtError::DuplicateDisclosure { index });
        }
        let (name, value) = disclosure::decode_for_processing(encoded, index, &mut buf)?;
        entries.push(Entry {
            name,
            value: Some(value),
        });
    }
    let mut p = Processor {
        nodes: vec![None; entries.len()],
        entries,
        by_digest,
        seen: Vec::with_capacity(64),
        path: Vec::new(),
        parent: None,
    };
    p.object(&mut payload, 0)?;
    // RFC 9901 §7.1 step 4: no digest twice, decoys included.
    p.seen.sort_unstable();
    if let Some(w) = p.seen.windows(2).find(|w| w[0] == w[1]) {
        return Err(SdJwtError::DuplicateDigest(w[0].1.clone()));
    }
    let mut nodes = Vec::with_capacity(p.nodes.len());
    for (index, node) in p.nodes.into_iter().enumerate() {
        nodes.push(node.ok_or(SdJwtError::UnreferencedDisclosure { index })?);
    }
    Ok(Processed {
        sd_alg,
        claims: payload,
        nodes,
    })
}

impl Processor {
    fn value(&mut self, value: &mut Value, depth: usize) -> Result<(), SdJwtError> {
        match value {
            Value::Object(map) => self.object(map, depth + 1),
            Value::Array(items) => self.array(items, depth + 1),
            _ => Ok(()),
        }
    }

    fn check_depth(depth: usize) -> Result<(), SdJwtError> {
        if depth > MAX_DEPTH {
            return Err(SdJwtError::TooLarge {
                what: "nesting depth",
                actual: depth,
                limit: MAX_DEPTH,
            });
        }
        Ok(())
    }

    /// Takes the disclosure a digest refers to, if one was presented; `None` for decoys and
    /// undisclosed claims. Enforces "no digest twice" (RFC 9901 §7.1 step 4).
    fn take(&mut self, digest: String) -> Result<Option<usize>, SdJwtError> {
        let key = DigestText::prefix_of(digest.as_bytes());
        // A string longer than any digest is no disclosure's digest.
        let found = DigestText::from_text(&digest)
            .and_then(|probe| self.by_digest.binary_search_by(|(d, _)| d.cmp(&probe)).ok())
            .and_then(|i| self.by_digest.get(i))
            .map(|&(_, index)| index);
        match found {
            // Taken before: this digest occurs twice.
            Some(index) if self.entries.get(index).is_some_and(|e| e.value.is_none()) => {
                Err(SdJwtError::DuplicateDigest(digest))
            }
            _ => {
                self.seen.push((key, digest));
                Ok(found)
            }
        }
    }

    fn object(&mut self, map: &mut Map<String, Value>, depth: usize) -> Result<(), SdJwtError> {
        Self::check_depth(depth)?;
        if map.contains_key("...") {
            return Err(SdJwtError::InvalidSdStructure {
                key: "...",
                reason: "only allowed as the single key of an array element",
            });
        }
        if depth > 0 && map.contains_key("_sd_alg") {
            return Err(SdJwtError::InvalidSdStructure {
                key: "_sd_alg",
                reason: "only allowed at the top level of the payload",
            });
        }
        let sd = map.remove("_sd");
        for (key, v) in map.iter_mut() {
            // Only containers can hold digests; scalars need no path and no visit.
            if v.is_object() || v.is_array() {
                self.path.push(PathElement::Key(key.clone()));
                self.value(v, depth)?;
                self.path.pop();
            }
        }
        let Some(sd) = sd else { return Ok(()) };
        let Value::Array(digests) = sd else {
            return Err(SdJwtError::InvalidSdStructure {
                key: "_sd",
                reason: "not an array",
            });
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(SdJwtError::InvalidSdStructure {
                    key: "_sd",
                    reason: "contains a value that is not a string",
                });
            };
            let Some(index) = self.take(digest)? else {
                continue;
            };
            let (name, mut value) = self.entry(index)?;
            let Some(name) = name else {
                return Err(SdJwtError::DisclosureShapeMismatch {
                    index,
                    reason: "an array-element disclosure is referenced from `_sd`",
                });
            };
            if map.contains_key(&name) {
                return Err(SdJwtError::ClaimNameCollision(name));
            }
            self.descend(index, PathElement::Key(name.clone()), &mut value, depth)?;
            map.insert(name, value);
        }
        Ok(())
    }

    fn array(&mut self, items: &mut Vec<Value>, depth: usize) -> Result<(), SdJwtError> {
        Self::check_depth(depth)?;
        let old = std::mem::take(items);
        items.reserve(old.len());
        for mut item in old {
            let digest = match &mut item {
                Value::Object(m) if m.contains_key("...") => {
                    if m.len() != 1 {
                        return Err(SdJwtError::InvalidSdStructure {
                            key: "...",
                            reason: "an array-element digest object must have no other key",
                        });
                    }
                    match m.remove("...") {
                        Some(Value::String(d)) => Some(d),
                        _ => {
                            return Err(SdJwtError::InvalidSdStructure {
                                key: "...",
                                reason: "not a string",
                            });
                        }
                    }
                }
                _ => None,
            };
            match digest {
                None => {
                    if item.is_object() || item.is_array() {
                        self.path.push(PathElement::Index(items.len()));
                        self.value(&mut item, depth)?;
                        self.path.pop();
                    }
                    items.push(item);
                }
                Some(digest) => {
                    if let Some(index) = self.take(digest)? {
                        let (name, mut value) = self.entry(index)?;
                        if name.is_some() {
                            return Err(SdJwtError::DisclosureShapeMismatch {
                                index,
                                reason: "an object-property disclosure is referenced from an array",
                            });
                        }
                        self.descend(index, PathElement::Index(items.len()), &mut value, depth)?;
                        items.push(value);
                    }
                }
            }
        }
        Ok(())
    }

    fn entry(&mut self, index: usize) -> Result<(Option<String>, Value), SdJwtError> {
        let entry = self
            .entries
            .get_mut(index)
            .ok_or(SdJwtError::UnreferencedDisclosure { index })?;
        // `take` already guarantees each digest once, and digests are unique per disclosure,
        // so a disclosure can only be taken once.
        let value = entry
            .value
            .take()
            .ok_or(SdJwtError::DuplicateDisclosure { index })?;
        Ok((entry.name.take(), value))
    }

    /// Records where disclosure `index` landed (`last` is its key or array index under the
    /// current path) and processes its value.
    fn descend(
        &mut self,
        index: usize,
        last: PathElement,
        value: &mut Value,
        depth: usize,
    ) -> Result<(), SdJwtError> {
        let container = value.is_object() || value.is_array();
        let mut path = Vec::with_capacity(self.path.len() + 1);
        path.extend_from_slice(&self.path);
        if container {
            path.push(last.clone());
            self.path.push(last);
        } else {
            path.push(last);
        }
        if let Some(node) = self.nodes.get_mut(index) {
            *node = Some(DisclosureNode {
                path: ClaimPath(path),
                parent: self.parent,
            });
        }
        if !container {
            // Scalars hold no digests.
            return Ok(());
        }
        let outer = self.parent.replace(index);
        let result = self.value(value, depth + 1);
        self.parent = outer;
        self.path.pop();
        result
    }
}

#[cfg(test)]
mod tests {
    use eudi_trust::b64;
    use serde_json::json;

    use super::*;

    fn disc(v: Value) -> (String, String) {
        let enc = b64::encode(serde_json::to_vec(&v).unwrap());
        let digest = SdAlg::Sha256.digest_b64(enc.as_bytes());
        (enc, digest)
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn recursive_and_arrays() {
        let (street, street_d) = disc(json!(["s1", "street", "Main"]));
        let (addr, addr_d) = disc(json!(["s2", "address", {"_sd": [street_d], "country": "DK"}]));
        let (dk, dk_d) = disc(json!(["s3", "DK"]));
        let payload = obj(json!({
            "_sd": [addr_d, "decoydecoydecoy"],
            "_sd_alg": "sha-256",
            "nat": [{"...": dk_d}, {"...": "undisclosed"}, "SE"],
        }));
        let p = process(payload, [street.as_str(), addr.as_str(), dk.as_str()]).unwrap();
        assert_eq!(
            Value::Object(p.claims),
            json!({"nat": ["DK", "SE"], "address": {"country": "DK", "street": "Main"}})
        );
        assert_eq!(p.nodes[0].path, ClaimPath::keys(["address", "street"]));
        assert_eq!(p.nodes[0].parent, Some(1));
        assert_eq!(p.nodes[1].parent, None);
        assert_eq!(p.nodes[2].path, ClaimPath::keys(["nat"]).index(0));
    }

    #[test]
    fn unreferenced_disclosure() {
        let (d, _) = disc(json!(["s", "a", 1]));
        let err = process(obj(json!({"_sd": []})), [d.as_str()]).err();
        assert_eq!(err, Some(SdJwtError::UnreferencedDisclosure { index: 0 }));
    }

    #[test]
    fn duplicate_disclosure() {
        let (d, digest) = disc(json!(["s", "a", 1]));
        let err = process(obj(json!({"_sd": [digest]})), [d.as_str(), d.as_str()]).err();
        assert_eq!(err, Some(SdJwtError::DuplicateDisclosure { index: 1 }));
    }

    #[test]
    fn duplicate_digest() {
        let (d, digest) = disc(json!(["s", "a", 1]));
        let err = process(
            obj(json!({"_sd": [digest.clone()], "x": {"_sd": [digest]}})),
            [d.as_str()],
        );
        assert!(matches!(err, Err(SdJwtError::DuplicateDigest(_))));
        // Decoys count too.
        let err = process(obj(json!({"_sd": ["same", "same"]})), [] as [&str; 0]);
        assert!(matches!(err, Err(SdJwtError::DuplicateDigest(_))));
    }

    #[test]
    fn shape_mismatches() {
        let (el, el_d) = disc(json!(["s", "v"]));
        let err = process(obj(json!({"_sd": [el_d]})), [el.as_str()]).err();
        assert!(matches!(
            err,
            Some(SdJwtError::DisclosureShapeMismatch { .. })
        ));
        let (prop, prop_d) = disc(json!(["s", "k", "v"]));
        let err = process(obj(json!({"a": [{"...": prop_d}]})), [prop.as_str()]).err();
        assert!(matches!(
            err,
            Some(SdJwtError::DisclosureShapeMismatch { .. })
        ));
    }

    #[test]
    fn name_collision() {
        let (d, digest) = disc(json!(["s", "a", 1]));
        let err = process(obj(json!({"_sd": [digest], "a": 2})), [d.as_str()]).err();
        assert_eq!(err, Some(SdJwtError::ClaimNameCollision("a".into())));
    }

    #[test]
    fn structural_misuse() {
        for bad in [
            json!({"_sd": "x"}),
            json!({"_sd": [1]}),
            json!({"a": {"...": "x"}}),
            json!({"a": [{"...": "x", "b": 1}]}),
            json!({"a": [{"...": 1}]}),
            json!({"a": {"_sd_alg": "sha-256"}}),
            json!({"_sd_alg": 5}),
            json!({"_sd_alg": "md5"}),
        ] {
            assert!(process(obj(bad.clone()), [] as [&str; 0]).is_err(), "{bad}");
        }
    }

    #[test]
    fn depth_limit() {
        let mut v = json!(1);
        for _ in 0..(MAX_DEPTH + 2) {
            v = json!({ "a": v });
        }
        assert!(matches!(
            process(obj(v), [] as [&str; 0]),
            Err(SdJwtError::TooLarge {
                what: "nesting depth",
                ..
            })
        ));
    }
}
