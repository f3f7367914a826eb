use crate::helpers::spawn_app;

#[tokio::test]
async fn the_api_lists_petitions_with_goals_targets_and_counts() {
    let app = spawn_app().await;
    app.create_petition("p-api", &[5500, 1000]).await;
    let list: serde_json::Value = app.get("/api/v1/petitions").await.json().await.unwrap();
    assert_eq!(list[0]["slug"], "p-api");
    assert_eq!(list[0]["goals"], serde_json::json!([1000, 5500]));
    assert_eq!(list[0]["goal"], 1000);
    let one = app.json("p-api").await;
    assert_eq!(one["status"], "open");
    assert_eq!(one["signature_count"], 0);
    assert_eq!(one["targets"][0], "OSCE Chairperson-in-Office");
    assert_eq!(one["url"], format!("{}/petitions/p-api", app.address));
    assert!(one["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(one["closes_at"], serde_json::Value::Null);
    assert_eq!(one["signatures_by_day"], serde_json::json!([]));
    let missing = app.get("/api/v1/petitions/none").await;
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        missing.json::<serde_json::Value>().await.unwrap()["error"],
        "no petition with this slug"
    );
}

#[tokio::test]
async fn health_answers_when_the_database_does() {
    let app = spawn_app().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status().as_u16(), 200);
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy_and_no_third_party_assets() {
    let app = spawn_app().await;
    app.create_petition("p-csp", &[100]).await;
    for path in ["/", "/petitions/p-csp", "/privacy"] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), 200);
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let html = res.text().await.unwrap();
        assert!(
            !html.contains("src=\"http"),
            "{path} loads a third-party asset"
        );
        // No page links off-site. The only absolute addresses are the share metadata of a
        // petition (its canonical address and its versions), which name this site's own pages.
        let own = format!("{}/", app.address);
        for tag in html.split('<').filter(|t| t.contains("href=\"http")) {
            let href = tag
                .split("href=\"")
                .nth(1)
                .and_then(|h| h.split('"').next())
                .unwrap_or_default();
            let metadata = tag.starts_with("link rel=\"canonical\"")
                || tag.starts_with("link rel=\"alternate\"");
            assert!(
                metadata && href.starts_with(&own),
                "{path} links off-site: <{tag}"
            );
        }
        assert!(
            !html.contains("style=\""),
            "{path} has inline style the CSP would block"
        );
    }
    let css = app.get("/static/style.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn the_petition_page_shows_targets_progress_and_the_next_goal() {
    let app = spawn_app().await;
    let pid = app.create_petition("p-page", &[1, 50]).await;
    let targets: Vec<String> = (1..=11).map(|i| format!("Official {i}")).collect();
    undersigned::db::run(&app.pool, move |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::petition_targets::dsl::*;
        diesel::delete(petition_targets.filter(petition_id.eq(pid))).execute(c)?;
        for (i, t) in targets.iter().enumerate() {
            diesel::insert_into(petition_targets)
                .values((petition_id.eq(pid), position.eq(i as i32), name.eq(t)))
                .execute(c)?;
        }
        Ok(())
    })
    .await
    .unwrap();
    app.sign("p-page", &[]).await;
    let path = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    app.post_form(&path, &[]).await;
    let html = app.get("/petitions/p-page").await.text().await.unwrap();
    assert!(html.contains("Petition to"));
    assert!(html.contains("Official 3"));
    assert!(html.contains("<summary>and 8 others</summary>"), "{html}");
    assert!(html.contains("1 of 50 signatures"));
    assert!(
        !html.contains("Next goal"),
        "one goal line: the count names the goal"
    );
    assert!(html.contains("aria-label=\"1 signatures toward a goal of 50\""));
    assert!(
        html.contains("<strong>them</strong>"),
        "markdown body rendered"
    );
    assert!(html.contains("Started by Test organizer"));
}

#[tokio::test]
async fn pages_speak_the_visitors_language_and_remember_a_choice() {
    let app = spawn_app().await;
    app.create_petition("p-i18n", &[5500]).await;
    let fr = app
        .client
        .get(format!("{}/petitions/p-i18n", app.address))
        .header("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fr.contains("<html lang=\"fr\">"));
    assert!(fr.contains("Signer la pétition"));
    assert!(fr.contains("0 signatures sur 5\u{202f}500"));

    // The switcher leads to the page's address in that language, and remembers the choice
    // for the pages that are not the same for everyone (sign-in, the dashboard).
    let switch = app
        .get("/lang/hy?next=/petitions/p-i18n%3Fsrc%3Dx%26lang%3Dfr")
        .await;
    assert_eq!(switch.status().as_u16(), 303);
    assert_eq!(
        switch.headers()["location"],
        "/petitions/p-i18n?src=x&lang=hy"
    );
    let hy = app.text("/petitions/p-i18n?lang=hy").await;
    assert!(hy.contains("<html lang=\"hy\">"));
    assert!(hy.contains("Ստորագրել խնդրագիրը"));
    assert!(hy.contains("Հայաստան"), "country names are translated");
    assert!(
        hy.contains("href=\"/?lang=hy\""),
        "its links keep the language"
    );
    assert!(app.text("/login").await.contains("<html lang=\"hy\">"));
    // A public page is the same for everyone asking in a language: a proxy may keep it, so
    // the cookie does not change it.
    let public = app
        .client
        .get(format!("{}/petitions/p-i18n", app.address))
        .header("Accept-Language", "fr")
        .send()
        .await
        .unwrap();
    let vary: Vec<&str> = public
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(vary.contains(&"Accept-Language"), "{vary:?}");
    assert!(!vary.iter().any(|v| v.contains("Cookie")), "{vary:?}");
    assert!(public.text().await.unwrap().contains("<html lang=\"fr\">"));

    let evil = app.get("/lang/en?next=//evil.example/").await;
    assert_eq!(evil.headers()["location"], "/?lang=en");
}
