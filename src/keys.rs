//! One key per purpose, each derived (HKDF-SHA256) from one master key that lives outside the
//! database: in `secret_key` (config or environment), or in the file `key_file` names.
//!
//! Nothing derived here is ever stored. A copy of the database alone opens no session, forges
//! no unsubscribe link and reverses no network hash; a copy of the key alone finds no data.
//! Network hashes go one step further (see `services::network::NetworkHasher`): their key also needs a random
//! seed that is kept in the database for one day only, so once the day is over not even the
//! master key and an old backup together can recompute them.

use hkdf::Hkdf;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// Fixed HKDF salt: the application and the version of this derivation scheme.
const SALT: &[u8] = b"undersigned key derivation v1";

type HmacSha256 = hmac::Hmac<Sha256>;

/// The derived keys. Debug output never shows them.
#[derive(Clone)]
pub struct Keys {
    session: [u8; 64],
    csrf: [u8; 32],
    device: [u8; 32],
    unsubscribe: [u8; 32],
    network: [u8; 32],
    /// The cipher of the data key (see `crate::sealed`), its key schedule computed once.
    data: aes_gcm_siv::Aes256GcmSiv,
    /// The data key itself, kept only for the test that every purpose has its own key.
    #[cfg(test)]
    data_key: [u8; 32],
    /// The public id of the data key, computed once.
    data_id: [u8; 4],
    data_index: [u8; 32],
    log_signing: [u8; 32],
    /// The master key itself, used for one thing only: to accept unsubscribe links mailed
    /// before keys were separated, which were keyed with it directly.
    legacy: Vec<u8>,
    /// The keys of the master key before the last rotation, only to accept links mailed then.
    previous: Option<Box<Keys>>,
    /// Where the master key came from, for the start-up log (never the key itself).
    pub source: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Derives every key from `master` (at least 32 bytes of secret).
    pub fn derive(master: &[u8], source: String) -> Keys {
        let hk = Hkdf::<Sha256>::new(Some(SALT), master);
        fn expand<const N: usize>(hk: &Hkdf<Sha256>, purpose: &str) -> [u8; N] {
            let mut out = [0u8; N];
            hk.expand(purpose.as_bytes(), &mut out)
                .expect("HKDF-SHA256 yields up to 8160 bytes");
            out
        }
        let data: [u8; 32] = expand(&hk, "signer data");
        let mut data_id = [0u8; 4];
        hex::decode_to_slice(mac_hex(&data, &[b"data key id"], 4), &mut data_id)
            .expect("mac_hex gives 8 hex digits");
        Keys {
            session: expand(&hk, "session cookie"),
            csrf: expand(&hk, "csrf"),
            device: expand(&hk, "known device"),
            unsubscribe: expand(&hk, "unsubscribe link"),
            network: expand(&hk, "network hash"),
            data: <aes_gcm_siv::Aes256GcmSiv as aes_gcm_siv::aead::KeyInit>::new(&data.into()),
            #[cfg(test)]
            data_key: data,
            data_id,
            data_index: expand(&hk, "signer data index"),
            log_signing: expand(&hk, "log signing"),
            legacy: master.to_vec(),
            previous: None,
            source,
        }
    }

    /// Also accepts links made under `previous`, the master key before a rotation.
    pub fn with_previous(mut self, previous: &[u8]) -> Keys {
        self.previous = Some(Box::new(Keys::derive(previous, String::new())));
        self
    }

    /// The 64-byte key that encrypts and signs the session cookie.
    pub fn session_cookie(&self) -> &[u8; 64] {
        &self.session
    }

    /// The CSRF token of a signed-in session: bound to its id, so it dies with the session.
    pub fn csrf_for(&self, session_id: &str) -> String {
        mac_hex(&self.csrf, &[b"session:", session_id.as_bytes()], 32)
    }

    /// The MAC that makes a known-device cookie unforgeable; `account` is what identifies the
    /// account's current credentials (its password hash, so a reset forgets every device).
    pub fn device_mac(&self, account: &str, nonce: &str) -> String {
        mac_hex(
            &self.device,
            &[account.as_bytes(), b"\n", nonce.as_bytes()],
            16,
        )
    }

    /// The key in an unsubscribe link: proves the link was made here for this signature.
    pub fn unsubscribe_mac(&self, signature_id: i32) -> String {
        let message = format!("unsubscribe:{signature_id}");
        mac_hex(&self.unsubscribe, &[message.as_bytes()], 16)
    }

    /// Whether `mac` is this signature's unsubscribe key, made now, before keys were separated,
    /// or under the previous master key (links in emails already sent keep working).
    pub fn unsubscribe_mac_matches(&self, signature_id: i32, mac: &str) -> bool {
        let message = format!("unsubscribe:{signature_id}");
        let legacy = mac_hex(&self.legacy, &[message.as_bytes()], 16);
        let current = self.unsubscribe_mac(signature_id);
        let here = constant_time_eq::constant_time_eq(current.as_bytes(), mac.as_bytes())
            | constant_time_eq::constant_time_eq(legacy.as_bytes(), mac.as_bytes());
        here || self
            .previous
            .as_ref()
            .is_some_and(|p| p.unsubscribe_mac_matches(signature_id, mac))
    }

    /// The key of the network hashes of one day, from that day's random seed.
    pub fn network_day_key(&self, seed: &[u8]) -> [u8; 32] {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.network)
            .expect("HMAC accepts keys of any length");
        mac.update(seed);
        mac.finalize().into_bytes().into()
    }

    /// The cipher that seals signers' personal data at rest, under the data key.
    pub fn data_cipher(&self) -> &aes_gcm_siv::Aes256GcmSiv {
        &self.data
    }

    /// The public id of the data key: sealed values name the key that sealed them by it.
    pub fn data_key_id_bytes(&self) -> [u8; 4] {
        self.data_id
    }

    /// The key of the keyed hashes that find signer data without opening it.
    pub fn data_index_key(&self) -> &[u8; 32] {
        &self.data_index
    }

    /// The same keys, with `index` as the key of the keyed hashes that find signer data (the
    /// database's own, `usecases::keys::with_index_key`, which outlives rotations).
    pub fn with_index_key(mut self, index: [u8; 32]) -> Keys {
        self.data_index = index;
        self
    }

    /// The keys of the master key before the last rotation, when `previous_secret_key` is set.
    pub fn previous(&self) -> Option<&Keys> {
        self.previous.as_deref()
    }

    /// The seed of the Ed25519 key that signs the petition logs.
    pub fn log_signing_seed(&self) -> &[u8; 32] {
        &self.log_signing
    }
}

/// HMAC-SHA256 over the concatenated `parts`, the first `len` bytes in hex.
pub fn mac_hex(key: &[u8], parts: &[&[u8]], len: usize) -> String {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(&mac.finalize().into_bytes()[..len.min(32)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_purpose_has_its_own_key_and_the_same_master_gives_the_same_keys() {
        let a = Keys::derive(b"0123456789abcdef0123456789abcdef", String::new());
        let b = Keys::derive(b"0123456789abcdef0123456789abcdef", String::new());
        let other = Keys::derive(b"0123456789abcdef0123456789abcdeX", String::new());
        let all = [
            &a.session[..32],
            &a.session[32..],
            &a.csrf[..],
            &a.device[..],
            &a.unsubscribe[..],
            &a.network[..],
            &a.data_key[..],
            &a.data_index[..],
            &a.log_signing[..],
        ];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
            assert_ne!(*x, b"0123456789abcdef0123456789abcdef".as_slice());
        }
        assert_eq!(a.unsubscribe_mac(7), b.unsubscribe_mac(7));
        assert_ne!(a.unsubscribe_mac(7), other.unsubscribe_mac(7));
        assert_ne!(a.unsubscribe_mac(7), a.unsubscribe_mac(8));
        assert_eq!(a.csrf_for("s1"), b.csrf_for("s1"));
        assert_ne!(a.csrf_for("s1"), a.csrf_for("s2"));
    }

    #[test]
    fn unsubscribe_links_made_with_the_master_key_itself_still_match() {
        let master = b"0123456789abcdef0123456789abcdef";
        let keys = Keys::derive(master, String::new());
        let old = mac_hex(master, &[b"unsubscribe:42"], 16);
        assert!(keys.unsubscribe_mac_matches(42, &old));
        assert!(keys.unsubscribe_mac_matches(42, &keys.unsubscribe_mac(42)));
        assert!(!keys.unsubscribe_mac_matches(43, &old));
        assert!(!keys.unsubscribe_mac_matches(42, "00"));

        // After a rotation, links made under the previous master key still match.
        let rotated = Keys::derive(b"a brand new master key, 32 chars or more", String::new());
        assert!(!rotated.unsubscribe_mac_matches(42, &keys.unsubscribe_mac(42)));
        let rotated = rotated.with_previous(master);
        assert!(rotated.unsubscribe_mac_matches(42, &keys.unsubscribe_mac(42)));
        assert!(rotated.unsubscribe_mac_matches(42, &old));
        assert!(!rotated.unsubscribe_mac_matches(41, &keys.unsubscribe_mac(42)));
    }

    #[test]
    fn a_network_day_key_depends_on_the_seed() {
        let keys = Keys::derive(b"0123456789abcdef0123456789abcdef", String::new());
        assert_ne!(keys.network_day_key(b"one"), keys.network_day_key(b"two"));
        assert_eq!(keys.network_day_key(b"one"), keys.network_day_key(b"one"));
    }
}
