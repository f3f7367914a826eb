//! Writing petitions: create, edit, close and reopen.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Changes, Done, UseCaseError, lock_petition};
use crate::db::petitions::{self, CreateError, NewPetition, PetitionEdit};
use crate::db::schema::petitions as table;
use crate::db::{self, DbConnection};
use crate::domain::PetitionStatus;
use crate::domain::Refusal;

/// Creates a petition managed by `organizer_id` (when given) and audits it; `None` if the slug
/// is taken.
pub fn create(
    conn: &mut DbConnection,
    organizer_id: Option<i32>,
    new: &NewPetition,
) -> Result<Done<Option<i32>>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let id = match petitions::create(conn, new) {
            Ok(id) => id,
            Err(CreateError::SlugTaken(_)) => return Ok(Done::new(None, Changes::none())),
            Err(CreateError::Db(e)) => return Err(e.into()),
        };
        if let Some(who) = organizer_id {
            petitions::add_organizer(conn, id, who)?;
        }
        db::audit::record(
            conn,
            organizer_id,
            Some(id),
            "create-petition",
            new.slug.as_str(),
            new.created_at,
        )?;
        // A slug asked for before it existed may have been remembered as "not found".
        Ok(Done::new(Some(id), Changes::petition(new.slug.as_str())))
    })
}

/// Replaces a petition's text, goals, targets and closing time, and audits it. A petition that
/// closed by its date stays closed: changing that date is refused (reopening is its own action).
pub fn edit(
    conn: &mut DbConnection,
    organizer_id: i32,
    petition_id: i32,
    edit: &PetitionEdit,
    now: NaiveDateTime,
) -> Result<Done<()>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let p = lock_petition(conn, petition_id)?;
        let closed_by_date = p.closed_by_date(now).is_some();
        if closed_by_date && edit.closes_at != p.closes_at {
            return Err(UseCaseError::Refused(Refusal::ClosedByDate));
        }
        // The original cannot take the language of one of its versions: there would be two
        // texts in it.
        if p.language != edit.language.code()
            && petitions::texts(conn, &p, &[])?
                .iter()
                .any(|t| !t.original && t.lang == edit.language)
        {
            return Err(UseCaseError::Refused(Refusal::LanguageTaken));
        }
        petitions::update(conn, petition_id, edit)?;
        // A new original language changes what every visitor and email gets: said in the log.
        let detail = if p.language == edit.language.code() {
            String::new()
        } else {
            format!("language {} -> {}", p.language, edit.language.code())
        };
        db::audit::record(
            conn,
            Some(organizer_id),
            Some(petition_id),
            "edit-petition",
            &detail,
            now,
        )?;
        Ok(Done::new((), Changes::petition(&p.slug)))
    })
}

/// Adds or replaces the petition's version in another language than its original, and audits
/// it (`organizer_id` `None`: the command line). `made_from` is the original's `text_version`
/// the translation was made from (`None`: the original as it is now).
pub fn translate(
    conn: &mut DbConnection,
    organizer_id: Option<i32>,
    petition_id: i32,
    translation: &petitions::Translation,
    made_from: Option<i32>,
    now: NaiveDateTime,
) -> Result<Done<()>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let p = lock_petition(conn, petition_id)?;
        if p.language == translation.lang.code() {
            return Err(UseCaseError::Refused(Refusal::TranslationIsOriginal));
        }
        // Made from the original the translator had in front of them (`made_from`, the form's):
        // if the original changed since, the version saved is still marked for update.
        let version = made_from.map_or(p.text_version, |v| v.min(p.text_version));
        petitions::set_translation(conn, petition_id, version, translation, now)?;
        db::audit::record(
            conn,
            organizer_id,
            Some(petition_id),
            "translate-petition",
            translation.lang.code(),
            now,
        )?;
        Ok(Done::new((), Changes::petition(&p.slug)))
    })
}

/// Removes the petition's version in `lang`, and audits it; `false` if it had none.
pub fn remove_translation(
    conn: &mut DbConnection,
    organizer_id: i32,
    petition_id: i32,
    lang: crate::i18n::Lang,
    now: NaiveDateTime,
) -> Result<Done<bool>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let p = lock_petition(conn, petition_id)?;
        let removed = petitions::remove_translation(conn, petition_id, lang)?;
        if removed {
            db::audit::record(
                conn,
                Some(organizer_id),
                Some(petition_id),
                "remove-translation",
                lang.code(),
                now,
            )?;
        }
        Ok(Done::new(removed, Changes::petition(&p.slug)))
    })
}

/// Closes a petition (its count freezes) or reopens it, and audits it. Reopening a petition
/// that closed by its date also clears that date: otherwise it would stay closed.
pub fn set_status(
    conn: &mut DbConnection,
    organizer_id: Option<i32>,
    petition_id: i32,
    status: PetitionStatus,
    now: NaiveDateTime,
) -> Result<Done<()>, UseCaseError> {
    db::write_tx(conn, |conn| {
        let p = lock_petition(conn, petition_id)?;
        let target = table::table.find(petition_id);
        // Retention counts from the closing: the first one, if it is closed again meanwhile.
        let closed_at = match status {
            PetitionStatus::Closed => Some(p.closed_at.unwrap_or(now)),
            PetitionStatus::Open => None,
        };
        diesel::update(target)
            .set((
                table::status.eq(status.as_str()),
                table::closed_at.eq(closed_at),
            ))
            .execute(conn)?;
        let past_date = p.closed_by_date(now);
        if status == PetitionStatus::Open && past_date.is_some() {
            diesel::update(target)
                .set(table::closes_at.eq(None::<NaiveDateTime>))
                .execute(conn)?;
        }
        let detail = match past_date {
            Some(date) if status == PetitionStatus::Open => format!("closing date {date} cleared"),
            _ => String::new(),
        };
        db::audit::record(
            conn,
            organizer_id,
            Some(petition_id),
            &format!("set-status-{}", status.as_str()),
            &detail,
            now,
        )?;
        Ok(Done::new((), Changes::petition(&p.slug)))
    })
}

/// Replaces a petition's image (`Some((content type, bytes))`, already checked to be one) or
/// removes it (`None`), and audits it, in one transaction.
pub fn set_image(
    conn: &mut DbConnection,
    organizer_id: i32,
    petition_id: i32,
    image: Option<(&'static str, Vec<u8>)>,
    now: NaiveDateTime,
) -> Result<Done<()>, UseCaseError> {
    db::write_tx(conn, |c| {
        let p = lock_petition(c, petition_id)?;
        match &image {
            None => {
                db::images::remove(c, petition_id)?;
                db::audit::record(
                    c,
                    Some(organizer_id),
                    Some(petition_id),
                    "remove-image",
                    "",
                    now,
                )?;
            }
            Some((content_type, bytes)) => {
                db::images::put(c, petition_id, content_type, bytes, now)?;
                db::audit::record(
                    c,
                    Some(organizer_id),
                    Some(petition_id),
                    "set-image",
                    &format!("{content_type}, {} bytes", bytes.len()),
                    now,
                )?;
            }
        }
        Ok(Done::new((), Changes::petition(&p.slug)))
    })
}

/// Gives the organizer account of `email` access to a petition, and audits it, in one
/// transaction; `false` (and nothing done) when no account has that address. Adding one who
/// manages it already changes nothing and records nothing.
pub fn add_colleague(
    conn: &mut DbConnection,
    organizer_id: i32,
    petition_id: i32,
    email: &str,
    now: NaiveDateTime,
) -> Result<bool, UseCaseError> {
    db::write_tx(conn, |c| {
        lock_petition(c, petition_id)?;
        let Some((colleague, _)) = db::organizers::credentials(c, email)? else {
            return Ok(false);
        };
        if !db::petitions::add_organizer(c, petition_id, colleague.id)? {
            return Ok(true);
        }
        db::audit::record(
            c,
            Some(organizer_id),
            Some(petition_id),
            "add-organizer",
            &colleague.email,
            now,
        )?;
        Ok(true)
    })
}
