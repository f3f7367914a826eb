//! A petition's image and the site's logo, served to everyone.

use actix_web::{HttpResponse, get, web};

use crate::db;
use crate::routes::AppState;
use crate::routes::error::AppError;

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

/// The site's logo, shown in every page's header.
#[get("/logo")]
pub async fn logo(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let (kind, bytes) = db::run(&state.pool, db::site::logo)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(bytes))
}
