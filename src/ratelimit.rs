//! Per-client limits on signing: a short burst and a sustained hourly rate (GCRA, governor).
//! Limits are held in memory per instance.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct SignLimiter {
    burst: DefaultKeyedRateLimiter<IpAddr>,
    sustained: DefaultKeyedRateLimiter<IpAddr>,
}

impl SignLimiter {
    pub fn new(per_minute: u32, per_hour: u32) -> SignLimiter {
        let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        SignLimiter {
            burst: RateLimiter::keyed(Quota::per_minute(nz(per_minute))),
            sustained: RateLimiter::keyed(Quota::per_hour(nz(per_hour))),
        }
    }

    /// Counts one attempt from `ip`; `Err` carries how long the client should wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let key = client_key(ip);
        // The limiter's own clock: making one calibrates a timer (a tenth of a sign request).
        let now = self.burst.clock().now();
        self.burst
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(now))?;
        self.sustained
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(now))
    }

    /// Forgets clients whose limits have fully recovered; called periodically.
    pub fn prune(&self) {
        self.burst.retain_recent();
        self.sustained.retain_recent();
        self.burst.shrink_to_fit();
        self.sustained.shrink_to_fit();
    }
}

/// Sign-in attempts, limited three ways:
/// - per account *and* client network: five tries, then one a minute. Someone guessing from
///   one network locks out that network only, never the owner signing in from elsewhere;
/// - per account, over all networks: a backstop (ten, then one a minute) against guessing
///   spread over many addresses. Someone with many addresses can still hold an account at
///   that limit (a known limit until browsers the owner used before are recognised);
/// - per client network, over all accounts: one client cannot try many accounts.
///
/// Password reset requests have a limiter of their own ([`LoginLimiter::default`] again), so
/// asking for reset links cannot lock anyone out of signing in.
pub struct LoginLimiter {
    per_account_device: DefaultKeyedRateLimiter<(String, String)>,
    per_account_network: DefaultKeyedRateLimiter<(String, IpAddr)>,
    per_account: DefaultKeyedRateLimiter<String>,
    per_client: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        let n = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        LoginLimiter {
            per_account_device: RateLimiter::keyed(Quota::per_minute(n(1)).allow_burst(n(5))),
            per_account_network: RateLimiter::keyed(Quota::per_minute(n(1)).allow_burst(n(5))),
            per_account: RateLimiter::keyed(Quota::per_minute(n(1)).allow_burst(n(10))),
            per_client: RateLimiter::keyed(Quota::per_minute(n(10)).allow_burst(n(20))),
        }
    }
}

impl LoginLimiter {
    /// Counts one attempt at `account` from `ip`. `device` is the nonce of a valid
    /// known-device cookie for this account: such a browser has a budget of its own and skips
    /// the per-account backstop, so an attacker elsewhere cannot lock its owner out.
    pub fn check(
        &self,
        account: &str,
        ip: Option<IpAddr>,
        device: Option<&str>,
    ) -> Result<(), Duration> {
        // No address is longer than 254 characters: a longer "account" must not make keys of
        // any size.
        let account: String = account.chars().take(254).collect();
        let account = account.as_str();
        let now = self.per_client.clock().now();
        let wait = |n: governor::NotUntil<_>| n.wait_time_from(now);
        if let Some(ip) = ip {
            self.per_client.check_key(&client_key(ip)).map_err(wait)?;
        }
        if let Some(device) = device {
            return self
                .per_account_device
                .check_key(&(account.to_string(), device.to_string()))
                .map_err(wait);
        }
        if let Some(ip) = ip {
            self.per_account_network
                .check_key(&(account.to_string(), client_key(ip)))
                .map_err(wait)?;
        }
        self.per_account
            .check_key(&account.to_string())
            .map_err(wait)
    }

    pub fn prune(&self) {
        self.per_account_device.retain_recent();
        self.per_account_network.retain_recent();
        self.per_account.retain_recent();
        self.per_client.retain_recent();
    }
}

/// Hourly caps on confirmation emails: per recipient domain and in all, on this instance, in
/// fixed UTC hours. They keep the sign form from being turned into a mail cannon against one
/// organisation's mail server, or against the sender's reputation. A cap of 0 is no cap.
pub struct EmailCaps {
    per_domain: u32,
    total: u32,
    window: std::sync::Mutex<CapWindow>,
}

#[derive(Default)]
struct CapWindow {
    hour: i64,
    total: u32,
    domains: std::collections::HashMap<String, u32>,
}

/// Which hourly cap a confirmation email would exceed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapReached {
    /// The cap for the recipient's domain.
    Domain(Duration),
    /// The cap on all confirmation emails.
    Total(Duration),
}

/// Domains tracked in one hour at most: beyond that, new domains are counted only in the total
/// (a flood of made-up domains cannot grow the map without bound).
const MAX_TRACKED_DOMAINS: usize = 100_000;
/// The bucket of the domains past [`MAX_TRACKED_DOMAINS`] (no domain is empty).
const OVERFLOW: &str = "";

/// One email counted against the caps; given back when dropped without [`Reservation::keep`]
/// (the sign request failed, or sent nothing).
pub struct Reservation<'a> {
    caps: &'a EmailCaps,
    hour: i64,
    domain: String,
    kept: bool,
}

impl Reservation<'_> {
    /// The email was queued: it stays counted.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let mut w = self.caps.lock();
        if w.hour == self.hour {
            w.total = w.total.saturating_sub(1);
            if let Some(n) = w.domains.get_mut(&self.domain) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

impl EmailCaps {
    pub fn new(per_domain: u32, total: u32) -> EmailCaps {
        EmailCaps {
            per_domain,
            total,
            window: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CapWindow> {
        self.window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one confirmation email to `email`'s domain in the current hour; `Err` says which
    /// cap was reached and how long until the next hour.
    pub fn reserve(&self, email: &str) -> Result<Reservation<'_>, CapReached> {
        self.reserve_at(email, chrono::Utc::now().timestamp())
    }

    fn reserve_at(&self, email: &str, now_secs: i64) -> Result<Reservation<'_>, CapReached> {
        let hour = now_secs.div_euclid(3600);
        let domain: String = email
            .rsplit_once('@')
            .map_or(email, |(_, d)| d)
            .chars()
            .take(254)
            .collect::<String>()
            .to_lowercase();
        let mut w = self.lock();
        if w.hour != hour {
            *w = CapWindow {
                hour,
                ..Default::default()
            };
        }
        // Past the domains tracked this hour, every other domain shares one bucket with the
        // same cap: the cap never stops applying, however many domains are tried.
        let domain = if w.domains.contains_key(&domain) || w.domains.len() < MAX_TRACKED_DOMAINS {
            domain
        } else {
            OVERFLOW.to_string()
        };
        let used = w.domains.get(&domain).copied().unwrap_or(0);
        let over = |cap: u32, used: u32| cap != 0 && used >= cap;
        let wait = Duration::from_secs(((hour + 1) * 3600 - now_secs).max(1).unsigned_abs());
        if over(self.total, w.total) {
            return Err(CapReached::Total(wait));
        }
        if over(self.per_domain, used) {
            return Err(CapReached::Domain(wait));
        }
        w.total += 1;
        if self.per_domain != 0 {
            *w.domains.entry(domain.clone()).or_default() += 1;
        }
        Ok(Reservation {
            caps: self,
            hour,
            domain,
            kept: false,
        })
    }
}

/// IPv6 clients are limited per /64, the block one subscriber usually gets; otherwise one
/// person could rotate through 2^64 addresses.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_the_limit_is_refused_per_client() {
        let l = SignLimiter::new(3, 100);
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        let b: IpAddr = "203.0.113.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check(a).is_ok());
        }
        let wait = l.check(a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
        assert!(l.check(b).is_ok());
    }

    #[test]
    fn the_sustained_limit_holds_even_when_bursts_are_allowed() {
        let l = SignLimiter::new(100, 3);
        let a: IpAddr = "198.51.100.7".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check(a).is_ok());
        }
        let wait = l.check(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(60),
            "waits for the hourly budget: {wait:?}"
        );
    }

    #[test]
    fn past_the_domains_tracked_the_others_share_one_capped_bucket() {
        let caps = EmailCaps::new(2, 0);
        let t = 1_800_000_000;
        for i in 0..MAX_TRACKED_DOMAINS {
            caps.reserve_at(&format!("a@d{i}.example"), t)
                .unwrap()
                .keep();
        }
        caps.reserve_at("a@new1.example", t).unwrap().keep();
        caps.reserve_at("a@new2.example", t).unwrap().keep();
        assert!(
            caps.reserve_at("a@new3.example", t).is_err(),
            "the cap still applies"
        );
        // A domain tracked before keeps its own count.
        caps.reserve_at("b@d7.example", t).unwrap().keep();
    }

    #[test]
    fn email_caps_count_per_domain_and_in_all_and_give_back_what_was_not_sent() {
        let caps = EmailCaps::new(2, 3);
        let t = 7200 * 100 + 10;
        caps.reserve_at("a@Gmail.com", t).unwrap().keep();
        caps.reserve_at("b@gmail.com", t).unwrap().keep();
        let wait = caps.reserve_at("c@GMAIL.com", t).err().unwrap();
        assert_eq!(wait, CapReached::Domain(Duration::from_secs(3590)));
        // Not sent: given back.
        drop(caps.reserve_at("x@mail.ru", t).unwrap());
        caps.reserve_at("y@mail.ru", t).unwrap().keep();
        assert!(
            caps.reserve_at("z@yandex.ru", t).is_err(),
            "the total cap holds"
        );
        // A new hour starts from zero.
        caps.reserve_at("c@gmail.com", t + 3600).unwrap().keep();
        let off = EmailCaps::new(0, 0);
        for _ in 0..1000 {
            off.reserve_at("a@gmail.com", t).unwrap().keep();
        }
    }

    #[test]
    fn ipv6_addresses_in_one_slash_64_share_a_limit() {
        let x: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client_key(x), client_key(y));
    }
}
