//! Organizer accounts: sign-in and sign-out, CSRF, throttling, first-run setup, dashboard.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::helpers::{TestApp, spawn_app};

pub fn csrf(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

pub fn add_organizer(app: &TestApp, email: &str, password: &str, admin: bool) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_undersigned"));
    cmd.args([
        "organizer",
        "add",
        "--email",
        email,
        "--name",
        "Ani Organizer",
        "--password-stdin",
    ])
    .env_clear()
    .env("PATH", std::env::var("PATH").unwrap_or_default())
    .env("UNDERSIGNED_DATA_DIR", app.dir.path())
    .env("UNDERSIGNED_DATABASE_URL", &app.db.url)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if admin {
        cmd.arg("--admin");
    }
    let mut child = cmd.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let form = app.get("/login").await.text().await.unwrap();
    let token = csrf(&form);
    app.post_form(
        "/login",
        &[
            ("email", email),
            ("password", password),
            ("csrf_token", &token),
        ],
    )
    .await
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("undersigned_session="))
}

#[tokio::test]
async fn an_organizer_signs_in_sees_only_their_petitions_and_signs_out() {
    let app = spawn_app().await;
    add_organizer(&app, "Ana@Example.org", "correct horse battery", false);
    let mine = app.create_petition("p-mine", &[10]).await;
    app.create_petition("p-other", &[10]).await;
    undersigned::db::run(&app.pool, move |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::petitions::dsl::*;
        Ok(diesel::update(petitions.find(mine))
            .set(owner_email.eq("ana@example.org"))
            .execute(c)?)
    })
    .await
    .unwrap();

    let wrong = login(&app, "ana@example.org", "wrong password!").await;
    assert_eq!(wrong.status().as_u16(), 401);
    let wrong = wrong.text().await.unwrap();
    let unknown = login(&app, "nobody@example.org", "wrong password!").await;
    assert_eq!(unknown.status().as_u16(), 401);
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("Email or password is incorrect."));
    // The two answers differ only in the address echoed back into the form.
    assert_eq!(
        csrf_free(&wrong).replace("ana@example.org", "X"),
        csrf_free(&unknown).replace("nobody@example.org", "X")
    );

    let before = app.get("/login").await;
    let before_cookie = session_cookie(&before);
    let ok = login(&app, "ANA@example.org ", "correct horse battery").await;
    assert_eq!(ok.status().as_u16(), 303);
    assert_eq!(ok.headers()["location"], "/dashboard");
    let cookie = session_cookie(&ok).expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_ne!(
        Some(cookie),
        before_cookie,
        "the session is renewed at sign-in"
    );

    let dash = app.get("/dashboard").await;
    assert_eq!(dash.status().as_u16(), 200);
    let dash = dash.text().await.unwrap();
    assert!(dash.contains("Signed in as Ani Organizer"));
    assert!(dash.contains("Petition p-mine"));
    assert!(
        !dash.contains("Petition p-other"),
        "another organizer's petition is not listed"
    );

    let no_token = app.post_form("/logout", &[]).await;
    assert_eq!(no_token.status().as_u16(), 403);
    assert_eq!(
        app.get("/dashboard").await.status().as_u16(),
        200,
        "still signed in"
    );
    let out = app
        .post_form("/logout", &[("csrf_token", &csrf(&dash))])
        .await;
    assert_eq!(out.status().as_u16(), 303);
    let after = app.get("/dashboard").await;
    assert_eq!(after.status().as_u16(), 303);
    assert_eq!(after.headers()["location"], "/login");
}

fn csrf_free(html: &str) -> String {
    html.replace(&csrf(html), "")
}

#[tokio::test]
async fn an_admin_sees_every_petition() {
    let app = spawn_app().await;
    add_organizer(&app, "admin@example.org", "a long admin passphrase", true);
    app.create_petition("p-one", &[10]).await;
    app.create_petition("p-two", &[10]).await;
    assert_eq!(
        login(&app, "admin@example.org", "a long admin passphrase")
            .await
            .status()
            .as_u16(),
        303
    );
    let dash = app.get("/dashboard").await.text().await.unwrap();
    assert!(dash.contains("Petition p-one") && dash.contains("Petition p-two"));
}

#[tokio::test]
async fn sign_in_without_the_forms_csrf_token_is_refused() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    let res = app
        .post_form(
            "/login",
            &[
                ("email", "ana@example.org"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 403);
    assert!(res.text().await.unwrap().contains("This form has expired"));
    let forged = app
        .post_form(
            "/login",
            &[
                ("email", "ana@example.org"),
                ("password", "correct horse battery"),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(app.get("/dashboard").await.status().as_u16(), 303);
}

#[tokio::test]
async fn repeated_wrong_passwords_for_one_account_are_throttled() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    for _ in 0..5 {
        assert_eq!(
            login(&app, "ana@example.org", "guess guess guess")
                .await
                .status()
                .as_u16(),
            401
        );
    }
    let throttled = login(&app, "ana@example.org", "correct horse battery").await;
    assert_eq!(throttled.status().as_u16(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn the_dashboard_needs_a_signed_in_organizer() {
    let app = spawn_app().await;
    app.create_petition("p-guarded", &[100]).await;
    // Every organizer page, and any address under /dashboard: sent to sign in, nothing done.
    for path in [
        "/dashboard",
        "/dashboard/audit",
        "/dashboard/organizers",
        "/dashboard/organizers/1/sessions",
        "/dashboard/petitions/new",
        "/dashboard/petitions/p-guarded",
        "/dashboard/petitions/p-guarded/edit",
        "/dashboard/petitions/p-guarded/signers",
        "/dashboard/petitions/p-guarded/delivery",
        "/dashboard/petitions/p-guarded/export.csv",
        "/dashboard/petitions/p-guarded/exports/1",
        "/dashboard/petitions/p-guarded/translations/fr",
        "/dashboard/not-a-page-yet",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/login", "{path}");
        // The refusal goes through the site's rules like any answer: never kept, not framed,
        // under the site's CSP.
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(res.headers()["x-frame-options"], "DENY", "{path}");
        assert!(
            res.headers().contains_key("content-security-policy"),
            "{path}"
        );
    }
    for path in [
        "/dashboard/petitions",
        "/dashboard/organizers",
        "/dashboard/logo",
        "/dashboard/petitions/p-guarded/status",
        "/dashboard/petitions/p-guarded/paper",
        "/dashboard/petitions/p-guarded/exports",
        "/dashboard/petitions/p-guarded/package",
        "/dashboard/petitions/p-guarded/updates",
    ] {
        let res = app
            .post_form(path, &[("csrf_token", "x"), ("status", "closed")])
            .await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/login", "{path}");
    }
    assert_eq!(app.json("p-guarded").await["status"], "open");
}

/// Starts `undersigned serve` and reads the first-run setup link it prints.
fn serve_with_setup_link(
    db: &crate::helpers::TestDatabase,
    dir: &std::path::Path,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStdout>,
    String,
) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNDERSIGNED_DATA_DIR", dir)
        .env("UNDERSIGNED_BIND", "127.0.0.1:0")
        .env("UNDERSIGNED_DATABASE_URL", &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut link = None;
    for _ in 0..5 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if let Some(rest) = line.strip_prefix("first run: create the administrator account at ") {
            link = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    let link = link.expect("serve prints a setup link while no admin exists");
    (server, stdout, link)
}

#[tokio::test]
async fn only_the_newest_setup_link_works() {
    let db = crate::helpers::TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let (mut first, out, old) = serve_with_setup_link(&db, dir.path());
    first.kill().unwrap();
    first.wait().unwrap();
    drop(out);
    let (mut second, out, new) = serve_with_setup_link(&db, dir.path());
    assert_ne!(old, new);
    let base = new.split("/setup/").next().unwrap();
    let old_path = old.split_once("/setup/").unwrap().1;
    let stale = reqwest::get(format!("{base}/setup/{old_path}"))
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 410, "the earlier link is spent");
    assert_eq!(reqwest::get(&new).await.unwrap().status().as_u16(), 200);
    second.kill().unwrap();
    second.wait().unwrap();
    drop(out);
}

#[tokio::test]
async fn the_first_run_setup_link_creates_the_admin_once() {
    let db = crate::helpers::TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, stdout, link) = serve_with_setup_link(&db, dir.path());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = client
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf(&form);
    let short = client
        .post(&link)
        .form(&[
            ("name", "Ani"),
            ("email", "ani@example.org"),
            ("password", "short"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status().as_u16(), 422);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("at least 12 characters")
    );
    // Long enough, but among the first a cracker tries.
    let common = client
        .post(&link)
        .form(&[
            ("name", "Ani"),
            ("email", "ani@example.org"),
            ("password", "password1234"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(common.status().as_u16(), 422);
    assert!(
        common
            .text()
            .await
            .unwrap()
            .contains("among those crackers try first")
    );
    let created = client
        .post(&link)
        .form(&[
            ("name", "Ani"),
            ("email", "ani@example.org"),
            ("password", "a long admin passphrase"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 303);
    let base = link.split("/setup/").next().unwrap();
    let dash = client
        .get(format!("{base}/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(dash.status().as_u16(), 200);
    assert!(dash.text().await.unwrap().contains("Signed in as Ani"));
    // The account's making is on the record, in the commit that made it.
    let audit = client
        .get(format!("{base}/dashboard/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains("setup-first-admin"), "{audit}");

    let again = reqwest::get(&link).await.unwrap();
    assert_eq!(again.status().as_u16(), 410, "the link works once");
    server.kill().unwrap();
    server.wait().unwrap();
    drop(stdout);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_an_emailed_link_that_works_once() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    let form = app.get("/login/reset").await.text().await.unwrap();
    let token = csrf(&form);

    let unknown = app
        .post_form(
            "/login/reset",
            &[("csrf_token", &token), ("email", "nobody@example.org")],
        )
        .await;
    assert_eq!(unknown.status().as_u16(), 200);
    let unknown = unknown.text().await.unwrap();
    let known = app
        .post_form(
            "/login/reset",
            &[("csrf_token", &token), ("email", "Ana@Example.org")],
        )
        .await;
    assert_eq!(known.status().as_u16(), 200);
    assert_eq!(known.text().await.unwrap(), unknown, "no enumeration");

    let emails = app.wait_for_emails(1).await;
    assert_eq!(emails.len(), 1, "only the real account gets an email");
    assert!(emails[0].contains("To: ana@example.org"));
    assert!(crate::helpers::subject(&emails[0]).contains("Reset your undersigned password"));
    let (text, _) = crate::helpers::bodies(&emails[0]);
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/login/reset/"))
        .unwrap();
    let path = url::Url::parse(link).unwrap().path().to_string();

    let page = app.get(&path).await;
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let token = csrf(&page.text().await.unwrap());
    // A forged post (no CSRF token) is refused before the link is even looked at, and
    // spends nothing: the link still works.
    let forged = app
        .post_form(&path, &[("password", "a forged new passphrase")])
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    let short = app
        .post_form(&path, &[("csrf_token", &token), ("password", "short")])
        .await;
    assert_eq!(short.status().as_u16(), 422);
    let done = app
        .post_form(
            &path,
            &[
                ("csrf_token", &token),
                ("password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(done.status().as_u16(), 303);
    assert_eq!(done.headers()["location"], "/dashboard");

    let dash = app.get("/dashboard").await.text().await.unwrap();
    app.post_form("/logout", &[("csrf_token", &csrf(&dash))])
        .await;
    assert_eq!(
        login(&app, "ana@example.org", "correct horse battery")
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        login(&app, "ana@example.org", "a brand new passphrase")
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(
        app.get(&path).await.status().as_u16(),
        410,
        "the link works once"
    );
    // A forged post to a spent link is refused as forged, not answered "gone": the order of
    // the checks tells a forger nothing about the link.
    let forged = app
        .post_form(&path, &[("password", "a forged new passphrase")])
        .await;
    assert_eq!(forged.status().as_u16(), 403);
}

#[tokio::test]
async fn an_admin_invites_an_organizer_who_chooses_a_password_and_gets_a_petition() {
    let app = spawn_app().await;
    add_organizer(&app, "admin@example.org", "a long admin passphrase", true);
    add_organizer(&app, "plain@example.org", "correct horse battery", false);
    app.create_owned_petition("p-team", &[10], "plain@example.org")
        .await;

    login(&app, "plain@example.org", "correct horse battery").await;
    assert_eq!(
        app.get("/dashboard/organizers").await.status().as_u16(),
        404,
        "admins only"
    );
    let token = csrf(&app.get("/dashboard").await.text().await.unwrap());
    let unknown = app
        .post_form(
            "/dashboard/petitions/p-team/organizers",
            &[("csrf_token", &token), ("email", "colleague@example.org")],
        )
        .await;
    assert_eq!(unknown.status().as_u16(), 400);
    app.post_form("/logout", &[("csrf_token", &token)]).await;

    login(&app, "admin@example.org", "a long admin passphrase").await;
    let page = app.get("/dashboard/organizers").await.text().await.unwrap();
    assert!(page.contains("plain@example.org"));
    let token = csrf(&page);
    let invited = app
        .post_form(
            "/dashboard/organizers",
            &[
                ("csrf_token", &token),
                ("name", "Lusine"),
                ("email", "colleague@example.org"),
            ],
        )
        .await;
    assert_eq!(invited.status().as_u16(), 303);
    let again = app
        .post_form(
            "/dashboard/organizers",
            &[
                ("csrf_token", &token),
                ("name", "Lusine"),
                ("email", "Colleague@example.org"),
            ],
        )
        .await;
    assert_eq!(again.status().as_u16(), 400);
    app.post_form("/logout", &[("csrf_token", &token)]).await;

    let email = app.wait_for_emails(1).await.pop().unwrap();
    assert!(email.contains("To: colleague@example.org"));
    assert!(crate::helpers::subject(&email).contains("invited"));
    let (text, _) = crate::helpers::bodies(&email);
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/login/reset/"))
        .unwrap();
    let path = url::Url::parse(link).unwrap().path().to_string();
    let token = csrf(&app.get(&path).await.text().await.unwrap());
    let set = app
        .post_form(
            &path,
            &[("csrf_token", &token), ("password", "my own passphrase")],
        )
        .await;
    assert_eq!(set.status().as_u16(), 303);
    let dash = app.get("/dashboard").await.text().await.unwrap();
    assert!(dash.contains("Signed in as Lusine"));
    assert!(!dash.contains("p-team"));
    app.post_form("/logout", &[("csrf_token", &csrf(&dash))])
        .await;

    login(&app, "plain@example.org", "correct horse battery").await;
    let token = csrf(&app.get("/dashboard").await.text().await.unwrap());
    let added = app
        .post_form(
            "/dashboard/petitions/p-team/organizers",
            &[("csrf_token", &token), ("email", "colleague@example.org")],
        )
        .await;
    assert_eq!(added.status().as_u16(), 303);
    // Added again (a double click), or oneself: nothing changes, and nothing fails (on
    // PostgreSQL a refused insert would end the transaction its audit row is in).
    for again in ["colleague@example.org", "plain@example.org"] {
        let res = app
            .post_form(
                "/dashboard/petitions/p-team/organizers",
                &[("csrf_token", &token), ("email", again)],
            )
            .await;
        assert_eq!(res.status().as_u16(), 303, "{again}");
    }
    app.post_form("/logout", &[("csrf_token", &token)]).await;
    login(&app, "colleague@example.org", "my own passphrase").await;
    assert_eq!(
        app.get("/dashboard/petitions/p-team")
            .await
            .status()
            .as_u16(),
        200
    );
}

/// An invitation is one commit: when its email cannot be queued, no account is left behind
/// that would make inviting the same person again answer "already has an account".
#[tokio::test]
async fn an_invitation_that_fails_halfway_leaves_nothing_and_can_be_sent_again() {
    let app = spawn_app().await;
    add_organizer(&app, "admin@example.org", "a long admin passphrase", true);
    login(&app, "admin@example.org", "a long admin passphrase").await;
    let token = csrf(&app.get("/dashboard/organizers").await.text().await.unwrap());
    let fields = [
        ("csrf_token", token.as_str()),
        ("name", "Lusine"),
        ("email", "colleague@example.org"),
    ];
    let invite = || app.post_form("/dashboard/organizers", &fields);
    app.refuse_inserts("password_resets").await;
    let failed = invite().await;
    assert!(failed.status().is_server_error(), "{}", failed.status());
    app.allow_inserts("password_resets").await;

    let page = app.get("/dashboard/organizers").await.text().await.unwrap();
    assert!(
        !page.contains("colleague@example.org"),
        "no half-made account"
    );
    let again = invite().await;
    assert_eq!(
        again.status().as_u16(),
        303,
        "the invitation can be sent again"
    );
    let email = app.wait_for_emails(1).await.pop().unwrap();
    assert!(email.contains("To: colleague@example.org"));
}

/// A sign-in and its audit row are one commit: when the audit row cannot be written the
/// organizer is told of an error and is not signed in either.
#[tokio::test]
async fn a_sign_in_whose_audit_row_fails_leaves_no_session() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    app.refuse_inserts("audit_log").await;
    let failed = login(&app, "ana@example.org", "correct horse battery").await;
    assert!(failed.status().is_server_error(), "{}", failed.status());
    assert_eq!(
        app.get("/dashboard").await.status().as_u16(),
        303,
        "not signed in: the dashboard sends to the sign-in page"
    );
    let sessions = undersigned::db::run(&app.pool, |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::organizer_sessions as s;
        Ok(s::table.count().get_result::<i64>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(sessions, 0, "no session outlives the failed sign-in");
    app.allow_inserts("audit_log").await;

    let res = login(&app, "ana@example.org", "correct horse battery").await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.get("/dashboard").await.status().as_u16(), 200);
}

/// An account and its petitions that an older version stored with a Unicode domain are
/// spelled once in ASCII at the upgrade: the organizer signs in with either spelling and
/// still sees their own petition.
#[tokio::test]
async fn an_organizer_of_a_unicode_domain_still_signs_in_and_owns_their_petition_after_the_upgrade()
{
    use diesel::prelude::*;
    use undersigned::db::schema::{organizers as o, petitions as p, site_state as st};
    let app = spawn_app().await;
    let password = "a long enough password";
    add_organizer(&app, "ani@пример.рф", password, false);
    let id = app
        .create_owned_petition("p-idn", &[100], "ani@xn--e1afmkfd.xn--p1ai")
        .await;
    undersigned::db::run(&app.pool, move |c| {
        diesel::update(o::table)
            .set(o::email.eq("ani@пример.рф"))
            .execute(c)?;
        diesel::update(p::table.find(id))
            .set(p::owner_email.eq("ani@пример.рф"))
            .execute(c)?;
        diesel::delete(st::table.filter(st::name.eq("organizer_emails_respelled"))).execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    for spelling in ["ani@пример.рф", "ANI@xn--e1afmkfd.xn--p1ai"] {
        let after =
            crate::helpers::spawn_app_on(app.db.clone(), crate::helpers::Mail::Memory, &[]).await;
        let signed_in = login(&after, spelling, password).await;
        assert_eq!(signed_in.status().as_u16(), 303, "{spelling} signs in");
        let page = after.text("/dashboard").await;
        assert!(page.contains("Petition p-idn"), "{spelling}: {page}");
    }
}
