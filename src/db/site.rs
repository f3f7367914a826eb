//! The site's own settings kept in the database: its logo (so every instance serves it).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use diesel::prelude::*;

use super::schema::site_state;
use super::{DbConnection, DbError};

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
