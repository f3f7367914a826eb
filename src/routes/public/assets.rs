//! CSS, JavaScript and images, compiled into the binary and served under content-hashed
//! addresses (`/static/{hash}/style.css`): a browser or proxy keeps each for a year, and a new
//! release's files have new addresses. Text files go out precompressed (brotli, gzip), made
//! once per process.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::{HttpRequest, HttpResponse, get, web};
use rust_embed::RustEmbed;

use crate::live::Rendered;
use crate::routes::error::AppError;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

/// Each file: its content hash (the first 8 bytes of its SHA-256, in hex) and its body, ready.
fn files() -> &'static HashMap<String, (String, Rendered)> {
    static FILES: OnceLock<HashMap<String, (String, Rendered)>> = OnceLock::new();
    FILES.get_or_init(|| {
        Assets::iter()
            .filter_map(|name| {
                let file = Assets::get(&name)?;
                let hash = hex::encode(&file.metadata.sha256_hash()[..8]);
                let mime = mime_guess::from_path(name.as_ref()).first_or_octet_stream();
                let text = mime.type_() == "text"
                    || matches!(mime.subtype().as_str(), "javascript" | "svg" | "json");
                let content_type: &'static str = Box::leak(
                    if text && !mime.as_ref().contains("charset") {
                        format!("{mime}; charset=utf-8")
                    } else {
                        mime.to_string()
                    }
                    .into_boxed_str(),
                );
                let at = chrono::Utc::now();
                let body = file.data.into_owned();
                let rendered = if text {
                    Rendered::new_best(content_type, body, at)
                } else {
                    Rendered::plain(content_type, body, at)
                };
                Some((name.to_string(), (hash, rendered)))
            })
            .collect()
    })
}

/// The address of a static file, carrying its content hash: `/static/{hash}/{name}`.
pub fn url(name: &str) -> String {
    match files().get(name) {
        Some((hash, _)) => format!("/static/{hash}/{name}"),
        None => format!("/static/{name}"),
    }
}

/// A year: addresses change with their contents.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// An address without the current hash (an old page, a link typed by hand): an hour.
const PLAIN: &str = "public, max-age=3600";

#[get("/static/{path:.*}")]
pub async fn asset(path: web::Path<String>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let path = path.into_inner();
    let (hashed, name) = match path.split_once('/') {
        Some((hash, name)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (Some(hash), name)
        }
        _ => (None, path.as_str()),
    };
    let (hash, file) = files().get(name).ok_or(AppError::NotFound)?;
    let cache = if hashed == Some(hash.as_str()) {
        IMMUTABLE
    } else {
        PLAIN
    };
    Ok(crate::routes::cached::respond(file, &req, cache))
}
