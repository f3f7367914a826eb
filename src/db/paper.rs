//! Signatures gathered on paper at events: counts with a date and a note. Their sum is kept in
//! `petitions.paper_count` in the same transaction as the rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{paper_signatures, petitions};
use super::{DbConnection, DbError};

/// One batch of paper signatures as the dashboard lists it.
#[derive(Clone, Debug, Queryable)]
pub struct PaperBatch {
    pub id: i32,
    pub count: i32,
    pub collected_on: NaiveDateTime,
    pub note: String,
}

pub fn add(
    conn: &mut DbConnection,
    petition_id: i32,
    count: i32,
    collected_on: NaiveDateTime,
    note: &str,
    organizer_id: Option<i32>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    conn.transaction::<(), diesel::result::Error, _>(|conn| {
        diesel::insert_into(paper_signatures::table)
            .values((
                paper_signatures::petition_id.eq(petition_id),
                paper_signatures::count.eq(count),
                paper_signatures::collected_on.eq(collected_on),
                paper_signatures::note.eq(note),
                paper_signatures::organizer_id.eq(organizer_id),
                paper_signatures::created_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(petitions::table.find(petition_id))
            .set(petitions::paper_count.eq(petitions::paper_count + count))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(())
}

/// Removes one batch of a petition; `false` if there was none with that id.
pub fn remove(conn: &mut DbConnection, petition_id: i32, id: i32) -> Result<bool, DbError> {
    Ok(conn.transaction::<bool, diesel::result::Error, _>(|conn| {
        let count: Option<i32> = diesel::delete(
            paper_signatures::table
                .filter(paper_signatures::id.eq(id))
                .filter(paper_signatures::petition_id.eq(petition_id)),
        )
        .returning(paper_signatures::count)
        .get_result(conn)
        .optional()?;
        let Some(count) = count else {
            return Ok(false);
        };
        diesel::update(petitions::table.find(petition_id))
            .set(petitions::paper_count.eq(petitions::paper_count - count))
            .execute(conn)?;
        Ok(true)
    })?)
}

pub fn list(conn: &mut DbConnection, petition_id: i32) -> Result<Vec<PaperBatch>, DbError> {
    Ok(paper_signatures::table
        .filter(paper_signatures::petition_id.eq(petition_id))
        .order(paper_signatures::collected_on.desc())
        .select((
            paper_signatures::id,
            paper_signatures::count,
            paper_signatures::collected_on,
            paper_signatures::note,
        ))
        .load(conn)?)
}
