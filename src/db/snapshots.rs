//! Export snapshots: which signatures an export holds, as of when, with which choices.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{export_snapshot_signatures, export_snapshots, signatures};
use super::{DbConnection, DbError};
use crate::db::views::export::ExportFilter;

/// A recorded export snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = export_snapshots)]
pub struct Snapshot {
    pub id: i32,
    pub petition_id: i32,
    pub organizer_id: Option<i32>,
    pub created_at: NaiveDateTime,
    /// The petition's title when it was taken.
    pub title: String,
    pub country: Option<String>,
    pub confirmed_from: Option<NaiveDateTime>,
    pub confirmed_before: Option<NaiveDateTime>,
    /// Signatures in it.
    pub row_count: i64,
    /// The petition's online count when it was taken.
    pub signature_count: i64,
    /// The petition's paper count when it was taken.
    pub paper_count: i64,
}

impl Snapshot {
    /// The filter that reads exactly this snapshot's signatures.
    pub fn filter(&self) -> ExportFilter {
        ExportFilter {
            country: self.country.clone(),
            from: self.confirmed_from,
            until: self.confirmed_before,
            upto: None,
            snapshot: Some(self.id),
            logged: false,
        }
    }
}

/// A snapshot of a petition (`None` for another petition's id: ids cannot be probed).
pub fn find(
    conn: &mut DbConnection,
    petition_id: i32,
    id: i32,
) -> Result<Option<Snapshot>, DbError> {
    Ok(export_snapshots::table
        .filter(export_snapshots::id.eq(id))
        .filter(export_snapshots::petition_id.eq(petition_id))
        .select(Snapshot::as_select())
        .first(conn)
        .optional()?)
}

/// A snapshot's signatures per country, largest first.
pub fn by_country(conn: &mut DbConnection, id: i32) -> Result<Vec<(String, i64)>, DbError> {
    let mut rows: Vec<(String, i64)> = export_snapshot_signatures::table
        .inner_join(signatures::table)
        .filter(export_snapshot_signatures::snapshot_id.eq(id))
        .group_by(signatures::country)
        .select((signatures::country, diesel::dsl::count_star()))
        .load(conn)?;
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(rows)
}

/// The first and last confirmation in a snapshot.
pub fn period(
    conn: &mut DbConnection,
    id: i32,
) -> Result<(Option<NaiveDateTime>, Option<NaiveDateTime>), DbError> {
    Ok(export_snapshot_signatures::table
        .inner_join(signatures::table)
        .filter(export_snapshot_signatures::snapshot_id.eq(id))
        .select((
            diesel::dsl::min(signatures::confirmed_at),
            diesel::dsl::max(signatures::confirmed_at),
        ))
        .first(conn)?)
}
