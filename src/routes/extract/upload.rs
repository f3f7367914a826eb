//! Reading an image upload (multipart), bounded before and while it is read.

use actix_multipart::Multipart;
use futures_util::StreamExt;

use crate::domain::image::MAX_IMAGE;
use crate::routes::error::AppError;
use crate::routes::extract::auth::{self, Session};

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
