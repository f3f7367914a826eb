//! An organizer gives a colleague (another organizer account) access to a petition.

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;

use crate::db;
use crate::routes::AppState;
use crate::routes::error::AppError;
use crate::routes::extract::guards::{ManagedPetition, Posted};
use crate::routes::organizer::to_petition;
use crate::usecases;

crate::with_csrf!(AddForm);

#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
}

/// Gives another organizer access to a petition the signed-in organizer manages.
#[post("/petitions/{slug}/organizers")]
pub async fn add_to_petition(
    state: web::Data<AppState>,
    Posted(form, petition): Posted<AddForm, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let (who, id) = (petition.who(), petition.id());
    let email = form.email.clone();
    let added = usecases::run(&state.pool, move |c| {
        usecases::petitions::add_colleague(c, who, id, &email, db::now())
    })
    .await?;
    if !added {
        return Err(AppError::BadRequest("accounts.unknown"));
    }
    Ok(to_petition(petition.slug()))
}
