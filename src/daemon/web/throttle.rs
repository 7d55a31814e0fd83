//! Slows token guessing: each client address may give a few wrong tokens, then one every few
//! seconds (a token bucket of failures per address: 10, refilled one per 6 s). While an
//! address has none left, every request from it that needs the token is refused with 429,
//! right token or not, so the answers tell a guesser nothing. IPv6 addresses count per /64 (one
//! machine usually has a whole /64 to pick from).
//!
//! Hand-written rather than a rate-limiting crate: it must count failures only (a crate's
//! keyed limiter counts every request), be asked without counting, and take the time as an
//! argument for its tests.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong tokens an address may give at once.
const BURST: f64 = 10.0;
/// One more wrong token allowed per this long.
const REFILL: Duration = Duration::from_secs(6);
/// Addresses remembered at most; beyond, those with a full allowance are forgotten first.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Allowance {
    left: f64,
    at: Instant,
}

impl Allowance {
    fn at(self, now: Instant) -> f64 {
        let refilled = now.saturating_duration_since(self.at).as_secs_f64() / REFILL.as_secs_f64();
        (self.left + refilled).min(BURST)
    }
}

/// The wrong-token allowance of each address.
#[derive(Debug, Default)]
pub struct Throttle {
    addresses: HashMap<IpAddr, Allowance>,
}

/// What counts as one client: an IPv4 address (a mapped one as itself), an IPv6 /64.
fn client(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let mut s = v6.segments();
            s[4..].fill(0);
            IpAddr::V6(s.into())
        }
    }
}

impl Throttle {
    /// `Err(wait)` while `ip` has no wrong token left; how long until it has one.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let Some(a) = self.addresses.get(&client(ip)) else {
            return Ok(());
        };
        let left = a.at(now);
        if left >= 1.0 {
            return Ok(());
        }
        Err(REFILL.mul_f64(1.0 - left).max(Duration::from_secs(1)))
    }

    /// Counts a wrong token from `ip`; true when that used its last one (it is refused now).
    pub fn failed(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.addresses.len() >= MAX_ADDRESSES {
            self.addresses.retain(|_, a| a.at(now) < BURST);
            if self.addresses.len() >= MAX_ADDRESSES
                && let Some(oldest) = self
                    .addresses
                    .iter()
                    .min_by_key(|(_, a)| a.at)
                    .map(|(k, _)| *k)
            {
                self.addresses.remove(&oldest);
            }
        }
        let a = self.addresses.entry(client(ip)).or_insert(Allowance {
            left: BURST,
            at: now,
        });
        let left = (a.at(now) - 1.0).max(0.0);
        *a = Allowance { left, at: now };
        left < 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_wrong_tokens_then_one_per_six_seconds_per_address() {
        let t0 = Instant::now();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let other: IpAddr = "203.0.113.8".parse().unwrap();
        let mut t = Throttle::default();
        for i in 0..9 {
            assert!(t.check(ip, t0).is_ok(), "{i}");
            assert!(!t.failed(ip, t0), "{i}");
        }
        assert!(t.failed(ip, t0), "the tenth uses the last one");
        let wait = t.check(ip, t0).unwrap_err();
        assert_eq!(wait, REFILL);
        assert!(t.check(other, t0).is_ok(), "another address is not slowed");
        assert!(t.check(ip, t0 + Duration::from_secs(5)).is_err());
        assert!(t.check(ip, t0 + REFILL).is_ok());
        assert!(t.failed(ip, t0 + REFILL));
        // A minute later the whole allowance is back.
        let later = t0 + REFILL + Duration::from_secs(60);
        for _ in 0..9 {
            assert!(!t.failed(ip, later));
        }
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_itself() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        for i in 0..10u16 {
            let ip = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i));
            t.failed(ip, t0);
        }
        let same64: IpAddr = "2001:db8:0:1:ffff::1".parse().unwrap();
        assert!(t.check(same64, t0).is_err());
        assert!(t.check("2001:db8:0:2::1".parse().unwrap(), t0).is_ok());
        for _ in 0..10 {
            t.failed("::ffff:198.51.100.1".parse().unwrap(), t0);
        }
        assert!(t.check("198.51.100.1".parse().unwrap(), t0).is_err());
    }
}
