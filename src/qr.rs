//! QR codes for a petition's address: SVG for print, PNG (drawn from the SVG by resvg) for
//! chat apps and slides.

use qrcode::QrCode;
use qrcode::render::svg;
use resvg::{tiny_skia, usvg};

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("QR code: {0}")]
    Encode(#[from] qrcode::types::QrError),
    #[error("QR code: {0}")]
    Render(String),
}

/// The QR code of `text` as an SVG document at least `size` pixels wide, with its quiet zone.
pub fn svg(text: &str, size: u32) -> Result<String, QrError> {
    let code = QrCode::new(text.as_bytes())?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(size, size)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// The QR code of `text` as a PNG at least `size` pixels wide.
pub fn png(text: &str, size: u32) -> Result<Vec<u8>, QrError> {
    let svg = svg(text, size)?;
    let tree = usvg::Tree::from_str(&svg, &usvg::Options::default())
        .map_err(|e| QrError::Render(e.to_string()))?;
    let px = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(px.width(), px.height())
        .ok_or_else(|| QrError::Render("no pixmap".into()))?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| QrError::Render(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_encodes_and_an_oversized_text_is_an_error_not_a_panic() {
        let svg = svg("https://example.org/petitions/osce?src=telegram-hy", 300).unwrap();
        assert!(svg.contains("<svg") && svg.contains("#000000"));
        let png = png("https://example.org/petitions/osce", 300).unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
        assert!(super::svg(&"x".repeat(8000), 300).is_err());
    }
}
