//! What only an admin does: organizer accounts, their sessions, the site's logo.

pub mod accounts;
