//! The site's own settings that admins change.

use chrono::NaiveDateTime;

use super::{Changes, Done, UseCaseError};
use crate::db::{self, DbConnection};

/// Replaces the site's logo (`Some((content type, bytes))`, already checked to be an image) or
/// removes it (`None`), and audits it, in one transaction.
pub fn set_logo(
    conn: &mut DbConnection,
    admin_id: i32,
    logo: Option<(&'static str, Vec<u8>)>,
    now: NaiveDateTime,
) -> Result<Done<()>, UseCaseError> {
    db::write_tx(conn, |c| {
        db::site::set_logo(c, logo.as_ref().map(|(k, b)| (*k, b.as_slice())))?;
        let what = match &logo {
            Some((kind, bytes)) => format!("{kind}, {} bytes", bytes.len()),
            None => "removed".to_string(),
        };
        db::audit::record(c, Some(admin_id), None, "set-logo", &what, now)?;
        let every_page = Changes {
            site: true,
            ..Changes::none()
        };
        Ok(Done::new((), every_page))
    })
}
