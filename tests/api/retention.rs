//! Data goes away on schedule: `retention_days` after a petition closes or is delivered,
//! unconfirmed signatures once their links expire, email contents after a week.

use std::process::Command;

use diesel::prelude::*;
use undersigned::db;
use undersigned::db::schema::{confirmation_tokens, email_jobs, signatures};

use crate::helpers::{Mail, TestApp, spawn_app_with};

fn retention(app: &TestApp, args: &[&str], days: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .args(["retention", "run"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNDERSIGNED_DATA_DIR", app.dir.path())
        .env("UNDERSIGNED_DATABASE_URL", &app.db.url)
        .env("UNDERSIGNED_RETENTION_DAYS", days)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn sealed_rows(app: &TestApp) -> Vec<Option<String>> {
    db::run(&app.pool, |c| {
        Ok(signatures::table
            .order(signatures::id)
            .select(signatures::personal)
            .load(c)?)
    })
    .await
    .unwrap()
}

fn file_bytes(app: &TestApp) -> Option<Vec<u8>> {
    let path = app.db.url.strip_prefix("sqlite://")?;
    let mut bytes = std::fs::read(path).unwrap();
    bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    Some(bytes)
}

#[tokio::test]
async fn with_retention_days_0_a_closed_petition_loses_its_personal_data_and_keeps_its_count() {
    let app = spawn_app_with(Mail::Memory, &[("log_interval_ms", "50")]).await;
    let id = app.create_petition("p-kept", &[100]).await;
    for email in ["one@example.am", "two@example.am"] {
        app.sign("p-kept", &[("email", email)]).await;
    }
    for raw in app.wait_for_emails(2).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
    app.wait_until_sent().await;
    crate::log::wait_for_log_total(&app, "p-kept", 2).await;
    let before = sealed_rows(&app).await;
    assert!(before.iter().all(Option::is_some));

    // An open petition keeps everything, whatever the setting.
    let open = retention(&app, &[], "0");
    assert!(open.contains("0 signatures' personal data"), "{open}");
    assert_eq!(sealed_rows(&app).await, before);

    app.close(id).await;
    let dry = retention(&app, &["--dry-run"], "0");
    assert!(
        dry.contains("dry run") && dry.contains("2 signatures' personal data"),
        "{dry}"
    );
    assert_eq!(sealed_rows(&app).await, before, "a dry run erases nothing");
    // With the default 180 days, a petition closed now is not due.
    let early = retention(&app, &[], "180");
    assert!(early.contains("0 signatures' personal data"), "{early}");

    let done = retention(&app, &[], "0");
    assert!(done.contains("2 signatures' personal data"), "{done}");
    assert!(sealed_rows(&app).await.iter().all(Option::is_none));
    // Not even the ciphertext survives in the file or its write-ahead log.
    if let Some(bytes) = file_bytes(&app) {
        for sealed in before.iter().flatten() {
            assert!(
                !bytes.windows(40).any(|w| w == &sealed.as_bytes()[10..50]),
                "an erased value lingers in the SQLite files"
            );
        }
    }
    // The count, the countries, the numbers and the log stay.
    assert_eq!(app.count("p-kept").await, 2);
    let published = crate::log::fetch(&app, "p-kept").await;
    assert_eq!(published.total, 2);
    let numbers: Vec<Option<i32>> = db::run(&app.pool, |c| {
        Ok(signatures::table
            .order(signatures::id)
            .select(signatures::number)
            .load(c)?)
    })
    .await
    .unwrap();
    assert_eq!(numbers, [Some(1), Some(2)]);
    // A second run has nothing left to do.
    let again = retention(&app, &[], "0");
    assert!(again.contains("0 signatures' personal data"), "{again}");
}

#[tokio::test]
async fn expired_pending_signatures_and_old_email_contents_are_erased() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    app.create_petition("p-stale", &[100]).await;
    app.sign("p-stale", &[("email", "never@example.am")]).await;
    app.sign("p-stale", &[("email", "later@example.am")]).await;
    app.wait_for_emails(2).await;
    app.wait_until_sent().await;
    let never = app.signature_id("never@example.am").await;
    let now = db::now();
    let keys = app.keys.clone();
    db::run(&app.pool, move |c| {
        // One link has expired; the other is still good.
        diesel::update(
            confirmation_tokens::table.filter(confirmation_tokens::signature_id.eq(never)),
        )
        .set(confirmation_tokens::expires_at.eq(now - chrono::TimeDelta::hours(1)))
        .execute(c)?;
        // An email given up on eight days ago still holds its content; one given up on
        // yesterday does too.
        for days in [8, 1] {
            let content = keys.seal(
                undersigned::sealed::Purpose::Email,
                &undersigned::domain::NewEmail {
                    recipient: format!("bounced{days}@example.am"),
                    subject: "s".into(),
                    body_text: "t".into(),
                    body_html: String::new(),
                },
            );
            diesel::insert_into(email_jobs::table)
                .values((
                    email_jobs::content.eq(Some(content)),
                    email_jobs::created_at.eq(now - chrono::TimeDelta::days(days)),
                    email_jobs::next_attempt_at.eq(now),
                    email_jobs::attempts.eq(30),
                    email_jobs::failed_at.eq(Some(now - chrono::TimeDelta::days(days))),
                ))
                .execute(c)?;
        }
        Ok(())
    })
    .await
    .unwrap();

    let erased = db::run(&app.pool, move |c| {
        undersigned::usecases::retention::run(c, db::now(), 180, false)
            .map_err(|e| db::DbError::Other(e.to_string()))
    })
    .await
    .unwrap();
    assert_eq!(erased.pending, 1);
    assert_eq!(erased.email_jobs, 1);
    let (rows, links, contents) = db::run(&app.pool, |c| {
        Ok((
            signatures::table.count().get_result::<i64>(c)?,
            confirmation_tokens::table.count().get_result::<i64>(c)?,
            email_jobs::table
                .filter(email_jobs::content.is_not_null())
                .count()
                .get_result::<i64>(c)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!((rows, links, contents), (1, 1, 1));
    // The signer whose link still works can confirm.
    let later = app
        .emails()
        .into_iter()
        .find(|e| e.contains("To: later@example.am"))
        .unwrap();
    let res = app.post_form(&app.confirmation_path(&later), &[]).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(app.count("p-stale").await, 1);
}

#[tokio::test]
async fn withdrawals_racing_retention_on_a_closed_petition_erase_and_uncount_each_signer_once() {
    let app = spawn_app_with(Mail::Memory, &[("log_interval_ms", "50")]).await;
    let id = app.create_petition("p-race", &[100]).await;
    let mut links = Vec::new();
    for i in 0..6 {
        let (email, name) = (format!("racer{i}@example.am"), format!("Racer {i}"));
        links.push(crate::withdraw::confirmed(&app, "p-race", &email, &name).await);
    }
    crate::log::wait_for_log_total(&app, "p-race", 6).await;
    app.close(id).await;

    // The retention command (another process) and six signers withdrawing, at once.
    let (url, dir) = (app.db.url.clone(), app.dir.path().to_owned());
    let retention = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_undersigned"))
            .args(["retention", "run"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("UNDERSIGNED_DATA_DIR", dir)
            .env("UNDERSIGNED_DATABASE_URL", url)
            .env("UNDERSIGNED_RETENTION_DAYS", "0")
            .output()
            .unwrap()
    });
    let withdrawals =
        futures_util::future::join_all(links.iter().map(|link| app.post_form(link, &[])));
    let (out, responses) = tokio::join!(retention, withdrawals);
    let out = out.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8(out.stdout).unwrap();
    let erased: usize = report
        .lines()
        .find_map(|l| l.strip_suffix(" signatures' personal data"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{report}"));
    // Each signer either withdrew (200) or found their data already erased on schedule (404).
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| [200, 404].contains(s)),
        "{statuses:?}"
    );
    let withdrew = statuses.iter().filter(|s| **s == 200).count();

    let (withdrawn_rows, personal): (i64, Vec<Option<String>>) = db::run(&app.pool, |c| {
        let withdrawn = signatures::table
            .filter(signatures::withdrawn_at.is_not_null())
            .count()
            .get_result(c)?;
        let personal = signatures::table.select(signatures::personal).load(c)?;
        Ok((withdrawn, personal))
    })
    .await
    .unwrap();
    assert_eq!(withdrawn_rows as usize, withdrew);
    assert_eq!(erased + withdrew, 6, "every signer erased once: {report}");
    assert!(
        personal.iter().all(Option::is_none),
        "nothing personal is left"
    );
    let counted = 6 - withdrew as i64;
    assert_eq!(app.count("p-race").await, counted);
    crate::log::wait_for_log_total(&app, "p-race", counted).await;
}

#[tokio::test]
async fn a_signer_erased_on_schedule_cannot_sign_again_to_count_twice_when_the_petition_reopens() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    let id = app.create_petition("p-twice", &[100]).await;
    app.sign("p-twice", &[("email", "once@example.am")]).await;
    let raw = app.wait_for_emails(1).await[0].clone();
    app.post_form(&app.confirmation_path(&raw), &[]).await;
    app.wait_until_sent().await;
    assert_eq!(app.count("p-twice").await, 1);
    app.close(id).await;
    let done = retention(&app, &[], "0");
    assert!(done.contains("1 signatures' personal data"), "{done}");
    assert!(sealed_rows(&app).await.iter().all(Option::is_none));

    app.set_status(id, undersigned::domain::PetitionStatus::Open)
        .await;
    let before = app.all_emails().len();
    let res = app.sign("p-twice", &[("email", "Once@Example.am")]).await;
    assert_eq!(res.status().as_u16(), 303);
    let mail = app.wait_for_all_emails(before + 1).await[before].clone();
    assert!(
        crate::helpers::subject(&mail).contains("already signed"),
        "{mail}"
    );
    assert_eq!(app.rows(id).await, (1, 1), "no second signature");
    assert_eq!(app.count("p-twice").await, 1);
}

/// Retention deleting the newest signature (pending, its link expired) never hands its id to
/// the next signer: an email job or a fan-out cursor that named it would name a stranger.
#[tokio::test]
async fn the_id_of_a_deleted_newest_signature_is_never_given_to_the_next_signer() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    app.create_petition("p-ids", &[100]).await;
    app.sign("p-ids", &[("email", "first@example.am")]).await;
    app.sign("p-ids", &[("email", "newest@example.am")]).await;
    app.wait_for_emails(2).await;
    let newest = app.signature_id("newest@example.am").await;
    let now = db::now();
    db::run(&app.pool, move |c| {
        diesel::update(
            confirmation_tokens::table.filter(confirmation_tokens::signature_id.eq(newest)),
        )
        .set(confirmation_tokens::expires_at.eq(now - chrono::TimeDelta::hours(1)))
        .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let out = retention(&app, &[], "180");
    assert!(out.contains("1 unconfirmed"), "{out}");

    app.sign("p-ids", &[("email", "next@example.am")]).await;
    app.wait_for_emails(3).await;
    let next = app.signature_id("next@example.am").await;
    assert!(
        next > newest,
        "id {next} reused (the deleted one was {newest})"
    );
}
