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
        swept.sessions = db::sessions::purge_expired(conn, now, sessions)?;
        swept.day_seeds = db::network_seeds::forget_before(conn, &now.date().to_string())?;
        Ok::<_, UseCaseError>(swept)
    })
    .and_then(|swept| {
        if swept != Swept::default() {
            db::truncate_wal(conn)?;
        }
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

/// Why a run changed nothing.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("dry run")]
    DryRun(Erased),
    #[error(transparent)]
    Failed(#[from] UseCaseError),
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Stop {
        Stop::Failed(e.into())
    }
}

/// Erases what the retention rules say is due, in one transaction:
/// - the personal data (sealed name, email, postcode, comment; mailbox and network hashes;
///   withdraw link) of a petition's signatures `retention_days` after it closed, and of the
///   signatures a recorded delivery carried `retention_days` after that delivery; the count,
///   the countries, the signer numbers and the log stay;
/// - pending signatures once every link they had expired, and expired links;
/// - the content of email jobs sent or given up on more than [`EMAIL_JOB_DAYS`] ago.
///
/// With `dry_run`, reports the same figures and rolls everything back. Then, on SQLite, the
/// write-ahead log is checkpointed (`secure_delete` has zeroed the erased values in place).
pub fn run(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    retention_days: u32,
    dry_run: bool,
) -> Result<Erased, UseCaseError> {
    let cutoff = now - TimeDelta::days(i64::from(retention_days));
    let result = db::write_tx(conn, |conn| {
        let mut erased = Erased::default();
        // What each petition has due, visited in id order under its lock: one lock order
        // across petitions, so two instances' runs cannot deadlock, and nothing a use case
        // does under a petition's lock (confirming a pending signature) races the erasure.
        #[derive(Default)]
        struct Due {
            /// Closed by hand or by date before the cutoff: every signature.
            all: bool,
            /// A delivery recorded before the cutoff: the signatures confirmed before it.
            delivered: Option<NaiveDateTime>,
            /// Pending signatures with no link left that can still confirm them.
            pending: Vec<i32>,
        }
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
            due.entry(petition).or_default().all = true;
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
            .filter(diesel::dsl::not(diesel::dsl::exists(
                confirmation_tokens::table
                    .filter(confirmation_tokens::signature_id.eq(signatures::id))
                    .filter(confirmation_tokens::expires_at.gt(now)),
            )))
            .order(signatures::id.asc())
            .select((signatures::petition_id, signatures::id))
            .load(conn)?;
        for (petition, id) in stale {
            due.entry(petition).or_default().pending.push(id);
        }
        let live_link = |now| {
            confirmation_tokens::table
                .filter(confirmation_tokens::signature_id.eq(signatures::id))
                .filter(confirmation_tokens::expires_at.gt(now))
        };
        for (petition, due) in due {
            // 1. the petition; 2. its signatures, in id order; 4. their links. What was read
            // above is decided again under the lock: the petition may have reopened.
            let locked = super::lock_petition(conn, petition)?;
            let closed = !locked.is_open_at(now)
                && locked
                    .closed_at
                    .or(locked.closes_at)
                    .is_some_and(|at| at <= cutoff);
            let until = match (closed, due.delivered) {
                (true, _) => Some(None),
                (false, Some(delivered)) => Some(Some(delivered)),
                (false, None) => None,
            };
            if let Some(until) = until {
                erased.signatures += erase_personal(conn, petition, until, now)?;
            }
            // Pending signatures still without a live link, checked again once their rows are
            // locked: signing again may have just given one a new link.
            for chunk in due.pending.chunks(500) {
                if let DbConnection::Postgres(c) = conn {
                    signatures::table
                        .filter(signatures::id.eq_any(chunk))
                        .select(signatures::id)
                        .for_update()
                        .load::<i32>(c)?;
                }
                erased.pending += diesel::delete(
                    signatures::table
                        .filter(signatures::id.eq_any(chunk))
                        .filter(signatures::status.eq(SignatureStatus::Pending.as_str()))
                        .filter(diesel::dsl::not(diesel::dsl::exists(live_link(now)))),
                )
                .execute(conn)?;
            }
        }
        erased.links += diesel::delete(
            confirmation_tokens::table.filter(confirmation_tokens::expires_at.le(now)),
        )
        .execute(conn)?;
        let old = now - TimeDelta::days(EMAIL_JOB_DAYS);
        erased.email_jobs += diesel::update(
            email_jobs::table
                .filter(email_jobs::content.is_not_null())
                .filter(
                    email_jobs::sent_at
                        .le(old)
                        .or(email_jobs::failed_at.le(old)),
                ),
        )
        .set(email_jobs::content.eq(None::<String>))
        .execute(conn)?;
        if dry_run {
            return Err(Stop::DryRun(erased));
        }
        Ok(erased)
    });
    match result {
        Ok(erased) => {
            if erased != Erased::default() {
                db::truncate_wal(conn)?;
            }
            Ok(erased)
        }
        Err(Stop::DryRun(erased)) => Ok(erased),
        Err(Stop::Failed(e)) => Err(e),
    }
}

/// Erases the personal data of a petition's signatures (those confirmed by `until`, when
/// given) that still have some; call it under the petition's lock. Returns how many.
fn erase_personal(
    conn: &mut DbConnection,
    petition_id: i32,
    until: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<usize, UseCaseError> {
    let mut ids = signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(signatures::status.eq(SignatureStatus::Confirmed.as_str()))
        .filter(signatures::erased_at.is_null())
        .into_boxed();
    if let Some(until) = until {
        ids = ids.filter(signatures::confirmed_at.le(until));
    }
    let ids: Vec<i32> = ids
        .order(signatures::id.asc())
        .select(signatures::id)
        .load(conn)?;
    Ok(db::signatures::erase_personal(
        conn,
        &ids,
        Erasure::Retention,
        now,
    )?)
}
