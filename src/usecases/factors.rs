//! Organizers' second factors: enrolling an authenticator app, the recovery codes that come
//! with it, and the second step of a sign-in. Each is one transaction with its audit row; an
//! organizer's row is locked first (as a sign-in and a reset take it), so two codes typed at
//! once cannot both be accepted.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::UseCaseError;
use crate::db::schema::{organizer_factors, organizer_sessions, organizers, recovery_codes};
use crate::db::{self, DbConnection, DbError};
use crate::factors::{self, Authenticator};
use crate::keys::Keys;
use crate::sealed::Purpose;

const AUTHENTICATOR: &str = "totp";

/// What an organizer has enrolled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enrolled {
    /// An authenticator app whose first code was accepted.
    pub authenticator: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

/// Whether a sign-in of organizer `organizer_id` asks for a second factor: one query, for
/// the session check every dashboard request makes.
pub fn asks_second_factor(conn: &mut DbConnection, organizer_id: i32) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(
        organizer_factors::table
            .filter(organizer_factors::organizer_id.eq(organizer_id))
            .filter(organizer_factors::confirmed_at.is_not_null()),
    ))
    .get_result(conn)?)
}

/// What organizer `organizer_id` has enrolled.
pub fn enrolled(conn: &mut DbConnection, organizer_id: i32) -> Result<Enrolled, DbError> {
    let authenticator = asks_second_factor(conn, organizer_id)?;
    let recovery_codes_left: i64 = recovery_codes::table
        .filter(recovery_codes::organizer_id.eq(organizer_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(Enrolled {
        authenticator,
        recovery_codes_left,
    })
}

fn lock_organizer(conn: &mut DbConnection, organizer_id: i32) -> Result<(), UseCaseError> {
    let locked = diesel::update(organizers::table.find(organizer_id))
        .set(organizers::id.eq(organizers::id))
        .execute(conn)?;
    if locked == 1 {
        Ok(())
    } else {
        Err(UseCaseError::NotFound)
    }
}

/// Begins enrolling an authenticator app: a new secret, kept sealed and unconfirmed until a
/// code from the app proves it holds it (an enrolment begun before and never finished is
/// replaced). Returns the authenticator, whose address the page shows.
pub fn begin_authenticator(
    conn: &mut DbConnection,
    keys: &Keys,
    organizer_id: i32,
    now: NaiveDateTime,
) -> Result<Authenticator, UseCaseError> {
    let app = Authenticator::generate();
    let sealed = keys.seal(Purpose::Factor, &hex::encode(app.secret()));
    db::write_tx(conn, |conn| {
        lock_organizer(conn, organizer_id)?;
        diesel::delete(
            organizer_factors::table
                .filter(organizer_factors::organizer_id.eq(organizer_id))
                .filter(organizer_factors::confirmed_at.is_null()),
        )
        .execute(conn)?;
        diesel::insert_into(organizer_factors::table)
            .values((
                organizer_factors::organizer_id.eq(organizer_id),
                organizer_factors::kind.eq(AUTHENTICATOR),
                organizer_factors::secret.eq(&sealed),
                organizer_factors::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok::<_, UseCaseError>(())
    })?;
    Ok(app)
}

/// The authenticator an organizer began enrolling and has not confirmed, to show its address
/// again (a page reloaded); `None` if there is none.
pub fn pending_authenticator(
    conn: &mut DbConnection,
    keys: &Keys,
    organizer_id: i32,
) -> Result<Option<Authenticator>, UseCaseError> {
    let sealed: Option<String> = organizer_factors::table
        .filter(organizer_factors::organizer_id.eq(organizer_id))
        .filter(organizer_factors::confirmed_at.is_null())
        .order(organizer_factors::id.desc())
        .select(organizer_factors::secret)
        .first(conn)
        .optional()?;
    sealed.map(|s| open_secret(keys, &s)).transpose()
}

fn open_secret(keys: &Keys, sealed: &str) -> Result<Authenticator, UseCaseError> {
    let hex_secret: String = keys
        .open(Purpose::Factor, sealed)
        .map_err(|e| DbError::Other(format!("a second factor's secret: {e}")))?;
    let bytes = hex::decode(hex_secret)
        .map_err(|e| DbError::Other(format!("a second factor's secret: {e}")))?;
    Authenticator::from_secret(bytes).map_err(|e| DbError::Other(e.to_string()).into())
}

/// Finishes enrolling the authenticator app with a code from it, and audits it; the session
/// it was typed in (`session_hash`) has proved the factor with it. The first factor an
/// organizer enrols comes with [`factors::RECOVERY_CODES`] recovery codes, returned here to be
/// shown once (only their hashes are kept). `None`: the code is not the app's (nothing
/// changed).
pub fn confirm_authenticator(
    conn: &mut DbConnection,
    keys: &Keys,
    organizer_id: i32,
    session_hash: &str,
    code: &str,
    now: NaiveDateTime,
) -> Result<Option<Vec<String>>, UseCaseError> {
    let unix = unix_seconds(now);
    db::write_tx(conn, |conn| {
        lock_organizer(conn, organizer_id)?;
        let pending: Option<(i32, String)> = organizer_factors::table
            .filter(organizer_factors::organizer_id.eq(organizer_id))
            .filter(organizer_factors::confirmed_at.is_null())
            .order(organizer_factors::id.desc())
            .select((organizer_factors::id, organizer_factors::secret))
            .first(conn)
            .optional()?;
        let Some((id, sealed)) = pending else {
            return Ok(None);
        };
        let Some(step) = open_secret(keys, &sealed)?.accepts(code, unix, None) else {
            return Ok(None);
        };
        diesel::update(organizer_factors::table.find(id))
            .set((
                organizer_factors::confirmed_at.eq(Some(now)),
                organizer_factors::last_step.eq(Some(step_value(step))),
            ))
            .execute(conn)?;
        let has_codes: i64 = recovery_codes::table
            .filter(recovery_codes::organizer_id.eq(organizer_id))
            .count()
            .get_result(conn)?;
        let codes = if has_codes == 0 {
            let codes = factors::recovery_codes();
            for code in &codes {
                diesel::insert_into(recovery_codes::table)
                    .values((
                        recovery_codes::organizer_id.eq(organizer_id),
                        recovery_codes::code_hash.eq(factors::recovery_hash(code)),
                        recovery_codes::created_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            codes
        } else {
            Vec::new()
        };
        prove(conn, organizer_id, session_hash, now)?;
        db::audit::record(
            conn,
            Some(organizer_id),
            None,
            "enrol-authenticator",
            "",
            now,
        )?;
        Ok(Some(codes))
    })
}

/// How a second step went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondStep {
    /// A code from the authenticator app.
    Authenticator,
    /// A recovery code, now used up; `left` remain.
    RecoveryCode { left: i64 },
    /// Neither (wrong, used already, or from an earlier step).
    Refused,
}

/// The second step of a sign-in: `code` from the organizer's authenticator app (each code
/// once: its step must be later than the last accepted) or one of their recovery codes (each
/// once). Accepted, the session `session_hash` is marked as having proved it; every attempt
/// is audited.
pub fn second_step(
    conn: &mut DbConnection,
    keys: &Keys,
    organizer_id: i32,
    session_hash: &str,
    code: &str,
    now: NaiveDateTime,
) -> Result<SecondStep, UseCaseError> {
    let unix = unix_seconds(now);
    db::write_tx(conn, |conn| {
        lock_organizer(conn, organizer_id)?;
        let apps: Vec<(i32, String, Option<i64>)> = organizer_factors::table
            .filter(organizer_factors::organizer_id.eq(organizer_id))
            .filter(organizer_factors::confirmed_at.is_not_null())
            .select((
                organizer_factors::id,
                organizer_factors::secret,
                organizer_factors::last_step,
            ))
            .load(conn)?;
        let mut outcome = SecondStep::Refused;
        for (id, sealed, last) in apps {
            let last = last.and_then(|l| u64::try_from(l).ok());
            if let Some(step) = open_secret(keys, &sealed)?.accepts(code, unix, last) {
                diesel::update(organizer_factors::table.find(id))
                    .set(organizer_factors::last_step.eq(Some(step_value(step))))
                    .execute(conn)?;
                outcome = SecondStep::Authenticator;
                break;
            }
        }
        if outcome == SecondStep::Refused {
            let used = diesel::update(
                recovery_codes::table
                    .filter(recovery_codes::organizer_id.eq(organizer_id))
                    .filter(recovery_codes::code_hash.eq(factors::recovery_hash(code)))
                    .filter(recovery_codes::used_at.is_null()),
            )
            .set(recovery_codes::used_at.eq(Some(now)))
            .execute(conn)?;
            if used > 0 {
                let left: i64 = recovery_codes::table
                    .filter(recovery_codes::organizer_id.eq(organizer_id))
                    .filter(recovery_codes::used_at.is_null())
                    .count()
                    .get_result(conn)?;
                outcome = SecondStep::RecoveryCode { left };
            }
        }
        let action = match outcome {
            SecondStep::Authenticator => "second-factor",
            SecondStep::RecoveryCode { .. } => "recovery-code-used",
            SecondStep::Refused => "second-factor-refused",
        };
        if outcome != SecondStep::Refused {
            prove(conn, organizer_id, session_hash, now)?;
        }
        db::audit::record(conn, Some(organizer_id), None, action, "", now)?;
        Ok(outcome)
    })
}

/// Removes the second factors and recovery codes of the organizer with the address `account`
/// and ends their sessions, from the command line (an operator helping one who lost both their
/// app and their codes), and audits it. `false` if no account has that address.
pub fn reset(
    conn: &mut DbConnection,
    account: &str,
    now: NaiveDateTime,
) -> Result<bool, UseCaseError> {
    db::write_tx(conn, |conn| {
        let Some((who, _)) = db::organizers::credentials(conn, account)? else {
            return Ok(false);
        };
        lock_organizer(conn, who.id)?;
        let factors = diesel::delete(
            organizer_factors::table.filter(organizer_factors::organizer_id.eq(who.id)),
        )
        .execute(conn)?;
        diesel::delete(recovery_codes::table.filter(recovery_codes::organizer_id.eq(who.id)))
            .execute(conn)?;
        let sessions = db::sessions::delete_all_of(conn, who.id)?;
        db::audit::record(
            conn,
            None,
            None,
            "reset-second-factors",
            &format!(
                "{} ({factors} factors, {sessions} sessions; command line)",
                who.email
            ),
            now,
        )?;
        Ok(true)
    })
}

/// Marks the session `session_hash` of `organizer_id` as having proved the second factor now.
fn prove(
    conn: &mut DbConnection,
    organizer_id: i32,
    session_hash: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(
        organizer_sessions::table
            .filter(organizer_sessions::id_hash.eq(session_hash))
            .filter(organizer_sessions::organizer_id.eq(organizer_id)),
    )
    .set(organizer_sessions::factor_at.eq(Some(now)))
    .execute(conn)?;
    Ok(())
}

fn unix_seconds(now: NaiveDateTime) -> u64 {
    u64::try_from(now.and_utc().timestamp()).unwrap_or(0)
}

fn step_value(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}
