//! A petition's image, replaced or removed by its organizers.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, post, web};

use crate::db;
use crate::routes::AppState;
use crate::routes::error::AppError;
use crate::routes::extract::guards::ManagedPetition;
use crate::routes::extract::upload::{UploadQuery, read_upload};
use crate::routes::organizer::to_petition;
use crate::usecases;

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
        read_upload(session, &req, query.into_inner().csrf_token(), &mut payload).await?;
    let image = if remove {
        None
    } else {
        let content_type =
            crate::domain::image::accept(&image).ok_or(AppError::BadRequest("image.error"))?;
        Some((content_type, image))
    };
    state
        .act(move |c| usecases::petitions::set_image(c, who, petition_id, image, db::now()))
        .await?;
    Ok(to_petition(petition.slug()))
}
