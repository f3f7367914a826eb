//! The signed log, checked as an outsider would: with only the published key and the public
//! endpoints, recount the petition and verify every proof.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use undersigned::log::merkle::{self, Hash};
use undersigned::log::note::Verifier;

use crate::helpers::{Mail, TestApp, eventually, spawn_app_with};
use crate::organizers::{add_organizer, csrf, login};

/// What an outsider can learn from the public endpoints alone.
pub struct Published {
    pub vkey: String,
    pub size: u64,
    pub total: i64,
    pub root: Hash,
    pub entries: Vec<Vec<u8>>,
}

async fn get_json(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let res = app.get(path).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// Fetches the key, the checkpoint and every entry, and checks the checkpoint's signature
/// with the published key.
pub async fn fetch(app: &TestApp, slug: &str) -> Published {
    let vkey = app
        .get("/.well-known/undersigned/log-key")
        .await
        .text()
        .await
        .unwrap();
    let note = app
        .get(&format!("/petitions/{slug}/log/checkpoint"))
        .await
        .text()
        .await
        .unwrap();
    let checkpoint = Verifier::parse(&vkey)
        .expect("a well-formed key")
        .open(&note)
        .expect("the checkpoint is signed by the published key");
    let mut entries = vec![];
    while (entries.len() as u64) < checkpoint.size {
        let (status, page) = get_json(
            app,
            &format!(
                "/api/v1/petitions/{slug}/log/entries?start={}&end={}",
                entries.len(),
                entries.len() + 1000
            ),
        )
        .await;
        assert_eq!(status, 200);
        for e in page["entries"].as_array().unwrap() {
            assert_eq!(e["index"].as_u64().unwrap(), entries.len() as u64);
            entries.push(B64.decode(e["data"].as_str().unwrap()).unwrap());
        }
    }
    Published {
        vkey: vkey.trim().to_string(),
        size: checkpoint.size,
        total: checkpoint.extension("total").unwrap().parse().unwrap(),
        root: checkpoint.root,
        entries,
    }
}

/// MTH straight from RFC 6962's definition, over the leaves' data.
pub fn root_of(leaves: &[Vec<u8>]) -> Hash {
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => merkle::leaf_hash(&leaves[0]),
        n => {
            let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
            merkle::node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// Waits until every queued event is in a checkpoint and that checkpoint's total is `total`.
pub async fn wait_for_log_total(app: &TestApp, slug: &str, total: i64) -> Published {
    eventually(
        std::time::Duration::from_secs(10),
        &format!("the log reaching a total of {total}"),
        async || {
            let queued = undersigned::db::run(&app.pool, undersigned::db::log::pending_count)
                .await
                .unwrap();
            let (status, summary) = get_json(app, &format!("/api/v1/petitions/{slug}/log")).await;
            if queued == 0 && status == 200 && summary["total"].as_i64() == Some(total) {
                Ok(())
            } else {
                Err(format!("{queued} events queued; {status} {summary}"))
            }
        },
    )
    .await;
    fetch(app, slug).await
}

fn recount(entries: &[Vec<u8>]) -> (i64, Vec<serde_json::Value>) {
    let parsed: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| serde_json::from_slice(e).expect("every entry is JSON"))
        .collect();
    (
        parsed.iter().map(|e| e["delta"].as_i64().unwrap()).sum(),
        parsed,
    )
}

#[tokio::test]
async fn an_outsider_recounts_the_petition_from_the_signed_log_alone() {
    let app = spawn_app_with(Mail::Memory, &[("log_interval_ms", "50")]).await;
    add_organizer(&app, "ana@example.org", "correct horse battery", true);
    app.create_owned_petition("p-log", &[100], "ana@example.org")
        .await;
    // The empty log is checkpointed too.
    let empty = wait_for_log_total(&app, "p-log", 0).await;
    assert_eq!(empty.size, 0);
    assert_eq!(empty.root, merkle::empty_root());

    for (name, email) in [
        ("Ani Petrosyan", "ani@example.org"),
        ("Fake One", "bot@spam.example"),
        ("Olga", "olga@example.org"),
    ] {
        app.sign("p-log", &[("name", name), ("email", email)]).await;
    }
    for raw in app.wait_for_emails(3).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
    let after_signing = wait_for_log_total(&app, "p-log", 3).await;

    login(&app, "ana@example.org", "correct horse battery").await;
    let page = app
        .get("/dashboard/petitions/p-log/signers")
        .await
        .text()
        .await
        .unwrap();
    let fake = app.signature_id("bot@spam.example").await.to_string();
    for action in ["invalidate", "restore", "invalidate"] {
        let res = app
            .post_form(
                "/dashboard/petitions/p-log/signers",
                &[
                    ("csrf_token", &csrf(&page)),
                    ("action", action),
                    ("id", &fake),
                    ("reason", "disposable address"),
                ],
            )
            .await;
        assert_eq!(res.status().as_u16(), 303, "{action}");
    }
    let token = csrf(
        &app.get("/dashboard/petitions/p-log")
            .await
            .text()
            .await
            .unwrap(),
    );
    for count in ["1200", "30"] {
        let res = app
            .post_form(
                "/dashboard/petitions/p-log/paper",
                &[
                    ("csrf_token", token.as_str()),
                    ("count", count),
                    ("collected_on", "2026-11-01"),
                    ("note", "Rally"),
                ],
            )
            .await;
        assert_eq!(res.status().as_u16(), 303);
    }
    let batch = undersigned::db::run(&app.pool, |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::paper_signatures as p;
        Ok(p::table
            .filter(p::count.eq(30))
            .select(p::id)
            .first::<i32>(c)?)
    })
    .await
    .unwrap();
    let removed = app
        .post_form(
            &format!("/dashboard/petitions/p-log/paper/{batch}/delete"),
            &[("csrf_token", token.as_str())],
        )
        .await;
    assert_eq!(removed.status().as_u16(), 303);

    let json = app.json("p-log").await;
    let total = json["total_count"].as_i64().unwrap();
    assert_eq!(total, 2 + 1200);
    let published = wait_for_log_total(&app, "p-log", total).await;

    // The recount: the sum of the deltas is the total the checkpoint signs, and the count the
    // site shows.
    let (sum, parsed) = recount(&published.entries);
    assert_eq!(sum, published.total);
    assert_eq!(sum, total);
    let kinds: Vec<&str> = parsed.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "confirmed",
            "confirmed",
            "confirmed",
            "invalidated",
            "restored",
            "invalidated",
            "paper",
            "paper",
            "paper_removed"
        ]
    );
    // No entry names anyone: kinds, deltas, commitments, batches and times to the minute.
    for (raw, e) in published.entries.iter().zip(&parsed) {
        let text = String::from_utf8(raw.clone()).unwrap();
        for secret in ["Ani", "ani@", "bot@", "Olga", "spam", "Rally"] {
            assert!(!text.contains(secret), "{text}");
        }
        let time = e["time"].as_str().unwrap();
        assert_eq!(time.len(), "2026-11-23T14:05Z".len(), "{time}");
        if e["kind"].as_str().unwrap().starts_with("paper") {
            assert!(e["commitment"].is_null());
        } else {
            assert_eq!(e["commitment"].as_str().unwrap().len(), 64);
        }
    }
    // The same signature's events share its commitment.
    assert_eq!(parsed[3]["commitment"], parsed[4]["commitment"]);
    assert_eq!(parsed[3]["commitment"], parsed[5]["commitment"]);

    // The Merkle root recomputed from the entries is the one the checkpoint signs.
    assert_eq!(root_of(&published.entries), published.root);
    // Every entry's inclusion proof leads to that root.
    for index in 0..published.size {
        let (status, proof) = get_json(
            &app,
            &format!(
                "/api/v1/petitions/p-log/log/inclusion?index={index}&size={}",
                published.size
            ),
        )
        .await;
        assert_eq!(status, 200);
        let hashes: Vec<Hash> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
            .collect();
        let leaf = merkle::leaf_hash(&published.entries[index as usize]);
        assert!(merkle::verify_inclusion(
            index,
            published.size,
            &leaf,
            &hashes,
            &published.root
        ));
    }
    // The log only grew: the checkpoint after signing is consistent with the latest one.
    let (status, proof) = get_json(
        &app,
        &format!(
            "/api/v1/petitions/p-log/log/consistency?first={}&second={}",
            after_signing.size, published.size
        ),
    )
    .await;
    assert_eq!(status, 200);
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    assert!(merkle::verify_consistency(
        after_signing.size,
        published.size,
        &after_signing.root,
        &published.root,
        &hashes
    ));
    // The summary JSON says the same, with the key.
    let (_, summary) = get_json(&app, "/api/v1/petitions/p-log/log").await;
    assert_eq!(summary["vkey"], published.vkey.as_str());
    assert_eq!(summary["size"], published.size);
    assert_eq!(summary["total"], total);
    let host = app.address.trim_start_matches("http://");
    assert_eq!(summary["origin"], format!("{host}/petitions/p-log"));
    assert_eq!(
        app.get("/api/v1/petitions/p-log/log").await.headers()["access-control-allow-origin"],
        "*"
    );
}

#[tokio::test]
async fn a_petition_signed_before_its_log_began_is_entered_whole_when_it_starts() {
    // An instance whose sequencer has not run yet (its first round is an hour away): like an
    // older version, it counts without logging.
    let old = spawn_app_with(Mail::Memory, &[("log_interval_ms", "3600000")]).await;
    old.create_petition("p-old", &[100]).await;
    for email in ["a@example.org", "b@example.org", "c@example.org"] {
        old.sign("p-old", &[("email", email)]).await;
    }
    for raw in old.wait_for_emails(3).await {
        old.post_form(&old.confirmation_path(&raw), &[]).await;
    }
    assert_eq!(old.count("p-old").await, 3);
    let queued = undersigned::db::run(&old.pool, undersigned::db::log::pending_count)
        .await
        .unwrap();
    assert_eq!(queued, 0, "nothing logged before the log starts");
    // That instance stops; its lease is left to run out. A new one starts the log.
    undersigned::db::run(&old.pool, |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::log_sequencer as l;
        Ok(diesel::update(l::table)
            .set(l::lease_until.eq(chrono::NaiveDateTime::default()))
            .execute(c)?)
    })
    .await
    .unwrap();
    let new =
        crate::helpers::spawn_app_on(old.db.clone(), Mail::Memory, &[("log_interval_ms", "50")])
            .await;
    let published = wait_for_log_total(&new, "p-old", 3).await;
    let (sum, parsed) = recount(&published.entries);
    assert_eq!(sum, 3);
    assert!(parsed.iter().all(|e| e["kind"] == "confirmed"));
    assert_eq!(root_of(&published.entries), published.root);
    // From then on, changes are logged as they happen.
    new.sign("p-old", &[("email", "d@example.org")]).await;
    // Either instance's worker may send it.
    let raw = eventually(
        std::time::Duration::from_secs(10),
        "the confirmation email",
        async || new.emails().pop().or_else(|| old.emails().get(3).cloned()),
    )
    .await;
    new.post_form(&new.confirmation_path(&raw), &[]).await;
    let published = wait_for_log_total(&new, "p-old", 4).await;
    assert_eq!(recount(&published.entries).0, 4);
}

#[tokio::test]
async fn bad_log_requests_get_a_clear_400_and_never_a_500() {
    let app = spawn_app_with(Mail::Memory, &[("log_interval_ms", "50")]).await;
    app.create_petition("p-bad", &[100]).await;
    app.sign("p-bad", &[]).await;
    let raw = app.wait_for_emails(1).await.remove(0);
    app.post_form(&app.confirmation_path(&raw), &[]).await;
    wait_for_log_total(&app, "p-bad", 1).await;
    let base = "/api/v1/petitions/p-bad/log";
    for (path, says) in [
        (format!("{base}/entries?start=0&end=5000"), "at most 1000"),
        (
            format!("{base}/entries?start=5&end=6"),
            "past the log's end",
        ),
        (format!("{base}/entries?start=1&end=1"), "less than"),
        (format!("{base}/entries?start=-1&end=1"), "whole number"),
        (format!("{base}/entries?end=1"), "`start` is missing"),
        (
            format!("{base}/entries?start=0&end=99999999999999999999999"),
            "whole number",
        ),
        (format!("{base}/inclusion?index=1&size=1"), "less than"),
        (
            format!("{base}/inclusion?index=0&size=2"),
            "between 1 and 1",
        ),
        (format!("{base}/inclusion?index=x&size=1"), "whole number"),
        (
            format!("{base}/inclusion?index=0&size=0"),
            "between 1 and 1",
        ),
        (format!("{base}/consistency?first=0&second=1"), "between 1"),
        (format!("{base}/consistency?first=1&second=9"), "at most 1"),
        (format!("{base}/consistency?first=2&second=1"), "between 1"),
        (
            format!("{base}/entries?start=0&start=x&end=1"),
            "whole number",
        ),
        (format!("{base}/inclusion?index=%FF&size=1"), "whole number"),
    ] {
        let (status, body) = get_json(&app, &path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{path}: {message}");
    }
    let (status, body) = get_json(&app, "/api/v1/petitions/nope/log").await;
    assert_eq!(status, 404, "{body}");
    // A proof between equal sizes is empty, and valid.
    let (status, body) = get_json(&app, &format!("{base}/consistency?first=1&second=1")).await;
    assert_eq!(status, 200);
    assert_eq!(body["hashes"], serde_json::json!([]));
}

#[tokio::test]
async fn a_signer_gets_a_receipt_that_proves_their_signature_is_in_the_signed_log() {
    let app = spawn_app_with(Mail::Memory, &[("log_interval_ms", "50")]).await;
    add_organizer(&app, "ana@example.org", "correct horse battery", true);
    app.create_owned_petition("p-receipt", &[100], "ana@example.org")
        .await;
    app.sign("p-receipt", &[("email", "first@example.org")])
        .await;
    app.sign("p-receipt", &[("email", "narine@example.org")])
        .await;
    let mut links = vec![];
    for raw in app.wait_for_emails(2).await {
        links.push(app.confirmation_path(&raw));
    }
    let mut thanks = String::new();
    for link in &links {
        thanks = app.post_form(link, &[]).await.text().await.unwrap();
    }
    // The thanks page links the receipt, and so does the email sent after confirming.
    let marker = "/petitions/p-receipt/receipt/";
    let at = thanks
        .find(marker)
        .expect("a receipt link on the thanks page");
    let path: String = thanks[at..].split('"').next().unwrap().to_string();
    let emails = app.wait_for_all_emails(4).await;
    let receipt_email = emails
        .iter()
        .find(|e| e.contains("To: narine@example.org") && e.contains(marker))
        .expect("a receipt email");
    assert!(crate::helpers::subject(receipt_email).contains("Your signature is counted"));
    let code_path = path.split('?').next().unwrap();
    assert!(receipt_email.contains(code_path));
    wait_for_log_total(&app, "p-receipt", 2).await;

    let page = app.get(&path).await;
    assert_eq!(page.headers()["cache-control"], "no-store");
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Your signature is entry 2 of this petition"),
        "{page}"
    );
    assert!(page.contains("It counts."), "{page}");
    assert!(page.contains("/receipt.js\" defer></script>"));
    assert!(!page.contains("narine"), "the receipt names no one");

    // The JSON proof checks out with nothing but the published key.
    let code = code_path.rsplit('/').next().unwrap();
    let (status, r) = get_json(&app, &format!("/api/v1/petitions/p-receipt/receipt/{code}")).await;
    assert_eq!(status, 200, "{r}");
    let vkey = app
        .get("/.well-known/undersigned/log-key")
        .await
        .text()
        .await
        .unwrap();
    let checkpoint = Verifier::parse(&vkey)
        .unwrap()
        .open(r["checkpoint"].as_str().unwrap())
        .unwrap();
    let leaf = B64.decode(r["leaf"].as_str().unwrap()).unwrap();
    let proof: Vec<Hash> = r["inclusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    assert!(merkle::verify_inclusion(
        r["index"].as_u64().unwrap(),
        checkpoint.size,
        &merkle::leaf_hash(&leaf),
        &proof,
        &checkpoint.root
    ));
    let entry: serde_json::Value = serde_json::from_slice(&leaf).unwrap();
    assert_eq!(entry["kind"], "confirmed");
    // The entry is this signer's: it carries the tag only their receipt code makes.
    assert_eq!(
        entry["receipt"],
        undersigned::log::entry::receipt_tag(code).as_str()
    );
    assert_eq!(r["counted"], true);

    // Invalidated by the organizers: the receipt says it no longer counts.
    login(&app, "ana@example.org", "correct horse battery").await;
    let signers = app
        .get("/dashboard/petitions/p-receipt/signers")
        .await
        .text()
        .await
        .unwrap();
    let id = app.signature_id("narine@example.org").await.to_string();
    app.post_form(
        "/dashboard/petitions/p-receipt/signers",
        &[
            ("csrf_token", &csrf(&signers)),
            ("action", "invalidate"),
            ("id", &id),
            ("reason", "duplicate"),
        ],
    )
    .await;
    wait_for_log_total(&app, "p-receipt", 1).await;
    let page = app.get(&path).await.text().await.unwrap();
    assert!(page.contains("It no longer counts"), "{page}");
    let (_, r) = get_json(&app, &format!("/api/v1/petitions/p-receipt/receipt/{code}")).await;
    assert_eq!(r["counted"], false);

    // Unknown or malformed codes, or another petition's slug, find nothing.
    for bad in [
        format!("/petitions/p-receipt/receipt/{}", "0".repeat(32)),
        "/petitions/p-receipt/receipt/not-a-code".to_string(),
        format!("/petitions/other/receipt/{code}"),
    ] {
        assert_eq!(app.get(&bad).await.status().as_u16(), 404, "{bad}");
    }
}

/// The Chromium binary for browser tests: `CHROMIUM`, else `chromium` on the PATH.
pub fn chromium() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(path.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    })
}

/// CI installs Chromium before it builds: there, the browser tests must run, not be ignored.
#[test]
fn ci_runs_the_browser_tests() {
    assert!(
        cfg!(chromium) || std::env::var("CI").is_err(),
        "CI must install Chromium before building, for the browser tests"
    );
}

/// Chromium for a browser test. Browser tests are marked ignored where the build found no
/// Chromium (`build.rs`, cfg `chromium`), so reaching here without one is a failure.
pub fn browser_for(test: &str) -> std::path::PathBuf {
    chromium().unwrap_or_else(|| {
        panic!("{test} needs Chromium: set CHROMIUM or put chromium on the PATH")
    })
}

/// A receipt opened in a real headless Chromium: its script checks the proof and the
/// checkpoint's Ed25519 signature with Web Crypto and says so on the page. (Ignored where no
/// Chromium is installed; CI installs one.)
#[tokio::test]
#[cfg_attr(
    not(chromium),
    ignore = "needs Chromium (CHROMIUM, or chromium on the PATH)"
)]
async fn a_receipt_verifies_in_a_real_browser() {
    let browser = browser_for("a_receipt_verifies_in_a_real_browser");
    let app = spawn_app_with(Mail::Memory, &[("log_interval_ms", "50")]).await;
    app.create_petition("p-browser", &[100]).await;
    for email in ["one@example.org", "two@example.org", "three@example.org"] {
        app.sign("p-browser", &[("email", email)]).await;
    }
    let mut thanks = String::new();
    for raw in app.wait_for_emails(3).await {
        thanks = app
            .post_form(&app.confirmation_path(&raw), &[])
            .await
            .text()
            .await
            .unwrap();
    }
    wait_for_log_total(&app, "p-browser", 3).await;
    let marker = "/petitions/p-browser/receipt/";
    let at = thanks.find(marker).expect("a receipt link");
    let path: String = thanks[at..].split('"').next().unwrap().to_string();
    let dom = render_in(&browser, &format!("{}{path}", app.address)).await;
    // The element's text (not its data-ok attribute, which holds the same words).
    assert!(
        dom.contains("\">Checked in your browser: the entry is in the log"),
        "DOM: {dom}"
    );
    // A site that alters a signed checkpoint afterwards is caught by the browser too.
    undersigned::db::run(&app.pool, |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::log_checkpoints as l;
        let note: String = l::table.order(l::size.desc()).select(l::note).first(c)?;
        Ok(diesel::update(l::table.filter(l::note.eq(&note)))
            .set(l::note.eq(note.replace("total 3", "total 4")))
            .execute(c)?)
    })
    .await
    .unwrap();
    let dom = render_in(&browser, &format!("{}{path}", app.address)).await;
    assert!(
        dom.contains("\">Your browser could not confirm this proof."),
        "DOM: {dom}"
    );
}

/// The DOM of `url` once a headless Chromium has run its scripts.
pub async fn render_in(browser: &std::path::Path, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(90),
        tokio::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=10000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .output(),
    )
    .await
    .expect("Chromium answered within 90 s")
    .expect("Chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(unix)]
#[tokio::test]
async fn with_a_log_key_file_the_log_key_outlives_a_master_key_rotation() {
    use std::os::unix::fs::PermissionsExt;
    let keys = tempfile::tempdir().unwrap();
    let path = keys.path().join("log").join("log.key");
    let path = path.to_str().unwrap();
    let site = ("base_url", "http://petitions.example");
    let vkey = |app: &TestApp| {
        let app = app.address.clone();
        async move {
            reqwest::get(format!("{app}/.well-known/undersigned/log-key"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let before = spawn_app_with(
        Mail::Memory,
        &[
            site,
            ("log_key_file", path),
            ("secret_key", "the first master key, thirty-two characters"),
        ],
    )
    .await;
    let first = vkey(&before).await;
    assert_eq!(
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The operator rotates: the old key becomes previous_secret_key, and the signers' data is
    // re-sealed under the new one before the server starts again.
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .arg("rotate-key")
        .env_clear()
        .env("UNDERSIGNED_DATA_DIR", data.path())
        .env("UNDERSIGNED_DATABASE_URL", &before.db.url)
        .env("UNDERSIGNED_LOG_KEY_FILE", path)
        .env(
            "UNDERSIGNED_SECRET_KEY",
            "a rotated master key, also thirty-two chars",
        )
        .env(
            "UNDERSIGNED_PREVIOUS_SECRET_KEY",
            "the first master key, thirty-two characters",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated = crate::helpers::spawn_app_on(
        before.db.clone(),
        Mail::Memory,
        &[
            site,
            ("log_key_file", path),
            ("secret_key", "a rotated master key, also thirty-two chars"),
        ],
    )
    .await;
    assert_eq!(vkey(&rotated).await, first, "the log key stays");
    let derived = crate::helpers::spawn_app_on(
        before.db.clone(),
        Mail::Memory,
        &[
            site,
            ("secret_key", "a rotated master key, also thirty-two chars"),
        ],
    )
    .await;
    assert_ne!(
        vkey(&derived).await,
        first,
        "without the file, the key follows the master key"
    );
}

/// A signature invalidated while pending and confirmed afterwards is not counted and gets no
/// receipt; restored, it counts, and its signer gets the receipt (and withdraw link) it was
/// owed, which the log proves.
#[tokio::test]
async fn a_signature_restored_after_confirming_while_invalidated_gets_its_receipt() {
    let app = spawn_app_with(Mail::Memory, &[("log_interval_ms", "50")]).await;
    add_organizer(&app, "ana@example.org", "correct horse battery", true);
    app.create_owned_petition("p-owed", &[100], "ana@example.org")
        .await;
    app.sign("p-owed", &[("email", "narine@example.org")]).await;
    let link = app.confirmation_path(&app.wait_for_emails(1).await[0]);

    login(&app, "ana@example.org", "correct horse battery").await;
    let signers = app
        .get("/dashboard/petitions/p-owed/signers")
        .await
        .text()
        .await
        .unwrap();
    let token = csrf(&signers);
    let id = app.signature_id("narine@example.org").await.to_string();
    let moderate = |action: &'static str| {
        let fields = [
            ("csrf_token", token.clone()),
            ("action", action.to_string()),
            ("id", id.clone()),
            ("reason", "checking".to_string()),
        ];
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form("/dashboard/petitions/p-owed/signers", &fields)
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(moderate("invalidate").await, 303);
    assert_eq!(app.post_form(&link, &[]).await.status().as_u16(), 200);
    app.wait_until_sent().await;
    assert_eq!(app.count("p-owed").await, 0);
    assert!(
        !app.all_emails().iter().any(|m| m.contains("/receipt/")),
        "not counted: no receipt yet"
    );

    assert_eq!(moderate("restore").await, 303);
    let emails = app.wait_for_all_emails(2).await;
    let receipt = emails
        .iter()
        .find(|m| m.contains("/receipt/"))
        .expect("the receipt it was owed");
    assert!(receipt.contains("To: narine@example.org"));
    let (text, _) = crate::helpers::bodies(receipt);
    let path_of = |marker: &str| {
        let word = text
            .split_whitespace()
            .find(|w| w.contains(marker))
            .unwrap_or_else(|| panic!("a {marker} link in {text}"));
        url::Url::parse(word).unwrap().path().to_string()
    };
    let receipt_path = path_of("/receipt/");
    let withdraw_path = path_of("/withdraw/");
    wait_for_log_total(&app, "p-owed", 1).await;
    let page = app.get(&receipt_path).await.text().await.unwrap();
    assert!(page.contains("It counts."), "{page}");
    assert!(page.contains("entry 1 of this petition"), "{page}");
    let withdraw = app.get(&withdraw_path).await;
    assert_eq!(withdraw.status().as_u16(), 200, "the withdraw link works");

    // Restoring again changes nothing and owes nothing.
    assert_eq!(moderate("invalidate").await, 303);
    assert_eq!(moderate("restore").await, 303);
    app.wait_until_sent().await;
    let receipts = app
        .all_emails()
        .iter()
        .filter(|m| m.contains("/receipt/"))
        .count();
    assert_eq!(receipts, 1, "one receipt");
}

/// A log's start tags the signatures counted so far in short transactions, then queues the
/// history under the petition's lock: a signature confirmed in between is logged, one
/// invalidated in between is not, and the log recounts to the count.
#[tokio::test]
async fn a_log_start_in_two_steps_logs_what_changed_between_them() {
    use undersigned::usecases::log as uselog;
    // The server's own sequencer stays out of the way: this test takes its steps.
    let app = spawn_app_with(Mail::Memory, &[("log_interval_ms", "3600000")]).await;
    add_organizer(&app, "ana@example.org", "correct horse battery", true);
    let pid = app
        .create_owned_petition("p-steps", &[100], "ana@example.org")
        .await;
    for email in ["a@example.org", "b@example.org", "c@example.org"] {
        app.sign("p-steps", &[("email", email)]).await;
    }
    for raw in app.wait_for_emails(3).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
    let keys = app.keys.clone();
    undersigned::db::run(&app.pool, move |c| {
        uselog::tag_counted(c, pid, &keys)
            .map_err(|e| undersigned::db::DbError::Other(e.to_string()))
    })
    .await
    .unwrap();

    // Between the steps: one more signature counts, one stops counting.
    app.sign("p-steps", &[("email", "d@example.org")]).await;
    let raw = app.wait_for_emails(4).await;
    app.post_form(&app.confirmation_path(&raw[3]), &[]).await;
    login(&app, "ana@example.org", "correct horse battery").await;
    let signers = app.text("/dashboard/petitions/p-steps/signers").await;
    let b = app.signature_id("b@example.org").await.to_string();
    let res = app
        .post_form(
            "/dashboard/petitions/p-steps/signers",
            &[
                ("csrf_token", &csrf(&signers)),
                ("action", "invalidate"),
                ("id", &b),
                ("reason", "duplicate"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.count("p-steps").await, 3);

    let (signer, keys) = (app.state.log.clone(), app.keys.clone());
    let queued = undersigned::db::run(&app.pool, move |c| {
        let queued = uselog::queue_history(c, pid, &signer, &keys)
            .map_err(|e| undersigned::db::DbError::Other(e.to_string()))?;
        uselog::sequence(c, pid, &signer, undersigned::db::now())
            .map_err(|e| undersigned::db::DbError::Other(e.to_string()))?;
        Ok(queued)
    })
    .await
    .unwrap();
    assert_eq!(queued, 3, "a, c and d");
    let published = fetch(&app, "p-steps").await;
    let (total, entries) = recount(&published.entries);
    assert_eq!(total, 3);
    assert_eq!(entries.len(), 3);
    assert!(
        entries.iter().all(|e| e["kind"] == "confirmed"),
        "{entries:?}"
    );
}
