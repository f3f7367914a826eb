//! Figures for the organizer dashboard. Not on the public hot path: counting here is fine.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use crate::db::schema::signatures;
use crate::db::{DbConnection, DbError};

/// Confirmed, valid signatures of a petition confirmed at or after `since`.
pub fn confirmed_since(
    conn: &mut DbConnection,
    petition_id: i32,
    since: NaiveDateTime,
) -> Result<i64, DbError> {
    Ok(signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(crate::db::signatures::counted())
        .filter(signatures::confirmed_at.ge(since))
        .count()
        .get_result(conn)?)
}

/// When the earliest counted signature of a petition was confirmed.
pub fn first_confirmed(
    conn: &mut DbConnection,
    petition_id: i32,
) -> Result<Option<NaiveDateTime>, DbError> {
    Ok(signatures::table
        .filter(signatures::petition_id.eq(petition_id))
        .filter(crate::db::signatures::counted())
        .select(diesel::dsl::min(signatures::confirmed_at))
        .first(conn)?)
}

#[derive(QueryableByName, Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// `YYYY-MM-DD`, UTC.
    #[diesel(sql_type = Text)]
    pub day: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// Confirmed, valid signatures per UTC day since `since`, days without any left out.
pub fn per_day(
    conn: &mut DbConnection,
    petition_id: i32,
    since: NaiveDateTime,
) -> Result<Vec<Day>, DbError> {
    // Backend-specific: the two databases name "the date part" differently. The WHERE clause
    // spells out `signatures::counted` (confirmed, not invalidated) in SQL.
    let days = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT date(confirmed_at) AS day, COUNT(*) AS count FROM signatures \
             WHERE petition_id = ? AND status = 'confirmed' AND invalidated_at IS NULL \
             AND confirmed_at >= ? GROUP BY day ORDER BY day",
        )
        .bind::<Integer, _>(petition_id)
        .bind::<Timestamp, _>(since)
        .load::<Day>(c)?,
        DbConnection::Postgres(c) => diesel::sql_query(
            "SELECT to_char(confirmed_at, 'YYYY-MM-DD') AS day, COUNT(*) AS count FROM signatures \
             WHERE petition_id = $1 AND status = 'confirmed' AND invalidated_at IS NULL \
             AND confirmed_at >= $2 GROUP BY 1 ORDER BY 1",
        )
        .bind::<Integer, _>(petition_id)
        .bind::<Timestamp, _>(since)
        .load::<Day>(c)?,
    };
    Ok(days)
}
