//! The site's own state kept in the database: which data key seals its signer data, what
//! one-time upgrades were done, and its logo (so every instance serves it).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use diesel::prelude::*;

use super::schema::{signatures, site_state};
use super::{DbConnection, DbError};
use crate::keys::Keys;

/// The id of the data key the signer data is sealed under.
pub(crate) const DATA_KEY_ID: &str = "data_key_id";

const LOGO_TYPE: &str = "logo_type";
const LOGO: &str = "logo";

/// The logo's content type and bytes, if one was uploaded.
pub fn logo(conn: &mut DbConnection) -> Result<Option<(String, Vec<u8>)>, DbError> {
    let rows: Vec<(String, String)> = site_state::table
        .filter(site_state::name.eq_any([LOGO_TYPE, LOGO]))
        .select((site_state::name, site_state::value))
        .load(conn)?;
    let get = |name: &str| rows.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    match (get(LOGO_TYPE), get(LOGO)) {
        (Some(kind), Some(data)) => Ok(STANDARD
            .decode(data)
            .ok()
            .map(|bytes| (kind.clone(), bytes))),
        _ => Ok(None),
    }
}

/// Whether a logo was uploaded (without reading it).
pub fn has_logo(conn: &mut DbConnection) -> Result<bool, DbError> {
    Ok(site_state::table
        .find(LOGO)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Replaces the logo (`Some`) or removes it (`None`).
pub fn set_logo(conn: &mut DbConnection, logo: Option<(&str, &[u8])>) -> QueryResult<()> {
    diesel::delete(site_state::table.filter(site_state::name.eq_any([LOGO_TYPE, LOGO])))
        .execute(conn)?;
    if let Some((kind, bytes)) = logo {
        for (name, value) in [
            (LOGO_TYPE, kind.to_string()),
            (LOGO, STANDARD.encode(bytes)),
        ] {
            diesel::insert_into(site_state::table)
                .values((site_state::name.eq(name), site_state::value.eq(value)))
                .execute(conn)?;
        }
    }
    Ok(())
}

pub(crate) fn get(conn: &mut DbConnection, name: &str) -> QueryResult<Option<String>> {
    site_state::table
        .find(name)
        .select(site_state::value)
        .first(conn)
        .optional()
}

pub(crate) fn set(conn: &mut DbConnection, name: &str, value: &str) -> QueryResult<()> {
    diesel::delete(site_state::table.find(name)).execute(conn)?;
    diesel::insert_into(site_state::table)
        .values((site_state::name.eq(name), site_state::value.eq(value)))
        .execute(conn)?;
    Ok(())
}

/// Whether the database already holds signer data (sealed or still in clear), so that only the
/// key it was made with may open it: a command must not make up a new key for it.
pub fn has_signer_data(conn: &mut DbConnection) -> QueryResult<bool> {
    if get(conn, DATA_KEY_ID)?.is_some() {
        return Ok(true);
    }
    let rows: i64 = signatures::table.count().get_result(conn)?;
    Ok(rows > 0)
}

/// Refuses ([`DbError::StaleKey`]) unless the database's signer data is sealed under the
/// data key `key_id`: an instance left running with the key from before a rotation must not
/// seal a value or hash a mailbox that the rotated database cannot open or find. Call it in a
/// use case's transaction after its first write to the sealed tables: on PostgreSQL a rotation
/// locks those tables first ([`rotate`]), so either it waits for this transaction and re-seals
/// what it wrote, or this check reads the id it committed.
pub fn ensure_key_id(conn: &mut DbConnection, key_id: &str) -> Result<(), DbError> {
    match get(conn, DATA_KEY_ID)? {
        Some(id) if id != key_id => Err(DbError::StaleKey),
        _ => Ok(()),
    }
}

/// What a sealed value that did not open means here: [`DbError::StaleKey`] if the database's
/// data key changed under this instance, else the value itself is damaged (`what` names it).
pub fn unreadable(
    conn: &mut DbConnection,
    keys: &Keys,
    what: &str,
    e: crate::sealed::Unreadable,
) -> DbError {
    match ensure_current_key(conn, keys) {
        Ok(()) => DbError::Other(format!("{what}: {e}")),
        Err(stale_or_failed) => stale_or_failed,
    }
}

/// [`ensure_key_id`] for `keys`' data key.
pub fn ensure_current_key(conn: &mut DbConnection, keys: &Keys) -> Result<(), DbError> {
    ensure_key_id(conn, &keys.data_key_id())
}

/// On PostgreSQL, makes instances starting at once take their turn for the site's own
/// bookkeeping (SQLite's write lock already does): held until the transaction ends.
pub(crate) fn serialise_instances(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7250113)").execute(c)?;
    }
    Ok(())
}
