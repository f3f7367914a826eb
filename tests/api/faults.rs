//! Faults as an operator meets them: relays that hang, drop a message half-way or overflow,
//! a disk that fills up, a database server restarted, a process killed. Each test asserts what
//! a signer or an organizer would notice: every acknowledged signature can be confirmed, every
//! email arrives exactly once, and the count keeps moving.

use std::collections::HashSet;
use std::time::Duration;

use crate::helpers::{
    Fault, Mail, SmtpSink as Relay, TestApp, confirmation_link, free_port, spawn_app_with,
};

/// A relay's confirmation emails.
trait Confirmations {
    fn confirmation_links(&self) -> Vec<String>;
    async fn wait_for_confirmations(&self, n: usize, deadline: Duration) -> Vec<String>;
}

impl Confirmations for Relay {
    fn confirmation_links(&self) -> Vec<String> {
        self.messages
            .lock()
            .expect("relay lock")
            .iter()
            .filter(|m| m.contains("/confirm/"))
            .map(|m| confirmation_link(m))
            .collect()
    }

    /// Waits until `n` confirmation emails arrived, at most `deadline`.
    async fn wait_for_confirmations(&self, n: usize, deadline: Duration) -> Vec<String> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            let links = self.confirmation_links();
            if links.len() >= n {
                return links;
            }
            assert!(
                tokio::time::Instant::now() < end,
                "{} of {n} confirmation emails arrived within {deadline:?}",
                links.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// An app sending through `port`, each exchange bounded by `timeout_s` seconds.
async fn app_on_relay(port: u16, timeout_s: u64) -> TestApp {
    let lease = (2 * timeout_s * 1000 + 1000).to_string();
    spawn_app_with(
        Mail::Smtp(port),
        &[
            ("smtp_timeout_s", &timeout_s.to_string()),
            ("email_lease_ms", &lease),
            ("email_retry_base_ms", "200"),
        ],
    )
    .await
}

/// Signs `n` times with distinct addresses, each acknowledged.
async fn sign_many(app: &TestApp, slug: &str, n: usize) {
    for i in 0..n {
        let email = format!("signer{i}@example.org");
        let res = app.sign(slug, &[("email", email.as_str())]).await;
        assert_eq!(res.status().as_u16(), 303, "{email}");
    }
}

/// Every link confirms, once each, and the public count is theirs.
async fn confirm_all(app: &TestApp, slug: &str, links: &[String]) {
    let distinct: HashSet<&String> = links.iter().collect();
    assert_eq!(distinct.len(), links.len(), "an email arrived twice");
    for link in links {
        let path = app.confirmation_path(&format!("Subject: x\r\n\r\n{link}\r\n"));
        let res = app.post_form(&path, &[]).await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
    app.state.live.changed_all();
    assert_eq!(app.count(slug).await, links.len() as i64);
}

#[tokio::test]
async fn emails_go_out_once_a_relay_that_hung_after_accepting_is_replaced() {
    let port = free_port();
    let hung = Relay::start_faulty(port, Some(Fault::Hang)).await;
    let app = app_on_relay(port, 1).await;
    app.create_petition("p-hang", &[100]).await;
    sign_many(&app, "p-hang", 20).await;
    // Every send meets the silent relay and gives up after its second.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    hung.stop().await;
    let relay = Relay::start_faulty(port, None).await;
    let links = relay
        .wait_for_confirmations(20, Duration::from_secs(40))
        .await;
    app.wait_until_sent().await;
    assert_eq!(relay.confirmation_links().len(), 20, "sent exactly once");
    confirm_all(&app, "p-hang", &links).await;
}

#[tokio::test]
async fn a_message_cut_off_mid_data_is_sent_again_and_arrives_once() {
    let relay = Relay::start_faulty(0, Some(Fault::DropInData(3))).await;
    let app = app_on_relay(relay.port, 1).await;
    app.create_petition("p-drop", &[100]).await;
    sign_many(&app, "p-drop", 8).await;
    let links = relay
        .wait_for_confirmations(8, Duration::from_secs(30))
        .await;
    app.wait_until_sent().await;
    assert_eq!(relay.confirmation_links().len(), 8, "sent exactly once");
    confirm_all(&app, "p-drop", &links).await;
}

#[tokio::test]
async fn a_burst_of_32_through_a_relay_whose_backlog_overflows_all_arrives_once() {
    let relay = Relay::start_faulty(0, Some(Fault::SlowAccept(Duration::from_secs(3)))).await;
    // Longer than the kernel's first SYN retransmission (1 s), as any real timeout is.
    let app = app_on_relay(relay.port, 3).await;
    app.create_petition("p-burst", &[100]).await;
    let signs: Vec<_> = (0..32)
        .map(|i| {
            let email = format!("burst{i}@example.org");
            let (client, url) = (app.client.clone(), app.address.clone());
            tokio::spawn(async move {
                client
                    .post(format!("{url}/petitions/p-burst/sign"))
                    .form(&[
                        ("name", "Ani"),
                        ("email", email.as_str()),
                        ("country", "AM"),
                        ("consent", "yes"),
                    ])
                    .send()
                    .await
                    .expect("request")
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for s in signs {
        assert_eq!(s.await.expect("signer"), 303);
    }
    let links = relay
        .wait_for_confirmations(32, Duration::from_secs(60))
        .await;
    app.wait_until_sent().await;
    assert_eq!(relay.confirmation_links().len(), 32, "sent exactly once");
    confirm_all(&app, "p-burst", &links).await;
}

#[tokio::test]
async fn every_connection_commits_to_disk_before_an_answer_is_given() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let app = crate::helpers::spawn_app().await;
    let pool = app.pool.clone();
    // Every pooled connection at once, not only the first: any of them may write.
    let values = tokio::task::spawn_blocking(move || {
        let mut held = Vec::new();
        for _ in 0..pool.max_size() {
            held.push(pool.get().expect("a connection"));
        }
        held.iter_mut()
            .map(|c| {
                let query = match &**c {
                    undersigned::db::DbConnection::Sqlite(_) => {
                        "SELECT CAST(synchronous AS TEXT) AS value FROM pragma_synchronous"
                    }
                    undersigned::db::DbConnection::Postgres(_) => {
                        "SELECT setting AS value FROM pg_settings WHERE name = 'synchronous_commit'"
                    }
                };
                diesel::sql_query(query)
                    .get_result::<Setting>(&mut **c)
                    .expect("the setting")
                    .value
            })
            .collect::<Vec<String>>()
    })
    .await
    .unwrap();
    assert_eq!(values.len(), 8);
    // SQLite: 2 is FULL (the log is synced at every commit); NORMAL (1) loses the last
    // commits to a power cut. PostgreSQL: `on`.
    for value in values {
        assert!(value == "2" || value == "on", "{value}");
    }
}

#[tokio::test]
async fn a_log_that_cannot_start_is_shown_on_the_dashboard_and_in_the_metrics() {
    use diesel::prelude::*;
    use undersigned::db::schema::{petitions as p, signatures as s};
    let app = spawn_app_with(Mail::Memory, &[("log_interval_ms", "50")]).await;
    crate::organizers::add_organizer(&app, "org@example.org", "a long enough password", false);
    let id = app
        .create_owned_petition("p-stuck", &[100], "org@example.org")
        .await;
    app.sign("p-stuck", &[]).await;
    let raw = app.wait_for_emails(1).await;
    app.post_form(&app.confirmation_path(&raw[0]), &[]).await;
    assert_eq!(app.metric("undersigned_log_unstarted").await, 0.0);
    // A counted signature without its commitment (a damaged row, an interrupted upgrade): the
    // log of a petition made two minutes ago cannot start.
    undersigned::db::run(&app.pool, move |c| {
        diesel::update(s::table.filter(s::petition_id.eq(id)))
            .set(s::commitment.eq(None::<String>))
            .execute(c)?;
        diesel::update(p::table.find(id))
            .set((
                p::log_started.eq(false),
                p::created_at.eq(undersigned::db::now() - chrono::TimeDelta::minutes(2)),
            ))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(app.metric("undersigned_log_unstarted").await, 1.0);
    crate::organizers::login(&app, "org@example.org", "a long enough password").await;
    let page = app.text("/dashboard").await;
    assert!(
        page.contains("role=\"alert\">The signed log of “Petition p-stuck” cannot start"),
        "{page}"
    );
}

#[tokio::test]
async fn a_receipt_goes_out_at_once_after_confirming_not_at_the_next_poll() {
    // The worker looks on its own only once a minute: only a wake sends sooner.
    let app = spawn_app_with(Mail::Memory, &[("email_poll_ms", "60000")]).await;
    app.create_petition("p-wake", &[100]).await;
    app.sign("p-wake", &[]).await;
    let raw = app.wait_for_emails(1).await;
    app.post_form(&app.confirmation_path(&raw[0]), &[]).await;
    // `wait_for_all_emails` gives up after five seconds.
    let all = app.wait_for_all_emails(2).await;
    assert!(all.iter().any(|m| m.contains("/receipt/")), "a receipt");
}

#[tokio::test]
async fn a_signer_held_up_by_the_write_lock_is_asked_to_retry_and_then_signs() {
    use diesel::connection::SimpleConnection;
    let app = crate::helpers::spawn_app().await;
    let id = app.create_petition("p-locked", &[100]).await;
    // A first signature: what a sign request needs besides the writer (today's network-hash
    // seed) is ready, so the wait below is the writer's.
    let res = app
        .sign("p-locked", &[("email", "first@example.org")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    // Something long holds the write lock (a maintenance job, another process) for 13 s.
    let pool = app.pool.clone();
    let (locked_tx, locked) = tokio::sync::oneshot::channel();
    let holder = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("a connection");
        let lock = match &*conn {
            undersigned::db::DbConnection::Sqlite(_) => "BEGIN IMMEDIATE",
            undersigned::db::DbConnection::Postgres(_) => {
                "BEGIN; LOCK TABLE signatures IN EXCLUSIVE MODE"
            }
        };
        conn.batch_execute(lock).expect("the lock");
        let _ = locked_tx.send(());
        std::thread::sleep(Duration::from_secs(13));
        conn.batch_execute("ROLLBACK").expect("released");
    });
    locked.await.expect("locked");
    let started = std::time::Instant::now();
    let res = app.sign("p-locked", &[]).await;
    assert_eq!(res.status().as_u16(), 503, "asked to try again");
    assert!(res.headers().contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "answered by the writer's deadline, not the lock's end: {:?}",
        started.elapsed()
    );
    holder.await.expect("the holder");
    // Trying again signs; one mailbox is one signature whichever try was stored.
    let res = app.sign("p-locked", &[]).await;
    assert_eq!(res.status().as_u16(), 303);
    app.wait_until_sent().await;
    assert_eq!(app.rows(id).await.0, 2);
}

/// A server asked to stop (SIGTERM, as systemd or Docker do) while the relay is taking an
/// email lets that send finish and records it: the email is not sent again after a restart.
#[tokio::test]
async fn a_server_stopped_mid_send_finishes_the_send_and_never_sends_it_again() {
    use diesel::prelude::*;
    use undersigned::db::schema::email_jobs;
    let relay = Relay::start_faulty(0, Some(Fault::SlowReply(Duration::from_secs(2)))).await;
    let shared = std::sync::Arc::new(crate::helpers::TestDatabase::create());
    let dir = tempfile::tempdir().unwrap();
    let smtp = format!("smtp://127.0.0.1:{}", relay.port);
    let (mut child, url) = crate::group_commit::serve(
        &shared,
        dir.path(),
        &[
            ("UNDERSIGNED_SMTP_URL", smtp.as_str()),
            ("UNDERSIGNED_SMTP_TIMEOUT_S", "10"),
            ("UNDERSIGNED_EMAIL_LEASE_MS", "30000"),
        ],
        std::process::Stdio::null(),
    );
    let pool = undersigned::db::connect(&shared.url, 2).unwrap();
    crate::helpers::create_petition_in(&pool, "p-stop", &[100]).await;
    let signed = crate::helpers::spawn_client()
        .post(format!("{url}/petitions/p-stop/sign"))
        .form(&[
            ("name", "Ani"),
            ("email", "ani@example.org"),
            ("country", "AM"),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert!(signed.status().is_success() || signed.status().is_redirection());
    // The relay has the message and has not said so yet: stop the server now.
    relay
        .wait_for_confirmations(1, Duration::from_secs(20))
        .await;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let end = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < end,
            "the server stops within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let unsent = undersigned::db::run(&pool, |c| {
        Ok(email_jobs::table
            .filter(email_jobs::sent_at.is_null())
            .count()
            .get_result::<i64>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(unsent, 0, "the email the relay took is recorded as sent");
    assert_eq!(relay.confirmation_links().len(), 1);
}
