//! A signer's receipt: where their signature stands in its petition's signed log, found by the
//! receipt code only its signer holds.

use diesel::prelude::*;

use super::UseCaseError;
use crate::db::{self, DbConnection, log as dblog, schema::signatures};
use crate::i18n::Lang;
use crate::log::entry::{EventKind, receipt_hash};
use crate::log::merkle;
use crate::log::note::Verifier;

/// Where a signature stands in its petition's log.
pub struct Standing {
    /// The petition's title in the reader's language if it has a version in it, else the
    /// original's, with the language it is in (for a page; `None` for the JSON).
    pub petition_title: Option<(Lang, String)>,
    /// The entry that first counted it, with its data, and the proof of it in `checkpoint`.
    pub entry: Option<(i64, String, Vec<merkle::Hash>)>,
    /// The latest event about it.
    pub last: Option<EventKind>,
    pub checkpoint: Option<dblog::StoredCheckpoint>,
}

/// The standing of the signature whose receipt code is `code` on the petition `slug`; `None`
/// for a code that is malformed, unknown there, or of a signature never counted.
pub fn standing(
    c: &mut DbConnection,
    slug: &str,
    code: &str,
    lang: Option<Lang>,
) -> Result<Option<Standing>, UseCaseError> {
    if code.len() != 32 || !code.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let hash = receipt_hash(&code.to_ascii_lowercase());
    let Some(p) = db::petitions::find_by_slug(c, slug)? else {
        return Ok(None);
    };
    let commitment: Option<Option<String>> = signatures::table
        .filter(signatures::receipt_hash.eq(&hash))
        .filter(signatures::petition_id.eq(p.id))
        .select(signatures::commitment)
        .first(c)
        .optional()?;
    let Some(Some(commitment)) = commitment else {
        return Ok(None);
    };
    let events = dblog::entries_of(c, p.id, &commitment)?;
    let checkpoint = dblog::latest(c, p.id)?;
    let last = events.last().and_then(|(_, k)| EventKind::from_stored(k));
    let first = events
        .iter()
        .find(|(_, k)| k == EventKind::Confirmed.as_str() || k == EventKind::Restored.as_str())
        .map(|(i, _)| *i);
    let entry = match (first, &checkpoint) {
        (Some(index), Some(cp)) if index < cp.size => {
            let data = dblog::entries(c, p.id, index, index + 1)?
                .pop()
                .map(|(_, d)| d)
                .unwrap_or_default();
            let proof = dblog::inclusion_proof(c, p.id, index as u64, cp.size as u64)?;
            Some((index, data, proof))
        }
        _ => None,
    };
    let petition_title = lang
        .map(|l| db::petitions::title_in(c, p.id, Some(l)))
        .transpose()?;
    Ok(Some(Standing {
        petition_title,
        entry,
        last,
        checkpoint,
    }))
}

impl Standing {
    /// Whether the server itself can check the receipt: the proof leads to the checkpoint's
    /// root and the checkpoint is signed by the key `vkey` names (this site's).
    pub fn verified(&self, vkey: &str) -> bool {
        let (Some((index, data, proof)), Some(cp)) = (&self.entry, &self.checkpoint) else {
            return false;
        };
        let Ok(root) = <[u8; 32]>::try_from(cp.root.as_slice()) else {
            return false;
        };
        let signed = Verifier::parse(vkey)
            .and_then(|v| v.open(&cp.note))
            .is_ok_and(|c| c.root == root && c.size == cp.size as u64);
        signed
            && merkle::verify_inclusion(
                *index as u64,
                cp.size as u64,
                &merkle::leaf_hash(data.as_bytes()),
                proof,
                &root,
            )
    }
}
