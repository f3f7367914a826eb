//! An organizer's petition page and signature export, and who may see them.

use crate::helpers::{TestApp, spawn_app};
use crate::organizers::{add_organizer, login};

async fn owned_petition_with_signers(app: &TestApp) {
    app.create_owned_petition("p-owned", &[10, 100], "ana@example.org")
        .await;
    let signers = [
        ("Անի Պետրոսյան", "a1@example.org", "AM"),
        ("Ольга Иванова", "o2@example.org", "RU"),
        ("=cmd|'/c calc'!A1", "x3@example.org", "FR"),
        ("Արամ Սարգսյան", "a4@example.org", "AM"),
    ];
    for (name, email, country) in signers {
        app.sign(
            "p-owned",
            &[("name", name), ("email", email), ("country", country)],
        )
        .await;
    }
    for raw in app.wait_for_emails(signers.len()).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
}

fn parse(body: &[u8]) -> Vec<csv::StringRecord> {
    let body = body
        .strip_prefix(undersigned::export::UTF8_BOM)
        .unwrap_or(body);
    let mut reader = csv::Reader::from_reader(body);
    assert_eq!(reader.headers().unwrap().len(), 9);
    reader.records().map(Result::unwrap).collect()
}

#[tokio::test]
async fn an_organizer_sees_progress_and_downloads_the_signatures() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    owned_petition_with_signers(&app).await;
    assert_eq!(
        login(&app, "ana@example.org", "correct horse battery")
            .await
            .status()
            .as_u16(),
        303
    );

    let dash = app.get("/dashboard").await.text().await.unwrap();
    assert!(dash.contains("href=\"/dashboard/petitions/p-owned\""));
    let page = app.get("/dashboard/petitions/p-owned").await;
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("<dt>Confirmed signatures</dt><dd>4</dd>"),
        "{page}"
    );
    assert!(page.contains("<dt>Today</dt><dd>4</dd>"));
    assert!(page.contains("<dt>Confirmation rate</dt><dd>100 %</dd>"));
    assert_eq!(page.matches("<rect").count(), 30, "a bar per day");
    assert!(
        page.contains("the goal of 10 will be reached around"),
        "{page}"
    );

    let res = app.get("/dashboard/petitions/p-owned/export.csv").await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"p-owned-signatures-"),
        "{disposition}"
    );
    let rows = parse(&res.bytes().await.unwrap());
    assert_eq!(rows.len(), 4);
    let names: Vec<&str> = rows.iter().map(|r| &r[3]).collect();
    assert!(names.contains(&"Անի Պետրոսյան") && names.contains(&"Ольга Иванова"));
    assert!(
        names.contains(&"'=cmd|'/c calc'!A1"),
        "formula neutralised: {names:?}"
    );

    let armenia = app
        .get("/dashboard/petitions/p-owned/export.csv?country=am")
        .await;
    let rows = parse(&armenia.bytes().await.unwrap());
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| &r[5] == "AM"));

    let excel = app
        .get("/dashboard/petitions/p-owned/export.csv?excel=1")
        .await
        .bytes()
        .await
        .unwrap();
    assert!(excel.starts_with(undersigned::export::UTF8_BOM));
    assert_eq!(parse(&excel).len(), 4);

    let future = app
        .get("/dashboard/petitions/p-owned/export.csv?from=2999-01-01")
        .await;
    assert_eq!(parse(&future.bytes().await.unwrap()).len(), 0);
    for bad in ["?from=yesterday", "?until=2026-13-40", "?country=ZZ"] {
        let res = app
            .get(&format!("/dashboard/petitions/p-owned/export.csv{bad}"))
            .await;
        assert_eq!(res.status().as_u16(), 400, "{bad}");
    }
}

#[tokio::test]
async fn another_organizer_cannot_see_or_export_a_petition_that_is_not_theirs() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    add_organizer(&app, "mallory@example.org", "another long password", false);
    owned_petition_with_signers(&app).await;

    for path in [
        "/dashboard/petitions/p-owned",
        "/dashboard/petitions/p-owned/export.csv",
    ] {
        let anonymous = app.get(path).await;
        assert_eq!(anonymous.status().as_u16(), 303, "{path}");
        assert_eq!(anonymous.headers()["location"], "/login");
    }
    assert_eq!(
        login(&app, "mallory@example.org", "another long password")
            .await
            .status()
            .as_u16(),
        303
    );
    for path in [
        "/dashboard/petitions/p-owned",
        "/dashboard/petitions/p-owned/export.csv",
        "/dashboard/petitions/p-owned/export.csv?excel=1",
        "/dashboard/petitions/p-owned/export.manifest.json",
        "/dashboard/petitions/p-owned/signers",
        "/dashboard/petitions/p-owned/edit",
        "/dashboard/petitions/p-owned/delivery",
        "/dashboard/petitions/no-such-petition",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), 404, "{path}");
        let body = res.text().await.unwrap();
        assert!(!body.contains("Անի"), "{path} leaks a signer");
    }
    let dash = app.get("/dashboard").await.text().await.unwrap();
    assert!(!dash.contains("p-owned"));
}

#[tokio::test]
async fn the_delivery_document_lists_every_signer_for_the_officials() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    add_organizer(&app, "mallory@example.org", "another long password", false);
    owned_petition_with_signers(&app).await;
    login(&app, "ana@example.org", "correct horse battery").await;
    let res = app.get("/dashboard/petitions/p-owned/delivery").await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let doc = res.text().await.unwrap();
    assert!(doc.contains("<h1 lang=\"en\">Petition p-owned</h1>"));
    assert!(doc.contains("OSCE Chairperson-in-Office"));
    assert!(doc.contains("<dt>Confirmed signatures</dt><dd>4</dd>"));
    for name in ["Անի Պետրոսյան", "Ольга Иванова", "Արամ Սարգսյան"]
    {
        assert!(doc.contains(&format!("<td>{name}</td>")), "{name}");
    }
    assert_eq!(
        doc.matches("<tr><td class=\"num\">").count(),
        4,
        "one numbered line per signer"
    );
    for n in 1..=4 {
        assert!(
            doc.contains(&format!("<tr><td class=\"num\">{n}</td>")),
            "line {n}"
        );
    }
    assert!(!doc.contains("a1@example.org"), "no emails unless asked");
    assert!(doc.trim_end().ends_with("</html>"));
    let with_emails = app
        .get("/dashboard/petitions/p-owned/delivery?emails=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(with_emails.contains("<td>a1@example.org</td>"));

    let dash = app.get("/dashboard").await.text().await.unwrap();
    app.post_form(
        "/logout",
        &[("csrf_token", &crate::organizers::csrf(&dash))],
    )
    .await;
    login(&app, "mallory@example.org", "another long password").await;
    assert_eq!(
        app.get("/dashboard/petitions/p-owned/delivery")
            .await
            .status()
            .as_u16(),
        404
    );
}

/// Takes an export snapshot through the dashboard form; returns its page's path.
pub async fn take_snapshot(app: &TestApp, slug: &str, fields: &[(&str, &str)]) -> String {
    let page = app
        .get(&format!("/dashboard/petitions/{slug}"))
        .await
        .text()
        .await
        .unwrap();
    let token = crate::organizers::csrf(&page);
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    let res = app
        .post_form(&format!("/dashboard/petitions/{slug}/exports"), &form)
        .await;
    assert_eq!(res.status().as_u16(), 303);
    res.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_snapshot_gives_the_same_files_whatever_is_confirmed_or_invalidated_later() {
    use sha2::{Digest, Sha256};
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    owned_petition_with_signers(&app).await;
    // An older signature still pending when the snapshot is taken.
    app.sign("p-owned", &[("email", "slow@example.org")]).await;
    let slow = app.wait_for_emails(5).await.pop().unwrap();
    login(&app, "ana@example.org", "correct horse battery").await;

    let everything = take_snapshot(&app, "p-owned", &[]).await;
    let armenia = take_snapshot(&app, "p-owned", &[("country", "AM")]).await;
    let page = app.get(&everything).await.text().await.unwrap();
    assert!(page.contains("4 signatures"), "{page}");
    let id_of = |path: &str| path.rsplit('/').next().unwrap().to_string();
    let base = "/dashboard/petitions/p-owned";
    let fetch = |q: String| {
        let app = &app;
        async move {
            let csv = app
                .get(&format!("{base}/export.csv?{q}"))
                .await
                .bytes()
                .await
                .unwrap();
            let manifest = app
                .get(&format!("{base}/export.manifest.json?{q}"))
                .await
                .text()
                .await
                .unwrap();
            (csv, manifest)
        }
    };
    let queries = [
        format!("snapshot={}", id_of(&everything)),
        format!("snapshot={}&excel=1", id_of(&everything)),
        format!("snapshot={}", id_of(&armenia)),
    ];
    let mut before = vec![];
    for q in &queries {
        let (_, manifest) = fetch(q.clone()).await;
        before.push(manifest);
    }

    // Then: the older pending signature is confirmed, a new one arrives and is confirmed, and
    // one in the snapshot is invalidated.
    assert_eq!(
        app.post_form(&app.confirmation_path(&slow), &[])
            .await
            .status()
            .as_u16(),
        200
    );
    app.sign(
        "p-owned",
        &[("email", "late@example.org"), ("country", "AM")],
    )
    .await;
    let late = app.wait_for_emails(6).await.pop().unwrap();
    app.post_form(&app.confirmation_path(&late), &[]).await;
    let signers = app
        .get(&format!("{base}/signers?q=a1%40example.org"))
        .await
        .text()
        .await
        .unwrap();
    let marker = "name=\"id\" value=\"";
    let start = signers.find(marker).expect("a signer row") + marker.len();
    let id: String = signers[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let res = app
        .post_form(
            &format!("{base}/signers"),
            &[
                ("csrf_token", &crate::organizers::csrf(&signers)),
                ("id", &id),
                ("action", "invalidate"),
                ("reason", "duplicate"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.count("p-owned").await, 5);
    // And the petition's title is edited.
    let form = app.get(&format!("{base}/edit")).await.text().await.unwrap();
    let res = app
        .post_form(
            &format!("{base}/edit"),
            &[
                ("csrf_token", crate::organizers::csrf(&form).as_str()),
                ("title", "A new title"),
                ("goals", "10, 100"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);

    for (q, manifest_before) in queries.iter().zip(before) {
        let (csv, manifest) = fetch(q.clone()).await;
        assert_eq!(
            manifest, manifest_before,
            "the manifest is the same bytes: {q}"
        );
        let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        assert_eq!(manifest["sha256"], hex::encode(Sha256::digest(&csv)), "{q}");
        assert_eq!(manifest["bytes"], csv.len());
        assert_eq!(manifest["rows"], parse(&csv).len(), "{q}");
        assert_eq!(manifest["public_count"], 4);
    }
    let (csv, _) = fetch(queries[2].clone()).await;
    assert_eq!(
        parse(&csv).len(),
        2,
        "the Armenian signers as of the snapshot"
    );
    // The delivery document of the snapshot lists the same four signers, numbered 1 to 4.
    let doc = app
        .get(&format!("{base}/delivery?{}", queries[0]))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        doc.contains("Անի Պետրոսյան"),
        "invalidated later, still in the snapshot"
    );
    assert!(!doc.contains("late@example.org") && doc.contains("<td class=\"num\">4</td>"));
    assert!(!doc.contains("<td class=\"num\">5</td>"), "{doc}");
    // Another petition's organizer, or a made-up id, finds nothing.
    assert_eq!(
        app.get(&format!("{base}/export.csv?snapshot=999999"))
            .await
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn links_saved_with_an_upto_id_still_download_that_part_of_the_list() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    owned_petition_with_signers(&app).await;
    login(&app, "ana@example.org", "correct horse battery").await;
    let everything: serde_json::Value = app
        .get("/dashboard/petitions/p-owned/export.manifest.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(everything["rows"], 4);
    let first_two: serde_json::Value = app
        .get("/dashboard/petitions/p-owned/export.manifest.json?upto=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first_two["rows"], 2);
    // A comment with a line break is still one row.
    app.sign(
        "p-owned",
        &[("email", "late@example.org"), ("comment", "two\nlines")],
    )
    .await;
    let raw = app.wait_for_emails(5).await.pop().unwrap();
    app.post_form(&app.confirmation_path(&raw), &[]).await;
    let csv = app
        .get("/dashboard/petitions/p-owned/export.csv")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(parse(&csv).len(), 5);
}
