//! Weeding out fakes: invalidating and restoring signatures, one or a batch.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::signing::ReceiptRenderer;
use super::{Changes, Done, UseCaseError, lock_open_petition};
use crate::db::moderation;
use crate::db::schema::{petitions, signatures};
use crate::db::views::signers::Criteria;
use crate::db::{self, DbConnection};
use crate::domain::Refusal;
use crate::domain::{ConfirmationToken, SignatureStatus};
use crate::log::entry::{receipt_code, receipt_tag};
use crate::sealed::{Personal, Purpose};

/// Which signatures: one (by id) or a batch (by criteria), within one petition.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub ids: Option<Vec<i32>>,
    pub criteria: Criteria,
}

/// What to do to the selected signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Invalidate { reason: String },
    Restore,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Invalidate { .. } => "invalidate",
            Action::Restore => "restore",
        }
    }
}

/// Invalidates or restores the petition's selected signatures, pending ones included, and
/// audits it. The count and the per-country counts move by exactly the counted rows that
/// changed, so a double-submitted batch changes nothing the second time. A restored signature
/// that was confirmed while invalidated gets the receipt it was owed (a withdraw link with it).
/// Refused on a closed petition (its count is frozen). Returns how many changed.
#[allow(clippy::too_many_arguments)]
pub fn moderate(
    conn: &mut DbConnection,
    keys: &crate::keys::Keys,
    receipt_email: &ReceiptRenderer,
    organizer_id: i32,
    petition_id: i32,
    selection: &Selection,
    action: &Action,
    detail: &str,
    now: NaiveDateTime,
) -> Result<Done<usize>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let petition = lock_open_petition(conn, petition_id, now, Refusal::ModerationClosed)?;
        let reason = match action {
            Action::Invalidate { reason } => Some(reason.as_str()),
            Action::Restore => None,
        };
        let changed = moderation::set_invalidated(
            conn,
            keys,
            petition_id,
            selection.ids.as_deref(),
            &selection.criteria,
            reason,
            now,
        )?;
        let step: i32 = if reason.is_some() { -1 } else { 1 };
        let mut per_country: BTreeMap<String, i32> = BTreeMap::new();
        let mut delta = 0i64;
        let mut events = Vec::new();
        let kind = if reason.is_some() {
            crate::log::entry::EventKind::Invalidated
        } else {
            crate::log::entry::EventKind::Restored
        };
        let owed = match reason {
            Some(_) => BTreeMap::new(),
            None => send_owed_receipts(conn, keys, &petition, &changed, now, receipt_email)?,
        };
        for (id, status, country, commitment) in &changed {
            // Not withdrawn (moderation leaves those alone): counted when valid, so its
            // invalidation or restoration moves the count.
            if SignatureStatus::from_stored(status).counts(false, false) {
                *per_country.entry(country.clone()).or_default() += step;
                delta += i64::from(step);
                if petition.log_started {
                    let commitment = match commitment {
                        Some(c) => c.clone(),
                        None => db::log::commitment_of(conn, *id)?.0,
                    };
                    events.push(db::log::NewEvent {
                        petition_id,
                        kind,
                        delta: i64::from(step),
                        commitment: Some(commitment),
                        batch: None,
                        // A first receipt, which the receipt page finds this entry by.
                        receipt: owed.get(id).map(|code| receipt_tag(code)),
                        at: now,
                    });
                }
            }
        }
        db::log::record(conn, &events)?;
        if delta != 0 {
            diesel::update(petitions::table.find(petition_id))
                .set(petitions::signature_count.eq(petitions::signature_count + delta))
                .execute(conn)?;
            db::signatures::add_to_countries(conn, petition_id, &per_country)?;
        }
        db::audit::record(
            conn,
            Some(organizer_id),
            Some(petition_id),
            action.name(),
            &format!("{} changed: {detail}", changed.len()),
            now,
        )?;
        let changes = Changes::petition(&petition.slug).with_emails(!owed.is_empty());
        Ok(Done::new(changed.len(), changes))
    })
}

/// Queues the receipt of each restored signature that was confirmed while invalidated, with a
/// fresh withdraw link (it never had one in a receipt); returns their receipt codes by id.
fn send_owed_receipts(
    conn: &mut DbConnection,
    keys: &crate::keys::Keys,
    petition: &db::petitions::Petition,
    changed: &[moderation::Changed],
    now: NaiveDateTime,
    receipt_email: &ReceiptRenderer,
) -> Result<BTreeMap<i32, String>, UseCaseError> {
    let restored: Vec<i32> = changed
        .iter()
        .filter(|(_, status, _, _)| SignatureStatus::from_stored(status).counts(false, false))
        .map(|(id, ..)| *id)
        .collect();
    let mut codes = BTreeMap::new();
    for chunk in restored.chunks(500) {
        type Owed = (i32, Option<String>, String, Option<String>);
        let owed: Vec<Owed> = signatures::table
            .filter(signatures::id.eq_any(chunk))
            .filter(signatures::receipt_due.eq(true))
            .select((
                signatures::id,
                signatures::personal,
                signatures::locale,
                signatures::salt,
            ))
            .load(conn)?;
        for (id, personal, locale, salt) in owed {
            let opened = personal
                .as_deref()
                .map(|p| keys.open::<Personal>(Purpose::Signature, p))
                .transpose()
                .and_then(|p| Ok((p, keys.open_salt(salt.as_deref())?)));
            let (Some(p), Some(salt)) =
                opened.map_err(|e| db::site::unreadable(conn, keys, "restored signature", e))?
            else {
                // Erased by retention: nobody left to send it to.
                continue;
            };
            let code = receipt_code(&salt);
            let withdraw = ConfirmationToken::generate();
            diesel::update(signatures::table.find(id))
                .set((
                    signatures::receipt_due.eq(false),
                    signatures::withdraw_hash.eq(withdraw.hash().as_str().to_string()),
                ))
                .execute(conn)?;
            super::signing::queue_receipt(
                conn,
                keys,
                super::signing::Receipt {
                    petition_id: petition.id,
                    petition_slug: &petition.slug,
                    signature_id: id,
                    recipient: &p.email,
                    locale: &locale,
                    code: &code,
                    withdraw: &withdraw,
                },
                now,
                receipt_email,
            )?;
            codes.insert(id, code);
        }
    }
    Ok(codes)
}

/// Hides a signature's public comment from the petition page, or shows it again, and audits
/// it; the signature and the count stand. Also on a closed petition: what its page quotes is
/// still the organizers' to keep decent. `false` if it changed nothing.
pub fn set_comment_hidden(
    conn: &mut DbConnection,
    organizer_id: i32,
    petition_id: i32,
    signature_id: i32,
    hidden: bool,
    now: NaiveDateTime,
) -> Result<Done<bool>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let petition = super::lock_petition(conn, petition_id)?;
        let changed = moderation::set_comment_hidden(conn, petition_id, signature_id, hidden)?;
        if changed {
            db::audit::record(
                conn,
                Some(organizer_id),
                Some(petition_id),
                if hidden {
                    "hide-comment"
                } else {
                    "show-comment"
                },
                &format!("signature {signature_id}"),
                now,
            )?;
        }
        Ok(Done::new(changed, Changes::petition(&petition.slug)))
    })
}
