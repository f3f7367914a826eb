use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use crate::db::{self, petitions::TextVersion, views::petition::PetitionView};
use crate::domain::{Country, GoalLadder};
use crate::i18n::{Lang, Tr};
use crate::live::Snapshot;
use crate::routes::error::AppError;
use crate::routes::{AppState, Layout, html};

/// How many targets show before "and N others".
const TARGETS_SHOWN: usize = 3;
const COUNTRIES_SHOWN: usize = 10;

/// What a link to a petition shows when shared (Open Graph, Twitter cards), and where its
/// versions in other languages are.
#[derive(Clone, Debug, Default)]
pub struct ShareMeta {
    pub description: String,
    /// This version's address: `?lang=` when it is not the original.
    pub canonical: String,
    pub image: String,
    pub site_name: String,
    /// `og:locale` of the version shown, and of the others.
    pub locale: &'static str,
    pub other_locales: Vec<&'static str>,
    /// `(hreflang, href)` of every version, and `x-default` for the original.
    pub alternates: Vec<(&'static str, String)>,
}

/// The Open Graph locale of a language.
pub fn og_locale(lang: Lang) -> &'static str {
    match lang {
        Lang::Hy => "hy_AM",
        Lang::En => "en_GB",
        Lang::Fr => "fr_FR",
        Lang::Ru => "ru_RU",
    }
}

impl ShareMeta {
    pub fn new(state: &AppState, tr: &Tr, view: &PetitionView, text: &TextVersion) -> ShareMeta {
        let slug = &view.petition.slug;
        let description = text.ask(200);
        let mut alternates: Vec<(&'static str, String)> = view
            .texts
            .iter()
            .map(|t| (t.lang.code(), state.version_url(slug, t.lang, t.original)))
            .collect();
        alternates.push((
            "x-default",
            state.version_url(slug, view.original().lang, true),
        ));
        ShareMeta {
            description,
            canonical: state.version_url(slug, text.lang, text.original),
            image: state.url(&format!(
                "/petitions/{slug}/card.png?lang={}",
                tr.lang.code()
            )),
            site_name: state.site_name(tr),
            locale: og_locale(text.lang),
            other_locales: view
                .texts
                .iter()
                .filter(|t| t.lang != text.lang)
                .map(|t| og_locale(t.lang))
                .collect(),
            alternates,
        }
    }
}

/// Progress toward the current goal, ready to display.
pub struct Progress {
    pub text: String,
    pub label: String,
    pub percent: u32,
    pub next_goal: Option<String>,
    /// Where a watching page polls the count (`static/count.js`), with the count shown and
    /// the text and label with `{count}` and `{goal}` left to fill, and the digit grouping;
    /// `None` on a closed petition.
    pub live: Option<LiveCount>,
}

/// What `static/count.js` needs to keep a page's count moving without reloading it.
pub struct LiveCount {
    pub url: String,
    pub count: i64,
    pub text: String,
    pub label: String,
    pub sep: &'static str,
}

impl Progress {
    /// This progress, kept moving on the page: polled from the count JSON of `slug`.
    pub fn live(self, tr: &Tr, slug: &str, count: i64) -> Progress {
        let holes = [("count", "{count}"), ("goal", "{goal}")];
        Progress {
            live: Some(LiveCount {
                url: format!("/api/v1/petitions/{slug}?fields=count"),
                count,
                text: tr.tf("petition.progress", &holes),
                label: tr.tf("petition.progress_label", &holes),
                sep: tr.number_separator(),
            }),
            ..self
        }
    }
}

impl Progress {
    pub fn new(tr: &Tr, count: i64, goals: &GoalLadder) -> Progress {
        let goal = i64::from(goals.current(count));
        let args = [("count", tr.number(count)), ("goal", tr.number(goal))];
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Progress {
            text: tr.tf("petition.progress", &args),
            label: tr.tf("petition.progress_label", &args),
            percent: goals.percent(count),
            // One goal line: the count already says what the next goal is, so this names only
            // the highest goal reached, when there is one.
            next_goal: goals
                .as_slice()
                .iter()
                .copied()
                .filter(|g| count >= i64::from(*g))
                .max()
                .map(|reached| {
                    tr.tf(
                        "petition.goal_reached",
                        &[("goal", &tr.number(i64::from(reached)))],
                    )
                }),
            live: None,
        }
    }

    /// A closed petition's progress: the count, and no goal to reach any more.
    pub fn closed(self, tr: &Tr, count: i64) -> Progress {
        let text = tr.tf("petition.count_closed", &[("count", &tr.number(count))]);
        Progress {
            label: text.clone(),
            text,
            next_goal: None,
            ..self
        }
    }
}

/// The sign form as last submitted, with a message per invalid field.
#[derive(Clone, Debug, Default)]
pub struct FormState {
    pub name: String,
    pub email: String,
    pub country: String,
    pub postcode: String,
    pub comment: String,
    /// The `display` choice shown selected (`NameDisplay::as_str`).
    pub display: &'static str,
    pub updates: bool,
    pub consent: bool,
    /// The tag of the link the visitor came by (`?src=`), carried through the form.
    pub source: Option<crate::domain::Source>,
    /// Ticked "show my comment on the page".
    pub comment_public: bool,
    /// A message about the whole form (too many attempts: wait and send it again).
    pub notice: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

impl FormState {
    pub fn error(&self, field: &str) -> Option<&str> {
        crate::routes::field_error(&self.errors, field)
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// `aria-invalid` and `aria-describedby` for a field, so screen readers announce errors.
    pub fn aria(&self, field: &str) -> String {
        self.aria_with(field, None)
    }

    /// [`FormState::aria`] for a field that also has a hint (`hint` is its id): one
    /// `aria-describedby` lists both, so the error is announced too.
    pub fn aria_with(&self, field: &str, hint: Option<&str>) -> String {
        let invalid = self.error(field).is_some();
        let described: Vec<String> = hint
            .map(str::to_string)
            .into_iter()
            .chain(invalid.then(|| format!("{field}-error")))
            .collect();
        let mut attrs = String::new();
        if invalid {
            attrs.push_str("aria-invalid=true ");
        }
        if !described.is_empty() {
            attrs.push_str(&format!("aria-describedby=\"{}\"", described.join(" ")));
        }
        attrs.trim_end().to_string()
    }
}

#[derive(Template)]
#[template(path = "petition.html")]
struct PetitionPage<'a> {
    l: Layout,
    v: &'a PetitionView,
    /// The version shown: the visitor's language if the petition has it, else the original.
    text: &'a TextVersion,
    /// Share previews and links to the other versions.
    meta: ShareMeta,
    started: String,
    targets_shown: &'a [String],
    targets_more: &'a [String],
    more_label: String,
    progress: Progress,
    recent: Vec<(String, &'static str)>,
    /// Countries with at least `public_country_min` signatures, then "Other countries".
    by_country: Vec<(String, String)>,
    open: bool,
    closes: Option<String>,
    form: FormState,
    countries: Vec<(&'static str, &'static str)>,
    updates: Vec<(String, String, String)>,
    /// Comments signers chose to show: `(name or "a signer", comment)`.
    comments: Vec<(String, String)>,
    /// "N signatures are in the signed log (checkpoint of …)", once there is a checkpoint.
    verified: Option<String>,
    vkey: String,
    /// "Delivered to … on …: N signatures." with the checkpoint handed over.
    deliveries: Vec<(String, String)>,
    /// "Witnessed: … cosigned the checkpoint of … (total …)."
    witnessed: Option<String>,
}

impl PetitionPage<'_> {
    fn selected(&self, code: &str) -> bool {
        self.form.country.eq_ignore_ascii_case(code)
    }
}

#[get("/petitions/{slug}")]
pub async fn show(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let snapshot = state.petition(&slug).await?;
    // The link's tag rides along in the form; nothing is stored until a signature is.
    let source = crate::domain::Source::from_query(req.query_string());
    // The page names its own address (for the language switcher): one spelled another way
    // (`%62ench` for `bench`) is answered, but not kept for everyone.
    let canonical =
        req.path().strip_prefix("/petitions/") == Some(snapshot.view.petition.slug.as_str());
    if source.is_some() || !canonical {
        let form = FormState {
            source,
            ..FormState::default()
        };
        return render(&req, tr, &snapshot, form, StatusCode::OK);
    }
    // The same page for everyone reading this language: rendered once per state.
    let page = snapshot
        .rendered("page", Some(tr.lang), || {
            let body = render_body(&req, tr, &snapshot, FormState::default())?;
            Ok::<_, AppError>(crate::live::Rendered::new(
                "text/html; charset=utf-8",
                body,
                snapshot.read_at_wall,
            ))
        })
        .await?;
    Ok(crate::routes::cached::respond(
        &page,
        &req,
        state.public_cache_control(),
    ))
}

/// Renders the petition page from its public state; also used to show the sign form again
/// with its errors.
pub fn render(
    req: &HttpRequest,
    tr: Tr,
    snapshot: &Snapshot,
    form: FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    Ok(html(status, render_body(req, tr, snapshot, form)?))
}

/// The petition page with its updates and comments, in `tr`'s language.
fn render_body(
    req: &HttpRequest,
    tr: Tr,
    snapshot: &Snapshot,
    form: FormState,
) -> Result<String, AppError> {
    let view = &snapshot.view;
    let p = &view.petition;
    let now = db::now();
    let date = tr.date(p.created_at);
    let started = if p.started_by.is_empty() {
        tr.tf("petition.started_on", &[("date", &date)])
    } else {
        tr.tf(
            "petition.started_by",
            &[("name", &p.started_by), ("date", &date)],
        )
    };
    let text = view.text_for(tr.lang);
    let split = text.targets.len().min(TARGETS_SHOWN);
    let (targets_shown, targets_more) = text.targets.split_at(split);
    let more_key = if targets_more.len() == 1 {
        "petition.and_other"
    } else {
        "petition.and_others"
    };
    let more_label = tr.tf(more_key, &[("count", &targets_more.len().to_string())]);
    let min = req
        .app_data::<actix_web::web::Data<AppState>>()
        .map_or(1, |s| s.settings.public_country_min);
    let (shown_countries, other) = crate::routes::public_countries(&view.by_country, min);
    let meta = req
        .app_data::<actix_web::web::Data<AppState>>()
        .map(|state| ShareMeta::new(state, &tr, view, text))
        .unwrap_or_default();
    let page = PetitionPage {
        l: Layout::new(tr, text.title.clone(), req),
        v: view,
        text,
        meta,
        started,
        targets_shown,
        targets_more,
        more_label,
        progress: match p.is_open_at(now) {
            true => {
                Progress::new(&tr, p.total_count(), &view.goals).live(&tr, &p.slug, p.total_count())
            }
            false => Progress::new(&tr, p.total_count(), &view.goals).closed(&tr, p.total_count()),
        },
        // A recent signer's country is named only where the country table names it: a country
        // with fewer signers than `public_country_min` would single them out.
        recent: snapshot
            .recent
            .iter()
            .map(|(name, c)| {
                let named = shown_countries.iter().any(|(code, _)| code == c);
                (
                    name.clone(),
                    if named {
                        Country::name_of(c, tr.lang)
                    } else {
                        ""
                    },
                )
            })
            .collect(),
        by_country: {
            let mut rows: Vec<(String, String)> = shown_countries
                .iter()
                .take(COUNTRIES_SHOWN)
                .map(|(c, n)| {
                    (
                        Country::name_of(c, tr.lang).to_string(),
                        tr.number(i64::from(*n)),
                    )
                })
                .collect();
            if other > 0 {
                rows.push((tr.t("petition.other_countries"), tr.number(other)));
            }
            rows
        },
        open: p.is_open_at(now),
        closes: p
            .closes_at
            .filter(|c| *c > now)
            .map(|c| tr.tf("petition.closes_on", &[("date", &tr.date(c))])),
        form,
        countries: Country::all(tr.lang),
        updates: snapshot
            .updates
            .iter()
            .map(|u| (tr.date(u.created_at), u.title.clone(), u.body_html.clone()))
            .collect(),
        comments: snapshot
            .comments
            .iter()
            .map(|(name, c)| {
                (
                    name.clone().unwrap_or_else(|| tr.t("comments.anonymous")),
                    c.clone(),
                )
            })
            .collect(),
        verified: view.verified.as_ref().map(|c| {
            tr.tf(
                "verify.in_log",
                &[("count", &tr.number(c.total)), ("time", &tr.datetime(c.at))],
            )
        }),
        deliveries: view
            .deliveries
            .iter()
            .map(|d| (crate::routes::delivery_line(&tr, d), d.checkpoint.clone()))
            .collect(),
        witnessed: view.witnessed.as_ref().and_then(|w| {
            let state = req.app_data::<actix_web::web::Data<AppState>>()?;
            let names: Vec<String> = state
                .trusted(w.lines.clone())
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            (!names.is_empty()).then(|| {
                tr.tf(
                    "verify.witnessed",
                    &[
                        ("total", &tr.number(w.total)),
                        ("size", &tr.number(w.size)),
                        ("witnesses", &names.join(", ")),
                    ],
                )
            })
        }),
        vkey: req
            .app_data::<actix_web::web::Data<AppState>>()
            .map(|s| s.log.vkey().to_string())
            .unwrap_or_default(),
    };
    Ok(page.render()?)
}
