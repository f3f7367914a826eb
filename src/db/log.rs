//! The signed log's tables: queued events, entries, the Merkle tree's perfect subtrees,
//! checkpoints, and the sequencer's lease.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    log_checkpoints, log_cosignatures, log_entries, log_nodes, log_pending, log_sequencer,
    petitions, signatures,
};
use super::{DbConnection, DbError};
use crate::log::entry::EventKind;
use crate::log::merkle::{Hash, Subtrees};

/// An event that changes a petition's public total, queued for the sequencer.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub petition_id: i32,
    pub kind: EventKind,
    pub delta: i64,
    pub commitment: Option<String>,
    pub batch: Option<i32>,
    /// For a confirmation: the tag that lets the signer's receipt recognise this entry.
    pub receipt: Option<String>,
    pub at: NaiveDateTime,
}

/// Queues events, in the caller's transaction (step 4 of the lock order: insert only).
pub fn record(conn: &mut DbConnection, events: &[NewEvent]) -> Result<(), DbError> {
    for chunk in events.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    log_pending::petition_id.eq(e.petition_id),
                    log_pending::kind.eq(e.kind.as_str()),
                    log_pending::delta.eq(e.delta),
                    log_pending::commitment.eq(e.commitment.as_deref()),
                    log_pending::batch.eq(e.batch),
                    log_pending::receipt.eq(e.receipt.as_deref()),
                    log_pending::created_at.eq(e.at),
                )
            })
            .collect();
        crate::with_backend!(conn, |c| diesel::insert_into(log_pending::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// A queued event.
#[derive(Clone, Debug, Queryable)]
pub struct Pending {
    pub id: i32,
    pub petition_id: i32,
    pub kind: String,
    pub delta: i64,
    pub commitment: Option<String>,
    pub batch: Option<i32>,
    pub receipt: Option<String>,
    pub created_at: NaiveDateTime,
}

/// The oldest `limit` queued events of a petition.
pub fn pending(
    conn: &mut DbConnection,
    petition_id: i32,
    limit: i64,
) -> Result<Vec<Pending>, DbError> {
    Ok(log_pending::table
        .filter(log_pending::petition_id.eq(petition_id))
        .order(log_pending::id.asc())
        .limit(limit)
        .select((
            log_pending::id,
            log_pending::petition_id,
            log_pending::kind,
            log_pending::delta,
            log_pending::commitment,
            log_pending::batch,
            log_pending::receipt,
            log_pending::created_at,
        ))
        .load(conn)?)
}

/// Petitions with queued events.
pub fn petitions_with_pending(conn: &mut DbConnection) -> Result<Vec<i32>, DbError> {
    Ok(log_pending::table
        .select(log_pending::petition_id)
        .distinct()
        .load(conn)?)
}

/// How many events wait, in all.
pub fn pending_count(conn: &mut DbConnection) -> Result<i64, DbError> {
    Ok(log_pending::table.count().get_result(conn)?)
}

/// Petitions whose log was started but has no checkpoint yet (its first round failed).
pub fn started_without_checkpoint(conn: &mut DbConnection) -> Result<Vec<i32>, DbError> {
    Ok(petitions::table
        .filter(petitions::log_started.eq(true))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            log_checkpoints::table.filter(log_checkpoints::petition_id.eq(petitions::id)),
        )))
        .select(petitions::id)
        .load(conn)?)
}

/// Petitions whose log has not been started.
pub fn unstarted(conn: &mut DbConnection) -> Result<Vec<i32>, DbError> {
    Ok(petitions::table
        .filter(petitions::log_started.eq(false))
        .select(petitions::id)
        .load(conn)?)
}

/// Petitions whose log has not started a minute after they were created (id and title): the
/// sequencer starts a new petition's log within an interval, so one still waiting cannot start
/// (a counted signature without a commitment, a salt that does not open), and every count it
/// shows goes unsigned until someone acts.
pub fn stuck(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Vec<(i32, String)>, DbError> {
    Ok(petitions::table
        .filter(petitions::log_started.eq(false))
        .filter(petitions::created_at.lt(now - chrono::TimeDelta::minutes(1)))
        .order(petitions::id.asc())
        .select((petitions::id, petitions::title))
        .load(conn)?)
}

/// Takes (or renews) the sequencer's lease for `holder` until `until`; `false` while another
/// holder's lease runs.
pub fn take_lease(
    conn: &mut DbConnection,
    holder: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<bool, DbError> {
    let taken = diesel::update(
        log_sequencer::table.filter(log_sequencer::id.eq(1)).filter(
            log_sequencer::lease_until
                .lt(now)
                .or(log_sequencer::holder.eq(holder)),
        ),
    )
    .set((
        log_sequencer::holder.eq(holder),
        log_sequencer::lease_until.eq(until),
    ))
    .execute(conn)?;
    Ok(taken == 1)
}

/// A signed checkpoint as stored.
#[derive(Clone, Debug, Queryable)]
pub struct StoredCheckpoint {
    pub size: i64,
    pub total: i64,
    pub root: Vec<u8>,
    pub note: String,
    pub created_at: NaiveDateTime,
}

/// The latest checkpoint of a petition's log.
pub fn latest(
    conn: &mut DbConnection,
    petition_id: i32,
) -> Result<Option<StoredCheckpoint>, DbError> {
    Ok(log_checkpoints::table
        .filter(log_checkpoints::petition_id.eq(petition_id))
        .order(log_checkpoints::size.desc())
        .select((
            log_checkpoints::size,
            log_checkpoints::total,
            log_checkpoints::root,
            log_checkpoints::note,
            log_checkpoints::created_at,
        ))
        .first(conn)
        .optional()?)
}

/// The signed note of a petition's checkpoint at `size` entries.
pub fn checkpoint_at(
    conn: &mut DbConnection,
    petition_id: i32,
    size: i64,
) -> Result<Option<StoredCheckpoint>, DbError> {
    Ok(log_checkpoints::table
        .filter(log_checkpoints::petition_id.eq(petition_id))
        .filter(log_checkpoints::size.eq(size))
        .select((
            log_checkpoints::size,
            log_checkpoints::total,
            log_checkpoints::root,
            log_checkpoints::note,
            log_checkpoints::created_at,
        ))
        .first(conn)
        .optional()?)
}

/// Stores a witness's cosignature line of the checkpoint at `size` (once per witness).
pub fn add_cosignature(
    conn: &mut DbConnection,
    petition_id: i32,
    size: i64,
    witness: &str,
    line: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let row = (
        log_cosignatures::petition_id.eq(petition_id),
        log_cosignatures::size.eq(size),
        log_cosignatures::witness.eq(witness),
        log_cosignatures::line.eq(line),
        log_cosignatures::created_at.eq(now),
    );
    crate::with_backend!(conn, |c| diesel::insert_into(log_cosignatures::table)
        .values(&row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// The cosignature lines of the checkpoint at `size`, by witness name.
pub fn cosignatures(
    conn: &mut DbConnection,
    petition_id: i32,
    size: i64,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(log_cosignatures::table
        .filter(log_cosignatures::petition_id.eq(petition_id))
        .filter(log_cosignatures::size.eq(size))
        .order(log_cosignatures::witness.asc())
        .select((log_cosignatures::witness, log_cosignatures::line))
        .load(conn)?)
}

/// The size of the newest checkpoint of a petition that a witness cosigned.
pub fn latest_cosigned(conn: &mut DbConnection, petition_id: i32) -> Result<Option<i64>, DbError> {
    Ok(log_cosignatures::table
        .filter(log_cosignatures::petition_id.eq(petition_id))
        .select(diesel::dsl::max(log_cosignatures::size))
        .first::<Option<i64>>(conn)?)
}

/// A checkpoint's note with its cosignature lines added after the site's own.
pub fn with_cosignatures(note: &str, lines: &[(String, String)]) -> String {
    let mut out = note.to_string();
    for (_, line) in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The newest checkpoint of any petition's log on this site (all are signed by one key).
pub fn latest_note_of_site(conn: &mut DbConnection) -> Result<Option<String>, DbError> {
    Ok(log_checkpoints::table
        .order(log_checkpoints::id.desc())
        .select(log_checkpoints::note)
        .first(conn)
        .optional()?)
}

/// Stores a signed checkpoint.
pub fn add_checkpoint(
    conn: &mut DbConnection,
    petition_id: i32,
    c: &StoredCheckpoint,
) -> Result<(), DbError> {
    diesel::insert_into(log_checkpoints::table)
        .values((
            log_checkpoints::petition_id.eq(petition_id),
            log_checkpoints::size.eq(c.size),
            log_checkpoints::total.eq(c.total),
            log_checkpoints::root.eq(&c.root),
            log_checkpoints::note.eq(&c.note),
            log_checkpoints::created_at.eq(c.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A new entry and the subtrees it completes.
pub struct Appended {
    pub idx: i64,
    pub kind: EventKind,
    pub delta: i64,
    pub commitment: Option<String>,
    pub data: String,
}

/// Stores entries and subtree hashes, and removes the events they came from.
pub fn append(
    conn: &mut DbConnection,
    petition_id: i32,
    entries: &[Appended],
    nodes: &[(u32, u64, Hash)],
    done: &[i32],
) -> Result<(), DbError> {
    for chunk in entries.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    log_entries::petition_id.eq(petition_id),
                    log_entries::idx.eq(e.idx),
                    log_entries::kind.eq(e.kind.as_str()),
                    log_entries::delta.eq(e.delta),
                    log_entries::commitment.eq(e.commitment.as_deref()),
                    log_entries::data.eq(&e.data),
                )
            })
            .collect();
        crate::with_backend!(conn, |c| diesel::insert_into(log_entries::table)
            .values(&rows)
            .execute(c))?;
    }
    for chunk in nodes.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(level, idx, hash)| {
                (
                    log_nodes::petition_id.eq(petition_id),
                    log_nodes::level.eq(*level as i32),
                    log_nodes::idx.eq(*idx as i64),
                    log_nodes::hash.eq(hash.to_vec()),
                )
            })
            .collect();
        crate::with_backend!(conn, |c| diesel::insert_into(log_nodes::table)
            .values(&rows)
            .execute(c))?;
    }
    for chunk in done.chunks(500) {
        diesel::delete(log_pending::table.filter(log_pending::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(())
}

/// Entries `[start, end)` of a petition's log: index and data.
pub fn entries(
    conn: &mut DbConnection,
    petition_id: i32,
    start: i64,
    end: i64,
) -> Result<Vec<(i64, String)>, DbError> {
    Ok(log_entries::table
        .filter(log_entries::petition_id.eq(petition_id))
        .filter(log_entries::idx.ge(start))
        .filter(log_entries::idx.lt(end))
        .order(log_entries::idx.asc())
        .select((log_entries::idx, log_entries::data))
        .load(conn)?)
}

/// The entries that name a commitment, in log order: index and kind.
pub fn entries_of(
    conn: &mut DbConnection,
    petition_id: i32,
    commitment: &str,
) -> Result<Vec<(i64, String)>, DbError> {
    Ok(log_entries::table
        .filter(log_entries::petition_id.eq(petition_id))
        .filter(log_entries::commitment.eq(commitment))
        .order(log_entries::idx.asc())
        .select((log_entries::idx, log_entries::kind))
        .load(conn)?)
}

/// The stored subtrees of one petition's log, read as a proof or a root needs them.
pub struct Nodes<'a> {
    pub conn: &'a mut DbConnection,
    pub petition_id: i32,
    /// Subtrees already at hand (just computed, or read before).
    pub cache: HashMap<(u32, u64), Hash>,
}

impl Subtrees for Nodes<'_> {
    type Error = DbError;

    fn perfect(&mut self, level: u32, index: u64) -> Result<Hash, DbError> {
        if let Some(h) = self.cache.get(&(level, index)) {
            return Ok(*h);
        }
        let bytes: Vec<u8> = log_nodes::table
            .filter(log_nodes::petition_id.eq(self.petition_id))
            .filter(log_nodes::level.eq(level as i32))
            .filter(log_nodes::idx.eq(index as i64))
            .select(log_nodes::hash)
            .first(self.conn)?;
        let h: Hash = bytes
            .try_into()
            .map_err(|_| DbError::Other(format!("log node {level}/{index} is not 32 bytes")))?;
        self.cache.insert((level, index), h);
        Ok(h)
    }
}

impl Nodes<'_> {
    /// A petition's stored subtrees, read as needed.
    pub fn of(conn: &mut DbConnection, petition_id: i32) -> Nodes<'_> {
        Nodes {
            conn,
            petition_id,
            cache: HashMap::new(),
        }
    }

    /// Reads `keys` into the cache with one query (levels × indices, a small superset).
    pub fn prefetch(&mut self, keys: &[(u32, u64)]) -> Result<(), DbError> {
        let wanted: std::collections::HashSet<(u32, u64)> = keys.iter().copied().collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut levels: Vec<i32> = wanted.iter().map(|(l, _)| *l as i32).collect();
        let mut idxs: Vec<i64> = wanted.iter().map(|(_, i)| *i as i64).collect();
        levels.sort_unstable();
        levels.dedup();
        idxs.sort_unstable();
        idxs.dedup();
        let rows: Vec<(i32, i64, Vec<u8>)> = log_nodes::table
            .filter(log_nodes::petition_id.eq(self.petition_id))
            .filter(log_nodes::level.eq_any(levels))
            .filter(log_nodes::idx.eq_any(idxs))
            .select((log_nodes::level, log_nodes::idx, log_nodes::hash))
            .load(self.conn)?;
        for (level, idx, hash) in rows {
            let key = (level as u32, idx as u64);
            if let (true, Ok(h)) = (wanted.contains(&key), Hash::try_from(hash)) {
                self.cache.insert(key, h);
            }
        }
        Ok(())
    }
}

/// The RFC 9162 inclusion proof of entry `index` in the tree of `size`, read in one query.
pub fn inclusion_proof(
    conn: &mut DbConnection,
    petition_id: i32,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, DbError> {
    let mut nodes = Nodes::of(conn, petition_id);
    nodes.prefetch(&crate::log::merkle::subtrees_read(|r| {
        crate::log::merkle::inclusion_proof(r, index, size)
    }))?;
    crate::log::merkle::inclusion_proof(&mut nodes, index, size)
}

/// The RFC 9162 consistency proof between sizes `first` and `second`, read in one query.
pub fn consistency_proof(
    conn: &mut DbConnection,
    petition_id: i32,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, DbError> {
    let mut nodes = Nodes::of(conn, petition_id);
    nodes.prefetch(&crate::log::merkle::subtrees_read(|r| {
        crate::log::merkle::consistency_proof(r, first, second)
    }))?;
    crate::log::merkle::consistency_proof(&mut nodes, first, second)
}

/// A signature's commitment, and its salt unless erased. Every confirmed signature has a
/// commitment: made when it is confirmed, or, for those confirmed by versions before the log,
/// when the database's personal data was sealed (`usecases::keys::seal_plaintext`, the last time
/// it was readable without the key). The salt goes with the personal data (withdrawal,
/// retention): without it nobody can test a guessed name against the commitment.
pub fn commitment_of(
    conn: &mut DbConnection,
    signature_id: i32,
) -> Result<(String, Option<String>), DbError> {
    let (commitment, salt): (Option<String>, Option<String>) = signatures::table
        .find(signature_id)
        .select((signatures::commitment, signatures::salt))
        .first(conn)?;
    match commitment {
        Some(c) => Ok((c, salt)),
        None => Err(DbError::Other(format!(
            "signature {signature_id} is confirmed but has no commitment"
        ))),
    }
}

/// When the oldest event still waiting for a checkpoint was queued: how far the signed log
/// is behind the counts.
pub fn oldest_pending(conn: &mut DbConnection) -> Result<Option<NaiveDateTime>, DbError> {
    Ok(log_pending::table
        .select(diesel::dsl::min(log_pending::created_at))
        .first(conn)?)
}
