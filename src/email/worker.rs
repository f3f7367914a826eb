//! The outbox worker: claims due jobs with a lease, sends them, retries failures with
//! exponential backoff. A job is only marked sent after the transport accepted it, so a crash
//! mid-send means the job is sent again after its lease, never lost.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use lettre::message::Mailbox;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::messages::UpdateEmail;
use super::{Links, Mailer};
use crate::db::outbox::EmailJob;
use crate::db::schema::{petition_updates, petitions, signatures};
use crate::db::{self, DbConnection, DbError, Pool, outbox};
use crate::domain::NewEmail;
use crate::i18n::{Lang, Tr};
use crate::sealed::{Personal, Purpose};

/// Attempts before a job is given up on (about a day with the default backoff).
pub const MAX_ATTEMPTS: i32 = 30;
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// The pause between two claims of a busy mailing.
const ROUND_PAUSE: Duration = Duration::from_millis(10);
/// Messages in flight at once (SMTP connections come from lettre's pool).
pub const CONCURRENCY: usize = 32;

#[derive(Clone)]
pub struct Worker {
    pub pool: Pool,
    pub mailer: Mailer,
    pub from: Mailbox,
    pub retry_base: Duration,
    pub poll: Duration,
    /// How long a claimed job stays reserved for this worker.
    pub lease: Duration,
    /// Signalled when a job is queued, so emails go out at once instead of at the next poll.
    pub wake: Arc<Notify>,
    /// For links in emails rendered at send time (update emails).
    pub links: Links,
}

/// What became of one send.
struct Outcome {
    id: i32,
    /// The lease it was sent under.
    lease: NaiveDateTime,
    /// `None`: the transport accepted it; else why not, and when to try again (`None`: never).
    failed: Option<(String, Option<NaiveDateTime>)>,
}

/// Outcomes are recorded once nothing is being sent, or this many are waiting, or the oldest
/// has waited `RECORD_WAIT`: a send that hangs does not hold back the record of the others.
const RECORD_BATCH: usize = 1024;
const RECORD_WAIT: Duration = Duration::from_millis(250);

impl Worker {
    /// Runs until `stop` turns true (or the task is dropped). Sends are independent: up to
    /// [`CONCURRENCY`] are in flight at once, each bounded by the transport's own deadline
    /// (`smtp_timeout_s`), and a free place takes the next claimed email at once, so one relay
    /// connection that hangs holds one place for one timeout, never the others or the next
    /// claim. Once stopping, it claims nothing more, lets the sends under way finish and
    /// records them, then returns: an email the relay took is not sent again after a restart.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let this = Arc::new(self);
        // Each send a task of its own: it goes on while this loop waits for the database.
        let mut sending: JoinSet<Outcome> = JoinSet::new();
        let mut queue: VecDeque<Ready> = VecDeque::new();
        let mut outcomes: Vec<Outcome> = Vec::new();
        // Every job claimed here and not recorded yet: queued, being sent, or sent.
        let mut mine: HashSet<i32> = HashSet::new();
        let mut recording_fails = false;
        let mut oldest_outcome = Instant::now();
        // Whether due emails may be waiting: after a wake, a poll, or a claim that came back full.
        let mut look = true;
        let mut next_poll = Instant::now() + this.poll;
        let mut next_claim = Instant::now();
        let mut stopping = false;
        // A job is begun only while this much of its lease is left: one exchange and a second
        // (half the lease at most, for a transport that takes no time); later, it waits for
        // its lease to run out and is claimed again, rather than risk being sent twice.
        let margin = TimeDelta::from_std(this.mailer.deadline() + Duration::from_secs(1))
            .unwrap_or(TimeDelta::seconds(31))
            .min(TimeDelta::from_std(this.lease / 2).unwrap_or(TimeDelta::seconds(1)));
        loop {
            // Also seen here: the signal may come while a claim waits for the database.
            stopping = stopping || *stop.borrow();
            if stopping {
                // Claimed but not begun: left to their lease, as if never claimed.
                for ready in queue.drain(..) {
                    mine.remove(&ready.job.id);
                }
                if sending.is_empty() && (outcomes.is_empty() || recording_fails) {
                    if recording_fails {
                        tracing::error!(
                            emails = outcomes.len(),
                            "email worker stopped before recording what it sent: \
                             they may be sent again"
                        );
                    }
                    return;
                }
            }
            while sending.len() < CONCURRENCY
                && let Some(ready) = queue.pop_front()
            {
                if ready.lease - db::now() < margin {
                    mine.remove(&ready.job.id);
                    continue;
                }
                let worker = this.clone();
                sending.spawn(async move { worker.send(ready).await });
            }
            if !outcomes.is_empty()
                && (sending.is_empty()
                    || outcomes.len() >= RECORD_BATCH
                    || oldest_outcome.elapsed() >= RECORD_WAIT)
            {
                if let Err(e) = this.record(&outcomes).await {
                    // Kept and tried again: a job recorded late is still this worker's while
                    // its lease lasts, and one never recorded would be sent again after it.
                    // Nothing more is claimed meanwhile.
                    tracing::error!(error = %e, "email worker could not record what it sent");
                    oldest_outcome = Instant::now();
                    recording_fails = true;
                } else {
                    for o in outcomes.drain(..) {
                        mine.remove(&o.id);
                    }
                    recording_fails = false;
                }
            }
            if look
                && !stopping
                && !recording_fails
                && queue.is_empty()
                && sending.len() < CONCURRENCY
                && Instant::now() >= next_claim
            {
                match this.claim(mine.iter().copied().collect()).await {
                    Ok((claimed, full)) => {
                        mine.extend(claimed.iter().map(|r| r.job.id));
                        look = full;
                        // A breath between claims of a long mailing: SQLite has one writer,
                        // and a sign request waiting for it should not lose every race.
                        next_claim = Instant::now() + ROUND_PAUSE;
                        queue.extend(claimed);
                        if !queue.is_empty() {
                            continue;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "email worker could not read the outbox");
                        look = false;
                    }
                }
            }
            let record_at = oldest_outcome + RECORD_WAIT;
            tokio::select! {
                Some(done) = sending.join_next(), if !sending.is_empty() => {
                    match done {
                        Ok(outcome) => {
                            if outcomes.is_empty() {
                                oldest_outcome = Instant::now();
                            }
                            outcomes.push(outcome);
                        }
                        // A send that panicked (a bug): its job stays leased, and this worker
                        // never takes it up again; another instance, or a restart, does.
                        Err(e) => tracing::error!(error = %e, "an email send failed unexpectedly"),
                    }
                }
                _ = tokio::time::sleep_until(record_at), if !outcomes.is_empty() => {}
                _ = tokio::time::sleep_until(next_claim), if look && Instant::now() < next_claim => {}
                _ = this.wake.notified() => look = true,
                changed = stop.changed(), if !stopping => {
                    stopping = changed.is_err() || *stop.borrow();
                }
                _ = tokio::time::sleep_until(next_poll) => {
                    look = true;
                    next_poll = Instant::now() + this.poll;
                }
            }
        }
    }

    /// Enqueues a batch of any update being fanned out, then claims the emails due now (at
    /// most a round, [`Mailer::round_size`]) and opens or renders each. Returns them, and
    /// whether the round was full (more may be due).
    /// Jobs in `mine` (claimed by this worker and not recorded yet) are never claimed again,
    /// even once their lease has run out: a job is sent at most once by one worker.
    async fn claim(&self, mine: Vec<i32>) -> Result<(Vec<Ready>, bool), DbError> {
        let lease = TimeDelta::from_std(self.lease).unwrap_or(TimeDelta::minutes(2));
        let fanned = db::run(&self.pool, move |c| {
            Ok(crate::usecases::updates::fan_out(c, db::now(), lease))
        })
        .await;
        // A failed fan-out step is retried next round (its lease runs out); it must not stop
        // the emails that are due from going out.
        let queued = match fanned {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "update fan-out step failed");
                0
            }
            Err(e) => {
                tracing::error!(error = %e, "update fan-out step failed");
                0
            }
        };
        let now = db::now();
        let lease_until = outbox::lease_end(now + lease);
        let links = self.links.clone();
        let retry_base = self.retry_base;
        let round = self.mailer.round_size(self.lease);
        // Claiming and rendering take one pooled connection, once: the sends that follow touch
        // no database, so a mailing leaves the pool to the people signing.
        let (jobs, full) = db::run(&self.pool, move |c| {
            // An instance left running with the key from before a rotation cannot open what
            // is queued now: it sends nothing, and counts no attempt, until restarted.
            if let Err(DbError::StaleKey) = db::site::ensure_current_key(c, &links.keys) {
                tracing::error!("the database's data key changed: restart with the new key");
                return Ok((vec![], false));
            }
            let mut ids = outbox::due(c, now, round)?;
            let full = ids.len() as i64 >= round;
            ids.retain(|id| !mine.contains(id));
            let claimed = outbox::claim(c, &ids, now, lease_until)?;
            let mut updates = HashMap::new();
            let mut titles = HashMap::new();
            let mut ready = Vec::with_capacity(claimed.len());
            for job in claimed {
                let email = match (&job.content, job.update_id, job.signature_id) {
                    (Some(sealed), _, _) => {
                        match links.keys.open::<NewEmail>(Purpose::Email, sealed) {
                            Ok(email) => Some(email),
                            Err(e) => {
                                // Sealed under a key this instance lacks (a rotation since the
                                // check above): left, uncounted, for an instance that has it.
                                db::site::ensure_current_key(c, &links.keys)?;
                                // Changed or damaged: retried like a failed send, then given
                                // up on.
                                tracing::error!(job.id = job.id, error = %e, "email job unreadable");
                                let attempt = job.attempts + 1;
                                let retry_at = (attempt < MAX_ATTEMPTS).then(|| {
                                    now + TimeDelta::from_std(backoff(retry_base, attempt))
                                        .unwrap_or_default()
                                });
                                outbox::mark_failed(
                                    c,
                                    job.id,
                                    lease_until,
                                    now,
                                    retry_at,
                                    &e.to_string(),
                                )?;
                                continue;
                            }
                        }
                    }
                    // Unsubscribed, invalidated or gone since the update was posted: `None`.
                    (None, Some(update), Some(signature)) => {
                        render_update(c, &links, &mut updates, &mut titles, update, signature)?
                    }
                    (None, _, _) => None,
                };
                match email {
                    Some(email) => ready.push(Ready {
                        job,
                        email,
                        lease: lease_until,
                    }),
                    None => {
                        outbox::mark_failed(c, job.id, lease_until, now, None, "no longer a recipient")?;
                    }
                }
            }
            Ok((ready, full))
        })
        .await?;
        Ok((jobs, full || queued > 0))
    }

    /// Records what became of sends, in one transaction: sent ones marked sent (their content
    /// dropped), failed ones set for another attempt or given up on; each only while still
    /// under the lease it was sent under.
    async fn record(&self, outcomes: &[Outcome]) -> Result<(), DbError> {
        let mut sent: HashMap<NaiveDateTime, Vec<i32>> = HashMap::new();
        let mut failed = Vec::new();
        for o in outcomes {
            match &o.failed {
                None => sent.entry(o.lease).or_default().push(o.id),
                Some((error, retry_at)) => failed.push((o.id, o.lease, error.clone(), *retry_at)),
            }
        }
        let expected: usize = sent.values().map(Vec::len).sum();
        let marked = db::run(&self.pool, move |c| {
            db::write_tx(c, |c| {
                let now = db::now();
                let mut marked = 0;
                for (lease, ids) in &sent {
                    marked += outbox::mark_sent(c, ids, *lease, now)?;
                }
                for (id, lease, error, retry_at) in &failed {
                    outbox::mark_failed(c, *id, *lease, now, *retry_at, error)?;
                }
                Ok::<_, DbError>(marked)
            })
        })
        .await?;
        if marked < expected {
            tracing::warn!(
                late = expected - marked,
                "emails sent after their lease ran out: another instance may send them again \
                 (raise email_lease_ms)"
            );
        }
        Ok(())
    }

    /// Sends one claimed, rendered job within the transport's deadline.
    async fn send(&self, ready: Ready) -> Outcome {
        let Ready { job, email, lease } = ready;
        let id = job.id;
        // Update emails name their unsubscribe link in headers too, so mail programs offer a
        // one-click "unsubscribe" (RFC 8058: a POST to the link, which ours accepts).
        let unsubscribe = job
            .update_id
            .and(job.signature_id)
            .map(|s| self.links.unsubscribe_url(s));
        let failed = match self
            .mailer
            .send(&self.from, &email, unsubscribe.as_deref())
            .await
        {
            Ok(to) => {
                // Where it went (a file or the relay), never to whom.
                tracing::info!(job.id = id, "email sent {to}");
                None
            }
            Err(err) => {
                let attempt = job.attempts + 1;
                let retry_at = (!err.permanent && attempt < MAX_ATTEMPTS).then(|| {
                    db::now() + TimeDelta::from_std(self.backoff(attempt)).unwrap_or_default()
                });
                // An SMTP refusal often quotes the address: not kept, nor logged.
                let message = crate::telemetry::without_addresses(&err.message);
                tracing::warn!(
                    job.id = id,
                    attempt,
                    permanent = err.permanent,
                    error = %message,
                    "email not sent"
                );
                Some((message, retry_at))
            }
        };
        Outcome { id, lease, failed }
    }

    /// The wait before attempt `attempt + 1`: base, 2×base, 4×base… capped at an hour.
    pub fn backoff(&self, attempt: i32) -> Duration {
        backoff(self.retry_base, attempt)
    }
}

/// The wait before attempt `attempt + 1` with first delay `base`: base, 2×base, 4×base…
/// capped at an hour.
fn backoff(base: Duration, attempt: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.clamp(1, 20) as u32 - 1);
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

/// A claimed job with its message opened or rendered, ready to send.
struct Ready {
    job: EmailJob,
    email: NewEmail,
    /// The end of the lease it was claimed under.
    lease: NaiveDateTime,
}

/// An update as its emails show it: title, Markdown, page HTML (unused: emails render their
/// own, without images), the petition's title and slug.
type UpdateText = (String, String, String, String, String, i32);

/// Renders an update email for one signature from the stored update (read once per batch into
/// `updates`), or `None` if the update is gone or the signature no longer counts or no longer
/// wants news.
fn render_update(
    conn: &mut DbConnection,
    links: &Links,
    updates: &mut HashMap<i32, Option<UpdateText>>,
    titles: &mut HashMap<(i32, Option<Lang>), String>,
    update_id: i32,
    signature_id: i32,
) -> Result<Option<NewEmail>, DbError> {
    use diesel::prelude::*;
    if let std::collections::hash_map::Entry::Vacant(slot) = updates.entry(update_id) {
        let update: Option<UpdateText> = petition_updates::table
            .inner_join(petitions::table)
            .filter(petition_updates::id.eq(update_id))
            .select((
                petition_updates::title,
                petition_updates::body_markdown,
                petition_updates::body_html,
                petitions::title,
                petitions::slug,
                petitions::id,
            ))
            .first(conn)
            .optional()?;
        slot.insert(update);
    }
    let Some(Some((title, body_text, _, original_title, slug, petition_id))) =
        updates.get(&update_id)
    else {
        return Ok(None);
    };
    let signer: Option<(Option<String>, String)> = signatures::table
        .find(signature_id)
        .filter(db::signatures::counted())
        .filter(signatures::wants_updates.eq(true))
        .select((signatures::personal, signatures::locale))
        .first(conn)
        .optional()?;
    let Some((Some(personal), locale)) = signer else {
        return Ok(None);
    };
    let address = match links.keys.open::<Personal>(Purpose::Signature, &personal) {
        Ok(p) => p.email,
        Err(e) => {
            // A rotation since this round began: the job waits for an instance with the key.
            db::site::ensure_current_key(conn, &links.keys)?;
            tracing::error!(signature.id = signature_id, error = %e, "signature unreadable");
            return Ok(None);
        }
    };
    // The petition as the signer read it: its title in their language, where it has one.
    let read = Lang::from_code(&locale);
    let lang = read.unwrap_or(Lang::En);
    if let std::collections::hash_map::Entry::Vacant(slot) = titles.entry((*petition_id, read)) {
        slot.insert(db::petitions::title_in(conn, *petition_id, read)?.1);
    }
    let petition_title = titles.get(&(*petition_id, read)).unwrap_or(original_title);
    let petition_url = links.url(&format!("/petitions/{slug}?lang={}", lang.code()));
    let unsubscribe_url = links.unsubscribe_url(signature_id);
    let body_html = crate::markdown::render_for_email(body_text);
    let email = UpdateEmail {
        tr: Tr::new(lang),
        petition_title,
        petition_url: &petition_url,
        title,
        body_html: &body_html,
        body_text,
        unsubscribe_url: &unsubscribe_url,
    }
    .render(&address)
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "update email template failed");
        NewEmail {
            recipient: address.clone(),
            subject: title.clone(),
            body_text: format!("{body_text}\n\n{unsubscribe_url}"),
            body_html: String::new(),
        }
    });
    Ok(Some(email))
}
