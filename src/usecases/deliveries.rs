//! Delivery packages and deliveries: recording that a package was made (who took the list,
//! with or without emails) and that one was handed to officials, with the checkpoint it
//! carried, which the petition then shows publicly.

use chrono::NaiveDateTime;

use super::{Changes, Done, UseCaseError, lock_petition};
use crate::db::deliveries::PackageSummary;
use crate::db::deliveries::{NewDelivery, NewPackage};
use crate::db::{self, DbConnection};
use crate::domain::Refusal;

/// Records a package just made, and audits it.
pub fn package_made(
    conn: &mut DbConnection,
    organizer_id: Option<i32>,
    petition_id: i32,
    made: &PackageSummary,
    now: NaiveDateTime,
) -> Result<i32, UseCaseError> {
    db::write_tx(conn, |conn| {
        lock_petition(conn, petition_id)?;
        let id = db::deliveries::add_package(
            conn,
            &NewPackage {
                petition_id,
                organizer_id,
                created_at: now,
                made,
            },
        )?;
        db::audit::record(
            conn,
            organizer_id,
            Some(petition_id),
            "delivery-package",
            &format!(
                "package {id}: {} signatures{}, {} on paper, checkpoint of {} entries, manifest {}",
                made.signatures,
                if made.with_emails { " with emails" } else { "" },
                made.paper,
                made.size,
                made.manifest_sha256
            ),
            now,
        )?;
        Ok(id)
    })
}

/// What the organizer says about a delivery, checked.
pub struct DeliveryForm {
    pub package_id: i32,
    /// Who received it ("OSCE Secretariat"): 1 to 200 characters of plain text.
    pub recipient: String,
    pub delivered_on: NaiveDateTime,
}

/// Records that a package was delivered: the recipient, the day, and a copy of the signed
/// checkpoint it carried. Audited.
pub fn record(
    conn: &mut DbConnection,
    organizer_id: Option<i32>,
    petition_id: i32,
    form: &DeliveryForm,
    now: NaiveDateTime,
) -> Result<Done<i32>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let petition = lock_petition(conn, petition_id)?;
        let package = db::deliveries::package(conn, petition_id, form.package_id)?
            .ok_or(UseCaseError::NotFound)?;
        // Delivered after it was made (the form's day is a calendar day, UTC).
        if form.delivered_on.date() < package.created_at.date() {
            return Err(UseCaseError::Refused(Refusal::DeliveryBeforePackage));
        }
        let checkpoint = db::log::checkpoint_at(conn, petition_id, package.made.size)?
            .ok_or(UseCaseError::NotFound)?
            .note;
        let id = db::deliveries::add_delivery(
            conn,
            &NewDelivery {
                petition_id,
                package_id: package.id,
                organizer_id,
                recipient: &form.recipient,
                delivered_on: form.delivered_on,
                size: package.made.size,
                total: package.made.total,
                checkpoint: &checkpoint,
                created_at: now,
            },
        )?;
        db::audit::record(
            conn,
            organizer_id,
            Some(petition_id),
            "delivery-recorded",
            &format!(
                "delivery {id}: package {} ({} signatures) to {:?} on {}",
                package.id,
                package.made.total,
                form.recipient,
                form.delivered_on.format("%Y-%m-%d")
            ),
            now,
        )?;
        // The petition shows its deliveries publicly.
        Ok(Done::new(id, Changes::petition(&petition.slug)))
    })
}
