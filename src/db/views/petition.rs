//! A petition as its page, its JSON and its widget show it: the row, goals, targets, counts per
//! country, texts in every language, the log's latest checkpoint and cosignatures, deliveries,
//! and the signers and comments it may show.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::petitions::{Petition, TextVersion, find_by_slug, goals_of, targets, texts};
use crate::db::schema::{country_counts, signatures};
use crate::db::{DbConnection, DbError};
use crate::domain::GoalLadder;
use crate::i18n::Lang;

/// Confirmed, valid signatures per country, largest first, countries with none left out.
pub fn country_breakdown(
    conn: &mut DbConnection,
    petition_id: i32,
) -> Result<Vec<(String, i32)>, DbError> {
    Ok(country_counts::table
        .filter(country_counts::petition_id.eq(petition_id))
        .filter(country_counts::count.gt(0))
        .order((country_counts::count.desc(), country_counts::country.asc()))
        .select((country_counts::country, country_counts::count))
        .load(conn)?)
}

/// The latest confirmed signers who chose to be shown: `(name, country, confirmed_at)`.
pub fn recent_public_signers(
    conn: &mut DbConnection,
    keys: &crate::keys::Keys,
    petition_id: i32,
    limit: i64,
) -> Result<Vec<(String, String)>, DbError> {
    let rows: Vec<(Option<String>, String, String)> = signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(crate::db::signatures::counted())
        .filter(signatures::public.eq(true))
        .filter(signatures::personal.is_not_null())
        // Stored to the minute: the signer number orders one minute's signatures.
        .order((signatures::confirmed_at.desc(), signatures::number.desc()))
        .limit(limit)
        .select((
            signatures::personal,
            signatures::display,
            signatures::country,
        ))
        .load(conn)?;
    let mut shown = Vec::with_capacity(rows.len());
    for (sealed, display, country) in rows {
        let Some(personal) = keys.open_signature(sealed.as_deref())? else {
            continue;
        };
        let name = personal.name;
        if let Some(name) = crate::domain::NameDisplay::from_stored(&display).shown(&name) {
            shown.push((name, country));
        }
    }
    Ok(shown)
}

/// The latest comments signers chose to show on the page, from signatures that count:
/// `(name as its signer chose to show it, or None, comment)`. Invalidating or withdrawing a
/// signature takes its comment off the page.
pub fn public_comments(
    conn: &mut DbConnection,
    keys: &crate::keys::Keys,
    petition_id: i32,
    limit: i64,
) -> Result<Vec<(Option<String>, String)>, DbError> {
    let rows: Vec<(Option<String>, String)> = signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(crate::db::signatures::counted())
        .filter(signatures::comment_public.eq(true))
        .filter(signatures::comment_hidden.eq(false))
        .filter(signatures::personal.is_not_null())
        // Stored to the minute: the signer number orders one minute's signatures.
        .order((signatures::confirmed_at.desc(), signatures::number.desc()))
        .limit(limit)
        .select((signatures::personal, signatures::display))
        .load(conn)?;
    let mut shown = Vec::with_capacity(rows.len());
    for (sealed, display) in rows {
        let Some(personal) = keys.open_signature(sealed.as_deref())? else {
            continue;
        };
        let Some(comment) = personal.comment.filter(|c| !c.trim().is_empty()) else {
            continue;
        };
        let name = crate::domain::NameDisplay::from_stored(&display).shown(&personal.name);
        shown.push((name, comment));
    }
    Ok(shown)
}

/// Everything a petition page or API answer shows, read in one go.
#[derive(Clone, Debug)]
pub struct PetitionView {
    pub petition: Petition,
    /// Whether the petition has an image to show.
    pub has_image: bool,
    pub goals: GoalLadder,
    pub targets: Vec<String>,
    pub by_country: Vec<(String, i32)>,
    /// The latest signed checkpoint of its log: entries, the total they sum to, and when.
    pub verified: Option<Verified>,
    /// Deliveries recorded, with the signed checkpoint each carried, in date order.
    pub deliveries: Vec<crate::db::deliveries::Delivery>,
    /// The newest checkpoint that witnesses cosigned.
    pub witnessed: Option<Witnessed>,
    /// The text in each language it has: the original first, then the translations.
    pub texts: Vec<TextVersion>,
}

impl PetitionView {
    /// The original text, in the petition's own language.
    pub fn original(&self) -> &TextVersion {
        &self.texts[0]
    }

    /// The version a visitor reading `lang` gets: theirs if there is one, else the original.
    pub fn text_for(&self, lang: Lang) -> &TextVersion {
        self.texts
            .iter()
            .find(|t| t.lang == lang)
            .unwrap_or_else(|| self.original())
    }
}

/// A checkpoint with witnesses' cosignatures.
#[derive(Clone, Debug)]
pub struct Witnessed {
    pub size: i64,
    pub total: i64,
    /// The site's signed note.
    pub note: String,
    /// `(witness verifier key, signature line)`: shown only for witnesses trusted now.
    pub lines: Vec<(String, String)>,
}

/// What the latest checkpoint of a petition's log commits to.
#[derive(Clone, Debug)]
pub struct Verified {
    pub size: i64,
    pub total: i64,
    pub at: NaiveDateTime,
}

pub fn view(conn: &mut DbConnection, slug: &str) -> Result<Option<PetitionView>, DbError> {
    let Some(petition) = find_by_slug(conn, slug)? else {
        return Ok(None);
    };
    let goals = goals_of(conn, &[petition.id])?
        .pop()
        .unwrap_or_else(|| GoalLadder::from_stored(vec![]));
    let targets = targets(conn, petition.id)?;
    let by_country = country_breakdown(conn, petition.id)?;
    let has_image = crate::db::images::exists(conn, petition.id)?;
    let verified = crate::db::log::latest(conn, petition.id)?.map(|c| Verified {
        size: c.size,
        total: c.total,
        at: c.created_at,
    });
    let deliveries = crate::db::deliveries::deliveries(conn, petition.id)?;
    let texts = texts(conn, &petition, &targets)?;
    let witnessed = match crate::db::log::latest_cosigned(conn, petition.id)? {
        Some(size) => crate::db::log::checkpoint_at(conn, petition.id, size)?
            .map(|c| -> Result<Witnessed, DbError> {
                Ok(Witnessed {
                    size,
                    total: c.total,
                    note: c.note,
                    lines: crate::db::log::cosignatures(conn, petition.id, size)?,
                })
            })
            .transpose()?,
        None => None,
    };
    Ok(Some(PetitionView {
        texts,
        witnessed,
        deliveries,
        has_image,
        petition,
        goals,
        targets,
        by_country,
        verified,
    }))
}
