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

/// One signature's cells in the contract's column order, neutralised; the email left empty
/// unless `with_email`.
fn cells(r: &ExportRow, with_email: bool) -> [String; 9] {
    [
        r.number.map(|n| n.to_string()).unwrap_or_default(),
        iso(r.signed_at),
        r.confirmed_at.map(iso).unwrap_or_default(),
        neutralise_formula(&r.name).into_owned(),
        if with_email {
            neutralise_formula(&r.email).into_owned()
        } else {
            String::new()
        },
        r.country.clone(),
        neutralise_formula(r.postcode.as_deref().unwrap_or("")).into_owned(),
        neutralise_formula(r.comment.as_deref().unwrap_or("")).into_owned(),
        if r.public { "true" } else { "false" }.to_string(),
    ]
}

/// One batch of rows, as CSV bytes. Cells a spreadsheet would run as a formula are neutralised.
pub fn rows(batch: &[ExportRow]) -> Result<Vec<u8>, ExportError> {
    let mut csv = csv::Writer::from_writer(Vec::with_capacity(batch.len() * 120));
    for r in batch {
        csv.write_record(cells(r, true))?;
    }
    csv.into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))
}

/// The columns of a delivery package's `signatures.csv`: the export's plus `commitment`.
pub fn package_columns() -> Vec<&'static str> {
    COLUMNS.iter().copied().chain(["commitment"]).collect()
}

/// The header of a delivery package's `signatures.csv`.
pub fn package_header() -> Result<Vec<u8>, ExportError> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(package_columns())?;
    csv.into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))
}

/// Rows of a delivery package's `signatures.csv`: the export's cells (emails only if asked
/// for) and each signature's commitment in the signed log.
pub fn package_rows(batch: &[ExportRow], with_emails: bool) -> Result<Vec<u8>, ExportError> {
    let mut csv = csv::Writer::from_writer(Vec::with_capacity(batch.len() * 190));
    for r in batch {
        let [a, b, c, d, e, f, g, h, i] = cells(r, with_emails);
        let commitment = r.commitment.clone().unwrap_or_default();
        csv.write_record([a, b, c, d, e, f, g, h, i, commitment])?;
    }
    csv.into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))
}

/// Writes every confirmed, valid signature of `petition` as CSV; returns the row count.
pub fn write_csv<W: Write>(
    conn: &mut DbConnection,
    keys: &crate::keys::Keys,
    petition: &Petition,
    mut out: W,
) -> Result<u64, ExportError> {
    out.write_all(&header()?)?;
    let filter = ExportFilter::default();
    let mut after = 0;
    let mut count = 0u64;
    loop {
        let batch = db::signatures::export_batch(conn, keys, petition.id, &filter, after, BATCH)?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        count += batch.len() as u64;
        out.write_all(&rows(&batch)?)?;
    }
    out.flush()?;
    Ok(count)
}
