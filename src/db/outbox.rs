//! The email outbox: jobs written in the same transaction as the change that causes them,
//! claimed by workers with a lease, retried with backoff, and never lost.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::email_jobs;
use super::{DbConnection, DbError};
use crate::domain::NewEmail;

/// A message sealed for the outbox: recipient, subject and bodies are stored only like this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedEmail {
    sealed: String,
    /// The id of the data key that sealed it: queued only while the database's key is that.
    key_id: String,
}

impl SealedEmail {
    pub fn new(keys: &crate::keys::Keys, email: &NewEmail) -> SealedEmail {
        SealedEmail {
            sealed: keys.seal(crate::sealed::Purpose::Email, email),
            key_id: keys.data_key_id(),
        }
    }
}

/// A queued job as a worker sees it.
#[derive(Clone, Debug, Queryable)]
pub struct EmailJob {
    pub id: i32,
    /// The sealed [`NewEmail`]; `None` for an update email, rendered when sent.
    pub content: Option<String>,
    pub attempts: i32,
    /// An update email, rendered when sent: the update and the signature it goes to.
    pub update_id: Option<i32>,
    pub signature_id: Option<i32>,
}

/// Queues a message about signature `signature` (if it is about one: withdrawing it drops the
/// message); call it inside the transaction that makes the message true. Refused if the
/// database's data key is no longer the one that sealed it ([`super::site::ensure_key_id`]).
pub fn enqueue(
    conn: &mut DbConnection,
    email: &SealedEmail,
    signature: Option<i32>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(email_jobs::table)
        .values((
            email_jobs::content.eq(&email.sealed),
            email_jobs::signature_id.eq(signature),
            email_jobs::created_at.eq(now),
            email_jobs::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    // After the insert: a rotation has locked this table, or waits for this transaction.
    super::site::ensure_key_id(conn, &email.key_id)
}

/// Drops the messages still queued about signature `signature`, and the content of those
/// given up on (withdrawn: nothing more goes to its address, and the sealed address goes now);
/// returns how many were still to be sent.
pub fn drop_for_signature(
    conn: &mut DbConnection,
    signature: i32,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let unsent = email_jobs::table
        .filter(email_jobs::signature_id.eq(signature))
        .filter(email_jobs::sent_at.is_null());
    let dropped = diesel::update(unsent.filter(email_jobs::failed_at.is_null()))
        .set((
            email_jobs::content.eq(None::<String>),
            email_jobs::failed_at.eq(now),
            email_jobs::last_error.eq("withdrawn"),
        ))
        .execute(conn)?;
    diesel::update(unsent.filter(email_jobs::content.is_not_null()))
        .set(email_jobs::content.eq(None::<String>))
        .execute(conn)?;
    Ok(dropped)
}

/// Ids of jobs that are due and not leased by a live worker: confirmation and account emails
/// first, then update emails (a mailing to 50,000 signers must not hold back the link someone
/// is waiting for), oldest first within each.
pub fn due(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> Result<Vec<i32>, DbError> {
    Ok(email_jobs::table
        .filter(email_jobs::sent_at.is_null())
        .filter(email_jobs::failed_at.is_null())
        .filter(email_jobs::next_attempt_at.le(now))
        .filter(
            email_jobs::lease_until
                .is_null()
                .or(email_jobs::lease_until.lt(now)),
        )
        .order((
            email_jobs::update_id.is_not_null().asc(),
            email_jobs::id.asc(),
        ))
        .limit(limit)
        .select(email_jobs::id)
        .load(conn)?)
}

/// Takes a lease on those of `ids` that are still unsent and unleased (or whose lease ran out),
/// in one `UPDATE … RETURNING`: only one worker can win each job, and a crashed worker's jobs
/// are taken over after `lease_until`. Returns the jobs won.
pub fn claim(
    conn: &mut DbConnection,
    ids: &[i32],
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> Result<Vec<EmailJob>, DbError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(diesel::update(
        email_jobs::table
            .filter(email_jobs::id.eq_any(ids))
            .filter(email_jobs::sent_at.is_null())
            .filter(email_jobs::failed_at.is_null())
            .filter(
                email_jobs::lease_until
                    .is_null()
                    .or(email_jobs::lease_until.lt(now)),
            ),
    )
    .set(email_jobs::lease_until.eq(lease_end(lease_until)))
    // The columns in `EmailJob`'s field order (`as_returning` does not pass through the
    // two-backend connection).
    .returning((
        email_jobs::id,
        email_jobs::content,
        email_jobs::attempts,
        email_jobs::update_id,
        email_jobs::signature_id,
    ))
    .load(conn)?)
}

/// A lease's end as stored: to the millisecond, so that a worker can name its own lease
/// exactly (PostgreSQL keeps microseconds, the clock gives nanoseconds).
pub fn lease_end(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// Marks jobs sent and drops their content: a confirmation link inside is a credential, the
/// recipient is personal data, and neither is needed once the message is out. Only jobs still
/// under the caller's lease `lease` (as [`claim`] set it): one whose lease ran out may have
/// been taken over by another worker, whose record counts. One statement for a whole batch, so
/// a mailing costs few write transactions. Returns how many were marked.
pub fn mark_sent(
    conn: &mut DbConnection,
    ids: &[i32],
    lease: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        email_jobs::table
            .filter(email_jobs::id.eq_any(ids))
            .filter(email_jobs::lease_until.eq(lease)),
    )
    .set((
        email_jobs::sent_at.eq(now),
        email_jobs::lease_until.eq(None::<NaiveDateTime>),
        email_jobs::attempts.eq(email_jobs::attempts + 1),
        email_jobs::content.eq(None::<String>),
        email_jobs::last_error.eq(None::<String>),
    ))
    .execute(conn)?)
}

/// Records a failed attempt of a job under the caller's lease `lease`: retried at `retry_at`,
/// or given up on when `retry_at` is `None`. Returns whether it was still the caller's.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: i32,
    lease: NaiveDateTime,
    now: NaiveDateTime,
    retry_at: Option<NaiveDateTime>,
    error: &str,
) -> Result<bool, DbError> {
    let error: String = error.chars().take(500).collect();
    let changed = diesel::update(
        email_jobs::table
            .find(id)
            .filter(email_jobs::lease_until.eq(lease)),
    )
    .set((
        email_jobs::attempts.eq(email_jobs::attempts + 1),
        email_jobs::lease_until.eq(None::<NaiveDateTime>),
        email_jobs::next_attempt_at.eq(retry_at.unwrap_or(now)),
        email_jobs::failed_at.eq(if retry_at.is_none() { Some(now) } else { None }),
        email_jobs::last_error.eq(Some(error)),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Jobs not yet sent (pending or being retried), for health output and tests.
pub fn pending_count(conn: &mut DbConnection) -> Result<i64, DbError> {
    Ok(email_jobs::table
        .filter(email_jobs::sent_at.is_null())
        .filter(email_jobs::failed_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Emails waiting to go out (not sent, not given up on), and when the oldest was queued: how
/// far the outbox is behind.
pub fn backlog(conn: &mut DbConnection) -> Result<(i64, Option<NaiveDateTime>), DbError> {
    let waiting = email_jobs::table
        .filter(email_jobs::sent_at.is_null())
        .filter(email_jobs::failed_at.is_null());
    let count = waiting.count().get_result(conn)?;
    let oldest = waiting
        .select(diesel::dsl::min(email_jobs::created_at))
        .first(conn)?;
    Ok((count, oldest))
}
