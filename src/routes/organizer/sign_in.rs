//! Organizer sign-in, sign-out and the first-run setup link.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::db::{self, organizers};
use crate::domain::{ConfirmationToken, SignerEmail, SignerName};
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::extract::auth::{self, Session};
use crate::routes::extract::guards::{Button, CsrfForm, Posted};
use crate::routes::extract::link::{Link, LinkKind, StillUsable};
use crate::routes::public::pages;
use crate::routes::{AppState, Layout, field_error, html, see_other};

crate::with_csrf!(LoginForm, SetupForm);
use crate::services::password;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    csrf: String,
    email: String,
    error: Option<String>,
}

#[derive(Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

fn login_page(
    req: &HttpRequest,
    tr: Tr,
    session: &Session,
    email: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = LoginPage {
        l: Layout::new(tr, tr.t("login.title"), req),
        csrf: auth::csrf_token(session)?,
        email,
        error,
    };
    Ok(html(status, page.render()?))
}

#[get("/login")]
pub async fn login_form(
    session: Session,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    if auth::organizer(&session).await?.is_some() {
        return Ok(see_other("/dashboard"));
    }
    login_page(&req, tr, &session, String::new(), None, StatusCode::OK)
}

#[post("/login")]
pub async fn login(
    state: web::Data<AppState>,
    session: Session,
    tr: Tr,
    req: HttpRequest,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let account = organizers::normalise_email(&form.email);
    let lookup = account.clone();
    let found = db::run(&state.pool, move |c| organizers::credentials(c, &lookup)).await?;
    // Hashing is deliberately slow: bounded, off the async workers. An unknown address is
    // checked against a dummy hash so that it cannot be told apart from a wrong password.
    let (id, phc) = match found {
        Some((who, hash)) => (Some(who.id), Some(hash)),
        None => (None, None),
    };
    // A browser that signed in to this account before (with its current password) has a
    // sign-in budget of its own, which nobody elsewhere can use up.
    let device_cookie = req.cookie(auth::DEVICE_COOKIE);
    let device = device_cookie
        .as_ref()
        .zip(phc.as_deref())
        .and_then(|(c, hash)| auth::known_device(&state.keys, hash, c.value()));
    if let Err(wait) = state
        .login_limiter
        .check(&account, state.client_ip(&req), device)
    {
        return Err(AppError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let verified = state.hasher.verify(form.password, phc.clone()).await?;
    let signed_in = match (verified, id, phc) {
        (true, Some(id), Some(hash)) => auth::sign_in(&session, id, hash.clone())
            .await?
            .then_some((id, hash)),
        _ => None,
    };
    match signed_in {
        Some((id, hash)) => {
            tracing::info!(organizer.id = id, "organizer signed in");
            // An organizer with a second factor goes on to its step; the session opens no
            // dashboard page before it.
            let asks = db::run(&state.pool, move |c| {
                crate::usecases::factors::asks_second_factor(c, id)
            })
            .await?;
            let next = if asks { "/login/code" } else { "/dashboard" };
            let mut res = see_other(next);
            if device.is_none() {
                let cookie = actix_web::cookie::Cookie::build(
                    auth::DEVICE_COOKIE,
                    auth::device_cookie_value(&state.keys, &hash),
                )
                .path("/login")
                .http_only(true)
                .secure(state.https())
                .same_site(actix_web::cookie::SameSite::Strict)
                .max_age(actix_web::cookie::time::Duration::days(365))
                .finish();
                res.add_cookie(&cookie)
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("device cookie: {e}")))?;
            }
            Ok(res)
        }
        None => login_page(
            &req,
            tr,
            &session,
            form.email.chars().take(254).collect(),
            Some(tr.t("login.failed")),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    l: Layout,
    csrf: String,
    error: Option<String>,
}

fn code_page(
    req: &HttpRequest,
    tr: Tr,
    session: &Session,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = CodePage {
        l: Layout::new(tr, tr.t("code.title"), req),
        csrf: auth::csrf_token(session)?,
        error,
    };
    Ok(html(status, page.render()?))
}

/// The second step of a sign-in, for an organizer with a second factor whose session has not
/// proved it yet; anyone else goes where they belong.
#[get("/login/code")]
pub async fn code_form(
    session: Session,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    match auth::organizer(&session).await? {
        None => Ok(see_other("/login")),
        Some((_, auth::Factor::Pending)) => code_page(&req, tr, &session, None, StatusCode::OK),
        Some(_) => Ok(see_other("/dashboard")),
    }
}

#[derive(Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf_token: String,
}

crate::with_csrf!(CodeForm);

#[post("/login/code")]
pub async fn code(
    state: web::Data<AppState>,
    session: Session,
    tr: Tr,
    req: HttpRequest,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let who = match auth::organizer(&session).await? {
        None => return Ok(see_other("/login")),
        Some((who, auth::Factor::Pending)) => who,
        Some(_) => return Ok(see_other("/dashboard")),
    };
    // Wrong codes are throttled like wrong passwords, per account and per network.
    if let Err(wait) = state
        .login_limiter
        .check(&who.email, state.client_ip(&req), None)
    {
        return Err(AppError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let hash = auth::session_hash(&session).ok_or(AppError::LoginRequired)?;
    let keys = state.keys.clone();
    let code: String = form.code.chars().take(40).collect();
    let id = who.id;
    let step = crate::usecases::run(&state.pool, move |c| {
        crate::usecases::factors::second_step(c, &keys, id, &hash, &code, db::now())
    })
    .await?;
    use crate::usecases::factors::SecondStep;
    match step {
        SecondStep::Authenticator => Ok(see_other("/dashboard")),
        SecondStep::RecoveryCode { .. } => Ok(see_other("/dashboard/security?recovered=1")),
        SecondStep::Refused => code_page(
            &req,
            tr,
            &session,
            Some(tr.t("code.wrong")),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

#[post("/logout")]
pub async fn logout(_: CsrfForm<Button>, session: Session) -> Result<HttpResponse, AppError> {
    auth::sign_out(&session).await?;
    Ok(see_other("/login"))
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    l: Layout,
    csrf: String,
    action: String,
    name: String,
    email: String,
    errors: Vec<(&'static str, String)>,
}

impl SetupPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

/// The first-run setup link: single use, until the first admin exists.
pub struct SetupLink;

impl LinkKind for SetupLink {
    const STILL_USABLE: Option<StillUsable> = Some(organizers::setup_token_usable);

    fn dead_end(req: &HttpRequest, tr: Tr) -> Result<HttpResponse, AppError> {
        pages::message(
            req,
            tr,
            StatusCode::GONE,
            "setup.gone.title",
            &["setup.gone.message"],
            vec![("/login".to_string(), tr.t("login.title"))],
        )
    }
}

/// The setup form of a usable link: empty, or as it was sent with what to fix.
fn setup_page(
    req: &HttpRequest,
    tr: Tr,
    session: &Session,
    token: &ConfirmationToken,
    form: &SetupForm,
    errors: Vec<(&'static str, String)>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = SetupPage {
        l: Layout::new(tr, tr.t("setup.title"), req),
        csrf: auth::csrf_token(session)?,
        action: format!("/setup/{}", token.as_str()),
        name: form.name.chars().take(100).collect(),
        email: form.email.chars().take(254).collect(),
        errors,
    };
    Ok(html(status, page.render()?))
}

#[get("/setup/{token}")]
pub async fn setup_form(
    Link { token, .. }: Link<SetupLink>,
    session: Session,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let empty = SetupForm::default();
    setup_page(&req, tr, &session, &token, &empty, vec![], StatusCode::OK)
}

#[derive(Default, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

#[post("/setup/{token}")]
pub async fn setup(
    state: web::Data<AppState>,
    session: Session,
    tr: Tr,
    req: HttpRequest,
    Posted(form, Link { token, .. }): Posted<SetupForm, Link<SetupLink>>,
) -> Result<HttpResponse, AppError> {
    let name = SignerName::parse(&form.name);
    let email = SignerEmail::parse(&form.email);
    let pass = password::Password::parse(&form.password);
    let mut errors = vec![];
    if name.is_err() {
        errors.push(("name", tr.t("error.name.missing")));
    }
    if email.is_err() {
        errors.push(("email", tr.t("error.email.invalid")));
    }
    if let Err(key) = &pass {
        errors.push(("password", tr.t(&format!("error.{key}"))));
    }
    let (Ok(name), Ok(email), Ok(pass)) = (name, email, pass) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return setup_page(&req, tr, &session, &token, &form, errors, status);
    };
    let hash = state.hasher.hash(pass).await?;
    let token_hash = token.hash();
    let password_hash = hash.clone();
    let created = crate::usecases::run(&state.pool, move |c| {
        crate::usecases::organizers::create_first_admin(
            c,
            &token_hash,
            &organizers::NewOrganizer {
                email: email.as_str(),
                name: name.as_str(),
                password_hash: &hash,
                is_admin: true,
                created_at: db::now(),
            },
        )
    })
    .await?;
    match created {
        Some(id) => {
            auth::sign_in(&session, id, password_hash).await?;
            tracing::info!(
                organizer.id = id,
                "first admin created through the setup link"
            );
            Ok(see_other("/dashboard"))
        }
        None => SetupLink::dead_end(&req, tr),
    }
}
