//! Weeding out fakes: invalidating and restoring signatures, one or a batch.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{UseCaseError, lock_open_petition};
use crate::db::moderation::{self, Criteria};
use crate::db::schema::petitions;
use crate::db::{self, DbConnection};
use crate::domain::SignatureStatus;

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

/// Invalidates or restores the petition's selected signatures, pending ones included, and audits it. The count and the per-country counts move
/// by exactly the counted rows that changed, so a double-submitted batch changes nothing the
/// second time. Refused on a closed petition (its count is frozen). Returns how many changed.
#[allow(clippy::too_many_arguments)]
pub fn moderate(
    conn: &mut DbConnection,
    keys: &crate::keys::Keys,
    organizer_id: i32,
    petition_id: i32,
    selection: &Selection,
    action: &Action,
    detail: &str,
    now: NaiveDateTime,
) -> Result<usize, UseCaseError> {
    db::write_tx(conn, |conn| {
        let petition = lock_open_petition(conn, petition_id, now, "moderation.closed")?;
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
        for (id, status, country, commitment) in &changed {
            if SignatureStatus::from_stored(status) == SignatureStatus::Confirmed {
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
                        receipt: None,
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
        Ok(changed.len())
    })
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
) -> Result<bool, UseCaseError> {
    db::write_tx(conn, |conn| {
        super::lock_petition(conn, petition_id)?;
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
        Ok(changed)
    })
}
