//! Adding and removing paper signatures gathered at events.

use crate::routes::extract::auth::Session;
use actix_web::{HttpResponse, post, web};
use chrono::NaiveDate;
use serde::Deserialize;

use super::AppState;
use crate::db;
use crate::routes::error::AppError;
use crate::routes::extract::auth;
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

/// The petition's id and the organizer's, if the organizer may manage it.
async fn managed(
    state: &AppState,
    session: &Session,
    slug: String,
) -> Result<(i32, i32), AppError> {
    super::managed_petition(state, session, slug)
        .await
        .map(|(who, view)| (view.petition.id, who.id))
}

fn back(slug: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/dashboard/petitions/{slug}")))
        .finish()
}

#[post("/dashboard/petitions/{slug}/paper")]
pub async fn add(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    session: Session,
    form: web::Form<PaperForm>,
) -> Result<HttpResponse, AppError> {
    auth::check_csrf(&session, &form.csrf_token)?;
    let slug = slug.into_inner();
    let (petition_id, who) = managed(&state, &session, slug.clone()).await?;
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
    usecases::run(&state.pool, move |c| {
        usecases::paper::add(c, who, petition_id, count, collected_on, &note, now)
    })
    .await?;
    Ok(back(&slug))
}

#[post("/dashboard/petitions/{slug}/paper/{id}/delete")]
pub async fn remove(
    state: web::Data<AppState>,
    path: web::Path<(String, i32)>,
    session: Session,
    form: web::Form<super::sign_in::CsrfForm>,
) -> Result<HttpResponse, AppError> {
    auth::check_csrf(&session, &form.csrf_token)?;
    let (slug, batch) = path.into_inner();
    let (petition_id, who) = managed(&state, &session, slug.clone()).await?;
    usecases::run(&state.pool, move |c| {
        usecases::paper::remove(c, who, petition_id, batch, db::now())
    })
    .await?;
    Ok(back(&slug))
}
