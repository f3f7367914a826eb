//! Operations: the registry that `GET /metrics` serves (`routes::api::metrics`) in the Prometheus
//! (OpenMetrics) text format. Requests by route pattern and status (never by path: paths carry
//! tokens), their latency, signatures signed and confirmed, how far the outbox and the signed
//! log are behind, and the database pool's use.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::db::{self, DbError};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Every figure `/metrics` reports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub signed: Counter,
    /// Reads of a petition's public state from the database (`live::Live`).
    pub state_reads: Counter,
    /// Submissions per group-commit transaction (`services::sign_writer`).
    pub sign_batches: Histogram,
    confirmed: Gauge,
    outbox_depth: Gauge,
    outbox_age: Gauge,
    log_pending: Gauge,
    log_lag: Gauge,
    log_unstarted: Gauge,
    pool_size: Gauge,
    pool_idle: Gauge,
}

fn latency_buckets() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Metrics {
    /// The metrics now, in the OpenMetrics text format: the gauges read from the database
    /// first (what is counted, how far the outbox and the log are behind, the pool's use).
    pub async fn render(&self, pool: &db::Pool) -> Result<String, DbError> {
        let (counted, (depth, oldest_email), (pending, oldest_event), stuck) = db::run(pool, |c| {
            Ok((
                db::petitions::signatures_counted(c)?,
                db::outbox::backlog(c)?,
                (db::log::pending_count(c)?, db::log::oldest_pending(c)?),
                db::log::stuck(c, db::now())?.len(),
            ))
        })
        .await?;
        self.confirmed.set(counted);
        let now = db::now();
        let age =
            |t: Option<chrono::NaiveDateTime>| t.map_or(0, |t| (now - t).num_seconds().max(0));
        let m = self;
        m.outbox_depth.set(depth);
        m.outbox_age.set(age(oldest_email));
        m.log_pending.set(pending);
        m.log_lag.set(age(oldest_event));
        m.log_unstarted
            .set(i64::try_from(stuck).unwrap_or(i64::MAX));
        let pool = pool.state();
        m.pool_size.set(i64::from(pool.connections));
        m.pool_idle.set(i64::from(pool.idle_connections));
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, &m.registry)
            .map_err(|_| DbError::Other("metrics unwritable".into()))?;
        Ok(body)
    }

    /// Counts and times one request by its route pattern (`-`: no route matched).
    pub fn request(&self, method: &str, route: String, status: u16, took: std::time::Duration) {
        // Any token is a method to HTTP: only the known ones get a label of their own.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "OPTIONS" | "PATCH" => method,
            _ => "OTHER",
        };
        self.latency
            .get_or_create(&RouteLabels {
                route: route.clone(),
            })
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route,
                status,
            })
            .inc();
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("undersigned");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_buckets,
        );
        let m = Metrics {
            requests: requests.clone(),
            latency: latency.clone(),
            signed: Counter::default(),
            state_reads: Counter::default(),
            // 1 to 512 submissions per transaction.
            sign_batches: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            confirmed: Gauge::default(),
            outbox_depth: Gauge::default(),
            outbox_age: Gauge::default(),
            log_pending: Gauge::default(),
            log_lag: Gauge::default(),
            log_unstarted: Gauge::default(),
            pool_size: Gauge::default(),
            pool_idle: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests by method, route pattern and status",
            requests,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route pattern",
            latency,
        );
        registry.register(
            "signatures_signed",
            "Sign submissions stored by this instance",
            m.signed.clone(),
        );
        registry.register(
            "petition_state_reads",
            "Times a petition's public state was read from the database: once per \
             public_refresh_ms at most while it is viewed, however many view it, and after each \
             change made here",
            m.state_reads.clone(),
        );
        registry.register(
            "sign_batch_size",
            "Submissions per group-commit transaction (each batch the writer took, written or not)",
            m.sign_batches.clone(),
        );
        registry.register(
            "signatures_counted",
            "Confirmed signatures that count, all petitions (the public counts, summed)",
            m.confirmed.clone(),
        );
        registry.register(
            "outbox_depth",
            "Emails waiting to be sent (all instances)",
            m.outbox_depth.clone(),
        );
        registry.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest email waiting to be sent",
            m.outbox_age.clone(),
        );
        registry.register(
            "log_pending",
            "Counted events waiting for a signed checkpoint",
            m.log_pending.clone(),
        );
        registry.register(
            "log_unstarted",
            "Petitions whose signed log has not started a minute after they were created: the \
             server log says why",
            m.log_unstarted.clone(),
        );
        registry.register(
            "log_lag_seconds",
            "Age of the oldest event waiting for a checkpoint",
            m.log_lag.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database connections this instance holds",
            m.pool_size.clone(),
        );
        registry.register("db_pool_idle", "Of those, idle", m.pool_idle.clone());
        Metrics { registry, ..m }
    }
}
