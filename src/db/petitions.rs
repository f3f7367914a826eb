//! Petitions, their goal ladders, targets and per-country counts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    country_counts, petition_goals, petition_targets, petition_translations, petitions, signatures,
};
use super::{DbConnection, DbError};
use crate::domain::{Country, GoalLadder, PetitionStatus, Slug};
use crate::i18n::Lang;

/// A petition row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = petitions)]
pub struct Petition {
    pub id: i32,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    pub body_html: String,
    pub started_by: String,
    pub owner_email: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub closes_at: Option<NaiveDateTime>,
    /// Counted online signatures (see `db::signatures::counted`).
    pub signature_count: i64,
    pub last_number: i32,
    /// Signatures gathered on paper, counted in the total but not in `signature_count`.
    pub paper_count: i64,
    /// Whether its signed log has been started (see `services::sequencer`): from then on every
    /// change to the total is queued as a log event in the transaction that makes it.
    pub log_started: bool,
    /// The log's origin line, fixed when it started.
    pub log_origin: Option<String>,
    /// When it was closed by hand (a closing date is `closes_at`): retention counts from it.
    pub closed_at: Option<NaiveDateTime>,
    /// The language of the original text (`hy`, `en`, `fr`, `ru`).
    pub language: String,
    /// Counts changes to the original text: a version translated from an older one is out
    /// of date.
    pub text_version: i32,
}

impl Petition {
    /// What the public sees and goals are measured against: online and paper signatures.
    pub fn total_count(&self) -> i64 {
        self.signature_count.saturating_add(self.paper_count)
    }

    /// Open means accepting signatures: status `open` and not past its closing time.
    pub fn is_open_at(&self, now: NaiveDateTime) -> bool {
        PetitionStatus::from_stored(&self.status) == PetitionStatus::Open
            && self.closed_by_date(now).is_none()
    }

    /// The closing time, if it has passed at `now`.
    pub fn closed_by_date(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        self.closes_at.filter(|c| *c <= now)
    }

    /// The status as the API reports it, taking the closing time into account.
    pub fn public_status(&self, now: NaiveDateTime) -> &'static str {
        if self.is_open_at(now) {
            "open"
        } else {
            "closed"
        }
    }
}

/// What creating a petition needs.
#[derive(Clone, Debug)]
pub struct NewPetition {
    pub slug: Slug,
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    pub started_by: String,
    pub owner_email: Option<String>,
    pub goals: GoalLadder,
    pub targets: Vec<String>,
    pub created_at: NaiveDateTime,
    pub closes_at: Option<NaiveDateTime>,
    /// The language the text is written in.
    pub language: Lang,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("a petition with the slug {0:?} already exists")]
    SlugTaken(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Creates an open petition with its goals, targets and a zeroed count per country.
pub fn create(conn: &mut DbConnection, new: &NewPetition) -> Result<i32, CreateError> {
    let body_html = crate::markdown::render(&new.body_markdown);
    let result = conn.transaction::<i32, diesel::result::Error, _>(|conn| {
        let id: i32 = diesel::insert_into(petitions::table)
            .values((
                petitions::slug.eq(new.slug.as_str()),
                petitions::title.eq(&new.title),
                petitions::summary.eq(&new.summary),
                petitions::body_markdown.eq(&new.body_markdown),
                petitions::body_html.eq(&body_html),
                petitions::started_by.eq(&new.started_by),
                petitions::owner_email.eq(&new.owner_email),
                petitions::status.eq(PetitionStatus::Open.as_str()),
                petitions::created_at.eq(new.created_at),
                petitions::closes_at.eq(new.closes_at),
                petitions::language.eq(new.language.code()),
            ))
            .returning(petitions::id)
            .get_result(conn)?;
        let goals: Vec<_> = new
            .goals
            .as_slice()
            .iter()
            .map(|&g| {
                (
                    petition_goals::petition_id.eq(id),
                    petition_goals::goal.eq(g),
                )
            })
            .collect();
        crate::with_backend!(conn, |c| diesel::insert_into(petition_goals::table)
            .values(&goals)
            .execute(c))?;
        let targets: Vec<_> = new
            .targets
            .iter()
            .enumerate()
            .map(|(i, name)| {
                (
                    petition_targets::petition_id.eq(id),
                    petition_targets::position.eq(i as i32),
                    petition_targets::name.eq(name),
                )
            })
            .collect();
        if !targets.is_empty() {
            crate::with_backend!(conn, |c| diesel::insert_into(petition_targets::table)
                .values(&targets)
                .execute(c))?;
        }
        let countries: Vec<_> = Country::codes()
            .map(|c| {
                (
                    country_counts::petition_id.eq(id),
                    country_counts::country.eq(c),
                )
            })
            .collect();
        for chunk in countries.chunks(100) {
            crate::with_backend!(conn, |c| diesel::insert_into(country_counts::table)
                .values(chunk)
                .execute(c))?;
        }
        Ok(id)
    });
    match result {
        Ok(id) => Ok(id),
        Err(e) if super::is_unique_violation(&e) => {
            Err(CreateError::SlugTaken(new.slug.as_str().to_string()))
        }
        Err(e) => Err(CreateError::Db(e.into())),
    }
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> Result<Option<Petition>, DbError> {
    Ok(petitions::table
        .filter(petitions::slug.eq(slug))
        .select(Petition::as_select())
        .first(conn)
        .optional()?)
}

/// Every petition, newest first.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Petition>, DbError> {
    Ok(petitions::table
        .order(petitions::created_at.desc())
        .select(Petition::as_select())
        .load(conn)?)
}

/// Petitions accepting signatures now, most signed first.
pub fn list_open(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Vec<Petition>, DbError> {
    Ok(petitions::table
        .filter(petitions::status.eq(PetitionStatus::Open.as_str()))
        .filter(
            petitions::closes_at
                .is_null()
                .or(petitions::closes_at.gt(now)),
        )
        .order(petitions::signature_count.desc())
        .select(Petition::as_select())
        .load(conn)?)
}

/// The goal ladders of several petitions at once, in the order of `ids`.
pub fn goals_of(conn: &mut DbConnection, ids: &[i32]) -> Result<Vec<GoalLadder>, DbError> {
    let rows: Vec<(i32, i32)> = petition_goals::table
        .filter(petition_goals::petition_id.eq_any(ids))
        .select((petition_goals::petition_id, petition_goals::goal))
        .load(conn)?;
    Ok(ids
        .iter()
        .map(|id| {
            GoalLadder::from_stored(
                rows.iter()
                    .filter(|(p, _)| p == id)
                    .map(|(_, g)| *g)
                    .collect(),
            )
        })
        .collect())
}

pub fn targets(conn: &mut DbConnection, petition_id: i32) -> Result<Vec<String>, DbError> {
    Ok(petition_targets::table
        .filter(petition_targets::petition_id.eq(petition_id))
        .order(petition_targets::position.asc())
        .select(petition_targets::name)
        .load(conn)?)
}

/// One language's version of a petition's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextVersion {
    pub lang: Lang,
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    pub body_html: String,
    pub targets: Vec<String>,
    /// Whether this is the original text (not a translation).
    pub original: bool,
    /// A translation made from an older original text: it needs an update.
    pub outdated: bool,
}

impl TextVersion {
    /// What the petition asks, in a line: its summary, or else the start of its text (at most
    /// `max` characters), for link previews and posters.
    pub fn ask(&self, max: usize) -> String {
        if self.summary.is_empty() {
            crate::markdown::plain_excerpt(&self.body_markdown, max)
        } else {
            self.summary.clone()
        }
    }
}

/// A version of a petition's text in another language, as given (with no addressees, the
/// original's stand).
#[derive(Clone, Debug)]
pub struct Translation {
    pub lang: Lang,
    pub text: crate::domain::PetitionText,
}

/// The petition's texts: the original, then its translations in the order of [`Lang::ALL`].
pub fn texts(
    conn: &mut DbConnection,
    petition: &Petition,
    targets: &[String],
) -> Result<Vec<TextVersion>, DbError> {
    let language = Lang::from_code(&petition.language).unwrap_or(Lang::En);
    let mut texts = vec![TextVersion {
        lang: language,
        title: petition.title.clone(),
        summary: petition.summary.clone(),
        body_markdown: petition.body_markdown.clone(),
        body_html: petition.body_html.clone(),
        targets: targets.to_vec(),
        original: true,
        outdated: false,
    }];
    type Row = (String, String, String, String, String, String, i32);
    let rows: Vec<Row> = petition_translations::table
        .filter(petition_translations::petition_id.eq(petition.id))
        .select((
            petition_translations::lang,
            petition_translations::title,
            petition_translations::summary,
            petition_translations::body_markdown,
            petition_translations::body_html,
            petition_translations::targets,
            petition_translations::source_version,
        ))
        .load(conn)?;
    let mut translated: Vec<TextVersion> = rows
        .into_iter()
        .filter_map(
            |(lang, title, summary, body_markdown, body_html, t, version)| {
                let lang = Lang::from_code(&lang).filter(|l| *l != language)?;
                let own: Vec<String> = t.lines().map(str::to_string).collect();
                Some(TextVersion {
                    lang,
                    title,
                    summary,
                    body_markdown,
                    body_html,
                    targets: if own.is_empty() {
                        targets.to_vec()
                    } else {
                        own
                    },
                    original: false,
                    outdated: version < petition.text_version,
                })
            },
        )
        .collect();
    translated.sort_by_key(|t| Lang::ALL.iter().position(|l| *l == t.lang));
    texts.extend(translated);
    Ok(texts)
}

/// Counted signatures per source tag (`None`: came without one), most first.
pub fn sources(
    conn: &mut DbConnection,
    petition_id: i32,
) -> Result<Vec<(Option<String>, i64)>, DbError> {
    let mut rows: Vec<(Option<String>, i64)> = signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(super::signatures::counted())
        .group_by(signatures::source)
        .select((signatures::source, diesel::dsl::count_star()))
        .load(conn)?;
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(rows)
}

/// The titles and summaries of petitions `ids` in `lang`, for those that have that version.
pub fn titles_in(
    conn: &mut DbConnection,
    ids: &[i32],
    lang: Lang,
) -> Result<std::collections::HashMap<i32, (String, String)>, DbError> {
    let rows: Vec<(i32, String, String)> = petition_translations::table
        .filter(petition_translations::petition_id.eq_any(ids))
        .filter(petition_translations::lang.eq(lang.code()))
        .select((
            petition_translations::petition_id,
            petition_translations::title,
            petition_translations::summary,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, t, s)| (id, (t, s))).collect())
}

/// A petition's title as a reader of `lang` gets it: the version in their language if it has
/// one, else the original's (also when `lang` is unknown, as an unreadable stored locale is);
/// with the language it is written in.
pub fn title_in(
    conn: &mut DbConnection,
    petition_id: i32,
    lang: Option<Lang>,
) -> Result<(Lang, String), DbError> {
    if let Some(lang) = lang
        && let Some((title, _)) = titles_in(conn, &[petition_id], lang)?.remove(&petition_id)
    {
        return Ok((lang, title));
    }
    let (title, language): (String, String) = petitions::table
        .find(petition_id)
        .select((petitions::title, petitions::language))
        .first(conn)?;
    Ok((Lang::from_code(&language).unwrap_or(Lang::En), title))
}

/// Adds or replaces a petition's version in another language, made from the original text as
/// it is now (`source_version`).
pub fn set_translation(
    conn: &mut DbConnection,
    petition_id: i32,
    source_version: i32,
    t: &Translation,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let body_html = crate::markdown::render(&t.text.body_markdown);
    diesel::delete(
        petition_translations::table
            .filter(petition_translations::petition_id.eq(petition_id))
            .filter(petition_translations::lang.eq(t.lang.code())),
    )
    .execute(conn)?;
    diesel::insert_into(petition_translations::table)
        .values((
            petition_translations::petition_id.eq(petition_id),
            petition_translations::lang.eq(t.lang.code()),
            petition_translations::title.eq(&t.text.title),
            petition_translations::summary.eq(&t.text.summary),
            petition_translations::body_markdown.eq(&t.text.body_markdown),
            petition_translations::body_html.eq(&body_html),
            petition_translations::targets.eq(t.text.targets.join("\n")),
            petition_translations::source_version.eq(source_version),
            petition_translations::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes a petition's version in `lang`; whether there was one.
pub fn remove_translation(
    conn: &mut DbConnection,
    petition_id: i32,
    lang: Lang,
) -> QueryResult<bool> {
    Ok(diesel::delete(
        petition_translations::table
            .filter(petition_translations::petition_id.eq(petition_id))
            .filter(petition_translations::lang.eq(lang.code())),
    )
    .execute(conn)?
        > 0)
}

/// What an organizer can change on a petition (not its slug: links to it are out in the world).
#[derive(Clone, Debug)]
pub struct PetitionEdit {
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    pub goals: GoalLadder,
    pub targets: Vec<String>,
    pub closes_at: Option<NaiveDateTime>,
    /// The language the text is written in.
    pub language: Lang,
}

/// Replaces a petition's text, goal ladder, targets and closing time in one transaction. When
/// the text (title, summary, body or addressees) changes, its translations become outdated.
pub fn update(conn: &mut DbConnection, id: i32, edit: &PetitionEdit) -> Result<(), DbError> {
    let body_html = crate::markdown::render(&edit.body_markdown);
    conn.transaction::<(), diesel::result::Error, _>(|conn| {
        let (title, summary, body): (String, String, String) = petitions::table
            .find(id)
            .select((
                petitions::title,
                petitions::summary,
                petitions::body_markdown,
            ))
            .first(conn)?;
        let old_targets: Vec<String> = petition_targets::table
            .filter(petition_targets::petition_id.eq(id))
            .order(petition_targets::position.asc())
            .select(petition_targets::name)
            .load(conn)?;
        let changed = title != edit.title
            || summary != edit.summary
            || body != edit.body_markdown
            || old_targets != edit.targets;
        diesel::update(petitions::table.find(id))
            .set((
                petitions::title.eq(&edit.title),
                petitions::summary.eq(&edit.summary),
                petitions::body_markdown.eq(&edit.body_markdown),
                petitions::body_html.eq(&body_html),
                petitions::closes_at.eq(edit.closes_at),
                petitions::language.eq(edit.language.code()),
                petitions::text_version.eq(petitions::text_version + i32::from(changed)),
            ))
            .execute(conn)?;
        diesel::delete(petition_goals::table.filter(petition_goals::petition_id.eq(id)))
            .execute(conn)?;
        for &goal in edit.goals.as_slice() {
            diesel::insert_into(petition_goals::table)
                .values((
                    petition_goals::petition_id.eq(id),
                    petition_goals::goal.eq(goal),
                ))
                .execute(conn)?;
        }
        diesel::delete(petition_targets::table.filter(petition_targets::petition_id.eq(id)))
            .execute(conn)?;
        for (i, name) in edit.targets.iter().enumerate() {
            diesel::insert_into(petition_targets::table)
                .values((
                    petition_targets::petition_id.eq(id),
                    petition_targets::position.eq(i as i32),
                    petition_targets::name.eq(name),
                ))
                .execute(conn)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Adds an organizer to the people who manage a petition; `false` if they were already. Asks
/// first rather than catching the unique violation: on PostgreSQL a failed statement ends the
/// transaction it is in (the caller's audit row would fail after it). Called under the
/// petition's lock, so no one adds the same pair in between.
pub fn add_organizer(
    conn: &mut DbConnection,
    petition_id: i32,
    organizer_id: i32,
) -> Result<bool, DbError> {
    use super::schema::petition_organizers;
    let already: i64 = petition_organizers::table
        .filter(petition_organizers::petition_id.eq(petition_id))
        .filter(petition_organizers::organizer_id.eq(organizer_id))
        .count()
        .get_result(conn)?;
    if already > 0 {
        return Ok(false);
    }
    diesel::insert_into(petition_organizers::table)
        .values((
            petition_organizers::petition_id.eq(petition_id),
            petition_organizers::organizer_id.eq(organizer_id),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Confirmed signatures that count, over every petition: the public counts, summed.
pub fn signatures_counted(conn: &mut DbConnection) -> Result<i64, DbError> {
    // Summed here: SUM's type differs between the two databases; petitions are few.
    let counts: Vec<i64> = petitions::table
        .select(petitions::signature_count)
        .load(conn)?;
    Ok(counts.into_iter().sum())
}
