//! The web "sync now" cooldown: a full poll a person asks for through the dashboard runs at
//! once, but each source is polled that way at most once per `[web] sync_cooldown_seconds`.
//! Requests within the cooldown are coalesced into one poll when it ends, so a button pressed
//! fifty times (or a script in a loop) costs the vendor two polls, not fifty. Pure: it is told
//! the time.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// One source's web-requested polls.
#[derive(Debug, Clone, Copy, Default)]
struct Source {
    /// A requested poll not yet run, and when it is due.
    pending: Option<DateTime<Utc>>,
    /// The earliest the next requested poll may run.
    next_allowed: Option<DateTime<Utc>>,
}

/// When each source's requested full poll runs.
#[derive(Debug)]
pub struct SyncCooldown {
    every: chrono::Duration,
    sources: Mutex<BTreeMap<String, Source>>,
}

/// What a request got for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub source: String,
    /// When its full poll runs.
    pub at: DateTime<Utc>,
    /// Whether this request joined a poll already asked for.
    pub coalesced: bool,
}

impl SyncCooldown {
    pub fn new(every: std::time::Duration) -> SyncCooldown {
        SyncCooldown {
            every: chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX),
            sources: Mutex::new(BTreeMap::new()),
        }
    }

    /// The cooldown.
    pub fn every(&self) -> chrono::Duration {
        self.every
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Source>> {
        self.sources.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A full poll of `source` asked for at `now`: now, or when the cooldown since the last
    /// one ends; a poll already pending is shared.
    pub fn request(&self, source: &str, now: DateTime<Utc>) -> Granted {
        let mut all = self.lock();
        let s = all.entry(source.to_owned()).or_default();
        if let Some(at) = s.pending {
            return Granted {
                source: source.to_owned(),
                at,
                coalesced: true,
            };
        }
        let at = s.next_allowed.map_or(now, |n| n.max(now));
        s.pending = Some(at);
        s.next_allowed = Some(at + self.every);
        Granted {
            source: source.to_owned(),
            at,
            coalesced: false,
        }
    }

    /// When the requested full poll of `source` is due, if one is pending.
    pub fn pending(&self, source: &str) -> Option<DateTime<Utc>> {
        self.lock().get(source).and_then(|s| s.pending)
    }

    /// A full poll of `source` ran at `at`: a request due by then is served.
    pub fn polled(&self, source: &str, at: DateTime<Utc>) {
        if let Some(s) = self.lock().get_mut(source)
            && s.pending.is_some_and(|p| p <= at)
        {
            s.pending = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000 + s, 0).unwrap()
    }

    #[test]
    fn fifty_requests_make_two_polls_a_cooldown_apart() {
        let c = SyncCooldown::new(std::time::Duration::from_secs(30));
        let first = c.request("halls", at(0));
        assert_eq!((first.at, first.coalesced), (at(0), false));
        assert_eq!(c.pending("halls"), Some(at(0)));
        // The poller runs it.
        c.polled("halls", at(0));
        assert_eq!(c.pending("halls"), None);
        // 49 more within two seconds: one poll, when the cooldown ends.
        let mut polls = vec![at(0)];
        for i in 1..50 {
            let g = c.request("halls", at(i / 25));
            assert_eq!(g.at, at(30), "{i}");
            assert_eq!(g.coalesced, i > 1, "{i}");
        }
        // Another source is not held back.
        assert_eq!(c.request("planner", at(1)).at, at(1));
        // Nothing runs early: a poll at 10 s (the source's own schedule) does not serve it.
        c.polled("halls", at(10));
        assert_eq!(c.pending("halls"), Some(at(30)));
        c.polled("halls", at(30));
        polls.push(at(30));
        assert_eq!(c.pending("halls"), None);
        assert_eq!(polls, vec![at(0), at(30)]);
        // Long after: at once again.
        assert_eq!(c.request("halls", at(100)).at, at(100));
    }
}
