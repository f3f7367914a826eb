//! Writing petitions from the dashboard: create, edit (with a Markdown preview that needs no
//! JavaScript), close and reopen.

use crate::routes::extract::auth::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::db::{self, petitions, views::petition::PetitionView};
use crate::domain::Refusal;
use crate::domain::{GoalLadder, PetitionStatus, PetitionText, Slug};
use crate::i18n::{Lang, Tr};
use crate::routes::error::AppError;
use crate::routes::extract::auth;
use crate::routes::extract::guards::{ManagedPetition, Organizer, Posted};
use crate::routes::organizer::to_petition;
use crate::routes::{AppState, Layout, field_error, html};

crate::with_csrf!(PetitionForm, StatusForm);
use crate::usecases;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PetitionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    body: String,
    /// One target per line.
    #[serde(default)]
    targets: String,
    /// Goals separated by commas or spaces: `1000, 5500, 10000`.
    #[serde(default)]
    goals: String,
    /// `YYYY-MM-DD`, optional.
    #[serde(default)]
    closes_on: String,
    /// The language the text is written in (`hy`, `en`, `fr`, `ru`).
    #[serde(default)]
    language: String,
    /// Present when the preview button was pressed.
    #[serde(default)]
    preview: Option<String>,
}

#[derive(Template)]
#[template(path = "editor.html")]
struct EditorPage {
    l: Layout,
    /// The languages a new petition can be written in: (code, name, selected).
    languages: Vec<(&'static str, &'static str, bool)>,
    csrf: String,
    action: String,
    new: bool,
    f: PetitionForm,
    errors: Vec<(&'static str, String)>,
    preview: Option<String>,
}

impl EditorPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

struct Valid {
    slug: Option<Slug>,
    edit: petitions::PetitionEdit,
}

/// Checks the form. `stored_closes_at` is the petition's closing time as saved: sent back
/// unchanged (even if it has passed), it stays exactly as it is. `language` is the text's
/// language when the form names none (a script that predates the field keeps it).
fn validate(
    f: &PetitionForm,
    tr: &Tr,
    new: bool,
    stored_closes_at: Option<chrono::NaiveDateTime>,
    language: Lang,
) -> Result<Valid, Vec<(&'static str, String)>> {
    let mut errors = vec![];
    let slug = if new {
        match Slug::parse(&f.slug) {
            Ok(s) => Some(s),
            Err(_) => {
                errors.push(("slug", tr.t("editor.error_slug")));
                None
            }
        }
    } else {
        None
    };
    let text = PetitionText::parse(&f.title, &f.summary, &f.body, &f.targets)
        .map_err(|e| errors.extend(e.into_iter().map(|(field, key)| (field, tr.t(key)))));
    let goals: Result<Vec<i64>, _> = f
        .goals
        // Commas, semicolons or lines separate goals; spaces and dots inside one are digit
        // grouping ("10 000", "10.000").
        .split([',', ';', '\n'])
        .map(|g| {
            g.chars()
                .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '.' | '\''))
                .collect::<String>()
        })
        .filter(|g| !g.is_empty())
        .map(|g| g.parse::<i64>())
        .collect();
    let goals = goals
        .map_err(|_| ())
        .and_then(|g| GoalLadder::parse(g).map_err(|_| ()));
    if goals.is_err() {
        errors.push(("goals", tr.t("editor.error_goals")));
    }
    let closes_at = match f.closes_on.trim() {
        "" => Ok(None),
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .ok()
            .and_then(|d| match stored_closes_at {
                Some(stored) if stored.date() == d => Some(stored),
                _ => d.and_hms_opt(23, 59, 59).filter(|t| *t > db::now()),
            })
            .map(Some)
            .ok_or(()),
    };
    if closes_at.is_err() {
        errors.push(("closes_on", tr.t("editor.error_closes")));
    }
    let language = match f.language.trim() {
        "" => Some(language),
        code => Lang::from_exact(code),
    };
    if language.is_none() {
        errors.push(("language", tr.t("editor.error_language")));
    }
    match (text, goals, closes_at, language) {
        (Ok(text), Ok(goals), Ok(closes_at), Some(language)) if errors.is_empty() => Ok(Valid {
            slug,
            edit: petitions::PetitionEdit {
                title: text.title,
                summary: text.summary,
                body_markdown: text.body_markdown,
                goals,
                targets: text.targets,
                closes_at,
                language,
            },
        }),
        _ => Err(errors),
    }
}

/// The editor as a page: for a new petition or an existing one, with errors or a preview.
struct Editor<'a> {
    req: &'a HttpRequest,
    tr: Tr,
    session: &'a Session,
    new: bool,
    action: String,
    /// The language selected when the form names none: the stored one when editing.
    language: Lang,
}

impl<'a> Editor<'a> {
    /// The editor of a new petition, written in the organizer's language unless they choose
    /// another.
    fn for_new(req: &'a HttpRequest, tr: Tr, session: &'a Session) -> Editor<'a> {
        Editor {
            req,
            tr,
            session,
            new: true,
            action: "/dashboard/petitions".into(),
            language: tr.lang,
        }
    }

    /// The editor of a petition as it is stored.
    fn for_stored(
        req: &'a HttpRequest,
        tr: Tr,
        session: &'a Session,
        view: &PetitionView,
    ) -> Editor<'a> {
        Editor {
            req,
            tr,
            session,
            new: false,
            action: format!("/dashboard/petitions/{}/edit", view.petition.slug),
            language: view.original().lang,
        }
    }

    fn render(
        &self,
        f: PetitionForm,
        errors: Vec<(&'static str, String)>,
        status: StatusCode,
    ) -> Result<HttpResponse, AppError> {
        let preview = f.preview.as_ref().map(|_| crate::markdown::render(&f.body));
        let title = if self.new {
            self.tr.t("editor.new_title")
        } else {
            self.tr.t("editor.edit_title")
        };
        let chosen = Lang::from_exact(f.language.trim()).unwrap_or(self.language);
        let page = EditorPage {
            languages: Lang::ALL
                .iter()
                .map(|l| (l.code(), l.native_name(), *l == chosen))
                .collect(),
            l: Layout::new(self.tr, title, self.req),
            csrf: auth::csrf_token(self.session)?,
            action: self.action.clone(),
            new: self.new,
            f: PetitionForm {
                csrf_token: String::new(),
                ..f
            },
            errors,
            preview,
        };
        Ok(html(status, page.render()?))
    }
}

#[get("/petitions/new")]
pub async fn new_form(
    organizer: Organizer,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let session = organizer.session;
    let f = PetitionForm {
        goals: "1000".into(),
        ..Default::default()
    };
    Editor::for_new(&req, tr, &session).render(f, vec![], StatusCode::OK)
}

#[post("/petitions")]
pub async fn create(
    state: web::Data<AppState>,
    tr: Tr,
    req: HttpRequest,
    Posted(f, organizer): Posted<PetitionForm, Organizer>,
) -> Result<HttpResponse, AppError> {
    let Organizer { who, session, .. } = organizer;
    let editor = Editor::for_new(&req, tr, &session);
    let valid = match validate(&f, &tr, true, None, editor.language) {
        Ok(v) if f.preview.is_none() => v,
        Ok(_) => return editor.render(f, vec![], StatusCode::OK),
        Err(errors) => return editor.render(f, errors, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let Some(slug) = valid.slug else {
        return Err(AppError::BadRequest("editor.error_slug"));
    };
    let new = petitions::NewPetition {
        slug: slug.clone(),
        title: valid.edit.title,
        summary: valid.edit.summary,
        body_markdown: valid.edit.body_markdown,
        started_by: who.name.clone(),
        owner_email: Some(who.email.clone()),
        goals: valid.edit.goals,
        targets: valid.edit.targets,
        created_at: db::now(),
        closes_at: valid.edit.closes_at,
        language: valid.edit.language,
    };
    let who_id = who.id;
    let created = state
        .act(move |c| usecases::petitions::create(c, Some(who_id), &new))
        .await?;
    if created.is_none() {
        let errors = vec![("slug", tr.t("editor.error_slug_taken"))];
        return editor.render(f, errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    Ok(to_petition(slug.as_str()))
}

#[get("/petitions/{slug}/edit")]
pub async fn edit_form(
    petition: ManagedPetition,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let ManagedPetition { organizer, view } = petition;
    let session = organizer.session;
    let p = &view.petition;
    let f = PetitionForm {
        slug: p.slug.clone(),
        title: p.title.clone(),
        summary: p.summary.clone(),
        body: p.body_markdown.clone(),
        targets: view.targets.join("\n"),
        goals: view
            .goals
            .as_slice()
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        closes_on: p
            .closes_at
            .map(|c| c.date().to_string())
            .unwrap_or_default(),
        language: p.language.clone(),
        ..Default::default()
    };
    Editor::for_stored(&req, tr, &session, &view).render(f, vec![], StatusCode::OK)
}

#[post("/petitions/{slug}/edit")]
pub async fn edit(
    state: web::Data<AppState>,
    tr: Tr,
    req: HttpRequest,
    Posted(mut f, petition): Posted<PetitionForm, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let ManagedPetition { organizer, view } = petition;
    let (who, session) = (organizer.who, organizer.session);
    f.slug = view.petition.slug.clone();
    let editor = Editor::for_stored(&req, tr, &session, &view);
    let valid = match validate(&f, &tr, false, view.petition.closes_at, editor.language) {
        Ok(v) if f.preview.is_none() => v,
        Ok(_) => return editor.render(f, vec![], StatusCode::OK),
        Err(errors) => return editor.render(f, errors, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let id = view.petition.id;
    let edited = state
        .act(move |c| usecases::petitions::edit(c, who.id, id, &valid.edit, db::now()))
        .await;
    if let Err(usecases::UseCaseError::Refused(refusal)) = edited
        && let Some(field) = beside(refusal)
    {
        let error = vec![(field, tr.t(refusal.key()))];
        return editor.render(f, error, StatusCode::CONFLICT);
    }
    edited?;
    Ok(to_petition(&view.petition.slug))
}

/// The field a refusal of `usecases::petitions::edit` is shown beside.
fn beside(refusal: Refusal) -> Option<&'static str> {
    match refusal {
        Refusal::ClosedByDate => Some("closes_on"),
        Refusal::LanguageTaken => Some("language"),
        _ => None,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    status: String,
}

#[post("/petitions/{slug}/status")]
pub async fn set_status(
    state: web::Data<AppState>,
    Posted(form, petition): Posted<StatusForm, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let status = match form.status.as_str() {
        "open" => PetitionStatus::Open,
        "closed" => PetitionStatus::Closed,
        _ => return Err(AppError::BadRequest("error.bad_request.message")),
    };
    let (who, p) = (petition.organizer.who, petition.view.petition);
    let id = p.id;
    state
        .act(move |c| usecases::petitions::set_status(c, Some(who.id), id, status, db::now()))
        .await?;
    Ok(to_petition(&p.slug))
}
