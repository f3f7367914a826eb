//! Adding and removing paper signatures gathered at events.

use actix_web::{HttpResponse, post, web};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::db;
use crate::routes::AppState;
use crate::routes::error::AppError;
use crate::routes::extract::guards::{Button, ManagedPetition, Posted};
use crate::routes::organizer::to_petition;
use crate::usecases;

#[derive(Debug, Default, Deserialize)]
pub struct PaperForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    count: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    collected_on: String,
    #[serde(default)]
    note: String,
}

crate::with_csrf!(PaperForm);

#[post("/petitions/{slug}/paper")]
pub async fn add(
    state: web::Data<AppState>,
    Posted(form, petition): Posted<PaperForm, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let (petition_id, who) = (petition.id(), petition.who());
    let count: i32 = form
        .count
        .trim()
        .replace([' ', ',', '.', '\u{202f}', '\u{a0}'], "")
        .parse()
        .ok()
        .filter(|n| (1..=usecases::paper::MAX_BATCH).contains(n))
        .ok_or(AppError::BadRequest("paper.error_count"))?;
    let now = db::now();
    let collected_on = NaiveDate::parse_from_str(form.collected_on.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .filter(|d| d.date() <= now.date())
        .ok_or(AppError::BadRequest("paper.error_date"))?;
    let note: String = form.note.split_whitespace().collect::<Vec<_>>().join(" ");
    let note: String = note.chars().take(200).collect();
    state
        .act(move |c| usecases::paper::add(c, who, petition_id, count, collected_on, &note, now))
        .await?;
    Ok(to_petition(petition.slug()))
}

#[post("/petitions/{slug}/paper/{id}/delete")]
pub async fn remove(
    state: web::Data<AppState>,
    path: web::Path<(String, i32)>,
    Posted(_, petition): Posted<Button, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let batch = path.into_inner().1;
    let (petition_id, who) = (petition.id(), petition.who());
    state
        .act(move |c| usecases::paper::remove(c, who, petition_id, batch, db::now()))
        .await?;
    Ok(to_petition(petition.slug()))
}
