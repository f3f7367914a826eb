//! Moving a running campaign from SQLite to PostgreSQL (or, without `TEST_DATABASE_URL`, to
//! another SQLite file) with `undersigned migrate-data`.

use std::process::{Command, Output};
use std::sync::Arc;

use crate::helpers::{Mail, TestDatabase, spawn_app_on};

/// Runs the command as the site's operator: with the site's master key, `key_file`.
fn undersigned(args: &[&str], database_url: &str, key_file: &std::path::Path) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNDERSIGNED_DATA_DIR", dir.path())
        .env("UNDERSIGNED_KEY_FILE", key_file)
        .env("UNDERSIGNED_DATABASE_URL", database_url)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_campaign_moves_mid_flight_without_losing_a_signature() {
    let source = Arc::new(TestDatabase::sqlite());
    let target = Arc::new(TestDatabase::create());
    // One site, one master key, wherever its database lives.
    std::fs::copy(source.key_file(), target.key_file()).unwrap();
    let key = source.key_file();
    let laptop = spawn_app_on(source.clone(), Mail::Memory, &[]).await;
    assert!(undersigned(&["demo"], &source.url, &key).status.success());
    laptop.create_petition("p-move", &[100]).await;
    // One signer confirmed, one still holding an unused link when the move happens.
    laptop
        .sign("p-move", &[("email", "done@example.org"), ("name", "Անի")])
        .await;
    laptop
        .sign(
            "p-move",
            &[("email", "later@example.org"), ("name", "Ольга")],
        )
        .await;
    let emails = laptop.wait_for_emails(2).await;
    let (done, later): (Vec<_>, Vec<_>) = emails.iter().partition(|e| e.contains("To: done@"));
    laptop
        .post_form(&laptop.confirmation_path(done[0]), &[])
        .await;
    let later_link = laptop.confirmation_path(later[0]);

    let out = undersigned(
        &["migrate-data", "--from", &source.url, "--to", &target.url],
        &source.url,
        &key,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("signatures\t46233"), "{report}");
    // The demo's OSCE petition in Armenian, French and Russian besides English.
    assert!(report.contains("petition_translations\t3"), "{report}");
    // Two confirmation links and the confirmed signer's receipt.
    assert!(report.contains("email_jobs\t3"), "{report}");

    // The same list, the same export, byte for byte.
    for args in [
        &["petition", "list"][..],
        &["export", "--petition", "p-move"][..],
        &[
            "export",
            "--petition",
            "un-secretary-general-free-the-prisoners",
        ][..],
    ] {
        let before = undersigned(args, &source.url, &key);
        let after = undersigned(args, &target.url, &key);
        assert!(
            after.status.success(),
            "{}",
            String::from_utf8_lossy(&after.stderr)
        );
        assert_eq!(before.stdout, after.stdout, "{args:?}");
    }

    // The campaign goes on at the new home: the old link confirms, new signers get new ids.
    let server = spawn_app_on(target.clone(), Mail::Memory, &[]).await;
    let res = server.post_form(&later_link, &[]).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text().await.unwrap().contains("You are signer #2"));
    assert_eq!(
        server
            .sign("p-move", &[("email", "new@example.org")])
            .await
            .status()
            .as_u16(),
        303
    );
    server
        .post_form(
            &server.confirmation_path(&server.wait_for_emails(1).await[0]),
            &[],
        )
        .await;
    assert_eq!(server.count("p-move").await, 3);
    assert_eq!(server.count("osce-moscow-mechanism").await, 3807);

    // A second run would mix two campaigns: it is refused and changes nothing.
    let again = undersigned(
        &["migrate-data", "--from", &source.url, "--to", &target.url],
        &source.url,
        &key,
    );
    assert!(!again.status.success());
    assert!(
        String::from_utf8(again.stderr)
            .unwrap()
            .contains("not empty")
    );
    assert_eq!(server.count("p-move").await, 3);
}
