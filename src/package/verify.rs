//! `undersigned verify FILE.zip`: checks a delivery package offline, in the order a reader
//! would doubt it: the manifest's signature by the key, every file against the manifest, the
//! checkpoint's signature, the log's root and count recomputed from its entries, and the
//! signature list and paper batches against what the log counts. The first failure is named.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Seek};

use sha2::{Digest, Sha256};

use super::{Manifest, files};
use crate::log::note::Verifier;
use crate::log::recount::Recount;

/// The keys of `package.verify.*` messages that `verify.html`'s script shows.
pub const BROWSER_MESSAGES: [&str; 19] = [
    "checking",
    "unsupported",
    "not_zip",
    "missing",
    "unlisted",
    "hash",
    "manifest_sig",
    "vkey_differs",
    "checkpoint_sig",
    "checkpoint_differs",
    "entries",
    "root",
    "total",
    "row",
    "rows",
    "unknown_key",
    "other_key",
    "too_large",
    "ok",
];

/// A file larger than this is not read (a ZIP can claim anything).
const MAX_FILE: u64 = 8 << 30;
/// The manifest, its signature, the key and the checkpoint are small.
const MAX_SMALL: u64 = 4 << 20;
/// A log entry is a small JSON object.
const MAX_ENTRY: u64 = 64 << 10;

/// Why a package is refused: one sentence naming the file and the check.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Failure(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure(message.into()))
}

/// Text from the package, made safe to print: control characters (which could redraw the
/// terminal, or a verdict) are shown escaped.
pub fn shown(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// What a package that passes every check holds.
#[derive(Debug)]
pub struct Verified {
    pub manifest: Manifest,
    /// The origin line of the log (host and petition).
    pub origin: String,
}

/// Checks a package. With `vkey`, the package must be signed by that key (the one the site
/// publishes); without, by the key it carries, which the reader should then compare.
pub fn verify<R: Read + Seek>(reader: R, vkey: Option<&str>) -> Result<Verified, Failure> {
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|e| Failure(format!("not a ZIP file that can be read: {e}")))?;
    if zip.has_duplicate_names() {
        return fail("two files in the ZIP file have the same name");
    }
    if !zip.comment().is_empty() {
        return fail("the ZIP file carries a comment, which is not part of a package");
    }
    let mut names = HashSet::new();
    for i in 0..zip.len() {
        let file = zip
            .by_index(i)
            .map_err(|e| Failure(format!("the ZIP file is damaged: {e}")))?;
        let name = file
            .name()
            .map_err(|e| Failure(format!("the ZIP file is damaged: {e}")))?
            .into_owned();
        if !names.insert(name.clone()) {
            return fail(format!("{}: two files have this name", shown(&name)));
        }
    }

    let manifest_bytes = read_small(&mut zip, files::MANIFEST)?;
    let signature = read_small(&mut zip, files::MANIFEST_SIG)?;
    let carried = read_small(&mut zip, files::VKEY)?;
    let carried = String::from_utf8_lossy(&carried).trim().to_string();
    let vkey = match vkey {
        Some(given) if given.trim() != carried => {
            return fail(format!(
                "{}: the package carries another key than the one given with --vkey",
                files::VKEY
            ));
        }
        Some(given) => given.trim().to_string(),
        None => carried,
    };
    let verifier = Verifier::parse(&vkey)
        .map_err(|e| Failure(format!("{}: not a verifier key: {e}", files::VKEY)))?;
    if !verifier.verify_bytes(&manifest_bytes, String::from_utf8_lossy(&signature).trim()) {
        return fail(format!(
            "{}: not a signature of {} by the key {}",
            files::MANIFEST_SIG,
            files::MANIFEST,
            shown(&vkey)
        ));
    }
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| Failure(format!("{}: cannot be read: {e}", files::MANIFEST)))?;
    if manifest.format != super::FORMAT {
        return fail(format!(
            "{}: format {:?}, this verifier reads {:?}",
            files::MANIFEST,
            manifest.format,
            super::FORMAT
        ));
    }
    for name in &names {
        if name != files::MANIFEST
            && name != files::MANIFEST_SIG
            && !manifest.files.contains_key(name)
        {
            return fail(format!("{}: not listed in the manifest", shown(name)));
        }
    }
    for name in manifest.files.keys() {
        if !names.contains(name) {
            return fail(format!(
                "{}: listed in the manifest but missing",
                shown(name)
            ));
        }
    }
    if manifest.vkey.trim() != vkey {
        return fail(format!(
            "{}: names another key than {}",
            files::MANIFEST,
            files::VKEY
        ));
    }

    // Each file's hash is checked before its content is read: only signed content is parsed.
    let check = |zip: &mut zip::ZipArchive<R>,
                 name: &str,
                 read: &mut dyn FnMut(&mut dyn BufRead) -> Result<(), Failure>|
     -> Result<(), Failure> {
        let hash = stream(zip, name, &mut |_| Ok(()))?;
        if manifest.files.get(name) != Some(&hash) {
            return fail(format!(
                "{}: its content is not what the manifest says (SHA-256 {hash})",
                shown(name)
            ));
        }
        stream(zip, name, read)?;
        Ok(())
    };

    check(&mut zip, files::VKEY, &mut |_| Ok(()))?;
    let mut note = String::new();
    check(&mut zip, files::CHECKPOINT, &mut |r| {
        r.take(MAX_SMALL)
            .read_to_string(&mut note)
            .map(|_| ())
            .map_err(|e| Failure(format!("{}: {e}", files::CHECKPOINT)))
    })?;
    if note != manifest.checkpoint {
        return fail(format!(
            "{}: differs from the checkpoint in the manifest",
            files::CHECKPOINT
        ));
    }
    let checkpoint = verifier.open(&note).map_err(|e| {
        Failure(format!(
            "{}: not a checkpoint signed by the key {}: {e}",
            files::CHECKPOINT,
            shown(&vkey)
        ))
    })?;
    if manifest.size != checkpoint.size {
        return fail(format!(
            "{}: says {} entries; the signed checkpoint covers {}",
            files::MANIFEST,
            manifest.size,
            checkpoint.size
        ));
    }
    if !checkpoint
        .origin
        .ends_with(&format!("/petitions/{}", manifest.petition.slug))
    {
        return fail(format!(
            "{}: the checkpoint is another petition's log ({})",
            files::CHECKPOINT,
            shown(&checkpoint.origin)
        ));
    }
    let signed_total: i64 = checkpoint
        .extension("total")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| Failure(format!("{}: has no total line", files::CHECKPOINT)))?;

    let mut recount = Recount::default();
    check(&mut zip, files::ENTRIES, &mut |r| {
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = (&mut *r)
                .take(MAX_ENTRY)
                .read_until(b'\n', &mut line)
                .map_err(|e| Failure(format!("{}: {e}", files::ENTRIES)))?;
            if n == 0 {
                return Ok(());
            }
            if n as u64 >= MAX_ENTRY {
                return fail(format!(
                    "{}: entry {} is longer than any log entry",
                    files::ENTRIES,
                    recount.size()
                ));
            }
            if line.pop() != Some(b'\n') {
                return fail(format!(
                    "{}: the last entry is cut off (no final newline)",
                    files::ENTRIES
                ));
            }
            recount
                .add(&line)
                .map_err(|e| Failure(format!("{}: {e}", files::ENTRIES)))?;
        }
    })?;
    if recount.size() != checkpoint.size {
        return fail(format!(
            "{}: {} entries; the signed checkpoint covers {}",
            files::ENTRIES,
            recount.size(),
            checkpoint.size
        ));
    }
    if recount.root() != checkpoint.root {
        return fail(format!(
            "{}: the entries' Merkle root is not the signed checkpoint's root",
            files::ENTRIES
        ));
    }
    if recount.total() != signed_total || manifest.total != signed_total {
        return fail(format!(
            "{}: the entries add up to {}; the checkpoint says {signed_total}, the manifest {}",
            files::ENTRIES,
            recount.total(),
            manifest.total
        ));
    }

    let mut rows = 0i64;
    check(&mut zip, files::SIGNATURES, &mut |r| {
        rows = signature_rows(r, &recount)?;
        Ok(())
    })?;
    if rows != recount.counted_signatures() || rows != manifest.signatures {
        return fail(format!(
            "{}: lists {rows} signatures; the log counts {} (the manifest says {})",
            files::SIGNATURES,
            recount.counted_signatures(),
            manifest.signatures
        ));
    }
    let mut paper = 0i64;
    check(&mut zip, files::PAPER, &mut |r| {
        paper = paper_rows(r, &recount)?;
        Ok(())
    })?;
    if paper != manifest.paper || rows + paper != signed_total {
        return fail(format!(
            "recount: {rows} signatures and {paper} on paper make {}, the signed total is \
             {signed_total}",
            rows + paper
        ));
    }
    for name in manifest.files.keys() {
        if ![
            files::VKEY,
            files::CHECKPOINT,
            files::ENTRIES,
            files::SIGNATURES,
            files::PAPER,
        ]
        .contains(&name.as_str())
        {
            check(&mut zip, name, &mut |_| Ok(()))?;
        }
    }
    Ok(Verified {
        origin: checkpoint.origin,
        manifest,
    })
}

fn read_small<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Vec<u8>, Failure> {
    let file = zip
        .by_name(name)
        .map_err(|_| Failure(format!("{name}: missing from the package")))?;
    if file.size() > MAX_SMALL {
        return fail(format!("{name}: too large ({} bytes)", file.size()));
    }
    let mut out = Vec::new();
    file.take(MAX_SMALL)
        .read_to_end(&mut out)
        .map_err(|e| Failure(format!("{name}: cannot be read: {e}")))?;
    Ok(out)
}

/// Reads a file through `read` (which may stop early; the rest is still hashed) and returns
/// the hex SHA-256 of all of it.
fn stream<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    read: &mut dyn FnMut(&mut dyn BufRead) -> Result<(), Failure>,
) -> Result<String, Failure> {
    let file = zip
        .by_name(name)
        .map_err(|_| Failure(format!("{name}: missing from the package")))?;
    if file.size() > MAX_FILE {
        return fail(format!("{name}: too large ({} bytes)", file.size()));
    }
    let mut hashing = BufReader::with_capacity(
        1 << 16,
        HashingReader {
            inner: file.take(MAX_FILE),
            hash: Sha256::new(),
        },
    );
    read(&mut hashing)?;
    std::io::copy(&mut hashing, &mut std::io::sink())
        .map_err(|e| Failure(format!("{name}: cannot be read: {e}")))?;
    Ok(hex::encode(hashing.into_inner().hash.finalize()))
}

struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Skips a UTF-8 byte-order mark.
fn skip_bom(r: &mut dyn BufRead) -> std::io::Result<()> {
    if r.fill_buf()?.starts_with(crate::export::UTF8_BOM) {
        r.consume(crate::export::UTF8_BOM.len());
    }
    Ok(())
}

/// Checks `signatures.csv` row by row: each commitment counts in the log, once. Returns the
/// number of rows.
fn signature_rows(r: &mut dyn BufRead, recount: &Recount) -> Result<i64, Failure> {
    let name = files::SIGNATURES;
    skip_bom(r).map_err(|e| Failure(format!("{name}: {e}")))?;
    let mut csv = csv::Reader::from_reader(r);
    let header = csv
        .headers()
        .map_err(|e| Failure(format!("{name}: {e}")))?
        .clone();
    let expected = crate::export::package_columns();
    if header.iter().collect::<Vec<_>>() != expected {
        return fail(format!(
            "{name}: the columns are not {}",
            expected.join(",")
        ));
    }
    let mut seen = HashSet::new();
    let mut rows = 0i64;
    for (i, record) in csv.records().enumerate() {
        let record = record.map_err(|e| Failure(format!("{name}: {e}")))?;
        let number = record.get(0).unwrap_or("");
        let commitment = record.get(expected.len() - 1).unwrap_or("");
        if !recount.counts(commitment) {
            return fail(format!(
                "{name}: row {} (signer {}) is not a signature the log counts",
                i + 2,
                shown(number)
            ));
        }
        if !seen.insert(commitment.to_string()) {
            return fail(format!(
                "{name}: row {} (signer {}) lists a signature twice",
                i + 2,
                shown(number)
            ));
        }
        rows += 1;
    }
    Ok(rows)
}

/// Checks `paper.csv`: each batch counts in the log with that count, once. Returns their sum.
fn paper_rows(r: &mut dyn BufRead, recount: &Recount) -> Result<i64, Failure> {
    let name = files::PAPER;
    let mut csv = csv::Reader::from_reader(r);
    let header = csv
        .headers()
        .map_err(|e| Failure(format!("{name}: {e}")))?
        .clone();
    if header.iter().collect::<Vec<_>>() != super::PAPER_COLUMNS {
        return fail(format!(
            "{name}: the columns are not {}",
            super::PAPER_COLUMNS.join(",")
        ));
    }
    let mut seen = HashSet::new();
    let mut sum = 0i64;
    for (i, record) in csv.records().enumerate() {
        let record = record.map_err(|e| Failure(format!("{name}: {e}")))?;
        let batch: Option<i32> = record.get(0).and_then(|b| b.parse().ok());
        let count: Option<i64> = record.get(1).and_then(|c| c.parse().ok());
        match (batch, count) {
            (Some(b), Some(c)) if recount.paper().get(&b) == Some(&c) && seen.insert(b) => sum += c,
            _ => {
                return fail(format!(
                    "{name}: row {} is not a paper batch the log counts",
                    i + 2
                ));
            }
        }
    }
    if seen.len() != recount.paper().len() {
        return fail(format!(
            "{name}: lists {} batches; the log counts {}",
            seen.len(),
            recount.paper().len()
        ));
    }
    Ok(sum)
}
