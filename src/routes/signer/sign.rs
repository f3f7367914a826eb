//! `POST /petitions/{slug}/sign` and the "check your email" page it leads to.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::TimeDelta;
use serde::Deserialize;
use validator::Validate;

use crate::db;
use crate::domain::{
    Comment, ConfirmationToken, Country, NameDisplay, Postcode, SignerEmail, SignerName, Source,
    TextError,
};
use crate::email::messages::{Kind, PetitionEmail};
use crate::i18n::Tr;
use crate::ratelimit::CapReached;
use crate::routes::error::AppError;
use crate::routes::extract::form::{checked, read_body, text_error_key};
use crate::routes::public::petition::{self, FormState};
use crate::routes::{AppState, see_other};
use crate::usecases::signing::{Admission, EmailCap, SignEmail, SignOutcome, Signer};
use crate::usecases::{self, Changes};

/// How long the confirmation-email cap (`max_confirmation_emails`) counts: others' attempts
/// with an address can delay its owner's email by at most this long.
pub const EMAIL_CAP_WINDOW: TimeDelta = TimeDelta::hours(1);

/// The sign form as posted. Bounds are checked here; meaning is checked by the domain types.
#[derive(Debug, Default, Deserialize, Validate)]
pub struct SignForm {
    #[serde(default)]
    #[validate(length(max = 400))]
    name: String,
    #[serde(default)]
    #[validate(length(max = 254))]
    email: String,
    #[serde(default)]
    #[validate(length(max = 8))]
    country: String,
    #[serde(default)]
    #[validate(length(max = 32))]
    postcode: String,
    #[serde(default)]
    #[validate(length(max = 2000))]
    comment: String,
    public: Option<String>,
    /// How the name may appear in public: `full`, `initials` or `none` (CONTRACT.md).
    #[serde(default)]
    #[validate(length(max = 16))]
    display: Option<String>,
    /// "Email me news about this petition".
    updates: Option<String>,
    consent: Option<String>,
    /// Hidden from people by CSS and `aria-hidden`; bots that fill every field fill this one.
    #[serde(default)]
    website: String,
    /// The tag of the link the signer followed (`?src=` on the petition page), carried by a
    /// hidden field: no cookie. A malformed one is dropped.
    #[serde(default)]
    src: String,
    /// "Show my comment on the petition page".
    comment_public: Option<String>,
}

#[post("/petitions/{slug}/sign")]
pub async fn sign(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    tr: Tr,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let ip = state.client_ip(&req);
    let limited = ip.and_then(|ip| state.limiter.check(ip).err());
    let body = read_body(payload).await?;
    let form = parse_form(&body)?;

    let slug = slug.into_inner();
    // The petition as this instance holds it (at most `public_refresh_ms` old): a petition
    // closed meanwhile elsewhere takes a pending signature that its confirmation refuses.
    let snapshot = state.petition(&slug).await?;
    let view = &snapshot.view;
    let now = db::now();
    let admission = usecases::signing::admit(&view.petition, &form.website, now)?;
    if let Some(wait) = limited {
        // The form comes back as it was typed, saying why and for how long: nothing is lost.
        let (_, mut kept) = validate(&form, &tr);
        kept.errors.clear();
        let minutes = wait.as_secs().div_ceil(60).max(1);
        kept.notice = Some(tr.tf(
            "sign.rate_limited",
            &[(
                "minutes",
                &tr.number(i64::try_from(minutes).unwrap_or(i64::MAX)),
            )],
        ));
        let mut page = petition::render(&req, tr, &snapshot, kept, StatusCode::TOO_MANY_REQUESTS)?;
        page.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(wait.as_secs().max(1)),
        );
        return Ok(page);
    }
    let check_email = see_other(&format!("/petitions/{slug}/signed?lang={}", tr.code()));
    if admission == Admission::Drop {
        tracing::info!(petition.slug = %slug, "honeypot filled; signature dropped");
        return Ok(check_email);
    }

    let (valid, state_for_page) = validate(&form, &tr);
    let Some(valid) = valid else {
        return petition::render(
            &req,
            tr,
            &snapshot,
            state_for_page,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };

    let network_hash = match ip {
        Some(ip) => Some(
            state
                .networks
                .hash(&state.pool, ip, view.petition.id)
                .await?,
        ),
        None => None,
    };
    let ttl_hours = state.settings.confirmation_ttl_hours;
    let render = sign_email(&state, tr, &slug, view.text_for(tr.lang).title.clone());
    let dedupe = valid.email.dedupe_key().to_string();
    let signer = Signer {
        name: valid.name,
        email: valid.email,
        country: valid.country,
        postcode: valid.postcode,
        comment: valid.comment,
        display: valid.display,
        comment_public: checked(&form.comment_public),
        wants_updates: checked(&form.updates),
        lang: tr.lang,
        source: state_for_page.source.clone(),
    };
    let cap = EmailCap {
        max: state.settings.max_confirmation_emails,
        window: EMAIL_CAP_WINDOW,
    };
    let request = usecases::signing::request(
        &state.keys,
        view.petition.id,
        signer,
        network_hash,
        TimeDelta::hours(i64::from(ttl_hours)),
        cap,
        now,
        render,
    );
    // The hourly caps per recipient domain and in all: refused before anything is stored,
    // so the signer loses nothing by trying again later. They say nothing about one address.
    let reservation = state
        .email_caps
        // By the canonical domain: one provider's every spelling is one bucket.
        .reserve(&dedupe)
        .map_err(|reached| {
            let (wait, domain) = match reached {
                CapReached::Domain(wait) => (wait, true),
                CapReached::Total(wait) => (wait, false),
            };
            AppError::EmailsCapped {
                retry_after_secs: wait.as_secs().max(1),
                domain,
            }
        })?;
    // Stored with the others that arrive meanwhile, in one transaction; answered once committed.
    let outcome = state.signer.sign(request).await?;
    tracing::info!(petition.slug = %slug, outcome = ?outcome, "sign request");
    // A capped attempt gets the same page as any other: a different answer would tell anyone
    // typing an address whether, and when, it was used. The page always states the cap.
    if !matches!(outcome, SignOutcome::Capped { .. }) {
        state.metrics.signed.inc();
        reservation.keep();
        state.apply(&Changes::none().with_emails(true));
    }
    Ok(check_email)
}

/// The words of a submission's emails, in the language the supporter signed in; every link in
/// them opens in it too.
fn sign_email(
    state: &AppState,
    tr: Tr,
    slug: &str,
    title: String,
) -> std::sync::Arc<usecases::signing::SignRenderer> {
    let lang = tr.code();
    let links = state.links.clone();
    let petition_url = state.url(&format!("/petitions/{slug}?lang={lang}"));
    let valid_days = state.settings.confirmation_ttl_hours.div_ceil(24);
    std::sync::Arc::new(
        move |kind: SignEmail,
              recipient: &str,
              token: &ConfirmationToken,
              withdraw: Option<&ConfirmationToken>| {
            let link = links.url(&format!("/confirm/{}?lang={lang}", token.as_str()));
            let withdraw = withdraw
                .map(|w| links.url(&format!("/withdraw/{}?lang={lang}", w.as_str())))
                .unwrap_or_default();
            let kind = match kind {
                SignEmail::Confirm => Kind::Confirm,
                SignEmail::AlreadySigned => Kind::AlreadySigned,
            };
            PetitionEmail {
                tr,
                kind,
                petition_title: &title,
                petition_url: &petition_url,
                link: &link,
                valid_days,
                withdraw: &withdraw,
            }
            .render_or_plain(recipient)
        },
    )
}

/// The parts of a valid form, as domain types.
struct ValidSignature {
    name: SignerName,
    email: SignerEmail,
    country: Country,
    postcode: Option<Postcode>,
    comment: Option<Comment>,
    display: NameDisplay,
}

fn validate(form: &SignForm, tr: &Tr) -> (Option<ValidSignature>, FormState) {
    let mut errors: Vec<(&'static str, &'static str)> = Vec::new();
    if let Err(e) = form.validate() {
        for field in e.field_errors().keys() {
            let key = match field.as_ref() {
                "name" => ("name", "error.name.too_long"),
                "email" => ("email", "error.email.invalid"),
                "country" => ("country", "error.country.invalid"),
                "postcode" => ("postcode", "error.postcode.invalid"),
                "display" => ("display", "error.display.invalid"),
                _ => ("comment", "error.comment.too_long"),
            };
            errors.push(key);
        }
    }
    let text_error = |field: &'static str, e: TextError| (field, text_error_key(field, e));
    let has = |errors: &Vec<(&str, &str)>, f: &str| errors.iter().any(|(x, _)| *x == f);
    let name = SignerName::parse(&form.name)
        .map_err(|e| text_error("name", e))
        .ok_or_push(&mut errors, has);
    let email = SignerEmail::parse(&form.email)
        .map_err(|k| {
            (
                "email",
                if k == "email.missing" {
                    "error.email.missing"
                } else {
                    "error.email.invalid"
                },
            )
        })
        .ok_or_push(&mut errors, has);
    let country = Country::parse(&form.country)
        .map_err(|k| {
            (
                "country",
                if k == "country.missing" {
                    "error.country.missing"
                } else {
                    "error.country.invalid"
                },
            )
        })
        .ok_or_push(&mut errors, has);
    let postcode = Postcode::parse(&form.postcode)
        .map_err(|e| text_error("postcode", e))
        .ok_or_push(&mut errors, has);
    let comment = Comment::parse(&form.comment)
        .map_err(|e| text_error("comment", e))
        .ok_or_push(&mut errors, has);
    let display = NameDisplay::from_form(form.display.as_deref(), checked(&form.public));
    if display.is_none() && !has(&errors, "display") {
        errors.push(("display", "error.display.invalid"));
    }
    if !checked(&form.consent) {
        errors.push(("consent", "error.consent.missing"));
    }
    let state = FormState {
        name: truncate(&form.name, 200),
        email: truncate(&form.email, 254),
        country: truncate(&form.country, 8),
        postcode: truncate(&form.postcode, 32),
        comment: truncate(&form.comment, 1000),
        display: display.unwrap_or_default().as_str(),
        updates: checked(&form.updates),
        consent: checked(&form.consent),
        source: Source::parse(&form.src),
        comment_public: checked(&form.comment_public),
        notice: None,
        errors: errors.iter().map(|(f, k)| (*f, tr.t(k))).collect(),
    };
    if !errors.is_empty() {
        return (None, state);
    }
    match (name, email, country, postcode, comment, display) {
        (Some(name), Some(email), Some(country), Some(postcode), Some(comment), Some(display)) => (
            Some(ValidSignature {
                name,
                email,
                country,
                postcode,
                comment,
                display,
            }),
            state,
        ),
        _ => (None, state),
    }
}

/// Collects a field's first error; a field already flagged by the bounds check keeps that one.
trait OkOrPush<T> {
    fn ok_or_push(
        self,
        errors: &mut Vec<(&'static str, &'static str)>,
        has: impl Fn(&Vec<(&str, &str)>, &str) -> bool,
    ) -> Option<T>;
}

impl<T> OkOrPush<T> for Result<T, (&'static str, &'static str)> {
    fn ok_or_push(
        self,
        errors: &mut Vec<(&'static str, &'static str)>,
        has: impl Fn(&Vec<(&str, &str)>, &str) -> bool,
    ) -> Option<T> {
        match self {
            Ok(v) => Some(v),
            Err((field, key)) => {
                if !has(errors, field) {
                    errors.push((field, key));
                }
                None
            }
        }
    }
}

/// Keeps what is shown back in the form bounded, whatever was posted.
fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// Decodes `application/x-www-form-urlencoded`, refusing bytes that are not UTF-8 instead of
/// silently replacing them (which would store a mangled name).
pub fn parse_form(body: &[u8]) -> Result<SignForm, AppError> {
    for pair in body.split(|&b| b == b'&') {
        let plus_as_space: Vec<u8> = pair
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let decoded: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
        if std::str::from_utf8(&decoded).is_err() {
            return Err(AppError::BadRequest("error.encoding.message"));
        }
    }
    serde_urlencoded::from_bytes(body)
        .map_err(|_| AppError::BadRequest("error.bad_request.message"))
}

#[get("/petitions/{slug}/signed")]
pub async fn signed(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    tr: Tr,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let slug = slug.into_inner();
    let snapshot = state.petition(&slug).await?;
    let view = &snapshot.view;
    let days = state
        .settings
        .confirmation_ttl_hours
        .div_ceil(24)
        .to_string();
    let max = tr.number(i64::from(state.settings.max_confirmation_emails));
    let text = view.text_for(tr.lang);
    // Sharing is offered at once: the confirmation can wait in an inbox.
    let url = state.version_url(&slug, text.lang, text.original);
    let page = SignedPage {
        l: crate::routes::Layout::new(tr, tr.t("check.title"), &req),
        petition_title: text.title.clone(),
        title_lang: text.lang.code(),
        hint: tr.tf("check.hint", &[("days", &days)]),
        capped: tr.tf("check.capped", &[("max", &max)]),
        share: crate::routes::signer::confirm::Share::new(&tr, &url, &text.title),
        back: format!("/petitions/{slug}?lang={}", tr.code()),
    };
    use askama::Template;
    Ok(crate::routes::html(StatusCode::OK, page.render()?))
}

/// "Check your email": what happens next, and sharing straight away.
#[derive(askama::Template)]
#[template(path = "signed.html")]
struct SignedPage {
    l: crate::routes::Layout,
    petition_title: String,
    title_lang: &'static str,
    hint: String,
    capped: String,
    share: crate::routes::signer::confirm::Share,
    back: String,
}

/// `GET /petitions/{slug}/sign`: the address left in the bar after a form came back with
/// errors; reloading it goes back to the petition instead of "not found".
#[get("/petitions/{slug}/sign")]
pub async fn sign_page(slug: web::Path<String>, tr: Tr) -> Result<HttpResponse, AppError> {
    let slug = crate::domain::Slug::parse(&slug).map_err(|_| AppError::NotFound)?;
    Ok(see_other(&format!(
        "/petitions/{}?lang={}#sign",
        slug.as_str(),
        tr.code()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_refused_and_valid_utf8_decoded() {
        assert!(parse_form(b"name=%FF%FE&email=a%40b.org").is_err());
        let f = parse_form("name=%D4%B1%D5%B6%D5%AB+P&email=a%40b.org".as_bytes()).unwrap();
        assert_eq!(f.name, "Անի P");
    }

    #[test]
    fn every_invalid_field_gets_its_own_message() {
        let form = parse_form(b"name=&email=nope&country=XX&comment=ok").unwrap();
        let (valid, state) = validate(&form, &Tr::new(crate::i18n::Lang::En));
        assert!(valid.is_none());
        for field in ["name", "email", "country", "consent"] {
            assert!(state.error(field).is_some(), "{field}");
        }
        assert!(state.error("comment").is_none());
    }
}
