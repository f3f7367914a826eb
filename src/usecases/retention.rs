//! Erasing what is no longer needed. The server runs [`sweep`] and [`run`] at start and then
//! every hour.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::UseCaseError;
use crate::db::schema::{confirmation_tokens, deliveries, email_jobs, petitions, signatures};
use crate::db::signatures::Erasure;
use crate::db::{self, DbConnection};
use crate::domain::SignatureStatus;

/// How long a network hash is kept for moderation ("signatures from the same network").
pub const NETWORK_HASH_DAYS: i64 = 30;

/// What one sweep erased.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Signatures and confirmation links whose network hash was erased.
    pub network_hashes: usize,
    /// Organizer sessions past their lifetime.
    pub sessions: usize,
    /// Seeds of network-hash keys of days that are over.
    pub day_seeds: usize,
}

/// Erases network hashes older than [`NETWORK_HASH_DAYS`], the key seeds of days that are
/// over and expired organizer sessions, in one transaction. Then, on SQLite, the write-ahead
/// log is checkpointed and truncated, so the erased values do not linger in the `-wal` file.
pub fn sweep(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    sessions: db::sessions::Lifetime,
) -> Result<Swept, UseCaseError> {
    let cutoff = now - TimeDelta::days(NETWORK_HASH_DAYS);
    db::write_tx(conn, |conn| {
        let mut swept = Swept::default();
        swept.network_hashes += diesel::update(
            signatures::table
                .filter(signatures::ip_hash.is_not_null())
                .filter(signatures::created_at.lt(cutoff)),
        )
        .set(signatures::ip_hash.eq(None::<String>))
        .execute(conn)?;
        swept.network_hashes += diesel::update(
            confirmation_tokens::table
                .filter(confirmation_tokens::ip_hash.is_not_null())
                .filter(confirmation_tokens::created_at.lt(cutoff)),
        )
        .set(confirmation_tokens::ip_hash.eq(None::<String>))
        .execute(conn)?;
        // The email allowances of networks past their day: their windows ended long ago.
        swept.network_hashes += diesel::delete(crate::db::schema::email_allowances::table.filter(
            crate::db::schema::email_allowances::window_start.lt(now - TimeDelta::days(1)),
        ))
        .execute(conn)?;
        swept.sessions = db::sessions::purge_expired(conn, now, sessions)?;
        swept.day_seeds = db::network_seeds::forget_before(conn, &now.date().to_string())?;
        Ok::<_, UseCaseError>(swept)
    })
    .and_then(|swept| {
        // Every sweep, not only one that erased something: a truncation cut short earlier
        // (it waits only a moment for readers) is finished here.
        db::truncate_wal(conn)?;
        Ok(swept)
    })
}

/// Days a sent (or given-up) email job keeps its recipient, subject and body at most.
pub const EMAIL_JOB_DAYS: i64 = 7;

/// What [`run`] erased (or, on a dry run, would erase).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// Confirmed signatures whose personal data was erased (the count and log keep them).
    pub signatures: usize,
    /// Pending signatures whose every link expired, deleted with their links.
    pub pending: usize,
    /// Expired confirmation links of signatures that stay.
    pub links: usize,
    /// Email jobs stripped of recipient, subject and body.
    pub email_jobs: usize,
}

impl std::fmt::Display for Erased {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} signatures' personal data\n{} unconfirmed signatures\n{} expired confirmation links\n\
             {} old email jobs' contents",
            self.signatures, self.pending, self.links, self.email_jobs
        )
    }
}

/// Rows one transaction of a retention run changes at most: a run over a petition of a million
/// signatures is thousands of short transactions, between which signing and confirming go on.
pub const CHUNK: i64 = 500;

/// What each petition has due, as a run first reads it (decided again under its lock).
#[derive(Default)]
struct Due {
    /// A delivery recorded before the cutoff: the signatures confirmed before it.
    delivered: Option<NaiveDateTime>,
    /// Pending signatures with no link left that can still confirm them.
    pending: Vec<i32>,
}

/// Erases what the retention rules say is due:
/// - the personal data (sealed name, email, postcode, comment; domain and network hashes;
///   withdraw link) of a petition's signatures `retention_days` after it closed, and of the
///   signatures a recorded delivery carried `retention_days` after that delivery; the count,
///   the countries, the signer numbers, the log and the keyed mailbox hash (which alone stops
///   one mailbox counting twice should the petition reopen) stay;
/// - pending signatures once every link they had expired, and expired links;
/// - the content of email jobs sent or given up on more than [`EMAIL_JOB_DAYS`] ago.
///
/// Petition by petition, [`CHUNK`] rows a transaction, each under the petition's lock with
/// what is due decided again there: a run never holds the write lock for long, and one that
/// stops half-way (a crash, a full disk) leaves every row either erased or untouched, for the
/// next run. With `dry_run`, counts what it would erase and changes nothing. Then, on SQLite,
/// the write-ahead log is truncated (`secure_delete` has zeroed the erased values in place).
pub fn run(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    retention_days: u32,
    dry_run: bool,
) -> Result<Erased, UseCaseError> {
    let cutoff = now - TimeDelta::days(i64::from(retention_days));
    let due = due(conn, now, cutoff)?;
    if dry_run {
        return would_erase(conn, now, cutoff, &due);
    }
    let mut erased = Erased::default();
    for (&petition, due) in &due {
        loop {
            let began = std::time::Instant::now();
            let done = db::write_tx(conn, |conn| {
                // 1. the petition; 2. its signatures, in id order; 4. their links.
                let locked = super::lock_petition(conn, petition)?;
                let Some(until) = erasable(&locked, now, cutoff, due.delivered) else {
                    return Ok::<_, UseCaseError>(0);
                };
                let ids: Vec<i32> = to_erase(petition, until)
                    .order(signatures::id.asc())
                    .limit(CHUNK)
                    .select(signatures::id)
                    .load(conn)?;
                Ok(db::signatures::erase_personal(
                    conn,
                    &ids,
                    Erasure::Retention,
                    now,
                )?)
            })?;
            erased.signatures += done;
            if done < CHUNK as usize {
                break;
            }
            yield_writer(began.elapsed());
        }
        // Pending signatures still without a live link, checked again once their rows are
        // locked: signing again may have just given one a new link.
        for chunk in due.pending.chunks(CHUNK as usize) {
            erased.pending += db::write_tx(conn, |conn| {
                super::lock_petition(conn, petition)?;
                if let DbConnection::Postgres(c) = conn {
                    signatures::table
                        .filter(signatures::id.eq_any(chunk))
                        .select(signatures::id)
                        .for_update()
                        .load::<i32>(c)?;
                }
                Ok::<_, UseCaseError>(
                    diesel::delete(
                        signatures::table
                            .filter(signatures::id.eq_any(chunk))
                            .filter(signatures::status.eq(SignatureStatus::Pending.as_str()))
                            .filter(diesel::dsl::not(diesel::dsl::exists(live_link(now)))),
                    )
                    .execute(conn)?,
                )
            })?;
        }
    }
    loop {
        let done = db::write_tx(conn, |conn| {
            let ids: Vec<i32> = confirmation_tokens::table
                .filter(confirmation_tokens::expires_at.le(now))
                .select(confirmation_tokens::id)
                .limit(CHUNK)
                .load(conn)?;
            diesel::delete(confirmation_tokens::table.filter(confirmation_tokens::id.eq_any(ids)))
                .execute(conn)
        })?;
        erased.links += done;
        if done < CHUNK as usize {
            break;
        }
    }
    let old = now - TimeDelta::days(EMAIL_JOB_DAYS);
    loop {
        let done = db::write_tx(conn, |conn| {
            let ids: Vec<i32> = old_email_jobs(old)
                .select(email_jobs::id)
                .limit(CHUNK)
                .load(conn)?;
            diesel::update(email_jobs::table.filter(email_jobs::id.eq_any(ids)))
                .set(email_jobs::content.eq(None::<String>))
                .execute(conn)
        })?;
        erased.email_jobs += done;
        if done < CHUNK as usize {
            break;
        }
    }
    if erased != Erased::default() {
        db::truncate_wal(conn)?;
    }
    Ok(erased)
}

/// What each petition may have due, read outside any write transaction.
/// After a chunk that held the write lock for `held`, lets other writers have it as long: on
/// SQLite a writer waiting in its busy handler sleeps between tries, and one that loops at once
/// wins the lock every time (signing fell to a fifteenth of its rate next to an erasure of a
/// million signatures). Retention runs at most half the time, signing the other half.
fn yield_writer(held: std::time::Duration) {
    std::thread::sleep(held.clamp(
        std::time::Duration::from_millis(5),
        std::time::Duration::from_millis(200),
    ));
}

fn due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    cutoff: NaiveDateTime,
) -> Result<std::collections::BTreeMap<i32, Due>, UseCaseError> {
    // Visited in id order: one lock order across petitions, so two instances' runs cannot
    // deadlock.
    let mut due: std::collections::BTreeMap<i32, Due> = Default::default();
    let closed: Vec<i32> = petitions::table
        .filter(
            petitions::closed_at.le(cutoff).or(petitions::closed_at
                .is_null()
                .and(petitions::closes_at.le(cutoff))),
        )
        .select(petitions::id)
        .load(conn)?;
    for petition in closed {
        // Closed by hand or by date before the cutoff: every signature (decided again under
        // the lock, [`erasable`]).
        due.entry(petition).or_default();
    }
    let delivered: Vec<(i32, NaiveDateTime)> = deliveries::table
        .filter(deliveries::created_at.le(cutoff))
        .group_by(deliveries::petition_id)
        .select((
            deliveries::petition_id,
            diesel::dsl::max(deliveries::created_at).assume_not_null(),
        ))
        .load(conn)?;
    for (petition, delivered_at) in delivered {
        due.entry(petition).or_default().delivered = Some(delivered_at);
    }
    let stale: Vec<(i32, i32)> = signatures::table
        .filter(signatures::status.eq(SignatureStatus::Pending.as_str()))
        .filter(diesel::dsl::not(diesel::dsl::exists(live_link(now))))
        .order(signatures::id.asc())
        .select((signatures::petition_id, signatures::id))
        .load(conn)?;
    for (petition, id) in stale {
        due.entry(petition).or_default().pending.push(id);
    }
    Ok(due)
}

/// What a run would erase now, counted in one read snapshot, changing nothing.
fn would_erase(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    cutoff: NaiveDateTime,
    due: &std::collections::BTreeMap<i32, Due>,
) -> Result<Erased, UseCaseError> {
    db::read_snapshot(conn, |conn| {
        let mut erased = Erased::default();
        // Expired links go with the signatures erased or deleted first: only the rest count
        // as links removed on their own, as a real run reports them.
        let mut links_with_signatures = 0;
        for (&petition, due) in due {
            let petition_row: db::petitions::Petition = petitions::table
                .find(petition)
                .select(petitions::all_columns)
                .first(conn)?;
            if let Some(until) = erasable(&petition_row, now, cutoff, due.delivered) {
                let n: i64 = to_erase(petition, until).count().get_result(conn)?;
                erased.signatures += n as usize;
                let mut expired = confirmation_tokens::table
                    .inner_join(signatures::table)
                    .filter(confirmation_tokens::expires_at.le(now))
                    .filter(signatures::petition_id.eq(petition))
                    .filter(signatures::status.eq(SignatureStatus::Confirmed.as_str()))
                    .filter(signatures::erased_at.is_null())
                    .into_boxed();
                if let Some(until) = until {
                    expired = expired.filter(signatures::confirmed_at.le(until));
                }
                let n: i64 = expired.count().get_result(conn)?;
                links_with_signatures += n;
            }
            erased.pending += due.pending.len();
            for chunk in due.pending.chunks(CHUNK as usize) {
                let n: i64 = confirmation_tokens::table
                    .filter(confirmation_tokens::expires_at.le(now))
                    .filter(confirmation_tokens::signature_id.eq_any(chunk))
                    .count()
                    .get_result(conn)?;
                links_with_signatures += n;
            }
        }
        let links: i64 = confirmation_tokens::table
            .filter(confirmation_tokens::expires_at.le(now))
            .count()
            .get_result(conn)?;
        erased.links = (links - links_with_signatures).max(0) as usize;
        let old = now - TimeDelta::days(EMAIL_JOB_DAYS);
        let jobs: i64 = old_email_jobs(old).count().get_result(conn)?;
        erased.email_jobs = jobs as usize;
        Ok(erased)
    })
}

/// Whether a petition's signatures are due for erasure: `Some(None)` all of them (closed before
/// the cutoff), `Some(Some(t))` those confirmed by `t` (delivered then, before the cutoff).
fn erasable(
    petition: &db::petitions::Petition,
    now: NaiveDateTime,
    cutoff: NaiveDateTime,
    delivered: Option<NaiveDateTime>,
) -> Option<Option<NaiveDateTime>> {
    let closed = !petition.is_open_at(now)
        && petition
            .closed_at
            .or(petition.closes_at)
            .is_some_and(|at| at <= cutoff);
    match (closed, delivered) {
        (true, _) => Some(None),
        (false, Some(delivered)) => Some(Some(delivered)),
        (false, None) => None,
    }
}

/// A petition's confirmed signatures (those confirmed by `until`, when given) whose personal
/// data is still there.
fn to_erase(
    petition_id: i32,
    until: Option<NaiveDateTime>,
) -> signatures::BoxedQuery<'static, db::MultiBackend> {
    let mut ids = signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(signatures::status.eq(SignatureStatus::Confirmed.as_str()))
        .filter(signatures::erased_at.is_null())
        .into_boxed();
    if let Some(until) = until {
        ids = ids.filter(signatures::confirmed_at.le(until));
    }
    ids
}

/// A link of the signature at hand that can still confirm it.
#[diesel::dsl::auto_type]
fn live_link(now: NaiveDateTime) -> _ {
    confirmation_tokens::table
        .filter(confirmation_tokens::signature_id.eq(signatures::id))
        .filter(confirmation_tokens::expires_at.gt(now))
}

/// Email jobs sent or given up on before `old` that still hold their content.
#[diesel::dsl::auto_type]
fn old_email_jobs(old: NaiveDateTime) -> _ {
    email_jobs::table
        .filter(email_jobs::content.is_not_null())
        .filter(
            email_jobs::sent_at
                .le(old)
                .or(email_jobs::failed_at.le(old)),
        )
}
