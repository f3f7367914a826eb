//! A signer taking their signature back, and asking what the site holds about them: both
//! through the link in the email sent once they confirmed (`/withdraw/{token}`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Changes, Done, UseCaseError, lock_petition};
use crate::db::outbox::SealedEmail;
use crate::db::schema::{petitions, signatures};
use crate::db::{self, DbConnection, DbError};
use crate::domain::NewEmail;
use crate::domain::{SignatureStatus, TokenHash};
use crate::keys::Keys;
use crate::log::entry::EventKind;
use crate::sealed::{Personal, Purpose};

/// Where a withdraw link stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WithdrawState {
    /// No signature has this link: mistyped, forged, or its data was erased on schedule.
    Unknown,
    /// The signature was withdrawn already (by this link): nothing more to do.
    Withdrawn { petition_title: String },
    /// The signature stands; the page offers to withdraw it.
    Standing { petition_title: String },
}

/// What the link's page shows, changing nothing (mail scanners open links).
pub fn state(conn: &mut DbConnection, hash: &TokenHash) -> Result<WithdrawState, DbError> {
    let row: Option<(Option<NaiveDateTime>, String)> = signatures::table
        .inner_join(petitions::table)
        .filter(by_link(hash))
        .select((signatures::withdrawn_at, petitions::title))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => WithdrawState::Unknown,
        Some((Some(_), petition_title)) => WithdrawState::Withdrawn { petition_title },
        Some((None, petition_title)) => WithdrawState::Standing { petition_title },
    })
}

/// Withdraws the signature the link belongs to, in one transaction: it stops counting (the
/// petition's count and its country's drop by one if it counted, and the signed log records a
/// `withdrawn` entry), and its personal data, mailbox hashes and network hash are erased at
/// once. Idempotent: a second use changes nothing and reports `Withdrawn`. It holds even on a
/// closed petition: taking one's name back is the signer's right, not a moderation.
pub fn withdraw(
    conn: &mut DbConnection,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<Done<WithdrawState>, UseCaseError> {
    let done = withdraw_in_tx(conn, hash, now)?;
    // The erased values were overwritten in place (`secure_delete`); nor may they linger in
    // SQLite's write-ahead log.
    db::truncate_wal_briefly(conn);
    Ok(done)
}

fn withdraw_in_tx(
    conn: &mut DbConnection,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<Done<WithdrawState>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let found: Option<(i32, i32)> = signatures::table
            .filter(by_link(hash))
            .select((signatures::id, signatures::petition_id))
            .first(conn)
            .optional()?;
        let Some((id, petition_id)) = found else {
            return Ok(Done::new(WithdrawState::Unknown, Changes::none()));
        };
        // 1. The petition row; 2. the signature, changed only if it still has this link and
        // its data (on PostgreSQL, retention may have erased both since the read above).
        let petition = lock_petition(conn, petition_id)?;
        type Before = (
            String,
            Option<NaiveDateTime>,
            String,
            Option<String>,
            Option<i32>,
        );
        let changed: Option<Before> = diesel::update(
            signatures::table
                .find(id)
                .filter(by_link(hash))
                .filter(signatures::withdrawn_at.is_null())
                .filter(signatures::erased_at.is_null()),
        )
        .set(signatures::withdrawn_at.eq(Some(db::to_minute(now))))
        .returning((
            signatures::status,
            signatures::invalidated_at,
            signatures::country,
            signatures::commitment,
            signatures::number,
        ))
        .get_result(conn)
        .optional()?;
        let Some((status, invalidated_at, country, commitment, number)) = changed else {
            // Withdrawn already, or erased on schedule meanwhile (the link ended with it).
            let already = match state(conn, hash)? {
                WithdrawState::Unknown => WithdrawState::Unknown,
                _ => WithdrawState::Withdrawn {
                    petition_title: petition.title,
                },
            };
            return Ok(Done::new(already, Changes::none()));
        };
        db::signatures::erase_personal(conn, &[id], db::signatures::Erasure::Withdrawn, now)?;
        // It was not withdrawn before (the `UPDATE` above filtered on it).
        let counted = SignatureStatus::from_stored(&status).counts(invalidated_at.is_some(), false);
        if counted {
            diesel::update(petitions::table.find(petition_id))
                .set(petitions::signature_count.eq(petitions::signature_count - 1))
                .execute(conn)?;
            db::signatures::add_to_country(conn, petition_id, &country, -1)?;
            // Only a counted signature is in the log as counted; an invalidated one stays
            // out of the total either way.
            if petition.log_started {
                // A counted signature always has its commitment; refuse rather than let the
                // log's total part from the count.
                let commitment = match commitment {
                    Some(c) => c,
                    None => db::log::commitment_of(conn, id)?.0,
                };
                db::log::record(
                    conn,
                    &[db::log::NewEvent {
                        petition_id,
                        kind: EventKind::Withdrawn,
                        delta: -1,
                        commitment: Some(commitment),
                        batch: None,
                        receipt: None,
                        at: now,
                    }],
                )?;
            }
        }
        // Nothing more goes to its address: queued messages go with the data.
        db::outbox::drop_for_signature(conn, id, now)?;
        db::audit::record(
            conn,
            None,
            Some(petition_id),
            "signature.withdraw",
            &format!("signer #{} withdrew", number.unwrap_or(0)),
            now,
        )?;
        let changes = if counted {
            Changes::petition(&petition.slug)
        } else {
            Changes::none()
        };
        let withdrawn = WithdrawState::Withdrawn {
            petition_title: petition.title,
        };
        Ok(Done::new(withdrawn, changes))
    })
}

/// What the site holds about one signer, opened: what [`request_data`] mails them.
#[derive(Clone, Debug)]
pub struct HeldData {
    pub personal: Personal,
    pub petition_title: String,
    pub petition_slug: String,
    pub country: String,
    pub number: Option<i32>,
    pub signed_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub display: String,
    pub wants_updates: bool,
    pub locale: String,
    pub has_network_hash: bool,
    pub invalidated: bool,
}

/// Renders the email that carries a signer's data to them.
pub type DataRenderer = dyn Fn(&HeldData) -> NewEmail + Send + Sync;

/// Queues an email to the signer with everything the site holds about their signature, within
/// the signature's email cap. `Ok(false)` for an unknown or withdrawn link (nothing held), or
/// when the cap is reached.
pub fn request_data(
    conn: &mut DbConnection,
    keys: &Keys,
    hash: &TokenHash,
    cap: super::signing::EmailCap,
    now: NaiveDateTime,
    render: &DataRenderer,
) -> Result<Done<bool>, UseCaseError> {
    db::write_tx(conn, |conn| {
        type Row = (
            i32,
            i32,
            Option<String>,
            String,
            Option<i32>,
            NaiveDateTime,
            Option<NaiveDateTime>,
            String,
            bool,
            String,
            Option<String>,
            Option<NaiveDateTime>,
        );
        // An UPDATE that changes nothing but locks the row: a withdrawal or an erasure that
        // commits first leaves nothing to send, and none can slip in between.
        let row: Option<Row> = diesel::update(
            signatures::table
                .filter(by_link(hash))
                .filter(signatures::withdrawn_at.is_null())
                .filter(signatures::personal.is_not_null()),
        )
        .set(signatures::emails_sent.eq(signatures::emails_sent))
        .returning((
            signatures::id,
            signatures::petition_id,
            signatures::personal,
            signatures::country,
            signatures::number,
            signatures::created_at,
            signatures::confirmed_at,
            signatures::display,
            signatures::wants_updates,
            signatures::locale,
            signatures::ip_hash,
            signatures::invalidated_at,
        ))
        .get_result(conn)
        .optional()?;
        let Some((
            id,
            petition_id,
            Some(sealed),
            country,
            number,
            signed,
            confirmed,
            display,
            updates,
            locale,
            ip,
            invalid,
        )) = row
        else {
            return Ok(Done::new(false, Changes::none()));
        };
        if super::signing::take_email_allowance(conn, id, None, cap, now)?.is_some() {
            return Ok(Done::new(false, Changes::none()));
        }
        let slug: String = petitions::table
            .find(petition_id)
            .select(petitions::slug)
            .first(conn)?;
        // The petition as the signer read it, where it has their language.
        let (_, title) =
            db::petitions::title_in(conn, petition_id, crate::i18n::Lang::from_code(&locale))?;
        let personal: Personal = keys
            .open(Purpose::Signature, &sealed)
            .map_err(|e| db::site::unreadable(conn, keys, &format!("signature {id}"), e))?;
        let email = render(&HeldData {
            personal,
            petition_title: title,
            petition_slug: slug,
            country,
            number,
            signed_at: signed,
            confirmed_at: confirmed,
            display,
            wants_updates: updates,
            locale,
            has_network_hash: ip.is_some(),
            invalidated: invalid.is_some(),
        });
        db::outbox::enqueue(conn, &SealedEmail::new(keys, &email), Some(id), now)?;
        Ok(Done::new(true, Changes::none().with_emails(true)))
    })
}

/// The signature a withdraw link belongs to: the link in its receipt, or the one a later
/// submission of the same address mailed (which never replaces the receipt's).
#[diesel::dsl::auto_type]
fn by_link<'a>(hash: &'a TokenHash) -> _ {
    let hash: &'a str = hash.as_str();
    signatures::withdraw_hash
        .eq(hash)
        .or(signatures::withdraw_hash_resent.eq(hash))
}
