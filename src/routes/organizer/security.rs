//! An organizer's own security page (`GET /dashboard/security`): the authenticator app, its
//! enrolment, and the recovery codes, shown once.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::extract::auth;
use crate::routes::extract::guards::{Button, Organizer, Posted};
use crate::routes::{AppState, Layout, html};
use crate::usecases::{self, factors};

/// An enrolment under way: what the app needs to read.
struct Enrolling {
    uri: String,
    secret: String,
    qr: String,
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    l: Layout,
    csrf: String,
    enrolled: bool,
    codes_left: String,
    enrolling: Option<Enrolling>,
    recovery_codes: Vec<String>,
    status: Option<String>,
    error: Option<String>,
    /// The account's live sessions, as lines to show, this one marked.
    sessions: Vec<String>,
}

#[derive(Default)]
struct Shown {
    /// Signed in just now with a recovery code: say how many are left.
    recovered: bool,
    enrolling: Option<Enrolling>,
    recovery_codes: Vec<String>,
    status: Option<String>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    tr: Tr,
    organizer: &Organizer,
    shown: Shown,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let id = organizer.who.id;
    let lifetime = state.session_lifetime();
    let (enrolled, live) = db::run(&state.pool, move |c| {
        Ok((
            factors::enrolled(c, id)?,
            db::sessions::live_of(c, id, db::now(), lifetime)?,
        ))
    })
    .await?;
    let this = auth::session_hash(&organizer.session);
    let sessions = live
        .iter()
        .map(|s| {
            let line = tr.tf(
                "security.session",
                &[
                    ("start", &tr.datetime(s.created_at)),
                    ("seen", &tr.datetime(s.last_seen_at)),
                ],
            );
            if this.as_deref() == Some(s.id_hash.as_str()) {
                format!("{line} ({})", tr.t("security.this_session"))
            } else {
                line
            }
        })
        .collect();
    let page = SecurityPage {
        l: Layout::new(tr, tr.t("security.title"), req),
        csrf: auth::csrf_token(&organizer.session)?,
        enrolled: enrolled.authenticator,
        codes_left: tr.tf(
            "security.codes_left",
            &[("count", &tr.number(enrolled.recovery_codes_left))],
        ),
        enrolling: shown.enrolling,
        recovery_codes: shown.recovery_codes,
        status: match shown.recovered {
            true => Some(tr.tf(
                "code.recovery_used",
                &[("left", &tr.number(enrolled.recovery_codes_left))],
            )),
            false => shown.status,
        },
        error: shown.error,
        sessions,
    };
    Ok(html(status, page.render()?))
}

fn enrolling(
    state: &AppState,
    organizer: &Organizer,
    app: &crate::factors::Authenticator,
) -> Result<Enrolling, AppError> {
    let issuer = state
        .settings
        .organization_name
        .clone()
        .unwrap_or_else(|| "undersigned".to_string());
    let uri = app
        .uri(&issuer, &organizer.who.email)
        .map_err(|e| AppError::Internal(e.into()))?;
    let qr = crate::qr::svg(&uri, 240).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    let secret = base32_of(app.secret());
    Ok(Enrolling { uri, secret, qr })
}

/// The enrolment the organizer began and has not finished, as the page shows it.
async fn pending_enrolment(
    state: &AppState,
    organizer: &Organizer,
) -> Result<Option<Enrolling>, AppError> {
    let id = organizer.who.id;
    let keys = state.keys.clone();
    let pending = usecases::run(&state.pool, move |c| {
        factors::pending_authenticator(c, &keys, id)
    })
    .await?;
    pending
        .map(|app| enrolling(state, organizer, &app))
        .transpose()
}

/// RFC 4648 base 32 without padding, in groups of four, as apps ask it typed.
fn base32_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Default, Deserialize)]
pub struct SecurityQuery {
    #[serde(default)]
    recovered: Option<String>,
}

#[get("/security")]
pub async fn show(
    state: web::Data<AppState>,
    organizer: Organizer,
    query: web::Query<SecurityQuery>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let shown = Shown {
        recovered: query.recovered.is_some(),
        enrolling: pending_enrolment(&state, &organizer).await?,
        ..Shown::default()
    };
    page(&state, &req, tr, &organizer, shown, StatusCode::OK).await
}

/// Begins enrolling an authenticator app: the page shows its address to scan.
#[post("/security/authenticator")]
pub async fn begin(
    state: web::Data<AppState>,
    Posted(_, organizer): Posted<Button, Organizer>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = organizer.who.id;
    let keys = state.keys.clone();
    let app = usecases::run(&state.pool, move |c| {
        factors::begin_authenticator(c, &keys, id, db::now())
    })
    .await?;
    let shown = Shown {
        enrolling: Some(enrolling(&state, &organizer, &app)?),
        ..Shown::default()
    };
    page(&state, &req, tr, &organizer, shown, StatusCode::OK).await
}

/// Ends every other session of the account: the browser in use stays signed in.
#[post("/security/sessions/end-others")]
pub async fn end_others(
    state: web::Data<AppState>,
    Posted(_, organizer): Posted<Button, Organizer>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = organizer.who.id;
    let keep = auth::session_hash(&organizer.session).ok_or(AppError::LoginRequired)?;
    let ended = usecases::run(&state.pool, move |c| {
        usecases::sessions::end_others(c, id, &keep, db::now())
    })
    .await?;
    let count = i64::try_from(ended).unwrap_or(i64::MAX);
    let shown = Shown {
        status: Some(tr.tf("security.ended", &[("count", &tr.number(count))])),
        ..Shown::default()
    };
    page(&state, &req, tr, &organizer, shown, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    code: String,
}

crate::with_csrf!(CodeForm);

/// Finishes the enrolment with a first code from the app; the first factor's recovery codes
/// are shown now, once.
#[post("/security/authenticator/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    Posted(form, organizer): Posted<CodeForm, Organizer>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = organizer.who.id;
    let keys = state.keys.clone();
    let code: String = form.code.chars().take(40).collect();
    let session = auth::session_hash(&organizer.session).ok_or(AppError::LoginRequired)?;
    let confirmed = usecases::run(&state.pool, move |c| {
        factors::confirm_authenticator(c, &keys, id, &session, &code, db::now())
    })
    .await?;
    match confirmed {
        Some(recovery_codes) => {
            let shown = Shown {
                recovery_codes,
                status: Some(tr.t("security.enrolled")),
                ..Shown::default()
            };
            page(&state, &req, tr, &organizer, shown, StatusCode::OK).await
        }
        None => {
            let shown = Shown {
                enrolling: pending_enrolment(&state, &organizer).await?,
                error: Some(tr.t("security.wrong_code")),
                ..Shown::default()
            };
            page(
                &state,
                &req,
                tr,
                &organizer,
                shown,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_key_to_type_is_rfc_4648_base32_in_groups_of_four() {
        assert_eq!(
            super::base32_of(b"12345678901234567890"),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
    }
}
