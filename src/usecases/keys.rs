//! The sealed columns' bookkeeping: which data key the rows are sealed under, the one-time
//! sealing of databases made before personal data was encrypted, and key rotation.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};

use crate::db::schema::{confirmation_tokens, email_jobs, signatures};
use crate::db::site::{
    DATA_KEY_ID, ensure_current_key, get, has_signer_data, serialise_instances, set,
};
use crate::db::{self, DbConnection, DbError};
use crate::domain::NewEmail;
use crate::keys::Keys;
use crate::log::entry::Committed;
use crate::sealed::{HashKind, Personal, Purpose};

/// `site_state` names.
const SEALED: &str = "personal_data_sealed";
const SALTS_SEALED: &str = "commitment_salts_sealed";
/// The index key, sealed under the data key.
const INDEX_KEY: &str = "index_key";
/// Set once every stored hash is bound to its petition ([`bind_to_petitions`]).
const BOUND: &str = "hashes_bound_to_petitions";
/// Set once organizers' addresses (and petitions' owners) are in today's one spelling.
const RESPELLED: &str = "organizer_emails_respelled";

/// Rows sealed (or re-sealed) at a time.
const BATCH: i64 = 1000;

/// Why the database and the configured key do not go together.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the data key derived from {key_source} is not the one this database's signer data is sealed \
         under (key id {stored}, this key's id is {current}). Point secret_key or key_file at the \
         key this database was made with. If that key is lost, so are the signers' names, emails, \
         postcodes and comments (the counts and the log are unaffected)."
    )]
    Mismatch {
        key_source: String,
        stored: String,
        current: String,
    },
    #[error(
        "this database is still sealed under the previous key (previous_secret_key): run \
         `undersigned rotate-key` before starting the server"
    )]
    RotationPending,
    #[error(
        "this database holds signer data from before it was encrypted; sealing it needs the key \
         (start the server once, or run the command with the site's configuration)"
    )]
    NeedsKey,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for KeyError {
    fn from(e: diesel::result::Error) -> KeyError {
        KeyError::Db(e.into())
    }
}

/// The site's keys for this database, and the database made ready for them: migrated, what
/// an older version left in clear sealed, the key checked, the index key the database keeps,
/// and its hashes bound to their petitions. What was done once is logged. The one start of the
/// server and of every command that reads or writes signers' data.
pub fn ready(
    settings: &crate::config::Settings,
    conn: &mut DbConnection,
) -> anyhow::Result<(Keys, Sealed)> {
    let keys = site_keys(settings, conn)?;
    tracing::info!(master_key = %keys.source, "keys derived");
    let sealed = prepare(conn, &keys)?;
    let keys = with_index_key(conn, keys)?;
    let bound = bind_to_petitions(conn, &keys)?;
    if !bound.organizers_not_respelled.is_empty() {
        tracing::warn!(
            organizers = ?bound.organizers_not_respelled,
            "organizer accounts whose address in its one spelling is another account's kept \
             their own: the other account is the one that signs in with it"
        );
    }
    if bound != Bound::default() {
        tracing::info!(?bound, "stored hashes bound to their petitions, once");
    }
    Ok((keys, sealed))
}

/// The part of [`prepare`] that needs no key, for a database just created (a test template):
/// migrated, marked sealed with nothing to seal, its ids never reused.
pub fn prepare_without_keys(conn: &mut DbConnection) -> Result<(), KeyError> {
    db::migrate(conn)?;
    seal_plaintext(conn, None)?;
    db::ids_never_reused(conn)?;
    Ok(())
}

/// Makes a database ready for this version with these keys: pending migrations, the one-time
/// sealing of personal data stored in clear by older versions, and the check that `keys` open
/// what is sealed (a server with the wrong key must not start, let alone write).
pub fn prepare(conn: &mut DbConnection, keys: &Keys) -> Result<Sealed, KeyError> {
    db::migrate(conn)?;
    let sealed = seal_plaintext(conn, Some(keys))?;
    check_key(conn, keys)?;
    db::ids_never_reused(conn)?;
    seal_clear_salts(conn, keys)?;
    Ok(sealed)
}

/// The site's keys (`secrets::load`), except that a new master key is made only for a database
/// without signer data: a server or command started where the key is missing (another host, a
/// fresh container, a lost key file) must stop and say so, not seal new data under a key
/// nobody keeps and leave the old data unreadable.
pub fn site_keys(
    settings: &crate::config::Settings,
    conn: &mut DbConnection,
) -> anyhow::Result<Keys> {
    use anyhow::Context;
    let key_file = crate::secrets::key_file(settings);
    if settings.secret_key.is_none() && !key_file.exists() {
        db::migrate(conn)?;
        if has_signer_data(conn)? {
            anyhow::bail!(
                "no master key at {} (config key `key_file`, or set `secret_key`): this \
                 database's signer data is sealed under the site's key, and without it that \
                 data is lost; restore the key file, or point key_file or secret_key at it",
                key_file.display()
            );
        }
    }
    crate::secrets::load(settings).context("config key `key_file`")
}

/// Checks that `keys` open this database's sealed rows, and records the key's id on a new
/// database. Run at every start: a server with the wrong key never writes a row.
pub fn check_key(conn: &mut DbConnection, keys: &Keys) -> Result<(), KeyError> {
    db::write_tx(conn, |conn| {
        serialise_instances(conn)?;
        check_key_in(conn, keys)
    })
}

fn check_key_in(conn: &mut DbConnection, keys: &Keys) -> Result<(), KeyError> {
    match get(conn, DATA_KEY_ID)? {
        None => Ok(set(conn, DATA_KEY_ID, &keys.data_key_id())?),
        Some(id) if id == keys.data_key_id() => Ok(()),
        Some(id) if keys.previous().is_some_and(|p| p.data_key_id() == id) => {
            Err(KeyError::RotationPending)
        }
        Some(stored) => Err(KeyError::Mismatch {
            key_source: keys.source.clone(),
            stored,
            current: keys.data_key_id(),
        }),
    }
}

#[derive(QueryableByName)]
struct OldSignature {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    email_key: String,
    #[diesel(sql_type = Nullable<Text>)]
    postcode: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    comment: Option<String>,
    #[diesel(sql_type = Text)]
    country: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Integer>)]
    number: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    commitment: Option<String>,
    #[diesel(sql_type = Text)]
    slug: String,
}

#[derive(QueryableByName)]
struct OldEmail {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Text)]
    body_text: String,
    #[diesel(sql_type = Text)]
    body_html: String,
}

/// What [`seal_plaintext`] sealed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sealed {
    pub signatures: usize,
    pub links: usize,
    pub emails: usize,
}

/// Once per database: seals the personal data that older versions stored in clear
/// (signatures, confirmation links, queued emails), replaces mailbox keys by their keyed
/// hashes, and drops the plaintext columns, all in one transaction. A new database goes
/// through it too, with nothing to seal. `keys` may be `None` only where there is nothing to
/// seal (a database just created).
pub fn seal_plaintext(conn: &mut DbConnection, keys: Option<&Keys>) -> Result<Sealed, KeyError> {
    let sealed = db::write_tx(conn, |conn| {
        let mut sealed = Sealed::default();
        serialise_instances(conn)?;
        if get(conn, SEALED)?.is_some() {
            return Ok(None);
        }
        let mut after = 0;
        loop {
            let rows: Vec<OldSignature> = diesel::sql_query(format!(
                "SELECT s.id, s.name, s.email, s.email_key, s.postcode, s.comment, s.country, \
                 s.status, s.number, s.commitment, p.slug FROM signatures s \
                 JOIN petitions p ON p.id = s.petition_id \
                 WHERE s.id > {after} ORDER BY s.id LIMIT {BATCH}"
            ))
            .load(conn)?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            let keys = keys.ok_or(KeyError::NeedsKey)?;
            for r in rows {
                // The last time this data is readable without the key: a signature confirmed
                // before the signed log existed gets its commitment now, as it would have
                // when confirmed.
                if r.status == "confirmed" && r.commitment.is_none() {
                    let committed = Committed {
                        petition_slug: &r.slug,
                        number: r.number.unwrap_or(0),
                        name: &r.name,
                        email: &r.email,
                        country: &r.country,
                        postcode: r.postcode.as_deref(),
                        comment: r.comment.as_deref(),
                    }
                    .commit(keys);
                    diesel::update(signatures::table.find(r.id))
                        .set((
                            signatures::receipt_hash.eq(committed.receipt_hash),
                            signatures::salt.eq(committed.sealed_salt),
                            signatures::commitment.eq(committed.commitment),
                        ))
                        .execute(conn)?;
                }
                let personal = Personal {
                    name: r.name,
                    email: r.email,
                    postcode: r.postcode,
                    comment: r.comment,
                };
                diesel::update(signatures::table.find(r.id))
                    .set((
                        signatures::personal.eq(keys.seal(Purpose::Signature, &personal)),
                        // Unbound, as every row was then: bound to its petition with the others
                        // by `bind_to_petitions`.
                        signatures::email_key.eq(keys.email_index_unbound(&r.email_key)),
                        signatures::domain_key.eq(keys.domain_index_unbound(
                            r.email_key.rsplit_once('@').map_or("", |(_, d)| d),
                        )),
                    ))
                    .execute(conn)?;
                sealed.signatures += 1;
            }
        }
        let mut after = 0;
        loop {
            let rows: Vec<OldSignature> = diesel::sql_query(format!(
                "SELECT id, name, email, '' AS email_key, postcode, comment, country, \
                 'link' AS status, NULL AS number, NULL AS commitment, '' AS slug \
                 FROM confirmation_tokens WHERE id > {after} ORDER BY id LIMIT {BATCH}"
            ))
            .load(conn)?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            let keys = keys.ok_or(KeyError::NeedsKey)?;
            for r in rows {
                let personal = Personal {
                    name: r.name,
                    email: r.email,
                    postcode: r.postcode,
                    comment: r.comment,
                };
                diesel::update(confirmation_tokens::table.find(r.id))
                    .set(
                        confirmation_tokens::personal.eq(keys.seal(Purpose::Submission, &personal)),
                    )
                    .execute(conn)?;
                sealed.links += 1;
            }
        }
        // Only unsent emails keep their content; a sent one's was already dropped.
        let mut after = 0;
        loop {
            let rows: Vec<OldEmail> = diesel::sql_query(format!(
                "SELECT id, recipient, subject, body_text, body_html FROM email_jobs \
                 WHERE id > {after} AND sent_at IS NULL AND failed_at IS NULL \
                 AND update_id IS NULL ORDER BY id LIMIT {BATCH}"
            ))
            .load(conn)?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            let keys = keys.ok_or(KeyError::NeedsKey)?;
            for r in rows {
                let email = NewEmail {
                    recipient: r.recipient,
                    subject: r.subject,
                    body_text: r.body_text,
                    body_html: r.body_html,
                };
                diesel::update(email_jobs::table.find(r.id))
                    .set(email_jobs::content.eq(keys.seal(Purpose::Email, &email)))
                    .execute(conn)?;
                sealed.emails += 1;
            }
        }
        // The old values are blanked before their columns go: PostgreSQL's DROP COLUMN only
        // hides a column, and the rows written above are new versions that still held them.
        // An SMTP refusal recorded by an older version may quote an address.
        for statement in [
            "UPDATE signatures SET name = '', email = '', postcode = NULL, comment = NULL",
            "UPDATE confirmation_tokens SET name = '', email = '', postcode = NULL, comment = NULL",
            "UPDATE email_jobs SET recipient = '', subject = '', body_text = '', body_html = '', \
             last_error = NULL",
            "ALTER TABLE signatures DROP COLUMN name",
            "ALTER TABLE signatures DROP COLUMN email",
            "ALTER TABLE signatures DROP COLUMN postcode",
            "ALTER TABLE signatures DROP COLUMN comment",
            "ALTER TABLE confirmation_tokens DROP COLUMN name",
            "ALTER TABLE confirmation_tokens DROP COLUMN email",
            "ALTER TABLE confirmation_tokens DROP COLUMN postcode",
            "ALTER TABLE confirmation_tokens DROP COLUMN comment",
            "ALTER TABLE email_jobs DROP COLUMN recipient",
            "ALTER TABLE email_jobs DROP COLUMN subject",
            "ALTER TABLE email_jobs DROP COLUMN body_text",
            "ALTER TABLE email_jobs DROP COLUMN body_html",
        ] {
            diesel::sql_query(statement).execute(conn)?;
        }
        set(conn, SEALED, "1")?;
        Ok::<_, KeyError>(Some(sealed))
    })?;
    let Some(sealed) = sealed else {
        return Ok(Sealed::default());
    };
    // The old values were overwritten in place (`secure_delete` on SQLite); rebuilding the
    // tables leaves no page that held them, and no dead row version on PostgreSQL.
    {
        use diesel::connection::SimpleConnection;
        match conn {
            // VACUUM builds the new file in the temporary store: on disk, not in memory, for
            // a database of any size.
            DbConnection::Sqlite(c) => c
                .batch_execute("PRAGMA temp_store = FILE; VACUUM; PRAGMA temp_store = MEMORY;")
                .map_err(DbError::from)?,
            DbConnection::Postgres(c) => c
                .batch_execute("VACUUM FULL signatures, confirmation_tokens, email_jobs;")
                .map_err(DbError::from)?,
        }
    }
    db::truncate_wal(conn)?;
    Ok(sealed)
}

/// Once per database: seals the commitment salts that versions before salts were sealed kept
/// in clear beside the public commitments (with them, whoever held the database could test a
/// guessed name and address against the log). Run after [`check_key`]; returns how many.
pub fn seal_clear_salts(conn: &mut DbConnection, keys: &Keys) -> Result<usize, KeyError> {
    let sealed = db::write_tx(conn, |conn| {
        serialise_instances(conn)?;
        if get(conn, SALTS_SEALED)?.is_some() {
            return Ok(None);
        }
        ensure_current_key(conn, keys)?;
        let mut sealed = 0;
        let mut after = 0;
        loop {
            let rows: Vec<(i32, Option<String>)> = signatures::table
                .filter(signatures::id.gt(after))
                .filter(signatures::salt.is_not_null())
                .order(signatures::id.asc())
                .limit(BATCH)
                .select((signatures::id, signatures::salt))
                .load(conn)?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (id, salt) in rows {
                let Some(salt) = salt.filter(|s| crate::sealed::is_clear_salt(s)) else {
                    continue;
                };
                diesel::update(signatures::table.find(id))
                    .set(signatures::salt.eq(keys.seal(Purpose::Salt, &salt)))
                    .execute(conn)?;
                sealed += 1;
            }
        }
        set(conn, SALTS_SEALED, "1")?;
        Ok::<_, KeyError>(Some(sealed))
    })?;
    match sealed {
        Some(n) if n > 0 => {
            use diesel::connection::SimpleConnection;
            match conn {
                // `secure_delete` zeroed the old values in the file; nor may the WAL keep them.
                DbConnection::Sqlite(_) => db::truncate_wal(conn)?,
                DbConnection::Postgres(c) => c
                    .batch_execute("VACUUM FULL signatures;")
                    .map_err(DbError::from)?,
            }
            Ok(n)
        }
        _ => Ok(0),
    }
}

/// `keys` with this database's index key: the key of the keyed hashes that find a mailbox or a
/// domain (`Keys::email_index`). It is made once per database and kept there sealed under the
/// data key, so a rotation of the master key re-seals it but never changes it: every hash
/// stored before a rotation, those of rows whose personal data retention erased included
/// (nothing is left to re-hash them from), still finds its mailbox after it, and one mailbox
/// still counts once. A database from before it was kept gets the key its hashes were made
/// with, the one derived from the master key. Run after [`check_key`].
pub fn with_index_key(conn: &mut DbConnection, keys: Keys) -> Result<Keys, KeyError> {
    let index = db::write_tx(conn, |conn| {
        serialise_instances(conn)?;
        match get(conn, INDEX_KEY)? {
            Some(sealed) => open_index_key(&keys, &sealed),
            None => {
                let mut derived = vec![*keys.data_index_key()];
                derived.extend(keys.previous().map(|p| *p.data_index_key()));
                let index =
                    index_key_of_rows(conn, &keys, &derived)?.unwrap_or(*keys.data_index_key());
                set(
                    conn,
                    INDEX_KEY,
                    &keys.seal(Purpose::IndexKey, &hex::encode(index)),
                )?;
                Ok(index)
            }
        }
    })?;
    Ok(keys.with_index_key(index))
}

/// Of `candidates`, the index key the stored mailbox hashes were made with, as the first
/// signature whose data still opens shows (its address hashed under the key is its
/// `email_key`); `None` when no signature can tell (none, or all erased). Refused when none of
/// them made it: a wrong key kept for good would make every mailbox count again.
fn index_key_of_rows(
    conn: &mut DbConnection,
    keys: &Keys,
    candidates: &[[u8; 32]],
) -> Result<Option<[u8; 32]>, KeyError> {
    let rows: Vec<(i32, String, Option<String>)> = signatures::table
        .filter(signatures::personal.is_not_null())
        .filter(signatures::email_key.not_like("withdrawn:%"))
        .select((
            signatures::petition_id,
            signatures::email_key,
            signatures::personal,
        ))
        .limit(20)
        .load(conn)?;
    let mut tested = false;
    for (petition_id, stored, personal) in rows {
        let Some(Ok(p)) = personal.map(|p| keys.open::<Personal>(Purpose::Signature, &p)) else {
            continue;
        };
        let Ok(email) = crate::domain::SignerEmail::parse(&p.email) else {
            continue;
        };
        let dedupe = email.dedupe_key();
        // Bound to its petition, or (before the hashes were) not.
        let made_with = |c: &[u8; 32]| {
            let unbound = Keys::email_index_under(c, dedupe);
            unbound == stored
                || Keys::petition_bound_under(c, HashKind::Email, petition_id, &unbound) == stored
        };
        // A row spelled under older rules (an international domain, a provider's alias) may
        // match no key: the next one decides.
        tested = true;
        if let Some(index) = candidates.iter().find(|c| made_with(c)) {
            return Ok(Some(*index));
        }
    }
    if tested {
        return Err(KeyError::Db(DbError::Other(
            "the stored mailbox hashes were made with neither the current nor the previous \
             key: set previous_secret_key to the key this database was used with"
                .into(),
        )));
    }
    Ok(None)
}

/// What [`bind_to_petitions`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Bound {
    /// Rows whose hashes were bound to their petition.
    pub signatures: usize,
    /// Of those, mailboxes spelled again under today's rules.
    pub respelled: usize,
    /// Rows that are the same mailbox as another of their petition under today's rules:
    /// reported to its organizers, not merged.
    pub duplicates: usize,
    /// Organizer accounts whose address, spelled again, is another account's: each keeps its
    /// own (see [`db::organizers::respell_all`]).
    pub organizers_not_respelled: Vec<i32>,
}

/// Once per database: binds every stored mailbox, domain and network hash to its petition,
/// HMAC(index key, kind ‖ petition ‖ old value), without the addresses. Older versions stored
/// the same value on every petition, so a copy of the database joined one mailbox's rows across
/// petitions (erased rows too) and, with a public signer list, named signers where they chose
/// to stay hidden. Where a row's address still opens, its mailbox is also spelled again under
/// today's rules (IDNA, providers' alias domains); a row that then is the same mailbox as
/// another of its petition keeps its own hash and is reported in the petition's audit log
/// (`duplicate-mailboxes`), never merged. One transaction. `keys` must carry the database's
/// index key ([`with_index_key`]).
pub fn bind_to_petitions(conn: &mut DbConnection, keys: &Keys) -> Result<Bound, KeyError> {
    Ok(db::write_tx(conn, |conn| {
        serialise_instances(conn)?;
        let mut bound = Bound::default();
        if get(conn, RESPELLED)?.is_none() {
            bound.organizers_not_respelled = db::organizers::respell_all(conn)?;
            set(conn, RESPELLED, "1")?;
        }
        if get(conn, BOUND)?.is_some() {
            return Ok(bound);
        }
        // (id, petition, email key and domain key under today's spelling)
        let mut respelled: Vec<(i32, i32, String, String)> = Vec::new();
        let mut after = 0;
        loop {
            type Row = (
                i32,
                i32,
                String,
                Option<String>,
                Option<String>,
                Option<String>,
            );
            let rows: Vec<Row> = signatures::table
                .filter(signatures::id.gt(after))
                .order(signatures::id.asc())
                .limit(BATCH)
                .select((
                    signatures::id,
                    signatures::petition_id,
                    signatures::email_key,
                    signatures::domain_key,
                    signatures::ip_hash,
                    signatures::personal,
                ))
                .load(conn)?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (id, petition, email_key, domain_key, ip_hash, personal) in rows {
                let bind = |kind, value: &str| keys.petition_bound(kind, petition, value);
                // A withdrawal's placeholder names no mailbox.
                let withdrawn = email_key.starts_with("withdrawn:");
                diesel::update(signatures::table.find(id))
                    .set((
                        signatures::email_key.eq(if withdrawn {
                            email_key.clone()
                        } else {
                            bind(HashKind::Email, &email_key)
                        }),
                        signatures::domain_key.eq(domain_key.map(|d| bind(HashKind::Domain, &d))),
                        signatures::ip_hash.eq(ip_hash.map(|h| bind(HashKind::Network, &h))),
                    ))
                    .execute(conn)?;
                bound.signatures += 1;
                if withdrawn {
                    continue;
                }
                let Some(Ok(p)) = personal.map(|p| keys.open::<Personal>(Purpose::Signature, &p))
                else {
                    continue;
                };
                let Ok(email) = crate::domain::SignerEmail::parse(&p.email) else {
                    continue;
                };
                let dedupe = email.dedupe_key();
                if keys.email_index_unbound(dedupe) != email_key {
                    respelled.push((
                        id,
                        petition,
                        keys.email_index(petition, dedupe),
                        keys.domain_index_of(petition, dedupe),
                    ));
                }
            }
        }
        // The network hashes of links not used yet, bound to their signature's petition.
        let tokens: Vec<(i32, i32, String)> = confirmation_tokens::table
            .inner_join(signatures::table)
            .filter(confirmation_tokens::ip_hash.is_not_null())
            .select((
                confirmation_tokens::id,
                signatures::petition_id,
                confirmation_tokens::ip_hash.assume_not_null(),
            ))
            .load(conn)?;
        for (id, petition, hash) in tokens {
            diesel::update(confirmation_tokens::table.find(id))
                .set(confirmation_tokens::ip_hash.eq(keys.petition_bound(
                    HashKind::Network,
                    petition,
                    &hash,
                )))
                .execute(conn)?;
        }
        let mut duplicates: std::collections::BTreeMap<i32, Vec<i32>> = Default::default();
        for (id, petition, email_key, domain_key) in respelled {
            let taken: i64 = signatures::table
                .filter(signatures::petition_id.eq(petition))
                .filter(signatures::email_key.eq(&email_key))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                duplicates.entry(petition).or_default().push(id);
                continue;
            }
            diesel::update(signatures::table.find(id))
                .set((
                    signatures::email_key.eq(&email_key),
                    signatures::domain_key.eq(Some(&domain_key)),
                ))
                .execute(conn)?;
            bound.respelled += 1;
        }
        for (petition, ids) in &duplicates {
            let ids: Vec<String> = ids.iter().map(i32::to_string).collect();
            db::audit::record(
                conn,
                None,
                Some(*petition),
                "duplicate-mailboxes",
                &format!(
                    "signatures {}: each the same mailbox as another signature of this petition \
                     under another spelling (an international domain, or a provider's other \
                     domain name); both count until one is invalidated",
                    ids.join(", ")
                ),
                db::now(),
            )?;
            bound.duplicates += ids.len();
        }
        set(conn, BOUND, "1")?;
        Ok::<_, DbError>(bound)
    })?)
}

fn open_index_key(keys: &Keys, sealed: &str) -> Result<[u8; 32], KeyError> {
    let text: String = keys
        .open(Purpose::IndexKey, sealed)
        .map_err(|e| DbError::Other(format!("the index key: {e}")))?;
    hex::decode(text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| KeyError::Db(DbError::Other("the index key is damaged".into())))
}

/// What [`rotate`] re-sealed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotated {
    pub signatures: usize,
    pub links: usize,
    pub emails: usize,
}

/// Re-seals every sealed value under the current key, the index key included (which does not
/// change: the mailbox hashes stay as they are, [`with_index_key`]), in one transaction; `keys` must carry the previous key (`previous_secret_key`). Run with the server
/// stopped: a server running meanwhile would seal new data under the previous key.
pub fn rotate(conn: &mut DbConnection, keys: &Keys) -> Result<Rotated, KeyError> {
    let previous = keys.previous().ok_or(KeyError::Db(DbError::Other(
        "set previous_secret_key to the key the data is sealed under now".into(),
    )))?;
    let rotated = db::write_tx(conn, |conn| {
        // Whatever a running instance writes to these tables either commits before the scans
        // below (and is re-sealed) or waits and then fails its key check.
        if let DbConnection::Postgres(c) = conn {
            diesel::sql_query(
                "LOCK TABLE signatures, confirmation_tokens, email_jobs IN SHARE ROW EXCLUSIVE MODE",
            )
            .execute(c)?;
        }
        match get(conn, DATA_KEY_ID)? {
            Some(id) if id == previous.data_key_id() || id == keys.data_key_id() => {}
            None => {}
            Some(stored) => {
                return Err(KeyError::Mismatch {
                    key_source: "previous_secret_key".into(),
                    stored,
                    current: previous.data_key_id(),
                });
            }
        }
        // The index key, kept as it is; a database from before it was kept gets the one its
        // hashes were made with: derived from the previous master key or (rotated before by a
        // version that re-hashed) from the current one, as its rows show.
        let index = match get(conn, INDEX_KEY)? {
            Some(sealed) => open_index_key(keys, &sealed)?,
            None => {
                let derived = [*previous.data_index_key(), *keys.data_index_key()];
                match index_key_of_rows(conn, keys, &derived)? {
                    Some(index) => index,
                    None if get(conn, DATA_KEY_ID)? == Some(keys.data_key_id()) => {
                        *keys.data_index_key()
                    }
                    None => *previous.data_index_key(),
                }
            }
        };
        set(
            conn,
            INDEX_KEY,
            &keys.seal(Purpose::IndexKey, &hex::encode(index)),
        )?;
        let mut rotated = Rotated::default();
        let mut after = 0;
        loop {
            let rows: Vec<(i32, Option<String>, Option<String>)> = signatures::table
                .filter(signatures::id.gt(after))
                .order(signatures::id.asc())
                .limit(BATCH)
                .select((signatures::id, signatures::personal, signatures::salt))
                .load(conn)?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (id, personal, salt) in rows {
                if let Some(text) = salt.filter(|t| !keys.sealed_under_current(t)) {
                    let salt = keys
                        .open_salt(Some(&text))
                        .map_err(|e| DbError::Other(format!("signature {id}'s salt: {e}")))?
                        .unwrap_or(text);
                    diesel::update(signatures::table.find(id))
                        .set(signatures::salt.eq(keys.seal(Purpose::Salt, &salt)))
                        .execute(conn)?;
                }
                let Some(text) = personal.filter(|t| !keys.sealed_under_current(t)) else {
                    continue;
                };
                let p: Personal = keys
                    .open(Purpose::Signature, &text)
                    .map_err(|e| DbError::Other(format!("signature {id}: {e}")))?;
                diesel::update(signatures::table.find(id))
                    .set(signatures::personal.eq(keys.seal(Purpose::Signature, &p)))
                    .execute(conn)?;
                rotated.signatures += 1;
            }
        }
        let rows: Vec<(i32, Option<String>)> = confirmation_tokens::table
            .select((confirmation_tokens::id, confirmation_tokens::personal))
            .load(conn)?;
        for (id, personal) in rows {
            let Some(text) = personal.filter(|t| !keys.sealed_under_current(t)) else {
                continue;
            };
            let p: Personal = keys
                .open(Purpose::Submission, &text)
                .map_err(|e| DbError::Other(format!("confirmation link {id}: {e}")))?;
            diesel::update(confirmation_tokens::table.find(id))
                .set(confirmation_tokens::personal.eq(keys.seal(Purpose::Submission, &p)))
                .execute(conn)?;
            rotated.links += 1;
        }
        let rows: Vec<(i32, Option<String>)> = email_jobs::table
            .filter(email_jobs::content.is_not_null())
            .select((email_jobs::id, email_jobs::content))
            .load(conn)?;
        for (id, content) in rows {
            let Some(text) = content.filter(|t| !keys.sealed_under_current(t)) else {
                continue;
            };
            let e: NewEmail = keys
                .open(Purpose::Email, &text)
                .map_err(|e| DbError::Other(format!("email job {id}: {e}")))?;
            diesel::update(email_jobs::table.find(id))
                .set(email_jobs::content.eq(keys.seal(Purpose::Email, &e)))
                .execute(conn)?;
            rotated.emails += 1;
        }
        // Organizers' second factors, or they could no longer sign in after the rotation.
        use crate::db::schema::organizer_factors;
        let rows: Vec<(i32, String)> = organizer_factors::table
            .select((organizer_factors::id, organizer_factors::secret))
            .load(conn)?;
        for (id, text) in rows {
            if keys.sealed_under_current(&text) {
                continue;
            }
            let secret: String = keys
                .open(Purpose::Factor, &text)
                .map_err(|e| DbError::Other(format!("second factor {id}: {e}")))?;
            diesel::update(organizer_factors::table.find(id))
                .set(organizer_factors::secret.eq(keys.seal(Purpose::Factor, &secret)))
                .execute(conn)?;
        }
        set(conn, DATA_KEY_ID, &keys.data_key_id())?;
        Ok::<_, KeyError>(rotated)
    })?;
    db::truncate_wal(conn)?;
    Ok(rotated)
}
