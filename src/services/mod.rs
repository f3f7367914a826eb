//! Long-lived parts of a running server that hold no HTTP: they use the use cases and the
//! store, and the web layer and the commands use them.

pub mod network;
pub mod password;
pub mod sequencer;
pub mod sign_writer;
