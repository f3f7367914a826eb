//! A petition's image: uploaded by its organizers, checked by content, served to everyone.

use reqwest::multipart::{Form, Part};

use crate::helpers::{TestApp, spawn_app};
use crate::organizers::{add_organizer, csrf, login};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";

async fn upload(app: &TestApp, token: Option<&str>, bytes: Vec<u8>, claimed: &str) -> u16 {
    let mut form = Form::new().part(
        "image",
        Part::bytes(bytes)
            .file_name("photo.png")
            .mime_str(claimed)
            .unwrap(),
    );
    if let Some(token) = token {
        form = form.text("csrf_token", token.to_string());
    }
    app.client
        .post(format!("{}/dashboard/petitions/p-img/image", app.address))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn organizers_upload_a_real_image_and_everyone_sees_it() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    add_organizer(&app, "mallory@example.org", "another long password", false);
    app.create_owned_petition("p-img", &[100], "ana@example.org")
        .await;

    login(&app, "mallory@example.org", "another long password").await;
    let other = csrf(&app.get("/dashboard").await.text().await.unwrap());
    assert_eq!(
        upload(&app, Some(&other), PNG.to_vec(), "image/png").await,
        404
    );
    app.post_form("/logout", &[("csrf_token", &other)]).await;

    login(&app, "ana@example.org", "correct horse battery").await;
    let token = csrf(
        &app.get("/dashboard/petitions/p-img")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(upload(&app, None, PNG.to_vec(), "image/png").await, 403);
    assert_eq!(
        upload(
            &app,
            Some(&token),
            b"<svg onload=alert(1)>".to_vec(),
            "image/png"
        )
        .await,
        400
    );
    assert_eq!(
        upload(
            &app,
            Some(&token),
            vec![0xff; 3 * 1024 * 1024],
            "image/jpeg"
        )
        .await,
        413
    );
    assert_eq!(
        app.get("/petitions/p-img/image").await.status().as_u16(),
        404
    );

    // The browser's claim does not matter: the bytes say PNG.
    assert_eq!(
        upload(&app, Some(&token), PNG.to_vec(), "text/html").await,
        303
    );
    let page = app.get("/petitions/p-img").await.text().await.unwrap();
    assert!(page.contains("<img class=\"hero\" src=\"/petitions/p-img/image\""));
    let image = app.get("/petitions/p-img/image").await;
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    assert_eq!(image.bytes().await.unwrap().as_ref(), PNG);

    let removed = app
        .client
        .post(format!("{}/dashboard/petitions/p-img/image", app.address))
        .multipart(
            Form::new()
                .text("csrf_token", token.clone())
                .text("remove", "1"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 303);
    assert_eq!(
        app.get("/petitions/p-img/image").await.status().as_u16(),
        404
    );
}

async fn upload_logo(app: &TestApp, token: &str, bytes: Vec<u8>) -> u16 {
    let form = Form::new().text("csrf_token", token.to_string()).part(
        "image",
        Part::bytes(bytes)
            .file_name("logo.png")
            .mime_str("image/png")
            .unwrap(),
    );
    app.client
        .post(format!("{}/dashboard/logo?csrf_token={token}", app.address))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_admin_gives_the_site_its_organisations_logo_and_nobody_else_can() {
    let app = spawn_app().await;
    add_organizer(&app, "admin@example.org", "correct horse battery", true);
    add_organizer(&app, "ana@example.org", "another long password", false);
    // An organizer who is not an admin finds no such page.
    login(&app, "ana@example.org", "another long password").await;
    let token = csrf(&app.text("/dashboard").await);
    assert_eq!(upload_logo(&app, &token, PNG.to_vec()).await, 404);
    assert_eq!(app.get("/logo").await.status().as_u16(), 404);

    let admin =
        crate::helpers::spawn_app_on(app.db.clone(), crate::helpers::Mail::Memory, &[]).await;
    login(&admin, "admin@example.org", "correct horse battery").await;
    let page = admin.text("/dashboard/organizers").await;
    let token = csrf(&page);
    // A small file claiming a huge picture is refused.
    let mut bomb = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    bomb.extend(60_000u32.to_be_bytes());
    bomb.extend(60_000u32.to_be_bytes());
    bomb.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(upload_logo(&admin, &token, bomb).await, 400);
    assert_eq!(upload_logo(&admin, &token, PNG.to_vec()).await, 303);
    let res = admin.get("/logo").await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    let home = admin.text("/").await;
    assert!(home.contains("<img class=\"logo\" src=\"/logo\""), "{home}");
}
