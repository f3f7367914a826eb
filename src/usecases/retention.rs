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
}

/// Erases network hashes older than [`NETWORK_HASH_DAYS`] and expired organizer sessions, in
/// one transaction.
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
        Ok::<_, UseCaseError>(swept)
    })
}
