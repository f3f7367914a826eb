//! The random seed of each day's network-hash key. Only the current day's is kept.

use diesel::prelude::*;

use super::schema::network_hash_seeds;
use super::{DbConnection, DbError};

/// The seed to hash with on `day` (`YYYY-MM-DD`, UTC): the newest one stored, if it is for
/// `day` or later (another instance whose clock is a little ahead may already have started the
/// next day: then both use that one, and an older day is never brought back), else `fresh`,
/// stored as `day`'s. Seeds of earlier days are deleted on the way.
pub fn seed_for(conn: &mut DbConnection, day: &str, fresh: &str) -> Result<String, DbError> {
    super::write_tx(conn, |conn| {
        forget_before(conn, day)?;
        let newest = network_hash_seeds::table
            .filter(network_hash_seeds::day.ge(day))
            .order(network_hash_seeds::day.desc())
            .select(network_hash_seeds::seed)
            .first::<String>(conn)
            .optional()?;
        if let Some(seed) = newest {
            return Ok(seed);
        }
        // Two instances may start the day at once: the first insert wins, both read it.
        crate::with_backend!(conn, |c| diesel::insert_into(network_hash_seeds::table)
            .values((
                network_hash_seeds::day.eq(day),
                network_hash_seeds::seed.eq(fresh),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        Ok(network_hash_seeds::table
            .find(day)
            .select(network_hash_seeds::seed)
            .first(conn)?)
    })
}

/// Deletes the seeds of days before `day`; returns how many.
pub fn forget_before(conn: &mut DbConnection, day: &str) -> Result<usize, DbError> {
    Ok(
        diesel::delete(network_hash_seeds::table.filter(network_hash_seeds::day.lt(day)))
            .execute(conn)?,
    )
}
