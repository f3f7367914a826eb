//! What only an admin does: organizer accounts, their sessions, the site's logo, the audit log.

pub mod accounts;
pub mod audit;
