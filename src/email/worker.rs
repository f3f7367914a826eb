//! The outbox worker: claims due jobs with a lease, sends them, retries failures with
//! exponential backoff. A job is only marked sent after the transport accepted it, so a crash
//! mid-send means the job is sent again after its lease, never lost.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use futures_util::StreamExt;
use lettre::message::Mailbox;
use tokio::sync::Notify;

use super::Mailer;
use crate::db::{self, DbError, Pool, outbox};

/// Attempts before a job is given up on (about a day with the default backoff).
pub const MAX_ATTEMPTS: i32 = 30;
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
const BATCH: i64 = 100;
/// Messages in flight at once (SMTP connections come from lettre's pool).
const CONCURRENCY: usize = 8;

#[derive(Clone)]
pub struct Worker {
    pub pool: Pool,
    pub mailer: Mailer,
    pub from: Mailbox,
    pub retry_base: Duration,
    pub poll: Duration,
    /// How long a claimed job stays reserved for this worker.
    pub lease: Duration,
    /// Signalled when a job is queued, so emails go out at once instead of at the next poll.
    pub wake: Arc<Notify>,
}

impl Worker {
    /// Runs until the task is dropped.
    pub async fn run(self) {
        loop {
            match self.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "email worker could not read the outbox"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// Sends every job due now, several at a time; returns how many it handled.
    pub async fn run_once(&self) -> Result<usize, DbError> {
        let now = db::now();
        let ids = db::run(&self.pool, move |c| outbox::due(c, now, BATCH)).await?;
        let results: Vec<Result<bool, DbError>> = futures_util::stream::iter(ids)
            .map(|id| self.handle(id))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut handled = 0;
        for r in results {
            handled += usize::from(r?);
        }
        Ok(handled)
    }

    /// Claims and sends one job; `false` when another worker holds it.
    async fn handle(&self, id: i32) -> Result<bool, DbError> {
        let now = db::now();
        let lease_until = now + TimeDelta::from_std(self.lease).unwrap_or(TimeDelta::minutes(2));
        let Some(job) =
            db::run(&self.pool, move |c| outbox::claim(c, id, now, lease_until)).await?
        else {
            return Ok(false);
        };
        match self.mailer.send(&self.from, &job).await {
            Ok(()) => {
                db::run(&self.pool, move |c| outbox::mark_sent(c, id, db::now())).await?;
                tracing::debug!(job.id = id, "email sent");
            }
            Err(err) => {
                let attempt = job.attempts + 1;
                let now = db::now();
                let retry_at = (!err.permanent && attempt < MAX_ATTEMPTS)
                    .then(|| now + TimeDelta::from_std(self.backoff(attempt)).unwrap_or_default());
                tracing::warn!(
                    job.id = id,
                    attempt,
                    permanent = err.permanent,
                    error = %err.message,
                    "email not sent"
                );
                let message = err.message;
                db::run(&self.pool, move |c| {
                    outbox::mark_failed(c, id, now, retry_at, &message)
                })
                .await?;
            }
        }
        Ok(true)
    }

    /// The wait before attempt `attempt + 1`: base, 2×base, 4×base… capped at an hour.
    pub fn backoff(&self, attempt: i32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.clamp(1, 20) as u32 - 1);
        self.retry_base.saturating_mul(factor).min(MAX_BACKOFF)
    }
}
