//! The public state of each petition, held in memory: its page data (text and versions, goals,
//! targets, counts, countries, recent public signers, updates, comments), read from the
//! database at most once per `public_refresh_ms` and whenever this instance changed it, and
//! shared by the page, the JSON, the count, the widget and the share card. What is rendered
//! from one state (a page per language, the JSON) is kept with it, compressed once, so a page
//! view under load is a map lookup and a copy.
//!
//! Several instances each read the database on their own: none serves a state older than the
//! interval plus the time one read takes.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use http::HeaderValue;

use crate::db::views::petition::PetitionView;
use crate::db::{self, DbError, Pool};
use crate::i18n::Lang;
use crate::keys::Keys;

/// Public signers named on the page.
pub const RECENT_SIGNERS: i64 = 8;
/// Signers' comments the page quotes.
pub const COMMENTS_SHOWN: i64 = 10;
/// Days in the JSON's daily series, and how often that series is counted again.
const SERIES_DAYS: i64 = 90;
const SERIES_EVERY: Duration = Duration::from_secs(60);

/// A petition's public state as read at one moment.
pub struct Snapshot {
    pub view: PetitionView,
    /// Recent public signers: (name as they chose to show it, country code).
    pub recent: Vec<(String, String)>,
    /// Updates, newest first.
    pub updates: Vec<db::updates::Update>,
    /// Comments signers chose to show: (name if shown, comment).
    pub comments: Vec<(Option<String>, String)>,
    /// Confirmed signatures per UTC day, and when they were counted.
    pub days: Arc<(Instant, Vec<db::views::stats::Day>)>,
    read_at: Instant,
    /// When it was read, for `Last-Modified`.
    pub read_at_wall: DateTime<Utc>,
    /// How many changes this instance had made to the petition when the read began: a change
    /// made since (during the read, or after) makes the next request read it again.
    generation: u64,
    /// What was rendered from it, by what and language.
    rendered: DashMap<(&'static str, Option<Lang>), Made>,
}

impl Snapshot {
    fn fresh(&self, interval: Duration, changes: u64) -> bool {
        self.read_at.elapsed() < interval && self.generation == changes
    }

    /// What `make` renders from this state for `what` in `lang`, made once: the requests that
    /// ask meanwhile wait for it (without holding a thread) rather than render it again. If
    /// `make` fails, the next request tries again.
    pub async fn rendered<E>(
        &self,
        what: &'static str,
        lang: Option<Lang>,
        make: impl FnOnce() -> Result<Rendered, E>,
    ) -> Result<Arc<Rendered>, E> {
        let key = (what, lang);
        // Read first: `entry` locks the map's shard for writing, and every request asks.
        let cell = match self.rendered.get(&key) {
            Some(cell) => cell.clone(),
            None => self.rendered.entry(key).or_default().clone(),
        };
        cell.get_or_try_init(|| async { make().map(Arc::new) })
            .await
            .cloned()
    }
}

/// A petition's first read, shared by the requests that wait for it (an error as its text).
type FirstRead = tokio::sync::OnceCell<Result<Option<Arc<Snapshot>>, String>>;

/// Removes its gate from `loading` when dropped, unless another took its place.
struct Ungate<'a> {
    loading: &'a DashMap<String, Arc<FirstRead>>,
    slug: &'a str,
    gate: &'a Arc<FirstRead>,
}

impl Drop for Ungate<'_> {
    fn drop(&mut self) {
        self.loading
            .remove_if(self.slug, |_, g| Arc::ptr_eq(g, self.gate));
    }
}

/// One rendering of a state, made by the first request that needs it.
type Made = Arc<tokio::sync::OnceCell<Arc<Rendered>>>;

struct Slot {
    current: RwLock<Arc<Snapshot>>,
    /// Changes this instance made to the petition (`Live::changed`).
    changes: std::sync::atomic::AtomicU64,
    /// Held by the one request that reads the state again; the others serve the last one.
    reading: tokio::sync::Mutex<()>,
}

/// Every petition's public state this instance has served.
pub struct Live {
    slots: DashMap<String, Arc<Slot>>,
    /// The outcome of reading a petition not yet in memory, one per slug while it is read: a
    /// thousand requests for it the moment after a restart make one read, not a thousand.
    loading: DashMap<String, Arc<FirstRead>>,
    interval: Duration,
    cache_control: String,
    reads: prometheus_client::metrics::counter::Counter,
    /// Pages that are not one petition's (the home page's list), per language.
    site: DashMap<(&'static str, Option<Lang>), Arc<SitePage>>,
    /// Changes this instance made to any petition: the site's pages are made again after one.
    site_changes: std::sync::atomic::AtomicU64,
}

/// One of the site's pages as last made: when, after which change, and the rendering.
#[derive(Default)]
struct SitePage {
    made: RwLock<Option<(Instant, u64, Arc<Rendered>)>>,
    /// Held by the one request that makes it again; the others serve the last one.
    making: tokio::sync::Mutex<()>,
}

impl Live {
    /// States read again after `interval`; each read from the database counts in `reads`.
    pub fn new(interval: Duration, reads: prometheus_client::metrics::counter::Counter) -> Live {
        let secs = interval.as_secs().max(1);
        Live {
            slots: DashMap::new(),
            loading: DashMap::new(),
            site: DashMap::new(),
            site_changes: Default::default(),
            reads,
            interval,
            cache_control: format!(
                "public, max-age={secs}, stale-while-revalidate={}, stale-if-error=86400",
                secs * 10
            ),
        }
    }

    /// How long a state is served before it is read again.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// `Cache-Control` for what is served from these states: kept for the interval.
    pub fn cache_control(&self) -> &str {
        &self.cache_control
    }

    /// The public state of the petition `slug`, read again if it is older than the interval;
    /// `None` if there is no such petition. While one request reads it, the others get the
    /// last state; if the database fails, the last state is served and the failure logged.
    pub async fn get(
        &self,
        pool: &Pool,
        keys: &Arc<Keys>,
        slug: &str,
    ) -> Result<Option<Arc<Snapshot>>, DbError> {
        let slot = self.slots.get(slug).map(|s| s.value().clone());
        let Some(slot) = slot else {
            return self.load(pool, keys, slug).await;
        };
        let changes = || slot.changes.load(std::sync::atomic::Ordering::Acquire);
        let last = current(&slot);
        if last.fresh(self.interval, changes()) {
            return Ok(Some(last));
        }
        let Ok(_reading) = slot.reading.try_lock() else {
            return Ok(Some(last));
        };
        // Another request may have read it while this one waited for the lock.
        let last = current(&slot);
        let generation = changes();
        if last.fresh(self.interval, generation) {
            return Ok(Some(last));
        }
        // The daily series is counted again after a change made here (a confirmation), else
        // once a minute.
        let days = (last.generation == generation).then(|| last.days.clone());
        self.reads.inc();
        match read(pool, keys, slug.to_string(), days, generation).await {
            Ok(Some(snapshot)) => {
                let snapshot = Arc::new(snapshot);
                if let Ok(mut current) = slot.current.write() {
                    *current = snapshot.clone();
                }
                Ok(Some(snapshot))
            }
            Ok(None) => {
                self.slots.remove(slug);
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(error = %e, "petition state unreadable: serving the last one");
                Ok(Some(last))
            }
        }
    }

    /// The first read of a petition this instance has not served yet. Requests for it that
    /// arrive meanwhile wait for that read and take its outcome, "no such petition" and
    /// failures included.
    async fn load(
        &self,
        pool: &Pool,
        keys: &Arc<Keys>,
        slug: &str,
    ) -> Result<Option<Arc<Snapshot>>, DbError> {
        let gate = self.loading.entry(slug.to_string()).or_default().clone();
        // Taken away once used, even by a request whose client left mid-read, so a slug that
        // names no petition leaves nothing behind.
        let _away = Ungate {
            loading: &self.loading,
            slug,
            gate: &gate,
        };
        let outcome = gate
            .get_or_init(|| async {
                if let Some(slot) = self.slots.get(slug).map(|s| s.value().clone()) {
                    return Ok(Some(current(&slot)));
                }
                // A change made here while this read runs has no slot to mark yet: any change
                // to any petition meanwhile makes the next request read this one again.
                let changes_before = self.site_changes.load(std::sync::atomic::Ordering::Acquire);
                self.reads.inc();
                let found = read(pool, keys, slug.to_string(), None, 0)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(found.map(|snapshot| {
                    let snapshot = Arc::new(snapshot);
                    let slot = Arc::new(Slot {
                        current: RwLock::new(snapshot.clone()),
                        changes: Default::default(),
                        reading: tokio::sync::Mutex::new(()),
                    });
                    self.slots.insert(slug.to_string(), slot.clone());
                    // Compared once the slot is in place: a change from now on marks it.
                    if self.site_changes.load(std::sync::atomic::Ordering::Acquire)
                        != changes_before
                    {
                        slot.changes
                            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                    }
                    snapshot
                }))
            })
            .await;
        outcome.clone().map_err(DbError::Other)
    }

    /// Marks the petition `slug` as changed by this instance: its next request reads it again.
    pub fn changed(&self, slug: &str) {
        self.site_changes
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if let Some(slot) = self.slots.get(slug) {
            slot.changes
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
    }

    /// A page of the site's own (`what` in `lang`), made by `make` at most once per interval
    /// and again at once after a change made here, like a petition's state. While one request
    /// makes it, the others serve the last one; if making it fails, the last one is served.
    pub async fn site_page<F, Fut, E>(
        &self,
        what: &'static str,
        lang: Option<Lang>,
        make: F,
    ) -> Result<Arc<Rendered>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Rendered, E>>,
        E: std::fmt::Display,
    {
        // A few keys (pages × languages), all the site's own: the map stays small.
        let page = self.site.entry((what, lang)).or_default().clone();
        let last = || match page.made.read() {
            Ok(made) => made.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let fresh = |made: &Option<(Instant, u64, Arc<Rendered>)>, generation: u64| match made {
            Some((at, g, r)) if at.elapsed() < self.interval && *g == generation => Some(r.clone()),
            _ => None,
        };
        let generation = self.site_changes.load(std::sync::atomic::Ordering::Acquire);
        let before = last();
        if let Some(r) = fresh(&before, generation) {
            return Ok(r);
        }
        let _making = match (page.making.try_lock(), &before) {
            (Ok(turn), _) => turn,
            (Err(_), Some((_, _, r))) => return Ok(r.clone()),
            (Err(_), None) => page.making.lock().await,
        };
        // Made by the request this one waited for.
        if let Some(r) = fresh(&last(), generation) {
            return Ok(r);
        }
        match make().await {
            Ok(made) => {
                let made = Arc::new(made);
                let mut slot = match page.made.write() {
                    Ok(slot) => slot,
                    Err(poisoned) => poisoned.into_inner(),
                };
                *slot = Some((Instant::now(), generation, made.clone()));
                Ok(made)
            }
            Err(e) => match before {
                Some((_, _, r)) => {
                    tracing::warn!(error = %e, "{what} not made again: serving the last one");
                    Ok(r)
                }
                None => Err(e),
            },
        }
    }

    /// Marks every petition as changed (a change to the whole site: its logo, say).
    pub fn changed_all(&self) {
        self.site_changes
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        for slot in self.slots.iter() {
            slot.changes
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
    }
}

fn current(slot: &Slot) -> Arc<Snapshot> {
    match slot.current.read() {
        Ok(s) => s.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Reads a petition's public state in one snapshot of the database; the daily series is kept
/// from `days` while it is younger than a minute.
async fn read(
    pool: &Pool,
    keys: &Arc<Keys>,
    slug: String,
    days: Option<Arc<(Instant, Vec<db::views::stats::Day>)>>,
    generation: u64,
) -> Result<Option<Snapshot>, DbError> {
    let keys = keys.clone();
    db::run(pool, move |c| {
        db::read_snapshot(c, |c| {
            let Some(view) = db::views::petition::view(c, &slug)? else {
                return Ok(None);
            };
            let id = view.petition.id;
            let recent = db::views::petition::recent_public_signers(c, &keys, id, RECENT_SIGNERS)?;
            let updates = db::updates::list(c, id)?;
            let comments = db::views::petition::public_comments(c, &keys, id, COMMENTS_SHOWN)?;
            let days = match days {
                Some(d) if d.0.elapsed() < SERIES_EVERY => d,
                _ => {
                    let since = db::now() - chrono::TimeDelta::days(SERIES_DAYS);
                    Arc::new((Instant::now(), db::views::stats::per_day(c, id, since)?))
                }
            };
            Ok(Some(Snapshot {
                view,
                recent,
                updates,
                comments,
                days,
                read_at: Instant::now(),
                read_at_wall: Utc::now(),
                generation,
                rendered: DashMap::new(),
            }))
        })
    })
    .await
}

/// A response body made once and sent many times: as it is, gzip and brotli, with its ETag.
pub struct Rendered {
    pub content_type: &'static str,
    pub body: Bytes,
    pub gzip: Bytes,
    pub br: Bytes,
    /// The body's tag (the start of its SHA-256); each encoding is sent under its own ETag
    /// (`"tag"`, `"tag-gz"`, `"tag-br"`), as strong validators must differ between them.
    pub etag: String,
    pub last_modified: DateTime<Utc>,
    /// The validators, ready to send: ETags as it is, gzip and brotli, and `Last-Modified`.
    pub etag_headers: [Option<HeaderValue>; 3],
    pub modified_header: Option<HeaderValue>,
}

impl Rendered {
    /// Compresses `body` both ways, quickly (it is made again with each state), and tags it.
    pub fn new(content_type: &'static str, body: impl Into<Bytes>, at: DateTime<Utc>) -> Rendered {
        Rendered::made(content_type, body.into(), at, Some((6, 5)))
    }

    /// Compresses `body` as small as it gets: for what is made once per process.
    pub fn new_best(
        content_type: &'static str,
        body: impl Into<Bytes>,
        at: DateTime<Utc>,
    ) -> Rendered {
        Rendered::made(content_type, body.into(), at, Some((9, 11)))
    }

    /// `body` as it is (images: compressing them saves nothing).
    pub fn plain(
        content_type: &'static str,
        body: impl Into<Bytes>,
        at: DateTime<Utc>,
    ) -> Rendered {
        Rendered::made(content_type, body.into(), at, None)
    }

    fn made(
        content_type: &'static str,
        body: Bytes,
        at: DateTime<Utc>,
        levels: Option<(u32, u32)>,
    ) -> Rendered {
        // Small bodies too: made once here, rather than by the middleware on every request.
        let (gzip, br) = match levels {
            Some((g, b)) => (gzip(&body, g), brotli(&body, b)),
            None => (Bytes::new(), Bytes::new()),
        };
        let etag = etag(&body);
        let tagged = |suffix: &str| HeaderValue::from_str(&format!("\"{etag}{suffix}\"")).ok();
        Rendered {
            content_type,
            etag_headers: [tagged(""), tagged("-gz"), tagged("-br")],
            modified_header: HeaderValue::from_str(&http_date(at)).ok(),
            etag,
            body,
            gzip,
            br,
            last_modified: at,
        }
    }
}

pub fn gzip(body: &[u8], level: u32) -> Bytes {
    use std::io::Write;
    let mut out = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::new(level),
    );
    // Writing to a Vec cannot fail.
    let _ = out.write_all(body);
    out.finish().map(Bytes::from).unwrap_or_default()
}

pub fn brotli(body: &[u8], quality: u32) -> Bytes {
    use std::io::Write;
    let mut out = Vec::with_capacity(body.len() / 3);
    {
        let mut w = ::brotli::CompressorWriter::new(&mut out, 4096, quality, 22);
        let _ = w.write_all(body);
    }
    Bytes::from(out)
}

/// A body's tag: the start of its SHA-256, in hex.
pub fn etag(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    hex::encode(&digest[..12])
}

pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Read;

    proptest! {
        #[test]
        fn both_encodings_decode_to_the_body(body in proptest::collection::vec(any::<u8>(), 0..20_000)) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&gzip(&body, 6)[..]).read_to_end(&mut out).unwrap();
            prop_assert_eq!(&out, &body);
            let mut out = Vec::new();
            ::brotli::Decompressor::new(&brotli(&body, 5)[..], 4096).read_to_end(&mut out).unwrap();
            prop_assert_eq!(&out, &body);
        }
    }
}
