//! A petition's versions in other languages, edited from the dashboard beside the original.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::db::{self, petitions::TextVersion, views::petition::PetitionView};
use crate::domain::PetitionText;
use crate::i18n::{Lang, Tr};
use crate::routes::error::AppError;
use crate::routes::extract::auth::{self, Session};
use crate::routes::extract::guards::{Button, ManagedPetition, Posted};
use crate::routes::organizer::to_petition_section;
use crate::routes::{AppState, Layout, field_error, html};

crate::with_csrf!(TranslationForm);
use crate::usecases;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct TranslationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    body: String,
    /// One per line, in the original's order; empty: the original's.
    #[serde(default)]
    targets: String,
    /// Present when the preview button was pressed.
    #[serde(default)]
    preview: Option<String>,
    /// The original's `text_version` when the form was opened.
    #[serde(default)]
    source_version: Option<i32>,
}

#[derive(Template)]
#[template(path = "translation.html")]
struct TranslationPage<'a> {
    l: Layout,
    csrf: String,
    slug: String,
    lang: Lang,
    original: &'a TextVersion,
    /// Whether a version in this language exists (it can be removed).
    exists: bool,
    /// "The original changed since this version was made."
    outdated: bool,
    f: TranslationForm,
    errors: Vec<(&'static str, String)>,
    preview: Option<String>,
}

impl TranslationPage<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

/// Back to the petition's dashboard page, at its languages.
fn back_to_languages(view: &PetitionView) -> HttpResponse {
    to_petition_section(&view.petition.slug, "languages")
}

/// The language in a dashboard URL: one of ours, and not the petition's original.
fn language(view: &PetitionView, code: &str) -> Result<Lang, AppError> {
    Lang::from_exact(code)
        .filter(|l| *l != view.original().lang)
        .ok_or(AppError::NotFound)
}

/// The editor of one version, for one request.
struct Editor<'a> {
    req: &'a HttpRequest,
    tr: Tr,
    session: &'a Session,
    view: &'a PetitionView,
    lang: Lang,
}

impl<'a> Editor<'a> {
    /// The editor of the version in the language the path names (`{lang}`).
    fn of(
        req: &'a HttpRequest,
        tr: Tr,
        petition: &'a ManagedPetition,
        code: &str,
    ) -> Result<Editor<'a>, AppError> {
        let view = &petition.view;
        Ok(Editor {
            req,
            tr,
            session: &petition.organizer.session,
            view,
            lang: language(view, code)?,
        })
    }

    fn render(
        &self,
        f: TranslationForm,
        errors: Vec<(&'static str, String)>,
        status: StatusCode,
    ) -> Result<HttpResponse, AppError> {
        let Editor {
            req,
            tr,
            session,
            view,
            lang,
        } = *self;
        let version = view.texts.iter().find(|t| t.lang == lang && !t.original);
        let preview = f.preview.as_ref().map(|_| crate::markdown::render(&f.body));
        let title = tr.tf("translate.title", &[("language", lang.native_name())]);
        let page = TranslationPage {
            l: Layout::new(tr, title, req),
            csrf: auth::csrf_token(session)?,
            slug: view.petition.slug.clone(),
            lang,
            original: view.original(),
            exists: version.is_some(),
            outdated: version.is_some_and(|t| t.outdated),
            f: TranslationForm {
                csrf_token: String::new(),
                // Kept from the form that was sent; a new form is made from the original as
                // it is now.
                source_version: f.source_version.or(Some(view.petition.text_version)),
                ..f
            },
            errors,
            preview,
        };
        Ok(html(status, page.render()?))
    }
}

#[get("/petitions/{slug}/translations/{lang}")]
pub async fn edit_form(
    path: web::Path<(String, String)>,
    petition: ManagedPetition,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner().1;
    let editor = Editor::of(&req, tr, &petition, &code)?;
    let (view, lang) = (editor.view, editor.lang);
    let f = match view.texts.iter().find(|t| t.lang == lang && !t.original) {
        Some(t) => TranslationForm {
            title: t.title.clone(),
            summary: t.summary.clone(),
            body: t.body_markdown.clone(),
            // Shown only when they differ from the original's: otherwise they follow it.
            targets: if t.targets == view.original().targets {
                String::new()
            } else {
                t.targets.join("\n")
            },
            ..Default::default()
        },
        None => TranslationForm::default(),
    };
    editor.render(f, vec![], StatusCode::OK)
}

#[post("/petitions/{slug}/translations/{lang}")]
pub async fn save(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    tr: Tr,
    req: HttpRequest,
    Posted(f, petition): Posted<TranslationForm, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner().1;
    let editor = Editor::of(&req, tr, &petition, &code)?;
    let text = match PetitionText::parse(&f.title, &f.summary, &f.body, &f.targets) {
        Ok(_) if f.preview.is_some() => return editor.render(f, vec![], StatusCode::OK),
        Ok(text) => text,
        Err(errors) => {
            let errors = errors.into_iter().map(|(f, k)| (f, tr.t(k))).collect();
            return editor.render(f, errors, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let (who, id) = (petition.who(), petition.id());
    let made_from = f.source_version;
    let translation = db::petitions::Translation {
        lang: editor.lang,
        text,
    };
    state
        .act(move |c| {
            usecases::petitions::translate(c, Some(who), id, &translation, made_from, db::now())
        })
        .await?;
    Ok(back_to_languages(&petition.view))
}

#[post("/petitions/{slug}/translations/{lang}/remove")]
pub async fn remove(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(_, petition): Posted<Button, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner().1;
    let (who, view) = (petition.organizer.who, petition.view);
    let lang = language(&view, &code)?;
    let id = view.petition.id;
    state
        .act(move |c| usecases::petitions::remove_translation(c, who.id, id, lang, db::now()))
        .await?;
    Ok(back_to_languages(&view))
}
