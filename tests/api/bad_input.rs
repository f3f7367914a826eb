use crate::helpers::{bodies, spawn_app};

/// Posts a form and checks: a 4xx with a message a person can read, no new row, no 500.
async fn refused(
    app: &crate::helpers::TestApp,
    id: i32,
    body: Vec<u8>,
    status: u16,
    message: &str,
) {
    let res = app.post_raw("/petitions/p-bad/sign", body).await;
    assert_eq!(res.status().as_u16(), status);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = res.text().await.unwrap();
    assert!(html.contains(message), "expected {message:?} in:\n{html}");
    assert_eq!(app.rows(id).await.0, 0, "nothing stored");
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut base: Vec<(&str, &str)> = vec![
        ("name", "Ani"),
        ("email", "ani@example.org"),
        ("country", "AM"),
        ("consent", "yes"),
    ];
    for (k, v) in fields {
        base.retain(|(f, _)| f != k);
        base.push((k, v));
    }
    serde_urlencoded::to_string(&base).unwrap().into_bytes()
}

#[tokio::test]
async fn missing_and_malformed_fields_get_a_message_each_and_store_nothing() {
    let app = spawn_app().await;
    let id = app.create_petition("p-bad", &[100]).await;
    refused(&app, id, b"".to_vec(), 422, "Please enter your name.").await;
    refused(
        &app,
        id,
        form(&[("name", "   ")]),
        422,
        "Please enter your name.",
    )
    .await;
    refused(
        &app,
        id,
        form(&[("email", "")]),
        422,
        "Please enter your email address.",
    )
    .await;
    refused(
        &app,
        id,
        form(&[("email", "ani@")]),
        422,
        "does not look like an email",
    )
    .await;
    refused(
        &app,
        id,
        form(&[("country", "")]),
        422,
        "Please choose your country.",
    )
    .await;
    refused(
        &app,
        id,
        form(&[("country", "XX")]),
        422,
        "Please choose a country from the list.",
    )
    .await;
    refused(
        &app,
        id,
        form(&[("consent", "")]).into_iter().collect(),
        422,
        "agree to the privacy notice",
    )
    .await;
    let no_consent = serde_urlencoded::to_string([
        ("name", "Ani"),
        ("email", "a@example.org"),
        ("country", "AM"),
    ])
    .unwrap();
    refused(
        &app,
        id,
        no_consent.into_bytes(),
        422,
        "agree to the privacy notice",
    )
    .await;
    refused(
        &app,
        id,
        form(&[("postcode", "<b>")]),
        422,
        "A postcode has at most",
    )
    .await;
}

#[tokio::test]
async fn the_form_comes_back_with_what_was_typed() {
    let app = spawn_app().await;
    app.create_petition("p-bad", &[100]).await;
    let res = app
        .post_raw(
            "/petitions/p-bad/sign",
            form(&[
                ("email", "nope"),
                ("name", "Անի Պետրոսյան"),
                ("comment", "Ազատություն"),
            ]),
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"Անի Պետրոսյան\""));
    assert!(html.contains(">Ազատություն</textarea>"));
    assert!(html.contains("value=\"AM\" selected"));
    assert!(html.contains("aria-invalid=true aria-describedby=\"email-hint email-error\""));
}

#[tokio::test]
async fn huge_fields_are_refused_with_a_message() {
    let app = spawn_app().await;
    let id = app.create_petition("p-bad", &[100]).await;
    let ten_kb = "a".repeat(10 * 1024);
    refused(
        &app,
        id,
        form(&[("name", &ten_kb)]),
        422,
        "at most 100 characters",
    )
    .await;
    refused(
        &app,
        id,
        form(&[("name", "Ani"), ("comment", &"ж".repeat(501))]),
        422,
        "at most 500 characters",
    )
    .await;
    let one_mb = "a".repeat(1024 * 1024);
    refused(&app, id, form(&[("name", &one_mb)]), 413, "too large").await;
    refused(&app, id, form(&[("comment", &one_mb)]), 413, "too large").await;
}

#[tokio::test]
async fn line_breaks_in_names_are_refused() {
    let app = spawn_app().await;
    let id = app.create_petition("p-bad", &[100]).await;
    refused(
        &app,
        id,
        form(&[("name", "Ani\r\nBcc: everyone@example.org")]),
        422,
        "cannot contain line breaks",
    )
    .await;
    refused(
        &app,
        id,
        form(&[("name", "Ani\u{0}")]),
        422,
        "cannot contain line breaks",
    )
    .await;
}

#[tokio::test]
async fn invalid_utf8_is_refused_not_mangled() {
    let app = spawn_app().await;
    let id = app.create_petition("p-bad", &[100]).await;
    refused(
        &app,
        id,
        b"name=An%FF%FEi&email=a%40example.org&country=AM&consent=yes".to_vec(),
        400,
        "unknown encoding",
    )
    .await;
    refused(
        &app,
        id,
        b"name=\xff\xfe&email=a%40example.org".to_vec(),
        400,
        "unknown encoding",
    )
    .await;
}

#[tokio::test]
async fn script_in_name_and_comment_is_escaped_on_pages_and_in_email() {
    let app = spawn_app().await;
    app.create_petition("p-bad", &[100]).await;
    let script = "<script>alert(1)</script>";
    // Invalid email so the form comes back: the page must escape what it echoes.
    let res = app
        .post_raw(
            "/petitions/p-bad/sign",
            form(&[("name", script), ("comment", script), ("email", "x")]),
        )
        .await;
    let html = res.text().await.unwrap();
    assert!(!html.contains(script));
    assert!(
        html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
        "{html}"
    );

    let ok = app
        .post_raw(
            "/petitions/p-bad/sign",
            form(&[("name", script), ("comment", script)]),
        )
        .await;
    assert_eq!(ok.status().as_u16(), 303);
    let raw = &app.wait_for_emails(1).await[0];
    let (text, html_part) = bodies(raw);
    assert!(!text.contains(script), "the email carries no typed text");
    assert!(!html_part.contains(script), "{html_part}");
    let path = app.confirmation_path(raw);
    app.post_form(&path, &[]).await;
    let page = app.get("/petitions/p-bad").await.text().await.unwrap();
    assert!(!page.contains(script), "public signer list escapes names");
}

#[tokio::test]
async fn unknown_petitions_and_paths_get_a_404_page() {
    let app = spawn_app().await;
    for path in [
        "/petitions/nope",
        "/nothing/here",
        "/static/../Cargo.toml",
        "/petitions/%FF",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), 404, "{path}");
        assert!(
            res.text().await.unwrap().contains("Page not found"),
            "{path}"
        );
    }
    let res = app
        .post_form("/petitions/nope/sign", &[("name", "a")])
        .await;
    assert_eq!(res.status().as_u16(), 404);
}

#[tokio::test]
async fn after_a_form_error_the_language_switcher_returns_to_the_petition() {
    let app = spawn_app().await;
    app.create_petition("p-bad", &[100]).await;
    let html = app
        .post_raw("/petitions/p-bad/sign", form(&[("email", "x")]))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("href=\"/lang/fr?next=%2Fpetitions%2Fp-bad\""),
        "{html}"
    );
}
