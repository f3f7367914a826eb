//! News organizers post on a petition (posted and emailed by `usecases::updates`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{petition_updates, signatures};
use super::{DbConnection, DbError};

/// An update as pages show it.
#[derive(Clone, Debug, Queryable)]
pub struct Update {
    pub id: i32,
    pub title: String,
    pub body_html: String,
    pub created_at: NaiveDateTime,
    pub recipients: i32,
}

pub fn list(conn: &mut DbConnection, petition_id: i32) -> Result<Vec<Update>, DbError> {
    Ok(petition_updates::table
        .filter(petition_updates::petition_id.eq(petition_id))
        .order(petition_updates::created_at.desc())
        .select((
            petition_updates::id,
            petition_updates::title,
            petition_updates::body_html,
            petition_updates::created_at,
            petition_updates::recipients,
        ))
        .load(conn)?)
}

/// Stops update emails to one signature; `false` if there is no such signature.
pub fn unsubscribe(conn: &mut DbConnection, signature_id: i32) -> Result<bool, DbError> {
    Ok(diesel::update(signatures::table.find(signature_id))
        .set(signatures::wants_updates.eq(false))
        .execute(conn)?
        == 1)
}
