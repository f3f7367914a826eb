//! Organizers post news on a petition, optionally emailed to the signers who asked for it.

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;

use crate::db;
use crate::routes::AppState;
use crate::routes::error::AppError;
use crate::routes::extract::guards::{ManagedPetition, Posted};
use crate::routes::organizer::to_petition;
use crate::usecases;

crate::with_csrf!(UpdateForm);

#[derive(Debug, Default, Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    /// Email it to the signers who asked for news.
    #[serde(default)]
    email: Option<String>,
    /// A random key the form was served with (idempotency).
    #[serde(default)]
    key: String,
}

#[post("/petitions/{slug}/updates")]
pub async fn post_update(
    state: web::Data<AppState>,
    Posted(form, petition): Posted<UpdateForm, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let (who, view) = (petition.organizer.who, petition.view);
    let p = view.petition;
    let title: String = form.title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() || title.chars().count() > 200 || form.body.chars().count() > 20_000 {
        return Err(AppError::BadRequest("updates.error"));
    }
    let send = form.email.as_deref().is_some_and(|v| !v.is_empty());
    let body = form.body.replace("\r\n", "\n");
    // The form's own key: the same form posted twice (a double click, a resubmission) is one
    // update, emailed once.
    let key: Option<String> = Some(form.key.trim())
        .filter(|k| !k.is_empty() && k.len() <= 64)
        .map(str::to_string);
    let petition_id = p.id;
    let posted = state
        .act(move |c| {
            usecases::updates::post(
                c,
                who.id,
                petition_id,
                &title,
                &body,
                send,
                key.as_deref(),
                db::now(),
            )
        })
        .await?;
    tracing::info!(
        petition.slug = %p.slug,
        recipients = posted.recipients,
        duplicate = posted.duplicate,
        "update posted"
    );
    Ok(to_petition(&p.slug))
}
