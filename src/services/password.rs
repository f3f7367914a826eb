//! Organizer passwords: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane).

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// A password as typed: 12 to 1,024 characters (long passphrases welcome; the cap keeps hashing
/// bounded), and not one a cracker tries early: not in zxcvbn's compiled-in lists of common and
/// breached passwords, words and names, nor a keyboard walk, a sequence, a repeat or a date
/// (OWASP ASVS 2.1.1 and 2.1.7). No rules about character classes.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;
    /// The first characters judged: zxcvbn's work grows fast with length, and a passphrase this
    /// long that starts weak is weak.
    const JUDGED_CHARS: usize = 64;

    pub fn parse(input: &str) -> Result<Password, &'static str> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err("password.too_short");
        }
        if n > 1024 {
            return Err("password.too_long");
        }
        let judged: String = input.chars().take(Self::JUDGED_CHARS).collect();
        // Score 2 and up: more than 10^8 guesses. A password in the lists takes at most its
        // rank (tens of thousands); a common pattern a few million.
        if zxcvbn::zxcvbn(&judged, &[]).score() < zxcvbn::Score::Two {
            return Err("password.common");
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

/// glibc raises its mmap threshold after the first large block is freed, so from then on each
/// 19 MiB hashing block comes from the arena of whichever thread ran it and stays there; with
/// many threads that adds up to hundreds of MiB kept for good. A fixed threshold keeps blocks
/// of 1 MiB and more in mmap, returned to the system as soon as a hash is done.
fn keep_large_allocations_out_of_heaps() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes an allocator setting and is thread-safe in glibc;
        // 1 MiB is within the range glibc accepts for this option (up to 32 MiB).
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    });
}

/// Runs password hashing for request handlers: on the blocking thread pool (it takes tens of
/// milliseconds of CPU and must not stall the async workers) and never more than `permits` at
/// once. Each hash holds 19 MiB, so the bound is what keeps memory flat when strangers send
/// sign-in requests by the hundred: a request that cannot get a turn within [`Hasher::WAIT`]
/// is told to come back (503 with `Retry-After`) instead of queueing without end.
pub struct Hasher {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Why a password was not hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// No turn within [`Hasher::WAIT`]: the person is asked to try again in a moment.
    #[error("every password hashing turn is taken")]
    Busy,
    /// A bug or a broken runtime.
    #[error("hashing: {0}")]
    Failed(String),
}

impl Hasher {
    /// How long a request waits for a turn before it is told the server is busy.
    pub const WAIT: std::time::Duration = std::time::Duration::from_secs(3);

    pub fn new(permits: usize) -> Hasher {
        keep_large_allocations_out_of_heaps();
        Hasher {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(permits.max(1))),
        }
    }

    /// Twice the cores: enough to keep them busy, 38 MiB of hashing memory per core at most.
    pub fn default_permits() -> usize {
        2 * std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let turn = tokio::time::timeout(Self::WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|e| HashError::Failed(e.to_string()))?;
        // The permit goes with the work: a request dropped mid-hash frees it only when the
        // hash is done, so the bound holds whatever happens to the request.
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            work()
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }

    /// [`hash`], bounded.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        self.run(move || hash(&password))
            .await?
            .map_err(|e| HashError::Failed(e.to_string()))
    }

    /// [`verify`], bounded; an absent hash is checked against [`DUMMY_HASH`] so that an unknown
    /// account takes as long to refuse as a wrong password.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, HashError> {
        self.run(move || match phc {
            Some(phc) => verify(&password, &phc),
            None => {
                verify(&password, &DUMMY_HASH);
                false
            }
        })
        .await
    }
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

    #[test]
    fn common_and_patterned_passwords_are_refused_and_passphrases_accepted() {
        for weak in [
            "password1234",
            "Password1234!",
            "qwertyuiop123",
            "123456789012",
            "aaaaaaaaaaaa",
            "iloveyou2020",
            "abcdefghijkl",
            "1qaz2wsx3edc",
        ] {
            assert_eq!(
                Password::parse(weak).err(),
                Some("password.common"),
                "{weak}"
            );
        }
        assert_eq!(
            Password::parse("password123").err(),
            Some("password.too_short")
        );
        for good in [
            "correct horse battery",
            "another long password",
            "a long admin passphrase",
            "Ани и Нарек, 2026",
            "ծիրան ու խաղող ամառ",
        ] {
            assert!(Password::parse(good).is_ok(), "{good}");
        }
    }
}
