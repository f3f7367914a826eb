//! Witnessing a petition's log (`undersigned witness`): any party fetches the latest
//! checkpoint, checks the site's signature and, with an RFC 9162 consistency proof, that the
//! log only grew since the checkpoint it saw last, remembers the new one, and cosigns it with
//! its own key: one more signature line on the checkpoint's note. A site that trusts the
//! witness (`witness_keys`) serves the checkpoint with that line. A site that rewrote its log
//! cannot get a witness that saw the old one to cosign the new one.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::merkle::{self, Hash};
use super::note::{LogKey, Verifier};

/// What a witness remembers of one log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Seen {
    /// The site's verifier key, trusted on first use unless given.
    pub vkey: String,
    /// The log's origin line: a witness's state belongs to one log.
    pub origin: String,
    pub size: u64,
    /// Base64 root hash.
    pub root: String,
    /// The checkpoint's note as last seen.
    pub checkpoint: String,
}

/// What one round of witnessing did.
#[derive(Debug)]
pub struct Witnessed {
    pub size: u64,
    pub total: Option<String>,
    /// The size it was checked against (none the first time).
    pub since: Option<u64>,
    /// The cosigned note (the checkpoint's text, a blank line, the witness's line).
    pub cosigned: String,
}

/// Why a round of witnessing stopped.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("{0}")]
    Fetch(String),
    /// The log is not one the witness can vouch for: a changed key, a bad signature, a log
    /// that shrank or was rewritten. Loud, and nothing is cosigned.
    #[error("NOT WITNESSED: {0}")]
    Refused(String),
    #[error("{0}")]
    State(String),
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into()
}

fn get(url: &str) -> Result<String, WitnessError> {
    agent()
        .get(url)
        .call()
        .map_err(|e| WitnessError::Fetch(format!("GET {url}: {e}")))?
        .body_mut()
        .read_to_string()
        .map_err(|e| WitnessError::Fetch(format!("GET {url}: {e}")))
}

/// The site's address and the petition's slug from a petition's public address.
pub fn split_url(petition_url: &str) -> Result<(String, String), WitnessError> {
    let url = url::Url::parse(petition_url)
        .map_err(|e| WitnessError::State(format!("{petition_url}: {e}")))?;
    let slug = url
        .path()
        .strip_prefix("/petitions/")
        .filter(|s| !s.trim_end_matches('/').is_empty() && !s.trim_end_matches('/').contains('/'))
        .ok_or_else(|| {
            WitnessError::State(format!(
                "{petition_url} is not a petition's address (…/petitions/<slug>)"
            ))
        })?
        .to_string();
    let slug = slug.trim_end_matches('/').to_string();
    let base = url.origin().ascii_serialization();
    Ok((base, slug))
}

/// One round: fetch, check against `seen` (the previous round's, if any), cosign with `key`.
/// `vkey` overrides the key trusted so far. Returns the new state to keep and what happened.
pub fn witness(
    petition_url: &str,
    seen: Option<&Seen>,
    vkey: Option<&str>,
    key: &LogKey,
) -> Result<(Seen, Witnessed), WitnessError> {
    let (base, slug) = split_url(petition_url)?;
    let published = get(&format!("{base}/.well-known/undersigned/log-key"))?;
    let published = published.trim();
    let trusted = vkey.map(str::trim).or(seen.map(|s| s.vkey.as_str()));
    if let Some(trusted) = trusted
        && trusted != published
    {
        return Err(WitnessError::Refused(format!(
            "the site now publishes the key {published}, not {trusted}"
        )));
    }
    let verifier = Verifier::parse(published)
        .map_err(|e| WitnessError::Refused(format!("the site's key does not parse: {e}")))?;
    let note = get(&format!("{base}/petitions/{slug}/log/checkpoint"))?;
    let text = verifier
        .open_text(&note)
        .map_err(|e| WitnessError::Refused(format!("the checkpoint's signature: {e}")))?;
    let checkpoint = verifier
        .open(&note)
        .map_err(|e| WitnessError::Refused(format!("the checkpoint: {e}")))?;
    if !checkpoint.origin.ends_with(&format!("/petitions/{slug}")) {
        return Err(WitnessError::Refused(format!(
            "the checkpoint names another log: {}",
            checkpoint.origin
        )));
    }
    if let Some(old) = seen
        && old.origin != checkpoint.origin
    {
        return Err(WitnessError::Refused(format!(
            "this state file is for the log {}, not {}",
            old.origin, checkpoint.origin
        )));
    }
    let since = match seen {
        None => None,
        Some(old) => {
            let old_root: Hash = B64
                .decode(&old.root)
                .ok()
                .and_then(|r| r.try_into().ok())
                .ok_or_else(|| WitnessError::State("the state's root is not a hash".into()))?;
            if checkpoint.size < old.size {
                return Err(WitnessError::Refused(format!(
                    "the log shrank from {} to {} entries",
                    old.size, checkpoint.size
                )));
            }
            let old_text = old.checkpoint.split("\n\n").next().unwrap_or_default();
            let consistent = if checkpoint.size == old.size {
                // The same checkpoint, to the letter (a different total is another statement).
                checkpoint.root == old_root && text.trim_end() == old_text.trim_end()
            } else if old.size == 0 {
                true
            } else {
                let proof: serde_json::Value = serde_json::from_str(&get(&format!(
                    "{base}/api/v1/petitions/{slug}/log/consistency?first={}&second={}",
                    old.size, checkpoint.size
                ))?)
                .map_err(|e| WitnessError::Fetch(format!("the consistency proof: {e}")))?;
                let hashes: Option<Vec<Hash>> = proof["hashes"].as_array().and_then(|a| {
                    a.iter()
                        .map(|h| B64.decode(h.as_str()?).ok().and_then(|b| b.try_into().ok()))
                        .collect()
                });
                hashes.is_some_and(|p| {
                    merkle::verify_consistency(
                        old.size,
                        checkpoint.size,
                        &old_root,
                        &checkpoint.root,
                        &p,
                    )
                })
            };
            if !consistent {
                return Err(WitnessError::Refused(format!(
                    "the log of {} entries does not extend the one of {} entries seen before: \
                     its history was rewritten",
                    checkpoint.size, old.size
                )));
            }
            Some(old.size)
        }
    };
    let cosigned = key.sign_text(&text);
    Ok((
        Seen {
            vkey: published.to_string(),
            origin: checkpoint.origin.clone(),
            size: checkpoint.size,
            root: B64.encode(checkpoint.root),
            checkpoint: note,
        },
        Witnessed {
            size: checkpoint.size,
            total: checkpoint.extension("total").map(str::to_string),
            since,
            cosigned,
        },
    ))
}

/// Hands a cosigned note to the site.
pub fn submit(petition_url: &str, cosigned: &str) -> Result<String, WitnessError> {
    let (base, slug) = split_url(petition_url)?;
    let url = format!("{base}/api/v1/petitions/{slug}/log/cosignatures");
    agent()
        .post(&url)
        .content_type("text/plain; charset=utf-8")
        .send(cosigned)
        .map_err(|e| WitnessError::Fetch(format!("POST {url}: {e}")))?
        .body_mut()
        .read_to_string()
        .map_err(|e| WitnessError::Fetch(format!("POST {url}: {e}")))
}

/// Reads the state file, if there is one.
pub fn load(path: &Path) -> Result<Option<Seen>, WitnessError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| WitnessError::State(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(WitnessError::State(format!("{}: {e}", path.display()))),
    }
}

/// Writes the state file whole (a temporary file renamed over it).
pub fn save(path: &Path, seen: &Seen) -> Result<(), WitnessError> {
    let tmp = std::path::PathBuf::from(format!("{}.tmp", path.display()));
    let json =
        serde_json::to_string_pretty(seen).map_err(|e| WitnessError::State(e.to_string()))?;
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(json.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| WitnessError::State(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn a_petition_address_gives_the_site_and_the_slug() {
        for url in [
            "https://p.example.org/petitions/osce",
            "https://p.example.org/petitions/osce/",
            "https://p.example.org/petitions/osce?lang=fr#verify",
        ] {
            let (base, slug) = split_url(url).unwrap();
            assert_eq!(
                (base.as_str(), slug.as_str()),
                ("https://p.example.org", "osce")
            );
        }
        let (base, _) = split_url("http://127.0.0.1:8080/petitions/x").unwrap();
        assert_eq!(base, "http://127.0.0.1:8080");
        for bad in [
            "https://p.example.org/",
            "https://p.example.org/petitions/",
            "nonsense",
        ] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
    }
}
