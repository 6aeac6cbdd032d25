//! QR codes of credential offers, as SVG (inline in the page) and PNG (a download).
//!
//! The PNG encoder is the few lines a greyscale image needs (PNG, ISO/IEC 15948: signature,
//! `IHDR`, one zlib `IDAT`, `IEND`, CRC-32 per chunk), written on `flate2`, which the workspace
//! already has, rather than pulling in the `image` crate for it.

use std::io::Write as _;

use flate2::Compression;
use flate2::Crc;
use flate2::write::ZlibEncoder;
use qrcode::Color;
use qrcode::EcLevel;
use qrcode::QrCode;
use qrcode::render::svg;

/// Modules of light margin around the code (the quiet zone ISO/IEC 18004 asks for).
pub const QUIET_ZONE: usize = 4;
/// Pixels per module in the PNG.
pub const PNG_SCALE: usize = 6;
/// Longest text encoded; a credential offer link is far shorter.
pub const MAX_QR_TEXT: usize = 2048;

/// Why no QR code was made.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The text is longer than [`MAX_QR_TEXT`].
    #[error("the text is too long for a QR code")]
    TooLong,
    /// The encoder refused the text.
    #[error("cannot encode the QR code: {0}")]
    Encode(String),
    /// Compressing the PNG failed.
    #[error("cannot write the PNG: {0}")]
    Png(#[from] std::io::Error),
}

fn code(text: &str) -> Result<QrCode, QrError> {
    if text.len() > MAX_QR_TEXT {
        return Err(QrError::TooLong);
    }
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| QrError::Encode(e.to_string()))
}

/// The QR code of `text` as an SVG document.
pub fn svg(text: &str) -> Result<String, QrError> {
    Ok(code(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// The QR code of `text` as a PNG image (8-bit greyscale).
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = code(text)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * PNG_SCALE;
    let dark = |x: usize, y: usize| -> bool {
        let (mx, my) = (x / PNG_SCALE, y / PNG_SCALE);
        if mx < QUIET_ZONE || my < QUIET_ZONE {
            return false;
        }
        let (mx, my) = (mx - QUIET_ZONE, my - QUIET_ZONE);
        mx < modules && my < modules && colors.get(my * modules + mx) == Some(&Color::Dark)
    };
    // Raw image data: per row, filter type 0 (None) then one byte per pixel.
    let mut raw = Vec::with_capacity(side * (side + 1));
    for y in 0..side {
        raw.push(0u8);
        raw.extend((0..side).map(|x| if dark(x, y) { 0u8 } else { 255u8 }));
    }
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::best());
    zlib.write_all(&raw)?;
    let idat = zlib.finish()?;

    let side_u32 = u32::try_from(side).map_err(|_| QrError::TooLong)?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&side_u32.to_be_bytes());
    ihdr.extend_from_slice(&side_u32.to_be_bytes());
    // Bit depth 8, colour type 0 (greyscale), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);

    let mut out = Vec::with_capacity(idat.len() + 64);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    chunk(&mut out, b"IHDR", &ihdr)?;
    chunk(&mut out, b"IDAT", &idat)?;
    chunk(&mut out, b"IEND", &[])?;
    Ok(out)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) -> Result<(), QrError> {
    let len = u32::try_from(data.len()).map_err(|_| QrError::TooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use flate2::read::ZlibDecoder;

    use super::*;

    #[test]
    fn png_is_well_formed_and_draws_the_code() {
        let text = "openid-credential-offer://?credential_offer=%7B%7D";
        let image = png(text).unwrap();
        assert_eq!(&image[..8], b"\x89PNG\r\n\x1a\n");
        // Walk the chunks, checking each CRC.
        let mut at = 8;
        let mut kinds = Vec::new();
        let mut idat = Vec::new();
        let mut side = 0usize;
        while at < image.len() {
            let len = u32::from_be_bytes(image[at..at + 4].try_into().unwrap()) as usize;
            let kind = &image[at + 4..at + 8];
            let data = &image[at + 8..at + 8 + len];
            let stored = u32::from_be_bytes(image[at + 8 + len..at + 12 + len].try_into().unwrap());
            let mut crc = Crc::new();
            crc.update(kind);
            crc.update(data);
            assert_eq!(crc.sum(), stored, "CRC of {kind:?}");
            if kind == b"IHDR" {
                side = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
            }
            if kind == b"IDAT" {
                idat.extend_from_slice(data);
            }
            kinds.push(kind.to_vec());
            at += 12 + len;
        }
        assert_eq!(
            kinds,
            vec![b"IHDR".to_vec(), b"IDAT".to_vec(), b"IEND".to_vec()]
        );
        let mut raw = Vec::new();
        ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).unwrap();
        assert_eq!(raw.len(), side * (side + 1));
        let modules = code(text).unwrap().width();
        assert_eq!(side, (modules + 2 * QUIET_ZONE) * PNG_SCALE);
        // The quiet zone is light; the top-left finder pattern's corner is dark.
        assert_eq!(raw[1], 255);
        let corner = QUIET_ZONE * PNG_SCALE;
        assert_eq!(raw[corner * (side + 1) + 1 + corner], 0);
    }

    #[test]
    fn svg_is_an_svg_and_too_long_text_is_refused() {
        let image = svg("openid-credential-offer://?x=1").unwrap();
        assert!(image.contains("<svg"));
        assert!(matches!(
            svg(&"a".repeat(MAX_QR_TEXT + 1)),
            Err(QrError::TooLong)
        ));
        assert!(matches!(
            png(&"a".repeat(MAX_QR_TEXT + 1)),
            Err(QrError::TooLong)
        ));
    }
}
