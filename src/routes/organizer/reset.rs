//! Password reset by email. The request always gets the same answer, so the form cannot tell
//! anyone which addresses have accounts; links are single-use, hashed, and last an hour.

use crate::routes::extract::auth::Session;
use crate::routes::extract::guards::{CsrfForm, Posted};
use crate::routes::extract::link::{Link, LinkKind, StillUsable};

crate::with_csrf!(RequestForm, ResetForm);
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::db::{self, organizers};
use crate::domain::ConfirmationToken;
use crate::email::messages::ResetEmail;
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::extract::auth;
use crate::routes::public::pages;
use crate::routes::{AppState, Layout, html, see_other};
use crate::services::password;
use crate::usecases;

#[derive(Template)]
#[template(path = "reset_request.html")]
struct RequestPage {
    l: Layout,
    csrf: String,
}

#[get("/login/reset")]
pub async fn request_form(
    session: Session,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let page = RequestPage {
        l: Layout::new(tr, tr.t("reset.title"), &req),
        csrf: auth::csrf_token(&session)?,
    };
    Ok(html(StatusCode::OK, page.render()?))
}

#[derive(Debug, Default, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
}

#[post("/login/reset")]
pub async fn request(
    state: web::Data<AppState>,
    tr: Tr,
    req: HttpRequest,
    CsrfForm(form): CsrfForm<RequestForm>,
) -> Result<HttpResponse, AppError> {
    let account = organizers::normalise_email(&form.email);
    if let Err(wait) = state
        .reset_limiter
        .check(&account, state.client_ip(&req), None)
    {
        return Err(AppError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let token = ConfirmationToken::generate();
    let link = state.url(&format!("/login/reset/{}", token.as_str()));
    let hash = token.hash();
    let now = db::now();
    let keys = state.keys.clone();
    let render = move |name: &str, to: &str| {
        ResetEmail {
            tr,
            name,
            link: &link,
            invite: false,
        }
        .render_or_plain(to)
    };
    state
        .act(move |c| usecases::organizers::request_reset(c, &keys, &account, &hash, now, &render))
        .await?;
    pages::message(
        &req,
        tr,
        StatusCode::OK,
        "reset.title",
        &["reset.sent"],
        vec![("/login".to_string(), tr.t("login.title"))],
    )
}

#[derive(Template)]
#[template(path = "reset_form.html")]
struct ResetPage {
    l: Layout,
    csrf: String,
    action: String,
    error: Option<String>,
}

/// A password reset link: single use, for an hour.
pub struct ResetLink;

impl LinkKind for ResetLink {
    const STILL_USABLE: Option<StillUsable> = Some(organizers::reset_usable);

    fn dead_end(req: &HttpRequest, tr: Tr) -> Result<HttpResponse, AppError> {
        pages::message(
            req,
            tr,
            StatusCode::GONE,
            "reset.gone_title",
            &["reset.gone_message"],
            vec![("/login/reset".to_string(), tr.t("reset.title"))],
        )
    }
}

/// The new-password form of a usable link, with what was wrong with the password sent, if one
/// was.
fn reset_page(
    req: &HttpRequest,
    tr: Tr,
    session: &Session,
    token: &ConfirmationToken,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = ResetPage {
        l: Layout::new(tr, tr.t("reset.new_title"), req),
        csrf: auth::csrf_token(session)?,
        action: format!("/login/reset/{}", token.as_str()),
        error,
    };
    Ok(html(status, page.render()?))
}

#[get("/login/reset/{token}")]
pub async fn reset_form(
    Link { token, .. }: Link<ResetLink>,
    session: Session,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    reset_page(&req, tr, &session, &token, None, StatusCode::OK)
}

#[derive(Debug, Default, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    password: String,
}

#[post("/login/reset/{token}")]
pub async fn reset(
    state: web::Data<AppState>,
    session: Session,
    tr: Tr,
    req: HttpRequest,
    Posted(form, Link { token, .. }): Posted<ResetForm, Link<ResetLink>>,
) -> Result<HttpResponse, AppError> {
    let new_password = match password::Password::parse(&form.password) {
        Ok(p) => p,
        Err(key) => {
            let error = Some(tr.t(&format!("error.{key}")));
            return reset_page(
                &req,
                tr,
                &session,
                &token,
                error,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let hash = state.hasher.hash(new_password).await?;
    let token_hash = token.hash();
    let now = db::now();
    let password_hash = hash.clone();
    let changed = usecases::run(&state.pool, move |c| {
        usecases::organizers::reset_password(c, &token_hash, &hash, now)
    })
    .await?;
    match changed {
        // Another reset of the same account won the race: sign in with that password.
        Some(id) if !auth::sign_in(&session, id, password_hash).await? => Ok(see_other("/login")),
        Some(_) => Ok(see_other("/dashboard")),
        None => ResetLink::dead_end(&req, tr),
    }
}
