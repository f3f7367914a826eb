//! The signed log of each petition: every event that changes the public total, appended in
//! batches by one sequencer, in an RFC 6962 Merkle tree, under signed C2SP checkpoints.

pub mod merkle;
pub mod note;
