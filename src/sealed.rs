//! Personal data at rest: sealed (AES-256-GCM-SIV, RFC 8452) under the data key, which is
//! derived from the master key and never stored in the database. GCM-SIV stays safe should a
//! random nonce ever repeat, and runs on the processor's AES instructions (about 0.2 µs a
//! value here, which an export of a million rows needs).
//!
//! A sealed value is text: `1.` then base64url (no padding) of the 4-byte id of the key that
//! sealed it, a random 12-byte nonce, and the ciphertext with its tag. The plaintext is JSON
//! padded with spaces to a multiple of 32 bytes, so a stolen row does not give away the exact
//! length of a name. What a value is for (a signature, a confirmation link's submission, an
//! email) is bound in as associated data: one cannot be swapped for another.
//!
//! An email (a few kilobytes of text and HTML that repeat each other) is sealed as `2.`: the
//! same, but its JSON is deflated before it is padded and sealed, which makes it about a
//! third the size. Writing those kilobytes is most of what storing a signature costs at a
//! campaign peak. What compression tells whoever holds the ciphertext is its length rounded to
//! 32 bytes, as for every sealed value: the link inside is random and the rest is a template.
//! Values sealed as `1.` still open.
//!
//! Rows are found without opening them through keyed hashes ([`Keys::email_index`]): the same
//! mailbox gives the same index under one key, and nothing without it.

use aes_gcm_siv::Nonce;
use aes_gcm_siv::aead::{Aead, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::keys::{Keys, mac_hex};

const VERSION: &str = "1.";
/// The plaintext is deflated JSON (emails).
const DEFLATED: &str = "2.";
const PAD: usize = 32;
/// Most an email opens to: well above any message the app writes, far below harm.
const MAX_INFLATED: u64 = 4 << 20;
const NONCE: usize = 12;

/// What a sealed value holds; bound to it as associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A signature's [`Personal`] data.
    Signature,
    /// The [`Personal`] data of one submission, kept with its confirmation link.
    Submission,
    /// A queued email (recipient, subject, bodies).
    Email,
    /// The secret salt of a confirmed signature's log commitment (hex). In clear beside the
    /// public commitment it would let whoever holds the database test a guessed signer.
    Salt,
    /// The site's index key (hex): the key of the keyed hashes that find a mailbox, kept in
    /// the database under the data key so that it outlives rotations of the master key.
    IndexKey,
    /// An organizer's second factor's secret (an authenticator app's, hex).
    Factor,
}

impl Purpose {
    /// Whether its values are deflated before sealing: only what is long and repetitive.
    fn deflated(self) -> bool {
        self == Purpose::Email
    }

    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Signature => b"undersigned signature v1",
            Purpose::Submission => b"undersigned submission v1",
            Purpose::Email => b"undersigned email job v1",
            Purpose::Salt => b"undersigned commitment salt v1",
            Purpose::IndexKey => b"undersigned index key v1",
            Purpose::Factor => b"undersigned second factor v1",
        }
    }
}

/// What a keyed hash stands for, bound into it ([`Keys::petition_bound`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    Email,
    Domain,
    Network,
}

impl HashKind {
    fn label(self) -> &'static str {
        match self {
            HashKind::Email => "email",
            HashKind::Domain => "domain",
            HashKind::Network => "network",
        }
    }
}

/// A signer's personal data: everything that names or reaches them. Stored only sealed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Personal {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "e")]
    pub email: String,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A sealed value that does not open: another key sealed it, or it was changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a sealed value does not open with this site's data key ({0})")]
pub struct Unreadable(&'static str);

impl Keys {
    /// The public id of the data key: what the database records to recognise it.
    pub fn data_key_id(&self) -> String {
        hex::encode(self.data_key_id_bytes())
    }

    /// Seals `value` for `purpose` under the current data key.
    pub fn seal<T: Serialize>(&self, purpose: Purpose, value: &T) -> String {
        self.seal_as(purpose, value, purpose.deflated())
    }

    /// [`Keys::seal`], deflated or not (as `2.` or `1.`).
    fn seal_as<T: Serialize>(&self, purpose: Purpose, value: &T, deflated: bool) -> String {
        let json = serde_json::to_vec(value).expect("plain data serialises to JSON");
        let (version, mut plain) = if deflated {
            (DEFLATED, deflate(&json))
        } else {
            (VERSION, json)
        };
        let padded = plain.len().div_ceil(PAD).max(1) * PAD;
        plain.resize(padded, b' ');
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .data_cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: purpose.label(),
                },
            )
            .expect("AES-GCM-SIV seals any message this size");
        let mut out = Vec::with_capacity(4 + NONCE + sealed.len());
        out.extend_from_slice(&self.data_key_id_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{version}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a value sealed for `purpose` under the current data key or, during a rotation,
    /// the previous one.
    pub fn open<T: DeserializeOwned>(&self, purpose: Purpose, text: &str) -> Result<T, Unreadable> {
        let (deflated, body) = split_version(text).ok_or(Unreadable("not a sealed value"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .filter(|b| b.len() >= 4 + NONCE + 16)
            .ok_or(Unreadable("not a sealed value"))?;
        let (id, rest) = bytes.split_at(4);
        let keys = if id == self.data_key_id_bytes() {
            self
        } else {
            self.previous()
                .filter(|p| id == p.data_key_id_bytes())
                .ok_or(Unreadable("sealed under another key"))?
        };
        let (nonce, sealed) = rest.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().expect("split at the nonce's length");
        let plain = keys
            .data_cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: purpose.label(),
                },
            )
            .map_err(|_| Unreadable("changed, or sealed for another purpose"))?;
        let json = if deflated {
            inflate(&plain).ok_or(Unreadable("not its data"))?
        } else {
            plain
        };
        serde_json::from_slice(json.trim_ascii_end()).map_err(|_| Unreadable("not its data"))
    }

    /// Opens a signature's [`Personal`] data; `None` once erased.
    pub fn open_signature(&self, sealed: Option<&str>) -> Result<Option<Personal>, Unreadable> {
        sealed.map(|s| self.open(Purpose::Signature, s)).transpose()
    }

    /// Opens a confirmed signature's sealed commitment salt; `None` once erased. A salt an
    /// older version stored in clear (64 hex digits; sealed at the next start, see
    /// `usecases::keys::seal_clear_salts`) is taken as it is.
    pub fn open_salt(&self, sealed: Option<&str>) -> Result<Option<String>, Unreadable> {
        sealed
            .map(|s| match is_clear_salt(s) {
                true => Ok(s.to_string()),
                false => self.open(Purpose::Salt, s),
            })
            .transpose()
    }

    /// Whether `text` was sealed under the current data key (a rotation re-seals the rest).
    pub fn sealed_under_current(&self, text: &str) -> bool {
        split_version(text)
            .and_then(|(_, b)| b.get(..8))
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .is_some_and(|b| b[..4] == self.data_key_id_bytes())
    }

    /// The keyed hash that finds a mailbox's signature on one petition without storing its
    /// address: `dedupe_key` is the canonical address (`SignerEmail::dedupe_key`). Bound to
    /// the petition, so a copy of the database cannot join one mailbox's rows across
    /// petitions ([`Keys::petition_bound`]).
    pub fn email_index(&self, petition_id: i32, dedupe_key: &str) -> String {
        self.petition_bound(
            HashKind::Email,
            petition_id,
            &self.email_index_unbound(dedupe_key),
        )
    }

    /// The keyed hash of a canonical address alone, the same on every petition: what rows held
    /// before hashes were bound to their petition, and what they are bound from.
    pub fn email_index_unbound(&self, dedupe_key: &str) -> String {
        Self::email_index_under(self.data_index_key(), dedupe_key)
    }

    /// [`Keys::email_index_unbound`] under another index key: which key a database's hashes
    /// were made with, for one from before the index key was kept.
    pub fn email_index_under(index: &[u8; 32], dedupe_key: &str) -> String {
        mac_hex(index, &[b"email:", dedupe_key.as_bytes()], 32)
    }

    /// The keyed hash of an email domain (lower-case) on one petition, for moderation by
    /// domain.
    pub fn domain_index(&self, petition_id: i32, domain: &str) -> String {
        self.petition_bound(
            HashKind::Domain,
            petition_id,
            &self.domain_index_unbound(domain),
        )
    }

    /// The keyed hash of a domain alone (see [`Keys::email_index_unbound`]).
    pub fn domain_index_unbound(&self, domain: &str) -> String {
        mac_hex(self.data_index_key(), &[b"domain:", domain.as_bytes()], 32)
    }

    /// The keyed hash of the domain of a canonical address on one petition.
    pub fn domain_index_of(&self, petition_id: i32, dedupe_key: &str) -> String {
        let domain = dedupe_key.rsplit_once('@').map_or("", |(_, d)| d);
        self.domain_index(petition_id, domain)
    }

    /// A keyed hash bound to one petition: HMAC(index key, kind ‖ petition ‖ `unbound`). The
    /// same mailbox, domain or network gives unrelated values on two petitions, and a value
    /// stored unbound by an older version is bound at upgrade without its plaintext.
    pub fn petition_bound(&self, kind: HashKind, petition_id: i32, unbound: &str) -> String {
        Self::petition_bound_under(self.data_index_key(), kind, petition_id, unbound)
    }

    /// [`Keys::petition_bound`] under another index key.
    pub fn petition_bound_under(
        index: &[u8; 32],
        kind: HashKind,
        petition_id: i32,
        unbound: &str,
    ) -> String {
        mac_hex(
            index,
            &[
                b"petition:",
                kind.label().as_bytes(),
                b":",
                petition_id.to_string().as_bytes(),
                b":",
                unbound.as_bytes(),
            ],
            32,
        )
    }
}

/// The body of a sealed value, and whether its plaintext is deflated.
fn split_version(text: &str) -> Option<(bool, &str)> {
    match text.strip_prefix(DEFLATED) {
        Some(body) => Some((true, body)),
        None => text.strip_prefix(VERSION).map(|body| (false, body)),
    }
}

fn deflate(json: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(json.len() / 2),
        flate2::Compression::fast(),
    );
    encoder
        .write_all(json)
        .and_then(|()| encoder.finish())
        .expect("deflating into memory cannot fail")
}

/// The deflated stream at the start of `plain` (the padding after it is not read); `None` if
/// it is not one, or opens to more than [`MAX_INFLATED`].
fn inflate(plain: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut json = Vec::with_capacity(plain.len() * 3);
    flate2::read::DeflateDecoder::new(plain)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut json)
        .ok()?;
    (json.len() as u64 <= MAX_INFLATED).then_some(json)
}

/// Whether a stored salt is one an older version kept in clear: 64 hex digits, which no
/// sealed value is.
pub fn is_clear_salt(stored: &str) -> bool {
    stored.len() == 64 && stored.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `f` over `items`, in order, spread over the cores when there are many: opening sealed values
/// (about a microsecond each) is most of the cost of searching or exporting a long list.
pub fn par_map<T, U, E, F>(items: &[T], f: F) -> Result<Vec<U>, E>
where
    T: Sync,
    U: Send,
    E: Send,
    F: Fn(&T) -> Result<U, E> + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if cores == 1 || items.len() < 2_000 {
        return items.iter().map(&f).collect();
    }
    let f = &f;
    let parts: Vec<Result<Vec<U>, E>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(items.len().div_ceil(cores))
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Result<Vec<U>, E>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(part) => part,
                // A panic in `f` is a bug: surface it where it happened.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(master: &str) -> Keys {
        Keys::derive(master.as_bytes(), String::new())
    }

    fn person(name: &str, email: &str) -> Personal {
        Personal {
            name: name.into(),
            email: email.into(),
            postcode: Some("0010".into()),
            comment: None,
        }
    }

    #[test]
    fn a_sealed_value_reveals_nothing_and_opens_only_for_its_purpose_and_key() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let p = person("Anahit Mkrtchyan", "anahit@example.am");
        let sealed = k.seal(Purpose::Signature, &p);
        assert!(!sealed.contains("Anahit") && !sealed.contains("example"));
        assert_eq!(k.open::<Personal>(Purpose::Signature, &sealed), Ok(p));
        assert!(k.open::<Personal>(Purpose::Submission, &sealed).is_err());
        let other = keys("another key, 32 characters long..");
        assert!(other.open::<Personal>(Purpose::Signature, &sealed).is_err());
        // Flipping one character of the ciphertext is detected.
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(bytes).unwrap();
        assert!(k.open::<Personal>(Purpose::Signature, &changed).is_err());
    }

    #[test]
    fn a_value_sealed_before_a_rotation_opens_with_the_previous_key() {
        let old = keys("the old master key, 32 characters");
        let new = keys("the new master key, 32 characters")
            .with_previous("the old master key, 32 characters".as_bytes());
        let sealed = old.seal(Purpose::Email, &"hello".to_string());
        assert!(!new.sealed_under_current(&sealed));
        assert_eq!(
            new.open::<String>(Purpose::Email, &sealed).unwrap(),
            "hello"
        );
        let resealed = new.seal(Purpose::Email, &"hello".to_string());
        assert!(new.sealed_under_current(&resealed));
        assert!(old.open::<String>(Purpose::Email, &resealed).is_err());
    }

    #[test]
    fn lengths_are_padded_and_the_email_index_is_keyed() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let short = k.seal(Purpose::Signature, &person("A", "a@b.am"));
        let longer = k.seal(Purpose::Signature, &person("Anahit", "anahit@b.am"));
        assert_eq!(short.len(), longer.len());
        let other = keys("another key, 32 characters long..");
        assert_ne!(k.email_index(1, "a@b.am"), other.email_index(1, "a@b.am"));
        assert_eq!(k.email_index(1, "a@b.am"), k.email_index(1, "a@b.am"));
        assert_eq!(k.email_index(1, "a@b.am").len(), 64);
        // Bound to the petition: one mailbox on two petitions gives unrelated hashes.
        assert_ne!(k.email_index(1, "a@b.am"), k.email_index(2, "a@b.am"));
        assert_ne!(k.domain_index(1, "b.am"), k.domain_index(2, "b.am"));
    }

    #[test]
    fn an_email_is_sealed_deflated_and_one_sealed_before_still_opens() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let paragraph = "Please confirm your signature on the petition by following this link. ";
        let email = crate::domain::NewEmail {
            recipient: "anahit@example.am".into(),
            subject: "Confirm your signature".into(),
            body_text: paragraph.repeat(20),
            body_html: format!("<p>{}</p>", paragraph.repeat(20)),
        };
        let sealed = k.seal(Purpose::Email, &email);
        let plain = k.seal_as(Purpose::Email, &email, false);
        assert!(sealed.starts_with("2.") && plain.starts_with("1."));
        assert!(
            sealed.len() * 3 < plain.len(),
            "{} vs {}",
            sealed.len(),
            plain.len()
        );
        assert_eq!(
            k.open::<crate::domain::NewEmail>(Purpose::Email, &sealed),
            Ok(email.clone())
        );
        assert_eq!(
            k.open::<crate::domain::NewEmail>(Purpose::Email, &plain),
            Ok(email)
        );
        assert!(k.sealed_under_current(&sealed));
        // Lengths are still rounded: two recipients one letter apart seal alike.
        let a = k.seal(Purpose::Email, &"a@b.am".to_string());
        let b = k.seal(Purpose::Email, &"ab@b.am".to_string());
        assert_eq!(a.len(), b.len());
    }

    #[test]
    fn a_deflated_value_opening_to_more_than_its_cap_does_not_open() {
        assert!(inflate(&deflate(&vec![b' '; 1 << 20])).is_some());
        assert!(inflate(&deflate(&vec![b' '; (MAX_INFLATED + 1) as usize])).is_none());
        assert!(inflate(b"not deflated at all").is_none());
    }

    proptest! {
        #[test]
        fn any_email_opens_as_it_was_sealed(text in "\\PC{0,2000}") {
            let k = keys("0123456789abcdef0123456789abcdef");
            let sealed = k.seal(Purpose::Email, &text);
            prop_assert_eq!(k.open::<String>(Purpose::Email, &sealed), Ok(text));
        }

        #[test]
        fn any_personal_data_opens_as_it_was_sealed(
            name in "\\PC{0,120}", email in "\\PC{0,80}",
            postcode in proptest::option::of("\\PC{0,20}"),
            comment in proptest::option::of("\\PC{0,500}"),
        ) {
            let k = keys("0123456789abcdef0123456789abcdef");
            let p = Personal { name, email, postcode, comment };
            let sealed = k.seal(Purpose::Submission, &p);
            prop_assert_eq!(k.open::<Personal>(Purpose::Submission, &sealed), Ok(p));
        }
    }
}
