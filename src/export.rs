//! CSV export of confirmed signatures, produced in batches so memory stays flat at any size.
//! The command line writes it to a file or standard output; the dashboard streams it.

use std::io::Write;

use chrono::NaiveDateTime;

use crate::db::signatures::{ExportFilter, ExportRow};
use crate::db::{self, DbConnection, DbError, petitions::Petition};
use crate::domain::neutralise_formula;

/// The columns of a signature export, as the contract names them.
pub const COLUMNS: [&str; 9] = [
    "number",
    "signed_at",
    "confirmed_at",
    "name",
    "email",
    "country",
    "postcode",
    "comment",
    "public",
];

/// Rows read from the database at a time.
pub const BATCH: i64 = 5_000;

/// Excel only reads a CSV file as UTF-8 when it starts with a byte-order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("writing the export: {0}")]
    Write(#[from] csv::Error),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

fn iso(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The header line, as CSV bytes.
pub fn header() -> Result<Vec<u8>, ExportError> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(COLUMNS)?;
    csv.into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))
}

/// One batch of rows, as CSV bytes. Cells a spreadsheet would run as a formula are neutralised.
pub fn rows(batch: &[ExportRow]) -> Result<Vec<u8>, ExportError> {
    let mut csv = csv::Writer::from_writer(Vec::with_capacity(batch.len() * 120));
    for r in batch {
        let number = r.number.map(|n| n.to_string()).unwrap_or_default();
        let confirmed = r.confirmed_at.map(iso).unwrap_or_default();
        csv.write_record([
            number.as_str(),
            &iso(r.signed_at),
            &confirmed,
            &neutralise_formula(&r.name),
            &neutralise_formula(&r.email),
            &r.country,
            &neutralise_formula(r.postcode.as_deref().unwrap_or("")),
            &neutralise_formula(r.comment.as_deref().unwrap_or("")),
            if r.public { "true" } else { "false" },
        ])?;
    }
    csv.into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))
}

/// Writes every confirmed, valid signature of `petition` as CSV; returns the row count.
pub fn write_csv<W: Write>(
    conn: &mut DbConnection,
    petition: &Petition,
    mut out: W,
) -> Result<u64, ExportError> {
    out.write_all(&header()?)?;
    let filter = ExportFilter::default();
    let mut after = 0;
    let mut count = 0u64;
    loop {
        let batch = db::signatures::export_batch(conn, petition.id, &filter, after, BATCH)?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        count += batch.len() as u64;
        out.write_all(&rows(&batch)?)?;
    }
    out.flush()?;
    Ok(count)
}
