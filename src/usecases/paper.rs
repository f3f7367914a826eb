//! Paper signatures gathered at events: counted in the public total, kept apart from online ones.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Changes, Done, UseCaseError, lock_open_petition};
use crate::db::schema::{paper_signatures, petitions};
use crate::db::{self, DbConnection};
use crate::domain::Refusal;
use crate::log::entry::EventKind;

/// The largest batch one entry may record.
pub const MAX_BATCH: i32 = 1_000_000;
/// The largest paper total a petition may reach: far beyond any real campaign, far below where
/// a 64-bit sum could wrap.
pub const MAX_TOTAL: i64 = 1_000_000_000;

/// Records a batch of paper signatures and audits it. Refused on a closed petition, and when the
/// petition's paper total would pass [`MAX_TOTAL`] (checked in the same `UPDATE` that adds it).
pub fn add(
    conn: &mut DbConnection,
    organizer_id: i32,
    petition_id: i32,
    count: i32,
    collected_on: NaiveDateTime,
    note: &str,
    now: NaiveDateTime,
) -> Result<Done<()>, UseCaseError> {
    if !(1..=MAX_BATCH).contains(&count) {
        return Err(UseCaseError::Refused(Refusal::PaperCount));
    }
    db::write_tx(conn, |conn| {
        let petition = lock_open_petition(conn, petition_id, now, Refusal::PaperClosed)?;
        let added = diesel::update(
            petitions::table
                .find(petition_id)
                .filter(petitions::paper_count.le(MAX_TOTAL - i64::from(count))),
        )
        .set(petitions::paper_count.eq(petitions::paper_count + i64::from(count)))
        .execute(conn)?;
        if added != 1 {
            return Err(UseCaseError::Refused(Refusal::PaperTotal));
        }
        let batch: i32 = diesel::insert_into(paper_signatures::table)
            .values((
                paper_signatures::petition_id.eq(petition_id),
                paper_signatures::count.eq(count),
                paper_signatures::collected_on.eq(collected_on),
                paper_signatures::note.eq(note),
                paper_signatures::organizer_id.eq(organizer_id),
                paper_signatures::created_at.eq(now),
            ))
            .returning(paper_signatures::id)
            .get_result(conn)?;
        if petition.log_started {
            paper_event(conn, petition_id, EventKind::Paper, count, batch, now)?;
        }
        db::audit::record(
            conn,
            Some(organizer_id),
            Some(petition_id),
            "add-paper-signatures",
            &format!("{count} on {} {note}", collected_on.date()),
            now,
        )?;
        Ok(Done::new((), Changes::petition(&petition.slug)))
    })
}

/// Removes one batch and audits it; the total drops by the count the deleted row held.
pub fn remove(
    conn: &mut DbConnection,
    organizer_id: i32,
    petition_id: i32,
    batch: i32,
    now: NaiveDateTime,
) -> Result<Done<()>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let petition = lock_open_petition(conn, petition_id, now, Refusal::PaperClosed)?;
        let count: i32 = diesel::delete(
            paper_signatures::table
                .filter(paper_signatures::id.eq(batch))
                .filter(paper_signatures::petition_id.eq(petition_id)),
        )
        .returning(paper_signatures::count)
        .get_result(conn)
        .optional()?
        .ok_or(UseCaseError::NotFound)?;
        diesel::update(petitions::table.find(petition_id))
            .set(petitions::paper_count.eq(petitions::paper_count - i64::from(count)))
            .execute(conn)?;
        if petition.log_started {
            paper_event(
                conn,
                petition_id,
                EventKind::PaperRemoved,
                -count,
                batch,
                now,
            )?;
        }
        db::audit::record(
            conn,
            Some(organizer_id),
            Some(petition_id),
            "remove-paper-signatures",
            &format!("batch {batch} ({count})"),
            now,
        )?;
        Ok(Done::new((), Changes::petition(&petition.slug)))
    })
}

/// Queues the log event of a paper batch added (`count` > 0) or removed (`count` < 0).
fn paper_event(
    conn: &mut DbConnection,
    petition_id: i32,
    kind: EventKind,
    count: i32,
    batch: i32,
    now: NaiveDateTime,
) -> Result<(), UseCaseError> {
    db::log::record(
        conn,
        &[db::log::NewEvent {
            petition_id,
            kind,
            delta: i64::from(count),
            commitment: None,
            batch: Some(batch),
            receipt: None,
            at: now,
        }],
    )?;
    Ok(())
}
