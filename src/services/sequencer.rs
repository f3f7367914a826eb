//! The sequencer: one task (one instance at a time, by lease) that appends queued events to
//! the petitions' logs every `log_interval_ms` and signs a checkpoint in the same step. Signing
//! and confirming only queue an event in their own transaction; they never wait on the log.

use std::sync::Arc;
use std::time::Duration;

use crate::db::{self, Pool};
use crate::log::LogSigner;
use crate::usecases;

pub struct Sequencer {
    pub pool: Pool,
    pub signer: Arc<LogSigner>,
    /// Opens the salts of signatures confirmed before a petition's log started.
    pub keys: Arc<crate::keys::Keys>,
    pub interval: Duration,
    /// This instance's name in the lease.
    pub holder: String,
}

impl Sequencer {
    pub async fn run(self) {
        // The first round one interval after start, like every other.
        let mut every =
            tokio::time::interval_at(tokio::time::Instant::now() + self.interval, self.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = self.step().await {
                tracing::warn!(error = %e, "log sequencing failed; retrying next tick");
            }
        }
    }

    /// Takes or renews the lease; `false` while another instance holds it.
    async fn lease(&self) -> Result<bool, usecases::UseCaseError> {
        let holder = self.holder.clone();
        // The lease outlives a few missed ticks, so a busy holder keeps it.
        let lease = chrono::TimeDelta::from_std(self.interval * 10)
            .unwrap_or(chrono::TimeDelta::seconds(10))
            .max(chrono::TimeDelta::seconds(5));
        Ok(db::run(&self.pool, move |c| {
            let now = db::now();
            db::log::take_lease(c, &holder, now, now + lease)
        })
        .await?)
    }

    /// One round: take the lease, start the logs of new petitions, append what is queued.
    /// One petition's failure is logged and leaves the others' logs going. Returns how many
    /// entries were appended.
    pub async fn step(&self) -> Result<usize, usecases::UseCaseError> {
        if !self.lease().await? {
            return Ok(0);
        }
        for id in db::run(&self.pool, db::log::unstarted).await? {
            let (signer, keys) = (self.signer.clone(), self.keys.clone());
            let started = usecases::run(&self.pool, move |c| {
                usecases::log::start(c, id, &signer, &keys)
            })
            .await;
            match started {
                Ok(0) => {}
                Ok(queued) => tracing::info!(petition.id = id, events = queued, "log started"),
                // Loud: until it starts, this petition's counts go unsigned (the dashboard and
                // the `log_unstarted` metric say so too).
                Err(e) => {
                    tracing::error!(petition.id = id, error = %e, "a petition's signed log cannot start")
                }
            }
        }
        let mut due = db::run(&self.pool, db::log::petitions_with_pending).await?;
        due.extend(db::run(&self.pool, db::log::started_without_checkpoint).await?);
        due.sort_unstable();
        due.dedup();
        let mut appended = 0;
        for id in due {
            match self.sequence_all(id).await {
                Ok(n) => appended += n,
                Err(e) => tracing::warn!(petition.id = id, error = %e, "log sequencing failed"),
            }
        }
        Ok(appended)
    }

    /// Appends everything queued for one petition, a batch per transaction, renewing the lease
    /// before each (and stopping if another instance has it).
    async fn sequence_all(&self, id: i32) -> Result<usize, usecases::UseCaseError> {
        let mut appended = 0;
        loop {
            let signer = self.signer.clone();
            let n = usecases::run(&self.pool, move |c| {
                usecases::log::sequence(c, id, &signer, db::now())
            })
            .await?;
            appended += n;
            if (n as i64) < usecases::log::MAX_BATCH || !self.lease().await? {
                return Ok(appended);
            }
        }
    }
}
