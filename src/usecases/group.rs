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
    /// stops when the last `SignWriter` is dropped. Each batch's size goes to `sizes`.
    pub fn start(
        pool: Pool,
        sizes: prometheus_client::metrics::histogram::Histogram,
    ) -> std::io::Result<SignWriter> {
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
                    sizes.observe(batch.len() as f64);
                    write_caught(&pool, &mut held, batch);
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

/// [`write`], where a bug in one batch answers its submissions with an error (their senders
/// drop: nothing of the batch was committed) and leaves the writer running for the next.
fn write_caught(pool: &Pool, held: &mut Option<db::PooledConnection>, batch: Vec<Job>) {
    let written =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(pool, held, batch)));
    if written.is_err() {
        // Its connection may be mid-transaction: not used again.
        *held = None;
        tracing::error!("sign writer: a batch panicked");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::outbox::{NewEmail, SealedEmail};
    use crate::db::schema::{email_jobs, signatures};
    use crate::db::signatures::NewSignature;
    use crate::domain::{Country, GoalLadder, NameDisplay, Slug};
    use crate::keys::Keys;
    use crate::usecases::signing::EmailCap;
    use diesel::prelude::*;

    struct Db {
        _dir: tempfile::TempDir,
        pool: Pool,
        keys: Keys,
        petition: i32,
    }

    fn database() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("u.db").display());
        let pool = db::connect(&url, 4).unwrap();
        let keys = Keys::derive(b"0123456789abcdef0123456789abcdef", String::new());
        let mut conn = pool.get().unwrap();
        db::prepare(&mut conn, &keys).unwrap();
        let petition = db::petitions::create(
            &mut conn,
            &db::petitions::NewPetition {
                slug: Slug::parse("batch").unwrap(),
                title: "Batch".into(),
                summary: String::new(),
                body_markdown: String::new(),
                started_by: String::new(),
                owner_email: None,
                goals: GoalLadder::parse(vec![100]).unwrap(),
                targets: vec![],
                created_at: db::now(),
                closes_at: None,
                language: crate::i18n::Lang::En,
            },
        )
        .unwrap();
        Db {
            _dir: dir,
            pool,
            keys,
            petition,
        }
    }

    /// A submission from `mailbox`; its "already signed" email panics if `panics`.
    fn job(
        db: &Db,
        petition: i32,
        mailbox: &str,
        panics: bool,
    ) -> (Job, oneshot::Receiver<Result<SignOutcome, AppError>>) {
        let email = |subject: &str| NewEmail {
            recipient: mailbox.to_string(),
            subject: subject.to_string(),
            body_text: "link".into(),
            body_html: String::new(),
        };
        let sealed = SealedEmail::new(&db.keys, &email("confirm"));
        let again = SealedEmail::new(&db.keys, &email("again"));
        let request = SignRequest {
            new: NewSignature {
                petition_id: petition,
                sealed_signature: db.keys.seal(crate::sealed::Purpose::Signature, &mailbox),
                sealed_submission: db.keys.seal(crate::sealed::Purpose::Submission, &mailbox),
                email_index: db.keys.email_index(mailbox),
                domain_index: db.keys.domain_index_of(mailbox),
                country: Country::parse("AM").unwrap(),
                display: NameDisplay::Full,
                wants_updates: false,
                locale: "en".into(),
                ip_hash: None,
                created_at: db::now(),
                source: None,
                comment_public: false,
            },
            token_hash: crate::domain::ConfirmationToken::generate().hash(),
            expires_at: db::now() + chrono::TimeDelta::hours(1),
            cap: EmailCap {
                max: 5,
                window: chrono::TimeDelta::hours(1),
            },
            confirm_email: sealed,
            already_signed_email: Box::new(move |_| {
                assert!(!panics, "a bug while rendering");
                again.clone()
            }),
            withdraw_hash: crate::domain::ConfirmationToken::generate().hash(),
        };
        let (done, answer) = oneshot::channel();
        (Job { request, done }, answer)
    }

    fn stored(db: &Db) -> (i64, i64) {
        let mut c = db.pool.get().unwrap();
        let signatures = signatures::table.count().get_result(&mut c).unwrap();
        let emails = email_jobs::table.count().get_result(&mut c).unwrap();
        (signatures, emails)
    }

    fn answer(
        mut rx: oneshot::Receiver<Result<SignOutcome, AppError>>,
    ) -> Option<Result<SignOutcome, AppError>> {
        rx.try_recv().ok()
    }

    #[test]
    fn a_submission_that_fails_is_rolled_back_alone_and_the_rest_of_its_batch_is_stored() {
        let db = database();
        let (a, a_rx) = job(&db, db.petition, "a@example.org", false);
        // No such petition: its insert breaks a foreign key inside its own savepoint.
        let (b, b_rx) = job(&db, db.petition + 1000, "b@example.org", false);
        let (c, c_rx) = job(&db, db.petition, "c@example.org", false);
        let mut held = None;
        write_caught(&db.pool, &mut held, vec![a, b, c]);
        assert!(matches!(answer(a_rx), Some(Ok(SignOutcome::Created))));
        assert!(matches!(answer(b_rx), Some(Err(_))));
        assert!(matches!(answer(c_rx), Some(Ok(SignOutcome::Created))));
        assert_eq!(stored(&db), (2, 2));
    }

    #[test]
    fn a_batch_whose_transaction_fails_is_written_again_one_by_one() {
        let db = database();
        // Another process holds the write lock; the writer's connection gives up on it at once,
        // so the batch's transaction fails as it would after a deadlock or a lost connection.
        let mut held = Some(db.pool.get().unwrap());
        if let Some(db::DbConnection::Sqlite(c)) = held.as_deref_mut() {
            use diesel::connection::SimpleConnection;
            c.batch_execute("PRAGMA busy_timeout = 0;").unwrap();
        }
        let mut other = db.pool.get().unwrap();
        if let db::DbConnection::Sqlite(c) = &mut *other {
            use diesel::connection::SimpleConnection;
            c.batch_execute("BEGIN IMMEDIATE;").unwrap();
        }
        let holder = std::thread::spawn(move || {
            // Let go a moment later: the batch has failed by then, and the retries, on a fresh
            // connection that waits for the lock, go through.
            std::thread::sleep(std::time::Duration::from_millis(300));
            if let db::DbConnection::Sqlite(c) = &mut *other {
                use diesel::connection::SimpleConnection;
                c.batch_execute("COMMIT;").unwrap();
            }
        });
        let (a, a_rx) = job(&db, db.petition, "a@example.org", false);
        let (b, b_rx) = job(&db, db.petition, "b@example.org", false);
        write_caught(&db.pool, &mut held, vec![a, b]);
        holder.join().unwrap();
        // The failed batch's connection was put aside for a fresh one (which waits for locks).
        let timeout: i32 = match held.as_deref_mut() {
            Some(db::DbConnection::Sqlite(c)) => {
                #[derive(QueryableByName)]
                struct Timeout {
                    #[diesel(sql_type = diesel::sql_types::Integer)]
                    timeout: i32,
                }
                diesel::sql_query("PRAGMA busy_timeout")
                    .get_result::<Timeout>(c)
                    .unwrap()
                    .timeout
            }
            _ => panic!("no connection held"),
        };
        assert_eq!(
            timeout, 10_000,
            "the batch did not fail: the test proved nothing"
        );
        let a_answer = answer(a_rx);
        assert!(
            matches!(a_answer, Some(Ok(SignOutcome::Created))),
            "{a_answer:?}"
        );
        assert!(matches!(answer(b_rx), Some(Ok(SignOutcome::Created))));
        assert_eq!(stored(&db), (2, 2));
    }

    #[test]
    fn a_batch_that_panics_stores_nothing_answers_each_with_an_error_and_the_next_is_written() {
        let db = database();
        let mut held = None;
        let (first, first_rx) = job(&db, db.petition, "a@example.org", false);
        write_caught(&db.pool, &mut held, vec![first]);
        assert!(matches!(answer(first_rx), Some(Ok(SignOutcome::Created))));
        diesel::update(signatures::table)
            .set(signatures::status.eq("confirmed"))
            .execute(&mut db.pool.get().unwrap())
            .unwrap();
        // The same mailbox again renders "already signed", which panics here.
        let (b, b_rx) = job(&db, db.petition, "b@example.org", false);
        let (again, again_rx) = job(&db, db.petition, "a@example.org", true);
        write_caught(&db.pool, &mut held, vec![b, again]);
        assert!(
            held.is_none(),
            "the connection of a panicked batch is not used again"
        );
        assert!(answer(b_rx).is_none() && answer(again_rx).is_none());
        assert_eq!(
            stored(&db),
            (1, 1),
            "nothing of the panicked batch is stored"
        );
        let (c, c_rx) = job(&db, db.petition, "c@example.org", false);
        write_caught(&db.pool, &mut held, vec![c]);
        assert!(matches!(answer(c_rx), Some(Ok(SignOutcome::Created))));
        assert_eq!(stored(&db), (2, 2));
    }
}
