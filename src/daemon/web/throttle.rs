//! Slows token guessing: each client address may give a few wrong tokens, then one every few
//! seconds (a token bucket of failures per address: 10, refilled one per 6 s). While an
//! address has none left, every request from it that needs the token is refused with 429,
//! right token or not, so the answers tell a guesser nothing. IPv6 addresses count per /64 (one
//! machine usually has a whole /64 to pick from).
//!
//! Behind a many addresses (a botnet, or a local user who reaches klar past the proxy and
//! claims any `X-Forwarded-For`), all wrong tokens together also have an allowance: 100, then
//! one a second. While it is spent, no token is checked (a login or a bearer token gets 429),
//! while sessions already logged in go on.
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
/// Wrong tokens from all addresses together at once, and one more per this long.
const GLOBAL_BURST: f64 = 100.0;
const GLOBAL_REFILL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct Allowance {
    left: f64,
    at: Instant,
}

impl Allowance {
    /// What is left at `now` of an allowance of `burst` refilled one per `refill`.
    fn at(self, now: Instant, burst: f64, refill: Duration) -> f64 {
        let refilled = now.saturating_duration_since(self.at).as_secs_f64() / refill.as_secs_f64();
        (self.left + refilled).min(burst)
    }

    /// `Err(wait)` while less than one is left.
    fn check(self, now: Instant, burst: f64, refill: Duration) -> Result<(), Duration> {
        let left = self.at(now, burst, refill);
        if left >= 1.0 {
            return Ok(());
        }
        Err(refill.mul_f64(1.0 - left).max(Duration::from_secs(1)))
    }

    /// One used at `now`; what is left.
    fn spend(&mut self, now: Instant, burst: f64, refill: Duration) -> f64 {
        let left = (self.at(now, burst, refill) - 1.0).max(0.0);
        *self = Allowance { left, at: now };
        left
    }
}

/// The wrong-token allowance of each address, and of all together.
#[derive(Debug, Default)]
pub struct Throttle {
    addresses: HashMap<IpAddr, Allowance>,
    global: Option<Allowance>,
}

/// What a wrong token used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spent {
    /// The address has none left: it is refused for a while.
    pub address: bool,
    /// All addresses together have none left: no token is checked for a while.
    pub global: bool,
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
        match self.addresses.get(&client(ip)) {
            Some(a) => a.check(now, BURST, REFILL),
            None => Ok(()),
        }
    }

    /// `Err(wait)` while all addresses together have no wrong token left.
    pub fn check_global(&self, now: Instant) -> Result<(), Duration> {
        match self.global {
            Some(g) => g.check(now, GLOBAL_BURST, GLOBAL_REFILL),
            None => Ok(()),
        }
    }

    /// Counts a wrong token from `ip`: whether that used the address's last one, or the last
    /// one of all together.
    pub fn failed(&mut self, ip: IpAddr, now: Instant) -> Spent {
        if self.addresses.len() >= MAX_ADDRESSES {
            self.addresses
                .retain(|_, a| a.at(now, BURST, REFILL) < BURST);
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
        let full = |burst| Allowance {
            left: burst,
            at: now,
        };
        let address = self
            .addresses
            .entry(client(ip))
            .or_insert(full(BURST))
            .spend(now, BURST, REFILL);
        let global =
            self.global
                .get_or_insert(full(GLOBAL_BURST))
                .spend(now, GLOBAL_BURST, GLOBAL_REFILL);
        Spent {
            address: address < 1.0,
            global: global < 1.0,
        }
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
            assert!(!t.failed(ip, t0).address, "{i}");
        }
        assert!(t.failed(ip, t0).address, "the tenth uses the last one");
        let wait = t.check(ip, t0).unwrap_err();
        assert_eq!(wait, REFILL);
        assert!(t.check(other, t0).is_ok(), "another address is not slowed");
        assert!(t.check(ip, t0 + Duration::from_secs(5)).is_err());
        assert!(t.check(ip, t0 + REFILL).is_ok());
        assert!(t.failed(ip, t0 + REFILL).address);
        // A minute later the whole allowance is back.
        let later = t0 + REFILL + Duration::from_secs(60);
        for _ in 0..9 {
            assert!(!t.failed(ip, later).address);
        }
        assert!(t.check_global(later).is_ok());
    }

    #[test]
    fn many_addresses_together_are_slowed_down_too() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        // A hundred addresses, one wrong token each: each address is fine, all together not.
        for i in 0..99u8 {
            let spent = t.failed(IpAddr::from([198, 51, 100, i]), t0);
            assert!(!spent.address && !spent.global, "{i}");
        }
        assert!(t.failed(IpAddr::from([198, 51, 100, 99]), t0).global);
        assert_eq!(t.check_global(t0), Err(GLOBAL_REFILL));
        assert!(t.check(IpAddr::from([198, 51, 100, 200]), t0).is_ok());
        assert!(t.check_global(t0 + GLOBAL_REFILL).is_ok());
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
