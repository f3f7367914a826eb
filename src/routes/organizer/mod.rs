//! What an organizer does, under the dashboard's guarded scope (and signing in to it).

pub mod colleagues;
pub mod dashboard;
pub mod delivery;
pub mod editor;
pub mod images;
pub mod manage;
pub mod moderation;
pub mod package;
pub mod paper;
pub mod reset;
pub mod sign_in;
pub mod translations;
pub mod updates;
