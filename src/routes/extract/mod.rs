//! What a handler takes from a request before it runs: the organizer's session, who may do
//! what (guards), and the reader's language.

pub mod auth;
pub mod form;
pub mod guards;
pub mod lang;
pub mod upload;
