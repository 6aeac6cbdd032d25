//! The bounded CBOR decoder (RFC 8949) that remembers the exact bytes of every item.
//!
//! mdoc digests and signatures are computed over embedded CBOR exactly as the issuer encoded it
//! (`#6.24(bstr .cbor …)`, ISO/IEC 18013-5 §8.3.2.1.2.2), and real-world issuers use
//! non-preferred encodings such as a map header `b9 0003`. So this decoder keeps, for each data
//! item, the slice of input it was decoded from; nothing is ever hashed from a re-encoding.
//!
//! # Limits
//!
//! Every decode works against a [`Budget`] shared by all nested decodes of one input:
//!
//! * the input is at most [`MAX_INPUT_LEN`] bytes;
//! * arrays, maps and tags nest at most [`MAX_DEPTH`] levels (the decoder recurses, so this also
//!   bounds its stack);
//! * at most [`MAX_ITEMS`] data items in all, so a few megabytes of one-byte items cannot turn
//!   into gigabytes of decoded tree;
//! * a declared length is compared with the bytes that remain *before* anything is allocated:
//!   a byte string, array or map header claiming 2^60 entries fails at once, and containers
//!   never pre-allocate more than a small constant.
//!
//! (`ciborium` 0.2 itself does not pre-allocate by declared length either: its `Value` visitor
//! grows vectors item by item and reads strings in 4 KiB chunks, and it stops at 256 levels of
//! recursion. It has no item budget and no way to report the bytes an item came from, hence this
//! decoder; `ciborium::Value` is only what [`Item::to_value`] produces, after the limits held.)
//!
//! Definite lengths are required where a specification requires them ([`decode_definite`]):
//! the PID rulebook (§ "Encoding of PID attributes") makes every CBOR structure of a PID use
//! definite lengths, so an indefinite-length header there is rejected as malformed.

use std::borrow::Cow;

use ciborium::Value;
use ciborium::value::Integer;

/// Largest input accepted, in bytes (16 MiB). A DeviceResponse with a few documents and
/// portraits is well under 1 MiB.
pub const MAX_INPUT_LEN: usize = 16 * 1024 * 1024;

/// Deepest nesting of arrays, maps and tags accepted. mdoc structures need about 12 levels,
/// element values a few more.
pub const MAX_DEPTH: usize = 32;

/// Most data items (map keys and values, array elements, tags, scalars) one input may hold,
/// counting the embedded CBOR inside `#6.24` byte strings.
pub const MAX_ITEMS: usize = 1 << 18;

/// Containers never reserve more than this many entries up front.
const MAX_PREALLOC: usize = 64;

/// Why bytes could not be decoded as CBOR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborError {
    /// The input ends inside a data item.
    #[error("CBOR is truncated at byte {offset}")]
    Truncated {
        /// Where more bytes were needed.
        offset: usize,
    },
    /// A header declares more bytes or entries than the input has left.
    #[error(
        "CBOR header at byte {offset} declares a length of {declared}, more than the {remaining} bytes left"
    )]
    LengthExceedsInput {
        /// The header's position.
        offset: usize,
        /// The declared length (bytes, or entries for arrays and maps).
        declared: u64,
        /// Bytes left after the header.
        remaining: usize,
    },
    /// Arrays, maps and tags nest deeper than [`MAX_DEPTH`].
    #[error("CBOR nests deeper than {max} levels at byte {offset}")]
    TooDeep {
        /// Where the limit was crossed.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_ITEMS`] data items.
    #[error("CBOR has more than {max} data items")]
    TooManyItems {
        /// The limit.
        max: usize,
    },
    /// The input is longer than [`MAX_INPUT_LEN`].
    #[error("input is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// The input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes follow the one data item that was expected.
    #[error("{count} trailing bytes after the CBOR data item")]
    TrailingBytes {
        /// How many bytes are left over.
        count: usize,
    },
    /// An initial byte or additional information value RFC 8949 reserves or forbids here.
    #[error("malformed CBOR at byte {offset}: {reason}")]
    Malformed {
        /// The offending byte.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A text string is not valid UTF-8 (RFC 8949 §3.1 major type 3).
    #[error("CBOR text string at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// The string's position.
        offset: usize,
    },
    /// An indefinite-length item where definite lengths are required ([`decode_definite`]).
    #[error(
        "CBOR item at byte {offset} has an indefinite length where definite lengths are required"
    )]
    IndefiniteLength {
        /// The item's position.
        offset: usize,
    },
    /// A map has two equal keys (RFC 8949 §5.6: not valid CBOR for this crate's users).
    #[error("CBOR map has a key twice")]
    DuplicateKey,
}

impl CborError {
    /// Whether this is a resource limit (size, depth, item count) rather than malformed input.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            Self::TooLarge { .. } | Self::TooDeep { .. } | Self::TooManyItems { .. }
        )
    }
}

/// The item budget shared by the decodes of one input (the outer structure and the CBOR
/// embedded in its byte strings count against the same limit).
#[derive(Debug)]
pub struct Budget {
    items_left: usize,
    max: usize,
}

impl Budget {
    /// A budget of [`MAX_ITEMS`] data items.
    pub fn new() -> Self {
        Self::with_max_items(MAX_ITEMS)
    }

    /// A budget of `max` data items (at most [`MAX_ITEMS`] are ever allowed).
    pub fn with_max_items(max: usize) -> Self {
        let max = max.min(MAX_ITEMS);
        Self {
            items_left: max,
            max,
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::new()
    }
}

/// One decoded data item and the exact bytes it was decoded from.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    /// The item's encoding, header included, exactly as in the input.
    pub raw: &'a [u8],
    /// What was decoded.
    pub kind: Kind<'a>,
}

/// The decoded content of an [`Item`].
#[derive(Clone, Debug)]
pub enum Kind<'a> {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is `-1 - n`.
    Nint(u64),
    /// Major type 2 (definite: borrowed; indefinite: the chunks concatenated).
    Bytes(Cow<'a, [u8]>),
    /// Major type 3.
    Text(Cow<'a, str>),
    /// Major type 4.
    Array(Vec<Item<'a>>),
    /// Major type 5, entries in input order (duplicates are found by the lookups).
    Map(Vec<(Item<'a>, Item<'a>)>),
    /// Major type 6.
    Tag(u64, Box<Item<'a>>),
    /// `false` / `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// Other simple values.
    Simple,
    /// Half, single and double precision floats.
    Float(f64),
}

/// Decodes `bytes` as exactly one data item.
pub fn decode<'a>(bytes: &'a [u8], budget: &mut Budget) -> Result<Item<'a>, CborError> {
    decode_inner(bytes, budget, false)
}

/// [`decode`], rejecting any indefinite-length array, map or string
/// ([`CborError::IndefiniteLength`]).
pub fn decode_definite<'a>(bytes: &'a [u8], budget: &mut Budget) -> Result<Item<'a>, CborError> {
    decode_inner(bytes, budget, true)
}

/// Decodes `bytes` as exactly one data item within a budget of `max_items`, with no map holding
/// a key twice anywhere, into a `ciborium::Value` (for callers that read a tree, not bytes).
pub fn decode_value(bytes: &[u8], max_items: usize) -> Result<Value, CborError> {
    let mut budget = Budget::with_max_items(max_items);
    let item = decode(bytes, &mut budget)?;
    check_unique_keys_deep(&item).map_err(|_| CborError::DuplicateKey)?;
    item.to_value()
        .map_err(|reason| CborError::Malformed { offset: 0, reason })
}

fn decode_inner<'a>(
    bytes: &'a [u8],
    budget: &mut Budget,
    definite_only: bool,
) -> Result<Item<'a>, CborError> {
    if bytes.len() > MAX_INPUT_LEN {
        return Err(CborError::TooLarge {
            len: bytes.len(),
            max: MAX_INPUT_LEN,
        });
    }
    let mut decoder = Decoder {
        bytes,
        pos: 0,
        budget,
        definite_only,
    };
    let item = decoder.item(0)?;
    let count = bytes.len().saturating_sub(decoder.pos);
    if count != 0 {
        return Err(CborError::TrailingBytes { count });
    }
    Ok(item)
}

struct Decoder<'a, 'b> {
    bytes: &'a [u8],
    pos: usize,
    budget: &'b mut Budget,
    definite_only: bool,
}

/// A decoded initial byte and argument.
struct Head {
    offset: usize,
    major: u8,
    /// `None` for an indefinite length (additional information 31).
    arg: Option<u64>,
    info: u8,
}

impl<'a> Decoder<'a, '_> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or(CborError::Truncated { offset: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, len: u64, offset: usize) -> Result<&'a [u8], CborError> {
        let remaining = self.remaining();
        let n = usize::try_from(len)
            .ok()
            .filter(|n| *n <= remaining)
            .ok_or(CborError::LengthExceedsInput {
                offset,
                declared: len,
                remaining,
            })?;
        let start = self.pos;
        self.pos += n;
        self.bytes
            .get(start..self.pos)
            .ok_or(CborError::Truncated { offset: start })
    }

    fn head(&mut self) -> Result<Head, CborError> {
        let offset = self.pos;
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let width = match info {
            0..=23 => {
                return Ok(Head {
                    offset,
                    major,
                    arg: Some(u64::from(info)),
                    info,
                });
            }
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => {
                return Ok(Head {
                    offset,
                    major,
                    arg: None,
                    info,
                });
            }
            _ => {
                return Err(CborError::Malformed {
                    offset,
                    reason: "reserved additional information (28-30)",
                });
            }
        };
        let field = self.take(width, offset).map_err(|_| CborError::Truncated {
            offset: self.bytes.len(),
        })?;
        let arg = field.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        Ok(Head {
            offset,
            major,
            arg: Some(arg),
            info,
        })
    }

    fn count_item(&mut self) -> Result<(), CborError> {
        self.budget.items_left =
            self.budget
                .items_left
                .checked_sub(1)
                .ok_or(CborError::TooManyItems {
                    max: self.budget.max,
                })?;
        Ok(())
    }

    fn item(&mut self, depth: usize) -> Result<Item<'a>, CborError> {
        let start = self.pos;
        let head = self.head()?;
        if head.major == 7 && head.info == 31 {
            return Err(CborError::Malformed {
                offset: head.offset,
                reason: "break outside an indefinite-length item",
            });
        }
        self.count_item()?;
        if self.definite_only && head.arg.is_none() {
            return Err(CborError::IndefiniteLength {
                offset: head.offset,
            });
        }
        let kind = self.content(&head, depth)?;
        let raw = self
            .bytes
            .get(start..self.pos)
            .ok_or(CborError::Truncated { offset: start })?;
        Ok(Item { raw, kind })
    }

    fn nested(&self, offset: usize, depth: usize) -> Result<usize, CborError> {
        let depth = depth + 1;
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep {
                offset,
                max: MAX_DEPTH,
            });
        }
        Ok(depth)
    }

    fn content(&mut self, head: &Head, depth: usize) -> Result<Kind<'a>, CborError> {
        let offset = head.offset;
        Ok(match (head.major, head.arg) {
            (0, Some(n)) => Kind::Uint(n),
            (1, Some(n)) => Kind::Nint(n),
            (2, Some(len)) => Kind::Bytes(Cow::Borrowed(self.take(len, offset)?)),
            (2, None) => Kind::Bytes(Cow::Owned(self.chunks(2, offset)?)),
            (3, Some(len)) => {
                let raw = self.take(len, offset)?;
                Kind::Text(Cow::Borrowed(
                    std::str::from_utf8(raw).map_err(|_| CborError::InvalidUtf8 { offset })?,
                ))
            }
            (3, None) => {
                let raw = self.chunks(3, offset)?;
                Kind::Text(Cow::Owned(
                    String::from_utf8(raw).map_err(|_| CborError::InvalidUtf8 { offset })?,
                ))
            }
            (4, len) => {
                let depth = self.nested(offset, depth)?;
                let mut items = Vec::with_capacity(self.prealloc(len, 1, offset)?);
                match len {
                    Some(n) => {
                        for _ in 0..n {
                            items.push(self.item(depth)?);
                        }
                    }
                    None => {
                        while !self.at_break()? {
                            items.push(self.item(depth)?);
                        }
                    }
                }
                Kind::Array(items)
            }
            (5, len) => {
                let depth = self.nested(offset, depth)?;
                let mut entries = Vec::with_capacity(self.prealloc(len, 2, offset)?);
                match len {
                    Some(n) => {
                        for _ in 0..n {
                            let key = self.item(depth)?;
                            let value = self.item(depth)?;
                            entries.push((key, value));
                        }
                    }
                    None => {
                        while !self.at_break()? {
                            let key = self.item(depth)?;
                            let value = self.item(depth)?;
                            entries.push((key, value));
                        }
                    }
                }
                Kind::Map(entries)
            }
            (6, Some(tag)) => {
                let depth = self.nested(offset, depth)?;
                Kind::Tag(tag, Box::new(self.item(depth)?))
            }
            (7, Some(v)) => match head.info {
                20 => Kind::Bool(false),
                21 => Kind::Bool(true),
                22 => Kind::Null,
                23 => Kind::Undefined,
                0..=19 => Kind::Simple,
                24 if v >= 32 => Kind::Simple,
                24 => {
                    return Err(CborError::Malformed {
                        offset,
                        reason: "two-byte simple value below 32 (RFC 8949 §3.3)",
                    });
                }
                25 => Kind::Float(f16_to_f64(u16::try_from(v).unwrap_or(0))),
                26 => Kind::Float(f64::from(f32::from_bits(u32::try_from(v).unwrap_or(0)))),
                _ => Kind::Float(f64::from_bits(v)),
            },
            _ => {
                return Err(CborError::Malformed {
                    offset,
                    reason: "indefinite length on a type that has none",
                });
            }
        })
    }

    /// How many entries to reserve for a container: the declared count must fit in the bytes
    /// left (each entry takes at least one byte), and at most [`MAX_PREALLOC`] are reserved.
    fn prealloc(
        &self,
        len: Option<u64>,
        per_entry: u64,
        offset: usize,
    ) -> Result<usize, CborError> {
        let Some(n) = len else {
            return Ok(0);
        };
        let remaining = self.remaining();
        let needed = n.saturating_mul(per_entry);
        if usize::try_from(needed).map_or(true, |needed| needed > remaining) {
            return Err(CborError::LengthExceedsInput {
                offset,
                declared: n,
                remaining,
            });
        }
        Ok(usize::try_from(n).unwrap_or(0).min(MAX_PREALLOC))
    }

    /// Consumes a break byte if one is next.
    fn at_break(&mut self) -> Result<bool, CborError> {
        match self.bytes.get(self.pos) {
            Some(0xff) => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(CborError::Truncated { offset: self.pos }),
        }
    }

    /// The chunks of an indefinite-length byte or text string (RFC 8949 §3.2.3), concatenated.
    fn chunks(&mut self, major: u8, offset: usize) -> Result<Vec<u8>, CborError> {
        let mut out = Vec::new();
        while !self.at_break()? {
            let chunk = self.head()?;
            match (chunk.major == major, chunk.arg) {
                (true, Some(len)) => out.extend_from_slice(self.take(len, chunk.offset)?),
                _ => {
                    return Err(CborError::Malformed {
                        offset,
                        reason: "indefinite-length string chunk of another type or length",
                    });
                }
            }
        }
        Ok(out)
    }
}

/// IEEE 754 half precision to double (RFC 8949 Appendix D).
fn f16_to_f64(half: u16) -> f64 {
    let exp = (half >> 10) & 0x1f;
    let mant = f64::from(half & 0x3ff);
    let magnitude = match exp {
        0 => mant * (-24f64).exp2(),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (mant + 1024.0) * f64::from(i32::from(exp) - 25).exp2(),
    };
    if half & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

impl<'a> Item<'a> {
    /// The text, if this is a text string.
    pub fn as_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The value, if this is an unsigned integer.
    pub fn as_uint(&self) -> Option<u64> {
        match self.kind {
            Kind::Uint(n) => Some(n),
            _ => None,
        }
    }

    /// The value, if this is an integer (major type 0 or 1; `-2^64` fits in an `i128`).
    pub fn as_int(&self) -> Option<i128> {
        match self.kind {
            Kind::Uint(n) => Some(i128::from(n)),
            Kind::Nint(n) => Some(-1 - i128::from(n)),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Item<'a>]> {
        match &self.kind {
            Kind::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Item<'a>, Item<'a>)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The tag number and content, if this is a tag.
    pub fn as_tag(&self) -> Option<(u64, &Item<'a>)> {
        match &self.kind {
            Kind::Tag(tag, inner) => Some((*tag, inner)),
            _ => None,
        }
    }

    /// The content of `#6.24(bstr)` (RFC 8949 §3.4.5.1 encoded CBOR data item).
    pub fn as_tag24(&self) -> Option<&[u8]> {
        match self.as_tag() {
            Some((24, inner)) => inner.as_bytes(),
            _ => None,
        }
    }

    /// Converts to a `ciborium` value. Fails only for simple values `ciborium` cannot hold
    /// (anything but `false`, `true`, `null` and `undefined`, which becomes `null`).
    pub fn to_value(&self) -> Result<Value, &'static str> {
        Ok(match &self.kind {
            Kind::Uint(n) => Value::Integer(Integer::from(*n)),
            Kind::Nint(n) => Value::Integer(
                Integer::try_from(-1 - i128::from(*n)).map_err(|_| "integer out of range")?,
            ),
            Kind::Bytes(b) => Value::Bytes(b.to_vec()),
            Kind::Text(t) => Value::Text(t.to_string()),
            Kind::Array(items) => {
                Value::Array(items.iter().map(Item::to_value).collect::<Result<_, _>>()?)
            }
            Kind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.to_value()?, v.to_value()?)))
                    .collect::<Result<_, &'static str>>()?,
            ),
            Kind::Tag(tag, inner) => Value::Tag(*tag, Box::new(inner.to_value()?)),
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Null | Kind::Undefined => Value::Null,
            Kind::Simple => return Err("unassigned CBOR simple value"),
            Kind::Float(f) => Value::Float(*f),
        })
    }
}

/// Whether `item` and everything in it has definite lengths (no indefinite-length array, map
/// or string, RFC 8949 §3.2.2): for checks that apply only to some documents, after decoding
/// (the PID rulebook requires definite lengths in every CBOR structure of a PID).
pub fn is_definite(item: &Item<'_>) -> bool {
    let own = item
        .raw
        .first()
        .is_none_or(|initial| !(matches!(initial >> 5, 2..=5) && initial & 0x1f == 31));
    own && match &item.kind {
        Kind::Array(items) => items.iter().all(is_definite),
        Kind::Map(entries) => entries
            .iter()
            .all(|(k, v)| is_definite(k) && is_definite(v)),
        Kind::Tag(_, inner) => is_definite(inner),
        _ => true,
    }
}

/// Why a map lookup failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// The item is not a map.
    NotAMap,
    /// The key occurs more than once (RFC 8949 §5.6: such a map is not valid).
    Duplicate,
}

/// The value under text key `name`; a key present twice is an error, so no field can be read two
/// ways.
pub fn field<'i, 'a>(map: &'i Item<'a>, name: &str) -> Result<Option<&'i Item<'a>>, LookupError> {
    let entries = map.as_map().ok_or(LookupError::NotAMap)?;
    let mut found = None;
    for (key, value) in entries {
        if key.as_text() == Some(name) {
            if found.is_some() {
                return Err(LookupError::Duplicate);
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// The value under integer key `label` (COSE header labels, CWT claim keys), with the same
/// duplicate rule as [`field`]; `1` and `0x18 0x01` are the same key.
pub fn int_field<'i, 'a>(
    map: &'i Item<'a>,
    label: i64,
) -> Result<Option<&'i Item<'a>>, LookupError> {
    let entries = map.as_map().ok_or(LookupError::NotAMap)?;
    let mut found = None;
    for (key, value) in entries {
        if key.as_int() == Some(i128::from(label)) {
            if found.is_some() {
                return Err(LookupError::Duplicate);
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// Checks that no two keys of a map are equal: integers and strings compare by value (whatever
/// the width of their headers), other keys by their encoding.
pub fn check_unique_keys(entries: &[(Item<'_>, Item<'_>)]) -> Result<(), LookupError> {
    // Small maps (every mdoc structure, most element values): compare pairwise, no allocation.
    const PAIRWISE_MAX: usize = 24;
    if entries.len() <= PAIRWISE_MAX {
        for (i, (a, _)) in entries.iter().enumerate() {
            let a = KeyId::of(a);
            if entries.iter().skip(i + 1).any(|(b, _)| KeyId::of(b) == a) {
                return Err(LookupError::Duplicate);
            }
        }
        return Ok(());
    }
    let mut keys: Vec<KeyId<'_>> = entries.iter().map(|(k, _)| KeyId::of(k)).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
        return Err(LookupError::Duplicate);
    }
    Ok(())
}

/// [`check_unique_keys`] for every map in `item`, however nested (element values).
pub fn check_unique_keys_deep(item: &Item<'_>) -> Result<(), LookupError> {
    match &item.kind {
        Kind::Map(entries) => {
            check_unique_keys(entries)?;
            entries.iter().try_for_each(|(k, v)| {
                check_unique_keys_deep(k)?;
                check_unique_keys_deep(v)
            })
        }
        Kind::Array(items) => items.iter().try_for_each(check_unique_keys_deep),
        Kind::Tag(_, inner) => check_unique_keys_deep(inner),
        _ => Ok(()),
    }
}

/// A map key by meaning: integers and strings compare by value, anything else by its bytes.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum KeyId<'k> {
    Uint(u64),
    Nint(u64),
    Text(&'k str),
    Bytes(&'k [u8]),
    Other(&'k [u8]),
}

impl<'k> KeyId<'k> {
    fn of(item: &'k Item<'_>) -> Self {
        match &item.kind {
            Kind::Uint(n) => Self::Uint(*n),
            Kind::Nint(n) => Self::Nint(*n),
            Kind::Text(t) => Self::Text(t),
            Kind::Bytes(b) => Self::Bytes(b),
            _ => Self::Other(item.raw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn dec(h: &str) -> Result<Value, CborError> {
        let bytes = hex(h);
        let mut budget = Budget::new();
        decode(&bytes, &mut budget).map(|item| item.to_value().unwrap())
    }

    #[test]
    fn decodes_rfc8949_appendix_a_examples() {
        use ciborium::cbor;
        assert_eq!(dec("00").unwrap(), cbor!(0).unwrap());
        assert_eq!(dec("1bffffffffffffffff").unwrap(), cbor!(u64::MAX).unwrap());
        assert_eq!(
            dec("3bffffffffffffffff").unwrap(),
            Value::Integer(Integer::try_from(-18_446_744_073_709_551_616i128).unwrap())
        );
        assert_eq!(dec("f93c00").unwrap(), Value::Float(1.0));
        assert_eq!(
            dec("f90001").unwrap(),
            Value::Float(5.960_464_477_539_063e-8)
        );
        assert_eq!(dec("f9c400").unwrap(), Value::Float(-4.0));
        assert_eq!(dec("f97c00").unwrap(), Value::Float(f64::INFINITY));
        assert!(matches!(dec("f97e00").unwrap(), Value::Float(f) if f.is_nan()));
        assert_eq!(dec("fa47c35000").unwrap(), Value::Float(100_000.0));
        assert_eq!(dec("fb3ff199999999999a").unwrap(), Value::Float(1.1));
        assert_eq!(
            dec("5f42010243030405ff").unwrap(),
            Value::Bytes(vec![1, 2, 3, 4, 5])
        );
        assert_eq!(
            dec("7f657374726561646d696e67ff").unwrap(),
            Value::Text("streaming".into())
        );
        assert_eq!(
            dec("9f018202039f0405ffff").unwrap(),
            cbor!([1, [2, 3], [4, 5]]).unwrap()
        );
        assert_eq!(
            dec("bf61610161629f0203ffff").unwrap(),
            cbor!({"a" => 1, "b" => [2, 3]}).unwrap()
        );
        assert_eq!(
            dec("c074323031332d30332d32315432303a30343a30305a").unwrap(),
            Value::Tag(0, Box::new(Value::Text("2013-03-21T20:04:00Z".into())))
        );
        // Non-preferred lengths are accepted: map with a 16-bit count of 1.
        assert_eq!(dec("b900016161f5").unwrap(), cbor!({"a" => true}).unwrap());
    }

    #[test]
    fn rejects_malformed() {
        for h in [
            "",
            "18",
            "4201",
            "0000",
            "ff",
            "9f01",
            "5f01ff",
            "1c",
            "a101",
            "81ff",
            "5f5f4100ffff",
            "f818",
            "62c328",
            "7f4100ff",
        ] {
            assert!(dec(h).is_err(), "{h} must be rejected");
        }
    }

    #[test]
    fn huge_declared_lengths_fail_before_allocating() {
        for h in [
            "5b1000000000000000",
            "7b1000000000000000",
            "9b1000000000000000",
            "bb1000000000000000",
            "9bffffffffffffffff",
            "bb8000000000000000",
        ] {
            assert!(
                matches!(dec(h), Err(CborError::LengthExceedsInput { .. })),
                "{h}"
            );
        }
    }

    #[test]
    fn depth_is_limited() {
        let mut deep = vec![0x81u8; 10_000];
        deep.push(0);
        let mut budget = Budget::new();
        assert!(matches!(
            decode(&deep, &mut budget),
            Err(CborError::TooDeep { .. })
        ));
        let mut tags = vec![0xc1u8; 10_000];
        tags.push(0);
        assert!(matches!(
            decode(&tags, &mut Budget::new()),
            Err(CborError::TooDeep { .. })
        ));
        let mut ok = vec![0x81u8; MAX_DEPTH];
        ok.push(0);
        decode(&ok, &mut Budget::new()).unwrap();
    }

    #[test]
    fn item_budget_is_shared() {
        let mut many = vec![0x9a, 0, 4, 0, 0];
        many.extend(std::iter::repeat_n(0u8, 1 << 18));
        assert!(matches!(
            decode(&many, &mut Budget::new()),
            Err(CborError::TooManyItems { .. })
        ));
    }

    #[test]
    fn definite_lengths_can_be_required() {
        for h in [
            "9f01ff",
            "bf6161f5ff",
            "5f4101ff",
            "7f6161ff",
            "81bf6161f5ff",
            "c19f01ff",
        ] {
            let bytes = hex(h);
            let item = decode(&bytes, &mut Budget::new()).unwrap();
            assert!(!is_definite(&item), "{h}");
            assert!(
                matches!(
                    decode_definite(&bytes, &mut Budget::new()),
                    Err(CborError::IndefiniteLength { .. })
                ),
                "{h}"
            );
        }
        for h in [
            "8101",
            "a16161f5",
            "4101",
            "6161",
            "81a16161f5",
            "c18101",
            "b900016161f5",
        ] {
            let bytes = hex(h);
            let item = decode_definite(&bytes, &mut Budget::new()).unwrap();
            assert!(is_definite(&item), "{h}");
        }
    }

    #[test]
    fn a_smaller_budget_is_kept() {
        // [0, 0, 0]: four items.
        assert!(decode(&hex("83000000"), &mut Budget::with_max_items(4)).is_ok());
        assert_eq!(
            decode(&hex("83000000"), &mut Budget::with_max_items(3)).unwrap_err(),
            CborError::TooManyItems { max: 3 }
        );
        // Never more than MAX_ITEMS, whatever is asked for.
        let mut many = vec![0x9a, 0, 4, 0, 0];
        many.extend(std::iter::repeat_n(0u8, 1 << 18));
        assert!(matches!(
            decode(&many, &mut Budget::with_max_items(usize::MAX)),
            Err(CborError::TooManyItems { max: MAX_ITEMS })
        ));
    }

    #[test]
    fn decode_value_refuses_duplicates_at_any_depth() {
        assert_eq!(
            decode_value(&hex("81a2616101616102"), 100),
            Err(CborError::DuplicateKey)
        );
        assert!(decode_value(&hex("81a2616101616202"), 100).is_ok());
    }

    #[test]
    fn int_field_compares_by_value() {
        // {1: true, -1: false, 0x18 0x02: null}
        let bytes = hex("a301f520f41802f6");
        let item = decode(&bytes, &mut Budget::new()).unwrap();
        assert_eq!(int_field(&item, 1).unwrap().unwrap().raw, &[0xf5]);
        assert_eq!(int_field(&item, -1).unwrap().unwrap().raw, &[0xf4]);
        assert_eq!(int_field(&item, 2).unwrap().unwrap().raw, &[0xf6]);
        assert!(int_field(&item, 3).unwrap().is_none());
        let dup = hex("a201f51801f4");
        let item = decode(&dup, &mut Budget::new()).unwrap();
        assert_eq!(int_field(&item, 1).unwrap_err(), LookupError::Duplicate);
    }

    #[test]
    fn raw_slices_are_exact() {
        let bytes = hex("82b900016161f5d81843a10102");
        let mut budget = Budget::new();
        let item = decode(&bytes, &mut budget).unwrap();
        let items = item.as_array().unwrap();
        assert_eq!(items[0].raw, &bytes[1..7]);
        assert_eq!(items[1].raw, &bytes[7..]);
        assert_eq!(items[1].as_tag24().unwrap(), &hex("a10102")[..]);
    }

    #[test]
    fn duplicate_keys_are_found() {
        let bytes = hex("a2616101616102");
        let mut budget = Budget::new();
        let item = decode(&bytes, &mut budget).unwrap();
        assert_eq!(field(&item, "a").unwrap_err(), LookupError::Duplicate);
        assert!(check_unique_keys(item.as_map().unwrap()).is_err());
        // 1 and 1 written with a wider header are the same key.
        let bytes = hex("a201011801f5");
        let item = decode(&bytes, &mut Budget::new()).unwrap();
        assert!(check_unique_keys(item.as_map().unwrap()).is_err());
    }

    /// Small maps are checked pairwise, large ones by sorting: both find the same duplicates,
    /// wherever they are.
    #[test]
    fn duplicate_keys_are_found_in_maps_of_any_size() {
        for n in [2usize, 3, 24, 25, 40] {
            for (first, second) in [(0, 1), (0, n - 1), (n / 2, n - 1)] {
                if first == second {
                    continue;
                }
                // Keys 0..n as uints, except that `second` repeats `first` with a wider header.
                let mut bytes = vec![0xb8, u8::try_from(n).unwrap()];
                for i in 0..n {
                    let key = if i == second { first } else { i };
                    bytes.extend_from_slice(&[0x18, u8::try_from(key).unwrap(), 0xf5]);
                }
                let item = decode(&bytes, &mut Budget::new()).unwrap();
                assert_eq!(
                    check_unique_keys(item.as_map().unwrap()),
                    Err(LookupError::Duplicate),
                    "n={n} {first}/{second}"
                );
            }
            let mut unique = vec![0xb8, u8::try_from(n).unwrap()];
            for i in 0..n {
                unique.extend_from_slice(&[0x18, u8::try_from(i).unwrap(), 0xf5]);
            }
            let item = decode(&unique, &mut Budget::new()).unwrap();
            assert_eq!(check_unique_keys(item.as_map().unwrap()), Ok(()), "n={n}");
        }
    }
}
