//! Group commit for signing. At a campaign peak thousands of people sign a minute; one
//! transaction each would make the database's write lock (and on SQLite its fsync) the limit.
//! Handlers validate and seal a submission themselves, then hand it to one writer, which
//! stores every submission that arrived while its last transaction committed in the next
//! one: each under a savepoint of its own, so one that fails changes nothing for the others.
//! A handler answers only once the transaction holding its submission has committed, so
//! nothing acknowledged is lost if the process dies the moment after.

use std::sync::mpsc;

use diesel::Connection;

use tokio::sync::oneshot;

use super::UseCaseError;
use super::signing::{self, SignOutcome, SignRequest};
use crate::db::{self, Pool};
use crate::error::AppError;

/// Most submissions in one transaction: enough to drain a peak, few enough that a batch
/// commits in milliseconds.
const MAX_BATCH: usize = 512;

struct Job {
    request: SignRequest,
    done: oneshot::Sender<Result<SignOutcome, AppError>>,
}

/// Submissions waiting at most: beyond, a signer is asked to try again in a moment rather
/// than wait in an ever longer line.
const MAX_WAITING: usize = 8192;

/// How often the write-ahead log is copied into the database file (SQLite), instead of by the
/// writer in the middle of a commit: at a peak that copy and its `fsync` were a tenth of the
/// writer's time, and every signer waiting on that batch waited for them too.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Hands submissions to the writer thread.
pub struct SignWriter {
    jobs: mpsc::SyncSender<Job>,
    /// Dropped with the writer: the checkpointer stops.
    _checkpoints: mpsc::Sender<()>,
}

impl SignWriter {
    /// Starts the writer on a thread of its own, holding one pooled connection per batch. It
    /// stops when the last `SignWriter` is dropped.
    pub fn start(pool: Pool) -> std::io::Result<SignWriter> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(MAX_WAITING);
        let checkpoint_pool = pool.clone();
        std::thread::Builder::new()
            .name("sign-writer".into())
            .spawn(move || {
                // One connection kept across batches: its page cache stays warm.
                let mut held: Option<db::PooledConnection> = None;
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match queue.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    // A bug in one batch answers its submissions with an error (their senders
                    // drop) and leaves the writer running for the next.
                    let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        write(&pool, &mut held, batch)
                    }));
                    if written.is_err() {
                        // Its connection may be mid-transaction: not used again.
                        held = None;
                        tracing::error!("sign writer: a batch panicked");
                    }
                }
            })?;
        let (checkpoints, stop) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY)
                {
                    if let Ok(mut conn) = checkpoint_pool.get() {
                        db::checkpoint(&mut conn);
                    }
                }
            })?;
        Ok(SignWriter {
            jobs,
            _checkpoints: checkpoints,
        })
    }

    /// Stores a submission and queues its email, answering once they are committed.
    pub async fn sign(&self, request: SignRequest) -> Result<SignOutcome, AppError> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .try_send(Job { request, done })
            .map_err(|e| match e {
                mpsc::TrySendError::Full(_) => AppError::Busy {
                    retry_after_secs: 2,
                },
                mpsc::TrySendError::Disconnected(_) => unavailable("the sign writer stopped"),
            })?;
        answer
            .await
            .map_err(|_| unavailable("the sign writer stopped"))?
    }
}

/// Writes one batch on the held connection (taken from the pool when there is none) and
/// answers each of its submissions.
fn write(pool: &Pool, held: &mut Option<db::PooledConnection>, batch: Vec<Job>) {
    if held.is_none() {
        match pool.get() {
            Ok(mut conn) => {
                db::checkpoint_elsewhere(&mut conn);
                *held = Some(conn)
            }
            Err(e) => {
                tracing::error!(error = %e, "sign writer: no database connection");
                for job in batch {
                    let _ = job.done.send(Err(unavailable("no database connection")));
                }
                return;
            }
        }
    }
    let Some(conn) = held.as_mut() else {
        return;
    };
    // Everything in one transaction, each submission under its own savepoint.
    let together = db::write_tx(conn, |c| {
        Ok::<_, UseCaseError>(
            batch
                .iter()
                .map(|job| c.transaction(|c| signing::sign_in(c, &job.request)))
                .collect::<Vec<_>>(),
        )
    });
    let outcomes = match together {
        Ok(outcomes) => outcomes,
        Err(e) => {
            // The batch did not commit (a deadlock with another instance, a lost connection):
            // none of it stands, so each submission is tried again alone, on a fresh
            // connection in case the old one is what failed.
            tracing::warn!(error = %e, size = batch.len(), "sign batch failed: writing one by one");
            *held = pool.get().ok();
            if let Some(conn) = held.as_mut() {
                db::checkpoint_elsewhere(conn);
            }
            batch.iter().map(|_| Err(retry())).collect()
        }
    };
    for (job, outcome) in batch.into_iter().zip(outcomes) {
        let outcome = match (outcome, held.as_mut()) {
            // A database error inside its savepoint: rolled back alone; tried once more alone.
            (Err(UseCaseError::Db(_)), Some(conn)) => signing::sign(conn, &job.request),
            (Err(UseCaseError::Db(e)), None) => Err(UseCaseError::Db(e)),
            (other, _) => other,
        };
        let _ = job.done.send(outcome.map_err(AppError::from));
    }
}

/// Marks a submission to be written again on its own.
fn retry() -> UseCaseError {
    UseCaseError::Db(db::DbError::Other("its batch was rolled back".into()))
}

/// The submission was not stored (no connection, the writer stopping, a bug in its batch):
/// the signer is asked to try again.
fn unavailable(why: &str) -> AppError {
    AppError::Unavailable(db::DbError::Other(why.into()))
}
