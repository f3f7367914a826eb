//! `GET /metrics`: the registry (`crate::metrics`) in the OpenMetrics text format, to loopback
//! or to anyone with the bearer token `metrics_token`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use secrecy::ExposeSecret;

use crate::routes::AppState;
use crate::routes::error::AppError;

/// Whether `req` may read the metrics: it comes from this machine (the TCP peer, not a
/// forwarded address), or carries the configured bearer token.
fn allowed(state: &AppState, req: &HttpRequest) -> bool {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let (Some(given), Some(expected)) = (token, &state.settings.metrics_token) {
        return constant_time_eq::constant_time_eq(
            given.trim().as_bytes(),
            expected.expose_secret().as_bytes(),
        );
    }
    // Behind a proxy every request comes from this machine: then only the token lets one in.
    if state.settings.trust_proxy_headers {
        return false;
    }
    let forwarded = [
        header::FORWARDED.as_str(),
        "x-forwarded-for",
        "x-real-ip",
        state.settings.client_ip_header.as_str(),
    ]
    .iter()
    .any(|h| req.headers().contains_key(*h));
    !forwarded && req.peer_addr().is_some_and(|a| a.ip().is_loopback())
}

#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    if !allowed(&state, &req) {
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
            .content_type("text/plain; charset=utf-8")
            .body("metrics need the bearer token set as metrics_token\n"));
    }
    let body = state.metrics.render(&state.pool).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
