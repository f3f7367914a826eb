//! Organizer sessions: starting one at sign-in, ending them by an admin's decision.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::UseCaseError;
use crate::db::sessions::{Lifetime, NewSession};
use crate::db::{self, DbConnection, organizers};

/// Starts a session for an organizer whose password was just checked against
/// `new.password_hash`, replacing the browser's previous session (`new.replaces`, if any), and
/// audits the sign-in in the same commit: an organizer is never signed in without its record,
/// nor told of an error while in fact signed in. Refused (`false`) when the password changed
/// in the meantime: a sign-in that raced a password reset must not outlive it. Takes the
/// organizer row first, the lock order a reset follows too. Expired sessions of every
/// organizer are purged on the way.
pub fn start(
    conn: &mut DbConnection,
    new: &NewSession<'_>,
    now: NaiveDateTime,
    lifetime: Lifetime,
) -> Result<bool, UseCaseError> {
    use crate::db::schema::organizers;
    db::write_tx(conn, |conn| {
        let unchanged: Option<i32> = diesel::update(
            organizers::table
                .filter(organizers::id.eq(new.organizer_id))
                .filter(organizers::password_hash.eq(new.password_hash)),
        )
        .set(organizers::password_hash.eq(organizers::password_hash))
        .returning(organizers::id)
        .get_result(conn)
        .optional()?;
        if unchanged.is_none() {
            return Ok(false);
        }
        if let Some(old) = new.replaces {
            db::sessions::delete_one(conn, old)?;
        }
        db::sessions::purge_expired(conn, now, lifetime)?;
        db::audit::record(conn, Some(new.organizer_id), None, "sign-in", "", now)?;
        db::sessions::insert(conn, new, now)?;
        Ok(true)
    })
}

/// Ends every session of organizer `id` and records who did it; returns how many ended.
pub fn end_all(
    conn: &mut DbConnection,
    admin_id: i32,
    id: i32,
    now: NaiveDateTime,
) -> Result<usize, UseCaseError> {
    db::write_tx(conn, |conn| {
        let who = organizers::find(conn, id)?.ok_or(UseCaseError::NotFound)?;
        let ended = db::sessions::delete_all_of(conn, id)?;
        db::audit::record(
            conn,
            Some(admin_id),
            None,
            "end-sessions",
            &format!("{} ({ended})", who.email),
            now,
        )?;
        Ok(ended)
    })
}

/// Ends every session of organizer `id` but the one they are using (`keep`, its id's hash),
/// and audits it; returns how many ended. For an organizer who signed in somewhere they should
/// not have, or lost a device.
pub fn end_others(
    conn: &mut DbConnection,
    id: i32,
    keep: &str,
    now: NaiveDateTime,
) -> Result<usize, UseCaseError> {
    use crate::db::schema::organizer_sessions;
    db::write_tx(conn, |conn| {
        let ended = diesel::delete(
            organizer_sessions::table
                .filter(organizer_sessions::organizer_id.eq(id))
                .filter(organizer_sessions::id_hash.ne(keep)),
        )
        .execute(conn)?;
        db::audit::record(
            conn,
            Some(id),
            None,
            "end-other-sessions",
            &ended.to_string(),
            now,
        )?;
        Ok(ended)
    })
}
