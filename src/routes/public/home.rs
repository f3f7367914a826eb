use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use crate::db;
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::public::petition::Progress;
use crate::routes::{AppState, Layout, html};

struct Card {
    slug: String,
    title: String,
    summary: String,
    /// The language of the title and summary shown.
    lang: String,
    progress: Progress,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    cards: Vec<Card>,
}

#[get("/")]
pub async fn home(
    state: web::Data<AppState>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    // A link's source tag rides along in the language switcher: that page is not everyone's.
    if crate::domain::Source::from_query(req.query_string()).is_some() {
        return Ok(html(StatusCode::OK, render(&state, tr, &req).await?));
    }
    // The same page for everyone reading this language, made at most once per
    // `public_refresh_ms` (and at once after a change made here): at a campaign's peak,
    // visitors landing here cost no database work.
    let page = state
        .live
        .site_page("home", Some(tr.lang), || async {
            let body = render(&state, tr, &req).await?;
            Ok::<_, AppError>(crate::live::Rendered::new(
                "text/html; charset=utf-8",
                body,
                chrono::Utc::now(),
            ))
        })
        .await?;
    Ok(crate::routes::cached::respond(
        &page,
        &req,
        state.public_cache_control(),
    ))
}

/// The home page in `tr`'s language: every open petition, with its progress.
async fn render(state: &AppState, tr: Tr, req: &HttpRequest) -> Result<String, AppError> {
    let now = db::now();
    let (petitions, goals, mut translated) = db::run(&state.pool, move |c| {
        let petitions = db::petitions::list_open(c, now)?;
        let ids: Vec<i32> = petitions.iter().map(|p| p.id).collect();
        let goals = db::petitions::goals_of(c, &ids)?;
        let translated = db::petitions::titles_in(c, &ids, tr.lang)?;
        Ok((petitions, goals, translated))
    })
    .await?;
    let cards = petitions
        .into_iter()
        .zip(goals)
        .map(|(p, g)| {
            // The visitor's language where the petition has it; the card says which it is.
            let progress = Progress::new(&tr, p.total_count(), &g);
            let (title, summary, lang) = match translated.remove(&p.id) {
                Some((title, summary)) => (title, summary, tr.code().to_string()),
                None => (p.title, p.summary, p.language),
            };
            Card {
                progress,
                slug: p.slug,
                title,
                summary,
                lang,
            }
        })
        .collect();
    let page = HomePage {
        l: Layout::new(tr, tr.t("home.title"), req),
        cards,
    };
    Ok(page.render()?)
}
