use std::time::Duration;

use undersigned::db::{self, outbox};

use crate::helpers::{Mail, SmtpSink, eventually, free_port, spawn_app, spawn_app_with};

#[tokio::test]
async fn signing_succeeds_while_smtp_is_down_and_the_email_arrives_once_it_is_back() {
    let port = free_port();
    let app = spawn_app_with(Mail::Smtp(port), &[]).await;
    let id = app.create_petition("p-down", &[100]).await;
    let res = app.sign("p-down", &[]).await;
    assert_eq!(
        res.status().as_u16(),
        303,
        "signing does not wait for the mail server"
    );
    assert_eq!(app.rows(id).await.0, 1);

    // A few attempts fail against the closed port: the worker ran, and will run again.
    eventually(Duration::from_secs(10), "two failed attempts", async || {
        let attempts: i32 = db::run(&app.pool, |c| {
            use diesel::prelude::*;
            use undersigned::db::schema::email_jobs as j;
            Ok(j::table.select(j::attempts).first(c)?)
        })
        .await
        .unwrap();
        attempts >= 2
    })
    .await;
    let pending = db::run(&app.pool, outbox::pending_count).await.unwrap();
    assert_eq!(pending, 1, "the job waits in the outbox");

    let sink = SmtpSink::start_on(port).await;
    let got = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("/confirm/"));
    // And it is sent once: later polls find nothing to do.
    app.wait_until_sent().await;
    assert_eq!(sink.messages.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_job_leased_by_a_worker_that_died_is_sent_after_its_lease_runs_out() {
    let app = spawn_app().await;
    // A worker claimed this job and was killed before sending: the lease is all that is left.
    let now = db::now();
    let lease = now + chrono::TimeDelta::milliseconds(600);
    let keys = app.keys.clone();
    db::run(&app.pool, move |c| {
        outbox::enqueue(
            c,
            &outbox::SealedEmail::new(
                &keys,
                &undersigned::domain::NewEmail {
                    recipient: "orphan@example.org".into(),
                    subject: "orphaned".into(),
                    body_text: "text".into(),
                    body_html: "<p>html</p>".into(),
                },
            ),
            None,
            now,
        )?;
        let id = outbox::due(c, now, 10)?[0];
        assert_eq!(outbox::claim(c, &[id], now, lease)?.len(), 1);
        // A second worker cannot take it while the lease holds.
        assert!(outbox::claim(c, &[id], now, lease)?.is_empty());
        Ok(())
    })
    .await
    .unwrap();
    let sent = app.wait_for_emails(1).await;
    assert_eq!(sent.len(), 1);
    app.wait_until_sent().await;
    assert_eq!(app.emails().len(), 1, "sent exactly once");
    // Workers polled every 50 ms all along; none took the job before its lease ran out.
    let sent_at = db::run(&app.pool, |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::email_jobs as j;
        Ok(j::table
            .select(j::sent_at)
            .first::<Option<chrono::NaiveDateTime>>(c)?)
    })
    .await
    .unwrap()
    .expect("marked sent");
    assert!(sent_at >= lease, "sent at {sent_at}, leased until {lease}");
}

#[tokio::test]
async fn with_no_smtp_url_emails_are_written_as_eml_files_in_the_data_dir() {
    let app = spawn_app_with(Mail::Files, &[]).await;
    app.create_petition("p-files", &[100]).await;
    app.sign("p-files", &[]).await;
    let dir = app.dir.path().join("outbox");
    let files = eventually(Duration::from_secs(5), "an .eml file", async || {
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        (!files.is_empty()).then_some(files)
    })
    .await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    let link = crate::helpers::confirmation_link(&raw);
    let path = link.strip_prefix(&app.address).unwrap().to_string();
    assert_eq!(app.post_form(&path, &[]).await.status().as_u16(), 200);
    assert_eq!(app.count("p-files").await, 1);
}

#[tokio::test]
async fn emails_are_multipart_in_the_signers_language() {
    let app = spawn_app().await;
    app.create_petition("p-lang", &[100]).await;
    app.client
        .post(format!("{}/petitions/p-lang/sign", app.address))
        .header("Accept-Language", "ru-RU,ru;q=0.9")
        .form(&[
            ("name", "Анна"),
            ("email", "anna@example.org"),
            ("country", "RU"),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    let raw = &app.wait_for_emails(1).await[0];
    assert!(raw.contains("multipart/alternative"));
    let (text, html) = crate::helpers::bodies(raw);
    assert!(
        text.contains("Здравствуйте!") && !text.contains("Анна"),
        "{text}"
    );
    assert!(html.contains("Подтвердить подпись"));
    assert!(crate::helpers::subject(raw).starts_with("Подтвердите подпись"));
}
