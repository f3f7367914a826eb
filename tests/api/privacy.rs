//! Signer safety: what a stolen copy of the database reveals (nothing personal), what the
//! organizers can still do with the key, and databases from before encryption.

use diesel::prelude::*;
use undersigned::db;

use crate::helpers::{Mail, TestApp, TestDatabase, eventually, spawn_app_on, spawn_app_with};
use crate::organizers::{add_organizer, login};

/// Every byte a thief who copies the database gets: the SQLite file and its write-ahead log,
/// or a `pg_dump` of the PostgreSQL database.
fn stolen_copy(app: &TestApp) -> Vec<u8> {
    if let Some(path) = app.db.url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).expect("the database file");
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        return bytes;
    }
    let out = std::process::Command::new("pg_dump")
        .arg("--no-owner")
        .arg(&app.db.url)
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

const NAME: &str = "Zabel Qxvartanian";
const EMAIL: &str = "zabel.qxv7@example.am";
const POSTCODE: &str = "QXV-0010";
const COMMENT: &str = "Release them now, QXV7 unique comment";

async fn signed_and_confirmed(app: &TestApp, slug: &str) {
    app.create_petition(slug, &[100]).await;
    let res = app
        .sign(
            slug,
            &[
                ("name", NAME),
                ("email", EMAIL),
                ("postcode", POSTCODE),
                ("comment", COMMENT),
                ("display", "initials"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let link = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    assert_eq!(app.post_form(&link, &[]).await.status().as_u16(), 200);
    app.wait_until_sent().await;
}

#[tokio::test]
async fn a_stolen_copy_of_the_database_names_no_signer_yet_organizers_still_find_them() {
    let app = spawn_app_with(Mail::Memory, &[("public_country_min", "1")]).await;
    signed_and_confirmed(&app, "p-safe").await;
    // A second signer who never confirms: their submission is sealed too.
    app.sign(
        "p-safe",
        &[
            ("name", "Pending Qxvpending"),
            ("email", "pending.qxv@example.am"),
        ],
    )
    .await;
    app.wait_until_sent().await;

    let copy = stolen_copy(&app);
    assert!(copy.len() > 1000, "the copy holds the database");
    for secret in [
        NAME,
        "Qxvartanian",
        EMAIL,
        "zabel.qxv7",
        POSTCODE,
        COMMENT,
        "Qxvpending",
        "pending.qxv",
    ] {
        assert!(
            !contains(&copy, secret),
            "{secret:?} is readable in the copy"
        );
    }
    // The petition itself, the count and the country are not secret.
    assert!(contains(&copy, "p-safe"));

    // The public page shows the name as the signer chose: "Zabel Q.".
    let page = app.text("/petitions/p-safe").await;
    assert!(page.contains("Zabel Q."), "initials on the page");
    assert!(!page.contains("Qxvartanian"));

    // With the key, the organizers' tools work as before.
    add_organizer(&app, "admin@example.org", "a long enough password", true);
    login(&app, "admin@example.org", "a long enough password").await;
    let by_email = app
        .text("/dashboard/petitions/p-safe/signers?q=ZABEL.QXV7%40example.am")
        .await;
    assert!(
        by_email.contains(NAME) && by_email.contains(EMAIL),
        "exact email"
    );
    let by_name = app
        .text("/dashboard/petitions/p-safe/signers?q=qxvart")
        .await;
    assert!(by_name.contains(EMAIL) && !by_name.contains("pending.qxv"));
    let by_domain = app
        .text("/dashboard/petitions/p-safe/signers?domain=example.am")
        .await;
    assert!(by_domain.contains(EMAIL) && by_domain.contains("pending.qxv@example.am"));
    let nobody = app
        .text("/dashboard/petitions/p-safe/signers?q=nobody%40example.am")
        .await;
    assert!(!nobody.contains(EMAIL));
    let csv = app.text("/dashboard/petitions/p-safe/export.csv").await;
    assert!(
        csv.contains(NAME)
            && csv.contains(EMAIL)
            && csv.contains(POSTCODE)
            && csv.contains(COMMENT),
        "{csv}"
    );
}

#[tokio::test]
async fn a_server_given_another_key_refuses_to_start_and_writes_nothing() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    signed_and_confirmed(&app, "p-key").await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = std::collections::BTreeMap::new();
    for (k, v) in [
        ("UNDERSIGNED_BIND", "127.0.0.1:0"),
        ("UNDERSIGNED_DATA_DIR", dir.path().to_str().unwrap()),
        ("UNDERSIGNED_DATABASE_URL", &app.db.url),
        (
            "UNDERSIGNED_SECRET_KEY",
            "some other master key, thirty-two chars",
        ),
    ] {
        env.insert(k.to_string(), v.to_string());
    }
    let settings = undersigned::config::Settings::load_from(None, &env).unwrap();
    let err = match undersigned::app::Application::build(settings).await {
        Ok(_) => panic!("a server with the wrong key started"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("secret_key") && err.contains("data key"),
        "the message names the key: {err}"
    );
    // A server whose key file is gone says so, and makes no new key to seal data under.
    let lost = tempfile::tempdir().unwrap();
    let mut env = std::collections::BTreeMap::new();
    for (k, v) in [
        ("UNDERSIGNED_BIND", "127.0.0.1:0"),
        ("UNDERSIGNED_DATA_DIR", lost.path().to_str().unwrap()),
        ("UNDERSIGNED_DATABASE_URL", &app.db.url),
    ] {
        env.insert(k.to_string(), v.to_string());
    }
    let settings = undersigned::config::Settings::load_from(None, &env).unwrap();
    let err = match undersigned::app::Application::build(settings).await {
        Ok(_) => panic!("a server without its key started"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("no master key"), "{err}");
    assert!(!lost.path().join("secret_key").exists());
    // The site with its own key goes on, its signer intact.
    assert_eq!(app.count("p-key").await, 1);
}

/// The database an older version left: every migration before signer safety, and rows with
/// names and addresses in clear.
async fn database_from_before_encryption() -> (std::sync::Arc<TestDatabase>, i32) {
    let database = std::sync::Arc::new(TestDatabase::empty());
    let pool = db::connect(&database.url, 1).unwrap();
    let petition = db::run(&pool, |c| {
        db::migrate_until(c, "2026-11-23-000012")?;
        let now = db::now();
        diesel::sql_query(
            "INSERT INTO petitions (slug, title, summary, body_markdown, body_html, started_by, \
             status, created_at, signature_count, last_number) \
             VALUES ('p-old', 'Old', '', '', '', 'Ani', 'open', '2026-01-01 00:00:00', 1, 1)",
        )
        .execute(c)?;
        diesel::sql_query(
            "INSERT INTO country_counts (petition_id, country, count) VALUES (1, 'AM', 1)",
        )
        .execute(c)?;
        for (id, name, email, status, number) in [
            (1, NAME, EMAIL, "confirmed", "1"),
            (
                2,
                "Old Pendingqxv",
                "old.pendingqxv@example.am",
                "pending",
                "NULL",
            ),
        ] {
            diesel::sql_query(format!(
                "INSERT INTO signatures (id, petition_id, name, email, email_key, country, \
                 postcode, comment, public, locale, status, number, created_at, confirmed_at, \
                 emails_sent, wants_updates) VALUES ({id}, 1, '{name}', '{email}', '{email}', \
                 'AM', '{POSTCODE}', '{COMMENT}', TRUE, 'en', '{status}', {number}, \
                 '2026-01-02 00:00:00', '2026-01-02 00:01:00', 1, TRUE)"
            ))
            .execute(c)?;
        }
        // The pending signer's link, with its submission in clear, valid for a day.
        let token =
            undersigned::domain::ConfirmationToken::parse(&"a".repeat(43)).expect("a token");
        let expires = (now + chrono::TimeDelta::days(1)).format("%Y-%m-%d %H:%M:%S");
        diesel::sql_query(format!(
            "INSERT INTO confirmation_tokens (signature_id, token_hash, created_at, expires_at, \
             name, email, country, postcode, comment, public, wants_updates, locale) VALUES \
             (2, '{}', '2026-01-02 00:00:00', '{expires}', 'Old Pendingqxv', \
             'old.pendingqxv@example.am', 'AM', NULL, NULL, FALSE, FALSE, 'en')",
            token.hash().as_str()
        ))
        .execute(c)?;
        Ok(1)
    })
    .await
    .unwrap();
    (database, petition)
}

#[tokio::test]
async fn upgrading_a_database_from_before_encryption_seals_its_rows() {
    let (database, petition) = database_from_before_encryption().await;
    let app = spawn_app_on(database, Mail::Memory, &[]).await;
    // Sealed at start: nothing in clear in the copy, and the old columns are gone.
    let copy = stolen_copy(&app);
    for secret in [NAME, EMAIL, POSTCODE, COMMENT, "Pendingqxv"] {
        assert!(
            !contains(&copy, secret),
            "{secret:?} is readable after the upgrade"
        );
    }
    // Still the same signer, found by address, exported with the key.
    let keys = app.keys.clone();
    let rows = db::run(&app.pool, move |c| {
        db::views::export::export_batch(c, &keys, petition, &Default::default(), 0, 10)
    })
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].name.as_str(), rows[0].email.as_str()),
        (NAME, EMAIL)
    );
    assert!(
        rows[0].commitment.is_some(),
        "old signatures get a commitment"
    );
    assert_eq!(app.signature_id(EMAIL).await, 1);
    // The same address signing again is still recognised as the same mailbox.
    app.sign("p-old", &[("email", &EMAIL.to_uppercase())]).await;
    assert!(app.wait_for_emails(1).await[0].contains("already"));
    // The link mailed before the upgrade confirms the submission it carried.
    let res = app
        .post_form(&format!("/confirm/{}", "a".repeat(43)), &[])
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(app.count("p-old").await, 2);
}

#[tokio::test]
async fn the_privacy_notice_names_the_organisation_the_retention_and_the_server_in_every_language()
{
    let app = spawn_app_with(
        Mail::Memory,
        &[
            ("organization_name", "Armenian Rights Watch"),
            ("organization_contact", "privacy@arw.example"),
            ("retention_days", "90"),
            ("server_location", "Falkenstein, Germany"),
        ],
    )
    .await;
    for (lang, withdraw) in [
        ("en", "withdraw your signature"),
        ("fr", "retirer votre signature"),
        ("ru", "отозвать подпись"),
        ("hy", "հետ կանչել ստորագրությունը"),
    ] {
        let page = app
            .client
            .get(format!("{}/privacy", app.address))
            .header("Accept-Language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for fact in [
            "Armenian Rights Watch",
            "privacy@arw.example",
            "90",
            "Falkenstein, Germany",
            withdraw,
        ] {
            assert!(page.contains(fact), "{lang}: {fact:?} missing");
        }
    }
    // Without the settings, the notice says what is missing instead of inventing it.
    let bare = spawn_app_with(Mail::Memory, &[]).await;
    let page = bare.text("/privacy").await;
    assert!(page.contains("has not yet given its name") && page.contains("180 days"));
}

#[tokio::test]
async fn the_delivery_document_follows_each_signers_display_choice_unless_full_names_are_asked_for()
{
    let app = spawn_app_with(Mail::Memory, &[]).await;
    app.create_petition("p-doc", &[100]).await;
    for (email, name, display) in [
        ("a@example.am", "Anahit Mkrtchyan", "initials"),
        ("b@example.am", "Bella Hidden", "none"),
        ("c@example.am", "Karen Public", "full"),
    ] {
        app.sign(
            "p-doc",
            &[("email", email), ("name", name), ("display", display)],
        )
        .await;
    }
    for raw in app.wait_for_emails(3).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
    let page = app.text("/petitions/p-doc").await;
    assert!(page.contains("Anahit M.") && page.contains("Karen Public"));
    assert!(!page.contains("Mkrtchyan") && !page.contains("Bella"));

    add_organizer(&app, "admin@example.org", "a long enough password", true);
    login(&app, "admin@example.org", "a long enough password").await;
    let doc = app.text("/dashboard/petitions/p-doc/delivery").await;
    assert!(doc.contains("Anahit M.") && doc.contains("Karen Public"));
    assert!(doc.contains("(name withheld)") && !doc.contains("Bella"));
    let full = app
        .text("/dashboard/petitions/p-doc/delivery?names=full")
        .await;
    for name in ["Anahit Mkrtchyan", "Bella Hidden", "Karen Public"] {
        assert!(full.contains(name), "{name}");
    }
    // An unknown choice is refused with the form, not stored.
    let res = app
        .sign(
            "p-doc",
            &[("email", "d@example.am"), ("display", "everything")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("choose how your name may appear")
    );
}

/// The first email job's attempts, whether it was given up on, and its last error, once
/// `done` holds for them; fails the test after ten seconds.
async fn first_job_once<F>(app: &TestApp, done: F) -> (i32, bool, String)
where
    F: Fn(i32, bool, &str) -> bool,
{
    use undersigned::db::schema::email_jobs as j;
    eventually(
        std::time::Duration::from_secs(10),
        "the email job reaching the state the test waits for",
        async || {
            let (attempts, failed, error): (i32, Option<chrono::NaiveDateTime>, Option<String>) =
                db::run(&app.pool, |c| {
                    Ok(j::table
                        .order(j::id)
                        .select((j::attempts, j::failed_at, j::last_error))
                        .first(c)?)
                })
                .await
                .unwrap();
            let error = error.unwrap_or_default();
            if done(attempts, failed.is_some(), &error) {
                Ok((attempts, failed.is_some(), error))
            } else {
                Err(format!(
                    "{attempts} attempts, given up: {}, last error: {error}",
                    failed.is_some()
                ))
            }
        },
    )
    .await
}

/// Makes the first email job due now, as if its retry time had come.
async fn first_job_due(app: &TestApp) {
    use undersigned::db::schema::email_jobs as j;
    db::run(&app.pool, |c| {
        let first: i32 = j::table.order(j::id).select(j::id).first(c)?;
        diesel::update(j::table.find(first))
            .set(j::next_attempt_at.eq(db::now()))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_rotation_reseals_a_queued_email_and_its_link_and_a_stale_instance_stops_sealing() {
    // Nothing listens here: the confirmation email stays queued.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let before = spawn_app_with(
        Mail::Smtp(dead_port),
        &[
            ("secret_key", OLD),
            ("email_retry_base_ms", "3600000"),
            ("email_poll_ms", "100"),
        ],
    )
    .await;
    let pid = before.create_petition("p-rotate", &[10]).await;
    before
        .sign("p-rotate", &[("email", EMAIL), ("name", NAME)])
        .await;
    let (attempts, given_up, _) = first_job_once(&before, |a, _, _| a == 1).await;
    assert!(!given_up, "a refused connection is retried");
    assert_eq!(attempts, 1);

    // The operator rotates the key while the email waits.
    rotate_old_to_new(&before);

    // An instance left running with the old key seals and hashes nothing more: its mailbox
    // hash would not find the signer again, nor would the rotated site open what it sealed.
    let res = before
        .sign("p-rotate", &[("email", "second@example.am")])
        .await;
    assert_eq!(res.status().as_u16(), 503);
    assert_eq!(before.rows(pid).await.0, 1, "no second signature row");
    // It says it is out of service, so a load balancer sends nobody to it; nor does its email
    // worker touch the re-sealed email: it waits, uncounted, for an instance with the key.
    assert_eq!(before.get("/healthz").await.status().as_u16(), 503);
    first_job_due(&before).await;

    // The restarted site, with the new key only, sends it; its link confirms with the name the
    // signer gave.
    let sink = crate::helpers::SmtpSink::start().await;
    let after = spawn_app_on(
        before.db.clone(),
        Mail::Smtp(sink.port),
        &[("secret_key", NEW)],
    )
    .await;
    let raw = sink.wait_for(1, std::time::Duration::from_secs(10)).await;
    assert!(raw[0].contains(&format!("To: {EMAIL}")), "{}", raw[0]);
    let link = crate::helpers::confirmation_link(&raw[0]);
    let path = &link[link.find("/confirm/").unwrap()..];
    let page = after.text(path).await;
    assert!(page.contains(NAME), "the pending submission opens: {page}");
    // The stale instance cannot open the link's submission either: 503, nothing counted.
    assert_eq!(before.get(path).await.status().as_u16(), 503);
    assert_eq!(before.post_form(path, &[]).await.status().as_u16(), 503);
    let res = after.post_form(path, &[]).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(after.count("p-rotate").await, 1);
    let (attempts, given_up, _) = first_job_once(&after, |a, _, _| a == 2).await;
    assert_eq!(
        (attempts, given_up),
        (2, false),
        "one refused connection, then sent"
    );
}

#[tokio::test]
async fn a_commitment_salt_is_stored_sealed_and_one_an_older_version_left_in_clear_is_sealed_at_start()
 {
    use undersigned::db::schema::{signatures as s, site_state};
    use undersigned::log::entry::{Committed, receipt_code};
    let app = spawn_app_with(Mail::Memory, &[]).await;
    signed_and_confirmed(&app, "p-salt").await;
    let link = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    let stored = || async {
        db::run(&app.pool, |c| {
            Ok(s::table
                .select((s::salt, s::commitment, s::number))
                .first::<(Option<String>, Option<String>, Option<i32>)>(c)?)
        })
        .await
        .unwrap()
    };
    let (sealed, commitment, number) = stored().await;
    let (sealed, commitment) = (sealed.unwrap(), commitment.unwrap());
    // With the key the salt opens and makes the published commitment from the signer's data:
    // a thief holding it in clear could test guessed names and addresses the same way.
    let salt: String = app
        .keys
        .open(undersigned::sealed::Purpose::Salt, &sealed)
        .unwrap();
    let made = Committed {
        petition_slug: "p-salt",
        number: number.unwrap(),
        name: NAME,
        email: EMAIL,
        country: "AM",
        postcode: Some(POSTCODE),
        comment: Some(COMMENT),
    }
    .commitment(&salt);
    assert_eq!(made, commitment);
    assert!(
        !contains(&stolen_copy(&app), &salt),
        "the salt is not in clear"
    );
    let page = app.text(&link).await;
    assert!(
        page.contains(&receipt_code(&salt)),
        "the link shows the receipt"
    );

    // A database from the version that kept salts in clear.
    let clear = salt.clone();
    db::run(&app.pool, move |c| {
        diesel::update(s::table).set(s::salt.eq(clear)).execute(c)?;
        diesel::delete(site_state::table.filter(site_state::name.eq("commitment_salts_sealed")))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let restarted = spawn_app_on(app.db.clone(), Mail::Memory, &[]).await;
    let (resealed, kept, _) = stored().await;
    let resealed = resealed.unwrap();
    assert_ne!(resealed, salt, "sealed at start");
    assert_eq!(kept.unwrap(), commitment);
    let opened: String = restarted
        .keys
        .open(undersigned::sealed::Purpose::Salt, &resealed)
        .unwrap();
    assert_eq!(opened, salt);
    assert!(!contains(&stolen_copy(&restarted), &salt));
    // The signer's receipt is the same as before.
    let page = restarted.text(&link).await;
    assert!(page.contains(&receipt_code(&salt)), "{page}");
}

/// Runs `undersigned CMD…` on `app`'s database with the master key `key` and `env` added.
fn command_on(app: &TestApp, args: &[&str], key: &str, env: &[(&str, &str)]) {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .args(args)
        .env_clear()
        .env("UNDERSIGNED_DATA_DIR", data.path())
        .env("UNDERSIGNED_DATABASE_URL", &app.db.url)
        .env("UNDERSIGNED_SECRET_KEY", key)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The master keys before and after the rotations the tests make.
pub(crate) const OLD: &str = "the master key before the rotation, 32+";
pub(crate) const NEW: &str = "the master key after the rotation, also 32+";

/// The operator's `undersigned rotate-key` from the key `OLD` to `NEW` on `app`'s database.
pub(crate) fn rotate_old_to_new(app: &TestApp) {
    command_on(
        app,
        &["rotate-key"],
        NEW,
        &[("UNDERSIGNED_PREVIOUS_SECRET_KEY", OLD)],
    );
}

#[tokio::test]
async fn after_retention_and_a_key_rotation_one_mailbox_still_counts_once() {
    let before = spawn_app_with(Mail::Memory, &[("secret_key", OLD)]).await;
    let pid = before.create_petition("p-once", &[100]).await;
    before.sign("p-once", &[("email", EMAIL)]).await;
    let raw = before.wait_for_emails(1).await;
    before
        .post_form(&before.confirmation_path(&raw[0]), &[])
        .await;
    before.close(pid).await;
    // The signer's personal data is erased; only what stops a second count stays.
    command_on(
        &before,
        &["retention", "run"],
        OLD,
        &[("UNDERSIGNED_RETENTION_DAYS", "0")],
    );
    before
        .set_status(pid, undersigned::domain::PetitionStatus::Open)
        .await;
    rotate_old_to_new(&before);

    // The same mailbox signs again on the rotated site, and confirms whatever it is sent.
    let after = spawn_app_on(before.db.clone(), Mail::Memory, &[("secret_key", NEW)]).await;
    let res = after.sign("p-once", &[("email", EMAIL)]).await;
    assert_eq!(res.status().as_u16(), 303);
    confirm_every_link(&after).await;
    assert_eq!(after.count("p-once").await, 1, "one mailbox, one count");
    assert_eq!(after.rows(pid).await, (1, 1));
    // Moderation by exact address still finds the erased row.
    let index = after.email_index(pid, EMAIL);
    let found: i64 = db::run(&after.pool, move |c| {
        use undersigned::db::schema::signatures as s;
        Ok(s::table
            .filter(s::email_key.eq(index))
            .count()
            .get_result(c)?)
    })
    .await
    .unwrap();
    assert_eq!(found, 1);
}

/// Confirms every confirmation email `app` sent.
async fn confirm_every_link(app: &TestApp) {
    app.wait_until_sent().await;
    for raw in app.emails() {
        if raw.contains("/confirm/") {
            app.post_form(&app.confirmation_path(&raw), &[]).await;
        }
    }
}

/// A database whose index key was never stored (made by an older version), rotated again after
/// that version had re-hashed it under the current key: the rotation keeps the key the stored
/// hashes were made with, as its rows show, so one mailbox still counts once.
#[tokio::test]
async fn a_rotation_of_a_database_without_a_stored_index_key_keeps_the_key_its_hashes_use() {
    let before = spawn_app_with(Mail::Memory, &[("secret_key", NEW)]).await;
    before.create_petition("p-again", &[100]).await;
    before.sign("p-again", &[("email", EMAIL)]).await;
    let raw = before.wait_for_emails(1).await;
    before
        .post_form(&before.confirmation_path(&raw[0]), &[])
        .await;
    // As an older version left it: hashes under the key derived from NEW, none stored.
    db::run(&before.pool, |c| {
        use undersigned::db::schema::site_state as s;
        diesel::delete(s::table.filter(s::name.eq("index_key"))).execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    rotate_old_to_new(&before);

    let after = spawn_app_on(before.db.clone(), Mail::Memory, &[("secret_key", NEW)]).await;
    after.sign("p-again", &[("email", EMAIL)]).await;
    confirm_every_link(&after).await;
    assert_eq!(after.count("p-again").await, 1, "one mailbox, one count");
}

/// The hashes of one signature's row on one petition: mailbox, domain, network.
async fn hashes_of(app: &TestApp, petition: i32) -> Vec<(String, Option<String>, Option<String>)> {
    db::run(&app.pool, move |c| {
        use undersigned::db::schema::signatures as s;
        Ok(s::table
            .filter(s::petition_id.eq(petition))
            .order(s::id)
            .select((s::email_key, s::domain_key, s::ip_hash))
            .load(c)?)
    })
    .await
    .unwrap()
}

/// One mailbox signs two petitions from one network: a copy of the database (the SQLite file,
/// or the PostgreSQL tables a dump holds) shows no hash value on both, so nothing joins the two
/// rows without the key.
#[tokio::test]
async fn two_petitions_rows_of_one_signer_share_no_hash_value() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    let first = app.create_petition("p-safe", &[100]).await;
    let second = app.create_petition("p-risky", &[100]).await;
    for slug in ["p-safe", "p-risky"] {
        app.sign(slug, &[("email", EMAIL)]).await;
    }
    for raw in app.wait_for_emails(2).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
    let (a, b) = (hashes_of(&app, first).await, hashes_of(&app, second).await);
    assert_eq!((a.len(), b.len()), (1, 1));
    let values = |rows: &[(String, Option<String>, Option<String>)]| -> Vec<String> {
        rows.iter()
            .flat_map(|(e, d, n)| [Some(e.clone()), d.clone(), n.clone()])
            .flatten()
            .collect()
    };
    let (a, b) = (values(&a), values(&b));
    assert_eq!(a.len(), 3, "mailbox, domain and network hashes: {a:?}");
    for value in &a {
        assert!(!b.contains(value), "{value} on both petitions");
    }
    // Each petition still finds its own signer by address.
    assert_eq!(
        app.signature_id(EMAIL).await,
        db::run(&app.pool, move |c| {
            use undersigned::db::schema::signatures as s;
            Ok(s::table
                .filter(s::petition_id.eq(first))
                .select(s::id)
                .first::<i32>(c)?)
        })
        .await
        .unwrap()
    );
}

/// A database whose hashes an older version stored the same on every petition is bound at
/// start, without the addresses: afterwards the two petitions' rows share nothing, the same
/// mailbox signing again still counts once, and a row that under today's spelling rules is
/// the same mailbox as another is reported to the organizers, not merged.
#[tokio::test]
async fn hashes_stored_the_same_on_every_petition_are_bound_at_start_and_respelled_twins_reported()
{
    use undersigned::db::schema::{audit_log as a, signatures as s, site_state as st};
    let app = spawn_app_with(Mail::Memory, &[]).await;
    let first = app.create_petition("p-one", &[100]).await;
    let second = app.create_petition("p-two", &[100]).await;
    app.sign("p-one", &[("email", EMAIL)]).await;
    app.sign("p-two", &[("email", EMAIL)]).await;
    app.sign("p-one", &[("email", "ani@xn--e1afmkfd.xn--p1ai")])
        .await;
    app.sign("p-one", &[("email", "twin@example.org")]).await;
    app.wait_for_emails(4).await;
    // As an older version left it: unbound hashes, and the last signer's address as it was
    // typed then, which older rules did not see as the IDN one's.
    let keys = app.keys.clone();
    let twin = app.signature_id("twin@example.org").await;
    db::run(&app.pool, move |c| {
        let rows: Vec<(i32, Option<String>)> = s::table.select((s::id, s::personal)).load(c)?;
        for (id, personal) in rows {
            let mut p: undersigned::sealed::Personal = keys
                .open(undersigned::sealed::Purpose::Signature, &personal.unwrap())
                .unwrap();
            if id == twin {
                p.email = "ani@пример.рф".into();
            }
            let old_dedupe = if id == twin {
                "ani@пример.рф".to_string()
            } else {
                undersigned::domain::SignerEmail::parse(&p.email)
                    .unwrap()
                    .dedupe_key()
                    .to_string()
            };
            diesel::update(s::table.find(id))
                .set((
                    s::personal.eq(keys.seal(undersigned::sealed::Purpose::Signature, &p)),
                    s::email_key.eq(keys.email_index_unbound(&old_dedupe)),
                    s::domain_key.eq(Some(keys.domain_index_unbound("example.am"))),
                ))
                .execute(c)?;
        }
        diesel::delete(st::table.filter(st::name.eq("hashes_bound_to_petitions"))).execute(c)?;
        Ok(())
    })
    .await
    .unwrap();

    let after = spawn_app_on(app.db.clone(), Mail::Memory, &[]).await;
    let (one, two) = (
        hashes_of(&after, first).await,
        hashes_of(&after, second).await,
    );
    assert_ne!(
        one[0].0, two[0].0,
        "the mailbox hash differs between petitions"
    );
    assert_ne!(one[0].1, two[0].1, "so does the domain hash");
    // The same mailbox signs p-one again: found, still one signature.
    after.sign("p-one", &[("email", EMAIL)]).await;
    assert_eq!(after.rows(first).await.0, 3);
    let reported: Vec<String> = db::run(&after.pool, move |c| {
        Ok(a::table
            .filter(a::action.eq("duplicate-mailboxes"))
            .filter(a::petition_id.eq(first))
            .select(a::detail)
            .load(c)?)
    })
    .await
    .unwrap();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert!(reported[0].contains(&twin.to_string()), "{reported:?}");

    // Binding happens once: a later start (or a second instance) binds nothing again, and
    // the mailbox still counts once.
    let (one, two) = (
        hashes_of(&after, first).await,
        hashes_of(&after, second).await,
    );
    let again = spawn_app_on(app.db.clone(), Mail::Memory, &[]).await;
    assert_eq!(hashes_of(&again, first).await, one);
    assert_eq!(hashes_of(&again, second).await, two);
    again.sign("p-one", &[("email", EMAIL)]).await;
    assert_eq!(again.rows(first).await.0, 3);
}

/// One mailbox, one spelling: an international domain in Unicode and in punycode, and a
/// provider's alias domain, count once.
#[tokio::test]
async fn an_international_domain_and_a_providers_alias_count_once() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    app.create_petition("p-spell", &[100]).await;
    for email in [
        "a@bücher.example",
        "a@xn--bcher-kva.example",
        "x@googlemail.com",
        "x@gmail.com",
    ] {
        app.sign("p-spell", &[("email", email)]).await;
    }
    confirm_every_link(&app).await;
    assert_eq!(app.count("p-spell").await, 2, "two mailboxes");
    // Mail goes to the ASCII form, which every relay takes.
    assert!(app.emails().iter().all(|m| !m.contains("To: a@bücher")));
}
