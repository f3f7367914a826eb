//! Paper signatures: in the public total and the goals, apart everywhere else.

use crate::helpers::spawn_app;
use crate::organizers::{add_organizer, csrf, login};

#[tokio::test]
async fn paper_signatures_count_in_the_total_but_stay_apart_from_online_ones() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    add_organizer(&app, "mallory@example.org", "another long password", false);
    app.create_owned_petition("p-paper", &[1000, 5000], "ana@example.org")
        .await;
    app.sign("p-paper", &[]).await;
    let raw = app.wait_for_emails(1).await.pop().unwrap();
    app.post_form(&app.confirmation_path(&raw), &[]).await;

    login(&app, "ana@example.org", "correct horse battery").await;
    let token = csrf(
        &app.get("/dashboard/petitions/p-paper")
            .await
            .text()
            .await
            .unwrap(),
    );
    let post = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form("/dashboard/petitions/p-paper/paper", &refs)
                .await
        }
    };
    for (count, date, status) in [
        ("0", "2026-01-10", 400),
        ("lots", "2026-01-10", 400),
        ("10", "2999-01-01", 400),
        ("10", "", 400),
    ] {
        let res = post(vec![
            ("csrf_token", token.clone()),
            ("count", count.into()),
            ("collected_on", date.into()),
        ])
        .await;
        assert_eq!(res.status().as_u16(), status, "{count} {date}");
    }
    let no_csrf = post(vec![
        ("count", "10".into()),
        ("collected_on", "2026-01-10".into()),
    ])
    .await;
    assert_eq!(no_csrf.status().as_u16(), 403);
    let added = post(vec![
        ("csrf_token", token.clone()),
        ("count", "1200".into()),
        ("collected_on", "2026-11-01".into()),
        ("note", "Rally at Republic Square".into()),
    ])
    .await;
    assert_eq!(added.status().as_u16(), 303);

    let json = app.json("p-paper").await;
    assert_eq!(
        json["signature_count"], 1,
        "online signatures as the contract defines them"
    );
    assert_eq!(json["paper_signature_count"], 1200);
    assert_eq!(json["total_count"], 1201);
    assert_eq!(json["goal"], 5000, "the first goal was reached with paper");
    let page = app.get("/petitions/p-paper").await.text().await.unwrap();
    assert!(page.contains("1,201 of 5,000 signatures"), "{page}");
    assert!(page.contains("Goal of 1,000 reached"), "{page}");

    let manage = app
        .get("/dashboard/petitions/p-paper")
        .await
        .text()
        .await
        .unwrap();
    assert!(manage.contains("<dt>Paper signatures</dt><dd>1,200</dd>"));
    assert!(manage.contains("Rally at Republic Square"));
    let csv = app
        .get("/dashboard/petitions/p-paper/export.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2, "the CSV lists online signers only");
    let doc = app
        .get("/dashboard/petitions/p-paper/delivery")
        .await
        .text()
        .await
        .unwrap();
    assert!(doc.contains("<dt>Paper signatures (delivered separately)</dt><dd>1,200</dd>"));

    let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"));
    cli.args(["petition", "list"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNDERSIGNED_DATA_DIR", app.dir.path())
        .env("UNDERSIGNED_DATABASE_URL", &app.db.url);
    let list = String::from_utf8(cli.output().unwrap().stdout).unwrap();
    assert_eq!(list, "p-paper\topen\t1\t5000\n");

    // Another organizer can neither add nor remove.
    let batch_form = "/paper/";
    let start = manage.find(batch_form).unwrap() + batch_form.len();
    let batch: String = manage[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    app.post_form("/logout", &[("csrf_token", &token)]).await;
    login(&app, "mallory@example.org", "another long password").await;
    let other = csrf(&app.get("/dashboard").await.text().await.unwrap());
    let res = app
        .post_form(
            &format!("/dashboard/petitions/p-paper/paper/{batch}/delete"),
            &[("csrf_token", &other)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(app.json("p-paper").await["total_count"], 1201);
    app.post_form("/logout", &[("csrf_token", &other)]).await;

    login(&app, "ana@example.org", "correct horse battery").await;
    let token = csrf(&app.get("/dashboard").await.text().await.unwrap());
    let removed = app
        .post_form(
            &format!("/dashboard/petitions/p-paper/paper/{batch}/delete"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(removed.status().as_u16(), 303);
    assert_eq!(app.json("p-paper").await["total_count"], 1);
}
