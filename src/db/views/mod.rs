//! Read models: what pages, feeds and exports show, joined from several tables (Lemmy's
//! `db_views`). Reading only; every write is a table module's, called by a use case.

pub mod export;
pub mod petition;
pub mod signers;
pub mod stats;
