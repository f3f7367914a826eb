//! Organizers write petitions from the dashboard.

use crate::helpers::{TestApp, spawn_app};
use crate::organizers::{add_organizer, csrf, login};

async fn form_token(app: &TestApp, path: &str) -> String {
    csrf(&app.get(path).await.text().await.unwrap())
}

#[tokio::test]
async fn an_organizer_creates_a_petition_with_a_three_step_goal_ladder() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    login(&app, "ana@example.org", "correct horse battery").await;
    let token = form_token(&app, "/dashboard/petitions/new").await;
    let fields = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, String)> = vec![
            ("csrf_token", token.clone()),
            ("slug", "free-the-prisoners".into()),
            ("title", "Free the Armenian prisoners".into()),
            ("summary", "An appeal to the OSCE".into()),
            (
                "body",
                "We call for **their release**.\r\n\r\n<script>alert(1)</script>".into(),
            ),
            (
                "targets",
                "OSCE Chairperson-in-Office\r\nUN Secretary-General\r\n\r\n".into(),
            ),
            ("goals", "1000, 5500, 10 000".into()),
        ];
        for (k, v) in extra {
            f.retain(|(fk, _)| fk != k);
            f.push((k, v.to_string()));
        }
        f
    };

    let preview = app
        .post_form(
            "/dashboard/petitions",
            &as_refs(&fields(&[("preview", "1")])),
        )
        .await;
    assert_eq!(preview.status().as_u16(), 200);
    let preview = preview.text().await.unwrap();
    assert!(preview.contains("<strong>their release</strong>"));
    assert!(!preview.contains("<script>alert(1)</script>"));
    assert_eq!(
        app.get("/petitions/free-the-prisoners")
            .await
            .status()
            .as_u16(),
        404,
        "preview saves nothing"
    );

    let bad = app
        .post_form(
            "/dashboard/petitions",
            &as_refs(&fields(&[
                ("slug", "Bad Slug"),
                ("goals", "many"),
                ("closes_on", "2001-01-01"),
                ("title", " "),
            ])),
        )
        .await;
    assert_eq!(bad.status().as_u16(), 422);
    let bad = bad.text().await.unwrap();
    for message in [
        "lowercase letters",
        "whole numbers",
        "closing date in the future",
        "Give a title",
    ] {
        assert!(bad.contains(message), "{message}");
    }

    let created = app
        .post_form("/dashboard/petitions", &as_refs(&fields(&[])))
        .await;
    assert_eq!(created.status().as_u16(), 303);
    assert_eq!(
        created.headers()["location"],
        "/dashboard/petitions/free-the-prisoners"
    );
    let json = app.json("free-the-prisoners").await;
    assert_eq!(json["goals"], serde_json::json!([1000, 5500, 10000]));
    assert_eq!(
        json["targets"],
        serde_json::json!(["OSCE Chairperson-in-Office", "UN Secretary-General"])
    );
    let page = app
        .get("/petitions/free-the-prisoners")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("0 of 1,000 signatures"));
    assert!(page.contains("Started by Ani Organizer"));
    assert!(!page.contains("<script>alert(1)</script>"));
    let dash = app.get("/dashboard").await.text().await.unwrap();
    assert!(dash.contains("Free the Armenian prisoners"));

    let again = app
        .post_form("/dashboard/petitions", &as_refs(&fields(&[])))
        .await;
    assert_eq!(again.status().as_u16(), 422);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("already uses this address")
    );
}

fn as_refs<'a>(fields: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn an_organizer_edits_closes_and_reopens_their_petition() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    add_organizer(&app, "mallory@example.org", "another long password", false);
    app.create_owned_petition("p-edit", &[100], "ana@example.org")
        .await;

    login(&app, "mallory@example.org", "another long password").await;
    assert_eq!(
        app.get("/dashboard/petitions/p-edit/edit")
            .await
            .status()
            .as_u16(),
        404
    );
    let token = form_token(&app, "/dashboard").await;
    let res = app
        .post_form(
            "/dashboard/petitions/p-edit/status",
            &[("csrf_token", &token), ("status", "closed")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 404);
    let res = app
        .post_form(
            "/dashboard/petitions/p-edit/edit",
            &[
                ("csrf_token", &token),
                ("title", "Hijacked"),
                ("goals", "5"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(app.json("p-edit").await["title"], "Petition p-edit");
    app.post_form("/logout", &[("csrf_token", &token)]).await;

    login(&app, "ana@example.org", "correct horse battery").await;
    let form = app
        .get("/dashboard/petitions/p-edit/edit")
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("value=\"100\""), "current goals prefilled");
    let token = csrf(&form);
    let saved = app
        .post_form(
            "/dashboard/petitions/p-edit/edit",
            &[
                ("csrf_token", &token),
                ("title", "A sharper title"),
                ("goals", "100, 200"),
                ("targets", "UN Secretary-General"),
                ("body", "New text"),
            ],
        )
        .await;
    assert_eq!(saved.status().as_u16(), 303);
    let json = app.json("p-edit").await;
    assert_eq!(json["title"], "A sharper title");
    assert_eq!(json["goals"], serde_json::json!([100, 200]));
    assert_eq!(json["targets"], serde_json::json!(["UN Secretary-General"]));

    let no_token = app
        .post_form(
            "/dashboard/petitions/p-edit/status",
            &[("status", "closed")],
        )
        .await;
    assert_eq!(no_token.status().as_u16(), 403);
    let closed = app
        .post_form(
            "/dashboard/petitions/p-edit/status",
            &[("csrf_token", &token), ("status", "closed")],
        )
        .await;
    assert_eq!(closed.status().as_u16(), 303);
    assert_eq!(app.json("p-edit").await["status"], "closed");
    assert_eq!(app.sign("p-edit", &[]).await.status().as_u16(), 410);
    app.post_form(
        "/dashboard/petitions/p-edit/status",
        &[("csrf_token", &token), ("status", "open")],
    )
    .await;
    assert_eq!(app.json("p-edit").await["status"], "open");
    assert_eq!(app.sign("p-edit", &[]).await.status().as_u16(), 303);
}
