//! Organizer sessions, kept on the server. Only the SHA-256 of a session id is stored, so a
//! copy of this table opens nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::organizer_sessions;
use super::{DbConnection, DbError};

/// One organizer session as an admin or its organizer sees it.
#[derive(Clone, Debug, Queryable)]
pub struct SessionRow {
    /// The SHA-256 of the session's id (the id itself is only in its browser's cookie).
    pub id_hash: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

/// When a session stops being valid: `max_age` after it began, `idle` after it was last used.
#[derive(Clone, Copy, Debug)]
pub struct Lifetime {
    pub max_age: chrono::TimeDelta,
    pub idle: chrono::TimeDelta,
}

impl Lifetime {
    fn valid_since(&self, now: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
        (now - self.max_age, now - self.idle)
    }
}

/// Starts a session: its row, with when it began.
pub fn insert(
    conn: &mut DbConnection,
    new: &NewSession<'_>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(organizer_sessions::table)
        .values((
            organizer_sessions::id_hash.eq(new.id_hash),
            organizer_sessions::organizer_id.eq(new.organizer_id),
            organizer_sessions::created_at.eq(now),
            organizer_sessions::last_seen_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends the session whose id hashes to `id_hash`, if there is one.
pub fn delete_one(conn: &mut DbConnection, id_hash: &str) -> Result<(), DbError> {
    diesel::delete(organizer_sessions::table.filter(organizer_sessions::id_hash.eq(id_hash)))
        .execute(conn)?;
    Ok(())
}

/// A session about to start.
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub organizer_id: i32,
    /// The password hash the sign-in was checked against.
    pub password_hash: &'a str,
    /// The hash of the session this browser held before, ended now.
    pub replaces: Option<&'a str>,
}

/// Deletes every session past its lifetime.
pub fn purge_expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lifetime: Lifetime,
) -> Result<usize, diesel::result::Error> {
    let (born_after, seen_after) = lifetime.valid_since(now);
    diesel::delete(
        organizer_sessions::table.filter(
            organizer_sessions::created_at
                .le(born_after)
                .or(organizer_sessions::last_seen_at.le(seen_after)),
        ),
    )
    .execute(conn)
}

/// The organizer of a live session and when it proved their second factor (`None`: not in
/// this session), marking it used now. A session used in the last
/// `touch_every` is not written to again, so page views do not all write.
pub fn resolve(
    conn: &mut DbConnection,
    id_hash: &str,
    now: NaiveDateTime,
    lifetime: Lifetime,
    touch_every: chrono::TimeDelta,
) -> Result<Option<(i32, Option<NaiveDateTime>)>, DbError> {
    let (born_after, seen_after) = lifetime.valid_since(now);
    let live = organizer_sessions::table
        .filter(organizer_sessions::id_hash.eq(id_hash))
        .filter(organizer_sessions::created_at.gt(born_after))
        .filter(organizer_sessions::last_seen_at.gt(seen_after));
    let found: Option<(i32, NaiveDateTime, Option<NaiveDateTime>)> = live
        .select((
            organizer_sessions::organizer_id,
            organizer_sessions::last_seen_at,
            organizer_sessions::factor_at,
        ))
        .first(conn)
        .optional()?;
    let Some((organizer, last_seen, factor_at)) = found else {
        return Ok(None);
    };
    if now - last_seen >= touch_every {
        // Conditional, so a session ended in between is not brought back.
        diesel::update(live)
            .set(organizer_sessions::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some((organizer, factor_at)))
}

/// Ends one session.
pub fn delete(conn: &mut DbConnection, id_hash: &str) -> Result<usize, DbError> {
    Ok(
        diesel::delete(organizer_sessions::table.filter(organizer_sessions::id_hash.eq(id_hash)))
            .execute(conn)?,
    )
}

/// Ends every session of one organizer (password reset or change, or an admin's decision).
pub fn delete_all_of(conn: &mut DbConnection, organizer_id: i32) -> Result<usize, DbError> {
    Ok(diesel::delete(
        organizer_sessions::table.filter(organizer_sessions::organizer_id.eq(organizer_id)),
    )
    .execute(conn)?)
}

/// The live sessions of one organizer, newest use first.
pub fn live_of(
    conn: &mut DbConnection,
    organizer_id: i32,
    now: NaiveDateTime,
    lifetime: Lifetime,
) -> Result<Vec<SessionRow>, DbError> {
    let (born_after, seen_after) = lifetime.valid_since(now);
    Ok(organizer_sessions::table
        .filter(organizer_sessions::organizer_id.eq(organizer_id))
        .filter(organizer_sessions::created_at.gt(born_after))
        .filter(organizer_sessions::last_seen_at.gt(seen_after))
        .order(organizer_sessions::last_seen_at.desc())
        .select((
            organizer_sessions::id_hash,
            organizer_sessions::created_at,
            organizer_sessions::last_seen_at,
        ))
        .load(conn)?)
}

/// How many live sessions each organizer has.
pub fn live_counts(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lifetime: Lifetime,
) -> Result<Vec<(i32, i64)>, DbError> {
    let (born_after, seen_after) = lifetime.valid_since(now);
    Ok(organizer_sessions::table
        .filter(organizer_sessions::created_at.gt(born_after))
        .filter(organizer_sessions::last_seen_at.gt(seen_after))
        .group_by(organizer_sessions::organizer_id)
        .select((organizer_sessions::organizer_id, diesel::dsl::count_star()))
        .load(conn)?)
}
