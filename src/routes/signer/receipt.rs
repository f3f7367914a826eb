//! A signer's receipt: where their signature stands in the petition's signed log, checked by
//! the server (the page states the facts) and again in the visitor's browser (static/receipt.js,
//! Web Crypto only). The JSON variant gives what a tool needs to check it: the leaf, its index,
//! the inclusion proof and the checkpoint.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::i18n::{Lang, Tr};
use crate::log::entry::EventKind;
use crate::routes::api::{api_error, json};
use crate::routes::error::AppError;
use crate::routes::{AppState, Layout, html};
use crate::usecases::receipts::{self, Standing};

async fn standing(
    state: &AppState,
    slug: String,
    code: String,
    lang: Option<Lang>,
) -> Result<Option<Standing>, AppError> {
    Ok(crate::usecases::run(&state.pool, move |c| {
        receipts::standing(c, &slug, &code, lang)
    })
    .await?)
}

/// Whether the server itself can check the receipt with this site's key.
fn verified(state: &AppState, s: &Standing) -> bool {
    s.verified(state.log.vkey())
}

/// The proof of a receipt, as the page's script and the JSON route give it: the entry's index
/// and data, the inclusion proof and the checkpoint it leads to; `None` before the entry is in
/// a checkpoint.
fn proof_json(s: &Standing) -> Option<serde_json::Value> {
    let ((index, leaf, proof), cp) = (s.entry.as_ref()?, s.checkpoint.as_ref()?);
    Some(serde_json::json!({
        "index": index,
        "leaf": B64.encode(leaf),
        "inclusion": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
        "checkpoint": cp.note,
        "size": cp.size,
        "counted": matches!(s.last, Some(EventKind::Confirmed | EventKind::Restored)),
    }))
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    l: Layout,
    petition_title: String,
    petition_lang: &'static str,
    petition_url: String,
    /// The facts, one sentence each.
    facts: Vec<String>,
    counted: bool,
    /// For the in-browser check.
    data: String,
}

#[get("/petitions/{slug}/receipt/{code}")]
pub async fn page(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (slug, code) = path.into_inner();
    let s = standing(&state, slug.clone(), code, Some(tr.lang))
        .await?
        .ok_or(AppError::NotFound)?;
    let ok = verified(&state, &s);
    let counted = matches!(s.last, Some(EventKind::Confirmed | EventKind::Restored));
    let mut facts = vec![];
    match (&s.entry, &s.checkpoint) {
        (Some((index, _, _)), Some(cp)) if ok => {
            facts.push(tr.tf(
                "receipt.in_log",
                &[
                    ("index", &tr.number(index + 1)),
                    ("size", &tr.number(cp.size)),
                    ("time", &tr.datetime(cp.created_at)),
                ],
            ));
            facts.push(tr.t(if counted {
                "receipt.counted"
            } else {
                "receipt.not_counted"
            }));
            facts.push(tr.tf("receipt.total", &[("total", &tr.number(cp.total))]));
        }
        _ if s.last.is_none() || s.entry.is_none() => facts.push(tr.t("receipt.pending")),
        _ => facts.push(tr.t("receipt.unverified")),
    }
    let (title_lang, petition_title) = s.petition_title.clone().unwrap_or((tr.lang, String::new()));
    let data = proof_json(&s)
        .map(|mut p| {
            p["vkey"] = state.log.vkey().into();
            p.to_string()
        })
        .unwrap_or_default();
    let page = ReceiptPage {
        l: Layout::new(tr, tr.t("receipt.title"), &req),
        petition_url: format!("/petitions/{slug}?lang={}", tr.lang.code()),
        petition_lang: title_lang.code(),
        petition_title,
        facts,
        counted,
        // Inside a <script type="application/json">: no "</" may close it early.
        data: data.replace("</", "<\\/"),
    };
    Ok(html(StatusCode::OK, page.render()?))
}

#[get("/api/v1/petitions/{slug}/receipt/{code}")]
pub async fn api(state: web::Data<AppState>, path: web::Path<(String, String)>) -> HttpResponse {
    let (slug, code) = path.into_inner();
    let s = match standing(&state, slug, code, None).await {
        Ok(Some(s)) => s,
        Ok(None) => return api_error(StatusCode::NOT_FOUND, "no receipt with this code"),
        Err(e) => {
            tracing::error!(error = %e, "receipt failed");
            return api_error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
        }
    };
    match proof_json(&s) {
        Some(body) => {
            let mut res = json(body);
            // Personal in the sense that only its holder should link it to a signer.
            res.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-store"),
            );
            res
        }
        None => api_error(
            StatusCode::NOT_FOUND,
            "the signature is not in a signed checkpoint yet; try again in a second",
        ),
    }
}
