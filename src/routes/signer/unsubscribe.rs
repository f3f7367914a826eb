//! A signer stops the news of a petition through the link in each update email.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;

use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::public::pages;
use crate::routes::{AppState, Layout, html};
use crate::usecases::updates::UnsubscribeLink;

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    l: Layout,
    action: String,
}

/// Shows a button: mail scanners open links, so only the POST unsubscribes.
#[get("/unsubscribe/{signature}/{mac}")]
pub async fn unsubscribe_form(
    state: web::Data<AppState>,
    path: web::Path<(i32, String)>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (signature, mac) = path.into_inner();
    // The form for a link that is not one would unsubscribe no one: not found at once.
    UnsubscribeLink::check(&state.keys, signature, &mac).ok_or(AppError::NotFound)?;
    let page = UnsubscribePage {
        l: Layout::new(tr, tr.t("updates.unsubscribe_title"), &req),
        action: format!("/unsubscribe/{signature}/{mac}"),
    };
    Ok(html(StatusCode::OK, page.render()?))
}

#[post("/unsubscribe/{signature}/{mac}")]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    path: web::Path<(i32, String)>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (signature, mac) = path.into_inner();
    let link = UnsubscribeLink::check(&state.keys, signature, &mac).ok_or(AppError::NotFound)?;
    let done = crate::usecases::run(&state.pool, move |c| {
        crate::usecases::updates::unsubscribe(c, link)
    })
    .await?;
    if !done {
        return Err(AppError::NotFound);
    }
    pages::message(
        &req,
        tr,
        StatusCode::OK,
        "updates.unsubscribed_title",
        &["updates.unsubscribed"],
        vec![],
    )
}
