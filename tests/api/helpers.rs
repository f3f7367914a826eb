//! Test support: a real app on port 0 with its own SQLite file, a real SMTP sink over TCP,
//! typed request helpers and a confirmation-link extractor.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use undersigned::app::Application;
use undersigned::config::Settings;
use undersigned::db::{self, Pool, petitions::NewPetition};
use undersigned::domain::{GoalLadder, Slug};
use undersigned::email::{Mailer, MemoryOutbox};

/// How long [`eventually`] pauses between two tries.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// Tries `check` again and again, [`RETRY_PAUSE`] apart, until it says done, and returns its
/// value; fails the test once `deadline` has passed, naming `what`. No wait in these tests can
/// pass by running out of time.
///
/// A check answers `true`, `Some(value)` or `Ok(value)` when done; an `Err` says what it saw
/// instead, for the failure message.
pub async fn eventually<C: Check>(
    deadline: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> C,
) -> C::Value {
    let start = std::time::Instant::now();
    loop {
        let seen = match check().await.done() {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if start.elapsed() >= deadline {
            if seen.is_empty() {
                panic!("{what}: not within {deadline:?}");
            }
            panic!("{what}: not within {deadline:?}; last seen: {seen}");
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

/// What a check given to [`eventually`] answers.
pub trait Check {
    type Value;
    /// The value once done, or what was seen instead (may be empty).
    fn done(self) -> Result<Self::Value, String>;
}

impl Check for bool {
    type Value = ();
    fn done(self) -> Result<(), String> {
        if self { Ok(()) } else { Err(String::new()) }
    }
}

impl<T> Check for Option<T> {
    type Value = T;
    fn done(self) -> Result<T, String> {
        self.ok_or_else(String::new)
    }
}

impl<T, E: std::fmt::Display> Check for Result<T, E> {
    type Value = T;
    fn done(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// A database of its own for one test: a SQLite file in the test's temp dir, or, when
/// `TEST_DATABASE_URL` names a PostgreSQL server, a fresh database there, dropped afterwards.
pub struct TestDatabase {
    pub url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
    /// Holds the site's master key file ([`TestDatabase::key_file`]): every instance started
    /// on this database gets a copy in its data dir, as instances of one site share their key.
    pub key_dir: tempfile::TempDir,
}

/// A directory holding a new random master key file.
fn new_key_dir() -> tempfile::TempDir {
    use rand::RngCore;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    std::fs::write(dir.path().join("secret_key"), hex::encode(bytes)).expect("write the key");
    dir
}

impl TestDatabase {
    /// The site's master key file (for commands run beside the test apps).
    pub fn key_file(&self) -> std::path::PathBuf {
        self.key_dir.path().join("secret_key")
    }

    /// A SQLite file in a temp dir, whatever `TEST_DATABASE_URL` says: a copy of the template
    /// (migrated and sealed once per test run, [`sqlite_template`]).
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::copy(sqlite_template(), dir.path().join("test.db")).expect("copy the template");
        TestDatabase {
            url: format!("sqlite://{}/test.db", dir.path().display()),
            admin_url: None,
            name: String::new(),
            _dir: Some(dir),
            key_dir: new_key_dir(),
        }
    }

    /// A SQLite file in `dir` (a directory the test owns, such as a small tmpfs).
    pub fn sqlite_in(dir: &std::path::Path) -> TestDatabase {
        TestDatabase {
            url: format!("sqlite://{}/test.db", dir.display()),
            admin_url: None,
            name: String::new(),
            _dir: None,
            key_dir: new_key_dir(),
        }
    }

    /// A new database, already made what every start makes a new one (from the template).
    pub fn create() -> TestDatabase {
        TestDatabase::new(true)
    }

    /// A new, empty database: no migration run (for the upgrade of an older version's).
    pub fn empty() -> TestDatabase {
        TestDatabase::new(false)
    }

    fn new(from_template: bool) -> TestDatabase {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            let db = TestDatabase::sqlite();
            if !from_template {
                let path = db.url.trim_start_matches("sqlite://");
                std::fs::remove_file(path).expect("no template copy");
            }
            return db;
        };
        use diesel::{Connection, RunQueryDsl};
        let name = format!("undersigned_test_{}", rand_suffix());
        let template = if from_template {
            postgres_template(&admin_url)
        } else {
            "template0"
        };
        let mut conn =
            diesel::PgConnection::establish(&admin_url).expect("TEST_DATABASE_URL answers");
        {
            // Copies of one template one at a time: PostgreSQL refuses a copy while another
            // session reads the template.
            let _one_at_a_time = TEMPLATE_COPY.lock().unwrap_or_else(|e| e.into_inner());
            diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
                .execute(&mut conn)
                .expect("create test database");
        }
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        TestDatabase {
            url: url.to_string(),
            admin_url: Some(admin_url),
            name,
            _dir: None,
            key_dir: new_key_dir(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        use diesel::{Connection, RunQueryDsl};
        if let Some(admin) = &self.admin_url
            && let Ok(mut conn) = diesel::PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

static TEMPLATE_COPY: Mutex<()> = Mutex::new(());

/// Makes a new database what every app start would make it before anything else: migrated,
/// marked sealed (the one-time DDL and `VACUUM` of a database from before sealing), its ids
/// never reused. Done once per test run on a template that each test copies.
fn prepare_template(url: &str) {
    let pool = db::connect(url, 1).expect("the template database");
    let mut conn = pool.get().expect("a connection to the template");
    undersigned::usecases::keys::prepare_without_keys(&mut conn).expect("the template is ready");
    // All of it in the file that is copied, none left in a write-ahead log.
    db::truncate_wal(&mut conn).expect("the template checkpointed");
}

/// A SQLite database prepared once per test run; tests copy the file.
fn sqlite_template() -> &'static std::path::Path {
    static TEMPLATE: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> =
        std::sync::OnceLock::new();
    &TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("template.db");
            prepare_template(&format!("sqlite://{}", path.display()));
            (dir, path)
        })
        .1
}

/// A PostgreSQL database prepared once per test run and named for it; tests are made from it
/// by `CREATE DATABASE … TEMPLATE` (crates.io's test database is the model).
fn postgres_template(admin_url: &str) -> &'static str {
    static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        use diesel::{Connection, RunQueryDsl};
        let name = format!("undersigned_template_{}", rand_suffix());
        let mut conn =
            diesel::PgConnection::establish(admin_url).expect("TEST_DATABASE_URL answers");
        // Templates of earlier runs (a run cannot drop its own: it ends with the process).
        let old: Vec<String> = diesel::sql_query(
            "SELECT datname AS name FROM pg_database WHERE datname LIKE 'undersigned_template_%'",
        )
        .load::<DatabaseName>(&mut conn)
        .map(|rows| rows.into_iter().map(|r| r.name).collect())
        .unwrap_or_default();
        for old in old {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)"))
                .execute(&mut conn);
        }
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("create the template database");
        let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        prepare_template(url.as_str());
        name
    })
}

#[derive(diesel::QueryableByName)]
struct DatabaseName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn rand_suffix() -> String {
    use rand::RngCore;
    let mut b = [0u8; 8];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub struct TestApp {
    pub address: String,
    pub db: std::sync::Arc<TestDatabase>,
    pub dir: tempfile::TempDir,
    pub pool: Pool,
    pub memory: Option<MemoryOutbox>,
    pub client: reqwest::Client,
    /// The app's keys: tests open sealed rows and find mailboxes by their keyed hash.
    pub keys: std::sync::Arc<undersigned::keys::Keys>,
    /// The app's state: a test that changes the database as a handler would marks it too.
    pub state: actix_web::web::Data<undersigned::routes::AppState>,
}

/// Where a test app's emails go.
pub enum Mail {
    Memory,
    Smtp(u16),
    Files,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Mail::Memory, &[]).await
}

/// Starts the app with extra `UNDERSIGNED_*` settings (key without prefix, value).
pub async fn spawn_app_with(mail: Mail, extra: &[(&str, &str)]) -> TestApp {
    spawn_app_on(std::sync::Arc::new(TestDatabase::create()), mail, extra).await
}

/// Starts an app on an existing test database: several instances can share one.
pub async fn spawn_app_on(
    db: std::sync::Arc<TestDatabase>,
    mail: Mail,
    extra: &[(&str, &str)],
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: &str| {
        env.insert(format!("UNDERSIGNED_{}", k.to_uppercase()), v.to_string());
    };
    set("bind", "127.0.0.1:0");
    set("data_dir", dir.path().to_str().expect("utf-8 temp path"));
    set("email_retry_base_ms", "100");
    set("email_poll_ms", "50");
    set("sign_rate_per_minute", "10000");
    set("sign_rate_per_hour", "100000");
    if let Mail::Smtp(port) = mail {
        set("smtp_url", &format!("smtp://127.0.0.1:{port}"));
    }
    set("database_url", &db.url);
    if !extra
        .iter()
        .any(|(k, _)| *k == "key_file" || *k == "secret_key")
    {
        std::fs::copy(db.key_file(), dir.path().join("secret_key")).expect("copy the site's key");
    }
    for (k, v) in extra {
        set(k, v);
    }
    let settings = Settings::load_from(None, &env).expect("test settings are valid");
    let (app, memory) = match mail {
        Mail::Memory => {
            let outbox = MemoryOutbox::default();
            let app = Application::build_with_mailer(settings, Mailer::Memory(outbox.clone()))
                .await
                .expect("app builds");
            (app, Some(outbox))
        }
        Mail::Smtp(_) | Mail::Files => (
            Application::build(settings).await.expect("app builds"),
            None,
        ),
    };
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool().clone();
    let keys = app.keys();
    let state = app.state();

    tokio::spawn(app.run_until_stopped());
    let client = spawn_client();
    TestApp {
        address,
        db,
        dir,
        pool,
        memory,
        client,
        keys,
        state,
    }
}

/// A browser of its own: a cookie jar, and redirects left for the test to see.
pub fn spawn_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        // Closed well before the server's keep-alive (5 s) ends it: a request sent on a
        // connection the server is closing fails with nothing to do with the test.
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("client")
}

impl TestApp {
    /// Creates an open petition (as `undersigned petition create` does) and returns its id.
    pub async fn create_petition(&self, slug: &str, goals: &[i64]) -> i32 {
        create_petition_in(&self.pool, slug, goals).await
    }

    /// Creates a petition owned by the organizer with email `owner`.
    pub async fn create_owned_petition(&self, slug: &str, goals: &[i64], owner: &str) -> i32 {
        let id = self.create_petition(slug, goals).await;
        let owner = owner.to_string();
        db::run(&self.pool, move |c| {
            use diesel::prelude::*;
            use undersigned::db::schema::petitions::dsl as p;
            Ok(diesel::update(p::petitions.find(id))
                .set(p::owner_email.eq(owner))
                .execute(c)?)
        })
        .await
        .expect("owner set");
        id
    }

    /// Closes a petition (as an organizer or `undersigned petition close` would).
    pub async fn close(&self, petition_id: i32) {
        self.set_status(petition_id, undersigned::domain::PetitionStatus::Closed)
            .await
    }

    pub async fn set_status(&self, petition_id: i32, status: undersigned::domain::PetitionStatus) {
        // As a handler would: what it changed is acted on (the page shows it at once).
        self.state
            .act(move |c| {
                undersigned::usecases::petitions::set_status(
                    c,
                    None,
                    petition_id,
                    status,
                    db::now(),
                )
            })
            .await
            .expect("status set");
    }

    /// The body of `GET path`, as text.
    pub async fn text(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("a text body")
    }

    /// The value of one line of `/metrics` (as this machine, which needs no token), named with
    /// its labels: `undersigned_sign_batch_size_count`.
    pub async fn metric(&self, name: &str) -> f64 {
        let metrics = self.text("/metrics").await;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request")
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{}", self.address, path))
            .form(fields)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(format!("{}{}", self.address, path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// Signs with a complete valid form, overriding the given fields.
    pub async fn sign(&self, slug: &str, overrides: &[(&str, &str)]) -> reqwest::Response {
        let mut fields: Vec<(&str, &str)> = vec![
            ("name", "Ani Petrosyan"),
            ("email", "ani@example.org"),
            ("country", "AM"),
            ("postcode", ""),
            ("comment", ""),
            ("consent", "yes"),
            ("public", "yes"),
        ];
        for (k, v) in overrides {
            fields.retain(|(f, _)| f != k);
            if !v.is_empty() || *k == "name" || *k == "email" || *k == "country" {
                fields.push((k, v));
            }
        }
        self.post_form(&format!("/petitions/{slug}/sign"), &fields)
            .await
    }

    pub async fn json(&self, slug: &str) -> serde_json::Value {
        self.get(&format!("/api/v1/petitions/{slug}"))
            .await
            .json()
            .await
            .expect("json")
    }

    pub async fn count(&self, slug: &str) -> i64 {
        self.json(slug).await["signature_count"]
            .as_i64()
            .expect("count")
    }

    /// Rows in the database, counted directly (not the cached counter).
    pub async fn rows(&self, petition_id: i32) -> (i64, i64) {
        db::run(&self.pool, move |c| {
            Ok((
                db::signatures::count_all_rows(c, petition_id)?,
                db::signatures::count_confirmed_rows(c, petition_id)?,
            ))
        })
        .await
        .expect("count rows")
    }

    /// Fault injection: the database refuses every insert into `table` (a trigger), until
    /// [`TestApp::allow_inserts`]. A step of a use case that fails where the disk or a
    /// constraint would make it fail.
    pub async fn refuse_inserts(&self, table: &'static str) {
        let postgres = self.db.url.starts_with("postgres");
        db::run(&self.pool, move |c| {
            use diesel::RunQueryDsl;
            let statements = if postgres {
                vec![
                    "CREATE OR REPLACE FUNCTION refuse_insert() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"
                        .to_string(),
                    format!(
                        "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
                    ),
                ]
            } else {
                vec![format!(
                    "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} \
                     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )]
            };
            for sql in statements {
                diesel::sql_query(sql).execute(c)?;
            }
            Ok(())
        })
        .await
        .expect("create the refusing trigger");
    }

    /// Ends [`TestApp::refuse_inserts`].
    pub async fn allow_inserts(&self, table: &'static str) {
        let postgres = self.db.url.starts_with("postgres");
        db::run(&self.pool, move |c| {
            use diesel::RunQueryDsl;
            let sql = if postgres {
                format!("DROP TRIGGER refuse_{table} ON {table}")
            } else {
                format!("DROP TRIGGER refuse_{table}")
            };
            diesel::sql_query(sql).execute(c)?;
            Ok(())
        })
        .await
        .expect("drop the refusing trigger");
    }

    /// The id of the (first) signature with this email address, on whichever petition.
    pub async fn signature_id(&self, email: &str) -> i32 {
        let email = undersigned::domain::SignerEmail::parse(email).expect("a valid address");
        let keys = self.keys.clone();
        db::run(&self.pool, move |c| {
            use diesel::prelude::*;
            use undersigned::db::schema::signatures as s;
            let rows: Vec<(i32, i32, String)> = s::table
                .order(s::id)
                .select((s::id, s::petition_id, s::email_key))
                .load(c)?;
            Ok(rows
                .into_iter()
                .find(|(_, pid, key)| *key == keys.email_index(*pid, email.dedupe_key()))
                .map(|(id, ..)| id))
        })
        .await
        .expect("the signatures")
        .expect("a signature with this address")
    }

    /// The keyed hash a signature of this address is found by on the petition `petition_id`.
    pub fn email_index(&self, petition_id: i32, email: &str) -> String {
        let email = undersigned::domain::SignerEmail::parse(email).expect("a valid address");
        self.keys.email_index(petition_id, email.dedupe_key())
    }

    /// Raw messages the memory mailer has sent, receipts included.
    pub fn all_emails(&self) -> Vec<String> {
        self.memory
            .as_ref()
            .expect("memory mailer")
            .messages()
            .into_iter()
            .map(|m| m.raw)
            .collect()
    }

    /// Raw messages the memory mailer has sent, but for the receipts signers get once
    /// confirmed (tested on their own in `log.rs`): what most tests count.
    pub fn emails(&self) -> Vec<String> {
        self.all_emails()
            .into_iter()
            .filter(|m| !m.contains("/receipt/"))
            .collect()
    }

    /// Waits until at least `n` messages (receipts included) were sent, at most 5 s.
    pub async fn wait_for_all_emails(&self, n: usize) -> Vec<String> {
        eventually(Duration::from_secs(5), &format!("{n} emails"), async || {
            at_least(n, self.all_emails())
        })
        .await
    }

    /// Waits until at least `n` messages other than receipts were sent, at most 5 s.
    pub async fn wait_for_emails(&self, n: usize) -> Vec<String> {
        eventually(
            Duration::from_secs(5),
            &format!("{n} emails other than receipts"),
            async || at_least(n, self.emails()),
        )
        .await
    }

    /// Waits until every update is fanned out and every queued email is marked sent (or given
    /// up on), at most 10 s.
    pub async fn wait_until_sent(&self) {
        eventually(Duration::from_secs(10), "every email sent", async || {
            let pending = db::run(&self.pool, |c| {
                use diesel::prelude::*;
                use undersigned::db::schema::petition_updates as u;
                let fanning: i64 = u::table
                    .filter(u::fanout_pending.eq(true))
                    .count()
                    .get_result(c)?;
                Ok(fanning + db::outbox::pending_count(c)?)
            })
            .await
            .expect("outbox readable");
            if pending == 0 {
                Ok(())
            } else {
                Err(format!("{pending} unsent or being fanned out"))
            }
        })
        .await
    }

    /// The path of the confirmation link in a raw message (`/confirm/…`).
    pub fn confirmation_path(&self, raw: &str) -> String {
        let link = confirmation_link(raw);
        assert!(
            link.starts_with("http://127.0.0.1:"),
            "absolute link: {link}"
        );
        url::Url::parse(&link).expect("a URL").path().to_string()
    }
}

/// `items` once there are at least `n`; otherwise how many there are, for [`eventually`].
pub fn at_least<T>(n: usize, items: Vec<T>) -> Result<Vec<T>, String> {
    if items.len() >= n {
        Ok(items)
    } else {
        Err(format!("{} of {n}", items.len()))
    }
}

/// Creates an open petition in the database behind `pool`.
pub async fn create_petition_in(pool: &Pool, slug: &str, goals: &[i64]) -> i32 {
    let new = NewPetition {
        slug: Slug::parse(slug).expect("slug"),
        title: format!("Petition {slug}"),
        summary: "A test petition".into(),
        body_markdown: "Free **them**.".into(),
        started_by: "Test organizer".into(),
        owner_email: None,
        goals: GoalLadder::parse(goals.to_vec()).expect("goals"),
        targets: vec!["OSCE Chairperson-in-Office".into()],
        created_at: db::now(),
        closes_at: None,
        language: undersigned::i18n::Lang::En,
    };
    db::run(pool, move |c| {
        db::petitions::create(c, &new).map_err(|e| match e {
            db::petitions::CreateError::Db(e) => e,
            other => panic!("{other}"),
        })
    })
    .await
    .expect("petition created")
}

/// The fewest fields a signature needs, for `email`.
pub fn sign_fields(email: &str) -> [(&'static str, &str); 4] {
    [
        ("name", "Ani"),
        ("email", email),
        ("country", "AM"),
        ("consent", "yes"),
    ]
}

/// Signs `slug` as `email` on a server running in its own process at `url`; the answer.
pub async fn sign_on(url: &str, slug: &str, email: &str) -> reqwest::Response {
    spawn_client()
        .post(format!("{url}/petitions/{slug}/sign"))
        .form(&sign_fields(email))
        .send()
        .await
        .expect("the server answers")
}

/// The text and HTML parts of a raw message, decoded.
pub fn bodies(raw: &str) -> (String, String) {
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parseable message");
    let text = msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let html = msg.body_html(0).map(|t| t.into_owned()).unwrap_or_default();
    (text, html)
}

pub fn subject(raw: &str) -> String {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default()
}

/// The confirmation link in a raw message's plain-text part.
pub fn confirmation_link(raw: &str) -> String {
    let (text, _) = bodies(raw);
    text.split_whitespace()
        .find(|w| w.contains("/confirm/"))
        .unwrap_or_else(|| panic!("no confirmation link in:\n{text}"))
        .to_string()
}

/// What a fault relay does with the connections it gets ([`SmtpSink::start_faulty`]).
#[derive(Clone, Copy)]
pub enum Fault {
    /// Accepts and never says a word.
    Hang,
    /// Speaks SMTP, but the first `n` messages' connections are closed half-way through DATA.
    DropInData(usize),
    /// Accepts nothing for the first `delay` (its listen backlog of one overflows), then works.
    SlowAccept(Duration),
    /// Keeps each message as soon as it has it, but answers that it took it only `delay` later.
    SlowReply(Duration),
}

/// A minimal SMTP server on loopback that keeps every message it receives, or misbehaves as
/// told first.
pub struct SmtpSink {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> SmtpSink {
        Self::start_faulty(port, None).await
    }

    /// A relay on `port` (0: any) with `fault`.
    pub async fn start_faulty(port: u16, fault: Option<Fault>) -> SmtpSink {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        // The port of a relay just stopped is taken over at once.
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind(([127, 0, 0, 1], port).into())
            .expect("bind the sink");
        let backlog = match fault {
            Some(Fault::SlowAccept(_)) => 1,
            _ => 128,
        };
        let listener = socket.listen(backlog).expect("listen");
        let port = listener.local_addr().expect("addr").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let drops = Arc::new(AtomicUsize::new(match fault {
            Some(Fault::DropInData(n)) => n,
            _ => 0,
        }));
        let task = tokio::spawn(async move {
            if let Some(Fault::SlowAccept(delay)) = fault {
                tokio::time::sleep(delay).await;
            }
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                if let Some(Fault::Hang) = fault {
                    // Kept open, never answered.
                    held.push(stream);
                    continue;
                }
                let (store, drops) = (store.clone(), drops.clone());
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO")
                        {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("DATA") {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let drop_this = drops
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    n.checked_sub(1)
                                })
                                .is_ok();
                            let mut data = String::new();
                            let mut read = 0;
                            while let Ok(Some(l)) = lines.next_line().await {
                                read += 1;
                                if drop_this && read == 5 {
                                    // The connection goes down mid-message.
                                    return;
                                }
                                if l == "." {
                                    break;
                                }
                                let l = l
                                    .strip_prefix('.')
                                    .filter(|_| l.starts_with(".."))
                                    .unwrap_or(&l);
                                data.push_str(l);
                                data.push_str("\r\n");
                            }
                            store.lock().expect("sink lock").push(data);
                            if let Some(Fault::SlowReply(delay)) = fault {
                                tokio::time::sleep(delay).await;
                            }
                            b"250 queued\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 OK\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        SmtpSink {
            port,
            messages,
            task,
        }
    }

    /// Stops listening and closes every connection it held.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Waits until the sink holds at least `n` messages, and returns them all; fails the test
    /// if they have not come within `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        eventually(
            timeout,
            &format!("{n} messages at the SMTP sink"),
            async || at_least(n, self.messages.lock().expect("sink lock").clone()),
        )
        .await
    }
}

/// A loopback port with nothing listening on it (bound, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
