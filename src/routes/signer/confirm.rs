//! Confirmation links. `GET` only shows a button (mail scanners follow links); `POST` confirms.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;

use crate::db;
use crate::domain::{ConfirmationToken, Country};
use crate::i18n::{Lang, Tr};
use crate::routes::error::AppError;
use crate::routes::extract::link::{Link, LinkKind};
use crate::routes::public::pages;
use crate::routes::{AppState, Layout, html};
use crate::usecases::{self, signing::LinkState};

/// What the button will confirm, shown before anything is: the link may carry someone else's
/// submission with this address.
#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    l: Layout,
    petition_title: String,
    title_lang: &'static str,
    action: String,
    /// The submission, as a form its mailbox's owner may correct before confirming: the link
    /// is the proof of the mailbox, so whoever holds it decides what is signed (a stranger who
    /// typed the address cannot keep its owner from signing as themselves).
    name: String,
    country: String,
    countries: Vec<(&'static str, &'static str)>,
    display: String,
    postcode: String,
    comment: String,
    comment_public: bool,
    updates: bool,
    error: Option<String>,
}

/// The confirm form's corrections (all optional: a confirmation without them confirms the
/// submission as it was sent).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ConfirmForm {
    /// Set by the form: the fields below are what to sign.
    #[serde(default)]
    edited: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    display: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    comment: String,
    comment_public: Option<String>,
    updates: Option<String>,
    /// The owner agrees, here, to what the form that sent it asked a stranger to agree to.
    consent: Option<String>,
}

impl ConfirmForm {
    /// The corrections, checked as the sign form checks them; the message key of the first
    /// field that is wrong.
    fn corrections(&self) -> Result<Option<usecases::signing::Corrections>, &'static str> {
        if self.edited.is_empty() {
            return Ok(None);
        }
        let text_error = crate::routes::extract::form::text_error_key;
        let name =
            crate::domain::SignerName::parse(&self.name).map_err(|e| text_error("name", e))?;
        let country = Country::parse(&self.country).map_err(|_| "error.country.invalid")?;
        let display =
            crate::domain::NameDisplay::parse(&self.display).ok_or("error.display.invalid")?;
        let comment =
            crate::domain::Comment::parse(&self.comment).map_err(|e| text_error("comment", e))?;
        let postcode = crate::domain::Postcode::parse(&self.postcode)
            .map_err(|e| text_error("postcode", e))?;
        Ok(Some(usecases::signing::Corrections {
            postcode: postcode.map(|p| p.as_str().to_string()),
            name: name.as_str().to_string(),
            country: country.code().to_string(),
            display: display.as_str().to_string(),
            comment_public: crate::routes::extract::form::checked(&self.comment_public)
                && comment.is_some(),
            comment: comment.map(|c| c.as_str().to_string()),
            wants_updates: crate::routes::extract::form::checked(&self.updates),
        }))
    }
}

/// Share targets: plain links, no third-party scripts.
pub struct Share {
    pub url: String,
    pub links: Vec<(&'static str, String)>,
}

impl Share {
    pub fn new(tr: &Tr, url: &str, title: &str) -> Share {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let text = tr.tf("share.text", &[("title", title)]);
        let (u, t) = (enc(url), enc(&text));
        // mailto wants %20 for spaces, not '+'.
        let mail_body = enc(&format!("{text}\n{url}")).replace('+', "%20");
        let mail_subject = enc(title).replace('+', "%20");
        Share {
            url: url.to_string(),
            links: vec![
                (
                    "Email",
                    format!("mailto:?subject={mail_subject}&body={mail_body}"),
                ),
                ("WhatsApp", format!("https://wa.me/?text={t}%20{u}")),
                (
                    "Telegram",
                    format!("https://t.me/share/url?url={u}&text={t}"),
                ),
                ("X", format!("https://x.com/intent/post?text={t}&url={u}")),
                (
                    "Facebook",
                    format!("https://www.facebook.com/sharer/sharer.php?u={u}"),
                ),
            ],
        }
    }
}

#[derive(Template)]
#[template(path = "thanks.html")]
struct ThanksPage {
    l: Layout,
    petition_title: String,
    title_lang: &'static str,
    number: String,
    share: Share,
    /// The signer's receipt page.
    receipt: Option<String>,
}

/// The link in the email that confirms a signature.
pub struct ConfirmLink;

impl LinkKind for ConfirmLink {
    fn dead_end(req: &HttpRequest, tr: Tr) -> Result<HttpResponse, AppError> {
        pages::message(
            req,
            tr,
            StatusCode::NOT_FOUND,
            "token.unknown.title",
            &["token.unknown.message"],
            vec![("/".to_string(), tr.t("token.see_petitions"))],
        )
    }
}

#[get("/confirm/{token}")]
pub async fn show(
    state: web::Data<AppState>,
    Link { token, .. }: Link<ConfirmLink>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let hash = token.hash();
    let now = db::now();
    let keys = state.keys.clone();
    let st = db::run(&state.pool, move |c| {
        usecases::signing::link_state(c, &keys, &hash, now)
    })
    .await?;
    if let LinkState::Pending {
        petition_slug,
        submission,
        personal,
    } = st
    {
        let title = petition_title(&state, petition_slug, tr).await?;
        let page = ConfirmPage {
            l: Layout::new(tr, tr.t("confirm.title"), &req),
            petition_title: title.text,
            title_lang: title.lang.code(),
            action: format!("/confirm/{}?lang={}", token.as_str(), tr.code()),
            name: personal.name,
            country: submission.country,
            countries: Country::all(tr.lang),
            display: submission.display,
            postcode: personal.postcode.unwrap_or_default(),
            comment_public: submission.comment_public && personal.comment.is_some(),
            comment: personal.comment.unwrap_or_default(),
            updates: submission.wants_updates,
            error: None,
        };
        return Ok(html(StatusCode::OK, page.render()?));
    }
    respond(&state, &req, tr, st).await
}

#[post("/confirm/{token}")]
pub async fn confirm(
    state: web::Data<AppState>,
    token: web::Path<String>,
    tr: Tr,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let body = crate::routes::extract::form::read_body(payload).await?;
    // Read after the body (not as a `Link`), so that a body too large is refused as such
    // whatever the link.
    let Some(token) = ConfirmationToken::parse(&token) else {
        return ConfirmLink::dead_end(&req, tr);
    };
    // No body: the submission as it was sent. A body that cannot be read is refused, never
    // taken for "no corrections" (which would confirm what a stranger typed).
    let form: ConfirmForm = if body.is_empty() {
        ConfirmForm::default()
    } else {
        serde_urlencoded::from_bytes(&body)
            .map_err(|_| AppError::BadRequest("error.bad_request.message"))?
    };
    // Changed details need the owner's own consent; the submission as it was sent does not
    // (its sender gave it), whoever presses the button.
    let consent = form.consent.as_deref().is_some_and(|v| !v.is_empty());
    let corrected = match form.corrections() {
        Ok(Some(c)) if !consent => {
            let (hash, keys) = (token.hash(), state.keys.clone());
            let pending = db::run(&state.pool, move |conn| {
                usecases::signing::link_state(conn, &keys, &hash, db::now())
            })
            .await?;
            match pending {
                LinkState::Pending {
                    submission,
                    personal,
                    ..
                } if c.unchanged(&submission, &personal) => Ok(None),
                _ => Err("error.consent.missing"),
            }
        }
        other => other,
    };
    let corrections = match corrected {
        Ok(c) => c,
        Err(key) => {
            // Shown again as it was sent, with what to fix: nothing is confirmed.
            let title = match db::run(&state.pool, {
                let (hash, keys) = (token.hash(), state.keys.clone());
                move |c| usecases::signing::link_state(c, &keys, &hash, db::now())
            })
            .await?
            {
                LinkState::Pending { petition_slug, .. } => {
                    petition_title(&state, petition_slug, tr).await?
                }
                other => return respond(&state, &req, tr, other).await,
            };
            let page = ConfirmPage {
                l: Layout::new(tr, tr.t("confirm.title"), &req),
                petition_title: title.text,
                title_lang: title.lang.code(),
                action: format!("/confirm/{}?lang={}", token.as_str(), tr.code()),
                countries: Country::all(tr.lang),
                comment_public: form.comment_public.is_some(),
                updates: form.updates.is_some(),
                name: form.name,
                country: form.country,
                display: form.display,
                postcode: form.postcode,
                comment: form.comment,
                error: Some(tr.t(key)),
            };
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()?));
        }
    };
    let hash = token.hash();
    let now = db::now();
    let links = state.links.clone();
    let keys = state.keys.clone();
    let render = move |r: &usecases::signing::ReceiptFor<'_>| -> crate::domain::NewEmail {
        receipt_email(&links, r)
    };
    // Its page, count and series show it at once here (other instances within the interval);
    // the receipt just queued goes out now, not at the next poll.
    let st = state
        .act(move |c| {
            usecases::signing::confirm(c, &keys, &hash, now, corrections.as_ref(), &render)
        })
        .await?;
    if let LinkState::Confirmed {
        petition_slug,
        number,
        ..
    } = &st
    {
        tracing::info!(petition.slug = %petition_slug, signer.number = number, "signature confirmed");
    }
    respond(&state, &req, tr, st).await
}

/// The email a signer gets once their signature is confirmed (or restored, if it was
/// confirmed while invalidated): a link to their receipt.
pub(crate) fn receipt_email(
    links: &crate::email::Links,
    r: &usecases::signing::ReceiptFor<'_>,
) -> crate::domain::NewEmail {
    use crate::email::messages::{Kind, PetitionEmail};
    // Every link opens in the language the signer signed in.
    let tr = Tr::new(Lang::from_code(r.locale).unwrap_or(Lang::En));
    let lang = tr.code();
    let link = links.url(&format!(
        "/petitions/{}/receipt/{}?lang={lang}",
        r.petition_slug, r.code
    ));
    let petition_url = links.url(&format!("/petitions/{}?lang={lang}", r.petition_slug));
    let withdraw = links.url(&format!("/withdraw/{}?lang={lang}", r.withdraw_token));
    PetitionEmail {
        tr,
        kind: Kind::Receipt,
        petition_title: r.petition_title,
        petition_url: &petition_url,
        link: &link,
        valid_days: 0,
        withdraw: &withdraw,
    }
    .render_or_plain(r.recipient)
}

/// The petition's title as the visitor reads it: in their language where it has that
/// version, else the original's.
struct Title {
    text: String,
    lang: Lang,
    /// The petition's address for that version, as sharing gives it.
    url: String,
}

async fn petition_title(state: &AppState, slug: String, tr: Tr) -> Result<Title, AppError> {
    let found = slug.clone();
    let (original, (lang, text)) = db::run(&state.pool, move |c| {
        Ok(match db::petitions::find_by_slug(c, &found)? {
            Some(p) => (
                p.language.clone(),
                db::petitions::title_in(c, p.id, Some(tr.lang))?,
            ),
            None => (String::new(), (tr.lang, String::new())),
        })
    })
    .await?;
    Ok(Title {
        url: state.version_url(&slug, lang, original == lang.code()),
        text,
        lang,
    })
}

/// The page for a link in a final state: thanks, closed, expired, or unknown.
async fn respond(
    state: &AppState,
    req: &HttpRequest,
    tr: Tr,
    st: LinkState,
) -> Result<HttpResponse, AppError> {
    let res = match st {
        LinkState::Confirmed {
            petition_slug,
            number,
            receipt,
        } => {
            let title = petition_title(state, petition_slug.clone(), tr).await?;
            let page = ThanksPage {
                l: Layout::new(tr, tr.t("thanks.title"), req),
                number: tr.tf(
                    "thanks.number",
                    &[("number", &tr.number(i64::from(number)))],
                ),
                share: Share::new(&tr, &title.url, &title.text),
                petition_title: title.text,
                title_lang: title.lang.code(),
                receipt: receipt.map(|code| {
                    format!(
                        "/petitions/{petition_slug}/receipt/{code}?lang={}",
                        tr.code()
                    )
                }),
            };
            html(StatusCode::OK, page.render()?)
        }
        LinkState::Closed { petition_slug } => pages::message(
            req,
            tr,
            StatusCode::GONE,
            "token.closed.title",
            &["token.closed.message"],
            vec![(
                format!("/petitions/{petition_slug}"),
                tr.t("token.see_petition"),
            )],
        )?,
        LinkState::Expired { petition_slug } | LinkState::Pending { petition_slug, .. } => {
            pages::message(
                req,
                tr,
                StatusCode::GONE,
                "token.expired.title",
                &["token.expired.message"],
                vec![(
                    format!("/petitions/{petition_slug}"),
                    tr.t("token.sign_again"),
                )],
            )?
        }
        LinkState::Unknown => ConfirmLink::dead_end(req, tr)?,
    };
    Ok(res)
}
