//! Organizer passwords: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane).

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// A password as typed: 10 to 1,024 characters (long passphrases welcome; the cap keeps hashing
/// bounded).
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;

    pub fn parse(input: &str) -> Result<Password, &'static str> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err("password.too_short");
        }
        if n > 1024 {
            return Err("password.too_long");
        }
        Ok(Password(input.to_string()))
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string. CPU-heavy: call it off the async runtime.
pub fn hash(password: &Password) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon2()
        .hash_password(password.0.as_bytes(), &salt)?
        .to_string())
}

/// [`hash`] on the blocking thread pool, for request handlers: hashing takes tens of
/// milliseconds of CPU and must not stall the async workers.
pub async fn hash_blocking(password: Password) -> Result<String, crate::error::AppError> {
    let failed = |e: String| crate::error::AppError::Internal(anyhow::anyhow!("hashing: {e}"));
    actix_web::web::block(move || hash(&password))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))
}

/// Checks a password against a stored hash. CPU-heavy: call it off the async runtime.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that an unknown address takes
/// as long to refuse as a wrong password.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash(&Password("not a real password, only for timing".into())).unwrap_or_default()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let p = Password::parse("correct horse battery").unwrap();
        let h = hash(&p).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("x", "not a hash"));
        assert_ne!(h, hash(&p).unwrap(), "salted");
    }

    #[test]
    fn short_passwords_are_refused_and_never_printed() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(1025)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("long enough pw").unwrap()),
            "Password(…)"
        );
    }
}
