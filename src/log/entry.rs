//! What a log entry says, and the commitments that tie signatures to entries without naming
//! anyone.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The kinds of events that change a petition's public total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Confirmed,
    Invalidated,
    Restored,
    Withdrawn,
    Paper,
    PaperRemoved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Confirmed => "confirmed",
            EventKind::Invalidated => "invalidated",
            EventKind::Restored => "restored",
            EventKind::Withdrawn => "withdrawn",
            EventKind::Paper => "paper",
            EventKind::PaperRemoved => "paper_removed",
        }
    }

    pub fn from_stored(s: &str) -> Option<EventKind> {
        Some(match s {
            "confirmed" => EventKind::Confirmed,
            "invalidated" => EventKind::Invalidated,
            "restored" => EventKind::Restored,
            "withdrawn" => EventKind::Withdrawn,
            "paper" => EventKind::Paper,
            "paper_removed" => EventKind::PaperRemoved,
            _ => return None,
        })
    }

    /// Whether the event is about one signature (and so carries its commitment).
    pub fn is_signature(self) -> bool {
        !matches!(self, EventKind::Paper | EventKind::PaperRemoved)
    }
}

/// The data of one entry, as published (the leaf is these exact JSON bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EventKind,
    /// The entry's change to the public total.
    pub delta: i64,
    /// For signature events: hex SHA-256 of the signature's salt and data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    /// For paper events: the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<i32>,
    /// For a confirmation: hex SHA-256 of "undersigned receipt tag\n" and the signer's receipt
    /// code, so that the receipt (and only its holder) can recognise this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// When it happened, to the minute (UTC, `2026-11-23T14:05Z`).
    pub time: String,
}

impl Entry {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an entry serialises")
    }
}

/// A time to the minute, as entries carry it.
pub fn minute(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%MZ").to_string()
}

/// The signature data a commitment covers.
pub struct Committed<'a> {
    pub petition_slug: &'a str,
    pub number: i32,
    pub name: &'a str,
    pub email: &'a str,
    pub country: &'a str,
    pub postcode: Option<&'a str>,
    pub comment: Option<&'a str>,
}

impl Committed<'_> {
    /// The canonical bytes: a JSON array, in this order, absent fields as "".
    pub fn canonical(&self) -> String {
        serde_json::to_string(&(
            "undersigned/v1",
            self.petition_slug,
            self.number,
            self.name,
            self.email,
            self.country,
            self.postcode.unwrap_or(""),
            self.comment.unwrap_or(""),
        ))
        .expect("strings serialise")
    }

    /// hex SHA-256(salt ‖ canonical bytes). `salt` is the hex of 32 random bytes.
    pub fn commitment(&self, salt: &str) -> String {
        let mut h = Sha256::new();
        h.update(hex::decode(salt).unwrap_or_default());
        h.update(self.canonical().as_bytes());
        hex::encode(h.finalize())
    }
}

/// A fresh commitment to a signature, and what is stored beside it.
pub struct Commitment {
    /// hex SHA-256(salt ‖ canonical bytes): public, in the log.
    pub commitment: String,
    /// The signer's receipt code, derived from the salt: given to them, never stored.
    pub code: String,
    /// The salt, sealed under the data key: without the key nobody can test a guessed signer
    /// against the commitment.
    pub sealed_salt: String,
    /// What finds the receipt by its code ([`receipt_hash`]).
    pub receipt_hash: String,
}

impl Committed<'_> {
    /// Commits to this data under a new random salt.
    pub fn commit(&self, keys: &crate::keys::Keys) -> Commitment {
        let salt = new_salt();
        let code = receipt_code(&salt);
        Commitment {
            commitment: self.commitment(&salt),
            receipt_hash: receipt_hash(&code),
            sealed_salt: keys.seal(crate::sealed::Purpose::Salt, &salt),
            code,
        }
    }
}

/// A new random salt (hex of 32 bytes).
pub fn new_salt() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The receipt code of a signature, derived from its secret salt: 128 bits, hex.
pub fn receipt_code(salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"undersigned receipt\n");
    h.update(hex::decode(salt).unwrap_or_default());
    hex::encode(&h.finalize()[..16])
}

/// What a `confirmed` entry carries so the receipt with `code` can recognise it.
pub fn receipt_tag(code: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"undersigned receipt tag\n");
    h.update(code.as_bytes());
    hex::encode(h.finalize())
}

/// What is stored to find a receipt by its code.
pub fn receipt_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_json_with_the_contract_fields() {
        let e = Entry {
            kind: EventKind::PaperRemoved,
            delta: -120,
            commitment: None,
            batch: Some(3),
            receipt: None,
            time: "2026-11-23T14:05Z".into(),
        };
        assert_eq!(
            e.to_json(),
            r#"{"kind":"paper_removed","delta":-120,"batch":3,"time":"2026-11-23T14:05Z"}"#
        );
        let back: Entry = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn a_commitment_changes_with_any_field_and_with_the_salt() {
        let base = Committed {
            petition_slug: "osce",
            number: 7,
            name: "Ani",
            email: "ani@example.org",
            country: "AM",
            postcode: None,
            comment: Some("free them"),
        };
        let salt = "00".repeat(32);
        let c = base.commitment(&salt);
        assert_eq!(c.len(), 64);
        assert_ne!(c, base.commitment(&"01".repeat(32)));
        let renamed = Committed {
            name: "Anna",
            ..base
        };
        assert_ne!(c, renamed.commitment(&salt));
        assert_ne!(receipt_code(&salt), receipt_code(&"01".repeat(32)));
        assert_eq!(receipt_code(&salt).len(), 32);
    }
}
