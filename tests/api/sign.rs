use std::time::Duration;

use crate::helpers::{
    Mail, SmtpSink, bodies, confirmation_link, spawn_app, spawn_app_with, subject,
};

#[tokio::test]
async fn a_supporter_signs_confirms_by_email_over_smtp_and_the_count_rises() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(Mail::Smtp(sink.port), &[("public_country_min", "1")]).await;
    let id = app.create_petition("osce-moscow-mechanism", &[5500]).await;
    assert_eq!(app.count("osce-moscow-mechanism").await, 0);

    let res = app
        .sign(
            "osce-moscow-mechanism",
            &[("email", "ana@example.org"), ("name", "Ana Petrosyan")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        res.headers()["location"],
        "/petitions/osce-moscow-mechanism/signed?lang=en"
    );
    let page = app.get("/petitions/osce-moscow-mechanism/signed").await;
    assert!(page.text().await.unwrap().contains("Check your email"));

    let messages = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1, "one confirmation email over SMTP");
    let raw = &messages[0];
    assert!(
        subject(raw).contains("Petition osce-moscow-mechanism"),
        "{}",
        subject(raw)
    );
    assert!(raw.contains("To: ana@example.org"));
    let link = confirmation_link(raw);
    let path = link
        .strip_prefix(&app.address)
        .expect("absolute link to the app")
        .to_string();

    // Mail scanners follow links: GET must only show a button.
    let get = app.get(&path).await;
    assert_eq!(get.status().as_u16(), 200);
    let html = get.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{path}\"")), "{html}");
    assert_eq!(app.count("osce-moscow-mechanism").await, 0);
    assert_eq!(app.rows(id).await, (1, 0));

    let post = app.post_form(&path, &[]).await;
    assert_eq!(post.status().as_u16(), 200);
    assert!(post.text().await.unwrap().contains("You are signer #1"));
    assert_eq!(app.count("osce-moscow-mechanism").await, 1);
    assert_eq!(app.rows(id).await, (1, 1));
    let json = app.json("osce-moscow-mechanism").await;
    assert_eq!(json["signatures_by_country"][0]["code"], "AM");
    assert_eq!(json["signatures_by_country"][0]["count"], 1);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        json["signatures_by_day"],
        serde_json::json!([{"date": today, "count": 1}])
    );
    let page = app
        .get("/petitions/osce-moscow-mechanism")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("1 of 5,500 signatures"), "{page}");
    assert!(page.contains("Ana Petrosyan"), "public signer listed");
}

#[tokio::test]
async fn signing_twice_with_the_same_mailbox_counts_once_and_responds_identically() {
    let app = spawn_app().await;
    let id = app.create_petition("p-twice", &[100]).await;
    let first = app
        .sign("p-twice", &[("email", "ana.petrosyan@gmail.com")])
        .await;
    let mut responses = vec![];
    // Two more attempts: within the default cap of three emails an hour.
    for spelling in [
        " Ana.Petrosyan@Gmail.com ",
        "anapetrosyan+petition@gmail.com",
    ] {
        responses.push(app.sign("p-twice", &[("email", spelling)]).await);
    }
    for r in &responses {
        assert_eq!(r.status(), first.status());
        assert_eq!(r.headers()["location"], first.headers()["location"]);
    }
    assert_eq!(app.rows(id).await.0, 1, "one signature row for one mailbox");

    // Confirming any of the links counts the one signature once.
    let emails = app.wait_for_emails(3).await;
    for raw in &emails {
        let path = app.confirmation_path(raw);
        assert_eq!(app.post_form(&path, &[]).await.status().as_u16(), 200);
    }
    assert_eq!(app.count("p-twice").await, 1);
    // Each message went to the spelling given with it (its domain in lower case): all one
    // mailbox.
    for spelling in [
        "ana.petrosyan@gmail.com",
        "Ana.Petrosyan@gmail.com",
        "anapetrosyan+petition@gmail.com",
    ] {
        assert!(
            emails
                .iter()
                .any(|e| e.contains(&format!("To: {spelling}"))),
            "{spelling}"
        );
    }
}

#[tokio::test]
async fn resending_is_capped_per_hour_the_page_always_says_so_and_tells_nothing_else() {
    let app = spawn_app_with(
        crate::helpers::Mail::Memory,
        &[("max_confirmation_emails", "3")],
    )
    .await;
    let id = app.create_petition("p-cap", &[100]).await;
    let mut locations = vec![];
    for _ in 0..8 {
        let res = app.sign("p-cap", &[("email", "victim@example.org")]).await;
        assert_eq!(res.status().as_u16(), 303);
        locations.push(res.headers()["location"].to_str().unwrap().to_string());
    }
    // Jobs are written in the signing transaction: counting them needs no waiting.
    let queued = undersigned::db::run(&app.pool, |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::email_jobs::dsl;
        Ok(dsl::email_jobs.count().get_result::<i64>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(
        queued, 3,
        "first email plus two re-sends, then none for an hour"
    );
    // The same answer before and after the cap: it must not tell anyone typing an address
    // whether, or when, it was used. The page always states the cap instead.
    assert!(
        locations
            .iter()
            .all(|l| l == "/petitions/p-cap/signed?lang=en")
    );
    let page = app.get(&locations[7]).await.text().await.unwrap();
    assert!(page.contains("at most 3 emails an hour"), "{page}");
    assert_eq!(app.rows(id).await.0, 1);

    // An hour later the window starts again.
    undersigned::db::run(&app.pool, move |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::email_allowances as a;
        use undersigned::db::schema::signatures::dsl;
        let an_hour_ago = undersigned::db::now() - chrono::TimeDelta::minutes(61);
        diesel::update(a::table)
            .set(a::window_start.eq(an_hour_ago))
            .execute(c)?;
        Ok(
            diesel::update(dsl::signatures.filter(dsl::petition_id.eq(id)))
                .set(dsl::emails_window_start.eq(an_hour_ago))
                .execute(c)?,
        )
    })
    .await
    .unwrap();
    let res = app.sign("p-cap", &[("email", "victim@example.org")]).await;
    assert_eq!(res.headers()["location"], "/petitions/p-cap/signed?lang=en");
    let queued = undersigned::db::run(&app.pool, |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::email_jobs::dsl;
        Ok(dsl::email_jobs.count().get_result::<i64>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(queued, 4);
}

#[tokio::test]
async fn an_already_confirmed_signer_is_told_so_instead_of_counted_again() {
    let app = spawn_app().await;
    app.create_petition("p-again", &[100]).await;
    app.sign("p-again", &[]).await;
    let raw = &app.wait_for_emails(1).await[0];
    app.post_form(&app.confirmation_path(raw), &[]).await;
    let again = app.sign("p-again", &[("email", "ANI@example.org")]).await;
    assert_eq!(again.status().as_u16(), 303);
    let emails = app.wait_for_emails(2).await;
    assert!(
        subject(&emails[1]).contains("already signed"),
        "{}",
        subject(&emails[1])
    );
    assert!(!bodies(&emails[1]).0.contains("/confirm/"));
    assert_eq!(app.count("p-again").await, 1);
}

#[tokio::test]
async fn too_many_sign_requests_from_one_address_get_429() {
    let app = spawn_app_with(Mail::Memory, &[("sign_rate_per_minute", "3")]).await;
    let id = app.create_petition("p-rate", &[100]).await;
    for i in 0..3 {
        let email = format!("s{i}@example.org");
        assert_eq!(
            app.sign("p-rate", &[("email", &email)])
                .await
                .status()
                .as_u16(),
            303
        );
    }
    let limited = app
        .sign(
            "p-rate",
            &[("email", "s9@example.org"), ("name", "Ani Typed")],
        )
        .await;
    assert_eq!(limited.status().as_u16(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body = limited.text().await.unwrap();
    // The form comes back with what was typed, and says when to send it again.
    assert!(
        body.contains("What you typed is kept: please send it again in 1 min."),
        "{body}"
    );
    assert!(body.contains("value=\"s9@example.org\"") && body.contains("value=\"Ani Typed\""));
    assert_eq!(
        app.rows(id).await.0,
        3,
        "nothing stored for the limited attempt"
    );
}

#[tokio::test]
async fn a_closed_petition_refuses_signatures_with_a_clear_message() {
    let app = spawn_app().await;
    let id = app.create_petition("p-closed", &[100]).await;
    app.close(id).await;
    let res = app.sign("p-closed", &[]).await;
    assert_eq!(res.status().as_u16(), 410);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("no longer accepts signatures")
    );
    assert_eq!(app.rows(id).await.0, 0);
    let page = app.get("/petitions/p-closed").await.text().await.unwrap();
    assert!(page.contains("This petition is closed"));
    assert!(!page.contains("<form method=\"post\""));
}

#[tokio::test]
async fn the_honeypot_drops_bot_signatures_without_telling_the_bot() {
    let app = spawn_app().await;
    let id = app.create_petition("p-bot", &[100]).await;
    let res = app
        .sign("p-bot", &[("website", "http://spam.example")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.rows(id).await.0, 0);
}

#[tokio::test]
async fn the_count_is_exact_after_a_concurrent_burst_of_signing_and_confirming() {
    let app = spawn_app().await;
    let id = app.create_petition("p-burst", &[1000]).await;
    let n = 60;
    let signs = (0..n).map(|i| {
        let app = &app;
        async move {
            let email = format!("burst{i}@example.org");
            app.sign("p-burst", &[("email", &email)])
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(signs).await;
    assert!(statuses.iter().all(|&s| s == 303), "{statuses:?}");
    let emails = app.wait_for_emails(n).await;
    // Confirm each link twice, all at once: replays must not count.
    let confirms = emails.iter().chain(emails.iter()).map(|raw| {
        let path = app.confirmation_path(raw);
        let app = &app;
        async move { app.post_form(&path, &[]).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(confirms).await;
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let (rows, confirmed) = app.rows(id).await;
    assert_eq!((rows, confirmed), (n as i64, n as i64));
    assert_eq!(app.count("p-burst").await, confirmed);
    // Signer numbers are unique and gapless.
    let keys = app.keys.clone();
    let mut numbers: Vec<i32> = undersigned::db::run(&app.pool, move |c| {
        Ok(undersigned::db::views::export::export_batch(
            c,
            &keys,
            id,
            &Default::default(),
            0,
            1000,
        )?
        .into_iter()
        .filter_map(|r| r.number)
        .collect())
    })
    .await
    .unwrap();
    numbers.sort();
    assert_eq!(numbers, (1..=n as i32).collect::<Vec<_>>());
}
