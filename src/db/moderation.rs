//! Weeding out fake signatures: invalidating and restoring them, one or a batch, with a reason,
//! and the audit log of organizer actions. Counters change in the same transaction as the rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_log, country_counts, organizers, petitions, signatures};
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
            .into_boxed();
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
/// `ids` (when given) and `criteria`. Only confirmed signatures change state; the petition's
/// count and its per-country counts move with them. Returns how many changed.
pub fn set_invalidated(
    conn: &mut DbConnection,
    petition_id: i32,
    ids: Option<&[i32]>,
    criteria: &Criteria,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    conn.transaction::<usize, DbError, _>(|conn| {
        let mut q = filtered!(petition_id, criteria).filter(signatures::status.eq("confirmed"));
        if let Some(ids) = ids {
            q = q.filter(signatures::id.eq_any(ids.to_vec()));
        }
        q = if reason.is_some() {
            q.filter(signatures::invalidated_at.is_null())
        } else {
            q.filter(signatures::invalidated_at.is_not_null())
        };
        let targets: Vec<(i32, String)> =
            q.select((signatures::id, signatures::country)).load(conn)?;
        if targets.is_empty() {
            return Ok(0);
        }
        let target_ids: Vec<i32> = targets.iter().map(|(id, _)| *id).collect();
        for chunk in target_ids.chunks(500) {
            diesel::update(signatures::table.filter(signatures::id.eq_any(chunk)))
                .set((
                    signatures::invalidated_at.eq(reason.map(|_| now)),
                    signatures::invalidation_reason.eq(reason),
                ))
                .execute(conn)?;
        }
        let delta = if reason.is_some() { -1 } else { 1 };
        let mut per_country: std::collections::BTreeMap<&str, i32> = Default::default();
        for (_, country) in &targets {
            *per_country.entry(country.as_str()).or_default() += delta;
        }
        for (country, n) in per_country {
            diesel::update(
                country_counts::table
                    .filter(country_counts::petition_id.eq(petition_id))
                    .filter(country_counts::country.eq(country)),
            )
            .set(country_counts::count.eq(country_counts::count + n))
            .execute(conn)?;
        }
        diesel::update(petitions::table.find(petition_id))
            .set(
                petitions::signature_count
                    .eq(petitions::signature_count + delta * targets.len() as i32),
            )
            .execute(conn)?;
        Ok(targets.len())
    })
}

/// Records an organizer action.
pub fn audit(
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
pub fn audit_entries(conn: &mut DbConnection, limit: i64) -> Result<Vec<AuditEntry>, DbError> {
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
