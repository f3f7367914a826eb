//! Machine-readable: the JSON API, the signed log's endpoints, the metrics.

pub mod log;
pub mod metrics;
pub mod petitions;

use actix_web::HttpResponse;
use serde::Serialize;

/// A JSON answer any site may read, which proxies may keep a few seconds.
pub(crate) fn json(body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Cache-Control", "public, max-age=5"))
        .json(body)
}

/// What every refusal of the JSON API says.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorJson {
    /// What was wrong, for a person to read.
    pub error: String,
}

pub(crate) fn api_error(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(ErrorJson {
            error: message.to_string(),
        })
}
