//! The audit log: the latest organizer actions, for admins.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use crate::db;
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::extract::guards::Admin;
use crate::routes::{AppState, Layout, html};

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    entries: Vec<(String, String, String, String, String)>,
}

/// The latest organizer actions, for admins.
#[get("/audit")]
pub async fn audit(
    state: web::Data<AppState>,
    _: Admin,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let entries = db::run(&state.pool, |c| db::audit::entries(c, 500)).await?;
    let page = AuditPage {
        l: Layout::new(tr, tr.t("audit.title"), &req),
        entries: entries
            .into_iter()
            .map(|e| {
                (
                    e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    e.organizer.unwrap_or_default(),
                    e.petition.unwrap_or_default(),
                    e.action,
                    e.detail,
                )
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, page.render()?))
}
