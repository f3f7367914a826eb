//! Organizer accounts, who manages which petition, and first-run setup links.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::petitions::Petition;
use super::schema::{organizers, password_resets, petition_organizers, petitions, setup_tokens};
use super::{DbConnection, DbError};
use crate::domain::TokenHash;

/// An organizer account (without its password hash).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = organizers)]
pub struct Organizer {
    pub id: i32,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
}

/// What creating an account needs; the password is already hashed.
pub struct NewOrganizer<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("an organizer with the email {0} already exists")]
    EmailTaken(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for CreateError {
    fn from(e: diesel::result::Error) -> CreateError {
        CreateError::Db(e.into())
    }
}

/// Organizer emails are compared lower-cased and trimmed.
pub fn normalise_email(email: &str) -> String {
    let email = email.trim().to_lowercase();
    // One spelling of an international domain (as signers' addresses have): an account made
    // with `ani@пример.рф` signs in as `ani@xn--e1afmkfd.xn--p1ai` and the other way round.
    match email.rsplit_once('@') {
        Some((local, domain)) => match idna::domain_to_ascii(domain) {
            Ok(ascii) => format!("{local}@{ascii}"),
            Err(_) => email,
        },
        None => email,
    }
}

/// Once, at an upgrade: every organizer's address, and every petition's owner, in the one
/// spelling sign-in uses ([`normalise_email`]), so an account made with a Unicode domain still
/// signs in and still owns its petitions. An account whose address so spelled is another
/// account's keeps its own and is returned (the caller says so): merging two accounts is for
/// an administrator. Runs inside the caller's transaction.
pub fn respell_all(conn: &mut DbConnection) -> Result<Vec<i32>, DbError> {
    let accounts: Vec<(i32, String)> = organizers::table
        .select((organizers::id, organizers::email))
        .load(conn)?;
    let mut kept = Vec::new();
    for (id, email) in accounts {
        let respelled = normalise_email(&email);
        if respelled == email {
            continue;
        }
        let taken: i64 = organizers::table
            .filter(organizers::email.eq(&respelled))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            kept.push(id);
            continue;
        }
        diesel::update(organizers::table.find(id))
            .set(organizers::email.eq(&respelled))
            .execute(conn)?;
    }
    let owners: Vec<String> = petitions::table
        .filter(petitions::owner_email.is_not_null())
        .select(petitions::owner_email.assume_not_null())
        .distinct()
        .load(conn)?;
    for owner in owners {
        let respelled = normalise_email(&owner);
        if respelled != owner {
            diesel::update(petitions::table.filter(petitions::owner_email.eq(&owner)))
                .set(petitions::owner_email.eq(&respelled))
                .execute(conn)?;
        }
    }
    Ok(kept)
}

pub fn create(conn: &mut DbConnection, new: &NewOrganizer) -> Result<i32, CreateError> {
    let email = normalise_email(new.email);
    let result = diesel::insert_into(organizers::table)
        .values((
            organizers::email.eq(&email),
            organizers::name.eq(new.name.trim()),
            organizers::password_hash.eq(new.password_hash),
            organizers::is_admin.eq(new.is_admin),
            organizers::created_at.eq(new.created_at),
        ))
        .returning(organizers::id)
        .get_result(conn);
    match result {
        Ok(id) => Ok(id),
        Err(e) if super::is_unique_violation(&e) => Err(CreateError::EmailTaken(email)),
        Err(e) => Err(CreateError::Db(e.into())),
    }
}

/// An account and its password hash, for signing in.
pub fn credentials(
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<(Organizer, String)>, DbError> {
    Ok(organizers::table
        .filter(organizers::email.eq(normalise_email(email)))
        .select((Organizer::as_select(), organizers::password_hash))
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: i32) -> Result<Option<Organizer>, DbError> {
    Ok(organizers::table
        .find(id)
        .select(Organizer::as_select())
        .first(conn)
        .optional()?)
}

pub fn any_admin(conn: &mut DbConnection) -> Result<bool, DbError> {
    Ok(organizers::table
        .filter(organizers::is_admin.eq(true))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// The petitions an organizer may manage: all of them for an admin; otherwise those they were
/// added to or that name them as owner.
pub fn petitions_of(conn: &mut DbConnection, who: &Organizer) -> Result<Vec<Petition>, DbError> {
    let mut query = petitions::table
        .order(petitions::created_at.desc())
        .select(Petition::as_select())
        .into_boxed();
    if !who.is_admin {
        let added = petition_organizers::table
            .filter(petition_organizers::organizer_id.eq(who.id))
            .select(petition_organizers::petition_id);
        query = query.filter(
            petitions::id
                .eq_any(added)
                .or(petitions::owner_email.eq(&who.email)),
        );
    }
    Ok(query.load(conn)?)
}

/// Whether an organizer may see and manage a petition (the same rule as [`petitions_of`]).
pub fn may_manage(
    conn: &mut DbConnection,
    who: &Organizer,
    petition: &Petition,
) -> Result<bool, DbError> {
    if who.is_admin || petition.owner_email.as_deref() == Some(who.email.as_str()) {
        return Ok(true);
    }
    Ok(petition_organizers::table
        .filter(petition_organizers::petition_id.eq(petition.id))
        .filter(petition_organizers::organizer_id.eq(who.id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Names of the organizers added to a petition.
pub fn names_of(conn: &mut DbConnection, petition_id: i32) -> Result<Vec<String>, DbError> {
    Ok(organizers::table
        .inner_join(petition_organizers::table)
        .filter(petition_organizers::petition_id.eq(petition_id))
        .select(organizers::name)
        .load(conn)?)
}

/// Stores a first-run setup link (its hash) valid until `expires_at`. Only the newest link
/// works: earlier ones (printed at earlier starts, perhaps into a shared log) are spent.
pub fn create_setup_token(
    conn: &mut DbConnection,
    hash: &TokenHash,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), DbError> {
    conn.transaction::<(), diesel::result::Error, _>(|conn| {
        diesel::update(setup_tokens::table.filter(setup_tokens::used_at.is_null()))
            .set(setup_tokens::used_at.eq(now))
            .execute(conn)?;
        diesel::insert_into(setup_tokens::table)
            .values((
                setup_tokens::token_hash.eq(hash.as_str()),
                setup_tokens::created_at.eq(now),
                setup_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(())
}

/// Whether a setup link can still be used: known, unused, unexpired, and no admin yet.
pub fn setup_token_usable(
    conn: &mut DbConnection,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let found = setup_tokens::table
        .filter(setup_tokens::token_hash.eq(hash.as_str()))
        .filter(setup_tokens::used_at.is_null())
        .filter(setup_tokens::expires_at.gt(now))
        .count()
        .get_result::<i64>(conn)?;
    Ok(found == 1 && !any_admin(conn)?)
}

/// Whether a reset link can still be used.
pub fn reset_usable(
    conn: &mut DbConnection,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    Ok(password_resets::table
        .filter(password_resets::token_hash.eq(hash.as_str()))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(now))
        .count()
        .get_result::<i64>(conn)?
        == 1)
}

/// Every organizer account, admins first, then by name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Organizer>, DbError> {
    Ok(organizers::table
        .order((organizers::is_admin.desc(), organizers::name.asc()))
        .select(Organizer::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_organizers_international_domain_has_one_spelling() {
        assert_eq!(
            super::normalise_email(" Ani@ПРИМЕР.рф "),
            super::normalise_email("ani@xn--e1afmkfd.xn--p1ai")
        );
        assert_eq!(super::normalise_email("Ana@Example.org"), "ana@example.org");
    }
}
