//! Machine-readable: the JSON API, the signed log's endpoints, the metrics.

pub mod log;
pub mod metrics;
pub mod petitions;
