//! The signers of a petition as the organizers' moderation list shows them: a page at a time,
//! name and email opened, matched by the search criteria.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::signatures;
use crate::db::{DbConnection, DbError};
use crate::keys::Keys;
use crate::sealed::Personal;

/// Which signatures a batch action or a search applies to. Empty fields match everything.
#[derive(Clone, Debug, Default)]
pub struct Criteria {
    /// Part of a name or email, lower-case: matched on the opened rows (names are sealed, so
    /// no index can find them).
    pub text: Option<String>,
    /// The keyed hash of one exact address (`Keys::email_index`).
    pub email_index: Option<String>,
    /// The keyed hash of an email domain, e.g. of `mailinator.com` (`Keys::domain_index`).
    pub domain_index: Option<String>,
    /// Signed at or after.
    pub from: Option<NaiveDateTime>,
    /// Signed before.
    pub until: Option<NaiveDateTime>,
    /// Same network as this keyed hash.
    pub ip_hash: Option<String>,
}

impl Criteria {
    /// A batch needs at least one narrowing criterion: "invalidate everything" is not a batch.
    pub fn is_narrowing(&self) -> bool {
        self.domain_index.is_some()
            || self.email_index.is_some()
            || self.from.is_some()
            || self.until.is_some()
            || self.ip_hash.is_some()
    }
}

macro_rules! filtered {
    ($petition_id:expr, $c:expr) => {{
        let c: &Criteria = $c;
        let mut q = signatures::table
            .filter(signatures::petition_id.eq($petition_id))
            .into_boxed::<crate::db::MultiBackend>();
        if let Some(h) = &c.email_index {
            q = q.filter(signatures::email_key.eq(h.clone()));
        }
        if let Some(h) = &c.domain_index {
            q = q.filter(signatures::domain_key.eq(h.clone()));
        }
        if let Some(from) = c.from {
            q = q.filter(signatures::created_at.ge(from));
        }
        if let Some(until) = c.until {
            q = q.filter(signatures::created_at.lt(until));
        }
        if let Some(h) = &c.ip_hash {
            q = q.filter(signatures::ip_hash.eq(h.clone()));
        }
        q
    }};
}

/// Whether an opened signature matches a criteria's `text`.
fn text_matches(text: &Option<String>, personal: Option<&Personal>) -> bool {
    match (text, personal) {
        (None, _) => true,
        (Some(t), Some(p)) => {
            p.name.to_lowercase().contains(t)
                || p.email.to_lowercase().contains(t)
                || p.comment
                    .as_ref()
                    .is_some_and(|c| c.to_lowercase().contains(t))
        }
        (Some(_), None) => false,
    }
}

/// The ids of a petition's signatures matching `criteria`, newest first: by query, then, for a
/// `text`, by opening each candidate.
pub(crate) fn matching_ids(
    conn: &mut DbConnection,
    keys: &Keys,
    petition_id: i32,
    ids: Option<&[i32]>,
    criteria: &Criteria,
) -> Result<Vec<i32>, DbError> {
    let mut q = filtered!(petition_id, criteria).order(signatures::id.desc());
    if let Some(ids) = ids {
        q = q.filter(signatures::id.eq_any(ids.to_vec()));
    }
    if criteria.text.is_none() {
        return Ok(q.select(signatures::id).load(conn)?);
    }
    let rows: Vec<(i32, Option<String>)> = q
        .select((signatures::id, signatures::personal))
        .load(conn)?;
    let matched = crate::sealed::par_map(&rows, |(id, sealed)| {
        let personal = keys.open_signature(sealed.as_deref())?;
        Ok::<_, DbError>(text_matches(&criteria.text, personal.as_ref()).then_some(*id))
    })?;
    Ok(matched.into_iter().flatten().collect())
}

/// Signers per page of the moderation list.
pub const PAGE_SIZE: i64 = 50;

/// A signature as the moderation list shows it: name and email opened, `None` once erased.
#[derive(Clone, Debug)]
pub struct SignerRow {
    pub id: i32,
    pub name: Option<String>,
    pub email: Option<String>,
    pub country: String,
    pub created_at: NaiveDateTime,
    pub status: String,
    pub invalidated_at: Option<NaiveDateTime>,
    pub invalidation_reason: Option<String>,
    pub ip_hash: Option<String>,
    pub withdrawn_at: Option<NaiveDateTime>,
    /// The signer's comment, where they chose to show it on the page, and whether organizers
    /// hid it.
    pub public_comment: Option<(String, bool)>,
}

type StoredRow = (
    i32,
    Option<String>,
    String,
    NaiveDateTime,
    String,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    bool,
    bool,
);

/// One page of signers, newest first, and the number matching in all.
pub fn list(
    conn: &mut DbConnection,
    keys: &Keys,
    petition_id: i32,
    criteria: &Criteria,
    page: i64,
) -> Result<(Vec<SignerRow>, i64), DbError> {
    let select = (
        signatures::id,
        signatures::personal,
        signatures::country,
        signatures::created_at,
        signatures::status,
        signatures::invalidated_at,
        signatures::invalidation_reason,
        signatures::ip_hash,
        signatures::withdrawn_at,
        signatures::comment_public,
        signatures::comment_hidden,
    );
    let offset = page.max(0) * PAGE_SIZE;
    let (rows, total): (Vec<StoredRow>, i64) = if criteria.text.is_some() {
        let ids = matching_ids(conn, keys, petition_id, None, criteria)?;
        let total = ids.len() as i64;
        let page_ids: Vec<i32> = ids
            .into_iter()
            .skip(offset as usize)
            .take(PAGE_SIZE as usize)
            .collect();
        let rows = signatures::table
            .filter(signatures::id.eq_any(page_ids))
            .order(signatures::id.desc())
            .select(select)
            .load(conn)?;
        (rows, total)
    } else {
        let total = filtered!(petition_id, criteria).count().get_result(conn)?;
        let rows = filtered!(petition_id, criteria)
            .order(signatures::id.desc())
            .limit(PAGE_SIZE)
            .offset(offset)
            .select(select)
            .load(conn)?;
        (rows, total)
    };
    let mut out = Vec::with_capacity(rows.len());
    for (
        id,
        sealed,
        country,
        created_at,
        status,
        invalidated_at,
        reason,
        ip_hash,
        withdrawn_at,
        comment_public,
        comment_hidden,
    ) in rows
    {
        let personal = keys.open_signature(sealed.as_deref())?;
        out.push(SignerRow {
            public_comment: personal
                .as_ref()
                .and_then(|p| p.comment.clone())
                .filter(|_| comment_public)
                .map(|c| (c, comment_hidden)),
            id,
            name: personal.as_ref().map(|p| p.name.clone()),
            email: personal.map(|p| p.email),
            country,
            created_at,
            status,
            invalidated_at,
            invalidation_reason: reason,
            ip_hash,
            withdrawn_at,
        });
    }
    Ok((out, total))
}
