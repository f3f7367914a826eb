//! Signing at a peak: submissions are written many to a transaction (group commit), and a
//! signer is answered only once theirs is committed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use undersigned::db;

use crate::helpers::{Mail, TestDatabase, create_petition_in, eventually, spawn_app_on};

/// Starts `undersigned serve` on `shared` as a process of its own, with `env` added and its
/// standard error to `stderr`; returns it and its URL.
/// A server process, killed when dropped: a test that fails half-way leaves none running.
pub struct Running(pub std::process::Child);

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn serve(
    shared: &TestDatabase,
    dir: &std::path::Path,
    env: &[(&str, &str)],
    stderr: Stdio,
) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNDERSIGNED_DATA_DIR", dir)
        .env("UNDERSIGNED_KEY_FILE", shared.key_file())
        .env("UNDERSIGNED_BIND", "127.0.0.1:0")
        .env("UNDERSIGNED_DATABASE_URL", &shared.url)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {banner:?}"))
        .trim_end_matches('/')
        .to_string();
    (Running(child), url)
}

#[tokio::test]
async fn no_acknowledged_signature_is_lost_when_the_process_is_killed_mid_batch() {
    let shared = Arc::new(TestDatabase::create());
    let dir = tempfile::tempdir().unwrap();
    // The server migrates the new database before it says where it listens.
    let limits = [
        ("UNDERSIGNED_SIGN_RATE_PER_MINUTE", "1000000"),
        ("UNDERSIGNED_SIGN_RATE_PER_HOUR", "1000000"),
        ("UNDERSIGNED_CONFIRMATION_EMAILS_PER_HOUR", "1000000"),
        (
            "UNDERSIGNED_CONFIRMATION_EMAILS_PER_DOMAIN_PER_HOUR",
            "1000000",
        ),
    ];
    let (mut child, url) = serve(&shared, dir.path(), &limits, Stdio::null());
    let pool = db::connect(&shared.url, 2).unwrap();
    let petition = create_petition_in(&pool, "p-kill", &[100]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    // 64 signers at a time, each a new address, until the process dies under them.
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let signers: Vec<_> = (0..64)
        .map(|worker| {
            let (client, url, acknowledged) = (client.clone(), url.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let email = format!("w{worker}-{n}@example.org");
                    let sent = client
                        .post(format!("{url}/petitions/p-kill/sign"))
                        .form(&[
                            ("name", "Ani"),
                            ("email", email.as_str()),
                            ("country", "AM"),
                            ("consent", "yes"),
                        ])
                        .send()
                        .await;
                    match sent {
                        Ok(res) if res.status().as_u16() == 303 => {
                            acknowledged.lock().unwrap().push(email)
                        }
                        Ok(res) => panic!("{email}: {}", res.status()),
                        // The process is gone.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    eventually(
        Duration::from_secs(60),
        "300 acknowledged signatures",
        async || acknowledged.lock().unwrap().len() >= 300,
    )
    .await;
    // SIGKILL: no shutdown, no flush; batches are being written at this moment.
    child.kill().unwrap();
    child.wait().unwrap();
    for signer in signers {
        signer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    // Every signer who was told "check your email" has a stored signature and a queued email.
    let app = spawn_app_on(shared.clone(), Mail::Memory, &[]).await;
    let indexes: Vec<String> = acknowledged
        .iter()
        .map(|e| app.email_index(petition, e))
        .collect();
    let (stored, queued) = db::run(&pool, move |c| {
        use undersigned::db::schema::{email_jobs as j, signatures as s};
        let ids: Vec<i32> = s::table
            .filter(s::petition_id.eq(petition))
            .filter(s::email_key.eq_any(&indexes))
            .select(s::id)
            .load(c)?;
        let queued: i64 = j::table
            .filter(j::signature_id.eq_any(&ids))
            .count()
            .get_result(c)?;
        Ok((ids.len(), queued))
    })
    .await
    .unwrap();
    assert_eq!(stored, acknowledged.len(), "acknowledged signatures lost");
    assert!(
        queued as usize >= acknowledged.len(),
        "confirmation emails lost: {queued}"
    );
}

#[tokio::test]
async fn a_burst_from_one_mailbox_in_one_batch_stores_one_signature_and_keeps_the_email_cap() {
    let app = crate::helpers::spawn_app().await;
    let id = app.create_petition("p-burst", &[100]).await;
    // Many submissions at once: distinct addresses and one address many times.
    let sends = (0..120).map(|i| {
        let email = if i % 3 == 0 {
            "same@example.org".to_string()
        } else {
            format!("s{i}@example.org")
        };
        let app = &app;
        async move {
            app.sign("p-burst", &[("email", email.as_str())])
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    let signatures = db::run(&app.pool, move |c| {
        use undersigned::db::schema::signatures as s;
        let n: i64 = s::table
            .filter(s::petition_id.eq(id))
            .count()
            .get_result(c)?;
        Ok(n)
    })
    .await
    .unwrap();
    assert_eq!(signatures, 81, "80 addresses and one repeated");
    // They were written together: fewer transactions than submissions.
    let (batches, submissions) = (
        app.metric("undersigned_sign_batch_size_count").await,
        app.metric("undersigned_sign_batch_size_sum").await,
    );
    assert_eq!(submissions, 120.0);
    assert!(
        batches < submissions,
        "{batches} transactions for {submissions} submissions"
    );
    // The repeated address got exactly its cap of confirmation emails (3), however many of
    // its 40 attempts shared a transaction.
    app.wait_until_sent().await;
    let emails = app.all_emails();
    let same = emails
        .iter()
        .filter(|e| e.contains("To: same@example.org"))
        .count();
    assert_eq!(same, 3, "{} emails in all", emails.len());
    assert_eq!(emails.len(), 83);
}
