use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use super::{Layout, html};
use crate::error::{AppError, ErrorPage};
use crate::i18n::{LANG_COOKIE, Lang, Tr};

/// A page of a heading, paragraphs and links: errors, notices, the privacy notice.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub l: Layout,
    pub paragraphs: Vec<String>,
    pub links: Vec<(String, String)>,
}

/// Renders a translated message page.
pub fn message(
    req: &HttpRequest,
    tr: Tr,
    status: StatusCode,
    title_key: &str,
    paragraph_keys: &[&str],
    links: Vec<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let page = MessagePage {
        l: Layout::new(tr, tr.t(title_key), req),
        paragraphs: paragraph_keys.iter().map(|k| tr.t(k)).collect(),
        links,
    };
    Ok(html(status, page.render()?))
}

/// The HTML body of an error page (used by the error-page middleware).
pub fn error_body(req: &HttpRequest, page: &ErrorPage) -> Result<String, askama::Error> {
    let tr = Tr::new(Lang::for_request(req));
    MessagePage {
        l: Layout::new(tr, tr.t(page.title_key), req),
        paragraphs: vec![tr.t(page.message_key)],
        links: vec![("/".to_string(), tr.t("error.home"))],
    }
    .render()
}

#[get("/privacy")]
pub async fn privacy(tr: Tr, req: HttpRequest) -> Result<HttpResponse, AppError> {
    message(
        &req,
        tr,
        StatusCode::OK,
        "privacy.title",
        &["privacy.p1", "privacy.p2", "privacy.p3"],
        vec![],
    )
}

#[derive(serde::Deserialize)]
pub struct LangQuery {
    next: Option<String>,
}

/// Remembers a language choice in a cookie and goes back to the page it was made on.
#[get("/lang/{code}")]
pub async fn set_lang(
    state: web::Data<super::AppState>,
    code: web::Path<String>,
    query: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::from_code(&code).ok_or(AppError::NotFound)?;
    // Only local paths: never an open redirect to another site.
    let next = query
        .next
        .as_deref()
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/");
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .max_age(Duration::days(365))
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(state.base_url.scheme() == "https")
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", next.to_string()))
        .cookie(cookie)
        .finish())
}

/// Anything no route matched.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
