//! One petition in several languages: each visitor reads the version in their language, the
//! emails follow the version they read, and organizers keep the versions in step.

use std::process::Command;

use crate::helpers::{TestApp, bodies, spawn_app, subject};
use crate::organizers::{add_organizer, csrf, login};

pub const HY_TITLE: &str = "Գործարկել ԵԱՀԿ Մոսկովյան մեխանիզմը";
const RU_TITLE: &str = "Запустить Московский механизм ОБСЕ";
const FR_TITLE: &str = "Déclencher le mécanisme de Moscou de l’OSCE";

/// `undersigned petition translate …` against the app's database.
fn translate(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .args(["petition", "translate"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNDERSIGNED_DATA_DIR", app.dir.path())
        .env("UNDERSIGNED_DATABASE_URL", &app.db.url)
        .output()
        .unwrap()
}

async fn page(app: &TestApp, path: &str, accept_language: Option<&str>) -> String {
    let mut req = app.client.get(format!("{}{path}", app.address));
    if let Some(al) = accept_language {
        req = req.header("Accept-Language", al);
    }
    req.send().await.unwrap().text().await.unwrap()
}

/// A petition in English with versions in Armenian and Russian (command line) and French
/// (dashboard, by its organizer).
pub async fn petition_in_four_languages(app: &TestApp) {
    add_organizer(app, "ana@example.org", "correct horse battery", false);
    app.create_owned_petition("p-langs", &[100], "ana@example.org")
        .await;
    let body = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(body.path(), "Ազատություն **բոլոր** գերիներին։").unwrap();
    let out = translate(
        app,
        &[
            "--slug",
            "p-langs",
            "--lang",
            "hy",
            "--title",
            HY_TITLE,
            "--summary",
            "Դիմում ԵԱՀԿ-ին",
            "--body-file",
            body.path().to_str().unwrap(),
            "--target",
            "ԵԱՀԿ գործող նախագահ",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("/petitions/p-langs?lang=hy"));
    let out = translate(
        app,
        &["--slug", "p-langs", "--lang", "ru", "--title", RU_TITLE],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    login(app, "ana@example.org", "correct horse battery").await;
    let form = app
        .text("/dashboard/petitions/p-langs/translations/fr")
        .await;
    assert!(
        form.contains("Version en") || form.contains("Version in"),
        "{form}"
    );
    let res = app
        .post_form(
            "/dashboard/petitions/p-langs/translations/fr",
            &[
                ("csrf_token", &csrf(&form)),
                ("title", FR_TITLE),
                ("summary", "Un appel à l’OSCE"),
                ("body", "Libérez **tous** les prisonniers."),
                ("targets", ""),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
}

#[tokio::test]
async fn each_visitor_reads_the_version_in_their_language_marked_with_its_lang() {
    let app = spawn_app().await;
    petition_in_four_languages(&app).await;

    let hy = page(&app, "/petitions/p-langs?lang=hy", None).await;
    assert!(
        hy.contains("<html lang=\"hy\">"),
        "the interface follows ?lang"
    );
    assert!(
        hy.contains(&format!("<h1 lang=\"hy\">{HY_TITLE}</h1>")),
        "{hy}"
    );
    assert!(hy.contains("<strong>բոլոր</strong>"));
    assert!(
        hy.contains("<li>ԵԱՀԿ գործող նախագահ</li>"),
        "its own addressees"
    );
    assert!(hy.contains("<p class=\"summary\" lang=\"hy\">Դիմում ԵԱՀԿ-ին</p>"));
    // Every version is announced to search engines and link previews.
    for (lang, href) in [
        ("en", "/petitions/p-langs\""),
        ("hy", "/petitions/p-langs?lang=hy\""),
        ("fr", "/petitions/p-langs?lang=fr\""),
        ("ru", "/petitions/p-langs?lang=ru\""),
        ("x-default", "/petitions/p-langs\""),
    ] {
        assert!(
            hy.contains(&format!(
                "<link rel=\"alternate\" hreflang=\"{lang}\" href=\"{}{href}",
                app.address
            )),
            "{lang}: {hy}"
        );
    }
    assert!(hy.contains("<meta property=\"og:locale\" content=\"hy_AM\">"));
    assert!(hy.contains("<meta property=\"og:locale:alternate\" content=\"fr_FR\">"));
    assert!(hy.contains(&format!(
        "<meta property=\"og:title\" content=\"{HY_TITLE}\">"
    )));
    assert!(hy.contains(&format!(
        "<link rel=\"canonical\" href=\"{}/petitions/p-langs?lang=hy\">",
        app.address
    )));
    assert!(hy.contains("<meta name=\"twitter:card\" content=\"summary_large_image\">"));

    // Without ?lang, the browser's language picks the version; the French one has no
    // addressees of its own, so it shows the original's.
    let fr = page(&app, "/petitions/p-langs", Some("fr-FR,fr;q=0.9")).await;
    assert!(
        fr.contains(&format!("<h1 lang=\"fr\">{FR_TITLE}</h1>")),
        "{fr}"
    );
    let ru = page(&app, "/petitions/p-langs", Some("ru")).await;
    assert!(ru.contains(&format!("<h1 lang=\"ru\">{RU_TITLE}</h1>")));
    // The home page lists it in the visitor's language too.
    let home = page(&app, "/?lang=ru", None).await;
    assert!(home.contains(RU_TITLE), "{home}");

    // The JSON names the original's language and carries every version.
    let json = app.json("p-langs").await;
    assert_eq!(json["language"], "en");
    assert_eq!(json["translations"]["hy"]["title"], HY_TITLE);
    assert_eq!(
        json["translations"]["hy"]["targets"][0],
        "ԵԱՀԿ գործող նախագահ"
    );
    assert_eq!(json["translations"]["fr"]["summary"], "Un appel à l’OSCE");
    assert_eq!(json["translations"]["ru"]["outdated"], false);
    assert!(json["translations"].get("en").is_none());

    // The delivery document carries every version, each marked with its language.
    let delivery = app.text("/dashboard/petitions/p-langs/delivery").await;
    assert!(
        delivery.contains("<h1 lang=\"en\">Petition p-langs</h1>"),
        "{delivery}"
    );
    for (lang, title) in [("hy", HY_TITLE), ("fr", FR_TITLE), ("ru", RU_TITLE)] {
        assert!(
            delivery.contains(&format!("<section class=\"version\" lang=\"{lang}\">")),
            "{lang}"
        );
        assert!(delivery.contains(&format!("<h3>{title}</h3>")), "{lang}");
    }
}

#[tokio::test]
async fn a_signer_who_read_the_armenian_version_gets_every_email_in_armenian() {
    let app = spawn_app().await;
    petition_in_four_languages(&app).await;
    let client = crate::helpers::spawn_client();
    let form = client
        .get(format!("{}/petitions/p-langs?lang=hy", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("action=\"/petitions/p-langs/sign?lang=hy#errors\""),
        "{form}"
    );
    let res = client
        .post(format!("{}/petitions/p-langs/sign?lang=hy", app.address))
        .form(&[
            ("name", "Անահիտ Մկրտչյան"),
            ("email", "anahit@example.am"),
            ("country", "AM"),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let check = res.headers()["location"].to_str().unwrap().to_string();
    assert!(check.ends_with("?lang=hy"));
    let email = app.wait_for_emails(1).await[0].clone();
    let (text, _) = bodies(&email);
    assert!(text.contains(HY_TITLE), "{text}");
    assert!(text.contains("Բարև"), "Armenian greeting: {text}");
    let link = crate::helpers::confirmation_link(&email);
    assert!(link.ends_with("?lang=hy"), "{link}");
    let link = &link[link.find("/confirm/").unwrap()..];
    let confirm = app.text(link).await;
    assert!(confirm.contains("<html lang=\"hy\">"), "{confirm}");
    let thanks = app.post_form(link, &[]).await.text().await.unwrap();
    assert!(thanks.contains(HY_TITLE), "{thanks}");
    // The receipt names the petition as the signer read it.
    let at = thanks
        .find("/petitions/p-langs/receipt/")
        .expect("a receipt link on the thanks page");
    let receipt_path = thanks[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    let receipt_page = app.text(&receipt_path).await;
    assert!(
        receipt_page.contains(&format!(
            "<a href=\"/petitions/p-langs?lang=hy\" lang=\"hy\">{HY_TITLE}</a>"
        )),
        "{receipt_path}: {receipt_page}"
    );
    let receipt = app.wait_for_emails(2).await[1].clone();
    assert!(
        subject(&receipt).contains(HY_TITLE),
        "{}",
        subject(&receipt)
    );

    // The data a signer asks for comes under the title they read, in their language.
    let (text, _) = bodies(&receipt);
    let at = text.find("/withdraw/").expect("a withdraw link");
    let link = text[at..].split_whitespace().next().unwrap();
    let (path, query) = link.split_once('?').unwrap();
    assert_eq!(query, "lang=hy");
    let res = app.post_form(&format!("{path}/data?lang=hy"), &[]).await;
    assert_eq!(res.status().as_u16(), 200);
    let data = app.wait_for_emails(3).await[2].clone();
    assert!(subject(&data).contains(HY_TITLE), "{}", subject(&data));
    let (text, _) = bodies(&data);
    assert!(text.contains("Անահիտ Մկրտչյան"), "{text}");
}

#[tokio::test]
async fn changing_the_original_marks_its_versions_for_update_until_they_are_saved_again() {
    let app = spawn_app().await;
    petition_in_four_languages(&app).await;
    let edit = app.text("/dashboard/petitions/p-langs/edit").await;
    let res = app
        .post_form(
            "/dashboard/petitions/p-langs/edit",
            &[
                ("csrf_token", &csrf(&edit)),
                ("title", "A changed title"),
                ("summary", ""),
                ("body", "New text."),
                ("targets", ""),
                ("goals", "100"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let json = app.json("p-langs").await;
    assert_eq!(json["translations"]["hy"]["outdated"], true);
    let manage = app.text("/dashboard/petitions/p-langs").await;
    assert!(manage.contains("Needs update"), "{manage}");
    let form = app
        .text("/dashboard/petitions/p-langs/translations/hy")
        .await;
    assert!(form.contains("The original text changed"), "{form}");
    assert!(form.contains("New text."), "the original beside it");
    assert!(form.contains(HY_TITLE), "the version so far");
    let res = app
        .post_form(
            "/dashboard/petitions/p-langs/translations/hy",
            &[
                ("csrf_token", &csrf(&form)),
                ("title", HY_TITLE),
                ("body", "Նոր տեքստ։"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        app.json("p-langs").await["translations"]["hy"]["outdated"],
        false
    );
    // Saving the original without changing its text leaves the versions as they are.
    let edit = app.text("/dashboard/petitions/p-langs/edit").await;
    app.post_form(
        "/dashboard/petitions/p-langs/edit",
        &[
            ("csrf_token", &csrf(&edit)),
            ("title", "A changed title"),
            ("summary", ""),
            ("body", "New text."),
            ("targets", ""),
            ("goals", "100, 200"),
        ],
    )
    .await;
    assert_eq!(
        app.json("p-langs").await["translations"]["hy"]["outdated"],
        false
    );
}

#[tokio::test]
async fn bad_translations_are_refused_with_a_reason_and_change_nothing() {
    let app = spawn_app().await;
    petition_in_four_languages(&app).await;
    // The original's language, an unknown language, an empty title: refused on the command
    // line with a message.
    for (args, says) in [
        (vec!["--lang", "en", "--title", "X"], "original language"),
        (
            vec!["--lang", "de", "--title", "X"],
            "--lang must be one of",
        ),
        (vec!["--lang", "hy", "--title", "  "], "--title"),
    ] {
        let mut all = vec!["--slug", "p-langs"];
        all.extend(args);
        let out = translate(&app, &all);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
    let out = translate(&app, &["--slug", "nope", "--lang", "hy", "--title", "X"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no petition"));
    // The dashboard: no page for the original's language or an unknown one; an empty title
    // is a 422 with the message by its field; no CSRF token, a 403.
    for path in ["en", "de", "xx%00"] {
        let res = app
            .get(&format!("/dashboard/petitions/p-langs/translations/{path}"))
            .await;
        assert_eq!(res.status().as_u16(), 404, "{path}");
    }
    let form = app
        .text("/dashboard/petitions/p-langs/translations/ru")
        .await;
    let res = app
        .post_form(
            "/dashboard/petitions/p-langs/translations/ru",
            &[("csrf_token", &csrf(&form)), ("title", ""), ("body", "x")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Give a title of up to 200 characters.")
    );
    let res = app
        .post_form(
            "/dashboard/petitions/p-langs/translations/ru",
            &[("title", "Другое"), ("body", "x")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 403);
    let json = app.json("p-langs").await;
    assert_eq!(json["translations"]["ru"]["title"], RU_TITLE, "unchanged");
    assert_eq!(json["translations"]["hy"]["title"], HY_TITLE);
    // Removing a version: the page falls back to the original.
    let form = app
        .text("/dashboard/petitions/p-langs/translations/ru")
        .await;
    let res = app
        .post_form(
            "/dashboard/petitions/p-langs/translations/ru/remove",
            &[("csrf_token", &csrf(&form))],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let ru = page(&app, "/petitions/p-langs?lang=ru", None).await;
    assert!(ru.contains("<h1 lang=\"en\">"), "{ru}");
    // Another organizer cannot see or change the versions.
    let other = spawn_app_other(&app).await;
    let res = other
        .get("/dashboard/petitions/p-langs/translations/hy")
        .await;
    assert_eq!(res.status().as_u16(), 404);
}

/// A second browser, signed in as an organizer who does not manage the petition.
async fn spawn_app_other(app: &TestApp) -> TestApp {
    add_organizer(app, "bob@example.org", "correct horse battery", false);
    let other =
        crate::helpers::spawn_app_on(app.db.clone(), crate::helpers::Mail::Memory, &[]).await;
    login(&other, "bob@example.org", "correct horse battery").await;
    other
}

#[tokio::test]
async fn a_petition_created_in_armenian_records_its_language() {
    let app = spawn_app().await;
    let out = Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .args(["petition", "create", "--slug", "p-hy", "--title", HY_TITLE])
        .args(["--goal", "100", "--lang", "hy"])
        .env_clear()
        .env("UNDERSIGNED_DATA_DIR", app.dir.path())
        .env("UNDERSIGNED_DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.json("p-hy").await["language"], "hy");
    let en = page(&app, "/petitions/p-hy?lang=en", None).await;
    assert!(
        en.contains(&format!("<h1 lang=\"hy\">{HY_TITLE}</h1>")),
        "{en}"
    );
    assert!(en.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn a_version_saved_from_a_form_opened_before_the_original_changed_stays_marked_for_update() {
    let app = spawn_app().await;
    petition_in_four_languages(&app).await;
    // A translator opens the Russian version…
    let form = app
        .text("/dashboard/petitions/p-langs/translations/ru")
        .await;
    assert!(
        form.contains("name=\"source_version\" value=\"1\""),
        "{form}"
    );
    // …meanwhile the original changes…
    let edit = app.text("/dashboard/petitions/p-langs/edit").await;
    app.post_form(
        "/dashboard/petitions/p-langs/edit",
        &[
            ("csrf_token", &csrf(&edit)),
            ("title", "A new title"),
            ("body", "A new text."),
            ("goals", "100"),
        ],
    )
    .await;
    // …and the translator saves what they made from the old one: still to be updated.
    let res = app
        .post_form(
            "/dashboard/petitions/p-langs/translations/ru",
            &[
                ("csrf_token", &csrf(&form)),
                ("title", RU_TITLE),
                ("body", "Старый текст."),
                ("source_version", "1"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        app.json("p-langs").await["translations"]["ru"]["outdated"],
        true
    );
}

#[tokio::test]
async fn an_update_reaches_a_signer_under_the_title_they_signed_in_their_language() {
    let app = spawn_app().await;
    petition_in_four_languages(&app).await;
    let client = crate::helpers::spawn_client();
    client
        .post(format!("{}/petitions/p-langs/sign?lang=hy", app.address))
        .form(&[
            ("name", "Անի"),
            ("email", "ani@example.am"),
            ("country", "AM"),
            ("consent", "yes"),
            ("updates", "yes"),
        ])
        .send()
        .await
        .unwrap();
    let link = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    app.post_form(&link, &[]).await;
    app.wait_until_sent().await;
    let before = app.all_emails().len();
    let token = csrf(&app.text("/dashboard/petitions/p-langs").await);
    let posted = app
        .post_form(
            "/dashboard/petitions/p-langs/updates",
            &[
                ("csrf_token", &token),
                ("title", "Delivered"),
                ("body", "Handed over."),
                ("email", "1"),
            ],
        )
        .await;
    assert_eq!(posted.status().as_u16(), 303);
    let update = app.wait_for_all_emails(before + 1).await[before].clone();
    let (text, _) = bodies(&update);
    assert!(text.contains(HY_TITLE), "{text}");
    assert!(text.contains("/petitions/p-langs?lang=hy"), "{text}");
}

#[tokio::test]
async fn an_organizer_corrects_the_original_language_but_not_into_one_a_version_holds() {
    let app = spawn_app().await;
    petition_in_four_languages(&app).await;
    let form = app.text("/dashboard/petitions/p-langs/edit").await;
    assert!(
        form.contains("<option value=\"en\" lang=\"en\" selected>"),
        "the recorded language is preselected: {form}"
    );
    let edit = |language: Option<&'static str>, title: &'static str| {
        let mut fields = vec![
            ("csrf_token", csrf(&form)),
            ("title", title.to_string()),
            ("goals", "100".to_string()),
            ("body", "Free them all.".to_string()),
        ];
        if let Some(l) = language {
            fields.push(("language", l.to_string()));
        }
        fields
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form("/dashboard/petitions/p-langs/edit", &fields)
                .await
        }
    };

    // Russian already has its own version: two Russian texts would compete.
    let res = post(edit(Some("ru"), "Changed title")).await;
    assert_eq!(res.status().as_u16(), 409);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("already has a version in that language"),
        "{body}"
    );
    let json = app.json("p-langs").await;
    assert_eq!(json["language"], "en");
    assert_eq!(json["title"], "Petition p-langs", "nothing was saved");

    // A language that is not one of the four is refused on its field.
    let res = post(edit(Some("de"), "Changed title")).await;
    assert_eq!(res.status().as_u16(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("Choose one of the languages"), "{body}");
    assert_eq!(app.json("p-langs").await["title"], "Petition p-langs");

    // A script that predates the field keeps the language.
    let res = post(edit(None, "Petition p-langs")).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.json("p-langs").await["language"], "en");

    // Removing the Russian version frees the language for the original.
    let manage = app
        .text("/dashboard/petitions/p-langs/translations/ru")
        .await;
    let res = app
        .post_form(
            "/dashboard/petitions/p-langs/translations/ru/remove",
            &[("csrf_token", &csrf(&manage))],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let res = post(edit(Some("ru"), RU_TITLE)).await;
    assert_eq!(res.status().as_u16(), 303);
    let json = app.json("p-langs").await;
    assert_eq!(json["language"], "ru");
    let en = page(&app, "/petitions/p-langs?lang=de", Some("ru")).await;
    assert!(
        en.contains(&format!("<h1 lang=\"ru\">{RU_TITLE}</h1>")),
        "a Russian reader gets the original, marked Russian: {en}"
    );
    let fr = page(&app, "/petitions/p-langs?lang=fr", None).await;
    assert!(
        fr.contains(&format!("<h1 lang=\"fr\">{FR_TITLE}</h1>")),
        "the other versions stay: {fr}"
    );
    // Search engines and link previews learn that the plain address is now Russian.
    assert!(
        fr.contains(&format!(
            "<link rel=\"alternate\" hreflang=\"ru\" href=\"{}/petitions/p-langs\">",
            app.address
        )),
        "{fr}"
    );
    assert!(
        fr.contains("<meta property=\"og:locale:alternate\" content=\"ru_RU\">"),
        "{fr}"
    );
    add_organizer(&app, "root@example.org", "correct horse battery", true);
    let admin =
        crate::helpers::spawn_app_on(app.db.clone(), crate::helpers::Mail::Memory, &[]).await;
    login(&admin, "root@example.org", "correct horse battery").await;
    let audit = admin.text("/dashboard/audit").await;
    assert!(audit.contains("language en -&#62; ru"), "{audit}");
}
