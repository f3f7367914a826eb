//! Organizer authentication: argon2id passwords, server-side sessions, CSRF tokens, login
//! throttling and known-device cookies.
//!
//! The session cookie is encrypted and signed, and carries nothing but random values: the
//! session id once signed in (the server keeps only its SHA-256, with the organizer, start and
//! last use), or, before that, the CSRF token of the sign-in form. Whoever holds the key can
//! forge a cookie, but not a session id the server knows. Logging out deletes the session row,
//! a password reset deletes every session of that organizer, and a session expires after
//! `session_max_hours` or `session_idle_minutes` without use, whatever the browser keeps.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use rand::RngCore;
use sha2::Digest;

use crate::db::{self, organizers, sessions};
use crate::keys::Keys;
use crate::routes::error::AppError;

const SESSION_ID_KEY: &str = "sid";
const CSRF_KEY: &str = "csrf";
/// Name of the hidden field every state-changing organizer form carries.
pub const CSRF_FIELD: &str = "csrf_token";
/// The cookie that marks a browser an organizer has signed in from before.
pub const DEVICE_COOKIE: &str = "undersigned_device";

/// A session is not written to more often than this just for being used.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// The request's session: the cookie, and what is needed to check it against the server.
pub struct Session {
    cookie: actix_session::Session,
    keys: Arc<Keys>,
    pool: db::Pool,
    lifetime: sessions::Lifetime,
}

impl FromRequest for Session {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Session, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let cookie = actix_session::Session::from_request(req, payload);
        let state = req
            .app_data::<web::Data<crate::routes::AppState>>()
            .cloned();
        Box::pin(async move {
            let cookie = cookie.await?;
            let state = state
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))?;
            Ok(Session {
                cookie,
                keys: state.keys.clone(),
                pool: state.pool.clone(),
                lifetime: state.session_lifetime(),
            })
        })
    }
}

fn session_error(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("session: {e}"))
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the server stores for a session id: its SHA-256.
fn id_hash(id: &str) -> String {
    hex::encode(sha2::Sha256::digest(id.as_bytes()))
}

impl Session {
    fn session_id(&self) -> Option<String> {
        self.cookie.get::<String>(SESSION_ID_KEY).ok().flatten()
    }

    /// The CSRF token forms embed: derived from the session id once signed in (so it ends with
    /// the session), a random value kept in the cookie before that.
    fn expected_csrf(&self) -> Option<String> {
        match self.session_id() {
            Some(id) => Some(self.keys.csrf_for(&id)),
            None => self.cookie.get::<String>(CSRF_KEY).ok().flatten(),
        }
    }
}

/// The CSRF token of this session, created on first use. Forms embed it; POSTs must echo it.
pub fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.expected_csrf() {
        return Ok(token);
    }
    let token = random_hex();
    session
        .cookie
        .insert(CSRF_KEY, &token)
        .map_err(session_error)?;
    Ok(token)
}

/// Refuses a state-changing request whose form token does not match the session's.
pub fn check_csrf(session: &Session, submitted: &str) -> Result<(), AppError> {
    match session.expected_csrf() {
        Some(expected)
            if constant_time_eq::constant_time_eq(expected.as_bytes(), submitted.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(AppError::Forbidden),
    }
}

/// Signs in an organizer whose password was just checked against `password_hash`: a new
/// session row and a new cookie holding only its random id (a fresh cookie and CSRF token,
/// against fixation); the browser's previous session ends. `false`, and nothing changes, when
/// the password changed since it was checked.
pub async fn sign_in(
    session: &Session,
    organizer_id: i32,
    password_hash: String,
) -> Result<bool, AppError> {
    let id = random_hex();
    let hash = id_hash(&id);
    let replaces = session.session_id().map(|old| id_hash(&old));
    let lifetime = session.lifetime;
    let started = crate::usecases::run(&session.pool, move |c| {
        let new = sessions::NewSession {
            id_hash: &hash,
            organizer_id,
            password_hash: &password_hash,
            replaces: replaces.as_deref(),
        };
        crate::usecases::sessions::start(c, &new, db::now(), lifetime)
    })
    .await?;
    if !started {
        return Ok(false);
    }
    session.cookie.renew();
    session.cookie.clear();
    session
        .cookie
        .insert(SESSION_ID_KEY, id)
        .map_err(session_error)?;
    Ok(true)
}

/// Ends this session on the server and drops the cookie.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    if let Some(id) = session.session_id() {
        let hash = id_hash(&id);
        db::run(&session.pool, move |c| sessions::delete(c, &hash)).await?;
    }
    session.cookie.purge();
    Ok(())
}

/// Where a session stands with its organizer's second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// The organizer has enrolled none.
    NotEnrolled,
    /// Enrolled, and this session has not proved it yet: only the second step is open.
    Pending,
    /// Proved in this session, at this time.
    Proved(chrono::NaiveDateTime),
}

/// The signed-in organizer and where their session stands with the second factor, session
/// and account read in one trip to the database: `None` without a session, when the server no
/// longer knows it (signed out, ended by a password reset or an admin, expired, idle too long),
/// or when its account is gone.
pub async fn organizer(
    session: &Session,
) -> Result<Option<(organizers::Organizer, Factor)>, AppError> {
    let Some(id) = session.session_id() else {
        return Ok(None);
    };
    let hash = id_hash(&id);
    let lifetime = session.lifetime;
    Ok(db::run(&session.pool, move |c| {
        let Some((id, factor_at)) = sessions::resolve(c, &hash, db::now(), lifetime, TOUCH_EVERY)?
        else {
            return Ok(None);
        };
        let Some(who) = organizers::find(c, id)? else {
            return Ok(None);
        };
        let factor = match factor_at {
            Some(at) => Factor::Proved(at),
            None if crate::usecases::factors::asks_second_factor(c, id)? => Factor::Pending,
            None => Factor::NotEnrolled,
        };
        Ok(Some((who, factor)))
    })
    .await?)
}

/// The hash of this session's id, as the server keeps it.
pub fn session_hash(session: &Session) -> Option<String> {
    session.session_id().map(|id| id_hash(&id))
}

/// The value of a known-device cookie for an account with this password hash: a random nonce
/// and its MAC. Bound to the password, so a reset forgets every known device.
pub fn device_cookie_value(keys: &Keys, password_hash: &str) -> String {
    let nonce = &random_hex()[..32];
    format!("{nonce}.{}", keys.device_mac(password_hash, nonce))
}

/// The device nonce in `value` when it is a cookie this site made for the account with this
/// password hash.
pub fn known_device<'a>(keys: &Keys, password_hash: &str, value: &'a str) -> Option<&'a str> {
    let (nonce, mac) = value.split_once('.')?;
    let expected = keys.device_mac(password_hash, nonce);
    (nonce.len() == 32 && constant_time_eq::constant_time_eq(expected.as_bytes(), mac.as_bytes()))
        .then_some(nonce)
}
