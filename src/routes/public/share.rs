//! Getting a petition around without trackers: QR codes of its address and a printable poster,
//! each for one language and one source tag (`?lang=hy&src=rally-yerevan`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;

use crate::db::{self, petitions::TextVersion, views::petition::PetitionView};
use crate::domain::Source;
use crate::i18n::{Lang, Tr};
use crate::routes::error::AppError;
use crate::routes::{AppState, Layout, html};

/// `?src=` and `?lang=`, both optional; a malformed tag is dropped, not an error.
#[derive(Debug, Default, Deserialize)]
pub struct ShareQuery {
    #[serde(default)]
    src: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

impl ShareQuery {
    pub fn source(&self) -> Option<Source> {
        self.src.as_deref().and_then(Source::parse)
    }

    fn lang(&self) -> Option<Lang> {
        self.lang.as_deref().and_then(Lang::from_exact)
    }
}

/// The address a QR code or poster leads to: the petition, in the language asked for, tallied
/// under the source tag given.
pub fn share_url(state: &AppState, slug: &str, lang: Option<Lang>, src: Option<&Source>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(lang) = lang {
        query.append_pair("lang", lang.code());
    }
    if let Some(src) = src {
        query.append_pair("src", src.as_str());
    }
    let query = query.finish();
    let url = state.url(&format!("/petitions/{slug}"));
    if query.is_empty() {
        url
    } else {
        format!("{url}?{query}")
    }
}

async fn petition(
    state: &AppState,
    slug: String,
) -> Result<std::sync::Arc<crate::live::Snapshot>, AppError> {
    state.petition(&slug).await
}

fn cached(content_type: &str, body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body)
}

/// What a QR code of the petition leads to, for the language and tag asked for.
async fn qr_target(state: &AppState, slug: String, query: &ShareQuery) -> Result<String, AppError> {
    let snapshot = petition(state, slug).await?;
    let view = &snapshot.view;
    Ok(share_url(
        state,
        &view.petition.slug,
        query.lang(),
        query.source().as_ref(),
    ))
}

/// Most QR codes kept: addresses differ only by petition, language and tag.
const QR_CACHE: usize = 2_000;

/// The QR code of `url` in `format`, made once (off the async threads) and then kept.
async fn qr_cached(
    state: &AppState,
    url: String,
    format: &'static str,
    make: fn(&str) -> Result<Vec<u8>, crate::qr::QrError>,
) -> Result<web::Bytes, AppError> {
    let key = (url, format);
    if let Some(hit) = state.qr_codes.get(&key) {
        return Ok(hit.clone());
    }
    let url = key.0.clone();
    let made = web::block(move || make(&url))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?
        .map_err(|e| AppError::Internal(e.into()))?;
    let made = web::Bytes::from(made);
    if state.qr_codes.len() >= QR_CACHE {
        state.qr_codes.clear();
    }
    state.qr_codes.insert(key, made.clone());
    Ok(made)
}

#[get("/petitions/{slug}/qr.svg")]
pub async fn qr_svg(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<ShareQuery>,
) -> Result<HttpResponse, AppError> {
    let url = qr_target(&state, slug.into_inner(), &query).await?;
    let svg = qr_cached(&state, url, "svg", |url| {
        crate::qr::svg(url, 600).map(String::into_bytes)
    })
    .await?;
    Ok(cached("image/svg+xml", svg))
}

#[get("/petitions/{slug}/qr.png")]
pub async fn qr_png(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<ShareQuery>,
) -> Result<HttpResponse, AppError> {
    let url = qr_target(&state, slug.into_inner(), &query).await?;
    let png = qr_cached(&state, url, "png", |url| crate::qr::png(url, 600)).await?;
    Ok(cached("image/png", png))
}

/// The petition's progress as the widget and the poster show it: no goal once it is closed.
fn progress(tr: &Tr, view: &PetitionView) -> crate::routes::public::petition::Progress {
    let total = view.petition.total_count();
    let progress = crate::routes::public::petition::Progress::new(tr, total, &view.goals);
    match view.petition.is_open_at(db::now()) {
        true => progress,
        false => progress.closed(tr, total),
    }
}

#[derive(Template)]
#[template(path = "poster.html")]
struct PosterPage<'a> {
    l: Layout,
    text: &'a TextVersion,
    /// What the petition asks, in a sentence or two.
    ask: String,
    qr: String,
    /// The address to type, without the scheme.
    short_url: String,
    site: String,
    progress: crate::routes::public::petition::Progress,
}

#[get("/petitions/{slug}/poster")]
pub async fn poster(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<ShareQuery>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let snapshot = petition(&state, slug.into_inner()).await?;
    let view = &snapshot.view;
    let text = view.text_for(tr.lang);
    let source = query.source();
    let mut qr = format!(
        "/petitions/{}/qr.svg?lang={}",
        view.petition.slug,
        tr.code()
    );
    if let Some(src) = &source {
        qr.push_str(&format!("&src={}", src.as_str()));
    }
    let url = state.url(&format!("/petitions/{}", view.petition.slug));
    let short_url = url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_string();
    let page = PosterPage {
        l: Layout::new(tr, text.title.clone(), &req),
        ask: text.ask(280),
        text,
        qr,
        short_url,
        site: state.site_name(&tr),
        progress: progress(&tr, view),
    };
    Ok(html(StatusCode::OK, page.render()?))
}

#[derive(Template)]
#[template(path = "embed.html")]
struct EmbedPage<'a> {
    l: Layout,
    text: &'a TextVersion,
    progress: crate::routes::public::petition::Progress,
    open: bool,
    /// The petition page, in this language, tallied under `embed` or the tag given.
    href: String,
    site: String,
}

/// A compact view of the petition made to be framed by partner sites: title, progress and a
/// button to sign. The only page that may be framed (`embed_frame_ancestors`).
#[get("/petitions/{slug}/embed")]
pub async fn embed(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<ShareQuery>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let snapshot = petition(&state, slug.into_inner()).await?;
    let view = &snapshot.view;
    let text = view.text_for(tr.lang);
    let source = query.source().or_else(|| Source::parse("embed"));
    let page = EmbedPage {
        l: Layout::new(tr, text.title.clone(), &req),
        text,
        progress: progress(&tr, view),
        open: view.petition.is_open_at(db::now()),
        href: format!(
            "{}#sign",
            share_url(&state, &view.petition.slug, Some(tr.lang), source.as_ref())
        ),
        site: state.site_name(&tr),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; \
                 form-action 'self'; frame-ancestors {}",
                state.settings.embed_frame_ancestors
            ),
        ))
        // Kept as long as the state it shows (`route_rules` adds `Vary: Accept-Language`).
        .insert_header((header::CACHE_CONTROL, state.public_cache_control()))
        .body(page.render()?))
}
