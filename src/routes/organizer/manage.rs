//! An organizer's view of one petition: progress figures, a chart per day, and the signature
//! export. Every route checks that the signed-in organizer may manage the petition; one who may
//! not gets the same 404 as for a petition that does not exist.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::db;
use crate::db::snapshots::Snapshot;
use crate::db::views::export::ExportFilter;
use crate::domain::Country;
use crate::export;
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::extract::auth;
use crate::routes::extract::guards::{ManagedPetition, Posted};
use crate::routes::{AppState, Layout, html, see_other};

/// Days the chart shows.
const CHART_DAYS: i64 = 30;

/// One bar of the chart, in SVG user units.
struct Bar {
    x: u32,
    y: u32,
    height: u32,
    label: String,
}

#[derive(Template)]
#[template(path = "manage.html")]
struct ManagePage {
    l: Layout,
    slug: String,
    csrf: String,
    open: bool,
    total: String,
    paper: String,
    /// `(id, count, date, note)`.
    paper_batches: Vec<(i32, String, String, String)>,
    /// `(date, title, emailed to)`.
    updates: Vec<(String, String, String)>,
    today: String,
    week: String,
    rate: String,
    eta: String,
    bars: Vec<Bar>,
    chart_label: String,
    by_country: Vec<(&'static str, String)>,
    countries: Vec<(&'static str, &'static str)>,
    /// A fresh random key for the update form: posting the same form twice is one update.
    update_key: String,
    /// Signers an update emailed now would reach.
    audience: String,
    /// Delivery packages made: `(id, made, total, with emails, manifest SHA-256)`.
    packages: Vec<(i32, String, String, String, String)>,
    /// Deliveries recorded: "Delivered to … on …: N signatures.".
    deliveries: Vec<String>,
    today_iso: String,
    /// Each language: `(code, name, what it has, link to edit its version)`.
    languages: Vec<(&'static str, &'static str, String, Option<String>)>,
    /// Counted signatures per source tag: `(tag or "no tag", count)`.
    sources: Vec<(String, String)>,
    /// The tag asked for in the links form, and its links: `(tag, url, qr.svg, qr.png, poster)`.
    tagged: Option<(String, String, String, String, String)>,
    /// The tag typed that is not one.
    bad_tag: bool,
    /// The HTML a partner site pastes to show the widget.
    embed_code: String,
}

/// `?tag=` on the dashboard page: make the links for one source.
#[derive(Debug, Deserialize)]
pub struct TagQuery {
    tag: Option<String>,
}

#[get("/petitions/{slug}")]
pub async fn show(
    state: web::Data<AppState>,
    petition: ManagedPetition,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let ManagedPetition { organizer, view } = petition;
    let session = organizer.session;
    let now = db::now();
    let today_start = now.date().and_hms_opt(0, 0, 0).unwrap_or(now);
    let chart_start = today_start - TimeDelta::days(CHART_DAYS - 1);
    let week_start = now - TimeDelta::days(7);
    let id = view.petition.id;
    let (today, week, all_rows, days, audience, paper, updates, packages) =
        db::run(&state.pool, move |c| {
            Ok((
                db::views::stats::confirmed_since(c, id, today_start)?,
                db::views::stats::confirmed_since(c, id, week_start)?,
                db::signatures::count_all_rows(c, id)?,
                db::views::stats::per_day(c, id, chart_start)?,
                crate::usecases::updates::audience(c, id)?,
                db::paper::list(c, id)?,
                db::updates::list(c, id)?,
                db::deliveries::packages(c, id)?,
            ))
        })
        .await?;
    let p = &view.petition;
    let online = p.signature_count;
    let count = p.total_count();
    let goal = i64::from(view.goals.current(count));
    let rate = if all_rows > 0 {
        format!("{:.0} %", (online as f64) * 100.0 / (all_rows as f64))
    } else {
        "—".to_string()
    };
    let eta = if count >= goal {
        tr.t("manage.eta_reached")
    } else if week > 0 {
        let per_day = week as f64 / 7.0;
        let days = ((goal - count) as f64 / per_day).ceil() as i64;
        let when: NaiveDateTime = now + TimeDelta::days(days.min(36_500));
        tr.tf(
            "manage.eta",
            &[
                ("rate", &tr.number(per_day.round() as i64)),
                ("goal", &tr.number(goal)),
                ("date", &tr.date(when)),
            ],
        )
    } else {
        tr.t("manage.eta_none")
    };
    let packages = packages
        .into_iter()
        .map(|k| {
            (
                k.id,
                tr.datetime(k.created_at),
                tr.number(k.made.total),
                tr.t(if k.made.with_emails {
                    "package.yes"
                } else {
                    "package.no"
                }),
                k.made.manifest_sha256,
            )
        })
        .collect();
    let deliveries = view
        .deliveries
        .iter()
        .map(|d| crate::routes::delivery_line(&tr, d))
        .collect();
    let languages = crate::i18n::Lang::ALL
        .iter()
        .map(|&lang| {
            let version = view.texts.iter().find(|t| t.lang == lang);
            let state = match version {
                Some(t) if t.original => tr.t("translate.original"),
                Some(t) if t.outdated => tr.t("translate.outdated"),
                Some(_) => tr.t("translate.up_to_date"),
                None => tr.t("translate.missing"),
            };
            let edit = (!version.is_some_and(|t| t.original)).then(|| {
                format!(
                    "/dashboard/petitions/{}/translations/{}",
                    view.petition.slug,
                    lang.code()
                )
            });
            (lang.code(), lang.native_name(), state, edit)
        })
        .collect();
    let slug = view.petition.slug.clone();
    let pid = view.petition.id;
    let sources = db::run(&state.pool, move |c| db::petitions::sources(c, pid))
        .await?
        .into_iter()
        .map(|(tag, n)| (tag.unwrap_or_else(|| tr.t("sources.none")), tr.number(n)))
        .collect();
    let asked = web::Query::<TagQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().tag)
        .filter(|t| !t.trim().is_empty());
    let tag = asked.as_deref().and_then(crate::domain::Source::parse);
    let tagged = tag.as_ref().map(|tag| {
        let t = tag.as_str();
        (
            t.to_string(),
            crate::routes::public::share::share_url(&state, &slug, None, Some(tag)),
            format!("/petitions/{slug}/qr.svg?src={t}"),
            format!("/petitions/{slug}/qr.png?src={t}"),
            format!("/petitions/{slug}/poster?src={t}"),
        )
    });
    let embed_code = format!(
        "<iframe src=\"{}\" title=\"{}\" width=\"100%\" height=\"240\" style=\"border:0\" \
         loading=\"lazy\"></iframe>",
        state.url(&format!("/petitions/{slug}/embed")),
        view.petition.title.replace('"', "&quot;")
    );
    let page = ManagePage {
        embed_code,
        bad_tag: asked.is_some() && tag.is_none(),
        sources,
        tagged,
        languages,
        packages,
        deliveries,
        today_iso: now.format("%Y-%m-%d").to_string(),
        bars: chart(&tr, &days, chart_start.date()),
        chart_label: tr.t("manage.chart"),
        slug: p.slug.clone(),
        csrf: auth::csrf_token(&session)?,
        open: p.is_open_at(now),
        total: tr.number(online),
        paper: tr.number(p.paper_count),
        paper_batches: paper
            .into_iter()
            .map(|b| {
                (
                    b.id,
                    tr.number(i64::from(b.count)),
                    tr.date(b.collected_on),
                    b.note,
                )
            })
            .collect(),
        updates: updates
            .into_iter()
            .map(|u| {
                (
                    tr.date(u.created_at),
                    u.title,
                    tr.number(i64::from(u.recipients)),
                )
            })
            .collect(),
        today: tr.number(today),
        week: tr.number(week),
        rate,
        eta,
        by_country: view
            .by_country
            .iter()
            .map(|(c, n)| (Country::name_of(c, tr.lang), tr.number(i64::from(*n))))
            .collect(),
        countries: Country::all(tr.lang),
        update_key: crate::domain::ConfirmationToken::generate()
            .as_str()
            .to_string(),
        audience: tr.tf("updates.audience", &[("count", &tr.number(audience))]),
        l: Layout::new(tr, p.title.clone(), &req),
    };
    Ok(html(StatusCode::OK, page.render()?))
}

/// Bars for `CHART_DAYS` days from `first`, scaled to a 600×160 drawing.
fn chart(tr: &Tr, days: &[db::views::stats::Day], first: NaiveDate) -> Vec<Bar> {
    const WIDTH: u32 = 600;
    const HEIGHT: u32 = 150;
    let slot = WIDTH / CHART_DAYS as u32;
    let counts: Vec<(NaiveDate, i64)> = (0..CHART_DAYS)
        .map(|i| {
            let day = first + TimeDelta::days(i);
            let key = day.format("%Y-%m-%d").to_string();
            let n = days.iter().find(|d| d.day == key).map_or(0, |d| d.count);
            (day, n)
        })
        .collect();
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    counts
        .into_iter()
        .enumerate()
        .map(|(i, (day, n))| {
            let height = ((n * i64::from(HEIGHT)) / max) as u32;
            Bar {
                x: i as u32 * slot + 1,
                y: HEIGHT - height + 5,
                height,
                label: format!(
                    "{}: {}",
                    tr.date(day.and_hms_opt(0, 0, 0).unwrap_or_default()),
                    tr.number(n)
                ),
            }
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    country: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    excel: Option<String>,
    /// Highest signature id to include (links saved before snapshots existed).
    #[serde(default)]
    upto: Option<i32>,
    /// An export snapshot: its signatures and choices, whatever the other fields say.
    #[serde(default)]
    snapshot: Option<i32>,
}

impl ExportQuery {
    /// The snapshot named, if any (404 for another petition's), and the filter to read.
    async fn resolve(
        &self,
        state: &AppState,
        petition_id: i32,
    ) -> Result<(Option<Snapshot>, ExportFilter), AppError> {
        let Some(id) = self.snapshot else {
            return Ok((None, self.filter()?));
        };
        let snapshot = db::run(&state.pool, move |c| {
            db::snapshots::find(c, petition_id, id)
        })
        .await?
        .ok_or(AppError::NotFound)?;
        let filter = snapshot.filter();
        Ok((Some(snapshot), filter))
    }

    fn filter(&self) -> Result<ExportFilter, AppError> {
        let country = match self.country.trim() {
            "" => None,
            code => Some(
                Country::parse(code)
                    .map_err(|_| AppError::BadRequest("error.country.invalid"))?
                    .code()
                    .to_string(),
            ),
        };
        Ok(ExportFilter {
            country,
            from: crate::routes::parse_day(&self.from)?,
            until: crate::routes::parse_day_end(&self.until)?,
            upto: self.upto,
            snapshot: None,
            logged: false,
        })
    }
}

/// The export file, chunk by chunk (with the number of signatures in each): optional
/// byte-order mark and header, then batches of rows. The CSV download and its manifest both read
/// it, so the manifest describes those exact bytes.
fn csv_chunks(
    pool: db::Pool,
    keys: std::sync::Arc<crate::keys::Keys>,
    petition_id: i32,
    filter: ExportFilter,
    bom: bool,
) -> impl futures_util::Stream<Item = Result<(web::Bytes, u64), AppError>> {
    let mut head = Vec::new();
    if bom {
        head.extend_from_slice(export::UTF8_BOM);
    }
    let head = export::header().map(|h| {
        head.extend(h);
        head
    });
    crate::routes::export_chunks(pool, keys, petition_id, filter, head, |batch| {
        export::rows(&batch)
    })
}

/// The file name of an export: dated by its snapshot, or today for the live list.
fn export_name(slug: &str, snapshot: Option<&Snapshot>) -> String {
    let day = snapshot.map_or_else(db::now, |s| s.created_at);
    format!("{slug}-signatures-{}.csv", day.format("%Y-%m-%d"))
}

/// The confirmed signatures as CSV, streamed from the database batch by batch.
#[get("/petitions/{slug}/export.csv")]
pub async fn export_csv(
    state: web::Data<AppState>,
    petition: ManagedPetition,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let ManagedPetition { organizer, view } = petition;
    let petition_id = view.petition.id;
    let (snapshot, filter) = query.resolve(&state, petition_id).await?;
    let file_name = export_name(&view.petition.slug, snapshot.as_ref());
    let organizer = organizer.who.id;
    let detail = format!("{filter:?}, excel: {}", query.excel.is_some());
    crate::usecases::run(&state.pool, move |c| {
        use crate::usecases::exports::{Download, record_download};
        record_download(c, organizer, petition_id, Download::Csv, &detail, db::now())
    })
    .await?;
    tracing::info!(petition.slug = %view.petition.slug, organizer.id = organizer, "signatures exported");
    let stream = csv_chunks(
        state.pool.clone(),
        state.keys.clone(),
        petition_id,
        filter,
        query.excel.is_some(),
    )
    .map(|chunk| {
        chunk.map(|(bytes, _)| bytes).map_err(|e| {
            // Headers are already sent: the download ends early and the log says why.
            tracing::error!(error = %e, "export stopped");
            actix_web::error::ErrorInternalServerError("export stopped")
        })
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", file_name),
        ))
        .streaming(stream))
}

/// What an export contains, for the record delivered with it: rows, the public count at the
/// time, and the SHA-256 of the exact file the same query downloads.
#[get("/petitions/{slug}/export.manifest.json")]
pub async fn export_manifest(
    state: web::Data<AppState>,
    petition: ManagedPetition,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    use sha2::{Digest, Sha256};
    let view = petition.view;
    let (snapshot, filter) = query.resolve(&state, view.petition.id).await?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut rows = 0u64;
    let mut chunks = Box::pin(csv_chunks(
        state.pool.clone(),
        state.keys.clone(),
        view.petition.id,
        filter.clone(),
        query.excel.is_some(),
    ));
    while let Some(chunk) = chunks.next().await {
        let (chunk, n) = chunk?;
        bytes += chunk.len() as u64;
        rows += n;
        hasher.update(&chunk);
    }
    let iso = |t: NaiveDateTime| {
        t.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    // With a snapshot every field comes from its record, so the manifest itself is the same
    // bytes whenever it is fetched.
    let p = &view.petition;
    let (generated_at, online, paper) = match &snapshot {
        Some(s) => (s.created_at, s.signature_count, s.paper_count),
        None => (db::now(), p.signature_count, p.paper_count),
    };
    let title = snapshot.as_ref().map_or(&p.title, |s| &s.title);
    let manifest = serde_json::json!({
        "petition": p.slug,
        "title": title,
        "file": export_name(&p.slug, snapshot.as_ref()),
        "generated_at": iso(generated_at),
        "snapshot": snapshot.as_ref().map(|s| s.id),
        "filters": {
            "country": filter.country,
            "confirmed_from": filter.from.map(iso),
            "confirmed_before": filter.until.map(iso),
            "up_to_signature_id": filter.upto,
            "excel_byte_order_mark": query.excel.is_some(),
        },
        "rows": rows,
        "bytes": bytes,
        "public_count": online,
        "paper_signature_count": paper,
        "sha256": hex::encode(hasher.finalize()),
    });
    Ok(HttpResponse::Ok().json(manifest))
}

#[derive(Debug, Default, Deserialize)]
pub struct SnapshotForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(flatten)]
    query: ExportQuery,
}

crate::with_csrf!(SnapshotForm);

/// Takes an export snapshot with the chosen filters and shows its downloads.
#[post("/petitions/{slug}/exports")]
pub async fn take_snapshot(
    state: web::Data<AppState>,
    Posted(form, petition): Posted<SnapshotForm, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let (who, view) = (petition.organizer.who, petition.view);
    let filter = form.query.filter()?;
    let petition_id = view.petition.id;
    let snapshot = crate::usecases::run(&state.pool, move |c| {
        crate::usecases::exports::take(c, Some(who.id), petition_id, &filter, db::now())
    })
    .await?;
    Ok(see_other(&format!(
        "/dashboard/petitions/{}/exports/{}",
        view.petition.slug, snapshot.id
    )))
}

#[derive(Template)]
#[template(path = "export.html")]
struct SnapshotPage {
    l: Layout,
    slug: String,
    id: i32,
    summary: String,
    filters: Vec<(String, String)>,
}

/// One export snapshot: what it holds, and the CSV, manifest and delivery document that read it.
#[get("/petitions/{slug}/exports/{id}")]
pub async fn show_snapshot(
    state: web::Data<AppState>,
    path: web::Path<(String, i32)>,
    petition: ManagedPetition,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner().1;
    let view = petition.view;
    let petition_id = view.petition.id;
    let s = db::run(&state.pool, move |c| {
        db::snapshots::find(c, petition_id, id)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    let mut filters = vec![];
    if let Some(code) = &s.country {
        filters.push((
            tr.t("manage.export_country"),
            Country::name_of(code, tr.lang).to_string(),
        ));
    }
    if let Some(from) = s.confirmed_from {
        filters.push((tr.t("manage.export_from"), tr.date(from)));
    }
    if let Some(before) = s.confirmed_before {
        filters.push((
            tr.t("manage.export_until"),
            tr.date(before - TimeDelta::days(1)),
        ));
    }
    let page = SnapshotPage {
        summary: tr.tf(
            "export.summary",
            &[
                ("count", &tr.number(s.row_count)),
                (
                    "time",
                    &s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                ),
            ],
        ),
        l: Layout::new(
            tr,
            tr.tf("export.title", &[("id", &s.id.to_string())]),
            &req,
        ),
        slug: view.petition.slug,
        id: s.id,
        filters,
    };
    Ok(html(StatusCode::OK, page.render()?))
}
