//! Second factors: an organizer enrols an authenticator app on the security page, and from
//! then on every sign-in asks for its code (each code once) or a recovery code (each once).

use undersigned::factors::Authenticator;

use crate::helpers::{TestApp, spawn_app};
use crate::organizers::{add_organizer, csrf, login};

const EMAIL: &str = "ana@example.org";
const PASSWORD: &str = "correct horse battery";

/// The key the enrolment page shows to type (base 32 in groups of four).
fn key_on(page: &str) -> Authenticator {
    let start = page.find("<code>").expect("the key") + "<code>".len();
    let end = start + page[start..].find("</code>").expect("its end");
    let typed: String = page[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut bits = 0u64;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in typed.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base 32: {typed}"),
        };
        bits = (bits << 5) | u64::from(value);
        count += 5;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    Authenticator::from_secret(bytes).expect("a secret")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Signs in, enrols an app and returns it with the recovery codes shown.
async fn enrol(app: &TestApp) -> (Authenticator, Vec<String>) {
    login(app, EMAIL, PASSWORD).await;
    let security = app.text("/dashboard/security").await;
    assert!(security.contains("No second factor yet"), "{security}");
    let begun = app
        .post_form(
            "/dashboard/security/authenticator",
            &[("csrf_token", &csrf(&security))],
        )
        .await;
    assert_eq!(begun.status().as_u16(), 200);
    let page = begun.text().await.unwrap();
    assert!(page.contains("otpauth://totp/"), "the address an app reads");
    assert!(page.contains("<svg"), "its QR code");
    let authenticator = key_on(&page);
    let token = csrf(&page);
    let wrong = app
        .post_form(
            "/dashboard/security/authenticator/confirm",
            &[("csrf_token", &token), ("code", "000000")],
        )
        .await;
    assert_eq!(
        wrong.status().as_u16(),
        422,
        "a wrong first code enrols nothing"
    );
    let code = authenticator.code_at(now()).unwrap();
    let done = app
        .post_form(
            "/dashboard/security/authenticator/confirm",
            &[("csrf_token", &token), ("code", &code)],
        )
        .await;
    assert_eq!(done.status().as_u16(), 200);
    let page = done.text().await.unwrap();
    assert!(page.contains("role=\"status\""), "it says so");
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split("</code>").next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    let again = app.text("/dashboard/security").await;
    assert!(!again.contains(&codes[0]), "never shown again");
    assert!(again.contains("Recovery codes left: 10."));
    let logout = csrf(&app.text("/dashboard").await);
    app.post_form("/logout", &[("csrf_token", &logout)]).await;
    (authenticator, codes)
}

#[tokio::test]
async fn an_enrolled_organizer_signs_in_with_a_code_that_works_once() {
    let app = spawn_app().await;
    add_organizer(&app, EMAIL, PASSWORD, false);
    app.create_owned_petition("p-2fa", &[100], EMAIL).await;
    let (authenticator, _) = enrol(&app).await;

    // The password alone opens nothing but the second step.
    let signed = login(&app, EMAIL, PASSWORD).await;
    assert_eq!(signed.headers()["location"], "/login/code");
    for path in [
        "/dashboard",
        "/dashboard/petitions/p-2fa",
        "/dashboard/petitions/p-2fa/export.csv",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/login/code", "{path}");
    }
    let step = app.text("/login/code").await;
    assert!(step.contains("name=\"code\""), "a form with a code field");
    let token = csrf(&step);
    let wrong = app
        .post_form("/login/code", &[("csrf_token", &token), ("code", "123456")])
        .await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.text().await.unwrap().contains("role=\"alert\""));
    let forged = app.post_form("/login/code", &[("code", "123456")]).await;
    assert_eq!(forged.status().as_u16(), 403, "no CSRF token");

    // The enrolment used this step's code: the app's next one (accepted a step early).
    let code = authenticator.code_at(now() + 30).unwrap();
    let right = app
        .post_form("/login/code", &[("csrf_token", &token), ("code", &code)])
        .await;
    assert_eq!(right.status().as_u16(), 303);
    assert_eq!(right.headers()["location"], "/dashboard");
    assert_eq!(
        app.get("/dashboard/petitions/p-2fa")
            .await
            .status()
            .as_u16(),
        200
    );

    // Signed out and in again within the same 30 s: the same code does not work twice.
    let dash = app.text("/dashboard").await;
    app.post_form("/logout", &[("csrf_token", &csrf(&dash))])
        .await;
    login(&app, EMAIL, PASSWORD).await;
    let token = csrf(&app.text("/login/code").await);
    let replayed = app
        .post_form("/login/code", &[("csrf_token", &token), ("code", &code)])
        .await;
    assert_eq!(replayed.status().as_u16(), 401, "a code works once");
    assert_eq!(
        app.get("/dashboard").await.headers()["location"],
        "/login/code"
    );

    let audit: Vec<String> = undersigned::db::run(&app.pool, |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::audit_log as a;
        Ok(a::table.select(a::action).load::<String>(c)?)
    })
    .await
    .unwrap();
    for action in [
        "enrol-authenticator",
        "second-factor",
        "second-factor-refused",
    ] {
        assert!(audit.iter().any(|a| a == action), "{action} in {audit:?}");
    }
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_however_it_is_typed() {
    let app = spawn_app().await;
    add_organizer(&app, EMAIL, PASSWORD, false);
    let (_, codes) = enrol(&app).await;
    let typed = codes[3].replace('-', " ").to_uppercase();

    login(&app, EMAIL, PASSWORD).await;
    let token = csrf(&app.text("/login/code").await);
    let used = app
        .post_form("/login/code", &[("csrf_token", &token), ("code", &typed)])
        .await;
    assert_eq!(used.status().as_u16(), 303);
    let to = used.headers()["location"].to_str().unwrap().to_string();
    let security = app.text(&to).await;
    assert!(security.contains("recovery code; 9 are left"), "{security}");
    assert!(security.contains("Recovery codes left: 9."));

    let dash = app.text("/dashboard").await;
    app.post_form("/logout", &[("csrf_token", &csrf(&dash))])
        .await;
    login(&app, EMAIL, PASSWORD).await;
    let token = csrf(&app.text("/login/code").await);
    let again = app
        .post_form(
            "/login/code",
            &[("csrf_token", &token), ("code", &codes[3])],
        )
        .await;
    assert_eq!(
        again.status().as_u16(),
        401,
        "each recovery code works once"
    );
    let other = app
        .post_form(
            "/login/code",
            &[("csrf_token", &token), ("code", &codes[4])],
        )
        .await;
    assert_eq!(other.status().as_u16(), 303, "another one still works");
}

#[tokio::test]
async fn an_organizer_without_a_second_factor_signs_in_with_the_password_as_before() {
    let app = spawn_app().await;
    add_organizer(&app, EMAIL, PASSWORD, false);
    let signed = login(&app, EMAIL, PASSWORD).await;
    assert_eq!(signed.headers()["location"], "/dashboard");
    assert_eq!(app.get("/dashboard").await.status().as_u16(), 200);
    assert!(
        app.text("/dashboard").await.contains("/dashboard/security"),
        "linked"
    );
    // Nothing to ask: the second step sends them on.
    assert_eq!(
        app.get("/login/code").await.headers()["location"],
        "/dashboard"
    );
}

/// `rotate-key` re-seals the authenticator's secret: with the new key alone, the organizer
/// still signs in with their app.
#[tokio::test]
async fn an_authenticator_still_works_after_the_master_key_is_rotated() {
    use crate::helpers::{Mail, spawn_app_on, spawn_app_with};
    use crate::privacy::{NEW, OLD, rotate_old_to_new};
    let before = spawn_app_with(Mail::Memory, &[("secret_key", OLD)]).await;
    add_organizer(&before, EMAIL, PASSWORD, false);
    let (authenticator, _) = enrol(&before).await;
    rotate_old_to_new(&before);
    let after = spawn_app_on(before.db.clone(), Mail::Memory, &[("secret_key", NEW)]).await;
    let signed = login(&after, EMAIL, PASSWORD).await;
    assert_eq!(signed.headers()["location"], "/login/code");
    let token = csrf(&after.text("/login/code").await);
    let code = authenticator.code_at(now() + 30).unwrap();
    let res = after
        .post_form("/login/code", &[("csrf_token", &token), ("code", &code)])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/dashboard");
}

/// An organizer who lost both their app and their codes gets their account back through the
/// operator (`organizer reset-factors`): their sessions end, and they sign in with the
/// password and enrol again.
#[tokio::test]
async fn the_operator_resets_the_factors_of_an_organizer_who_lost_them() {
    let app = spawn_app().await;
    add_organizer(&app, EMAIL, PASSWORD, false);
    enrol(&app).await;
    login(&app, EMAIL, PASSWORD).await;
    assert_eq!(
        app.get("/dashboard").await.headers()["location"],
        "/login/code"
    );

    let data = tempfile::tempdir().unwrap();
    let run = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"))
            .args(["organizer", "reset-factors", "--email", email])
            .env_clear()
            .env("UNDERSIGNED_DATA_DIR", data.path())
            .env("UNDERSIGNED_DATABASE_URL", &app.db.url)
            .env("UNDERSIGNED_KEY_FILE", app.db.key_file())
            .output()
            .unwrap()
    };
    let unknown = run("nobody@example.org");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no organizer has the email"));
    let done = run("Ana@Example.org");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );

    // The half-open session ended with the others; the password opens the dashboard again.
    assert_eq!(app.get("/dashboard").await.headers()["location"], "/login");
    let signed = login(&app, EMAIL, PASSWORD).await;
    assert_eq!(signed.headers()["location"], "/dashboard");
    let security = app.text("/dashboard/security").await;
    assert!(security.contains("No second factor yet"), "{security}");
    let codes_left: i64 = undersigned::db::run(&app.pool, |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::recovery_codes as r;
        Ok(r::table.count().get_result(c)?)
    })
    .await
    .unwrap();
    assert_eq!(codes_left, 0, "the old recovery codes are gone too");
}

/// The security page lists where the account is signed in, this browser marked, and signs it
/// out everywhere else at once (a phone left behind, a sign-in that was not theirs).
#[tokio::test]
async fn an_organizer_sees_their_sessions_and_ends_every_other() {
    let app = spawn_app().await;
    add_organizer(&app, EMAIL, PASSWORD, false);
    // Another browser (another cookie jar) signed in to the same account.
    let other = crate::helpers::spawn_client();
    let form = other
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let signed = other
        .post(format!("{}/login", app.address))
        .form(&[
            ("email", EMAIL),
            ("password", PASSWORD),
            ("csrf_token", &csrf(&form)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.headers()["location"], "/dashboard");
    let dashboard = |client: &reqwest::Client| {
        let url = format!("{}/dashboard", app.address);
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(dashboard(&other).await, 200);

    login(&app, EMAIL, PASSWORD).await;
    let security = app.text("/dashboard/security").await;
    assert_eq!(security.matches("Signed in on").count(), 2, "{security}");
    assert_eq!(security.matches("(this browser)").count(), 1);
    let ended = app
        .post_form(
            "/dashboard/security/sessions/end-others",
            &[("csrf_token", &csrf(&security))],
        )
        .await;
    assert_eq!(ended.status().as_u16(), 200);
    let page = ended.text().await.unwrap();
    assert!(page.contains("Other sessions ended: 1."), "{page}");
    assert_eq!(page.matches("Signed in on").count(), 1);
    assert_eq!(
        dashboard(&other).await,
        303,
        "the other browser is signed out"
    );
    assert_eq!(
        app.get("/dashboard").await.status().as_u16(),
        200,
        "this one is not"
    );
}
