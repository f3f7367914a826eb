//! Starting a petition's log and appending its queued events (the sequencer's two steps).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{UseCaseError, lock_petition};
use crate::db::schema::{log_pending, log_start_tags, paper_signatures, petitions, signatures};
use crate::db::{self, DbConnection, log as dblog};
use crate::keys::Keys;
use crate::log::LogSigner;
use crate::log::entry::{Entry, EventKind, minute, receipt_code, receipt_tag};
use crate::log::merkle::{self, completed_by};
use crate::log::note::Checkpoint;

/// Most events appended in one transaction.
pub const MAX_BATCH: i64 = 5_000;

/// Starts a petition's log: under the petition lock, its state so far (each counted signature,
/// each paper batch) is queued as events, and from then on every change is. Nothing happens
/// if it was started already. Returns how many events were queued.
///
/// The slow part, a salt opened per counted signature for its receipt tag, is done first, in
/// short transactions of [`TAG_CHUNK`] rows that hold no petition lock (`log_start_tags`).
/// Under the lock, what was counted since is tagged, and the whole history is queued by one
/// `INSERT ... SELECT`: with a million signatures, signing elsewhere waits for that statement
/// only, not for a million rows built and sent one by one.
pub fn start(
    conn: &mut DbConnection,
    petition_id: i32,
    signer: &LogSigner,
    keys: &Keys,
) -> Result<usize, UseCaseError> {
    let started: bool = petitions::table
        .find(petition_id)
        .select(petitions::log_started)
        .first(conn)?;
    if started {
        return Ok(0);
    }
    tag_counted(conn, petition_id, keys)?;
    let queued = queue_history(conn, petition_id, signer, keys)?;
    // The tags have done their work: cleared in short transactions too.
    loop {
        let cleared = db::write_tx(conn, |conn| {
            let ids: Vec<i32> = log_start_tags::table
                .filter(log_start_tags::petition_id.eq(petition_id))
                .select(log_start_tags::signature_id)
                .limit(TAG_CHUNK)
                .load(conn)?;
            diesel::delete(log_start_tags::table.filter(log_start_tags::signature_id.eq_any(ids)))
                .execute(conn)
        })?;
        if cleared < TAG_CHUNK as usize {
            break;
        }
    }
    Ok(queued)
}

/// A log start's first step: the receipt tag of every signature counted now, in short
/// transactions that take no lock of the petition. Tags left by a start cut short are made
/// again (the signatures may have changed since).
pub fn tag_counted(
    conn: &mut DbConnection,
    petition_id: i32,
    keys: &Keys,
) -> Result<(), UseCaseError> {
    db::write_tx(conn, |conn| {
        diesel::delete(log_start_tags::table.filter(log_start_tags::petition_id.eq(petition_id)))
            .execute(conn)
    })?;
    let mut after = 0;
    loop {
        let counted: Vec<(i32, Option<String>, Option<String>)> = signatures::table
            .filter(db::signatures::counted())
            .filter(signatures::petition_id.eq(petition_id))
            .filter(signatures::id.gt(after))
            .order(signatures::id.asc())
            .limit(TAG_CHUNK)
            .select((signatures::id, signatures::commitment, signatures::salt))
            .load(conn)?;
        let Some(last) = counted.last() else { break };
        after = last.0;
        let tags = tags_of(keys, petition_id, counted)?;
        db::write_tx(conn, |conn| {
            crate::with_backend!(conn, |c| diesel::insert_into(log_start_tags::table)
                .values(&tags)
                .execute(c))
        })?;
    }
    Ok(())
}

/// A log start's second step, under the petition lock: what was counted since the tags were
/// made is tagged, and every counted signature (in the order of its number) and paper batch is
/// queued, in one `INSERT ... SELECT` and a few rows. Nothing if the log started meanwhile.
pub fn queue_history(
    conn: &mut DbConnection,
    petition_id: i32,
    signer: &LogSigner,
    keys: &Keys,
) -> Result<usize, UseCaseError> {
    db::write_tx(conn, |conn| {
        let petition = lock_petition(conn, petition_id)?;
        if petition.log_started {
            return Ok(0);
        }
        // Counted since the tags were made (confirmed, restored): tagged now, under the lock.
        let untagged: Vec<(i32, Option<String>, Option<String>)> = signatures::table
            .filter(db::signatures::counted())
            .filter(signatures::petition_id.eq(petition_id))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                log_start_tags::table.filter(log_start_tags::signature_id.eq(signatures::id)),
            )))
            .select((signatures::id, signatures::commitment, signatures::salt))
            .load(conn)?;
        let tags = tags_of(keys, petition_id, untagged)?;
        crate::with_backend!(conn, |c| diesel::insert_into(log_start_tags::table)
            .values(&tags)
            .execute(c))?;
        // Every counted signature, in the order of its number, as a `confirmed` event.
        let history = signatures::table
            .inner_join(log_start_tags::table)
            .filter(db::signatures::counted())
            .filter(signatures::petition_id.eq(petition_id))
            .order(signatures::number.asc())
            .select((
                signatures::petition_id,
                EventKind::Confirmed
                    .as_str()
                    .into_sql::<diesel::sql_types::Text>(),
                1i64.into_sql::<diesel::sql_types::BigInt>(),
                signatures::commitment,
                log_start_tags::receipt,
                signatures::confirmed_at.assume_not_null(),
            ));
        let mut queued = crate::with_backend!(conn, |c| diesel::insert_into(log_pending::table)
            .values(history)
            .into_columns((
                log_pending::petition_id,
                log_pending::kind,
                log_pending::delta,
                log_pending::commitment,
                log_pending::receipt,
                log_pending::created_at,
            ))
            .execute(c))?;
        let paper: Vec<(i32, i32, NaiveDateTime)> = paper_signatures::table
            .filter(paper_signatures::petition_id.eq(petition_id))
            .order(paper_signatures::id.asc())
            .select((
                paper_signatures::id,
                paper_signatures::count,
                paper_signatures::created_at,
            ))
            .load(conn)?;
        let events: Vec<dblog::NewEvent> = paper
            .into_iter()
            .map(|(batch, count, at)| dblog::NewEvent {
                petition_id,
                kind: EventKind::Paper,
                delta: i64::from(count),
                commitment: None,
                batch: Some(batch),
                receipt: None,
                at,
            })
            .collect();
        dblog::record(conn, &events)?;
        queued += events.len();
        diesel::update(petitions::table.find(petition_id))
            .set((
                petitions::log_started.eq(true),
                petitions::log_origin.eq(signer.origin(&petition.slug)),
            ))
            .execute(conn)?;
        Ok::<_, UseCaseError>(queued)
    })
}

/// Signatures tagged per transaction while a log starts.
const TAG_CHUNK: i64 = 2_000;

/// The `log_start_tags` rows of counted signatures: each one's receipt tag, from its salt. A
/// counted signature without a commitment cannot be logged: an error (the log cannot start,
/// and the dashboard and the metrics say so).
fn tags_of(
    keys: &Keys,
    petition_id: i32,
    counted: Vec<(i32, Option<String>, Option<String>)>,
) -> Result<Vec<StartTag>, UseCaseError> {
    counted
        .into_iter()
        .map(|(id, commitment, salt)| {
            if commitment.is_none() {
                return Err(db::DbError::Other(format!(
                    "signature {id} is confirmed but has no commitment"
                ))
                .into());
            }
            let salt = keys.open_salt(salt.as_deref()).map_err(db::DbError::from)?;
            Ok(StartTag {
                signature_id: id,
                petition_id,
                receipt: salt.map(|salt| receipt_tag(&receipt_code(&salt))),
            })
        })
        .collect()
}

#[derive(Insertable)]
#[diesel(table_name = log_start_tags)]
struct StartTag {
    signature_id: i32,
    petition_id: i32,
    receipt: Option<String>,
}

/// Appends up to [`MAX_BATCH`] queued events of a petition to its log and signs a checkpoint
/// of the result (the first checkpoint of an empty log too). Run by the one sequencer; two
/// running at once would collide on the entries' key, and one would roll back. Returns how
/// many entries were appended.
pub fn sequence(
    conn: &mut DbConnection,
    petition_id: i32,
    signer: &LogSigner,
    now: NaiveDateTime,
) -> Result<usize, UseCaseError> {
    db::write_tx(conn, |conn| {
        let latest = dblog::latest(conn, petition_id)?;
        let queued = dblog::pending(conn, petition_id, MAX_BATCH)?;
        if queued.is_empty() && latest.is_some() {
            return Ok(0);
        }
        if let Some(c) = &latest {
            signed_by(signer, &c.note)?;
        }
        let (slug, origin): (String, Option<String>) = petitions::table
            .find(petition_id)
            .select((petitions::slug, petitions::log_origin))
            .first(conn)?;
        let origin = origin.unwrap_or_else(|| signer.origin(&slug));
        let (mut size, mut total) = latest.map_or((0, 0), |c| (c.size, c.total));
        let mut nodes = dblog::Nodes::of(conn, petition_id);
        let mut appended = Vec::with_capacity(queued.len());
        let mut new_nodes = Vec::new();
        for event in &queued {
            let kind = EventKind::from_stored(&event.kind).ok_or_else(|| {
                UseCaseError::Db(db::DbError::Other(format!("unknown event {}", event.kind)))
            })?;
            let data = Entry {
                kind,
                delta: event.delta,
                commitment: event.commitment.clone(),
                batch: event.batch,
                receipt: event.receipt.clone(),
                time: minute(event.created_at),
            }
            .to_json();
            let leaf = merkle::leaf_hash(data.as_bytes());
            let made = completed_by(size as u64, leaf, |l, i| {
                use crate::log::merkle::Subtrees;
                nodes.perfect(l, i)
            })?;
            for (l, i, h) in &made {
                nodes.cache.insert((*l, *i), *h);
            }
            new_nodes.extend(made);
            appended.push(dblog::Appended {
                idx: size,
                kind,
                delta: event.delta,
                commitment: event.commitment.clone(),
                data,
            });
            size += 1;
            total += event.delta;
        }
        let root = merkle::root(&mut nodes, size as u64)?;
        let done: Vec<i32> = queued.iter().map(|e| e.id).collect();
        dblog::append(conn, petition_id, &appended, &new_nodes, &done)?;
        let checkpoint = Checkpoint {
            origin,
            size: size as u64,
            root,
            extensions: vec![format!("total {total}")],
        };
        dblog::add_checkpoint(
            conn,
            petition_id,
            &dblog::StoredCheckpoint {
                size,
                total,
                root: root.to_vec(),
                note: signer.key().sign(&checkpoint),
                created_at: now,
            },
        )?;
        Ok(appended.len())
    })
}

/// Refuses to continue a log whose checkpoint `note` another key signed: a server or command
/// run with another key (a missing `log_key_file`, another `base_url`) must not append
/// checkpoints that the published key does not verify.
fn signed_by(signer: &LogSigner, note: &str) -> Result<(), UseCaseError> {
    if signer.signed(note) {
        return Ok(());
    }
    Err(UseCaseError::Db(db::DbError::Other(format!(
        "the log's checkpoints are not signed by this configuration's key {}: run with the \
         server's configuration (key_file, log_key_file, base_url)",
        signer.vkey()
    ))))
}

/// Brings a petition's log up to date now: starts it if it has not started, then appends
/// everything queued and signs a checkpoint, as the sequencer's next tick would. A delivery
/// package calls it so that it carries the count of the moment it is made. If the sequencer
/// appends at the same moment, one of the two rolls back; that batch is retried.
pub fn flush(
    conn: &mut DbConnection,
    petition_id: i32,
    signer: &LogSigner,
    keys: &Keys,
) -> Result<(), UseCaseError> {
    // This petition's log, or, before it starts, the site's latest: continued only by its key.
    let latest = match dblog::latest(conn, petition_id)? {
        Some(c) => Some(c.note),
        None => dblog::latest_note_of_site(conn)?,
    };
    if let Some(note) = latest {
        signed_by(signer, &note)?;
    }
    start(conn, petition_id, signer, keys)?;
    let mut collisions = 0;
    loop {
        match sequence(conn, petition_id, signer, db::now()) {
            Ok(n) if (n as i64) < MAX_BATCH => return Ok(()),
            Ok(_) => {}
            Err(UseCaseError::Db(db::DbError::Query(e)))
                if db::is_unique_violation(&e) && collisions < 5 =>
            {
                collisions += 1;
                tracing::info!(error = %e, "log flush met the sequencer; retrying");
                std::thread::sleep(std::time::Duration::from_millis(50 * collisions));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Keeps witnesses' cosignatures of the petition's checkpoint of `size` (each `(verifier key,
/// signature line)`, already checked against a witness the site trusts), in one transaction:
/// the petition then shows that checkpoint as witnessed.
pub fn cosign(
    conn: &mut DbConnection,
    petition_id: i32,
    size: i64,
    lines: &[(String, String)],
    now: NaiveDateTime,
) -> Result<super::Done<()>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let petition = lock_petition(conn, petition_id)?;
        for (vkey, line) in lines {
            dblog::add_cosignature(conn, petition_id, size, vkey, line, now)?;
        }
        Ok(super::Done::new(
            (),
            super::Changes::petition(&petition.slug),
        ))
    })
}
