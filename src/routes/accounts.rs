//! Admins manage organizer accounts; organizers add colleagues to their petitions.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::TimeDelta;
use serde::Deserialize;

use super::{AppState, Layout, html};
use crate::auth::{self, password};
use crate::db::{self, organizers};
use crate::domain::{ConfirmationToken, SignerEmail, SignerName};
use crate::email::messages::ResetEmail;
use crate::error::AppError;
use crate::i18n::Tr;

/// How long an invitation link works.
const INVITE_HOURS: i64 = 72;

async fn admin(state: &AppState, session: &Session) -> Result<organizers::Organizer, AppError> {
    let id = auth::organizer_id(session).ok_or(AppError::LoginRequired)?;
    db::run(&state.pool, move |c| organizers::find(c, id))
        .await?
        .filter(|o| o.is_admin)
        .ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "organizers.html")]
struct OrganizersPage {
    l: Layout,
    csrf: String,
    rows: Vec<(String, String, bool, String)>,
}

#[get("/dashboard/organizers")]
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    admin(&state, &session).await?;
    let all = db::run(&state.pool, organizers::list).await?;
    let page = OrganizersPage {
        l: Layout::new(tr, tr.t("accounts.title"), &req),
        csrf: auth::csrf_token(&session)?,
        rows: all
            .into_iter()
            .map(|o| (o.name, o.email, o.is_admin, tr.date(o.created_at)))
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
#[post("/dashboard/organizers")]
pub async fn invite(
    state: web::Data<AppState>,
    session: Session,
    tr: Tr,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    auth::check_csrf(&session, &form.csrf_token)?;
    let me = admin(&state, &session).await?;
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
    let created = db::run(&state.pool, move |c| {
        let new = organizers::NewOrganizer {
            email: email.as_str(),
            name: name.as_str(),
            password_hash: &placeholder,
            is_admin,
            created_at: now,
        };
        let id = match organizers::create(c, &new) {
            Ok(id) => id,
            Err(organizers::CreateError::EmailTaken(_)) => return Ok(false),
            Err(organizers::CreateError::Db(e)) => return Err(e),
        };
        let message = ResetEmail {
            tr,
            name: name.as_str(),
            link: &link,
            invite: true,
        }
        .render(&organizers::normalise_email(email.as_str()))
        .map_err(|e| db::DbError::Other(format!("invitation email: {e}")))?;
        organizers::create_reset(
            c,
            id,
            &hash,
            now,
            now + TimeDelta::hours(INVITE_HOURS),
            &message,
        )?;
        db::audit::record(
            c,
            Some(me.id),
            None,
            "invite-organizer",
            email.as_str(),
            now,
        )?;
        Ok(true)
    })
    .await?;
    if !created {
        return Err(AppError::BadRequest("accounts.taken"));
    }
    state.wake_mailer.notify_one();
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/dashboard/organizers"))
        .finish())
}

#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
}

/// Gives another organizer access to a petition the signed-in organizer manages.
#[post("/dashboard/petitions/{slug}/organizers")]
pub async fn add_to_petition(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    session: Session,
    form: web::Form<AddForm>,
) -> Result<HttpResponse, AppError> {
    auth::check_csrf(&session, &form.csrf_token)?;
    let (who, view) = super::managed_petition(&state, &session, slug.into_inner()).await?;
    let p = view.petition;
    let email = form.email.clone();
    let result = db::run(&state.pool, move |c| {
        db::write_tx(c, |c| {
            let Some((colleague, _)) = organizers::credentials(c, &email)? else {
                return Ok(Err(AppError::BadRequest("accounts.unknown")));
            };
            db::petitions::add_organizer(c, p.id, colleague.id)?;
            db::audit::record(
                c,
                Some(who.id),
                Some(p.id),
                "add-organizer",
                &colleague.email,
                db::now(),
            )?;
            Ok(Ok(p.slug))
        })
    })
    .await??;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", format!("/dashboard/petitions/{result}")))
        .finish())
}
