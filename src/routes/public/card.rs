//! `GET /petitions/{slug}/card.png`: the share card a link to the petition previews with.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

use crate::db;
use crate::i18n::Tr;
use crate::routes::AppState;
use crate::routes::error::AppError;

/// What a card was drawn from: it is drawn again when any of this changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardKey {
    title: String,
    /// The count, in steps of half a percent of the goal (at least 5): a card follows the
    /// count when it has moved noticeably, not at every signature.
    step: i64,
    goal: i32,
    image: Option<chrono::NaiveDateTime>,
    open: bool,
}

/// How long browsers and unfurlers may keep a card.
const MAX_AGE_SECS: u32 = 600;

#[get("/petitions/{slug}/card.png")]
pub async fn card(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    tr: Tr,
) -> Result<HttpResponse, AppError> {
    let slug = slug.into_inner();
    let snapshot = state.petition(&slug).await?;
    let view = &snapshot.view;
    let id = view.petition.id;
    let image = if view.has_image {
        db::run(&state.pool, move |c| db::images::updated_at(c, id)).await?
    } else {
        None
    };
    let text = view.text_for(tr.lang);
    let total = view.petition.total_count();
    let goal = view.goals.current(total);
    let key = CardKey {
        title: text.title.clone(),
        step: total / (i64::from(goal) / 200).max(5),
        goal,
        image,
        open: view.petition.is_open_at(db::now()),
    };
    let cached = state
        .cards
        .get(&(slug.clone(), tr.lang))
        .filter(|hit| hit.0 == key)
        .map(|hit| hit.1.clone());
    let png = match cached {
        Some(png) => png,
        None => {
            let mut progress =
                crate::routes::public::petition::Progress::new(&tr, total, &view.goals);
            if !view.petition.is_open_at(db::now()) {
                progress = progress.closed(&tr, total);
            }
            let site = state.site_name(&tr);
            let title = text.title.clone();
            let petition_id = view.petition.id;
            let image = match image {
                Some(_) => db::run(&state.pool, move |c| db::images::get(c, petition_id)).await?,
                None => None,
            };
            // Drawing takes tens of milliseconds of one core: a few at a time, off the
            // database pool, and the card another request just drew is served as it is.
            let _turn = state
                .card_renders
                .acquire()
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            if let Some(hit) = state
                .cards
                .get(&(slug.clone(), tr.lang))
                .filter(|hit| hit.0 == key)
            {
                return Ok(respond(hit.1.clone()));
            }
            let png = web::block(move || {
                crate::card::png(&crate::card::Card {
                    title: &title,
                    progress: &progress.text,
                    percent: progress.percent,
                    site: &site,
                    image: image
                        .as_ref()
                        .map(|(mime, data, _)| (data.as_slice(), mime.as_str())),
                })
            })
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?
            .map_err(|e| AppError::Internal(e.into()))?;
            let png = web::Bytes::from(png);
            state.cards.insert((slug, tr.lang), (key, png.clone()));
            png
        }
    };
    Ok(respond(png))
}

fn respond(png: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={MAX_AGE_SECS}"),
        ))
        // Without `?lang=` the language comes from the browser's (`route_rules` says so in
        // `Vary`).
        .body(png)
}
