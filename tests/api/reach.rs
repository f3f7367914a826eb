//! Getting a petition around: share cards that link previews show, QR codes and posters for
//! rallies, and the tally of where signers came from (no cookie, no tracker).

use resvg::tiny_skia::Pixmap;

use crate::helpers::{TestApp, spawn_app};
use crate::organizers::{add_organizer, login};

/// Decodes a PNG: its width, height and pixels as grey levels.
fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let pixmap = Pixmap::decode_png(png).expect("a PNG");
    let grey = pixmap
        .pixels()
        .iter()
        .map(|p| {
            let c = p.demultiply();
            ((u32::from(c.red()) * 299 + u32::from(c.green()) * 587 + u32::from(c.blue()) * 114)
                / 1000) as u8
        })
        .collect();
    (pixmap.width(), pixmap.height(), grey)
}

/// What a QR code in a PNG says.
fn scan(png: &[u8]) -> String {
    let (w, h, grey) = decode(png);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
        grey[y * w as usize + x]
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("a readable QR code").1
}

async fn bytes(app: &TestApp, path: &str) -> (u16, String, Vec<u8>) {
    let res = app.get(path).await;
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_link_previews_with_a_share_card_drawn_in_the_readers_language() {
    let app = spawn_app().await;
    crate::translations::petition_in_four_languages(&app).await;
    let page = app.text("/petitions/p-langs?lang=hy").await;
    let og = format!(
        "<meta property=\"og:image\" content=\"{}/petitions/p-langs/card.png?lang=hy\">",
        app.address
    );
    assert!(page.contains(&og), "{page}");

    let (status, kind, hy) = bytes(&app, "/petitions/p-langs/card.png?lang=hy").await;
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    let (w, h, pixels) = decode(&hy);
    assert_eq!((w, h), (1200, 630));
    // Text is drawn: the title area holds dark pixels, not only the white background.
    let dark = pixels.iter().filter(|&&g| g < 80).count();
    assert!(dark > 5_000, "{dark} dark pixels");
    // Another language, another card; the same one again is served from the cache.
    let (_, _, ru) = bytes(&app, "/petitions/p-langs/card.png?lang=ru").await;
    assert_ne!(hy, ru);
    let (_, _, again) = bytes(&app, "/petitions/p-langs/card.png?lang=hy").await;
    assert_eq!(hy, again);
    let (status, _, _) = bytes(&app, "/petitions/nope/card.png").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn qr_codes_and_the_poster_lead_to_the_petition_with_its_tag_and_language() {
    let app = spawn_app().await;
    crate::translations::petition_in_four_languages(&app).await;
    let base = format!("{}/petitions/p-langs", app.address);

    let (status, kind, png) = bytes(&app, "/petitions/p-langs/qr.png").await;
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(scan(&png), base);
    let (_, _, png) = bytes(&app, "/petitions/p-langs/qr.png?src=Rally-Yerevan&lang=hy").await;
    assert_eq!(scan(&png), format!("{base}?lang=hy&src=rally-yerevan"));
    // A tag that is not one is left out, not an error.
    let (status, _, png) = bytes(&app, "/petitions/p-langs/qr.png?src=%3Cscript%3E").await;
    assert_eq!(status, 200);
    assert_eq!(scan(&png), base);
    let (status, kind, svg) = bytes(&app, "/petitions/p-langs/qr.svg?src=flyer").await;
    assert_eq!((status, kind.as_str()), (200, "image/svg+xml"));
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));

    // The poster, in Armenian: title, the ask, the QR code of the Armenian page, the address.
    let poster = app
        .text("/petitions/p-langs/poster?lang=hy&src=flyer")
        .await;
    assert!(poster.contains("<html lang=\"hy\">"));
    assert!(poster.contains(crate::translations::HY_TITLE), "{poster}");
    assert!(poster.contains("Դիմում ԵԱՀԿ-ին"), "the ask");
    assert!(
        poster.contains("/petitions/p-langs/qr.svg?lang=hy&#38;src=flyer"),
        "{poster}"
    );
    assert!(poster.contains("127.0.0.1:"), "the short address");
    let (status, _, png) = bytes(&app, "/petitions/p-langs/qr.png?lang=hy&src=flyer").await;
    assert_eq!(status, 200);
    assert_eq!(scan(&png), format!("{base}?lang=hy&src=flyer"));
    assert_eq!(
        app.get("/petitions/nope/poster").await.status().as_u16(),
        404
    );
}

#[tokio::test]
async fn signatures_are_tallied_by_the_tag_of_the_link_their_signers_followed() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    app.create_owned_petition("p-src", &[100], "ana@example.org")
        .await;
    let page = app.text("/petitions/p-src?src=telegram-hy").await;
    assert!(
        page.contains("<input type=\"hidden\" name=\"src\" value=\"telegram-hy\">"),
        "{page}"
    );
    assert!(!app.text("/petitions/p-src").await.contains("name=\"src\""));
    // Changing the language keeps the tag.
    assert!(
        page.contains("/lang/fr?next=%2Fpetitions%2Fp-src%3Fsrc%3Dtelegram-hy"),
        "{page}"
    );
    // (Another browser: this one keeps its language.)
    let res = crate::helpers::spawn_client()
        .get(format!(
            "{}/lang/fr?next=%2Fpetitions%2Fp-src%3Fsrc%3Dtelegram-hy",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        "/petitions/p-src?src=telegram-hy&lang=fr"
    );
    // So does a form that comes back with errors: its switcher still carries the tag.
    let form = page
        .split("<form method=\"post\" action=\"")
        .nth(1)
        .and_then(|f| f.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    assert!(form.contains("src=telegram-hy"), "{form}");
    let again = app
        .post_form(&form, &[("src", "telegram-hy"), ("email", "x@example.org")])
        .await;
    assert_eq!(again.status().as_u16(), 422);
    let again = again.text().await.unwrap();
    assert!(
        again.contains("/lang/fr?next=%2Fpetitions%2Fp-src%3Fsrc%3Dtelegram-hy"),
        "{again}"
    );
    assert!(
        !app.text("/petitions/p-src?src=%22%3E%3Cb%3E")
            .await
            .contains("name=\"src\""),
        "a tag that is not one is not carried"
    );
    for (i, src) in [
        "telegram-hy",
        "telegram-hy",
        "newsletter-fr",
        "",
        "bad tag!",
    ]
    .iter()
    .enumerate()
    {
        let email = format!("s{i}@example.org");
        app.sign("p-src", &[("email", email.as_str()), ("src", src)])
            .await;
    }
    // One signer from the newsletter never confirms: only confirmed signatures count.
    for raw in app.wait_for_emails(5).await {
        if !raw.contains("To: s2@") {
            app.post_form(&app.confirmation_path(&raw), &[]).await;
        }
    }
    login(&app, "ana@example.org", "correct horse battery").await;
    let manage = app.text("/dashboard/petitions/p-src").await;
    assert!(
        manage.contains("<tr><td>telegram-hy</td><td class=\"num\">2</td></tr>"),
        "{manage}"
    );
    assert!(manage.contains("<tr><td>(no tag)</td><td class=\"num\">2</td></tr>"));
    assert!(!manage.contains("newsletter-fr</td>"));
    // Ready links, QR codes and a poster for a new tag; a bad tag gets a message.
    let links = app.text("/dashboard/petitions/p-src?tag=Rally-Paris").await;
    assert!(
        links.contains("/petitions/p-src?src=rally-paris"),
        "{links}"
    );
    assert!(links.contains("/petitions/p-src/qr.png?src=rally-paris"));
    assert!(links.contains("/petitions/p-src/poster?src=rally-paris"));
    let bad = app.text("/dashboard/petitions/p-src?tag=a%20b").await;
    assert!(bad.contains("Use only Latin letters"), "{bad}");
}

#[tokio::test]
async fn only_the_widget_may_be_framed_and_only_by_the_sites_allowed() {
    let app = spawn_app().await;
    app.create_petition("p-embed", &[100]).await;
    let res = app.get("/petitions/p-embed/embed?lang=fr").await;
    assert_eq!(res.status().as_u16(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.ends_with("frame-ancestors *"), "{csp}");
    assert!(res.headers().get("x-frame-options").is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains("<html lang=\"fr\">"));
    assert!(html.contains("Petition p-embed"));
    assert!(
        html.contains(
            "/petitions/p-embed?lang=fr&amp;src=embed#sign\" target=\"_blank\" rel=\"noopener\""
        ) || html.contains(
            "/petitions/p-embed?lang=fr&#38;src=embed#sign\" target=\"_blank\" rel=\"noopener\""
        ),
        "{html}"
    );
    // Every other page, and the widget's own errors, refuse to be framed.
    for path in [
        "/",
        "/petitions/p-embed",
        "/privacy",
        "/login",
        "/petitions/nope/embed",
        "/no/such/page",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.headers()["x-frame-options"], "DENY", "{path}");
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    }
    // An operator can name the sites allowed to frame it.
    let listed = crate::helpers::spawn_app_on(
        app.db.clone(),
        crate::helpers::Mail::Memory,
        &[(
            "embed_frame_ancestors",
            "https://partner.example, https://*.diaspora.example",
        )],
    )
    .await;
    let res = listed.get("/petitions/p-embed/embed").await;
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.ends_with("frame-ancestors https://partner.example https://*.diaspora.example"),
        "{csp}"
    );
}

#[tokio::test]
async fn the_organisation_running_the_site_is_named_on_its_pages_and_as_the_sender() {
    let sink = crate::helpers::SmtpSink::start().await;
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Mail::Smtp(sink.port),
        &[
            ("organization_name", "Armenian Prisoners Appeal"),
            ("organization_contact", "team@appeal.example"),
        ],
    )
    .await;
    app.create_petition("p-org", &[100]).await;
    let page = app.text("/petitions/p-org").await;
    assert!(page.contains("<a class=\"brand\" href=\"/?lang=en\">Armenian Prisoners Appeal</a>"));
    assert!(page.contains("<title>Petition p-org · Armenian Prisoners Appeal</title>"));
    assert!(page.contains("<a href=\"mailto:team@appeal.example\">team@appeal.example</a>"));
    assert!(
        page.contains("Runs on undersigned"),
        "the product, in small, in the footer"
    );
    assert!(
        page.contains("<meta property=\"og:site_name\" content=\"Armenian Prisoners Appeal\">")
    );
    app.sign("p-org", &[("email", "one@example.org")]).await;
    let raw = sink.wait_for(1, std::time::Duration::from_secs(10)).await;
    let from = raw[0]
        .lines()
        .find(|l| l.starts_with("From:"))
        .unwrap_or_default()
        .to_string();
    assert!(
        from.contains("Armenian Prisoners Appeal") && from.contains("<noreply@localhost>"),
        "{from}"
    );
}

#[tokio::test]
async fn the_public_pages_lead_on_instead_of_ending_and_say_each_thing_once() {
    let app = spawn_app().await;
    let id = app.create_petition("p-pages", &[1, 100]).await;
    // A reload of the address left after a form came back with errors: back to the petition.
    let res = app.get("/petitions/p-pages/sign").await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/petitions/p-pages?lang=en#sign");
    assert_eq!(
        app.get("/petitions/a%0Ab/sign").await.status().as_u16(),
        404
    );

    let page = app.text("/petitions/p-pages").await;
    let consent = &page[page.find("for=\"f-consent\"").unwrap()..];
    let consent = &consent[..consent.find("</label>").unwrap()];
    assert!(!consent.to_lowercase().contains("privacy"), "{consent}");
    assert!(page.contains(
        "<a class=\"privacy-link\" href=\"/privacy?lang=en\" target=\"_blank\" rel=\"noopener\">"
    ));

    // "Check your email" offers sharing at once and the way back.
    let res = app.sign("p-pages", &[("email", "one@example.org")]).await;
    let check = res.headers()["location"].to_str().unwrap().to_string();
    let signed = app.text(&check).await;
    assert!(signed.contains("https://wa.me/?text="), "{signed}");
    assert!(signed.contains("href=\"/petitions/p-pages?lang=en\""));
    // The thanks page too, and one goal line: the highest goal reached.
    let link = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    let thanks = app.post_form(&link, &[]).await.text().await.unwrap();
    assert!(thanks.contains("Back to the petition"), "{thanks}");
    let page = app.text("/petitions/p-pages").await;
    assert!(page.contains("1 of 100 signatures"));
    assert_eq!(page.matches("Goal of 1 reached").count(), 1, "{page}");
    assert!(!page.contains("Next goal"));
    // A closed petition has a count and no goal to reach.
    app.close(id).await;
    let page = app.text("/petitions/p-pages").await;
    assert!(
        !page.contains("Goal of") && !page.contains("of 100"),
        "{page}"
    );
}

#[tokio::test]
async fn signers_who_choose_to_show_their_comment_are_quoted_and_withdrawing_removes_it() {
    let app = spawn_app().await;
    app.create_petition("p-why", &[100]).await;
    for (email, name, comment, public, display) in [
        (
            "anahit@example.am",
            "Anahit Mkrtchyan",
            "My cousin is held in Baku.",
            "yes",
            "initials",
        ),
        (
            "quiet@example.am",
            "Quiet Signer",
            "Only for the organizers.",
            "",
            "full",
        ),
        (
            "anon@example.am",
            "Hidden Name",
            "<script>alert(1)</script> Free them",
            "yes",
            "none",
        ),
    ] {
        app.sign(
            "p-why",
            &[
                ("email", email),
                ("name", name),
                ("comment", comment),
                ("comment_public", public),
                ("display", display),
            ],
        )
        .await;
    }
    for raw in app.wait_for_emails(3).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
    app.wait_until_sent().await;
    let page = app.text("/petitions/p-why").await;
    assert!(page.contains("Why people sign"), "{page}");
    assert!(
        page.contains(
            "<blockquote>My cousin is held in Baku.</blockquote><p class=\"meta\">Anahit M.</p>"
        ),
        "{page}"
    );
    assert!(page.contains(
        "&#60;script&#62;alert(1)&#60;/script&#62; Free them</blockquote><p class=\"meta\">A signer</p>"
    ));
    assert!(
        !page.contains("Only for the organizers."),
        "a comment not meant for the page"
    );
    assert!(!page.contains("Hidden Name"));

    // Withdrawing takes the comment off the page at once.
    let receipt = app
        .all_emails()
        .into_iter()
        .find(|e| e.contains("To: anahit@example.am") && e.contains("/withdraw/"))
        .unwrap();
    let (text, _) = crate::helpers::bodies(&receipt);
    let at = text.find("/withdraw/").unwrap();
    let link = text[at..].split_whitespace().next().unwrap().to_string();
    assert_eq!(app.post_form(&link, &[]).await.status().as_u16(), 200);
    let page = app.text("/petitions/p-why").await;
    assert!(!page.contains("My cousin is held in Baku."));
    assert!(page.contains("Free them"));

    // An organizer hides an unwanted comment; the signature still counts.
    add_organizer(&app, "ana@example.org", "correct horse battery", true);
    login(&app, "ana@example.org", "correct horse battery").await;
    let signers = app.text("/dashboard/petitions/p-why/signers").await;
    assert!(signers.contains("Hide the comment"), "{signers}");
    let id = app.signature_id("anon@example.am").await.to_string();
    let res = app
        .post_form(
            "/dashboard/petitions/p-why/signers",
            &[
                ("csrf_token", &crate::organizers::csrf(&signers)),
                ("id", &id),
                ("action", "hide_comment"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let page = app.text("/petitions/p-why").await;
    assert!(
        !page.contains("Free them") && !page.contains("Why people sign"),
        "{page}"
    );
    assert_eq!(app.count("p-why").await, 2, "the signature still counts");

    // Found again by its words, and shown again: the signer's choice was kept.
    let found = app
        .text("/dashboard/petitions/p-why/signers?q=free+them")
        .await;
    assert!(found.contains("Hidden from the petition page"), "{found}");
    assert!(found.contains("Show the comment again"), "{found}");
    let res = app
        .post_form(
            "/dashboard/petitions/p-why/signers",
            &[
                ("csrf_token", &crate::organizers::csrf(&found)),
                ("id", &id),
                ("action", "show_comment"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(app.text("/petitions/p-why").await.contains("Free them"));
    let audit = app.text("/dashboard/audit").await;
    for action in ["hide-comment", "show-comment"] {
        assert!(audit.contains(action), "{action} audited: {audit}");
    }
    // Without a signature the action is refused, and nothing changes.
    let res = app
        .post_form(
            "/dashboard/petitions/p-why/signers",
            &[
                ("csrf_token", &crate::organizers::csrf(&found)),
                ("action", "hide_comment"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 400);

    // The organizer of another petition cannot reach this one's comments through their own.
    add_organizer(&app, "bob@example.org", "another long password", false);
    app.create_owned_petition("p-bob", &[10], "bob@example.org")
        .await;
    let bob = crate::helpers::spawn_app_on(app.db.clone(), crate::helpers::Mail::Memory, &[]).await;
    login(&bob, "bob@example.org", "another long password").await;
    let theirs = bob.text("/dashboard").await;
    let res = bob
        .post_form(
            "/dashboard/petitions/p-bob/signers",
            &[
                ("csrf_token", &crate::organizers::csrf(&theirs)),
                ("id", &id),
                ("action", "hide_comment"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let res = bob
        .post_form(
            "/dashboard/petitions/p-why/signers",
            &[
                ("csrf_token", &crate::organizers::csrf(&theirs)),
                ("id", &id),
                ("action", "hide_comment"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 404);
    assert!(app.text("/petitions/p-why").await.contains("Free them"));
}

/// A title with a noncharacter (U+FFFF), tag characters or Hangul fillers is refused at save
/// with the editor's message; one stored before that check (by an older version) still gets its
/// share card, drawn without them, never a 500.
#[tokio::test]
async fn a_title_with_invisible_or_non_characters_is_refused_and_never_breaks_the_card() {
    let app = spawn_app().await;
    add_organizer(&app, "ana@example.org", "correct horse battery", false);
    let id = app
        .create_owned_petition("p-chars", &[100], "ana@example.org")
        .await;
    login(&app, "ana@example.org", "correct horse battery").await;
    let form = app.text("/dashboard/petitions/p-chars/edit").await;
    let token = crate::organizers::csrf(&form);
    for title in [
        "Free \u{FFFF} them",
        "Free \u{E0041}\u{E0042} them",
        "\u{3164}\u{3164}",
        "Free\u{00AD}dom",
    ] {
        let res = app
            .post_form(
                "/dashboard/petitions/p-chars/edit",
                &[("csrf_token", &token), ("title", title), ("goals", "100")],
            )
            .await;
        assert_eq!(res.status().as_u16(), 422, "{title:?}");
        assert!(res.text().await.unwrap().contains("title"));
    }
    assert_eq!(app.json("p-chars").await["title"], "Petition p-chars");

    // As an older version may have stored it.
    undersigned::db::run(&app.pool, move |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::petitions as p;
        diesel::update(p::table.find(id))
            .set(p::title.eq("Free \u{FFFF}\u{E0041} them"))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    app.state.live.changed("p-chars");
    let (status, kind, png) = bytes(&app, "/petitions/p-chars/card.png").await;
    assert_eq!(status, 200);
    assert_eq!(kind, "image/png");
    let (w, _, _) = decode(&png);
    assert_eq!(w, 1200);
}
