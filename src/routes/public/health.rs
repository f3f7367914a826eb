use actix_web::{HttpResponse, get, web};
use diesel::connection::SimpleConnection;

use crate::db;
use crate::routes::AppState;

/// `200` when the database answers a query, `503` otherwise.
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    // An instance whose data key is no longer the database's (a rotation while it ran) is
    // out of service until restarted: a load balancer should send nobody to it.
    let keys = state.keys.clone();
    let ok = db::run(&state.pool, move |c| {
        c.batch_execute("SELECT 1")?;
        db::site::ensure_current_key(c, &keys)
    })
    .await;
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
