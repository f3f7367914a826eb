//! Updates reach the signers who opted in, and only them; the unsubscribe link works.

use crate::helpers::{bodies, spawn_app, subject};
use crate::organizers::{add_organizer, csrf, login};

#[tokio::test]
async fn an_update_is_emailed_to_opted_in_signers_only_and_they_can_unsubscribe() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    add_organizer(&app, "mallory@example.org", "another long password", false);
    app.create_owned_petition("p-news", &[100], "ana@example.org")
        .await;
    app.sign(
        "p-news",
        &[("email", "wants@example.org"), ("updates", "yes")],
    )
    .await;
    app.sign("p-news", &[("email", "quiet@example.org")]).await;
    app.sign(
        "p-news",
        &[("email", "unconfirmed@example.org"), ("updates", "yes")],
    )
    .await;
    let emails = app.wait_for_emails(3).await;
    for raw in emails.iter().filter(|e| !e.contains("To: unconfirmed@")) {
        app.post_form(&app.confirmation_path(raw), &[]).await;
    }

    login(&app, "mallory@example.org", "another long password").await;
    let other = csrf(&app.get("/dashboard").await.text().await.unwrap());
    let refused = app
        .post_form(
            "/dashboard/petitions/p-news/updates",
            &[("csrf_token", &other), ("title", "Spam"), ("email", "1")],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 404);
    app.post_form("/logout", &[("csrf_token", &other)]).await;

    login(&app, "ana@example.org", "correct horse battery").await;
    let token = csrf(
        &app.get("/dashboard/petitions/p-news")
            .await
            .text()
            .await
            .unwrap(),
    );
    let no_title = app
        .post_form(
            "/dashboard/petitions/p-news/updates",
            &[("csrf_token", &token), ("title", " "), ("body", "x")],
        )
        .await;
    assert_eq!(no_title.status().as_u16(), 400);
    let posted = app
        .post_form(
            "/dashboard/petitions/p-news/updates",
            &[
                ("csrf_token", &token),
                ("title", "Delivered to the OSCE Secretariat"),
                (
                    "body",
                    "We handed over **3,807** signatures. <script>alert(1)</script>",
                ),
                ("email", "1"),
            ],
        )
        .await;
    assert_eq!(posted.status().as_u16(), 303);

    app.wait_until_sent().await;
    let all = app.emails();
    let news: Vec<&String> = all[3..].iter().collect();
    assert_eq!(news.len(), 1, "only the confirmed signer who opted in");
    assert!(news[0].contains("To: wants@example.org"));
    assert!(subject(news[0]).starts_with("Delivered to the OSCE Secretariat"));
    let (text, html) = bodies(news[0]);
    assert!(html.contains("<strong>3,807</strong>") && !html.contains("<script>alert(1)"));
    let unsubscribe = text
        .split_whitespace()
        .find(|w| w.contains("/unsubscribe/"))
        .unwrap();
    let path = url::Url::parse(unsubscribe).unwrap().path().to_string();

    let page = app.get("/petitions/p-news").await.text().await.unwrap();
    assert!(page.contains("<h3>Delivered to the OSCE Secretariat</h3>"));
    assert!(page.contains("Email me news about this petition"));

    let form = app.get(&path).await;
    assert_eq!(form.status().as_u16(), 200, "GET only shows a button");
    let last = if path.ends_with('0') { '1' } else { '0' };
    let forged = app
        .post_form(&format!("{}{last}", &path[..path.len() - 1]), &[])
        .await;
    assert_eq!(forged.status().as_u16(), 404);
    let done = app.post_form(&path, &[]).await;
    assert_eq!(done.status().as_u16(), 200);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("no longer receive news")
    );

    app.post_form(
        "/dashboard/petitions/p-news/updates",
        &[
            ("csrf_token", &token),
            ("title", "Three detainees released"),
            ("email", "1"),
        ],
    )
    .await;
    app.wait_until_sent().await;
    assert_eq!(
        app.emails().len(),
        4,
        "nobody left to email after the unsubscribe"
    );
    assert_eq!(
        app.count("p-news").await,
        2,
        "unsubscribing keeps the signature"
    );
}
