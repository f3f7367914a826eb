//! Errors for people, logs for operators. Handlers return [`AppError`]; the status is chosen
//! here, and the error-page middleware in `app` renders a page in the visitor's language.
//! An internal error's cause chain goes to the log once, never into the response.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::db::DbError;

/// Which page to show for an error: translation keys of its title and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorPage {
    pub title_key: &'static str,
    pub message_key: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("petition closed")]
    PetitionClosed,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// Confirmation emails reached an hourly cap: to this email provider (`domain`) or in all.
    #[error("confirmation emails capped")]
    EmailsCapped { retry_after_secs: u64, domain: bool },
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A rule refuses the action in the current state (a closed petition, a cap); the key
    /// names the message.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("payload too large")]
    TooLarge,
    /// A state-changing request without a valid CSRF token.
    #[error("forbidden")]
    Forbidden,
    /// A dashboard page without a signed-in organizer: answered with a redirect to /login.
    #[error("login required")]
    LoginRequired,
    /// A dashboard page for an organizer whose session has not yet proved their second factor:
    /// answered with a redirect to its step (`/login/code`).
    #[error("second factor required")]
    SecondFactorRequired,
    #[error("database unavailable: {0}")]
    Unavailable(#[source] DbError),
    /// Too much work of one kind at once (password hashing): come back shortly.
    #[error("busy")]
    Busy { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> AppError {
        match e {
            // No connection could be had: a 503 tells proxies and people to retry shortly.
            _ if e.is_transient() => AppError::Unavailable(e),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> AppError {
        AppError::Internal(anyhow::Error::new(e).context("rendering a template"))
    }
}

impl AppError {
    pub fn page(&self) -> ErrorPage {
        let (title_key, message_key): (&'static str, &'static str) = match self {
            AppError::NotFound => ("error.not_found.title", "error.not_found.message"),
            AppError::PetitionClosed => ("error.closed.title", "error.closed.message"),
            AppError::RateLimited { .. } => {
                ("error.rate_limited.title", "error.rate_limited.message")
            }
            AppError::EmailsCapped { domain: true, .. } => {
                ("error.rate_limited.title", "error.emails_capped.message")
            }
            AppError::EmailsCapped { domain: false, .. } => (
                "error.rate_limited.title",
                "error.emails_capped_total.message",
            ),
            AppError::BadRequest(key) => ("error.bad_request.title", *key),
            AppError::Conflict(key) => ("error.conflict.title", *key),
            AppError::TooLarge => ("error.too_large.title", "error.too_large.message"),
            AppError::Forbidden | AppError::LoginRequired | AppError::SecondFactorRequired => {
                ("error.forbidden.title", "error.forbidden.message")
            }
            AppError::Unavailable(_) | AppError::Busy { .. } => {
                ("error.unavailable.title", "error.unavailable.message")
            }
            AppError::Internal(_) => ("error.internal.title", "error.internal.message"),
        };
        ErrorPage {
            title_key,
            message_key,
        }
    }

    /// The page for a status produced outside our handlers (extractors, routing).
    pub fn page_for_status(status: StatusCode) -> ErrorPage {
        let e = match status {
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => AppError::NotFound,
            StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge,
            StatusCode::TOO_MANY_REQUESTS => AppError::RateLimited {
                retry_after_secs: 60,
            },
            StatusCode::SERVICE_UNAVAILABLE => {
                AppError::Unavailable(DbError::Other("service unavailable".into()))
            }
            s if s.is_client_error() => AppError::BadRequest("error.bad_request.message"),
            _ => AppError::Internal(anyhow::anyhow!("unexpected status")),
        };
        e.page()
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::PetitionClosed => StatusCode::GONE,
            AppError::RateLimited { .. } | AppError::EmailsCapped { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::LoginRequired | AppError::SecondFactorRequired => StatusCode::SEE_OTHER,
            AppError::Unavailable(_) | AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            // A panic was logged by the panic hook where it happened: once is enough.
            AppError::Internal(e)
                if matches!(e.downcast_ref::<DbError>(), Some(DbError::Panicked)) => {}
            AppError::Internal(e) => tracing::error!(error = ?e, "request failed"),
            AppError::Unavailable(e) => tracing::warn!(error = %e, "database unavailable"),
            _ => {}
        }
        if let AppError::LoginRequired = self {
            return crate::routes::see_other("/login");
        }
        if let AppError::SecondFactorRequired = self {
            return crate::routes::see_other("/login/code");
        }
        let mut res = HttpResponse::build(self.status_code());
        if let AppError::RateLimited { retry_after_secs }
        | AppError::EmailsCapped {
            retry_after_secs, ..
        }
        | AppError::Busy { retry_after_secs } = self
        {
            res.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        if let AppError::Unavailable(_) = self {
            res.insert_header(("Retry-After", "5"));
        }
        let mut res = res.body(self.status_code().canonical_reason().unwrap_or("error"));
        res.extensions_mut().insert(self.page());
        res
    }
}

impl From<crate::usecases::UseCaseError> for AppError {
    fn from(e: crate::usecases::UseCaseError) -> AppError {
        use crate::usecases::UseCaseError;
        match e {
            UseCaseError::Refused(crate::domain::Refusal::PetitionClosed) => {
                AppError::PetitionClosed
            }
            UseCaseError::Refused(refusal) => AppError::Conflict(refusal.key()),
            UseCaseError::NotFound => AppError::NotFound,
            UseCaseError::Busy { retry_after_secs } => AppError::Busy { retry_after_secs },
            UseCaseError::Unavailable(why) => AppError::Unavailable(DbError::Other(why)),
            UseCaseError::Db(e) => e.into(),
        }
    }
}

impl From<crate::services::password::HashError> for AppError {
    fn from(e: crate::services::password::HashError) -> AppError {
        use crate::services::password::HashError;
        match e {
            HashError::Busy => AppError::Busy {
                retry_after_secs: 5,
            },
            HashError::Failed(why) => AppError::Internal(anyhow::anyhow!(why)),
        }
    }
}
