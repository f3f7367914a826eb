//! HTTP handlers, one file per page or action. Handlers are thin: parse, call domain and db,
//! render a template.

pub mod admin;
pub mod api;
pub mod cached;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod organizer;
pub mod public;
pub mod signer;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse};
use tokio::sync::Notify;
use url::Url;

use crate::config::Settings;
use crate::db::Pool;
use crate::i18n::{Lang, Tr};
use crate::ratelimit::SignLimiter;
use crate::routes::error::AppError;

/// Routes whose answer is the same for everyone who asks in one language (`?lang=` or
/// `Accept-Language`, never a cookie): proxies and browsers may keep them for the refresh
/// interval (`AppState::public_cache_control`), and they vary only by language and encoding.
pub const PUBLIC_ROUTES: [&str; 10] = [
    "/",
    "/privacy",
    "/petitions/{slug}",
    "/petitions/{slug}/embed",
    "/petitions/{slug}/poster",
    "/petitions/{slug}/card.png",
    "/petitions/{slug}/qr.svg",
    "/petitions/{slug}/qr.png",
    "/api/v1/petitions",
    "/api/v1/petitions/{slug}",
];

/// Of the public routes, those whose answer depends on the reader's language (`Vary:
/// Accept-Language`); the JSON and the QR codes do not.
pub const LANGUAGE_ROUTES: [&str; 6] = [
    "/",
    "/privacy",
    "/petitions/{slug}",
    "/petitions/{slug}/embed",
    "/petitions/{slug}/poster",
    "/petitions/{slug}/card.png",
];

/// What every handler can reach.
pub struct AppState {
    pub pool: Pool,
    pub settings: Settings,
    /// The public URL, without a trailing slash problem: always ends before the path.
    pub base_url: Url,
    pub limiter: SignLimiter,
    pub login_limiter: crate::ratelimit::LoginLimiter,
    /// Password reset requests: a limiter of their own, so they cannot lock anyone out.
    pub reset_limiter: crate::ratelimit::LoginLimiter,
    /// Password hashing, a bounded number at once.
    pub hasher: crate::services::password::Hasher,
    /// Wakes the email worker when a job is queued.
    pub wake_mailer: Arc<Notify>,
    /// One key per purpose, derived from the master key.
    pub keys: Arc<crate::keys::Keys>,
    /// Keyed hashes of client networks, under a key that changes every day.
    pub networks: crate::services::network::NetworkHasher,
    /// Signs the petitions' log checkpoints.
    pub log: Arc<crate::log::LogSigner>,
    /// Witnesses whose cosignatures of checkpoints are accepted (`witness_keys`).
    pub witnesses: Vec<crate::log::note::Verifier>,
    /// Hourly caps on confirmation emails per recipient domain and in all.
    pub email_caps: crate::ratelimit::EmailCaps,
    /// Makes links for emails.
    pub links: crate::email::Links,
    /// Whether the site has a logo to show in the header (`db::site`); refreshed hourly and
    /// whenever an admin changes it on this instance.
    pub logo: std::sync::atomic::AtomicBool,
    /// Share cards drawn at once at most (each takes tens of milliseconds of a core).
    pub card_renders: tokio::sync::Semaphore,
    /// QR codes made, by address and format; emptied when it holds too many.
    pub qr_codes: dashmap::DashMap<(String, &'static str), actix_web::web::Bytes>,
    /// Share cards rendered, per petition and language, with what they were drawn from.
    pub cards: dashmap::DashMap<(String, Lang), (public::card::CardKey, actix_web::web::Bytes)>,
    /// What `/metrics` reports.
    pub metrics: crate::metrics::Metrics,
    /// Writes sign submissions, many to a transaction (group commit).
    pub signer: crate::services::sign_writer::SignWriter,
    /// SQLite: copies the write-ahead log into the database while the app runs.
    pub _checkpoints: Option<crate::db::Checkpoints>,
    /// Each petition's public state, read from the database at most once per
    /// `public_refresh_ms`, with what was rendered from it.
    pub live: crate::live::Live,
}

impl AppState {
    /// Runs a use case (one transaction on the blocking pool) and acts on what it changed.
    pub async fn act<T, F>(&self, f: F) -> Result<T, crate::usecases::UseCaseError>
    where
        F: FnOnce(
                &mut crate::db::DbConnection,
            ) -> Result<crate::usecases::Done<T>, crate::usecases::UseCaseError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let done = crate::usecases::run(&self.pool, f).await?;
        self.apply(&done.changes);
        Ok(done.value)
    }

    /// The one place that acts on what a use case changed: the changed petitions' pages and
    /// JSON are read again by their next request, and queued emails wake the mailer.
    pub fn apply(&self, changes: &crate::usecases::Changes) {
        if changes.site {
            self.live.changed_all();
        }
        for slug in &changes.petitions {
            self.live.changed(slug);
        }
        if changes.emails {
            self.wake_mailer.notify_one();
        }
    }

    /// An absolute URL for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        self.links.url(path)
    }

    /// A petition version's public address: the original's plain, a translation's with
    /// `?lang=`.
    pub fn version_url(&self, slug: &str, lang: Lang, original: bool) -> String {
        let url = self.url(&format!("/petitions/{slug}"));
        if original {
            url
        } else {
            format!("{url}?lang={}", lang.code())
        }
    }

    /// The cosignature lines of witnesses this site trusts now (a witness removed from
    /// `witness_keys` is no longer shown), with their names.
    pub fn trusted(&self, lines: Vec<(String, String)>) -> Vec<(String, String)> {
        lines
            .into_iter()
            .filter_map(|(vkey, line)| {
                let w = self.witnesses.iter().find(|w| w.vkey() == vkey)?;
                Some((w.name.clone(), line))
            })
            .collect()
    }

    /// The client address used for rate limits and network hashes: the socket peer, or,
    /// behind a trusted proxy, the last address in the one header that proxy sets
    /// (`client_ip_header`, `X-Forwarded-For` by default). Only that last entry is the proxy's
    /// word: anything before it, and every other header (`Forwarded`, `X-Real-IP`…), came from
    /// the client and is ignored.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        if self.settings.trust_proxy_headers {
            let name = &self.settings.client_ip_header;
            // The last entry is read from the raw bytes: a client's non-ASCII junk earlier in
            // the header must not make the whole header unreadable.
            let last = req
                .headers()
                .get_all(name)
                .last()
                .and_then(|v| v.as_bytes().rsplit(|&b| b == b',').next())
                .and_then(|b| std::str::from_utf8(b).ok());
            let ip = if name == actix_web::http::header::FORWARDED.as_str() {
                last.and_then(forwarded_for)
            } else {
                last.and_then(parse_ip)
            };
            if ip.is_some() {
                return ip;
            }
        }
        req.peer_addr().map(|a| a.ip())
    }

    /// The public state of the petition `slug` (`NotFound` if there is none), at most
    /// `public_refresh_ms` old.
    pub async fn petition(&self, slug: &str) -> Result<Arc<crate::live::Snapshot>, AppError> {
        self.live
            .get(&self.pool, &self.keys, slug)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// `Cache-Control` of public pages and JSON: proxies and browsers may keep them for the
    /// refresh interval (the state is no fresher), serve them while they fetch the next one,
    /// and keep serving them for a day if the site is down.
    pub fn public_cache_control(&self) -> &str {
        self.live.cache_control()
    }

    /// Who runs the site, as pages, cards and posters name it: `organization_name`, or the
    /// product's name.
    pub fn site_name(&self, tr: &Tr) -> String {
        self.settings
            .organization_name
            .clone()
            .unwrap_or_else(|| tr.t("site.name"))
    }

    /// Whether the site is served over https (Secure cookies, HSTS).
    pub fn https(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// How long organizer sessions live.
    pub fn session_lifetime(&self) -> crate::db::sessions::Lifetime {
        crate::db::sessions::Lifetime {
            max_age: chrono::TimeDelta::hours(self.settings.session_max_hours.into()),
            idle: chrono::TimeDelta::minutes(self.settings.session_idle_minutes.into()),
        }
    }
}

/// The `for=` address of one `Forwarded` element (RFC 7239), quotes, brackets and port removed.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_ip(v.trim().trim_matches('"')))
            .flatten()
    })
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            s.trim_start_matches('[')
                .split(']')
                .next()
                .and_then(|v| v.parse().ok())
        })
}

/// A petition's country counts as the public sees them: countries with at least `min`
/// signatures one by one, the rest summed (a country with one signer would name them to
/// anyone who knows who is from there). Organizers see the exact figures.
pub fn public_countries(by_country: &[(String, i32)], min: u32) -> (Vec<(String, i32)>, i64) {
    let min = i32::try_from(min).unwrap_or(i32::MAX);
    let mut shown = Vec::new();
    let mut other = 0i64;
    for (code, n) in by_country {
        if *n >= min {
            shown.push((code.clone(), *n));
        } else {
            other += i64::from(*n);
        }
    }
    (shown, other)
}

/// A list of signatures streamed batch by batch (with the number of signatures in each chunk):
/// `head`, then each batch as `render` writes it. The rows come from
/// [`crate::export::each_batch`] on a blocking thread with one pooled connection (reading the
/// next batch while the last is opened), through a channel two chunks deep: a slow client slows
/// the export rather than filling memory, and a client gone stops it.
pub fn export_chunks<R>(
    pool: crate::db::Pool,
    keys: std::sync::Arc<crate::keys::Keys>,
    petition_id: i32,
    filter: crate::db::views::export::ExportFilter,
    head: Result<Vec<u8>, crate::export::ExportError>,
    mut render: R,
) -> impl futures_util::Stream<Item = Result<(actix_web::web::Bytes, u64), AppError>>
where
    R: FnMut(
            Vec<crate::db::views::export::ExportRow>,
        ) -> Result<Vec<u8>, crate::export::ExportError>
        + Send
        + 'static,
{
    use crate::export::ExportError;
    use actix_web::web::Bytes;
    type Chunk = Result<(Bytes, u64), AppError>;
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(2);
    actix_web::rt::task::spawn_blocking(move || {
        let gone = || ExportError::Io(std::io::Error::other("the download was cancelled"));
        let send = |chunk: Chunk| tx.blocking_send(chunk).map_err(|_| gone());
        let written = (|| {
            send(Ok((Bytes::from(head?), 0)))?;
            let mut conn = pool.get().map_err(crate::db::DbError::from)?;
            crate::export::each_batch(&mut conn, &keys, petition_id, &filter, |batch| {
                let n = batch.len() as u64;
                send(Ok((Bytes::from(render(batch)?), n)))
            })
        })();
        if let Err(e) = written {
            // Nobody to tell when the client has gone; otherwise the stream ends with it.
            let _ = tx.blocking_send(Err(AppError::Internal(e.into())));
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
}

/// Every organizer page, under `/dashboard`, behind one guard: nobody signed in reaches a
/// handler of it (they are sent to sign in), whatever the handler takes. A new organizer page
/// goes here, and its handler still names what else it needs (`Admin`, `ManagedPetition`).
pub fn dashboard_scope() -> impl actix_web::dev::HttpServiceFactory {
    actix_web::web::scope("/dashboard")
        .wrap(actix_web::middleware::from_fn(
            extract::guards::signed_in_only,
        ))
        .service(admin::accounts::list)
        .service(admin::accounts::invite)
        .service(organizer::colleagues::add_to_petition)
        .service(admin::accounts::sessions_page)
        .service(admin::accounts::end_sessions)
        .service(admin::accounts::set_logo)
        .service(organizer::dashboard::dashboard)
        .service(organizer::delivery::delivery)
        .service(organizer::editor::new_form)
        .service(organizer::editor::create)
        .service(organizer::editor::edit_form)
        .service(organizer::editor::edit)
        .service(organizer::editor::set_status)
        .service(organizer::images::upload)
        .service(organizer::manage::show)
        .service(organizer::manage::export_csv)
        .service(organizer::manage::export_manifest)
        .service(organizer::manage::take_snapshot)
        .service(organizer::manage::show_snapshot)
        .service(organizer::moderation::signers)
        .service(organizer::moderation::act)
        .service(admin::audit::audit)
        .service(organizer::package::make)
        .service(organizer::package::record)
        .service(organizer::paper::add)
        .service(organizer::paper::remove)
        .service(organizer::translations::edit_form)
        .service(organizer::translations::save)
        .service(organizer::translations::remove)
        .service(organizer::updates::post_update)
        .service(organizer::security::show)
        .service(organizer::security::begin)
        .service(organizer::security::confirm)
        .service(organizer::security::end_others)
}

/// "Delivered to … on …: N signatures.", as the petition page and the dashboard say it.
pub fn delivery_line(tr: &crate::i18n::Tr, d: &crate::db::deliveries::Delivery) -> String {
    tr.tf(
        "deliveries.item",
        &[
            ("total", &tr.number(d.total)),
            ("date", &tr.date(d.delivered_on)),
            ("recipient", &d.recipient),
        ],
    )
}

/// The frame every page shares: language, title, the path for the language switcher, and who
/// runs the site.
pub struct Layout {
    pub tr: Tr,
    pub title: String,
    pub path: String,
    /// The organisation running the site (`organization_name`), or the product's name.
    pub site: String,
    /// How to reach the organisation (`organization_contact`), as text and as a link if it is one.
    pub contact: Option<(String, Option<String>)>,
    /// Whether `organization_name` is set: the product is then named only in the footer.
    pub branded: bool,
    /// Whether the site has a logo (`/logo`).
    pub logo: bool,
}

/// One entry of the language switcher.
pub struct LangLink {
    pub code: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

impl Layout {
    pub fn new(tr: Tr, title: impl Into<String>, req: &HttpRequest) -> Layout {
        // The switcher reloads the page with GET: a form's POST target maps to its page.
        let path = req.path();
        let path = path.strip_suffix("/sign").unwrap_or(path);
        // A link's source tag survives a change of language: the switcher comes back to it.
        let path = match crate::domain::Source::from_query(req.query_string()) {
            Some(src) => format!("{path}?src={}", src.as_str()),
            None => path.to_string(),
        };
        let state = req.app_data::<actix_web::web::Data<AppState>>();
        let contact = state
            .and_then(|s| s.settings.organization_contact.clone())
            .map(|c| {
                let href = if c.starts_with("https://") || c.starts_with("http://") {
                    Some(c.clone())
                } else if c.contains('@') && !c.contains(char::is_whitespace) {
                    Some(format!("mailto:{c}"))
                } else {
                    None
                };
                (c, href)
            });
        Layout {
            tr,
            title: title.into(),
            path,
            branded: state.is_some_and(|s| s.settings.organization_name.is_some()),
            logo: state.is_some_and(|s| s.logo.load(std::sync::atomic::Ordering::Relaxed)),
            site: state.map_or_else(|| tr.t("site.name"), |s| s.site_name(&tr)),
            contact,
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    pub fn langs(&self) -> Vec<LangLink> {
        let next: String = url::form_urlencoded::byte_serialize(self.path.as_bytes()).collect();
        Lang::ALL
            .iter()
            .map(|&l| LangLink {
                code: l.code(),
                name: l.native_name(),
                href: format!("/lang/{}?next={next}", l.code()),
                current: l == self.tr.lang,
            })
            .collect()
    }
}

/// An HTML response from a rendered template.
pub fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// A `303 See Other` to `location`: where a posted form sends the browser next.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location.to_string()))
        .finish()
}

/// The message of a form field that did not pass, among a page's `(field, message)` errors.
pub fn field_error<'a>(errors: &'a [(&'static str, String)], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, m)| m.as_str())
}

/// A `YYYY-MM-DD` form field as the start of that day (UTC); empty is `None`.
pub fn parse_day(s: &str) -> Result<Option<chrono::NaiveDateTime>, AppError> {
    match s.trim() {
        "" => Ok(None),
        d => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(Some)
            .ok_or(AppError::BadRequest("error.bad_request.message")),
    }
}

/// An inclusive "until" day as people mean it: everything before the start of the next day.
/// A date at the end of the calendar is refused rather than overflowing.
pub fn parse_day_end(s: &str) -> Result<Option<chrono::NaiveDateTime>, AppError> {
    parse_day(s)?
        .map(|d| {
            d.checked_add_signed(chrono::TimeDelta::days(1))
                .ok_or(AppError::BadRequest("error.bad_request.message"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_elements_give_their_for_address_only() {
        assert_eq!(
            forwarded_for("for=192.0.2.60;proto=http"),
            "192.0.2.60".parse().ok()
        );
        assert_eq!(
            forwarded_for(" For=\"[2001:db8::1]:4711\""),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(forwarded_for("by=203.0.113.43"), None);
        assert_eq!(forwarded_for("for=unknown"), None);
        assert_eq!(parse_ip(" 198.51.100.7:8080"), "198.51.100.7".parse().ok());
    }
}
