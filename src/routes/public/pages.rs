use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use crate::i18n::{LANG_COOKIE, Lang, Tr};
use crate::routes::error::{AppError, ErrorPage};
use crate::routes::{Layout, html};

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
    let tr = Tr::new(crate::routes::extract::lang::of_request(req));
    MessagePage {
        l: Layout::new(tr, tr.t(page.title_key), req),
        paragraphs: vec![tr.t(page.message_key)],
        links: vec![("/".to_string(), tr.t("error.home"))],
    }
    .render()
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    l: Layout,
    sections: Vec<(String, String)>,
}

/// The privacy notice: who runs the site, what is stored and why, who receives the list, how
/// long it is kept, how to withdraw, and where the server is; from the settings, so it is true
/// of this site.
#[get("/privacy")]
pub async fn privacy(
    state: web::Data<crate::routes::AppState>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let s = &state.settings;
    let who = match (&s.organization_name, &s.organization_contact) {
        (Some(name), Some(contact)) => tr.tf(
            "privacy.who",
            &[("name", name.as_str()), ("contact", contact.as_str())],
        ),
        (Some(name), None) => tr.tf("privacy.who_name", &[("name", name.as_str())]),
        (None, Some(contact)) => tr.tf("privacy.who_contact", &[("contact", contact.as_str())]),
        (None, None) => tr.t("privacy.who_unknown"),
    };
    let keep = tr.tf(
        "privacy.keep",
        &[
            ("days", &s.retention_days.to_string()),
            ("hours", &s.confirmation_ttl_hours.to_string()),
        ],
    );
    let location = match &s.server_location {
        Some(place) => tr.tf("privacy.where", &[("location", place.as_str())]),
        None => tr.t("privacy.where_unknown"),
    };
    let sections = vec![
        (tr.t("privacy.who_title"), who),
        (tr.t("privacy.what_title"), tr.t("privacy.p1")),
        (tr.t("privacy.public_title"), tr.t("privacy.public")),
        (tr.t("privacy.list_title"), tr.t("privacy.list")),
        (tr.t("privacy.keep_title"), keep),
        (tr.t("privacy.withdraw_title"), tr.t("privacy.withdraw")),
        (tr.t("privacy.security_title"), tr.t("privacy.security")),
        (tr.t("privacy.where_title"), location),
        (tr.t("privacy.cookies_title"), tr.t("privacy.p3")),
    ];
    let page = PrivacyPage {
        l: Layout::new(tr, tr.t("privacy.title"), &req),
        sections,
    };
    Ok(html(StatusCode::OK, page.render()?))
}

#[derive(serde::Deserialize)]
pub struct LangQuery {
    next: Option<String>,
}

/// Remembers a language choice in a cookie and goes back to the page it was made on.
#[get("/lang/{code}")]
pub async fn set_lang(
    state: web::Data<crate::routes::AppState>,
    code: web::Path<String>,
    query: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::from_code(&code).ok_or(AppError::NotFound)?;
    let next = with_lang(local_path(query.next.as_deref().unwrap_or("/")), lang);
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .max_age(Duration::days(365))
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(state.base_url.scheme() == "https")
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", next))
        .cookie(cookie)
        .finish())
}

/// A local path with `?lang=` set to `lang` (in place of any it had): public pages take their
/// language from the address, not from the cookie, so that proxies can keep them.
fn with_lang(path: &str, lang: Lang) -> String {
    let Ok(url) = url::Url::parse("http://local.invalid/").and_then(|b| b.join(path)) else {
        return format!("/?lang={}", lang.code());
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url.query_pairs().filter(|(k, _)| k != "lang") {
        query.append_pair(&k, &v);
    }
    query.append_pair("lang", lang.code());
    // Dot segments resolved (`/.//evil.example`) can leave `//host`: another site.
    let path = match url.path() {
        p if p.starts_with("//") => "/",
        p => p,
    };
    format!("{path}?{}", query.finish())
}

/// `next` if it is a path on this site, else `/`: never an open redirect. Browsers strip tabs
/// and newlines from URLs and read `\\` as `/`, so `/\t/evil.example` or `/\\evil.example` would
/// become `//evil.example`: any control character, backslash or leading `//` is refused, and
/// what is left must resolve to the same origin.
pub fn local_path(next: &str) -> &str {
    let plain = next.starts_with('/')
        && !next.starts_with("//")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !next.contains(['\u{2028}', '\u{2029}']);
    let base = url::Url::parse("http://local.invalid/").ok();
    let same_origin = base
        .as_ref()
        .and_then(|b| b.join(next).ok().map(|u| u.origin() == b.origin()))
        .unwrap_or(false);
    if plain && same_origin { next } else { "/" }
}

/// Anything no route matched.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed() {
        for ok in ["/", "/petitions/p?lang=fr", "/a/b#c", "/%2F%2Fevil.example"] {
            assert_eq!(local_path(ok), ok);
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: a=b",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "http:/evil.example",
            "evil.example",
            "/\0",
            "/\u{7f}x",
            "",
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }
}
