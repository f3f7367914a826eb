//! Ending organizer sessions by an admin's decision.

use chrono::NaiveDateTime;

use super::UseCaseError;
use crate::db::{self, DbConnection, organizers};

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
