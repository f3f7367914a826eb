//! Several instances on one database (PostgreSQL in production; SQLite works the same way on
//! one machine): exact counts, every email sent once, a dead instance's emails taken over.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use undersigned::db::{self, schema::email_jobs};

use crate::helpers::{Mail, TestDatabase, at_least, create_petition_in, eventually, spawn_app_on};

#[tokio::test]
async fn two_instances_on_one_database_count_exactly_and_send_every_email_once() {
    let shared = Arc::new(TestDatabase::create());
    let a = spawn_app_on(shared.clone(), Mail::Memory, &[]).await;
    let b = spawn_app_on(shared.clone(), Mail::Memory, &[]).await;
    let id = a.create_petition("p-two", &[1000]).await;
    let n = 40;
    let signs = (0..n).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        async move {
            let email = format!("two{i}@example.org");
            app.sign("p-two", &[("email", &email)])
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(signs).await;
    assert!(statuses.iter().all(|&s| s == 303), "{statuses:?}");

    let emails = eventually(
        Duration::from_secs(10),
        "a confirmation email each",
        async || at_least(n, a.emails().into_iter().chain(b.emails()).collect()),
    )
    .await;
    assert_eq!(emails.len(), n);
    // Confirm every link on both instances at once: each signature counts once.
    let confirms = emails.iter().flat_map(|raw| {
        let path = a.confirmation_path(raw);
        [(&a, path.clone()), (&b, path)]
    });
    let confirms = confirms
        .map(|(app, path)| async move { app.post_form(&path, &[]).await.status().as_u16() });
    let statuses = futures_util::future::join_all(confirms).await;
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");

    assert_eq!(a.rows(id).await, (n as i64, n as i64));
    assert_eq!(a.count("p-two").await, n as i64);
    assert_eq!(b.count("p-two").await, n as i64);

    // No email went out twice, whichever worker sent it (receipts included).
    a.wait_until_sent().await;
    let mut receipts: Vec<String> = a.all_emails().into_iter().chain(b.all_emails()).collect();
    receipts.retain(|m| m.contains("/receipt/"));
    assert_eq!(receipts.len(), n, "one receipt per confirmation");
    let mut recipients: Vec<String> = a.emails().into_iter().chain(b.emails()).collect();
    assert_eq!(recipients.len(), n);
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), n);
    let attempts: Vec<i32> = db::run(&a.pool, |c| {
        Ok(email_jobs::table.select(email_jobs::attempts).load(c)?)
    })
    .await
    .unwrap();
    assert_eq!(
        attempts,
        vec![1; 2 * n],
        "a confirmation and a receipt each, sent once"
    );
}

#[tokio::test]
async fn an_email_leased_by_a_killed_instance_is_sent_by_another_one() {
    let shared = Arc::new(TestDatabase::create());
    // An SMTP server that accepts connections and never answers: instance A's worker claims the
    // job and hangs mid-send, as a process does when it is killed at that moment.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_port = hole.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = vec![];
        for stream in hole.incoming().flatten() {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut instance_a = Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNDERSIGNED_DATA_DIR", dir.path())
        .env("UNDERSIGNED_KEY_FILE", shared.key_file())
        .env("UNDERSIGNED_BIND", "127.0.0.1:0")
        .env("UNDERSIGNED_DATABASE_URL", &shared.url)
        .env(
            "UNDERSIGNED_SMTP_URL",
            format!("smtp://127.0.0.1:{hole_port}"),
        )
        .env("UNDERSIGNED_EMAIL_LEASE_MS", "4000")
        .env("UNDERSIGNED_SMTP_TIMEOUT_S", "1")
        .env("UNDERSIGNED_EMAIL_POLL_MS", "50")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    // Kept open until A is killed, as a terminal would be.
    let mut stdout = BufReader::new(instance_a.stdout.take().unwrap());
    stdout.read_line(&mut banner).unwrap();
    let a_url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {banner:?}"))
        .trim_end_matches('/')
        .to_string();

    let pool = db::connect(&shared.url, 2).unwrap();
    create_petition_in(&pool, "p-killed", &[100]).await;
    let signed = crate::helpers::sign_on(&a_url, "p-killed", "ani@example.org").await;
    assert_eq!(signed.status().as_u16(), 303);

    let leased = || {
        let pool = pool.clone();
        async move {
            db::run(&pool, |c| {
                Ok(email_jobs::table
                    .filter(email_jobs::lease_until.is_not_null())
                    .filter(email_jobs::sent_at.is_null())
                    .count()
                    .get_result::<i64>(c)?)
            })
            .await
            .unwrap()
        }
    };
    eventually(
        Duration::from_secs(5),
        "instance A claiming the job",
        async || leased().await == 1,
    )
    .await;
    assert_eq!(leased().await, 1, "instance A claimed the job");
    instance_a.kill().unwrap();
    instance_a.wait().unwrap();
    drop(stdout);

    let b = spawn_app_on(shared.clone(), Mail::Memory, &[("email_lease_ms", "1500")]).await;
    let sent = b.wait_for_emails(1).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("To: ani@example.org"));
    b.wait_until_sent().await;
    assert_eq!(b.emails().len(), 1, "sent once");
    let unsent = db::run(&pool, undersigned::db::outbox::pending_count)
        .await
        .unwrap();
    assert_eq!(unsent, 0);
}

#[tokio::test]
async fn two_instances_on_one_database_keep_one_signed_log() {
    use undersigned::db::schema::log_sequencer;
    let shared = Arc::new(TestDatabase::create());
    // Instances of one site share the master key and the public address.
    let settings = [
        ("log_interval_ms", "30"),
        (
            "secret_key",
            "one master key for every instance of the site",
        ),
        ("base_url", "http://petitions.example"),
    ];
    let a = spawn_app_on(shared.clone(), Mail::Memory, &settings).await;
    let b = spawn_app_on(shared.clone(), Mail::Memory, &settings).await;
    a.create_petition("p-one-log", &[1000]).await;
    let n = 24;
    for round in 0..2 {
        let signs = (0..n / 2).map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            async move {
                let email = format!("r{round}s{i}@example.org");
                app.sign("p-one-log", &[("email", &email)])
                    .await
                    .status()
                    .as_u16()
            }
        });
        assert!(
            futures_util::future::join_all(signs)
                .await
                .iter()
                .all(|&s| s == 303)
        );
        let emails = eventually(
            Duration::from_secs(10),
            &format!("round {round}'s confirmation emails"),
            async || {
                at_least(
                    n / 2 * (round + 1),
                    a.emails().into_iter().chain(b.emails()).collect(),
                )
            },
        )
        .await;
        let fresh: Vec<String> = emails
            .into_iter()
            .filter(|e| e.contains(&format!("r{round}s")))
            .collect();
        assert_eq!(fresh.len(), n / 2);
        let confirms = fresh.iter().enumerate().map(|(i, raw)| {
            let app = if i % 2 == 0 { &a } else { &b };
            let link = crate::helpers::confirmation_link(raw);
            let path = url::Url::parse(&link).unwrap().path().to_string();
            async move { app.post_form(&path, &[]).await.status().as_u16() }
        });
        assert!(
            futures_util::future::join_all(confirms)
                .await
                .iter()
                .all(|&s| s == 200)
        );
        // Whoever held the lease lets it go: the other instance may take over.
        db::run(&a.pool, |c| {
            Ok(diesel::update(log_sequencer::table)
                .set(log_sequencer::lease_until.eq(chrono::NaiveDateTime::default()))
                .execute(c)?)
        })
        .await
        .unwrap();
    }
    let from_a = crate::log::wait_for_log_total(&a, "p-one-log", n as i64).await;
    let from_b = crate::log::fetch(&b, "p-one-log").await;
    assert_eq!(from_a.vkey, from_b.vkey, "one key for the site");
    assert_eq!((from_a.size, from_a.root), (from_b.size, from_b.root));
    assert_eq!(from_a.size, n as u64, "each confirmation entered once");
    assert_eq!(crate::log::root_of(&from_a.entries), from_a.root);
    let commitments: std::collections::BTreeSet<String> = from_a
        .entries
        .iter()
        .map(|e| {
            serde_json::from_slice::<serde_json::Value>(e).unwrap()["commitment"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(commitments.len(), n, "every signature once");
}
