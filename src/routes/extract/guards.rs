//! Who may do what, as types: a handler that takes an [`Organizer`], an [`Admin`] or a
//! [`ManagedPetition`] runs only for them, and one that takes a [`CsrfForm`] only for a form
//! whose token matches the session's. The permission is in the handler's signature, checked
//! before its body runs, and cannot be forgotten in it.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::de::DeserializeOwned;

use super::auth::{self, Session};
use crate::db::{self, organizers, views::petition::PetitionView};
use crate::routes::AppState;
use crate::routes::error::AppError;

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

pub(super) fn state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))
}

/// The organizer a guarded scope found signed in for this request ([`signed_in_only`]), so
/// that [`Organizer`] does not ask the database again.
#[derive(Clone)]
struct SignedIn(organizers::Organizer, auth::Factor);

/// The guard of a scope (the dashboard): a request without a live organizer session is sent
/// to sign in before any handler of the scope runs.
///
/// A refusal is answered here as a response, not an error, so that the middleware around the
/// scope (security headers, `no-store`, the request log, the error page) sees it like any other.
pub async fn signed_in_only(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let signed_in = match req.extract::<Session>().await {
        Ok(session) => match auth::organizer(&session).await {
            // Enrolled, and this session has not proved it: only the second step is open.
            Ok(Some((_, auth::Factor::Pending))) => Err(AppError::SecondFactorRequired),
            Ok(Some(who)) => Ok(who),
            // Ended, expired, or an account deleted while signed in: the cookie goes too.
            Ok(None) => auth::sign_out(&session)
                .await
                .and(Err(AppError::LoginRequired)),
            Err(e) => Err(e),
        },
        Err(e) => Err(AppError::Internal(anyhow::anyhow!("session: {e}"))),
    };
    match signed_in {
        Ok((who, factor)) => {
            req.extensions_mut().insert(SignedIn(who, factor));
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(e) => Ok(req.error_response(e).map_into_right_body()),
    }
}

/// A signed-in organizer whose session the server still knows, and whose account still
/// exists; anyone else is sent to sign in.
pub struct Organizer {
    pub who: organizers::Organizer,
    /// Where this session stands with the organizer's second factor (never `Pending` here).
    pub factor: auth::Factor,
    pub session: Session,
}

impl Organizer {
    async fn of(req: HttpRequest, session: Session) -> Result<Organizer, AppError> {
        let known = req
            .extensions()
            .get::<SignedIn>()
            .map(|s| (s.0.clone(), s.1));
        let who = match known {
            Some(who) => Some(who),
            None => auth::organizer(&session).await?,
        };
        match who {
            Some((_, auth::Factor::Pending)) => Err(AppError::SecondFactorRequired),
            Some((who, factor)) => Ok(Organizer {
                who,
                factor,
                session,
            }),
            // Signed out, expired, or an account deleted while signed in: signed out here too.
            None => {
                auth::sign_out(&session).await?;
                Err(AppError::LoginRequired)
            }
        }
    }
}

impl FromRequest for Organizer {
    type Error = actix_web::Error;
    type Future = Boxed<Organizer>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = Session::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move { Ok(Organizer::of(req, session.await?).await?) })
    }
}

/// A signed-in admin. To anyone else the admin pages do not exist (404).
pub struct Admin(pub Organizer);

impl FromRequest for Admin {
    type Error = actix_web::Error;
    type Future = Boxed<Admin>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let organizer = Organizer::from_request(req, payload);
        Box::pin(async move {
            let organizer = organizer.await?;
            if organizer.who.is_admin {
                Ok(Admin(organizer))
            } else {
                Err(AppError::NotFound.into())
            }
        })
    }
}

/// The petition the path's `{slug}` names, with the signed-in organizer who may manage it
/// (its owner, a colleague added to it, or an admin). To anyone else it does not exist (404).
pub struct ManagedPetition {
    pub organizer: Organizer,
    pub view: PetitionView,
}

impl ManagedPetition {
    /// The petition's id.
    pub fn id(&self) -> i32 {
        self.view.petition.id
    }

    /// The organizer's id.
    pub fn who(&self) -> i32 {
        self.organizer.who.id
    }

    /// The petition's slug.
    pub fn slug(&self) -> &str {
        &self.view.petition.slug
    }
}

impl FromRequest for ManagedPetition {
    type Error = actix_web::Error;
    type Future = Boxed<ManagedPetition>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let organizer = Organizer::from_request(req, payload);
        let slug = req.match_info().get("slug").map(str::to_string);
        let state = state(req);
        Box::pin(async move {
            let organizer = organizer.await?;
            let (Some(slug), state) = (slug, state?) else {
                return Err(AppError::NotFound.into());
            };
            let who = organizer.who.clone();
            let view = db::run(&state.pool, move |c| {
                Ok(match db::views::petition::view(c, &slug)? {
                    Some(view) if organizers::may_manage(c, &who, &view.petition)? => Some(view),
                    _ => None,
                })
            })
            .await
            .map_err(AppError::from)?
            .ok_or(AppError::NotFound)?;
            Ok(ManagedPetition { organizer, view })
        })
    }
}

/// A form that carries the session's CSRF token in its `csrf_token` field.
pub trait WithCsrf {
    fn csrf_token(&self) -> &str;
}

/// Says which forms carry a `csrf_token: String` field.
#[macro_export]
macro_rules! with_csrf {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::routes::extract::guards::WithCsrf for $form {
            fn csrf_token(&self) -> &str {
                &self.csrf_token
            }
        })+
    };
}

/// A posted form whose CSRF token matches the session's (403 otherwise), checked before the
/// handler runs. actix extracts a handler's arguments together, so a handler that also needs a
/// guard takes [`Posted`], which checks the token first.
pub struct CsrfForm<T>(pub T);

impl<T> std::ops::Deref for CsrfForm<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + WithCsrf + 'static> FromRequest for CsrfForm<T> {
    type Error = actix_web::Error;
    type Future = Boxed<CsrfForm<T>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = Session::from_request(req, &mut Payload::None);
        let form = web::Form::<T>::from_request(req, payload);
        Box::pin(async move {
            let (session, form) = (session.await?, form.await?);
            auth::check_csrf(&session, form.csrf_token())?;
            Ok(CsrfForm(form.into_inner()))
        })
    }
}

/// A posted form and a guard (`Organizer`, `Admin`, `ManagedPetition`, or a one-time
/// [`Link`](super::link::Link)), in that order: the CSRF token is checked before the guard reads
/// anything, so a forged post is refused the same way (403) whatever it names.
pub struct Posted<T, G>(pub T, pub G);

impl<T, G> FromRequest for Posted<T, G>
where
    T: DeserializeOwned + WithCsrf + 'static,
    G: FromRequest + 'static,
    G::Error: Into<actix_web::Error>,
{
    type Error = actix_web::Error;
    type Future = Boxed<Posted<T, G>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = CsrfForm::<T>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let CsrfForm(form) = form.await?;
            let guard = G::from_request(&req, &mut Payload::None)
                .await
                .map_err(Into::into)?;
            Ok(Posted(form, guard))
        })
    }
}

/// A form with nothing but its CSRF token: for buttons (sign out, end a session, remove).
#[derive(Default, serde::Deserialize)]
pub struct Button {
    #[serde(default)]
    pub csrf_token: String,
}

crate::with_csrf!(Button);
