//! Black-box tests through a spawned app: one binary, one file per feature.

mod helpers;

mod images;
mod integrity;
mod log;

mod instances;
mod manage;
mod migrate_data;
mod moderation;
mod organizers;
mod package;
mod paper;
mod sessions;

mod api_and_pages;
mod bad_input;
mod caching;
mod cli;
mod confirm;
mod countries;
mod editor;
mod factors;
mod faults;
mod group_commit;
mod hardening;
mod operations;
mod outbox;
mod privacy;
mod reach;
mod retention;
mod sign;
mod translations;
mod updates;
mod usecases;
mod withdraw;
mod witness;
