//! Organizer sessions live on the server: a copied cookie dies with logout, a password reset or
//! an admin's decision, and sessions expire whatever the browser keeps. Keys per purpose.

use diesel::prelude::*;
use undersigned::db::schema::organizer_sessions as s;

use crate::helpers::{Mail, TestApp, eventually, spawn_app, spawn_app_with};
use crate::organizers::{add_organizer, csrf, login};

const PASSWORD: &str = "correct horse battery";
const MASTER: &str = "a master key of at least thirty-two characters";

/// The session cookie a response sets.
fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("undersigned_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// Signs in on the app's own client and returns a copy of its session cookie.
async fn signed_in(app: &TestApp, email: &str) -> String {
    let res = login(app, email, PASSWORD).await;
    assert_eq!(res.status().as_u16(), 303);
    session_cookie(&res)
}

/// Signs in on a browser of its own and returns that browser and its session cookie.
async fn browser_signed_in(app: &TestApp, email: &str) -> (reqwest::Client, String) {
    let browser = crate::helpers::spawn_client();
    let form = text_of(&browser, format!("{}/login", app.address)).await;
    let res = browser
        .post(format!("{}/login", app.address))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", &csrf(&form)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let cookie = session_cookie(&res);
    (browser, cookie)
}

/// The body of a page fetched by `browser`.
async fn text_of(browser: &reqwest::Client, url: String) -> String {
    browser.get(url).send().await.unwrap().text().await.unwrap()
}

/// What someone holding a copy of the cookie sees at `/dashboard`.
async fn dashboard_with(app: &TestApp, cookie: &str) -> (u16, String) {
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/dashboard", app.address))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location)
}

async fn sql(
    app: &TestApp,
    f: impl FnOnce(&mut undersigned::db::DbConnection) -> usize + Send + 'static,
) -> usize {
    undersigned::db::run(&app.pool, move |c| Ok(f(c)))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_copied_session_cookie_stops_working_at_logout() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", PASSWORD, false);
    let copy = signed_in(&app, "ana@example.org").await;
    assert_eq!(dashboard_with(&app, &copy).await.0, 200, "the copy works");

    let dash = app.get("/dashboard").await.text().await.unwrap();
    let out = app
        .post_form("/logout", &[("csrf_token", &csrf(&dash))])
        .await;
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(
        dashboard_with(&app, &copy).await,
        (303, "/login".to_string()),
        "logout ended the session on the server, not only in the browser"
    );
    let rows = sql(&app, |c| {
        s::table.count().get_result::<i64>(c).unwrap() as usize
    })
    .await;
    assert_eq!(rows, 0, "the session row is gone");
}

#[tokio::test]
async fn signing_in_again_ends_the_browsers_previous_session() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", PASSWORD, false);
    let earlier = signed_in(&app, "ana@example.org").await;
    // The same browser signs in again, through the form with its current session's token.
    let dash = app.get("/dashboard").await.text().await.unwrap();
    let again = app
        .post_form(
            "/login",
            &[
                ("email", "ana@example.org"),
                ("password", PASSWORD),
                ("csrf_token", &csrf(&dash)),
            ],
        )
        .await;
    assert_eq!(again.status().as_u16(), 303);
    let now = session_cookie(&again);
    assert_ne!(now, earlier);
    assert_eq!(
        dashboard_with(&app, &earlier).await.0,
        303,
        "the old id is gone"
    );
    assert_eq!(dashboard_with(&app, &now).await.0, 200);
}

#[tokio::test]
async fn a_sign_in_checked_against_a_password_that_changed_meanwhile_starts_no_session() {
    use undersigned::db::sessions::{Lifetime, NewSession};
    use undersigned::usecases::sessions::start as create;
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", PASSWORD, false);
    let (id, hash) = undersigned::db::run(&app.pool, |c| {
        use undersigned::db::schema::organizers as o;
        Ok(o::table
            .select((o::id, o::password_hash))
            .first::<(i32, String)>(c)?)
    })
    .await
    .unwrap();
    let lifetime = Lifetime {
        max_age: chrono::TimeDelta::hours(12),
        idle: chrono::TimeDelta::hours(2),
    };
    let start = move |password_hash: String, id_hash: &'static str| {
        let pool = app.pool.clone();
        async move {
            undersigned::usecases::run(&pool, move |c| {
                let new = NewSession {
                    id_hash,
                    organizer_id: id,
                    password_hash: &password_hash,
                    replaces: None,
                };
                create(c, &new, undersigned::db::now(), lifetime)
            })
            .await
            .unwrap()
        }
    };
    assert!(
        !start("the hash before a reset".into(), "s1").await,
        "a password checked before a reset opens nothing after it"
    );
    assert!(start(hash, "s2").await);
}

#[tokio::test]
async fn a_password_reset_ends_every_session_of_the_account() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", PASSWORD, false);
    add_organizer(&app, "bob@example.org", PASSWORD, false);
    let stolen = signed_in(&app, "ana@example.org").await;
    let (_, bobs) = browser_signed_in(&app, "bob@example.org").await;
    assert_eq!(dashboard_with(&app, &stolen).await.0, 200);

    // Ana resets her password from a fresh browser.
    let fresh = crate::helpers::spawn_client();
    let form = text_of(&fresh, format!("{}/login/reset", app.address)).await;
    fresh
        .post(format!("{}/login/reset", app.address))
        .form(&[
            ("csrf_token", csrf(&form)),
            ("email", "ana@example.org".into()),
        ])
        .send()
        .await
        .unwrap();
    let email = app.wait_for_emails(1).await.remove(0);
    let (text, _) = crate::helpers::bodies(&email);
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/login/reset/"))
        .unwrap();
    let path = url::Url::parse(link).unwrap().path().to_string();
    let page = text_of(&fresh, format!("{}{path}", app.address)).await;
    let done = fresh
        .post(format!("{}{path}", app.address))
        .form(&[
            ("csrf_token", csrf(&page)),
            ("password", "a brand new passphrase".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 303);

    assert_eq!(
        dashboard_with(&app, &stolen).await,
        (303, "/login".to_string()),
        "the stolen cookie died with the old password"
    );
    assert_eq!(
        dashboard_with(&app, &session_cookie(&done)).await.0,
        200,
        "the browser that reset the password is signed in"
    );
    assert_eq!(
        dashboard_with(&app, &bobs).await.0,
        200,
        "another organizer's session is untouched"
    );
}

/// Moves every session's start (`started`) or last use back to `at`.
async fn set_session_time(app: &TestApp, started: bool, at: chrono::NaiveDateTime) {
    sql(app, move |c| {
        let rows = diesel::update(s::table);
        if started {
            rows.set(s::created_at.eq(at)).execute(c).unwrap()
        } else {
            rows.set(s::last_seen_at.eq(at)).execute(c).unwrap()
        }
    })
    .await;
}

#[tokio::test]
async fn sessions_expire_after_the_idle_time_and_after_the_maximum_age() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", PASSWORD, false);
    let hours_ago = |h: i64| undersigned::db::now() - chrono::TimeDelta::minutes(h * 60);

    // Used 90 minutes ago: alive (idle limit 2 h), and marked as used now.
    let cookie = signed_in(&app, "ana@example.org").await;
    let before = hours_ago(0) - chrono::TimeDelta::minutes(90);
    set_session_time(&app, false, before).await;
    assert_eq!(dashboard_with(&app, &cookie).await.0, 200);
    let seen = undersigned::db::run(&app.pool, |c| {
        Ok(s::table
            .select(s::last_seen_at)
            .first::<chrono::NaiveDateTime>(c)?)
    })
    .await
    .unwrap();
    assert!(
        seen > before + chrono::TimeDelta::minutes(60),
        "use renews it"
    );

    // Idle for 3 hours: refused.
    let three = hours_ago(3);
    set_session_time(&app, false, three).await;
    assert_eq!(dashboard_with(&app, &cookie).await, (303, "/login".into()));

    // Busy all along, but signed in 13 hours ago: refused too.
    let cookie = signed_in(&app, "ana@example.org").await;
    let thirteen = hours_ago(13);
    set_session_time(&app, true, thirteen).await;
    assert_eq!(dashboard_with(&app, &cookie).await, (303, "/login".into()));
}

#[tokio::test]
async fn the_cookie_holds_only_a_random_id_so_the_key_alone_forges_nothing() {
    use actix_web::cookie::{Cookie, CookieJar};
    let app = spawn_app_with(Mail::Memory, &[("secret_key", MASTER)]).await;
    add_organizer(&app, "admin@example.org", PASSWORD, true);
    let cookie = signed_in(&app, "admin@example.org").await;
    let keys = undersigned::keys::Keys::derive(MASTER.as_bytes(), String::new());
    let key = actix_web::cookie::Key::from(keys.session_cookie());

    let (name, value) = cookie.split_once('=').unwrap();
    let mut jar = CookieJar::new();
    let value = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .unwrap()
        .to_string();
    jar.add_original(Cookie::new(name.to_string(), value));
    let plain = jar
        .private(&key)
        .get(name)
        .expect("the derived session key opens the cookie")
        .value()
        .to_string();
    let content: std::collections::BTreeMap<String, String> = serde_json::from_str(&plain).unwrap();
    assert_eq!(content.keys().collect::<Vec<_>>(), ["sid"], "{plain}");
    let sid: String = serde_json::from_str(&content["sid"]).unwrap();
    assert_eq!(sid.len(), 64);
    assert!(sid.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(!plain.contains("organizer"));

    // With the key in hand, forge the old cookie and a made-up session: both are refused.
    for forged in [
        r#"{"organizer_id":"1"}"#.to_string(),
        format!(r#"{{"sid":"\"{}\""}}"#, "ab".repeat(32)),
    ] {
        let mut jar = CookieJar::new();
        jar.private_mut(&key)
            .add(Cookie::new("undersigned_session", forged.clone()));
        let sealed = jar
            .get("undersigned_session")
            .unwrap()
            .encoded()
            .to_string();
        assert_eq!(dashboard_with(&app, &sealed).await.0, 303, "{forged}");
    }
    // The database holds only the id's hash.
    let stored = undersigned::db::run(&app.pool, |c| {
        Ok(s::table.select(s::id_hash).load::<String>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], sid);
    assert_eq!(
        stored[0],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(sid.as_bytes()))
    );
}

#[tokio::test]
async fn an_admin_sees_and_ends_an_organizers_sessions() {
    let app = spawn_app().await;
    add_organizer(&app, "admin@example.org", PASSWORD, true);
    add_organizer(&app, "ana@example.org", PASSWORD, false);
    let (ana, anas) = browser_signed_in(&app, "ana@example.org").await;
    let ana_id = undersigned::db::run(&app.pool, |c| {
        use undersigned::db::schema::organizers as o;
        Ok(o::table
            .filter(o::email.eq("ana@example.org"))
            .select(o::id)
            .first::<i32>(c)?)
    })
    .await
    .unwrap();
    let page = format!("/dashboard/organizers/{ana_id}/sessions");

    // Ana herself may not look.
    let res = ana
        .get(format!("{}{page}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);

    signed_in(&app, "admin@example.org").await;
    let list = app.get("/dashboard/organizers").await.text().await.unwrap();
    assert!(
        list.contains(&format!("<a href=\"{page}\">1</a>")),
        "{list}"
    );
    let sessions = app.get(&page).await.text().await.unwrap();
    assert!(sessions.contains("Last active"), "{sessions}");
    assert!(sessions.contains(" UTC</td>"), "{sessions}");
    let end = format!("{page}/end");
    let forged = app.post_form(&end, &[("csrf_token", "nope")]).await;
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(dashboard_with(&app, &anas).await.0, 200);
    let ended = app
        .post_form(&end, &[("csrf_token", &csrf(&sessions))])
        .await;
    assert_eq!(ended.status().as_u16(), 303);
    assert_eq!(dashboard_with(&app, &anas).await, (303, "/login".into()));
    let after = app.get(&page).await.text().await.unwrap();
    assert!(after.contains("No active sessions."), "{after}");
    assert_eq!(
        app.get("/dashboard").await.status().as_u16(),
        200,
        "the admin's own session is another account's: untouched"
    );
    let audit = app.get("/dashboard/audit").await.text().await.unwrap();
    assert!(audit.contains("end-sessions"), "{audit}");
    assert!(audit.contains("ana@example.org (1)"), "{audit}");
}

#[tokio::test]
async fn a_known_browser_signs_in_while_strangers_everywhere_guess_the_password() {
    let app = spawn_app_with(
        Mail::Memory,
        &[("trust_proxy_headers", "true"), ("secret_key", MASTER)],
    )
    .await;
    add_organizer(&app, "ana@example.org", PASSWORD, false);
    add_organizer(&app, "bob@example.org", PASSWORD, false);
    let attempt = |client: reqwest::Client, ip: String, password: &'static str| {
        let address = app.address.clone();
        async move {
            let form = text_of(&client, format!("{address}/login")).await;
            client
                .post(format!("{address}/login"))
                .header("X-Forwarded-For", ip)
                .form(&[
                    ("email", "ana@example.org"),
                    ("password", password),
                    ("csrf_token", &csrf(&form)),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Ana's laptop has signed in before.
    let laptop = crate::helpers::spawn_client();
    assert_eq!(
        attempt(laptop.clone(), "198.51.100.20".into(), PASSWORD).await,
        303
    );
    let dash = text_of(&laptop, format!("{}/dashboard", app.address)).await;
    laptop
        .post(format!("{}/logout", app.address))
        .form(&[("csrf_token", csrf(&dash))])
        .send()
        .await
        .unwrap();
    // A botnet guesses from 15 networks, 1 guess each: the per-account backstop closes.
    let mut statuses = vec![];
    for i in 0..15 {
        statuses.push(
            attempt(
                crate::helpers::spawn_client(),
                format!("203.0.113.{i}"),
                "guess guess guess",
            )
            .await,
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(
        attempt(
            crate::helpers::spawn_client(),
            "192.0.2.44".into(),
            PASSWORD
        )
        .await,
        429,
        "an unknown browser waits: the account is under attack"
    );
    // The known browser is not locked out, even from a new network.
    assert_eq!(
        attempt(laptop.clone(), "192.0.2.99".into(), PASSWORD).await,
        303
    );
    let keys = undersigned::keys::Keys::derive(MASTER.as_bytes(), String::new());
    // Its device cookie is bound to the password: the same cookie under another password
    // (after a reset) is no longer known.
    let value = undersigned::routes::extract::auth::device_cookie_value(
        &keys,
        "a password hash from before",
    );
    assert!(
        undersigned::routes::extract::auth::known_device(
            &keys,
            "a password hash from before",
            &value
        )
        .is_some()
    );
    assert!(
        undersigned::routes::extract::auth::known_device(&keys, "the hash after a reset", &value)
            .is_none()
    );
    // A genuine device cookie of another account does not count for this one.
    let bobs_hash = undersigned::db::run(&app.pool, |c| {
        use undersigned::db::schema::organizers as o;
        Ok(o::table
            .filter(o::email.eq("bob@example.org"))
            .select(o::password_hash)
            .first::<String>(c)?)
    })
    .await
    .unwrap();
    let bobs_device = undersigned::routes::extract::auth::device_cookie_value(&keys, &bobs_hash);
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = app.get("/login").await;
    let jar_cookie = session_cookie(&form);
    let token = csrf(&form.text().await.unwrap());
    let res = other
        .post(format!("{}/login", app.address))
        .header("X-Forwarded-For", "192.0.2.45")
        .header(
            "Cookie",
            format!("{jar_cookie}; undersigned_device={bobs_device}"),
        )
        .form(&[
            ("email", "ana@example.org"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        429,
        "a made-up device cookie is ignored"
    );
}

#[tokio::test]
async fn network_hashes_use_a_daily_seed_that_is_not_kept_past_its_day() {
    use undersigned::db::schema::{network_hash_seeds as n, signatures as sig};
    let app = spawn_app_with(
        Mail::Memory,
        &[("trust_proxy_headers", "true"), ("secret_key", MASTER)],
    )
    .await;
    app.create_petition("p-net", &[100]).await;
    sql(&app, |c| {
        diesel::insert_into(n::table)
            .values((n::day.eq("2000-01-01"), n::seed.eq("old")))
            .execute(c)
            .unwrap()
    })
    .await;
    for (email, ip) in [
        ("a@example.org", "203.0.113.5"),
        ("b@example.org", "203.0.113.5"),
        ("c@example.org", "198.51.100.1"),
    ] {
        let res = app
            .client
            .post(format!("{}/petitions/p-net/sign", app.address))
            .header("X-Forwarded-For", ip)
            .form(&crate::helpers::sign_fields(email))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303);
    }
    let (hashes, seeds) = undersigned::db::run(&app.pool, |c| {
        Ok((
            sig::table
                .order(sig::id)
                .select(sig::ip_hash)
                .load::<Option<String>>(c)?,
            n::table.select(n::day).load::<String>(c)?,
        ))
    })
    .await
    .unwrap();
    let hashes: Vec<String> = hashes.into_iter().map(Option::unwrap).collect();
    assert_eq!(hashes[0], hashes[1], "same network, same day: same hash");
    assert_ne!(hashes[0], hashes[2]);
    let with_master_only = undersigned::keys::mac_hex(MASTER.as_bytes(), &[b"203.0.113.5"], 32);
    assert_ne!(hashes[0], with_master_only, "not the master key's HMAC");
    assert_eq!(
        seeds,
        [chrono::Utc::now().date_naive().to_string()],
        "only today's seed is kept"
    );
}

#[tokio::test]
async fn instances_a_second_apart_at_midnight_hash_with_the_same_seed() {
    use undersigned::db::network_seeds::seed_for;
    let app = spawn_app().await;
    // Days to come: the app's own sweep forgets the seeds of days that are over.
    let seed = |day: &'static str, fresh: &'static str| {
        let pool = app.pool.clone();
        async move {
            undersigned::db::run(&pool, move |c| seed_for(c, day, fresh))
                .await
                .unwrap()
        }
    };
    assert_eq!(seed("2099-11-23", "first").await, "first");
    assert_eq!(
        seed("2099-11-23", "second").await,
        "first",
        "one seed a day"
    );
    // The instance ahead starts the 24th; the one behind, still on the 23rd, follows it
    // instead of bringing the 23rd back.
    assert_eq!(seed("2099-11-24", "ahead").await, "ahead");
    assert_eq!(seed("2099-11-23", "behind").await, "ahead");
    let days = undersigned::db::run(&app.pool, |c| {
        use undersigned::db::schema::network_hash_seeds as n;
        Ok(n::table.select(n::day).load::<String>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(days, ["2099-11-24"]);
}

#[tokio::test]
async fn network_hashes_are_erased_after_thirty_days() {
    use undersigned::db::schema::signatures as sig;
    let app = spawn_app_with(Mail::Memory, &[("trust_proxy_headers", "true")]).await;
    let petition = app.create_petition("p-old", &[100]).await;
    for email in ["old@example.org", "new@example.org"] {
        app.client
            .post(format!("{}/petitions/p-old/sign", app.address))
            .header("X-Forwarded-For", "203.0.113.5")
            .form(&[
                ("name", "Ani"),
                ("email", email),
                ("country", "AM"),
                ("consent", "yes"),
            ])
            .send()
            .await
            .unwrap();
    }
    let long_ago = undersigned::db::now() - chrono::TimeDelta::days(31);
    let old = app.email_index(petition, "old@example.org");
    sql(&app, move |c| {
        diesel::update(sig::table.filter(sig::email_key.eq(old)))
            .set(sig::created_at.eq(long_ago))
            .execute(c)
            .unwrap()
    })
    .await;
    sql(&app, |c| {
        use undersigned::db::schema::network_hash_seeds as n;
        diesel::insert_into(n::table)
            .values((n::day.eq("2000-01-01"), n::seed.eq("stale")))
            .execute(c)
            .unwrap()
    })
    .await;
    // Another instance starts on the same database: its first sweep runs at once.
    let _second = crate::helpers::spawn_app_on(app.db.clone(), Mail::Memory, &[]).await;
    let (old, new) = (
        app.email_index(petition, "old@example.org"),
        app.email_index(petition, "new@example.org"),
    );
    let hashes = eventually(
        std::time::Duration::from_secs(5),
        "the old network hash and the stale seed erased",
        async || {
            let rows = undersigned::db::run(&app.pool, move |c| {
                Ok(sig::table
                    .filter(sig::petition_id.eq(petition))
                    .select((sig::email_key, sig::ip_hash.is_not_null()))
                    .load::<(String, bool)>(c)?)
            })
            .await
            .unwrap();
            let mut hashes = rows
                .into_iter()
                .map(|(k, h)| {
                    let who = if k == new {
                        "new@example.org"
                    } else if k == old {
                        "old@example.org"
                    } else {
                        "?"
                    };
                    (who.to_string(), h)
                })
                .collect::<Vec<_>>();
            hashes.sort();
            let stale = sql(&app, |c| {
                use undersigned::db::schema::network_hash_seeds as n;
                n::table
                    .filter(n::day.eq("2000-01-01"))
                    .count()
                    .get_result::<i64>(c)
                    .unwrap() as usize
            })
            .await;
            if !hashes[1].1 && stale == 0 {
                Ok(hashes)
            } else {
                Err(format!("{hashes:?}, {stale} stale seeds"))
            }
        },
    )
    .await;
    assert_eq!(
        hashes,
        [
            ("new@example.org".to_string(), true),
            ("old@example.org".to_string(), false)
        ]
    );
}

#[tokio::test]
async fn unsubscribe_links_mailed_before_keys_were_separated_still_work() {
    let app = spawn_app_with(Mail::Memory, &[("secret_key", MASTER)]).await;
    app.create_petition("p-old-links", &[100]).await;
    app.sign("p-old-links", &[("updates", "yes")]).await;
    let confirm = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    app.post_form(&confirm, &[]).await;
    let id = undersigned::db::run(&app.pool, |c| {
        use undersigned::db::schema::signatures as sig;
        Ok(sig::table.select(sig::id).first::<i32>(c)?)
    })
    .await
    .unwrap();
    let old = undersigned::keys::mac_hex(
        MASTER.as_bytes(),
        &[format!("unsubscribe:{id}").as_bytes()],
        16,
    );
    let keys = undersigned::keys::Keys::derive(MASTER.as_bytes(), String::new());
    for mac in [old.clone(), keys.unsubscribe_mac(id)] {
        let res = app.get(&format!("/unsubscribe/{id}/{mac}")).await;
        assert_eq!(res.status().as_u16(), 200, "{mac}");
    }
    let other = app.get(&format!("/unsubscribe/{}/{old}", id + 1)).await;
    assert_eq!(other.status().as_u16(), 404);

    // After a key rotation, links mailed under the old key work while it is kept as previous.
    const NEW: &str = "the next master key, also thirty-two characters";
    let derived = keys.unsubscribe_mac(id);
    undersigned::db::run(&app.pool, |c| {
        let next = undersigned::keys::Keys::derive(NEW.as_bytes(), String::new())
            .with_previous(MASTER.as_bytes());
        undersigned::usecases::keys::rotate(c, &next)
            .map_err(|e| undersigned::db::DbError::Other(e.to_string()))
    })
    .await
    .unwrap();
    let rotated = crate::helpers::spawn_app_on(
        app.db.clone(),
        Mail::Memory,
        &[("secret_key", NEW), ("previous_secret_key", MASTER)],
    )
    .await;
    for mac in [&old, &derived] {
        let res = rotated.get(&format!("/unsubscribe/{id}/{mac}")).await;
        assert_eq!(res.status().as_u16(), 200, "{mac}");
    }
    let forgotten =
        crate::helpers::spawn_app_on(app.db.clone(), Mail::Memory, &[("secret_key", NEW)]).await;
    let res = forgotten.get(&format!("/unsubscribe/{id}/{derived}")).await;
    assert_eq!(
        res.status().as_u16(),
        404,
        "without the previous key, old links end"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_master_key_can_live_outside_the_data_dir() {
    use std::os::unix::fs::PermissionsExt;
    let keys = tempfile::tempdir().unwrap();
    let path = keys.path().join("undersigned").join("master.key");
    let app = spawn_app_with(Mail::Memory, &[("key_file", path.to_str().unwrap())]).await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir, 0o700);
    assert!(
        !app.dir.path().join("secret_key").exists(),
        "nothing secret in the data dir"
    );
    // A second instance with the same key file accepts the first one's links.
    let master = std::fs::read_to_string(&path).unwrap();
    let derived = undersigned::keys::Keys::derive(master.trim().as_bytes(), String::new());
    let second = crate::helpers::spawn_app_on(
        app.db.clone(),
        Mail::Memory,
        &[("key_file", path.to_str().unwrap())],
    )
    .await;
    let res = second
        .get(&format!("/unsubscribe/1/{}", derived.unsubscribe_mac(1)))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    // A key file too short to be a key stops start-up with a message naming it.
    std::fs::write(keys.path().join("short"), "tiny").unwrap();
    let mut env = std::collections::BTreeMap::new();
    env.insert("UNDERSIGNED_BIND".to_string(), "127.0.0.1:0".to_string());
    env.insert(
        "UNDERSIGNED_DATA_DIR".to_string(),
        app.dir.path().to_str().unwrap().to_string(),
    );
    env.insert("UNDERSIGNED_DATABASE_URL".to_string(), app.db.url.clone());
    env.insert(
        "UNDERSIGNED_KEY_FILE".to_string(),
        keys.path().join("short").to_str().unwrap().to_string(),
    );
    let settings = undersigned::config::Settings::load_from(None, &env).unwrap();
    let err = undersigned::app::Application::build(settings)
        .await
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("too short"), "{err:#}");
}

/// Over HTTPS the session cookie carries the `__Host-` prefix with what it requires (Secure,
/// Path=/, no Domain), and its flags.
#[tokio::test]
async fn over_https_the_session_cookie_is_a_host_cookie() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Mail::Memory,
        &[("base_url", "https://petitions.example")],
    )
    .await;
    crate::organizers::add_organizer(&app, "ana@example.org", "correct horse battery", false);
    let res = crate::organizers::login(&app, "ana@example.org", "correct horse battery").await;
    assert_eq!(res.status().as_u16(), 303);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.contains("undersigned_session="))
        .expect("a session cookie");
    assert!(
        cookie.starts_with("__Host-undersigned_session="),
        "{cookie}"
    );
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Domain="), "{cookie}");
}
