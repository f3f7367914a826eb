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
    assert!(doc.contains("<h1>Petition p-owned</h1>"));
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

#[tokio::test]
async fn the_manifest_describes_exactly_the_file_the_same_choices_download() {
    use sha2::{Digest, Sha256};
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    owned_petition_with_signers(&app).await;
    login(&app, "ana@example.org", "correct horse battery").await;
    let page = app
        .get("/dashboard/petitions/p-owned")
        .await
        .text()
        .await
        .unwrap();
    let marker = "name=\"upto\" value=\"";
    let start = page.find(marker).expect("a snapshot id") + marker.len();
    let upto: String = page[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();

    // A signature arriving after the page was shown is outside the snapshot, in both.
    app.sign(
        "p-owned",
        &[("email", "late@example.org"), ("comment", "two\nlines")],
    )
    .await;
    let raw = app.wait_for_emails(5).await.pop().unwrap();
    app.post_form(&app.confirmation_path(&raw), &[]).await;

    for query in [
        format!("upto={upto}"),
        format!("upto={upto}&excel=1&country=AM"),
        String::new(),
    ] {
        let csv = app
            .get(&format!("/dashboard/petitions/p-owned/export.csv?{query}"))
            .await
            .bytes()
            .await
            .unwrap();
        let manifest: serde_json::Value = app
            .get(&format!(
                "/dashboard/petitions/p-owned/export.manifest.json?{query}"
            ))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            manifest["sha256"],
            hex::encode(Sha256::digest(&csv)),
            "{query}"
        );
        assert_eq!(manifest["bytes"], csv.len());
        assert_eq!(manifest["rows"], parse(&csv).len(), "{query}");
        assert_eq!(manifest["public_count"], 5);
    }
    let snapshot: serde_json::Value = app
        .get(&format!(
            "/dashboard/petitions/p-owned/export.manifest.json?upto={upto}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(snapshot["rows"], 4);
    let everything: serde_json::Value = app
        .get("/dashboard/petitions/p-owned/export.manifest.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        everything["rows"], 5,
        "a comment with a line break is still one row"
    );
}
