//! The delivery package (CONTRACT.md, "Delivery package"): one ZIP that an official can check
//! offline. It holds the signature list, the paper batches, the petition text, the petition's
//! whole signed log up to one checkpoint, the checkpoint and the site's verifier key, a
//! manifest of every file's SHA-256 signed with the log key, `verify.html` (the same checks
//! in a browser with no network) and a `README.txt` for the person who receives it.
//!
//! The list is the log's own: the signatures whose commitments count at the checkpoint, so
//! the list, the log and the count agree whatever happens while the package is written.

pub mod verify;

use std::collections::BTreeMap;
use std::io::{Seek, Write};

use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use crate::db::deliveries::PackageSummary;
use crate::db::petitions::Petition;
use crate::db::views::export::ExportFilter;
use crate::db::{self, DbConnection, DbError, log as dblog};
use crate::export;
use crate::i18n::{Lang, Tr};
use crate::log::LogSigner;
use crate::log::recount::Recount;
use crate::usecases::{self, UseCaseError};

/// The columns of `paper.csv`.
pub const PAPER_COLUMNS: [&str; 4] = ["batch", "count", "collected_on", "note"];

/// The format named in every manifest.
pub const FORMAT: &str = "undersigned-delivery/1";

/// The package's files, in the order they are written; the manifest and its signature last.
pub mod files {
    pub const README: &str = "README.txt";
    pub const SIGNATURES: &str = "signatures.csv";
    pub const PAPER: &str = "paper.csv";
    pub const ENTRIES: &str = "log-entries.jsonl";
    pub const CHECKPOINT: &str = "checkpoint.txt";
    pub const VKEY: &str = "vkey.txt";
    pub const VERIFY: &str = "verify.html";
    pub const MANIFEST: &str = "manifest.json";
    pub const MANIFEST_SIG: &str = "manifest.sig";
    /// The petition's text in language `lang`: `petition.<lang>.md`.
    pub fn petition(lang: &str) -> String {
        format!("petition.{lang}.md")
    }
}

/// `manifest.json`: what the package holds and the SHA-256 of every other file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub petition: ManifestPetition,
    /// When the package was made (ISO 8601, UTC).
    pub created_at: String,
    /// Signatures in `signatures.csv`: online, confirmed and counted at the checkpoint.
    pub signatures: i64,
    /// Signatures on paper, the sum of `paper.csv`.
    pub paper: i64,
    /// `signatures + paper`: the total the checkpoint commits to.
    pub total: i64,
    /// Whether `signatures.csv` carries email addresses.
    pub with_emails: bool,
    /// The checkpoint's size: how many log entries the package holds.
    pub size: u64,
    /// The signed checkpoint, as in `checkpoint.txt`.
    pub checkpoint: String,
    /// The verifier key, as in `vkey.txt`.
    pub vkey: String,
    /// File name → hex SHA-256 of its bytes, for every file but the manifest and its signature.
    pub files: BTreeMap<String, String>,
    /// File name → its size in bytes, for the same files: a checker reads no more of a file
    /// than this (a forged file can claim any size). Absent in packages of older versions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sizes: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManifestPetition {
    pub slug: String,
    pub title: String,
    pub url: String,
    /// Where the public log and the verifier key are published.
    pub log_url: String,
    pub key_url: String,
    pub languages: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error(transparent)]
    UseCase(#[from] UseCaseError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("writing the package: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the package: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the package: {0}")]
    Export(#[from] export::ExportError),
    /// The stored log does not replay to its own checkpoint: never expected; nothing is written.
    #[error("the petition's stored log is inconsistent: {0}")]
    Inconsistent(String),
}

/// The site's public addresses a package points to.
pub struct Site<'a> {
    pub base_url: &'a str,
    pub signer: &'a LogSigner,
    /// Opens the signers' sealed data.
    pub keys: &'a crate::keys::Keys,
}

/// A file being written into the ZIP, hashed on the way.
struct Hashed<'z, W: Write + Seek> {
    zip: &'z mut zip::ZipWriter<W>,
    hash: Sha256,
    len: u64,
}

impl<W: Write + Seek> Write for Hashed<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.zip.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.zip.flush()
    }
}

struct Writer<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    options: SimpleFileOptions,
    hashes: BTreeMap<String, String>,
    sizes: BTreeMap<String, u64>,
}

impl<W: Write + Seek> Writer<W> {
    fn file(&mut self, name: &str) -> Result<Hashed<'_, W>, PackageError> {
        self.zip.start_file(name, self.options)?;
        Ok(Hashed {
            zip: &mut self.zip,
            hash: Sha256::new(),
            len: 0,
        })
    }

    /// Records a file written through [`Writer::file`]: its hash and size, for the manifest.
    fn done(&mut self, name: &str, (hash, len): (Sha256, u64)) {
        self.hashes
            .insert(name.to_string(), hex::encode(hash.finalize()));
        self.sizes.insert(name.to_string(), len);
    }

    /// A whole file at once.
    fn put(&mut self, name: &str, bytes: &[u8]) -> Result<(), PackageError> {
        let mut f = self.file(name)?;
        f.write_all(bytes)?;
        let written = (f.hash, f.len);
        self.done(name, written);
        Ok(())
    }
}

/// Writes the delivery package of `petition` to `out`: first brings its log up to date, then
/// packs the log to its latest checkpoint and the signatures that checkpoint counts; records
/// (and audits) that `organizer_id` (`None`: the command line) made it.
pub fn build<W: Write + Seek>(
    conn: &mut DbConnection,
    petition: &Petition,
    site: &Site<'_>,
    with_emails: bool,
    organizer_id: Option<i32>,
    out: W,
) -> Result<PackageSummary, PackageError> {
    let now = db::now();
    usecases::log::flush(conn, petition.id, site.signer, site.keys)?;
    // Everything below reads one snapshot: the checkpoint, its entries, the signatures and
    // the paper batches agree whatever is confirmed, moderated or removed meanwhile.
    let made = db::read_snapshot(conn, |conn| {
        write(conn, petition, site, with_emails, now, out)
    })?;
    usecases::deliveries::package_made(conn, organizer_id, petition.id, &made, now)?;
    Ok(made)
}

fn write<W: Write + Seek>(
    conn: &mut DbConnection,
    petition: &Petition,
    site: &Site<'_>,
    with_emails: bool,
    now: NaiveDateTime,
    out: W,
) -> Result<PackageSummary, PackageError> {
    let checkpoint = dblog::latest(conn, petition.id)?
        .ok_or_else(|| PackageError::Inconsistent("no checkpoint after flushing".into()))?;
    let base = site.base_url.trim_end_matches('/');
    // Every version the signers may have read, the original first.
    let targets = db::petitions::targets(conn, petition.id)?;
    let texts = db::petitions::texts(conn, petition, &targets)?;
    let languages: Vec<Lang> = texts.iter().map(|t| t.lang).collect();
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip_time(now));
    let mut w = Writer {
        zip: zip::ZipWriter::new(out),
        options,
        hashes: BTreeMap::new(),
        sizes: BTreeMap::new(),
    };

    // The log, replayed as it is written: the root must be the checkpoint's.
    let mut recount = Recount::default();
    let mut f = w.file(files::ENTRIES)?;
    let mut start = 0;
    while start < checkpoint.size {
        let end = (start + export::BATCH).min(checkpoint.size);
        for (_, data) in dblog::entries(conn, petition.id, start, end)? {
            recount
                .add(data.as_bytes())
                .map_err(PackageError::Inconsistent)?;
            f.write_all(data.as_bytes())?;
            f.write_all(b"\n")?;
        }
        start = end;
    }
    let written = (f.hash, f.len);
    w.done(files::ENTRIES, written);
    if recount.size() != checkpoint.size as u64
        || recount.root().as_slice() != checkpoint.root.as_slice()
        || recount.total() != checkpoint.total
    {
        return Err(PackageError::Inconsistent(format!(
            "{} entries summing to {} do not give the checkpoint of {} entries, total {}",
            recount.size(),
            recount.total(),
            checkpoint.size,
            checkpoint.total
        )));
    }

    // The signatures the checkpoint counts, in signing order.
    let mut f = w.file(files::SIGNATURES)?;
    f.write_all(export::UTF8_BOM)?;
    f.write_all(&export::package_header()?)?;
    let filter = ExportFilter {
        logged: true,
        ..ExportFilter::default()
    };
    let mut listed = 0i64;
    export::each_batch(conn, site.keys, petition.id, &filter, |mut batch| {
        batch.retain(|r| r.commitment.as_deref().is_some_and(|c| recount.counts(c)));
        listed += batch.len() as i64;
        f.write_all(&export::package_rows(&batch, with_emails)?)?;
        Ok(())
    })?;
    let written = (f.hash, f.len);
    w.done(files::SIGNATURES, written);
    if listed != recount.counted_signatures() {
        return Err(PackageError::Inconsistent(format!(
            "the log counts {} signatures, {listed} were found",
            recount.counted_signatures()
        )));
    }

    // Paper batches the checkpoint counts.
    let mut paper_csv = csv::Writer::from_writer(Vec::new());
    paper_csv
        .write_record(PAPER_COLUMNS)
        .map_err(export::ExportError::from)?;
    let mut paper = 0i64;
    for b in db::paper::list(conn, petition.id)?
        .into_iter()
        .filter(|b| recount.paper().get(&b.id) == Some(&i64::from(b.count)))
    {
        paper += i64::from(b.count);
        paper_csv
            .write_record([
                b.id.to_string(),
                b.count.to_string(),
                b.collected_on.format("%Y-%m-%d").to_string(),
                crate::domain::neutralise_formula(&b.note).into_owned(),
            ])
            .map_err(export::ExportError::from)?;
    }
    let paper_bytes = paper_csv
        .into_inner()
        .map_err(|e| PackageError::Io(e.into_error()))?;
    w.put(files::PAPER, &paper_bytes)?;
    if paper != recount.paper().values().sum::<i64>() {
        return Err(PackageError::Inconsistent(
            "the log's paper batches are not all stored".into(),
        ));
    }

    for text in &texts {
        w.put(
            &files::petition(text.lang.code()),
            petition_text(text).as_bytes(),
        )?;
    }
    w.put(files::CHECKPOINT, checkpoint.note.as_bytes())?;
    let vkey = format!("{}\n", site.signer.vkey());
    w.put(files::VKEY, vkey.as_bytes())?;

    let url = format!("{base}/petitions/{}", petition.slug);
    let manifest_petition = ManifestPetition {
        slug: petition.slug.clone(),
        title: petition.title.clone(),
        log_url: format!("{base}/api/v1/petitions/{}/log", petition.slug),
        key_url: format!("{base}/.well-known/undersigned/log-key"),
        url,
        languages: languages.iter().map(|l| l.code().to_string()).collect(),
    };
    let signatures = listed;
    let vkey_text = site.signer.vkey().to_string();
    let key_id = vkey_text.split('+').nth(1).unwrap_or_default();
    let facts = Facts {
        petition: &manifest_petition,
        key_id,
        signatures,
        paper,
        total: checkpoint.total,
        created_at: now,
    };
    w.put(files::VERIFY, verify_page(&languages, &facts).as_bytes())?;
    let versions: Vec<(Lang, &str)> = texts.iter().map(|t| (t.lang, t.title.as_str())).collect();
    w.put(files::README, readme(&versions, &facts).as_bytes())?;

    let manifest = Manifest {
        format: FORMAT.to_string(),
        petition: manifest_petition,
        created_at: now
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        signatures,
        paper,
        total: checkpoint.total,
        with_emails,
        size: checkpoint.size as u64,
        checkpoint: checkpoint.note.clone(),
        vkey: site.signer.vkey().to_string(),
        files: std::mem::take(&mut w.hashes),
        sizes: std::mem::take(&mut w.sizes),
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| PackageError::Inconsistent(e.to_string()))?;
    manifest_bytes.push(b'\n');
    let signature = format!("{}\n", site.signer.key().sign_bytes(&manifest_bytes));
    w.put(files::MANIFEST, &manifest_bytes)?;
    w.put(files::MANIFEST_SIG, signature.as_bytes())?;
    let manifest_sha256 = hex::encode(Sha256::digest(&manifest_bytes));
    w.zip.finish()?.flush()?;
    Ok(PackageSummary {
        size: checkpoint.size,
        total: checkpoint.total,
        signatures,
        paper,
        with_emails,
        manifest_sha256,
    })
}

fn zip_time(t: NaiveDateTime) -> zip::DateTime {
    let narrow = |v: u32| u8::try_from(v).unwrap_or(0);
    zip::DateTime::from_date_and_time(
        u16::try_from(t.year()).unwrap_or(1980),
        narrow(t.month()),
        narrow(t.day()),
        narrow(t.hour()),
        narrow(t.minute()),
        narrow(t.second()),
    )
    .unwrap_or_default()
}

/// The petition as its signers read it in one language: title, addressees, summary and text
/// (Markdown).
fn petition_text(p: &db::petitions::TextVersion) -> String {
    let mut s = format!("# {}\n\n", p.title);
    for t in &p.targets {
        s.push_str(&format!("- {t}\n"));
    }
    if !p.targets.is_empty() {
        s.push('\n');
    }
    if !p.summary.is_empty() {
        s.push_str(&format!("{}\n\n", p.summary));
    }
    s.push_str(p.body_markdown.trim_end());
    s.push('\n');
    s
}

/// What the README and the verification page say about the package.
struct Facts<'a> {
    petition: &'a ManifestPetition,
    /// The verifier key's ID (8 hex digits), for the official to compare with the site's.
    key_id: &'a str,
    signatures: i64,
    paper: i64,
    total: i64,
    created_at: NaiveDateTime,
}

/// `README.txt`: for the official who receives the package, in each of its languages, each
/// naming the petition by its title in that language.
fn readme(versions: &[(Lang, &str)], f: &Facts<'_>) -> String {
    let mut out = String::new();
    for (i, (lang, petition_title)) in versions.iter().enumerate() {
        let tr = Tr::new(*lang);
        if i > 0 {
            out.push_str("\n\n");
        }
        let title = tr.tf("package.readme.title", &[("title", petition_title)]);
        out.push_str(&title);
        out.push('\n');
        out.push_str(&"=".repeat(title.chars().count().min(78)));
        out.push_str("\n\n");
        let paras = [
            tr.tf(
                "package.readme.what",
                &[
                    ("title", petition_title),
                    ("url", &f.petition.url),
                    ("time", &tr.datetime(f.created_at)),
                    ("total", &tr.number(f.total)),
                    ("online", &tr.number(f.signatures)),
                    ("paper", &tr.number(f.paper)),
                ],
            ),
            tr.t("package.readme.files"),
            [
                ("signatures.csv", "package.readme.file_signatures"),
                ("paper.csv", "package.readme.file_paper"),
                ("petition.*.md", "package.readme.file_petition"),
                ("log-entries.jsonl", "package.readme.file_entries"),
                ("checkpoint.txt", "package.readme.file_checkpoint"),
                ("vkey.txt", "package.readme.file_vkey"),
                (
                    "manifest.json, manifest.sig",
                    "package.readme.file_manifest",
                ),
                ("verify.html", "package.readme.file_verify"),
            ]
            .iter()
            .map(|(name, key)| format!("  {name}: {}", tr.t(key)))
            .collect::<Vec<_>>()
            .join("\n"),
            tr.tf("package.readme.how", &[("key_url", &f.petition.key_url)]),
            tr.tf(
                "package.readme.key",
                &[("key_id", f.key_id), ("log_url", &f.petition.log_url)],
            ),
            tr.t("package.readme.privacy"),
        ];
        out.push_str(&paras.join("\n\n"));
        out.push('\n');
    }
    out
}

/// `verify.html`: one self-contained page (its script inline, no network) that checks the
/// package in a browser, in the package's first language.
fn verify_page(languages: &[Lang], f: &Facts<'_>) -> String {
    use askama::Template;
    let tr = Tr::new(languages.first().copied().unwrap_or(Lang::En));
    let messages: BTreeMap<&str, String> = verify::BROWSER_MESSAGES
        .iter()
        .map(|k| (*k, tr.t(&format!("package.verify.{k}"))))
        .collect();
    let page = VerifyPage {
        lang: tr.code(),
        title: tr.tf("package.verify.title", &[("title", &f.petition.title)]),
        intro: tr.t("package.verify.intro"),
        choose: tr.t("package.verify.choose"),
        key_note: tr.tf(
            "package.verify.key_note",
            &[("key_url", &f.petition.key_url)],
        ),
        key_label: tr.tf(
            "package.verify.key_label",
            &[("key_url", &f.petition.key_url)],
        ),
        key_url: f.petition.key_url.clone(),
        messages: serde_json::to_string(&messages)
            .unwrap_or_default()
            .replace('<', "\\u003c"),
        script: format!(
            "{}\n{}",
            include_str!("../../static/tlog.js"),
            include_str!("../../static/verify-package.js")
        ),
    };
    page.render().unwrap_or_default()
}

#[derive(askama::Template)]
#[template(path = "verify_package.html")]
struct VerifyPage {
    lang: &'static str,
    title: String,
    intro: String,
    choose: String,
    key_note: String,
    key_label: String,
    key_url: String,
    messages: String,
    script: String,
}
