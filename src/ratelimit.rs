//! Per-client limits on signing: a short burst and a sustained hourly rate (GCRA, governor).
//! Limits are held in memory per instance.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
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
        let now = DefaultClock::default().now();
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
    per_account_network: DefaultKeyedRateLimiter<(String, IpAddr)>,
    per_account: DefaultKeyedRateLimiter<String>,
    per_client: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        let n = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        LoginLimiter {
            per_account_network: RateLimiter::keyed(Quota::per_minute(n(1)).allow_burst(n(5))),
            per_account: RateLimiter::keyed(Quota::per_minute(n(1)).allow_burst(n(10))),
            per_client: RateLimiter::keyed(Quota::per_minute(n(10)).allow_burst(n(20))),
        }
    }
}

impl LoginLimiter {
    pub fn check(&self, account: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        // No address is longer than 254 characters: a longer "account" must not make keys of
        // any size.
        let account: String = account.chars().take(254).collect();
        let account = account.as_str();
        let now = DefaultClock::default().now();
        let wait = |n: governor::NotUntil<_>| n.wait_time_from(now);
        if let Some(ip) = ip {
            let net = client_key(ip);
            self.per_client.check_key(&net).map_err(wait)?;
            self.per_account_network
                .check_key(&(account.to_string(), net))
                .map_err(wait)?;
        }
        self.per_account
            .check_key(&account.to_string())
            .map_err(wait)
    }

    pub fn prune(&self) {
        self.per_account_network.retain_recent();
        self.per_account.retain_recent();
        self.per_client.retain_recent();
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
    fn ipv6_addresses_in_one_slash_64_share_a_limit() {
        let x: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client_key(x), client_key(y));
    }
}
