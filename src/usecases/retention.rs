//! Erasing what is no longer needed. The server runs [`sweep`] at start and then every hour.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::UseCaseError;
use crate::db::schema::{confirmation_tokens, signatures};
use crate::db::{self, DbConnection};

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
