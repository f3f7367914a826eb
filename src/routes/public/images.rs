//! A petition's image: uploaded by its organizers, served to everyone.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, get, post, web};
use futures_util::StreamExt;

use crate::db;
use crate::routes::AppState;
use crate::routes::error::AppError;
use crate::routes::extract::auth::{self, Session};
use crate::routes::extract::guards::ManagedPetition;
use crate::usecases;

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

#[get("/petitions/{slug}/image")]
pub async fn show(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let slug = slug.into_inner();
    let found = db::run(&state.pool, move |c| {
        let Some(p) = db::petitions::find_by_slug(c, &slug)? else {
            return Ok(None);
        };
        db::images::get(c, p.id)
    })
    .await?;
    let (content_type, data, _) = found.ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(data))
}

/// The whole upload: the image and the form's few small fields.
const MAX_BODY: usize = MAX_IMAGE + 64 * 1024;
/// `csrf_token`, `image`, `remove`, with room for what browsers add.
const MAX_FIELDS: usize = 8;

#[derive(serde::Deserialize)]
pub struct UploadQuery {
    csrf_token: Option<String>,
}

impl UploadQuery {
    pub fn csrf_token(self) -> Option<String> {
        self.csrf_token
    }
}

/// Replaces the image, or removes it when the form says so. Multipart: `csrf_token`, `image`,
/// and optionally `remove`. The dashboard's form also puts `csrf_token` in the query string,
/// so it is checked before the body is read; a client that only sends the field in the body
/// is checked after the (capped) body.
#[post("/petitions/{slug}/image")]
pub async fn upload(
    state: web::Data<AppState>,
    // Who is sending is checked before a byte of the body is read.
    petition: ManagedPetition,
    req: actix_web::HttpRequest,
    query: web::Query<UploadQuery>,
    mut payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let (petition_id, who) = (petition.id(), petition.who());
    let session = &petition.organizer.session;
    let (image, remove) =
        read_upload(session, &req, query.into_inner().csrf_token, &mut payload).await?;
    let image = if remove {
        None
    } else {
        let content_type = accept(&image).ok_or(AppError::BadRequest("image.error"))?;
        Some((content_type, image))
    };
    usecases::run(&state.pool, move |c| {
        usecases::petitions::set_image(c, who, petition_id, image, db::now())
    })
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            "Location",
            format!("/dashboard/petitions/{}", petition.slug()),
        ))
        .finish())
}

/// Reads an image form (multipart: `csrf_token`, `image`, and `remove` to take the image
/// away), after checking the CSRF token given in the query string (`early_csrf`) and the
/// declared size: a stranger cannot make the server take in an upload of any size. A token
/// sent only in the body is checked after the (capped) body. Returns the image's bytes and
/// whether `remove` was asked for.
pub async fn read_upload(
    session: &Session,
    req: &actix_web::HttpRequest,
    early_csrf: Option<String>,
    payload: &mut Multipart,
) -> Result<(Vec<u8>, bool), AppError> {
    if let Some(token) = &early_csrf {
        auth::check_csrf(session, token)?;
    }
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // Browsers always declare the size of a form upload; a body without one (chunked) could
    // not be refused before it is read.
    match declared {
        None => return Err(AppError::BadRequest("image.error")),
        Some(n) if n > MAX_BODY => return Err(AppError::TooLarge),
        Some(_) => {}
    }
    let bad = || AppError::BadRequest("image.error");
    let mut csrf = String::new();
    let mut image: Vec<u8> = Vec::new();
    let mut remove = false;
    let (mut total, mut fields) = (0usize, 0usize);
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|_| bad())?;
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(bad());
        }
        let name = field.name().unwrap_or("").to_string();
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| bad())?;
            total += chunk.len();
            if data.len() + chunk.len() > MAX_IMAGE || total > MAX_BODY {
                return Err(AppError::TooLarge);
            }
            data.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf_token" => csrf = String::from_utf8(data).map_err(|_| bad())?,
            "image" => image = data,
            "remove" => remove = true,
            _ => {}
        }
    }
    if early_csrf.is_none() {
        auth::check_csrf(session, &csrf)?;
    }
    Ok((image, remove))
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
