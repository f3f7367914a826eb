//! Signatures gathered on paper at events: counts with a date and a note. Their sum is kept in
//! `petitions.paper_count` by `usecases::paper`, in the same transaction as the rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::paper_signatures;
use super::{DbConnection, DbError};

/// One batch of paper signatures as the dashboard lists it.
#[derive(Clone, Debug, Queryable)]
pub struct PaperBatch {
    pub id: i32,
    pub count: i32,
    pub collected_on: NaiveDateTime,
    pub note: String,
}

/// A petition's paper batches, latest collection date first.
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
