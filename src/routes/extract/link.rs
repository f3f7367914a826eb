//! The token of a link sent by email, from the path's `{token}`, read before the handler runs: a
//! malformed link, or a one-time link that can no longer be used, is answered with its kind's
//! page instead.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use crate::db;
use crate::domain::{ConfirmationToken, TokenHash};
use crate::i18n::Tr;
use crate::routes::error::AppError;

/// Whether a one-time link, by its token's hash, can still be used at a time.
pub type StillUsable =
    fn(&mut db::DbConnection, &TokenHash, chrono::NaiveDateTime) -> Result<bool, db::DbError>;

/// A kind of link sent by email: confirmation, withdrawal, setup, password reset.
pub trait LinkKind: 'static {
    /// For a one-time link: whether it can still be used. Other links are looked up by their
    /// handler.
    const STILL_USABLE: Option<StillUsable> = None;

    /// The page for a link of this kind that leads nowhere.
    fn dead_end(req: &HttpRequest, tr: Tr) -> Result<HttpResponse, AppError>;
}

/// The well-formed token of a `K` link; of a one-time link, one that can still be used.
pub struct Link<K> {
    pub token: ConfirmationToken,
    kind: PhantomData<K>,
}

impl<K: LinkKind> Link<K> {
    async fn of(req: &HttpRequest, token: &str) -> Result<Option<Link<K>>, AppError> {
        let Some(token) = ConfirmationToken::parse(token) else {
            return Ok(None);
        };
        if let Some(still_usable) = K::STILL_USABLE {
            let state = super::guards::state(req)?;
            let hash = token.hash();
            let now = db::now();
            if !db::run(&state.pool, move |c| still_usable(c, &hash, now)).await? {
                return Ok(None);
            }
        }
        Ok(Some(Link {
            token,
            kind: PhantomData,
        }))
    }
}

impl<K: LinkKind> FromRequest for Link<K> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Link<K>, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let token = web::Path::<String>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let token = token.await?;
            match Link::of(&req, &token).await? {
                Some(link) => Ok(link),
                None => {
                    let tr = Tr::new(super::lang::of_request(&req));
                    let page = K::dead_end(&req, tr)?;
                    Err(InternalError::from_response("a link that leads nowhere", page).into())
                }
            }
        })
    }
}
