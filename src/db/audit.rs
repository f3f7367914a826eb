//! The audit log: every organizer action, who, what, when; written in the same transaction as
//! the action.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_log, organizers, petitions};
use super::{DbConnection, DbError};

/// Records an organizer action.
pub fn record(
    conn: &mut DbConnection,
    organizer_id: Option<i32>,
    petition_id: Option<i32>,
    action: &str,
    detail: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::organizer_id.eq(organizer_id),
            audit_log::petition_id.eq(petition_id),
            audit_log::action.eq(action),
            audit_log::detail.eq(detail),
            audit_log::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// An audit log entry with the organizer's email and the petition's slug, when they still exist.
#[derive(Clone, Debug, Queryable)]
pub struct AuditEntry {
    pub created_at: NaiveDateTime,
    pub organizer: Option<String>,
    pub petition: Option<String>,
    pub action: String,
    pub detail: String,
}

/// The latest audit log entries, newest first.
pub fn entries(conn: &mut DbConnection, limit: i64) -> Result<Vec<AuditEntry>, DbError> {
    Ok(audit_log::table
        .left_join(organizers::table)
        .left_join(petitions::table)
        .order(audit_log::id.desc())
        .limit(limit)
        .select((
            audit_log::created_at,
            organizers::email.nullable(),
            petitions::slug.nullable(),
            audit_log::action,
            audit_log::detail,
        ))
        .load(conn)?)
}
