//! Organizer authentication: argon2id passwords, signed and encrypted session cookies,
//! CSRF tokens, login throttling.

pub mod password;

use actix_session::Session;
use rand::RngCore;

use crate::error::AppError;

const ORGANIZER_KEY: &str = "organizer_id";
const CSRF_KEY: &str = "csrf";
/// Name of the hidden field every state-changing organizer form carries.
pub const CSRF_FIELD: &str = "csrf_token";

/// The CSRF token of this session, created on first use. Forms embed it; POSTs must echo it.
pub fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Ok(Some(token)) = session.get::<String>(CSRF_KEY) {
        return Ok(token);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    session
        .insert(CSRF_KEY, &token)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session: {e}")))?;
    Ok(token)
}

/// Refuses a state-changing request whose form token does not match the session's.
pub fn check_csrf(session: &Session, submitted: &str) -> Result<(), AppError> {
    let expected = session.get::<String>(CSRF_KEY).ok().flatten();
    match expected {
        Some(expected)
            if constant_time_eq::constant_time_eq(expected.as_bytes(), submitted.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(AppError::Forbidden),
    }
}

/// Signs an organizer in: a fresh session (new cookie, new CSRF token) against fixation.
pub fn sign_in(session: &Session, organizer_id: i32) -> Result<(), AppError> {
    session.renew();
    session.remove(CSRF_KEY);
    session
        .insert(ORGANIZER_KEY, organizer_id)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session: {e}")))
}

pub fn sign_out(session: &Session) {
    session.purge();
}

/// The signed-in organizer's id, if any.
pub fn organizer_id(session: &Session) -> Option<i32> {
    session.get::<i32>(ORGANIZER_KEY).ok().flatten()
}
