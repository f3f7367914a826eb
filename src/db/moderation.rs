//! Weeding out fake signatures: finding them, and invalidating and restoring them, one or a
//! batch, with a reason. `usecases::moderation` adjusts the counters from the rows changed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::signatures;
use super::{DbConnection, DbError};
use crate::db::views::signers::{Criteria, matching_ids};
use crate::keys::Keys;

/// Hides a signature's public comment from the petition page, or shows it again (the signature
/// itself stands either way); `false` if it changed nothing: no public comment, or already so.
pub fn set_comment_hidden(
    conn: &mut DbConnection,
    petition_id: i32,
    signature_id: i32,
    hidden: bool,
) -> QueryResult<bool> {
    Ok(diesel::update(
        signatures::table
            .filter(signatures::id.eq(signature_id))
            .filter(signatures::petition_id.eq(petition_id))
            .filter(signatures::comment_public.eq(true))
            .filter(signatures::comment_hidden.ne(hidden)),
    )
    .set(signatures::comment_hidden.eq(hidden))
    .execute(conn)?
        == 1)
}

/// The keyed network hash of one signature of a petition, to find others from the same network.
pub fn ip_hash_of(
    conn: &mut DbConnection,
    petition_id: i32,
    signature_id: i32,
) -> Result<Option<String>, DbError> {
    Ok(signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(signatures::id.eq(signature_id))
        .select(signatures::ip_hash)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Invalidates (`reason` is `Some`) or restores (`None`) the signatures of a petition matching
/// `ids` (when given) and `criteria`, pending ones included, in one `UPDATE` that only matches
/// rows not already in the target state. Returns each changed row's status and country, so
/// callers adjust counters by exactly the rows that changed. Call it under the petition lock.
/// A signature moderation changed: id, status, country, commitment.
pub type Changed = (i32, String, String, Option<String>);

const CHANGED: (
    signatures::id,
    signatures::status,
    signatures::country,
    signatures::commitment,
) = (
    signatures::id,
    signatures::status,
    signatures::country,
    signatures::commitment,
);

pub fn set_invalidated(
    conn: &mut DbConnection,
    keys: &Keys,
    petition_id: i32,
    ids: Option<&[i32]>,
    criteria: &Criteria,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<Vec<Changed>, DbError> {
    let candidates = matching_ids(conn, keys, petition_id, ids, criteria)?;
    // The candidates only say where to look: each UPDATE re-checks the state it changes and
    // reports the rows it changed, which are all the counters may follow.
    let mut changed = Vec::with_capacity(candidates.len());
    for chunk in candidates.chunks(500) {
        // A withdrawn signature is the signer's decision: no moderation changes it.
        let rows = diesel::update(
            signatures::table
                .filter(signatures::petition_id.eq(petition_id))
                .filter(signatures::id.eq_any(chunk))
                .filter(signatures::withdrawn_at.is_null()),
        );
        let mut got: Vec<Changed> = match reason {
            Some(reason) => rows
                .filter(signatures::invalidated_at.is_null())
                .set((
                    signatures::invalidated_at.eq(Some(now)),
                    signatures::invalidation_reason.eq(Some(reason)),
                ))
                .returning(CHANGED)
                .load(conn)?,
            None => rows
                .filter(signatures::invalidated_at.is_not_null())
                .set((
                    signatures::invalidated_at.eq(None::<NaiveDateTime>),
                    signatures::invalidation_reason.eq(None::<String>),
                ))
                .returning(CHANGED)
                .load(conn)?,
        };
        changed.append(&mut got);
    }
    Ok(changed)
}
