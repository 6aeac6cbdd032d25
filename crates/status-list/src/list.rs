//! The Status List (§4): a packed byte array of statuses, compressed with DEFLATE/ZLIB, in its
//! JSON (§4.2) and CBOR (§4.3) forms.

use std::fmt;
use std::io::Write as _;

use ciborium::Value as CborValue;
use eudi_trust::b64;
use flate2::Compression;
use flate2::Decompress;
use flate2::FlushDecompress;
use flate2::write::ZlibEncoder;
use serde_json::Map;
use serde_json::Value as JsonValue;

use crate::Bits;
use crate::Status;
use crate::StatusListError;
use crate::StatusListIssueError;

/// Default bound on the size of an inflated `lst`: 16 MiB, i.e. 134 million 1-bit statuses.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 16 * 1024 * 1024;

/// Default bound on the size of a Status List Token (or a bare encoded Status List) given to a
/// parser: 4 MiB. A 16-million-entry 1-bit list with half its entries revoked at random
/// compresses to about 2 MiB.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 4 * 1024 * 1024;

/// Default bound on the number of CBOR data items in one decoded structure (a CWT's headers or
/// claims set, a bare CBOR Status List). Status List Tokens have a few dozen.
pub const DEFAULT_MAX_CBOR_ITEMS: usize = 65_536;

/// Size limits applied while decoding untrusted input, so that neither a huge token nor a
/// decompression bomb can make a parser allocate without bound.
///
/// The struct is `#[non_exhaustive]`: start from [`Limits::default`] and assign the fields to
/// change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest encoded input (JWT characters, CWT bytes, encoded Status List) a parser
    /// accepts.
    pub max_token_bytes: usize,
    /// The largest byte array `lst` may inflate to.
    pub max_decompressed_bytes: usize,
    /// The most CBOR data items one decoded CBOR structure may have.
    pub max_cbor_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_cbor_items: DEFAULT_MAX_CBOR_ITEMS,
        }
    }
}

/// A Status List: `bits` per Referenced Token, packed least significant bit first into bytes in
/// natural byte order (§4.1 step 3, §11.1).
///
/// Index `i` lives in byte `i / (8 / bits)`, at bit offset `(i % (8 / bits)) * bits`.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: Bits,
    bytes: Vec<u8>,
    aggregation_uri: Option<String>,
}

impl fmt::Debug for StatusList {
    // The byte array can be megabytes; print its shape only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusList")
            .field("bits", &self.bits)
            .field("len", &self.len())
            .field("aggregation_uri", &self.aggregation_uri)
            .finish_non_exhaustive()
    }
}

impl StatusList {
    /// A list of at least `capacity` statuses, all `VALID` (0x00), the recommended default
    /// (§13.3).
    ///
    /// The byte array is rounded up to whole bytes, so [`len`](Self::len) may exceed `capacity`
    /// by up to `8 / bits - 1`: those trailing indices exist for every decoder too.
    pub fn new(bits: Bits, capacity: u64) -> Result<Self, StatusListIssueError> {
        let per_byte = u64::from(bits.statuses_per_byte());
        let byte_len = capacity.div_ceil(per_byte);
        let byte_len = usize::try_from(byte_len)
            .map_err(|_| StatusListIssueError::CapacityTooLarge(capacity))?;
        Ok(Self {
            bits,
            bytes: vec![0; byte_len],
            aggregation_uri: None,
        })
    }

    /// A list over an already packed (uncompressed) byte array.
    pub fn from_bytes(bits: Bits, bytes: Vec<u8>) -> Self {
        Self {
            bits,
            bytes,
            aggregation_uri: None,
        }
    }

    /// Sets the optional `aggregation_uri` (§9.2).
    #[must_use]
    pub fn with_aggregation_uri(mut self, uri: impl Into<String>) -> Self {
        self.aggregation_uri = Some(uri.into());
        self
    }

    /// Bits per status.
    pub fn bits(&self) -> Bits {
        self.bits
    }

    /// The number of statuses the list holds: bytes × (8 / `bits`).
    pub fn len(&self) -> u64 {
        // A `Vec` never holds more than `isize::MAX` bytes, so this cannot overflow.
        (self.bytes.len() as u64).saturating_mul(u64::from(self.bits.statuses_per_byte()))
    }

    /// Whether the list holds no statuses at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The uncompressed byte array.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The `aggregation_uri`, if any.
    pub fn aggregation_uri(&self) -> Option<&str> {
        self.aggregation_uri.as_deref()
    }

    /// The status at `idx`; an index past the end is [`StatusListError::IndexOutOfRange`].
    pub fn status(&self, idx: u64) -> Result<Status, StatusListError> {
        let (byte, shift) = self.position(idx)?;
        let value = self
            .bytes
            .get(byte)
            .ok_or_else(|| self.out_of_range(idx))?
            .checked_shr(shift)
            .unwrap_or(0)
            & self.bits.max_status();
        Ok(Status::from(value))
    }

    /// Sets the status at `idx`. Fails if `idx` is past the end or `status` does not fit in
    /// `bits` (e.g. `SUSPENDED` in a 1-bit list).
    pub fn set_status(&mut self, idx: u64, status: Status) -> Result<(), StatusListIssueError> {
        let value = status.value();
        let max = self.bits.max_status();
        if value > max {
            return Err(StatusListIssueError::StatusTooLarge {
                status: value,
                bits: self.bits.get(),
            });
        }
        let out_of_range = StatusListIssueError::IndexOutOfRange {
            idx,
            len: self.len(),
        };
        let Ok((byte, shift)) = self.position(idx) else {
            return Err(out_of_range);
        };
        let slot = self.bytes.get_mut(byte).ok_or(out_of_range)?;
        let mask = max.checked_shl(shift).unwrap_or(0);
        *slot = (*slot & !mask) | (value.checked_shl(shift).unwrap_or(0) & mask);
        Ok(())
    }

    fn out_of_range(&self, idx: u64) -> StatusListError {
        StatusListError::IndexOutOfRange {
            idx,
            len: self.len(),
        }
    }

    /// Byte index and bit shift of `idx`.
    fn position(&self, idx: u64) -> Result<(usize, u32), StatusListError> {
        let per_byte = u64::from(self.bits.statuses_per_byte());
        let byte = usize::try_from(idx / per_byte).map_err(|_| self.out_of_range(idx))?;
        // `idx % per_byte < 8`, and `bits <= 8`, so the shift is below 8.
        let shift = u32::try_from((idx % per_byte) * u64::from(self.bits.get()))
            .map_err(|_| self.out_of_range(idx))?;
        Ok((byte, shift))
    }

    /// The byte array compressed with DEFLATE in the ZLIB format at the best compression level
    /// (§4.1 step 4).
    pub fn compress(&self) -> Result<Vec<u8>, StatusListIssueError> {
        let mut encoder = ZlibEncoder::new(
            Vec::with_capacity(self.bytes.len() / 8 + 64),
            Compression::best(),
        );
        encoder
            .write_all(&self.bytes)
            .map_err(|e| StatusListIssueError::Compression(e.to_string()))?;
        encoder
            .finish()
            .map_err(|e| StatusListIssueError::Compression(e.to_string()))
    }

    /// Inflates a ZLIB `lst`, refusing to produce more than `limits.max_decompressed_bytes`.
    pub fn decompress(
        bits: Bits,
        compressed: &[u8],
        limits: &Limits,
    ) -> Result<Self, StatusListError> {
        Ok(Self::from_bytes(
            bits,
            inflate(compressed, limits.max_decompressed_bytes)?,
        ))
    }

    /// The JSON `StatusList` object (§4.2): `{"bits":…,"lst":"<base64url>"}` plus
    /// `aggregation_uri` when set.
    pub fn to_json(&self) -> Result<JsonValue, StatusListIssueError> {
        let mut map = Map::new();
        map.insert("bits".into(), JsonValue::from(self.bits.get()));
        map.insert("lst".into(), JsonValue::from(b64::encode(self.compress()?)));
        if let Some(uri) = &self.aggregation_uri {
            map.insert("aggregation_uri".into(), JsonValue::from(uri.as_str()));
        }
        Ok(JsonValue::Object(map))
    }

    /// Decodes a JSON `StatusList` object (§4.2).
    pub fn from_json(value: &JsonValue, limits: &Limits) -> Result<Self, StatusListError> {
        let map = value
            .as_object()
            .ok_or(StatusListError::MalformedStatusList("not a JSON object"))?;
        let bits = match map.get("bits") {
            None => {
                return Err(StatusListError::MalformedStatusList("`bits` is missing"));
            }
            Some(v) => {
                if let Some(n) = v.as_i64() {
                    Bits::from_int(i128::from(n))?
                } else if let Some(n) = v.as_u64() {
                    Bits::from_int(i128::from(n))?
                } else {
                    return Err(StatusListError::MalformedStatusList(
                        "`bits` is not an integer",
                    ));
                }
            }
        };
        let lst = map
            .get("lst")
            .ok_or(StatusListError::MalformedStatusList("`lst` is missing"))?
            .as_str()
            .ok_or(StatusListError::MalformedStatusList(
                "`lst` is not a string",
            ))?;
        if lst.len() > limits.max_token_bytes {
            return Err(StatusListError::TokenTooLarge {
                len: lst.len(),
                limit: limits.max_token_bytes,
            });
        }
        let compressed = b64::decode(lst)
            .map_err(|_| StatusListError::MalformedStatusList("`lst` is not base64url"))?;
        let aggregation_uri = match map.get("aggregation_uri") {
            None => None,
            Some(JsonValue::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(StatusListError::MalformedStatusList(
                    "`aggregation_uri` is not a string",
                ));
            }
        };
        let mut list = Self::decompress(bits, &compressed, limits)?;
        list.aggregation_uri = aggregation_uri;
        Ok(list)
    }

    /// Decodes a JSON `StatusList` object from its text.
    pub fn from_json_str(text: &str, limits: &Limits) -> Result<Self, StatusListError> {
        if text.len() > limits.max_token_bytes {
            return Err(StatusListError::TokenTooLarge {
                len: text.len(),
                limit: limits.max_token_bytes,
            });
        }
        let value: JsonValue = serde_json::from_str(text)
            .map_err(|_| StatusListError::MalformedStatusList("not valid JSON"))?;
        Self::from_json(&value, limits)
    }

    /// The CBOR `StatusList` map (§4.3): `{"bits":…,"lst":h'…'}` plus `aggregation_uri` when set.
    pub fn to_cbor_value(&self) -> Result<CborValue, StatusListIssueError> {
        let mut entries = vec![
            (
                CborValue::Text("bits".into()),
                CborValue::Integer(self.bits.get().into()),
            ),
            (
                CborValue::Text("lst".into()),
                CborValue::Bytes(self.compress()?),
            ),
        ];
        if let Some(uri) = &self.aggregation_uri {
            entries.push((
                CborValue::Text("aggregation_uri".into()),
                CborValue::Text(uri.clone()),
            ));
        }
        Ok(CborValue::Map(entries))
    }

    /// The CBOR `StatusList` map, encoded.
    pub fn to_cbor(&self) -> Result<Vec<u8>, StatusListIssueError> {
        to_vec(&self.to_cbor_value()?)
    }

    /// Decodes a CBOR `StatusList` map (§4.3). Unknown entries are ignored; duplicate keys are
    /// rejected.
    pub fn from_cbor_value(value: &CborValue, limits: &Limits) -> Result<Self, StatusListError> {
        let entries = value
            .as_map()
            .ok_or(StatusListError::MalformedStatusList("not a CBOR map"))?;
        let key = |name| {
            eudi_cbor::text_key(entries, name)
                .map_err(|_| StatusListError::MalformedStatusList("duplicate map key"))
        };
        let bits = match key("bits")? {
            None => {
                return Err(StatusListError::MalformedStatusList("`bits` is missing"));
            }
            Some(CborValue::Integer(n)) => Bits::from_int(i128::from(*n))?,
            Some(_) => {
                return Err(StatusListError::MalformedStatusList(
                    "`bits` is not an unsigned integer",
                ));
            }
        };
        let compressed = match key("lst")? {
            None => return Err(StatusListError::MalformedStatusList("`lst` is missing")),
            Some(CborValue::Bytes(b)) => b,
            Some(_) => {
                return Err(StatusListError::MalformedStatusList(
                    "`lst` is not a byte string",
                ));
            }
        };
        let aggregation_uri = match key("aggregation_uri")? {
            None => None,
            Some(CborValue::Text(s)) => Some(s.clone()),
            Some(_) => {
                return Err(StatusListError::MalformedStatusList(
                    "`aggregation_uri` is not a text string",
                ));
            }
        };
        let mut list = Self::decompress(bits, compressed, limits)?;
        list.aggregation_uri = aggregation_uri;
        Ok(list)
    }

    /// Decodes an encoded CBOR `StatusList` map.
    pub fn from_cbor(bytes: &[u8], limits: &Limits) -> Result<Self, StatusListError> {
        if bytes.len() > limits.max_token_bytes {
            return Err(StatusListError::TokenTooLarge {
                len: bytes.len(),
                limit: limits.max_token_bytes,
            });
        }
        let value =
            eudi_cbor::decode_value(bytes, limits.max_cbor_items).map_err(StatusListError::Cbor)?;
        Self::from_cbor_value(&value, limits)
    }
}

/// Encodes one CBOR value this crate built (`ciborium` writes preferred serialization with
/// definite lengths).
pub(crate) fn to_vec(value: &CborValue) -> Result<Vec<u8>, StatusListIssueError> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out)
        .map_err(|e| StatusListIssueError::Encoding(e.to_string()))?;
    Ok(out)
}

/// Growth step for the inflate buffer.
const INFLATE_CHUNK: usize = 64 * 1024;

/// Inflates a complete ZLIB stream, producing at most `limit` bytes and rejecting truncated
/// streams and trailing data. Memory use is bounded by `limit + 1` bytes of output whatever the
/// input claims.
fn inflate(input: &[u8], limit: usize) -> Result<Vec<u8>, StatusListError> {
    let too_large = StatusListError::DecompressedTooLarge { limit };
    let hard_cap = limit.saturating_add(1);
    let mut inflater = Decompress::new(true);
    let mut out = Vec::with_capacity(
        input
            .len()
            .saturating_mul(4)
            .clamp(INFLATE_CHUNK.min(hard_cap), hard_cap),
    );
    loop {
        if out.len() > limit {
            return Err(too_large);
        }
        if out.len() == out.capacity() {
            let room = hard_cap.saturating_sub(out.len());
            out.reserve_exact(out.capacity().max(INFLATE_CHUNK).min(room));
        }
        let in_before = inflater.total_in();
        let out_before = inflater.total_out();
        let consumed = usize::try_from(in_before)
            .map_err(|_| StatusListError::Decompression("input position overflow"))?;
        let rest = input
            .get(consumed..)
            .ok_or(StatusListError::Decompression("input position overflow"))?;
        let state = inflater
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(|_| StatusListError::Decompression("corrupt deflate data or zlib header"))?;
        if state == flate2::Status::StreamEnd {
            break;
        }
        let progressed = inflater.total_in() != in_before || inflater.total_out() != out_before;
        if !progressed && out.len() < out.capacity() {
            return Err(StatusListError::Decompression("stream is truncated"));
        }
    }
    if out.len() > limit {
        return Err(too_large);
    }
    if usize::try_from(inflater.total_in()).ok() != Some(input.len()) {
        return Err(StatusListError::Decompression(
            "trailing bytes after the stream",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_example_1_bit_from_section_4_1() {
        let mut list = StatusList::new(Bits::One, 16).unwrap();
        for (i, s) in [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
            .into_iter()
            .enumerate()
        {
            list.set_status(i as u64, Status::from(s)).unwrap();
        }
        assert_eq!(list.as_bytes(), [0xb9, 0xa3]);
        let compressed = list.compress().unwrap();
        let again = StatusList::decompress(Bits::One, &compressed, &Limits::default()).unwrap();
        assert_eq!(again, list);
    }

    #[test]
    fn small_example_2_bits_from_section_4_1() {
        let mut list = StatusList::new(Bits::Two, 12).unwrap();
        for (i, s) in [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3].into_iter().enumerate() {
            list.set_status(i as u64, Status::from(s)).unwrap();
        }
        assert_eq!(list.as_bytes(), [0xc9, 0x44, 0xf9]);
    }

    #[test]
    fn set_overwrites_only_its_own_bits() {
        for bits in [Bits::One, Bits::Two, Bits::Four, Bits::Eight] {
            let mut list = StatusList::new(bits, 64).unwrap();
            let max = Status::from(bits.max_status());
            for i in 0..list.len() {
                list.set_status(i, max).unwrap();
            }
            list.set_status(5, Status::Valid).unwrap();
            for i in 0..list.len() {
                let want = if i == 5 { Status::Valid } else { max };
                assert_eq!(list.status(i).unwrap(), want, "bits {bits} idx {i}");
            }
        }
    }

    #[test]
    fn capacity_rounds_up_to_whole_bytes() {
        let list = StatusList::new(Bits::One, 9).unwrap();
        assert_eq!(list.as_bytes().len(), 2);
        assert_eq!(list.len(), 16);
        let list = StatusList::new(Bits::Eight, 0).unwrap();
        assert!(list.is_empty());
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn index_out_of_range_is_an_error() {
        let mut list = StatusList::new(Bits::Two, 8).unwrap();
        assert_eq!(
            list.status(8),
            Err(StatusListError::IndexOutOfRange { idx: 8, len: 8 })
        );
        assert_eq!(
            list.status(u64::MAX),
            Err(StatusListError::IndexOutOfRange {
                idx: u64::MAX,
                len: 8
            })
        );
        assert_eq!(
            list.set_status(8, Status::Invalid),
            Err(StatusListIssueError::IndexOutOfRange { idx: 8, len: 8 })
        );
    }

    #[test]
    fn status_too_large_for_bits_is_an_error() {
        let mut list = StatusList::new(Bits::One, 8).unwrap();
        assert_eq!(
            list.set_status(0, Status::Suspended),
            Err(StatusListIssueError::StatusTooLarge { status: 2, bits: 1 })
        );
        let mut list = StatusList::new(Bits::Four, 8).unwrap();
        assert_eq!(
            list.set_status(0, Status::Other(16)),
            Err(StatusListIssueError::StatusTooLarge {
                status: 16,
                bits: 4
            })
        );
        list.set_status(0, Status::ApplicationSpecific(0x0f))
            .unwrap();
    }

    #[test]
    fn json_and_cbor_round_trip_with_aggregation_uri() {
        let mut list = StatusList::new(Bits::Four, 100)
            .unwrap()
            .with_aggregation_uri("https://example.com/statuslists");
        list.set_status(42, Status::ApplicationSpecific(0x0c))
            .unwrap();
        let json = list.to_json().unwrap();
        assert_eq!(json["bits"], 4);
        assert!(json["lst"].as_str().unwrap().starts_with("eN"));
        assert_eq!(
            StatusList::from_json(&json, &Limits::default()).unwrap(),
            list
        );
        let cbor = list.to_cbor().unwrap();
        assert_eq!(
            StatusList::from_cbor(&cbor, &Limits::default()).unwrap(),
            list
        );
    }

    #[test]
    fn bits_3_is_rejected_in_json_and_cbor() {
        let json = serde_json::json!({"bits": 3, "lst": "eNrbuRgAAhcBXQ"});
        assert_eq!(
            StatusList::from_json(&json, &Limits::default()),
            Err(StatusListError::InvalidBits(3))
        );
        let cbor = CborValue::Map(vec![
            (CborValue::Text("bits".into()), CborValue::Integer(3.into())),
            (
                CborValue::Text("lst".into()),
                CborValue::Bytes(vec![
                    0x78, 0xda, 0xdb, 0xb9, 0x18, 0, 0x02, 0x17, 0x01, 0x5d,
                ]),
            ),
        ]);
        assert_eq!(
            StatusList::from_cbor_value(&cbor, &Limits::default()),
            Err(StatusListError::InvalidBits(3))
        );
        assert_eq!(Bits::try_from(3), Err(StatusListError::InvalidBits(3)));
    }

    #[test]
    fn malformed_json_shapes_are_named() {
        let limits = Limits::default();
        for (json, why) in [
            (serde_json::json!([]), "not a JSON object"),
            (
                serde_json::json!({"lst": "eNrbuRgAAhcBXQ"}),
                "`bits` is missing",
            ),
            (
                serde_json::json!({"bits": 1.0, "lst": "eNrbuRgAAhcBXQ"}),
                "`bits` is not an integer",
            ),
            (serde_json::json!({"bits": 1}), "`lst` is missing"),
            (
                serde_json::json!({"bits": 1, "lst": 5}),
                "`lst` is not a string",
            ),
            (
                serde_json::json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ=="}),
                "`lst` is not base64url",
            ),
            (
                serde_json::json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ", "aggregation_uri": 1}),
                "`aggregation_uri` is not a string",
            ),
        ] {
            assert_eq!(
                StatusList::from_json(&json, &limits),
                Err(StatusListError::MalformedStatusList(why)),
                "{json}"
            );
        }
        assert_eq!(
            StatusList::from_json(&serde_json::json!({"bits": -1, "lst": ""}), &limits),
            Err(StatusListError::InvalidBits(-1))
        );
    }

    #[test]
    fn malformed_cbor_shapes_are_named() {
        let limits = Limits::default();
        let duplicate = CborValue::Map(vec![
            (CborValue::Text("bits".into()), CborValue::Integer(1.into())),
            (CborValue::Text("bits".into()), CborValue::Integer(1.into())),
        ]);
        assert_eq!(
            StatusList::from_cbor_value(&duplicate, &limits),
            Err(StatusListError::MalformedStatusList("duplicate map key"))
        );
        let text_lst = CborValue::Map(vec![
            (CborValue::Text("bits".into()), CborValue::Integer(1.into())),
            (CborValue::Text("lst".into()), CborValue::Text("eNo".into())),
        ]);
        assert_eq!(
            StatusList::from_cbor_value(&text_lst, &limits),
            Err(StatusListError::MalformedStatusList(
                "`lst` is not a byte string"
            ))
        );
        assert_eq!(
            StatusList::from_cbor(&[0xa0, 0x00], &limits),
            Err(StatusListError::Cbor(eudi_cbor::CborError::TrailingBytes {
                count: 1
            }))
        );
    }

    fn zlib_of_zeros(total: usize) -> Vec<u8> {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        let chunk = vec![0u8; 1 << 20];
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk.len());
            encoder.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        encoder.finish().unwrap()
    }

    #[test]
    fn decompression_bomb_is_stopped_at_the_limit() {
        // 64 MiB of zeros compress to about 64 KiB.
        let bomb = zlib_of_zeros(64 << 20);
        assert!(bomb.len() < 128 * 1024, "bomb is {} bytes", bomb.len());
        assert_eq!(
            StatusList::decompress(Bits::One, &bomb, &Limits::default()),
            Err(StatusListError::DecompressedTooLarge {
                limit: DEFAULT_MAX_DECOMPRESSED_BYTES
            })
        );
        let json = serde_json::json!({"bits": 1, "lst": b64::encode(&bomb)});
        assert_eq!(
            StatusList::from_json(&json, &Limits::default()),
            Err(StatusListError::DecompressedTooLarge {
                limit: DEFAULT_MAX_DECOMPRESSED_BYTES
            })
        );
    }

    #[test]
    fn limit_is_exact_and_configurable() {
        let stream = zlib_of_zeros(1000);
        let mut limits = Limits {
            max_decompressed_bytes: 1000,
            ..Limits::default()
        };
        assert_eq!(
            StatusList::decompress(Bits::One, &stream, &limits)
                .unwrap()
                .len(),
            8000
        );
        limits.max_decompressed_bytes = 999;
        assert_eq!(
            StatusList::decompress(Bits::One, &stream, &limits),
            Err(StatusListError::DecompressedTooLarge { limit: 999 })
        );
        limits.max_decompressed_bytes = 0;
        assert_eq!(
            StatusList::decompress(Bits::One, &stream, &limits),
            Err(StatusListError::DecompressedTooLarge { limit: 0 })
        );
    }

    #[test]
    fn large_output_grows_past_the_first_chunk() {
        let stream = zlib_of_zeros(3 << 20);
        let list = StatusList::decompress(Bits::Eight, &stream, &Limits::default()).unwrap();
        assert_eq!(list.len(), 3 << 20);
    }

    #[test]
    fn truncated_corrupt_and_trailing_streams_are_rejected() {
        let limits = Limits::default();
        let good = StatusList::new(Bits::One, 4096)
            .unwrap()
            .compress()
            .unwrap();
        assert_eq!(
            StatusList::decompress(Bits::One, &good[..good.len() - 1], &limits),
            Err(StatusListError::Decompression("stream is truncated"))
        );
        assert_eq!(
            StatusList::decompress(Bits::One, &[], &limits),
            Err(StatusListError::Decompression("stream is truncated"))
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            StatusList::decompress(Bits::One, &trailing, &limits),
            Err(StatusListError::Decompression(
                "trailing bytes after the stream"
            ))
        );
        // Raw DEFLATE without the ZLIB header is not accepted (§4.1 step 4).
        assert!(StatusList::decompress(Bits::One, &good[2..], &limits).is_err());
        let mut corrupt = good;
        corrupt[0] = 0x00;
        assert_eq!(
            StatusList::decompress(Bits::One, &corrupt, &limits),
            Err(StatusListError::Decompression(
                "corrupt deflate data or zlib header"
            ))
        );
    }

    #[test]
    fn debug_does_not_dump_the_array() {
        let list = StatusList::new(Bits::One, 1 << 16).unwrap();
        let debug = format!("{list:?}");
        assert!(debug.contains("len: 65536"), "{debug}");
        assert!(debug.len() < 200);
    }
}
