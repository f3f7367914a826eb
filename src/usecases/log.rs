//! Starting a petition's log and appending its queued events (the sequencer's two steps).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{UseCaseError, lock_petition};
use crate::db::schema::{paper_signatures, petitions, signatures};
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
pub fn start(
    conn: &mut DbConnection,
    petition_id: i32,
    signer: &LogSigner,
    keys: &Keys,
    now: NaiveDateTime,
) -> Result<usize, UseCaseError> {
    let started: bool = petitions::table
        .find(petition_id)
        .select(petitions::log_started)
        .first(conn)?;
    if started {
        return Ok(0);
    }
    // The slow part, a commitment read and a salt opened per signature, is done before the
    // lock, from one read of every counted signature: a petition of 42,424 signatures would
    // otherwise hold the write lock (and signing everywhere with it) for seconds. Under the
    // lock only what changed since is read again.
    let mut prepared = std::collections::HashMap::new();
    let counted: Vec<(i32, Option<String>, Option<String>)> = signatures::table
        .filter(db::signatures::counted())
        .filter(signatures::petition_id.eq(petition_id))
        .select((signatures::id, signatures::commitment, signatures::salt))
        .load(conn)?;
    for (id, commitment, salt) in counted {
        let commitment = commitment.ok_or_else(|| {
            db::DbError::Other(format!("signature {id} is confirmed but has no commitment"))
        })?;
        let salt = keys.open_salt(salt.as_deref()).map_err(db::DbError::from)?;
        prepared.insert(id, (commitment, salt));
    }
    db::write_tx(conn, |conn| {
        let petition = lock_petition(conn, petition_id)?;
        if petition.log_started {
            return Ok(0);
        }
        let counted: Vec<(i32, Option<NaiveDateTime>)> = signatures::table
            .filter(db::signatures::counted())
            .filter(signatures::petition_id.eq(petition_id))
            .order(signatures::number.asc())
            .select((signatures::id, signatures::confirmed_at))
            .load(conn)?;
        let mut events = Vec::with_capacity(counted.len());
        for (id, confirmed_at) in counted {
            let (commitment, salt) = match prepared.remove(&id) {
                Some(ready) => ready,
                // Counted since the read above.
                None => {
                    let (commitment, salt) = dblog::commitment_of(conn, id)?;
                    let salt = keys.open_salt(salt.as_deref()).map_err(db::DbError::from)?;
                    (commitment, salt)
                }
            };
            events.push(dblog::NewEvent {
                petition_id,
                kind: EventKind::Confirmed,
                delta: 1,
                commitment: Some(commitment),
                batch: None,
                receipt: salt.map(|salt| receipt_tag(&receipt_code(&salt))),
                at: confirmed_at.unwrap_or(now),
            });
        }
        let paper: Vec<(i32, i32, NaiveDateTime)> = paper_signatures::table
            .filter(paper_signatures::petition_id.eq(petition_id))
            .order(paper_signatures::id.asc())
            .select((
                paper_signatures::id,
                paper_signatures::count,
                paper_signatures::created_at,
            ))
            .load(conn)?;
        for (batch, count, at) in paper {
            events.push(dblog::NewEvent {
                petition_id,
                kind: EventKind::Paper,
                delta: i64::from(count),
                commitment: None,
                batch: Some(batch),
                receipt: None,
                at,
            });
        }
        dblog::record(conn, &events)?;
        diesel::update(petitions::table.find(petition_id))
            .set((
                petitions::log_started.eq(true),
                petitions::log_origin.eq(signer.origin(&petition.slug)),
            ))
            .execute(conn)?;
        Ok(events.len())
    })
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
    start(conn, petition_id, signer, keys, db::now())?;
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
