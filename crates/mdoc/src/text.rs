//! Text forms of binary mdoc structures: base64url (OpenID4VP `vp_token`) and hex (ISO/IEC
//! 18013-5 Annex D, test vectors).

use eudi_cbor::CborError;
use eudi_cbor::MAX_INPUT_LEN;
use eudi_trust::b64;

use crate::error::DecodeError;

/// Lowercase hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Unpadded base64url (RFC 4648 §5).
pub(crate) fn to_base64url(bytes: &[u8]) -> String {
    b64::encode(bytes)
}

fn check_len(text: &str, factor: usize) -> Result<&str, DecodeError> {
    let text = text.trim();
    let max = MAX_INPUT_LEN.saturating_mul(factor);
    if text.len() > max {
        return Err(DecodeError::Cbor(CborError::TooLarge {
            len: text.len() / factor.max(1),
            max: MAX_INPUT_LEN,
        }));
    }
    Ok(text)
}

/// Hex, either case, surrounding whitespace ignored.
pub(crate) fn from_hex(text: &str) -> Result<Vec<u8>, DecodeError> {
    let text = check_len(text, 2)?;
    let err = DecodeError::Text { expected: "hex" };
    if !text.len().is_multiple_of(2) {
        return Err(err);
    }
    let nibble = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some((nibble(*hi)? << 4) | nibble(*lo)?),
            _ => None,
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or(err)
}

/// base64url with or without padding, surrounding whitespace ignored.
pub(crate) fn from_base64url(text: &str) -> Result<Vec<u8>, DecodeError> {
    let text = check_len(text, 2)?;
    let err = DecodeError::Text {
        expected: "base64url",
    };
    // Padded input (RFC 4648 §5 with `=`): whole quanta of four characters, at most two `=`.
    let unpadded = match text.strip_suffix("==").or_else(|| text.strip_suffix('=')) {
        Some(_) if !text.len().is_multiple_of(4) => return Err(err),
        Some(unpadded) => unpadded,
        None => text,
    };
    b64::decode(unpadded).map_err(|_| err)
}

/// Hex if the text is hex, else base64url.
///
/// No mdoc structure is ambiguous in practice: every one is a CBOR map or array, whose base64url
/// form starts with a letter outside `0-9a-f` (`o`, `p`, `u`, `h`, `g` …).
pub(crate) fn from_text(text: &str) -> Result<Vec<u8>, DecodeError> {
    let trimmed = text.trim();
    if !trimmed.is_empty()
        && trimmed.len().is_multiple_of(2)
        && trimmed.bytes().all(|b| b.is_ascii_hexdigit())
    {
        from_hex(trimmed)
    } else {
        from_base64url(trimmed).map_err(|_| DecodeError::Text {
            expected: "base64url or hex",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let bytes = [0xa3, 0x00, 0xff, 0x10];
        assert_eq!(to_hex(&bytes), "a300ff10");
        assert_eq!(from_hex("A300FF10").unwrap(), bytes);
        assert_eq!(from_base64url(&to_base64url(&bytes)).unwrap(), bytes);
        assert_eq!(from_base64url("owD_EA==").unwrap(), bytes);
        assert_eq!(from_text("owD_EA").unwrap(), bytes);
        assert_eq!(from_text(" a300ff10\n").unwrap(), bytes);
        assert!(from_hex("a30").is_err());
        assert!(from_hex("zz").is_err());
        assert!(from_text("!!").is_err());
        // Padding only in whole quanta, never more than two.
        assert!(from_base64url("owD_EA=").is_err());
        assert!(from_base64url("owD_EA===").is_err());
        assert_eq!(from_base64url("owD_").unwrap(), [0xa3, 0x00, 0xff]);
    }
}
