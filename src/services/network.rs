//! The keyed hash of a client's network, under a key that changes every day.

use rand::RngCore;

use crate::keys::{Keys, mac_hex};

/// Hashes client networks for moderation ("signatures from the same network") under a key
/// that changes every UTC day: HMAC(network key, that day's random seed). The seed is shared
/// by every instance through the database and deleted when the day is over, so hashes stored
/// earlier cannot be recomputed, and so cannot be brute-forced from the address space.
pub struct NetworkHasher {
    keys: std::sync::Arc<Keys>,
    today: std::sync::Mutex<Option<(String, [u8; 32])>>,
}

impl NetworkHasher {
    pub fn new(keys: std::sync::Arc<Keys>) -> NetworkHasher {
        NetworkHasher {
            keys,
            today: std::sync::Mutex::new(None),
        }
    }

    /// The keyed hash of the client's network (an IPv6 address counts as its /64) on one
    /// petition: bound to it, so a copy of the database cannot join the rows of one network
    /// across petitions.
    pub async fn hash(
        &self,
        pool: &crate::db::Pool,
        ip: std::net::IpAddr,
        petition_id: i32,
    ) -> Result<String, crate::db::DbError> {
        let key = self.day_key(pool).await?;
        let network = crate::ratelimit::client_key(ip).to_string();
        let unbound = mac_hex(&key, &[network.as_bytes()], 32);
        Ok(self
            .keys
            .petition_bound(crate::sealed::HashKind::Network, petition_id, &unbound))
    }

    async fn day_key(&self, pool: &crate::db::Pool) -> Result<[u8; 32], crate::db::DbError> {
        let day = chrono::Utc::now().date_naive().to_string();
        if let Some((d, key)) = &*self.lock()
            && *d == day
        {
            return Ok(*key);
        }
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        let fresh = hex::encode(fresh);
        let d = day.clone();
        let seed = crate::db::run(pool, move |c| {
            crate::db::network_seeds::seed_for(c, &d, &fresh)
        })
        .await?;
        let key = self.keys.network_day_key(seed.as_bytes());
        *self.lock() = Some((day, key));
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(String, [u8; 32])>> {
        self.today
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
