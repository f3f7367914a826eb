//! A signer takes their signature back, or asks what the site holds about them, through the
//! link in the email they get once confirmed.

use diesel::prelude::*;
use undersigned::db;

use crate::helpers::{Mail, TestApp, bodies, spawn_app_with};
use crate::log::wait_for_log_total;

/// Signs and confirms as `email`; returns the withdraw link from the receipt email.
pub async fn confirmed(app: &TestApp, slug: &str, email: &str, name: &str) -> String {
    let before = app.all_emails().len();
    app.sign(slug, &[("email", email), ("name", name)]).await;
    let link = app.confirmation_path(
        app.wait_for_all_emails(before + 1).await[before..]
            .iter()
            .find(|e| e.contains(&format!("To: {email}")))
            .expect("a confirmation email"),
    );
    let thanks = app.post_form(&link, &[]).await.text().await.unwrap();
    assert!(
        thanks.contains("a link to withdraw your signature"),
        "the thanks page says the email will come"
    );
    let receipt = app.wait_for_all_emails(before + 2).await[before..]
        .iter()
        .find(|e| e.contains(&format!("To: {email}")) && e.contains("/withdraw/"))
        .cloned()
        .expect("a receipt email with a withdraw link");
    let (text, _) = bodies(&receipt);
    let at = text.find("/withdraw/").expect("the link in the text part");
    let link = text[at..].split_whitespace().next().unwrap();
    // The link opens in the signer's language; the tests add paths to the bare link.
    link.strip_suffix("?lang=en").unwrap_or(link).to_string()
}

async fn personal_of(app: &TestApp, email: &str) -> Option<String> {
    let id = app.signature_id(email).await;
    db::run(&app.pool, move |c| {
        use undersigned::db::schema::signatures as s;
        Ok(s::table
            .find(id)
            .select(s::personal)
            .first::<Option<String>>(c)?)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_signer_withdraws_and_the_count_drops_at_once_with_their_data_erased() {
    let app = spawn_app_with(
        Mail::Memory,
        &[("log_interval_ms", "50"), ("public_country_min", "1")],
    )
    .await;
    app.create_petition("p-out", &[100]).await;
    let link = confirmed(&app, "p-out", "anahit@example.am", "Anahit Mkrtchyan").await;
    confirmed(&app, "p-out", "stays@example.am", "Stays Here").await;
    assert_eq!(app.count("p-out").await, 2);
    wait_for_log_total(&app, "p-out", 2).await;

    // The link's page offers the choice and changes nothing (mail scanners open links).
    let page = app.text(&link).await;
    assert!(page.contains("Withdraw my signature") && page.contains("Email me my data"));
    assert_eq!(app.count("p-out").await, 2);
    assert!(personal_of(&app, "anahit@example.am").await.is_some());

    // Asking for the data mails it to the signer, in full.
    let before = app.all_emails().len();
    let res = app.post_form(&format!("{link}/data"), &[]).await;
    assert_eq!(res.status().as_u16(), 200);
    let data = app.wait_for_all_emails(before + 1).await[before].clone();
    assert!(data.contains("To: anahit@example.am"));
    let (text, _) = bodies(&data);
    assert!(
        text.contains("Anahit Mkrtchyan") && text.contains("anahit@example.am"),
        "{text}"
    );

    // Withdrawing: one less, at once, in the count, the country and the signed log.
    let res = app.post_form(&link, &[]).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Your signature is withdrawn")
    );
    assert_eq!(app.count("p-out").await, 1);
    let json = app.json("p-out").await;
    assert_eq!(json["signatures_by_country"][0]["count"], 1);
    let log = wait_for_log_total(&app, "p-out", 1).await;
    let last: serde_json::Value = serde_json::from_slice(log.entries.last().unwrap()).unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["delta"].as_i64()),
        (Some("withdrawn"), Some(-1))
    );
    // The data is gone from the row, the export and the organizers' list.
    let keys = app.keys.clone();
    let petition = app.json("p-out").await;
    assert_eq!(petition["signature_count"], 1);
    let rows = db::run(&app.pool, move |c| {
        use undersigned::db::schema::signatures as s;
        let withdrawn: Vec<(Option<String>, String)> = s::table
            .filter(s::withdrawn_at.is_not_null())
            .select((s::personal, s::email_key))
            .load(c)?;
        let pid: i32 = undersigned::db::schema::petitions::table
            .filter(undersigned::db::schema::petitions::slug.eq("p-out"))
            .select(undersigned::db::schema::petitions::id)
            .first(c)?;
        let export = db::views::export::export_batch(c, &keys, pid, &Default::default(), 0, 10)?;
        Ok((withdrawn, export))
    })
    .await
    .unwrap();
    let (withdrawn, export) = rows;
    assert_eq!(withdrawn.len(), 1);
    assert!(withdrawn[0].0.is_none(), "the sealed data is erased");
    assert!(
        withdrawn[0].1.starts_with("withdrawn:"),
        "no mailbox hash either"
    );
    assert_eq!(export.len(), 1);
    assert_eq!(export[0].email, "stays@example.am");
    // Every time a row keeps is to the minute, as the public log has it (exact times could tie
    // a row to a mail server's or a network's logs), and an erased row keeps no email window.
    let times = db::run(&app.pool, |c| {
        use undersigned::db::schema::signatures as s;
        type Times = (
            chrono::NaiveDateTime,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
        );
        Ok(s::table
            .select((
                s::created_at,
                s::confirmed_at,
                s::withdrawn_at,
                s::erased_at,
                s::emails_window_start,
            ))
            .load::<Times>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(times.len(), 2);
    for (signed, confirmed, withdrawn, erased, window) in &times {
        for t in [
            Some(signed),
            confirmed.as_ref(),
            withdrawn.as_ref(),
            erased.as_ref(),
            window.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            use chrono::Timelike;
            assert_eq!((t.second(), t.nanosecond()), (0, 0), "{times:?}");
        }
        assert_eq!(erased.is_some(), window.is_none(), "{times:?}");
    }

    // Twice is harmless: the same page, nothing changes.
    let again = app.post_form(&link, &[]).await;
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(app.count("p-out").await, 1);
    let page = app.text(&link).await;
    assert!(page.contains("already withdrawn"), "{page}");
    // Nothing is held any more, so nothing is sent.
    let before = app.all_emails().len();
    app.post_form(&format!("{link}/data"), &[]).await;
    app.wait_until_sent().await;
    assert_eq!(app.all_emails().len(), before);

    // The same person may sign again, and counts again.
    confirmed(&app, "p-out", "anahit@example.am", "Anahit Mkrtchyan").await;
    assert_eq!(app.count("p-out").await, 2);
    wait_for_log_total(&app, "p-out", 2).await;
}

#[tokio::test]
async fn a_forged_or_mangled_withdraw_link_changes_nothing() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    app.create_petition("p-forged", &[100]).await;
    let link = confirmed(&app, "p-forged", "ani@example.am", "Ani").await;
    let forged = format!("/withdraw/{}", "b".repeat(43));
    for path in [forged.as_str(), "/withdraw/short", "/withdraw/%00%01"] {
        let get = app.get(path).await;
        assert_eq!(get.status().as_u16(), 404, "{path}");
        assert!(get.text().await.unwrap().contains("This link is not valid"));
        let post = app.post_form(path, &[]).await;
        assert_eq!(post.status().as_u16(), 404, "{path}");
    }
    let data = app.post_form(&format!("{forged}/data"), &[]).await;
    assert_eq!(
        data.status().as_u16(),
        200,
        "the same answer as for a real link"
    );
    assert_eq!(app.count("p-forged").await, 1);
    assert!(personal_of(&app, "ani@example.am").await.is_some());
    assert_eq!(app.get(&link).await.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn signing_again_brings_a_fresh_withdraw_link_to_a_signer_who_lost_theirs() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    app.create_petition("p-again", &[100]).await;
    let first = confirmed(&app, "p-again", "ani@example.am", "Ani").await;
    let before = app.all_emails().len();
    app.sign("p-again", &[("email", "ANI@example.am")]).await;
    let already = app.wait_for_all_emails(before + 1).await[before].clone();
    assert!(crate::helpers::subject(&already).contains("already signed"));
    let (text, _) = bodies(&already);
    let at = text
        .find("/withdraw/")
        .expect("a withdraw link in the already-signed email");
    let fresh = text[at..].split_whitespace().next().unwrap().to_string();
    assert_ne!(fresh, first);
    // The newest link works, and the receipt's keeps working beside it.
    assert_eq!(app.get(&first).await.status().as_u16(), 200);
    let res = app.post_form(&fresh, &[]).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(app.count("p-again").await, 0);
}

#[tokio::test]
async fn a_command_run_without_the_sites_key_refuses_rather_than_make_up_a_new_one() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    app.create_petition("p-nokey", &[100]).await;
    confirmed(&app, "p-nokey", "ani@example.am", "Ani").await;
    let elsewhere = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .args(["export", "--petition", "p-nokey"])
        .env_clear()
        .env("UNDERSIGNED_DATA_DIR", elsewhere.path())
        .env("UNDERSIGNED_DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no master key"), "{err}");
    assert!(
        !elsewhere.path().join("secret_key").exists(),
        "no throwaway key was made"
    );
    // The site is untouched and still opens its data.
    assert_eq!(app.count("p-nokey").await, 1);
    assert!(personal_of(&app, "ani@example.am").await.is_some());
}

#[tokio::test]
async fn withdrawing_drops_what_is_still_queued_for_the_signer_and_leaves_no_trace_in_the_files() {
    use undersigned::db::schema::email_jobs as j;
    let app = spawn_app_with(Mail::Memory, &[]).await;
    app.create_petition("p-queued", &[100]).await;
    let link = confirmed(&app, "p-queued", "ani@example.am", "Ani Queued").await;
    app.wait_until_sent().await;
    let id = app.signature_id("ani@example.am").await;
    let sealed = personal_of(&app, "ani@example.am").await.unwrap();
    // Two emails waiting for a retry, one to this signer and one to somebody else, and one to
    // this signer given up on (it keeps its content for a week, unless withdrawn).
    let keys = app.keys.clone();
    let later = db::now() + chrono::TimeDelta::hours(1);
    // Each queued and put off in one transaction: the worker never sees them due.
    let (mine, other, given_up) = db::run(&app.pool, move |c| {
        let mut ids = vec![];
        for (to, signature, failed) in [
            ("ani@example.am", Some(id), false),
            ("other@example.am", None, false),
            ("ani@example.am", Some(id), true),
        ] {
            let email = undersigned::domain::NewEmail {
                recipient: to.into(),
                subject: "s".into(),
                body_text: "t".into(),
                body_html: String::new(),
            };
            let job = db::write_tx(c, |c| {
                db::outbox::enqueue(
                    c,
                    &db::outbox::SealedEmail::new(&keys, &email),
                    signature,
                    db::now(),
                )?;
                let job: i32 = j::table.order(j::id.desc()).select(j::id).first(c)?;
                diesel::update(j::table.find(job))
                    .set((
                        j::next_attempt_at.eq(later),
                        j::failed_at.eq(failed.then(db::now)),
                    ))
                    .execute(c)?;
                Ok::<_, db::DbError>(job)
            })?;
            ids.push(job);
        }
        Ok((ids[0], ids[1], ids[2]))
    })
    .await
    .unwrap();

    assert_eq!(app.post_form(&link, &[]).await.status().as_u16(), 200);
    let jobs: Vec<(i32, Option<String>, bool)> = db::run(&app.pool, move |c| {
        Ok(j::table
            .filter(j::id.eq_any([mine, other, given_up]))
            .order(j::id)
            .select((j::id, j::content, j::failed_at.is_not_null()))
            .load(c)?)
    })
    .await
    .unwrap();
    assert_eq!(jobs[0].0, mine);
    assert!(
        jobs[0].1.is_none() && jobs[0].2,
        "the signer's queued email is dropped"
    );
    assert!(jobs[1].1.is_some() && !jobs[1].2, "another's stays queued");
    assert!(
        jobs[2].1.is_none(),
        "nor does one given up on keep the address"
    );
    // Neither the SQLite file nor its write-ahead log keeps the erased value.
    if let Some(path) = app.db.url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        let needle = &sealed.as_bytes()[10..50];
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the erased value lingers in the SQLite files"
        );
    }
}

#[tokio::test]
async fn a_strangers_resubmission_never_cancels_the_withdraw_link_in_a_receipt() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    app.create_petition("p-keep-link", &[100]).await;
    let receipt_link = confirmed(&app, "p-keep-link", "owner@example.am", "Owner").await;
    let receipt_path = &receipt_link[receipt_link.find("/withdraw/").unwrap()..];
    // Someone else types the owner's address into the form: the owner is mailed a fresh link.
    let before = app.all_emails().len();
    let res = app
        .sign("p-keep-link", &[("email", "owner@example.am")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let again = app.wait_for_all_emails(before + 1).await[before].clone();
    let (text, _) = bodies(&again);
    let at = text.find("/withdraw/").expect("a fresh link");
    let fresh = text[at..].split_whitespace().next().unwrap();
    let fresh_path = fresh.strip_suffix("?lang=en").unwrap_or(fresh).to_string();
    assert_ne!(fresh_path, receipt_path);
    // Both links work: the one in the receipt withdraws; the fresh one then finds it withdrawn.
    let page = app.get(receipt_path).await;
    assert_eq!(page.status().as_u16(), 200);
    let res = app.post_form(receipt_path, &[]).await;
    assert!(res.status().is_success(), "{}", res.status());
    app.state.live.changed_all();
    assert_eq!(app.count("p-keep-link").await, 0);
    let page = app.get(&fresh_path).await;
    assert_eq!(page.status().as_u16(), 200, "the fresh link is known too");
    let page = page.text().await.unwrap();
    assert!(!page.contains("<form"), "nothing left to withdraw: {page}");
}
