//! The public side of the signed logs (CONTRACT.md, "The signed log"): the verifier key, each
//! petition's latest checkpoint, its entries, and inclusion and consistency proofs. Everything
//! here is public, cacheable and open to other origins.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::db::{self, log as dblog};
use crate::log::merkle;
use crate::routes::AppState;
use crate::routes::api::{api_error, json};

/// Most entries one call returns.
pub const MAX_ENTRIES: u64 = 1_000;

/// Why a log request gets no answer: each becomes a JSON error.
enum Refusal {
    Bad(String),
    NotFound(&'static str),
    Unavailable,
}

impl Refusal {
    fn response(self) -> HttpResponse {
        match self {
            Refusal::Bad(m) => api_error(StatusCode::BAD_REQUEST, &m),
            Refusal::NotFound(m) => api_error(StatusCode::NOT_FOUND, m),
            Refusal::Unavailable => {
                api_error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
            }
        }
    }
}

impl From<db::DbError> for Refusal {
    fn from(e: db::DbError) -> Refusal {
        tracing::error!(error = %e, "log route failed");
        Refusal::Unavailable
    }
}

impl From<crate::usecases::UseCaseError> for Refusal {
    fn from(e: crate::usecases::UseCaseError) -> Refusal {
        match e {
            crate::usecases::UseCaseError::NotFound => Refusal::NotFound("no such petition"),
            e => {
                tracing::error!(error = %e, "log route failed");
                Refusal::Unavailable
            }
        }
    }
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal::Bad(message.into())
}

/// A petition's id and its latest checkpoint, or the response to give instead.
async fn latest(state: &AppState, slug: String) -> Result<(i32, dblog::StoredCheckpoint), Refusal> {
    let found = db::run(&state.pool, move |c| {
        let Some(p) = db::petitions::find_by_slug(c, &slug)? else {
            return Ok(None);
        };
        Ok(Some((p.id, dblog::latest(c, p.id)?)))
    })
    .await?;
    match found {
        None => Err(Refusal::NotFound("no petition with this slug")),
        Some((_, None)) => Err(Refusal::NotFound(
            "this petition's log has no checkpoint yet; try again in a second",
        )),
        Some((id, Some(c))) => Ok((id, c)),
    }
}

/// The query string's parameters, read leniently (a repeated name: the last one; bad
/// percent-encoding: replaced), so that every mistake gets the same JSON answer.
pub struct Params(Vec<(String, String)>);

impl Params {
    fn of(req: &HttpRequest) -> Params {
        Params(
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A whole number from the query string, or a 400 naming the parameter.
fn number(params: &Params, name: &str) -> Result<u64, Refusal> {
    let v = params
        .get(name)
        .ok_or_else(|| bad(format!("`{name}` is missing")))?;
    v.parse::<u64>()
        .map_err(|_| bad(format!("`{name}` must be a whole number")))
}

fn b64_hashes(hashes: &[merkle::Hash]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}

#[get("/.well-known/undersigned/log-key")]
pub async fn log_key(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(format!("{}\n", state.log.vkey()))
}

/// The latest checkpoint, with any witnesses' cosignature lines after the site's own.
#[get("/petitions/{slug}/log/checkpoint")]
pub async fn checkpoint(state: web::Data<AppState>, slug: web::Path<String>) -> HttpResponse {
    let note = async {
        let (id, c) = latest(&state, slug.into_inner()).await?;
        let lines = db::run(&state.pool, move |conn| {
            dblog::cosignatures(conn, id, c.size)
        })
        .await?;
        Ok::<_, Refusal>(dblog::with_cosignatures(&c.note, &state.trusted(lines)))
    };
    match note.await {
        Ok(note) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .insert_header(("Cache-Control", "public, max-age=1"))
            .body(note),
        Err(r) => r.response(),
    }
}

/// Longest cosigned note the site reads (a checkpoint's text is about 150 bytes).
pub const MAX_COSIGNED: usize = 8 << 10;

/// A witness hands in its cosignature: the checkpoint's note with its own signature line.
/// Kept if the text is one of this petition's checkpoints, to the letter, and a witness this
/// site trusts (`witness_keys`) signed it; the checkpoint is then served with that line.
/// (Routed in `app.rs` with a body limit of [`MAX_COSIGNED`].)
pub async fn cosign(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    cosign_with(&state, slug.into_inner(), &body)
        .await
        .unwrap_or_else(Refusal::response)
}

async fn cosign_with(state: &AppState, slug: String, body: &[u8]) -> Result<HttpResponse, Refusal> {
    let note = std::str::from_utf8(body).map_err(|_| bad("the note must be UTF-8 text"))?;
    let (text, signatures) = note
        .split_once("\n\n")
        .map(|(t, rest)| (format!("{t}\n"), rest.to_string()))
        .ok_or_else(|| bad("not a signed note: no blank line before the signatures"))?;
    let size: i64 = text
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| bad("not a checkpoint: line 2 must be the tree size"))?;
    // First: is it one of this petition's checkpoints? Only then is any signature checked.
    let lookup = text.clone();
    let found = db::run(&state.pool, move |conn| {
        let Some(p) = db::petitions::find_by_slug(conn, &slug)? else {
            return Ok(None);
        };
        Ok(dblog::checkpoint_at(conn, p.id, size)?
            .filter(|c| {
                c.note.len() > lookup.len()
                    && c.note.starts_with(&lookup)
                    && c.note[lookup.len()..].starts_with('\n')
            })
            .map(|_| p.id))
    })
    .await?;
    let Some(petition_id) = found else {
        return Err(Refusal::NotFound(
            "no checkpoint of this petition has this text",
        ));
    };
    // One line per trusted witness: the first with its name.
    let mut signed = Vec::new();
    for w in &state.witnesses {
        let prefix = format!("— {} ", w.name);
        if let Some(line) = signatures.lines().find(|l| l.starts_with(&prefix))
            && w.open_text(&format!("{text}\n{line}\n")).is_ok()
        {
            signed.push((w.vkey().to_string(), w.name.clone(), line.to_string()));
        }
    }
    if signed.is_empty() {
        return Err(bad(
            "no signature by a witness this site trusts (witness_keys)",
        ));
    }
    let names: Vec<String> = signed.iter().map(|(_, n, _)| n.clone()).collect();
    let lines: Vec<(String, String)> = signed.into_iter().map(|(k, _, l)| (k, l)).collect();
    state
        .act(move |c| crate::usecases::log::cosign(c, petition_id, size, &lines, db::now()))
        .await?;
    Ok(json(
        serde_json::json!({ "size": size, "cosigned_by": names }),
    ))
}

/// A petition's signed log as its latest checkpoint states it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct LogSummaryJson {
    /// The origin the checkpoint names: `<host>/petitions/<slug>`.
    origin: String,
    /// Entries in the tree.
    size: i64,
    /// The tree's root hash, base64.
    root: String,
    /// The total count the entries sum to.
    total: i64,
    /// The checkpoint, a C2SP signed note.
    checkpoint: String,
    /// The verifier key that signs it.
    vkey: String,
}

/// Entries of a log, each with its index and its leaf bytes.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EntriesJson {
    entries: Vec<EntryJson>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EntryJson {
    index: i64,
    /// The leaf bytes (a UTF-8 JSON object), base64.
    data: String,
}

/// An RFC 9162 proof: its hashes, base64, in order.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProofJson {
    hashes: Vec<String>,
}

/// The latest signed checkpoint of the petition's log.
#[utoipa::path(get, path = "/api/v1/petitions/{slug}/log", tag = "log",
    params(("slug" = String, Path, description = "The petition's slug")),
    responses(
        (status = 200, description = "The latest checkpoint", body = LogSummaryJson),
        (status = 404, description = "No such petition, or no checkpoint yet", body = crate::routes::api::ErrorJson),
    ))]
#[get("/api/v1/petitions/{slug}/log")]
pub async fn summary(state: web::Data<AppState>, slug: web::Path<String>) -> HttpResponse {
    let slug = slug.into_inner();
    match latest(&state, slug.clone()).await {
        Ok((_, c)) => json(LogSummaryJson {
            // The origin the checkpoint itself names (fixed when the log started).
            origin: c.note.lines().next().unwrap_or_default().to_string(),
            size: c.size,
            root: B64.encode(&c.root),
            total: c.total,
            vkey: state.log.vkey().to_string(),
            checkpoint: c.note,
        }),
        Err(r) => r.response(),
    }
}

/// Entries `start` (inclusive) to `end` (exclusive) of the log, at most 1,000 a call.
#[utoipa::path(get, path = "/api/v1/petitions/{slug}/log/entries", tag = "log",
    params(
        ("slug" = String, Path, description = "The petition's slug"),
        ("start" = u64, Query, description = "First entry"),
        ("end" = u64, Query, description = "One past the last entry"),
    ),
    responses(
        (status = 200, description = "The entries", body = EntriesJson),
        (status = 400, description = "A range the log cannot give", body = crate::routes::api::ErrorJson),
        (status = 404, description = "No such petition, or no checkpoint yet", body = crate::routes::api::ErrorJson),
    ))]
#[get("/api/v1/petitions/{slug}/log/entries")]
pub async fn entries(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    entries_of(&state, slug.into_inner(), &Params::of(&req))
        .await
        .unwrap_or_else(Refusal::response)
}

async fn entries_of(state: &AppState, slug: String, q: &Params) -> Result<HttpResponse, Refusal> {
    let (id, c) = latest(state, slug).await?;
    let start = number(q, "start")?;
    let end = number(q, "end")?;
    let size = c.size as u64;
    if start >= end {
        return Err(bad("`start` must be less than `end`"));
    }
    if end - start > MAX_ENTRIES {
        return Err(bad("at most 1000 entries a call: narrow `start`..`end`"));
    }
    if start >= size {
        return Err(bad(format!(
            "`start` is past the log's end ({size} entries)"
        )));
    }
    let end = end.min(size);
    let rows = db::run(&state.pool, move |conn| {
        dblog::entries(conn, id, start as i64, end as i64)
    })
    .await?;
    Ok(json(EntriesJson {
        entries: rows
            .into_iter()
            .map(|(index, data)| EntryJson {
                index,
                data: B64.encode(data),
            })
            .collect(),
    }))
}

/// The inclusion proof of entry `index` in the tree of `size` entries (RFC 9162).
#[utoipa::path(get, path = "/api/v1/petitions/{slug}/log/inclusion", tag = "log",
    params(
        ("slug" = String, Path, description = "The petition's slug"),
        ("index" = u64, Query, description = "The entry"),
        ("size" = u64, Query, description = "The tree's size"),
    ),
    responses(
        (status = 200, description = "The proof", body = ProofJson),
        (status = 400, description = "An index or size the log cannot prove", body = crate::routes::api::ErrorJson),
        (status = 404, description = "No such petition, or no checkpoint yet", body = crate::routes::api::ErrorJson),
    ))]
#[get("/api/v1/petitions/{slug}/log/inclusion")]
pub async fn inclusion(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    inclusion_of(&state, slug.into_inner(), &Params::of(&req))
        .await
        .unwrap_or_else(Refusal::response)
}

async fn inclusion_of(state: &AppState, slug: String, q: &Params) -> Result<HttpResponse, Refusal> {
    let (id, c) = latest(state, slug).await?;
    let index = number(q, "index")?;
    let size = number(q, "size")?;
    if size == 0 || size > c.size as u64 {
        return Err(bad(format!("`size` must be between 1 and {}", c.size)));
    }
    if index >= size {
        return Err(bad("`index` must be less than `size`"));
    }
    let proof = db::run(&state.pool, move |conn| {
        dblog::inclusion_proof(conn, id, index, size)
    })
    .await?;
    Ok(json(ProofJson {
        hashes: b64_hashes(&proof),
    }))
}

/// The consistency proof between the trees of `first` and `second` entries (RFC 9162).
#[utoipa::path(get, path = "/api/v1/petitions/{slug}/log/consistency", tag = "log",
    params(
        ("slug" = String, Path, description = "The petition's slug"),
        ("first" = u64, Query, description = "The older tree's size"),
        ("second" = u64, Query, description = "The newer tree's size"),
    ),
    responses(
        (status = 200, description = "The proof", body = ProofJson),
        (status = 400, description = "Sizes the log cannot prove", body = crate::routes::api::ErrorJson),
        (status = 404, description = "No such petition, or no checkpoint yet", body = crate::routes::api::ErrorJson),
    ))]
#[get("/api/v1/petitions/{slug}/log/consistency")]
pub async fn consistency(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    consistency_of(&state, slug.into_inner(), &Params::of(&req))
        .await
        .unwrap_or_else(Refusal::response)
}

async fn consistency_of(
    state: &AppState,
    slug: String,
    q: &Params,
) -> Result<HttpResponse, Refusal> {
    let (id, c) = latest(state, slug).await?;
    let first = number(q, "first")?;
    let second = number(q, "second")?;
    if second > c.size as u64 {
        return Err(bad(format!("`second` must be at most {}", c.size)));
    }
    if first == 0 || first > second {
        return Err(bad("`first` must be between 1 and `second`"));
    }
    let proof = db::run(&state.pool, move |conn| {
        dblog::consistency_proof(conn, id, first, second)
    })
    .await?;
    Ok(json(ProofJson {
        hashes: b64_hashes(&proof),
    }))
}
