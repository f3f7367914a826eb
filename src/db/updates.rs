//! News organizers post on a petition, and the emails that carry it to signers who opted in.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::outbox::{self, NewEmail};
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

/// A signer who should receive an update: signature id, address and language.
pub type Recipient = (i32, String, String);

/// Posts an update; when `email_for` is given, queues one email per confirmed, valid signer
/// who opted in, in the same transaction. Returns how many were queued.
pub fn post(
    conn: &mut DbConnection,
    petition_id: i32,
    organizer_id: Option<i32>,
    title: &str,
    body_markdown: &str,
    now: NaiveDateTime,
    email_for: Option<&dyn Fn(&Recipient) -> NewEmail>,
) -> Result<usize, DbError> {
    let body_html = crate::markdown::render(body_markdown);
    Ok(conn.transaction::<usize, diesel::result::Error, _>(|conn| {
        let id: i32 = diesel::insert_into(petition_updates::table)
            .values((
                petition_updates::petition_id.eq(petition_id),
                petition_updates::title.eq(title),
                petition_updates::body_markdown.eq(body_markdown),
                petition_updates::body_html.eq(&body_html),
                petition_updates::organizer_id.eq(organizer_id),
                petition_updates::created_at.eq(now),
            ))
            .returning(petition_updates::id)
            .get_result(conn)?;
        let Some(email_for) = email_for else {
            return Ok(0);
        };
        let mut queued = 0;
        let mut after = 0;
        loop {
            let batch: Vec<Recipient> = signatures::table
                .filter(signatures::petition_id.eq(petition_id))
                .filter(signatures::status.eq("confirmed"))
                .filter(signatures::invalidated_at.is_null())
                .filter(signatures::wants_updates.eq(true))
                .filter(signatures::id.gt(after))
                .order(signatures::id.asc())
                .limit(1000)
                .select((signatures::id, signatures::email, signatures::locale))
                .load(conn)?;
            let Some(last) = batch.last() else { break };
            after = last.0;
            for recipient in &batch {
                outbox::enqueue(conn, &email_for(recipient), now)?;
                queued += 1;
            }
        }
        diesel::update(petition_updates::table.find(id))
            .set(petition_updates::recipients.eq(queued as i32))
            .execute(conn)?;
        Ok(queued)
    })?)
}

/// Stops update emails to one signature; `false` if there is no such signature.
pub fn unsubscribe(conn: &mut DbConnection, signature_id: i32) -> Result<bool, DbError> {
    Ok(diesel::update(signatures::table.find(signature_id))
        .set(signatures::wants_updates.eq(false))
        .execute(conn)?
        == 1)
}
