//! The organizer dashboard: the petitions an organizer manages, with their progress.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use crate::db::{self, organizers};
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::extract::auth;
use crate::routes::extract::guards::Organizer;
use crate::routes::{AppState, Layout, html};

struct Row {
    slug: String,
    title: String,
    status: String,
    count: String,
    goal: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    l: Layout,
    csrf: String,
    signed_in_as: String,
    is_admin: bool,
    rows: Vec<Row>,
    /// "N emails are waiting to go out; the oldest for M minutes", when the outbox is behind.
    outbox_behind: Option<String>,
    /// One line per petition of this organizer whose signed log cannot start.
    log_stuck: Vec<String>,
}

/// The outbox is behind when an email has waited this long.
const OUTBOX_BEHIND_SECS: i64 = 60;

#[get("")]
pub async fn dashboard(
    state: web::Data<AppState>,
    organizer: Organizer,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let Organizer { who, session, .. } = organizer;
    let now = db::now();
    let (who, petitions, goals, (waiting, oldest), stuck) = db::run(&state.pool, move |c| {
        let petitions = organizers::petitions_of(c, &who)?;
        let ids: Vec<i32> = petitions.iter().map(|p| p.id).collect();
        let goals = db::petitions::goals_of(c, &ids)?;
        let backlog = db::outbox::backlog(c)?;
        let stuck = db::log::stuck(c, now)?;
        Ok((who, petitions, goals, backlog, stuck))
    })
    .await?;
    let log_stuck = stuck
        .into_iter()
        .filter(|(id, _)| petitions.iter().any(|p| p.id == *id))
        .map(|(_, title)| tr.tf("dashboard.log_stuck", &[("title", &title)]))
        .collect();
    let rows = petitions
        .into_iter()
        .zip(goals)
        .map(|(p, g)| {
            let count = p.total_count();
            Row {
                status: tr.t(&format!("status.{}", p.public_status(now))),
                count: tr.number(count),
                goal: tr.number(i64::from(g.current(count))),
                slug: p.slug,
                title: p.title,
            }
        })
        .collect();
    let page = DashboardPage {
        l: Layout::new(tr, tr.t("dashboard.title"), &req),
        csrf: auth::csrf_token(&session)?,
        signed_in_as: tr.tf("dashboard.signed_in_as", &[("name", &who.name)]),
        is_admin: who.is_admin,
        rows,
        log_stuck,
        outbox_behind: oldest
            .map(|t| (now - t).num_seconds())
            .filter(|age| *age >= OUTBOX_BEHIND_SECS)
            .map(|age| {
                tr.tf(
                    "dashboard.outbox_behind",
                    &[
                        ("count", &tr.number(waiting)),
                        ("minutes", &tr.number((age / 60).max(1))),
                    ],
                )
            }),
    };
    Ok(html(StatusCode::OK, page.render()?))
}
