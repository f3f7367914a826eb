//! Signed checkpoints in the C2SP signed-note format (`tlog-checkpoint`), with Ed25519.
//!
//! A checkpoint's text is its origin, the tree size, the base64 root hash and optional
//! extension lines (`total 3807`), each ending in a newline; the note is that text, a blank
//! line, and one line per signature: `— <key name> <base64(key ID ‖ signature)>`. The verifier
//! key is `<key name>+<8 hex digits of key ID>+<base64(0x01 ‖ public key)>`, where the key ID
//! is the first four bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

/// The Ed25519 algorithm byte of C2SP signed notes.
const ED25519: u8 = 0x01;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("the verifier key is malformed")]
    BadKey,
    #[error("the note is malformed")]
    Malformed,
    #[error("the note carries no signature by this key")]
    NoSignature,
    #[error("the signature does not match the note")]
    BadSignature,
    #[error("the checkpoint is malformed")]
    BadCheckpoint,
}

/// What a checkpoint commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Further lines, without their newline (`total 3807`).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The signed text: every line ends in a newline.
    pub fn text(&self) -> String {
        let mut t = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for line in &self.extensions {
            t.push_str(line);
            t.push('\n');
        }
        t
    }

    /// Reads a checkpoint's text (the part of a note before the blank line).
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let body = text.strip_suffix('\n').ok_or(NoteError::BadCheckpoint)?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(NoteError::BadCheckpoint)?;
        let size = lines
            .next()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .filter(|s| s.len() == 1 || !s.starts_with('0'))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(NoteError::BadCheckpoint)?;
        let root: Hash = lines
            .next()
            .and_then(|r| B64.decode(r).ok())
            .and_then(|r| r.try_into().ok())
            .ok_or(NoteError::BadCheckpoint)?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(NoteError::BadCheckpoint);
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// The value of the extension line `name value`, if present.
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.extensions
            .iter()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
    }
}

/// The key that signs a site's logs.
pub struct LogKey {
    signing: SigningKey,
    name: String,
    id: [u8; 4],
    vkey: String,
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Whether `name` can be a key name: not empty, no whitespace, no `+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

impl LogKey {
    /// The key from its 32-byte seed, under `name` (e.g. the site's host).
    pub fn new(seed: &[u8; 32], name: &str) -> LogKey {
        let name: String = name
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '+')
            .collect();
        let name = if name.is_empty() {
            "undersigned".to_string()
        } else {
            name
        };
        let signing = SigningKey::from_bytes(seed);
        let public = signing.verifying_key().to_bytes();
        let id = key_id(&name, &public);
        let mut key = vec![ED25519];
        key.extend_from_slice(&public);
        let vkey = format!("{name}+{}+{}", hex::encode(id), B64.encode(key));
        LogKey {
            signing,
            name,
            id,
            vkey,
        }
    }

    /// The verifier key, as published.
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// Signs `bytes` (a manifest, for instance) with the log key: base64 of the signature.
    pub fn sign_bytes(&self, bytes: &[u8]) -> String {
        B64.encode(self.signing.sign(bytes).to_bytes())
    }

    /// The signed note of a checkpoint.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        self.sign_text(&checkpoint.text())
    }

    /// The signed note of any text (each line ending in a newline).
    pub fn sign_text(&self, text: &str) -> String {
        let signature = self.signing.sign(text.as_bytes()).to_bytes();
        let mut blob = self.id.to_vec();
        blob.extend_from_slice(&signature);
        format!("{text}\n— {} {}\n", self.name, B64.encode(blob))
    }
}

/// A parsed verifier key.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub name: String,
    id: [u8; 4],
    key: VerifyingKey,
    vkey: String,
}

impl Verifier {
    pub fn parse(vkey: &str) -> Result<Verifier, NoteError> {
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey);
        };
        if !valid_name(name) || id.len() != 8 {
            return Err(NoteError::BadKey);
        }
        let id: [u8; 4] = hex::decode(id)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(NoteError::BadKey)?;
        let key = B64.decode(key).map_err(|_| NoteError::BadKey)?;
        let (&alg, public) = key.split_first().ok_or(NoteError::BadKey)?;
        let public: [u8; 32] = public.try_into().map_err(|_| NoteError::BadKey)?;
        if alg != ED25519 || key_id(name, &public) != id {
            return Err(NoteError::BadKey);
        }
        let key = VerifyingKey::from_bytes(&public).map_err(|_| NoteError::BadKey)?;
        Ok(Verifier {
            name: name.to_string(),
            id,
            key,
            vkey: vkey.trim().to_string(),
        })
    }

    /// The verifier key it was read from.
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// Whether `signature` (base64) is this key's signature of `bytes`.
    pub fn verify_bytes(&self, bytes: &[u8], signature: &str) -> bool {
        let Ok(sig) = B64.decode(signature.trim()) else {
            return false;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig) else {
            return false;
        };
        self.key.verify(bytes, &sig).is_ok()
    }

    /// Checks a signed note against this key and returns its checkpoint.
    pub fn open(&self, note: &str) -> Result<Checkpoint, NoteError> {
        Checkpoint::parse(&self.open_text(note)?)
    }

    /// Checks a signed note against this key and returns its text.
    pub fn open_text(&self, note: &str) -> Result<String, NoteError> {
        let (text, signatures) = note.split_once("\n\n").ok_or(NoteError::Malformed)?;
        let text = format!("{text}\n");
        let mut found = false;
        for line in signatures.lines() {
            let Some(rest) = line.strip_prefix("— ") else {
                return Err(NoteError::Malformed);
            };
            let Some((name, blob)) = rest.split_once(' ') else {
                return Err(NoteError::Malformed);
            };
            let blob = B64.decode(blob).map_err(|_| NoteError::Malformed)?;
            if name != self.name || blob.len() != 68 || blob[..4] != self.id {
                continue;
            }
            found = true;
            let sig = ed25519_dalek::Signature::from_slice(&blob[4..])
                .map_err(|_| NoteError::BadSignature)?;
            if self.key.verify(text.as_bytes(), &sig).is_err() {
                return Err(NoteError::BadSignature);
            }
        }
        if !found {
            return Err(NoteError::NoSignature);
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "petitions.example.org/petitions/osce".into(),
            size: 3807,
            root: [7u8; 32],
            extensions: vec!["total 3807".into()],
        }
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_key_and_only_with_it() {
        let key = LogKey::new(&[1u8; 32], "petitions.example.org");
        let note = key.sign(&checkpoint());
        assert!(note.starts_with(
            "petitions.example.org/petitions/osce\n3807\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\ntotal 3807\n\n— petitions.example.org "
        ), "{note}");
        let v = Verifier::parse(key.vkey()).unwrap();
        assert_eq!(v.open(&note).unwrap(), checkpoint());
        assert_eq!(v.open(&note).unwrap().extension("total"), Some("3807"));

        let tampered = note.replacen("3807\n", "3808\n", 1);
        assert_eq!(v.open(&tampered), Err(NoteError::BadSignature));
        let other =
            Verifier::parse(LogKey::new(&[2u8; 32], "petitions.example.org").vkey()).unwrap();
        assert_eq!(other.open(&note), Err(NoteError::NoSignature));
    }

    /// A witness cosigns a checkpoint by adding its own signature line to the note (C2SP
    /// signed notes carry any number); the site's key still opens it, and so does the
    /// witness's, so cosignatures can be added later without changing the format.
    #[test]
    fn a_cosigned_checkpoint_opens_with_each_key() {
        let site = LogKey::new(&[1u8; 32], "petitions.example.org");
        let witness = LogKey::new(&[3u8; 32], "witness.example.net");
        let note = site.sign(&checkpoint());
        let text = checkpoint().text();
        let witness_line = witness.sign_text(&text);
        let line = witness_line.rsplit("\n\n").next().unwrap();
        let cosigned = format!("{note}{line}");
        for key in [&site, &witness] {
            let v = Verifier::parse(key.vkey()).unwrap();
            assert_eq!(v.open(&cosigned).unwrap(), checkpoint(), "{}", key.vkey());
        }
    }

    #[test]
    fn the_verifier_key_has_the_c2sp_shape() {
        let key = LogKey::new(&[1u8; 32], "example.org:8080");
        let parts: Vec<&str> = key.vkey().split('+').collect();
        assert_eq!(parts[0], "example.org:8080");
        assert_eq!(parts[1].len(), 8);
        let raw = B64.decode(parts[2]).unwrap();
        assert_eq!(raw.len(), 33);
        assert_eq!(raw[0], 1);
        // A key whose ID does not match its name and bytes is refused.
        let forged = format!("other.org+{}+{}", parts[1], parts[2]);
        assert!(Verifier::parse(&forged).is_err());
        assert!(Verifier::parse("nonsense").is_err());
    }

    #[test]
    fn checkpoints_parse_strictly() {
        for bad in [
            "",
            "o\n",
            "o\n01\nAA==\n",
            "o\n1\nnot base64\n",
            "o\n1\nAAAA\n",
            "o\nx\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
        let c = checkpoint();
        assert_eq!(Checkpoint::parse(&c.text()).unwrap(), c);
    }

    /// The example of Go's golang.org/x/mod/sumdb/note (and of the C2SP spec's
    /// implementations): the same key, text and signature, from another implementation.
    #[test]
    fn the_go_sumdb_note_example_verifies_and_is_reproduced_byte_for_byte() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let note = format!(
            "{text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        let v = Verifier::parse(vkey).unwrap();
        assert_eq!(v.open_text(&note).unwrap(), text);
        assert_eq!(
            v.open_text(&note.replace("cryptography", "Cryptography")),
            Err(NoteError::BadSignature)
        );
        // The signer key of the example: "PRIVATE+KEY+PeterNeumann+c74f20a3+" then base64 of
        // 0x01 and the 32-byte Ed25519 seed.
        let skey = B64
            .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .unwrap();
        let seed: [u8; 32] = skey[1..].try_into().unwrap();
        let key = LogKey::new(&seed, "PeterNeumann");
        assert_eq!(key.vkey(), vkey);
        assert_eq!(key.sign_text(text), note);
        // A verifier key whose base64 holds a '+' (transparency-dev's test key) parses.
        assert!(
            Verifier::parse("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6").is_ok()
        );
    }

    #[test]
    fn bytes_signed_by_the_log_key_verify() {
        let key = LogKey::new(&[3u8; 32], "a.example");
        let sig = key.sign_bytes(b"manifest");
        let v = Verifier::parse(key.vkey()).unwrap();
        assert!(v.verify_bytes(b"manifest", &sig));
        assert!(!v.verify_bytes(b"manifesto", &sig));
    }
}
