//! RFC 6962 / RFC 9162 (§2.1) Merkle trees: root, inclusion and consistency proofs, computed
//! from stored perfect subtrees, and their verification.
//!
//! A log stores the hash of every *perfect, aligned* subtree: level 0 holds the leaf hashes,
//! level `l` the hash of leaves `[i·2^l, (i+1)·2^l)`. Every hash a root or a proof needs is one
//! of those or is made from O(log n) of them, so a proof in a million-entry log costs about
//! forty lookups. (Crates such as `ct-merkle` keep the whole tree in memory; a log of millions
//! of entries in a database needs proofs from storage, hence this module.)

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// SHA-256 of the empty string: the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// The hash of a leaf: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Where the hashes of perfect, aligned subtrees come from (a database, or memory in tests).
pub trait Subtrees {
    type Error;
    /// The hash of leaves `[index·2^level, (index+1)·2^level)`.
    fn perfect(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// The largest power of two smaller than `n` (`n ≥ 2`): where RFC 6962 splits a tree.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[start:end]) for a range the RFC's recursion produces (aligned on its split points).
fn subtree<S: Subtrees>(s: &mut S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return s.perfect(n.trailing_zeros(), start >> n.trailing_zeros());
    }
    let k = split(n);
    Ok(node_hash(
        &subtree(s, start, start + k)?,
        &subtree(s, start + k, end)?,
    ))
}

/// The root of the tree of the first `size` leaves.
pub fn root<S: Subtrees>(s: &mut S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    subtree(s, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of size `size` (`index < size`):
/// PATH(m, D[n]) of RFC 6962 §2.1.1.
pub fn inclusion_proof<S: Subtrees>(
    s: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    fn path<S: Subtrees>(
        s: &mut S,
        m: u64,
        start: u64,
        end: u64,
        out: &mut Vec<Hash>,
    ) -> Result<(), S::Error> {
        let n = end - start;
        if n <= 1 {
            return Ok(());
        }
        let k = split(n);
        if m < k {
            path(s, m, start, start + k, out)?;
            out.push(subtree(s, start + k, end)?);
        } else {
            path(s, m - k, start + k, end, out)?;
            out.push(subtree(s, start, start + k)?);
        }
        Ok(())
    }
    let mut out = Vec::new();
    if index < size {
        path(s, index, 0, size, &mut out)?;
    }
    Ok(out)
}

/// The consistency proof between the trees of sizes `first` and `second`
/// (`0 < first ≤ second`): PROOF(m, D[n]) of RFC 6962 §2.1.2; empty when they are equal.
pub fn consistency_proof<S: Subtrees>(
    s: &mut S,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, S::Error> {
    fn subproof<S: Subtrees>(
        s: &mut S,
        m: u64,
        start: u64,
        end: u64,
        whole: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), S::Error> {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(subtree(s, start, end)?);
            }
            return Ok(());
        }
        let k = split(n);
        if m <= k {
            subproof(s, m, start, start + k, whole, out)?;
            out.push(subtree(s, start + k, end)?);
        } else {
            subproof(s, m - k, start + k, end, false, out)?;
            out.push(subtree(s, start, start + k)?);
        }
        Ok(())
    }
    let mut out = Vec::new();
    if 0 < first && first < second {
        subproof(s, first, 0, second, true, &mut out)?;
    }
    Ok(out)
}

/// RFC 9162 §2.1.3.2: whether `proof` shows the leaf with hash `leaf` at `index` in the tree
/// of `size` leaves whose root is `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: whether `proof` shows that the tree of size `second` with root
/// `second_root` extends the tree of size `first` with root `first_root`.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((head, rest)) = path.split_first() else {
        return false;
    };
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == *first_root && sr == *second_root && s == 0
}

/// The perfect-subtree hashes that appending leaf `index` (hash `leaf`) completes, lowest
/// first, as `(level, index, hash)`: the leaf itself, then every subtree it closes. `left`
/// gives an already stored perfect subtree (the left sibling of each new node).
pub fn completed_by<E>(
    index: u64,
    leaf: Hash,
    mut left: impl FnMut(u32, u64) -> Result<Hash, E>,
) -> Result<Vec<(u32, u64, Hash)>, E> {
    let mut out = vec![(0u32, index, leaf)];
    let (mut level, mut i, mut h) = (0u32, index, leaf);
    while i & 1 == 1 {
        let sibling = left(level, i - 1)?;
        h = node_hash(&sibling, &h);
        level += 1;
        i >>= 1;
        out.push((level, i, h));
    }
    Ok(out)
}

/// Records which perfect subtrees a computation reads, answering with placeholder hashes. Roots
/// and proofs choose what to read from indices alone, so a dry run with a recorder lists every
/// subtree they need, and a store can fetch them all in one query before the real run.
#[derive(Debug, Default)]
pub struct Recorder(pub Vec<(u32, u64)>);

impl Subtrees for Recorder {
    type Error = std::convert::Infallible;

    fn perfect(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        self.0.push((level, index));
        Ok([0; 32])
    }
}

/// The perfect subtrees `compute` reads (see [`Recorder`]).
pub fn subtrees_read<T>(
    compute: impl FnOnce(&mut Recorder) -> Result<T, std::convert::Infallible>,
) -> Vec<(u32, u64)> {
    let mut r = Recorder::default();
    let _ = compute(&mut r);
    r.0
}

/// The right edge of a tree being built leaf by leaf in memory: the roots of its perfect
/// subtrees, largest first. Enough to give the root at any size without keeping the leaves,
/// so a verifier recomputes the root of a million-entry log in constant memory.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    /// `(level, hash)`, levels strictly decreasing.
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl Frontier {
    /// Appends a leaf given its data.
    pub fn push(&mut self, data: &[u8]) {
        let mut level = 0;
        let mut h = leaf_hash(data);
        while let Some((top, left)) = self.stack.last().copied() {
            if top != level {
                break;
            }
            self.stack.pop();
            h = node_hash(&left, &h);
            level += 1;
        }
        self.stack.push((level, h));
        self.size += 1;
    }

    /// How many leaves it holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// MTH of the leaves so far (RFC 9162 §2.1.1): the perfect subtrees joined right to left.
    pub fn root(&self) -> Hash {
        let mut parts = self.stack.iter().rev();
        let Some((_, mut h)) = parts.next().copied() else {
            return empty_root();
        };
        for (_, left) in parts {
            h = node_hash(left, &h);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A log in memory: the stored perfect subtrees, built by [`completed_by`] as the database
    /// builds them.
    #[derive(Default)]
    struct Memory {
        nodes: HashMap<(u32, u64), Hash>,
        size: u64,
    }

    impl Memory {
        fn append(&mut self, data: &[u8]) {
            let nodes = &self.nodes;
            let new =
                completed_by::<()>(self.size, leaf_hash(data), |l, i| Ok(nodes[&(l, i)])).unwrap();
            for (l, i, h) in new {
                self.nodes.insert((l, i), h);
            }
            self.size += 1;
        }
        fn with(leaves: &[Vec<u8>]) -> Memory {
            let mut m = Memory::default();
            for l in leaves {
                m.append(l);
            }
            m
        }
    }

    impl Subtrees for Memory {
        type Error = ();
        fn perfect(&mut self, level: u32, index: u64) -> Result<Hash, ()> {
            self.nodes.get(&(level, index)).copied().ok_or(())
        }
    }

    /// MTH straight from the RFC's definition.
    fn reference_root(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn h(hex: &str) -> Hash {
        hex::decode(hex).unwrap().try_into().unwrap()
    }

    /// The test tree of the Certificate Transparency reference implementation.
    fn ct_leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|x| hex::decode(x).unwrap())
        .collect()
    }

    #[test]
    fn roots_match_the_rfc_test_vectors() {
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let mut m = Memory::with(&ct_leaves());
        for (size, want) in roots.iter().enumerate() {
            assert_eq!(root(&mut m, size as u64).unwrap(), h(want), "size {size}");
        }
    }

    #[test]
    fn proofs_match_the_rfc_test_vectors() {
        let mut m = Memory::with(&ct_leaves());
        let inclusion = [
            (
                0,
                8,
                vec![
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                vec![
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (index, size, want) in inclusion {
            let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
            assert_eq!(inclusion_proof(&mut m, index, size).unwrap(), want);
        }
        let consistency = [
            (
                1,
                8,
                vec![
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                vec![
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                vec![
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (first, second, want) in consistency {
            let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
            let got = consistency_proof(&mut m, first, second).unwrap();
            assert_eq!(got, want, "{first}..{second}");
            let (a, b) = (root(&mut m, first).unwrap(), root(&mut m, second).unwrap());
            assert!(verify_consistency(first, second, &a, &b, &got));
        }
        assert!(consistency_proof(&mut m, 1, 1).unwrap().is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Every inclusion proof verifies, against the RFC's own definition of the root, and
        /// a changed leaf, a wrong index or a shortened proof fails.
        #[test]
        fn every_inclusion_proof_verifies_and_a_changed_leaf_fails(
            leaves in proptest::collection::vec(proptest::collection::vec(0u8..=255, 0..8), 1..300),
            pick in 0usize..10_000,
        ) {
            // Distinct leaves: with two equal leaves, either index is rightly "included".
            let leaves: Vec<Vec<u8>> = leaves
                .into_iter()
                .enumerate()
                .map(|(i, l)| [&(i as u32).to_be_bytes()[..], &l].concat())
                .collect();
            let mut m = Memory::with(&leaves);
            let size = leaves.len() as u64;
            let want_root = reference_root(&leaves);
            proptest::prop_assert_eq!(root(&mut m, size).unwrap(), want_root);
            let index = (pick % leaves.len()) as u64;
            let proof = inclusion_proof(&mut m, index, size).unwrap();
            let leaf = leaf_hash(&leaves[index as usize]);
            proptest::prop_assert!(verify_inclusion(index, size, &leaf, &proof, &want_root));
            let mut changed = leaves[index as usize].clone();
            changed.push(1);
            proptest::prop_assert!(!verify_inclusion(index, size, &leaf_hash(&changed), &proof, &want_root));
            if size > 1 {
                let other = (index + 1) % size;
                proptest::prop_assert!(!verify_inclusion(other, size, &leaf, &proof, &want_root));
            }
            // (A root is only ever checked with the size its checkpoint states, so a wrong size
            // is not a case: a shortened proof is.)
            if let Some((_, shorter)) = proof.split_last() {
                proptest::prop_assert!(!verify_inclusion(index, size, &leaf, shorter, &want_root));
            }
        }

        /// Every consistency proof between two sizes verifies, and fails against a tree whose
        /// earlier part was changed.
        #[test]
        fn every_consistency_proof_verifies_and_a_rewritten_history_fails(
            leaves in proptest::collection::vec(proptest::collection::vec(0u8..=255, 0..8), 2..300),
            a in 0usize..10_000,
            b in 0usize..10_000,
        ) {
            let n = leaves.len();
            let first = 1 + a % (n - 1);
            let second = first + b % (n - first + 1);
            let mut m = Memory::with(&leaves);
            let proof = consistency_proof(&mut m, first as u64, second as u64).unwrap();
            let old = reference_root(&leaves[..first]);
            let new = reference_root(&leaves[..second]);
            proptest::prop_assert!(verify_consistency(first as u64, second as u64, &old, &new, &proof));
            let mut rewritten = leaves.clone();
            rewritten[(a / 7) % first].push(9);
            let forged = reference_root(&rewritten[..first]);
            proptest::prop_assert!(!verify_consistency(first as u64, second as u64, &forged, &new, &proof));
        }
    }

    #[test]
    fn a_dry_run_lists_exactly_the_subtrees_a_proof_reads() {
        let leaves: Vec<Vec<u8>> = (0..77u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut m = Memory::with(&leaves);
        for (index, size) in [(0, 1), (5, 77), (76, 77), (31, 64), (40, 50)] {
            let wanted = subtrees_read(|r| inclusion_proof(r, index, size));
            let mut only = Memory {
                nodes: wanted.iter().map(|k| (*k, m.nodes[k])).collect(),
                size: m.size,
            };
            assert_eq!(
                inclusion_proof(&mut only, index, size),
                inclusion_proof(&mut m, index, size)
            );
        }
        let wanted = subtrees_read(|r| consistency_proof(r, 13, 77));
        let mut only = Memory {
            nodes: wanted.iter().map(|k| (*k, m.nodes[k])).collect(),
            size: m.size,
        };
        assert_eq!(
            consistency_proof(&mut only, 13, 77),
            consistency_proof(&mut m, 13, 77)
        );
    }

    #[test]
    fn the_frontier_gives_the_reference_root_at_every_size() {
        let leaves: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut f = Frontier::default();
        assert_eq!(f.root(), empty_root());
        for n in 1..=leaves.len() {
            f.push(&leaves[n - 1]);
            assert_eq!(f.size(), n as u64);
            assert_eq!(f.root(), reference_root(&leaves[..n]), "size {n}");
        }
        assert_eq!(
            Frontier::default().root(),
            reference_root(&[]),
            "the empty tree"
        );
    }

    #[test]
    fn a_few_thousand_leaves_prove_everything() {
        let leaves: Vec<Vec<u8>> = (0..3000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut m = Memory::with(&leaves);
        for size in [1u64, 2, 3, 1023, 1024, 1025, 2999, 3000] {
            let r = root(&mut m, size).unwrap();
            assert_eq!(r, reference_root(&leaves[..size as usize]));
            for index in [0, size / 2, size - 1] {
                let p = inclusion_proof(&mut m, index, size).unwrap();
                assert!(verify_inclusion(
                    index,
                    size,
                    &leaf_hash(&leaves[index as usize]),
                    &p,
                    &r
                ));
            }
            for first in [1, size / 3 + 1, size] {
                let p = consistency_proof(&mut m, first, size).unwrap();
                let f = root(&mut m, first).unwrap();
                assert!(
                    verify_consistency(first, size, &f, &r, &p),
                    "{first}..{size}"
                );
            }
        }
    }
}
