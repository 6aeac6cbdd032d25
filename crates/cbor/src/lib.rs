//! The one bounded CBOR (RFC 8949) and COSE (RFC 9052) layer of the workspace, used by
//! `eudi-mdoc` (ISO/IEC 18013-5) and `eudi-status-list` (Token Status List, CWT form).
//!
//! * [`decode`](decode()) / [`decode_definite`]: one data item into an [`Item`] tree that keeps
//!   the exact bytes of every item (digests and signatures cover embedded `#6.24` CBOR as its
//!   author wrote it), bounded by [`MAX_INPUT_LEN`], [`MAX_DEPTH`] and an item [`Budget`]
//!   shared by the nested decodes of one input; a declared length is checked against the input
//!   left before anything is allocated. No input makes the decoder panic.
//! * [`field`], [`int_field`], [`check_unique_keys`], [`check_unique_keys_deep`]: map access
//!   that rejects a key present twice (RFC 8949 §5.6), so nothing can be read two ways.
//! * [`decode_value`]: the same, into a `ciborium::Value`, for readers of a tree.
//! * [`enc`]: shortest-form heads and in-place byte strings (RFC 8949 §4.2.1).
//! * [`cose`]: `COSE_Sign1` / `COSE_Mac0` from a bounded item, the `Sig_structure`, the
//!   serialized protected header, algorithm labels, `x5chain`.
//!
//! ```
//! use eudi_cbor::{Budget, CborError, decode, field};
//!
//! // {"a": h'01'} with a non-preferred map header: the raw bytes are kept as they are.
//! let bytes = [0xb9, 0x00, 0x01, 0x61, 0x61, 0x41, 0x01];
//! let item = decode(&bytes, &mut Budget::new())?;
//! assert_eq!(item.raw, &bytes[..]);
//! assert_eq!(field(&item, "a").ok().flatten().and_then(|v| v.as_bytes()), Some(&[1u8][..]));
//!
//! // A byte string header declaring 2^60 bytes fails before allocating.
//! let huge = [0x5b, 0x10, 0, 0, 0, 0, 0, 0, 0];
//! assert!(matches!(
//!     decode(&huge, &mut Budget::new()),
//!     Err(CborError::LengthExceedsInput { .. })
//! ));
//! # Ok::<(), CborError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cose;
mod decode;
pub mod enc;
mod value;

pub use decode::Budget;
pub use decode::CborError;
pub use decode::Item;
pub use decode::Kind;
pub use decode::LookupError;
pub use decode::MAX_DEPTH;
pub use decode::MAX_INPUT_LEN;
pub use decode::MAX_ITEMS;
pub use decode::check_unique_keys;
pub use decode::check_unique_keys_deep;
pub use decode::decode;
pub use decode::decode_definite;
pub use decode::decode_value;
pub use decode::field;
pub use decode::int_field;
pub use decode::is_definite;
pub use value::DuplicateKey;
pub use value::int_key;
pub use value::text_key;
