//! Claim paths: the addressing scheme of SD-JWT VC §5.6.1.1 and of DCQL (OpenID4VP 1.0 §7).
//!
//! A path is a list of elements: a string selects an object member, an integer an array element,
//! and `null` every element of an array. The issuer uses paths to say what is selectively
//! disclosable and the holder to say what to disclose, so both speak the verifier's language.

use std::fmt;

use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

/// One step of a [`ClaimPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathElement {
    /// An object member.
    Key(String),
    /// An array element, by position.
    Index(usize),
    /// Every element of an array (`null` in JSON).
    All(AllElements),
}

/// The JSON `null` of a path: every element of an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "()", into = "()")]
pub struct AllElements;

impl From<()> for AllElements {
    fn from((): ()) -> Self {
        Self
    }
}
impl From<AllElements> for () {
    fn from(_: AllElements) -> Self {}
}

/// A path from the root of the claims to one claim.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClaimPath(pub Vec<PathElement>);

impl ClaimPath {
    /// The root (empty path).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// A path of object member names only.
    pub fn keys<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(
            keys.into_iter()
                .map(|k| PathElement::Key(k.into()))
                .collect(),
        )
    }

    /// This path extended by one member name.
    pub fn key(&self, key: &str) -> Self {
        let mut next = self.0.clone();
        next.push(PathElement::Key(key.to_owned()));
        Self(next)
    }

    /// This path extended by one array index.
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.0.clone();
        next.push(PathElement::Index(index));
        Self(next)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether this is the root.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `self` (a concrete path, no wildcards) is matched by the first
    /// `pattern.len()` elements of `pattern` and `pattern` is not longer: i.e. `pattern`
    /// selects `self` or one of its ancestors' descendants down to `self`.
    ///
    /// `pattern` may contain [`PathElement::All`]; `self` is concrete.
    pub fn starts_with_pattern(&self, pattern: &ClaimPath) -> bool {
        pattern.0.len() <= self.0.len()
            && pattern
                .0
                .iter()
                .zip(&self.0)
                .all(|(p, c)| element_matches(p, c))
    }

    /// Whether `self` (concrete) is an ancestor of, or equal to, something `pattern` selects.
    pub fn is_prefix_of_pattern(&self, pattern: &ClaimPath) -> bool {
        self.0.len() <= pattern.0.len()
            && self
                .0
                .iter()
                .zip(&pattern.0)
                .all(|(c, p)| element_matches(p, c))
    }

    /// Looks the path up in `value`; with wildcards, returns every match.
    pub fn select<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        let mut current = vec![value];
        for element in &self.0 {
            let mut next = Vec::new();
            for v in current {
                match (element, v) {
                    (PathElement::Key(k), Value::Object(map)) => next.extend(map.get(k)),
                    (PathElement::Index(i), Value::Array(items)) => next.extend(items.get(*i)),
                    (PathElement::All(_), Value::Array(items)) => next.extend(items.iter()),
                    _ => {}
                }
            }
            current = next;
        }
        current
    }
}

fn element_matches(pattern: &PathElement, concrete: &PathElement) -> bool {
    match (pattern, concrete) {
        (PathElement::All(_), PathElement::Index(_)) => true,
        (p, c) => p == c,
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match e {
                PathElement::Key(k) => write!(f, "{k:?}")?,
                PathElement::Index(n) => write!(f, "{n}")?,
                PathElement::All(_) => f.write_str("null")?,
            }
        }
        f.write_str("]")
    }
}

impl<S: Into<String>> FromIterator<S> for ClaimPath {
    fn from_iter<T: IntoIterator<Item = S>>(iter: T) -> Self {
        Self::keys(iter)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_form_is_the_dcql_form() {
        let p: ClaimPath = serde_json::from_value(json!(["nationalities", null, 0, "x"])).unwrap();
        assert_eq!(
            p.0,
            vec![
                PathElement::Key("nationalities".into()),
                PathElement::All(AllElements),
                PathElement::Index(0),
                PathElement::Key("x".into())
            ]
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!(["nationalities", null, 0, "x"])
        );
        assert!(serde_json::from_value::<ClaimPath>(json!([1.5])).is_err());
        assert!(serde_json::from_value::<ClaimPath>(json!([-1])).is_err());
    }

    #[test]
    fn matching() {
        let concrete = ClaimPath::keys(["a"]).index(2).key("b");
        let pattern = ClaimPath(vec![
            PathElement::Key("a".into()),
            PathElement::All(AllElements),
        ]);
        assert!(concrete.starts_with_pattern(&pattern));
        assert!(!pattern.starts_with_pattern(&concrete));
        assert!(ClaimPath::keys(["a"]).is_prefix_of_pattern(&pattern));
        assert!(!ClaimPath::keys(["b"]).is_prefix_of_pattern(&pattern));
    }

    #[test]
    fn select_with_wildcards() {
        let v = json!({"a": [{"b": 1}, {"b": 2}, {"c": 3}]});
        let p: ClaimPath = serde_json::from_value(json!(["a", null, "b"])).unwrap();
        assert_eq!(p.select(&v), vec![&json!(1), &json!(2)]);
        assert_eq!(p.to_string(), r#"["a",null,"b"]"#);
    }
}
