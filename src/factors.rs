//! Second factors of organizers that need no device on the server's side: authenticator-app
//! codes (TOTP, RFC 6238: HMAC-SHA1, six digits, 30-second steps, what every app reads) and
//! single-use recovery codes. Pure: the secrets are sealed and the steps and hashes stored by
//! the use cases.

use rand::RngCore;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

/// Seconds per code.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Recovery codes an organizer gets at once.
pub const RECOVERY_CODES: usize = 10;

/// An organizer's authenticator app: the secret it shares with the site.
pub struct Authenticator {
    secret: Vec<u8>,
}

/// Why a secret cannot be an authenticator's.
#[derive(Debug, thiserror::Error)]
#[error("not an authenticator secret: {0}")]
pub struct BadSecret(String);

impl Authenticator {
    /// A new secret: 160 random bits, RFC 4226's recommended length for HMAC-SHA1.
    pub fn generate() -> Authenticator {
        let mut secret = vec![0u8; 20];
        rand::rng().fill_bytes(&mut secret);
        Authenticator { secret }
    }

    /// The authenticator with a stored secret (at least 128 bits).
    pub fn from_secret(secret: Vec<u8>) -> Result<Authenticator, BadSecret> {
        let authenticator = Authenticator { secret };
        authenticator.totp("", "")?;
        Ok(authenticator)
    }

    /// The shared secret, to seal and store.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    fn totp(&self, issuer: &str, account: &str) -> Result<TOTP, BadSecret> {
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            1,
            STEP_SECONDS,
            self.secret.clone(),
            (!issuer.is_empty()).then(|| issuer.to_string()),
            account.to_string(),
        )
        .map_err(|e| BadSecret(e.to_string()))
    }

    /// The `otpauth://totp/…?secret=BASE32…` address an app reads (from its QR code, or typed),
    /// naming the site (`issuer`) and the organizer's account. An issuer or account with a
    /// colon in it (which the format reserves) has it replaced.
    pub fn uri(&self, issuer: &str, account: &str) -> Result<String, BadSecret> {
        let clean = |s: &str| s.replace(':', " ");
        Ok(self.totp(&clean(issuer), &clean(account))?.get_url())
    }

    /// The code for the step `unix_seconds` falls in.
    pub fn code_at(&self, unix_seconds: u64) -> Result<String, BadSecret> {
        Ok(self.totp("", "")?.generate(unix_seconds))
    }

    /// The time step of `code` if it is right at `unix_seconds`, one step either side allowed
    /// for a clock that drifts or a code typed as it changed, and later than `last_used` (the
    /// step of the last code this authenticator was accepted with): a code works once, even
    /// within its window.
    pub fn accepts(&self, code: &str, unix_seconds: u64, last_used: Option<u64>) -> Option<u64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp("", "").ok()?;
        let now = unix_seconds / STEP_SECONDS;
        [now.checked_sub(1), Some(now), Some(now + 1)]
            .into_iter()
            .flatten()
            .filter(|step| last_used.is_none_or(|used| *step > used))
            .find(|step| constant_time_eq(&totp.generate(step * STEP_SECONDS), &code))
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Ten new recovery codes, each 80 random bits written as four groups of four letters and
/// digits (`k3x9-…`) in Crockford's base 32 (no i, l, o or u to misread): shown once, kept only
/// as [`recovery_hash`]es.
pub fn recovery_codes() -> Vec<String> {
    const SYMBOLS: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rng().fill_bytes(&mut bytes);
            // 80 bits as 16 symbols of 5 bits.
            let mut bits: u128 = 0;
            for b in bytes {
                bits = (bits << 8) | u128::from(b);
            }
            let chars: Vec<char> = (0..16)
                .map(|i| {
                    let index = ((bits >> (75 - 5 * i)) & 31) as usize;
                    char::from(SYMBOLS[index])
                })
                .collect();
            chars
                .chunks(4)
                .map(|group| group.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// What is stored of a recovery code: the SHA-256 of its letters and digits, lower-case, so
/// that a code typed with capitals, spaces or without its dashes still matches. (80 random bits
/// need no slow hash: no guess list exists for them.)
pub fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret and times, the last six digits of each code.
    #[test]
    fn codes_are_rfc_6238s() {
        let rfc = Authenticator::from_secret(b"12345678901234567890".to_vec()).unwrap();
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(rfc.code_at(time).unwrap(), code, "at {time}");
        }
    }

    #[test]
    fn a_code_works_in_its_window_and_once() {
        let app = Authenticator::generate();
        let now = 1_765_000_000;
        let code = app.code_at(now).unwrap();
        let step = app.accepts(&code, now, None).expect("the current code");
        assert_eq!(step, now / STEP_SECONDS);
        // Typed as it changed, or on a phone a step behind or ahead.
        assert_eq!(app.accepts(&code, now + STEP_SECONDS, None), Some(step));
        assert_eq!(app.accepts(&code, now - STEP_SECONDS, None), Some(step));
        assert_eq!(app.accepts(&code, now + 2 * STEP_SECONDS, None), None);
        // Once accepted, not again, nor any code of an earlier step.
        assert_eq!(app.accepts(&code, now, Some(step)), None);
        let earlier = app.code_at(now - STEP_SECONDS).unwrap();
        assert_eq!(app.accepts(&earlier, now, Some(step)), None);
        let next = app.code_at(now + STEP_SECONDS).unwrap();
        assert_eq!(app.accepts(&next, now, Some(step)), Some(step + 1));
        // With spaces as apps show it; never anything else.
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(app.accepts(&spaced, now, None), Some(step));
        for bad in ["", "12345", "1234567", "abcdef", "１２３４５６"] {
            assert_eq!(app.accepts(bad, now, None), None, "{bad}");
        }
    }

    #[test]
    fn the_address_an_app_reads_names_the_site_the_account_and_the_secret() {
        let app = Authenticator::from_secret(b"12345678901234567890".to_vec()).unwrap();
        let uri = app.uri("undersigned: Armenia", "ana@example.org").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert!(
            uri.contains("ana%40example.org") || uri.contains("ana@example.org"),
            "{uri}"
        );
        assert!(
            !uri.contains("undersigned:"),
            "the issuer's colon is replaced: {uri}"
        );
        assert!(
            Authenticator::from_secret(vec![1; 8]).is_err(),
            "too short a secret"
        );
    }

    #[test]
    fn recovery_codes_are_ten_different_and_match_however_typed() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::BTreeSet<&String> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            assert_eq!(code.matches('-').count(), 3, "{code}");
            let typed = code.replace('-', " ").to_uppercase();
            assert_eq!(recovery_hash(&typed), recovery_hash(code));
        }
        assert_ne!(recovery_hash(&codes[0]), recovery_hash(&codes[1]));
    }
}
