//! Witnessing: a witness checks that a petition's log only grew since it last looked, and
//! cosigns; the site serves the checkpoint with the cosignature of a witness it trusts.

use std::process::Output;

use crate::helpers::{Mail, TestApp, spawn_app_with};
use crate::log::wait_for_log_total;
use undersigned::log::note::{LogKey, Verifier};

const WITNESS_SEED: [u8; 32] = [5; 32];
const WITNESS: &str = "witness.example.net";

fn witness(app: &TestApp, dir: &std::path::Path, slug: &str) -> Output {
    witness_with(app, dir, slug, &[])
}

fn witness_with(app: &TestApp, dir: &std::path::Path, slug: &str, extra: &[&str]) -> Output {
    let key_file = dir.join("witness.key");
    std::fs::write(&key_file, hex::encode(WITNESS_SEED)).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .args(["witness", &format!("{}/petitions/{slug}", app.address)])
        .arg("--state")
        .arg(dir.join("state.json"))
        .arg("--key-file")
        .arg(&key_file)
        .args(["--name", WITNESS, "--submit"])
        .args(extra)
        .env_clear()
        .output()
        .unwrap()
}

async fn sign_and_confirm(app: &TestApp, slug: &str, emails: &[&str], already: usize) {
    for email in emails {
        app.sign(slug, &[("email", email)]).await;
    }
    let all = app.wait_for_emails(already + emails.len()).await;
    for raw in &all[already..] {
        app.post_form(&app.confirmation_path(raw), &[]).await;
    }
}

#[tokio::test]
async fn a_witness_cosigns_a_log_that_only_grew_and_refuses_a_rewritten_one() {
    let witness_key = LogKey::new(&WITNESS_SEED, WITNESS);
    let app = spawn_app_with(
        Mail::Memory,
        &[
            ("log_interval_ms", "50"),
            ("witness_keys", witness_key.vkey()),
        ],
    )
    .await;
    app.create_petition("p-witness", &[100]).await;
    sign_and_confirm(&app, "p-witness", &["a@example.org", "b@example.org"], 0).await;
    let first = wait_for_log_total(&app, "p-witness", 2).await;
    let dir = tempfile::tempdir().unwrap();

    // A lost state file is an error, not a fresh start of trust; the first round says --init.
    let out = witness(&app, dir.path(), "p-witness");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --init for the first round"));
    let out = witness_with(&app, dir.path(), "p-witness", &["--init"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "witnessed: {} entries (total 2); first sight",
            first.size
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("\"cosigned_by\":[\"{WITNESS}\"]")),
        "{stdout}"
    );
    // The site serves its checkpoint with the cosignature; both keys open it.
    let note = app.text("/petitions/p-witness/log/checkpoint").await;
    let vkey = app.text("/.well-known/undersigned/log-key").await;
    assert!(
        Verifier::parse(&vkey).unwrap().open(&note).is_ok(),
        "{note}"
    );
    let witnessed = Verifier::parse(witness_key.vkey())
        .unwrap()
        .open(&note)
        .expect("the witness's line verifies");
    assert_eq!(witnessed.extension("total"), Some("2"));
    let json = app.json("p-witness").await;
    assert_eq!(json["log"]["witnessed"]["witnesses"][0], WITNESS);
    assert_eq!(json["log"]["witnessed"]["total"], 2);
    let page = app.text("/petitions/p-witness").await;
    assert!(
        page.contains(&format!("Witnessed: {WITNESS} independently checked")),
        "{page}"
    );

    // The log grows; the witness checks the consistency proof and cosigns again.
    sign_and_confirm(&app, "p-witness", &["c@example.org"], 2).await;
    let second = wait_for_log_total(&app, "p-witness", 3).await;
    let out = witness(&app, dir.path(), "p-witness");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "witnessed: {} entries (total 3), consistent with the {} seen before",
            second.size, first.size
        )),
        "{stdout}"
    );

    // Another instance of the site that no longer trusts this witness stops showing it.
    let untrusting = crate::helpers::spawn_app_on(app.db.clone(), Mail::Memory, &[]).await;
    let served = untrusting.text("/petitions/p-witness/log/checkpoint").await;
    assert!(!served.contains(WITNESS), "{served}");
    assert!(untrusting.json("p-witness").await["log"]["witnessed"].is_null());

    // A witness that saw another history (here: its memory of the root altered) refuses.
    let state_path = dir.path().join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    state["size"] = first.size.into();
    state["root"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    std::fs::write(&state_path, state.to_string()).unwrap();
    let out = witness(&app, dir.path(), "p-witness");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("NOT WITNESSED") && stderr.contains("its history was rewritten"),
        "{stderr}"
    );
    // One that remembers the same size under another statement refuses too.
    state["size"] = second.size.into();
    state["root"] =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&state_path).unwrap())
            .unwrap()["root"]
            .clone();
    // (the root above is the altered one: same size, different root)
    std::fs::write(&state_path, state.to_string()).unwrap();
    let out = witness(&app, dir.path(), "p-witness");
    assert!(String::from_utf8_lossy(&out.stderr).contains("its history was rewritten"));
    // And one that remembers a longer log than the site now serves.
    state["size"] = (second.size + 5).into();
    std::fs::write(&state_path, state.to_string()).unwrap();
    let out = witness(&app, dir.path(), "p-witness");
    assert!(String::from_utf8_lossy(&out.stderr).contains("the log shrank"));
}

#[tokio::test]
async fn the_site_keeps_only_cosignatures_of_its_own_checkpoints_by_witnesses_it_trusts() {
    let trusted = LogKey::new(&WITNESS_SEED, WITNESS);
    let app = spawn_app_with(
        Mail::Memory,
        &[("log_interval_ms", "50"), ("witness_keys", trusted.vkey())],
    )
    .await;
    app.create_petition("p-cosign", &[100]).await;
    wait_for_log_total(&app, "p-cosign", 0).await;
    let note = app.text("/petitions/p-cosign/log/checkpoint").await;
    let text = note.split("\n\n").next().unwrap().to_string() + "\n";
    let post = |body: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(format!(
                    "{}/api/v1/petitions/p-cosign/log/cosignatures",
                    app.address
                ))
                .body(body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let stranger = LogKey::new(&[6; 32], "stranger.example");
    for (body, status, says) in [
        (
            stranger.sign_text(&text),
            400,
            "no signature by a witness this site trusts",
        ),
        ("not a note".to_string(), 400, "not a signed note"),
        (
            trusted.sign_text(&text.replace("\n0\n", "\n1\n")),
            404,
            "no checkpoint of this petition has this text",
        ),
        (
            trusted.sign_text(&text.replace("/p-cosign\n", "/other\n")),
            404,
            "no checkpoint of this petition has this text",
        ),
    ] {
        let (got, answer) = post(body).await;
        assert_eq!(got, status, "{answer}");
        assert!(answer.contains(says), "{answer}");
    }
    assert!(app.json("p-cosign").await["log"]["witnessed"].is_null());
    let (got, answer) = post(trusted.sign_text(&text)).await;
    assert_eq!(got, 200, "{answer}");
    // Handed in twice: kept once.
    let (got, _) = post(trusted.sign_text(&text)).await;
    assert_eq!(got, 200);
    let served = app.text("/petitions/p-cosign/log/checkpoint").await;
    assert_eq!(
        served.matches(&format!("— {WITNESS} ")).count(),
        1,
        "{served}"
    );
}

#[test]
fn a_site_refuses_to_name_its_own_key_a_witness() {
    let own = LogKey::new(&[8; 32], "127.0.0.1:9");
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_undersigned"))
        .arg("serve")
        .env_clear()
        .env("UNDERSIGNED_DATA_DIR", dir.path())
        .env("UNDERSIGNED_BIND", "127.0.0.1:0")
        .env("UNDERSIGNED_BASE_URL", "http://127.0.0.1:9")
        .env("UNDERSIGNED_WITNESS_KEYS", own.vkey())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("named like this site's own log key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
