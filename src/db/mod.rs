//! Database access, in three parts: the connection ([`connection`]: one diesel codebase behind
//! a [`DbConnection`] enum, an r2d2 pool, embedded migrations, transactions, and [`run`] to call
//! synchronous diesel from async code); the tables, one module each, with the queries that
//! write and find their rows; and the read models ([`views`]) that join tables into what a page,
//! a feed or an export shows. SQL, never policy: the rules are the use cases'.

pub mod audit;
mod connection;
pub mod copy;
pub mod deliveries;
pub mod images;
pub mod log;
pub mod moderation;
pub mod network_seeds;
pub mod organizers;
pub mod outbox;
pub mod paper;
pub mod petitions;
pub mod schema;
pub mod sessions;
pub mod signatures;
pub mod site;
pub mod snapshots;
pub mod updates;
pub mod views;

pub use connection::*;
