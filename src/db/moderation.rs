//! Weeding out fake signatures: finding them, and invalidating and restoring them, one or a
//! batch, with a reason. `usecases::moderation` adjusts the counters from the rows changed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::signatures;
use super::{DbConnection, DbError};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Signers per page of the moderation list.
pub const PAGE_SIZE: i64 = 50;

/// A signature as the moderation list shows it.
#[derive(Clone, Debug, Queryable)]
pub struct SignerRow {
    pub id: i32,
    pub name: String,
    pub email: String,
    pub country: String,
    pub created_at: NaiveDateTime,
    pub status: String,
    pub invalidated_at: Option<NaiveDateTime>,
    pub invalidation_reason: Option<String>,
    pub ip_hash: Option<String>,
}

/// Which signatures a batch action or a search applies to. Empty fields match everything.
#[derive(Clone, Debug, Default)]
pub struct Criteria {
    /// Case-insensitive part of the name or email.
    pub search: Option<String>,
    /// Exact email domain, e.g. `mailinator.com`.
    pub domain: Option<String>,
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
        self.domain.is_some()
            || self.from.is_some()
            || self.until.is_some()
            || self.ip_hash.is_some()
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

macro_rules! filtered {
    ($petition_id:expr, $c:expr) => {{
        let c: &Criteria = $c;
        let mut q = signatures::table
            .filter(signatures::petition_id.eq($petition_id))
            .into_boxed::<super::MultiBackend>();
        if let Some(s) = &c.search {
            let pattern = format!("%{}%", escape_like(&s.to_lowercase()));
            q = q.filter(
                lower(signatures::name)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(signatures::email).like(pattern).escape('\\')),
            );
        }
        if let Some(d) = &c.domain {
            q = q.filter(
                signatures::email_key
                    .like(format!("%@{}", escape_like(&d.to_lowercase())))
                    .escape('\\'),
            );
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

/// One page of signers, newest first, and the number matching in all.
pub fn list(
    conn: &mut DbConnection,
    petition_id: i32,
    criteria: &Criteria,
    page: i64,
) -> Result<(Vec<SignerRow>, i64), DbError> {
    let total = filtered!(petition_id, criteria).count().get_result(conn)?;
    let rows = filtered!(petition_id, criteria)
        .order(signatures::id.desc())
        .limit(PAGE_SIZE)
        .offset(page.max(0) * PAGE_SIZE)
        .select((
            signatures::id,
            signatures::name,
            signatures::email,
            signatures::country,
            signatures::created_at,
            signatures::status,
            signatures::invalidated_at,
            signatures::invalidation_reason,
            signatures::ip_hash,
        ))
        .load(conn)?;
    Ok((rows, total))
}

/// The keyed network hash of one signature of a petition, to find others from the same network.
pub fn ip_hash_of(
    conn: &mut DbConnection,
    petition_id: i32,
    signature_id: i32,
) -> Result<Option<String>, DbError> {
    Ok(signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(signatures::id.eq(signature_id))
        .select(signatures::ip_hash)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Invalidates (`reason` is `Some`) or restores (`None`) the signatures of a petition matching
/// `ids` (when given) and `criteria`, pending ones included, in one `UPDATE` that only matches
/// rows not already in the target state. Returns each changed row's status and country, so
/// callers adjust counters by exactly the rows that changed. Call it under the petition lock.
/// A signature moderation changed: id, status, country, commitment.
pub type Changed = (i32, String, String, Option<String>);

const CHANGED: (
    signatures::id,
    signatures::status,
    signatures::country,
    signatures::commitment,
) = (
    signatures::id,
    signatures::status,
    signatures::country,
    signatures::commitment,
);

pub fn set_invalidated(
    conn: &mut DbConnection,
    petition_id: i32,
    ids: Option<&[i32]>,
    criteria: &Criteria,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<Vec<Changed>, DbError> {
    let mut targets = filtered!(petition_id, criteria);
    if let Some(ids) = ids {
        targets = targets.filter(signatures::id.eq_any(ids.to_vec()));
    }
    targets = match reason {
        Some(_) => targets.filter(signatures::invalidated_at.is_null()),
        None => targets.filter(signatures::invalidated_at.is_not_null()),
    };
    let candidates: Vec<i32> = targets.select(signatures::id).load(conn)?;
    // The candidates only say where to look: each UPDATE re-checks the state it changes and
    // reports the rows it changed, which are all the counters may follow.
    let mut changed = Vec::with_capacity(candidates.len());
    for chunk in candidates.chunks(500) {
        let rows = diesel::update(
            signatures::table
                .filter(signatures::petition_id.eq(petition_id))
                .filter(signatures::id.eq_any(chunk)),
        );
        let mut got: Vec<Changed> = match reason {
            Some(reason) => rows
                .filter(signatures::invalidated_at.is_null())
                .set((
                    signatures::invalidated_at.eq(Some(now)),
                    signatures::invalidation_reason.eq(Some(reason)),
                ))
                .returning(CHANGED)
                .load(conn)?,
            None => rows
                .filter(signatures::invalidated_at.is_not_null())
                .set((
                    signatures::invalidated_at.eq(None::<NaiveDateTime>),
                    signatures::invalidation_reason.eq(None::<String>),
                ))
                .returning(CHANGED)
                .load(conn)?,
        };
        changed.append(&mut got);
    }
    Ok(changed)
}
