//! The optional image of a petition, stored in the database (so every instance serves it).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::petition_images;
use super::{DbConnection, DbError};

/// Replaces a petition's image.
pub fn put(
    conn: &mut DbConnection,
    petition_id: i32,
    content_type: &str,
    data: &[u8],
    now: NaiveDateTime,
) -> Result<(), DbError> {
    conn.transaction::<(), diesel::result::Error, _>(|conn| {
        diesel::delete(petition_images::table.find(petition_id)).execute(conn)?;
        diesel::insert_into(petition_images::table)
            .values((
                petition_images::petition_id.eq(petition_id),
                petition_images::content_type.eq(content_type),
                petition_images::data.eq(data),
                petition_images::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(())
}

/// The image's content type, bytes and last change.
pub fn get(
    conn: &mut DbConnection,
    petition_id: i32,
) -> Result<Option<(String, Vec<u8>, NaiveDateTime)>, DbError> {
    Ok(petition_images::table
        .find(petition_id)
        .select((
            petition_images::content_type,
            petition_images::data,
            petition_images::updated_at,
        ))
        .first(conn)
        .optional()?)
}

/// When a petition's image last changed, if it has one (without reading it).
pub fn updated_at(
    conn: &mut DbConnection,
    petition_id: i32,
) -> Result<Option<NaiveDateTime>, DbError> {
    Ok(petition_images::table
        .find(petition_id)
        .select(petition_images::updated_at)
        .first(conn)
        .optional()?)
}

/// Whether a petition has an image (without reading it).
pub fn exists(conn: &mut DbConnection, petition_id: i32) -> Result<bool, DbError> {
    Ok(petition_images::table
        .find(petition_id)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn remove(conn: &mut DbConnection, petition_id: i32) -> Result<(), DbError> {
    diesel::delete(petition_images::table.find(petition_id)).execute(conn)?;
    Ok(())
}
