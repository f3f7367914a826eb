//! The delivery package: made by `undersigned delivery-package` and from the dashboard,
//! checked by `undersigned verify` and by its own verify.html in a real browser, refused when
//! tampered with; and a recorded delivery shown publicly with the checkpoint it carried.

use std::io::{Read, Write};
use std::process::Output;

use crate::helpers::{Mail, TestApp, spawn_app_with, spawn_client};
use crate::log::{browser_for, wait_for_log_total};
use crate::organizers::{add_organizer, csrf, login};

/// The log-signing seed the test apps here use (`log_key_file`), so a test can play an
/// insider who holds the key.
const SEED: [u8; 32] = [7; 32];

/// A test app whose log key is [`SEED`], kept in a `log_key_file` outside its data dir.
async fn app_with_key() -> TestApp {
    let path = key_path();
    std::fs::write(&path, hex::encode(SEED)).unwrap();
    spawn_app_with(
        Mail::Memory,
        &[
            ("log_interval_ms", "50"),
            ("log_key_file", path.to_str().unwrap()),
        ],
    )
    .await
}

fn key_path() -> std::path::PathBuf {
    std::env::temp_dir().join("undersigned-test-log.key")
}

/// `undersigned delivery-package` for `slug`, written to `path`.
fn package(app: &TestApp, slug: &str, path: &str, emails: bool) -> Output {
    let mut args = vec!["delivery-package", "--petition", slug, "--output", path];
    if emails {
        args.push("--emails");
    }
    cli(app, &args)
}

/// Runs the command line with the test app's configuration.
fn cli(app: &TestApp, args: &[&str]) -> Output {
    cli_with(app, args, Some(&key_path()))
}

fn cli_with(app: &TestApp, args: &[&str], log_key_file: Option<&std::path::Path>) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNDERSIGNED_DATA_DIR", app.dir.path())
        .env("UNDERSIGNED_DATABASE_URL", &app.db.url)
        .env("UNDERSIGNED_BASE_URL", &app.address);
    if let Some(path) = log_key_file {
        cmd.env("UNDERSIGNED_LOG_KEY_FILE", path);
    }
    cmd.output().unwrap()
}

fn verify(path: &std::path::Path, vkey: Option<&str>) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"));
    cmd.arg("verify").arg(path).env_clear();
    if let Some(v) = vkey {
        cmd.args(["--vkey", v]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The files of a ZIP, in order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().into_owned(), data)
        })
        .collect()
}

fn rezip(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &files.iter().find(|(n, _)| n == name).unwrap().1
}

fn text(files: &[(String, Vec<u8>)], name: &str) -> String {
    String::from_utf8(file(files, name).to_vec()).unwrap()
}

fn replace(files: &mut [(String, Vec<u8>)], name: &str, data: Vec<u8>) {
    files.iter_mut().find(|(n, _)| n == name).unwrap().1 = data;
}

/// What an insider holding `key` can do: restate the manifest's hashes and re-sign it.
fn resign(files: &mut [(String, Vec<u8>)], key: &undersigned::log::note::LogKey) {
    use sha2::Digest;
    let mut manifest: serde_json::Value =
        serde_json::from_slice(file(files, "manifest.json")).unwrap();
    let names: Vec<String> = manifest["files"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for name in names {
        let hash = hex::encode(sha2::Sha256::digest(file(files, &name)));
        manifest["files"][&name] = hash.into();
    }
    let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    let signature = format!("{}\n", key.sign_bytes(&bytes));
    replace(files, "manifest.json", bytes);
    replace(files, "manifest.sig", signature.into_bytes());
}

/// A petition with three counted signatures (a fourth invalidated, a fifth never confirmed)
/// and 40 on paper; returns the organizer's CSRF token.
async fn petition_with_history(app: &TestApp, slug: &str) -> String {
    add_organizer(app, "ana@example.org", "correct horse battery", true);
    app.create_owned_petition(slug, &[100], "ana@example.org")
        .await;
    for (name, email) in [
        ("Anahit Melikyan", "anahit@example.org"),
        ("=HYPERLINK(\"x\")", "formula@example.org"),
        ("Olga, \"Olya\" Ivanova", "olga@example.org"),
        ("Fake One", "bot@spam.example"),
    ] {
        app.sign(slug, &[("name", name), ("email", email)]).await;
    }
    for raw in app.wait_for_emails(4).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
    app.sign(
        slug,
        &[("name", "Never Confirmed"), ("email", "late@example.org")],
    )
    .await;
    login(app, "ana@example.org", "correct horse battery").await;
    let page = app
        .text(&format!("/dashboard/petitions/{slug}/signers"))
        .await;
    let fake = app.signature_id("bot@spam.example").await.to_string();
    let res = app
        .post_form(
            &format!("/dashboard/petitions/{slug}/signers"),
            &[
                ("csrf_token", &csrf(&page)),
                ("action", "invalidate"),
                ("id", &fake),
                ("reason", "disposable address"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let token = csrf(&app.text(&format!("/dashboard/petitions/{slug}")).await);
    let res = app
        .post_form(
            &format!("/dashboard/petitions/{slug}/paper"),
            &[
                ("csrf_token", token.as_str()),
                ("count", "40"),
                ("collected_on", "2026-11-01"),
                ("note", "Rally in Yerevan"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    token
}

#[tokio::test]
async fn a_delivery_package_round_trips_and_undersigned_verify_accepts_it() {
    let app = app_with_key().await;
    petition_with_history(&app, "p-pack").await;
    let out_dir = tempfile::tempdir().unwrap();
    let path = out_dir.path().join("p-pack.zip");
    // Run without the server's log key, the command refuses: it must not sign this log's
    // checkpoints with another key (which the published key would not verify).
    wait_for_log_total(&app, "p-pack", 43).await;
    let wrong = cli_with(
        &app,
        &[
            "delivery-package",
            "--petition",
            "p-pack",
            "--output",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("not signed by this configuration's key"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert!(!path.exists(), "no partial package is left");
    // Made at once: the package brings the log up to date itself, whatever the sequencer did.
    let made = package(&app, "p-pack", path.to_str().unwrap(), false);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(
        String::from_utf8_lossy(&made.stdout).contains("43 signatures (3 online, 40 on paper)"),
        "{}",
        String::from_utf8_lossy(&made.stdout)
    );
    assert_eq!(app.json("p-pack").await["total_count"], 43);

    let vkey = app.text("/.well-known/undersigned/log-key").await;
    let (ok, out, err) = verify(&path, Some(vkey.trim()));
    assert!(ok, "{err}");
    assert!(
        out.contains("verified: 43 signatures (3 online, 40 on paper)"),
        "{out}"
    );
    // Without the site's key the package is not verified, however well it agrees with
    // itself: anyone can make one under a key of their own (exit code 2, naming the key).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .arg("verify")
        .arg(&path)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NOT VERIFIED: signed by a key that was not checked")
            && err.contains(vkey.trim()),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .arg("verify")
        .arg(&path)
        .arg("--trust-package-key")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("was trusted (--trust-package-key)"));

    let files = unzip(&std::fs::read(&path).unwrap());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for name in [
        "manifest.json",
        "manifest.sig",
        "signatures.csv",
        "paper.csv",
        "petition.en.md",
        "log-entries.jsonl",
        "checkpoint.txt",
        "vkey.txt",
        "verify.html",
        "README.txt",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert_eq!(text(&files, "vkey.txt").trim(), vkey.trim());
    let csv = text(&files, "signatures.csv");
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next().unwrap(),
        "number,signed_at,confirmed_at,name,email,country,postcode,comment,public,commitment"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(csv.contains("Anahit Melikyan"));
    assert!(csv.contains("'=HYPERLINK"), "formulas neutralised: {csv}");
    assert!(!csv.contains("Fake One") && !csv.contains("Never Confirmed"));
    assert!(
        !csv.contains("@example.org"),
        "no emails unless asked: {csv}"
    );
    let paper = text(&files, "paper.csv");
    assert!(paper.contains(",40,2026-11-01,Rally in Yerevan"), "{paper}");

    // The checkpoint is one the site published, and the log the one it serves.
    let manifest: serde_json::Value =
        serde_json::from_slice(file(&files, "manifest.json")).unwrap();
    assert_eq!(manifest["total"], 43);
    assert_eq!(manifest["signatures"], 3);
    assert_eq!(manifest["paper"], 40);
    assert_eq!(manifest["checkpoint"], text(&files, "checkpoint.txt"));
    let published = wait_for_log_total(&app, "p-pack", 43).await;
    assert_eq!(manifest["size"], published.size);
    let entries = text(&files, "log-entries.jsonl");
    assert_eq!(entries.lines().count() as u64, published.size);
    assert!(!entries.contains("Anahit") && !entries.contains("example.org"));
    let readme = text(&files, "README.txt");
    assert!(
        readme.contains("43 signatures in all, 3 signed online"),
        "{readme}"
    );
    assert!(readme.contains(&format!("{}/.well-known/undersigned/log-key", app.address)));
    // Who made a package, and whether it holds emails, is on record.
    let audit = app.text("/dashboard/audit").await;
    assert!(audit.contains("delivery-package"), "{audit}");

    let with_emails = out_dir.path().join("emails.zip");
    let made = package(&app, "p-pack", with_emails.to_str().unwrap(), true);
    assert!(made.status.success());
    let files = unzip(&std::fs::read(&with_emails).unwrap());
    assert!(text(&files, "signatures.csv").contains("anahit@example.org"));
    assert!(verify(&with_emails, Some(vkey.trim())).0);

    let missing = package(&app, "nope", "/tmp/x.zip", false);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no petition with the slug"));
}

#[tokio::test]
async fn a_tampered_package_is_refused_and_verify_names_what_failed() {
    let app = app_with_key().await;
    petition_with_history(&app, "p-tamper").await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.zip");
    let made = package(&app, "p-tamper", good.to_str().unwrap(), false);
    assert!(made.status.success());
    let vkey = app.text("/.well-known/undersigned/log-key").await;
    let vkey = vkey.trim().to_string();
    let original = unzip(&std::fs::read(&good).unwrap());
    let host = app.address.trim_start_matches("http://");
    let insider = undersigned::log::note::LogKey::new(&SEED, host);
    assert_eq!(insider.vkey(), vkey, "the test holds the site's key");
    let stranger = undersigned::log::note::LogKey::new(&[9; 32], host);

    type Tamper = Box<dyn Fn(&mut Vec<(String, Vec<u8>)>)>;
    let cases: Vec<(&str, Tamper, Option<&str>, &str)> = vec![
        (
            "one changed row",
            Box::new(|f| {
                let csv = text(f, "signatures.csv").replace("Anahit Melikyan", "Anahit Melik");
                replace(f, "signatures.csv", csv.into_bytes());
            }),
            None,
            "signatures.csv: its content is not what the manifest says",
        ),
        (
            "a removed file",
            Box::new(|f| f.retain(|(n, _)| n != "checkpoint.txt")),
            None,
            "checkpoint.txt: listed in the manifest but missing",
        ),
        (
            "an added file",
            Box::new(|f| f.push(("extra.csv".into(), b"number\n9\n".to_vec()))),
            None,
            "extra.csv: not listed in the manifest",
        ),
        (
            "a second signatures.csv",
            Box::new(|f| {
                // Renamed to the same name once zipped (see the loop below).
                let csv = text(f, "signatures.csv").replace("Anahit Melikyan", "Anahit Melik");
                f.insert(0, ("signatures.cs_".into(), csv.into_bytes()));
            }),
            None,
            "two files in the ZIP file have the same name",
        ),
        (
            "a signer listed twice under two spellings, re-signed by an insider",
            Box::new(|f| {
                let csv = text(f, "signatures.csv");
                let olga = csv
                    .lines()
                    .find(|l| l.contains("Olga"))
                    .unwrap()
                    .to_string();
                let anahit = csv
                    .lines()
                    .find(|l| l.contains("Anahit"))
                    .unwrap()
                    .to_string();
                let commitment = olga.rsplit(',').next().unwrap().to_string();
                let twin = anahit.replace(
                    anahit.rsplit(',').next().unwrap(),
                    &commitment.to_uppercase(),
                );
                replace(
                    f,
                    "signatures.csv",
                    csv.replace(&anahit, &twin).into_bytes(),
                );
                let key = undersigned::log::note::LogKey::new(&SEED, host_of(f));
                resign(f, &key);
            }),
            None,
            "is not a signature the log counts",
        ),
        (
            "a swapped key",
            Box::new(move |f| {
                replace(f, "vkey.txt", format!("{}\n", stranger.vkey()).into_bytes())
            }),
            None,
            "manifest.sig: not a signature of manifest.json",
        ),
        (
            "a package re-signed by another key, checked against the published one",
            Box::new(move |f| {
                let other = undersigned::log::note::LogKey::new(&[9; 32], "127.0.0.1");
                replace(f, "vkey.txt", format!("{}\n", other.vkey()).into_bytes());
                resign(f, &other);
            }),
            Some(vkey.as_str()),
            "vkey.txt: the package carries another key than the one given with --vkey",
        ),
        (
            "a truncated log, re-signed by an insider",
            Box::new(move |f| {
                let key = undersigned::log::note::LogKey::new(&SEED, host_of(f));
                let entries = text(f, "log-entries.jsonl");
                let kept: String = entries
                    .lines()
                    .take(entries.lines().count() - 1)
                    .map(|l| format!("{l}\n"))
                    .collect();
                replace(f, "log-entries.jsonl", kept.into_bytes());
                resign(f, &key);
            }),
            None,
            "entries; the signed checkpoint covers",
        ),
        (
            "paper inflated, re-signed by an insider",
            Box::new(move |f| {
                let paper = text(f, "paper.csv").replace(",40,", ",4000,");
                replace(f, "paper.csv", paper.into_bytes());
                let key = undersigned::log::note::LogKey::new(&SEED, host_of(f));
                resign(f, &key);
            }),
            None,
            "paper.csv: row 2 is not a paper batch the log counts",
        ),
    ];
    for (what, tamper, given, expected) in cases {
        let mut files = original.clone();
        tamper(&mut files);
        let path = dir.path().join("tampered.zip");
        // A ZIP writer refuses two files of one name; a forger's tool need not.
        let bytes = rezip(&files);
        let twin = b"signatures.cs_";
        let mut bytes = bytes.clone();
        while let Some(at) = bytes.windows(twin.len()).position(|w| w == twin) {
            bytes[at..at + twin.len()].copy_from_slice(b"signatures.csv");
        }
        std::fs::write(&path, bytes).unwrap();
        let (ok, _, err) = verify(&path, given);
        assert!(!ok, "{what}: accepted");
        assert!(
            err.contains("NOT VERIFIED") && err.contains(expected),
            "{what}: {err}"
        );
    }
    // A row dropped by someone holding the key still fails: the list no longer matches the log.
    let mut files = original.clone();
    let csv = text(&files, "signatures.csv");
    let kept: String = csv
        .lines()
        .filter(|l| !l.contains("Olga"))
        .map(|l| format!("{l}\n"))
        .collect();
    replace(&mut files, "signatures.csv", kept.into_bytes());
    resign(&mut files, &insider);
    let path = dir.path().join("dropped.zip");
    std::fs::write(&path, rezip(&files)).unwrap();
    let (ok, _, err) = verify(&path, Some(&vkey));
    assert!(!ok);
    assert!(
        err.contains("signatures.csv: lists 2 signatures; the log counts 3"),
        "{err}"
    );
    // Not a package at all.
    std::fs::write(&path, b"PK\x03\x04 not really").unwrap();
    let (ok, _, err) = verify(&path, None);
    assert!(!ok && err.contains("not a ZIP file"), "{err}");
    // The untouched package still verifies after all that.
    std::fs::write(&path, rezip(&original)).unwrap();
    assert!(verify(&path, Some(&vkey)).0);
}

/// The host a package's key is named after (its vkey's name).
fn host_of(files: &[(String, Vec<u8>)]) -> &str {
    let vkey = std::str::from_utf8(file(files, "vkey.txt")).unwrap();
    vkey.split('+').next().unwrap()
}

/// The package's own verify.html, opened in a real headless Chromium with the package handed
/// to its check (the same function its file picker calls): a fresh package is verified, one
/// with a changed row is refused.
#[tokio::test]
#[cfg_attr(
    not(chromium),
    ignore = "needs Chromium (CHROMIUM, or chromium on the PATH)"
)]
async fn verify_html_checks_a_package_in_a_real_browser_with_no_network() {
    let browser = browser_for("verify_html_checks_a_package_in_a_real_browser_with_no_network");
    let app = app_with_key().await;
    petition_with_history(&app, "p-html").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.zip");
    let made = package(&app, "p-html", path.to_str().unwrap(), false);
    assert!(made.status.success());
    let package = std::fs::read(&path).unwrap();
    let files = unzip(&package);
    let mut changed = files.clone();
    let csv = text(&changed, "signatures.csv").replace("Anahit Melikyan", "Anahit Melik");
    replace(&mut changed, "signatures.csv", csv.into_bytes());

    // A forger's package: the same files, signed by a key of its own.
    let mut forged = files.clone();
    let other = undersigned::log::note::LogKey::new(&[9; 32], host_of(&forged));
    replace(
        &mut forged,
        "vkey.txt",
        format!("{}\n", other.vkey()).into_bytes(),
    );
    resign(&mut forged, &other);
    // A key file that inflates past what any key needs: refused before it is read whole.
    let mut bomb = files.clone();
    replace(&mut bomb, "vkey.txt", vec![b' '; 4 << 20]);
    // A list swapped for a larger one under the genuine, signed manifest: read no further
    // than the size the manifest signs, so it cannot make the page inflate gigabytes.
    let mut swollen = files.clone();
    replace(&mut swollen, "signatures.csv", vec![b'a'; 4 << 20]);
    let site_key = app.text("/.well-known/undersigned/log-key").await;
    let site_key = site_key.trim();

    for (zip, key, expected) in [
        (
            package.clone(),
            site_key,
            "VERIFIED: 43 signatures (3 online, 40 on paper).",
        ),
        (package, "", "NOT VERIFIED: no site key given"),
        (
            rezip(&changed),
            site_key,
            "NOT VERIFIED: signatures.csv is not the file the site signed",
        ),
        (
            rezip(&forged),
            site_key,
            "NOT VERIFIED: this package is signed by another key than the site",
        ),
        (
            rezip(&bomb),
            site_key,
            "NOT VERIFIED: vkey.txt inflates to more than",
        ),
        (
            rezip(&swollen),
            site_key,
            "NOT VERIFIED: signatures.csv inflates to more than",
        ),
    ] {
        use base64::Engine;
        let page = text(&files, "verify.html").replace(
            "</body>",
            &format!(
                "<script>const b = Uint8Array.from(atob(\"{}\"), (c) => c.charCodeAt(0));\
                 window.undersignedVerify([new File([b], \"package.zip\")], \"{key}\");</script></body>",
                base64::engine::general_purpose::STANDARD.encode(&zip)
            ),
        );
        let html = dir.path().join("check.html");
        std::fs::write(&html, page).unwrap();
        let dom = crate::log::render_in(&browser, &format!("file://{}", html.display())).await;
        let at = dom.find("id=\"result\"").expect("the result element");
        assert!(
            dom[at..].contains(expected),
            "{expected}: {}",
            &dom[at..at + 200]
        );
        if expected.starts_with("VERIFIED") {
            assert!(
                dom[at..].contains("/petitions/p-html"),
                "names the petition: {}",
                &dom[at..]
            );
        }
    }
}

#[tokio::test]
async fn organizers_make_a_package_on_the_dashboard_and_record_its_delivery() {
    let app = app_with_key().await;
    let token = petition_with_history(&app, "p-deliver").await;
    // Without the form's token: refused, nothing made.
    let res = app
        .post_form("/dashboard/petitions/p-deliver/package", &[])
        .await;
    assert_eq!(res.status().as_u16(), 403);
    let res = app
        .post_form(
            "/dashboard/petitions/p-deliver/package",
            &[("csrf_token", token.as_str())],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"p-deliver-delivery-")
    );
    let zip = res.bytes().await.unwrap();
    let vkey = app.text("/.well-known/undersigned/log-key").await;
    let verified =
        undersigned::package::verify::verify(std::io::Cursor::new(zip.to_vec()), Some(&vkey))
            .expect("the dashboard's package verifies");
    assert_eq!(verified.manifest.total, 43);
    // Nothing of it is left on the server's disk.
    let leftovers: Vec<_> = std::fs::read_dir(app.dir.path().join("tmp"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let manage = app.text("/dashboard/petitions/p-deliver").await;
    let marker = "name=\"package\" required><option value=\"";
    let at = manage
        .find(marker)
        .expect("the delivery form lists the package")
        + marker.len();
    let package: String = manage[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    // The list of packages made names each by its manifest's SHA-256.
    let manifest = unzip(&zip)
        .into_iter()
        .find(|(n, _)| n == "manifest.json")
        .unwrap()
        .1;
    use sha2::Digest;
    assert!(manage.contains(&hex::encode(sha2::Sha256::digest(&manifest))));

    let record = |recipient: &'static str, day: String, package: String| {
        let token = token.clone();
        let app = &app;
        async move {
            app.post_form(
                "/dashboard/petitions/p-deliver/deliveries",
                &[
                    ("csrf_token", token.as_str()),
                    ("package", package.as_str()),
                    ("recipient", recipient),
                    ("delivered_on", day.as_str()),
                ],
            )
            .await
        }
    };
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let in_a_week = (chrono::Utc::now() + chrono::TimeDelta::days(7))
        .format("%Y-%m-%d")
        .to_string();
    for (recipient, day, package, status) in [
        ("", today.clone(), package.clone(), 400),
        (
            "OSCE\u{202E}tairaterceS",
            today.clone(),
            package.clone(),
            400,
        ),
        ("OSCE Secretariat", in_a_week, package.clone(), 400),
        (
            "OSCE Secretariat",
            "23/11/2026".to_string(),
            package.clone(),
            400,
        ),
        ("OSCE Secretariat", today.clone(), "999999".to_string(), 404),
        ("OSCE Secretariat", today.clone(), "x".to_string(), 400),
        // Before the package was made.
        (
            "OSCE Secretariat",
            "2026-01-20".to_string(),
            package.clone(),
            409,
        ),
    ] {
        let res = record(recipient, day.clone(), package).await;
        assert_eq!(res.status().as_u16(), status, "{recipient:?} {day}");
    }
    assert!(
        app.json("p-deliver").await["deliveries"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let res = record("OSCE Secretariat", today.clone(), package).await;
    assert_eq!(res.status().as_u16(), 303);

    // Public: who received it, when, how many, and the signed checkpoint handed over.
    let visitor = spawn_client();
    let page = visitor
        .get(format!("{}/petitions/p-deliver", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = page
        .split("Delivered to OSCE Secretariat on ")
        .nth(1)
        .expect("the delivery on the public page");
    assert!(
        line.split('<')
            .next()
            .unwrap()
            .ends_with(": 43 signatures."),
        "{line}"
    );
    let json = app.json("p-deliver").await;
    let delivery = &json["deliveries"][0];
    assert_eq!(delivery["recipient"], "OSCE Secretariat");
    assert_eq!(delivery["delivered_on"], today.as_str());
    assert_eq!(delivery["total"], 43);
    assert_eq!(delivery["checkpoint"], verified.manifest.checkpoint);
    let checkpoint = undersigned::log::note::Verifier::parse(&vkey)
        .unwrap()
        .open(delivery["checkpoint"].as_str().unwrap())
        .expect("the delivered checkpoint is signed by the published key");
    assert_eq!(checkpoint.extension("total"), Some("43"));
    let audit = app.text("/dashboard/audit").await;
    assert!(audit.contains("delivery-recorded"), "{audit}");

    // Someone who does not manage the petition can neither make nor record.
    app.post_form("/logout", &[("csrf_token", token.as_str())])
        .await;
    add_organizer(&app, "mallory@example.org", "another long password", false);
    login(&app, "mallory@example.org", "another long password").await;
    let other = csrf(&app.text("/dashboard").await);
    let res = app
        .post_form(
            "/dashboard/petitions/p-deliver/package",
            &[("csrf_token", other.as_str())],
        )
        .await;
    assert_eq!(res.status().as_u16(), 404);
}

#[tokio::test]
async fn a_package_carries_the_petition_in_every_language_it_has() {
    let app = app_with_key().await;
    app.create_petition("p-versions", &[10]).await;
    let out = cli(
        &app,
        &[
            "petition",
            "translate",
            "--slug",
            "p-versions",
            "--lang",
            "hy",
            "--title",
            "Ազատություն գերիներին",
            "--target",
            "ՄԱԿ-ի գլխավոր քարտուղար",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.sign("p-versions", &[("email", "one@example.am")]).await;
    let link = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    app.post_form(&link, &[]).await;
    wait_for_log_total(&app, "p-versions", 1).await;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("versions.zip");
    let out = package(&app, "p-versions", path.to_str().unwrap(), false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = unzip(&std::fs::read(&path).unwrap());
    let hy = text(&files, "petition.hy.md");
    assert!(hy.starts_with("# Ազատություն գերիներին\n"), "{hy}");
    assert!(hy.contains("- ՄԱԿ-ի գլխավոր քարտուղար"), "{hy}");
    assert!(text(&files, "petition.en.md").starts_with("# Petition p-versions"));
    let manifest: serde_json::Value =
        serde_json::from_slice(file(&files, "manifest.json")).unwrap();
    assert_eq!(
        manifest["petition"]["languages"],
        serde_json::json!(["en", "hy"])
    );
    let readme = text(&files, "README.txt");
    assert!(
        readme.contains("Ազատություն գերիներին"),
        "each part names its own title: {readme}"
    );
    let vkey = app.text("/.well-known/undersigned/log-key").await;
    let (ok, stdout, stderr) = verify(&path, Some(vkey.trim()));
    assert!(ok, "{stdout}{stderr}");
}
