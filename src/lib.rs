//! undersigned: a self-hosted petition and signature-collection web app.

rust_i18n::i18n!("locales", fallback = "en");

pub mod app;
pub mod card;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod email;
pub mod export;
pub mod factors;
pub mod files;
pub mod i18n;
pub mod keys;
pub mod live;
pub mod log;
pub mod markdown;
pub mod metrics;
pub mod package;
pub mod qr;
pub mod ratelimit;
pub mod routes;
pub mod sealed;
pub mod secrets;
pub mod services;
pub mod telemetry;
pub mod usecases;
