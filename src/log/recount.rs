//! Replaying a log from its entries alone: the Merkle root, the total, and which signatures
//! and paper batches count at the end. The delivery package is built from it and
//! `undersigned verify` checks a package with it, so both read a log the same way.

use std::collections::{BTreeMap, HashMap};

use super::entry::{Entry, EventKind};
use super::merkle::{Frontier, Hash};

/// A commitment as entries and lists write it: exactly 64 lower-case hex digits (one
/// spelling per commitment, so a list cannot name one signature twice in two spellings).
fn commitment_bytes(c: &str) -> Option<[u8; 32]> {
    if c.len() != 64
        || !c
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    <[u8; 32]>::try_from(hex::decode(c).ok()?).ok()
}

/// Where a signature stands after the entries read so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    Counted,
    Invalidated,
    Withdrawn,
}

/// The state of a log replayed entry by entry.
#[derive(Debug, Default)]
pub struct Recount {
    frontier: Frontier,
    total: i64,
    signatures: HashMap<[u8; 32], Standing>,
    /// Paper batches added and not removed: batch → count.
    paper: BTreeMap<i32, i64>,
}

impl Recount {
    /// Reads the next entry (its exact leaf bytes). An entry that does not follow from the ones
    /// before (a signature counted twice, a removal of what was never added, a delta that does
    /// not match its kind) is refused with the reason; the entry is then not counted.
    pub fn add(&mut self, data: &[u8]) -> Result<(), String> {
        let index = self.frontier.size();
        let entry: Entry = serde_json::from_slice(data)
            .map_err(|e| format!("entry {index} is not a log entry: {e}"))?;
        self.apply(&entry)
            .map_err(|why| format!("entry {index} ({}): {why}", entry.kind.as_str()))?;
        self.frontier.push(data);
        self.total += entry.delta;
        Ok(())
    }

    fn apply(&mut self, e: &Entry) -> Result<(), String> {
        if e.kind.is_signature() {
            let commitment = e
                .commitment
                .as_deref()
                .and_then(commitment_bytes)
                .ok_or("no commitment of 64 lower-case hex digits")?;
            let before = self.signatures.get(&commitment).copied();
            let (after, delta) = match (e.kind, before) {
                (EventKind::Confirmed, None) => (Standing::Counted, 1),
                // A signature invalidated before the log began enters it when restored.
                (EventKind::Restored, None | Some(Standing::Invalidated)) => (Standing::Counted, 1),
                (EventKind::Invalidated, Some(Standing::Counted)) => (Standing::Invalidated, -1),
                (EventKind::Withdrawn, Some(Standing::Counted)) => (Standing::Withdrawn, -1),
                (EventKind::Withdrawn, Some(Standing::Invalidated)) => (Standing::Withdrawn, 0),
                (_, before) => {
                    return Err(format!(
                        "the signature was {}",
                        match before {
                            None => "not in the log",
                            Some(Standing::Counted) => "already counted",
                            Some(Standing::Invalidated) => "invalidated",
                            Some(Standing::Withdrawn) => "withdrawn",
                        }
                    ));
                }
            };
            if e.delta != delta {
                return Err(format!("delta {} where {delta} was due", e.delta));
            }
            self.signatures.insert(commitment, after);
        } else {
            let batch = e.batch.ok_or("no batch")?;
            match e.kind {
                EventKind::Paper => {
                    if e.delta <= 0 {
                        return Err(format!("delta {} is not a count of signatures", e.delta));
                    }
                    if self.paper.insert(batch, e.delta).is_some() {
                        return Err(format!("batch {batch} added twice"));
                    }
                }
                _ => {
                    let count = self
                        .paper
                        .remove(&batch)
                        .ok_or_else(|| format!("batch {batch} was not in the count"))?;
                    if e.delta != -count {
                        self.paper.insert(batch, count);
                        return Err(format!("delta {} where {} was due", e.delta, -count));
                    }
                }
            }
        }
        Ok(())
    }

    /// Entries read.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The sum of the deltas read.
    pub fn total(&self) -> i64 {
        self.total
    }

    /// The Merkle root of the entries read.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Whether the signature with this commitment (hex) counts now.
    pub fn counts(&self, commitment: &str) -> bool {
        commitment_bytes(commitment)
            .is_some_and(|c| self.signatures.get(&c) == Some(&Standing::Counted))
    }

    /// How many signatures count now.
    pub fn counted_signatures(&self) -> i64 {
        self.signatures
            .values()
            .filter(|s| **s == Standing::Counted)
            .count() as i64
    }

    /// The paper batches that count now: batch → count.
    pub fn paper(&self) -> &BTreeMap<i32, i64> {
        &self.paper
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::entry::Entry;
    use proptest::prelude::*;

    fn entry(kind: EventKind, delta: i64, commitment: Option<u8>, batch: Option<i32>) -> Vec<u8> {
        Entry {
            kind,
            delta,
            commitment: commitment.map(|c| hex::encode([c; 32])),
            batch,
            receipt: None,
            time: "2026-11-23T10:00Z".into(),
        }
        .to_json()
        .into_bytes()
    }

    #[test]
    fn a_history_recounts_to_the_signatures_and_paper_that_count() {
        let mut r = Recount::default();
        for data in [
            entry(EventKind::Confirmed, 1, Some(1), None),
            entry(EventKind::Confirmed, 1, Some(2), None),
            entry(EventKind::Invalidated, -1, Some(1), None),
            entry(EventKind::Paper, 40, None, Some(7)),
            entry(EventKind::Restored, 1, Some(1), None),
            entry(EventKind::Withdrawn, -1, Some(2), None),
            entry(EventKind::Restored, 1, Some(3), None),
            entry(EventKind::Paper, 5, None, Some(8)),
            entry(EventKind::PaperRemoved, -5, None, Some(8)),
        ] {
            r.add(&data).unwrap();
        }
        assert_eq!(r.total(), 42);
        assert_eq!(r.counted_signatures(), 2);
        assert!(r.counts(&hex::encode([1; 32])));
        assert!(!r.counts(&hex::encode([2; 32])));
        assert!(r.counts(&hex::encode([3; 32])));
        assert_eq!(r.paper().iter().collect::<Vec<_>>(), vec![(&7, &40)]);
        assert_eq!(r.size(), 9);
    }

    #[test]
    fn entries_that_do_not_follow_are_refused_and_not_counted() {
        let mut r = Recount::default();
        r.add(&entry(EventKind::Confirmed, 1, Some(1), None))
            .unwrap();
        let refused = [
            (
                entry(EventKind::Confirmed, 1, Some(1), None),
                "already counted",
            ),
            (entry(EventKind::Confirmed, 2, Some(9), None), "delta 2"),
            (
                entry(EventKind::Invalidated, -1, Some(9), None),
                "not in the log",
            ),
            (entry(EventKind::Confirmed, 1, None, None), "no commitment"),
            (
                format!(
                    "{{\"kind\":\"confirmed\",\"delta\":1,\"commitment\":\"{}\",\"time\":\"x\"}}",
                    "AB".repeat(32)
                )
                .into_bytes(),
                "lower-case",
            ),
            (
                entry(EventKind::PaperRemoved, -3, None, Some(4)),
                "not in the count",
            ),
            (entry(EventKind::Paper, -3, None, Some(4)), "not a count"),
            (
                b"{\"kind\":\"forged\",\"delta\":1}".to_vec(),
                "not a log entry",
            ),
        ];
        for (data, why) in refused {
            let e = r.add(&data).unwrap_err();
            assert!(e.contains(why), "{e}");
            assert!(e.starts_with("entry 1"), "{e}");
        }
        assert_eq!((r.total(), r.size()), (1, 1));
    }

    proptest! {
        /// Whatever the order of valid events, the total is the signatures that count plus the
        /// paper that counts, and the root is the tree's root over exactly the entries read.
        #[test]
        fn the_total_is_what_counts(ops in proptest::collection::vec((0u8..4, 0u8..12), 0..200)) {
            let mut r = Recount::default();
            let mut leaves = crate::log::merkle::Frontier::default();
            for (op, who) in ops {
                let data = match op {
                    0 => entry(EventKind::Confirmed, 1, Some(who), None),
                    1 => entry(EventKind::Invalidated, -1, Some(who), None),
                    2 => entry(EventKind::Restored, 1, Some(who), None),
                    _ => entry(EventKind::Paper, i64::from(who) + 1, None, Some(i32::from(who))),
                };
                if r.add(&data).is_ok() {
                    leaves.push(&data);
                }
            }
            let paper: i64 = r.paper().values().sum();
            prop_assert_eq!(r.total(), r.counted_signatures() + paper);
            prop_assert_eq!(r.root(), leaves.root());
            prop_assert_eq!(r.size(), leaves.size());
        }
    }
}
