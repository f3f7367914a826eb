use diesel::prelude::*;
use undersigned::db::{self, schema::confirmation_tokens};

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_replayed_confirmation_counts_once_and_shows_the_same_number() {
    let app = spawn_app().await;
    app.create_petition("p-replay", &[100]).await;
    app.sign("p-replay", &[]).await;
    let path = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    let first = app.post_form(&path, &[]).await.text().await.unwrap();
    let second = app.post_form(&path, &[]).await.text().await.unwrap();
    assert!(first.contains("You are signer #1"));
    assert!(second.contains("You are signer #1"));
    assert_eq!(app.count("p-replay").await, 1);
    // After confirmation the GET page says thanks rather than offering the button again.
    let get = app.get(&path).await.text().await.unwrap();
    assert!(get.contains("You are signer #1"));
}

#[tokio::test]
async fn unknown_and_malformed_tokens_get_a_404_with_a_way_forward() {
    let app = spawn_app().await;
    let fake = "A".repeat(43);
    for path in [
        format!("/confirm/{fake}"),
        "/confirm/short".to_string(),
        "/confirm/%00%0d%0a".to_string(),
    ] {
        for res in [app.get(&path).await, app.post_form(&path, &[]).await] {
            assert_eq!(res.status().as_u16(), 404, "{path}");
            let html = res.text().await.unwrap();
            assert!(html.contains("This link does not work"), "{html}");
            assert!(html.contains("href=\"/\""));
        }
    }
}

#[tokio::test]
async fn an_expired_token_gets_410_and_a_link_to_sign_again() {
    let app = spawn_app().await;
    let id = app.create_petition("p-expired", &[100]).await;
    app.sign("p-expired", &[]).await;
    let path = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    let past = db::now() - chrono::TimeDelta::days(8);
    db::run(&app.pool, move |c| {
        Ok(diesel::update(confirmation_tokens::table)
            .set(confirmation_tokens::expires_at.eq(past))
            .execute(c)?)
    })
    .await
    .unwrap();
    for res in [app.get(&path).await, app.post_form(&path, &[]).await] {
        assert_eq!(res.status().as_u16(), 410);
        let html = res.text().await.unwrap();
        assert!(html.contains("This link has expired"));
        assert!(html.contains("href=\"/petitions/p-expired\""));
    }
    assert_eq!(app.rows(id).await, (1, 0));
    // Signing again sends a fresh link that works.
    app.sign("p-expired", &[]).await;
    let fresh = app.confirmation_path(&app.wait_for_emails(2).await[1]);
    assert_ne!(fresh, path);
    assert_eq!(app.post_form(&fresh, &[]).await.status().as_u16(), 200);
    assert_eq!(app.count("p-expired").await, 1);
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes_and_pages_behind_them_are_not_cached() {
    let app = spawn_app().await;
    app.create_petition("p-hash", &[100]).await;
    app.sign("p-hash", &[]).await;
    let path = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    let token = path.trim_start_matches("/confirm/").to_string();
    let stored: Vec<String> = db::run(&app.pool, |c| {
        Ok(confirmation_tokens::table
            .select(confirmation_tokens::token_hash)
            .load(c)?)
    })
    .await
    .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    assert_eq!(stored[0].len(), 64);
    // Once sent, the outbox no longer holds the link either.
    app.wait_until_sent().await;
    let contents: Vec<Option<String>> = db::run(&app.pool, |c| {
        use undersigned::db::schema::email_jobs::dsl::*;
        Ok(email_jobs.select(content).load(c)?)
    })
    .await
    .unwrap();
    assert!(!contents.is_empty() && contents.iter().all(Option::is_none));
    let res = app.get(&path).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
}
