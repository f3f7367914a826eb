//! `/withdraw/{token}`: the link in the email a signer gets once confirmed. `GET` only shows
//! the choices (mail scanners follow links); `POST` withdraws; `POST …/data` emails the signer
//! what the site holds about them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;

use crate::db;
use crate::domain::{Country, NameDisplay};
use crate::email::messages::DataEmail;
use crate::i18n::{Lang, Tr};
use crate::routes::error::AppError;
use crate::routes::extract::link::{Link, LinkKind};
use crate::routes::public::pages;
use crate::routes::{AppState, Layout, html};
use crate::usecases::signing::EmailCap;
use crate::usecases::withdrawal::{self, HeldData, WithdrawState};

#[derive(Template)]
#[template(path = "withdraw.html")]
struct WithdrawPage {
    l: Layout,
    petition_title: String,
    action: String,
    /// Kept by both forms, so the answer comes in the same language.
    lang: &'static str,
}

/// The link in the email a confirmed signer gets.
pub struct WithdrawLink;

impl LinkKind for WithdrawLink {
    fn dead_end(req: &HttpRequest, tr: Tr) -> Result<HttpResponse, AppError> {
        respond(req, tr, WithdrawState::Unknown, false)
    }
}

#[get("/withdraw/{token}")]
pub async fn show(
    state: web::Data<AppState>,
    Link { token, .. }: Link<WithdrawLink>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let hash = token.hash();
    let st = db::run(&state.pool, move |c| withdrawal::state(c, &hash)).await?;
    if let WithdrawState::Standing { petition_title } = st {
        let page = WithdrawPage {
            l: Layout::new(tr, tr.t("withdraw.title"), &req),
            petition_title,
            action: format!("/withdraw/{}", token.as_str()),
            lang: tr.code(),
        };
        return Ok(html(StatusCode::OK, page.render()?));
    }
    respond(&req, tr, st, false)
}

#[post("/withdraw/{token}")]
pub async fn withdraw(
    state: web::Data<AppState>,
    Link { token, .. }: Link<WithdrawLink>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let hash = token.hash();
    let now = db::now();
    let st = state
        .act(move |c| withdrawal::withdraw(c, &hash, now))
        .await?;
    if matches!(st, WithdrawState::Withdrawn { .. }) {
        tracing::info!("signature withdrawn by its signer");
    }
    respond(&req, tr, st, true)
}

#[post("/withdraw/{token}/data")]
pub async fn data(
    state: web::Data<AppState>,
    Link { token, .. }: Link<WithdrawLink>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let hash = token.hash();
    let now = db::now();
    let keys = state.keys.clone();
    let links = state.links.clone();
    let retention_days = state.settings.retention_days;
    let withdraw_url = state.url(&format!("/withdraw/{}", token.as_str()));
    let render = move |d: &HeldData| data_email(&links, retention_days, &withdraw_url, d);
    let cap = EmailCap {
        max: state.settings.max_confirmation_emails,
        window: crate::routes::signer::sign::EMAIL_CAP_WINDOW,
    };
    let sent = state
        .act(move |c| withdrawal::request_data(c, &keys, &hash, cap, now, &render))
        .await?;
    let message = if sent {
        "withdraw.data_sent.message"
    } else {
        // Unknown, withdrawn, or asked too often this hour: the same page for all, which
        // tells a stranger holding a guessed link nothing.
        "withdraw.data_sent.maybe"
    };
    pages::message(
        &req,
        tr,
        StatusCode::OK,
        "withdraw.data_sent.title",
        &[message],
        vec![("/".to_string(), tr.t("token.see_petitions"))],
    )
}

/// The email with everything held about one signature, in the signer's language.
fn data_email(
    links: &crate::email::Links,
    retention_days: u32,
    withdraw_url: &str,
    d: &HeldData,
) -> crate::domain::NewEmail {
    let tr = Tr::new(Lang::from_code(&d.locale).unwrap_or(Lang::En));
    let p = &d.personal;
    let display = NameDisplay::from_stored(&d.display);
    let mut rows = vec![
        (tr.t("confirm.name"), p.name.clone()),
        (tr.t("email.data.email"), p.email.clone()),
        (
            tr.t("confirm.country"),
            Country::name_of(&d.country, tr.lang).to_string(),
        ),
    ];
    if let Some(postcode) = &p.postcode {
        rows.push((tr.t("email.data.postcode"), postcode.clone()));
    }
    if let Some(comment) = &p.comment {
        rows.push((tr.t("confirm.comment"), comment.clone()));
    }
    rows.push((
        tr.t("confirm.public"),
        match display.shown(&p.name) {
            Some(shown) => tr.tf("confirm.public_as", &[("name", &shown)]),
            None => tr.t("confirm.public_no"),
        },
    ));
    rows.push((tr.t("email.data.signed_at"), tr.datetime(d.signed_at)));
    if let Some(at) = d.confirmed_at {
        rows.push((tr.t("email.data.confirmed_at"), tr.datetime(at)));
    }
    if let Some(n) = d.number {
        rows.push((tr.t("email.data.number"), tr.number(i64::from(n))));
    }
    rows.push((
        tr.t("email.data.updates"),
        tr.t(if d.wants_updates {
            "confirm.public_yes"
        } else {
            "confirm.public_no"
        }),
    ));
    rows.push((
        tr.t("email.data.network"),
        tr.t(if d.has_network_hash {
            "email.data.network_kept"
        } else {
            "email.data.network_none"
        }),
    ));
    if d.invalidated {
        rows.push((tr.t("email.data.status"), tr.t("email.data.invalidated")));
    }
    let retention = tr.tf(
        "email.data.retention",
        &[("days", &retention_days.to_string())],
    );
    let petition_url = links.url(&format!("/petitions/{}", d.petition_slug));
    DataEmail {
        tr,
        petition_title: &d.petition_title,
        rows,
        retention,
        withdraw_url,
    }
    .render(&p.email)
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "data email template failed");
        crate::domain::NewEmail {
            recipient: p.email.clone(),
            subject: d.petition_title.clone(),
            body_text: petition_url,
            body_html: String::new(),
        }
    })
}

/// The page for a link that shows no choices: withdrawn (just now or before) or unknown.
fn respond(
    req: &HttpRequest,
    tr: Tr,
    st: WithdrawState,
    just_now: bool,
) -> Result<HttpResponse, AppError> {
    match st {
        WithdrawState::Withdrawn { .. } => pages::message(
            req,
            tr,
            StatusCode::OK,
            "withdraw.done.title",
            &[if just_now {
                "withdraw.done.message"
            } else {
                "withdraw.already.message"
            }],
            vec![("/".to_string(), tr.t("token.see_petitions"))],
        ),
        WithdrawState::Standing { .. } | WithdrawState::Unknown => pages::message(
            req,
            tr,
            StatusCode::NOT_FOUND,
            "withdraw.unknown.title",
            &["withdraw.unknown.message"],
            vec![("/".to_string(), tr.t("token.see_petitions"))],
        ),
    }
}
