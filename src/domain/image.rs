//! Images organizers upload: which types are taken, recognised from their bytes.

/// The largest image accepted: a phone photo, resized, fits easily.
pub const MAX_IMAGE: usize = 2 * 1024 * 1024;

/// The image type, recognised from its first bytes (never from what the browser claims).
pub fn sniff(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        Some("image/png")
    } else if data.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if data.len() > 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Largest width or height accepted: a photo fits, and a small file that would decode to
/// gigabytes of pixels (share cards decode the image) does not.
pub const MAX_SIDE: usize = 4096;

/// The type of an uploaded image, if it is a PNG, JPEG or WebP no wider or taller than
/// [`MAX_SIDE`] (read from its header, without decoding it).
pub fn accept(data: &[u8]) -> Option<&'static str> {
    let kind = sniff(data)?;
    let size = imagesize::blob_size(data).ok()?;
    (size.width > 0 && size.height > 0 && size.width <= MAX_SIDE && size.height <= MAX_SIDE)
        .then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn only_real_images_are_recognised() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0..."), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn an_image_too_large_in_pixels_is_refused_however_small_its_file() {
        // A PNG header claiming 100000 x 100000 pixels.
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend(100_000u32.to_be_bytes());
        png.extend(100_000u32.to_be_bytes());
        png.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(super::sniff(&png), Some("image/png"));
        assert_eq!(super::accept(&png), None);
        let mut small = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        small.extend(800u32.to_be_bytes());
        small.extend(600u32.to_be_bytes());
        small.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(super::accept(&small), Some("image/png"));
    }
}
