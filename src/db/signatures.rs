//! Signatures and their confirmation links: the queries the use cases in `usecases::signing`
//! and `usecases::moderation` are built from, counting, and reading them back for exports.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{confirmation_tokens, country_counts, petitions, signatures};
use super::{DbConnection, DbError};
use crate::domain::{Country, NameDisplay, SignatureStatus, TokenHash};

/// A valid submission of the sign form: a new signature, or a new attempt for a mailbox that
/// already signed this petition. Its personal data arrives sealed (`crate::sealed`).
#[derive(Clone, Debug)]
pub struct NewSignature {
    pub petition_id: i32,
    /// The name, email, postcode and comment, sealed for the signature row.
    pub sealed_signature: String,
    /// The same, sealed for the confirmation link's row.
    pub sealed_submission: String,
    /// The keyed hash of the canonical address (`Keys::email_index`): one signature each.
    pub email_index: String,
    /// The keyed hash of the address's domain (`Keys::domain_index`).
    pub domain_index: String,
    pub country: Country,
    pub display: NameDisplay,
    /// Ticked "email me news about this petition".
    pub wants_updates: bool,
    pub locale: String,
    pub ip_hash: Option<String>,
    pub created_at: NaiveDateTime,
    /// The tag of the link the signer followed (`?src=`).
    pub source: Option<crate::domain::Source>,
    /// Ticked "show my comment on the page".
    pub comment_public: bool,
}

/// The type of [`counted`]'s filter.
pub type Counted = diesel::dsl::And<
    diesel::dsl::And<
        diesel::dsl::Eq<signatures::status, &'static str>,
        diesel::dsl::IsNull<signatures::invalidated_at>,
    >,
    diesel::dsl::IsNull<signatures::withdrawn_at>,
>;

/// The one definition of a counted signature: confirmed, not invalidated, not withdrawn.
/// Counters, pages, exports and update recipients all use it.
pub fn counted() -> Counted {
    signatures::status
        .eq(SignatureStatus::Confirmed.as_str())
        .and(signatures::invalidated_at.is_null())
        .and(signatures::withdrawn_at.is_null())
}

/// Inserts a new pending signature with the submission's data and returns its id; `None` if
/// the mailbox already signed this petition (the unique key on petition and mailbox decides,
/// so two submissions racing cannot both insert).
pub fn insert_pending(
    conn: &mut DbConnection,
    new: &NewSignature,
) -> Result<Option<i32>, diesel::result::Error> {
    // `ON CONFLICT DO NOTHING`, not a failing insert inside a savepoint of its own: at a peak
    // the group commit stores hundreds of submissions per transaction, each already under a
    // savepoint, and a second one each was work for nothing.
    crate::with_backend!(conn, |c| {
        diesel::insert_into(signatures::table)
            .values((
                signatures::petition_id.eq(new.petition_id),
                signatures::personal.eq(&new.sealed_signature),
                signatures::email_key.eq(&new.email_index),
                signatures::domain_key.eq(&new.domain_index),
                signatures::country.eq(new.country.code()),
                signatures::public.eq(new.display.is_public()),
                signatures::display.eq(new.display.as_str()),
                signatures::wants_updates.eq(new.wants_updates),
                signatures::locale.eq(&new.locale),
                signatures::status.eq(SignatureStatus::Pending.as_str()),
                signatures::created_at.eq(super::to_minute(new.created_at)),
                signatures::emails_sent.eq(1),
                signatures::emails_window_start.eq(super::to_minute(new.created_at)),
                signatures::ip_hash.eq(&new.ip_hash),
            ))
            .on_conflict((signatures::petition_id, signatures::email_key))
            .do_nothing()
            .returning(signatures::id)
            .get_result::<i32>(c)
            .optional()
    })
}

/// Stores the link for one submission, with that submission's own data: confirming the link
/// applies exactly this data.
pub fn insert_token(
    conn: &mut DbConnection,
    signature_id: i32,
    new: &NewSignature,
    token_hash: &TokenHash,
    expires_at: NaiveDateTime,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(confirmation_tokens::table)
        .values((
            confirmation_tokens::signature_id.eq(signature_id),
            confirmation_tokens::token_hash.eq(token_hash.as_str()),
            confirmation_tokens::created_at.eq(new.created_at),
            confirmation_tokens::expires_at.eq(expires_at),
            confirmation_tokens::personal.eq(&new.sealed_submission),
            confirmation_tokens::country.eq(new.country.code()),
            confirmation_tokens::public.eq(new.display.is_public()),
            confirmation_tokens::display.eq(new.display.as_str()),
            confirmation_tokens::wants_updates.eq(new.wants_updates),
            confirmation_tokens::locale.eq(&new.locale),
            confirmation_tokens::ip_hash.eq(&new.ip_hash),
            confirmation_tokens::source.eq(new.source.as_ref().map(|s| s.as_str())),
            confirmation_tokens::comment_public.eq(new.comment_public),
        ))
        .execute(conn)?;
    Ok(())
}

/// The data a confirmation link carries: what confirming it makes true.
#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Submission {
    /// The sealed [`crate::sealed::Personal`] (`Purpose::Submission`); `None` once erased.
    pub personal: Option<String>,
    pub country: String,
    pub display: String,
    pub wants_updates: bool,
    pub locale: String,
    /// The keyed hash of the network it came from.
    pub ip_hash: Option<String>,
    /// When it was submitted.
    pub submitted_at: NaiveDateTime,
    /// The tag of the link the signer followed.
    pub source: Option<String>,
    /// Whether the comment may appear on the petition page.
    pub comment_public: bool,
}

/// A confirmation link with its submission and the signature and petition it belongs to.
#[derive(Clone, Debug)]
pub struct TokenRow {
    pub signature_id: i32,
    pub petition_id: i32,
    pub petition_slug: String,
    pub expires_at: NaiveDateTime,
    pub status: SignatureStatus,
    pub number: Option<i32>,
    pub submission: Submission,
    /// The confirmed signature's secret salt, sealed (its receipt code is derived from it).
    pub salt: Option<String>,
}

/// Looks a link up by the hash of its token.
pub fn token(conn: &mut DbConnection, hash: &TokenHash) -> Result<Option<TokenRow>, DbError> {
    type Row = (
        i32,
        i32,
        String,
        NaiveDateTime,
        String,
        Option<i32>,
        Submission,
        Option<String>,
    );
    let row: Option<Row> = confirmation_tokens::table
        .inner_join(signatures::table.inner_join(petitions::table))
        .filter(confirmation_tokens::token_hash.eq(hash.as_str()))
        .select((
            signatures::id,
            signatures::petition_id,
            petitions::slug,
            confirmation_tokens::expires_at,
            signatures::status,
            signatures::number,
            (
                confirmation_tokens::personal,
                confirmation_tokens::country,
                confirmation_tokens::display,
                confirmation_tokens::wants_updates,
                confirmation_tokens::locale,
                confirmation_tokens::ip_hash,
                confirmation_tokens::created_at,
                confirmation_tokens::source,
                confirmation_tokens::comment_public,
            ),
            signatures::salt,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(
            signature_id,
            petition_id,
            petition_slug,
            expires_at,
            status,
            number,
            submission,
            salt,
        )| {
            TokenRow {
                signature_id,
                petition_id,
                petition_slug,
                expires_at,
                status: SignatureStatus::from_stored(&status),
                number,
                submission,
                salt,
            }
        },
    ))
}

/// Adds `delta` to a petition's count for one country, creating the row if the country has
/// none yet (an upsert: atomic on both backends). Exactly one row must change.
pub fn add_to_country(
    conn: &mut DbConnection,
    petition_id: i32,
    country: &str,
    delta: i32,
) -> Result<(), diesel::result::Error> {
    use diesel::upsert::excluded;
    let changed = crate::with_backend!(conn, |c| diesel::insert_into(country_counts::table)
        .values((
            country_counts::petition_id.eq(petition_id),
            country_counts::country.eq(country),
            country_counts::count.eq(delta),
        ))
        .on_conflict((country_counts::petition_id, country_counts::country))
        .do_update()
        .set(country_counts::count.eq(country_counts::count + excluded(country_counts::count)))
        .execute(c))?;
    if changed != 1 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

/// Applies per-country deltas in code order (the lock order for `country_counts` rows),
/// skipping zeros.
pub fn add_to_countries(
    conn: &mut DbConnection,
    petition_id: i32,
    deltas: &std::collections::BTreeMap<String, i32>,
) -> Result<(), diesel::result::Error> {
    for (country, delta) in deltas {
        if *delta != 0 {
            add_to_country(conn, petition_id, country, *delta)?;
        }
    }
    Ok(())
}

/// Why a signature's personal data is erased.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Erasure {
    /// The signer withdrew: their link keeps working, to say so, and the mailbox may sign
    /// again.
    Withdrawn,
    /// Its retention period ended: the link ends too. The keyed mailbox hash stays, so that
    /// the same mailbox cannot be counted twice should the petition go on or reopen.
    Retention,
}

/// Erases the personal data of signatures `ids` (sealed name, email, postcode, comment; the
/// domain and network hashes; the salt that would let a guess be tested against the
/// commitment; the display choice; the confirmation links that held a submission), keeping
/// status, number, country and commitment, so the count and the log stand. Only rows not
/// erased yet change; returns how many did. Call it under the petition lock, in id order
/// (steps 2 and 4 of the lock order).
pub fn erase_personal(
    conn: &mut DbConnection,
    ids: &[i32],
    why: Erasure,
    now: NaiveDateTime,
) -> Result<usize, diesel::result::Error> {
    let mut erased = 0;
    for chunk in ids.chunks(500) {
        // The email allowances hold the network hashes of who asked: they go too.
        diesel::delete(
            super::schema::email_allowances::table
                .filter(super::schema::email_allowances::signature_id.eq_any(chunk)),
        )
        .execute(conn)?;
        let rows = signatures::table
            .filter(signatures::id.eq_any(chunk))
            .filter(signatures::erased_at.is_null());
        let set = (
            signatures::personal.eq(None::<String>),
            signatures::domain_key.eq(None::<String>),
            signatures::ip_hash.eq(None::<String>),
            signatures::salt.eq(None::<String>),
            signatures::public.eq(false),
            signatures::display.eq("none"),
            signatures::wants_updates.eq(false),
            signatures::source.eq(None::<String>),
            signatures::comment_public.eq(false),
            signatures::erased_at.eq(Some(super::to_minute(now))),
            signatures::emails_window_start.eq(None::<NaiveDateTime>),
        );
        erased += match why {
            // Unique per petition, and no longer derived from the address.
            Erasure::Withdrawn => diesel::update(rows)
                .set((
                    set,
                    signatures::email_key.eq(diesel::dsl::sql::<diesel::sql_types::Text>(
                        "'withdrawn:' || CAST(id AS TEXT)",
                    )),
                ))
                .execute(conn)?,
            Erasure::Retention => diesel::update(rows)
                .set((
                    set,
                    signatures::withdraw_hash.eq(None::<String>),
                    signatures::withdraw_hash_resent.eq(None::<String>),
                ))
                .execute(conn)?,
        };
        diesel::delete(
            confirmation_tokens::table.filter(confirmation_tokens::signature_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(erased)
}

/// Counts the rows themselves (not the cached counter): for checks and tests, not page views.
pub fn count_confirmed_rows(conn: &mut DbConnection, petition_id: i32) -> Result<i64, DbError> {
    Ok(signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(counted())
        .count()
        .get_result(conn)?)
}

/// Counts every signature row of a petition, pending ones included.
pub fn count_all_rows(conn: &mut DbConnection, petition_id: i32) -> Result<i64, DbError> {
    Ok(signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .count()
        .get_result(conn)?)
}

/// Counted signatures per country, recounted from the rows (for checks and tests).
pub fn recount_countries(
    conn: &mut DbConnection,
    petition_id: i32,
) -> Result<Vec<(String, i64)>, DbError> {
    Ok(signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(counted())
        .group_by(signatures::country)
        .order(signatures::country.asc())
        .select((signatures::country, diesel::dsl::count_star()))
        .load(conn)?)
}
