//! Moderation: the searchable signer list, invalidating and restoring signatures (one or a batch
//! by email domain, time window or network), and the audit log for admins.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::db::moderation;
use crate::db::views::signers::{self as signer_list, Criteria, PAGE_SIZE};
use crate::domain::{Country, SignatureStatus, SignerEmail};
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::extract::auth;
use crate::routes::extract::guards::{ManagedPetition, Posted};
use crate::routes::{AppState, Layout, html, see_other};

crate::with_csrf!(ActionForm);
use crate::usecases::{
    self,
    moderation::{Action, Selection},
};

/// Search and batch criteria as they travel in query strings and forms.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CriteriaForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    /// A signature id: "signatures from the same network as this one".
    #[serde(default)]
    network: String,
    #[serde(default)]
    page: Option<i64>,
}

fn text(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.chars().take(max).collect())
}

impl CriteriaForm {
    async fn criteria(&self, state: &AppState, petition_id: i32) -> Result<Criteria, AppError> {
        let ip_hash = match self.network.trim() {
            "" => None,
            id => {
                let id: i32 = id
                    .parse()
                    .map_err(|_| AppError::BadRequest("error.bad_request.message"))?;
                let hash = db::run(&state.pool, move |c| {
                    moderation::ip_hash_of(c, petition_id, id)
                })
                .await?;
                // A signature without a recorded network matches nothing, not everything.
                Some(hash.unwrap_or_else(|| "-".to_string()))
            }
        };
        // An address is found by its keyed hash, exactly; anything else is part of a name (or
        // an address), matched on the opened rows.
        let q = text(&self.q, 254);
        let email = q.as_deref().and_then(|q| SignerEmail::parse(q).ok());
        let keys = &state.keys;
        Ok(Criteria {
            email_index: email
                .as_ref()
                .map(|e| keys.email_index(petition_id, e.dedupe_key())),
            text: q.filter(|_| email.is_none()).map(|q| q.to_lowercase()),
            // The domain as the stored hashes saw it: normalised like an address's.
            domain_index: text(&self.domain, 253).map(|d| {
                let d = d.trim_start_matches('@').to_lowercase();
                match SignerEmail::parse(&format!("x@{d}")) {
                    Ok(e) => keys.domain_index_of(petition_id, e.dedupe_key()),
                    Err(_) => keys.domain_index(petition_id, &d),
                }
            }),
            from: crate::routes::parse_day(&self.from)?,
            until: crate::routes::parse_day_end(&self.until)?,
            ip_hash,
        })
    }

    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("domain", self.domain.as_str()),
            ("from", self.from.as_str()),
            ("until", self.until.as_str()),
            ("network", self.network.as_str()),
        ])
        .unwrap_or_default()
    }
}

struct Row {
    id: i32,
    name: String,
    email: String,
    country: &'static str,
    date: String,
    state: String,
    invalidated: bool,
    /// The comment the signer chose to show on the page.
    /// The comment the signer chose to show, and whether it is hidden.
    public_comment: Option<(String, bool)>,
}

#[derive(Template)]
#[template(path = "signers.html")]
struct SignersPage {
    l: Layout,
    slug: String,
    csrf: String,
    f: CriteriaForm,
    batch: bool,
    total: String,
    rows: Vec<Row>,
    prev: Option<String>,
    next: Option<String>,
}

#[get("/petitions/{slug}/signers")]
pub async fn signers(
    state: web::Data<AppState>,
    petition: ManagedPetition,
    query: web::Query<CriteriaForm>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (session, p) = (petition.organizer.session, petition.view.petition);
    let f = query.into_inner();
    let criteria = f.criteria(&state, p.id).await?;
    let page = f.page.unwrap_or(0).clamp(0, 1_000_000);
    let batch = criteria.is_narrowing();
    let pid = p.id;
    let keys = state.keys.clone();
    let (rows, total) = db::run(&state.pool, move |c| {
        signer_list::list(c, &keys, pid, &criteria, page)
    })
    .await?;
    let qs = f.query_string();
    let rows = rows
        .into_iter()
        .map(|r| Row {
            state: match (&r.invalidated_at, SignatureStatus::from_stored(&r.status)) {
                _ if r.withdrawn_at.is_some() => tr.t("moderation.withdrawn"),
                (Some(_), _) => tr.tf(
                    "moderation.invalidated",
                    &[("reason", r.invalidation_reason.as_deref().unwrap_or(""))],
                ),
                (None, SignatureStatus::Confirmed) => tr.t("moderation.confirmed"),
                (None, SignatureStatus::Pending) => tr.t("moderation.pending"),
            },
            invalidated: r.invalidated_at.is_some(),
            public_comment: r.public_comment.clone(),
            country: Country::name_of(&r.country, tr.lang),
            date: tr.date(r.created_at),
            id: r.id,
            name: r.name.unwrap_or_else(|| tr.t("moderation.erased")),
            email: r.email.unwrap_or_default(),
        })
        .collect();
    let base = format!("/dashboard/petitions/{}/signers?{qs}", p.slug);
    let page_view = SignersPage {
        l: Layout::new(tr, tr.tf("moderation.title", &[("title", &p.title)]), &req),
        slug: p.slug.clone(),
        csrf: auth::csrf_token(&session)?,
        batch,
        total: tr.tf("moderation.total", &[("count", &tr.number(total))]),
        rows,
        prev: (page > 0).then(|| format!("{base}&page={}", page - 1)),
        next: ((page + 1) * PAGE_SIZE < total).then(|| format!("{base}&page={}", page + 1)),
        f,
    };
    Ok(html(StatusCode::OK, page_view.render()?))
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    /// `invalidate` or `restore`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    /// One signature; absent for a batch by criteria.
    #[serde(default)]
    id: Option<i32>,
    #[serde(flatten)]
    criteria: CriteriaForm,
}

#[post("/petitions/{slug}/signers")]
pub async fn act(
    state: web::Data<AppState>,
    Posted(form, petition): Posted<ActionForm, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let (who, p) = (petition.organizer.who, petition.view.petition);
    let hide = match form.action.as_str() {
        "hide_comment" => Some(true),
        "show_comment" => Some(false),
        _ => None,
    };
    if let Some(hidden) = hide {
        // A comment off the page, or back on it; the signature and the count stand.
        let id = form
            .id
            .ok_or(AppError::BadRequest("error.bad_request.message"))?;
        let pid = p.id;
        state
            .act(move |c| {
                usecases::moderation::set_comment_hidden(c, who.id, pid, id, hidden, db::now())
            })
            .await?;
        return Ok(back_to_signers(&p.slug, &form.criteria));
    }
    let invalidate = match form.action.as_str() {
        "invalidate" => true,
        "restore" => false,
        _ => return Err(AppError::BadRequest("error.bad_request.message")),
    };
    let reason: String = form.reason.trim().chars().take(200).collect();
    if invalidate && reason.is_empty() {
        return Err(AppError::BadRequest("moderation.reason_required"));
    }
    let criteria = form.criteria.criteria(&state, p.id).await?;
    // A batch must be narrowed by something other than a free-text search, so that one click
    // cannot invalidate a whole petition.
    if form.id.is_none() && !criteria.is_narrowing() {
        return Err(AppError::BadRequest("moderation.criteria_required"));
    }
    let selection = Selection {
        ids: form.id.map(|id| vec![id]),
        criteria,
    };
    let detail = form
        .id
        .map(|id| format!("signature {id}"))
        .unwrap_or_else(|| format!("batch {:?}", criteria_summary(&selection.criteria)));
    let action = if invalidate {
        Action::Invalidate { reason }
    } else {
        Action::Restore
    };
    let name = action.name();
    let detail = match &action {
        Action::Invalidate { reason } => format!("{detail} reason: {reason}"),
        Action::Restore => detail,
    };
    let pid = p.id;
    let keys = state.keys.clone();
    let links = state.links.clone();
    let render = move |r: &usecases::signing::ReceiptFor<'_>| -> crate::domain::NewEmail {
        crate::routes::signer::confirm::receipt_email(&links, r)
    };
    let changed = state
        .act(move |c| {
            usecases::moderation::moderate(
                c,
                &keys,
                &render,
                who.id,
                pid,
                &selection,
                &action,
                &detail,
                db::now(),
            )
        })
        .await?;
    tracing::info!(petition.slug = %p.slug, action = name, changed, "moderation");
    Ok(back_to_signers(&p.slug, &form.criteria))
}

/// Back to the signer list, searched as it was.
fn back_to_signers(slug: &str, criteria: &CriteriaForm) -> HttpResponse {
    see_other(&format!(
        "/dashboard/petitions/{slug}/signers?{}",
        criteria.query_string()
    ))
}

/// What a batch selected, for the audit log: never a name or an address searched for.
fn criteria_summary(c: &Criteria) -> String {
    let mut parts = vec![];
    // A domain can name a person (their own): the audit row keeps a short keyed hash of it.
    if let Some(d) = &c.domain_index {
        parts.push(format!("domain #{}", d.get(..8).unwrap_or(d)));
    }
    if c.email_index.is_some() {
        parts.push("one address".to_string());
    }
    if c.text.is_some() {
        parts.push("a name search".to_string());
    }
    if let Some(f) = c.from {
        parts.push(format!("from={}", f.date()));
    }
    if let Some(u) = c.until {
        parts.push(format!("before={}", u.date()));
    }
    if c.ip_hash.is_some() {
        parts.push("same network".to_string());
    }
    parts.join(" ")
}
