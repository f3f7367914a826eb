use actix_web::{HttpResponse, get, web};
use rust_embed::RustEmbed;

use crate::error::AppError;

/// CSS, JavaScript and images, compiled into the binary.
#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

#[get("/static/{path:.*}")]
pub async fn asset(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let path = path.into_inner();
    let file = Assets::get(&path).ok_or(AppError::NotFound)?;
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    Ok(HttpResponse::Ok()
        .content_type(mime.as_ref())
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(file.data.into_owned()))
}
