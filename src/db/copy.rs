//! Copying a whole campaign from one database to another (`undersigned migrate-data`), e.g.
//! from the laptop's SQLite file to PostgreSQL. Ids are kept, so links, signer numbers and
//! confirmation tokens stay valid.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    audit_log, confirmation_tokens, country_counts, deliveries, delivery_packages, email_jobs,
    export_snapshot_signatures, export_snapshots, log_checkpoints, log_cosignatures, log_entries,
    log_nodes, log_pending, organizer_factors, organizers, paper_signatures, password_resets,
    petition_goals, petition_images, petition_organizers, petition_targets, petition_translations,
    petition_updates, petitions, recovery_codes, setup_tokens, signatures, site_state,
};
use super::{DbConnection, DbError};

const BATCH: i64 = 1_000;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = petitions)]
struct PetitionRow {
    id: i32,
    slug: String,
    title: String,
    summary: String,
    body_markdown: String,
    body_html: String,
    started_by: String,
    owner_email: Option<String>,
    status: String,
    created_at: NaiveDateTime,
    closes_at: Option<NaiveDateTime>,
    signature_count: i64,
    last_number: i32,
    paper_count: i64,
    log_started: bool,
    log_origin: Option<String>,
    closed_at: Option<NaiveDateTime>,
    language: String,
    text_version: i32,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = petition_translations)]
struct TranslationRow {
    id: i32,
    petition_id: i32,
    lang: String,
    title: String,
    summary: String,
    body_markdown: String,
    body_html: String,
    targets: String,
    source_version: i32,
    updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = petition_goals)]
struct GoalRow {
    id: i32,
    petition_id: i32,
    goal: i32,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = petition_targets)]
struct TargetRow {
    id: i32,
    petition_id: i32,
    position: i32,
    name: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = site_state)]
struct SiteStateRow {
    name: String,
    value: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = country_counts)]
struct CountryCountRow {
    id: i32,
    petition_id: i32,
    country: String,
    count: i32,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signatures)]
struct SignatureRow {
    id: i32,
    petition_id: i32,
    email_key: String,
    country: String,
    public: bool,
    locale: String,
    status: String,
    number: Option<i32>,
    created_at: NaiveDateTime,
    confirmed_at: Option<NaiveDateTime>,
    invalidated_at: Option<NaiveDateTime>,
    invalidation_reason: Option<String>,
    emails_sent: i32,
    ip_hash: Option<String>,
    wants_updates: bool,
    emails_window_start: Option<NaiveDateTime>,
    salt: Option<String>,
    commitment: Option<String>,
    receipt_hash: Option<String>,
    personal: Option<String>,
    domain_key: Option<String>,
    display: String,
    withdraw_hash: Option<String>,
    withdrawn_at: Option<NaiveDateTime>,
    erased_at: Option<NaiveDateTime>,
    source: Option<String>,
    comment_public: bool,
    comment_hidden: bool,
    withdraw_hash_resent: Option<String>,
    receipt_due: bool,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = log_pending)]
struct LogPendingRow {
    id: i32,
    petition_id: i32,
    kind: String,
    delta: i64,
    commitment: Option<String>,
    batch: Option<i32>,
    receipt: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = log_checkpoints)]
struct LogCheckpointRow {
    id: i32,
    petition_id: i32,
    size: i64,
    total: i64,
    root: Vec<u8>,
    note: String,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = log_cosignatures)]
struct LogCosignatureRow {
    id: i32,
    petition_id: i32,
    size: i64,
    witness: String,
    line: String,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = delivery_packages)]
struct DeliveryPackageRow {
    id: i32,
    petition_id: i32,
    organizer_id: Option<i32>,
    created_at: NaiveDateTime,
    size: i64,
    total: i64,
    signatures: i64,
    paper: i64,
    with_emails: bool,
    manifest_sha256: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = deliveries)]
struct DeliveryRow {
    id: i32,
    petition_id: i32,
    package_id: Option<i32>,
    organizer_id: Option<i32>,
    recipient: String,
    delivered_on: NaiveDateTime,
    size: i64,
    total: i64,
    checkpoint: String,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = log_entries)]
struct LogEntryRow {
    petition_id: i32,
    idx: i64,
    kind: String,
    delta: i64,
    commitment: Option<String>,
    data: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = log_nodes)]
struct LogNodeRow {
    petition_id: i32,
    level: i32,
    idx: i64,
    hash: Vec<u8>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = confirmation_tokens)]
struct TokenRow {
    id: i32,
    signature_id: i32,
    token_hash: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    country: String,
    public: bool,
    wants_updates: bool,
    locale: String,
    ip_hash: Option<String>,
    personal: Option<String>,
    display: String,
    source: Option<String>,
    comment_public: bool,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = email_jobs)]
struct EmailJobRow {
    id: i32,
    created_at: NaiveDateTime,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    lease_until: Option<NaiveDateTime>,
    sent_at: Option<NaiveDateTime>,
    failed_at: Option<NaiveDateTime>,
    last_error: Option<String>,
    update_id: Option<i32>,
    signature_id: Option<i32>,
    content: Option<String>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organizers)]
struct OrganizerRow {
    id: i32,
    email: String,
    name: String,
    password_hash: String,
    is_admin: bool,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = petition_organizers)]
struct PetitionOrganizerRow {
    id: i32,
    petition_id: i32,
    organizer_id: i32,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = setup_tokens)]
struct SetupTokenRow {
    id: i32,
    token_hash: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
struct AuditRow {
    id: i32,
    organizer_id: Option<i32>,
    petition_id: Option<i32>,
    action: String,
    detail: String,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = paper_signatures)]
struct PaperRow {
    id: i32,
    petition_id: i32,
    count: i32,
    collected_on: NaiveDateTime,
    note: String,
    organizer_id: Option<i32>,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = password_resets)]
struct PasswordResetRow {
    id: i32,
    organizer_id: i32,
    token_hash: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organizer_factors)]
struct FactorRow {
    id: i32,
    organizer_id: i32,
    kind: String,
    secret: String,
    confirmed_at: Option<NaiveDateTime>,
    last_step: Option<i64>,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = recovery_codes)]
struct RecoveryCodeRow {
    id: i32,
    organizer_id: i32,
    code_hash: String,
    used_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = petition_updates)]
struct UpdateRow {
    id: i32,
    petition_id: i32,
    title: String,
    body_markdown: String,
    body_html: String,
    organizer_id: Option<i32>,
    created_at: NaiveDateTime,
    recipients: i32,
    idempotency_key: Option<String>,
    fanout_upto: i32,
    fanout_after: i32,
    fanout_pending: bool,
    fanout_lease_until: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = export_snapshots)]
struct SnapshotRow {
    id: i32,
    petition_id: i32,
    organizer_id: Option<i32>,
    created_at: NaiveDateTime,
    title: String,
    country: Option<String>,
    confirmed_from: Option<NaiveDateTime>,
    confirmed_before: Option<NaiveDateTime>,
    row_count: i64,
    signature_count: i64,
    paper_count: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = export_snapshot_signatures)]
struct SnapshotSignatureRow {
    snapshot_id: i32,
    signature_id: i32,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = petition_images)]
struct ImageRow {
    petition_id: i32,
    content_type: String,
    data: Vec<u8>,
    updated_at: NaiveDateTime,
}

/// Every table with an `id` key, parents before children. A new table must be added here (or,
/// without an `id`, next to `petition_images`), or `migrate-data` would leave it behind.
/// Deliberately not copied: `organizer_sessions` (organizers sign in again after a move),
/// `network_hash_seeds` (the new database starts a new day key) and `log_sequencer` (a lease).
macro_rules! for_each_table {
    ($m:ident!($($args:tt)*)) => {
        $m!($($args)* petitions, PetitionRow);
        $m!($($args)* petition_goals, GoalRow);
        $m!($($args)* petition_targets, TargetRow);
        $m!($($args)* petition_translations, TranslationRow);
        $m!($($args)* country_counts, CountryCountRow);
        $m!($($args)* signatures, SignatureRow);
        $m!($($args)* confirmation_tokens, TokenRow);
        $m!($($args)* organizers, OrganizerRow);
        $m!($($args)* petition_organizers, PetitionOrganizerRow);
        $m!($($args)* setup_tokens, SetupTokenRow);
        $m!($($args)* audit_log, AuditRow);
        $m!($($args)* paper_signatures, PaperRow);
        $m!($($args)* password_resets, PasswordResetRow);
        $m!($($args)* organizer_factors, FactorRow);
        $m!($($args)* recovery_codes, RecoveryCodeRow);
        $m!($($args)* petition_updates, UpdateRow);
        $m!($($args)* email_jobs, EmailJobRow);
        $m!($($args)* export_snapshots, SnapshotRow);
        $m!($($args)* log_pending, LogPendingRow);
        $m!($($args)* log_checkpoints, LogCheckpointRow);
        $m!($($args)* log_cosignatures, LogCosignatureRow);
        $m!($($args)* delivery_packages, DeliveryPackageRow);
        $m!($($args)* deliveries, DeliveryRow);
    };
}

/// Rows per table, in copy order.
pub fn table_counts(conn: &mut DbConnection) -> Result<Vec<(&'static str, i64)>, DbError> {
    let mut counts = Vec::new();
    macro_rules! count {
        ($table:ident, $row:ty) => {
            counts.push((
                stringify!($table),
                $table::table.count().get_result::<i64>(conn)?,
            ));
        };
    }
    for_each_table!(count!());
    counts.push((
        "petition_images",
        petition_images::table.count().get_result::<i64>(conn)?,
    ));
    counts.push((
        "export_snapshot_signatures",
        export_snapshot_signatures::table
            .count()
            .get_result::<i64>(conn)?,
    ));
    counts.push((
        "log_entries",
        log_entries::table.count().get_result::<i64>(conn)?,
    ));
    counts.push((
        "log_nodes",
        log_nodes::table.count().get_result::<i64>(conn)?,
    ));
    Ok(counts)
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target database is not empty ({0}); migrate-data only writes into a new database")]
    TargetNotEmpty(String),
    #[error("row counts differ after copying: {0}")]
    Mismatch(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for CopyError {
    fn from(e: diesel::result::Error) -> CopyError {
        CopyError::Db(e.into())
    }
}

/// Copies every row from `from` to `to` (both migrated), keeping ids, in one transaction on
/// each side: the source is read from one snapshot and the target gets all or nothing.
/// Returns the row count per table, verified on both sides.
pub fn copy_all(
    from: &mut DbConnection,
    to: &mut DbConnection,
) -> Result<Vec<(&'static str, i64)>, CopyError> {
    let existing: Vec<String> = table_counts(to)?
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{n} rows in {t}"))
        .collect();
    if !existing.is_empty() {
        return Err(CopyError::TargetNotEmpty(existing.join(", ")));
    }
    from.transaction::<_, CopyError, _>(|from| {
        to.transaction::<_, CopyError, _>(|to| {
            macro_rules! copy {
                ($table:ident, $row:ty) => {
                    let mut after = 0;
                    loop {
                        let rows: Vec<$row> = $table::table
                            .filter($table::id.gt(after))
                            .order($table::id.asc())
                            .limit(BATCH)
                            .select(<$row>::as_select())
                            .load(from)?;
                        let Some(last) = rows.last() else { break };
                        after = last.id;
                        crate::with_backend!(&mut *to, |c| diesel::insert_into($table::table)
                            .values(&rows)
                            .execute(c))?;
                    }
                };
            }
            for_each_table!(copy!());
            // The site's own facts (which data key seals the rows): the source's stand.
            let state: Vec<SiteStateRow> = site_state::table
                .select(SiteStateRow::as_select())
                .load(from)?;
            diesel::delete(site_state::table).execute(to)?;
            for row in &state {
                crate::with_backend!(&mut *to, |c| diesel::insert_into(site_state::table)
                    .values(row)
                    .execute(c))?;
            }
            // Keyed by petition, not by id, and few: copied one by one.
            let images: Vec<ImageRow> = petition_images::table
                .select(ImageRow::as_select())
                .load(from)?;
            for image in &images {
                crate::with_backend!(&mut *to, |c| diesel::insert_into(petition_images::table)
                    .values(image)
                    .execute(c))?;
            }
            // Keyed by (snapshot, signature): copied in key order, a batch at a time.
            let mut after = (0, 0);
            loop {
                let rows: Vec<SnapshotSignatureRow> = export_snapshot_signatures::table
                    .filter(
                        export_snapshot_signatures::snapshot_id.gt(after.0).or(
                            export_snapshot_signatures::snapshot_id
                                .eq(after.0)
                                .and(export_snapshot_signatures::signature_id.gt(after.1)),
                        ),
                    )
                    .order((
                        export_snapshot_signatures::snapshot_id.asc(),
                        export_snapshot_signatures::signature_id.asc(),
                    ))
                    .limit(BATCH)
                    .select(SnapshotSignatureRow::as_select())
                    .load(from)?;
                let Some(last) = rows.last() else { break };
                after = (last.snapshot_id, last.signature_id);
                crate::with_backend!(&mut *to, |c| diesel::insert_into(
                    export_snapshot_signatures::table
                )
                .values(&rows)
                .execute(c))?;
            }
            // The signed logs, keyed by (petition, index) and (petition, level, index).
            let mut after = (0, -1i64);
            loop {
                let rows: Vec<LogEntryRow> = log_entries::table
                    .filter(
                        log_entries::petition_id
                            .gt(after.0)
                            .or(log_entries::petition_id
                                .eq(after.0)
                                .and(log_entries::idx.gt(after.1))),
                    )
                    .order((log_entries::petition_id.asc(), log_entries::idx.asc()))
                    .limit(BATCH)
                    .select(LogEntryRow::as_select())
                    .load(from)?;
                let Some(last) = rows.last() else { break };
                after = (last.petition_id, last.idx);
                crate::with_backend!(&mut *to, |c| diesel::insert_into(log_entries::table)
                    .values(&rows)
                    .execute(c))?;
            }
            let mut after = (0, 0, -1i64);
            loop {
                let rows: Vec<LogNodeRow> =
                    log_nodes::table
                        .filter(log_nodes::petition_id.gt(after.0).or(
                            log_nodes::petition_id.eq(after.0).and(
                                log_nodes::level.gt(after.1).or(
                                    log_nodes::level.eq(after.1).and(log_nodes::idx.gt(after.2)),
                                ),
                            ),
                        ))
                        .order((
                            log_nodes::petition_id.asc(),
                            log_nodes::level.asc(),
                            log_nodes::idx.asc(),
                        ))
                        .limit(BATCH)
                        .select(LogNodeRow::as_select())
                        .load(from)?;
                let Some(last) = rows.last() else { break };
                after = (last.petition_id, last.level, last.idx);
                crate::with_backend!(&mut *to, |c| diesel::insert_into(log_nodes::table)
                    .values(&rows)
                    .execute(c))?;
            }
            reset_sequences(to)?;
            Ok(())
        })
    })?;
    let copied = table_counts(from)?;
    let landed = table_counts(to)?;
    if copied != landed {
        return Err(CopyError::Mismatch(format!(
            "source {copied:?}, target {landed:?}"
        )));
    }
    Ok(landed)
}

/// PostgreSQL's serial sequences do not see explicit ids: move each past the highest id so the
/// next insert does not collide. SQLite needs nothing (it uses max(id) + 1).
fn reset_sequences(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    if let DbConnection::Postgres(pg) = conn {
        macro_rules! reset {
            ($table:ident, $row:ty) => {
                diesel::sql_query(concat!(
                    "SELECT setval(pg_get_serial_sequence('",
                    stringify!($table),
                    "', 'id'), COALESCE((SELECT MAX(id) FROM ",
                    stringify!($table),
                    "), 0) + 1, false)"
                ))
                .execute(pg)?;
            };
        }
        for_each_table!(reset!());
    }
    Ok(())
}
