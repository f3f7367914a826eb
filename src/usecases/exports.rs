//! Export snapshots: the CSV, its manifest and the delivery document read one recorded set of
//! signatures, so the same snapshot gives byte-identical files however long after, whatever was
//! confirmed, invalidated or restored since.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{UseCaseError, lock_petition};
use crate::db::schema::{export_snapshot_signatures, export_snapshots, signatures};
use crate::db::signatures::counted;
use crate::db::snapshots::{self, Snapshot};
use crate::db::views::export::ExportFilter;
use crate::db::{self, DbConnection};

/// Records which signatures `filter` selects now (counted ones, by country and confirmation
/// date), with the petition's counts at that moment, and audits it.
pub fn take(
    conn: &mut DbConnection,
    organizer_id: Option<i32>,
    petition_id: i32,
    filter: &ExportFilter,
    now: NaiveDateTime,
) -> Result<Snapshot, UseCaseError> {
    db::write_tx(conn, |conn| {
        // The petition lock keeps its counters and the rows read below in step.
        let p = lock_petition(conn, petition_id)?;
        let id: i32 = diesel::insert_into(export_snapshots::table)
            .values((
                export_snapshots::petition_id.eq(petition_id),
                export_snapshots::organizer_id.eq(organizer_id),
                export_snapshots::created_at.eq(now),
                export_snapshots::title.eq(&p.title),
                export_snapshots::country.eq(&filter.country),
                export_snapshots::confirmed_from.eq(filter.from),
                export_snapshots::confirmed_before.eq(filter.until),
                export_snapshots::row_count.eq(0),
                export_snapshots::signature_count.eq(p.signature_count),
                export_snapshots::paper_count.eq(p.paper_count),
            ))
            .returning(export_snapshots::id)
            .get_result(conn)?;
        let mut selected = signatures::table
            .filter(signatures::petition_id.eq(petition_id))
            .filter(counted())
            .into_boxed();
        if let Some(country) = &filter.country {
            selected = selected.filter(signatures::country.eq(country.clone()));
        }
        if let Some(from) = filter.from {
            selected = selected.filter(signatures::confirmed_at.ge(from));
        }
        if let Some(until) = filter.until {
            selected = selected.filter(signatures::confirmed_at.lt(until));
        }
        let rows = diesel::insert_into(export_snapshot_signatures::table)
            .values(selected.select((id.into_sql::<diesel::sql_types::Integer>(), signatures::id)))
            .into_columns((
                export_snapshot_signatures::snapshot_id,
                export_snapshot_signatures::signature_id,
            ))
            .execute(conn)?;
        diesel::update(export_snapshots::table.find(id))
            .set(export_snapshots::row_count.eq(rows as i64))
            .execute(conn)?;
        db::audit::record(
            conn,
            organizer_id,
            Some(petition_id),
            "export-snapshot",
            &format!("snapshot {id}: {rows} signatures, {filter:?}"),
            now,
        )?;
        snapshots::find(conn, petition_id, id)?.ok_or(UseCaseError::NotFound)
    })
}

/// What left the server: a list of signers as a file or a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Download {
    /// The CSV of signers (names, emails, countries).
    Csv,
    /// The printable delivery document.
    DeliveryDocument,
}

/// Records, before the first byte leaves, that an organizer took a list of signers out:
/// which, with which filters or snapshot (`detail`). Every download is on the record, a
/// snapshot's too: the snapshot says what was selected, this says each time it was taken.
pub fn record_download(
    conn: &mut DbConnection,
    organizer_id: i32,
    petition_id: i32,
    what: Download,
    detail: &str,
    now: NaiveDateTime,
) -> Result<(), UseCaseError> {
    let action = match what {
        Download::Csv => "export-csv",
        Download::DeliveryDocument => "delivery-document",
    };
    db::audit::record(
        conn,
        Some(organizer_id),
        Some(petition_id),
        action,
        detail,
        now,
    )?;
    Ok(())
}
