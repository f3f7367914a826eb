//! Public pages served from memory: the same bytes for everyone reading a language, compressed
//! once, revalidated with ETags, and never older than the refresh interval.

use std::io::Read;
use std::time::Duration;

use crate::helpers::{Mail, TestApp, eventually, spawn_app, spawn_app_on, spawn_client};

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = spawn_client().get(format!("{}{path}", app.address));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// Waits until the page at `path` on `app` satisfies `done`, at most `deadline`.
async fn until(
    app: &TestApp,
    path: &str,
    deadline: Duration,
    what: &str,
    done: impl Fn(&str) -> bool,
) {
    eventually(deadline, what, async || done(&app.text(path).await)).await
}

/// Signs on `app` and confirms there; the email may be sent by any of `instances` (they share
/// one outbox, and whichever worker comes first sends it).
async fn sign_and_confirm(app: &TestApp, instances: &[&TestApp], slug: &str, email: &str) {
    let sent = || -> Vec<String> { instances.iter().flat_map(|i| i.all_emails()).collect() };
    let before = sent().len();
    app.sign(slug, &[("email", email)]).await;
    eventually(
        Duration::from_secs(10),
        "a confirmation email",
        async || sent().len() > before,
    )
    .await;
    let raw = sent()
        .into_iter()
        .find(|m| m.contains(email))
        .expect("the confirmation email");
    let res = app.post_form(&app.confirmation_path(&raw), &[]).await;
    assert_eq!(res.status().as_u16(), 200);
}

#[tokio::test]
async fn a_confirmation_shows_at_once_where_it_was_made_and_on_another_instance_within_the_interval()
 {
    let a = spawn_app_with_refresh("300").await;
    a.create_petition("p-live", &[100]).await;
    let b = spawn_app_on(a.db.clone(), Mail::Memory, &[("public_refresh_ms", "300")]).await;
    for app in [&a, &b] {
        assert!(
            app.text("/petitions/p-live")
                .await
                .contains("0 of 100 signatures")
        );
    }
    sign_and_confirm(&a, &[&a, &b], "p-live", "one@example.org").await;
    // Where it was confirmed: the very next view.
    assert!(
        a.text("/petitions/p-live")
            .await
            .contains("1 of 100 signatures")
    );
    assert_eq!(a.count("p-live").await, 1);
    // Elsewhere: once its state is read again (every 300 ms here).
    until(
        &b,
        "/petitions/p-live",
        Duration::from_secs(10),
        "the other instance showing the new count",
        |p| p.contains("1 of 100 signatures"),
    )
    .await;
    let count = b.get("/api/v1/petitions/p-live?fields=count").await;
    let json: serde_json::Value = count.json().await.unwrap();
    assert_eq!(json["signature_count"], 1);
    assert_eq!(json["total_count"], 1);
    assert_eq!(json["goal"], 100);
    assert_eq!(json["status"], "open");
    assert!(json.get("title").is_none(), "only the count: {json}");
}

async fn spawn_app_with_refresh(ms: &str) -> TestApp {
    crate::helpers::spawn_app_with(Mail::Memory, &[("public_refresh_ms", ms)]).await
}

#[tokio::test]
async fn a_page_a_browser_has_is_answered_304_until_it_changes() {
    let app = spawn_app().await;
    app.create_petition("p-etag", &[100]).await;
    for path in [
        "/petitions/p-etag",
        "/api/v1/petitions/p-etag",
        "/api/v1/petitions/p-etag?fields=count",
    ] {
        let first = get(&app, path, &[]).await;
        assert_eq!(first.status().as_u16(), 200, "{path}");
        let etag = first.headers()["etag"].to_str().unwrap().to_string();
        let modified = first.headers()["last-modified"]
            .to_str()
            .unwrap()
            .to_string();
        let cache = first.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            cache.starts_with("public, max-age=1, stale-while-revalidate="),
            "{path}: {cache}"
        );
        let again = get(&app, path, &[("If-None-Match", &etag)]).await;
        assert_eq!(again.status().as_u16(), 304, "{path}");
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert!(again.bytes().await.unwrap().is_empty());
        let since = get(&app, path, &[("If-Modified-Since", &modified)]).await;
        assert_eq!(since.status().as_u16(), 304, "{path}");
        let other = get(&app, path, &[("If-None-Match", "\"something-else\"")]).await;
        assert_eq!(other.status().as_u16(), 200, "{path}");
    }
    let etag = get(&app, "/petitions/p-etag", &[]).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    sign_and_confirm(&app, &[&app], "p-etag", "one@example.org").await;
    let changed = get(&app, "/petitions/p-etag", &[("If-None-Match", &etag)]).await;
    assert_eq!(changed.status().as_u16(), 200, "a new count is a new page");
    assert_ne!(changed.headers()["etag"], etag.as_str());
}

#[tokio::test]
async fn gzip_and_brotli_bodies_decode_to_the_same_page_and_json() {
    let app = spawn_app().await;
    app.create_petition("p-zip", &[100]).await;
    for path in ["/petitions/p-zip?lang=hy", "/api/v1/petitions/p-zip", "/"] {
        let plain = get(&app, path, &[]).await;
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let plain = plain.bytes().await.unwrap();

        let gz = get(&app, path, &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(gz.headers()["content-encoding"], "gzip", "{path}");
        let packed = gz.bytes().await.unwrap();
        assert!(
            packed.len() < plain.len(),
            "{path}: {} of {}",
            packed.len(),
            plain.len()
        );
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain, "{path}");

        let br = get(&app, path, &[("Accept-Encoding", "gzip, deflate, br")]).await;
        assert_eq!(br.headers()["content-encoding"], "br", "{path}");
        let vary: Vec<String> = br
            .headers()
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .collect();
        assert!(
            vary.iter().any(|v| v.contains("accept-encoding")),
            "{path}: {vary:?}"
        );
        let packed = br.bytes().await.unwrap();
        let mut out = Vec::new();
        brotli::Decompressor::new(&packed[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain, "{path}");
    }
}

#[tokio::test]
async fn a_page_with_personal_data_is_never_kept_and_bad_fields_are_refused() {
    let app = spawn_app().await;
    app.create_petition("p-fields", &[100]).await;
    let res = get(&app, "/api/v1/petitions/p-fields?fields=everything", &[]).await;
    assert_eq!(res.status().as_u16(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("count"), "{body}");
    let res = get(&app, "/api/v1/petitions/nope?fields=count", &[]).await;
    assert_eq!(res.status().as_u16(), 404);
    // The form sent back with its errors holds what was typed: it is nobody else's page.
    let res = app.sign("p-fields", &[("email", "not-an-address")]).await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn an_open_petition_page_polls_its_count_and_a_closed_one_does_not() {
    let app = spawn_app().await;
    let id = app.create_petition("p-watch", &[5500]).await;
    let page = app.text("/petitions/p-watch?lang=fr").await;
    assert!(
        page.contains(
            "data-live=\"/api/v1/petitions/p-watch?fields=count\" data-count=\"0\" \
             data-text=\"{count} signatures sur {goal}\""
        ),
        "{page}"
    );
    assert!(page.contains("data-sep=\"\u{202f}\""));
    let at = page
        .find("/count.js\" defer></script>")
        .expect("the count script");
    let src = &page[page[..at].rfind('"').unwrap() + 1..at + "/count.js".len()];
    let script = app.get(src).await;
    assert_eq!(script.status().as_u16(), 200);
    assert_eq!(
        script.headers()["cache-control"],
        "public, max-age=31536000, immutable",
        "{src}"
    );
    assert!(script.text().await.unwrap().contains("data-live"));
    app.close(id).await;
    assert!(!app.text("/petitions/p-watch").await.contains("data-live="));
}

#[tokio::test]
async fn static_files_live_at_content_hashed_addresses_kept_for_a_year_and_precompressed() {
    let app = spawn_app().await;
    let home = app.text("/").await;
    let at = home.find("/style.css\"").expect("the stylesheet");
    let start = home[..at].rfind('"').unwrap() + 1;
    let href = &home[start..at + "/style.css".len()];
    let hash = href
        .strip_prefix("/static/")
        .and_then(|h| h.strip_suffix("/style.css"))
        .unwrap_or_else(|| panic!("{href}"));
    assert_eq!(hash.len(), 16, "{href}");
    let plain = get(&app, href, &[]).await;
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        plain.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let css = plain.bytes().await.unwrap();
    let br = get(&app, href, &[("Accept-Encoding", "br")]).await;
    assert_eq!(br.headers()["content-encoding"], "br");
    let mut out = Vec::new();
    brotli::Decompressor::new(&br.bytes().await.unwrap()[..], 4096)
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, css);
    // An address from an older release, or without a hash: served, kept an hour only.
    for old in ["/static/style.css", "/static/0123456789abcdef/style.css"] {
        let res = get(&app, old, &[]).await;
        assert_eq!(res.status().as_u16(), 200, "{old}");
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=3600",
            "{old}"
        );
    }
    assert_eq!(
        get(&app, "/static/0123456789abcdef/nope.css", &[])
            .await
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn each_encoding_has_its_own_etag_and_nothing_public_varies_by_cookie() {
    let app = spawn_app().await;
    app.create_petition("p-tags", &[100]).await;
    let path = "/petitions/p-tags";
    let tag = |res: &reqwest::Response| res.headers()["etag"].to_str().unwrap().to_string();
    let plain = get(&app, path, &[]).await;
    let br = get(&app, path, &[("Accept-Encoding", "br")]).await;
    let gz = get(&app, path, &[("Accept-Encoding", "gzip")]).await;
    let (plain, br, gz) = (tag(&plain), tag(&br), tag(&gz));
    assert!(br.ends_with("-br\"") && gz.ends_with("-gz\""), "{br} {gz}");
    assert_eq!(br.trim_end_matches("-br\""), plain.trim_end_matches('"'));
    // Revalidating with any of them: the same content, so 304, under the tag of what it gets.
    let again = get(
        &app,
        path,
        &[("Accept-Encoding", "br"), ("If-None-Match", &gz)],
    )
    .await;
    assert_eq!(again.status().as_u16(), 304);
    assert_eq!(tag(&again), br);
    for path in [
        "/petitions/p-tags/embed",
        "/petitions/p-tags/card.png",
        path,
        "/api/v1/petitions/p-tags",
    ] {
        let res = get(&app, path, &[]).await;
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let vary: Vec<String> = res
            .headers()
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .collect();
        assert!(
            !vary.iter().any(|v| v.contains("cookie")),
            "{path}: {vary:?}"
        );
        let language = vary.iter().any(|v| v.contains("accept-language"));
        assert_eq!(language, !path.starts_with("/api/"), "{path}: {vary:?}");
    }
    let embed = get(&app, "/petitions/p-tags/embed", &[]).await;
    assert!(
        embed.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public, max-age=1,"),
        "the widget shows the count no staler than the page"
    );
}

/// The statuses of GETs of `paths`, all sent at once.
async fn at_once(app: &TestApp, paths: impl Iterator<Item = &'static str>) -> Vec<u16> {
    let requests = paths.map(|path| {
        let url = format!("{}{path}", app.address);
        async move {
            spawn_client()
                .get(url)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    futures_util::future::join_all(requests).await
}

async fn state_reads(app: &TestApp) -> f64 {
    app.metric("undersigned_petition_state_reads_total").await
}

#[tokio::test]
async fn a_crowd_arriving_at_a_petition_not_yet_in_memory_makes_one_read_of_it() {
    // Nothing goes stale during the test: every read counted is a first one.
    let app = spawn_app_with_refresh("600000").await;
    app.create_petition("p-cold", &[100]).await;
    let before = state_reads(&app).await;
    let paths = [
        "/petitions/p-cold",
        "/api/v1/petitions/p-cold",
        "/api/v1/petitions/p-cold?fields=count",
    ];
    let statuses = at_once(&app, (0..60).map(|i| paths[i % 3])).await;
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(state_reads(&app).await - before, 1.0);
    // A slug that names no petition: each gets its 404; asked again later, it is read again.
    let before = state_reads(&app).await;
    let missing = at_once(&app, (0..20).map(|_| "/petitions/p-none")).await;
    assert!(missing.iter().all(|&s| s == 404), "{missing:?}");
    let crowd_reads = state_reads(&app).await - before;
    assert!(
        (1.0..20.0).contains(&crowd_reads),
        "{crowd_reads} reads for 20 requests"
    );
    assert_eq!(app.get("/petitions/p-none").await.status().as_u16(), 404);
    assert_eq!(state_reads(&app).await - before, crowd_reads + 1.0);
}

#[tokio::test]
async fn the_page_kept_for_everyone_names_its_own_address_however_the_first_visitor_spelled_it() {
    let app = spawn_app().await;
    app.create_petition("p-spelled", &[100]).await;
    // The first visitor writes the slug with an escaped letter: answered, not kept.
    let odd = app.text("/petitions/%70-spelled").await;
    assert!(odd.contains("next=%2Fpetitions%2F%2570-spelled"), "{odd}");
    let page = app.text("/petitions/p-spelled").await;
    assert!(page.contains("next=%2Fpetitions%2Fp-spelled"), "{page}");
    assert!(!page.contains("%2570"), "{page}");
}

#[tokio::test]
async fn the_home_page_is_kept_for_everyone_and_changes_at_once_after_a_confirmation_here() {
    let app = spawn_app_with_refresh("600000").await;
    app.create_petition("p-home", &[100]).await;
    let res = get(&app, "/", &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    // The same page again: a browser holding it is told so.
    let again = get(
        &app,
        "/",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(again.status().as_u16(), 304);
    let page = app.text("/").await;
    assert!(page.contains("0 of 100 signatures"), "{page}");
    // A confirmation here shows at once, though the interval is ten minutes.
    sign_and_confirm(&app, &[&app], "p-home", "one@example.org").await;
    let page = app.text("/").await;
    assert!(page.contains("1 of 100 signatures"), "{page}");
    let changed = get(
        &app,
        "/",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(changed.status().as_u16(), 200);
    // A link's tag rides in the language switcher of its own page, never in everyone's.
    let tagged = app.text("/?src=flyer").await;
    assert!(tagged.contains("src%3Dflyer"), "{tagged}");
    assert!(!app.text("/").await.contains("flyer"));
}

#[tokio::test]
async fn a_petition_created_elsewhere_shows_on_the_home_page_within_the_interval() {
    let app = spawn_app_with_refresh("300").await;
    assert!(!app.text("/").await.contains("p-later"));
    app.create_petition("p-later", &[100]).await;
    until(
        &app,
        "/",
        Duration::from_secs(10),
        "the home page showing the new petition",
        |p| p.contains("/petitions/p-later"),
    )
    .await;
}

/// A change made here while a petition's first read is under way (a confirmation committed
/// as the read takes its snapshot) is not lost until the interval ends: the next request
/// reads the petition again.
#[tokio::test]
async fn a_change_during_a_petitions_first_read_is_read_at_the_next_request() {
    let app = spawn_app_with_refresh("600000").await;
    app.create_petition("p-first", &[100]).await;
    let reads = || app.state.metrics.state_reads.get();
    let before = reads();
    // Every connection held, so the first read waits for one once it has begun.
    let pool = app.pool.clone();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (held_tx, held) = tokio::sync::oneshot::channel();
    let holder = tokio::task::spawn_blocking(move || {
        let conns: Vec<_> = (0..pool.max_size()).map(|_| pool.get().unwrap()).collect();
        held_tx.send(()).unwrap();
        let _ = released.recv_timeout(Duration::from_secs(30));
        drop(conns);
    });
    held.await.unwrap();
    let url = format!("{}/petitions/p-first", app.address);
    let first = tokio::spawn(async move { spawn_client().get(url).send().await.unwrap() });
    eventually(
        Duration::from_secs(10),
        "the first read beginning",
        async || reads() != before,
    )
    .await;
    app.state.live.changed("p-first");
    release.send(()).unwrap();
    holder.await.unwrap();
    assert_eq!(first.await.unwrap().status().as_u16(), 200);
    let after_first = reads();

    assert_eq!(get(&app, "/petitions/p-first", &[]).await.status(), 200);
    assert_eq!(reads(), after_first + 1, "read again for the change");
    assert_eq!(get(&app, "/petitions/p-first", &[]).await.status(), 200);
    assert_eq!(reads(), after_first + 1, "then served from memory");
}

/// Whatever an organizer or a signer changes shows at once on this instance's public page and
/// JSON, however long they are otherwise kept: each use case names the petition it changed and
/// one place acts on it. (With a ten-minute interval, only that makes the change visible.)
#[tokio::test]
async fn every_change_to_a_petition_shows_at_once_on_its_page_and_json() {
    use crate::organizers::{add_organizer, csrf, login};
    let app = spawn_app_with_refresh("600000").await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    app.create_owned_petition("p-now", &[100], "ana@example.org")
        .await;
    app.sign("p-now", &[("email", "lusine@example.org")]).await;
    let raw = app.wait_for_emails(1).await;
    app.post_form(&app.confirmation_path(&raw[0]), &[]).await;
    login(&app, "ana@example.org", "correct horse battery").await;
    let token = csrf(&app.text("/dashboard/petitions/p-now").await);
    let base = "/dashboard/petitions/p-now";
    let page = || app.text("/petitions/p-now");

    // Kept now, as every visitor gets it.
    assert_eq!(app.json("p-now").await["signature_count"], 1);
    assert!(page().await.contains("Petition p-now"));

    let paper = app
        .post_form(
            &format!("{base}/paper"),
            &[
                ("csrf_token", &token),
                ("count", "25"),
                ("collected_on", "2026-01-10"),
            ],
        )
        .await;
    assert_eq!(paper.status().as_u16(), 303);
    assert_eq!(
        app.json("p-now").await["paper_signature_count"],
        25,
        "paper"
    );

    let edited = app
        .post_form(
            &format!("{base}/edit"),
            &[
                ("csrf_token", &token),
                ("title", "A title changed now"),
                ("goals", "100"),
                ("targets", "OSCE"),
                ("body", "Text."),
            ],
        )
        .await;
    assert_eq!(edited.status().as_u16(), 303);
    assert_eq!(
        app.json("p-now").await["title"],
        "A title changed now",
        "edit"
    );
    assert!(
        page().await.contains("A title changed now"),
        "edit, the page"
    );

    let translated = app
        .post_form(
            &format!("{base}/translations/fr"),
            &[
                ("csrf_token", &token),
                ("title", "Un titre"),
                ("summary", ""),
                ("body", "Texte."),
                ("targets", ""),
            ],
        )
        .await;
    assert_eq!(translated.status().as_u16(), 303);
    assert_eq!(
        app.json("p-now").await["translations"]["fr"]["title"],
        "Un titre",
        "translation"
    );

    // The signer takes their signature back through the receipt's link.
    let receipt = app.wait_for_all_emails(2).await;
    let receipt = receipt
        .iter()
        .find(|e| e.contains("/withdraw/"))
        .expect("a receipt");
    let (text, _) = crate::helpers::bodies(receipt);
    let at = text.find("/withdraw/").expect("the withdraw link");
    let link = text[at..].split_whitespace().next().expect("a link");
    assert_eq!(app.post_form(link, &[]).await.status().as_u16(), 200);
    assert_eq!(app.json("p-now").await["signature_count"], 0, "withdrawal");

    let closed = app
        .post_form(
            &format!("{base}/status"),
            &[("csrf_token", &token), ("status", "closed")],
        )
        .await;
    assert_eq!(closed.status().as_u16(), 303);
    assert_eq!(app.json("p-now").await["status"], "closed", "close");
}
