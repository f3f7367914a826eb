//! Use cases: one function per thing a person does. Handlers parse input, call one of these, and
//! render; they never string `db::*` calls together themselves.
//!
//! Every use case that writes is one transaction ([`db::write_tx`]: `BEGIN IMMEDIATE` on
//! SQLite, so it holds the write lock from its first statement) and writes its audit row inside
//! it. Counters change by the rows an `UPDATE … RETURNING` (or an affected-row count) reports,
//! never by what was read earlier.
//!
//! **Lock order** (PostgreSQL takes row locks; SQLite has one write lock and needs none):
//! 1. the petition row ([`lock_petition`]), by every use case that changes a petition's counts,
//!    state or text; so changes to one petition are serialised, and its state (open, closed) is
//!    read under the lock;
//! 2. signature rows (`UPDATE … RETURNING`);
//! 3. `country_counts` rows, in country-code order (`db::signatures::add_to_countries`);
//! 4. rows only ever inserted: confirmation links, email jobs, paper batches, snapshots, audit.
//!
//! Signing takes no lock on the petition: it only inserts (and adjusts its own signature's
//! email cap), and whether it counts is decided when it is confirmed, under the lock.

pub mod deliveries;
pub mod exports;
pub mod factors;
pub mod keys;
pub mod log;
pub mod moderation;
pub mod organizers;
pub mod paper;
pub mod petitions;
pub mod receipts;
pub mod retention;
pub mod sessions;
pub mod signing;
pub mod site;
pub mod updates;
pub mod withdrawal;

use diesel::prelude::*;

use crate::db::petitions::Petition;
use crate::db::schema::petitions as petitions_table;
use crate::db::{self, DbConnection, DbError, Pool};

/// Why a use case did nothing. A refusal rolls its transaction back.
#[derive(Debug, thiserror::Error)]
pub enum UseCaseError {
    /// A rule says no; its key names the message a person sees (a 409 page).
    #[error("refused: {0}")]
    Refused(crate::domain::Refusal),
    #[error("not found")]
    NotFound,
    /// Too much at once: nothing was done; the person is asked to try again in a moment.
    #[error("busy: try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// Nothing was stored, for a reason that passes (the writer stopping, no connection).
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for UseCaseError {
    fn from(e: diesel::result::Error) -> UseCaseError {
        UseCaseError::Db(e.into())
    }
}

/// What a use case changed that the rest of the process must hear about. Use cases say it;
/// one place acts on it (the web floor's `AppState::act`): pages and JSON of a changed
/// petition are read again at once, and a queued email wakes the mailer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[must_use]
pub struct Changes {
    /// Petitions (by slug) whose public state moved: count, text, status, image, paper.
    pub petitions: Vec<String>,
    /// Something every page shows (the site's logo).
    pub site: bool,
    /// Emails were queued in the outbox.
    pub emails: bool,
}

impl Changes {
    /// Nothing anyone else must hear about.
    pub fn none() -> Changes {
        Changes::default()
    }

    /// The public state of the petition `slug` moved.
    pub fn petition(slug: &str) -> Changes {
        Changes {
            petitions: vec![slug.to_string()],
            ..Changes::default()
        }
    }

    /// The same, and emails were queued if `emails`.
    pub fn with_emails(mut self, emails: bool) -> Changes {
        self.emails |= emails;
        self
    }
}

/// A use case's result and what it changed.
#[derive(Debug)]
#[must_use]
pub struct Done<T> {
    pub value: T,
    pub changes: Changes,
}

impl<T> Done<T> {
    pub fn new(value: T, changes: Changes) -> Done<T> {
        Done { value, changes }
    }
}

/// Runs a use case on the blocking pool (see [`db::run`]).
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, UseCaseError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, UseCaseError> + Send + 'static,
    T: Send + 'static,
{
    db::run(pool, move |c| Ok(f(c))).await?
}

/// Step 1 of the lock order: locks the petition row (a no-op `UPDATE`, which PostgreSQL
/// serialises like `SELECT … FOR UPDATE`) and returns it as it is under the lock.
pub fn lock_petition(conn: &mut DbConnection, id: i32) -> Result<Petition, UseCaseError> {
    diesel::update(petitions_table::table.find(id))
        .set(petitions_table::status.eq(petitions_table::status))
        // All columns in table order, which is `Petition`'s field order (`as_returning` does not
        // pass through the two-backend connection).
        .returning(petitions_table::all_columns)
        .get_result::<Petition>(conn)
        .optional()?
        .ok_or(UseCaseError::NotFound)
}

/// [`lock_petition`], refusing with `refusal` if the petition is closed (by hand or by date):
/// a closed petition's public count is frozen.
pub fn lock_open_petition(
    conn: &mut DbConnection,
    id: i32,
    now: chrono::NaiveDateTime,
    refusal: crate::domain::Refusal,
) -> Result<Petition, UseCaseError> {
    let p = lock_petition(conn, id)?;
    if p.is_open_at(now) {
        Ok(p)
    } else {
        Err(UseCaseError::Refused(refusal))
    }
}
