//! CSV export of confirmed signatures, produced in batches so memory stays flat at any size.
//! The command line writes it to a file or standard output; the dashboard streams it.

use std::io::Write;

use chrono::NaiveDateTime;

use crate::db::views::export::{ExportFilter, ExportRow};
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

/// `t` as RFC 3339 UTC to the second ("2026-11-23T09:30:00Z"), written without a format
/// string: an export formats two per row.
fn write_iso(out: &mut Vec<u8>, t: NaiveDateTime) {
    use chrono::{Datelike, Timelike};
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

/// The header line, as CSV bytes.
pub fn header() -> Result<Vec<u8>, ExportError> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(COLUMNS)?;
    csv.into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))
}

/// Writes one signature's record in the contract's column order, neutralised (a cell a
/// spreadsheet would run as a formula is not), with the email left empty unless `with_email`
/// and `commitment` appended when given. Borrowed cells and one reused buffer: an export
/// writes a million of these.
fn write_record<W: Write>(
    csv: &mut csv::Writer<W>,
    r: &ExportRow,
    with_email: bool,
    commitment: Option<&str>,
    scratch: &mut Vec<u8>,
) -> Result<(), ExportError> {
    scratch.clear();
    if let Some(n) = r.number {
        let _ = write!(scratch, "{n}");
    }
    csv.write_field(&scratch[..])?;
    scratch.clear();
    write_iso(scratch, r.signed_at);
    csv.write_field(&scratch[..])?;
    scratch.clear();
    if let Some(t) = r.confirmed_at {
        write_iso(scratch, t);
    }
    csv.write_field(&scratch[..])?;
    csv.write_field(neutralise_formula(&r.name).as_bytes())?;
    csv.write_field(
        if with_email {
            neutralise_formula(&r.email)
        } else {
            "".into()
        }
        .as_bytes(),
    )?;
    csv.write_field(&r.country)?;
    csv.write_field(neutralise_formula(r.postcode.as_deref().unwrap_or("")).as_bytes())?;
    csv.write_field(neutralise_formula(r.comment.as_deref().unwrap_or("")).as_bytes())?;
    csv.write_field(if r.public { "true" } else { "false" })?;
    if let Some(commitment) = commitment {
        csv.write_field(commitment)?;
    }
    csv.write_record(None::<&[u8]>)?;
    Ok(())
}

/// One batch of rows, as CSV bytes. Cells a spreadsheet would run as a formula are neutralised.
pub fn rows(batch: &[ExportRow]) -> Result<Vec<u8>, ExportError> {
    let mut csv = csv::Writer::from_writer(Vec::with_capacity(batch.len() * 120));
    let mut scratch = Vec::with_capacity(24);
    for r in batch {
        write_record(&mut csv, r, true, None, &mut scratch)?;
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
    let mut scratch = Vec::with_capacity(24);
    for r in batch {
        let commitment = Some(r.commitment.as_deref().unwrap_or(""));
        write_record(&mut csv, r, with_emails, commitment, &mut scratch)?;
    }
    csv.into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))
}

/// Runs `write` on every batch of `petition_id`'s signatures that `filter` picks, in id order.
/// One thread reads the next batch from the database while this one opens and writes the one
/// before (opening a million sealed rows costs as much as reading them), so a long export
/// takes about the longer of the two, and no more than three batches are ever in memory.
/// Returns the number of rows read.
pub fn each_batch<F>(
    conn: &mut DbConnection,
    keys: &crate::keys::Keys,
    petition_id: i32,
    filter: &ExportFilter,
    mut write: F,
) -> Result<u64, ExportError>
where
    F: FnMut(Vec<ExportRow>) -> Result<(), ExportError>,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut after = 0;
            loop {
                let batch = db::views::export::export_batch_sealed(
                    conn,
                    petition_id,
                    filter,
                    after,
                    BATCH,
                )?;
                let Some(last) = batch.last() else {
                    return Ok::<_, DbError>(());
                };
                after = last.0;
                let full = batch.len() as i64 == BATCH;
                // The writer stopped (it failed): so does reading.
                if tx.send(batch).is_err() || !full {
                    return Ok(());
                }
            }
        });
        let mut count = 0u64;
        let written = rx.iter().try_for_each(|batch| {
            count += batch.len() as u64;
            write(db::views::export::open_export_rows(keys, batch)?)
        });
        // Dropping the receiver ends a reader still waiting to send.
        drop(rx);
        let read = match reader.join() {
            Ok(read) => read,
            // A panic while reading is a bug: surface it where it happened.
            Err(panic) => std::panic::resume_unwind(panic),
        };
        written?;
        read?;
        Ok(count)
    })
}

/// Writes every confirmed, valid signature of `petition` as CSV; returns the row count.
pub fn write_csv<W: Write>(
    conn: &mut DbConnection,
    keys: &crate::keys::Keys,
    petition: &Petition,
    mut out: W,
) -> Result<u64, ExportError> {
    out.write_all(&header()?)?;
    let count = each_batch(conn, keys, petition.id, &ExportFilter::default(), |batch| {
        out.write_all(&rows(&batch)?)?;
        Ok(())
    })?;
    out.flush()?;
    Ok(count)
}
