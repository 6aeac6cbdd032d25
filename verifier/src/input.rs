//! Reading the presentation (size-limited while reading), detecting its format, and parsing the
//! hex and handover arguments.

use std::io::Read;

use anyhow::Context as _;
use anyhow::Result;

/// Largest presentation read (bytes): above every format's own limits, so each format reports
/// its own `too_large`, and small enough that reading it is harmless.
pub(crate) const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// What was read: the text, or why it is no presentation at all.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// UTF-8 text within the limit.
    Text(String),
    /// Larger than [`MAX_INPUT_BYTES`].
    TooLarge,
    /// Not UTF-8: no presentation format is binary here (mdoc comes as hex or base64url).
    NotUtf8,
}

/// Reads at most `MAX_INPUT_BYTES + 1` bytes from `reader`: the limit holds while reading, so
/// a huge or endless input is never buffered.
pub(crate) fn read_limited(reader: impl Read) -> std::io::Result<Input> {
    let mut bytes = Vec::new();
    reader.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Ok(Input::TooLarge);
    }
    Ok(String::from_utf8(bytes).map_or(Input::NotUtf8, Input::Text))
}

/// Reads the presentation from `path`, or standard input for `-`.
pub(crate) fn read(path: &str) -> Result<Input> {
    if path == "-" {
        read_limited(std::io::stdin().lock())
            .context("cannot read the presentation from standard input")
    } else {
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot read the presentation from {path}"))?;
        read_limited(file).with_context(|| format!("cannot read the presentation from {path}"))
    }
}

/// The format the input looks like; only parsing it decides whether it is one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Detected {
    /// Compact (`~`-separated) or JWS JSON SD-JWT.
    SdJwt,
    /// Hex or base64url text, the encodings of an mdoc here.
    Mdoc,
    /// Neither.
    Unknown,
}

pub(crate) fn detect(input: &str) -> Detected {
    if input.starts_with('{') || input.contains('~') {
        Detected::SdJwt
    } else if !input.is_empty()
        && input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    {
        Detected::Mdoc
    } else {
        Detected::Unknown
    }
}

/// Why a `--handover` or hex argument is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ArgumentError(String);

/// The OpenID4VP 1.0 `OpenID4VPHandover` inputs (OpenID4VP 1.0 Annex B.2.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Handover {
    pub(crate) client_id: String,
    pub(crate) nonce: String,
    pub(crate) response_uri: String,
    pub(crate) jwk_thumbprint: Option<[u8; 32]>,
}

impl Handover {
    /// The SessionTranscript it stands for.
    pub(crate) fn transcript(&self) -> eudi_verify::SessionTranscript {
        eudi_verify::SessionTranscript::openid4vp(
            &self.client_id,
            &self.nonce,
            self.jwk_thumbprint.as_ref(),
            &self.response_uri,
        )
    }
}

impl std::str::FromStr for Handover {
    type Err = ArgumentError;

    /// `CLIENT_ID,NONCE,RESPONSE_URI[,JWK_THUMBPRINT]`, the thumbprint base64url. Client IDs
    /// contain `:` (their prefix) but never `,`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split(',').collect();
        let (client_id, nonce, response_uri, thumbprint) = match parts.as_slice() {
            [c, n, r] => (*c, *n, *r, None),
            [c, n, r, t] => (*c, *n, *r, Some(*t)),
            _ => {
                return Err(ArgumentError(format!(
                    "expected CLIENT_ID,NONCE,RESPONSE_URI[,JWK_THUMBPRINT], got {} parts",
                    parts.len()
                )));
            }
        };
        if client_id.is_empty() || nonce.is_empty() || response_uri.is_empty() {
            return Err(ArgumentError(
                "client_id, nonce and response_uri must not be empty".into(),
            ));
        }
        let jwk_thumbprint = thumbprint
            .map(|t| {
                let bytes = eudi_trust::b64::decode(t)
                    .map_err(|_| ArgumentError("JWK_THUMBPRINT is not base64url".into()))?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| ArgumentError("JWK_THUMBPRINT is not 32 bytes".into()))
            })
            .transpose()?;
        Ok(Self {
            client_id: client_id.to_owned(),
            nonce: nonce.to_owned(),
            response_uri: response_uri.to_owned(),
            jwk_thumbprint,
        })
    }
}

/// Decodes hex (white space ignored).
pub(crate) fn decode_hex(text: &str) -> Result<Vec<u8>, ArgumentError> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(ArgumentError("odd number of hex digits".into()));
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| ArgumentError(format!("invalid hex digit at byte {}", 2 * i)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handover_parsing() {
        let h: Handover = "x509_san_dns:rp.example,n-1,https://rp.example/post"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.client_id, "x509_san_dns:rp.example");
        assert_eq!(h.jwk_thumbprint, None);
        let t = eudi_trust::b64::encode([7u8; 32]);
        let h: Result<Handover, _> = format!("c,n,https://r,{t}").parse();
        assert_eq!(h.map(|h| h.jwk_thumbprint), Ok(Some([7u8; 32])));
        for bad in ["a,b", "a,b,c,d,e", ",n,r", "c,n,r,!!", "c,n,r,AAAA"] {
            assert!(bad.parse::<Handover>().is_err(), "{bad}");
        }
    }

    #[test]
    fn hex() {
        assert_eq!(decode_hex("00ff 10"), Ok(vec![0, 255, 16]));
        assert!(decode_hex("0").is_err());
        assert!(decode_hex("zz").is_err());
    }

    #[test]
    fn detection() {
        assert_eq!(detect("a.b.c~"), Detected::SdJwt);
        assert_eq!(detect("{\"payload\":1}"), Detected::SdJwt);
        assert_eq!(detect("a36776"), Detected::Mdoc);
        assert_eq!(detect("o2d2ZXJzaW9u"), Detected::Mdoc);
        assert_eq!(detect(""), Detected::Unknown);
        assert_eq!(detect("not an mdoc!"), Detected::Unknown);
    }

    #[test]
    fn the_limit_holds_while_reading() {
        // An endless reader: only the limit ends the read.
        let endless = std::io::repeat(b'a');
        assert_eq!(read_limited(endless).ok(), Some(Input::TooLarge));
        let exact = vec![b'a'; usize::try_from(MAX_INPUT_BYTES).unwrap_or(0)];
        assert!(matches!(read_limited(exact.as_slice()), Ok(Input::Text(_))));
        assert_eq!(read_limited(&[0xff, 0xfe][..]).ok(), Some(Input::NotUtf8));
    }
}
