//! Admins manage organizer accounts; organizers add colleagues to their petitions.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::db::{self, organizers, sessions};
use crate::domain::{ConfirmationToken, SignerEmail, SignerName};
use crate::email::messages::ResetEmail;
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::extract::auth;
use crate::routes::extract::guards::{Admin, Button, Posted};
use crate::routes::{AppState, Layout, html, see_other};
use crate::services::password;
use crate::usecases;

crate::with_csrf!(InviteForm);

/// One account as the admin's list shows it.
struct AccountRow {
    id: i32,
    name: String,
    email: String,
    admin: bool,
    created: String,
    sessions: i64,
}

#[derive(Template)]
#[template(path = "organizers.html")]
struct OrganizersPage {
    l: Layout,
    csrf: String,
    rows: Vec<AccountRow>,
}

#[get("/organizers")]
pub async fn list(
    state: web::Data<AppState>,
    Admin(me): Admin,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let session = &me.session;
    let lifetime = state.session_lifetime();
    let (all, live) = db::run(&state.pool, move |c| {
        Ok((
            organizers::list(c)?,
            sessions::live_counts(c, db::now(), lifetime)?,
        ))
    })
    .await?;
    let live: std::collections::HashMap<i32, i64> = live.into_iter().collect();
    let page = OrganizersPage {
        l: Layout::new(tr, tr.t("accounts.title"), &req),
        csrf: auth::csrf_token(session)?,
        rows: all
            .into_iter()
            .map(|o| AccountRow {
                id: o.id,
                sessions: live.get(&o.id).copied().unwrap_or(0),
                name: o.name,
                email: o.email,
                admin: o.is_admin,
                created: tr.date(o.created_at),
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, page.render()?))
}

#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    admin: Option<String>,
}

/// Creates an account and emails its owner a link to choose a password: nobody ever types a
/// password for someone else.
#[post("/organizers")]
pub async fn invite(
    state: web::Data<AppState>,
    tr: Tr,
    Posted(form, Admin(me)): Posted<InviteForm, Admin>,
) -> Result<HttpResponse, AppError> {
    let me = me.who;
    let name =
        SignerName::parse(&form.name).map_err(|_| AppError::BadRequest("error.name.missing"))?;
    let email =
        SignerEmail::parse(&form.email).map_err(|_| AppError::BadRequest("error.email.invalid"))?;
    // An unusable password until the invitation is used: 43 random characters nobody knows.
    let unknown = password::Password::parse(ConfirmationToken::generate().as_str())
        .map_err(|_| AppError::Internal(anyhow::anyhow!("placeholder password")))?;
    let placeholder = state.hasher.hash(unknown).await?;
    let token = ConfirmationToken::generate();
    let link = state.url(&format!("/login/reset/{}", token.as_str()));
    let hash = token.hash();
    let is_admin = form.admin.as_deref().is_some_and(|v| !v.is_empty());
    let now = db::now();
    let name_text = name.as_str().to_string();
    let keys = state.keys.clone();
    let render = move |to: &str| {
        ResetEmail {
            tr,
            name: name.as_str(),
            link: &link,
            invite: true,
        }
        .render_or_plain(to)
    };
    let created = state
        .act(move |c| {
            let invitation = usecases::organizers::Invitation {
                admin_id: me.id,
                account: organizers::NewOrganizer {
                    email: email.as_str(),
                    name: name_text.as_str(),
                    password_hash: &placeholder,
                    is_admin,
                    created_at: now,
                },
                link: &hash,
            };
            usecases::organizers::invite(c, &keys, &invitation, &render)
        })
        .await?;
    if !created {
        return Err(AppError::BadRequest("accounts.taken"));
    }
    Ok(see_other("/dashboard/organizers"))
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    l: Layout,
    csrf: String,
    action: String,
    hint: String,
    /// Signed in, last active.
    rows: Vec<(String, String)>,
}

/// An admin sees when an organizer's sessions began and were last used.
#[get("/organizers/{id}/sessions")]
pub async fn sessions_page(
    state: web::Data<AppState>,
    Admin(me): Admin,
    id: web::Path<i32>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let session = &me.session;
    let id = id.into_inner();
    let lifetime = state.session_lifetime();
    let (who, live) = db::run(&state.pool, move |c| {
        Ok((
            organizers::find(c, id)?,
            sessions::live_of(c, id, db::now(), lifetime)?,
        ))
    })
    .await?;
    let who = who.ok_or(AppError::NotFound)?;
    let hours = state.settings.session_max_hours.to_string();
    let minutes = state.settings.session_idle_minutes.to_string();
    let page = SessionsPage {
        l: Layout::new(
            tr,
            tr.tf("accounts.sessions_title", &[("name", &who.name)]),
            &req,
        ),
        csrf: auth::csrf_token(session)?,
        action: format!("/dashboard/organizers/{id}/sessions/end"),
        hint: tr.tf(
            "accounts.sessions_hint",
            &[("hours", &hours), ("minutes", &minutes)],
        ),
        rows: live
            .into_iter()
            .map(|s| (tr.datetime(s.created_at), tr.datetime(s.last_seen_at)))
            .collect(),
    };
    Ok(html(StatusCode::OK, page.render()?))
}

/// An admin ends every session of an organizer: each of their browsers is signed out at once.
#[post("/organizers/{id}/sessions/end")]
pub async fn end_sessions(
    state: web::Data<AppState>,
    id: web::Path<i32>,
    Posted(_, Admin(me)): Posted<Button, Admin>,
) -> Result<HttpResponse, AppError> {
    let me = me.who;
    let id = id.into_inner();
    let ended = crate::usecases::run(&state.pool, move |c| {
        crate::usecases::sessions::end_all(c, me.id, id, db::now())
    })
    .await?;
    tracing::info!(
        organizer.id = id,
        sessions = ended,
        "sessions ended by an admin"
    );
    Ok(see_other(&format!("/dashboard/organizers/{id}/sessions")))
}

/// The largest logo accepted.
const MAX_LOGO: usize = 512 * 1024;

/// Replaces the site's logo (PNG, JPEG or WebP, recognised by its content, up to 512 KB), or
/// removes it; admins only. Multipart, as a petition's image.
#[post("/logo")]
pub async fn set_logo(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    req: HttpRequest,
    query: web::Query<crate::routes::extract::upload::UploadQuery>,
    mut payload: actix_multipart::Multipart,
) -> Result<HttpResponse, AppError> {
    let who = admin.who;
    let (image, remove) = crate::routes::extract::upload::read_upload(
        &admin.session,
        &req,
        query.into_inner().csrf_token(),
        &mut payload,
    )
    .await?;
    let upload = if remove {
        None
    } else {
        if image.len() > MAX_LOGO {
            return Err(AppError::TooLarge);
        }
        let kind =
            crate::domain::image::accept(&image).ok_or(AppError::BadRequest("image.error"))?;
        Some((kind, image))
    };
    let present = upload.is_some();
    let done = crate::usecases::run(&state.pool, move |c| {
        crate::usecases::site::set_logo(c, who.id, upload, db::now())
    })
    .await?;
    // Whether there is a logo first, then every page made again: none is made in between with
    // the old header and kept as new.
    state
        .logo
        .store(present, std::sync::atomic::Ordering::Relaxed);
    state.apply(&done.changes);
    Ok(see_other("/dashboard/organizers#logo"))
}
