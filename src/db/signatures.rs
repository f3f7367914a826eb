//! Signatures: signing (with its confirmation email, in one transaction), confirming, counting
//! and reading them back for exports.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::outbox::{self, NewEmail};
use super::schema::{confirmation_tokens, country_counts, petitions, signatures};
use super::{DbConnection, DbError};
use crate::domain::{Comment, Country, Postcode, SignerEmail, SignerName, TokenHash};

/// A valid signature about to be stored.
#[derive(Clone, Debug)]
pub struct NewSignature {
    pub petition_id: i32,
    pub name: SignerName,
    pub email: SignerEmail,
    pub country: Country,
    pub postcode: Option<Postcode>,
    pub comment: Option<Comment>,
    pub public: bool,
    /// Ticked "email me news about this petition".
    pub wants_updates: bool,
    pub locale: String,
    pub ip_hash: Option<String>,
    pub created_at: NaiveDateTime,
}

/// The email a signing attempt should trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignEmail {
    /// A new or still-pending signature: a confirmation link.
    Confirm,
    /// The address has already confirmed: say so instead of letting it sign twice.
    AlreadySigned,
}

/// What a signing attempt did. The supporter sees the same page in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignOutcome {
    Created,
    Resent(SignEmail),
    /// The address reached its email cap: nothing sent, nothing changed.
    Capped,
}

/// Stores a signature (or finds the existing one for the same mailbox) and queues its email in
/// the same transaction. `email_for` renders the message for the given kind; `token_hash` and
/// `expires_at` describe the link that message carries.
pub fn sign(
    conn: &mut DbConnection,
    new: &NewSignature,
    token_hash: &TokenHash,
    expires_at: NaiveDateTime,
    max_emails: i32,
    email_for: &dyn Fn(SignEmail, &str) -> NewEmail,
) -> Result<SignOutcome, DbError> {
    Ok(
        conn.transaction::<SignOutcome, diesel::result::Error, _>(|conn| {
            // Insert first: on SQLite the transaction then holds the write lock from its first
            // statement, and a duplicate is found by the unique constraint rather than a
            // read-then-write race. The savepoint keeps PostgreSQL's transaction usable after it.
            let inserted = conn.transaction(|conn| {
                diesel::insert_into(signatures::table)
                    .values((
                        signatures::petition_id.eq(new.petition_id),
                        signatures::name.eq(new.name.as_str()),
                        signatures::email.eq(new.email.as_str()),
                        signatures::email_key.eq(new.email.dedupe_key()),
                        signatures::country.eq(new.country.code()),
                        signatures::postcode.eq(new.postcode.as_ref().map(|p| p.as_str())),
                        signatures::comment.eq(new.comment.as_ref().map(|c| c.as_str())),
                        signatures::public.eq(new.public),
                        signatures::wants_updates.eq(new.wants_updates),
                        signatures::locale.eq(&new.locale),
                        signatures::status.eq("pending"),
                        signatures::created_at.eq(new.created_at),
                        signatures::emails_sent.eq(1),
                        signatures::ip_hash.eq(&new.ip_hash),
                    ))
                    .returning(signatures::id)
                    .get_result::<i32>(conn)
            });
            let (signature_id, kind, outcome, locale, recipient) = match inserted {
                Ok(id) => (
                    id,
                    SignEmail::Confirm,
                    SignOutcome::Created,
                    new.locale.clone(),
                    new.email.as_str().to_string(),
                ),
                Err(e) if super::is_unique_violation(&e) => {
                    let (id, status, sent, locale, email): (i32, String, i32, String, String) =
                        signatures::table
                            .filter(signatures::petition_id.eq(new.petition_id))
                            .filter(signatures::email_key.eq(new.email.dedupe_key()))
                            .select((
                                signatures::id,
                                signatures::status,
                                signatures::emails_sent,
                                signatures::locale,
                                signatures::email,
                            ))
                            .first(conn)?;
                    if sent >= max_emails {
                        return Ok(SignOutcome::Capped);
                    }
                    diesel::update(signatures::table.find(id))
                        .set(signatures::emails_sent.eq(signatures::emails_sent + 1))
                        .execute(conn)?;
                    let kind = if status == "confirmed" {
                        SignEmail::AlreadySigned
                    } else {
                        SignEmail::Confirm
                    };
                    // The first address given keeps receiving the mail: a second spelling of
                    // it must not redirect messages elsewhere.
                    (id, kind, SignOutcome::Resent(kind), locale, email)
                }
                Err(e) => return Err(e),
            };
            if kind == SignEmail::Confirm {
                diesel::insert_into(confirmation_tokens::table)
                    .values((
                        confirmation_tokens::signature_id.eq(signature_id),
                        confirmation_tokens::token_hash.eq(token_hash.as_str()),
                        confirmation_tokens::created_at.eq(new.created_at),
                        confirmation_tokens::expires_at.eq(expires_at),
                    ))
                    .execute(conn)?;
            }
            let mut email = email_for(kind, &locale);
            email.recipient = recipient;
            outbox::enqueue(conn, &email, new.created_at)?;
            Ok(outcome)
        })?,
    )
}

/// What a confirmation link leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenState {
    Unknown,
    /// The link expired before it was used; the supporter can sign again.
    Expired {
        petition_slug: String,
    },
    Pending {
        petition_slug: String,
    },
    Confirmed {
        petition_slug: String,
        number: i32,
    },
}

/// A token's signature id, expiry, signature status, signer number and petition slug.
type TokenRow = (i32, NaiveDateTime, String, Option<i32>, String);

fn token_row(conn: &mut DbConnection, hash: &TokenHash) -> Result<Option<TokenRow>, DbError> {
    Ok(confirmation_tokens::table
        .inner_join(signatures::table.inner_join(petitions::table))
        .filter(confirmation_tokens::token_hash.eq(hash.as_str()))
        .select((
            signatures::id,
            confirmation_tokens::expires_at,
            signatures::status,
            signatures::number,
            petitions::slug,
        ))
        .first(conn)
        .optional()?)
}

/// Reads where a token stands, changing nothing (for the GET page that mail scanners open).
pub fn token_state(
    conn: &mut DbConnection,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<TokenState, DbError> {
    Ok(match token_row(conn, hash)? {
        None => TokenState::Unknown,
        Some((_, _, status, Some(number), petition_slug)) if status == "confirmed" => {
            TokenState::Confirmed {
                petition_slug,
                number,
            }
        }
        Some((_, expires, _, _, petition_slug)) if expires <= now => {
            TokenState::Expired { petition_slug }
        }
        Some((_, _, _, _, petition_slug)) => TokenState::Pending { petition_slug },
    })
}

/// Confirms the signature a token belongs to. Idempotent: a second call reports the number
/// handed out the first time. The count, the signer number and the country count change in the
/// same transaction as the signature, so they can never disagree with the rows.
pub fn confirm(
    conn: &mut DbConnection,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<TokenState, DbError> {
    conn.transaction::<TokenState, DbError, _>(|conn| {
        // Write first (see `sign`): flip the signature from pending to confirmed only if the
        // token is still valid. Exactly one caller can win this update.
        let valid_signature = confirmation_tokens::table
            .filter(confirmation_tokens::token_hash.eq(hash.as_str()))
            .filter(confirmation_tokens::expires_at.gt(now))
            .select(confirmation_tokens::signature_id);
        let flipped = diesel::update(
            signatures::table
                .filter(signatures::id.eq_any(valid_signature))
                .filter(signatures::status.eq("pending")),
        )
        .set((
            signatures::status.eq("confirmed"),
            signatures::confirmed_at.eq(now),
        ))
        .returning((signatures::id, signatures::petition_id, signatures::country))
        .get_result::<(i32, i32, String)>(conn)
        .optional()?;
        if let Some((signature_id, petition_id, country)) = flipped {
            let number: i32 = diesel::update(petitions::table.find(petition_id))
                .set((
                    petitions::signature_count.eq(petitions::signature_count + 1),
                    petitions::last_number.eq(petitions::last_number + 1),
                ))
                .returning(petitions::last_number)
                .get_result(conn)?;
            diesel::update(signatures::table.find(signature_id))
                .set(signatures::number.eq(number))
                .execute(conn)?;
            diesel::update(
                country_counts::table
                    .filter(country_counts::petition_id.eq(petition_id))
                    .filter(country_counts::country.eq(&country)),
            )
            .set(country_counts::count.eq(country_counts::count + 1))
            .execute(conn)?;
        }
        token_state(conn, hash, now)
    })
}

/// One row of a signature export, in the column order of the contract.
#[derive(Clone, Debug, Queryable)]
pub struct ExportRow {
    pub id: i32,
    pub number: Option<i32>,
    pub signed_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub name: String,
    pub email: String,
    pub country: String,
    pub postcode: Option<String>,
    pub comment: Option<String>,
    pub public: bool,
}

/// Which signatures an export includes, besides "confirmed and not invalidated".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
    /// Confirmed at or after.
    pub from: Option<NaiveDateTime>,
    /// Confirmed before.
    pub until: Option<NaiveDateTime>,
    /// Only signatures up to this id: a snapshot, so that a file and its manifest agree while
    /// new signatures keep arriving.
    pub upto: Option<i32>,
}

/// Confirmed, valid signatures after `after_id` in signing order, `limit` at a time, so an
/// export of any size runs in bounded memory.
pub fn export_batch(
    conn: &mut DbConnection,
    petition_id: i32,
    after_id: i32,
    limit: i64,
) -> Result<Vec<ExportRow>, DbError> {
    export_batch_filtered(conn, petition_id, &ExportFilter::default(), after_id, limit)
}

/// [`export_batch`] narrowed by a filter.
pub fn export_batch_filtered(
    conn: &mut DbConnection,
    petition_id: i32,
    filter: &ExportFilter,
    after_id: i32,
    limit: i64,
) -> Result<Vec<ExportRow>, DbError> {
    let mut query = signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(signatures::status.eq("confirmed"))
        .filter(signatures::invalidated_at.is_null())
        .filter(signatures::id.gt(after_id))
        .into_boxed();
    if let Some(country) = &filter.country {
        query = query.filter(signatures::country.eq(country.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(signatures::confirmed_at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(signatures::confirmed_at.lt(until));
    }
    if let Some(upto) = filter.upto {
        query = query.filter(signatures::id.le(upto));
    }
    Ok(query
        .order(signatures::id.asc())
        .limit(limit)
        .select((
            signatures::id,
            signatures::number,
            signatures::created_at,
            signatures::confirmed_at,
            signatures::name,
            signatures::email,
            signatures::country,
            signatures::postcode,
            signatures::comment,
            signatures::public,
        ))
        .load(conn)?)
}

/// The highest signature id of a petition (0 when it has none).
pub fn max_id(conn: &mut DbConnection, petition_id: i32) -> Result<i32, DbError> {
    Ok(signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .select(diesel::dsl::max(signatures::id))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0))
}

/// Counts the rows themselves (not the cached counter): for checks and tests, not page views.
pub fn count_confirmed_rows(conn: &mut DbConnection, petition_id: i32) -> Result<i64, DbError> {
    Ok(signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(signatures::status.eq("confirmed"))
        .filter(signatures::invalidated_at.is_null())
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
