//! Weeding out fakes: invalidation changes the public count and the exports, batches need
//! narrowing criteria, everything is audited, and only the petition's organizers may do it.

use crate::helpers::{Mail, TestApp, spawn_app, spawn_app_with};
use crate::organizers::{add_organizer, csrf, login};

async fn petition_with(app: &TestApp, signers: &[(&str, &str, &str)]) {
    app.create_owned_petition("p-mod", &[100], "ana@example.org")
        .await;
    for (name, email, country) in signers {
        app.sign(
            "p-mod",
            &[("name", name), ("email", email), ("country", country)],
        )
        .await;
    }
    for raw in app.wait_for_emails(signers.len()).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
}

async fn export_names(app: &TestApp) -> Vec<String> {
    let body = app
        .get("/dashboard/petitions/p-mod/export.csv")
        .await
        .bytes()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(body.as_ref());
    let mut names: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[3].to_string())
        .collect();
    names.sort();
    names
}

async fn signer_id(app: &TestApp, email: &str) -> String {
    app.signature_id(email).await.to_string()
}

#[tokio::test]
async fn invalidating_a_fake_lowers_the_public_count_and_leaves_the_exports() {
    // Every country listed, however few its signers (this test checks the counting).
    let app = spawn_app_with(Mail::Memory, &[("public_country_min", "1")]).await;
    add_organizer(&app, "ana@example.org", "correct horse battery", true);
    petition_with(
        &app,
        &[
            ("Անի", "ani@example.org", "AM"),
            ("Fake One", "bot@spam.example", "FR"),
            ("Ольга", "olga@example.org", "RU"),
        ],
    )
    .await;
    assert_eq!(app.count("p-mod").await, 3);
    login(&app, "ana@example.org", "correct horse battery").await;
    let page = app
        .get("/dashboard/petitions/p-mod/signers")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("3 signatures match"));
    let token = csrf(&page);
    let fake = signer_id(&app, "bot@spam.example").await;

    let no_reason = app
        .post_form(
            "/dashboard/petitions/p-mod/signers",
            &[
                ("csrf_token", &token),
                ("action", "invalidate"),
                ("id", &fake),
            ],
        )
        .await;
    assert_eq!(no_reason.status().as_u16(), 400);
    assert!(no_reason.text().await.unwrap().contains("Give a reason"));
    let no_csrf = app
        .post_form(
            "/dashboard/petitions/p-mod/signers",
            &[("action", "invalidate"), ("id", &fake), ("reason", "bot")],
        )
        .await;
    assert_eq!(no_csrf.status().as_u16(), 403);
    assert_eq!(app.count("p-mod").await, 3);

    let done = app
        .post_form(
            "/dashboard/petitions/p-mod/signers",
            &[
                ("csrf_token", &token),
                ("action", "invalidate"),
                ("id", &fake),
                ("reason", "disposable address"),
            ],
        )
        .await;
    assert_eq!(done.status().as_u16(), 303);
    assert_eq!(app.count("p-mod").await, 2);
    let json = app.json("p-mod").await;
    let countries: Vec<&str> = json["signatures_by_country"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(!countries.contains(&"FR"), "{countries:?}");
    assert!(
        app.get("/petitions/p-mod")
            .await
            .text()
            .await
            .unwrap()
            .contains("2 of 100 signatures")
    );
    assert_eq!(export_names(&app).await, vec!["Ольга", "Անի"]);
    let list = app
        .get("/dashboard/petitions/p-mod/signers")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Invalidated: disposable address"));

    let restored = app
        .post_form(
            "/dashboard/petitions/p-mod/signers",
            &[("csrf_token", &token), ("action", "restore"), ("id", &fake)],
        )
        .await;
    assert_eq!(restored.status().as_u16(), 303);
    assert_eq!(app.count("p-mod").await, 3);
    assert_eq!(export_names(&app).await.len(), 3);

    let audit = app.get("/dashboard/audit").await.text().await.unwrap();
    assert!(
        audit.contains("invalidate") && audit.contains("disposable address"),
        "{audit}"
    );
    assert!(audit.contains("restore") && audit.contains("export-csv") && audit.contains("sign-in"));
    // The account the command line made is on the record too.
    assert!(
        audit.contains("add-organizer") && audit.contains("(command line)"),
        "{audit}"
    );
}

#[tokio::test]
async fn a_batch_by_email_domain_needs_narrowing_criteria() {
    // Every country listed, however few its signers (this test checks the counting).
    let app = spawn_app_with(Mail::Memory, &[("public_country_min", "1")]).await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    petition_with(
        &app,
        &[
            ("Real", "real@example.org", "AM"),
            ("Bot A", "a@spam.example", "AM"),
            ("Bot B", "b@SPAM.example", "AM"),
        ],
    )
    .await;
    login(&app, "ana@example.org", "correct horse battery").await;
    let page = app
        .get("/dashboard/petitions/p-mod/signers?domain=spam.example")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("2 signatures match"), "{page}");
    let token = csrf(&page);
    let unnarrowed = app
        .post_form(
            "/dashboard/petitions/p-mod/signers",
            &[
                ("csrf_token", &token),
                ("action", "invalidate"),
                ("reason", "x"),
                ("q", "bot"),
            ],
        )
        .await;
    assert_eq!(unnarrowed.status().as_u16(), 400);
    assert_eq!(app.count("p-mod").await, 3);
    let batch = app
        .post_form(
            "/dashboard/petitions/p-mod/signers",
            &[
                ("csrf_token", &token),
                ("action", "invalidate"),
                ("reason", "spam domain"),
                ("domain", "spam.example"),
            ],
        )
        .await;
    assert_eq!(batch.status().as_u16(), 303);
    assert_eq!(app.count("p-mod").await, 1);
    assert_eq!(export_names(&app).await, vec!["Real"]);
    // The public page's country table follows.
    let json = app.json("p-mod").await;
    assert_eq!(json["signatures_by_country"][0]["count"], 1);
}

#[tokio::test]
async fn signers_of_the_same_network_can_be_found_and_invalidated_together() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    petition_with(
        &app,
        &[
            ("One", "one@example.org", "AM"),
            ("Two", "two@example.org", "AM"),
        ],
    )
    .await;
    login(&app, "ana@example.org", "correct horse battery").await;
    let one = signer_id(&app, "one@example.org").await;
    // Every test signature comes from 127.0.0.1: the same network.
    let page = app
        .get(&format!("/dashboard/petitions/p-mod/signers?network={one}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("2 signatures match"), "{page}");
    // No raw address is ever shown or stored.
    assert!(!page.contains("127.0.0.1"));
}

#[tokio::test]
async fn another_organizer_can_neither_list_nor_invalidate() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    add_organizer(&app, "mallory@example.org", "another long password", false);
    petition_with(&app, &[("Անի", "ani@example.org", "AM")]).await;
    let victim = signer_id(&app, "ani@example.org").await;
    login(&app, "mallory@example.org", "another long password").await;
    assert_eq!(
        app.get("/dashboard/petitions/p-mod/signers")
            .await
            .status()
            .as_u16(),
        404
    );
    let dash = app.get("/dashboard").await.text().await.unwrap();
    let res = app
        .post_form(
            "/dashboard/petitions/p-mod/signers",
            &[
                ("csrf_token", &csrf(&dash)),
                ("action", "invalidate"),
                ("id", &victim),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(app.count("p-mod").await, 1);
    assert_eq!(
        app.get("/dashboard/audit").await.status().as_u16(),
        404,
        "admins only"
    );
}
