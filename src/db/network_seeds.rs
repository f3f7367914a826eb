//! The random seed of each day's network-hash key. Only today's is kept.

use diesel::prelude::*;

use super::schema::network_hash_seeds;
use super::{DbConnection, DbError};

/// Today's seed (`day` as `YYYY-MM-DD`, UTC): the one another instance already made, or
/// `fresh` stored as today's. Seeds of earlier days are deleted on the way (never a later one: another instance whose clock
/// is a second ahead may already use it).
pub fn seed_for(conn: &mut DbConnection, day: &str, fresh: &str) -> Result<String, DbError> {
    conn.transaction::<String, diesel::result::Error, _>(|conn| {
        diesel::delete(network_hash_seeds::table.filter(network_hash_seeds::day.lt(day)))
            .execute(conn)?;
        crate::with_backend!(conn, |c| diesel::insert_into(network_hash_seeds::table)
            .values((
                network_hash_seeds::day.eq(day),
                network_hash_seeds::seed.eq(fresh),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        network_hash_seeds::table
            .find(day)
            .select(network_hash_seeds::seed)
            .first(conn)
    })
    .map_err(Into::into)
}
