//! Updates: organizers post news; it is stored once, and the emails to signers who asked for
//! news are enqueued afterwards by a fan-out in small batches, so posting never holds the
//! database for the length of a mailing.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::{Changes, Done, UseCaseError, lock_petition};
use crate::db::schema::{email_jobs, petition_updates, signatures};
use crate::db::signatures::counted;
use crate::db::{self, DbConnection, DbError};
use crate::domain::Refusal;

/// Signatures enqueued per fan-out step (one short transaction each).
pub const FANOUT_BATCH: i64 = 500;

/// A posted update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posted {
    pub id: i32,
    /// How many signers it is being emailed to.
    pub recipients: i32,
    /// The same form was posted before (a double click): nothing new was stored.
    pub duplicate: bool,
}

/// The signers an update emailed now would reach: counted, and asked for news.
pub fn audience(conn: &mut DbConnection, petition_id: i32) -> Result<i64, DbError> {
    Ok(signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(counted())
        .filter(signatures::wants_updates.eq(true))
        .count()
        .get_result(conn)?)
}

/// Stores an update once per `idempotency_key` (the form's), marks it for fan-out when it is
/// to be emailed, and audits it.
#[allow(clippy::too_many_arguments)]
pub fn post(
    conn: &mut DbConnection,
    organizer_id: i32,
    petition_id: i32,
    title: &str,
    body_markdown: &str,
    email: bool,
    idempotency_key: Option<&str>,
    now: NaiveDateTime,
) -> Result<Done<Posted>, UseCaseError> {
    let body_html = crate::markdown::render(body_markdown);
    db::write_tx(conn, |conn| {
        let petition = lock_petition(conn, petition_id)?;
        if let Some(key) = idempotency_key {
            let existing: Option<(i32, i32, String, String)> = petition_updates::table
                .filter(petition_updates::petition_id.eq(petition_id))
                .filter(petition_updates::idempotency_key.eq(key))
                .select((
                    petition_updates::id,
                    petition_updates::recipients,
                    petition_updates::title,
                    petition_updates::body_markdown,
                ))
                .first(conn)
                .optional()?;
            if let Some((id, recipients, t, b)) = existing {
                // The same form sent again with other words (the back button): say so rather
                // than drop them silently.
                if t != title || b != body_markdown {
                    return Err(UseCaseError::Refused(Refusal::UpdateFormUsed));
                }
                let posted = Posted {
                    id,
                    recipients,
                    duplicate: true,
                };
                return Ok(Done::new(posted, Changes::none()));
            }
        }
        let (recipients, upto) = if email {
            let upto: Option<i32> = signatures::table
                .filter(signatures::petition_id.eq(petition_id))
                .select(diesel::dsl::max(signatures::id))
                .first(conn)?;
            (audience(conn, petition_id)?, upto.unwrap_or(0))
        } else {
            (0, 0)
        };
        let recipients = i32::try_from(recipients).unwrap_or(i32::MAX);
        let id: i32 = diesel::insert_into(petition_updates::table)
            .values((
                petition_updates::petition_id.eq(petition_id),
                petition_updates::title.eq(title),
                petition_updates::body_markdown.eq(body_markdown),
                petition_updates::body_html.eq(&body_html),
                petition_updates::organizer_id.eq(organizer_id),
                petition_updates::created_at.eq(now),
                petition_updates::recipients.eq(recipients),
                petition_updates::idempotency_key.eq(idempotency_key),
                petition_updates::fanout_upto.eq(upto),
                petition_updates::fanout_pending.eq(recipients > 0),
            ))
            .returning(petition_updates::id)
            .get_result(conn)?;
        db::audit::record(
            conn,
            Some(organizer_id),
            Some(petition_id),
            "post-update",
            &format!("{title} (emailed to {recipients})"),
            now,
        )?;
        let posted = Posted {
            id,
            recipients,
            duplicate: false,
        };
        // Its emails are queued by the fan-out, which the woken mailer drives.
        let changes = Changes::petition(&petition.slug).with_emails(recipients > 0);
        Ok(Done::new(posted, changes))
    })
}

/// One fan-out step: leases an update still being fanned out, enqueues an email job for the
/// next [`FANOUT_BATCH`] signers who asked for news (up to the last signature that existed when
/// it was posted), and moves its cursor, in one short transaction. A job names the update and
/// the signature and is rendered when sent; `(update_id, signature_id)` is unique, so a step
/// repeated after a crash cannot email anyone twice. Returns how many jobs it queued.
pub fn fan_out(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: TimeDelta,
) -> Result<usize, UseCaseError> {
    let free = petition_updates::fanout_lease_until
        .is_null()
        .or(petition_updates::fanout_lease_until.lt(now));
    let Some(id) = petition_updates::table
        .filter(petition_updates::fanout_pending.eq(true))
        .filter(free)
        .order(petition_updates::id.asc())
        .select(petition_updates::id)
        .first::<i32>(conn)
        .optional()?
    else {
        return Ok(0);
    };
    let claimed = diesel::update(
        petition_updates::table
            .find(id)
            .filter(petition_updates::fanout_pending.eq(true))
            .filter(free),
    )
    .set(petition_updates::fanout_lease_until.eq(now + lease))
    .execute(conn)?;
    if claimed != 1 {
        return Ok(0);
    }
    db::write_tx(conn, |conn| {
        let (petition_id, after, upto): (i32, i32, i32) = petition_updates::table
            .find(id)
            .select((
                petition_updates::petition_id,
                petition_updates::fanout_after,
                petition_updates::fanout_upto,
            ))
            .first(conn)?;
        let batch: Vec<i32> = signatures::table
            .filter(signatures::petition_id.eq(petition_id))
            .filter(counted())
            .filter(signatures::wants_updates.eq(true))
            .filter(signatures::id.gt(after))
            .filter(signatures::id.le(upto))
            .order(signatures::id.asc())
            .limit(FANOUT_BATCH)
            .select(signatures::id)
            .load(conn)?;
        // No content: the worker renders each at send time, for the address the signature
        // holds then.
        let jobs: Vec<_> = batch
            .iter()
            .map(|signature| {
                (
                    email_jobs::created_at.eq(now),
                    email_jobs::next_attempt_at.eq(now),
                    email_jobs::update_id.eq(Some(id)),
                    email_jobs::signature_id.eq(Some(*signature)),
                )
            })
            .collect();
        if !jobs.is_empty() {
            crate::with_backend!(conn, |c| diesel::insert_into(email_jobs::table)
                .values(&jobs)
                .execute(c))?;
        }
        let done = (batch.len() as i64) < FANOUT_BATCH;
        let cursor = batch.last().copied().unwrap_or(after);
        diesel::update(petition_updates::table.find(id))
            .set((
                petition_updates::fanout_after.eq(cursor),
                petition_updates::fanout_pending.eq(!done),
                petition_updates::fanout_lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(batch.len())
    })
}

/// The signature an unsubscribe link names, once its `mac` (made with the site's key) is found
/// to be that signature's: a guessed number unsubscribes no one. Checked before any database
/// work.
#[derive(Clone, Copy, Debug)]
pub struct UnsubscribeLink(i32);

impl UnsubscribeLink {
    pub fn check(
        keys: &crate::keys::Keys,
        signature_id: i32,
        mac: &str,
    ) -> Option<UnsubscribeLink> {
        keys.unsubscribe_mac_matches(signature_id, mac)
            .then_some(UnsubscribeLink(signature_id))
    }
}

/// Stops the news of a petition for the signature the link names; `false` for a signature no
/// longer there.
pub fn unsubscribe(conn: &mut DbConnection, link: UnsubscribeLink) -> Result<bool, UseCaseError> {
    Ok(db::updates::unsubscribe(conn, link.0)?)
}
