//! CSV export of confirmed signatures, streamed in batches so memory stays flat at any size.

use std::io::Write;

use chrono::NaiveDateTime;

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

const BATCH: i64 = 5_000;

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

/// Writes every confirmed, valid signature of `petition` as CSV; returns the row count.
pub fn write_csv<W: Write>(
    conn: &mut DbConnection,
    petition: &Petition,
    out: W,
) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(COLUMNS)?;
    let mut after = 0;
    let mut rows = 0u64;
    loop {
        let batch = db::signatures::export_batch(conn, petition.id, after, BATCH)?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for r in &batch {
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
            rows += 1;
        }
    }
    csv.flush()?;
    Ok(rows)
}
