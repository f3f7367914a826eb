use std::process::Command;

use crate::helpers::TestDatabase;

/// The binary, with its own data dir and the given test database.
fn undersigned(data_dir: &std::path::Path, db: &TestDatabase) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_undersigned"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNDERSIGNED_DATA_DIR", data_dir);
    cmd.env("UNDERSIGNED_DATABASE_URL", &db.url);
    cmd
}

#[test]
fn petitions_are_created_and_listed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create();
    let out = undersigned(dir.path(), &db)
        .args([
            "petition",
            "create",
            "--slug",
            "osce-moscow-mechanism",
            "--title",
            "Trigger the Moscow Mechanism",
        ])
        .args([
            "--goal",
            "1000",
            "--goal",
            "5500",
            "--target",
            "OSCE Chairperson-in-Office",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "http://127.0.0.1:8080/petitions/osce-moscow-mechanism"
    );
    let list = undersigned(dir.path(), &db)
        .args(["petition", "list"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(list.stdout).unwrap(),
        "osce-moscow-mechanism\topen\t0\t1000\n"
    );

    let dup = undersigned(dir.path(), &db)
        .args([
            "petition",
            "create",
            "--slug",
            "osce-moscow-mechanism",
            "--title",
            "x",
            "--goal",
            "5",
        ])
        .output()
        .unwrap();
    assert!(!dup.status.success());
    let err = String::from_utf8(dup.stderr).unwrap();
    assert!(
        err.contains("already exists") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn bad_config_stops_with_a_one_line_message_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create();
    let out = undersigned(dir.path(), &db)
        .env("UNDERSIGNED_BASE_URL", "not a url")
        .args(["petition", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("base_url"), "{err}");
}

#[test]
fn the_demo_loads_and_exports_as_csv_with_formulas_neutralised() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create();
    let demo = undersigned(dir.path(), &db).arg("demo").output().unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let list = String::from_utf8(
        undersigned(dir.path(), &db)
            .args(["petition", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        list.contains("osce-moscow-mechanism\topen\t3807\t5500"),
        "{list}"
    );
    assert!(
        list.contains("un-secretary-general-free-the-prisoners\topen\t42424\t50000"),
        "{list}"
    );
    // Loading twice changes nothing.
    let again = String::from_utf8(
        undersigned(dir.path(), &db)
            .arg("demo")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(again.contains("already loaded"));

    let out = undersigned(dir.path(), &db)
        .args([
            "export",
            "--petition",
            "osce-moscow-mechanism",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "number",
            "signed_at",
            "confirmed_at",
            "name",
            "email",
            "country",
            "postcode",
            "comment",
            "public"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3807);
    assert_eq!(&rows[0][0], "1");
    assert!(rows[0][1].ends_with('Z'));
    assert!(
        rows.iter()
            .any(|r| r[3].chars().any(|c| ('\u{0531}'..='\u{058F}').contains(&c))),
        "Armenian names survive"
    );

    let unknown = undersigned(dir.path(), &db)
        .args(["export", "--petition", "nope"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8(unknown.stderr)
            .unwrap()
            .contains("no petition")
    );
}

#[tokio::test]
async fn a_formula_like_name_signed_on_the_site_is_neutralised_in_the_export() {
    let app = crate::helpers::spawn_app().await;
    app.create_petition("p-export", &[100]).await;
    let names = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "Անի Պետրոսյան",
        "Ольга Иванова",
    ];
    for (i, name) in names.iter().enumerate() {
        let email = format!("e{i}@example.org");
        app.sign(
            "p-export",
            &[
                ("name", name),
                ("email", &email),
                ("comment", "+1 from Paris"),
            ],
        )
        .await;
    }
    for raw in app.wait_for_emails(3).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
    let out = undersigned(app.dir.path(), &app.db)
        .args(["export", "--petition", "p-export"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mut exported: Vec<&str> = rows.iter().map(|r| &r[3]).collect();
    exported.sort();
    let mut expected = vec![
        "'=HYPERLINK(\"http://evil.example\",\"x\")",
        "Անի Պետրոսյան",
        "Ольга Иванова",
    ];
    expected.sort();
    assert_eq!(exported, expected);
    assert!(rows.iter().all(|r| &r[7] == "'+1 from Paris"));
}

/// Started without `smtp_url`, the server says at once that its `.eml` files keep every email
/// in clear and are for trying it out only.
#[test]
fn the_file_transport_says_it_keeps_emails_in_clear() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create();
    let mut child = undersigned(dir.path(), &db)
        .arg("serve")
        .env("UNDERSIGNED_BIND", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Its banner comes first; a server that never prints is stopped by the deadline below.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = std::io::BufReader::new(stdout)
            .lines()
            .take(3)
            .map_while(Result::ok)
            .collect();
        let _ = tx.send(lines);
    });
    let banner = rx.recv_timeout(std::time::Duration::from_secs(30));
    child.kill().unwrap();
    child.wait().unwrap();
    let banner = banner.expect("the banner within 30 s").join("\n");
    assert!(banner.contains("emails go to .eml files"), "{banner}");
    assert!(
        banner.contains("keep every email in clear, for good; set smtp_url"),
        "{banner}"
    );
}
