//! What a handler takes from a request before it runs: the organizer's session and the
//! reader's language.

pub mod auth;
pub mod lang;
