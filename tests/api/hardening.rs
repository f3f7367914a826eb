//! Hardening: nothing personal cached, private files.

use crate::helpers::spawn_app;
use crate::organizers::{add_organizer, login};

#[tokio::test]
async fn pages_with_personal_data_or_credentials_are_never_cached() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", true);
    app.create_owned_petition("p-private", &[100], "ana@example.org")
        .await;
    app.sign("p-private", &[]).await;
    let confirm = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    let login_page = app.get("/login").await;
    assert_eq!(login_page.headers()["cache-control"], "no-store");
    login(&app, "ana@example.org", "correct horse battery").await;
    for path in [
        "/dashboard".to_string(),
        "/dashboard/petitions/p-private".to_string(),
        "/dashboard/petitions/p-private/signers".to_string(),
        "/dashboard/petitions/p-private/edit".to_string(),
        "/dashboard/petitions/p-private/export.csv".to_string(),
        "/dashboard/petitions/p-private/delivery".to_string(),
        "/dashboard/audit".to_string(),
        "/dashboard/organizers".to_string(),
        "/dashboard/petitions/nope".to_string(),
        // Percent-encoded paths reach the same routes: the rule follows the route.
        "/%64ashboard/petitions/p-private/signers".to_string(),
        "/login/reset".to_string(),
        "/login/reset/not-a-token".to_string(),
        "/setup/not-a-token".to_string(),
        "/unsubscribe/1/0000".to_string(),
        confirm.clone(),
        confirm.replacen("/confirm/", "/%63onfirm/", 1),
        "/confirm/not-a-token".to_string(),
    ] {
        let res = app.get(&path).await;
        assert_eq!(
            res.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path} ({})",
            res.status()
        );
    }
    let posted = app.post_form(&confirm, &[]).await;
    assert_eq!(posted.headers()["cache-control"], "no-store");
    // The public page holds nothing personal beyond what signers chose to show.
    let public = app.get("/petitions/p-private").await;
    let cache = public.headers()["cache-control"].to_str().unwrap();
    assert!(cache.starts_with("public, max-age="), "{cache}");
    assert!(public.headers().get("set-cookie").is_none());
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_its_wal_and_written_emails_are_readable_by_the_operator_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = crate::helpers::spawn_app_with(crate::helpers::Mail::Files, &[]).await;
    app.create_petition("p-files", &[100]).await;
    app.sign("p-files", &[]).await;
    app.wait_until_sent().await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = app.dir.path();
    let outbox = data.join("outbox");
    assert_eq!(mode(&outbox), 0o700);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one .eml");
    files.push(data.join("secret_key"));
    if app.db.url.starts_with("sqlite") {
        for name in ["test.db", "test.db-wal", "test.db-shm"] {
            let dir = app
                .db
                .url
                .trim_start_matches("sqlite://")
                .trim_end_matches("/test.db");
            files.push(std::path::Path::new(dir).join(name));
        }
    }
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

/// Signs `slug` with a fresh address, sending `headers` as a client behind a proxy would; the
/// status code.
async fn sign_with_headers(
    app: &crate::helpers::TestApp,
    slug: &str,
    email: &str,
    headers: &[(&str, String)],
) -> u16 {
    let mut req = app
        .client
        .post(format!("{}/petitions/{slug}/sign", app.address));
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    req.form(&crate::helpers::sign_fields(email))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_the_trusted_proxy_a_client_cannot_pick_its_own_address() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Mail::Memory,
        &[
            ("trust_proxy_headers", "true"),
            ("sign_rate_per_minute", "3"),
        ],
    )
    .await;
    app.create_petition("p-proxy", &[100]).await;
    let mut statuses = vec![];
    for i in 0..6 {
        let headers = [
            // What the client forges…
            ("Forwarded", format!("for=203.0.113.{i}")),
            ("X-Real-IP", format!("203.0.113.{i}")),
            // …and what the proxy appends after whatever the client sent.
            ("X-Forwarded-For", format!("198.51.100.{i}, 192.0.2.1")),
        ];
        statuses
            .push(sign_with_headers(&app, "p-proxy", &format!("p{i}@example.org"), &headers).await);
    }
    assert_eq!(statuses, [303, 303, 303, 429, 429, 429]);
    // Another real client (another address appended by the proxy) is not affected.
    let other = [("X-Forwarded-For", "192.0.2.2".to_string())];
    assert_eq!(
        sign_with_headers(&app, "p-proxy", "other@example.org", &other).await,
        303
    );
}

#[tokio::test]
async fn the_confirmation_email_carries_none_of_the_words_typed_into_the_form() {
    let app = spawn_app().await;
    app.create_petition("p-phish", &[100]).await;
    let bait = "Your account is suspended, re-verify at https://evil.example";
    app.sign(
        "p-phish",
        &[
            ("name", bait),
            ("email", "victim@example.org"),
            ("comment", "Call +1 555 0100 now"),
        ],
    )
    .await;
    let raw = app.wait_for_emails(1).await.pop().unwrap();
    let (text, html) = crate::helpers::bodies(&raw);
    for part in [&raw, &text, &html] {
        assert!(!part.contains("evil.example") && !part.contains("suspended"));
        assert!(!part.contains("555 0100"));
    }
    assert!(text.contains("/confirm/"), "still the link: {text}");
}

#[tokio::test]
async fn update_emails_carry_no_remote_images_and_a_one_click_unsubscribe() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    app.create_owned_petition("p-pixel", &[100], "ana@example.org")
        .await;
    app.sign(
        "p-pixel",
        &[("email", "reader@example.org"), ("updates", "yes")],
    )
    .await;
    let raw = app.wait_for_emails(1).await.pop().unwrap();
    app.post_form(&app.confirmation_path(&raw), &[]).await;
    login(&app, "ana@example.org", "correct horse battery").await;
    let page = app
        .get("/dashboard/petitions/p-pixel")
        .await
        .text()
        .await
        .unwrap();
    let res = app
        .post_form(
            "/dashboard/petitions/p-pixel/updates",
            &[
                ("csrf_token", crate::organizers::csrf(&page).as_str()),
                ("title", "Delivered"),
                (
                    "body",
                    "We delivered it. ![](https://tracker.example/open.gif?who=1)",
                ),
                ("email", "1"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    app.wait_until_sent().await;
    let update = app
        .emails()
        .into_iter()
        .find(|e| e.contains("Delivered"))
        .expect("the update email");
    let (_, html) = crate::helpers::bodies(&update);
    assert!(html.contains("We delivered it."));
    // Nothing in the HTML part loads from elsewhere (the plain text part is the Markdown as
    // written: text, which no mail program fetches).
    assert!(
        !html.contains("tracker.example") && !html.contains("<img"),
        "{html}"
    );
    let header = update
        .lines()
        .find(|l| l.starts_with("List-Unsubscribe: <"))
        .expect("a List-Unsubscribe header");
    assert!(update.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    // The mail program's one-click POST works.
    let url = header
        .trim_start_matches("List-Unsubscribe: <")
        .trim_end_matches('>');
    let path = url::Url::parse(url).unwrap().path().to_string();
    let res = app
        .post_form(&path, &[("List-Unsubscribe", "One-Click")])
        .await;
    assert_eq!(res.status().as_u16(), 200);
    // The public page still shows the image: only emails drop it.
    let public = app.get("/petitions/p-pixel").await.text().await.unwrap();
    assert!(public.contains("tracker.example"));
}

/// Resident memory of a process, now and at its peak, in KiB (Linux).
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// 200 sign-ins at once from 200 addresses against a server in its own process: password
/// hashing (19 MiB each) runs at most `password_hash_concurrency` at a time, the rest wait or
/// are told to come back, the server's peak memory stays bounded and the health check keeps
/// answering. bench/login_storm.sh measures a release build.
#[tokio::test]
async fn a_storm_of_sign_ins_is_hashed_a_few_at_a_time_and_the_site_keeps_answering() {
    use std::io::BufRead;
    let db = crate::helpers::TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNDERSIGNED_DATA_DIR", dir.path())
        .env("UNDERSIGNED_BIND", "127.0.0.1:0")
        .env("UNDERSIGNED_DATABASE_URL", &db.url)
        .env("UNDERSIGNED_TRUST_PROXY_HEADERS", "true")
        .env("UNDERSIGNED_PASSWORD_HASH_CONCURRENCY", "2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .strip_prefix("undersigned is listening on ")
        .expect("serve says where it listens")
        .trim()
        .trim_end_matches('/')
        .to_string();
    let client = crate::helpers::spawn_client();
    let form = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = crate::organizers::csrf(&form);
    let (_, peak_before) = rss_kib(server.id()).expect("/proc");
    let storm = (0..200).map(|i| {
        let (client, base, token) = (&client, &base, token.clone());
        async move {
            let email = format!("stranger{i}@example.org");
            let res = client
                .post(format!("{base}/login"))
                .header("X-Forwarded-For", format!("198.51.100.{}", i % 250))
                .form(&[
                    ("email", email.as_str()),
                    ("password", "not the password at all"),
                    ("csrf_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let retry = res.headers().contains_key("retry-after");
            (res.status().as_u16(), retry)
        }
    });
    let health = async {
        let mut answered = 0;
        for _ in 0..10 {
            let res = client.get(format!("{base}/healthz")).send().await.unwrap();
            if res.status().as_u16() == 200 {
                answered += 1;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        answered
    };
    let (results, answered) = futures_util::join!(futures_util::future::join_all(storm), health);
    let (_, peak_after) = rss_kib(server.id()).expect("/proc");
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(answered, 10, "the health check answered throughout");
    for (status, retry) in &results {
        assert!(
            *status == 401 || (*status == 503 && *retry),
            "{status} (a 503 must say when to retry)"
        );
    }
    let grown_mib = peak_after.saturating_sub(peak_before) / 1024;
    println!("the server's peak memory grew by {grown_mib} MiB during 200 sign-ins");
    // Two hashes at once need about 40 MiB; unbounded, 200 would need about 3,800 MiB.
    assert!(grown_mib < 200, "grew by {grown_mib} MiB");
}

/// Sends a 200 MiB multipart upload over a raw connection and returns the response's status
/// line and how much of the body had been written when the answer came.
async fn huge_upload(
    app: &crate::helpers::TestApp,
    cookie: Option<&str>,
    chunked: bool,
) -> (String, usize) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SIZE: usize = 200 << 20;
    let addr = app.address.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST /dashboard/petitions/p-img/image HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: {SIZE}\r\n{}\r\n",
        cookie
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default()
    );
    write.write_all(head.as_bytes()).await.unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        let mut chunk = vec![];
        if chunked {
            chunk.extend_from_slice(b"10000\r\n");
        }
        chunk.extend_from_slice(&[b'a'; 64 * 1024]);
        if chunked {
            chunk.extend_from_slice(b"\r\n");
        }
        while counter.load(Ordering::SeqCst) < SIZE {
            if write.write_all(&chunk).await.is_err() {
                break;
            }
            counter.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), read.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let at = sent.load(Ordering::SeqCst);
    writer.abort();
    let status = String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    (status, at)
}

#[tokio::test]
async fn a_huge_upload_is_refused_before_its_body_is_read() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    app.create_owned_petition("p-img", &[100], "ana@example.org")
        .await;
    // A stranger: sent to sign in, having written no more than what socket buffers hold.
    let (status, sent) = huge_upload(&app, None, false).await;
    assert!(status.contains(" 303 "), "{status}");
    assert!(sent < 32 << 20, "{} MiB of 200 were taken in", sent >> 20);
    // The organizer: a declared size over the limit is refused at once too.
    let res = login(&app, "ana@example.org", "correct horse battery").await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("undersigned_session="))
        .expect("a session cookie");
    let (status, sent) = huge_upload(&app, Some(&cookie), false).await;
    assert!(status.contains(" 413 "), "{status}");
    assert!(sent < 32 << 20, "{} MiB of 200 were taken in", sent >> 20);
    // A wrong CSRF token in the query string is refused before the body is read: the answer
    // comes while the body has not even started.
    let addr = app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let head = format!(
            "POST /dashboard/petitions/p-img/image?csrf_token=forged HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 1000000\r\n\
             Cookie: {cookie}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("answered without waiting for the body")
            .unwrap();
        let status = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(status.starts_with("HTTP/1.1 403"), "{status}");
    }
    // Without a declared size (chunked), it is refused before anything is read as well.
    let (status, sent) = huge_upload(&app, Some(&cookie), true).await;
    assert!(
        status.contains(" 400 ") || status.contains(" 413 "),
        "{status}"
    );
    assert!(sent < 32 << 20, "{} MiB of 200 were taken in", sent >> 20);
}

async fn login_from(app: &crate::helpers::TestApp, ip: &str, password: &str) -> u16 {
    let form = app.get("/login").await.text().await.unwrap();
    app.client
        .post(format!("{}/login", app.address))
        .header("X-Forwarded-For", ip)
        .form(&[
            ("email", "ana@example.org"),
            ("password", password),
            ("csrf_token", crate::organizers::csrf(&form).as_str()),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn wrong_passwords_from_one_network_do_not_lock_out_the_owner_on_another() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Mail::Memory,
        &[("trust_proxy_headers", "true")],
    )
    .await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    let mut attacker = vec![];
    for _ in 0..7 {
        attacker.push(login_from(&app, "203.0.113.9", "guess guess guess").await);
    }
    assert_eq!(attacker[..5], [401; 5]);
    assert_eq!(
        attacker[5..],
        [429, 429],
        "the guessing network is throttled"
    );
    assert_eq!(
        login_from(&app, "198.51.100.20", "correct horse battery").await,
        303,
        "the owner signs in from home"
    );
}

#[tokio::test]
async fn an_operator_can_name_the_header_their_proxy_sets() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Mail::Memory,
        &[
            ("trust_proxy_headers", "true"),
            ("client_ip_header", "Forwarded"),
            ("sign_rate_per_minute", "2"),
        ],
    )
    .await;
    app.create_petition("p-fwd", &[100]).await;
    let mut statuses = vec![];
    for i in 0..4 {
        let headers = [
            // The client's own X-Forwarded-For is ignored; the proxy's Forwarded counts.
            ("X-Forwarded-For", format!("203.0.113.{i}")),
            (
                "Forwarded",
                format!("for=203.0.113.{i}, for=\"192.0.2.7:4711\""),
            ),
        ];
        statuses
            .push(sign_with_headers(&app, "p-fwd", &format!("f{i}@example.org"), &headers).await);
    }
    assert_eq!(statuses, [303, 303, 429, 429]);
}

#[tokio::test]
async fn confirmation_emails_are_capped_per_recipient_domain_and_in_all() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Mail::Memory,
        &[("confirmation_emails_per_domain_per_hour", "2")],
    )
    .await;
    let petition = app.create_petition("p-caps", &[100]).await;
    for email in ["a@corp.example", "b@CORP.example"] {
        assert_eq!(
            app.sign("p-caps", &[("email", email)])
                .await
                .status()
                .as_u16(),
            303
        );
    }
    let capped = app.sign("p-caps", &[("email", "c@corp.example")]).await;
    assert_eq!(capped.status().as_u16(), 429);
    let wait: u64 = capped.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    let page = capped.text().await.unwrap();
    assert!(
        page.contains("Too many confirmation emails are going to this email provider"),
        "{page}"
    );
    assert_eq!(
        app.sign("p-caps", &[("email", "d@other.example")])
            .await
            .status()
            .as_u16(),
        303,
        "other providers are not held up"
    );
    assert_eq!(
        app.rows(petition).await,
        (3, 0),
        "the refused submission stored nothing"
    );
    assert_eq!(app.wait_for_emails(3).await.len(), 3);

    let total = crate::helpers::spawn_app_with(
        crate::helpers::Mail::Memory,
        &[("confirmation_emails_per_hour", "1")],
    )
    .await;
    total.create_petition("p-total", &[100]).await;
    let first = total.sign("p-total", &[("email", "a@one.example")]).await;
    let second = total.sign("p-total", &[("email", "b@two.example")]).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (303, 429)
    );
    let page = second.text().await.unwrap();
    assert!(
        page.contains("Too many confirmation emails are being sent right now"),
        "the total cap says so, not 'this provider': {page}"
    );
}

#[tokio::test]
async fn every_form_refuses_an_oversized_body_without_losing_anything() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", true);
    let petition = app
        .create_owned_petition("p-big", &[100], "ana@example.org")
        .await;
    app.sign("p-big", &[]).await;
    let confirm = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    login(&app, "ana@example.org", "correct horse battery").await;
    let before = app
        .get("/dashboard/petitions/p-big/edit")
        .await
        .text()
        .await
        .unwrap();
    // 1 MiB of a well-formed field: bigger than any form needs.
    let mut big = b"csrf_token=x&title=".to_vec();
    big.extend(std::iter::repeat_n(b'a', 1 << 20));
    for path in [
        "/petitions/p-big/sign",
        "/login",
        "/logout",
        "/login/reset",
        "/login/reset/not-a-token",
        "/setup/not-a-token",
        "/dashboard/petitions",
        "/dashboard/petitions/p-big/edit",
        "/dashboard/petitions/p-big/status",
        "/dashboard/petitions/p-big/paper",
        "/dashboard/petitions/p-big/paper/1/delete",
        "/dashboard/petitions/p-big/signers",
        "/dashboard/petitions/p-big/exports",
        "/dashboard/petitions/p-big/updates",
        "/dashboard/petitions/p-big/organizers",
        "/dashboard/organizers",
        "/dashboard/organizers/1/sessions/end",
        confirm.as_str(),
    ] {
        let res = app.post_raw(path, big.clone()).await;
        assert_eq!(res.status().as_u16(), 413, "{path}");
        let page = res.text().await.unwrap();
        assert!(page.contains("<html"), "{path}: a page for people");
    }
    // The confirm form is bounded like the sign form it corrects: 40 KiB is refused, and the
    // submission waits unconfirmed.
    let mut forty = b"name=".to_vec();
    forty.extend(std::iter::repeat_n(b'a', 40 << 10));
    assert_eq!(app.post_raw(&confirm, forty).await.status().as_u16(), 413);
    assert_eq!(app.count("p-big").await, 0);
    // Routes that take no form ignore a body, whatever its size, and never fail on it.
    for path in ["/unsubscribe/1/00"] {
        let status = app.post_raw(path, big.clone()).await.status().as_u16();
        assert!(status < 500, "{path}: {status}");
    }
    assert_eq!(
        app.get("/dashboard").await.status().as_u16(),
        200,
        "still signed in"
    );
    let after = app
        .get("/dashboard/petitions/p-big/edit")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(before, after, "the petition is unchanged");
    assert_eq!(app.rows(petition).await.0, 1);
}

/// A stranger who keeps submitting someone's address cannot keep them from signing as
/// themselves: the hourly cap counts per network, so the owner's own submission from their
/// network gets its email; and any email that reaches the owner lets them correct what the
/// stranger typed before confirming.
#[tokio::test]
async fn a_stranger_cannot_silence_a_signer_or_sign_in_their_name() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Mail::Memory,
        &[("trust_proxy_headers", "true")],
    )
    .await;
    app.create_petition("p-silence", &[100]).await;
    let victim = "narine.h@example.net";
    let forged = |ip: &'static str| {
        let app = &app;
        async move {
            let mut req = app
                .client
                .post(format!("{}/petitions/p-silence/sign", app.address))
                .header("X-Forwarded-For", ip);
            req = req.form(&[
                ("name", "Narine Hakobyan"),
                ("email", victim),
                ("country", "AZ"),
                ("display", "full"),
                ("comment", "I withdraw all earlier statements"),
                ("comment_public", "yes"),
                ("consent", "yes"),
            ]);
            req.send().await.unwrap().status().as_u16()
        }
    };
    // Four from the stranger's network: three emails, then that network is capped.
    for _ in 0..4 {
        assert_eq!(forged("203.0.113.9").await, 303);
    }
    app.wait_until_sent().await;
    assert_eq!(
        app.emails().len(),
        3,
        "the stranger's network is capped at three"
    );
    // The owner, from their own network, gets an email of their own.
    let own = [("X-Forwarded-For", "198.51.100.7".to_string())];
    assert_eq!(
        sign_with_headers(&app, "p-silence", victim, &own).await,
        303
    );
    let emails = app.wait_for_emails(4).await;
    assert!(emails[3].contains(&format!("To: {victim}")));

    // A correction that is not valid is refused with the form, and nothing is confirmed.
    let own_link = app.confirmation_path(&emails[3]);
    let res = app
        .post_form(
            &own_link,
            &[("edited", "1"), ("name", ""), ("country", "FR")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("name=\"edited\""));
    // Nor without the owner's own consent, nor from a body that cannot be read.
    let res = app
        .post_form(
            &own_link,
            &[
                ("edited", "1"),
                ("name", "N. H."),
                ("country", "FR"),
                ("display", "none"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let res = app
        .post_raw(&own_link, b"edited=1&name=A&name=B&consent=yes".to_vec())
        .await;
    assert_eq!(
        res.status().as_u16(),
        400,
        "a duplicated field is refused, not ignored"
    );
    assert_eq!(app.count("p-silence").await, 0);

    // Any of the emails lets the owner correct what was typed before confirming.
    let link = app.confirmation_path(&emails[0]);
    let page = app.text(&link).await;
    assert!(
        page.contains("value=\"Narine Hakobyan\""),
        "the submission, to correct"
    );
    let res = app
        .post_form(
            &link,
            &[
                ("edited", "1"),
                ("name", "N. H."),
                ("country", "FR"),
                ("display", "full"),
                ("comment", ""),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(app.count("p-silence").await, 1);
    app.state.live.changed("p-silence");
    let public = app.text("/petitions/p-silence").await;
    assert!(public.contains("N. H."), "signed as the owner chose");
    assert!(!public.contains("Narine Hakobyan") && !public.contains("I withdraw"));
}

/// The per-network allowance has a backstop: three times the cap from all networks together.
#[tokio::test]
async fn an_address_gets_at_most_three_times_its_cap_from_all_networks_together() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Mail::Memory,
        &[("trust_proxy_headers", "true")],
    )
    .await;
    app.create_petition("p-backstop", &[100]).await;
    for network in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"] {
        for _ in 0..3 {
            let from = [("X-Forwarded-For", network.to_string())];
            assert_eq!(
                sign_with_headers(&app, "p-backstop", "many@example.org", &from).await,
                303
            );
        }
    }
    app.wait_until_sent().await;
    assert_eq!(
        app.emails().len(),
        9,
        "three networks' worth, then the backstop"
    );
}

/// A stranger's submissions that their network's allowance refuses give the backstop's place
/// back: however many they send, the owner's own network still gets its emails.
#[tokio::test]
async fn a_strangers_refused_submissions_never_use_up_the_owners_emails() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Mail::Memory,
        &[("trust_proxy_headers", "true")],
    )
    .await;
    app.create_petition("p-giveback", &[100]).await;
    let stranger = [("X-Forwarded-For", "203.0.113.9".to_string())];
    for _ in 0..12 {
        sign_with_headers(&app, "p-giveback", "owner@example.org", &stranger).await;
    }
    app.wait_until_sent().await;
    assert_eq!(app.emails().len(), 3, "the stranger's network's three");
    let owner = [("X-Forwarded-For", "198.51.100.7".to_string())];
    for _ in 0..3 {
        assert_eq!(
            sign_with_headers(&app, "p-giveback", "owner@example.org", &owner).await,
            303
        );
    }
    app.wait_until_sent().await;
    assert_eq!(app.emails().len(), 6, "and the owner's own three");
}
