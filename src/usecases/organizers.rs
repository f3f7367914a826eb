//! Organizer accounts: the first admin, invitations, password resets, accounts made on the
//! command line. Each is one transaction with its audit row; an email it queues is in the same
//! commit.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::{Changes, Done, UseCaseError};
use crate::db::organizers::{self, CreateError, NewOrganizer};
use crate::db::outbox::{self, SealedEmail};
use crate::db::schema::{organizers as organizers_table, password_resets, setup_tokens};
use crate::db::{self, DbConnection};
use crate::domain::{NewEmail, Refusal, TokenHash};
use crate::keys::Keys;

/// How long an invitation's link stays usable.
pub const INVITE_HOURS: i64 = 72;
/// How long a password reset link stays usable.
pub const RESET_HOURS: i64 = 1;

/// Creates the first admin through a setup link, using the link up in the same transaction,
/// and audits it. `None` when the link is not usable (already used, expired, or an admin
/// exists).
pub fn create_first_admin(
    conn: &mut DbConnection,
    hash: &TokenHash,
    new: &NewOrganizer,
) -> Result<Option<i32>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let used = diesel::update(
            setup_tokens::table
                .filter(setup_tokens::token_hash.eq(hash.as_str()))
                .filter(setup_tokens::used_at.is_null())
                .filter(setup_tokens::expires_at.gt(new.created_at)),
        )
        .set(setup_tokens::used_at.eq(new.created_at))
        .execute(conn)?;
        if used != 1 || organizers::any_admin(conn)? {
            return Ok(None);
        }
        let id = match organizers::create(conn, new) {
            Ok(id) => id,
            Err(CreateError::EmailTaken(_)) => {
                return Err(UseCaseError::Refused(Refusal::EmailTaken));
            }
            Err(CreateError::Db(e)) => return Err(e.into()),
        };
        db::audit::record(
            conn,
            Some(id),
            None,
            "setup-first-admin",
            "",
            new.created_at,
        )?;
        Ok(Some(id))
    })
}

/// Creates an account from the command line (no one signed in made it), and audits it;
/// refused with a message naming the address if one has it already.
pub fn add(
    conn: &mut DbConnection,
    new: &NewOrganizer,
) -> Result<Result<i32, String>, UseCaseError> {
    db::write_tx(conn, |conn| match organizers::create(conn, new) {
        Ok(id) => {
            let role = if new.is_admin { "admin" } else { "organizer" };
            let detail = format!(
                "{role} {} (command line)",
                organizers::normalise_email(new.email)
            );
            db::audit::record(conn, None, None, "add-organizer", &detail, new.created_at)?;
            Ok(Ok(id))
        }
        Err(CreateError::EmailTaken(email)) => Ok(Err(email)),
        Err(CreateError::Db(e)) => Err(e.into()),
    })
}

/// An account an admin invites: created with a password nobody knows (`placeholder_hash`),
/// and a link, sent to its owner, to choose one. `false` (nothing done) if the address has
/// an account already.
pub struct Invitation<'a> {
    pub admin_id: i32,
    pub account: NewOrganizer<'a>,
    pub link: &'a TokenHash,
}

/// Creates the invited account, its link and its email, and audits it, in one commit: an
/// account is never left without its invitation (which would block inviting again), nor an
/// invitation without its audit row. `render` writes the email to the account's address.
pub fn invite(
    conn: &mut DbConnection,
    keys: &Keys,
    invitation: &Invitation<'_>,
    render: &dyn Fn(&str) -> NewEmail,
) -> Result<Done<bool>, UseCaseError> {
    let now = invitation.account.created_at;
    db::write_tx(conn, |conn| {
        let id = match organizers::create(conn, &invitation.account) {
            Ok(id) => id,
            Err(CreateError::EmailTaken(_)) => return Ok(Done::new(false, Changes::none())),
            Err(CreateError::Db(e)) => return Err(e.into()),
        };
        let email = render(&organizers::normalise_email(invitation.account.email));
        create_reset(
            conn,
            keys,
            id,
            invitation.link,
            now,
            now + TimeDelta::hours(INVITE_HOURS),
            &email,
        )?;
        db::audit::record(
            conn,
            Some(invitation.admin_id),
            None,
            "invite-organizer",
            invitation.account.email,
            now,
        )?;
        Ok(Done::new(true, Changes::none().with_emails(true)))
    })
}

/// Sends the account of `account` (an address, in any spelling) a password reset link, if
/// there is such an account; the caller answers the same either way. `render` writes the
/// email from the account's name and address.
pub fn request_reset(
    conn: &mut DbConnection,
    keys: &Keys,
    account: &str,
    link: &TokenHash,
    now: NaiveDateTime,
    render: &dyn Fn(&str, &str) -> NewEmail,
) -> Result<Done<()>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let Some((who, _)) = organizers::credentials(conn, &organizers::normalise_email(account))?
        else {
            return Ok(Done::new((), Changes::none()));
        };
        let email = render(&who.name, &who.email);
        let expires = now + TimeDelta::hours(RESET_HOURS);
        create_reset(conn, keys, who.id, link, now, expires, &email)?;
        Ok(Done::new((), Changes::none().with_emails(true)))
    })
}

/// Stores a reset link (its hash) for an organizer and queues its email.
fn create_reset(
    conn: &mut DbConnection,
    keys: &Keys,
    organizer_id: i32,
    hash: &TokenHash,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
    email: &NewEmail,
) -> Result<(), UseCaseError> {
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::organizer_id.eq(organizer_id),
            password_resets::token_hash.eq(hash.as_str()),
            password_resets::created_at.eq(now),
            password_resets::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    outbox::enqueue(conn, &SealedEmail::new(keys, email), None, now)?;
    Ok(())
}

/// Uses a reset link, in one transaction: sets the new password hash, spends every open link
/// of that account, ends every session of it (a stolen session dies with the old password)
/// and records it in the audit log. `None` when the link is unknown, used or expired. Takes
/// the organizer row first, then the account's links, then its sessions (a sign-in's order):
/// two resets of one account at once wait for each other instead of deadlocking.
pub fn reset_password(
    conn: &mut DbConnection,
    hash: &TokenHash,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<i32>, UseCaseError> {
    let spent = db::write_tx(conn, |conn| {
        let organizer: Option<i32> = password_resets::table
            .filter(password_resets::token_hash.eq(hash.as_str()))
            .filter(password_resets::used_at.is_null())
            .filter(password_resets::expires_at.gt(now))
            .select(password_resets::organizer_id)
            .first(conn)
            .optional()?;
        let Some(id) = organizer else {
            return Ok(None);
        };
        // 1. The organizer row.
        diesel::update(organizers_table::table.find(id))
            .set(organizers_table::id.eq(organizers_table::id))
            .execute(conn)?;
        // 2. Every open link of the account, which must still hold this one: a reset that
        // won the race spent it, and this one changes nothing (rolled back).
        let spent: Vec<String> = diesel::update(
            password_resets::table
                .filter(password_resets::organizer_id.eq(id))
                .filter(password_resets::used_at.is_null()),
        )
        .set(password_resets::used_at.eq(now))
        .returning(password_resets::token_hash)
        .get_results(conn)?;
        if !spent.iter().any(|h| h == hash.as_str()) {
            return Err(UseCaseError::NotFound);
        }
        diesel::update(organizers_table::table.find(id))
            .set(organizers_table::password_hash.eq(password_hash))
            .execute(conn)?;
        db::sessions::delete_all_of(conn, id)?;
        db::audit::record(conn, Some(id), None, "password-reset", "", now)?;
        Ok(Some(id))
    });
    match spent {
        Err(UseCaseError::NotFound) => Ok(None),
        other => other,
    }
}
