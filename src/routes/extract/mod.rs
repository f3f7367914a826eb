//! What a handler takes from a request before it runs: the organizer's session, who may do
//! what (guards), the reader's language, and the token of a link sent by email.

pub mod auth;
pub mod form;
pub mod guards;
pub mod lang;
pub mod link;
pub mod upload;
