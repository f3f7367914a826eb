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

use crate::db::{self, Pool};
use crate::usecases::UseCaseError;
use crate::usecases::signing::{self, SignOutcome, SignRequest};

/// Most submissions in one transaction: enough to drain a peak, few enough that a batch
/// commits in milliseconds.
const MAX_BATCH: usize = 512;

struct Job {
    request: SignRequest,
    done: oneshot::Sender<Result<SignOutcome, UseCaseError>>,
}

/// The longest a signer waits for their submission's commit before being asked to retry.
const ANSWER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Submissions waiting at most: beyond, a signer is asked to try again in a moment rather
/// than wait in an ever longer line.
const MAX_WAITING: usize = 8192;

/// Hands submissions to the writer thread.
pub struct SignWriter {
    jobs: mpsc::SyncSender<Job>,
}

impl SignWriter {
    /// Starts the writer on a thread of its own, keeping one pooled connection from batch to
    /// batch. It stops when the last `SignWriter` is dropped. Each batch's size goes to
    /// `sizes`.
    pub fn start(
        pool: Pool,
        sizes: prometheus_client::metrics::histogram::Histogram,
    ) -> std::io::Result<SignWriter> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(MAX_WAITING);
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
        Ok(SignWriter { jobs })
    }

    /// Stores a submission and queues its email, answering once they are committed.
    pub async fn sign(&self, request: SignRequest) -> Result<SignOutcome, UseCaseError> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .try_send(Job { request, done })
            .map_err(|e| match e {
                mpsc::TrySendError::Full(_) => UseCaseError::Busy {
                    retry_after_secs: 2,
                },
                mpsc::TrySendError::Disconnected(_) => unavailable("the sign writer stopped"),
            })?;
        // A writer held up (the database's write lock taken by something long, a disk that
        // stalls, a server restarting) must not hold the signer: past the deadline they are
        // asked to try again, which is safe either way (a second submission of one mailbox
        // is the same signature).
        match tokio::time::timeout(ANSWER_DEADLINE, answer).await {
            Ok(answered) => answered.map_err(|_| unavailable("the sign writer stopped"))?,
            Err(_) => {
                tracing::warn!("a signature waited over 10 s for the sign writer");
                Err(UseCaseError::Busy {
                    retry_after_secs: 5,
                })
            }
        }
    }
}

/// [`write`], where a bug answers the submissions it has not answered yet with an error
/// (their senders drop; a panic inside the batch's transaction rolls all of it back) and
/// leaves the writer running for the next batch.
fn write_caught(pool: &Pool, held: &mut Option<db::PooledConnection>, batch: Vec<Job>) {
    let written =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(pool, held, batch)));
    if written.is_err() {
        // Its connection may be mid-transaction: not used again.
        *held = None;
        tracing::error!("sign writer: a batch panicked");
    }
}

/// The held connection, or one from the pool.
fn connection<'a>(
    pool: &Pool,
    held: &'a mut Option<db::PooledConnection>,
) -> Option<&'a mut db::PooledConnection> {
    if held.is_none() {
        match pool.get() {
            Ok(conn) => *held = Some(conn),
            Err(e) => tracing::error!(error = %e, "sign writer: no database connection"),
        }
    }
    held.as_mut()
}

/// Writes one batch on the held connection (taken from the pool when there is none) and
/// answers each of its submissions.
fn write(pool: &Pool, held: &mut Option<db::PooledConnection>, mut batch: Vec<Job>) {
    let mut tries = 0;
    let outcomes = loop {
        // A signer who stopped waiting (past the answer's deadline) was asked to try again:
        // their submission is not written behind their back, which would mail a second link.
        batch.retain(|job| !job.done.is_closed());
        if batch.is_empty() {
            return;
        }
        let Some(conn) = connection(pool, held) else {
            for job in batch {
                let _ = job.done.send(Err(unavailable("no database connection")));
            }
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
        tries += 1;
        match together {
            Ok(outcomes) => break outcomes,
            // The database could not take the batch now (a lost connection, a deadlock, its
            // lock held past the busy timeout, a full disk): tried once more as a whole on a
            // fresh connection, then every signer still waiting is asked to try again, rather
            // than each waiting that long once more alone.
            Err(UseCaseError::Db(e)) if e.is_transient() => {
                *held = None;
                if tries < 2 {
                    tracing::warn!(error = %e, size = batch.len(), "sign batch failed: trying it again");
                    continue;
                }
                tracing::warn!(error = %e, size = batch.len(), "sign batch refused: the database cannot write now");
                for job in batch {
                    let _ = job
                        .done
                        .send(Err(unavailable("the database cannot write now")));
                }
                return;
            }
            // Anything else (a bug in one submission that broke the transaction): none of it
            // stands, so each submission is tried again alone, one failing on its own.
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "sign batch failed: writing one by one");
                *held = None;
                break batch.iter().map(|_| Err(retry())).collect::<Vec<_>>();
            }
        }
    };
    // What the batch committed is answered first: nothing after can take it back.
    let mut again = Vec::new();
    for (job, outcome) in batch.into_iter().zip(outcomes) {
        match outcome {
            // A database error inside its savepoint (or the whole batch): rolled back alone,
            // tried once more alone.
            Err(UseCaseError::Db(_)) => again.push(job),
            other => {
                let _ = job.done.send(other);
            }
        }
    }
    for job in again {
        let outcome = match connection(pool, held) {
            // Still failing alone: a transient error asks the signer to try again (503), a bug
            // is a 500; nothing half-stored either way.
            Some(conn) => signing::sign(conn, &job.request),
            None => Err(unavailable("no database connection")),
        };
        let _ = job.done.send(outcome);
    }
}

/// Marks a submission to be written again on its own.
fn retry() -> UseCaseError {
    UseCaseError::Db(db::DbError::Other("its batch was rolled back".into()))
}

/// The submission was not stored (no connection, the writer stopping, a bug in its batch):
/// the signer is asked to try again.
fn unavailable(why: &str) -> UseCaseError {
    UseCaseError::Unavailable(why.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::outbox::SealedEmail;
    use crate::db::schema::{email_jobs, signatures};
    use crate::db::signatures::NewSignature;
    use crate::domain::NewEmail;
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
        crate::usecases::keys::prepare(&mut conn, &keys).unwrap();
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
    ) -> (Job, oneshot::Receiver<Result<SignOutcome, UseCaseError>>) {
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
                email_index: db.keys.email_index(petition, mailbox),
                domain_index: db.keys.domain_index_of(petition, mailbox),
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
        mut rx: oneshot::Receiver<Result<SignOutcome, UseCaseError>>,
    ) -> Option<Result<SignOutcome, UseCaseError>> {
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
    fn a_batch_whose_transaction_fails_is_written_again_one_by_one_on_a_fresh_connection() {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let db = database();
        // The held connection is left inside a transaction: the batch's own cannot begin, as
        // when a connection breaks or another instance deadlocks it.
        let mut stuck = db.pool.get().unwrap();
        crate::with_backend!(&mut *stuck, |c| AnsiTransactionManager::begin_transaction(
            c
        )
        .unwrap());
        let mut held = Some(stuck);
        let (a, a_rx) = job(&db, db.petition, "a@example.org", false);
        let (b, b_rx) = job(&db, db.petition, "b@example.org", false);
        write_caught(&db.pool, &mut held, vec![a, b]);
        let a_answer = answer(a_rx);
        assert!(
            matches!(a_answer, Some(Ok(SignOutcome::Created))),
            "{a_answer:?}"
        );
        assert!(matches!(answer(b_rx), Some(Ok(SignOutcome::Created))));
        assert_eq!(stored(&db), (2, 2));
        // Written on a fresh connection: the stuck one was put aside.
        let conn = held.as_deref_mut().expect("a connection is held");
        let depth = crate::with_backend!(conn, |c| {
            AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()
                .unwrap()
        });
        assert_eq!(depth, None);
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
