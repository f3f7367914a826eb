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
pub mod security;
pub mod sign_in;
pub mod translations;
pub mod updates;

use actix_web::HttpResponse;

use crate::routes::see_other;

/// Back to a petition's page of the dashboard.
pub fn to_petition(slug: &str) -> HttpResponse {
    see_other(&format!("/dashboard/petitions/{slug}"))
}

/// Back to a petition's page of the dashboard, at one of its sections (`languages`).
pub fn to_petition_section(slug: &str, section: &str) -> HttpResponse {
    see_other(&format!("/dashboard/petitions/{slug}#{section}"))
}
