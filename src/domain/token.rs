use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A confirmation token as sent in a link: 256 random bits, URL-safe base64.
/// Only its [`TokenHash`] is ever stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfirmationToken(String);

/// The SHA-256 of a token, hex-encoded: what the database keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHash(String);

impl ConfirmationToken {
    pub fn generate() -> ConfirmationToken {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        ConfirmationToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts only strings shaped like a token we issued, so junk never reaches the database.
    pub fn parse(input: &str) -> Option<ConfirmationToken> {
        let ok = input.len() == 43
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| ConfirmationToken(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl std::fmt::Debug for ConfirmationToken {
    // Tokens are credentials: never print them, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfirmationToken(…)")
    }
}

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_only_as_hashes() {
        let a = ConfirmationToken::generate();
        let b = ConfirmationToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert_eq!(ConfirmationToken::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.hash().as_str().len(), 64);
        assert_ne!(a.hash().as_str(), a.as_str());
        assert!(ConfirmationToken::parse("short").is_none());
        assert!(ConfirmationToken::parse(&"a/".repeat(22)[..43]).is_none());
        assert_eq!(format!("{a:?}"), "ConfirmationToken(…)");
    }
}
