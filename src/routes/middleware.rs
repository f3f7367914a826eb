//! What every response goes through: the request log, the rules a response follows by the
//! route it matched, and the error page.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::{HttpResponse, web};

use super::AppState;
use crate::routes::error::{AppError, ErrorPage};

/// Logs one line per request (method, route pattern, status, duration) and counts it in the
/// metrics.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "-".to_string());
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    tracing::info!(
        http.method = %method,
        http.route = %route,
        http.status = status,
        elapsed_ms = elapsed.as_millis() as u64,
        "request"
    );
    if let Some(state) = res
        .request()
        .app_data::<actix_web::web::Data<super::AppState>>()
    {
        state
            .metrics
            .request(method.as_str(), route, status, elapsed);
    }
    Ok(res)
}

/// Routes whose pages may show personal data or carry a credential in the URL: organizer
/// pages, confirmation, withdrawal and receipt links, sign-in, setup, reset and unsubscribe.
const PRIVATE_PREFIXES: [&str; 7] = [
    "/dashboard",
    "/confirm/",
    "/withdraw/",
    "/login",
    "/setup/",
    "/unsubscribe/",
    "/logout",
];

/// The rules each response follows by the route it matched (one lookup of it: paths arrive
/// percent-encoded, `/%64ashboard` routes to `/dashboard`, so the pattern decides, never the
/// path; a request no route matched is private). One place instead of headers and calls each
/// handler must remember, error pages included:
/// - a private page (organizers', or one with a token or typed data in it) is never kept;
/// - a public one (`routes::PUBLIC_ROUTES`) may be kept for the refresh interval, varying by
///   language;
/// - `X-Frame-Options: DENY` on every response but the widget's (`/petitions/{slug}/embed`,
///   whose own CSP names who may frame it), for old browsers that read only this header.
///
/// What a change makes stale is not guessed here from the URL: use cases say what they changed
/// and `AppState::act` acts on it.
pub async fn route_rules(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let route = res.request().match_pattern();
    let route = route.as_deref();
    let status = res.status();
    let method = res.request().method().clone();
    let state = res.request().app_data::<web::Data<AppState>>().cloned();

    let private = match route {
        Some(route) => {
            PRIVATE_PREFIXES.iter().any(|p| route.starts_with(p))
                || route.contains("/receipt/")
                // A sign form sent back holds what its signer typed.
                || route == "/petitions/{slug}/sign"
        }
        None => true,
    };
    let public = route.is_some_and(|r| super::PUBLIC_ROUTES.contains(&r))
        && method == actix_web::http::Method::GET
        && (status.is_success() || status == actix_web::http::StatusCode::NOT_MODIFIED);
    let framable = status.is_success() && route == Some("/petitions/{slug}/embed");
    let headers = res.headers_mut();
    if private {
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    } else if public {
        if let Some(state) = &state
            && !headers.contains_key(header::CACHE_CONTROL)
            && let Ok(v) = header::HeaderValue::from_str(state.public_cache_control())
        {
            headers.insert(header::CACHE_CONTROL, v);
        }
        if route.is_some_and(|r| super::LANGUAGE_ROUTES.contains(&r)) {
            headers.append(
                header::VARY,
                header::HeaderValue::from_static("Accept-Language"),
            );
        }
    } else if status.is_server_error() {
        // An outage is not to be kept in place of the page.
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    if !framable {
        headers.insert(
            header::X_FRAME_OPTIONS,
            header::HeaderValue::from_static("DENY"),
        );
    }
    Ok(res)
}

/// Renders a translated HTML page for any error response that is not one already.
pub fn render_error_page<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_html_or_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    if is_html_or_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let page = res
        .response()
        .extensions()
        .get::<ErrorPage>()
        .cloned()
        .unwrap_or_else(|| AppError::page_for_status(status));
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let body = match super::public::pages::error_body(res.request(), &page) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
    };
    let (req, _) = res.into_parts();
    let mut new = HttpResponse::build(status);
    new.content_type("text/html; charset=utf-8");
    if let Some(v) = retry_after {
        new.insert_header((header::RETRY_AFTER, v));
    }
    let res: ServiceResponse<EitherBody<B>> =
        ServiceResponse::new(req, new.body(body)).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}
