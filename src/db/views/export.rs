//! The signatures an export reads, batch by batch, in signer-number order: the live list with
//! its filters, or an export snapshot's recorded set; personal data opened for the file.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{export_snapshot_signatures, signatures};
use crate::db::signatures::counted;
use crate::db::{DbConnection, DbError};
use crate::domain::{NameDisplay, SignatureStatus};

/// One row of a signature export, in the column order of the contract, personal data opened
/// (empty once erased).
#[derive(Clone, Debug)]
pub struct ExportRow {
    pub id: i32,
    pub number: Option<i32>,
    pub signed_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub name: String,
    pub email: String,
    pub country: String,
    pub postcode: Option<String>,
    pub comment: Option<String>,
    pub public: bool,
    /// How the signer let their name appear in public (`NameDisplay`).
    pub display: NameDisplay,
    /// The signature's commitment in the signed log, once it has one.
    pub commitment: Option<String>,
}

/// A row of an export as stored: its personal data still sealed. The first field is the id.
pub type SealedExportRow = (
    i32,
    Option<i32>,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<String>,
    String,
    bool,
    String,
    Option<String>,
);

/// Which signatures an export includes, besides "confirmed and not invalidated".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
    /// Confirmed at or after.
    pub from: Option<NaiveDateTime>,
    /// Confirmed before.
    pub until: Option<NaiveDateTime>,
    /// Only signatures up to this id (the old, weaker snapshot; kept for saved links).
    pub upto: Option<i32>,
    /// The signatures of this export snapshot (`usecases::exports`), whatever has changed
    /// since; the other fields were applied when it was taken and are ignored.
    pub snapshot: Option<i32>,
    /// Every confirmed signature that has entered the signed log, counted now or not: a
    /// delivery package picks the ones its checkpoint counts. The other fields are ignored.
    pub logged: bool,
}

/// The signatures `filter` selects (counted ones, or a snapshot's) after `after_id` in signing
/// order, `limit` at a time, so an export of any size runs in bounded memory.
pub fn export_batch(
    conn: &mut DbConnection,
    keys: &crate::keys::Keys,
    petition_id: i32,
    filter: &ExportFilter,
    after_id: i32,
    limit: i64,
) -> Result<Vec<ExportRow>, DbError> {
    let rows = export_batch_sealed(conn, petition_id, filter, after_id, limit)?;
    open_export_rows(keys, rows)
}

/// [`export_batch`] before opening: the database's part, which a long export runs on one
/// thread while another opens and writes the batch before.
pub fn export_batch_sealed(
    conn: &mut DbConnection,
    petition_id: i32,
    filter: &ExportFilter,
    after_id: i32,
    limit: i64,
) -> Result<Vec<SealedExportRow>, DbError> {
    let mut query = signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(signatures::id.gt(after_id))
        .into_boxed();
    if filter.logged {
        query = query
            .filter(signatures::status.eq(SignatureStatus::Confirmed.as_str()))
            .filter(signatures::commitment.is_not_null());
    } else if let Some(snapshot) = filter.snapshot {
        // A snapshot keeps its list, except signers who withdrew since: they took their name
        // back.
        query = query.filter(signatures::withdrawn_at.is_null()).filter(
            signatures::id.eq_any(
                export_snapshot_signatures::table
                    .filter(export_snapshot_signatures::snapshot_id.eq(snapshot))
                    .select(export_snapshot_signatures::signature_id),
            ),
        );
    } else {
        query = query.filter(counted());
        if let Some(country) = &filter.country {
            query = query.filter(signatures::country.eq(country.clone()));
        }
        if let Some(from) = filter.from {
            query = query.filter(signatures::confirmed_at.ge(from));
        }
        if let Some(until) = filter.until {
            query = query.filter(signatures::confirmed_at.lt(until));
        }
        if let Some(upto) = filter.upto {
            query = query.filter(signatures::id.le(upto));
        }
    }
    Ok(query
        .order(signatures::id.asc())
        .limit(limit)
        .select((
            signatures::id,
            signatures::number,
            signatures::created_at,
            signatures::confirmed_at,
            signatures::personal,
            signatures::country,
            signatures::public,
            signatures::display,
            signatures::commitment,
        ))
        .load(conn)?)
}

/// Opens a batch read by [`export_batch_sealed`].
pub fn open_export_rows(
    keys: &crate::keys::Keys,
    rows: Vec<SealedExportRow>,
) -> Result<Vec<ExportRow>, DbError> {
    rows.into_iter()
        .map(
            |(
                id,
                number,
                signed_at,
                confirmed_at,
                sealed,
                country,
                public,
                display,
                commitment,
            )| {
                let personal = keys.open_signature(sealed.as_deref())?.unwrap_or_default();
                Ok::<_, DbError>(ExportRow {
                    id,
                    number,
                    signed_at,
                    confirmed_at,
                    name: personal.name,
                    email: personal.email,
                    country,
                    postcode: personal.postcode,
                    comment: personal.comment,
                    public,
                    display: NameDisplay::from_stored(&display),
                    commitment,
                })
            },
        )
        .collect()
}
