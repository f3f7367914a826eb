//! The public JSON API: petition summaries and counts, for dashboards, partner sites and press.

use actix_web::{HttpResponse, get, web};
use chrono::NaiveDateTime;
use serde::Serialize;

use crate::db::{self, views::petition::PetitionView};
use crate::routes::AppState;
use crate::routes::api::{ErrorJson, api_error, json};

#[derive(Serialize, utoipa::ToSchema)]
pub struct CountryCount {
    pub code: String,
    pub count: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DayCount {
    pub date: String,
    pub count: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PetitionJson {
    pub slug: String,
    pub title: String,
    pub url: String,
    pub status: &'static str,
    /// Confirmed, valid online signatures.
    pub signature_count: i64,
    /// Signatures gathered on paper and added by organizers.
    pub paper_signature_count: i64,
    /// Online and paper together: what the page shows and goals are measured against.
    pub total_count: i64,
    pub goal: i64,
    pub goals: Vec<i64>,
    pub targets: Vec<String>,
    pub created_at: String,
    pub closes_at: Option<String>,
    /// Countries with at least `public_country_min` signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures_by_country: Option<Vec<CountryCount>>,
    /// The signatures from countries with fewer, summed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures_in_other_countries: Option<i64>,
    /// Confirmed signatures per UTC day over the last 90 days (days with none left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures_by_day: Option<Vec<DayCount>>,
    /// The petition's signed log: its latest checkpoint's size and total, and how to check it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogJson>,
    /// Deliveries to officials, each with the signed checkpoint it carried.
    pub deliveries: Vec<DeliveryJson>,
    /// The language of the original text (`title`, `targets`).
    pub language: &'static str,
    /// The versions in other languages, by language code.
    pub translations: std::collections::BTreeMap<&'static str, TranslationJson>,
}

/// A petition's version in another language.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TranslationJson {
    pub title: String,
    pub summary: String,
    pub targets: Vec<String>,
    /// Made from an older original text: the organizers have yet to update it.
    pub outdated: bool,
    /// The page in this language.
    pub url: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryJson {
    pub recipient: String,
    /// The day (YYYY-MM-DD).
    pub delivered_on: String,
    /// The total the delivered checkpoint commits to, and its size.
    pub total: i64,
    pub size: i64,
    /// The signed checkpoint handed over (a C2SP signed note).
    pub checkpoint: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LogJson {
    /// Entries in the latest checkpoint.
    pub size: i64,
    /// The total the latest checkpoint commits to: `total_count`, up to `log_interval_ms` later.
    pub total: i64,
    pub checkpoint_url: String,
    pub vkey: String,
    /// The newest checkpoint witnesses cosigned: its size and total, the note with their
    /// cosignature lines, and their names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witnessed: Option<WitnessedJson>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WitnessedJson {
    pub size: i64,
    pub total: i64,
    pub checkpoint: String,
    pub witnesses: Vec<String>,
}

fn iso(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl PetitionJson {
    fn new(state: &AppState, v: &PetitionView, with_countries: bool) -> PetitionJson {
        let language = v.original().lang.code();
        let translations = v
            .texts
            .iter()
            .filter(|t| !t.original)
            .map(|t| {
                (
                    t.lang.code(),
                    TranslationJson {
                        title: t.title.clone(),
                        summary: t.summary.clone(),
                        targets: t.targets.clone(),
                        outdated: t.outdated,
                        url: state.version_url(&v.petition.slug, t.lang, t.original),
                    },
                )
            })
            .collect();
        let p = &v.petition;
        let total = p.total_count();
        let (shown, other) =
            crate::routes::public_countries(&v.by_country, state.settings.public_country_min);
        PetitionJson {
            language,
            translations,
            url: state.url(&format!("/petitions/{}", p.slug)),
            status: p.public_status(db::now()),
            signature_count: p.signature_count,
            paper_signature_count: p.paper_count,
            total_count: total,
            goal: i64::from(v.goals.current(total)),
            goals: v.goals.as_slice().iter().map(|&g| i64::from(g)).collect(),
            targets: v.targets.clone(),
            created_at: iso(p.created_at),
            closes_at: p.closes_at.map(iso),
            signatures_by_country: with_countries.then(|| {
                shown
                    .into_iter()
                    .map(|(code, n)| CountryCount {
                        code,
                        count: i64::from(n),
                    })
                    .collect()
            }),
            signatures_in_other_countries: with_countries.then_some(other),
            signatures_by_day: None,
            deliveries: v
                .deliveries
                .iter()
                .map(|d| DeliveryJson {
                    recipient: d.recipient.clone(),
                    delivered_on: d.delivered_on.format("%Y-%m-%d").to_string(),
                    total: d.total,
                    size: d.size,
                    checkpoint: d.checkpoint.clone(),
                })
                .collect(),
            log: v.verified.as_ref().map(|c| LogJson {
                size: c.size,
                total: c.total,
                checkpoint_url: state.url(&format!("/petitions/{}/log/checkpoint", p.slug)),
                vkey: state.log.vkey().to_string(),
                witnessed: v.witnessed.as_ref().and_then(|w| {
                    let lines = state.trusted(w.lines.clone());
                    (!lines.is_empty()).then(|| WitnessedJson {
                        size: w.size,
                        total: w.total,
                        checkpoint: crate::db::log::with_cosignatures(&w.note, &lines),
                        witnesses: lines.into_iter().map(|(name, _)| name).collect(),
                    })
                }),
            }),
            slug: p.slug.clone(),
            title: p.title.clone(),
        }
    }
}

/// A petition, or only its count (`?fields=count`): for the API's description.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum PetitionOrCount<'a> {
    Petition(Box<PetitionJson>),
    Count(CountJson<'a>),
}

/// The public JSON API, described from its handlers and types.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "undersigned public API",
        description = "Petitions, their counts and their signed logs. Everything here is public and \
            may be cached by proxies for the site's refresh interval."
    ),
    paths(
        list,
        detail,
        crate::routes::api::log::summary,
        crate::routes::api::log::entries,
        crate::routes::api::log::inclusion,
        crate::routes::api::log::consistency
    )
)]
pub struct ApiDoc;

/// The API's OpenAPI document, made once.
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| {
        use utoipa::OpenApi;
        ApiDoc::openapi().to_pretty_json().unwrap_or_default()
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(doc.clone())
}

/// Every petition, without its countries and daily series.
#[utoipa::path(get, path = "/api/v1/petitions", tag = "petitions",
    responses(
        (status = 200, description = "The petitions", body = Vec<PetitionJson>),
        (status = 503, description = "The database does not answer", body = ErrorJson),
    ))]
#[get("/api/v1/petitions")]
pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    let views = db::run(&state.pool, |c| {
        let slugs: Vec<String> = db::petitions::list(c)?
            .into_iter()
            .map(|p| p.slug)
            .collect();
        let mut views = Vec::with_capacity(slugs.len());
        for slug in slugs {
            views.extend(db::views::petition::view(c, &slug)?);
        }
        Ok(views)
    })
    .await;
    match views {
        Ok(views) => json(
            views
                .iter()
                .map(|v| PetitionJson::new(&state, v, false))
                .collect::<Vec<_>>(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "api list failed");
            api_error(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable",
            )
        }
    }
}

/// `?fields=count`: only what a page watching the count needs.
#[derive(serde::Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    fields: Option<String>,
}

/// The count as a watching page polls it: a subset of the petition JSON, same names.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CountJson<'a> {
    slug: &'a str,
    status: &'static str,
    signature_count: i64,
    paper_signature_count: i64,
    total_count: i64,
    goal: i64,
}

/// The whole petition or, with `?fields=count`, its count. At most `public_refresh_ms` old;
/// proxies may keep it as long (`ETag`, `304`).
#[utoipa::path(get, path = "/api/v1/petitions/{slug}", tag = "petitions",
    params(
        ("slug" = String, Path, description = "The petition's slug"),
        ("fields" = Option<String>, Query, description = "`count`: only the count, for pages that watch it"),
    ),
    responses(
        (status = 200, description = "The petition, or its count with `fields=count`", body = PetitionOrCount),
        (status = 304, description = "Unchanged since the `ETag` given in `If-None-Match`"),
        (status = 400, description = "An unknown `fields`", body = ErrorJson),
        (status = 404, description = "No petition with this slug", body = ErrorJson),
        (status = 503, description = "The database does not answer", body = ErrorJson),
    ))]
#[get("/api/v1/petitions/{slug}")]
pub async fn detail(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<DetailQuery>,
    req: actix_web::HttpRequest,
) -> HttpResponse {
    let count_only = match query.fields.as_deref() {
        None | Some("") => false,
        Some("count") => true,
        Some(_) => {
            return api_error(
                actix_web::http::StatusCode::BAD_REQUEST,
                "fields: only `count` is known",
            );
        }
    };
    let snapshot = match state.petition(&slug).await {
        Ok(s) => s,
        Err(crate::routes::error::AppError::NotFound) => {
            return api_error(
                actix_web::http::StatusCode::NOT_FOUND,
                "no petition with this slug",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "api detail failed");
            return api_error(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable",
            );
        }
    };
    let what = if count_only {
        "count.json"
    } else {
        "petition.json"
    };
    let rendered = snapshot
        .rendered(what, None, || {
            let v = &snapshot.view;
            let body = if count_only {
                let total = v.petition.total_count();
                serde_json::to_vec(&CountJson {
                    slug: &v.petition.slug,
                    status: v.petition.public_status(db::now()),
                    signature_count: v.petition.signature_count,
                    paper_signature_count: v.petition.paper_count,
                    total_count: total,
                    goal: i64::from(v.goals.current(total)),
                })
            } else {
                let mut body = PetitionJson::new(&state, v, true);
                body.signatures_by_day = Some(
                    snapshot
                        .days
                        .1
                        .iter()
                        .map(|d| DayCount {
                            date: d.day.clone(),
                            count: d.count,
                        })
                        .collect(),
                );
                serde_json::to_vec(&body)
            };
            body.map(|b| crate::live::Rendered::new("application/json", b, snapshot.read_at_wall))
        })
        .await;
    match rendered {
        Ok(r) => {
            let mut res = crate::routes::cached::respond(&r, &req, state.public_cache_control());
            res.headers_mut().insert(
                actix_web::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
                actix_web::http::header::HeaderValue::from_static("*"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "petition JSON failed");
            api_error(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the petition could not be written as JSON",
            )
        }
    }
}
