use actix_web::{HttpResponse, get, web};
use diesel::connection::SimpleConnection;

use super::AppState;
use crate::db;

/// `200` when the database answers a query, `503` otherwise.
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let ok = db::run(&state.pool, |c| Ok(c.batch_execute("SELECT 1")?)).await;
    match ok {
        Ok(()) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({"status": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Cache-Control", "no-store"))
                .json(serde_json::json!({"status": "unavailable"}))
        }
    }
}
