//! The use cases driven directly, without HTTP, in random sequences on the test database (a
//! SQLite file, or PostgreSQL under `TEST_DATABASE_URL`): sign (one mailbox often more than
//! once), confirm (a link sometimes twice), invalidate and restore, withdraw, close and reopen,
//! paper, retention erasure, the signed log started mid-run and sequenced, and the master key
//! rotated half-way. After every step each counter equals a recount of its rows, and the SQL
//! definition of a counted signature (`db::signatures::counted`) agrees with the Rust one
//! (`SignatureStatus::counts`); at the end no mailbox counts twice and the signed log recounts
//! to the count.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use undersigned::config::Settings;
use undersigned::db::{self, DbConnection, Pool, schema};
use undersigned::domain::{
    ConfirmationToken, Country, NameDisplay, NewEmail, PetitionStatus, SignatureStatus,
    SignerEmail, SignerName,
};
use undersigned::i18n::Lang;
use undersigned::keys::Keys;
use undersigned::log::LogSigner;
use undersigned::usecases::moderation::{Action, Selection};
use undersigned::usecases::signing::{EmailCap, ReceiptFor, SignEmail, Signer};
use undersigned::usecases::{self, UseCaseError};

use crate::helpers::TestDatabase;
use crate::integrity::counters_and_recount_in;

const OLD: &str = "the master key of the property test, before";
const NEW: &str = "the master key of the property test, after it";
const STEPS: usize = 300;
const MAILBOXES: usize = 14;

/// The links the use cases handed out, as the signers' mailboxes would hold them.
#[derive(Default)]
struct Mailboxes {
    confirm: Vec<String>,
    withdraw: Vec<String>,
}

/// A site without a server: the database, its keys and the log's signer.
struct Site {
    pool: Pool,
    keys: Arc<Keys>,
    log: Arc<LogSigner>,
    settings: Settings,
}

fn settings(
    db: &TestDatabase,
    dir: &std::path::Path,
    key: &str,
    previous: Option<&str>,
) -> Settings {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: &str| {
        env.insert(format!("UNDERSIGNED_{}", k.to_uppercase()), v.to_string());
    };
    set("database_url", &db.url);
    set("data_dir", dir.to_str().expect("utf-8"));
    set("secret_key", key);
    // The log keeps its own key, so a rotation of the master key leaves it signing on.
    set("log_key_file", dir.join("log_key").to_str().expect("utf-8"));
    if let Some(previous) = previous {
        set("previous_secret_key", previous);
    }
    Settings::load_from(None, &env).expect("test settings")
}

fn open(settings: Settings) -> Site {
    let pool = db::connect(&settings.database_url, 4).expect("the test database");
    let mut conn = pool.get().expect("a connection");
    let (keys, _) = usecases::keys::ready(&settings, &mut conn).expect("keys ready");
    let seed = undersigned::secrets::log_seed(&settings, &keys).expect("log key");
    let url = url::Url::parse("http://127.0.0.1:1/").expect("url");
    Site {
        pool,
        keys: Arc::new(keys),
        log: Arc::new(LogSigner::new(&seed, &url)),
        settings,
    }
}

async fn run<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&mut DbConnection) -> Result<T, UseCaseError> + Send + 'static,
) -> Result<T, UseCaseError> {
    usecases::run(pool, f).await
}

/// Whether a result is a refusal the rules allow (a closed petition, a gone link), not a bug.
fn allowed<T>(result: Result<T, UseCaseError>, what: &str) {
    match result {
        Ok(_) | Err(UseCaseError::Refused(_)) | Err(UseCaseError::NotFound) => {}
        Err(e) => panic!("{what}: {e}"),
    }
}

#[tokio::test]
async fn random_sequences_of_use_cases_keep_every_counter_equal_to_its_rows() {
    let seeds: Vec<u64> = match std::env::var("USECASE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => vec![seed],
        None => vec![20_261_208, 7, 42],
    };
    for seed in seeds {
        one_sequence(seed).await;
    }
}

async fn one_sequence(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let db = TestDatabase::create();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut site = open(settings(&db, dir.path(), OLD, None));
    let organizer = run(&site.pool, |c| {
        let new = db::organizers::NewOrganizer {
            email: "ana@example.org",
            name: "Ana",
            password_hash: "not a hash: no one signs in here",
            is_admin: false,
            created_at: db::now(),
        };
        Ok(usecases::organizers::add(c, &new)?.expect("a new account"))
    })
    .await
    .expect("organizer");
    let pid = crate::helpers::create_petition_in(&site.pool, "p-property", &[100]).await;
    let mailboxes = Arc::new(Mutex::new(Mailboxes::default()));
    let countries = ["AM", "FR", "RU", "GE"];
    let mut trace: Vec<&'static str> = Vec::new();

    for step in 0..STEPS {
        if step == STEPS / 2 {
            // The operator's `rotate-key`, with the instance stopped; then it starts again
            // with the new key, the old one kept for the links already mailed.
            let rotating = settings(&db, dir.path(), NEW, Some(OLD));
            let keys = undersigned::secrets::load(&rotating).expect("both keys");
            let mut conn = site.pool.get().expect("a connection");
            usecases::keys::rotate(&mut conn, &keys).expect("rotated");
            drop(conn);
            site = open(rotating);
            trace.push("rotate");
        }
        let now = db::now();
        let keys = site.keys.clone();
        let pool = site.pool.clone();
        let op = rng.random_range(0..100);
        let what = match op {
            0..=29 => {
                let n = rng.random_range(0..MAILBOXES);
                let signer = Signer {
                    name: SignerName::parse("Ani Petrosyan").expect("name"),
                    email: SignerEmail::parse(&format!("m{n}@example.org")).expect("email"),
                    country: Country::parse(countries[rng.random_range(0..countries.len())])
                        .expect("country"),
                    postcode: None,
                    comment: None,
                    display: NameDisplay::Full,
                    comment_public: false,
                    wants_updates: rng.random_bool(0.5),
                    lang: Lang::En,
                    source: None,
                };
                let boxes = mailboxes.clone();
                let render = Arc::new(
                    move |_: SignEmail,
                          to: &str,
                          token: &ConfirmationToken,
                          withdraw: Option<&ConfirmationToken>| {
                        let mut boxes = boxes.lock().expect("mailboxes");
                        boxes.confirm.push(token.as_str().to_string());
                        if let Some(w) = withdraw {
                            boxes.withdraw.push(w.as_str().to_string());
                        }
                        email(to)
                    },
                );
                let cap = EmailCap {
                    max: 100,
                    window: TimeDelta::hours(1),
                };
                let request = usecases::signing::request(
                    &keys,
                    pid,
                    signer,
                    None,
                    TimeDelta::hours(24),
                    cap,
                    now,
                    render,
                );
                allowed(
                    run(&pool, move |c| usecases::signing::sign(c, &request)).await,
                    "sign",
                );
                "sign"
            }
            30..=54 => {
                let Some(token) = pick(&mut rng, &mailboxes.lock().expect("m").confirm) else {
                    continue;
                };
                let hash = ConfirmationToken::parse(&token).expect("token").hash();
                let receipt = receipt_renderer(mailboxes.clone());
                let twice = rng.random_bool(0.2);
                for _ in 0..=usize::from(twice) {
                    let (keys, hash, receipt) = (keys.clone(), hash.clone(), receipt.clone());
                    allowed(
                        run(&pool, move |c| {
                            usecases::signing::confirm(c, &keys, &hash, now, None, &*receipt)
                        })
                        .await,
                        "confirm",
                    );
                }
                "confirm"
            }
            55..=66 => {
                let id = rng.random_range(1..=(MAILBOXES as i32 + 1));
                let action = if rng.random_bool(0.5) {
                    Action::Invalidate {
                        reason: "random".into(),
                    }
                } else {
                    Action::Restore
                };
                let receipt = receipt_renderer(mailboxes.clone());
                allowed(
                    run(&pool, move |c| {
                        let selection = Selection {
                            ids: Some(vec![id]),
                            ..Selection::default()
                        };
                        usecases::moderation::moderate(
                            c, &keys, &*receipt, organizer, pid, &selection, &action, "", now,
                        )
                    })
                    .await,
                    "moderate",
                );
                "moderate"
            }
            67..=74 => {
                let Some(token) = pick(&mut rng, &mailboxes.lock().expect("m").withdraw) else {
                    continue;
                };
                let hash = ConfirmationToken::parse(&token).expect("token").hash();
                allowed(
                    run(&pool, move |c| {
                        usecases::withdrawal::withdraw(c, &hash, now)
                    })
                    .await,
                    "withdraw",
                );
                "withdraw"
            }
            75..=80 => {
                let count = rng.random_range(1..50);
                let on = now;
                allowed(
                    run(&pool, move |c| {
                        usecases::paper::add(c, organizer, pid, count, on, "event", now)
                    })
                    .await,
                    "paper",
                );
                "paper"
            }
            81..=87 => {
                let status = if rng.random_bool(0.5) {
                    PetitionStatus::Closed
                } else {
                    PetitionStatus::Open
                };
                allowed(
                    run(&pool, move |c| {
                        usecases::petitions::set_status(c, None, pid, status, now)
                    })
                    .await,
                    "close or reopen",
                );
                "close or reopen"
            }
            88..=91 => {
                // Retention with no days to wait: a closed petition's signers' data goes now.
                allowed(
                    run(&pool, move |c| usecases::retention::run(c, now, 0, false)).await,
                    "retention",
                );
                "retention"
            }
            92..=95 => {
                let (log, keys) = (site.log.clone(), keys.clone());
                allowed(
                    run(&pool, move |c| usecases::log::start(c, pid, &log, &keys)).await,
                    "log start",
                );
                "log start"
            }
            _ => {
                let log = site.log.clone();
                allowed(
                    run(&pool, move |c| usecases::log::sequence(c, pid, &log, now)).await,
                    "log sequence",
                );
                "log sequence"
            }
        };
        trace.push(what);
        let last = &trace[trace.len().saturating_sub(12)..];
        let (counters, recount) = counters_and_recount_in(&site.pool, pid).await;
        assert_eq!(
            counters, recount,
            "seed {seed}, step {step} ({what}): counters and rows part; the last steps {last:?}"
        );
        let (by_sql, by_rust) = counted_both_ways(&site.pool, pid).await;
        assert_eq!(
            by_sql, by_rust,
            "seed {seed}, step {step} ({what}): SQL and Rust disagree on what counts"
        );
    }

    // No mailbox counts twice: every counted row has a mailbox of its own.
    let (counted, mailboxes_counted) = run(&site.pool, move |c| {
        use schema::signatures as s;
        let keys: Vec<String> = s::table
            .filter(s::petition_id.eq(pid))
            .filter(db::signatures::counted())
            .select(s::email_key)
            .load(c)?;
        let distinct: std::collections::BTreeSet<&String> = keys.iter().collect();
        Ok((keys.len(), distinct.len()))
    })
    .await
    .expect("mailboxes");
    assert_eq!(
        counted, mailboxes_counted,
        "seed {seed}: a mailbox counted twice"
    );
    assert!(
        counted <= MAILBOXES,
        "seed {seed}: {counted} counted of {MAILBOXES} mailboxes"
    );

    // The log, started if it was not and sequenced to the end, recounts to the count.
    let (log, keys) = (site.log.clone(), site.keys.clone());
    run(&site.pool, move |c| {
        usecases::log::start(c, pid, &log, &keys)
    })
    .await
    .expect("log started");
    loop {
        let log = site.log.clone();
        let appended = run(&site.pool, move |c| {
            usecases::log::sequence(c, pid, &log, db::now())
        })
        .await
        .expect("sequenced");
        if appended == 0 {
            break;
        }
    }
    let (logged, total) = run(&site.pool, move |c| {
        let size = db::log::latest(c, pid)?.map_or(0, |cp| cp.size);
        let entries = db::log::entries(c, pid, 0, size)?;
        let sum: i64 = entries
            .iter()
            .map(|(_, data)| {
                serde_json::from_str::<serde_json::Value>(data).expect("entry")["delta"]
                    .as_i64()
                    .expect("delta")
            })
            .sum();
        let p = db::petitions::find_by_slug(c, "p-property")?.expect("petition");
        Ok((sum, p.signature_count + p.paper_count))
    })
    .await
    .expect("log");
    assert_eq!(logged, total, "seed {seed}: the log recounts to the total");
    println!(
        "seed {seed}: {STEPS} steps, {counted} counted; {} of them {:?}",
        trace.len(),
        tally(&trace)
    );
    drop(site.settings);
}

fn tally(trace: &[&'static str]) -> BTreeMap<&'static str, usize> {
    let mut t = BTreeMap::new();
    for what in trace {
        *t.entry(*what).or_default() += 1;
    }
    t
}

fn pick(rng: &mut StdRng, from: &[String]) -> Option<String> {
    (!from.is_empty()).then(|| from[rng.random_range(0..from.len())].clone())
}

fn email(to: &str) -> NewEmail {
    NewEmail {
        recipient: to.to_string(),
        subject: "a test".into(),
        body_text: "a test".into(),
        body_html: String::new(),
    }
}

type Receipts = Arc<dyn Fn(&ReceiptFor<'_>) -> NewEmail + Send + Sync>;

/// The receipt email, keeping its withdraw link in the signer's mailbox.
fn receipt_renderer(mailboxes: Arc<Mutex<Mailboxes>>) -> Receipts {
    Arc::new(move |r: &ReceiptFor<'_>| {
        mailboxes
            .lock()
            .expect("mailboxes")
            .withdraw
            .push(r.withdraw_token.to_string());
        email(r.recipient)
    })
}

/// How many of the petition's signatures count, by the SQL filter and by the Rust rule.
async fn counted_both_ways(pool: &Pool, pid: i32) -> (i64, i64) {
    run(pool, move |c| {
        use schema::signatures as s;
        let by_sql: i64 = s::table
            .filter(s::petition_id.eq(pid))
            .filter(db::signatures::counted())
            .count()
            .get_result(c)?;
        type Row = (
            String,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
        );
        let rows: Vec<Row> = s::table
            .filter(s::petition_id.eq(pid))
            .select((s::status, s::invalidated_at, s::withdrawn_at))
            .load(c)?;
        let by_rust = rows
            .iter()
            .filter(|(status, invalidated, withdrawn)| {
                SignatureStatus::from_stored(status)
                    .counts(invalidated.is_some(), withdrawn.is_some())
            })
            .count() as i64;
        Ok((by_sql, by_rust))
    })
    .await
    .expect("counted")
}
