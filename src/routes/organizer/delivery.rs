//! The delivery document: what organizers hand to officials. A print-ready page (browsers save it
//! as PDF): a cover with the petition, its addressees, the count by country and the period, then
//! the numbered list of signers. Streamed, so a list of any length keeps memory flat.

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;

use crate::db::views::export::ExportFilter;
use crate::db::{self, organizers};
use crate::domain::Country;
use crate::i18n::Tr;
use crate::routes::error::AppError;
use crate::routes::extract::guards::ManagedPetition;
use crate::routes::{AppState, Layout};

#[derive(Template)]
#[template(path = "delivery_cover.html")]
struct Cover {
    l: Layout,
    /// The original text, then each version in another language.
    texts: Vec<crate::db::petitions::TextVersion>,
    organizer: String,
    total: String,
    paper: Option<String>,
    period: String,
    by_country: Vec<(&'static str, String)>,
    with_emails: bool,
    full_names: bool,
}

struct Line {
    number: String,
    name: String,
    country: &'static str,
    date: String,
    email: String,
}

#[derive(Template)]
#[template(
    source = "{% for r in rows %}<tr><td class=\"num\">{{ r.number }}</td><td>{{ r.name }}</td><td>{{ r.country }}</td><td>{{ r.date }}</td>{% if with_emails %}<td>{{ r.email }}</td>{% endif %}</tr>\n{% endfor %}",
    ext = "html"
)]
struct Lines {
    rows: Vec<Line>,
    with_emails: bool,
}

#[derive(Template)]
#[template(source = "</tbody></table></main></body></html>\n", ext = "html")]
struct Footer;

#[derive(Debug, Default, Deserialize)]
pub struct DeliveryQuery {
    /// Include email addresses (off by default: officials rarely need them); implies full names.
    #[serde(default)]
    emails: Option<String>,
    /// `full`: every signer's full name, for addressees who need it. Otherwise each name as its
    /// signer chose to show it in public (full, initials, or withheld).
    #[serde(default)]
    names: Option<String>,
    /// An export snapshot to deliver (see `usecases::exports`): its list and its counts.
    #[serde(default)]
    snapshot: Option<i32>,
}

#[get("/petitions/{slug}/delivery")]
pub async fn delivery(
    state: web::Data<AppState>,
    petition: ManagedPetition,
    query: web::Query<DeliveryQuery>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (who, view) = (petition.organizer.who, petition.view);
    let petition_id = view.petition.id;
    let snapshot_id = query.snapshot;
    // What left matters most: with the signers' addresses, or their full names.
    let shown = if query.emails.is_some() {
        "with emails"
    } else if query.names.as_deref() == Some("full") {
        "with full names"
    } else {
        "names as signers chose"
    };
    let detail = match snapshot_id {
        Some(id) => format!("snapshot {id}, {shown}"),
        None => shown.to_string(),
    };
    let (snapshot, organizer_names) = crate::usecases::run(&state.pool, move |c| {
        let snapshot = match snapshot_id {
            Some(id) => {
                let Some(s) = db::snapshots::find(c, petition_id, id)? else {
                    return Ok(None);
                };
                let by_country = db::snapshots::by_country(c, id)?;
                let period = db::snapshots::period(c, id)?;
                Some((s, by_country, period))
            }
            None => None,
        };
        let names = organizers::names_of(c, petition_id)?;
        use crate::usecases::exports::{Download, record_download};
        let what = Download::DeliveryDocument;
        record_download(c, who.id, petition_id, what, &detail, db::now())?;
        Ok(Some((snapshot, names)))
    })
    .await?
    .ok_or(AppError::NotFound)?;
    let with_emails = query.emails.is_some();
    let full_names = with_emails || query.names.as_deref() == Some("full");
    let p = &view.petition;
    // With a snapshot, everything on the cover is as of the snapshot; without, as of now.
    let (count, paper, by_country, period, filter) = match snapshot {
        Some((s, by_country, (first, last))) => (
            s.row_count,
            s.paper_count,
            by_country,
            first.zip(last.or(first)),
            s.filter(),
        ),
        None => (
            p.signature_count,
            p.paper_count,
            view.by_country
                .iter()
                .map(|(c, n)| (c.clone(), i64::from(*n)))
                .collect(),
            db::run(&state.pool, move |c| {
                db::views::stats::first_confirmed(c, petition_id)
            })
            .await?
            .map(|first| (first, db::now())),
            ExportFilter::default(),
        ),
    };
    let period = match period {
        Some((from, to)) => format!("{} – {}", tr.date(from), tr.date(to)),
        None => "—".to_string(),
    };
    let organizer = if p.started_by.is_empty() {
        organizer_names.join(", ")
    } else {
        p.started_by.clone()
    };
    let cover = Cover {
        l: Layout::new(tr, p.title.clone(), &req),
        texts: view.texts.clone(),
        organizer,
        total: tr.number(count),
        paper: (paper > 0).then(|| tr.number(paper)),
        period,
        by_country: by_country
            .iter()
            .map(|(c, n)| (Country::name_of(c, tr.lang), tr.number(*n)))
            .collect(),
        with_emails,
        full_names,
    }
    .render()?;
    let footer = Footer.render()?;
    // The list is numbered 1 to N, whatever the signer numbers.
    let mut line = 0i64;
    let lines = crate::routes::export_chunks(
        state.pool.clone(),
        state.keys.clone(),
        p.id,
        filter,
        Ok(cover.into_bytes()),
        move |batch| {
            let first_line = line;
            line += batch.len() as i64;
            Lines {
                rows: batch
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| Line {
                        number: tr.number(first_line + i as i64 + 1),
                        country: Country::name_of(&r.country, tr.lang),
                        date: r.confirmed_at.map(|d| tr.date(d)).unwrap_or_default(),
                        name: if full_names {
                            r.name
                        } else {
                            r.display
                                .shown(&r.name)
                                .unwrap_or_else(|| tr.t("delivery.name_withheld"))
                        },
                        email: r.email,
                    })
                    .collect(),
                with_emails,
            }
            .render()
            .map(String::into_bytes)
            .map_err(|e| crate::export::ExportError::Io(std::io::Error::other(e)))
        },
    );
    use futures_util::StreamExt;
    let stream = lines
        .map(|chunk| {
            chunk.map(|(bytes, _)| bytes).map_err(|e| {
                tracing::error!(error = %e, "delivery document stopped");
                actix_web::error::ErrorInternalServerError("stopped")
            })
        })
        .chain(futures_util::stream::once(async move {
            Ok(web::Bytes::from(footer))
        }));
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .streaming(stream))
}
