//! The signed log of each petition: every event that changes the public total, appended in
//! batches by one sequencer, in an RFC 6962 Merkle tree, under signed C2SP checkpoints.

pub mod entry;
pub mod merkle;
pub mod note;
pub mod recount;
pub mod witness;

/// Signs checkpoints for this site: the log key (from the master key) under the site's host.
pub struct LogSigner {
    key: note::LogKey,
    verifier: note::Verifier,
    host: String,
}

impl LogSigner {
    /// The signer with the log key's 32-byte `seed` (see `secrets::log_seed`).
    pub fn new(seed: &[u8; 32], base_url: &url::Url) -> LogSigner {
        let host = match (base_url.host_str(), base_url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => "undersigned".to_string(),
        };
        let key = note::LogKey::new(seed, &host);
        let verifier = note::Verifier::parse(key.vkey()).expect("a key's own vkey parses");
        LogSigner {
            key,
            verifier,
            host,
        }
    }

    /// A petition log's origin line: `<host>/petitions/<slug>`.
    pub fn origin(&self, slug: &str) -> String {
        format!("{}/petitions/{slug}", self.host)
    }

    /// The verifier key, as published.
    pub fn vkey(&self) -> &str {
        self.key.vkey()
    }

    pub fn key(&self) -> &note::LogKey {
        &self.key
    }

    /// Whether a stored checkpoint was signed by this key. A log is only ever continued by the
    /// key that began it: a server or command run with another key (a missing `log_key_file`,
    /// another `base_url`) must not append checkpoints that the published key does not verify.
    pub fn signed(&self, note: &str) -> bool {
        self.verifier.open_text(note).is_ok()
    }
}
