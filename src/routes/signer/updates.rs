//! Updates: organizers post news on a petition, optionally emailed to signers who opted in, each
//! email with an unsubscribe link.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::extract::guards::{CsrfForm, ManagedPetition};
use crate::routes::public::pages;
use crate::routes::{AppState, Layout, html};

crate::with_csrf!(UpdateForm);
use crate::usecases;

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
    CsrfForm(form): CsrfForm<UpdateForm>,
    petition: ManagedPetition,
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
    let posted = usecases::run(&state.pool, move |c| {
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
    if posted.recipients > 0 && !posted.duplicate {
        state.wake_mailer.notify_one();
    }
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", format!("/dashboard/petitions/{}", p.slug)))
        .finish())
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    l: Layout,
    action: String,
}

fn check(state: &AppState, signature: i32, mac: &str) -> Result<(), AppError> {
    if state.keys.unsubscribe_mac_matches(signature, mac) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
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
    check(&state, signature, &mac)?;
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
    check(&state, signature, &mac)?;
    if !db::run(&state.pool, move |c| db::updates::unsubscribe(c, signature)).await? {
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
