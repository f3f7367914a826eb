//! The connection: the backend enum, the pool, migrations, transactions, checkpoints, time.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::Backend;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Runs `$body` with `$c` bound to the backend's own connection: for the few statements the
/// `MultiConnection` enum cannot express (multi-row inserts). Every arm has the same body.
#[macro_export]
macro_rules! with_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// A connection to whichever database `database_url` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// Errors from the database layer. Never turned into "not found" by callers.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database connection: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("migrations: {0}")]
    Migration(String),
    /// Anything else the database layer cannot go on from (a path, a rendering step).
    #[error("{0}")]
    Other(String),
    /// Another data key than this instance's now seals the database's signer data (a rotation
    /// while this instance ran): it must not seal or hash anything more, and needs a restart
    /// with the new key.
    #[error("the database's data key changed while this instance ran: restart it with the new key")]
    StaleKey,
    /// The code running on the connection panicked: a bug. The connection was not returned to
    /// the pool (see [`Manager::has_broken`]).
    #[error("bug: a database task panicked")]
    Panicked,
}

/// A sealed value that did not open, met where the database was read.
impl From<crate::sealed::Unreadable> for DbError {
    fn from(e: crate::sealed::Unreadable) -> DbError {
        DbError::Other(e.to_string())
    }
}

impl DbError {
    /// Says nothing is wrong with the request, only that the database cannot take it now: no
    /// connection to be had, its write lock held past the busy timeout or a lock wait past
    /// `lock_timeout`, a deadlock or serialization failure (trying again succeeds), a full
    /// disk, a server restarting, a rotation that needs a restart. The person is asked to try
    /// again (`503` with `Retry-After`), never shown an internal error.
    pub fn is_transient(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            DbError::Pool(_) | DbError::StaleKey | DbError::Connection(_) => true,
            DbError::Query(Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::SerializationFailure,
                _,
            )) => true,
            DbError::Query(Error::DatabaseError(_, info)) => {
                let m = info.message();
                // SQLite's SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL and SQLITE_IOERR; PostgreSQL's
                // lock timeouts, deadlocks, shutdown and connection-loss messages.
                [
                    "database is locked",
                    "database table is locked",
                    "database or disk is full",
                    "disk I/O error",
                    "lock timeout",
                    "deadlock detected",
                    "terminating connection",
                    "server closed the connection",
                    "the database system is",
                    "no connection to the server",
                ]
                .iter()
                .any(|t| m.contains(t))
            }
            _ => false,
        }
    }
}

// SQLite settings for every connection: busy_timeout first, so that the pool's connections,
// opened in parallel, queue for the lock that switching to WAL takes instead of failing; WAL
// lets readers run beside the single writer; foreign keys are off unless asked for; 16 MB of
// page cache per connection keeps a campaign's hot pages out of the kernel's read path;
// temporary tables and savepoint journals stay in memory (one transaction of the group commit
// holds hundreds of savepoints, and a temporary file is a copy of pages outside the database,
// which `secure_delete` does not reach). The write-ahead log is copied into the database by
// `Checkpoints`, every 250 ms on a thread of its own, rather than by whichever commit finds it
// past 1,000 pages (at a peak that copy and its fsync were a tenth of the sign writer's time,
// and every signer in that batch waited for them); a commit still copies what is left once it
// passes 16,384 pages (64 MB), so that the log starts over, and is then cut back to 64 MB.
// `synchronous = FULL`: a commit returns only once the log is on disk, so an answer that
// promises something (signed, confirmed, withdrawn, a checkpoint served) survives a power cut
// or an OS crash, not only the process dying; group commit pays that fsync once per batch.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
     PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY; \
     PRAGMA wal_autocheckpoint = 16384; PRAGMA journal_size_limit = 67108864; \
     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;";

/// Opens connections for the pool, applying per-backend settings.
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.backend {
            Backend::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    r2d2::Error::ConnectionError(diesel::ConnectionError::InvalidConnectionUrl(
                        "database path is not valid UTF-8".into(),
                    ))
                })?;
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            Backend::Postgres(url) => {
                let mut conn = diesel::PgConnection::establish(&with_deadlines(url))
                    .map_err(r2d2::Error::ConnectionError)?;
                // A commit is acknowledged once it is on disk (the server's default, kept
                // whatever the server's configuration says). A lock held by another session
                // (a psql left in a transaction, a long `LOCK`) is waited for 10 s at most, as
                // SQLite's busy timeout: then the request is asked to try again (503).
                conn.batch_execute("SET synchronous_commit = on; SET lock_timeout = '10s'")
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Postgres(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection dropped during a panic, or left inside a transaction or with a broken
    /// transaction state, is closed rather than handed to the next request: its open
    /// transaction would otherwise swallow that request's writes.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// A PostgreSQL URL with deadlines on the network where it sets none: opening a connection
/// gives up after 10 s, and an established one whose server stops answering (a host gone, a
/// network cut, no reset ever sent) is given up on after 30 s instead of the kernel's
/// quarter of an hour.
fn with_deadlines(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    let given: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
    {
        let mut query = parsed.query_pairs_mut();
        for (key, value) in [
            ("connect_timeout", "10"),
            ("keepalives_idle", "15"),
            ("keepalives_interval", "5"),
            ("keepalives_count", "3"),
            ("tcp_user_timeout", "30000"),
        ] {
            if !given.iter().any(|g| g == key) {
                query.append_pair(key, value);
            }
        }
    }
    parsed.to_string()
}

/// Creates the database (and its folder) if missing and returns a pool.
pub fn connect(database_url: &str, size: u32) -> Result<Pool, DbError> {
    let backend = Backend::from_url(database_url).map_err(DbError::Other)?;
    match &backend {
        Backend::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::files::private_dir(parent).map_err(|e| DbError::Other(format!("{e:#}")))?;
            }
        }
        Backend::Postgres(_) => {}
    }
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(10))
        .build(Manager { backend })?;
    Ok(pool)
}

/// Runs pending migrations; returns how many ran.
pub fn migrate(conn: &mut DbConnection) -> Result<usize, DbError> {
    let ran = match conn {
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?
            .len(),
        DbConnection::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?
            .len(),
    };
    Ok(ran)
}

/// SQLite: signature ids are never reused. Without `AUTOINCREMENT` SQLite gives a new row the
/// id of the newest one if retention deleted it, and an email job or a fan-out cursor that
/// named the deleted signature would then name a stranger. SQLite cannot add it to a table, so
/// the table is rebuilt once, as SQLite documents: a new table from the same definition, the
/// rows copied, the old one dropped and the new one renamed, its indexes made again; with
/// foreign keys off (the drop would otherwise delete the rows that reference it), checked
/// after. Run after the plaintext columns are gone, so it copies only what is left.
pub fn ids_never_reused(conn: &mut DbConnection) -> Result<(), DbError> {
    #[derive(diesel::QueryableByName)]
    struct Sql {
        #[diesel(sql_type = diesel::sql_types::Text)]
        sql: String,
    }
    let DbConnection::Sqlite(c) = conn else {
        return Ok(());
    };
    let table: Vec<Sql> = diesel::sql_query(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'signatures'",
    )
    .load(c)?;
    let Some(create) = table.first() else {
        return Ok(());
    };
    if create.sql.contains("AUTOINCREMENT") {
        return Ok(());
    }
    let rebuilt = create
        .sql
        .replacen(
            "id INTEGER PRIMARY KEY NOT NULL",
            "id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL",
            1,
        )
        .replacen(
            "CREATE TABLE signatures",
            "CREATE TABLE signatures_rebuilt",
            1,
        );
    if !rebuilt.contains("AUTOINCREMENT") || !rebuilt.contains("signatures_rebuilt") {
        return Err(DbError::Other(format!(
            "the signatures table is not as expected: {}",
            create.sql
        )));
    }
    // Its indexes and triggers go with the old table: made again on the new one.
    let indexes: Vec<Sql> = diesel::sql_query(
        "SELECT sql FROM sqlite_master \
         WHERE type IN ('index', 'trigger') AND tbl_name = 'signatures' AND sql IS NOT NULL",
    )
    .load(c)?;
    let started = std::time::Instant::now();
    c.batch_execute("PRAGMA foreign_keys = OFF")?;
    let result = c.immediate_transaction::<_, DbError, _>(|c| {
        c.batch_execute(&rebuilt)?;
        c.batch_execute(
            "INSERT INTO signatures_rebuilt SELECT * FROM signatures; \
             DROP TABLE signatures; \
             ALTER TABLE signatures_rebuilt RENAME TO signatures;",
        )?;
        for index in &indexes {
            c.batch_execute(&index.sql)?;
        }
        let broken: Vec<Sql> = diesel::sql_query(
            "SELECT \"table\" AS sql FROM pragma_foreign_key_check WHERE parent = 'signatures'",
        )
        .load(c)?;
        match broken.first() {
            Some(first) => Err(DbError::Other(format!(
                "{} rows of {} lost their signature in the rebuild",
                broken.len(),
                first.sql
            ))),
            None => Ok(()),
        }
    });
    c.batch_execute("PRAGMA foreign_keys = ON")?;
    if result.is_ok() {
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "signatures table rebuilt once so that no signature id is ever given twice"
        );
    }
    result
}

/// Runs pending migrations up to and including the one whose version is `last` (e.g.
/// `2026-11-23-000012`): a database as an older version left it, for upgrade tests.
pub fn migrate_until(conn: &mut DbConnection, last: &str) -> Result<usize, DbError> {
    fn run<C: MigrationHarness<B>, B: diesel::backend::Backend>(
        c: &mut C,
        source: EmbeddedMigrations,
        last: &str,
    ) -> Result<usize, DbError> {
        let pending = c
            .pending_migrations(source)
            .map_err(|e| DbError::Migration(e.to_string()))?;
        let mut ran = 0;
        for m in pending {
            let version = m.name().version().to_string().replace('-', "");
            if version.as_str() > last.replace('-', "").as_str() {
                break;
            }
            c.run_migration(&*m)
                .map_err(|e| DbError::Migration(e.to_string()))?;
            ran += 1;
        }
        Ok(ran)
    }
    match conn {
        DbConnection::Sqlite(c) => run(c, SQLITE_MIGRATIONS, last),
        DbConnection::Postgres(c) => run(c, POSTGRES_MIGRATIONS, last),
    }
}

/// Runs synchronous diesel code on the blocking thread pool with a pooled connection. A panic
/// in `f` comes back as [`DbError::Panicked`] (a bug: a 500, not "database unavailable"); the
/// panic message itself was already logged once by the panic hook.
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await
    .map_err(|_| DbError::Panicked)?
}

/// Runs `f` in one write transaction: `BEGIN IMMEDIATE` on SQLite, so the transaction holds the
/// write lock from its first statement and never fails to upgrade a stale read snapshot
/// (`SQLITE_BUSY_SNAPSHOT`, which `busy_timeout` does not retry); a plain `BEGIN` (READ
/// COMMITTED) on PostgreSQL, where use cases take row locks in the order `usecases` documents.
/// Commits if `f` returns `Ok`, rolls back otherwise.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    tx(conn, "BEGIN IMMEDIATE", "BEGIN", f)
}

/// Runs `f` reading one consistent snapshot of the database and writing nothing: a deferred
/// transaction on SQLite (WAL keeps its snapshot from the first read), REPEATABLE READ, READ
/// ONLY on PostgreSQL. For reads that must agree with each other across many statements, such
/// as a delivery package.
pub fn read_snapshot<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    tx(
        conn,
        "BEGIN DEFERRED",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        f,
    )
}

fn tx<T, E, F>(conn: &mut DbConnection, sqlite: &str, postgres: &str, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    // Never nested (both refuse with `AlreadyInTransaction`): a use case is the whole unit.
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, sqlite)?,
        DbConnection::Postgres(c) => AnsiTransactionManager::begin_transaction_sql(c, postgres)?,
    }
    let result = f(conn);
    let end = |conn: &mut DbConnection, commit: bool| -> diesel::QueryResult<()> {
        crate::with_backend!(conn, |c| if commit {
            AnsiTransactionManager::commit_transaction(c)
        } else {
            AnsiTransactionManager::rollback_transaction(c)
        })
    };
    match result {
        Ok(value) => match end(conn, true) {
            Ok(()) => Ok(value),
            Err(e) => {
                // A failed commit leaves the transaction open on some errors: end it, so the
                // connection is usable (or marked broken) rather than silently inside it.
                let _ = end(conn, false);
                Err(e.into())
            }
        },
        Err(e) => {
            // The first error is the one that matters; a failed rollback marks the connection
            // broken, so the pool drops it.
            if let Err(rollback) = end(conn, false) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// SQLite: copies the write-ahead log into the database file and truncates it, so rows just
/// erased (and overwritten there, `secure_delete`) leave no copy in the `-wal` file. A reader
/// still on an older snapshot makes it a partial checkpoint: the next sweep finishes it.
/// PostgreSQL: nothing (its WAL is recycled by the server; see the README on archives).
pub fn truncate_wal(conn: &mut DbConnection) -> Result<(), DbError> {
    let DbConnection::Sqlite(c) = conn else {
        return Ok(());
    };
    // Each try waits a moment for readers, holding writers back only that long; between tries
    // they go on. A reader that outlasts every try leaves it to the next sweep.
    for _ in 0..10 {
        if truncate(c)? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tracing::info!("the write-ahead log is partly truncated: the next sweep finishes it");
    Ok(())
}

/// One checkpoint at a time in this process: a `TRUNCATE` that found the periodic copy running
/// would give up at once (SQLite does not wait for the checkpoint lock), and erased rows would
/// stay in the `-wal` file.
static CHECKPOINTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn checkpointing() -> std::sync::MutexGuard<'static, ()> {
    CHECKPOINTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What `PRAGMA wal_checkpoint` answers.
#[derive(diesel::QueryableByName)]
struct Checkpointed {
    /// 1 if it could not run (another checkpoint, or a writer for `TRUNCATE`).
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    /// Pages in the log, and how many of them are in the database file now.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    checkpointed: i32,
}

/// How often [`Checkpoints`] copies the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// SQLite: copies the write-ahead log into the database file every 250 ms on a thread of its
/// own (see `SQLITE_PRAGMAS`), until dropped. Nothing is started for PostgreSQL.
pub struct Checkpoints {
    _stop: std::sync::mpsc::Sender<()>,
}

impl Checkpoints {
    pub fn start(database_url: &str, pool: Pool) -> std::io::Result<Option<Checkpoints>> {
        if !matches!(Backend::from_url(database_url), Ok(Backend::Sqlite(_))) {
            return Ok(None);
        }
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                use std::sync::mpsc::RecvTimeoutError;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    // While a truncation runs, it does this one's work.
                    let Ok(_turn) = CHECKPOINTING.try_lock() else {
                        continue;
                    };
                    if let Ok(mut conn) = pool.get()
                        && let DbConnection::Sqlite(c) = &mut *conn
                    {
                        let done = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                            .get_result::<Checkpointed>(c);
                        if let Err(e) = done {
                            tracing::warn!(error = %e, "write-ahead log checkpoint failed");
                        }
                    }
                }
            })?;
        Ok(Some(Checkpoints { _stop: stop }))
    }
}

/// Runs `PRAGMA wal_checkpoint(TRUNCATE)` after any checkpoint of this process; `Ok(false)`
/// if it could not finish now (a reader on an older snapshot, or a writer). It waits at most a
/// moment: while a `TRUNCATE` checkpoint waits for readers, no writer may go on (a delivery
/// package reads one snapshot for seconds), and signing must not stall behind it; what it could
/// not finish, the hourly sweep does.
fn truncate(c: &mut diesel::SqliteConnection) -> Result<bool, diesel::result::Error> {
    use diesel::connection::SimpleConnection;
    let _turn = checkpointing();
    c.batch_execute("PRAGMA busy_timeout = 200;")?;
    let done = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result::<Checkpointed>(c);
    c.batch_execute("PRAGMA busy_timeout = 10000;")?;
    let done = done?;
    Ok(done.busy == 0 && done.log == done.checkpointed)
}

/// [`truncate_wal`] from a request: never fails the request.
pub fn truncate_wal_briefly(conn: &mut DbConnection) {
    if let DbConnection::Sqlite(c) = conn {
        match truncate(c) {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the write-ahead log was not truncated now"),
            Err(e) => tracing::warn!(error = %e, "the write-ahead log was not truncated now"),
        }
    }
}

/// `t` to the minute: what a signature's row keeps of when it was signed and confirmed, no
/// finer than the public log needs, so exact times cannot tie rows to other records (a mail
/// server's or a network's logs).
pub fn to_minute(t: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    use chrono::Timelike;
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// The current time as stored: naive UTC, second precision is not assumed.
pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// Whether an error is a unique-constraint violation: how a use case learns that what it
/// inserts is already there, where `ON CONFLICT` cannot say it.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration_names(backend: &str) -> Vec<String> {
        let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_postgres_url_gets_network_deadlines_unless_it_sets_its_own() {
        let url = with_deadlines("postgres://u:p@db.example/undersigned?connect_timeout=3");
        let parsed = url::Url::parse(&url).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let value = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(value("connect_timeout"), Some("3"));
        assert_eq!(value("tcp_user_timeout"), Some("30000"));
        assert_eq!(value("keepalives_idle"), Some("15"));
        assert_eq!(
            pairs.iter().filter(|(k, _)| k == "connect_timeout").count(),
            1
        );
        assert!(url.starts_with("postgres://u:p@db.example/undersigned?"));
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let sqlite = migration_names("sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, migration_names("postgres"));
    }
}
